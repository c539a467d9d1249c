#!/usr/bin/env python3
"""PyTorch reference for tests/benches/train_throughput.rs, on the same model and machine.

Model: 192 -> 128 -> 64 -> 16 -> 64 -> 128 -> 192 (ReLU hidden, identity latent and
output) as an nn.Sequential; MSELoss, Adam(lr=1e-3), batch 256, random N(0, 1) inputs
(the cost of a dense step does not depend on the values; the Rust bench feeds the
normalized Daphnet windows).

Measures, each REPEATS times for at least SECS seconds after a warm-up, and prints the
median and min-max:
- training samples/s and GFLOP/s (forward + backward + optimizer step per minibatch) with
  torch.set_num_threads(2) (the machine's cores; the trainer's default is 2 threads too),
  and with 1 thread, next to the trainer's one-thread figure;
- the decoder half (16 -> 64 -> 128 -> 192) under torch.inference_mode() with
  torch.set_num_threads(1): one 1x16 tensor per call, and 1024x16 tensors per call.

Run: scripts/bench-train.sh (creates the venv and runs this), or
     python scripts/bench_torch.py [--secs 2] [--repeats 5] [--tsv FILE]
"""

import argparse
import os
import statistics
import sys
import time
import warnings

# The wheel warns when NumPy is absent; nothing here uses NumPy.
warnings.filterwarnings("ignore", message=".*NumPy.*")

import torch  # noqa: E402
from torch import nn  # noqa: E402

BATCH = 256
DEC_BATCH = 1024
POOL_BATCHES = 8
LAYERS = [(192, 128), (128, 64), (64, 16), (16, 64), (64, 128), (128, 192)]
TRAIN_FLOP_PER_SAMPLE = 6 * sum(i * o for i, o in LAYERS)
DEC_FLOP_PER_VECTOR = 2 * sum(i * o for i, o in LAYERS[3:])


def build_model():
    mods = []
    for idx, (i, o) in enumerate(LAYERS):
        mods.append(nn.Linear(i, o))
        # ReLU after every layer but the latent (index 2) and the output (index 5).
        if idx not in (2, len(LAYERS) - 1):
            mods.append(nn.ReLU())
    return nn.Sequential(*mods)


def rate(secs, warmup, units, work):
    """Units per second of `work` run for at least `secs` after `warmup` calls."""
    for _ in range(warmup):
        work()
    start = time.perf_counter()
    calls = 0
    while time.perf_counter() - start < secs:
        work()
        calls += 1
    return calls * units / (time.perf_counter() - start)


def spread(values):
    return statistics.median(values), min(values), max(values)


def load_average():
    try:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "unknown"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--secs", type=float, default=float(os.environ.get("AECODEC_BENCH_SECS", 2.0)))
    ap.add_argument("--repeats", type=int, default=int(os.environ.get("AECODEC_BENCH_REPEATS", 5)))
    ap.add_argument("--train-threads", type=int, default=2)
    ap.add_argument("--tsv", help="also write `metric median min max unit` lines here")
    args = ap.parse_args()
    secs = max(args.secs, 0.1)
    repeats = max(args.repeats, 1)
    load_before = load_average()

    torch.manual_seed(1)
    model = build_model()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.MSELoss()
    pool = [torch.randn(BATCH, 192) for _ in range(POOL_BATCHES)]
    step = [0]

    def train_step():
        x = pool[step[0] % POOL_BATCHES]
        opt.zero_grad()
        loss = loss_fn(model(x), x)
        loss.backward()
        opt.step()
        step[0] += 1

    # Interleave the thread counts within each repeat, so that both see the same load.
    runs = {args.train_threads: [], 1: []}
    for _ in range(repeats):
        for threads in runs:
            torch.set_num_threads(threads)
            runs[threads].append(rate(secs, 20, BATCH, train_step))

    dec = build_model()[-5:]  # Linear(16,64) ReLU Linear(64,128) ReLU Linear(128,192)
    torch.set_num_threads(1)
    z1 = [torch.randn(1, 16) for _ in range(64)]
    zb = torch.randn(DEC_BATCH, 16)
    i = [0]

    def dec_one():
        dec(z1[i[0] % len(z1)])
        i[0] += 1

    # PyTorch's own int8 inference for Linear layers (int8 weights, activations quantized
    # per call, fbgemm/onednn kernels): the closest PyTorch counterpart of our full-int8 blob.
    try:
        qdec = torch.ao.quantization.quantize_dynamic(dec, {nn.Linear}, dtype=torch.qint8)
        with torch.inference_mode():
            qdec(zb)
    except Exception as e:  # noqa: BLE001 - any failure only drops these rows
        print(f"# dynamic int8 quantization unavailable: {e}", file=sys.stderr)
        qdec = None

    def qdec_one():
        qdec(z1[i[0] % len(z1)])
        i[0] += 1

    dec1, dec1024, qdec1, qdec1024 = [], [], [], []
    with torch.inference_mode():
        for _ in range(repeats):
            dec1.append(rate(secs, 1000, 1, dec_one))
            dec1024.append(rate(secs, 20, DEC_BATCH, lambda: dec(zb)))
            if qdec is not None:
                qdec1.append(rate(secs, 1000, 1, qdec_one))
                qdec1024.append(rate(secs, 20, DEC_BATCH, lambda: qdec(zb)))
    load_after = load_average()

    tsv = []

    def row(metric, label, s, unit, fmt):
        med, lo, hi = s
        print(f"| {label} | {med:{fmt}} | {lo:{fmt}} – {hi:{fmt}} | {100 * (hi - lo) / med:.1f} % | {unit} |")
        tsv.append(f"{metric}\t{med}\t{lo}\t{hi}\t{unit}")

    def scaled(s, k):
        return tuple(v * k for v in s)

    t = args.train_threads
    print(f"# PyTorch {torch.__version__} reference, 192-128-64-16-64-128-192 ReLU AE, same machine")
    print(f"# command: python scripts/bench_torch.py --secs {secs:g} --repeats {repeats}")
    print(f"# data: random N(0,1), {POOL_BATCHES} batches of {BATCH}, cycled; "
          f"{repeats} repeats of >= {secs:.1f} s each; load average before: {load_before}")
    print(f"# python {sys.version.split()[0]}, CPU capability {torch.backends.cpu.get_cpu_capability()}, "
          f"MKL-DNN {torch.backends.mkldnn.is_available()}")
    print()
    print(f"## Training (batch {BATCH}, MSELoss, Adam lr 1e-3)")
    print("| measurement | median | min – max | spread | unit |")
    print("|---|---:|---:|---:|---|")
    g = TRAIN_FLOP_PER_SAMPLE / 1e9
    row("train_samples_per_s", f"train step, {t} threads", spread(runs[t]), "samples/s", ".0f")
    row("train_gflops", f"train step, {t} threads", scaled(spread(runs[t]), g), "GFLOP/s", ".2f")
    row("train1t_samples_per_s", "train step, 1 thread", spread(runs[1]), "samples/s", ".0f")
    row("train1t_gflops", "train step, 1 thread", scaled(spread(runs[1]), g), "GFLOP/s", ".2f")
    print()
    print("## Decoder (16 -> 192, inference_mode), 1 thread")
    print("| measurement | median | min – max | spread | unit |")
    print("|---|---:|---:|---:|---|")
    d = DEC_FLOP_PER_VECTOR / 1e9
    row("dec1_vectors_per_s", "one 1x16 tensor per call", spread(dec1), "vectors/s", ".0f")
    row("dec1_gflops", "one 1x16 tensor per call", scaled(spread(dec1), d), "GFLOP/s", ".2f")
    row("dec1024_vectors_per_s", "one 1024x16 tensor per call", spread(dec1024), "vectors/s", ".0f")
    row("dec1024_gflops", "one 1024x16 tensor per call", scaled(spread(dec1024), d), "GFLOP/s", ".2f")
    if qdec is not None:
        row("dec1_qint8_vectors_per_s", "dynamic int8, one 1x16 tensor per call", spread(qdec1), "vectors/s", ".0f")
        row("dec1024_qint8_vectors_per_s", "dynamic int8, one 1024x16 tensor per call", spread(qdec1024), "vectors/s", ".0f")
    print()
    print(f"# load average after: {load_after}")
    tsv += [
        f"torch_version\t{torch.__version__}",
        f"train_threads\t{t}",
        f"load_before\t{load_before}",
        f"load_after\t{load_after}",
    ]
    if args.tsv:
        with open(args.tsv, "w", encoding="utf-8") as f:
            f.write("\n".join(tsv) + "\n")


if __name__ == "__main__":
    main()
