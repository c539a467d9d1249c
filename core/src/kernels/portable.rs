//! The portable full-int8 kernels: plain Rust loops that every target has, and the
//! reference the other back ends are tested against.

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
}
