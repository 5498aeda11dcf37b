// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A slow server is not a dead one.  Through nfs_fault_proxy (a FAKE in
 * front of the real ganesha) replies are held back, and the engine must
 * wait for them as long as each command may (timeout=, counted from the
 * command's arrival), keep the connection that is merely slow, fail at
 * the deadline what ran out of time (retryably, once), and throw the
 * late replies away without taking them for garbage.
 *
 * Each case fails on the engine before "liveness by progress" (at
 * 419620e): it declared a connection hung when its oldest call was half
 * of timeout= old, dropped it and sent everything again.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdlib.h>
#include <unistd.h>

#include "../check.h"
#include "fault_proxy_client.h"
#include "nfs_test_load.h"
#include "tnfs_status.h"

/*
 * The server stalls part-way through a READ reply for 4 s, twice
 * timeout=, then sends the rest.  The commands of that round fail
 * retryably at their deadline; the connection stays (it is slow, not
 * dead): no reconnect, and the rest of the stalled reply and the late
 * replies are thrown away, not taken for a broken stream.  (Before: the
 * connection was dropped as hung and every call sent again.)
 */
static void case_stall_reply(void)
{
	struct tnfs_engine_stats s;
	uint64_t accepted;
	struct load l;

	load_open(&l, "stall", "timeout=2");
	load_round(&l);
	fault_round(&l, "stall-reply read 1000 4000");
	CHECK(l.failed == l.retryable, "%d of %d failures not retryable",
	      l.failed - l.retryable, l.failed);
	l.failed = l.retryable = 0;
	/* the stalled rest and the late replies arrive meanwhile */
	sleep(3);
	load_round(&l);
	load_round(&l);
	tnfs_engine_get_stats(l.e, &s);
	accepted = proxy_stat(&l, "accepted");
	CHECK(l.failed == 0, "%d commands failed after the stall (last %s)",
	      l.failed, tnfs_status_name(l.last_status));
	CHECK(l.wrong == 0, "%d READs returned wrong bytes", l.wrong);
	CHECK(s.transport.conn_timeouts == 0 &&
	      s.transport.transport_errors == 0 && accepted == 2,
	      "the slow connection was dropped (%" PRIu64 " timeouts, %"
	      PRIu64 " lost, %" PRIu64 " connections)",
	      s.transport.conn_timeouts, s.transport.transport_errors,
	      accepted);
	CHECK(s.transport.replies_late >= 1 &&
	      s.transport.replies_discarded == 0, "late replies: %" PRIu64
	      " thrown away, %" PRIu64 " taken for garbage",
	      s.transport.replies_late, s.transport.replies_discarded);
	printf("stall: %" PRIu64 " late replies thrown away, %" PRIu64
	       " NULL probes, connection kept\n", s.transport.replies_late,
	       s.transport.probes);
	load_close(&l, true);
}

static const struct test_case cases[] = {
	{ "stall_reply", case_stall_reply },
};

int main(int argc, char **argv)
{
	return test_run(cases, sizeof(cases) / sizeof(cases[0]), argc, argv,
			check_report, "test_slow");
}
