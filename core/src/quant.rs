//! The latent quantizer: per-dimension bit widths, uniform or table cells.

use crate::bytes::{f32_at, f32s};
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

/// Values of uniform `codes` on `bits`' widths; a dimension without bits gets its mean.
fn uniform_values(bits: &[u8], mean: &[u8], lo: &[u8], hi: &[u8], codes: &[u16], z: &mut [f32]) {
    let dims = bits.iter().zip(f32s(mean)).zip(f32s(lo)).zip(f32s(hi));
    for (((((&b, m), l), h), &c), v) in dims.zip(codes).zip(z.iter_mut()) {
        *v = if b == 0 { m } else { uniform_value(c, l, h, b) };
    }
}

impl LatentQuantizer<'_> {
    /// Quantizes `z` (one value per latent dimension) into `codes`; returns the mode the
    /// codes are in (0 but for a switched quantizer, which keeps the mode whose decoded
    /// latent is nearest `z`).
    pub(crate) fn quantize(&self, z: &[f32], codes: &mut [u16]) -> u8 {
        match *self {
            LatentQuantizer::Uniform { bits, lo, hi, .. } => {
                uniform_codes(bits, lo, hi, z, codes);
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
                    let b = self.mode_bits(usize::from(mode));
                    let mut error = 0.0f32;
                    let cells = b.iter().zip(f32s(mean)).zip(f32s(lo)).zip(f32s(hi));
                    for ((((&b, m), l), h), &v) in cells.zip(z) {
                        let d = if b == 0 {
                            v - m
                        } else {
                            v - uniform_value(uniform_code(v, l, h, b), l, h, b)
                        };
                        error += d * d;
                    }
                    // `<` keeps the lowest mode on a tie (and mode 0 if every error is NaN).
                    if error < best.0 {
                        best = (error, mode);
                    }
                }
                uniform_codes(self.mode_bits(usize::from(best.1)), lo, hi, z, codes);
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

    /// Maps `codes` of `mode` back to latent values in `z`; 0-bit dimensions get their
    /// mean.
    #[cfg_attr(not(feature = "switched"), allow(unused_variables))]
    pub(crate) fn dequantize(&self, codes: &[u16], mode: u8, z: &mut [f32]) {
        match *self {
            LatentQuantizer::Uniform { bits, mean, lo, hi } => {
                uniform_values(bits, mean, lo, hi, codes, z);
            }
            #[cfg(feature = "switched")]
            LatentQuantizer::Switched { mean, lo, hi, .. } => {
                let bits = self.mode_bits(usize::from(mode));
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
