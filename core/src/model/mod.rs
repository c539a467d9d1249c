//! The model: blob parsing and the one-time validation that makes inference infallible.

mod blob;
mod validate;

#[cfg(feature = "std")]
pub use blob::DenseBytes;
pub use blob::{
    fingerprint, needs_switched, write_blob, Activation, Conv, DenseSpec, HalfSpec, IntBoundary,
    LatentQuantizer, LevelSpec, ModelSpec, PayloadHeader, Precision, Signal, Source,
    FORMAT_VERSION, HEADER_LEN, MAGIC, MIN_FORMAT_VERSION, SWITCHED_FORMAT_VERSION,
};

use core::ops::Range;

use crate::limits::MAX_LEVEL_CHANNELS;
use crate::signal::{default_channel_name, ChannelName};
use crate::wire::payload::{PayloadInfo, PayloadLayout};
use crate::{Error, MAX_LATENT};

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
/// `validate.rs`).
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
    // `#[inline]` on the load path (here, in validate.rs and in blob.rs) is for code size:
    // it makes the crate that calls `from_bytes` compile it, with the postcard/serde code
    // it instantiates, at that crate's opt-level. Loading runs once, so the firmware
    // builds it for size ("s") while the encoder in this crate stays at opt-level 3.
    #[inline]
    pub fn from_bytes(blob: &'a [u8]) -> Result<Self, Error> {
        let (version, fingerprint, body) = blob::parse_header(blob)?;
        let (mut spec, mut rest) =
            postcard::take_from_bytes::<ModelSpec<'a>>(body).map_err(Error::BlobMalformed)?;
        if version >= FORMAT_VERSION {
            let (level, after) =
                postcard::take_from_bytes::<LevelSpec<'a>>(rest).map_err(Error::BlobMalformed)?;
            spec.level = Some(level);
            rest = after;
        }
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
        let max_width = validate::validate(&spec)?;
        let q = &spec.quantizer;
        let sum = |bits: &[u8]| bits.iter().map(|&b| usize::from(b)).sum::<usize>();
        let mut widest_codes = (0..q.modes())
            .map(|m| sum(q.mode_bits(m)))
            .max()
            .unwrap_or(0);
        if let Some(level) = &spec.level {
            // A payload with levels: the escape field, the level codes, the mode's codes.
            let k = q.dims().max(1);
            for (m, leveled) in level.code_bits.chunks(k).enumerate() {
                let bits = crate::leveled_code_bits(q.mode_bits(m), level.bits, leveled);
                widest_codes = widest_codes.max(bits);
            }
        }
        let modes = u8::try_from(q.modes()).unwrap_or(u8::MAX);
        let layout = PayloadLayout::new(spec.header, spec.label_count, modes, widest_codes)?;
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
        let mut levels = [0u16; MAX_LEVEL_CHANNELS];
        self.unpack(payload, &mut codes, &mut levels)
    }

    /// Checks `payload` and reads its codes into `codes` and, if it carries levels, their
    /// codes into `levels`.
    pub(crate) fn unpack(
        &self,
        payload: &[u8],
        codes: &mut [u16],
        levels: &mut [u16],
    ) -> Result<PayloadInfo, Error> {
        crate::wire::payload::unpack(
            &self.layout,
            self.payload_fingerprint(),
            self.label_count(),
            self.payload_widths(),
            payload,
            codes,
            levels,
        )
    }

    /// The widths a payload's codes take: the quantizer's, and with levels theirs.
    pub(crate) fn payload_widths(&self) -> crate::wire::payload::Widths<'_> {
        crate::wire::payload::Widths {
            codes: self.spec.quantizer.bits(),
            level: self.spec.level.as_ref().map(|l| (l.bits, l.code_bits)),
        }
    }

    /// The window levels this model codes, if it codes them.
    pub fn level(&self) -> Option<&LevelSpec<'a>> {
        self.spec.level.as_ref()
    }

    /// Moves a window decoded from latent codes alone ([`crate::Codec::decode_latent`],
    /// [`crate::Codec::reconstruct`], [`crate::Batch`]) by the levels `payload` carries,
    /// as [`crate::Codec::decode`] does: a payload without levels (and a model that codes
    /// none) leaves it as it is. Checks `payload` and `window`'s length first.
    pub fn restore_levels(&self, payload: &[u8], window: &mut [f32]) -> Result<(), Error> {
        crate::run::check_len("window", window.len(), self.input_dim())?;
        let mut codes = [0u16; MAX_LATENT];
        let mut levels = [0u16; MAX_LEVEL_CHANNELS];
        let info = self.unpack(payload, &mut codes, &mut levels)?;
        if let (true, Some(level)) = (info.leveled, self.level()) {
            let mut shifts = [0.0f32; MAX_LEVEL_CHANNELS];
            crate::quant::level_shifts(level, &levels, &mut shifts);
            crate::quant::apply_shifts(&shifts, self.channels(), -1.0, window);
        }
        Ok(())
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
    /// The name receivers give channel `index`: the model's own, else the default
    /// ([`default_channel_name`]: `value` for one channel, `ch0`, `ch1`, … for several);
    /// `None` past the last channel.
    pub fn channel_name(&self, index: usize) -> Option<ChannelName<'a>> {
        let channels = self.channels();
        if index >= channels {
            return None;
        }
        Some(match self.channel_names().nth(index) {
            Some(name) => ChannelName::Named(name),
            None => default_channel_name(index, channels),
        })
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
