//! Dense layers for the three precisions.
//!
//! Dot products use eight partial sums combined in a fixed order: the order is part of
//! the code, so every target computes the same bits, and the host compiler can still
//! vectorize the loop. Weights are read from the blob's bytes at any alignment.

use crate::bytes::{f32_at, f32s, i32s};
use crate::DenseSpec;

const LANES: usize = 8;

#[inline(always)]
fn reduce(acc: [f32; LANES]) -> f32 {
    ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]))
}

/// Σ w_j x_j with f32 little-endian weights.
#[inline]
fn dot_f32(row: &[u8], x: &[f32]) -> f32 {
    let mut acc = [0.0f32; LANES];
    let mut w = row.chunks_exact(4 * LANES);
    let mut xs = x.chunks_exact(LANES);
    for (wc, xc) in (&mut w).zip(&mut xs) {
        for (k, (a, &xv)) in acc.iter_mut().zip(xc).enumerate() {
            *a += f32_at(wc, k) * xv;
        }
    }
    let tail: f32 = f32s(w.remainder())
        .zip(xs.remainder())
        .fold(0.0, |s, (wv, &xv)| s + wv * xv);
    reduce(acc) + tail
}

/// Σ w_j x_j with i8 weights and f32 inputs.
#[inline]
fn dot_i8_f32(row: &[u8], x: &[f32]) -> f32 {
    let mut acc = [0.0f32; LANES];
    let mut w = row.chunks_exact(LANES);
    let mut xs = x.chunks_exact(LANES);
    for (wc, xc) in (&mut w).zip(&mut xs) {
        for ((a, &wv), &xv) in acc.iter_mut().zip(wc).zip(xc) {
            *a += f32::from(wv as i8) * xv;
        }
    }
    let tail: f32 = w
        .remainder()
        .iter()
        .zip(xs.remainder())
        .fold(0.0, |s, (&wv, &xv)| s + f32::from(wv as i8) * xv);
    reduce(acc) + tail
}

/// Σ w_j x_j with i8 weights and inputs; exact in i32 (validated in-range at load).
#[inline]
fn dot_i8(row: &[u8], x: &[i8]) -> i32 {
    row.iter()
        .zip(x)
        .map(|(&w, &xv)| i32::from(w as i8) * i32::from(xv))
        .sum()
}

/// `y = W x + b`, f32 weights. Activation is applied by the caller.
pub(crate) fn dense_f32(l: &DenseSpec<'_>, x: &[f32], y: &mut [f32]) {
    let n_in = usize::from(l.in_dim);
    for ((row, b), out) in l
        .weights
        .chunks_exact(4 * n_in)
        .zip(f32s(l.bias))
        .zip(y.iter_mut())
    {
        *out = dot_f32(row, x) + b;
    }
}

/// `y = s ⊙ (W x) + b`, int8 weights with per-output f32 scales.
pub(crate) fn dense_i8w(l: &DenseSpec<'_>, x: &[f32], y: &mut [f32]) {
    let n_in = usize::from(l.in_dim);
    let rows = l.weights.chunks_exact(n_in);
    for (((row, s), b), out) in rows.zip(f32s(l.scales)).zip(f32s(l.bias)).zip(y.iter_mut()) {
        *out = dot_i8_f32(row, x) * s + b;
    }
}

/// Fixed-point requantization: `zero + round(acc · m / 2^shift)`, saturated to i8.
///
/// |acc| < 2^31 and 0 <= m < 2^31 keep the product under 2^62; `shift` is in 1..=62.
#[inline(always)]
pub(crate) fn requantize(acc: i32, m: i32, shift: u8, zero: i8) -> i8 {
    let prod = i64::from(acc) * i64::from(m);
    let half = 1i64 << (shift.saturating_sub(1) & 63);
    let v = ((prod + half) >> (shift & 63)) + i64::from(zero);
    v.clamp(-128, 127) as i8
}

/// Full-integer layer: int32 accumulate, requantize, then LUT or ReLU.
pub(crate) fn dense_int8(l: &DenseSpec<'_>, x: &[i8], y: &mut [i8]) {
    let n_in = usize::from(l.in_dim);
    let rows = l.weights.chunks_exact(n_in);
    let params = i32s(l.bias).zip(i32s(l.scales)).zip(l.shifts.iter());
    for ((row, ((b, m), &sh)), out) in rows.zip(params).zip(y.iter_mut()) {
        let q = requantize(dot_i8(row, x) + b, m, sh, l.out_zero);
        *out = match l.lut.get(usize::from(q as u8)) {
            Some(&v) => v as i8,
            None if matches!(l.activation, crate::Activation::Relu) => q.max(l.out_zero),
            None => q,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requantize_rounds_half_up_and_saturates() {
        // 3 * 2^30 / 2^31 = 1.5 -> 2
        assert_eq!(requantize(3, 1 << 30, 31, 0), 2);
        assert_eq!(requantize(-3, 1 << 30, 31, 0), -1);
        assert_eq!(requantize(1_000_000, i32::MAX, 1, 0), 127);
        assert_eq!(requantize(-1_000_000, i32::MAX, 1, 5), -128);
        assert_eq!(requantize(10, 1 << 20, 20, -3), 7);
    }

    #[test]
    fn dot_products_agree_across_tails() {
        for n in [1usize, 7, 8, 9, 17, 64] {
            let x: [f32; 64] = core::array::from_fn(|i| libm::sinf(i as f32 * 0.37));
            let w: [i8; 64] = core::array::from_fn(|i| ((i * 37 % 255) as i32 - 127) as i8);
            let mut wf = [0u8; 256];
            for (c, &v) in wf.chunks_exact_mut(4).zip(&w) {
                c.copy_from_slice(&f32::from(v).to_le_bytes());
            }
            let wb: [u8; 64] = core::array::from_fn(|i| w[i] as u8);
            let naive: f32 = (0..n).map(|i| f32::from(w[i]) * x[i]).sum();
            assert!((dot_f32(&wf[..4 * n], &x[..n]) - naive).abs() < 1e-3);
            assert!((dot_i8_f32(&wb[..n], &x[..n]) - naive).abs() < 1e-3);
            let xi: [i8; 64] = core::array::from_fn(|i| (i as i8).wrapping_mul(3));
            let naive_i: i32 = (0..n).map(|i| i32::from(w[i]) * i32::from(xi[i])).sum();
            assert_eq!(dot_i8(&wb[..n], &xi[..n]), naive_i);
        }
    }
}
