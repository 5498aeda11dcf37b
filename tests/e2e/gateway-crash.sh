#!/bin/bash
# gateway-crash.sh - guest script: the gateway crash test.  tcmu-runner
# (with build/handler_nfs.so) is killed with SIGKILL and started again,
# over and over, while ackwriter (tests/e2e/ackwriter.c) keeps 32 O_DIRECT
# 4 KiB writes in flight on each of two user:nfs disks on tcm_loop, one
# write-through and one cache=writeback, and records every write that
# completed.  Then every acknowledged write (write-back: every write
# acknowledged before a completed SYNCHRONIZE CACHE) must be on the disk:
# checked in the backing files on the NFS server after a last kill (so no
# clean close helped), and again through the disks after a restart.
#
#   E2E_BUILD_DIR=$PWD/build tests/e2e/vm-run.sh --timeout 600 tests/e2e/gateway-crash.sh
#
# How the disks come back: the LIO configuration lives in configfs (the
# kernel), so it outlives the daemon; the disks and their queued commands
# stay.  tcmu-runner, when it starts, opens every existing TCMU device
# (libtcmu open_devices -> device_add(reopen)): block_dev, reset_ring 1
# (the commands left in the ring complete with BUSY, which the initiator
# retries), the handler's open, unblock.  Only then does it take its D-Bus
# name, so "registered on D-Bus" means "the disks are served again".
#
# Env: E2E_CRASH_MUTATE=rollback makes the test fail on purpose, to show
# that it can: both backing files are copied at the first kill and put
# back before the check (as if the gateway had lost what it acknowledged
# since).  E2E_CRASH_KILLS (6) kills under I/O, E2E_CRASH_SIZE_MIB (8) per
# disk, E2E_CRASH_THREADS (32) writes in flight per disk, E2E_CRASH_SEED
# (random) for the kill points, E2E_ACKWRITER (default
# $E2E_BUILD_DIR/tests/e2e/ackwriter).
# Exit status: 0 when every check passed, 1 otherwise.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/guest-lib.sh"

KILLS=${E2E_CRASH_KILLS:-6}
SIZE_MIB=${E2E_CRASH_SIZE_MIB:-8}
THREADS=${E2E_CRASH_THREADS:-32}
SEED=${E2E_CRASH_SEED:-$(( $(od -An -N2 -tu2 /dev/urandom) ))}
RANDOM=$SEED
FAILS=0
ok()    { e2e_log "ok: $*"; }
notok() { e2e_log "NOT OK: $*"; FAILS=$((FAILS + 1)); }
check() { local d=$1; shift; if "$@"; then ok "$d"; else notok "$d"; fi; }
fatal() { notok "$*"; e2e_log "GATEWAY-CRASH E2E FAILED (fatal)"; exit 1; }
show()  { sed 's/^/    | /'; }

W=$E2E_WORK/crash
mkdir -p "$W"
EXPORT=$E2E_WORK/nfs/export
PORTS="nfsport=$E2E_NFS_PORT&mountport=$E2E_MNT_PORT"
TCMU_LOG=$E2E_OUT/tcmu-runner/tcmu-runner.log
NAMES=(wt wb)
declare -A CFG=(
    [wt]="127.0.0.1/export/wt.img?$PORTS"
    [wb]="127.0.0.1/export/wb.img?cache=writeback&$PORTS"
)
declare -A DEV WPID

# acks NAME : writes acknowledged so far, from the writer's --status file
# (read with the builtin: an exec per poll costs ~0.1 s of the emulated
# CPU the I/O needs).  The number is there twice; a torn read is retried.
acks() {
    local a b _
    for _ in 1 2 3 4 5; do
        { read -r a b < "$W/$1.status"; } 2>/dev/null && [ -n "$a" ] && [ "$a" = "$b" ] \
            && { echo $((10#$a)); return 0; }
    done
    awk '$1 == "A" {n++} END {print n + 0}' "$W/$1.log" 2>/dev/null || echo 0
}
# acks_reach N : every disk's writer has at least N more acks than in
# BASE[name] (or a writer has exited: the caller checks that).
declare -A BASE
acks_reach() {
    local n
    for n in "${NAMES[@]}"; do
        kill -0 "${WPID[$n]}" 2>/dev/null || return 0
        [ "$(acks "$n")" -ge $(( BASE[$n] + $1 )) ] || return 1
    done
}
set_base() { local n; for n in "${NAMES[@]}"; do BASE[$n]=$(acks "$n"); done; }
writers_alive() {
    local n
    for n in "${NAMES[@]}"; do kill -0 "${WPID[$n]}" 2>/dev/null || return 1; done
}
not_registered() { ! _tcmu_registered; }
log_lines() { [ -f "$TCMU_LOG" ] && wc -l < "$TCMU_LOG" || echo 0; }

# kill_runner : SIGKILL tcmu-runner, reap it, wait until D-Bus has dropped
# its name (a new one could not take it before).
kill_runner() {
    local pid=$E2E_TCMU_PID
    [ -n "$pid" ] || return 1
    kill -KILL "$pid" || return 1
    wait "$pid" 2>/dev/null
    E2E_TCMU_PID=""
    e2e_wait 15 "TCMUService1 to leave D-Bus" not_registered
}

# ------------------------------------------------------------------ setup
e2e_log "gateway crash test: $KILLS kills, ${SIZE_MIB} MiB disks, QD $THREADS per disk, seed $SEED"
SO=$(e2e_find_handler nfs) || fatal "handler_nfs.so not found (build first; E2E_BUILD_DIR)"
AW=${E2E_ACKWRITER:-${E2E_BUILD_DIR:-$E2E_CWD/build}/tests/e2e/ackwriter}
[ -x "$AW" ] || fatal "ackwriter not found at $AW (build first)"
e2e_log "plugin: $SO, writer: $AW"
mkdir -p "$EXPORT"
for n in "${NAMES[@]}"; do truncate -s "${SIZE_MIB}M" "$EXPORT/$n.img" || fatal "backing file"; done
start_nfs_server "$EXPORT" || fatal "start nfs-ganesha"
start_tcmu_runner "$SO" || fatal "start tcmu-runner"
WWN=$(new_naa)
mapfile -t D < <({ for n in "${NAMES[@]}"; do
                       echo "/backstores/user:nfs create name=$n size=${SIZE_MIB}M cfgstring=${CFG[$n]} hw_max_sectors=2048 control=max_data_area_mb=64"
                   done
                   tcli_loopback "$WWN" /backstores/user:nfs/wt /backstores/user:nfs/wb
                 } | new_disks_after 2 targetcli_batch)
[ "${#D[@]}" -eq 2 ] || fatal "targetcli create + 2 tcm_loop disks"
DEV[wt]=${D[0]} DEV[wb]=${D[1]}
for n in "${NAMES[@]}"; do
    b=${DEV[$n]#/dev/}
    e2e_log "$n: ${DEV[$n]} cache_type '$(cat /sys/block/"$b"/device/scsi_disk/*/cache_type)', queue_depth $(cat /sys/block/"$b"/device/queue_depth), cfgstring ${CFG[$n]}"
done
check "wt is write through, wb is write back" bash -c "
    grep -qx 'write through' /sys/block/${DEV[wt]#/dev/}/device/scsi_disk/*/cache_type &&
    grep -qx 'write back' /sys/block/${DEV[wb]#/dev/}/device/scsi_disk/*/cache_type"
DM0=$(dmesg | wc -l)
# Flush requests completed by each disk (field 16 of /sys/block/X/stat).
flushes() { awk '{print $16}' "/sys/block/${DEV[$1]#/dev/}/stat"; }
F0_WB=$(flushes wb) F0_WT=$(flushes wt)

# ------------------------------------------------------------------ writers
T_IO=$(e2e_elapsed)
for n in "${NAMES[@]}"; do
    "$AW" write --dev "${DEV[$n]}" --log "$W/$n.log" --mode "$n" \
        --threads "$THREADS" --sync-ms 200 --status "$W/$n.status" > "$W/$n.out" 2>&1 &
    WPID[$n]=$!
done
set_base
e2e_wait 60 "both writers to complete $THREADS writes" acks_reach "$THREADS" \
    || fatal "the writers made no progress"
writers_alive || fatal "a writer exited: $(cat "$W"/*.out)"
ok "writers running (pids ${WPID[wt]} ${WPID[wb]})"

# ------------------------------------------------------------------ kills
KILL_AT=()
k=0
while [ "$k" -lt "$KILLS" ]; do
    k=$((k + 1))
    # A random point: after 16..527 more acks on each disk since I/O resumed.
    n_more=$(( 16 + RANDOM % 512 ))
    e2e_wait 120 "$n_more more acks on each disk" acks_reach "$n_more" \
        || { notok "kill $k: I/O did not go on"; break; }
    writers_alive || { notok "kill $k: a writer exited"; break; }
    if_wt=$(awk '{print $2}' "/sys/block/${DEV[wt]#/dev/}/inflight")
    if_wb=$(awk '{print $2}' "/sys/block/${DEV[wb]#/dev/}/inflight")
    l0=$(log_lines)
    t_kill=$(date +%s.%N)
    kill_runner || { notok "kill $k: kill tcmu-runner"; break; }
    t_gone=$(date +%s.%N)
    KILL_AT+=("$t_kill")
    set_base
    e2e_log "kill $k: tcmu-runner killed after $n_more more acks (acks wt ${BASE[wt]} wb ${BASE[wb]}) at $(date -d @"$t_kill" +%T.%N)"
    check "kill $k hit writes in flight (wt $if_wt, wb $if_wb)" [ $((if_wt + if_wb)) -gt 0 ]
    if [ "$k" = 1 ] && [ "${E2E_CRASH_MUTATE:-}" = rollback ]; then
        for n in "${NAMES[@]}"; do cp "$EXPORT/$n.img" "$W/$n.snap"; done
        e2e_log "MUTATION: backing files copied at kill 1, to be put back before the check"
    fi
    start_tcmu_runner "$SO" > "$W/start.out" 2>&1 \
        || { cat "$W/start.out"; notok "kill $k: restart tcmu-runner"; break; }
    t_up=$(date +%s.%N)
    show < "$W/start.out"
    if ! e2e_wait 120 "I/O to resume on both disks" acks_reach "$THREADS"; then
        notok "kill $k: I/O did not resume within 120 s"; break
    fi
    t_res=$(date +%s.%N)
    r=$(awk -v a="$t_kill" -v g="$t_gone" -v b="$t_up" -v c="$t_res" 'BEGIN{printf "name gone from D-Bus %.1fs, new daemon registered %.1fs, %d more writes seen on each disk %.1fs after the kill", g-a, b-a, '"$THREADS"', c-a}')
    ok "kill $k: $r"
    # What the new daemon logged about the disks (it opened them again).
    tail -n +$((l0 + 1)) "$TCMU_LOG" | grep -E 'nfs/w[tb]:' | head -4 | show
    set_base
done
check "$KILLS kills done" [ "$k" -eq "$KILLS" ]

# ------------------------------------------------------------------ stop
for n in "${NAMES[@]}"; do kill -TERM "${WPID[$n]}" 2>/dev/null; done
for n in "${NAMES[@]}"; do
    if e2e_wait 60 "writer $n to stop" bash -c "! kill -0 ${WPID[$n]}"; then
        wait "${WPID[$n]}"; rc=$?
        show < "$W/$n.out"
        check "writer $n: no write or flush failed (exit $rc)" [ "$rc" = 0 ]
    else
        notok "writer $n still running 60 s after SIGTERM"
        kill -KILL "${WPID[$n]}"
    fi
done
T_IO_END=$(e2e_elapsed)
SYNCS_WB=$(awk '$1 == "S" {n++} END {print n + 0}' "$W/wb.log")
check "wb: the writer's $SYNCS_WB flushes reached the disk as flush requests ($(( $(flushes wb) - F0_WB )); wt: $(( $(flushes wt) - F0_WT )))" \
    [ $(( $(flushes wb) - F0_WB )) -ge "$SYNCS_WB" ]
SLOW=$(for n in "${NAMES[@]}"; do grep '^E ' "$W/$n.log" | grep -o 'slow=[0-9]*'; done | cut -d= -f2 | paste -sd' ')
e2e_log "writes that took over 1 s (in flight across a kill, retried by the initiator): wt/wb $SLOW"
for n in "${NAMES[@]}"; do
    e2e_log "$n: $(grep '^E ' "$W/$n.log" | cut -d' ' -f3-)"
    # From the writer's own clock (the script's own polling lags under
    # load): per kill, the longest pause between two completed writes
    # after it (the outage), and the writes in flight across that pause
    # (submitted before, completed after: retried by the initiator).
    awk -v kills="${KILL_AT[*]}" '
        FNR == 1 { split($0, h, "start="); t0 = h[2] + 0; nk = split(kills, K, " "); pass++; prev = 0 }
        $1 != "A" { next }
        { done = t0 + $7 / 1000; sub_t = done - $6 / 1000 }
        pass == 1 { for (i = nk; i >= 1 && done <= K[i]; i--) ;
                    if (i >= 1 && prev && done - prev > gap[i]) { gap[i] = done - prev; g0[i] = prev; g1[i] = done }
                    prev = done; next }
        { for (i = 1; i <= nk; i++) if (gap[i] && sub_t <= g0[i] && done >= g1[i]) span[i]++ }
        END { for (i = 1; i <= nk; i++)
                  printf "    kill %d: no write completed for %.1f s; I/O resumed %.1f s after the kill; %d writes in flight across it\n",
                         i, gap[i], g1[i] - K[i], span[i] }' "$W/$n.log" "$W/$n.log"
done
e2e_log "kernel messages during the run:"
dmesg | tail -n +$((DM0 + 1)) | head -20 | show
check "no I/O error in dmesg" bash -c "! dmesg | tail -n +$((DM0 + 1)) | grep -qiE 'I/O error|FAILED Result'"

# ------------------------------------------------------------------ verify
# A last SIGKILL with no I/O: nothing may depend on a clean close.
check "last kill (no clean close before the check)" kill_runner
if [ "${E2E_CRASH_MUTATE:-}" = rollback ]; then
    for n in "${NAMES[@]}"; do
        dd if="$W/$n.snap" of="$EXPORT/$n.img" bs=1M conv=notrunc status=none
    done
    e2e_log "MUTATION: backing files rolled back to their state at kill 1"
fi
for n in "${NAMES[@]}"; do
    cp "$W/$n.log" "$E2E_OUT/ackwriter-$n.log"
    "$AW" verify --dev "$EXPORT/$n.img" --log "$W/$n.log" > "$W/$n.verify" 2>&1
    rc=$?; show < "$W/$n.verify"
    check "$n: every acknowledged$([ "$n" = wb ] && echo ", flushed") write is in the backing file on the NFS server" [ "$rc" = 0 ]
done
start_tcmu_runner "$SO" || fatal "restart tcmu-runner for the read-back"
for n in "${NAMES[@]}"; do
    e2e_wait 30 "${DEV[$n]} to answer" sg_turs "${DEV[$n]}"
    "$AW" verify --dev "${DEV[$n]}" --log "$W/$n.log" > "$W/$n.verify2" 2>&1
    rc=$?; show < "$W/$n.verify2"
    check "$n: the same through the disk after the restart" [ "$rc" = 0 ]
done

# ------------------------------------------------------------------ teardown
check "LIO clearconfig" lio_teardown
check "tcmu-runner stops cleanly" stop_tcmu_runner
check "ganesha stops cleanly" stop_nfs_server

TOT_ACKS=$(( $(acks wt) + $(acks wb) ))
e2e_log "SUMMARY: kills=$k (+1 idle) writes_acked=$TOT_ACKS (wt $(acks wt), wb $(acks wb)) lost=$(cat "$W"/*.verify | awk -F'lost=' 'NF > 1 {split($2, a, " "); n += a[1]} END {print n + 0}') I/O phase $(awk -v a="$T_IO" -v b="$T_IO_END" 'BEGIN{printf "%.1f", b-a}')s seed=$SEED"
if [ "$FAILS" -eq 0 ]; then
    e2e_log "GATEWAY-CRASH E2E PASSED"
    exit 0
fi
e2e_log "GATEWAY-CRASH E2E FAILED: $FAILS check(s) failed"
exit 1
