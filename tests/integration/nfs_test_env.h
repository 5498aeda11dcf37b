/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the integration tests share: the ganesha started by the CTest
 * fixture (tests/nfs-server.sh), files made in its exported directories,
 * and a synchronous way to run engine requests.
 */
#ifndef TNFS_TEST_ENV_H
#define TNFS_TEST_ENV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "tnfs_engine.h"

#define TEST_PORTS "nfsport=2049&mountport=20048"

/* $NFS_TEST_DIR: the server's state dir, with export/ and squash/. */
const char *test_dir(void);

/* Run tests/nfs-server.sh CMD (restart, kill9, ...) on the test server. */
void test_server(const char *cmd);

/*
 * Make a fresh file "<name>-<pid>" in export/ or squash/ before the
 * server first looks it up, filled with @fill, owned by uid:gid, @mode.
 * Returns its name (static storage, overwritten by the next call).
 */
const char *test_file(const char *exp, const char *name, uint64_t size,
		      int fill, uid_t uid, gid_t gid, mode_t mode);

/* A name that does not exist yet, for create=1. */
const char *test_new_name(const char *name);

/* Read @len bytes at @off of the file as the server's disk holds them. */
void test_read_back(const char *exp, const char *name, uint64_t off,
		    void *buf, size_t len);

/*
 * Another client of the test server (nfs_test_client.c): truncate the
 * file, or replace it by a new one of @size bytes (rename over it).
 * 0, or -1 with a message.
 */
int test_nfs_truncate(const char *exp, const char *name, uint64_t size);
int test_nfs_replace(const char *exp, const char *name, uint64_t size);

/* "127.0.0.1/EXP/NAME?ports&EXTRA" */
char *test_cfg(const char *exp, const char *name, const char *extra);

/* Engine open with log lines collected (test_log, test_log_clear). */
int test_engine_open(const char *cfgstring, uint64_t dev_size,
		     uint32_t block_size, struct tnfs_engine **e,
		     char *err, size_t err_len);
const char *test_log(void);
void test_log_clear(void);

/* Wait at most @ms for a log line holding @needle; true if one came. */
bool test_log_wait(const char *needle, int ms);

/* Submit one request and wait for it; returns its status. */
int test_io(struct tnfs_engine *e, enum tnfs_io_op op, uint64_t off,
	    const struct iovec *iov, size_t iov_cnt);

/*
 * Start nfs_fault_proxy (tests/faultproxy) in front of the test server's
 * NFS port; returns the port to give as nfsport=, control socket in @ctl.
 */
int test_proxy_start(char *ctl, size_t ctl_len);
/* Send a control command; exits the test if the proxy refuses it. */
void test_proxy(const char *ctl, const char *cmd);
void test_proxy_stop(const char *ctl);

/* Pseudo-random bytes from @seed: what a test writes, and checks. */
void test_fill(unsigned char *buf, size_t len, unsigned int seed);

/* An asynchronous request, with the engine's counters around it. */
struct test_req {
	struct tnfs_io_req req;
	struct iovec iov;
	struct tnfs_engine *e;
	uint64_t commits_at_submit;
	uint64_t commits_at_done;
	uint64_t cache_at_done;
	int status;
	bool done;
};

/* test_submit's completion; a custom @done must end by calling it. */
void test_req_done(struct tnfs_io_req *req, int status);
void test_submit_cb(struct tnfs_engine *e, struct test_req *r,
		    enum tnfs_io_op op, uint64_t off, void *buf, size_t len,
		    bool fua,
		    void (*done)(struct tnfs_io_req *req, int status));
void test_submit(struct tnfs_engine *e, struct test_req *r, enum tnfs_io_op op,
		 uint64_t off, void *buf, size_t len, bool fua);
int test_wait(struct test_req *r);
/*
 * Wait at most @ms for @r: true once done (its status in r->status).
 * For a test whose engine might be stuck: it must not wait forever.
 */
bool test_wait_ms(struct test_req *r, int ms);

/* Seconds on the monotonic clock, for a test that reports a duration. */
double test_now_s(void);

/* Open export/@f with @extra keys as a @dev-byte device; exits on failure. */
struct tnfs_engine *test_open_dev(const char *f, const char *extra,
				  uint64_t dev);

/*
 * A commit hook that restarts ganesha (new write verifier) in the first
 * COMMIT covering writes, noting whether the write had completed already.
 */
struct test_restart {
	volatile bool write_done;
	bool done_before_commit;
	int restarts;
};
void test_restart_hook(void *arg, unsigned int pieces);

/* Run every case, or those named by argv[1..]; returns @report(@name). */
struct test_case {
	const char *name;
	void (*fn)(void);
};
int test_run(const struct test_case *cases, size_t n, int argc, char **argv,
	     int (*report)(const char *name), const char *name);

/* Threads and descriptors of this process, to prove nothing leaked. */
int test_count_fds(void);
int test_count_threads(void);
/*
 * A joined thread stays listed in /proc/self/task for a moment after
 * pthread_join() returns (the kernel wakes the joiner before it unlinks
 * the task), so a count taken right after a close can be one too high.
 * Wait, at most 10 s, until exactly @want threads are listed, and return
 * the count then: a leak still shows as a count above @want.
 */
int test_threads_wait(int want);

#endif
