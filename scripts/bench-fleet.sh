#!/usr/bin/env bash
# Cross-device suite: `aecodec train` with its defaults on pairs of real recordings whose
# test file comes from another device, person or placement than the training file, at
# several payload budgets. Then, without training again, the f32 blob codes the test file
# and transformed copies of it (the sensor turned, flipped, offset, its gain off by
# ±10 %), and the SNR of each is measured as `train` measures its test part. Prints
# markdown tables (the margin over the best classical codec, the test SNR and the worst
# window's, the SNR each transform costs) and writes results.jsonl, transforms.jsonl,
# table.md and, with matplotlib, fleet.png under the output folder.
#
#   scripts/bench-fleet.sh [OUT]           (default bench-fleet/ in the target directory)
#   AECODEC_FLEET_BUDGETS="6 8 12 16 24 32" AECODEC_FLEET_PAIRS="watch-people xsens-leg"
#   AECODEC_FLEET_STEPS=4000 (train's default)
#   AECODEC_FLEET_ARGS="--levels data": more `aecodec train` arguments for every run (the
#   docs' tables are written only without them)
#   AECODEC_FLEET_VENV (default ~/.cache/aecodec-fleet-venv): a venv with numpy (needed to
#   read one recording) and matplotlib (the plot), made on first use
#
# The recordings come from packages on the registries and the bundled Daphnet excerpt
# (scripts/fleet_data.py says which, and what each pair is); the recordings kept for an
# independent check are never used. The docs' table (docs/fleet.md) is written only by a
# run with the defaults.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/target-dir.sh"
cd "$(dirname "${BASH_SOURCE[0]}")/.."
TARGET_DIR="$(cargo_target_dir .)"
OUT="${1:-$TARGET_DIR/bench-fleet}"
BUDGETS="${AECODEC_FLEET_BUDGETS:-6 8 12 16 24 32}"
STEPS="${AECODEC_FLEET_STEPS:-4000}"
mkdir -p "$OUT"
began=$SECONDS

# numpy reads the smartwatch recording (a pickled dict); matplotlib draws the plot. Both
# live in a venv outside the repository, made on first use.
VENV="${AECODEC_FLEET_VENV:-$HOME/.cache/aecodec-fleet-venv}"
if [[ ! -x "$VENV/bin/python" ]] || ! "$VENV/bin/python" -c 'import numpy' 2>/dev/null; then
    python3 -m venv "$VENV" && "$VENV/bin/pip" install -q numpy
fi
if ! "$VENV/bin/python" -c 'import matplotlib' 2>/dev/null; then
    "$VENV/bin/pip" install -q matplotlib ||
        echo "bench-fleet: could not install matplotlib; the table is written without the plot" >&2
fi
"$VENV/bin/python" scripts/fleet_data.py "$OUT/data"
cargo build --release -q -p aecodec-cli
BIN="$TARGET_DIR/release/aecodec"
RESULTS="$OUT/results.jsonl"
TRANSFORMS="$OUT/transforms.jsonl"
WORK="$OUT/work"
LOG="$OUT/log.txt"
mkdir -p "$WORK"
: > "$RESULTS.tmp"
: > "$TRANSFORMS.tmp"
: > "$LOG"
while IFS=$'\t' read -r name window group note source; do
    if [[ -n "${AECODEC_FLEET_PAIRS:-}" && " $AECODEC_FLEET_PAIRS " != *" $name "* ]]; then continue; fi
    dir="$OUT/data/$name"
    for b in $BUDGETS; do
        start=$SECONDS
        model="$OUT/$name-$b.aect"
        # shellcheck disable=SC2086 # AECODEC_FLEET_ARGS is a list of arguments
        # A pair whose training file holds several people is validated by person.
        grouped=()
        if [[ $group != - ]]; then grouped=(--group-column "$group"); fi
        json="$("$BIN" train --data "$dir/train.csv" --test "$dir/test.csv" --window "$window" "${grouped[@]}" ${AECODEC_FLEET_ARGS:-} \
            --payload-bytes "$b" --steps "$STEPS" --quiet --json -o "$model")"
        python3 -c 'import json,sys; j=json.loads(sys.argv[3]); j["pair"]=sys.argv[1]; j["budget"]=int(sys.argv[2]); print(json.dumps(j))' \
            "$name" "$b" "$json" >> "$RESULTS.tmp"
        # The transforms: no training, the shipped model's f32 blob with encode's default
        # (refining) encoder, as train's test figure.
        blob="$WORK/$name-$b.aem"
        "$BIN" export "$model" --precision f32 -o "$blob" >> "$LOG" 2>&1
        for test in "$dir"/test.csv "$dir"/test-*.csv; do
            t="$(basename "$test" .csv)"
            t="${t#test}"; t="${t#-}"; t="${t:-none}"
            "$BIN" encode --model "$blob" --data "$test" --format hex -o "$WORK/payloads.hex" >> "$LOG" 2>&1
            "$BIN" decode --model "$blob" -i "$WORK/payloads.hex" --format hex --keep-duplicates \
                -o "$WORK/decoded.csv" >> "$LOG" 2>&1
            python3 scripts/fleet_snr.py "$test" "$WORK/decoded.csv" "$window" "$t" |
                python3 -c 'import json,sys; j=json.loads(sys.stdin.read()); j["pair"]=sys.argv[1]; j["budget"]=int(sys.argv[2]); j["transform"]=j.pop("name"); print(json.dumps(j))' \
                    "$name" "$b" >> "$TRANSFORMS.tmp"
        done
        rm -f "$WORK/payloads.hex" "$WORK/decoded.csv"
        echo "$name ${b} B: $((SECONDS - start)) s" >&2
    done
done < "$OUT/data/pairs.tsv"
mv "$RESULTS.tmp" "$RESULTS"
mv "$TRANSFORMS.tmp" "$TRANSFORMS"
PY=python3
if "$VENV/bin/python" -c 'import matplotlib' 2>/dev/null; then PY="$VENV/bin/python"; fi
minutes=$(( (SECONDS - began + 30) / 60 ))
"$PY" scripts/fleet_table.py "$RESULTS" "$TRANSFORMS" "$OUT/data/pairs.tsv" "$OUT" "$STEPS" "$minutes"
# The docs' table is the whole suite's at the default steps and budgets.
if [[ -z ${AECODEC_FLEET_PAIRS:-} && -z ${AECODEC_FLEET_BUDGETS:-} && -z ${AECODEC_FLEET_ARGS:-} && $STEPS == 4000 ]]; then
    AECODEC_BENCH_DOC=docs/fleet.md \
        python3 scripts/doc_section.py fleet "scripts/bench-fleet.sh" "$OUT/table.md"
fi
