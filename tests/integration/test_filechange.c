// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The file behind the device changes on the server: its handle goes
 * stale for a moment, it is replaced, it is truncated; and acknowledged
 * write-back data the server refuses for good.  Through nfs_fault_proxy
 * (a FAKE in front of the real ganesha) and a second NFS client
 * (nfs_test_client.c) that does to the file what another host would.
 *
 * Each case fails on the engine at 419620e, as its comment says.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../check.h"
#include "fault_proxy_client.h"
#include "nfs_test_load.h"
#include "tnfs_status.h"

/* A round in which every command fails for good: the file is gone. */
static void check_gone(struct load *l, const char *when)
{
	l->failed = 0;
	l->retryable = 0;
	load_round(l);
	CHECK(l->failed == SLOTS + 1 && l->retryable == 0 &&
	      l->last_status == TNFS_NFS3ERR_STALE, "%s: %d of %d failed, "
	      "%d retryably, last %s", when, l->failed, SLOTS + 1,
	      l->retryable, tnfs_status_name(l->last_status));
}

/*
 * A stale answer once (the reconnect's GETATTR), then the same file:
 * it is looked up again and the device goes on, no command failing.
 * (Before: every command failed MEDIUM NOT PRESENT, for good.)
 */
static void case_stale_once(void)
{
	struct load l;

	load_open(&l, "staleonce", "timeout=5");
	load_round(&l);
	test_log_clear();
	test_proxy(l.ctl, "error-reply getattr 70");
	test_proxy(l.ctl, "cut");
	load_round(&l);
	load_round(&l);
	CHECK(l.failed == 0, "stale once: %d failed, last %s", l.failed,
	      tnfs_status_name(l.last_status));
	CHECK_CONTAINS(test_log(), "looking");
	CHECK_CONTAINS(test_log(), "the same file again after a stale handle");
	load_close(&l, true);
}

/*
 * The file is replaced on the server (a new file renamed over its path)
 * and the old handle answers stale: the lookup finds another file, and
 * every command fails for good (MEDIUM NOT PRESENT), nothing written to
 * the new file.  (Before: failed too, but without looking: the message
 * could not tell "replaced" from "gone for a moment".)
 */
static void case_stale_replaced(void)
{
	struct stat st;
	char path[512];
	struct load l;

	load_open(&l, "stalerepl", "timeout=5");
	load_round(&l);
	CHECK(test_nfs_replace("export", l.file, DEV) == 0, "replace");
	test_log_clear();
	test_proxy(l.ctl, "error-reply getattr 70");
	test_proxy(l.ctl, "cut");
	load_round(&l);
	CHECK(l.failed == SLOTS + 1 && l.retryable == 0 &&
	      l.last_status == TNFS_NFS3ERR_STALE, "replaced: %d failed, "
	      "%d retryably, last %s", l.failed, l.retryable,
	      tnfs_status_name(l.last_status));
	CHECK_CONTAINS(test_log(), "its path now names another file");
	load_close(&l, false);
	/* the new file holds nothing of ours: still all holes */
	snprintf(path, sizeof(path), "%s/export/%s", test_dir(), l.file);
	CHECK(stat(path, &st) == 0 && st.st_blocks == 0, "the new file got "
	      "%lld blocks written", (long long)st.st_blocks);
}

/*
 * The file is cut to half the device on the server, under load.  A READ
 * of the cut half must not come back as zeros: it fails MEDIUM ERROR
 * (the file is shorter than the device), and the device, checking the
 * file again, fails every command from then on.  (Before: the short
 * READ answered with eof was zero-filled and completed GOOD.)
 */
static void case_truncated(void)
{
	struct load l;
	unsigned int i;
	int st;

	load_open(&l, "trunc", "timeout=5");
	load_round(&l);
	CHECK(test_nfs_truncate("export", l.file, DEV / 2) == 0, "truncate");
	test_log_clear();
	/* a READ of the last slot, past the cut */
	st = test_io(l.e, TNFS_IO_READ, DEV - SLOT,
		     &(struct iovec){ l.bufs, SLOT }, 1);
	CHECK(st == TNFS_IO_ERR_SHRUNK || st == TNFS_NFS3ERR_STALE,
	      "read past the cut: %s", tnfs_status_name(st));
	for (i = 0; i < SLOT && st == 0; i++)
		CHECK(l.bufs[i] == 0, "zeros returned as data");
	CHECK_CONTAINS(test_log(), "below the device's end");
	/* whatever comes after, nothing is GOOD from the cut file */
	l.failed = 0;
	load_round(&l);
	CHECK(l.failed == SLOTS + 1 && l.wrong == 0, "after the cut: %d of "
	      "%d failed, %d wrong", l.failed, SLOTS + 1, l.wrong);
	load_close(&l, false);
}

/* Before the COMMIT that finds the write lost: refuse its re-send. */
static char lost_ctl[512];
static bool lost_armed;

static void refuse_resend_hook(void *arg, unsigned int pieces)
{
	(void)arg;
	if (!pieces || lost_armed)
		return;
	lost_armed = true;
	test_proxy(lost_ctl, "error-reply write 28");
}

/*
 * Write-back: a write is acknowledged, the server then loses it (a new
 * verifier) and refuses the re-send for good (NOSPC).  The data is not
 * on the server: every SYNCHRONIZE CACHE fails, not just the next, and
 * a counter says how many bytes; once newer data is written over the
 * range and is stable, flushes succeed again.  (Before: only the next
 * flush failed, the ones after pretended all was written.)
 */
static void case_writeback_lost(void)
{
	const char *f = test_file("export", "wblost", 2 * SLOT, 0, 0, 0, 0644);
	unsigned char *buf = malloc(SLOT);
	struct tnfs_engine_stats s;
	char *ctl = lost_ctl, err[512], *cfg;
	struct tnfs_engine *e;
	struct iovec iov = { buf, SLOT };
	int port;

	port = test_proxy_start(ctl, sizeof(lost_ctl));
	if (asprintf(&cfg, "127.0.0.1/export/%s?mountport=20048&nfsport=%d"
		     "&cache=writeback", f, port) < 0)
		abort();
	if (test_engine_open(cfg, 2 * SLOT, 4096, &e, err, sizeof(err))) {
		fprintf(stderr, "FAIL open: %s\n", err);
		exit(1);
	}
	free(cfg);
	tnfs_engine_set_commit_hook(e, refuse_resend_hook, NULL);
	test_fill(buf, SLOT, 77);
	test_proxy(ctl, "lose-writes all");
	CHECK(test_io(e, TNFS_IO_WRITE, 0, &iov, 1) == 0, "write-back write");
	CHECK(test_io(e, TNFS_IO_FLUSH, 0, NULL, 0) == TNFS_IO_ERR_LOST,
	      "first flush after the loss");
	test_proxy(ctl, "disarm");
	CHECK(test_io(e, TNFS_IO_FLUSH, 0, NULL, 0) == TNFS_IO_ERR_LOST,
	      "a later flush pretends the data was written");
	tnfs_engine_get_stats(e, &s);
	CHECK(s.io.lost_bytes == SLOT && s.io.lost_bytes_total == SLOT,
	      "lost bytes %" PRIu64 " (total %" PRIu64 ")", s.io.lost_bytes,
	      s.io.lost_bytes_total);
	/* newer data over the whole range, made stable: mended */
	test_fill(buf, SLOT, 78);
	CHECK(test_io(e, TNFS_IO_WRITE, 0, &iov, 1) == 0, "write again");
	CHECK(test_io(e, TNFS_IO_FLUSH, 0, NULL, 0) == 0, "flush after the "
	      "range was written again");
	tnfs_engine_get_stats(e, &s);
	CHECK(s.io.lost_bytes == 0, "%" PRIu64 " bytes still lost",
	      s.io.lost_bytes);
	tnfs_engine_close(e);
	test_proxy_stop(ctl);
	free(buf);
}

/*
 * Fenced (another gateway owns the disk): every command in flight and
 * every new one fails with TNFS_IO_ERR_FENCED, no connection is made
 * while fenced, and once the fence is lifted the disk works again.
 * (New: the engine at 419620e had no fence.)
 */
static void case_fenced(void)
{
	struct tnfs_engine_stats s0, s1;
	uint64_t accepted;
	struct load l;
	int st;

	load_open(&l, "fenced", "timeout=5");
	load_round(&l);
	/* replies held: the fence finds calls on the connection */
	test_proxy(l.ctl, "delay 2000");
	l.failed = 0;
	{
		unsigned int i;

		for (i = 0; i < SLOTS; i++)
			test_submit(l.e, &l.r[i], TNFS_IO_READ,
				    (uint64_t)i * SLOT, l.bufs + i * SLOT,
				    SLOT, false);
		tnfs_engine_fence(l.e, TNFS_IO_ERR_FENCED);
		for (i = 0; i < SLOTS; i++) {
			st = test_wait(&l.r[i]);
			if (st == TNFS_IO_ERR_FENCED)
				l.failed++;
		}
	}
	CHECK(l.failed == SLOTS, "%d of %d in flight failed fenced",
	      l.failed, SLOTS);
	test_proxy(l.ctl, "delay 0");
	tnfs_engine_get_stats(l.e, &s0);
	accepted = proxy_stat(&l, "accepted");
	st = test_io(l.e, TNFS_IO_WRITE, 0, &(struct iovec){ l.bufs, SLOT },
		     1);
	CHECK(st == TNFS_IO_ERR_FENCED, "write while fenced: %s",
	      tnfs_status_name(st));
	sleep(2);
	tnfs_engine_get_stats(l.e, &s1);
	CHECK(proxy_stat(&l, "accepted") == accepted &&
	      s1.transport.connect_attempts == s0.transport.connect_attempts,
	      "connections tried while fenced");
	tnfs_engine_fence(l.e, 0);
	l.failed = 0;
	load_round(&l);
	CHECK(l.failed == 0 && l.wrong == 0, "after the fence: %d failed, "
	      "%d wrong", l.failed, l.wrong);
	load_close(&l, true);
}

/*
 * One READ answered short with eof, as if the file had shrunk under it,
 * while the file keeps its size.  That READ fails MEDIUM ERROR (its data
 * is not all there: zeros would be a lie), the file is checked again and,
 * its size being whole, the device goes on.  (Before: the missing half
 * was zero-filled and the READ completed GOOD.)
 */
static void case_short_read(void)
{
	struct load l;

	load_open(&l, "shortread", "timeout=5");
	load_round(&l);
	test_log_clear();
	fault_round(&l, "short-read any 1");
	CHECK(l.failed == 1 && l.last_status == TNFS_IO_ERR_SHRUNK &&
	      l.wrong == 0, "short READ: %d failed (last %s), %d wrong",
	      l.failed, tnfs_status_name(l.last_status), l.wrong);
	CHECK_CONTAINS(test_log(), "below the device's end");
	l.failed = 0;
	load_round(&l);
	load_round(&l);
	CHECK(l.failed == 0 && l.wrong == 0, "after the recheck: %d failed "
	      "(last %s), %d wrong", l.failed,
	      tnfs_status_name(l.last_status), l.wrong);
	load_close(&l, true);
}

/*
 * Every call on the handle answers stale for 2 s (a server failing over
 * its export), then the same file again.  Inside timeout=8 the device
 * waits it out: no command fails.  (Before: the first stale answer failed
 * every command for good.)
 */
static void case_stale_for_a_while(void)
{
	struct load l;

	load_open(&l, "stalefor", "timeout=8");
	load_round(&l);
	test_log_clear();
	test_proxy(l.ctl, "stale-for 2000");
	l.failed = 0;
	load_round(&l);
	load_round(&l);
	CHECK(l.failed == 0 && l.wrong == 0, "stale for 2 s: %d failed "
	      "(last %s), %d wrong", l.failed,
	      tnfs_status_name(l.last_status), l.wrong);
	CHECK_CONTAINS(test_log(), "the same file again after a stale handle");
	load_close(&l, true);
}

/*
 * Stale for longer than the grace (timeout=3): the device gives up, for
 * good (MEDIUM NOT PRESENT), and says why; it does not go on retrying a
 * file that is gone.  (Before: the same failure, at the first stale
 * answer.)
 */
static void case_stale_for_good(void)
{
	struct load l;
	double t0, t;

	load_open(&l, "stalegood", "timeout=3");
	load_round(&l);
	test_log_clear();
	test_proxy(l.ctl, "stale-for 30000");
	l.failed = 0;
	t0 = test_now_s();
	load_round(&l);
	t = test_now_s() - t0;
	/* by their deadline (retryably), or for good once given up */
	CHECK(l.failed == SLOTS + 1, "stale for good: %d failed, last %s",
	      l.failed, tnfs_status_name(l.last_status));
	CHECK(t < 20, "stale for good: the commands took %.1f s to fail", t);
	CHECK_CONTAINS(test_log(), "looking");
	/* the lookup goes through the proxy too: it finds nothing */
	CHECK(test_log_wait("every command fails from now on", 30000),
	      "no giving up after 30 s of stale answers: %s", test_log());
	CHECK_CONTAINS(test_log(), "stale handle for");
	/* for good: a server that answers again changes nothing */
	test_proxy(l.ctl, "stale-for 0");
	check_gone(&l, "after giving up");
	load_close(&l, false);
}

/*
 * Reads and writes answered stale while GETATTR (the lookup's and the
 * device's own) finds the file well: looked up and "found" again and
 * again.  The first round's commands end by their deadline (timeout=3,
 * retryably: the grace is not over yet); the next round's first stale
 * answer, past the grace of the same episode, gives up for good and
 * says the file is there.  (Before: failed at the first stale answer;
 * and without the episode kept across lookups, the device would retry
 * for ever, each command failing retryably at timeout=.)
 */
static void case_stale_io_for_good(void)
{
	struct load l;

	load_open(&l, "staleio", "timeout=3");
	load_round(&l);
	test_log_clear();
	test_proxy(l.ctl, "stale-for 60000 io");
	l.failed = 0;
	load_round(&l);
	CHECK(l.failed == SLOTS + 1, "stale reads and writes: %d of %d "
	      "failed", l.failed, SLOTS + 1);
	CHECK_CONTAINS(test_log(), "the same file again after a stale handle");
	check_gone(&l, "past the grace");
	CHECK_CONTAINS(test_log(), "though the file is there");
	test_proxy(l.ctl, "stale-for 0");
	check_gone(&l, "after giving up");
	load_close(&l, false);
}

static const struct test_case cases[] = {
	{ "stale_once", case_stale_once },
	{ "stale_replaced", case_stale_replaced },
	{ "truncated", case_truncated },
	{ "writeback_lost", case_writeback_lost },
	{ "fenced", case_fenced },
	{ "short_read", case_short_read },
	{ "stale_for_a_while", case_stale_for_a_while },
	{ "stale_for_good", case_stale_for_good },
	{ "stale_io_for_good", case_stale_io_for_good },
};

int main(int argc, char **argv)
{
	return test_run(cases, sizeof(cases) / sizeof(cases[0]), argc, argv,
			check_report, "test_filechange");
}
