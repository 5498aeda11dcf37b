// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * READ, WRITE and COMMIT on the engine thread, through libnfs's raw RPC
 * API: the high-level API hides the write verifier and turns every NFS
 * error into -EFAULT, and we need both.
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
/* At most one transport error logged this often. */
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

static void req_complete(struct nfs_engine *e, struct nfs_io_req *req)
{
	switch (req->op) {
	case NFS_IO_READ:
		STAT_ADD(e, reads, 1);
		break;
	case NFS_IO_WRITE:
		STAT_ADD(e, writes, 1);
		break;
	case NFS_IO_FLUSH:
		STAT_ADD(e, flushes, 1);
		break;
	}
	free(req->chunks);
	req->chunks = NULL;
	e->active--;
	__atomic_sub_fetch(&e->stats.queued, 1, __ATOMIC_RELAXED);
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
	nfs_engine_log(e, NFS_LOG_ERR, "acknowledged write at %llu+%u "
		       "lost: %s; the next SYNCHRONIZE CACHE fails",
		       (unsigned long long)c->pos, c->len,
		       nfs_status_name(status));
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

/*
 * Data for a WRITE piece: the chunk's own copy, the iovec itself when the
 * piece lies in one segment, else gathered into e->scratch.  libnfs 4.0
 * encodes the data into its own PDU buffer before rpc_nfs3_write_async()
 * returns, so one scratch buffer serves every piece.
 */
static char *write_data(struct nfs_chunk *c, size_t len)
{
	const struct nfs_io_req *req = c->req;
	size_t i, off = c->data_off + c->done, seg_off = off;

	if (c->cached)
		return c->buf + c->done;
	for (i = 0; i < req->iov_cnt; i++) {
		if (seg_off < req->iov[i].iov_len) {
			if (req->iov[i].iov_len - seg_off >= len)
				return (char *)req->iov[i].iov_base + seg_off;
			break;
		}
		seg_off -= req->iov[i].iov_len;
	}
	iov_copy(req->iov, req->iov_cnt, off, c->e->scratch, len, false);
	return c->e->scratch;
}

static void rpc_sent(struct nfs_engine *e)
{
	unsigned int n = STAT_ADD(e, rpcs_in_flight, 1);

	STAT_ADD(e, rpcs, 1);
	/* only the engine thread writes the peak */
	if (n > e->stats.peak_rpcs_in_flight)
		__atomic_store_n(&e->stats.peak_rpcs_in_flight, n,
				 __ATOMIC_RELAXED);
}

static void read_cb(struct rpc_context *rpc, int status, void *data,
		    void *priv);
static void write_cb(struct rpc_context *rpc, int status, void *data,
		     void *priv);

static void send_piece(struct nfs_chunk *c)
{
	struct nfs_engine *e = c->e;
	uint64_t off = e->base + c->pos + c->done;
	uint32_t len = c->len - c->done;
	int ret;

	if (c->op == NFS_IO_READ) {
		READ3args a = { .file = e->fh, .offset = off, .count = len };

		ret = rpc_nfs3_read_async(e->rpc, read_cb, &a, c);
	} else {
		WRITE3args a = {
			.file = e->fh,
			.offset = off,
			.count = len,
			.stable = UNSTABLE,
		};

		a.data.data_len = len;
		a.data.data_val = write_data(c, len);
		ret = rpc_nfs3_write_async(e->rpc, write_cb, &a, c);
	}
	if (ret) {
		nfs_engine_log(e, NFS_LOG_ERR, "cannot queue RPC: %s",
			       rpc_get_error(e->rpc));
		if (c->op == NFS_IO_READ)
			chunk_finish(c, NFS_IO_ERR_NOMEM);
		else
			write_failed(c, NFS_IO_ERR_NOMEM);
		kick(e);
		return;
	}
	rpc_sent(e);
}

/* Common head of the RPC callbacks: the nfsstat3, or a transport error. */
static int rpc_result(struct nfs_engine *e, int status, void *data,
		      const char *what)
{
	__atomic_sub_fetch(&e->stats.rpcs_in_flight, 1, __ATOMIC_RELAXED);
	if (status == RPC_STATUS_SUCCESS)
		return *(nfsstat3 *)data;
	/* a dead server fails every RPC: one line per interval is enough */
	if (e->now_ms - e->transport_log_ms >= NFS_TRANSPORT_LOG_MS ||
	    !e->transport_log_ms) {
		nfs_engine_log(e, NFS_LOG_ERR, "%s failed: %s (and %u more "
			       "RPCs since the last report)", what,
			       status == RPC_STATUS_ERROR ? (char *)data :
			       status == RPC_STATUS_TIMEOUT ? "timed out" :
			       "cancelled", e->transport_errors);
		e->transport_log_ms = e->now_ms;
		e->transport_errors = 0;
	} else {
		e->transport_errors++;
	}
	return NFS_IO_ERR_TRANSPORT;
}

static void read_cb(struct rpc_context *rpc, int status, void *data,
		    void *priv)
{
	struct nfs_chunk *c = priv;
	struct nfs_io_req *req = c->req;
	READ3resok *ok;
	uint32_t n;
	int ret;

	(void)rpc;
	ret = rpc_result(c->e, status, data, "READ");
	if (ret) {
		chunk_finish(c, ret);
		return;
	}
	ok = &((READ3res *)data)->READ3res_u.resok;
	n = ok->count < ok->data.data_len ? ok->count : ok->data.data_len;
	if (n > c->len - c->done)
		n = c->len - c->done;
	iov_copy(req->iov, req->iov_cnt, c->data_off + c->done,
		 ok->data.data_val, n, true);
	c->done += n;
	if (c->done == c->len) {
		chunk_finish(c, 0);
	} else if (ok->eof) {
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
	STAT_ADD(c->e, resends, 1);
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

static void write_cb(struct rpc_context *rpc, int status, void *data,
		     void *priv)
{
	struct nfs_chunk *c = priv;
	struct nfs_engine *e = c->e;
	WRITE3resok *ok;
	uint32_t n;
	int ret;

	(void)rpc;
	ret = rpc_result(e, status, data, "WRITE");
	if (ret) {
		write_failed(c, ret);
		kick(e);
		return;
	}
	ok = &((WRITE3res *)data)->WRITE3res_u.resok;
	if (c->done && memcmp(c->verf, ok->verf, sizeof(c->verf))) {
		/* restarted between two pieces of this chunk */
		resend(c);
		return;
	}
	memcpy(c->verf, ok->verf, sizeof(c->verf));
	if (ok->committed == UNSTABLE)
		c->unstable = true;
	n = ok->count;
	if (!n) {
		write_failed(c, NFS_IO_ERR_SHORT);
		kick(e);
		return;
	}
	if (n > c->len - c->done)
		n = c->len - c->done;
	c->done += n;
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

static void commit_cb(struct rpc_context *rpc, int status, void *data,
		      void *priv)
{
	struct nfs_engine *e = priv;
	struct nfs_chunk *c, *next;
	COMMIT3resok *ok = NULL;
	int ret;

	(void)rpc;
	ret = rpc_result(e, status, data, "COMMIT");
	if (!ret) {
		ok = &((COMMIT3res *)data)->COMMIT3res_u.resok;
		STAT_ADD(e, commits, 1);
	} else if (ret > 0) {
		nfs_engine_log(e, NFS_LOG_ERR, "COMMIT failed: %s",
			       nfs_status_name(ret));
	}
	e->commit_in_flight = false;
	for (c = list_take(&e->batch); c; c = next) {
		next = c->next;
		if (c->op == NFS_IO_FLUSH && ret)
			chunk_finish(c, ret);
		else if (c->op == NFS_IO_FLUSH)
			list_add(&e->flushes, c);
		else if (ret)
			write_failed(c, ret);
		else if (!memcmp(c->verf, ok->verf, sizeof(c->verf)))
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
	COMMIT3args a = { .file = e->fh, .offset = 0, .count = 0 };
	struct nfs_chunk *c, *next;

	if (e->commit_in_flight || !commit_wanted(e))
		return;
	e->batch = e->awaiting;	/* non-empty: its tail is in a chunk */
	list_init(&e->awaiting);
	e->last_commit_ms = e->now_ms;
	if (e->commit_hook)
		e->commit_hook(e->commit_hook_arg, e->batch.writes);
	if (rpc_nfs3_commit_async(e->rpc, commit_cb, &a, e)) {
		nfs_engine_log(e, NFS_LOG_ERR, "cannot queue COMMIT: %s",
			       rpc_get_error(e->rpc));
		for (c = list_take(&e->batch); c; c = next) {
			next = c->next;
			if (c->op == NFS_IO_FLUSH)
				chunk_finish(c, NFS_IO_ERR_NOMEM);
			else
				write_failed(c, NFS_IO_ERR_NOMEM);
		}
		return;
	}
	e->commit_in_flight = true;
	rpc_sent(e);
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
	struct nfs_chunk *c = calloc(1, sizeof(*c));

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
	n = (req->length + max - 1) / max;
	if (!cached) {
		req->chunks = calloc(n, sizeof(*req->chunks));
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

bool nfs_io_idle(const struct nfs_engine *e)
{
	return !e->active && !e->dirty_head && !e->commit_in_flight;
}
