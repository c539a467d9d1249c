//! Full-int8 kernels for x86-64 hosts (the receiver's decoder, and host-side encoding):
//! AVX-512 VNNI (`VPDPBUSD`: 64 u8·i8 products summed into 16 i32 lanes per instruction)
//! and AVX2 (`VPMOVZXBW` + `VPMADDWD`: 16 products per instruction).
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

use core::arch::x86_64::*;

/// AVX-512 F, BW, VL and VNNI usable (by the CPU and the OS).
#[inline]
pub(crate) fn has_vnni() -> bool {
    #[cfg(any(test, feature = "std"))]
    {
        std::is_x86_feature_detected!("avx512vnni")
            && std::is_x86_feature_detected!("avx512bw")
            && std::is_x86_feature_detected!("avx512vl")
            && std::is_x86_feature_detected!("avx512f")
    }
    #[cfg(not(any(test, feature = "std")))]
    {
        cfg!(all(
            target_feature = "avx512vnni",
            target_feature = "avx512bw",
            target_feature = "avx512vl",
            target_feature = "avx512f"
        ))
    }
}

/// AVX2 usable.
#[inline]
pub(crate) fn has_avx2() -> bool {
    #[cfg(any(test, feature = "std"))]
    {
        std::is_x86_feature_detected!("avx2")
    }
    #[cfg(not(any(test, feature = "std")))]
    {
        cfg!(target_feature = "avx2")
    }
}

/// `zero + round(acc · m / 2^shift)` saturated to i8 for each row (`m` little-endian
/// i32, shifts validated in 1..=62), as `dense::requantize` computes it one at a time:
/// here eight rows to a 512-bit register in 64-bit lanes (AVX-512), or four to a 256-bit
/// one (AVX2, which has no 64-bit arithmetic shift: the compiler builds it). Returns
/// false, computing nothing, without either or if the lengths differ.
pub(crate) fn requantize(acc: &[i32], m: &[u8], shifts: &[u8], zero: i8, y: &mut [i8]) -> bool {
    let n = acc.len();
    if m.len() != 4 * n || shifts.len() != n || y.len() != n {
        return false;
    }
    if has_vnni() {
        // SAFETY: the CPU has the features (checked just above).
        unsafe { requantize_avx512(acc, m, shifts, zero, y) };
    } else if has_avx2() {
        // SAFETY: as above.
        unsafe { requantize_avx2(acc, m, shifts, zero, y) };
    } else {
        return false;
    }
    true
}

/// # Safety
/// The CPU has AVX-512 F, BW, VL (`has_vnni`).
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
unsafe fn requantize_avx512(acc: &[i32], m: &[u8], shifts: &[u8], zero: i8, y: &mut [i8]) {
    requantize_rows(acc, m, shifts, zero, y)
}

/// # Safety
/// The CPU has AVX2.
#[target_feature(enable = "avx2")]
unsafe fn requantize_avx2(acc: &[i32], m: &[u8], shifts: &[u8], zero: i8, y: &mut [i8]) {
    requantize_rows(acc, m, shifts, zero, y)
}

/// `dense::requantize`'s exact 64-bit definition as a loop without branches, inlined into
/// the two functions above so the compiler vectorizes it for their features (VPMULDQ,
/// VPSLLVQ, VPSRAVQ, VPMAXSQ/VPMINSQ, VPMOVQB with AVX-512; AVX2 has no 64-bit
/// arithmetic shift and gets it built from others).
#[inline(always)]
fn requantize_rows(acc: &[i32], m: &[u8], shifts: &[u8], zero: i8, y: &mut [i8]) {
    let terms = acc.iter().zip(m.chunks_exact(4)).zip(shifts);
    for (o, ((&a, m), &s)) in y.iter_mut().zip(terms) {
        let m = i32::from_le_bytes([m[0], m[1], m[2], m[3]]);
        let s = u64::from(s & 63);
        let prod = i64::from(a) * i64::from(m);
        let v = ((prod + (1i64 << (s.saturating_sub(1)))) >> s) + i64::from(zero);
        *o = v.clamp(-128, 127) as i8;
    }
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

/// Rows per call of `emit`.
const CHUNK: usize = 64;
/// Blocks that share one load of the inputs.
const WIDE: usize = 4;
/// Vectors that share one load of the weights in [`blocks4_many`].
pub(crate) const MANY: usize = crate::BATCH_LANES;

/// Σ u·x over the first `x.len()` inputs (a multiple of 4) of every 4-row block of `w`
/// (blocks of `4 · n_in` bytes, `spec/model-format.md`); `emit(first_row, sums)` gets
/// them in row order, up to 64 rows at a time. Returns false, computing nothing, where
/// neither kernel can run here or the shape is not a blocked layer's.
pub(crate) fn blocks4(
    w: &[u8],
    n_in: usize,
    x: &[i8],
    emit: &mut dyn FnMut(usize, &mut [i32]),
) -> bool {
    let Some(shape) = Shape::new(w, n_in, x) else {
        return false;
    };
    let mut emit = |_: usize, first: usize, sums: &mut [i32]| emit(first, sums);
    if has_vnni() {
        // SAFETY: the CPU has the features (checked just above); `Shape::new` checked
        // the lengths the kernel reads within.
        unsafe { vnni::<1>(w, &[x], shape, &mut emit) };
        true
    } else if has_avx2() {
        // SAFETY: as above.
        unsafe { avx2::<1>(w, &[x], shape, &mut emit) };
        true
    } else {
        false
    }
}

/// [`blocks4`] for [`MANY`] input vectors of the same length at once, each 64 bytes of
/// weights loaded once for all of them (one vector at a time, the weights are read from
/// L2 at its bandwidth: a decoder's do not fit L1). `emit(vector, first_row, sums)`.
/// AVX-512 VNNI only; false, computing nothing, elsewhere.
pub(crate) fn blocks4_many(
    w: &[u8],
    n_in: usize,
    xs: &[&[i8]; MANY],
    emit: &mut dyn FnMut(usize, usize, &mut [i32]),
) -> bool {
    let Some(shape) = Shape::new(w, n_in, xs[0]) else {
        return false;
    };
    if xs.iter().any(|x| x.len() != shape.body) || !has_vnni() {
        return false;
    }
    // SAFETY: as in `blocks4`; every input has the checked length.
    unsafe { vnni::<MANY>(w, xs, shape, emit) };
    true
}

/// Both kernels walk the blocks [`WIDE`] at a time (each input load shared by them),
/// then one at a time for the last few, and hand the sums on [`CHUNK`] rows at a time.
macro_rules! drive {
    ($kernel:ident, $k:ident, $w:expr, $xs:expr, $s:expr, $emit:expr) => {{
        let mut sums = [[0i32; CHUNK]; $k];
        let mut filled = 0; // rows in each `sums[k]`
        let mut b = 0;
        while b < $s.blocks {
            let wide = b + WIDE <= $s.blocks;
            if wide {
                let got = $kernel::<WIDE, $k>($w, $xs, $s, b);
                for (row_sums, blocks) in sums.iter_mut().zip(got) {
                    for (j, v) in blocks.into_iter().enumerate() {
                        row_sums[filled + 4 * j..filled + 4 * j + 4].copy_from_slice(&v);
                    }
                }
                b += WIDE;
                filled += 4 * WIDE;
            } else {
                let got = $kernel::<1, $k>($w, $xs, $s, b);
                for (row_sums, [v]) in sums.iter_mut().zip(got) {
                    row_sums[filled..filled + 4].copy_from_slice(&v);
                }
                b += 1;
                filled += 4;
            }
            if filled == CHUNK || b == $s.blocks {
                for (k, row_sums) in sums.iter_mut().enumerate() {
                    $emit(k, 4 * b - filled, &mut row_sums[..filled]);
                }
                filled = 0;
            }
        }
    }};
}

/// # Safety
/// The CPU has AVX-512 F, BW, VL and VNNI; `s` was made by `Shape::new(w, _, x)` for
/// every `x` of `xs`.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni")]
unsafe fn vnni<const K: usize>(
    w: &[u8],
    xs: &[&[i8]; K],
    s: Shape,
    emit: &mut dyn FnMut(usize, usize, &mut [i32]),
) {
    drive!(vnni_blocks, K, w, xs, s, emit)
}

/// Sums of `B` blocks from block `first` on, for each of the `K` inputs.
///
/// # Safety
/// As [`vnni`], and `first + B <= s.blocks`.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni")]
unsafe fn vnni_blocks<const B: usize, const K: usize>(
    w: &[u8],
    xs: &[&[i8]; K],
    s: Shape,
    first: usize,
) -> [[[i32; 4]; B]; K] {
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
    // Closures would not inherit this function's target features: plain loops.
    let mut out = [[[0i32; 4]; B]; K];
    for (acc, out) in acc.iter().zip(out.iter_mut()) {
        for (&a, out) in acc.iter().zip(out.iter_mut()) {
            // Lane 4k + r: add the four 128-bit quarters to get rows 0..3.
            let lo = _mm512_castsi512_si256(a);
            let hi = _mm512_extracti64x4_epi64::<1>(a);
            let h = _mm256_add_epi32(lo, hi);
            let q = _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256::<1>(h));
            // SAFETY: 16 bytes into a [i32; 4].
            unsafe { _mm_storeu_si128(out.as_mut_ptr().cast(), q) };
        }
    }
    out
}

/// # Safety
/// The CPU has AVX2; `s` was made by `Shape::new(w, _, x)` for every `x` of `xs`.
#[target_feature(enable = "avx2")]
unsafe fn avx2<const K: usize>(
    w: &[u8],
    xs: &[&[i8]; K],
    s: Shape,
    emit: &mut dyn FnMut(usize, usize, &mut [i32]),
) {
    drive!(avx2_blocks, K, w, xs, s, emit)
}

/// Sums of `B` blocks from block `first` on, for each of the `K` inputs.
///
/// # Safety
/// As [`avx2`], and `first + B <= s.blocks`.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn avx2_blocks<const B: usize, const K: usize>(
    w: &[u8],
    xs: &[&[i8]; K],
    s: Shape,
    first: usize,
) -> [[[i32; 4]; B]; K] {
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
    let mut out = [[[0i32; 4]; B]; K];
    for (acc, out) in acc.iter().zip(out.iter_mut()) {
        for (&a, out) in acc.iter().zip(out.iter_mut()) {
            // Pairs of lanes: hadd within each 128-bit half gives rows 0, 1 | 2, 3.
            let h = _mm256_hadd_epi32(a, a);
            let q = _mm_unpacklo_epi64(_mm256_castsi256_si128(h), _mm256_extracti128_si256::<1>(h));
            // SAFETY: 16 bytes into a [i32; 4].
            unsafe { _mm_storeu_si128(out.as_mut_ptr().cast(), q) };
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    /// Rows must arrive in order, each once, for every vector.
    fn collect<const K: usize>(
        got: &mut [Vec<i32>; K],
    ) -> impl FnMut(usize, usize, &mut [i32]) + '_ {
        move |k, first, v| {
            assert_eq!(first, got[k].len());
            got[k].extend_from_slice(v);
        }
    }

    /// The kernels against the portable `block4` for shapes with every remainder of
    /// inputs mod 16 and of blocks mod 4, random bytes, and slices at odd addresses.
    #[test]
    fn kernels_match_the_portable_sums() {
        let mut s = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s as u8
        };
        let (vnni_ok, avx2_ok) = (has_vnni(), has_avx2());
        std::eprintln!("x86 kernels tested: vnni {vnni_ok}, avx2 {avx2_ok}");
        for n_in in [4usize, 5, 8, 12, 15, 16, 20, 28, 31, 32, 44, 64, 100, 131] {
            for blocks in (1..=9).chain([16, 17, 21, 33]) {
                let body = n_in / 4 * 4;
                let w: Vec<u8> = (0..1 + 4 * n_in * blocks).map(|_| next()).collect();
                let x: Vec<i8> = (0..1 + body).map(|_| next() as i8).collect();
                let (w, x) = (&w[1..], &x[1..]); // odd addresses
                let expected: Vec<[i32; 4]> = w
                    .chunks_exact(4 * n_in)
                    .map(|b| super::super::dense::block4(&b[..4 * body], x))
                    .collect();
                let shape = Shape::new(w, n_in, x).expect("shape");
                let expected: Vec<i32> = expected.concat();
                let check = |name: &str, got: Vec<i32>| {
                    assert_eq!(got, expected, "{name} n_in {n_in} blocks {blocks}");
                };
                if vnni_ok {
                    let mut got = [Vec::new()];
                    unsafe { vnni(w, &[x], shape, &mut collect(&mut got)) };
                    let [got] = got;
                    check("vnni", got);
                    // Four vectors at once: the same input four times, and shifted
                    // copies of it, each against its own portable sums.
                    let xs: [Vec<i8>; MANY] = core::array::from_fn(|k| {
                        x.iter().map(|&v| v.wrapping_add(k as i8 * 37)).collect()
                    });
                    let refs: [&[i8]; MANY] = core::array::from_fn(|k| &xs[k][..]);
                    let mut got: [Vec<i32>; MANY] = core::array::from_fn(|_| Vec::new());
                    assert!(blocks4_many(w, n_in, &refs, &mut collect(&mut got)));
                    for (k, got) in got.into_iter().enumerate() {
                        let want: Vec<i32> = w
                            .chunks_exact(4 * n_in)
                            .flat_map(|b| super::super::dense::block4(&b[..4 * body], &xs[k]))
                            .collect();
                        assert_eq!(
                            got, want,
                            "vnni x{MANY} n_in {n_in} blocks {blocks} vector {k}"
                        );
                    }
                }
                if avx2_ok {
                    let mut got = [Vec::new()];
                    unsafe { avx2(w, &[x], shape, &mut collect(&mut got)) };
                    let [got] = got;
                    check("avx2", got);
                }
            }
        }
    }

    /// The vectorized requantization against the scalar one, over the validated shifts.
    #[test]
    fn requantize_matches_the_scalar_definition() {
        let (vnni_ok, avx2_ok) = (has_vnni(), has_avx2());
        if !vnni_ok && !avx2_ok {
            std::eprintln!("no AVX2 here: vectorized requantization not tested");
            return;
        }
        let mut s = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        for round in 0..20_000 {
            let n = round % 37;
            let (mut acc, mut m, mut sh) = (Vec::new(), Vec::new(), Vec::new());
            for _ in 0..n {
                let r = next();
                acc.push((r as i32) >> (r >> 59));
                let mv = ((r >> 32) as i32 & i32::MAX) >> ((r >> 20) % 16);
                m.extend_from_slice(&mv.to_le_bytes());
                sh.push(1 + ((r >> 8) % 62) as u8);
            }
            let zero = next() as i8;
            let mut got = std::vec![0i8; n];
            assert!(requantize(&acc, &m, &sh, zero, &mut got));
            if avx2_ok {
                // The AVX2 loop as well, where `requantize` took the AVX-512 one.
                let mut got2 = std::vec![0i8; n];
                unsafe { requantize_avx2(&acc, &m, &sh, zero, &mut got2) };
                assert_eq!(got2, got, "avx2");
            }
            for i in 0..n {
                let mi = i32::from_le_bytes([m[4 * i], m[4 * i + 1], m[4 * i + 2], m[4 * i + 3]]);
                let want = super::super::dense::requantize(acc[i], mi, sh[i], zero);
                assert_eq!(
                    got[i], want,
                    "acc {} m {mi} shift {} zero {zero}",
                    acc[i], sh[i]
                );
            }
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
