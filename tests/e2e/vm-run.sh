#!/bin/bash
# vm-run.sh - run a guest script inside a throw-away QEMU VM that boots the
# installed Debian kernel (which has LIO/configfs/TCMU/iSCSI as modules), with
# the host's root filesystem shared read-only over 9p plus a tmpfs overlay.
#
# Usage: tests/e2e/vm-run.sh [--timeout SECS] [--out DIR] [--mem MB] [--smp N]
#                            [--kver KVER] [--keep-out] SCRIPT [ARGS...]
#
# The guest sees the host's filesystem at the same paths, so SCRIPT and any
# build tree are used in place. Results/logs land in --out (default: a fresh
# mktemp dir, printed at the end). Exit status is the guest script's exit
# status; 2 = harness/setup error; 124 = timeout.
#
# Environment passed into the guest: every E2E_* variable, the names listed in
# E2E_PASS_ENV (space separated), and the current working directory (the
# guest script starts in it; also E2E_CWD).
set -u
set -o pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
SELF="$HERE/$(basename "${BASH_SOURCE[0]}")"
PROG=vm-run.sh

die2() { echo "$PROG: error: $*" >&2; exit 2; }
note() { [ -n "${E2E_QUIET_HOST:-}" ] || echo "$PROG: $*" >&2; }

usage() {
    sed -n '2,17p' "$SELF" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

TIMEOUT=${E2E_TIMEOUT:-300}
OUT=""
MEM=${E2E_MEM:-2048}
SMP=${E2E_SMP:-2}
KVER=${E2E_KVER:-}
while [ $# -gt 0 ]; do
    case "$1" in
        --timeout) [ $# -ge 2 ] || usage; TIMEOUT=$2; shift 2 ;;
        --timeout=*) TIMEOUT=${1#*=}; shift ;;
        --out) [ $# -ge 2 ] || usage; OUT=$2; shift 2 ;;
        --out=*) OUT=${1#*=}; shift ;;
        --mem) [ $# -ge 2 ] || usage; MEM=$2; shift 2 ;;
        --mem=*) MEM=${1#*=}; shift ;;
        --smp) [ $# -ge 2 ] || usage; SMP=$2; shift 2 ;;
        --smp=*) SMP=${1#*=}; shift ;;
        --kver) [ $# -ge 2 ] || usage; KVER=$2; shift 2 ;;
        --kver=*) KVER=${1#*=}; shift ;;
        -h|--help) usage ;;
        --) shift; break ;;
        -*) die2 "unknown option '$1' (see --help)" ;;
        *) break ;;
    esac
done
[ $# -ge 1 ] || usage
case "$TIMEOUT" in ''|*[!0-9]*) die2 "--timeout must be a number of seconds, got '$TIMEOUT'" ;; esac
case "$MEM" in ''|*[!0-9]*) die2 "--mem must be MiB, got '$MEM'" ;; esac
case "$SMP" in ''|*[!0-9]*) die2 "--smp must be a number, got '$SMP'" ;; esac

SCRIPT=$1; shift
# Resolve the script: as given (relative to cwd), else relative to tests/e2e.
if [ -f "$SCRIPT" ]; then
    SCRIPT=$(cd "$(dirname "$SCRIPT")" && pwd -P)/$(basename "$SCRIPT")
elif [ -f "$HERE/$SCRIPT" ]; then
    SCRIPT=$HERE/$SCRIPT
else
    die2 "guest script not found: $SCRIPT"
fi

[ "$(id -u)" = 0 ] || die2 "must run as root (9p passthrough of / needs it)"

# ---------------------------------------------------------------- host tools
QEMU=${E2E_QEMU:-qemu-system-x86_64}
command -v "$QEMU" >/dev/null 2>&1 || die2 "missing $QEMU (install qemu-system-x86)"
QEMU=$(command -v "$QEMU")
BUSYBOX=${E2E_BUSYBOX:-/bin/busybox}
[ -x "$BUSYBOX" ] || BUSYBOX=$(command -v busybox 2>/dev/null || true)
[ -n "$BUSYBOX" ] && [ -x "$BUSYBOX" ] || die2 "missing busybox (install busybox-static)"
file -L "$BUSYBOX" 2>/dev/null | grep -q 'statically linked' \
    || { ldd "$BUSYBOX" >/dev/null 2>&1 && die2 "busybox $BUSYBOX is dynamically linked (install busybox-static)"; }
for t in cpio gzip modprobe timeout; do
    command -v $t >/dev/null 2>&1 || die2 "missing host tool: $t"
done

# ---------------------------------------------------------------- kernel
if [ -z "$KVER" ]; then
    # Newest /boot/vmlinuz-* that has a matching /lib/modules dir.
    for k in $(ls -1 /boot/vmlinuz-* 2>/dev/null | sed 's|^/boot/vmlinuz-||' | sort -V -r); do
        if [ -d "/lib/modules/$k/kernel" ]; then KVER=$k; break; fi
    done
    [ -n "$KVER" ] || die2 "missing kernel image: no /boot/vmlinuz-* with /lib/modules/<ver> (install linux-image-amd64)"
fi
KERNEL=/boot/vmlinuz-$KVER
[ -r "$KERNEL" ] || die2 "missing kernel image: $KERNEL"
[ -d "/lib/modules/$KVER" ] || die2 "missing modules dir: /lib/modules/$KVER"

# Modules needed before the real root is available (in dependency order).
INITRD_MODS="virtio_pci 9pnet_virtio 9p overlay"
# Modules the guest needs later from /lib/modules (checked here so that a
# missing one fails fast on the host rather than deep inside the guest).
# E2E_EXTRA_MODULES (modprobed by guest-init.sh) are checked too; they
# come from /lib/modules over 9p, not from the initramfs.
GUEST_MODS="configfs target_core_user tcm_loop iscsi_target_mod iscsi_tcp sd_mod sg"
for m in $GUEST_MODS ${E2E_EXTRA_MODULES:-}; do
    modprobe -S "$KVER" --show-depends "$m" >/dev/null 2>&1 \
        || die2 "missing kernel module: $m (for $KVER)"
done

# ---------------------------------------------------------------- initramfs
CACHE_DIR=${E2E_CACHE_DIR:-${XDG_CACHE_HOME:-/var/tmp}/tcmu-nfs-e2e}
mkdir -p "$CACHE_DIR" || die2 "cannot create cache dir $CACHE_DIR"
SELF_HASH=$( { cat "$SELF"; sha256sum "$BUSYBOX"; } | sha256sum | cut -c1-16)
INITRD=$CACHE_DIR/initramfs-$KVER-$SELF_HASH.cpio.gz

build_initramfs() {
    local tmp root ko m line
    tmp=$(mktemp -d "$CACHE_DIR/build.XXXXXX") || return 1
    root=$tmp/root
    mkdir -p "$root"/{bin,dev,proc,sys,mnt/lower,mnt/rw,mnt/root,mnt/out,lib/modules} || return 1
    cp "$BUSYBOX" "$root/bin/busybox" || return 1
    ln -s busybox "$root/bin/sh"
    : > "$root/lib/modules/load.list"
    for m in $INITRD_MODS; do
        modprobe -S "$KVER" --show-depends "$m" > "$tmp/deps" 2>&1 \
            || { echo "$PROG: error: missing kernel module: $m ($(head -1 "$tmp/deps"))" >&2; return 1; }
        while read -r line; do
            case "$line" in
                builtin*) continue ;;
                insmod*) ko=$(echo "$line" | awk '{print $2}') ;;
                *) continue ;;
            esac
            local base; base=$(basename "$ko")
            base=${base%.xz}; base=${base%.zst}; base=${base%.gz}
            grep -qx "$base" "$root/lib/modules/load.list" && continue
            case "$ko" in
                *.xz) xz -dc "$ko" > "$root/lib/modules/$base" ;;
                *.zst) zstd -qdc "$ko" > "$root/lib/modules/$base" ;;
                *.gz) gzip -dc "$ko" > "$root/lib/modules/$base" ;;
                *) cp "$ko" "$root/lib/modules/$base" ;;
            esac || return 1
            echo "$base" >> "$root/lib/modules/load.list"
        done < "$tmp/deps"
    done
    # /init: mount the host root (9p, ro) + tmpfs overlay, the results share,
    # then switch_root into it and exec guest-init.sh (path from the cmdline).
    cat > "$root/init" <<'EOF'
#!/bin/busybox sh
export PATH=/bin
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
fail() {
    echo "e2e-init: FATAL: $*" > /dev/console
    echo 1 > /proc/sys/kernel/sysrq 2>/dev/null
    sync; echo o > /proc/sysrq-trigger; poweroff -f
    sleep 10
}
for m in $(cat /lib/modules/load.list); do
    insmod /lib/modules/$m || fail "insmod $m failed"
done
[ -n "$e2e_debug" ] && echo "init: modules loaded $(cat /proc/uptime)" > /dev/console
o=trans=virtio,version=9p2000.L,msize=512000
mount -t 9p -o ro,$o,cache=${e2e_rootcache:-loose} hostroot /mnt/lower || fail "mount 9p hostroot failed"
mount -t 9p -o $o,cache=none e2eout /mnt/out || fail "mount 9p e2eout failed"
mount -t tmpfs -o mode=0755,size=${e2e_tmpfs_size:-80%} tmpfs /mnt/rw || fail "tmpfs failed"
mkdir -p /mnt/rw/upper /mnt/rw/work
mount -t overlay -o lowerdir=/mnt/lower,upperdir=/mnt/rw/upper,workdir=/mnt/rw/work overlay /mnt/root \
    || fail "overlay mount failed"
mkdir -p /mnt/root/e2e-out && mount --move /mnt/out /mnt/root/e2e-out || fail "moving results share failed"
[ -n "$e2e_init" ] && [ -f "/mnt/root$e2e_init" ] || fail "guest init '$e2e_init' not found in host root"
[ -n "$e2e_debug" ] && echo "init: switching root $(cat /proc/uptime)" > /dev/console
umount /proc /sys 2>/dev/null
mount --move /dev /mnt/root/dev || umount /dev
exec switch_root /mnt/root /bin/bash "$e2e_init"
EOF
    chmod 755 "$root/init"
    (cd "$root" && find . -print0 | cpio --null -o -H newc --quiet | gzip -1) > "$tmp/initrd" || return 1
    mv -f "$tmp/initrd" "$INITRD" || return 1
    rm -rf "$tmp"
    # Drop initramfs images of older versions of this script (same kernel).
    local old
    for old in "$CACHE_DIR"/initramfs-"$KVER"-*.cpio.gz; do
        [ "$old" = "$INITRD" ] || rm -f "$old"
    done
}

# VMs may start side by side (ctest -j2 -L e2e): one builds, others wait.
if [ ! -s "$INITRD" ]; then
    exec 8>"$CACHE_DIR/.build.lock"
    flock 8
    if [ ! -s "$INITRD" ]; then
        note "building initramfs for $KVER -> $INITRD"
        build_initramfs || { rm -rf "$CACHE_DIR"/build.*; die2 "initramfs build failed"; }
    fi
    exec 8>&-
fi

# ---------------------------------------------------------------- out dir / job
if [ -z "$OUT" ]; then
    OUT=$(mktemp -d /tmp/tcmu-nfs-e2e.XXXXXX) || die2 "mktemp failed"
else
    mkdir -p "$OUT" || die2 "cannot create out dir $OUT"
fi
OUT=$(cd "$OUT" && pwd -P)
rm -f "$OUT/rc" "$OUT/script.log" "$OUT/console.log" "$OUT/job.sh" "$OUT/guest-init.log"

GUEST_INIT=$HERE/guest-init.sh
[ -f "$GUEST_INIT" ] || die2 "missing $GUEST_INIT"
case "$GUEST_INIT" in *[[:space:]]*) die2 "path of guest-init.sh must not contain spaces: $GUEST_INIT" ;; esac

CWD=$(pwd -P)
{
    echo "# generated by vm-run.sh on the host; sourced by guest-init.sh"
    printf 'E2E_SCRIPT=%q\n' "$SCRIPT"
    printf 'E2E_ARGS=('; for a in "$@"; do printf '%q ' "$a"; done; printf ')\n'
    printf 'export E2E_CWD=%q\n' "$CWD"
    printf 'export E2E_TESTS_DIR=%q\n' "$HERE"
    printf 'export E2E_HOST_OUT=%q\n' "$OUT"
    printf 'export E2E_KVER=%q\n' "$KVER"
    # All E2E_* variables plus those listed in E2E_PASS_ENV.
    for v in $(compgen -e | grep '^E2E_') ${E2E_PASS_ENV:-}; do
        case "$v" in E2E_CWD|E2E_TESTS_DIR|E2E_HOST_OUT|E2E_KVER|E2E_OUT|E2E_WORK|E2E_IN_GUEST|E2E_SCRIPT|E2E_ARGS) continue ;; esac
        [[ "$v" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || continue
        [ -n "${!v+x}" ] || continue
        printf 'export %s=%q\n' "$v" "${!v}"
    done
} > "$OUT/job.sh" || die2 "cannot write $OUT/job.sh"

# ---------------------------------------------------------------- boot
APPEND="console=ttyS0 rdinit=/init panic=-1 quiet loglevel=${E2E_LOGLEVEL:-3} e2e_init=$GUEST_INIT"
[ -n "${E2E_ROOTCACHE:-}" ] && APPEND="$APPEND e2e_rootcache=$E2E_ROOTCACHE"
[ -n "${E2E_KERNEL_ARGS:-}" ] && APPEND="$APPEND $E2E_KERNEL_ARGS"

# qboot: a tiny firmware that boots -kernel faster than SeaBIOS and prints
# nothing on the serial console (SeaBIOS emits terminal-reset escapes).
BIOS_ARGS=()
QBOOT=${E2E_BIOS-/usr/share/qemu/qboot.rom}
[ -n "$QBOOT" ] && [ -r "$QBOOT" ] && BIOS_ARGS=(-bios "$QBOOT")

QEMU_ARGS=(
    -machine pc -accel tcg,thread=single -cpu max -smp "$SMP" -m "$MEM"
    -nographic -no-reboot -nic none -monitor none -vga none
    "${BIOS_ARGS[@]}"
    -chardev "stdio,id=con0,logfile=$OUT/console.log,signal=on"
    -serial chardev:con0
    -kernel "$KERNEL" -initrd "$INITRD" -append "$APPEND"
    -fsdev local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap
    -device virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot
    -fsdev "local,id=e2eout,path=$OUT,security_model=none"
    -device virtio-9p-pci,fsdev=e2eout,mount_tag=e2eout
)
# shellcheck disable=SC2206
[ -n "${E2E_QEMU_EXTRA:-}" ] && QEMU_ARGS+=($E2E_QEMU_EXTRA)

note "kernel $KVER, script $SCRIPT, out $OUT, timeout ${TIMEOUT}s"
START=$(date +%s.%N)
QPID=""
on_signal() {
    [ -n "$QPID" ] && kill -TERM "$QPID" 2>/dev/null
    echo "$PROG: interrupted; qemu stopped; logs in $OUT" >&2
    exit 130
}
trap on_signal INT TERM HUP

# timeout(1) runs qemu in its own process group; we forward signals above.
timeout --kill-after=10 "$TIMEOUT" "$QEMU" "${QEMU_ARGS[@]}" < /dev/null &
QPID=$!
wait "$QPID"
QRC=$?
QPID=""
END=$(date +%s.%N)
ELAPSED=$(awk -v a="$START" -v b="$END" 'BEGIN{printf "%.1f", b-a}')

# A terminal left in raw mode by qemu's stdio chardev would be unpleasant.
[ -t 1 ] && stty sane 2>/dev/null

if [ "$QRC" = 124 ] || [ "$QRC" = 137 ]; then
    echo "$PROG: TIMEOUT: guest did not finish within ${TIMEOUT}s; qemu killed (logs in $OUT)" >&2
    exit 124
fi
if [ ! -s "$OUT/rc" ]; then
    echo "$PROG: error: guest finished without reporting an exit status (qemu rc $QRC, ${ELAPSED}s; kernel panic or guest-init failure?). Last console lines:" >&2
    tail -n 15 "$OUT/console.log" 2>/dev/null | sed 's/^/    /' >&2
    echo "$PROG: full console log: $OUT/console.log" >&2
    exit 2
fi
RC=$(tr -dc '0-9' < "$OUT/rc")
[ -n "$RC" ] || RC=2
note "guest script exit status $RC after ${ELAPSED}s (wall); logs in $OUT"
exit "$RC"
