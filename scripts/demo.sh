#!/bin/bash
# The demo (`sudo make demo`): on Debian 12, install what is missing, build,
# then run tests/e2e/demo.sh - a local NFS server, a user:nfs disk made with
# targetcli, used through tcm_loop and iSCSI, torn down again:
#   - on this host, when its kernel has LIO/TCMU (the modules load and
#     configfs is there);
#   - otherwise inside a throw-away QEMU guest booting the installed Debian
#     kernel (tests/e2e/vm-run.sh; about 2 minutes on 2 cores).
# DEMO_VM=1 forces the guest, DEMO_VM=0 the host. Exit status 0 = it worked.
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD

say() { echo; echo "##### $*"; }
die() { echo "demo.sh: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (sudo make demo): it installs packages, loads kernel modules and runs daemons"

say "dependencies (scripts/install-deps.sh)"
scripts/install-deps.sh || die "installing dependencies failed"

say "build (cmake)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null || die "cmake configure failed"
cmake --build build -j "$(nproc)" --target handler_nfs || die "build failed"
ls -l build/handler_nfs.so

# Does this kernel have LIO + TCMU + tcm_loop + the iSCSI target?
host_has_lio() {
    modprobe -a configfs target_core_user tcm_loop iscsi_target_mod >/dev/null 2>&1 || return 1
    if ! grep -qs ' /sys/kernel/config configfs ' /proc/mounts; then
        mount -t configfs configfs /sys/kernel/config 2>/dev/null || return 1
    fi
    [ -d /sys/kernel/config/target/core ] && [ -d /sys/module/target_core_user ] \
        && [ -d /sys/module/tcm_loop ]
}

case "${DEMO_VM:-auto}" in
    1) where=vm ;;
    0) where=host ;;
    *) if host_has_lio; then where=host; else where=vm; fi ;;
esac

if [ "$where" = host ]; then
    say "this kernel has LIO/TCMU: running the demo on this host"
    E2E_BUILD_DIR=$ROOT/build exec tests/e2e/demo.sh
fi

say "this kernel has no LIO/TCMU ($(uname -r)): running the demo in a QEMU guest (Debian's kernel, this host's root filesystem read-only)"
E2E_BUILD_DIR=$ROOT/build E2E_QUIET_HOST= exec tests/e2e/vm-run.sh --timeout 900 \
    ${DEMO_OUT:+--out "$DEMO_OUT"} tests/e2e/demo.sh
