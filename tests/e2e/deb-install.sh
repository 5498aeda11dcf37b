#!/bin/bash
# deb-install.sh - the Debian package, checked and used as an admin would.
#
#   tests/e2e/deb-install.sh --check DEB      (host: contents and Depends)
#   E2E_DEB=/abs/path/tcmu-nfs_V_amd64.deb tests/e2e/vm-run.sh tests/e2e/deb-install.sh
#                                             (QEMU guest: install and use it)
#
# --check: handler_nfs.so in tcmu-runner's handler directory (the one
# Debian's tcmu-runner package uses), exporting handler_init and needing
# libnfs.so.13; the man page (identical to docs/tcmu-nfs.8); the docs;
# tcmu-nfs-stat; Depends on libnfs13 and on tcmu-runner (= the installed
# version, whose headers the build used); version = CMake's project().
#
# In the guest (the host's root read-only under a tmpfs overlay, so dpkg
# changes nothing on the host): dpkg -i the .deb, start tcmu-runner with
# its default handler directory (no --handler-path, no build tree), check
# that the handler it mapped is the packaged file, create a user:nfs disk
# with targetcli through tcm_loop, write and read 8 MiB at two offsets and
# compare with the backing file on the NFS server; man -w tcmu-nfs finds
# the page; dpkg -r removes the handler.  E2E_DEB_MUTATE=skip-install
# leaves the .deb uninstalled: the test must then fail.
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)

FAILS=0
check() {   # DESC CMD...: run CMD, count a failure
    local desc=$1
    shift
    if "$@"; then
        echo "ok: $desc"
    else
        echo "FAIL: $desc" >&2
        FAILS=$((FAILS + 1))
    fi
}

sys_handler_dir() {   # where Debian's tcmu-runner has its own handlers
    dpkg -L tcmu-runner | sed -n 's|/handler_[a-z_]*\.so$||p' | sort -u
}

# ------------------------------------------------------------------ host
host_check() {
    local deb=$1 tmp list dir ver want_ver tcmu_ver dep
    [ -f "$deb" ] || { echo "deb-install.sh: no $deb (make deb)" >&2; return 1; }
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' RETURN
    dir=$(sys_handler_dir)
    [ -n "$dir" ] || { echo "no handler dir in dpkg -L tcmu-runner" >&2; return 1; }
    list=$(dpkg-deb -c "$deb" | awk '{print $NF}' | sed 's|^\./|/|')
    has() { grep -qx "$1" <<<"$list"; }
    check "handler_nfs.so in $dir" has "$dir/handler_nfs.so"
    check "no other .so" \
        test "$(grep -c '\.so$' <<<"$list")" = 1
    check "man page" has /usr/share/man/man8/tcmu-nfs.8.gz
    check "tcmu-nfs-stat" has /usr/bin/tcmu-nfs-stat
    check "tcmu-nfs-ha (docs/ha.md)" has /usr/sbin/tcmu-nfs-ha
    for f in README.md configuration.md durability.md deployment.md \
         metrics.md ha.md copyright; do
        check "doc $f" bash -c "grep -Eqx '/usr/share/doc/tcmu-nfs/$f(\.gz)?' <<<'$list'"
    done

    dpkg-deb -x "$deb" "$tmp/root" || return 1
    check "packaged man page is docs/tcmu-nfs.8" \
        cmp -s <(zcat "$tmp/root/usr/share/man/man8/tcmu-nfs.8.gz") \
        "$SRC/docs/tcmu-nfs.8"
    check "handler exports handler_init" bash -c \
        "nm -D --defined-only '$tmp/root$dir/handler_nfs.so' | grep -qw handler_init"
    check "handler needs libnfs.so.13" bash -c \
        "readelf -d '$tmp/root$dir/handler_nfs.so' | grep -q 'NEEDED.*\[libnfs\.so\.13\]'"

    dep=$(dpkg-deb -f "$deb" Depends)
    tcmu_ver=$(dpkg-query -W -f='${Version}' tcmu-runner)
    echo "Depends: $dep"
    check "Depends on libnfs13" bash -c "grep -Eq '(^|, )libnfs13( |,|$)' <<<'$dep'"
    check "Depends on tcmu-runner (= $tcmu_ver)" \
        bash -c "grep -Fq 'tcmu-runner (= $tcmu_ver)' <<<'$dep'"
    check "Architecture amd64" test "$(dpkg-deb -f "$deb" Architecture)" = amd64
    ver=$(dpkg-deb -f "$deb" Version)
    want_ver=$(sed -n 's/^project(tcmu-nfs VERSION \([0-9.]*\).*/\1/p' \
        "$SRC/CMakeLists.txt")
    check "Version $ver = CMake project version $want_ver" \
        test "$ver" = "$want_ver"
    check "man page says tcmu-nfs $want_ver" \
        grep -q "^\.TH .* \"tcmu-nfs $want_ver\"" "$SRC/docs/tcmu-nfs.8"
    check "file name tcmu-nfs_${ver}_amd64.deb" \
        test "$(basename "$deb")" = "tcmu-nfs_${ver}_amd64.deb"
    [ $FAILS -eq 0 ] && echo "deb-install.sh --check: OK"
    return $((FAILS > 0))
}

if [ "${1:-}" = --check ]; then
    host_check "${2:?usage: deb-install.sh --check DEB}"
    exit
fi

# ------------------------------------------------------------------ guest
. "$HERE/guest-lib.sh"
[ -n "${E2E_IN_GUEST:-}" ] || e2e_die "run in the guest: tests/e2e/vm-run.sh $0"
DEB=${E2E_DEB:?set E2E_DEB to the .deb (make deb)}
[ -f "$DEB" ] || e2e_die "no $DEB"
# whatever the host passed, nothing may point at a build tree
unset E2E_HANDLER_SO E2E_BUILD_DIR
HDIR=$(sys_handler_dir)
SO=$HDIR/handler_nfs.so
CFG="$E2E_NFS_HOST/export/disk0.img?nfsport=$E2E_NFS_PORT&mountport=$E2E_MNT_PORT"
WWN=$(new_naa)

cleanup() {
    targetcli_batch -k "/loopback delete $WWN" \
        "/backstores/user:nfs delete d0" >/dev/null 2>&1
    stop_tcmu_runner
    stop_nfs_server
}
trap cleanup EXIT

e2e_log "installing $DEB"
if [ "${E2E_DEB_MUTATE:-}" = skip-install ]; then
    e2e_log "MUTATION: not installing the package"
else
    check "no handler_nfs.so in $HDIR before dpkg -i" test ! -e "$SO"
    dpkg -i "$DEB" >"$E2E_OUT/dpkg.log" 2>&1 ||
        { cat "$E2E_OUT/dpkg.log"; e2e_die "dpkg -i failed"; }
    check "dpkg -s tcmu-nfs: installed" bash -c \
        "dpkg-query -W -f='\${Status}' tcmu-nfs | grep -q 'install ok installed'"
    check "dpkg -V tcmu-nfs: files as packaged" dpkg -V tcmu-nfs
fi
dpkg-deb -x "$DEB" "$E2E_WORK/deb" || e2e_die "dpkg-deb -x"
check "installed handler is the packaged one" \
    cmp -s "$SO" "$E2E_WORK/deb$SO"

check "man -w tcmu-nfs finds the page" bash -c \
    "man -w tcmu-nfs | grep -qx /usr/share/man/man8/tcmu-nfs.8.gz"
check "man tcmu-nfs shows the keys" bash -c \
    "MANWIDTH=80 man tcmu-nfs 2>/dev/null | grep -q 'nconnect=N'"
check "tcmu-nfs-stat on PATH" \
    test "$(command -v tcmu-nfs-stat)" = /usr/bin/tcmu-nfs-stat

start_nfs_server || e2e_die "nfs server"
truncate -s 64M "$E2E_NFS_EXPORT_DIR/disk0.img"

# tcmu-runner as its unit starts it: no --handler-path, so it loads the
# handlers of its default directory, where the package put handler_nfs.so
mkdir -p "$E2E_OUT/tcmu-runner"
tcmu-runner -l "$E2E_OUT/tcmu-runner" >"$E2E_OUT/tcmu-runner.out" 2>&1 \
    </dev/null &
E2E_TCMU_PID=$!
e2e_wait 30 "tcmu-runner on D-Bus" _tcmu_registered ||
    { tail -20 "$E2E_OUT/tcmu-runner.out"; e2e_die "tcmu-runner"; }
e2e_log "tcmu-runner up (pid $E2E_TCMU_PID, default handler directory)"

mapfile -t D < <({ tcli_user nfs d0 64M "$CFG"
           tcli_loopback "$WWN" /backstores/user:nfs/d0; } |
         new_disks_after 1 targetcli_batch)
[ ${#D[@]} -eq 1 ] || e2e_die "no disk from the installed user:nfs"
e2e_log "user:nfs disk ${D[0]}"

maps=$(grep handler_nfs "/proc/$E2E_TCMU_PID/maps" | awk '{print $NF}' |
    sort -u)
echo "tcmu-runner maps: $maps"
check "tcmu-runner mapped $SO, nothing else" test "$maps" = "$SO"

head -c 4M /dev/urandom >"$E2E_WORK/a.bin"
head -c 4M /dev/urandom >"$E2E_WORK/b.bin"
check "write 4 MiB at 0" disk_write_pattern "${D[0]}" "$E2E_WORK/a.bin" 0
check "write 4 MiB at 40 MiB" \
    disk_write_pattern "${D[0]}" "$E2E_WORK/b.bin" 40
check "read back at 0" disk_verify "${D[0]}" "$E2E_WORK/a.bin" 0
check "read back at 40 MiB" disk_verify "${D[0]}" "$E2E_WORK/b.bin" 40
F=$E2E_NFS_EXPORT_DIR/disk0.img
check "backing file at 0" cmp -n 4194304 "$E2E_WORK/a.bin" "$F"
check "backing file at 40 MiB" \
    cmp -n 4194304 "$E2E_WORK/b.bin" "$F" 0 41943040

cleanup
trap - EXIT
if [ "${E2E_DEB_MUTATE:-}" != skip-install ]; then
    dpkg -r tcmu-nfs >>"$E2E_OUT/dpkg.log" 2>&1
    check "dpkg -r removes the handler" test ! -e "$SO"
fi
[ $FAILS -eq 0 ] || e2e_die "$FAILS check(s) failed"
e2e_log "deb-install: OK"
