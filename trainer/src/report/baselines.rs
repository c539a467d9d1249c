//! The classical codecs the learned codec is compared with, at the same payload size:
//! a DCT transform coder ([`DctCodec`]) and "downsample + 8 bit" ([`DownsampleCodec`]).
//!
//! Both are real codecs, not error formulas: `encode` writes a bit-packed payload of
//! exactly the budgeted bytes and `decode` rebuilds the window from those bytes and the
//! codec's fitted parameters alone, so a comparison measures what a receiver would see.
//!
//! Payload layout, shared by both: the first `header_bits` bits are left zero for the
//! caller's own header (the learned codec's payload starts with its fingerprint and
//! sequence bits, so a baseline that did not pay for them would be compared unfairly),
//! then each code on its bit width, most significant bit first, then zero padding to
//! `payload_bytes`. `decode` ignores the header bits.

use aecodec_core::PayloadHeader;

use crate::data::Window;
use crate::float::code_budget;
use crate::linear::allocate_reachable;
use crate::linear::bits::{cell, centre};
use crate::linear::dct::Dct;
use crate::Error;

/// Widest code the DCT codec gives one coefficient. 12 bits (about 72 dB on that
/// coefficient) is what the PCA baseline allows too, and the budgets compared here
/// (tens of bytes over hundreds of coefficients) never come near it.
const DCT_MAX_BITS: u8 = 12;

/// Bits of each kept sample in the downsampling codec.
const SAMPLE_BITS: u8 = 8;

/// Per channel DCT, uniform quantization of each (channel, coefficient) on its own bit
/// width, bits allocated greedily on the error measured on the training windows.
/// Coefficients that earn no bits decode to their training mean.
#[derive(Debug, Clone)]
pub struct DctCodec {
    dct: Dct,
    channels: usize,
    payload_bytes: usize,
    header_bits: usize,
    /// Bits of coefficient `k` of channel `c` at `c * window + k`; payload order.
    bits: Vec<u8>,
    /// Quantizer range of each coefficient (meaningless where `bits` is 0).
    lo: Vec<f64>,
    hi: Vec<f64>,
    /// Training mean of each coefficient: the decoded value of an unsent one.
    mean: Vec<f64>,
}

impl DctCodec {
    /// Fits the codec to `train` (raw units, `channels` interleaved): the code gets
    /// `payload_bytes · 8 −` the header's bits, spread over coefficients where they cut
    /// the training error most, each coefficient with the range that suits its width.
    pub fn fit(
        train: &[Window],
        channels: usize,
        payload_bytes: usize,
        header: PayloadHeader,
    ) -> Result<DctCodec, Error> {
        let window = window_len(train, channels)?;
        let code_bits = code_budget(payload_bytes, header, 0, 1)?;
        let header_bits = header.bits();
        let dct = Dct::new(window)?;
        let mut coefs: Vec<Vec<f64>> = vec![Vec::with_capacity(train.len()); channels * window];
        for (w, _) in train {
            for c in 0..channels {
                let y = dct.forward(&channel_of(w, c, channels));
                for (k, v) in y.into_iter().enumerate() {
                    coefs[c * window + k].push(v);
                }
            }
        }
        // No coefficient can use more bits than the whole code has; capping the table
        // depth there saves measuring widths that cannot be chosen.
        let max_bits = DCT_MAX_BITS.min(u8::try_from(code_bits).unwrap_or(u8::MAX));
        let (bits, tables) =
            allocate_reachable(coefs.len(), |i| coefs[i].clone(), max_bits, code_bits);
        let pick = |i: usize| tables[i][usize::from(bits[i])];
        Ok(DctCodec {
            channels,
            payload_bytes,
            header_bits,
            lo: (0..bits.len()).map(|i| f64::from(pick(i).1)).collect(),
            hi: (0..bits.len()).map(|i| f64::from(pick(i).2)).collect(),
            mean: tables.iter().map(|t| f64::from(t[0].1)).collect(),
            bits,
            dct,
        })
    }

    /// Bits of each (channel, coefficient), at `channel * window + coefficient`, in
    /// payload order; their sum is at most `payload_bytes · 8 − header_bits`.
    pub fn bits(&self) -> &[u8] {
        &self.bits
    }

    /// Length of every payload, bytes.
    pub fn payload_bytes(&self) -> usize {
        self.payload_bytes
    }

    /// The payload of one window (raw units, channels interleaved), exactly
    /// [`DctCodec::payload_bytes`] long.
    ///
    /// # Panics
    /// If `window` does not have the training windows' length; [`DctCodec::round_trip`]
    /// checks this and returns an error instead.
    pub fn encode(&self, window: &[f32]) -> Vec<u8> {
        let w = self.dct.size();
        assert_eq!(window.len(), w * self.channels, "window length");
        let mut out = BitWriter::new(self.payload_bytes, self.header_bits);
        for c in 0..self.channels {
            let y = self.dct.forward(&channel_of(window, c, self.channels));
            for (k, v) in y.into_iter().enumerate() {
                let i = c * w + k;
                if self.bits[i] > 0 {
                    out.put(cell(v, self.lo[i], self.hi[i], self.bits[i]), self.bits[i]);
                }
            }
        }
        out.finish()
    }

    /// The window (raw units, channels interleaved) a payload stands for.
    pub fn decode(&self, payload: &[u8]) -> Result<Vec<f32>, Error> {
        check_payload_len(payload, self.payload_bytes, "DCT")?;
        let w = self.dct.size();
        let mut input = BitReader::new(payload, self.header_bits);
        let mut out = vec![0.0f32; w * self.channels];
        for c in 0..self.channels {
            let y: Vec<f64> = (c * w..(c + 1) * w)
                .map(|i| match self.bits[i] {
                    0 => self.mean[i],
                    b => centre(input.take(b), self.lo[i], self.hi[i], b),
                })
                .collect();
            for (t, v) in self.dct.inverse(&y).into_iter().enumerate() {
                out[t * self.channels + c] = v as f32;
            }
        }
        Ok(out)
    }

    /// Encodes then decodes every window, for [`crate::report::metrics::distortion`].
    pub fn round_trip(&self, windows: &[Window]) -> Result<Vec<Vec<f32>>, Error> {
        round_trip_with(windows, self.dct.size() * self.channels, |w| {
            self.decode(&self.encode(w))
        })
    }
}

/// "Downsample + 8 bit": per channel, the samples at evenly spaced positions, each
/// quantized to 8 bits over the channel's training min..max; decoding interpolates
/// linearly between them and holds the ends.
///
/// It keeps as many samples per channel as fit in the budget, so the spacing is
/// fractional in general (positions `round(i · (W−1)/(m−1))`).
#[derive(Debug, Clone)]
pub struct DownsampleCodec {
    window: usize,
    channels: usize,
    payload_bytes: usize,
    header_bits: usize,
    /// Kept sample positions, strictly increasing, the same in every channel.
    positions: Vec<usize>,
    /// Training min and max of each channel: the 8-bit levels span them exactly.
    lo: Vec<f64>,
    hi: Vec<f64>,
    /// 8 for every code (kept position × channel), for [`DownsampleCodec::bits`].
    bits: Vec<u8>,
}

impl DownsampleCodec {
    /// Fits the codec: as many kept samples per channel as fit in
    /// `payload_bytes · 8 −` the header's bits, channel ranges from `train`.
    /// Fails if not even one sample per channel fits.
    pub fn fit(
        train: &[Window],
        channels: usize,
        payload_bytes: usize,
        header: PayloadHeader,
    ) -> Result<DownsampleCodec, Error> {
        let window = window_len(train, channels)?;
        let per_sample = usize::from(SAMPLE_BITS) * channels;
        let header_bits = header.bits();
        let code_bits = code_budget(payload_bytes, header, 0, 1).unwrap_or(0);
        let kept = (code_bits / per_sample).min(window);
        if kept == 0 {
            return Err(Error::InvalidArgument(format!(
                "a {payload_bytes}-byte payload with a {header_bits}-bit header leaves {code_bits} \
                 bits, fewer than one {SAMPLE_BITS}-bit sample per channel needs ({per_sample} bits \
                 for {channels} channels)"
            )));
        }
        let positions: Vec<usize> = if kept == 1 {
            // One sample stands for the whole window: the middle is closest to all of it.
            vec![(window - 1) / 2]
        } else {
            // Consecutive positions are ≥ 1 apart before rounding, so they stay distinct.
            let step = (window - 1) as f64 / (kept - 1) as f64;
            (0..kept)
                .map(|i| (i as f64 * step).round() as usize)
                .collect()
        };
        let mut lo = vec![f64::MAX; channels];
        let mut hi = vec![f64::MIN; channels];
        for (w, _) in train {
            for (i, &v) in w.iter().enumerate() {
                lo[i % channels] = lo[i % channels].min(f64::from(v));
                hi[i % channels] = hi[i % channels].max(f64::from(v));
            }
        }
        Ok(DownsampleCodec {
            window,
            channels,
            payload_bytes,
            header_bits,
            bits: vec![SAMPLE_BITS; kept * channels],
            positions,
            lo,
            hi,
        })
    }

    /// Bits of each code in payload order (kept position, then channel): all 8.
    pub fn bits(&self) -> &[u8] {
        &self.bits
    }

    /// Positions kept in each channel, strictly increasing.
    pub fn positions(&self) -> &[usize] {
        &self.positions
    }

    /// Length of every payload, bytes.
    pub fn payload_bytes(&self) -> usize {
        self.payload_bytes
    }

    /// The payload of one window (raw units, channels interleaved), exactly
    /// [`DownsampleCodec::payload_bytes`] long. Codes go in time order, channels
    /// interleaved as in the window, so a sensor could emit them as samples arrive.
    ///
    /// # Panics
    /// If `window` does not have the training windows' length; use
    /// [`DownsampleCodec::round_trip`] for an error instead.
    pub fn encode(&self, window: &[f32]) -> Vec<u8> {
        assert_eq!(window.len(), self.window * self.channels, "window length");
        let levels = f64::from((1u32 << SAMPLE_BITS) - 1);
        let mut out = BitWriter::new(self.payload_bytes, self.header_bits);
        for &p in &self.positions {
            for c in 0..self.channels {
                let (lo, span) = (self.lo[c], self.hi[c] - self.lo[c]);
                let v = f64::from(window[p * self.channels + c]);
                // A constant training channel has span 0: every sample decodes to it.
                let code = if span > 0.0 {
                    ((v - lo) / span * levels).round().clamp(0.0, levels) as u32
                } else {
                    0
                };
                out.put(code, SAMPLE_BITS);
            }
        }
        out.finish()
    }

    /// The window (raw units, channels interleaved) a payload stands for.
    pub fn decode(&self, payload: &[u8]) -> Result<Vec<f32>, Error> {
        check_payload_len(payload, self.payload_bytes, "downsampling")?;
        let levels = f64::from((1u32 << SAMPLE_BITS) - 1);
        let mut input = BitReader::new(payload, self.header_bits);
        let mut kept = vec![vec![0.0f64; self.positions.len()]; self.channels];
        for j in 0..self.positions.len() {
            for (c, values) in kept.iter_mut().enumerate() {
                let span = self.hi[c] - self.lo[c];
                values[j] = self.lo[c] + f64::from(input.take(SAMPLE_BITS)) * span / levels;
            }
        }
        let mut out = vec![0.0f32; self.window * self.channels];
        for (c, values) in kept.iter().enumerate() {
            for (t, v) in interpolate(&self.positions, values, self.window)
                .into_iter()
                .enumerate()
            {
                out[t * self.channels + c] = v as f32;
            }
        }
        Ok(out)
    }

    /// Encodes then decodes every window, for [`crate::report::metrics::distortion`].
    pub fn round_trip(&self, windows: &[Window]) -> Result<Vec<Vec<f32>>, Error> {
        round_trip_with(windows, self.window * self.channels, |w| {
            self.decode(&self.encode(w))
        })
    }
}

/// Samples per channel of the training windows, after checking they are usable.
fn window_len(train: &[Window], channels: usize) -> Result<usize, Error> {
    let n = train.first().map_or(0, |w| w.0.len());
    if train.is_empty() {
        return Err(Error::InvalidArgument(
            "no training windows to fit a baseline on".into(),
        ));
    }
    if channels == 0 || n == 0 || !n.is_multiple_of(channels) {
        return Err(Error::InvalidArgument(format!(
            "{n} inputs per window do not split into {channels} channels"
        )));
    }
    for (i, (w, _)) in train.iter().enumerate() {
        if w.len() != n {
            return Err(Error::InvalidArgument(format!(
                "training window {i} has {} inputs, the first has {n}",
                w.len()
            )));
        }
        if let Some(j) = w.iter().position(|v| !v.is_finite()) {
            return Err(Error::InvalidArgument(format!(
                "training window {i} has a non-finite value at input {j}"
            )));
        }
    }
    Ok(n / channels)
}

fn round_trip_with(
    windows: &[Window],
    inputs: usize,
    codec: impl Fn(&[f32]) -> Result<Vec<f32>, Error>,
) -> Result<Vec<Vec<f32>>, Error> {
    windows
        .iter()
        .enumerate()
        .map(|(i, (w, _))| {
            if w.len() != inputs {
                return Err(Error::InvalidArgument(format!(
                    "window {i} has {} inputs, the codec was fitted on {inputs}",
                    w.len()
                )));
            }
            codec(w)
        })
        .collect()
}

fn check_payload_len(payload: &[u8], expected: usize, codec: &str) -> Result<(), Error> {
    if payload.len() == expected {
        Ok(())
    } else {
        Err(Error::InvalidArgument(format!(
            "payload is {} bytes, this {codec} codec's payloads are {expected} bytes",
            payload.len()
        )))
    }
}

/// One channel of an interleaved window.
fn channel_of(window: &[f32], c: usize, channels: usize) -> Vec<f64> {
    window
        .iter()
        .skip(c)
        .step_by(channels)
        .map(|&v| f64::from(v))
        .collect()
}

/// Linear interpolation of `values` at `positions` (strictly increasing, at least one)
/// onto `0..len`, holding the first and last value beyond the ends.
fn interpolate(positions: &[usize], values: &[f64], len: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(len);
    let mut j = 0;
    for t in 0..len {
        while j + 1 < positions.len() && positions[j + 1] <= t {
            j += 1;
        }
        let v = match (positions.get(j), positions.get(j + 1)) {
            (Some(&p0), Some(&p1)) if t >= p0 => {
                let a = (t - p0) as f64 / (p1 - p0) as f64;
                values[j] + a * (values[j + 1] - values[j])
            }
            // before the first kept sample, after the last, or a single kept sample
            _ => values.get(j).copied().unwrap_or(0.0),
        };
        out.push(v);
    }
    out
}

/// MSB-first bit packer into a zeroed buffer of fixed length.
struct BitWriter {
    bytes: Vec<u8>,
    pos: usize,
}

impl BitWriter {
    /// A writer whose first `skip` bits stay zero (the caller's header).
    fn new(len: usize, skip: usize) -> BitWriter {
        BitWriter {
            bytes: vec![0; len],
            pos: skip,
        }
    }

    /// Appends the low `bits` bits of `code`. Fitting guarantees the codes fit in the
    /// buffer; a bit past the end would be dropped rather than panic.
    fn put(&mut self, code: u32, bits: u8) {
        for b in (0..bits).rev() {
            if code >> b & 1 == 1 {
                if let Some(byte) = self.bytes.get_mut(self.pos / 8) {
                    *byte |= 0x80 >> (self.pos % 8);
                }
            }
            self.pos += 1;
        }
    }

    fn finish(self) -> Vec<u8> {
        self.bytes
    }
}

/// MSB-first reader, the inverse of [`BitWriter`]; bits past the end read as zero.
struct BitReader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> BitReader<'a> {
    fn new(bytes: &'a [u8], skip: usize) -> BitReader<'a> {
        BitReader { bytes, pos: skip }
    }

    fn take(&mut self, bits: u8) -> u32 {
        let mut code = 0u32;
        for _ in 0..bits {
            let bit = self
                .bytes
                .get(self.pos / 8)
                .map_or(0, |byte| byte >> (7 - self.pos % 8) & 1);
            code = code << 1 | u32::from(bit);
            self.pos += 1;
        }
        code
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_round_trip_msb_first() {
        let mut w = BitWriter::new(3, 4);
        w.put(0b101, 3);
        w.put(0xABC, 12);
        let bytes = w.finish();
        assert_eq!(bytes, vec![0b0000_1011, 0b0101_0111, 0b1000_0000]);
        let mut r = BitReader::new(&bytes, 4);
        assert_eq!((r.take(3), r.take(12)), (0b101, 0xABC));
    }

    #[test]
    fn interpolation_is_linear_between_kept_samples_and_holds_the_ends() {
        let v = interpolate(&[1, 3], &[2.0, 6.0], 5);
        assert_eq!(v, vec![2.0, 2.0, 4.0, 6.0, 6.0]);
        assert_eq!(interpolate(&[2], &[7.0], 4), vec![7.0; 4]);
    }
}
