//! Chooses the full-int8 kernel for the target (cfgs used by `src/ops`):
//! - `aecodec_thumb1`: Arm, ARMv6 or later (SXTB): the Thumb-1 assembly kernel;
//! - `aecodec_dsp`: also the DSP extension (UXTB16, SMLAD) and little-endian (the kernel
//!   pairs bytes as a little-endian word load lays them out): the SMLAD kernel.
//!
//! Everything else runs the portable Rust kernel; all three give the same bits.
fn main() {
    println!("cargo:rustc-check-cfg=cfg(aecodec_thumb1)");
    println!("cargo:rustc-check-cfg=cfg(aecodec_dsp)");
    let var = |k: &str| std::env::var(k).unwrap_or_default();
    let features = var("CARGO_CFG_TARGET_FEATURE");
    let has = |f: &str| features.split(',').any(|x| x == f);
    if var("CARGO_CFG_TARGET_ARCH") == "arm" && has("v6") {
        println!("cargo:rustc-cfg=aecodec_thumb1");
        if has("dsp") && var("CARGO_CFG_TARGET_ENDIAN") == "little" {
            println!("cargo:rustc-cfg=aecodec_dsp");
        }
    }
}
