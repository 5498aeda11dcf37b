/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * NFSv4.1 (RFC 8881) COMPOUNDs, for exactly the operations tcmu-nfs
 * sends: the session's own (EXCHANGE_ID, CREATE_SESSION, SEQUENCE,
 * BIND_CONN_TO_SESSION, RECLAIM_COMPLETE, DESTROY_*), finding and
 * opening the file (PUTROOTFH, LOOKUP, GETFH, GETATTR, OPEN, SETATTR,
 * CLOSE) and the data path (SEQUENCE, PUTFH, READ | WRITE | COMMIT, or
 * NFSv4.2's DEALLOCATE + COMMIT).
 * Hand-written, as strict as the NFSv3 decoder (docs/hacking.md says
 * why not rpcgen): a reply must carry the operations asked, in order,
 * each with a well-formed result, the last failed if any did, the
 * COMPOUND status that op's, and nothing after it.
 *
 * No I/O here; the session and its slots are the transport's
 * (tnfs_session.c), the open-time checks open/'s (tnfs_open4.c).
 */
#ifndef TNFS_XDR4_H
#define TNFS_XDR4_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tnfs_xdr.h"

#define TNFS_XDR4_VERSION	4
#define TNFS_XDR4_SESSIONID	16
#define TNFS_XDR4_OTHER		12
/* the most operations one of our COMPOUNDs carries (a deep path) */
#define TNFS_XDR4_MAX_OPS	40
/* the owner strings this client sends, at most */
#define TNFS_XDR4_OWNER_MAX	96

/* operations (RFC 8881 16.2.1, RFC 7862 for DEALLOCATE) */
enum tnfs_xdr4_op {
	TNFS_OP4_CLOSE = 4,
	TNFS_OP4_COMMIT = 5,
	TNFS_OP4_GETATTR = 9,
	TNFS_OP4_GETFH = 10,
	TNFS_OP4_LOOKUP = 15,
	TNFS_OP4_OPEN = 18,
	TNFS_OP4_PUTFH = 22,
	TNFS_OP4_PUTROOTFH = 24,
	TNFS_OP4_READ = 25,
	TNFS_OP4_SETATTR = 34,
	TNFS_OP4_WRITE = 38,
	TNFS_OP4_BIND_CONN = 41,
	TNFS_OP4_EXCHANGE_ID = 42,
	TNFS_OP4_CREATE_SESSION = 43,
	TNFS_OP4_DESTROY_SESSION = 44,
	TNFS_OP4_SEQUENCE = 53,
	TNFS_OP4_DESTROY_CLIENTID = 57,
	TNFS_OP4_RECLAIM_COMPLETE = 58,
	TNFS_OP4_DEALLOCATE = 62,
	TNFS_OP4_ILLEGAL = 10044,
};

/* nfsstat4 values the session acts on; the rest share v3's numbers */
enum {
	TNFS_NFS4ERR_DELAY = 10008,		/* = NFS3ERR_JUKEBOX */
	TNFS_NFS4ERR_EXPIRED = 10011,
	TNFS_NFS4ERR_STALE_CLIENTID = 10022,
	TNFS_NFS4ERR_STALE_STATEID = 10023,
	TNFS_NFS4ERR_OLD_STATEID = 10024,
	TNFS_NFS4ERR_BAD_STATEID = 10025,
	TNFS_NFS4ERR_NO_GRACE = 10033,
	TNFS_NFS4ERR_RECLAIM_BAD = 10034,
	TNFS_NFS4ERR_RECLAIM_CONFLICT = 10035,
	TNFS_NFS4ERR_OPENMODE = 10038,
	TNFS_NFS4ERR_ADMIN_REVOKED = 10047,
	TNFS_NFS4ERR_BADSESSION = 10052,
	TNFS_NFS4ERR_BADSLOT = 10053,
	TNFS_NFS4ERR_COMPLETE_ALREADY = 10054,
	TNFS_NFS4ERR_CONN_NOT_BOUND = 10055,
	TNFS_NFS4ERR_SEQ_MISORDERED = 10063,
	TNFS_NFS4ERR_RETRY_UNCACHED_REP = 10068,
	TNFS_NFS4ERR_SEQ_FALSE_RETRY = 10076,
	TNFS_NFS4ERR_BAD_HIGH_SLOT = 10077,
	TNFS_NFS4ERR_DEADSESSION = 10078,
	TNFS_NFS4ERR_DELEG_REVOKED = 10087,
	TNFS_NFS4ERR_MINOR_VERS_MISMATCH = 10021,
};

/* sr_status_flags that mean our open may be gone */
#define TNFS_SEQ4_STATE_REVOKED		0x00000078u
#define TNFS_SEQ4_RESTART_RECLAIM	0x00000100u
/* eir_flags: the server already knew this client owner */
#define TNFS_EXCHGID4_CONFIRMED_R	0x80000000u

/* fattr4 bits (RFC 8881 5.6, 5.7), as bit numbers */
enum {
	TNFS_FATTR4_TYPE = 1,
	TNFS_FATTR4_SIZE = 4,
	TNFS_FATTR4_LEASE_TIME = 10,
	TNFS_FATTR4_FILEID = 20,
	TNFS_FATTR4_MAXREAD = 30,
	TNFS_FATTR4_MAXWRITE = 31,
	TNFS_FATTR4_MODE = 33,
	TNFS_FATTR4_NUMLINKS = 35,
	TNFS_FATTR4_OWNER = 36,
	TNFS_FATTR4_OWNER_GROUP = 37,
};
#define TNFS_FATTR4_BIT(n)	(1ull << (n))
/* what a fresh connection's check asks: the file's, and the lease */
#define TNFS_FATTR4_CHECK	(TNFS_FATTR4_BIT(TNFS_FATTR4_TYPE) | \
				 TNFS_FATTR4_BIT(TNFS_FATTR4_SIZE) | \
				 TNFS_FATTR4_BIT(TNFS_FATTR4_LEASE_TIME) | \
				 TNFS_FATTR4_BIT(TNFS_FATTR4_FILEID) | \
				 TNFS_FATTR4_BIT(TNFS_FATTR4_NUMLINKS))

struct tnfs_xdr4_stateid {
	uint32_t seqid;
	unsigned char other[TNFS_XDR4_OTHER];
};

/* What the session puts in a call: tnfs_xdr4_encode reads what it needs. */
struct tnfs_xdr4_ctx {
	uint32_t minor;				/* 1 or 2 */
	unsigned char sessionid[TNFS_XDR4_SESSIONID];
	uint32_t slot, seqid, highest;		/* SEQUENCE */
	struct tnfs_xdr4_stateid stateid;	/* the open, for I/O */
	uint64_t clientid;
	uint32_t cs_seq;			/* CREATE_SESSION's */
	uint32_t slots;				/* fore channel requests */
	uint32_t max_req, max_resp;		/* fore channel sizes */
	unsigned char verifier[8];		/* co_verifier */
	const char *owner;			/* co_ownerid, open owner */
};

/* Every attribute the decoder knows, and which came. */
struct tnfs_xdr4_attr {
	uint64_t mask;				/* TNFS_FATTR4_BIT()s */
	uint32_t type;				/* nfs_ftype4: 1 regular */
	uint64_t size, fileid, maxread, maxwrite;
	uint32_t lease_time, mode, numlinks;
	uint32_t owner, group;			/* numeric, else ~0 */
	char owner_name[64], group_name[64];	/* as sent, cut */
};

/* A COMPOUND reply: the data path's part in @r, the rest beside it. */
struct tnfs_xdr4_res {
	struct tnfs_xdr_reply r;		/* first: callbacks get &r */
	uint32_t nres;				/* results carried */
	uint64_t clientid;			/* EXCHANGE_ID */
	uint32_t eir_seq, eir_flags;
	unsigned char sessionid[TNFS_XDR4_SESSIONID]; /* CREATE_SESSION, */
	uint32_t cs_flags;			/* BIND_CONN_TO_SESSION */
	uint32_t fore_slots;			/* ca_maxrequests granted */
	uint32_t fore_max_req, fore_max_resp;
	uint32_t bind_dir;
	struct tnfs_xdr4_stateid stateid;	/* OPEN, CLOSE */
	uint32_t open_rflags;
	bool have_fh;				/* GETFH */
	struct tnfs_xdr_fh fh;
	struct tnfs_xdr4_attr attr;		/* the last GETATTR */
};

static inline struct tnfs_xdr4_res *tnfs_xdr4_res_of(
	const struct tnfs_xdr_reply *r)
{
	return (struct tnfs_xdr4_res *)r;
}

/*
 * A COMPOUND under construction in a caller's buffer: begun with
 * tnfs_xdr4_begin, one tnfs_xdr4_op_* per operation, ended with
 * tnfs_xdr4_end.  Running out of room is remembered, not fatal: end
 * returns 0 then.
 */
struct tnfs_xdr4_enc {
	unsigned char *buf, *p, *end, *nops_at;
	uint32_t nops;
	uint32_t ops[TNFS_XDR4_MAX_OPS];	/* what the reply must hold */
	bool full;
};

void tnfs_xdr4_begin(struct tnfs_xdr4_enc *e, unsigned char *buf, size_t cap,
		     uint32_t xid, const struct tnfs_xdr_auth *a,
		     uint32_t minor);
void tnfs_xdr4_op_sequence(struct tnfs_xdr4_enc *e,
			   const struct tnfs_xdr4_ctx *c);
void tnfs_xdr4_op_putfh(struct tnfs_xdr4_enc *e, const struct tnfs_xdr_fh *fh);
/* the file handle as tnfs_xdr_prepare encoded it */
void tnfs_xdr4_op_putfh_prepared(struct tnfs_xdr4_enc *e,
				 const struct tnfs_xdr_auth *a);
void tnfs_xdr4_op_putrootfh(struct tnfs_xdr4_enc *e);
void tnfs_xdr4_op_lookup(struct tnfs_xdr4_enc *e, const char *name,
			 size_t len);
void tnfs_xdr4_op_getfh(struct tnfs_xdr4_enc *e);
void tnfs_xdr4_op_getattr(struct tnfs_xdr4_enc *e, uint64_t mask);
/*
 * OPEN for read and write, deny none, no delegation wanted, owned by
 * @c->owner of @c->clientid.  @claim: 0 CLAIM_NULL of @name in the
 * current (directory) handle, 1 CLAIM_PREVIOUS, 4 CLAIM_FH.  @create
 * (CLAIM_NULL only): 1 GUARDED4 with mode @mode, 3 EXCLUSIVE4_1 with
 * @verf and mode @mode; 0 no create.
 */
void tnfs_xdr4_op_open(struct tnfs_xdr4_enc *e, const struct tnfs_xdr4_ctx *c,
		       uint32_t claim, const char *name, size_t len,
		       uint32_t create, uint32_t mode,
		       const unsigned char verf[8]);
void tnfs_xdr4_op_close(struct tnfs_xdr4_enc *e,
			const struct tnfs_xdr4_stateid *s);
void tnfs_xdr4_op_setattr_size(struct tnfs_xdr4_enc *e,
			       const struct tnfs_xdr4_stateid *s,
			       uint64_t size);
void tnfs_xdr4_op_read(struct tnfs_xdr4_enc *e,
		       const struct tnfs_xdr4_stateid *s, uint64_t off,
		       uint32_t count);
/* the @count data bytes and their padding follow the record on the wire */
void tnfs_xdr4_op_write(struct tnfs_xdr4_enc *e,
			const struct tnfs_xdr4_stateid *s, uint64_t off,
			uint32_t stable, uint32_t count);
void tnfs_xdr4_op_commit(struct tnfs_xdr4_enc *e, uint64_t off,
			 uint32_t count);
/* NFSv4.2 (RFC 7862 15.4): the range becomes a hole, reading as zeros */
void tnfs_xdr4_op_deallocate(struct tnfs_xdr4_enc *e,
			     const struct tnfs_xdr4_stateid *s, uint64_t off,
			     uint64_t len);
void tnfs_xdr4_op_exchange_id(struct tnfs_xdr4_enc *e,
			      const struct tnfs_xdr4_ctx *c);
void tnfs_xdr4_op_create_session(struct tnfs_xdr4_enc *e,
				 const struct tnfs_xdr4_ctx *c);
void tnfs_xdr4_op_bind_conn(struct tnfs_xdr4_enc *e,
			    const struct tnfs_xdr4_ctx *c);
void tnfs_xdr4_op_reclaim_complete(struct tnfs_xdr4_enc *e);
void tnfs_xdr4_op_destroy_session(struct tnfs_xdr4_enc *e,
				  const struct tnfs_xdr4_ctx *c);
void tnfs_xdr4_op_destroy_clientid(struct tnfs_xdr4_enc *e,
				   const struct tnfs_xdr4_ctx *c);
/*
 * The record marker and operation count filled in; @data bytes (a
 * WRITE's) follow on the wire and are counted in the marker.  The bytes
 * written to the buffer, or 0 when they did not fit.
 */
size_t tnfs_xdr4_end(struct tnfs_xdr4_enc *e, uint32_t data);

/*
 * The transport's calls (tnfs_xdr_call.proc): READ, WRITE, COMMIT and
 * GETATTR (the check, TNFS_FATTR4_CHECK) as SEQUENCE + PUTFH + op, NULL
 * as the RPC NULL, and the TNFS_XDR4_* session calls, from @c and the
 * prepared credentials and handle in @a.  Bytes written, 0: no room.
 * @ops gets what the reply must carry (TNFS_XDR4_MAX_OPS), *@nops their
 * number, for tnfs_xdr4_decode.
 */
size_t tnfs_xdr4_encode(unsigned char *buf, size_t cap, uint32_t xid,
			const struct tnfs_xdr_auth *a,
			const struct tnfs_xdr4_ctx *c,
			const struct tnfs_xdr_call *call);

/*
 * tnfs_xdr_reply_max for a COMPOUND of @proc: the sum of its results'
 * largest; 0 for one with a result of no fixed bound (OPEN, EXCHANGE_ID
 * and the rest of the session's set-up).
 */
uint32_t tnfs_xdr4_reply_max(enum tnfs_xdr_proc proc, uint32_t count);

/*
 * The bound above for a call record (marker removed) as this engine's
 * encoders write them, NFSv3 or NFSv4.1, read back from its bytes: for
 * whoever carries calls it did not make (the share=1 pool).  0: no bound
 * known (not a call of ours, or one of no fixed result).
 */
uint32_t tnfs_xdr4_call_reply_max(const unsigned char *rec, size_t len);

/* The operations the reply to @proc carries; how many. */
unsigned int tnfs_xdr4_ops_of(enum tnfs_xdr_proc proc, uint32_t *ops);

/*
 * Decode a reply record (marker removed) to a COMPOUND of the @nops
 * operations @ops (@count: what a READ or WRITE asked).  0, or -EBADMSG
 * with res->r.why saying what was wrong.  res->r.status is the COMPOUND
 * status, res->r.fail_op the op it is of; res->r.seq* the SEQUENCE
 * result when the first op was one.
 */
int tnfs_xdr4_decode(const unsigned char *rec, size_t len,
		     const uint32_t *ops, unsigned int nops, uint32_t count,
		     struct tnfs_xdr4_res *res);

/* tnfs_xdr4_decode for a transport call of @proc. */
int tnfs_xdr4_decode_reply(const unsigned char *rec, size_t len,
			   enum tnfs_xdr_proc proc, uint32_t count,
			   struct tnfs_xdr4_res *res);

/*
 * The SEQUENCE result of any reply record, for a call given up whose
 * answer came late (its slot is then known again): 0 and r->seq*, or -1.
 */
int tnfs_xdr4_decode_seq(const unsigned char *rec, size_t len,
			 struct tnfs_xdr_reply *r);

/* The largest head of a READ reply before its data. */
#define TNFS_XDR4_READ_HEAD_MAX	(6 * 4 + 400 + 4 + 4 + 64 + 4 + \
				 4 + 4 + 16 + 5 * 4 + 3 * 4 + 4 * 4)

/*
 * tnfs_xdr_decode_read_head for the COMPOUND SEQUENCE, PUTFH, READ: 1
 * when every op succeeded and r->count data bytes (at most @count)
 * start at *@data_off and end the record but for their padding; 0: too
 * few bytes yet; -1: anything else (decode the whole record).
 */
int tnfs_xdr4_decode_read_head(const unsigned char *rec, size_t avail,
			       size_t rec_len, uint32_t count,
			       struct tnfs_xdr_reply *r, size_t *data_off);

#endif
