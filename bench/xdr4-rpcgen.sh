#!/bin/sh
# Instructions per NFSv4.1 READ reply decoded: the engine's codec against
# rpcgen's (docs/hacking.md, "NFSv4.1 XDR: why not rpcgen").
#   bench/xdr4-rpcgen.sh NFSV41_X BUILD_DIR [DATA_BYTES...]
# NFSV41_X: the RFC 5662 XDR description (nfs-ganesha ships it as
# src/Protocols/XDR/nfsv41.x); BUILD_DIR: a tcmu-nfs build (libtnfs_xdr).
# Needs rpcgen (rpcsvc-proto), libtirpc-dev and valgrind.
set -eu
x=${1:?NFSV41_X}; build=${2:?BUILD_DIR}; shift 2
src=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp "$x" "$tmp/nfsv41.x"
(cd "$tmp" && rpcgen -h nfsv41.x -o nfsv41.h &&
	rpcgen -c nfsv41.x -o nfsv41_xdr.c)
# the .x names Solaris's AUTH_SYS header; libtirpc has it as auth_unix.h
mkdir -p "$tmp/rpc"
cat >"$tmp/rpc/auth_sys.h" <<'H'
#include <rpc/rpc.h>
#include <rpc/auth_unix.h>
#define authsys_parms authunix_parms
#define xdr_authsys_parms xdr_authunix_parms
H
cc -O2 -g -w -I"$tmp" -I/usr/include/tirpc \
	-I"$src/handler/engine/xdr" -I"$src/handler/engine/base" \
	"$src/bench/xdr4_decode.c" \
	"$tmp/nfsv41_xdr.c" -o "$tmp/xdr4_decode" \
	"$build/handler/libtnfs_xdr.a" "$build/handler/libtnfs_base.a" -ltirpc
# every mode must decode every reply, or its count means nothing
for mode in ours ours_head rpcgen rpcgen_prealloc; do
	"$tmp/xdr4_decode" $mode 10 4096 >/dev/null
done
for size in ${*:-4096 65536 1048576}; do
	for mode in ours ours_head rpcgen rpcgen_prealloc; do
		for n in 100 1100; do
			valgrind --tool=callgrind \
				--callgrind-out-file=/dev/null \
				"$tmp/xdr4_decode" $mode $n $size 2>&1 |
				sed -n 's/.*Collected : //p' >"$tmp/ir.$n"
		done
		a=$(cat "$tmp/ir.100")
		b=$(cat "$tmp/ir.1100")
		echo "$size $mode $(( (b - a) / 1000 ))"
	done
done | awk 'BEGIN { print "data_bytes mode instructions_per_reply" } { print }'
