#!/bin/bash
# Two builds of the engine side by side: bench/nfs_bench of build A and
# of build B, interleaved on one ganesha (the order alternates by
# repetition), with each run's throughput and the CPU time of its
# process.  For "did this change make the engine faster or cheaper":
#
#   bench/ab.sh [-n REPS] [-t SECS] BUILD_A BUILD_B ROW...
#     ROW        as nfs_bench takes it, e.g. read:1048576:8
#     -n REPS    repetitions (default 5)
#     -t SECS    seconds per run (default 3)
#
# A build of an older commit: git worktree add /tmp/old REV && cmake -S
# /tmp/old -B /tmp/old-build -DCMAKE_BUILD_TYPE=RelWithDebInfo && cmake
# --build /tmp/old-build --target nfs_bench.  Prints per row the median
# and range of B/A throughput within each repetition, and the median
# user and user+system CPU seconds per GB moved of each.  Needs root
# (ganesha); holds flock /tmp/nfs-test.lock while its server runs.
# AB_CFG_A / AB_CFG_B (empty): appended to A's / B's cfgstring, so one
# build can be set against itself with another setting, e.g.
#   AB_CFG_B='&busy_poll=500' bench/ab.sh build-bench build-bench ROW...
# NFS_BENCH_RUNNER=1 in the environment reaches both (nfs_bench.c).
set -eu
cd "$(dirname "$0")/.."
REPS=5
SECS=3
while getopts n:t: o; do
	case $o in
	n) REPS=$OPTARG ;;
	t) SECS=$OPTARG ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
if [ $# -lt 3 ]; then
	echo "usage: bench/ab.sh [-n REPS] [-t SECS] BUILD_A BUILD_B ROW..." >&2
	exit 2
fi
A=$1/bench/nfs_bench
B=$2/bench/nfs_bench
shift 2
for bin in "$A" "$B"; do
	[ -x "$bin" ] || { echo "bench/ab.sh: no $bin" >&2; exit 2; }
done
[ -x /usr/bin/time ] || { echo "bench/ab.sh: needs /usr/bin/time" >&2; exit 2; }

STATE=$(mktemp -d /tmp/tcmu-nfs-ab.XXXXXX)
RAW=$STATE/raw
size=$((1024 * 1024 * 1024))
cfg="127.0.0.1/export/bench.img?nfsport=2049&mountport=20048"
mkdir -p "$STATE/export"
# random bytes: a file of zeros could be served from a shortcut
dd if=/dev/urandom of="$STATE/export/bench.img" bs=1M count=$((size >> 20)) \
	status=none
chmod 666 "$STATE/export/bench.img"

run_all() {
	local r row t bin out mbs cpu sfx
	trap 'tests/nfs-server.sh stop "$STATE" >/dev/null 2>&1 || true' EXIT
	tests/nfs-server.sh start "$STATE" >/dev/null
	for r in $(seq "$REPS"); do
		for row in "$@"; do
			for t in A B; do
				if [ $((r % 2)) = 0 ]; then
					[ $t = A ] && t=B || t=A
				fi
				[ $t = A ] && bin=$A || bin=$B
				[ $t = A ] && sfx=${AB_CFG_A:-} || sfx=${AB_CFG_B:-}
				out=$(/usr/bin/time -f "cpu %U %S" "$bin" "$cfg$sfx" \
					$size "$SECS" "$row" 2>&1) || {
					echo "$out" >&2
					exit 1
				}
				mbs=$(echo "$out" | grep -o '[0-9.]* MB/s' |
					head -1 | cut -d' ' -f1)
				cpu=$(echo "$out" | grep '^cpu ' | tail -1)
				echo "$r $t $row $mbs $cpu" >>"$RAW"
			done
		done
	done
}
export -f run_all
export A B REPS SECS STATE RAW size cfg
flock /tmp/nfs-test.lock bash -c 'run_all "$@"' run_all "$@"

python3 - "$RAW" "$SECS" <<'EOF'
import collections, statistics, sys
runs = collections.defaultdict(dict)
for line in open(sys.argv[1]):
    r, t, row, mbs, _, user, sys_ = line.split()
    gb = float(mbs) * float(sys.argv[2]) / 1000
    runs[row, r][t] = (float(mbs), float(user) / gb,
                      (float(user) + float(sys_)) / gb)
med = statistics.median
print(f"{'row':22} {'B/A MB/s':>18} {'user s/GB A':>12} {'B':>7}"
      f" {'user+sys s/GB A':>16} {'B':>7}")
for row in sorted({k[0] for k in runs}):
    reps = [v for k, v in runs.items() if k[0] == row]
    ratio = [v['B'][0] / v['A'][0] for v in reps]
    print(f"{row:22} {med(ratio):6.2f} [{min(ratio):.2f}-{max(ratio):.2f}]"
          f" {med(v['A'][1] for v in reps):12.3f}"
          f" {med(v['B'][1] for v in reps):7.3f}"
          f" {med(v['A'][2] for v in reps):16.3f}"
          f" {med(v['B'][2] for v in reps):7.3f}")
EOF
rm -rf "$STATE"
