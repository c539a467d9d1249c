#!/usr/bin/env bash
# Host throughput of the core: payloads/s encoded and decoded by one thread, for each
# precision of the benchmark's 192 → 128 → 64 → 16 autoencoder
# (tests/benches/codec_throughput.rs), written to its block of docs/benchmarks.md
# (scripts/doc_section.py; AECODEC_BENCH_DOCS=0 prints it instead).
#
#   scripts/bench-host.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/target-dir.sh"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
out="$(cargo_target_dir "$root")/bench-host"
mkdir -p "$out"
cargo bench --quiet -p aecodec-tests --bench codec_throughput | tee "$out/raw.txt"
# The bench's own "# ..." lines become the text above the table.
sed -e '/^# command:/d' -e 's/^# //' "$out/raw.txt" >"$out/table.md"
python3 scripts/doc_section.py host-throughput "scripts/bench-host.sh" "$out/table.md"
