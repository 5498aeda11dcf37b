#!/bin/bash
# ha-run.sh - the two-gateway tests (docs/ha.md, issue 17): two QEMU
# guests on one virtual network (a QEMU socket netdev over 127.0.0.1, UDP:
# either guest can be frozen, killed or booted again while the other runs).
#
#   guest A (169.254.99.1): the kernel NFS server (knfsd-lib.sh), gateway
#            1 (tcmu-runner, sanlock, LIO iSCSI), and the initiator
#            (iscsid, dm-multipath, ackwriter); runs ha-main.sh CASE
#   guest B (169.254.99.2): gateway 2 (tcmu-runner, sanlock, wdmd with
#            softdog, LIO iSCSI); runs ha-gw.sh, an agent that does what
#            guest A asks through the control share
#
# Both see a third 9p share, the control channel (ha-lib.sh): guest A
# asks guest B ("b") and this script ("host": freeze, thaw or power off
# guest B's whole VM) by dropping command files there.
#
#   sudo E2E_BUILD_DIR=$PWD/build tests/e2e/ha-run.sh CASE [OUT]
#   CASE: failover | move-kill | freeze | freeze-runner |
#         freeze-runner-nofence | cutoff | cutoff-nofence (ha-main.sh)
#
# Exit status: guest A's (0 passed, 1 a check failed, 2 set-up error).
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
CASE=${1:?usage: ha-run.sh CASE [OUT]}
OUT=${2:-$(mktemp -d /tmp/tcmu-nfs-ha.XXXXXX)}
TIMEOUT=${E2E_HA_TIMEOUT:-900}
rm -rf "$OUT/a" "$OUT/b" "$OUT/ctl"
mkdir -p "$OUT/a" "$OUT/b" "$OUT/ctl" || exit 2
CTL=$OUT/ctl
# ports of our own: two runs side by side must not share a wire
PA=$(( 20000 + ($$ % 20000) * 2 ))
PB=$(( PA + 1 ))

net() { # OWN_PORT PEER_PORT MAC PIDFILE
    echo "-netdev socket,id=n0,udp=127.0.0.1:$2,localaddr=127.0.0.1:$1" \
         "-device virtio-net-pci,netdev=n0,mac=$3" \
         "-fsdev local,id=ctl,path=$CTL,security_model=none" \
         "-device virtio-9p-pci,fsdev=ctl,mount_tag=e2ectl" \
         "-pidfile $4"
}

export E2E_HA_CASE=$CASE
# the negative control: no self-fence (ha_fence=0 is test-only)
case "$CASE" in
cutoff-nofence)        export E2E_HA_CFG='&ha_fence=0&timeout=0' ;;
freeze-runner-nofence) export E2E_HA_CFG='&ha_fence=0' ;;
esac
export E2E_EXTRA_MODULES="virtio_net 9p nfsd nfsv3 dm_delay loop ext4 dm_multipath dm_round_robin scsi_dh_alua softdog ip_tables iptable_filter xt_tcpudp"
E2E_QEMU_EXTRA="$(net "$PB" "$PA" 52:54:00:99:00:02 "$OUT/b/qemu.pid")" \
    E2E_HA_ROLE=b "$HERE/vm-run.sh" --timeout "$TIMEOUT" --mem 1024 --smp 1 \
    --out "$OUT/b" "$HERE/ha-gw.sh" > "$OUT/b.console" 2>&1 &
VB=$!
E2E_QEMU_EXTRA="$(net "$PA" "$PB" 52:54:00:99:00:01 "$OUT/a/qemu.pid")" \
    E2E_HA_ROLE=a "$HERE/vm-run.sh" --timeout "$TIMEOUT" --mem 1536 --smp 1 \
    --out "$OUT/a" "$HERE/ha-main.sh" "$CASE" > "$OUT/a.console" 2>&1 &
VA=$!
echo "ha-run.sh: case $CASE, guests A (vm-run pid $VA) and B ($VB), out $OUT" >&2

qpid_b() { cat "$OUT/b/qemu.pid" 2>/dev/null; }

# the host's part of the control channel: what guest A asks of guest B's VM
N=0
while kill -0 "$VA" 2>/dev/null; do
    for f in "$CTL"/host.cmd.*; do
        [ -e "$f" ] || continue
        case "$f" in *.tmp) continue ;; esac
        n=${f##*.}
        cmd=$(cat "$f")
        rm -f "$f"
        rc=0
        case "$cmd" in
        freeze-b)  kill -STOP "$(qpid_b)" || rc=1 ;;
        thaw-b)    kill -CONT "$(qpid_b)" || rc=1 ;;
        poweroff-b) kill -KILL "$(qpid_b)" || rc=1 ;;
        b-alive)   kill -0 "$(qpid_b)" 2>/dev/null || rc=1 ;;
        *)         rc=2 ;;
        esac
        echo "$(date +%T.%N) host: $cmd -> $rc" >> "$OUT/host.log"
        echo "$rc" > "$CTL/host.done.$n.tmp" && mv "$CTL/host.done.$n.tmp" "$CTL/host.done.$n"
        N=$((N + 1))
    done
    sleep 0.2
done
wait "$VA"
RC=$?
# guest B stops when A is done (ha-gw.sh sees ctl/stop), or is stopped
: > "$CTL/stop"
for _ in $(seq 150); do kill -0 "$VB" 2>/dev/null || break; sleep 0.2; done
if kill -0 "$VB" 2>/dev/null; then
    kill -CONT "$(qpid_b)" 2>/dev/null
    kill -TERM "$VB" 2>/dev/null
fi
wait "$VB" 2>/dev/null
echo "ha-run.sh: case $CASE: guest A exit $RC; logs in $OUT (a/script.log, b/script.log)" >&2
tail -n 30 "$OUT/a/script.log" 2>/dev/null | sed 's/^/    A| /' >&2
exit "$RC"
