#!/bin/bash
# knfsd-restart.sh - guest script: user:nfs disks on the Linux kernel NFS
# server (knfsd, tests/e2e/knfsd-lib.sh), and knfsd restarted under load.
# ackwriter (tests/e2e/ackwriter.c) keeps 32 O_DIRECT 4 KiB writes in
# flight on each of two user:nfs disks on tcm_loop (or iSCSI):
#   wt  write-through, /knfsd/export/wt.img (no_root_squash), as root;
#   wb  cache=writeback, /knfsd/squash/wb.img (root_squash), reached as the
#       file's owner with uid=1000&gid=1000 (mode 0600);
# both with the README's create options and no nfsport=/mountport= (the
# ports come from the portmapper).  knfsd is restarted several times at
# random moments (rpc.nfsd 0, 0-1.5 s down, rpc.nfsd 8: a new write
# verifier, i.e. a server reboot to the client).  Then, still under load,
# a power cut of the server's disk is simulated (knfsd_crash_image: the
# ext4 under knfsd copied from below its page cache, at a moment when the
# writers' logs are snapshotted).  No write or flush may fail, dmesg must
# show no I/O error, and every acknowledged write (wb: every write
# acknowledged before a completed SYNCHRONIZE CACHE) must be
#   1. in the power-cut image, for the writes acknowledged before the cut:
#      a write acknowledged on an UNSTABLE reply without a COMMIT, or a
#      flush completed before its COMMIT, would be LOST there;
#   2. in the server's file (the live filesystem), for all of them;
#   3. on the disk (read back through user:nfs).
#
#   E2E_BUILD_DIR=$PWD/build E2E_ACKWRITER=$PWD/build/tests/e2e/ackwriter \
#       tests/e2e/vm-run.sh --timeout 600 tests/e2e/knfsd-restart.sh
#
# Env: E2E_KNFSD_RESTARTS (5), E2E_KNFSD_SIZE_MIB (8) per disk,
# E2E_KNFSD_QD (32) writes in flight per disk, E2E_KNFSD_DOWN_MS (1500)
# longest time knfsd stays down, E2E_KNFSD_VERS (3; 4.1: both disks
# vers=4.1 on a knfsd with NFSv4.1, E2E_KNFSD_V4 in knfsd-lib.sh: each
# restart then costs the client a new session and the open reclaimed in
# the grace period),
# E2E_KNFSD_FABRIC (loop: tcm_loop; iscsi: one iSCSI target on
# 127.0.0.1:3260, the guest's initiator logged in to its two LUNs),
# E2E_KNFSD_KEYS (none) more cfgstring keys for both disks (share=1:
# the two disks, one as root and one as uid 1000, then share tcmu-runner's
# one connection to knfsd, which the test checks under load and after the
# restarts),
# E2E_KNFSD_SAME_OWNER (0; 1: wt too is reached as uid 1000, its file
# owned by it: with NFSv4.1 and share=1 the two disks are then one NFSv4
# client of knfsd's, which the test checks in /proc/fs/nfsd/clients, and
# every restart must see both opens reclaimed, none made again: the one
# RECLAIM_COMPLETE of the shared client ID waits for both reclaims),
# E2E_KNFSD_SEED (random) for the restart
# points, E2E_ACKWRITER (default $E2E_BUILD_DIR/tests/e2e/ackwriter).
# E2E_KNFSD_MUTATE makes the test fail on purpose, to show that it can:
#   rollback  both backing files are copied at the first restart and put
#             back (and synced) just before the cut and again once the
#             writers have stopped: LOST in all three checks;
#   async     the exports are "async": knfsd answers COMMIT and stable
#             WRITEs without syncing, so what the test acknowledged is in
#             the page cache only: LOST in check 1, checks 2 and 3 pass.
# Exit status: 0 when every check passed, 1 otherwise.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/guest-lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/knfsd-lib.sh"

RESTARTS=${E2E_KNFSD_RESTARTS:-5}
SIZE_MIB=${E2E_KNFSD_SIZE_MIB:-8}
THREADS=${E2E_KNFSD_QD:-32}
DOWN_MS=${E2E_KNFSD_DOWN_MS:-1500}
SEED=${E2E_KNFSD_SEED:-$(( $(od -An -N2 -tu2 /dev/urandom) ))}
MUTATE=${E2E_KNFSD_MUTATE:-}
VERS=${E2E_KNFSD_VERS:-3}
FABRIC=${E2E_KNFSD_FABRIC:-loop}
IQN=iqn.2003-01.org.linux-iscsi.e2e:knfsd
RANDOM=$SEED
FAILS=0
ok()    { e2e_log "ok: $*"; }
notok() { e2e_log "NOT OK: $*"; FAILS=$((FAILS + 1)); }
check() { local d=$1; shift; if "$@"; then ok "$d"; else notok "$d"; fi; }
fatal() { notok "$*"; e2e_log "KNFSD-RESTART E2E FAILED (fatal)"; exit 1; }
show()  { sed 's/^/    | /'; }

case "$FABRIC" in
    loop|iscsi) ;;
    *) fatal "E2E_KNFSD_FABRIC=$FABRIC: expected loop or iscsi" ;;
esac
case "$MUTATE" in
    '') ;;
    rollback) ;;
    async) export E2E_KNFSD_EXPORT_OPTS=rw,async ;;
    *) fatal "E2E_KNFSD_MUTATE=$MUTATE: expected rollback or async" ;;
esac
W=$E2E_WORK/knfsd-restart
CRASH=/run/knfsd-crash
mkdir -p "$W"
OWNER=1000
LARGE="hw_max_sectors=2048 control=max_data_area_mb=128"
NAMES=(wt wb)
declare -A FILE=(
    [wt]=$E2E_KNFSD_EXPORT_DIR/wt.img
    [wb]=$E2E_KNFSD_SQUASH_DIR/wb.img
)
declare -A CFG=(
    [wt]="127.0.0.1$E2E_KNFSD_EXPORT_DIR/wt.img"
    [wb]="127.0.0.1$E2E_KNFSD_SQUASH_DIR/wb.img?uid=$OWNER&gid=$OWNER&cache=writeback"
)
case "$VERS" in
    3) ;;
    4.1|4.2)
        # the NFSv4 root is /knfsd (knfsd-lib.sh)
        export E2E_KNFSD_V4=1
        CFG[wt]="${CFG[wt]/$E2E_KNFSD_V4_PREFIX/}?vers=$VERS"
        CFG[wb]="${CFG[wb]/$E2E_KNFSD_V4_PREFIX/}&vers=$VERS"
        ;;
    *) fatal "E2E_KNFSD_VERS=$VERS: expected 3, 4.1 or 4.2" ;;
esac
SAME_OWNER=${E2E_KNFSD_SAME_OWNER:-0}
if [ "$SAME_OWNER" = 1 ]; then
    case "${CFG[wt]}" in
        *\?*) CFG[wt]="${CFG[wt]}&uid=$OWNER&gid=$OWNER" ;;
        *) CFG[wt]="${CFG[wt]}?uid=$OWNER&gid=$OWNER" ;;
    esac
fi
KEYS=${E2E_KNFSD_KEYS:-}
if [ -n "$KEYS" ]; then
    for n in "${NAMES[@]}"; do
        case "${CFG[$n]}" in
            *\?*) CFG[$n]="${CFG[$n]}&$KEYS" ;;
            *) CFG[$n]="${CFG[$n]}?$KEYS" ;;
        esac
    done
fi
# runner_conns : tcmu-runner's TCP connections to knfsd's port
runner_conns() {
    ss -tnpH state established '( dport = :2049 )' | grep -c tcmu-runner
}
shared() { case "&$KEYS&" in *"&share=1&"*) return 0 ;; esac; return 1; }
# v4_clients : the NFSv4 clients knfsd holds for tcmu-runner's devices
# (the open-time check's own client is destroyed once the device is open)
v4_clients() {
    grep -l 'tcmu-nfs/[^"]*/[0-9]*/' /proc/fs/nfsd/clients/*/info 2>/dev/null | wc -l
}
# the NFSv4 clients the devices should be: one per principal with share=1
want_clients() { if shared && [ "$SAME_OWNER" = 1 ]; then echo 1; else echo 2; fi; }
declare -A DEV WPID BASE
RESTART_AT=()

# acks NAME : writes acknowledged so far (ackwriter's --status file, read
# with the builtin; the number is there twice, a torn read is retried).
acks() {
    local a b _
    for _ in 1 2 3 4 5; do
        { read -r a b < "$W/$1.status"; } 2>/dev/null && [ -n "$a" ] && [ "$a" = "$b" ] \
            && { echo $((10#$a)); return 0; }
    done
    awk '$1 == "A" {n++} END {print n + 0}' "$W/$1.log" 2>/dev/null || echo 0
}
# acks_reach N : every writer has N more acks than BASE[name] (or exited:
# the caller checks that).
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
# metric NAME BACKSTORE : a counter of the device's metrics file.
metric() {
    awk -v m="tcmu_nfs_$1" -v b="backstore=\"$2\"" '$1 ~ "^"m"[{]" && index($1, b) {v = $NF} END {print v == "" ? "?" : v}' \
        /run/tcmu-nfs/metrics/uio*.prom 2>/dev/null
}
verify() {   # LABEL NAME FILE-OR-DEV [LOG]
    "$AW" verify --dev "$3" --log "${4:-$W/$2.log}" > "$W/$2.$1.verify" 2>&1
    local rc=$?
    show < "$W/$2.$1.verify"
    return $rc
}

# ------------------------------------------------------------------ setup
e2e_log "knfsd restart test: vers=$VERS${KEYS:+ $KEYS} over $FABRIC, $RESTARTS restarts (down 0-$DOWN_MS ms), ${SIZE_MIB} MiB disks, QD $THREADS per disk, seed $SEED${MUTATE:+, MUTATION $MUTATE}"
SO=$(e2e_find_handler nfs) || fatal "handler_nfs.so not found (build first; E2E_BUILD_DIR)"
AW=${E2E_ACKWRITER:-${E2E_BUILD_DIR:-$E2E_CWD/build}/tests/e2e/ackwriter}
[ -x "$AW" ] || fatal "ackwriter not found at $AW (build first)"
e2e_log "plugin: $SO, writer: $AW"
start_knfsd || fatal "start knfsd"
# Backing files fully allocated (no write needs new extents) and on the
# server's disk before the crash-image check relies on it.
for n in "${NAMES[@]}"; do
    dd if=/dev/zero of="${FILE[$n]}" bs=1M count="$SIZE_MIB" status=none || fatal "backing file $n"
done
chown "$OWNER:$OWNER" "${FILE[wb]}" && { [ "$SAME_OWNER" != 1 ] || chown "$OWNER:$OWNER" "${FILE[wt]}"; } && chmod 0600 "${FILE[wt]}" "${FILE[wb]}" && sync || fatal "backing files"
e2e_log "backing files: $(ls -ln "${FILE[@]}" | awk '{print $9, $1, $3":"$4}' | paste -sd' ')"
export TCMU_NFS_METRICS_INTERVAL=1
start_tcmu_runner "$SO" || fatal "start tcmu-runner"
creates() { for n in "${NAMES[@]}"; do echo "/backstores/user:nfs create name=$n size=${SIZE_MIB}M cfgstring=${CFG[$n]} $LARGE"; done; }
if [ "$FABRIC" = iscsi ]; then
    # LUN 0 and 1 of one target, logged in over 127.0.0.1: sorted by LUN
    { creates; tcli_iscsi "$IQN" /backstores/user:nfs/wt /backstores/user:nfs/wb; } \
        | targetcli_batch || fatal "targetcli create + iSCSI target"
    mapfile -t D < <(iscsi_login "$IQN" 2)
else
    WWN=$(new_naa)
    mapfile -t D < <({ creates; tcli_loopback "$WWN" /backstores/user:nfs/wt /backstores/user:nfs/wb; } \
                     | new_disks_after 2 targetcli_batch)
fi
[ "${#D[@]}" -eq 2 ] || fatal "targetcli create + 2 $FABRIC disks"
DEV[wt]=${D[0]} DEV[wb]=${D[1]}
[ "$FABRIC" = iscsi ] && check "both disks are the iSCSI session's LUNs" bash -c "
    iscsiadm -m session -P 3 | grep -q 'Attached scsi disk ${D[0]#/dev/}' &&
    iscsiadm -m session -P 3 | grep -q 'Attached scsi disk ${D[1]#/dev/}'"
grep -E 'nfs/w[tb]: opened' "$E2E_OUT/tcmu-runner/tcmu-runner.log" | sed 's/.*tnfs_dev_open:[0-9]* //' | show
for n in "${NAMES[@]}"; do
    b=${DEV[$n]#/dev/}
    e2e_log "$n: ${DEV[$n]} cache_type '$(cat /sys/block/"$b"/device/scsi_disk/*/cache_type)', max_sectors_kb $(cat /sys/block/"$b"/queue/max_sectors_kb), cfgstring ${CFG[$n]}"
done
check "wt is write through, wb is write back" bash -c "
    grep -qx 'write through' /sys/block/${DEV[wt]#/dev/}/device/scsi_disk/*/cache_type &&
    grep -qx 'write back' /sys/block/${DEV[wb]#/dev/}/device/scsi_disk/*/cache_type"
WB_PATH=${CFG[wb]#127.0.0.1}
WB_PATH=${WB_PATH%%\?*}
check "wb is reached as uid $OWNER on the root_squash export" \
    grep -q "nfs/wb: opened 127.0.0.1:$WB_PATH at offset 0 as uid $OWNER gid $OWNER" "$E2E_OUT/tcmu-runner/tcmu-runner.log"
DM0=$(dmesg | wc -l)
flushes() { awk '{print $16}' "/sys/block/${DEV[$1]#/dev/}/stat"; }
F0_WB=$(flushes wb)

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
if shared; then
    check "both disks on one shared connection to knfsd under load" \
        [ "$(runner_conns)" -eq 1 ]
    ss -tnpH state established '( dport = :2049 )' | show
fi
if [ "$VERS" != 3 ]; then
    grep -h '^name:' /proc/fs/nfsd/clients/*/info 2>/dev/null | show
    check "knfsd holds $(want_clients) NFSv4 client(s) for the two disks" \
        [ "$(v4_clients)" -eq "$(want_clients)" ]
fi

# ------------------------------------------------------------------ restarts
k=0
while [ "$k" -lt "$RESTARTS" ]; do
    k=$((k + 1))
    n_more=$(( 16 + RANDOM % 512 ))
    down=$(( RANDOM % (DOWN_MS + 1) ))
    e2e_wait 120 "$n_more more acks on each disk" acks_reach "$n_more" \
        || { notok "restart $k: I/O did not go on"; break; }
    writers_alive || { notok "restart $k: a writer exited"; break; }
    if_wt=$(awk '{print $2}' "/sys/block/${DEV[wt]#/dev/}/inflight")
    if_wb=$(awk '{print $2}' "/sys/block/${DEV[wb]#/dev/}/inflight")
    if [ "$k" = 1 ] && [ "$MUTATE" = rollback ]; then
        for n in "${NAMES[@]}"; do cp "${FILE[$n]}" "$W/$n.snap"; done
        e2e_log "MUTATION: backing files copied at restart 1, to be put back before the checks"
    fi
    t0=$(date +%s.%N)
    RESTART_AT+=("$t0")
    r=$(restart_knfsd "$down") || { notok "restart $k: knfsd did not come back"; break; }
    set_base
    if ! e2e_wait 120 "I/O to resume on both disks" acks_reach "$THREADS"; then
        notok "restart $k: I/O did not resume within 120 s"; break
    fi
    check "restart $k hit writes in flight (wt $if_wt, wb $if_wb)" [ $((if_wt + if_wb)) -gt 0 ]
    ok "restart $k after $n_more more acks: $r"
    set_base
done
check "$RESTARTS restarts done" [ "$k" -eq "$RESTARTS" ]
if shared; then
    check "still one shared connection to knfsd after the restarts" \
        [ "$(runner_conns)" -eq 1 ]
fi
if [ "$VERS" != 3 ]; then
    check "knfsd holds $(want_clients) NFSv4 client(s) after the restarts" \
        [ "$(v4_clients)" -eq "$(want_clients)" ]
    # opens NAME HOW : the disk's opens after a restart, HOW: reclaimed
    # (CLAIM_PREVIOUS in the grace period) or "made again" (refused it)
    opens() {
        grep "nfs/$1: .*NFSv4.1 open $2" "$E2E_OUT/tcmu-runner/tcmu-runner.log" | wc -l
    }
    e2e_log "opens after the restarts: wt $(opens wt reclaimed) reclaimed, $(opens wt 'made again') made again; wb $(opens wb reclaimed), $(opens wb 'made again')"
    if [ "$(want_clients)" = 1 ]; then
        for n in "${NAMES[@]}"; do
            check "$n: its open reclaimed after each restart, never made again" \
                [ "$(opens "$n" 'made again')" -eq 0 -a "$(opens "$n" reclaimed)" -ge "$RESTARTS" ]
        done
    fi
fi

# ------------------------------------------------------------------ power cut
rollback() {
    local n
    for n in "${NAMES[@]}"; do
        dd if="$W/$n.snap" of="${FILE[$n]}" bs=1M conv=notrunc,fsync status=none || return 1
    done
    e2e_log "MUTATION: backing files rolled back to their state at restart 1 (and synced)"
}
# At the cut: the writers' logs as they are (complete lines only; every
# write in them was acknowledged before the copy, i.e. after the cut).
snap_logs() {
    local n
    for n in "${NAMES[@]}"; do
        cp "$W/$n.log" "$W/$n.cut.raw" || return 1
        head -n "$(wc -l < "$W/$n.cut.raw")" "$W/$n.cut.raw" > "$W/$n.cut.log" || return 1
    done
}
CUT_OK=0
n_more=$(( 16 + RANDOM % 512 ))
if e2e_wait 120 "$n_more more acks on each disk" acks_reach "$n_more" && writers_alive; then
    [ "$MUTATE" = rollback ] && rollback
    if knfsd_crash_image "$CRASH" snap_logs; then
        CUT_OK=1
        set_base
        ok "power cut of the server's disk under load after $n_more more acks ($(tail -1 "$E2E_OUT/knfsd.log" | cut -d' ' -f2-)); acks before it: wt $(grep -c '^A' "$W/wt.cut.log"), wb $(grep -c '^A' "$W/wb.cut.log") (wb flushes $(grep -c '^S' "$W/wb.cut.log"))"
        check "I/O goes on after the cut" e2e_wait 60 "I/O to resume on both disks" acks_reach "$THREADS"
    else
        notok "power-cut image of the server's disk"
    fi
else
    notok "I/O before the power cut"
fi

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
check "wb: the writer's $SYNCS_WB flushes reached the disk as flush requests ($(( $(flushes wb) - F0_WB )))" \
    [ $(( $(flushes wb) - F0_WB )) -ge "$SYNCS_WB" ]
for n in "${NAMES[@]}"; do
    e2e_log "$n: $(grep '^E ' "$W/$n.log" | cut -d' ' -f3-)"
    # From the writer's own clock: per restart, the longest pause between
    # two completed writes in the 30 s after rpc.nfsd 0, and the writes in flight
    # across it (sent before, completed after: re-sent by the engine).
    awk -v kills="${RESTART_AT[*]}" '
        FNR == 1 { split($0, h, "start="); t0 = h[2] + 0; nk = split(kills, K, " "); pass++; prev = 0 }
        $1 != "A" { next }
        { done = t0 + $7 / 1000; sub_t = done - $6 / 1000 }
        pass == 1 { for (i = nk; i >= 1 && done <= K[i]; i--) ;
                    if (i >= 1 && done - K[i] <= 30 && prev && done - prev > gap[i]) { gap[i] = done - prev; g0[i] = prev; g1[i] = done }
                    prev = done; next }
        { for (i = 1; i <= nk; i++) if (gap[i] && sub_t <= g0[i] && done >= g1[i]) span[i]++ }
        END { for (i = 1; i <= nk; i++)
                  printf "    restart %d: no write completed for %.1f s; I/O resumed %.1f s after rpc.nfsd 0; %d writes in flight across it\n",
                         i, gap[i], g1[i] - K[i], span[i] }' "$W/$n.log" "$W/$n.log"
    e2e_log "$n: engine: verifier_resends $(metric verifier_resends_total "$n"), transport_errors $(metric transport_errors_total "$n"), reconnects $(metric reconnects_total "$n"), connect_attempts $(metric connect_attempts_total "$n"), rpcs_resent $(metric rpcs_resent_total "$n"), commits $(metric commits_total "$n"), stable_writes $(metric stable_writes_total "$n"), connection_timeouts $(metric connection_timeouts_total "$n")"
done
check "the engine saw knfsd's new write verifiers (verifier_resends > 0 on a disk)" \
    awk -v a="$(metric verifier_resends_total wt)" -v b="$(metric verifier_resends_total wb)" 'BEGIN{exit !(a + b > 0)}'
e2e_log "kernel messages during the run:"
dmesg | tail -n +$((DM0 + 1)) | head -20 | show
check "no I/O error in dmesg" bash -c "! dmesg | tail -n +$((DM0 + 1)) | grep -qiE 'I/O error|FAILED Result'"
grep -E 'nfs/w[tb]:' "$E2E_OUT/tcmu-runner/tcmu-runner.log" | grep -vE 'opened|metrics in' | sed 's/.*\] //' | sort | uniq -c | sort -rn | head -8 | show

# ------------------------------------------------------------------ verify
if [ "$CUT_OK" = 1 ]; then
    for n in "${NAMES[@]}"; do
        check "$n: every write acknowledged$([ "$n" = wb ] && echo " and flushed") before the cut is on the server's disk (power-cut image)" \
            verify crash "$n" "$CRASH${FILE[$n]#"$E2E_KNFSD_ROOT"}" "$W/$n.cut.log"
    done
    umount "$CRASH"
fi
[ "$MUTATE" = rollback ] && rollback
for n in "${NAMES[@]}"; do
    check "$n: every acknowledged$([ "$n" = wb ] && echo ", flushed") write is in the server's file" verify file "$n" "${FILE[$n]}"
done
for n in "${NAMES[@]}"; do
    check "$n: ... and on the disk (read through user:nfs)" verify disk "$n" "${DEV[$n]}"
    cp "$W/$n.log" "$E2E_OUT/ackwriter-knfsd-$n.log"
done

# ------------------------------------------------------------------ teardown
check "LIO clearconfig" lio_teardown
check "tcmu-runner stops cleanly" stop_tcmu_runner
check "knfsd stops cleanly" stop_knfsd

TOT=$(( $(acks wt) + $(acks wb) ))
LOST=$(cat "$W"/*.verify 2>/dev/null | awk -F'lost=' 'NF > 1 {split($2, a, " "); n += a[1]} END {print n + 0}')
e2e_log "SUMMARY: restarts=$k writes_acked=$TOT (wt $(acks wt), wb $(acks wb)) wb_flushes=$SYNCS_WB lost(all checks)=$LOST I/O phase $(awk -v a="$T_IO" -v b="$T_IO_END" 'BEGIN{printf "%.1f", b-a}')s seed=$SEED${MUTATE:+ MUTATION=$MUTATE}"
if [ "$FAILS" -eq 0 ]; then
    e2e_log "KNFSD-RESTART E2E PASSED"
    exit 0
fi
e2e_log "KNFSD-RESTART E2E FAILED: $FAILS check(s) failed"
exit 1
