// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The transport's API (tnfs_transport.h): what the I/O path queues, what
 * the engine thread polls, and the timers.  Everything here runs on the
 * engine thread.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "tnfs_status.h"
#include "tnfs_transport_priv.h"

#define CONNECT_TIMEOUT_MS	5000

void tnfs_transport_send(struct tnfs_transport *t, struct tnfs_rpc *rpc)
{
	uint64_t n;

	t->calls++;
	n = STAT_ADD(&t->stats, rpcs_in_flight, 1);
	STAT_PEAK(&t->stats, peak_rpcs_in_flight, n);
	STAT_ADD(&t->stats, rpcs, 1);
	rpc->conn = NULL;
	rpc->resend = false;
	rpc->internal = false;
	rpc->slot = -1;
	rpc->delays = 0;
	tnfs_rpc_list_append(&t->pending, &t->pending_tail, rpc);
}

static void conn_flush(struct tnfs_conn *c)
{
	int ret = tnfs_conn_flush(c);

	if (ret)
		tnfs_conn_drop(c, "send: %s", strerror(-ret));
}

void tnfs_transport_flush(struct tnfs_transport *t)
{
	unsigned int i;

	tnfs_dispatch_pending(t);
	for (i = 0; i < t->p.nconn; i++)
		if (t->conn[i].fd >= 0 && t->conn[i].state >= CONN_VERIFYING)
			conn_flush(&t->conn[i]);
}

static void conn_service(struct tnfs_conn *c, short rev)
{
	char why[192];
	int err = 0, ret;
	socklen_t sl = sizeof(err);

	if (c->state == CONN_CONNECTING) {
		if (!(rev & (POLLOUT | POLLERR | POLLHUP)))
			return;
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &sl) < 0)
			err = errno;
		if (err) {
			tnfs_conn_drop(c, "connect: %s", strerror(err));
			return;
		}
		tnfs_conn_connected(c);
		return;
	}
	if (rev & (POLLIN | POLLERR | POLLHUP)) {
		c->t->rx_us = tnfs_now_us();
		ret = tnfs_conn_read(c, why, sizeof(why));
		/* a channel the pool closed: the shared connection's reason */
		if (ret == -1 && c->t->pool)
			tnfs_pool_cause(c->t->pool, why, sizeof(why));
		if (ret == -1) {
			tnfs_conn_drop(c, "%s", why);
			return;
		}
		if (ret == -2) {
			tnfs_conn_drop_bad(c, "%s", why);
			return;
		}
	}
	if (c->fd >= 0 && (rev & POLLOUT))
		conn_flush(c);
}

unsigned int tnfs_transport_pollfds(struct tnfs_transport *t,
				    struct pollfd *pfd)
{
	unsigned int i, n = 0;

	for (i = 0; i < t->p.nconn; i++) {
		struct tnfs_conn *c = &t->conn[i];

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

void tnfs_transport_set_now(struct tnfs_transport *t, uint64_t now_ms)
{
	t->now_ms = now_ms;
}

void tnfs_transport_service(struct tnfs_transport *t, const struct pollfd *pfd,
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

static bool attempt_running(const struct tnfs_transport *t)
{
	unsigned int i;

	for (i = 0; i < t->p.nconn; i++)
		if (t->conn[i].state == CONN_CONNECTING ||
		    t->conn[i].state == CONN_VERIFYING)
			return true;
	return false;
}

/* How long a connection with calls waiting may stay silent. */
static uint64_t silence_ms(const struct tnfs_transport *t)
{
	uint64_t ms = t->p.silence_ms ? t->p.silence_ms : TNFS_SILENCE_MS;

	/* a server that was this slow to answer may be so again */
	if (2 * t->slow_ms > ms)
		ms = 2 * t->slow_ms;
	return ms < TNFS_SILENCE_MAX_MS ? ms : TNFS_SILENCE_MAX_MS;
}

/* Since when @c, carrying calls, has had nothing from the server. */
static uint64_t silent_since(const struct tnfs_conn *c)
{
	return c->rx_ms > c->busy_ms ? c->rx_ms : c->busy_ms;
}

/* Dead (nothing back for too long), or worth a NULL probe? */
static void check_alive(struct tnfs_conn *c, uint64_t now_ms)
{
	struct tnfs_transport *t = c->t;
	uint64_t quiet;

	if (!c->head || c->state < CONN_VERIFYING)
		return;
	quiet = now_ms - silent_since(c);
	if (quiet >= silence_ms(t)) {
		STAT_ADD(&t->stats, conn_timeouts, 1);
		tnfs_conn_drop(c, "nothing from the server in %" PRIu64 " ms "
			       "with %u calls waiting%s", quiet, c->calls,
			       c->probing ? ", a NULL call unanswered" : "");
		return;
	}
	if (quiet >= TNFS_PROBE_MS && c->state == CONN_UP)
		tnfs_conn_probe(c);
}

/* Calls on connections past their deadline (the earliest is known). */
static void expire_carried(struct tnfs_transport *t)
{
	uint64_t next = 0;
	unsigned int i;
	int64_t left;

	t->carried_deadline_ms = 0;
	for (i = 0; i < t->p.nconn; i++) {
		struct tnfs_conn *c = &t->conn[i];

		if (!c->head)
			continue;
		left = tnfs_conn_expire(c);
		if (left < 0) {
			tnfs_conn_drop(c, "a call past its deadline was half "
				       "sent");
			continue;
		}
		if (left && (!next || (uint64_t)left < next))
			next = (uint64_t)left;
	}
	/* sends made by the callbacks lowered it meanwhile, perhaps */
	if (next && (!t->carried_deadline_ms || next < t->carried_deadline_ms))
		t->carried_deadline_ms = next;
}

/* The next connection attempt may start then (backoff, and the cap). */
static uint64_t attempt_allowed_ms(const struct tnfs_transport *t)
{
	/* the oldest of the last TNFS_ATTEMPTS_MAX attempts */
	uint64_t oldest = t->attempt_at[t->attempt_i];
	uint64_t at = t->next_attempt_ms;

	if (oldest && oldest + TNFS_ATTEMPTS_WINDOW_MS > at)
		at = oldest + TNFS_ATTEMPTS_WINDOW_MS;
	return at;
}

/*
 * Is a connection wanted?  Always, but after a refused GETATTR check
 * only for calls waiting: an idle device does not knock every second on
 * a server that turned it away.
 */
static bool want_conn(const struct tnfs_transport *t)
{
	return !t->failed && !t->fenced && (t->pending || !t->refused);
}

static void start_attempt(struct tnfs_transport *t, uint64_t now_ms)
{
	unsigned int i;

	if (!want_conn(t) || attempt_running(t) ||
	    now_ms < attempt_allowed_ms(t))
		return;
	for (i = 0; i < t->p.nconn; i++) {
		if (t->conn[i].state == CONN_DOWN) {
			tnfs_conn_start(&t->conn[i]);
			return;
		}
	}
}

void tnfs_transport_tick(struct tnfs_transport *t, uint64_t now_ms)
{
	unsigned int i;

	t->now_ms = now_ms;
	if (t->stale_ms && !t->p.stale)
		tnfs_fail_transport(t, TNFS_NFS3ERR_STALE, "the backing file "
				    "was removed or replaced on the server");
	for (i = 0; i < t->p.nconn; i++) {
		struct tnfs_conn *c = &t->conn[i];

		if (c->state == CONN_CONNECTING &&
		    now_ms - c->attempt_ms >= CONNECT_TIMEOUT_MS)
			tnfs_conn_drop(c, "connect timed out");
		else
			check_alive(c, now_ms);
	}
	if (t->carried_deadline_ms && now_ms >= t->carried_deadline_ms)
		expire_carried(t);
	if (t->recheck) {
		for (i = 0; i < t->p.nconn; i++) {
			if (t->conn[i].state == CONN_UP) {
				tnfs_conn_recheck(&t->conn[i]);
				t->recheck = false;
				break;
			}
		}
	}
	if (t->sess)
		tnfs_session_tick(t);
	start_attempt(t, now_ms);
	if (t->pending)
		tnfs_fail_pending(t);
	/* the slowest reply is forgotten by halves */
	if (now_ms - t->slow_decay_ms >= 60000) {
		t->slow_decay_ms = now_ms;
		t->slow_ms /= 2;
	}
}

static void earliest(uint64_t *next, uint64_t at)
{
	if (at && at < *next)
		*next = at;
}

int tnfs_transport_next_ms(const struct tnfs_transport *t, uint64_t now_ms)
{
	uint64_t next = UINT64_MAX;
	unsigned int i;
	bool down = false;

	for (i = 0; i < t->p.nconn; i++) {
		const struct tnfs_conn *c = &t->conn[i];

		if (c->state == CONN_DOWN)
			down = true;
		else if (c->state == CONN_CONNECTING)
			earliest(&next, c->attempt_ms + CONNECT_TIMEOUT_MS);
		else if (c->head && c->state == CONN_UP && !c->probing)
			earliest(&next, silent_since(c) + TNFS_PROBE_MS);
		else if (c->head)
			earliest(&next, silent_since(c) + silence_ms(t));
	}
	if (down && want_conn(t))
		earliest(&next, attempt_allowed_ms(t));
	if (t->sess)
		tnfs_session_next(t, &next);
	earliest(&next, t->carried_deadline_ms);
	if (t->recheck || (t->stale_ms && !t->p.stale))
		next = now_ms;
	if (t->pending) {
		const struct tnfs_rpc *rpc;

		for (rpc = t->pending; rpc; rpc = rpc->next)
			earliest(&next, rpc->deadline_ms);
		if (t->failed || t->fenced || t->refuse_now)
			next = now_ms;
	}
	if (next == UINT64_MAX)
		return -1;
	return next > now_ms ? (int)(next - now_ms > 60000 ? 60000 :
				     next - now_ms) : 0;
}

unsigned int tnfs_transport_calls(const struct tnfs_transport *t)
{
	return t->calls;
}

uint64_t tnfs_transport_rx_us(const struct tnfs_transport *t)
{
	return t->rx_us;
}

bool tnfs_transport_quiet(const struct tnfs_transport *t)
{
	unsigned int i;

	if (t->pending || t->failed || t->stale_ms ||
	    (t->sess && t->sess->delayed))
		return false;
	for (i = 0; i < t->p.nconn; i++)
		if (t->conn[i].unsent)
			return false;
	return true;
}

bool tnfs_transport_mid_reply(const struct tnfs_transport *t)
{
	unsigned int i;

	for (i = 0; i < t->p.nconn; i++)
		if (t->conn[i].dx)
			return true;
	return false;
}

void tnfs_transport_get_stats(const struct tnfs_transport *t,
			      struct tnfs_transport_stats *s)
{
	tnfs_stats_copy(s, &t->stats, sizeof(*s));
}

void tnfs_transport_revalidate(struct tnfs_transport *t,
			       const struct tnfs_xdr_fh *fh, uint64_t fileid,
			       const char *err)
{
	bool same_fh;
	unsigned int i;

	if (!t->stale_ms || t->failed)
		return;
	if (fileid && fileid != t->p.fileid) {
		tnfs_fail_transport(t, TNFS_NFS3ERR_STALE, "the backing file "
				    "was replaced on the server: its path now "
				    "names another file (fileid %" PRIu64
				    ", was %" PRIu64 ")", fileid, t->p.fileid);
		return;
	}
	if (!fileid && t->now_ms - t->stale_ms >= t->p.stale_grace_ms) {
		tnfs_fail_transport(t, TNFS_NFS3ERR_STALE, "the backing file "
				    "was removed or replaced on the server "
				    "(stale handle for %" PRIu64 " ms; %s)",
				    t->now_ms - t->stale_ms, err ? err : "");
		return;
	}
	if (!fileid) {
		/* not (yet) there again: the owner asks again later */
		t->p.stale(t->p.stale_arg);
		return;
	}
	/*
	 * The path names our file; the handle must still answer for it
	 * (a server may find the file and yet call its handle stale, for
	 * as long as it likes): a GETATTR through it ends the episode.
	 */
	t->stale_confirm = true;
	same_fh = fh->len == t->p.fh.len &&
		  !memcmp(fh->data, t->p.fh.data, fh->len);
	if (same_fh) {
		t->recheck = true;
		return;
	}
	tnfs_log(&t->log, TNFS_LOG_INFO, "%s: the file has a new handle",
		 t->p.name);
	/* v4: the open was of the old handle */
	if (t->sess)
		t->sess->have_open = false;
	t->p.fh = *fh;
	tnfs_xdr_prepare(&t->auth, &t->p.cred, &t->p.fh);
	/* each proves the new handle reaches the file before use */
	for (i = 0; i < t->p.nconn; i++)
		if (t->conn[i].fd >= 0)
			tnfs_conn_drop(&t->conn[i], "the handle changed");
}

void tnfs_transport_fence(struct tnfs_transport *t, int status)
{
	static const struct linger reset = { .l_onoff = 1, .l_linger = 0 };
	unsigned int i;

	t->fenced = status;
	if (!status)
		return;
	for (i = 0; i < t->p.nconn; i++) {
		struct tnfs_conn *c = &t->conn[i];

		if (c->fd < 0)
			continue;
		/* closed with a reset: nothing still queued goes out */
		setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &reset,
			   sizeof(reset));
		tnfs_conn_drop(c, "fenced: %s", tnfs_status_name(status));
	}
	tnfs_fail_pending(t);
}

void tnfs_transport_shrank(struct tnfs_transport *t, uint64_t size,
			   bool final)
{
	if (final)
		tnfs_fail_transport(t, TNFS_NFS3ERR_STALE, "the backing file "
				    "shrank to %" PRIu64 " bytes, below the "
				    "device's end at %" PRIu64, size,
				    t->p.min_size);
	else
		t->recheck = true;
}

void tnfs_transport_set_min_size(struct tnfs_transport *t, uint64_t min_size)
{
	t->p.min_size = min_size;
}

/* ---- life ---- */

bool tnfs_transport_shutdown(struct tnfs_transport *t, uint64_t now_ms)
{
	t->now_ms = now_ms;
	return !t->sess || tnfs_session_shutdown(t);
}

struct tnfs_transport *
tnfs_transport_new(const struct tnfs_transport_params *p)
{
	struct tnfs_transport *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->p = *p;
	if (t->p.nconn < 1)
		t->p.nconn = 1;
	if (t->p.nconn > TNFS_MAX_CONN)
		t->p.nconn = TNFS_MAX_CONN;
	if (p->log)
		t->log = *p->log;
	tnfs_xdr_prepare(&t->auth, &t->p.cred, &t->p.fh);
	/* XIDs of different devices and runs should not collide */
	t->seed = (unsigned int)tnfs_now_ms() ^ (unsigned int)(uintptr_t)t;
	t->next_xid = (uint32_t)rand_r(&t->seed) << 16 ^
		      (uint32_t)rand_r(&t->seed);
	if (tnfs_conns_init(t)) {
		tnfs_transport_free(t);
		return NULL;
	}
	return t;
}

void tnfs_transport_free(struct tnfs_transport *t)
{
	if (!t)
		return;
	tnfs_conns_free(t);
	free(t);
}
