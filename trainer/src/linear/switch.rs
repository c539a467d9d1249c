//! The PCA/DCT switch: both bases in one codec, each window coded on the better.

use aecodec_core::PayloadHeader;

use super::bits::Allocation;
use super::dct::dct_basis;
use super::pca::{projection, Pca, BASIS_DIMS};
use crate::data::Window;
use crate::float::{code_budget, FloatModel, FloatQuantizer, SignalInfo};
use crate::Error;

/// The PCA/DCT switch at a payload budget: both bases (each orthonormal, about the same
/// mean) in one linear autoencoder whose switched quantizer has two modes, PCA's bits
/// and DCT's, each allocated as for [`fit_linear_budget`] over the bits left after the
/// header and the one mode bit, then fit again on the windows it codes best
/// ([`refine_modes`]). The encoder codes every window on the basis whose decoded latent
/// is nearest its own, which for these bases is the one with the lower reconstruction
/// error (`LatentQuantizer::Switched`), so a recording whose windows change in kind is
/// coded on the basis, and with the ranges, that suit each one.
pub fn fit_switch_budget(
    windows: &[Window],
    channels: usize,
    payload_bytes: usize,
    header: PayloadHeader,
) -> Result<FloatModel, Error> {
    let pca = Pca::fit(windows, channels)?;
    let dct = dct_basis(&pca, windows)?;
    let code_bits = code_budget(payload_bytes, header, 0, 2)?;
    // Each basis keeps as many dimensions as it would alone.
    let k_max = pca.mean.len().min(BASIS_DIMS);
    let latents = [pca.latents(windows, k_max)?, dct.latents(windows, k_max)?];
    let [p, d] = refine_modes(&latents, code_bits);
    let (kp, kd) = (p.bits.len(), d.bits.len());
    let comps: Vec<&Vec<f64>> = pca.components[..kp]
        .iter()
        .chain(&dct.components[..kd])
        .collect();
    let n = pca.mean.len();
    let k = kp + kd;
    let (enc, dec) = projection(&comps, &pca.mean);
    // Mode 0 codes the PCA dimensions, mode 1 the DCT ones; every other dimension decodes
    // to 0 (the latents' mean about the shared centre), which the encoder's choice needs.
    let mut bits = p.bits.clone();
    bits.resize(k, 0);
    bits.resize(k + kp, 0);
    bits.extend_from_slice(&d.bits);
    let ranges: Vec<(f32, f32)> = p.ranges.iter().chain(&d.ranges).copied().collect();
    Ok(FloatModel {
        input_dim: n,
        label_count: 0,
        norm_mean: pca.norm_mean.clone(),
        norm_std: pca.norm_std.clone(),
        encoder: vec![enc],
        decoder: vec![dec],
        quantizer: FloatQuantizer::Switched {
            modes: 2,
            bits,
            mean: vec![0.0; k],
            lo: ranges.iter().map(|r| r.0).collect(),
            hi: ranges.iter().map(|r| r.1).collect(),
        },
        header,
        signal: SignalInfo::series(channels),
        level: None,
    })
}

/// Most rounds of [`refine_modes`].
const SWITCH_ROUNDS: usize = 4;

/// Fewest windows a mode of the switch must code for [`refine_modes`] to refit it on them
/// alone (fewer, and it keeps the allocation it had).
const MIN_MODE_WINDOWS: usize = 64;

/// Contiguous blocks [`refine_modes`] cuts the windows into; every fourth is held out.
const REFINE_BLOCKS: usize = 16;

/// Each mode's share of `code_bits`, for a switch whose mode `m` codes latents
/// `latents[m]` (row `i` of each: window `i`, in the recording's order). Each mode's bits
/// and ranges are first fit on every window, as the basis alone would be; then, in
/// rounds as in Lloyd's algorithm, every window goes to the mode that codes it with the
/// least error and each mode is fit again on the windows it got. A mode is then
/// quantized for the windows it codes, not for those the other codes better.
///
/// Narrower ranges fit on fewer windows can clip a window unlike them, so the number of
/// rounds is chosen on held-out windows: a quarter of [`REFINE_BLOCKS`] contiguous
/// blocks, spread over the windows, is set aside, the rounds are run on the rest, and
/// the number after which the held-out windows' error was least (none, if no round cut
/// it) is run again on every window.
fn refine_modes<const M: usize>(latents: &[Vec<Vec<f64>>; M], code_bits: usize) -> [Allocation; M] {
    let n = latents.first().map_or(0, Vec::len);
    let block = n.div_ceil(REFINE_BLOCKS).max(1);
    let held = |i: usize| (i / block) % 4 == 3;
    let part = |keep: bool| -> [Vec<Vec<f64>>; M] {
        latents.each_ref().map(|z| {
            z.iter()
                .enumerate()
                .filter(|&(i, _)| held(i) != keep)
                .map(|(_, v)| v.clone())
                .collect()
        })
    };
    let (inner, outer) = (part(true), part(false));
    // The held-out error after each round on the inner windows; keep the round count
    // with the least (a round can lose on held-out windows and the next win more).
    let mut modes = inner.each_ref().map(|z| Allocation::of(z, code_bits));
    let (mut rounds, mut least) = (0, switch_error(&modes, &outer));
    for round in 1..=SWITCH_ROUNDS {
        let Some(refit) = lloyd_round(&modes, &inner, code_bits) else {
            break;
        };
        modes = refit;
        let e = switch_error(&modes, &outer);
        if e < least {
            (rounds, least) = (round, e);
        }
    }
    let mut modes = latents.each_ref().map(|z| Allocation::of(z, code_bits));
    for _ in 0..rounds {
        match lloyd_round(&modes, latents, code_bits) {
            Some(refit) => modes = refit,
            None => break,
        }
    }
    modes
}

/// The mode that codes window `i` with the least error, and that error (less the
/// energy the bases leave out, [`Allocation::excess`]).
fn best_mode<const M: usize>(
    modes: &[Allocation; M],
    latents: &[Vec<Vec<f64>>; M],
    i: usize,
) -> (usize, f64) {
    modes
        .iter()
        .zip(latents)
        .map(|(a, z)| a.excess(&z[i]))
        .enumerate()
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .unwrap_or((0, 0.0))
}

/// The switch's error over all windows of `latents`, each coded in its best mode.
fn switch_error<const M: usize>(modes: &[Allocation; M], latents: &[Vec<Vec<f64>>; M]) -> f64 {
    let n = latents.first().map_or(0, Vec::len);
    (0..n).map(|i| best_mode(modes, latents, i).1).sum()
}

/// One round of [`refine_modes`] on `latents`: each window to its best mode, each mode
/// fit again on its windows (a mode with fewer than [`MIN_MODE_WINDOWS`] keeps its
/// allocation). `None` when the round does not cut these windows' error.
fn lloyd_round<const M: usize>(
    modes: &[Allocation; M],
    latents: &[Vec<Vec<f64>>; M],
    code_bits: usize,
) -> Option<[Allocation; M]> {
    let n = latents.first().map_or(0, Vec::len);
    let choice: Vec<usize> = (0..n).map(|i| best_mode(modes, latents, i).0).collect();
    let mut refit = modes.clone();
    for (m, (mode, z)) in refit.iter_mut().zip(latents).enumerate() {
        let own: Vec<Vec<f64>> = (0..n)
            .filter(|&i| choice[i] == m)
            .map(|i| z[i].clone())
            .collect();
        if own.len() >= MIN_MODE_WINDOWS {
            *mode = Allocation::of(&own, code_bits);
        }
    }
    (switch_error(&refit, latents) < switch_error(modes, latents)).then_some(refit)
}
