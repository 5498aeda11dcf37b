#!/bin/bash
# The man page renders without warnings, and test_manpage catches a key
# whose item is missing and an item for a key the parser does not know.
#   manpage-checks.sh TEST_MANPAGE MANPAGE WORKDIR
set -u
bin=$1 page=$2 work=$3
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

mkdir -p "$work" || exit 1

out=$(groff -man -ww -z "$page" 2>&1) || fail "groff exited $?"
[ -z "$out" ] || fail "groff -man -ww -z: $out"
out=$(MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null) ||
	fail "man -l exited $?"
[ -z "$out" ] || fail "man --warnings -l: $out"
# the page as installed: gzip'd, found by man -l all the same
gzip -9nc "$page" >"$work/tcmu-nfs.8.gz" &&
	MANWIDTH=80 man -l "$work/tcmu-nfs.8.gz" | grep -q 'nconnect=N' ||
	fail "man -l of the gzip'd page shows no nconnect=N"

"$bin" "$page" >/dev/null || fail "test_manpage fails on $page itself"

# each mutation must make test_manpage fail
for key in uid nconnect stable; do
	sed "/^\.B[IR]* $key= /d" "$page" >"$work/no-$key.8"
	cmp -s "$page" "$work/no-$key.8" && fail "no item for $key= to remove"
	"$bin" "$work/no-$key.8" >/dev/null 2>&1 &&
		fail "test_manpage passes without the $key= item"
done
sed '/^\.SS Keys$/a .TP\n.BI nosuchkey= N\nA key the parser does not know.' \
	"$page" >"$work/extra.8"
"$bin" "$work/extra.8" >/dev/null 2>&1 &&
	fail "test_manpage passes with an item for nosuchkey="

[ $fails -eq 0 ] && echo "manpage-checks: OK"
exit $((fails > 0))
