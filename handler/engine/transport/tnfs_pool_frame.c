// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The pool's streams: bytes cut into RPC fragments, each read into a
 * buffer of its own (small ones many at a time through the pool's stage,
 * long ones straight where they go), and queues of fragments written out
 * in as few sendmsg() calls as it takes.  Nothing here judges what a
 * fragment says: that is tnfs_pool_mux.c's.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "tnfs_pool_frame.h"

void tnfs_pool_pq_append(struct pqueue *q, struct pbuf *b)
{
	b->next = NULL;
	if (q->tail)
		q->tail->next = b;
	else
		q->head = b;
	q->tail = b;
}

void tnfs_pool_pq_free(struct pqueue *q)
{
	struct pbuf *b, *next;

	for (b = q->head; b; b = next) {
		next = b->next;
		free(b);
	}
	q->head = q->tail = NULL;
}

/* @b, still coming, to @head once its XID is in; nonzero: refused */
static int show_head(struct framer *f, struct pbuf *b, tnfs_pool_head head,
		     void *obj, char *why, size_t wl)
{
	if (!head || f->headed || b->off < 8 || b->off == b->len)
		return 0;
	f->headed = true;
	return head(obj, b, why, wl);
}

static int frame_bytes(struct framer *f, const unsigned char *p, size_t n,
		       size_t max, tnfs_pool_take take, tnfs_pool_head head,
		       void *obj, char *why, size_t wl)
{
	while (n) {
		struct pbuf *b = f->cur;
		size_t k;

		if (!b) {
			uint32_t flen;

			k = 4 - f->mark_got < n ? 4 - f->mark_got : n;
			memcpy(f->mark + f->mark_got, p, k);
			f->mark_got += k;
			p += k;
			n -= k;
			if (f->mark_got < 4)
				break;
			f->mark_got = 0;
			flen = get_be32(f->mark) & ~LAST_FRAG;
			if (flen > max) {
				snprintf(why, wl, "a record of %" PRIu32
					 " bytes, more than any RPC can be",
					 flen);
				return -2;
			}
			b = malloc(sizeof(*b) + 4 + flen);
			if (!b) {
				snprintf(why, wl, "out of memory");
				return -1;
			}
			b->owner = NULL;
			b->len = 4 + flen;
			memcpy(b->d, f->mark, 4);
			b->off = 4;
			f->cur = b;
			f->headed = false;
		}
		k = b->len - b->off < n ? b->len - b->off : n;
		memcpy(b->d + b->off, p, k);
		b->off += k;
		p += k;
		n -= k;
		if (show_head(f, b, head, obj, why, wl))
			return -2;
		if (b->off == b->len) {
			f->cur = NULL;
			b->off = 0;
			if (take(obj, b, why, wl))
				return -2;
		}
	}
	return 0;
}

int tnfs_pool_frame_read(int fd, struct framer *f, size_t max,
			 unsigned char *stage, size_t stage_len,
			 tnfs_pool_take take, tnfs_pool_head head, void *obj,
			 char *why, size_t wl)
{
	size_t total = 0;
	ssize_t r;

	while (total < RECV_BUDGET) {
		struct pbuf *b = f->cur;
		size_t want;

		/* a long fragment: straight into its buffer, no copy */
		if (b && b->len - b->off >= stage_len / 2) {
			want = b->len - b->off;
			r = recv(fd, b->d + b->off, want, MSG_DONTWAIT);
			if (r > 0) {
				b->off += (uint32_t)r;
				if (show_head(f, b, head, obj, why, wl))
					return -2;
				if (b->off == b->len) {
					f->cur = NULL;
					b->off = 0;
					if (take(obj, b, why, wl))
						return -2;
				}
			}
		} else {
			want = stage_len;
			r = recv(fd, stage, want, MSG_DONTWAIT);
			if (r > 0 && frame_bytes(f, stage, (size_t)r, max,
						 take, head, obj, why, wl))
				return -2;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN)
			break;
		if (r <= 0) {
			snprintf(why, wl, "%s", r ? strerror(errno) :
				 "the server closed the connection");
			return -1;
		}
		total += (size_t)r;
		if ((size_t)r < want)
			break;
	}
	return (int)(total < RECV_BUDGET ? total : RECV_BUDGET);
}

int tnfs_pool_pq_flush(int fd, struct pqueue *q)
{
	struct iovec v[SEND_IOV];
	struct msghdr msg = { .msg_iov = v };
	struct pbuf *b;
	unsigned int n;
	ssize_t w;

	while (q->head) {
		for (n = 0, b = q->head; b && n < SEND_IOV; b = b->next, n++) {
			v[n].iov_base = b->d + b->off;
			v[n].iov_len = b->len - b->off;
		}
		msg.msg_iovlen = n;
		w = sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN)
			return 0;
		if (w < 0)
			return -errno;
		while (w > 0) {
			b = q->head;
			if ((size_t)w < b->len - b->off) {
				b->off += (uint32_t)w;
				break;
			}
			w -= b->len - b->off;
			q->head = b->next;
			if (!q->head)
				q->tail = NULL;
			free(b);
		}
	}
	return 0;
}
