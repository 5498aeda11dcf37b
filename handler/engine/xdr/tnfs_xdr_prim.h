/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The XDR writing and strict reading both codecs share (tnfs_xdr.c for
 * ONC RPC and NFSv3, tnfs_xdr4.c for NFSv4.1): every read is
 * bounds-checked, the first fault is kept with its reason, and a
 * decoder that ran out of bytes says so (a READ head may simply not be
 * all in yet).  Private to this folder.
 */
#ifndef TNFS_XDR_PRIM_H
#define TNFS_XDR_PRIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <string.h>

/* bytes of zeros after @len bytes of opaque data (RFC 4506 4.10) */
static inline uint32_t xdr_pad(uint32_t len)
{
	return (4 - (len & 3)) & 3;
}

/* ---- writing: the caller has made room ---- */

static inline unsigned char *put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
	return p + 4;
}

static inline unsigned char *put64(unsigned char *p, uint64_t v)
{
	return put32(put32(p, (uint32_t)(v >> 32)), (uint32_t)v);
}

static inline unsigned char *put_opaque(unsigned char *p, const void *data,
				 uint32_t len)
{
	uint32_t pad = xdr_pad(len);

	p = put32(p, len);
	memcpy(p, data, len);
	memset(p + len, 0, pad);
	return p + len + pad;
}

/* ---- reading ---- */

struct xdr_in {
	const unsigned char *p;
	size_t len, pos;
	bool bad;
	bool ran_out;		/* bad because the bytes ended */
	const char *why;	/* the first thing found wrong */
};

static inline void bad(struct xdr_in *x, const char *why)
{
	if (!x->bad)
		x->why = why;
	x->bad = true;
}

static inline const unsigned char *take(struct xdr_in *x, size_t n)
{
	const unsigned char *b = x->p + x->pos;

	if (x->bad)
		return NULL;
	if (x->len - x->pos < n) {
		x->ran_out = true;
		bad(x, "the record ends early");
		return NULL;
	}
	x->pos += n;
	return b;
}

static inline uint32_t be32(const unsigned char *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
	       (uint32_t)b[2] << 8 | b[3];
}

/* A word; inline, with the bounds check first: most of a reply's cost. */
static inline __attribute__((always_inline)) uint32_t get32(struct xdr_in *x)
{
	const unsigned char *b;

	if (__builtin_expect(x->bad || x->len - x->pos < 4, 0)) {
		take(x, 4);
		return 0;
	}
	b = x->p + x->pos;
	x->pos += 4;
	return be32(b);
}

static inline uint64_t get64(struct xdr_in *x)
{
	uint64_t hi = get32(x);

	return hi << 32 | get32(x);
}

static inline bool get_bool(struct xdr_in *x)
{
	uint32_t v = get32(x);

	if (v > 1)
		bad(x, "a boolean neither 0 nor 1");
	return v == 1;
}

static inline const unsigned char *get_bytes(struct xdr_in *x, size_t n)
{
	return take(x, n);
}

/* variable-length opaque of at most @max bytes, padding checked to be 0 */
static inline const unsigned char *get_opaque(struct xdr_in *x, uint32_t max,
				       uint32_t *len)
{
	const unsigned char *b, *pad;
	uint32_t n = get32(x), i;

	if (!x->bad && n > max)
		bad(x, "an opaque longer than allowed");
	if (x->bad)
		return NULL;
	b = get_bytes(x, n);
	pad = get_bytes(x, xdr_pad(n));
	for (i = 0; pad && i < xdr_pad(n); i++)
		if (pad[i])
			bad(x, "padding not zero");
	*len = n;
	return b;
}

#endif
