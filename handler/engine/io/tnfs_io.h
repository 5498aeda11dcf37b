/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The I/O path: commands to READ, WRITE and COMMIT RPCs with the
 * verifier rules (tnfs_io.c), the write-back cache beside it
 * (tnfs_cache.c) and the stable-write policy (tnfs_policy.c).  It runs
 * on the engine thread only, which owns a struct tnfs_io and drives it:
 * tnfs_io_start for each command taken from the queue, tnfs_io_tick on
 * every loop.  Below it: the transport, which it hands RPCs to.
 */
#ifndef TNFS_IO_H
#define TNFS_IO_H

#include "tnfs_base.h"
#include "tnfs_config.h"
#include "tnfs_policy.h"
#include "tnfs_ratelimit.h"
#include "tnfs_req.h"
#include "tnfs_stats.h"
#include "tnfs_transport.h"

/*
 * The part of a request that fits one READ or WRITE RPC, or a flush.
 * Write-through chunks live in their request's array and die with it.
 * Write-back ("cached") chunks own a copy of their data and outlive the
 * request: they are acknowledged on the UNSTABLE reply (req becomes NULL)
 * and freed once a COMMIT with their verifier makes them stable.
 */
struct tnfs_chunk {
	struct tnfs_io *io;
	struct tnfs_io_req *req;	/* NULL once acknowledged */
	struct tnfs_chunk *next;	/* on a commit, flush or retry list */
	struct tnfs_chunk *dprev, *dnext; /* on the dirty list, by seq */
	struct iovec own;		/* cached: the copy, as an iovec */
	enum tnfs_io_op op;
	uint64_t pos;			/* device offset of its first byte */
	size_t data_off;		/* from the start of the request */
	char *buf;			/* cached: its own copy of the data */
	uint64_t seq;			/* cached: order of creation; flush: */
					/* the last seq it must see stable */
	uint64_t deadline_ms;		/* flush: fail it after this */
	uint64_t fail_ms;		/* cached: first "not now" answer */
	uint32_t len;
	uint32_t done;			/* bytes the server has answered */
	unsigned char verf[TNFS_XDR_VERFSIZE]; /* of the pieces so far */
	bool unstable;			/* some piece was answered UNSTABLE */
	bool cached;
	/* last: its call header buffer needs no zeroing (chunk_clear) */
	struct tnfs_rpc rpc;		/* the piece in flight */
};

struct tnfs_chunk_list {
	struct tnfs_chunk *head;
	struct tnfs_chunk **tail;
	unsigned int writes;		/* write chunks, flushes excluded */
	unsigned int urgent;		/* entries a command is waiting on */
};

/* A COMMIT in flight, and the chunks it makes stable. */
struct tnfs_commit {
	struct tnfs_rpc rpc;
	struct tnfs_chunk_list batch;
	struct tnfs_io *io;
	uint64_t sent_us;
	bool busy;
};

/* COMMITs in flight at once, at most (tnfs_io.c: commit_wanted). */
#define TNFS_COMMITS_MAX	8

/* A range of acknowledged write-back data the server never took. */
struct tnfs_lost {
	uint64_t pos, len;
	struct tnfs_lost *next;
};

struct tnfs_io {
	/* fixed once open */
	struct tnfs_transport *t;
	struct tnfs_logger log;
	uint64_t base;			/* config offset */
	uint64_t dev_size;		/* changed by tnfs_io_resize only */
	uint32_t rmax, wmax;
	bool writeback;
	uint64_t cache_max;
	int timeout_ms;			/* 0: commands never time out */

	/* set by the engine thread on every loop */
	bool closing;			/* the engine is stopping */
	uint64_t now_ms;		/* CLOCK_MONOTONIC */
	uint64_t last_done_ms;		/* a command last completed */
	/*
	 * Set while a command is started on its caller's thread: one that
	 * completes at once is kept here, for the engine thread to finish
	 * (callers' done() runs on the engine thread only).
	 */
	bool defer;
	struct tnfs_io_req *deferred;
	int fenced;			/* every command fails with it */
	bool can_dealloc;		/* tnfs_io_params */

	unsigned int active;		/* requests started, not completed */
	struct tnfs_chunk_list awaiting;	/* stable once the next */
						/* COMMIT is */
	struct tnfs_chunk_list flushes;	/* committed, waiting for cached */
					/* writes older than them */
	struct tnfs_commit commits[TNFS_COMMITS_MAX];
	unsigned int commits_busy;	/* in flight */
	uint64_t last_commit_ms;
	uint64_t last_commit_us;	/* the last one sent */
	uint64_t commit_us;		/* what one takes, of late */
	struct tnfs_ratelimit failure_log;	/* failed RPCs */
	void (*commit_hook)(void *arg, unsigned int pieces);
	void *commit_hook_arg;
	struct tnfs_policy policy;	/* stable WRITE or COMMIT */
	struct tnfs_chunk *chunk_pool;	/* free one-chunk arrays */
	unsigned int chunk_pool_n;

	/* write-back cache (tnfs_cache.c) */
	uint64_t cache_bytes;		/* data held by cached chunks */
	uint64_t seq;			/* last seq handed out */
	struct tnfs_chunk *dirty_head;	/* cached chunks, oldest first */
	struct tnfs_chunk *dirty_tail;
	uint8_t *dirty_map;		/* cached chunks per granule */
	unsigned int granule_shift;
	struct tnfs_io_req *parked;	/* waiting for memory or a range */
	struct tnfs_io_req **parked_tail;
	struct tnfs_chunk_list retry;	/* acknowledged, to send again */
	uint64_t retry_at_ms;
	struct tnfs_lost *lost_list;	/* acknowledged, never written: */
					/* every flush fails while any */
	bool lost_untracked;		/* out of memory to say where */
	struct tnfs_ratelimit lost_log;

	struct tnfs_io_stats stats;	/* its own, read by others */
};

struct tnfs_io_params {
	struct tnfs_transport *t;
	const struct tnfs_logger *log;
	uint64_t base;			/* config offset */
	uint64_t dev_size;
	uint32_t rmax, wmax;		/* largest READ and WRITE */
	bool writeback;
	uint64_t cache_max;
	int timeout_ms;
	enum tnfs_stable_mode stable;
	bool can_dealloc;		/* NFSv4.2 DEALLOCATE (TNFS_IO_UNMAP) */
};

/* Set @io up for @p; -ENOMEM (the write-back map).  Free with io_free. */
int tnfs_io_init(struct tnfs_io *io, const struct tnfs_io_params *p);

/* Free what @io holds, once idle (tnfs_io_idle). */
void tnfs_io_free(struct tnfs_io *io);

/* Carry out a command taken from the queue. */
void tnfs_io_start(struct tnfs_io *io, struct tnfs_io_req *req);

/* Commands that completed while io->defer was set: done() them. */
void tnfs_io_finish_deferred(struct tnfs_io *io);

/* Timers: periodic COMMIT, retries, flush deadlines.  Every loop. */
void tnfs_io_tick(struct tnfs_io *io);

/* Does tnfs_io_tick have timed work (so the loop must wake for it)? */
bool tnfs_io_timers(const struct tnfs_io *io);

/* Nothing queued, in flight or held: close may free the engine. */
bool tnfs_io_idle(const struct tnfs_io *io);

/*
 * The device is now @dev_size bytes (between two commands): the
 * write-back map follows, and fresh connections must find the file that
 * big.  -ENOMEM leaves everything as it was.
 */
int tnfs_io_resize(struct tnfs_io *io, uint64_t dev_size);

/* A snapshot of the I/O path's counters; safe from any thread. */
void tnfs_io_get_stats(const struct tnfs_io *io, struct tnfs_io_stats *s);

#endif
