//! The full-int8 block kernel in Thumb-1 assembly, for Arm cores without the DSP
//! extension (Cortex-M0, M0+, M1, M3, M23), and the fallback of the DSP kernel.
//!
//! What the compiler makes of the portable loop on ARMv6-M is about 6 instructions per
//! MAC: LDRSB has only a register-offset form, so every weight costs a MOVS of its
//! offset and the accumulators spill. Here the offset-binary weights of format
//! version 2 load with LDRB's immediate offsets, each input (16 bits: int8 activations
//! are widened before a layer, `kernels::WIDEN_INT8`) is loaded with LDRH and
//! sign-extended once for four rows, and the four accumulators live in high registers
//! that ADD reaches: per 16 MACs, 4 × (2 + 4 × 3) instructions plus 4 of loop, 3.75 per
//! MAC.
#![allow(unsafe_code)]

/// One input column `k` of a 16-byte chunk: load and sign-extend the 16-bit `x[k]` (at
/// byte `$x`), then for each of the four rows load `u` (at `k`, `4 + k`, `8 + k`,
/// `12 + k`), multiply, accumulate.
macro_rules! column {
    ($x:literal, $k:literal, $r1:literal, $r2:literal, $r3:literal) => {
        concat!(
            "ldrh r2, [r1, #",
            $x,
            "]\n",
            "sxth r2, r2\n",
            "ldrb r3, [r0, #",
            $k,
            "]\n",
            "muls r3, r2, r3\n",
            "add r8, r3\n",
            "ldrb r3, [r0, #",
            $r1,
            "]\n",
            "muls r3, r2, r3\n",
            "add r10, r3\n",
            "ldrb r3, [r0, #",
            $r2,
            "]\n",
            "muls r3, r2, r3\n",
            "add r12, r3\n",
            "ldrb r3, [r0, #",
            $r3,
            "]\n",
            "muls r3, r2, r3\n",
            "add lr, r3\n",
        )
    };
}

/// `portable::block4` (Σ u·x of four rows over the blocked layout) in Thumb-1 assembly, for
/// 16-bit inputs: every full-int8 layer reads them on Cortex-M (`kernels::WIDEN_INT8`).
pub(crate) fn block4(w: &[u8], x: &[i16]) -> [i32; 4] {
    let chunks = x.len() / 4;
    if chunks == 0 || x.len() != 4 * chunks || w.len() != 16 * chunks {
        return super::portable::block4(w, x);
    }
    let end = x.as_ptr_range().end;
    let (a0, a1, a2, a3): (i32, i32, i32, i32);
    // SAFETY: r0 walks `w` 16 bytes per chunk and r1 walks `x` 8 bytes (4 inputs) per
    // chunk, from their starts until r1 reaches the end of `x`: exactly `chunks` (> 0)
    // times, as checked above, and every load is at offsets 0..16 of r0 or 0..8 of r1.
    // Only registers are written.
    unsafe {
        core::arch::asm!(
            // Thumb-1 asm may name high registers only as clobbers: the sums start
            // at zero in r8, r10, r12, lr and are moved to r0-r3 at the end.
            "movs r2, #0",
            "mov r8, r2",
            "mov r10, r2",
            "mov r12, r2",
            "mov lr, r2",
            "2:",
            column!("0", "0", "4", "8", "12"),
            column!("2", "1", "5", "9", "13"),
            column!("4", "2", "6", "10", "14"),
            column!("6", "3", "7", "11", "15"),
            "adds r0, #16",
            "adds r1, #8",
            "cmp r1, r4",
            "bne 2b",
            "mov r0, r8",
            "mov r1, r10",
            "mov r2, r12",
            "mov r3, lr",
            inout("r0") w.as_ptr() => a0,
            inout("r1") x.as_ptr() => a1,
            in("r4") end,
            out("r2") a2,
            out("r3") a3,
            out("r8") _,
            out("r10") _,
            out("r12") _,
            out("lr") _,
            options(pure, readonly, nostack),
        );
    }
    [a0, a1, a2, a3]
}
