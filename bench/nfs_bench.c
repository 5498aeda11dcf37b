// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Throughput of the NFS I/O engine on its own, the way tcmu-runner drives
 * it: N commands kept in flight, each resubmitted as it completes.
 *
 *   nfs_bench CFGSTRING DEV_BYTES SECONDS [WORKLOAD...]
 *
 * WORKLOAD is randread|randwrite|read|write, ":BS" and ":QD", e.g.
 * randwrite:4096:32.  Prints one line per workload: IOPS and MB/s.
 * Writes are acknowledged as the cfgstring's cache= mode says; for
 * write-back the time includes a final SYNCHRONIZE CACHE.
 *
 * NFS_BENCH_RUNNER=1: a completed command is handed to a thread of the
 * bench's own, which submits the next one, as under tcmu-runner (the
 * kernel hands the next command to its thread); without it the
 * completion itself, on the engine thread, submits the next.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tnfs_config.h"
#include "tnfs_engine.h"

struct bench_cmd {
	struct tnfs_io_req req;
	struct iovec iov;
	struct bench *b;
	struct bench_cmd *next;		/* on the runner's list */
};

struct bench {
	struct tnfs_engine *e;
	enum tnfs_io_op op;
	bool random;
	size_t bs;
	uint64_t blocks, next_block, done, failed;
	volatile bool stop;
	unsigned int in_flight;
	unsigned int seed;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	/* NFS_BENCH_RUNNER: completed commands for the runner thread */
	bool runner;
	struct bench_cmd *ready;
	pthread_cond_t ready_cond;
	bool quit;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void submit(struct bench *b, struct bench_cmd *c)
{
	uint64_t block;

	if (b->random)
		block = (uint64_t)rand_r(&b->seed) % b->blocks;
	else
		block = b->next_block++ % b->blocks;
	c->req.op = b->op;
	c->req.offset = block * b->bs;
	c->req.length = b->bs;
	tnfs_engine_submit(b->e, &c->req);
}

/* On the engine thread: count, and keep the queue full. */
static void bench_done(struct tnfs_io_req *req, int status)
{
	struct bench_cmd *c = req->priv;
	struct bench *b = c->b;

	pthread_mutex_lock(&b->lock);
	b->done++;
	if (status)
		b->failed++;
	if (!b->stop && b->runner) {
		c->next = b->ready;
		b->ready = c;
		pthread_cond_signal(&b->ready_cond);
		pthread_mutex_unlock(&b->lock);
		return;
	}
	if (!b->stop) {
		pthread_mutex_unlock(&b->lock);
		submit(b, c);
		return;
	}
	if (--b->in_flight == 0)
		pthread_cond_signal(&b->cond);
	pthread_mutex_unlock(&b->lock);
}

static void flush_done(struct tnfs_io_req *req, int status)
{
	struct bench *b = req->priv;

	pthread_mutex_lock(&b->lock);
	if (status)
		b->failed++;
	b->in_flight = 0;
	pthread_cond_signal(&b->cond);
	pthread_mutex_unlock(&b->lock);
}

/* NFS_BENCH_RUNNER: the thread that submits what completed. */
static void *runner_thread(void *arg)
{
	struct bench *b = arg;
	struct bench_cmd *c;

	pthread_mutex_lock(&b->lock);
	for (;;) {
		while (!b->ready && !b->quit)
			pthread_cond_wait(&b->ready_cond, &b->lock);
		if (b->quit)
			break;
		c = b->ready;
		b->ready = c->next;
		pthread_mutex_unlock(&b->lock);
		submit(b, c);
		pthread_mutex_lock(&b->lock);
	}
	pthread_mutex_unlock(&b->lock);
	return NULL;
}

/* Mean microseconds of each stage of the commands run (tnfs_stats.h). */
static void print_stages(const struct tnfs_engine_stats *s0,
			 const struct tnfs_engine_stats *s1, unsigned int cmd)
{
	static const char *const names[TNFS_STAGES] = {
		"queue", "server", "complete", "callback",
	};
	unsigned int st, i;
	uint64_t n, us;

	printf("  stages, mean us:");
	for (st = 0; st < TNFS_STAGES; st++) {
		const struct tnfs_latency *a = &s0->io.stage[cmd][st];
		const struct tnfs_latency *z = &s1->io.stage[cmd][st];

		for (i = 0, n = 0; i <= TNFS_LAT_BUCKETS; i++)
			n += z->bucket[i] - a->bucket[i];
		us = z->sum_us - a->sum_us;
		printf(" %s %.1f", names[st], n ? (double)us / (double)n : 0);
	}
	printf("; started directly %" PRIu64 " of %" PRIu64 "\n",
	       s1->io.direct - s0->io.direct,
	       s1->io.reads + s1->io.writes - s0->io.reads - s0->io.writes);
}

static int run(struct tnfs_engine *e, uint64_t dev, double secs,
	       const char *spec, bool writeback)
{
	char rw[32];
	unsigned int qd, i;
	size_t bs;
	struct bench b = {
		.e = e,
		.lock = PTHREAD_MUTEX_INITIALIZER,
		.cond = PTHREAD_COND_INITIALIZER,
		.ready_cond = PTHREAD_COND_INITIALIZER,
		.seed = 42,
	};
	pthread_t runner;
	const char *env = getenv("NFS_BENCH_RUNNER");
	struct bench_cmd *cmds;
	struct tnfs_io_req flush = { .op = TNFS_IO_FLUSH };
	struct tnfs_engine_stats s0, s1;
	double t0, t;

	if (sscanf(spec, "%31[a-z]:%zu:%u", rw, &bs, &qd) != 3 || !bs ||
	    !qd || bs > dev) {
		fprintf(stderr, "bad workload %s\n", spec);
		return 1;
	}
	b.op = strstr(rw, "write") ? TNFS_IO_WRITE : TNFS_IO_READ;
	b.random = !strncmp(rw, "rand", 4);
	b.bs = bs;
	b.blocks = dev / bs;
	cmds = calloc(qd, sizeof(*cmds));
	for (i = 0; i < qd; i++) {
		cmds[i].b = &b;
		cmds[i].iov.iov_base = malloc(bs);
		memset(cmds[i].iov.iov_base, (int)i, bs);
		cmds[i].iov.iov_len = bs;
		cmds[i].req.iov = &cmds[i].iov;
		cmds[i].req.iov_cnt = 1;
		cmds[i].req.done = bench_done;
		cmds[i].req.priv = &cmds[i];
	}
	b.in_flight = qd;
	b.runner = env && !strcmp(env, "1");
	if (b.runner && pthread_create(&runner, NULL, runner_thread, &b)) {
		fprintf(stderr, "cannot start the runner thread\n");
		return 1;
	}
	tnfs_engine_get_stats(e, &s0);
	t0 = now();
	for (i = 0; i < qd; i++)
		submit(&b, &cmds[i]);
	while (now() - t0 < secs) {
		struct timespec ts = { 0, 20 * 1000 * 1000 };

		nanosleep(&ts, NULL);
	}
	pthread_mutex_lock(&b.lock);
	b.stop = true;
	/* what waits for the runner now completes no more: it is done */
	for (; b.ready; b.ready = b.ready->next)
		b.in_flight--;
	while (b.in_flight)
		pthread_cond_wait(&b.cond, &b.lock);
	b.quit = true;
	pthread_cond_signal(&b.ready_cond);
	pthread_mutex_unlock(&b.lock);
	if (b.runner)
		pthread_join(runner, NULL);
	if (writeback && b.op == TNFS_IO_WRITE) {
		/* held data counts only once it is stable */
		flush.done = flush_done;
		flush.priv = &b;
		b.in_flight = 1;
		tnfs_engine_submit(e, &flush);
		pthread_mutex_lock(&b.lock);
		while (b.in_flight)
			pthread_cond_wait(&b.cond, &b.lock);
		pthread_mutex_unlock(&b.lock);
	}
	t = now() - t0;
	tnfs_engine_get_stats(e, &s1);
	printf("%-10s bs=%-8zu qd=%-3u %-12s %10.0f IOPS %9.1f MB/s "
	       "%6.2f COMMITs/cmd%s\n",
	       rw, bs, qd, writeback ? "write-back" : "write-through",
	       (double)b.done / t, (double)b.done * (double)bs / t / 1e6,
	       b.done ? (double)(s1.io.commits - s0.io.commits) / (double)b.done
		      : 0,
	       b.failed ? "  (FAILURES)" : "");
	print_stages(&s0, &s1, b.op == TNFS_IO_READ ? TNFS_CMD_READ :
		     TNFS_CMD_WRITE);
	fflush(stdout);
	for (i = 0; i < qd; i++)
		free(cmds[i].iov.iov_base);
	free(cmds);
	return b.failed ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct tnfs_engine_params p = { .block_size = 512 };
	struct tnfs_engine *e;
	struct tnfs_config cfg;
	char err[512];
	int i, ret = 0;

	if (argc < 5) {
		fprintf(stderr, "usage: nfs_bench CFGSTRING DEV_BYTES SECONDS "
			"WORKLOAD...\n");
		return 2;
	}
	if (tnfs_config_parse(argv[1], &cfg, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	p.cfg = &cfg;
	p.dev_size = strtoull(argv[2], NULL, 10);
	if (tnfs_engine_open(&p, &e, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		tnfs_config_free(&cfg);
		return 1;
	}
	for (i = 4; i < argc; i++)
		ret |= run(e, p.dev_size, atof(argv[3]), argv[i],
			   cfg.writeback);
	tnfs_engine_close(e);
	tnfs_config_free(&cfg);
	return ret;
}
