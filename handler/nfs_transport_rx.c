// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The transport's receive side: record marks, replies matched to their
 * calls by XID, strict decoding, and long READ replies received straight
 * into the command's buffer.  Whatever cannot be trusted drops the
 * connection (nfs_transport.h has the rules).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "nfs_transport_priv.h"

/* a READ reply this long has its data received straight where it goes */
#define DIRECT_MIN		8192
#define RECV_IOV		64

const char *nfs_proc_name(enum nfs_xdr_proc proc)
{
	switch (proc) {
	case NFS_XDR_GETATTR:
		return "GETATTR";
	case NFS_XDR_READ:
		return "READ";
	case NFS_XDR_WRITE:
		return "WRITE";
	case NFS_XDR_COMMIT:
		return "COMMIT";
	}
	return "?";
}

/* @rpc, carried by @c, has its answer @r.  False when @c was dropped. */
static bool conn_answered(struct nfs_conn *c, struct nfs_rpc *rpc,
			  const struct nfs_xdr_reply *r)
{
	struct nfs_transport *t = c->t;

	nfs_xid_remove(t, rpc);
	nfs_rpc_list_remove(&c->head, &c->tail, rpc);
	c->calls--;
	rpc->conn = NULL;
	if (rpc->internal) {
		rpc->done(rpc, 0, r);
		return c->fd >= 0;
	}
	c->healthy = true;
	nfs_rpc_complete(t, rpc, 0, r);
	return true;
}

/* Copy @len bytes from @src into @iov from byte @off. */
static void iov_put(const struct iovec *iov, size_t cnt, size_t off,
		    const unsigned char *src, size_t len)
{
	size_t i, n;

	for (i = 0; i < cnt && len; i++) {
		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		n = iov[i].iov_len - off < len ? iov[i].iov_len - off : len;
		memcpy((char *)iov[i].iov_base + off, src, n);
		src += n;
		len -= n;
		off = 0;
	}
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
static bool direct_start(struct nfs_conn *c, const unsigned char *rec,
			 size_t avail, uint32_t flen)
{
	struct nfs_transport *t = c->t;
	struct nfs_rpc *rpc;
	size_t off, have, n, i;
	uint32_t xid, len;

	if (flen < DIRECT_MIN || !nfs_xdr_reply_xid(rec, avail, &xid) ||
	    !(rpc = nfs_xid_find(t, c, xid)) ||
	    rpc->call.proc != NFS_XDR_READ || !rpc->iov ||
	    rpc->sent < nfs_rpc_record_len(rpc) ||
	    nfs_xdr_decode_read_head(rec, avail, flen, rpc->call.count,
				     &c->dx_reply, &off) <= 0)
		return false;
	len = c->dx_reply.count;
	have = avail - off;		/* < len + padding: flen > avail */
	n = have < len ? have : len;
	for (i = n; i < have; i++)
		if (rec[off + i])
			return false;	/* padding not zero: garbled */
	iov_put(rpc->iov, rpc->iov_cnt, rpc->iov_off, rec + off, n);
	c->dx = rpc;
	c->dx_done = n;
	c->dx_pad = nfs_xdr_pad(len) - (uint32_t)(have - n);
	return true;
}

/*
 * Where the next bytes of c->dx go: the rest of its data, then its
 * padding into dx_padbuf.  Sets *@all when that is the whole rest of the
 * record, so that bytes after it may follow into c->in.
 */
static unsigned int direct_iov(struct nfs_conn *c, struct iovec *v,
			       bool *all)
{
	const struct nfs_rpc *rpc = c->dx;
	size_t off = rpc->iov_off + c->dx_done, i, seg;
	size_t left = c->dx_reply.count - c->dx_done;
	unsigned int n = 0;

	for (i = 0; i < rpc->iov_cnt && left && n < RECV_IOV; i++) {
		if (off >= rpc->iov[i].iov_len) {
			off -= rpc->iov[i].iov_len;
			continue;
		}
		seg = rpc->iov[i].iov_len - off < left ?
		      rpc->iov[i].iov_len - off : left;
		v[n].iov_base = (char *)rpc->iov[i].iov_base + off;
		v[n++].iov_len = seg;
		left -= seg;
		off = 0;
	}
	*all = !left;
	if (!left && c->dx_pad) {
		v[n].iov_base = c->dx_padbuf;
		v[n++].iov_len = c->dx_pad;
	}
	return n;
}

/*
 * @got bytes came for c->dx, in the order direct_iov gave; how many of
 * them were its own (the rest went to c->in).  Completes the call once
 * all of its record is in.
 */
static size_t direct_take(struct nfs_conn *c, size_t got)
{
	struct nfs_transport *t = c->t;
	size_t left = c->dx_reply.count - c->dx_done, used, i;
	struct nfs_rpc *rpc = c->dx;

	used = got < left ? got : left;
	c->dx_done += used;
	got -= used;
	if (c->dx_done < c->dx_reply.count)
		return used;
	if (got > c->dx_pad)
		got = c->dx_pad;
	for (i = 0; i < got; i++) {
		if (c->dx_padbuf[i]) {
			STAT_ADD(t->p.stats, replies_discarded, 1);
			nfs_conn_drop(c, "garbled READ reply (XID %08" PRIx32
				      ": padding not zero)", rpc->xid);
			return used + got;
		}
	}
	used += got;
	c->dx_pad -= (uint32_t)got;
	if (c->dx_pad)
		return used;
	c->dx = NULL;
	c->dx_reply.placed = true;
	STAT_ADD(t->p.stats, read_bytes_placed, c->dx_reply.count);
	conn_answered(c, rpc, &c->dx_reply);
	return used;
}

/* One whole reply record.  False when @c was dropped. */
static bool conn_record(struct nfs_conn *c, const unsigned char *rec,
			size_t len)
{
	struct nfs_transport *t = c->t;
	struct nfs_xdr_reply r;
	struct nfs_rpc *rpc;
	uint32_t xid;

	if (!nfs_xdr_reply_xid(rec, len, &xid) ||
	    !(rpc = nfs_xid_find(t, c, xid)) ||
	    rpc->sent < nfs_rpc_record_len(rpc)) {
		STAT_ADD(t->p.stats, replies_discarded, 1);
		nfs_conn_drop(c, "a reply (XID %08" PRIx32 ", %zu bytes) that "
			      "answers no call", xid, len);
		return false;
	}
	if (nfs_xdr_decode_reply(rec, len, rpc->call.proc, rpc->call.count,
				 &r)) {
		STAT_ADD(t->p.stats, replies_discarded, 1);
		nfs_conn_drop(c, "garbled %s reply (XID %08" PRIx32 ", %zu "
			      "bytes)", nfs_proc_name(rpc->call.proc), xid,
			      len);
		return false;
	}
	return conn_answered(c, rpc, &r);
}

/* Cut whole records out of c->in.  False when @c was dropped. */
static bool conn_parse(struct nfs_conn *c)
{
	struct nfs_transport *t = c->t;
	size_t pos = 0;

	while (c->in_len - pos >= 4) {
		const unsigned char *m = c->in + pos;
		uint32_t mark = (uint32_t)m[0] << 24 | (uint32_t)m[1] << 16 |
				(uint32_t)m[2] << 8 | m[3];
		uint32_t flen = mark & ~NFS_XDR_LAST_FRAG;
		bool last = mark & NFS_XDR_LAST_FRAG;

		if (flen > t->max_record - c->frag_len) {
			STAT_ADD(t->p.stats, replies_discarded, 1);
			nfs_conn_drop(c, "a record of %" PRIu32 " bytes, more "
				      "than any reply can be", flen);
			return false;
		}
		if (c->in_len - pos - 4 < flen) {
			if (last && !c->frag_len &&
			    direct_start(c, m + 4, c->in_len - pos - 4, flen))
				c->in_len = pos;
			break;
		}
		if (last && !c->frag_len) {
			if (!conn_record(c, m + 4, flen))
				return false;
		} else {
			memcpy(c->frag + c->frag_len, m + 4, flen);
			c->frag_len += flen;
			if (last) {
				size_t total = c->frag_len;

				c->frag_len = 0;
				if (!conn_record(c, c->frag, total))
					return false;
			}
		}
		pos += 4 + flen;
	}
	if (pos == c->in_len) {
		c->in_len = 0;
	} else if (pos) {
		memmove(c->in, c->in + pos, c->in_len - pos);
		c->in_len -= pos;
	}
	return true;
}

void nfs_conn_read(struct nfs_conn *c)
{
	struct iovec v[RECV_IOV + 2];
	struct msghdr msg = { .msg_iov = v };
	size_t want, got;
	unsigned int n, i;
	bool all;
	ssize_t r;

	for (;;) {
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
			return;
		if (r <= 0) {
			nfs_conn_drop(c, "%s", r ? strerror(errno) :
				      "the server closed the connection");
			return;
		}
		got = (size_t)r;
		if (c->dx) {
			got -= direct_take(c, got);
			if (c->fd < 0)
				return;
		}
		c->in_len += got;
		if (got && !conn_parse(c))
			return;
		/* a short read means the socket is drained for now */
		if ((size_t)r < want)
			return;
	}
}
