//! The Cortex-M DSP-extension kernel of full-int8 layers (ARMv7E-M: M4, M7, M33 with DSP).
//!
//! SMLAD multiplies two pairs of 16-bit halves and adds both products to an accumulator:
//! two MACs per instruction. Weights stay 8-bit in flash, offset-binary in the blocked
//! layout; UXTB16 zero-extends bytes 0 and 2 (or, rotated, 1 and 3) of a weight word
//! into halves, so the layer's input is widened once per layer into the matching
//! `[x0, x2, x1, x3]` order.
#![allow(unsafe_code)]

use super::IntIn;

/// Scratch of the DSP kernel: a layer's input widened to 16-bit pairs in UXTB16
/// order, `[x0, x2, x1, x3]` per four inputs, word-aligned for LDRD.
#[repr(C, align(8))]
pub(crate) struct Wide<const N: usize>([i16; N]);

impl<const N: usize> Wide<N> {
    pub(crate) const fn new() -> Self {
        Wide([0; N])
    }
    pub(crate) fn slice(&mut self) -> &mut [i16] {
        &mut self.0
    }
}

/// Widens `x` (a multiple of 4 long) into `wide` for [`block4`] and sums it; `None` if
/// the scratch is too short or not word-aligned, and the Thumb-1 kernel runs instead.
pub(crate) fn widen<'w, X: IntIn>(x: &[X], wide: &'w mut [i16]) -> Option<(&'w [i16], i32)> {
    let wide = wide.get_mut(..x.len())?;
    if wide.as_ptr() as usize % 4 != 0 {
        return None;
    }
    let mut sum = 0i32;
    for (p, c) in wide.chunks_exact_mut(4).zip(x.chunks_exact(4)) {
        if let ([p0, p1, p2, p3], &[c0, c1, c2, c3]) = (p, c) {
            // An input is int8, or at most 16 bits (`IntIn`): the casts keep its value.
            let [c0, c1, c2, c3] = [c0.get(), c1.get(), c2.get(), c3.get()];
            (*p0, *p1, *p2, *p3) = (c0 as i16, c2 as i16, c1 as i16, c3 as i16);
            sum += c0 + c1 + c2 + c3;
        }
    }
    Some((wide, sum))
}

/// `portable::block4` with UXTB16 + SMLAD, over the input widened by [`widen`]. Per 16 MACs: one LDRD of inputs, two LDRD of
/// weights (two rows each), and per row two UXTB16 and two SMLAD: 19 instructions, the
/// loop unrolled four times (78 per 64 MACs, 1.22/MAC). LDRD needs word-aligned weights, which
/// [`crate::write_blob`] arranges relative to the blob's start; for a blob placed at an
/// odd address it returns `None`, and the Thumb-1 kernel runs instead.
/// Integer sums in any order are exact, so the result is bit-identical to the portable
/// kernel's. The encoder's 16-bit first-layer input takes the same path: SMLAD
/// multiplies 16-bit halves, which the widened input already is. Out of line: the
/// layers with and without requantization share one copy in flash, for a call per
/// block of 4 rows.
#[inline(never)]
pub(crate) fn block4(w: &[u8], wx: &[i16]) -> Option<[i32; 4]> {
    let chunks = wx.len() / 4;
    let aligned = w.as_ptr() as usize % 4 == 0 && wx.as_ptr() as usize % 4 == 0;
    if !aligned || w.len() != 16 * chunks || wx.len() % 4 != 0 {
        return None;
    }
    macro_rules! row {
        ($a:literal, $w:literal) => {
            concat!(
                "uxtb16 {t}, {",
                $w,
                "}\n",
                "uxtb16 {",
                $w,
                "}, {",
                $w,
                "}, ror #8\n",
                "smlad {",
                $a,
                "}, {t}, {x0}, {",
                $a,
                "}\n",
                "smlad {",
                $a,
                "}, {",
                $w,
                "}, {x1}, {",
                $a,
                "}\n",
            )
        };
    }
    macro_rules! chunk {
        () => {
            concat!(
                "ldrd {x0}, {x1}, [{xp}], #8\n",
                "ldrd {w0}, {w1}, [{wp}], #8\n",
                row!("a0", "w0"),
                row!("a1", "w1"),
                "ldrd {w0}, {w1}, [{wp}], #8\n",
                row!("a2", "w0"),
                row!("a3", "w1"),
            )
        };
    }
    let [mut a0, mut a1, mut a2, mut a3] = [0i32; 4];
    // Twelve registers: every general register LLVM lets inline assembly use on Thumb-2
    // (r0-r5, r8-r12, lr). A target that reserves r9 (`+reserve-r9`, RWPI) cannot build
    // this kernel; it would need a variant that loads the second weight word with LDR.
    // SAFETY: `wp` walks `w` (16 bytes per chunk) and `xp` walks `wx` (8 bytes per
    // chunk), both word-aligned as LDRD needs, exactly `chunks` times, as checked above.
    // Only registers are written.
    unsafe {
        core::arch::asm!(
            // chunks % 2, then chunks % 4 / 2, then the loop over chunks / 4.
            "tst {n}, #1",
            "beq 2f",
            chunk!(),
            "2:",
            "tst {n}, #2",
            "beq 3f",
            chunk!(),
            chunk!(),
            "3:",
            "lsrs {n}, {n}, #2",
            "beq 5f",
            "4:",
            chunk!(),
            chunk!(),
            chunk!(),
            chunk!(),
            "subs {n}, {n}, #1",
            "bne 4b",
            "5:",
            n = inout(reg) chunks => _,
            wp = inout(reg) w.as_ptr() => _,
            xp = inout(reg) wx.as_ptr() => _,
            a0 = inout(reg) a0,
            a1 = inout(reg) a1,
            a2 = inout(reg) a2,
            a3 = inout(reg) a3,
            x0 = out(reg) _,
            x1 = out(reg) _,
            w0 = out(reg) _,
            w1 = out(reg) _,
            t = out(reg) _,
            options(pure, readonly, nostack),
        );
    }
    Some([a0, a1, a2, a3])
}
