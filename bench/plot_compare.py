#!/usr/bin/python3
"""A PNG of bench/compare.sh's raw lines: median per tool, per row.

    /usr/bin/python3 bench/plot_compare.py bench/compare-results.txt \
        docs/evidence/bench-compare.png
"""
import collections
import statistics
import sys

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt

src, png = sys.argv[1:3]
runs = collections.defaultdict(list)
for line in open(src):
    f = line.split()
    if len(f) < 7 or f[-1] == "FAILED":
        continue
    tool, rw, bs, qd = f[1], f[2], int(f[3]), int(f[4])
    runs[(tool, rw, bs, qd)].append(float(f[5] if bs == 4096 else f[6]))
med = {k: statistics.median(v) for k, v in runs.items()}
tools = sorted({k[0] for k in med}, key=lambda t: (not t.startswith("engine"), t))

panels = (("randwrite", 4096, "durable 4 KiB random writes", "IOPS"),
          ("write", 1048576, "durable 1 MiB writes", "MB/s"),
          ("randread", 4096, "4 KiB random reads", "IOPS"),
          ("read", 1048576, "1 MiB reads", "MB/s"))
fig, axes = plt.subplots(1, 4, figsize=(17, 4.2))
for ax, (rw, bs, title, unit) in zip(axes, panels):
    for tool in tools:
        qds = sorted(q for (t, r, b, q) in med if (t, r, b) == (tool, rw, bs))
        if not qds:
            continue
        style = "o-" if tool.startswith("engine") else "s--"
        ax.plot(qds, [med[(tool, rw, bs, q)] for q in qds], style,
                label=tool, linewidth=2.5 if tool == "engine" else 1.2)
    ax.set_xscale("log", base=2)
    ax.set_xticks([1, 8, 32])
    ax.set_xticklabels(["1", "8", "32"])
    ax.set_xlabel("commands in flight")
    ax.set_ylabel(unit)
    ax.set_title(title)
    ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
fig.suptitle("the engine (stable=auto) beside raw libnfs with each fixed "
             "durable policy and qemu-img bench, one ganesha on loopback, "
             "2 cores (bench/compare.sh, medians)")
fig.tight_layout()
fig.savefig(png, dpi=90)
