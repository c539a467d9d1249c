//! `aecodec encode`: CSV windows → payloads or serial frames.

use std::path::PathBuf;

use aecodec_core::{encode_frame, max_frame_len, Codec, Meta, Model, MAX_PAYLOAD_BYTES, MAX_WIDTH};

use aecodec_trainer::data::windows::WindowSet;
use aecodec_trainer::learned::train::DEFAULT_REFINE;

use aecodec_trainer::fsio::Sink;

use super::common::{hex, Columns, ModelInput};

/// Output format.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Serial frames (COBS + CRC-16, 0x00-terminated), binary: what a UART carries.
    Frames,
    /// One payload per line, hex.
    Hex,
    /// One JSON object per line: window index, sequence, label, payload hex.
    Jsonl,
}

/// Arguments of `encode`.
#[derive(clap::Args)]
pub struct Args {
    /// Model blob.
    #[arg(long)]
    pub model: PathBuf,
    /// CSV recording.
    #[arg(long)]
    pub data: PathBuf,
    #[command(flatten)]
    pub columns: Columns,
    /// Samples between windows (series mode; default: the window length, no overlap).
    #[arg(long)]
    pub hop: Option<usize>,
    /// Encoder refinement passes (analysis by synthesis: each pass tries every latent
    /// code one step down and up through the decoder, keeping what lowers the window's
    /// error; one decoder run, then up to 2 × latent dims per pass). Default: 4 with a full
    /// blob, 0 (the plain encoder) with an encoder-only one, which has no decoder. A device
    /// running `Codec::encode_refined` with the same passes (and the same core features,
    /// e.g. without `fast-math`) sends the same bytes.
    #[arg(long)]
    pub refine: Option<u8>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Frames)]
    pub format: Format,
    /// Output file (default: stdout).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

/// Runs `encode`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let input = ModelInput::read(&args.model, &args.columns, &args.data, false)?;
    input.run(args.hop, |model, windows, codec| {
        encode(&args, model, windows, codec)
    })
}

/// Encodes `windows` into `args.output`.
fn encode(
    args: &Args,
    model: &Model<'_>,
    windows: &WindowSet<'_>,
    codec: &mut Codec<'_, MAX_WIDTH>,
) -> anyhow::Result<()> {
    let refine = args.refine.unwrap_or(if model.is_encoder_only() {
        0
    } else {
        DEFAULT_REFINE
    });
    if refine > 0 && model.is_encoder_only() {
        anyhow::bail!(
            "{}: --refine {refine} needs the decoder, and this is an encoder-only device blob: \
             encode with the full blob, or without --refine",
            args.model.display()
        );
    }
    let mut sink = Sink::new(args.output.as_deref())?;
    for (i, (w, label)) in windows.iter().enumerate() {
        let meta = Meta {
            sequence: i as u16,
            label,
        };
        let p = codec
            .encode_refined(w, meta, refine)
            .map_err(|e| anyhow::anyhow!("{}: window {i}: {e}", args.data.display()))?;
        match args.format {
            Format::Frames => {
                let mut frame = [0u8; max_frame_len(MAX_PAYLOAD_BYTES)];
                let n = encode_frame(p.as_bytes(), &mut frame)?;
                sink.write(&frame[..n])?;
            }
            Format::Hex => sink.write(format!("{}\n", hex(p.as_bytes())).as_bytes())?,
            Format::Jsonl => {
                let line = serde_json::json!({"window": i, "sequence": meta.sequence, "label": label, "payload": hex(p.as_bytes())});
                sink.write(format!("{line}\n").as_bytes())?;
            }
        }
    }
    sink.finish()?;
    eprintln!(
        "encoded {} windows of {} into {}-byte payloads ({}, encoder refining {refine} passes)",
        windows.len(),
        args.data.display(),
        model.payload_layout().bytes,
        match args.format {
            Format::Frames => "frames",
            Format::Hex => "hex lines",
            Format::Jsonl => "JSON lines",
        }
    );
    Ok(())
}
