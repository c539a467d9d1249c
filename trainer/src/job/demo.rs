//! The demo job: the main job on the bundled recording, end to end.
//!
//! Splits the recording as the train job does (15 % validation and 15 % test in blocks
//! spread over the recording, a guard of one window on the training side of each
//! border, no window in two parts), fits `auto` at each payload budget, exports every
//! precision of the codec chosen at 12 bytes, streams the test windows as serial frames,
//! decodes the stream like a receiver and reports the distortion.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use aecodec_core::{
    encode_frame, max_frame_len, Codec, FrameDecoder, Meta, Model, Precision, MAX_PAYLOAD_BYTES,
};

use super::sweep::{airtime_plot, rd_json, rd_markdown, rd_plot, sweep, RdRow};
use super::{write_reports, REPORT_HEADER};
use crate::data::split::{Cut, Split, SplitPlan};
use crate::data::windows::sample;
use crate::data::{read_csv, CsvOptions, Window};
use crate::export::lorawan::{self, Codec as LorawanCodec, PortModel, SizeReport};
use crate::export::{export_blob, measure_precision, PrecisionReport};
use crate::fsio::write_atomic;
use crate::learned::train::TrainConfig;
use crate::report::metrics::{distortion, Distortion};
use crate::report::plot;
use crate::report::showcase::{conditional, variants, ConditionalReport, Figure, VariantsReport};
use crate::{Error, FloatModel, SignalInfo};

/// What the demo runs on and where it writes.
#[derive(Debug, Clone)]
pub struct DemoPlan {
    /// The recording (CSV with the Daphnet ankle columns).
    pub data: PathBuf,
    /// The digits (CSV with a `label` column) for the conditional VAE.
    pub digits: PathBuf,
    /// Directory for the blobs, frames, decoded CSV and reports (created if missing).
    pub out: PathBuf,
    /// Training steps of the learned codecs at each budget.
    pub steps: usize,
    /// Encoder refinement passes.
    pub refine: u8,
}

/// What the demo wrote.
#[derive(Debug)]
pub struct Demo {
    /// report.md, as written.
    pub markdown: String,
    /// report.json, as written.
    pub json: serde_json::Value,
    /// The LoRaWAN payload codec's size.
    pub lorawan: SizeReport,
}

const COLUMNS: [&str; 3] = ["ankle_horiz_fwd", "ankle_vert", "ankle_horiz_lateral"];
const WINDOW: usize = 64;
/// The bundled recording's sample rate (data/README.md).
const SAMPLE_RATE_HZ: f64 = 64.0;
const BUDGETS: [usize; 6] = [6, 8, 12, 16, 24, 32];
const MAIN_BUDGET: usize = 12;
/// The test window drawn in the signal plots.
const PLOT_WINDOW: usize = 3;

/// The file name of the demo's blob of precision `p`.
pub fn precision_file(p: Precision) -> String {
    format!("model-{}.aem", p.slug())
}

/// One precision of the chosen codec, streamed.
struct PrecisionRow {
    precision: Precision,
    report: PrecisionReport,
    streamed: Distortion,
    frame_bytes: usize,
}

/// Streams `test` through `blob` as frames; returns the frame bytes and the windows a
/// receiver decodes from them.
fn stream(blob: &[u8], test: &[Window], refine: u8) -> Result<(Vec<u8>, Vec<Vec<f32>>), Error> {
    let model = Model::from_bytes(blob)?;
    let mut codec = Box::new(Codec::<{ aecodec_core::MAX_WIDTH }>::new(&model)?);
    let mut wire = Vec::new();
    for (i, (w, label)) in test.iter().enumerate() {
        let meta = Meta {
            sequence: i as u16,
            label: *label,
        };
        let p = codec.encode_refined(w, meta, refine)?;
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
        return Err(Error::InvalidModel(format!(
            "receiver decoded {} of {} frames",
            decoded.len(),
            test.len()
        )));
    }
    Ok((wire, decoded))
}

fn decoded_csv(decoded: &[Vec<f32>]) -> String {
    let mut csv = format!("window,sample,{}\n", COLUMNS.join(","));
    for (wi, w) in decoded.iter().enumerate() {
        for (si, s) in w.chunks_exact(COLUMNS.len()).enumerate() {
            let vals: Vec<String> = s.iter().map(|v| format!("{v:.2}")).collect();
            let _ = writeln!(csv, "{wi},{si},{}", vals.join(","));
        }
    }
    csv
}

fn markdown(
    path: &Path,
    split: (usize, usize, usize),
    steps: usize,
    rd: &[RdRow],
    precisions: &[PrecisionRow],
) -> String {
    let inputs = WINDOW * COLUMNS.len();
    let mut md = String::new();
    let _ = writeln!(md, "# aecodec demo report\n");
    let _ = writeln!(
        md,
        "Data: `{}`, channels {}, windows of {WINDOW} samples ({inputs} values); 15 % validation and 15 % test in \
         blocks spread over the recording (as `aecodec train` splits): {} train windows (one every sample), {} validation (one every 8), \
         {} test windows (no overlap). The codecs are fit on the training part only. \
         Codecs: `linear` (PCA/KLT) and `dct` (per-channel DCT-II), both with bit allocation on measured error, `switch` (either, \
         chosen per window and named in one payload bit), `ae` and `dae` (learned autoencoder, plain and denoising, {steps} steps), and `downsample` (evenly spaced samples at 8 bits, linear \
         interpolation; latent dims = samples kept). `auto` keeps the simplest of linear, dct, switch, ae and dae within one standard error of the best on validation (of the classical ones the switch, unless a single basis leads it by more than 0.2 dB). \
         Every payload carries {} fingerprint + {} sequence bits; all codecs get the same bytes. As `aecodec train` does by default (`--levels auto`), each codec but `downsample` that has the bits for it also codes window levels outside the training range (an escape code, then each channel's level).\n",
        path.display(),
        COLUMNS.join(", "),
        split.0,
        split.1,
        split.2,
        REPORT_HEADER.fingerprint_bits,
        REPORT_HEADER.sequence_bits
    );
    md.push_str(&rd_markdown(rd, inputs));
    let _ = writeln!(md, "\n## Precisions of the codec chosen at {MAIN_BUDGET} bytes, streamed as serial frames and decoded\n");
    let _ = writeln!(
        md,
        "RMSE and SNR: the frames, each precision's encoder refining for up to {} passes through its own decoder. \
         \"RMSE vs f32\" and \"payload bits as f32\": the plain encoder's codes, to compare the precisions' networks.\n",
        rd.first().map_or(0, |r| r.refine)
    );
    let _ = writeln!(md, "| precision | blob bytes | RMSE (mg) | SNR (dB) | RMSE vs f32 (mg) | payload bits as f32 | frame bytes |");
    let _ = writeln!(md, "|---|---:|---:|---:|---:|---:|---:|");
    for p in precisions {
        let _ = writeln!(
            md,
            "| {} | {} | {:.1} | {:.2} | {:.2} | {:.0} % | {} |",
            p.precision,
            p.report.blob_bytes,
            p.streamed.rmse,
            p.streamed.snr_db,
            p.report.rmse_vs_f32,
            100.0 * p.report.payload_agreement,
            p.frame_bytes
        );
    }
    md
}

/// Writes the report's PNGs; returns (file name, what it shows).
fn plots(
    out: &Path,
    rd: &[RdRow],
    test: &[Window],
    decoded: &[(String, Vec<f32>)],
    shown: &VariantsReport,
    digits: &ConditionalReport,
) -> Result<Vec<Figure>, Error> {
    let mut written = Vec::new();
    let channels: Vec<String> = COLUMNS.iter().map(|c| c.to_string()).collect();
    rd_plot(&out.join("rate-distortion.png"), rd)?;
    written.push((
        "rate-distortion.png".into(),
        "SNR against payload bytes for every codec".into(),
    ));
    airtime_plot(&out.join("quality-airtime.png"), rd)?;
    written.push((
        "quality-airtime.png".into(),
        "auto's SNR against time on air per LoRaWAN uplink, by spreading factor".into(),
    ));
    let window = test.get(PLOT_WINDOW).map(|(w, _)| &w[..]);
    if let Some(window) = window {
        plot::signals(
            &out.join("signals.png"),
            &format!("Test window {PLOT_WINDOW}: original (black) and decoded from frames"),
            &channels,
            window,
            decoded,
            Some(SAMPLE_RATE_HZ),
        )?;
        written.push((
            "signals.png".into(),
            "a test window and its reconstructions, per precision".into(),
        ));
    }
    written.extend(shown.plots(out, &channels, window, Some(SAMPLE_RATE_HZ))?);
    written.push(digits.plot(out)?);
    Ok(written)
}

/// The conditional VAE on the bundled digits (row mode, labels).
fn digits_report(path: &Path, cfg: &TrainConfig) -> Result<ConditionalReport, Error> {
    let opts = CsvOptions {
        columns: None,
        label_column: Some("label".into()),
        ..Default::default()
    };
    let t = read_csv(path, &opts)?;
    let split = Split::new(
        std::slice::from_ref(&t),
        &[],
        &[],
        SplitPlan::rows(),
        Cut::Rows,
    )?;
    let cfg = TrainConfig {
        latent: Some(8),
        ..cfg.clone()
    };
    conditional(
        &cfg,
        &split.train.to_vec(),
        &split.validation.to_vec(),
        &split.test.to_vec(),
        10,
        50,
    )
}

/// The 12-byte codec's LoRaWAN payload codec (`codec.js`) and its definition with three
/// test windows and the refused payloads as examples (`codec.yaml`).
fn lorawan_codec(out: &Path, blob: &[u8], test: &[Window]) -> Result<SizeReport, Error> {
    let codec = LorawanCodec::new(vec![PortModel::of_blob(None, blob)?])?;
    let (yaml, _) = codec.definition("codec.js", &[&sample(test, 3)])?;
    write_atomic(&out.join("codec.js"), codec.js().as_bytes())?;
    write_atomic(&out.join("codec.yaml"), yaml.as_bytes())?;
    Ok(codec.size())
}

/// The chosen codec at every precision: blobs written, test windows streamed as frames
/// and decoded as a receiver would.
struct Shipped {
    precisions: Vec<PrecisionRow>,
    /// (legend, decoded plot window) per precision.
    plotted: Vec<(String, Vec<f32>)>,
    /// The LoRaWAN payload codec's size (its decoder at [`lorawan::DEFAULT_PRECISION`]).
    lorawan: SizeReport,
}

/// Exports `model` at every precision into `plan.out`, streams the test windows through
/// each, and writes the full-int8 frames, their decoded CSV and the LoRaWAN codec (of
/// the blob at [`lorawan::DEFAULT_PRECISION`]).
fn ship(
    plan: &DemoPlan,
    model: &FloatModel,
    train: &[Window],
    test: &[Window],
) -> Result<Shipped, Error> {
    let f32_blob = export_blob(model, Precision::F32, train)?;
    let mut precisions = Vec::new();
    let mut plotted = Vec::new();
    let mut lorawan = None;
    for precision in [Precision::F32, Precision::Int8Weights, Precision::Int8Full] {
        let blob = export_blob(model, precision, train)?;
        write_atomic(&plan.out.join(precision_file(precision)), &blob)?;
        let report = measure_precision(model, &blob, &f32_blob, test)?;
        let (wire, decoded) = stream(&blob, test, plan.refine)?;
        if let Some(first) = decoded.get(PLOT_WINDOW) {
            plotted.push((format!("{precision} at {MAIN_BUDGET} B"), first.clone()));
        }
        if precision == lorawan::DEFAULT_PRECISION {
            lorawan = Some(lorawan_codec(&plan.out, &blob, test)?);
        }
        if precision == Precision::Int8Full {
            write_atomic(&plan.out.join("frames.bin"), &wire)?;
            write_atomic(
                &plan.out.join("decoded.csv"),
                decoded_csv(&decoded).as_bytes(),
            )?;
        }
        precisions.push(PrecisionRow {
            precision,
            report,
            streamed: distortion(test, &decoded, COLUMNS.len()),
            frame_bytes: wire.len(),
        });
    }
    Ok(Shipped {
        precisions,
        plotted,
        lorawan: lorawan
            .ok_or_else(|| Error::InvalidArgument("no full-int8 precision was exported".into()))?,
    })
}

/// report.json: the same figures as report.md.
fn report_json(
    path: &Path,
    (train, validation, test): (usize, usize, usize),
    steps: usize,
    rd: &[RdRow],
    shown: &VariantsReport,
    digits: &ConditionalReport,
    precisions: &[PrecisionRow],
) -> serde_json::Value {
    serde_json::json!({
        "data": path.display().to_string(),
        "window": WINDOW,
        "channels": COLUMNS,
        "split": {"train": train, "validation": validation, "test": test},
        "payload_bytes": MAIN_BUDGET,
        "steps": steps,
        "rate_distortion": rd_json(rd, WINDOW * COLUMNS.len()),
        "variants": shown.json(),
        "cvae_digits": digits.json(),
        "precisions": precisions.iter().map(|p| serde_json::json!({
            "precision": p.precision.slug(), "blob_bytes": p.report.blob_bytes,
            "rmse": p.streamed.rmse, "snr_db": p.streamed.snr_db, "rmse_vs_f32": p.report.rmse_vs_f32,
            "latent_rmse": p.report.latent_rmse, "payload_agreement": p.report.payload_agreement,
            "frame_bytes": p.frame_bytes,
        })).collect::<Vec<_>>(),
    })
}

/// The recording's windows, split as `aecodec train` splits it.
struct Parts {
    /// Samples in the recording.
    rows: usize,
    train: Vec<Window>,
    val: Vec<Window>,
    test: Vec<Window>,
}

/// The recording at `path`, read and split.
fn windows(path: &Path) -> Result<Parts, Error> {
    let opts = CsvOptions {
        columns: Some(COLUMNS.iter().map(|c| c.to_string()).collect()),
        label_column: None,
        ..Default::default()
    };
    let table = read_csv(path, &opts)?;
    let rows = table.len();
    // Training windows start at every sample (shift augmentation inside the training
    // blocks: measured +0.2 dB validation SNR at 6-12 B over every 2 samples), validation
    // windows every 8 (a steadier estimate for choosing a codec); test windows do not
    // overlap.
    let cut = Cut::Series {
        window: WINDOW,
        hop: 1,
    };
    let split = Split::new(
        std::slice::from_ref(&table),
        &[],
        &[],
        SplitPlan::series(WINDOW),
        cut,
    )?;
    Ok(Parts {
        rows,
        train: split.train.to_vec(),
        val: split.validation.to_vec(),
        test: split.test.to_vec(),
    })
}

/// Runs the demo: every output in `plan.out`, progress lines to `log`.
pub fn run(plan: &DemoPlan, log: &mut dyn FnMut(String)) -> Result<Demo, Error> {
    super::check_steps(plan.steps)?;
    let path = &plan.data;
    let Parts {
        rows,
        train,
        val,
        test,
    } = windows(path)?;
    std::fs::create_dir_all(&plan.out).map_err(|source| Error::Io {
        path: plan.out.clone(),
        error: source,
    })?;
    log(format!(
        "aecodec demo: {} ({rows} samples x {} channels); windows of {WINDOW}: {} train, {} validation, {} test",
        path.display(),
        COLUMNS.len(),
        train.len(),
        val.len(),
        test.len()
    ));

    let rd = sweep(
        &train,
        &val,
        &test,
        COLUMNS.len(),
        &BUDGETS,
        plan.steps,
        plan.refine,
        REPORT_HEADER,
        &mut |line| log(format!("  {line}")),
    )?;
    let main = rd
        .iter()
        .find(|r| r.bytes == MAIN_BUDGET)
        .map(|r| r.model.clone());
    let model = main
        .ok_or_else(|| Error::InvalidArgument("the main budget is not among the budgets".into()))?;
    // The shipped model records what its windows are (the train job does the same from
    // the columns and the time column).
    let model = FloatModel {
        signal: SignalInfo {
            channels: COLUMNS.len(),
            sample_rate_hz: Some(SAMPLE_RATE_HZ as f32),
            names: COLUMNS.iter().map(|c| c.to_string()).collect(),
            rows: false,
        },
        ..model
    };

    let shipped = ship(plan, &model, &train, &test)?;

    log(format!(
        "  variants at {MAIN_BUDGET} bytes: training ae, dae, sparse, vae"
    ));
    let cfg = TrainConfig {
        payload_bytes: MAIN_BUDGET,
        header: REPORT_HEADER,
        steps: plan.steps,
        ..TrainConfig::default()
    };
    let shown = variants(&cfg, &train, &val, &test, COLUMNS.len(), &mut |_| {})?;
    log("  conditional VAE on the digits".into());
    let digits = digits_report(&plan.digits, &cfg)?;

    let mut md = markdown(
        path,
        (train.len(), val.len(), test.len()),
        plan.steps,
        &rd,
        &shipped.precisions,
    );
    md.push_str(&shown.markdown());
    md.push_str(&digits.markdown());
    let pngs = plots(&plan.out, &rd, &test, &shipped.plotted, &shown, &digits)?;
    md.push_str("\n## Plots\n\n");
    for (file, what) in &pngs {
        md.push_str(&format!("- [{file}]({file}): {what}\n"));
    }
    let json = report_json(
        path,
        (train.len(), val.len(), test.len()),
        plan.steps,
        &rd,
        &shown,
        &digits,
        &shipped.precisions,
    );
    write_reports(&plan.out, &md, &json)?;
    Ok(Demo {
        markdown: md,
        json,
        lorawan: shipped.lorawan,
    })
}
