//! `aecodec export`: a trained model (.aect) to model blobs, Rust source or a C header,
//! with the error of each precision against f32 measured through the core.

use std::path::{Path, PathBuf};

use aecodec_core::{Model, Precision};
use aecodec_trainer::data::windows::sample;
use aecodec_trainer::data::Window;
use aecodec_trainer::export::lorawan::{Codec as LorawanCodec, PortModel, CONSOLE_LIMIT};
use aecodec_trainer::export::source::{self, Lang};
use aecodec_trainer::export::{default_tolerance, export_checked};
use aecodec_trainer::fsio::write_atomic;
use aecodec_trainer::store::TrainedFile;
use aecodec_trainer::PrecisionReport;
use anyhow::{bail, Context};

use super::common::PortFile;

/// Which precision(s).
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrecisionArg {
    /// f32 weights and activations.
    F32,
    /// int8 weights with per-output scales, f32 activations (`int8` is accepted too).
    #[value(name = "int8-weights", alias = "int8")]
    Int8,
    /// Integer-only int8 (for MCUs without an FPU).
    Int8Full,
    /// All three (the output is a directory).
    All,
}

/// Output format.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// The model blob, for aecodec-core (`Model::from_bytes`).
    Blob,
    /// A Rust source file: every layer's weights, biases and scales as arrays, the sizes
    /// as constants, and the blob as a byte array.
    Rust,
    /// A C header, with the same arrays and constants.
    C,
    /// A LoRaWAN payload codec for network servers (TS013 `decodeUplink`, ECMAScript
    /// 5.1): the full-int8 decoder, bit for bit the core's. Also writes the codec
    /// definition (Device Repository YAML, with examples) next to it, `.yaml` for `.js`.
    LorawanJs,
}

/// Arguments of `export`.
#[derive(clap::Args)]
pub struct Args {
    /// Trained model from `aecodec train` (.aect).
    pub model: PathBuf,
    /// Precision.
    #[arg(long, value_enum, default_value_t = PrecisionArg::All)]
    pub precision: PrecisionArg,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Blob)]
    pub format: Format,
    /// Largest error against f32 accepted, as a fraction of the signal RMS
    /// (default: 0.10 for int8, 0.25 for int8-full).
    #[arg(long)]
    pub tolerance: Option<f64>,
    /// Output file (a directory with --precision all).
    #[arg(short, long)]
    pub output: PathBuf,
    /// Write encoder-only device blobs: without the decoder's weights (a device only
    /// encodes), their payloads tagged with the full model's fingerprint so that the full
    /// blob decodes them. The error report is measured with the full model.
    #[arg(long)]
    pub encoder_only: bool,
    /// With --encoder-only: the precision of the full blob the receiver decodes with
    /// (default: the device's own). `--precision int8-full --encoder-only --receiver f32`
    /// makes a full-integer device whose codes the f32 decoder reconstructs, which the
    /// device's precision does not limit; export that f32 blob too.
    #[arg(long, value_enum, requires = "encoder_only")]
    pub receiver: Option<PrecisionArg>,
    /// Print the error report as JSON.
    #[arg(long)]
    pub json: bool,
    /// With --format lorawan-js: the FPort this model's uplinks come on (default: any).
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=223))]
    pub fport: Option<u8>,
    /// With --format lorawan-js: another model in the same codec, `PORT=FILE.aect`
    /// (repeatable): one device switches models by FPort.
    #[arg(long = "with", value_name = "PORT=FILE")]
    pub with: Vec<String>,
    /// With --format lorawan-js: examples in the codec definition, from held-out windows
    /// of each model (plus the refused payloads).
    #[arg(long, default_value_t = 3)]
    pub examples: usize,
}

fn extension(f: Format) -> &'static str {
    match f {
        Format::Blob => "aem",
        Format::Rust => "rs",
        Format::C => "h",
        Format::LorawanJs => "js",
    }
}

/// One model of a LoRaWAN codec: its full-int8 blob, channels and example windows.
struct LorawanPart {
    fport: Option<u8>,
    blob: Vec<u8>,
    windows: Vec<Window>,
}

fn lorawan_part(
    path: &Path,
    fport: Option<u8>,
    tolerance: Option<f64>,
    examples: usize,
) -> anyhow::Result<LorawanPart> {
    let file = TrainedFile::load(path)?;
    let channels = file.model.signal.channels;
    let tolerance = tolerance.unwrap_or_else(|| default_tolerance(Precision::Int8Full));
    let (blob, _) = export_checked(
        &file.model,
        Precision::Int8Full,
        &file.calibration,
        &file.held_out,
        channels,
        tolerance,
    )
    .with_context(|| format!("{}: full-int8 export", path.display()))?;
    Ok(LorawanPart {
        fport,
        blob,
        windows: sample(&file.held_out, examples),
    })
}

/// `export --format lorawan-js`: the payload codec and, next to it, its definition.
fn run_lorawan(args: &Args) -> anyhow::Result<()> {
    if matches!(args.precision, PrecisionArg::F32 | PrecisionArg::Int8) {
        bail!("--format lorawan-js carries the full-int8 decoder: use --precision int8-full (or leave --precision out)");
    }
    if args.encoder_only {
        bail!("--format lorawan-js is a receiver's decoder: it takes no --encoder-only");
    }
    let mut parts = vec![lorawan_part(
        &args.model,
        args.fport,
        args.tolerance,
        args.examples,
    )?];
    for w in &args.with {
        let with = PortFile::parse("--with", w)?;
        let port = with
            .port
            .with_context(|| format!("--with {w}: expected PORT=FILE.aect"))?;
        parts.push(lorawan_part(
            &with.path,
            Some(port),
            args.tolerance,
            args.examples,
        )?);
    }
    if args.fport.is_none() && parts.len() > 1 {
        bail!("--with puts models on their own FPorts: give this model one too (--fport)");
    }
    let models = parts
        .iter()
        .map(|p| PortModel::of_blob(p.fport, &p.blob))
        .collect::<Result<_, _>>()?;
    let codec = LorawanCodec::new(models)?;
    let js_name = args
        .output
        .file_name()
        .map_or("codec.js".into(), |n| n.to_string_lossy().to_string());
    let yaml_path = args.output.with_extension("yaml");
    write_atomic(&args.output, codec.js().as_bytes())?;
    let windows: Vec<&[Window]> = parts.iter().map(|p| p.windows.as_slice()).collect();
    let (yaml, examples) = codec.definition(&js_name, &windows)?;
    write_atomic(&yaml_path, yaml.as_bytes())?;
    let size = codec.size();
    outln!(
        "{}: {} characters ({} of them model data), {} MACs per uplink; {}: {} examples",
        args.output.display(),
        size.chars,
        size.model_chars,
        size.decoder_macs,
        yaml_path.display(),
        examples
    );
    if size.fits_console() {
        outln!(
            "fits The Things Stack's console ({} characters at most)",
            CONSOLE_LIMIT
        );
    } else {
        eprintln!(
            "warning: {} characters is over The Things Stack's console limit of {CONSOLE_LIMIT}: upload the file \
             through the Device Repository or another server, or train a smaller decoder \
             (`aecodec train --preset lorawan-console`)",
            size.chars
        );
    }
    Ok(())
}

/// Runs `export`.
pub fn run(args: Args) -> anyhow::Result<()> {
    if args.format == Format::LorawanJs {
        return run_lorawan(&args);
    }
    if args.fport.is_some() || !args.with.is_empty() {
        bail!("--fport and --with are options of --format lorawan-js");
    }
    let file = TrainedFile::load(&args.model)?;
    let precisions: Vec<Precision> = match args.precision {
        PrecisionArg::F32 => vec![Precision::F32],
        PrecisionArg::Int8 => vec![Precision::Int8Weights],
        PrecisionArg::Int8Full => vec![Precision::Int8Full],
        PrecisionArg::All => vec![Precision::F32, Precision::Int8Weights, Precision::Int8Full],
    };
    let channels = file.model.signal.channels;
    if args.precision == PrecisionArg::All {
        std::fs::create_dir_all(&args.output)
            .with_context(|| format!("cannot create directory {}", args.output.display()))?;
    }
    let stem = args
        .model
        .file_stem()
        .map_or("model".into(), |s| s.to_string_lossy().to_string());
    let mut reports = Vec::new();
    let mut refused = Vec::new();
    for p in precisions {
        let tolerance = args.tolerance.unwrap_or_else(|| default_tolerance(p));
        let (blob, report) = match export_checked(
            &file.model,
            p,
            &file.calibration,
            &file.held_out,
            channels,
            tolerance,
        ) {
            Ok(x) => x,
            Err(e) => {
                eprintln!("{}: {e}; nothing written for {p}", args.model.display());
                refused.push(p);
                continue;
            }
        };
        let blob = if args.encoder_only {
            let receiver = match args.receiver {
                None => blob.clone(),
                Some(PrecisionArg::All) => bail!("--receiver takes one precision, not all"),
                Some(r) => {
                    let p = match r {
                        PrecisionArg::F32 => Precision::F32,
                        PrecisionArg::Int8 => Precision::Int8Weights,
                        _ => Precision::Int8Full,
                    };
                    aecodec_trainer::export_blob(&file.model, p, &file.calibration)?
                }
            };
            aecodec_trainer::device_blob(&blob, &receiver)?
        } else {
            blob
        };
        let model = Model::from_bytes(&blob)?;
        let path = if args.precision == PrecisionArg::All {
            let device = if args.encoder_only { "-encoder" } else { "" };
            args.output.join(format!(
                "{stem}-{}{device}.{}",
                p.slug(),
                extension(args.format)
            ))
        } else {
            args.output.clone()
        };
        let ident = format!(
            "{}_{}",
            stem.replace(|c: char| !c.is_ascii_alphanumeric(), "_"),
            p.slug().replace('-', "_")
        );
        let bytes = match args.format {
            Format::Blob => blob.clone(),
            Format::Rust => source::render(Lang::Rust, &blob, &model, &ident).into_bytes(),
            Format::C => source::render(Lang::C, &blob, &model, &ident).into_bytes(),
            Format::LorawanJs => bail!("--format lorawan-js is written by run_lorawan"),
        };
        write_atomic(&path, &bytes)?;
        reports.push((p, path, blob.len(), report));
    }
    print_report(&args, &reports, &refused, file.held_out.len())?;
    if !refused.is_empty() {
        bail!("{} precision(s) refused: see above", refused.len());
    }
    Ok(())
}

/// One precision written by `export`: where, the bytes written and its error report.
type Written = (Precision, PathBuf, usize, PrecisionReport);

/// Prints what `export` wrote (a table, or JSON with `--json`) and what it refused.
fn print_report(
    args: &Args,
    reports: &[Written],
    refused: &[Precision],
    held_out: usize,
) -> anyhow::Result<()> {
    if args.json {
        let j: Vec<_> = reports
            .iter()
            .map(|(p, path, written, r)| {
                serde_json::json!({
                    "precision": p.slug(), "output": path.display().to_string(), "blob_bytes": written,
                    "encoder_only": args.encoder_only, "full_blob_bytes": r.blob_bytes,
                    "rmse_vs_f32": r.rmse_vs_f32, "rmse_vs_input": r.rmse_vs_input, "latent_rmse": r.latent_rmse,
                    "payload_agreement": r.payload_agreement,
                })
            })
            .collect();
        outln!(
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({"exported": j, "refused": refused.iter().map(|p| p.slug()).collect::<Vec<_>>()})
            )?
        );
    } else {
        outln!(
            "{:<12} {:>10} {:>14} {:>14} {:>12}  file",
            "precision",
            "blob B",
            "RMSE vs f32",
            "RMSE vs input",
            "same bits"
        );
        for (p, path, written, r) in reports {
            outln!(
                "{:<12} {:>10} {:>14.3} {:>14.3} {:>11.1}%  {}",
                p.slug(),
                written,
                r.rmse_vs_f32,
                r.rmse_vs_input,
                100.0 * r.payload_agreement,
                path.display()
            );
        }
        outln!(
            "(measured through the core on {} held-out windows kept in the model file: windows it was not fit on)",
            held_out
        );
    }
    Ok(())
}
