//! The uses beyond transmission: `generate` (VAE prior), `features` (latent codes),
//! `denoise` (a DAE over a recording) and `anomaly` (reconstruction error per window).

use std::fmt::Write as _;
use std::path::PathBuf;

use aecodec_core::{LatentQuantizer, Model};
use aecodec_trainer::report::showcase::each_prior_sample;
use anyhow::bail;

use aecodec_trainer::data::csv_record;
use aecodec_trainer::fsio::Sink;

use aecodec_trainer::job::anomaly::AnomalyPlan;

use super::common::{output_names, read_decoder_blob, Columns, ModelInput};

/// Arguments of `generate`.
#[derive(clap::Args)]
pub struct GenerateArgs {
    /// Model blob of a VAE or conditional VAE.
    #[arg(long)]
    pub model: PathBuf,
    /// Windows to generate (1 to 1,000,000).
    #[arg(long, default_value_t = 10)]
    pub count: usize,
    /// Label to generate (conditional models).
    #[arg(long, default_value_t = 0)]
    pub label: u16,
    /// Seed of the latent draws.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Channel names for the CSV header, one per channel of the model in its order
    /// (default: the model's own).
    #[arg(long, value_delimiter = ',')]
    pub columns: Option<Vec<String>>,
    /// Output CSV (default: stdout).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

fn window_rows(csv: &mut String, w: usize, window: &[f32], channels: usize) {
    for (t, s) in window.chunks(channels).enumerate() {
        let vals: Vec<String> = s.iter().map(|v| v.to_string()).collect();
        let _ = writeln!(csv, "{w},{t},{}", vals.join(","));
    }
}

/// Most windows `generate` writes in one run: a guard against a mistyped count (10^6
/// windows of 192 values are about 4 GB of CSV).
const MAX_GENERATE: usize = 1_000_000;

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
    if model.label_count() == 0 && args.label != 0 {
        bail!(
            "--label {}: {} is not a conditional model (it has no labels)",
            args.label,
            args.model.display()
        );
    }
    if args.count > MAX_GENERATE {
        bail!(
            "--count {}: at most {MAX_GENERATE} windows per run",
            args.count
        );
    }
    let names = output_names(args.columns.as_deref(), &model)?;
    let (channels, names) = (names.len().max(1), csv_record(&names));
    // Written a window at a time: memory holds one window's rows, however many.
    let mut sink = Sink::new(args.output.as_deref())?;
    sink.write(format!("window,sample,{names}\n").as_bytes())?;
    let (mut i, mut rows) = (0, String::new());
    each_prior_sample(&blob, args.count, args.label, args.seed, |w| {
        rows.clear();
        window_rows(&mut rows, i, w, channels);
        i += 1;
        sink.write(rows.as_bytes())
    })?;
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
        let mut csv = format!("window,sample,{}\n", csv_record(columns));
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

/// Runs `anomaly`: per-window reconstruction RMSE through the payload, flagged above the
/// threshold calibrated on the model's held-out windows.
pub fn anomaly(args: AnomalyArgs) -> anyhow::Result<()> {
    let found = aecodec_trainer::job::anomaly::run(&AnomalyPlan {
        model: args.model.clone(),
        data: args.data.clone(),
        quantile: args.quantile,
    })?;
    let mut csv = String::from("window,first_line,rmse,anomalous\n");
    for (i, s) in found.scores.iter().enumerate() {
        let _ = writeln!(
            csv,
            "{i},{},{:.4},{}",
            s.first_line,
            s.rmse,
            u8::from(s.anomalous)
        );
    }
    let mut sink = Sink::new(args.output.as_deref())?;
    sink.write(csv.as_bytes())?;
    sink.finish()?;
    let (windows, threshold, q) = (found.scores.len(), found.threshold, found.quantile);
    let flagged = found.scores.iter().filter(|s| s.anomalous).count();
    if args.json {
        eprintln!(
            "{}",
            serde_json::json!({"windows": windows, "flagged": flagged, "threshold_rmse": threshold, "quantile": q})
        );
    } else {
        eprintln!(
            "{flagged} of {windows} windows above the threshold RMSE {threshold:.3} (the {:.0}th percentile of {} held-out windows)",
            100.0 * q,
            found.calibration_windows
        );
    }
    Ok(())
}
