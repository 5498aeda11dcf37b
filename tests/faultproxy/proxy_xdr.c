// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * nfs_fault_proxy: the little XDR it reads of a call or reply, and the
 * replies it makes up itself.
 */
#include <stdlib.h>
#include <string.h>

#include "fault_proxy_client.h"
#include "proxy.h"

/* ---- XDR decoding of the little we look at ---- */

bool xdr_u32(struct xdr *x, uint32_t *v)
{
	if (x->len - x->pos < 4)
		return false;
	*v = get_be32(x->p + x->pos);
	x->pos += 4;
	return true;
}

bool xdr_u64(struct xdr *x, uint64_t *v)
{
	uint32_t hi, lo;

	if (!xdr_u32(x, &hi) || !xdr_u32(x, &lo))
		return false;
	*v = (uint64_t)hi << 32 | lo;
	return true;
}

bool xdr_skip(struct xdr *x, size_t n)
{
	if (x->len - x->pos < n)
		return false;
	x->pos += n;
	return true;
}

/* pre_op_attr or post_op_attr: a bool, then @len bytes if it is TRUE */
bool xdr_skip_optional(struct xdr *x, size_t len)
{
	uint32_t present;

	return xdr_u32(x, &present) && (!present || xdr_skip(x, len));
}

/* variable-length opaque of at most @max bytes, padded to 4 */
bool xdr_skip_opaque(struct xdr *x, uint32_t max, uint32_t *len)
{
	size_t padded;
	uint32_t n;

	if (!xdr_u32(x, &n) || n > max)
		return false;
	padded = ((size_t)n + 3) & ~(size_t)3;
	if (x->len - x->pos < padded)
		return false;
	x->pos += padded;
	if (len)
		*len = n;
	return true;
}

bool parse_call(const struct msg *m, struct rpc_call *c)
{
	struct xdr *x = &c->args;
	uint32_t type, rpcvers, flavor;

	x->p = m->data + 4;
	x->len = m->len - 4;
	x->pos = 0;
	return xdr_u32(x, &c->xid) && xdr_u32(x, &type) && type == RPC_CALL &&
	       xdr_u32(x, &rpcvers) && rpcvers == RPC_VERSION &&
	       xdr_u32(x, &c->prog) && xdr_u32(x, &c->vers) &&
	       xdr_u32(x, &c->proc) &&
	       xdr_u32(x, &flavor) &&		/* cred */
	       xdr_skip_opaque(x, MAX_AUTH_BYTES, NULL) &&
	       xdr_u32(x, &flavor) &&		/* verf */
	       xdr_skip_opaque(x, MAX_AUTH_BYTES, NULL);
}

bool parse_write(struct xdr *x, struct write_args *w)
{
	return xdr_skip_opaque(x, NFS3_FHSIZE, NULL) &&
	       xdr_u64(x, &w->offset) && xdr_u32(x, &w->count) &&
	       xdr_u32(x, &w->stable) &&
	       xdr_skip_opaque(x, MAX_RECORD, &w->data_len);
}

/*
 * An accepted, successful reply: @x left at its results.  Positions in
 * @x are offsets into m->data + 4.
 */
bool parse_reply(const struct msg *m, struct xdr *x)
{
	uint32_t xid, type, stat, flavor;

	x->p = m->data + 4;
	x->len = m->len - 4;
	x->pos = 0;
	return xdr_u32(x, &xid) && xdr_u32(x, &type) && type == RPC_REPLY &&
	       xdr_u32(x, &stat) && stat == 0 &&	/* MSG_ACCEPTED */
	       xdr_u32(x, &flavor) &&
	       xdr_skip_opaque(x, MAX_AUTH_BYTES, NULL) &&
	       xdr_u32(x, &stat) && stat == 0;		/* SUCCESS */
}

/* WRITE3resok or COMMIT3resok: @x left just past the wcc_data */
bool parse_resok_wcc(struct xdr *x)
{
	uint32_t status;

	return xdr_u32(x, &status) && status == 0 &&
	       xdr_skip_optional(x, PRE_OP_ATTR_LEN) &&
	       xdr_skip_optional(x, FATTR3_LEN);
}

/*
 * Bytes of the resfail arm after the nfsstat3 when every attribute in
 * it is absent: 4 per post_op_attr, 8 per wcc_data.  -1 for NULL, whose
 * result is void and so cannot fail.
 */
int resfail_len(uint32_t proc)
{
	static const signed char len[NFSPROC3_MAX + 1] = {
		-1,	/* NULL */
		0,	/* GETATTR */
		8,	/* SETATTR: wcc_data */
		4,	/* LOOKUP: dir post_op_attr */
		4,	/* ACCESS */
		4,	/* READLINK */
		4,	/* READ */
		8,	/* WRITE */
		8, 8, 8, 8,	/* CREATE, MKDIR, SYMLINK, MKNOD */
		8, 8,	/* REMOVE, RMDIR */
		16,	/* RENAME: two wcc_data */
		12,	/* LINK: post_op_attr and wcc_data */
		4, 4,	/* READDIR, READDIRPLUS */
		4, 4, 4,	/* FSSTAT, FSINFO, PATHCONF */
		8,	/* COMMIT */
	};

	return proc <= NFSPROC3_MAX ? len[proc] : -1;
}

/* ---- messages ---- */

struct msg *msg_new(size_t payload)
{
	struct msg *m = malloc(sizeof(*m) + 4 + payload);

	if (!m)
		return NULL;
	m->next = NULL;
	m->due = 0;
	m->len = 4 + payload;
	m->stop = STOP_NONE;
	m->stop_at = 0;
	m->stall_ms = 0;
	put_be32(m->data, LAST_FRAG | (uint32_t)payload);
	return m;
}

/*
 * An accepted RPC reply with AUTH_NONE verifier and SUCCESS, @res_len
 * bytes of result left to fill at *res.
 */
static struct msg *reply_new(uint32_t xid, size_t res_len,
			     unsigned char **res)
{
	struct msg *m = msg_new(24 + res_len);
	unsigned char *b;

	if (!m)
		return NULL;
	b = m->data + 4;
	put_be32(b, xid);
	put_be32(b + 4, RPC_REPLY);
	put_be32(b + 8, 0);		/* MSG_ACCEPTED */
	put_be32(b + 12, 0);		/* verifier AUTH_NONE */
	put_be32(b + 16, 0);		/* ... of length 0 */
	put_be32(b + 20, 0);		/* SUCCESS */
	*res = b + 24;
	return m;
}

/* WRITE3res: NFS3_OK, empty wcc_data, count, UNSTABLE, verifier A */
struct msg *fake_write_reply(uint32_t xid, uint32_t count)
{
	unsigned char *r;
	struct msg *m = reply_new(xid, 28, &r);

	if (!m)
		return NULL;
	put_be32(r, 0);			/* NFS3_OK */
	put_be32(r + 4, 0);		/* pre_op_attr: none */
	put_be32(r + 8, 0);		/* post_op_attr: none */
	put_be32(r + 12, count);
	put_be32(r + 16, NFS3_UNSTABLE);
	memcpy(r + 20, FAULT_PROXY_VERF_A, FAULT_PROXY_VERF_LEN);
	return m;
}

/* COMMIT3res: NFS3_OK, empty wcc_data, verifier B */
struct msg *fake_commit_reply(uint32_t xid)
{
	unsigned char *r;
	struct msg *m = reply_new(xid, 20, &r);

	if (!m)
		return NULL;
	put_be32(r, 0);
	put_be32(r + 4, 0);
	put_be32(r + 8, 0);
	memcpy(r + 12, FAULT_PROXY_VERF_B, FAULT_PROXY_VERF_LEN);
	return m;
}

/* error-reply: @status and the resfail arm with every attribute absent */
struct msg *fake_error_reply(uint32_t xid, uint32_t proc,
			     uint32_t status)
{
	int body = resfail_len(proc);
	unsigned char *r;
	struct msg *m;

	if (body < 0)
		return NULL;
	m = reply_new(xid, 4 + (size_t)body, &r);
	if (!m)
		return NULL;
	put_be32(r, status);
	memset(r + 4, 0, (size_t)body);
	return m;
}

/*
 * NFSv4.1: the COMPOUND failed at its first op, @op (SEQUENCE, or the
 * EXCHANGE_ID of a COMPOUND of its own), with @status (NFS4ERR_DELAY,
 * BADSESSION...): what a server says before it looks at the rest, and
 * the slot's sequence is not advanced (RFC 8881 2.10.6.1).
 */
struct msg *fake_error_reply4(uint32_t xid, uint32_t op, uint32_t status)
{
	unsigned char *r;
	struct msg *m = reply_new(xid, 20, &r);

	if (!m)
		return NULL;
	put_be32(r, status);
	put_be32(r + 4, 0);		/* tag: empty */
	put_be32(r + 8, 1);		/* one result */
	put_be32(r + 12, op);
	put_be32(r + 16, status);
	return m;
}

/*
 * reject-reply: an RPC-level refusal of the call, no NFS result (RFC
 * 5531 section 9): MSG_DENIED with RPC_MISMATCH 2..2 or AUTH_ERROR
 * AUTH_BADCRED, or MSG_ACCEPTED with a null verifier and an accept_stat
 * other than SUCCESS (PROG_MISMATCH says 3..3).
 */
struct msg *fake_reject_reply(uint32_t xid, enum reject kind)
{
	static const uint32_t accept_stat[REJECT_KINDS] = {
		[REJECT_PROG_UNAVAIL] = 1, [REJECT_PROG_MISMATCH] = 2,
		[REJECT_PROC_UNAVAIL] = 3, [REJECT_GARBAGE_ARGS] = 4,
		[REJECT_SYSTEM_ERR] = 5,
	};
	uint32_t w[8];
	size_t n = 0, i;
	struct msg *m;

	w[n++] = xid;
	w[n++] = RPC_REPLY;
	if (kind == REJECT_RPC_MISMATCH || kind == REJECT_AUTH_ERROR) {
		w[n++] = 1;			/* MSG_DENIED */
		if (kind == REJECT_RPC_MISMATCH) {
			w[n++] = 0;		/* RPC_MISMATCH */
			w[n++] = RPC_VERSION;	/* low */
			w[n++] = RPC_VERSION;	/* high */
		} else {
			w[n++] = 1;		/* AUTH_ERROR */
			w[n++] = 1;		/* AUTH_BADCRED */
		}
	} else {
		w[n++] = 0;			/* MSG_ACCEPTED */
		w[n++] = 0;			/* verifier AUTH_NONE */
		w[n++] = 0;			/* ... of length 0 */
		w[n++] = accept_stat[kind];
		if (kind == REJECT_PROG_MISMATCH) {
			w[n++] = NFS_V3;	/* low */
			w[n++] = NFS_V3;	/* high */
		}
	}
	m = msg_new(n * 4);
	if (!m)
		return NULL;
	for (i = 0; i < n; i++)
		put_be32(m->data + 4 + i * 4, w[i]);
	return m;
}
