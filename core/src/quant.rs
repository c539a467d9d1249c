//! The latent quantizer: per-dimension bit widths, uniform or table cells; and the
//! window levels a model codes beside them.

use crate::bytes::{f32_at, f32s};
use crate::limits::MAX_LEVEL_CHANNELS;
use crate::model::LevelSpec;
use crate::wire::payload::escape_field;
use crate::LatentQuantizer;

/// Code of `z` on `bits` bits over the uniform range `[lo, hi)`.
#[inline]
fn uniform_code(z: f32, lo: f32, hi: f32, bits: u8) -> u16 {
    let levels = (1u32 << bits) as f32;
    let t = (z - lo) / (hi - lo) * levels;
    if t >= levels {
        (levels as u32 - 1) as u16
    } else if t > 0.0 {
        t as u16
    } else {
        0 // also NaN
    }
}

#[inline]
fn uniform_value(code: u16, lo: f32, hi: f32, bits: u8) -> f32 {
    let levels = (1u32 << bits) as f32;
    lo + (f32::from(code) + 0.5) * ((hi - lo) / levels)
}

/// Number of edges `<= z` (binary search over `n` ascending f32 edges).
#[inline]
fn table_code(z: f32, edges: &[u8], n: usize) -> u16 {
    let (mut lo, mut hi) = (0usize, n);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if f32_at(edges, mid) <= z {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo as u16
}

/// Codes of `z` on the uniform cells of `bits`' widths (0 for a dimension without bits).
fn uniform_codes(bits: &[u8], lo: &[u8], hi: &[u8], z: &[f32], codes: &mut [u16]) {
    let dims = bits.iter().zip(f32s(lo)).zip(f32s(hi));
    for ((((&b, l), h), &v), c) in dims.zip(z).zip(codes.iter_mut()) {
        *c = if b == 0 { 0 } else { uniform_code(v, l, h, b) };
    }
}

/// The dimension whose top code a payload on `widths` keeps for payloads with levels:
/// the escape field ([`escape_field`]) if `reserve` (a payload without levels of a model
/// that codes them), else none.
pub(crate) fn reserved(widths: &[u8], reserve: bool) -> Option<usize> {
    reserve
        .then(|| escape_field(widths))
        .flatten()
        .map(|(e, _)| e)
}

/// The highest code on `bits` bits: all ones, or the cell below for the `escape` field.
pub(crate) fn top_code(bits: u8, escape: bool) -> u16 {
    let all = 1u32.checked_shl(u32::from(bits)).map_or(0, |l| l - 1);
    all.saturating_sub(u32::from(escape)) as u16
}

/// Keeps the escape field's code below all ones in a payload without levels (`reserve`).
fn reserve_escape(bits: &[u8], codes: &mut [u16], reserve: bool) {
    if let Some(e) = reserved(bits, reserve) {
        if let (Some(c), Some(&b)) = (codes.get_mut(e), bits.get(e)) {
            *c = (*c).min(top_code(b, true));
        }
    }
}

/// Values of uniform `codes` on `bits`' widths; a dimension without bits gets its mean.
fn uniform_values(bits: &[u8], mean: &[u8], lo: &[u8], hi: &[u8], codes: &[u16], z: &mut [f32]) {
    let dims = bits.iter().zip(f32s(mean)).zip(f32s(lo)).zip(f32s(hi));
    for (((((&b, m), l), h), &c), v) in dims.zip(codes).zip(z.iter_mut()) {
        *v = if b == 0 { m } else { uniform_value(c, l, h, b) };
    }
}

impl<'q> LatentQuantizer<'q> {
    /// The widths of `mode`: the quantizer's own, or those of `leveled` (a level spec's
    /// `code_bits`, every mode's one after another) for a payload with levels.
    pub(crate) fn widths<'s>(&'s self, mode: usize, leveled: Option<&'s [u8]>) -> &'s [u8] {
        match leveled {
            Some(bits) => {
                let k = self.dims();
                bits.get(mode * k..(mode + 1) * k).unwrap_or(&[])
            }
            None => self.mode_bits(mode),
        }
    }

    /// Quantizes `z` (one value per latent dimension) into `codes` on the quantizer's
    /// widths, or on `leveled`'s ([`LatentQuantizer::widths`]); returns the mode the codes
    /// are in (0 but for a switched quantizer, which keeps the mode whose decoded latent
    /// is nearest `z`). With `reserve` (a payload without levels of a model that codes
    /// them) the escape field's code stays below all ones.
    pub(crate) fn quantize(
        &self,
        z: &[f32],
        codes: &mut [u16],
        leveled: Option<&[u8]>,
        reserve: bool,
    ) -> u8 {
        match *self {
            LatentQuantizer::Uniform { lo, hi, .. } => {
                let bits = self.widths(0, leveled);
                uniform_codes(bits, lo, hi, z, codes);
                reserve_escape(bits, codes, reserve);
                0
            }
            #[cfg(feature = "switched")]
            LatentQuantizer::Switched {
                modes,
                mean,
                lo,
                hi,
                ..
            } => {
                let mut best = (f32::INFINITY, 0u8);
                for mode in 0..modes {
                    let widths = self.widths(usize::from(mode), leveled);
                    let escape = reserved(widths, reserve);
                    let mut error = 0.0f32;
                    let cells = widths.iter().zip(f32s(mean)).zip(f32s(lo)).zip(f32s(hi));
                    for (dim, ((((&b, m), l), h), &v)) in cells.zip(z).enumerate() {
                        let d = if b == 0 {
                            v - m
                        } else {
                            let code = uniform_code(v, l, h, b);
                            let code = code.min(top_code(b, escape == Some(dim)));
                            v - uniform_value(code, l, h, b)
                        };
                        error += d * d;
                    }
                    // `<` keeps the lowest mode on a tie (and mode 0 if every error is NaN).
                    if error < best.0 {
                        best = (error, mode);
                    }
                }
                let bits = self.widths(usize::from(best.1), leveled);
                uniform_codes(bits, lo, hi, z, codes);
                reserve_escape(bits, codes, reserve);
                best.1
            }
            LatentQuantizer::Table { bits, tables, .. } => {
                let mut offset = 0usize;
                for ((&b, &v), c) in bits.iter().zip(z).zip(codes.iter_mut()) {
                    *c = 0;
                    if b == 0 {
                        continue;
                    }
                    let n = (1usize << b) - 1;
                    let edges = crate::in_bounds(tables.get(offset * 4..));
                    *c = table_code(v, edges, n);
                    offset += 2 * n + 1;
                }
                0
            }
        }
    }

    /// Maps `codes` of `mode` (on the widths [`LatentQuantizer::quantize`] took with
    /// `leveled`) back to latent values in `z`; 0-bit dimensions get their mean.
    #[cfg_attr(not(feature = "switched"), allow(unused_variables))]
    pub(crate) fn dequantize(
        &self,
        codes: &[u16],
        mode: u8,
        z: &mut [f32],
        leveled: Option<&[u8]>,
    ) {
        match *self {
            LatentQuantizer::Uniform { mean, lo, hi, .. } => {
                uniform_values(self.widths(0, leveled), mean, lo, hi, codes, z);
            }
            #[cfg(feature = "switched")]
            LatentQuantizer::Switched { mean, lo, hi, .. } => {
                let bits = self.widths(usize::from(mode), leveled);
                uniform_values(bits, mean, lo, hi, codes, z);
            }
            LatentQuantizer::Table { bits, mean, tables } => {
                let mut offset = 0usize;
                for (((&b, m), &c), v) in bits.iter().zip(f32s(mean)).zip(codes).zip(z.iter_mut()) {
                    if b == 0 {
                        *v = m;
                        continue;
                    }
                    let n = (1usize << b) - 1;
                    *v = f32_at(tables, offset + n + usize::from(c));
                    offset += 2 * n + 1;
                }
            }
        }
    }
}

/// Each of `channels` interleaved channels' level in `window`: the mean of its samples,
/// summed in f32 in order.
fn channel_means(window: &[f32], channels: usize, means: &mut [f32; MAX_LEVEL_CHANNELS]) {
    means.fill(0.0);
    let c = channels.clamp(1, MAX_LEVEL_CHANNELS);
    for (i, &x) in window.iter().enumerate() {
        if let Some(m) = means.get_mut(i % c) {
            *m += x;
        }
    }
    let samples = (window.len() / c) as f32;
    for m in means.iter_mut().take(c) {
        *m /= samples;
    }
}

/// Whether `window` (of `channels` interleaved channels) needs its levels sent: some
/// channel's level lies outside the spec's inner range (a NaN level does not). If so,
/// each channel's level code is written to `codes`: the fewest whole steps that move
/// its level into the spec's fit range ([`LevelSpec`]).
pub(crate) fn encode_levels(
    level: &LevelSpec<'_>,
    channels: usize,
    window: &[f32],
    codes: &mut [u16],
) -> bool {
    let mut means = [0.0f32; MAX_LEVEL_CHANNELS];
    channel_means(window, channels, &mut means);
    let inner = f32s(level.inner_lo).zip(f32s(level.inner_hi));
    let outside = means
        .iter()
        .zip(inner)
        .any(|(&m, (lo, hi))| m < lo || m > hi);
    if outside {
        let fit = f32s(level.fit_lo).zip(f32s(level.fit_hi));
        let cells = level.bits.iter().zip(f32s(level.step)).zip(fit);
        for (((&b, step), (lo, hi)), (c, &m)) in cells.zip(codes.iter_mut().zip(&means)) {
            let half = 1i32 << (b.clamp(1, 16) - 1);
            // `as` saturates and takes NaN to 0: no steps.
            let k = if m > hi {
                libm::ceilf((m - hi) / step) as i32
            } else if m < lo {
                -(libm::ceilf((lo - m) / step) as i32)
            } else {
                0
            };
            *c = (k.clamp(-half, half - 1) + half) as u16;
        }
    }
    outside
}

/// How far each channel of a window with level `codes` is moved before its encoder runs:
/// `−k · step` for its `k` steps (receivers move the decoded window back).
pub(crate) fn level_shifts(level: &LevelSpec<'_>, codes: &[u16], shifts: &mut [f32]) {
    let cells = level.bits.iter().zip(f32s(level.step));
    for ((&b, step), (&c, s)) in cells.zip(codes.iter().zip(shifts.iter_mut())) {
        let k = i32::from(c) - (1i32 << (b.clamp(1, 16) - 1));
        *s = -(k as f32) * step;
    }
}

/// Adds `sign ·` each channel's shift to every sample of that channel of `window`
/// (`channels` interleaved).
pub(crate) fn apply_shifts(shifts: &[f32], channels: usize, sign: f32, window: &mut [f32]) {
    let c = channels.max(1);
    for (i, x) in window.iter_mut().enumerate() {
        if let Some(&s) = shifts.get(i % c) {
            *x += sign * s;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_cells_cover_range_and_clamp() {
        assert_eq!(uniform_code(-5.0, -1.0, 1.0, 2), 0);
        assert_eq!(uniform_code(-0.9, -1.0, 1.0, 2), 0);
        assert_eq!(uniform_code(-0.4, -1.0, 1.0, 2), 1);
        assert_eq!(uniform_code(0.1, -1.0, 1.0, 2), 2);
        assert_eq!(uniform_code(0.99, -1.0, 1.0, 2), 3);
        assert_eq!(uniform_code(7.0, -1.0, 1.0, 2), 3);
        assert_eq!(uniform_code(f32::NAN, -1.0, 1.0, 2), 0);
        assert_eq!(uniform_code(1.0, 0.0, 1.0, 16), u16::MAX);
        assert_eq!(uniform_value(0, -1.0, 1.0, 2), -0.75);
        assert_eq!(uniform_value(3, -1.0, 1.0, 2), 0.75);
    }

    #[test]
    fn table_code_counts_edges_at_or_below() {
        let mut edges = [0u8; 12];
        for (c, e) in edges.chunks_exact_mut(4).zip([-0.5f32, 0.0, 0.5]) {
            c.copy_from_slice(&e.to_le_bytes());
        }
        assert_eq!(table_code(-1.0, &edges, 3), 0);
        assert_eq!(table_code(-0.5, &edges, 3), 1);
        assert_eq!(table_code(0.2, &edges, 3), 2);
        assert_eq!(table_code(9.0, &edges, 3), 3);
        assert_eq!(table_code(f32::NAN, &edges, 3), 0);
    }
}
