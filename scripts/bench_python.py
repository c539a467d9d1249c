"""Python receiver throughput on the payloads of one blob; compared with the Rust
receiver's figures passed in (scripts/bench-python.sh runs both on the same payloads).

python bench_python.py BLOB PAYLOADS RUST_JSON
"""

import json
import sys
import time

import aecodec


def best(f, repeats):
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return min(times)


def main():
    blob, payloads_path, rust = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    m = aecodec.Model.load(blob)
    flat = open(payloads_path, "rb").read()
    n = m.payload_bytes
    payloads = [flat[i : i + n] for i in range(0, len(flat), n)]
    count = len(payloads)
    repeats = 5
    many = count / best(lambda: m.decode_many(payloads), repeats)
    one = count / best(lambda: [m.decode(p) for p in payloads], repeats)
    rust_one, rust_many = rust["decode_per_call"], rust["batch"]
    overhead_us = (1 / one - 1 / rust_one) * 1e6
    print(f"model: {m!r}")
    print(f"payloads: {count}")
    print("| receiver | decode_many / Batch (payloads/s) | one decode per call (payloads/s) |")
    print("|---|---:|---:|")
    print(f"| Rust core | {rust_many:,.0f} | {rust_one:,.0f} |")
    print(f"| Python package | {many:,.0f} | {one:,.0f} |")
    print(f"| Python / Rust | {many / rust_many:.2f}x | {one / rust_one:.2f}x |")
    print(f"per-call overhead of Python over Rust: {overhead_us:.2f} us")


if __name__ == "__main__":
    main()
