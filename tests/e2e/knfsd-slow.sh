#!/bin/bash
# knfsd-slow.sh - guest script: a user:nfs disk with DEFAULT options on a
# slow kernel NFS server, beside the kernel's own way to the same export.
# knfsd (tests/e2e/knfsd-lib.sh) exports an ext4 whose device delays every
# write and flush by 1500 ms (device-mapper "delay"; reads are not
# delayed), so every fsync, COMMIT and stable WRITE on the server waits
# for several slow disk writes (one O_DSYNC 4 KiB write there: ~6 s).
# Two LUNs of one tcm_loop target:
#   nfs     user:nfs, cfgstring 127.0.0.1/knfsd/export/nfs.img and nothing
#           else (default timeout=, stable=, write-through), with the
#           README's create options;
#   fileio  LIO fileio write_back=false (O_DSYNC) on fileio.img through a
#           kernel NFSv3 `hard` mount of the same export: the peer.
# fio (libaio, direct=1) does 4 KiB random writes at QD 4 on both at once
# for 30 s.  Recorded for each: bytes written, errors, mean and max write
# latency; and the guest's dmesg.
#
# Asserted (for both disks; the peer's shows the setup is sound):
#   - bytes written > 0 within the run;
#   - no I/O error reaching the initiator (dmesg: "I/O error" or "FAILED
#     Result" on that disk; fio's error count);
#   - fio finished within E2E_SLOW_GRACE (45) s after its 30 s: a write
#     still outstanding then is older than the disk's command timeout
#     (30 s), so Linux is retrying it and will, 180 s after it was first
#     sent, fail it with an I/O error.  Rather than sit through that, the
#     test records the figures at that moment, fails, and lifts the delay
#     (reloading the dm table sends what it holds at once) so the guest can
#     finish.  E2E_SLOW_GRACE=200 waits the 180 s out (to see the errors).
#
#   E2E_BUILD_DIR=$PWD/build tests/e2e/vm-run.sh --timeout 600 tests/e2e/knfsd-slow.sh
#
# Env: E2E_SLOW_SECS (30) fio run time, E2E_SLOW_DELAY_MS (1500),
# E2E_SLOW_QD (4), E2E_SLOW_SIZE_MIB (32) per disk, E2E_SLOW_GRACE (45).
# Results: $E2E_OUT/knfsd-slow.results ("DISK bytes ios errors mean_ms
# max_ms finished_in_time io_errors_in_dmesg"), fio's JSON in
# $E2E_OUT/fio-slow-{nfs,fileio}.json.
# Exit status: 0 when every check passed, 1 otherwise.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/guest-lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/knfsd-lib.sh"

SECS=${E2E_SLOW_SECS:-30}
DELAY_MS=${E2E_SLOW_DELAY_MS:-1500}
QD=${E2E_SLOW_QD:-4}
SIZE_MIB=${E2E_SLOW_SIZE_MIB:-32}
: "${E2E_KNFSD_FS_MIB:=$(( 2 * SIZE_MIB + 64 ))}"   # both files and room for ext4
GRACE=${E2E_SLOW_GRACE:-45}
FAILS=0
ok()    { e2e_log "ok: $*"; }
notok() { e2e_log "NOT OK: $*"; FAILS=$((FAILS + 1)); }
check() { local d=$1; shift; if "$@"; then ok "$d"; else notok "$d"; fi; }
fatal() { notok "$*"; e2e_log "KNFSD-SLOW E2E FAILED (fatal)"; exit 1; }
show()  { sed 's/^/    | /'; }

W=$E2E_WORK/knfsd-slow
MNT=/run/knfsd-peer
RES=$E2E_OUT/knfsd-slow.results
LARGE="hw_max_sectors=2048 control=max_data_area_mb=128"
NAMES=(nfs fileio)
CFG="127.0.0.1$E2E_KNFSD_EXPORT_DIR/nfs.img"
declare -A DEV FPID FIN STAT0 AT_DEADLINE
mkdir -p "$W" "$MNT"
: > "$RES"

metric() {   # NAME : a metric of the user:nfs device (first sample)
    awk -v m="tcmu_nfs_$1" '$1 ~ "^"m"[{]" && index($1, "backstore=\"nfs\"") {print $NF; exit}' \
        /run/tcmu-nfs/metrics/uio*.prom 2>/dev/null
}
hist() {     # OP : "count mean_ms" of the user:nfs RPC latency histogram
    awk -v op="op=\"$1\"" 'index($1, "backstore=\"nfs\"") && index($1, op) {
            if ($1 ~ /_sum[{]/) s = $NF; if ($1 ~ /_count[{]/) c = $NF }
         END { printf "%d %.0f", c, c ? s / c * 1000 : 0 }' /run/tcmu-nfs/metrics/uio*.prom 2>/dev/null
}
# disk_w NAME : "writes_completed sectors_written in_flight" from sysfs
disk_w() { awk '{print $5, $7, $9}' "/sys/block/${DEV[$1]#/dev/}/stat"; }
positive() { [[ "$1" =~ ^[0-9]+$ ]] && [ "$1" -gt 0 ]; }
fio_running() { local n; for n in "$@"; do kill -0 "${FPID[$n]}" 2>/dev/null && return 0; done; return 1; }
io_errors() {  # NAME : failed requests on that disk in dmesg since the start
    local b=${DEV[$1]#/dev/} e f
    e=$(dmesg | tail -n +$((DM0 + 1)) | grep -c "I/O error, dev $b,")
    f=$(dmesg | tail -n +$((DM0 + 1)) | grep -c "\[$b\].*FAILED Result")
    echo $(( e > f ? e : f ))
}

# ------------------------------------------------------------------ setup
e2e_log "slow knfsd: writes delayed ${DELAY_MS} ms; fio randwrite 4k QD $QD direct ${SECS} s on user:nfs and on fileio over a kernel NFS mount; grace ${GRACE} s"
command -v fio >/dev/null || fatal "fio not installed (scripts/install-deps.sh)"
SO=$(e2e_find_handler nfs) || fatal "handler_nfs.so not found (build first; E2E_BUILD_DIR)"
start_knfsd || fatal "start knfsd"
for n in "${NAMES[@]}"; do
    dd if=/dev/zero of="$E2E_KNFSD_EXPORT_DIR/$n.img" bs=1M count="$SIZE_MIB" status=none || fatal "backing file $n"
done
chmod 0600 "$E2E_KNFSD_EXPORT_DIR"/*.img && sync
modprobe -a nfsv3 target_core_file 2>/dev/null
# The kernel client as an admin would mount it: hard, default rsize/wsize,
# ports from the portmapper.
timeout 60 mount -t nfs -o vers=3,proto=tcp,hard,nolock "127.0.0.1:$E2E_KNFSD_EXPORT_DIR" "$MNT" \
    || fatal "kernel NFSv3 mount of $E2E_KNFSD_EXPORT_DIR"
e2e_log "kernel NFS mount: $(grep " $MNT " /proc/mounts)"
export TCMU_NFS_METRICS_INTERVAL=1
start_tcmu_runner "$SO" || fatal "start tcmu-runner"
WWN=$(new_naa)
mapfile -t D < <({ echo "/backstores/user:nfs create name=nfs size=${SIZE_MIB}M cfgstring=$CFG $LARGE"
                   tcli_fileio fileio "$MNT/fileio.img" "${SIZE_MIB}M"
                   tcli_loopback "$WWN" /backstores/user:nfs/nfs /backstores/fileio/fileio
                 } | new_disks_after 2 targetcli_batch)
[ "${#D[@]}" -eq 2 ] || fatal "targetcli create + 2 tcm_loop disks"
DEV[nfs]=${D[0]} DEV[fileio]=${D[1]}
grep -E 'nfs/nfs: opened' "$E2E_OUT/tcmu-runner/tcmu-runner.log" | sed 's/.*tnfs_dev_open:[0-9]* //' | show
cache_type() { cat /sys/block/"${DEV[$1]#/dev/}"/device/scsi_disk/*/cache_type; }
FINFO=$(cat /sys/kernel/config/target/core/fileio_*/fileio/info)
check "fileio is write_back=false (O_DSYNC), both disks write through" \
    bash -c "grep -q O_DSYNC <<< '$FINFO' && [ '$(cache_type fileio)' = 'write through' ] && [ '$(cache_type nfs)' = 'write through' ]"
for n in "${NAMES[@]}"; do
    b=${DEV[$n]#/dev/}
    e2e_log "$n: ${DEV[$n]}, command timeout $(cat /sys/block/"$b"/device/timeout) s, max_sectors_kb $(cat /sys/block/"$b"/queue/max_sectors_kb)"
done

knfsd_set_write_delay "$DELAY_MS" || fatal "dm-delay ${DELAY_MS} ms"
e2e_log "server disk: $(dmsetup table "$E2E_KNFSD_DM")"
# What one stable write costs on the server itself (no NFS): the floor.
t0=$(date +%s.%N)
dd if=/dev/zero of="$E2E_KNFSD_EXPORT_DIR/probe" bs=4k count=1 oflag=dsync status=none
PROBE=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')
e2e_log "one O_DSYNC 4 KiB write on the server's ext4: $PROBE s"

# ------------------------------------------------------------------ fio
DM0=$(dmesg | wc -l)
for n in "${NAMES[@]}"; do
    STAT0[$n]=$(disk_w "$n")
    fio --name="$n" --filename="${DEV[$n]}" --ioengine=libaio --direct=1 \
        --rw=randwrite --bs=4k --iodepth="$QD" --size="${SIZE_MIB}M" \
        --time_based --runtime="$SECS" --randrepeat=0 --norandommap \
        --continue_on_error=all --output-format=json \
        --output="$W/$n.json" > "$W/$n.out" 2>&1 &
    FPID[$n]=$!
done
T_START=$(date +%s)
e2e_log "fio running on ${DEV[nfs]} (pid ${FPID[nfs]}) and ${DEV[fileio]} (pid ${FPID[fileio]})"
DEADLINE=$(( T_START + SECS + GRACE ))
MID=0
while fio_running "${NAMES[@]}" && [ "$(date +%s)" -lt "$DEADLINE" ]; do
    # one line at half time: what is going on
    if [ "$MID" = 0 ] && [ "$(date +%s)" -ge $(( T_START + SECS / 2 )) ]; then
        MID=1
        e2e_log "at $((SECS / 2)) s: sysfs writes/sectors/in flight: nfs $(disk_w nfs), fileio $(disk_w fileio); user:nfs writes $(metric writes_total), connection_timeouts $(metric connection_timeouts_total), rpcs_resent $(metric rpcs_resent_total), rpc_timeouts $(metric rpc_timeouts_total)"
    fi
    sleep 1
done
T_DEADLINE=$(( $(date +%s) - T_START ))
for n in "${NAMES[@]}"; do
    if kill -0 "${FPID[$n]}" 2>/dev/null; then FIN[$n]=0; else FIN[$n]=1; wait "${FPID[$n]}"; fi
    read -r w0 s0 _ <<< "${STAT0[$n]}"
    read -r w1 s1 inf <<< "$(disk_w "$n")"
    AT_DEADLINE[$n]="$((w1 - w0)) $(( (s1 - s0) * 512 )) $inf"
done
ENGINE="user:nfs engine: writes $(metric writes_total), stable_writes $(metric stable_writes_total), commits $(metric commits_total), connection_timeouts $(metric connection_timeouts_total), rpcs_resent $(metric rpcs_resent_total), rpc_timeouts $(metric rpc_timeouts_total), reconnects $(metric reconnects_total), rpcs_in_flight $(metric rpcs_in_flight); RPC latency count/mean ms: write $(hist write), commit $(hist commit)"
e2e_log "$ENGINE"
LIFTED=0
if [ "${FIN[nfs]}" = 0 ] || [ "${FIN[fileio]}" = 0 ]; then
    for n in "${NAMES[@]}"; do
        [ "${FIN[$n]}" = 1 ] && continue
        read -r wn bn inf <<< "${AT_DEADLINE[$n]}"
        notok "$n: fio still waiting ${T_DEADLINE} s after its start (${SECS} s run + ${GRACE} s): $inf writes in flight, each older than the ${GRACE} s grace and the disk's $(cat /sys/block/"${DEV[$n]#/dev/}"/device/timeout) s command timeout; $wn writes ($bn bytes) completed so far"
    done
    e2e_log "lifting the write delay so the guest can finish (the figures above are the run's)"
    knfsd_set_write_delay 0 && LIFTED=1
    e2e_wait 90 "fio to finish after the delay was lifted" bash -c "! kill -0 ${FPID[nfs]} 2>/dev/null && ! kill -0 ${FPID[fileio]} 2>/dev/null" \
        || e2e_log "fio still running 90 s after the delay was lifted"
    for n in "${NAMES[@]}"; do [ "${FIN[$n]}" = 0 ] && ! kill -0 "${FPID[$n]}" 2>/dev/null && wait "${FPID[$n]}"; done
fi

# ------------------------------------------------------------------ results
# fio's own figures (for a job that overran: including what completed after
# the delay was lifted, so the bytes asserted are sysfs's at the deadline).
fio_fig() {   # NAME -> "bytes good_writes errors mean_ms max_ms" or "- - - - -"
    "$E2E_PY" - "$W/$1.json" <<'EOF' 2>/dev/null || echo "- - - - -"
import json, sys
text = open(sys.argv[1]).read()
j = json.loads(text[text.index("{"):])["jobs"][0]
w = j["write"]
err = j.get("total_err", j["error"])
print(w["io_bytes"], w["total_ios"] - err, err,
      "%.0f" % (w["lat_ns"]["mean"] / 1e6), "%.0f" % (w["lat_ns"]["max"] / 1e6))
EOF
}
e2e_log "kernel messages during the run (first 25):"
dmesg | tail -n +$((DM0 + 1)) | head -25 | show
printf '%-7s %12s %7s %7s %9s %9s %9s %10s\n' disk bytes writes errors mean_ms max_ms in_time io_errors | tee -a "$RES"
for n in "${NAMES[@]}"; do
    read -r wn bn _ <<< "${AT_DEADLINE[$n]}"
    read -r fb fw fe fm fx <<< "$(fio_fig "$n")"
    ioe=$(io_errors "$n")
    if [ "${FIN[$n]}" = 1 ]; then bytes=$fb writes=$fw; else bytes=$bn writes=$wn; fi
    printf '%-7s %12s %7s %7s %9s %9s %9s %10s\n' "$n" "$bytes" "$writes" "$fe" "$fm" "$fx" \
        "$([ "${FIN[$n]}" = 1 ] && echo yes || echo no)" "$ioe" | tee -a "$RES"
    [ "${FIN[$n]}" = 0 ] && [ "$fb" != - ] && e2e_log "$n: after the delay was lifted fio ended with $fb bytes in $fw writes, mean latency $fm ms, max $fx ms, $fe errors"
    cp "$W/$n.json" "$E2E_OUT/fio-slow-$n.json" 2>/dev/null
    label=$([ "$n" = nfs ] && echo "user:nfs" || echo "fileio on the kernel mount (the peer)")
    check "$label: bytes written > 0 within the run ($bytes)" positive "$bytes"
    check "$label: no I/O error reaching the initiator (dmesg: $ioe, fio errors: $fe)" \
        bash -c "[ '$ioe' = 0 ] && { [ '$fe' = 0 ] || [ '$fe' = - ]; }"
done
echo "$ENGINE" >> "$RES"
echo "server: one O_DSYNC 4 KiB write $PROBE s; write delay $DELAY_MS ms; fio ${SECS} s, QD $QD; grace $GRACE s; delay lifted: $LIFTED" >> "$RES"
grep -E 'nfs/nfs:' "$E2E_OUT/tcmu-runner/tcmu-runner.log" | grep -vE 'opened|metrics in' | sed -E 's/.*\] //; s/[0-9]+/N/g' | sort | uniq -c | sort -rn | head -8 | show

# ------------------------------------------------------------------ teardown
[ "$LIFTED" = 1 ] || knfsd_set_write_delay 0
if fio_running "${NAMES[@]}"; then
    notok "fio still running: not tearing down (the VM's timeout ends it)"
else
    check "LIO clearconfig" lio_teardown
    check "tcmu-runner stops cleanly" stop_tcmu_runner
    check "kernel NFS umount" timeout 60 umount "$MNT"
    check "knfsd stops cleanly" stop_knfsd
fi
e2e_log "SUMMARY: $(paste -sd';' "$RES" | tr -s ' ')"
if [ "$FAILS" -eq 0 ]; then
    e2e_log "KNFSD-SLOW E2E PASSED"
    exit 0
fi
e2e_log "KNFSD-SLOW E2E FAILED: $FAILS check(s) failed"
exit 1
