#!/bin/bash
# ackwriter-selftest.sh ACKWRITER DIR - the crash test's verifier must be
# able to fail: write to a plain file, verify (must pass), then break the
# file or the record in three ways; each must make verify fail.
set -u
AW=$1 DIR=$2
rm -rf "$DIR"; mkdir -p "$DIR" || exit 2
F=$DIR/disk.img L=$DIR/write.log
fails=0
expect() {  # WANT_RC DESC CMD...
    local want=$1 desc=$2 rc; shift 2
    "$@" > "$DIR/out" 2>&1; rc=$?
    sed 's/^/    | /' "$DIR/out"
    if [ "$rc" = "$want" ]; then echo "ok: $desc (exit $rc)"
    else echo "NOT OK: $desc: exit $rc, want $want"; fails=$((fails + 1)); fi
}
for mode in wt wb; do
    rm -f "$F"; truncate -s 1M "$F"
    expect 0 "$mode: write 3000 blocks, 8 threads" \
        "$AW" write --dev "$F" --log "$L" --mode "$mode" --threads 8 \
        --writes 3000 --sync-ms 5 --no-direct
    expect 0 "$mode: verify the intact file" "$AW" verify --dev "$F" --log "$L"
    cp "$F" "$DIR/good.img"; cp "$L" "$DIR/good.log"
    # The last acknowledged write of thread 3: its block.
    read -r _ _ t g lba _ < <(awk '$1 == "A" && $3 == 3' "$L" | tail -1)
    # 1. stale: the record claims thread 3's next write was acknowledged.
    next=$("$AW" lba --log "$L" "$t" $((g + 1)))
    echo "A 999999 $t $((g + 1)) $next 0" >> "$L"
    [ "$mode" = wb ] && echo "S 1000000 1000000" >> "$L"
    expect 1 "$mode: a record of a write the disk does not hold (stale block $next)" \
        "$AW" verify --dev "$F" --log "$L"
    cp "$DIR/good.log" "$L"
    # 2. lost: the last acknowledged block reads as zeros.
    dd if=/dev/zero of="$F" bs=4096 seek="$lba" count=1 conv=notrunc status=none
    expect 1 "$mode: an acknowledged block zeroed (block $lba)" \
        "$AW" verify --dev "$F" --log "$L"
    cp "$DIR/good.img" "$F"
    # 3. corrupt: one byte of it flipped.
    printf '\xff' | dd of="$F" bs=1 seek=$((lba * 4096 + 1000)) conv=notrunc status=none
    expect 1 "$mode: a byte flipped in block $lba" "$AW" verify --dev "$F" --log "$L"
    cp "$DIR/good.img" "$F"
    if [ "$mode" = wb ]; then
        # 4. a write acknowledged after the last flush may be lost.
        echo "A 999999 $t $((g + 1)) $next 0" >> "$L"
        expect 0 "wb: a write acknowledged after the last flush is missing (allowed)" \
            "$AW" verify --dev "$F" --log "$L"
        grep -q 'acked_after_last_flush_missing=1 ' "$DIR/out" \
            || { echo "NOT OK: not counted"; fails=$((fails + 1)); }
        cp "$DIR/good.log" "$L"
    fi
    expect 0 "$mode: the restored file verifies again" "$AW" verify --dev "$F" --log "$L"
done
[ "$fails" = 0 ] && { echo "ackwriter selftest passed"; exit 0; }
echo "ackwriter selftest: $fails failure(s)"; exit 1
