#!/bin/bash
# scsi-conformance.sh - guest script: SCSI conformance of user:nfs
# (build/handler_nfs.so) against LIO's own fileio backstore, and COMPARE
# AND WRITE atomicity between two initiators (docs/evidence/scsi-conformance.md).
#
#   E2E_BUILD_DIR=$PWD/build tests/e2e/vm-run.sh --timeout 1500 tests/e2e/scsi-conformance.sh
#
# Steps (E2E_CONF_STEPS, default "itc caw"):
#   itc    one iSCSI target, LUN 0 user:nfs, LUN 1 fileio, same size; the
#          whole SCSI family of `iscsi-test-cu --dataloss` on each. Fails
#          if user:nfs fails a test that fileio does not fail (passes,
#          or skips; E2E_CONF_XFAIL: a comma list of Suite.Test allowed
#          to, default the kernel's SPC-2 Reserve6.ITNexusLoss,Logout,
#          which pass or fail on either backstore from run to run, and
#          the two Inquiry tests tcmu-runner 1.5.4 makes fail, below).
#          Prints the counts, the tests failing on each and the slowest
#          tests.
#   caw    a write-through and a cache=writeback user:nfs LUN, each seen
#          through two iSCSI sessions from two initiator names (two
#          open-iscsi ifaces); cawrace (tests/e2e/cawrace.c) races
#          COMPARE AND WRITE on one LBA from both, E2E_CAW_ROUNDS (200)
#          rounds: one GOOD and one MISCOMPARE each round, and the block
#          read through both sessions and in the file on the NFS server is
#          the winner's. Negative control: the same race between two
#          different LUNs must fail (two winners).
#   xcopy  (not in CI: a measurement) EXTENDED COPY between two user:nfs
#          LUNs (refused by tcmu-runner 1.5.4), then a clone of E2E_XC_MIB
#          (1024) MiB within one LUN by EXTENDED COPY (sg_xcopy, 4 MiB per
#          command as ESXi sends) and to another LUN by dd with O_DIRECT
#          reads and writes; both copies checked in the backing files.
#          Guest memory for 3 x E2E_XC_MIB of files: vm-run.sh --mem 5120.
#          (With tcmu-runner 1.5.4's EXTENDED COPY the daemon aborts
#          part-way: docs/evidence/scsi-conformance.md.)
#
# Env: E2E_CONF_TESTS (SCSI) the iscsi-test-cu test list, E2E_CAWRACE
# (default $E2E_BUILD_DIR/tests/e2e/cawrace), E2E_CONF_SIZE_MIB (64) the
# conformance LUNs' size, E2E_ITC_TIMEOUT (1500) per iscsi-test-cu run.
# Exit status: 0 when every check passed, 1 otherwise.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/guest-lib.sh"

STEPS=" ${E2E_CONF_STEPS:-itc caw} "
FAILS=0
FAILED_CHECKS=()
ok()    { e2e_log "ok: $*"; }
notok() { e2e_log "NOT OK: $*"; FAILS=$((FAILS + 1)); FAILED_CHECKS+=("$*"); }
check() { local d=$1; shift; if "$@"; then ok "$d"; else notok "$d"; fi; }
fatal() { notok "$*"; e2e_log "scsi-conformance: aborting after a fatal failure"; exit 1; }
want()  { case "$STEPS" in *" $1 "*) return 0 ;; esac; return 1; }
show()  { sed 's/^/    | /'; }
since() { awk -v a="$1" -v b="$(e2e_elapsed)" 'BEGIN{printf "%.1f", b-a}'; }

MiB=1048576
SIZE_MIB=${E2E_CONF_SIZE_MIB:-64}
SIZE=$((SIZE_MIB * MiB))
CAW_ROUNDS=${E2E_CAW_ROUNDS:-200}
XC_MIB=${E2E_XC_MIB:-1024}
ITC_TESTS=${E2E_CONF_TESTS:-SCSI}
# RESERVE(6)/RELEASE(6) are LIO's own (target_core_pr.c), the same code for
# every backstore; these two fail now on one, now on both, now on neither.
# Inquiry.AllocLength and Inquiry.BlockLimits need the residual of a short
# answer: tcmu-runner 1.5.4 never passes one to the kernel (no
# TCMU_UFLAG_READ_LEN), so every user: backstore fails them whatever the
# handler writes (docs/evidence/scsi-conformance.md).
XFAIL=${E2E_CONF_XFAIL-Reserve6.ITNexusLoss,Reserve6.Logout,Inquiry.AllocLength,Inquiry.BlockLimits}
export E2E_ITC_TIMEOUT=${E2E_ITC_TIMEOUT:-1500}
PORTS="nfsport=$E2E_NFS_PORT&mountport=$E2E_MNT_PORT"
NFS=127.0.0.1
LARGE="hw_max_sectors=2048 control=max_data_area_mb=128"
IQN_ITC=iqn.2003-01.org.linux-iscsi.e2e:conformance
IQN_CAW=iqn.2003-01.org.linux-iscsi.e2e:caw-race
IQN_XC=iqn.2003-01.org.linux-iscsi.e2e:xcopy
W=$E2E_WORK/t
EXPORT=$E2E_WORK/nfs/export
mkdir -p "$W" "$EXPORT"

SO=$(e2e_find_handler nfs) || fatal "handler_nfs.so not found (build first; E2E_BUILD_DIR)"
e2e_log "plugin: $SO; steps:$STEPS"
if want caw; then
    CAWRACE=${E2E_CAWRACE:-${E2E_BUILD_DIR:-$E2E_CWD/build}/tests/e2e/cawrace}
    [ -x "$CAWRACE" ] || fatal "cawrace not found at $CAWRACE (build it; E2E_CAWRACE)"
fi
if want xcopy; then
    # Files are made before ganesha exports the dir (no stale cache).
    T=$(e2e_elapsed)
    head -c $((XC_MIB * MiB)) /dev/urandom > "$EXPORT/xsrc.img" || fatal "xcopy source file"
    truncate -s $((2 * XC_MIB * MiB)) "$EXPORT/xsrc.img" || fatal "xcopy source file"
    truncate -s $((XC_MIB * MiB)) "$EXPORT/xdd.img" || fatal "dd destination file"
    e2e_log "xcopy: $XC_MIB MiB source file of random bytes in $(since "$T")s"
fi
start_nfs_server "$EXPORT" || fatal "start nfs-ganesha"
start_tcmu_runner "$SO" || fatal "start tcmu-runner"
# Without this directory every persistent-reservation test that sets APTPL
# fails on every backstore: LIO writes APTPL state there.
mkdir -p /etc/rtslib-fb-target/pr || fatal "mkdir /etc/rtslib-fb-target/pr"

# ================================================================== itc
# The parsed outcome of one iscsi-test-cu log: "Suite.Test STATUS" lines,
# STATUS passed, FAILED (CUnit's verdict: "...FAILED" or a bare "FAILED"
# line; a "[FAILED]" message alone is libiscsi's log of a command, as in
# Reserve6.LUNReset's expected unit attention) or SKIPPED (CUnit counts
# those as passed).
itc_status() {
    awk 'function out() { if (t != "") print s "." t, st; t = "" }
         /^Suite: /       { out(); s = $2; next }
         /^  Test: /      { out(); t = $2; st = "passed" }
         t != "" && /\[SKIPPED\]/ { if (st != "FAILED") st = "SKIPPED" }
         t != "" && (/^FAILED$/ || /\.\.\.FAILED$/) { st = "FAILED" }
         END { out() }' "$1"
}
# Per-test wall time from the timestamped copy of the log (see the shim).
itc_slowest() {
    awk '/^[0-9.]+ Suite: / { s = $3 }
         /^[0-9.]+   Test: / { if (n != "") d[n] += $1 - t0; n = s "." $3; t0 = $1 }
         /^[0-9.]+ Run Summary/ { if (n != "") d[n] += $1 - t0; n = "" }
         END { for (k in d) printf "%8.1fs %s\n", d[k], k }' "$1" | sort -rn | head -"${2:-15}"
}

if want itc; then
    e2e_log "==================== itc: iscsi-test-cu --dataloss --test=$ITC_TESTS, user:nfs vs fileio"
    # A shim before iscsi-test-cu on PATH keeps a timestamped copy of its
    # output (line-buffered) beside run_iscsi_test_cu's log, for the
    # per-test times.
    SHIM=/run/e2e-conf-bin
    mkdir -p "$SHIM"
    cat > "$SHIM/iscsi-test-cu" <<'EOF'
#!/bin/bash
stdbuf -oL /usr/bin/iscsi-test-cu "$@" 2>&1 | while IFS= read -r l; do
    printf '%s\n' "$l"; printf '%s %s\n' "$EPOCHREALTIME" "$l" >> "$E2E_CONF_TSLOG"
done
exit "${PIPESTATUS[0]}"
EOF
    chmod +x "$SHIM/iscsi-test-cu"
    truncate -s "$SIZE" "$E2E_WORK/fio0.img"
    { echo "$(tcli_user nfs nfs0 "$SIZE" "$NFS/export/itc.img?create=1&$PORTS") $LARGE"
      tcli_fileio fio0 "$E2E_WORK/fio0.img" "$SIZE"
      tcli_iscsi "$IQN_ITC" /backstores/user:nfs/nfs0 /backstores/fileio/fio0
    } | targetcli_batch > "$W/tcli-itc.out" || { show < "$W/tcli-itc.out"; fatal "targetcli: conformance target"; }
    declare -A ITC_LINE
    for lun in 0 1; do
        label=$([ $lun = 0 ] && echo nfs || echo fileio)
        T=$(e2e_elapsed)
        export E2E_CONF_TSLOG=$E2E_OUT/iscsi-test-cu-$label.ts
        : > "$E2E_CONF_TSLOG"
        ITC_LINE[$label]=$(PATH=$SHIM:$PATH run_iscsi_test_cu "$label" "iscsi://$E2E_PORTAL/$IQN_ITC/$lun" "$ITC_TESTS" 2>&1)
        e2e_log "${ITC_LINE[$label]%%$'\n'*} (in $(since "$T")s)"
        itc_status "$E2E_OUT/iscsi-test-cu-$label.log" > "$W/$label.status"
        e2e_log "$label: slowest tests:"
        itc_slowest "$E2E_CONF_TSLOG" 12 | show
    done
    for label in nfs fileio; do
        case ${ITC_LINE[$label]} in
        *rc=124*|*" ran=0 "*|*"timed out"*) notok "$label: the suite did not run to its end" ;;
        *) ok "$label: the suite ran to its end" ;;
        esac
    done
    n_nfs=$(wc -l < "$W/nfs.status"); n_fio=$(wc -l < "$W/fileio.status")
    check "both ran the same tests ($n_nfs, $n_fio)" \
        cmp -s <(awk '{print $1}' "$W/nfs.status") <(awk '{print $1}' "$W/fileio.status")
    for label in nfs fileio; do
        awk '{n[$2]++} END {printf "%s: %d tests: %d passed, %d failed, %d skipped\n", FILENAME, NR, n["passed"], n["FAILED"], n["SKIPPED"]}' \
            "$W/$label.status" | sed "s|$W/||; s|\.status||"
        e2e_log "$label: failing: $(awk '$2 == "FAILED" {print $1}' "$W/$label.status" | paste -sd' ' -)"
        sed 's/^/    /' "$E2E_OUT/iscsi-test-cu-$label.failures" 2>/dev/null
    done | tee "$E2E_OUT/conformance-summary.txt"
    # The verdict: a test user:nfs fails and fileio does not (fileio
    # passes it, or skips it as CUnit's "passed": e.g. the UnmapVPD tests
    # on a fully provisioned fileio LUN).
    join <(sort "$W/nfs.status") <(sort "$W/fileio.status") > "$W/joined"
    WORSE=$(awk '$2 == "FAILED" && $3 != "FAILED" {print $1}' "$W/joined" | paste -sd, -)
    BETTER=$(awk '$2 != "FAILED" && $3 == "FAILED" {print $1}' "$W/joined" | paste -sd, -)
    BOTH=$(awk '$2 == "FAILED" && $3 == "FAILED" {print $1}' "$W/joined" | paste -sd, -)
    { e2e_log "user:nfs FAILS, fileio passes or skips: ${WORSE:-none}"
      e2e_log "both fail: ${BOTH:-none}"
      e2e_log "user:nfs passes or skips, fileio fails: ${BETTER:-none}"
    } | tee -a "$E2E_OUT/conformance-summary.txt"
    UNEXPECTED=""
    for t in ${WORSE//,/ }; do
        case ",$XFAIL," in *",$t,"*) ;; *) UNEXPECTED="$UNEXPECTED $t" ;; esac
    done
    check "user:nfs fails no test that fileio passes (allowed: ${XFAIL:-none}; beyond that:${UNEXPECTED:- none})" \
        [ -z "$UNEXPECTED" ]
    check "targetcli: delete the conformance target" \
        targetcli_batch "/iscsi delete $IQN_ITC" "/backstores/user:nfs delete nfs0" "/backstores/fileio delete fio0"
fi

# ================================================================== caw
# iface_new NAME INITIATOR_IQN: an open-iscsi iface with its own initiator
# name: a second iSCSI session to one target, from another I_T nexus.
iface_new() {
    iscsiadm -m iface -I "$1" --op=new >> "$E2E_OUT/iscsiadm.log" 2>&1 &&
    iscsiadm -m iface -I "$1" --op=update -n iface.initiatorname -v "$2" >> "$E2E_OUT/iscsiadm.log" 2>&1
}
iface_login() { # IQN IFACE
    iscsiadm -m node -T "$1" -p "$E2E_PORTAL" -I "$2" --login >> "$E2E_OUT/iscsiadm.log" 2>&1 \
        || { tail -5 "$E2E_OUT/iscsiadm.log" >&2; return 1; }
}
if want caw; then
    e2e_log "==================== caw: COMPARE AND WRITE raced from two sessions, $CAW_ROUNDS rounds"
    { echo "$(tcli_user nfs cawwt "$SIZE" "$NFS/export/caw-wt.img?create=1&$PORTS") $LARGE"
      echo "$(tcli_user nfs cawwb "$SIZE" "$NFS/export/caw-wb.img?create=1&cache=writeback&$PORTS") $LARGE"
      tcli_iscsi "$IQN_CAW" /backstores/user:nfs/cawwt /backstores/user:nfs/cawwb
    } | targetcli_batch > "$W/tcli-caw.out" || { show < "$W/tcli-caw.out"; fatal "targetcli: CAW target"; }
    start_iscsid || fatal "iscsid"
    iface_new e2e-a iqn.2026-12.org.e2e:host-a && iface_new e2e-b iqn.2026-12.org.e2e:host-b \
        || fatal "open-iscsi ifaces"
    iscsiadm -m discovery -t st -p "$E2E_PORTAL" -I e2e-a -I e2e-b >> "$E2E_OUT/iscsiadm.log" 2>&1 \
        || fatal "discovery through the two ifaces"
    mapfile -t DA < <(new_disks_after 2 iface_login "$IQN_CAW" e2e-a)
    mapfile -t DB < <(new_disks_after 2 iface_login "$IQN_CAW" e2e-b)
    [ "${#DA[@]}" = 2 ] && [ "${#DB[@]}" = 2 ] || fatal "two sessions with two LUNs each (got ${DA[*]} / ${DB[*]})"
    e2e_log "session A: ${DA[*]}, session B: ${DB[*]} ($(iscsiadm -m session 2>&1 | grep -c "$IQN_CAW") sessions)"
    check "two sessions to $IQN_CAW" [ "$(iscsiadm -m session 2>/dev/null | grep -c "$IQN_CAW")" = 2 ]
    LBA=4097
    for i in 0 1; do
        n=$([ $i = 0 ] && echo wt || echo wb)
        check "$n: the two sessions see one LUN (same VPD 0x83 NAA)" \
            [ "$(sg_vpd -p di -H "${DA[$i]}" 2>&1 | md5sum)" = "$(sg_vpd -p di -H "${DB[$i]}" 2>&1 | md5sum)" ]
        want_wc=$([ $n = wt ] && echo "write through" || echo "write back")
        check "$n: the kernel sees '$want_wc' on both sessions" \
            [ "$(cat /sys/block/${DA[$i]#/dev/}/queue/write_cache)/$(cat /sys/block/${DB[$i]#/dev/}/queue/write_cache)" = "$want_wc/$want_wc" ]
        T=$(e2e_elapsed)
        "$CAWRACE" "${DA[$i]}" "${DB[$i]}" $LBA "$CAW_ROUNDS" "$EXPORT/caw-$n.img" $((LBA * 512)) > "$W/caw-$n.out" 2>&1
        rc=$?
        show < "$W/caw-$n.out"
        cp "$W/caw-$n.out" "$E2E_OUT/cawrace-$n.out"
        check "$n: $CAW_ROUNDS rounds of COMPARE AND WRITE raced from two sessions: one winner each, the server holds it (in $(since "$T")s)" \
            [ "$rc" = 0 ]
    done
    # Negative control: the "race" between two different LUNs has two
    # winners, and cawrace must say so.
    "$CAWRACE" "${DA[0]}" "${DB[1]}" $LBA 5 "$EXPORT/caw-wt.img" $((LBA * 512)) > "$W/caw-neg.out" 2>&1
    rc=$?
    show < "$W/caw-neg.out"
    check "negative control: racing two different LUNs (wt via A, wb via B) fails with two GOOD" \
        bash -c "[ $rc = 1 ] && grep -q '2 GOOD, 0 MISCOMPARE' '$W/caw-neg.out'"
    iscsiadm -m node -T "$IQN_CAW" -p "$E2E_PORTAL" --logout >> "$E2E_OUT/iscsiadm.log" 2>&1
    check "targetcli: delete the CAW target" \
        targetcli_batch "/iscsi delete $IQN_CAW" "/backstores/user:nfs delete cawwt" "/backstores/user:nfs delete cawwb"
fi

# ================================================================== xcopy
# tcmu-runner 1.5.4 refuses an EXTENDED COPY whose source or destination is
# another device than the one it was sent to (CVE-2021-3139: it cannot tell
# whether the initiator may reach that device): the copy between two LUNs
# is tried and must be refused; the clone is measured within one LUN
# (first half to second half), as ESXi clones within one datastore.
if want xcopy; then
    e2e_log "==================== xcopy: $XC_MIB MiB clone, EXTENDED COPY vs dd O_DIRECT"
    { echo "$(tcli_user nfs xsrc $((2 * XC_MIB * MiB)) "$NFS/export/xsrc.img?$PORTS") $LARGE"
      echo "$(tcli_user nfs xdd $((XC_MIB * MiB)) "$NFS/export/xdd.img?$PORTS") $LARGE"
      tcli_iscsi "$IQN_XC" /backstores/user:nfs/xsrc /backstores/user:nfs/xdd
    } | targetcli_batch > "$W/tcli-xc.out" || { show < "$W/tcli-xc.out"; fatal "targetcli: xcopy target"; }
    mapfile -t DX < <(iscsi_login "$IQN_XC" 2)
    [ "${#DX[@]}" = 2 ] || fatal "xcopy LUNs"
    e2e_log "xsrc ${DX[0]} ($((2 * XC_MIB)) MiB, first half random), xdd ${DX[1]}"
    # sg_xcopy finds no sg node from a block device here: name the sg nodes
    SGX=()
    for d in "${DX[@]}"; do SGX+=("/dev/$(ls "/sys/block/${d#/dev/}/device/scsi_generic")"); done
    e2e_log "sg nodes: ${SGX[*]}"
    sg_inq "${DX[0]}" 2>&1 | grep -i '3PC' | show
    sg_copy_results --params "${SGX[0]}" 2>&1 | show
    BLOCKS=$((XC_MIB * 2048))
    # sg_xcopy's default parameter list names a LIST IDENTIFIER (usage 00b,
    # id 1), as libiscsi's tests do; tcmu-runner 1.5.4 takes only usage 11b
    # with id 0 (id_usage=disable).
    sg_xcopy if="${SGX[0]}" of="${SGX[0]}" seek=$BLOCKS bs=512 bpt=8192 count=8192 > "$W/xcopy-lid.out" 2>&1
    e2e_log "sg_xcopy with a list identifier (sg_xcopy's default), within xsrc: rc=$?"; show < "$W/xcopy-lid.out"
    L0=$(wc -l < "$E2E_OUT/tcmu-runner/tcmu-runner.log")
    sg_xcopy if="${SGX[0]}" of="${SGX[1]}" bs=512 bpt=8192 count=8192 id_usage=disable > "$W/xcopy-cross.out" 2>&1
    rc=$?
    e2e_log "sg_xcopy xsrc -> xdd (two LUNs): rc=$rc"; show < "$W/xcopy-cross.out"
    tail -n +$((L0 + 1)) "$E2E_OUT/tcmu-runner/tcmu-runner.log" | show
    check "EXTENDED COPY between two LUNs is refused (tcmu-runner 1.5.4: cross-device XCOPY not supported)" \
        bash -c "[ $rc != 0 ] && tail -n +$((L0 + 1)) '$E2E_OUT/tcmu-runner/tcmu-runner.log' | grep -q 'Cross-device XCOPY not supported'"
    T=$(e2e_elapsed)
    sg_xcopy if="${SGX[0]}" of="${SGX[0]}" seek=$BLOCKS bs=512 bpt=8192 count=$BLOCKS id_usage=disable time=1 > "$W/xcopy.out" 2>&1
    rc=$?; XC_S=$(since "$T"); show < "$W/xcopy.out"
    check "sg_xcopy: $XC_MIB MiB within xsrc by EXTENDED COPY (4 MiB per command) in ${XC_S}s" [ "$rc" = 0 ]
    check "the copy in xsrc.img's second half equals its first" \
        cmp <(head -c $((XC_MIB * MiB)) "$EXPORT/xsrc.img") <(tail -c +$((XC_MIB * MiB + 1)) "$EXPORT/xsrc.img")
    T=$(e2e_elapsed)
    dd if="${DX[0]}" of="${DX[1]}" bs=1M count="$XC_MIB" iflag=direct oflag=direct status=none
    rc=$?; DD_S=$(since "$T")
    check "dd: $XC_MIB MiB xsrc -> xdd with 1 MiB O_DIRECT reads and writes in ${DD_S}s" [ "$rc" = 0 ]
    check "xdd.img equals xsrc.img's first half" \
        cmp <(head -c $((XC_MIB * MiB)) "$EXPORT/xsrc.img") "$EXPORT/xdd.img"
    e2e_log "XCOPY-BENCH: $XC_MIB MiB: EXTENDED COPY within one LUN ${XC_S}s ($(awk -v m="$XC_MIB" -v s="$XC_S" 'BEGIN{printf "%.1f", m/s}') MiB/s), dd O_DIRECT between two LUNs ${DD_S}s ($(awk -v m="$XC_MIB" -v s="$DD_S" 'BEGIN{printf "%.1f", m/s}') MiB/s)"
    iscsi_logout "$IQN_XC"
fi

# ------------------------------------------------------------------ teardown
check "LIO clearconfig" lio_teardown
check "tcmu-runner stops cleanly" stop_tcmu_runner
check "ganesha stops cleanly" stop_nfs_server
for f in "${FAILED_CHECKS[@]}"; do e2e_log "failed: $f"; done
if [ "$FAILS" -eq 0 ]; then
    e2e_log "SCSI-CONFORMANCE E2E PASSED"
    exit 0
fi
e2e_log "SCSI-CONFORMANCE E2E FAILED: $FAILS check(s) failed"
exit 1
