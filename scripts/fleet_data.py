#!/usr/bin/env python3
"""Fetches and converts the recordings of the cross-device suite (scripts/bench-fleet.sh).

Each pair trains on some devices, people or placements and tests on another: the TEST
file never comes from the device, person or placement of the TRAIN file. Train and test
files of a pair have the same channel names, so a model trained on one reads the other.
Every recording comes from a package on the registries, fetched with `pip download
--no-deps` into DIR/wheels (nothing is committed), except the bundled Daphnet excerpt:

  - seglearn 1.2.5 (wheel; BSD-3-Clause, (c) 2018 David M. Burns), seglearn/data/
    watch_dataset.npy: a smartwatch's 6-axis IMU (accelerometer ax, ay, az in g,
    gyroscope wx, wy, wz), 50 Hz, 10 people doing 7 shoulder exercises, 20 repetitions
    each, with the watch on the left and on the right wrist (Burns et al., "Personalized
    Activity Recognition with Deep Triplet Embeddings", arXiv:1802.01489). A pickled
    dict, so reading it needs numpy. Each person's exercise recordings (both wrists, in
    the file's order) are written together, people in order.
      watch-people   people 1, 2 and 3, both wrists -> person 7, both wrists
      watch-wrist    left wrist, all 10 people -> right wrist, the same 10 people
                     (a mirrored placement: the watch's axes do not mirror with it)
  - scikit-kinematics 0.10.4 (wheel; BSD-3-Clause, (c) 2016 Thomas Haslwanter; 0.12.0
    does not ship the data), tests/data/walking_xsens_{lowerLeg,upperLeg}.txt: two Xsens
    MTw sensors recorded together while walking, 120 Hz, accelerometer in m/s^2,
    gyroscope in rad/s (the magnetometer is left out).
      xsens-leg      lower leg -> upper leg (same walk, same person)
  - mobgap 1.2.0 (sdist only; Apache-2.0, (c) the Mobilise-D consortium),
    example_data/data_csv/{HA/001,HA/002,MS/001}/: a lower-back IMU, 100 Hz,
    accelerometer in g, gyroscope in deg/s, three trials each (two straight walks and a
    longer simulated daily-life course, written one after the other), healthy adults HA
    001 and 002 and a person with multiple sclerosis MS 001 (the CSVs the package makes
    from its lab example data).
      mobgap-people  healthy adults 001 and 002 -> MS 001
  - data/daphnet_s06r02e0.csv, bundled (the Daphnet Freezing of Gait data set, Roggen,
    Plotnik and Hausdorff, UCI, CC BY 4.0; data/README.md): accelerometers on the ankle,
    the upper leg and the trunk of one person, 64 Hz, in mg. The channels are renamed
    acc_fwd, acc_vert, acc_lat in both files.
      daphnet-ankle-trunk   ankle -> trunk
      daphnet-trunk-ankle   trunk -> ankle (test levels far outside the training range)
Not used: gaitmap 2.6.0's example_data (the package is MIT, but its example recordings
are extracted from a lab data set whose own licence the package does not state), and
the recordings kept for an independent check.

Transforms of each pair's TEST file only, written as DIR/<pair>/test-<transform>.csv
(the same rows and columns):
  rotate     every 3-axis group (accelerometer, gyroscope) of the sensor turned by one
             fixed random rotation (a uniform random unit quaternion, seeded by the
             pair's name; the same rotation for both groups, as a sensor mounted turned)
  flip       every 3-axis group with its first two axes negated (a 180-degree turn about
             the third axis, a proper rotation)
  offset     every channel shifted: an accelerometer by +1 g in its unit (1, 9.80665 or
             1000 for g, m/s^2 and mg), any other channel by +10 % of its observed range
             (max - min over the test file)
  gain+10    every channel times 1.1
  gain-10    every channel times 0.9

The files of the pairs whose training recordings come from several people (watch-people,
watch-wrist, mobgap-people) have a `person` column after the channels (each person's rows
together), for `aecodec train --group-column person`: auto then chooses on a person the
fit never saw.

Usage: fleet_data.py DIR   (writes DIR/<pair>/{train,test,test-<transform>}.csv and
DIR/pairs.tsv: name, window, group column (- for none), note, source and licence;
needs numpy)
"""
import csv
import io
import math
import os
import random
import subprocess
import sys
import tarfile
import zipfile
import zlib

from rd_data import write  # the same CSV writer as the rate-distortion suite

try:
    import numpy as np
except ImportError:
    raise SystemExit("fleet_data.py needs numpy (scripts/bench-fleet.sh runs it from a venv that has it)")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
G = 9.80665

# (requirement, file prefix in the cache, "wheel" or "sdist")
SEGLEARN = ("seglearn==1.2.5", "seglearn-1.2.5", "wheel")
SKINEMATICS = ("scikit-kinematics==0.10.4", "scikit_kinematics-0.10.4", "wheel")
MOBGAP = ("mobgap==1.2.0", "mobgap-1.2.0", "sdist")

IMU = ["acc_x", "acc_y", "acc_z", "gyr_x", "gyr_y", "gyr_z"]
PERSON = "person"
DAPHNET = ["acc_fwd", "acc_vert", "acc_lat"]


def fetch(spec, cache):
    """The cached wheel (a ZipFile) or sdist (a TarFile) of `spec`, downloaded if missing."""
    os.makedirs(cache, exist_ok=True)
    req, prefix, kind = spec
    ext = ".whl" if kind == "wheel" else ".tar.gz"

    def have():
        return sorted(f for f in os.listdir(cache) if f.startswith(prefix) and f.endswith(ext))

    if not have():
        args = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", cache, req]
        args += ["--only-binary=:all:"] if kind == "wheel" else ["--no-binary", ":all:"]
        subprocess.run(args, check=True)
    if not have():
        raise SystemExit(f"pip download {req} left no {prefix}*{ext} in {cache}")
    path = os.path.join(cache, have()[0])
    return zipfile.ZipFile(path) if kind == "wheel" else tarfile.open(path)


def fmt(a):
    """Rows of strings of a float array: 9 significant digits, enough for an f32 exactly."""
    return [[f"{v:.9g}" for v in row] for row in a]


def watch(whl):
    raw = whl.read("seglearn/data/watch_dataset.npy")
    d = np.load(io.BytesIO(raw), allow_pickle=True).item()
    if list(d["X_labels"]) != ["ax", "ay", "az", "wx", "wy", "wz"]:
        raise SystemExit(f"unexpected watch_dataset.npy channels {d['X_labels']}")
    recs = list(zip(d["X"], d["subject"].astype(int), d["side"].astype(int)))

    def take(ok):
        """The recordings that pass `ok`, each person's together: (samples, person ids)."""
        chosen = sorted((s, i) for i, (_, s, side) in enumerate(recs) if ok(s, side))
        parts = [np.asarray(recs[i][0], dtype=np.float64) for _, i in chosen]
        people = [f"p{s}" for s, i in chosen for _ in range(len(recs[i][0]))]
        return np.concatenate(parts), people

    return {
        "watch-people": (take(lambda s, side: s in (1, 2, 3)), take(lambda s, side: s == 7)),
        "watch-wrist": (take(lambda s, side: side == 0), take(lambda s, side: side == 1)),
    }


def xsens(whl, name):
    text = whl.read(f"tests/data/walking_xsens_{name}.txt").decode()
    lines = [l for l in text.splitlines() if l.strip() and not l.startswith("//")]
    head = lines[0].split("\t")
    cols = [head.index(c) for c in ("Acc_X", "Acc_Y", "Acc_Z", "Gyr_X", "Gyr_Y", "Gyr_Z")]
    return np.array([[float(l.split("\t")[i]) for i in cols] for l in lines[1:]])


def mobgap(sdist, people):
    """The three trials of each of `people`, one after the other: (samples, person ids)."""
    parts, ids = [], []
    for person in people:
        base = f"mobgap-1.2.0/example_data/data_csv/{person}/"
        for trial in ("Test5_Trial1", "Test5_Trial2", "Test11_Trial1"):
            text = sdist.extractfile(f"{base}TimeMeasure1_{trial}.csv").read().decode()
            r = list(csv.reader(io.StringIO(text)))
            if r[0] != ["samples"] + IMU:
                raise SystemExit(f"unexpected mobgap CSV header {r[0]}")
            parts.append(np.array([[float(v) for v in row[1:]] for row in r[1:]]))
            ids += [person.replace("/", "")] * (len(r) - 1)
    return np.concatenate(parts), ids


def daphnet(sensor):
    with open(os.path.join(ROOT, "data", "daphnet_s06r02e0.csv")) as f:
        r = list(csv.reader(f))
    cols = [r[0].index(f"{sensor}_{a}") for a in ("horiz_fwd", "vert", "horiz_lateral")]
    return np.array([[float(row[i]) for i in cols] for row in r[1:]])


def rotation(seed):
    """A rotation matrix from a uniform random unit quaternion (Shoemake), seeded."""
    rng = random.Random(seed)
    u1, u2, u3 = rng.random(), rng.random(), rng.random()
    w = math.sqrt(1 - u1) * math.sin(2 * math.pi * u2)
    x = math.sqrt(1 - u1) * math.cos(2 * math.pi * u2)
    y = math.sqrt(u1) * math.sin(2 * math.pi * u3)
    z = math.sqrt(u1) * math.cos(2 * math.pi * u3)
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ])


def transforms(name, test, groups, g_unit):
    """The transformed copies of `test` (samples x channels): {transform: array}.
    `groups`: (kind, [three column indices]) per 3-axis group, kind "acc" or "gyr";
    `g_unit`: 1 g in the accelerometer's unit."""
    out = {}
    r = rotation(zlib.crc32(name.encode()))
    rot, flip = test.copy(), test.copy()
    for _, idx in groups:
        rot[:, idx] = test[:, idx] @ r.T
        flip[:, idx[:2]] = -test[:, idx[:2]]
    out["rotate"], out["flip"] = rot, flip
    acc = {i for kind, idx in groups if kind == "acc" for i in idx}
    shift = np.array([g_unit if c in acc else 0.1 * (test[:, c].max() - test[:, c].min())
                      for c in range(test.shape[1])])
    out["offset"] = test + shift
    out["gain+10"] = test * 1.1
    out["gain-10"] = test * 0.9
    angle = math.degrees(math.acos(max(-1.0, min(1.0, (np.trace(r) - 1) / 2))))
    return out, angle


def main():
    out = sys.argv[1]
    cache = os.path.join(out, "wheels")
    imu_groups = [("acc", [0, 1, 2]), ("gyr", [3, 4, 5])]
    pairs = []  # name, header, groups, 1 g in the unit, train, test, window, note, source

    w = watch(fetch(SEGLEARN, cache))
    seg = "seglearn 1.2.5 watch_dataset.npy (Burns et al.), BSD-3-Clause"
    pairs.append(("watch-people", IMU, imu_groups, 1.0, *w["watch-people"], 64,
                  "smartwatch IMU 6 ch, 50 Hz: people 1-3 -> person 7 (both wrists)", seg))
    pairs.append(("watch-wrist", IMU, imu_groups, 1.0, *w["watch-wrist"], 64,
                  "smartwatch IMU 6 ch, 50 Hz: left wrist -> right wrist (10 people)", seg))

    skk = fetch(SKINEMATICS, cache)
    pairs.append(("xsens-leg", IMU, imu_groups, G, xsens(skk, "lowerLeg"), xsens(skk, "upperLeg"), 64,
                  "Xsens IMU 6 ch, 120 Hz, walking: lower leg -> upper leg",
                  "scikit-kinematics 0.10.4 tests/data (Haslwanter), BSD-3-Clause"))

    mg = fetch(MOBGAP, cache)
    pairs.append(("mobgap-people", IMU, imu_groups, 1.0, mobgap(mg, ["HA/001", "HA/002"]),
                  mobgap(mg, ["MS/001"]), 64,
                  "lower-back IMU 6 ch, 100 Hz: healthy adults 001, 002 -> MS 001",
                  "mobgap 1.2.0 example_data (Mobilise-D), Apache-2.0"))

    daph = "bundled data/daphnet_s06r02e0.csv (Daphnet, UCI), CC BY 4.0"
    acc_only = [("acc", [0, 1, 2])]
    pairs.append(("daphnet-ankle-trunk", DAPHNET, acc_only, 1000.0, daphnet("ankle"), daphnet("trunk"), 64,
                  "accelerometer 3 ch, 64 Hz, mg: ankle -> trunk", daph))
    pairs.append(("daphnet-trunk-ankle", DAPHNET, acc_only, 1000.0, daphnet("trunk"), daphnet("ankle"), 64,
                  "accelerometer 3 ch, 64 Hz, mg: trunk -> ankle", daph))

    table = []
    for name, header, groups, g_unit, train, test, window, note, source in pairs:
        d = f"{out}/{name}"
        # Recordings of several people carry a PERSON column (train --group-column).
        group = PERSON if isinstance(train, tuple) else ""

        def csv_of(path, data):
            if group:
                values, people = data
                write(path, header + [group], [r + [p] for r, p in zip(fmt(values), people)])
            else:
                write(path, header, fmt(data))

        csv_of(f"{d}/train.csv", train)
        csv_of(f"{d}/test.csv", test)
        values, people = test if group else (test, None)
        variants, angle = transforms(name, values, groups, g_unit)
        for t, a in variants.items():
            csv_of(f"{d}/test-{t}.csv", (a, people) if group else a)
        count = len(train[0]) if group else len(train)
        print(f"{name}: {count} training and {len(values)} test samples x {len(header)} channels; "
              f"rotation {angle:.0f} degrees", file=sys.stderr)
        table.append((name, str(window), group or "-", note, source))

    with open(f"{out}/pairs.tsv", "w") as f:
        for row in table:
            f.write("\t".join(row) + "\n")


if __name__ == "__main__":
    main()
