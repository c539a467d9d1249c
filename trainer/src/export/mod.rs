//! What leaves the trainer: the core's blob for every precision, with each precision's
//! error against f32 measured through the core ([`blob`]), the blob as Rust or C source
//! ([`source`]), and the LoRaWAN network server's payload codec ([`lorawan`]).

pub mod blob;
pub mod lorawan;
pub mod source;

pub use blob::{
    channel_names, default_tolerance, device_blob, encoder_only_blob, export_blob, export_checked,
    measure_precision, round_trip, send_receive, signal_rms, PrecisionReport,
};
