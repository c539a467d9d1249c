#!/usr/bin/env bash
# Encoder instructions per MAC on emulated Cortex-M4F (mps2-an386) and Cortex-M0
# (micro:bit), counted exactly by a QEMU TCG plugin; plus flash, static RAM and stack.
# Method and results: docs/mcu-bench.md.
#
#   scripts/bench-mcu.sh
#
# Inputs: the model blobs and samples that `cargo test -p aecodec-tests --release qemu`
# writes to qemu-fixtures/ in the target directory (target/, or CARGO_TARGET_DIR or
# build.target-dir; the test is run first if they are missing; set
# AECODEC_QEMU_FIXTURES to use another directory). Trains and exports nothing itself.
#
# For each combination the board is built twice with scripts/build-qemu.sh (into the
# target directory's thumb-bench/, so the test's thumb-qemu/ is left alone): the normal
# firmware, whose run gives flash, static RAM and stack high-water; and with
# AECODEC_BENCH=1, which first encodes 8 windows between marker functions
# (firmware/qemu/src/bench.rs) and is run with the plugin (firmware/qemu/bench/icount.c).
# The two builds must put the same bytes on the UART. Outputs (ELFs, plugin logs,
# per-address histograms, table.md) go to the target directory's bench-mcu/; the table
# also goes to its block of docs/benchmarks.md (scripts/doc_section.py;
# AECODEC_BENCH_DOCS=0 leaves the docs alone, and so does a run with AECODEC_BENCH_COMBOS).
#
# AECODEC_BENCH_COMBOS="BOARD:TARGET:BLOB[:REFINE[:SCRATCH]] ..." replaces the list of
# combinations below (BLOB relative to the fixtures or absolute; SCRATCH, default 256 for
# comparable RAM figures, for models with layers wider than 256 values, e.g. the demo's:
# `aecodec inspect` says how many).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/target-dir.sh"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
target_dir="$(cargo_target_dir "$root")"
fixtures="${AECODEC_QEMU_FIXTURES:-$target_dir/qemu-fixtures}"
out="$target_dir/bench-mcu"
mkdir -p "$out"
CARGO_TARGET_DIR_THUMB="$target_dir/thumb-bench"
llvm=/usr/lib/llvm-22/bin
for tool in qemu-system-arm gcc "$llvm/llvm-nm" "$llvm/llvm-size"; do
    command -v "$tool" >/dev/null || { echo "bench-mcu: $tool not found" >&2; exit 1; }
done
qemu_help="$(qemu-system-arm -help)"
grep -q -- '^-plugin' <<<"$qemu_help" ||
    { echo "bench-mcu: this qemu-system-arm has no TCG plugin support (-plugin)" >&2; exit 1; }

blobs=(pca-f32.aem ae-int8-weights.aem ae-int8-full.aem conv-f32.aem conv-int8-full.aem
    conv-f32-refine2.aem conv-int8-full-refine2.aem samples.bin)
for f in "${blobs[@]}"; do
    if [[ ! -f "$fixtures/$f" ]]; then
        [[ $fixtures == "$target_dir/qemu-fixtures" ]] ||
            { echo "bench-mcu: $fixtures/$f missing" >&2; exit 1; }
        echo "bench-mcu: $fixtures/$f missing; running the qemu test to write the fixtures" >&2
        cargo test -p aecodec-tests --release qemu >&2
        break
    fi
done
samples="$fixtures/samples.bin"

# The plugin: no QEMU headers needed.
plugin="$out/icount.so"
gcc -shared -fPIC -O2 -Wall -Wextra -o "$plugin" "$root/firmware/qemu/bench/icount.c"

# The compiler build-qemu.sh uses (same choice as there); counts depend on it.
if command -v rustup >/dev/null && rustup target list --installed 2>/dev/null | grep -qx thumbv7em-none-eabihf; then
    compiler="$(rustc -V) (rustup target)"
else
    compiler="$(/usr/bin/rustc -V) (Debian rustc-web, -Zbuild-std=core)"
fi

m4=(-cpu cortex-m4 -machine mps2-an386)
m0=(-M microbit)

# board:target:blob[:refine passes[:scratch]] (refining needs the full blob, which the
# QEMU test writes as *-refine2.aem; the conv-*.aem without it are encoder-only device
# blobs)
combos=(
    "M4:thumbv7em-none-eabihf:pca-f32.aem"
    "M4:thumbv7em-none-eabihf:ae-int8-weights.aem"
    "M4:thumbv7em-none-eabihf:ae-int8-full.aem"
    "M0:thumbv6m-none-eabi:ae-int8-full.aem"
    "M4:thumbv7em-none-eabihf:conv-f32.aem"
    "M4:thumbv7em-none-eabihf:conv-int8-full.aem"
    "M0:thumbv6m-none-eabi:conv-int8-full.aem"
    "M4:thumbv7em-none-eabihf:conv-f32-refine2.aem:2"
    "M4:thumbv7em-none-eabihf:conv-int8-full-refine2.aem:2"
    "M0:thumbv6m-none-eabi:conv-int8-full-refine2.aem:2"
)
# shellcheck disable=SC2206 # word splitting of the list is the point
[[ -n ${AECODEC_BENCH_COMBOS:-} ]] && combos=(${AECODEC_BENCH_COMBOS})

build() { # target blob bench(0/1) refine scratch -> ELF path on stdout
    if [[ $3 == 1 ]]; then
        AECODEC_BENCH=1 AECODEC_REFINE="$4" AECODEC_SCRATCH="$5" CARGO_TARGET_DIR="$CARGO_TARGET_DIR_THUMB" scripts/build-qemu.sh "$1" "$2" "$samples"
    else
        env -u AECODEC_BENCH AECODEC_REFINE="$4" AECODEC_SCRATCH="$5" CARGO_TARGET_DIR="$CARGO_TARGET_DIR_THUMB" scripts/build-qemu.sh "$1" "$2" "$samples"
    fi
}

run_qemu() { # board elf serial log [plugin args]
    local board=$1 elf=$2 serial=$3 log=$4
    shift 4
    local machine=("${m4[@]}")
    [[ $board == M0 ]] && machine=("${m0[@]}")
    timeout 600 qemu-system-arm "${machine[@]}" -display none -monitor none \
        -semihosting-config enable=on,target=native -serial "file:$serial" "$@" \
        -kernel "$elf" >"$log" 2>&1 || { cat "$log" >&2; echo "bench-mcu: QEMU failed on $elf" >&2; exit 1; }
}

field() { # name file -> the word after `name`
    tr -s ' \t' '\n\n' <"$2" | awk -v k="$1" 'p { print; exit } $0 == k { p = 1 }'
}

header="| board | model | precision | refine passes | MACs/encode | insns/encode | insns/MAC | inner loop insns/MAC | inner loop body | flash text | code | model | samples | static RAM | stack high-water |"
rule="|---|---|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|"
rows=()
for combo in "${combos[@]}"; do
    IFS=: read -r board target blobname refine scratch <<<"$combo"
    refine="${refine:-0}"
    scratch="${scratch:-256}"
    blob="$fixtures/$blobname"
    [[ $blobname == /* ]] && blob="$blobname"
    blobname="$(basename "$blobname")"
    model="${blobname%%-*}"
    tag="$board-${blobname%.aem}"
    [[ $refine == 0 ]] || tag="$tag-r$refine"
    echo "== $tag" >&2

    json="$(cargo run --release --quiet -p aecodec-cli -- inspect --json "$blob")"
    macs="$(sed -n 's/^ *"encoder_macs": *\([0-9]*\).*/\1/p' <<<"$json")"
    precision="$(sed -n 's/^ *"precision": *"\([^"]*\)".*/\1/p' <<<"$json")"

    # Normal firmware: sizes, static RAM, stack.
    elf="$(build "$target" "$blob" 0 "$refine" "$scratch")"
    cp "$elf" "$out/$tag.elf"
    run_qemu "$board" "$out/$tag.elf" "$out/$tag.serial" "$out/$tag.log"
    grep -q "packets 16" "$out/$tag.log" || { cat "$out/$tag.log" >&2; exit 1; }
    text="$("$llvm/llvm-size" "$out/$tag.elf" | awk 'NR == 2 { print $1 }')"
    model_bytes="$(field model_bytes "$out/$tag.log")"
    samples_bytes="$(field samples_bytes "$out/$tag.log")"
    static_ram="$(field static_ram_bytes "$out/$tag.log")"
    stack="$(field stack_high_water_bytes "$out/$tag.log")"

    # Benchmark firmware under the plugin.
    elf="$(build "$target" "$blob" 1 "$refine" "$scratch")"
    cp "$elf" "$out/$tag-bench.elf"
    begin="$("$llvm/llvm-nm" "$out/$tag-bench.elf" | awk '$3 == "aecodec_bench_begin" { print $1 }')"
    end="$("$llvm/llvm-nm" "$out/$tag-bench.elf" | awk '$3 == "aecodec_bench_end" { print $1 }')"
    [[ -n $begin && -n $end ]] || { echo "bench-mcu: marker symbols not found" >&2; exit 1; }
    run_qemu "$board" "$out/$tag-bench.elf" "$out/$tag-bench.serial" "$out/$tag-bench.log" \
        -plugin "$plugin,begin=0x$begin,end=0x$end,out=$out/$tag.icount,hist=$out/$tag.hist"
    cmp -s "$out/$tag.serial" "$out/$tag-bench.serial" ||
        { echo "bench-mcu: $tag: the benchmark build changed the UART output" >&2; exit 1; }
    board_macs="$(field encoder_macs "$out/$tag-bench.log")"
    [[ $board_macs == "$macs" ]] ||
        { echo "bench-mcu: $tag: board says $board_macs MACs, inspect says $macs" >&2; exit 1; }

    # Pair 0 is empty (marker cost); pairs 1.. are one encode each.
    read -r encodes per_encode lo hi < <(awk '
        $2 == "pair" && $3 == 0 { base = $5 }
        $2 == "pair" && $3 > 0 { n++; v = $5 - base; s += v; if (n == 1 || v < lo) lo = v; if (v > hi) hi = v }
        END { printf "%d %.0f %d %d\n", n, s / n, lo, hi }' "$out/$tag.icount")
    per_mac="$(awk -v a="$per_encode" -v m="$macs" 'BEGIN { printf "%.2f", a / m }')"
    # Refining runs the decoder too: per encoder MAC is not a kernel figure there.
    [[ $refine == 0 ]] || per_mac="(refining)"
    # Inner loop: the run of consecutive instructions sharing the highest execution count.
    read -r loop_insns loop_body loop_lo loop_hi < <(awk '
        function hex(s,   i, v) { v = 0; s = tolower(substr(s, 3)); for (i = 1; i <= length(s); i++) v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1; return v }
        { a[NR] = hex($1); c[NR] = $2 + 0; if (NR == 1 || c[NR] > c[best]) best = NR }
        END {
            i = best; while (i > 1 && c[i - 1] == c[best] && a[i] - a[i - 1] <= 4) i--
            j = best; while (j < NR && c[j + 1] == c[best] && a[j + 1] - a[j] <= 4) j++
            printf "%d %d 0x%x 0x%x\n", (j - i + 1) * c[best], j - i + 1, a[i], a[j]
        }' "$out/$tag.hist")
    # Per-function profile (instructions per encode, descending): where the rest goes.
    "$llvm/llvm-nm" -n -S -C "$out/$tag-bench.elf" | awk -v n="$encodes" '
        function hex(s,   i, v) { v = 0; s = tolower(s); sub(/^0x/, "", s); for (i = 1; i <= length(s); i++) v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1; return v }
        FNR == NR { if (NF >= 4 && $3 ~ /^[tTwW]$/ && hex($2) > 0) { k++; lo[k] = hex($1); hi[k] = lo[k] + hex($2); line = $0; sub(/^[^ ]+ [^ ]+ [^ ]+ /, "", line); name[k] = line }; next }
        { a = hex($1); while (j < k && lo[j + 1] <= a) j++; f = (j > 0 && a < hi[j]) ? name[j] : "?"; c[f] += $2 }
        END { for (f in c) printf "%12.1f  %s\n", c[f] / (n + 0 ? n : 1), f }' - "$out/$tag.hist" | sort -k1,1 -n -r >"$out/$tag.profile"
    loop_per_mac="$(awk -v l="$loop_insns" -v n="$encodes" -v m="$macs" 'BEGIN { printf "%.2f", l / (n * m) }')"
    [[ $refine == 0 ]] || loop_per_mac="(refining)"
    code=$((text - model_bytes - samples_bytes))

    echo "$tag: $encodes encodes, $per_encode insns/encode (min $lo max $hi), inner loop $loop_lo..$loop_hi ($loop_body insns)" >&2
    rows+=("| $board | $model | $precision | $refine | $macs | $per_encode | $per_mac | $loop_per_mac | $loop_body insns at $loop_lo | $text | $code | $model_bytes | $samples_bytes | $static_ram | $stack |")
done

{
    echo "Compiler: $compiler; QEMU: $(qemu-system-arm --version | head -1)"
    echo
    echo "$header"
    echo "$rule"
    printf '%s\n' "${rows[@]}"
} | tee "$out/table.md"
# Only the default combinations stand for the docs' table.
if [[ -z ${AECODEC_BENCH_COMBOS:-} ]]; then
    python3 "$root/scripts/doc_section.py" mcu "scripts/bench-mcu.sh" "$out/table.md"
fi
