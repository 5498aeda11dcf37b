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
 * it.  A request completes only when all its chunks are done.
 */
#include <stdlib.h>
#include <string.h>

#include "nfs_engine_priv.h"
#include "nfs_status.h"

static void list_init(struct nfs_chunk_list *l)
{
	l->head = NULL;
	l->tail = &l->head;
	l->writes = 0;
}

static void list_add(struct nfs_chunk_list *l, struct nfs_chunk *c)
{
	if (!l->tail)
		list_init(l);
	c->next = NULL;
	*l->tail = c;
	l->tail = &c->next;
	if (c->req->op == NFS_IO_WRITE)
		l->writes++;
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

static void chunk_finish(struct nfs_chunk *c, int status)
{
	struct nfs_io_req *req = c->req;

	if (status && !req->status)
		req->status = status;
	if (--req->chunks_left == 0)
		req_complete(c->e, req);
}

/* Bytes of the request from @off on, into or out of @buf. */
static void iov_copy(const struct iovec *iov, size_t cnt, size_t off,
		     char *buf, size_t len, bool to_iov)
{
	size_t i, n;

	for (i = 0; i < cnt && len; i++) {
		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		n = iov[i].iov_len - off;
		if (n > len)
			n = len;
		if (to_iov)
			memcpy((char *)iov[i].iov_base + off, buf, n);
		else
			memcpy(buf, (char *)iov[i].iov_base + off, n);
		buf += n;
		len -= n;
		off = 0;
	}
}

static void iov_zero(const struct iovec *iov, size_t cnt, size_t off,
		     size_t len)
{
	size_t i, n;

	for (i = 0; i < cnt && len; i++) {
		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		n = iov[i].iov_len - off;
		if (n > len)
			n = len;
		memset((char *)iov[i].iov_base + off, 0, n);
		len -= n;
		off = 0;
	}
}

/*
 * Data for a WRITE piece: the iovec itself when the piece lies in one
 * segment, else gathered into e->scratch.  libnfs 4.0 encodes the data
 * into its own PDU buffer before rpc_nfs3_write_async() returns, so one
 * scratch buffer serves every piece.
 */
static char *write_data(struct nfs_engine *e, const struct nfs_io_req *req,
			size_t off, size_t len)
{
	size_t i, seg_off = off;

	for (i = 0; i < req->iov_cnt; i++) {
		if (seg_off < req->iov[i].iov_len) {
			if (req->iov[i].iov_len - seg_off >= len)
				return (char *)req->iov[i].iov_base + seg_off;
			break;
		}
		seg_off -= req->iov[i].iov_len;
	}
	iov_copy(req->iov, req->iov_cnt, off, e->scratch, len, false);
	return e->scratch;
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
	struct nfs_io_req *req = c->req;
	size_t off = c->data_off + c->done;
	uint32_t len = c->len - c->done;
	int ret;

	if (req->op == NFS_IO_READ) {
		READ3args a = {
			.file = e->fh,
			.offset = e->base + req->offset + off,
			.count = len,
		};

		ret = rpc_nfs3_read_async(e->rpc, read_cb, &a, c);
	} else {
		WRITE3args a = {
			.file = e->fh,
			.offset = e->base + req->offset + off,
			.count = len,
			.stable = UNSTABLE,
		};

		a.data.data_len = len;
		a.data.data_val = write_data(e, req, off, len);
		ret = rpc_nfs3_write_async(e->rpc, write_cb, &a, c);
	}
	if (ret) {
		nfs_engine_log(e, NFS_LOG_ERR, "cannot queue RPC: %s",
			       rpc_get_error(e->rpc));
		chunk_finish(c, NFS_IO_ERR_NOMEM);
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
	nfs_engine_log(e, NFS_LOG_ERR, "%s failed: %s", what,
		       status == RPC_STATUS_ERROR ? (char *)data :
		       status == RPC_STATUS_TIMEOUT ? "timed out" :
		       "cancelled");
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
		iov_zero(req->iov, req->iov_cnt, c->data_off + c->done,
			 c->len - c->done);
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
		chunk_finish(c, ret);
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
		chunk_finish(c, NFS_IO_ERR_SHORT);
		return;
	}
	if (n > c->len - c->done)
		n = c->len - c->done;
	c->done += n;
	if (c->done < c->len) {
		send_piece(c);
	} else if (!c->unstable) {
		chunk_finish(c, 0);	/* FILE_SYNC or DATA_SYNC: stable */
	} else {
		list_add(&e->awaiting, c);
		maybe_commit(e);
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
	c = e->batch.head;
	list_init(&e->batch);
	e->commit_in_flight = false;
	for (; c; c = next) {
		next = c->next;
		if (ret)
			chunk_finish(c, ret);
		else if (c->req->op == NFS_IO_FLUSH ||
			 !memcmp(c->verf, ok->verf, sizeof(c->verf)))
			chunk_finish(c, 0);
		else
			resend(c);
	}
	maybe_commit(e);
}

static void maybe_commit(struct nfs_engine *e)
{
	COMMIT3args a = { .file = e->fh, .offset = 0, .count = 0 };
	struct nfs_chunk *c, *next;

	if (e->commit_in_flight || !e->awaiting.head)
		return;
	e->batch = e->awaiting;	/* non-empty: its tail is in a chunk */
	list_init(&e->awaiting);
	if (e->commit_hook)
		e->commit_hook(e->commit_hook_arg, e->batch.writes);
	if (rpc_nfs3_commit_async(e->rpc, commit_cb, &a, e)) {
		nfs_engine_log(e, NFS_LOG_ERR, "cannot queue COMMIT: %s",
			       rpc_get_error(e->rpc));
		c = e->batch.head;
		list_init(&e->batch);
		for (; c; c = next) {
			next = c->next;
			chunk_finish(c, NFS_IO_ERR_NOMEM);
		}
		return;
	}
	e->commit_in_flight = true;
	rpc_sent(e);
}

static void start_flush(struct nfs_engine *e, struct nfs_io_req *req)
{
	/*
	 * Writes are acknowledged only when stable, so there is nothing of
	 * ours to flush; the COMMIT still makes SYNCHRONIZE CACHE cover
	 * anything written to the file with UNSTABLE that nobody committed.
	 */
	req->chunks = calloc(1, sizeof(*req->chunks));
	if (!req->chunks) {
		req->status = NFS_IO_ERR_NOMEM;
		req_complete(e, req);
		return;
	}
	req->chunks_left = 1;
	req->chunks->e = e;
	req->chunks->req = req;
	list_add(&e->awaiting, req->chunks);
	maybe_commit(e);
}

void nfs_io_start(struct nfs_engine *e, struct nfs_io_req *req)
{
	uint32_t max = req->op == NFS_IO_READ ? e->rmax : e->wmax;
	size_t n, i;

	req->status = 0;
	req->chunks = NULL;
	e->active++;
	if (req->op == NFS_IO_FLUSH) {
		start_flush(e, req);
		return;
	}
	if (req->offset > e->dev_size ||
	    req->length > e->dev_size - req->offset) {
		req->status = NFS_IO_ERR_RANGE;
		req_complete(e, req);
		return;
	}
	if (!req->length) {
		req_complete(e, req);
		return;
	}
	n = (req->length + max - 1) / max;
	req->chunks = calloc(n, sizeof(*req->chunks));
	if (!req->chunks) {
		req->status = NFS_IO_ERR_NOMEM;
		req_complete(e, req);
		return;
	}
	/* all chunks are counted first: one may finish while we send */
	req->chunks_left = (unsigned int)n + 1;
	for (i = 0; i < n; i++) {
		struct nfs_chunk *c = &req->chunks[i];

		c->e = e;
		c->req = req;
		c->data_off = i * max;
		c->len = (uint32_t)(req->length - c->data_off < max ?
				    req->length - c->data_off : max);
		send_piece(c);
	}
	if (--req->chunks_left == 0)
		req_complete(e, req);
}
