// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * vers=4.1 (and 4.2) against the real ganesha: the open-time checks give
 * the messages vers=3 gives for the same mistakes, create=1 makes the
 * file as v3 does, data written with many commands in flight reads back
 * and is on the server's disk, a restart between the WRITEs and their
 * COMMIT re-sends them (new verifier, new session, the open made again),
 * and the device closes its session; with vers=4.2 UNMAP deallocates
 * (zeros read back, the blocks freed in the server's file, held
 * write-back data over the range first).  The restart soak in v4.1 is
 * test_soak's "v41" (ctest soak_restart_v41*).
 * One case: test_v4 CASE.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../check.h"
#include "tnfs_status.h"
#include "nfs_test_env.h"

#define K 1024ull
#define M (1024ull * 1024)

static char *cfg4(const char *exp, const char *name, const char *extra)
{
	char keys[256];

	snprintf(keys, sizeof(keys), "vers=4.1%s%s", extra ? "&" : "",
		 extra ? extra : "");
	return test_cfg(exp, name, keys);
}

/* The open fails; its message, in @err. */
static int open_err(const char *cfg, uint64_t dev, char *err, size_t len)
{
	struct tnfs_engine *e = NULL;
	int ret;

	err[0] = '\0';
	ret = test_engine_open(cfg, dev, 512, &e, err, len);
	CHECK(ret < 0, "open of %s succeeded", cfg);
	CHECK(e == NULL, "engine left after failed open of %s", cfg);
	if (!ret)
		tnfs_engine_close(e);
	return ret;
}

/*
 * The same mistake, the same message: with vers=3 and vers=4.1 the
 * open fails with @msg in an error that is, word for word, the same
 * (@same), and leaves no descriptor or thread behind.
 */
static void same_failure(const char *exp, const char *name, const char *extra,
			 uint64_t dev, const char *msg, bool same)
{
	int fds = test_count_fds(), threads = test_threads_wait(1);
	char e3[512], e4[512], *c3 = test_cfg(exp, name, extra);
	char *c4 = cfg4(exp, name, extra);

	open_err(c3, dev, e3, sizeof(e3));
	open_err(c4, dev, e4, sizeof(e4));
	CHECK_CONTAINS(e4, msg);
	if (getenv("TEST_VERBOSE"))
		printf("v3:   %s\nv4.1: %s\n", e3, e4);
	if (same)
		CHECK(!strcmp(e3, e4), "v3 says '%s', v4.1 '%s'", e3, e4);
	CHECK(test_count_fds() == fds, "%s: fds %d -> %d", c4, fds,
	      test_count_fds());
	CHECK(test_threads_wait(threads) == threads, "%s: threads %d -> %d",
	      c4, threads, test_count_threads());
	free(c3);
	free(c4);
}

static void case_open_checks(void)
{
	char path[512];
	const char *f, *d;

	same_failure("export", "missing.img", NULL, M,
		     "does not exist on 127.0.0.1 (add create=1", true);
	d = test_new_name("dir");
	snprintf(path, sizeof(path), "%s/export/%s", test_dir(), d);
	CHECK(mkdir(path, 0755) == 0, "mkdir %s", path);
	same_failure("export", d, NULL, 512, "is not a regular file", true);
	f = test_file("export", "tiny", 100, 1, 0, 0, 0644);
	same_failure("export", f, NULL, 512,
		     "smaller than one block (100 < 512", true);
	f = test_file("export", "small", M, 1, 0, 0, 0644);
	same_failure("export", f, NULL, 2 * M, "smaller than the device "
		     "size 2097152", true);
	same_failure("export", f, "offset=1000", 512, "offset 1000 is not a "
		     "multiple of the block size 512", true);
	/* root squashed: as v3, with the owner the server reports */
	f = test_file("squash", "owned", M, 0, 1000, 1000, 0600);
	same_failure("squash", f, NULL, M, "permission denied opening for "
		     "read/write /squash/", false);
	/* the owner as the server names it (user@domain, or numeric) */
	same_failure("squash", f, NULL, M, "as uid 0 gid 0 (file owner ",
		     false);
	same_failure("squash", f, NULL, M, ", mode 0600); on a "
		     "root-squashing export set uid= and gid=", false);
	/* no such export */
	same_failure("nosuch", "x.img", NULL, M, "NFS server 127.0.0.1 has "
		     "no export containing /nosuch/x.img", false);
	/* a missing directory past the export cannot be created */
	same_failure("export", "nodir/x.img", "create=1", M,
		     "cannot create /export/nodir/x.img", false);
	/* nothing listens there: v4.1 says which port it needs */
	{
		char err[512];

		open_err("127.0.0.1/export/x?vers=4.1&nfsport=2999", M, err,
			 sizeof(err));
		CHECK_CONTAINS(err, "cannot reach NFS server 127.0.0.1 (TCP "
			       "port 2999: Connection refused");
	}
}

static void case_create(void)
{
	const char *name = test_new_name("created4");
	unsigned char buf[4096], back[4096];
	struct iovec iov = { buf, sizeof(buf) };
	char path[512], err[512], *cfg, keep[256];
	struct tnfs_engine *e;
	struct stat st;

	snprintf(keep, sizeof(keep), "%s", name);
	cfg = cfg4("squash", keep, "create=1&uid=1000&gid=1001&"
		   "offset=1048576");
	if (test_engine_open(cfg, 4 * M, 512, &e, err, sizeof(err))) {
		CHECK(0, "create: %s", err);
		free(cfg);
		return;
	}
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
	test_read_back("squash", keep, 5 * M - 4096, back, sizeof(back));
	CHECK(!memcmp(buf, back, sizeof(buf)), "data in created file");
	/* an existing file with create=1: opened, its data kept */
	CHECK(test_engine_open(cfg, 4 * M, 512, &e, err, sizeof(err)) == 0,
	      "reopen: %s", err);
	memset(back, 0, sizeof(back));
	iov.iov_base = back;
	CHECK(test_io(e, TNFS_IO_READ, 4 * M - 4096, &iov, 1) == 0, "read");
	CHECK(!memcmp(buf, back, sizeof(buf)), "data kept on reopen");
	tnfs_engine_close(e);
	free(cfg);
}

#define SLOTS	64
#define SLOT	(64 * K)

/*
 * @rounds rounds of SLOTS commands at once over a 4 MiB device (reads
 * of what the last round wrote, and writes of new data, in @mode), each
 * read checked, then the server's disk.
 */
static void verify_load(const char *extra, unsigned int rounds)
{
	const char *f = test_file("export", "load4", SLOTS * SLOT, 0, 0, 0,
				  0644);
	unsigned char *shadow = calloc(1, SLOTS * SLOT);
	unsigned char *bufs = malloc(SLOTS * SLOT);
	struct test_req *r = calloc(SLOTS, sizeof(*r));
	struct tnfs_engine_stats s;
	struct tnfs_engine *e;
	unsigned int i, round, wrong = 0;
	char name[256];

	snprintf(name, sizeof(name), "%s", f);
	test_log_clear();
	{
		char *cfg = cfg4("export", name, extra), err[512];

		CHECK(test_engine_open(cfg, SLOTS * SLOT, 4096, &e, err,
				       sizeof(err)) == 0, "open: %s", err);
		free(cfg);
	}
	for (round = 0; round < rounds; round++) {
		for (i = 0; i < SLOTS; i++) {
			unsigned char *b = bufs + (size_t)i * SLOT;
			bool write = (round + i) % 3 != 0;

			if (write)
				test_fill(b, SLOT, round * SLOTS + i + 1);
			test_submit(e, &r[i], write ? TNFS_IO_WRITE :
				    TNFS_IO_READ, (uint64_t)i * SLOT, b, SLOT,
				    false);
		}
		for (i = 0; i < SLOTS; i++) {
			unsigned char *b = bufs + (size_t)i * SLOT;

			CHECK(test_wait(&r[i]) == 0, "round %u slot %u: %s",
			      round, i, tnfs_status_name(r[i].status));
			if (r[i].req.op == TNFS_IO_WRITE)
				memcpy(shadow + (size_t)i * SLOT, b, SLOT);
			else if (memcmp(b, shadow + (size_t)i * SLOT, SLOT))
				wrong++;
		}
	}
	CHECK(test_io(e, TNFS_IO_FLUSH, 0, NULL, 0) == 0, "flush");
	tnfs_engine_get_stats(e, &s);
	CHECK(wrong == 0, "%u reads differ from the last write", wrong);
	CHECK(s.transport.peak_rpcs_in_flight >= 16, "only %lu in flight",
	      (unsigned long)s.transport.peak_rpcs_in_flight);
	printf("load (%s): %lu writes, %lu reads, %lu COMMITs, peak %lu in "
	       "flight\n", extra ? extra : "", (unsigned long)s.io.writes,
	       (unsigned long)s.io.reads, (unsigned long)s.io.commits,
	       (unsigned long)s.transport.peak_rpcs_in_flight);
	tnfs_engine_close(e);
	CHECK_CONTAINS(test_log(), "NFSv4.1 session with");
	/* one session did it all: no slot or sequence went astray */
	CHECK(!strstr(test_log(), "session lost"), "session lost under "
	      "load:\n%s", test_log());
	test_read_back("export", name, 0, bufs, SLOTS * SLOT);
	CHECK(!memcmp(bufs, shadow, SLOTS * SLOT),
	      "the server's disk is not what was acknowledged");
	free(shadow);
	free(bufs);
	free(r);
}

static void case_load_commit(void)
{
	verify_load("stable=commit", 6);
}

static void case_load_datasync(void)
{
	verify_load("stable=datasync&nconnect=2", 4);
}

static void case_load_writeback(void)
{
	verify_load("cache=writeback", 6);
}

static void case_vers42(void)
{
	const char *f = test_file("export", "v42", M, 0, 0, 0, 0644);
	unsigned char buf[8192], back[8192];
	struct iovec iov = { buf, sizeof(buf) };
	char err[512], *cfg = test_cfg("export", f, "vers=4.2");
	struct tnfs_engine *e;

	CHECK(test_engine_open(cfg, M, 512, &e, err, sizeof(err)) == 0,
	      "open 4.2: %s", err);
	free(cfg);
	test_fill(buf, sizeof(buf), 42);
	CHECK(test_io(e, TNFS_IO_WRITE, 4096, &iov, 1) == 0, "write");
	iov.iov_base = back;
	CHECK(test_io(e, TNFS_IO_READ, 4096, &iov, 1) == 0, "read");
	CHECK(!memcmp(buf, back, sizeof(buf)), "data read back");
	CHECK_CONTAINS(test_log(), "NFSv4.2 session with");
	tnfs_engine_close(e);
}

/* The server's disk: bytes of @name allocated, and all of @len zero? */
static uint64_t file_alloc(const char *name)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s/export/%s", test_dir(), name);
	CHECK(stat(path, &st) == 0, "stat %s", path);
	return (uint64_t)st.st_blocks * 512;
}

static bool all_zero(const unsigned char *b, size_t len)
{
	size_t i;

	for (i = 0; i < len && !b[i]; i++)
		;
	return i == len;
}

/*
 * vers=4.2: the device is thin.  An UNMAP of 2 MiB in the middle of a
 * device at offset=1M reads back as zeros, the rest keeps its data, the
 * server's file has that range as a hole (its allocation shrinks by
 * it) and zeros there, and the byte before the device is untouched.
 */
static void case_unmap(void)
{
	const char *f = test_file("export", "unmap42", 5 * M, 0x5a, 0, 0,
				  0644);
	unsigned char *buf = malloc(4 * M), *back = malloc(4 * M);
	struct iovec iov = { buf, 4 * M }, range = { NULL, 2 * M };
	char err[512], *cfg = test_cfg("export", f,
				       "vers=4.2&offset=1048576");
	struct tnfs_engine_stats s;
	struct tnfs_engine *e;
	uint64_t before, after;

	CHECK(test_engine_open(cfg, 4 * M, 512, &e, err, sizeof(err)) == 0,
	      "open 4.2: %s", err);
	free(cfg);
	CHECK(tnfs_engine_can_unmap(e), "ganesha's 4.2 takes DEALLOCATE: "
	      "%s", test_log());
	test_fill(buf, 4 * M, 7);
	CHECK(test_io(e, TNFS_IO_WRITE, 0, &iov, 1) == 0, "write");
	before = file_alloc(f);
	CHECK(test_io(e, TNFS_IO_UNMAP, M, &range, 1) == 0, "unmap");
	after = file_alloc(f);
	CHECK(before - after >= 2 * M - 64 * K, "the file's allocation went "
	      "from %llu to %llu bytes only", (unsigned long long)before,
	      (unsigned long long)after);
	iov.iov_base = back;
	CHECK(test_io(e, TNFS_IO_READ, 0, &iov, 1) == 0, "read");
	CHECK(!memcmp(back, buf, M), "data before the range");
	CHECK(all_zero(back + M, 2 * M), "zeros where it was unmapped");
	CHECK(!memcmp(back + 3 * M, buf + 3 * M, M), "data after the range");
	tnfs_engine_get_stats(e, &s);
	CHECK(s.io.unmaps == 1, "unmaps %lu", (unsigned long)s.io.unmaps);
	CHECK(s.queued == 0, "queued %lu", (unsigned long)s.queued);
	tnfs_engine_close(e);
	test_read_back("export", f, 2 * M, back, 2 * M);
	CHECK(all_zero(back, 2 * M), "zeros in the server's file");
	test_read_back("export", f, M - 1, back, 1);
	CHECK(back[0] == 0x5a, "the byte before the device: %02x", back[0]);
	free(buf);
	free(back);
}

/*
 * Write-back: a write acknowledged but held, then an UNMAP over it.
 * The hole must win: the unmap waits until the held data is stable,
 * or the data, committed after it, would bring the blocks back.
 */
static void case_unmap_writeback(void)
{
	const char *f = test_file("export", "unmapwb", 2 * M, 0, 0, 0, 0644);
	unsigned char *buf = malloc(M), *back = malloc(M);
	struct iovec iov = { buf, M }, range = { NULL, M };
	char err[512], *cfg = test_cfg("export", f,
				       "vers=4.2&cache=writeback");
	struct tnfs_engine_stats s;
	struct tnfs_engine *e;

	CHECK(test_engine_open(cfg, 2 * M, 512, &e, err, sizeof(err)) == 0,
	      "open 4.2: %s", err);
	free(cfg);
	test_fill(buf, M, 11);
	CHECK(test_io(e, TNFS_IO_WRITE, M, &iov, 1) == 0, "write");
	tnfs_engine_get_stats(e, &s);
	/* else the case proves nothing: the write was already stable */
	CHECK(s.io.cache_bytes > 0, "the write is not held");
	CHECK(test_io(e, TNFS_IO_UNMAP, M, &range, 1) == 0, "unmap");
	tnfs_engine_get_stats(e, &s);
	CHECK(s.io.parked >= 1, "the unmap did not wait for the held data");
	CHECK(test_io(e, TNFS_IO_FLUSH, 0, NULL, 0) == 0, "flush");
	iov.iov_base = back;
	CHECK(test_io(e, TNFS_IO_READ, M, &iov, 1) == 0, "read");
	CHECK(all_zero(back, M), "zeros after the unmap");
	tnfs_engine_close(e);
	test_read_back("export", f, M, back, M);
	CHECK(all_zero(back, M), "zeros in the server's file");
	free(buf);
	free(back);
}

/* vers=4.1 (and 3): fully provisioned; an UNMAP fails NOTSUPP. */
static void case_unmap_41(void)
{
	const char *f = test_file("export", "unmap41", M, 0, 0, 0, 0644);
	struct iovec range = { NULL, 4096 };
	char err[512], *cfg = cfg4("export", f, NULL);
	char *cfg3 = test_cfg("export", f, NULL);
	struct tnfs_engine *e;

	CHECK(test_engine_open(cfg, M, 512, &e, err, sizeof(err)) == 0,
	      "open 4.1: %s", err);
	CHECK(!tnfs_engine_can_unmap(e), "4.1 says it can unmap");
	CHECK(test_io(e, TNFS_IO_UNMAP, 0, &range, 1) ==
	      TNFS_NFS3ERR_NOTSUPP, "unmap on 4.1");
	tnfs_engine_close(e);
	CHECK(test_engine_open(cfg3, M, 512, &e, err, sizeof(err)) == 0,
	      "open 3: %s", err);
	CHECK(!tnfs_engine_can_unmap(e), "v3 says it can unmap");
	CHECK(test_io(e, TNFS_IO_UNMAP, 0, &range, 1) ==
	      TNFS_NFS3ERR_NOTSUPP, "unmap on v3");
	tnfs_engine_close(e);
	free(cfg);
	free(cfg3);
}

struct async_io {
	struct tnfs_io_req req;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct test_restart *ctx;
	bool done;
	int status;
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

/*
 * ganesha restarted between the WRITEs and their COMMIT: a new write
 * verifier, and a server that forgot the session, the client ID and
 * the open.  The write completes only after its pieces were written
 * again under a new session and open, and its data is on the disk.
 */
static void case_restart(void)
{
	const char *f = test_file("export", "restart4", 4 * M, 0, 0, 0,
				  0644);
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

	cfg = cfg4("export", f, "offset=1048576&stable=commit");
	CHECK(test_engine_open(cfg, 2 * M, 512, &e, err, sizeof(err)) == 0,
	      "open: %s", err);
	free(cfg);
	tnfs_engine_set_commit_hook(e, test_restart_hook, &ctx);
	test_fill(buf, 2 * M, 99);
	a.req.op = TNFS_IO_WRITE;
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
	CHECK(a.status == 0, "write across a restart: %s",
	      tnfs_status_name(a.status));
	CHECK(ctx.restarts == 1, "server restarted %d times", ctx.restarts);
	CHECK(!ctx.done_before_commit, "write completed before its COMMIT");
	CHECK(s.io.resends >= 2, "%lu pieces re-sent after the verifier "
	      "change", (unsigned long)s.io.resends);
	CHECK_CONTAINS(test_log(), "NFSv4.1 session lost");
	CHECK_CONTAINS(test_log(), "NFSv4.1 open ");
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

/* An idle device keeps its lease: a write after 3 renew periods. */
static void case_idle_renew(void)
{
	const char *f = test_file("export", "idle4", M, 0, 0, 0, 0644);
	unsigned char buf[4096];
	struct iovec iov = { buf, sizeof(buf) };
	struct tnfs_engine *e;
	char err[512], *cfg = cfg4("export", f, NULL);

	CHECK(test_engine_open(cfg, M, 512, &e, err, sizeof(err)) == 0,
	      "open: %s", err);
	free(cfg);
	test_fill(buf, sizeof(buf), 1);
	CHECK(test_io(e, TNFS_IO_WRITE, 0, &iov, 1) == 0, "first write");
	test_log_clear();
	/* the test server's lease is 10 s (tests/nfs-server.sh), its
	 * reaper looks every 10 s: past both, twice */
	sleep(22);
	CHECK(test_io(e, TNFS_IO_WRITE, 4096, &iov, 1) == 0,
	      "write after the lease would have run out");
	CHECK(!strstr(test_log(), "session lost"), "session lost while "
	      "idle:\n%s", test_log());
	tnfs_engine_close(e);
}

/* Grown online: the checks again over v4.1, the file extended (create=1). */
static void case_resize(void)
{
	const char *f = test_file("export", "grow4", M, 0, 0, 0, 0644);
	struct tnfs_engine_params p = { .dev_size = 2 * M, .block_size = 512 };
	unsigned char buf[4096], back[4096];
	struct iovec iov = { buf, sizeof(buf) };
	char err[512], path[512], *cfg = cfg4("export", f, "create=1");
	struct tnfs_config c;
	struct tnfs_engine *e;
	struct stat st;

	CHECK(test_engine_open(cfg, M, 512, &e, err, sizeof(err)) == 0,
	      "open: %s", err);
	CHECK(tnfs_config_parse(cfg, &c, err, sizeof(err)) == 0, "%s", err);
	p.cfg = &c;
	CHECK(tnfs_engine_resize(e, &p, err, sizeof(err)) == 0, "grow: %s",
	      err);
	snprintf(path, sizeof(path), "%s/export/%s", test_dir(), f);
	CHECK(stat(path, &st) == 0 && st.st_size == (off_t)(2 * M),
	      "file size %ld after growing", (long)st.st_size);
	test_fill(buf, sizeof(buf), 3);
	CHECK(test_io(e, TNFS_IO_WRITE, 2 * M - 4096, &iov, 1) == 0,
	      "write past the old end");
	tnfs_engine_close(e);
	test_read_back("export", f, 2 * M - 4096, back, sizeof(back));
	CHECK(!memcmp(buf, back, sizeof(back)), "data past the old end");
	tnfs_config_free(&c);
	free(cfg);
}

/*
 * A server that forgets the session (and client ID) while it runs: the
 * engine thread held in a COMMIT hook past the 10 s lease, so that no
 * SEQUENCE renews it and ganesha's reaper expires the client.  The
 * COMMIT then finds the session gone; a new client ID, session and open
 * are made, and the write completes with its data on the disk.
 */
static void forget_hook(void *arg, unsigned int pieces)
{
	int *held = arg;

	if (!pieces || *held)
		return;
	*held = 1;
	sleep(25);
}

static void case_forgotten(void)
{
	const char *f = test_file("export", "forgot4", M, 0, 0, 0, 0644);
	unsigned char buf[65536], back[65536];
	struct iovec iov = { buf, sizeof(buf) };
	char err[512], *cfg = cfg4("export", f, "stable=commit&timeout=60");
	struct tnfs_engine *e;
	int held = 0;

	CHECK(test_engine_open(cfg, M, 512, &e, err, sizeof(err)) == 0,
	      "open: %s", err);
	free(cfg);
	test_log_clear();
	tnfs_engine_set_commit_hook(e, forget_hook, &held);
	test_fill(buf, sizeof(buf), 17);
	CHECK(test_io(e, TNFS_IO_WRITE, 65536, &iov, 1) == 0,
	      "write across a forgotten session");
	CHECK(held == 1, "the COMMIT hook did not run");
	/* else the case proved nothing: the server kept the session */
	CHECK_CONTAINS(test_log(), "NFSv4.1 session lost");
	CHECK_CONTAINS(test_log(), "NFSv4.1 open made again");
	iov.iov_base = back;
	CHECK(test_io(e, TNFS_IO_READ, 65536, &iov, 1) == 0, "read");
	CHECK(!memcmp(buf, back, sizeof(back)), "data read back");
	tnfs_engine_close(e);
	test_read_back("export", f, 65536, back, sizeof(back));
	CHECK(!memcmp(buf, back, sizeof(back)), "data on the disk");
}

static const struct test_case cases[] = {
	{ "open_checks", case_open_checks },
	{ "create", case_create },
	{ "load_commit", case_load_commit },
	{ "load_datasync", case_load_datasync },
	{ "load_writeback", case_load_writeback },
	{ "vers42", case_vers42 },
	{ "unmap", case_unmap },
	{ "unmap_writeback", case_unmap_writeback },
	{ "unmap_41", case_unmap_41 },
	{ "restart", case_restart },
	{ "idle_renew", case_idle_renew },
	{ "resize", case_resize },
	{ "forgotten", case_forgotten },
};

int main(int argc, char **argv)
{
	return test_run(cases, sizeof(cases) / sizeof(cases[0]), argc, argv,
			check_report, "test_v4");
}
