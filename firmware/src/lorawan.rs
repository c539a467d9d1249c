//! Payloads to a LoRaWAN network (feature `lorawan`), through lora-rs's
//! [`lorawan_device`] stack: its async [`Device`] over any radio that implements its
//! [`PhyRxTx`] (e.g. `lora-phy`'s SX126x and SX127x drivers).
//!
//! LoRaWAN frames, encrypts and authenticates payloads itself, so the pipeline hands it
//! payloads, not COBS frames ([`Pipeline::poll_payload`](crate::Pipeline::poll_payload)).
//! An [`Uplink`] sends each model's payloads on that model's FPort, and says how many
//! bytes an uplink carries at the data rate the network has the device on now
//! ([`Uplink::capacity`]), which the pipeline's ladder follows
//! ([`Pipeline::set_capacity`](crate::Pipeline::set_capacity)):
//!
//! ```ignore
//! let mut pipe = Pipeline::<'_, 192, 256>::ladder(&[&model_11b, &model_24b, &model_48b], config)?;
//! let mut uplink = Uplink::new(device, &[11, 24, 48])?; // FPort of each model
//! uplink.join(&join_mode).await?;
//! pipe.set_capacity(uplink.capacity());
//! loop {
//!     tick.await; // once per sample
//!     if let (Event::Encoded { rung, .. }, Some(payload)) = pipe.poll_payload(&mut sensor) {
//!         let _ = uplink.send(payload.as_bytes(), rung).await; // counted either way
//!         pipe.set_capacity(uplink.capacity()); // the network may have moved the data rate
//!     }
//! }
//! ```
//!
//! A Class A uplink takes the airtime and both receive windows (a second or more), so a
//! device that samples while it sends runs the pipeline and the uplink in two tasks,
//! with a queue of payloads between them.

use aecodec_core::airtime::LORAWAN_MAC_OVERHEAD;
use lorawan_device::async_device::radio::{PhyRxTx, Timer};
use lorawan_device::async_device::Timings;
use lorawan_device::async_device::{Device, Error as StackError, JoinResponse, SendResponse};
use lorawan_device::region::{Configuration, DR};
use lorawan_device::{CryptoFactory, JoinMode, RngCore};

use crate::{PipelineError, MAX_RUNGS};

/// The most application payload bytes an uplink carries at `dr` in `region`: the
/// region's largest MAC payload at that data rate (with or without the dwell-time limit
/// some regions set) less the frame header and FPort
/// ([`LORAWAN_MAC_OVERHEAD`]), 0 for a data
/// rate the region lacks. With
/// MAC command answers in the frame header (FOpts, up to 15 bytes), less still:
/// [`Uplink::set_reserve`].
pub fn max_payload(region: &Configuration, dr: DR, dwell_time: bool) -> usize {
    usize::from(region.get_max_payload_length(dr, false, dwell_time))
        .saturating_sub(LORAWAN_MAC_OVERHEAD)
}

/// What an [`Uplink`] did; all counters wrap at `u32::MAX`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct UplinkCounters {
    /// Join attempts (OTAA join requests sent).
    pub join_attempts: u32,
    /// Uplinks the radio sent.
    pub sent: u32,
    /// Payloads refused before the radio: larger than the data rate allows, or of a
    /// model with no FPort.
    pub refused: u32,
    /// Uplinks the radio or the stack failed to send.
    pub failed: u32,
    /// Downlinks received (application data or MAC commands for the device).
    pub downlinks: u32,
}

/// A LoRaWAN device that sends the payloads of a ladder of models, each model's on its
/// own FPort.
pub struct Uplink<R, C, T, G>
where
    R: PhyRxTx + Timings,
    C: CryptoFactory + Default,
    T: Timer,
    G: RngCore,
{
    device: Device<R, C, T, G>,
    ports: [u8; MAX_RUNGS],
    rungs: usize,
    dwell_time: bool,
    reserve: usize,
    radio_error: Option<R::PhyError>,
    counters: UplinkCounters,
}

impl<R, C, T, G> Uplink<R, C, T, G>
where
    R: PhyRxTx + Timings,
    C: CryptoFactory + Default,
    T: Timer,
    G: RngCore,
{
    /// An uplink through `device` for the models of a ladder, model *i*'s payloads on
    /// `ports[i]`. Refused: no ports or more than [`MAX_RUNGS`], a port outside 1..=223
    /// (0 carries MAC commands, 224 and up are reserved), or a port given twice (the
    /// receiver routes by FPort).
    pub fn new(device: Device<R, C, T, G>, ports: &[u8]) -> Result<Self, PipelineError> {
        if ports.is_empty() || ports.len() > MAX_RUNGS {
            return Err(PipelineError::LadderSize { given: ports.len() });
        }
        let mut table = [0u8; MAX_RUNGS];
        for (i, (&port, slot)) in ports.iter().zip(table.iter_mut()).enumerate() {
            let repeated = ports.get(..i).is_some_and(|before| before.contains(&port));
            if !aecodec_core::APPLICATION_PORTS.contains(&port) || repeated {
                return Err(PipelineError::BadPort { port });
            }
            *slot = port;
        }
        Ok(Uplink {
            device,
            ports: table,
            rungs: ports.len(),
            dwell_time: false,
            reserve: 0,
            radio_error: None,
            counters: UplinkCounters::default(),
        })
    }

    /// Applies the region's uplink dwell-time limit to [`Uplink::capacity`] (AS923 and
    /// AU915 lower some data rates' payloads under it; off by default, as the stack
    /// sends).
    pub fn set_dwell_time(&mut self, on: bool) {
        self.dwell_time = on;
    }

    /// Keeps `bytes` of every uplink free of application data, for MAC command answers
    /// the stack adds to the frame header (FOpts, at most 15 bytes). The stack does not
    /// shorten a frame that grows past the data rate's limit with them; a network that
    /// sends MAC commands (ADR, device status) needs the room. Default 0.
    pub fn set_reserve(&mut self, bytes: usize) {
        self.reserve = bytes.min(15);
    }

    /// The most payload bytes the next uplink carries, at the device's current data rate.
    pub fn capacity(&mut self) -> usize {
        let dr = self.device.get_datarate();
        let dwell = self.dwell_time;
        max_payload(self.device.get_region(), dr, dwell).saturating_sub(self.reserve)
    }

    /// The LoRaWAN stack, for what this does not cover (data rate, session, downlinks).
    pub fn device(&mut self) -> &mut Device<R, C, T, G> {
        &mut self.device
    }

    /// The counters.
    pub fn counters(&self) -> UplinkCounters {
        self.counters
    }

    /// The radio's last error, taken (a [`PipelineError::Radio`] leaves it here).
    pub fn take_radio_error(&mut self) -> Option<R::PhyError> {
        self.radio_error.take()
    }

    /// Joins the network (one OTAA join request and its receive windows, or an ABP
    /// session at once): `true` when joined, `false` when no join accept came (try again
    /// later, as the regional duty cycle allows).
    pub async fn join(&mut self, mode: &JoinMode) -> Result<bool, PipelineError> {
        if matches!(mode, JoinMode::OTAA { .. }) {
            self.counters.join_attempts = self.counters.join_attempts.wrapping_add(1);
        }
        match self.device.join(mode).await {
            Ok(JoinResponse::JoinSuccess) => Ok(true),
            Ok(JoinResponse::NoJoinAccept) => Ok(false),
            Err(e) => Err(self.failed(e)),
        }
    }

    /// Sends a payload of model `rung` of the ladder as an unconfirmed uplink on its
    /// FPort, after checking that it fits the data rate ([`Uplink::capacity`]). Refused
    /// without sending: a rung with no port ([`PipelineError::NoRung`]), a payload too
    /// large ([`PipelineError::TooLarge`]: encode with the model
    /// [`Pipeline::set_capacity`](crate::Pipeline::set_capacity) chooses), or no session
    /// ([`PipelineError::NotJoined`]).
    pub async fn send(
        &mut self,
        payload: &[u8],
        rung: usize,
    ) -> Result<SendResponse, PipelineError> {
        let port = match self.ports.get(..self.rungs).and_then(|p| p.get(rung)) {
            Some(&p) => p,
            None => {
                self.counters.refused = self.counters.refused.wrapping_add(1);
                return Err(PipelineError::NoRung {
                    rung,
                    rungs: self.rungs,
                });
            }
        };
        let capacity = self.capacity();
        if payload.len() > capacity {
            self.counters.refused = self.counters.refused.wrapping_add(1);
            return Err(PipelineError::TooLarge {
                bytes: payload.len(),
                capacity,
            });
        }
        match self.device.send(payload, port, false).await {
            Ok(response) => {
                self.counters.sent = self.counters.sent.wrapping_add(1);
                if matches!(response, SendResponse::DownlinkReceived(_)) {
                    self.counters.downlinks = self.counters.downlinks.wrapping_add(1);
                }
                Ok(response)
            }
            Err(e) => Err(self.failed(e)),
        }
    }

    /// Counts a failure of the stack and says what it was.
    fn failed(&mut self, e: StackError<R::PhyError>) -> PipelineError {
        self.counters.failed = self.counters.failed.wrapping_add(1);
        match e {
            StackError::Radio(r) => {
                self.radio_error = Some(r);
                PipelineError::Radio
            }
            StackError::Mac(lorawan_device::mac::Error::NotJoined) => PipelineError::NotJoined,
            StackError::Mac(_) => PipelineError::Stack,
        }
    }
}
