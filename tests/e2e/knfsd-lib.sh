# shellcheck shell=bash
# knfsd-lib.sh - the Linux kernel NFS server (knfsd) inside the e2e guest.
# Source it after guest-lib.sh:
#   . "$E2E_TESTS_DIR/guest-lib.sh"; . "$E2E_TESTS_DIR/knfsd-lib.sh"
#
#   start_knfsd              ext4 on dm-delay on a loop device, exported
#                            by knfsd (NFSv3/TCP, ports via the portmapper)
#   restart_knfsd [DOWN_MS]  rpc.nfsd 0, DOWN_MS ms down, rpc.nfsd 8
#   knfsd_set_write_delay MS writes (and flushes) to the server's disk take
#                            MS ms from now on (0: no delay); reads never
#   knfsd_crash_image DIR [CMD...]  the server's disk as a power cut would
#                            leave it (CMD runs at the cut), mounted at DIR
#   stop_knfsd
#
# Layout (every path in guest RAM):
#   $E2E_WORK/knfsd/disk.img  (tmpfs file, E2E_KNFSD_FS_MIB, default 128)
#     -> loop device $E2E_KNFSD_LOOP
#     -> device-mapper "delay" target /dev/mapper/e2e-knfsd: reads straight
#        through, writes and flushes delayed by knfsd_set_write_delay (0
#        at start, so mkfs and the test's own files are quick)
#     -> ext4 (default options: journal, data=ordered, barriers) at /knfsd
#   /etc/exports (the guest's overlay copy):
#     /knfsd/export 127.0.0.1(rw,sync,no_subtree_check,no_root_squash)
#     /knfsd/squash 127.0.0.1(rw,sync,no_subtree_check,root_squash)
#   E2E_KNFSD_EXPORT_OPTS replaces "rw,sync" (e.g. "rw,async" to make the
#   server lie about stability: a negative control).
#   rpcbind, rpc.mountd (its own port from the portmapper), rpc.nfsd 8
#   (-N 4: NFSv3 only, TCP on 2049; lockd comes up with it).
#   E2E_KNFSD_V4=1: NFSv4.1 and 4.2 too (not 4.0), with a lease and a
#   grace period of 10 s (the kernel's least; 90 s by default) and the
#   legacy client tracking in /var/lib/nfs/v4recovery, so that a client's
#   reclaim after a restart is known; /knfsd is the NFSv4 root (fsid=0:
#   the guest's / is an overlay, which knfsd cannot export), so the v4
#   paths are /export/FILE and /squash/FILE ($E2E_KNFSD_V4_PREFIX strips);
#   each export is bound on itself, so that a v4 lookup crosses into it.
#   knfsd's rsize/wsize (max_block_size) is the kernel's choice from the
#   guest's RAM: 256 KiB with 2 GiB, 512 KiB with 4 GiB (ganesha: 1 MiB);
#   E2E_KNFSD_MAX_BLOCK=BYTES sets it (up to 1048576) before the first start.
#   A user:nfs cfgstring needs no nfsport=/mountport=:
#     127.0.0.1/knfsd/export/FILE    127.0.0.1/knfsd/squash/FILE?uid=U&gid=G
# Unlike ganesha, knfsd serves the local filesystem itself (no cache of its
# own): files may be made, changed and read locally at any time.
# Logs: $E2E_OUT/knfsd.log (what the helpers did), rpc.mountd's output in
# $E2E_OUT/knfsd-mountd.out, nfsd's kernel messages in dmesg.

E2E_KNFSD_STATE=$E2E_WORK/knfsd
E2E_KNFSD_ROOT=/knfsd
E2E_KNFSD_EXPORT_DIR=$E2E_KNFSD_ROOT/export
E2E_KNFSD_SQUASH_DIR=$E2E_KNFSD_ROOT/squash
E2E_KNFSD_DM=e2e-knfsd
E2E_KNFSD_DEV=/dev/mapper/$E2E_KNFSD_DM
E2E_KNFSD_THREADS=${E2E_KNFSD_THREADS:-8}
E2E_KNFSD_LOOP=""
E2E_KNFSD_MOUNTD_PID=""
E2E_KNFSD_DELAY_MS=0
# what a v4 path leaves out of the local one (the NFSv4 root, fsid=0)
E2E_KNFSD_V4_PREFIX=$E2E_KNFSD_ROOT

_knfsd_log() { echo "$(e2e_elapsed) $*" >> "$E2E_OUT/knfsd.log"; }

# The device-mapper table: reads with no delay, writes (and flushes, which
# dm-delay puts with the writes when given two classes) after MS ms.
_knfsd_table() {
    echo "0 $(blockdev --getsz "$E2E_KNFSD_LOOP") delay $E2E_KNFSD_LOOP 0 0 $E2E_KNFSD_LOOP 0 $1"
}

# NFSv3 over TCP and MOUNTv3 over TCP registered with the portmapper.
_knfsd_registered() {
    local p; p=$(rpcinfo -p 127.0.0.1 2>/dev/null) || return 1
    echo "$p" | grep -Eq '^ +100003 +3 +tcp +2049 ' && echo "$p" | grep -Eq '^ +100005 +3 +tcp '
}
_knfsd_unregistered() { ! rpcinfo -p 127.0.0.1 2>/dev/null | grep -Eq '^ +100003 '; }
_knfsd_threads() { cat /proc/fs/nfsd/threads 2>/dev/null || echo 0; }

# start_knfsd : build the server's disk, export it, start the daemons.
# Sets E2E_KNFSD_EXPORT_DIR / E2E_KNFSD_SQUASH_DIR (/knfsd/export,
# /knfsd/squash; the NFS paths are the same).  Fails with a message.
start_knfsd() {
    local mib=${E2E_KNFSD_FS_MIB:-128} opts=${E2E_KNFSD_EXPORT_OPTS:-rw,sync} t0 m
    t0=$(date +%s.%N)
    for m in nfsd dm_delay loop ext4; do
        modprobe "$m" 2>>"$E2E_OUT/knfsd.log" \
            || { echo "start_knfsd: modprobe $m failed (not in /lib/modules/$(uname -r)?)" >&2; return 1; }
    done
    for m in rpc.nfsd rpc.mountd exportfs dmsetup losetup mkfs.ext4 rpcbind rpcinfo; do
        command -v "$m" >/dev/null \
            || { echo "start_knfsd: $m not installed (scripts/install-deps.sh: nfs-kernel-server, dmsetup)" >&2; return 1; }
    done
    mkdir -p "$E2E_KNFSD_STATE" "$E2E_KNFSD_ROOT" || return 1
    truncate -s "${mib}M" "$E2E_KNFSD_STATE/disk.img" || return 1
    E2E_KNFSD_LOOP=$(losetup -f --show "$E2E_KNFSD_STATE/disk.img") \
        || { echo "start_knfsd: losetup failed" >&2; return 1; }
    # No udev in the guest: --noudevsync, and `dmsetup mknodes` makes the
    # /dev/mapper node (devtmpfs has only /dev/dm-N).
    dmsetup create --noudevsync "$E2E_KNFSD_DM" --table "$(_knfsd_table 0)" >>"$E2E_OUT/knfsd.log" 2>&1 \
        || { echo "start_knfsd: dmsetup create $E2E_KNFSD_DM (delay target over $E2E_KNFSD_LOOP) failed" >&2; return 1; }
    dmsetup mknodes "$E2E_KNFSD_DM" >>"$E2E_OUT/knfsd.log" 2>&1
    [ -b "$E2E_KNFSD_DEV" ] || { echo "start_knfsd: $E2E_KNFSD_DEV did not appear" >&2; return 1; }
    mkfs.ext4 -q -F -E nodiscard "$E2E_KNFSD_DEV" >>"$E2E_OUT/knfsd.log" 2>&1 \
        || { echo "start_knfsd: mkfs.ext4 $E2E_KNFSD_DEV failed" >&2; return 1; }
    mount -t ext4 "$E2E_KNFSD_DEV" "$E2E_KNFSD_ROOT" || { echo "start_knfsd: mount ext4 failed" >&2; return 1; }
    mkdir -p "$E2E_KNFSD_EXPORT_DIR" "$E2E_KNFSD_SQUASH_DIR" && chmod 755 "$E2E_KNFSD_EXPORT_DIR" "$E2E_KNFSD_SQUASH_DIR"
    # The guest's /etc is its own (overlay): its /etc/exports is ours.
    # E2E_KNFSD_CLIENTS: who may mount (default 127.0.0.1; ha.sh adds
    # the other guest's network)
    local c
    : > /etc/exports
    for c in ${E2E_KNFSD_CLIENTS:-127.0.0.1}; do
        cat >> /etc/exports <<EOF
$E2E_KNFSD_EXPORT_DIR $c($opts,no_subtree_check,no_root_squash)
$E2E_KNFSD_SQUASH_DIR $c($opts,no_subtree_check,root_squash)
EOF
    done
    if [ "${E2E_KNFSD_V4:-0}" = 1 ]; then
        # each export its own mount (a bind mount on itself), so that a
        # v4 lookup from the root crosses into it and gets its options
        for d in "$E2E_KNFSD_EXPORT_DIR" "$E2E_KNFSD_SQUASH_DIR"; do
            mount --bind "$d" "$d" || { echo "start_knfsd: bind mount $d failed" >&2; return 1; }
        done
        for c in ${E2E_KNFSD_CLIENTS:-127.0.0.1}; do
            echo "$E2E_KNFSD_ROOT $c(ro,fsid=0,no_subtree_check,crossmnt)" >> /etc/exports
        done
    fi
    mkdir -p /var/lib/nfs/rpc_pipefs /var/lib/nfs/v4recovery
    : > /var/lib/nfs/etab; : > /var/lib/nfs/rmtab
    grep -q ' /proc/fs/nfsd ' /proc/mounts || mount -t nfsd nfsd /proc/fs/nfsd \
        || { echo "start_knfsd: mount -t nfsd failed" >&2; return 1; }
    if ! rpcinfo -p 127.0.0.1 >/dev/null 2>&1; then
        mkdir -p /run/rpcbind
        rpcbind -f > "$E2E_OUT/rpcbind.out" 2>&1 < /dev/null &
        # shellcheck disable=SC2034  # guest-lib.sh's, as start_nfs_server sets it
        E2E_RPCBIND_PID=$!
        e2e_wait 10 "rpcbind" rpcinfo -p 127.0.0.1 || return 1
    fi
    exportfs -ra >>"$E2E_OUT/knfsd.log" 2>&1 || { echo "start_knfsd: exportfs -ra failed" >&2; return 1; }
    if [ -n "${E2E_KNFSD_MAX_BLOCK:-}" ]; then
        echo "$E2E_KNFSD_MAX_BLOCK" > /proc/fs/nfsd/max_block_size \
            || { echo "start_knfsd: cannot set max_block_size $E2E_KNFSD_MAX_BLOCK" >&2; return 1; }
    fi
    if [ "${E2E_KNFSD_V4:-0}" = 1 ]; then
        # only while no nfsd thread runs
        echo 10 > /proc/fs/nfsd/nfsv4leasetime &&
            echo 10 > /proc/fs/nfsd/nfsv4gracetime ||
            { echo "start_knfsd: cannot set the NFSv4 lease and grace" >&2; return 1; }
    fi
    rpc.mountd -F -N 4 >> "$E2E_OUT/knfsd-mountd.out" 2>&1 < /dev/null &
    E2E_KNFSD_MOUNTD_PID=$!
    _knfsd_start_nfsd || return 1
    _knfsd_log "knfsd up: $(exportfs -v | tr -s ' \t\n' ' ')"
    e2e_log "knfsd up ($(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}') s, $E2E_KNFSD_THREADS threads, versions '$(cat /proc/fs/nfsd/versions)', max_block_size $(cat /proc/fs/nfsd/max_block_size)): $E2E_KNFSD_EXPORT_DIR (no_root_squash), $E2E_KNFSD_SQUASH_DIR (root_squash), $opts; ext4 on $E2E_KNFSD_DEV (dm-delay over $E2E_KNFSD_LOOP)"
}

# the versions rpc.nfsd offers: v3, and with E2E_KNFSD_V4=1 4.1 and 4.2
_knfsd_versions() {
    if [ "${E2E_KNFSD_V4:-0}" = 1 ]; then
        echo "-N 4.0 -V 4.1 -V 4.2"
    else
        echo "-N 4"
    fi
}

_knfsd_start_nfsd() {
    local t0 t1 th; t0=$(date +%s.%N)
    # shellcheck disable=SC2046  # the flags, word-split on purpose
    rpc.nfsd $(_knfsd_versions) "$E2E_KNFSD_THREADS" >>"$E2E_OUT/knfsd.log" 2>&1 \
        || { echo "rpc.nfsd $E2E_KNFSD_THREADS failed (see $E2E_OUT/knfsd.log, dmesg)" >&2; return 1; }
    t1=$(date +%s.%N)
    read -r th < /proc/fs/nfsd/threads
    [ "$th" = "$E2E_KNFSD_THREADS" ] || { echo "rpc.nfsd: $th threads running, not $E2E_KNFSD_THREADS" >&2; return 1; }
    # The kernel registers NFS with the portmapper before rpc.nfsd returns:
    # one look (an exec costs much under TCG), then poll if needed.
    _knfsd_registered || e2e_wait "${E2E_NFS_START_TIMEOUT:-30}" "knfsd (NFSv3 + MOUNTv3 on TCP) in the portmapper" _knfsd_registered \
        || { rpcinfo -p 127.0.0.1 >&2; return 1; }
    kill -0 "$E2E_KNFSD_MOUNTD_PID" 2>/dev/null \
        || { echo "rpc.mountd exited:" >&2; tail -5 "$E2E_OUT/knfsd-mountd.out" >&2; return 1; }
    _knfsd_log "rpc.nfsd $(_knfsd_versions) $E2E_KNFSD_THREADS took $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}') s, registered $(awk -v a="$t1" -v b="$(date +%s.%N)" 'BEGIN{printf "%.2f", b-a}') s later"
}

# restart_knfsd [DOWN_MS] : stop every nfsd thread (rpc.nfsd 0: the
# connections are closed, NFS leaves the portmapper), wait DOWN_MS
# (default 0), start 8 again.  knfsd draws a new write verifier when it
# starts, so to a client this is a server reboot (the page cache and the
# exports stay, and nfsd syncs the files it closes: unstable data is not
# really lost).  Prints one line: how long rpc.nfsd 0 took, when rpc.nfsd
# 8 was run, and how long it took (until knfsd was in the portmapper).
restart_knfsd() {
    local down=${1:-0} a b c d
    a=$(date +%s.%N)
    rpc.nfsd 0 >>"$E2E_OUT/knfsd.log" 2>&1 || { echo "restart_knfsd: rpc.nfsd 0 failed" >&2; return 1; }
    b=$(date +%s.%N)
    [ "$(_knfsd_threads)" = 0 ] || { echo "restart_knfsd: $(_knfsd_threads) nfsd threads left after rpc.nfsd 0" >&2; return 1; }
    [ "$down" -gt 0 ] && sleep "$(awk -v m="$down" 'BEGIN{printf "%.3f", m/1000}')"
    c=$(date +%s.%N)
    _knfsd_start_nfsd || return 1
    d=$(date +%s.%N)
    _knfsd_log "restart: rpc.nfsd 0 at $a, 8 at $c, registered at $d"
    awk -v a="$a" -v b="$b" -v c="$c" -v d="$d" 'BEGIN{printf "rpc.nfsd 0 took %.2f s, rpc.nfsd 8 ran %.2f s after it and took %.2f s\n", b-a, c-a, d-c}'
}

# knfsd_set_write_delay MS : reload the dm-delay table.  Suspending
# dm-delay sends the bios it holds at once (--nolockfs: no fs freeze, so
# nothing is synced by the switch itself).
knfsd_set_write_delay() {
    dmsetup suspend --noudevsync --nolockfs "$E2E_KNFSD_DM" \
        && dmsetup reload --noudevsync "$E2E_KNFSD_DM" --table "$(_knfsd_table "$1")" \
        && dmsetup resume --noudevsync "$E2E_KNFSD_DM" \
        || { echo "knfsd_set_write_delay: dmsetup failed" >&2; dmsetup resume --noudevsync "$E2E_KNFSD_DM" 2>/dev/null; return 1; }
    # shellcheck disable=SC2034  # for the test scripts: the delay in force
    E2E_KNFSD_DELAY_MS=$1
    _knfsd_log "write delay now $1 ms: $(dmsetup table "$E2E_KNFSD_DM")"
}

# knfsd_crash_image DIR [CMD...] : what the server's disk holds right now,
# as a power cut would leave it: the device-mapper device is suspended
# without a filesystem freeze or flush (what was sent to the loop device
# completes, nothing more reaches it), CMD runs (e.g. to snapshot what the
# clients saw acknowledged by then), the loop device's file is copied, the
# device resumes; the copy is mounted at DIR (ext4 replays its journal).
# Data only in the server's page cache (an UNSTABLE WRITE never COMMITted,
# any write to an "async" export) is not in it.  knfsd itself syncs a file
# when it closes it: ~2 s after its last use (its file cache) and at
# rpc.nfsd 0, so an image of an idle server holds everything: take it
# under load.  While suspended, every fsync on the server waits.
knfsd_crash_image() {
    local dir=$1 img=$E2E_KNFSD_STATE/crash.img rc=0 t0 t1 t2 t3 t4
    shift
    umount "$dir" 2>/dev/null
    t0=$(date +%s.%N)
    dmsetup suspend --noudevsync --nolockfs --noflush "$E2E_KNFSD_DM" \
        || { echo "knfsd_crash_image: dmsetup suspend failed" >&2; return 1; }
    t1=$(date +%s.%N)
    if [ $# -gt 0 ]; then "$@" || rc=1; fi
    t2=$(date +%s.%N)
    cp --sparse=always "$E2E_KNFSD_STATE/disk.img" "$img" || rc=1
    t3=$(date +%s.%N)
    dmsetup resume --noudevsync "$E2E_KNFSD_DM" || { echo "knfsd_crash_image: resume failed" >&2; return 1; }
    t4=$(date +%s.%N)
    [ "$rc" = 0 ] || { echo "knfsd_crash_image: snapshot command or copy failed" >&2; return 1; }
    _knfsd_log "crash image: $(awk -v a="$t0" -v b="$t1" -v c="$t2" -v d="$t3" -v e="$t4" 'BEGIN{printf "suspend %.2f s, at-the-cut command %.2f s, copy %.2f s, resume %.2f s: I/O held %.2f s", b-a, c-b, d-c, e-d, e-a}')"
    mkdir -p "$dir" && mount -t ext4 -o loop "$img" "$dir" \
        || { echo "knfsd_crash_image: mounting the crash image failed" >&2; return 1; }
}

stop_knfsd() {
    local rc=0
    rpc.nfsd 0 >>"$E2E_OUT/knfsd.log" 2>&1 || rc=1
    exportfs -ua >>"$E2E_OUT/knfsd.log" 2>&1 || rc=1
    if [ -n "$E2E_KNFSD_MOUNTD_PID" ]; then
        kill -TERM "$E2E_KNFSD_MOUNTD_PID" 2>/dev/null
        wait "$E2E_KNFSD_MOUNTD_PID" 2>/dev/null
        E2E_KNFSD_MOUNTD_PID=""
    fi
    if [ "${E2E_KNFSD_V4:-0}" = 1 ]; then
        umount "$E2E_KNFSD_EXPORT_DIR" "$E2E_KNFSD_SQUASH_DIR" 2>>"$E2E_OUT/knfsd.log"
    fi
    umount "$E2E_KNFSD_ROOT" 2>>"$E2E_OUT/knfsd.log" || { echo "stop_knfsd: umount $E2E_KNFSD_ROOT failed" >&2; rc=1; }
    dmsetup remove --noudevsync "$E2E_KNFSD_DM" >>"$E2E_OUT/knfsd.log" 2>&1 || { echo "stop_knfsd: dmsetup remove failed" >&2; rc=1; }
    [ -n "$E2E_KNFSD_LOOP" ] && { losetup -d "$E2E_KNFSD_LOOP" || rc=1; }
    E2E_KNFSD_LOOP=""
    return $rc
}
