#!/bin/bash
# Install what building, testing and the demo need on Debian 12, and the
# deb-src entry the build uses to fetch tcmu-runner's handler headers.
# Does nothing when everything is already there.
set -eu

packages=(
	# build
	cmake gcc make pkg-config libc6-dev libnfs-dev dpkg-dev binutils
	# unit + integration tests: a real NFS server, and valgrind
	nfs-ganesha nfs-ganesha-vfs rpcbind iproute2 valgrind
	# fuzzing (tests/fuzz): clang's libFuzzer and sanitizer runtimes
	clang libclang-rt-14-dev
	# the real target stack, and a kernel that has it, for e2e and demo
	tcmu-runner targetcli-fb python3-rtslib-fb dbus open-iscsi
	libiscsi-bin sg3-utils e2fsprogs kmod util-linux
	qemu-system-x86 qemu-utils linux-image-amd64 busybox-static
	# bench/compare.sh: qemu-img bench on nfs:// (QEMU's libnfs driver)
	qemu-block-extra
)

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		grep -q "install ok installed" || missing+=("$p")
done

need_src=1
if grep -rqsE '^(Types:.*deb-src|deb-src )' /etc/apt/sources.list \
	/etc/apt/sources.list.d/; then
	need_src=0
fi

if [ ${#missing[@]} -eq 0 ] && [ $need_src -eq 0 ]; then
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "install-deps.sh: run as root to install: ${missing[*]}" \
	     "${need_src:+(and a deb-src entry)}" >&2
	exit 1
fi
if [ $need_src -eq 1 ]; then
	# tcmu-runner ships no handler headers: the build takes them from
	# Debian's tcmu source package
	cat >/etc/apt/sources.list.d/tcmu-nfs-deb-src.sources <<SRC
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
if [ ${#missing[@]} -gt 0 ]; then
	echo "install-deps.sh: installing ${missing[*]}"
	apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
# Debian starts these on install; the tests run their own instances.
for svc in nfs-ganesha tcmu-runner iscsid rpcbind; do
	systemctl stop "$svc" 2>/dev/null || true
done
