//! CPU back ends of the full-int8 layers, and the one place that picks among them.
//!
//! Every back end computes the same bits (integer sums are exact in any order); they
//! differ in speed and in what a device carries in flash:
//! - [`portable`]: Rust loops that every target has, and the reference of the others;
//! - `cortex_m4`: the DSP extension of Armv7E-M (UXTB16 + SMLAD), cfg `aecodec_dsp`;
//! - `cortex_m0`: Thumb-1 assembly for Arm cores without it, cfg `aecodec_thumb1` (also
//!   the DSP kernel's fallback for weights at an unaligned address);
//! - `x86`: AVX-512 VNNI and AVX2 on x86-64 hosts, asked of the CPU at run time with
//!   the `std` feature.
//!
//! `core/build.rs` sets the `aecodec_*` cfgs from the target. Every `cfg` that picks a
//! back end is in this file: the operators (`ops/`) and the codec reach the
//! target-specific kernels only through its functions, which return "not done" where a
//! back end is not built so that the caller runs the portable loop (the operators also
//! use `portable`'s helpers directly).

pub(crate) mod portable;

#[cfg(aecodec_thumb1)]
mod cortex_m0;
#[cfg(aecodec_dsp)]
mod cortex_m4;
#[cfg(target_arch = "x86_64")]
pub(crate) mod x86;

/// The integer input of a full-int8 layer: int8 activations, or the encoder's window
/// samples on up to 16 bits (`IntBoundary::in_bits`) for its first layer. Validation
/// bounds both so that every sum stays in i32 (`model/validate.rs`).
pub(crate) trait IntIn: Copy {
    /// The value.
    fn get(self) -> i32;
    /// The input as int8, for the kernels that take only int8 (x86-64's whole layers).
    fn as_i8(x: &[Self]) -> Option<&[i8]>;
    /// The input as i16, for the block kernels that take 16-bit inputs.
    fn as_i16(x: &[Self]) -> Option<&[i16]>;
}

impl IntIn for i8 {
    #[inline(always)]
    fn get(self) -> i32 {
        i32::from(self)
    }
    #[inline(always)]
    fn as_i8(x: &[i8]) -> Option<&[i8]> {
        Some(x)
    }
    #[inline(always)]
    fn as_i16(_: &[i8]) -> Option<&[i16]> {
        None
    }
}

impl IntIn for i16 {
    #[inline(always)]
    fn get(self) -> i32 {
        i32::from(self)
    }
    #[inline(always)]
    fn as_i8(_: &[i16]) -> Option<&[i8]> {
        None
    }
    #[inline(always)]
    fn as_i16(x: &[i16]) -> Option<&[i16]> {
        Some(x)
    }
}

/// Whether every full-integer layer reads a 16-bit input: int8 activations are widened
/// into the 16-bit input buffer first, so that one copy of each kernel is in a device's
/// flash (the Cortex-M kernels take 16-bit inputs at the same cost per MAC, and the copy
/// costs one store per input against `out_dim` MACs). Hosts keep the int8 path for
/// their AVX kernels.
pub(crate) const WIDEN_INT8: bool = cfg!(any(aecodec_thumb1, aecodec_dsp));

/// Scratch of the DSP kernel: empty where that kernel is not built.
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
pub(crate) use cortex_m4::Wide;

/// The 4-input groups of a layer's input (its first `4 · (n_in / 4)` values) as the
/// block kernels take them: the input, and on the DSP build its copy widened into the
/// kernel's scratch ([`Body::new`]).
pub(crate) struct Body<'x, X> {
    x: &'x [X],
    widened: Option<&'x [i16]>,
}

impl<'x, X: IntIn> Body<'x, X> {
    /// The body `x` (a multiple of 4 long) and Σ x; `wide` is [`Wide::slice`], where
    /// the DSP kernel widens `x` once per layer, summing it on the way.
    #[inline(always)]
    pub(crate) fn new(x: &'x [X], wide: &'x mut [i16]) -> (Self, i32) {
        #[cfg(aecodec_dsp)]
        if let Some((widened, sum)) = cortex_m4::widen(x, wide) {
            let widened = Some(widened);
            return (Body { x, widened }, sum);
        }
        #[cfg(not(aecodec_dsp))]
        let _ = wide;
        (Body { x, widened: None }, portable::sum(x))
    }
}

/// Σ u·x over one 4-row block (`w`: 16 offset-binary bytes per 4 inputs, 4 of each row in
/// turn) with the fastest kernel the target has; [`portable::block4`]'s result.
#[inline(always)]
pub(crate) fn block4<X: IntIn>(w: &[u8], body: &Body<'_, X>) -> [i32; 4] {
    #[cfg(aecodec_dsp)]
    if let Some(acc) = body.widened.and_then(|wx| cortex_m4::block4(w, wx)) {
        return acc;
    }
    #[cfg(aecodec_thumb1)]
    if let Some(x) = X::as_i16(body.x) {
        return cortex_m0::block4(w, x);
    }
    #[cfg(target_arch = "x86_64")]
    if let Some(acc) = X::as_i16(body.x).and_then(|x| x86::block4_i16(w, x)) {
        return acc;
    }
    let _ = body.widened;
    portable::block4(w, body.x)
}

/// `floor(a · b / 2^32)`, exact. One SMULL where the core has it; on ARMv6-M, whose
/// only multiply gives the low 32 bits, four of those ([`portable::mul_high_16`])
/// instead of a call to the 64-bit `__aeabi_lmul` (about 60 instructions).
#[inline(always)]
pub(crate) fn mul_high(a: i32, b: i32) -> i32 {
    #[cfg(aecodec_no_long_multiply)]
    return portable::mul_high_16(a, b);
    #[cfg(not(aecodec_no_long_multiply))]
    return ((i64::from(a) * i64::from(b)) >> 32) as i32;
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

/// What follows a layer's accumulation, for [`layer`]: per row a bias (i32 LE, input zero
/// point folded in), a fixed-point multiplier (i32 LE) and a shift, then the output zero
/// point and ReLU (clamped at it) or none. A layer with an activation table takes its
/// table after [`layer`] has written the requantized outputs ([`table`]).
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
pub(crate) struct Requant<'a> {
    pub(crate) bias: &'a [u8],
    pub(crate) scales: &'a [u8],
    pub(crate) shifts: &'a [u8],
    pub(crate) zero: i8,
    pub(crate) relu: bool,
}

/// A whole full-int8 layer for `K` int8 input vectors with a host's vector kernel:
/// `ys[k][r] = act(requantize(Σ_i u[r][i]·x_k[i] − offsets[k] + bias[r]))` for the rows
/// of the 4-row blocks of `w`, `x_k` being `xs[k]` (the 4-input groups) then `tails[k]`.
/// False, computing nothing, where no such kernel runs (not x86-64, a CPU without AVX2,
/// or a length that does not fit).
#[inline(always)]
pub(crate) fn layer<const K: usize>(
    w: &[u8],
    n_in: usize,
    xs: &[&[i8]; K],
    tails: &[&[i8]; K],
    offsets: [i32; K],
    rq: &Requant<'_>,
    ys: &mut [&mut [i8]; K],
) -> bool {
    #[cfg(target_arch = "x86_64")]
    return x86::layer(w, n_in, xs, tails, offsets, rq, ys);
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (w, n_in, xs, tails, offsets, rq, ys);
        false
    }
}

/// `y[i] = t[y[i] as u8]` with a vector kernel; false, computing nothing, where none runs.
#[inline(always)]
pub(crate) fn table(t: &[u8; 256], y: &mut [i8]) -> bool {
    #[cfg(target_arch = "x86_64")]
    return x86::table(t, y);
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (t, y);
        false
    }
}

/// `q[i] = portable::quantize(a[i] · inv, zero)` with a vector kernel; false, computing
/// nothing, where none runs.
#[inline(always)]
pub(crate) fn quantize(a: &[f32], inv: f32, zero: i8, q: &mut [i8]) -> bool {
    #[cfg(target_arch = "x86_64")]
    return x86::quantize(a, inv, zero, q);
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (a, inv, zero, q);
        false
    }
}

/// Runs `body` compiled for the host's widest float lanes (16 with AVX-512), the same
/// bits as the plain loop; false, without running it, where there are none.
#[inline(always)]
pub(crate) fn in_wide_lanes(body: &mut impl FnMut()) -> bool {
    #[cfg(target_arch = "x86_64")]
    return x86::in_avx512(body);
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = body;
        false
    }
}
