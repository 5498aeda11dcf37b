#!/bin/bash
# The test command: install what is missing, build, and run every test
# label in a plain build (the two-gateway tests of the label ha beside
# the host's tests; ha_extra only when asked for) and again in an
# ASan+UBSan build; then build the libFuzzer targets of tests/fuzz/ with
# clang and run each one briefly.
#   [FUZZ_TIME=SECONDS] scripts/run-tests.sh [CTEST_LABEL_REGEX]
# (default: everything; the fuzzers run when the regex matches "fuzz",
# each for FUZZ_TIME seconds, default 20)
set -eu
cd "$(dirname "$0")/.."
labels=${1:-}
fuzz=0
if [ -z "$labels" ] || echo fuzz | grep -Eq "$labels"; then
	fuzz=1
fi

scripts/install-deps.sh

run() {
	local dir=$1 ha_pid="" ha_rc=0
	shift
	echo "== build $dir ($*)"
	cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
	cmake --build "$dir" -j "$(nproc)"
	# The two-gateway tests (docs/ha.md) spend most of their time waiting
	# for sanlock's host-dead time, on about one core: they run beside
	# the host's tests (nothing shared: the guests have their own NFS
	# server and network) rather than after them.
	if [ -z "$labels" ]; then
		echo "== test $dir: label ha (not ha_extra) in the background"
		ctest --test-dir "$dir" --output-on-failure -L ha -LE ha_extra \
			> "$dir/ha-tests.log" 2>&1 &
		ha_pid=$!
	fi
	echo "== test $dir"
	ctest --test-dir "$dir" --output-on-failure ${labels:+-L "$labels"} \
		-LE 'e2e|ha' || { [ -z "$ha_pid" ] || kill "$ha_pid"; exit 1; }
	if [ -n "$ha_pid" ]; then
		wait "$ha_pid" || ha_rc=$?
		echo "== test $dir: label ha"
		cat "$dir/ha-tests.log"
		[ "$ha_rc" = 0 ] || exit 1
	fi
	# Each guest runs its own ganesha, without a network, on one host
	# thread (TCG): two at a time use both cores of a 2-core machine.
	if [ -z "$labels" ] || echo e2e | grep -Eq "$labels"; then
		ctest --test-dir "$dir" --output-on-failure -L e2e -j 2
	fi
	# asked for by name (scripts/run-tests.sh ha): every two-gateway
	# test, ha_extra too (6 more minutes)
	if [ -n "$labels" ] && echo ha | grep -Eq "$labels"; then
		ctest --test-dir "$dir" --output-on-failure -L ha
	fi
}

run build
# sanitizers: the e2e label would only repeat the plain build's daemon run
if [ -z "$labels" ]; then
	labels='unit|integration'
fi
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	run build-asan -DENABLE_SANITIZERS=ON

# fuzzing: every fuzz_*.c in tests/fuzz/ is a target and a CTest test
# labelled fuzz, run over a copy of its seed corpus; a crash, leak or
# sanitizer report fails the run and leaves build-fuzz/tests/fuzz/crash-*
if [ $fuzz -eq 1 ]; then
	echo "== build build-fuzz (clang, ENABLE_FUZZING=ON)"
	# a build dir made with another compiler cannot switch to clang
	if [ -f build-fuzz/CMakeCache.txt ] && ! grep -q \
		'^CMAKE_C_COMPILER:[A-Z]*=.*clang' build-fuzz/CMakeCache.txt; then
		rm -rf build-fuzz
	fi
	cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DCMAKE_C_COMPILER=clang -DENABLE_FUZZING=ON \
		-DFUZZ_TIME="${FUZZ_TIME:-20}" >/dev/null
	cmake --build build-fuzz -j "$(nproc)" --target fuzzers
	echo "== fuzz build-fuzz (${FUZZ_TIME:-20} s per target)"
	ctest --test-dir build-fuzz --output-on-failure --no-tests=error \
		-L fuzz
fi
