// SPDX-License-Identifier: LGPL-2.1-or-later
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fault_proxy_client.h"
#include "nfs_test_env.h"

static void die(const char *what)
{
	fprintf(stderr, "test setup failed: %s: %s\n", what, strerror(errno));
	exit(2);
}

const char *test_dir(void)
{
	const char *d = getenv("NFS_TEST_DIR");

	if (!d) {
		fprintf(stderr, "NFS_TEST_DIR is not set: run through ctest "
			"(its fixture starts the NFS server)\n");
		exit(2);
	}
	return d;
}

void test_server(const char *cmd)
{
	const char *script = getenv("NFS_SERVER_SCRIPT");
	char *line;

	if (!script || asprintf(&line, "%s %s %s", script, cmd,
				test_dir()) < 0) {
		fprintf(stderr, "NFS_SERVER_SCRIPT is not set\n");
		exit(2);
	}
	if (system(line) != 0) {
		fprintf(stderr, "'%s' failed\n", line);
		exit(2);
	}
	free(line);
}

static char name_buf[256];

const char *test_new_name(const char *name)
{
	static unsigned int seq;

	snprintf(name_buf, sizeof(name_buf), "%s-%d-%u", name, getpid(),
		 seq++);
	return name_buf;
}

const char *test_file(const char *exp, const char *name, uint64_t size,
		      int fill, uid_t uid, gid_t gid, mode_t mode)
{
	char path[512], buf[65536];
	uint64_t left = size;
	int fd;

	name = test_new_name(name);
	snprintf(path, sizeof(path), "%s/%s/%s", test_dir(), exp, name);
	fd = open(path, O_CREAT | O_EXCL | O_WRONLY, mode);
	if (fd < 0)
		die(path);
	memset(buf, fill, sizeof(buf));
	while (left) {
		size_t n = left < sizeof(buf) ? left : sizeof(buf);

		if (write(fd, buf, n) != (ssize_t)n)
			die("write");
		left -= n;
	}
	if (fchown(fd, uid, gid) || fchmod(fd, mode))
		die("chown");
	close(fd);
	return name;
}

void test_read_back(const char *exp, const char *name, uint64_t off,
		    void *buf, size_t len)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s/%s", test_dir(), exp, name);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		die(path);
	memset(buf, 0, len);
	if (pread(fd, buf, len, (off_t)off) < 0)
		die("pread");
	close(fd);
}

char *test_cfg(const char *exp, const char *name, const char *extra)
{
	char *s;

	if (asprintf(&s, "127.0.0.1/%s/%s?" TEST_PORTS "%s%s", exp, name,
		     extra && *extra ? "&" : "", extra ? extra : "") < 0)
		die("asprintf");
	return s;
}

/* @ms from now on the clock pthread_cond_timedwait uses by default */
static struct timespec deadline_in(int ms)
{
	struct timespec at;

	clock_gettime(CLOCK_REALTIME, &at);
	at.tv_sec += ms / 1000;
	at.tv_nsec += (long)(ms % 1000) * 1000000;
	if (at.tv_nsec >= 1000000000) {
		at.tv_sec++;
		at.tv_nsec -= 1000000000;
	}
	return at;
}

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t log_cond = PTHREAD_COND_INITIALIZER;
/* room for a few restarts of several devices' lines */
static char log_buf[65536];

static void collect_log(void *arg, enum tnfs_log_level level, const char *msg)
{
	static const char *names[] = { "ERR", "WARN", "INFO" };
	size_t n;

	(void)arg;
	pthread_mutex_lock(&log_lock);
	n = strlen(log_buf);
	snprintf(log_buf + n, sizeof(log_buf) - n, "%s: %s\n", names[level],
		 msg);
	pthread_cond_broadcast(&log_cond);
	pthread_mutex_unlock(&log_lock);
	if (getenv("TEST_VERBOSE"))
		fprintf(stderr, "%s: %s\n", names[level], msg);
}

const char *test_log(void)
{
	return log_buf;
}

bool test_log_wait(const char *needle, int ms)
{
	struct timespec at = deadline_in(ms);
	bool found;

	pthread_mutex_lock(&log_lock);
	while (!(found = strstr(log_buf, needle)) &&
	       pthread_cond_timedwait(&log_cond, &log_lock, &at) == 0)
		;
	pthread_mutex_unlock(&log_lock);
	return found;
}

void test_log_clear(void)
{
	pthread_mutex_lock(&log_lock);
	log_buf[0] = '\0';
	pthread_mutex_unlock(&log_lock);
}

int test_engine_open(const char *cfgstring, uint64_t dev_size,
		     uint32_t block_size, struct tnfs_engine **e,
		     char *err, size_t err_len)
{
	struct tnfs_engine_params p = {
		.dev_size = dev_size,
		.block_size = block_size,
		.log = collect_log,
	};
	const char *stable = getenv("NFS_TEST_STABLE");
	struct tnfs_config cfg;
	char *forced = NULL;
	int ret;

	/*
	 * Run a suite under each stable-write path (CTest *_stable_*):
	 * tests about one path name it in their cfgstring and keep it.
	 */
	if (stable && *stable && !strstr(cfgstring, "stable=")) {
		if (asprintf(&forced, "%s%cstable=%s", cfgstring,
			     strchr(cfgstring, '?') ? '&' : '?', stable) < 0)
			return -ENOMEM;
		cfgstring = forced;
	}
	ret = tnfs_config_parse(cfgstring, &cfg, err, err_len);
	free(forced);
	if (ret)
		return ret;
	p.cfg = &cfg;
	ret = tnfs_engine_open(&p, e, err, err_len);
	tnfs_config_free(&cfg);
	return ret;
}

struct sync_io {
	struct tnfs_io_req req;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
	int status;
};

static void sync_done(struct tnfs_io_req *req, int status)
{
	struct sync_io *s = req->priv;

	pthread_mutex_lock(&s->lock);
	s->done = true;
	s->status = status;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

int test_io(struct tnfs_engine *e, enum tnfs_io_op op, uint64_t off,
	    const struct iovec *iov, size_t iov_cnt)
{
	struct sync_io s = {
		.lock = PTHREAD_MUTEX_INITIALIZER,
		.cond = PTHREAD_COND_INITIALIZER,
	};
	size_t i;

	s.req.op = op;
	s.req.offset = off;
	s.req.iov = iov;
	s.req.iov_cnt = iov_cnt;
	for (i = 0; i < iov_cnt; i++)
		s.req.length += iov[i].iov_len;
	s.req.done = sync_done;
	s.req.priv = &s;
	tnfs_engine_submit(e, &s.req);
	pthread_mutex_lock(&s.lock);
	while (!s.done)
		pthread_cond_wait(&s.cond, &s.lock);
	pthread_mutex_unlock(&s.lock);
	return s.status;
}

static int count_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	int n = 0;

	if (!d)
		die(path);
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

int test_count_fds(void)
{
	return count_dir("/proc/self/fd");
}

int test_count_threads(void)
{
	return count_dir("/proc/self/task");
}

int test_threads_wait(int want)
{
	int n, i;

	for (i = 0; i < 10000; i++) {
		n = test_count_threads();
		if (n == want)
			break;
		usleep(1000);
	}
	return n;
}

static pid_t proxy_pid;

int test_proxy_start(char *ctl, size_t ctl_len)
{
	char reply[128], *p;
	int i;

	snprintf(ctl, ctl_len, "%s/proxy-%d.sock", test_dir(), getpid());
	unlink(ctl);
	proxy_pid = fork();
	if (proxy_pid < 0)
		die("fork");
	if (!proxy_pid) {
		/* TEST_VERBOSE=2: the proxy's own account on stderr */
		const char *v = getenv("TEST_VERBOSE");

		execl(FAULT_PROXY_BIN, "nfs_fault_proxy", "--listen",
		      "127.0.0.1:0", "--upstream", "127.0.0.1:2049",
		      "--control", ctl,
		      v && !strcmp(v, "2") ? "--verbose" : (char *)NULL,
		      (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 100; i++) {
		if (!fault_proxy_cmd(ctl, "port", reply, sizeof(reply))) {
			p = strstr(reply, "port=");
			if (p)
				return atoi(p + 5);
		}
		usleep(50 * 1000);
	}
	fprintf(stderr, "nfs_fault_proxy did not start\n");
	exit(2);
}

void test_proxy(const char *ctl, const char *cmd)
{
	char reply[256];

	if (fault_proxy_cmd(ctl, cmd, reply, sizeof(reply))) {
		fprintf(stderr, "proxy refused '%s': %s\n", cmd, reply);
		exit(2);
	}
}

void test_proxy_stop(const char *ctl)
{
	int status;

	fault_proxy_cmd(ctl, "quit", NULL, 0);
	waitpid(proxy_pid, &status, 0);
}

void test_fill(unsigned char *buf, size_t len, unsigned int seed)
{
	size_t i;

	for (i = 0; i < len; i++) {
		seed = seed * 1103515245u + 12345u;
		buf[i] = (unsigned char)(seed >> 16);
	}
}

static pthread_mutex_t req_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t req_cond = PTHREAD_COND_INITIALIZER;

void test_req_done(struct tnfs_io_req *req, int status)
{
	struct test_req *r = req->priv;
	struct tnfs_engine_stats s;

	tnfs_engine_get_stats(r->e, &s);
	pthread_mutex_lock(&req_lock);
	r->commits_at_done = s.io.commits;
	r->cache_at_done = s.io.cache_bytes;
	r->status = status;
	r->done = true;
	pthread_cond_broadcast(&req_cond);
	pthread_mutex_unlock(&req_lock);
}

void test_submit_cb(struct tnfs_engine *e, struct test_req *r,
		    enum tnfs_io_op op, uint64_t off, void *buf, size_t len,
		    bool fua, void (*done)(struct tnfs_io_req *req, int status))
{
	struct tnfs_engine_stats s;

	memset(r, 0, sizeof(*r));
	r->e = e;
	r->req.op = op;
	r->req.offset = off;
	r->req.length = len;
	r->req.fua = fua;
	r->iov = (struct iovec){ buf, len };
	r->req.iov = &r->iov;
	r->req.iov_cnt = buf ? 1 : 0;
	r->req.done = done;
	r->req.priv = r;
	tnfs_engine_get_stats(e, &s);
	r->commits_at_submit = s.io.commits;
	tnfs_engine_submit(e, &r->req);
}

void test_submit(struct tnfs_engine *e, struct test_req *r, enum tnfs_io_op op,
		 uint64_t off, void *buf, size_t len, bool fua)
{
	test_submit_cb(e, r, op, off, buf, len, fua, test_req_done);
}

int test_wait(struct test_req *r)
{
	pthread_mutex_lock(&req_lock);
	while (!r->done)
		pthread_cond_wait(&req_cond, &req_lock);
	pthread_mutex_unlock(&req_lock);
	return r->status;
}

double test_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

bool test_wait_ms(struct test_req *r, int ms)
{
	struct timespec at = deadline_in(ms);

	pthread_mutex_lock(&req_lock);
	while (!r->done &&
	       pthread_cond_timedwait(&req_cond, &req_lock, &at) == 0)
		;
	pthread_mutex_unlock(&req_lock);
	return r->done;
}

struct tnfs_engine *test_open_dev(const char *f, const char *extra,
				  uint64_t dev)
{
	struct tnfs_engine *e = NULL;
	char err[512], *cfg = test_cfg("export", f, extra);

	if (test_engine_open(cfg, dev, 512, &e, err, sizeof(err))) {
		fprintf(stderr, "FAIL open %s: %s\n", cfg, err);
		exit(1);
	}
	free(cfg);
	return e;
}

void test_restart_hook(void *arg, unsigned int pieces)
{
	struct test_restart *ctx = arg;

	if (!pieces || ctx->restarts)
		return;
	if (__atomic_load_n(&ctx->write_done, __ATOMIC_SEQ_CST))
		ctx->done_before_commit = true;
	ctx->restarts++;
	/* a new server instance: new write verifier */
	test_server("restart");
}

static bool case_named(const char *name, int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++)
		if (!strcmp(argv[i], name))
			return true;
	return argc < 2;
}

int test_run(const struct test_case *cases, size_t n, int argc, char **argv,
	     int (*report)(const char *name), const char *name)
{
	size_t i;
	int a;

	/* every name given must be a case: a typo must not pass quietly */
	for (a = 1; a < argc; a++) {
		for (i = 0; i < n && strcmp(argv[a], cases[i].name); i++)
			;
		if (i == n) {
			fprintf(stderr, "no test case named %s\n", argv[a]);
			return 2;
		}
	}
	for (i = 0; i < n; i++) {
		if (!case_named(cases[i].name, argc, argv))
			continue;
		printf("-- %s\n", cases[i].name);
		fflush(stdout);
		cases[i].fn();
	}
	return report(name);
}
