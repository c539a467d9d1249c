//! `aecodec demo`: the main job on the bundled recording, end to end.
//!
//! Splits the recording in time (70 % train, 15 % validation, 15 % test: contiguous
//! blocks, no window crosses a boundary), fits the codec at each payload budget, exports
//! every precision, streams the test windows as serial frames, decodes the stream like a
//! receiver and reports the distortion.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use aecodec_core::{
    encode_frame, max_frame_len, Codec, FrameDecoder, Meta, Model, PayloadHeader, Precision,
    MAX_PAYLOAD_BYTES,
};
use aecodec_trainer::data::{read_csv, CsvOptions, Window};
use aecodec_trainer::fsio::write_atomic;
use aecodec_trainer::linear::fit_linear_budget;
use aecodec_trainer::metrics::{compression_ratio, distortion, Distortion};
use aecodec_trainer::{export_blob, measure_precision, round_trip};
use anyhow::{bail, Context};

/// Arguments of `demo`.
#[derive(clap::Args)]
pub struct Args {
    /// Recording to use (CSV with the Daphnet ankle columns).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Directory for the blobs, frames, decoded CSV and reports.
    #[arg(long, default_value = "out/demo")]
    pub out: PathBuf,
    /// Print the report as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

const COLUMNS: [&str; 3] = ["ankle_horiz_fwd", "ankle_vert", "ankle_horiz_lateral"];
const WINDOW: usize = 64;
const BUDGETS: [usize; 6] = [6, 8, 12, 16, 24, 32];
const MAIN_BUDGET: usize = 12;
const HEADER: PayloadHeader = PayloadHeader {
    fingerprint_bits: 4,
    sequence_bits: 4,
};

fn default_data() -> PathBuf {
    let local = PathBuf::from("data/daphnet_s06r02e0.csv");
    if local.exists() {
        return local;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/daphnet_s06r02e0.csv")
}

fn precision_file(p: Precision) -> &'static str {
    match p {
        Precision::F32 => "model-f32.aem",
        Precision::Int8Weights => "model-int8.aem",
        Precision::Int8Full => "model-int8full.aem",
    }
}

struct RdRow {
    bytes: usize,
    latent: usize,
    d: Distortion,
}

/// Streams `test` through `blob` as frames; returns the frame bytes and the windows a
/// receiver decodes from them.
fn stream(blob: &[u8], test: &[Window]) -> anyhow::Result<(Vec<u8>, Vec<Vec<f32>>)> {
    let model = Model::from_bytes(blob)?;
    let mut codec = Box::new(Codec::<{ aecodec_core::MAX_WIDTH }>::new(&model)?);
    let mut wire = Vec::new();
    for (i, (w, label)) in test.iter().enumerate() {
        let p = codec.encode(
            w,
            Meta {
                sequence: i as u16,
                label: *label,
            },
        )?;
        let mut frame = [0u8; max_frame_len(MAX_PAYLOAD_BYTES)];
        let n = encode_frame(p.as_bytes(), &mut frame)?;
        wire.extend_from_slice(&frame[..n]);
    }
    let mut rx = FrameDecoder::<{ max_frame_len(MAX_PAYLOAD_BYTES) }>::new();
    let mut decoded = Vec::new();
    for &b in &wire {
        if let Some(frame) = rx.push(b) {
            let mut out = vec![0.0f32; model.input_dim()];
            codec.decode(frame?, &mut out)?;
            decoded.push(out);
        }
    }
    if decoded.len() != test.len() {
        bail!(
            "receiver decoded {} of {} frames",
            decoded.len(),
            test.len()
        );
    }
    Ok((wire, decoded))
}

/// Runs `demo`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let path = args.data.clone().unwrap_or_else(default_data);
    let opts = CsvOptions {
        columns: Some(COLUMNS.iter().map(|c| c.to_string()).collect()),
        label_column: None,
    };
    let table = read_csv(&path, &opts)?;
    let rows = table.rows.len();
    let (a, b) = (rows * 70 / 100, rows * 85 / 100);
    let train = table.windows(0, a, WINDOW, WINDOW / 2)?;
    let val = table.windows(a, b, WINDOW, WINDOW)?;
    let test = table.windows(b, rows, WINDOW, WINDOW)?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let inputs = WINDOW * COLUMNS.len();
    eprintln!(
        "aecodec demo: {} ({} samples x {} channels); windows of {WINDOW}: {} train, {} validation, {} test",
        path.display(),
        rows,
        COLUMNS.len(),
        train.len(),
        val.len(),
        test.len()
    );

    // Rate–distortion of the linear (PCA/KLT) codec with greedy bit allocation.
    let mut rd = Vec::new();
    for bytes in BUDGETS {
        let model = fit_linear_budget(&train, COLUMNS.len(), bytes, HEADER)?;
        let blob = export_blob(&model, Precision::F32, &train)?;
        let decoded = round_trip(&blob, &test)?;
        rd.push(RdRow {
            bytes,
            latent: model.quantizer.bits().len(),
            d: distortion(&test, &decoded, COLUMNS.len()),
        });
    }

    // Every precision at the main budget, written out, streamed as frames.
    let model = fit_linear_budget(&train, COLUMNS.len(), MAIN_BUDGET, HEADER)?;
    let f32_blob = export_blob(&model, Precision::F32, &train)?;
    let mut precisions = Vec::new();
    for p in [Precision::F32, Precision::Int8Weights, Precision::Int8Full] {
        let blob = export_blob(&model, p, &train)?;
        write_atomic(&args.out.join(precision_file(p)), &blob)?;
        let report = measure_precision(&model, &blob, &f32_blob, &test)?;
        let (wire, decoded) = stream(&blob, &test)?;
        let d = distortion(&test, &decoded, COLUMNS.len());
        if p == Precision::Int8Full {
            write_atomic(&args.out.join("frames.bin"), &wire)?;
            let mut csv = format!("window,sample,{}\n", COLUMNS.join(","));
            for (wi, w) in decoded.iter().enumerate() {
                for (si, s) in w.chunks_exact(COLUMNS.len()).enumerate() {
                    let vals: Vec<String> = s.iter().map(|v| format!("{v:.2}")).collect();
                    let _ = writeln!(csv, "{wi},{si},{}", vals.join(","));
                }
            }
            write_atomic(&args.out.join("decoded.csv"), csv.as_bytes())?;
        }
        precisions.push((p, report, d, wire.len()));
    }

    let payload_bytes = usize::from(Model::from_bytes(&f32_blob)?.payload_layout().bytes);
    let mut md = String::new();
    let _ = writeln!(md, "# aecodec demo report\n");
    let _ = writeln!(
        md,
        "Data: `{}`, channels {}, windows of {WINDOW} samples ({inputs} values); split in time 70/15/15 %: {} train, {} validation, {} test windows. Codec: linear (PCA/KLT) with greedy bit allocation, {} + {} header bits.\n",
        path.display(),
        COLUMNS.join(", "),
        train.len(),
        val.len(),
        test.len(),
        HEADER.fingerprint_bits,
        HEADER.sequence_bits
    );
    let _ = writeln!(md, "## Rate–distortion on the test split (f32)\n");
    let _ = writeln!(
        md,
        "| payload bytes | latent dims | RMSE (mg) | SNR (dB) | PRD (%) | compression vs 16-bit |"
    );
    let _ = writeln!(md, "|---:|---:|---:|---:|---:|---:|");
    for r in &rd {
        let _ = writeln!(
            md,
            "| {} | {} | {:.1} | {:.2} | {:.1} | {:.0}:1 |",
            r.bytes,
            r.latent,
            r.d.rmse,
            r.d.snr_db,
            r.d.prd_percent,
            compression_ratio(inputs, r.bytes)
        );
    }
    let _ = writeln!(
        md,
        "\n## Precisions at {MAIN_BUDGET} bytes, streamed as serial frames and decoded\n"
    );
    let _ = writeln!(md, "| precision | blob bytes | RMSE (mg) | SNR (dB) | RMSE vs f32 (mg) | payload bits as f32 | frame bytes |");
    let _ = writeln!(md, "|---|---:|---:|---:|---:|---:|---:|");
    for (p, r, d, wire) in &precisions {
        let _ = writeln!(
            md,
            "| {p:?} | {} | {:.1} | {:.2} | {:.2} | {:.0} % | {} |",
            r.blob_bytes,
            d.rmse,
            d.snr_db,
            r.rmse_vs_f32,
            100.0 * r.payload_agreement,
            wire
        );
    }
    write_atomic(&args.out.join("report.md"), md.as_bytes())?;
    let json = serde_json::json!({
        "data": path.display().to_string(),
        "window": WINDOW,
        "channels": COLUMNS,
        "split": {"train": train.len(), "validation": val.len(), "test": test.len()},
        "payload_bytes": payload_bytes,
        "rate_distortion": rd.iter().map(|r| serde_json::json!({
            "bytes": r.bytes, "latent": r.latent, "rmse": r.d.rmse, "snr_db": r.d.snr_db,
            "prd_percent": r.d.prd_percent, "compression": compression_ratio(inputs, r.bytes),
        })).collect::<Vec<_>>(),
        "precisions": precisions.iter().map(|(p, r, d, wire)| serde_json::json!({
            "precision": format!("{p:?}"), "blob_bytes": r.blob_bytes, "rmse": d.rmse, "snr_db": d.snr_db,
            "rmse_vs_f32": r.rmse_vs_f32, "latent_rmse": r.latent_rmse, "payload_agreement": r.payload_agreement,
            "frame_bytes": wire,
        })).collect::<Vec<_>>(),
    });
    write_atomic(
        &args.out.join("report.json"),
        serde_json::to_string_pretty(&json)?.as_bytes(),
    )?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&json)?);
    } else {
        print!("{md}");
    }
    eprintln!(
        "\ndone in {:.1} s. Outputs in {}: report.md, report.json, {}, {}, {}, frames.bin (int8-full frames of the test windows), decoded.csv",
        started.elapsed().as_secs_f64(),
        args.out.display(),
        precision_file(Precision::F32),
        precision_file(Precision::Int8Weights),
        precision_file(Precision::Int8Full)
    );
    Ok(())
}
