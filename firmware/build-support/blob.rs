//! The model blob a board bakes into flash, shared by the boards' build scripts
//! (`firmware/qemu/build.rs`, `firmware/boards/*/build.rs`, which include this file with
//! `#[path]` and have `aecodec-core` as a build dependency).
//!
//! The blob is validated here with the same core the board runs, so a blob that the
//! board would refuse (it has no console to say why) fails the build instead, with the
//! core's message. The window and scratch sizes, which are const generics on the board,
//! come from the blob, so any 3-channel model builds without editing the source.

use std::env;
use std::fs;
use std::path::Path;

use aecodec_core::Model;

/// The LIS3DH gives x, y, z: the model's input must be whole samples of 3 channels.
const CHANNELS: usize = 3;

/// Checks the blob at `path` against the board's cargo features, copies it to
/// `out/model.aem` and writes `out/model_consts.rs`: `INPUTS` (values per window),
/// `SCRATCH` (scratch elements per codec buffer) and `FINGERPRINT`.
///
/// `scratch` is what the board asks for (`None`: what the model needs); less than the
/// model needs fails the build. `script` is the script that builds the board, named in
/// the messages for its `AECODEC_FEATURES`.
pub fn bake(path: &Path, out: &Path, scratch: Option<usize>, script: &str) {
    println!("cargo::rerun-if-changed={}", path.display());
    let blob = fs::read(path).unwrap_or_else(|e| {
        panic!(
            "cannot read the model blob {} ({e}); set AECODEC_MODEL to a blob from `aecodec export`",
            path.display()
        )
    });
    let model = Model::from_bytes(&blob).unwrap_or_else(|e| {
        panic!(
            "the model blob {} is not valid for this firmware's core: {e}",
            path.display()
        )
    });
    check_features(&model, path, script);
    let inputs = model.input_dim();
    if inputs == 0 || !inputs.is_multiple_of(CHANNELS) {
        panic!(
            "the model {} takes {inputs} values per window, not a whole number of \
             {CHANNELS}-channel samples (x, y, z); train it with 3 columns",
            path.display()
        );
    }
    let needed = model.scratch_needed().max(1);
    let scratch = scratch.unwrap_or(needed);
    if scratch < needed {
        panic!(
            "the model {} needs {needed} scratch elements (its widest layer), more than the \
             {scratch} asked for",
            path.display()
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
         /// Scratch elements per codec buffer: at least the model's widest layer.\n\
         pub const SCRATCH: usize = {scratch};\n\
         /// The model's fingerprint, as `aecodec inspect` shows it.\n\
         pub const FINGERPRINT: u32 = {fp:#010x};\n",
        samples = inputs / CHANNELS,
        fp = model.fingerprint(),
    );
    fs::write(out.join("model_consts.rs"), consts).expect("write model_consts.rs");
}

/// Panics, naming the cargo feature to add, if the board's core (built with this build's
/// features) would refuse `model` at start-up, where it cannot say why: the build-
/// dependency core has every feature.
pub fn check_features(model: &Model<'_>, path: &Path, script: &str) {
    let precision = model.precision();
    let feature = precision.feature();
    let env_name = format!("CARGO_FEATURE_{}", feature.to_uppercase().replace('-', "_"));
    if env::var_os(&env_name).is_none() {
        panic!(
            "the model blob {} is {precision:?}, which this board build leaves out; \
             build with `--features {feature}` ({script}: AECODEC_FEATURES={feature})",
            path.display()
        );
    }
    if aecodec_core::needs_switched(model.version())
        && env::var_os("CARGO_FEATURE_SWITCHED").is_none()
    {
        panic!(
            "the model blob {} has a switched quantizer (the PCA/DCT switch) or window levels \
             (format {}), which this board build leaves out; build with `--features switched` \
             ({script}: AECODEC_FEATURES=\"{feature} switched\")",
            path.display(),
            model.version()
        );
    }
}
