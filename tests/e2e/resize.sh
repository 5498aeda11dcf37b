#!/bin/bash
# resize.sh - guest script: grow a mounted ext4 user:nfs disk (tcm_loop)
# and check its data (docs/resize.md), and read the live metrics file of
# the real tcmu-runner's device (docs/metrics.md).
#
# How a user backstore grows: rtslib has no size setter and targetcli no
# resize command for it, but the backstore's configfs attribute dev_size
# is a targetcli attribute like any other:
#   targetcli /backstores/user:nfs/NAME set attribute dev_size=BYTES
# On an enabled device the kernel sends tcmu-runner a netlink reconfig;
# user:nfs checks the file (create=1 extends it, sparse), switches the
# engine, and only then does the kernel take the size.  The initiator
# sees "capacity data has changed" and is told to re-read it (rescan).
# targetcli's changemedium needs a D-Bus method tcmu-runner 1.5.4 lacks;
# a new dev_config is refused by the handler: both must fail cleanly.
#
#   E2E_BUILD_DIR=$PWD/build tests/e2e/vm-run.sh --timeout 600 tests/e2e/resize.sh
#
# Exit status: 0 when every check passed, 1 otherwise.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/guest-lib.sh"

FAILS=0
ok()    { e2e_log "ok: $*"; }
notok() { e2e_log "NOT OK: $*"; FAILS=$((FAILS + 1)); }
check() { local d=$1; shift; if "$@"; then ok "$d"; else notok "$d"; fi; }
fatal() { notok "$*"; e2e_log "RESIZE E2E FAILED (fatal)"; exit 1; }
show()  { sed 's/^/    | /'; }

M=$((1024 * 1024))
W=$E2E_WORK/resize
EXPORT=$E2E_WORK/nfs/export
IMG=$EXPORT/grow.img
MNT=$W/mnt
PORTS="nfsport=$E2E_NFS_PORT&mountport=$E2E_MNT_PORT"
TCMU_LOG=$E2E_OUT/tcmu-runner/tcmu-runner.log
METRICS=/run/tcmu-nfs/metrics
STAT=$E2E_TESTS_DIR/../../scripts/tcmu-nfs-stat
mkdir -p "$W" "$MNT" "$EXPORT"

# ------------------------------------------------------------------ setup
SO=$(e2e_find_handler nfs) || fatal "handler_nfs.so not found (build first; E2E_BUILD_DIR)"
e2e_log "resize test: plugin $SO"
start_nfs_server "$EXPORT" || fatal "start nfs-ganesha"
start_tcmu_runner "$SO" || fatal "start tcmu-runner"
WWN=$(new_naa)
# create=1: the file is made at 64 MiB, and extended by the resize
DEV=$({ echo "/backstores/user:nfs create name=grow size=64M cfgstring=127.0.0.1/export/grow.img?create=1&$PORTS hw_max_sectors=2048 control=max_data_area_mb=64"
        tcli_loopback "$WWN" /backstores/user:nfs/grow
      } | new_disk_after targetcli_batch) || fatal "targetcli create + tcm_loop disk"
B=${DEV#/dev/}
e2e_log "disk $DEV"
DM0=$(dmesg | wc -l)
ATTR=$(ls -d /sys/kernel/config/target/core/user_*/grow/attrib)
check "the file is 64 MiB" [ "$(stat -c %s "$IMG")" = $((64 * M)) ]

# ------------------------------------------------------------------ metrics
PROM=$(grep -l 'backstore="grow"' "$METRICS"/*.prom 2>/dev/null | head -1)
check "a metrics file for the device in $METRICS" [ -n "$PROM" ]
PROM=${PROM:-$METRICS/none.prom}
e2e_log "metrics file $PROM"
check "named after the uio device" bash -c \
    "[[ \$(basename '$PROM') =~ ^uio[0-9]+\.prom$ ]]"
check "HELP and TYPE lines, the device labels" bash -c \
    "grep -q '^# TYPE tcmu_nfs_reads_total counter' '$PROM' &&
     grep -q '^# TYPE tcmu_nfs_rpc_latency_seconds histogram' '$PROM' &&
     grep -q 'server=\"127.0.0.1\",path=\"/export/grow.img\"' '$PROM'"

# ------------------------------------------------------------------ data
head -c $((16 * M)) /dev/urandom > "$W/a"
head -c $((16 * M)) /dev/urandom > "$W/b"
check "mkfs.ext4" bash -c "mkfs.ext4 -q -F '$DEV' 2>&1"
check "mount" mount "$DEV" "$MNT"
check "write a file before" cp "$W/a" "$MNT/a"
sync
W0=$(awk '/^tcmu_nfs_writes_total/ { print $2 }' "$PROM")
e2e_wait 20 "the metrics file shows the writes" bash -c \
    "[ \"\$(awk '/^tcmu_nfs_writes_total/ { print \$2 }' '$PROM')\" -gt 0 ]" ||
    notok "writes_total never moved (was $W0)"
"$STAT" grow 2>&1 | show
check "tcmu-nfs-stat shows the device" bash -c "'$STAT' grow | grep -q '^backstore  *grow'"

# ------------------------------------------------------------------ grow
run_tcli() { out=$(targetcli_batch "$@" 2>&1); rc=$?; echo "$out" | tail -3 | show; }
run_tcli "/backstores/user:nfs/grow set attribute dev_size=$((128 * M))"
check "targetcli set attribute dev_size=128M" [ "$rc" = 0 ]
check "configfs dev_size 128 MiB" [ "$(cat "$ATTR/dev_size")" = $((128 * M)) ]
check "create=1 extended the file to 128 MiB" [ "$(stat -c %s "$IMG")" = $((128 * M)) ]
check "runner log: grew" grep -q "grew from 67108864 to 134217728 bytes" "$TCMU_LOG"
echo 1 > /sys/block/"$B"/device/rescan
check "the initiator sees 128 MiB" [ "$(blockdev --getsize64 "$DEV")" = $((128 * M)) ]
out=$(resize2fs "$DEV" 2>&1); rc=$?
echo "$out" | show
check "online resize2fs" [ "$rc" = 0 ]
BLK=$(df -B1M --output=size "$MNT" | tail -1 | tr -d ' ')
check "the filesystem grew ($BLK MiB)" [ "$BLK" -gt 100 ]
# fill past the old end: the new blocks are used
check "write a file after" cp "$W/b" "$MNT/b"
check "fill the filesystem" bash -c \
    "dd if=/dev/urandom of='$MNT/fill' bs=1M count=$((BLK - 48)) conv=fsync status=none 2>&1 || true"
sync

# ------------------------------------------------------------------ refused
run_tcli "/backstores/user:nfs/grow set attribute dev_size=$((96 * M))"
check "shrinking refused by targetcli" [ "$rc" != 0 ]
check "dev_size still 128 MiB" [ "$(cat "$ATTR/dev_size")" = $((128 * M)) ]
check "runner log: why" grep -q "shrinking .* is refused" "$TCMU_LOG"
run_tcli "/backstores/user:nfs changemedium grow 128M 127.0.0.1/export/other.img?create=1&$PORTS"
e2e_log "changemedium: rc $rc"
check "changemedium fails (tcmu-runner 1.5.4 has no ChangeMedium)" \
    bash -c '[ "$1" != 0 ] && grep -qi "changemedium failed" <<< "$2"' - "$rc" "$out"
out=$(echo -n "nfs/127.0.0.1/export/other.img?create=1&$PORTS" 2>&1 > "$ATTR/dev_config"); rc=$?
e2e_log "dev_config write: rc $rc: $out"
check "a new dev_config refused" [ "$rc" != 0 ]
check "runner log: why" grep -q "changing the cfgstring" "$TCMU_LOG"
check "no other.img made" [ ! -e "$EXPORT/other.img" ]

# ------------------------------------------------------------------ data after
check "umount" umount "$MNT"
check "fsck -fn clean" fsck.ext4 -fn "$DEV"
echo 3 > /proc/sys/vm/drop_caches
check "mount again" mount "$DEV" "$MNT"
check "the file from before" cmp "$W/a" "$MNT/a"
check "the file from after" cmp "$W/b" "$MNT/b"
check "umount" umount "$MNT"
check "no I/O or sense error in dmesg" bash -c "! dmesg | tail -n +$((DM0 + 1)) |
    grep -qiE 'I/O error|FAILED Result|Sense Key|critical'"

# ------------------------------------------------------------------ teardown
check "LIO clearconfig" lio_teardown
check "the metrics file is gone with the device" [ ! -e "$PROM" ]
check "tcmu-runner stops cleanly" stop_tcmu_runner
check "ganesha stops cleanly" stop_nfs_server
if [ "$FAILS" -eq 0 ]; then
    e2e_log "RESIZE E2E PASSED"
    exit 0
fi
e2e_log "RESIZE E2E FAILED: $FAILS check(s) failed"
exit 1
