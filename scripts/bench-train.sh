#!/usr/bin/env bash
# Training and decoder throughput of aecodec next to PyTorch, on the same model and machine:
# a 192-128-64-16-64-128-192 ReLU autoencoder, batch 256, MSE, Adam (the training
# benchmark of docs/benchmarks.md).
#
# Usage: scripts/bench-train.sh
#
# 1. cargo bench -p aecodec-tests --bench train_throughput   (ours: trainer + core)
# 2. a Python venv outside the repository with torch in it (created on first use), then
#    python scripts/bench_torch.py                              (PyTorch, same model)
# 3. both tables side by side with the ratios ours / PyTorch, also written to its block
#    of docs/benchmarks.md (scripts/doc_section.py; AECODEC_BENCH_DOCS=0 prints it instead).
# If torch cannot be installed or imported, says so, prints our figures alone and exits 0.
# Exits non-zero only if our own bench fails.
#
# Environment:
#   AECODEC_BENCH_VENV     venv for torch (default $HOME/.cache/aecodec-bench-venv)
#   AECODEC_BENCH_REPEATS  repeats per measurement (default 5); the median and min-max are shown
#   AECODEC_BENCH_SECS     seconds per measurement, at least (default 2)
#   AECODEC_BENCH_TORCH    set to 0 to skip PyTorch
#   PYTHON                 interpreter that creates the venv (default python3)
#
# Installing torch: the Linux x86-64 wheel from the default index is a CUDA build whose
# libtorch.so links libtorch_cuda.so and through it the CUDA runtime libraries, so the wheel
# alone (pip install --no-deps) does not import, even on a CPU-only machine (checked with
# torch 2.15.0+cu132: "libcudart.so.13: cannot open shared object file"). The script tries,
# in order, and stops at the first install whose `import torch` runs a training step on CPU:
#   a. the torch wheel with --no-deps plus its small pure-Python dependencies (enough for
#      a CPU-only wheel, should the default one ever become one);
#   b. then the native libraries torch's metadata requires on this platform, except triton
#      (torch.compile's GPU kernel compiler, unused here: 286 MB download, 1 GB installed);
#   c. then a plain `pip install torch` (everything).
# With torch 2.15.0, b works: about 2.3 GB downloaded and 4.3 GB installed, against 2.6 GB
# and 5.3 GB for c. pip's output goes to $AECODEC_BENCH_VENV/install.log.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

VENV="${AECODEC_BENCH_VENV:-$HOME/.cache/aecodec-bench-venv}"
PYTHON="${PYTHON:-python3}"
export AECODEC_BENCH_REPEATS="${AECODEC_BENCH_REPEATS:-5}"
export AECODEC_BENCH_SECS="${AECODEC_BENCH_SECS:-2}"

say() { printf '[bench-train] %s\n' "$*" >&2; }

case "$VENV" in
"$ROOT" | "$ROOT"/*)
    say "AECODEC_BENCH_VENV=$VENV is inside the repository; pick a directory outside it"
    exit 2
    ;;
esac

OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT

say "load before: $(uptime)"

# --- 1. ours ------------------------------------------------------------------------------
say "cargo bench -p aecodec-tests --bench train_throughput"
if ! AECODEC_BENCH_TSV="$OUT/ours.tsv" cargo bench -p aecodec-tests --bench train_throughput; then
    say "our bench failed"
    exit 1
fi
say "load after ours: $(uptime)"

# --- 2. PyTorch ---------------------------------------------------------------------------
VPY="$VENV/bin/python"
LOG="$VENV/install.log"

# True if torch imports and runs one training step on the CPU; prints its version.
torch_works() {
    "$VPY" - <<'EOF' 2>>"$LOG"
import warnings
warnings.filterwarnings("ignore", message=".*NumPy.*")
import torch
from torch import nn
m = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 4))
opt = torch.optim.Adam(m.parameters(), lr=1e-3)
x = torch.randn(8, 4)
loss = nn.functional.mse_loss(m(x), x)
loss.backward()
opt.step()
print(torch.__version__)
EOF
}

pip_install() {
    say "pip install $*"
    "$VPY" -m pip install --disable-pip-version-check "$@" >>"$LOG" 2>&1
}

# Requirements of the installed torch that apply here (markers evaluated), without triton.
torch_native_requirements() {
    "$VPY" - <<'EOF'
import importlib.metadata as md
from pip._vendor.packaging.requirements import Requirement
for line in md.requires("torch") or []:
    req = Requirement(line)
    if req.name.lower() == "triton":
        continue
    if req.marker is not None and not req.marker.evaluate({"extra": ""}):
        continue
    extras = "[" + ",".join(sorted(req.extras)) + "]" if req.extras else ""
    print(f"{req.name}{extras}{req.specifier}")
EOF
}

ensure_torch() {
    if [[ ! -x "$VPY" ]]; then
        say "creating venv $VENV"
        mkdir -p "$(dirname "$VENV")" && "$PYTHON" -m venv "$VENV" || return 1
    fi
    : >>"$LOG" || return 1
    torch_works >/dev/null && return 0
    say "installing torch into $VENV (log: $LOG)"
    # a. The wheel alone with its pure-Python dependencies.
    if pip_install --no-deps torch &&
        pip_install filelock typing-extensions sympy networkx jinja2 fsspec setuptools &&
        torch_works >/dev/null; then
        return 0
    fi
    # b. The native libraries it links, but not triton.
    local listed reqs=()
    if listed="$(torch_native_requirements 2>>"$LOG")" && [[ -n "$listed" ]]; then
        mapfile -t reqs <<<"$listed"
        if pip_install "${reqs[@]}" && torch_works >/dev/null; then
            return 0
        fi
    fi
    # c. Everything.
    pip_install torch && torch_works >/dev/null
}

TORCH_OK=0
if [[ "${AECODEC_BENCH_TORCH:-1}" == 0 ]]; then
    say "AECODEC_BENCH_TORCH=0: skipping PyTorch"
elif ! command -v "$PYTHON" >/dev/null 2>&1 && [[ ! -x "$VPY" ]]; then
    say "no $PYTHON to create the venv: skipping PyTorch"
elif ! ensure_torch; then
    say "could not install or import torch in $VENV (see $LOG); skipping PyTorch"
    tail -n 5 "$LOG" >&2 2>/dev/null || true
else
    say "torch $(torch_works) in $VENV"
    if "$VPY" scripts/bench_torch.py --tsv "$OUT/torch.tsv"; then
        TORCH_OK=1
    else
        say "scripts/bench_torch.py failed; skipping PyTorch"
    fi
fi
say "load after PyTorch: $(uptime)"

# --- 3. side by side ----------------------------------------------------------------------
[[ -f "$OUT/torch.tsv" && "$TORCH_OK" == 1 ]] || : >"$OUT/torch.tsv"
awk -F'\t' -v torch_ok="$TORCH_OK" -v nproc="$(nproc)" '
    FNR == 1 { file++ }
    file == 1 { ours[$1] = $0; next }
    { theirs[$1] = $0 }
    function fmt(line, metric,   f, n, d) {
        n = split(line, f, "\t")
        if (n < 5) return "–"
        d = (f[5] ~ /GFLOP/) ? 2 : 0
        return sprintf("%.*f (%.*f–%.*f)", d, f[2], d, f[3], d, f[4])
    }
    function med(line,   f) { split(line, f, "\t"); return f[2] }
    function best(line,   f) { split(line, f, "\t"); return f[4] }
    function show(label, a, b, unit,   r, rb, both) {
        both = torch_ok && (b in theirs) && (a in ours) && med(theirs[b]) > 0 && best(theirs[b]) > 0
        r = both ? sprintf("%.2f", med(ours[a]) / med(theirs[b])) : "–"
        rb = both ? sprintf("%.2f", best(ours[a]) / best(theirs[b])) : "–"
        printf "| %s | %s | %s | %s | %s | %s |\n", label, (a in ours) ? fmt(ours[a]) : "–", (torch_ok && (b in theirs)) ? fmt(theirs[b]) : "–", r, rb, unit
    }
    function val(arr, k,   f) { if (!(k in arr)) return "?"; split(arr[k], f, "\t"); return f[2] }
    END {
        tt = torch_ok ? val(theirs, "train_threads") : "2"
        ot = val(ours, "train_threads")
        print ""
        print "## aecodec vs PyTorch " (torch_ok ? val(theirs, "torch_version") : "(not run)") ", median (min–max) of " ENVIRON["AECODEC_BENCH_REPEATS"] " runs of >= " ENVIRON["AECODEC_BENCH_SECS"] " s"
        print "# command: scripts/bench-train.sh"
        print "| measurement | aecodec | PyTorch | ours / PyTorch (medians) | ours / PyTorch (best runs) | unit |"
        print "|---|---:|---:|---:|---:|---|"
        show("training, batch 256: ours " ot " threads, PyTorch " tt " threads", "train_samples_per_s", "train_samples_per_s", "samples/s")
        show("training, batch 256: ours " ot " threads, PyTorch " tt " threads", "train_gflops", "train_gflops", "GFLOP/s")
        show("training, batch 256: both 1 thread", "train1t_samples_per_s", "train1t_samples_per_s", "samples/s")
        show("training, batch 256: both 1 thread", "train1t_gflops", "train1t_gflops", "GFLOP/s")
        show("decoder, one vector per call, 1 thread", "dec1_vectors_per_s", "dec1_vectors_per_s", "vectors/s")
        show("decoder, 1,024 vectors (ours: 1,024 calls; PyTorch: one 1024x16 call), 1 thread", "dec1024_vectors_per_s", "dec1024_vectors_per_s", "vectors/s")
        show("decoder, one vector per call, 1 thread: ours full-int8, PyTorch f32", "dec1_int8_vectors_per_s", "dec1_vectors_per_s", "vectors/s")
        show("decoder, one vector per call, 1 thread: ours full-int8, PyTorch dynamic int8", "dec1_int8_vectors_per_s", "dec1_qint8_vectors_per_s", "vectors/s")
        show("decoder, 1,024 vectors, 1 thread: ours full-int8 (1,024 calls), PyTorch f32 (one call)", "dec1024_int8_vectors_per_s", "dec1024_vectors_per_s", "vectors/s")
        show("decoder, 1,024 vectors, 1 thread: ours full-int8 (one Batch call), PyTorch f32 (one call)", "dec1024_int8_batch_vectors_per_s", "dec1024_vectors_per_s", "vectors/s")
        show("decoder, 1,024 vectors, 1 thread: ours full-int8 (one Batch call), PyTorch dynamic int8 (one call)", "dec1024_int8_batch_vectors_per_s", "dec1024_qint8_vectors_per_s", "vectors/s")
        show("decoder, one vector per call, 1 thread: ours full-int8 with kernels capped at AVX2, PyTorch f32", "dec1_int8_avx2_vectors_per_s", "dec1_vectors_per_s", "vectors/s")
        show("decoder, 1,024 vectors, 1 thread: ours full-int8 (one Batch call) capped at AVX2, PyTorch f32 (one call)", "dec1024_int8_batch_avx2_vectors_per_s", "dec1024_vectors_per_s", "vectors/s")
        print "# load average (1, 5, 15 min): ours " val(ours, "load_before") " -> " val(ours, "load_after") (torch_ok ? "; PyTorch " val(theirs, "load_before") " -> " val(theirs, "load_after") : "") " on " nproc " cores"
        if (!torch_ok) print "# PyTorch was not run (see the messages above); our figures only."
    }
' "$OUT/ours.tsv" "$OUT/torch.tsv" | tee "$OUT/table.md"
# The docs' table compares with PyTorch: a run without it leaves the docs alone.
if [[ $TORCH_OK == 1 ]]; then
    cmd="AECODEC_BENCH_REPEATS=${AECODEC_BENCH_REPEATS:-5} AECODEC_BENCH_SECS=${AECODEC_BENCH_SECS:-2} scripts/bench-train.sh"
    # Its "# ..." lines become plain text above the table (the command is in the block's
    # first line).
    sed -e '/^# command:/d' -e 's/^#* //' "$OUT/table.md" >"$OUT/doc.md"
    python3 scripts/doc_section.py train "$cmd" "$OUT/doc.md"
fi
exit 0
