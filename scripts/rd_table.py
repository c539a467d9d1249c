#!/usr/bin/env python3
"""Table (and, with matplotlib, a plot) of scripts/bench-rd.sh's results.jsonl.

Usage: rd_table.py RESULTS.jsonl OUTDIR STEPS
"""
import datetime
import json
import sys
from collections import defaultdict


def best_classical(r):
    """The better of PCA and DCT on the test part of result `r`."""
    return max(r["test"]["baselines"], key=lambda x: x["snr_db"])


def main():
    results, out, steps = sys.argv[1], sys.argv[2], sys.argv[3]
    rows = [json.loads(l) for l in open(results) if l.strip()]
    by = defaultdict(dict)
    for r in rows:
        by[r["dataset"]][r["budget"]] = r
    budgets = sorted({r["budget"] for r in rows})
    def table(title, cell, extra=None):
        """A markdown table, a row per dataset and a column per budget: `cell(result)` of each
        result ("—" where a budget is missing), then `extra(results)` if given."""
        head = "| dataset | " + " | ".join(f"{b} B" for b in budgets) + " |"
        rule = "|---|" + "---:|" * len(budgets)
        if extra:
            head, rule = head + " chosen |", rule + "---|"
        out = [title, "", head, rule]
        for name, per in by.items():
            cells = [cell(per[b]) if b in per else "—" for b in budgets]
            tail = f" {extra([per[b] for b in budgets if b in per])} |" if extra else ""
            out.append(f"| {name} | " + " | ".join(cells) + " |" + tail)
        return out

    def margins(r):
        t, best = r["test"], best_classical(r)["snr_db"]
        return t["snr_db"] - best, t["device_snr_db"] - best

    def snrs(r):
        t, best = r["test"], best_classical(r)
        return (f"{t['snr_db']:.2f} / {t['plain_snr_db']:.2f} / {t['device_snr_db']:.2f} / "
                f"{t['int8_full_snr_db']:.2f} / {best['snr_db']:.2f} {best['codec']}")

    def cost(r):
        t = r["test"]
        return f"{t['device_snr_db'] - t['plain_snr_db']:+.2f} ({t['plain_snr_db']:.1f})"

    lines = table(
        f"Margin of `aecodec train` (auto) over the best classical codec at the same payload bytes, "
        f"test part, dB: f32 blob (refining encoder) / full-int8 encoder-only device decoded by the "
        f"f32 blob (plain encoder); the classical codecs in f32. {steps} steps, "
        f"{datetime.date.today().isoformat()}, `scripts/bench-rd.sh`.",
        lambda r: "{:+.2f} / {:+.2f}".format(*margins(r)),
        lambda rs: ", ".join(r["variant"] for r in rs),
    )
    worst = min((margins(r)[0] for r in rows), default=None)
    lines += [""] + table(
        "Test SNR of auto's codec, dB: f32 refining / f32 plain / full-int8 device → f32 / "
        "full-int8 blob refining; then the best classical codec:",
        snrs,
    )
    lines += [""] + table(
        "What the device's precision costs: full-int8 device → f32 decoder minus the f32 blob, both "
        "with the plain encoder, dB (and the test SNR of the f32 blob):",
        cost,
    )
    def receivers(r):
        t = r["test"]
        if "device_int8_weights_snr_db" not in t:
            return "—"
        return (f"{t['device_int8_weights_snr_db'] - t['device_snr_db']:+.2f} / "
                f"{t['device_int8_full_snr_db'] - t['device_snr_db']:+.2f} ({t['device_snr_db']:.1f})")

    lines += [""] + table(
        "What the receiver's precision costs: the full-int8 device's payloads decoded by the "
        "int8-weights decoder (a LoRaWAN codec's default, `export --format lorawan-js`, bit for bit "
        "the core's) / by the full-int8 decoder, minus the same payloads decoded by the f32 blob, dB "
        "(and the test SNR of that f32 decoding):",
        receivers,
    )
    text = "\n".join(lines) + "\n"
    open(f"{out}/table.md", "w").write(text)
    print(text)
    if worst is not None:
        print(f"worst f32 margin: {worst:+.2f} dB")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(matplotlib not installed: no rate-distortion.png)", file=sys.stderr)
        return
    fig, ax = plt.subplots(figsize=(8, 5))
    for name, per in by.items():
        bs = sorted(per)
        best = [best_classical(per[b])["snr_db"] for b in bs]
        ax.plot(bs, [per[b]["test"]["snr_db"] - v for b, v in zip(bs, best)], marker="o", label=f"{name} f32")
        ax.plot(bs, [per[b]["test"]["device_snr_db"] - v for b, v in zip(bs, best)], marker="x",
                linestyle="--", color=ax.lines[-1].get_color(), label=f"{name} int8 device")
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_xlabel("payload bytes")
    ax.set_ylabel("test SNR over the best classical codec, dB")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(f"{out}/rate-distortion.png", dpi=120)


if __name__ == "__main__":
    main()
