#!/bin/bash
# guest-init.sh - PID 1 inside the e2e VM (started by vm-run.sh's initramfs
# after switch_root into the overlay of the host root).
#
# Sets up the guest (proc/sys/dev/configfs, lo, kernel modules, dbus), then runs
# the job described by /e2e-out/job.sh (written by vm-run.sh on the host):
#   E2E_SCRIPT, E2E_ARGS, E2E_CWD, E2E_* variables.
# The script's stdout+stderr go to the console (-> host stdout) and to
# /e2e-out/script.log; its exit status to /e2e-out/rc. Then the VM powers off.
# Never exits without powering off (PID 1 exiting would panic the kernel).

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C.UTF-8 TERM=dumb
export E2E_OUT=/e2e-out
export E2E_WORK=/e2e-work
export E2E_IN_GUEST=1
LOG=$E2E_OUT/guest-init.log

say() { echo "e2e-guest: $*" > /dev/console; echo "$(cut -d' ' -f1 /proc/uptime) $*" >> "$LOG"; }

finish() {
    local rc=$1
    dmesg > "$E2E_OUT/dmesg.log" 2>/dev/null
    echo "$rc" > "$E2E_OUT/rc"
    sync
    echo 1 > /proc/sys/kernel/sysrq
    echo o > /proc/sysrq-trigger
    sleep 5 2>/dev/null
    busybox poweroff -f 2>/dev/null
    sleep 30 2>/dev/null
}
setup_fail() { say "SETUP FAILED: $*"; finish 2; }

# Early setup uses the static busybox where it can: every exec of a dynamic
# binary costs ~0.1 s under TCG (ld.so over 9p).
if [ -x /bin/busybox ]; then
    for _c in mount mkdir ln hostname; do eval "$_c() { /bin/busybox $_c \"\$@\"; }"; done
fi

# --- filesystems
mountpoint -q /proc || mount -t proc proc /proc
mountpoint -q /sys || mount -t sysfs sysfs /sys
mountpoint -q /dev || mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd
[ -e /dev/stdin ] || ln -s /proc/self/fd/0 /dev/stdin
[ -e /dev/stdout ] || ln -s /proc/self/fd/1 /dev/stdout
[ -e /dev/stderr ] || ln -s /proc/self/fd/2 /dev/stderr
mount -t devpts -o gid=5,mode=620,ptmxmode=000 devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t tmpfs -o mode=0755 tmpfs /run         # hide the host's /run (pid files)
mkdir -p /run/lock /run/dbus /run/lock/iscsi "$E2E_WORK"
mount -t tmpfs -o mode=0755,size=90% tmpfs "$E2E_WORK" || setup_fail "tmpfs $E2E_WORK"
mountpoint -q /sys/kernel/config || mount -t configfs configfs /sys/kernel/config 2>/dev/null
: > "$LOG"
mkdir -p /etc/target    # target_core_mod looks for it (db_root)
say "guest up after $(cut -d' ' -f1 /proc/uptime)s (kernel $(uname -r))"
hostname e2e-guest
# The job (E2E_SCRIPT, E2E_ARGS, E2E_CWD, E2E_* from the host) - sourced early
# because E2E_EXTRA_MODULES / E2E_DBUS_ACTIVATION affect the setup below.
[ -f "$E2E_OUT/job.sh" ] || setup_fail "no $E2E_OUT/job.sh"
# shellcheck disable=SC1091
. "$E2E_OUT/job.sh" || setup_fail "sourcing job.sh"

# --- network: loopback only
ip link set lo up || setup_fail "ip link set lo up"

# --- kernel modules (the host's /lib/modules, via the 9p root)
MODS="configfs target_core_user tcm_loop iscsi_target_mod iscsi_tcp sd_mod sg ${E2E_EXTRA_MODULES:-}"
# shellcheck disable=SC2086
modprobe -a $MODS >> "$LOG" 2>&1 || setup_fail "modprobe -a $MODS (see guest-init.log)"
mountpoint -q /sys/kernel/config || mount -t configfs configfs /sys/kernel/config \
    || setup_fail "mount configfs"

# --- dbus (tcmu-runner and targetcli's user: backstores need the system bus)
# No D-Bus service activation (guest overlay copy of system.conf only): a
# targetcli/rtslib call before start_tcmu_runner would otherwise silently
# start the system tcmu-runner (default handler dir, logs in /var/log).
if [ -z "${E2E_DBUS_ACTIVATION:-}" ]; then
    sed -i 's|<standard_system_servicedirs/>|<!-- e2e: service activation disabled -->|' \
        /usr/share/dbus-1/system.conf || setup_fail "patching dbus system.conf"
fi
dbus-daemon --system --fork >> "$LOG" 2>&1 || setup_fail "dbus-daemon"
for _ in $(seq 100); do [ -S /run/dbus/system_bus_socket ] && break; sleep 0.1; done
[ -S /run/dbus/system_bus_socket ] || setup_fail "dbus socket did not appear"

unset -f mount mkdir ln hostname 2>/dev/null

# --- the job
cd "$E2E_CWD" 2>/dev/null || { say "warning: cannot cd to $E2E_CWD, using /"; cd /; }
say "setup done at $(cut -d' ' -f1 /proc/uptime)s; running $E2E_SCRIPT ${E2E_ARGS[*]}"

if [ -x "$E2E_SCRIPT" ]; then RUN=("$E2E_SCRIPT"); else RUN=(bash "$E2E_SCRIPT"); fi
# Not a plain pipe: a daemon the script starts without redirecting its output
# would hold the pipe open and we would wait forever for tee.
"${RUN[@]}" "${E2E_ARGS[@]}" < /dev/null > >(tee "$E2E_OUT/script.log" > /dev/console) 2>&1
RC=$?
TEE=$!
for _ in $(seq 30); do kill -0 "$TEE" 2>/dev/null || break; sleep 0.1; done
say "script exited with status $RC at $(cut -d' ' -f1 /proc/uptime)s"
finish "$RC"
