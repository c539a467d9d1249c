//! aecodec-firmware: the on-device half of aecodec, `no_std` and heap-free.
//!
//! A [`Pipeline`] takes samples from any [`Sensor`], fills a [`WindowBuffer`] sized at
//! compile time, encodes each full window with the core's [`aecodec_core::Codec`], and
//! writes the framed payload to an [`embedded_io::Write`] sink (a UART or a modem).
//! Sensor failures, dropped windows, sent packets and write failures are counted; a
//! failing sensor is retried a bounded number of times and never stalls the loop.
//!
//! ```
//! # fn run<S: aecodec_firmware::Sensor, W: embedded_io::Write>(
//! #     model: &aecodec_core::Model<'_>, sensor: &mut S, uart: &mut W,
//! # ) -> Result<(), aecodec_firmware::PipelineError> {
//! use aecodec_firmware::{Config, Event, Pipeline};
//! let mut config = Config::default(); // windows do not overlap, no retries, no refinement
//! config.retries = 2;
//! // 192 values per window (64 samples × 3 axes), scratch for layers up to 256 wide:
//! // both checked against the model here, as are its channels and the hop.
//! let mut pipe = Pipeline::<'_, 192, 256>::new(model, config)?;
//! loop {
//!     // Once per sample, e.g. from a timer at the model's sample rate.
//!     match pipe.poll(sensor, uart) {
//!         Event::Sent { sequence, .. } => { /* a frame left with this counter */ }
//!         Event::SensorFailed | Event::SamplesLost { .. } | Event::WriteFailed => {
//!             // counted in pipe.counters(); the pipeline goes on by itself
//!         }
//!         _ => {}
//!     }
//! #   break;
//! }
//! # Ok(()) }
//! ```
//!
//! A link that frames payloads itself takes them from [`Pipeline::poll_payload`]; with
//! the cargo feature `lorawan`, `lorawan::Uplink` sends them through a LoRaWAN stack,
//! and a ladder of models ([`Pipeline::ladder`]) follows the payload size of the data
//! rate the network chooses.
//!
//! With the cargo feature `defmt`, [`Event`], [`Counters`], [`PipelineError`] and the
//! sensors' errors implement `defmt::Format`, as do the core's `Error`, `Precision` and
//! `SequenceEvent` (the feature turns on `aecodec-core/defmt`), so a device can log them
//! with defmt.
#![no_std]
#![warn(missing_docs)]
#![forbid(unsafe_code)]

#[cfg(feature = "lorawan")]
pub mod lorawan;
mod pipeline;
pub mod sensor;
mod window;

pub use pipeline::{
    Config, Counters, Event, Pipeline, PipelineError, Sensor, FRAME_CAPACITY, MAX_CHANNELS,
    MAX_RUNGS,
};
pub use sensor::lis3dh::Lis3dh;
pub use sensor::sim::SimLis3dh;
pub use window::WindowBuffer;

/// Word alignment for a model blob in flash. The exporter aligns every layer's weights to
/// 4 bytes from the blob's start; stored at an aligned address, the Cortex-M4 kernel can
/// then read them with LDRD (an unaligned blob still works, more slowly):
///
/// ```ignore
/// static MODEL: &Aligned<[u8]> = &Aligned(*include_bytes!("model.aem"));
/// let model = aecodec_core::Model::from_bytes(&MODEL.0)?;
/// ```
#[repr(C, align(4))]
pub struct Aligned<T: ?Sized>(pub T);
