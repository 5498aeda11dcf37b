// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * nfs_fault_proxy: connection pairs (client and upstream), cutting them,
 * reading records off either side and writing the queues out.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proxy.h"

/* ---- queues ---- */

void queue_push(struct queue *q, struct msg *m)
{
	if (q->tail)
		q->tail->next = m;
	else
		q->head = m;
	q->tail = m;
	q->bytes += m->len;
}

static void queue_pop(struct queue *q)
{
	struct msg *m = q->head;

	q->head = m->next;
	if (!q->head)
		q->tail = NULL;
	q->bytes -= m->len;
	q->off = 0;
	free(m);
}

/* @m stops after @bytes (clamped to its length): cut or stall there */
void msg_stop(struct msg *m, enum stop stop, unsigned long bytes,
	      unsigned int ms)
{
	m->stop = stop;
	m->stop_at = bytes < m->len ? bytes : m->len;
	m->stall_ms = ms;
}

static void queue_clear(struct queue *q)
{
	while (q->head)
		queue_pop(q);
}

/*
 * delay-reply: @m waits in the pair's held list, in due order, until @ms
 * from now; replies that are not held overtake it on the way to the
 * client (see release_held()).
 */
void hold_reply(struct pair *c, struct msg *m, unsigned int ms)
{
	struct queue *h = &c->held;
	struct msg **pp = &h->head;

	m->due = now_ms() + ms;
	while (*pp && (*pp)->due <= m->due)
		pp = &(*pp)->next;
	m->next = *pp;
	*pp = m;
	if (!m->next)
		h->tail = m;
	h->bytes += m->len;
}

/*
 * The held replies due by @until join the queue to the client, as if
 * they had just come from upstream (a "delay" then adds to the hold).
 * Returns when the next one is due, UINT64_MAX if none is held.
 */
uint64_t release_held(struct proxy *p, struct pair *c, uint64_t until)
{
	struct queue *h = &c->held;
	struct msg *m;

	while ((m = h->head) && m->due <= until) {
		h->head = m->next;
		if (!h->head)
			h->tail = NULL;
		h->bytes -= m->len;
		m->next = NULL;
		m->due = p->delay_ms ? now_ms() + p->delay_ms : 0;
		queue_push(&c->to_client, m);
	}
	return m ? m->due : UINT64_MAX;
}

/* ---- connections ---- */

static void set_nodelay(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

void pair_free(struct proxy *p, struct pair *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		p->pairs = c->next;
	if (c->next)
		c->next->prev = c->prev;
	p->npairs--;
	close(c->cfd);
	close(c->ufd);
	free(c->pend);
	free(c->from_client.p);
	free(c->from_upstream.p);
	queue_clear(&c->to_client);
	queue_clear(&c->to_upstream);
	queue_clear(&c->held);
	free(c);
}

void pair_kill(struct proxy *p, struct pair *c, const char *why)
{
	if (c->dead)
		return;
	vlog(p, "conn %u: closed (%s)", c->id, why);
	c->dead = true;
}

void accept_client(struct proxy *p)
{
	struct pair *c;
	int cfd, ufd;

	cfd = accept4(p->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (cfd < 0)
		return;
	ufd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (ufd < 0)
		goto err_cfd;
	c = calloc(1, sizeof(*c));
	if (!c)
		goto err_ufd;
	set_nodelay(cfd);
	set_nodelay(ufd);
	if (connect(ufd, (struct sockaddr *)&p->upstream,
		    sizeof(p->upstream)) == 0) {
		c->connecting = false;
	} else if (errno == EINPROGRESS) {
		c->connecting = true;
	} else {
		vlog(p, "upstream connect: %s", strerror(errno));
		goto err_free;
	}
	c->id = ++p->next_id;
	c->cfd = cfd;
	c->ufd = ufd;
	c->next = p->pairs;
	if (p->pairs)
		p->pairs->prev = c;
	p->pairs = c;
	p->npairs++;
	p->n.accepted++;
	vlog(p, "conn %u: accepted", c->id);
	return;

err_free:
	free(c);
err_ufd:
	close(ufd);
err_cfd:
	close(cfd);
}

unsigned int cut_all(struct proxy *p, const char *why)
{
	unsigned int n = 0;
	struct pair *c;

	for (c = p->pairs; c; c = c->next) {
		if (!c->dead)
			n++;
		pair_kill(p, c, why);
	}
	return n;
}

/*
 * What a killed server's kernel does to both connections: with a zero
 * linger close() sends RST, not FIN, and the peer's next recv() fails
 * with ECONNRESET.
 */
static void pair_reset(struct proxy *p, struct pair *c)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	setsockopt(c->cfd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	setsockopt(c->ufd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	p->n.fired++;
	pair_kill(p, c, "reset by a cut fault");
}

/* bytes sent on @fd the peer has not acknowledged; 0 if unknown */
static int unacked(int fd)
{
	int n = 0;

	if (ioctl(fd, SIOCOUTQ, &n))
		return 0;
	return n;
}

/*
 * A RST throws away what our kernel still holds for the peer, so the cut
 * waits (a bounded time) until the bytes the fault lets through on @fd
 * are acknowledged: then the peer has exactly those.  Meanwhile nothing
 * more moves on this pair.
 */
static void pair_start_reset(struct proxy *p, struct pair *c, int fd)
{
	c->resetting = true;
	c->drain_fd = fd;
	c->reset_by = now_ms() + RESET_DRAIN_MS;
	if (!unacked(fd))
		pair_reset(p, c);
}

/* reset the pairs whose cut has drained; true if any still waits */
bool finish_resets(struct proxy *p)
{
	uint64_t now = now_ms();
	bool waiting = false;
	struct pair *c;

	for (c = p->pairs; c; c = c->next) {
		if (c->dead || !c->resetting)
			continue;
		if (!unacked(c->drain_fd) || now >= c->reset_by)
			pair_reset(p, c);
		else
			waiting = true;
	}
	return waiting;
}

void reap_pairs(struct proxy *p)
{
	struct pair *c = p->pairs, *next;

	for (; c; c = next) {
		next = c->next;
		if (c->dead)
			pair_free(p, c);
	}
}

/* ---- reading records, writing queues ---- */

/*
 * Cut every complete record out of @in: a run of fragments ending with
 * the one that has the last-fragment bit, joined into one message.
 * Returns false when the stream is beyond repair.
 */
static bool take_records(struct proxy *p, struct pair *c, bool from_client)
{
	struct inbuf *in = from_client ? &c->from_client : &c->from_upstream;
	size_t start = 0;
	bool ok = true;

	for (;;) {
		size_t pos = start, total = 0, at;
		uint32_t hdr = 0, flen;
		struct msg *m;

		while (!(hdr & LAST_FRAG)) {
			if (in->len - pos < 4)
				goto incomplete;
			hdr = get_be32(in->p + pos);
			flen = hdr & ~LAST_FRAG;
			if (flen > MAX_RECORD - total) {
				vlog(p, "conn %u: record over %u bytes",
				     c->id, MAX_RECORD);
				ok = false;
				goto incomplete;
			}
			if (in->len - pos - 4 < flen)
				goto incomplete;
			total += flen;
			pos += 4 + flen;
		}
		m = msg_new(total);
		if (!m) {
			ok = false;
			goto incomplete;
		}
		for (at = 4; start < pos; start += 4 + flen) {
			flen = get_be32(in->p + start) & ~LAST_FRAG;
			memcpy(m->data + at, in->p + start + 4, flen);
			at += flen;
		}
		if (from_client)
			on_call(p, c, m);
		else
			on_reply(p, c, m);
	}
incomplete:
	if (start) {
		memmove(in->p, in->p + start, in->len - start);
		in->len -= start;
	}
	return ok;
}

void do_read(struct proxy *p, struct pair *c, bool from_client)
{
	struct inbuf *in = from_client ? &c->from_client : &c->from_upstream;
	int fd = from_client ? c->cfd : c->ufd;
	static unsigned char sink[READ_CHUNK];
	unsigned char *dst = sink;
	ssize_t r;

	if (!p->blackhole_until) {
		if (in->cap - in->len < READ_CHUNK) {
			size_t cap = in->len + READ_CHUNK;
			unsigned char *np = realloc(in->p, cap);

			if (!np) {
				pair_kill(p, c, "out of memory");
				return;
			}
			in->p = np;
			in->cap = cap;
		}
		dst = in->p + in->len;
	}
	r = recv(fd, dst, READ_CHUNK, 0);
	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (r <= 0) {
		pair_kill(p, c, r ? strerror(errno) :
			  from_client ? "client hung up" :
					"upstream hung up");
		return;
	}
	if (p->blackhole_until)
		return;		/* dropped on the floor */
	in->len += (size_t)r;
	if (!take_records(p, c, from_client))
		pair_kill(p, c, "bad record");
}

/* the message at the head of @q has reached its stop */
static bool do_stop(struct proxy *p, struct pair *c, struct queue *q,
		    int fd, uint64_t now)
{
	struct msg *m = q->head;

	if (m->stop == STOP_CUT) {
		vlog(p, "conn %u: cut after %zu of %zu bytes", c->id, q->off,
		     m->len);
		pair_start_reset(p, c, fd);
		return false;
	}
	vlog(p, "conn %u: stall-reply after %zu of %zu bytes for %u ms",
	     c->id, q->off, m->len, m->stall_ms);
	q->hold_until = now + m->stall_ms;
	m->stop = STOP_NONE;
	p->n.fired++;
	return true;
}

/*
 * empty-fragments: @n bytes of empty fragments (record marks 0x00000000)
 * to the client.  True if all of them went: the stream is at a record
 * boundary again.
 */
static bool send_zeros(struct proxy *p, struct pair *c, size_t n)
{
	static const unsigned char zeros[ZERO_CHUNK];
	ssize_t w = send(c->cfd, zeros, n, MSG_NOSIGNAL | MSG_DONTWAIT);

	if (w < 0) {
		if (errno != EAGAIN && errno != EINTR)
			pair_kill(p, c, strerror(errno));
		return false;
	}
	p->n.empty_frags += (c->zero_off + (size_t)w) / 4;
	c->zero_off = (c->zero_off + (size_t)w) % 4;
	return (size_t)w == n;
}

/*
 * Between two records to the client: a mark a full socket cut short is
 * finished first, whatever is armed, or the client would read the next
 * record off by those bytes.  Under empty-fragments one empty fragment
 * goes before each record, and when no record is ready (@flood) as many
 * as the socket takes.  True if a record may go now.
 */
static bool between_records(struct proxy *p, struct pair *c, bool flood)
{
	if (c->zero_off && !send_zeros(p, c, 4 - c->zero_off))
		return false;
	return !p->empty_frags || send_zeros(p, c, flood ? ZERO_CHUNK : 4);
}

/* does the client side want POLLOUT for empty fragments alone? */
bool wants_zeros(const struct proxy *p, const struct pair *c)
{
	return (p->empty_frags || c->zero_off) &&
	       (!c->to_client.head || !c->to_client.off);
}

void do_write(struct proxy *p, struct pair *c, bool to_client)
{
	struct queue *q = to_client ? &c->to_client : &c->to_upstream;
	int fd = to_client ? c->cfd : c->ufd;
	uint64_t now = now_ms();

	while (q->head && q->head->due <= now && q->hold_until <= now) {
		struct msg *m = q->head;
		size_t end = m->stop != STOP_NONE ? m->stop_at : m->len;
		ssize_t w;

		if (m->stop != STOP_NONE && q->off == m->stop_at) {
			if (!do_stop(p, c, q, fd, now))
				return;
			continue;
		}
		if (q->off == m->len) {
			queue_pop(q);
			continue;
		}
		if (to_client && !q->off && !between_records(p, c, false))
			return;
		w = send(fd, m->data + q->off, end - q->off,
			 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0) {
			if (errno != EAGAIN && errno != EINTR)
				pair_kill(p, c, strerror(errno));
			return;
		}
		q->off += (size_t)w;
		if (q->off < end)
			return;
	}
	/* nothing ready: the client gets empty fragments meanwhile */
	if (to_client && (!q->head || !q->off))
		between_records(p, c, true);
}

void upstream_connected(struct proxy *p, struct pair *c)
{
	socklen_t sl = sizeof(int);
	int err = 0;

	if (getsockopt(c->ufd, SOL_SOCKET, SO_ERROR, &err, &sl) < 0)
		err = errno;
	if (err) {
		pair_kill(p, c, strerror(err));
		return;
	}
	c->connecting = false;
}
