/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Engine internals.  The layers and the way their calls run:
 *
 *   nfs_engine.c     the thread, the submission queue, the poll loop
 *        |
 *   nfs_io.c  ---->  nfs_cache.c   commands to RPCs | write-back bookkeeping
 *        |   \--->  nfs_policy.c  stable WRITE or COMMIT, measured
 *        |
 *   nfs_transport.c  connections, reconnect, send, timers
 *   nfs_transport_rx.c   replies: framing, XID match, READ data in place
 *        |
 *   nfs_xdr.c        ONC RPC / NFSv3 encoding
 *
 * nfs_open.c (libnfs: mount, look up, check) runs once, before the thread.
 * nfs_base.c (log, clock, counters) is the leaf under all of them.
 */
#ifndef NFS_ENGINE_PRIV_H
#define NFS_ENGINE_PRIV_H

#include <pthread.h>
#include <stdarg.h>

#include "nfs_base.h"
#include "nfs_engine.h"
#include "nfs_policy.h"
#include "nfs_transport.h"

/*
 * The part of a request that fits one READ or WRITE RPC, or a flush.
 * Write-through chunks live in their request's array and die with it.
 * Write-back ("cached") chunks own a copy of their data and outlive the
 * request: they are acknowledged on the UNSTABLE reply (req becomes NULL)
 * and freed once a COMMIT with their verifier makes them stable.
 */
struct nfs_chunk {
	struct nfs_engine *e;
	struct nfs_io_req *req;		/* NULL once acknowledged */
	struct nfs_chunk *next;		/* on a commit, flush or retry list */
	struct nfs_chunk *dprev, *dnext; /* on the dirty list, by seq */
	struct nfs_rpc rpc;		/* the piece in flight */
	struct iovec own;		/* cached: the copy, as an iovec */
	enum nfs_io_op op;
	uint64_t pos;			/* device offset of its first byte */
	size_t data_off;		/* from the start of the request */
	char *buf;			/* cached: its own copy of the data */
	uint64_t seq;			/* cached: order of creation; flush: */
					/* the last seq it must see stable */
	uint64_t deadline_ms;		/* flush: fail it after this */
	uint32_t len;
	uint32_t done;			/* bytes the server has answered */
	unsigned char verf[NFS_XDR_VERFSIZE]; /* of the pieces so far */
	bool unstable;			/* some piece was answered UNSTABLE */
	bool cached;
};

struct nfs_chunk_list {
	struct nfs_chunk *head;
	struct nfs_chunk **tail;
	unsigned int writes;		/* write chunks, flushes excluded */
	unsigned int urgent;		/* entries a command is waiting on */
};

struct nfs_engine {
	/* fixed once open */
	struct nfs_transport *t;
	struct nfs_logger log;
	char *name;			/* "server:/path", for messages */
	uint64_t base;			/* config offset */
	uint64_t dev_size;		/* engine thread: nfs_engine_resize */
	uint64_t fileid;		/* of the file at open */
	uint32_t rmax, wmax;
	bool writeback;
	uint64_t cache_max;
	int timeout_ms;			/* 0: commands never time out */

	/* submission queue, shared with the callers' threads */
	pthread_mutex_t lock;
	struct nfs_io_req *submitted;
	struct nfs_io_req **submitted_tail;
	bool stopping;
	int wake_fd;
	pthread_t thread;
	uint64_t resize_to;		/* a new dev_size for the thread, */
	pthread_cond_t resized;		/* 0 once applied */
	int resize_status;
	pthread_mutex_t resize_lock;	/* one nfs_engine_resize at a time */

	/* engine thread only */
	bool closing;			/* stopping, as last seen */
	uint64_t now_ms;		/* CLOCK_MONOTONIC, once per loop */
	unsigned int active;		/* requests started, not completed */
	struct nfs_chunk_list awaiting;	/* stable once the next COMMIT is */
	struct nfs_chunk_list batch;	/* covered by the COMMIT in flight */
	struct nfs_chunk_list flushes;	/* committed, waiting for cached */
					/* writes older than them */
	struct nfs_rpc commit_rpc;
	bool commit_in_flight;
	uint64_t last_commit_ms;
	uint64_t failure_log_ms;	/* last failed RPC logged */
	unsigned int failures;		/* not logged since */
	void (*commit_hook)(void *arg, unsigned int pieces);
	void *commit_hook_arg;
	struct nfs_policy policy;	/* stable WRITE or COMMIT */
	struct nfs_chunk *chunk_pool;	/* free one-chunk arrays */
	unsigned int chunk_pool_n;

	/* write-back cache, engine thread only (nfs_cache.c) */
	uint64_t cache_bytes;		/* data held by cached chunks */
	uint64_t seq;			/* last seq handed out */
	struct nfs_chunk *dirty_head;	/* cached chunks, oldest first */
	struct nfs_chunk *dirty_tail;
	uint8_t *dirty_map;		/* cached chunks per granule */
	unsigned int granule_shift;
	struct nfs_io_req *parked;	/* waiting for memory or a range */
	struct nfs_io_req **parked_tail;
	struct nfs_chunk_list retry;	/* acknowledged, to send again */
	uint64_t retry_at_ms;
	int lost;			/* status of a lost acknowledged */
					/* write, for the next flush */

	struct nfs_engine_stats stats;	/* __atomic access */
};

/*
 * nfs_open.c: mount, find or create and check the file with libnfs, and
 * hand the transport what it needs to reach it.  Leaves nothing open.
 */
struct nfs_backing {
	struct nfs_transport_params tp;
	uint32_t rmax, wmax;
};

int nfs_open_backing(const struct nfs_engine_params *p,
		     const struct nfs_logger *log, struct nfs_backing *b,
		     char *err, size_t err_len);

/*
 * Growing to p->dev_size: the open-time checks again, on the same file
 * (@fileid); with create=1 a file too small is extended (sparse).
 */
int nfs_open_check_grow(const struct nfs_engine_params *p,
			const struct nfs_logger *log, uint64_t fileid,
			char *err, size_t err_len);

/* nfs_io.c: requests on the engine thread. */
void nfs_io_start(struct nfs_engine *e, struct nfs_io_req *req);
/* Timers: periodic COMMIT, retries, flush deadlines.  Every loop. */
void nfs_io_tick(struct nfs_engine *e);
/* Does nfs_io_tick have timed work (so the loop must wake for it)? */
bool nfs_io_timers(const struct nfs_engine *e);
/* Nothing queued, in flight or held: close may free the engine. */
bool nfs_io_idle(const struct nfs_engine *e);
/* Free what nfs_io.c keeps for reuse, once idle. */
void nfs_io_free(struct nfs_engine *e);

/* nfs_cache.c: the write-back cache's bookkeeping. */
int nfs_cache_init(struct nfs_engine *e);
void nfs_cache_free(struct nfs_engine *e);
int nfs_cache_resize(struct nfs_engine *e, uint64_t dev_size);
/* Can @req start now, or must it wait for memory or a dirty range? */
bool nfs_cache_may_start(struct nfs_engine *e, const struct nfs_io_req *req);
void nfs_cache_park(struct nfs_engine *e, struct nfs_io_req *req);
struct nfs_io_req *nfs_cache_unpark(struct nfs_engine *e);
void nfs_cache_hold(struct nfs_engine *e, struct nfs_chunk *c);
void nfs_cache_release(struct nfs_engine *e, struct nfs_chunk *c);
/* Is any cached chunk with seq <= @seq not yet stable? */
bool nfs_cache_dirty_upto(const struct nfs_engine *e, uint64_t seq);

#endif
