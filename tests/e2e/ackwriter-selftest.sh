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
    # A block to break: the last acknowledged write that is also the last
    # write of its block (wb: before the last flush, so that the verifier
    # must hold the device to it; after it, a torn block is allowed).
    # Not a fixed thread's: one may have written nothing.
    t= g= lba=
    read -r _ _ t g lba _ < <(awk -v wb=$([ "$mode" = wb ] && echo 1 || echo 0) '
        $1 == "A" { n++; T[n] = $3; G[n] = $4; B[n] = $5; last[$5] = n }
        $1 == "S" { s = n }
        END { for (i = wb ? s : n; i > 0; i--)
                  if (last[B[i]] == i) { print "A", i, T[i], G[i], B[i]; exit } }' "$L")
    if [ -z "$lba" ]; then
        echo "NOT OK: $mode: no acknowledged block to break in $L"
        fails=$((fails + 1)); continue
    fi
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
    # 3. corrupt: one byte of it flipped (its complement: a fixed value
    # would be no change one time in 256).
    off=$((lba * 4096 + 1000))
    byte=$(od -An -tu1 -j "$off" -N1 "$F" | tr -d ' ')
    printf "\\$(printf '%03o' $((255 - byte)))" |
        dd of="$F" bs=1 seek="$off" conv=notrunc status=none
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
