#!/bin/bash
# ha-main.sh CASE - guest A of the two-gateway tests (ha-run.sh): the NFS
# server (knfsd), gateway 1, the initiator (iSCSI to both gateways,
# dm-multipath with prio alua, failover, hardware handler alua), and
# ackwriter writing through the multipath device.  Gateway 2 (guest B)
# owns the LUN first; then CASE, made of these steps:
#
#   moves           a planned move B -> A and back under load
#                   (tcmu-nfs-ha release)
#   kill            B's tcmu-runner killed with SIGKILL (A takes over), B's
#                   runner started again (comes back as a non-owner), the
#                   LUN moved back to B
#   poweroff        guest B powered off (A takes over once B's lease
#                   expired)
#   cutoff          B cut off from the NFS server only (A drops B's NFS
#                   packets): B fences itself, A takes over and writes;
#                   the cut heals: nothing B held lands
#   freeze-runner   B's engine connection held (A drops its packets: B's
#                   writes wait in its kernel's TCP queue), then B's
#                   tcmu-runner frozen (SIGSTOP); A asks for the lease,
#                   gracefully, then forced: B's sanlock SIGKILLs the
#                   frozen tcmu-runner, A takes over and writes; then the
#                   held connection is let through and B's tcmu-runner
#                   "woken" (SIGCONT): nothing B held lands (its sockets
#                   closed with a reset)
#   freeze          B's writes held in its TCP queue (A drops them for a
#                   second), then the whole guest B frozen (SIGSTOP of its
#                   QEMU) beyond its lease; A takes over and writes; B
#                   thawed: its watchdog (softdog, wdmd) resets it before
#                   anything it held is sent
#
# CASE: failover (in make test: moves, kill, cutoff, freeze-runner,
# poweroff, B started again and given the LUN back between them),
# move-kill (moves, kill, poweroff), freeze, freeze-runner, cutoff, and
# the negative controls, run with ha_fence=0 on B (ha-run.sh), which pass
# when verify finds B's writes over A's newer ones:
#   freeze-runner-nofence  no reset close, no TCP_USER_TIMEOUT: B's kernel
#                   still sends what its killed tcmu-runner had queued
#                   (in make test)
#   cutoff-nofence  (with timeout=0, so that B's engine holds its writes):
#                   B's held writes, sent again once the cut heals
#
# Every acknowledged write of a segment must be on the disk at its end
# (ackwriter verify, through the multipath device and in the file), and
# the pauses are printed (PAUSE lines) from the writer's own record.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/guest-lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/knfsd-lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/ha-lib.sh"
CASE=${1:-move-kill}
FAILS=0
ok()    { e2e_log "ok: $*"; }
notok() { e2e_log "NOT OK: $*"; FAILS=$((FAILS + 1)); }
check() { local d=$1; shift; if "$@"; then ok "$d"; else notok "$d"; fi; }
fatal() { notok "$*"; e2e_log "HA E2E ($CASE) FAILED (fatal)"; : > "$HA_CTL/stop"; exit 1; }
show()  { sed 's/^/    | /'; }
W=$E2E_WORK/ha
mkdir -p "$W"
# the tree's own tools (E2E_CWD is wherever ctest ran the test)
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
AW=${E2E_ACKWRITER:-${E2E_BUILD_DIR:-$E2E_CWD/build}/tests/e2e/ackwriter}
[ -x "$AW" ] || fatal "no ackwriter at $AW"

ha_ctl || fatal "control share"
ha_net "$HA_A" || fatal "network"
modprobe -a ip_tables iptable_filter xt_tcpudp 2>/dev/null
E2E_KNFSD_CLIENTS="127.0.0.1 $HA_NET.0/24" start_knfsd || fatal "knfsd"
truncate -s "$HA_SIZE" "$E2E_KNFSD_EXPORT_DIR/disk.img" || fatal "backing file"
: > "$HA_CTL/server-up"
ha_gateway 1 "$HA_A" "$HA_A" || fatal "gateway 1"
e2e_wait 400 "gateway 2 (guest B)" bash -c "[ -e $HA_CTL/b-up ] || [ -e $HA_CTL/b-failed ]" || fatal "guest B not up"
[ -e "$HA_CTL/b-failed" ] && fatal "gateway 2 failed (b/script.log)"
ok "both gateways up"

# ------------------------------------------------------------------ initiator
start_iscsid || fatal "iscsid"
for ip in "$HA_B" "$HA_A"; do
    iscsiadm -m discovery -t st -p "$ip:3260" >> "$E2E_OUT/iscsiadm.log" 2>&1 || fatal "discovery on $ip"
done
for iqn in iqn.2026-12.org.tcmu-nfs:gw2 iqn.2026-12.org.tcmu-nfs:gw1; do
    # a dead gateway's commands fail over in seconds, not 120 s
    for kv in node.session.timeo.replacement_timeout=5 \
              node.conn[0].timeo.noop_out_interval=2 node.conn[0].timeo.noop_out_timeout=3; do
        iscsiadm -m node -T "$iqn" -o update -n "${kv%%=*}" -v "${kv#*=}" >> "$E2E_OUT/iscsiadm.log" 2>&1
    done
done
login() { # IQN IP -> /dev/sdX
    new_disk_after iscsiadm -m node -T "$1" -p "$2:3260" --login
}
SD_B=$(login iqn.2026-12.org.tcmu-nfs:gw2 "$HA_B") || fatal "login to gateway 2"
# gateway 2 becomes the owner: its first write takes the lease
t0=$(date +%s.%N)
dd if=/dev/zero of="$SD_B" bs=4096 count=1 oflag=direct status=none || fatal "first write through gateway 2"
e2e_log "first write through gateway 2 ($SD_B) took $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}') s (lease acquired)"
SD_A=$(login iqn.2026-12.org.tcmu-nfs:gw1 "$HA_A") || fatal "login to gateway 1"
check "gateway 2 owns the lease" [ "$(ha_ask b ha_state)" = owner ]
check "gateway 1 does not" [ "$(ha_state)" != owner ]
for d in "$SD_B" "$SD_A"; do
    e2e_log "$d: $(sg_rtpg -d "$d" 2>&1 | grep -iE 'target port group id|asymmetric access state' | tr -s ' \n' ' ')"
    e2e_log "$d: serial $(sg_inq -p 0x80 "$d" 2>/dev/null | tail -1 | tr -s ' ')"
done

cat > /etc/multipath.conf <<'EOF'
defaults {
	user_friendly_names no
	find_multipaths no
	polling_interval 2
	# no udev in the guest: the WWID from sysfs (VPD 83h), and no wait
	# for the uevent of a new map
	uid_attribute ""
	missing_uev_wait_timeout 1
}
blacklist {
	devnode "^(ram|loop|fd|md|sr|scd|st|vd|nbd|dm-)"
}
devices {
	device {
		vendor "LIO-ORG"
		product "TCMU device"
		uid_attribute ""
		hardware_handler "1 alua"
		path_grouping_policy failover
		prio alua
		path_checker tur
		failback immediate
		no_path_retry queue
		fast_io_fail_tmo 5
		dev_loss_tmo 600
	}
}
EOF
multipathd -d -s > "$E2E_OUT/multipathd.log" 2>&1 &
MPD=$!
e2e_wait 30 "multipathd" multipathd show daemon || fatal "multipathd"
multipathd add path "${SD_B#/dev/}" >/dev/null 2>&1
multipathd add path "${SD_A#/dev/}" >/dev/null 2>&1
e2e_wait 90 "the multipath map" bash -c "ls /sys/block/${SD_A#/dev/}/holders/ | grep -q dm-" || { multipath -v3 > "$E2E_OUT/multipath-v3.log" 2>&1; fatal "no multipath map"; }
DM=/dev/$(ls "/sys/block/${SD_A#/dev/}/holders/" | head -1)
multipathd show topology 2>&1 | show
check "one map over both paths" [ "$(ls "/sys/block/${DM#/dev/}/slaves" | wc -l)" = 2 ]

# ------------------------------------------------------------------ writer
# The writer runs in segments, each with its own record (ackwriter's log):
# a segment ends with the writer stopped, then verified, and the blocks
# zeroed for the next one (a block of another segment's seed would read as
# corrupt).  A case whose old owner holds writes ends its segment before
# they are let through: a held write that lands after the last write to
# its block stays there for verify to find (a later write would cover it).
SEG=0
AW_RC=""
LOG=""
acks() {
    local a b
    { read -r a b < "$W/aw.status"; } 2>/dev/null && [ -n "$a" ] && [ "$a" = "$b" ] && { echo $((10#$a)); return; }
    echo 0
}
more_acks() { # N: N more acks than BASE
    [ "$(acks)" -ge $((BASE + $1)) ]
}
ACKS_DONE=0
start_writer() {
    SEG=$((SEG + 1))
    LOG=$W/aw-$SEG.log
    rm -f "$W/aw.status"
    T_AW=$(date +%s.%N)
    "$AW" write --dev "$DM" --log "$LOG" --threads 8 --blocks 256 \
        --status "$W/aw.status" > "$W/aw-$SEG.out" 2>&1 &
    AWP=$!
    AW_RC=""
    BASE=0
    e2e_wait 60 "the first writes" more_acks 16 || fatal "no writes"
    ok "segment $SEG: ackwriter writing through $DM (QD 8, 256 blocks)"
}
stop_writer() {
    [ -n "$AW_RC" ] && return 0
    kill -TERM "$AWP"; wait "$AWP"; AW_RC=$?
    e2e_log "segment $SEG: writer stopped (exit $AW_RC) after $(acks) acknowledged writes"
}
# end_segment [negative]: verify the segment; "negative": the overwrite
# must be found (a negative control)
end_segment() {
    local vdm vf n
    stop_writer
    n=$(acks)
    ACKS_DONE=$((ACKS_DONE + n))
    show < "$W/aw-$SEG.out"
    check "segment $SEG: the writer saw no failed write (exit $AW_RC)" [ "$AW_RC" = 0 ]
    cp "$LOG" "$E2E_OUT/ackwriter-$SEG.log"
    "$AW" verify --dev "$DM" --log "$LOG" > "$W/verify-dm-$SEG" 2>&1; vdm=$?
    "$AW" verify --dev "$E2E_KNFSD_EXPORT_DIR/disk.img" --log "$LOG" > "$W/verify-file-$SEG" 2>&1; vf=$?
    show < "$W/verify-file-$SEG"
    if [ "${1:-}" = negative ]; then
        check "NEGATIVE CONTROL: the overwrite is detected (verify exit $vf)" [ "$vf" = 1 ]
    else
        check "segment $SEG: every acknowledged write is on the disk (multipath device, exit $vdm)" [ "$vdm" = 0 ]
        check "segment $SEG: and in the file on the server (exit $vf)" [ "$vf" = 0 ]
    fi
    dd if=/dev/zero of="$DM" bs=4096 count=256 oflag=direct status=none ||
        notok "zeroing the blocks after segment $SEG"
}

now_ms() { awk -v a="$T_AW" -v b="$(date +%s.%N)" 'BEGIN{printf "%d", (b-a)*1000}'; }
# pause EVENT_MS NAME: the longest time without a completed write after
# EVENT_MS (the writer's clock), from its record
PAUSES=""
pause() {
    local p
    p=$(awk -v e="$1" '$1 == "A" { d = $7 + 0; if (d >= e - 1000 && prev && d - prev > g) { g = d - prev; at = prev } prev = d }
                       END { printf "%.1f", g / 1000 }' "$LOG")
    e2e_log "PAUSE $2: no write completed for $p s"
    PAUSES="$PAUSES $2=${p}s"
}
owner_is() { if [ "$1" = a ]; then [ "$(ha_state)" = owner ]; else [ "$(ha_ask b ha_state 10)" = owner ]; fi; }
# the state as the metrics file shows it, which its writer refreshes
# every second (later on a busy host): a few seconds for it to catch up
owner_soon() { e2e_wait 20 "gateway $1's metrics to say owner" owner_is "$1"; }
resumed() { # N more acks after an event, within SECS
    BASE=$(acks)
    e2e_wait "$2" "$1 more writes" more_acks "$1"
}

block_b_nfs()   { iptables -I INPUT -s "$HA_B" -p tcp --dport 2049 -j DROP; }
unblock_b_nfs() { iptables -D INPUT -s "$HA_B" -p tcp --dport 2049 -j DROP; }

# b_drained: gateway 2's kernel holds nothing more for the NFS server: no
# socket to port 2049 (orphans of a killed process included) with bytes
# queued.  A held write is sent while this is false.
b_drained() {
    ha_ask b "ss -tnH '( dport = :2049 )' | awk '\$3 > 0 { n++ } END { exit n > 0 }'" 10
}
# settle SECS: what gateway 2 held has gone (b_drained), then 10 s more:
# for a server to execute what arrived last, and for an engine that
# (wrongly) reconnects to send again
settle() {
    if e2e_wait "$1" "gateway 2's queued bytes to the NFS server" b_drained; then
        e2e_log "gateway 2 holds nothing for the server"
    else
        e2e_log "gateway 2 still holds bytes for the server after $1 s"
    fi
    ha_ask b "ss -tni '( dport = :2049 )'" 10 | show
    sleep 10
}
# gateway 2's lease thread has joined the lockspace (its metrics say so)
b_joined() {
    local st
    st=$(ha_ask b ha_state 10)
    [ -n "$st" ] && [ "$st" != joining ]
}
b_gone() { ! ha_ask host b-alive; }
# gateway 2's tcmu-runner started again, back as a non-owner
restart_b() {
    local st
    check "gateway 2's tcmu-runner started again" ha_ask b "ha_kill_runner >/dev/null 2>&1; ha_start_runner" 120
    e2e_wait 60 "gateway 2 in its lockspace" b_joined ||
        e2e_log "gateway 2 has not joined the lockspace"
    st=$(ha_ask b ha_state 10)
    e2e_log "gateway 2's lease after its restart: $st"
    check "gateway 2 is back as a non-owner ($st), gateway 1 owns it" \
        bash -c "[ '$st' != owner ] && [ '$(ha_state)' = owner ]"
}
# the LUN moved back to gateway 2 (gateway 1 releases it)
move_to_b() {
    check "tcmu-nfs-ha release on gateway 1" "$SRC/scripts/tcmu-nfs-ha" release disk
    resumed 32 90 || notok "I/O did not resume through gateway 2"
    check "gateway 2 owns it" owner_soon b
}

# ------------------------------------------------------------------ steps
step_moves() {
    local e t0
    e2e_log "--- planned move B -> A under load"
    e=$(now_ms); t0=$(date +%s.%N)
    check "tcmu-nfs-ha release on gateway 2" ha_ask b "$SRC/scripts/tcmu-nfs-ha release disk"
    resumed 32 60 || notok "I/O did not resume after the move to A"
    check "gateway 1 owns it after the move" owner_soon a
    e2e_log "move B -> A: $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}') s to 32 more writes"
    pause "$e" move-b-a

    e2e_log "--- planned move A -> B under load"
    e=$(now_ms)
    check "tcmu-nfs-ha release on gateway 1" "$SRC/scripts/tcmu-nfs-ha" release disk
    resumed 32 60 || notok "I/O did not resume after the move to B"
    check "gateway 2 owns it again" owner_soon b
    pause "$e" move-a-b
}

step_kill() {
    local e
    e2e_log "--- gateway 2's tcmu-runner killed (SIGKILL)"
    e=$(now_ms)
    check "kill -9 tcmu-runner on gateway 2" ha_ask b ha_kill_runner
    resumed 32 120 || notok "I/O did not resume through gateway 1"
    check "gateway 1 took over" owner_soon a
    pause "$e" kill9
    restart_b
    e2e_log "--- moved back to gateway 2"
    move_to_b
}

step_poweroff() {
    local e
    e2e_log "--- guest B powered off"
    e=$(now_ms)
    check "guest B powered off" ha_ask host poweroff-b
    resumed 32 240 || notok "I/O did not resume after the power-off"
    check "gateway 1 took over" owner_soon a
    pause "$e" poweroff
}

b_back_lines() {
    ha_ask b "grep -ac 'back after' \$E2E_OUT/tcmu-runner/tcmu-runner.log" 10
}
b_reconnected() { [ "$(b_back_lines)" -gt "${B_BACK:-0}" ]; }
# step_cutoff [nofence]
step_cutoff() {
    local e st
    e2e_log "--- gateway 2 cut off from the NFS server (its iSCSI stays up)"
    e=$(now_ms)
    block_b_nfs
    resumed 32 240 || notok "I/O did not resume through gateway 1"
    check "gateway 1 took over" owner_soon a
    pause "$e" cutoff
    st=$(ha_ask b ha_state 10)
    e2e_log "gateway 2's lease: $st"
    if [ "${1:-}" = nofence ]; then
        check "gateway 2 did NOT fence itself (ha_fence=0; its log)" ha_ask b "grep -a 'NOT fenced' \$E2E_OUT/tcmu-runner/tcmu-runner.log"
    else
        check "gateway 2 fenced itself (its log)" ha_ask b "grep -a 'LOST the lease' \$E2E_OUT/tcmu-runner/tcmu-runner.log"
    fi
    resumed 400 120 || notok "gateway 1 stopped writing"
    stop_writer
    B_BACK=$(b_back_lines)
    e2e_log "--- the cut heals"
    unblock_b_nfs
    if [ "${1:-}" = nofence ]; then
        # its engine sends what it held once it is connected again
        e2e_wait 60 "gateway 2's engine to reconnect" b_reconnected ||
            e2e_log "gateway 2 did not reconnect"
    fi
    settle 60
    ha_ask b "grep -a 'reconnect\\|restored\\|connection' \$E2E_OUT/tcmu-runner/tcmu-runner.log | tail -3" 10 | show
}

# step_freeze_runner [nofence]
step_freeze_runner() {
    local e port
    e2e_log "--- gateway 2's engine connection held, then its tcmu-runner frozen"
    port=$(ha_ask b "ss -tnpH state established '( dport = :2049 )' | grep tcmu-runner" 10 |
           awk '{ split($3, a, ":"); print a[2]; exit }')
    [ -n "$port" ] || fatal "no engine connection on gateway 2"
    e2e_log "gateway 2's engine connects from port $port"
    iptables -I INPUT -s "$HA_B" -p tcp --sport "$port" --dport 2049 -j DROP
    sleep 0.5
    e=$(now_ms)
    check "kill -STOP tcmu-runner on gateway 2" ha_ask b 'kill -STOP $(pgrep -x tcmu-runner)'
    resumed 32 240 || notok "I/O did not resume through gateway 1"
    check "gateway 1 took over" owner_soon a
    pause "$e" freeze-runner
    resumed 400 60 || notok "gateway 1 stopped writing"
    stop_writer
    # a socket of the killed process that kept its queue sends it at its
    # next retransmission once let through (the 8th, some 50 s after the
    # hold, is its last: tcp_orphan_retries)
    e2e_log "--- gateway 2's held connection let through, its tcmu-runner woken"
    iptables -D INPUT -s "$HA_B" -p tcp --sport "$port" --dport 2049 -j DROP
    ha_ask b 'kill -CONT $(pgrep -x tcmu-runner) 2>/dev/null; pgrep -x tcmu-runner || echo "tcmu-runner is gone (killed by sanlock)"' | show
    ha_ask b 'grep -a "kill .* sig" /var/log/sanlock.log | tail -2' | show
    settle 90
}

step_freeze() {
    local e
    e2e_log "--- gateway 2's NFS packets held, then guest B frozen"
    block_b_nfs
    sleep 1.5
    e=$(now_ms)
    check "guest B frozen" ha_ask host freeze-b
    unblock_b_nfs
    resumed 32 240 || notok "I/O did not resume through gateway 1"
    check "gateway 1 took over" owner_soon a
    pause "$e" freeze
    e2e_log "gateway 1 writes on; every block rewritten"
    resumed 600 240 || notok "gateway 1 stopped writing"
    stop_writer
    e2e_log "--- guest B thawed"
    ha_ask host thaw-b
    if e2e_wait 30 "guest B's reset" b_gone; then
        ok "guest B was reset by its watchdog on waking"
    else
        notok "guest B still runs 30 s after the thaw"
    fi
    sleep 5
}

# ------------------------------------------------------------------ cases
start_writer
case "$CASE" in
failover)
    # everything that must hold with the fence, in one pair of guests
    step_moves
    step_kill
    step_cutoff
    end_segment
    restart_b
    start_writer
    move_to_b
    step_freeze_runner
    end_segment
    restart_b
    start_writer
    move_to_b
    step_poweroff
    end_segment
    ;;
move-kill)
    step_moves
    step_kill
    step_poweroff
    end_segment
    ;;
freeze)
    step_freeze
    end_segment
    ;;
freeze-runner)
    step_freeze_runner
    end_segment
    restart_b
    ;;
freeze-runner-nofence)
    step_freeze_runner nofence
    end_segment negative
    ;;
cutoff)
    step_cutoff
    end_segment
    ;;
cutoff-nofence)
    step_cutoff nofence
    end_segment negative
    ;;
*)
    fatal "unknown case $CASE"
    ;;
esac

# ------------------------------------------------------------------ end
grep -h "ha: " /e2e-out/tcmu-runner/tcmu-runner.log 2>/dev/null | tail -20 | show
"$SRC/scripts/tcmu-nfs-stat" 2>&1 | grep -i lease | show
e2e_log "SUMMARY $CASE: acks $ACKS_DONE in $SEG segment(s)$PAUSES"
: > "$HA_CTL/stop"
kill "$MPD" 2>/dev/null
if [ "$FAILS" -eq 0 ]; then
    e2e_log "HA E2E ($CASE) PASSED"
    exit 0
fi
e2e_log "HA E2E ($CASE) FAILED: $FAILS check(s)"
exit 1
