#!/bin/bash
# test_docs passes on the tree and fails on a copy whose README, man page
# or configuration table states another number than the code.
#   docs-checks.sh TEST_DOCS SOURCE_DIR WORKDIR
set -u
bin=$1 src=$2 work=$3
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

"$bin" "$src" >/dev/null || fail "test_docs fails on the tree itself"

# mutate FILE SED-EXPR: one stale number, which test_docs must catch
mutate() {
	rm -rf "$work" && mkdir -p "$work/docs" || exit 1
	cp "$src/README.md" "$work/" &&
		cp "$src/docs/tcmu-nfs.8" "$src/docs/configuration.md" \
			"$work/docs/" || exit 1
	sed -i "$2" "$work/$1"
	cmp -s "$src/$1" "$work/$1" && fail "$1: '$2' changed nothing"
	"$bin" "$work" >/dev/null 2>&1 && fail "test_docs passes with $1: $2"
}
mutate README.md 's/ms to 1 s/ms to 2 s/'
mutate docs/tcmu-nfs.8 's/from 10 ms to 1 s/from 10 ms to 2 s/'
mutate docs/tcmu-nfs.8 '/^\.BI timeout=/,/^\.TP/s/^Default [0-9]*\./Default 99./'
mutate docs/configuration.md 's/| `timeout=SECONDS` | [0-9]* |/| `timeout=SECONDS` | 99 |/'
rm -rf "$work"
[ $fails -eq 0 ] && echo "docs-checks: OK"
exit $((fails > 0))
