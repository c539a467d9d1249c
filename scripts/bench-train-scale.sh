#!/usr/bin/env bash
# Memory and time of `aecodec train` against the length of the recording: peak RSS, wall
# time, and wall time outside the training steps, for three-axis recordings of 10^6 and
# 10^8 samples (the bundled Daphnet ankle channels repeated with offsets and noise,
# trainer/examples/long_recording.rs).
#
# Usage: scripts/bench-train-scale.sh [SAMPLES ...]      (default: 1000000 100000000)
#
# Each run: aecodec train --data FILE --steps $STEPS --json (defaults otherwise: auto
# over PCA, DCT, the PCA/DCT switch, ae and dae, 64-sample windows every sample, refit), under
# /usr/bin/time -v. "outside steps" is the wall time minus the time the trainer spent in
# its training steps (`seconds.training_steps` of the JSON summary: minibatch gather,
# forward and backward pass, update). The CSV files go to $AECODEC_SCALE_DIR (default
# scale/ in the target directory; 10^8 samples are about 1.5 GB) and are kept for the
# next run.
#
# Environment:
#   AECODEC_SCALE_DIR  where the recordings and models go (default scale/ in the target
#                      directory: target/, or CARGO_TARGET_DIR or build.target-dir)
#   STEPS              training steps per fit (default 50)
#
# With the default sizes and steps the table also goes to its block of
# docs/benchmarks.md (scripts/doc_section.py; AECODEC_BENCH_DOCS=0 prints it instead).
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/target-dir.sh"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
TARGET_DIR="$(cargo_target_dir "$ROOT")"
DIR="${AECODEC_SCALE_DIR:-$TARGET_DIR/scale}"
STEPS="${STEPS:-50}"
mkdir -p "$DIR"
SIZES=("$@")
[ ${#SIZES[@]} -gt 0 ] || SIZES=(1000000 100000000)

command -v /usr/bin/time >/dev/null || { echo "needs /usr/bin/time (apt-get install time)" >&2; exit 1; }
cargo build --release -q -p aecodec-cli
cargo build --release -q -p aecodec-trainer --example long_recording
BIN="$TARGET_DIR/release/aecodec"

echo "date: $(date -u +%Y-%m-%d), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)" >&2
{
  echo "| samples | CSV | peak RSS | wall | training steps | outside steps | training windows |"
  echo "|---:|---:|---:|---:|---:|---:|---:|"
  for n in "${SIZES[@]}"; do
    csv="$DIR/long-$n.csv"
    [ -s "$csv" ] || "$TARGET_DIR/release/examples/long_recording" "$n" "$csv"
    json="$DIR/long-$n.json"
    log="$DIR/long-$n.time"
    /usr/bin/time -v -o "$log" "$BIN" train --data "$csv" --steps "$STEPS" --quiet --json \
      -o "$DIR/long-$n.aect" >"$json"
    python3 - "$csv" "$json" "$log" "$n" <<'EOF'
import json, os, re, sys
csv, js, log, n = sys.argv[1:]
j = json.load(open(js))
t = open(log).read()
rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1))
m = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)", t)
wall = int(m.group(1) or 0) * 3600 + int(m.group(2)) * 60 + float(m.group(3))
steps = j["seconds"]["training_steps"]
print(f"| {int(n):,} | {os.path.getsize(csv) / 1e9:.2f} GB | {rss_kb / 1e6:.2f} GB | {wall:.1f} s "
      f"| {steps:.1f} s | {wall - steps:.1f} s | {j['windows']['train']:,} |")
EOF
  done
} | tee "$DIR/table.md"
# The docs' table is the default sizes' and steps'.
if [[ $# == 0 && $STEPS == 50 ]]; then
  python3 scripts/doc_section.py train-scale "scripts/bench-train-scale.sh" "$DIR/table.md"
fi
