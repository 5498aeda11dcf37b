// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The pool's thread (tnfs_pool.h has the rules): records cut out of the
 * channels go to their wire with an XID of the pool's, replies go back to
 * their channel with the device's XID, on one epoll set.  Only a pool's
 * new channels and its cause are shared with other threads, under its
 * lock; everything else here is the pool thread's.
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
#include <sys/epoll.h>
#include <unistd.h>

#include "tnfs_base.h"
#include "tnfs_peers.h"
#include "tnfs_pool_mux.h"
#include "tnfs_socket.h"
#include "tnfs_xdr4.h"

static void set_events(struct tnfs_pool *pool, int fd, uint32_t *have,
		       uint32_t want, void *obj)
{
	struct epoll_event ev = { .events = want, .data.ptr = obj };

	if (*have == want)
		return;
	epoll_ctl(pool->ep, *have ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev);
	*have = want;
}

/* ---- channels ---- */

static void chan_close(struct chan *ch);

static void chan_events(struct chan *ch)
{
	set_events(ch->pool, ch->fd, &ch->events,
		   EPOLLIN | (ch->out.head ? EPOLLOUT : 0), ch);
}

static void chan_flush(struct chan *ch)
{
	if (tnfs_pool_pq_flush(ch->fd, &ch->out)) {
		chan_close(ch);
		return;
	}
	chan_events(ch);
}

/* A reply for @ch's device. */
static void chan_queue(struct chan *ch, struct pbuf *b)
{
	bool idle = !ch->out.head;

	tnfs_pool_pq_append(&ch->out, b);
	/* the usual case, one reply and room for it: at once */
	if (idle)
		chan_flush(ch);
}

static struct entry **bucket(struct wire *w, uint32_t wxid)
{
	return &w->hash[wxid % XHASH];
}

/* Gone: its calls' replies are thrown away, its unsent ones unsent. */
static void chan_detach(struct chan *ch)
{
	struct wire *w = ch->w;
	struct pbuf **pp, *b, *prev = NULL;
	unsigned int i;

	if (!w)
		return;
	for (i = 0; i < XHASH; i++) {
		struct entry *e;

		for (e = w->hash[i]; e; e = e->next) {
			if (e->ch == ch) {
				e->ch = NULL;
				w->live--;
			}
		}
	}
	/* a fragment written in part must finish: the stream stays framed */
	for (pp = &w->out.head; (b = *pp);) {
		if (b->owner == ch && !b->off) {
			*pp = b->next;
			free(b);
			continue;
		}
		prev = b;
		pp = &b->next;
	}
	w->out.tail = prev;
	if (w->cont == ch)
		w->cont = NULL;
	w->nchans--;
	ch->w = NULL;
}

static void chan_close(struct chan *ch)
{
	struct tnfs_pool *pool = ch->pool;

	if (ch->fd < 0)
		return;
	chan_detach(ch);
	close(ch->fd);		/* out of the epoll set with it */
	ch->fd = -1;
	if (ch->prev)
		ch->prev->next = ch->next;
	else
		pool->chans = ch->next;
	if (ch->next)
		ch->next->prev = ch->prev;
	ch->next = pool->grave;
	ch->prev = NULL;
	pool->grave = ch;
}

static void chan_free(struct chan *ch)
{
	free(ch->rx.cur);
	tnfs_pool_pq_free(&ch->out);
	free(ch);
}

static void wire_flush(struct wire *w);

/* A call from @ch's device: to its wire, under an XID of the pool's. */
static int chan_take(void *obj, struct pbuf *b, char *why, size_t wl)
{
	struct chan *ch = obj;
	struct wire *w = ch->w;
	struct tnfs_pool *pool = ch->pool;
	struct entry *e, **head;

	/* the transport writes each call as one fragment */
	if (!(get_be32(b->d) & LAST_FRAG) || b->len < 8) {
		free(b);
		snprintf(why, wl, "a call not in one fragment");
		return -1;
	}
	e = malloc(sizeof(*e));
	if (!e) {
		free(b);
		snprintf(why, wl, "out of memory");
		return -1;
	}
	e->xid = get_be32(b->d + 4);
	e->wxid = pool->next_xid++;
	e->reply_max = tnfs_xdr4_call_reply_max(b->d + 4, b->len - 4);
	e->ch = ch;
	head = bucket(w, e->wxid);
	e->next = *head;
	*head = e;
	put_be32(b->d + 4, e->wxid);
	if (!w->live)
		w->busy_ms = pool->now_ms;
	w->live++;
	b->owner = ch;
	tnfs_pool_pq_append(&w->out, b);
	return 0;
}

static void chan_event(struct chan *ch, uint32_t events)
{
	char why[160];

	if (ch->fd < 0)
		return;
	if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
		/* the device closed it (or sent what no transport does) */
		if (tnfs_pool_frame_read(ch->fd, &ch->rx,
					 ch->pool->record_max,
					 ch->pool->stage, STAGE, chan_take,
					 NULL, ch, why, sizeof(why)) < 0) {
			chan_close(ch);
			return;
		}
		if (ch->w && ch->w->state == W_UP)
			wire_flush(ch->w);
	}
	if (ch->fd >= 0 && (events & EPOLLOUT))
		chan_flush(ch);
}

/* ---- wires ---- */

static unsigned int jitter(struct tnfs_pool *pool, unsigned int ms)
{
	return ms / 2 + (unsigned int)rand_r(&pool->seed) % (ms / 2 + 1);
}

static void wire_events(struct wire *w)
{
	uint32_t want = w->state == W_CONNECTING ? EPOLLOUT :
			EPOLLIN | (w->out.head ? EPOLLOUT : 0);

	set_events(w->pool, w->fd, &w->events, want, w);
}

static void wire_close(struct wire *w)
{
	struct tnfs_pool *pool = w->pool;
	static const struct linger reset = { .l_onoff = 1, .l_linger = 0 };
	unsigned int i;

	if (w->fd >= 0) {
		/* nothing still queued in the kernel may leave after this */
		setsockopt(w->fd, SOL_SOCKET, SO_LINGER, &reset,
			   sizeof(reset));
		close(w->fd);
		tnfs_peer_release(&pool->p.addr);
		pthread_mutex_lock(&pool->lock);
		pool->wires_open--;
		pthread_mutex_unlock(&pool->lock);
	}
	w->fd = -1;
	w->events = 0;
	free(w->rx.cur);
	w->rx.cur = NULL;
	w->rx.mark_got = 0;
	tnfs_pool_pq_free(&w->out);
	for (i = 0; i < XHASH; i++) {
		struct entry *e, *next;

		for (e = w->hash[i]; e; e = next) {
			next = e->next;
			free(e);
		}
		w->hash[i] = NULL;
	}
	w->live = 0;
	w->probing = false;
	w->continuing = false;
	w->cont = NULL;
	w->state = W_DOWN;
}

/*
 * @w failed: its channels are closed (their devices send again), and the
 * next attempt waits its backoff, afresh only after a wire that worked a
 * while and was not dropped for what the server sent.
 */
static void wire_fail(struct wire *w, bool bad, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void wire_fail(struct wire *w, bool bad, const char *fmt, ...)
{
	struct tnfs_pool *pool = w->pool;
	struct chan *ch, *next;
	char why[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (w->state == W_UP && !bad &&
	    pool->now_ms - w->up_ms >= TNFS_BACKOFF_MAX_MS)
		w->backoff_ms = TNFS_BACKOFF_MIN_MS;
	if (w->nchans) {
		pthread_mutex_lock(&pool->lock);
		snprintf(pool->cause, sizeof(pool->cause), "shared connection "
			 "%u to the server: %s", w->index, why);
		pthread_mutex_unlock(&pool->lock);
	}
	wire_close(w);
	for (ch = pool->chans; ch; ch = next) {
		next = ch->next;
		if (ch->w == w)
			chan_close(ch);
	}
	w->next_attempt_ms = pool->now_ms + jitter(pool, w->backoff_ms);
	w->backoff_ms = w->backoff_ms * 3 / 2 > TNFS_BACKOFF_MAX_MS ?
			TNFS_BACKOFF_MAX_MS : w->backoff_ms * 3 / 2;
}

static void wire_flush(struct wire *w)
{
	int ret = tnfs_pool_pq_flush(w->fd, &w->out);

	if (ret) {
		wire_fail(w, false, "send: %s", strerror(-ret));
		return;
	}
	wire_events(w);
}

static void wire_start(struct wire *w)
{
	struct tnfs_pool *pool = w->pool;
	int fd, one = 1;

	w->attempt_ms = pool->now_ms;
	fd = socket(pool->p.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0);
	if (fd < 0) {
		wire_fail(w, false, "socket: %s", strerror(errno));
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (pool->p.resvport)
		tnfs_bind_reserved(fd, pool->p.addr.ss_family, &pool->seed);
	w->fd = fd;
	tnfs_peer_hold(&pool->p.addr);
	pthread_mutex_lock(&pool->lock);
	pool->wires_open++;
	pthread_mutex_unlock(&pool->lock);
	w->state = W_CONNECTING;
	if (connect(fd, (struct sockaddr *)&pool->p.addr, pool->p.addr_len) &&
	    errno != EINPROGRESS) {
		wire_fail(w, false, "connect: %s", strerror(errno));
		return;
	}
	wire_events(w);
}

/* Where the entry of @wxid is linked (*result NULL: no such call). */
static struct entry **entry_of(struct wire *w, uint32_t wxid)
{
	struct entry **pp = bucket(w, wxid);

	while (*pp && (*pp)->wxid != wxid)
		pp = &(*pp)->next;
	return pp;
}

static void answers_none(char *why, size_t wl, uint32_t wxid, uint32_t len)
{
	snprintf(why, wl, "a reply (XID %08" PRIx32 ", %" PRIu32 " bytes) "
		 "that answers no call", wxid, len);
}

/* A reply fragment from the server: to the channel whose call it is. */
static int wire_take(void *obj, struct pbuf *b, char *why, size_t wl)
{
	struct wire *w = obj;
	bool last = get_be32(b->d) & LAST_FRAG;
	struct entry *e, **pp;
	struct chan *ch;
	uint32_t wxid;

	if (w->continuing) {
		ch = w->cont;
		w->continuing = !last;
		if (last)
			w->cont = NULL;
		if (ch)
			chan_queue(ch, b);
		else
			free(b);
		return 0;
	}
	if (b->len < 8) {
		snprintf(why, wl, "a reply of %" PRIu32 " bytes, too short for "
			 "an XID", b->len - 4);
		free(b);
		return -1;
	}
	wxid = get_be32(b->d + 4);
	if (w->probing && wxid == w->probe_xid) {
		w->probing = false;
		w->continuing = !last;
		free(b);
		return 0;
	}
	pp = entry_of(w, wxid);
	e = *pp;
	if (!e) {
		answers_none(why, wl, wxid, b->len - 4);
		free(b);
		return -1;
	}
	*pp = e->next;
	ch = e->ch;
	put_be32(b->d + 4, e->xid);
	free(e);
	if (ch)
		w->live--;
	if (!last) {
		w->continuing = true;
		w->cont = ch;
	}
	if (ch)
		chan_queue(ch, b);
	else
		free(b);	/* its device gave it up */
	return 0;
}

/*
 * The head of a reply fragment still coming: a record longer than any
 * reply to its call can be, or answering none, is garbled now; its end
 * may never come (the server's later replies would only fill it), and
 * the stream is out of step.  Its calls go again on another wire.
 */
static int wire_head(void *obj, const struct pbuf *b, char *why, size_t wl)
{
	struct wire *w = obj;
	uint32_t wxid = get_be32(b->d + 4), flen = b->len - 4, max;
	struct entry *e;

	if (w->continuing)
		return 0;		/* not a record's first fragment */
	if (w->probing && wxid == w->probe_xid) {
		max = tnfs_xdr_reply_max(TNFS_XDR_NULL, 0);
	} else {
		e = *entry_of(w, wxid);
		if (!e) {
			answers_none(why, wl, wxid, flen);
			return -1;
		}
		max = e->reply_max;
	}
	if (!max || flen <= max)
		return 0;
	snprintf(why, wl, "a record of %" PRIu32 " bytes, where the longest "
		 "it can be is %" PRIu32, flen, max);
	return -1;
}

/* A NULL call: anything back proves the server there. */
static void wire_probe(struct wire *w)
{
	static const uint32_t body[] = {
		0, 0, 2, 100003, 3, 0, 0, 0, 0, 0,	/* xid set below */
	};
	struct pbuf *b = malloc(sizeof(*b) + 4 + sizeof(body));
	unsigned int i;

	if (!b)
		return;
	b->owner = NULL;
	b->off = 0;
	b->len = 4 + sizeof(body);
	put_be32(b->d, LAST_FRAG | sizeof(body));
	for (i = 0; i < sizeof(body) / 4; i++)
		put_be32(b->d + 4 + 4 * i, body[i]);
	w->probe_xid = w->pool->next_xid++;
	put_be32(b->d + 4, w->probe_xid);
	w->probing = true;
	tnfs_pool_pq_append(&w->out, b);
	wire_flush(w);
}

static void wire_event(struct wire *w, uint32_t events)
{
	struct tnfs_pool *pool = w->pool;
	char why[160];
	int err = 0, got;
	socklen_t sl = sizeof(err);

	if (w->fd < 0)
		return;
	if (w->state == W_CONNECTING) {
		if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return;
		if (getsockopt(w->fd, SOL_SOCKET, SO_ERROR, &err, &sl) < 0)
			err = errno;
		if (err) {
			wire_fail(w, false, "connect: %s", strerror(err));
			return;
		}
		w->state = W_UP;
		w->up_ms = w->rx_ms = w->busy_ms = pool->now_ms;
		wire_flush(w);
		return;
	}
	if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
		got = tnfs_pool_frame_read(w->fd, &w->rx, pool->record_max,
					   pool->stage, STAGE, wire_take,
					   wire_head, w, why, sizeof(why));
		if (got < 0) {
			wire_fail(w, got == -2, "%s", why);
			return;
		}
		if (got)
			w->rx_ms = pool->now_ms;
	}
	if (w->fd >= 0 && (events & EPOLLOUT))
		wire_flush(w);
}

/*
 * A wire for a new channel: spread over nconn wires, the least busy one
 * that is up or on its way; one not yet open is opened (or waits for its
 * backoff) rather than crowding one that is.
 */
static struct wire *pick_wire(struct tnfs_pool *pool)
{
	struct wire *best = NULL, *down = NULL;
	unsigned int i;

	for (i = 0; i < pool->nconn; i++) {
		struct wire *w = &pool->wire[i];

		if (w->state == W_DOWN) {
			if (!down || w->next_attempt_ms < down->next_attempt_ms)
				down = w;
		} else if (!best || w->nchans < best->nchans) {
			best = w;
		}
	}
	if (down && (!best || best->nchans)) {
		if (pool->now_ms >= down->next_attempt_ms || !best)
			return down;
	}
	return best;
}

static void take_incoming(struct tnfs_pool *pool)
{
	struct chan *ch, *next;
	struct wire *w;

	pthread_mutex_lock(&pool->lock);
	ch = pool->incoming;
	pool->incoming = NULL;
	pool->nconn = pool->p.nconn;
	pool->record_max = pool->p.record_max;
	pool->busy_poll_us = pool->p.busy_poll_us;
	pthread_mutex_unlock(&pool->lock);
	for (; ch; ch = next) {
		next = ch->next;
		ch->prev = NULL;
		ch->next = pool->chans;
		if (pool->chans)
			pool->chans->prev = ch;
		pool->chans = ch;
		chan_events(ch);
		w = pick_wire(pool);
		ch->w = w;
		w->nchans++;
		/* a wire down is started by the timers, before the next wait */
	}
}

/* ---- timers ---- */

static void earliest(uint64_t *next, uint64_t at)
{
	if (at < *next)
		*next = at;
}

/* Connects timing out, silence, probes, attempts due; when next. */
static uint64_t timers(struct tnfs_pool *pool)
{
	uint64_t next = UINT64_MAX, now = pool->now_ms, quiet;
	unsigned int i;

	for (i = 0; i < TNFS_MAX_CONN; i++) {
		struct wire *w = &pool->wire[i];

		switch (w->state) {
		case W_CONNECTING:
			if (now - w->attempt_ms >= CONNECT_TIMEOUT_MS)
				wire_fail(w, false, "connect timed out");
			else
				earliest(&next, w->attempt_ms +
					 CONNECT_TIMEOUT_MS);
			break;
		case W_UP:
			if (!w->nchans) {
				/* no device left on it */
				wire_close(w);
				break;
			}
			if (!w->live)
				break;
			quiet = now - (w->rx_ms > w->busy_ms ? w->rx_ms :
				       w->busy_ms);
			if (quiet >= TNFS_SILENCE_MS) {
				wire_fail(w, false, "nothing from the server "
					  "in %" PRIu64 " ms with %u calls "
					  "waiting, a NULL call unanswered",
					  quiet, w->live);
				break;
			}
			if (quiet >= TNFS_PROBE_MS && !w->probing)
				wire_probe(w);
			earliest(&next, now - quiet + (w->probing ?
				 TNFS_SILENCE_MS : TNFS_PROBE_MS));
			break;
		case W_DOWN:
			if (!w->nchans)
				break;
			if (now >= w->next_attempt_ms)
				wire_start(w);
			else
				earliest(&next, w->next_attempt_ms);
			break;
		}
	}
	return next;
}

/* ---- the thread ---- */

static void free_grave(struct tnfs_pool *pool)
{
	struct chan *ch, *next;

	for (ch = pool->grave; ch; ch = next) {
		next = ch->next;
		chan_free(ch);
	}
	pool->grave = NULL;
}

static bool woken(struct tnfs_pool *pool)
{
	uint64_t v;
	bool stop;

	if (read(pool->wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return false;
	take_incoming(pool);
	pthread_mutex_lock(&pool->lock);
	stop = pool->stopping;
	pthread_mutex_unlock(&pool->lock);
	return stop;
}

/*
 * busy_poll=: calls in flight, or traffic within the last busy_poll_us,
 * and the thread looks without sleeping for that long; what it finds,
 * or 0.  The next call of a device at queue depth 1 comes microseconds
 * after its reply went through, and a sleeping thread takes longer to
 * wake than that.
 */
static int spin(struct tnfs_pool *pool, struct epoll_event *ev)
{
	uint64_t now = tnfs_now_us(), until;
	unsigned int i, live = 0;
	int n;

	if (!pool->busy_poll_us)
		return 0;
	for (i = 0; i < TNFS_MAX_CONN; i++)
		live += pool->wire[i].live;
	if (!live && now - pool->active_us >= pool->busy_poll_us)
		return 0;
	until = now + pool->busy_poll_us;
	do {
		n = epoll_wait(pool->ep, ev, EVENTS, 0);
		if (n > 0) {
			pool->active_us = tnfs_now_us();
			return n;
		}
	} while (tnfs_now_us() < until);
	return 0;
}

void *tnfs_pool_thread(void *arg)
{
	struct tnfs_pool *pool = arg;
	struct epoll_event ev[EVENTS];
	uint64_t next;
	int n, i, ms;

	for (;;) {
		pool->now_ms = tnfs_now_ms();
		next = timers(pool);
		free_grave(pool);
		ms = next == UINT64_MAX ? -1 : next <= pool->now_ms ? 0 :
		     next - pool->now_ms > 60000 ? 60000 :
		     (int)(next - pool->now_ms);
		n = spin(pool, ev);
		if (n <= 0)
			n = epoll_wait(pool->ep, ev, EVENTS, ms);
		pool->now_ms = tnfs_now_ms();
		if (n > 0 && pool->busy_poll_us)
			pool->active_us = tnfs_now_us();
		for (i = 0; i < n; i++) {
			enum ev_kind *kind = ev[i].data.ptr;

			if (*kind == EV_WAKE) {
				if (woken(pool))
					return NULL;
			} else if (*kind == EV_WIRE) {
				wire_event(ev[i].data.ptr, ev[i].events);
			} else {
				chan_event(ev[i].data.ptr, ev[i].events);
			}
		}
		free_grave(pool);
	}
	return NULL;
}

void tnfs_pool_close_all(struct tnfs_pool *pool)
{
	struct chan *ch, *next;
	unsigned int i;

	for (ch = pool->chans; ch; ch = next) {
		next = ch->next;
		chan_close(ch);
	}
	for (ch = pool->incoming; ch; ch = next) {
		next = ch->next;
		close(ch->fd);
		chan_free(ch);
	}
	pool->incoming = NULL;
	free_grave(pool);
	for (i = 0; i < TNFS_MAX_CONN; i++)
		wire_close(&pool->wire[i]);
}
