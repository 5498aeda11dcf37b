#!/bin/bash
# The test command: install what is missing, build, and run every test
# label in a plain build and again in an ASan+UBSan build.
#   scripts/run-tests.sh [CTEST_LABEL_REGEX]   (default: everything)
set -eu
cd "$(dirname "$0")/.."
labels=${1:-}

scripts/install-deps.sh

run() {
	local dir=$1
	shift
	echo "== build $dir ($*)"
	cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
	cmake --build "$dir" -j "$(nproc)"
	echo "== test $dir"
	ctest --test-dir "$dir" --output-on-failure ${labels:+-L "$labels"}
}

run build
# sanitizers: the e2e label would only repeat the plain build's daemon run
if [ -z "$labels" ]; then
	labels='unit|integration'
fi
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	run build-asan -DENABLE_SANITIZERS=ON
