#!/usr/bin/python3
"""The guest benchmark's table and plot (tests/e2e/bench-peers.sh lines).

    plot_guest.py --table RESULTS [SECS ROUNDS]   markdown table on stdout
    plot_guest.py RESULTS PNG [TABLE.md]          the table, and a PNG

A RESULTS line: ROUND BACKSTORE RW BS QD IOPS MBS MEAN_LAT_US WRITES COMMITS
STABLE: over the job, user:nfs's writes, COMMITs and stable WRITEs
(its metrics), for a peer's write job the kernel client's NFS WRITE and
COMMIT calls and "-"; "-" where not counted.
4 KiB rows compare IOPS, 1 MiB rows MB/s.  "best" is the better of the two
kernel peers (fileio, block) for writes, and block for reads (fileio reads
go through the guest's page cache: shown, not counted).  "per round" is the ratio
user:nfs / best peer taken within each round: median [min-max].  With
BENCH_FLOOR=1 lines there is a "floor" backstore (tcmu-runner's user:qcow
on a raw file in the guest's tmpfs: the TCMU round trip with no network),
shown with user:nfs / floor; it is no peer.
"""
import collections
import statistics
import sys

ROWS = [("randwrite", 4096, 1), ("randwrite", 4096, 8), ("randwrite", 4096, 32),
        ("write", 1048576, 1), ("write", 1048576, 8), ("write", 1048576, 32),
        ("randread", 4096, 1), ("randread", 4096, 32),
        ("read", 1048576, 1), ("read", 1048576, 8)]
PEERS = ("fileio", "block")
FLOOR = "floor"


def peers_for(rw):
    return PEERS if "write" in rw else ("block",)


def load(path):
    runs = collections.defaultdict(dict)   # (rw, bs, qd) -> {(round, name): value}
    extra = collections.defaultdict(list)  # (rw, bs, qd, name) -> [(writes, commits, stable)]
    for line in open(path):
        f = line.split()
        if len(f) < 8:
            continue
        r, name, rw, bs, qd = f[0], f[1], f[2], int(f[3]), int(f[4])
        v = float(f[5]) if bs < 1048576 else float(f[6])
        runs[(rw, bs, qd)][(r, name)] = v
        if len(f) >= 11 and "-" not in f[8:10]:
            extra[(rw, bs, qd, name)].append(
                tuple(int(x) if x != "-" else 0 for x in f[8:11]))
    return runs, extra


def summary(runs, extra):
    out = []
    for key in ROWS:
        if key not in runs:
            continue
        d = runs[key]
        med = {}
        for n in ("nfs",) + PEERS + (FLOOR,):
            v = [x for (r, name), x in d.items() if name == n]
            med[n] = statistics.median(v) if v else None
        rounds = sorted({r for r, _ in d})
        per = []
        for r in rounds:
            peers = [d[(r, p)] for p in peers_for(key[0]) if (r, p) in d]
            if (r, "nfs") in d and peers and max(peers) > 0:
                per.append(d[(r, "nfs")] / max(peers))
        cpw = {}
        spw = None
        for n in ("nfs",) + PEERS:
            w = extra.get(key + (n,), [])
            nw = sum(x[0] for x in w)
            if nw and "write" in key[0]:
                cpw[n] = sum(x[1] for x in w) / nw
                if n == "nfs":
                    spw = sum(x[2] for x in w) / nw
        out.append((key, med, per, cpw, spw))
    return out


def table(rows, secs=None, rounds=None):
    floor = any(med[FLOOR] is not None for _, med, _, _, _ in rows)
    lines = []
    if secs:
        lines.append("fio direct=1 libaio, %s s per job, medians of %s interleaved "
                     "rounds; 4k rows IOPS, 1M rows MB/s" % (secs, rounds))
        lines.append("")
    lines.append("| workload | QD | user:nfs | fileio (O_DSYNC, kernel NFS) | "
                 "block (dio loop, kernel NFS) | nfs / fileio | nfs / block | "
                 "**nfs / best peer** | per round | COMMITs per WRITE nfs / fileio / block "
                 "| nfs stable WRITEs per WRITE |" +
                 (" floor (user:qcow, tmpfs) | nfs / floor |" if floor else ""))
    lines.append("|---|---|---|---|---|---|---|---|---|---|---|" +
                 ("---|---|" if floor else ""))
    for (rw, bs, qd), med, per, cpw, spw in rows:
        def cell(n):
            return "-" if med[n] is None else "%.0f" % med[n]

        def ratio(p):
            if med["nfs"] is None or not med[p]:
                return "-"
            return "%.2f" % (med["nfs"] / med[p])
        best = max((med[p] for p in peers_for(rw) if med[p]), default=None)
        rb = "-" if not best or med["nfs"] is None else "**%.2f**" % (med["nfs"] / best)
        pr = "-" if not per else "%.2f [%.2f-%.2f]" % (statistics.median(per),
                                                      min(per), max(per))
        cs = " / ".join("%.2f" % cpw[n] if n in cpw else "-"
                        for n in ("nfs",) + PEERS) if cpw else "-"
        ss = "-" if spw is None else "%.2f" % spw
        name = "%s %s" % (rw, "4k" if bs == 4096 else "1M")
        lines.append("| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            name, qd, cell("nfs"), cell("fileio"), cell("block"), ratio("fileio"),
            ratio("block"), rb, pr, cs, ss) +
            (" %s | %s |" % (cell(FLOOR), ratio(FLOOR)) if floor else ""))
    return "\n".join(lines)


def plot(rows, png):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = (("randwrite", 4096), ("write", 1048576), ("randread", 4096),
              ("read", 1048576))
    fig = plt.figure(figsize=(16, 7.5))
    grid = fig.add_gridspec(2, 4, height_ratios=[1, 0.8])
    axes = [fig.add_subplot(grid[0, i]) for i in range(4)]
    style = {"nfs": "o-", "fileio": "s--", "block": "^:"}
    label = {"nfs": "user:nfs (write-through)",
             "fileio": "LIO fileio write_back=false on kernel NFS",
             "block": "LIO block on dio loop on kernel NFS"}
    for ax, (rw, bs) in zip(axes, groups):
        sel = [(k, med) for k, med, _, _, _ in rows if k[0] == rw and k[1] == bs]
        for n in ("nfs",) + PEERS:
            pts = [(k[2], med[n]) for k, med in sel if med[n] is not None]
            if pts:
                ax.plot([q for q, _ in pts], [v for _, v in pts], style[n],
                        label=label[n])
        ax.set_xscale("log", base=2)
        ax.set_xticks([1, 8, 32])
        ax.set_xticklabels(["1", "8", "32"])
        ax.set_xlabel("commands in flight (fio iodepth)")
        ax.set_ylabel("IOPS" if bs == 4096 else "MB/s")
        ax.set_title("%s %s" % (rw, "4 KiB" if bs == 4096 else "1 MiB"))
        ax.set_ylim(bottom=0)
        ax.grid(True, alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=7)
    # the ratios, one bar per row: per-round median, whiskers min-max
    ax = fig.add_subplot(grid[1, :])
    names, vals, lo, hi = [], [], [], []
    for (rw, bs, qd), med, per, _, _ in rows:
        if not per:
            continue
        names.append("%s %s\nQD%d" % (rw, "4k" if bs == 4096 else "1M", qd))
        m = statistics.median(per)
        vals.append(m)
        lo.append(m - min(per))
        hi.append(max(per) - m)
    x = range(len(vals))
    ax.bar(x, vals, yerr=[lo, hi], capsize=3,
           color=["tab:blue" if v >= 1 else "tab:red" for v in vals])
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_xticks(list(x))
    ax.set_xticklabels(names, fontsize=8)
    ax.set_ylabel("user:nfs / best peer")
    ax.set_title("ratio per row (writes: best of fileio and block; reads: "
                 "block), median of the per-round ratios, min-max")
    ax.grid(True, axis="y", alpha=0.3)
    fig.suptitle("Through LIO + tcm_loop in the QEMU guest (TCG), one ganesha, "
                 "fio direct libaio (bench/guest-compare.sh), medians")
    fig.tight_layout()
    fig.savefig(png, dpi=90)


def main(argv):
    if argv and argv[0] == "--table":
        rows = summary(*load(argv[1]))
        print(table(rows, *(argv[2:4] if len(argv) >= 4 else ())))
        return
    src, png = argv[0], argv[1]
    rows = summary(*load(src))
    t = table(rows)
    print(t)
    if len(argv) > 2:
        open(argv[2], "w").write(t + "\n")
    plot(rows, png)


main(sys.argv[1:])
