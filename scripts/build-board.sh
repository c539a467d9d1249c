#!/usr/bin/env bash
# Builds a real-board firmware (thumbv7em-none-eabihf, release) with model blobs baked
# into flash; prints the ELF's path on stdout and its size (llvm-size, Berkeley format) on
# stderr, then checks that the ELF links no allocator (scripts/build-thumb.sh
# --check-no-alloc).
#
#   scripts/build-board.sh [MODEL_BLOB]                  the Nordic nRF52840-DK, frames on its UART
#   AECODEC_BOARD=rak4631 scripts/build-board.sh [MODEL_BLOB ...]
#                                                        RAK4631 WisBlock (nRF52840 + SX1262):
#                                                        a LoRaWAN node, a ladder of models
#     MODEL_BLOB  a blob from `aecodec export` for 3 channels (x, y, z); default: the
#                 fixture firmware/boards/nrf52840-dk/fixture/ankle-int8-full.aem. For the
#                 RAK4631, the ladder's blobs, smallest payload first.
#
# Uses the rustup target where it is installed, else Debian's rustc-web with
# -Zbuild-std=core (DESIGN.md, "Building for microcontrollers"), as scripts/build-qemu.sh.
# Build output goes to CARGO_TARGET_DIR (default: thumb-board/ in the workspace's target
# directory).
#
# AECODEC_FEATURES (e.g. "f32" or "int8-full,f32") replaces the board's default feature,
# int8-full, by the model precisions named: build.rs refuses a blob of a precision that
# is not built in, and says which feature to name.
set -euo pipefail
# On the Debian route (-Zbuild-std, RUSTC_BOOTSTRAP) core is rebuilt with panics that
# trap in place (panic = "immediate-abort"): no panic calls, locations or messages in
# flash. Panics are unreachable by design; if one happened it would be an undefined-
# instruction trap, which the board's HardFault handler handles like its panic handler.
# A rustup target's prebuilt core keeps the normal panic path (stable cargo cannot).
immediate_abort=(-Zpanic-immediate-abort --config 'profile.release.panic="immediate-abort"')
features=()
[[ -n "${AECODEC_FEATURES:-}" ]] && features=(--no-default-features --features "$AECODEC_FEATURES")
name="${AECODEC_BOARD:-nrf52840-dk}"
case "$name" in
    nrf52840-dk) [[ $# -le 1 ]] || { echo "usage: $0 [MODEL_BLOB]" >&2; exit 2; } ;;
    rak4631) ;;
    *) echo "build-board: AECODEC_BOARD is nrf52840-dk or rak4631, not $name" >&2; exit 2 ;;
esac
source "$(dirname "${BASH_SOURCE[0]}")/target-dir.sh"
target=thumbv7em-none-eabihf
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
board="$root/firmware/boards/$name"
blobs=("$@")
[[ ${#blobs[@]} -gt 0 ]] || blobs=("$root/firmware/boards/nrf52840-dk/fixture/ankle-int8-full.aem")
for b in "${blobs[@]}"; do
    [[ -f "$b" && "$b" != *,* ]] || { echo "build-board: no model blob at $b" >&2; exit 2; }
done
export AECODEC_MODEL="$(realpath "${blobs[0]}")"
AECODEC_MODELS="$(for b in "${blobs[@]}"; do realpath "$b"; done | paste -sd,)"
export AECODEC_MODELS
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$(cargo_target_dir "$root")/thumb-board}"
# Cargo caches rustc's target probes here, failures included; a probe that once failed
# (seen on a fresh clone when the QEMU test's nested build ran) would fail every later
# build. Probing again costs a fraction of a second.
rm -f "$CARGO_TARGET_DIR/.rustc_info.json"

start=$SECONDS
cd "$board"
if command -v rustup >/dev/null && rustup target list --installed 2>/dev/null | grep -qx "$target"; then
    route=rustup
    rustc_bin=rustc
    cargo build --release --locked "${features[@]}" --target "$target" >&2
else
    route=debian
    rustc_bin=/usr/bin/rustc
    for f in /usr/bin/rustc /usr/bin/cargo; do
        [[ -x "$f" ]] || { echo "build-board: $f missing; apt-get install -y rustc-web cargo-web rust-web-src lld-22 llvm-22" >&2; exit 1; }
    done
    sysroot_bin="$(rustc --print sysroot 2>/dev/null)/lib/rustlib/x86_64-unknown-linux-gnu/bin"
    command -v rust-lld >/dev/null || export PATH="$PATH:$sysroot_bin"
    RUSTC_BOOTSTRAP=1 RUSTC=/usr/bin/rustc /usr/bin/cargo build --release --locked "${features[@]}" \
        -Zbuild-std=core "${immediate_abort[@]}" --target "$target" >&2
fi
elf="$CARGO_TARGET_DIR/$target/release/aecodec-$name"
[[ -f "$elf" ]] || { echo "build-board: cargo succeeded but $elf is missing" >&2; exit 1; }
echo "build-board: $name route=$route rustc=$("$rustc_bin" -V | awk '{print $2}') models=$AECODEC_MODELS ($(cat "${blobs[@]}" | wc -c) B) built in $((SECONDS - start)) s" >&2

size_bin=""
for c in /usr/lib/llvm-22/bin/llvm-size llvm-size-22 llvm-size rust-size; do
    if command -v "$c" >/dev/null 2>&1; then size_bin="$c"; break; fi
done
if [[ -n "$size_bin" ]]; then
    # text = code + rodata (the model blob is in it), data = initialized RAM (also in flash), bss = zeroed RAM.
    "$size_bin" "$elf" >&2
else
    echo "build-board: no llvm-size found (apt-get install llvm-22) - size not shown" >&2
fi
RUSTC="$rustc_bin" "$root/scripts/build-thumb.sh" --check-no-alloc "$target" "$elf" >&2
echo "$elf"
