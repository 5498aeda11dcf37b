// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The READ reply head decoder (tnfs_xdr_decode_read_head), which lets the
 * transport receive a READ's data straight into the command's buffer: it
 * must wait while the head is incomplete, accept only a successful reply
 * whose lengths agree with the record, and agree with the whole-record
 * decoder on everything it reports.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "../check.h"
#include "tnfs_status.h"
#include "tnfs_xdr.h"

static unsigned char rec[256 + 70000];

static size_t put(size_t at, uint32_t v)
{
	rec[at] = (unsigned char)(v >> 24);
	rec[at + 1] = (unsigned char)(v >> 16);
	rec[at + 2] = (unsigned char)(v >> 8);
	rec[at + 3] = (unsigned char)v;
	return at + 4;
}

/*
 * A READ reply record (no marker): @verf bytes of verifier, attributes
 * or not, @count bytes of data said by count and by the data length
 * @len.  Returns the record's length; *@data where the data starts.
 */
static size_t build(uint32_t status, uint32_t verf, int attr,
		    uint32_t count, uint32_t len, size_t *data)
{
	size_t p = 0, i;

	memset(rec, 0, sizeof(rec));
	p = put(p, 0x1234);		/* xid */
	p = put(p, 1);			/* REPLY */
	p = put(p, 0);			/* MSG_ACCEPTED */
	p = put(p, 0);			/* verifier flavour */
	p = put(p, verf);
	p += verf + tnfs_xdr_pad(verf);
	p = put(p, 0);			/* SUCCESS */
	p = put(p, status);
	p = put(p, (uint32_t)attr);
	if (attr) {
		put(p, 1);		/* NF3REG */
		p += 84;
	}
	if (status)
		return p;
	p = put(p, count);
	p = put(p, 0);			/* eof */
	p = put(p, len);
	*data = p;
	for (i = 0; i < len; i++)
		rec[p + i] = (unsigned char)(i * 7 + 1);
	return p + len + tnfs_xdr_pad(len);
}

/* An accepted reply header, then @words (no marker); its length. */
static size_t accepted(uint32_t accept_stat, const uint32_t *words,
		       size_t n)
{
	size_t p = 0, i;

	memset(rec, 0, 256);
	p = put(p, 0x1234);
	p = put(p, 1);			/* REPLY */
	p = put(p, 0);			/* MSG_ACCEPTED */
	p = put(p, 0);			/* verifier */
	p = put(p, 0);
	p = put(p, accept_stat);
	for (i = 0; i < n; i++)
		p = put(p, words[i]);
	return p;
}

/* What the engine makes of RPC-level refusals and odd statuses. */
static void refusals(void)
{
	static const struct {
		uint32_t stat, extra[2];
		size_t n;
		int result;
	} acc[] = {
		{ 1, { 0 }, 0, TNFS_IO_ERR_PROG_UNAVAIL },
		{ 2, { 3, 3 }, 2, TNFS_IO_ERR_PROG_MISMATCH },
		{ 3, { 0 }, 0, TNFS_IO_ERR_PROC_UNAVAIL },
		{ 4, { 0 }, 0, TNFS_IO_ERR_GARBAGE_ARGS },
		{ 5, { 0 }, 0, TNFS_IO_ERR_SYSTEM_ERR },
	};
	struct tnfs_xdr_reply r;
	size_t len, i, p;

	for (i = 0; i < sizeof(acc) / sizeof(acc[0]); i++) {
		len = accepted(acc[i].stat, acc[i].extra, acc[i].n);
		CHECK(!tnfs_xdr_decode_reply(rec, len, TNFS_XDR_WRITE, 4096,
					     &r) &&
		      tnfs_xdr_result(&r) == acc[i].result,
		      "accept_stat %u: result %d", acc[i].stat,
		      tnfs_xdr_result(&r));
	}
	/* MSG_DENIED: RPC_MISMATCH low high, AUTH_ERROR AUTH_BADCRED */
	p = put(0, 0x1234);
	p = put(p, 1);
	p = put(p, 1);
	p = put(p, 0);
	p = put(p, 2);
	p = put(p, 2);
	CHECK(!tnfs_xdr_decode_reply(rec, p, TNFS_XDR_READ, 4096, &r) &&
	      tnfs_xdr_result(&r) == TNFS_IO_ERR_RPC_MISMATCH,
	      "RPC_MISMATCH");
	p = put(0, 0x1234);
	p = put(p, 1);
	p = put(p, 1);
	p = put(p, 1);
	p = put(p, 1);
	CHECK(!tnfs_xdr_decode_reply(rec, p, TNFS_XDR_READ, 4096, &r) &&
	      tnfs_xdr_result(&r) == TNFS_IO_ERR_AUTH, "AUTH_ERROR");
	/* an nfsstat3 that would read as an engine failure */
	len = accepted(0, (uint32_t[]){ 0xffffffff, 0, 0 }, 3);
	CHECK(!tnfs_xdr_decode_reply(rec, len, TNFS_XDR_COMMIT, 0, &r) &&
	      tnfs_xdr_result(&r) == (int)TNFS_XDR_STATUS_MAX,
	      "status 0xffffffff: %d", tnfs_xdr_result(&r));
	/* trailing bytes: garbled, and said why */
	len = accepted(0, (uint32_t[]){ 70, 0, 0, 0xdeadbeef }, 4);
	CHECK(tnfs_xdr_decode_reply(rec, len, TNFS_XDR_COMMIT, 0, &r) ==
	      -EBADMSG && r.why && strstr(r.why, "after its end"),
	      "trailing bytes: %s", r.why ? r.why : "(no reason)");
	/* a NULL call carries no file handle; its reply no results */
	{
		struct tnfs_xdr_cred cred = { 0, 0, "host" };
		struct tnfs_xdr_fh fh = { 8, "12345678" };
		struct tnfs_xdr_call null = { .proc = TNFS_XDR_NULL };
		struct tnfs_xdr_call ga = { .proc = TNFS_XDR_GETATTR };
		unsigned char a[TNFS_XDR_CALL_MAX], b[TNFS_XDR_CALL_MAX];

		CHECK(tnfs_xdr_encode_call(a, 1, &cred, &fh, &null) + 12 ==
		      tnfs_xdr_encode_call(b, 1, &cred, &fh, &ga),
		      "NULL is GETATTR without the handle");
		len = accepted(0, NULL, 0);
		CHECK(!tnfs_xdr_decode_reply(rec, len, TNFS_XDR_NULL, 0, &r) &&
		      r.rpc == TNFS_XDR_RPC_OK, "NULL reply");
	}
	/* WRITE's wcc_data: the size before the write is read */
	/* status, pre_op_attr (size, mtime, ctime), no post_op_attr, */
	/* count, committed, verifier */
	len = accepted(0, (uint32_t[]){ 0, 1, 0, 4096, 0, 0, 0, 0, 0, 512,
					2, 0, 0 }, 13);
	CHECK(!tnfs_xdr_decode_reply(rec, len, TNFS_XDR_WRITE, 4096, &r) &&
	      r.have_pre_size && r.pre_size == 4096 && r.count == 512,
	      "wcc pre-op size %llu", (unsigned long long)r.pre_size);
}

/*
 * tnfs_xdr_reply_max: the longest replies the decoder takes (the
 * largest verifier, every optional attribute there) fit it, with no
 * more slack than a PROG_MISMATCH's two words.
 */
static void reply_max(void)
{
	static const struct {
		enum tnfs_xdr_proc proc;
		uint32_t pre, post, tail;	/* bytes past the wcc_data */
	} small[] = {
		{ TNFS_XDR_WRITE, 1, 1, 16 }, { TNFS_XDR_COMMIT, 1, 1, 8 },
	};
	struct tnfs_xdr_reply r;
	size_t len, data = 0, p;
	uint32_t max;
	unsigned int i;

	len = build(0, 400, 1, 16383, 16383, &data);
	max = tnfs_xdr_reply_max(TNFS_XDR_READ, 16383);
	CHECK(!tnfs_xdr_decode_reply(rec, len, TNFS_XDR_READ, 16383, &r) &&
	      len <= max && max - len <= 8, "READ: %zu of at most %u", len,
	      max);
	for (i = 0; i < sizeof(small) / sizeof(small[0]); i++) {
		len = build(0, 400, 0, 0, 0, &data);
		p = data - 4 * 4;		/* from the post_op_attr flag */
		p = put(p, small[i].pre);
		p += 24;
		p = put(p, small[i].post);
		p += 84;
		memset(rec + p, 0, small[i].tail);
		len = p + small[i].tail;
		max = tnfs_xdr_reply_max(small[i].proc, 4096);
		CHECK(!tnfs_xdr_decode_reply(rec, len, small[i].proc, 4096,
					     &r) && len <= max &&
		      max - len <= 8, "%s: %zu of at most %u (%s)",
		      tnfs_xdr_proc_name(small[i].proc), len, max,
		      r.why ? r.why : "decoded");
	}
	CHECK(tnfs_xdr_reply_max(TNFS_XDR_READ, 65536) >
	      tnfs_xdr_reply_max(TNFS_XDR_READ, 4096) + 61439,
	      "a READ's data counts in its bound");
	CHECK(!tnfs_xdr_reply_max(TNFS_XDR4_OPEN_FH, 0),
	      "a v3 bound for a v4 call");
}

int main(void)
{
	struct tnfs_xdr_reply h, r;
	size_t len, data = 0, off, avail;
	int ret;

	/* the usual reply, its head arriving byte by byte */
	len = build(0, 0, 1, 65536, 65536, &data);
	for (avail = 0; avail < data; avail++)
		CHECK(tnfs_xdr_decode_read_head(rec, avail, len, 65536, &h,
						&off) == 0,
		      "decided on %zu of a %zu-byte head", avail, data);
	ret = tnfs_xdr_decode_read_head(rec, data, len, 65536, &h, &off);
	CHECK(ret == 1 && off == data && h.count == 65536 && h.have_attr &&
	      h.attr.type == 1 && !h.placed, "head: %d off %zu count %u",
	      ret, off, h.count);
	CHECK(!tnfs_xdr_decode_reply(rec, len, TNFS_XDR_READ, 65536, &r) &&
	      r.count == h.count && r.data == rec + off, "whole record");

	/* a largest verifier, an odd count: still found */
	len = build(0, 400, 0, 16383, 16383, &data);
	ret = tnfs_xdr_decode_read_head(rec, data + 100, len, 65536, &h, &off);
	CHECK(ret == 1 && off == data && h.count == 16383 && !h.have_attr,
	      "big verifier: %d off %zu (want %zu)", ret, off, data);
	CHECK(data <= TNFS_XDR_READ_HEAD_MAX, "head %zu > READ_HEAD_MAX",
	      data);

	/* what the whole-record path must judge instead */
	len = build(5, 0, 1, 0, 0, &data);		/* NFS3ERR_IO */
	CHECK(tnfs_xdr_decode_read_head(rec, len, len + 9000, 65536, &h,
					&off) == -1, "error status");
	len = build(0, 0, 1, 4096, 4000, &data);	/* count != length */
	CHECK(tnfs_xdr_decode_read_head(rec, data, len, 65536, &h, &off) ==
	      -1, "count and data length differ");
	len = build(0, 0, 1, 65536, 65536, &data);
	CHECK(tnfs_xdr_decode_read_head(rec, data, len, 32768, &h, &off) ==
	      -1, "more data than asked");
	CHECK(tnfs_xdr_decode_read_head(rec, data, len + 4, 65536, &h,
					&off) == -1, "record longer than data");
	CHECK(tnfs_xdr_decode_read_head(rec, data, len - 4, 65536, &h, &off) ==
		      -1,
	      "record shorter than data");
	put(4, 0);					/* a CALL */
	CHECK(tnfs_xdr_decode_read_head(rec, data, len, 65536, &h, &off) ==
	      -1, "not a reply");
	/* a garbled bool is not waited for beyond the largest head */
	len = build(0, 0, 7, 65536, 65536, &data);
	CHECK(tnfs_xdr_decode_read_head(rec, TNFS_XDR_READ_HEAD_MAX, len,
					65536, &h, &off) == -1,
	      "post_op_attr flag 7");
	refusals();
	reply_max();
	return check_report("xdr");
}
