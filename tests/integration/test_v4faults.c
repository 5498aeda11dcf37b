// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * NFSv4.1 through nfs_fault_proxy (a FAKE in front of the real ganesha,
 * which counts each COMPOUND as the v3 procedure of its READ, WRITE or
 * COMMIT): replies and calls cut at every depth, a stalled reply, a
 * reply that never decodes, and SEQUENCE answered NFS4ERR_DELAY, GRACE
 * and BADSESSION, each under the verifying load of nfs_test_load.c;
 * EXCHANGE_ID answered DELAY at a device's open.
 * What a session adds to a cut is the slot: the call sent again must
 * reach the server as the same slot and sequence (a replay it answers
 * from its cache) or the next, never one that is refused as misordered
 * or lost; and nothing acknowledged may be lost on the server's disk.
 * One case: test_v4faults CASE.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../check.h"
#include "nfs_test_load.h"
#include "tnfs_status.h"

#define V4	"vers=4.1&timeout=10"

/* Cuts of the reply and of the call, at the depths v3's sweep uses. */
static void case_cuts(void)
{
	static const char *const cuts[] = {
		"cut-reply read 2", "cut-reply read 40", "cut-reply read 200",
		"cut-reply read 32768", "cut-reply write 2",
		"cut-reply write 100", "cut-reply commit 2",
		"cut-reply commit 100", "cut-call write 2",
		"cut-call write 200", "cut-call write 40000",
		"cut-call read 60", "cut-call commit 100",
		"stall-reply write 100 2000",
	};
	unsigned int n = sizeof(cuts) / sizeof(cuts[0]), i;
	struct tnfs_engine_stats s;
	struct load l;

	load_open(&l, "v4cut", V4);
	load_round(&l);
	for (i = 0; i < n; i++) {
		fault_round(&l, cuts[i]);
		load_round(&l);
	}
	tnfs_engine_get_stats(l.e, &s);
	CHECK(l.failed == 0, "%d commands failed (last %s) although the "
	      "server answered again at once", l.failed,
	      tnfs_status_name(l.last_status));
	CHECK(l.wrong == 0, "%d READs returned wrong bytes", l.wrong);
	/* the stall does not cut: a reconnect for each of the others */
	CHECK(s.transport.reconnects >= n - 1, "%" PRIu64 " reconnects for "
	      "%u cuts", s.transport.reconnects, n - 1);
	printf("v4.1 cuts: %u faults, %u rounds of %d commands, %" PRIu64
	       " connections, %" PRIu64 " reconnects, %" PRIu64 " calls sent "
	       "again\n", n, l.round, SLOTS, proxy_stat(&l, "accepted"),
	       s.transport.reconnects, s.transport.rpcs_resent);
	load_close(&l, true);
}

/*
 * SEQUENCE refused: DELAY and GRACE are waited out and the call sent
 * again (the slot not consumed); BADSESSION makes a new session, on
 * which the calls go again.  No command fails, nothing is lost.
 */
static void case_seq_errors(void)
{
	static const char *const errs[] = {
		"error-reply write 10008 3",	/* NFS4ERR_DELAY */
		"error-reply commit 10008",
		/* GRACE is an op's answer: the server ran the call */
		"error-reply read 10013 2",	/* NFS4ERR_GRACE */
		"error-reply write 10013",
		"error-reply commit 10013",
		"error-reply write 10052",	/* NFS4ERR_BADSESSION */
		"error-reply commit 10052",
		"error-reply read 10052",
	};
	unsigned int n = sizeof(errs) / sizeof(errs[0]), i;
	uint64_t fired;
	struct load l;

	load_open(&l, "v4seq", V4);
	load_round(&l);
	test_log_clear();
	for (i = 0; i < n; i++) {
		fired = proxy_stat(&l, "faults_fired");
		test_proxy(l.ctl, errs[i]);
		load_round(&l);
		load_round(&l);
		test_proxy(l.ctl, "disarm");
		CHECK(proxy_stat(&l, "faults_fired") > fired, "'%s' did not "
		      "fire", errs[i]);
		CHECK(l.failed == 0, "after '%s': %d commands failed (last "
		      "%s)", errs[i], l.failed,
		      tnfs_status_name(l.last_status));
	}
	CHECK(l.wrong == 0, "%d READs returned wrong bytes", l.wrong);
	CHECK_CONTAINS(test_log(), "NFSv4.1 session lost (its SEQUENCE "
		       "answered NFS4ERR_BADSESSION): setting up a new one");
	load_close(&l, true);
}

/*
 * Every reply to one block's WRITE garbled (4 stray bytes inside the
 * record): that command fails with TNFS_IO_ERR_GARBLED after one more
 * try, the others pass, and the connection lives; then all is well.
 */
static void case_garbled(void)
{
	const unsigned int slot = 4;
	struct tnfs_engine_stats s;
	unsigned int i, bad = 0;
	char cmd[96];
	struct load l;

	load_open(&l, "v4garble", V4);
	load_round(&l);
	while ((l.round + slot) % 3 == 0)
		load_round(&l);
	snprintf(cmd, sizeof(cmd), "garble-reply write %" PRIu64,
		 (uint64_t)(slot * SLOT));
	test_proxy(l.ctl, cmd);
	l.failed = 0;
	load_round(&l);
	test_proxy(l.ctl, "disarm");
	for (i = 0; i < SLOTS; i++)
		if (l.r[i].status)
			bad++;
	CHECK(l.r[slot].status == TNFS_IO_ERR_GARBLED, "slot %u: %s", slot,
	      tnfs_status_name(l.r[slot].status));
	CHECK(bad == 1 && !l.flush.status, "%u commands failed, flush %s",
	      bad, tnfs_status_name(l.flush.status));
	tnfs_engine_get_stats(l.e, &s);
	CHECK(s.transport.transport_errors == 0, "%" PRIu64 " connections "
	      "lost for one call's replies", s.transport.transport_errors);
	l.failed = 0;
	load_round(&l);
	CHECK(l.failed == 0 && l.wrong == 0, "after: %d failed, %d wrong",
	      l.failed, l.wrong);
	load_close(&l, true);
}

/*
 * EXCHANGE_ID answered NFS4ERR_DELAY, as knfsd answers it while it
 * holds as many clients as it allows (1 024 per GiB of its memory): a
 * device opened then asks again and opens, beside one already open that
 * goes on; it was refused at the first DELAY.
 */
/* A second device's cfgstring: file @name, through @l's proxy. */
static char *second_cfg(struct load *l, const char *name)
{
	char *cfg;

	if (asprintf(&cfg, "127.0.0.1/export/%s?mountport=20048&nfsport=%d&"
		     V4, test_file("export", name, DEV, 0, 0, 0, 0644),
		     l->port) < 0)
		abort();
	return cfg;
}

/* The second device closed; the one beside it must have gone on. */
static void second_done(struct load *l, struct tnfs_engine *e, char *cfg)
{
	if (e)
		tnfs_engine_close(e);
	free(cfg);
	load_round(l);
	CHECK(l->failed == 0 && l->wrong == 0, "beside it: %d failed, %d "
	      "wrong", l->failed, l->wrong);
	load_close(l, true);
}

static void case_exchange_delay(void)
{
	struct tnfs_engine *e = NULL;
	char err[512], *cfg;
	uint64_t fired;
	struct load l;

	load_open(&l, "v4xid", V4);
	load_round(&l);
	fired = proxy_stat(&l, "faults_fired");
	test_proxy(l.ctl, "error-reply exchange_id 10008 3");
	cfg = second_cfg(&l, "v4xid2");
	CHECK(!test_engine_open(cfg, DEV, 4096, &e, err, sizeof(err)),
	      "open through 3 DELAYs of EXCHANGE_ID: %s", err);
	CHECK(proxy_stat(&l, "faults_fired") == fired + 3, "%" PRIu64
	      " of 3 DELAYs fired", proxy_stat(&l, "faults_fired") - fired);
	second_done(&l, e, cfg);
}

/*
 * EXCHANGE_ID answered NFS4ERR_DELAY for as long as the open may take
 * (its own 15 s, whatever timeout= says): the open fails with a message
 * that says what the server's DELAY likely means (its client limit)
 * rather than blaming the network, and leaves nothing behind; once the
 * server answers, the same device opens.
 */
static void case_exchange_delay_for_good(void)
{
	struct tnfs_engine *e = NULL;
	char err[512], *cfg;
	struct load l;
	int fds, ret;

	load_open(&l, "v4xidgood", V4);
	load_round(&l);
	cfg = second_cfg(&l, "v4xidgood2");
	test_proxy(l.ctl, "error-reply exchange_id 10008 every");
	fds = test_count_fds();
	ret = test_engine_open(cfg, DEV, 4096, &e, err, sizeof(err));
	CHECK(ret && !e, "opened although every EXCHANGE_ID was DELAYed");
	CHECK_CONTAINS(err, "keeps answering EXCHANGE_ID with "
		       "NFS4ERR_DELAY");
	CHECK_CONTAINS(err, "as many NFSv4 clients as it allows");
	CHECK(test_count_fds() == fds, "a refused open left descriptors: "
	      "%d -> %d", fds, test_count_fds());
	test_proxy(l.ctl, "disarm");
	CHECK(!test_engine_open(cfg, DEV, 4096, &e, err, sizeof(err)),
	      "open once the server answers: %s", err);
	second_done(&l, e, cfg);
}

static const struct test_case cases[] = {
	{ "cuts", case_cuts },
	{ "seq_errors", case_seq_errors },
	{ "garbled", case_garbled },
	{ "exchange_delay", case_exchange_delay },
	{ "exchange_delay_for_good", case_exchange_delay_for_good },
};

int main(int argc, char **argv)
{
	return test_run(cases, sizeof(cases) / sizeof(cases[0]), argc, argv,
			check_report, "test_v4faults");
}
