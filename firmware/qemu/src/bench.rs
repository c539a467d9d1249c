//! Instruction-count benchmark of the encoder, compiled only when the board is built
//! with `AECODEC_BENCH=1` (build.rs then sets `cfg(aecodec_bench)`); the normal firmware
//! does not contain it.
//!
//! Before the normal pipeline run, [`run`] encodes [`WINDOWS`] windows of the recorded
//! samples with [`Codec::encode`] (or `Codec::encode_refined` with `AECODEC_REFINE`
//! passes), each call between one [`aecodec_bench_begin`] /
//! [`aecodec_bench_end`] pair. QEMU has no cycle counter: the TCG plugin in
//! `firmware/qemu/bench/icount.c` counts the instructions executed between the two
//! markers' entry addresses, which `scripts/bench-mcu.sh` reads from the ELF. The first
//! pair is empty, so it measures what the markers themselves cost.
//!
//! The UART is not touched here, so the frames the board sends afterwards are the same
//! as without the benchmark.

use aecodec_core::{Codec, Meta, Model, Payload};
use core::hint::black_box;
use cortex_m_semihosting::hprintln;

// Values per window (x, y, z samples, as the pipeline feeds the model) and scratch
// elements, from the model blob (build.rs).
use crate::{INPUTS, SCRATCH};

/// Windows encoded between markers (one begin/end pair each).
pub const WINDOWS: usize = 8;

/// Marker: a measured region starts when this function is entered.
///
/// Never inlined and with a body the optimizer must keep (`black_box` is opaque to it),
/// distinct from [`aecodec_bench_end`]'s so the two are not merged into one address.
#[no_mangle]
#[inline(never)]
pub extern "C" fn aecodec_bench_begin() {
    black_box(0xB1u32);
}

/// Marker: a measured region ends when this function is entered.
#[no_mangle]
#[inline(never)]
pub extern "C" fn aecodec_bench_end() {
    black_box(0xE5u32);
}

/// One encode (refining the codes for `AECODEC_REFINE` passes), out of line so the
/// measured call is the same for every window.
#[inline(never)]
fn encode<const N: usize>(codec: &mut Codec<'_, N>, window: &[f32], meta: Meta) -> Option<Payload> {
    #[cfg(feature = "refine")]
    return codec.encode_refined(window, meta, crate::REFINE).ok();
    #[cfg(not(feature = "refine"))]
    codec.encode(window, meta).ok()
}

/// Encodes the first [`WINDOWS`] windows of `samples` (mg, x y z interleaved, as f32),
/// each between a marker pair, after one empty pair; prints a summary over semihosting.
#[inline(never)]
pub fn run(blob: &[u8], samples: &[i16]) {
    let model = match Model::from_bytes(blob) {
        Ok(m) => m,
        Err(_) => {
            hprintln!("aecodec-bench: model blob rejected");
            return;
        }
    };
    let mut codec = match Codec::<'_, SCRATCH>::new(&model) {
        Ok(c) => c,
        Err(_) => {
            hprintln!("aecodec-bench: model does not fit the scratch buffers");
            return;
        }
    };
    // Pair 0: nothing between the markers (their own cost).
    aecodec_bench_begin();
    aecodec_bench_end();
    let mut window = [0.0f32; INPUTS];
    let mut encoded = 0usize;
    let mut payload_bytes = 0usize;
    for (i, chunk) in samples.chunks_exact(INPUTS).take(WINDOWS).enumerate() {
        for (w, &s) in window.iter_mut().zip(chunk) {
            *w = f32::from(s);
        }
        let meta = Meta {
            sequence: i as u16,
            label: 0,
        };
        aecodec_bench_begin();
        let payload = encode(
            &mut codec,
            black_box(window.get(..model.input_dim()).unwrap_or(&[])),
            meta,
        );
        aecodec_bench_end();
        if let Some(p) = black_box(payload) {
            encoded += 1;
            payload_bytes = p.as_bytes().len();
        }
    }
    hprintln!(
        "aecodec-bench: encodes {} encoder_macs {} decoder_macs {} refine {} payload_bytes {} (marker pair 0 is empty)",
        encoded,
        model.encoder_macs(),
        model.decoder_macs(),
        crate::REFINE,
        payload_bytes
    );
}
