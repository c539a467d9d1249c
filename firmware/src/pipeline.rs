//! Sensor → window → encode → frame → writer, with counters; or sensor → window →
//! encode → payload, for a link that frames payloads itself (LoRaWAN).

use aecodec_core::{
    encode_frame, max_frame_len, Codec, Error as CoreError, Meta, Model, Payload, MAX_PAYLOAD_BYTES,
};

use crate::WindowBuffer;

/// Largest frame the pipeline writes.
pub const FRAME_CAPACITY: usize = max_frame_len(MAX_PAYLOAD_BYTES);

/// A source of samples in physical units (e.g. mg), one call per sample.
pub trait Sensor {
    /// The sensor's error (keeps the bus error).
    type Error;
    /// Reads one sample into `out` (one value per channel).
    fn read(&mut self, out: &mut [f32]) -> Result<(), Self::Error>;
    /// Samples the sensor produced and overwrote unread since the last call (at least
    /// this many: a sensor's overrun flag says only that one or more were lost). The
    /// pipeline asks after every successful read. The default: a sensor that never
    /// loses samples.
    fn take_lost_samples(&mut self) -> u32 {
        0
    }
}

/// What happened so far; all counters wrap at `u32::MAX`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Counters {
    /// Samples read successfully.
    pub samples: u32,
    /// Failed sensor reads (each retry counts).
    pub sensor_errors: u32,
    /// Windows abandoned because a sample could not be read, or because the sensor
    /// lost samples inside them.
    pub dropped_windows: u32,
    /// Samples the sensor overwrote before they were read (at least this many; see
    /// [`Sensor::take_lost_samples`]).
    pub lost_samples: u32,
    /// Frames written completely.
    pub packets_sent: u32,
    /// Frames the writer failed to take.
    pub write_errors: u32,
    /// Windows dropped because no model of the ladder makes a payload small enough for
    /// the capacity the link has ([`Pipeline::set_capacity`]).
    pub oversize_windows: u32,
}

/// Most channels per sample a pipeline reads (the size of its sample buffer).
pub const MAX_CHANNELS: usize = 16;

/// Most models in a ladder ([`Pipeline::ladder`]).
pub const MAX_RUNGS: usize = 8;

/// How a pipeline runs: `Config::default()`, then assign the fields to change
/// (`let mut c = Config::default(); c.retries = 2;`). The struct is `#[non_exhaustive]`,
/// as embassy's driver configs are, so that a new field with a default breaks no caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Config {
    /// Samples between the starts of consecutive windows: 1 to the window's samples.
    /// `None` (the default) is a whole window: windows do not overlap.
    pub hop: Option<usize>,
    /// Extra attempts per failed sensor read (default 0: one attempt per sample).
    pub retries: u8,
    /// Encoder refinement passes ([`Pipeline::set_refine`]; default 0, the plain
    /// encoder). Needs a full blob.
    #[cfg(feature = "refine")]
    pub refine: u8,
    /// The first window's sequence counter (default 0; in a ladder, each model's). A
    /// device that keeps its counter across resets (a backup register, flash) starts
    /// from the value it saved ([`Pipeline::next_sequence`]): the receiver then sees no
    /// restart, and losses around the reset are counted. From 0, a receiver reads the
    /// reset as a restart (`spec/packet-format.md`, "Sequence counter").
    pub first_sequence: u16,
}

/// Why a pipeline could not be built.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum PipelineError {
    /// The core refused the model or the scratch size, or refinement without a decoder.
    Core(CoreError),
    /// The window buffer's size does not match the model's input.
    WindowShape {
        /// Values per window the model takes.
        model_inputs: usize,
        /// Values per window of the buffer (`N`).
        window: usize,
    },
    /// The model's samples have more channels than the pipeline reads.
    TooManyChannels {
        /// Channels per sample of the model.
        channels: usize,
        /// [`MAX_CHANNELS`].
        max: usize,
    },
    /// [`Config::hop`] is 0 or longer than a window.
    BadHop {
        /// The hop asked for, in samples.
        hop: usize,
        /// Samples per window.
        samples: usize,
    },
    /// A ladder of no models, or of more than [`MAX_RUNGS`].
    LadderSize {
        /// Models given.
        given: usize,
    },
    /// A model of a ladder takes other windows than the first (samples, channels,
    /// labels or sample rate), so one window buffer cannot feed both.
    LadderShape {
        /// The model's place in the ladder.
        rung: usize,
    },
    /// A model of a ladder makes payloads no longer than the one before it: a ladder
    /// goes from the smallest payload to the largest.
    LadderOrder {
        /// The model's place in the ladder.
        rung: usize,
        /// Its payload bytes.
        bytes: usize,
        /// The payload bytes of the model before it.
        before: usize,
    },
    /// The link takes no payloads of this size.
    TooLarge {
        /// The payload's bytes.
        bytes: usize,
        /// The most the link takes now.
        capacity: usize,
    },
    /// No such model in the ladder.
    NoRung {
        /// The place asked for.
        rung: usize,
        /// Models in the ladder.
        rungs: usize,
    },
    /// A LoRaWAN FPort an application payload cannot use (1 to 223), or one given twice.
    BadPort {
        /// The port.
        port: u8,
    },
    /// The LoRaWAN stack is not joined to a network.
    NotJoined,
    /// The radio failed (its error: `Uplink::take_radio_error`).
    Radio,
    /// The LoRaWAN stack answered in a way it should not have.
    Stack,
}

/// What one [`Pipeline::poll`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Event {
    /// A sample went into the window, which is not full yet.
    Buffered,
    /// A sample completed a window, and its frame was written.
    Sent {
        /// Payload bytes in the frame.
        payload_bytes: usize,
        /// The payload's sequence counter (before truncation to the model's bits).
        sequence: u16,
        /// The model that encoded it: its place in the ladder (0 with one model).
        rung: usize,
    },
    /// A sample completed a window, and [`Pipeline::poll_payload`] returns its payload.
    Encoded {
        /// Payload bytes.
        payload_bytes: usize,
        /// The payload's sequence counter (before truncation to the model's bits).
        sequence: u16,
        /// The model that encoded it: its place in the ladder (0 with one model).
        rung: usize,
    },
    /// A sample completed a window, but no model of the ladder fits the link's capacity
    /// ([`Pipeline::set_capacity`]): the window was dropped.
    NoRoom {
        /// The capacity in bytes.
        capacity: usize,
    },
    /// The sensor failed every attempt (`retries` + 1); the window being filled, if
    /// any, was dropped.
    SensorFailed,
    /// The sensor lost samples before this one; the window being filled was dropped and
    /// a new one starts with this sample.
    SamplesLost {
        /// Samples lost (at least; see [`Sensor::take_lost_samples`]).
        lost: u32,
    },
    /// A window was encoded (its sequence number is used) but the writer failed to take
    /// its frame.
    WriteFailed,
}

/// The on-device loop body: `N` values per window, `S` scratch elements.
///
/// One model, or a ladder of models of one window shape and growing payload sizes
/// ([`Pipeline::ladder`]), of which each window is encoded by the largest that fits the
/// link's current capacity ([`Pipeline::set_capacity`]). One codec's buffers serve every
/// model of the ladder.
pub struct Pipeline<'m, const N: usize, const S: usize> {
    codec: Codec<'m, S>,
    window: WindowBuffer<N>,
    retries: u8,
    /// The ladder's models, smallest payload first; `rungs[..count]` are used.
    rungs: [&'m Model<'m>; MAX_RUNGS],
    count: usize,
    /// Each model's next sequence counter: every model's payloads make their own stream
    /// at the receiver, which follows each stream's counter.
    sequences: [u16; MAX_RUNGS],
    /// The model that encodes the next window; `None`: none fits the capacity.
    rung: Option<usize>,
    /// The capacity [`Pipeline::set_capacity`] was last given (`usize::MAX` before).
    capacity: usize,
    label: u16,
    /// Encoder refinement passes (feature `refine`).
    #[cfg(feature = "refine")]
    refine: u8,
    counters: Counters,
}

impl<'m, const N: usize, const S: usize> Pipeline<'m, N, S> {
    /// A pipeline for `model`: samples of the model's channels, windows of its input,
    /// run as `config` says. Every limit is checked here: the scratch and window sizes,
    /// the channel count, the hop, and refinement (which needs a decoder).
    pub fn new(model: &'m Model<'m>, config: Config) -> Result<Self, PipelineError> {
        Self::ladder(&[model], config)
    }

    /// A pipeline for a ladder of models (at most [`MAX_RUNGS`]) that take the same
    /// windows (samples, channels, labels) and make payloads of growing size, smallest
    /// first: a link whose payload size changes (LoRaWAN's data rates) sends each window
    /// with the largest model that fits ([`Pipeline::set_capacity`]). Until told a
    /// capacity, the pipeline uses the largest. Each model counts its own sequence.
    /// Checked as [`Pipeline::new`] checks one model, for each.
    pub fn ladder(models: &[&'m Model<'m>], config: Config) -> Result<Self, PipelineError> {
        let (Some(&first), Some(&last)) = (models.first(), models.last()) else {
            return Err(PipelineError::LadderSize { given: 0 });
        };
        if models.len() > MAX_RUNGS {
            return Err(PipelineError::LadderSize {
                given: models.len(),
            });
        }
        let mut codec = Codec::new(first).map_err(PipelineError::Core)?;
        if first.input_dim() != N {
            return Err(PipelineError::WindowShape {
                model_inputs: first.input_dim(),
                window: N,
            });
        }
        let channels = first.channels();
        if channels > MAX_CHANNELS {
            return Err(PipelineError::TooManyChannels {
                channels,
                max: MAX_CHANNELS,
            });
        }
        let samples = first.samples();
        let hop = config.hop.unwrap_or(samples);
        // The model validated that its channels divide its input: only the hop can be off.
        let window =
            WindowBuffer::new(channels, hop).ok_or(PipelineError::BadHop { hop, samples })?;
        let mut rungs = [first; MAX_RUNGS];
        for (rung, (&m, slot)) in models.iter().zip(rungs.iter_mut()).enumerate() {
            if m.input_dim() != N
                || m.channels() != channels
                || m.label_count() != first.label_count()
                || m.sample_rate_hz() != first.sample_rate_hz()
            {
                return Err(PipelineError::LadderShape { rung });
            }
            if let Some(before) = rung.checked_sub(1).and_then(|r| models.get(r)) {
                let (bytes, before) = (payload_bytes(m), payload_bytes(before));
                if bytes <= before {
                    return Err(PipelineError::LadderOrder {
                        rung,
                        bytes,
                        before,
                    });
                }
            }
            // Checks that the codec's buffers hold every model.
            codec.set_model(m).map_err(PipelineError::Core)?;
            *slot = m;
        }
        // The largest model, until a capacity is given.
        codec.set_model(last).map_err(PipelineError::Core)?;
        #[cfg_attr(not(feature = "refine"), allow(unused_mut))]
        let mut pipe = Pipeline {
            codec,
            window,
            retries: config.retries,
            rungs,
            count: models.len(),
            sequences: [config.first_sequence; MAX_RUNGS],
            rung: Some(models.len() - 1),
            capacity: usize::MAX,
            label: 0,
            #[cfg(feature = "refine")]
            refine: 0,
            counters: Counters::default(),
        };
        #[cfg(feature = "refine")]
        pipe.set_refine(config.refine)
            .map_err(PipelineError::Core)?;
        Ok(pipe)
    }

    /// Sets the label sent with the next windows (conditional models).
    /// Refused if the model has no such label.
    pub fn set_label(&mut self, label: u16) -> Result<(), CoreError> {
        let count = self.codec.model().label_count();
        if count > 0 && label >= count {
            return Err(CoreError::BadLabel { label, count });
        }
        self.label = label;
        Ok(())
    }

    /// Refines each window's codes for up to `passes` passes before sending
    /// ([`Codec::encode_refined`]; 0, the default, is the plain encoder). Needs the full
    /// blob (of every model of a ladder): refused on an encoder-only one. The search runs
    /// the decoder once, then up to twice per latent dimension per pass, so budget the
    /// time per window before turning it on.
    ///
    /// Feature `refine` (a default one): without it the firmware links no decoder code.
    #[cfg(feature = "refine")]
    pub fn set_refine(&mut self, passes: u8) -> Result<(), CoreError> {
        if passes > 0 {
            for m in self.models() {
                m.check_decoder()?;
            }
        }
        self.refine = passes;
        Ok(())
    }

    /// The most payload bytes the link takes now (e.g. a LoRaWAN data rate's, which
    /// changes with it): the next windows are encoded by the largest model of the ladder
    /// whose payloads fit, which this returns (its place, smallest first). `None`: no
    /// model fits, and windows are dropped ([`Event::NoRoom`]) until a capacity that
    /// fits is given.
    pub fn set_capacity(&mut self, bytes: usize) -> Option<usize> {
        self.capacity = bytes;
        let rung = self
            .models()
            .iter()
            .rposition(|m| payload_bytes(m) <= bytes);
        self.rung = rung;
        if let Some(m) = self.rung.and_then(|r| self.rungs.get(r)) {
            // Cannot fail: `ladder` checked the buffers against every model.
            let _ = self.codec.set_model(m);
        }
        self.rung
    }

    /// The ladder's models, smallest payload first (one for [`Pipeline::new`]).
    pub fn models(&self) -> &[&'m Model<'m>] {
        self.rungs.get(..self.count).unwrap_or(&[])
    }

    /// The model that encodes the next window (its place in the ladder), or `None` when
    /// none fits the capacity.
    pub fn rung(&self) -> Option<usize> {
        self.rung
    }

    /// The sequence counter the next window is sent with (by the model that encodes it
    /// now; the largest when none fits): the value to keep across a reset
    /// ([`Config::first_sequence`]). In a ladder each model counts its own.
    pub fn next_sequence(&self) -> u16 {
        let rung = self.rung.unwrap_or(self.count.saturating_sub(1));
        self.sequences.get(rung).copied().unwrap_or(0)
    }

    /// The counters.
    pub fn counters(&self) -> Counters {
        self.counters
    }

    /// Reads one sample (with retries); when it completes a window, encodes it and
    /// writes one frame to `out`. Says what happened; the counters keep the totals.
    pub fn poll<Se: Sensor, W: embedded_io::Write>(
        &mut self,
        sensor: &mut Se,
        out: &mut W,
    ) -> Event {
        let (event, payload) = self.poll_payload(sensor);
        let (
            Some(payload),
            Event::Encoded {
                payload_bytes,
                sequence,
                rung,
            },
        ) = (payload, event)
        else {
            return event;
        };
        let mut frame = [0u8; FRAME_CAPACITY];
        // Cannot fail: FRAME_CAPACITY holds the frame of the largest payload.
        let n = encode_frame(payload.as_bytes(), &mut frame).unwrap_or(0);
        debug_assert!(n > 0);
        match out.write_all(frame.get(..n).unwrap_or(&[])) {
            Ok(()) => {
                self.counters.packets_sent = self.counters.packets_sent.wrapping_add(1);
                Event::Sent {
                    payload_bytes,
                    sequence,
                    rung,
                }
            }
            Err(_) => {
                self.counters.write_errors = self.counters.write_errors.wrapping_add(1);
                Event::WriteFailed
            }
        }
    }

    /// Reads one sample (with retries); when it completes a window, encodes it and
    /// returns the payload (with [`Event::Encoded`]), for a link that carries payloads
    /// as they are (LoRaWAN: the `lorawan` module, feature `lorawan`). A payload is
    /// counted as sent by the link that sends it, not here.
    pub fn poll_payload<Se: Sensor>(&mut self, sensor: &mut Se) -> (Event, Option<Payload>) {
        let mut sample = [0.0f32; MAX_CHANNELS];
        // `new` checked the channels against MAX_CHANNELS.
        let ch = self.window.channels();
        debug_assert!(ch <= MAX_CHANNELS);
        let dst = sample.get_mut(..ch).unwrap_or(&mut []);
        let mut ok = false;
        for _ in 0..=self.retries {
            match sensor.read(dst) {
                Ok(()) => {
                    ok = true;
                    break;
                }
                Err(_) => self.counters.sensor_errors = self.counters.sensor_errors.wrapping_add(1),
            }
        }
        if !ok {
            self.drop_window();
            return (Event::SensorFailed, None);
        }
        self.counters.samples = self.counters.samples.wrapping_add(1);
        let lost = sensor.take_lost_samples();
        if lost > 0 {
            // A window with a hole in it would be encoded on a stretched time base: drop
            // what was gathered, and start again from this (new, whole) sample.
            self.counters.lost_samples = self.counters.lost_samples.wrapping_add(lost);
            self.drop_window();
        }
        let idle = if lost > 0 {
            Event::SamplesLost { lost }
        } else {
            Event::Buffered
        };
        let Some(window) = self.window.push(sample.get(..ch).unwrap_or(&[])) else {
            return (idle, None);
        };
        let (Some(rung), Some(sequence)) =
            (self.rung, self.rung.and_then(|r| self.sequences.get_mut(r)))
        else {
            self.counters.oversize_windows = self.counters.oversize_windows.wrapping_add(1);
            return (
                Event::NoRoom {
                    capacity: self.capacity,
                },
                None,
            );
        };
        let meta = Meta {
            sequence: *sequence,
            label: self.label,
        };
        // Cannot fail: the window length matches the model (checked in `new`), the label
        // was checked, and refinement is only on with a decoder.
        #[cfg(feature = "refine")]
        let encoded = self.codec.encode_refined(window, meta, self.refine);
        #[cfg(not(feature = "refine"))]
        let encoded = self.codec.encode(window, meta);
        let payload = match encoded {
            Ok(p) => p,
            Err(_) => {
                debug_assert!(false, "encode refused a window the pipeline checked");
                return (idle, None);
            }
        };
        *sequence = sequence.wrapping_add(1);
        let event = Event::Encoded {
            payload_bytes: payload.as_bytes().len(),
            sequence: meta.sequence,
            rung,
        };
        (event, Some(payload))
    }

    /// Abandons the window being filled, counting it if it held samples.
    fn drop_window(&mut self) {
        if !self.window.is_empty() {
            self.counters.dropped_windows = self.counters.dropped_windows.wrapping_add(1);
        }
        self.window.clear();
    }
}

/// Bytes of a model's payloads.
fn payload_bytes(m: &Model<'_>) -> usize {
    usize::from(m.payload_layout().bytes)
}
