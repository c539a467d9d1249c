//! The model: blob parsing and the one-time validation that makes inference infallible.

mod blob;

pub use blob::{
    fingerprint, write_blob, Activation, Conv, DenseSpec, HalfSpec, IntBoundary, LatentQuantizer,
    ModelSpec, PayloadHeader, Precision, Signal, Source, FORMAT_VERSION, HEADER_LEN, MAGIC,
    MIN_FORMAT_VERSION,
};

use core::ops::Range;

use crate::bytes::{f32s, i32s};
use crate::wire::payload::{PayloadInfo, PayloadLayout};
use crate::{Error, Half, MAX_LABELS, MAX_LATENT, MAX_PAYLOAD_BYTES, MAX_WIDTH};

/// Most bits per latent dimension of the uniform quantizer.
pub const MAX_UNIFORM_BITS: u8 = 16;
/// Most bits per latent dimension of the table quantizer (its tables grow as 2^b).
pub const MAX_TABLE_BITS: u8 = 10;
/// Largest |bias| of a full-integer layer. With int8 inputs (at most 2^15 per product
/// with an offset-binary weight, `MAX_WIDTH` of them) and the encoder's wider input
/// (`in_dim · 2^bits ≤ 2^24`, [`input_bits_fit`]), the int32 accumulator cannot
/// overflow.
pub const MAX_INT_BIAS: i32 = 1 << 30;
/// Most bits of a full-integer encoder's input (held in 16; see [`IntBoundary`]).
pub const MAX_INPUT_BITS: u8 = 16;

/// Whether a full-integer encoder's input may have `bits` bits when its first layer has
/// `in_dim` inputs (one position's, for a convolution): 2..=[`MAX_INPUT_BITS`] bits with
/// `in_dim · 2^bits <= 2^24`, which keeps that layer's int32 sums exact (see
/// `validate_half`).
pub fn input_bits_fit(in_dim: u16, bits: u8) -> bool {
    (2..=MAX_INPUT_BITS).contains(&bits) && u32::from(in_dim) << bits <= 1 << 24
}

/// The most bits [`input_bits_fit`] allows for a first layer of `in_dim` inputs.
pub fn max_input_bits(in_dim: u16) -> u8 {
    (2..=MAX_INPUT_BITS)
        .rev()
        .find(|&b| input_bits_fit(in_dim, b))
        .unwrap_or(2) // 65,535 inputs still fit 2 bits
}
/// Largest right shift of the full-integer requantization.
pub const MAX_SHIFT: u8 = 62;

/// Where the weight of output `row`, input `col` of a full-int8 layer lies in its
/// `weights`: rows in groups of four, each group stored four inputs
/// at a time (16 bytes: 4 of each row in turn), then the group's last `in_dim % 4`
/// inputs row by row; the last `out_dim % 4` rows row-major. Row-major for other
/// precisions. Out-of-range arguments give an offset past the layer.
pub fn int8_weight_offset(in_dim: usize, out_dim: usize, row: usize, col: usize) -> usize {
    let grouped = out_dim / 4 * 4;
    if row >= grouped || col >= in_dim {
        return row * in_dim + col;
    }
    let (group, lane) = (row / 4, row % 4);
    let body = in_dim / 4 * 4;
    let base = group * 4 * in_dim;
    if col < body {
        base + col / 4 * 16 + lane * 4 + col % 4
    } else {
        base + 4 * body + lane * (in_dim - body) + (col - body)
    }
}

/// A validated model whose weights stay borrowed from the blob.
#[derive(Debug, Clone)]
pub struct Model<'a> {
    spec: ModelSpec<'a>,
    version: u16,
    fingerprint: u32,
    blob_len: usize,
    layout: PayloadLayout,
    max_width: usize,
}

impl<'a> Model<'a> {
    /// Parses and validates a blob. Every check the inference needs happens here, once.
    // `#[inline]` on the load path (here, in validation and in blob.rs) is for code size:
    // it makes the crate that calls `from_bytes` compile it, with the postcard/serde code
    // it instantiates, at that crate's opt-level. Loading runs once, so the firmware
    // builds it for size ("s") while the encoder in this crate stays at opt-level 3.
    #[inline]
    pub fn from_bytes(blob: &'a [u8]) -> Result<Self, Error> {
        let (version, fingerprint, body) = blob::parse_header(blob)?;
        let (spec, rest) =
            postcard::take_from_bytes::<ModelSpec<'a>>(body).map_err(Error::BlobMalformed)?;
        if !rest.is_empty() {
            return Err(Error::BlobTrailingBytes { count: rest.len() });
        }
        if spec.format_version() > version {
            // A switched quantizer in a version-6 blob: a reader of version 6 only could
            // not have parsed it, so no writer makes one.
            return Err(Error::BadParameter {
                field: "quantizer",
                index: 0,
            });
        }
        let max_width = validate(&spec)?;
        let layout = PayloadLayout::new(&spec)?;
        Ok(Model {
            spec,
            version,
            fingerprint,
            blob_len: blob.len(),
            layout,
            max_width,
        })
    }

    /// The parsed description (layers, quantizer, normalization).
    pub fn spec(&self) -> &ModelSpec<'a> {
        &self.spec
    }
    /// Format version of the blob.
    pub fn version(&self) -> u16 {
        self.version
    }

    /// FNV-1a 32 hash of the blob body: this blob's identity (and integrity check).
    pub fn fingerprint(&self) -> u32 {
        self.fingerprint
    }

    /// The fingerprint whose tag ([`crate::model_tag`]) this model's payloads carry: its
    /// own, or for an encoder-only device blob the full model's it was cut from.
    pub fn payload_fingerprint(&self) -> u32 {
        self.spec.encoder_of.unwrap_or(self.fingerprint)
    }

    /// What `payload` says besides its codes, checked as [`crate::Codec::decode`] checks
    /// it (length, model tag, label, padding) without running the decoder: a receiver
    /// can drop a repeat or route by label before it decodes. See also
    /// [`crate::PayloadView`] for the fields of a payload not yet checked.
    pub fn payload_info(&self, payload: &[u8]) -> Result<PayloadInfo, Error> {
        let mut codes = [0u16; MAX_LATENT];
        crate::wire::payload::unpack(
            &self.layout,
            self.payload_fingerprint(),
            self.label_count(),
            &self.spec.quantizer,
            payload,
            &mut codes,
        )
    }

    /// Whether this is an encoder-only device blob (no decoder; [`ModelSpec::encoder_of`]).
    pub fn is_encoder_only(&self) -> bool {
        self.spec.encoder_of.is_some()
    }

    /// `Ok` if this model can decode; [`Error::EncoderOnly`] for an encoder-only blob.
    pub fn check_decoder(&self) -> Result<(), Error> {
        match self.spec.encoder_of {
            Some(model) => Err(Error::EncoderOnly { model }),
            None => Ok(()),
        }
    }
    /// Size of the whole blob in bytes (what it takes in flash).
    pub fn blob_len(&self) -> usize {
        self.blob_len
    }
    /// Precision of the layers.
    pub fn precision(&self) -> Precision {
        self.spec.precision
    }
    /// Samples per window.
    pub fn input_dim(&self) -> usize {
        usize::from(self.spec.input_dim)
    }
    /// Latent dimensions.
    pub fn latent_dim(&self) -> usize {
        self.spec.quantizer.dims()
    }
    /// Channels interleaved in a window.
    pub fn channels(&self) -> usize {
        usize::from(self.spec.signal.channels)
    }
    /// Samples of each channel in a window: `input_dim / channels`.
    pub fn samples(&self) -> usize {
        self.spec.signal.samples(self.input_dim())
    }
    /// Samples per second of every channel, if the model records it.
    pub fn sample_rate_hz(&self) -> Option<f32> {
        self.spec.signal.sample_rate_hz
    }
    /// The channels' names, in order; none if the model names none, else one per channel.
    pub fn channel_names(&self) -> impl Iterator<Item = &'a str> + 'a {
        self.spec.signal.names()
    }
    /// How the training windows were cut from their recording.
    pub fn source(&self) -> Source {
        self.spec.signal.source
    }
    /// Labels of a conditional model, 0 otherwise.
    pub fn label_count(&self) -> u16 {
        self.spec.label_count
    }
    /// The bit layout of this model's payloads.
    pub fn payload_layout(&self) -> &PayloadLayout {
        &self.layout
    }
    /// Scratch elements a [`crate::Codec`] needs: the widest layer input or output.
    pub fn scratch_needed(&self) -> usize {
        self.max_width
    }
    /// Number of multiply-accumulates of one encode.
    pub fn encoder_macs(&self) -> usize {
        macs(&self.spec.encoder)
    }
    /// Number of multiply-accumulates of one decode.
    pub fn decoder_macs(&self) -> usize {
        macs(&self.spec.decoder)
    }
}

impl LatentQuantizer<'_> {
    /// Bits of each latent dimension, of every mode one after another (of a switched
    /// quantizer; the other kinds have one mode).
    pub fn bits(&self) -> &[u8] {
        match self {
            LatentQuantizer::Uniform { bits, .. } | LatentQuantizer::Table { bits, .. } => bits,
            #[cfg(feature = "switched")]
            LatentQuantizer::Switched { bits, .. } => bits,
        }
    }

    /// Bit allocations the encoder chooses from: 1 but for a switched quantizer.
    pub fn modes(&self) -> usize {
        match *self {
            #[cfg(feature = "switched")]
            LatentQuantizer::Switched { modes, .. } => usize::from(modes).max(1),
            _ => 1,
        }
    }

    /// Latent dimensions.
    pub fn dims(&self) -> usize {
        self.bits().len() / self.modes()
    }

    /// Bits of each latent dimension in `mode` (empty for a mode the quantizer lacks).
    pub fn mode_bits(&self, mode: usize) -> &[u8] {
        let k = self.dims();
        self.bits()
            .get(mode.saturating_mul(k)..mode.saturating_add(1).saturating_mul(k))
            .unwrap_or(&[])
    }
}

impl DenseSpec<'_> {
    /// Times the dense map runs per pass: the positions of a convolution, else 1.
    pub fn positions(&self) -> usize {
        self.conv.map_or(1, |c| c.positions())
    }

    /// Where position `p`'s inputs lie in the layer's input, and where its outputs go in
    /// the layer's output (for a transposed convolution: where they are added).
    pub(crate) fn position(&self, p: usize) -> (Range<usize>, Range<usize>) {
        let (n_in, n_out) = (usize::from(self.in_dim), usize::from(self.out_dim));
        let (x, y) = match self.conv {
            None => (0, 0),
            Some(c) if c.transposed => (p * n_in, c.offset(p)),
            Some(c) => (c.offset(p), p * n_out),
        };
        (x..x + n_in, y..y + n_out)
    }

    /// Values the layer reads (the whole window of a convolution).
    pub fn vec_in(&self) -> usize {
        let n = usize::from(self.in_dim);
        self.conv.map_or(n, |c| c.layer_inputs(n))
    }

    /// Values the layer writes (the whole window of a transposed convolution).
    pub fn vec_out(&self) -> usize {
        let n = usize::from(self.out_dim);
        self.conv.map_or(n, |c| c.layer_outputs(n))
    }
}

fn macs(half: &HalfSpec<'_>) -> usize {
    half.layers
        .iter()
        .map(|l| usize::from(l.in_dim) * usize::from(l.out_dim) * l.positions())
        .sum()
}

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
fn validate(spec: &ModelSpec<'_>) -> Result<usize, Error> {
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
    Ok(widest)
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
    if s.sample_rate_hz
        .is_some_and(|r| !(r.is_finite() && r > 0.0))
    {
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
