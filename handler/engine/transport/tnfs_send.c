// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Sending: pending calls go to the connection carrying the fewest, each
 * gets a fresh XID, and a connection writes what it has in as few
 * sendmsg() calls as it takes, WRITE data straight from the command's
 * iovec (no gather copy).  Errors are returned, never acted on here:
 * the caller drops the connection (tnfs_conn.c).
 */
#include <errno.h>
#include <sys/socket.h>

#include "tnfs_iov.h"
#include "tnfs_transport_priv.h"

#define SEND_IOV		128

void tnfs_conn_send_rpc(struct tnfs_conn *c, struct tnfs_rpc *rpc)
{
	struct tnfs_transport *t = c->t;

	if (rpc->resend) {
		STAT_ADD(&t->stats, rpcs_resent, 1);
		rpc->resend = false;
	}
	rpc->xid = t->next_xid++;
	if (t->sess)
		rpc->hdr_len = tnfs_session_encode(t, rpc);
	else
		rpc->hdr_len = (uint32_t)tnfs_xdr_encode_prepared(rpc->hdr,
								  rpc->xid,
								  &t->auth,
								  &rpc->call);
	rpc->sent = 0;
	rpc->sent_ms = t->now_ms;
	/* microseconds, for latency only: the timers run on now_ms */
	rpc->sent_us = tnfs_now_us();
	rpc->conn = c;
	/* the silence that makes @c dead counts from here, at most */
	if (!c->head)
		c->busy_ms = t->now_ms;
	if (rpc->deadline_ms && (!t->carried_deadline_ms ||
				 rpc->deadline_ms < t->carried_deadline_ms))
		t->carried_deadline_ms = rpc->deadline_ms;
	tnfs_xid_insert(t, rpc);
	tnfs_rpc_list_append(&c->head, &c->tail, rpc);
	if (!c->unsent)
		c->unsent = rpc;
	c->calls++;
}

/* The unsent part of @rpc's record as iovecs; how many were used. */
static unsigned int rpc_iov(const struct tnfs_rpc *rpc, struct iovec *v,
			    unsigned int room)
{
	static const unsigned char zeros[4];
	size_t sent = rpc->sent, count = rpc->call.count, covered;
	uint32_t pad = tnfs_xdr_pad(rpc->call.count);
	unsigned int n = 0;

	if (sent < rpc->hdr_len) {
		v[n].iov_base = (void *)(rpc->hdr + sent);
		v[n++].iov_len = rpc->hdr_len - sent;
		sent = 0;
	} else {
		sent -= rpc->hdr_len;
	}
	if (rpc->call.proc != TNFS_XDR_WRITE)
		return n;
	if (sent < count) {
		n += tnfs_iov_slice(rpc->iov, rpc->iov_cnt,
				    rpc->iov_off + sent, count - sent, v + n,
				    room - n, &covered);
		if (covered < count - sent)
			return n;
		sent = 0;
	} else {
		sent -= count;
	}
	if (n < room && pad > sent) {
		v[n].iov_base = (void *)(zeros + sent);
		v[n++].iov_len = pad - sent;
	}
	return n;
}

int tnfs_conn_flush(struct tnfs_conn *c)
{
	struct iovec v[SEND_IOV];
	struct msghdr msg = { .msg_iov = v };
	struct tnfs_rpc *rpc;
	unsigned int n;
	ssize_t w;

	while (c->unsent) {
		n = 0;
		for (rpc = c->unsent; rpc && n < SEND_IOV - 2;
		     rpc = rpc->next)
			n += rpc_iov(rpc, v + n, SEND_IOV - n);
		msg.msg_iovlen = n;
		w = sendmsg(c->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && (errno == EAGAIN || errno == EINTR))
			return 0;
		if (w < 0)
			return -errno;
		while (w > 0 && c->unsent) {
			uint32_t left = tnfs_rpc_record_len(c->unsent) -
					c->unsent->sent;

			if ((size_t)w < left) {
				c->unsent->sent += (uint32_t)w;
				break;
			}
			w -= left;
			c->unsent->sent += left;
			c->unsent = c->unsent->next;
		}
	}
	return 0;
}

/* The connection carrying the fewest calls. */
static struct tnfs_conn *pick_conn(struct tnfs_transport *t)
{
	struct tnfs_conn *best = NULL;
	unsigned int i, k;

	for (k = 0; k < t->p.nconn; k++) {
		i = (t->rr + k) % t->p.nconn;
		if (t->conn[i].state == CONN_UP &&
		    (!best || t->conn[i].calls < best->calls))
			best = &t->conn[i];
	}
	t->rr++;
	return best;
}

void tnfs_dispatch_pending(struct tnfs_transport *t)
{
	struct tnfs_rpc *rpc;
	struct tnfs_conn *c;

	/* a stale handle is confirmed before anything more is sent */
	if (t->stale_ms)
		return;
	if (t->sess && !tnfs_session_ready(t))
		return;
	while (!t->failed && !t->fenced && (rpc = t->pending) &&
	       (c = pick_conn(t))) {
		/* v4: as many in flight as the session has slots */
		if (t->sess && !tnfs_session_take_slot(t, rpc, false))
			break;
		tnfs_rpc_list_remove(&t->pending, &t->pending_tail, rpc);
		tnfs_conn_send_rpc(c, rpc);
	}
}
