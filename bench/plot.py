#!/usr/bin/python3
"""Medians of bench/run.sh's result lines: a markdown table and a PNG."""
import collections
import statistics
import sys

src, png, table = sys.argv[1:4]
runs = collections.defaultdict(list)
for line in open(src):
    f = line.split()
    if len(f) < 8 or not f[1].startswith("bs="):
        continue
    rw, bs, qd, mode = f[0], int(f[1][3:]), int(f[2][3:]), f[3]
    runs[(rw, bs, qd, mode)].append((float(f[4]), float(f[6])))

med = {k: (statistics.median(x for x, _ in v),
           statistics.median(y for _, y in v)) for k, v in runs.items()}
rows = ["| workload | QD | write-through | write-back |", "|---|---|---|---|"]
for rw, bs in (("randread", 4096), ("randwrite", 4096), ("read", 1048576),
               ("write", 1048576)):
    unit = "IOPS" if bs == 4096 else "MB/s"
    for qd in (1, 8, 32):
        cells = []
        for mode in ("write-through", "write-back"):
            v = med.get((rw, bs, qd, mode))
            cells.append("-" if v is None else
                         f"{v[0]:.0f}" if unit == "IOPS" else f"{v[1]:.0f}")
        name = f"{rw} {'4k' if bs == 4096 else '1M'} ({unit})"
        rows.append(f"| {name} | {qd} | {cells[0]} | {cells[1]} |")
open(table, "w").write("\n".join(rows) + "\n")
print("\n".join(rows))

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt

fig, axes = plt.subplots(1, 4, figsize=(16, 4))
for ax, (rw, bs) in zip(axes, (("randread", 4096), ("randwrite", 4096),
                               ("read", 1048576), ("write", 1048576))):
    for mode, style in (("write-through", "o-"), ("write-back", "s--")):
        qds = [q for q in (1, 8, 32) if (rw, bs, q, mode) in med]
        idx = 0 if bs == 4096 else 1
        ax.plot(qds, [med[(rw, bs, q, mode)][idx] for q in qds], style,
                label=mode)
    ax.set_xscale("log", base=2)
    ax.set_xticks([1, 8, 32])
    ax.set_xticklabels(["1", "8", "32"])
    ax.set_xlabel("commands in flight")
    ax.set_ylabel("IOPS" if bs == 4096 else "MB/s")
    ax.set_title(f"{rw} {'4 KiB' if bs == 4096 else '1 MiB'}")
    ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.3)
    ax.legend()
fig.suptitle("tcmu-nfs engine vs nfs-ganesha on loopback, 2 cores "
             "(bench/run.sh)")
fig.tight_layout()
fig.savefig(png, dpi=90)
