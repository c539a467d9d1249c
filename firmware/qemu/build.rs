//! Picks the board from the target, and bakes the model blob and the recorded samples
//! into flash: `AECODEC_MODEL` (a blob from `aecodec export`) and `AECODEC_SAMPLES`
//! (little-endian i16 mg values, x y z interleaved).
//!
//! As for the nRF52840 board (firmware/build-support/blob.rs, shared with it), the blob
//! is validated with the same core the board runs, and the window and scratch sizes come
//! from it.

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::PathBuf;

#[path = "../build-support/blob.rs"]
mod blob;

fn main() {
    let out = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR"));
    let target = env::var("TARGET").expect("TARGET");
    println!("cargo::rustc-check-cfg=cfg(board, values(\"mps2_an386\", \"microbit\"))");
    let (board, memory) = if target.starts_with("thumbv6m") {
        // nRF51822 (micro:bit v1): 256 KiB flash at 0, 16 KiB RAM at 0x2000_0000.
        ("microbit", "MEMORY { FLASH : ORIGIN = 0x00000000, LENGTH = 256K\n RAM : ORIGIN = 0x20000000, LENGTH = 16K }\n")
    } else {
        // MPS2 AN386: 4 MiB code memory at 0, 4 MiB RAM at 0x2000_0000.
        ("mps2_an386", "MEMORY { FLASH : ORIGIN = 0x00000000, LENGTH = 4096K\n RAM : ORIGIN = 0x20000000, LENGTH = 4096K }\n")
    };
    println!("cargo::rustc-cfg=board=\"{board}\"");

    // `AECODEC_BENCH=1` compiles in src/bench.rs (instruction counts between markers,
    // scripts/bench-mcu.sh); without it the firmware is the normal one.
    println!("cargo::rustc-check-cfg=cfg(aecodec_bench)");
    println!("cargo::rerun-if-env-changed=AECODEC_BENCH");
    if env::var("AECODEC_BENCH").is_ok_and(|v| v == "1") {
        println!("cargo::rustc-cfg=aecodec_bench");
    }
    fs::write(out.join("memory.x"), memory).expect("memory.x");
    println!("cargo::rustc-link-search={}", out.display());

    // `AECODEC_REFINE=N`: the encoder refines each window's codes for N passes
    // (`Pipeline::set_refine`; needs a full blob). Default 0, the plain encoder.
    // `AECODEC_SCRATCH=N`: the codec's scratch elements, at least the model's widest
    // layer (`aecodec inspect`). Default: what the model needs; scripts/bench-mcu.sh
    // asks for 256 so that its RAM and stack figures compare across models. The
    // micro:bit's 16 KiB of RAM holds no more than 256.
    let number = |var: &str| -> Option<usize> {
        println!("cargo::rerun-if-env-changed={var}");
        env::var(var)
            .ok()
            .filter(|v| !v.is_empty())
            .map(|v| v.parse().unwrap_or_else(|_| panic!("{var}: a number")))
    };
    let refine =
        u8::try_from(number("AECODEC_REFINE").unwrap_or(0)).expect("AECODEC_REFINE: 0..=255");
    fs::write(
        out.join("config.rs"),
        format!("/// Encoder refinement passes (AECODEC_REFINE).\nconst REFINE: u8 = {refine};\n"),
    )
    .expect("config.rs");

    for var in ["AECODEC_MODEL", "AECODEC_SAMPLES"] {
        println!("cargo::rerun-if-env-changed={var}");
    }
    let model = env::var_os("AECODEC_MODEL")
        .expect("set AECODEC_MODEL to a model blob (see scripts/build-qemu.sh)");
    blob::bake(
        model.as_ref(),
        &out,
        number("AECODEC_SCRATCH"),
        "scripts/build-qemu.sh",
    );

    let samples_path =
        env::var("AECODEC_SAMPLES").expect("set AECODEC_SAMPLES to a file of i16 LE samples");
    println!("cargo::rerun-if-changed={samples_path}");
    let bytes = fs::read(&samples_path).expect("read the samples");
    let mut src = format!(
        "/// Recorded samples, mg, x y z interleaved.\npub static SAMPLES: [i16; {}] = [",
        bytes.len() / 2
    );
    for c in bytes.chunks_exact(2) {
        let _ = write!(src, "{},", i16::from_le_bytes([c[0], c[1]]));
    }
    src.push_str("];\n");
    fs::write(out.join("samples.rs"), src).expect("samples.rs");
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-changed=../build-support/blob.rs");
}
