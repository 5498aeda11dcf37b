// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * share=1: devices of one process reaching one server through the
 * server's pool of connections (tnfs_pool.h), against the real ganesha,
 * and through nfs_fault_proxy (a FAKE in front of it) for what a real
 * server cannot be made to do: connections cut under verifying load,
 * garbled replies.  What sharing must keep: every device's data its own
 * (checked on the server's disk), at most nconnect TCP connections for
 * all of them, a lost connection costing each device only a resend, a
 * bad reply charged to its call, and nothing left behind at close.
 * One case: test_share CASE.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../check.h"
#include "nfs_test_load.h"
#include "tnfs_pool.h"
#include "tnfs_status.h"

#define DEVS		4
#define BLOCK		(64 * K)
#define BLOCKS		16

/* the load through the proxy, big: not on the stack */
static struct load l_cuts;

/* This process's established TCP connections to @port (hex in /proc). */
/*
 * The NFSv4 clients of this process that ganesha keeps a stable-storage
 * record of (one per client holding state), from the names in its
 * recovery directory: "address-(length:0x<client owner in hex>)".
 */
static unsigned int v4_clients(void)
{
	char path[512], pid[32], owner[256];
	struct dirent *de;
	unsigned int n = 0, i;
	const char *hex;
	DIR *d;

	snprintf(path, sizeof(path), "%s/recovery/v4recov/node0", test_dir());
	snprintf(pid, sizeof(pid), "/%d/", (int)getpid());
	d = opendir(path);
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		hex = strstr(de->d_name, ":0x");
		if (!hex)
			continue;
		hex += 3;
		for (i = 0; i + 1 < sizeof(owner) &&
		     sscanf(hex + 2 * i, "%2hhx", (unsigned char *)&owner[i])
		     == 1; i++)
			;
		owner[i] = '\0';
		if (getenv("TEST_VERBOSE"))
			printf("v4 client record: %s\n", owner);
		if (!strncmp(owner, "tcmu-nfs/", 9) && strstr(owner, pid))
			n++;
	}
	closedir(d);
	return n;
}

static unsigned int tcp_to(int port)
{
	static const char *const tables[] = { "/proc/self/net/tcp",
					      "/proc/self/net/tcp6" };
	unsigned long ino[4096], v;
	unsigned int n = 0, hits = 0, t, i, rport, st;
	char path[300], to[64], line[512];
	struct dirent *de;
	DIR *d = opendir("/proc/self/fd");
	FILE *f;

	while (d && (de = readdir(d)) && n < 4096) {
		ssize_t len;

		snprintf(path, sizeof(path), "/proc/self/fd/%s", de->d_name);
		len = readlink(path, to, sizeof(to) - 1);
		if (len <= 0)
			continue;
		to[len] = '\0';
		if (sscanf(to, "socket:[%lu]", &v) == 1)
			ino[n++] = v;
	}
	if (d)
		closedir(d);
	for (t = 0; t < 2; t++) {
		f = fopen(tables[t], "r");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f)) {
			/* sl local rem:port st ... inode */
			if (sscanf(line, "%*s %*s %*[0-9A-Fa-f]:%x %x %*s %*s "
				   "%*s %*s %*s %lu", &rport, &st, &v) != 3 ||
			    rport != (unsigned int)port || st != 1)
				continue;
			for (i = 0; i < n; i++)
				if (ino[i] == v)
					hits++;
		}
		fclose(f);
	}
	return hits;
}

static unsigned char pattern(unsigned int dev, unsigned int blk, size_t i)
{
	return (unsigned char)(dev * 67 + blk * 13 + i / 512 + 1);
}

static void fill(unsigned char *b, unsigned int dev, unsigned int blk)
{
	size_t i;

	for (i = 0; i < BLOCK; i++)
		b[i] = pattern(dev, blk, i);
}

/* Write every block of @e as device @dev, then read each back. */
static int write_read(struct tnfs_engine *e, unsigned int dev)
{
	unsigned char *w = malloc(BLOCK), *r = malloc(BLOCK);
	struct iovec wi = { w, BLOCK }, ri = { r, BLOCK };
	unsigned int blk;
	int bad = 0;

	for (blk = 0; blk < BLOCKS; blk++) {
		fill(w, dev, blk);
		if (test_io(e, TNFS_IO_WRITE, blk * BLOCK, &wi, 1))
			bad++;
	}
	if (test_io(e, TNFS_IO_FLUSH, 0, NULL, 0))
		bad++;
	for (blk = 0; blk < BLOCKS; blk++) {
		fill(w, dev, blk);
		if (test_io(e, TNFS_IO_READ, blk * BLOCK, &ri, 1) ||
		    memcmp(w, r, BLOCK))
			bad++;
	}
	free(w);
	free(r);
	return bad;
}

/* The server's disk holds what device @dev wrote into file @name. */
static int disk_bad(const char *name, unsigned int dev)
{
	unsigned char *w = malloc(BLOCK), *r = malloc(BLOCK);
	unsigned int blk;
	int bad = 0;

	for (blk = 0; blk < BLOCKS; blk++) {
		fill(w, dev, blk);
		test_read_back("export", name, blk * BLOCK, r, BLOCK);
		if (memcmp(w, r, BLOCK))
			bad++;
	}
	free(w);
	free(r);
	return bad;
}

/*
 * Four devices, nconnect=2, on four files of one server: two TCP
 * connections for all of them (a device of its own beside them holds its
 * own); each device's data in its own file; closing the last device
 * stops the pool's thread and closes its connections.
 */
static void case_devices(void)
{
	struct tnfs_engine *e[DEVS], *own;
	char names[DEVS][256], base[32];
	int fds = test_count_fds(), threads = test_count_threads();
	unsigned int i, conns;
	int bad;

	for (i = 0; i < DEVS; i++) {
		snprintf(base, sizeof(base), "share%u", i);
		snprintf(names[i], sizeof(names[i]), "%s",
			 test_file("export", base, BLOCKS * BLOCK, 0, 0, 0,
				   0644));
	}
	for (i = 0; i < DEVS; i++)
		e[i] = test_open_dev(names[i], "share=1&nconnect=2",
				     BLOCKS * BLOCK);
	for (i = 0, bad = 0; i < DEVS; i++)
		bad += write_read(e[i], i);
	CHECK(bad == 0, "%d commands failed or read wrong bytes", bad);
	conns = tcp_to(2049);
	/* every device asked for 2 channels: 8, on 2 connections */
	CHECK(conns >= 1 && conns <= 2, "%u TCP connections for %d devices "
	      "with share=1&nconnect=2", conns, DEVS);
	CHECK(tnfs_pool_count() == 1, "%u pools for one server",
	      tnfs_pool_count());
	own = test_open_dev(names[0], "", BLOCKS * BLOCK);
	CHECK(write_read(own, 0) == 0, "a device of its own beside them");
	CHECK(tcp_to(2049) == conns + 1, "%u TCP connections with one "
	      "device of its own beside the shared %u", tcp_to(2049), conns);
	tnfs_engine_close(own);
	for (i = 0; i < DEVS; i++)
		tnfs_engine_close(e[i]);
	for (i = 0, bad = 0; i < DEVS; i++)
		bad += disk_bad(names[i], i);
	CHECK(bad == 0, "%d blocks on the server's disk not as written",
	      bad);
	CHECK(tnfs_pool_count() == 0, "%u pools left after the last device",
	      tnfs_pool_count());
	CHECK(tcp_to(2049) == 0, "%u TCP connections left", tcp_to(2049));
	CHECK(test_threads_wait(threads) == threads, "threads: %d, were %d",
	      test_count_threads(), threads);
	CHECK(test_count_fds() == fds, "descriptors: %d, were %d",
	      test_count_fds(), fds);
}

/* A second device on @l's proxy, sharing its connection (@keys more). */
static struct tnfs_engine *beside(const struct load *l, const char *keys,
				  char *name, size_t len)
{
	struct tnfs_engine *e = NULL;
	char err[512], *cfg;

	snprintf(name, len, "%s", test_file("export", "sharebeside",
					    BLOCKS * BLOCK, 0, 0, 0, 0644));
	if (asprintf(&cfg, "127.0.0.1/export/%s?mountport=20048&nfsport=%d&"
		     "%s", name, l->port, keys) < 0)
		abort();
	if (test_engine_open(cfg, BLOCKS * BLOCK, 512, &e, err,
			     sizeof(err))) {
		fprintf(stderr, "FAIL open %s: %s\n", cfg, err);
		exit(1);
	}
	free(cfg);
	return e;
}

/*
 * The shared connection cut at every depth under the verifying load, and
 * a reply with a wrong XID or record length on it (which the pool, not
 * the device, must see for what it is), another device on it beside:
 * both send again what they carried and lose nothing; the proxy sees one
 * connection per cut, not one per device; each device's log names the
 * shared connection.  In NFSv4.1 each device has its session on it,
 * bound again after each cut.
 */
static void cuts(const char *keys)
{
	static const char *const cuts[] = {
		"cut-reply read 2", "cut-reply read 40", "cut-reply read 200",
		"cut-reply read 32768", "cut-reply write 2",
		"cut-reply write 100", "cut-reply commit 2",
		"cut-reply commit 100", "cut-call write 2",
		"cut-call write 200", "cut-call write 40000",
		"cut-call read 60", "cut-call commit 100",
		/* what the pool itself must judge: no call of the wire's */
		"corrupt-reply write xid", "corrupt-reply read length",
	};
	unsigned int n = sizeof(cuts) / sizeof(cuts[0]), i;
	struct tnfs_engine_stats s, s2;
	struct tnfs_engine *e2;
	char name2[256];
	uint64_t accepted;
	int bad = 0;

	load_open(&l_cuts, "sharecut", keys);
	e2 = beside(&l_cuts, keys, name2, sizeof(name2));
	load_round(&l_cuts);
	bad += write_read(e2, 7);
	accepted = proxy_stat(&l_cuts, "accepted");
	test_log_clear();
	for (i = 0; i < n; i++) {
		fault_round(&l_cuts, cuts[i]);
		load_round(&l_cuts);
		bad += write_read(e2, 7);
	}
	tnfs_engine_get_stats(l_cuts.e, &s);
	tnfs_engine_get_stats(e2, &s2);
	CHECK(l_cuts.failed == 0, "%d commands failed (last %s) although "
	      "the server answered again at once", l_cuts.failed,
	      tnfs_status_name(l_cuts.last_status));
	CHECK(l_cuts.wrong == 0, "%d READs returned wrong bytes",
	      l_cuts.wrong);
	CHECK(bad == 0, "the device beside: %d commands failed or read "
	      "wrong bytes", bad);
	CHECK(s.transport.reconnects >= n && s2.transport.reconnects >= n,
	      "%" PRIu64 " and %" PRIu64 " reconnects for %u cuts",
	      s.transport.reconnects, s2.transport.reconnects, n);
	/* one connection made again per cut, for both devices */
	CHECK(proxy_stat(&l_cuts, "accepted") - accepted == n,
	      "%" PRIu64 " connections for %u cuts of a shared one",
	      proxy_stat(&l_cuts, "accepted") - accepted, n);
	CHECK_CONTAINS(test_log(), "shared connection 0 to the server: ");
	CHECK_CONTAINS(test_log(), "that answers no call");
	/*
	 * v4.1: a call re-sent after a cut may be cut in turn; the slot's
	 * sequence is then found again, not the session given up.
	 */
	CHECK(!strstr(test_log(), "SEQ_MISORDERED"), "a session was lost "
	      "to a slot's sequence ID after the cuts");
	printf("share cuts (%s): %u faults, %" PRIu64 " + %" PRIu64
	       " reconnects, %" PRIu64 " + %" PRIu64 " calls sent again, %"
	       PRIu64
	       " connections made\n", keys, n, s.transport.reconnects,
	       s2.transport.reconnects, s.transport.rpcs_resent,
	       s2.transport.rpcs_resent,
	       proxy_stat(&l_cuts, "accepted") - accepted);
	tnfs_engine_close(e2);
	CHECK(disk_bad(name2, 7) == 0, "the device beside: its file on the "
	      "server's disk is not as written");
	load_close(&l_cuts, true);
}

static void case_cuts(void)
{
	cuts("share=1&timeout=10");
}

static void case_cuts_v41(void)
{
	cuts("share=1&vers=4.1&timeout=10");
}

/*
 * Every reply to one block's WRITE garbled (framing intact), through the
 * shared connection: the pool hands it to its device, which charges that
 * call (sent again once, then failed); the connection stays, and the
 * device beside it sees nothing.
 */
static void case_garbled(void)
{
	/* past the blocks of the device beside: its WRITEs stay clean */
	const unsigned int slot = BLOCKS + 4;
	struct tnfs_engine_stats s;
	struct tnfs_engine *e2;
	char cmd[128], name2[256];
	unsigned int i, failed = 0;
	uint64_t accepted;

	load_open(&l_cuts, "sharegarble", "share=1&timeout=10");
	e2 = beside(&l_cuts, "share=1&timeout=10", name2, sizeof(name2));
	load_round(&l_cuts);
	while ((l_cuts.round + slot) % 3 == 0)
		load_round(&l_cuts);
	accepted = proxy_stat(&l_cuts, "accepted");
	snprintf(cmd, sizeof(cmd), "garble-reply write %" PRIu64,
		 (uint64_t)(slot * SLOT));
	test_proxy(l_cuts.ctl, cmd);
	l_cuts.failed = 0;
	load_round(&l_cuts);
	CHECK(write_read(e2, 3) == 0, "the device beside failed meanwhile");
	test_proxy(l_cuts.ctl, "disarm");
	for (i = 0; i < SLOTS; i++)
		if (l_cuts.r[i].status)
			failed++;
	CHECK(l_cuts.r[slot].status == TNFS_IO_ERR_GARBLED, "slot %u: %s",
	      slot, tnfs_status_name(l_cuts.r[slot].status));
	CHECK(failed == 1, "%u commands failed", failed);
	tnfs_engine_get_stats(l_cuts.e, &s);
	CHECK(s.transport.transport_errors == 0 &&
	      proxy_stat(&l_cuts, "accepted") == accepted,
	      "%" PRIu64 " connections lost, %" PRIu64 " made, for one "
	      "call's replies", s.transport.transport_errors,
	      proxy_stat(&l_cuts, "accepted") - accepted);
	CHECK(s.transport.garbled_calls == 1, "%" PRIu64 " calls failed "
	      "garbled", s.transport.garbled_calls);
	l_cuts.failed = 0;
	load_round(&l_cuts);
	CHECK(l_cuts.failed == 0 && l_cuts.wrong == 0, "after: %d failed, "
	      "%d wrong", l_cuts.failed, l_cuts.wrong);
	tnfs_engine_close(e2);
	CHECK(disk_bad(name2, 3) == 0, "the device beside: its file on the "
	      "server's disk is not as written");
	load_close(&l_cuts, true);
}

/*
 * Every block of the @n devices written (pattern @seed + device number,
 * in @r and @bufs) and, while the writes are in flight, ganesha killed
 * with SIGKILL and started again.  The writes that failed.
 */
static int restart_under_writes(struct tnfs_engine **e, unsigned int n,
				struct test_req *r, unsigned char *bufs,
				unsigned int seed)
{
	unsigned int d, blk;
	int failed = 0;

	for (d = 0; d < n; d++) {
		for (blk = 0; blk < BLOCKS; blk++) {
			unsigned char *b = bufs +
				((size_t)d * BLOCKS + blk) * BLOCK;

			fill(b, d + seed, blk);
			test_submit(e[d], &r[d * BLOCKS + blk], TNFS_IO_WRITE,
				    blk * BLOCK, b, BLOCK, false);
		}
	}
	test_server("kill9");
	test_server("start");
	for (d = 0; d < n * BLOCKS; d++)
		if (test_wait(&r[d]))
			failed++;
	return failed;
}

/*
 * Two NFSv4.1 devices (a session each) and an NFSv3 one on one shared
 * connection, ganesha killed with SIGKILL and started again while each
 * has all its blocks' writes in flight, three times: every device
 * recovers (the sessions anew, over the one new connection), no command
 * fails, every block reads back and is on the server's disk.
 */
static void case_restart(void)
{
	static const char *const keys[] = {
		"share=1&vers=4.1&timeout=20", "share=1&vers=4.1&timeout=20",
		"share=1&timeout=20",
	};
	const unsigned int n = sizeof(keys) / sizeof(keys[0]);
	struct test_req *r = calloc((size_t)n * BLOCKS, sizeof(*r));
	unsigned char *bufs = malloc((size_t)n * BLOCKS * BLOCK);
	struct tnfs_engine *e[3];
	char names[3][256], base[32];
	unsigned int d, round, conns, clients;
	int failed = 0, bad = 0;

	for (d = 0; d < n; d++) {
		snprintf(base, sizeof(base), "sharerestart%u", d);
		snprintf(names[d], sizeof(names[d]), "%s",
			 test_file("export", base, BLOCKS * BLOCK, 0, 0, 0,
				   0644));
		e[d] = test_open_dev(names[d], keys[d], BLOCKS * BLOCK);
	}
	for (round = 0; round < 3; round++) {
		failed += restart_under_writes(e, n, r, bufs, 10 * round);
	}
	for (d = 0; d < n; d++) {
		struct tnfs_engine_stats st;

		bad += write_read(e[d], d);
		tnfs_engine_get_stats(e[d], &st);
		/* a restart while a device's connection was still down
		 * after the one before counts once */
		CHECK(st.transport.reconnects >= 1, "device %u: %" PRIu64
		      " reconnects for 3 restarts", d,
		      st.transport.reconnects);
	}
	conns = tcp_to(2049);
	clients = v4_clients();
	for (d = 0; d < n; d++) {
		tnfs_engine_close(e[d]);
		bad += disk_bad(names[d], d);
	}
	CHECK(failed == 0, "%d writes failed across the restarts", failed);
	CHECK(bad == 0, "%d blocks failed, read wrong or not on the disk "
	      "after the restarts", bad);
	CHECK(conns == 1, "%u TCP connections for the three devices after "
	      "the restarts", conns);
	CHECK(clients == 1, "ganesha records %u NFSv4 clients for the two "
	      "NFSv4.1 devices after the restarts", clients);
	free(r);
	free(bufs);
}

/* Lines of the collected log holding @needle. */
static unsigned int log_count(const char *needle)
{
	const char *p = test_log();
	unsigned int n = 0;

	while ((p = strstr(p, needle))) {
		n++;
		p += strlen(needle);
	}
	return n;
}

#define GRACE_DEVS	6
#define GRACE_ROUNDS	2

/*
 * Six NFSv4.1 devices of one principal (one client ID) through two kill
 * -9 restarts of a ganesha that keeps a grace period, with all their
 * writes in flight: each device reclaims its open (CLAIM_PREVIOUS) after
 * each restart and none has to open afresh, because the client's one
 * RECLAIM_COMPLETE, which ends its right to reclaim, waits for all six;
 * no write fails, all are on the disk.
 */
static void case_restart_grace(void)
{
	const unsigned int n = GRACE_DEVS;
	struct test_req *r = calloc((size_t)n * BLOCKS, sizeof(*r));
	unsigned char *bufs = malloc((size_t)n * BLOCKS * BLOCK);
	struct tnfs_engine *e[GRACE_DEVS];
	char names[GRACE_DEVS][256], base[32];
	unsigned int d, round, reclaimed, again;
	int failed = 0, bad = 0;

	for (d = 0; d < n; d++) {
		snprintf(base, sizeof(base), "sharegrace%u", d);
		snprintf(names[d], sizeof(names[d]), "%s",
			 test_file("export", base, BLOCKS * BLOCK, 0, 0, 0,
				   0644));
		e[d] = test_open_dev(names[d], "share=1&vers=4.1&timeout=30",
				     BLOCKS * BLOCK);
	}
	/* each with its session and open (made after the engine opened) */
	for (d = 0; d < n; d++)
		bad += write_read(e[d], d + 50);
	/* from the next start on, ganesha lets clients reclaim for 10 s */
	setenv("NFS_GRACE", "10", 1);
	test_log_clear();
	for (round = 0; round < GRACE_ROUNDS; round++) {
		failed += restart_under_writes(e, n, r, bufs,
					       10 * round + 50);
		/* each device back (its open reclaimed) before the next */
		for (d = 0; d < n; d++)
			bad += write_read(e[d], d + 50);
	}
	reclaimed = log_count("NFSv4.1 open reclaimed (CLAIM_PREVIOUS)");
	again = log_count("NFSv4.1 open made again");
	for (d = 0; d < n; d++) {
		tnfs_engine_close(e[d]);
		bad += disk_bad(names[d], d + 50);
	}
	printf("grace restarts: %u devices, %u restarts: %u opens "
	       "reclaimed, %u made again\n", n, GRACE_ROUNDS, reclaimed,
	       again);
	CHECK(failed == 0, "%d writes failed across the restarts", failed);
	CHECK(bad == 0, "%d blocks failed, read wrong or not on the disk "
	      "after the restarts", bad);
	CHECK(again == 0 && reclaimed == n * GRACE_ROUNDS, "%u opens "
	      "reclaimed, %u made again, for %u devices and %u restarts in "
	      "a grace period", reclaimed, again, n, GRACE_ROUNDS);
	/* the other cases want a server without a grace period */
	unsetenv("NFS_GRACE");
	test_server("kill9");
	test_server("start");
	free(r);
	free(bufs);
}

static const struct test_case cases[] = {
	{ "devices", case_devices },
	{ "cuts", case_cuts },
	{ "cuts_v41", case_cuts_v41 },
	{ "garbled", case_garbled },
	{ "restart", case_restart },
	{ "restart_grace", case_restart_grace },
};

int main(int argc, char **argv)
{
	return test_run(cases, sizeof(cases) / sizeof(cases[0]), argc, argv,
			check_report, "test_share");
}
