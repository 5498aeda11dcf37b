#!/bin/bash
# The long soak (docs/testing.md), not run by CI: ganesha killed with
# SIGKILL and restarted CYCLES times, plus fault-proxy cuts between the
# kills, under 48 verifying commands, write-through then write-back.
#   sudo scripts/long-soak.sh [CYCLES]   (default 100)
set -eu
cd "$(dirname "$0")/.."
cycles=${1:-100}
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc)" --target test_soak nfs_fault_proxy >/dev/null
state=$(mktemp -d /tmp/tcmu-nfs-soak.XXXXXX)
trap 'tests/nfs-server.sh stop "$state"; rm -rf "$state"' EXIT
tests/nfs-server.sh start "$state"
export NFS_TEST_DIR=$state NFS_SERVER_SCRIPT=$PWD/tests/nfs-server.sh
for mode in "" writeback; do
	build/tests/test_soak "$cycles" $mode cuts | grep -v '^soak: kill '
done
