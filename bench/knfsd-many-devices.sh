#!/bin/bash
# knfsd-many-devices.sh - guest script: bench/many_devices.c against the
# Linux kernel NFS server (knfsd, tests/e2e/knfsd-lib.sh) in the QEMU
# guest, once per set of cfgstring keys, on one knfsd started once.
#
#   E2E_BUILD_DIR=$PWD/build tests/e2e/vm-run.sh --timeout 3000 \
#       bench/knfsd-many-devices.sh [N] [SECONDS] [KEYS...]
#
# N (1024) devices of 1 MiB (sparse files in the export), SECONDS (3) of
# QD1 4 KiB writes and reads on device 0 for each latency figure, KEYS:
# one run per argument (default: "resvport=0" then "share=1").  The
# export is `insecure` so that resvport=0 (any port) is allowed; share=1
# keeps the default reserved ports.  Keys with vers=4.1/4.2 start knfsd
# with NFSv4.1 and 4.2 beside v3 (E2E_KNFSD_V4=1) and use the v4 path.
#
# knfsd lets a service hold (threads + 3) * 20 connections (220 with the
# guest's 8 threads) and closes its least recently used one for each new
# connection past that ("too many open connections" in dmesg): what this
# shows is what devices with connections of their own meet there, and
# whether share=1 stays within it.  For each run: many_devices' lines,
# then knfsd_established (connections on 2049 at the end),
# knfsd_too_many (the number of such kernel messages during the run; the
# kernel rate-limits them, so a floor) and many_devices_rc.
# Results: $E2E_OUT/knfsd-many-devices.txt; the devices' warnings in
# $E2E_OUT/knfsd-many-devices-RUN.err.  Figures:
# docs/evidence/benchmarks.md ("Many devices on one server").
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../tests/e2e/guest-lib.sh"
. "$E2E_TESTS_DIR/knfsd-lib.sh"

N=${1:-1024}
SECS=${2:-3}
shift $(($# >= 2 ? 2 : $#))
[ $# -gt 0 ] || set -- resvport=0 share=1
BIN=$E2E_BUILD_DIR/bench/many_devices
RES=$E2E_OUT/knfsd-many-devices.txt
[ -x "$BIN" ] || e2e_die "$BIN not built (cmake --build ... --target many_devices)"

E2E_KNFSD_EXPORT_OPTS=rw,sync,insecure
# NFSv4 paths are below knfsd's v4 root (knfsd-lib.sh)
export_path() {
	case "$1" in
	*vers=4*) echo "${E2E_KNFSD_EXPORT_DIR#"$E2E_KNFSD_V4_PREFIX"}" ;;
	*) echo "$E2E_KNFSD_EXPORT_DIR" ;;
	esac
}
case "$*" in *vers=4*) export E2E_KNFSD_V4=1 ;; esac
start_knfsd || e2e_die "knfsd did not start"
for i in $(seq 0 $((N - 1))); do
	truncate -s 1M "$E2E_KNFSD_EXPORT_DIR/dev-$i" || e2e_die "truncate dev-$i"
done
e2e_log "$N files of 1 MiB in $E2E_KNFSD_EXPORT_DIR; $(cat /proc/fs/nfsd/threads) nfsd threads"
: > "$RES"
run=0
for keys in "$@"; do
	before=$(dmesg | grep -c 'too many open connections')
	e2e_log "run $run: $N devices, keys '$keys'"
	{
		echo "=== run $run keys $keys (knfsd, $(cat /proc/fs/nfsd/threads) threads, export $E2E_KNFSD_EXPORT_OPTS)"
		"$BIN" "127.0.0.1$(export_path "$keys")" dev "$N" $((1024 * 1024)) \
			"$SECS" "$keys" 2> "$E2E_OUT/knfsd-many-devices-$run.err"
		echo "many_devices_rc $?"
		echo "knfsd_established $(ss -Htn state established '( sport = :2049 )' | wc -l)"
		echo "knfsd_too_many $(( $(dmesg | grep -c 'too many open connections') - before ))"
		echo "device_warnings $(wc -l < "$E2E_OUT/knfsd-many-devices-$run.err")"
	} >> "$RES"
	tail -n 4 "$RES" | tr '\n' ' '; echo
	# the connections of a run that ended must not count in the next
	e2e_wait 60 "knfsd's connections closed" \
		sh -c "[ \$(ss -Htn state established '( sport = :2049 )' | wc -l) = 0 ]" \
		|| true
	run=$((run + 1))
done
stop_knfsd
cat "$RES"
