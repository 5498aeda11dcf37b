// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <string.h>

#include "tnfs_xdr4.h"
#include "tnfs_xdr_prim.h"

#define RPC_CALL		0
#define RPC_VERSION		2
#define NFS4_COMPOUND		1
#define NFS4_OPAQUE_LIMIT	1024
#define SHARE_ACCESS_BOTH	3
#define SHARE_WANT_NO_DELEG	0x0400
#define SP4_NONE		0
#define EXCHGID4_USE_NON_PNFS	0x00010000
#define CDFC4_FORE		1
#define CB_PROGRAM		0x40000000
#define MAX_TAG			64
#define MAX_STRING		1024

/* ---- encoding ---- */

/* Room for @n more bytes; else the compound is marked full. */
static bool room(struct tnfs_xdr4_enc *e, size_t n)
{
	if (e->full || (size_t)(e->end - e->p) < n) {
		e->full = true;
		return false;
	}
	return true;
}

static void w32(struct tnfs_xdr4_enc *e, uint32_t v)
{
	if (room(e, 4))
		e->p = put32(e->p, v);
}

static void w64(struct tnfs_xdr4_enc *e, uint64_t v)
{
	if (room(e, 8))
		e->p = put64(e->p, v);
}

static void wfixed(struct tnfs_xdr4_enc *e, const void *b, size_t n)
{
	if (room(e, n)) {
		memcpy(e->p, b, n);
		e->p += n;
	}
}

static void wopaque(struct tnfs_xdr4_enc *e, const void *b, size_t n)
{
	if (room(e, 4 + n + 3))
		e->p = put_opaque(e->p, b, (uint32_t)n);
}

static void op(struct tnfs_xdr4_enc *e, uint32_t opcode)
{
	if (e->nops == TNFS_XDR4_MAX_OPS) {
		e->full = true;
		return;
	}
	e->ops[e->nops++] = opcode;
	w32(e, opcode);
}

static void wstateid(struct tnfs_xdr4_enc *e, const struct tnfs_xdr4_stateid *s)
{
	w32(e, s->seqid);
	wfixed(e, s->other, TNFS_XDR4_OTHER);
}

void tnfs_xdr4_begin(struct tnfs_xdr4_enc *e, unsigned char *buf, size_t cap,
		     uint32_t xid, const struct tnfs_xdr_auth *a,
		     uint32_t minor)
{
	e->buf = buf;
	e->p = buf + 4;			/* the record marker, at the end */
	e->end = buf + cap;
	e->nops = 0;
	e->full = cap < 4;
	w32(e, xid);
	w32(e, RPC_CALL);
	w32(e, RPC_VERSION);
	w32(e, TNFS_XDR_PROGRAM);
	w32(e, TNFS_XDR4_VERSION);
	w32(e, NFS4_COMPOUND);
	wfixed(e, a->cred, a->cred_len);
	w32(e, 0);			/* tag: none */
	w32(e, minor);
	e->nops_at = e->p;
	w32(e, 0);
}

void tnfs_xdr4_op_sequence(struct tnfs_xdr4_enc *e,
			   const struct tnfs_xdr4_ctx *c)
{
	op(e, TNFS_OP4_SEQUENCE);
	wfixed(e, c->sessionid, TNFS_XDR4_SESSIONID);
	w32(e, c->seqid);
	w32(e, c->slot);
	w32(e, c->highest);
	w32(e, 0);			/* no reply cache: all is idempotent */
}

void tnfs_xdr4_op_putfh(struct tnfs_xdr4_enc *e, const struct tnfs_xdr_fh *fh)
{
	op(e, TNFS_OP4_PUTFH);
	wopaque(e, fh->data, fh->len);
}

void tnfs_xdr4_op_putfh_prepared(struct tnfs_xdr4_enc *e,
				 const struct tnfs_xdr_auth *a)
{
	op(e, TNFS_OP4_PUTFH);
	wfixed(e, a->fh, a->fh_len);
}

void tnfs_xdr4_op_putrootfh(struct tnfs_xdr4_enc *e)
{
	op(e, TNFS_OP4_PUTROOTFH);
}

void tnfs_xdr4_op_lookup(struct tnfs_xdr4_enc *e, const char *name,
			 size_t len)
{
	op(e, TNFS_OP4_LOOKUP);
	wopaque(e, name, len);
}

void tnfs_xdr4_op_getfh(struct tnfs_xdr4_enc *e)
{
	op(e, TNFS_OP4_GETFH);
}

static void wbitmap(struct tnfs_xdr4_enc *e, uint64_t mask)
{
	if (mask >> 32) {
		w32(e, 2);
		w32(e, (uint32_t)mask);
		w32(e, (uint32_t)(mask >> 32));
	} else {
		w32(e, 1);
		w32(e, (uint32_t)mask);
	}
}

void tnfs_xdr4_op_getattr(struct tnfs_xdr4_enc *e, uint64_t mask)
{
	op(e, TNFS_OP4_GETATTR);
	wbitmap(e, mask);
}

/* fattr4 with the mode alone */
static void wmode_attr(struct tnfs_xdr4_enc *e, uint32_t mode)
{
	wbitmap(e, TNFS_FATTR4_BIT(TNFS_FATTR4_MODE));
	w32(e, 4);
	w32(e, mode);
}

void tnfs_xdr4_op_open(struct tnfs_xdr4_enc *e, const struct tnfs_xdr4_ctx *c,
		       uint32_t claim, const char *name, size_t len,
		       uint32_t create, uint32_t mode,
		       const unsigned char verf[8])
{
	op(e, TNFS_OP4_OPEN);
	w32(e, 0);			/* seqid: unused in 4.1 */
	/* no delegation: there is no back channel to recall it on */
	w32(e, SHARE_ACCESS_BOTH | SHARE_WANT_NO_DELEG);
	w32(e, 0);			/* deny none */
	w64(e, c->clientid);
	wopaque(e, c->owner, strnlen(c->owner, TNFS_XDR4_OWNER_MAX));
	if (claim == 0 && create) {
		w32(e, 1);		/* OPEN4_CREATE */
		w32(e, create);
		if (create == 3)
			wfixed(e, verf, 8);
		wmode_attr(e, mode);
	} else {
		w32(e, 0);		/* OPEN4_NOCREATE */
	}
	w32(e, claim);
	if (claim == 0)
		wopaque(e, name, len);
	else if (claim == 1)
		w32(e, 0);		/* OPEN_DELEGATE_NONE */
}

void tnfs_xdr4_op_close(struct tnfs_xdr4_enc *e,
			const struct tnfs_xdr4_stateid *s)
{
	op(e, TNFS_OP4_CLOSE);
	w32(e, 0);
	wstateid(e, s);
}

void tnfs_xdr4_op_setattr_size(struct tnfs_xdr4_enc *e,
			       const struct tnfs_xdr4_stateid *s,
			       uint64_t size)
{
	op(e, TNFS_OP4_SETATTR);
	wstateid(e, s);
	wbitmap(e, TNFS_FATTR4_BIT(TNFS_FATTR4_SIZE));
	w32(e, 8);
	w64(e, size);
}

void tnfs_xdr4_op_read(struct tnfs_xdr4_enc *e,
		       const struct tnfs_xdr4_stateid *s, uint64_t off,
		       uint32_t count)
{
	op(e, TNFS_OP4_READ);
	wstateid(e, s);
	w64(e, off);
	w32(e, count);
}

void tnfs_xdr4_op_write(struct tnfs_xdr4_enc *e,
			const struct tnfs_xdr4_stateid *s, uint64_t off,
			uint32_t stable, uint32_t count)
{
	op(e, TNFS_OP4_WRITE);
	wstateid(e, s);
	w64(e, off);
	w32(e, stable);
	w32(e, count);			/* the data's length; data follows */
}

void tnfs_xdr4_op_commit(struct tnfs_xdr4_enc *e, uint64_t off,
			 uint32_t count)
{
	op(e, TNFS_OP4_COMMIT);
	w64(e, off);
	w32(e, count);
}

void tnfs_xdr4_op_deallocate(struct tnfs_xdr4_enc *e,
			     const struct tnfs_xdr4_stateid *s, uint64_t off,
			     uint64_t len)
{
	op(e, TNFS_OP4_DEALLOCATE);
	wstateid(e, s);
	w64(e, off);
	w64(e, len);
}

void tnfs_xdr4_op_exchange_id(struct tnfs_xdr4_enc *e,
			      const struct tnfs_xdr4_ctx *c)
{
	op(e, TNFS_OP4_EXCHANGE_ID);
	wfixed(e, c->verifier, 8);
	wopaque(e, c->owner, strnlen(c->owner, TNFS_XDR4_OWNER_MAX));
	w32(e, EXCHGID4_USE_NON_PNFS);
	w32(e, SP4_NONE);
	w32(e, 0);			/* no implementation id */
}

/* channel_attrs4 */
static void wchannel(struct tnfs_xdr4_enc *e, uint32_t max_req,
		     uint32_t max_resp, uint32_t cached, uint32_t ops,
		     uint32_t reqs)
{
	w32(e, 0);			/* header padding */
	w32(e, max_req);
	w32(e, max_resp);
	w32(e, cached);
	w32(e, ops);
	w32(e, reqs);
	w32(e, 0);			/* no RDMA */
}

void tnfs_xdr4_op_create_session(struct tnfs_xdr4_enc *e,
				 const struct tnfs_xdr4_ctx *c)
{
	op(e, TNFS_OP4_CREATE_SESSION);
	w64(e, c->clientid);
	w32(e, c->cs_seq);
	w32(e, 0);			/* not persistent, no back channel */
	/*
	 * No reply cached (cachethis is never set), so ask for no room to
	 * cache one: knfsd reserves that room for every slot of every
	 * session out of a pool of 1/128 of its memory, and at 1 KiB a
	 * slot a 2 GiB server had none left after ~900 devices' sessions
	 * (one slot each from then on).  The Linux client asks 0 too.
	 */
	wchannel(e, c->max_req, c->max_resp, 0, 8, c->slots);
	/* a back channel is required in the call, never used */
	wchannel(e, 4096, 4096, 0, 2, 1);
	w32(e, CB_PROGRAM);
	w32(e, 1);			/* one callback security: */
	w32(e, 0);			/* AUTH_NONE */
}

void tnfs_xdr4_op_bind_conn(struct tnfs_xdr4_enc *e,
			    const struct tnfs_xdr4_ctx *c)
{
	op(e, TNFS_OP4_BIND_CONN);
	wfixed(e, c->sessionid, TNFS_XDR4_SESSIONID);
	w32(e, CDFC4_FORE);
	w32(e, 0);			/* not RDMA */
}

void tnfs_xdr4_op_reclaim_complete(struct tnfs_xdr4_enc *e)
{
	op(e, TNFS_OP4_RECLAIM_COMPLETE);
	w32(e, 0);			/* for every file system */
}

void tnfs_xdr4_op_destroy_session(struct tnfs_xdr4_enc *e,
				  const struct tnfs_xdr4_ctx *c)
{
	op(e, TNFS_OP4_DESTROY_SESSION);
	wfixed(e, c->sessionid, TNFS_XDR4_SESSIONID);
}

void tnfs_xdr4_op_destroy_clientid(struct tnfs_xdr4_enc *e,
				   const struct tnfs_xdr4_ctx *c)
{
	op(e, TNFS_OP4_DESTROY_CLIENTID);
	w64(e, c->clientid);
}

size_t tnfs_xdr4_end(struct tnfs_xdr4_enc *e, uint32_t data)
{
	uint32_t rec;

	if (e->full)
		return 0;
	put32(e->nops_at, e->nops);
	rec = (uint32_t)(e->p - e->buf - 4) + data + tnfs_xdr_pad(data);
	put32(e->buf, TNFS_XDR_LAST_FRAG | rec);
	return (size_t)(e->p - e->buf);
}

/* The RPC NULL to NFSv4: the liveness probe. */
static size_t encode_null(unsigned char *buf, size_t cap, uint32_t xid,
			  const struct tnfs_xdr_auth *a)
{
	unsigned char *p = buf + 4;

	if (cap < 28 + a->cred_len)
		return 0;
	p = put32(p, xid);
	p = put32(p, RPC_CALL);
	p = put32(p, RPC_VERSION);
	p = put32(p, TNFS_XDR_PROGRAM);
	p = put32(p, TNFS_XDR4_VERSION);
	p = put32(p, 0);
	memcpy(p, a->cred, a->cred_len);
	p += a->cred_len;
	put32(buf, TNFS_XDR_LAST_FRAG | (uint32_t)(p - buf - 4));
	return (size_t)(p - buf);
}

size_t tnfs_xdr4_encode(unsigned char *buf, size_t cap, uint32_t xid,
			const struct tnfs_xdr_auth *a,
			const struct tnfs_xdr4_ctx *c,
			const struct tnfs_xdr_call *call)
{
	struct tnfs_xdr4_enc e;
	uint32_t data = 0;

	if (call->proc == TNFS_XDR_NULL)
		return encode_null(buf, cap, xid, a);
	tnfs_xdr4_begin(&e, buf, cap, xid, a, c->minor);
	switch (call->proc) {
	case TNFS_XDR_READ:
		tnfs_xdr4_op_sequence(&e, c);
		tnfs_xdr4_op_putfh_prepared(&e, a);
		tnfs_xdr4_op_read(&e, &c->stateid, call->offset, call->count);
		break;
	case TNFS_XDR_WRITE:
		tnfs_xdr4_op_sequence(&e, c);
		tnfs_xdr4_op_putfh_prepared(&e, a);
		tnfs_xdr4_op_write(&e, &c->stateid, call->offset,
				   call->stable, call->count);
		data = call->count;
		break;
	case TNFS_XDR_COMMIT:
		tnfs_xdr4_op_sequence(&e, c);
		tnfs_xdr4_op_putfh_prepared(&e, a);
		tnfs_xdr4_op_commit(&e, call->offset, call->count);
		break;
	case TNFS_XDR_GETATTR:
		tnfs_xdr4_op_sequence(&e, c);
		tnfs_xdr4_op_putfh_prepared(&e, a);
		tnfs_xdr4_op_getattr(&e, TNFS_FATTR4_CHECK);
		break;
	case TNFS_XDR4_DEALLOCATE:
		if (c->minor < 2)
			return 0;
		tnfs_xdr4_op_sequence(&e, c);
		tnfs_xdr4_op_putfh_prepared(&e, a);
		tnfs_xdr4_op_deallocate(&e, &c->stateid, call->offset,
					call->length);
		tnfs_xdr4_op_commit(&e, 0, 0);
		break;
	case TNFS_XDR4_RENEW:
		tnfs_xdr4_op_sequence(&e, c);
		break;
	case TNFS_XDR4_EXCHANGE_ID:
		tnfs_xdr4_op_exchange_id(&e, c);
		break;
	case TNFS_XDR4_CREATE_SESSION:
		tnfs_xdr4_op_create_session(&e, c);
		break;
	case TNFS_XDR4_BIND_CONN:
		tnfs_xdr4_op_bind_conn(&e, c);
		break;
	case TNFS_XDR4_RECLAIM_COMPLETE:
		tnfs_xdr4_op_sequence(&e, c);
		tnfs_xdr4_op_reclaim_complete(&e);
		break;
	case TNFS_XDR4_OPEN_FH:
	case TNFS_XDR4_OPEN_PREV:
		tnfs_xdr4_op_sequence(&e, c);
		tnfs_xdr4_op_putfh_prepared(&e, a);
		tnfs_xdr4_op_open(&e, c, call->proc == TNFS_XDR4_OPEN_FH ?
				  4 : 1, NULL, 0, 0, 0, NULL);
		break;
	case TNFS_XDR4_CLOSE:
		tnfs_xdr4_op_sequence(&e, c);
		tnfs_xdr4_op_putfh_prepared(&e, a);
		tnfs_xdr4_op_close(&e, &c->stateid);
		break;
	case TNFS_XDR4_DESTROY_SESSION:
		tnfs_xdr4_op_destroy_session(&e, c);
		break;
	case TNFS_XDR4_DESTROY_CLIENTID:
		tnfs_xdr4_op_destroy_clientid(&e, c);
		break;
	default:
		return 0;
	}
	return tnfs_xdr4_end(&e, data);
}

unsigned int tnfs_xdr4_ops_of(enum tnfs_xdr_proc proc, uint32_t *ops)
{
	unsigned int n = 0;

	switch (proc) {
	case TNFS_XDR_NULL:
		return 0;
	case TNFS_XDR4_EXCHANGE_ID:
		ops[0] = TNFS_OP4_EXCHANGE_ID;
		return 1;
	case TNFS_XDR4_CREATE_SESSION:
		ops[0] = TNFS_OP4_CREATE_SESSION;
		return 1;
	case TNFS_XDR4_BIND_CONN:
		ops[0] = TNFS_OP4_BIND_CONN;
		return 1;
	case TNFS_XDR4_DESTROY_SESSION:
		ops[0] = TNFS_OP4_DESTROY_SESSION;
		return 1;
	case TNFS_XDR4_DESTROY_CLIENTID:
		ops[0] = TNFS_OP4_DESTROY_CLIENTID;
		return 1;
	default:
		break;
	}
	ops[n++] = TNFS_OP4_SEQUENCE;
	if (proc == TNFS_XDR4_RENEW)
		return n;
	if (proc == TNFS_XDR4_RECLAIM_COMPLETE) {
		ops[n++] = TNFS_OP4_RECLAIM_COMPLETE;
		return n;
	}
	ops[n++] = TNFS_OP4_PUTFH;
	switch (proc) {
	case TNFS_XDR_READ:
		ops[n++] = TNFS_OP4_READ;
		break;
	case TNFS_XDR_WRITE:
		ops[n++] = TNFS_OP4_WRITE;
		break;
	case TNFS_XDR_COMMIT:
		ops[n++] = TNFS_OP4_COMMIT;
		break;
	case TNFS_XDR_GETATTR:
		ops[n++] = TNFS_OP4_GETATTR;
		break;
	case TNFS_XDR4_DEALLOCATE:
		ops[n++] = TNFS_OP4_DEALLOCATE;
		ops[n++] = TNFS_OP4_COMMIT;
		break;
	case TNFS_XDR4_OPEN_FH:
	case TNFS_XDR4_OPEN_PREV:
		ops[n++] = TNFS_OP4_OPEN;
		break;
	case TNFS_XDR4_CLOSE:
		ops[n++] = TNFS_OP4_CLOSE;
		break;
	default:
		return 0;
	}
	return n;
}

/*
 * The most an op's result holds past its opcode and status, as
 * get_result takes it; -1: no fixed bound.
 */
static int64_t result_max(uint32_t op, uint32_t count)
{
	switch (op) {
	case TNFS_OP4_SEQUENCE:
		return TNFS_XDR4_SESSIONID + 5 * 4;
	case TNFS_OP4_PUTFH:
	case TNFS_OP4_DEALLOCATE:
	case TNFS_OP4_RECLAIM_COMPLETE:
		return 0;
	case TNFS_OP4_READ:		/* eof, data */
		return 2 * 4 + (int64_t)count + tnfs_xdr_pad(count);
	case TNFS_OP4_WRITE:		/* count, committed, verifier */
		return 2 * 4 + TNFS_XDR_VERFSIZE;
	case TNFS_OP4_COMMIT:
		return TNFS_XDR_VERFSIZE;
	case TNFS_OP4_GETATTR:		/* bitmap4 of 3 words, attrlist4 */
		return 4 + 3 * 4 + 4 + MAX_STRING * 2 + 256;
	case TNFS_OP4_CLOSE:
		return 4 + TNFS_XDR4_OTHER;
	default:
		return -1;
	}
}

uint32_t tnfs_xdr4_reply_max(enum tnfs_xdr_proc proc, uint32_t count)
{
	uint32_t ops[TNFS_XDR4_MAX_OPS];
	unsigned int n = tnfs_xdr4_ops_of(proc, ops), i;
	/* status, an empty tag, the number of results */
	int64_t max = TNFS_XDR_RPC_REPLY_MAX + 3 * 4, m;

	if (proc == TNFS_XDR_NULL)
		return TNFS_XDR_RPC_REPLY_MAX;
	if (!n)
		return 0;
	for (i = 0; i < n; i++) {
		m = result_max(ops[i], count);
		if (m < 0)
			return 0;
		max += 2 * 4 + m;
	}
	return max < UINT32_MAX ? (uint32_t)max : 0;
}

/* An NFSv3 call's procedure, and a READ's count. */
static uint32_t call3_max(struct xdr_in *x, uint32_t proc)
{
	uint32_t len, count = 0;

	switch (proc) {
	case TNFS_XDR_READ:
		get_opaque(x, TNFS_XDR_FHSIZE3, &len);
		get64(x);
		count = get32(x);
		if (x->bad)
			return 0;
		/* fall through */
	case TNFS_XDR_NULL:
	case TNFS_XDR_GETATTR:
	case TNFS_XDR_WRITE:
	case TNFS_XDR_COMMIT:
		return tnfs_xdr_reply_max(proc, count);
	default:
		return 0;
	}
}

/*
 * A COMPOUND's operations, as tnfs_xdr4_ops_of would list them for one
 * of the transport's procedures; 0 for any other.
 */
static uint32_t call4_max(struct xdr_in *x)
{
	enum tnfs_xdr_proc proc;
	uint32_t n, len, op, count = 0, ops[TNFS_XDR4_MAX_OPS];

	get_opaque(x, MAX_TAG, &len);
	get32(x);				/* minorversion */
	n = get32(x);
	if (x->bad || !n || get32(x) != TNFS_OP4_SEQUENCE)
		return 0;
	get_bytes(x, TNFS_XDR4_SESSIONID + 4 * 4);
	op = n > 1 ? get32(x) : 0;
	if (op == TNFS_OP4_RECLAIM_COMPLETE) {
		proc = TNFS_XDR4_RECLAIM_COMPLETE;
	} else if (!op) {
		proc = TNFS_XDR4_RENEW;
	} else if (op == TNFS_OP4_PUTFH && n > 2) {
		get_opaque(x, TNFS_XDR_FHSIZE, &len);
		switch (get32(x)) {
		case TNFS_OP4_READ:
			get_bytes(x, 4 + TNFS_XDR4_OTHER + 8);
			count = get32(x);
			proc = TNFS_XDR_READ;
			break;
		case TNFS_OP4_WRITE:
			proc = TNFS_XDR_WRITE;
			break;
		case TNFS_OP4_COMMIT:
			proc = TNFS_XDR_COMMIT;
			break;
		case TNFS_OP4_GETATTR:
			proc = TNFS_XDR_GETATTR;
			break;
		case TNFS_OP4_DEALLOCATE:
			proc = TNFS_XDR4_DEALLOCATE;
			break;
		case TNFS_OP4_CLOSE:
			proc = TNFS_XDR4_CLOSE;
			break;
		default:
			return 0;
		}
	} else {
		return 0;
	}
	/* a compound of other operations than that procedure's: unknown */
	if (x->bad || tnfs_xdr4_ops_of(proc, ops) != n)
		return 0;
	return tnfs_xdr4_reply_max(proc, count);
}

uint32_t tnfs_xdr4_call_reply_max(const unsigned char *rec, size_t len)
{
	struct xdr_in x = { .p = rec, .len = len };
	uint32_t vers, proc, l;

	get32(&x);				/* xid */
	if (get32(&x) != RPC_CALL || get32(&x) != RPC_VERSION ||
	    get32(&x) != TNFS_XDR_PROGRAM)
		return 0;
	vers = get32(&x);
	proc = get32(&x);
	get32(&x);				/* credential */
	get_opaque(&x, 400, &l);
	get32(&x);				/* verifier */
	get_opaque(&x, 400, &l);
	if (x.bad)
		return 0;
	if (vers == TNFS_XDR_VERSION)
		return call3_max(&x, proc);
	if (vers != TNFS_XDR4_VERSION)
		return 0;
	if (proc == TNFS_XDR_NULL)
		return tnfs_xdr4_reply_max(TNFS_XDR_NULL, 0);
	return proc == NFS4_COMPOUND ? call4_max(&x) : 0;
}

/* ---- decoding ---- */

static void get_fixed(struct xdr_in *x, void *dst, size_t n)
{
	const unsigned char *b = get_bytes(x, n);

	if (b)
		memcpy(dst, b, n);
}

static void get_stateid(struct xdr_in *x, struct tnfs_xdr4_stateid *s)
{
	s->seqid = get32(x);
	get_fixed(x, s->other, TNFS_XDR4_OTHER);
}

/* bitmap4 of at most 3 words, as a mask; bits past 63 are refused */
static uint64_t get_bitmap(struct xdr_in *x)
{
	uint32_t n = get32(x), i, w;
	uint64_t mask = 0;

	if (!x->bad && n > 3)
		bad(x, "a bitmap longer than any attribute");
	for (i = 0; !x->bad && i < n; i++) {
		w = get32(x);
		if (i < 2)
			mask |= (uint64_t)w << (32 * i);
		else if (w)
			bad(x, "an attribute past word 1 of its bitmap");
	}
	return mask;
}

/* "1000" as 1000; a name ("user@domain") as ~0 */
static uint32_t numeric_id(const unsigned char *s, uint32_t len)
{
	uint64_t v = 0;
	uint32_t i;

	if (!s || !len || len > 10)
		return UINT32_MAX;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return UINT32_MAX;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	return v < UINT32_MAX ? (uint32_t)v : UINT32_MAX;
}

/* an owner string, for messages: printable bytes only, cut to fit */
static void copy_name(char *dst, size_t cap, const unsigned char *s,
		      uint32_t len)
{
	size_t i, n = s ? (len < cap - 1 ? len : cap - 1) : 0;

	for (i = 0; i < n; i++)
		dst[i] = s[i] >= 0x20 && s[i] < 0x7f ? (char)s[i] : '?';
	dst[n] = '\0';
}

#define KNOWN_ATTRS	(TNFS_FATTR4_BIT(TNFS_FATTR4_TYPE) | \
			 TNFS_FATTR4_BIT(TNFS_FATTR4_SIZE) | \
			 TNFS_FATTR4_BIT(TNFS_FATTR4_LEASE_TIME) | \
			 TNFS_FATTR4_BIT(TNFS_FATTR4_FILEID) | \
			 TNFS_FATTR4_BIT(TNFS_FATTR4_MAXREAD) | \
			 TNFS_FATTR4_BIT(TNFS_FATTR4_MAXWRITE) | \
			 TNFS_FATTR4_BIT(TNFS_FATTR4_MODE) | \
			 TNFS_FATTR4_BIT(TNFS_FATTR4_NUMLINKS) | \
			 TNFS_FATTR4_BIT(TNFS_FATTR4_OWNER) | \
			 TNFS_FATTR4_BIT(TNFS_FATTR4_OWNER_GROUP))

/*
 * fattr4: the bitmap, then the values of its bits in order, exactly
 * filling the attribute list.  A bit this client never asks for cannot
 * be skipped (its size is its own) and is refused.
 */
static void get_fattr4(struct xdr_in *x, struct tnfs_xdr4_attr *a)
{
	struct xdr_in v;
	const unsigned char *b, *s;
	uint32_t len, slen;
	uint64_t m;

	memset(a, 0, sizeof(*a));
	a->owner = a->group = UINT32_MAX;
	m = get_bitmap(x);
	b = get_opaque(x, MAX_STRING * 2 + 256, &len);
	if (x->bad)
		return;
	if (m & ~KNOWN_ATTRS) {
		bad(x, "an attribute not asked for");
		return;
	}
	a->mask = m;
	v = (struct xdr_in){ .p = b, .len = len };
	if (m & TNFS_FATTR4_BIT(TNFS_FATTR4_TYPE))
		a->type = get32(&v);
	if (m & TNFS_FATTR4_BIT(TNFS_FATTR4_SIZE))
		a->size = get64(&v);
	if (m & TNFS_FATTR4_BIT(TNFS_FATTR4_LEASE_TIME))
		a->lease_time = get32(&v);
	if (m & TNFS_FATTR4_BIT(TNFS_FATTR4_FILEID))
		a->fileid = get64(&v);
	if (m & TNFS_FATTR4_BIT(TNFS_FATTR4_MAXREAD))
		a->maxread = get64(&v);
	if (m & TNFS_FATTR4_BIT(TNFS_FATTR4_MAXWRITE))
		a->maxwrite = get64(&v);
	if (m & TNFS_FATTR4_BIT(TNFS_FATTR4_MODE))
		a->mode = get32(&v);
	if (m & TNFS_FATTR4_BIT(TNFS_FATTR4_NUMLINKS))
		a->numlinks = get32(&v);
	if (m & TNFS_FATTR4_BIT(TNFS_FATTR4_OWNER)) {
		s = get_opaque(&v, MAX_STRING, &slen);
		a->owner = numeric_id(s, slen);
		copy_name(a->owner_name, sizeof(a->owner_name), s, slen);
	}
	if (m & TNFS_FATTR4_BIT(TNFS_FATTR4_OWNER_GROUP)) {
		s = get_opaque(&v, MAX_STRING, &slen);
		a->group = numeric_id(s, slen);
		copy_name(a->group_name, sizeof(a->group_name), s, slen);
	}
	if (v.bad)
		bad(x, v.why);
	else if (v.pos != v.len)
		bad(x, "attribute values longer than their bitmap says");
}

static void get_channel(struct xdr_in *x, uint32_t *max_req,
			uint32_t *max_resp, uint32_t *reqs)
{
	uint32_t rdma;

	get32(x);			/* header padding */
	*max_req = get32(x);
	*max_resp = get32(x);
	get32(x);			/* cached */
	get32(x);			/* operations */
	*reqs = get32(x);
	rdma = get32(x);
	if (!x->bad && rdma > 1)
		bad(x, "more than one RDMA ird");
	if (rdma)
		get32(x);
}

static void get_sequence(struct xdr_in *x, struct tnfs_xdr_reply *r)
{
	get_bytes(x, TNFS_XDR4_SESSIONID);
	r->seq_seqid = get32(x);
	r->seq_slot = get32(x);
	r->seq_highest = get32(x);
	r->seq_target = get32(x);
	r->seq_flags = get32(x);
}

static void get_exchange_id(struct xdr_in *x, struct tnfs_xdr4_res *res)
{
	uint32_t len, n, i;

	res->clientid = get64(x);
	res->eir_seq = get32(x);
	res->eir_flags = get32(x);
	switch (get32(x)) {
	case SP4_NONE:
		break;
	default:
		/* we asked for SP4_NONE; anything else is not an answer */
		bad(x, "a state protection not asked for");
		return;
	}
	get64(x);			/* so_minor_id */
	get_opaque(x, NFS4_OPAQUE_LIMIT, &len);	/* so_major_id */
	get_opaque(x, NFS4_OPAQUE_LIMIT, &len);	/* server scope */
	n = get32(x);
	if (!x->bad && n > 1)
		bad(x, "more than one implementation id");
	for (i = 0; !x->bad && i < n; i++) {
		get_opaque(x, MAX_STRING, &len);	/* domain */
		get_opaque(x, MAX_STRING, &len);	/* name */
		get64(x);				/* date */
		get32(x);
	}
}

static void get_nfsace(struct xdr_in *x)
{
	uint32_t len;

	get32(x);
	get32(x);
	get32(x);
	get_opaque(x, MAX_STRING, &len);
}

static void get_open(struct xdr_in *x, struct tnfs_xdr4_res *res)
{
	uint32_t why;

	get_stateid(x, &res->stateid);
	get_bool(x);			/* change_info4 */
	get64(x);
	get64(x);
	res->open_rflags = get32(x);
	get_bitmap(x);			/* attrset */
	switch (get32(x)) {
	case 0:				/* OPEN_DELEGATE_NONE */
		break;
	case 3:				/* OPEN_DELEGATE_NONE_EXT */
		why = get32(x);
		if (why == 1 || why == 2)	/* CONTENTION, RESOURCE */
			get_bool(x);
		break;
	case 1:				/* READ: never asked for */
	case 2:
		get_stateid(x, &(struct tnfs_xdr4_stateid){ 0 });
		get_bool(x);
		bad(x, "a delegation not asked for");
		get_nfsace(x);
		break;
	default:
		bad(x, "an unknown delegation type");
	}
	/* 4.1: an open needs no confirmation (OPEN4_RESULT_CONFIRM) */
	if (!x->bad && (res->open_rflags & 2))
		bad(x, "an OPEN to confirm, as in NFSv4.0");
}

static void get_read(struct xdr_in *x, uint32_t asked,
		     struct tnfs_xdr_reply *r)
{
	uint32_t len;

	r->eof = get_bool(x);
	r->data = get_opaque(x, asked, &len);
	r->count = len;
}

static void get_write(struct xdr_in *x, uint32_t asked,
		      struct tnfs_xdr_reply *r)
{
	r->count = get32(x);
	r->committed = get32(x);
	if (!x->bad && r->count > asked)
		bad(x, "a count above the one asked");
	if (!x->bad && r->committed > TNFS_XDR_FILE_SYNC)
		bad(x, "a stable_how out of range");
	get_fixed(x, r->verf, TNFS_XDR_VERFSIZE);
}

/* The result of @opcode (its status already read and 0). */
static void get_result(struct xdr_in *x, uint32_t opcode, uint32_t asked,
		       struct tnfs_xdr4_res *res)
{
	struct tnfs_xdr_reply *r = &res->r;
	uint32_t len;
	const unsigned char *b;

	switch (opcode) {
	case TNFS_OP4_SEQUENCE:
		get_sequence(x, r);
		break;
	case TNFS_OP4_PUTFH:
	case TNFS_OP4_PUTROOTFH:
	case TNFS_OP4_LOOKUP:
	case TNFS_OP4_SETATTR:
	case TNFS_OP4_RECLAIM_COMPLETE:
	case TNFS_OP4_DESTROY_SESSION:
	case TNFS_OP4_DESTROY_CLIENTID:
	case TNFS_OP4_DEALLOCATE:	/* DEALLOCATE4res: the status alone */
		break;
	case TNFS_OP4_GETFH:
		b = get_opaque(x, TNFS_XDR_FHSIZE, &len);
		if (b && !len)
			bad(x, "an empty file handle");
		if (b && len) {
			res->have_fh = true;
			res->fh.len = len;
			memcpy(res->fh.data, b, len);
		}
		break;
	case TNFS_OP4_GETATTR:
		get_fattr4(x, &res->attr);
		/* as v3's fattr3, for the same checks */
		r->have_attr = true;
		r->attr.type = res->attr.type;
		r->attr.nlink = res->attr.numlinks;
		r->attr.size = res->attr.size;
		r->attr.fileid = res->attr.fileid;
		break;
	case TNFS_OP4_OPEN:
		get_open(x, res);
		break;
	case TNFS_OP4_CLOSE:
		get_stateid(x, &res->stateid);
		break;
	case TNFS_OP4_READ:
		get_read(x, asked, r);
		break;
	case TNFS_OP4_WRITE:
		get_write(x, asked, r);
		break;
	case TNFS_OP4_COMMIT:
		get_fixed(x, r->verf, TNFS_XDR_VERFSIZE);
		break;
	case TNFS_OP4_EXCHANGE_ID:
		get_exchange_id(x, res);
		break;
	case TNFS_OP4_CREATE_SESSION:
		get_fixed(x, res->sessionid, TNFS_XDR4_SESSIONID);
		get32(x);		/* csr_sequence */
		res->cs_flags = get32(x);
		get_channel(x, &res->fore_max_req, &res->fore_max_resp,
			    &res->fore_slots);
		get_channel(x, &len, &len, &len);
		break;
	case TNFS_OP4_BIND_CONN:
		get_fixed(x, res->sessionid, TNFS_XDR4_SESSIONID);
		res->bind_dir = get32(x);
		get_bool(x);
		break;
	default:
		bad(x, "an answer to an operation not sent");
	}
}

/* nfsstat4, read as v3's get_status: never an engine code */
static uint32_t get_status4(struct xdr_in *x)
{
	uint32_t st = get32(x);

	return st > TNFS_XDR_STATUS_MAX ? TNFS_XDR_STATUS_MAX : st;
}

/* The COMPOUND4res head: status and tag; the result count. */
static uint32_t get_compound_head(struct xdr_in *x, struct tnfs_xdr_reply *r)
{
	uint32_t len;

	r->status = get_status4(x);
	get_opaque(x, MAX_TAG, &len);
	if (!x->bad && len)
		bad(x, "a tag that was not sent");
	return get32(x);
}

static void get_results(struct xdr_in *x, const uint32_t *ops,
			unsigned int nops, uint32_t count,
			struct tnfs_xdr4_res *res)
{
	struct tnfs_xdr_reply *r = &res->r;
	uint32_t n, i, opcode, st = 0;

	n = get_compound_head(x, r);
	if (x->bad)
		return;
	if (n > nops || (!n && nops)) {
		bad(x, "a number of results other than of operations");
		return;
	}
	res->nres = n;
	for (i = 0; i < n && !x->bad; i++) {
		opcode = get32(x);
		if (!x->bad && opcode != ops[i]) {
			/* OP_ILLEGAL answers an op the server does not know */
			if (opcode != TNFS_OP4_ILLEGAL) {
				bad(x, "results for other operations");
				return;
			}
		}
		st = get_status4(x);
		/* SETATTR4res has its attrsset whatever its status */
		if (opcode == TNFS_OP4_SETATTR)
			get_bitmap(x);
		if (x->bad)
			return;
		if (i == 0 && ops[0] == TNFS_OP4_SEQUENCE) {
			r->seq = true;
			r->seq_status = st;
		}
		if (st) {
			r->fail_op = opcode;
			break;
		}
		get_result(x, opcode, count, res);
	}
	if (x->bad)
		return;
	/* the last result must be the one that failed, if any did */
	if (i < n)
		i++;
	if (i != n)
		bad(x, "results past a failed operation");
	else if (st != r->status)
		bad(x, "a COMPOUND status other than its last result's");
	else if (!st && n != nops)
		bad(x, "fewer results than operations, none failed");
}

int tnfs_xdr4_decode(const unsigned char *rec, size_t len,
		     const uint32_t *ops, unsigned int nops, uint32_t count,
		     struct tnfs_xdr4_res *res)
{
	struct xdr_in x = { .p = rec, .len = len };

	memset(res, 0, sizeof(*res));
	if (!tnfs_xdr_rpc_header(&x, &res->r) || !nops)
		goto out;
	get_results(&x, ops, nops, count, res);
out:
	if (!x.bad && x.pos != x.len)
		bad(&x, "bytes after its end");
	if (x.bad) {
		res->r.why = x.why;
		return -EBADMSG;
	}
	return 0;
}

int tnfs_xdr4_decode_reply(const unsigned char *rec, size_t len,
			   enum tnfs_xdr_proc proc, uint32_t count,
			   struct tnfs_xdr4_res *res)
{
	uint32_t ops[TNFS_XDR4_MAX_OPS];
	unsigned int n = tnfs_xdr4_ops_of(proc, ops);

	if (!n && proc != TNFS_XDR_NULL) {
		memset(res, 0, sizeof(*res));
		res->r.why = "an answer to an unknown call";
		return -EBADMSG;
	}
	return tnfs_xdr4_decode(rec, len, ops, n, count, res);
}

int tnfs_xdr4_decode_seq(const unsigned char *rec, size_t len,
			 struct tnfs_xdr_reply *r)
{
	struct xdr_in x = { .p = rec, .len = len };

	memset(r, 0, sizeof(*r));
	if (!tnfs_xdr_rpc_header(&x, r))
		return -1;
	if (!get_compound_head(&x, r) || get32(&x) != TNFS_OP4_SEQUENCE)
		return -1;
	r->seq = true;
	r->seq_status = get_status4(&x);
	if (!r->seq_status)
		get_sequence(&x, r);
	return x.bad ? -1 : 0;
}

int tnfs_xdr4_decode_read_head(const unsigned char *rec, size_t avail,
			       size_t rec_len, uint32_t count,
			       struct tnfs_xdr_reply *r, size_t *data_off)
{
	struct xdr_in x = { .p = rec, .len = avail < rec_len ? avail :
						rec_len };
	uint32_t len;

	memset(r, 0, sizeof(*r));
	if (!tnfs_xdr_rpc_header(&x, r))
		goto bad;
	if (get_compound_head(&x, r) != 3 && !x.bad)
		return -1;
	if (!x.bad && r->status)
		return -1;
	if (get32(&x) != TNFS_OP4_SEQUENCE && !x.bad)
		return -1;
	if (get32(&x) && !x.bad)
		return -1;
	r->seq = true;
	get_sequence(&x, r);
	if ((get32(&x) != TNFS_OP4_PUTFH || get32(&x) ||
	     get32(&x) != TNFS_OP4_READ || get32(&x)) && !x.bad)
		return -1;
	r->eof = get_bool(&x);
	len = get32(&x);
	if (x.bad)
		goto bad;
	if (len > count || rec_len != x.pos + len + tnfs_xdr_pad(len))
		return -1;
	r->count = len;
	*data_off = x.pos;
	return 1;
bad:
	/* wait only if the bytes ran out before anything was wrong */
	return x.bad && x.ran_out && x.len < rec_len ? 0 : -1;
}
