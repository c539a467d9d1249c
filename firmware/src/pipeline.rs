//! Sensor → window → encode → frame → writer, with counters.

use aecodec_core::{
    encode_frame, max_frame_len, Codec, Error as CoreError, Meta, Model, MAX_PAYLOAD_BYTES,
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
}

/// Why a pipeline could not be built.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum PipelineError {
    /// The core refused the model or the scratch size.
    Core(CoreError),
    /// The window buffer's size does not match the model's input.
    WindowShape {
        /// Values per window the model takes.
        model_inputs: usize,
        /// Values per window of the buffer (`N`).
        window: usize,
        /// Channels per sample.
        channels: usize,
    },
}

/// The on-device loop body: `N` values per window, `S` scratch elements.
pub struct Pipeline<'m, const N: usize, const S: usize> {
    codec: Codec<'m, S>,
    window: WindowBuffer<N>,
    retries: u8,
    sequence: u16,
    label: u16,
    /// Encoder refinement passes (feature `refine`).
    #[cfg(feature = "refine")]
    refine: u8,
    counters: Counters,
}

impl<'m, const N: usize, const S: usize> Pipeline<'m, N, S> {
    /// A pipeline for `model`, with `channels` values per sample, a new window every
    /// `hop` samples, and up to `retries` extra attempts per failed sensor read.
    pub fn new(
        model: &'m Model<'m>,
        channels: usize,
        hop: usize,
        retries: u8,
    ) -> Result<Self, PipelineError> {
        let codec = Codec::new(model).map_err(PipelineError::Core)?;
        let shape_err = PipelineError::WindowShape {
            model_inputs: model.input_dim(),
            window: N,
            channels,
        };
        if model.input_dim() != N {
            return Err(shape_err);
        }
        let window = WindowBuffer::new(channels, hop).ok_or(shape_err)?;
        Ok(Pipeline {
            codec,
            window,
            retries,
            sequence: 0,
            label: 0,
            #[cfg(feature = "refine")]
            refine: 0,
            counters: Counters::default(),
        })
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
    /// blob: refused on an encoder-only one. The search runs the decoder once, then up to
    /// twice per latent dimension per pass, so budget the time per window before turning
    /// it on.
    ///
    /// Feature `refine` (a default one): without it the firmware links no decoder code.
    #[cfg(feature = "refine")]
    pub fn set_refine(&mut self, passes: u8) -> Result<(), CoreError> {
        if passes > 0 {
            self.codec.model().check_decoder()?;
        }
        self.refine = passes;
        Ok(())
    }

    /// The counters.
    pub fn counters(&self) -> Counters {
        self.counters
    }

    /// Reads one sample (with retries); when it completes a window, encodes it and
    /// writes one frame to `out`. Returns the payload bytes sent, if any.
    pub fn poll<Se: Sensor, W: embedded_io::Write>(
        &mut self,
        sensor: &mut Se,
        out: &mut W,
    ) -> Option<usize> {
        let mut sample = [0.0f32; 16];
        let ch = self.window.channels().min(sample.len());
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
            if !self.window.is_empty() {
                self.counters.dropped_windows = self.counters.dropped_windows.wrapping_add(1);
            }
            self.window.clear();
            return None;
        }
        self.counters.samples = self.counters.samples.wrapping_add(1);
        let lost = sensor.take_lost_samples();
        if lost > 0 {
            // A window with a hole in it would be encoded on a stretched time base: drop
            // what was gathered, and start again from this (new, whole) sample.
            self.counters.lost_samples = self.counters.lost_samples.wrapping_add(lost);
            if !self.window.is_empty() {
                self.counters.dropped_windows = self.counters.dropped_windows.wrapping_add(1);
            }
            self.window.clear();
        }
        let window = self.window.push(sample.get(..ch).unwrap_or(&[]))?;
        let meta = Meta {
            sequence: self.sequence,
            label: self.label,
        };
        // Cannot fail: the window length matches the model, the label was checked, and
        // refinement is only on with a decoder.
        #[cfg(feature = "refine")]
        let payload = self.codec.encode_refined(window, meta, self.refine).ok()?;
        #[cfg(not(feature = "refine"))]
        let payload = self.codec.encode(window, meta).ok()?;
        self.sequence = self.sequence.wrapping_add(1);
        let mut frame = [0u8; FRAME_CAPACITY];
        let n = encode_frame(payload.as_bytes(), &mut frame).ok()?;
        match out.write_all(frame.get(..n).unwrap_or(&[])) {
            Ok(()) => {
                self.counters.packets_sent = self.counters.packets_sent.wrapping_add(1);
                Some(payload.as_bytes().len())
            }
            Err(_) => {
                self.counters.write_errors = self.counters.write_errors.wrapping_add(1);
                None
            }
        }
    }
}
