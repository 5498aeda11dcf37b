#!/bin/bash
# bench-peers.sh - guest script: user:nfs against the kernel's own ways to
# put the same NFS export behind LIO, interleaved in one run on one ganesha
# (issue 7's guest benchmark).  Run by bench/guest-compare.sh:
#
#   flock /tmp/e2e-vm.lock env E2E_BUILD_DIR=$PWD/build-perf \
#       tests/e2e/vm-run.sh --timeout 1800 --out /tmp/peers-out tests/e2e/bench-peers.sh
#
# One nfs-ganesha in the guest exports $E2E_WORK/nfs/export (tmpfs).  Three
# LUNs of one tcm_loop target, fio (direct=1, libaio) on each /dev/sdX:
#   nfs    user:nfs on export/nfs.img, created as README.md says
#          (hw_max_sectors=2048 control=max_data_area_mb=128), write-through,
#          default stable= and nconnect= (BENCH_NFS_CFG appends to the
#          cfgstring, e.g. "&stable=commit");
#   fileio LIO fileio write_back=false on export/fileio.img through a kernel
#          NFSv3 mount of the same export: O_DSYNC writes through the NFS
#          client's page cache, WCE=0 (checked below): the durable-write peer.
#          Its reads go through the guest's page cache (dropped before
#          each fileio read job, but readahead and re-reads still hit it):
#          shown, not counted as the reads peer;
#   block  LIO block (iblock) on `losetup --direct-io=on` over
#          export/block.img on that mount: every I/O is an O_DIRECT NFS
#          call, a write completes only once the NFS client has it stable
#          (FILE_SYNC, or UNSTABLE + COMMIT, before the direct write ends);
#          the loop device announces a volatile write cache, so LIO shows
#          WCE=1, but no data is held: the reads peer, and durable in effect.
#   floor  (BENCH_FLOOR=1 only) tcmu-runner's own user:qcow on a raw file
#          in the guest's tmpfs, with user:nfs's create options: the TCMU
#          round trip (ring, tcmu-runner's thread, the uio wake-ups) with
#          no network and no NFS: what no user-space handler can go below.
#          Shown beside, no peer.
# Rows: randwrite 4k QD 1/8/32, write 1M QD 1/8/32, randread 4k QD 1/32,
# read 1M QD 1/8.  Each round runs every row, and within a row every
# backstore, in an order that rotates by row and round.
#
# Env: BENCH_SECS (5) s per job, BENCH_RAMP (1) s of fio ramp before it,
# BENCH_ROUNDS (3), BENCH_SIZE_MIB (256) per backing file, BENCH_ROWS
# ("rw:bs:qd ..." to run only some rows), BENCH_NFS_CFG (cfgstring suffix),
# BENCH_FLOOR (0; 1 adds the floor backstore), BENCH_NFS_VERS (3; 4.1
# or 4.2: user:nfs with vers=, the kernel's mount with vers=, ganesha
# offering NFSv4 beside v3).
# Raw lines: $E2E_OUT/bench-peers.results
#   "ROUND BACKSTORE RW BS QD IOPS MBS MEAN_LAT_US WRITES COMMITS STABLE"
# (the last three over the job, ramp included: user:nfs's
# tcmu_nfs_{writes,commits,stable_writes}_total; for the peers' write jobs
# the kernel client's WRITE and COMMIT calls on the mount, and "-");
# the table: bench-peers.table.
# Exit 0 when every job ran and the durability checks passed.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/guest-lib.sh"

SECS=${BENCH_SECS:-5}
RAMP=${BENCH_RAMP:-1}
ROUNDS=${BENCH_ROUNDS:-3}
SIZE_MIB=${BENCH_SIZE_MIB:-256}
ROWS=${BENCH_ROWS:-"randwrite:4096:1 randwrite:4096:8 randwrite:4096:32 write:1048576:1 write:1048576:8 write:1048576:32 randread:4096:1 randread:4096:32 read:1048576:1 read:1048576:8"}
NFS_CFG=${BENCH_NFS_CFG:-}
VERS=${BENCH_NFS_VERS:-3}
case "$VERS" in
    3) MOUNT_OPTS="vers=3,proto=tcp,port=$E2E_NFS_PORT,mountport=$E2E_MNT_PORT,mountproto=tcp,nolock" ;;
    4.1|4.2)
        export E2E_NFS_PROTOCOLS="3, 4"
        MOUNT_OPTS="vers=$VERS,proto=tcp,port=$E2E_NFS_PORT"
        NFS_CFG="&vers=$VERS$NFS_CFG" ;;
    *) echo "BENCH_NFS_VERS=$VERS: expected 3, 4.1 or 4.2" >&2; exit 1 ;;
esac
LARGE="hw_max_sectors=2048 control=max_data_area_mb=128"
NAMES=(nfs fileio block)
[ "${BENCH_FLOOR:-0}" = 1 ] && NAMES+=(floor)
NB=${#NAMES[@]}
declare -A DEV=()
W=$E2E_WORK/bench
EXPORT=$E2E_WORK/nfs/export
MNT=/run/bench-nfs-mnt
RES=$E2E_OUT/bench-peers.results
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SUMMARY=$HERE/../../bench/plot_guest.py
FAILS=0
ok()    { e2e_log "ok: $*"; }
notok() { e2e_log "NOT OK: $*"; FAILS=$((FAILS + 1)); }
check() { local d=$1; shift; if "$@"; then ok "$d"; else notok "$d"; fi; }
fatal() { notok "$*"; e2e_log "bench-peers: aborting"; exit 1; }
show()  { sed 's/^/    /'; }

mkdir -p "$W" "$EXPORT" "$MNT"
command -v fio >/dev/null || fatal "fio not installed (scripts/install-deps.sh)"
SO=$(e2e_find_handler nfs) || fatal "handler_nfs.so not found (build first; E2E_BUILD_DIR)"
e2e_log "plugin: $SO; fio $(fio --version); ${SECS}+${RAMP} s per job, $ROUNDS rounds, ${SIZE_MIB} MiB per disk"
# Allocated before ganesha exports the dir (don't touch it locally after).
for n in nfs fileio block; do
    dd if=/dev/zero of="$EXPORT/$n.img" bs=1M count="$SIZE_MIB" status=none || fatal "backing file $n"
done
FLOOR_IMG=/dev/shm/bench-floor.img
[ "$NB" = 4 ] && { truncate -s "${SIZE_MIB}M" "$FLOOR_IMG" || fatal "floor file"; }
start_nfs_server "$EXPORT" || fatal "start nfs-ganesha"
modprobe -a nfs nfsv3 loop target_core_file target_core_iblock >/dev/null 2>&1
# the kernel's client, as an admin would mount it (hard, default rsize/wsize)
modprobe nfsv4 >/dev/null 2>&1
timeout 60 mount -t nfs -o "$MOUNT_OPTS" \
    "$E2E_NFS_HOST:/export" "$MNT" || fatal "kernel NFS $VERS mount of /export"
e2e_log "kernel NFS mount: $(grep " $MNT " /proc/mounts)"
LOOP=$(losetup --direct-io=on -f --show "$MNT/block.img") || fatal "losetup --direct-io=on"
check "loop $LOOP does direct I/O on the NFS file" [ "$(cat /sys/block/${LOOP#/dev/}/loop/dio)" = 1 ]
# metrics every second: fio reads user:nfs's counters around each job
export TCMU_NFS_METRICS_INTERVAL=1
if [ "$NB" = 4 ]; then
    start_tcmu_runner "$SO" "$E2E_SYS_HANDLER_DIR/handler_qcow.so" || fatal "start tcmu-runner"
else
    start_tcmu_runner "$SO" || fatal "start tcmu-runner"
fi
WWN=$(new_naa)
BS_LIST=(/backstores/user:nfs/nfs /backstores/fileio/fileio /backstores/block/block)
[ "$NB" = 4 ] && BS_LIST+=(/backstores/user:qcow/floor)
mapfile -t D < <({ echo "/backstores/user:nfs create name=nfs size=${SIZE_MIB}M cfgstring=127.0.0.1/export/nfs.img?nfsport=2049&mountport=20048$NFS_CFG $LARGE"
                   tcli_fileio fileio "$MNT/fileio.img" "${SIZE_MIB}M"
                   echo "/backstores/block create name=block dev=$LOOP"
                   [ "$NB" = 4 ] && echo "/backstores/user:qcow create name=floor size=${SIZE_MIB}M cfgstring=$FLOOR_IMG $LARGE"
                   tcli_loopback "$WWN" "${BS_LIST[@]}"
                 } | new_disks_after "$NB" targetcli_batch)
[ "${#D[@]}" -eq "$NB" ] || fatal "targetcli create + $NB tcm_loop disks"
DEV[nfs]=${D[0]} DEV[fileio]=${D[1]} DEV[block]=${D[2]}
CFS=/sys/kernel/config/target/core
declare -A CDIR=([nfs]=$(ls -d $CFS/user_*/nfs) [fileio]=$(ls -d $CFS/fileio_*/fileio) [block]=$(ls -d $CFS/iblock_*/block))
if [ "$NB" = 4 ]; then
    DEV[floor]=${D[3]}
    CDIR[floor]=$(ls -d $CFS/user_*/floor)
fi
for n in "${NAMES[@]}"; do
    b=${DEV[$n]#/dev/}
    c=${CDIR[$n]}
    e2e_log "$n: ${DEV[$n]}"
    { echo "configfs info: $(tr -s ' \n' ' ' < "$c/info")"
      echo "attrib: $(cd "$c/attrib" && for a in hw_max_sectors hw_queue_depth queue_depth emulate_write_cache max_data_area_mb; do [ -f $a ] && printf '%s=%s ' $a "$(cat $a)"; done)"
      echo "initiator: cache_type='$(cat /sys/block/"$b"/device/scsi_disk/*/cache_type)' max_sectors_kb=$(cat /sys/block/"$b"/queue/max_sectors_kb) device/queue_depth=$(cat /sys/block/"$b"/device/queue_depth) nr_requests=$(cat /sys/block/"$b"/queue/nr_requests) scheduler='$(cat /sys/block/"$b"/queue/scheduler)'"
    } | show
done
echo "    loop: $LOOP dio=$(cat /sys/block/${LOOP#/dev/}/loop/dio) write_cache='$(cat /sys/block/${LOOP#/dev/}/queue/write_cache)' max_sectors_kb=$(cat /sys/block/${LOOP#/dev/}/queue/max_sectors_kb)"
cache_type() { cat /sys/block/"${1#/dev/}"/device/scsi_disk/*/cache_type; }
# the durable-write peer really is durable: write_back=false means O_DSYNC
# opens and no write cache announced to the initiator
check "fileio is write_back=false: O_DSYNC, emulate_write_cache=0, initiator sees write through" \
    bash -c "grep -q 'O_DSYNC' '${CDIR[fileio]}/info' && [ \$(cat '${CDIR[fileio]}/attrib/emulate_write_cache') = 0 ] && [ '$(cache_type "${DEV[fileio]}")' = 'write through' ]"
check "user:nfs is write-through (WCE=0)" [ "$(cache_type "${DEV[nfs]}")" = "write through" ]
check "user:nfs takes 1 MiB commands" [ "$(cat /sys/block/${DEV[nfs]#/dev/}/queue/max_sectors_kb)" -ge 1024 ]
# user:nfs's metrics file (docs/metrics.md)
PROM=""
for f in /run/tcmu-nfs/metrics/uio*.prom; do
    grep -q 'backstore="nfs"' "$f" 2>/dev/null && PROM=$f
done
e2e_log "user:nfs metrics: ${PROM:-none}"
# fio runs this before and after each user:nfs job, into JOB.prerun.txt and
# JOB.postrun.txt in its cwd: the disk's writes, COMMITs, stable WRITEs
cat > "$W/counters.sh" <<EOF
#!/bin/sh
awk '/^tcmu_nfs_writes_total/ {w=\$NF} /^tcmu_nfs_commits_total/ {c=\$NF}
     /^tcmu_nfs_stable_writes_total/ {s=\$NF}
     END {print (w==""?"-":w), (c==""?"-":c), (s==""?"-":s)}' "${PROM:-/dev/null}"
EOF
# and this one around each write job of a peer: the kernel client's NFS
# WRITE and COMMIT calls on the mount (how it makes the writes stable)
cat > "$W/mountstats.sh" <<EOF
#!/bin/sh
awk '/^device .* mounted on ${MNT//\//\\/} / {m=1; next} /^device / {m=0}
     m && \$1=="WRITE:" {w=\$2} m && \$1=="COMMIT:" {c=\$2}
     END {print w+0, c+0, "-"}' /proc/self/mountstats
EOF
printf '#!/bin/sh\nsync; echo 3 > /proc/sys/vm/drop_caches\n' > "$W/drop-caches.sh"
chmod +x "$W/counters.sh" "$W/mountstats.sh" "$W/drop-caches.sh"

# One fio process per round (a process start costs seconds under TCG): a
# job per row and backstore, each after the previous one (stonewall).
# Job names: ROUND.ROWINDEX.BACKSTORE.
round_jobfile() {
    local r=$1 i=0 row rw bs qd k n
    cat <<EOF
[global]
direct=1
ioengine=libaio
time_based
runtime=$SECS
ramp_time=$RAMP
size=${SIZE_MIB}M
randrepeat=0
norandommap
EOF
    for row in $ROWS; do
        IFS=: read -r rw bs qd <<<"$row"
        for k in $(seq 0 $((NB - 1))); do
            n=${NAMES[$(((k + i + r) % NB))]}
            echo "[$r.$i.$n]"
            echo "stonewall"
            echo "filename=${DEV[$n]}"
            echo "rw=$rw"
            echo "bs=$bs"
            echo "iodepth=$qd"
            # fileio reads go through the guest's page cache: start cold
            case $n:$rw in
            fileio:*read) echo "exec_prerun=$W/drop-caches.sh" ;;
            fileio:*write|block:*write)
                echo "exec_prerun=$W/mountstats.sh"
                echo "exec_postrun=$W/mountstats.sh" ;;
            esac
            if [ "$n" = nfs ] && [ -n "$PROM" ]; then
                echo "exec_prerun=$W/counters.sh"
                echo "exec_postrun=$W/counters.sh"
            fi
        done
        i=$((i + 1))
    done
}

# run_round ROUND: its fio process, then one line per job to $RES
run_round() {
    local r=$1 out=$W/fio-$1.json
    round_jobfile "$r" > "$W/round-$r.fio"
    (cd "$W" && fio --output-format=json --output="$out" "$W/round-$r.fio" \
        >/dev/null 2>"$W/fio.err") || { show < "$W/fio.err"; return 1; }
    "$E2E_PY" - "$out" "$W" >> "$RES" <<'EOF' || return 1
import json, os, sys
path, w = sys.argv[1:]
bad = 0
def counters(job, when):
    try:
        return open(os.path.join(w, "%s.%s.txt" % (job, when))).read().split()[-3:]
    except (OSError, IndexError):
        return ["-"] * 3
for j in json.load(open(path))["jobs"]:
    r, i, n = j["jobname"].split(".")
    o = j["job options"]
    rw = o["rw"]
    d = j["write" if "write" in rw else "read"]
    if j["error"] or d["io_bytes"] == 0:
        print("fio job %s: error %d, %d bytes" % (j["jobname"], j["error"], d["io_bytes"]), file=sys.stderr)
        bad += 1
        continue
    a, b = counters(j["jobname"], "prerun"), counters(j["jobname"], "postrun")
    if len(a) < 3 or len(b) < 3:
        a = b = ["-"] * 3
    delta = [str(int(float(y)) - int(float(x))) if "-" not in (x, y) else "-"
             for x, y in zip(a, b)]
    print(r, n, rw, o["bs"], o["iodepth"], "%.0f" % d["iops"], "%.1f" % (d["bw_bytes"] / 1e6),
          "%.0f" % (d["clat_ns"]["mean"] / 1e3), *delta)
sys.exit(1 if bad else 0)
EOF
}

: > "$RES"
T0=$(date +%s)
for r in $(seq "$ROUNDS"); do
    n0=$(wc -l < "$RES")
    check "round $r: every fio job ran" run_round "$r"
    tail -n +$((n0 + 1)) "$RES" | while read -r _ n rw bs qd iops mbs lat w c s; do
        extra=""
        [ "$w" != - ] && extra=", writes/commits/stable $w/$c/$s"
        e2e_log "round $r $rw:$bs:$qd $n: $iops IOPS, $mbs MB/s, $lat us mean$extra"
    done
    e2e_log "round $r done after $(( $(date +%s) - T0 )) s"
done

e2e_log "results (round backstore rw bs qd IOPS MB/s lat_us writes commits stable):"
show < "$RES"
"$E2E_PY" "$SUMMARY" --table "$RES" "$SECS" "$ROUNDS" | tee "$E2E_OUT/bench-peers.table"
# where user:nfs's commands spent their time, over all its jobs
# (docs/metrics.md, command_stage_seconds): the host prints the means
[ -n "$PROM" ] && cp "$PROM" "$E2E_OUT/user-nfs.prom"

check "LIO clearconfig" lio_teardown
check "loop device detached" losetup -d "$LOOP"
check "umount NFS" timeout 60 umount "$MNT"
check "tcmu-runner stops cleanly" stop_tcmu_runner
check "ganesha stops cleanly" stop_nfs_server
rm -f "$FLOOR_IMG"
if [ "$FAILS" -eq 0 ]; then
    e2e_log "BENCH-PEERS DONE"
    exit 0
fi
e2e_log "BENCH-PEERS: $FAILS check(s) failed"
exit 1
