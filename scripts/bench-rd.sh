#!/usr/bin/env bash
# Rate-distortion suite: `aecodec train` with its defaults on real recordings that are not
# the bundled one, at several payload budgets, scored on each recording's test part (the
# dataset's own test file where it has one, else the test blocks of the split). Prints a
# markdown table of the learned codec's margin over the best classical codec (PCA or DCT
# at the same payload bytes, fit on the same windows) in f32 and in full-int8, and
# writes results.jsonl, table.md and rate-distortion.png under the output folder.
#
#   scripts/bench-rd.sh [OUT]            (default bench-rd/ in the target directory)
#   AECODEC_RD_BUDGETS="6 8 12 16 24 32" AECODEC_RD_DATASETS="ecg gunpoint" AECODEC_RD_STEPS=4000
#   AECODEC_RD_VENV (default ~/.cache/aecodec-rd-venv): a venv with matplotlib for the plot
#   AECODEC_RD_ARGS="--levels data": more `aecodec train` arguments for every run (the
#   docs' table is written only without them)
#
# The recordings come from packages on the registries (scripts/rd_data.py says which);
# The recordings kept for an independent check are never used.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/target-dir.sh"
cd "$(dirname "${BASH_SOURCE[0]}")/.."
TARGET_DIR="$(cargo_target_dir .)"
OUT="${1:-$TARGET_DIR/bench-rd}"
BUDGETS="${AECODEC_RD_BUDGETS:-6 8 12 16 24 32}"
STEPS="${AECODEC_RD_STEPS:-4000}"
mkdir -p "$OUT"
python3 scripts/rd_data.py "$OUT/data"
cargo build --release -q -p aecodec-cli
BIN="$TARGET_DIR/release/aecodec"
RESULTS="$OUT/results.jsonl"
refused=0
: > "$RESULTS.tmp"
while IFS=$'\t' read -r name mode window note; do
    if [[ -n "${AECODEC_RD_DATASETS:-}" && " $AECODEC_RD_DATASETS " != *" $name "* ]]; then continue; fi
    dir="$OUT/data/$name"
    args=()
    if [[ -f "$dir/train.csv" ]]; then
        args+=(--data "$dir/train.csv" --test "$dir/test.csv")
    else
        args+=(--data "$dir/data.csv")
    fi
    case "$mode" in
        rows) args+=(--rows) ;;
        rows/*) args+=(--rows --channels "${mode#rows/}") ;;   # C channels per row
        *) args+=(--window "$window") ;;
    esac
    for b in $BUDGETS; do
        start=$SECONDS
        # A run `train` refuses (e.g. a preset no decoder of these windows fits) is said
        # and left out of the tables; the others go on.
        # shellcheck disable=SC2086 # AECODEC_RD_ARGS is a list of arguments
        if ! json="$("$BIN" train "${args[@]}" ${AECODEC_RD_ARGS:-} --payload-bytes "$b" --steps "$STEPS" --quiet --json \
            -o "$OUT/$name-$b.aect" 2>"$OUT/$name-$b.err")"; then
            echo "$name ${b} B: refused: $(tail -n 1 "$OUT/$name-$b.err")" >&2
            refused=$((refused + 1))
            continue
        fi
        echo "$name ${b} B: $((SECONDS - start)) s" >&2
        python3 -c 'import json,sys; j=json.loads(sys.argv[3]); j["dataset"]=sys.argv[1]; j["budget"]=int(sys.argv[2]); print(json.dumps(j))' \
            "$name" "$b" "$json" >> "$RESULTS.tmp"
    done
done < "$OUT/data/datasets.tsv"
mv "$RESULTS.tmp" "$RESULTS"
# The plot needs matplotlib: a venv outside the repository, made on first use.
VENV="${AECODEC_RD_VENV:-$HOME/.cache/aecodec-rd-venv}"
if [[ ! -x "$VENV/bin/python" ]] || ! "$VENV/bin/python" -c 'import matplotlib' 2>/dev/null; then
    python3 -m venv "$VENV" && "$VENV/bin/pip" install -q matplotlib ||
        echo "bench-rd: could not install matplotlib; the table is written without the plot" >&2
fi
PY=python3
if "$VENV/bin/python" -c 'import matplotlib' 2>/dev/null; then PY="$VENV/bin/python"; fi
"$PY" scripts/rd_table.py "$RESULTS" "$OUT" "$STEPS"
# The docs' table is the whole suite's at the default steps and budgets, every run done.
if [[ $refused -gt 0 ]]; then
    echo "bench-rd: $refused run(s) refused (above): not in the tables" >&2
elif [[ -z ${AECODEC_RD_DATASETS:-} && -z ${AECODEC_RD_BUDGETS:-} && -z ${AECODEC_RD_ARGS:-} && $STEPS == 4000 ]]; then
    python3 scripts/doc_section.py rate-distortion "scripts/bench-rd.sh" "$OUT/table.md"
fi
