// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Engine lifecycle and its thread.  Callers only append to a locked queue
 * and poke an eventfd; the engine thread alone touches the libnfs context.
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

/* libnfs checks its RPC timeouts only when serviced: do it this often. */
#define NFS_SERVICE_INTERVAL_MS	100

void nfs_engine_log(struct nfs_engine *e, enum nfs_log_level level,
		    const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!e->log)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	e->log(e->log_arg, level, msg);
}

static void wake(struct nfs_engine *e)
{
	uint64_t one = 1;

	/* a full counter already means "wake up" */
	if (write(e->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		nfs_engine_log(e, NFS_LOG_ERR, "eventfd write: %s",
			       strerror(errno));
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void *engine_thread(void *arg)
{
	struct nfs_engine *e = arg;
	struct nfs_io_req *req, *next;
	struct pollfd pfd[2];
	uint64_t count;
	bool stopping;

	for (;;) {
		pthread_mutex_lock(&e->lock);
		req = e->submitted;
		e->submitted = NULL;
		e->submitted_tail = &e->submitted;
		stopping = e->stopping;
		pthread_mutex_unlock(&e->lock);

		e->now_ms = now_ms();
		e->closing = stopping;
		for (; req; req = next) {
			next = req->next;
			nfs_io_start(e, req);
		}
		nfs_io_tick(e);
		if (stopping && nfs_io_idle(e))
			break;

		/* re-read every time: a reconnect changes the socket */
		pfd[0].fd = nfs_get_fd(e->nfs);
		pfd[0].events = (short)nfs_which_events(e->nfs);
		pfd[0].revents = 0;
		pfd[1].fd = e->wake_fd;
		pfd[1].events = POLLIN;
		pfd[1].revents = 0;
		if (poll(pfd, 2, NFS_SERVICE_INTERVAL_MS) < 0 &&
		    errno != EINTR) {
			nfs_engine_log(e, NFS_LOG_ERR, "poll: %s",
				       strerror(errno));
			continue;
		}
		if ((pfd[1].revents & POLLIN) &&
		    read(e->wake_fd, &count, sizeof(count)) < 0 &&
		    errno != EAGAIN)
			nfs_engine_log(e, NFS_LOG_ERR, "eventfd read: %s",
				       strerror(errno));
		if (nfs_service(e->nfs, pfd[0].revents) < 0)
			nfs_engine_log(e, NFS_LOG_ERR, "NFS connection: %s",
				       nfs_get_error(e->nfs));
	}
	return NULL;
}

static void engine_free(struct nfs_engine *e)
{
	nfs_engine_disconnect(e);
	nfs_cache_free(e);
	if (e->wake_fd >= 0)
		close(e->wake_fd);
	pthread_mutex_destroy(&e->lock);
	free(e->scratch);
	free(e);
}

int nfs_engine_open(const struct nfs_engine_params *p,
		    struct nfs_engine **out, char *err, size_t err_len)
{
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
	e->submitted_tail = &e->submitted;
	e->awaiting.tail = &e->awaiting.head;
	e->batch.tail = &e->batch.head;
	e->log = p->log;
	e->log_arg = p->log_arg;
	e->base = p->cfg->offset;
	e->dev_size = p->dev_size;
	e->writeback = p->cfg->writeback;
	e->cache_max = p->cfg->cache_max;
	e->timeout_ms = (int)p->cfg->timeout * 1000;
	e->retry.tail = &e->retry.head;
	e->flushes.tail = &e->flushes.head;
	if (nfs_cache_init(e)) {
		snprintf(err, err_len, "out of memory for the write-back map");
		ret = -ENOMEM;
		goto fail;
	}

	ret = nfs_engine_connect(e, p, err, err_len);
	if (ret)
		goto fail;
	ret = -ENOMEM;
	snprintf(err, err_len, "out of memory");
	e->scratch = malloc(e->wmax);
	if (!e->scratch)
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
	req->next = NULL;
	__atomic_add_fetch(&e->stats.queued, 1, __ATOMIC_RELAXED);
	pthread_mutex_lock(&e->lock);
	*e->submitted_tail = req;
	e->submitted_tail = &req->next;
	pthread_mutex_unlock(&e->lock);
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
	nfs_engine_log(e, NFS_LOG_INFO, "closed after %" PRIu64 " reads, %"
		       PRIu64 " writes, %" PRIu64 " flushes, %" PRIu64
		       " COMMITs, %" PRIu64 " writes re-sent after a verifier "
		       "change, %u RPCs in flight at most", s.reads, s.writes,
		       s.flushes, s.commits, s.resends,
		       s.peak_rpcs_in_flight);
	engine_free(e);
}

void nfs_engine_get_stats(struct nfs_engine *e, struct nfs_engine_stats *s)
{
	s->reads = __atomic_load_n(&e->stats.reads, __ATOMIC_RELAXED);
	s->writes = __atomic_load_n(&e->stats.writes, __ATOMIC_RELAXED);
	s->flushes = __atomic_load_n(&e->stats.flushes, __ATOMIC_RELAXED);
	s->rpcs = __atomic_load_n(&e->stats.rpcs, __ATOMIC_RELAXED);
	s->commits = __atomic_load_n(&e->stats.commits, __ATOMIC_RELAXED);
	s->resends = __atomic_load_n(&e->stats.resends, __ATOMIC_RELAXED);
	s->queued = __atomic_load_n(&e->stats.queued, __ATOMIC_RELAXED);
	s->cache_bytes = __atomic_load_n(&e->stats.cache_bytes,
					 __ATOMIC_RELAXED);
	s->parked = __atomic_load_n(&e->stats.parked, __ATOMIC_RELAXED);
	s->rpcs_in_flight = __atomic_load_n(&e->stats.rpcs_in_flight,
					    __ATOMIC_RELAXED);
	s->peak_rpcs_in_flight = __atomic_load_n(
		&e->stats.peak_rpcs_in_flight, __ATOMIC_RELAXED);
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
