#!/usr/bin/env bash
# Size and time per uplink of the LoRaWAN payload codecs (`export --format lorawan-js`)
# in Node and QuickJS, and in ChirpStack's engine as ChirpStack runs a codec (a runtime
# per uplink, a 100 ms interrupt; tests/chirpstack), for two models: the demo's 12-byte
# codec (out/demo/codec.js, made by `aecodec demo` if missing) and a codec trained with
# `--preset lorawan-console` on the bundled recording. Each codec's examples are checked
# first (tests/js/check.js, and again by the ChirpStack harness).
#
#   scripts/bench-lorawan.sh [UPLINKS]      (default 200 timed uplinks per engine)
#
# Needs Node.js and a C compiler (QuickJS, for the harness); installs tests/js's packages
# (npm ci) if missing. With the default
# count the table also goes to its block of docs/benchmarks.md (scripts/doc_section.py;
# AECODEC_BENCH_DOCS=0 prints it instead).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/target-dir.sh"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
n="${1:-200}"
[[ -d tests/js/node_modules ]] || npm ci --prefix tests/js --no-audit --no-fund
cargo build --release -p aecodec-cli
bin="$(cargo_target_dir "$root")/release/aecodec"
cargo build --release --manifest-path tests/chirpstack/Cargo.toml
chirpstack="$(cargo_target_dir tests/chirpstack)/release/aecodec-chirpstack-js"
[[ -f out/demo/codec.js ]] || "$bin" demo
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$bin" train --data data/daphnet_s06r02e0.csv \
    --columns ankle_horiz_fwd,ankle_vert,ankle_horiz_lateral \
    --preset lorawan-console --quiet -o "$work/console.aect" | tail -n 4
"$bin" export "$work/console.aect" --format lorawan-js -o "$work/console.js"
echo "node $(node --version), $(date -u +%Y-%m-%d), $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
rows=()
for codec in out/demo/codec.js "$work/console.js"; do
    echo
    echo "== $codec: $(wc -c <"$codec") characters"
    node tests/js/check.js "$codec" "${codec%.js}.yaml" --bench "$n" | tee "$work/check.txt"
    # "bench ENGINE: ... (cold C ms), then W ms per uplink" -> "C / W ms" per engine.
    times() { sed -n "s/^bench $1: .*(cold \([0-9.]*\) ms), then \([0-9.]*\) ms per uplink.*/\1 \/ \2 ms/p" "$work/check.txt"; }
    # ChirpStack: every example, rounds until about UPLINKS uplinks per form.
    examples="$(grep -c '^    - description:' "${codec%.js}.yaml")"
    "$chirpstack" "$codec" "${codec%.js}.yaml" --rounds "$(( (n + examples - 1) / examples ))" --allow-slow |
        tee "$work/chirpstack.txt"
    # "chirpstack-FORM: ...; per uplink median M ms, max X ms over U uplinks; I interrupted ..."
    #   -> "M / X ms, I of U interrupted"
    cs() { sed -n "s/^chirpstack-$1: .*median \([0-9.]*\) ms, max \([0-9.]*\) ms over \([0-9]*\) uplinks; \([0-9]*\) interrupted.*/\1 \/ \2 ms, \4 of \3 interrupted/p" "$work/chirpstack.txt"; }
    label="demo's 12-byte codec (\`out/demo/codec.js\`)"
    [[ $codec == out/demo/codec.js ]] || label="\`train --preset lorawan-console\`, bundled recording"
    rows+=("| $label | $(wc -c <"$codec") | $(times node) | $(times quickjs) | $(cs module) | $(cs script) |")
done
{
    echo "Node $(node --version), QuickJS through quickjs-emscripten; cold: a new context evaluates the codec and decodes one uplink; warm: per uplink over $n more. ChirpStack: rquickjs 0.12.1 with ChirpStack's wrapper, a new runtime per uplink (as ChirpStack decodes), median / max over every example repeated to about $n uplinks, and the uplinks its 100 ms interrupt stopped; ES module (4.17 and later) and script (before)."
    echo
    echo "| codec | characters | Node cold / warm | QuickJS cold / warm | ChirpStack module | ChirpStack script |"
    echo "|---|---:|---:|---:|---:|---:|"
    printf '%s\n' "${rows[@]}"
} >"$work/table.md"
cat "$work/table.md"
# The docs' table is the default count's.
if [[ $n == 200 ]]; then
    python3 scripts/doc_section.py lorawan "scripts/bench-lorawan.sh" "$work/table.md"
fi
