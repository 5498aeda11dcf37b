// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The call table: the pending queue and each connection's calls as
 * lists, the XID hash a reply is matched with, and the one place where a
 * call completes (counted, then its callback).  It calls nothing else of
 * the transport, so every other file of it may use it.
 */
#include "tnfs_status.h"
#include "tnfs_transport_priv.h"

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
	rpc->done(rpc, err, r);
}

void tnfs_fail_pending(struct tnfs_transport *t)
{
	struct tnfs_rpc *rpc = t->pending, *next;

	for (; rpc; rpc = next) {
		next = rpc->next;
		if (!t->failed && (!rpc->deadline_ms ||
				   rpc->deadline_ms > t->now_ms))
			continue;
		tnfs_rpc_list_remove(&t->pending, &t->pending_tail, rpc);
		if (!t->failed)
			STAT_ADD(&t->stats, rpc_timeouts, 1);
		tnfs_rpc_complete(t, rpc, t->failed ? t->failed :
				  TNFS_IO_ERR_TRANSPORT, NULL);
		/* a callback may have queued more: start over */
		next = t->pending;
	}
}

bool tnfs_conn_answered(struct tnfs_conn *c, struct tnfs_rpc *rpc,
			const struct tnfs_xdr_reply *r)
{
	struct tnfs_transport *t = c->t;

	tnfs_xid_remove(t, rpc);
	tnfs_rpc_list_remove(&c->head, &c->tail, rpc);
	c->calls--;
	rpc->conn = NULL;
	if (rpc->internal) {
		rpc->done(rpc, 0, r);
		return c->fd >= 0;
	}
	c->healthy = true;
	tnfs_rpc_complete(t, rpc, 0, r);
	return true;
}
