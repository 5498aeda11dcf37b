// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The transport's receive side: record marks, replies matched to their
 * calls by XID, strict decoding, and long READ replies received straight
 * into the command's buffer.  Whatever cannot be trusted is reported to
 * the caller, who drops the connection (tnfs_transport.h has the rules);
 * nothing here closes one.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "tnfs_iov.h"
#include "tnfs_transport_priv.h"

/* a READ reply this long has its data received straight where it goes */
#define DIRECT_MIN		8192
#define RECV_IOV		64
/* received per call at most, so that one busy peer cannot starve the rest */
#define RX_BUDGET		(4u << 20)
/* a record in more fragments than any real server sends is garbage */
#define MAX_FRAGS		1024

/*
 * What a step found: go on, stop (a callback dropped @c), or drop @c,
 * for a failed connection or for something the server sent wrongly.
 */
enum rx_verdict { RX_OK, RX_GONE, RX_DROP, RX_BAD };

/* Where the reason for RX_DROP goes. */
struct rx_why {
	char *buf;
	size_t len;
};

static enum rx_verdict rx_drop(struct rx_why *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static enum rx_verdict rx_drop(struct rx_why *w, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(w->buf, w->len, fmt, ap);
	va_end(ap);
	return RX_DROP;
}

static enum rx_verdict verdict_ret(enum rx_verdict v)
{
	return v == RX_DROP ? -1 : v == RX_BAD ? -2 : 0;
}

/*
 * A stream that cannot be trusted any more (no call to blame): counted,
 * then @c is to be dropped.
 */
static enum rx_verdict rx_discard(struct tnfs_conn *c, struct rx_why *w,
				  const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static enum rx_verdict rx_discard(struct tnfs_conn *c, struct rx_why *w,
				  const char *fmt, ...)
{
	va_list ap;

	STAT_ADD(&c->t->stats, replies_discarded, 1);
	va_start(ap, fmt);
	vsnprintf(w->buf, w->len, fmt, ap);
	va_end(ap);
	return RX_BAD;
}

/*
 * A framed reply to @rpc that does not decode, for @why: charged to the
 * call (the stream is in step), unless the call is the transport's own.
 */
static enum rx_verdict rx_garbled(struct tnfs_conn *c, struct tnfs_rpc *rpc,
				  const char *why, struct rx_why *w)
{
	if (rpc->internal)
		return rx_discard(c, w, "garbled %s reply (XID %08" PRIx32
				  ": %s)", tnfs_xdr_proc_name(rpc->call.proc),
				  rpc->xid, why);
	tnfs_conn_charge(c, rpc, why);
	return c->fd >= 0 ? RX_OK : RX_GONE;
}

static enum rx_verdict answered(struct tnfs_conn *c, struct tnfs_rpc *rpc,
				const struct tnfs_xdr_reply *r)
{
	return tnfs_conn_answered(c, rpc, r) ? RX_OK : RX_GONE;
}

/*
 * The head of a long READ reply is in c->in, its data still coming:
 * receive the rest straight into the call's iovec rather than into c->in
 * and copy it from there, a copy of every byte saved.  The head is
 * decoded as strictly as a whole record would be; anything unusual (no
 * such call, an error status, an inconsistent length) is left to the
 * whole-record path, which judges it.  True: @avail bytes at @rec are
 * consumed, and c->dx receives the rest of the record.
 */
static bool direct_start(struct tnfs_conn *c, const unsigned char *rec,
			 size_t avail, uint32_t flen)
{
	struct tnfs_transport *t = c->t;
	struct tnfs_rpc *rpc;
	size_t off, have, n, i;
	uint32_t xid, len;

	if (flen < DIRECT_MIN || !tnfs_xdr_reply_xid(rec, avail, &xid) ||
	    !(rpc = tnfs_xid_find(t, c, xid)) ||
	    rpc->call.proc != TNFS_XDR_READ || !rpc->iov ||
	    rpc->sent < tnfs_rpc_record_len(rpc))
		return false;
	if ((t->sess ? tnfs_xdr4_decode_read_head :
	     tnfs_xdr_decode_read_head)(rec, avail, flen, rpc->call.count,
					&c->dx_reply, &off) <= 0)
		return false;
	len = c->dx_reply.count;
	have = avail - off;		/* < len + padding: flen > avail */
	n = have < len ? have : len;
	for (i = n; i < have; i++)
		if (rec[off + i])
			return false;	/* padding not zero: garbled */
	tnfs_iov_put(rpc->iov, rpc->iov_cnt, rpc->iov_off, rec + off, n);
	c->dx = rpc;
	c->dx_done = n;
	c->dx_pad = tnfs_xdr_pad(len) - (uint32_t)(have - n);
	return true;
}

/*
 * Where the next bytes of c->dx go: the rest of its data, then its
 * padding into dx_padbuf.  Sets *@all when that is the whole rest of the
 * record, so that bytes after it may follow into c->in.
 */
static unsigned int direct_iov(struct tnfs_conn *c, struct iovec *v,
			       bool *all)
{
	const struct tnfs_rpc *rpc = c->dx;
	size_t left = c->dx_reply.count - c->dx_done, covered;
	unsigned int n;

	n = tnfs_iov_slice(rpc->iov, rpc->iov_cnt, rpc->iov_off + c->dx_done,
			   left, v, RECV_IOV, &covered);
	*all = covered == left;
	if (*all && c->dx_pad) {
		v[n].iov_base = c->dx_padbuf;
		v[n++].iov_len = c->dx_pad;
	}
	return n;
}

/*
 * @got bytes came for c->dx, in the order direct_iov gave; *@used of
 * them were its own (the rest went to c->in).  Completes the call once
 * all of its record is in.
 */
static enum rx_verdict direct_take(struct tnfs_conn *c, size_t got,
				   size_t *used, struct rx_why *w)
{
	size_t left = c->dx_reply.count - c->dx_done, i;
	struct tnfs_rpc *rpc = c->dx;

	*used = got < left ? got : left;
	c->dx_done += *used;
	got -= *used;
	if (c->dx_done < c->dx_reply.count)
		return RX_OK;
	if (got > c->dx_pad)
		got = c->dx_pad;
	*used += got;
	for (i = 0; i < got; i++)
		if (c->dx_padbuf[i])
			break;
	if (i < got) {
		/* the rest of its padding is thrown away as it comes */
		c->skip = c->dx_pad - got;
		c->dx = NULL;
		return rx_garbled(c, rpc, "padding not zero", w);
	}
	c->dx_pad -= (uint32_t)got;
	if (c->dx_pad)
		return RX_OK;
	c->dx = NULL;
	c->dx_reply.placed = true;
	STAT_ADD(&c->t->stats, read_bytes_placed, c->dx_reply.count);
	return answered(c, rpc, &c->dx_reply);
}

/* One whole reply record. */
static enum rx_verdict conn_record(struct tnfs_conn *c,
				   const unsigned char *rec, size_t len,
				   struct rx_why *w)
{
	struct tnfs_xdr4_res res;
	struct tnfs_xdr_reply *r = &res.r;
	struct tnfs_ghost g;
	struct tnfs_rpc *rpc;
	uint32_t xid;

	if (!tnfs_xdr_reply_xid(rec, len, &xid))
		return rx_discard(c, w, "a reply of %zu bytes, too short for "
				  "an XID", len);
	rpc = tnfs_xid_find(c->t, c, xid);
	if (!rpc && tnfs_ghost_take(c, xid, &g)) {
		/* the answer to a call given up at its deadline */
		STAT_ADD(&c->t->stats, replies_late, 1);
		if (c->t->sess)
			tnfs_session_ghost_reply(c->t, &g, rec, len);
		return RX_OK;
	}
	if (!rpc)
		return rx_discard(c, w, "a reply (XID %08" PRIx32 ", %zu "
				  "bytes) that answers no call", xid, len);
	if (rpc->sent < tnfs_rpc_record_len(rpc))
		return rx_discard(c, w, "a reply (XID %08" PRIx32 ") to a %s "
				  "not yet sent whole", xid,
				  tnfs_xdr_proc_name(rpc->call.proc));
	if (c->t->sess ? tnfs_xdr4_decode_reply(rec, len, rpc->call.proc,
						rpc->call.count, &res) :
	    tnfs_xdr_decode_reply(rec, len, rpc->call.proc, rpc->call.count,
				  r))
		return rx_garbled(c, rpc, r->why, w);
	return answered(c, rpc, r);
}

/*
 * The head of a record still coming, @have bytes of it at @rec, @total
 * announced: if that is more than any reply to its call can be, the
 * length is garbled and the record's end may never come (the server's
 * next replies would only fill it).  Charged to the call then, and the
 * stream, out of step, given up at once rather than after its silence.
 */
static enum rx_verdict too_long(struct tnfs_conn *c, const unsigned char *rec,
				size_t have, size_t total, struct rx_why *w)
{
	struct tnfs_transport *t = c->t;
	struct tnfs_rpc *rpc;
	uint32_t xid, max;
	char why[96];

	if (!tnfs_xdr_reply_xid(rec, have, &xid) ||
	    !(rpc = tnfs_xid_find(t, c, xid)) ||
	    rpc->sent < tnfs_rpc_record_len(rpc))
		return RX_OK;
	max = (t->sess ? tnfs_xdr4_reply_max :
	       tnfs_xdr_reply_max)(rpc->call.proc, rpc->call.count);
	if (!max || total <= max)
		return RX_OK;
	snprintf(why, sizeof(why), "a record of %zu bytes, where the longest "
		 "it can be is %" PRIu32, total, max);
	if (rpc->internal)
		return rx_discard(c, w, "a %s reply (XID %08" PRIx32 "): %s",
				  tnfs_xdr_proc_name(rpc->call.proc), xid,
				  why);
	rx_drop(w, "a %s reply (XID %08" PRIx32 "): %s",
		tnfs_xdr_proc_name(rpc->call.proc), xid, why);
	tnfs_conn_charge(c, rpc, why);
	return c->fd >= 0 ? RX_BAD : RX_GONE;
}

/* Cut whole records out of c->in. */
static enum rx_verdict conn_parse(struct tnfs_conn *c, struct rx_why *w)
{
	struct tnfs_transport *t = c->t;
	enum rx_verdict v = RX_OK;
	size_t pos = 0;

	while (c->in_len - pos >= 4) {
		const unsigned char *m = c->in + pos;
		uint32_t mark = (uint32_t)m[0] << 24 | (uint32_t)m[1] << 16 |
				(uint32_t)m[2] << 8 | m[3];
		uint32_t flen = mark & ~TNFS_XDR_LAST_FRAG;
		bool last = mark & TNFS_XDR_LAST_FRAG;

		if (flen > t->max_record - c->frag_len)
			return rx_discard(c, w, "a record of %" PRIu32
					  " bytes, more than any reply can "
					  "be", flen);
		if (!last && ++c->frags > MAX_FRAGS)
			return rx_discard(c, w, "a record in more than %u "
					  "fragments", MAX_FRAGS);
		if (c->in_len - pos - 4 < flen) {
			if (last && !c->frag_len &&
			    direct_start(c, m + 4, c->in_len - pos - 4, flen)) {
				c->in_len = pos;
				break;
			}
			if (c->frag_len)
				v = too_long(c, c->frag, c->frag_len,
					     c->frag_len + flen, w);
			else
				v = too_long(c, m + 4, c->in_len - pos - 4,
					     flen, w);
			if (v != RX_OK)
				return v;
			break;
		}
		if (last && !c->frag_len) {
			v = conn_record(c, m + 4, flen, w);
		} else {
			memcpy(c->frag + c->frag_len, m + 4, flen);
			c->frag_len += flen;
			if (last) {
				size_t total = c->frag_len;

				c->frag_len = 0;
				c->frags = 0;
				v = conn_record(c, c->frag, total, w);
			}
		}
		if (v != RX_OK)
			return v;
		pos += 4 + flen;
	}
	if (pos == c->in_len) {
		c->in_len = 0;
	} else if (pos) {
		memmove(c->in, c->in + pos, c->in_len - pos);
		c->in_len -= pos;
	}
	return RX_OK;
}

/* Throw away what is left of a given-up READ's reply. */
static enum rx_verdict skip_bytes(struct tnfs_conn *c, size_t *got,
				  struct rx_why *w)
{
	size_t room = c->in_cap - c->in_len, want;
	ssize_t r;

	*got = 0;
	want = c->skip < room ? c->skip : room;
	r = recv(c->fd, c->in + c->in_len, want, MSG_DONTWAIT);
	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return RX_OK;
	if (r <= 0)
		return rx_drop(w, "%s", r ? strerror(errno) :
			       "the server closed the connection");
	c->skip -= (size_t)r;
	*got = (size_t)r;
	return RX_OK;
}

int tnfs_conn_read(struct tnfs_conn *c, char *why, size_t why_len)
{
	struct rx_why w = { why, why_len };
	struct iovec v[RECV_IOV + 2];
	struct msghdr msg = { .msg_iov = v };
	enum rx_verdict verdict;
	size_t want, got, used, budget = RX_BUDGET;
	unsigned int n, i;
	bool all;
	ssize_t r;

	while (budget) {
		if (c->skip) {
			verdict = skip_bytes(c, &got, &w);
			if (verdict != RX_OK || !got)
				return verdict_ret(verdict);
			c->rx_ms = c->t->now_ms;
			budget -= got < budget ? got : budget;
			continue;
		}
		all = true;
		n = c->dx ? direct_iov(c, v, &all) : 0;
		/* what follows a direct reply's record goes to c->in */
		if (all) {
			v[n].iov_base = c->in + c->in_len;
			v[n++].iov_len = c->in_cap - c->in_len;
		}
		for (i = 0, want = 0; i < n; i++)
			want += v[i].iov_len;
		msg.msg_iovlen = n;
		r = recvmsg(c->fd, &msg, MSG_DONTWAIT);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN)
			return 0;
		if (r <= 0) {
			rx_drop(&w, "%s", r ? strerror(errno) :
				"the server closed the connection");
			return -1;
		}
		c->rx_ms = c->t->now_ms;
		got = (size_t)r;
		budget -= got < budget ? got : budget;
		if (c->dx) {
			verdict = direct_take(c, got, &used, &w);
			if (verdict != RX_OK)
				return verdict_ret(verdict);
			got -= used;
		}
		c->in_len += got;
		if (got) {
			verdict = conn_parse(c, &w);
			if (verdict != RX_OK)
				return verdict_ret(verdict);
		}
		/* a short read means the socket is drained for now */
		if ((size_t)r < want)
			return 0;
	}
	/* more may be waiting: poll() says so at once, after the others */
	return 0;
}
