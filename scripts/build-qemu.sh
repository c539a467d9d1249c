#!/usr/bin/env bash
# Builds the emulated-board firmware (firmware/qemu) for one target with a model blob and
# a samples file baked into flash; prints the ELF's path on stdout.
#
#   scripts/build-qemu.sh TARGET MODEL_BLOB SAMPLES_FILE
#     TARGET   thumbv7em-none-eabihf (mps2-an386, Cortex-M4F) or thumbv6m-none-eabi (micro:bit, Cortex-M0)
#     SAMPLES  little-endian i16 mg values, x y z interleaved
#
# Uses the rustup target where it is installed, else Debian's rustc-web with
# -Zbuild-std=core (DESIGN.md, "Building for microcontrollers"). Build output goes to
# CARGO_TARGET_DIR (default: thumb-qemu/ in the workspace's target directory), apart from
# the host and thumb-lib builds.
#
# AECODEC_REFINE=N makes the encoder refine each window's codes for N passes
# (Codec::encode_refined; needs a full blob, not an encoder-only one). Default 0.
# The window length and the codec's scratch come from the model blob (build.rs, with
# firmware/build-support/blob.rs): any 3-channel model builds. AECODEC_SCRATCH=N asks for
# N scratch elements instead, at least what the model needs (`aecodec inspect`);
# scripts/bench-mcu.sh asks for 256 for every model, so its RAM figures compare. Models
# that need more than 256 are for the mps2-an386 only: the micro:bit has 16 KiB of RAM.
#
# AECODEC_FEATURES (e.g. "int8-full") builds only the model precisions named instead of
# all three (the harness's default), as a product firmware would: a blob of another
# precision is then refused at start-up.
set -euo pipefail
# On the Debian route (-Zbuild-std, RUSTC_BOOTSTRAP) core is rebuilt with panics that
# trap in place (panic = "immediate-abort"): no panic calls, locations or messages in
# flash. Panics are unreachable by design; if one happened it would be an undefined-
# instruction trap, which the board's HardFault handler handles like its panic handler.
# A rustup target's prebuilt core keeps the normal panic path (stable cargo cannot).
immediate_abort=(-Zpanic-immediate-abort --config 'profile.release.panic="immediate-abort"')
features=()
[[ -n "${AECODEC_FEATURES:-}" ]] && features=(--no-default-features --features "$AECODEC_FEATURES")
[[ $# -eq 3 ]] || { echo "usage: $0 TARGET MODEL_BLOB SAMPLES_FILE" >&2; exit 2; }
source "$(dirname "${BASH_SOURCE[0]}")/target-dir.sh"
target=$1
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export AECODEC_MODEL="$(realpath "$2")" AECODEC_SAMPLES="$(realpath "$3")"
# Its own target dir: sharing build-thumb.sh's let a failed target probe cached by a
# nested build (under `cargo test`) break the later thumb step on a fresh clone.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$(cargo_target_dir "$root")/thumb-qemu}"
# Cargo caches rustc's target probes here, failures included; a probe that once failed
# (seen on a fresh clone when the QEMU test's nested build ran) would fail every later
# build. Probing again costs a fraction of a second.
rm -f "$CARGO_TARGET_DIR/.rustc_info.json"
cd "$root/firmware/qemu"
if command -v rustup >/dev/null && rustup target list --installed 2>/dev/null | grep -qx "$target"; then
    cargo build --release --quiet "${features[@]}" --target "$target" >&2
else
    sysroot_bin="$(rustc --print sysroot 2>/dev/null)/lib/rustlib/x86_64-unknown-linux-gnu/bin"
    command -v rust-lld >/dev/null || export PATH="$PATH:$sysroot_bin"
    build() { RUSTC_BOOTSTRAP=1 RUSTC=/usr/bin/rustc /usr/bin/cargo build --release --quiet "${features[@]}" -Zbuild-std=core "${immediate_abort[@]}" --target "$target" >&2; }
    # One retry with fresh probes: see the comment above on .rustc_info.json.
    build || { rm -f "$CARGO_TARGET_DIR/.rustc_info.json"; build; }
fi
echo "$CARGO_TARGET_DIR/$target/release/aecodec-qemu"
