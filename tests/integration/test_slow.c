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
#include <time.h>
#include <unistd.h>

#include "../check.h"
#include "fault_proxy_client.h"
#include "nfs_test_load.h"
#include "tnfs_status.h"
#include "tnfs_transport.h"

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

/*
 * Every COMMIT reply held 6 s, more than half of timeout=10 but within
 * it, the other replies at once (stable=commit: every write waits for a
 * COMMIT).  No command fails and no connection is made again: a write
 * answered while a COMMIT is held waits for the next COMMIT, sent while
 * the first is still held, not for both one after the other.  (Before:
 * every write failed, 32 of 32, and 7 connections in 22 s.)
 */
static void case_slow_commit(void)
{
	struct tnfs_engine_stats s;
	struct load l;
	double t0, t;

	load_open(&l, "slowcommit", "timeout=10&stable=commit");
	load_round(&l);
	test_proxy(l.ctl, "delay-reply commit 6000");
	t0 = test_now_s();
	load_round(&l);
	load_round(&l);
	t = test_now_s() - t0;
	test_proxy(l.ctl, "delay-reply commit 0");
	tnfs_engine_get_stats(l.e, &s);
	CHECK(l.failed == 0, "%d commands failed (last %s) with COMMITs of "
	      "6 s under timeout=10", l.failed,
	      tnfs_status_name(l.last_status));
	CHECK(l.wrong == 0, "%d READs returned wrong bytes", l.wrong);
	CHECK(proxy_stat(&l, "accepted") == 2 &&
	      s.transport.conn_timeouts == 0 && s.transport.rpcs_resent == 0,
	      "%" PRIu64 " connections, %" PRIu64 " dropped as silent, %"
	      PRIu64 " calls sent again", proxy_stat(&l, "accepted"),
	      s.transport.conn_timeouts, s.transport.rpcs_resent);
	printf("slow COMMIT: 2 rounds in %.1f s, %" PRIu64 " COMMITs, %" PRIu64
	       " NULL probes, no command failed\n", t, s.io.commits,
	       s.transport.probes);
	load_close(&l, true);
}

/*
 * COMMIT replies held 8 s, past timeout=4: the writes waiting for them
 * fail retryably at their deadline, each once, without a new connection;
 * the late COMMIT replies are thrown away, and once the server is fast
 * again everything works.  (Before: the connection was dropped as hung
 * at 2 s, and everything it carried sent again.)
 */
static void case_commit_past_timeout(void)
{
	struct tnfs_engine_stats s;
	struct load l;
	double t0, t;

	load_open(&l, "commitlate", "timeout=4&stable=commit");
	load_round(&l);
	test_proxy(l.ctl, "delay-reply commit 8000");
	t0 = test_now_s();
	load_round(&l);
	t = test_now_s() - t0;
	CHECK(l.failed > 0 && l.failed == l.retryable,
	      "%d failed, %d retryably", l.failed, l.retryable);
	CHECK(t >= 3.5 && t < 8, "the round took %.1f s with timeout=4", t);
	test_proxy(l.ctl, "delay-reply commit 0");
	/* the held COMMITs' replies come in, and are thrown away */
	sleep(5);
	l.failed = l.retryable = 0;
	load_round(&l);
	tnfs_engine_get_stats(l.e, &s);
	CHECK(l.failed == 0 && l.wrong == 0, "after: %d failed, %d wrong",
	      l.failed, l.wrong);
	CHECK(proxy_stat(&l, "accepted") == 2 &&
	      s.transport.replies_discarded == 0 &&
	      s.transport.replies_late >= 1, "%" PRIu64 " connections, %"
	      PRIu64 " replies discarded, %" PRIu64 " late",
	      proxy_stat(&l, "accepted"), s.transport.replies_discarded,
	      s.transport.replies_late);
	load_close(&l, true);
}

/*
 * A device idle for longer than the silence that makes a connection
 * dead (counted from the engine's last wake-up, at the round's deadlines
 * of timeout=2), then one command whose reply takes 500 ms: the
 * connection is not
 * taken for dead (its silence counts from the command, not from the
 * last reply before the idle time), no reconnect.  (Before the fix: a
 * command started on its caller's thread was stamped with the engine's
 * clock of before its sleep, and the connection dropped at once.)
 */
static void case_idle_then_one(void)
{
	struct tnfs_engine_stats s0, s1;
	uint64_t accepted;
	struct load l;
	int st;

	load_open(&l, "idle", "timeout=2");
	load_round(&l);
	tnfs_engine_get_stats(l.e, &s0);
	accepted = proxy_stat(&l, "accepted");
	sleep(TNFS_SILENCE_MS / 1000 + 5);
	test_proxy(l.ctl, "delay-reply read 500");
	st = test_io(l.e, TNFS_IO_READ, 0, &(struct iovec){ l.bufs, SLOT },
		     1);
	test_proxy(l.ctl, "delay-reply read 0");
	tnfs_engine_get_stats(l.e, &s1);
	CHECK(st == 0, "the READ after the idle time: %s",
	      tnfs_status_name(st));
	CHECK(s1.transport.conn_timeouts == s0.transport.conn_timeouts &&
	      proxy_stat(&l, "accepted") == accepted, "after %u s idle, one "
	      "READ: %" PRIu64 " connections dropped as dead, %" PRIu64
	      " made", TNFS_SILENCE_MS / 1000 + 5,
	      s1.transport.conn_timeouts - s0.transport.conn_timeouts,
	      proxy_stat(&l, "accepted") - accepted);
#ifndef TNFS_NO_DIRECT_SUBMIT
	CHECK(s1.io.direct > s0.io.direct, "the READ was not started on its "
	      "caller's thread: the case tests nothing");
#endif
	load_close(&l, true);
}

static const struct test_case cases[] = {
	{ "stall_reply", case_stall_reply },
	{ "slow_commit", case_slow_commit },
	{ "commit_past_timeout", case_commit_past_timeout },
	{ "idle_then_one", case_idle_then_one },
};

int main(int argc, char **argv)
{
	return test_run(cases, sizeof(cases) / sizeof(cases[0]), argc, argv,
			check_report, "test_slow");
}
