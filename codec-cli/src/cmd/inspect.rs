//! `aecodec inspect`: what a blob holds.

use std::path::PathBuf;

use aecodec_core::{Activation, HalfSpec, LatentQuantizer, Model, Precision, Source};
use anyhow::Context;

/// Arguments of `inspect`.
#[derive(clap::Args)]
pub struct Args {
    /// Model blob (from `aecodec export` or `aecodec demo`).
    pub blob: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

fn activation_name(a: Activation) -> String {
    match a {
        Activation::Identity => "identity".into(),
        Activation::Relu => "relu".into(),
        Activation::LeakyRelu(alpha) => format!("leaky_relu({alpha})"),
        Activation::Tanh => "tanh".into(),
        Activation::Sigmoid => "sigmoid".into(),
    }
}

/// The precision's slug and what it means.
fn precision_name(p: Precision) -> &'static str {
    match p {
        Precision::F32 => "f32",
        Precision::Int8Weights => "int8-weights (f32 activations)",
        Precision::Int8Full => "int8-full (integer-only)",
    }
}

/// Summary of a loaded model as JSON.
pub fn describe(model: &Model<'_>) -> serde_json::Value {
    let spec = model.spec();
    let layers = |h: &HalfSpec<'_>| -> Vec<serde_json::Value> {
        h.layers
            .iter()
            .map(|l| {
                serde_json::json!({
                    "in": l.in_dim, "out": l.out_dim,
                    "activation": activation_name(l.activation),
                    "conv": l.conv.map(|c| serde_json::json!({
                        "transposed": c.transposed, "samples": c.samples, "channels": c.channels,
                        "kernel": c.kernel, "stride": c.stride, "positions": c.positions(),
                    })),
                    "weight_bytes": l.weights.len() + l.bias.len() + l.scales.len() + l.shifts.len() + l.lut.len(),
                })
            })
            .collect()
    };
    let layout = model.payload_layout();
    let quantizer = match spec.quantizer {
        LatentQuantizer::Uniform { .. } => "uniform (calibrated ranges)",
        LatentQuantizer::Table { .. } => "table (equiprobable Gaussian bins)",
        LatentQuantizer::Switched { .. } => {
            "switched (uniform ranges, one of several bit allocations per window)"
        }
    };
    let q = &spec.quantizer;
    let bits: Vec<&[u8]> = (0..q.modes()).map(|m| q.mode_bits(m)).collect();
    serde_json::json!({
        "format_version": model.version(),
        "fingerprint": format!("{:08x}", model.fingerprint()),
        "encoder_of": spec.encoder_of.map(|f| format!("{f:08x}")),
        "precision": model.precision().slug(),
        "blob_bytes": model.blob_len(),
        "input_dim": model.input_dim(),
        "latent_dim": model.latent_dim(),
        "labels": model.label_count(),
        "signal": {
            "channels": model.channels(),
            "samples": model.samples(),
            "names": model.channel_names().collect::<Vec<_>>(),
            "sample_rate_hz": model.sample_rate_hz().map(super::common::json_f32),
            "source": match model.source() {
                Source::Series => "series",
                Source::Rows => "rows",
            },
        },
        "encoder": layers(&spec.encoder),
        "decoder": layers(&spec.decoder),
        "encoder_input_bits": (model.precision() == Precision::Int8Full)
            .then_some(spec.encoder.boundary.in_bits),
        "encoder_macs": model.encoder_macs(),
        "decoder_macs": model.decoder_macs(),
        "scratch_elements": model.scratch_needed(),
        "quantizer": quantizer,
        "modes": q.modes(),
        "bits": if q.modes() > 1 { serde_json::json!(bits) } else { serde_json::json!(q.bits()) },
        "payload": {
            "bytes": layout.bytes,
            "fingerprint_bits": layout.fingerprint_bits,
            "sequence_bits": layout.sequence_bits,
            "label_bits": layout.label_bits,
            "mode_bits": layout.mode_bits,
            "code_bits": layout.code_bits,
        },
    })
}

/// A half's layers in one line: `in→out activation`, with where a convolution's
/// weights are shared; empty for a half without layers.
fn layers_text(half: &HalfSpec<'_>) -> String {
    let desc: Vec<String> = half
        .layers
        .iter()
        .map(|l| {
            let shared = match l.conv {
                Some(c) if c.transposed => format!(
                    " overlap-added at {} positions (kernel {}, stride {})",
                    c.positions(),
                    c.kernel,
                    c.stride
                ),
                Some(c) => format!(
                    " at {} positions (conv, kernel {}, stride {})",
                    c.positions(),
                    c.kernel,
                    c.stride
                ),
                None => String::new(),
            };
            format!(
                "{}→{} {}{shared}",
                l.in_dim,
                l.out_dim,
                activation_name(l.activation)
            )
        })
        .collect();
    desc.join(", ")
}

/// Runs `inspect`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let bytes = std::fs::read(&args.blob)
        .with_context(|| format!("cannot read {}", args.blob.display()))?;
    let model =
        Model::from_bytes(&bytes).map_err(|e| anyhow::anyhow!("{}: {e}", args.blob.display()))?;
    let d = describe(&model);
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&d)?);
        return Ok(());
    }
    let layout = model.payload_layout();
    outln!("{}", args.blob.display());
    outln!("  format version   {}", model.version());
    outln!("  fingerprint      {:08x}", model.fingerprint());
    if let Some(f) = model.spec().encoder_of {
        outln!("  encoder only     cut from model {f:08x}: its payloads carry that model's fingerprint; decode them with its full blob");
    }
    outln!("  precision        {}", precision_name(model.precision()));
    outln!("  blob (flash)     {} bytes", model.blob_len());
    outln!(
        "  scratch          {} elements per buffer",
        model.scratch_needed()
    );
    outln!(
        "  input            {} values per window, {} labels",
        model.input_dim(),
        model.label_count()
    );
    let names: Vec<&str> = model.channel_names().collect();
    outln!(
        "  signal           {} channel(s){} × {} samples{}, {}",
        model.channels(),
        if names.is_empty() {
            String::new()
        } else {
            format!(" ({})", names.join(", "))
        },
        model.samples(),
        model
            .sample_rate_hz()
            .map_or(", sample rate unknown".to_string(), |hz| format!(
                " at {hz} Hz"
            )),
        match model.source() {
            Source::Series => "cut from a series",
            Source::Rows => "one window per row (channel-major)",
        }
    );
    for (name, half) in [
        ("encoder", &model.spec().encoder),
        ("decoder", &model.spec().decoder),
    ] {
        let desc = layers_text(half);
        if desc.is_empty() {
            outln!("  {name:<16} none (encoder-only device blob)");
        } else {
            outln!("  {name:<16} {desc}");
        }
    }
    if model.precision() == Precision::Int8Full {
        outln!(
            "  integer input    encoder {} bits (the window's samples), decoder 8 bits",
            model.spec().encoder.boundary.in_bits
        );
    }
    outln!(
        "  MACs             encode {}, decode {}",
        model.encoder_macs(),
        model.decoder_macs()
    );
    outln!(
        "  latent           {} dims, {}",
        model.latent_dim(),
        d["quantizer"].as_str().unwrap_or("")
    );
    let q = &model.spec().quantizer;
    if q.modes() == 1 {
        outln!("  bits per dim     {:?}", q.bits());
    } else {
        for m in 0..q.modes() {
            outln!("  bits, mode {m:<5} {:?}", q.mode_bits(m));
        }
    }
    outln!(
        "  payload          {} bytes = {} fingerprint + {} sequence + {} label + {} mode + {} code bits (+ padding)",
        layout.bytes,
        layout.fingerprint_bits,
        layout.sequence_bits,
        layout.label_bits,
        layout.mode_bits,
        layout.code_bits
    );
    Ok(())
}
