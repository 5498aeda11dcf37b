// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The stable-write paths against the real ganesha, each forced with its
 * stable= key: UNSTABLE + COMMIT, DATA_SYNC, FILE_SYNC, and auto (which
 * must run both).  Every write is checked on the server's disk at the
 * moment it completes, and the counters show which RPCs carried it.
 * The suites that matter for durability (test_faults, test_transport,
 * the soak) run again under each path through NFS_TEST_STABLE (CTest
 * label "policy"); this file proves each path is really taken.
 * One case: test_stable CASE.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../check.h"
#include "nfs_test_env.h"

#define BS 4096u
#define DEPTH 8
#define WAVES 40
#define DEV (4u << 20)

struct stable_req {
	struct test_req t;
	const char *file;
	unsigned char buf[BS];
	bool on_disk_at_done;
};

/* On the engine thread, as the write completes: is it on the disk? */
static void on_disk_done(struct tnfs_io_req *req, int status)
{
	struct stable_req *r = (struct stable_req *)req->priv;
	unsigned char back[BS];

	test_read_back("export", r->file, req->offset, back, BS);
	r->on_disk_at_done = !memcmp(back, r->buf, BS);
	test_req_done(req, status);
}

static void run_mode(const char *mode)
{
	const char *f = test_file("export", mode, DEV, 0, 0, 0, 0644);
	struct stable_req *r = calloc(DEPTH, sizeof(*r));
	unsigned char *shadow = calloc(1, DEV), *back = malloc(DEV);
	unsigned int wave, i, bad = 0, failed = 0;
	struct tnfs_engine_stats s;
	struct tnfs_engine *e;
	char extra[64], name[256];

	snprintf(name, sizeof(name), "%s", f);
	snprintf(extra, sizeof(extra), "stable=%s", mode);
	e = test_open_dev(name, extra, DEV);
	for (wave = 0; wave < WAVES; wave++) {
		for (i = 0; i < DEPTH; i++) {
			/* distinct blocks within a wave */
			uint64_t off = ((uint64_t)(rand() % (DEV / BS / DEPTH))
					* DEPTH + i) * BS;

			r[i].file = name;
			test_fill(r[i].buf, BS, wave * DEPTH + i);
			memcpy(shadow + off, r[i].buf, BS);
			test_submit_cb(e, &r[i].t, TNFS_IO_WRITE, off,
				       r[i].buf, BS, false, on_disk_done);
			r[i].t.req.priv = &r[i];
		}
		for (i = 0; i < DEPTH; i++) {
			if (test_wait(&r[i].t))
				failed++;
			else if (!r[i].on_disk_at_done)
				bad++;
		}
	}
	tnfs_engine_get_stats(e, &s);
	tnfs_engine_close(e);
	CHECK(!failed, "stable=%s: %u writes failed", mode, failed);
	CHECK(!bad, "stable=%s: %u writes completed before their data was on "
	      "the server's disk", mode, bad);
	if (!strcmp(mode, "commit"))
		CHECK(s.io.stable_rpcs == 0 && s.io.commits > 0,
		      "stable=commit: "
		      "%llu stable WRITEs, %llu COMMITs",
		      (unsigned long long)s.io.stable_rpcs,
		      (unsigned long long)s.io.commits);
	else if (!strcmp(mode, "auto"))
		CHECK(s.io.stable_rpcs > 0 && s.io.commits > 0,
		      "stable=auto ran "
		      "one path only: %llu stable WRITEs, %llu COMMITs",
		      (unsigned long long)s.io.stable_rpcs,
		      (unsigned long long)s.io.commits);
	else
		CHECK(s.io.stable_rpcs == s.io.writes && s.io.commits == 0,
		      "stable=%s: %llu stable WRITEs for %llu writes, %llu "
		      "COMMITs", mode, (unsigned long long)s.io.stable_rpcs,
		      (unsigned long long)s.io.writes,
		      (unsigned long long)s.io.commits);
	printf("stable=%s: %llu writes, %llu stable WRITEs, %llu COMMITs\n",
	       mode, (unsigned long long)s.io.writes,
	       (unsigned long long)s.io.stable_rpcs,
	       (unsigned long long)s.io.commits);
	test_read_back("export", name, 0, back, DEV);
	CHECK(!memcmp(back, shadow, DEV), "stable=%s: server disk differs "
	      "from the model", mode);
	free(r);
	free(shadow);
	free(back);
}

static void case_commit(void)
{
	run_mode("commit");
}

static void case_datasync(void)
{
	run_mode("datasync");
}

static void case_filesync(void)
{
	run_mode("filesync");
}

static void case_auto(void)
{
	run_mode("auto");
}

/*
 * Write-back: only FUA writes wait for stable, so only they go DATA_SYNC;
 * the others are acknowledged on an UNSTABLE reply as always.
 */
static void case_fua_datasync(void)
{
	const char *f = test_file("export", "fua", DEV, 0, 0, 0, 0644);
	struct stable_req *r = calloc(2, sizeof(*r));
	struct tnfs_engine_stats s;
	struct tnfs_engine *e;
	char name[256];

	snprintf(name, sizeof(name), "%s", f);
	e = test_open_dev(name, "cache=writeback&stable=datasync", DEV);
	r[0].file = name;
	test_fill(r[0].buf, BS, 901);
	test_submit_cb(e, &r[0].t, TNFS_IO_WRITE, 0, r[0].buf, BS, false,
		       test_req_done);
	CHECK(test_wait(&r[0].t) == 0, "write-back write");
	tnfs_engine_get_stats(e, &s);
	CHECK(s.io.stable_rpcs == 0, "a write-back write went stable");
	r[1].file = name;
	test_fill(r[1].buf, BS, 902);
	test_submit_cb(e, &r[1].t, TNFS_IO_WRITE, BS, r[1].buf, BS, true,
		       on_disk_done);
	r[1].t.req.priv = &r[1];
	CHECK(test_wait(&r[1].t) == 0, "FUA write");
	CHECK(r[1].on_disk_at_done, "FUA write completed before its data "
	      "was on the server's disk");
	tnfs_engine_get_stats(e, &s);
	CHECK(s.io.stable_rpcs == 1, "%llu stable WRITEs for one FUA write",
	      (unsigned long long)s.io.stable_rpcs);
	tnfs_engine_close(e);
	free(r);
}

static const struct test_case cases[] = {
	{ "commit", case_commit },
	{ "datasync", case_datasync },
	{ "filesync", case_filesync },
	{ "auto", case_auto },
	{ "fua_datasync", case_fua_datasync },
};

int main(int argc, char **argv)
{
	srand(77);
	return test_run(cases, sizeof(cases) / sizeof(cases[0]), argc, argv,
			check_report, "stable");
}
