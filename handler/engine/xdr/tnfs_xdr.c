// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <string.h>

#include "tnfs_status.h"
#include "tnfs_xdr.h"
#include "tnfs_xdr_prim.h"

#define RPC_CALL		0
#define RPC_REPLY		1
#define RPC_VERSION		2
#define AUTH_NONE		0
#define AUTH_SYS		1
#define MSG_ACCEPTED		0
#define MSG_DENIED		1
#define ACCEPT_SUCCESS		0
#define ACCEPT_PROG_UNAVAIL	1
#define ACCEPT_PROG_MISMATCH	2
#define ACCEPT_PROC_UNAVAIL	3
#define ACCEPT_GARBAGE_ARGS	4
#define ACCEPT_SYSTEM_ERR	5
#define DENIED_RPC_MISMATCH	0
#define DENIED_AUTH_ERROR	1
#define MAX_AUTH_BYTES		400
#define MAX_MACHINE		64
#define FATTR3_SIZE		84
#define WCC_ATTR_SIZE		24

const char *tnfs_xdr_proc_name(enum tnfs_xdr_proc proc)
{
	switch (proc) {
	case TNFS_XDR_NULL:
		return "NULL";
	case TNFS_XDR_GETATTR:
		return "GETATTR";
	case TNFS_XDR_READ:
		return "READ";
	case TNFS_XDR_WRITE:
		return "WRITE";
	case TNFS_XDR_COMMIT:
		return "COMMIT";
	case TNFS_XDR4_RENEW:
		return "SEQUENCE";
	case TNFS_XDR4_EXCHANGE_ID:
		return "EXCHANGE_ID";
	case TNFS_XDR4_CREATE_SESSION:
		return "CREATE_SESSION";
	case TNFS_XDR4_BIND_CONN:
		return "BIND_CONN_TO_SESSION";
	case TNFS_XDR4_RECLAIM_COMPLETE:
		return "RECLAIM_COMPLETE";
	case TNFS_XDR4_OPEN_FH:
	case TNFS_XDR4_OPEN_PREV:
		return "OPEN";
	case TNFS_XDR4_CLOSE:
		return "CLOSE";
	case TNFS_XDR4_DESTROY_SESSION:
		return "DESTROY_SESSION";
	case TNFS_XDR4_DESTROY_CLIENTID:
		return "DESTROY_CLIENTID";
	case TNFS_XDR4_DEALLOCATE:
		return "DEALLOCATE";
	}
	return "?";
}

/* ---- encoding ---- */

void tnfs_xdr_prepare(struct tnfs_xdr_auth *a,
		      const struct tnfs_xdr_cred *cred,
		      const struct tnfs_xdr_fh *fh)
{
	const char *machine = cred->machine;
	uint32_t mlen = (uint32_t)strnlen(machine, MAX_MACHINE);
	unsigned char *p = a->cred, *cred_len;

	p = put32(p, AUTH_SYS);
	cred_len = p;
	p += 4;
	p = put32(p, 0);			/* stamp */
	p = put_opaque(p, machine, mlen);
	p = put32(p, cred->uid);
	p = put32(p, cred->gid);
	p = put32(p, 0);			/* no supplementary groups */
	put32(cred_len, (uint32_t)(p - cred_len - 4));
	p = put32(p, AUTH_NONE);
	p = put32(p, 0);
	a->cred_len = (uint32_t)(p - a->cred);
	a->fh_len = (uint32_t)(put_opaque(a->fh, fh->data, fh->len) - a->fh);
}

size_t tnfs_xdr_encode_prepared(unsigned char *buf, uint32_t xid,
				const struct tnfs_xdr_auth *a,
				const struct tnfs_xdr_call *call)
{
	unsigned char *p = buf + 4;
	uint32_t rec;

	p = put32(p, xid);
	p = put32(p, RPC_CALL);
	p = put32(p, RPC_VERSION);
	p = put32(p, TNFS_XDR_PROGRAM);
	p = put32(p, TNFS_XDR_VERSION);
	p = put32(p, call->proc);
	memcpy(p, a->cred, a->cred_len);
	p += a->cred_len;
	if (call->proc != TNFS_XDR_NULL) {
		memcpy(p, a->fh, a->fh_len);
		p += a->fh_len;
	}
	switch (call->proc) {
	case TNFS_XDR_NULL:
	case TNFS_XDR_GETATTR:
		break;
	case TNFS_XDR_READ:
	case TNFS_XDR_COMMIT:
		p = put64(p, call->offset);
		p = put32(p, call->count);
		break;
	case TNFS_XDR_WRITE:
		p = put64(p, call->offset);
		p = put32(p, call->count);
		p = put32(p, call->stable);
		p = put32(p, call->count);	/* the data's length */
		break;
	default:			/* NFSv4 only: tnfs_xdr4.c */
		break;
	}
	rec = (uint32_t)(p - buf - 4);
	if (call->proc == TNFS_XDR_WRITE)
		rec += call->count + tnfs_xdr_pad(call->count);
	put32(buf, TNFS_XDR_LAST_FRAG | rec);
	return (size_t)(p - buf);
}

size_t tnfs_xdr_encode_call(unsigned char *buf, uint32_t xid,
			    const struct tnfs_xdr_cred *cred,
			    const struct tnfs_xdr_fh *fh,
			    const struct tnfs_xdr_call *call)
{
	struct tnfs_xdr_auth a;

	tnfs_xdr_prepare(&a, cred, fh);
	return tnfs_xdr_encode_prepared(buf, xid, &a, call);
}

/* ---- decoding ---- */

/* fattr3 is fixed: one bounds check, then loads from the block */
static void get_fattr(struct xdr_in *x, struct tnfs_xdr_attr *a)
{
	const unsigned char *b = get_bytes(x, FATTR3_SIZE);

	if (!b)
		return;
	a->type = be32(b);		/* mode at 4 */
	a->nlink = be32(b + 8);		/* uid, gid at 12, 16 */
	a->size = (uint64_t)be32(b + 20) << 32 | be32(b + 24);
	/* used, rdev, fsid at 28..51 */
	a->fileid = (uint64_t)be32(b + 52) << 32 | be32(b + 56);
	/* atime, mtime, ctime at 60..83 */
}

static void get_post_op_attr(struct xdr_in *x, struct tnfs_xdr_reply *r)
{
	if (get_bool(x)) {
		r->have_attr = true;
		get_fattr(x, &r->attr);
	}
}

/* wcc_data: the size before (pre_op_attr: size, mtime, ctime), after */
static void get_wcc_data(struct xdr_in *x, struct tnfs_xdr_reply *r)
{
	if (get_bool(x)) {
		r->have_pre_size = true;
		r->pre_size = get64(x);
		get_bytes(x, WCC_ATTR_SIZE - 8);
	}
	get_post_op_attr(x, r);
}

uint32_t tnfs_xdr_reply_max(enum tnfs_xdr_proc proc, uint32_t count)
{
	/* status, then wcc_data: pre_op_attr and post_op_attr, both set */
	const uint32_t wcc = 4 + 4 + WCC_ATTR_SIZE + 4 + FATTR3_SIZE;

	switch (proc) {
	case TNFS_XDR_NULL:
		return TNFS_XDR_RPC_REPLY_MAX;
	case TNFS_XDR_GETATTR:
		return TNFS_XDR_RPC_REPLY_MAX + 4 + FATTR3_SIZE;
	case TNFS_XDR_READ:
		return TNFS_XDR_RPC_REPLY_MAX + 4 + 4 + FATTR3_SIZE + 3 * 4 +
		       count + tnfs_xdr_pad(count);
	case TNFS_XDR_WRITE:
		return TNFS_XDR_RPC_REPLY_MAX + wcc + 2 * 4 +
		       TNFS_XDR_VERFSIZE;
	case TNFS_XDR_COMMIT:
		return TNFS_XDR_RPC_REPLY_MAX + wcc + TNFS_XDR_VERFSIZE;
	default:
		return 0;
	}
}

int tnfs_xdr_result(const struct tnfs_xdr_reply *r)
{
	static const int rpc_results[] = {
		[TNFS_XDR_RPC_MISMATCH] = TNFS_IO_ERR_RPC_MISMATCH,
		[TNFS_XDR_RPC_AUTH_ERROR] = TNFS_IO_ERR_AUTH,
		[TNFS_XDR_RPC_PROG_UNAVAIL] = TNFS_IO_ERR_PROG_UNAVAIL,
		[TNFS_XDR_RPC_PROG_MISMATCH] = TNFS_IO_ERR_PROG_MISMATCH,
		[TNFS_XDR_RPC_PROC_UNAVAIL] = TNFS_IO_ERR_PROC_UNAVAIL,
		[TNFS_XDR_RPC_GARBAGE_ARGS] = TNFS_IO_ERR_GARBAGE_ARGS,
		[TNFS_XDR_RPC_SYSTEM_ERR] = TNFS_IO_ERR_SYSTEM_ERR,
	};

	if (r->rpc == TNFS_XDR_RPC_OK)
		return (int)r->status;
	return rpc_results[r->rpc];
}

bool tnfs_xdr_reply_xid(const unsigned char *rec, size_t len, uint32_t *xid)
{
	struct xdr_in x = { .p = rec, .len = len };

	*xid = get32(&x);
	return !x.bad;
}

bool tnfs_xdr_rpc_header(struct xdr_in *x, struct tnfs_xdr_reply *r)
{
	uint32_t stat, len;

	r->xid = get32(x);
	if (get32(x) != RPC_REPLY)
		bad(x, "not a reply");
	stat = get32(x);
	if (stat == MSG_DENIED) {
		/* RPC_MISMATCH low high, or AUTH_ERROR auth_stat */
		switch (get32(x)) {
		case DENIED_RPC_MISMATCH:
			get32(x);
			r->rpc = TNFS_XDR_RPC_MISMATCH;
			break;
		case DENIED_AUTH_ERROR:
			r->rpc = TNFS_XDR_RPC_AUTH_ERROR;
			break;
		default:
			bad(x, "an unknown reject_stat");
		}
		get32(x);
		return false;
	}
	if (stat != MSG_ACCEPTED)
		bad(x, "neither accepted nor denied");
	get32(x);				/* verifier flavour */
	get_opaque(x, MAX_AUTH_BYTES, &len);
	switch (get32(x)) {
	case ACCEPT_SUCCESS:
		r->rpc = TNFS_XDR_RPC_OK;
		return !x->bad;
	case ACCEPT_PROG_UNAVAIL:
		r->rpc = TNFS_XDR_RPC_PROG_UNAVAIL;
		return false;
	case ACCEPT_PROG_MISMATCH:
		get32(x);
		get32(x);
		r->rpc = TNFS_XDR_RPC_PROG_MISMATCH;
		return false;
	case ACCEPT_PROC_UNAVAIL:
		r->rpc = TNFS_XDR_RPC_PROC_UNAVAIL;
		return false;
	case ACCEPT_GARBAGE_ARGS:
		r->rpc = TNFS_XDR_RPC_GARBAGE_ARGS;
		return false;
	case ACCEPT_SYSTEM_ERR:
		r->rpc = TNFS_XDR_RPC_SYSTEM_ERR;
		return false;
	default:
		bad(x, "an unknown accept_stat");
		return false;
	}
}

static void decode_read(struct xdr_in *x, uint32_t asked,
			struct tnfs_xdr_reply *r)
{
	uint32_t len;

	get_post_op_attr(x, r);
	if (r->status)
		return;
	r->count = get32(x);
	r->eof = get_bool(x);
	r->data = get_opaque(x, asked, &len);
	if (x->bad)
		return;
	if (r->count > asked)
		bad(x, "more data than asked");
	else if (len != r->count)
		bad(x, "a data length other than its count");
}

static void decode_write(struct xdr_in *x, uint32_t asked,
			 struct tnfs_xdr_reply *r)
{
	get_wcc_data(x, r);
	if (r->status)
		return;
	r->count = get32(x);
	r->committed = get32(x);
	if (!x->bad && r->count > asked)
		bad(x, "a count above the one asked");
	if (!x->bad && r->committed > TNFS_XDR_FILE_SYNC)
		bad(x, "a stable_how out of range");
	if (get_bytes(x, TNFS_XDR_VERFSIZE))
		memcpy(r->verf, x->p + x->pos - TNFS_XDR_VERFSIZE,
		       TNFS_XDR_VERFSIZE);
}

static void decode_commit(struct xdr_in *x, struct tnfs_xdr_reply *r)
{
	get_wcc_data(x, r);
	if (r->status)
		return;
	if (get_bytes(x, TNFS_XDR_VERFSIZE))
		memcpy(r->verf, x->p + x->pos - TNFS_XDR_VERFSIZE,
		       TNFS_XDR_VERFSIZE);
}

/*
 * An nfsstat3 the engine takes as its own int result: one that would
 * read as an engine failure (2^31 and up) is only "unexpected".
 */
static uint32_t get_status(struct xdr_in *x)
{
	uint32_t st = get32(x);

	return st > TNFS_XDR_STATUS_MAX ? TNFS_XDR_STATUS_MAX : st;
}

int tnfs_xdr_decode_reply(const unsigned char *rec, size_t len,
			  enum tnfs_xdr_proc proc, uint32_t count,
			  struct tnfs_xdr_reply *r)
{
	struct xdr_in x = { .p = rec, .len = len };

	memset(r, 0, sizeof(*r));
	if (!tnfs_xdr_rpc_header(&x, r))
		goto out;
	if (proc == TNFS_XDR_NULL)
		goto out;
	r->status = get_status(&x);
	switch (proc) {
	case TNFS_XDR_NULL:
		break;
	case TNFS_XDR_GETATTR:
		if (!r->status) {
			r->have_attr = true;
			get_fattr(&x, &r->attr);
		}
		break;
	case TNFS_XDR_READ:
		decode_read(&x, count, r);
		break;
	case TNFS_XDR_WRITE:
		decode_write(&x, count, r);
		break;
	case TNFS_XDR_COMMIT:
		decode_commit(&x, r);
		break;
	default:
		bad(&x, "an answer to an unknown procedure");
	}
out:
	if (!x.bad && x.pos != x.len)
		bad(&x, "bytes after its end");
	if (x.bad) {
		r->why = x.why;
		return -EBADMSG;
	}
	return 0;
}

int tnfs_xdr_decode_read_head(const unsigned char *rec, size_t avail,
			      size_t rec_len, uint32_t count,
			      struct tnfs_xdr_reply *r, size_t *data_off)
{
	struct xdr_in x = { .p = rec, .len = avail < rec_len ? avail :
						rec_len };
	uint32_t len;

	memset(r, 0, sizeof(*r));
	if (!tnfs_xdr_rpc_header(&x, r))
		goto bad;
	r->status = get_status(&x);
	if (!x.bad && r->status)
		return -1;
	get_post_op_attr(&x, r);
	r->count = get32(&x);
	r->eof = get_bool(&x);
	len = get32(&x);
	if (x.bad)
		goto bad;
	if (len != r->count || len > count ||
	    rec_len != x.pos + len + tnfs_xdr_pad(len))
		return -1;
	*data_off = x.pos;
	return 1;
bad:
	/* wait only if the bytes ran out before anything was wrong */
	return x.bad && x.ran_out && x.len < rec_len ? 0 : -1;
}
