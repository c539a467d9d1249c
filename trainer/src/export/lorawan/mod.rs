//! LoRaWAN payload codecs: the decoder of one or more models as a JavaScript file for
//! network servers (LoRa Alliance TS013 `decodeUplink`, ECMAScript 5.1, as The Things
//! Stack and ChirpStack run it), and its codec definition in the Device Repository's YAML
//! form, with examples decoded by the core.
//!
//! The JavaScript (`runtime.js`) reproduces the core's decoder of each model's precision
//! bit for bit: the payload checks, the latent quantizer, the layers (f32 arithmetic in
//! the core's order and libm's `expf`/`tanhf` for f32 and int8-weight models; int32 sums
//! and fixed-point requantization for full-int8 ones), de-normalization in f32, and the
//! values written as the core prints them. [`Codec::decode`] is the same decoder through
//! the core, with the same messages: it makes the examples, and the tests hold the
//! JavaScript to it.

use std::fmt::Write as _;

use aecodec_core::model::int8_weight_offset;
use aecodec_core::{Activation, Codec as CoreCodec, LatentQuantizer, Meta, Model, Precision};

use crate::data::Window;
use crate::error::Error;

/// Characters The Things Stack's console takes for a payload formatter.
pub const CONSOLE_LIMIT: usize = 40_960;

/// Milliseconds ChirpStack lets a payload codec run before its interrupt stops it.
pub const CHIRPSTACK_LIMIT_MS: f64 = 100.0;

/// ChirpStack's time per uplink of a float-path (int8-weights or f32) codec against its
/// decoder's multiply-accumulates: the line through the two codecs
/// `scripts/bench-lorawan.sh` measured in ChirpStack's engine as an ES module (2026-12-07,
/// 2 × AMD EPYC, median; docs/benchmarks.md): 8.67 ms at 14,016 MACs (the console
/// preset's), 98.96 ms at 339,968 (the demo's), as (ms, ms per MAC). Another machine
/// scales both; a full-int8 decoder takes about a quarter less per MAC (76 ms at the demo's).
const CHIRPSTACK_COST: (f64, f64) = (4.79, 2.77e-4);

/// The precision of the decoder a codec carries unless told otherwise: int8 weights with
/// per-output f32 scales and f32 arithmetic, whose windows stay close to the f32
/// model's where the full-int8 decoder's fall behind.
pub const DEFAULT_PRECISION: Precision = Precision::Int8Weights;

/// The decoder, in ECMAScript 5.1.
const RUNTIME: &str = include_str!("runtime.js");

/// The decoder as the generated file carries it: without its comment lines (their
/// characters count against the console's limit; the commented source is
/// `trainer/src/export/lorawan/runtime.js`).
fn runtime() -> String {
    let mut s = String::with_capacity(RUNTIME.len());
    for line in RUNTIME.lines() {
        if !line.trim_start().starts_with("//") {
            s.push_str(line);
            s.push('\n');
        }
    }
    s
}

/// The widest model a codec decodes (the core's limit).
const SCRATCH: usize = aecodec_core::MAX_WIDTH;

/// One model of a codec.
#[derive(Debug, Clone)]
pub struct PortModel<'a> {
    /// The LoRaWAN FPort its payloads come on; `None`: any port.
    pub fport: Option<u8>,
    /// A blob with its decoder, of any precision (`export --precision ...`).
    pub blob: &'a [u8],
    /// Channel names, in the window's order (samples are interleaved).
    pub channels: Vec<String>,
    /// Sample rate: with it, the codec gives sample times from the uplink's `recvTime`.
    pub sample_rate_hz: Option<f64>,
}

impl<'a> PortModel<'a> {
    /// The model of `blob` on `fport`, with the channel names and sample rate its signal
    /// records ([`crate::export::channel_names`]).
    pub fn of_blob(fport: Option<u8>, blob: &'a [u8]) -> Result<PortModel<'a>, Error> {
        let m = Model::from_bytes(blob)?;
        Ok(PortModel {
            fport,
            blob,
            channels: crate::export::channel_names(&m),
            sample_rate_hz: m.sample_rate_hz().map(f64::from),
        })
    }
}

/// What `decodeUplink` returns for one uplink.
#[derive(Debug, Clone, PartialEq)]
pub enum Uplink {
    /// A decoded window.
    Data {
        /// Fingerprint of the model that decoded it (the one its payloads are tagged with).
        model: u32,
        /// The payload's sequence counter (models with sequence bits).
        sequence: Option<u16>,
        /// The payload's label (conditional models).
        label: Option<u16>,
        /// Each channel's samples, in sensor units.
        window: Vec<(String, Vec<f32>)>,
        /// For a model with a sample rate: milliseconds between samples (the codec also
        /// gives each sample's time from the window's first, `timesMs`).
        sample_period_ms: Option<f64>,
    },
    /// The payload was refused: why, per model that could have sent it.
    Errors(Vec<String>),
}

/// One example of the codec definition: an uplink and what the codec returns for it.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    /// What it shows.
    pub description: String,
    /// The uplink's FPort.
    pub fport: u8,
    /// The uplink's payload.
    pub bytes: Vec<u8>,
    /// What `decodeUplink` returns.
    pub output: Uplink,
}

/// How big a generated codec is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SizeReport {
    /// Characters of the whole file (it is ASCII: also its bytes).
    pub chars: usize,
    /// Characters of the models' weights, biases and tables (base64).
    pub model_chars: usize,
    /// Multiply-accumulates per decoded uplink (of the largest model).
    pub decoder_macs: usize,
}

impl SizeReport {
    /// Whether The Things Stack's console takes the file.
    pub fn fits_console(&self) -> bool {
        self.chars <= CONSOLE_LIMIT
    }

    /// ChirpStack's time per uplink, estimated from the decoder's MACs (the benchmark
    /// machine's [`CHIRPSTACK_COST`]), in ms.
    pub fn chirpstack_ms(&self) -> f64 {
        CHIRPSTACK_COST.0 + CHIRPSTACK_COST.1 * self.decoder_macs as f64
    }
}

/// The widest hidden layer of a decoder whose codec fits The Things Stack's console:
/// `latent` latent values (plus labels) → hidden → `spread` values, then, for a
/// convolutional decoder, a transposed convolution of `tail` = (its filters, its patch:
/// kernel × channels) to the window of `inputs` values. Counted: every layer's weights
/// (one byte each) and per-output scale and bias (at most 9 bytes, a full-int8 layer's
/// bias, multiplier and shift), the normalization (two f32 per input), the quantizer's
/// three f32 per latent dimension, in base64 beside the decoder's code. A multiple of 8,
/// at most 256; `None` if not even 8 fits.
pub fn console_decoder_hidden(
    inputs: usize,
    latent: usize,
    spread: usize,
    tail: Option<(usize, usize)>,
) -> Option<usize> {
    // The code, the header and field names of one model, and a margin.
    let code = runtime().len() + 2_500;
    let bytes = CONSOLE_LIMIT.checked_sub(code)? * 3 / 4;
    let tail = tail.map_or(0, |(filters, patch)| filters * patch + 9 * patch);
    let fixed = 8 * inputs + 9 * spread + 12 * latent + tail;
    let per_hidden = latent + 9 + spread;
    let h = bytes.checked_sub(fixed)? / per_hidden / 8 * 8;
    (h >= 8).then_some(h.min(256))
}

/// The models of one payload codec, validated.
pub struct Codec<'a> {
    models: Vec<(PortModel<'a>, Model<'a>)>,
}

impl std::fmt::Debug for Codec<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.models.iter().map(|(p, m)| (p.fport, m.fingerprint())))
            .finish()
    }
}

fn bad(message: String) -> Error {
    Error::InvalidArgument(message)
}

impl<'a> Codec<'a> {
    /// Checks the models: blobs with a decoder, channels that divide the window,
    /// FPorts 1..=223, and no two models whose payloads could not be told apart (the same
    /// port or either on any port, the same payload length and the same model tag).
    pub fn new(models: Vec<PortModel<'a>>) -> Result<Self, Error> {
        if models.is_empty() {
            return Err(bad("a payload codec needs at least one model".into()));
        }
        let mut checked: Vec<(PortModel<'a>, Model<'a>)> = Vec::new();
        for (i, pm) in models.into_iter().enumerate() {
            let what = format!("model {}", i + 1);
            let m = Model::from_bytes(pm.blob)?;
            m.check_decoder()?;
            // The core's own codec must take it (scratch within the limit).
            CoreCodec::<SCRATCH>::new(&m)?;
            let c = pm.channels.len();
            if c == 0 || m.input_dim() % c != 0 {
                return Err(bad(format!(
                    "{what}: {c} channel names do not divide its window of {} values",
                    m.input_dim()
                )));
            }
            for (j, name) in pm.channels.iter().enumerate() {
                if pm.channels[..j].contains(name) {
                    return Err(bad(format!("{what}: channel name `{name}` appears twice")));
                }
            }
            if let Some(p) = pm.fport {
                if !aecodec_core::APPLICATION_PORTS.contains(&p) {
                    return Err(bad(format!(
                        "{what}: FPort {p} is not an application port ({:?})",
                        aecodec_core::APPLICATION_PORTS
                    )));
                }
            }
            if let Some(r) = pm.sample_rate_hz {
                if !(r.is_finite() && r > 0.0) {
                    return Err(bad(format!("{what}: sample rate {r} Hz is not positive")));
                }
            }
            for (j, (other, om)) in checked.iter().enumerate() {
                let ports_meet =
                    pm.fport.is_none() || other.fport.is_none() || pm.fport == other.fport;
                let (a, b) = (m.payload_layout(), om.payload_layout());
                if ports_meet
                    && a.bytes == b.bytes
                    && tag(&m) == tag(om)
                    && a.fingerprint_bits == b.fingerprint_bits
                {
                    return Err(bad(format!(
                        "{what} and model {}: payloads of {} bytes with the same model tag on the same FPort cannot be told apart; give them their own --fport",
                        j + 1,
                        a.bytes
                    )));
                }
            }
            checked.push((pm, m));
        }
        Ok(Codec { models: checked })
    }

    /// The codec as one ECMAScript 5.1 file: the decoder, then the models.
    pub fn js(&self) -> String {
        self.render().0
    }

    /// The file and how many of its characters are the models' base64 fields.
    fn render(&self) -> (String, usize) {
        let mut s = String::from(
            "// aecodec LoRaWAN payload codec (LoRa Alliance TS013 decodeUplink), ECMAScript 5.1.\n\
             // Generated by `aecodec export --format lorawan-js`. It decodes the payloads of the\n\
             // models at the end of this file with their decoder, bit for bit as aecodec-core\n\
             // does at the model's precision; a payload of another length or model, a bad label\n\
             // or non-zero padding is refused (errors), never decoded.\n",
        );
        for (pm, m) in &self.models {
            let _ = writeln!(
                s,
                "// model {:08x} ({}): {} B payloads on {}, {} values in {} channels ({}), {} MACs per uplink",
                m.payload_fingerprint(),
                m.precision(),
                m.payload_layout().bytes,
                pm.fport.map_or("any FPort".into(), |p| format!("FPort {p}")),
                m.input_dim(),
                pm.channels.len(),
                comment_text(&pm.channels.join(", ")),
                m.decoder_macs()
            );
        }
        s.push_str(
            "// The decoder below is trainer/src/export/lorawan/runtime.js of aecodec without its comments.\n",
        );
        s.push_str(&runtime());
        s.push_str("\nvar AECODEC_MODELS = [\n");
        let mut model_chars = 0;
        for (i, (pm, m)) in self.models.iter().enumerate() {
            model_chars += model_js(&mut s, pm, m);
            s.push_str(if i + 1 < self.models.len() {
                ",\n"
            } else {
                "\n"
            });
        }
        s.push_str("];\n");
        (s, model_chars)
    }

    /// The size of [`Codec::js`]'s file.
    pub fn size(&self) -> SizeReport {
        let (js, model_chars) = self.render();
        SizeReport {
            chars: js.len(),
            model_chars,
            decoder_macs: self
                .models
                .iter()
                .map(|(_, m)| m.decoder_macs())
                .max()
                .unwrap_or(0),
        }
    }

    /// What the codec returns for an uplink, computed by the core: the decoded window of
    /// the first model (on this port, or on any port) that accepts the payload, or every
    /// such model's reason for refusing it.
    pub fn decode(&self, fport: u8, bytes: &[u8]) -> Uplink {
        let candidates: Vec<_> = self
            .models
            .iter()
            .filter(|(pm, _)| pm.fport.is_none_or(|p| p == fport))
            .collect();
        if candidates.is_empty() {
            let ports: Vec<String> = self
                .models
                .iter()
                .filter_map(|(pm, _)| pm.fport.map(|p| p.to_string()))
                .collect();
            return Uplink::Errors(vec![format!(
                "fPort {fport} carries no aecodec model (models on fPort {})",
                ports.join(", ")
            )]);
        }
        let mut reasons = Vec::new();
        for (pm, m) in candidates {
            let mut out = vec![0f32; m.input_dim()];
            let decoded = CoreCodec::<SCRATCH>::new(m)
                .map(Box::new)
                .and_then(|mut c| c.decode(bytes, &mut out));
            match decoded {
                Ok(info) => {
                    let n = pm.channels.len();
                    let window = pm
                        .channels
                        .iter()
                        .enumerate()
                        .map(|(c, name)| {
                            (
                                name.clone(),
                                out.iter().skip(c).step_by(n).copied().collect(),
                            )
                        })
                        .collect();
                    return Uplink::Data {
                        model: m.payload_fingerprint(),
                        sequence: info.sequence,
                        label: info.label,
                        window,
                        sample_period_ms: pm.sample_rate_hz.map(|hz| 1000.0 / hz),
                    };
                }
                Err(e) => reasons.push(format!("model {:08x}: {e}", m.payload_fingerprint())),
            }
        }
        Uplink::Errors(reasons)
    }

    /// Examples from windows (samples and label): the core encodes window *k* with model
    /// `index` and sequence *k*, sent on its FPort (1 for a model on any port), and each
    /// output is what [`Codec::decode`] gives.
    pub fn examples(&self, index: usize, windows: &[Window]) -> Result<Vec<Example>, Error> {
        let (pm, m) = self
            .models
            .get(index)
            .ok_or_else(|| bad(format!("no model {}", index + 1)))?;
        let mut codec = Box::new(CoreCodec::<SCRATCH>::new(m)?);
        let fport = pm.fport.unwrap_or(1);
        let mut out = Vec::with_capacity(windows.len());
        for (k, (window, label)) in windows.iter().enumerate() {
            let meta = Meta {
                sequence: k as u16,
                label: *label,
            };
            let bytes = codec.encode(window, meta)?.as_bytes().to_vec();
            out.push(Example {
                description: format!(
                    "held-out window {} of model {:08x} (sequence {k})",
                    k + 1,
                    m.payload_fingerprint()
                ),
                output: self.decode(fport, &bytes),
                fport,
                bytes,
            });
        }
        Ok(out)
    }

    /// The codec definition for `js_file` (see [`codec_yaml`]) with the examples of
    /// `windows[i]` for model *i*, then the refusals of the first example, and how many
    /// examples it holds.
    pub fn definition(
        &self,
        js_file: &str,
        windows: &[&[Window]],
    ) -> Result<(String, usize), Error> {
        let mut examples = Vec::new();
        for (i, w) in windows.iter().enumerate() {
            examples.extend(self.examples(i, w)?);
        }
        if let Some(first) = examples.first().cloned() {
            examples.extend(self.error_examples(0, &first));
        }
        Ok((codec_yaml(js_file, &examples), examples.len()))
    }

    /// Examples that show what is refused, from a valid payload of model `index`: the
    /// payload one byte short, and (if the model has tag bits) with another model tag.
    pub fn error_examples(&self, index: usize, valid: &Example) -> Vec<Example> {
        let mut out = Vec::new();
        let mut short = valid.bytes.clone();
        short.pop();
        if !short.is_empty() {
            out.push(Example {
                description: "a payload one byte short: refused".into(),
                fport: valid.fport,
                output: self.decode(valid.fport, &short),
                bytes: short,
            });
        }
        if let Some((_, m)) = self.models.get(index) {
            if m.payload_layout().fingerprint_bits > 0 {
                let mut foreign = valid.bytes.clone();
                if let Some(b) = foreign.first_mut() {
                    *b ^= 0x80; // the tag's first bit
                }
                out.push(Example {
                    description: "a payload of another model (other model tag): refused".into(),
                    fport: valid.fport,
                    output: self.decode(valid.fport, &foreign),
                    bytes: foreign,
                });
            }
        }
        out
    }
}

/// The tag a model's payloads carry.
fn tag(m: &Model<'_>) -> u16 {
    m.payload_layout().fingerprint_tag(m.payload_fingerprint())
}

/// RFC 4648 base64, with padding.
fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for c in bytes.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(c.get(1).copied().unwrap_or(0)) << 8)
            | u32::from(c.get(2).copied().unwrap_or(0));
        for k in 0..4 {
            if k <= c.len() {
                s.push(char::from(A[((n >> (18 - 6 * k)) & 63) as usize]));
            } else {
                s.push('=');
            }
        }
    }
    s
}

/// A string as a JavaScript (and YAML, and JSON) double-quoted literal, ASCII only.
pub(crate) fn quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            ' '..='~' => out.push(ch),
            _ => {
                let mut units = [0u16; 2];
                for u in ch.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{u:04x}");
                }
            }
        }
    }
    out.push('"');
    out
}

/// `s` for a `//` comment: printable ASCII as it is, everything else as `\uXXXX`, so no
/// character of a user's name (a line or paragraph separator above all) can end the
/// comment and turn the rest into code.
fn comment_text(s: &str) -> String {
    // The string literal's escapes, without its quotes.
    let q = quoted(s);
    q.get(1..q.len() - 1).unwrap_or_default().to_owned()
}

/// An f32 as a JavaScript number literal that reads back as exactly that value.
fn number(v: f32) -> String {
    // f64's shortest form: exact for every f32, parsed to the same double everywhere.
    format!("{}", f64::from(v))
}

/// Writes one model's object; returns the characters of its base64 fields.
fn model_js(s: &mut String, pm: &PortModel<'_>, m: &Model<'_>) -> usize {
    let mut b64 = 0;
    let mut base64 = |bytes: &[u8]| {
        let t = base64(bytes);
        b64 += t.len();
        t
    };
    let spec = m.spec();
    let layout = m.payload_layout();
    let d = &spec.decoder;
    let names: Vec<String> = pm.channels.iter().map(|c| quoted(c)).collect();
    let precision = m.precision();
    let _ = writeln!(
        s,
        "{{\n  fPort: {}, fingerprint: \"{:08x}\", tag: {}, tagBits: {}, sequenceBits: {}, labelBits: {}, labels: {}, modeBits: {},\n  \
         payloadBytes: {}, inputDim: {}, channels: [{}], sampleRateHz: {}, precision: \"{precision}\",",
        pm.fport.map_or("null".into(), |p| p.to_string()),
        m.payload_fingerprint(),
        tag(m),
        layout.fingerprint_bits,
        layout.sequence_bits,
        layout.label_bits,
        m.label_count(),
        layout.mode_bits,
        layout.bytes,
        m.input_dim(),
        names.join(", "),
        pm.sample_rate_hz.map_or("null".into(), |r| format!("{r}")),
    );
    if precision == Precision::Int8Full {
        let _ = writeln!(
            s,
            "  inScale: {}, inZero: {}, outScale: {}, outZero: {},",
            number(d.boundary.in_scale),
            d.boundary.in_zero,
            number(d.boundary.out_scale),
            d.boundary.out_zero,
        );
    }
    let bits: Vec<String> = spec
        .quantizer
        .bits()
        .iter()
        .map(|b| b.to_string())
        .collect();
    match spec.quantizer {
        LatentQuantizer::Uniform { mean, lo, hi, .. }
        | LatentQuantizer::Switched { mean, lo, hi, .. } => {
            // A switched quantizer's `bits` are every mode's widths, mode after mode.
            let kind = match spec.quantizer.modes() {
                1 => "kind: \"uniform\"".to_string(),
                m => format!("kind: \"switched\", modes: {m}"),
            };
            let _ = writeln!(
                s,
                "  quantizer: {{ {kind}, bits: [{}], mean: \"{}\", lo: \"{}\", hi: \"{}\" }},",
                bits.join(", "),
                base64(mean),
                base64(lo),
                base64(hi)
            );
        }
        LatentQuantizer::Table { mean, tables, .. } => {
            let _ = writeln!(
                s,
                "  quantizer: {{ kind: \"table\", bits: [{}], mean: \"{}\", tables: \"{}\" }},",
                bits.join(", "),
                base64(mean),
                base64(tables)
            );
        }
    }
    if let Some(level) = &spec.level {
        let list = |v: &[u8]| {
            v.iter()
                .map(|b| b.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = writeln!(
            s,
            "  level: {{ bits: [{}], codeBits: [{}], step: \"{}\" }},",
            list(level.bits),
            list(level.code_bits),
            base64(level.step)
        );
    }
    let _ = writeln!(s, "  normMean: \"{}\",", base64(spec.norm_mean));
    let _ = writeln!(s, "  normStd: \"{}\",", base64(spec.norm_std));
    s.push_str("  layers: [\n");
    for (i, l) in d.layers.iter().enumerate() {
        let (n_in, n_out) = (usize::from(l.in_dim), usize::from(l.out_dim));
        let conv = l.conv.map_or("null".into(), |c| {
            format!(
                "{{ transposed: {}, samples: {}, channels: {}, kernel: {}, stride: {} }}",
                c.transposed, c.samples, c.channels, c.kernel, c.stride
            )
        });
        let comma = if i + 1 < d.layers.len() { "," } else { "" };
        if precision != Precision::Int8Full {
            // Row-major weights as the blob holds them: f32, or int8 as offset-binary.
            let weights: Vec<u8> = match precision {
                Precision::Int8Weights => l.weights.iter().map(|w| w ^ 0x80).collect(),
                _ => l.weights.to_vec(),
            };
            let (act, alpha) = match l.activation {
                Activation::Identity => ("identity", 0.0),
                Activation::Relu => ("relu", 0.0),
                Activation::LeakyRelu(a) => ("leaky_relu", a),
                Activation::Tanh => ("tanh", 0.0),
                Activation::Sigmoid => ("sigmoid", 0.0),
            };
            let _ = writeln!(
                s,
                "    {{ inDim: {n_in}, outDim: {n_out}, positions: {}, conv: {conv}, act: \"{act}\", alpha: {},\n      \
                 weights: \"{}\",\n      scales: \"{}\", bias: \"{}\" }}{comma}",
                l.positions(),
                number(alpha),
                base64(&weights),
                base64(l.scales),
                base64(l.bias),
            );
            continue;
        }
        // Row-major offset-binary bytes: the blob's blocked order is for the MCU kernels;
        // integer sums are the same in any order.
        let mut rows = Vec::with_capacity(n_in * n_out);
        for o in 0..n_out {
            for k in 0..n_in {
                rows.push(
                    l.weights
                        .get(int8_weight_offset(n_in, n_out, o, k))
                        .copied()
                        .unwrap_or(128),
                );
            }
        }
        let _ = writeln!(
            s,
            "    {{ inDim: {n_in}, outDim: {n_out}, positions: {}, conv: {conv}, relu: {}, outZero: {},\n      \
             weights: \"{}\",\n      bias: \"{}\", mult: \"{}\", shifts: \"{}\", lut: \"{}\" }}{comma}",
            l.positions(),
            matches!(l.activation, Activation::Relu),
            l.out_zero,
            base64(&rows),
            base64(l.bias),
            base64(l.scales),
            base64(l.shifts),
            base64(l.lut),
        );
    }
    s.push_str("  ]\n}");
    b64
}

/// The codec definition (Device Repository form: `uplinkDecoder` with its file name and
/// examples), as YAML.
pub fn codec_yaml(js_file: &str, examples: &[Example]) -> String {
    let mut s = String::from(
        "# aecodec LoRaWAN payload codec definition. Generated by `aecodec export --format lorawan-js`;\n\
         # every example's output is what aecodec-core decodes from its bytes.\n\
         uplinkDecoder:\n",
    );
    let _ = writeln!(s, "  fileName: {}", quoted(js_file));
    s.push_str("  examples:\n");
    for e in examples {
        let bytes: Vec<String> = e.bytes.iter().map(|b| b.to_string()).collect();
        let _ = writeln!(s, "    - description: {}", quoted(&e.description));
        let _ = writeln!(
            s,
            "      input:\n        fPort: {}\n        bytes: [{}]\n      output:",
            e.fport,
            bytes.join(", ")
        );
        match &e.output {
            Uplink::Data {
                model,
                sequence,
                label,
                window,
                sample_period_ms,
            } => {
                let _ = writeln!(s, "        data:\n          model: \"{model:08x}\"");
                if let Some(q) = sequence {
                    let _ = writeln!(s, "          sequence: {q}");
                }
                if let Some(l) = label {
                    let _ = writeln!(s, "          label: {l}");
                }
                s.push_str("          window:\n");
                for (name, values) in window {
                    let v: Vec<String> = values.iter().map(|&x| yaml_f32(x)).collect();
                    let _ = writeln!(s, "            {}: [{}]", quoted(name), v.join(", "));
                }
                if let Some(period) = sample_period_ms {
                    // As the codec computes them: sample i at i · period (f64).
                    let samples = window.first().map_or(0, |(_, v)| v.len());
                    let times: Vec<String> = (0..samples)
                        .map(|i| format!("{}", i as f64 * period))
                        .collect();
                    let _ = writeln!(s, "          samplePeriodMs: {period}");
                    let _ = writeln!(s, "          timesMs: [{}]", times.join(", "));
                }
            }
            Uplink::Errors(errors) => {
                s.push_str("        errors:\n");
                for e in errors {
                    let _ = writeln!(s, "          - {}", quoted(e));
                }
            }
        }
    }
    s
}

/// An f32 as the core prints it (the shortest decimal that reads back as it), in YAML.
fn yaml_f32(v: f32) -> String {
    if v.is_nan() {
        ".nan".into()
    } else if v.is_infinite() {
        if v > 0.0 { ".inf" } else { "-.inf" }.into()
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chirpstack_estimate_passes_through_the_two_measured_codecs() {
        let at = |decoder_macs| {
            SizeReport {
                chars: 0,
                model_chars: 0,
                decoder_macs,
            }
            .chirpstack_ms()
        };
        assert!((at(14_016) - 8.67).abs() < 0.05, "{}", at(14_016));
        assert!((at(339_968) - 98.96).abs() < 0.05, "{}", at(339_968));
    }

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        for (raw, enc) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(raw.as_bytes()), enc);
        }
    }

    #[test]
    fn quoted_strings_are_ascii_with_escapes() {
        assert_eq!(quoted("a\"b\\c"), "\"a\\\"b\\\\c\"");
        assert_eq!(quoted("x\ny"), "\"x\\u000ay\"");
        assert_eq!(quoted("µ€😀"), "\"\\u00b5\\u20ac\\ud83d\\ude00\"");
    }

    #[test]
    fn comments_hold_no_line_terminator_of_any_kind() {
        for name in ["x\ny", "x\ry", "x\u{2028}y", "x\u{2029}y", "x\u{85}y"] {
            let c = comment_text(name);
            assert!(c.chars().all(|ch| (' '..='~').contains(&ch)), "{c:?}");
        }
        assert_eq!(comment_text("ankle_vert, fwd"), "ankle_vert, fwd");
    }

    #[test]
    fn numbers_read_back_exactly() {
        for v in [0.1f32, -3.4028235e38, 1.0e-45, 1036.42, -0.0] {
            let back: f64 = number(v).parse().unwrap_or(f64::NAN);
            assert_eq!(back.to_bits(), f64::from(v).to_bits());
        }
    }
}
