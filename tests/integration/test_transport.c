// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The engine's own transport (handler/tnfs_transport.c) against faults
 * that nfs_fault_proxy (a FAKE, fault-injecting proxy in front of the real
 * ganesha) makes happen on demand: connections reset part-way through a
 * reply or a call, stalled and corrupted replies, error replies, a short
 * WRITE followed by a verifier change, a server that stays down, a file
 * handle that went stale.  Under a verifying load of 48 concurrent mixed
 * commands, every byte read must be the last acknowledged one and every
 * acknowledged write must end on the server's disk.
 *
 * The mid-reply cut is what made libnfs 4.0's own reconnect complete a
 * READ GOOD with bytes from two streams and then reconnect without end.
 * On the engine before its transport was its own (commit 8927878, libnfs
 * auto-reconnect), TEST_CUT="cut-reply read 32768" test_transport
 * cut_reply failed: one READ completed GOOD with wrong bytes, 95 commands
 * failed, and the proxy counted 19656 connections for that one cut.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "../check.h"
#include "fault_proxy_client.h"
#include "tnfs_status.h"
#include "nfs_test_load.h"

/*
 * Connections reset after N bytes of a READ, WRITE and COMMIT reply, N
 * swept across the record marker, the RPC header and the data, and after
 * N bytes of a call.  The server answers again at once: no command may
 * fail, and each cut costs about one new connection.
 */
static void case_cut_reply(void)
{
	static const char *const cuts[] = {
		"cut-reply read 2", "cut-reply read 16", "cut-reply read 40",
		"cut-reply read 130", "cut-reply read 1000",
		"cut-reply read 32768", "cut-reply read 65600",
		"cut-reply write 2", "cut-reply write 30",
		"cut-reply write 100", "cut-reply write 150",
		"cut-reply commit 2", "cut-reply commit 30",
		"cut-reply commit 100",
		"cut-call write 2", "cut-call write 200",
		"cut-call write 40000", "cut-call read 60",
		"cut-call commit 100",
	};
	/* TEST_CUT="cut-reply read 32768" runs that one cut alone */
	const char *only = getenv("TEST_CUT");
	unsigned int n = sizeof(cuts) / sizeof(cuts[0]), i;
	struct tnfs_engine_stats s;
	struct load l;
	uint64_t accepted;

	load_open(&l, "cutreply", "timeout=10");
	load_round(&l);
	for (i = 0; i < n; i++) {
		if (only && strcmp(only, cuts[i]))
			continue;
		fault_round(&l, cuts[i]);
		load_round(&l);
	}
	if (only)
		n = 1;
	tnfs_engine_get_stats(l.e, &s);
	accepted = proxy_stat(&l, "accepted");
	CHECK(l.failed == 0, "%d commands failed (last %s) although the "
	      "server answered again at once", l.failed,
	      tnfs_status_name(l.last_status));
	CHECK(l.wrong == 0, "%d READs returned wrong bytes", l.wrong);
	CHECK(s.transport.reconnects >= n, "%" PRIu64 " reconnects for %u cuts",
	      s.transport.reconnects, n);
	/* the open's own libnfs connection, ours, one per cut, some slack */
	CHECK(accepted <= 2 + n + n / 2, "%" PRIu64 " connections for %u "
	      "cuts", accepted, n);
	printf("cut sweep: %u cuts, %u rounds of %d commands, %" PRIu64
	       " connections, %" PRIu64 " reconnects, %" PRIu64 " calls sent "
	       "again, %" PRIu64 " replies discarded, %d failed\n",
	       n, l.round, SLOTS, accepted, s.transport.reconnects,
	       s.transport.rpcs_resent, s.transport.replies_discarded,
	       l.failed);
	load_close(&l, true);
}

/*
 * A reply whose record length or XID was corrupted: nothing more is read
 * from that connection, the calls go again on a new one.
 */
static void case_corrupt_reply(void)
{
	static const char *const faults[] = {
		"corrupt-reply read length", "corrupt-reply read xid",
		"corrupt-reply write length", "corrupt-reply write xid",
		"corrupt-reply commit xid",
	};
	const unsigned int n = sizeof(faults) / sizeof(faults[0]);
	struct tnfs_engine_stats s;
	struct load l;
	unsigned int i;

	load_open(&l, "corrupt", "timeout=10");
	load_round(&l);
	for (i = 0; i < n; i++) {
		fault_round(&l, faults[i]);
		load_round(&l);
	}
	tnfs_engine_get_stats(l.e, &s);
	CHECK(l.failed == 0, "%d commands failed (last %s)", l.failed,
	      tnfs_status_name(l.last_status));
	CHECK(l.wrong == 0, "%d READs returned wrong bytes", l.wrong);
	/* a longer record may end in a later reply's bytes: garbled */
	CHECK(s.transport.replies_discarded >= n,
	      "%" PRIu64 " replies discarded for "
	      "%u corrupted",
	      s.transport.replies_discarded, n);
	CHECK(s.transport.reconnects >= n, "%" PRIu64 " reconnects",
	      s.transport.reconnects);
	printf("corrupt: %u faults, %" PRIu64 " replies discarded, %" PRIu64
	       " reconnects\n",
	       n, s.transport.replies_discarded, s.transport.reconnects);
	load_close(&l, true);
}

/*
 * The same corrupted lengths on the only reply the server has to send:
 * no later reply fills the record, so its end never comes.  The length
 * alone says it is garbled (longer than any reply to its call); the call
 * goes again at once.  On the engine that waited for the record's end,
 * each command failed at its deadline (timeout=10) before the
 * connection's 20 s of silence were up.
 */
static void corrupt_alone(const char *keys)
{
	static const struct {
		const char *fault;
		enum tnfs_io_op op;
	} faults[] = {
		{ "corrupt-reply write length", TNFS_IO_WRITE },
		{ "corrupt-reply read length", TNFS_IO_READ },
		{ "corrupt-reply commit length", TNFS_IO_FLUSH },
	};
	const unsigned int n = sizeof(faults) / sizeof(faults[0]);
	unsigned char *buf = malloc(SLOT);
	struct iovec v = { .iov_base = buf, .iov_len = SLOT };
	struct tnfs_engine_stats s;
	uint64_t fired;
	struct load l;
	unsigned int i;
	int st;

	load_open(&l, "corruptalone", keys);
	test_log_clear();
	for (i = 0; i < n; i++) {
		fired = proxy_stat(&l, "faults_fired");
		test_fill(buf, SLOT, 100 + i);
		/* a COMMIT needs something to commit */
		if (faults[i].op == TNFS_IO_FLUSH)
			CHECK(test_io(l.e, TNFS_IO_WRITE, 0, &v, 1) == 0,
			      "the WRITE before the COMMIT failed");
		test_proxy(l.ctl, faults[i].fault);
		st = test_io(l.e, faults[i].op, 0,
			     faults[i].op == TNFS_IO_FLUSH ? NULL : &v,
			     faults[i].op == TNFS_IO_FLUSH ? 0 : 1);
		CHECK(st == 0, "'%s' alone: the command failed (%s)",
		      faults[i].fault, tnfs_status_name(st));
		CHECK(proxy_stat(&l, "faults_fired") == fired + 1,
		      "'%s' did not fire", faults[i].fault);
		/* a READ must see the last write; the others are it */
		if (faults[i].op == TNFS_IO_READ)
			CHECK(!memcmp(buf, l.shadow, SLOT), "'%s' alone: the "
			      "READ returned wrong bytes", faults[i].fault);
		else
			memcpy(l.shadow, buf, SLOT);
	}
	tnfs_engine_get_stats(l.e, &s);
	CHECK(s.transport.reconnects >= n, "%" PRIu64 " reconnects for %u "
	      "corrupted lengths", s.transport.reconnects, n);
	CHECK(s.transport.garbled_calls == 0, "%" PRIu64 " calls failed "
	      "garbled for one bad reply each", s.transport.garbled_calls);
	CHECK_CONTAINS(test_log(), "where the longest it can be is");
	printf("corrupt alone (%s): %u faults, %" PRIu64 " reconnects, %"
	       PRIu64 " replies discarded\n", keys, n,
	       s.transport.reconnects, s.transport.replies_discarded);
	free(buf);
	load_close(&l, true);
}

static void case_corrupt_alone(void)
{
	corrupt_alone("timeout=10");
}

static void case_corrupt_alone_v41(void)
{
	corrupt_alone("vers=4.1&timeout=10");
}

static void case_corrupt_alone_share(void)
{
	corrupt_alone("share=1&timeout=10");
	corrupt_alone("share=1&vers=4.1&timeout=10");
}

/*
 * A 64 KiB READ reply that comes in two parts, the second well within
 * the hang timeout, split in the RPC header, the attributes, the data,
 * near its end, one byte before the end.  Once the head is in, the rest
 * of the data is received straight into the command's buffer
 * (read_bytes_placed); every READ returns the last acknowledged bytes,
 * and no connection is lost.
 */
static void case_split_reply(void)
{
	static const struct {
		const char *fault;
		bool placed;	/* the first part holds the whole head */
	} splits[] = {
		{ "stall-reply read 10 200", false },
		{ "stall-reply read 100 200", false },
		{ "stall-reply read 20000 200", true },
		{ "stall-reply read 65600 200", true },
		{ "stall-reply read 65663 200", true },
	};
	const unsigned int n = sizeof(splits) / sizeof(splits[0]);
	struct tnfs_engine_stats s;
	uint64_t before;
	struct load l;
	unsigned int i;

	load_open(&l, "split", "timeout=10");
	load_round(&l);
	for (i = 0; i < n; i++) {
		tnfs_engine_get_stats(l.e, &s);
		before = s.transport.read_bytes_placed;
		fault_round(&l, splits[i].fault);
		tnfs_engine_get_stats(l.e, &s);
		CHECK(!splits[i].placed ||
			      s.transport.read_bytes_placed >= before + SLOT,
		      "%s: no READ data received in place (%" PRIu64
		      " -> %" PRIu64 " bytes)",
		      splits[i].fault, before, s.transport.read_bytes_placed);
		load_round(&l);
	}
	tnfs_engine_get_stats(l.e, &s);
	CHECK(l.failed == 0, "%d commands failed (last %s)", l.failed,
	      tnfs_status_name(l.last_status));
	CHECK(l.wrong == 0, "%d READs returned wrong bytes", l.wrong);
	CHECK(s.transport.transport_errors == 0 &&
		      s.transport.replies_discarded == 0,
	      "%" PRIu64 " connections lost, %" PRIu64 " replies discarded",
	      s.transport.transport_errors, s.transport.replies_discarded);
	printf("split: %u splits, %" PRIu64 " of %" PRIu64 " READ bytes "
	       "received in place\n",
	       n, s.transport.read_bytes_placed, s.transport.read_bytes);
	load_close(&l, true);
}

/*
 * The server answers with errors: COMMIT NFS3ERR_IO fails the writes it
 * covered with a write error; NFS3ERR_JUKEBOX fails them retryably.
 */
static void case_error_reply(void)
{
	struct load l;

	load_open(&l, "errreply", "timeout=10");
	load_round(&l);
	fault_round(&l, "error-reply commit 5");
	CHECK(l.failed > 0 && l.retryable == 0 && l.last_status == 5,
	      "COMMIT NFS3ERR_IO: %d failed, %d retryably, last %s",
	      l.failed, l.retryable, tnfs_status_name(l.last_status));
	l.failed = 0;
	fault_round(&l, "error-reply commit 10008");
	CHECK(l.failed > 0 && l.retryable == l.failed,
	      "COMMIT NFS3ERR_JUKEBOX: %d failed, %d retryably", l.failed,
	      l.retryable);
	l.failed = l.retryable = 0;
	fault_round(&l, "error-reply read 5");
	CHECK(l.failed == 1 && l.last_status == 5, "READ NFS3ERR_IO: %d "
	      "failed, last %s", l.failed, tnfs_status_name(l.last_status));
	l.failed = 0;
	load_round(&l);
	CHECK(l.failed == 0 && l.wrong == 0, "after the errors: %d failed, "
	      "%d wrong", l.failed, l.wrong);
	load_close(&l, true);
}

/*
 * A WRITE answered short, and every reply after it with a new verifier
 * (the server restarted in between): the whole piece goes again, and the
 * command completes only once the new verifier's COMMIT covers it.
 */
static void case_short_write(void)
{
	struct tnfs_engine_stats s;
	struct load l;

	load_open(&l, "shortw", "timeout=10");
	load_round(&l);
	fault_round(&l, "short-write");
	load_round(&l);
	tnfs_engine_get_stats(l.e, &s);
	CHECK(l.failed == 0, "%d commands failed", l.failed);
	CHECK(l.wrong == 0, "%d READs returned wrong bytes", l.wrong);
	CHECK(s.io.resends >= 1, "nothing re-sent after the verifier changed");
	printf("short write: %" PRIu64 " pieces re-sent\n", s.io.resends);
	test_proxy(l.ctl, "disarm");
	load_close(&l, true);
}

static int ganesha_fds(void)
{
	char path[512], pid[32] = "";
	struct dirent *de;
	FILE *f;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "%s/ganesha.pid", test_dir());
	f = fopen(path, "r");
	if (!f || !fgets(pid, sizeof(pid), f)) {
		if (f)
			fclose(f);
		return -1;
	}
	fclose(f);
	pid[strcspn(pid, "\n")] = '\0';
	snprintf(path, sizeof(path), "/proc/%s/fd", pid);
	d = opendir(path);
	if (!d)
		return -1;
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

struct bg_round {
	struct load *l;
	pthread_t thread;
};

static void *bg_round(void *arg)
{
	load_round(((struct bg_round *)arg)->l);
	return NULL;
}

/*
 * The server is down for 10 s under load (the proxy still accepts, and
 * closes each connection at once for want of its upstream).  The engine
 * must back off: a few dozen attempts, not thousands; once the server is
 * back, every command waiting within timeout= completes.
 */
static void case_server_down(void)
{
	struct tnfs_engine_stats s0, s;
	struct bg_round bg;
	struct load l;
	uint64_t acc0, acc;
	int fds0, fds;

	load_open(&l, "down", "timeout=25");
	load_round(&l);
	fds0 = ganesha_fds();
	tnfs_engine_get_stats(l.e, &s0);
	acc0 = proxy_stat(&l, "accepted");
	test_server("kill9");
	test_proxy(l.ctl, "cut");
	bg.l = &l;
	pthread_create(&bg.thread, NULL, bg_round, &bg);
	sleep(10);
	acc = proxy_stat(&l, "accepted") - acc0;
	test_server("start");
	pthread_join(bg.thread, NULL);
	tnfs_engine_get_stats(l.e, &s);
	fds = ganesha_fds();
	CHECK(acc >= 3 && acc <= 40, "%" PRIu64 " connection attempts in "
	      "10 s of outage", acc);
	CHECK(l.failed == 0, "%d commands failed although the server came "
	      "back within timeout= (last %s)", l.failed,
	      tnfs_status_name(l.last_status));
	CHECK(l.wrong == 0, "%d READs returned wrong bytes", l.wrong);
	load_round(&l);
	CHECK(fds >= 0 && fds <= fds0 + 10, "ganesha holds %d descriptors "
	      "(%d before the outage)", fds, fds0);
	printf("server down 10 s: %" PRIu64 " connection attempts (engine "
	       "counted %" PRIu64 "), ganesha %d fds after (%d before)\n",
	       acc,
	       s.transport.connect_attempts - s0.transport.connect_attempts,
	       fds, fds0);
	load_close(&l, true);
}

/*
 * nconnect=4: calls spread over four connections; a cut of one (mid-READ,
 * mid-WRITE reply, mid-call) while the others live fails no command, and
 * COMMITs still cover only writes answered on whichever connection.
 */
static void case_nconnect(void)
{
	static const char *const cuts[] = {
		"cut-reply read 32768", "cut-reply write 100",
		"cut-call write 40000", "cut-reply commit 30",
	};
	const unsigned int n = sizeof(cuts) / sizeof(cuts[0]);
	struct tnfs_engine_stats s;
	struct load l;
	uint64_t accepted;
	unsigned int i;

	load_open(&l, "nconn", "timeout=10&nconnect=4");
	load_round(&l);
	load_round(&l);
	accepted = proxy_stat(&l, "accepted");
	/* libnfs's open-time connection, then the engine's four */
	CHECK(accepted == 5, "%" PRIu64 " connections with nconnect=4",
	      accepted);
	for (i = 0; i < n; i++) {
		fault_round(&l, cuts[i]);
		load_round(&l);
	}
	/* the others carried the load: the cut one comes back in its time */
	for (i = 0; i < 100; i++) {
		tnfs_engine_get_stats(l.e, &s);
		if (s.transport.reconnects >= n)
			break;
		usleep(100 * 1000);
	}
	accepted = proxy_stat(&l, "accepted");
	CHECK(l.failed == 0, "%d commands failed (last %s)", l.failed,
	      tnfs_status_name(l.last_status));
	CHECK(l.wrong == 0, "%d READs returned wrong bytes", l.wrong);
	CHECK(s.transport.reconnects == n && accepted == 5 + n, "%" PRIu64
	      " reconnects, %" PRIu64 " connections for %u cuts of one "
	      "connection", s.transport.reconnects, accepted, n);
	printf("nconnect=4: %u cuts, %" PRIu64 " reconnects, %" PRIu64
	       " calls sent again, peak %" PRIu64 " RPCs in flight\n", n,
	       s.transport.reconnects, s.transport.rpcs_resent,
	       s.transport.peak_rpcs_in_flight);
	load_close(&l, true);
}

static const struct test_case cases[] = {
	{ "cut_reply", case_cut_reply },
	{ "corrupt_reply", case_corrupt_reply },
	{ "corrupt_alone", case_corrupt_alone },
	{ "corrupt_alone_v41", case_corrupt_alone_v41 },
	{ "corrupt_alone_share", case_corrupt_alone_share },
	{ "split_reply", case_split_reply },
	{ "error_reply", case_error_reply },
	{ "short_write", case_short_write },
	{ "server_down", case_server_down },
	{ "nconnect", case_nconnect },
};

int main(int argc, char **argv)
{
	return test_run(cases, sizeof(cases) / sizeof(cases[0]), argc, argv,
			check_report, "test_transport");
}
