#!/bin/bash
# demo.sh - the tcmu-nfs demo: a local NFS server with a fresh backing
# file, a user:nfs disk made with targetcli, used through tcm_loop and
# iSCSI, then everything torn down. Every step is printed.
#
# Normally started by scripts/demo.sh (`sudo make demo`), which runs it on
# the host when the kernel has LIO/TCMU, or else inside the QEMU guest:
#   tests/e2e/vm-run.sh tests/e2e/demo.sh            (guest)
#   E2E_BUILD_DIR=$PWD/build tests/e2e/demo.sh       (a host with LIO, as root)
#
# On a host it uses 127.0.0.1 only, refuses to run when ports 2049, 20048
# or 3260 are taken or a tcmu-runner is already running, and removes only
# what it created (it never runs clearconfig). Exit status 0 = demo worked.
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

ON_HOST=1
[ -n "${E2E_IN_GUEST:-}" ] && [ -z "${DEMO_AS_HOST:-}" ] && ON_HOST=""
if [ -n "$ON_HOST" ]; then
    # Logs and the NFS export dir: fresh dirs on the host (the export must
    # support file handles: not tmpfs-over-overlay, so /var/tmp).
    export E2E_OUT=${E2E_OUT:-$(mktemp -d /tmp/tcmu-nfs-demo-logs.XXXXXX)}
    export E2E_WORK=$(mktemp -d "${DEMO_WORK_DIR:-/var/tmp}/tcmu-nfs-demo.XXXXXX")
    chmod 755 "$E2E_WORK"
fi
. "$HERE/guest-lib.sh"

SIZE=128M
NAME=demo0
IQN=iqn.2003-01.org.linux-iscsi.tcmu-nfs:demo
WWN=$(new_naa)
MNT=/run/tcmu-nfs-demo-mnt

N=0
say()  { echo; echo "=== $*"; }
step() { N=$((N + 1)); say "step $N: $*"; }
run()  {     # print the command, run it, stop the demo if it fails
    echo "\$ $*"
    "$@" || fail "'$*' exited with status $?"
}
FAILED=""
fail() {
    FAILED=1
    echo
    echo "demo: FAILED: $*" >&2
    echo "demo: logs in ${E2E_HOST_OUT:-$E2E_OUT} (tcmu-runner/tcmu-runner.log, ganesha.log, targetcli.log)" >&2
    exit 1
}

# ------------------------------------------------------------------ teardown
CREATED_ISCSI=""; CREATED_LOOP=""; CREATED_BS=""; LOGGED_IN=""; STARTED_ISCSID=""
cleanup() {
    local rc=$?
    trap - EXIT
    say "teardown"
    mountpoint -q "$MNT" 2>/dev/null && umount "$MNT"
    [ -n "$LOGGED_IN" ] && iscsi_logout "$IQN" && echo "iSCSI session logged out"
    iscsiadm -m node -T "$IQN" -o delete >/dev/null 2>&1
    local cmds=()
    [ -n "$CREATED_ISCSI" ] && cmds+=("/iscsi delete $IQN")
    [ -n "$CREATED_LOOP" ] && cmds+=("/loopback delete $WWN")
    [ -n "$CREATED_BS" ] && cmds+=("/backstores/user:nfs delete $NAME")
    [ ${#cmds[@]} -gt 0 ] && targetcli_batch -k "${cmds[@]}" | grep -v '^targetcli-batch'
    [ -n "$STARTED_ISCSID" ] && iscsiadm -k 0 >/dev/null 2>&1
    stop_tcmu_runner && [ -n "${STARTED_TCMU:-}" ] && echo "tcmu-runner stopped"
    stop_nfs_server && [ -n "${STARTED_NFS:-}" ] && echo "nfs-ganesha stopped"
    [ -n "$E2E_RPCBIND_PID" ] && kill "$E2E_RPCBIND_PID" 2>/dev/null
    if [ -n "$ON_HOST" ]; then
        rm -rf "$E2E_WORK" /run/e2e-nfs /run/e2e-handlers /run/e2e-targetcli
        rmdir "$MNT" 2>/dev/null
    fi
    if [ "$rc" = 0 ] && [ -z "$FAILED" ]; then
        echo; echo "demo: OK (logs: ${E2E_HOST_OUT:-$E2E_OUT})"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------------------ checks
SO=$(e2e_find_handler nfs) || fail "build first: cmake -S . -B build && cmake --build build"
if [ -n "$ON_HOST" ]; then
    [ "$(id -u)" = 0 ] || fail "run as root"
    for p in 2049 20048 3260; do
        ss -ltnH "sport = :$p" 2>/dev/null | grep -q . \
            && fail "port $p is in use on this host (the demo runs its own NFS server and iSCSI portal on 127.0.0.1)"
    done
    _tcmu_registered && fail "a tcmu-runner is already running (systemctl stop tcmu-runner; the demo starts its own with build/handler_nfs.so)"
    [ -d /sys/kernel/config/target ] || fail "no LIO: /sys/kernel/config/target missing"
fi

# ------------------------------------------------------------------ 1
step "an NFS server (nfs-ganesha, NFSv3) on 127.0.0.1 with a fresh backing file"
# /squash squashes root, like most real exports: the file belongs to
# 1000:1000 and the disk will use uid=1000&gid=1000.
SQUASH=$E2E_WORK/nfs/squash
run mkdir -p "$SQUASH" "$E2E_WORK/nfs/export"
run truncate -s $SIZE "$SQUASH/disk0.img"
run chown 1000:1000 "$SQUASH/disk0.img"
run chmod 0600 "$SQUASH/disk0.img"
run ls -ls "$SQUASH/disk0.img"
start_nfs_server "$E2E_WORK/nfs/export" "$SQUASH" || fail "nfs-ganesha did not start (see $E2E_OUT/ganesha.log)"
STARTED_NFS=1
run showmount -e 127.0.0.1

# ------------------------------------------------------------------ 2
step "tcmu-runner with the user:nfs handler ($SO)"
start_tcmu_runner "$SO" || fail "tcmu-runner did not start"
STARTED_TCMU=1

# ------------------------------------------------------------------ 3
CFG="127.0.0.1/squash/disk0.img?uid=1000&gid=1000&nfsport=2049&mountport=20048"
step "targetcli: a user:nfs disk, exported through tcm_loop (local SCSI disk)"
# 1 MiB commands (hw_max_sectors=2048 blocks of 512 bytes; the default is
# 64 KiB) and a data area for 128 of them in flight: create time only.
LARGE="hw_max_sectors=2048 control=max_data_area_mb=128"
CREATED_BS=1; CREATED_LOOP=1
mapfile -t D < <(new_disk_after targetcli_batch \
    "/backstores/user:nfs create name=$NAME size=$SIZE cfgstring=$CFG $LARGE" \
    "/loopback create $WWN" \
    "/loopback/$WWN/luns create /backstores/user:nfs/$NAME")
[ "${#D[@]}" = 1 ] || fail "the tcm_loop disk did not appear"
DISK=${D[0]}
echo "tcm_loop disk: $DISK"
run lsblk -o NAME,SIZE,VENDOR,MODEL,TRAN "$DISK"
run sg_readcap "$DISK"
echo "largest command: $(cat /sys/block/${DISK#/dev/}/queue/max_sectors_kb) KiB (queue/max_sectors_kb)"

# ------------------------------------------------------------------ 4
step "a filesystem on $DISK: mkfs.ext4, mount, write a file"
run mkfs.ext4 -q -F -E nodiscard -L tcmu-nfs "$DISK"
run mkdir -p "$MNT"
run mount "$DISK" "$MNT"
echo "\$ echo 'hello from tcmu-nfs' > $MNT/hello.txt; dd if=/dev/urandom of=$MNT/random.bin bs=1M count=8"
echo "hello from tcmu-nfs, written through tcm_loop on $(date)" > "$MNT/hello.txt" || fail "write hello.txt"
dd if=/dev/urandom of="$MNT/random.bin" bs=1M count=8 status=none || fail "write random.bin"
SUM=$(cd "$MNT" && sha256sum hello.txt random.bin) || fail "sha256sum"
echo "$SUM"
run df -h "$MNT"
run umount "$MNT"
echo "the backing file on the NFS server now has blocks allocated:"
run ls -ls "$SQUASH/disk0.img"

# ------------------------------------------------------------------ 5
step "the same disk over iSCSI (127.0.0.1:3260), read the file back"
CREATED_ISCSI=1
tcli_iscsi "$IQN" "/backstores/user:nfs/$NAME" | targetcli_batch || fail "targetcli (iSCSI target)"
start_iscsid_demo() {
    pgrep -x iscsid >/dev/null && return 0
    if command -v systemctl >/dev/null && systemctl start iscsid >/dev/null 2>&1; then
        return 0
    fi
    STARTED_ISCSID=1
    start_iscsid
}
start_iscsid_demo || fail "iscsid did not start"
echo "\$ iscsiadm -m discovery -t st -p $E2E_PORTAL"
iscsiadm -m discovery -t st -p "$E2E_PORTAL" || fail "iSCSI discovery"
echo "\$ iscsiadm -m node -T $IQN -p $E2E_PORTAL --login"
LOGGED_IN=1
mapfile -t S < <(new_disk_after _iscsi_do_login "$IQN")
[ "${#S[@]}" = 1 ] || fail "the iSCSI disk did not appear"
SDISK=${S[0]}
echo "iSCSI disk: $SDISK"
run lsblk -o NAME,SIZE,VENDOR,MODEL,TRAN "$SDISK"
run mount "$SDISK" "$MNT"
run cat "$MNT/hello.txt"
echo "\$ sha256sum -c   (checksums taken through tcm_loop)"
(cd "$MNT" && echo "$SUM" | sha256sum -c) || fail "data read through iSCSI differs"
run umount "$MNT"
run fsck.ext4 -n -f "$SDISK"

# ------------------------------------------------------------------ 6
step "what targetcli shows"
targetcli_batch "ls /backstores/user:nfs" "ls /loopback" "ls /iscsi/$IQN" | grep -v '^targetcli-batch' \
    || fail "targetcli ls"
run grep -E "$NAME: opened" "$E2E_OUT/tcmu-runner/tcmu-runner.log"

# ------------------------------------------------------------------ teardown (trap)
