/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A verifying load through the fault proxy (tests/faultproxy, a FAKE in
 * front of the real ganesha), for the transport's tests: a device of
 * SLOTS blocks of SLOT bytes, one command per block in flight at once
 * (two writes for each read) and a SYNCHRONIZE CACHE per round; every
 * READ is checked against the last acknowledged write of its block, and
 * at the end every acknowledged write against the server's disk.
 */
#ifndef NFS_TEST_LOAD_H
#define NFS_TEST_LOAD_H

#include <stdbool.h>
#include <stdint.h>

#include "nfs_test_env.h"

#define K		1024ull
#define SLOTS		48
#define SLOT		(64 * K)
#define DEV		((uint64_t)SLOTS * SLOT)

/* A device through the proxy, and what its blocks must hold. */
struct load {
	const char *what;
	char ctl[512];
	int port;			/* the proxy's, for another device */
	char file[256];
	struct tnfs_engine *e;
	unsigned char *shadow;		/* last acknowledged contents */
	unsigned char *bufs;
	bool tainted[SLOTS];		/* a failed write: contents unknown */
	struct test_req r[SLOTS];
	struct test_req flush;		/* one per round */
	unsigned int round;
	int failed, retryable, wrong;
	int last_status;
};

/* A counter of the proxy's "status" line (accepted, faults_fired...). */
uint64_t proxy_stat(struct load *l, const char *key);

/* A fresh file, a proxy in front of the server, the device open on it. */
void load_open(struct load *l, const char *what, const char *extra);

/* One command per slot, all in flight at once, and a flush. */
void load_round(struct load *l);

/* Flush, close, and compare the server's disk with what was acked. */
void load_close(struct load *l, bool check_disk);

/* Arm @fault, run a round, and check that it fired. */
void fault_round(struct load *l, const char *fault);

#endif
