/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Inside the pool (tnfs_pool.h): its structs, which its files share:
 *   tnfs_pool.c        the registry, a pool's life, the API
 *   tnfs_pool_mux.c    the thread: channels, wires, XIDs, timers
 *   tnfs_pool_frame.c  streams cut into fragments, queues written out
 * each calling only the ones below it.  Nothing outside the transport
 * includes this.
 */
#ifndef TNFS_POOL_MUX_H
#define TNFS_POOL_MUX_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "tnfs_pool.h"
#include "tnfs_pool_frame.h"
#include "tnfs_transport.h"

#define XHASH			256
#define CONNECT_TIMEOUT_MS	5000
/* small records are read many at a time through the pool's stage */
#define STAGE			65536
#define EVENTS			64

enum ev_kind { EV_WAKE, EV_WIRE, EV_CHAN };

/* a call on a wire: its device's XID, and whose it is (NULL: gone) */
struct entry {
	struct entry *next;
	uint32_t wxid, xid;
	uint32_t reply_max;		/* its reply's longest; 0: unknown */
	struct chan *ch;
};

enum wire_state { W_DOWN, W_CONNECTING, W_UP };

struct wire {
	enum ev_kind kind;
	struct tnfs_pool *pool;
	unsigned int index;
	int fd;
	enum wire_state state;
	uint32_t events;		/* asked of epoll */
	struct framer rx;
	struct pqueue out;
	bool continuing;		/* a reply's next fragments follow, */
	struct chan *cont;		/* ... for this channel, or none */
	struct entry *hash[XHASH];
	unsigned int live;		/* calls whose channel waits */
	unsigned int nchans;
	bool probing;
	uint32_t probe_xid;
	uint64_t attempt_ms, up_ms, rx_ms, busy_ms;
	uint64_t next_attempt_ms;
	unsigned int backoff_ms;
};

struct chan {
	enum ev_kind kind;
	struct tnfs_pool *pool;
	int fd;
	uint32_t events;
	struct wire *w;
	struct framer rx;
	struct pqueue out;
	struct chan *prev, *next;
};

struct tnfs_pool {
	struct tnfs_pool *next;		/* registry_lock: the registry */
	unsigned int refs;		/* registry_lock */
	pthread_t thread;
	int ep, wake_fd;
	enum ev_kind wake_kind;

	pthread_mutex_t lock;
	struct tnfs_pool_params p;	/* nconn, record_max grow */
	struct chan *incoming;
	bool stopping;
	char cause[200];
	unsigned int wires_open;

	/* the pool thread's */
	struct wire wire[TNFS_MAX_CONN];
	struct chan *chans;
	struct chan *grave;		/* closed, freed after the batch */
	unsigned int nconn;
	size_t record_max;
	unsigned int busy_poll_us;
	uint64_t active_us;		/* a stream last had something */
	uint32_t next_xid;
	unsigned int seed;
	uint64_t now_ms;
	unsigned char stage[STAGE];
};

/* The pool's thread, until the pool is stopping. */
void *tnfs_pool_thread(void *arg);

/* Close every channel and wire (the thread has ended). */
void tnfs_pool_close_all(struct tnfs_pool *pool);

#endif
