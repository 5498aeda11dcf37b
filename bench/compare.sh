#!/bin/bash
# The engine alone against the other ways to reach the same file durably,
# side by side on the test ganesha (issue 7's engine-alone table):
#   - bench/nfs_bench: the engine, write-through, default cfgstring;
#   - bench/raw_durable: raw libnfs RPCs with each fixed durable policy
#     (commit-each, commit-shared, filesync; plain READs for reads);
#   - qemu-img bench on nfs:// (QEMU's libnfs driver, qemu-block-extra),
#     -t writethrough for writes, -t none for reads.
# Rows: 4k random writes QD 1/8/32, 1 MiB sequential writes QD 1/8/32,
# 4k random reads QD 1/32, 1 MiB sequential reads QD 1/8.  Every
# repetition runs every row, and within a row every tool, one after the
# other (the tool order rotates by repetition); the table shows medians,
# engine / best other from those medians, and the median [min-max] of
# the ratio taken within each repetition (robust to the load changing
# between repetitions).
#
#   bench/compare.sh [-n REPS] [-t SECS | -l] [-e SUFFIX]... [-r ROW]...
#                    [-o RAWFILE]
#     -n REPS    repetitions (default 3)
#     -t SECS    seconds per run (default 3); -l: 10
#     -e SUFFIX  also run the engine with "&SUFFIX" on its cfgstring, e.g.
#                -e nconnect=2 (repeatable; EXTRA="a b" in the environment
#                adds one variant per word)
#     -r ROW     only this row, e.g. -r randwrite:4096:8 (repeatable)
#     -o FILE    raw result lines (default bench/compare-results.txt)
#   BUILD=DIR (default build-bench), CMAKE_ARGS="..." for a first configure.
#
# Only one ganesha can run on a host (fixed ports) and others share it:
# each stretch of runs that starts one holds flock /tmp/nfs-test.lock for
# at most LOCK_BUDGET seconds (default 150) of planned runs, so a long
# table is cut into several server lifetimes.  All tools of one row in
# one repetition always share one server.  Needs root (ganesha).
set -eu
cd "$(dirname "$0")/.."

LOCK=/tmp/nfs-test.lock
size=$((1024 * 1024 * 1024))
host=127.0.0.1
ports="nfsport=2049&mountport=20048"

# One run: TOOL ROW.  Appends "REP TOOL RW BS QD IOPS MBS" to $OUT.
run_one() {
	local tool=$1 row=$2 rw bs qd line iops mbs out count t
	IFS=: read -r rw bs qd <<<"$row"
	case $tool in
	engine*)
		local cfg="$host/export/bench.img?$ports"
		[ "$tool" != engine ] && cfg="$cfg&${tool#engine+}"
		line=$("$BUILD"/bench/nfs_bench "$cfg" $size "$SECS" "$row") ||
			line="$line FAILED"
		;;
	raw*)
		local pol=${tool#raw:}
		[ "$pol" = read ] && pol=commit-shared	# reads: unused
		line=$("$BUILD"/bench/raw_durable -p "$pol" \
			"nfs://$host/export/bench.img?$ports" $size "$SECS" \
			"$row") || line="$line FAILED"
		;;
	qemu)
		line=$(qemu_run "$rw" "$bs" "$qd") || line="$line FAILED"
		;;
	esac
	echo "  $tool: $line" >&2
	case $line in
	*FAIL*) echo "$REP $tool $rw $bs $qd FAIL FAIL" >>"$OUT"; return ;;
	esac
	read -r _ _ _ _ iops _ mbs _ <<<"$line"
	echo "$REP $tool $rw $bs $qd $iops $mbs" >>"$OUT"
}

# qemu-img bench runs a count, not a time: size the count from the last
# rate seen for this row (a short probe the first time).
qemu_run() {
	local rw=$1 bs=$2 qd=$3 key="$1:$2:$3" rate count t args try
	args=(-f raw -d "$qd" -s "$bs")
	# no random mode: stride by an odd number of blocks, which visits
	# every block of the power-of-two-sized file once per lap, scattered
	case $rw in
	rand*) args+=(-S $((bs * 40503))) ;;
	esac
	case $rw in
	*write) args+=(-w -t writethrough) ;;
	*) args+=(-t none) ;;
	esac
	rate=$(sed -n "s/^$key //p" "$STATE/qemu-rates" 2>/dev/null | tail -1)
	count=$(awk -v r="${rate:-0}" -v s="$SECS" -v q="$qd" \
		'BEGIN { c = int(r * s); m = q * 8 > 64 ? q * 8 : 64
			 print c < m ? m : c }')
	# a run far shorter than asked is run again, longer; the first
	# requests of a fresh process are slow, so never trust one probe
	for try in 1 2 3 4; do
		t=$(qemu_time "${args[@]}" -c "$count") || return 1
		awk -v t="$t" -v s="$SECS" 'BEGIN { exit !(t < 0.7 * s) }' ||
			break
		[ $try = 4 ] && break
		count=$(awk -v c="$count" -v t="$t" -v s="$SECS" \
			'BEGIN { f = t > 0 ? s / t : 100; if (f > 100) f = 100
				 print int(c * f * 1.05) + 1 }')
	done
	awk -v c="$count" -v t="$t" -v bs="$bs" -v rw="$rw" -v q="$qd" \
		-v m="${args[-1]}" \
		'BEGIN { printf "%-10s bs=%-8d qd=%-3d qemu-%-7s %10.0f IOPS " \
			 "%9.1f MB/s (%d in %.2f s)\n", rw, bs, q, m, c / t,
			 c * bs / t / 1e6, c, t }'
	echo "$key $(awk -v c="$count" -v t="$t" 'BEGIN { print c / t }')" \
		>>"$STATE/qemu-rates"
}

qemu_time() {
	local out
	out=$(qemu-img bench "$@" "nfs://$host/export/bench.img" 2>&1) || {
		echo "qemu-img bench failed: $out" >&2
		return 1
	}
	# "Run completed in 3.141 seconds."
	sed -n 's/^Run completed in \([0-9.]*\) seconds.*/\1/p' <<<"$out"
}

tools_for() {
	local row=$1 v
	echo engine
	for v in $VARIANTS; do echo "engine+$v"; done
	case $row in
	*write*) printf '%s\n' raw:commit-each raw:commit-shared \
			 raw:filesync ;;
	*) echo raw:read ;;
	esac
	[ "$HAVE_QEMU" = 1 ] && echo qemu
	return 0
}

# Under the lock: one server lifetime, rows given, tool order rotated.
chunk() {
	local row tools i n
	trap 'tests/nfs-server.sh stop "$STATE" || true' EXIT
	tests/nfs-server.sh start "$STATE"
	for row in "$@"; do
		echo "rep $REP: $row" >&2
		mapfile -t tools < <(tools_for "$row")
		n=${#tools[@]}
		for i in $(seq 0 $((n - 1))); do
			run_one "${tools[$(((i + REP) % n))]}" "$row"
		done
	done
}

if [ "${1:-}" = --chunk ]; then
	shift
	chunk "$@"
	exit 0
fi

reps=3
SECS=3
VARIANTS=${EXTRA:-}
OUT=bench/compare-results.txt
rows=()
while getopts "n:t:le:r:o:" opt; do
	case $opt in
	n) reps=$OPTARG ;;
	t) SECS=$OPTARG ;;
	l) SECS=10 ;;
	e) VARIANTS="$VARIANTS $OPTARG" ;;
	r) rows+=("$OPTARG") ;;
	o) OUT=$OPTARG ;;
	*) sed -n '2,/^set -eu/p' "$0" | sed '$d' >&2; exit 2 ;;
	esac
done
if [ ${#rows[@]} -eq 0 ]; then
	rows=(randwrite:4096:1 randwrite:4096:8 randwrite:4096:32
	      write:1048576:1 write:1048576:8 write:1048576:32
	      randread:4096:1 randread:4096:32
	      read:1048576:1 read:1048576:8)
fi
BUILD=${BUILD:-build-bench}
HAVE_QEMU=1
if ! qemu-img --help 2>/dev/null | grep -qw nfs; then
	echo "compare.sh: qemu-img has no nfs driver (install qemu-utils" \
	     "and qemu-block-extra): no qemu column" >&2
	HAVE_QEMU=0
fi
if [ ! -f "$BUILD/CMakeCache.txt" ]; then
	# shellcheck disable=SC2086
	cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		${CMAKE_ARGS:-} >/dev/null
fi
cmake --build "$BUILD" -j "$(nproc)" --target nfs_bench raw_durable \
	>/dev/null

STATE=$(mktemp -d /tmp/tcmu-nfs-compare.XXXXXX)
child=
# the chunk under flock stops its server when told, then the state goes
stop_chunk() {
	local kids
	if [ -n "$child" ]; then
		# the chunk if flock started it yet, else flock itself
		kids=$(pgrep -P "$child" || echo "$child")
		# shellcheck disable=SC2086
		kill -TERM $kids 2>/dev/null || true
		wait "$child" 2>/dev/null || true
	fi
	exit 130
}
trap stop_chunk INT TERM
trap 'rm -rf "$STATE"' EXIT
mkdir -p "$STATE/export"
# in the server's page cache, as the baselines were measured
dd if=/dev/zero of="$STATE/export/bench.img" bs=1M count=$((size >> 20)) \
	status=none
export SECS VARIANTS OUT STATE BUILD HAVE_QEMU
: >"$OUT"
budget=${LOCK_BUDGET:-150}
for REP in $(seq "$reps"); do
	export REP
	# cut the rows into stretches of at most $budget s of planned runs
	todo=("${rows[@]}")
	while [ ${#todo[@]} -gt 0 ]; do
		take=()
		planned=0
		while [ ${#todo[@]} -gt 0 ]; do
			n=$(tools_for "${todo[0]}" | wc -l)
			cost=$(awk -v n="$n" -v s="$SECS" \
				'BEGIN { print int(n * (s + 1) + 0.5) }')
			if [ ${#take[@]} -gt 0 ] &&
			   [ $((planned + cost)) -gt "$budget" ]; then
				break
			fi
			take+=("${todo[0]}")
			todo=("${todo[@]:1}")
			planned=$((planned + cost))
		done
		flock -n "$LOCK" true ||
			echo "compare.sh: waiting for $LOCK" >&2
		# in the background, so that a signal here can stop it
		flock -w "${LOCK_WAIT:-3600}" "$LOCK" \
			"$0" --chunk "${take[@]}" &
		child=$!
		wait $child
		child=
	done
done
/usr/bin/python3 bench/compare.py "$OUT"
