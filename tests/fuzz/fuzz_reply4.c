// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * fuzz_reply4: arbitrary bytes as one NFSv4.1/4.2 COMPOUND reply record
 * (its marker stripped), decoded as the answer to every call the engine
 * makes (xdr/tnfs_xdr4.c): the data path's READ, WRITE, COMMIT, GETATTR
 * and NFSv4.2 DEALLOCATE, the session's own, the SEQUENCE-only decoder
 * the transport uses on a reply it cannot otherwise place, and the READ
 * head decoder over every prefix.  Seeds: corpus/reply4/, one reply per
 * call and the refusals the session acts on (tests/fuzz/reply4-seeds.py
 * writes them).  The transport side of v4 (slots, recovery) is the
 * integration tests' (test_v4, the soak); v3's record framing is
 * fuzz_reply's.
 *
 * Checked: no crash or sanitizer report (the input is copied into a
 * buffer of exactly its size, so ASan sees any read past it); a refused
 * reply says why; an accepted READ's data lies inside the record and is
 * no longer than asked; an nfsstat4 is never read as an engine code; a
 * READ head accepted from a prefix agrees with the whole record.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tnfs_xdr4.h"

#define ASKED	65536u

static const enum tnfs_xdr_proc procs[] = {
	TNFS_XDR_NULL, TNFS_XDR_GETATTR, TNFS_XDR_READ, TNFS_XDR_WRITE,
	TNFS_XDR_COMMIT, TNFS_XDR4_RENEW, TNFS_XDR4_EXCHANGE_ID,
	TNFS_XDR4_CREATE_SESSION, TNFS_XDR4_BIND_CONN,
	TNFS_XDR4_RECLAIM_COMPLETE, TNFS_XDR4_OPEN_FH, TNFS_XDR4_OPEN_PREV,
	TNFS_XDR4_CLOSE, TNFS_XDR4_DESTROY_SESSION,
	TNFS_XDR4_DESTROY_CLIENTID, TNFS_XDR4_DEALLOCATE,
};

static void decode_each(const unsigned char *rec, size_t size)
{
	struct tnfs_xdr4_res res;
	struct tnfs_xdr_reply *r = &res.r;
	unsigned int i;

	for (i = 0; i < sizeof(procs) / sizeof(procs[0]); i++) {
		if (tnfs_xdr4_decode_reply(rec, size, procs[i], ASKED,
					   &res)) {
			if (!r->why)
				abort();	/* refused, and no reason */
			continue;
		}
		if (procs[i] == TNFS_XDR_READ && r->rpc == TNFS_XDR_RPC_OK &&
		    !r->status &&
		    (r->count > ASKED || !r->data || r->data < rec ||
		     r->data + r->count > rec + size))
			abort();	/* data it does not have */
		if (tnfs_xdr_result(r) < 0 && r->rpc == TNFS_XDR_RPC_OK)
			abort();	/* a status read as an engine code */
	}
	tnfs_xdr4_decode_seq(rec, size, r);
}

/* A READ head from any prefix is the whole record's, padding zero. */
static void read_heads(const unsigned char *rec, size_t size)
{
	struct tnfs_xdr4_res res;
	struct tnfs_xdr_reply h;
	size_t avail, off, pad, j;

	for (avail = 0; avail <= size; avail += avail < 64 ? 1 : 61) {
		if (tnfs_xdr4_decode_read_head(rec, avail, size, ASKED, &h,
					       &off) != 1)
			continue;
		if (off > avail || h.count > ASKED ||
		    off + h.count + tnfs_xdr_pad(h.count) != size)
			abort();
		pad = tnfs_xdr_pad(h.count);
		for (j = 0; j < pad && !rec[size - pad + j]; j++)
			;
		if (j < pad)
			continue;
		if (tnfs_xdr4_decode_reply(rec, size, TNFS_XDR_READ, ASKED,
					   &res) ||
		    res.r.count != h.count || res.r.eof != h.eof ||
		    res.r.data != rec + off)
			abort();	/* the head disagrees with the record */
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *rec = malloc(size ? size : 1);

	if (!rec)
		return 0;
	memcpy(rec, data, size);
	decode_each(rec, size);
	read_heads(rec, size);
	free(rec);
	return 0;
}
