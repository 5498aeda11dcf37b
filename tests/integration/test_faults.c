// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Faults: a hung server (timeout=), and what nfs_fault_proxy makes
 * happen on demand: lost unstable writes, cuts, stalls, blackholes.
 * Against the real ganesha started by the CTest fixture; data is checked
 * on the server's disk, not only through the engine.
 * One case: test_faults CASE.
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

/* A stalled server: commands fail, retryably, within the timeout. */
static void case_timeout(void)
{
	const char *f = test_file("export", "stall", M, 0, 0, 0, 0644);
	unsigned char buf[4096];
	struct iovec iov = { buf, sizeof(buf) };
	struct tnfs_engine *e = test_open_dev(f, "timeout=2", M);
	struct timespec t0, t1;
	double secs;
	int ret;

	CHECK(test_io(e, TNFS_IO_READ, 0, &iov, 1) == 0, "read");
	test_server("freeze");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ret = test_io(e, TNFS_IO_WRITE, 0, &iov, 1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	test_server("thaw");
	secs = (double)(t1.tv_sec - t0.tv_sec) +
	       (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	CHECK(ret == TNFS_IO_ERR_TRANSPORT, "write to a stalled server: %d",
	      ret);
	CHECK(tnfs_status_transient(ret), "not retryable");
	CHECK(secs >= 1.5 && secs < 10, "failed after %.1f s with timeout=2",
	      secs);
	printf("timeout: stalled write failed after %.1f s\n", secs);
	/* the server is back: I/O works again on the same engine */
	CHECK(test_io(e, TNFS_IO_WRITE, 0, &iov, 1) == 0, "write after stall");
	CHECK(test_io(e, TNFS_IO_READ, 0, &iov, 1) == 0, "read after stall");
	tnfs_engine_close(e);
}

/* ---- faults from nfs_fault_proxy ---- */

struct stable_check {
	const char *file;
	uint64_t disk_off;
	const unsigned char *want;
	size_t len;
	bool on_disk_at_done;
};

static struct stable_check stable_check;

/* Runs on the engine thread as the command completes: is it on disk? */
static void check_done(struct tnfs_io_req *req, int status)
{
	unsigned char *back = malloc(stable_check.len);

	test_read_back("export", stable_check.file, stable_check.disk_off,
		       back, stable_check.len);
	stable_check.on_disk_at_done =
		!memcmp(back, stable_check.want, stable_check.len);
	free(back);
	test_req_done(req, status);
}

/*
 * The server "loses" UNSTABLE writes: the proxy swallows the WRITEs,
 * answers them with verifier A, and the COMMIT with verifier B.  The
 * engine must write again, and complete nothing before the data is on
 * the server's disk.  In write-back mode the WRITE is acknowledged, and
 * SYNCHRONIZE CACHE is what must wait.
 */
static void lost_writes(bool writeback)
{
	const char *f = test_file("export", writeback ? "lostwb" : "lost",
				  2 * M, 0, 0, 0, 0644);
	unsigned char *buf = malloc(512 * K), *back = malloc(512 * K);
	char ctl[512], extra[128], name[256];
	struct tnfs_engine_stats s;
	struct tnfs_engine *e;
	struct test_req w, fl;
	int port;

	snprintf(name, sizeof(name), "%s", f);
	port = test_proxy_start(ctl, sizeof(ctl));
	snprintf(extra, sizeof(extra), "nfsport=%d%s", port,
		 writeback ? "&cache=writeback" : "");
	{
		char err[512], *cfg;

		if (asprintf(&cfg, "127.0.0.1/export/%s?mountport=20048&%s",
			     name, extra) < 0)
			abort();
		CHECK(test_engine_open(cfg, 2 * M, 512, &e, err,
				       sizeof(err)) == 0, "open: %s", err);
		free(cfg);
	}
	test_fill(buf, 512 * K, writeback ? 51 : 52);
	stable_check = (struct stable_check){ name, M, buf, 512 * K, false };
	/* "all": under NFS_TEST_STABLE=datasync the WRITEs are stable ones */
	test_proxy(ctl, "lose-writes all");

	if (!writeback) {
		test_submit_cb(e, &w, TNFS_IO_WRITE, M, buf, 512 * K, false,
			       check_done);
		CHECK(test_wait(&w) == 0, "write across lost data: %d",
		      w.status);
		CHECK(stable_check.on_disk_at_done, "write completed before "
		      "its data was on the server's disk");
	} else {
		test_submit(e, &w, TNFS_IO_WRITE, M, buf, 512 * K, false);
		CHECK(test_wait(&w) == 0, "write-back write");
		test_submit_cb(e, &fl, TNFS_IO_FLUSH, 0, NULL, 0, false,
			       check_done);
		CHECK(test_wait(&fl) == 0, "flush across lost data: %d",
		      fl.status);
		CHECK(stable_check.on_disk_at_done, "flush completed before "
		      "the acknowledged data was on the server's disk");
	}
	tnfs_engine_get_stats(e, &s);
	CHECK(s.io.resends >= 1, "nothing re-sent after the verifier changed");
	printf("lost writes (%s): %lu pieces re-sent, %lu COMMITs\n",
	       writeback ? "write-back" : "write-through",
	       (unsigned long)s.io.resends, (unsigned long)s.io.commits);
	tnfs_engine_close(e);
	test_proxy_stop(ctl);
	test_read_back("export", name, M, back, 512 * K);
	CHECK(!memcmp(buf, back, 512 * K), "data on disk");
	free(buf);
	free(back);
}

static void case_lost_writes(void)
{
	lost_writes(false);
}

static void case_lost_writes_writeback(void)
{
	lost_writes(true);
}

/*
 * Connections cut, replies stalled and a blackhole longer than the RPC
 * timeout, under verifying load: every command completes exactly once,
 * with the right data or a retryable error.
 */
static void case_proxy_faults(void)
{
	const uint64_t dev = 32 * 64 * K;
	const char *f = test_file("export", "faults", dev, 0, 0, 0, 0644);
	unsigned char *shadow = calloc(1, dev), *back = malloc(dev);
	struct test_req *r = calloc(32, sizeof(*r));
	unsigned char *bufs = malloc(dev);
	char ctl[512], name[256], err[512], *cfg;
	bool tainted[32] = { false };
	int port, round, i, done_twice = 0, retryable = 0, hard = 0;
	struct tnfs_engine *e;
	const char *faults[] = { "cut", "stall", "resume", "cut",
				 "blackhole 3", "delay 300", "delay 0" };

	snprintf(name, sizeof(name), "%s", f);
	port = test_proxy_start(ctl, sizeof(ctl));
	if (asprintf(&cfg, "127.0.0.1/export/%s?mountport=20048&nfsport=%d"
		     "&timeout=2", name, port) < 0)
		abort();
	CHECK(test_engine_open(cfg, dev, 4096, &e, err, sizeof(err)) == 0,
	      "open: %s", err);
	free(cfg);
	for (round = 0; round < 14; round++) {
		for (i = 0; i < 32; i++) {
			unsigned char *b = bufs + (size_t)i * 64 * K;
			bool write = (round + i) % 3 != 0;

			if (write)
				test_fill(b, 64 * K,
					  (unsigned)(round * 32 + i));
			test_submit(e, &r[i], write ? TNFS_IO_WRITE :
				    TNFS_IO_READ, (uint64_t)i * 64 * K, b,
				    64 * K, false);
		}
		if (round % 2 == 0)
			test_proxy(ctl, faults[(round / 2) % 7]);
		for (i = 0; i < 32; i++) {
			unsigned char *b = bufs + (size_t)i * 64 * K;
			int st = test_wait(&r[i]);

			if (st && tnfs_status_transient(st)) {
				/*
				 * A timed-out WRITE may still run on the
				 * server later (ganesha runs one
				 * connection's requests in parallel), even
				 * after a newer write: the slot is unknown
				 * until the faults are over.
				 */
				retryable++;
				if (r[i].req.op == TNFS_IO_WRITE)
					tainted[i] = true;
				continue;
			}
			if (st) {
				hard++;
				continue;
			}
			if (r[i].req.op == TNFS_IO_WRITE) {
				memcpy(shadow + (size_t)i * 64 * K, b, 64 * K);
			} else if (!tainted[i]) {
				CHECK(!memcmp(b, shadow + (size_t)i * 64 * K,
					      64 * K), "round %d slot %d: read "
				      "differs", round, i);
			}
		}
	}
	test_proxy(ctl, "resume");
	test_proxy(ctl, "delay 0");
	/* exactly once: test_req_done would have run again on a later wakeup */
	usleep(300 * 1000);
	for (i = 0; i < 32; i++)
		if (!r[i].done)
			done_twice++;
	CHECK(done_twice == 0, "commands not completed");
	CHECK(hard == 0, "%d commands failed with a non-retryable error",
	      hard);
	/* let stale requests drain, then write every tainted slot again */
	sleep(3);
	for (i = 0; i < 32; i++) {
		struct iovec iov = { bufs + (size_t)i * 64 * K, 64 * K };

		if (!tainted[i])
			continue;
		test_fill(iov.iov_base, 64 * K, 1000u + (unsigned)i);
		CHECK(test_io(e, TNFS_IO_WRITE, (uint64_t)i * 64 * K, &iov,
			      1) == 0, "rewrite of slot %d after faults", i);
		memcpy(shadow + (size_t)i * 64 * K, iov.iov_base, 64 * K);
	}
	CHECK(test_io(e, TNFS_IO_FLUSH, 0, NULL, 0) == 0, "flush after faults");
	tnfs_engine_close(e);
	test_proxy_stop(ctl);
	test_read_back("export", name, 0, back, dev);
	for (i = 0; i < 32; i++)
		CHECK(!memcmp(back + (size_t)i * 64 * K,
			      shadow + (size_t)i * 64 * K, 64 * K),
		      "slot %d on disk differs", i);
	printf("proxy faults: %d commands failed retryably, none otherwise\n",
	       retryable);
	free(r);
	free(bufs);
	free(shadow);
	free(back);
}

static const struct test_case cases[] = {
	{ "timeout", case_timeout },
	{ "lost_writes", case_lost_writes },
	{ "lost_writes_writeback", case_lost_writes_writeback },
	{ "proxy_faults", case_proxy_faults },
};

int main(int argc, char **argv)
{
	return test_run(cases, sizeof(cases) / sizeof(cases[0]), argc, argv,
			check_report, "test_faults");
}
