"""Fixtures made with the `aecodec` command on the bundled recording: a PCA codec at
every precision, its payloads (hex and frames) and what the Rust decoder makes of them.

The binary is $AECODEC_BIN, else the workspace's release or debug build, in the target
directory cargo reports (CARGO_TARGET_DIR, a config's build.target-dir, or target/).
"""

import csv
import functools
import json
import os
import pathlib
import subprocess

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
DATA = ROOT / "data" / "daphnet_s06r02e0.csv"
COLUMNS = ["ankle_horiz_fwd", "ankle_vert", "ankle_horiz_lateral"]
# Each precision and the file suffix `aecodec export --precision all` gives it: its slug.
PRECISIONS = {p: p for p in ("f32", "int8-weights", "int8-full")}


@functools.lru_cache(maxsize=None)
def target_dir():
    """Where cargo puts the workspace's build outputs, as `cargo metadata` says; target/
    if cargo cannot be asked."""
    try:
        out = subprocess.run(
            ["cargo", "metadata", "--format-version", "1", "--no-deps"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        return pathlib.Path(json.loads(out.stdout)["target_directory"])
    except (OSError, subprocess.CalledProcessError, ValueError, KeyError):
        return ROOT / "target"


def aecodec_bin():
    env = os.environ.get("AECODEC_BIN")
    if env:
        return env
    for profile in ("release", "debug"):
        p = target_dir() / profile / "aecodec"
        if p.exists():
            return str(p)
    pytest.skip("no aecodec binary: build it (cargo build -p aecodec-cli) or set AECODEC_BIN")


def run(*args):
    out = subprocess.run([aecodec_bin(), *map(str, args)], capture_output=True, text=True)
    assert out.returncode in (0, 3), out.stderr
    return out


def read_decoded_csv(path, channels):
    """Windows of a `decode` CSV as float32 (window, samples, channels)."""
    rows = {}
    with open(path) as f:
        r = csv.reader(f)
        header = next(r)
        first = header.index("sample") + 1 + int("time_s" in header)
        for row in r:
            rows.setdefault(int(row[0]), []).append(
                [np.float32(v) for v in row[first : first + channels]]
            )
    return np.array([rows[k] for k in sorted(rows)], dtype=np.float32)


def recording_windows(samples=64):
    """The recording's ankle channels cut as `encode` cuts them (no overlap)."""
    with open(DATA) as f:
        r = csv.DictReader(f)
        rows = [[np.float32(row[c]) for c in COLUMNS] for row in r]
    a = np.array(rows, dtype=np.float32)
    n = len(a) // samples
    return a[: n * samples].reshape(n, samples, len(COLUMNS))


@pytest.fixture(scope="session")
def fixtures(tmp_path_factory):
    d = tmp_path_factory.mktemp("aecodec")
    aect = d / "ankle.aect"
    cols = ",".join(COLUMNS)
    run("train", "--data", DATA, "--columns", cols, "--variant", "linear",
        "--payload-bytes", "12", "--quiet", "-o", aect)
    run("export", aect, "--precision", "all", "-o", d)
    out = {"dir": d}
    for precision, suffix in PRECISIONS.items():
        blob = d / f"ankle-{suffix}.aem"
        hexfile = d / f"{suffix}.hex"
        frames = d / f"{suffix}.bin"
        decoded = d / f"{suffix}.csv"
        run("encode", "--model", blob, "--data", DATA, "--columns", cols,
            "--format", "hex", "-o", hexfile)
        run("encode", "--model", blob, "--data", DATA, "--columns", cols, "-o", frames)
        run("decode", "--model", blob, "-i", hexfile, "--format", "hex",
            "--columns", "x,y,z", "--keep-duplicates", "-o", decoded)
        out[precision] = {
            "blob": blob,
            "payloads": [bytes.fromhex(l) for l in hexfile.read_text().split()],
            "frames": frames.read_bytes(),
            "rust": read_decoded_csv(decoded, 3),
        }
    return out
