//! Window levels: how a codec fit on some recordings still decodes a window whose level
//! (a channel's mean over the window) lies outside every level it was fit on — another
//! device's calibration offset, a sensor mounted the other way up, a person off the
//! platform. The core codes such a window's levels beside its codes
//! ([`aecodec_core::LevelSpec`]); this module fits that spec to a trained codec.
//!
//! What [`attach`] decides, for each channel:
//! - the *inner range*: the levels of the training windows, lowest to highest, widened
//!   on each side as far as the codes without levels were measured to decode training
//!   windows moved there better than with levels ([`widen_inner`]); a window within it
//!   on every channel is coded as before, but for the escape field's top code
//!   ([`aecodec_core::escape_field`]: no payload spends a bit on levels it does not send);
//! - the *full scale* the level must reach: given by the user, or from the data
//!   ([`default_full_scale`]);
//! - the level's step and bits: a window with levels moves each channel by the fewest
//!   whole steps that bring its level into the *fit range* (the training levels), so
//!   that it lands beside the training windows nearest it, and a channel already within
//!   is not moved at all; a step is a [`STEPS_PER_WIDTH`]th of the fit range's width,
//!   and the bits enough steps to reach the full scale ([`steps_to_reach`], 1..=
//!   [`MAX_LEVEL_BITS`]), at most half the payload's code bits in all (a channel cut
//!   short takes longer steps);
//! - the latent widths of a payload with levels: each mode's dimensions keep the bits
//!   measured to matter most, within the bits the levels leave.

use aecodec_core::{escape_field, PayloadLayout, MAX_LEVEL_CHANNELS, MIN_ESCAPE_BITS};

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

/// Whether a fit codes window levels, and over which full scale.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Levels {
    /// The range each channel's level must reach.
    pub full_scale: FullScale,
    /// Refuse a codec that cannot code them ([`fit_for`]); without, such a codec is fit
    /// without levels.
    pub required: bool,
}

impl Levels {
    /// The default: from the data where the codec can code them.
    pub const AUTO: Levels = Levels {
        full_scale: FullScale::FromData,
        required: false,
    };

    /// Reads the `--levels` argument: `off` (no levels: `None`), `auto` ([`Levels::AUTO`]),
    /// `data` ([`FullScale::FromData`], required), `LO:HI` for every channel, or
    /// `LO:HI,LO:HI,…` one per channel. Each range finite and ordered; the error says
    /// what is wrong.
    pub fn parse(text: &str) -> Result<Option<Levels>, String> {
        let required = |full_scale| {
            Ok(Some(Levels {
                full_scale,
                required: true,
            }))
        };
        match text.trim() {
            "off" => return Ok(None),
            "auto" => return Ok(Some(Levels::AUTO)),
            "data" => return required(FullScale::FromData),
            _ => {}
        }
        let range = |part: &str| -> Result<(f32, f32), String> {
            let (lo, hi) = part.split_once(':').ok_or_else(|| {
                format!("`{part}`: expected LO:HI (e.g. -16:16), `auto`, `data` or `off`")
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
        required(match ranges[..] {
            [(lo, hi)] => FullScale::All(lo, hi),
            _ => FullScale::PerChannel(ranges),
        })
    }
}

/// `model` with window levels as `levels` asks ([`attach`]): refused where it cannot
/// code them if they are required, else the model as it is.
pub fn fit_for(
    mut model: FloatModel,
    windows: &[Window],
    payload_bytes: usize,
    levels: &Levels,
) -> Result<FloatModel, Error> {
    if !levels.required && unfit(&model, payload_bytes).is_some() {
        return Ok(model);
    }
    attach(&mut model, windows, payload_bytes, &levels.full_scale)?;
    Ok(model)
}

/// Why `model` cannot code window levels in payloads of `payload_bytes`, if it cannot:
/// too many channels, a Gaussian (VAE) quantizer, fewer than two code bits per channel,
/// or a mode with no dimension of 2 bits or more (its escape field).
pub fn unfit(model: &FloatModel, payload_bytes: usize) -> Option<String> {
    escape_widths(model, payload_bytes).err()
}

/// The code budget of `model`'s payloads of `payload_bytes` and each mode's escape field
/// width, or why it cannot code window levels ([`unfit`]).
fn escape_widths(model: &FloatModel, payload_bytes: usize) -> Result<(usize, Vec<usize>), String> {
    let channels = model.signal.channels.max(1);
    if channels > MAX_LEVEL_CHANNELS {
        return Err(format!("{channels} channels, at most {MAX_LEVEL_CHANNELS}"));
    }
    if matches!(model.quantizer, FloatQuantizer::Gaussian { .. }) {
        return Err("a VAE's latent quantizer is Gaussian; levels need a uniform one".into());
    }
    let modes = model.quantizer.modes();
    let budget = PayloadLayout::code_budget(
        payload_bytes,
        model.header,
        usize::from(model.label_count),
        modes,
    )
    .map_err(|e| e.to_string())?
    .get();
    if budget < 2 * channels {
        return Err(format!(
            "a {payload_bytes}-byte payload leaves {budget} code bits, fewer than two per channel ({channels}); give more --payload-bytes"
        ));
    }
    (0..modes)
        .map(|m| match escape_field(model.quantizer.mode_bits(m)) {
            Some((_, b)) if b >= MIN_ESCAPE_BITS => Ok(usize::from(b)),
            _ => Err(format!(
                "mode {m} of the {payload_bytes}-byte payload has no dimension of {MIN_ESCAPE_BITS} bits or more to mark a window sent with its levels; give more --payload-bytes"
            )),
        })
        .collect::<Result<Vec<usize>, String>>()
        .map(|escapes| (budget, escapes))
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

/// Steps in the fit range's width.
pub const STEPS_PER_WIDTH: f64 = 4.0;

/// The shortest step with which `bits`' level codes (`−2^(bits−1) ..= 2^(bits−1) − 1`
/// steps) move a level `(below, above)` the fit range into it (infinite for a reach
/// above with 1 bit, whose codes never move down).
pub fn steps_to_reach(bits: u8, (below, above): (f64, f64)) -> f64 {
    let half = f64::from(1u32 << (bits.clamp(1, 16) - 1));
    let up = if above > 0.0 {
        above / (half - 1.0)
    } else {
        0.0
    };
    (below / half).max(up).max(0.0)
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
/// (its training windows) for payloads of `payload_bytes`, as the module says; the
/// codes of windows without levels keep their widths. Refused if the payload cannot
/// hold two bits per channel's level, if a mode has no dimension of 2 bits or more (its
/// escape field), if a given full scale does not reach the training levels, or for a
/// Gaussian (VAE) quantizer.
pub fn attach(
    model: &mut FloatModel,
    windows: &[Window],
    payload_bytes: usize,
    full_scale: &FullScale,
) -> Result<(), Error> {
    let (budget, escapes) = escape_widths(model, payload_bytes).map_err(|why| {
        Error::InvalidArgument(format!("window levels: {why}; or train with --levels off"))
    })?;
    let channels = model.signal.channels.max(1);
    let (mean, lo, hi) = match &model.quantizer {
        FloatQuantizer::Uniform { mean, lo, hi, .. }
        | FloatQuantizer::Switched { mean, lo, hi, .. } => (mean.clone(), lo.clone(), hi.clone()),
        FloatQuantizer::Gaussian { .. } => {
            return Err(Error::InvalidModel("a Gaussian quantizer".into()))
        }
    };
    if windows.is_empty() {
        return Err(Error::InvalidArgument(
            "window levels: no training windows".into(),
        ));
    }
    let (modes, k) = (model.quantizer.modes(), model.quantizer.dims());

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

    let all_levels = levels(windows, channels);
    let mut level = FloatLevel {
        inner_lo: vec![f32::INFINITY; channels],
        inner_hi: vec![f32::NEG_INFINITY; channels],
        fit_lo: vec![0.0; channels],
        fit_hi: vec![0.0; channels],
        bits: vec![0; channels],
        step: vec![0.0; channels],
        code_bits: vec![0; modes * k],
    };
    for row in all_levels.chunks_exact(channels) {
        for (c, &v) in row.iter().enumerate() {
            level.inner_lo[c] = level.inner_lo[c].min(v as f32);
            level.inner_hi[c] = level.inner_hi[c].max(v as f32);
        }
    }
    let mut reach = vec![(0.0f64, 0.0f64); channels];
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
        (level.fit_lo[c], level.fit_hi[c]) = (inner_lo, inner_hi);
        // A channel whose training level never moves steps by the full scale's 2^-12.
        let width = f64::from(inner_hi - inner_lo).max(f64::from(h - l) / 4096.0);
        let step = width / STEPS_PER_WIDTH;
        reach[c] = (f64::from(inner_lo - l), f64::from(h - inner_hi));
        level.bits[c] = (1..=MAX_LEVEL_BITS)
            .find(|&b| steps_to_reach(b, reach[c]) <= step)
            .unwrap_or(MAX_LEVEL_BITS);
        level.step[c] = step.max(steps_to_reach(level.bits[c], reach[c])) as f32;
    }
    // At most half the code bits for the levels: the widest level gives up bits first,
    // and its steps grow to still reach the full scale.
    while level.bits.iter().map(|&b| usize::from(b)).sum::<usize>() > (budget / 2).max(2 * channels)
    {
        if let Some(widest) = (0..channels)
            .filter(|&c| level.bits[c] > 2)
            .max_by_key(|&c| level.bits[c])
        {
            level.bits[widest] -= 1;
            let longer = steps_to_reach(level.bits[widest], reach[widest]) as f32;
            level.step[widest] = level.step[widest].max(longer);
        } else {
            break;
        }
    }

    // Each mode's widths after its escape field and the levels: its own dimensions, on
    // measured errors.
    let level_bits = level.bits.iter().map(|&b| usize::from(b)).sum::<usize>();
    let plain = model.quantizer.bits().to_vec();
    for (m, escape) in escapes.iter().enumerate() {
        let left = budget.saturating_sub(escape + level_bits);
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
    model.level = Some(level);
    model.validate()?;
    widen_inner(model, &measured)
}

/// Distances past the inner range, in widths of the fit range, at which [`widen_inner`]
/// compares codings.
const TRIGGER_WIDTHS: [f32; 8] = [0.0625, 0.125, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0];
/// Most windows [`widen_inner`] moves per channel, side and distance.
const TRIGGER_WINDOWS: usize = 48;

/// Widens each side of each channel's inner range (the training levels) to where the
/// plain encoder should start sending levels: training windows are moved so that one
/// channel's level lies [`TRIGGER_WIDTHS`] widths of its fit range past that side,
/// coded by the model's f32 blob without levels and with them (the plain encoder of the
/// core, no refinement), and the side moves out to the farthest distance before the first at which the
/// windows with levels decode with less squared error in all.
fn widen_inner(model: &mut FloatModel, windows: &[&Window]) -> Result<(), Error> {
    use crate::export::blob::export_blob;
    use aecodec_core::{Codec, Meta, Model, Precision, MAX_WIDTH};
    let Some(level) = model.level.clone() else {
        return Ok(());
    };
    let channels = level.bits.len();
    let step = windows.len().div_ceil(TRIGGER_WINDOWS).max(1);
    let sample: Vec<&Window> = windows.iter().step_by(step).copied().collect();
    let calibration: Vec<Window> = sample.iter().take(8).map(|&w| w.clone()).collect();
    // Never with levels (an inner range past any level), always (an empty one past them).
    let with_inner = |lo: f32, hi: f32| -> Result<Vec<u8>, Error> {
        let mut m = model.clone();
        if let Some(l) = &mut m.level {
            (l.inner_lo, l.inner_hi) = (vec![lo; channels], vec![hi; channels]);
        }
        export_blob(&m, Precision::F32, &calibration)
    };
    let (plain, leveled) = (with_inner(-1e38, 1e38)?, with_inner(1e38, 1e38)?);
    let (plain, leveled) = (Model::from_bytes(&plain)?, Model::from_bytes(&leveled)?);
    let (mut plain, mut leveled) = (
        Box::new(Codec::<MAX_WIDTH>::new(&plain)?),
        Box::new(Codec::<MAX_WIDTH>::new(&leveled)?),
    );
    let mut out = vec![0.0f32; model.input_dim];
    let mut error =
        |codec: &mut Codec<'_, MAX_WIDTH>, w: &[f32], label: u16| -> Result<f64, Error> {
            let p = codec.encode(w, Meta { sequence: 0, label })?;
            codec.decode(p.as_bytes(), &mut out)?;
            Ok(w.iter()
                .zip(&out)
                .map(|(a, b)| f64::from(a - b).powi(2))
                .sum())
        };
    let mut inner = (level.inner_lo.clone(), level.inner_hi.clone());
    for c in 0..channels {
        for side in [-1.0f32, 1.0] {
            let edge = if side < 0.0 {
                level.inner_lo[c]
            } else {
                level.inner_hi[c]
            };
            let mut reach = 0.0f32;
            // A channel whose training level never moves: its steps' width.
            let width = match level.fit_hi[c] - level.fit_lo[c] {
                w if w > 0.0 => w,
                _ => level.step[c] * STEPS_PER_WIDTH as f32,
            };
            for &widths in &TRIGGER_WIDTHS {
                let target = edge + side * widths * width;
                let (mut without, mut with) = (0.0f64, 0.0f64);
                for (w, label) in &sample {
                    let mut moved = w.clone();
                    let own: Vec<&mut f32> = moved.iter_mut().skip(c).step_by(channels).collect();
                    let mean =
                        own.iter().map(|x| f64::from(**x)).sum::<f64>() / own.len().max(1) as f64;
                    let by = (f64::from(target) - mean) as f32;
                    for x in own {
                        *x += by;
                    }
                    without += error(&mut plain, &moved, *label)?;
                    with += error(&mut leveled, &moved, *label)?;
                }
                if with < without {
                    break;
                }
                reach = widths * width;
            }
            if side < 0.0 {
                inner.0[c] = edge - reach;
            } else {
                inner.1[c] = edge + reach;
            }
        }
    }
    if let Some(l) = &mut model.level {
        (l.inner_lo, l.inner_hi) = inner;
    }
    model.validate()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_levels_argument_reads_off_auto_data_and_ranges() {
        let required = |full_scale| {
            Ok(Some(Levels {
                full_scale,
                required: true,
            }))
        };
        assert_eq!(Levels::parse("off"), Ok(None));
        assert_eq!(Levels::parse("auto"), Ok(Some(Levels::AUTO)));
        assert_eq!(Levels::parse("data"), required(FullScale::FromData));
        assert_eq!(
            Levels::parse("-16:16"),
            required(FullScale::All(-16.0, 16.0))
        );
        assert_eq!(
            Levels::parse("-2:2, 0:4095"),
            required(FullScale::PerChannel(vec![(-2.0, 2.0), (0.0, 4095.0)]))
        );
        for bad in ["", "16", "2:1", "a:1", "-inf:0", "0:1,", "NaN:1"] {
            assert!(Levels::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn levels_by_default_are_left_out_where_the_codec_cannot_code_them() {
        // Three channels; a 1-byte payload with a 4-bit tag leaves 4 code bits, fewer
        // than two per channel.
        let windows: Vec<Window> = (0..200)
            .map(|i| {
                (
                    (0..48).map(|j| ((i * 48 + j) as f32 * 0.1).sin()).collect(),
                    0,
                )
            })
            .collect();
        let header = aecodec_core::PayloadHeader {
            fingerprint_bits: 4,
            sequence_bits: 0,
        };
        let model = crate::linear::fit_linear_budget(&windows, 3, 1, header).unwrap();
        let why = unfit(&model, 1).unwrap();
        assert!(why.contains("fewer than two per channel"), "{why}");
        let kept = fit_for(model.clone(), &windows, 1, &Levels::AUTO).unwrap();
        assert_eq!(kept, model);
        let required = Levels {
            full_scale: FullScale::FromData,
            required: true,
        };
        let e = fit_for(model, &windows, 1, &required)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("window levels") && e.contains("--levels off"),
            "{e}"
        );
        // Where it can, the default codes them.
        let model = crate::linear::fit_linear_budget(&windows, 3, 8, header).unwrap();
        assert_eq!(unfit(&model, 8), None);
        let leveled = fit_for(model, &windows, 8, &Levels::AUTO).unwrap();
        assert!(leveled.level.is_some());
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
                    let own = || means.iter().skip(c).step_by(3).map(|&v| v as f32);
                    let lo = own().fold(f32::MAX, f32::min);
                    let hi = own().fold(f32::MIN, f32::max);
                    // Steps of a quarter of the training levels' width at least; the
                    // inner range those levels widened by at most the farthest distance
                    // tried.
                    let s = level.step[c];
                    assert!(s >= (hi - lo) * 0.2499, "{bytes} B channel {c}: step {s}");
                    assert_eq!((level.fit_lo[c], level.fit_hi[c]), (lo, hi));
                    let widened = [lo - level.inner_lo[c], level.inner_hi[c] - hi];
                    assert!(
                        widened
                            .iter()
                            .all(|&d| (0.0..=8.001 * (hi - lo)).contains(&d)),
                        "{bytes} B channel {c}: {widened:?} past {lo}..{hi}, steps of {s}"
                    );
                    let far = s * f32::from(1u16 << (level.bits[c] - 1));
                    assert!(far > hi - lo);
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
