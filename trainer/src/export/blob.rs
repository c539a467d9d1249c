//! Export of a float model into the core's blob format, for each precision, and the
//! measurement of each precision's error against f32 through the core itself.

use aecodec_core::model::int8_weight_offset;
use aecodec_core::{
    write_blob, Codec, DenseBytes, HalfSpec, IntBoundary, LatentQuantizer, LevelSpec, Meta, Model,
    ModelSpec, Precision, Signal, Source, MAX_WIDTH,
};

use crate::data::Window;
use crate::float::{activate, FloatLayer, FloatModel, FloatQuantizer};
use crate::Error;

fn le_f32(v: impl IntoIterator<Item = f32>) -> Vec<u8> {
    v.into_iter().flat_map(f32::to_le_bytes).collect()
}

fn le_i32(v: impl IntoIterator<Item = i32>) -> Vec<u8> {
    v.into_iter().flat_map(i32::to_le_bytes).collect()
}

/// Affine int8 quantization `x ≈ (q - zero) · scale`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct QParams {
    scale: f64,
    zero: i8,
}

impl QParams {
    /// Covers `[min, max]` (widened to contain 0, so 0 is exact).
    fn from_range(min: f64, max: f64) -> QParams {
        let (lo, hi) = (min.min(0.0), max.max(0.0));
        let scale = ((hi - lo) / 255.0).max(1e-8);
        let zero = (-128.0 - lo / scale).round().clamp(-128.0, 127.0) as i8;
        QParams { scale, zero }
    }

    fn quantize(&self, x: f64) -> i8 {
        ((x / self.scale).round() + f64::from(self.zero)).clamp(-128.0, 127.0) as i8
    }

    fn dequantize(&self, q: i8) -> f64 {
        (f64::from(q) - f64::from(self.zero)) * self.scale
    }
}

/// `M ≈ m / 2^shift` with `m` in [2^30, 2^31) where possible, `shift` in 1..=62.
fn fixed_point(multiplier: f64) -> (i32, u8) {
    let mut shift = 1u8;
    while multiplier * 2f64.powi(i32::from(shift)) < f64::from(1u32 << 30) && shift < 62 {
        shift += 1;
    }
    let m = (multiplier * 2f64.powi(i32::from(shift)))
        .round()
        .clamp(0.0, f64::from(i32::MAX));
    (m as i32, shift)
}

/// Per-output symmetric int8 weights: (codes, scales).
fn quantize_rows(l: &FloatLayer) -> (Vec<u8>, Vec<f64>) {
    let mut codes = Vec::with_capacity(l.weights.len());
    let mut scales = Vec::with_capacity(l.out_dim);
    for row in l.weights.chunks_exact(l.in_dim) {
        let max = row.iter().fold(0.0f64, |m, &w| m.max(f64::from(w).abs()));
        let s = if max > 0.0 { max / 127.0 } else { 1.0 };
        codes.extend(
            row.iter()
                .map(|&w| (f64::from(w) / s).round().clamp(-127.0, 127.0) as i8 as u8),
        );
        scales.push(s);
    }
    (codes, scales)
}

/// The core's refusal of a blob the exporter wrote.
fn refused(e: aecodec_core::Error) -> Error {
    Error::InvalidModel(format!("the core refused the exported blob: {e}"))
}

fn dims(l: &FloatLayer) -> Result<(u16, u16), Error> {
    let cast = |v: usize| {
        u16::try_from(v)
            .map_err(|_| Error::InvalidModel(format!("layer width {v} over {}", u16::MAX)))
    };
    Ok((cast(l.in_dim)?, cast(l.out_dim)?))
}

fn float_layer(l: &FloatLayer, precision: Precision) -> Result<DenseBytes, Error> {
    let (in_dim, out_dim) = dims(l)?;
    let (weights, scales) = match precision {
        Precision::Int8Weights => {
            let (codes, scales) = quantize_rows(l);
            (codes, le_f32(scales.into_iter().map(|s| s as f32)))
        }
        _ => (le_f32(l.weights.iter().copied()), Vec::new()),
    };
    Ok(DenseBytes {
        in_dim,
        out_dim,
        activation: l.activation,
        conv: l.conv,
        weights,
        bias: le_f32(l.bias.iter().copied()),
        scales,
        shifts: Vec::new(),
        out_zero: 0,
        lut: Vec::new(),
    })
}

/// Observed min/max of a set of vectors, elementwise pooled.
fn range(vectors: &[Vec<f64>]) -> (f64, f64) {
    vectors
        .iter()
        .flatten()
        .fold((f64::MAX, f64::MIN), |(a, b), &x| (a.min(x), b.max(x)))
}

/// How a full-integer half takes its input.
enum Entry {
    /// The encoder: symmetric, on as many bits (up to 16) as its first layer's int32
    /// sums allow (`in_dim · 2^bits <= 2^24`, the core's rule).
    Wide,
    /// The decoder: int8 over the calibration range widened by this one (it must accept
    /// every code of the latent quantizer).
    Int8((f64, f64)),
}

/// Calibrates and quantizes one full-integer half from `inputs` (its f64 input vectors).
fn int_half(
    layers: &[FloatLayer],
    inputs: &[Vec<f64>],
    entry: Entry,
) -> Result<(IntBoundary, Vec<DenseBytes>), Error> {
    let (lo, hi) = range(inputs);
    let (entry, in_bits) = match entry {
        Entry::Wide => {
            let first = layers.first().map_or(Ok((1, 1)), dims)?;
            let bits = aecodec_core::model::max_input_bits(first.0);
            let top = f64::from((1u32 << (bits - 1)) - 1);
            let scale = (lo.abs().max(hi.abs()) / top).max(1e-12);
            (QParams { scale, zero: 0 }, bits)
        }
        Entry::Int8((a, b)) => (QParams::from_range(lo.min(a), hi.max(b)), 8),
    };
    let mut x_q = entry;
    let mut acts: Vec<Vec<f64>> = inputs.to_vec();
    let mut out = Vec::new();
    for l in layers {
        let (in_dim, out_dim) = dims(l)?;
        // Ranges come from each position's outputs: a transposed convolution quantizes
        // them before they are overlap-added (in f32).
        let pre: Vec<Vec<f64>> = acts.iter().map(|x| l.position_outputs(x)).collect();
        let post: Vec<Vec<f64>> = pre
            .iter()
            .map(|p| p.iter().map(|&v| activate(l.activation, v)).collect())
            .collect();
        let (plo, phi) = range(&pre);
        let pre_q = QParams::from_range(plo, phi);
        let (codes, w_scales) = quantize_rows(l);
        let mut bias = Vec::with_capacity(l.out_dim);
        let mut mults = Vec::with_capacity(l.out_dim);
        let mut shifts = Vec::with_capacity(l.out_dim);
        for ((row, &b), &sw) in codes.chunks_exact(l.in_dim).zip(&l.bias).zip(&w_scales) {
            let row_sum: i64 = row.iter().map(|&w| i64::from(w as i8)).sum();
            // Saturating: a bias far beyond the layer's range is clamped below anyway.
            let folded = ((f64::from(b) / (sw * x_q.scale)).round() as i64)
                .saturating_sub(i64::from(x_q.zero) * row_sum);
            let limit = i64::from(aecodec_core::model::MAX_INT_BIAS);
            bias.push(folded.clamp(-limit, limit) as i32);
            let (m, sh) = fixed_point(sw * x_q.scale / pre_q.scale);
            mults.push(m);
            shifts.push(sh);
        }
        let (lut, next_q) = if matches!(l.activation, aecodec_core::Activation::Identity) {
            (Vec::new(), pre_q)
        } else {
            let (olo, ohi) = range(&post);
            let out_q = QParams::from_range(olo, ohi);
            let lut = (0..=255u8)
                .map(|i| out_q.quantize(activate(l.activation, pre_q.dequantize(i as i8))) as u8)
                .collect();
            (lut, out_q)
        };
        let mut blocked = vec![0u8; codes.len()];
        for (r, row) in codes.chunks_exact(l.in_dim).enumerate() {
            for (c, &w) in row.iter().enumerate() {
                // Offset-binary: the stored byte is w + 128.
                blocked[int8_weight_offset(l.in_dim, l.out_dim, r, c)] = w ^ 0x80;
            }
        }
        out.push(DenseBytes {
            in_dim,
            out_dim,
            activation: l.activation,
            conv: l.conv,
            weights: blocked,
            bias: le_i32(bias),
            scales: le_i32(mults),
            shifts,
            out_zero: pre_q.zero,
            lut,
        });
        x_q = next_q;
        acts = post;
    }
    let boundary = IntBoundary {
        in_scale: entry.scale as f32,
        in_zero: entry.zero,
        in_bits,
        out_scale: x_q.scale as f32,
        out_zero: x_q.zero,
    };
    Ok((boundary, out))
}

fn to_half(boundary: IntBoundary, layers: &[DenseBytes]) -> Result<HalfSpec<'_>, Error> {
    let mut v = heapless::Vec::new();
    for l in layers {
        v.push(l.spec()).map_err(|_| {
            Error::InvalidModel(format!(
                "more than {} layers in a half",
                aecodec_core::MAX_LAYERS
            ))
        })?;
    }
    Ok(HalfSpec {
        boundary,
        layers: v,
    })
}

/// The encoder-only device blob of a full blob: the same model without the decoder's
/// weights, whose payloads carry the full blob's fingerprint (so the full blob decodes
/// them). What a device that only encodes needs in flash.
pub fn encoder_only_blob(full: &[u8]) -> Result<Vec<u8>, Error> {
    device_blob(full, full)
}

/// The encoder-only device blob of `encoder`'s encoder half whose payloads carry the
/// fingerprint of `receiver`, a full blob of the same trained model at another precision:
/// a device runs the full-integer encoder, and the receiver decodes its codes with the f32
/// decoder, which the device's precision does not limit. The two blobs must agree on
/// everything a payload's meaning depends on (input, labels, normalization, latent
/// quantizer, header); exports of one `.aect` file do.
pub fn device_blob(encoder: &[u8], receiver: &[u8]) -> Result<Vec<u8>, Error> {
    let model = aecodec_core::Model::from_bytes(encoder)?;
    let target = aecodec_core::Model::from_bytes(receiver)?;
    if model.is_encoder_only() || target.is_encoder_only() {
        return Err(Error::InvalidArgument(
            "an encoder-only device blob is cut from full blobs, not from another device blob"
                .into(),
        ));
    }
    let (a, b) = (model.spec(), target.spec());
    let differs = [
        ("input", a.input_dim != b.input_dim),
        ("labels", a.label_count != b.label_count),
        (
            "normalization",
            a.norm_mean != b.norm_mean || a.norm_std != b.norm_std,
        ),
        ("latent quantizer", a.quantizer != b.quantizer),
        ("payload header", a.header != b.header),
        ("signal", a.signal != b.signal),
        ("level spec", a.level != b.level),
    ];
    if let Some((what, _)) = differs.iter().find(|(_, d)| *d) {
        return Err(Error::InvalidArgument(format!(
            "the receiver's blob has another {what}: the two blobs are not exports of the same trained model"
        )));
    }
    let mut spec = a.clone();
    spec.decoder.layers.clear();
    spec.encoder_of = Some(target.fingerprint());
    let mut buf = vec![0u8; encoder.len()];
    let n = write_blob(&spec, &mut buf)?;
    buf.truncate(n);
    aecodec_core::Model::from_bytes(&buf).map_err(refused)?;
    Ok(buf)
}

/// Exports `model` at `precision` into a blob the core has validated.
///
/// `calibration` holds windows (raw sensor units) with their labels; the full-integer
/// precision needs them to choose activation ranges.
pub fn export_blob(
    model: &FloatModel,
    precision: Precision,
    calibration: &[Window],
) -> Result<Vec<u8>, Error> {
    model.validate()?;
    let (enc_boundary, enc, dec_boundary, dec) = match precision {
        Precision::Int8Full => {
            if calibration.is_empty() {
                return Err(Error::NoCalibrationData);
            }
            let enc_in: Vec<Vec<f64>> = calibration
                .iter()
                .map(|(w, l)| model.encoder_input(w, *l))
                .collect();
            let (eb, enc) = int_half(&model.encoder, &enc_in, Entry::Wide)?;
            let dec_in: Vec<Vec<f64>> = calibration
                .iter()
                .map(|(w, l)| model.decoder_input(&model.encode_latent(w, *l), *l))
                .collect();
            let (qlo, qhi) = model.quantizer.value_range();
            let (db, dec) = int_half(
                &model.decoder,
                &dec_in,
                Entry::Int8((f64::from(qlo), f64::from(qhi))),
            )?;
            (eb, enc, db, dec)
        }
        p => {
            let half = |layers: &[FloatLayer]| {
                layers
                    .iter()
                    .map(|l| float_layer(l, p))
                    .collect::<Result<Vec<_>, _>>()
            };
            (
                IntBoundary::UNUSED,
                half(&model.encoder)?,
                IntBoundary::UNUSED,
                half(&model.decoder)?,
            )
        }
    };
    let norm_mean = le_f32(model.norm_mean.iter().copied());
    let norm_std = le_f32(model.norm_std.iter().copied());
    let bits = model.quantizer.bits().to_vec();
    let (mean, lo, hi, tables) = match &model.quantizer {
        FloatQuantizer::Uniform { mean, lo, hi, .. }
        | FloatQuantizer::Switched { mean, lo, hi, .. } => (
            le_f32(mean.iter().copied()),
            le_f32(lo.iter().copied()),
            le_f32(hi.iter().copied()),
            Vec::new(),
        ),
        q @ FloatQuantizer::Gaussian { mean, .. } => (
            le_f32(mean.iter().copied()),
            Vec::new(),
            Vec::new(),
            le_f32(q.tables()),
        ),
    };
    let quantizer = match model.quantizer {
        FloatQuantizer::Uniform { .. } => LatentQuantizer::Uniform {
            bits: &bits,
            mean: &mean,
            lo: &lo,
            hi: &hi,
        },
        FloatQuantizer::Switched { modes, .. } => LatentQuantizer::Switched {
            modes: u8::try_from(modes)
                .map_err(|_| Error::InvalidModel(format!("{modes} quantizer modes")))?,
            bits: &bits,
            mean: &mean,
            lo: &lo,
            hi: &hi,
        },
        FloatQuantizer::Gaussian { .. } => LatentQuantizer::Table {
            bits: &bits,
            mean: &mean,
            tables: &tables,
        },
    };
    let names = model.signal.joined_names();
    let level_bytes = model.level.as_ref().map(|l| {
        [&l.inner_lo, &l.inner_hi, &l.fit_lo, &l.fit_hi, &l.step].map(|v| le_f32(v.iter().copied()))
    });
    let spec = ModelSpec {
        precision,
        input_dim: u16::try_from(model.input_dim)
            .map_err(|_| Error::InvalidModel("input_dim over 65535".into()))?,
        label_count: model.label_count,
        norm_mean: &norm_mean,
        norm_std: &norm_std,
        encoder: to_half(enc_boundary, &enc)?,
        decoder: to_half(dec_boundary, &dec)?,
        quantizer,
        header: model.header,
        encoder_of: None,
        signal: Signal {
            channels: u16::try_from(model.signal.channels)
                .map_err(|_| Error::InvalidModel("signal.channels over 65535".into()))?,
            sample_rate_hz: model.signal.sample_rate_hz,
            names: names.as_bytes(),
            source: if model.signal.rows {
                Source::Rows
            } else {
                Source::Series
            },
        },
        level: model.level.as_ref().zip(level_bytes.as_ref()).map(
            |(l, [inner_lo, inner_hi, fit_lo, fit_hi, step])| LevelSpec {
                inner_lo,
                inner_hi,
                fit_lo,
                fit_hi,
                bits: &l.bits,
                step,
                code_bits: &l.code_bits,
            },
        ),
    };
    let needed = match write_blob(&spec, &mut []) {
        Err(aecodec_core::Error::BufferTooSmall { needed, .. }) => needed,
        Err(e) => return Err(e.into()),
        Ok(n) => n,
    };
    let mut blob = vec![0u8; needed];
    let n = write_blob(&spec, &mut blob)?;
    blob.truncate(n);
    Model::from_bytes(&blob).map_err(refused)?;
    Ok(blob)
}

/// The names of a model's channels, as receivers label decoded samples
/// ([`Model::channel_name`]: those the model records, else `value` for a single channel
/// and `ch0`, `ch1`, … for several).
pub fn channel_names(model: &Model<'_>) -> Vec<String> {
    (0..model.channels())
        .filter_map(|c| model.channel_name(c))
        .map(|n| n.to_string())
        .collect()
}

/// Error of one precision, measured through the core on a set of windows.
#[derive(Debug, Clone, PartialEq)]
pub struct PrecisionReport {
    /// Precision measured.
    pub precision: Precision,
    /// Blob size in bytes.
    pub blob_bytes: usize,
    /// RMSE of the core's latent against the trainer's f64 latent (latent units).
    pub latent_rmse: f64,
    /// RMSE of the decoded windows against the f32 blob's decoded windows (sensor units).
    pub rmse_vs_f32: f64,
    /// RMSE of the decoded windows against the original windows (sensor units).
    pub rmse_vs_input: f64,
    /// Share of payloads whose bits after the fingerprint (sequence, label, codes) are
    /// identical to the f32 blob's (each blob has its own fingerprint).
    pub payload_agreement: f64,
}

/// True if `a` and `b` have the same length and agree from bit `skip` (MSB first) on.
fn same_bits_after(a: &[u8], b: &[u8], skip: usize) -> bool {
    let bit = |p: &[u8], i: usize| (p[i / 8] >> (7 - i % 8)) & 1;
    a.len() == b.len() && (skip..a.len() * 8).all(|i| bit(a, i) == bit(b, i))
}

fn rmse(sq_sum: f64, n: usize) -> f64 {
    if n == 0 {
        0.0
    } else {
        (sq_sum / n as f64).sqrt()
    }
}

/// Runs `blob` and the model's f32 blob through the core on `windows` and compares.
pub fn measure_precision(
    model: &FloatModel,
    blob: &[u8],
    f32_blob: &[u8],
    windows: &[Window],
) -> Result<PrecisionReport, Error> {
    let m = Model::from_bytes(blob)?;
    let reference = Model::from_bytes(f32_blob)?;
    let mut codec = Box::new(Codec::<MAX_WIDTH>::new(&m)?);
    let mut ref_codec = Box::new(Codec::<MAX_WIDTH>::new(&reference)?);
    let (n, k) = (m.input_dim(), m.latent_dim());
    let (mut z, mut out, mut ref_out) = (vec![0.0f32; k], vec![0.0f32; n], vec![0.0f32; n]);
    let (mut lat_sq, mut vs_f32_sq, mut vs_in_sq, mut same) = (0.0, 0.0, 0.0, 0usize);
    for (i, (w, label)) in windows.iter().enumerate() {
        let meta = Meta {
            sequence: i as u16,
            label: *label,
        };
        codec.latent(w, *label, &mut z)?;
        let z_ref = model.encode_latent(w, *label);
        lat_sq += z
            .iter()
            .zip(&z_ref)
            .map(|(&a, &b)| (f64::from(a) - b).powi(2))
            .sum::<f64>();
        let p = codec.encode(w, meta)?;
        let p_ref = ref_codec.encode(w, meta)?;
        let skip = usize::from(m.payload_layout().fingerprint_bits);
        same += usize::from(same_bits_after(p.as_bytes(), p_ref.as_bytes(), skip));
        codec.decode(p.as_bytes(), &mut out)?;
        ref_codec.decode(p_ref.as_bytes(), &mut ref_out)?;
        for ((&o, &r), &x) in out.iter().zip(&ref_out).zip(w) {
            vs_f32_sq += (f64::from(o) - f64::from(r)).powi(2);
            vs_in_sq += (f64::from(o) - f64::from(x)).powi(2);
        }
    }
    Ok(PrecisionReport {
        precision: m.precision(),
        blob_bytes: blob.len(),
        latent_rmse: rmse(lat_sq, windows.len() * k),
        rmse_vs_f32: rmse(vs_f32_sq, windows.len() * n),
        rmse_vs_input: rmse(vs_in_sq, windows.len() * n),
        payload_agreement: if windows.is_empty() {
            1.0
        } else {
            same as f64 / windows.len() as f64
        },
    })
}

/// Encodes and decodes every window through the core with `blob`, the encoder refining
/// each window's codes for `refine` passes ([`Codec::encode_refined`]; 0 is the plain
/// encoder); returns the decoded windows (what a receiver reconstructs).
///
/// Refinement fits the codes to the window the encoder is given: right for compression,
/// wrong for denoising or anomaly scores, which want the network's own mapping (0).
pub fn round_trip(blob: &[u8], windows: &[Window], refine: u8) -> Result<Vec<Vec<f32>>, Error> {
    send_receive(blob, blob, windows, refine)
}

/// Each window encoded with `device` (refining its codes for `refine` passes, which
/// needs a full blob), its payload decoded with `receiver`: a device blob from
/// [`device_blob`] and the full blob its payloads are tagged for, or one blob twice.
pub fn send_receive(
    device: &[u8],
    receiver: &[u8],
    windows: &[Window],
    refine: u8,
) -> Result<Vec<Vec<f32>>, Error> {
    let (dm, rm) = (Model::from_bytes(device)?, Model::from_bytes(receiver)?);
    // Windows are independent: they are shared out in contiguous chunks over the
    // machine's threads, each with its own codecs (the same bytes as one at a time).
    let run = |first: usize, chunk: &[Window]| -> Result<Vec<Vec<f32>>, Error> {
        let mut enc = Box::new(Codec::<MAX_WIDTH>::new(&dm)?);
        let mut dec = Box::new(Codec::<MAX_WIDTH>::new(&rm)?);
        chunk
            .iter()
            .enumerate()
            .map(|(i, (w, label))| {
                let meta = Meta {
                    sequence: (first + i) as u16,
                    label: *label,
                };
                let p = enc.encode_refined(w, meta, refine)?;
                let mut out = vec![0.0f32; rm.input_dim()];
                dec.decode(p.as_bytes(), &mut out)?;
                Ok(out)
            })
            .collect()
    };
    let mut out = Vec::with_capacity(windows.len());
    for part in crate::threads::map_chunks(windows, 64, run)? {
        out.extend(part?);
    }
    Ok(out)
}

/// Largest error of each precision against f32 that [`export_checked`] accepts by
/// default, as a fraction of the signal's RMS around its channel means.
pub fn default_tolerance(precision: Precision) -> f64 {
    match precision {
        Precision::F32 => 1e-4,
        Precision::Int8Weights => 0.10,
        Precision::Int8Full => 0.25,
    }
}

/// RMS of `windows` around each of `channels` interleaved channel means.
pub fn signal_rms(windows: &[Window], channels: usize) -> f64 {
    let ch = channels.max(1);
    let (mut sum, mut sq, mut n) = (vec![0.0f64; ch], vec![0.0f64; ch], vec![0usize; ch]);
    for (w, _) in windows {
        for (i, &v) in w.iter().enumerate() {
            sum[i % ch] += f64::from(v);
            sq[i % ch] += f64::from(v).powi(2);
            n[i % ch] += 1;
        }
    }
    let total: usize = n.iter().sum();
    let var: f64 = (0..ch)
        .map(|c| sq[c] - sum[c].powi(2) / n[c].max(1) as f64)
        .sum::<f64>()
        / total.max(1) as f64;
    var.max(0.0).sqrt()
}

/// Exports `model` at `precision`, runs it through the core on `check` windows against
/// the f32 export, and refuses (`ToleranceExceeded`) if the decoded windows differ from
/// f32's by more than `tolerance` × the signal RMS. Nothing is returned for a refused
/// model, so nothing broken can be written.
pub fn export_checked(
    model: &FloatModel,
    precision: Precision,
    calibration: &[Window],
    check: &[Window],
    channels: usize,
    tolerance: f64,
) -> Result<(Vec<u8>, PrecisionReport), Error> {
    let blob = export_blob(model, precision, calibration)?;
    let f32_blob = export_blob(model, Precision::F32, calibration)?;
    let report = measure_precision(model, &blob, &f32_blob, check)?;
    let relative = report.rmse_vs_f32 / signal_rms(check, channels).max(f64::MIN_POSITIVE);
    if !relative.is_finite() || relative > tolerance {
        return Err(Error::ToleranceExceeded {
            precision,
            measured: relative,
            tolerance,
        });
    }
    Ok((blob, report))
}
