#!/usr/bin/env bash
# Size and time per uplink of the LoRaWAN payload codecs (`export --format lorawan-js`)
# in Node and QuickJS, for two models: the demo's 12-byte codec (out/demo/codec.js, made
# by `aecodec demo` if missing) and a codec trained with `--preset lorawan-console` on
# the bundled recording. Each codec's examples are checked first (tests/js/check.js).
#
#   scripts/bench-lorawan.sh [UPLINKS]      (default 200 timed uplinks per engine)
#
# Needs Node.js; installs tests/js's packages (npm ci) if missing.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
n="${1:-200}"
[[ -d tests/js/node_modules ]] || npm ci --prefix tests/js --no-audit --no-fund
cargo build --release -p aecodec-cli
bin="$root/target/release/aecodec"
[[ -f out/demo/codec.js ]] || "$bin" demo
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$bin" train --data data/daphnet_s06r02e0.csv \
    --columns ankle_horiz_fwd,ankle_vert,ankle_horiz_lateral \
    --preset lorawan-console --quiet -o "$work/console.aect" | tail -n 4
"$bin" export "$work/console.aect" --format lorawan-js -o "$work/console.js"
echo "node $(node --version), $(date -u +%Y-%m-%d), $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
for codec in out/demo/codec.js "$work/console.js"; do
    echo
    echo "== $codec: $(wc -c <"$codec") characters"
    node tests/js/check.js "$codec" "${codec%.js}.yaml" --bench "$n"
done
