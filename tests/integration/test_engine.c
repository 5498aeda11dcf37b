// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The NFS I/O engine on its own: open-time checks, reads and writes,
 * splitting, concurrency and shared COMMITs, a restart between WRITE and
 * COMMIT, create=1, close draining, a host with no reserved port free.
 * Against the real ganesha started by the CTest fixture; data is checked
 * on the server's disk, not only through the engine.
 * One case: test_engine CASE.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <netinet/in.h>
#include <sys/socket.h>

#include "../check.h"
#include "tnfs_socket.h"
#include "tnfs_status.h"
#include "nfs_test_env.h"

#define K 1024ull
#define M (1024ull * 1024)

static bool all_bytes(const unsigned char *buf, size_t len, int v)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (buf[i] != v)
			return false;
	return true;
}

/* Open must fail with @msg in its error, and leave nothing behind. */
static void open_fails(const char *cfg, uint64_t dev, uint32_t bs,
		       const char *msg)
{
	int fds = test_count_fds(), threads = test_threads_wait(1);
	struct tnfs_engine *e = (void *)1;
	char err[512] = "";
	int ret;

	ret = test_engine_open(cfg, dev, bs, &e, err, sizeof(err));
	CHECK(ret < 0, "open of %s succeeded", cfg);
	CHECK(e == NULL, "engine left set after failed open of %s", cfg);
	CHECK_CONTAINS(err, msg);
	CHECK(test_count_fds() == fds, "%s: fds %d -> %d", cfg, fds,
	      test_count_fds());
	CHECK(test_threads_wait(threads) == threads, "%s: threads %d -> %d",
	      cfg, threads, test_count_threads());
	if (ret == 0)
		tnfs_engine_close(e);
}

static void case_open_checks(void)
{
	struct tnfs_engine *e;
	char err[512], *cfg;
	const char *f;

	/* in dm-nfs's order */
	cfg = test_cfg("export", test_file("export", "empty", 0, 0, 0, 0,
					   0644), NULL);
	open_fails(cfg, 512, 512, "is empty");
	free(cfg);

	cfg = test_cfg("export", test_file("export", "tiny", 100, 1, 0, 0,
					   0644), NULL);
	open_fails(cfg, 512, 512, "smaller than one block (100 < 512");
	free(cfg);

	f = test_file("export", "region", M, 1, 0, 0, 0644);
	cfg = test_cfg("export", f, "offset=1000");
	open_fails(cfg, 512, 512, "offset 1000 is not a multiple of the "
		   "block size 512");
	free(cfg);
	cfg = test_cfg("export", f, "offset=2097152");
	open_fails(cfg, 512, 512, "offset 2097152 is beyond the end");
	free(cfg);
	cfg = test_cfg("export", f, "offset=524288");
	open_fails(cfg, M, 4096, "region after offset 524288 is 524288 "
		   "bytes, smaller than the device size 1048576");
	free(cfg);

	/* a warning, not a failure */
	test_log_clear();
	cfg = test_cfg("export", f, "offset=4096");
	CHECK(test_engine_open(cfg, 512 * K, 4096, &e, err,
			       sizeof(err)) == 0, "open: %s", err);
	CHECK_CONTAINS(test_log(), "WARN: ");
	CHECK_CONTAINS(test_log(), "520192 bytes at the end of the file are "
		       "not used by the device");
	tnfs_engine_close(e);
	free(cfg);

	open_fails("127.0.0.1/nosuchexport/disk.img?" TEST_PORTS, M, 512,
		   "has no export containing /nosuchexport/disk.img");
	open_fails("127.0.0.1/export/missing.img?" TEST_PORTS, M, 512,
		   "does not exist on 127.0.0.1 (add create=1");
	/* nothing listens there */
	open_fails("127.0.0.1/export/x?nfsport=2999&mountport=2998", M, 512,
		   "cannot reach NFS server 127.0.0.1 (TCP port 2998: "
		   "Connection refused");
}

static void case_not_regular(void)
{
	char path[512], *cfg;
	const char *name = test_new_name("dir");

	snprintf(path, sizeof(path), "%s/export/%s", test_dir(), name);
	CHECK(mkdir(path, 0755) == 0, "mkdir %s", path);
	cfg = test_cfg("export", name, NULL);
	open_fails(cfg, 512, 512, "is not a regular file");
	free(cfg);
}

static void case_uid(void)
{
	const char *f = test_file("squash", "owned", M, 0, 1000, 1000, 0600);
	struct tnfs_engine *e;
	unsigned char buf[4096], back[4096];
	struct iovec iov = { buf, sizeof(buf) };
	char err[512], *cfg;

	cfg = test_cfg("squash", f, NULL);
	open_fails(cfg, M, 512, "permission denied opening for read/write "
		   "/squash/");
	open_fails(cfg, M, 512, "as uid 0 gid 0 (file owner 1000:1000, "
		   "mode 0600)");
	free(cfg);

	cfg = test_cfg("squash", f, "uid=1000&gid=1000");
	CHECK(test_engine_open(cfg, M, 512, &e, err, sizeof(err)) == 0,
	      "open as 1000: %s", err);
	free(cfg);
	test_fill(buf, sizeof(buf), 7);
	CHECK(test_io(e, TNFS_IO_WRITE, 8192, &iov, 1) == 0, "write as 1000");
	tnfs_engine_close(e);
	test_read_back("squash", f, 8192, back, sizeof(back));
	CHECK(!memcmp(buf, back, sizeof(buf)), "data as uid 1000");
}

/* The device starts at @offset: check the bytes around it on disk. */
static void case_round_trip_offset(void)
{
	const uint64_t off = M, dev = 2 * M;
	const char *f = test_file("export", "offset", 4 * M, 0xee, 0, 0,
				  0644);
	unsigned char *buf = malloc(dev), *back = malloc(4 * M);
	struct iovec iov[3];
	struct tnfs_engine *e;
	char err[512], *cfg;

	cfg = test_cfg("export", f, "offset=1048576");
	CHECK(test_engine_open(cfg, dev, 4096, &e, err, sizeof(err)) == 0,
	      "open: %s", err);
	free(cfg);
	test_fill(buf, dev, 42);
	/* three segments, the middle one odd-sized: gathered for the RPC */
	iov[0] = (struct iovec){ buf, 4096 };
	iov[1] = (struct iovec){ buf + 4096, dev - 8192 - 100 };
	iov[2] = (struct iovec){ buf + dev - 4096 - 100, 4096 + 100 };
	CHECK(test_io(e, TNFS_IO_WRITE, 0, iov, 3) == 0, "write whole device");
	memset(back, 0, dev);
	iov[0] = (struct iovec){ back, dev };
	CHECK(test_io(e, TNFS_IO_READ, 0, iov, 1) == 0, "read whole device");
	CHECK(!memcmp(buf, back, dev), "read back through the engine");
	tnfs_engine_close(e);

	test_read_back("export", f, 0, back, 4 * M);
	CHECK(all_bytes(back, off, 0xee), "bytes before the offset touched");
	CHECK(!memcmp(back + off, buf, dev), "device data not at offset");
	CHECK(all_bytes(back + off + dev, 4 * M - off - dev, 0xee),
	      "bytes after the device touched");
	free(buf);
	free(back);
}

/* Larger than wsize: split; many small segments: not one RPC each. */
static void case_split(void)
{
	const char *f = test_file("export", "split", 8 * M, 0, 0, 0, 0644);
	unsigned char *buf = malloc(3 * M), *back = malloc(3 * M);
	struct iovec iov[64];
	struct tnfs_engine_stats s0, s1;
	struct tnfs_engine *e;
	char err[512], *cfg;
	uint32_t max;
	int i;

	/* counts RPCs with their COMMIT: the UNSTABLE path */
	cfg = test_cfg("export", f, "stable=commit");
	CHECK(test_engine_open(cfg, 8 * M, 512, &e, err, sizeof(err)) == 0,
	      "open: %s", err);
	free(cfg);
	max = tnfs_engine_max_io(e);
	CHECK(max >= 64 * K, "server max I/O %u", max);

	test_fill(buf, 3 * M, 3);
	iov[0] = (struct iovec){ buf, 3 * M };
	tnfs_engine_get_stats(e, &s0);
	CHECK(test_io(e, TNFS_IO_WRITE, 512, iov, 1) == 0, "3M write");
	tnfs_engine_get_stats(e, &s1);
	/* WRITEs plus at least one COMMIT */
	CHECK(s1.transport.rpcs - s0.transport.rpcs >=
		      (3 * M + max - 1) / max + 1,
	      "3M write took %lu RPCs with max %u",
	      (unsigned long)(s1.transport.rpcs - s0.transport.rpcs), max);
	iov[0] = (struct iovec){ back, 3 * M };
	CHECK(test_io(e, TNFS_IO_READ, 512, iov, 1) == 0, "3M read");
	CHECK(!memcmp(buf, back, 3 * M), "3M read back");

	/* 64 segments of 4 KiB: one WRITE and one COMMIT, not 64 WRITEs */
	for (i = 0; i < 64; i++)
		iov[i] = (struct iovec){ buf + (size_t)i * 4096, 4096 };
	tnfs_engine_get_stats(e, &s0);
	CHECK(test_io(e, TNFS_IO_WRITE, 0, iov, 64) == 0, "64-segment write");
	tnfs_engine_get_stats(e, &s1);
	CHECK(s1.transport.rpcs - s0.transport.rpcs == 2,
	      "64 segments took %lu RPCs",
	      (unsigned long)(s1.transport.rpcs - s0.transport.rpcs));
	for (i = 0; i < 64; i++)
		iov[i] = (struct iovec){ back + (size_t)i * 4096, 4096 };
	tnfs_engine_get_stats(e, &s0);
	CHECK(test_io(e, TNFS_IO_READ, 0, iov, 64) == 0, "64-segment read");
	tnfs_engine_get_stats(e, &s1);
	CHECK(s1.transport.rpcs - s0.transport.rpcs == 1,
	      "64-segment read took %lu RPCs",
	      (unsigned long)(s1.transport.rpcs - s0.transport.rpcs));
	CHECK(!memcmp(buf, back, 256 * K), "64-segment read back");

	/* beyond the end of the device */
	iov[0] = (struct iovec){ buf, 4096 };
	CHECK(test_io(e, TNFS_IO_READ, 8 * M - 2048, iov, 1) ==
	      TNFS_IO_ERR_RANGE, "read past the end");
	tnfs_engine_close(e);
	free(buf);
	free(back);
}

/* ---- concurrency: many requests in flight, content verified ---- */

#define SLOTS		128
#define SLOT_BLOCKS	32
#define BS		4096

struct conc_req {
	struct tnfs_io_req req;
	struct iovec iov[4];
	unsigned char *buf;
	uint64_t commits_at_submit;
	struct tnfs_engine *e;
};

struct gate {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned int left;
	bool open;		/* the commit hook waits for this */
	bool armed;
	int errors;
	int early_acks;		/* writes done before any COMMIT answered */
};

static struct gate gate = {
	PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, true, false,
	0, 0
};

static void conc_done(struct tnfs_io_req *req, int status)
{
	struct conc_req *r = req->priv;
	struct tnfs_engine_stats s;

	if (req->op == TNFS_IO_WRITE) {
		tnfs_engine_get_stats(r->e, &s);
		if (s.io.commits <= r->commits_at_submit)
			__atomic_add_fetch(&gate.early_acks, 1,
					   __ATOMIC_RELAXED);
	}
	pthread_mutex_lock(&gate.lock);
	if (status)
		gate.errors++;
	if (--gate.left == 0)
		pthread_cond_broadcast(&gate.cond);
	pthread_mutex_unlock(&gate.lock);
}

/* Holds the engine thread in its first COMMIT until the test opens it. */
static void hold_hook(void *arg, unsigned int pieces)
{
	(void)arg;
	(void)pieces;
	pthread_mutex_lock(&gate.lock);
	if (gate.armed) {
		gate.armed = false;
		gate.open = false;
		pthread_cond_broadcast(&gate.cond);
		while (!gate.open)
			pthread_cond_wait(&gate.cond, &gate.lock);
	}
	pthread_mutex_unlock(&gate.lock);
}

static void conc_round(struct tnfs_engine *e, unsigned char *shadow,
		       struct conc_req *reqs, unsigned int round)
{
	unsigned char plug[BS];
	struct iovec plug_iov = { plug, BS };
	struct tnfs_engine_stats s;
	struct conc_req plug_req;
	struct timespec deadline;
	unsigned int i;

	/* park the engine thread, so every request below starts at once */
	memset(&plug_req, 0, sizeof(plug_req));
	memset(plug, 0, sizeof(plug));
	plug_req.req.op = TNFS_IO_WRITE;
	plug_req.req.offset = (uint64_t)SLOTS * SLOT_BLOCKS * BS;
	plug_req.req.length = BS;
	plug_req.req.iov = &plug_iov;
	plug_req.req.iov_cnt = 1;
	plug_req.req.done = conc_done;
	plug_req.req.priv = &plug_req;
	plug_req.e = e;
	pthread_mutex_lock(&gate.lock);
	gate.armed = true;
	gate.left = SLOTS + 1;
	pthread_mutex_unlock(&gate.lock);
	tnfs_engine_submit(e, &plug_req.req);
	pthread_mutex_lock(&gate.lock);
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 10;
	while (gate.open && pthread_cond_timedwait(&gate.cond, &gate.lock,
						   &deadline) != ETIMEDOUT)
		;
	CHECK(!gate.open, "round %u: the engine never sent a COMMIT", round);
	gate.armed = false;
	pthread_mutex_unlock(&gate.lock);

	for (i = 0; i < SLOTS; i++) {
		struct conc_req *r = &reqs[i];
		unsigned int blocks = 1 + (unsigned int)rand() % 8;
		unsigned int first = (unsigned int)rand() %
				     (SLOT_BLOCKS - blocks + 1);
		size_t len = (size_t)blocks * BS, cut;

		memset(&r->req, 0, sizeof(r->req));
		r->e = e;
		r->req.op = rand() % 2 ? TNFS_IO_WRITE : TNFS_IO_READ;
		r->req.offset = ((uint64_t)i * SLOT_BLOCKS + first) * BS;
		r->req.length = len;
		r->req.done = conc_done;
		r->req.priv = r;
		/* two segments split at an odd byte: gathered writes */
		cut = 1 + (size_t)rand() % (len - 1);
		r->iov[0] = (struct iovec){ r->buf, cut };
		r->iov[1] = (struct iovec){ r->buf + cut, len - cut };
		r->req.iov = r->iov;
		r->req.iov_cnt = 2;
		if (r->req.op == TNFS_IO_WRITE) {
			test_fill(r->buf, len, round * SLOTS + i);
			memcpy(shadow + r->req.offset, r->buf, len);
		} else {
			memset(r->buf, 0x5a, len);
		}
		tnfs_engine_get_stats(e, &s);
		r->commits_at_submit = s.io.commits;
		tnfs_engine_submit(e, &r->req);
	}
	tnfs_engine_get_stats(e, &s);
	CHECK(s.queued >= SLOTS, "only %" PRIu64 " requests queued",
	      s.queued);

	pthread_mutex_lock(&gate.lock);
	gate.open = true;
	pthread_cond_broadcast(&gate.cond);
	while (gate.left)
		pthread_cond_wait(&gate.cond, &gate.lock);
	pthread_mutex_unlock(&gate.lock);

	for (i = 0; i < SLOTS; i++) {
		struct conc_req *r = &reqs[i];

		if (r->req.op == TNFS_IO_READ)
			CHECK(!memcmp(r->buf, shadow + r->req.offset,
				      r->req.length),
			      "round %u slot %u: read mismatch", round, i);
	}
}

static void case_concurrent(void)
{
	const uint64_t dev = (uint64_t)SLOTS * SLOT_BLOCKS * BS + BS;
	const char *f = test_file("export", "conc", dev, 0, 0, 0, 0644);
	unsigned char *shadow = calloc(1, dev), *back = malloc(dev);
	struct conc_req *reqs = calloc(SLOTS, sizeof(*reqs));
	struct tnfs_engine_stats s;
	struct tnfs_engine *e;
	char err[512], *cfg;
	unsigned int i, round;

	srand(1234);
	for (i = 0; i < SLOTS; i++)
		reqs[i].buf = malloc(8 * BS);
	/* about shared COMMITs (test_stable covers the stable WRITEs) */
	cfg = test_cfg("export", f, "stable=commit");
	CHECK(test_engine_open(cfg, dev, BS, &e, err, sizeof(err)) == 0,
	      "open: %s", err);
	free(cfg);
	tnfs_engine_set_commit_hook(e, hold_hook, NULL);
	for (round = 0; round < 6; round++)
		conc_round(e, shadow, reqs, round);
	tnfs_engine_get_stats(e, &s);
	CHECK(gate.errors == 0, "%d requests failed", gate.errors);
	CHECK(gate.early_acks == 0, "%d writes completed before a COMMIT "
	      "reply", gate.early_acks);
	CHECK(s.transport.peak_rpcs_in_flight >= 64, "peak RPCs in flight %"
	      PRIu64, s.transport.peak_rpcs_in_flight);
	/* concurrent writes share COMMITs */
	CHECK(s.io.commits < s.io.writes / 4, "%lu COMMITs for %lu writes",
	      (unsigned long)s.io.commits, (unsigned long)s.io.writes);
	printf("concurrent: %lu reads %lu writes %lu COMMITs, peak %" PRIu64
	       " RPCs "
	       "in flight\n", (unsigned long)s.io.reads,
	       (unsigned long)s.io.writes, (unsigned long)s.io.commits,
	       s.transport.peak_rpcs_in_flight);
	tnfs_engine_close(e);

	test_read_back("export", f, 0, back, dev - BS);
	CHECK(!memcmp(back, shadow, dev - BS), "server disk differs from "
	      "the model");
	for (i = 0; i < SLOTS; i++)
		free(reqs[i].buf);
	free(reqs);
	free(shadow);
	free(back);
}

/* ---- durability: the server restarts between WRITE and COMMIT ---- */

struct async_io {
	struct tnfs_io_req req;
	struct test_restart *ctx;
	int status;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
};

static void async_done(struct tnfs_io_req *req, int status)
{
	struct async_io *a = req->priv;

	__atomic_store_n(&a->ctx->write_done, true, __ATOMIC_SEQ_CST);
	pthread_mutex_lock(&a->lock);
	a->status = status;
	a->done = true;
	pthread_cond_signal(&a->cond);
	pthread_mutex_unlock(&a->lock);
}

static void case_restart(void)
{
	const char *f = test_file("export", "restart", 4 * M, 0, 0, 0, 0644);
	unsigned char *buf = malloc(2 * M), *back = malloc(2 * M);
	struct iovec iov = { buf, 2 * M };
	struct test_restart ctx = { false, false, 0 };
	struct async_io a = {
		.lock = PTHREAD_MUTEX_INITIALIZER,
		.cond = PTHREAD_COND_INITIALIZER,
		.ctx = &ctx,
	};
	struct tnfs_engine_stats s;
	struct tnfs_engine *e;
	char err[512], *cfg;

	/* a restart between WRITE and COMMIT needs a COMMIT */
	cfg = test_cfg("export", f, "offset=1048576&stable=commit");
	CHECK(test_engine_open(cfg, 2 * M, 512, &e, err, sizeof(err)) == 0,
	      "open: %s", err);
	free(cfg);
	tnfs_engine_set_commit_hook(e, test_restart_hook, &ctx);
	test_fill(buf, 2 * M, 99);
	a.req.op = TNFS_IO_WRITE;
	a.req.offset = 0;
	a.req.length = 2 * M;
	a.req.iov = &iov;
	a.req.iov_cnt = 1;
	a.req.done = async_done;
	a.req.priv = &a;
	tnfs_engine_submit(e, &a.req);
	pthread_mutex_lock(&a.lock);
	while (!a.done)
		pthread_cond_wait(&a.cond, &a.lock);
	pthread_mutex_unlock(&a.lock);

	tnfs_engine_get_stats(e, &s);
	CHECK(a.status == 0, "write across a restart: %d", a.status);
	CHECK(ctx.restarts == 1, "server restarted %d times", ctx.restarts);
	CHECK(!ctx.done_before_commit, "write completed before its COMMIT");
	CHECK(s.io.resends >= 2, "%lu pieces re-sent after the verifier change",
	      (unsigned long)s.io.resends);
	CHECK(s.io.commits >= 2, "%lu COMMITs", (unsigned long)s.io.commits);
	printf("restart: %lu pieces re-sent, %lu COMMITs\n",
	       (unsigned long)s.io.resends, (unsigned long)s.io.commits);

	/* reads work on the new server instance too */
	memset(back, 0, 2 * M);
	iov.iov_base = back;
	CHECK(test_io(e, TNFS_IO_READ, 0, &iov, 1) == 0, "read after restart");
	CHECK(!memcmp(buf, back, 2 * M), "data after restart");
	tnfs_engine_close(e);
	test_read_back("export", f, M, back, 2 * M);
	CHECK(!memcmp(buf, back, 2 * M), "server disk after restart");
	free(buf);
	free(back);
}

static void case_create(void)
{
	const char *name = test_new_name("created");
	unsigned char buf[4096], back[4096];
	struct iovec iov = { buf, sizeof(buf) };
	char path[512], err[512], *cfg, keep[256];
	struct tnfs_engine *e;
	struct stat st;

	snprintf(keep, sizeof(keep), "%s", name);
	cfg = test_cfg("squash", keep, "create=1&uid=1000&gid=1001&"
		       "offset=1048576");
	CHECK(test_engine_open(cfg, 4 * M, 512, &e, err, sizeof(err)) == 0,
	      "create: %s", err);
	free(cfg);
	CHECK_CONTAINS(test_log(), "created /squash/");
	test_fill(buf, sizeof(buf), 5);
	CHECK(test_io(e, TNFS_IO_WRITE, 4 * M - 4096, &iov, 1) == 0,
	      "write at the end of a created file");
	tnfs_engine_close(e);

	snprintf(path, sizeof(path), "%s/squash/%s", test_dir(), keep);
	CHECK(stat(path, &st) == 0, "stat %s", path);
	CHECK(st.st_size == (off_t)(5 * M), "created size %ld",
	      (long)st.st_size);
	CHECK((st.st_mode & 07777) == 0600, "created mode %o",
	      st.st_mode & 07777);
	CHECK(st.st_uid == 1000 && st.st_gid == 1001, "owner %u:%u",
	      st.st_uid, st.st_gid);
	CHECK(st.st_blocks * 512 < (blkcnt_t)M, "not sparse: %ld blocks",
	      (long)st.st_blocks);
	test_read_back("squash", keep, 5 * M - 4096, back, sizeof(back));
	CHECK(!memcmp(buf, back, sizeof(buf)), "data in created file");

	/* reopening an existing file with create=1 keeps its data */
	cfg = test_cfg("squash", keep, "create=1&uid=1000&gid=1001&"
		       "offset=1048576");
	CHECK(test_engine_open(cfg, 4 * M, 512, &e, err, sizeof(err)) == 0,
	      "reopen: %s", err);
	free(cfg);
	memset(back, 0, sizeof(back));
	iov.iov_base = back;
	CHECK(test_io(e, TNFS_IO_READ, 4 * M - 4096, &iov, 1) == 0, "read");
	CHECK(!memcmp(buf, back, sizeof(buf)), "data kept on reopen");
	tnfs_engine_close(e);

	/* create= cannot make a missing directory */
	open_fails("127.0.0.1/export/nodir/x.img?create=1&" TEST_PORTS, M,
		   512, "cannot create /export/nodir/x.img");
}

struct drain_req {
	struct tnfs_io_req req;
	struct iovec iov;
	int *done;
};

static void drain_done(struct tnfs_io_req *req, int status)
{
	struct drain_req *r = (struct drain_req *)req;

	if (!status)
		__atomic_add_fetch(r->done, 1, __ATOMIC_RELAXED);
}

/* close() with writes and a flush queued: all complete, all stable. */
static void case_close_drains(void)
{
	const char *f = test_file("export", "drain", M, 0, 0, 0, 0644);
	unsigned char *buf = malloc(M), *back = malloc(M);
	struct drain_req reqs[65];
	struct tnfs_engine *e;
	char err[512], *cfg;
	int done = 0, i;

	cfg = test_cfg("export", f, NULL);
	CHECK(test_engine_open(cfg, M, 512, &e, err, sizeof(err)) == 0,
	      "open: %s", err);
	free(cfg);
	test_fill(buf, M, 11);
	for (i = 0; i < 65; i++) {
		memset(&reqs[i], 0, sizeof(reqs[i]));
		reqs[i].done = &done;
		reqs[i].req.done = drain_done;
		if (i == 64) {
			reqs[i].req.op = TNFS_IO_FLUSH;
		} else {
			reqs[i].req.op = TNFS_IO_WRITE;
			reqs[i].req.offset = (uint64_t)i * 16384;
			reqs[i].req.length = 16384;
			reqs[i].iov = (struct iovec){ buf + i * 16384, 16384 };
			reqs[i].req.iov = &reqs[i].iov;
			reqs[i].req.iov_cnt = 1;
		}
		tnfs_engine_submit(e, &reqs[i].req);
	}
	tnfs_engine_close(e);
	CHECK(done == 65, "%d of 65 completed by close", done);
	test_read_back("export", f, 0, back, M);
	CHECK(!memcmp(buf, back, M), "drained data on disk");
	free(buf);
	free(back);
}


/* Bind a socket to every reserved port the engine takes; their fds. */
static int hold_reserved(int *fds)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	int n = 0, port;

	for (port = TNFS_RESERVED_LOW; port <= TNFS_RESERVED_HIGH; port++) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

		sin.sin_port = htons((uint16_t)port);
		if (fd >= 0 && !bind(fd, (struct sockaddr *)&sin,
				     sizeof(sin)))
			fds[n++] = fd;
		else if (fd >= 0)
			close(fd);	/* taken already: as good */
	}
	return n;
}

/*
 * Every reserved port of the host taken (a host with hundreds of
 * devices): a device says so, names resvport=, and still works with a
 * server that takes any port (ganesha); resvport=0 does not look.
 * Needs root (the test runs as root, as the suite does).
 */
static void case_reserved_ports(void)
{
	const char *f = test_file("export", "resv", M, 0, 0, 0, 0644);
	int fds[TNFS_RESERVED_HIGH + 1 - TNFS_RESERVED_LOW], n, i;
	unsigned char buf[4096], back[4096];
	struct iovec iov = { buf, sizeof(buf) };
	char err[512], *cfg;
	struct tnfs_engine *e;

	if (geteuid() != 0) {
		printf("reserved_ports: not root, skipped\n");
		return;
	}
	n = hold_reserved(fds);
	CHECK(tnfs_reserved_exhausted(AF_INET), "ports left after holding "
	      "%d", n);
	cfg = test_cfg("export", f, NULL);
	test_log_clear();
	CHECK(test_engine_open(cfg, M, 512, &e, err, sizeof(err)) == 0,
	      "open: %s", err);
	free(cfg);
	test_fill(buf, sizeof(buf), 5);
	CHECK(test_io(e, TNFS_IO_WRITE, 0, &iov, 1) == 0, "write");
	CHECK_CONTAINS(test_log(), "no reserved port (600-1023) is free on "
		       "this host");
	CHECK_CONTAINS(test_log(), "set resvport=0");
	iov.iov_base = back;
	CHECK(test_io(e, TNFS_IO_READ, 0, &iov, 1) == 0, "read");
	CHECK(!memcmp(buf, back, sizeof(buf)), "data read back");
	tnfs_engine_close(e);
	cfg = test_cfg("export", f, "resvport=0");
	test_log_clear();
	CHECK(test_engine_open(cfg, M, 512, &e, err, sizeof(err)) == 0,
	      "open resvport=0: %s", err);
	free(cfg);
	CHECK(test_io(e, TNFS_IO_READ, 0, &iov, 1) == 0, "read resvport=0");
	CHECK(!strstr(test_log(), "no reserved port"), "resvport=0 looked "
	      "for one:\n%s", test_log());
	tnfs_engine_close(e);
	for (i = 0; i < n; i++)
		close(fds[i]);
	CHECK(!tnfs_reserved_exhausted(AF_INET), "ports still taken");
}

static const struct test_case cases[] = {
	{ "open_checks", case_open_checks },
	{ "not_regular", case_not_regular },
	{ "uid", case_uid },
	{ "round_trip_offset", case_round_trip_offset },
	{ "split", case_split },
	{ "concurrent", case_concurrent },
	{ "restart", case_restart },
	{ "create", case_create },
	{ "close_drains", case_close_drains },
	{ "reserved_ports", case_reserved_ports },
};

int main(int argc, char **argv)
{
	return test_run(cases, sizeof(cases) / sizeof(cases[0]), argc, argv,
			check_report, "test_engine");
}
