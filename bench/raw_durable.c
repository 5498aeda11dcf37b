// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Reference point for bench/nfs_bench: raw libnfs 4.0 RPCs with one fixed
 * durable write policy, one context, one TCP connection, one poll() loop.
 *
 *   raw_durable [-p POLICY] URL DEV_BYTES SECONDS WORKLOAD...
 *
 * URL is nfs://SERVER/EXPORT/FILE[?nfsport=2049&mountport=20048...].
 * WORKLOAD is randread|randwrite|read|write, ":BS" and ":QD", as for
 * nfs_bench, e.g. randwrite:4096:32.  POLICY says when a write is done:
 *
 *   commit-each    UNSTABLE WRITE, then a COMMIT of its range
 *   commit-shared  UNSTABLE WRITE; one COMMIT(0, 0) in flight at a time,
 *                  covering every write answered before it was sent
 *   filesync       every WRITE FILE_SYNC
 *   unstable       UNSTABLE WRITE, no COMMIT (not durable: a reference)
 *
 * A write is done once stable with the verifier of its WRITE replies;
 * on a verifier change it is sent again.  Reads are plain READs.  Prints
 * one line per workload, in nfs_bench's format: IOPS and MB/s.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <nfsc/libnfs.h>
#include <nfsc/libnfs-raw.h>
#include <nfsc/libnfs-raw-nfs.h>

/*
 * libnfs 4.0 hands out struct nfs_fh (nfs_get_fh) but defines it only in
 * its private header; this is that definition (checked at open).
 */
struct nfs_fh {
	int len;
	char *val;
};

enum policy { COMMIT_EACH, COMMIT_SHARED, FILESYNC, UNSTABLE_ONLY };

static const char *const policy_names[] = {
	[COMMIT_EACH] = "commit-each",
	[COMMIT_SHARED] = "commit-shared",
	[FILESYNC] = "filesync",
	[UNSTABLE_ONLY] = "unstable",
};

struct drv;

struct cmd {
	struct drv *d;
	uint64_t off;
	uint32_t len, pos;	/* pos: bytes the server has answered */
	char *buf;
	bool have_verf;
	char verf[NFS3_WRITEVERFSIZE];
	struct cmd *next;	/* on drv.waiting or drv.covered */
};

struct drv {
	struct nfs_context *nfs;
	struct rpc_context *rpc;
	struct nfs_fh3 fh;
	enum policy policy;
	bool write, random, stop;
	size_t bs;
	uint64_t blocks, next_block;
	unsigned int seed, in_flight;
	uint64_t done, failed, commits, redone;
	/* commit-shared: answered, not yet covered; covered by the COMMIT */
	struct cmd *waiting, *covered;
	bool commit_busy;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(struct drv *d, const char *what)
{
	fprintf(stderr, "raw_durable: %s: %s\n", what, nfs_get_error(d->nfs));
	exit(1);
}

static void send_io(struct cmd *c);
static void start(struct cmd *c);

static void finish(struct cmd *c)
{
	struct drv *d = c->d;

	d->done++;
	if (d->stop)
		d->in_flight--;
	else
		start(c);
}

static void fail(struct cmd *c, int status, const char *what)
{
	c->d->failed++;
	if (c->d->failed <= 5)
		fprintf(stderr, "raw_durable: %s failed (rpc status %d)\n",
			what, status);
	finish(c);
}

/* The data was not kept: the server lost it (restart).  Write it again. */
static void redo(struct cmd *c)
{
	c->d->redone++;
	c->pos = 0;
	c->have_verf = false;
	send_io(c);
}

static void start(struct cmd *c)
{
	struct drv *d = c->d;
	uint64_t block;

	if (d->random)
		block = (uint64_t)rand_r(&d->seed) % d->blocks;
	else
		block = d->next_block++ % d->blocks;
	c->off = block * d->bs;
	c->len = d->bs;
	c->pos = 0;
	c->have_verf = false;
	send_io(c);
}

static void commit_each_cb(struct rpc_context *rpc, int status, void *data,
			   void *priv)
{
	struct cmd *c = priv;
	COMMIT3res *res = data;

	(void)rpc;
	if (status != RPC_STATUS_SUCCESS || res->status != NFS3_OK)
		fail(c, status ? status : (int)res->status, "COMMIT");
	else if (memcmp(res->COMMIT3res_u.resok.verf, c->verf,
			NFS3_WRITEVERFSIZE))
		redo(c);
	else
		finish(c);
}

static void commit_shared_cb(struct rpc_context *rpc, int status,
			     void *data, void *priv);

/* One COMMIT in flight, for every write answered before it is sent. */
static void maybe_commit(struct drv *d)
{
	COMMIT3args args = { .file = d->fh };

	if (d->commit_busy || !d->waiting)
		return;
	d->covered = d->waiting;
	d->waiting = NULL;
	d->commit_busy = true;
	d->commits++;
	if (rpc_nfs3_commit_async(d->rpc, commit_shared_cb, &args, d))
		die(d, "COMMIT");
}

static void commit_shared_cb(struct rpc_context *rpc, int status,
			     void *data, void *priv)
{
	struct drv *d = priv;
	COMMIT3res *res = data;
	struct cmd *c = d->covered, *next;
	bool ok = status == RPC_STATUS_SUCCESS && res->status == NFS3_OK;

	(void)rpc;
	d->covered = NULL;
	d->commit_busy = false;
	for (; c; c = next) {
		next = c->next;
		c->next = NULL;
		if (!ok)
			fail(c, status ? status : (int)res->status, "COMMIT");
		else if (memcmp(res->COMMIT3res_u.resok.verf, c->verf,
				NFS3_WRITEVERFSIZE))
			redo(c);
		else
			finish(c);
	}
	maybe_commit(d);
}

static void written(struct cmd *c)
{
	struct drv *d = c->d;
	COMMIT3args args = { .file = d->fh, .offset = c->off,
			     .count = c->len };

	switch (d->policy) {
	case COMMIT_EACH:
	case FILESYNC:	/* the server answered UNSTABLE to a FILE_SYNC */
		d->commits++;
		if (rpc_nfs3_commit_async(d->rpc, commit_each_cb, &args, c))
			die(d, "COMMIT");
		break;
	case COMMIT_SHARED:
		c->next = d->waiting;
		d->waiting = c;
		maybe_commit(d);
		break;
	case UNSTABLE_ONLY:
		finish(c);
		break;
	}
}

static void write_cb(struct rpc_context *rpc, int status, void *data,
		     void *priv)
{
	struct cmd *c = priv;
	WRITE3res *res = data;
	WRITE3resok *ok;

	(void)rpc;
	if (status != RPC_STATUS_SUCCESS || res->status != NFS3_OK) {
		fail(c, status ? status : (int)res->status, "WRITE");
		return;
	}
	ok = &res->WRITE3res_u.resok;
	if (!c->have_verf) {
		memcpy(c->verf, ok->verf, NFS3_WRITEVERFSIZE);
		c->have_verf = true;
	} else if (memcmp(c->verf, ok->verf, NFS3_WRITEVERFSIZE)) {
		redo(c);
		return;
	}
	if (!ok->count) {
		fail(c, 0, "WRITE (0 bytes written)");
		return;
	}
	c->pos += ok->count;
	if (c->pos < c->len)
		send_io(c);
	else if (ok->committed == FILE_SYNC)
		finish(c);
	else
		written(c);
}

static void read_cb(struct rpc_context *rpc, int status, void *data,
		    void *priv)
{
	struct cmd *c = priv;
	READ3res *res = data;
	READ3resok *ok;

	(void)rpc;
	if (status != RPC_STATUS_SUCCESS || res->status != NFS3_OK) {
		fail(c, status ? status : (int)res->status, "READ");
		return;
	}
	ok = &res->READ3res_u.resok;
	/* libnfs's buffer, valid only here: copy it out, as a user must */
	memcpy(c->buf + c->pos, ok->data.data_val,
	       ok->count < c->len - c->pos ? ok->count : c->len - c->pos);
	c->pos += ok->count;
	if (c->pos < c->len && ok->count && !ok->eof)
		send_io(c);
	else
		finish(c);
}

static void send_io(struct cmd *c)
{
	struct drv *d = c->d;

	if (d->write) {
		WRITE3args args = {
			.file = d->fh,
			.offset = c->off + c->pos,
			.count = c->len - c->pos,
			.stable = d->policy == FILESYNC ? FILE_SYNC : UNSTABLE,
			.data = { c->len - c->pos, c->buf + c->pos },
		};

		if (rpc_nfs3_write_async(d->rpc, write_cb, &args, c))
			die(d, "WRITE");
	} else {
		READ3args args = {
			.file = d->fh,
			.offset = c->off + c->pos,
			.count = c->len - c->pos,
		};

		if (rpc_nfs3_read_async(d->rpc, read_cb, &args, c))
			die(d, "READ");
	}
}

static void service(struct drv *d)
{
	struct pollfd pfd = {
		.fd = nfs_get_fd(d->nfs),	/* may change on reconnect */
		.events = (short)nfs_which_events(d->nfs),
	};
	int n = poll(&pfd, 1, 100);

	if (n < 0 && errno != EINTR) {
		perror("poll");
		exit(1);
	}
	if (nfs_service(d->nfs, n > 0 ? pfd.revents : 0) < 0)
		die(d, "nfs_service");
}

static int run(struct nfs_context *nfs, struct nfsfh *fh, enum policy pol,
	       uint64_t dev, double secs, const char *spec)
{
	struct nfs_fh *raw = nfs_get_fh(fh);
	struct drv d = {
		.nfs = nfs,
		.rpc = nfs_get_rpc_context(nfs),
		.fh = { .data = { (u_int)raw->len, raw->val } },
		.policy = pol,
		.seed = 42,
	};
	uint64_t max;
	struct cmd *cmds;
	char rw[32];
	unsigned int qd, i;
	double t0, t;
	size_t bs;

	if (sscanf(spec, "%31[a-z]:%zu:%u", rw, &bs, &qd) != 3 || !bs ||
	    !qd || bs > dev || bs > UINT32_MAX ||
	    (strcmp(rw, "read") && strcmp(rw, "randread") &&
	     strcmp(rw, "write") && strcmp(rw, "randwrite"))) {
		fprintf(stderr, "bad workload %s\n", spec);
		return 1;
	}
	if (raw->len <= 0 || raw->len > NFS3_FHSIZE) {
		fprintf(stderr, "raw_durable: file handle of %d bytes: "
			"struct nfs_fh layout changed?\n", raw->len);
		return 1;
	}
	d.write = strstr(rw, "write");
	d.random = !strncmp(rw, "rand", 4);
	max = d.write ? nfs_get_writemax(nfs) : nfs_get_readmax(nfs);
	if (bs > max)
		fprintf(stderr, "raw_durable: %zu > server max %llu: split\n",
			bs, (unsigned long long)max);
	d.bs = bs;
	d.blocks = dev / bs;
	cmds = calloc(qd, sizeof(*cmds));
	if (!cmds)
		return 1;
	for (i = 0; i < qd; i++) {
		cmds[i].d = &d;
		cmds[i].buf = malloc(bs);
		if (!cmds[i].buf)
			return 1;
		memset(cmds[i].buf, (int)i, bs);
	}
	d.in_flight = qd;
	t0 = now();
	for (i = 0; i < qd; i++)
		start(&cmds[i]);
	while (d.in_flight) {
		if (!d.stop && now() - t0 >= secs)
			d.stop = true;
		service(&d);
	}
	t = now() - t0;
	printf("%-10s bs=%-8zu qd=%-3u %-12s %10.0f IOPS %9.1f MB/s "
	       "%6.2f COMMITs/cmd%s",
	       rw, bs, qd, d.write ? policy_names[pol] : "raw",
	       (double)d.done / t, (double)d.done * (double)bs / t / 1e6,
	       d.done ? (double)d.commits / (double)d.done : 0,
	       d.failed ? "  (FAILURES)" : "");
	if (d.redone)
		printf("  (%llu rewritten: verifier changed)",
		       (unsigned long long)d.redone);
	printf("\n");
	fflush(stdout);
	for (i = 0; i < qd; i++)
		free(cmds[i].buf);
	free(cmds);
	return d.failed ? 1 : 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: raw_durable [-p commit-each|commit-shared|"
		"filesync|unstable] URL DEV_BYTES SECONDS WORKLOAD...\n");
	exit(2);
}

int main(int argc, char **argv)
{
	enum policy pol = COMMIT_SHARED;
	struct nfs_context *nfs;
	struct nfs_url *url;
	struct nfsfh *fh;
	uint64_t dev;
	int opt, i, ret = 0;
	bool found;

	while ((opt = getopt(argc, argv, "p:")) != -1) {
		if (opt != 'p')
			usage();
		found = false;
		for (i = 0; i <= UNSTABLE_ONLY; i++) {
			if (!strcmp(optarg, policy_names[i])) {
				pol = (enum policy)i;
				found = true;
			}
		}
		if (!found)
			usage();
	}
	if (argc - optind < 4)
		usage();
	dev = strtoull(argv[optind + 1], NULL, 10);
	nfs = nfs_init_context();
	if (!nfs) {
		fprintf(stderr, "raw_durable: no nfs context\n");
		return 1;
	}
	url = nfs_parse_url_full(nfs, argv[optind]);
	if (!url || !url->file) {
		fprintf(stderr, "raw_durable: bad URL %s: %s\n", argv[optind],
			nfs_get_error(nfs));
		return 2;
	}
	if (nfs_mount(nfs, url->server, url->path)) {
		fprintf(stderr, "raw_durable: mount %s:%s: %s\n", url->server,
			url->path, nfs_get_error(nfs));
		return 1;
	}
	if (nfs_open(nfs, url->file, O_RDWR, &fh)) {
		fprintf(stderr, "raw_durable: open %s: %s\n", url->file,
			nfs_get_error(nfs));
		return 1;
	}
	for (i = optind + 3; i < argc; i++)
		ret |= run(nfs, fh, pol, dev, atof(argv[optind + 2]), argv[i]);
	nfs_close(nfs, fh);
	nfs_destroy_url(url);
	nfs_destroy_context(nfs);
	return ret;
}
