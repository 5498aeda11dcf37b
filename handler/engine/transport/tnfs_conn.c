// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A connection's life: connect (from a reserved port when root), a
 * GETATTR that proves it reaches the same file, use, and drop, with what
 * it carried put back to be sent again.  One attempt at a time per
 * transport, with backoff (tnfs_transport.h has the rules).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tnfs_status.h"
#include "tnfs_transport_priv.h"

/* failed attempts during one outage are logged at most this often */
#define ATTEMPT_LOG_MS		10000

static void verify_done(struct tnfs_rpc *rpc, int err,
			const struct tnfs_xdr_reply *r);

static unsigned int jitter(struct tnfs_transport *t, unsigned int ms)
{
	/* between half and all of it, so devices do not retry in step */
	return ms / 2 + (unsigned int)rand_r(&t->seed) % (ms / 2 + 1);
}

static void schedule_attempt(struct tnfs_transport *t)
{
	t->next_attempt_ms = t->now_ms + jitter(t, t->backoff_ms);
	t->backoff_ms = t->backoff_ms * 3 / 2 > TNFS_BACKOFF_MAX_MS ?
			TNFS_BACKOFF_MAX_MS : t->backoff_ms * 3 / 2;
}

/*
 * Close @c; what it carried goes back to the front of the pending queue,
 * in the order it was sent, to be sent again on a fresh connection.
 */
void tnfs_conn_drop(struct tnfs_conn *c, const char *fmt, ...)
{
	struct tnfs_transport *t = c->t;
	struct tnfs_rpc *rpc, *prev;
	unsigned int carried = 0;
	char cause[sizeof(c->cause)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cause, sizeof(cause), fmt, ap);
	va_end(ap);
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	for (rpc = c->tail; rpc; rpc = prev) {
		prev = rpc->prev;
		tnfs_xid_remove(t, rpc);
		rpc->conn = NULL;
		rpc->sent = 0;
		rpc->next = rpc->prev = NULL;
		if (rpc->internal)
			continue;
		rpc->resend = true;
		carried++;
		/* push front, walking backwards: the order is kept */
		rpc->next = t->pending;
		if (t->pending)
			t->pending->prev = rpc;
		else
			t->pending_tail = rpc;
		t->pending = rpc;
	}
	c->head = c->tail = c->unsent = NULL;
	c->calls = 0;
	c->in_len = 0;
	c->frag_len = 0;
	/* bytes already placed are overwritten when the READ is sent again */
	c->dx = NULL;
	if (c->state == CONN_UP) {
		/* a new outage: log it, and start the clock */
		c->down_ms = t->now_ms;
		c->attempts = 0;
		c->resent = carried;
		snprintf(c->cause, sizeof(c->cause), "%s", cause);
		STAT_ADD(&t->stats, transport_errors, 1);
		tnfs_log(&t->log, TNFS_LOG_WARN, "%s: connection %u lost: %s; "
			 "%u calls to send again", t->p.name, c->index, cause,
			 carried);
	} else {
		c->resent += carried;
		if (t->now_ms - t->attempt_log_ms >= ATTEMPT_LOG_MS ||
		    !t->attempt_log_ms) {
			t->attempt_log_ms = t->now_ms;
			tnfs_log(&t->log, TNFS_LOG_WARN, "%s: connection %u: "
				 "attempt %u failed: %s", t->p.name, c->index,
				 c->attempts, cause);
		}
	}
	/*
	 * A new outage starts the backoff afresh, so that a short one is
	 * short: only a connection that answered calls begins one.  A
	 * connection that dies before answering anything (a sick server,
	 * calls that kill every connection) backs off further each time.
	 */
	if (c->state == CONN_UP && c->healthy)
		t->backoff_ms = TNFS_BACKOFF_MIN_MS;
	schedule_attempt(t);
	c->state = CONN_DOWN;
	c->healthy = false;
}

static void fail_transport(struct tnfs_transport *t, int status,
			   const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The file is not there any more: fail every call, for good. */
static void fail_transport(struct tnfs_transport *t, int status,
			   const char *fmt, ...)
{
	char why[256];
	unsigned int i;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	tnfs_log(&t->log, TNFS_LOG_ERR, "%s: %s; every command fails from now "
		 "on: re-create the backstore once the file is right",
		 t->p.name, why);
	t->failed = status;
	for (i = 0; i < t->p.nconn; i++)
		if (t->conn[i].fd >= 0)
			tnfs_conn_drop(&t->conn[i], "%s", why);
	tnfs_fail_pending(t);
}

static void bind_reserved_port(struct tnfs_transport *t, int fd, int family)
{
	struct sockaddr_storage ss;
	unsigned int i, port;

	/* servers exporting with "secure" want a port below 1024 */
	if (geteuid() != 0)
		return;
	for (i = 0; i < 32; i++) {
		port = 600 + (unsigned int)rand_r(&t->seed) % 424;
		memset(&ss, 0, sizeof(ss));
		ss.ss_family = (sa_family_t)family;
		if (family == AF_INET6)
			((struct sockaddr_in6 *)&ss)->sin6_port =
				htons((uint16_t)port);
		else
			((struct sockaddr_in *)&ss)->sin_port =
				htons((uint16_t)port);
		if (!bind(fd, (struct sockaddr *)&ss, family == AF_INET6 ?
			  sizeof(struct sockaddr_in6) :
			  sizeof(struct sockaddr_in)))
			return;
		if (errno != EADDRINUSE)
			return;
	}
}

void tnfs_conn_start(struct tnfs_conn *c)
{
	struct tnfs_transport *t = c->t;
	int fd, one = 1;

	c->attempts++;
	c->attempt_ms = t->now_ms;
	STAT_ADD(&t->stats, connect_attempts, 1);
	fd = socket(t->p.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0);
	if (fd < 0) {
		c->state = CONN_CONNECTING;
		tnfs_conn_drop(c, "socket: %s", strerror(errno));
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	bind_reserved_port(t, fd, t->p.addr.ss_family);
	c->fd = fd;
	c->state = CONN_CONNECTING;
	if (connect(fd, (struct sockaddr *)&t->p.addr, t->p.addr_len) &&
	    errno != EINPROGRESS)
		tnfs_conn_drop(c, "connect: %s", strerror(errno));
}

/* TCP is up: prove it reaches the same file before using it. */
void tnfs_conn_connected(struct tnfs_conn *c)
{
	struct tnfs_rpc *v = &c->verify;

	memset(v, 0, sizeof(*v));
	v->call.proc = TNFS_XDR_GETATTR;
	v->internal = true;
	v->done = verify_done;
	v->priv = c;
	c->state = CONN_VERIFYING;
	tnfs_conn_send_rpc(c, v);
}

static void conn_up(struct tnfs_conn *c)
{
	struct tnfs_transport *t = c->t;

	c->state = CONN_UP;
	if (c->was_up) {
		STAT_ADD(&t->stats, reconnects, 1);
		tnfs_log(&t->log, TNFS_LOG_INFO, "%s: connection %u back after "
			 "%" PRIu64 " ms and %u attempts (lost: %s); %u calls "
			 "sent again", t->p.name, c->index,
			 t->now_ms - c->down_ms, c->attempts, c->cause,
			 c->resent);
	}
	c->was_up = true;
	c->attempts = 0;
	c->resent = 0;
	t->attempt_log_ms = 0;
	/* the next connection, if any, may try at once */
	t->next_attempt_ms = t->now_ms;
}

static void verify_done(struct tnfs_rpc *rpc, int err,
			const struct tnfs_xdr_reply *r)
{
	struct tnfs_conn *c = rpc->priv;
	struct tnfs_transport *t = c->t;

	if (err || r->rpc != TNFS_XDR_RPC_OK) {
		tnfs_conn_drop(c, "GETATTR refused at the RPC level (%d)",
			       err ? err : (int)r->rpc);
		return;
	}
	if (r->status == TNFS_NFS3ERR_STALE ||
	    r->status == TNFS_NFS3ERR_BADHANDLE) {
		fail_transport(t, TNFS_NFS3ERR_STALE, "the backing file was "
			       "removed or replaced on the server (%s)",
			       tnfs_status_name((int)r->status));
		return;
	}
	if (r->status) {
		tnfs_conn_drop(c, "GETATTR failed: %s",
			       tnfs_status_name((int)r->status));
		return;
	}
	if (r->attr.type != 1 || r->attr.fileid != t->p.fileid) {
		fail_transport(t, TNFS_NFS3ERR_STALE, "the file handle now "
			       "names another file (fileid %" PRIu64 ", was %"
			       PRIu64 ")", r->attr.fileid, t->p.fileid);
		return;
	}
	if (r->attr.size < t->p.min_size) {
		fail_transport(t, TNFS_NFS3ERR_STALE, "the backing file shrank "
			       "to %" PRIu64 " bytes, below the device's end "
			       "at %" PRIu64, r->attr.size, t->p.min_size);
		return;
	}
	conn_up(c);
}

/* a reply record may carry this much besides READ data */
#define REPLY_OVERHEAD		4096

int tnfs_conns_init(struct tnfs_transport *t)
{
	unsigned int i;

	t->max_record = t->p.max_io + REPLY_OVERHEAD;
	t->backoff_ms = TNFS_BACKOFF_MIN_MS;
	for (i = 0; i < t->p.nconn; i++) {
		t->conn[i].t = t;
		t->conn[i].index = i;
		t->conn[i].fd = -1;
	}
	for (i = 0; i < t->p.nconn; i++) {
		struct tnfs_conn *c = &t->conn[i];

		c->in_cap = t->max_record + 4 + 65536;
		c->in = malloc(c->in_cap);
		c->frag = malloc(t->max_record);
		if (!c->in || !c->frag)
			return -ENOMEM;
	}
	return 0;
}

void tnfs_conns_free(struct tnfs_transport *t)
{
	unsigned int i;

	for (i = 0; i < t->p.nconn; i++) {
		if (t->conn[i].fd >= 0)
			close(t->conn[i].fd);
		free(t->conn[i].in);
		free(t->conn[i].frag);
	}
}
