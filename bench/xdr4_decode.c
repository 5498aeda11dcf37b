// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * What decoding one NFSv4.1 READ reply (SEQUENCE, PUTFH, READ) costs:
 * the engine's hand-written decoder (the whole record, and the head
 * only, as the transport uses it to receive the data in place) against
 * rpcgen's xdr_COMPOUND4res from the RFC's .x through libtirpc's
 * xdrmem, allocating as generated code does, and with the result arrays
 * and the data buffer set up beforehand.  Built by bench/xdr4-rpcgen.sh
 * (which runs rpcgen on the .x it is given); run under callgrind, each
 * mode N times:  xdr4_decode MODE N [DATA_BYTES]
 *   MODE: ours | ours_head | rpcgen | rpcgen_prealloc
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nfsv41.h"		/* rpcgen -h of the RFC's .x */
#include "tnfs_xdr4.h"

static unsigned char rec[1 << 21];
static size_t at;

static void w(uint32_t v)
{
	rec[at++] = (unsigned char)(v >> 24);
	rec[at++] = (unsigned char)(v >> 16);
	rec[at++] = (unsigned char)(v >> 8);
	rec[at++] = (unsigned char)v;
}

/* the reply record (no marker), as ganesha sends it */
static size_t build(uint32_t len)
{
	unsigned int i;

	at = 0;
	w(0x1234);
	w(1);
	w(0);
	w(0);
	w(0);
	w(0);
	w(0);			/* NFS4_OK */
	w(0);			/* tag */
	w(3);
	w(OP_SEQUENCE);
	w(0);
	for (i = 0; i < 4; i++)
		w(0x5e55 + i);
	w(7);
	w(3);
	w(63);
	w(63);
	w(0);
	w(OP_PUTFH);
	w(0);
	w(OP_READ);
	w(0);
	w(0);
	w(len);
	for (i = 0; i < len; i++)
		rec[at + i] = (unsigned char)i;
	at += len + ((4 - (len & 3)) & 3);
	return at;
}

static unsigned char dest[1 << 20];

static int rpcgen_decode(size_t len, bool prealloc)
{
	struct rpc_msg msg;
	COMPOUND4res res;
	nfs_resop4 ops[3];
	XDR x;
	int ok;

	memset(&msg, 0, sizeof(msg));
	memset(&res, 0, sizeof(res));
	if (prealloc) {
		memset(ops, 0, sizeof(ops));
		res.resarray.resarray_val = ops;
		ops[2].nfs_resop4_u.opread.READ4res_u.resok4.data.data_val =
			(char *)dest;
	}
	msg.acpted_rply.ar_results.where = (caddr_t)&res;
	msg.acpted_rply.ar_results.proc = (xdrproc_t)xdr_COMPOUND4res;
	xdrmem_create(&x, (char *)rec, (u_int)len, XDR_DECODE);
	ok = xdr_replymsg(&x, &msg) && xdr_getpos(&x) == len;
	if (!prealloc)
		xdr_free((xdrproc_t)xdr_COMPOUND4res, (char *)&res);
	xdr_destroy(&x);
	return ok;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "ours";
	long n = argc > 2 ? atol(argv[2]) : 1000, i;
	uint32_t data = argc > 3 ? (uint32_t)atol(argv[3]) : 4096;
	size_t len = build(data), off;
	struct tnfs_xdr4_res res;
	struct tnfs_xdr_reply h;
	long good = 0;

	for (i = 0; i < n; i++) {
		if (!strcmp(mode, "ours"))
			good += !tnfs_xdr4_decode_reply(rec, len,
							TNFS_XDR_READ, data,
							&res);
		else if (!strcmp(mode, "ours_head"))
			good += tnfs_xdr4_decode_read_head(rec, len, len, data,
							   &h, &off) == 1;
		else if (!strcmp(mode, "rpcgen"))
			good += rpcgen_decode(len, false);
		else if (!strcmp(mode, "rpcgen_prealloc"))
			good += rpcgen_decode(len, true);
	}
	printf("%s: %ld of %ld decoded (%u data bytes)\n", mode, good, n, data);
	return good == n ? 0 : 1;
}
