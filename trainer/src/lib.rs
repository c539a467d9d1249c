//! aecodec-trainer: the desktop side of aecodec.
//!
//! This crate holds float models ([`FloatModel`]), their reference forward pass, and
//! the export into the core's blob format for every precision, including the
//! calibration of the full-integer path and the measurement of each precision's
//! error against f32. Training itself (all variants, Adam, bit allocation) builds on
//! these types.
#![warn(missing_docs)]

pub mod baselines;
pub mod batch;
pub mod bits;
pub mod data;
mod error;
pub mod export;
pub mod fsio;
pub mod linear;
pub mod metrics;
pub mod model;
pub mod models;
pub mod nn;
pub mod normal;
pub mod parallel;
pub mod plot;
mod rng;
pub mod select;
pub mod showcase;
pub mod split;
pub mod store;
pub mod train;

pub use error::Error;
pub use export::{
    device_blob, encoder_only_blob, export_blob, export_checked, measure_precision, round_trip,
    send_receive, PrecisionReport,
};
pub use model::{init_stack, FloatLayer, FloatModel, FloatQuantizer};
pub use rng::Rng;
