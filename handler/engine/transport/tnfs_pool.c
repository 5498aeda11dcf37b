// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Pools by server (tnfs_pool.h): the registry the devices of the process
 * find theirs in, a pool's life (its thread starts with its first device
 * and ends with its last), and the calls other threads make.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "tnfs_pool_mux.h"

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct tnfs_pool *registry;

static void pool_free(struct tnfs_pool *pool)
{
	tnfs_pool_close_all(pool);
	if (pool->ep >= 0)
		close(pool->ep);
	if (pool->wake_fd >= 0)
		close(pool->wake_fd);
	pthread_mutex_destroy(&pool->lock);
	free(pool);
}

static bool same_server(const struct tnfs_pool *pool,
			const struct tnfs_pool_params *p)
{
	return pool->p.addr_len == p->addr_len &&
	       !memcmp(&pool->p.addr, &p->addr, p->addr_len) &&
	       pool->p.resvport == p->resvport;
}

static struct tnfs_pool *pool_new(const struct tnfs_pool_params *p)
{
	struct tnfs_pool *pool = calloc(1, sizeof(*pool));
	struct epoll_event ev = { .events = EPOLLIN };
	unsigned int i;
	int ret;

	if (!pool)
		return NULL;
	pool->p = *p;
	if (pool->p.nconn < 1)
		pool->p.nconn = 1;
	if (pool->p.nconn > TNFS_MAX_CONN)
		pool->p.nconn = TNFS_MAX_CONN;
	pool->nconn = pool->p.nconn;
	pool->record_max = pool->p.record_max;
	pool->busy_poll_us = pool->p.busy_poll_us;
	pthread_mutex_init(&pool->lock, NULL);
	pool->seed = (unsigned int)tnfs_now_ms() ^
		     (unsigned int)(uintptr_t)pool;
	pool->next_xid = (uint32_t)rand_r(&pool->seed) << 16 ^
			 (uint32_t)rand_r(&pool->seed);
	for (i = 0; i < TNFS_MAX_CONN; i++) {
		pool->wire[i].kind = EV_WIRE;
		pool->wire[i].pool = pool;
		pool->wire[i].index = i;
		pool->wire[i].fd = -1;
		pool->wire[i].backoff_ms = TNFS_BACKOFF_MIN_MS;
	}
	pool->wake_kind = EV_WAKE;
	pool->ep = epoll_create1(EPOLL_CLOEXEC);
	pool->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	ev.data.ptr = &pool->wake_kind;
	if (pool->ep < 0 || pool->wake_fd < 0 ||
	    epoll_ctl(pool->ep, EPOLL_CTL_ADD, pool->wake_fd, &ev))
		goto fail;
	ret = pthread_create(&pool->thread, NULL, tnfs_pool_thread, pool);
	if (ret) {
		errno = ret;
		goto fail;
	}
	return pool;
fail:
	ret = errno;
	pool_free(pool);
	errno = ret;
	return NULL;
}

struct tnfs_pool *tnfs_pool_get(const struct tnfs_pool_params *p)
{
	struct tnfs_pool *pool;

	pthread_mutex_lock(&registry_lock);
	for (pool = registry; pool; pool = pool->next)
		if (same_server(pool, p))
			break;
	if (pool) {
		pool->refs++;
		pthread_mutex_lock(&pool->lock);
		if (p->nconn > pool->p.nconn)
			pool->p.nconn = p->nconn > TNFS_MAX_CONN ?
					TNFS_MAX_CONN : p->nconn;
		if (p->record_max > pool->p.record_max)
			pool->p.record_max = p->record_max;
		if (p->busy_poll_us > pool->p.busy_poll_us)
			pool->p.busy_poll_us = p->busy_poll_us;
		pthread_mutex_unlock(&pool->lock);
	} else if ((pool = pool_new(p))) {
		pool->refs = 1;
		pool->next = registry;
		registry = pool;
	}
	pthread_mutex_unlock(&registry_lock);
	return pool;
}

static void wake(struct tnfs_pool *pool)
{
	uint64_t one = 1;

	/* fails only when full, which already means "wake up" */
	if (write(pool->wake_fd, &one, sizeof(one)) < 0)
		return;
}

void tnfs_pool_put(struct tnfs_pool *pool)
{
	struct tnfs_pool **pp;
	bool last;

	if (!pool)
		return;
	pthread_mutex_lock(&registry_lock);
	last = !--pool->refs;
	if (last) {
		for (pp = &registry; *pp != pool; pp = &(*pp)->next)
			;
		*pp = pool->next;
	}
	pthread_mutex_unlock(&registry_lock);
	if (!last)
		return;
	pthread_mutex_lock(&pool->lock);
	pool->stopping = true;
	pthread_mutex_unlock(&pool->lock);
	wake(pool);
	pthread_join(pool->thread, NULL);
	pool_free(pool);
}

int tnfs_pool_channel(struct tnfs_pool *pool)
{
	struct chan *ch;
	int sv[2];

	ch = calloc(1, sizeof(*ch));
	if (!ch)
		return -ENOMEM;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
		       sv)) {
		int ret = -errno;

		free(ch);
		return ret;
	}
	ch->kind = EV_CHAN;
	ch->pool = pool;
	ch->fd = sv[1];
	pthread_mutex_lock(&pool->lock);
	ch->next = pool->incoming;
	pool->incoming = ch;
	pthread_mutex_unlock(&pool->lock);
	wake(pool);
	return sv[0];
}

void tnfs_pool_cause(struct tnfs_pool *pool, char *buf, size_t len)
{
	pthread_mutex_lock(&pool->lock);
	snprintf(buf, len, "%s", pool->cause);
	pthread_mutex_unlock(&pool->lock);
}

unsigned int tnfs_pool_wires(struct tnfs_pool *pool)
{
	unsigned int n;

	pthread_mutex_lock(&pool->lock);
	n = pool->wires_open;
	pthread_mutex_unlock(&pool->lock);
	return n;
}

unsigned int tnfs_pool_count(void)
{
	struct tnfs_pool *pool;
	unsigned int n = 0;

	pthread_mutex_lock(&registry_lock);
	for (pool = registry; pool; pool = pool->next)
		n++;
	pthread_mutex_unlock(&registry_lock);
	return n;
}
