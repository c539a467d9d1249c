//! Chooses the full-int8 kernel for the target (cfgs used by `src/kernels`):
//! - `aecodec_thumb1`: Thumb code on ARMv6 or later (SXTB): the Thumb-1 assembly kernel;
//! - `aecodec_dsp`: also the DSP extension (UXTB16, SMLAD), Thumb-2 and little-endian
//!   (the kernel pairs bytes as a little-endian word load lays them out, and leaves the
//!   LDRD register pairs to the compiler, which only Thumb-2 allows): the SMLAD kernel;
//! - `aecodec_no_long_multiply`: no SMULL (ARMv6-M, ARMv8-M baseline, Thumb on v4T/v5):
//!   requantization builds the high product from 16-bit halves.
//!
//! Stable rustc does not report Arm target features such as `v6` or `dsp` to build
//! scripts, so the target's name decides, and the features (visible on nightly or with
//! RUSTC_BOOTSTRAP) only add cores the names do not cover. Everything else runs the
//! portable Rust kernel; all of them give the same bits.
fn main() {
    println!("cargo:rustc-check-cfg=cfg(aecodec_thumb1)");
    println!("cargo:rustc-check-cfg=cfg(aecodec_dsp)");
    println!("cargo:rustc-check-cfg=cfg(aecodec_no_long_multiply)");
    println!("cargo:rerun-if-changed=build.rs");
    let var = |k: &str| std::env::var(k).unwrap_or_default();
    let target = var("TARGET");
    let features = var("CARGO_CFG_TARGET_FEATURE");
    let has = |f: &str| features.split(',').any(|x| x == f);
    let named = |prefixes: &[&str]| prefixes.iter().any(|p| target.starts_with(p));
    if var("CARGO_CFG_TARGET_ARCH") != "arm" || !target.starts_with("thumb") {
        return;
    }
    let pre_v6 = named(&["thumbv4", "thumbv5"]);
    if named(&["thumbv6m", "thumbv8m.base"]) || pre_v6 {
        println!("cargo:rustc-cfg=aecodec_no_long_multiply");
    }
    if pre_v6 {
        return;
    }
    println!("cargo:rustc-cfg=aecodec_thumb1");
    let dsp = named(&["thumbv7em", "thumbv7neon"]) || (has("dsp") && has("thumb2"));
    if dsp && var("CARGO_CFG_TARGET_ENDIAN") == "little" {
        println!("cargo:rustc-cfg=aecodec_dsp");
    }
}
