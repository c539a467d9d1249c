//! `aecodec export`: a trained model (.aect) to model blobs, Rust source or a C header,
//! with the error of each precision against f32 measured through the core.

use std::path::PathBuf;

use aecodec_core::Precision;
use aecodec_trainer::export::lorawan::{self, CHIRPSTACK_LIMIT_MS, CONSOLE_LIMIT};
use aecodec_trainer::job::export::{ExportFormat, ExportPlan, LorawanPlan};
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
    /// 5.1): the decoder at --precision (default int8-weights: int8 weights, f32
    /// arithmetic), bit for bit the core's. Also writes the codec definition (Device
    /// Repository YAML, with examples) next to it, `.yaml` for `.js`.
    LorawanJs,
}

/// A `--fport` value: a LoRaWAN application port.
fn application_port(s: &str) -> Result<u8, String> {
    s.parse()
        .ok()
        .filter(|p| aecodec_core::APPLICATION_PORTS.contains(p))
        .ok_or_else(|| {
            format!(
                "{s} is not a LoRaWAN application port ({:?})",
                aecodec_core::APPLICATION_PORTS
            )
        })
}

/// Arguments of `export`.
#[derive(clap::Args)]
pub struct Args {
    /// Trained model from `aecodec train` (.aect).
    pub model: PathBuf,
    /// Precision (with --format lorawan-js: of the codec's decoder, `all` meaning
    /// int8-weights).
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
    #[arg(long, value_parser = application_port)]
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

impl PrecisionArg {
    /// The one precision this names; `None` for `all`.
    fn single(self) -> Option<Precision> {
        match self {
            PrecisionArg::F32 => Some(Precision::F32),
            PrecisionArg::Int8 => Some(Precision::Int8Weights),
            PrecisionArg::Int8Full => Some(Precision::Int8Full),
            PrecisionArg::All => None,
        }
    }

    /// The precisions this stands for.
    fn precisions(self) -> Vec<Precision> {
        self.single().map_or_else(
            || vec![Precision::F32, Precision::Int8Weights, Precision::Int8Full],
            |p| vec![p],
        )
    }
}

/// `export --format lorawan-js`: the payload codec and, next to it, its definition.
fn run_lorawan(args: &Args) -> anyhow::Result<()> {
    let precision = args
        .precision
        .single()
        .unwrap_or(lorawan::DEFAULT_PRECISION);
    if args.encoder_only {
        bail!("--format lorawan-js is a receiver's decoder: it takes no --encoder-only");
    }
    let mut models = vec![(args.fport, args.model.clone())];
    for w in &args.with {
        let with = PortFile::parse("--with", w)?;
        let port = with
            .port
            .with_context(|| format!("--with {w}: expected PORT=FILE.aect"))?;
        models.push((Some(port), with.path));
    }
    if args.fport.is_none() && models.len() > 1 {
        bail!("--with puts models on their own FPorts: give this model one too (--fport)");
    }
    let done = aecodec_trainer::job::export::lorawan(&LorawanPlan {
        models,
        precision,
        tolerance: args.tolerance,
        examples: args.examples,
        output: args.output.clone(),
    })?;
    let size = &done.size;
    outln!(
        "{}: {} characters ({} of them model data), {precision} decoder, {} MACs per uplink; {}: {} examples",
        args.output.display(),
        size.chars,
        size.model_chars,
        size.decoder_macs,
        done.yaml.display(),
        done.examples
    );
    outln!(
        "devices send payloads for this decoder: aecodec export {} --precision int8-full --encoder-only --receiver {precision} -o device.aem",
        args.model.display()
    );
    let ms = size.chirpstack_ms();
    let chirpstack = format!(
        "about {ms:.0} ms per uplink in ChirpStack's engine (from its MACs, at the cost per MAC of a float-path decoder measured on the benchmark's machine, docs/benchmarks.md; a full-int8 one takes about a quarter less), whose interrupt stops a codec at {CHIRPSTACK_LIMIT_MS:.0} ms"
    );
    if ms <= CHIRPSTACK_LIMIT_MS / 2.0 {
        outln!("{chirpstack}");
    } else {
        eprintln!(
            "warning: {chirpstack}: a busy server will stop some uplinks; train a smaller decoder \
             (`aecodec train --preset lorawan-console`, or --decoder-hidden)"
        );
    }
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
    let format = match args.format {
        Format::LorawanJs => return run_lorawan(&args),
        Format::Blob => ExportFormat::Blob,
        Format::Rust => ExportFormat::Rust,
        Format::C => ExportFormat::C,
    };
    if args.fport.is_some() || !args.with.is_empty() {
        bail!("--fport and --with are options of --format lorawan-js");
    }
    let receiver = match args.receiver {
        None => None,
        Some(r) => Some(
            r.single()
                .context("--receiver takes one precision, not all")?,
        ),
    };
    let exports = aecodec_trainer::job::export::run(&ExportPlan {
        model: args.model.clone(),
        precisions: args.precision.precisions(),
        format,
        tolerance: args.tolerance,
        output: args.output.clone(),
        into_dir: args.precision == PrecisionArg::All,
        encoder_only: args.encoder_only,
        receiver,
    })?;
    for (p, e) in &exports.refused {
        eprintln!("{}: {e}; nothing written for {p}", args.model.display());
    }
    if args.json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&exports.json(args.encoder_only))?
        );
    } else {
        outln!("{}", exports.text());
    }
    if !exports.refused.is_empty() {
        bail!("{} precision(s) refused: see above", exports.refused.len());
    }
    Ok(())
}
