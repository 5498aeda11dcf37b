// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Connections, connect, reconnect, sending and timers (nfs_transport.h
 * has the rules; nfs_transport_rx.c receives).  Everything here runs on
 * the engine thread.
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

#include "nfs_status.h"
#include "nfs_transport_priv.h"

#define SEND_IOV		128
#define BACKOFF_MIN_MS		10
/* x1.5 a step: a short outage costs about half its length again */
#define BACKOFF_MAX_MS		1000
#define CONNECT_TIMEOUT_MS	5000
/* a reply record may carry this much besides READ data */
#define REPLY_OVERHEAD		4096
/* failed attempts during one outage are logged at most this often */
#define ATTEMPT_LOG_MS		10000


/* ---- lists ---- */

static void list_append(struct nfs_rpc **head, struct nfs_rpc **tail,
			struct nfs_rpc *rpc)
{
	rpc->next = NULL;
	rpc->prev = *tail;
	if (*tail)
		(*tail)->next = rpc;
	else
		*head = rpc;
	*tail = rpc;
}

void nfs_rpc_list_remove(struct nfs_rpc **head, struct nfs_rpc **tail,
			 struct nfs_rpc *rpc)
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

static struct nfs_rpc **hash_slot(struct nfs_transport *t, uint32_t xid)
{
	return &t->xid_hash[xid % XID_HASH];
}

void nfs_xid_remove(struct nfs_transport *t, struct nfs_rpc *rpc)
{
	struct nfs_rpc **pp = hash_slot(t, rpc->xid);

	while (*pp && *pp != rpc)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = rpc->hnext;
	rpc->hnext = NULL;
}

struct nfs_rpc *nfs_xid_find(struct nfs_transport *t, struct nfs_conn *c,
			     uint32_t xid)
{
	struct nfs_rpc *rpc = *hash_slot(t, xid);

	while (rpc && (rpc->xid != xid || rpc->conn != c))
		rpc = rpc->hnext;
	return rpc;
}

/* ---- completing calls ---- */

/* A reply came: its latency, since the (last) send, and its data. */
static void account_reply(struct nfs_transport *t, const struct nfs_rpc *rpc,
			  const struct nfs_xdr_reply *r)
{
	static const uint64_t bounds[NFS_LAT_BUCKETS] = NFS_LAT_BOUNDS_US;
	struct nfs_engine_stats *st = t->p.stats;
	uint64_t us = nfs_now_us() - rpc->sent_us;
	unsigned int p, i;

	switch (rpc->call.proc) {
	case NFS_XDR_READ:
		p = NFS_LAT_READ;
		break;
	case NFS_XDR_WRITE:
		p = NFS_LAT_WRITE;
		break;
	case NFS_XDR_COMMIT:
		p = NFS_LAT_COMMIT;
		break;
	default:
		return;
	}
	for (i = 0; i < NFS_LAT_BUCKETS && us > bounds[i]; i++)
		;
	STAT_ADD(st, rpc_latency[p].bucket[i], 1);
	STAT_ADD(st, rpc_latency[p].sum_us, us);
	if (r->rpc != NFS_XDR_RPC_OK || r->status)
		return;
	if (p == NFS_LAT_READ)
		STAT_ADD(st, read_bytes, r->count);
	else if (p == NFS_LAT_WRITE)
		STAT_ADD(st, write_bytes, r->count);
}

void nfs_rpc_complete(struct nfs_transport *t, struct nfs_rpc *rpc, int err,
		      const struct nfs_xdr_reply *r)
{
	t->calls--;
	STAT_SUB(t->p.stats, rpcs_in_flight, 1);
	if (r)
		account_reply(t, rpc, r);
	rpc->done(rpc, err, r);
}

/* Pending calls past their deadline, or all of them once failed. */
static void fail_pending(struct nfs_transport *t)
{
	struct nfs_rpc *rpc = t->pending, *next;

	for (; rpc; rpc = next) {
		next = rpc->next;
		if (!t->failed && (!rpc->deadline_ms ||
				   rpc->deadline_ms > t->now_ms))
			continue;
		nfs_rpc_list_remove(&t->pending, &t->pending_tail, rpc);
		if (!t->failed)
			STAT_ADD(t->p.stats, rpc_timeouts, 1);
		nfs_rpc_complete(t, rpc, t->failed ? t->failed :
				 NFS_IO_ERR_TRANSPORT, NULL);
		/* a callback may have queued more: start over */
		next = t->pending;
	}
}

/* ---- connection lifetime ---- */

static unsigned int jitter(struct nfs_transport *t, unsigned int ms)
{
	/* between half and all of it, so devices do not retry in step */
	return ms / 2 + (unsigned int)rand_r(&t->seed) % (ms / 2 + 1);
}

static void schedule_attempt(struct nfs_transport *t)
{
	t->next_attempt_ms = t->now_ms + jitter(t, t->backoff_ms);
	t->backoff_ms = t->backoff_ms * 3 / 2 > BACKOFF_MAX_MS ?
			BACKOFF_MAX_MS : t->backoff_ms * 3 / 2;
}

/*
 * Close @c; what it carried goes back to the front of the pending queue,
 * in the order it was sent, to be sent again on a fresh connection.
 */
void nfs_conn_drop(struct nfs_conn *c, const char *fmt, ...)
{
	struct nfs_transport *t = c->t;
	struct nfs_rpc *rpc, *prev;
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
		nfs_xid_remove(t, rpc);
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
		STAT_ADD(t->p.stats, transport_errors, 1);
		nfs_log(&t->log, NFS_LOG_WARN, "%s: connection %u lost: %s; "
			"%u calls to send again", t->p.name, c->index, cause,
			carried);
	} else {
		c->resent += carried;
		if (t->now_ms - t->attempt_log_ms >= ATTEMPT_LOG_MS ||
		    !t->attempt_log_ms) {
			t->attempt_log_ms = t->now_ms;
			nfs_log(&t->log, NFS_LOG_WARN, "%s: connection %u: "
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
		t->backoff_ms = BACKOFF_MIN_MS;
	schedule_attempt(t);
	c->state = CONN_DOWN;
	c->healthy = false;
}

static void fail_transport(struct nfs_transport *t, int status,
			   const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The file is not there any more: fail every call, for good. */
static void fail_transport(struct nfs_transport *t, int status,
			   const char *fmt, ...)
{
	char why[256];
	unsigned int i;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	nfs_log(&t->log, NFS_LOG_ERR, "%s: %s; every command fails from now "
		"on: re-create the backstore once the file is right",
		t->p.name, why);
	t->failed = status;
	for (i = 0; i < t->p.nconn; i++)
		if (t->conn[i].fd >= 0)
			nfs_conn_drop(&t->conn[i], "%s", why);
	fail_pending(t);
}

static void bind_reserved_port(struct nfs_transport *t, int fd, int family)
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

static void verify_done(struct nfs_rpc *rpc, int err,
			const struct nfs_xdr_reply *r);

static void conn_send_rpc(struct nfs_conn *c, struct nfs_rpc *rpc);

static void conn_start(struct nfs_conn *c)
{
	struct nfs_transport *t = c->t;
	int fd, one = 1;

	c->attempts++;
	c->attempt_ms = t->now_ms;
	STAT_ADD(t->p.stats, connect_attempts, 1);
	fd = socket(t->p.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0);
	if (fd < 0) {
		c->state = CONN_CONNECTING;
		nfs_conn_drop(c, "socket: %s", strerror(errno));
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	bind_reserved_port(t, fd, t->p.addr.ss_family);
	c->fd = fd;
	c->state = CONN_CONNECTING;
	if (connect(fd, (struct sockaddr *)&t->p.addr, t->p.addr_len) &&
	    errno != EINPROGRESS)
		nfs_conn_drop(c, "connect: %s", strerror(errno));
}

/* TCP is up: prove it reaches the same file before using it. */
static void conn_connected(struct nfs_conn *c)
{
	struct nfs_rpc *v = &c->verify;

	memset(v, 0, sizeof(*v));
	v->call.proc = NFS_XDR_GETATTR;
	v->internal = true;
	v->done = verify_done;
	v->priv = c;
	c->state = CONN_VERIFYING;
	conn_send_rpc(c, v);
}

static void conn_up(struct nfs_conn *c)
{
	struct nfs_transport *t = c->t;

	c->state = CONN_UP;
	if (c->was_up) {
		STAT_ADD(t->p.stats, reconnects, 1);
		nfs_log(&t->log, NFS_LOG_INFO, "%s: connection %u back after "
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

static void verify_done(struct nfs_rpc *rpc, int err,
			const struct nfs_xdr_reply *r)
{
	struct nfs_conn *c = rpc->priv;
	struct nfs_transport *t = c->t;

	if (err || r->rpc != NFS_XDR_RPC_OK) {
		nfs_conn_drop(c, "GETATTR refused at the RPC level (%d)",
			      err ? err : (int)r->rpc);
		return;
	}
	if (r->status == NFS_XDR_ERR_STALE ||
	    r->status == NFS_XDR_ERR_BADHANDLE) {
		fail_transport(t, NFS_XDR_ERR_STALE, "the backing file was "
			       "removed or replaced on the server (%s)",
			       nfs_status_name((int)r->status));
		return;
	}
	if (r->status) {
		nfs_conn_drop(c, "GETATTR failed: %s",
			      nfs_status_name((int)r->status));
		return;
	}
	if (r->attr.type != 1 || r->attr.fileid != t->p.fileid) {
		fail_transport(t, NFS_XDR_ERR_STALE, "the file handle now "
			       "names another file (fileid %" PRIu64 ", was %"
			       PRIu64 ")", r->attr.fileid, t->p.fileid);
		return;
	}
	if (r->attr.size < t->p.min_size) {
		fail_transport(t, NFS_XDR_ERR_STALE, "the backing file shrank "
			       "to %" PRIu64 " bytes, below the device's end "
			       "at %" PRIu64, r->attr.size, t->p.min_size);
		return;
	}
	conn_up(c);
}

/* ---- sending ---- */

static void conn_send_rpc(struct nfs_conn *c, struct nfs_rpc *rpc)
{
	struct nfs_transport *t = c->t;
	struct nfs_rpc **slot;

	if (rpc->resend) {
		STAT_ADD(t->p.stats, rpcs_resent, 1);
		rpc->resend = false;
	}
	rpc->xid = t->next_xid++;
	rpc->hdr_len = (uint32_t)nfs_xdr_encode_call(rpc->hdr, rpc->xid,
						     &t->p.cred, &t->p.fh,
						     &rpc->call);
	rpc->sent = 0;
	rpc->sent_ms = t->now_ms;
	/* microseconds, for latency only: the timers run on now_ms */
	rpc->sent_us = nfs_now_us();
	rpc->conn = c;
	slot = hash_slot(t, rpc->xid);
	rpc->hnext = *slot;
	*slot = rpc;
	list_append(&c->head, &c->tail, rpc);
	if (!c->unsent)
		c->unsent = rpc;
	c->calls++;
}

uint32_t nfs_rpc_record_len(const struct nfs_rpc *rpc)
{
	uint32_t len = rpc->hdr_len;

	if (rpc->call.proc == NFS_XDR_WRITE)
		len += rpc->call.count + nfs_xdr_pad(rpc->call.count);
	return len;
}

/* The unsent part of @rpc's record as iovecs; how many were used. */
static unsigned int rpc_iov(const struct nfs_rpc *rpc, struct iovec *v,
			    unsigned int room)
{
	static const unsigned char zeros[4];
	size_t skip = rpc->sent, off, left, i;
	unsigned int n = 0;

	if (skip < rpc->hdr_len) {
		v[n].iov_base = (void *)(rpc->hdr + skip);
		v[n++].iov_len = rpc->hdr_len - skip;
		skip = 0;
	} else {
		skip -= rpc->hdr_len;
	}
	if (rpc->call.proc != NFS_XDR_WRITE)
		return n;
	left = rpc->call.count;
	off = rpc->iov_off;
	for (i = 0; i < rpc->iov_cnt && left && n < room; i++) {
		size_t seg;

		if (off >= rpc->iov[i].iov_len) {
			off -= rpc->iov[i].iov_len;
			continue;
		}
		seg = rpc->iov[i].iov_len - off;
		if (seg > left)
			seg = left;
		left -= seg;
		if (skip >= seg) {
			skip -= seg;
			off = 0;
			continue;
		}
		v[n].iov_base = (char *)rpc->iov[i].iov_base + off + skip;
		v[n++].iov_len = seg - skip;
		skip = 0;
		off = 0;
	}
	if (!left && n < room && nfs_xdr_pad(rpc->call.count) > skip) {
		v[n].iov_base = (void *)(zeros + skip);
		v[n++].iov_len = nfs_xdr_pad(rpc->call.count) - skip;
	}
	return n;
}

static void conn_flush(struct nfs_conn *c)
{
	struct iovec v[SEND_IOV];
	struct msghdr msg = { .msg_iov = v };
	struct nfs_rpc *rpc;
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
			return;
		if (w < 0) {
			nfs_conn_drop(c, "send: %s", strerror(errno));
			return;
		}
		while (w > 0 && c->unsent) {
			uint32_t left = nfs_rpc_record_len(c->unsent) -
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
}

/* The connection carrying the fewest calls. */
static struct nfs_conn *pick_conn(struct nfs_transport *t)
{
	struct nfs_conn *best = NULL;
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

static void dispatch_pending(struct nfs_transport *t)
{
	struct nfs_rpc *rpc;
	struct nfs_conn *c;

	while (!t->failed && (rpc = t->pending) && (c = pick_conn(t))) {
		nfs_rpc_list_remove(&t->pending, &t->pending_tail, rpc);
		conn_send_rpc(c, rpc);
	}
}

void nfs_transport_send(struct nfs_transport *t, struct nfs_rpc *rpc)
{
	t->calls++;
	{
		unsigned int n = STAT_ADD(t->p.stats, rpcs_in_flight, 1);

		STAT_PEAK(t->p.stats, peak_rpcs_in_flight, n);
	}
	STAT_ADD(t->p.stats, rpcs, 1);
	rpc->conn = NULL;
	rpc->resend = false;
	rpc->internal = false;
	list_append(&t->pending, &t->pending_tail, rpc);
}

void nfs_transport_flush(struct nfs_transport *t)
{
	unsigned int i;

	dispatch_pending(t);
	for (i = 0; i < t->p.nconn; i++)
		if (t->conn[i].fd >= 0 && t->conn[i].state >= CONN_VERIFYING)
			conn_flush(&t->conn[i]);
}

static void conn_service(struct nfs_conn *c, short rev)
{
	int err = 0;
	socklen_t sl = sizeof(err);

	if (c->state == CONN_CONNECTING) {
		if (!(rev & (POLLOUT | POLLERR | POLLHUP)))
			return;
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &sl) < 0)
			err = errno;
		if (err) {
			nfs_conn_drop(c, "connect: %s", strerror(err));
			return;
		}
		conn_connected(c);
		return;
	}
	if (rev & (POLLIN | POLLERR | POLLHUP))
		nfs_conn_read(c);
	if (c->fd >= 0 && (rev & POLLOUT))
		conn_flush(c);
}

unsigned int nfs_transport_pollfds(struct nfs_transport *t,
				   struct pollfd *pfd)
{
	unsigned int i, n = 0;

	for (i = 0; i < t->p.nconn; i++) {
		struct nfs_conn *c = &t->conn[i];

		if (c->fd < 0)
			continue;
		pfd[n].fd = c->fd;
		pfd[n].events = c->state == CONN_CONNECTING ? POLLOUT :
				POLLIN | (c->unsent ? POLLOUT : 0);
		pfd[n].revents = 0;
		n++;
	}
	return n;
}

void nfs_transport_service(struct nfs_transport *t, const struct pollfd *pfd,
			   unsigned int n, uint64_t now_ms)
{
	unsigned int i, j;

	t->now_ms = now_ms;
	for (i = 0; i < n; i++) {
		if (!pfd[i].revents)
			continue;
		for (j = 0; j < t->p.nconn; j++)
			if (t->conn[j].fd == pfd[i].fd)
				break;
		if (j < t->p.nconn)
			conn_service(&t->conn[j], pfd[i].revents);
	}
}

/* ---- timers ---- */

static bool attempt_running(const struct nfs_transport *t)
{
	unsigned int i;

	for (i = 0; i < t->p.nconn; i++)
		if (t->conn[i].state == CONN_CONNECTING ||
		    t->conn[i].state == CONN_VERIFYING)
			return true;
	return false;
}

void nfs_transport_tick(struct nfs_transport *t, uint64_t now_ms)
{
	unsigned int i;

	t->now_ms = now_ms;
	for (i = 0; i < t->p.nconn; i++) {
		struct nfs_conn *c = &t->conn[i];

		if (c->state == CONN_CONNECTING &&
		    now_ms - c->attempt_ms >= CONNECT_TIMEOUT_MS)
			nfs_conn_drop(c, "connect timed out");
		else if (c->head && c->state >= CONN_VERIFYING &&
			 now_ms - c->head->sent_ms >= (uint64_t)t->p.hang_ms) {
			STAT_ADD(t->p.stats, conn_timeouts, 1);
			nfs_conn_drop(c, "no reply to a %s in %" PRIu64 " ms",
				      nfs_proc_name(c->head->call.proc),
				      now_ms - c->head->sent_ms);
		}
	}
	if (!t->failed && !attempt_running(t) &&
	    now_ms >= t->next_attempt_ms) {
		for (i = 0; i < t->p.nconn; i++) {
			if (t->conn[i].state == CONN_DOWN) {
				conn_start(&t->conn[i]);
				break;
			}
		}
	}
	if (t->pending)
		fail_pending(t);
}

int nfs_transport_next_ms(const struct nfs_transport *t, uint64_t now_ms)
{
	uint64_t next = UINT64_MAX;
	unsigned int i;
	bool down = false;

	for (i = 0; i < t->p.nconn; i++) {
		const struct nfs_conn *c = &t->conn[i];

		if (c->state == CONN_DOWN)
			down = true;
		else if (c->state == CONN_CONNECTING &&
			 c->attempt_ms + CONNECT_TIMEOUT_MS < next)
			next = c->attempt_ms + CONNECT_TIMEOUT_MS;
		else if (c->head &&
			 c->head->sent_ms + (uint64_t)t->p.hang_ms < next)
			next = c->head->sent_ms + (uint64_t)t->p.hang_ms;
	}
	if (down && !t->failed && t->next_attempt_ms < next)
		next = t->next_attempt_ms;
	if (t->pending) {
		const struct nfs_rpc *rpc;

		for (rpc = t->pending; rpc; rpc = rpc->next)
			if (rpc->deadline_ms && rpc->deadline_ms < next)
				next = rpc->deadline_ms;
		if (t->failed)
			next = now_ms;
	}
	if (next == UINT64_MAX)
		return -1;
	return next > now_ms ? (int)(next - now_ms > 60000 ? 60000 :
				     next - now_ms) : 0;
}

unsigned int nfs_transport_calls(const struct nfs_transport *t)
{
	return t->calls;
}

void nfs_transport_set_min_size(struct nfs_transport *t, uint64_t min_size)
{
	t->p.min_size = min_size;
}

/* ---- life ---- */

struct nfs_transport *nfs_transport_new(const struct nfs_transport_params *p)
{
	struct nfs_transport *t = calloc(1, sizeof(*t));
	unsigned int i;

	if (!t)
		return NULL;
	t->p = *p;
	if (t->p.nconn < 1)
		t->p.nconn = 1;
	if (t->p.nconn > NFS_MAX_CONN)
		t->p.nconn = NFS_MAX_CONN;
	if (p->log)
		t->log = *p->log;
	t->max_record = p->max_io + REPLY_OVERHEAD;
	t->backoff_ms = BACKOFF_MIN_MS;
	/* XIDs of different devices and runs should not collide */
	t->seed = (unsigned int)nfs_now_ms() ^ (unsigned int)(uintptr_t)t;
	t->next_xid = (uint32_t)rand_r(&t->seed) << 16 ^
		      (uint32_t)rand_r(&t->seed);
	for (i = 0; i < t->p.nconn; i++) {
		struct nfs_conn *c = &t->conn[i];

		c->t = t;
		c->index = i;
		c->fd = -1;
		c->in_cap = t->max_record + 4 + 65536;
		c->in = malloc(c->in_cap);
		c->frag = malloc(t->max_record);
		if (!c->in || !c->frag) {
			nfs_transport_free(t);
			return NULL;
		}
	}
	return t;
}

void nfs_transport_free(struct nfs_transport *t)
{
	unsigned int i;

	if (!t)
		return;
	for (i = 0; i < t->p.nconn; i++) {
		if (t->conn[i].fd >= 0)
			close(t->conn[i].fd);
		free(t->conn[i].in);
		free(t->conn[i].frag);
	}
	free(t);
}
