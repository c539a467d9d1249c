//! aecodec-trainer: the desktop side of aecodec.
//!
//! Everything that runs on a host before a model reaches a device:
//! - input: CSV tables and windows ([`data`]), training / validation / test parts
//!   dealt in blocks over every recording ([`split`]), windows as views into the
//!   recordings ([`windows`]);
//! - fitting: the autoencoder variants ([`models`], [`train`]: plain, denoising, sparse,
//!   VAE / conditional VAE, with quantization-aware training, Adam, data-parallel
//!   threads), PCA/KLT and DCT ([`linear`]), the `auto` choice between them
//!   ([`select`]), bit allocation ([`bits`]);
//! - float models ([`FloatModel`]) with their reference forward pass, the trained-model
//!   file ([`store`]);
//! - export into the core's blob format for every precision ([`export`]: calibration
//!   of the full-integer path, each precision's error against f32, encoder-only device
//!   blobs), the blob as Rust or C source ([`source`]), the LoRaWAN payload codec
//!   ([`lorawan`]);
//! - reports: metrics, baselines, the rate–distortion sweep ([`report`]), what each
//!   variant is for ([`showcase`]) and plots ([`plot`]), which `aecodec demo` and `eval`
//!   write.
#![warn(missing_docs)]

pub mod baselines;
pub mod batch;
pub mod bits;
pub mod data;
mod error;
pub mod export;
pub mod fsio;
pub mod linear;
pub mod lorawan;
pub mod metrics;
pub mod model;
pub mod models;
pub mod nn;
pub mod normal;
pub mod parallel;
pub mod plot;
pub mod report;
mod rng;
pub mod select;
pub mod showcase;
pub mod source;
pub mod split;
pub mod store;
pub mod time;
pub mod train;
pub mod windows;

pub use error::Error;
pub use export::{
    device_blob, encoder_only_blob, export_blob, export_checked, measure_precision, round_trip,
    send_receive, PrecisionReport,
};
pub use model::{init_stack, FloatLayer, FloatModel, FloatQuantizer, SignalInfo};
pub use rng::Rng;
