#!/bin/bash
# Install what building, testing and the demo need on Debian 12, and the
# deb-src entry the build uses to fetch tcmu-runner's handler headers.
# Does nothing when everything is already there.
set -eu

packages=(
	# build
	cmake gcc make pkg-config libc6-dev libnfs-dev dpkg-dev binutils
	# ha= (docs/ha.md): the LUN's sanlock lease (sanlock has wdmd), and
	# the e2e tests: the initiator's dm-multipath, a gateway cut off
	libsanlock-dev sanlock multipath-tools iptables
	# the Debian package (make deb) and its man page checks
	debhelper groff-base man-db
	# unit + integration tests: a real NFS server, and valgrind
	nfs-ganesha nfs-ganesha-vfs rpcbind iproute2 valgrind
	# fuzzing (tests/fuzz): clang's libFuzzer and sanitizer runtimes
	clang libclang-rt-14-dev
	# the real target stack, and a kernel that has it, for e2e and demo
	tcmu-runner targetcli-fb python3-rtslib-fb dbus open-iscsi
	libiscsi-bin sg3-utils e2fsprogs kmod util-linux
	qemu-system-x86 qemu-utils linux-image-amd64 busybox-static
	# tests/e2e/knfsd-*.sh: the kernel NFS server (knfsd) in the guest,
	# its ext4 on a dm-delay device, and the kernel NFS client peer
	nfs-kernel-server nfs-common dmsetup
	# bench/compare.sh: qemu-img bench on nfs:// (QEMU's libnfs driver)
	qemu-block-extra
	# tests/e2e/bench-large-io.sh: fio in the guest
	fio
)

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		grep -q "install ok installed" || missing+=("$p")
done

# apt reads sources.list, *.list and *.sources only
apt_sources() {
	ls /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
		/etc/apt/sources.list.d/*.sources 2>/dev/null
}

need_src=1
if apt_sources | xargs -r grep -qsE '^(Types:.*deb-src|deb-src )'; then
	need_src=0
fi

# deb-src twins of the machine's own deb entries: the same mirrors,
# suites, components and keys, so a local mirror or a proxy keeps working
derive_src() {
	local f

	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		awk 'function flush(i) {
			if (n && keep) {
				for (i = 1; i <= n; i++)
					print lines[i]
				print ""
			}
			n = 0
			keep = 0
		}
		/^[ \t]*$/ { flush(); next }
		/^#/ { next }
		/^Types:/ {
			t = " " substr($0, 7) " "
			gsub(/\t/, " ", t)
			if (t ~ / deb /) {
				keep = 1
				$0 = "Types: deb-src"
			}
		}
		{ lines[++n] = $0 }
		END { flush() }' "$f" >>"$1.sources"
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		sed -n 's/^[ \t]*deb\([ \t]\)/deb-src\1/p' "$f" >>"$1.list"
	done
}

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
	out=/etc/apt/sources.list.d/tcmu-nfs-deb-src
	rm -f "$out.sources" "$out.list"
	derive_src "$out"
	[ -s "$out.sources" ] || rm -f "$out.sources"
	[ -s "$out.list" ] || rm -f "$out.list"
	if [ ! -e "$out.sources" ] && [ ! -e "$out.list" ]; then
		echo "install-deps.sh: no deb entry in the apt sources to" \
		     "derive a deb-src entry from; add one for this release" \
		     "(or build with -DTCMU_RUNNER_SOURCE_DIR=...)" >&2
		exit 1
	fi
	echo "install-deps.sh: added deb-src entries for the configured" \
	     "sources: $(ls "$out".* | tr '\n' ' ')"
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
if [ ${#missing[@]} -gt 0 ]; then
	echo "install-deps.sh: installing ${missing[*]}"
	apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
# Debian starts these on install; the tests run their own instances.
# nfs-kernel-server exports nothing from an empty /etc/exports, but where
# the kernel has nfsd (not the dev/CI kernel; its postinst then only says
# "Not starting" or "Failed to start ..., ignoring") its nfs-server unit
# would hold port 2049, which the host's ganesha tests need.
for svc in nfs-ganesha tcmu-runner iscsid nfs-server nfs-mountd nfsdcld \
	rpc-statd rpc-statd-notify nfs-idmapd nfs-blkmap rpcbind; do
	systemctl stop "$svc" 2>/dev/null || true
done
