// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Commands to RPCs, on the engine thread: READ, WRITE and COMMIT handed
 * to the transport (nfs_transport.c), which sends them again on a fresh
 * connection when one dies, so a command here sees either the server's
 * answer or its own deadline passing.
 *
 * A request is cut into chunks of at most rsize/wsize bytes.  A write
 * chunk answered UNSTABLE waits on e->awaiting; at most one COMMIT is in
 * flight and it covers every chunk that was waiting when it was sent, so
 * concurrent writes share COMMITs.  A chunk whose verifier differs from
 * the COMMIT's is written again: the server restarted and may have lost
 * it.  A request completes when all its chunks are done: stable for a
 * write-through write, answered for a write-back one (nfs_cache.c holds
 * its data until stable).
 */
#include <stdlib.h>
#include <string.h>

#include "nfs_engine_priv.h"
#include "nfs_status.h"

/* Write-back: commit what is held at least this often. */
#define NFS_WRITEBACK_INTERVAL_MS	1000
/* Write-back: re-send acknowledged data after a transport error. */
#define NFS_RETRY_INTERVAL_MS		1000
/* At most one failed RPC logged this often. */
#define NFS_TRANSPORT_LOG_MS		5000

static void list_init(struct nfs_chunk_list *l)
{
	l->head = NULL;
	l->tail = &l->head;
	l->writes = 0;
	l->urgent = 0;
}

static void list_add(struct nfs_chunk_list *l, struct nfs_chunk *c)
{
	c->next = NULL;
	*l->tail = c;
	l->tail = &c->next;
	if (c->op == NFS_IO_WRITE)
		l->writes++;
	if (c->req)
		l->urgent++;
}

static struct nfs_chunk *list_take(struct nfs_chunk_list *l)
{
	struct nfs_chunk *head = l->head;

	list_init(l);
	return head;
}

/*
 * Most commands fit one RPC: their one chunk comes from a pool, which
 * saves a calloc/free pair per command (a fifth of the instructions of
 * a 4k write at QD32, docs/profile.md).
 */
#define NFS_CHUNK_POOL_MAX	256

static struct nfs_chunk *chunks_get(struct nfs_engine *e,
				    struct nfs_io_req *req, size_t n)
{
	struct nfs_chunk *c = e->chunk_pool;

	req->nchunks = (unsigned int)n;
	if (n == 1 && c) {
		e->chunk_pool = c->next;
		e->chunk_pool_n--;
		memset(c, 0, sizeof(*c));
		return c;
	}
	return calloc(n, sizeof(*c));
}

static void chunks_put(struct nfs_engine *e, struct nfs_io_req *req)
{
	struct nfs_chunk *c = req->chunks;

	req->chunks = NULL;
	if (c && req->nchunks == 1 && e->chunk_pool_n < NFS_CHUNK_POOL_MAX) {
		c->next = e->chunk_pool;
		e->chunk_pool = c;
		e->chunk_pool_n++;
		return;
	}
	free(c);
}

void nfs_io_free(struct nfs_engine *e)
{
	struct nfs_chunk *c;

	while ((c = e->chunk_pool)) {
		e->chunk_pool = c->next;
		free(c);
	}
	e->chunk_pool_n = 0;
}

static void req_complete(struct nfs_engine *e, struct nfs_io_req *req)
{
	switch (req->op) {
	case NFS_IO_READ:
		STAT_ADD(&e->stats, reads, 1);
		break;
	case NFS_IO_WRITE:
		STAT_ADD(&e->stats, writes, 1);
		if (req->policy && !req->status) {
			nfs_policy_record(&e->policy, req->policy_cls,
					  req->path, nfs_now_us() -
					  req->start_us, req->depth);
			__atomic_store_n(&e->stats.policy_switches,
					 e->policy.switches, __ATOMIC_RELAXED);
		}
		break;
	case NFS_IO_FLUSH:
		STAT_ADD(&e->stats, flushes, 1);
		break;
	}
	chunks_put(e, req);
	e->active--;
	STAT_SUB(&e->stats, queued, 1);
	req->done(req, req->status);
}

/* The chunk's part of its request is over; the chunk may live on. */
static void chunk_finish(struct nfs_chunk *c, int status)
{
	struct nfs_io_req *req = c->req;

	c->req = NULL;
	if (status && !req->status)
		req->status = status;
	if (--req->chunks_left == 0)
		req_complete(c->e, req);
}

static void kick(struct nfs_engine *e);

/* Stable on the server: complete its command if it still waits, free. */
static void chunk_stable(struct nfs_chunk *c)
{
	struct nfs_engine *e = c->e;

	/* a write-through chunk dies with its request: look first */
	if (!c->cached) {
		chunk_finish(c, 0);
		return;
	}
	if (c->req)
		chunk_finish(c, 0);
	nfs_cache_release(e, c);
}

/*
 * A write chunk failed.  Not yet acknowledged: its command fails and, if
 * cached, the copy is dropped.  Acknowledged (write-back): a retryable
 * error (transport, JUKEBOX) is retried later; any other means
 * acknowledged data is lost, which the next flush reports.
 */
static void write_failed(struct nfs_chunk *c, int status)
{
	struct nfs_engine *e = c->e;

	if (!c->cached) {
		chunk_finish(c, status);	/* frees c with its request */
		return;
	}
	if (c->req) {
		chunk_finish(c, status);
		nfs_cache_release(e, c);
		return;
	}
	if (nfs_status_sense(status, true).retryable) {
		list_add(&e->retry, c);
		return;
	}
	nfs_log(&e->log, NFS_LOG_ERR, "acknowledged write at %llu+%u lost: "
		"%s; the next SYNCHRONIZE CACHE fails",
		(unsigned long long)c->pos, c->len, nfs_status_name(status));
	e->lost = NFS_IO_ERR_LOST;
	nfs_cache_release(e, c);
}

/*
 * Bytes of the request from @off on, into (@to_iov) or out of @buf; into
 * with a NULL @buf writes zeros.
 */
static void iov_copy(const struct iovec *iov, size_t cnt, size_t off,
		     char *buf, size_t len, bool to_iov)
{
	size_t i, n;

	for (i = 0; i < cnt && len; i++) {
		char *seg;

		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		seg = (char *)iov[i].iov_base + off;
		n = iov[i].iov_len - off;
		if (n > len)
			n = len;
		if (to_iov && !buf)
			memset(seg, 0, n);
		else if (to_iov)
			memcpy(seg, buf, n);
		else
			memcpy(buf, seg, n);
		if (buf)
			buf += n;
		len -= n;
		off = 0;
	}
}

static void read_done(struct nfs_rpc *rpc, int err,
		      const struct nfs_xdr_reply *r);
static void write_done(struct nfs_rpc *rpc, int err,
		       const struct nfs_xdr_reply *r);

/*
 * The next piece of @c.  A WRITE goes out of the request's own iovec (or
 * the cached copy) by scatter-gather: no copy.  A piece of a command has
 * its command's deadline; an acknowledged write-back piece has none: it
 * waits for the server however long that takes.
 */
static void send_piece(struct nfs_chunk *c)
{
	struct nfs_engine *e = c->e;
	struct nfs_rpc *rpc = &c->rpc;

	rpc->call.offset = e->base + c->pos + c->done;
	rpc->call.count = c->len - c->done;
	rpc->deadline_ms = c->req ? c->req->deadline_ms : 0;
	rpc->priv = c;
	if (c->op == NFS_IO_READ) {
		rpc->call.proc = NFS_XDR_READ;
		rpc->done = read_done;
		/* the transport may receive the data right there */
		rpc->iov = c->req->iov;
		rpc->iov_cnt = c->req->iov_cnt;
		rpc->iov_off = c->data_off + c->done;
	} else {
		rpc->call.proc = NFS_XDR_WRITE;
		/* acknowledged write-back data is never urgent */
		rpc->call.stable = c->req && c->req->policy ?
				   nfs_policy_stable_how(e->policy.mode,
							 c->req->path) :
				   NFS_XDR_UNSTABLE;
		if (rpc->call.stable != NFS_XDR_UNSTABLE)
			STAT_ADD(&e->stats, stable_rpcs, 1);
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
	nfs_transport_send(e->t, rpc);
}

static const char *proc_name(enum nfs_xdr_proc proc)
{
	return proc == NFS_XDR_READ ? "READ" : proc == NFS_XDR_WRITE ?
	       "WRITE" : "COMMIT";
}

/*
 * Common head of the RPC callbacks: the nfsstat3, or an engine failure.
 * A dead server fails every RPC: one line per interval is enough (the
 * transport logs the connection's fate itself).
 */
static int rpc_result(struct nfs_engine *e, const struct nfs_rpc *rpc,
		      int err, const struct nfs_xdr_reply *r)
{
	static const char *const rpc_why[] = {
		[NFS_XDR_RPC_DENIED] = "denied (credentials?)",
		[NFS_XDR_RPC_UNAVAIL] = "program or procedure unavailable",
		[NFS_XDR_RPC_GARBAGE_ARGS] = "garbage arguments",
		[NFS_XDR_RPC_SYSTEM_ERR] = "system error",
	};
	const char *why;

	if (!err && r->rpc == NFS_XDR_RPC_OK)
		return (int)r->status;
	why = err == NFS_IO_ERR_TRANSPORT ? "no answer within timeout=" :
	      err ? nfs_status_name(err) : rpc_why[r->rpc];
	if (e->now_ms - e->failure_log_ms >= NFS_TRANSPORT_LOG_MS ||
	    !e->failure_log_ms) {
		nfs_log(&e->log, NFS_LOG_ERR, "%s failed: %s (and %u more "
			"RPCs since the last report)",
			proc_name(rpc->call.proc), why, e->failures);
		e->failure_log_ms = e->now_ms;
		e->failures = 0;
	} else {
		e->failures++;
	}
	return err ? err : NFS_IO_ERR_TRANSPORT;
}

static void read_done(struct nfs_rpc *rpc, int err,
		      const struct nfs_xdr_reply *r)
{
	struct nfs_chunk *c = rpc->priv;
	struct nfs_io_req *req = c->req;
	uint32_t n;
	int ret;

	ret = rpc_result(c->e, rpc, err, r);
	if (ret) {
		chunk_finish(c, ret);
		return;
	}
	/* the transport checked count <= asked and the data's length */
	n = r->count;
	if (!r->placed)
		iov_copy(req->iov, req->iov_cnt, c->data_off + c->done,
			 (char *)r->data, n, true);
	c->done += n;
	if (c->done == c->len) {
		chunk_finish(c, 0);
	} else if (r->eof) {
		/* the file shrank behind us: read the rest as a hole */
		iov_copy(req->iov, req->iov_cnt, c->data_off + c->done,
			 NULL, c->len - c->done, true);
		chunk_finish(c, 0);
	} else if (!n) {
		chunk_finish(c, NFS_IO_ERR_SHORT);
	} else {
		send_piece(c);
	}
}

static void maybe_commit(struct nfs_engine *e);

/* Start the chunk again from its first byte: its data may be lost. */
static void resend(struct nfs_chunk *c)
{
	STAT_ADD(&c->e->stats, resends, 1);
	c->done = 0;
	c->unstable = false;
	send_piece(c);
}

/* Every piece of a write chunk is answered. */
static void write_answered(struct nfs_chunk *c)
{
	struct nfs_engine *e = c->e;

	if (!c->unstable) {
		chunk_stable(c);	/* FILE_SYNC or DATA_SYNC */
		kick(e);
		return;
	}
	/* write-back: acknowledge now, unless FUA asked for stable */
	if (c->cached && c->req && !c->req->fua)
		chunk_finish(c, 0);
	list_add(&e->awaiting, c);
	maybe_commit(e);
}

static void write_done(struct nfs_rpc *rpc, int err,
		       const struct nfs_xdr_reply *r)
{
	struct nfs_chunk *c = rpc->priv;
	struct nfs_engine *e = c->e;
	int ret;

	ret = rpc_result(e, rpc, err, r);
	if (ret) {
		write_failed(c, ret);
		kick(e);
		return;
	}
	if (c->done && memcmp(c->verf, r->verf, sizeof(c->verf))) {
		/* restarted between two pieces of this chunk */
		resend(c);
		return;
	}
	memcpy(c->verf, r->verf, sizeof(c->verf));
	if (r->committed == NFS_XDR_UNSTABLE)
		c->unstable = true;
	if (!r->count) {
		write_failed(c, NFS_IO_ERR_SHORT);
		kick(e);
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
static void finish_flushes(struct nfs_engine *e, bool expired_only)
{
	struct nfs_chunk *c = list_take(&e->flushes), *next;
	int status;

	for (; c; c = next) {
		next = c->next;
		if (!expired_only && !nfs_cache_dirty_upto(e, c->seq)) {
			status = e->lost;
			e->lost = 0;
			chunk_finish(c, status);
		} else if (c->deadline_ms && e->now_ms >= c->deadline_ms) {
			chunk_finish(c, NFS_IO_ERR_TRANSPORT);
		} else {
			list_add(&e->flushes, c);
		}
	}
}

static void commit_done(struct nfs_rpc *rpc, int err,
			const struct nfs_xdr_reply *r)
{
	struct nfs_engine *e = rpc->priv;
	struct nfs_chunk *c, *next;
	int ret;

	ret = rpc_result(e, rpc, err, r);
	if (!ret)
		STAT_ADD(&e->stats, commits, 1);
	else if (ret > 0)
		nfs_log(&e->log, NFS_LOG_ERR, "COMMIT failed: %s",
			nfs_status_name(ret));
	e->commit_in_flight = false;
	for (c = list_take(&e->batch); c; c = next) {
		next = c->next;
		if (c->op == NFS_IO_FLUSH && ret)
			chunk_finish(c, ret);
		else if (c->op == NFS_IO_FLUSH)
			list_add(&e->flushes, c);
		else if (ret)
			write_failed(c, ret);
		else if (!memcmp(c->verf, r->verf, sizeof(c->verf)))
			chunk_stable(c);
		else
			resend(c);
	}
	kick(e);
}

static bool commit_wanted(struct nfs_engine *e)
{
	if (!e->awaiting.head)
		return false;
	/* write-through chunks, FUA writes and flushes wait on it */
	if (e->awaiting.urgent)
		return true;
	/* write-back: when memory or a range is wanted, or it is time */
	return e->parked || e->flushes.head || e->closing ||
	       e->cache_bytes * 2 >= e->cache_max ||
	       e->now_ms - e->last_commit_ms >= NFS_WRITEBACK_INTERVAL_MS;
}

static void maybe_commit(struct nfs_engine *e)
{
	struct nfs_rpc *rpc = &e->commit_rpc;

	if (e->commit_in_flight || !commit_wanted(e))
		return;
	e->batch = e->awaiting;	/* non-empty: its tail is in a chunk */
	list_init(&e->awaiting);
	e->last_commit_ms = e->now_ms;
	if (e->commit_hook)
		e->commit_hook(e->commit_hook_arg, e->batch.writes);
	memset(rpc, 0, sizeof(*rpc));
	rpc->call.proc = NFS_XDR_COMMIT;	/* the whole file */
	rpc->deadline_ms = e->timeout_ms ?
			   e->now_ms + (uint64_t)e->timeout_ms : 0;
	rpc->done = commit_done;
	rpc->priv = e;
	e->commit_in_flight = true;
	nfs_transport_send(e->t, rpc);
}

static void start_request(struct nfs_engine *e, struct nfs_io_req *req);

/* Something became stable or failed: let waiters go. */
static void kick(struct nfs_engine *e)
{
	struct nfs_io_req *req;

	finish_flushes(e, false);
	while ((req = nfs_cache_unpark(e)))
		start_request(e, req);
	maybe_commit(e);
}

static void start_flush(struct nfs_engine *e, struct nfs_io_req *req)
{
	struct nfs_chunk *c = chunks_get(e, req, 1);

	/*
	 * A COMMIT even when write-through left nothing of ours unstable:
	 * SYNCHRONIZE CACHE then also covers UNSTABLE data others wrote.
	 */
	if (!c) {
		req->status = NFS_IO_ERR_NOMEM;
		req_complete(e, req);
		return;
	}
	req->chunks = c;
	req->chunks_left = 1;
	c->e = e;
	c->req = req;
	c->op = NFS_IO_FLUSH;
	c->seq = e->seq;
	if (e->timeout_ms)
		c->deadline_ms = e->now_ms + (uint64_t)e->timeout_ms;
	list_add(&e->awaiting, c);
	maybe_commit(e);
}

/* Write-back: a chunk with its own copy, living past its request. */
static struct nfs_chunk *cached_chunk(struct nfs_engine *e,
				      struct nfs_io_req *req,
				      size_t off, uint32_t len)
{
	struct nfs_chunk *c = calloc(1, sizeof(*c) + len);

	if (!c)
		return NULL;
	c->buf = (char *)(c + 1);
	c->own.iov_base = c->buf;
	c->own.iov_len = len;
	iov_copy(req->iov, req->iov_cnt, off, c->buf, len, false);
	c->e = e;
	c->req = req;
	c->op = NFS_IO_WRITE;
	c->pos = req->offset + off;
	c->data_off = off;
	c->len = len;
	nfs_cache_hold(e, c);
	return c;
}

static void start_request(struct nfs_engine *e, struct nfs_io_req *req)
{
	uint32_t max = req->op == NFS_IO_READ ? e->rmax : e->wmax;
	bool cached = e->writeback && req->op == NFS_IO_WRITE;
	struct nfs_chunk *c;
	size_t n, i, off;

	if (req->op == NFS_IO_FLUSH) {
		start_flush(e, req);
		return;
	}
	/* a write that completes only once stable: which way there */
	req->policy = req->op == NFS_IO_WRITE && (!cached || req->fua);
	if (req->policy) {
		req->depth = e->active;
		req->policy_cls = (uint8_t)nfs_policy_class(req->length,
							    req->depth);
		req->path = (uint8_t)nfs_policy_choose(&e->policy,
						       req->policy_cls);
		req->start_us = nfs_now_us();
	}
	n = (req->length + max - 1) / max;
	if (!cached) {
		req->chunks = chunks_get(e, req, n);
		if (!req->chunks) {
			req->status = NFS_IO_ERR_NOMEM;
			req_complete(e, req);
			return;
		}
	}
	/* counted first: a chunk may finish while later ones are sent */
	req->chunks_left = (unsigned int)n + 1;
	for (i = 0; i < n; i++) {
		off = i * max;
		if (cached) {
			c = cached_chunk(e, req, off, (uint32_t)
					 (req->length - off < max ?
					  req->length - off : max));
			if (!c) {
				req->status = NFS_IO_ERR_NOMEM;
				req->chunks_left--;
				continue;
			}
		} else {
			c = &req->chunks[i];
			c->e = e;
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
		req_complete(e, req);
}

void nfs_io_start(struct nfs_engine *e, struct nfs_io_req *req)
{
	req->status = 0;
	req->chunks = NULL;
	req->nchunks = 0;
	req->policy = false;
	req->deadline_ms = e->timeout_ms ?
			   e->now_ms + (uint64_t)e->timeout_ms : 0;
	e->active++;
	if (req->op != NFS_IO_FLUSH &&
	    (req->offset > e->dev_size ||
	     req->length > e->dev_size - req->offset)) {
		req->status = NFS_IO_ERR_RANGE;
		req_complete(e, req);
		return;
	}
	if (req->op != NFS_IO_FLUSH && !req->length) {
		req_complete(e, req);
		return;
	}
	/* behind parked requests, or on held data: wait for a COMMIT */
	if ((req->op != NFS_IO_FLUSH && e->parked) ||
	    !nfs_cache_may_start(e, req)) {
		nfs_cache_park(e, req);
		maybe_commit(e);
		return;
	}
	start_request(e, req);
}

void nfs_io_tick(struct nfs_engine *e)
{
	struct nfs_chunk *c, *next;

	if (e->retry.head && e->now_ms >= e->retry_at_ms) {
		e->retry_at_ms = e->now_ms + NFS_RETRY_INTERVAL_MS;
		for (c = list_take(&e->retry); c; c = next) {
			next = c->next;
			resend(c);
		}
	}
	if (e->flushes.head)
		finish_flushes(e, true);
	maybe_commit(e);
}

bool nfs_io_timers(const struct nfs_engine *e)
{
	return e->retry.head || e->flushes.head ||
	       (e->awaiting.head && !e->commit_in_flight);
}

bool nfs_io_idle(const struct nfs_engine *e)
{
	return !e->active && !e->dirty_head && !e->commit_in_flight;
}
