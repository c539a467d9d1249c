//! The one error type of the core: every variant names the phase and carries the numbers.

use core::fmt;

/// Which half of the model a layer belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Half {
    /// Sensor window → latent.
    Encoder,
    /// Latent → reconstructed window.
    Decoder,
}

impl fmt::Display for Half {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Half::Encoder => "encoder",
            Half::Decoder => "decoder",
        })
    }
}

/// Why two models of a set cannot be used together ([`Error::ModelSetClash`], from [`crate::ModelSet::new`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Clash {
    /// Both are on the same port.
    SamePort,
    /// Their payloads have the same length (bytes) and model tag: a payload of one
    /// would pass the other's checks.
    Indistinguishable {
        /// The payloads' length.
        bytes: u8,
    },
    /// Their windows have different shapes: other numbers of values, or the same
    /// number in other channels (3 × 64 and 1 × 192 are not one signal).
    WindowShape {
        /// Samples and channels of the first's windows.
        first: (usize, usize),
        /// Samples and channels of the second's windows.
        second: (usize, usize),
    },
    /// One has a port and the other none: a set is routed by port or by payload, not both.
    MixedPorts,
}

impl fmt::Display for Clash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Clash::SamePort => f.write_str("the same port"),
            Clash::Indistinguishable { bytes } => write!(
                f,
                "payloads of the same length ({bytes} bytes) and model tag: they cannot be told apart"
            ),
            Clash::WindowShape { first, second } => write!(
                f,
                "windows of {} samples × {} channels and of {} × {}: one window shape at a time",
                first.0, first.1, second.0, second.1
            ),
            Clash::MixedPorts => {
                f.write_str("one has a port and the other none: give every model a port or none")
            }
        }
    }
}

/// Everything that can go wrong in the core.
///
/// Blob variants come from [`crate::Model::from_bytes`], `Scratch*` from
/// [`crate::Codec::new`], payload and frame variants from the receiver side.
/// After a model loaded and a codec was built, encoding fails only on a caller's
/// mistake: a slice of the wrong length, a label out of range, or refinement asked of
/// an encoder-only model.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Error {
    /// The blob ends before the header or the body it announces.
    BlobTruncated {
        /// Bytes the header says the blob has.
        needed: usize,
        /// Bytes given.
        got: usize,
    },
    /// The first four bytes are not `AECM`: this is not an aecodec model.
    BadMagic {
        /// The four bytes found.
        found: [u8; 4],
    },
    /// The blob's format version is not the one this core reads (older or newer).
    UnsupportedVersion {
        /// Version in the blob.
        found: u16,
        /// The oldest (for an older blob) or newest version this core reads.
        supported: u16,
    },
    /// The body's hash does not match the fingerprint in the header: corrupt blob.
    FingerprintMismatch {
        /// Fingerprint stored in the header.
        stored: u32,
        /// Hash of the body as read.
        computed: u32,
    },
    /// The blob's precision is one this build of the core leaves out (cargo features
    /// `f32`, `int8-weights`, `int8-full`; firmware builds only the one it runs).
    PrecisionNotBuilt {
        /// The blob's precision.
        precision: crate::Precision,
        /// The `aecodec-core` cargo feature that builds it in.
        feature: &'static str,
    },
    /// The blob's quantizer (format version 7: switched) is not built into this core.
    QuantizerNotBuilt {
        /// The `aecodec-core` cargo feature that builds it in.
        feature: &'static str,
    },
    /// The body is not a valid postcard encoding of the model description.
    BlobMalformed(postcard::Error),
    /// Bytes follow the body: inside the length the header announced, or past it.
    BlobTrailingBytes {
        /// Number of unused bytes.
        count: usize,
    },
    /// A model half has no layers.
    EmptyHalf {
        /// Which half.
        half: Half,
    },
    /// Decoding asked of an encoder-only device blob.
    EncoderOnly {
        /// Fingerprint of the full model it was cut from (the one that decodes).
        model: u32,
    },
    /// A dimension does not chain: a layer's input width differs from what feeds it.
    DimensionMismatch {
        /// Which half.
        half: Half,
        /// Layer index in that half.
        layer: usize,
        /// Width that feeds the layer.
        expected: usize,
        /// Width the layer declares.
        found: usize,
    },
    /// A byte field has the wrong length for the layer's dimensions and precision.
    FieldLength {
        /// Which half.
        half: Half,
        /// Layer index in that half.
        layer: usize,
        /// Field name as in `spec/model-format.md`.
        field: &'static str,
        /// Expected length in bytes.
        expected: usize,
        /// Length found.
        found: usize,
    },
    /// A model-level array (normalization, quantizer) has the wrong length.
    ModelFieldLength {
        /// Field name as in `spec/model-format.md`.
        field: &'static str,
        /// Expected length in bytes.
        expected: usize,
        /// Length found.
        found: usize,
    },
    /// A numeric parameter is out of its valid range (non-finite, non-positive scale, ...).
    BadParameter {
        /// Field name as in `spec/model-format.md`.
        field: &'static str,
        /// Index of the element (dimension, channel or layer).
        index: usize,
    },
    /// A latent dimension asks for more bits than its quantizer supports.
    BitsOutOfRange {
        /// Latent dimension.
        dim: usize,
        /// Bits requested.
        bits: u8,
        /// Maximum for this quantizer.
        max: u8,
    },
    /// The whole payload would exceed [`crate::MAX_PAYLOAD_BYTES`].
    PayloadTooLarge {
        /// Bits the layout needs.
        bits: usize,
        /// Maximum bits.
        max_bits: usize,
    },
    /// A payload budget leaves no bits for latent codes after its header, label and mode
    /// fields ([`crate::PayloadLayout::code_budget`]).
    PayloadNoCodeBits {
        /// The payload's length in bytes.
        payload_bytes: usize,
        /// Bits of its header, label and mode fields.
        overhead_bits: usize,
    },
    /// The model is larger than a fixed limit of this core.
    LimitExceeded {
        /// What is limited.
        what: &'static str,
        /// Value in the model.
        value: usize,
        /// Limit.
        limit: usize,
    },
    /// The codec's scratch buffers are smaller than the widest layer.
    ScratchTooSmall {
        /// Elements needed.
        needed: usize,
        /// Elements available (the const generic of [`crate::Codec`]).
        capacity: usize,
    },
    /// A slice passed by the caller has the wrong length.
    InputLength {
        /// What the slice is.
        what: &'static str,
        /// Expected elements.
        expected: usize,
        /// Elements given.
        found: usize,
    },
    /// An output buffer given by the caller is too small.
    BufferTooSmall {
        /// Bytes or elements needed.
        needed: usize,
        /// Capacity given.
        capacity: usize,
    },
    /// A payload has the wrong number of bytes for this model.
    PayloadLength {
        /// Bytes this model's payloads have.
        expected: usize,
        /// Bytes received.
        found: usize,
    },
    /// The payload's model tag is another model's.
    ForeignModel {
        /// This model's tag.
        expected: u16,
        /// The payload's tag.
        found: u16,
    },
    /// The payload's label is not one of the model's labels.
    BadLabel {
        /// Label in the payload (or given to the encoder).
        label: u16,
        /// Number of labels of the model.
        count: u16,
    },
    /// The payload names a quantizer mode the model does not have.
    BadMode {
        /// Mode in the payload.
        mode: u8,
        /// Modes of the model.
        count: u8,
    },
    /// The padding bits after the codes are not zero: corrupt payload.
    NonZeroPadding,
    /// A payload arrived on a port no model of the receiver's set is on.
    UnknownPort {
        /// The port (`None`: the payload came without one).
        port: Option<u8>,
    },
    /// A receiver's model set is empty or holds more models than its capacity.
    ModelSetSize {
        /// Models given.
        count: usize,
        /// Most the set holds.
        capacity: usize,
    },
    /// Two models of a receiver's set cannot be used together.
    ModelSetClash {
        /// Index of the first of the two.
        first: usize,
        /// Index of the second.
        second: usize,
        /// Why.
        clash: Clash,
    },
    /// A frame's CRC does not match its content.
    FrameCrc {
        /// CRC carried by the frame.
        received: u16,
        /// CRC computed over the frame's payload.
        computed: u16,
    },
    /// A frame ended before its COBS structure or its CRC was complete.
    FrameTruncated {
        /// Bytes the frame needed at least.
        needed: usize,
        /// Bytes it had.
        got: usize,
    },
    /// A frame contained a zero byte inside its COBS encoding.
    FrameCobs {
        /// Offset of the bad byte in the frame.
        offset: usize,
    },
    /// A frame was longer than the receiver's buffer; it was dropped up to the next delimiter.
    FrameOverflow {
        /// The decoder's capacity in bytes.
        capacity: usize,
    },
    /// A payload written as text is not in its format ([`crate::payload_from_text`]).
    PayloadText {
        /// The format it was read as.
        format: crate::TextFormat,
        /// Offset of the first byte that is wrong (or where the text ends wrongly).
        at: usize,
        /// What is wrong there.
        why: &'static str,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use Error::*;
        match self {
            BlobTruncated { needed, got } => write!(f, "model blob truncated: needs {needed} bytes, got {got}"),
            BadMagic { found } => write!(f, "not an aecodec model blob: magic is {found:02x?}, expected \"AECM\""),
            UnsupportedVersion { found: 0, .. } => write!(
                f,
                "model blob format version 0 does not exist: the file is damaged or not a model"
            ),
            UnsupportedVersion { found, supported } if found < supported => write!(
                f,
                "model blob format version {found} is older than this build reads ({supported}); export the model again (`aecodec export`)"
            ),
            UnsupportedVersion { found, supported } => write!(
                f,
                "model blob format version {found} is newer than this build reads ({supported}); upgrade aecodec"
            ),
            FingerprintMismatch { stored, computed } => write!(
                f,
                "model blob is corrupt: header fingerprint {stored:08x}, body hashes to {computed:08x}"
            ),
            PrecisionNotBuilt { precision, feature } => write!(
                f,
                "model precision {precision} is not built into this aecodec-core; rebuild it \
                 with its cargo feature `{feature}`"
            ),
            QuantizerNotBuilt { feature } => write!(
                f,
                "model blob format version 7 has a switched latent quantizer, which is not built into this \
                 aecodec-core; rebuild it with its cargo feature `{feature}`"
            ),
            BlobMalformed(e) => write!(f, "model blob body is malformed: {e}"),
            BlobTrailingBytes { count } => write!(f, "model blob has {count} unexpected bytes after its body"),
            EmptyHalf { half } => write!(f, "model {half} has no layers"),
            EncoderOnly { model } => write!(
                f,
                "this is an encoder-only device blob (cut from model {model:08x}): decode with that model's full blob"
            ),
            DimensionMismatch { half, layer, expected, found } => write!(
                f,
                "{half} layer {layer} takes {found} inputs but is fed {expected}: layer dimensions do not chain"
            ),
            FieldLength { half, layer, field, expected, found } => write!(
                f,
                "{half} layer {layer} field `{field}` has {found} bytes, expected {expected}"
            ),
            ModelFieldLength { field, expected, found } => {
                write!(f, "model field `{field}` has {found} bytes, expected {expected}")
            }
            BadParameter { field, index } => write!(f, "model field `{field}` element {index} is out of range"),
            BitsOutOfRange { dim, bits, max } => {
                write!(f, "latent dimension {dim} has {bits} bits; this quantizer allows at most {max}")
            }
            PayloadTooLarge { bits, max_bits } => {
                write!(f, "payload layout needs {bits} bits, more than the maximum {max_bits}")
            }
            PayloadNoCodeBits { payload_bytes, overhead_bits } => write!(
                f,
                "a {payload_bytes}-byte payload leaves no bits for latent codes after {overhead_bits} \
                 header, label and mode bits"
            ),
            LimitExceeded { what, value, limit } => write!(f, "{what} is {value}, over this core's limit of {limit}"),
            ScratchTooSmall { needed, capacity } => write!(
                f,
                "model needs scratch buffers of {needed} elements, codec was built with {capacity}"
            ),
            InputLength { what, expected, found } => write!(f, "{what} has {found} elements, expected {expected}"),
            BufferTooSmall { needed, capacity } => {
                write!(f, "output buffer too small: needs {needed}, has {capacity}")
            }
            PayloadLength { expected, found } => write!(
                f,
                "payload has {found} bytes, this model's payloads have {expected}"
            ),
            ForeignModel { expected, found } => write!(
                f,
                "payload was made by another model: model tag {found:#x}, this model's is {expected:#x}"
            ),
            BadLabel { label, count } => write!(f, "label {label} is not one of the model's {count} labels"),
            BadMode { mode, count } => write!(f, "quantizer mode {mode} is not one of the model's {count} modes: corrupt payload"),
            NonZeroPadding => f.write_str("payload padding bits are not zero: corrupt payload"),
            UnknownPort { port: Some(p) } => write!(f, "no model for port {p}"),
            UnknownPort { port: None } => f.write_str("no model for port none"),
            ModelSetSize { count, capacity } => write!(
                f,
                "{count} models for a receiver that holds 1 to {capacity}"
            ),
            ModelSetClash { first, second, clash } => {
                write!(f, "models {first} and {second}: {clash}")
            }
            FrameCrc { received, computed } => write!(
                f,
                "frame CRC mismatch: frame carries {received:04x}, content hashes to {computed:04x}"
            ),
            FrameTruncated { needed, got } => write!(f, "frame truncated: needs at least {needed} bytes, got {got}"),
            FrameCobs { offset } => write!(f, "frame COBS encoding broken at byte {offset}"),
            FrameOverflow { capacity } => write!(
                f,
                "frame longer than the receiver's {capacity}-byte buffer; dropped up to the next delimiter"
            ),
            PayloadText { format, at, why } => write!(
                f,
                "not a {} payload: {why} at byte {at}",
                format.name()
            ),
        }
    }
}

impl core::error::Error for Error {}
