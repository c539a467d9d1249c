//! The core's fixed limits: what a model may declare, and so what every buffer sized at
//! compile time holds.

/// Largest payload, in bytes, that a model may declare.
pub const MAX_PAYLOAD_BYTES: usize = 64;
/// Most latent dimensions a model may have (a switched quantizer's modes together: the
/// trainer's PCA/DCT switch keeps up to 128 of each basis).
pub const MAX_LATENT: usize = 256;
/// Most dense layers in each half of a model.
pub const MAX_LAYERS: usize = 8;
/// Widest layer (inputs or outputs) a model may declare.
pub const MAX_WIDTH: usize = 4096;
/// Most labels of a conditional model.
pub const MAX_LABELS: usize = 1024;
/// Most modes of a switched quantizer ([`LatentQuantizer::Switched`](crate::LatentQuantizer::Switched)).
pub const MAX_MODES: usize = 16;
/// Most channels a model may code window levels for ([`LevelSpec`](crate::model::LevelSpec)).
pub const MAX_LEVEL_CHANNELS: usize = 64;
/// Fewest bits of the escape field ([`escape_field`](crate::escape_field)) of each mode
/// of a model that codes window levels: payloads without levels keep 3 codes or more
/// there.
pub const MIN_ESCAPE_BITS: u8 = 2;

/// Slowest sample rate a model may record: one sample every 11.6 days.
pub const MIN_SAMPLE_RATE_HZ: f32 = 1e-6;
/// Fastest sample rate a model may record: one sample a nanosecond.
pub const MAX_SAMPLE_RATE_HZ: f32 = 1e9;

/// Whether a model may record `hz` as its sample rate: from [`MIN_SAMPLE_RATE_HZ`] to
/// [`MAX_SAMPLE_RATE_HZ`] (a rate outside is a mistake, e.g. a time column in other
/// units, and its sample times would not be representable).
pub fn sample_rate_ok(hz: f32) -> bool {
    (MIN_SAMPLE_RATE_HZ..=MAX_SAMPLE_RATE_HZ).contains(&hz)
}
