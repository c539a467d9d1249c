//! Full-int8 kernels for x86-64 hosts (the receiver's decoder, and host-side encoding):
//! AVX-512 VNNI (`VPDPBUSD`: 64 u8·i8 products summed into 16 i32 lanes per instruction)
//! and AVX2 (`VPMOVZXBW` + `VPMADDWD`: 16 products per instruction).
//!
//! A layer is one call of [`layer`] with either: accumulation, requantization and ReLU in
//! registers, 16 rows per store (AVX-512) or 8 (AVX2). With AVX-512 an activation table
//! is one call of [`table`] and a half's input quantization one of [`quantize`]. One
//! vector through the benchmark's decoder spent about half its time around the kernel
//! (handing sums over, requantizing in 64-bit lanes, table lookups a byte at a time)
//! before they were fused.
//!
//! The blob's layout is made for them as much as for the Cortex-M kernels: weights are
//! offset-binary u8 (`VPDPBUSD` multiplies unsigned by signed bytes, exactly `u · x`),
//! and a 4-row block keeps 4 inputs of each row in turn, so 64 bytes of weights are 16
//! dwords whose lane `4k + r` is row `r`'s dot with input group `k`: one broadcast of 16
//! input bytes to the matching lanes serves every block. Integer sums are exact, so
//! these kernels give the same bits as the portable one and the MCU's.
//!
//! The CPU is asked at run time with the `std` feature (and in this crate's unit tests);
//! without it only features the build enables (`-C target-cpu=…`) are used.
#![allow(unsafe_code)]

use super::Requant;
use core::arch::x86_64::*;

/// The widest x86-64 kernels the core may use, at most what the CPU offers: for
/// benchmarks and tests that measure or check, on one machine, the paths that hosts with
/// less take. Every level gives the same bits. Process-wide; [`KernelLimit::Avx512`]
/// (no limit) until [`set_kernel_limit`] is called.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum KernelLimit {
    /// The portable Rust kernels only (what the compiler makes of them for the build's
    /// target features).
    Portable,
    /// AVX2 kernels at most.
    Avx2,
    /// AVX-512 kernels (VNNI, VBMI) where the CPU has them.
    Avx512,
}

static LIMIT: core::sync::atomic::AtomicU8 =
    core::sync::atomic::AtomicU8::new(KernelLimit::Avx512 as u8);

/// Caps the x86-64 kernels at `limit` for the whole process (see [`KernelLimit`]) and
/// returns the limit it replaces.
pub fn set_kernel_limit(limit: KernelLimit) -> KernelLimit {
    match LIMIT.swap(limit as u8, core::sync::atomic::Ordering::Relaxed) {
        0 => KernelLimit::Portable,
        1 => KernelLimit::Avx2,
        _ => KernelLimit::Avx512,
    }
}

/// True if kernels of `level` are allowed by [`set_kernel_limit`].
#[inline]
fn allowed(level: KernelLimit) -> bool {
    LIMIT.load(core::sync::atomic::Ordering::Relaxed) >= level as u8
}

/// AVX-512 F, BW and VL usable (and allowed by [`set_kernel_limit`]).
#[inline]
fn has_avx512() -> bool {
    if !allowed(KernelLimit::Avx512) {
        return false;
    }
    #[cfg(any(test, feature = "std"))]
    {
        std::is_x86_feature_detected!("avx512f")
            && std::is_x86_feature_detected!("avx512bw")
            && std::is_x86_feature_detected!("avx512vl")
    }
    #[cfg(not(any(test, feature = "std")))]
    {
        cfg!(all(
            target_feature = "avx512f",
            target_feature = "avx512bw",
            target_feature = "avx512vl"
        ))
    }
}

/// AVX-512 VNNI usable with F, BW and VL (by the CPU and the OS).
#[inline]
pub(crate) fn has_vnni() -> bool {
    if !has_avx512() {
        return false;
    }
    #[cfg(any(test, feature = "std"))]
    {
        std::is_x86_feature_detected!("avx512vnni")
    }
    #[cfg(not(any(test, feature = "std")))]
    {
        cfg!(target_feature = "avx512vnni")
    }
}

/// AVX-512 VBMI usable with F, BW and VL (byte permutes: a 256-entry table in four
/// registers).
#[inline]
pub(crate) fn has_vbmi() -> bool {
    if !has_avx512() {
        return false;
    }
    #[cfg(any(test, feature = "std"))]
    {
        std::is_x86_feature_detected!("avx512vbmi")
    }
    #[cfg(not(any(test, feature = "std")))]
    {
        cfg!(target_feature = "avx512vbmi")
    }
}

/// `y[i] = t[y[i] as u8]` for a layer's activation table, 64 bytes at a time with
/// AVX-512 VBMI (two 128-entry byte permutes, picked by the index's top bit). Returns
/// false, changing nothing, without it.
pub(crate) fn table(t: &[u8; 256], y: &mut [i8]) -> bool {
    if !has_vbmi() {
        return false;
    }
    // SAFETY: the CPU has the features (checked just above).
    unsafe { table_vbmi(t, y) };
    true
}

/// # Safety
/// The CPU has AVX-512 F, BW and VBMI.
#[target_feature(enable = "avx512f,avx512bw,avx512vbmi")]
unsafe fn table_vbmi(t: &[u8; 256], y: &mut [i8]) {
    // SAFETY: four 64-byte loads inside the 256-byte table.
    let [t0, t1, t2, t3] =
        [0, 64, 128, 192].map(|o| unsafe { _mm512_loadu_si512(t.as_ptr().add(o).cast()) });
    for chunk in y.chunks_mut(64) {
        let mask: __mmask64 = if chunk.len() == 64 {
            u64::MAX
        } else {
            (1u64 << chunk.len()) - 1
        };
        // SAFETY: masked-off bytes are not accessed.
        let i = unsafe { _mm512_maskz_loadu_epi8(mask, chunk.as_ptr().cast()) };
        let low = _mm512_permutex2var_epi8(t0, i, t1); // entries 0..127, by bits 0..6
        let high = _mm512_permutex2var_epi8(t2, i, t3); // entries 128..255
        let v = _mm512_mask_blend_epi8(_mm512_movepi8_mask(i), low, high);
        // SAFETY: as the load.
        unsafe { _mm512_mask_storeu_epi8(chunk.as_mut_ptr().cast(), mask, v) };
    }
}

/// `q[i] = portable::quantize(a[i] · inv, zero)` as the codec quantizes a half's input: `r`
/// rounded half away from zero, clamped to ±256, NaN as 0, plus `zero`, saturated to i8;
/// 16 values at a time with AVX-512 (the rounding in float: the fraction `r − trunc(r)`
/// is exact). Returns false, writing nothing, without AVX-512 or if the lengths differ.
pub(crate) fn quantize(a: &[f32], inv: f32, zero: i8, q: &mut [i8]) -> bool {
    if a.len() != q.len() || !has_avx512() {
        return false;
    }
    // SAFETY: the CPU has the features (checked just above).
    unsafe { quantize_avx512(a, inv, zero, q) };
    true
}

/// # Safety
/// The CPU has AVX-512 F, BW and VL.
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
unsafe fn quantize_avx512(a: &[f32], inv: f32, zero: i8, q: &mut [i8]) {
    let (inv, z) = (_mm512_set1_ps(inv), _mm512_set1_epi32(i32::from(zero)));
    let (half, one, limit) = (
        _mm512_set1_ps(0.5),
        _mm512_set1_ps(1.0),
        _mm512_set1_ps(256.0),
    );
    let sign = _mm512_set1_epi32(i32::MIN);
    for (a, q) in a.chunks(16).zip(q.chunks_mut(16)) {
        let mask: __mmask16 = if a.len() == 16 {
            u16::MAX
        } else {
            (1u16 << a.len()) - 1
        };
        // SAFETY: masked-off lanes are not accessed.
        let r = _mm512_mul_ps(unsafe { _mm512_maskz_loadu_ps(mask, a.as_ptr()) }, inv);
        let t = _mm512_roundscale_ps::<{ _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC }>(r);
        let frac = _mm512_abs_ps(_mm512_sub_ps(r, t));
        let away = _mm512_cmp_ps_mask::<_CMP_GE_OQ>(frac, half);
        let step = _mm512_or_si512(
            _mm512_and_si512(_mm512_castps_si512(r), sign),
            _mm512_castps_si512(one),
        );
        let t = _mm512_mask_add_ps(t, away, t, _mm512_castsi512_ps(step));
        let t = _mm512_min_ps(
            _mm512_max_ps(t, _mm512_sub_ps(_mm512_setzero_ps(), limit)),
            limit,
        );
        let nan = _mm512_cmp_ps_mask::<_CMP_UNORD_Q>(r, r);
        let i = _mm512_maskz_cvttps_epi32(!nan, t);
        let v = _mm512_cvtsepi32_epi8(_mm512_add_epi32(i, z));
        // SAFETY: as the load.
        unsafe { _mm_mask_storeu_epi8(q.as_mut_ptr().cast(), mask, v) };
    }
}

/// Runs `body` inside a function compiled for AVX-512 F, so that the plain loops it
/// inlines (a window's conversions and scalings) take 16 lanes; false, without running
/// it, where the CPU lacks AVX-512 (F, BW, VL). The compiler neither reorders nor fuses float operations,
/// so the results are the bits of the same loop built for any other target.
#[inline(always)]
pub(crate) fn in_avx512(body: &mut impl FnMut()) -> bool {
    if !has_avx512() {
        return false;
    }
    // SAFETY: the CPU has the feature (checked just above).
    unsafe { avx512_body(body) };
    true
}

/// # Safety
/// The CPU has AVX-512 F.
#[target_feature(enable = "avx512f")]
unsafe fn avx512_body(body: &mut impl FnMut()) {
    body()
}

/// AVX2 usable.
#[inline]
pub(crate) fn has_avx2() -> bool {
    if !allowed(KernelLimit::Avx2) {
        return false;
    }
    #[cfg(any(test, feature = "std"))]
    {
        std::is_x86_feature_detected!("avx2")
    }
    #[cfg(not(any(test, feature = "std")))]
    {
        cfg!(target_feature = "avx2")
    }
}

/// Σ u·x over one 4-row block (`portable::block4`) for 16-bit inputs, the encoder's first
/// layer, with AVX2: per 4 inputs one VPMOVZXBW of the block's 16 weight bytes (4 of each
/// row in turn), one broadcast of the 4 inputs to every row's lanes and one VPMADDWD,
/// whose lane pairs are each row's partial sums. `None` without AVX2 (or not allowed by
/// [`set_kernel_limit`]) or if the lengths do not fit; exact integer sums, the same bits
/// as the portable loop.
pub(crate) fn block4_i16(w: &[u8], x: &[i16]) -> Option<[i32; 4]> {
    let chunks = x.len() / 4;
    if !has_avx2() || x.len() != 4 * chunks || w.len() != 16 * chunks {
        return None;
    }
    // SAFETY: the CPU has AVX2 (checked above), and the kernel reads `16 · chunks` bytes
    // of `w` and `4 · chunks` values of `x`, their lengths (checked above).
    Some(unsafe { block4_i16_avx2(w, x, chunks) })
}

#[target_feature(enable = "avx2")]
unsafe fn block4_i16_avx2(w: &[u8], x: &[i16], chunks: usize) -> [i32; 4] {
    let mut acc = _mm256_setzero_si256();
    for c in 0..chunks {
        // SAFETY: c < chunks: bytes 16c..16c + 16 of `w` and values 4c..4c + 4 of `x`
        // exist (the caller's contract); unaligned loads.
        let (wv, xq) = unsafe {
            (
                _mm_loadu_si128(w.as_ptr().add(16 * c).cast()),
                x.as_ptr().add(4 * c).cast::<i64>().read_unaligned(),
            )
        };
        // u (0..=255) and x as i16: each product and each pair's sum fit i32.
        let prods = _mm256_madd_epi16(_mm256_cvtepu8_epi16(wv), _mm256_set1_epi64x(xq));
        acc = _mm256_add_epi32(acc, prods);
    }
    let mut lanes = [0i32; 8];
    // SAFETY: 32 bytes into a [i32; 8].
    unsafe { _mm256_storeu_si256(lanes.as_mut_ptr().cast(), acc) };
    // Lanes 2r and 2r + 1 hold row r's sums (wrapping, as the portable loop's would; the
    // model's validation keeps them in range).
    core::array::from_fn(|r| lanes[2 * r].wrapping_add(lanes[2 * r + 1]))
}

/// The blocked rows of a full-int8 layer for `K` input vectors, finished in registers:
/// `ys[k][r] = act(requantize(Σ_i u[r][i]·x_k[i] − offsets[k] + bias[r]))` for every row
/// of the 4-row blocks of `w` (`4 · n_in` bytes each), where `x_k` is `xs[k]` (the first
/// inputs, a multiple of 4) followed by `tails[k]` (the last `n_in mod 4`, which each
/// block keeps after its groups, row by row). Sixteen rows at a time: four blocks'
/// accumulators reduced to one register of row sums (AVX-512), then bias,
/// `kernels::requantize` (exactly, see [`requantize16`]), saturation, ReLU and one 16-byte
/// store; no sums leave the registers. The same bits as the portable loop.
///
/// AVX-512 VNNI or AVX2 (eight rows per register there, one 8-byte store each): false,
/// computing nothing, without either or if a length does not fit.
pub(crate) fn layer<const K: usize>(
    w: &[u8],
    n_in: usize,
    xs: &[&[i8]; K],
    tails: &[&[i8]; K],
    offsets: [i32; K],
    rq: &Requant<'_>,
    ys: &mut [&mut [i8]; K],
) -> bool {
    let Some(s) = Shape::new(w, n_in, xs[0]) else {
        return false;
    };
    let rows = 4 * s.blocks;
    let fits = xs.iter().all(|x| x.len() == s.body)
        && tails.iter().all(|t| s.body + t.len() == n_in)
        && ys.iter().all(|y| y.len() >= rows)
        && rq.bias.len() >= 4 * rows
        && rq.scales.len() >= 4 * rows
        && rq.shifts.len() >= rows;
    if !fits {
        return false;
    }
    if has_vnni() {
        // SAFETY: the CPU has the features (checked just above), and every length the
        // kernel reads or writes within was checked with `s`.
        unsafe { vnni_layer(w, xs, tails, s, offsets, rq, ys) };
    } else if has_avx2() {
        // SAFETY: as above.
        unsafe { avx2_layer(w, xs, tails, s, offsets, rq, ys) };
    } else {
        return false;
    }
    true
}

/// Row `r`'s dot product with the inputs past the 4-input groups (`tail`), which each
/// block keeps after its groups' `4 · body` bytes, row by row.
#[inline]
fn tail_dot(w: &[u8], s: Shape, r: usize, tail: &[i8]) -> i32 {
    let at = r / 4 * s.stride + 4 * s.body + r % 4 * tail.len();
    super::portable::dot_u8(w.get(at..at + tail.len()).unwrap_or(&[]), tail)
}

/// # Safety
/// The CPU has AVX-512 F, BW, VL and VNNI; the lengths are those [`layer`] checked.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni")]
unsafe fn vnni_layer<const K: usize>(
    w: &[u8],
    xs: &[&[i8]; K],
    tails: &[&[i8]; K],
    s: Shape,
    offsets: [i32; K],
    rq: &Requant<'_>,
    ys: &mut [&mut [i8]; K],
) {
    let mut b = 0;
    while b < s.blocks {
        let n = (s.blocks - b).min(4);
        // SAFETY: blocks b..b + n exist (the caller's contract).
        let sums = unsafe {
            match n {
                4 => vnni_rows::<4, K>(w, xs, s, b),
                3 => vnni_rows::<3, K>(w, xs, s, b),
                2 => vnni_rows::<2, K>(w, xs, s, b),
                _ => vnni_rows::<1, K>(w, xs, s, b),
            }
        };
        let first = 4 * b;
        let mask: __mmask16 = if n == 4 {
            u16::MAX
        } else {
            (1u16 << (4 * n)) - 1
        };
        // SAFETY: rows first..first + 4n are within every checked length; masked-off
        // lanes are not accessed.
        let (bias, m, sh) = unsafe {
            (
                _mm512_maskz_loadu_epi32(mask, rq.bias.as_ptr().add(4 * first).cast()),
                _mm512_maskz_loadu_epi32(mask, rq.scales.as_ptr().add(4 * first).cast()),
                _mm_maskz_loadu_epi8(mask, rq.shifts.as_ptr().add(first).cast()),
            )
        };
        for k in 0..K {
            let mut acc = _mm512_add_epi32(sums[k], bias);
            acc = _mm512_sub_epi32(acc, _mm512_set1_epi32(offsets[k]));
            let tail = tails[k];
            if !tail.is_empty() {
                let mut t = [0i32; 16];
                for (r, t) in (first..first + 4 * n).zip(t.iter_mut()) {
                    *t = tail_dot(w, s, r, tail);
                }
                // SAFETY: 64 bytes from a [i32; 16].
                acc = _mm512_add_epi32(acc, unsafe { _mm512_loadu_si512(t.as_ptr().cast()) });
            }
            let mut q = requantize16(acc, m, sh, mask, rq.zero);
            if rq.relu {
                q = _mm_max_epi8(q, _mm_set1_epi8(rq.zero));
            }
            // SAFETY: as the loads above.
            unsafe { _mm_mask_storeu_epi8(ys[k].as_mut_ptr().add(first).cast(), mask, q) };
        }
        b += n;
    }
}

/// Sixteen rows of `kernels::requantize`: `zero + ((acc·m + 2^(s−1)) >> s)`, saturated to
/// i8 by the narrowing move. Where every row of `rows` has a shift above 32 (most
/// layers), in 32-bit lanes from the high half of each product, as the scalar code's
/// short path does (the same result, `kernels::requantize` says why); else in 64-bit
/// lanes, eight rows at a time.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
fn requantize16(acc: __m512i, m: __m512i, shifts: __m128i, rows: __mmask16, zero: i8) -> __m128i {
    if _mm_mask_cmple_epu8_mask(rows, shifts, _mm_set1_epi8(32)) == 0 {
        let one = _mm512_set1_epi32(1);
        // The high dword of each 64-bit product: even lanes, then odd ones.
        let even = _mm512_srli_epi64::<32>(_mm512_mul_epi32(acc, m));
        let odd = _mm512_mul_epi32(_mm512_srli_epi64::<32>(acc), _mm512_srli_epi64::<32>(m));
        let high = _mm512_mask_blend_epi32(0xAAAA, even, odd);
        let s = _mm512_sub_epi32(_mm512_cvtepu8_epi32(shifts), _mm512_set1_epi32(32));
        let round = _mm512_sllv_epi32(one, _mm512_sub_epi32(s, one));
        let v = _mm512_srav_epi32(_mm512_add_epi32(high, round), s);
        return _mm512_cvtsepi32_epi8(_mm512_add_epi32(v, _mm512_set1_epi32(i32::from(zero))));
    }
    let lo = requantize8(
        _mm512_castsi512_si256(acc),
        _mm512_castsi512_si256(m),
        shifts,
        zero,
    );
    let hi = requantize8(
        _mm512_extracti64x4_epi64::<1>(acc),
        _mm512_extracti64x4_epi64::<1>(m),
        _mm_srli_si128::<8>(shifts),
        zero,
    );
    _mm_unpacklo_epi64(lo, hi)
}

/// [`requantize16`] for eight rows (the shifts in the low 8 bytes), into the low 8 bytes.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
fn requantize8(acc: __m256i, m: __m256i, shifts: __m128i, zero: i8) -> __m128i {
    let one = _mm512_set1_epi64(1);
    let prod = _mm512_mul_epi32(_mm512_cvtepi32_epi64(acc), _mm512_cvtepi32_epi64(m));
    let s = _mm512_and_si512(_mm512_cvtepu8_epi64(shifts), _mm512_set1_epi64(63));
    // 2^(s.saturating_sub(1)), as the scalar definition rounds.
    let s1 = _mm512_max_epi64(_mm512_sub_epi64(s, one), _mm512_setzero_si512());
    let round = _mm512_sllv_epi64(one, s1);
    let v = _mm512_srav_epi64(_mm512_add_epi64(prod, round), s);
    _mm512_cvtsepi64_epi8(_mm512_add_epi64(v, _mm512_set1_epi64(i64::from(zero))))
}

/// Row sums of `B` blocks (4B rows) from block `first` on, for each of the `K` inputs,
/// in lanes 0..4B of one register (the others zero).
///
/// # Safety
/// As [`vnni_layer`], and `first + B <= s.blocks`.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni")]
unsafe fn vnni_rows<const B: usize, const K: usize>(
    w: &[u8],
    xs: &[&[i8]; K],
    s: Shape,
    first: usize,
) -> [__m512i; K] {
    // SAFETY: the caller's contract is `vnni_blocks`'.
    let acc = unsafe { vnni_blocks::<B, K>(w, xs, s, first) };
    let mut out = [_mm512_setzero_si512(); K];
    // Block j's register holds in its quarter g the partial sums of rows 0..3 over input
    // group g: a 4×4 transpose of quarters, then adds, leaves block j's rows in quarter j.
    // (Plain loops: a closure would not inherit this function's target features.)
    for (a, out) in acc.iter().zip(out.iter_mut()) {
        let mut q = [_mm512_setzero_si512(); 4];
        q[..B].copy_from_slice(a);
        let s01 = _mm512_add_epi32(
            _mm512_shuffle_i32x4::<0b10_00_10_00>(q[0], q[1]),
            _mm512_shuffle_i32x4::<0b11_01_11_01>(q[0], q[1]),
        );
        let s23 = _mm512_add_epi32(
            _mm512_shuffle_i32x4::<0b10_00_10_00>(q[2], q[3]),
            _mm512_shuffle_i32x4::<0b11_01_11_01>(q[2], q[3]),
        );
        *out = _mm512_add_epi32(
            _mm512_shuffle_i32x4::<0b10_00_10_00>(s01, s23),
            _mm512_shuffle_i32x4::<0b11_01_11_01>(s01, s23),
        );
    }
    out
}

/// The shape of a layer's blocked part, checked once so the kernels may read unchecked.
#[derive(Clone, Copy)]
struct Shape {
    /// Bytes per 4-row block (4 · inputs).
    stride: usize,
    /// Inputs in the 4-input groups (a multiple of 4, at most the layer's inputs).
    body: usize,
    /// 4-row blocks.
    blocks: usize,
}

impl Shape {
    fn new(w: &[u8], n_in: usize, x: &[i8]) -> Option<Shape> {
        let stride = n_in.checked_mul(4)?;
        let body = x.len();
        if n_in == 0 || !body.is_multiple_of(4) || body > n_in || !w.len().is_multiple_of(stride) {
            return None;
        }
        Some(Shape {
            stride,
            body,
            blocks: w.len() / stride,
        })
    }
}

/// The accumulators of `B` blocks from block `first` on, for each of the `K` inputs:
/// lane `4g + r` of block j's register sums row r of the block over input group g.
///
/// # Safety
/// As [`vnni_layer`], and `first + B <= s.blocks`.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni")]
unsafe fn vnni_blocks<const B: usize, const K: usize>(
    w: &[u8],
    xs: &[&[i8]; K],
    s: Shape,
    first: usize,
) -> [[__m512i; B]; K] {
    // Dword lane 4k + r takes input group k (bytes 4k..4k+4 of a 16-byte input chunk).
    let spread = _mm512_set_epi32(3, 3, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0);
    let wp = w.as_ptr();
    let mut acc = [[_mm512_setzero_si512(); B]; K];
    let full = s.body / 16 * 16;
    let mut c = 0;
    while c < full {
        // SAFETY: c + 16 <= body <= x.len(); block j's bytes 4c..4c+64 lie within its
        // first 4 · body bytes, inside w.
        let mut wv = [_mm512_setzero_si512(); B];
        for (j, v) in wv.iter_mut().enumerate() {
            *v = unsafe { _mm512_loadu_si512(wp.add((first + j) * s.stride + 4 * c).cast()) };
        }
        for (x, acc) in xs.iter().zip(acc.iter_mut()) {
            let xv = unsafe { _mm_loadu_si128(x.as_ptr().add(c).cast()) };
            let xv = _mm512_permutexvar_epi32(spread, _mm512_broadcast_i32x4(xv));
            for (a, &wv) in acc.iter_mut().zip(&wv) {
                *a = _mm512_dpbusd_epi32(*a, wv, xv);
            }
        }
        c += 16;
    }
    let rest = s.body - full; // 0, 4, 8 or 12 inputs: masked loads read only those
    if rest > 0 {
        // SAFETY: masked-off bytes are not accessed; the active ones are in bounds as above.
        let mask = (1u64 << (4 * rest)) - 1;
        let mut wv = [_mm512_setzero_si512(); B];
        for (j, v) in wv.iter_mut().enumerate() {
            *v = unsafe {
                _mm512_maskz_loadu_epi8(mask, wp.add((first + j) * s.stride + 4 * c).cast())
            };
        }
        for (x, acc) in xs.iter().zip(acc.iter_mut()) {
            let xv = unsafe { _mm_maskz_loadu_epi8((1u16 << rest) - 1, x.as_ptr().add(c).cast()) };
            let xv = _mm512_permutexvar_epi32(spread, _mm512_broadcast_i32x4(xv));
            for (a, &wv) in acc.iter_mut().zip(&wv) {
                *a = _mm512_dpbusd_epi32(*a, wv, xv);
            }
        }
    }
    acc
}

/// [`layer`] with AVX2: sixteen rows at a time as two registers of eight row sums (a
/// horizontal add of two blocks' lane pairs, then a dword permute into row order), each
/// requantized in 32-bit lanes where its shifts are all above 32 (else by the 64-bit
/// definition, row by row), saturated to i8 by two packs, ReLU, one 8-byte store.
///
/// # Safety
/// The CPU has AVX2; the lengths are those [`layer`] checked.
#[target_feature(enable = "avx2")]
unsafe fn avx2_layer<const K: usize>(
    w: &[u8],
    xs: &[&[i8]; K],
    tails: &[&[i8]; K],
    s: Shape,
    offsets: [i32; K],
    rq: &Requant<'_>,
    ys: &mut [&mut [i8]; K],
) {
    let mut b = 0;
    while b < s.blocks {
        let n = (s.blocks - b).min(4);
        // SAFETY: blocks b..b + n exist (the caller's contract).
        let sums = unsafe {
            match n {
                4 => avx2_rows::<4, K>(w, xs, s, b),
                3 => avx2_rows::<3, K>(w, xs, s, b),
                2 => avx2_rows::<2, K>(w, xs, s, b),
                _ => avx2_rows::<1, K>(w, xs, s, b),
            }
        };
        for half in [0, 1] {
            let first = 4 * b + 8 * half;
            let rows = (4 * n).saturating_sub(8 * half).min(8);
            if rows == 0 {
                break;
            }
            // The rows' parameters; past the layer's last row (a partial group) zero, and
            // shift 33 so that the 32-bit path's check passes for rows not stored.
            let (bias, mv, sh) = if rows == 8 {
                // SAFETY: rows first..first + 8 are within every checked length.
                unsafe {
                    (
                        _mm256_loadu_si256(rq.bias.as_ptr().add(4 * first).cast()),
                        _mm256_loadu_si256(rq.scales.as_ptr().add(4 * first).cast()),
                        rq.shifts.as_ptr().add(first).cast::<u64>().read_unaligned(),
                    )
                }
            } else {
                let (mut bias, mut m, mut sh) = ([0u8; 32], [0u8; 32], [33u8; 8]);
                let (b4, r4) = (4 * first, 4 * (first + rows));
                let (Some(b), Some(mm), Some(ss)) = (
                    rq.bias.get(b4..r4),
                    rq.scales.get(b4..r4),
                    rq.shifts.get(first..first + rows),
                ) else {
                    return; // within the checked lengths: not taken
                };
                bias[..4 * rows].copy_from_slice(b);
                m[..4 * rows].copy_from_slice(mm);
                sh[..rows].copy_from_slice(ss);
                // SAFETY: 32 bytes from each [u8; 32].
                unsafe {
                    (
                        _mm256_loadu_si256(bias.as_ptr().cast()),
                        _mm256_loadu_si256(m.as_ptr().cast()),
                        u64::from_le_bytes(sh),
                    )
                }
            };
            // Every shift above 32: no byte of `sh` is 32 or less.
            let short = sh.to_le_bytes().iter().all(|&s| s > 32);
            for k in 0..K {
                let mut acc = _mm256_add_epi32(sums[k][half], bias);
                acc = _mm256_sub_epi32(acc, _mm256_set1_epi32(offsets[k]));
                let tail = tails[k];
                if !tail.is_empty() {
                    let mut t = [0i32; 8];
                    for (r, t) in (first..first + rows).zip(t.iter_mut()) {
                        *t = tail_dot(w, s, r, tail);
                    }
                    // SAFETY: 32 bytes from a [i32; 8].
                    acc = _mm256_add_epi32(acc, unsafe { _mm256_loadu_si256(t.as_ptr().cast()) });
                }
                let v = if short {
                    requantize8_avx2(acc, mv, sh, rq.zero)
                } else {
                    let (mut a, mut m) = ([0i32; 8], [0i32; 8]);
                    // SAFETY: 32 bytes into each [i32; 8].
                    unsafe {
                        _mm256_storeu_si256(a.as_mut_ptr().cast(), acc);
                        _mm256_storeu_si256(m.as_mut_ptr().cast(), mv);
                    }
                    let mut q = [0i8; 8];
                    let shifts = sh.to_le_bytes();
                    for ((q, &a), (&m, &sh)) in q.iter_mut().zip(&a).zip(m.iter().zip(&shifts)) {
                        *q = crate::kernels::requantize(a, m, sh, rq.zero);
                    }
                    _mm_cvtsi64_si128(i64::from_le_bytes(q.map(|q| q as u8)))
                };
                let v = if rq.relu {
                    _mm_max_epi8(v, _mm_set1_epi8(rq.zero))
                } else {
                    v
                };
                if rows == 8 {
                    // SAFETY: rows first..first + 8 are within the checked length of y.
                    unsafe { _mm_storel_epi64(ys[k].as_mut_ptr().add(first).cast(), v) };
                } else if let Some(y) = ys[k].get_mut(first..first + rows) {
                    let q = (_mm_cvtsi128_si64(v) as u64).to_le_bytes();
                    for (y, &q) in y.iter_mut().zip(&q) {
                        *y = q as i8;
                    }
                }
            }
        }
        b += n;
    }
}

/// Eight rows of `kernels::requantize` whose shifts (the bytes of `shifts`) are all above
/// 32: from the high half of each product in 32-bit lanes, as [`requantize16`] does,
/// saturated to i8 by two packs; the rows in the low 8 bytes.
#[inline]
#[target_feature(enable = "avx2")]
fn requantize8_avx2(acc: __m256i, m: __m256i, shifts: u64, zero: i8) -> __m128i {
    let one = _mm256_set1_epi32(1);
    let even = _mm256_srli_epi64::<32>(_mm256_mul_epi32(acc, m));
    let odd = _mm256_mul_epi32(_mm256_srli_epi64::<32>(acc), _mm256_srli_epi64::<32>(m));
    let high = _mm256_blend_epi32::<0b1010_1010>(even, odd);
    let s = _mm256_cvtepu8_epi32(_mm_cvtsi64_si128(shifts as i64));
    let s = _mm256_sub_epi32(s, _mm256_set1_epi32(32));
    let round = _mm256_sllv_epi32(one, _mm256_sub_epi32(s, one));
    let v = _mm256_srav_epi32(_mm256_add_epi32(high, round), s);
    let v = _mm256_add_epi32(v, _mm256_set1_epi32(i32::from(zero)));
    // i32 → i16 → i8 with saturation at each step (as one clamp to i8), per 128-bit half:
    // rows 0..3 in dword 0 of the low half, rows 4..7 in dword 0 of the high half.
    let p = _mm256_packs_epi16(_mm256_packs_epi32(v, v), _mm256_setzero_si256());
    _mm_unpacklo_epi32(_mm256_castsi256_si128(p), _mm256_extracti128_si256::<1>(p))
}

/// Row sums of `B` blocks (4B rows) from block `first` on, for each of the `K` inputs:
/// rows 0..8 in the first register, 8..16 in the second (zero past 4B).
///
/// # Safety
/// As [`avx2_layer`], and `first + B <= s.blocks`.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn avx2_rows<const B: usize, const K: usize>(
    w: &[u8],
    xs: &[&[i8]; K],
    s: Shape,
    first: usize,
) -> [[__m256i; 2]; K] {
    // SAFETY: the caller's contract is `avx2_blocks`'.
    let acc = unsafe { avx2_blocks::<B, K>(w, xs, s, first) };
    let order = _mm256_setr_epi32(0, 1, 4, 5, 2, 3, 6, 7);
    let mut out = [[_mm256_setzero_si256(); 2]; K];
    for (a, out) in acc.iter().zip(out.iter_mut()) {
        let mut q = [_mm256_setzero_si256(); 4];
        q[..B].copy_from_slice(a);
        // Block j's lanes are its rows' pairs of partial sums, rows 0, 1 in the low half
        // and 2, 3 in the high one: a horizontal add of two blocks gives
        // [a0 a1 b0 b1 | a2 a3 b2 b3].
        out[0] = _mm256_permutevar8x32_epi32(_mm256_hadd_epi32(q[0], q[1]), order);
        out[1] = _mm256_permutevar8x32_epi32(_mm256_hadd_epi32(q[2], q[3]), order);
    }
    out
}

/// The accumulators of `B` blocks from block `first` on, for each of the `K` inputs:
/// lanes `2r` and `2r + 1` of block j's register sum row r's products over inputs
/// `4g, 4g + 1` and `4g + 2, 4g + 3` of every group g.
///
/// # Safety
/// As [`avx2_layer`], and `first + B <= s.blocks`.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn avx2_blocks<const B: usize, const K: usize>(
    w: &[u8],
    xs: &[&[i8]; K],
    s: Shape,
    first: usize,
) -> [[__m256i; B]; K] {
    let wp = w.as_ptr();
    let mut acc = [[_mm256_setzero_si256(); B]; K];
    let mut c = 0;
    while c < s.body {
        // SAFETY: c + 4 <= body <= x.len(); block j's bytes 4c..4c+16 are inside its
        // first 4 · body bytes.
        let mut wv = [_mm256_setzero_si256(); B];
        for (j, v) in wv.iter_mut().enumerate() {
            let bytes = unsafe { _mm_loadu_si128(wp.add((first + j) * s.stride + 4 * c).cast()) };
            *v = _mm256_cvtepu8_epi16(bytes);
        }
        for (x, acc) in xs.iter().zip(acc.iter_mut()) {
            let group = unsafe { x.as_ptr().add(c).cast::<i32>().read_unaligned() };
            // The group's 4 inputs as i16, once for each of the 4 rows: [x0..x3] × 4.
            let xv = _mm256_cvtepi8_epi16(_mm_set1_epi32(group));
            for (a, &wv) in acc.iter_mut().zip(&wv) {
                // Lanes: row 0 inputs 0+1, row 0 inputs 2+3, row 1 …: exact (|u·x| < 2^15).
                *a = _mm256_add_epi32(*a, _mm256_madd_epi16(wv, xv));
            }
        }
        c += 4;
    }
    acc
}

#[cfg(test)]
mod tests {
    /// The vectors of a batch (`BATCH_LANES` in codec.rs; a constant here so that the
    /// kernels depend on nothing above them).
    const MANY: usize = 4;
    use super::*;
    use std::vec::Vec;

    fn xorshift(mut s: u64) -> impl FnMut() -> u64 {
        move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        }
    }

    /// Runs every layer kernel this CPU has on the same arguments (outputs of `rows`
    /// bytes and 3 more, primed with 0x55), after checking the shape as [`layer`] does.
    fn each_kernel<const K: usize>(
        w: &[u8],
        n_in: usize,
        xs: &[&[i8]; K],
        tails: &[&[i8]; K],
        offsets: [i32; K],
        rq: &Requant<'_>,
        rows: usize,
    ) -> Vec<(&'static str, [Vec<i8>; K])> {
        let s = Shape::new(w, n_in, xs[0]).expect("shape");
        let mut runs = Vec::new();
        for (name, ok) in [("vnni", has_vnni()), ("avx2", has_avx2())] {
            if !ok {
                std::eprintln!("{name} kernel not tested: the CPU lacks it");
                continue;
            }
            let mut ys: [Vec<i8>; K] = core::array::from_fn(|_| std::vec![0x55; rows + 3]);
            let mut outs = ys.each_mut().map(|y| &mut y[..]);
            // SAFETY: the CPU has the features; the test's lengths are those `layer` checks.
            unsafe {
                match name {
                    "vnni" => vnni_layer(w, xs, tails, s, offsets, rq, &mut outs),
                    _ => avx2_layer(w, xs, tails, s, offsets, rq, &mut outs),
                }
            }
            runs.push((name, ys));
        }
        runs
    }

    /// The fused layer kernels against the scalar definition, row by row: every remainder of
    /// inputs mod 16 (with input tails) and of blocks mod 4, one vector and [`MANY`],
    /// random weights, inputs, biases, multipliers, shifts (1..=62), zero points, with and
    /// without ReLU, slices at odd addresses; rows past the blocked ones are not written.
    #[test]
    fn layer_kernels_match_the_scalar_definition() {
        let mut next = xorshift(0x9e37_79b9_7f4a_7c15);
        for n_in in [
            1usize, 3, 4, 5, 8, 12, 15, 16, 20, 22, 28, 31, 32, 44, 64, 100, 131,
        ] {
            for blocks in (1..=9).chain([16, 17, 21, 33]) {
                let rows = 4 * blocks;
                let (body, tail) = (n_in / 4 * 4, n_in % 4);
                let w: Vec<u8> = (0..1 + rows * n_in).map(|_| next() as u8).collect();
                let w = &w[1..];
                let mut bias = std::vec![0u8];
                let mut scales = std::vec![0u8];
                for _ in 0..rows {
                    let r = next();
                    bias.extend_from_slice(&((r as i32) >> (r >> 59)).to_le_bytes());
                    let m = ((r >> 32) as i32 & i32::MAX) >> ((r >> 20) % 16);
                    scales.extend_from_slice(&m.to_le_bytes());
                }
                // A third of the layers with shifts above 32 only (the 32-bit paths), a
                // third from 32 up (the edge of those paths), a third over all of them.
                let lowest = [33, 32, 1][(next() % 3) as usize];
                let shifts: Vec<u8> = (0..1 + rows)
                    .map(|_| lowest + (next() % u64::from(63 - lowest)) as u8)
                    .collect();
                let relu = next().is_multiple_of(2);
                let rq = Requant {
                    bias: &bias[1..],
                    scales: &scales[1..],
                    shifts: &shifts[1..],
                    zero: next() as i8,
                    relu,
                };
                let xs: [Vec<i8>; MANY] =
                    core::array::from_fn(|_| (0..1 + n_in).map(|_| next() as i8).collect());
                let want = |x: &[i8]| -> Vec<i8> {
                    let offset = 128 * x.iter().map(|&q| i32::from(q)).sum::<i32>();
                    (0..rows)
                        .map(|r| {
                            let block = &w[r / 4 * 4 * n_in..(r / 4 + 1) * 4 * n_in];
                            let mut acc =
                                super::super::portable::block4(&block[..4 * body], &x[..body])
                                    [r % 4];
                            let t = &block[4 * body + r % 4 * tail..][..tail];
                            acc += t
                                .iter()
                                .zip(&x[body..])
                                .map(|(&u, &v)| i32::from(u) * i32::from(v))
                                .sum::<i32>();
                            let b =
                                i32::from_le_bytes(rq.bias[4 * r..4 * r + 4].try_into().unwrap());
                            let m =
                                i32::from_le_bytes(rq.scales[4 * r..4 * r + 4].try_into().unwrap());
                            let q = crate::kernels::requantize(
                                acc.wrapping_sub(offset).wrapping_add(b),
                                m,
                                rq.shifts[r],
                                rq.zero,
                            );
                            if relu {
                                q.max(rq.zero)
                            } else {
                                q
                            }
                        })
                        .collect()
                };
                let x0 = &xs[0][1..];
                let offset = 128 * x0.iter().map(|&q| i32::from(q)).sum::<i32>();
                let (xb, xt) = x0.split_at(body);
                for (kernel, [y]) in each_kernel(w, n_in, &[xb], &[xt], [offset], &rq, rows) {
                    assert_eq!(
                        y[..rows],
                        want(x0)[..],
                        "{kernel} n_in {n_in} blocks {blocks}"
                    );
                    assert_eq!(y[rows..], [0x55; 3], "{kernel} wrote past the rows");
                }
                if tail == 0 {
                    let refs: [&[i8]; MANY] = core::array::from_fn(|k| &xs[k][1..]);
                    let offsets = refs.map(|x| 128 * x.iter().map(|&q| i32::from(q)).sum::<i32>());
                    let tails = [&[][..]; MANY];
                    for (kernel, ys) in each_kernel(w, n_in, &refs, &tails, offsets, &rq, rows) {
                        for (k, y) in ys.iter().enumerate() {
                            assert_eq!(
                                y[..rows],
                                want(refs[k])[..],
                                "{kernel} x{MANY} n_in {n_in} blocks {blocks} vector {k}"
                            );
                        }
                    }
                }
            }
        }
    }

    /// The vectorized input quantization against the portable scalar one: random floats
    /// over many magnitudes, every value near a rounding tie or the ±256 clamp, zeros,
    /// subnormals, infinities and NaNs, at every length mod 16.
    #[test]
    fn quantize_matches_the_scalar_definition() {
        if !has_vnni() {
            std::eprintln!("no AVX-512 here: vectorized quantization not tested");
            return;
        }
        let mut next = xorshift(0x1234_5678_9abc_def1);
        let mut special = std::vec![
            0.0f32,
            -0.0,
            f32::MIN_POSITIVE / 2.0,
            -f32::MIN_POSITIVE,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
            -f32::NAN,
            f32::MAX,
            f32::MIN,
            1e30,
            -1e30
        ];
        for k in -260i32..=260 {
            for d in [-0.5f32, 0.5, -0.25, 0.25] {
                let v = k as f32 + d;
                special.extend([
                    v,
                    f32::from_bits(v.to_bits() + 1),
                    f32::from_bits(v.to_bits().wrapping_sub(1)),
                ]);
            }
        }
        for round in 0..4000 {
            let n = round % 41;
            let a: Vec<f32> = (0..n)
                .map(|_| {
                    let r = next();
                    if r.is_multiple_of(3) {
                        special[(r >> 8) as usize % special.len()]
                    } else {
                        f32::from_bits((r >> 32) as u32 & 0x7fff_ffff | ((r & 1) as u32) << 31)
                            % 1e4
                    }
                })
                .collect();
            let inv = [1.0f32, 0.37, 3.1, 1e-3][round % 4];
            let zero = next() as i8;
            let mut got = std::vec![0i8; n];
            assert!(quantize(&a, inv, zero, &mut got));
            for (i, (&x, &g)) in a.iter().zip(&got).enumerate() {
                let want = super::super::portable::quantize(x * inv, zero);
                assert_eq!(
                    g,
                    want,
                    "x {x:e} (bits {:#x}) inv {inv} zero {zero} at {i}",
                    x.to_bits()
                );
            }
        }
    }

    /// The VBMI table lookup against indexing, for every byte value and length mod 64.
    #[test]
    fn table_matches_indexing() {
        if !has_vbmi() {
            std::eprintln!("no AVX-512 VBMI here: table lookup not tested");
            return;
        }
        let mut next = xorshift(0x0bad_5eed_1234_5678);
        for n in 0..300 {
            let t: [u8; 256] = core::array::from_fn(|_| next() as u8);
            let y: Vec<i8> = (0..1 + n)
                .map(|i| if n % 2 == 0 { i as i8 } else { next() as i8 })
                .collect();
            let mut got = y.clone();
            assert!(table(&t, &mut got[1..]));
            let want: Vec<i8> = y[1..]
                .iter()
                .map(|&q| t[usize::from(q as u8)] as i8)
                .collect();
            assert_eq!(got[0], y[0], "wrote before the slice");
            assert_eq!(got[1..], want[..], "length {n}");
        }
    }

    #[test]
    fn shapes_that_are_not_blocked_layers_are_refused() {
        let w = [0u8; 64];
        assert!(Shape::new(&w, 0, &[]).is_none());
        assert!(Shape::new(&w, 4, &[0; 3]).is_none()); // body not a multiple of 4
        assert!(Shape::new(&w, 4, &[0; 8]).is_none()); // body beyond the inputs
        assert!(Shape::new(&w[..60], 8, &[0; 8]).is_none()); // partial block
        assert!(Shape::new(&w, 8, &[0; 8]).is_some());
    }
}
