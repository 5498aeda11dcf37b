#!/bin/bash
# Print the version of tcmu-runner whose headers the build in BUILDDIR
# used: the package must depend on exactly it (the handler uses the
# daemon's structures).  The headers come from Debian's tcmu source
# package matching the installed tcmu-runner; refuse a mismatch.
#   debian/tcmu-version.sh BUILDDIR
set -eu
b=${1:?usage: tcmu-version.sh BUILDDIR}
src=$(sed -n 's/^TCMU_RUNNER_SOURCE_DIR:PATH=//p' "$b/CMakeCache.txt")
[ -n "$src" ] || src=$b/tcmu-runner-src
installed=$(dpkg-query -W -f='${Version}' tcmu-runner)
if [ ! -f "$src/debian/changelog" ]; then
	echo "tcmu-version.sh: $src has no debian/changelog: assuming its" \
	     "headers are tcmu-runner $installed's" >&2
	echo "$installed"
	exit 0
fi
headers=$(dpkg-parsechangelog -l "$src/debian/changelog" -SVersion)
# a binNMU (+bN) of the same source has the same headers
if [ "$headers" != "${installed%+b[0-9]*}" ]; then
	echo "tcmu-version.sh: headers from tcmu $headers ($src), but" \
	     "tcmu-runner $installed is installed: build with the" \
	     "headers of the installed version" >&2
	exit 1
fi
echo "$installed"
