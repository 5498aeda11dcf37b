// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The NFSv4.1 codec (tnfs_xdr4.c): calls carry what the session put in
 * them, replies decode only when they answer exactly the operations
 * sent, and everything else is refused with a reason: a reply cut at
 * any byte, trailing bytes, results for other operations or past a
 * failed one, a COMPOUND status other than its last result's, a tag, a
 * boolean not 0 or 1, data longer than asked, attributes not asked for
 * or of the wrong length, a delegation, an open to confirm.  The READ
 * head decoder waits while bytes are missing and agrees with the whole
 * record.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../check.h"
#include "tnfs_status.h"
#include "tnfs_xdr4.h"

static unsigned char rec[70000];
static size_t at;

static void w(uint32_t v)
{
	rec[at] = (unsigned char)(v >> 24);
	rec[at + 1] = (unsigned char)(v >> 16);
	rec[at + 2] = (unsigned char)(v >> 8);
	rec[at + 3] = (unsigned char)v;
	at += 4;
}

static void w64(uint64_t v)
{
	w((uint32_t)(v >> 32));
	w((uint32_t)v);
}

static void wbytes(const void *b, size_t n)
{
	memcpy(rec + at, b, n);
	at += n;
}

/* RPC reply head, COMPOUND status, no tag, @n results */
static void head(uint32_t status, uint32_t n)
{
	memset(rec, 0, sizeof(rec));
	at = 0;
	w(0x1234);
	w(1);			/* REPLY */
	w(0);			/* MSG_ACCEPTED */
	w(0);			/* verifier AUTH_NONE */
	w(0);
	w(0);			/* SUCCESS */
	w(status);
	w(0);			/* tag */
	w(n);
}

static void seq_ok(uint32_t slot, uint32_t seqid)
{
	static const unsigned char sid[16] = "session-id-0123";

	w(53);
	w(0);
	wbytes(sid, 16);
	w(seqid);
	w(slot);
	w(63);			/* highest */
	w(31);			/* target */
	w(0);			/* flags */
}

static void putfh_ok(void)
{
	w(22);
	w(0);
}

/* SEQUENCE, PUTFH, READ of @len bytes (@count in the length field) */
static size_t read_reply(uint32_t len, uint32_t field, size_t *data)
{
	uint32_t i;

	head(0, 3);
	seq_ok(3, 7);
	putfh_ok();
	w(25);
	w(0);
	w(0);			/* eof */
	w(field);
	*data = at;
	for (i = 0; i < len; i++)
		rec[at + i] = (unsigned char)(i * 13 + 5);
	at += len + ((4 - (len & 3)) & 3);
	return at;
}

static int decode(enum tnfs_xdr_proc proc, uint32_t count, size_t len,
		  struct tnfs_xdr4_res *res)
{
	return tnfs_xdr4_decode_reply(rec, len, proc, count, res);
}

static void reads(void)
{
	struct tnfs_xdr4_res res;
	struct tnfs_xdr_reply h;
	size_t len, data, off, i;
	int ret;

	len = read_reply(65536, 65536, &data);
	CHECK(!decode(TNFS_XDR_READ, 65536, len, &res) &&
	      res.r.count == 65536 && res.r.data == rec + data &&
	      res.r.seq && res.r.seq_slot == 3 && res.r.seq_seqid == 7 &&
	      res.r.seq_target == 31, "READ reply: count %u slot %u",
	      res.r.count, res.r.seq_slot);
	/* cut anywhere: refused, and the head decoder waits */
	for (i = 0; i < len; i += i < data + 8 ? 1 : 4099)
		CHECK(decode(TNFS_XDR_READ, 65536, i, &res) == -EBADMSG,
		      "READ reply cut at %zu decoded", i);
	for (i = 0; i < data; i++)
		CHECK(tnfs_xdr4_decode_read_head(rec, i, len, 65536, &h,
						 &off) == 0,
		      "head decided on %zu of %zu", i, data);
	ret = tnfs_xdr4_decode_read_head(rec, data, len, 65536, &h, &off);
	CHECK(ret == 1 && off == data && h.count == 65536 && h.seq &&
	      h.seq_slot == 3, "READ head: %d off %zu", ret, off);
	CHECK(data <= TNFS_XDR4_READ_HEAD_MAX, "head %zu > max", data);
	/* more than asked */
	CHECK(decode(TNFS_XDR_READ, 4096, len, &res) == -EBADMSG,
	      "READ of more than asked decoded");
	CHECK(tnfs_xdr4_decode_read_head(rec, data, len, 4096, &h, &off) ==
	      -1, "head of more than asked");
	/* a length field that does not end the record where it ends */
	len = read_reply(4096, 4000, &data);
	CHECK(decode(TNFS_XDR_READ, 65536, len, &res) == -EBADMSG,
	      "data length 4000 in a record of 4096 decoded");
	CHECK(tnfs_xdr4_decode_read_head(rec, data, len, 65536, &h, &off) ==
	      -1, "head with a wrong length");
	/* eof neither 0 nor 1 */
	len = read_reply(512, 512, &data);
	rec[data - 5] = 2;
	CHECK(decode(TNFS_XDR_READ, 4096, len, &res) == -EBADMSG &&
	      strstr(res.r.why, "boolean"), "eof 2: %s", res.r.why);
	/* padding not zero */
	len = read_reply(510, 510, &data);
	rec[data + 511] = 1;
	CHECK(decode(TNFS_XDR_READ, 4096, len, &res) == -EBADMSG,
	      "padding not zero");
	/* trailing bytes */
	len = read_reply(512, 512, &data);
	w(0);
	CHECK(decode(TNFS_XDR_READ, 4096, at, &res) == -EBADMSG &&
	      strstr(res.r.why, "after its end"), "trailing: %s", res.r.why);
}

static void failures(void)
{
	struct tnfs_xdr4_res res;
	size_t len;

	/* READ failed with BAD_STATEID: SEQUENCE and PUTFH, then it */
	head(10025, 3);
	seq_ok(1, 2);
	putfh_ok();
	w(25);
	w(10025);
	len = at;
	CHECK(!decode(TNFS_XDR_READ, 4096, len, &res) &&
	      res.r.status == 10025 && res.r.fail_op == 25 &&
	      res.r.seq && !res.r.seq_status, "failed READ: %u op %u",
	      res.r.status, res.r.fail_op);
	/* a COMPOUND status that is not its last result's */
	head(0, 3);
	seq_ok(1, 2);
	putfh_ok();
	w(25);
	w(10025);
	CHECK(decode(TNFS_XDR_READ, 4096, at, &res) == -EBADMSG,
	      "COMPOUND status 0 over a failed READ");
	/* results past a failed op */
	head(70, 3);
	seq_ok(1, 2);
	w(22);
	w(70);
	w(25);
	w(0);
	CHECK(decode(TNFS_XDR_READ, 4096, at, &res) == -EBADMSG,
	      "results past a failed PUTFH");
	/* a result count that promises more than a failure leaves */
	head(70, 3);
	seq_ok(1, 2);
	w(22);
	w(70);
	CHECK(decode(TNFS_XDR_READ, 4096, at, &res) == -EBADMSG,
	      "3 results promised, 2 given, the second failed");
	/* SEQUENCE refused: one result, its status */
	head(10052, 1);
	w(53);
	w(10052);
	CHECK(!decode(TNFS_XDR_WRITE, 4096, at, &res) && res.r.seq &&
	      res.r.seq_status == 10052 && res.r.status == 10052,
	      "BADSESSION at SEQUENCE");
	/* fewer results, none failed */
	head(0, 2);
	seq_ok(1, 2);
	putfh_ok();
	CHECK(decode(TNFS_XDR_READ, 4096, at, &res) == -EBADMSG,
	      "two results of three, all OK");
	/* results for other operations */
	head(0, 3);
	seq_ok(1, 2);
	putfh_ok();
	w(38);
	w(0);
	CHECK(decode(TNFS_XDR_READ, 4096, at, &res) == -EBADMSG,
	      "WRITE results to a READ");
	/* a tag we did not send */
	head(0, 0);
	at -= 8;
	w(4);
	w(0x41414141);
	w(0);
	CHECK(decode(TNFS_XDR_COMMIT, 0, at, &res) == -EBADMSG,
	      "a tag in the reply");
	/* more results than operations */
	head(0, 4);
	CHECK(decode(TNFS_XDR_COMMIT, 0, at, &res) == -EBADMSG,
	      "4 results to 3 operations");
	/* a count above the one asked, a stable_how out of range */
	head(0, 3);
	seq_ok(1, 2);
	putfh_ok();
	w(38);
	w(0);
	w(8192);
	w(0);
	w64(0x1122334455667788ull);
	CHECK(decode(TNFS_XDR_WRITE, 4096, at, &res) == -EBADMSG,
	      "WRITE count above asked");
	head(0, 3);
	seq_ok(1, 2);
	putfh_ok();
	w(38);
	w(0);
	w(4096);
	w(3);
	w64(0x1122334455667788ull);
	CHECK(decode(TNFS_XDR_WRITE, 4096, at, &res) == -EBADMSG,
	      "stable_how 3");
	/* a good WRITE: the verifier as sent */
	head(0, 3);
	seq_ok(1, 2);
	putfh_ok();
	w(38);
	w(0);
	w(4096);
	w(0);
	w64(0x1122334455667788ull);
	CHECK(!decode(TNFS_XDR_WRITE, 4096, at, &res) && res.r.count == 4096 &&
	      res.r.committed == 0 && res.r.verf[0] == 0x11 &&
	      res.r.verf[7] == 0x88, "WRITE verifier");
}

static void attrs_and_session(void)
{
	struct tnfs_xdr4_res res;
	size_t len;

	/* the check's GETATTR: type, size, lease, fileid, numlinks */
	head(0, 3);
	seq_ok(0, 9);
	putfh_ok();
	w(9);
	w(0);
	w(2);
	w(1u << 1 | 1u << 4 | 1u << 10 | 1u << 20);
	w(1u << 3);
	w(4 + 8 + 4 + 8 + 4);
	w(1);
	w64(1 << 20);
	w(10);
	w64(4242);
	w(1);
	len = at;
	CHECK(!decode(TNFS_XDR_GETATTR, 0, len, &res) && res.r.have_attr &&
	      res.r.attr.type == 1 && res.r.attr.size == 1 << 20 &&
	      res.r.attr.fileid == 4242 && res.r.attr.nlink == 1 &&
	      res.attr.lease_time == 10, "GETATTR: size %llu fileid %llu",
	      (unsigned long long)res.r.attr.size,
	      (unsigned long long)res.r.attr.fileid);
	/* the attribute list one word longer than its bitmap says */
	rec[len - 4 * 8 - 1] = 4 + 8 + 4 + 8 + 4 + 4;
	w(0);
	CHECK(decode(TNFS_XDR_GETATTR, 0, at, &res) == -EBADMSG,
	      "attribute list longer than its bitmap");
	/* an attribute not asked for (change, bit 3) */
	head(0, 3);
	seq_ok(0, 9);
	putfh_ok();
	w(9);
	w(0);
	w(1);
	w(1u << 3);
	w(8);
	w64(1);
	CHECK(decode(TNFS_XDR_GETATTR, 0, at, &res) == -EBADMSG &&
	      strstr(res.r.why, "not asked"), "unasked attribute: %s",
	      res.r.why);

	/* EXCHANGE_ID: SP4_NONE only */
	head(0, 1);
	w(42);
	w(0);
	w64(0xabcdef);
	w(5);
	w(0x80000000u);
	w(1);			/* SP4_MACH_CRED */
	CHECK(decode(TNFS_XDR4_EXCHANGE_ID, 0, at, &res) == -EBADMSG,
	      "EXCHANGE_ID with machine credential protection");
	head(0, 1);
	w(42);
	w(0);
	w64(0xabcdef);
	w(5);
	w(0x80000000u);
	w(0);
	w64(1);
	w(4);
	w(0x61626364);
	w(0);
	w(0);			/* no implementation id */
	CHECK(!decode(TNFS_XDR4_EXCHANGE_ID, 0, at, &res) &&
	      res.clientid == 0xabcdef && res.eir_seq == 5 &&
	      (res.eir_flags & TNFS_EXCHGID4_CONFIRMED_R), "EXCHANGE_ID");

	/* OPEN: a delegation we did not ask for, or one to confirm */
	head(0, 3);
	seq_ok(0, 1);
	putfh_ok();
	w(18);
	w(0);
	w(1);
	wbytes("0123456789ab", 12);
	w(0);
	w64(0);
	w64(0);
	w(0);			/* rflags */
	w(0);			/* attrset */
	w(1);			/* OPEN_DELEGATE_READ */
	w(0);
	wbytes("0123456789ab", 12);
	w(0);
	w(0);
	w(0);
	w(0);
	w(0);
	CHECK(decode(TNFS_XDR4_OPEN_FH, 0, at, &res) == -EBADMSG &&
	      strstr(res.r.why, "delegation"), "OPEN with a delegation");
	head(0, 3);
	seq_ok(0, 1);
	putfh_ok();
	w(18);
	w(0);
	w(1);
	wbytes("0123456789ab", 12);
	w(0);
	w64(0);
	w64(0);
	w(2);			/* OPEN4_RESULT_CONFIRM */
	w(0);
	w(0);
	CHECK(decode(TNFS_XDR4_OPEN_FH, 0, at, &res) == -EBADMSG,
	      "OPEN to confirm");
	rec[at - 9] = 0;	/* rflags 0 */
	CHECK(!decode(TNFS_XDR4_OPEN_FH, 0, at, &res) &&
	      res.stateid.seqid == 1 &&
	      !memcmp(res.stateid.other, "0123456789ab", 12), "OPEN");
}

static uint32_t be32_at(const unsigned char *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
	       (uint32_t)b[2] << 8 | b[3];
}

/*
 * CREATE_SESSION asks no room to cache replies (cachethis is never
 * set): knfsd takes that room per slot from a pool of 1/128 of its
 * memory, and at 1 KiB a slot ran out after ~900 sessions.
 */
static void create_session_cache(const struct tnfs_xdr_auth *a,
				 const struct tnfs_xdr4_ctx *ctx)
{
	unsigned char buf[TNFS_XDR_CALL_MAX];
	struct tnfs_xdr4_enc e;
	size_t at;

	tnfs_xdr4_begin(&e, buf, sizeof(buf), 9, a, 1);
	at = (size_t)(e.p - buf);
	tnfs_xdr4_op_create_session(&e, ctx);
	CHECK(tnfs_xdr4_end(&e, 0) > at + 44, "CREATE_SESSION encoded");
	/*
	 * op, clientid, sequence, flags, then the fore channel: header
	 * pad, max request, max response, max response cached, ops, slots
	 */
	CHECK(be32_at(buf + at + 28) == 1 << 20, "fore max response %u",
	      be32_at(buf + at + 28));
	CHECK(be32_at(buf + at + 32) == 0, "fore channel asks %u bytes "
	      "of reply cache per slot", be32_at(buf + at + 32));
	CHECK(be32_at(buf + at + 40) == 65, "fore channel slots %u",
	      be32_at(buf + at + 40));
}

static void encoding(void)
{
	struct tnfs_xdr_cred cred = { 1000, 1001, "host" };
	struct tnfs_xdr_fh fh = { 16, "0123456789abcdef" };
	struct tnfs_xdr4_ctx ctx = {
		.minor = 1, .slot = 5, .seqid = 77, .highest = 9,
		.owner = "tcmu-nfs/test", .slots = 65,
		.max_req = 1 << 20, .max_resp = 1 << 20,
	};
	struct tnfs_xdr_call call = {
		.proc = TNFS_XDR_WRITE, .offset = 1 << 20, .count = 4097,
		.stable = 1,
	};
	struct tnfs_xdr_auth a;
	unsigned char buf[TNFS_XDR_CALL_MAX];
	enum tnfs_xdr_proc procs[] = {
		TNFS_XDR_READ, TNFS_XDR_WRITE, TNFS_XDR_COMMIT,
		TNFS_XDR_GETATTR, TNFS_XDR4_RENEW, TNFS_XDR4_EXCHANGE_ID,
		TNFS_XDR4_CREATE_SESSION, TNFS_XDR4_BIND_CONN,
		TNFS_XDR4_RECLAIM_COMPLETE, TNFS_XDR4_OPEN_FH,
		TNFS_XDR4_OPEN_PREV, TNFS_XDR4_CLOSE,
		TNFS_XDR4_DESTROY_SESSION, TNFS_XDR4_DESTROY_CLIENTID,
		TNFS_XDR4_DEALLOCATE,
	};
	static const enum tnfs_xdr_proc procs3[] = {
		TNFS_XDR_NULL, TNFS_XDR_GETATTR, TNFS_XDR_READ,
		TNFS_XDR_WRITE, TNFS_XDR_COMMIT,
	};
	size_t n, i, mark;
	uint32_t ops[TNFS_XDR4_MAX_OPS];

	memcpy(ctx.sessionid, "session-id-0123", 16);
	tnfs_xdr_prepare(&a, &cred, &fh);
	n = tnfs_xdr4_encode(buf, sizeof(buf), 9, &a, &ctx, &call);
	CHECK(n > 0, "WRITE encoded");
	mark = (size_t)buf[1] << 16 | (size_t)buf[2] << 8 | buf[3];
	CHECK(buf[0] == 0x80 && mark == n - 4 + 4097 + 3,
	      "record marker counts the data: %zu", mark);
	/* the last word is the data's length, SEQUENCE carries the slot */
	CHECK(buf[n - 1] == (4097 & 0xff) && buf[n - 2] == (4097 >> 8),
	      "data length last");
	CHECK(memmem(buf, n, "session-id-0123", 16), "session id in call");
	/* every call the transport makes fits its header buffer */
	ctx.owner = "tcmu-nfs/a-long-host-name-of-forty-eight-characters-/"
		    "4194304/ffffffff";
	fh.len = TNFS_XDR_FHSIZE;
	tnfs_xdr_prepare(&a, &cred, &fh);
	for (i = 0; i < sizeof(procs) / sizeof(procs[0]); i++) {
		call.proc = procs[i];
		/* DEALLOCATE is 4.2's */
		ctx.minor = procs[i] == TNFS_XDR4_DEALLOCATE ? 2 : 1;
		n = tnfs_xdr4_encode(buf, sizeof(buf), 9, &a, &ctx, &call);
		CHECK(n > 0, "%s does not fit %d bytes",
		      tnfs_xdr_proc_name(procs[i]), TNFS_XDR_CALL_MAX);
		CHECK(tnfs_xdr4_ops_of(procs[i], ops) > 0, "%s: no ops",
		      tnfs_xdr_proc_name(procs[i]));
		/* what the share=1 pool reads back from the call */
		CHECK(n > 4 && tnfs_xdr4_call_reply_max(buf + 4, n - 4) ==
		      tnfs_xdr4_reply_max(procs[i], call.count),
		      "%s: its reply's bound read back from the call",
		      tnfs_xdr_proc_name(procs[i]));
	}
	/* and from NFSv3's */
	fh.len = TNFS_XDR_FHSIZE3;
	for (i = 0; i < sizeof(procs3) / sizeof(procs3[0]); i++) {
		call.proc = procs3[i];
		n = tnfs_xdr_encode_call(buf, 9, &cred, &fh, &call);
		CHECK(n > 4 && tnfs_xdr4_call_reply_max(buf + 4, n - 4) ==
		      tnfs_xdr_reply_max(procs3[i], call.count) &&
		      tnfs_xdr_reply_max(procs3[i], call.count),
		      "v3 %s: its reply's bound read back from the call",
		      tnfs_xdr_proc_name(procs3[i]));
	}
	CHECK(!tnfs_xdr4_call_reply_max(buf + 4, 10), "a cut call's bound");
	ctx.minor = 1;
	fh.len = TNFS_XDR_FHSIZE;
	tnfs_xdr_prepare(&a, &cred, &fh);
	/* too small a buffer: refused, not overrun */
	call.proc = TNFS_XDR_READ;
	CHECK(tnfs_xdr4_encode(buf, 100, 9, &a, &ctx, &call) == 0,
	      "READ in 100 bytes");
	create_session_cache(&a, &ctx);
}

/*
 * NFSv4.2 DEALLOCATE + COMMIT: the length is 64 bits, the hole stable
 * with the COMMIT's answer; NOTSUPP and OP_ILLEGAL (a 4.1 server) are
 * answers, not garbage; with minor version 1 nothing is encoded.
 */
static void deallocate(void)
{
	struct tnfs_xdr_cred cred = { 0, 0, "host" };
	struct tnfs_xdr_fh fh = { 16, "0123456789abcdef" };
	struct tnfs_xdr4_ctx ctx = { .minor = 2, .slot = 1, .seqid = 2 };
	struct tnfs_xdr_call call = {
		.proc = TNFS_XDR4_DEALLOCATE, .offset = 1 << 20,
		.length = 5ull << 32,
	};
	static const unsigned char want[8] = { 0, 0, 0, 5, 0, 0, 0, 0 };
	struct tnfs_xdr4_res res;
	struct tnfs_xdr_auth a;
	unsigned char buf[TNFS_XDR_CALL_MAX];
	uint32_t ops[TNFS_XDR4_MAX_OPS];
	size_t n;

	tnfs_xdr_prepare(&a, &cred, &fh);
	n = tnfs_xdr4_encode(buf, sizeof(buf), 9, &a, &ctx, &call);
	CHECK(n > 0, "DEALLOCATE encoded");
	/* ... DEALLOCATE (op, stateid, offset, length), COMMIT 0 0 */
	CHECK(n >= 36 && !memcmp(buf + n - 24, want, 8) &&
	      buf[n - 49] == 62, "the length's 64 bits");
	CHECK(tnfs_xdr4_ops_of(TNFS_XDR4_DEALLOCATE, ops) == 4 &&
	      ops[2] == TNFS_OP4_DEALLOCATE && ops[3] == TNFS_OP4_COMMIT,
	      "ops of DEALLOCATE");
	ctx.minor = 1;
	CHECK(tnfs_xdr4_encode(buf, sizeof(buf), 9, &a, &ctx, &call) == 0,
	      "DEALLOCATE encoded for 4.1");

	head(0, 4);
	seq_ok(1, 2);
	putfh_ok();
	w(62);
	w(0);
	w(5);
	w(0);
	wbytes("verifier", 8);
	CHECK(decode(TNFS_XDR4_DEALLOCATE, 0, at, &res) == 0, "decoded: %s",
	      res.r.why ? res.r.why : "");
	CHECK(!res.r.status && !memcmp(res.r.verf, "verifier", 8),
	      "status %u, the COMMIT's verifier", res.r.status);
	head(10004, 3);
	seq_ok(1, 2);
	putfh_ok();
	w(62);
	w(10004);
	CHECK(decode(TNFS_XDR4_DEALLOCATE, 0, at, &res) == 0 &&
	      res.r.status == 10004, "NOTSUPP: %u", res.r.status);
	head(10044, 3);
	seq_ok(1, 2);
	putfh_ok();
	w(10044);
	w(10044);
	CHECK(decode(TNFS_XDR4_DEALLOCATE, 0, at, &res) == 0 &&
	      res.r.status == 10044, "OP_ILLEGAL: %u", res.r.status);
	/* a DEALLOCATE result with a body is not one */
	head(0, 4);
	seq_ok(1, 2);
	putfh_ok();
	w(62);
	w(0);
	w(0);
	w(5);
	w(0);
	wbytes("verifier", 8);
	CHECK(decode(TNFS_XDR4_DEALLOCATE, 0, at, &res) == -EBADMSG,
	      "a body after DEALLOCATE's status taken");
}

/*
 * tnfs_xdr4_reply_max: a record announced longer than this cannot
 * answer its call.  The replies the decoder takes fit it, with the
 * largest verifier's 400 bytes and a PROG_MISMATCH's two words to
 * spare; calls with results of no fixed size have none.
 */
static void reply_max(void)
{
	struct tnfs_xdr4_res res;
	size_t len, data;
	uint32_t max;

	len = read_reply(16383, 16383, &data);
	max = tnfs_xdr4_reply_max(TNFS_XDR_READ, 16383);
	CHECK(!decode(TNFS_XDR_READ, 16383, len, &res) && len <= max &&
	      max - len == 400 + 8, "READ: %zu of at most %u", len, max);
	head(0, 3);
	seq_ok(1, 2);
	putfh_ok();
	w(38);			/* WRITE: count, committed, verifier */
	w(0);
	w(4096);
	w(2);
	w64(0x1122334455667788ull);
	max = tnfs_xdr4_reply_max(TNFS_XDR_WRITE, 4096);
	CHECK(!decode(TNFS_XDR_WRITE, 4096, at, &res) && at <= max &&
	      max - at == 400 + 8, "WRITE: %zu of at most %u", at, max);
	CHECK(tnfs_xdr4_reply_max(TNFS_XDR4_DEALLOCATE, 0) &&
	      tnfs_xdr4_reply_max(TNFS_XDR_GETATTR, 0) &&
	      tnfs_xdr4_reply_max(TNFS_XDR_NULL, 0),
	      "data-path calls without a bound");
	CHECK(!tnfs_xdr4_reply_max(TNFS_XDR4_OPEN_FH, 0) &&
	      !tnfs_xdr4_reply_max(TNFS_XDR4_EXCHANGE_ID, 0),
	      "a bound for a result of no fixed size");
}

int main(void)
{
	reads();
	reply_max();
	failures();
	attrs_and_session();
	encoding();
	deallocate();
	return check_report("xdr4");
}
