//! aecodec-trainer: the desktop side of aecodec.
//!
//! Everything that runs on a host before a model reaches a device, in folders by concern:
//! - [`data`]: CSV tables and windows, time columns, training / validation / test parts
//!   dealt in blocks over every recording, windows as views into the recordings;
//! - [`linear`]: the classical codecs — PCA/KLT (eigen solver), the DCT, their per-window
//!   switch — with bit allocation by measured error and quantizer ranges;
//! - [`learned`]: the autoencoder variants (plain, denoising, sparse, VAE / conditional
//!   VAE), the network and optimizer, quantization-aware training, data-parallel threads;
//! - [`select`]: `auto`, the choice between the candidates on validation windows;
//! - [`level`]: window levels coded beside the codes, for windows whose level lies
//!   outside every level the codec was fit on;
//! - [`float`]: float models ([`FloatModel`]) with their reference forward pass, and
//!   [`store`], the trained-model file;
//! - [`export`]: the core's blob format for every precision (calibration of the
//!   full-integer path, each precision's error against f32, encoder-only device blobs),
//!   the blob as Rust or C source, the LoRaWAN payload codec;
//! - [`report`]: metrics, the classical baselines of the reports, what each variant is
//!   for, what a blob holds, and plots;
//! - [`job`]: the jobs of the `aecodec` verbs (train, demo, eval, export, anomaly, and
//!   the rate–distortion sweep), each taking a checked plan.
#![warn(missing_docs)]

pub mod data;
mod error;
pub mod export;
pub mod float;
pub mod fsio;
pub mod job;
pub mod learned;
pub mod level;
pub mod linear;
pub mod normal;
pub mod report;
mod rng;
pub mod select;
pub mod store;
pub mod threads;

pub use error::Error;
pub use export::{
    device_blob, encoder_only_blob, export_blob, export_checked, measure_precision, round_trip,
    send_receive, PrecisionReport,
};
pub use float::{init_stack, FloatLayer, FloatModel, FloatQuantizer, SignalInfo};
pub use rng::Rng;
