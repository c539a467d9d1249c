//! The uses beyond transmission: `generate` (VAE prior), `features` (latent codes),
//! `denoise` (a DAE over a recording) and `anomaly` (reconstruction error per window).

use std::fmt::Write as _;
use std::path::PathBuf;

use aecodec_core::{Codec, LatentQuantizer, Meta, Model, Precision, MAX_WIDTH};
use aecodec_trainer::export_blob;
use aecodec_trainer::report::showcase::sample_prior;
use aecodec_trainer::store::TrainedFile;
use anyhow::bail;

use aecodec_trainer::data::windows::{to_model_order, windows_for};
use aecodec_trainer::fsio::Sink;

use super::common::{read_decoder_blob, Columns, ModelInput};

/// Arguments of `generate`.
#[derive(clap::Args)]
pub struct GenerateArgs {
    /// Model blob of a VAE or conditional VAE.
    #[arg(long)]
    pub model: PathBuf,
    /// Windows to generate.
    #[arg(long, default_value_t = 10)]
    pub count: usize,
    /// Label to generate (conditional models).
    #[arg(long, default_value_t = 0)]
    pub label: u16,
    /// Seed of the latent draws.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Channel names for the CSV header.
    #[arg(long, value_delimiter = ',')]
    pub columns: Option<Vec<String>>,
    /// Output CSV (default: stdout).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

fn header(columns: &Option<Vec<String>>) -> (usize, String) {
    let names = columns.clone().unwrap_or_else(|| vec!["value".into()]);
    (names.len().max(1), names.join(","))
}

fn window_rows(csv: &mut String, w: usize, window: &[f32], channels: usize) {
    for (t, s) in window.chunks(channels).enumerate() {
        let vals: Vec<String> = s.iter().map(|v| v.to_string()).collect();
        let _ = writeln!(csv, "{w},{t},{}", vals.join(","));
    }
}

/// Runs `generate`.
pub fn generate(args: GenerateArgs) -> anyhow::Result<()> {
    let blob = read_decoder_blob(&args.model)?;
    let model = Model::from_bytes(&blob)?;
    if !matches!(model.spec().quantizer, LatentQuantizer::Table { .. }) {
        bail!("{}: generate needs a VAE or conditional VAE (a model with a Gaussian latent); this one has a uniform latent quantizer", args.model.display());
    }
    if model.label_count() > 0 && args.label >= model.label_count() {
        bail!(
            "label {} is not one of the model's {} labels",
            args.label,
            model.label_count()
        );
    }
    let (channels, names) = header(&args.columns);
    let mut csv = format!("window,sample,{names}\n");
    for (i, w) in sample_prior(&blob, args.count, args.label, args.seed)?
        .iter()
        .enumerate()
    {
        window_rows(&mut csv, i, w, channels);
    }
    let mut sink = Sink::new(args.output.as_deref())?;
    sink.write(csv.as_bytes())?;
    Ok(sink.finish()?)
}

/// Arguments of the verbs that read a recording with a blob.
#[derive(clap::Args)]
pub struct DataArgs {
    /// Model blob.
    #[arg(long)]
    pub model: PathBuf,
    /// CSV recording.
    #[arg(long)]
    pub data: PathBuf,
    #[command(flatten)]
    pub columns: Columns,
    /// Output CSV (default: stdout).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

/// Runs `features`: one CSV row of latent values per window (before quantization).
pub fn features(args: DataArgs) -> anyhow::Result<()> {
    let input = ModelInput::read(&args.model, &args.columns, &args.data, false)?;
    let csv = input.run(None, |model, windows, codec| {
        let k = model.latent_dim();
        let mut csv = format!(
            "window,label,{}\n",
            (0..k)
                .map(|d| format!("z{d}"))
                .collect::<Vec<_>>()
                .join(",")
        );
        let mut z = vec![0.0f32; k];
        for (i, (w, l)) in windows.iter().enumerate() {
            codec.latent(w, l, &mut z)?;
            let _ = writeln!(
                csv,
                "{i},{l},{}",
                z.iter()
                    .map(|v| format!("{v:.6}"))
                    .collect::<Vec<_>>()
                    .join(",")
            );
        }
        Ok(csv)
    })?;
    let mut sink = Sink::new(args.output.as_deref())?;
    sink.write(csv.as_bytes())?;
    Ok(sink.finish()?)
}

/// Runs `denoise`: each window through the network (encoder, then decoder from the
/// unquantized latent), as samples in the input's columns.
pub fn denoise(args: DataArgs) -> anyhow::Result<()> {
    let input = ModelInput::read(&args.model, &args.columns, &args.data, true)?;
    let columns = input.columns();
    let csv = input.run(None, |model, windows, codec| {
        let mut csv = format!("window,sample,{}\n", columns.join(","));
        let mut z = vec![0.0f32; model.latent_dim()];
        let mut out = vec![0.0f32; model.input_dim()];
        for (i, (w, l)) in windows.iter().enumerate() {
            codec.latent(w, l, &mut z)?;
            codec.reconstruct(&z, l, &mut out)?;
            window_rows(&mut csv, i, &out, columns.len());
        }
        Ok(csv)
    })?;
    let mut sink = Sink::new(args.output.as_deref())?;
    sink.write(csv.as_bytes())?;
    Ok(sink.finish()?)
}

/// Arguments of `anomaly`.
#[derive(clap::Args)]
pub struct AnomalyArgs {
    /// Trained model (.aect): its held-out windows (not fit on) calibrate the threshold.
    #[arg(long)]
    pub model: PathBuf,
    /// CSV recording to score.
    #[arg(long)]
    pub data: PathBuf,
    /// Quantile of the held-out windows' errors used as threshold.
    #[arg(long, default_value_t = 0.99)]
    pub quantile: f64,
    /// Output CSV (default: stdout).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Print the summary as JSON on stderr.
    #[arg(long)]
    pub json: bool,
}

fn window_rmse(
    codec: &mut Codec<'_, MAX_WIDTH>,
    w: &[f32],
    label: u16,
    out: &mut [f32],
) -> anyhow::Result<f64> {
    let p = codec.encode(w, Meta { sequence: 0, label })?;
    codec.decode(p.as_bytes(), out)?;
    let sq: f64 = w
        .iter()
        .zip(out.iter())
        .map(|(&a, &b)| f64::from(a - b).powi(2))
        .sum();
    Ok((sq / w.len().max(1) as f64).sqrt())
}

/// Runs `anomaly`: per-window reconstruction RMSE through the payload, flagged above the
/// threshold calibrated on the model's held-out windows.
pub fn anomaly(args: AnomalyArgs) -> anyhow::Result<()> {
    let file = TrainedFile::load(&args.model)?;
    let blob = export_blob(&file.model, Precision::F32, &file.calibration)?;
    let model = Model::from_bytes(&blob)?;
    let mut codec = Box::new(Codec::<MAX_WIDTH>::new(&model)?);
    let mut out = vec![0.0f32; model.input_dim()];
    let mut calib: Vec<f64> = file
        .held_out
        .iter()
        .map(|(w, l)| window_rmse(&mut codec, w, *l, &mut out))
        .collect::<anyhow::Result<_>>()?;
    if calib.is_empty() {
        bail!(
            "{}: no held-out windows kept to calibrate a threshold",
            args.model.display()
        );
    }
    calib.sort_by(f64::total_cmp);
    let q = args.quantile.clamp(0.0, 1.0);
    let threshold = calib[((calib.len() - 1) as f64 * q).round() as usize];
    let columns = Columns {
        columns: Some(file.layout.columns.clone()),
        label_column: file.layout.label_column.clone(),
        time_column: None,
    };
    let mut table = columns.read(&args.data)?;
    to_model_order(&mut table, &model)?;
    let windows = windows_for(&table, &model, None)?;
    let mut csv = String::from("window,first_line,rmse,anomalous\n");
    let mut flagged = 0;
    let window_len = model.input_dim() / table.columns.len().max(1);
    for (i, (w, l)) in windows.iter().enumerate() {
        let e = window_rmse(&mut codec, w, l, &mut out)?;
        let bad = e > threshold;
        flagged += usize::from(bad);
        let _ = writeln!(csv, "{i},{},{e:.4},{}", i * window_len + 2, u8::from(bad));
    }
    let mut sink = Sink::new(args.output.as_deref())?;
    sink.write(csv.as_bytes())?;
    sink.finish()?;
    if args.json {
        eprintln!(
            "{}",
            serde_json::json!({"windows": windows.len(), "flagged": flagged, "threshold_rmse": threshold, "quantile": q})
        );
    } else {
        eprintln!(
            "{flagged} of {} windows above the threshold RMSE {threshold:.3} (the {:.0}th percentile of {} held-out windows)",
            windows.len(),
            100.0 * q,
            calib.len()
        );
    }
    Ok(())
}
