#!/usr/bin/env python3
"""Tables (and, with matplotlib, a plot) of scripts/bench-fleet.sh's results.

Usage: fleet_table.py RESULTS.jsonl TRANSFORMS.jsonl PAIRS.tsv OUTDIR STEPS [MINUTES]

RESULTS.jsonl: `aecodec train --json` of each pair and budget (with "pair", "budget");
TRANSFORMS.jsonl: scripts/fleet_snr.py of each pair, budget and test file ("transform":
"none" for the test file itself). Writes OUTDIR/table.md and OUTDIR/fleet.png.
"""
import datetime
import json
import sys
from collections import defaultdict

TRANSFORMS = ["rotate", "flip", "offset", "gain+10", "gain-10"]


def best_classical(r):
    """The better of PCA and DCT on the test file of result `r`."""
    return max(r["test"]["baselines"], key=lambda x: x["snr_db"])


def main(argv):
    if len(argv) not in (6, 7):
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    results, transforms, pairs_tsv, out, steps = argv[1:6]
    minutes = argv[6] if len(argv) == 7 else None
    rows = [json.loads(l) for l in open(results) if l.strip()]
    trows = [json.loads(l) for l in open(transforms) if l.strip()]
    pairs = [l.rstrip("\n").split("\t") for l in open(pairs_tsv) if l.strip()]
    by = defaultdict(dict)
    for r in rows:
        by[r["pair"]][r["budget"]] = r
    tby = defaultdict(dict)  # (pair, transform) -> budget -> fleet_snr row
    for t in trows:
        tby[(t["pair"], t["transform"])][t["budget"]] = t
    budgets = sorted({r["budget"] for r in rows})
    names = [p[0] for p in pairs if p[0] in by]

    def table(title, keys, label, cell, extra=None):
        """A row per key and a column per budget: `cell(key, budget)` ("—" where None)."""
        head = f"| {label} | " + " | ".join(f"{b} B" for b in budgets) + " |"
        rule = "|---|" + "---:|" * len(budgets)
        if extra:
            head, rule = head + " chosen |", rule + "---|"
        lines = [title, "", head, rule]
        for k in keys:
            cells = [cell(k, b) for b in budgets]
            tail = f" {extra(k)} |" if extra else ""
            lines.append(f"| {k if isinstance(k, str) else ' '.join(k)} | "
                         + " | ".join("—" if c is None else c for c in cells) + " |" + tail)
        return lines

    def margin(name, b):
        r = by[name].get(b)
        return None if r is None else r["test"]["snr_db"] - best_classical(r)["snr_db"]

    def chosen(name):
        return ", ".join(by[name][b]["variant"] for b in budgets if b in by[name])

    when = f"{steps} steps, {datetime.date.today().isoformat()}, `scripts/bench-fleet.sh`"
    if minutes is not None:
        when += f", {minutes} minutes"
    lines = ["The pairs (training file → test file; auto chooses on a person the fit did not "
             "see where the training file holds several, else on blocks of the training file):", "",
             "| pair | window | validation | what | source, licence |", "|---|---:|---|---|---|"]
    for p in pairs:
        if p[0] in by:
            held = "blocks" if p[2] == "-" else f"by {p[2]}"
            lines.append(f"| {p[0]} | {p[1]} | {held} | {p[3].replace('->', '→')} | {p[4]} |")
    lines += [""] + table(
        "Margin of `aecodec train` (auto) over the best classical codec (PCA or DCT at the same "
        "payload bytes, fit on the same windows) on the test file from another device, person "
        f"or placement, dB, f32 blob, refining encoder; then the codec auto shipped. {when}.",
        names, "pair",
        lambda n, b: None if margin(n, b) is None else f"{margin(n, b):+.2f}",
        chosen,
    )

    def snrs(name, b):
        r, t = by[name].get(b), tby[(name, "none")].get(b)
        if r is None or t is None:
            return None
        best = best_classical(r)
        return (f"{r['test']['snr_db']:.2f} / {t['worst_window_snr_db']:.1f} / "
                f"{t['worst_window_db']:.1f} / {best['snr_db']:.2f} {best['codec']}")

    lines += [""] + table(
        "Test SNR of auto's codec, dB: the whole test file (train's figure) / the worst window "
        "alone (its signal around its own means) / the worst window's error against the test "
        "file's mean window energy; then the best classical codec's test SNR:",
        names, "pair", snrs,
    )

    def drop(key, b):
        name, tr = key
        t, base = tby[key].get(b), tby[(name, "none")].get(b)
        if t is None or base is None:
            return None
        return f"{t['snr_db'] - base['snr_db']:+.2f}"

    keys = [(n, tr) for n in names for tr in TRANSFORMS if tby.get((n, tr))]
    lines += [""] + table(
        "What each transform of the test file costs, without training again: its SNR minus "
        "the untransformed test file's, dB, the same f32 blob and refining encoder (rotate: "
        "a fixed random rotation of each 3-axis group; flip: two axes negated; offset: +1 g "
        "on accelerometers, +10 % of the range on other channels; gain ±10 %):",
        keys, "pair, transform", drop,
    )

    # How close this script's SNR of the untransformed test file is to train's own.
    diffs = [abs(tby[(n, "none")][b]["trainer_snr_db"] - by[n][b]["test"]["snr_db"])
             for n in names for b in budgets
             if b in by[n] and b in tby[(n, "none")]]
    if diffs:
        close = ("is train's test SNR to the last digit" if max(diffs) == 0
                 else f"differs from train's test SNR by at most {max(diffs):.1e} dB")
        lines += ["", f"Check: the SNR of the untransformed test file coded by `aecodec encode` and "
                      f"decoded by `aecodec decode` (f32 blob, encode's default 4 refinement passes), "
                      f"measured by `scripts/fleet_snr.py`, {close} in "
                      + (f"all {len(diffs)} cells." if len(diffs) > 1 else "its one cell.")]
    text = "\n".join(lines) + "\n"
    open(f"{out}/table.md", "w").write(text)
    print(text)
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(matplotlib not installed: no fleet.png)", file=sys.stderr)
        return 0
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(12, 5))
    for name in names:
        bs = [b for b in budgets if b in by[name]]
        ax.plot(bs, [margin(name, b) for b in bs], marker="o", label=name)
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_xlabel("payload bytes")
    ax.set_ylabel("test SNR over the best classical codec, dB")
    ax.set_title("auto against PCA / DCT, test file from another device")
    ax.legend(fontsize=7)
    for i, tr in enumerate(TRANSFORMS):
        vals = []
        for name in names:
            for b in budgets:
                t, base = tby[(name, tr)].get(b), tby[(name, "none")].get(b)
                if t and base:
                    vals.append(t["snr_db"] - base["snr_db"])
        if vals:
            bx.scatter([i] * len(vals), vals, s=12, alpha=0.6)
    bx.set_xticks(range(len(TRANSFORMS)), TRANSFORMS)
    bx.axhline(0, color="black", linewidth=0.8)
    bx.set_ylabel("SNR change from the untransformed test file, dB")
    bx.set_title("transforms of the test file (every pair and budget)")
    fig.tight_layout()
    fig.savefig(f"{out}/fleet.png", dpi=110)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
