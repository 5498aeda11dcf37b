// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A server that answers wrongly.  Through nfs_fault_proxy (a FAKE in
 * front of the real ganesha): replies that never decode for one call,
 * every RPC-level refusal on each procedure, a GETATTR check refused, a
 * stream of empty record fragments.  The call is blamed, not the
 * connection; what will never work is not reported as "try again"; and
 * whatever the bytes, connection attempts stay few and the rest goes on.
 *
 * Each case fails on the engine at 419620e, as its comment says.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../check.h"
#include "fault_proxy_client.h"
#include "nfs_test_load.h"
#include "tnfs_status.h"
#include "tnfs_transport.h"

/* The slot's status in the last round, by what load_round recorded. */
static int slot_status(const struct load *l, unsigned int i)
{
	return l->r[i].status;
}

/*
 * Every reply to one block's WRITE (slot 4) is garbled, for ever (4
 * stray bytes, framing intact).  That command fails with
 * TNFS_IO_ERR_GARBLED after one re-send, with one log line naming the
 * WRITE, its offset and count and what was wrong; every other command
 * passes; no connection is made again.  (Before: each garbled reply
 * dropped the connection and re-sent everything on it: ~80
 * connections a second until that command's deadline.)
 */
static void garbled(const char *proc, unsigned int slot, bool write)
{
	char cmd[128], want[96];
	struct tnfs_engine_stats s;
	unsigned int i, bad = 0;
	struct load l;

	load_open(&l, write ? "garbledw" : "garbledr", "timeout=10");
	load_round(&l);
	/* the round where @slot is a write (or a read) */
	while (((l.round + slot) % 3 != 0) != write)
		load_round(&l);
	snprintf(cmd, sizeof(cmd), "garble-reply %s %" PRIu64, proc,
		 (uint64_t)(slot * SLOT));
	test_log_clear();
	test_proxy(l.ctl, cmd);
	l.failed = 0;
	load_round(&l);
	test_proxy(l.ctl, "disarm");
	for (i = 0; i < SLOTS; i++)
		if (slot_status(&l, i))
			bad++;
	CHECK(slot_status(&l, slot) == TNFS_IO_ERR_GARBLED, "slot %u: %s",
	      slot, tnfs_status_name(slot_status(&l, slot)));
	CHECK(bad == 1 && !l.flush.status, "%u commands failed, flush %s",
	      bad, tnfs_status_name(l.flush.status));
	snprintf(want, sizeof(want), "%s at %" PRIu64 "+65536 failed",
		 write ? "WRITE" : "READ", (uint64_t)(slot * SLOT));
	CHECK_CONTAINS(test_log(), want);
	CHECK_CONTAINS(test_log(), "bytes after its end");
	tnfs_engine_get_stats(l.e, &s);
	CHECK(proxy_stat(&l, "accepted") == 2 &&
	      s.transport.transport_errors == 0, "%" PRIu64 " connections, %"
	      PRIu64 " lost for one call's replies",
	      proxy_stat(&l, "accepted"), s.transport.transport_errors);
	CHECK(s.transport.garbled_calls == 1 &&
	      s.transport.replies_discarded == 2, "%" PRIu64 " calls failed, %"
	      PRIu64 " replies discarded", s.transport.garbled_calls,
	      s.transport.replies_discarded);
	l.failed = 0;
	load_round(&l);
	CHECK(l.failed == 0 && l.wrong == 0, "after: %d failed, %d wrong",
	      l.failed, l.wrong);
	load_close(&l, true);
}

static void case_garbled_write(void)
{
	garbled("write", 4, true);
}

static void case_garbled_read(void)
{
	garbled("read", 6, false);
}

/*
 * Each RPC-level refusal (RFC 5531) of a READ, a WRITE and a COMMIT:
 * the command it answers fails with that refusal's own result, not as
 * "no answer" (which Linux would retry for ever); SYSTEM_ERR alone is
 * transient.  (Before: every refusal was the transport error, NOT READY,
 * retryable.)
 */
static void case_refusals(void)
{
	static const struct {
		const char *kind;
		int result;
	} kinds[] = {
		{ "rpc-mismatch", TNFS_IO_ERR_RPC_MISMATCH },
		{ "auth-error", TNFS_IO_ERR_AUTH },
		{ "prog-unavail", TNFS_IO_ERR_PROG_UNAVAIL },
		{ "prog-mismatch", TNFS_IO_ERR_PROG_MISMATCH },
		{ "proc-unavail", TNFS_IO_ERR_PROC_UNAVAIL },
		{ "garbage-args", TNFS_IO_ERR_GARBAGE_ARGS },
		{ "system-err", TNFS_IO_ERR_SYSTEM_ERR },
	};
	static const char *const procs[] = { "read", "write", "commit" };
	unsigned int k, p, i, seen, other;
	char cmd[128];
	struct load l;

	load_open(&l, "refusals", "timeout=10");
	load_round(&l);
	for (p = 0; p < 3; p++) {
		for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
			snprintf(cmd, sizeof(cmd), "reject-reply %s %s 1",
				 procs[p], kinds[k].kind);
			test_proxy(l.ctl, cmd);
			load_round(&l);
			for (i = seen = other = 0; i <= SLOTS; i++) {
				int st = i < SLOTS ? slot_status(&l, i) :
					 l.flush.status;

				if (st == kinds[k].result)
					seen++;
				else if (st)
					other++;
			}
			CHECK(seen >= 1 && other == 0, "%s refused %s: %u "
			      "commands failed with %s, %u otherwise",
			      procs[p], kinds[k].kind, seen,
			      tnfs_status_name(kinds[k].result), other);
			CHECK(tnfs_status_transient(kinds[k].result) ==
			      (kinds[k].result == TNFS_IO_ERR_SYSTEM_ERR),
			      "%s taken as transient", kinds[k].kind);
		}
	}
	CHECK(proxy_stat(&l, "accepted") == 2, "%" PRIu64 " connections for "
	      "refused calls", proxy_stat(&l, "accepted"));
	load_close(&l, false);
}

/*
 * The GETATTR check of a fresh connection refused for good (credentials
 * no longer accepted).  The waiting commands fail at once with that
 * (DATA PROTECT), not after timeout= as if the server were away; an idle
 * device does not knock again and again; once the server accepts again,
 * a new command gets a connection.  (Before: it reconnected about once a
 * second, I/O or not, and the commands failed retryably at timeout=.)
 */
static void case_getattr_refused(void)
{
	uint64_t before;
	struct load l;
	double t0, t;

	load_open(&l, "garefused", "timeout=10");
	load_round(&l);
	test_proxy(l.ctl, "reject-reply getattr auth-error every");
	test_proxy(l.ctl, "cut");
	l.failed = 0;
	t0 = test_now_s();
	load_round(&l);
	t = test_now_s() - t0;
	CHECK(l.failed == SLOTS + 1 && l.retryable == 0 &&
	      l.last_status == TNFS_IO_ERR_AUTH, "refused check: %d failed, "
	      "%d retryably, last %s", l.failed, l.retryable,
	      tnfs_status_name(l.last_status));
	CHECK(t < 5, "the refused commands took %.1f s to fail", t);
	/* idle: no knocking on a server that turned us away */
	before = proxy_stat(&l, "accepted");
	sleep(3);
	CHECK(proxy_stat(&l, "accepted") == before, "%" PRIu64 " connections "
	      "in 3 s idle", proxy_stat(&l, "accepted") - before);
	test_proxy(l.ctl, "disarm");
	l.failed = 0;
	load_round(&l);
	CHECK(l.failed == 0, "after the server accepts again: %d failed "
	      "(last %s)", l.failed, tnfs_status_name(l.last_status));
	load_close(&l, false);
}

/*
 * A peer that streams empty record fragments for ever.  The receiver
 * yields: timers still run (commands end by their deadline, retryably,
 * instead of never), connection attempts stay under the cap (20 in any
 * 10 s), and once the stream stops everything works.  (Before: the
 * engine thread looped in the receive, and nothing else ran.)
 */
static void case_empty_fragments(void)
{
	struct tnfs_engine_stats s0, s1;
	struct test_req r[4];
	unsigned int i, done = 0;
	struct load l;

	load_open(&l, "emptyfrag", "timeout=2");
	load_round(&l);
	tnfs_engine_get_stats(l.e, &s0);
	test_proxy(l.ctl, "empty-fragments");
	for (i = 0; i < 4; i++)
		test_submit(l.e, &r[i], TNFS_IO_READ, (uint64_t)i * SLOT,
			    l.bufs + (size_t)i * SLOT, SLOT, false);
	for (i = 0; i < 4; i++)
		done += test_wait_ms(&r[i], 15000);
	if (done < 4) {
		/* the engine is stuck: closing it would wait for ever */
		CHECK(0, "%u of 4 commands ended with the peer streaming "
		      "empty fragments", done);
		exit(check_report("test_misbehave"));
	}
	sleep(8);
	tnfs_engine_get_stats(l.e, &s1);
	CHECK(s1.transport.connect_attempts - s0.transport.connect_attempts <=
	      TNFS_ATTEMPTS_MAX + 2, "%" PRIu64 " connection attempts in "
	      "about 10 s", s1.transport.connect_attempts -
	      s0.transport.connect_attempts);
	test_proxy(l.ctl, "disarm");
	l.failed = 0;
	load_round(&l);
	CHECK(l.failed == 0 && l.wrong == 0, "after the stream: %d failed, "
	      "%d wrong", l.failed, l.wrong);
	load_close(&l, false);
}

static const struct test_case cases[] = {
	{ "garbled_write", case_garbled_write },
	{ "garbled_read", case_garbled_read },
	{ "refusals", case_refusals },
	{ "getattr_refused", case_getattr_refused },
	{ "empty_fragments", case_empty_fragments },
};

int main(int argc, char **argv)
{
	return test_run(cases, sizeof(cases) / sizeof(cases[0]), argc, argv,
			check_report, "test_misbehave");
}
