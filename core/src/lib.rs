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
#![no_std]
#![warn(missing_docs)]
#![deny(unsafe_code)] // exceptions: the Cortex-M kernels' inline assembly (ops/dsp.rs, ops/thumb1.rs) and the x86-64 SIMD kernels (ops/x86.rs)

#[cfg(any(test, feature = "std"))]
extern crate std;

mod bytes;
mod codec;
mod error;
pub mod model;
mod ops;
mod quant;
pub mod sample;
pub mod wire;

pub use codec::{Batch, Codec, Meta, Payload, BATCH_LANES};
pub use error::{Error, Half};
pub use heapless;
pub use model::{
    fingerprint, write_blob, Activation, Conv, DenseSpec, HalfSpec, IntBoundary, LatentQuantizer,
    Model, ModelSpec, PayloadHeader, Precision, Signal, Source, FORMAT_VERSION, HEADER_LEN, MAGIC,
};
#[cfg(target_arch = "x86_64")]
pub use ops::x86::{set_kernel_limit, KernelLimit};
pub use wire::frame::{decode_frame, encode_frame, max_frame_len, FrameDecoder};
pub use wire::payload::{
    model_tag, PayloadInfo, PayloadLayout, PayloadRepr, PayloadView, SequenceEvent, SequenceTracker,
};

/// Largest payload, in bytes, that a model may declare.
pub const MAX_PAYLOAD_BYTES: usize = 64;
/// Most latent dimensions a model may have.
pub const MAX_LATENT: usize = 128;
/// Most dense layers in each half of a model.
pub const MAX_LAYERS: usize = 8;
/// Widest layer (inputs or outputs) a model may declare.
pub const MAX_WIDTH: usize = 4096;
/// Most labels of a conditional model.
pub const MAX_LABELS: usize = 1024;
