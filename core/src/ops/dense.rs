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

/// The integer input of a full-int8 layer: int8 activations, or the encoder's window
/// samples on up to 16 bits (`IntBoundary::in_bits`) for its first layer. Validation
/// bounds both so that every sum below stays in i32 (`model::validate_half`).
pub(crate) trait IntIn: Copy {
    /// The value.
    fn get(self) -> i32;
    /// The input as int8, for the kernels that take only int8 (x86-64's whole-layer
    /// ones); `None` for wider inputs, which take [`IntIn::x86_block4`] there.
    #[cfg(target_arch = "x86_64")]
    fn as_i8(x: &[Self]) -> Option<&[i8]>;
    /// Σ u·x over one 4-row block in Thumb-1 assembly.
    #[cfg(aecodec_thumb1)]
    fn thumb1_block4(w: &[u8], x: &[Self]) -> [i32; 4];
    /// Σ u·x over one 4-row block with the host's vector kernel, where there is one for
    /// this input (int8 layers run whole in [`super::x86::layer`] instead).
    #[cfg(target_arch = "x86_64")]
    fn x86_block4(w: &[u8], x: &[Self]) -> Option<[i32; 4]>;
}

impl IntIn for i8 {
    #[inline(always)]
    fn get(self) -> i32 {
        i32::from(self)
    }
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    fn as_i8(x: &[i8]) -> Option<&[i8]> {
        Some(x)
    }
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    fn x86_block4(_: &[u8], _: &[i8]) -> Option<[i32; 4]> {
        None
    }
    /// Not reached: Cortex-M builds widen int8 inputs (`codec::WIDEN_INT8`).
    #[cfg(aecodec_thumb1)]
    #[inline(always)]
    fn thumb1_block4(w: &[u8], x: &[i8]) -> [i32; 4] {
        block4(w, x)
    }
}

impl IntIn for i16 {
    #[inline(always)]
    fn get(self) -> i32 {
        i32::from(self)
    }
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    fn as_i8(_: &[i16]) -> Option<&[i8]> {
        None
    }
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    fn x86_block4(w: &[u8], x: &[i16]) -> Option<[i32; 4]> {
        super::x86::block4_i16(w, x)
    }
    #[cfg(aecodec_thumb1)]
    #[inline(always)]
    fn thumb1_block4(w: &[u8], x: &[i16]) -> [i32; 4] {
        super::thumb1::block4(w, x)
    }
}

/// Σ x.
#[inline]
fn sum<X: IntIn>(x: &[X]) -> i32 {
    x.iter().map(|&q| q.get()).sum()
}

/// Σ u_j x_j with offset-binary weights `u = w + 128`; exact in i32 (validated at load).
#[inline]
pub(crate) fn dot_u8<X: IntIn>(row: &[u8], x: &[X]) -> i32 {
    row.iter()
        .zip(x)
        .map(|(&u, &xv)| i32::from(u) * xv.get())
        .sum()
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

/// `floor(a · b / 2^32)`, exact. One SMULL where the core has it; on ARMv6-M, whose
/// only multiply gives the low 32 bits, four of those instead of a call to the 64-bit
/// `__aeabi_lmul` (about 60 instructions).
#[inline(always)]
fn mul_high(a: i32, b: i32) -> i32 {
    #[cfg(aecodec_no_long_multiply)]
    return mul_high_16(a, b);
    #[cfg(not(aecodec_no_long_multiply))]
    return ((i64::from(a) * i64::from(b)) >> 32) as i32;
}

/// [`mul_high`] from 16-bit halves: with `a = ah·2^16 + al` and `b = bh·2^16 + bl`
/// (`ah`, `bh` signed, `al`, `bl` in 0..2^16), `a·b = ah·bh·2^32 + (ah·bl + al·bh)·2^16
/// + al·bl`; every partial product fits 32 bits and the carries are summed exactly.
#[cfg_attr(not(aecodec_no_long_multiply), allow(dead_code))]
#[inline(always)]
fn mul_high_16(a: i32, b: i32) -> i32 {
    let (ah, al) = (a >> 16, a & 0xffff);
    let (bh, bl) = (b >> 16, b & 0xffff);
    let low = (al as u32).wrapping_mul(bl as u32); // < 2^32
    let (s1, s2) = (ah.wrapping_mul(bl), al.wrapping_mul(bh)); // |.| < 2^31
    let carry = (low >> 16) as i32 + (s1 & 0xffff) + (s2 & 0xffff); // < 3 · 2^16
    ah.wrapping_mul(bh)
        .wrapping_add(s1 >> 16)
        .wrapping_add(s2 >> 16)
        .wrapping_add(carry >> 16)
}

/// Fixed-point requantization: `zero + round(acc · m / 2^shift)`, saturated to i8.
///
/// |acc| < 2^31 and 0 <= m < 2^31 keep the product under 2^62; `shift` is in 1..=62.
/// Shifts above 32 (most layers: the multiplier m / 2^shift is then below 1/2) take a
/// 32-bit path with the same result: with `prod = H·2^32 + L`, `0 <= L < 2^32`,
/// `(prod + 2^(s-1)) >> s` equals `(H + 2^(s-33)) >> (s-32)`, because `L / 2^s` is less
/// than one step `2^(32-s)` of the shifted value. On Cortex-M4 that is one SMULL, an add
/// and a shift instead of 64-bit shifts by a variable amount.
#[inline(always)]
pub(crate) fn requantize(acc: i32, m: i32, shift: u8, zero: i8) -> i8 {
    if shift > 32 && shift <= 62 {
        let high = mul_high(acc, m); // |high| < 2^30
        let v = ((high + (1 << (shift - 33))) >> (shift - 32)) + i32::from(zero);
        return v.clamp(-128, 127) as i8;
    }
    let prod = i64::from(acc) * i64::from(m);
    let half = 1i64 << (shift.saturating_sub(1) & 63);
    let v = ((prod + half) >> (shift & 63)) + i64::from(zero);
    v.clamp(-128, 127) as i8
}

/// The DSP kernel's scratch: empty where that kernel is not built.
#[cfg(not(aecodec_dsp))]
pub(crate) struct Wide<const N: usize>;

#[cfg(not(aecodec_dsp))]
impl<const N: usize> Wide<N> {
    pub(crate) const fn new() -> Self {
        Wide
    }
    pub(crate) fn slice(&mut self) -> &mut [i16] {
        &mut []
    }
}

#[cfg(aecodec_dsp)]
pub(crate) use super::dsp::Wide;

/// Σ u·x over one 4-row block: `w` holds 16 offset-binary bytes per 4 inputs (4 of each
/// row in turn, the blocked layout of `spec/model-format.md`), `x` the matching inputs.
#[cfg_attr(aecodec_thumb1, allow(dead_code))]
#[inline]
pub(crate) fn block4<X: IntIn>(w: &[u8], x: &[X]) -> [i32; 4] {
    #[cfg(target_arch = "x86_64")]
    if let Some(acc) = X::x86_block4(w, x) {
        return acc;
    }
    let mut acc = [0i32; 4];
    for (wc, xc) in w.chunks_exact(16).zip(x.chunks_exact(4)) {
        for (a, wr) in acc.iter_mut().zip(wc.chunks_exact(4)) {
            *a += dot_u8(wr, xc);
        }
    }
    acc
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

    /// What [`super::x86::layer`] needs of layer `l` to finish its rows.
    #[cfg(target_arch = "x86_64")]
    fn requant(&self, l: &DenseSpec<'a>) -> super::x86::Requant<'a> {
        super::x86::Requant {
            bias: l.bias,
            scales: l.scales,
            shifts: l.shifts,
            zero: self.zero,
            relu: self.lut.is_none() && self.relu,
        }
    }

    /// The activation table, if the layer has one, over outputs already requantized.
    #[cfg(target_arch = "x86_64")]
    fn table(&self, y: &mut [i8]) {
        if let Some(t) = self.lut {
            if !super::x86::table(t, y) {
                y.iter_mut()
                    .for_each(|q| *q = t[usize::from(*q as u8)] as i8);
            }
        }
    }
}

/// [`dense_int8`] for [`MANY`](super::x86::MANY) inputs at once, with the same results:
/// on CPUs with AVX-512 VNNI or AVX2 each load of weights serves all of them (layers
/// whose inputs and outputs are multiples of 4, as wide layers are); elsewhere one at a
/// time.
#[cfg(target_arch = "x86_64")]
pub(crate) fn dense_int8_many(
    l: &DenseSpec<'_>,
    xs: [&[i8]; super::x86::MANY],
    mut ys: [&mut [i8]; super::x86::MANY],
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
        if super::x86::layer(
            l.weights,
            n_in,
            &xs,
            &[&[]; super::x86::MANY],
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

/// Full-integer layer: int32 accumulate, requantize, then LUT or ReLU.
///
/// Weights are offset-binary (`u = w + 128`, so `Σ w·x = Σ u·x − 128 Σ x`), rows in
/// groups of four interleaved four inputs at a time (`spec/model-format.md`).
/// `wide` is the DSP kernel's scratch (empty where that kernel is not built).
pub(crate) fn dense_int8<X: IntIn>(l: &DenseSpec<'_>, x: &[X], y: &mut [i8], wide: &mut [i16]) {
    let n_in = usize::from(l.in_dim);
    let groups = usize::from(l.out_dim) / 4;
    let body = n_in / 4 * 4;
    // Lengths were validated with the model; on a mismatch nothing is computed.
    let (Some((wb, wr)), Some((yb, yr)), Some((bb, br)), Some((mb, mr)), Some((sb, sr))) = (
        l.weights.split_at_checked(4 * groups * n_in),
        y.split_at_mut_checked(4 * groups),
        l.bias.split_at_checked(16 * groups),
        l.scales.split_at_checked(16 * groups),
        l.shifts.split_at_checked(4 * groups),
    ) else {
        return;
    };
    let (Some(xb), Some(xt), Some(x)) = (x.get(..body), x.get(body..n_in), x.get(..n_in)) else {
        return;
    };
    if n_in == 0 {
        return; // refused by validation: every layer has inputs
    }
    // The DSP kernel widens the input once per layer and sums it on the way.
    #[cfg(aecodec_dsp)]
    let (wx, body_sum) = match super::dsp::widen(xb, wide) {
        Some((wx, s)) => (Some(wx), s),
        None => (None, sum(xb)),
    };
    #[cfg(not(aecodec_dsp))]
    let body_sum = {
        let _ = wide;
        sum(xb)
    };
    // |Σ x| <= 128 · 5120 for int8 (MAX_WIDTH inputs plus MAX_LABELS one-hot labels),
    // and n · 2^(bits-1) <= 2^23 for a wider input (validated): the offset term stays
    // inside i32.
    let offset = 128 * (body_sum + sum(xt));
    let fin = Finish::new(l);
    // x86-64 hosts: the whole layer in one call, finished in registers (AVX-512 VNNI or
    // AVX2, whichever the CPU has), for int8 inputs.
    #[cfg(target_arch = "x86_64")]
    let done = match (X::as_i8(xb), X::as_i8(xt)) {
        (Some(xb), Some(xt)) => {
            let rq = fin.requant(l);
            let done = super::x86::layer(wb, n_in, &[xb], &[xt], [offset], &rq, &mut [&mut *yb]);
            if done {
                fin.table(yb);
            }
            done
        }
        _ => false,
    };
    #[cfg(not(target_arch = "x86_64"))]
    let done = false;
    // Elsewhere one block at a time, finished on the spot (the leanest loop for the
    // Cortex-M kernels).
    if !done {
        let params = bb
            .chunks_exact(16)
            .zip(mb.chunks_exact(16))
            .zip(sb.chunks_exact(4));
        let blocks = wb.chunks_exact(4 * n_in).zip(yb.chunks_exact_mut(4));
        for ((block, ys), ((b, m), sh)) in blocks.zip(params) {
            let Some((main, tail)) = block.split_at_checked(4 * body) else {
                return;
            };
            #[cfg(aecodec_dsp)]
            let mut acc = match wx {
                Some(wx) => super::dsp::block4(main, wx, xb),
                None => X::thumb1_block4(main, xb),
            };
            #[cfg(all(aecodec_thumb1, not(aecodec_dsp)))]
            let mut acc = X::thumb1_block4(main, xb);
            #[cfg(not(aecodec_thumb1))]
            let mut acc = block4(main, xb);
            if !xt.is_empty() {
                for (a, t) in acc.iter_mut().zip(tail.chunks_exact(xt.len())) {
                    *a += dot_u8(t, xt);
                }
            }
            let rows = acc.into_iter().zip(i32s(b)).zip(i32s(m)).zip(sh);
            for (o, (((a, b), m), &sh)) in ys.iter_mut().zip(rows) {
                *o = fin.apply(a - offset + b, m, sh);
            }
        }
    }
    let params = i32s(br).zip(i32s(mr)).zip(sr);
    for ((row, o), ((b, m), &sh)) in wr.chunks_exact(n_in).zip(yr).zip(params) {
        *o = fin.apply(dot_u8(row, x) - offset + b, m, sh);
    }
}

/// A full-integer layer without requantization: each row's int32 sum taken to f32
/// through the row's multiplier and `out_scale`, `(acc · m / 2^shift) · out_scale`, the
/// value [`dense_int8`]'s int8 output stands for before it is rounded and saturated. A
/// half's last layer (with no activation) ends this way where its output leaves the
/// integer domain anyway: the encoder's latent keeps the precision its bit allocation
/// asks for instead of 256 levels shared by every dimension. Two f32 products in this
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
    let n_in = usize::from(l.in_dim);
    let groups = usize::from(l.out_dim) / 4;
    let body = n_in / 4 * 4;
    let (Some((wb, wr)), Some((yb, yr)), Some((bb, br)), Some((mb, mr)), Some((sb, sr))) = (
        l.weights.split_at_checked(4 * groups * n_in),
        y.split_at_mut_checked(4 * groups),
        l.bias.split_at_checked(16 * groups),
        l.scales.split_at_checked(16 * groups),
        l.shifts.split_at_checked(4 * groups),
    ) else {
        return;
    };
    let (Some(xb), Some(xt), Some(x)) = (x.get(..body), x.get(body..n_in), x.get(..n_in)) else {
        return;
    };
    let offset = 128 * sum(x);
    #[cfg(aecodec_dsp)]
    let wx = super::dsp::widen(xb, wide).map(|(wx, _)| wx);
    #[cfg(not(aecodec_dsp))]
    let wx = {
        let _ = wide;
        None
    };
    let params = bb
        .chunks_exact(16)
        .zip(mb.chunks_exact(16))
        .zip(sb.chunks_exact(4));
    let blocks = wb.chunks_exact(4 * n_in).zip(yb.chunks_exact_mut(4));
    for ((block, ys), ((b, m), sh)) in blocks.zip(params) {
        let Some((main, tail)) = block.split_at_checked(4 * body) else {
            return;
        };
        let mut acc = block_sums(main, xb, wx);
        if !xt.is_empty() {
            for (a, t) in acc.iter_mut().zip(tail.chunks_exact(xt.len())) {
                *a += dot_u8(t, xt);
            }
        }
        let rows = acc.into_iter().zip(i32s(b)).zip(i32s(m)).zip(sh);
        for (o, (((a, b), m), &sh)) in ys.iter_mut().zip(rows) {
            *o = sum_to_f32(a - offset + b, m, sh, out_scale);
        }
    }
    let params = i32s(br).zip(i32s(mr)).zip(sr);
    for ((row, o), ((b, m), &sh)) in wr.chunks_exact(n_in).zip(yr).zip(params) {
        *o = sum_to_f32(dot_u8(row, x) - offset + b, m, sh, out_scale);
    }
}

/// `(acc · (m · 2^-sh)) · scale` in f32, `2^-sh` exact (sh in 1..=62, validated: a
/// normal f32 made from its exponent).
#[inline(never)]
fn sum_to_f32(acc: i32, m: i32, sh: u8, scale: f32) -> f32 {
    let step = f32::from_bits((127 - u32::from(sh.min(62))) << 23);
    acc as f32 * (m as f32 * step) * scale
}

/// Σ u·x over one 4-row block with the target's kernel, out of line (see
/// [`dense_int8_f32`]); `wx` is the input widened by the DSP kernel, where it is built.
#[inline(never)]
fn block_sums<X: IntIn>(main: &[u8], xb: &[X], wx: Option<&[i16]>) -> [i32; 4] {
    #[cfg(aecodec_dsp)]
    return match wx {
        Some(wx) => super::dsp::block4(main, wx, xb),
        None => X::thumb1_block4(main, xb),
    };
    #[cfg(all(aecodec_thumb1, not(aecodec_dsp)))]
    {
        let _ = wx;
        return X::thumb1_block4(main, xb);
    }
    #[cfg(not(aecodec_thumb1))]
    {
        let _ = wx;
        block4(main, xb)
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
        assert_eq!(requantize(3, 1 << 30, 33, 0), 0); // 0.375
        assert_eq!(requantize(5, 1 << 30, 33, 0), 1); // 0.625
        assert_eq!(requantize(-5, 1 << 30, 33, 0), -1); // -0.625
        assert_eq!(requantize(-6, 1 << 30, 34, 0), 0); // -0.375
    }

    #[test]
    fn high_product_from_16_bit_halves_is_exact() {
        let mut s = 0x2545_f491_4f6c_dd1du64;
        let edges = [
            i32::MIN,
            i32::MIN + 1,
            -65536,
            -65535,
            -1,
            0,
            1,
            65535,
            65536,
            i32::MAX,
        ];
        for &a in &edges {
            for &b in &edges {
                assert_eq!(
                    mul_high_16(a, b),
                    ((i64::from(a) * i64::from(b)) >> 32) as i32
                );
            }
        }
        for _ in 0..1_000_000 {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            let (a, b) = (s as i32, (s >> 32) as i32);
            assert_eq!(
                mul_high_16(a, b),
                ((i64::from(a) * i64::from(b)) >> 32) as i32,
                "{a} {b}"
            );
        }
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
