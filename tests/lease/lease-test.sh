#!/bin/sh
# lease-test.sh TEST_LEASE WORKDIR: a sanlock daemon of the test's own
# (no watchdog, as root), then test_lease against it; the daemon is shut
# down after.  Skips (77) without sanlock or root.
set -u
T=$1 W=$2
command -v sanlock >/dev/null || { echo "SKIP: no sanlock (scripts/install-deps.sh)"; exit 77; }
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
rm -rf "$W" && mkdir -p "$W" || exit 1
started=""
if ! sanlock client status >/dev/null 2>&1; then
	mkdir -p /run/sanlock
	# a container may refuse it the memlock limit it raises when privileged
	SANLOCK_PRIVILEGED=${SANLOCK_PRIVILEGED:-0} sanlock daemon -w 0 -l 0 -U root -G root > "$W/sanlock.out" 2>&1 || { cat "$W/sanlock.out"; exit 1; }
	started=1
	i=0
	until sanlock client status >/dev/null 2>&1; do
		i=$((i + 1)); [ $i -lt 50 ] || { echo "sanlock did not start"; exit 1; }
		sleep 0.1
	done
fi
"$T" "$W"
rc=$?
sanlock client rem_lockspace -s "tnfs-test:1:$W/tnfs-test.ids:0" >/dev/null 2>&1
if [ -n "$started" ]; then
	sanlock client shutdown -f 1 >/dev/null 2>&1
	# gone before the next run looks for a daemon
	i=0
	while sanlock client status >/dev/null 2>&1 && [ $i -lt 100 ]; do
		i=$((i + 1)); sleep 0.1
	done
fi
exit $rc
