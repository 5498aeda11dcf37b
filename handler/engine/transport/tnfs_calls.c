// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The call table: the pending queue and each connection's calls as
 * lists, the XID hash a reply is matched with, and the one place where a
 * call completes (counted, then its callback).  It calls nothing else of
 * the transport, so every other file of it may use it.
 */
#include <inttypes.h>

#include "tnfs_status.h"
#include "tnfs_transport_priv.h"

/* calls failed for garbled replies: this many lines per 10 s at most */
#define CALL_LOG_BURST		5
#define CALL_LOG_WINDOW_MS	10000

void tnfs_rpc_list_append(struct tnfs_rpc **head, struct tnfs_rpc **tail,
			  struct tnfs_rpc *rpc)
{
	rpc->next = NULL;
	rpc->prev = *tail;
	if (*tail)
		(*tail)->next = rpc;
	else
		*head = rpc;
	*tail = rpc;
}

void tnfs_rpc_list_push_front(struct tnfs_rpc **head, struct tnfs_rpc **tail,
			      struct tnfs_rpc *rpc)
{
	rpc->prev = NULL;
	rpc->next = *head;
	if (*head)
		(*head)->prev = rpc;
	else
		*tail = rpc;
	*head = rpc;
}

void tnfs_rpc_list_remove(struct tnfs_rpc **head, struct tnfs_rpc **tail,
			  struct tnfs_rpc *rpc)
{
	if (rpc->prev)
		rpc->prev->next = rpc->next;
	else
		*head = rpc->next;
	if (rpc->next)
		rpc->next->prev = rpc->prev;
	else
		*tail = rpc->prev;
	rpc->next = rpc->prev = NULL;
}

void tnfs_ghost_add(struct tnfs_conn *c, const struct tnfs_rpc *rpc)
{
	struct tnfs_ghost *g;

	/* full: the oldest is forgotten; its reply would end @c */
	if (c->ghost_n == GHOSTS) {
		g = &c->ghost[c->ghost_head];
		if (c->t->sess)
			tnfs_session_ghost_lost(c->t, g);
		c->ghost_head = (c->ghost_head + 1) % GHOSTS;
		c->ghost_n--;
	}
	g = &c->ghost[(c->ghost_head + c->ghost_n) % GHOSTS];
	g->xid = rpc->xid;
	g->slot = rpc->slot;
	g->resync = rpc->resync;
	g->seqid = rpc->seqid;
	g->epoch = rpc->epoch;
	c->ghost_n++;
}

bool tnfs_ghost_take(struct tnfs_conn *c, uint32_t xid, struct tnfs_ghost *g)
{
	unsigned int i, j;

	for (i = 0; i < c->ghost_n; i++) {
		j = (c->ghost_head + i) % GHOSTS;
		if (c->ghost[j].xid != xid)
			continue;
		*g = c->ghost[j];
		/* replies mostly come in order: this is the oldest */
		c->ghost[j] = c->ghost[c->ghost_head];
		c->ghost_head = (c->ghost_head + 1) % GHOSTS;
		c->ghost_n--;
		return true;
	}
	return false;
}

static struct tnfs_rpc **hash_slot(struct tnfs_transport *t, uint32_t xid)
{
	return &t->xid_hash[xid % XID_HASH];
}

void tnfs_xid_insert(struct tnfs_transport *t, struct tnfs_rpc *rpc)
{
	struct tnfs_rpc **slot = hash_slot(t, rpc->xid);

	rpc->hnext = *slot;
	*slot = rpc;
}

void tnfs_xid_remove(struct tnfs_transport *t, struct tnfs_rpc *rpc)
{
	struct tnfs_rpc **pp = hash_slot(t, rpc->xid);

	while (*pp && *pp != rpc)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = rpc->hnext;
	rpc->hnext = NULL;
}

struct tnfs_rpc *tnfs_xid_find(struct tnfs_transport *t, struct tnfs_conn *c,
			       uint32_t xid)
{
	struct tnfs_rpc *rpc = *hash_slot(t, xid);

	while (rpc && (rpc->xid != xid || rpc->conn != c))
		rpc = rpc->hnext;
	return rpc;
}

uint32_t tnfs_rpc_record_len(const struct tnfs_rpc *rpc)
{
	uint32_t len = rpc->hdr_len;

	if (rpc->call.proc == TNFS_XDR_WRITE)
		len += rpc->call.count + tnfs_xdr_pad(rpc->call.count);
	return len;
}

/* A reply came: its latency, since the (last) send, and its data. */
static void account_reply(struct tnfs_transport *t,
			  const struct tnfs_rpc *rpc,
			  const struct tnfs_xdr_reply *r)
{
	struct tnfs_transport_stats *st = &t->stats;
	uint64_t us = tnfs_now_us() - rpc->sent_us;
	unsigned int p;

	/* how slow the server is of late: the silence it is allowed */
	if (us / 1000 > t->slow_ms)
		t->slow_ms = us / 1000;

	switch (rpc->call.proc) {
	case TNFS_XDR_READ:
		p = TNFS_LAT_READ;
		break;
	case TNFS_XDR_WRITE:
		p = TNFS_LAT_WRITE;
		break;
	case TNFS_XDR_COMMIT:
		p = TNFS_LAT_COMMIT;
		break;
	default:
		return;
	}
	tnfs_latency_add(&st->rpc_latency[p], us);
	if (r->rpc != TNFS_XDR_RPC_OK || r->status)
		return;
	if (p == TNFS_LAT_READ)
		STAT_ADD(st, read_bytes, r->count);
	else if (p == TNFS_LAT_WRITE)
		STAT_ADD(st, write_bytes, r->count);
}

void tnfs_rpc_complete(struct tnfs_transport *t, struct tnfs_rpc *rpc,
		       int err, const struct tnfs_xdr_reply *r)
{
	t->calls--;
	STAT_SUB(&t->stats, rpcs_in_flight, 1);
	if (r)
		account_reply(t, rpc, r);
	/* v4: a slot still held was not answered by a SEQUENCE */
	if (rpc->slot >= 0)
		tnfs_session_forget_slot(t, rpc);
	rpc->done(rpc, err, r);
}

static bool any_up(const struct tnfs_transport *t)
{
	unsigned int i;

	for (i = 0; i < t->p.nconn; i++)
		if (t->conn[i].state == CONN_UP)
			return true;
	return false;
}

void tnfs_fail_pending(struct tnfs_transport *t)
{
	struct tnfs_rpc *rpc = t->pending, *next;
	int now = t->failed ? t->failed : t->fenced ? t->fenced :
		  t->refuse_now && !any_up(t) ? t->refused : 0;

	/* what waits to be retried fails with the rest */
	if (now && t->sess) {
		tnfs_session_undelay(t);
		rpc = t->pending;
	}
	for (; rpc; rpc = next) {
		next = rpc->next;
		if (!now && (!rpc->deadline_ms ||
			     rpc->deadline_ms > t->now_ms))
			continue;
		tnfs_rpc_list_remove(&t->pending, &t->pending_tail, rpc);
		if (!now)
			STAT_ADD(&t->stats, rpc_timeouts, 1);
		tnfs_rpc_complete(t, rpc, now ? now : TNFS_IO_ERR_TRANSPORT,
				  NULL);
		/* a callback may have queued more: start over */
		next = t->pending;
	}
	t->refuse_now = false;
}

void tnfs_stale_suspect(struct tnfs_transport *t)
{
	if (t->stale_ms || t->failed)
		return;
	/*
	 * Stale again before any call through the handle was answered:
	 * the same episode (a server may answer GETATTR and yet refuse
	 * every READ and WRITE), bounded by the same grace.
	 */
	if (t->stale_since_ms) {
		t->stale_ms = t->stale_since_ms;
		if (t->now_ms - t->stale_ms >= t->p.stale_grace_ms) {
			tnfs_fail_transport(t, TNFS_NFS3ERR_STALE, "the server "
					    "has refused reads and writes as "
					    "stale for %" PRIu64 " ms, though "
					    "the file is there",
					    t->now_ms - t->stale_ms);
			return;
		}
	} else {
		t->stale_ms = t->now_ms ? t->now_ms : 1;
		t->stale_since_ms = t->stale_ms;
	}
	/* without an owner to look again, the next tick gives up */
	if (!t->p.stale)
		return;
	if (t->stale_ms == t->now_ms)
		tnfs_log(&t->log, TNFS_LOG_WARN, "%s: the server calls the "
			 "file handle stale; looking %s up again before "
			 "giving up", t->p.name, t->p.name);
	t->p.stale(t->p.stale_arg);
}

bool tnfs_conn_answered(struct tnfs_conn *c, struct tnfs_rpc *rpc,
			const struct tnfs_xdr_reply *r)
{
	struct tnfs_transport *t = c->t;
	int res;

	tnfs_xid_remove(t, rpc);
	tnfs_rpc_list_remove(&c->head, &c->tail, rpc);
	c->calls--;
	rpc->conn = NULL;
	if (t->sess) {
		switch (tnfs_session_answered(c, rpc, r)) {
		case SESS_COMPLETE:
			break;
		case SESS_REQUEUED:
			c->healthy = true;
			return c->fd >= 0;
		case SESS_GONE:
			return false;
		}
	}
	if (rpc->internal) {
		rpc->done(rpc, 0, r);
		return c->fd >= 0;
	}
	c->healthy = true;
	res = tnfs_xdr_result(r);
	if (res == TNFS_NFS3ERR_STALE || res == TNFS_NFS3ERR_BADHANDLE) {
		/* confirmed first: it waits, to be sent again if it was not */
		rpc->resend = true;
		tnfs_rpc_list_append(&t->pending, &t->pending_tail, rpc);
		tnfs_stale_suspect(t);
		return c->fd >= 0;
	}
	/* the handle answered for the file: an episode is over */
	t->stale_since_ms = 0;
	tnfs_rpc_complete(t, rpc, 0, r);
	/* its callback may have failed the transport, closing @c */
	return c->fd >= 0;
}

void tnfs_conn_unlink(struct tnfs_conn *c, struct tnfs_rpc *rpc)
{
	if (c->unsent == rpc)
		c->unsent = rpc->next;
	tnfs_xid_remove(c->t, rpc);
	tnfs_rpc_list_remove(&c->head, &c->tail, rpc);
	c->calls--;
	rpc->conn = NULL;
	rpc->sent = 0;
}

int64_t tnfs_conn_expire(struct tnfs_conn *c)
{
	struct tnfs_transport *t = c->t;
	struct tnfs_rpc *rpc, *next;
	uint64_t left = 0;

	for (rpc = c->head; rpc; rpc = next) {
		next = rpc->next;
		if (!rpc->deadline_ms || rpc->deadline_ms > t->now_ms) {
			if (rpc->deadline_ms &&
			    (!left || rpc->deadline_ms < left))
				left = rpc->deadline_ms;
			continue;
		}
		/* part of it on the wire: only closing can take it back */
		if (rpc->sent && rpc->sent < tnfs_rpc_record_len(rpc))
			return -1;
		if (rpc->sent) {
			/* v4: its slot stays taken until the reply comes */
			tnfs_ghost_add(c, rpc);
			rpc->slot = -1;
		}
		/* its reply's data would go to a buffer about to be freed */
		if (c->dx == rpc) {
			c->skip = c->dx_reply.count - c->dx_done + c->dx_pad;
			c->dx = NULL;
		}
		tnfs_conn_unlink(c, rpc);
		STAT_ADD(&t->stats, rpc_timeouts, 1);
		tnfs_rpc_complete(t, rpc, TNFS_IO_ERR_TRANSPORT, NULL);
		if (c->fd < 0)
			return 0;
		/* a callback may have sent more: start over */
		next = c->head;
		left = 0;
	}
	return (int64_t)left;
}

void tnfs_conn_charge(struct tnfs_conn *c, struct tnfs_rpc *rpc,
		      const char *why)
{
	struct tnfs_transport *t = c->t;
	unsigned int more;

	STAT_ADD(&t->stats, replies_discarded, 1);
	tnfs_conn_unlink(c, rpc);
	if (rpc->slot >= 0)
		tnfs_session_forget_slot(t, rpc);
	if (++rpc->strikes < 2) {
		/* once may be the network's fault: send it again */
		rpc->resend = true;
		rpc->next = t->pending;
		rpc->prev = NULL;
		if (t->pending)
			t->pending->prev = rpc;
		else
			t->pending_tail = rpc;
		t->pending = rpc;
		return;
	}
	STAT_ADD(&t->stats, garbled_calls, 1);
	if (tnfs_ratelimit(&t->call_log, t->now_ms, CALL_LOG_BURST,
			   CALL_LOG_WINDOW_MS, &more))
		tnfs_log(&t->log, TNFS_LOG_ERR, "%s: %s at %" PRIu64 "+%" PRIu32
			 " failed: the server answered it twice with a reply "
			 "that does not decode (%s); %u more such calls not "
			 "logged", t->p.name,
			 tnfs_xdr_proc_name(rpc->call.proc),
			 rpc->call.offset, rpc->call.count, why, more);
	tnfs_rpc_complete(t, rpc, TNFS_IO_ERR_GARBLED, NULL);
}
