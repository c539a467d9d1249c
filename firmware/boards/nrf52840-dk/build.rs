//! Writes the nRF52840's memory.x, and bakes the model blob into flash: `AECODEC_MODEL`
//! (a blob from `aecodec export`; default: the fixture in `fixture/`).
//!
//! The blob is validated here with the same core the board runs, so a blob that the
//! board would refuse (it has no console to say why) fails the build instead, with the
//! core's message. The window and scratch sizes, which are const generics on the board,
//! come from the blob, so any 3-channel model builds without editing the source.

use std::env;
use std::fs;
use std::path::PathBuf;

use aecodec_core::Model;

/// The LIS3DH gives x, y, z: the model's input must be whole samples of 3 channels.
const CHANNELS: usize = 3;

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
    println!("cargo::rerun-if-changed={}", model_path.display());
    let blob = fs::read(&model_path).unwrap_or_else(|e| {
        panic!(
            "cannot read the model blob {} ({e}); set AECODEC_MODEL to a blob from `aecodec export`",
            model_path.display()
        )
    });
    let model = Model::from_bytes(&blob).unwrap_or_else(|e| {
        panic!(
            "the model blob {} is not valid for this firmware's core: {e}",
            model_path.display()
        )
    });
    // The build-dependency core has every precision; the board's has only those of its
    // cargo features, and would refuse this blob at start-up, where it cannot say why.
    let precision = model.precision();
    let feature = precision.feature();
    let env_name = format!("CARGO_FEATURE_{}", feature.to_uppercase().replace('-', "_"));
    if env::var_os(&env_name).is_none() {
        panic!(
            "the model blob {} is {precision:?}, which this board build leaves out; \
             build with `--features {feature}` (scripts/build-board.sh: AECODEC_FEATURES={feature})",
            model_path.display()
        );
    }
    if model.spec().quantizer.modes() > 1 && env::var_os("CARGO_FEATURE_SWITCHED").is_none() {
        panic!(
            "the model blob {} has a switched quantizer (the PCA/DCT switch), which this board \
             build leaves out; build with `--features switched` (scripts/build-board.sh: \
             AECODEC_FEATURES=\"int8-full switched\")",
            model_path.display()
        );
    }
    let inputs = model.input_dim();
    if inputs == 0 || !inputs.is_multiple_of(CHANNELS) {
        panic!(
            "the model {} takes {inputs} values per window, not a whole number of \
             {CHANNELS}-channel samples (x, y, z); train it with 3 columns",
            model_path.display()
        );
    }
    if model.label_count() > 0 {
        println!(
            "cargo::warning=the model is conditional ({} labels); the board sends label 0",
            model.label_count()
        );
    }
    fs::write(out.join("model.aem"), &blob).expect("copy the model blob");
    let consts = format!(
        "/// Values per window (`{samples}` samples of x, y, z), from the model blob.\n\
         pub const INPUTS: usize = {inputs};\n\
         /// Scratch elements per codec buffer, from the model blob.\n\
         pub const SCRATCH: usize = {scratch};\n\
         /// The model's fingerprint, as `aecodec inspect` shows it.\n\
         pub const FINGERPRINT: u32 = {fp:#010x};\n",
        samples = inputs / CHANNELS,
        scratch = model.scratch_needed().max(1),
        fp = model.fingerprint(),
    );
    fs::write(out.join("model_consts.rs"), consts).expect("write model_consts.rs");
    println!("cargo::rerun-if-changed=build.rs");
}
