//! The model blob: a fixed 14-byte header followed by a postcard body.
//!
//! ```text
//! offset size field
//! 0      4    magic "AECM"
//! 4      2    format version, u16 LE
//! 6      4    body length in bytes, u32 LE
//! 10     4    fingerprint: FNV-1a 32 of the body, u32 LE
//! 14     n    body: postcard encoding of ModelSpec
//! ```
//! See `spec/model-format.md` for the body's field tables.

use serde::{Deserialize, Serialize};

pub use crate::precision::Precision;
pub use crate::wire::payload::PayloadHeader;
use crate::{Error, MAX_LAYERS};

/// First four bytes of every model blob.
pub const MAGIC: [u8; 4] = *b"AECM";
/// Newest format version this core reads: the version of a blob that codes window
/// levels ([`LevelSpec`]). Version 8 coded them otherwise and is not read.
pub const FORMAT_VERSION: u16 = 9;
/// The retired version of window levels (each channel's level on a grid over the full
/// scale): refused, its models are exported again.
const RETIRED_LEVEL_VERSION: u16 = 8;
/// The version of a blob whose quantizer is [`LatentQuantizer::Switched`] and that codes
/// no levels.
pub const SWITCHED_FORMAT_VERSION: u16 = 7;
/// Oldest format version this core reads. A blob is written with the oldest version that
/// holds it (6 unless its quantizer is switched or it codes levels), so that a device
/// whose core reads only version 6 keeps loading every model it can run.
pub const MIN_FORMAT_VERSION: u16 = 6;

/// Whether a core needs its `switched` feature to read a blob of format `version`: a
/// switched quantizer (7) or window levels (9) are parsed and run by that feature's code.
pub const fn needs_switched(version: u16) -> bool {
    version > MIN_FORMAT_VERSION
}
/// Bytes before the postcard body.
pub const HEADER_LEN: usize = 14;

/// Activation after a dense layer.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq)]
pub enum Activation {
    /// y = x (a stack of these is a linear codec such as PCA).
    Identity,
    /// y = max(x, 0).
    Relu,
    /// y = x for x > 0, αx otherwise.
    LeakyRelu(f32),
    /// y = tanh(x).
    Tanh,
    /// y = 1 / (1 + e^-x).
    Sigmoid,
}

/// Quantization boundary of a full-integer half: how f32 values enter and leave it.
///
/// `q = clamp(round(x / in_scale) + in_zero)` on entry, `x = (q - out_zero) * out_scale`
/// on exit. The decoder's input is int8 (`in_bits` 8, clamped to -128..=127); the
/// encoder's is a signed integer of `in_bits` bits held in 16, symmetric (`in_zero` 0,
/// clamped to ±(2^(in_bits-1) - 1)), so that a window's samples keep more than 256
/// levels before the first layer (see `spec/model-format.md` for the limit that keeps
/// its sums in int32). Ignored by the f32 and int8-weights precisions (write 1.0, 0, 8).
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq)]
pub struct IntBoundary {
    /// Scale of the half's integer input.
    pub in_scale: f32,
    /// Zero point of the half's integer input (0 for an encoder).
    pub in_zero: i8,
    /// Bits of the half's integer input: 8 for a decoder, 2..=16 for an encoder.
    pub in_bits: u8,
    /// Scale of the half's int8 output.
    pub out_scale: f32,
    /// Zero point of the half's int8 output.
    pub out_zero: i8,
}

impl IntBoundary {
    /// The boundary the float precisions write (unused by them).
    pub const UNUSED: IntBoundary = IntBoundary {
        in_scale: 1.0,
        in_zero: 0,
        in_bits: 8,
        out_scale: 1.0,
        out_zero: 0,
    };
}

/// Weight sharing along time: a layer whose dense map runs at every position of a
/// window of `samples` samples of `channels` interleaved channels (sample-major, as
/// windows are stored), over `kernel` samples every `stride` samples — a 1-D
/// convolution, or its transpose.
///
/// * `transposed: false` (convolution): the layer's input is the whole window
///   (`samples · channels` values); its dense map takes the `kernel · channels` values of
///   one position (they are contiguous) to `out_dim` outputs, and the layer's output is
///   the positions' outputs one after another (`positions · out_dim` values, sample-major
///   again, so another convolution can follow). The activation applies to every output.
/// * `transposed: true` (overlap-add): the layer's input is `positions` vectors of
///   `in_dim` values; the dense map takes each to `kernel · channels` values, which are
///   added into the output window (`samples · channels` values) at that position's
///   offset. Only the last layer of a half may be transposed, with the identity
///   activation.
///
/// `positions = (samples − kernel) / stride + 1`, and `(samples − kernel)` must be a
/// multiple of `stride`, so that the positions cover every sample.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conv {
    /// Overlap-add (transposed convolution) instead of a convolution.
    pub transposed: bool,
    /// Samples of the window side (the input of a convolution, the output of a
    /// transposed one).
    pub samples: u16,
    /// Channels of the window side.
    pub channels: u16,
    /// Samples per position.
    pub kernel: u16,
    /// Samples between positions.
    pub stride: u16,
}

impl Conv {
    /// Positions of the kernel along the window (0 if the shape is invalid).
    pub const fn positions(&self) -> usize {
        let (samples, kernel, stride) = (
            self.samples as usize,
            self.kernel as usize,
            self.stride as usize,
        );
        if stride == 0 || kernel == 0 || kernel > samples {
            return 0;
        }
        (samples - kernel) / stride + 1
    }

    /// Values of the window side: `samples · channels`.
    pub const fn window(&self) -> usize {
        self.samples as usize * self.channels as usize
    }

    /// Values of one position on the window side: `kernel · channels`.
    pub const fn patch(&self) -> usize {
        self.kernel as usize * self.channels as usize
    }

    /// Values a layer with this sharing reads, for a dense map of `in_dim` inputs: the
    /// window, or (transposed) `in_dim` per position.
    pub const fn layer_inputs(&self, in_dim: usize) -> usize {
        if self.transposed {
            self.positions() * in_dim
        } else {
            self.window()
        }
    }

    /// Values a layer with this sharing writes, for a dense map of `out_dim` outputs:
    /// `out_dim` per position, or (transposed) the window.
    pub const fn layer_outputs(&self, out_dim: usize) -> usize {
        if self.transposed {
            self.window()
        } else {
            self.positions() * out_dim
        }
    }

    /// Where position `p` starts on the window side (saturating: a `p` past the last
    /// position gives a start past the window, never an overflow).
    pub const fn offset(&self, p: usize) -> usize {
        p.saturating_mul(self.stride as usize * self.channels as usize)
    }
}

/// One dense layer, `y = act(W x + b)`; byte fields are borrowed from the blob.
///
/// Field lengths depend on the model's [`Precision`] (table in `spec/model-format.md`);
/// `W` is row-major, one row of `in_dim` weights per output, except full-int8 weights,
/// which are offset-binary and blocked by four rows ([`crate::model::int8_weight_offset`]).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct DenseSpec<'a> {
    /// Inputs.
    pub in_dim: u16,
    /// Outputs.
    pub out_dim: u16,
    /// Activation applied to the outputs.
    pub activation: Activation,
    /// Weight sharing along time (a 1-D convolution or its transpose), or `None` for a
    /// plain dense layer. `in_dim`/`out_dim` are then those of one position.
    pub conv: Option<Conv>,
    /// 0 to 3 zero bytes that put `weights` at a multiple of 4 bytes from the start of
    /// the blob, where word loads (LDRD on Cortex-M) can read them. [`write_blob`] sets it.
    pub pad: &'a [u8],
    /// Weights `[out_dim][in_dim]`: f32 LE (`F32`) or i8, row-major; `Int8Full` weights
    /// are offset-binary and blocked ([`crate::model::int8_weight_offset`]).
    pub weights: &'a [u8],
    /// Bias per output: f32 LE, or i32 LE for `Int8Full` (input zero point folded in).
    pub bias: &'a [u8],
    /// Per-output scale: f32 LE (`Int8Weights`), i32 LE fixed-point multiplier (`Int8Full`), empty for `F32`.
    pub scales: &'a [u8],
    /// Per-output right shift of the requantization (`Int8Full`), empty otherwise.
    pub shifts: &'a [u8],
    /// Zero point of the requantized output (`Int8Full`), 0 otherwise.
    pub out_zero: i8,
    /// 256-entry activation table indexed by the requantized output as `u8` (`Int8Full`), or empty.
    pub lut: &'a [u8],
}

/// The bytes behind a [`DenseSpec`], owned: what a host that builds blobs (the trainer's
/// export, the fuzz targets) holds a layer in before [`DenseBytes::spec`] borrows it.
#[cfg(feature = "std")]
#[derive(Debug, Clone, PartialEq)]
pub struct DenseBytes {
    /// Inputs.
    pub in_dim: u16,
    /// Outputs.
    pub out_dim: u16,
    /// Activation applied to the outputs.
    pub activation: Activation,
    /// Weight sharing along time, or `None` for a plain dense layer.
    pub conv: Option<Conv>,
    /// Weights, as [`DenseSpec::weights`].
    pub weights: std::vec::Vec<u8>,
    /// Biases, as [`DenseSpec::bias`].
    pub bias: std::vec::Vec<u8>,
    /// Per-output scales, as [`DenseSpec::scales`].
    pub scales: std::vec::Vec<u8>,
    /// Per-output shifts, as [`DenseSpec::shifts`].
    pub shifts: std::vec::Vec<u8>,
    /// Output zero point, as [`DenseSpec::out_zero`].
    pub out_zero: i8,
    /// Activation table, as [`DenseSpec::lut`].
    pub lut: std::vec::Vec<u8>,
}

#[cfg(feature = "std")]
impl DenseBytes {
    /// The layer as the blob format's [`DenseSpec`] (no padding: [`write_blob`] sets it).
    pub fn spec(&self) -> DenseSpec<'_> {
        DenseSpec {
            in_dim: self.in_dim,
            out_dim: self.out_dim,
            activation: self.activation,
            conv: self.conv,
            pad: &[],
            weights: &self.weights,
            bias: &self.bias,
            scales: &self.scales,
            shifts: &self.shifts,
            out_zero: self.out_zero,
            lut: &self.lut,
        }
    }
}

/// One half of the autoencoder: a stack of dense layers.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct HalfSpec<'a> {
    /// Entry and exit quantization of a full-integer half.
    pub boundary: IntBoundary,
    /// The layers, first to last.
    #[serde(borrow)]
    pub layers: heapless::Vec<DenseSpec<'a>, MAX_LAYERS>,
}

/// The latent quantizer: one bit width per latent dimension.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub enum LatentQuantizer<'a> {
    /// Calibrated uniform ranges (autoencoders). Code `c` of `b` bits decodes to the
    /// centre of the `c`-th of `2^b` equal cells of `[lo, hi]`.
    Uniform {
        /// Bits per dimension, 0..=16.
        bits: &'a [u8],
        /// f32 LE per dimension: the value a 0-bit dimension decodes to.
        mean: &'a [u8],
        /// f32 LE per dimension: lower end of the range.
        lo: &'a [u8],
        /// f32 LE per dimension: upper end of the range.
        hi: &'a [u8],
    },
    /// Non-uniform scalar quantizer from tables (VAE: equiprobable bins of N(μ, σ²)).
    /// For each dimension with `b > 0` bits, in order: `2^b - 1` ascending f32 LE edges,
    /// then `2^b` f32 LE centroids. Code = number of edges `<=` the value.
    Table {
        /// Bits per dimension, 0..=10 (`MAX_TABLE_BITS`).
        bits: &'a [u8],
        /// f32 LE per dimension: the value a 0-bit dimension decodes to.
        mean: &'a [u8],
        /// Concatenated edge and centroid tables.
        tables: &'a [u8],
    },
    /// Uniform cells as in `Uniform`, under one of `modes` bit allocations that the
    /// encoder chooses window by window and the payload names (format version 7).
    ///
    /// The encoder keeps the mode whose decoded latent is nearest the window's latent
    /// (squared distance; the lowest mode on a tie). For a linear decoder whose modes use
    /// disjoint groups of orthonormal columns, every other dimension decoding to 0, that
    /// is the mode with the lowest reconstruction error: this is how the trainer's
    /// PCA/DCT switch codes each window on the better of two bases. Built with the
    /// `switched` cargo feature.
    #[cfg(feature = "switched")]
    Switched {
        /// Bit allocations, 2..=`MAX_MODES`.
        modes: u8,
        /// Bits per dimension of each mode, mode after mode (`modes · dims` values,
        /// each 0..=16). A mode's dimensions without bits decode to their `mean`.
        bits: &'a [u8],
        /// f32 LE per dimension: the value a dimension decodes to in a mode that gives it
        /// no bits.
        mean: &'a [u8],
        /// f32 LE per dimension: lower end of the range.
        lo: &'a [u8],
        /// f32 LE per dimension: upper end of the range.
        hi: &'a [u8],
    },
}

/// How a model's training windows were cut from their recording, so that a tool reading
/// the same kind of file for this model cuts it the same way.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A time series, one sample of every channel per row: a window is consecutive rows.
    Series,
    /// One window per row, channel-major: every sample of the first channel, then of the
    /// next (the model's input is sample-major; a reader transposes the row).
    Rows,
}

/// What the model's windows are windows of: their channels, the channels' names and
/// sampling rate, and how a recording holds them. Receivers use it to shape, name and
/// time decoded samples; the inference does not read it.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq)]
pub struct Signal<'a> {
    /// Channels interleaved in a window (at least 1; divides `input_dim`).
    pub channels: u16,
    /// Samples per second of every channel, when the trainer knew it (finite, > 0).
    pub sample_rate_hz: Option<f32>,
    /// The channels' names in UTF-8, in order, each one ended by `\n`; empty when
    /// unnamed. A name is not empty and holds no control character. (Bytes, checked by
    /// [`crate::Model::from_bytes`] in one pass that costs a device less flash than
    /// `core::str::from_utf8`.)
    pub names: &'a [u8],
    /// How the training windows were cut from their recording.
    pub source: Source,
}

impl Signal<'static> {
    /// `channels` unnamed channels of a series of unknown sample rate.
    pub const fn series(channels: u16) -> Self {
        Signal {
            channels,
            sample_rate_hz: None,
            names: &[],
            source: Source::Series,
        }
    }
}

impl<'a> Signal<'a> {
    /// Samples of each channel in a window of `input_dim` values.
    pub const fn samples(&self, input_dim: usize) -> usize {
        match self.channels {
            0 => 0,
            c => input_dim / c as usize,
        }
    }

    /// The channels' names in order (none when the model names none; of a spec that has
    /// not been validated, the names that are UTF-8).
    pub fn names(&self) -> impl Iterator<Item = &'a str> + 'a {
        let empty = self.names.is_empty();
        let names = self.names.strip_suffix(b"\n").unwrap_or(self.names);
        names
            .split(|&b| b == b'\n')
            .filter(move |_| !empty)
            .filter_map(|n| core::str::from_utf8(n).ok())
    }
}

/// The body of a model blob.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct ModelSpec<'a> {
    /// Precision of every layer.
    pub precision: Precision,
    /// Samples per window (all channels, interleaved as the trainer wrote them).
    pub input_dim: u16,
    /// Labels of a conditional model (one-hot into both halves); 0 for unconditional.
    pub label_count: u16,
    /// f32 LE per input: subtracted from raw sensor values.
    pub norm_mean: &'a [u8],
    /// f32 LE per input: divides the centred values (> 0).
    pub norm_std: &'a [u8],
    /// Window (+ one-hot label) → latent.
    #[serde(borrow)]
    pub encoder: HalfSpec<'a>,
    /// Latent (+ one-hot label) → normalized window.
    #[serde(borrow)]
    pub decoder: HalfSpec<'a>,
    /// Latent quantizer and bit allocation.
    #[serde(borrow)]
    pub quantizer: LatentQuantizer<'a>,
    /// Payload header layout.
    pub header: PayloadHeader,
    /// `Some(f)` for an encoder-only device blob cut from the full model whose
    /// fingerprint is `f`: its decoder half has no layers, and its payloads carry `f`'s
    /// bits so that the full model decodes them. `None` for a full model.
    pub encoder_of: Option<u32>,
    /// Channels, names, sample rate and source of the windows.
    #[serde(borrow)]
    pub signal: Signal<'a>,
    /// Window levels coded beside the codes, or `None`. Not part of the postcard struct:
    /// a version-9 body is this struct's encoding followed by the [`LevelSpec`]'s, so
    /// that the bodies of versions 6 and 7 read as before.
    #[serde(skip)]
    pub level: Option<LevelSpec<'a>>,
}

impl ModelSpec<'_> {
    /// The oldest format version that holds this spec: 9 if it codes levels, 7 for a
    /// switched quantizer, else 6.
    pub fn format_version(&self) -> u16 {
        if self.level.is_some() {
            return FORMAT_VERSION;
        }
        match self.quantizer {
            #[cfg(feature = "switched")]
            LatentQuantizer::Switched { .. } => SWITCHED_FORMAT_VERSION,
            _ => MIN_FORMAT_VERSION,
        }
    }
}

/// Window levels (format version 9): how a window whose level lies outside the range
/// the codec was fit on is still decoded right, whatever value the sensor produces.
///
/// A window's level of channel `c` is the mean of its samples of that channel (summed in
/// f32, in order, divided by the samples). When every channel's level lies within
/// `[inner_lo, inner_hi]`, the window is coded as without a level spec (but that its
/// escape field stays below all ones, [`crate::escape_field`]). Otherwise (the escape
/// field all ones) each channel gets the fewest whole steps that move
/// its level into `[fit_lo, fit_hi]`: `k_c = ceilf((level_c − fit_hi_c) / step_c)` above
/// it, `−ceilf((fit_lo_c − level_c) / step_c)` below, 0 within (and for a NaN level),
/// clamped to `−2^(bits_c−1) ..= 2^(bits_c−1) − 1` and sent as `k_c + 2^(bits_c−1)` on
/// `bits_c` bits; every sample of channel `c` is moved by `shift_c = −k_c · step_c` (f32)
/// before the encoder runs, its latent is quantized on the widths of `code_bits`, and the
/// decoder's output is moved back by `−shift_c`. [`crate::Codec::encode_refined`] codes
/// such a window both ways and sends the one that decodes closer. Built with the
/// `switched` cargo feature.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq)]
pub struct LevelSpec<'a> {
    /// f32 LE per channel: the lowest level the codec codes without a level field.
    pub inner_lo: &'a [u8],
    /// f32 LE per channel: the highest level the codec codes without a level field.
    pub inner_hi: &'a [u8],
    /// f32 LE per channel: the lowest level a window with levels is moved to (the levels
    /// the codec was fit on).
    pub fit_lo: &'a [u8],
    /// f32 LE per channel: the highest.
    pub fit_hi: &'a [u8],
    /// Bits of each channel's level code, 1..=16.
    pub bits: &'a [u8],
    /// f32 LE per channel: how far one step moves the channel (positive).
    pub step: &'a [u8],
    /// Bits of each latent dimension in a payload with levels, mode after mode (as
    /// [`LatentQuantizer::bits`]; the quantizer's ranges and means).
    pub code_bits: &'a [u8],
}

/// FNV-1a, 32 bits: the model fingerprint, over the blob body.
pub fn fingerprint(body: &[u8]) -> u32 {
    crate::bytes::fnv1a32(body)
}

/// Writes `spec` as a complete blob (header + body) into `out`; returns the blob's length.
///
/// Each layer's `pad` is chosen here (the spec's own is ignored) so that its weights lie
/// at a multiple of 4 bytes from the blob's start. `out` must hold the unpadded blob plus
/// 3 bytes per layer; `BufferTooSmall` reports that size (the blob may come out up to that
/// much shorter). The spec is not validated here: [`crate::Model::from_bytes`] on the
/// result does that.
pub fn write_blob(spec: &ModelSpec<'_>, out: &mut [u8]) -> Result<usize, Error> {
    const ZEROS: [u8; 3] = [0; 3];
    let mut padded = spec.clone();
    for l in layers_mut(&mut padded) {
        l.pad = &[];
    }
    // Room for the unpadded blob plus up to 3 pad bytes per layer, asked for up front so
    // that `BufferTooSmall` names a size that is always enough (and neither pass below
    // can run out of room).
    let size = postcard::ser_flavors::Size::default;
    let level = match &spec.level {
        Some(level) => {
            postcard::serialize_with_flavor(level, size()).map_err(Error::BlobMalformed)?
        }
        None => 0,
    };
    let unpadded = HEADER_LEN
        + postcard::serialize_with_flavor(&padded, size()).map_err(Error::BlobMalformed)?
        + level;
    let needed = unpadded + 3 * (padded.encoder.layers.len() + padded.decoder.layers.len());
    if out.len() < needed {
        return Err(Error::BufferTooSmall {
            needed,
            capacity: out.len(),
        });
    }
    let (head, rest) = out.split_at_mut(HEADER_LEN);
    // Offsets from the blob's start of each layer's weights with empty pads, in
    // serialization order (a pad's length is one varint byte whatever 0..=3 it holds, so
    // later offsets move only by the pad bytes before them).
    let mut offsets = [0usize; 2 * MAX_LAYERS];
    let count = {
        let body = postcard::to_slice(&padded, rest).map_err(Error::BlobMalformed)?;
        let base = body.as_ptr() as usize - HEADER_LEN;
        let mut parsed: ModelSpec<'_> = postcard::from_bytes(body).map_err(Error::BlobMalformed)?;
        let mut n = 0;
        for (o, l) in offsets.iter_mut().zip(layers_mut(&mut parsed)) {
            *o = l.weights.as_ptr() as usize - base;
            n += 1;
        }
        n
    };
    let mut shift = 0;
    for (l, &o) in layers_mut(&mut padded).zip(&offsets[..count]) {
        let pad = (4 - (o + shift) % 4) % 4;
        l.pad = &ZEROS[..pad];
        shift += pad;
    }
    let mut body_len = postcard::to_slice(&padded, rest)
        .map_err(Error::BlobMalformed)?
        .len();
    if let Some(level) = &spec.level {
        let tail = rest.get_mut(body_len..).unwrap_or(&mut []);
        body_len += postcard::to_slice(level, tail)
            .map_err(Error::BlobMalformed)?
            .len();
    }
    let body = rest.get(..body_len).unwrap_or(&[]);
    let fp = fingerprint(body);
    head[0..4].copy_from_slice(&MAGIC);
    head[4..6].copy_from_slice(&spec.format_version().to_le_bytes());
    head[6..10].copy_from_slice(&(body_len as u32).to_le_bytes());
    head[10..14].copy_from_slice(&fp.to_le_bytes());
    Ok(HEADER_LEN + body_len)
}

/// Every layer of both halves, in serialization order.
fn layers_mut<'s, 'a>(spec: &'s mut ModelSpec<'a>) -> impl Iterator<Item = &'s mut DenseSpec<'a>> {
    spec.encoder
        .layers
        .iter_mut()
        .chain(spec.decoder.layers.iter_mut())
}

/// Splits a blob into (version, fingerprint, body) after checking the header.
#[inline]
pub(crate) fn parse_header(blob: &[u8]) -> Result<(u16, u32, &[u8]), Error> {
    // The magic first, so a short file of another kind is named as such.
    if let Some(&[a, b, c, d]) = blob.get(..4) {
        if [a, b, c, d] != MAGIC {
            return Err(Error::BadMagic {
                found: [a, b, c, d],
            });
        }
    }
    let head = blob.get(..HEADER_LEN).ok_or(Error::BlobTruncated {
        needed: HEADER_LEN,
        got: blob.len(),
    })?;
    let word = |i: usize| u32::from_le_bytes([head[i], head[i + 1], head[i + 2], head[i + 3]]);
    let magic = [head[0], head[1], head[2], head[3]];
    if magic != MAGIC {
        return Err(Error::BadMagic { found: magic });
    }
    let version = u16::from_le_bytes([head[4], head[5]]);
    if !(MIN_FORMAT_VERSION..=FORMAT_VERSION).contains(&version) || version == RETIRED_LEVEL_VERSION
    {
        return Err(Error::UnsupportedVersion {
            found: version,
            // A retired version is older than the newest: "export again".
            supported: if version < MIN_FORMAT_VERSION {
                MIN_FORMAT_VERSION
            } else {
                FORMAT_VERSION
            },
        });
    }
    if needs_switched(version) && !cfg!(feature = "switched") {
        return Err(Error::QuantizerNotBuilt {
            feature: "switched",
        });
    }
    let body_len = word(6) as usize;
    let stored = word(10);
    let needed = HEADER_LEN.saturating_add(body_len);
    let body = blob.get(HEADER_LEN..needed).ok_or(Error::BlobTruncated {
        needed,
        got: blob.len(),
    })?;
    if blob.len() > needed {
        return Err(Error::BlobTrailingBytes {
            count: blob.len() - needed,
        });
    }
    let computed = fingerprint(body);
    if computed != stored {
        return Err(Error::FingerprintMismatch { stored, computed });
    }
    Ok((version, stored, body))
}
