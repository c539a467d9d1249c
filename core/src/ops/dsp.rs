//! The Cortex-M DSP-extension kernel of full-int8 layers (ARMv7E-M: M4, M7, M33 with DSP).
//!
//! SMLAD multiplies two pairs of 16-bit halves and adds both products to an accumulator:
//! two MACs per instruction. Weights stay 8-bit in flash, offset-binary in the blocked
//! layout; UXTB16 zero-extends bytes 0 and 2 (or, rotated, 1 and 3) of a weight word
//! into halves, so the layer's input is widened once per layer into the matching
//! `[x0, x2, x1, x3]` order.
#![allow(unsafe_code)]

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

/// Widens `x` (a multiple of 4 long) into `wide` for [`block4`]; `None` if the
/// scratch is too short or not word-aligned, and the portable kernel runs instead.
pub(crate) fn widen<'w>(x: &[i8], wide: &'w mut [i16]) -> Option<&'w [i16]> {
    let wide = wide.get_mut(..x.len())?;
    if wide.as_ptr() as usize % 4 != 0 {
        return None;
    }
    for (p, c) in wide.chunks_exact_mut(4).zip(x.chunks_exact(4)) {
        if let ([p0, p1, p2, p3], [c0, c1, c2, c3]) = (p, c) {
            (*p0, *p1, *p2, *p3) = ((*c0).into(), (*c2).into(), (*c1).into(), (*c3).into());
        }
    }
    Some(wide)
}

/// `dense::block4` with UXTB16 + SMLAD: per 16 MACs one LDRD of inputs, and per row one
/// LDR of 4 weights, two UXTB16 and two SMLAD (21 instructions, 1.31/MAC), the loop
/// unrolled twice. Integer sums in any order are exact, so the result is
/// bit-identical to the portable kernel's.
pub(crate) fn block4(w: &[u8], wx: &[i16]) -> [i32; 4] {
    let chunks = wx.len() / 4;
    if w.len() != 16 * chunks || wx.len() % 4 != 0 || wx.as_ptr() as usize % 4 != 0 {
        return [0; 4]; // unreachable: the caller sizes both slices
    }
    macro_rules! row {
        ($a:literal) => {
            concat!(
                "ldr {w}, [{wp}], #4\n",
                "uxtb16 {t}, {w}\n",
                "uxtb16 {w}, {w}, ror #8\n",
                "smlad {",
                $a,
                "}, {t}, {x0}, {",
                $a,
                "}\n",
                "smlad {",
                $a,
                "}, {w}, {x1}, {",
                $a,
                "}\n",
            )
        };
    }
    macro_rules! chunk {
        () => {
            concat!(
                "ldrd {x0}, {x1}, [{xp}], #8\n",
                row!("a0"),
                row!("a1"),
                row!("a2"),
                row!("a3"),
            )
        };
    }
    let [mut a0, mut a1, mut a2, mut a3] = [0i32; 4];
    // SAFETY: `wp` walks `w` (16 bytes per chunk, LDR takes any alignment on
    // ARMv7-M) and `xp` walks `wx` (8 bytes per chunk, word-aligned as LDRD needs),
    // both exactly `chunks` times, as checked above. Only registers are written.
    unsafe {
        core::arch::asm!(
            "tst {n}, #1",
            "beq 2f",
            chunk!(),
            "2:",
            "lsrs {n}, {n}, #1",
            "beq 4f",
            "3:",
            chunk!(),
            chunk!(),
            "subs {n}, {n}, #1",
            "bne 3b",
            "4:",
            n = inout(reg) chunks => _,
            wp = inout(reg) w.as_ptr() => _,
            xp = inout(reg) wx.as_ptr() => _,
            a0 = inout(reg) a0,
            a1 = inout(reg) a1,
            a2 = inout(reg) a2,
            a3 = inout(reg) a3,
            x0 = out(reg) _,
            x1 = out(reg) _,
            w = out(reg) _,
            t = out(reg) _,
            options(pure, readonly, nostack),
        );
    }
    [a0, a1, a2, a3]
}
