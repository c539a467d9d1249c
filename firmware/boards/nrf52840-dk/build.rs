//! Writes the nRF52840's memory.x, and bakes the model blob into flash: `AECODEC_MODEL`
//! (a blob from `aecodec export`; default: the fixture in `fixture/`).
//!
//! The blob is validated with the same core the board runs and the window and scratch
//! sizes come from it (firmware/build-support/blob.rs, shared with the QEMU harness), so
//! a blob the board would refuse fails the build, and any 3-channel model builds without
//! editing the source.

use std::env;
use std::fs;
use std::path::PathBuf;

#[path = "../../build-support/blob.rs"]
mod blob;

/// nRF52840 (no SoftDevice, no bootloader): 1 MiB flash at 0, 256 KiB RAM at 0x2000_0000.
const MEMORY_X: &str = "\
MEMORY
{
  FLASH : ORIGIN = 0x00000000, LENGTH = 1024K
  RAM   : ORIGIN = 0x20000000, LENGTH = 256K
}
";

fn main() {
    let out = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR"));
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));

    fs::write(out.join("memory.x"), MEMORY_X).expect("write memory.x");
    println!("cargo::rustc-link-search={}", out.display());

    println!("cargo::rerun-if-env-changed=AECODEC_MODEL");
    let model_path = match env::var_os("AECODEC_MODEL") {
        Some(p) => PathBuf::from(p),
        None => manifest.join("fixture/ankle-int8-full.aem"),
    };
    // Scratch: what the model needs.
    blob::bake(&model_path, &out, None, "scripts/build-board.sh");
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-changed=../../build-support/blob.rs");
}
