#!/usr/bin/env bash
# Payloads/s of the Python package's decode_many and of one decode per call, against the
# Rust core's Batch and Codec::decode on the same payloads, in the same run.
#
#   scripts/bench-python.sh [BLOB FRAMES]
#
# Default: the demo's 12-byte full-int8 codec and its frames (out/demo/, made by
# `aecodec demo` if missing), the payloads repeated to 10^5. Builds the wheel into a
# venv outside the repository ($AECODEC_PY_BENCH_VENV, default ~/.cache/aecodec-py-bench).
# With the default payloads the table also goes to its block of docs/benchmarks.md
# (scripts/doc_section.py; AECODEC_BENCH_DOCS=0 prints it instead).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
blob="${1:-out/demo/model-int8-full.aem}"
frames="${2:-out/demo/frames.bin}"
if [[ ! -f "$blob" || ! -f "$frames" ]]; then
    cargo run --release -p aecodec-cli -- demo
fi
venv="${AECODEC_PY_BENCH_VENV:-$HOME/.cache/aecodec-py-bench}"
[[ -x "$venv/bin/python" ]] || python3 -m venv "$venv"
"$venv/bin/pip" install --quiet numpy ./python
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# 10^5 payloads: the stream's payloads, round and round.
"$venv/bin/python" - "$frames" "$work/payloads.bin" <<'PY'
import sys, aecodec
dec = aecodec.FrameDecoder()
ps = dec.push(open(sys.argv[1], "rb").read())
assert ps, "no frames"
open(sys.argv[2], "wb").write(b"".join(ps[i % len(ps)] for i in range(100_000)))
PY
rust="$(AECODEC_BENCH_BLOB="$root/$blob" AECODEC_BENCH_PAYLOADS="$work/payloads.bin" \
    cargo bench --quiet -p aecodec-tests --bench receiver_throughput 2>/dev/null | tail -1)"
echo "date: $(date -u +%Y-%m-%d), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
"$venv/bin/python" scripts/bench_python.py "$blob" "$work/payloads.bin" "$rust" | tee "$work/table.md"
# The docs' table is the demo's codec's: a run on other payloads leaves the docs alone.
if [[ $# == 0 ]]; then
    python3 scripts/doc_section.py python "scripts/bench-python.sh" "$work/table.md"
fi
