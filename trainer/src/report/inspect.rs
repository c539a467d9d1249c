//! What a model blob holds, as JSON ([`describe`]) and as text ([`text`]): `aecodec
//! inspect`'s report.

use std::fmt::Write as _;
use std::path::Path;

use aecodec_core::{
    escape_field, Activation, HalfSpec, LatentQuantizer, LoraModulation, Model, Precision, Source,
};

use super::json_f32;

/// An activation's name, with its parameter.
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
    let quantizer = quantizer_name(&spec.quantizer);
    let q = &spec.quantizer;
    let bits: Vec<&[u8]> = (0..q.modes()).map(|m| q.mode_bits(m)).collect();
    let costs = lorawan_costs(usize::from(layout.bytes));
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
            "sample_rate_hz": model.sample_rate_hz().map(json_f32),
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
        "lorawan_airtime_ms": by_sf(&costs, |c| c.airtime_ms),
        "lorawan_energy_mj": by_sf(&costs, |c| c.energy_mj),
        "levels": model.level().map(|l| {
            let f = |v: &[u8]| f32s(v).map(json_f32).collect::<Vec<_>>();
            serde_json::json!({
                "inner_lo": f(l.inner_lo), "inner_hi": f(l.inner_hi), "bits": l.bits,
                "fit_lo": f(l.fit_lo), "fit_hi": f(l.fit_hi), "step": f(l.step),
                "code_bits": l.code_bits.chunks(q.dims().max(1)).collect::<Vec<_>>(),
                "escape": (0..q.modes())
                    .map(|m| escape_field(q.mode_bits(m)).map(|(d, b)| serde_json::json!({"dim": d, "bits": b})))
                    .collect::<Vec<_>>(),
            })
        }),
    })
}

/// The f32 LE values of a byte field.
fn f32s(bytes: &[u8]) -> impl Iterator<Item = f32> + '_ {
    bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
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

/// The quantizer's kind, in words.
fn quantizer_name(q: &LatentQuantizer<'_>) -> &'static str {
    match q {
        LatentQuantizer::Uniform { .. } => "uniform (calibrated ranges)",
        LatentQuantizer::Table { .. } => "table (equiprobable Gaussian bins)",
        LatentQuantizer::Switched { .. } => {
            "switched (uniform ranges, one of several bit allocations per window)"
        }
    }
}

/// The blob at `path`, loaded as `model`, in lines of text.
pub fn text(path: &Path, model: &Model<'_>) -> String {
    let mut s = String::new();
    let layout = model.payload_layout();
    let _ = writeln!(s, "{}", path.display());
    let _ = writeln!(s, "  format version   {}", model.version());
    let _ = writeln!(s, "  fingerprint      {:08x}", model.fingerprint());
    if let Some(f) = model.spec().encoder_of {
        let _ = writeln!(s, "  encoder only     cut from model {f:08x}: its payloads carry that model's fingerprint; decode them with its full blob");
    }
    let _ = writeln!(
        s,
        "  precision        {}",
        precision_name(model.precision())
    );
    let _ = writeln!(s, "  blob (flash)     {} bytes", model.blob_len());
    let _ = writeln!(
        s,
        "  scratch          {} elements per buffer",
        model.scratch_needed()
    );
    let _ = writeln!(
        s,
        "  input            {} values per window, {} labels",
        model.input_dim(),
        model.label_count()
    );
    let names: Vec<&str> = model.channel_names().collect();
    let _ = writeln!(
        s,
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
            let _ = writeln!(s, "  {name:<16} none (encoder-only device blob)");
        } else {
            let _ = writeln!(s, "  {name:<16} {desc}");
        }
    }
    if model.precision() == Precision::Int8Full {
        let _ = writeln!(
            s,
            "  integer input    encoder {} bits (the window's samples), decoder 8 bits",
            model.spec().encoder.boundary.in_bits
        );
    }
    let _ = writeln!(
        s,
        "  MACs             encode {}, decode {}",
        model.encoder_macs(),
        model.decoder_macs()
    );
    let _ = writeln!(
        s,
        "  latent           {} dims, {}",
        model.latent_dim(),
        quantizer_name(&model.spec().quantizer)
    );
    let q = &model.spec().quantizer;
    if q.modes() == 1 {
        let _ = writeln!(s, "  bits per dim     {:?}", q.bits());
    } else {
        for m in 0..q.modes() {
            let _ = writeln!(s, "  bits, mode {m:<5} {:?}", q.mode_bits(m));
        }
    }
    if let Some(l) = model.level() {
        let pairs = |a: &[u8], b: &[u8]| {
            f32s(a)
                .zip(f32s(b))
                .map(|(a, b)| format!("{a}..{b}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let list = |v: &[u8]| {
            f32s(v)
                .map(|x| x.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = writeln!(
            s,
            "  window levels    sent for levels outside {} (per channel): moved into {} \
             in steps of {}, on {:?} bits",
            pairs(l.inner_lo, l.inner_hi),
            pairs(l.fit_lo, l.fit_hi),
            list(l.step),
            l.bits
        );
        for m in 0..q.modes() {
            let k = q.dims();
            let _ = writeln!(
                s,
                "  bits with levels{} {:?}{}",
                if q.modes() > 1 {
                    format!(", mode {m}")
                } else {
                    String::new()
                },
                l.code_bits.get(m * k..(m + 1) * k).unwrap_or(&[]),
                escape_field(q.mode_bits(m)).map_or(String::new(), |(d, b)| format!(
                    " (marked by dimension {d}'s {b} bits all ones, sent first)"
                ))
            );
        }
    }
    let _ = writeln!(
        s,
        "  payload          {} bytes = {} fingerprint + {} sequence + {} label + {} mode + {} code bits (+ padding)",
        layout.bytes,
        layout.fingerprint_bits,
        layout.sequence_bits,
        layout.label_bits,
        layout.mode_bits,
        layout.code_bits
    );
    let air = lorawan_costs(usize::from(layout.bytes));
    if let (Some(fast), Some(slow)) = (air.first(), air.last()) {
        let list = |f: fn(&UplinkCost) -> String| -> String {
            air.iter()
                .map(|c| format!("SF{} {}", c.sf, f(c)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        // A 1 % duty cycle: 100 times the airtime between uplinks (ms × 100 / 1000 = s).
        let _ = writeln!(
            s,
            "  LoRaWAN airtime  {} (125 kHz, CR 4/5, no MAC commands); at a 1 % duty cycle one uplink per {:.1} s (SF{}) to {:.0} s (SF{}){}",
            list(|c| format!("{:.1} ms", c.airtime_ms)),
            fast.airtime_ms / 10.0,
            fast.sf,
            slow.airtime_ms / 10.0,
            slow.sf,
            model.sample_rate_hz().map_or(String::new(), |hz| format!(
                "; a window lasts {:.2} s",
                model.samples() as f64 / f64::from(hz)
            ))
        );
        let _ = writeln!(
            s,
            "  radio energy     {} per uplink ({})",
            list(|c| format!("{:.1} mJ", c.energy_mj)),
            radio_model()
        );
    }
    s
}

/// One value of each [`UplinkCost`] as JSON, keyed `SF7` … `SF12`.
fn by_sf(costs: &[UplinkCost], f: fn(&UplinkCost) -> f64) -> serde_json::Value {
    costs
        .iter()
        .map(|c| (format!("SF{}", c.sf), serde_json::json!(f(c))))
        .collect::<serde_json::Map<_, _>>()
        .into()
}

/// The radio model of [`UplinkCost::energy_mj`] in words, from its constants.
pub fn radio_model() -> String {
    use aecodec_core::airtime::{EU868_RX2, RX_WINDOW_SYMBOLS, SX1262_14DBM};
    let p = SX1262_14DBM;
    format!(
        "a Semtech SX1262 sending at +14 dBm from {} V at {} mA, then both Class A receive windows listening {RX_WINDOW_SYMBOLS} symbols each at {} mA with no downlink, RX2 at SF{}",
        p.supply_v, p.tx_ma, p.rx_ma, EU868_RX2.spreading_factor
    )
}

/// What one LoRaWAN uplink of a payload costs at one spreading factor.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UplinkCost {
    /// Spreading factor (125 kHz, CR 4/5).
    pub sf: u8,
    /// Time on air, ms (no MAC commands).
    pub airtime_ms: f64,
    /// The radio's energy, mJ: [`aecodec_core::airtime::SX1262_14DBM`] sending, then both
    /// Class A receive windows with no downlink (RX2 at EU868's default, SF12).
    pub energy_mj: f64,
}

/// [`UplinkCost`] of a LoRaWAN uplink of `bytes` payload bytes at SF7 to SF12, 125 kHz
/// (the spreading factors of the data rates most regions use); empty past 242 bytes.
pub fn lorawan_costs(bytes: usize) -> Vec<UplinkCost> {
    use aecodec_core::airtime::{EU868_RX2, SX1262_14DBM};
    (7..=12)
        .filter_map(|sf| {
            let m = LoraModulation::lorawan(sf, 125_000);
            Some(UplinkCost {
                sf,
                airtime_ms: m.uplink_airtime_us(bytes)? as f64 / 1e3,
                energy_mj: SX1262_14DBM.uplink_energy_uj(m, bytes, EU868_RX2)? / 1e3,
            })
        })
        .collect()
}
