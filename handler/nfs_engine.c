// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Engine lifecycle and its thread.  Callers only append to a locked queue
 * and poke an eventfd; the engine thread alone touches the connections.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "nfs_engine_priv.h"

/* While timed work is pending in the I/O layer, wake at least this often. */
#define NFS_TIMER_INTERVAL_MS	100
/* Without timeout=, a connection with a call unanswered this long is dead. */
#define NFS_HARD_HANG_MS	30000
#define NFS_MIN_HANG_MS		1000

static void wake(struct nfs_engine *e)
{
	uint64_t one = 1;

	/* a full counter already means "wake up" */
	if (write(e->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		nfs_log(&e->log, NFS_LOG_ERR, "eventfd write: %s",
			strerror(errno));
}

/* How long poll() may sleep: no wake-up at all when there is nothing. */
static int poll_timeout(struct nfs_engine *e)
{
	int ms = nfs_transport_next_ms(e->t, e->now_ms);

	if (nfs_io_timers(e) && (ms < 0 || ms > NFS_TIMER_INTERVAL_MS))
		ms = NFS_TIMER_INTERVAL_MS;
	return ms;
}

/*
 * Between two batches of commands: those taken before see the old end,
 * those after the new one, and none is lost or reordered.
 */
static void apply_resize(struct nfs_engine *e, uint64_t size)
{
	int ret = nfs_cache_resize(e, size);

	if (!ret) {
		e->dev_size = size;
		/* a reconnect must find the file as big as the device */
		nfs_transport_set_min_size(e->t, e->base + size);
	}
	pthread_mutex_lock(&e->lock);
	e->resize_to = 0;
	e->resize_status = ret;
	pthread_cond_broadcast(&e->resized);
	pthread_mutex_unlock(&e->lock);
}

static void *engine_thread(void *arg)
{
	struct nfs_engine *e = arg;
	struct pollfd pfd[1 + NFS_MAX_CONN];
	struct nfs_io_req *req, *next;
	unsigned int n;
	uint64_t count, resize_to;
	bool stopping;

	for (;;) {
		pthread_mutex_lock(&e->lock);
		req = e->submitted;
		e->submitted = NULL;
		e->submitted_tail = &e->submitted;
		stopping = e->stopping;
		resize_to = e->resize_to;
		pthread_mutex_unlock(&e->lock);
		if (resize_to)
			apply_resize(e, resize_to);

		e->now_ms = nfs_now_ms();
		e->closing = stopping;
		for (; req; req = next) {
			next = req->next;
			nfs_io_start(e, req);
		}
		nfs_transport_tick(e->t, e->now_ms);
		nfs_io_tick(e);
		if (stopping && nfs_io_idle(e))
			break;
		nfs_transport_flush(e->t);

		pfd[0].fd = e->wake_fd;
		pfd[0].events = POLLIN;
		pfd[0].revents = 0;
		n = nfs_transport_pollfds(e->t, pfd + 1);
		if (poll(pfd, n + 1, poll_timeout(e)) < 0 && errno != EINTR) {
			nfs_log(&e->log, NFS_LOG_ERR, "poll: %s",
				strerror(errno));
			continue;
		}
		if ((pfd[0].revents & POLLIN) &&
		    read(e->wake_fd, &count, sizeof(count)) < 0 &&
		    errno != EAGAIN)
			nfs_log(&e->log, NFS_LOG_ERR, "eventfd read: %s",
				strerror(errno));
		e->now_ms = nfs_now_ms();
		nfs_transport_service(e->t, pfd + 1, n, e->now_ms);
	}
	return NULL;
}

static void engine_free(struct nfs_engine *e)
{
	nfs_transport_free(e->t);
	nfs_cache_free(e);
	nfs_io_free(e);
	if (e->wake_fd >= 0)
		close(e->wake_fd);
	pthread_mutex_destroy(&e->lock);
	pthread_cond_destroy(&e->resized);
	pthread_mutex_destroy(&e->resize_lock);
	free(e->name);
	free(e);
}

int nfs_engine_open(const struct nfs_engine_params *p,
		    struct nfs_engine **out, char *err, size_t err_len)
{
	struct nfs_backing b = { .tp.nconn = 1 };
	struct nfs_engine *e;
	int ret;

	*out = NULL;
	e = calloc(1, sizeof(*e));
	if (!e) {
		snprintf(err, err_len, "out of memory");
		return -ENOMEM;
	}
	e->wake_fd = -1;
	pthread_mutex_init(&e->lock, NULL);
	pthread_cond_init(&e->resized, NULL);
	pthread_mutex_init(&e->resize_lock, NULL);
	e->submitted_tail = &e->submitted;
	e->awaiting.tail = &e->awaiting.head;
	e->batch.tail = &e->batch.head;
	e->log.fn = p->log;
	e->log.arg = p->log_arg;
	e->base = p->cfg->offset;
	e->dev_size = p->dev_size;
	e->writeback = p->cfg->writeback;
	nfs_policy_init(&e->policy, p->cfg->stable);
	e->cache_max = p->cfg->cache_max;
	e->timeout_ms = (int)p->cfg->timeout * 1000;
	e->retry.tail = &e->retry.head;
	e->flushes.tail = &e->flushes.head;
	if (nfs_cache_init(e)) {
		snprintf(err, err_len, "out of memory for the write-back map");
		ret = -ENOMEM;
		goto fail;
	}

	ret = nfs_open_backing(p, &e->log, &b, err, err_len);
	if (ret)
		goto fail;
	e->rmax = b.rmax;
	e->wmax = b.wmax;
	e->fileid = b.tp.fileid;
	ret = -ENOMEM;
	snprintf(err, err_len, "out of memory");
	if (asprintf(&e->name, "%s:%s", p->cfg->server, p->cfg->path) < 0) {
		e->name = NULL;
		goto fail;
	}
	b.tp.name = e->name;
	b.tp.log = &e->log;
	b.tp.stats = &e->stats;
	b.tp.max_io = e->rmax > e->wmax ? e->rmax : e->wmax;
	/*
	 * Give up on a connection at half the command timeout, so that the
	 * calls it carried still have time to be answered on a new one.
	 */
	b.tp.nconn = p->cfg->nconnect;
	b.tp.hang_ms = e->timeout_ms ? e->timeout_ms / 2 : NFS_HARD_HANG_MS;
	if (b.tp.hang_ms < NFS_MIN_HANG_MS)
		b.tp.hang_ms = NFS_MIN_HANG_MS;
	e->t = nfs_transport_new(&b.tp);
	if (!e->t)
		goto fail;
	e->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (e->wake_fd < 0) {
		ret = -errno;
		snprintf(err, err_len, "eventfd: %s", strerror(errno));
		goto fail;
	}
	ret = -pthread_create(&e->thread, NULL, engine_thread, e);
	if (ret) {
		snprintf(err, err_len, "cannot start the I/O thread: %s",
			 strerror(-ret));
		goto fail;
	}
	err[0] = '\0';
	*out = e;
	return 0;
fail:
	engine_free(e);
	return ret;
}

void nfs_engine_submit(struct nfs_engine *e, struct nfs_io_req *req)
{
	bool first;

	req->next = NULL;
	STAT_ADD(&e->stats, queued, 1);
	pthread_mutex_lock(&e->lock);
	first = !e->submitted;
	*e->submitted_tail = req;
	e->submitted_tail = &req->next;
	pthread_mutex_unlock(&e->lock);
	/*
	 * One system call per batch, not per command: the thread reads the
	 * eventfd before it takes the queue, so a queue found non-empty is
	 * one it has still to take, woken by whoever queued the first.
	 */
	if (first)
		wake(e);
}

void nfs_engine_close(struct nfs_engine *e)
{
	struct nfs_engine_stats s;

	pthread_mutex_lock(&e->lock);
	e->stopping = true;
	pthread_mutex_unlock(&e->lock);
	wake(e);
	pthread_join(e->thread, NULL);
	nfs_engine_get_stats(e, &s);
	nfs_log(&e->log, NFS_LOG_INFO, "closed after %" PRIu64 " reads, %"
		PRIu64 " writes, %" PRIu64 " flushes, %" PRIu64 " COMMITs, %"
		PRIu64 " writes re-sent after a verifier change, %u RPCs in "
		"flight at most; %" PRIu64 " connections lost, %" PRIu64
		" restored, %" PRIu64 " attempts, %" PRIu64 " calls sent "
		"again, %" PRIu64 " replies discarded; %" PRIu64 " stable "
		"WRITEs, stable=auto changed path %" PRIu64 " times",
		s.reads, s.writes, s.flushes, s.commits, s.resends,
		s.peak_rpcs_in_flight, s.transport_errors, s.reconnects,
		s.connect_attempts, s.rpcs_resent, s.replies_discarded,
		s.stable_rpcs, s.policy_switches);
	engine_free(e);
}

void nfs_engine_get_stats(struct nfs_engine *e, struct nfs_engine_stats *s)
{
	const struct nfs_engine_stats *st = &e->stats;
	unsigned int p, i;

	s->reads = STAT_GET(st, reads);
	s->writes = STAT_GET(st, writes);
	s->flushes = STAT_GET(st, flushes);
	s->rpcs = STAT_GET(st, rpcs);
	s->commits = STAT_GET(st, commits);
	s->resends = STAT_GET(st, resends);
	s->cache_bytes = STAT_GET(st, cache_bytes);
	s->parked = STAT_GET(st, parked);
	s->queued = STAT_GET(st, queued);
	s->rpcs_in_flight = STAT_GET(st, rpcs_in_flight);
	s->peak_rpcs_in_flight = STAT_GET(st, peak_rpcs_in_flight);
	s->transport_errors = STAT_GET(st, transport_errors);
	s->connect_attempts = STAT_GET(st, connect_attempts);
	s->reconnects = STAT_GET(st, reconnects);
	s->rpcs_resent = STAT_GET(st, rpcs_resent);
	s->replies_discarded = STAT_GET(st, replies_discarded);
	s->conn_timeouts = STAT_GET(st, conn_timeouts);
	s->read_bytes = STAT_GET(st, read_bytes);
	s->write_bytes = STAT_GET(st, write_bytes);
	s->rpc_timeouts = STAT_GET(st, rpc_timeouts);
	s->read_bytes_placed = STAT_GET(st, read_bytes_placed);
	s->stable_rpcs = STAT_GET(st, stable_rpcs);
	s->policy_switches = STAT_GET(st, policy_switches);
	for (p = 0; p < NFS_LAT_PROCS; p++) {
		for (i = 0; i <= NFS_LAT_BUCKETS; i++)
			s->rpc_latency[p].bucket[i] =
				STAT_GET(st, rpc_latency[p].bucket[i]);
		s->rpc_latency[p].sum_us = STAT_GET(st, rpc_latency[p].sum_us);
	}
}

int nfs_engine_resize(struct nfs_engine *e, const struct nfs_engine_params *p,
		      char *err, size_t err_len)
{
	uint64_t old;
	int ret;

	err[0] = '\0';
	pthread_mutex_lock(&e->resize_lock);
	/* only resizes write it, and they hold resize_lock */
	old = e->dev_size;
	if (p->dev_size == old) {
		ret = 0;
		goto out;
	}
	if (p->dev_size < old) {
		ret = -EINVAL;
		/* short: tcmu-runner cuts a log line at 255 bytes */
		snprintf(err, err_len, "shrinking from %" PRIu64 " to %"
			 PRIu64 " bytes is refused: data past the new end "
			 "would be lost (size kept, file not truncated; see "
			 "docs/resize.md)", old, p->dev_size);
		goto out;
	}
	ret = nfs_open_check_grow(p, &e->log, e->fileid, err, err_len);
	if (ret)
		goto out;
	pthread_mutex_lock(&e->lock);
	if (e->stopping) {
		pthread_mutex_unlock(&e->lock);
		ret = -ESHUTDOWN;
		snprintf(err, err_len, "%s is closing", e->name);
		goto out;
	}
	e->resize_to = p->dev_size;
	pthread_mutex_unlock(&e->lock);
	wake(e);
	pthread_mutex_lock(&e->lock);
	while (e->resize_to)
		pthread_cond_wait(&e->resized, &e->lock);
	ret = e->resize_status;
	pthread_mutex_unlock(&e->lock);
	if (ret)
		snprintf(err, err_len, "out of memory for the write-back map "
			 "of %" PRIu64 " bytes", p->dev_size);
	else
		nfs_log(&e->log, NFS_LOG_INFO, "%s grew from %" PRIu64 " to %"
			PRIu64 " bytes", e->name, old, p->dev_size);
out:
	pthread_mutex_unlock(&e->resize_lock);
	return ret;
}

uint32_t nfs_engine_max_io(const struct nfs_engine *e)
{
	return e->wmax < e->rmax ? e->wmax : e->rmax;
}

void nfs_engine_set_commit_hook(struct nfs_engine *e,
				void (*hook)(void *arg, unsigned int pieces),
				void *arg)
{
	/* before any I/O is submitted: the engine thread reads it unlocked */
	e->commit_hook = hook;
	e->commit_hook_arg = arg;
}
