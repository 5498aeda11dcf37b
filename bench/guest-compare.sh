#!/bin/bash
# The whole stack in the QEMU guest the e2e tests use (issue 7's guest
# table): fio (direct=1, libaio) on a user:nfs tcm_loop disk (README.md's
# settings, write-through, default stable=/nconnect=) against LIO fileio
# write_back=false on a kernel NFS mount of the same export (durable
# writes) and LIO block on a direct-I/O loop device over a file on that
# mount (reads), interleaved in one run on the guest's one nfs-ganesha.
# What each peer is: tests/e2e/bench-peers.sh.
#
#   bench/guest-compare.sh [-t SECS] [-n ROUNDS] [-r ROW]... [-e CFG_SUFFIX]
#                          [-o RAWFILE] [-p PNG]
#     -t SECS     seconds per fio job (default 5, plus 1 s of ramp)
#     -n ROUNDS   interleaved rounds (default 3)
#     -r ROW      only this row, e.g. -r randwrite:4096:1 (repeatable)
#     -e SUFFIX   appended to user:nfs's cfgstring, e.g. -e '&stable=commit'
#     -v VERS     NFS version of all three (default 3; 4.1 or 4.2: user:nfs
#                 with vers=VERS, the kernel's mount with vers=VERS, the
#                 guest's ganesha offering NFSv4 beside v3)
#     -o FILE     raw result lines (default bench/guest-results.txt)
#     -p PNG      also plot (bench/plot_guest.py; needs python3-matplotlib)
#     -f          also the floor: tcmu-runner's user:qcow on a raw file in
#                 the guest's tmpfs (the TCMU round trip alone), no peer
#   BUILD=DIR (default build-bench) is built first (handler_nfs.so).
# The default 10 rows x 3 backstores x 3 rounds x ~8 s of TCG time is
# about 13 min of guest time.  Needs root; holds flock /tmp/e2e-vm.lock
# while the VM runs.
set -eu
cd "$(dirname "$0")/.."

SECS=5
ROUNDS=3
ROWS=
CFG=
OUT=bench/guest-results.txt
PNG=
FLOOR=0
VERS=3
while getopts "t:n:r:e:o:p:fv:" opt; do
	case $opt in
	t) SECS=$OPTARG ;;
	n) ROUNDS=$OPTARG ;;
	r) ROWS="$ROWS $OPTARG" ;;
	e) CFG=$OPTARG ;;
	o) OUT=$OPTARG ;;
	p) PNG=$OPTARG ;;
	f) FLOOR=1 ;;
	v) VERS=$OPTARG ;;
	*) sed -n '2,/^set -eu/p' "$0" | sed '$d' >&2; exit 2 ;;
	esac
done
BUILD=${BUILD:-build-bench}
if [ ! -f "$BUILD/CMakeCache.txt" ]; then
	# shellcheck disable=SC2086
	cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		${CMAKE_ARGS:-} >/dev/null
fi
cmake --build "$BUILD" -j "$(nproc)" --target handler_nfs >/dev/null
VMOUT=$(mktemp -d /tmp/tcmu-nfs-guest-compare.XXXXXX)
# rows x backstores x rounds jobs of SECS+1 s, ~2.5 s of fio start each,
# + setup
budget=$(awk -v n="$(echo ${ROWS:-1 2 3 4 5 6 7 8 9 10} | wc -w)" \
	-v b=$((3 + FLOOR)) -v r="$ROUNDS" -v s="$SECS" \
	'BEGIN { print int(n * b * r * (s + 4) * 1.5 + 300) }')
export BENCH_SECS=$SECS BENCH_ROUNDS=$ROUNDS BENCH_NFS_CFG=$CFG
export BENCH_FLOOR=$FLOOR BENCH_NFS_VERS=$VERS
[ -n "$ROWS" ] && export BENCH_ROWS="${ROWS# }"
export E2E_PASS_ENV="BENCH_SECS BENCH_ROUNDS BENCH_NFS_CFG BENCH_FLOOR BENCH_NFS_VERS ${ROWS:+BENCH_ROWS}"
flock -n /tmp/e2e-vm.lock true || echo "guest-compare.sh: waiting for /tmp/e2e-vm.lock" >&2
rc=0
flock -w "${LOCK_WAIT:-3600}" /tmp/e2e-vm.lock \
	env E2E_BUILD_DIR="$PWD/$BUILD" tests/e2e/vm-run.sh --timeout "$budget" \
	--out "$VMOUT" tests/e2e/bench-peers.sh >"$VMOUT/host-console.log" 2>&1 || rc=$?
if [ ! -s "$VMOUT/bench-peers.results" ]; then
	tail -30 "$VMOUT/host-console.log" >&2
	echo "guest-compare.sh: no results (rc $rc), logs in $VMOUT" >&2
	exit 1
fi
cp "$VMOUT/bench-peers.results" "$OUT"
# user:nfs's stage breakdown over the run (means per command)
if [ -s "$VMOUT/user-nfs.prom" ]; then
	awk -F'[{}]' '/^tcmu_nfs_command_stage_seconds_(sum|count)/ {
		split($1, n, "_"); kind = n[length(n)]
		match($2, /cmd="[a-z]+",stage="[a-z]+"/)
		key = substr($2, RSTART, RLENGTH); split($3, v, " ")
		if (kind == "sum") s[key] = v[1]; else c[key] = v[1]
	} END {
		for (k in c) if (c[k] > 0)
			printf "user:nfs stage %s: %d commands, mean %.1f us\n",
				k, c[k], s[k] / c[k] * 1e6
	}' "$VMOUT/user-nfs.prom" | sort | tee "$OUT.stages"
fi
grep -E '^    (configfs|attrib|initiator|loop)|NOT OK|kernel NFS mount' "$VMOUT/script.log" || true
echo
/usr/bin/python3 bench/plot_guest.py --table "$OUT" "$SECS" "$ROUNDS"
if [ -n "$PNG" ]; then
	/usr/bin/python3 -c 'import matplotlib' 2>/dev/null ||
		apt-get install -y -q --no-install-recommends \
			python3-matplotlib >/dev/null
	/usr/bin/python3 bench/plot_guest.py "$OUT" "$PNG" >/dev/null
	echo "plot: $PNG"
fi
echo "raw lines: $OUT; guest logs: $VMOUT (rc $rc)"
exit $rc
