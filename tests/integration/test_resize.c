// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Growing an open device (tnfs_engine_resize, docs/resize.md): I/O past
 * the old end fails before and succeeds after; a file too small is
 * refused and the device keeps its size; create=1 extends the file
 * sparsely; shrinking is refused; a reconnect checks the file against
 * the new end; commands in flight across the switch all complete.
 * Against the real ganesha started by the CTest fixture.
 * One case: test_resize CASE.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../check.h"
#include "tnfs_config.h"
#include "tnfs_status.h"
#include "nfs_test_env.h"

#define K 1024ull
#define M (1024ull * 1024)

/* tnfs_engine_resize with the configuration the device was opened with */
static int resize(struct tnfs_engine *e, const char *cfgstring,
		  uint64_t size, char *err, size_t err_len)
{
	struct tnfs_engine_params p = { .dev_size = size, .block_size = 512 };
	struct tnfs_config cfg;
	int ret;

	ret = tnfs_config_parse(cfgstring, &cfg, err, err_len);
	CHECK(ret == 0, "parse %s: %s", cfgstring, err);
	if (ret)
		return ret;
	p.cfg = &cfg;
	ret = tnfs_engine_resize(e, &p, err, err_len);
	tnfs_config_free(&cfg);
	return ret;
}

static void local_path(char *path, size_t len, const char *f)
{
	snprintf(path, len, "%s/export/%s", test_dir(), f);
}

/* Grow 1 -> 4 MiB with writes queued across the switch. */
static void case_grow(void)
{
	const char *f = test_file("export", "grow", 4 * M, 0, 0, 0, 0644);
	unsigned char *buf = malloc(64 * K), *back = malloc(64 * K);
	struct iovec iov = { buf, 64 * K };
	struct test_req reqs[16];
	char err[512], *cfg = test_cfg("export", f, NULL);
	struct tnfs_engine *e;
	int i;

	e = test_open_dev(f, NULL, M);
	test_fill(buf, 64 * K, 21);
	CHECK(test_io(e, TNFS_IO_WRITE, 2 * M, &iov, 1) == TNFS_IO_ERR_RANGE,
	      "write past the end before the resize");
	/* in flight while the engine switches: none lost */
	for (i = 0; i < 16; i++)
		test_submit(e, &reqs[i], TNFS_IO_WRITE, (uint64_t)i * 64 * K,
			    buf, 64 * K, false);
	test_log_clear();
	CHECK(resize(e, cfg, 4 * M, err, sizeof(err)) == 0, "resize: %s",
	      err);
	CHECK_CONTAINS(test_log(), "grew from 1048576 to 4194304 bytes");
	for (i = 0; i < 16; i++)
		CHECK(test_wait(&reqs[i]) == 0, "write %d across the resize: "
		      "%d", i, reqs[i].status);
	CHECK(test_io(e, TNFS_IO_WRITE, 2 * M, &iov, 1) == 0,
	      "write past the old end");
	CHECK(test_io(e, TNFS_IO_WRITE, 4 * M - 64 * K, &iov, 1) == 0,
	      "write at the new end");
	CHECK(test_io(e, TNFS_IO_WRITE, 4 * M, &iov, 1) == TNFS_IO_ERR_RANGE,
	      "write past the new end");
	/* the same size again (restoreconfig): nothing to do */
	CHECK(resize(e, cfg, 4 * M, err, sizeof(err)) == 0, "same size: %s",
	      err);
	tnfs_engine_close(e);
	test_read_back("export", f, 2 * M, back, 64 * K);
	CHECK(!memcmp(buf, back, 64 * K), "data past the old end on disk");
	test_read_back("export", f, 4 * M - 64 * K, back, 64 * K);
	CHECK(!memcmp(buf, back, 64 * K), "data at the new end on disk");
	free(cfg);
	free(buf);
	free(back);
}

/* A file too small, or a smaller size: refused, the device unchanged. */
static void case_refused(void)
{
	const char *f = test_file("export", "small", 2 * M, 0, 0, 0, 0644);
	unsigned char buf[4096];
	struct iovec iov = { buf, sizeof(buf) };
	char err[512], *cfg = test_cfg("export", f, "offset=1048576");
	struct tnfs_engine *e;

	e = test_open_dev(f, "offset=1048576", 512 * K);
	memset(buf, 0x11, sizeof(buf));
	CHECK(resize(e, cfg, 2 * M, err, sizeof(err)) < 0, "grew past the "
	      "file");
	CHECK_CONTAINS(err, "region after offset 1048576 is 1048576 bytes, "
		       "smaller than the device size 2097152");
	CHECK(test_io(e, TNFS_IO_WRITE, 256 * K, &iov, 1) == 0,
	      "write inside the old size after a refused resize");
	CHECK(test_io(e, TNFS_IO_WRITE, 512 * K, &iov, 1) ==
	      TNFS_IO_ERR_RANGE, "the refused size was taken");
	CHECK(resize(e, cfg, 256 * K, err, sizeof(err)) == -EINVAL,
	      "shrink accepted");
	CHECK_CONTAINS(err, "shrinking from 524288 to 262144 bytes is "
		       "refused: data past the new end would be lost");
	CHECK(test_io(e, TNFS_IO_WRITE, 512 * K - 4096, &iov, 1) == 0,
	      "the end after a refused shrink");
	/* up to the file's end exactly: fine */
	CHECK(resize(e, cfg, M, err, sizeof(err)) == 0, "grow to the file's "
	      "end: %s", err);
	CHECK(test_io(e, TNFS_IO_WRITE, M - 4096, &iov, 1) == 0,
	      "write at the file's end");
	tnfs_engine_close(e);
	free(cfg);
}

/* create=1: the file grows with the device, sparse. */
static void case_create_extends(void)
{
	const char *f = test_new_name("grown");
	char err[512], path[512], *cfg = test_cfg("export", f, "create=1");
	unsigned char buf[4096], back[4096];
	struct iovec iov = { buf, sizeof(buf) };
	struct tnfs_engine *e;
	struct stat st;

	e = test_open_dev(f, "create=1", M);
	local_path(path, sizeof(path), f);
	CHECK(stat(path, &st) == 0 && st.st_size == (off_t)M, "created size");
	test_log_clear();
	CHECK(resize(e, cfg, 64 * M, err, sizeof(err)) == 0, "resize: %s",
	      err);
	CHECK_CONTAINS(test_log(), "extended /export/");
	CHECK_CONTAINS(test_log(), "from 1048576 to 67108864 bytes");
	CHECK(stat(path, &st) == 0 && st.st_size == (off_t)(64 * M),
	      "file size %lld after growing", (long long)st.st_size);
	/* sparse: far fewer blocks than 64 MiB */
	CHECK((uint64_t)st.st_blocks * 512 < 8 * M, "%lld blocks: not "
	      "sparse", (long long)st.st_blocks);
	test_fill(buf, sizeof(buf), 4);
	CHECK(test_io(e, TNFS_IO_WRITE, 64 * M - 4096, &iov, 1) == 0,
	      "write at the new end");
	tnfs_engine_close(e);
	test_read_back("export", f, 64 * M - 4096, back, sizeof(back));
	CHECK(!memcmp(buf, back, sizeof(buf)), "data at the new end");
	free(cfg);
}

/* Write-back data held across the switch stays held, then is flushed. */
static void case_writeback(void)
{
	const char *f = test_file("export", "wbgrow", 8 * M, 0, 0, 0, 0644);
	unsigned char *buf = malloc(256 * K), *back = malloc(256 * K);
	struct iovec iov = { buf, 256 * K };
	char err[512], *cfg = test_cfg("export", f, "cache=writeback");
	struct test_req w, r;
	struct tnfs_engine *e;

	e = test_open_dev(f, "cache=writeback", 2 * M);
	test_fill(buf, 256 * K, 8);
	CHECK(test_io(e, TNFS_IO_WRITE, M, &iov, 1) == 0, "write-back write");
	CHECK(resize(e, cfg, 8 * M, err, sizeof(err)) == 0, "resize: %s",
	      err);
	/* a read over data possibly still held waits for it: same bytes */
	test_submit(e, &r, TNFS_IO_READ, M, back, 256 * K, false);
	CHECK(test_wait(&r) == 0, "read back");
	CHECK(!memcmp(buf, back, 256 * K), "data across the resize");
	test_submit(e, &w, TNFS_IO_WRITE, 6 * M, buf, 256 * K, false);
	CHECK(test_wait(&w) == 0, "write-back write past the old end");
	CHECK(test_io(e, TNFS_IO_FLUSH, 0, NULL, 0) == 0, "flush");
	tnfs_engine_close(e);
	test_read_back("export", f, 6 * M, back, 256 * K);
	CHECK(!memcmp(buf, back, 256 * K), "flushed data past the old end");
	free(cfg);
	free(buf);
	free(back);
}

/*
 * Past 64 GiB the write-back map's granule gets coarser: the map is
 * rebuilt from the held chunks, and both ends still work.
 */
static void case_writeback_huge(void)
{
	const uint64_t huge = 128ull << 30, far = 100ull << 30;
	const char *f = test_new_name("huge");
	unsigned char *buf = malloc(256 * K), *back = malloc(256 * K);
	struct iovec iov = { buf, 256 * K };
	char err[512], *cfg = test_cfg("export", f,
				       "create=1&cache=writeback");
	struct tnfs_engine *e;

	e = test_open_dev(f, "create=1&cache=writeback", 2 * M);
	test_fill(buf, 256 * K, 12);
	CHECK(test_io(e, TNFS_IO_WRITE, 0, &iov, 1) == 0, "write-back write");
	CHECK(resize(e, cfg, huge, err, sizeof(err)) == 0, "resize to 128 "
	      "GiB: %s", err);
	iov.iov_base = back;
	CHECK(test_io(e, TNFS_IO_READ, 0, &iov, 1) == 0, "read back");
	CHECK(!memcmp(buf, back, 256 * K), "held data across the rebuild");
	iov.iov_base = buf;
	CHECK(test_io(e, TNFS_IO_WRITE, far, &iov, 1) == 0, "write at 100 GiB");
	CHECK(test_io(e, TNFS_IO_WRITE, huge - 256 * K, &iov, 1) == 0,
	      "write at the new end");
	CHECK(test_io(e, TNFS_IO_FLUSH, 0, NULL, 0) == 0, "flush");
	tnfs_engine_close(e);
	test_read_back("export", f, far, back, 256 * K);
	CHECK(!memcmp(buf, back, 256 * K), "data at 100 GiB on disk");
	free(cfg);
	free(buf);
	free(back);
}

/* A reconnect must find the file as big as the grown device. */
static void case_reconnect_checks_new_end(void)
{
	const char *f = test_file("export", "shrunk", 4 * M, 0, 0, 0, 0644);
	unsigned char buf[4096];
	struct iovec iov = { buf, sizeof(buf) };
	char err[512], path[512], *cfg = test_cfg("export", f, NULL);
	struct tnfs_engine *e;
	int ret;

	memset(buf, 0x33, sizeof(buf));
	e = test_open_dev(f, NULL, M);
	CHECK(resize(e, cfg, 4 * M, err, sizeof(err)) == 0, "resize: %s",
	      err);
	CHECK(test_io(e, TNFS_IO_WRITE, 0, &iov, 1) == 0, "write");
	/* 3 MiB would satisfy the old end, not the new one */
	local_path(path, sizeof(path), f);
	CHECK(truncate(path, 3 * M) == 0, "truncate %s", path);
	test_log_clear();
	test_server("restart");
	ret = test_io(e, TNFS_IO_WRITE, 0, &iov, 1);
	CHECK(ret != 0, "write to a file shorter than the device succeeded");
	CHECK_CONTAINS(test_log(), "the backing file shrank to 3145728 "
		       "bytes, below the device's end at 4194304");
	tnfs_engine_close(e);
	free(cfg);
}

static const struct test_case cases[] = {
	{ "grow", case_grow },
	{ "refused", case_refused },
	{ "create_extends", case_create_extends },
	{ "writeback", case_writeback },
	{ "writeback_huge", case_writeback_huge },
	{ "reconnect_checks_new_end", case_reconnect_checks_new_end },
};

int main(int argc, char **argv)
{
	return test_run(cases, sizeof(cases) / sizeof(cases[0]), argc, argv,
			check_report, "test_resize");
}
