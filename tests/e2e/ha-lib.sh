# shellcheck shell=bash
# ha-lib.sh - what both guests of the two-gateway tests share (ha-run.sh).
# Source after guest-lib.sh.
#
#   ha_net IP                 eth0 up with IP/24 (the guests' link)
#   ha_ctl                    mount the control share at $HA_CTL
#   ha_ask WHO CMD [SECS]     guest A: have WHO ("b", "host") run CMD;
#                             prints its output, returns its status
#   ha_agent WHO              guest B: run what is asked until ctl/stop
#   ha_gateway HOST_ID IP     a gateway: lease mount, sanlock (+ wdmd
#                             and softdog with HA_WATCHDOG=1), tcmu-runner,
#                             the backstore with ha=, its ALUA group, an
#                             iSCSI target on IP:3260
#   ha_kill_runner / ha_start_runner   kill -9 tcmu-runner / start it again
HA_CTL=/e2e-ctl
HA_NET=169.254.99
HA_A=$HA_NET.1
HA_B=$HA_NET.2
HA_LEASES=/mnt/ha-leases        # the export, mounted by the kernel
HA_DIR=$HA_LEASES/leases
HA_SERIAL=${HA_SERIAL:-5a1e0d1e-7c3f-4b1a-9e2d-0123456789ab}
HA_IO_TIMEOUT=${E2E_HA_IO_TIMEOUT:-2}
HA_SIZE=${E2E_HA_SIZE:-8M}
HA_LOCKSPACE=e2e

ha_net() {
    ip link set eth0 up && ip addr add "$1/24" dev eth0 || return 1
    e2e_log "eth0 $1: $(ip -br link show eth0 | tr -s ' ')"
}

ha_ctl() {
    mkdir -p "$HA_CTL" &&
        mount -t 9p -o trans=virtio,version=9p2000.L,cache=none,msize=65536 e2ectl "$HA_CTL"
}

HA_SEQ=0
ha_ask() {
    local who=$1 cmd=$2 secs=${3:-120} n f end rc
    HA_SEQ=$((HA_SEQ + 1))
    n=$(date +%s%N | cut -c7-16)$HA_SEQ
    f=$HA_CTL/$who.cmd.$n
    printf '%s\n' "$cmd" > "$f.tmp" && mv "$f.tmp" "$f" || return 2
    end=$(( $(date +%s) + secs ))
    while [ ! -e "$HA_CTL/$who.done.$n" ]; do
        if [ "$(date +%s)" -ge "$end" ]; then
            echo "ha_ask: $who did not answer '$cmd' in ${secs}s" >&2
            return 124
        fi
        sleep 0.2
    done
    rc=$(head -1 "$HA_CTL/$who.done.$n")
    [ -e "$HA_CTL/$who.out.$n" ] && cat "$HA_CTL/$who.out.$n"
    rm -f "$HA_CTL/$who.done.$n" "$HA_CTL/$who.out.$n"
    return "${rc:-2}"
}

ha_agent() {
    local who=$1 f n cmd rc
    e2e_log "agent $who: waiting for commands in $HA_CTL"
    while [ ! -e "$HA_CTL/stop" ]; do
        for f in "$HA_CTL/$who".cmd.*; do
            [ -e "$f" ] || continue
            case "$f" in *.tmp) continue ;; esac
            n=${f##*.}
            cmd=$(cat "$f")
            rm -f "$f"
            e2e_log "agent $who: $cmd"
            eval "$cmd" > "$HA_CTL/$who.out.$n" 2>&1
            rc=$?
            e2e_log "agent $who: -> $rc"
            echo "$rc" > "$HA_CTL/$who.done.$n.tmp" && mv "$HA_CTL/$who.done.$n.tmp" "$HA_CTL/$who.done.$n"
        done
        sleep 0.2
    done
    e2e_log "agent $who: stop"
}

# The lease directory: the export, through the kernel's NFS client, soft
# so that sanlock's own timeouts decide (as oVirt mounts its domains).
ha_mount_leases() {
    local server=$1
    mkdir -p "$HA_LEASES"
    timeout 60 mount -t nfs -o vers=3,proto=tcp,soft,timeo=20,retrans=2,nolock \
        "$server:/knfsd/export" "$HA_LEASES" || return 1
    mkdir -p "$HA_DIR"
}

ha_sanlock() {
    mkdir -p /run/sanlock /var/log
    if [ "${HA_WATCHDOG:-0}" = 1 ]; then
        modprobe softdog || return 1
        wdmd > "$E2E_OUT/wdmd.out" 2>&1 || { cat "$E2E_OUT/wdmd.out"; return 1; }
        e2e_wait 10 "wdmd socket" test -S /run/wdmd/wdmd.sock || ls -la /run/wdmd >&2
        sanlock daemon -w 1 -U root -G root > "$E2E_OUT/sanlock.out" 2>&1 || return 1
    else
        sanlock daemon -w 0 -U root -G root > "$E2E_OUT/sanlock.out" 2>&1 || return 1
    fi
    e2e_wait 20 "sanlock" sanlock client status || { cat /var/log/sanlock.log >&2; return 1; }
    e2e_log "sanlock up (watchdog ${HA_WATCHDOG:-0})"
}

HA_SO=""
ha_start_runner() {
    start_tcmu_runner "$HA_SO"
}

ha_kill_runner() {
    local pid=$E2E_TCMU_PID
    [ -n "$pid" ] || pid=$(pgrep -x tcmu-runner)
    kill -KILL "$pid" || return 1
    wait "$pid" 2>/dev/null
    E2E_TCMU_PID=""
    e2e_wait 15 "TCMUService1 to leave D-Bus" bash -c '! dbus-send --system --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus.NameHasOwner string:org.kernel.TCMUService1 | grep -q true'
}

# ha_gateway HOST_ID IP NFS_SERVER
ha_gateway() {
    local id=$1 ip=$2 server=$3 iqn=iqn.2026-12.org.tcmu-nfs:gw$1 cfg
    HA_SO=$(e2e_find_handler nfs) || return 1
    ha_mount_leases "$server" || { echo "lease mount failed" >&2; return 1; }
    ha_sanlock || return 1
    export TCMU_NFS_METRICS_INTERVAL=1
    ha_start_runner || return 1
    cfg="$server/knfsd/export/disk.img?ha=$HA_LOCKSPACE&ha_host=$id&ha_dir=$HA_DIR&ha_io_timeout=$HA_IO_TIMEOUT${E2E_HA_CFG:-}"
    targetcli_batch <<EOF || return 1
/backstores/user:nfs create name=disk size=$HA_SIZE cfgstring=$cfg wwn=$HA_SERIAL
/backstores/user:nfs/disk/alua create gw$id $id
/backstores/user:nfs/disk/alua/gw$id set alua alua_access_type=1
/backstores/user:nfs/disk set attribute cmd_time_out=10
/iscsi create $iqn
/iscsi/$iqn/tpg1/portals create $ip 3260
/iscsi/$iqn/tpg1/luns create /backstores/user:nfs/disk
/iscsi/$iqn/tpg1/luns/lun0 set alua alua_tg_pt_gp_name=gw$id
/iscsi/$iqn/tpg1 set attribute generate_node_acls=1 demo_mode_write_protect=0 authentication=0 cache_dynamic_acls=1
EOF
    e2e_log "gateway $id: $iqn on $ip:3260, cfgstring $cfg"
}

# the lease as this gateway's metrics file has it
ha_state() {
    awk '/^tcmu_nfs_lease_state\{/ && / 1$/ { sub(/.*state="/, ""); sub(/".*/, ""); print }' \
        /run/tcmu-nfs/metrics/*.prom 2>/dev/null | head -1
}
