#!/bin/bash
# discard.sh - guest script: discards and zeroing on a user:nfs disk
# (tcm_loop), as a user runs them: a default mkfs.ext4 (it discards the
# whole device first, and zeroes its journal), fstrim, blkdiscard.
# NFSv3 cannot deallocate, so user:nfs advertises no UNMAP (READ CAPACITY
# (16) LBPME=0, VPD B2h LBPU = LBPWS = LBPWS10 = LBPRZ = 0) and emulates
# WRITE SAME with writes (docs/scsi.md).  Expected: the kernel knows
# the disk cannot discard and refuses discards itself (nothing reaches
# the device), write-zeroes goes out as bounded WRITE SAME and really
# zeroes the backing file, and no I/O or sense error shows in dmesg.
# Then a thin disk (vers=4.2, DEALLOCATE): LBPME, LBPU, LBPWS, LBPRZ
# set, UNMAP, blkdiscard and fstrim free the blocks in the backing file
# (du) and leave zeros there, WRITE SAME with UNMAP of zeros unmaps, of
# other data is refused.
#
#   E2E_BUILD_DIR=$PWD/build tests/e2e/vm-run.sh --timeout 600 tests/e2e/discard.sh
#
# E2E_DISCARD_SERVER=knfsd: the thin disk alone, on the Linux kernel NFS
# server (tests/e2e/knfsd-lib.sh with NFSv4.1/4.2), whose DEALLOCATE is a
# hole punched in its own ext4 (ganesha's VFS export does the same
# through fallocate); the v3 disk's checks are ganesha's only.
#
# Exit status: 0 when every check passed, 1 otherwise.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/guest-lib.sh"

SIZE_MIB=${E2E_DISCARD_SIZE_MIB:-128}
FAILS=0
ok()    { e2e_log "ok: $*"; }
notok() { e2e_log "NOT OK: $*"; FAILS=$((FAILS + 1)); }
check() { local d=$1; shift; if "$@"; then ok "$d"; else notok "$d"; fi; }
fatal() { notok "$*"; e2e_log "DISCARD E2E FAILED (fatal)"; exit 1; }
show()  { sed 's/^/    | /'; }
# exited RC [TEXT] : the last command ($rc, $out) exited RC, saying TEXT
exited() { [ "$rc" = "$1" ] && { [ -z "${2:-}" ] || grep -qi "$2" <<< "$out"; }; }

SERVER=${E2E_DISCARD_SERVER:-ganesha}
W=$E2E_WORK/discard
MNT=$W/mnt
case "$SERVER" in
ganesha)
    EXPORT=$E2E_WORK/nfs/export
    PORTS="nfsport=$E2E_NFS_PORT&mountport=$E2E_MNT_PORT"
    # the thin disk is NFSv4.2's
    export E2E_NFS_PROTOCOLS="3, 4"
    THIN_CS="127.0.0.1/export/thin.img?vers=4.2&nfsport=$E2E_NFS_PORT" ;;
knfsd)
    . "$(dirname "${BASH_SOURCE[0]}")/knfsd-lib.sh"
    export E2E_KNFSD_V4=1 E2E_KNFSD_FS_MIB=$((SIZE_MIB * 2))
    EXPORT=$E2E_KNFSD_EXPORT_DIR
    # the NFSv4 path: /knfsd is knfsd's root (knfsd-lib.sh)
    THIN_CS="127.0.0.1${EXPORT#"$E2E_KNFSD_V4_PREFIX"}/thin.img?vers=4.2" ;;
*) fatal "E2E_DISCARD_SERVER=$SERVER: expected ganesha or knfsd" ;;
esac
IMG=$EXPORT/discard.img
THIN=$EXPORT/thin.img
mkdir -p "$W" "$MNT"

# ------------------------------------------------------------------ setup
SO=$(e2e_find_handler nfs) || fatal "handler_nfs.so not found (build first; E2E_BUILD_DIR)"
e2e_log "discard test: ${SIZE_MIB} MiB user:nfs disk on $SERVER, plugin $SO"
if [ "$SERVER" = knfsd ]; then
    start_knfsd || fatal "start knfsd"
else
    mkdir -p "$EXPORT"
    start_nfs_server "$EXPORT" || fatal "start nfs-ganesha"
fi
truncate -s "${SIZE_MIB}M" "$IMG" "$THIN" || fatal "backing files"
head -c $((16 * 1024 * 1024)) /dev/urandom > "$W/pattern"
start_tcmu_runner "$SO" || fatal "start tcmu-runner"

# the NFSv3 disk: no UNMAP, WRITE SAME as writes (on ganesha only)
plain_disk() {
    WWN=$(new_naa)
    DEV=$({ echo "/backstores/user:nfs create name=dsc size=${SIZE_MIB}M cfgstring=127.0.0.1/export/discard.img?$PORTS hw_max_sectors=2048 control=max_data_area_mb=64"
            tcli_loopback "$WWN" /backstores/user:nfs/dsc
          } | new_disk_after targetcli_batch) || fatal "targetcli create + tcm_loop disk"
    B=${DEV#/dev/}
    e2e_log "disk $DEV"
    DM0=$(dmesg | wc -l)

    # ------------------------------------------------------------------ what the disk says
    sg_readcap -l "$DEV" 2>&1 | show
    sg_vpd -p bl "$DEV" 2>&1 | show
    sg_vpd -p lbpv "$DEV" 2>&1 | show
    check "READ CAPACITY(16): LBPME=0 LBPRZ=0" bash -c \
        "sg_readcap -l '$DEV' | grep -q 'lbpme=0, lbprz=0'"
    check "VPD B2h: no UNMAP, no WRITE SAME unmap, LBPRZ=0" bash -c \
        "sg_vpd -p lbpv '$DEV' | grep -q 'Unmap command supported (LBPU): 0' &&
         sg_vpd -p lbpv '$DEV' | grep -q 'Write same (16) with unmap bit supported (LBPWS): 0' &&
         sg_vpd -p lbpv '$DEV' | grep -q 'Write same (10) with unmap bit supported (LBPWS10): 0' &&
         sg_vpd -p lbpv '$DEV' | grep -q 'Logical block provisioning read zeros (LBPRZ): 0'"
    check "VPD B0h: maximum transfer length is hw_max_sectors (2048)" bash -c \
        "sg_vpd -p bl '$DEV' | grep -q 'Maximum transfer length: 2048'"
    DMAX=$(cat /sys/block/"$B"/queue/discard_max_bytes)
    ZMAX=$(cat /sys/block/"$B"/queue/write_zeroes_max_bytes)
    e2e_log "kernel: discard_max_bytes $DMAX, write_zeroes_max_bytes $ZMAX"
    check "the kernel sends no discard to the disk (discard_max_bytes 0)" [ "$DMAX" = 0 ]
    check "write-zeroes as WRITE SAME of at most 8 MiB" \
        [ "$ZMAX" -gt 0 -a "$ZMAX" -le $((8 * 1024 * 1024)) ]

    # ------------------------------------------------------------------ zeroing
    # blkdiscard -z: BLKZEROOUT, i.e. WRITE SAME emulated by writes; the
    # backing file must hold zeroes where a pattern was.
    disk_write_pattern "$DEV" "$W/pattern" 8 || notok "write the pattern"
    check "pattern on the backing file" cmp -n $((16 * 1024 * 1024)) \
        "$W/pattern" <(dd if="$IMG" bs=1M skip=8 count=16 status=none)
    check "blkdiscard -z (write-zeroes) of 12 MiB" \
        blkdiscard -z -o $((8 * 1024 * 1024)) -l $((12 * 1024 * 1024)) "$DEV"
    check "those 12 MiB are zero on the NFS server" cmp -n $((12 * 1024 * 1024)) \
        /dev/zero <(dd if="$IMG" bs=1M skip=8 count=12 status=none)
    check "the 4 MiB after them untouched" cmp \
        <(dd if="$W/pattern" bs=1M skip=12 count=4 status=none) \
        <(dd if="$IMG" bs=1M skip=20 count=4 status=none)
    out=$(blkdiscard "$DEV" 2>&1); rc=$?
    e2e_log "blkdiscard: rc $rc: $out"
    check "blkdiscard refused by the kernel (not supported)" \
        bash -c '[ "$1" != 0 ] && grep -qi "not supported" <<< "$2"' - "$rc" "$out"

    # ------------------------------------------------------------------ mkfs, fstrim
    out=$(mkfs.ext4 -F "$DEV" 2>&1); rc=$?
    echo "$out" | show
    check "default mkfs.ext4 (discard on) succeeds" [ "$rc" = 0 ]
    check "mount" mount "$DEV" "$MNT"
    check "write a file" dd if="$W/pattern" of="$MNT/f" bs=1M conv=fsync status=none
    rm -f "$MNT/f"; sync
    out=$(fstrim -v "$MNT" 2>&1); rc=$?
    e2e_log "fstrim: rc $rc: $out"
    check "fstrim works or is refused as not supported" \
        bash -c '[ "$1" = 0 ] || grep -qi "not supported" <<< "$2"' - "$rc" "$out"
    check "umount" umount "$MNT"
    check "fsck -fn clean" fsck.ext4 -fn "$DEV"

    e2e_log "kernel messages during the run:"
    dmesg | tail -n +$((DM0 + 1)) | head -30 | show
    check "no I/O or sense error in dmesg" bash -c "! dmesg | tail -n +$((DM0 + 1)) |
        grep -qiE 'I/O error|FAILED Result|Sense Key|Add. Sense|WRITE SAME failed|critical'"

    # ------------------------------------------------------------------ refused CDBs
    # WRITE SAME with UNMAP through the real stack: ILLEGAL REQUEST (sg3_utils
    # exit status 5), INVALID FIELD IN CDB.
    out=$(sg_write_same -v --16 --unmap --lba=0 --num=8 "$DEV" 2>&1); rc=$?
    e2e_log "sg_write_same --unmap: rc $rc: $out"
    check "WRITE SAME(16) UNMAP refused with INVALID FIELD IN CDB" \
        exited 5 "invalid field in cdb"
    out=$(sg_unmap --force --lba=0 --num=8 "$DEV" 2>&1); rc=$?
    e2e_log "sg_unmap: rc $rc: $out"
    # the core's answer without an unmap callout: INVALID COMMAND OPERATION
    # CODE (sg3_utils exit status 9)
    check "UNMAP refused (ILLEGAL REQUEST)" [ "$rc" = 9 -o "$rc" = 5 ]
    out=$(sg_write_same -v --wrprotect=1 --lba=0 --num=1 "$DEV" 2>&1); rc=$?
    e2e_log "sg_write_same --wrprotect=1: rc $rc"
    check "WRITE SAME WRPROTECT=1 refused with INVALID FIELD IN CDB" \
        exited 5 "invalid field in cdb"
    # COMPARE AND WRITE: more blocks than MAXIMUM COMPARE AND WRITE LENGTH (1)
    # refused; one block compared with what is there (zeroes: mkfs leaves LBA 0
    # alone) succeeds, and a miscompare is reported as one (exit status 14).
    head -c 2048 /dev/zero > "$W/caw2"
    head -c 1024 /dev/zero > "$W/caw1"
    { head -c 512 /dev/zero | tr '\0' '\377'; head -c 512 /dev/zero; } > "$W/caw1x"
    out=$(sg_compare_and_write -v --in="$W/caw2" --lba=0 --num=2 "$DEV" 2>&1); rc=$?
    e2e_log "sg_compare_and_write --num=2: rc $rc"
    check "COMPARE AND WRITE of 2 blocks refused with INVALID FIELD IN CDB" \
        exited 5 "invalid field in cdb"
    out=$(sg_compare_and_write --in="$W/caw1" --lba=0 --num=1 "$DEV" 2>&1); rc=$?
    check "COMPARE AND WRITE of 1 block: GOOD" exited 0
    out=$(sg_compare_and_write -q --in="$W/caw1x" --lba=0 --num=1 "$DEV" 2>&1); rc=$?
    check "COMPARE AND WRITE miscompare: MISCOMPARE" exited 14
}
[ "$SERVER" = ganesha ] && plain_disk

# ------------------------------------------------------------------ thin: vers=4.2
# du of the backing file, in KiB: what the server's disk holds for it
alloc_kib() { du -k "$THIN" | cut -f1; }
TWWN=$(new_naa)
TDEV=$({ echo "/backstores/user:nfs create name=thin size=${SIZE_MIB}M cfgstring=$THIN_CS hw_max_sectors=2048 control=max_data_area_mb=64"
         tcli_loopback "$TWWN" /backstores/user:nfs/thin
       } | new_disk_after targetcli_batch) || fatal "targetcli create + tcm_loop disk (vers=4.2)"
TB=${TDEV#/dev/}
e2e_log "thin disk $TDEV"
DM1=$(dmesg | wc -l)
sg_readcap -l "$TDEV" 2>&1 | show
sg_vpd -p bl "$TDEV" 2>&1 | show
sg_vpd -p lbpv "$TDEV" 2>&1 | show
check "thin: READ CAPACITY(16) LBPME=1 LBPRZ=1" bash -c \
    "sg_readcap -l '$TDEV' | grep -q 'lbpme=1, lbprz=1'"
check "thin: VPD B2h UNMAP, WRITE SAME unmap, LBPRZ=1, thin provisioned" bash -c \
    "sg_vpd -p lbpv '$TDEV' | grep -q 'Unmap command supported (LBPU): 1' &&
     sg_vpd -p lbpv '$TDEV' | grep -q 'Write same (16) with unmap bit supported (LBPWS): 1' &&
     sg_vpd -p lbpv '$TDEV' | grep -q 'Logical block provisioning read zeros (LBPRZ): 1' &&
     sg_vpd -p lbpv '$TDEV' | grep -qi 'Provisioning type: 2'"
TDMAX=$(cat /sys/block/"$TB"/queue/discard_max_bytes)
e2e_log "thin: discard_max_bytes $TDMAX"
check "thin: the kernel sends discards (discard_max_bytes > 0)" [ "$TDMAX" -gt 0 ]

disk_write_pattern "$TDEV" "$W/pattern" 8 || notok "thin: write the pattern"
a0=$(alloc_kib)
check "thin: blkdiscard of 8 MiB" \
    blkdiscard -o $((8 * 1024 * 1024)) -l $((8 * 1024 * 1024)) "$TDEV"
a1=$(alloc_kib)
e2e_log "thin: backing file holds $a0 KiB, $a1 KiB after the discard"
check "thin: the discard freed 8 MiB in the backing file" \
    [ $((a0 - a1)) -ge $((8 * 1024 - 64)) ]
check "thin: zeros there on the NFS server" cmp -n $((8 * 1024 * 1024)) \
    /dev/zero <(dd if="$THIN" bs=1M skip=8 count=8 status=none)
check "thin: the 8 MiB after them untouched" cmp \
    <(dd if="$W/pattern" bs=1M skip=8 count=8 status=none) \
    <(dd if="$THIN" bs=1M skip=16 count=8 status=none)
out=$(sg_unmap --force --lba=$((16 * 2048)) --num=2048 "$TDEV" 2>&1); rc=$?
e2e_log "thin: sg_unmap 1 MiB: rc $rc: $out"
check "thin: UNMAP: GOOD, zeros on the NFS server" bash -c \
    "[ $rc = 0 ] && cmp -n 1048576 /dev/zero <(dd if='$THIN' bs=1M skip=16 count=1 status=none)"
out=$(sg_write_same --16 --unmap --lba=$((17 * 2048)) --num=2048 "$TDEV" 2>&1); rc=$?
e2e_log "thin: sg_write_same --unmap (zeros): rc $rc: $out"
check "thin: WRITE SAME(16) UNMAP of zeros: GOOD, zeros on the NFS server" bash -c \
    "[ $rc = 0 ] && cmp -n 1048576 /dev/zero <(dd if='$THIN' bs=1M skip=17 count=1 status=none)"
head -c 512 /dev/zero | tr '\0' '\377' > "$W/ones"
out=$(sg_write_same -v --16 --unmap --in="$W/ones" --lba=0 --num=8 "$TDEV" 2>&1); rc=$?
e2e_log "thin: sg_write_same --unmap (not zeros): rc $rc"
check "thin: WRITE SAME(16) UNMAP of other data refused (INVALID FIELD IN CDB)" \
    exited 5 "invalid field in cdb"

out=$(mkfs.ext4 -F "$TDEV" 2>&1); rc=$?
check "thin: default mkfs.ext4 (discard on) succeeds" [ "$rc" = 0 ]
check "thin: mount" mount "$TDEV" "$MNT"
check "thin: write 16 MiB" dd if="$W/pattern" of="$MNT/f" bs=1M conv=fsync status=none
a0=$(alloc_kib)
rm -f "$MNT/f"; sync
out=$(fstrim -v "$MNT" 2>&1); rc=$?
a1=$(alloc_kib)
e2e_log "thin: fstrim: rc $rc: $out; backing file $a0 KiB -> $a1 KiB"
check "thin: fstrim succeeds" [ "$rc" = 0 ]
check "thin: fstrim freed the file's 16 MiB in the backing file" \
    [ $((a0 - a1)) -ge $((16 * 1024 - 256)) ]
check "thin: umount" umount "$MNT"
check "thin: fsck -fn clean" fsck.ext4 -fn "$TDEV"
dmesg | tail -n +$((DM1 + 1)) | head -30 | show
check "thin: no I/O or sense error in dmesg" bash -c "! dmesg | tail -n +$((DM1 + 1)) |
    grep -qiE 'I/O error|FAILED Result|Sense Key|Add. Sense|critical'"

# ------------------------------------------------------------------ teardown
check "LIO clearconfig" lio_teardown
check "tcmu-runner stops cleanly" stop_tcmu_runner
if [ "$SERVER" = knfsd ]; then
    check "knfsd stops cleanly" stop_knfsd
else
    check "ganesha stops cleanly" stop_nfs_server
fi
if [ "$FAILS" -eq 0 ]; then
    e2e_log "DISCARD E2E PASSED"
    exit 0
fi
e2e_log "DISCARD E2E FAILED: $FAILS check(s) failed"
exit 1
