//! Writes seed inputs into corpus/<target>/ (run from fuzz/):
//! `cargo run --example seeds`. Without seeds the blob target would spend its time
//! rediscovering the postcard layout of a model; with them it starts from valid models.

use std::fs;
use std::path::Path;

use aecodec_core::{encode_frame, max_frame_len, Codec, Meta, Model, HEADER_LEN};
use aecodec_fuzz::{seed_blobs, seed_trained_files, SCRATCH};

fn write(target: &str, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    let dir = Path::new("corpus").join(target);
    fs::create_dir_all(&dir)?;
    fs::write(dir.join(name), bytes)
}

fn main() -> std::io::Result<()> {
    let mut frames = Vec::new();
    for (i, blob) in seed_blobs().iter().enumerate() {
        // The blob target's input: stimulus length, stimulus, then a blob or a body.
        let mut stimulus = vec![12u8];
        stimulus.extend([5, 0, 1, 0]); // sequence 5, label 1
        stimulus.extend([0.5f32, -2.0].iter().flat_map(|v| v.to_le_bytes()));
        for (kind, bytes) in [("blob", &blob[..]), ("body", &blob[HEADER_LEN..])] {
            write(
                "blob",
                &format!("model{i}.{kind}"),
                &[&stimulus, bytes].concat(),
            )?;
        }

        let model = Model::from_bytes(blob).expect("seed models are valid");
        let mut codec = Codec::<SCRATCH>::new(&model).expect("seed models fit the scratch");
        let window: Vec<f32> = (0..model.input_dim())
            .map(|j| j as f32 * 0.7 - 1.0)
            .collect();
        let meta = Meta {
            sequence: 5,
            label: u16::from(model.label_count() > 0),
        };
        let p = codec.encode(&window, meta).expect("a valid window encodes");
        write("payload", &format!("model{i}.payload"), p.as_bytes())?;

        let mut frame = vec![0u8; max_frame_len(p.as_bytes().len())];
        let n = encode_frame(p.as_bytes(), &mut frame).expect("sized by max_frame_len");
        frames.extend_from_slice(&frame[..n]);
        write("frame", &format!("model{i}.frame"), &frame[..n - 1])?;
    }
    // Trained-model files, whole and as bodies (the target also reads its input behind a
    // valid header); CSV files, series and row mode.
    for (i, file) in seed_trained_files().iter().enumerate() {
        write("aect", &format!("model{i}.aect"), file)?;
        write("aect", &format!("model{i}.body"), &file[6..])?;
    }
    write("csv", "series.csv", b"x,y,z\n1,2,3\n4.5,-6,7e2\n8,9,10\n")?;
    write(
        "csv",
        "labelled.csv",
        b"v,label\n0.5,1\n-1,0\n2,3\n\"3\",1\n",
    )?;
    // A stream: garbage, a delimiter, then every frame.
    let mut stream = vec![0x55, 0x13, 0x77, 0x00];
    stream.extend(frames);
    write("frame", "stream", &stream)?;
    println!("seeds written to corpus/{{blob,payload,frame,aect,csv}}/");
    Ok(())
}
