//! aecodec-core: the no_std, no-alloc inference core of aecodec.
//!
//! One model blob (postcard, versioned, fingerprinted) describes an autoencoder's
//! encoder and decoder halves, its input normalization, its latent quantizer and
//! its payload layout. [`Model::from_bytes`] validates a blob once, borrowing all
//! weights from the blob's bytes (flash on a microcontroller; nothing is copied
//! to RAM). A [`Codec`] with scratch buffers sized by a const generic then turns
//! windows of sensor samples into bit-packed payloads and back, with no allocation
//! and no panic reachable from any input.
//!
//! ```
//! # fn demo(blob: &[u8], window: &[f32]) -> Result<(), aecodec_core::Error> {
//! use aecodec_core::{Codec, Meta, Model};
//! let model = Model::from_bytes(blob)?;
//! let mut codec = Codec::<256>::new(&model)?; // refused if a layer is wider than 256
//! let payload = codec.encode(window, Meta::default())?;
//! let mut out = [0.0f32; 192];
//! let info = codec.decode(payload.as_bytes(), &mut out[..model.input_dim()])?;
//! # let _ = info; Ok(()) }
//! ```
//!
//! Formats are specified in `spec/model-format.md` and `spec/packet-format.md`.
//!
//! **No panics.** [`Model::from_bytes`] checks every length, width, offset and parameter
//! that inference reads, and [`Codec::new`] that the scratch holds the widest layer, so
//! that after them every slice access is in bounds and every integer sum fits its type.
//! Inference still reaches slices through checked accessors: on a range that the
//! checks keep in bounds it computes nothing (and fails a `debug_assert!` in debug
//! builds) instead of panicking, so a gap in validation costs a wrong result, never a
//! reset. Untrusted bytes at run time (payloads, frames) are parsed with checked reads
//! only and refused with an [`Error`].
#![no_std]
#![warn(missing_docs)]
#![deny(unsafe_code)] // exceptions: the kernels' inline assembly (kernels/cortex_m4.rs, kernels/cortex_m0.rs) and x86-64 intrinsics (kernels/x86.rs)

#[cfg(any(test, feature = "std"))]
extern crate std;

/// A slice that validation keeps in bounds (see "No panics" above), from its checked
/// access; empty if it were out of bounds, which a debug build reports.
#[inline(always)]
pub(crate) fn in_bounds<T>(s: Option<&[T]>) -> &[T] {
    debug_assert!(s.is_some(), "a range that validation keeps in bounds");
    s.unwrap_or(&[])
}

/// [`in_bounds`] for a mutable slice.
#[inline(always)]
pub(crate) fn in_bounds_mut<T>(s: Option<&mut [T]>) -> &mut [T] {
    debug_assert!(s.is_some(), "a range that validation keeps in bounds");
    s.unwrap_or(&mut [])
}

pub mod airtime;
mod bytes;
mod codec;
mod error;
mod kernels;
mod limits;
pub mod model;
mod ops;
mod precision;
mod quant;
mod run;
pub mod rx;
pub mod sample;
pub mod signal;
pub mod wire;

pub use airtime::{LoraModulation, RadioPower};
pub use codec::{Batch, Codec, Meta, Payload, BATCH_LANES};
pub use error::{Error, Half};
#[cfg(target_arch = "x86_64")]
pub use kernels::x86::{set_kernel_limit, KernelLimit};
pub use limits::{
    sample_rate_ok, MAX_LABELS, MAX_LATENT, MAX_LAYERS, MAX_LEVEL_CHANNELS, MAX_MODES,
    MAX_PAYLOAD_BYTES, MAX_SAMPLE_RATE_HZ, MAX_WIDTH, MIN_ESCAPE_BITS, MIN_SAMPLE_RATE_HZ,
};
#[cfg(feature = "std")]
pub use model::DenseBytes;
pub use model::{
    fingerprint, needs_switched, write_blob, Activation, Conv, DenseSpec, HalfSpec, IntBoundary,
    LatentQuantizer, LevelSpec, Model, ModelSpec, PayloadHeader, Precision, Signal, Source,
    FORMAT_VERSION, HEADER_LEN, MAGIC, MIN_FORMAT_VERSION, SWITCHED_FORMAT_VERSION,
};
pub use rx::{Clash, ModelSet, Routed, RxCounts, APPLICATION_PORTS};
pub use signal::{default_channel_name, sample_time_s, ChannelName};
pub use wire::frame::{decode_frame, encode_frame, max_frame_len, FrameDecoder};
pub use wire::payload::{
    escape_field, leveled_code_bits, model_tag, PayloadInfo, PayloadLayout, PayloadRepr,
    PayloadView, SequenceEvent, SequenceTracker, Widths,
};
pub use wire::text::{payload_from_text, TextFormat};
