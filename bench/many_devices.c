// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Many devices on one server, in one process, the way one tcmu-runner
 * holds them: what each idle device costs (memory, threads, file
 * descriptors, TCP connections to the server) and whether the idle ones
 * change the latency of the one that works.
 *
 *   many_devices SERVER/EXPORT NAME_PREFIX N DEV_BYTES SECONDS [KEYS]
 *
 * opens SERVER/EXPORT/NAME_PREFIX-0 .. -(N-1) (files that exist, at least
 * DEV_BYTES long) with the cfgstring keys KEYS ("nfsport=2049&..."),
 * then times QD1 4 KiB writes and reads on device 0 for SECONDS each:
 * alone before the others open, beside the N-1 idle ones, and alone
 * again once they are closed (the two alone runs bracket the loaded one,
 * as the figures here drift between runs).  Prints one "key value" line
 * per figure.  bench/many-devices.sh runs it against ganesha.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tnfs_config.h"
#include "tnfs_engine.h"

struct one_cmd {
	struct tnfs_io_req req;
	struct iovec iov;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
	int status;
};

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void one_done(struct tnfs_io_req *req, int status)
{
	struct one_cmd *c = req->priv;

	pthread_mutex_lock(&c->lock);
	c->status = status;
	c->done = true;
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

/* one command, waited for on this thread, as tcmu-runner's would be */
static int run_one(struct tnfs_engine *e, struct one_cmd *c,
		   enum tnfs_io_op op, uint64_t off)
{
	c->req.op = op;
	c->req.offset = off;
	c->req.length = c->iov.iov_len;
	c->done = false;
	tnfs_engine_submit(e, &c->req);
	pthread_mutex_lock(&c->lock);
	while (!c->done)
		pthread_cond_wait(&c->cond, &c->lock);
	pthread_mutex_unlock(&c->lock);
	return c->status;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* QD1 4 KiB @op on @e for @secs: prints its median and 99th percentile */
static int latency(struct tnfs_engine *e, uint64_t dev, double secs,
		   enum tnfs_io_op op, const char *label)
{
	static uint64_t lat[1 << 20];
	unsigned char buf[4096];
	struct one_cmd c = {
		.lock = PTHREAD_MUTEX_INITIALIZER,
		.cond = PTHREAD_COND_INITIALIZER,
	};
	unsigned int seed = 7, n = 0;
	uint64_t t0 = now_us(), t;

	memset(buf, 0x5a, sizeof(buf));
	c.iov.iov_base = buf;
	c.iov.iov_len = sizeof(buf);
	c.req.iov = &c.iov;
	c.req.iov_cnt = 1;
	c.req.done = one_done;
	c.req.priv = &c;
	while (n < sizeof(lat) / sizeof(lat[0]) &&
	       (double)(now_us() - t0) < secs * 1e6) {
		uint64_t off = (uint64_t)rand_r(&seed) % (dev / 4096) * 4096;

		t = now_us();
		if (run_one(e, &c, op, off)) {
			fprintf(stderr, "%s: command failed\n", label);
			return 1;
		}
		lat[n++] = now_us() - t;
	}
	qsort(lat, n, sizeof(lat[0]), cmp_u64);
	printf("%s_%s_median_us %" PRIu64 "\n%s_%s_p99_us %" PRIu64
	       "\n%s_%s_commands %u\n",
	       label, op == TNFS_IO_READ ? "read" : "write", lat[n / 2],
	       label, op == TNFS_IO_READ ? "read" : "write",
	       lat[n * 99 / 100], label,
	       op == TNFS_IO_READ ? "read" : "write", n);
	fflush(stdout);
	return 0;
}

/* VmRSS (KiB) and Threads from /proc/self/status */
static void proc_status(uint64_t *rss_kib, unsigned int *threads)
{
	char line[256];
	FILE *f = fopen("/proc/self/status", "r");

	*rss_kib = 0;
	*threads = 0;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "VmRSS:", 6))
			*rss_kib = strtoull(line + 6, NULL, 10);
		else if (!strncmp(line, "Threads:", 8))
			*threads = (unsigned int)strtoul(line + 8, NULL, 10);
	}
	fclose(f);
}

/* open file descriptors, and of them sockets */
static void count_fds(unsigned int *fds, unsigned int *sockets)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	char path[300], to[64];
	ssize_t n;

	*fds = 0;
	*sockets = 0;
	if (!d)
		return;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		(*fds)++;
		snprintf(path, sizeof(path), "/proc/self/fd/%s", de->d_name);
		n = readlink(path, to, sizeof(to) - 1);
		if (n > 0 && !strncmp(to, "socket:", 7))
			(*sockets)++;
	}
	closedir(d);
}

/*
 * TCP connections among them (the rest are the channels of share=1 and
 * the like): the sockets of this process /proc/net/tcp lists.
 */
static unsigned int count_tcp(void)
{
	static const char *const tables[] = { "/proc/self/net/tcp",
					      "/proc/self/net/tcp6" };
	DIR *d = opendir("/proc/self/fd");
	unsigned long *ino = NULL, v;
	size_t n = 0, cap = 0, i;
	unsigned int tcp = 0, t;
	struct dirent *de;
	char path[300], to[64], line[512];
	FILE *f;

	if (!d)
		return 0;
	while ((de = readdir(d))) {
		ssize_t len;

		snprintf(path, sizeof(path), "/proc/self/fd/%s", de->d_name);
		len = readlink(path, to, sizeof(to) - 1);
		if (len <= 0)
			continue;
		to[len] = '\0';
		if (sscanf(to, "socket:[%lu]", &v) != 1)
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 256;
			ino = realloc(ino, cap * sizeof(*ino));
			if (!ino)
				abort();
		}
		ino[n++] = v;
	}
	closedir(d);
	for (t = 0; t < 2; t++) {
		f = fopen(tables[t], "r");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f)) {
			/* sl local rem st tx:rx tr:when retr uid timeout ino */
			if (sscanf(line, "%*s %*s %*s %*s %*s %*s %*s %*s %*s "
				   "%lu", &v) != 1)
				continue;
			for (i = 0; i < n; i++)
				if (ino[i] == v)
					tcp++;
		}
		fclose(f);
	}
	free(ino);
	return tcp;
}

/* the devices' warnings, numbered: what a user would read in the log */
static void log_line(void *arg, enum tnfs_log_level level, const char *msg)
{
	unsigned int i = (unsigned int)(uintptr_t)arg;

	if (level <= TNFS_LOG_WARN)
		fprintf(stderr, "device %u: %s\n", i, msg);
}

static struct tnfs_engine *open_dev(const char *where, const char *prefix,
				    unsigned int i, uint64_t dev,
				    const char *keys, struct tnfs_config *cfg)
{
	struct tnfs_engine_params p = {
		.cfg = cfg, .dev_size = dev, .block_size = 512,
		.queue_depth = 16, .log = log_line,
		.log_arg = (void *)(uintptr_t)i,
	};
	struct tnfs_engine *e;
	char cs[1024], err[512];

	snprintf(cs, sizeof(cs), "%s/%s-%u%s%s", where, prefix, i,
		 keys[0] ? "?" : "", keys);
	if (tnfs_config_parse(cs, cfg, err, sizeof(err))) {
		fprintf(stderr, "%s: %s\n", cs, err);
		return NULL;
	}
	if (tnfs_engine_open(&p, &e, err, sizeof(err))) {
		fprintf(stderr, "device %u (%s): %s\n", i, cs, err);
		tnfs_config_free(cfg);
		return NULL;
	}
	return e;
}

/*
 * One 4 KiB read on every device at once: how many answer within
 * @secs (an open device whose connection the server refuses waits).
 */
static unsigned int touch_all(struct tnfs_engine **e, unsigned int n,
			      double secs)
{
	struct one_cmd *c = calloc(n, sizeof(*c));
	unsigned char *buf = malloc((size_t)n * 4096);
	uint64_t until = now_us() + (uint64_t)(secs * 1e6);
	unsigned int i, ok = 0, done;

	if (!c || !buf)
		return 0;
	for (i = 0; i < n; i++) {
		pthread_mutex_init(&c[i].lock, NULL);
		pthread_cond_init(&c[i].cond, NULL);
		c[i].iov.iov_base = buf + (size_t)i * 4096;
		c[i].iov.iov_len = 4096;
		c[i].req.iov = &c[i].iov;
		c[i].req.iov_cnt = 1;
		c[i].req.done = one_done;
		c[i].req.priv = &c[i];
		c[i].req.op = TNFS_IO_READ;
		c[i].req.length = 4096;
		tnfs_engine_submit(e[i], &c[i].req);
	}
	do {
		struct timespec ts = { 0, 10 * 1000 * 1000 };

		nanosleep(&ts, NULL);
		for (i = 0, done = 0, ok = 0; i < n; i++) {
			pthread_mutex_lock(&c[i].lock);
			done += c[i].done;
			ok += c[i].done && !c[i].status;
			pthread_mutex_unlock(&c[i].lock);
		}
	} while (done < n && now_us() < until);
	printf("answered %u\nunanswered %u\n", ok, n - done);
	fflush(stdout);
	/* what still waits may complete later: then the process ends */
	if (done == n) {
		free(c);
		free(buf);
	}
	return ok;
}

static void snapshot(const char *label)
{
	uint64_t rss;
	unsigned int threads, fds, sockets;

	proc_status(&rss, &threads);
	count_fds(&fds, &sockets);
	printf("%s_rss_kib %" PRIu64 "\n%s_threads %u\n%s_fds %u\n"
	       "%s_sockets %u\n%s_tcp %u\n", label, rss, label, threads,
	       label, fds, label, sockets, label, count_tcp());
	fflush(stdout);
}

int main(int argc, char **argv)
{
	struct tnfs_engine **e;
	struct tnfs_config *cfg;
	struct rlimit rl;
	unsigned int n, i, opened = 0;
	uint64_t dev, t0;
	double secs;
	const char *keys;
	int ret = 1;

	if (argc < 6) {
		fprintf(stderr, "usage: many_devices SERVER/EXPORT NAME_PREFIX "
			"N DEV_BYTES SECONDS [KEYS]\n");
		return 2;
	}
	n = (unsigned int)strtoul(argv[3], NULL, 10);
	dev = strtoull(argv[4], NULL, 10);
	secs = atof(argv[5]);
	keys = argc > 6 ? argv[6] : "";
	if (n < 1 || dev < 4096) {
		fprintf(stderr, "N >= 1, DEV_BYTES >= 4096\n");
		return 2;
	}
	/* as tcmu-runner.service does (LimitNOFILE=1000000) */
	if (!getrlimit(RLIMIT_NOFILE, &rl)) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	e = calloc(n, sizeof(*e));
	cfg = calloc(n, sizeof(*cfg));
	if (!e || !cfg)
		return 1;
	printf("devices %u\n", n);
	snapshot("before");
	e[0] = open_dev(argv[1], argv[2], 0, dev, keys, &cfg[0]);
	if (!e[0])
		goto out;
	opened = 1;
	snapshot("one");
	if (latency(e[0], dev, secs, TNFS_IO_WRITE, "alone") ||
	    latency(e[0], dev, secs, TNFS_IO_READ, "alone"))
		goto out;
	t0 = now_us();
	for (i = 1; i < n; i++) {
		e[i] = open_dev(argv[1], argv[2], i, dev, keys, &cfg[i]);
		if (!e[i])
			break;
		opened++;
	}
	printf("opened %u\nopen_seconds %.1f\n", opened,
	       (double)(now_us() - t0) / 1e6);
	snapshot("all");
	if (opened < n)
		goto out;
	/* the devices that did not answer may wait for ever: no close */
	if (touch_all(e, n, 30) < n)
		return 1;
	if (latency(e[0], dev, secs, TNFS_IO_WRITE, "beside_idle") ||
	    latency(e[0], dev, secs, TNFS_IO_READ, "beside_idle"))
		goto out;
	t0 = now_us();
	for (i = 1; i < opened; i++) {
		tnfs_engine_close(e[i]);
		tnfs_config_free(&cfg[i]);
	}
	printf("close_seconds %.1f\n", (double)(now_us() - t0) / 1e6);
	opened = 1;
	if (latency(e[0], dev, secs, TNFS_IO_WRITE, "alone_again") ||
	    latency(e[0], dev, secs, TNFS_IO_READ, "alone_again"))
		goto out;
	ret = 0;
out:
	for (i = 0; i < opened; i++) {
		tnfs_engine_close(e[i]);
		tnfs_config_free(&cfg[i]);
	}
	free(e);
	free(cfg);
	return ret;
}
