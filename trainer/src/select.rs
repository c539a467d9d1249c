//! `auto`: fit the candidate codecs at the payload budget and keep the one with the
//! lowest distortion on the validation windows, measured through the core itself (the
//! same encode → payload → decode a receiver runs), by the one-standard-error rule of
//! model selection (Hastie, Tibshirani and Friedman, *The Elements of Statistical
//! Learning*, §7.10): of the candidates whose validation SNR is within one standard
//! error of the best one's, the simplest is kept. Simplest first: the classical codecs
//! (`linear`, `dct`, `switch`), then the regularized learned one (`dae`, trained on
//! corrupted windows), then the others. A lead within the noise of the validation
//! windows thus keeps the codec that generalizes more predictably.
//!
//! Among the classical codecs, the per-window switch between PCA and DCT is kept unless
//! one basis alone leads it on validation by more than [`SWITCH_PREMIUM_DB`]: the switch
//! pays one bit to follow windows unlike the validation ones (a regime the training part
//! lacks), where a single basis chosen on validation can be the wrong one
//! (docs/generalization.md).
//!
//! A learned codec is chosen through the encoder the job says the codec will run with
//! (`refine` passes through the decoder), but a device without the decoder runs the plain
//! full-int8 encoder. A learned candidate whose payloads from such a device decode the
//! validation windows worse than the best classical codec's do is therefore left out
//! ([`device_left_out`]): `auto` does not ship an encoder-only device a learned codec
//! that sends less, on validation, than PCA, DCT or their switch would.

use aecodec_core::Precision;

use crate::data::windows::{sample, WindowSource, FIT_SAMPLE};
use crate::data::Window;
use crate::float::FloatModel;
use crate::learned::train::{train, Progress, TrainConfig};
use crate::learned::variants::{Variant, DAE_NOISE};
use crate::linear::{fit_dct_budget, fit_linear_budget, fit_switch_budget};
use crate::report::metrics::{distortion, window_errors, Distortion};
use crate::rng::Rng;
use crate::store::KEEP_WINDOWS;
use crate::{device_blob, export_blob, round_trip, send_receive, Error};

/// Windows per block when the validation errors are resampled: validation windows
/// overlap (the demo's start every 8 samples and span 64), so they are resampled in
/// contiguous blocks of 8 to keep neighbours together.
const BLOCK: usize = 8;

/// Bootstrap resamples for the standard error of a lead.
const RESAMPLES: usize = 2000;

/// What a candidate is, so that the chosen one can be fit again on more data.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CodecKind {
    /// PCA/KLT with bit allocation ([`fit_linear_budget`]).
    Linear,
    /// Per-channel DCT with bit allocation ([`fit_dct_budget`]).
    Dct,
    /// PCA or DCT chosen window by window, one mode bit ([`fit_switch_budget`]).
    Switch,
    /// A learned variant, trained with the selection's [`TrainConfig`].
    Learned(Variant),
}

impl CodecKind {
    /// The classical codecs, simplest first.
    pub const CLASSICAL: [CodecKind; 3] = [CodecKind::Linear, CodecKind::Dct, CodecKind::Switch];

    /// The CLI name: `linear`, `dct`, `switch` or the variant's.
    pub fn name(&self) -> &'static str {
        match self {
            CodecKind::Linear => "linear",
            CodecKind::Dct => "dct",
            CodecKind::Switch => "switch",
            CodecKind::Learned(v) => crate::learned::train::variant_name(v),
        }
    }
}

/// Fits a codec of `kind` with `cfg`'s budget and settings on `windows` (`channels`
/// interleaved, `labels` classes or 0): what [`auto`] does for each candidate, here for
/// the one it chose, on the training and validation windows together. `progress`
/// reports the steps of a learned variant, whose progress figures are measured on
/// `monitor`.
///
/// `windows` may be a view of any size: the classical codecs are fit on at most
/// [`FIT_SAMPLE`] of them, evenly spread, and a learned one draws its minibatches from
/// all of them.
pub fn fit<W: WindowSource + ?Sized>(
    kind: CodecKind,
    cfg: &TrainConfig,
    windows: &W,
    monitor: &[Window],
    channels: usize,
    labels: usize,
    progress: &mut dyn FnMut(Progress),
) -> Result<FloatModel, Error> {
    let model = fit_codec(kind, cfg, windows, monitor, channels, labels, progress)?;
    match &cfg.levels {
        Some(levels) => {
            let sample = sample(windows, FIT_SAMPLE);
            crate::level::fit_for(model, &sample, cfg.payload_bytes, levels)
        }
        None => Ok(model),
    }
}

/// [`fit`] without window levels.
fn fit_codec<W: WindowSource + ?Sized>(
    kind: CodecKind,
    cfg: &TrainConfig,
    windows: &W,
    monitor: &[Window],
    channels: usize,
    labels: usize,
    progress: &mut dyn FnMut(Progress),
) -> Result<FloatModel, Error> {
    match kind {
        CodecKind::Linear => fit_linear_budget(
            &sample(windows, FIT_SAMPLE),
            channels,
            cfg.payload_bytes,
            cfg.header,
        ),
        CodecKind::Dct => fit_dct_budget(
            &sample(windows, FIT_SAMPLE),
            channels,
            cfg.payload_bytes,
            cfg.header,
        ),
        CodecKind::Switch => fit_switch_budget(
            &sample(windows, FIT_SAMPLE),
            channels,
            cfg.payload_bytes,
            cfg.header,
        ),
        CodecKind::Learned(variant) => Ok(train(
            &TrainConfig {
                variant,
                ..cfg.clone()
            },
            windows,
            monitor,
            channels,
            labels,
            progress,
        )?
        .model),
    }
}

/// One candidate's result.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// `linear` or the variant's name.
    pub name: String,
    /// What it is.
    pub kind: CodecKind,
    /// Its model.
    pub model: FloatModel,
    /// Distortion on the validation windows, through the core (f32).
    pub validation: Distortion,
    /// Squared error of each validation window, from the same decode as `validation`.
    pub window_errors: Vec<f64>,
    /// Distortion on the validation windows as a device without the decoder sends them:
    /// the full-int8 encoder, plain (no refinement), its payloads decoded by the f32 blob
    /// (`train`'s device figure); `None` where no full-int8 blob could be made.
    pub device: Option<Distortion>,
}

/// How far the best candidate on validation leads a simpler one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lead {
    /// Index of the candidate with the best validation SNR.
    pub best: usize,
    /// Index of the simpler candidate it was compared with.
    pub simpler: usize,
    /// Best SNR minus the simpler one's on the validation windows, dB.
    pub db: f64,
    /// Block-bootstrap standard error of `db`.
    pub standard_error_db: f64,
}

impl Lead {
    /// How far `candidates[best]` leads `candidates[simpler]` on validation, with the
    /// standard error of that lead ([`lead_standard_error`]).
    fn of(candidates: &[Candidate], best: usize, simpler: usize, seed: u64) -> Lead {
        let (b, s) = (&candidates[best], &candidates[simpler]);
        Lead {
            best,
            simpler,
            db: b.validation.snr_db - s.validation.snr_db,
            standard_error_db: lead_standard_error(&b.window_errors, &s.window_errors, seed),
        }
    }

    /// Whether the lead is more than one standard error (else the simpler one is kept).
    pub fn is_clear(&self) -> bool {
        self.db > self.standard_error_db
    }
}

/// Simplicity rank of a candidate (lower is simpler): classical codecs, then the
/// denoising autoencoder, then other learned variants.
fn simplicity(kind: CodecKind) -> u8 {
    match kind {
        CodecKind::Linear | CodecKind::Dct | CodecKind::Switch => 0,
        CodecKind::Learned(Variant::Dae(_)) => 1,
        CodecKind::Learned(_) => 2,
    }
}

/// The chosen model and everything that was compared.
#[derive(Debug, Clone)]
pub struct Selection {
    /// Index of the winner in `candidates`.
    pub chosen: usize,
    /// All candidates, in the order tried.
    pub candidates: Vec<Candidate>,
    /// The comparison that decided: the best candidate against the simplest one within
    /// one standard error (then `chosen` is `simpler`), or against the best of the next
    /// simpler rank (its lead was clear); `None` if nothing simpler was tried.
    pub lead: Option<Lead>,
    /// When the switch was kept over a classical codec with a better validation SNR:
    /// that codec's lead over it (at most [`SWITCH_PREMIUM_DB`]).
    pub switch_kept: Option<Lead>,
    /// The learned candidates left out because an encoder-only device would send less
    /// with them than with the best classical codec ([`device_left_out`]).
    pub device_left_out: Vec<usize>,
}

impl Selection {
    /// The winner.
    pub fn best(&self) -> &Candidate {
        &self.candidates[self.chosen]
    }

    /// The classical candidate whose encoder-only device codes the validation windows
    /// best.
    fn best_classical_device(&self) -> Option<(&Candidate, Distortion)> {
        best_classical_device(&self.candidates).map(|(i, d)| (&self.candidates[i], d))
    }

    /// One sentence saying what was chosen and why.
    pub fn reason(&self) -> String {
        let best = self.best();
        let others: Vec<String> = self
            .candidates
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != self.chosen)
            .map(|(_, c)| format!("{} {:.2} dB", c.name, c.validation.snr_db))
            .collect();
        let rule = match self.lead {
            Some(l) if !l.is_clear() => format!(
                "; {} scored {:.2} dB more, within one standard error ({:.2} dB), so the simpler codec is kept",
                self.candidates[l.best].name, l.db, l.standard_error_db
            ),
            Some(l) => format!(
                "; lead over the simpler {} {:.2} dB, more than one standard error ({:.2} dB)",
                self.candidates[l.simpler].name, l.db, l.standard_error_db
            ),
            None => String::new(),
        };
        let rule = match self.switch_kept {
            Some(l) => format!(
                "{rule}; {} scored {:.2} dB more than the PCA/DCT switch, within the {SWITCH_PREMIUM_DB} dB auto pays for its per-window choice",
                self.candidates[l.best].name, l.db
            ),
            None => rule,
        };
        let rule = match (self.device_left_out.as_slice(), self.best_classical_device()) {
            ([], _) | (_, None) => rule,
            (left, Some((c, d))) => format!(
                "{rule}; left out, an encoder-only full-int8 device sending less with them than with {} ({:.2} dB): {}",
                c.name,
                d.snr_db,
                left.iter()
                    .map(|&i| match self.candidates[i].device {
                        Some(d) => format!("{} {:.2} dB", self.candidates[i].name, d.snr_db),
                        None => format!("{} (no full-int8 blob)", self.candidates[i].name),
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        format!(
            "chose {}: {:.2} dB SNR on the validation windows (vs {}){rule}",
            best.name,
            best.validation.snr_db,
            if others.is_empty() {
                "no other candidate".to_string()
            } else {
                others.join(", ")
            }
        )
    }
}

/// Standard error of `10 log10(Σ b / Σ a)`, the dB by which the codec with per-window
/// squared errors `a` beats the one with `b` on the same windows (the signal energy
/// cancels), by a paired bootstrap over contiguous blocks of [`BLOCK`] windows.
pub fn lead_standard_error(a: &[f64], b: &[f64], seed: u64) -> f64 {
    let n = a.len().min(b.len());
    if n == 0 {
        return 0.0;
    }
    // Per block: (Σ a, Σ b).
    let blocks: Vec<(f64, f64)> = a[..n]
        .chunks(BLOCK)
        .zip(b[..n].chunks(BLOCK))
        .map(|(x, y)| (x.iter().sum(), y.iter().sum()))
        .collect();
    let mut rng = Rng::new(seed);
    let k = blocks.len();
    let leads: Vec<f64> = (0..RESAMPLES)
        .map(|_| {
            let (mut sa, mut sb) = (0.0, 0.0);
            for _ in 0..k {
                let (x, y) = blocks[((rng.uniform() * k as f64) as usize).min(k - 1)];
                sa += x;
                sb += y;
            }
            10.0 * (sb.max(f64::MIN_POSITIVE) / sa.max(f64::MIN_POSITIVE)).log10()
        })
        .collect();
    let mean = leads.iter().sum::<f64>() / RESAMPLES as f64;
    (leads.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (RESAMPLES - 1) as f64).sqrt()
}

/// Distortion of `model` on `windows` through the core, the encoder refining codes for
/// `refine` passes (see [`crate::round_trip`]).
pub fn validate(
    model: &FloatModel,
    calibration: &[Window],
    windows: &[Window],
    channels: usize,
    refine: u8,
) -> Result<Distortion, Error> {
    let blob = export_blob(model, Precision::F32, calibration)?;
    Ok(measure(&blob, windows, channels, refine)?.0)
}

/// What a device without the decoder sends of `windows` with `model`, decoded by its f32
/// blob `receiver` ([`Candidate::device`]).
fn measure_device(
    model: &FloatModel,
    receiver: &[u8],
    calibration: &[Window],
    windows: &[Window],
    channels: usize,
) -> Option<Distortion> {
    let int8 = export_blob(model, Precision::Int8Full, calibration).ok()?;
    let encoder = device_blob(&int8, receiver).ok()?;
    let decoded = send_receive(&encoder, receiver, windows, 0).ok()?;
    Some(distortion(windows, &decoded, channels))
}

/// [`validate`] of a model's f32 `blob`, and the squared error of each window, from one
/// pass through the core.
fn measure(
    blob: &[u8],
    windows: &[Window],
    channels: usize,
    refine: u8,
) -> Result<(Distortion, Vec<f64>), Error> {
    let decoded = round_trip(blob, windows, refine)?;
    let errors = window_errors(windows, &decoded);
    Ok((distortion(windows, &decoded, channels), errors))
}

/// Fits `linear` (PCA), `dct` and `switch` (unconditional data only), the learned variant of
/// `cfg` (and, for `ae`, its denoising twin), all at `cfg.payload_bytes`, and keeps the
/// one with the best validation SNR.
pub fn auto<W: WindowSource + ?Sized>(
    cfg: &TrainConfig,
    train_windows: &W,
    val: &[Window],
    channels: usize,
    labels: usize,
    progress: &mut dyn FnMut(Progress),
) -> Result<Selection, Error> {
    if val.is_empty() {
        return Err(Error::InvalidArgument(
            "auto needs validation windows to compare candidates".into(),
        ));
    }
    let mut kinds = Vec::new();
    if labels == 0 {
        kinds.extend(CodecKind::CLASSICAL);
    }
    kinds.push(CodecKind::Learned(cfg.variant));
    // A plain autoencoder is also tried with input noise (see DAE_NOISE).
    if cfg.variant == Variant::Ae {
        kinds.push(CodecKind::Learned(Variant::dae(DAE_NOISE)));
    }
    let candidates = fit_candidates(&kinds, cfg, train_windows, val, channels, labels, progress)?;
    Ok(choose(candidates, cfg.seed))
}

/// The classical candidates of [`auto`] (`linear`, `dct`, `switch`), fit on
/// `train_windows` at `cfg`'s budget and measured on `val`.
pub fn classical<W: WindowSource + ?Sized>(
    cfg: &TrainConfig,
    train_windows: &W,
    val: &[Window],
    channels: usize,
) -> Result<Vec<Candidate>, Error> {
    fit_candidates(
        &CodecKind::CLASSICAL,
        cfg,
        train_windows,
        val,
        channels,
        0,
        &mut |_| {},
    )
}

/// Fits each of `kinds` on `train_windows` and measures it on `val` through the core.
fn fit_candidates<W: WindowSource + ?Sized>(
    kinds: &[CodecKind],
    cfg: &TrainConfig,
    train_windows: &W,
    val: &[Window],
    channels: usize,
    labels: usize,
    progress: &mut dyn FnMut(Progress),
) -> Result<Vec<Candidate>, Error> {
    // The f32 blobs `measure` exports take no calibration; a few windows keep it whole.
    let calibration = sample(train_windows, KEEP_WINDOWS);
    let mut candidates = Vec::with_capacity(kinds.len());
    for &kind in kinds {
        let model = fit(kind, cfg, train_windows, val, channels, labels, progress)?;
        let blob = export_blob(&model, Precision::F32, &calibration)?;
        let (validation, window_errors) = measure(&blob, val, channels, cfg.refine)?;
        let device = measure_device(&model, &blob, &calibration, val, channels);
        candidates.push(Candidate {
            name: kind.name().into(),
            kind,
            model,
            validation,
            window_errors,
            device,
        });
    }
    Ok(candidates)
}

/// What [`auto`] keeps of `candidates` (all of them classical, as [`classical`] fits
/// them, or learned ones as well): the one-standard-error rule, then the switch's
/// preference.
pub fn choose(candidates: Vec<Candidate>, seed: u64) -> Selection {
    let device_left_out = device_left_out(&candidates);
    let eligible = |i: usize| !device_left_out.contains(&i);
    let (chosen, lead) = one_standard_error_rule(&candidates, &eligible, seed);
    let (chosen, switch_kept) = prefer_switch(&candidates, chosen, seed);
    Selection {
        chosen,
        candidates,
        lead,
        switch_kept,
        device_left_out,
    }
}

/// The classical candidate whose encoder-only device scores best on validation, and
/// that score, if any.
fn best_classical_device(candidates: &[Candidate]) -> Option<(usize, Distortion)> {
    (0..candidates.len())
        .filter(|&i| simplicity(candidates[i].kind) == 0)
        .filter_map(|i| Some((i, candidates[i].device?)))
        .max_by(|a, b| a.1.snr_db.total_cmp(&b.1.snr_db))
}

/// The learned candidates with which an encoder-only device (full-int8, plain encoder)
/// codes the validation windows worse than with the best classical codec, or that have
/// no full-int8 blob at all (see the module's documentation). None without classical
/// candidates (labelled data).
fn device_left_out(candidates: &[Candidate]) -> Vec<usize> {
    let Some((_, floor)) = best_classical_device(candidates) else {
        return Vec::new();
    };
    (0..candidates.len())
        .filter(|&i| {
            simplicity(candidates[i].kind) > 0
                && candidates[i].device.is_none_or(|d| d.snr_db < floor.snr_db)
        })
        .collect()
}

/// Most validation SNR `auto` gives up for the PCA/DCT switch over a single basis, dB
/// (0.2 dB: 4.7 % more squared error).
///
/// On the validation windows of the rate–distortion suite, where one basis suits nearly
/// every window, the mode bit cost the switch 0.03–0.20 dB at 8–32 B (0.39 dB at 6 B on
/// KDD-TSAD 135, whose 48-bit payload feels one bit most). The figure was set with the
/// suite's test results in view as well (docs/generalization.md): on those recordings
/// it is no independent measure, the reserved ones are.
pub const SWITCH_PREMIUM_DB: f64 = 0.2;

/// The switch instead of the classical codec `chosen` when that one's validation lead
/// over it is at most [`SWITCH_PREMIUM_DB`] (see the module's documentation).
fn prefer_switch(candidates: &[Candidate], chosen: usize, seed: u64) -> (usize, Option<Lead>) {
    let switch = candidates.iter().position(|c| c.kind == CodecKind::Switch);
    let Some(switch) = switch.filter(|&s| s != chosen) else {
        return (chosen, None);
    };
    if simplicity(candidates[chosen].kind) != 0 {
        return (chosen, None);
    }
    let lead = Lead::of(candidates, chosen, switch, seed);
    if lead.db > SWITCH_PREMIUM_DB {
        (chosen, None)
    } else {
        (switch, Some(lead))
    }
}

/// Of the `eligible` candidates, the simplest whose validation SNR is within one
/// standard error of the best's (see the module's documentation), and the comparison
/// that decided.
fn one_standard_error_rule(
    candidates: &[Candidate],
    eligible: &dyn Fn(usize) -> bool,
    seed: u64,
) -> (usize, Option<Lead>) {
    let snr = |i: usize| candidates[i].validation.snr_db;
    let Some(best) = (0..candidates.len())
        .filter(|&i| eligible(i))
        .max_by(|&a, &b| snr(a).total_cmp(&snr(b)))
    else {
        return (0, None);
    };
    let best_rank = simplicity(candidates[best].kind);
    let mut lead = None;
    for rank in 0..best_rank {
        // The best of this simpler rank.
        let Some(simpler) = (0..candidates.len())
            .filter(|&i| eligible(i) && simplicity(candidates[i].kind) == rank)
            .max_by(|&a, &b| snr(a).total_cmp(&snr(b)))
        else {
            continue;
        };
        let l = Lead::of(candidates, best, simpler, seed);
        if !l.is_clear() {
            return (simpler, Some(l));
        }
        lead = Some(l);
    }
    (best, lead)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_constant_lead_has_no_error_and_noise_shrinks_with_more_windows() {
        let b: Vec<f64> = (0..100).map(|i| 1.0 + (i % 7) as f64).collect();
        assert_eq!(lead_standard_error(&b, &b, 1), 0.0);
        let half: Vec<f64> = b.iter().map(|v| v / 2.0).collect();
        assert!(
            lead_standard_error(&half, &b, 1) < 1e-9,
            "a 3.01 dB lead in every window"
        );

        // Errors whose ratio varies from window to window: the lead is uncertain, less
        // so over 16 times the windows (about 4 times less).
        let mut rng = Rng::new(7);
        let mut pair = |n: usize| -> (Vec<f64>, Vec<f64>) {
            (0..n)
                .map(|_| (rng.uniform() + 0.1, rng.uniform() + 0.1))
                .unzip()
        };
        let (a1, b1) = pair(128);
        let (a2, b2) = pair(16 * 128);
        let (s1, s2) = (
            lead_standard_error(&a1, &b1, 3),
            lead_standard_error(&a2, &b2, 3),
        );
        assert!(s1 > 0.05 && s2 > 0.0, "{s1} {s2}");
        assert!(s2 < s1 / 2.5 && s2 > s1 / 6.0, "{s1} {s2}");
        assert_eq!(s1, lead_standard_error(&a1, &b1, 3), "seeded");
        assert_eq!(lead_standard_error(&[], &[], 3), 0.0);
    }

    #[test]
    fn the_switch_is_kept_unless_a_single_basis_leads_it_by_more_than_the_premium() {
        let windows: Vec<Window> = (0..64)
            .map(|i| ((0..8).map(|t| ((i * 7 + t * 3) % 11) as f32).collect(), 0))
            .collect();
        let model = crate::linear::fit_linear_budget(&windows, 1, 4, Default::default()).unwrap();
        let candidate = |kind: CodecKind, snr_db: f64, error: f64| Candidate {
            name: kind.name().into(),
            kind,
            model: model.clone(),
            validation: Distortion {
                rmse: error.sqrt(),
                snr_db,
                prd_percent: 0.0,
            },
            // Errors in every window in the same ratio: a lead without noise.
            window_errors: vec![error; 64],
            device: Some(Distortion {
                rmse: error.sqrt(),
                snr_db,
                prd_percent: 0.0,
            }),
        };
        let lead = |db: f64| {
            choose(
                vec![
                    candidate(CodecKind::Linear, 20.0 + db, 1.0),
                    candidate(CodecKind::Dct, 15.0, 3.0),
                    candidate(CodecKind::Switch, 20.0, 10f64.powf(db / 10.0)),
                ],
                1,
            )
        };
        let kept = lead(0.15);
        assert_eq!(kept.best().kind, CodecKind::Switch);
        let l = kept.switch_kept.unwrap();
        assert!((l.db - 0.15).abs() < 1e-9 && l.standard_error_db < 1e-9);
        assert!(
            kept.reason().contains("within the 0.2 dB auto pays"),
            "{}",
            kept.reason()
        );
        let not = lead(0.25);
        assert_eq!(not.best().kind, CodecKind::Linear);
        assert_eq!(not.switch_kept, None);
        // The switch that scores best is kept by the one-standard-error rule itself.
        let best = lead(-0.5);
        assert_eq!(
            (best.best().kind, best.switch_kept),
            (CodecKind::Switch, None)
        );
    }

    #[test]
    fn a_lead_within_one_standard_error_is_not_clear() {
        let lead = |db, se| Lead {
            best: 1,
            simpler: 0,
            db,
            standard_error_db: se,
        };
        assert!(lead(1.0, 0.4).is_clear());
        assert!(!lead(0.3, 0.4).is_clear());
        assert!(!lead(0.4, 0.4).is_clear());
    }

    #[test]
    fn a_learned_codec_an_encoder_only_device_would_send_less_with_is_left_out() {
        let windows: Vec<Window> = (0..64)
            .map(|i| ((0..8).map(|t| ((i * 7 + t * 3) % 11) as f32).collect(), 0))
            .collect();
        let model = crate::linear::fit_linear_budget(&windows, 1, 4, Default::default()).unwrap();
        let distortion = |snr_db: f64| Distortion {
            rmse: 0.0,
            snr_db,
            prd_percent: 0.0,
        };
        // Validation SNR through the refining encoder and from the encoder-only device;
        // errors in every window in the same ratio as the refined SNRs (a lead without
        // noise).
        let candidate = |kind: CodecKind, refined: f64, device: Option<f64>| Candidate {
            name: kind.name().into(),
            kind,
            model: model.clone(),
            validation: distortion(refined),
            window_errors: vec![10f64.powf(-refined / 10.0); 64],
            device: device.map(distortion),
        };
        let select = |ae_device: Option<f64>| {
            choose(
                vec![
                    candidate(CodecKind::Linear, 10.0, Some(10.0)),
                    candidate(CodecKind::Dct, 9.0, Some(9.0)),
                    candidate(CodecKind::Switch, 9.5, None),
                    candidate(CodecKind::Learned(Variant::dae(DAE_NOISE)), 11.0, Some(8.0)),
                    candidate(CodecKind::Learned(Variant::Ae), 12.0, ae_device),
                ],
                1,
            )
        };
        // ae leads through refinement and its device beats PCA's: kept.
        let kept = select(Some(10.5));
        assert_eq!(
            (kept.best().name.as_str(), kept.device_left_out.clone()),
            ("ae", vec![3])
        );
        assert!(kept.reason().contains("dae 8.00 dB"), "{}", kept.reason());
        // Its device below PCA's, or without a full-int8 blob: both learned codecs are
        // left out, PCA ships.
        for (ae, said) in [(Some(9.9), "ae 9.90 dB"), (None, "ae (no full-int8 blob)")] {
            let left = select(ae);
            assert_eq!(left.best().kind, CodecKind::Linear);
            assert_eq!(left.device_left_out, vec![3, 4]);
            let reason = left.reason();
            assert!(
                reason.contains(&format!("than with linear (10.00 dB): dae 8.00 dB, {said}")),
                "{reason}"
            );
        }
    }
}
