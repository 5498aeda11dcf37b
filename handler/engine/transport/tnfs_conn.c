// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A connection's life: connect (from a reserved port when root), a
 * GETATTR that proves it reaches the same file, use (with a NULL probe
 * when the server is quiet), and drop, with what it carried put back to
 * be sent again.  One attempt at a time per transport, with backoff
 * (tnfs_transport.h has the rules).
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

#include "tnfs_peers.h"
#include "tnfs_socket.h"
#include "tnfs_status.h"
#include "tnfs_transport_priv.h"

/* failed attempts during one outage are logged at most this often */
#define ATTEMPT_LOG_MS		10000
/* lost connections: this many lines per 10 s at most */
#define LOST_LOG_BURST		5
#define LOST_LOG_WINDOW_MS	10000


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

/* What @c carried back to the front of the pending queue, in order. */
static unsigned int requeue(struct tnfs_conn *c)
{
	struct tnfs_transport *t = c->t;
	struct tnfs_rpc *rpc, *prev;
	unsigned int carried = 0;

	for (rpc = c->tail; rpc; rpc = prev) {
		prev = rpc->prev;
		tnfs_xid_remove(t, rpc);
		/* v4: whether the server saw it, no one can tell now */
		if (rpc->slot >= 0)
			tnfs_session_forget_slot(t, rpc);
		rpc->conn = NULL;
		rpc->sent = 0;
		rpc->next = rpc->prev = NULL;
		if (rpc->internal) {
			if (t->sess)
				tnfs_session_internal_lost(t, rpc);
			continue;
		}
		rpc->resend = true;
		carried++;
		/* pushed to the front, walking backwards: the order is kept */
		tnfs_rpc_list_push_front(&t->pending, &t->pending_tail, rpc);
	}
	c->head = c->tail = c->unsent = NULL;
	c->calls = 0;
	return carried;
}

static void log_lost(struct tnfs_conn *c, const char *cause,
		     unsigned int carried)
{
	struct tnfs_transport *t = c->t;
	unsigned int more;
	char hint[TNFS_PEER_HINT_LEN];

	if (!tnfs_ratelimit(&t->lost_log, t->now_ms, LOST_LOG_BURST,
			    LOST_LOG_WINDOW_MS, &more))
		return;
	/* knfsd closes its oldest connection past its limit: say why */
	tnfs_log(&t->log, TNFS_LOG_WARN, "%s: connection %u lost: %s; %u "
		 "calls to send again%s%s", t->p.name, c->index, cause,
		 carried, more ? " (and more connections lost, not logged)" :
		 "", tnfs_peer_hint(&t->p.addr, hint, sizeof(hint)));
}

static void conn_close(struct tnfs_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	/* a channel of the pool's (share=1) holds none of its own */
	if (c->counted)
		tnfs_peer_release(&c->t->p.addr);
	c->counted = false;
}

static void conn_drop(struct tnfs_conn *c, bool bad, const char *cause)
{
	struct tnfs_transport *t = c->t;
	unsigned int carried;

	conn_close(c);
	carried = requeue(c);
	c->in_len = 0;
	c->frag_len = 0;
	c->frags = 0;
	c->skip = 0;
	c->probing = false;
	c->verifying = false;
	while (t->sess && c->ghost_n) {
		tnfs_session_ghost_lost(t, &c->ghost[c->ghost_head]);
		c->ghost_head = (c->ghost_head + 1) % GHOSTS;
		c->ghost_n--;
	}
	c->ghost_n = 0;
	c->bound = false;
	c->step_wait = false;
	c->step_at_ms = 0;
	/* bytes already placed are overwritten when the READ is sent again */
	c->dx = NULL;
	if (c->state == CONN_UP) {
		/* a new outage: log it, and start the clock */
		c->down_ms = t->now_ms;
		c->attempts = 0;
		c->resent = carried;
		snprintf(c->cause, sizeof(c->cause), "%s", cause);
		STAT_ADD(&t->stats, transport_errors, 1);
		log_lost(c, cause, carried);
	} else {
		c->resent += carried;
		if (t->now_ms - t->attempt_log_ms >= ATTEMPT_LOG_MS ||
		    !t->attempt_log_ms) {
			char hint[TNFS_PEER_HINT_LEN];

			t->attempt_log_ms = t->now_ms;
			tnfs_log(&t->log, TNFS_LOG_WARN, "%s: connection %u: "
				 "attempt %u failed: %s%s", t->p.name, c->index,
				 c->attempts, cause,
				 tnfs_peer_hint(&t->p.addr, hint,
						sizeof(hint)));
		}
	}
	/*
	 * A new outage starts the backoff afresh, so that a short one is
	 * short: only a connection that answered calls for a while, and was
	 * not dropped for what the server sent, begins one.  A connection
	 * that dies young (a sick server, calls that kill every connection,
	 * replies that make no sense) backs off further each time.
	 */
	if (c->state == CONN_UP && c->healthy && !bad &&
	    t->now_ms - c->up_ms >= TNFS_BACKOFF_MAX_MS)
		t->backoff_ms = TNFS_BACKOFF_MIN_MS;
	schedule_attempt(t);
	c->state = CONN_DOWN;
	c->healthy = false;
}

void tnfs_conn_drop(struct tnfs_conn *c, const char *fmt, ...)
{
	char cause[sizeof(c->cause)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cause, sizeof(cause), fmt, ap);
	va_end(ap);
	conn_drop(c, false, cause);
}

void tnfs_conn_drop_bad(struct tnfs_conn *c, const char *fmt, ...)
{
	char cause[sizeof(c->cause)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cause, sizeof(cause), fmt, ap);
	va_end(ap);
	conn_drop(c, true, cause);
}

void tnfs_fail_transport(struct tnfs_transport *t, int status,
			 const char *fmt, ...)
{
	char why[256];
	unsigned int i;
	va_list ap;

	if (t->failed)
		return;
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

void tnfs_conn_start(struct tnfs_conn *c)
{
	struct tnfs_transport *t = c->t;
	int fd, one = 1;

	c->attempts++;
	c->attempt_ms = t->now_ms;
	t->attempt_at[t->attempt_i] = t->now_ms;
	t->attempt_i = (t->attempt_i + 1) % TNFS_ATTEMPTS_MAX;
	STAT_ADD(&t->stats, connect_attempts, 1);
	if (t->pool) {
		/* a channel: "connected" at once, checked as a connection */
		c->state = CONN_CONNECTING;
		fd = tnfs_pool_channel(t->pool);
		if (fd < 0) {
			tnfs_conn_drop(c, "a channel of the shared "
				       "connections: %s", strerror(-fd));
			return;
		}
		c->fd = fd;
		return;
	}
	fd = socket(t->p.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0);
	if (fd < 0) {
		c->state = CONN_CONNECTING;
		tnfs_conn_drop(c, "socket: %s", strerror(errno));
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (t->p.user_timeout_ms) {
		static const struct linger reset = { .l_onoff = 1,
						     .l_linger = 0 };
		unsigned int ut = t->p.user_timeout_ms;

		setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
		setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &ut, sizeof(ut));
	}
	/* servers exporting with "secure" want a port below 1024 */
	if (t->p.resvport &&
	    tnfs_bind_reserved(fd, t->p.addr.ss_family, &t->seed) ==
	    -EADDRINUSE) {
		if (!t->resv_warned)
			tnfs_log(&t->log, TNFS_LOG_WARN, "%s: no reserved "
				 "port (%u-%u) is free on this host: "
				 "connecting from another, which a server "
				 "exporting \"secure\" (knfsd's default) "
				 "refuses; they are held by this host's "
				 "connections (one per device and nconnect=); "
				 "where the export allows any port (knfsd: "
				 "insecure) set resvport=0", t->p.name,
				 TNFS_RESERVED_LOW, TNFS_RESERVED_HIGH);
		t->resv_warned = true;
	}
	c->fd = fd;
	c->counted = true;
	tnfs_peer_hold(&t->p.addr);
	c->state = CONN_CONNECTING;
	if (connect(fd, (struct sockaddr *)&t->p.addr, t->p.addr_len) &&
	    errno != EINPROGRESS)
		tnfs_conn_drop(c, "connect: %s", strerror(errno));
}

static void send_internal(struct tnfs_conn *c, struct tnfs_rpc *rpc,
			  enum tnfs_xdr_proc proc, tnfs_rpc_done done)
{
	memset(rpc, 0, sizeof(*rpc));
	rpc->call.proc = proc;
	rpc->slot = -1;
	rpc->internal = true;
	rpc->done = done;
	rpc->priv = c;
	tnfs_conn_send_rpc(c, rpc);
}

/* TCP is up: prove it reaches the same file before using it. */
void tnfs_conn_connected(struct tnfs_conn *c)
{
	c->state = CONN_VERIFYING;
	c->rx_ms = c->t->now_ms;
	if (c->t->sess) {
		/* a session first, then the same check on slot 0 */
		tnfs_session_connected(c);
		return;
	}
	c->verifying = true;
	send_internal(c, &c->verify, TNFS_XDR_GETATTR, tnfs_conn_verify_done);
}

void tnfs_conn_recheck(struct tnfs_conn *c)
{
	if (c->verifying)
		return;
	if (c->t->sess) {
		if (tnfs_session_send_check(c, &c->verify,
					    tnfs_conn_verify_done))
			c->verifying = true;
		else
			c->t->recheck = true;	/* slot 0 busy: later */
		return;
	}
	c->verifying = true;
	send_internal(c, &c->verify, TNFS_XDR_GETATTR, tnfs_conn_verify_done);
}

static void probe_done(struct tnfs_rpc *rpc, int err,
		       const struct tnfs_xdr_reply *r)
{
	struct tnfs_conn *c = rpc->priv;

	(void)err;
	(void)r;
	/* any answer at all: the bytes already proved the server there */
	c->probing = false;
}

void tnfs_conn_probe(struct tnfs_conn *c)
{
	if (c->probing)
		return;
	c->probing = true;
	STAT_ADD(&c->t->stats, probes, 1);
	send_internal(c, &c->probe, TNFS_XDR_NULL, probe_done);
}

void tnfs_conn_up(struct tnfs_conn *c)
{
	struct tnfs_transport *t = c->t;

	c->state = CONN_UP;
	c->up_ms = t->now_ms;
	t->refused = 0;
	t->refuse_now = false;
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

/*
 * Looked up and found, the file's handle still answers stale: looked up
 * again later, until the grace is over.
 */
static void stale_again(struct tnfs_transport *t, int res)
{
	t->stale_confirm = false;
	if (t->now_ms - t->stale_ms >= t->p.stale_grace_ms) {
		tnfs_fail_transport(t, TNFS_NFS3ERR_STALE, "the server has "
				    "called the file handle %s for %" PRIu64
				    " ms, though its path still names the "
				    "file", tnfs_status_name(res),
				    t->now_ms - t->stale_ms);
		return;
	}
	if (t->p.stale)
		t->p.stale(t->p.stale_arg);
}

void tnfs_conn_refused(struct tnfs_conn *c, int res, const char *what)
{
	struct tnfs_transport *t = c->t;

	/*
	 * Refused for good (credentials, no such NFS version): calls
	 * waiting fail with that, not as if the server were away; retried
	 * only for new calls, with the backoff.
	 */
	if (!tnfs_status_transient(res)) {
		t->refused = res;
		t->refuse_now = true;
	}
	tnfs_conn_drop_bad(c, "%s refused: %s", what, tnfs_status_name(res));
}

/* The GETATTR of a fresh connection, or of a recheck, is answered. */
void tnfs_conn_verify_done(struct tnfs_rpc *rpc, int err,
			   const struct tnfs_xdr_reply *r)
{
	struct tnfs_conn *c = rpc->priv;
	struct tnfs_transport *t = c->t;
	int res = err ? err : tnfs_xdr_result(r);

	c->verifying = false;
	if (res == TNFS_NFS3ERR_STALE || res == TNFS_NFS3ERR_BADHANDLE) {
		if (t->stale_confirm)
			stale_again(t, res);
		else
			tnfs_stale_suspect(t);
		/* an answer all the same: a connection up stays so */
		if (c->state != CONN_UP && !t->failed)
			tnfs_conn_drop(c, "GETATTR: %s",
				       tnfs_status_name(res));
		return;
	}
	if (res) {
		tnfs_conn_refused(c, res, "GETATTR");
		return;
	}
	/*
	 * Removed (or renamed over) on the server, still reachable by its
	 * handle because the server holds it open: what is written to it
	 * would be gone with it.  Looked up again, as a stale handle is.
	 */
	if (r->attr.nlink == 0 && r->attr.type == 1) {
		tnfs_stale_suspect(t);
		tnfs_conn_drop(c, "GETATTR: the file has no name any more");
		return;
	}
	if (r->attr.type != 1 || r->attr.fileid != t->p.fileid) {
		tnfs_fail_transport(t, TNFS_NFS3ERR_STALE, "the file handle "
				    "now names another file (fileid %" PRIu64
				    ", was %" PRIu64 ")", r->attr.fileid,
				    t->p.fileid);
		return;
	}
	if (r->attr.size < t->p.min_size) {
		tnfs_fail_transport(t, TNFS_NFS3ERR_STALE, "the backing file "
				    "shrank to %" PRIu64 " bytes, below the "
				    "device's end at %" PRIu64, r->attr.size,
				    t->p.min_size);
		return;
	}
	if (t->stale_ms) {
		tnfs_log(&t->log, TNFS_LOG_INFO, "%s: the same file again "
			 "after a stale handle for %" PRIu64 " ms", t->p.name,
			 t->now_ms - t->stale_ms);
		t->stale_ms = 0;
		t->stale_confirm = false;
	}
	if (c->state != CONN_UP)
		tnfs_conn_up(c);
}

/* a reply record may carry this much besides READ data */
#define REPLY_OVERHEAD		4096

int tnfs_conns_init(struct tnfs_transport *t)
{
	unsigned int i;

	t->max_record = t->p.max_io + REPLY_OVERHEAD;
	if (t->p.share) {
		struct tnfs_pool_params pp = {
			.addr = t->p.addr,
			.addr_len = t->p.addr_len,
			.resvport = t->p.resvport,
			.nconn = t->p.nconn,
			.record_max = t->max_record,
			.busy_poll_us = t->p.busy_poll_us,
		};

		t->pool = tnfs_pool_get(&pp);
		if (!t->pool)
			return -ENOMEM;
	}
	/* after the pool: a shared client ID is the pool's */
	if (t->p.v4_minor && tnfs_session_init(t))
		return -ENOMEM;
	t->backoff_ms = TNFS_BACKOFF_MIN_MS;
	t->conn = calloc(t->p.nconn, sizeof(*t->conn));
	if (!t->conn)
		return -ENOMEM;
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

	for (i = 0; t->conn && i < t->p.nconn; i++) {
		conn_close(&t->conn[i]);
		free(t->conn[i].in);
		free(t->conn[i].frag);
	}
	free(t->conn);
	tnfs_session_free(t);
	/* after its channels closed: the last device stops the pool */
	tnfs_pool_put(t->pool);
}
