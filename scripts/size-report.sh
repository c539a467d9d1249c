#!/usr/bin/env bash
# Flash size of the board binaries, split into code, weights (the model blob) and the QEMU
# harness; method and results in docs/mcu-bench.md ("Code size").
#
#   scripts/size-report.sh
#
# Builds, one at a time:
#   * the nRF52840-DK board (scripts/build-board.sh, its fixture blob, int8-full only):
#     the product build;
#   * the emulated boards (scripts/build-qemu.sh) with the QEMU test's full-int8 blob,
#     M4 (thumbv7em-none-eabihf) and M0 (thumbv6m-none-eabi), twice each: as the QEMU
#     test builds them (all three precisions), and product-like with
#     AECODEC_FEATURES=int8-full (the precision of the blob only).
# Inputs: qemu-fixtures/ (ae-int8-full.aem, samples.bin) in the target directory
# (target/, or CARGO_TARGET_DIR or build.target-dir) from
# `cargo test -p aecodec-tests --release qemu`, run first if they are missing; set
# AECODEC_QEMU_FIXTURES to use another directory. Writes size-report/table.md there.
#
# Columns, in bytes (llvm-size's Berkeley `text` = .vector_table + .text + .rodata):
#   code     text - weights - samples: the code without weights (the firmware's budget
#            is 16 KB of it). It includes the vector table (256 B on the nRF52840, 1024 B on the
#            mps2-an386, 192 B on the micro:bit) and the harness.
#   harness  the QEMU harness's own out-of-line functions: semihosting output, core::fmt,
#            the simulated LIS3DH bus, `fail`. What of it is inlined into `main` is not
#            counted, so "code - harness" is an upper bound for the same firmware
#            without the harness.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/target-dir.sh"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
llvm=/usr/lib/llvm-22/bin
for tool in "$llvm/llvm-nm" "$llvm/llvm-size"; do
    [[ -x $tool ]] || { echo "size-report: $tool not found (apt-get install llvm-22)" >&2; exit 1; }
done
target_dir="$(cargo_target_dir "$root")"
fixtures="${AECODEC_QEMU_FIXTURES:-$target_dir/qemu-fixtures}"
out="$target_dir/size-report"
mkdir -p "$out"
blob="$fixtures/ae-int8-full.aem"
samples="$fixtures/samples.bin"
if [[ ! -f $blob || ! -f $samples ]]; then
    [[ $fixtures == "$target_dir/qemu-fixtures" ]] ||
        { echo "size-report: $blob or $samples missing" >&2; exit 1; }
    echo "size-report: fixtures missing; running the qemu test to write them" >&2
    cargo test -p aecodec-tests --release qemu >&2
fi
board_blob="$root/firmware/boards/nrf52840-dk/fixture/ankle-int8-full.aem"

harness_re='core::fmt|cortex_m_semihosting|aecodec_qemu::fail|sensor::sim::'

row() { # name features elf weights samples
    local name=$1 features=$2 elf=$3 weights=$4 samples=$5 text vt harness code
    text="$("$llvm/llvm-size" "$elf" | awk 'NR == 2 { print $1 }')"
    vt="$("$llvm/llvm-size" -A "$elf" | awk '$1 == ".vector_table" { print $2 }')"
    harness="$("$llvm/llvm-nm" -S -C --radix=d "$elf" |
        awk -v re="$harness_re" '$3 ~ /^[tT]$/ && $0 ~ re { s += $2 } END { print s + 0 }')"
    code=$((text - weights - samples))
    printf '| %s | %s | %d | %d | %d | **%d** | %d | %d | %d |\n' \
        "$name" "$features" "$text" "$weights" "$samples" "$code" "$vt" "$harness" $((code - harness))
}

rows=()
echo "== nRF52840-DK (product build)" >&2
elf="$(CARGO_TARGET_DIR="$target_dir/thumb-board" scripts/build-board.sh "$board_blob")"
cp "$elf" "$out/nrf52840-dk.elf"
rows+=("$(row "nRF52840-DK (M4F)" "int8-full" "$out/nrf52840-dk.elf" "$(stat -c %s "$board_blob")" 0)")

for combo in "M4 (mps2-an386)@thumbv7em-none-eabihf" "M0 (micro:bit)@thumbv6m-none-eabi"; do
    name="${combo%%@*}"
    target="${combo##*@}"
    for features in "" int8-full; do
        tag="qemu-$target${features:+-$features}"
        echo "== $tag" >&2
        elf="$(AECODEC_FEATURES="$features" CARGO_TARGET_DIR="$target_dir/thumb-size" \
            scripts/build-qemu.sh "$target" "$blob" "$samples")"
        cp "$elf" "$out/$tag.elf"
        rows+=("$(row "QEMU $name" "${features:-all (as the QEMU test)}" "$out/$tag.elf" \
            "$(stat -c %s "$blob")" "$(stat -c %s "$samples")")")
    done
done

{
    echo "Compiler: $(/usr/bin/rustc -V 2>/dev/null || rustc -V); command: scripts/size-report.sh"
    echo
    echo "| binary | precisions built | flash text | weights | samples | code | of which vector table | of which harness | code − harness |"
    echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
    printf '%s\n' "${rows[@]}"
} | tee "$out/table.md"
