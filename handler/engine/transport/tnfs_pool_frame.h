/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The pool's streams (tnfs_pool_frame.c): RPC record fragments, each in
 * a buffer of its own, read from a stream and queued to be written.
 */
#ifndef TNFS_POOL_FRAME_H
#define TNFS_POOL_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LAST_FRAG		0x80000000u
/* read per event at most, so that one busy stream cannot starve the rest */
#define RECV_BUDGET		(4u << 20)
#define SEND_IOV		64

struct chan;

/* a fragment with its record mark; a call's remembers its channel */
struct pbuf {
	struct pbuf *next;
	struct chan *owner;
	uint32_t len, off;		/* bytes in d; filled, or written */
	unsigned char d[];
};

struct pqueue {
	struct pbuf *head, *tail;
};

/* a stream cut into fragments, each read into a pbuf of its own */
struct framer {
	unsigned char mark[4];
	unsigned int mark_got;
	struct pbuf *cur;		/* the fragment being read */
	bool headed;			/* cur's head shown to the judge */
};

static inline uint32_t get_be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static inline void put_be32(unsigned char *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

void tnfs_pool_pq_append(struct pqueue *q, struct pbuf *b);
void tnfs_pool_pq_free(struct pqueue *q);

/*
 * Hands each whole fragment read to @take; nonzero from it stops the
 * read as the stream's fault.
 */
typedef int (*tnfs_pool_take)(void *obj, struct pbuf *b, char *why,
			      size_t len);

/*
 * Shown a fragment still coming once its mark and first word (an XID)
 * are in; nonzero: its length is wrong already, the stream's fault.
 */
typedef int (*tnfs_pool_head)(void *obj, const struct pbuf *b, char *why,
			      size_t len);

/*
 * Read what @fd has into @f, handing each whole fragment (at most @max
 * bytes) to @take, and the head of each still coming to @head (if any);
 * small ones are read many at a time through @stage.  Bytes read (>= 0),
 * or -1 (closed or failed) / -2 (@take, @head or the framing found it
 * wrong), the reason in @why.
 */
int tnfs_pool_frame_read(int fd, struct framer *f, size_t max,
			 unsigned char *stage, size_t stage_len,
			 tnfs_pool_take take, tnfs_pool_head head, void *obj,
			 char *why, size_t wl);

/* Write what @q holds.  0, or -errno. */
int tnfs_pool_pq_flush(int fd, struct pqueue *q);

#endif
