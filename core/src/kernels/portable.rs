//! The portable full-int8 kernels: plain Rust loops that every target has, and the
//! reference the other back ends are tested against; with them the scalar rounding that
//! quantizes a half's input.

use super::IntIn;

/// Σ x.
#[inline]
pub(crate) fn sum<X: IntIn>(x: &[X]) -> i32 {
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

/// Σ u·x over one 4-row block: `w` holds 16 offset-binary bytes per 4 inputs (4 of each
/// row in turn, the blocked layout of `spec/model-format.md`), `x` the matching inputs.
#[inline]
pub(crate) fn block4<X: IntIn>(w: &[u8], x: &[X]) -> [i32; 4] {
    let mut acc = [0i32; 4];
    for (wc, xc) in w.chunks_exact(16).zip(x.chunks_exact(4)) {
        for (a, wr) in acc.iter_mut().zip(wc.chunks_exact(4)) {
            *a += dot_u8(wr, xc);
        }
    }
    acc
}

/// `floor(a · b / 2^32)` from 16-bit halves, for cores whose only multiply gives the low
/// 32 bits: with `a = ah·2^16 + al` and `b = bh·2^16 + bl` (`ah`, `bh` signed, `al`, `bl`
/// in 0..2^16), `a·b = ah·bh·2^32 + (ah·bl + al·bh)·2^16 + al·bl`; every partial product
/// fits 32 bits and the carries are summed exactly.
#[cfg_attr(not(aecodec_no_long_multiply), allow(dead_code))]
#[inline(always)]
pub(crate) fn mul_high_16(a: i32, b: i32) -> i32 {
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

/// `round(r) + zero`, saturated to i8 (`r` rounded half away from zero; NaN is 0).
#[inline]
pub(crate) fn quantize(r: f32, zero: i8) -> i8 {
    (round_clamped(r) + i32::from(zero)).clamp(-128, 127) as i8
}

/// `round(r)`, saturated to ±(2^(bits-1) − 1) (`r` rounded half away from zero; NaN
/// is 0): the full-int8 encoder's input, symmetric, on `bits` (2..=16, validated) bits.
#[inline]
pub(crate) fn quantize_wide(r: f32, bits: u8) -> i16 {
    let limit = (1i32 << (bits.clamp(2, 16) - 1)) - 1;
    round_clamped(r).clamp(-limit, limit) as i16
}

/// `libm::roundf(r).clamp(-65536.0, 65536.0) as i32`, bit for bit, in integer arithmetic.
///
/// An FPU-less core would otherwise spend a soft-float add, four soft-float compares
/// and a conversion on every input sample. Clamped before the cast: a huge input must
/// saturate, not overflow the add of the zero point.
#[inline]
fn round_clamped(r: f32) -> i32 {
    let bits = r.to_bits();
    let exp = (bits >> 23) & 0xff;
    let magnitude = match exp {
        0xff if bits & 0x7f_ffff != 0 => return 0, // NaN
        0..=125 => 0,                              // |r| < 0.5 (and subnormals, ±0)
        126..=142 => {
            // |r| = mantissa · 2^(exp - 150), with 7 < 150 - exp <= 24: add half, shift.
            let mantissa = (bits & 0x7f_ffff) | 0x80_0000;
            let shift = 150 - exp;
            (((mantissa + (1 << (shift - 1))) >> shift) as i32).min(65536)
        }
        _ => 65536, // |r| >= 65536 (clamped), or infinite
    };
    if bits >> 31 == 0 {
        magnitude
    } else {
        -magnitude
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    fn reference(r: f32) -> i32 {
        libm::roundf(r).clamp(-65536.0, 65536.0) as i32
    }

    #[test]
    fn integer_rounding_matches_roundf_and_clamp() {
        let edges = [
            0.0f32,
            -0.0,
            0.5,
            -0.5,
            0.49999997,
            1.5,
            2.5,
            -2.5,
            255.5,
            256.0,
            256.5,
            -256.49,
            511.99,
            512.0,
            32767.5,
            -32767.4,
            65535.5,
            65536.0,
            -65536.5,
            131071.9,
            1e9,
            -1e30,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
            f32::MIN_POSITIVE,
            1e-45,
            f32::MAX,
            f32::MIN,
        ];
        for r in edges {
            assert_eq!(round_clamped(r), reference(r), "{r}");
        }
        // Every 61st bit pattern: all exponents, signs and mantissa shapes.
        for bits in (0..=u32::MAX).step_by(61) {
            let r = f32::from_bits(bits);
            assert_eq!(round_clamped(r), reference(r), "{bits:#010x}");
        }
    }

    #[test]
    fn wide_input_saturates_symmetrically() {
        assert_eq!(quantize_wide(1e9, 16), 32767);
        assert_eq!(quantize_wide(-1e9, 16), -32767);
        assert_eq!(quantize_wide(-32767.6, 16), -32767);
        assert_eq!(quantize_wide(100.5, 8), 101);
        assert_eq!(quantize_wide(-130.0, 8), -127);
        assert_eq!(quantize_wide(f32::NAN, 12), 0);
        assert_eq!(quantize_wide(3.0, 2), 1);
    }
}
