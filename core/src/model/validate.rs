//! The one-time validation of a parsed model: every length, width, offset and parameter
//! that inference reads is checked here, so that after [`Model::from_bytes`] every slice
//! access is in bounds and every integer sum fits its type.
//!
//! [`Model::from_bytes`]: super::Model::from_bytes

use super::{
    input_bits_fit, Activation, Conv, DenseSpec, HalfSpec, LatentQuantizer, LevelSpec, ModelSpec,
    Precision, Signal, MAX_INT_BIAS, MAX_SHIFT, MAX_TABLE_BITS, MAX_UNIFORM_BITS,
};
use crate::bytes::{f32s, i32s};
use crate::limits::{MAX_LEVEL_CHANNELS, MIN_ESCAPE_BITS};
use crate::{Error, Half, MAX_LABELS, MAX_LATENT, MAX_PAYLOAD_BYTES, MAX_WIDTH};

#[inline]
fn check_len(
    half: Half,
    layer: usize,
    field: &'static str,
    found: usize,
    expected: usize,
) -> Result<(), Error> {
    if found == expected {
        Ok(())
    } else {
        Err(Error::FieldLength {
            half,
            layer,
            field,
            expected,
            found,
        })
    }
}

#[inline]
fn check_model_len(field: &'static str, found: usize, expected: usize) -> Result<(), Error> {
    if found == expected {
        Ok(())
    } else {
        Err(Error::ModelFieldLength {
            field,
            expected,
            found,
        })
    }
}

#[inline]
fn all_finite(field: &'static str, bytes: &[u8]) -> Result<(), Error> {
    match f32s(bytes).position(|v| !v.is_finite()) {
        Some(index) => Err(Error::BadParameter { field, index }),
        None => Ok(()),
    }
}

#[inline]
fn limit(what: &'static str, value: usize, limit: usize) -> Result<(), Error> {
    if value > limit {
        Err(Error::LimitExceeded { what, value, limit })
    } else {
        Ok(())
    }
}

/// Checks everything; returns the widest layer dimension (scratch elements needed).
#[inline]
pub(super) fn validate(spec: &ModelSpec<'_>) -> Result<usize, Error> {
    let precision = spec.precision;
    if !precision.is_built() {
        return Err(Error::PrecisionNotBuilt {
            precision,
            feature: precision.feature(),
        });
    }
    let input_dim = usize::from(spec.input_dim);
    let labels = usize::from(spec.label_count);
    if input_dim == 0 {
        return Err(Error::BadParameter {
            field: "input_dim",
            index: 0,
        });
    }
    limit("input_dim", input_dim, MAX_WIDTH)?;
    limit("label_count", labels, MAX_LABELS)?;
    check_model_len("norm_mean", spec.norm_mean.len(), input_dim * 4)?;
    check_model_len("norm_std", spec.norm_std.len(), input_dim * 4)?;
    all_finite("norm_mean", spec.norm_mean)?;
    if let Some(index) = f32s(spec.norm_std).position(|s| !(s.is_finite() && s > 0.0)) {
        return Err(Error::BadParameter {
            field: "norm_std",
            index,
        });
    }

    let latent = validate_quantizer(&spec.quantizer)?;
    let h = spec.header;
    if h.fingerprint_bits > 16 || h.sequence_bits > 16 {
        return Err(Error::BadParameter {
            field: "header",
            index: 0,
        });
    }

    let enc_in = input_dim + labels;
    let dec_in = latent + labels;
    // One width limit for everything a half reads: a blob that validates fits the
    // scratch of a `Codec<MAX_WIDTH>`.
    limit("encoder input (window + labels)", enc_in, MAX_WIDTH)?;
    limit("decoder input (latent + labels)", dec_in, MAX_WIDTH)?;
    let mut widest = enc_in.max(dec_in);
    widest = widest.max(validate_half(
        Half::Encoder,
        &spec.encoder,
        spec.precision,
        enc_in,
        latent,
    )?);
    if spec.encoder_of.is_none() {
        widest = widest.max(validate_half(
            Half::Decoder,
            &spec.decoder,
            spec.precision,
            dec_in,
            input_dim,
        )?);
    } else if !spec.decoder.layers.is_empty() {
        // An encoder-only blob carries no decoder: one with layers is not a blob the
        // exporter makes.
        return Err(Error::BadParameter {
            field: "encoder_of",
            index: 0,
        });
    }
    // After the halves, so that a misshapen convolution is named as such.
    validate_signal(&spec.signal, input_dim, &spec.encoder, &spec.decoder)?;
    if let Some(level) = &spec.level {
        validate_level(level, &spec.quantizer, usize::from(spec.signal.channels))?;
    }
    Ok(widest)
}

/// A level spec has an inner and a fit range, a positive step and 1..=16 bits per
/// channel (of at most [`MAX_LEVEL_CHANNELS`]; every shift its codes reach finite), and
/// uniform widths for every mode of a uniform or switched quantizer, each of whose modes
/// has a dimension of 2 bits or more (its escape field).
#[inline]
fn validate_level(
    level: &LevelSpec<'_>,
    q: &LatentQuantizer<'_>,
    channels: usize,
) -> Result<(), Error> {
    limit("level channels", channels, MAX_LEVEL_CHANNELS)?;
    if matches!(q, LatentQuantizer::Table { .. }) {
        return Err(Error::BadParameter {
            field: "level",
            index: 0,
        });
    }
    for (field, v) in [
        ("level.inner_lo", level.inner_lo),
        ("level.inner_hi", level.inner_hi),
        ("level.fit_lo", level.fit_lo),
        ("level.fit_hi", level.fit_hi),
        ("level.step", level.step),
    ] {
        check_model_len(field, v.len(), channels * 4)?;
        all_finite(field, v)?;
    }
    check_model_len("level.bits", level.bits.len(), channels)?;
    if let Some(index) = level
        .bits
        .iter()
        .position(|&b| !(1..=MAX_UNIFORM_BITS).contains(&b))
    {
        return Err(Error::BadParameter {
            field: "level.bits",
            index,
        });
    }
    let ordered = |lo: &[u8], hi: &[u8]| {
        f32s(lo).zip(f32s(hi)).position(|(l, h)| {
            let span = h - l;
            !(span.is_finite() && span >= 0.0)
        })
    };
    // The farthest shift is 2^(bits − 1) steps.
    let reach = |(&b, s): (&u8, f32)| s * f32::from(1u16 << (b.max(1) - 1));
    if let Some(index) = f32s(level.step)
        .zip(level.bits.iter().zip(f32s(level.step)).map(reach))
        .position(|(s, far)| !(s > 0.0 && far.is_finite()))
    {
        return Err(Error::BadParameter {
            field: "level.step",
            index,
        });
    }
    if let Some(index) = ordered(level.inner_lo, level.inner_hi) {
        return Err(Error::BadParameter {
            field: "level.inner_hi",
            index,
        });
    }
    if let Some(index) = ordered(level.fit_lo, level.fit_hi) {
        return Err(Error::BadParameter {
            field: "level.fit_hi",
            index,
        });
    }
    // Every mode marks its payloads with levels in a field of 2 bits or more, so that
    // those without keep 3 codes or more there.
    if let Some(mode) = (0..q.modes()).find(|&m| {
        crate::wire::payload::escape_field(q.mode_bits(m)).is_none_or(|(_, b)| b < MIN_ESCAPE_BITS)
    }) {
        return Err(Error::BadParameter {
            field: "level.escape",
            index: mode,
        });
    }
    check_model_len("level.code_bits", level.code_bits.len(), q.bits().len())?;
    if let Some((i, &b)) = level
        .code_bits
        .iter()
        .enumerate()
        .find(|(_, &b)| b > MAX_UNIFORM_BITS)
    {
        return Err(Error::BitsOutOfRange {
            dim: i % q.dims().max(1),
            bits: b,
            max: MAX_UNIFORM_BITS,
        });
    }
    Ok(())
}

/// The signal's channels divide the window and are those of the convolutions on the
/// window side (the encoder's first layer, the decoder's last); its rate is a positive
/// number; its names are one per channel, each non-empty and free of control characters.
#[inline]
fn validate_signal(
    s: &Signal<'_>,
    input_dim: usize,
    encoder: &HalfSpec<'_>,
    decoder: &HalfSpec<'_>,
) -> Result<(), Error> {
    let bad = |field, index| Err(Error::BadParameter { field, index });
    let channels = usize::from(s.channels);
    if channels == 0 || !input_dim.is_multiple_of(channels) {
        return bad("signal.channels", 0);
    }
    let reads = encoder
        .layers
        .first()
        .and_then(|l| l.conv)
        .filter(|c| !c.transposed);
    let writes = decoder
        .layers
        .last()
        .and_then(|l| l.conv)
        .filter(|c| c.transposed);
    for conv in [reads, writes].into_iter().flatten() {
        if usize::from(conv.channels) != channels {
            return bad("signal.channels", 0);
        }
    }
    if s.sample_rate_hz.is_some_and(|r| !crate::sample_rate_ok(r)) {
        return bad("signal.sample_rate_hz", 0);
    }
    // One pass over the bytes: UTF-8 (RFC 3629: no overlong forms, no surrogates, at most
    // U+10FFFF), a name ending at each `\n`, and no control character (a byte below 0x20,
    // 0x7F, or U+0080..=U+009F: 0xC2 then 0x80..=0x9F).
    let bytes = s.names;
    let (mut name, mut len, mut i) = (0usize, 0usize, 0usize);
    while let Some(&b) = bytes.get(i) {
        let (tail, second) = match b {
            b'\n' => {
                if len == 0 {
                    return bad("signal.names", name);
                }
                name += 1;
                len = 0;
                i += 1;
                continue;
            }
            0x00..=0x1f | 0x7f => return bad("signal.names", name),
            0x20..=0x7e => (0, 0x80..=0xbf),
            0xc2 => (1, 0xa0..=0xbf),
            0xc3..=0xdf => (1, 0x80..=0xbf),
            0xe0 => (2, 0xa0..=0xbf),
            0xe1..=0xec | 0xee..=0xef => (2, 0x80..=0xbf),
            0xed => (2, 0x80..=0x9f),
            0xf0 => (3, 0x90..=0xbf),
            0xf1..=0xf3 => (3, 0x80..=0xbf),
            0xf4 => (3, 0x80..=0x8f),
            _ => return bad("signal.names", name),
        };
        for k in 1..=tail {
            let ok = match bytes.get(i + k) {
                Some(c) if k == 1 => second.contains(c),
                Some(c) => (0x80..=0xbf).contains(c),
                None => false,
            };
            if !ok {
                return bad("signal.names", name);
            }
        }
        len += 1;
        i += 1 + tail;
    }
    if len > 0 {
        // the last name is not ended
        return bad("signal.names", name);
    }
    if name != 0 && name != channels {
        return bad("signal.names", name.min(channels));
    }
    Ok(())
}

/// Checks a uniform (or switched) quantizer's bit widths and its `k` ranges.
#[inline]
fn validate_uniform(bits: &[u8], mean: &[u8], lo: &[u8], hi: &[u8], k: usize) -> Result<(), Error> {
    if let Some((i, &b)) = bits.iter().enumerate().find(|(_, &b)| b > MAX_UNIFORM_BITS) {
        return Err(Error::BitsOutOfRange {
            dim: i % k.max(1),
            bits: b,
            max: MAX_UNIFORM_BITS,
        });
    }
    check_model_len("quantizer.mean", mean.len(), k * 4)?;
    check_model_len("quantizer.lo", lo.len(), k * 4)?;
    check_model_len("quantizer.hi", hi.len(), k * 4)?;
    all_finite("quantizer.mean", mean)?;
    all_finite("quantizer.lo", lo)?;
    all_finite("quantizer.hi", hi)?;
    if let Some(index) = f32s(lo)
        .zip(f32s(hi))
        .position(|(l, h)| !(h > l && (h - l).is_finite()))
    {
        return Err(Error::BadParameter {
            field: "quantizer.hi",
            index,
        });
    }
    Ok(())
}

#[inline]
fn validate_quantizer(q: &LatentQuantizer<'_>) -> Result<usize, Error> {
    #[cfg(feature = "switched")]
    if let LatentQuantizer::Switched { modes, bits, .. } = *q {
        let m = usize::from(modes);
        if !(2..=crate::MAX_MODES).contains(&m) {
            return Err(Error::BadParameter {
                field: "quantizer.modes",
                index: 0,
            });
        }
        if !bits.len().is_multiple_of(m) {
            return Err(Error::BadParameter {
                field: "quantizer.bits",
                index: bits.len(),
            });
        }
    }
    let k = q.dims();
    if k == 0 {
        return Err(Error::BadParameter {
            field: "quantizer.bits",
            index: 0,
        });
    }
    limit("latent dimensions", k, MAX_LATENT)?;
    for mode in 0..q.modes() {
        let total: usize = q.mode_bits(mode).iter().map(|&b| usize::from(b)).sum();
        limit("latent code bits", total, MAX_PAYLOAD_BYTES * 8)?;
    }
    match q {
        LatentQuantizer::Uniform { bits, mean, lo, hi } => validate_uniform(bits, mean, lo, hi, k)?,
        #[cfg(feature = "switched")]
        LatentQuantizer::Switched {
            bits, mean, lo, hi, ..
        } => validate_uniform(bits, mean, lo, hi, k)?,
        LatentQuantizer::Table { bits, mean, tables } => {
            if let Some((dim, &b)) = bits.iter().enumerate().find(|(_, &b)| b > MAX_TABLE_BITS) {
                return Err(Error::BitsOutOfRange {
                    dim,
                    bits: b,
                    max: MAX_TABLE_BITS,
                });
            }
            check_model_len("quantizer.mean", mean.len(), k * 4)?;
            all_finite("quantizer.mean", mean)?;
            let entries: usize = bits
                .iter()
                .filter(|&&b| b > 0)
                .map(|&b| (2usize << b) - 1)
                .sum();
            check_model_len("quantizer.tables", tables.len(), entries * 4)?;
            all_finite("quantizer.tables", tables)?;
            let mut offset = 0;
            for (dim, &b) in bits.iter().enumerate() {
                if b == 0 {
                    continue;
                }
                let edges = (1usize << b) - 1;
                // In bounds: the tables' length was checked just above.
                let table = crate::in_bounds(tables.get(offset * 4..(offset + edges) * 4));
                let mut prev = f32::NEG_INFINITY;
                for e in f32s(table) {
                    if e < prev {
                        return Err(Error::BadParameter {
                            field: "quantizer.tables",
                            index: dim,
                        });
                    }
                    prev = e;
                }
                offset += 2 * edges + 1;
            }
        }
    }
    Ok(k)
}

#[inline]
fn validate_half(
    half: Half,
    spec: &HalfSpec<'_>,
    precision: Precision,
    in_dim: usize,
    out_dim: usize,
) -> Result<usize, Error> {
    if spec.layers.is_empty() {
        return Err(Error::EmptyHalf { half });
    }
    if precision == Precision::Int8Full {
        let b = spec.boundary;
        let ok = |s: f32| s.is_finite() && s > 0.0;
        if !ok(b.in_scale) || !ok(b.out_scale) {
            return Err(Error::BadParameter {
                field: "boundary",
                index: 0,
            });
        }
        // The decoder's input is int8. The encoder's is symmetric and up to 16 bits; its
        // first layer's sums then stay in int32: |Σ w·x| <= n · 128 · (2^(bits-1) - 1)
        // < 2^30 when n · 2^bits <= 2^24, and |bias| <= 2^30 (`MAX_INT_BIAS`); the
        // offset-binary Σ (w + 128)·x stays under n · 256 · 2^(bits-1) <= 2^31.
        let first_in = spec.layers.first().map_or(0, |l| l.in_dim);
        let bits_ok = match half {
            Half::Decoder => b.in_bits == 8,
            Half::Encoder => input_bits_fit(first_in, b.in_bits),
        };
        if !bits_ok {
            return Err(Error::BadParameter {
                field: "boundary.in_bits",
                index: 0,
            });
        }
        if half == Half::Encoder && b.in_zero != 0 {
            return Err(Error::BadParameter {
                field: "boundary.in_zero",
                index: 0,
            });
        }
    }
    let mut width = in_dim;
    let mut widest = in_dim;
    let last = spec.layers.len() - 1;
    for (i, layer) in spec.layers.iter().enumerate() {
        let n_out = usize::from(layer.out_dim);
        if n_out == 0 || layer.in_dim == 0 {
            return Err(Error::BadParameter {
                field: if n_out == 0 { "out_dim" } else { "in_dim" },
                index: i,
            });
        }
        if let Some(c) = layer.conv {
            validate_conv(i, layer, c, i == last)?;
        }
        let (n_in, n_out) = (layer.vec_in(), layer.vec_out());
        if n_in != width {
            return Err(Error::DimensionMismatch {
                half,
                layer: i,
                expected: width,
                found: n_in,
            });
        }
        limit("layer width", n_out, MAX_WIDTH)?;
        validate_layer(half, i, layer, precision)?;
        width = n_out;
        widest = widest.max(n_out);
    }
    if width != out_dim {
        return Err(Error::DimensionMismatch {
            half,
            layer: spec.layers.len(),
            expected: width,
            found: out_dim,
        });
    }
    Ok(widest)
}

/// A convolution's shape: positions that tile the window exactly, a dense map of one
/// position's size, and a transposed one only last, without activation.
#[inline]
fn validate_conv(i: usize, l: &DenseSpec<'_>, c: Conv, last: bool) -> Result<(), Error> {
    let (samples, kernel, stride) = (
        usize::from(c.samples),
        usize::from(c.kernel),
        usize::from(c.stride),
    );
    let bad = |field| Err(Error::BadParameter { field, index: i });
    if c.channels == 0 || c.positions() == 0 || (samples - kernel) % stride != 0 {
        return bad("conv");
    }
    // Overlap-add is linear only without an activation: no activation table either.
    if c.transposed && !(last && l.activation == Activation::Identity && l.lut.is_empty()) {
        return bad("conv");
    }
    let per_position = if c.transposed { l.out_dim } else { l.in_dim };
    if usize::from(per_position) != c.patch() {
        return bad("conv");
    }
    limit("layer width", c.window(), MAX_WIDTH)?;
    Ok(())
}

#[inline]
fn validate_layer(
    half: Half,
    i: usize,
    l: &DenseSpec<'_>,
    precision: Precision,
) -> Result<(), Error> {
    let (n_in, n_out) = (usize::from(l.in_dim), usize::from(l.out_dim));
    if l.pad.len() > 3 || l.pad.iter().any(|&b| b != 0) {
        return Err(Error::BadParameter {
            field: "pad",
            index: i,
        });
    }
    if let Activation::LeakyRelu(a) = l.activation {
        if !a.is_finite() {
            return Err(Error::BadParameter {
                field: "activation",
                index: i,
            });
        }
    }
    // The guards let a firmware without a precision drop its checks (refused in `validate`).
    match precision {
        Precision::F32 if precision.is_built() => {
            check_len(half, i, "weights", l.weights.len(), n_in * n_out * 4)?;
            check_len(half, i, "bias", l.bias.len(), n_out * 4)?;
            check_len(half, i, "scales", l.scales.len(), 0)?;
            check_len(half, i, "shifts", l.shifts.len(), 0)?;
            check_len(half, i, "lut", l.lut.len(), 0)?;
            all_finite("weights", l.weights)?;
            all_finite("bias", l.bias)?;
        }
        Precision::Int8Weights if precision.is_built() => {
            check_len(half, i, "weights", l.weights.len(), n_in * n_out)?;
            check_len(half, i, "bias", l.bias.len(), n_out * 4)?;
            check_len(half, i, "scales", l.scales.len(), n_out * 4)?;
            check_len(half, i, "shifts", l.shifts.len(), 0)?;
            check_len(half, i, "lut", l.lut.len(), 0)?;
            all_finite("bias", l.bias)?;
            all_finite("scales", l.scales)?;
        }
        Precision::Int8Full if precision.is_built() => {
            check_len(half, i, "weights", l.weights.len(), n_in * n_out)?;
            check_len(half, i, "bias", l.bias.len(), n_out * 4)?;
            check_len(half, i, "scales", l.scales.len(), n_out * 4)?;
            check_len(half, i, "shifts", l.shifts.len(), n_out)?;
            let needs_lut = !matches!(l.activation, Activation::Identity | Activation::Relu);
            if needs_lut || !l.lut.is_empty() {
                check_len(half, i, "lut", l.lut.len(), 256)?;
            }
            if let Some(index) =
                i32s(l.bias).position(|b| !(-MAX_INT_BIAS..=MAX_INT_BIAS).contains(&b))
            {
                return Err(Error::BadParameter {
                    field: "bias",
                    index,
                });
            }
            if let Some(index) = i32s(l.scales).position(|m| m < 0) {
                return Err(Error::BadParameter {
                    field: "scales",
                    index,
                });
            }
            if let Some(index) = l.shifts.iter().position(|&s| s == 0 || s > MAX_SHIFT) {
                return Err(Error::BadParameter {
                    field: "shifts",
                    index,
                });
            }
        }
        _ => {
            return Err(Error::PrecisionNotBuilt {
                precision,
                feature: precision.feature(),
            })
        }
    }
    Ok(())
}
