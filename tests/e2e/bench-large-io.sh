#!/bin/bash
# bench-large-io.sh - guest script: what hw_max_sectors=2048 and
# control=max_data_area_mb=128 change for 1 MiB sequential I/O.
#
#   E2E_BUILD_DIR=$PWD/build tests/e2e/vm-run.sh --timeout 900 --out /tmp/bench-large tests/e2e/bench-large-io.sh
#
# Two user:nfs disks over the guest's nfs-ganesha, both LUNs of one
# tcm_loop target, write-through: "dflt" created as targetcli does by
# default (hw_max_sectors=128: 64 KiB commands), "large" with the settings
# of README.md.  fio (direct=1, libaio, 1 MiB, QD 8, sequential) writes,
# then reads, each disk for BENCH_SECS (10) s; the order of the disks
# alternates, BENCH_ROUNDS (3) rounds.  Prints the median MiB/s of each
# disk and the ratio large / dflt, the average command size that reached
# the disk (from /sys/block/X/stat), and checks that tcmu-runner warned
# about dflt and not about large.
#
# Env: BENCH_SECS, BENCH_ROUNDS, BENCH_QD (8), BENCH_SIZE_MIB (256).
# Exit status: 0 when both disks ran every job and the warning checks
# passed (the numbers themselves are not judged).
set -u
. "$(dirname "${BASH_SOURCE[0]}")/guest-lib.sh"

SECS=${BENCH_SECS:-10}
ROUNDS=${BENCH_ROUNDS:-3}
QD=${BENCH_QD:-8}
SIZE_MIB=${BENCH_SIZE_MIB:-256}
LARGE="hw_max_sectors=2048 control=max_data_area_mb=128"
NAMES=(dflt large)
declare -A OPTS=([dflt]="" [large]=" $LARGE") DEV=()
W=$E2E_WORK/bench
EXPORT=$E2E_WORK/nfs/export
TCMU_LOG=$E2E_OUT/tcmu-runner/tcmu-runner.log
RES=$E2E_OUT/bench-large-io.results
FAILS=0
ok()    { e2e_log "ok: $*"; }
notok() { e2e_log "NOT OK: $*"; FAILS=$((FAILS + 1)); }
check() { local d=$1; shift; if "$@"; then ok "$d"; else notok "$d"; fi; }
fatal() { notok "$*"; e2e_log "bench-large-io: aborting"; exit 1; }
show()  { sed 's/^/    /'; }

mkdir -p "$W" "$EXPORT"
command -v fio >/dev/null || fatal "fio not installed (scripts/install-deps.sh)"
SO=$(e2e_find_handler nfs) || fatal "handler_nfs.so not found (build first; E2E_BUILD_DIR)"
e2e_log "plugin: $SO; fio $(fio --version); ${SECS} s per job, $ROUNDS rounds, QD $QD, ${SIZE_MIB} MiB disks"
# Allocated before ganesha exports the dir, so that reads read data.
for n in "${NAMES[@]}"; do
    dd if=/dev/zero of="$EXPORT/$n.img" bs=1M count="$SIZE_MIB" status=none || fatal "backing file $n"
done
start_nfs_server "$EXPORT" || fatal "start nfs-ganesha"
start_tcmu_runner "$SO" || fatal "start tcmu-runner"
WWN=$(new_naa)
mapfile -t D < <({ for n in "${NAMES[@]}"; do
                       echo "/backstores/user:nfs create name=$n size=${SIZE_MIB}M cfgstring=127.0.0.1/export/$n.img?nfsport=2049&mountport=20048${OPTS[$n]}"
                   done
                   tcli_loopback "$WWN" /backstores/user:nfs/dflt /backstores/user:nfs/large
                 } | new_disks_after 2 targetcli_batch)
[ "${#D[@]}" -eq 2 ] || fatal "targetcli create + 2 tcm_loop disks"
DEV[dflt]=${D[0]} DEV[large]=${D[1]}
for n in "${NAMES[@]}"; do
    b=${DEV[$n]#/dev/}
    c=$(ls -d /sys/kernel/config/target/core/user_*/"$n")
    e2e_log "$n: ${DEV[$n]}, create options '${OPTS[$n]# }'"
    { echo "configfs info: $(tr -s ' \n' ' ' < "$c/info")"
      echo "attrib: $(cd "$c/attrib" && for a in hw_max_sectors hw_queue_depth queue_depth max_data_area_mb cmd_time_out qfull_time_out; do [ -f $a ] && printf '%s=%s ' $a "$(cat $a)"; done)"
      echo "initiator: max_sectors_kb=$(cat /sys/block/"$b"/queue/max_sectors_kb) max_hw_sectors_kb=$(cat /sys/block/"$b"/queue/max_hw_sectors_kb) device/queue_depth=$(cat /sys/block/"$b"/device/queue_depth) nr_requests=$(cat /sys/block/"$b"/queue/nr_requests) scheduler='$(cat /sys/block/"$b"/queue/scheduler)'"
      sg_vpd -p bl "${DEV[$n]}" 2>&1 | grep -i 'transfer length'
    } | show
done
grep -E 'nfs/(dflt|large): ' "$TCMU_LOG" | show
check "tcmu-runner warned about dflt's 64 KiB commands" \
    grep -q 'nfs/dflt: commands are at most 65536 bytes (hw_max_sectors=128): create the backstore with hw_max_sectors=2048 control=max_data_area_mb=128 for 1 MiB commands' "$TCMU_LOG"
check "and not about large" bash -c "! grep -q 'nfs/large: commands are at most' '$TCMU_LOG'"
check "large: Block Limits 2048 blocks, the initiator sends up to 1 MiB" \
    bash -c "sg_vpd -p bl '${DEV[large]}' | grep -qi 'maximum transfer length: 2048' && [ \$(cat /sys/block/${DEV[large]#/dev/}/queue/max_sectors_kb) = 1024 ]"

# stat fields: 1 reads, 3 sectors read, 5 writes, 7 sectors written
stat_of() { awk '{print $1, $3, $5, $7}' "/sys/block/${1#/dev/}/stat"; }
# run_job NAME RW ROUND: one fio job; appends "NAME RW ROUND MiB/s avg_cmd_KiB lat_ms" to $RES
run_job() {
    local n=$1 rw=$2 r=$3 dev=${DEV[$1]} s0 s1 out=$W/fio-$1-$2-$3.json
    s0=$(stat_of "$dev")
    fio --name="$n-$rw" --filename="$dev" --direct=1 --ioengine=libaio \
        --rw="$rw" --bs=1M --iodepth="$QD" --runtime="$SECS" --time_based \
        --size="${SIZE_MIB}M" --output-format=json --output="$out" >/dev/null 2>"$W/fio.err" \
        || { show < "$W/fio.err"; return 1; }
    s1=$(stat_of "$dev")
    "$E2E_PY" - "$n" "$rw" "$r" "$out" "$s0" "$s1" >> "$RES" <<'EOF' || return 1
import json, sys
n, rw, r, path, s0, s1 = sys.argv[1:]
j = json.load(open(path))["jobs"][0]
d = j["read" if rw == "read" else "write"]
if j["error"] or d["io_bytes"] == 0:
    sys.exit("fio job %s-%s: error %d, %d bytes" % (n, rw, j["error"], d["io_bytes"]))
a = [int(x) for x in s0.split()]
b = [int(x) for x in s1.split()]
ios, sec = (b[0] - a[0], b[1] - a[1]) if rw == "read" else (b[2] - a[2], b[3] - a[3])
print(n, rw, r, "%.1f" % (d["bw_bytes"] / 1048576.0),
      "%.0f" % (sec * 512 / 1024.0 / max(ios, 1)),
      "%.1f" % (d["clat_ns"]["mean"] / 1e6))
EOF
    e2e_log "round $r $n $rw: $(tail -1 "$RES" | awk '{print $4 " MiB/s, " $5 " KiB per command, mean latency " $6 " ms"}')"
}

: > "$RES"
for r in $(seq "$ROUNDS"); do
    if [ $((r % 2)) = 1 ]; then order="dflt large"; else order="large dflt"; fi
    for rw in write read; do
        for n in $order; do
            check "fio $rw on $n (round $r)" run_job "$n" "$rw" "$r"
        done
    done
done

e2e_log "results (name rw round MiB/s KiB/cmd lat_ms):"
show < "$RES"
"$E2E_PY" - "$RES" "$SECS" "$ROUNDS" "$QD" <<'EOF' | tee "$E2E_OUT/bench-large-io.table"
import statistics, sys
path, secs, rounds, qd = sys.argv[1:]
rows = [l.split() for l in open(path) if l.strip()]
def med(n, rw, col):
    v = [float(x[col]) for x in rows if x[0] == n and x[1] == rw]
    return statistics.median(v) if v else float("nan")
print()
print("1 MiB sequential, O_DIRECT, libaio, QD %s, %s s per job, median of %s rounds" % (qd, secs, rounds))
print()
print("| | default (64 KiB commands) | hw_max_sectors=2048 control=max_data_area_mb=128 | ratio |")
print("|---|---|---|---|")
for rw, label in (("write", "seq write (write-through)"), ("read", "seq read")):
    a, b = med("dflt", rw, 3), med("large", rw, 3)
    print("| %s, MiB/s | %.1f | %.1f | **%.2fx** |" % (label, a, b, b / a))
    print("| %s, KiB per command | %.0f | %.0f | |" % (label, med("dflt", rw, 4), med("large", rw, 4)))
    print("| %s, mean latency ms | %.1f | %.1f | |" % (label, med("dflt", rw, 5), med("large", rw, 5)))
EOF

check "LIO clearconfig" lio_teardown
check "tcmu-runner stops cleanly" stop_tcmu_runner
check "ganesha stops cleanly" stop_nfs_server
grep -E 'nfs/(dflt|large): closed' "$TCMU_LOG" | show
if [ "$FAILS" -eq 0 ]; then
    e2e_log "BENCH-LARGE-IO DONE"
    exit 0
fi
e2e_log "BENCH-LARGE-IO: $FAILS check(s) failed"
exit 1
