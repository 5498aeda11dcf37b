#!/bin/bash
# Unpack Debian's tcmu source package (the one matching the installed
# tcmu-runner) into DEST: tcmu-runner ships no handler headers, and they
# are never committed here.  Needs a deb-src entry for the suite
# (scripts/install-deps.sh adds one).
set -eu
dest=${1:?usage: fetch-tcmu-source.sh DEST}
version=$(dpkg-query -W -f='${Version}' tcmu-runner 2>/dev/null || true)
pkg=tcmu${version:+=$version}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
if ! apt-get source --download-only -q "$pkg" >apt.log 2>&1; then
	cat apt.log >&2
	echo "fetch-tcmu-source.sh: cannot download source package $pkg;" \
	     "add a deb-src line (run scripts/install-deps.sh) or pass" \
	     "-DTCMU_RUNNER_SOURCE_DIR=/path/to/tcmu-runner" >&2
	exit 1
fi
dpkg-source --no-check -x tcmu_*.dsc src >/dev/null
rm -rf "$dest"
mkdir -p "$(dirname "$dest")"
mv src "$dest"
echo "tcmu-runner source ${version:-latest} unpacked in $dest"
