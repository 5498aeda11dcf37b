#!/usr/bin/python3
"""Medians of bench/compare.sh's raw lines, and engine / best other.

Input lines: REP TOOL RW BS QD IOPS MBS (FAIL FAIL for a failed run).
Prints a markdown table, IOPS for rows below 1 MiB, MB/s for 1 MiB rows:
each tool's median (± half its min-max spread), then per engine column
the median's ratio to the best other tool's median, and the median
[min-max] of that ratio taken within each repetition (all tools of a row
in one repetition ran back to back, on one server).
"""
import collections
import statistics
import sys

runs = collections.defaultdict(dict)  # (row, tool) -> {rep: value}
failed = collections.Counter()
rows, tools = [], []
for line in open(sys.argv[1]):
    f = line.split()
    if len(f) != 7:
        continue
    rep, tool, rw, bs, qd, iops, mbs = f
    row = (rw, int(bs), int(qd))
    if row not in rows:
        rows.append(row)
    if tool not in tools:
        tools.append(tool)
    if iops == "FAIL":
        failed[(row, tool)] += 1
        continue
    runs[(row, tool)][rep] = float(mbs) if int(bs) >= 1 << 20 \
        else float(iops)


def order(t):
    if t == "engine":
        return (0, t)
    if t.startswith("engine"):
        return (1, t)
    return (2 if t.startswith("raw") else 3, t)


def name(t):
    return t.replace("raw:", "raw ")


tools.sort(key=order)
engines = [t for t in tools if t.startswith("engine")]
others = [t for t in tools if not t.startswith("engine")]
kind = {"randwrite": 0, "write": 1, "randread": 2, "read": 3}
rows.sort(key=lambda r: (kind.get(r[0], 9), r[1], r[2]))

head = ["workload", "QD"] + [name(t) for t in tools]
for e in engines:
    head += [f"{e} / best", "per rep"]
head += ["best other"]
out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
for row in rows:
    rw, bs, qd = row
    size = f"{bs >> 20}M" if bs >= 1 << 20 else f"{bs >> 10}k"
    unit = "MB/s" if bs >= 1 << 20 else "IOPS"
    cells = [f"{rw} {size} ({unit})", str(qd)]
    med = {}
    for t in tools:
        v = list(runs.get((row, t), {}).values())
        c = "-"
        if v:
            med[t] = statistics.median(v)
            c = f"{med[t]:.0f}"
            if len(v) > 1 and med[t]:
                c += f" ±{(max(v) - min(v)) / 2 / med[t] * 100:.0f}%"
        if failed[(row, t)]:
            c += f" ({failed[(row, t)]} failed)"
        cells.append(c)
    best = max((t for t in others if t in med), key=lambda t: med[t],
               default=None)
    for e in engines:
        cells.append(f"{med[e] / med[best]:.2f}×"
                     if best and e in med and med[best] else "-")
        per = []
        for rep, v in runs.get((row, e), {}).items():
            b = max((runs[(row, t)].get(rep, 0) for t in others),
                    default=0)
            if b:
                per.append(v / b)
        cells.append(f"{statistics.median(per):.2f} "
                     f"[{min(per):.2f}-{max(per):.2f}]" if per else "-")
    cells.append(name(best) if best else "-")
    out.append("| " + " | ".join(cells) + " |")
print("\n".join(out))
n = max((len(v) for v in runs.values()), default=0)
print(f"\nmedians of up to {n} runs per cell; ±: half the min-max spread "
      "relative to the median; per rep: median [min-max] of engine / "
      "best other within each repetition")
