// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Write-back (cache=writeback): acknowledged on UNSTABLE, stable by
 * SYNCHRONIZE CACHE and FUA, bounded by cache_max, re-sent after a
 * server restart.
 * Against the real ganesha started by the CTest fixture; data is checked
 * on the server's disk, not only through the engine.
 * One case: test_writeback CASE.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../check.h"
#include "tnfs_status.h"
#include "nfs_test_env.h"

#define K 1024ull
#define M (1024ull * 1024)

/*
 * Acknowledged on the UNSTABLE reply, stable after SYNCHRONIZE CACHE;
 * FUA writes wait for their COMMIT; reads of held data wait too.
 */
static void case_writeback(void)
{
	const char *f = test_file("export", "wb", 8 * M, 0, 0, 0, 0644);
	unsigned char *buf = malloc(2 * M), *back = malloc(2 * M);
	struct tnfs_engine_stats s;
	struct test_req w, r, fl;
	/* FUA through a COMMIT here; test_stable's fua_datasync: DATA_SYNC */
	struct tnfs_engine *e = test_open_dev(f, "cache=writeback&"
					      "stable=commit", 8 * M);

	test_fill(buf, 2 * M, 21);
	test_submit(e, &w, TNFS_IO_WRITE, 0, buf, 2 * M, false);
	CHECK(test_wait(&w) == 0, "write-back write");
	CHECK(w.commits_at_done == w.commits_at_submit,
	      "write-back write waited for a COMMIT");
	CHECK(w.cache_at_done == 2 * M, "held %lu bytes at ack",
	      (unsigned long)w.cache_at_done);

	/* a read of held data waits until it is stable, then sees it */
	test_submit(e, &r, TNFS_IO_READ, 0, back, 2 * M, false);
	CHECK(test_wait(&r) == 0, "read after write-back write");
	CHECK(!memcmp(buf, back, 2 * M), "read sees the acknowledged data");
	CHECK(r.commits_at_done > r.commits_at_submit,
	      "read of held data did not wait for a COMMIT");
	tnfs_engine_get_stats(e, &s);
	CHECK(s.io.parked >= 1, "the read was not held back");

	test_fill(buf, 2 * M, 22);
	test_submit(e, &w, TNFS_IO_WRITE, 4 * M, buf, 2 * M, false);
	CHECK(test_wait(&w) == 0, "second write");
	test_submit(e, &fl, TNFS_IO_FLUSH, 0, NULL, 0, false);
	CHECK(test_wait(&fl) == 0, "flush");
	tnfs_engine_get_stats(e, &s);
	CHECK(s.io.cache_bytes == 0, "%lu bytes still held after the flush",
	      (unsigned long)s.io.cache_bytes);
	CHECK(fl.commits_at_done > fl.commits_at_submit, "flush without a "
	      "COMMIT");
	test_read_back("export", f, 4 * M, back, 2 * M);
	CHECK(!memcmp(buf, back, 2 * M), "flushed data on disk");

	/* FUA: stable before it completes */
	test_fill(buf, 64 * K, 23);
	test_submit(e, &w, TNFS_IO_WRITE, 7 * M, buf, 64 * K, true);
	CHECK(test_wait(&w) == 0, "FUA write");
	CHECK(w.commits_at_done > w.commits_at_submit,
	      "FUA write completed before a COMMIT");
	test_read_back("export", f, 7 * M, back, 64 * K);
	CHECK(!memcmp(buf, back, 64 * K), "FUA data on disk");

	/* close commits what is still held */
	test_fill(buf, M, 24);
	test_submit(e, &w, TNFS_IO_WRITE, 6 * M, buf, M, false);
	CHECK(test_wait(&w) == 0, "last write");
	tnfs_engine_close(e);
	test_read_back("export", f, 6 * M, back, M);
	CHECK(!memcmp(buf, back, M), "held data committed by close");
	free(buf);
	free(back);
}

/* Memory is bounded: writes beyond cache_max wait for COMMITs. */
static void case_writeback_bounded(void)
{
	const char *f = test_file("export", "wbmax", 16 * M, 0, 0, 0, 0644);
	unsigned char *buf = malloc(16 * M), *back = malloc(16 * M);
	struct tnfs_engine *e = test_open_dev(f, "cache=writeback&"
					      "cache_max=2097152", 16 * M);
	struct test_req w[32], fl;
	struct tnfs_engine_stats s;
	uint64_t most = 0;
	int i;

	test_fill(buf, 16 * M, 31);
	for (i = 0; i < 32; i++)
		test_submit(e, &w[i], TNFS_IO_WRITE, (uint64_t)i * 512 * K,
			    buf + (size_t)i * 512 * K, 512 * K, false);
	for (i = 0; i < 32; i++) {
		CHECK(test_wait(&w[i]) == 0, "write %d", i);
		if (w[i].cache_at_done > most)
			most = w[i].cache_at_done;
	}
	tnfs_engine_get_stats(e, &s);
	CHECK(most <= 2 * M, "held %lu bytes with cache_max 2 MiB",
	      (unsigned long)most);
	CHECK(s.io.parked > 0, "no write waited for memory");
	test_submit(e, &fl, TNFS_IO_FLUSH, 0, NULL, 0, false);
	CHECK(test_wait(&fl) == 0, "flush");
	tnfs_engine_close(e);
	test_read_back("export", f, 0, back, 16 * M);
	CHECK(!memcmp(buf, back, 16 * M), "bounded write-back data on disk");
	printf("bounded: at most %lu bytes held, %lu requests waited\n",
	       (unsigned long)most, (unsigned long)s.io.parked);
	free(buf);
	free(back);
}

/* Write-back across a server restart: acknowledged data is re-sent. */
static void case_writeback_restart(void)
{
	const char *f = test_file("export", "wbrs", 4 * M, 0, 0, 0, 0644);
	unsigned char *buf = malloc(2 * M), *back = malloc(2 * M);
	struct test_restart ctx = { false, false, 0 };
	struct tnfs_engine *e = test_open_dev(f, "cache=writeback", 4 * M);
	struct tnfs_engine_stats s;
	struct test_req w, fl;

	tnfs_engine_set_commit_hook(e, test_restart_hook, &ctx);
	test_fill(buf, 2 * M, 41);
	test_submit(e, &w, TNFS_IO_WRITE, M, buf, 2 * M, false);
	CHECK(test_wait(&w) == 0, "write");
	test_submit(e, &fl, TNFS_IO_FLUSH, 0, NULL, 0, false);
	CHECK(test_wait(&fl) == 0, "flush across a restart: %d", fl.status);
	tnfs_engine_get_stats(e, &s);
	CHECK(ctx.restarts == 1, "restarts %d", ctx.restarts);
	CHECK(s.io.resends >= 2, "%lu re-sent", (unsigned long)s.io.resends);
	CHECK(s.io.cache_bytes == 0, "still held after flush");
	tnfs_engine_close(e);
	test_read_back("export", f, M, back, 2 * M);
	CHECK(!memcmp(buf, back, 2 * M), "data after restart");
	free(buf);
	free(back);
}

static const struct test_case cases[] = {
	{ "writeback", case_writeback },
	{ "writeback_bounded", case_writeback_bounded },
	{ "writeback_restart", case_writeback_restart },
};

int main(int argc, char **argv)
{
	return test_run(cases, sizeof(cases) / sizeof(cases[0]), argc, argv,
			check_report, "test_writeback");
}
