#!/bin/sh
# check-layers.py must pass on the tree, and fail on a copy of it with one
# rule broken at a time (so that the check can fail).
#   selftest.sh SOURCE_DIR WORK_DIR
set -eu
src=$1
work=$2
check=$src/tests/layers/check-layers.py
rm -rf "$work"
mkdir -p "$work"

"$check" "$src" || { echo "selftest: the tree itself breaks a rule"; exit 1; }

plant() {	# plant FILE LINE WHAT
	rm -rf "$work/t"
	mkdir -p "$work/t"
	cp -R "$src/handler" "$src/include" "$work/t/"
	printf '%s\n' "$2" >>"$work/t/$1"
	if "$check" "$work/t" >"$work/out" 2>&1; then
		echo "selftest: not caught: $3"
		exit 1
	fi
	echo "caught: $3: $(head -1 "$work/out")"
}

plant handler/engine/transport/tnfs_calls.c '#include "tnfs_io.h"' \
	"the transport including the I/O path"
plant handler/engine/io/tnfs_cache.c '#include "tnfs_open.h"' \
	"io including its sibling open"
plant handler/engine/base/tnfs_iov.c '#include "tnfs_xdr.h"' \
	"base including xdr"
plant handler/engine/io/tnfs_io.c '#include "tcmu-runner.h"' \
	"a tcmu-runner header in the engine"
plant handler/engine/xdr/tnfs_xdr.c '#include <nfsc/libnfs.h>' \
	"libnfs outside open/"
plant handler/metrics/tnfs_metrics.c '#include "tnfs_transport.h"' \
	"the metrics writer past the engine's API"
plant handler/engine/tnfs_engine.c '#include "tnfs_sense.h"' \
	"the engine including the plugin's sense table"
rm -rf "$work"
echo "selftest: every planted break was caught"
