//! Window levels: how a codec fit on some recordings still decodes a window whose level
//! (a channel's mean over the window) lies outside every level it was fit on — another
//! device's calibration offset, a sensor mounted the other way up, a person off the
//! platform. The core codes such a window's levels beside its codes
//! ([`aecodec_core::LevelSpec`]); this module fits that spec to a trained codec.
//!
//! What [`attach`] decides, for each channel:
//! - the *inner range*: the levels of the training windows, lowest to highest; a window
//!   within it on every channel is coded as before (one flag bit more per payload);
//! - the *full scale* the level is quantized over: given by the user, or from the data
//!   ([`default_full_scale`]);
//! - the level's bits: enough that a level cell is no wider than the inner range
//!   (`ceil(log2(full scale / inner width))`, 1..=[`MAX_LEVEL_BITS`]), so that a window
//!   moved to the inner range's centre by its decoded level lies within the levels the
//!   codec was fit on, and the codes take up the rest; at most half the payload's code
//!   bits in all;
//! - the latent widths of a payload with levels: each mode's dimensions keep the bits
//!   measured to matter most, within the bits the levels leave.

use aecodec_core::{PayloadLayout, MAX_LEVEL_CHANNELS};

use crate::data::{channel_ranges, Window};
use crate::float::{FloatLevel, FloatModel, FloatQuantizer};
use crate::linear::{allocate_measured, uniform_mse};
use crate::Error;

/// Most bits of one channel's level code.
pub const MAX_LEVEL_BITS: u8 = 12;

/// Most training windows whose latents [`attach`] measures.
const MEASURED_WINDOWS: usize = 2048;

/// The range each channel's level is coded over: the sensor's full scale.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum FullScale {
    /// From the training samples ([`default_full_scale`]).
    FromData,
    /// One range, `(lo, hi)`, for every channel.
    All(f32, f32),
    /// One range per channel, in order.
    PerChannel(Vec<(f32, f32)>),
}

impl FullScale {
    /// Reads the `--levels` argument: `off` (no levels: `None`), `data`
    /// ([`FullScale::FromData`]), `LO:HI` for every channel, or `LO:HI,LO:HI,…` one per
    /// channel. Each range finite and ordered; the error says what is wrong.
    pub fn parse(text: &str) -> Result<Option<FullScale>, String> {
        match text.trim() {
            "off" => return Ok(None),
            "data" => return Ok(Some(FullScale::FromData)),
            _ => {}
        }
        let range = |part: &str| -> Result<(f32, f32), String> {
            let (lo, hi) = part.split_once(':').ok_or_else(|| {
                format!("`{part}`: expected LO:HI (e.g. -16:16), `data` or `off`")
            })?;
            let num = |v: &str| {
                v.trim()
                    .parse::<f32>()
                    .map_err(|_| format!("`{v}` in `{part}` is not a number"))
            };
            let (lo, hi) = (num(lo)?, num(hi)?);
            if !(lo < hi && (hi - lo).is_finite()) {
                return Err(format!("`{part}`: LO must be below HI, both finite"));
            }
            Ok((lo, hi))
        };
        let ranges = text.split(',').map(range).collect::<Result<Vec<_>, _>>()?;
        Ok(Some(match ranges[..] {
            [(lo, hi)] => FullScale::All(lo, hi),
            _ => FullScale::PerChannel(ranges),
        }))
    }
}

/// The full scale assumed for a channel whose training samples span `[lo, hi]`: that
/// span again on either side, and at least the mirror image about zero (a sensor
/// mounted the other way up reads −x where it read x): `[min(lo − span, −a),
/// max(hi + span, a)]` with `a = max(|lo|, |hi|)`; `[lo − 1, hi + 1]` for a constant
/// channel at 0.
pub fn default_full_scale(lo: f32, hi: f32) -> (f32, f32) {
    let span = hi - lo;
    let a = lo.abs().max(hi.abs());
    let (l, h) = ((lo - span).min(-a), (hi + span).max(a));
    if h > l {
        (l, h)
    } else {
        (lo - 1.0, hi + 1.0)
    }
}

/// Each window's level of each of `channels` interleaved channels (window-major).
fn levels(windows: &[Window], channels: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(windows.len() * channels);
    for (w, _) in windows {
        let samples = (w.len() / channels).max(1) as f64;
        let mut sums = vec![0.0f64; channels];
        for (i, &x) in w.iter().enumerate() {
            sums[i % channels] += f64::from(x);
        }
        out.extend(sums.iter().map(|s| s / samples));
    }
    out
}

/// Error of latent dimension values `v` on `bits` bits over `[lo, hi]`, or at `mean`
/// with no bits (as the core decodes them).
fn dim_error(v: &[f64], mean: f32, lo: f32, hi: f32, bits: u8) -> f64 {
    if bits == 0 {
        let m = f64::from(mean);
        return v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / v.len().max(1) as f64;
    }
    uniform_mse(v, f64::from(lo), f64::from(hi), bits)
}

/// Adds window levels to `model` (a uniform or switched quantizer), fit on `windows`
/// (its training windows) for payloads of `payload_bytes`: the plain payload's codes
/// give up the bit the level flag takes where it costs least, and the spec is chosen as
/// the module says. Refused if the payload cannot hold one bit per channel's level, if
/// a given full scale does not reach the training levels, or for a Gaussian (VAE)
/// quantizer.
pub fn attach(
    model: &mut FloatModel,
    windows: &[Window],
    payload_bytes: usize,
    full_scale: &FullScale,
) -> Result<(), Error> {
    let channels = model.signal.channels.max(1);
    if channels > MAX_LEVEL_CHANNELS {
        return Err(Error::InvalidArgument(format!(
            "window levels: {channels} channels, at most {MAX_LEVEL_CHANNELS}; train without --levels"
        )));
    }
    let (mean, lo, hi) = match &model.quantizer {
        FloatQuantizer::Uniform { mean, lo, hi, .. }
        | FloatQuantizer::Switched { mean, lo, hi, .. } => (mean.clone(), lo.clone(), hi.clone()),
        FloatQuantizer::Gaussian { .. } => return Err(Error::InvalidArgument(
            "window levels need a uniform latent quantizer (not a VAE's); train without --levels"
                .into(),
        )),
    };
    if windows.is_empty() {
        return Err(Error::InvalidArgument(
            "window levels: no training windows".into(),
        ));
    }
    let (modes, k) = (model.quantizer.modes(), model.quantizer.dims());
    let budget = PayloadLayout::code_budget(
        payload_bytes,
        model.header,
        usize::from(model.label_count),
        modes,
        true,
    )
    .map_err(|e| Error::InvalidArgument(e.to_string()))?
    .get();
    if budget < channels {
        return Err(Error::InvalidArgument(format!(
            "window levels: a {payload_bytes}-byte payload leaves {budget} code bits, fewer than one per channel ({channels}); give more --payload-bytes or train without --levels"
        )));
    }

    // Latent values of the training windows, dimension by dimension.
    let step = windows.len().div_ceil(MEASURED_WINDOWS);
    let measured: Vec<&Window> = windows.iter().step_by(step).collect();
    let mut columns = vec![Vec::with_capacity(measured.len()); k];
    for (w, label) in &measured {
        for (c, z) in columns.iter_mut().zip(model.encode_latent(w, *label)) {
            c.push(z);
        }
    }
    let error = |d: usize, b: u8| dim_error(&columns[d], mean[d], lo[d], hi[d], b);

    // The plain modes give up bits for the flag where the measured error grows least.
    let mut plain = model.quantizer.bits().to_vec();
    for m in 0..modes {
        let bits = &mut plain[m * k..(m + 1) * k];
        while bits.iter().map(|&b| usize::from(b)).sum::<usize>() > budget {
            let cheapest = (0..k)
                .filter(|&d| bits[d] > 0)
                .min_by(|&a, &b| {
                    let cost = |d: usize| error(d, bits[d] - 1) - error(d, bits[d]);
                    cost(a).total_cmp(&cost(b))
                })
                .ok_or_else(|| Error::InvalidModel("no latent bits to give up".into()))?;
            bits[cheapest] -= 1;
        }
    }

    let all_levels = levels(windows, channels);
    let mut level = FloatLevel {
        inner_lo: vec![f32::INFINITY; channels],
        inner_hi: vec![f32::NEG_INFINITY; channels],
        bits: vec![0; channels],
        lo: vec![0.0; channels],
        hi: vec![0.0; channels],
        center: vec![0.0; channels],
        code_bits: vec![0; modes * k],
    };
    for row in all_levels.chunks_exact(channels) {
        for (c, &v) in row.iter().enumerate() {
            level.inner_lo[c] = level.inner_lo[c].min(v as f32);
            level.inner_hi[c] = level.inner_hi[c].max(v as f32);
        }
    }
    let samples = channel_ranges(windows.iter().map(|(w, _)| w.as_slice()), channels);
    for (c, &(sample_lo, sample_hi)) in samples.iter().enumerate() {
        let (l, h) = match full_scale {
            FullScale::FromData => default_full_scale(sample_lo, sample_hi),
            FullScale::All(l, h) => (*l, *h),
            FullScale::PerChannel(ranges) => *ranges.get(c).ok_or_else(|| {
                Error::InvalidArgument(format!(
                    "window levels: {} ranges for {channels} channels",
                    ranges.len()
                ))
            })?,
        };
        let (inner_lo, inner_hi) = (level.inner_lo[c], level.inner_hi[c]);
        if !(l < h && (h - l).is_finite() && l <= inner_lo && inner_hi <= h) {
            return Err(Error::InvalidArgument(format!(
                "window levels: channel {c}'s range {l}..{h} must be ordered, finite and reach the training windows' levels {inner_lo}..{inner_hi}"
            )));
        }
        level.lo[c] = l;
        level.hi[c] = h;
        level.center[c] = inner_lo + (inner_hi - inner_lo) / 2.0;
        let width = f64::from(inner_hi - inner_lo);
        let needed = if width > 0.0 {
            (f64::from(h - l) / width).log2().ceil()
        } else {
            f64::from(MAX_LEVEL_BITS)
        };
        level.bits[c] = needed.clamp(1.0, f64::from(MAX_LEVEL_BITS)) as u8;
    }
    // At most half the code bits for the levels: the widest level gives up bits first.
    while level.bits.iter().map(|&b| usize::from(b)).sum::<usize>() > (budget / 2).max(channels) {
        if let Some(widest) = (0..channels)
            .filter(|&c| level.bits[c] > 1)
            .max_by_key(|&c| level.bits[c])
        {
            level.bits[widest] -= 1;
        } else {
            break;
        }
    }

    // Each mode's widths after the levels: its own dimensions, on measured errors.
    let left = budget - level.bits.iter().map(|&b| usize::from(b)).sum::<usize>();
    for m in 0..modes {
        let tables: Vec<Vec<(f64, f32, f32)>> = (0..k)
            .map(|d| {
                (0..=plain[m * k + d])
                    .map(|b| (error(d, b), lo[d], hi[d]))
                    .collect()
            })
            .collect();
        let bits = allocate_measured(&tables, left);
        level.code_bits[m * k..(m + 1) * k].copy_from_slice(&bits);
    }

    match &mut model.quantizer {
        FloatQuantizer::Uniform { bits, .. } | FloatQuantizer::Switched { bits, .. } => {
            *bits = plain;
        }
        FloatQuantizer::Gaussian { .. } => {}
    }
    model.level = Some(level);
    model.validate()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_levels_argument_reads_off_data_and_ranges() {
        assert_eq!(FullScale::parse("off"), Ok(None));
        assert_eq!(FullScale::parse("data"), Ok(Some(FullScale::FromData)));
        assert_eq!(
            FullScale::parse("-16:16"),
            Ok(Some(FullScale::All(-16.0, 16.0)))
        );
        assert_eq!(
            FullScale::parse("-2:2, 0:4095"),
            Ok(Some(FullScale::PerChannel(vec![
                (-2.0, 2.0),
                (0.0, 4095.0)
            ])))
        );
        for bad in ["", "16", "2:1", "a:1", "-inf:0", "0:1,", "NaN:1"] {
            assert!(FullScale::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn levels_keep_the_payload_to_its_budget_and_reach_the_training_levels() {
        use crate::export::blob::export_blob;
        use aecodec_core::{Model, Precision};
        // Three channels, 16 samples, levels drifting over the recording.
        let windows: Vec<Window> = (0..400)
            .map(|i| {
                let w = (0..48)
                    .map(|j| {
                        let (t, c) = ((i * 16 + j / 3) as f32, (j % 3) as f32);
                        (t * 0.3 + c).sin() * (1.0 + c) + c * 10.0 + (i as f32 * 0.01).sin()
                    })
                    .collect();
                (w, 0)
            })
            .collect();
        for bytes in [6, 12, 24] {
            for switch in [false, true] {
                let header = aecodec_core::PayloadHeader::default();
                let mut model = if switch {
                    crate::linear::fit_switch_budget(&windows, 3, bytes, header).unwrap()
                } else {
                    crate::linear::fit_linear_budget(&windows, 3, bytes, header).unwrap()
                };
                attach(&mut model, &windows, bytes, &FullScale::FromData).unwrap();
                let blob = export_blob(&model, Precision::F32, &windows[..8]).unwrap();
                let m = Model::from_bytes(&blob).unwrap();
                assert_eq!(
                    usize::from(m.payload_layout().bytes),
                    bytes,
                    "{bytes} B {switch}"
                );
                let level = model.level.as_ref().unwrap();
                let means = levels(&windows, 3);
                for c in 0..3 {
                    let lo = means
                        .iter()
                        .skip(c)
                        .step_by(3)
                        .fold(f64::MAX, |a, &b| a.min(b));
                    assert_eq!(level.inner_lo[c], lo as f32);
                    assert!(level.lo[c] < level.inner_lo[c] && level.inner_hi[c] < level.hi[c]);
                }
            }
        }
        let mut model =
            crate::linear::fit_linear_budget(&windows, 3, 6, Default::default()).unwrap();
        let narrow = FullScale::All(-1.0, 1.0);
        let e = attach(&mut model, &windows, 6, &narrow)
            .unwrap_err()
            .to_string();
        assert!(e.contains("channel 1") || e.contains("channel 0"), "{e}");
    }

    #[test]
    fn the_default_full_scale_reaches_the_span_again_and_the_mirror_image() {
        assert_eq!(default_full_scale(0.5, 1.5), (-1.5, 2.5));
        assert_eq!(default_full_scale(1000.0, 3000.0), (-3000.0, 5000.0));
        assert_eq!(default_full_scale(-1.0, 1.0), (-3.0, 3.0));
        assert_eq!(default_full_scale(0.0, 0.0), (-1.0, 1.0));
    }
}
