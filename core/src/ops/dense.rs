//! Dense layers for the three precisions.
//!
//! Dot products use eight partial sums combined in a fixed order: the order is part of
//! the code, so every target computes the same bits, and the host compiler can still
//! vectorize the loop. Weights are read from the blob's bytes at any alignment.

use crate::bytes::{f32_at, f32s, i32s};
use crate::kernels::portable::{dot_u8, sum};
use crate::kernels::{self, requantize, Body, IntIn, Requant};
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

/// `y = W x + b`, f32 weights, stored into `y` through `store` (assignment, or an add
/// for overlap-add). Activation is applied by the caller.
#[inline(always)]
fn dense_f32_into(l: &DenseSpec<'_>, x: &[f32], y: &mut [f32], store: impl Fn(&mut f32, f32)) {
    let n_in = usize::from(l.in_dim);
    for ((row, b), out) in l
        .weights
        .chunks_exact(4 * n_in)
        .zip(f32s(l.bias))
        .zip(y.iter_mut())
    {
        store(out, dot_f32(row, x) + b);
    }
}

/// `y = s ⊙ (W x) + b`, int8 weights with per-output f32 scales, stored through `store`.
#[inline(always)]
fn dense_i8w_into(l: &DenseSpec<'_>, x: &[f32], y: &mut [f32], store: impl Fn(&mut f32, f32)) {
    let n_in = usize::from(l.in_dim);
    let rows = l.weights.chunks_exact(n_in);
    for (((row, s), b), out) in rows.zip(f32s(l.scales)).zip(f32s(l.bias)).zip(y.iter_mut()) {
        store(out, dot_i8_f32(row, x) * s + b);
    }
}

/// `y = W x + b`, f32 weights. Activation is applied by the caller.
pub(crate) fn dense_f32(l: &DenseSpec<'_>, x: &[f32], y: &mut [f32]) {
    dense_f32_into(l, x, y, |o, v| *o = v);
}

/// `y += W x + b`, f32 weights (overlap-add of a transposed convolution).
pub(crate) fn dense_f32_add(l: &DenseSpec<'_>, x: &[f32], y: &mut [f32]) {
    dense_f32_into(l, x, y, |o, v| *o += v);
}

/// `y = s ⊙ (W x) + b`, int8 weights with per-output f32 scales.
pub(crate) fn dense_i8w(l: &DenseSpec<'_>, x: &[f32], y: &mut [f32]) {
    dense_i8w_into(l, x, y, |o, v| *o = v);
}

/// `y += s ⊙ (W x) + b`, int8 weights (overlap-add of a transposed convolution).
pub(crate) fn dense_i8w_add(l: &DenseSpec<'_>, x: &[f32], y: &mut [f32]) {
    dense_i8w_into(l, x, y, |o, v| *o += v);
}

/// What follows the accumulation of a full-int8 layer: requantization and activation.
struct Finish<'a> {
    /// The 256-entry activation table (validated: a LUT is empty or 256 bytes).
    lut: Option<&'a [u8; 256]>,
    relu: bool,
    zero: i8,
}

impl<'a> Finish<'a> {
    fn new(l: &DenseSpec<'a>) -> Self {
        Finish {
            lut: l.lut.try_into().ok(),
            relu: matches!(l.activation, crate::Activation::Relu),
            zero: l.out_zero,
        }
    }

    #[inline(always)]
    fn activate(&self, q: i8) -> i8 {
        match self.lut {
            Some(t) => t[usize::from(q as u8)] as i8,
            None if self.relu => q.max(self.zero),
            None => q,
        }
    }

    #[inline(always)]
    fn apply(&self, acc: i32, m: i32, shift: u8) -> i8 {
        self.activate(requantize(acc, m, shift, self.zero))
    }

    /// What [`kernels::layer`] needs of layer `l` to finish its rows.
    fn requant(&self, l: &DenseSpec<'a>) -> Requant<'a> {
        Requant {
            bias: l.bias,
            scales: l.scales,
            shifts: l.shifts,
            zero: self.zero,
            relu: self.lut.is_none() && self.relu,
        }
    }

    /// The activation table, if the layer has one, over outputs already requantized.
    fn table(&self, y: &mut [i8]) {
        if let Some(t) = self.lut {
            if !kernels::table(t, y) {
                y.iter_mut()
                    .for_each(|q| *q = t[usize::from(*q as u8)] as i8);
            }
        }
    }
}

/// [`dense_int8`] for `K` int8 inputs at once, with the same results: where
/// [`kernels::layer`] runs (x86-64 with AVX-512 VNNI or AVX2) each load of weights serves
/// all of them (layers whose inputs and outputs are multiples of 4, as wide layers are);
/// elsewhere one at a time.
pub(crate) fn dense_int8_many<const K: usize>(
    l: &DenseSpec<'_>,
    xs: [&[i8]; K],
    mut ys: [&mut [i8]; K],
) {
    let (n_in, n_out) = (usize::from(l.in_dim), usize::from(l.out_dim));
    let shaped = n_in % 4 == 0
        && n_out % 4 == 0
        && l.weights.len() == n_in * n_out
        && xs.iter().all(|x| x.len() == n_in)
        && ys.iter().all(|y| y.len() == n_out);
    if shaped {
        let offsets = xs.map(|x| 128 * x.iter().map(|&q| i32::from(q)).sum::<i32>());
        let fin = Finish::new(l);
        if kernels::layer(
            l.weights,
            n_in,
            &xs,
            &[&[]; K],
            offsets,
            &fin.requant(l),
            &mut ys,
        ) {
            ys.iter_mut().for_each(|y| fin.table(y));
            return;
        }
    }
    for (x, y) in xs.into_iter().zip(ys) {
        dense_int8(l, x, y, &mut []);
    }
}

/// Rows of a full-int8 layer: weights, biases (i32 LE), multipliers (i32 LE), shifts
/// and the outputs they go to.
struct Rows<'l, 'y, Y> {
    w: &'l [u8],
    bias: &'l [u8],
    scales: &'l [u8],
    shifts: &'l [u8],
    y: &'y mut [Y],
}

/// A full-int8 layer cut as the kernels read it (`spec/model-format.md`): the rows in
/// 4-row blocks and the rows after them, and the input split into its 4-input groups
/// (`xb`) and the rest (`xt`). `None` on lengths that validation rules out.
struct Cut<'l, 'x, 'y, X, Y> {
    blocks: Rows<'l, 'y, Y>,
    rest: Rows<'l, 'y, Y>,
    xb: &'x [X],
    xt: &'x [X],
    /// The whole input, `xb` then `xt`.
    x: &'x [X],
}

impl<'l, 'x, 'y, X, Y> Cut<'l, 'x, 'y, X, Y> {
    #[inline(always)]
    fn new(l: &DenseSpec<'l>, x: &'x [X], y: &'y mut [Y]) -> Option<Self> {
        let n_in = usize::from(l.in_dim);
        let groups = usize::from(l.out_dim) / 4;
        let (w, wr) = l.weights.split_at_checked(4 * groups * n_in)?;
        let (bias, br) = l.bias.split_at_checked(16 * groups)?;
        let (scales, mr) = l.scales.split_at_checked(16 * groups)?;
        let (shifts, sr) = l.shifts.split_at_checked(4 * groups)?;
        let (y, yr) = y.split_at_mut_checked(4 * groups)?;
        let x = x.get(..n_in)?;
        let (xb, xt) = x.split_at_checked(n_in / 4 * 4)?;
        if n_in == 0 {
            return None; // refused by validation: every layer has inputs
        }
        let blocks = Rows {
            w,
            bias,
            scales,
            shifts,
            y,
        };
        let rest = Rows {
            w: wr,
            bias: br,
            scales: mr,
            shifts: sr,
            y: yr,
        };
        Some(Cut {
            blocks,
            rest,
            xb,
            xt,
            x,
        })
    }

    /// Every row's sum `Σ u·x − offset + bias` handed to `finish` with the row's
    /// multiplier and shift, its result stored; `block` sums one 4-row block of `body`
    /// (the input's groups, [`Body`]).
    #[inline(always)]
    fn each_row(
        self,
        body: &Body<'_, X>,
        offset: i32,
        block: impl Fn(&[u8], &Body<'_, X>) -> [i32; 4],
        finish: impl Fn(i32, i32, u8) -> Y,
    ) where
        X: IntIn,
    {
        let Cut {
            blocks,
            rest,
            xb,
            xt,
            x,
        } = self;
        let n_in = x.len();
        let params = blocks
            .bias
            .chunks_exact(16)
            .zip(blocks.scales.chunks_exact(16))
            .zip(blocks.shifts.chunks_exact(4));
        let ws = blocks.w.chunks_exact(4 * n_in);
        for ((block_w, ys), ((b, m), sh)) in ws.zip(blocks.y.chunks_exact_mut(4)).zip(params) {
            let Some((main, tail)) = block_w.split_at_checked(4 * xb.len()) else {
                return; // 4 · n_in long: not taken
            };
            let mut acc = block(main, body);
            if !xt.is_empty() {
                for (a, t) in acc.iter_mut().zip(tail.chunks_exact(xt.len())) {
                    *a += dot_u8(t, xt);
                }
            }
            let rows = acc.into_iter().zip(i32s(b)).zip(i32s(m)).zip(sh);
            for (o, (((a, b), m), &sh)) in ys.iter_mut().zip(rows) {
                *o = finish(a - offset + b, m, sh);
            }
        }
        let params = i32s(rest.bias).zip(i32s(rest.scales)).zip(rest.shifts);
        for ((row, o), ((b, m), &sh)) in rest.w.chunks_exact(n_in).zip(rest.y).zip(params) {
            *o = finish(dot_u8(row, x) - offset + b, m, sh);
        }
    }
}

/// Full-integer layer: int32 accumulate, requantize, then LUT or ReLU.
///
/// Weights are offset-binary (`u = w + 128`, so `Σ w·x = Σ u·x − 128 Σ x`), rows in
/// groups of four interleaved four inputs at a time (`spec/model-format.md`).
/// `wide` is the DSP kernel's scratch (empty where that kernel is not built).
pub(crate) fn dense_int8<X: IntIn>(l: &DenseSpec<'_>, x: &[X], y: &mut [i8], wide: &mut [i16]) {
    // Lengths were validated with the model; on a mismatch nothing is computed.
    let Some(mut cut) = Cut::new(l, x, y) else {
        return;
    };
    let (body, body_sum) = Body::new(cut.xb, wide);
    // |Σ x| <= 128 · 5120 for int8 (MAX_WIDTH inputs plus MAX_LABELS one-hot labels),
    // and n · 2^(bits-1) <= 2^23 for a wider input (validated): the offset term stays
    // inside i32.
    let offset = 128 * (body_sum + sum(cut.xt));
    let fin = Finish::new(l);
    // Hosts with a whole-layer kernel: the 4-row blocks in one call, finished in
    // registers (for int8 inputs).
    if let (Some(xb), Some(xt)) = (X::as_i8(cut.xb), X::as_i8(cut.xt)) {
        let rq = fin.requant(l);
        let ys = &mut [&mut *cut.blocks.y];
        if kernels::layer(cut.blocks.w, cut.x.len(), &[xb], &[xt], [offset], &rq, ys) {
            fin.table(cut.blocks.y);
            cut.blocks.y = &mut [];
        }
    }
    // Elsewhere one block at a time, finished on the spot (the leanest loop for the
    // Cortex-M kernels).
    cut.each_row(&body, offset, kernels::block4, |acc, m, sh| {
        fin.apply(acc, m, sh)
    });
}

/// A full-integer layer without requantization: each row's int32 sum taken to f32
/// through the row's multiplier and `out_scale`, `(acc · m / 2^shift) · out_scale`, the
/// value [`dense_int8`]'s int8 output stands for before it is rounded and saturated. The
/// encoder's last layer (with no activation) ends this way, its output leaving the
/// integer domain anyway: the latent keeps the precision its bit allocation asks for
/// instead of 256 levels shared by every dimension. Two f32 products in this
/// order on every target, so every platform gets the same bits.
///
/// The same sums as [`dense_int8`] from the same kernels, called out of line: this runs
/// for one layer of a few dozen rows per encode, and a second inlined copy of the
/// kernels would cost a device's flash more than the calls cost it time.
#[inline(never)]
pub(crate) fn dense_int8_f32<X: IntIn>(
    l: &DenseSpec<'_>,
    x: &[X],
    y: &mut [f32],
    out_scale: f32,
    wide: &mut [i16],
) {
    let Some(cut) = Cut::new(l, x, y) else {
        return;
    };
    let (body, body_sum) = Body::new(cut.xb, wide);
    let offset = 128 * (body_sum + sum(cut.xt));
    cut.each_row(&body, offset, block_sums, |acc, m, sh| {
        sum_to_f32(acc, m, sh, out_scale)
    });
}

/// `(acc · (m · 2^-sh)) · scale` in f32, `2^-sh` exact (sh in 1..=62, validated: a
/// normal f32 made from its exponent).
#[inline(never)]
fn sum_to_f32(acc: i32, m: i32, sh: u8, scale: f32) -> f32 {
    let step = f32::from_bits((127 - u32::from(sh.min(62))) << 23);
    acc as f32 * (m as f32 * step) * scale
}

/// [`kernels::block4`] out of line (see [`dense_int8_f32`]).
#[inline(never)]
fn block_sums<X: IntIn>(main: &[u8], body: &Body<'_, X>) -> [i32; 4] {
    kernels::block4(main, body)
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
        assert_eq!(requantize(3, 1 << 30, 33, 0), 0); // 0.375
        assert_eq!(requantize(5, 1 << 30, 33, 0), 1); // 0.625
        assert_eq!(requantize(-5, 1 << 30, 33, 0), -1); // -0.625
        assert_eq!(requantize(-6, 1 << 30, 34, 0), 0); // -0.375
    }

    /// The 32-bit path for shifts above 32 equals the 64-bit definition.
    #[test]
    fn requantize_fast_path_is_exact() {
        fn reference(acc: i32, m: i32, shift: u8, zero: i8) -> i8 {
            let prod = i64::from(acc) * i64::from(m);
            let v = ((prod + (1i64 << (shift - 1))) >> shift) + i64::from(zero);
            v.clamp(-128, 127) as i8
        }
        let mut s = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        for i in 0..200_000u32 {
            let r = next();
            let acc = match i % 3 {
                0 => r as i32,
                1 => (r as i32) >> (r >> 59),
                _ => [i32::MIN + 1, i32::MAX, -1, 0, 1][(r >> 40) as usize % 5],
            };
            let m = ((r >> 32) as i32 & i32::MAX) >> ((r >> 20) % 8);
            let shift = 33 + ((r >> 8) % 30) as u8;
            let zero = (r >> 48) as i8;
            assert_eq!(
                requantize(acc, m, shift, zero),
                reference(acc, m, shift, zero),
                "acc {acc} m {m} shift {shift} zero {zero}"
            );
        }
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
            let naive_u: i32 = (0..n).map(|i| i32::from(wb[i]) * i32::from(xi[i])).sum();
            assert_eq!(dot_u8(&wb[..n], &xi[..n]), naive_u);
        }
    }
}
