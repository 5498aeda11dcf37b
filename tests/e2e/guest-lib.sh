# guest-lib.sh - helpers for guest scripts run by vm-run.sh (source it:
#   . "$E2E_TESTS_DIR/guest-lib.sh"   or   . "$(dirname "$0")/guest-lib.sh")
#
# Every wait is bounded. Functions return non-zero with a message on stderr;
# use `|| e2e_die ...` or `set -e`. Logs of daemons go to $E2E_OUT (the
# results share; on the host: vm-run.sh --out DIR).
#
# Index:
#   e2e_log MSG / e2e_die MSG / e2e_wait SECS DESC CMD... / e2e_elapsed
#   start_tcmu_runner [DIR|handler_X.so ...]   stop_tcmu_runner
#   targetcli_batch [-k] [CMD...] (or commands on stdin, one per line)
#   tcli_fileio NAME FILE SIZE / tcli_user SUBTYPE NAME SIZE CFGSTRING
#   tcli_loopback WWN BACKSTORE... / tcli_iscsi IQN BACKSTORE...
#   new_naa / new_disks_after COUNT CMD... / new_disk_after CMD...
#   disk_size_bytes DEV / disk_write_pattern DEV FILE SEEK_MIB / disk_verify DEV FILE SKIP_MIB
#   start_iscsid / iscsi_login IQN [NLUNS] / iscsi_logout IQN
#   run_iscsi_test_cu [--xfail T1,T2] LABEL URL TESTS
#   start_nfs_server [EXPORT_DIR [SQUASH_DIR]] / stop_nfs_server / restart_nfs_server
#   make_qcow2 FILE SIZE
#   lio_teardown

: "${E2E_OUT:=/e2e-out}"
: "${E2E_WORK:=/e2e-work}"
: "${E2E_TESTS_DIR:=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}"
E2E_PORTAL_IP=127.0.0.1
E2E_PORTAL_PORT=3260
E2E_PORTAL=$E2E_PORTAL_IP:$E2E_PORTAL_PORT
E2E_NFS_HOST=127.0.0.1
E2E_NFS_PORT=2049
E2E_MNT_PORT=20048
E2E_SYS_HANDLER_DIR=/usr/lib/x86_64-linux-gnu/tcmu-runner
E2E_PY=/usr/bin/python3          # not a pyenv shim: needs rtslib_fb, gi
E2E_T0=${E2E_T0:-$(date +%s.%N)}

e2e_elapsed() { awk -v a="$E2E_T0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}'; }
e2e_log() { echo "[e2e +$(e2e_elapsed)s] $*"; }
e2e_die() { echo "[e2e +$(e2e_elapsed)s] FAIL: $*" >&2; exit 1; }

# e2e_wait SECS DESC CMD... : poll CMD every 0.1 s until it succeeds.
e2e_wait() {
    local secs=$1 desc=$2; shift 2
    local end=$(( $(date +%s) + secs ))
    while :; do
        "$@" >/dev/null 2>&1 && return 0
        if [ "$(date +%s)" -ge "$end" ]; then
            echo "e2e_wait: timed out after ${secs}s waiting for $desc" >&2
            return 1
        fi
        sleep 0.1
    done
}

# e2e_find_handler [NAME] : print the path of a freshly built handler_NAME.so
# (default nfs), looking in $E2E_HANDLER_SO, $E2E_BUILD_DIR, $E2E_CWD/build,
# $E2E_CWD (E2E_* variables and the cwd come from the host via vm-run.sh).
e2e_find_handler() {
    local n=handler_${1:-nfs}.so c
    for c in "${E2E_HANDLER_SO:-}" "${E2E_BUILD_DIR:+$E2E_BUILD_DIR/$n}" \
             "${E2E_CWD:+$E2E_CWD/build/$n}" "${E2E_CWD:+$E2E_CWD/$n}"; do
        [ -n "$c" ] && [ -f "$c" ] && { echo "$c"; return 0; }
    done
    echo "e2e_find_handler: $n not found (set E2E_BUILD_DIR or E2E_HANDLER_SO on the host)" >&2
    return 1
}

# ------------------------------------------------------------------ tcmu-runner
E2E_TCMU_PID=""
_tcmu_registered() {
    dbus-send --system --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
        org.freedesktop.DBus.NameHasOwner string:org.kernel.TCMUService1 2>/dev/null \
        | grep -q 'boolean true'
}

# start_tcmu_runner [DIR | handler_X.so]...
#   One DIR: --handler-path DIR. Several args or .so files: symlinks to every
#   handler_*.so go into /run/e2e-handlers (e.g. your build's handler_nfs.so
#   plus the system's handler_qcow.so as a reference in the same daemon).
#   Default: the system handler dir. Extra daemon options: $E2E_TCMU_OPTS
#   (e.g. -d; note -d slows I/O several-fold). Logs: $E2E_OUT/tcmu-runner.log
#   (its own log) and $E2E_OUT/tcmu-runner.out (stdout/stderr).
start_tcmu_runner() {
    local hdir a f
    [ $# -gt 0 ] || set -- "$E2E_SYS_HANDLER_DIR"
    if [ $# -eq 1 ] && [ -d "$1" ]; then
        hdir=$1
    else
        hdir=/run/e2e-handlers
        rm -rf "$hdir"; mkdir -p "$hdir"
        for a in "$@"; do
            if [ -d "$a" ]; then
                for f in "$a"/handler_*.so; do [ -e "$f" ] && ln -sf "$(readlink -f "$f")" "$hdir/"; done
            elif [ -f "$a" ]; then
                ln -sf "$(readlink -f "$a")" "$hdir/$(basename "$a")"
            else
                echo "start_tcmu_runner: no such handler dir/file: $a" >&2; return 1
            fi
        done
    fi
    ls "$hdir"/handler_*.so >/dev/null 2>&1 || { echo "start_tcmu_runner: no handler_*.so in $hdir" >&2; return 1; }
    _tcmu_registered && { echo "start_tcmu_runner: TCMUService1 already registered" >&2; return 1; }
    mkdir -p "$E2E_OUT/tcmu-runner"
    e2e_log "starting tcmu-runner --handler-path $hdir ($(cd "$hdir" && echo handler_*.so))"
    # shellcheck disable=SC2086
    tcmu-runner --handler-path "$hdir" -l "$E2E_OUT/tcmu-runner" ${E2E_TCMU_OPTS:-} \
        > "$E2E_OUT/tcmu-runner.out" 2>&1 < /dev/null &
    E2E_TCMU_PID=$!
    # Wait for D-Bus registration: talking to the service earlier would make
    # D-Bus activation start a second tcmu-runner.
    local end=$(( $(date +%s) + ${E2E_TCMU_START_TIMEOUT:-30} ))
    while ! _tcmu_registered; do
        if ! kill -0 "$E2E_TCMU_PID" 2>/dev/null; then
            echo "start_tcmu_runner: tcmu-runner exited early:" >&2
            tail -20 "$E2E_OUT/tcmu-runner.out" "$E2E_OUT/tcmu-runner/tcmu-runner.log" >&2 2>/dev/null
            return 1
        fi
        if [ "$(date +%s)" -ge "$end" ]; then
            echo "start_tcmu_runner: not registered on D-Bus after ${E2E_TCMU_START_TIMEOUT:-30}s" >&2
            return 1
        fi
        sleep 0.1
    done
    e2e_log "tcmu-runner up (pid $E2E_TCMU_PID)"
}

stop_tcmu_runner() {
    [ -n "$E2E_TCMU_PID" ] || return 0
    kill -TERM "$E2E_TCMU_PID" 2>/dev/null
    local _
    for _ in $(seq 100); do kill -0 "$E2E_TCMU_PID" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$E2E_TCMU_PID" 2>/dev/null; then
        echo "stop_tcmu_runner: still running after 10s, SIGKILL" >&2
        kill -KILL "$E2E_TCMU_PID"; E2E_TCMU_PID=""; return 1
    fi
    wait "$E2E_TCMU_PID" 2>/dev/null
    E2E_TCMU_PID=""
}

# ------------------------------------------------------------------ targetcli
# targetcli_batch [-k] [CMD...] : all commands in one python process (~3 s of
# startup under emulation per process). Without CMD args reads stdin. Fails
# (exit 1) at the first failing command; -k runs all, then fails.
# Output is appended to $E2E_OUT/targetcli.log and shown.
targetcli_batch() {
    local rc
    [ -x "$E2E_PY" ] || { echo "targetcli_batch: $E2E_PY missing" >&2; return 1; }
    mkdir -p /run/e2e-targetcli
    "$E2E_PY" "$E2E_TESTS_DIR/targetcli-batch.py" "$@" 2>&1 | tee -a "$E2E_OUT/targetcli.log"
    rc=${PIPESTATUS[0]}
    return "$rc"
}

# Command generators (print targetcli commands; feed them to targetcli_batch).
tcli_fileio() {   # NAME FILE SIZE  (write_back=false: O_DSYNC-like fileio)
    echo "/backstores/fileio create name=$1 file_or_dev=$2 size=$3 write_back=false"
}
tcli_user() {     # SUBTYPE NAME SIZE CFGSTRING   e.g. tcli_user nfs d0 64M nfs://...
    echo "/backstores/user:$1 create name=$2 size=$3 cfgstring=$4"
}
new_naa() {       # a random tcm_loop WWN
    printf 'naa.5001405%s\n' "$(od -An -N5 -tx1 /dev/urandom | tr -d ' \n' | cut -c1-9)"
}
tcli_loopback() { # WWN BACKSTORE_PATH... (e.g. /backstores/fileio/f0) -> LUN 0,1,...
    local wwn=$1; shift
    echo "/loopback create $wwn"
    local b; for b in "$@"; do echo "/loopback/$wwn/luns create $b"; done
}
tcli_iscsi() {    # IQN BACKSTORE_PATH... -> target on 127.0.0.1:3260, open ACLs
    local iqn=$1; shift
    echo "/iscsi create $iqn"
    echo "/iscsi/$iqn/tpg1/portals create $E2E_PORTAL_IP $E2E_PORTAL_PORT"
    local b; for b in "$@"; do echo "/iscsi/$iqn/tpg1/luns create $b"; done
    echo "/iscsi/$iqn/tpg1 set attribute generate_node_acls=1 demo_mode_write_protect=0 authentication=0 cache_dynamic_acls=1"
}

# lio_teardown: log out of all iSCSI sessions, then clear the LIO config.
lio_teardown() {
    iscsiadm -m node --logoutall=all >/dev/null 2>&1
    targetcli_batch "clearconfig confirm=True"
}

# ------------------------------------------------------------------ disks
_sd_list() { ls /sys/block 2>/dev/null | grep -E '^sd[a-z]+$' | sort; }

# new_disks_after COUNT CMD... : run CMD, wait (E2E_DISK_TIMEOUT, 30 s) until
# COUNT new /dev/sd* disks exist with a non-zero size, print them (one per
# line) ordered by SCSI address H:C:T:L (so LUN order for one target).
new_disks_after() {
    local count=$1; shift
    local before new d n end
    before=$(_sd_list)
    # CMD's stdout goes to stderr: our stdout carries only the disk names.
    "$@" >&2 || { echo "new_disks_after: command failed: $*" >&2; return 1; }
    end=$(( $(date +%s) + ${E2E_DISK_TIMEOUT:-30} ))
    while :; do
        new=$(comm -13 <(echo "$before") <(_sd_list))
        n=0
        for d in $new; do
            [ -b "/dev/$d" ] && [ "$(cat "/sys/block/$d/size" 2>/dev/null || echo 0)" -gt 0 ] && n=$((n + 1))
        done
        [ "$n" -ge "$count" ] && break
        if [ "$(date +%s)" -ge "$end" ]; then
            echo "new_disks_after: expected $count new disk(s) after '$*', got $n: $(echo $new)" >&2
            return 1
        fi
        sleep 0.1
    done
    # A new LUN raises unit attentions (e.g. REPORTED LUNS DATA HAS CHANGED) that
    # the kernel retries but sg_* tools report as failures: consume them.
    for d in $new; do sg_clear_ua "/dev/$d"; done
    for d in $new; do
        echo "$(basename "$(readlink -f "/sys/block/$d/device")") /dev/$d"
    done | sort -t: -k1,1n -k2,2n -k3,3n -k4,4n | awk '{print $2}'
}
new_disk_after() { new_disks_after 1 "$@"; }

# sg_clear_ua DEV : TEST UNIT READY until it succeeds (max ~10 tries).
sg_clear_ua() {
    local _
    for _ in $(seq 10); do sg_turs "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done
    echo "sg_clear_ua: $1 still not ready" >&2; return 1
}

# mount_scratch_ext4 DIR SIZE_MIB : an ext4 fs (loop device over a file in
# $E2E_WORK) at DIR, for backing files that need what tmpfs lacks (e.g.
# handler_qcow needs fallocate(FALLOC_FL_ZERO_RANGE); tmpfs says EOPNOTSUPP).
mount_scratch_ext4() {
    local dir=$1 mib=$2 img
    img=$E2E_WORK/$(basename "$dir").ext4
    modprobe loop 2>/dev/null
    truncate -s "${mib}M" "$img" && mkfs.ext4 -q -F -E nodiscard -O ^has_journal "$img" \
        && mkdir -p "$dir" && mount -o loop "$img" "$dir"
}

disk_size_bytes() { blockdev --getsize64 "$1"; }

# disk_write_pattern DEV FILE SEEK_MIB : write FILE (whole MiBs) with O_DIRECT.
disk_write_pattern() {
    dd if="$2" of="$1" bs=1M seek="$3" oflag=direct conv=fsync,notrunc status=none
}
# disk_verify DEV FILE SKIP_MIB : read back with O_DIRECT and compare.
disk_verify() {
    local n tmp
    n=$(( $(stat -c %s "$2") / 1048576 ))
    tmp=$(mktemp -p "$E2E_WORK" readback.XXXXXX)
    dd if="$1" of="$tmp" bs=1M skip="$3" count="$n" iflag=direct status=none \
        && cmp "$2" "$tmp"
    local rc=$?
    rm -f "$tmp"
    return $rc
}

# ------------------------------------------------------------------ iSCSI initiator
start_iscsid() {
    pgrep -x iscsid >/dev/null && return 0
    mkdir -p /run/lock/iscsi
    [ -s /etc/iscsi/initiatorname.iscsi ] || echo "InitiatorName=iqn.2004-10.com.ubuntu:01:e2e$$" > /etc/iscsi/initiatorname.iscsi
    iscsid > "$E2E_OUT/iscsid.out" 2>&1 || { echo "start_iscsid: iscsid failed" >&2; return 1; }
    e2e_wait 10 "iscsid control socket" grep -q ISCSIADM_ABSTRACT_NAMESPACE /proc/net/unix
}

# iscsi_login IQN [NLUNS] : discovery + login on 127.0.0.1:3260; prints the
# new /dev/sdX (NLUNS of them, LUN order).
iscsi_login() {
    local iqn=$1 nluns=${2:-1}
    start_iscsid || return 1
    iscsiadm -m discovery -t st -p "$E2E_PORTAL" >> "$E2E_OUT/iscsiadm.log" 2>&1 \
        || { echo "iscsi_login: discovery on $E2E_PORTAL failed" >&2; tail -5 "$E2E_OUT/iscsiadm.log" >&2; return 1; }
    new_disks_after "$nluns" _iscsi_do_login "$iqn"
}
_iscsi_do_login() {
    iscsiadm -m node -T "$1" -p "$E2E_PORTAL" --login >> "$E2E_OUT/iscsiadm.log" 2>&1 \
        || { tail -5 "$E2E_OUT/iscsiadm.log" >&2; return 1; }
}
iscsi_logout() {
    iscsiadm -m node -T "$1" -p "$E2E_PORTAL" --logout >> "$E2E_OUT/iscsiadm.log" 2>&1
}

# run_iscsi_test_cu [--xfail T1,T2,...] LABEL URL TESTS
#   Runs libiscsi's SCSI conformance suite (--dataloss) against URL
#   (iscsi://127.0.0.1:3260/IQN/LUN) for the comma list TESTS. Full output in
#   $E2E_OUT/iscsi-test-cu-LABEL.log. Prints one summary line:
#     ITC LABEL: tests=N ran=R passed=P failed=F failed_tests=...
#   Fails if nothing ran (an unknown test name runs 0 tests and exits 0), if
#   fewer tests ran than exist, or if a test outside --xfail failed.
run_iscsi_test_cu() {
    local xfail=""
    if [ "$1" = --xfail ]; then xfail=$2; shift 2; fi
    local label=$1 url=$2 tests=$3
    local log=$E2E_OUT/iscsi-test-cu-$label.log
    timeout "${E2E_ITC_TIMEOUT:-600}" iscsi-test-cu --dataloss --test="$tests" "$url" > "$log" 2>&1
    local rc=$?
    # CUnit: "               tests     12     12     11      1        0"
    local line total ran passed failed failed_tests unexpected t
    line=$(awk '$1=="tests" && NF>=6 {print $2, $3, $4, $5}' "$log" | tail -1)
    read -r total ran passed failed <<< "$line"
    # Failed tests: CUnit prints "  Test: NAME ...FAILED" under "Suite: SUITE".
    # ("  Test: Simple ...    [FAILED] reason", then a bare "FAILED" line).
    failed_tests=$(awk '/^Suite: /{s=$2} /^  Test: /{t=$2} /^FAILED$/ || /^  Test: .*\.\.\.FAILED/{print s"."t}' "$log" \
        | sort -u | paste -sd, -)
    # One line per failed test with its first failure message.
    awk 'function out(){ if (pend) print s"."t": "msg; pend=0 }
         /^Suite: /{out(); s=$2; next}
         /^  Test: /{out(); t=$2; msg=$0; sub(/^  Test: [^ ]* \.\.\. */,"",msg)
                    if ($0 ~ /\.\.\.FAILED$/) {pend=1; msg=""}; next}
         /\[(FAILED|FAILURE)\]/ && msg !~ /\[(FAILED|FAILURE)\]/ {msg=$0; sub(/^ */,"",msg); next}
         /^FAILED$/{pend=1; next}
         pend && /^    [0-9]+\. / {if (msg == "") {msg=$0; sub(/^ */,"",msg)}; next}
         pend {out()}
         END{out()}' "$log" > "${log%.log}.failures"
    local skipped; skipped=$(grep -c '^  Test: .*\[SKIPPED\]' "$log")
    echo "ITC $label: tests=${total:-?} ran=${ran:-0} passed=${passed:-0} (skipped=$skipped) failed=${failed:-?} rc=$rc failed_tests=${failed_tests:-none}"
    if [ "$rc" = 124 ]; then echo "run_iscsi_test_cu: $label timed out" >&2; return 1; fi
    if [ -z "$ran" ] || [ "$ran" -eq 0 ]; then
        echo "run_iscsi_test_cu: $label ran 0 tests (bad test name? see $log)" >&2; tail -5 "$log" >&2; return 1
    fi
    unexpected=""
    for t in ${failed_tests//,/ }; do
        case ",$xfail," in *",$t,"*) ;; *) unexpected="$unexpected $t" ;; esac
    done
    if [ "${failed:-0}" -gt 0 ] && [ -z "$failed_tests" ]; then
        echo "run_iscsi_test_cu: $label: $failed failures but no names parsed; see $log" >&2; return 1
    fi
    if [ -n "$unexpected" ]; then
        echo "run_iscsi_test_cu: $label unexpected failures:$unexpected (see $log)" >&2; return 1
    fi
    return 0
}

# ------------------------------------------------------------------ NFS server
E2E_NFS_STATE=/run/e2e-nfs
E2E_GANESHA_PID=""
E2E_RPCBIND_PID=""

_nfs_registered() {
    local p; p=$(rpcinfo -p 127.0.0.1 2>/dev/null) || return 1
    echo "$p" | grep -Eq '100003 +3 +tcp +2049 ' && echo "$p" | grep -Eq '100005 +3 +tcp +20048 '
}

# start_nfs_server [EXPORT_DIR [SQUASH_DIR]]
#   rpcbind + nfs-ganesha (NFSv3, TCP, NFS port 2049, MOUNT port 20048;
#   E2E_NFS_PROTOCOLS="3, 4" adds NFSv4.1 and 4.2, pseudo paths as below) with
#   /export -> EXPORT_DIR (No_Root_Squash) and /squash -> SQUASH_DIR
#   (Root_Squash). Defaults: $E2E_WORK/nfs/{export,squash} (tmpfs). Export dirs
#   must not be on the overlay root (ganesha's VFS FSAL needs file handles).
#   Sets E2E_NFS_EXPORT_DIR, E2E_NFS_SQUASH_DIR. Logs: $E2E_OUT/ganesha.log.
#   Don't modify the exported dirs locally while ganesha runs (stale cache);
#   reading file contents locally is fine.
start_nfs_server() {
    E2E_NFS_EXPORT_DIR=${1:-$E2E_WORK/nfs/export}
    E2E_NFS_SQUASH_DIR=${2:-$E2E_WORK/nfs/squash}
    local d
    for d in "$E2E_NFS_EXPORT_DIR" "$E2E_NFS_SQUASH_DIR"; do
        mkdir -p "$d" || return 1
        if [ "$(stat -f -c %T "$d")" = overlayfs ]; then
            echo "start_nfs_server: $d is on overlayfs (no file handles); use a dir under \$E2E_WORK" >&2
            return 1
        fi
    done
    mkdir -p "$E2E_NFS_STATE/recovery" "$E2E_NFS_STATE/krb5"
    cat > "$E2E_NFS_STATE/ganesha.conf" <<EOF
NFS_CORE_PARAM {
	mount_path_pseudo = true;
	Protocols = ${E2E_NFS_PROTOCOLS:-3};
	NFS_Port = $E2E_NFS_PORT;
	MNT_Port = $E2E_MNT_PORT;
	Enable_NLM = false;
	Enable_RQUOTA = false;
	Enable_UDP = false;
}
NFSv4 { Graceless = true; Minor_Versions = 1, 2; RecoveryBackend = fs; RecoveryRoot = "$E2E_NFS_STATE/recovery"; }
NFS_KRB5 { Active_krb5 = false; CCacheDir = "$E2E_NFS_STATE/krb5"; }
EXPORT {
	Export_Id = 1; Path = "$E2E_NFS_EXPORT_DIR"; Pseudo = /export;
	Access_Type = RW; Squash = No_Root_Squash; SecType = sys;
	Transports = TCP; Protocols = ${E2E_NFS_PROTOCOLS:-3};
	FSAL { Name = VFS; }
}
EXPORT {
	Export_Id = 2; Path = "$E2E_NFS_SQUASH_DIR"; Pseudo = /squash;
	Access_Type = RW; Squash = Root_Squash; SecType = sys;
	Transports = TCP; Protocols = ${E2E_NFS_PROTOCOLS:-3};
	FSAL { Name = VFS; }
}
EOF
    # ganesha registers NFSv3/MOUNT with rpcbind at start: rpcbind first.
    if ! rpcinfo -p 127.0.0.1 >/dev/null 2>&1; then
        mkdir -p /run/rpcbind
        rpcbind -f > "$E2E_OUT/rpcbind.out" 2>&1 < /dev/null &
        E2E_RPCBIND_PID=$!
        e2e_wait 10 "rpcbind" rpcinfo -p 127.0.0.1 || return 1
    fi
    _start_ganesha
}

_start_ganesha() {
    ganesha.nfsd -F -f "$E2E_NFS_STATE/ganesha.conf" -L "$E2E_OUT/ganesha.log" \
        -p "$E2E_NFS_STATE/ganesha.pid" -N "${E2E_GANESHA_LOGLEVEL:-NIV_EVENT}" \
        >> "$E2E_OUT/ganesha.out" 2>&1 < /dev/null &
    E2E_GANESHA_PID=$!
    local end=$(( $(date +%s) + ${E2E_NFS_START_TIMEOUT:-30} ))
    until _nfs_registered && ss -ltn | grep -q ':2049 '; do
        if ! kill -0 "$E2E_GANESHA_PID" 2>/dev/null; then
            echo "start_nfs_server: ganesha.nfsd exited:" >&2
            tail -15 "$E2E_OUT/ganesha.log" >&2; return 1
        fi
        if [ "$(date +%s)" -ge "$end" ]; then
            echo "start_nfs_server: ganesha not serving NFSv3 after ${E2E_NFS_START_TIMEOUT:-30}s" >&2
            tail -15 "$E2E_OUT/ganesha.log" >&2; return 1
        fi
        sleep 0.1
    done
    e2e_log "nfs-ganesha up (pid $E2E_GANESHA_PID): /export -> $E2E_NFS_EXPORT_DIR, /squash -> $E2E_NFS_SQUASH_DIR"
}

stop_nfs_server() {
    [ -n "$E2E_GANESHA_PID" ] || return 0
    kill -TERM "$E2E_GANESHA_PID" 2>/dev/null
    local _
    for _ in $(seq 100); do kill -0 "$E2E_GANESHA_PID" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$E2E_GANESHA_PID" 2>/dev/null; then
        echo "stop_nfs_server: ganesha still running after 10s, SIGKILL" >&2
        kill -KILL "$E2E_GANESHA_PID"
    fi
    wait "$E2E_GANESHA_PID" 2>/dev/null
    E2E_GANESHA_PID=""
}

# restart_nfs_server: a real "server reboot" (new write verifier, same exports).
restart_nfs_server() { stop_nfs_server && _start_ganesha; }

# ------------------------------------------------------------------ images
# make_qcow2 FILE SIZE_BYTES : qemu-img if installed, else qemu-storage-daemon
# (QMP blockdev-create), which ships with qemu-system-common.
make_qcow2() {
    local f=$1 size=$2
    if command -v qemu-img >/dev/null 2>&1; then
        qemu-img create -q -f qcow2 "$f" "$size"; return
    fi
    command -v qemu-storage-daemon >/dev/null 2>&1 \
        || { echo "make_qcow2: neither qemu-img nor qemu-storage-daemon" >&2; return 1; }
    : > "$f" || return 1
    "$E2E_PY" - "$f" "$size" <<'EOF'
import json, subprocess, sys, time
f, size = sys.argv[1], int(sys.argv[2])
p = subprocess.Popen(["qemu-storage-daemon", "--blockdev",
                      "driver=file,node-name=f,filename=" + f,
                      "--chardev", "stdio,id=m", "--monitor", "chardev=m"],
                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
def send(cmd, **args):
    p.stdin.write(json.dumps({"execute": cmd, "arguments": args} if args else {"execute": cmd}) + "\n")
    p.stdin.flush()
def until(pred, what, secs=30):
    end = time.monotonic() + secs
    for line in p.stdout:
        m = json.loads(line)
        if "error" in m:
            sys.exit("make_qcow2: QMP error %s" % m["error"])
        if pred(m):
            return m
        if time.monotonic() > end:
            break
    p.kill(); sys.exit("make_qcow2: no %s" % what)
until(lambda m: "QMP" in m, "greeting")
send("qmp_capabilities"); until(lambda m: "return" in m, "capabilities")
send("blockdev-create", **{"job-id": "c", "options": {"driver": "qcow2", "file": "f", "size": size}})
until(lambda m: m.get("event") == "JOB_STATUS_CHANGE" and m["data"]["status"] == "concluded", "job end")
send("query-jobs"); r = until(lambda m: "return" in m, "query-jobs")
errs = [j.get("error") for j in r["return"] if j.get("error")]
send("job-dismiss", id="c"); send("quit")
p.wait(timeout=10)
if errs:
    sys.exit("make_qcow2: %s" % errs)
EOF
}
