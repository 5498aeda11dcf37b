/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ONC RPC (RFC 5531) with AUTH_SYS, and the NFSv3 procedures the data
 * path uses (RFC 1813): NULL, GETATTR, READ, WRITE, COMMIT.  Pure encoding
 * and decoding, no I/O, so the reply parser can be fuzzed on its own.
 *
 * The decoder is strict on purpose: a reply that is short, has trailing
 * bytes, a boolean that is neither 0 nor 1, or a READ whose data length
 * differs from its count is "garbled", and the transport then trusts
 * nothing more from that connection.
 */
#ifndef TNFS_XDR_H
#define TNFS_XDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TNFS_XDR_PROGRAM		100003
#define TNFS_XDR_VERSION		3
/* NFSv4's; an NFSv3 handle is at most TNFS_XDR_FHSIZE3 */
#define TNFS_XDR_FHSIZE		128
#define TNFS_XDR_FHSIZE3	64
#define TNFS_XDR_VERFSIZE	8
#define TNFS_XDR_LAST_FRAG	0x80000000u

enum tnfs_xdr_proc {
	TNFS_XDR_NULL = 0,		/* the transport's liveness probe */
	TNFS_XDR_GETATTR = 1,
	TNFS_XDR_READ = 6,
	TNFS_XDR_WRITE = 7,
	TNFS_XDR_COMMIT = 21,
	/*
	 * NFSv4.1 only (tnfs_xdr4.h): calls of the session itself, each a
	 * COMPOUND; READ, WRITE, COMMIT and GETATTR above are too, in v4.
	 */
	TNFS_XDR4_RENEW = 1000,		/* SEQUENCE alone: the lease */
	TNFS_XDR4_EXCHANGE_ID,
	TNFS_XDR4_CREATE_SESSION,
	TNFS_XDR4_BIND_CONN,		/* BIND_CONN_TO_SESSION */
	TNFS_XDR4_RECLAIM_COMPLETE,
	TNFS_XDR4_OPEN_FH,		/* OPEN CLAIM_FH of the file */
	TNFS_XDR4_OPEN_PREV,		/* OPEN CLAIM_PREVIOUS: reclaim */
	TNFS_XDR4_CLOSE,
	TNFS_XDR4_DESTROY_SESSION,
	TNFS_XDR4_DESTROY_CLIENTID,
	/*
	 * NFSv4.2: SEQUENCE, PUTFH, DEALLOCATE of offset and length, COMMIT
	 * of the whole file, so that the hole is stable when it is answered
	 * (RFC 7862 gives DEALLOCATE no stable_how).
	 */
	TNFS_XDR4_DEALLOCATE,
};

/* "READ" and the like, for log lines. */
const char *tnfs_xdr_proc_name(enum tnfs_xdr_proc proc);

/* stable_how */
enum { TNFS_XDR_UNSTABLE = 0, TNFS_XDR_DATA_SYNC = 1, TNFS_XDR_FILE_SYNC = 2 };

/* Largest call header, record marker included, WRITE data excluded. */
#define TNFS_XDR_CALL_MAX	512

struct tnfs_xdr_cred {
	uint32_t uid, gid;
	char machine[65];	/* AUTH_SYS machine name, NUL-terminated */
};

struct tnfs_xdr_fh {
	uint32_t len;
	unsigned char data[TNFS_XDR_FHSIZE];
};

struct tnfs_xdr_call {
	enum tnfs_xdr_proc proc;
	uint64_t offset;	/* READ, WRITE, COMMIT */
	uint32_t count;		/* READ, WRITE (bytes of data), COMMIT */
	uint32_t stable;	/* WRITE */
	uint64_t length;	/* DEALLOCATE */
};

/*
 * Encode the record marker, the call header and the arguments of @call
 * into @buf (TNFS_XDR_CALL_MAX bytes).  For WRITE the @call->count data
 * bytes and tnfs_xdr_pad(count) zero bytes must follow on the wire; the
 * record marker already counts them.  Returns the bytes written to @buf.
 */
size_t tnfs_xdr_encode_call(unsigned char *buf, uint32_t xid,
			    const struct tnfs_xdr_cred *cred,
			    const struct tnfs_xdr_fh *fh,
			    const struct tnfs_xdr_call *call);

/*
 * What every call of one file repeats, encoded once: the credentials and
 * verifier (up to 4 + 4 + 4 + 4 + 68 + 3 * 4 + 8 bytes), the file handle.
 */
struct tnfs_xdr_auth {
	unsigned char cred[112];
	uint32_t cred_len;
	unsigned char fh[4 + TNFS_XDR_FHSIZE];	/* nfs_fh3 and nfs_fh4 alike */
	uint32_t fh_len;
};

void tnfs_xdr_prepare(struct tnfs_xdr_auth *a,
		      const struct tnfs_xdr_cred *cred,
		      const struct tnfs_xdr_fh *fh);

/* tnfs_xdr_encode_call, with the repeated part prepared in @a. */
size_t tnfs_xdr_encode_prepared(unsigned char *buf, uint32_t xid,
				const struct tnfs_xdr_auth *a,
				const struct tnfs_xdr_call *call);

static inline uint32_t tnfs_xdr_pad(uint32_t len)
{
	return (4 - (len & 3)) & 3;
}

/* What a reply said.  Pointers point into the record given to decode. */
enum tnfs_xdr_rpc_status {
	TNFS_XDR_RPC_OK = 0,		/* accepted, SUCCESS: @status valid */
	TNFS_XDR_RPC_MISMATCH,		/* MSG_DENIED, RPC_MISMATCH */
	TNFS_XDR_RPC_AUTH_ERROR,	/* MSG_DENIED, AUTH_ERROR */
	TNFS_XDR_RPC_PROG_UNAVAIL,	/* accepted, but: */
	TNFS_XDR_RPC_PROG_MISMATCH,
	TNFS_XDR_RPC_PROC_UNAVAIL,
	TNFS_XDR_RPC_GARBAGE_ARGS,
	TNFS_XDR_RPC_SYSTEM_ERR,
};

/* Statuses above this read as it: an engine result is a signed int. */
#define TNFS_XDR_STATUS_MAX	0x7fffffffu

struct tnfs_xdr_attr {
	uint32_t type;		/* ftype3: 1 = regular file */
	uint32_t nlink;		/* 0: removed, still open on the server */
	uint64_t size;
	uint64_t fileid;
};

struct tnfs_xdr_reply {
	uint32_t xid;
	enum tnfs_xdr_rpc_status rpc;
	uint32_t status;	/* nfsstat3, when rpc is TNFS_XDR_RPC_OK; */
				/* at most TNFS_XDR_STATUS_MAX */
	bool have_attr;		/* GETATTR, READ's post_op_attr, and the */
	struct tnfs_xdr_attr attr; /* after-part of WRITE/COMMIT wcc_data */
	bool have_pre_size;	/* WRITE, COMMIT: the size before, */
	uint64_t pre_size;	/* from wcc_data's pre_op_attr */
	const char *why;	/* garbled: what was wrong (a constant) */
	uint32_t count;		/* READ, WRITE */
	bool eof;		/* READ */
	const unsigned char *data; /* READ: count bytes, unless placed */
	bool placed;		/* READ: the transport put the data in the
				 * call's own iovec (tnfs_rx.c) */
	uint32_t committed;	/* WRITE */
	unsigned char verf[TNFS_XDR_VERFSIZE]; /* WRITE, COMMIT */

	/* NFSv4.1: the COMPOUND's SEQUENCE, and which op @status is of */
	bool seq;		/* SEQUENCE answered: seq_status valid */
	uint32_t seq_status;	/* nfsstat4 of the SEQUENCE op */
	uint32_t seq_slot, seq_seqid;
	uint32_t seq_highest, seq_target, seq_flags;
	uint32_t fail_op;	/* opcode whose status is @status, or 0 */
};

/*
 * What a decoded reply means for its call, as an I/O result
 * (tnfs_status.h): its nfsstat3, or the engine code of an RPC-level
 * refusal.
 */
int tnfs_xdr_result(const struct tnfs_xdr_reply *r);

/* The XID of a reply record (without its marker); false if too short. */
bool tnfs_xdr_reply_xid(const unsigned char *rec, size_t len, uint32_t *xid);

/*
 * Decode a complete reply record (fragments joined, markers removed) to a
 * call of @proc that asked for @count bytes (READ, WRITE).  Returns 0, or
 * -EBADMSG when the record is garbled (see above), with r->why saying
 * how.
 */
int tnfs_xdr_decode_reply(const unsigned char *rec, size_t len,
			  enum tnfs_xdr_proc proc, uint32_t count,
			  struct tnfs_xdr_reply *r);

/*
 * The most a READ reply can hold before its data: RPC header with the
 * largest verifier, status, post_op_attr, count, eof, data length.
 */
#define TNFS_XDR_READ_HEAD_MAX	(6 * 4 + 400 + 4 + 4 + 84 + 3 * 4)

/*
 * The longest reply header: accepted, the largest verifier, and the two
 * words of a PROG_MISMATCH; a denied reply is shorter.
 */
#define TNFS_XDR_RPC_REPLY_MAX	(8 * 4 + 400)

/*
 * The longest reply record (marker removed) that can answer a call of
 * @proc asking @count bytes; 0 when only the transport's own limit
 * holds.  A record announced longer is garbled from its first bytes: the
 * transport need not wait for an end that may never come.
 */
uint32_t tnfs_xdr_reply_max(enum tnfs_xdr_proc proc, uint32_t count);

/*
 * The head of a READ reply record of @rec_len bytes (marker removed), of
 * which the first @avail are at @rec: everything before its data, so the
 * data can be received where it belongs.  1: a successful reply of
 * r->count bytes (at most @count asked) starting at *@data_off, and the
 * record ends right after their padding; the padding itself is the
 * caller's to check.  0: too few bytes yet to tell.  -1: anything else
 * (an error status, a garbled or inconsistent head): decode the whole
 * record with tnfs_xdr_decode_reply, which judges it.
 */
int tnfs_xdr_decode_read_head(const unsigned char *rec, size_t avail,
			      size_t rec_len, uint32_t count,
			      struct tnfs_xdr_reply *r, size_t *data_off);

/*
 * For tnfs_xdr4.c: the ONC RPC reply header at @x (RFC 5531; struct
 * xdr_in is tnfs_xdr_prim.h's), into r->xid and r->rpc.  True when the
 * procedure's results follow (accepted, SUCCESS).
 */
struct xdr_in;
bool tnfs_xdr_rpc_header(struct xdr_in *x, struct tnfs_xdr_reply *r);

#endif
