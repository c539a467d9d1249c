//! The export job: a trained model (.aect) written as model blobs, Rust source or a C
//! header at each precision asked for, each refused that differs from f32 by more than
//! its tolerance; and the LoRaWAN payload codec of one or more trained models.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use aecodec_core::{Model, Precision};

use crate::data::windows::sample;
use crate::data::Window;
use crate::export::lorawan::{Codec as LorawanCodec, PortModel, SizeReport};
use crate::export::source::{self, Lang};
use crate::export::{default_tolerance, device_blob, export_blob, export_checked, PrecisionReport};
use crate::fsio::write_atomic;
use crate::store::TrainedFile;
use crate::Error;

/// What an exported precision is written as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// The model blob.
    Blob,
    /// Rust source: every layer's arrays, the sizes as constants, the blob as bytes.
    Rust,
    /// A C header with the same arrays and constants.
    C,
}

impl ExportFormat {
    /// The file extension of this format.
    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::Blob => "aem",
            ExportFormat::Rust => "rs",
            ExportFormat::C => "h",
        }
    }
}

/// What the export job writes.
#[derive(Debug, Clone)]
pub struct ExportPlan {
    /// The trained-model file.
    pub model: PathBuf,
    /// The precisions, each checked against its tolerance.
    pub precisions: Vec<Precision>,
    /// The format of every file written.
    pub format: ExportFormat,
    /// Largest error against f32 accepted, as a fraction of the signal RMS (default:
    /// [`default_tolerance`] of each precision).
    pub tolerance: Option<f64>,
    /// The file written, or with `into_dir` the directory that receives
    /// `STEM-PRECISION[-encoder].EXT` for each precision.
    pub output: PathBuf,
    /// Whether `output` is a directory (created if missing).
    pub into_dir: bool,
    /// Encoder-only device blobs, their payloads tagged as the full model's.
    pub encoder_only: bool,
    /// With `encoder_only`: the precision of the full blob that decodes the device's
    /// payloads (default: the device's own).
    pub receiver: Option<Precision>,
}

/// One precision the export job wrote.
#[derive(Debug)]
pub struct Exported {
    /// The precision.
    pub precision: Precision,
    /// The file written.
    pub path: PathBuf,
    /// Bytes of the blob written (an encoder-only one with `encoder_only`).
    pub blob_bytes: usize,
    /// Its error against f32 (measured with the full model).
    pub report: PrecisionReport,
}

/// What the export job did.
#[derive(Debug)]
pub struct Exports {
    /// Each precision written.
    pub written: Vec<Exported>,
    /// Each precision refused, and why: nothing is written for it.
    pub refused: Vec<(Precision, Error)>,
    /// Held-out windows the errors were measured on.
    pub held_out: usize,
}

impl Exports {
    /// What was written and refused, as JSON (`aecodec export --json`); `encoder_only`
    /// as the plan said.
    pub fn json(&self, encoder_only: bool) -> serde_json::Value {
        let written: Vec<_> = self
            .written
            .iter()
            .map(|w| {
                let r = &w.report;
                serde_json::json!({
                    "precision": w.precision.slug(), "output": w.path.display().to_string(), "blob_bytes": w.blob_bytes,
                    "encoder_only": encoder_only, "full_blob_bytes": r.blob_bytes,
                    "rmse_vs_f32": r.rmse_vs_f32, "rmse_vs_input": r.rmse_vs_input, "latent_rmse": r.latent_rmse,
                    "payload_agreement": r.payload_agreement,
                })
            })
            .collect();
        let refused: Vec<_> = self.refused.iter().map(|(p, _)| p.slug()).collect();
        serde_json::json!({"exported": written, "refused": refused})
    }

    /// What was written, as a table with a line on what it was measured on.
    pub fn text(&self) -> String {
        let mut s = format!(
            "{:<12} {:>10} {:>14} {:>14} {:>12}  file\n",
            "precision", "blob B", "RMSE vs f32", "RMSE vs input", "same bits"
        );
        for w in &self.written {
            let r = &w.report;
            let _ = writeln!(
                s,
                "{:<12} {:>10} {:>14.3} {:>14.3} {:>11.1}%  {}",
                w.precision.slug(),
                w.blob_bytes,
                r.rmse_vs_f32,
                r.rmse_vs_input,
                100.0 * r.payload_agreement,
                w.path.display()
            );
        }
        let _ = write!(
            s,
            "(measured through the core on {} held-out windows kept in the model file: windows it was not fit on)",
            self.held_out
        );
        s
    }
}

/// Runs the export job.
pub fn run(plan: &ExportPlan) -> Result<Exports, Error> {
    check_tolerance(plan.tolerance)?;
    let file = TrainedFile::load(&plan.model)?;
    let channels = file.model.signal.channels;
    if plan.into_dir {
        std::fs::create_dir_all(&plan.output).map_err(|source| Error::Io {
            path: plan.output.clone(),
            error: source,
        })?;
    }
    let stem = plan
        .model
        .file_stem()
        .map_or("model".into(), |s| s.to_string_lossy().to_string());
    let mut written = Vec::new();
    let mut refused = Vec::new();
    for &p in &plan.precisions {
        let tolerance = plan.tolerance.unwrap_or_else(|| default_tolerance(p));
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
                refused.push((p, e));
                continue;
            }
        };
        let blob = if plan.encoder_only {
            let receiver = match plan.receiver {
                None => blob.clone(),
                Some(r) => export_blob(&file.model, r, &file.calibration)?,
            };
            device_blob(&blob, &receiver)?
        } else {
            blob
        };
        let path = if plan.into_dir {
            let device = if plan.encoder_only { "-encoder" } else { "" };
            plan.output.join(format!(
                "{stem}-{}{device}.{}",
                p.slug(),
                plan.format.extension()
            ))
        } else {
            plan.output.clone()
        };
        write_atomic(&path, &render(plan.format, &blob, &stem, p)?)?;
        written.push(Exported {
            precision: p,
            path,
            blob_bytes: blob.len(),
            report,
        });
    }
    Ok(Exports {
        written,
        refused,
        held_out: file.held_out.len(),
    })
}

/// The bytes of `blob` (of precision `p`, from the model file named `stem`) in `format`.
fn render(format: ExportFormat, blob: &[u8], stem: &str, p: Precision) -> Result<Vec<u8>, Error> {
    let lang = match format {
        ExportFormat::Blob => return Ok(blob.to_vec()),
        ExportFormat::Rust => Lang::Rust,
        ExportFormat::C => Lang::C,
    };
    let ident = format!(
        "{}_{}",
        stem.replace(|c: char| !c.is_ascii_alphanumeric(), "_"),
        p.slug().replace('-', "_")
    );
    let model = Model::from_bytes(blob)?;
    Ok(source::render(lang, blob, &model, &ident).into_bytes())
}

/// What the LoRaWAN export writes: one codec for one model, or for several models told
/// apart by FPort.
#[derive(Debug, Clone)]
pub struct LorawanPlan {
    /// The trained-model files, each with the FPort its uplinks come on (`None`: any;
    /// only for a single model).
    pub models: Vec<(Option<u8>, PathBuf)>,
    /// The precision of the decoder the codec carries (and of the blob its payloads are
    /// tagged for).
    pub precision: Precision,
    /// Largest error of that precision's export against f32 (default:
    /// [`default_tolerance`]).
    pub tolerance: Option<f64>,
    /// Examples in the codec definition, from each model's held-out windows.
    pub examples: usize,
    /// The codec (`.js`); its definition goes beside it with the extension `.yaml`.
    pub output: PathBuf,
}

/// What the LoRaWAN export wrote.
#[derive(Debug)]
pub struct LorawanExport {
    /// The codec definition written beside the codec.
    pub yaml: PathBuf,
    /// Examples in it.
    pub examples: usize,
    /// The codec's size.
    pub size: SizeReport,
}

/// Runs the LoRaWAN export: the full-int8 decoder of every model (each checked against
/// its tolerance) in one TS013 codec, and its definition with examples.
pub fn lorawan(plan: &LorawanPlan) -> Result<LorawanExport, Error> {
    check_tolerance(plan.tolerance)?;
    let mut blobs = Vec::new();
    let mut windows = Vec::new();
    for (port, path) in &plan.models {
        let (blob, w) = lorawan_part(path, plan.precision, plan.tolerance, plan.examples)?;
        blobs.push((*port, blob));
        windows.push(w);
    }
    let models = blobs
        .iter()
        .map(|(port, blob)| PortModel::of_blob(*port, blob))
        .collect::<Result<_, _>>()?;
    let codec = LorawanCodec::new(models)?;
    let js_name = plan
        .output
        .file_name()
        .map_or("codec.js".into(), |n| n.to_string_lossy().to_string());
    let yaml_path = plan.output.with_extension("yaml");
    write_atomic(&plan.output, codec.js().as_bytes())?;
    let windows: Vec<&[Window]> = windows.iter().map(Vec::as_slice).collect();
    let (yaml, examples) = codec.definition(&js_name, &windows)?;
    write_atomic(&yaml_path, yaml.as_bytes())?;
    Ok(LorawanExport {
        yaml: yaml_path,
        examples,
        size: codec.size(),
    })
}

/// One model of a LoRaWAN codec: its blob of `precision` and example windows.
fn lorawan_part(
    path: &Path,
    precision: Precision,
    tolerance: Option<f64>,
    examples: usize,
) -> Result<(Vec<u8>, Vec<Window>), Error> {
    let file = TrainedFile::load(path)?;
    let channels = file.model.signal.channels;
    let tolerance = tolerance.unwrap_or_else(|| default_tolerance(precision));
    let (blob, _) = export_checked(
        &file.model,
        precision,
        &file.calibration,
        &file.held_out,
        channels,
        tolerance,
    )
    .map_err(|e| Error::Plan(format!("{}: {precision} export: {e}", path.display())))?;
    Ok((blob, sample(&file.held_out, examples)))
}

/// Refuses a `--tolerance` that is not a finite fraction of 0 or more (NaN would pass
/// every blob, a negative one none).
fn check_tolerance(tolerance: Option<f64>) -> Result<(), Error> {
    match tolerance {
        Some(t) if !(t.is_finite() && t >= 0.0) => Err(Error::Plan(format!(
            "--tolerance {t}: the largest error accepted is a finite fraction of the signal RMS, 0 or more (e.g. 0.05)"
        ))),
        _ => Ok(()),
    }
}
