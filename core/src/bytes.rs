//! Little-endian views over byte slices borrowed from a blob, and the hash of bytes
//! that names a model and tells a repeated payload from a new one.
//!
//! Weights are read with `from_le_bytes`, which has no alignment requirement: a blob
//! can sit at any address in flash, and big- and little-endian targets read the same
//! values. On Cortex-M4 the compiler turns these into single (unaligned-capable) loads.

/// The `i`-th little-endian f32 of `b`, or 0.0 if `b` is too short (callers validate lengths).
#[inline(always)]
pub(crate) fn f32_at(b: &[u8], i: usize) -> f32 {
    match b.get(i * 4..i * 4 + 4) {
        Some(&[a, b1, c, d]) => f32::from_le_bytes([a, b1, c, d]),
        _ => 0.0,
    }
}

/// Iterates the little-endian f32s of `b` (a trailing partial element is ignored).
#[inline(always)]
pub(crate) fn f32s(b: &[u8]) -> impl Iterator<Item = f32> + '_ {
    b.as_chunks::<4>().0.iter().map(|&c| f32::from_le_bytes(c))
}

/// Iterates the little-endian i32s of `b`.
#[inline(always)]
pub(crate) fn i32s(b: &[u8]) -> impl Iterator<Item = i32> + '_ {
    b.as_chunks::<4>().0.iter().map(|&c| i32::from_le_bytes(c))
}

/// FNV-1a, 32 bits, of `bytes`.
#[inline]
pub(crate) fn fnv1a32(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5u32, |h, &b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}
