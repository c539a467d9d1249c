#!/usr/bin/env python3
"""Fetches and converts the recordings of the rate-distortion suite (scripts/bench-rd.sh).

Every recording comes from a package on the registries (nothing is committed):
  - aeon 1.6.0 (BSD-3-Clause): the Daphnet Freezing of Gait recording S06R02E0
    (Roggen, Plotnik, Hausdorff, UCI, CC BY 4.0; its leg and trunk sensors, not the
    ankle channels the demo uses), GunPoint, KDD-TSAD 135 (InternalBleeding16), ACSF1,
    JapaneseVowels (UCR/UEA archive).
  - scipy 1.10.1 (BSD-3-Clause): scipy/misc/ecg.dat, five minutes of one ECG lead at
    360 Hz from the MIT-BIH Arrhythmia Database (record 208; ODC-By).
The recordings kept for an independent check are never fetched here.

Usage: rd_data.py DIR   (writes DIR/<dataset>/{train,test}.csv and DIR/datasets.tsv)
"""
import array
import csv
import io
import os
import subprocess
import sys
import zipfile

# (requirement, whether any wheel will do: a pure-Python one, else binary only)
AEON = ("aeon==1.6.0", True)
SCIPY = ("scipy==1.10.1", False)


def fetch(spec, cache):
    os.makedirs(cache, exist_ok=True)
    name, pure = spec
    prefix = name.replace("==", "-")
    have = [f for f in os.listdir(cache) if f.endswith(".whl") and f.startswith(prefix)]
    if not have:
        args = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", cache, name]
        if not pure:
            args += ["--only-binary=:all:"]
        subprocess.run(args, check=True)
        have = [f for f in os.listdir(cache) if f.endswith(".whl") and f.startswith(prefix)]
    return zipfile.ZipFile(os.path.join(cache, sorted(have)[0]))


def ts_rows(text):
    """Rows of a .ts file: each case's dimensions joined channel-major, label dropped."""
    rows, data = [], False
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.lower().startswith("@data"):
            data = True
            continue
        if line.startswith("@") or not data:
            continue
        dims = line.split(":")[:-1]  # the last field is the class label
        row = []
        for d in dims:
            row.extend(float(v) for v in d.split(","))
        rows.append(row)
    widths = {len(r) for r in rows}
    if len(widths) != 1:
        raise SystemExit(f"unequal lengths {sorted(widths)[:5]}")
    return rows


def write(path, header, rows):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    os.replace(tmp, path)


def main():
    out = sys.argv[1]
    cache = os.path.join(out, "wheels")
    aeon = fetch(AEON, cache)
    base = "aeon/datasets/data/"
    table = []  # name, mode (series / rows / rows/C), window (samples; values per row), what it is

    daphnet = aeon.read(base + "Daphnet_S06R02E0/S06R02E0.csv").decode()
    reader = list(csv.reader(io.StringIO(daphnet)))
    head = reader[0]
    for sensor in ("leg", "trunk"):
        cols = [i for i, h in enumerate(head) if h.startswith(sensor + "_")]
        write(f"{out}/daphnet-{sensor}/data.csv", [head[i] for i in cols],
              [[r[i] for i in cols] for r in reader[1:]])
        table.append((f"daphnet-{sensor}", "series", "64", "accelerometer, 3 axes, 64 Hz"))

    kdd = base + "KDD-TSAD_135/135_UCR_Anomaly_InternalBleeding16_{}.csv"
    for part in ("TRAIN", "TEST"):
        r = list(csv.reader(io.StringIO(aeon.read(kdd.format(part)).decode())))
        write(f"{out}/kdd135/{part.lower()}.csv", ["value"], [[x[1]] for x in r[1:]])
    table.append(("kdd135", "series", "64", "physiological signal (InternalBleeding16), 1 channel"))

    # mode "rows" is one channel per row; "rows/C" is C channels per row, channel-major.
    for name, ds, mode, note in [
        ("gunpoint", "GunPoint/GunPoint", "rows", "hand position from video, 150 samples per row"),
        ("acsf1", "ACSF1/ACSF1", "rows", "appliance power draw, 1460 samples per row"),
        ("japanesevowels", "JapaneseVowels/JapaneseVowels_eq", "rows/12",
         "12 LPC channels x 25 frames per row, channel-major"),
    ]:
        for part in ("TRAIN", "TEST"):
            rows = ts_rows(aeon.read(f"{base}{ds}_{part}.ts").decode())
            write(f"{out}/{name}/{part.lower()}.csv", [f"v{i}" for i in range(len(rows[0]))], rows)
        table.append((name, mode, str(len(rows[0])), note))

    scipy = fetch(SCIPY, cache)
    raw = scipy.read("scipy/misc/ecg.dat")
    # ecg.dat is a NumPy .npz archive holding `ecg.npy`: a version-1 .npy header, then
    # little-endian uint16 ADC samples; scipy.misc.electrocardiogram() gives mV as
    # (v - 1024) / 200, and so does this.
    with zipfile.ZipFile(io.BytesIO(raw)) as z:
        arr = z.read("ecg.npy")
    if arr[:6] != b"\x93NUMPY" or arr[6] != 1:
        raise SystemExit("unexpected ecg.dat layout: not a version-1 .npy")
    hlen = int.from_bytes(arr[8:10], "little")
    header = arr[10:10 + hlen].decode()
    if "<u2" not in header:
        raise SystemExit(f"unexpected ecg.dat layout: {header}")
    samples = array.array("H")
    samples.frombytes(arr[10 + hlen:])
    if sys.byteorder != "little":
        samples.byteswap()
    write(f"{out}/ecg/data.csv", ["mV"], [[f"{(v - 1024) / 200:.3f}"] for v in samples])
    table.append(("ecg", "series", "64", "ECG, one lead, 360 Hz (MIT-BIH 208)"))

    with open(f"{out}/datasets.tsv", "w") as f:
        for row in table:
            f.write("\t".join(row) + "\n")


if __name__ == "__main__":
    main()
