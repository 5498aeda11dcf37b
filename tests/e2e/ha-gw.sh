#!/bin/bash
# ha-gw.sh - guest B of the two-gateway tests (ha-run.sh): gateway 2,
# then an agent doing what guest A asks (ha-lib.sh ha_agent).
# With E2E_HA_WATCHDOG=1 (not in the negative control) wdmd runs softdog,
# so that this guest is reset if its sanlock stops renewing.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/guest-lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/ha-lib.sh"
HA_WATCHDOG=${E2E_HA_WATCHDOG:-1}
ha_ctl || e2e_die "control share"
ha_net "$HA_B" || e2e_die "network"
# guest A's knfsd must be up before the lease mount
e2e_wait 300 "guest A's server" test -e "$HA_CTL/server-up" || e2e_die "no server"
ha_gateway 2 "$HA_B" "$HA_A" || { : > "$HA_CTL/b-failed"; e2e_die "gateway 2"; }
: > "$HA_CTL/b-up"
ha_agent b
stop_tcmu_runner
exit 0
