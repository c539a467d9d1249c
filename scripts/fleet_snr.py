#!/usr/bin/env python3
"""SNR of a decoded test file against the original, as `aecodec train` measures its test part.

    fleet_snr.py TEST.csv DECODED.csv WINDOW [NAME]   (prints one JSON line)

TEST.csv is the recording given to `aecodec encode` (its columns that DECODED.csv has
too are the model's channels); DECODED.csv is `aecodec decode`'s output for it (columns window, sequence,
sample, then the channels). The windows are those `train --test` cuts from a whole test
file: WINDOW samples each, one every WINDOW samples from the first row, the rows after
the last whole window left out; `encode` cuts the same ones.

The figures (trainer/src/report/metrics.rs): values read as f32, then in f64,
  snr_db          10 log10(signal energy / error energy) over every window, the signal
                  measured around each channel's mean over those windows;
  trainer_snr_db  the same over the windows `train` measures: all of them, or 2,048
                  evenly spread ones (window i * n / 2048) of a file with more;
  worst_window_snr_db   the lowest SNR of one window alone, measured the same way (the
                  signal around the window's own channel means);
  worst_window_db       10 log10(mean signal energy of a window, as in snr_db / the
                  largest error energy of one window): the worst window's error against
                  the file's typical window, which a quiet window does not drag down.
"""
import array
import csv
import json
import math
import sys

HELD_OUT_SAMPLE = 2048  # trainer/src/data/windows.rs


def f32_rows(rows, cols):
    """Rows of the given columns, each value rounded to f32 as the trainer reads it."""
    out = []
    for r in rows:
        out.append(array.array("f", (float(r[i]) for i in cols)).tolist())
    return out


def snr(sig, err):
    return 10 * math.log10(sig / err) if err > 0 else float("inf")


def distortion(windows, channels):
    """(signal energy around the channel means over `windows`, error energy) of
    (original rows, decoded rows) pairs."""
    total = [0.0] * channels
    n = 0
    for orig, _ in windows:
        for row in orig:
            for c in range(channels):
                total[c] += row[c]
            n += 1
    mean = [t / max(n, 1) for t in total]
    sig = err = 0.0
    for orig, dec in windows:
        for x, y in zip(orig, dec):
            for c in range(channels):
                sig += (x[c] - mean[c]) ** 2
                err += (x[c] - y[c]) ** 2
    return sig, err


def main(argv):
    if len(argv) not in (4, 5):
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    test_path, dec_path, window = argv[1], argv[2], int(argv[3])
    with open(test_path, newline="") as f:
        r = list(csv.reader(f))
    with open(dec_path, newline="") as f:
        d = list(csv.reader(f))
    head = d[0]
    # The test file's channels are the columns the decoded file has too (a person column
    # is not one).
    names = [n for n in r[0] if n in head]
    test = f32_rows(r[1:], [r[0].index(n) for n in names])
    try:
        cols = [head.index(n) for n in names]
        wcol, scol = head.index("window"), head.index("sample")
    except ValueError:
        raise SystemExit(f"{dec_path}: columns {head} do not name window, sample and {names}")
    count = (len(test) - window) // window + 1 if len(test) >= window else 0
    decoded = [[None] * window for _ in range(count)]
    for row, vals in zip(d[1:], f32_rows(d[1:], cols)):
        w, s = int(row[wcol]), int(row[scol])
        if w >= count or s >= window:
            raise SystemExit(f"{dec_path}: window {w} sample {s} is past the {count} windows of {test_path}")
        decoded[w][s] = vals
    missing = sum(1 for w in decoded for s in w if s is None)
    if missing:
        raise SystemExit(f"{dec_path}: {missing} samples of the {count} windows of {test_path} were not decoded")
    ch = len(names)
    pairs = [(test[i * window:(i + 1) * window], decoded[i]) for i in range(count)]
    sig, err = distortion(pairs, ch)
    take = min(count, HELD_OUT_SAMPLE)
    tsig, terr = distortion([pairs[i * count // take] for i in range(take)], ch)
    per_window = []
    for p in pairs:
        s1, e1 = distortion([p], ch)
        per_window.append((snr(s1, e1), e1))
    out = {
        "test": test_path,
        "windows": count,
        "snr_db": snr(sig, err),
        "rmse": math.sqrt(err / max(count * window * ch, 1)),
        "trainer_snr_db": snr(tsig, terr),
        "trainer_windows": take,
        "worst_window_snr_db": min(s for s, _ in per_window),
        "worst_window_db": snr(sig / count, max(e for _, e in per_window)),
        "worst_window": min(range(count), key=lambda i: per_window[i][0]),
    }
    if len(argv) == 5:
        out["name"] = argv[4]
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
