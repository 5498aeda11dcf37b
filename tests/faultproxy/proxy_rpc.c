// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * nfs_fault_proxy: each call from a client and each reply from upstream,
 * forwarded, answered by the proxy or changed by an armed fault.
 */
#include <inttypes.h>
#include <stdlib.h>

#include "proxy.h"

static void push_to_client(struct proxy *p, struct pair *c, struct msg *m)
{
	p->n.replies++;
	m->due = p->delay_ms ? now_ms() + p->delay_ms : 0;
	queue_push(&c->to_client, m);
}

/*
 * Remember a forwarded call so its reply can be told apart by procedure.
 * Past MAX_PENDING outstanding calls (a server that answers nothing) a
 * call is forgotten: its reply then matches no fault.
 */
static void pending_add(struct proxy *p, struct pair *c,
			const struct pending *call)
{
	if (c->npend == c->pend_cap) {
		size_t cap = c->pend_cap ? c->pend_cap * 2 : 64;
		struct pending *np = NULL;

		if (cap <= MAX_PENDING)
			np = realloc(c->pend, cap * sizeof(*np));
		if (!np) {
			vlog(p, "conn %u: xid %08" PRIx32 " not remembered",
			     c->id, call->xid);
			return;
		}
		c->pend = np;
		c->pend_cap = cap;
	}
	c->pend[c->npend++] = *call;
}

static bool pending_take(struct pair *c, uint32_t xid, struct pending *out)
{
	size_t i;

	for (i = 0; i < c->npend; i++) {
		if (c->pend[i].xid != xid)
			continue;
		*out = c->pend[i];
		c->pend[i] = c->pend[--c->npend];
		return true;
	}
	return false;
}

/*
 * The armed fault of @kind if it is for @proc and, when it names an
 * offset, for @call's offset; not yet fired.
 */
static struct fault *fault_match(struct proxy *p, enum fault_kind kind,
				 uint32_t proc, const struct pending *call)
{
	struct fault *f = &p->faults[kind];

	if (!f->armed || (f->proc != PROC_ANY && f->proc != proc))
		return NULL;
	if (!f->any_offset &&
	    (!call || !call->has_offset || call->offset != f->offset))
		return NULL;
	return f;
}

/* @f fired once more: the last of its count disarms it */
static struct fault *fault_fire(struct fault *f)
{
	if (f->count && !--f->count)
		f->armed = false;
	return f;
}

/* the armed fault of @kind if it is for @proc, fired as it is taken */
static struct fault *fault_take(struct proxy *p, enum fault_kind kind,
				uint32_t proc)
{
	struct fault *f = fault_match(p, kind, proc, NULL);

	return f ? fault_fire(f) : NULL;
}

/* READ, WRITE, COMMIT: the offset argument, right after the file handle */
static bool call_offset(const struct rpc_call *call, uint64_t *offset)
{
	struct xdr x = call->args;

	if (call->proc != NFSPROC3_READ && call->proc != NFSPROC3_WRITE &&
	    call->proc != NFSPROC3_COMMIT)
		return false;
	return xdr_skip_opaque(&x, NFS3_FHSIZE, NULL) && xdr_u64(&x, offset);
}

/*
 * NFSv4.1/4.2: the COMPOUND (SEQUENCE, PUTFH, then the op) counts as the
 * v3 procedure of its READ, WRITE or COMMIT, with that op's offset, or
 * as GETATTR; the client's other compounds (the session's set-up, a
 * lone SEQUENCE renewing the lease) as NULL, which one-shot faults by
 * procedure do not pick.  False: not a COMPOUND that parses.
 */
static bool classify_compound(struct rpc_call *call, struct pending *pend)
{
	struct xdr x = call->args;
	uint32_t minor, n, op, i;

	call->proc = NFSPROC3_NULL;
	if (!xdr_skip_opaque(&x, 1024, NULL) || !xdr_u32(&x, &minor) ||
	    !xdr_u32(&x, &n))
		return false;
	for (i = 0; i < n && xdr_u32(&x, &op); i++) {
		switch (op) {
		case OP4_SEQUENCE:
			if (!xdr_skip(&x, SEQUENCE4_ARGS_LEN))
				return false;
			continue;
		case OP4_PUTFH:
			if (!xdr_skip_opaque(&x, NFS4_FHSIZE, NULL))
				return false;
			continue;
		case OP4_READ:
		case OP4_WRITE:
			if (!xdr_skip(&x, NFS4_STATEID_LEN))
				return false;
			/* then the offset, as COMMIT's */
			__attribute__((fallthrough));
		case OP4_COMMIT:
			call->proc = op == OP4_READ ? NFSPROC3_READ :
				     op == OP4_WRITE ? NFSPROC3_WRITE :
				     NFSPROC3_COMMIT;
			pend->has_offset = xdr_u64(&x, &pend->offset);
			return true;
		case OP4_GETATTR:
			call->proc = NFSPROC3_GETATTR;
			return true;
		case OP4_EXCHANGE_ID:
			call->proc = PROC4_EXCHANGE_ID;
			return true;
		default:
			return true;
		}
	}
	return true;
}

/* stale-for: the procedures that answer NFS3ERR_STALE while it lasts */
static bool stale_now(struct proxy *p, uint32_t proc)
{
	if (!p->stale_until)
		return false;
	if (now_ms() >= p->stale_until) {
		p->stale_until = 0;
		return false;
	}
	return (proc == NFSPROC3_GETATTR && !p->stale_io_only) ||
	       proc == NFSPROC3_READ ||
	       proc == NFSPROC3_WRITE || proc == NFSPROC3_COMMIT;
}

/* a fault answers the call @m itself with @fake */
static void answer(struct proxy *p, struct pair *c, struct msg *m,
		   struct msg *fake)
{
	p->n.fired++;
	free(m);
	push_to_client(p, c, fake);
}

/* what SEQUENCE itself may answer (RFC 8881 18.46.4), before any op */
static bool seq_status(uint32_t status)
{
	return status == NFS4ERR_DELAY || status == NFS4ERR_BADSESSION ||
	       status == NFS4ERR_BADSLOT || status == NFS4ERR_SEQ_MISORDERED ||
	       status == NFS4ERR_DEADSESSION;
}

/*
 * error-reply v4 with an op's status (NFS4ERR_GRACE, EXPIRED...): the
 * server ran the COMPOUND (its slot advanced), and the reply now says
 * SEQUENCE and PUTFH passed and the data op failed with @status, the
 * results after it dropped.  False when the reply is not one that ran
 * that far (it goes on as it was).
 */
static bool fail_data_op(struct msg *m, uint32_t status)
{
	uint32_t st, n, op;
	size_t status_at;
	struct xdr x;

	if (!parse_reply(m, &x))
		return false;
	status_at = 4 + x.pos;
	if (!xdr_skip(&x, 4) || !xdr_skip_opaque(&x, 1024, NULL) ||
	    !xdr_u32(&x, &n) || n < 3 ||
	    !xdr_u32(&x, &op) || op != OP4_SEQUENCE || !xdr_u32(&x, &st) ||
	    st || !xdr_skip(&x, SEQUENCE4_RES_LEN) ||
	    !xdr_u32(&x, &op) || op != OP4_PUTFH || !xdr_u32(&x, &st) || st)
		return false;
	put_be32(m->data + status_at, status);
	put_be32(m->data + status_at + 8 +
		 ((get_be32(m->data + status_at + 4) + 3) & ~3u), 3);
	if (!xdr_skip(&x, 4) || x.pos + 4 > x.len)	/* the op's code */
		return false;
	put_be32(m->data + 4 + x.pos, status);
	m->len = 4 + x.pos + 4;
	put_be32(m->data, LAST_FRAG | (uint32_t)(m->len - 4));
	return true;
}

/*
 * An NFSv4.1 COMPOUND: cut-call, reject-reply and error-reply (the
 * status at SEQUENCE: NFS4ERR_DELAY, BADSESSION...) by the procedure it
 * counts as; the v3 plays of a server that lost data (lose-writes,
 * short-write, stale-for) are not v4's.
 */
static void v4_call(struct proxy *p, struct pair *c, struct msg *m,
		    const struct rpc_call *call, struct pending *pend)
{
	struct msg *fake;
	struct fault *f;

	if (call->proc == NFSPROC3_WRITE)
		p->n.writes++;
	else if (call->proc == NFSPROC3_COMMIT)
		p->n.commits++;
	f = fault_take(p, F_CUT_CALL, call->proc);
	if (f) {
		vlog(p, "conn %u: cut-call v4 xid %08" PRIx32 " after %lu "
		     "bytes", c->id, call->xid, f->bytes);
		msg_stop(m, STOP_CUT, f->bytes, 0);
	} else if ((f = fault_match(p, F_REJECT_REPLY, call->proc, NULL)) &&
		   (fake = fake_reject_reply(call->xid, (enum reject)f->arg))) {
		fault_fire(f);
		answer(p, c, m, fake);
		return;
	} else if (call->proc != NFSPROC3_NULL &&
		   (f = fault_take(p, F_ERROR_REPLY, call->proc))) {
		vlog(p, "conn %u: error-reply v4 %" PRIu32 " to xid %08"
		     PRIx32, c->id, f->arg, call->xid);
		if (call->proc == PROC4_EXCHANGE_ID) {
			/* its only op: answered without the server */
			fake = fake_error_reply4(call->xid, OP4_EXCHANGE_ID,
						 f->arg);
			if (fake) {
				answer(p, c, m, fake);
				return;
			}
		} else if (!seq_status(f->arg)) {
			/* on the server's reply, once it ran the call */
			pend->op_error = f->arg;
		} else if ((fake = fake_error_reply4(call->xid, OP4_SEQUENCE,
						     f->arg))) {
			answer(p, c, m, fake);
			return;
		}
	}
	pending_add(p, c, pend);
	queue_push(&c->to_upstream, m);
}

/* a call from the client: forward it, or answer it ourselves */
void on_call(struct proxy *p, struct pair *c, struct msg *m)
{
	struct write_args w;
	struct pending pend;
	struct rpc_call call;
	struct msg *fake;
	struct fault *f;

	if (!parse_call(m, &call))
		goto forward;
	p->n.calls++;
	if (call.prog == NFS_PROGRAM && call.vers == NFS_V4 &&
	    call.proc == NFSPROC4_COMPOUND) {
		pend = (struct pending){ .xid = call.xid, .v4 = true };
		if (!classify_compound(&call, &pend))
			goto forward;
		pend.proc = call.proc;
		v4_call(p, c, m, &call, &pend);
		return;
	}
	if (call.prog != NFS_PROGRAM || call.vers != NFS_V3)
		goto forward;
	if (call.proc == NFSPROC3_WRITE)
		p->n.writes++;
	else if (call.proc == NFSPROC3_COMMIT)
		p->n.commits++;
	pend = (struct pending){ .xid = call.xid, .proc = call.proc };
	pend.has_offset = call_offset(&call, &pend.offset);

	f = fault_take(p, F_CUT_CALL, call.proc);
	if (f) {
		vlog(p, "conn %u: cut-call xid %08" PRIx32 " after %lu bytes",
		     c->id, call.xid, f->bytes);
		msg_stop(m, STOP_CUT, f->bytes, 0);
		goto forward_nfs;
	}
	/* the server never sees what the proxy answers itself */
	if ((f = fault_match(p, F_REJECT_REPLY, call.proc, NULL)) &&
	    (fake = fake_reject_reply(call.xid, (enum reject)f->arg))) {
		fault_fire(f);
		vlog(p, "conn %u: reject-reply %" PRIu32 " to xid %08" PRIx32,
		     c->id, f->arg, call.xid);
		answer(p, c, m, fake);
		return;
	}
	if (stale_now(p, call.proc) &&
	    (fake = fake_error_reply(call.xid, call.proc, NFS3ERR_STALE))) {
		vlog(p, "conn %u: stale-for xid %08" PRIx32, c->id, call.xid);
		answer(p, c, m, fake);
		return;
	}
	/* NULL has no status to fail with: it is not an error-reply's */
	if (resfail_len(call.proc) >= 0 &&
	    (f = fault_take(p, F_ERROR_REPLY, call.proc)) &&
	    (fake = fake_error_reply(call.xid, call.proc, f->arg))) {
		vlog(p, "conn %u: error-reply %" PRIu32 " to xid %08" PRIx32,
		     c->id, f->arg, call.xid);
		p->n.fired++;
		free(m);
		push_to_client(p, c, fake);
		return;
	}

	if (call.proc == NFSPROC3_WRITE) {
		if (p->armed && parse_write(&call.args, &w) &&
		    (w.stable == NFS3_UNSTABLE || p->lose_stable) &&
		    (fake = fake_write_reply(call.xid, w.count))) {
			p->n.swallowed++;
			vlog(p, "conn %u: swallowed WRITE xid %08" PRIx32
			     " offset %" PRIu64 " count %" PRIu32,
			     c->id, call.xid, w.offset, w.count);
			free(m);
			push_to_client(p, c, fake);
			return;
		}
		pend.halve = p->short_write;
		p->short_write = false;
	} else if (call.proc == NFSPROC3_COMMIT && p->armed) {
		fake = fake_commit_reply(call.xid);
		if (fake) {
			p->n.faked++;
			p->armed = false;
			vlog(p, "conn %u: faked COMMIT xid %08" PRIx32
			     ", disarmed", c->id, call.xid);
			free(m);
			push_to_client(p, c, fake);
			return;
		}
	}
forward_nfs:
	pending_add(p, c, &pend);
forward:
	queue_push(&c->to_upstream, m);
}

/*
 * short-write: the picked WRITE's reply says only half its count was
 * written; from then on every WRITE and COMMIT verifier is flipped, as
 * if the server had restarted right after that short reply (which itself
 * keeps the verifier it had).
 */
static void rewrite_write_reply(struct proxy *p, struct msg *m,
				const struct pending *call)
{
	size_t count_at = 0, verf_at;
	uint32_t count = 0;
	struct xdr x;
	int i;

	if (!call->halve && !p->verf_flip)
		return;
	if (!parse_reply(m, &x) || !parse_resok_wcc(&x))
		goto not_ok;
	if (call->proc == NFSPROC3_WRITE) {
		count_at = 4 + x.pos;
		if (!xdr_u32(&x, &count) || !xdr_skip(&x, 4))	/* committed */
			goto not_ok;
	}
	verf_at = 4 + x.pos;
	if (!xdr_skip(&x, NFS3_VERF_LEN))
		goto not_ok;
	if (p->verf_flip)
		for (i = 0; i < NFS3_VERF_LEN; i++)
			m->data[verf_at + i] ^= VERF_FLIP;
	if (call->halve) {
		put_be32(m->data + count_at, count > 1 ? count / 2 : count);
		p->verf_flip = true;
		p->n.fired++;
	}
	return;
not_ok:
	/* a failed WRITE wrote nothing to shorten: take the next one */
	if (call->halve)
		p->short_write = true;
}

/*
 * short-read: a READ3resok keeps the first half of its data, rounded
 * down to 4 bytes (so no padding), and says eof, as a file that shrank
 * under the READ would.  False, and @m untouched, for any other reply.
 */
static bool shorten_read(struct msg *m)
{
	uint32_t status, count, eof, len, half;
	size_t count_at;
	struct xdr x;

	if (!parse_reply(m, &x) || !xdr_u32(&x, &status) || status ||
	    !xdr_skip_optional(&x, FATTR3_LEN))
		return false;
	count_at = 4 + x.pos;
	if (!xdr_u32(&x, &count) || !xdr_u32(&x, &eof) ||
	    !xdr_skip_opaque(&x, MAX_RECORD, &len))
		return false;
	half = len / 2 & ~3u;
	put_be32(m->data + count_at, half);
	put_be32(m->data + count_at + 4, 1);		/* eof: TRUE */
	put_be32(m->data + count_at + 8, half);		/* data length */
	m->len = count_at + 12 + half;
	put_be32(m->data, LAST_FRAG | (uint32_t)(m->len - 4));
	return true;
}

/*
 * garble-reply: 4 stray bytes after the reply, inside its record (whose
 * mark says so): the stream stays in step, a strict decoder finds bytes
 * past the end of the result.  False if there was no memory for them.
 */
static bool garble(struct msg **mp)
{
	struct msg *m = realloc(*mp, sizeof(*m) + (*mp)->len + 4);

	if (!m)
		return false;
	put_be32(m->data + m->len, GARBLE_WORD);
	m->len += 4;
	put_be32(m->data, LAST_FRAG | (uint32_t)(m->len - 4));
	*mp = m;
	return true;
}

void on_reply(struct proxy *p, struct pair *c, struct msg *m)
{
	struct pending call;
	struct fault *f;
	unsigned int ms;
	uint32_t hdr;

	if (m->len < 12 || get_be32(m->data + 8) != RPC_REPLY ||
	    !pending_take(c, get_be32(m->data + 4), &call))
		goto push;
	if (call.op_error && fail_data_op(m, call.op_error)) {
		vlog(p, "conn %u: v4 reply to xid %08" PRIx32 " now fails "
		     "with %" PRIu32, c->id, call.xid, call.op_error);
		p->n.fired++;
	}
	if (!call.v4 &&
	    (call.proc == NFSPROC3_WRITE || call.proc == NFSPROC3_COMMIT))
		rewrite_write_reply(p, m, &call);
	/* shortened first, so garble-reply's bytes follow the short data */
	if (!call.v4 &&
	    (f = fault_match(p, F_SHORT_READ, call.proc, &call)) &&
	    shorten_read(m)) {
		fault_fire(f);
		vlog(p, "conn %u: short-read reply to xid %08" PRIx32,
		     c->id, call.xid);
		p->n.fired++;
	}
	if ((f = fault_match(p, F_GARBLE_REPLY, call.proc, &call)) &&
	    garble(&m)) {
		fault_fire(f);
		vlog(p, "conn %u: garbled reply to xid %08" PRIx32,
		     c->id, call.xid);
		p->n.fired++;
	}
	f = fault_take(p, F_CORRUPT_REPLY, call.proc);
	if (f && f->arg == CORRUPT_LENGTH) {
		hdr = get_be32(m->data);
		put_be32(m->data, LAST_FRAG |
			 ((hdr & ~LAST_FRAG) + CORRUPT_LEN_ADD));
	} else if (f) {
		put_be32(m->data + 4, call.xid ^ CORRUPT_XID);
	}
	if (f) {
		vlog(p, "conn %u: corrupted reply to xid %08" PRIx32,
		     c->id, call.xid);
		p->n.fired++;
	}
	/* one stop per message: a stall waits for the next reply */
	f = fault_take(p, F_CUT_REPLY, call.proc);
	if (f)
		msg_stop(m, STOP_CUT, f->bytes, 0);
	else if ((f = fault_take(p, F_STALL_REPLY, call.proc)))
		msg_stop(m, STOP_STALL, f->bytes, f->ms);
	ms = call.proc <= NFSPROC3_MAX ? p->reply_delay[call.proc] : 0;
	if (ms) {
		p->n.replies++;
		p->n.delayed++;
		hold_reply(c, m, ms);
		return;
	}
push:
	push_to_client(p, c, m);
}
