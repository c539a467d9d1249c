//! Writes a long three-axis recording for the training-scale benchmark
//! (`scripts/bench-train-scale.sh`): the bundled Daphnet ankle channels repeated, each
//! repeat with its own offset (up to ±20 mg per axis) and Gaussian noise (σ 3 mg), as
//! integer mg like the original.
//!
//! ```text
//! cargo run --release -p aecodec-trainer --example long_recording -- SAMPLES OUT.csv
//! ```
use std::io::Write;
use std::path::PathBuf;

use aecodec_trainer::data::{read_csv, CsvOptions};
use aecodec_trainer::Rng;

const COLUMNS: [&str; 3] = ["ankle_horiz_fwd", "ankle_vert", "ankle_horiz_lateral"];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [samples, out] = &args[..] else {
        return Err("usage: long_recording SAMPLES OUT.csv".into());
    };
    let samples: u64 = samples
        .replace('_', "")
        .parse()
        .map_err(|_| format!("SAMPLES: `{samples}` is not a count"))?;
    let out = PathBuf::from(out);
    let source = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../data/daphnet_s06r02e0.csv");
    let opts = CsvOptions {
        columns: Some(COLUMNS.iter().map(|c| c.to_string()).collect()),
        label_column: None,
        ..Default::default()
    };
    let table = read_csv(&source, &opts)?;
    let tmp = out.with_extension("csv.partial");
    let mut w = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(&tmp)?);
    writeln!(w, "{}", COLUMNS.join(","))?;
    let mut rng = Rng::new(2026);
    let mut offset = [0.0f64; 3];
    for t in 0..samples {
        let r = (t % table.len() as u64) as usize;
        if r == 0 {
            offset = [0, 1, 2].map(|_| 40.0 * (rng.uniform() - 0.5));
        }
        let row = table.row(r);
        let v = [0, 1, 2].map(|c| (f64::from(row[c]) + offset[c] + 3.0 * rng.gaussian()).round());
        writeln!(w, "{},{},{}", v[0], v[1], v[2])?;
    }
    w.flush()?;
    drop(w);
    std::fs::rename(&tmp, &out)?;
    eprintln!("{}: {samples} samples of 3 channels", out.display());
    Ok(())
}
