// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Commands to RPCs, on the engine thread: READ, WRITE and COMMIT handed
 * to the transport (tnfs_transport.c), which sends them again on a fresh
 * connection when one dies, so a command here sees either the server's
 * answer or its own deadline passing.
 *
 * A request is cut into chunks of at most rsize/wsize bytes.  A write
 * chunk answered UNSTABLE waits on io->awaiting; at most one COMMIT is in
 * flight and it covers every chunk that was waiting when it was sent, so
 * concurrent writes share COMMITs.  A chunk whose verifier differs from
 * the COMMIT's is written again: the server restarted and may have lost
 * it.  A request completes when all its chunks are done: stable for a
 * write-through write, answered for a write-back one (tnfs_cache.c holds
 * its data until stable).  An unmap is one DEALLOCATE + COMMIT compound
 * (NFSv4.2), started only once no write-back data it covers is held:
 * held data sent after it would bring the old blocks back.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "tnfs_cache.h"
#include "tnfs_iov.h"
#include "tnfs_io.h"
#include "tnfs_ratelimit.h"
#include "tnfs_status.h"

/* Write-back: commit what is held at least this often. */
#define TNFS_WRITEBACK_INTERVAL_MS	1000
/* Write-back: re-send acknowledged data after a transport error. */
#define TNFS_RETRY_INTERVAL_MS		1000
/* Failed RPCs: at most this many lines per 5 s. */
#define TNFS_FAILURE_LOG_BURST		1
#define TNFS_FAILURE_LOG_MS		5000
/*
 * Acknowledged write-back data the server answers "not now" (JUKEBOX,
 * SYSTEM_ERR) is retried this long before it counts as lost; data the
 * server never answers for is retried as long as it takes.
 */
#define TNFS_ACKED_RETRY_MS		600000
/* A COMMIT is sent while others are in flight this long after the last. */
#define TNFS_COMMIT_STAGGER_MIN_US	2000

static void list_init(struct tnfs_chunk_list *l)
{
	l->head = NULL;
	l->tail = &l->head;
	l->writes = 0;
	l->urgent = 0;
}

static void list_add(struct tnfs_chunk_list *l, struct tnfs_chunk *c)
{
	c->next = NULL;
	*l->tail = c;
	l->tail = &c->next;
	if (c->op == TNFS_IO_WRITE)
		l->writes++;
	if (c->req)
		l->urgent++;
}

static struct tnfs_chunk *list_take(struct tnfs_chunk_list *l)
{
	struct tnfs_chunk *head = l->head;

	list_init(l);
	return head;
}

/*
 * Most commands fit one RPC: their one chunk comes from a pool, which
 * saves a calloc/free pair per command (a fifth of the instructions of
 * a 4k write at QD32, docs/evidence/profile.md).
 */
#define TNFS_CHUNK_POOL_MAX	256

static struct tnfs_chunk *chunks_get(struct tnfs_io *io,
				     struct tnfs_io_req *req, size_t n)
{
	struct tnfs_chunk *c = io->chunk_pool;

	req->nchunks = (unsigned int)n;
	if (n == 1 && c) {
		io->chunk_pool = c->next;
		io->chunk_pool_n--;
		/* all but the call header, written whole at each send */
		memset(c, 0, offsetof(struct tnfs_chunk, rpc) +
		       offsetof(struct tnfs_rpc, hdr));
		return c;
	}
	return calloc(n, sizeof(*c));
}

static void chunks_put(struct tnfs_io *io, struct tnfs_io_req *req)
{
	struct tnfs_chunk *c = req->chunks;

	req->chunks = NULL;
	if (c && req->nchunks == 1 && io->chunk_pool_n < TNFS_CHUNK_POOL_MAX) {
		c->next = io->chunk_pool;
		io->chunk_pool = c;
		io->chunk_pool_n++;
		return;
	}
	free(c);
}


/*
 * Where a command's time went (tnfs_stats.h); taken after its done()
 * returned, so from copies: done() may free the request.
 */
static void account_stages(struct tnfs_io *io, enum tnfs_io_op op,
			   uint64_t submit, uint64_t pickup, uint64_t reply,
			   uint64_t called)
{
	static const uint8_t cmd[] = {
		[TNFS_IO_READ] = TNFS_CMD_READ,
		[TNFS_IO_WRITE] = TNFS_CMD_WRITE,
		[TNFS_IO_FLUSH] = TNFS_CMD_FLUSH,
	};
	struct tnfs_latency *st = io->stats.stage[cmd[op]];
	uint64_t now = tnfs_now_us();

	/* failed without a reply, or completed before sending anything */
	if (reply < pickup || reply > called)
		reply = pickup;
	if (submit && pickup >= submit)
		tnfs_stage_add(&st[TNFS_STAGE_QUEUE], pickup - submit);
	tnfs_stage_add(&st[TNFS_STAGE_SERVER], reply - pickup);
	tnfs_stage_add(&st[TNFS_STAGE_COMPLETE], called - reply);
	tnfs_stage_add(&st[TNFS_STAGE_CALLBACK], now - called);
}

/* Hand @req back to its caller, and count where its time went. */
static void finish(struct tnfs_io *io, struct tnfs_io_req *req)
{
	enum tnfs_io_op op = req->op;
	uint64_t submit = req->submit_us, pickup = req->pickup_us;
	uint64_t reply = req->reply_us, called = tnfs_now_us();

	req->done(req, req->status);
	if (op != TNFS_IO_UNMAP)
		account_stages(io, op, submit, pickup, reply, called);
}

static void req_complete(struct tnfs_io *io, struct tnfs_io_req *req)
{
	switch (req->op) {
	case TNFS_IO_READ:
		STAT_ADD(&io->stats, reads, 1);
		break;
	case TNFS_IO_WRITE:
		STAT_ADD(&io->stats, writes, 1);
		if (req->policy && !req->status) {
			tnfs_policy_record(&io->policy, req->policy_cls,
					   req->path, tnfs_now_us() -
					   req->start_us, req->depth);
			STAT_SET(&io->stats, policy_switches,
				 io->policy.switches);
		}
		break;
	case TNFS_IO_FLUSH:
		STAT_ADD(&io->stats, flushes, 1);
		break;
	case TNFS_IO_UNMAP:
		STAT_ADD(&io->stats, unmaps, 1);
		break;
	}
	chunks_put(io, req);
	io->active--;
	io->last_done_ms = io->now_ms;
	if (io->defer) {
		req->next = io->deferred;
		io->deferred = req;
		return;
	}
	finish(io, req);
}

/* The chunk's part of its request is over; the chunk may live on. */
static void chunk_finish(struct tnfs_chunk *c, int status)
{
	struct tnfs_io_req *req = c->req;

	c->req = NULL;
	if (status && !req->status)
		req->status = status;
	if (--req->chunks_left == 0)
		req_complete(c->io, req);
}

static void kick(struct tnfs_io *io);

/* Stable on the server: complete its command if it still waits, free. */
static void chunk_stable(struct tnfs_chunk *c)
{
	struct tnfs_io *io = c->io;

	/* newer data over acknowledged data that was lost mends the loss */
	if (io->lost_list)
		tnfs_cache_heal(io, c->pos, c->len);

	/* a write-through chunk dies with its request: look first */
	if (!c->cached) {
		chunk_finish(c, 0);
		return;
	}
	if (c->req)
		chunk_finish(c, 0);
	tnfs_cache_release(io, c);
}

/*
 * A write chunk failed.  Not yet acknowledged: its command fails and, if
 * cached, the copy is dropped.  Acknowledged (write-back): a transient
 * error is retried later (no answer at all: for as long as it takes; a
 * "not now" from the server: for TNFS_ACKED_RETRY_MS); any other means
 * acknowledged data is lost, which every flush reports until newer data
 * is written over it.
 */
static void write_failed(struct tnfs_chunk *c, int status)
{
	struct tnfs_io *io = c->io;

	if (!c->cached) {
		chunk_finish(c, status);	/* frees c with its request */
		return;
	}
	if (c->req) {
		chunk_finish(c, status);
		tnfs_cache_release(io, c);
		return;
	}
	if (status != TNFS_IO_ERR_TRANSPORT && tnfs_status_transient(status)) {
		if (!c->fail_ms)
			c->fail_ms = io->now_ms;
		else if (io->now_ms - c->fail_ms >= TNFS_ACKED_RETRY_MS)
			goto lost;
	}
	if (tnfs_status_transient(status)) {
		list_add(&io->retry, c);
		return;
	}
lost:
	tnfs_cache_lose(io, c, status);
}

static void read_done(struct tnfs_rpc *rpc, int err,
		      const struct tnfs_xdr_reply *r);
static void write_done(struct tnfs_rpc *rpc, int err,
		       const struct tnfs_xdr_reply *r);

/*
 * The next piece of @c.  A WRITE goes out of the request's own iovec (or
 * the cached copy) by scatter-gather: no copy.  A piece of a command has
 * its command's deadline; an acknowledged write-back piece has none: it
 * waits for the server however long that takes.
 */
static void send_piece(struct tnfs_chunk *c)
{
	struct tnfs_io *io = c->io;
	struct tnfs_rpc *rpc = &c->rpc;

	rpc->call.offset = io->base + c->pos + c->done;
	rpc->call.count = c->len - c->done;
	rpc->deadline_ms = c->req ? c->req->deadline_ms : 0;
	rpc->priv = c;
	if (c->op == TNFS_IO_READ) {
		rpc->call.proc = TNFS_XDR_READ;
		rpc->done = read_done;
		/* the transport may receive the data right there */
		rpc->iov = c->req->iov;
		rpc->iov_cnt = c->req->iov_cnt;
		rpc->iov_off = c->data_off + c->done;
	} else {
		rpc->call.proc = TNFS_XDR_WRITE;
		/* acknowledged write-back data is never urgent */
		rpc->call.stable = c->req && c->req->policy ?
				   tnfs_policy_stable_how(io->policy.mode,
							  c->req->path) :
				   TNFS_XDR_UNSTABLE;
		if (rpc->call.stable != TNFS_XDR_UNSTABLE)
			STAT_ADD(&io->stats, stable_rpcs, 1);
		rpc->done = write_done;
		if (c->cached) {
			rpc->iov = &c->own;
			rpc->iov_cnt = 1;
			rpc->iov_off = c->done;
		} else {
			rpc->iov = c->req->iov;
			rpc->iov_cnt = c->req->iov_cnt;
			rpc->iov_off = c->data_off + c->done;
		}
	}
	tnfs_transport_send(io->t, rpc);
}

/*
 * Common head of the RPC callbacks: what the call came to (its nfsstat3,
 * a refusal, or an engine failure).  A dead or refusing server fails
 * every RPC: one line per interval is enough (the transport logs the
 * connection's fate itself).
 */
static int rpc_result(struct tnfs_io *io, const struct tnfs_rpc *rpc,
		      int err, const struct tnfs_xdr_reply *r)
{
	int res = err ? err : tnfs_xdr_result(r);
	unsigned int more;

	if (!err && r->rpc == TNFS_XDR_RPC_OK)
		return res;
	if (tnfs_ratelimit(&io->failure_log, io->now_ms,
			   TNFS_FAILURE_LOG_BURST, TNFS_FAILURE_LOG_MS, &more))
		tnfs_log(&io->log, TNFS_LOG_ERR, "%s failed: %s (and %u more "
			 "RPCs since the last report)",
			 tnfs_xdr_proc_name(rpc->call.proc),
			 res == TNFS_IO_ERR_TRANSPORT ?
			 "no answer within timeout=" : tnfs_status_name(res),
			 more);
	return res;
}

/*
 * A reply said the file is @size bytes, less than the device needs:
 * never read zeros for data, nor let a write extend the cut file again.
 */
static bool shrank(struct tnfs_io *io, const struct tnfs_xdr_reply *r,
		   uint64_t end_seen, bool write)
{
	uint64_t end = io->base + io->dev_size, size = end;

	if (r->have_pre_size && r->pre_size < size)
		size = r->pre_size;
	if (r->have_attr && r->attr.size < size)
		size = r->attr.size;
	if (end_seen < size)
		size = end_seen;
	if (size >= end)
		return false;
	tnfs_log(&io->log, TNFS_LOG_ERR, "the backing file is %llu bytes, "
		 "below the device's end at %llu: the %s fails",
		 (unsigned long long)size, (unsigned long long)end,
		 write ? "write" : "read");
	/* a WRITE may have extended it again: no later check can tell */
	tnfs_transport_shrank(io->t, size, write);
	return true;
}

static void read_done(struct tnfs_rpc *rpc, int err,
		      const struct tnfs_xdr_reply *r)
{
	struct tnfs_chunk *c = rpc->priv;
	struct tnfs_io_req *req = c->req;
	uint32_t n;
	int ret;

	ret = rpc_result(c->io, rpc, err, r);
	if (!err)
		req->reply_us = tnfs_transport_rx_us(c->io->t);
	if (ret) {
		chunk_finish(c, ret);
		return;
	}
	/* the transport checked count <= asked and the data's length */
	n = r->count;
	if (shrank(c->io, r, n < rpc->call.count && r->eof ?
		   rpc->call.offset + n : UINT64_MAX, false)) {
		chunk_finish(c, TNFS_IO_ERR_SHRUNK);
		return;
	}
	if (!r->placed)
		tnfs_iov_put(req->iov, req->iov_cnt, c->data_off + c->done,
			     r->data, n);
	c->done += n;
	if (c->done == c->len) {
		chunk_finish(c, 0);
	} else if (!n) {
		chunk_finish(c, TNFS_IO_ERR_SHORT);
	} else {
		send_piece(c);
	}
}

static void maybe_commit(struct tnfs_io *io);

/* Start the chunk again from its first byte: its data may be lost. */
static void resend(struct tnfs_chunk *c)
{
	STAT_ADD(&c->io->stats, resends, 1);
	c->done = 0;
	c->unstable = false;
	send_piece(c);
}

/* Every piece of a write chunk is answered. */
static void write_answered(struct tnfs_chunk *c)
{
	struct tnfs_io *io = c->io;

	if (!c->unstable) {
		chunk_stable(c);	/* FILE_SYNC or DATA_SYNC */
		kick(io);
		return;
	}
	/* write-back: acknowledge now, unless FUA asked for stable */
	if (c->cached && c->req && !c->req->fua)
		chunk_finish(c, 0);
	list_add(&io->awaiting, c);
	maybe_commit(io);
}

static void write_done(struct tnfs_rpc *rpc, int err,
		       const struct tnfs_xdr_reply *r)
{
	struct tnfs_chunk *c = rpc->priv;
	struct tnfs_io *io = c->io;
	int ret;

	ret = rpc_result(io, rpc, err, r);
	if (!err && c->req)
		c->req->reply_us = tnfs_transport_rx_us(io->t);
	if (!ret && shrank(io, r, UINT64_MAX, true))
		ret = TNFS_IO_ERR_SHRUNK;
	if (ret) {
		write_failed(c, ret);
		kick(io);
		return;
	}
	if (c->done && memcmp(c->verf, r->verf, sizeof(c->verf))) {
		/* restarted between two pieces of this chunk */
		resend(c);
		return;
	}
	memcpy(c->verf, r->verf, sizeof(c->verf));
	if (r->committed == TNFS_XDR_UNSTABLE)
		c->unstable = true;
	if (!r->count) {
		write_failed(c, TNFS_IO_ERR_SHORT);
		kick(io);
		return;
	}
	/* the transport checked count <= asked */
	c->done += r->count;
	if (c->done < c->len)
		send_piece(c);
	else
		write_answered(c);
}

/* Flushes whose COMMIT is answered wait for older cached writes. */
static void finish_flushes(struct tnfs_io *io, bool expired_only)
{
	struct tnfs_chunk *c = list_take(&io->flushes), *next;
	int status;

	for (; c; c = next) {
		next = c->next;
		if (!expired_only && !tnfs_cache_dirty_upto(io, c->seq)) {
			/* until the lost data is written over, it stays lost */
			status = tnfs_cache_lost(io) ? TNFS_IO_ERR_LOST : 0;
			chunk_finish(c, status);
		} else if (c->deadline_ms && io->now_ms >= c->deadline_ms) {
			chunk_finish(c, TNFS_IO_ERR_TRANSPORT);
		} else {
			list_add(&io->flushes, c);
		}
	}
}

/* Has the command @c works for run out of time? */
static bool chunk_expired(const struct tnfs_io *io, const struct tnfs_chunk *c)
{
	uint64_t deadline = c->op == TNFS_IO_FLUSH ? c->deadline_ms :
			    c->req ? c->req->deadline_ms : 0;

	return deadline && io->now_ms >= deadline;
}

static void commit_done(struct tnfs_rpc *rpc, int err,
			const struct tnfs_xdr_reply *r)
{
	struct tnfs_commit *cm = rpc->priv;
	struct tnfs_io *io = cm->io;
	struct tnfs_chunk *c, *next;
	uint64_t us = tnfs_now_us() - cm->sent_us;
	int ret;

	ret = rpc_result(io, rpc, err, r);
	if (!ret) {
		STAT_ADD(&io->stats, commits, 1);
		io->commit_us = io->commit_us ? (3 * io->commit_us + us) / 4 :
				us;
	} else if (ret > 0) {
		tnfs_log(&io->log, TNFS_LOG_ERR, "COMMIT failed: %s",
			 tnfs_status_name(ret));
	}
	cm->busy = false;
	io->commits_busy--;
	for (c = list_take(&cm->batch); c; c = next) {
		next = c->next;
		if (!err && c->req)
			c->req->reply_us = tnfs_transport_rx_us(io->t);
		/*
		 * Given up at the earliest deadline it carried: what still
		 * has time waits for the next COMMIT, it does not fail.
		 */
		if (ret == TNFS_IO_ERR_TRANSPORT && !chunk_expired(io, c))
			list_add(&io->awaiting, c);
		else if (c->op == TNFS_IO_FLUSH && ret)
			chunk_finish(c, ret);
		else if (c->op == TNFS_IO_FLUSH)
			list_add(&io->flushes, c);
		else if (ret)
			write_failed(c, ret);
		else if (!memcmp(c->verf, r->verf, sizeof(c->verf)))
			chunk_stable(c);
		else
			resend(c);
	}
	kick(io);
}

static bool commit_wanted(struct tnfs_io *io)
{
	uint64_t stagger;

	if (!io->awaiting.head || io->commits_busy == TNFS_COMMITS_MAX)
		return false;
	/*
	 * While COMMITs are in flight, one more only for writes waiting to
	 * complete, and spaced by an eighth of what a COMMIT takes: a slow
	 * server's COMMIT (seconds) must not hold up the writes answered
	 * after it was sent, a fast one's (a millisecond) covers them soon.
	 */
	if (io->commits_busy) {
		stagger = io->commit_us / 8;
		if (stagger < TNFS_COMMIT_STAGGER_MIN_US)
			stagger = TNFS_COMMIT_STAGGER_MIN_US;
		return io->awaiting.urgent &&
		       tnfs_now_us() - io->last_commit_us >= stagger;
	}
	/* write-through chunks, FUA writes and flushes wait on it */
	if (io->awaiting.urgent)
		return true;
	/* write-back: when memory or a range is wanted, or it is time */
	return io->parked || io->flushes.head || io->closing ||
	       io->cache_bytes * 2 >= io->cache_max ||
	       io->now_ms - io->last_commit_ms >= TNFS_WRITEBACK_INTERVAL_MS;
}

/* The earliest deadline of a command in @l; 0: none. */
static uint64_t batch_deadline(const struct tnfs_chunk_list *l)
{
	const struct tnfs_chunk *c;
	uint64_t d, min = 0;

	for (c = l->head; c; c = c->next) {
		d = c->op == TNFS_IO_FLUSH ? c->deadline_ms :
		    c->req ? c->req->deadline_ms : 0;
		if (d && (!min || d < min))
			min = d;
	}
	return min;
}

static void maybe_commit(struct tnfs_io *io)
{
	struct tnfs_commit *cm;
	struct tnfs_rpc *rpc;
	unsigned int i;

	if (!commit_wanted(io))
		return;
	for (i = 0; io->commits[i].busy; i++)
		;
	cm = &io->commits[i];
	cm->batch = io->awaiting;	/* non-empty: its tail is in a chunk */
	list_init(&io->awaiting);
	io->last_commit_ms = io->now_ms;
	if (io->commit_hook)
		io->commit_hook(io->commit_hook_arg, cm->batch.writes);
	rpc = &cm->rpc;
	memset(rpc, 0, sizeof(*rpc));
	rpc->call.proc = TNFS_XDR_COMMIT;	/* the whole file */
	/* no longer than the most pressed command it works for may wait */
	rpc->deadline_ms = batch_deadline(&cm->batch);
	rpc->done = commit_done;
	rpc->priv = cm;
	cm->io = io;
	cm->busy = true;
	cm->sent_us = tnfs_now_us();
	io->last_commit_us = cm->sent_us;
	io->commits_busy++;
	tnfs_transport_send(io->t, rpc);
}

static void start_request(struct tnfs_io *io, struct tnfs_io_req *req);

/*
 * The one chunk of a request that is a single RPC (a flush, an unmap);
 * NULL when out of memory, the request then completed with the error.
 */
static struct tnfs_chunk *single_chunk(struct tnfs_io *io,
				       struct tnfs_io_req *req)
{
	struct tnfs_chunk *c = chunks_get(io, req, 1);

	if (!c) {
		req->status = TNFS_IO_ERR_NOMEM;
		req_complete(io, req);
		return NULL;
	}
	req->chunks = c;
	req->chunks_left = 1;
	c->io = io;
	c->req = req;
	c->op = req->op;
	return c;
}

static void unmap_done(struct tnfs_rpc *rpc, int err,
		       const struct tnfs_xdr_reply *r)
{
	struct tnfs_chunk *c = rpc->priv;
	struct tnfs_io *io = c->io;
	int ret = rpc_result(io, rpc, err, r);

	if (!err)
		c->req->reply_us = tnfs_transport_rx_us(io->t);
	/* a server that said it could, and now says it cannot */
	if (ret == TNFS_NFS3ERR_NOTSUPP || ret == TNFS_NFS4ERR_OP_ILLEGAL) {
		if (io->can_dealloc)
			tnfs_log(&io->log, TNFS_LOG_WARN, "the server no "
				 "longer takes DEALLOCATE: UNMAP fails from "
				 "now on");
		io->can_dealloc = false;
		ret = TNFS_NFS3ERR_NOTSUPP;
	}
	chunk_finish(c, ret);
	kick(io);
}

/*
 * One DEALLOCATE + COMMIT for the whole range: the server answers it
 * once the hole is stable, and a lost answer is sent again unchanged
 * (deallocating twice is deallocating once).
 */
static void start_unmap(struct tnfs_io *io, struct tnfs_io_req *req)
{
	struct tnfs_chunk *c;
	struct tnfs_rpc *rpc;

	if (!io->can_dealloc) {
		req->status = TNFS_NFS3ERR_NOTSUPP;
		req_complete(io, req);
		return;
	}
	c = single_chunk(io, req);
	if (!c)
		return;
	c->pos = req->offset;
	rpc = &c->rpc;
	rpc->call.proc = TNFS_XDR4_DEALLOCATE;
	rpc->call.offset = io->base + req->offset;
	rpc->call.length = req->length;
	rpc->deadline_ms = req->deadline_ms;
	rpc->done = unmap_done;
	rpc->priv = c;
	tnfs_transport_send(io->t, rpc);
}

/* Something became stable or failed: let waiters go. */
static void kick(struct tnfs_io *io)
{
	struct tnfs_io_req *req;

	finish_flushes(io, false);
	while ((req = tnfs_cache_unpark(io)))
		start_request(io, req);
	maybe_commit(io);
}

static void start_flush(struct tnfs_io *io, struct tnfs_io_req *req)
{
	/*
	 * A COMMIT even when write-through left nothing of ours unstable:
	 * SYNCHRONIZE CACHE then also covers UNSTABLE data others wrote.
	 */
	struct tnfs_chunk *c = single_chunk(io, req);

	if (!c)
		return;
	c->seq = io->seq;
	if (io->timeout_ms)
		c->deadline_ms = io->now_ms + (uint64_t)io->timeout_ms;
	list_add(&io->awaiting, c);
	maybe_commit(io);
}

/* Write-back: a chunk with its own copy, living past its request. */
static struct tnfs_chunk *cached_chunk(struct tnfs_io *io,
				       struct tnfs_io_req *req,
				       size_t off, uint32_t len)
{
	struct tnfs_chunk *c = calloc(1, sizeof(*c) + len);

	if (!c)
		return NULL;
	c->buf = (char *)(c + 1);
	c->own.iov_base = c->buf;
	c->own.iov_len = len;
	tnfs_iov_get(req->iov, req->iov_cnt, off, c->buf, len);
	c->io = io;
	c->req = req;
	c->op = TNFS_IO_WRITE;
	c->pos = req->offset + off;
	c->data_off = off;
	c->len = len;
	tnfs_cache_hold(io, c);
	return c;
}

static void start_request(struct tnfs_io *io, struct tnfs_io_req *req)
{
	uint32_t max = req->op == TNFS_IO_READ ? io->rmax : io->wmax;
	bool cached = io->writeback && req->op == TNFS_IO_WRITE;
	struct tnfs_chunk *c;
	size_t n, i, off;

	if (req->op == TNFS_IO_FLUSH) {
		start_flush(io, req);
		return;
	}
	if (req->op == TNFS_IO_UNMAP) {
		start_unmap(io, req);
		return;
	}
	/* a write that completes only once stable: which way there */
	req->policy = req->op == TNFS_IO_WRITE && (!cached || req->fua);
	if (req->policy) {
		req->depth = io->active;
		req->policy_cls = (uint8_t)tnfs_policy_class(req->length,
							     req->depth);
		req->path = (uint8_t)tnfs_policy_choose(&io->policy,
							req->policy_cls);
		req->start_us = req->pickup_us;
	}
	n = (req->length + max - 1) / max;
	if (!cached) {
		req->chunks = chunks_get(io, req, n);
		if (!req->chunks) {
			req->status = TNFS_IO_ERR_NOMEM;
			req_complete(io, req);
			return;
		}
	}
	/* counted first: a chunk may finish while later ones are sent */
	req->chunks_left = (unsigned int)n + 1;
	for (i = 0; i < n; i++) {
		off = i * max;
		if (cached) {
			c = cached_chunk(io, req, off, (uint32_t)
					 (req->length - off < max ?
					  req->length - off : max));
			if (!c) {
				req->status = TNFS_IO_ERR_NOMEM;
				req->chunks_left--;
				continue;
			}
		} else {
			c = &req->chunks[i];
			c->io = io;
			c->req = req;
			c->op = req->op;
			c->pos = req->offset + off;
			c->data_off = off;
			c->len = (uint32_t)(req->length - off < max ?
					    req->length - off : max);
		}
		send_piece(c);
	}
	if (--req->chunks_left == 0)
		req_complete(io, req);
}

void tnfs_io_start(struct tnfs_io *io, struct tnfs_io_req *req)
{
	/* started on its caller's thread: taken up as it was handed in */
	req->pickup_us = io->defer && req->submit_us ? req->submit_us :
			 tnfs_now_us();
	req->reply_us = 0;
	req->status = 0;
	req->chunks = NULL;
	req->nchunks = 0;
	req->policy = false;
	req->deadline_ms = io->timeout_ms ?
			   io->now_ms + (uint64_t)io->timeout_ms : 0;
	io->active++;
	if (io->fenced) {
		req->status = io->fenced;
		req_complete(io, req);
		return;
	}
	if (req->op != TNFS_IO_FLUSH &&
	    (req->offset > io->dev_size ||
	     req->length > io->dev_size - req->offset)) {
		req->status = TNFS_IO_ERR_RANGE;
		req_complete(io, req);
		return;
	}
	if (req->op != TNFS_IO_FLUSH && !req->length) {
		req_complete(io, req);
		return;
	}
	/* behind parked requests, or on held data: wait for a COMMIT */
	if ((req->op != TNFS_IO_FLUSH && io->parked) ||
	    !tnfs_cache_may_start(io, req)) {
		tnfs_cache_park(io, req);
		maybe_commit(io);
		return;
	}
	start_request(io, req);
}

void tnfs_io_tick(struct tnfs_io *io)
{
	struct tnfs_chunk *c, *next;

	if (io->retry.head && io->now_ms >= io->retry_at_ms) {
		io->retry_at_ms = io->now_ms + TNFS_RETRY_INTERVAL_MS;
		for (c = list_take(&io->retry); c; c = next) {
			next = c->next;
			resend(c);
		}
	}
	if (io->flushes.head)
		finish_flushes(io, true);
	maybe_commit(io);
}

void tnfs_io_finish_deferred(struct tnfs_io *io)
{
	struct tnfs_io_req *req;

	while ((req = io->deferred)) {
		io->deferred = req->next;
		finish(io, req);
	}
}

bool tnfs_io_timers(const struct tnfs_io *io)
{
	return io->retry.head || io->flushes.head ||
	       (io->awaiting.head && (!io->commits_busy ||
				      io->awaiting.urgent));
}

bool tnfs_io_idle(const struct tnfs_io *io)
{
	return !io->active && !io->dirty_head && !io->commits_busy;
}

static void list_init_all(struct tnfs_io *io)
{
	list_init(&io->awaiting);
	list_init(&io->flushes);
	list_init(&io->retry);
}

int tnfs_io_init(struct tnfs_io *io, const struct tnfs_io_params *p)
{
	memset(io, 0, sizeof(*io));
	io->t = p->t;
	if (p->log)
		io->log = *p->log;
	io->base = p->base;
	io->dev_size = p->dev_size;
	io->rmax = p->rmax;
	io->wmax = p->wmax;
	io->writeback = p->writeback;
	io->cache_max = p->cache_max;
	io->timeout_ms = p->timeout_ms;
	io->can_dealloc = p->can_dealloc;
	list_init_all(io);
	tnfs_policy_init(&io->policy, p->stable);
	return tnfs_cache_init(io);
}

void tnfs_io_free(struct tnfs_io *io)
{
	struct tnfs_chunk *c;

	tnfs_cache_free(io);
	tnfs_cache_forget_lost(io);
	while ((c = io->chunk_pool)) {
		io->chunk_pool = c->next;
		free(c);
	}
	io->chunk_pool_n = 0;
}

int tnfs_io_resize(struct tnfs_io *io, uint64_t dev_size)
{
	int ret = tnfs_cache_resize(io, dev_size);

	if (ret)
		return ret;
	io->dev_size = dev_size;
	/* a reconnect must find the file as big as the device */
	tnfs_transport_set_min_size(io->t, io->base + dev_size);
	return 0;
}

void tnfs_io_get_stats(const struct tnfs_io *io, struct tnfs_io_stats *s)
{
	tnfs_stats_copy(s, &io->stats, sizeof(*s));
}
