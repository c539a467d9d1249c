//! Float models: what training produces and export consumes.

use std::num::NonZeroUsize;

use aecodec_core::{
    escape_field, leveled_code_bits, Activation, Conv, PayloadHeader, PayloadLayout,
    MIN_ESCAPE_BITS,
};

use crate::{normal, Error};

/// Bits a payload of `payload_bytes` leaves for latent codes after `header`, the label
/// field of `labels` labels and the mode field of `modes` modes: the core's one formula
/// ([`PayloadLayout::code_budget`]), refused as an invalid argument when none are left.
pub fn code_budget(
    payload_bytes: usize,
    header: PayloadHeader,
    labels: usize,
    modes: usize,
) -> Result<usize, Error> {
    PayloadLayout::code_budget(payload_bytes, header, labels, modes)
        .map(NonZeroUsize::get)
        .map_err(|e| Error::InvalidArgument(e.to_string()))
}

/// A dense layer in f32, `y = act(W x + b)` with `W` row-major `[out][in]`, possibly
/// shared along time (a 1-D convolution or its transpose, as [`Conv`] defines them).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FloatLayer {
    /// Inputs (of one position, for a convolution).
    pub in_dim: usize,
    /// Outputs (of one position, for a convolution).
    pub out_dim: usize,
    /// Activation.
    pub activation: Activation,
    /// Weight sharing along time, or `None` for a plain dense layer.
    pub conv: Option<Conv>,
    /// Weights, row-major `[out_dim][in_dim]`.
    pub weights: Vec<f32>,
    /// Bias per output.
    pub bias: Vec<f32>,
}

/// Appends, for each of the windows in `windows` (whole windows of `c.window()` values),
/// the `c.patch()` values at every position, position after position (im2col).
pub(crate) fn gather_patches<T: Copy>(c: Conv, windows: &[T], out: &mut Vec<T>) {
    let (w, span) = (c.window(), c.patch());
    for row in windows.chunks_exact(w) {
        for p in 0..c.positions() {
            let at = c.offset(p);
            out.extend_from_slice(&row[at..at + span]);
        }
    }
}

/// The inverse direction: adds every position's patch of `patches` (laid out as
/// [`gather_patches`] makes them) onto its window at its offset (overlap-add, col2im);
/// `out` becomes the windows, zero where no patch reaches.
pub(crate) fn overlap_add<T>(c: Conv, patches: &[T], out: &mut Vec<T>)
where
    T: Copy + Default + core::ops::AddAssign,
{
    let (w, span) = (c.window(), c.patch());
    let per_window = c.positions() * span;
    out.clear();
    out.resize(patches.len() / per_window.max(1) * w, T::default());
    for (window, row) in out
        .chunks_exact_mut(w)
        .zip(patches.chunks_exact(per_window))
    {
        for (p, patch) in row.chunks_exact(span).enumerate() {
            let at = c.offset(p);
            window[at..at + span]
                .iter_mut()
                .zip(patch)
                .for_each(|(o, &v)| *o += v);
        }
    }
}

/// Applies an activation in f64 (the reference the core's f32 path is measured against).
pub fn activate(act: Activation, x: f64) -> f64 {
    match act {
        Activation::Identity => x,
        Activation::Relu => x.max(0.0),
        Activation::LeakyRelu(a) => {
            if x > 0.0 {
                x
            } else {
                f64::from(a) * x
            }
        }
        Activation::Tanh => x.tanh(),
        Activation::Sigmoid => 1.0 / (1.0 + (-x).exp()),
    }
}

impl FloatLayer {
    /// `W x + b` in f64 for one position's inputs.
    fn dense(&self, x: &[f64]) -> Vec<f64> {
        self.weights
            .chunks_exact(self.in_dim)
            .zip(&self.bias)
            .map(|(row, &b)| {
                row.iter()
                    .zip(x)
                    .map(|(&w, &v)| f64::from(w) * v)
                    .sum::<f64>()
                    + f64::from(b)
            })
            .collect()
    }

    /// `W x + b` at every position, one position's outputs after another (before a
    /// transposed convolution's overlap-add): what an int8 layer quantizes.
    pub fn position_outputs(&self, x: &[f64]) -> Vec<f64> {
        match self.conv {
            None => self.dense(x),
            Some(c) => (0..c.positions())
                .flat_map(|p| {
                    let at = if c.transposed {
                        p * self.in_dim
                    } else {
                        c.offset(p)
                    };
                    self.dense(&x[at..at + self.in_dim])
                })
                .collect(),
        }
    }

    /// Pre-activation outputs in f64 (overlap-added for a transposed convolution).
    pub fn pre_activation(&self, x: &[f64]) -> Vec<f64> {
        let pieces = self.position_outputs(x);
        match self.conv {
            Some(c) if c.transposed => {
                let mut y = Vec::new();
                overlap_add(c, &pieces, &mut y);
                y
            }
            _ => pieces,
        }
    }

    /// Values the layer reads (the whole window of a convolution).
    pub fn vec_in(&self) -> usize {
        self.conv
            .map_or(self.in_dim, |c| c.layer_inputs(self.in_dim))
    }

    /// Values the layer writes (the whole window of a transposed convolution).
    pub fn vec_out(&self) -> usize {
        self.conv
            .map_or(self.out_dim, |c| c.layer_outputs(self.out_dim))
    }

    /// Outputs `act(W x + b)` in f64.
    pub fn forward(&self, x: &[f64]) -> Vec<f64> {
        self.pre_activation(x)
            .into_iter()
            .map(|v| activate(self.activation, v))
            .collect()
    }
}

/// The latent quantizer in float form, before export.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum FloatQuantizer {
    /// Uniform cells over calibrated ranges `[lo, hi]`.
    Uniform {
        /// Bits per dimension.
        bits: Vec<u8>,
        /// Value of a 0-bit dimension.
        mean: Vec<f32>,
        /// Range low ends.
        lo: Vec<f32>,
        /// Range high ends.
        hi: Vec<f32>,
    },
    /// Uniform cells as in `Uniform`, under one of `modes` bit allocations that the
    /// encoder picks per window (the core's `LatentQuantizer::Switched`).
    Switched {
        /// Bit allocations (2..=`aecodec_core::MAX_MODES`).
        modes: usize,
        /// Bits per dimension of each mode, mode after mode (`modes · dims` values).
        bits: Vec<u8>,
        /// Value of a dimension in a mode that gives it no bits.
        mean: Vec<f32>,
        /// Range low ends.
        lo: Vec<f32>,
        /// Range high ends.
        hi: Vec<f32>,
    },
    /// Equiprobable bins of N(mean, std²) per dimension, decoded to bin centroids.
    Gaussian {
        /// Bits per dimension.
        bits: Vec<u8>,
        /// Mean per dimension (also the value of a 0-bit dimension).
        mean: Vec<f32>,
        /// Standard deviation per dimension.
        std: Vec<f32>,
    },
}

impl FloatQuantizer {
    /// Bits per dimension, of every mode one after another (of a switched quantizer;
    /// the others have one mode).
    pub fn bits(&self) -> &[u8] {
        match self {
            FloatQuantizer::Uniform { bits, .. }
            | FloatQuantizer::Switched { bits, .. }
            | FloatQuantizer::Gaussian { bits, .. } => bits,
        }
    }

    /// Bit allocations: 1 but for a switched quantizer.
    pub fn modes(&self) -> usize {
        match self {
            FloatQuantizer::Switched { modes, .. } => (*modes).max(1),
            _ => 1,
        }
    }

    /// Latent dimensions.
    pub fn dims(&self) -> usize {
        self.bits().len() / self.modes()
    }

    /// Bits per dimension in `mode` (empty for a mode the quantizer lacks).
    pub fn mode_bits(&self, mode: usize) -> &[u8] {
        let k = self.dims();
        self.bits().get(mode * k..(mode + 1) * k).unwrap_or(&[])
    }

    /// The concatenated edge and centroid tables of a Gaussian quantizer, in latent units.
    pub fn tables(&self) -> Vec<f32> {
        let mut out = Vec::new();
        if let FloatQuantizer::Gaussian { bits, mean, std } = self {
            for ((&b, &m), &s) in bits.iter().zip(mean).zip(std) {
                if b == 0 {
                    continue;
                }
                let (edges, centroids) = normal::equiprobable_bins(b);
                let to_latent = |u: f64| (f64::from(m) + f64::from(s) * u) as f32;
                out.extend(edges.into_iter().map(to_latent));
                out.extend(centroids.into_iter().map(to_latent));
            }
        }
        out
    }

    /// Range of values the decoder can be fed (for calibrating its int8 input).
    pub fn value_range(&self) -> (f32, f32) {
        let values: Vec<f32> = match self {
            FloatQuantizer::Uniform { lo, hi, mean, .. }
            | FloatQuantizer::Switched { lo, hi, mean, .. } => {
                lo.iter().chain(hi).chain(mean).copied().collect()
            }
            FloatQuantizer::Gaussian { mean, .. } => self
                .tables()
                .into_iter()
                .chain(mean.iter().copied())
                .collect(),
        };
        values
            .iter()
            .fold((f32::MAX, f32::MIN), |(a, b), &x| (a.min(x), b.max(x)))
    }
}

/// Refuses a sample rate no model may record ([`aecodec_core::sample_rate_ok`]), saying
/// the range.
pub fn sample_rate_check(hz: f32) -> Result<(), String> {
    if aecodec_core::sample_rate_ok(hz) {
        return Ok(());
    }
    let (lo, hi) = (
        aecodec_core::MIN_SAMPLE_RATE_HZ,
        aecodec_core::MAX_SAMPLE_RATE_HZ,
    );
    Err(format!(
        "{hz} Hz is outside {lo:e}..={hi:e} Hz (a sample every {:.1} days to {hi:e} a second)",
        1.0 / f64::from(lo) / 86_400.0
    ))
}

/// What a model's windows are windows of, as the blob's `signal` section records it:
/// channels, their names and sample rate, and whether a recording holds one window per
/// row (`spec/model-format.md`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SignalInfo {
    /// Channels interleaved in a window.
    pub channels: usize,
    /// Samples per second of every channel, if known.
    pub sample_rate_hz: Option<f32>,
    /// One name per channel, or none.
    pub names: Vec<String>,
    /// One window per row of a recording (channel-major), instead of a series.
    pub rows: bool,
}

impl SignalInfo {
    /// `channels` unnamed channels of a series of unknown sample rate.
    pub fn series(channels: usize) -> SignalInfo {
        SignalInfo {
            channels,
            sample_rate_hz: None,
            names: Vec::new(),
            rows: false,
        }
    }

    /// The rules of the blob's signal section, for windows of `input_dim` values; the
    /// message names the field.
    pub fn check(&self, input_dim: usize) -> Result<(), String> {
        let c = self.channels;
        if c == 0 || c > usize::from(u16::MAX) || !input_dim.is_multiple_of(c) {
            return Err(format!(
                "signal.channels: {c} channels do not divide a window of {input_dim} values"
            ));
        }
        if let Some(r) = self.sample_rate_hz {
            sample_rate_check(r).map_err(|e| format!("signal.sample_rate_hz: {e}"))?;
        }
        if !self.names.is_empty() && self.names.len() != c {
            return Err(format!(
                "signal.names: {} names for {c} channels",
                self.names.len()
            ));
        }
        if let Some((i, n)) = self
            .names
            .iter()
            .enumerate()
            .find(|(_, n)| n.is_empty() || n.chars().any(char::is_control))
        {
            return Err(format!(
                "signal.names[{i}]: {n:?} is empty or holds a control character"
            ));
        }
        Ok(())
    }

    /// The names as the blob stores them: each one followed by a newline.
    pub fn joined_names(&self) -> String {
        self.names.iter().map(|n| format!("{n}\n")).collect()
    }
}

/// An autoencoder in float form: normalization, both halves, quantizer, payload header,
/// and what its windows are windows of.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FloatModel {
    /// Samples per window.
    pub input_dim: usize,
    /// Labels of a conditional model, 0 otherwise.
    pub label_count: u16,
    /// Subtracted from raw values, per input.
    pub norm_mean: Vec<f32>,
    /// Divides centred values, per input.
    pub norm_std: Vec<f32>,
    /// Encoder layers (input + one-hot label → latent).
    pub encoder: Vec<FloatLayer>,
    /// Decoder layers (latent + one-hot label → normalized window).
    pub decoder: Vec<FloatLayer>,
    /// Latent quantizer.
    pub quantizer: FloatQuantizer,
    /// Payload header.
    pub header: PayloadHeader,
    /// Channels, names, sample rate and layout of the windows.
    pub signal: SignalInfo,
    /// Window levels coded beside the codes (the core's `LevelSpec`), or `None`.
    pub level: Option<FloatLevel>,
}

/// Window levels in float form, before export: the core's
/// [`LevelSpec`](aecodec_core::LevelSpec), one entry per channel but `code_bits`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FloatLevel {
    /// Lowest level coded without a level field.
    pub inner_lo: Vec<f32>,
    /// Highest level coded without a level field.
    pub inner_hi: Vec<f32>,
    /// Lowest level a window with levels is moved to (the levels the codec was fit on).
    pub fit_lo: Vec<f32>,
    /// Highest level a window with levels is moved to.
    pub fit_hi: Vec<f32>,
    /// Bits of each level code.
    pub bits: Vec<u8>,
    /// How far one step moves the channel (positive).
    pub step: Vec<f32>,
    /// Latent widths of every mode in a payload with levels, mode after mode.
    pub code_bits: Vec<u8>,
}

fn invalid<T>(message: String) -> Result<T, Error> {
    Err(Error::InvalidModel(message))
}

/// `Err` naming the first value of `v` that is not finite.
pub(crate) fn finite(name: &str, v: &[f32]) -> Result<(), Error> {
    match v.iter().position(|x| !x.is_finite()) {
        Some(i) => invalid(format!("{name}[{i}]: {} is not finite", v[i])),
        None => Ok(()),
    }
}

/// Checks that `layers` (the encoder's or the decoder's) chain from `n_in` values to
/// `n_out`, each within the core's widths, with weights and biases of their sizes and
/// convolutions that fit their layers.
fn validate_stack(
    name: &str,
    layers: &[FloatLayer],
    n_in: usize,
    n_out: usize,
) -> Result<(), Error> {
    use aecodec_core::{MAX_LAYERS, MAX_WIDTH};
    if layers.len() > MAX_LAYERS {
        return invalid(format!(
            "{name}: {} layers, at most {MAX_LAYERS}",
            layers.len()
        ));
    }
    let mut width = n_in;
    for (i, l) in layers.iter().enumerate() {
        let wide = [l.in_dim, l.out_dim, l.conv.map_or(0, |c| c.window())];
        if wide.iter().any(|&w| w > MAX_WIDTH) {
            return invalid(format!(
                "{name} layer {i}: {}x{} (window {}), wider than {MAX_WIDTH}",
                l.out_dim, l.in_dim, wide[2]
            ));
        }
        if let Some(c) = l.conv {
            let per = if c.transposed { l.out_dim } else { l.in_dim };
            let (samples, kernel, stride) = (
                usize::from(c.samples),
                usize::from(c.kernel),
                usize::from(c.stride),
            );
            // `positions() == 0` covers a zero stride and a kernel longer than the
            // window, so the remainder below is defined.
            if per != c.patch()
                || c.positions() == 0
                || (samples - kernel) % stride != 0
                || (c.transposed && (i + 1 != layers.len() || l.activation != Activation::Identity))
            {
                return invalid(format!("{name} layer {i}: convolution {c:?} does not fit a {}x{} layer (a transposed one must be last, without activation)", l.out_dim, l.in_dim));
            }
        }
        if l.vec_in() != width
            || Some(l.weights.len()) != l.in_dim.checked_mul(l.out_dim)
            || l.bias.len() != l.out_dim
        {
            return invalid(format!(
                "{name} layer {i}: {}x{} with {} weights, {} biases, fed {width}",
                l.out_dim,
                l.in_dim,
                l.weights.len(),
                l.bias.len()
            ));
        }
        width = l.vec_out();
    }
    if layers.is_empty() || width != n_out {
        return invalid(format!(
            "{name} ends with {width} outputs, expected {n_out}"
        ));
    }
    Ok(())
}

impl FloatModel {
    /// Checks dimensions and lengths.
    ///
    /// Everything a file may say is checked before anything is sized from it: bit widths
    /// and counts against the core's limits, every dimension product with checked
    /// arithmetic. Errors name the field.
    pub fn validate(&self) -> Result<(), Error> {
        let k = self.validate_payload()?;
        self.validate_values()?;
        self.signal
            .check(self.input_dim)
            .map_err(Error::InvalidModel)?;
        if self.norm_mean.len() != self.input_dim || self.norm_std.len() != self.input_dim {
            return invalid(format!(
                "normalization has {} / {} entries for {} inputs",
                self.norm_mean.len(),
                self.norm_std.len(),
                self.input_dim
            ));
        }
        let labels = usize::from(self.label_count);
        validate_stack("encoder", &self.encoder, self.input_dim + labels, k)?;
        validate_stack("decoder", &self.decoder, k + labels, self.input_dim)
    }

    /// Checks inputs, labels, the quantizer's widths and the header against the core's
    /// limits; returns the number of latent dimensions.
    fn validate_payload(&self) -> Result<usize, Error> {
        use aecodec_core::model::{MAX_TABLE_BITS, MAX_UNIFORM_BITS};
        use aecodec_core::{MAX_LABELS, MAX_LATENT, MAX_PAYLOAD_BYTES, MAX_WIDTH};
        let labels = usize::from(self.label_count);
        if self.input_dim == 0 || self.input_dim.saturating_add(labels) > MAX_WIDTH {
            return invalid(format!(
                "input_dim: {} inputs and {labels} labels, 1 to {MAX_WIDTH} in all",
                self.input_dim
            ));
        }
        if labels > MAX_LABELS {
            return invalid(format!("label_count: {labels}, at most {MAX_LABELS}"));
        }
        let bits = self.quantizer.bits();
        let modes = self.quantizer.modes();
        if let FloatQuantizer::Switched { modes, bits, .. } = &self.quantizer {
            if !(2..=aecodec_core::MAX_MODES).contains(modes) || bits.len() % modes != 0 {
                return invalid(format!(
                    "quantizer: {modes} modes over {} widths; 2 to {} modes, the same dimensions each",
                    bits.len(),
                    aecodec_core::MAX_MODES
                ));
            }
        }
        let k = self.quantizer.dims();
        if k == 0 || k > MAX_LATENT {
            return invalid(format!("quantizer.bits: {k} dimensions, 1 to {MAX_LATENT}"));
        }
        let (max_bits, params) = match &self.quantizer {
            FloatQuantizer::Uniform { mean, lo, hi, .. }
            | FloatQuantizer::Switched { mean, lo, hi, .. } => (
                MAX_UNIFORM_BITS,
                [("mean", mean.len()), ("lo", lo.len()), ("hi", hi.len())].to_vec(),
            ),
            FloatQuantizer::Gaussian { mean, std, .. } => (
                MAX_TABLE_BITS,
                [("mean", mean.len()), ("std", std.len())].to_vec(),
            ),
        };
        if let Some((dim, b)) = bits.iter().enumerate().find(|(_, &b)| b > max_bits) {
            return invalid(format!(
                "quantizer.bits[{dim}]: {b} bits, at most {max_bits}"
            ));
        }
        let sum = |bits: &[u8]| bits.iter().map(|&b| usize::from(b)).sum::<usize>();
        let mut code_bits = (0..modes)
            .map(|m| sum(self.quantizer.mode_bits(m)))
            .max()
            .unwrap_or(0);
        if let Some(level) = &self.level {
            self.validate_level(level, max_bits)?;
            for (m, leveled) in level.code_bits.chunks(k.max(1)).enumerate() {
                let plain = self.quantizer.mode_bits(m);
                code_bits = code_bits.max(leveled_code_bits(plain, &level.bits, leveled));
            }
        }
        if let Some((name, n)) = params.iter().find(|(_, n)| *n != k) {
            return invalid(format!("quantizer.{name}: {n} entries for {k} dimensions"));
        }
        let h = self.header;
        if h.fingerprint_bits > 16 || h.sequence_bits > 16 {
            return invalid(format!(
                "header: {} tag bits and {} sequence bits, at most 16 each",
                h.fingerprint_bits, h.sequence_bits
            ));
        }
        // Labels and modes are within the core's limits (checked above), so the casts hold.
        let layout = PayloadLayout::new(h, labels as u16, modes as u8, code_bits);
        if let Err(aecodec_core::Error::PayloadTooLarge { bits, .. }) = layout {
            return invalid(format!(
                "quantizer.bits: payloads of {bits} bits, over the {MAX_PAYLOAD_BYTES}-byte limit"
            ));
        }
        layout?;
        Ok(k)
    }

    /// Checks a level spec's lengths, widths and ranges (as the core does at load).
    fn validate_level(&self, level: &FloatLevel, max_bits: u8) -> Result<(), Error> {
        let channels = self.signal.channels;
        if channels > aecodec_core::MAX_LEVEL_CHANNELS {
            return invalid(format!(
                "level: {channels} channels, at most {}",
                aecodec_core::MAX_LEVEL_CHANNELS
            ));
        }
        if matches!(self.quantizer, FloatQuantizer::Gaussian { .. }) {
            return invalid("level: a Gaussian (table) quantizer codes no levels".into());
        }
        for (name, v) in [
            ("inner_lo", &level.inner_lo),
            ("inner_hi", &level.inner_hi),
            ("fit_lo", &level.fit_lo),
            ("fit_hi", &level.fit_hi),
            ("step", &level.step),
        ] {
            if v.len() != channels {
                return invalid(format!(
                    "level.{name}: {} entries for {channels} channels",
                    v.len()
                ));
            }
            finite(&format!("level.{name}"), v)?;
        }
        if level.bits.len() != channels {
            return invalid(format!(
                "level.bits: {} entries for {channels} channels",
                level.bits.len()
            ));
        }
        if let Some(c) = level.bits.iter().position(|&b| !(1..=16).contains(&b)) {
            return invalid(format!("level.bits[{c}]: {} bits, 1 to 16", level.bits[c]));
        }
        if let Some(c) = (0..channels).find(|&c| {
            let far = level.step[c] * f32::from(1u16 << (level.bits[c] - 1));
            !(level.step[c] > 0.0 && far.is_finite())
        }) {
            return invalid(format!(
                "level.step[{c}] {}: positive, and finite times 2^{} (its bits less one)",
                level.step[c],
                level.bits[c] - 1
            ));
        }
        for (name, lo, hi) in [
            ("inner", &level.inner_lo, &level.inner_hi),
            ("fit", &level.fit_lo, &level.fit_hi),
        ] {
            if let Some(c) =
                (0..channels).find(|&c| !(lo[c] <= hi[c] && (hi[c] - lo[c]).is_finite()))
            {
                return invalid(format!(
                    "level.{name}_lo[{c}] {} is above level.{name}_hi[{c}] {}",
                    lo[c], hi[c]
                ));
            }
        }
        if let Some(m) = (0..self.quantizer.modes()).find(|&m| {
            escape_field(self.quantizer.mode_bits(m)).is_none_or(|(_, b)| b < MIN_ESCAPE_BITS)
        }) {
            return invalid(format!(
                "level: mode {m} has no dimension of {MIN_ESCAPE_BITS} bits or more to mark payloads with levels"
            ));
        }
        if level.code_bits.len() != self.quantizer.bits().len() {
            return invalid(format!(
                "level.code_bits: {} widths for the quantizer's {}",
                level.code_bits.len(),
                self.quantizer.bits().len()
            ));
        }
        if let Some((d, b)) = level
            .code_bits
            .iter()
            .enumerate()
            .find(|(_, &b)| b > max_bits)
        {
            return invalid(format!(
                "level.code_bits[{d}]: {b} bits, at most {max_bits}"
            ));
        }
        Ok(())
    }

    /// Checks that every parameter is finite, every scale positive and every range
    /// ordered.
    fn validate_values(&self) -> Result<(), Error> {
        match &self.quantizer {
            FloatQuantizer::Uniform { mean, lo, hi, .. }
            | FloatQuantizer::Switched { mean, lo, hi, .. } => {
                finite("quantizer.mean", mean)?;
                finite("quantizer.lo", lo)?;
                finite("quantizer.hi", hi)?;
                if let Some(i) = lo
                    .iter()
                    .zip(hi)
                    .position(|(l, h)| !(l < h && (h - l).is_finite()))
                {
                    return invalid(format!(
                        "quantizer.lo[{i}] {} is not below quantizer.hi[{i}] {}",
                        lo[i], hi[i]
                    ));
                }
            }
            FloatQuantizer::Gaussian { mean, std, .. } => {
                finite("quantizer.mean", mean)?;
                finite("quantizer.std", std)?;
                if let Some(i) = std.iter().position(|&s| s <= 0.0) {
                    return invalid(format!("quantizer.std[{i}]: {} is not positive", std[i]));
                }
            }
        }
        finite("norm_mean", &self.norm_mean)?;
        finite("norm_std", &self.norm_std)?;
        if let Some(i) = self.norm_std.iter().position(|&s| s <= 0.0) {
            return invalid(format!(
                "norm_std[{i}]: {} is not positive",
                self.norm_std[i]
            ));
        }
        for (name, layers) in [("encoder", &self.encoder), ("decoder", &self.decoder)] {
            for (i, l) in layers.iter().enumerate() {
                finite(&format!("{name} layer {i} weights"), &l.weights)?;
                finite(&format!("{name} layer {i} bias"), &l.bias)?;
            }
        }
        Ok(())
    }

    /// Normalized input of the encoder (window, then one-hot label).
    pub fn encoder_input(&self, window: &[f32], label: u16) -> Vec<f64> {
        let mut x: Vec<f64> = window
            .iter()
            .zip(self.norm_mean.iter().zip(&self.norm_std))
            .map(|(&v, (&m, &s))| (f64::from(v) - f64::from(m)) / f64::from(s))
            .collect();
        x.extend((0..self.label_count).map(|c| if c == label { 1.0 } else { 0.0 }));
        x
    }

    /// Decoder input: latent, then one-hot label.
    pub fn decoder_input(&self, z: &[f64], label: u16) -> Vec<f64> {
        let mut x = z.to_vec();
        x.extend((0..self.label_count).map(|c| if c == label { 1.0 } else { 0.0 }));
        x
    }

    /// The latent of `window`, in f64.
    pub fn encode_latent(&self, window: &[f32], label: u16) -> Vec<f64> {
        run(&self.encoder, self.encoder_input(window, label))
    }

    /// The window decoded from latent `z`, in sensor units.
    pub fn decode_latent(&self, z: &[f64], label: u16) -> Vec<f64> {
        run(&self.decoder, self.decoder_input(z, label))
            .into_iter()
            .zip(self.norm_mean.iter().zip(&self.norm_std))
            .map(|(v, (&m, &s))| v * f64::from(s) + f64::from(m))
            .collect()
    }
}

fn run(layers: &[FloatLayer], x: Vec<f64>) -> Vec<f64> {
    layers.iter().fold(x, |x, l| l.forward(&x))
}

impl FloatLayer {
    /// A layer with Glorot-uniform weights (He-scaled for ReLU family) and zero bias.
    pub fn init(
        in_dim: usize,
        out_dim: usize,
        activation: Activation,
        rng: &mut crate::Rng,
    ) -> Self {
        let gain = match activation {
            Activation::Relu | Activation::LeakyRelu(_) => 2.0f64.sqrt(),
            _ => 1.0,
        };
        let limit = gain * (6.0 / (in_dim + out_dim) as f64).sqrt();
        let weights = (0..in_dim * out_dim)
            .map(|_| ((2.0 * rng.uniform() - 1.0) * limit) as f32)
            .collect();
        FloatLayer {
            in_dim,
            out_dim,
            activation,
            conv: None,
            weights,
            bias: vec![0.0; out_dim],
        }
    }
}

/// Builds a stack of freshly initialized layers through `widths` (`widths[0]` inputs),
/// with `hidden` activations and `last` on the final layer.
pub fn init_stack(
    widths: &[usize],
    hidden: Activation,
    last: Activation,
    rng: &mut crate::Rng,
) -> Vec<FloatLayer> {
    let n = widths.len().saturating_sub(1);
    widths
        .windows(2)
        .enumerate()
        .map(|(i, w)| FloatLayer::init(w[0], w[1], if i + 1 == n { last } else { hidden }, rng))
        .collect()
}
