#!/bin/bash
# Benchmark the engine against a local nfs-ganesha, write-through and
# write-back, and plot it.  Writes docs/evidence/benchmarks.md figures' source
# (bench/results.txt) and docs/evidence/bench.png.
#   bench/run.sh [SECONDS] [ROUNDS]     (defaults 3, 3; medians are kept)
set -eu
cd "$(dirname "$0")/.."
secs=${1:-3}
rounds=${2:-3}
build=build
state=$(mktemp -d /tmp/tcmu-nfs-bench.XXXXXX)
cleanup() { tests/nfs-server.sh stop "$state" || true; rm -rf "$state"; }
trap cleanup EXIT

# plotting only: not a dependency of the build or the tests
if ! /usr/bin/python3 -c 'import matplotlib' 2>/dev/null; then
	apt-get install -y -q --no-install-recommends python3-matplotlib
fi
cmake -S . -B $build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build $build -j "$(nproc)" --target nfs_bench >/dev/null
tests/nfs-server.sh start "$state"
size=$((1024 * 1024 * 1024))
truncate -s $size "$state/export/bench.img"
# into the server's page cache, as the baselines were measured
dd if=/dev/zero of="$state/export/bench.img" bs=1M count=1024 \
	conv=notrunc status=none
workloads=()
for w in randread:4096 randwrite:4096 read:1048576 write:1048576; do
	for qd in 1 8 32; do workloads+=("$w:$qd"); done
done
out=bench/results.txt
: >"$out"
for r in $(seq "$rounds"); do
	for mode in writethrough writeback; do
		$build/bench/nfs_bench \
			"127.0.0.1/export/bench.img?nfsport=2049&mountport=20048&cache=$mode" \
			$size "$secs" "${workloads[@]}" | tee -a "$out"
	done
done
/usr/bin/python3 bench/plot.py "$out" docs/evidence/bench.png docs/evidence/bench-table.md
