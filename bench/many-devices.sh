#!/bin/bash
# N devices on one local ganesha in one process (bench/many_devices.c):
# memory, threads, descriptors and connections per idle device, and the
# QD1 latency of a working device alone and beside the N-1 idle ones.
#   sudo bench/many-devices.sh [N] [SECONDS] [KEYS]
#   (defaults 1024, 5, "resvport=0": 1 024 devices need more connections
#   than there are reserved ports; ganesha takes any port)
# Each device holds its own connections, so ganesha is given room for
# them (NFS_MAX_CONNECTIONS, default 4096 here; its own default, 1024,
# turns devices 1 022 on away, which the devices' messages then say);
# with KEYS share=1 they share one pool of nconnect connections, and
# NFS_MAX_CONNECTIONS=1024 shows it within ganesha's default.  The _tcp
# lines count this process's TCP connections.
# Figures: docs/evidence/benchmarks.md ("Many devices on one server").
set -eu
cd "$(dirname "$0")/.."
n=${1:-1024}
secs=${2:-5}
keys=${3:-resvport=0}
build=${BUILD:-build}
dev=$((1024 * 1024))
state=$(mktemp -d /tmp/tcmu-nfs-many.XXXXXX)
cleanup() { tests/nfs-server.sh stop "$state" || true; rm -rf "$state"; }
trap cleanup EXIT

if [ -z "${BUILD:-}" ]; then
	cmake -S . -B $build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build $build -j "$(nproc)" --target many_devices >/dev/null
fi
NFS_MAX_CONNECTIONS=${NFS_MAX_CONNECTIONS:-4096} \
	tests/nfs-server.sh start "$state"
for i in $(seq 0 $((n - 1))); do
	truncate -s $dev "$state/export/dev-$i"
done
$build/bench/many_devices 127.0.0.1/export dev $n $dev "$secs" \
	"nfsport=2049&mountport=20048${keys:+&$keys}"
echo "server_connections_at_end $(ss -Htn state established \
	'( dport = :2049 )' | wc -l)"
