// SPDX-License-Identifier: LGPL-2.1-or-later
/* The verifying load through the fault proxy (nfs_test_load.h). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../check.h"
#include "fault_proxy_client.h"
#include "nfs_test_load.h"
#include "tnfs_status.h"

uint64_t proxy_stat(struct load *l, const char *key)
{
	char reply[512], *p;

	if (fault_proxy_cmd(l->ctl, "status", reply, sizeof(reply)))
		return UINT64_MAX;
	p = strstr(reply, key);
	if (!p || p[strlen(key)] != '=')
		return UINT64_MAX;
	return strtoull(p + strlen(key) + 1, NULL, 10);
}

void load_open(struct load *l, const char *what, const char *extra)
{
	char err[512], *cfg;
	int port;

	memset(l, 0, sizeof(*l));
	l->what = what;
	snprintf(l->file, sizeof(l->file), "%s",
		 test_file("export", what, DEV, 0, 0, 0, 0644));
	l->shadow = calloc(1, DEV);
	l->bufs = malloc(DEV);
	port = test_proxy_start(l->ctl, sizeof(l->ctl));
	l->port = port;
	if (asprintf(&cfg, "127.0.0.1/export/%s?mountport=20048&nfsport=%d"
		     "%s%s", l->file, port, extra ? "&" : "",
		     extra ? extra : "") < 0)
		abort();
	if (test_engine_open(cfg, DEV, 4096, &l->e, err, sizeof(err))) {
		fprintf(stderr, "FAIL open %s: %s\n", cfg, err);
		exit(1);
	}
	free(cfg);
}

/*
 * One command per slot, all in flight at once: two writes for each read,
 * and a SYNCHRONIZE CACHE, whose COMMIT is the one a fault can hit when
 * the writes go stable=datasync.  Reads are checked against the last
 * acknowledged write of their slot.
 */
void load_round(struct load *l)
{
	unsigned int i;
	int st;

	for (i = 0; i < SLOTS; i++) {
		unsigned char *b = l->bufs + (size_t)i * SLOT;
		bool write = (l->round + i) % 3 != 0;

		if (write)
			test_fill(b, SLOT, l->round * SLOTS + i + 1);
		test_submit(l->e, &l->r[i], write ? TNFS_IO_WRITE :
			    TNFS_IO_READ, (uint64_t)i * SLOT, b, SLOT, false);
		if (i == SLOTS / 2)
			test_submit(l->e, &l->flush, TNFS_IO_FLUSH, 0, NULL, 0,
				    false);
	}
	st = test_wait(&l->flush);
	if (st) {
		l->failed++;
		l->last_status = st;
		if (tnfs_status_transient(st))
			l->retryable++;
	}
	for (i = 0; i < SLOTS; i++) {
		unsigned char *b = l->bufs + (size_t)i * SLOT;

		st = test_wait(&l->r[i]);

		if (st) {
			l->failed++;
			l->last_status = st;
			if (tnfs_status_transient(st))
				l->retryable++;
			if (l->r[i].req.op == TNFS_IO_WRITE)
				l->tainted[i] = true;
			continue;
		}
		if (l->r[i].req.op == TNFS_IO_WRITE) {
			memcpy(l->shadow + (size_t)i * SLOT, b, SLOT);
			l->tainted[i] = false;
		} else if (!l->tainted[i] &&
			   memcmp(b, l->shadow + (size_t)i * SLOT, SLOT)) {
			l->wrong++;
			CHECK(0, "%s round %u slot %u: READ completed GOOD "
			      "with bytes that are not the last acknowledged "
			      "write", l->what, l->round, i);
		}
	}
	l->round++;
}

/* Flush, close, and compare the server's disk with what was acked. */
void load_close(struct load *l, bool check_disk)
{
	unsigned char *back = malloc(DEV);
	unsigned int i;
	int st = test_io(l->e, TNFS_IO_FLUSH, 0, NULL, 0);

	CHECK(!check_disk || st == 0, "%s: final flush: %s", l->what,
	      tnfs_status_name(st));
	tnfs_engine_close(l->e);
	test_proxy_stop(l->ctl);
	test_read_back("export", l->file, 0, back, DEV);
	for (i = 0; check_disk && i < SLOTS; i++)
		if (!l->tainted[i])
			CHECK(!memcmp(back + (size_t)i * SLOT,
				      l->shadow + (size_t)i * SLOT, SLOT),
			      "%s: slot %u on the server's disk is not the "
			      "last acknowledged write", l->what, i);
	free(back);
	free(l->shadow);
	free(l->bufs);
}

/* Arm @fault, run a round, and check that it fired. */
void fault_round(struct load *l, const char *fault)
{
	uint64_t fired = proxy_stat(l, "faults_fired");

	test_proxy(l->ctl, fault);
	load_round(l);
	CHECK(proxy_stat(l, "faults_fired") == fired + 1,
	      "%s: '%s' did not fire in a round", l->what, fault);
}

