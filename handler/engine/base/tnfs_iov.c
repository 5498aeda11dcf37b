// SPDX-License-Identifier: LGPL-2.1-or-later
#include <string.h>

#include "tnfs_iov.h"

void tnfs_iov_cursor_init(struct tnfs_iov_cursor *c, const struct iovec *iov,
			  size_t cnt, size_t off, size_t len)
{
	c->iov = iov;
	c->cnt = cnt;
	c->i = 0;
	c->left = len;
	while (c->i < cnt && off >= iov[c->i].iov_len)
		off -= iov[c->i++].iov_len;
	c->off = off;
}

bool tnfs_iov_next(struct tnfs_iov_cursor *c, char **base, size_t *len)
{
	size_t n;

	while (c->left && c->i < c->cnt) {
		n = c->iov[c->i].iov_len - c->off;
		if (!n) {
			c->i++;
			c->off = 0;
			continue;
		}
		if (n > c->left)
			n = c->left;
		*base = (char *)c->iov[c->i].iov_base + c->off;
		*len = n;
		c->left -= n;
		c->off += n;
		if (c->off == c->iov[c->i].iov_len) {
			c->i++;
			c->off = 0;
		}
		return true;
	}
	return false;
}

unsigned int tnfs_iov_slice(const struct iovec *iov, size_t cnt, size_t off,
			    size_t len, struct iovec *out, unsigned int room,
			    size_t *covered)
{
	struct tnfs_iov_cursor c;
	unsigned int n = 0;
	size_t got = 0, seg;
	char *base;

	tnfs_iov_cursor_init(&c, iov, cnt, off, len);
	while (n < room && tnfs_iov_next(&c, &base, &seg)) {
		out[n].iov_base = base;
		out[n++].iov_len = seg;
		got += seg;
	}
	if (covered)
		*covered = got;
	return n;
}

void tnfs_iov_put(const struct iovec *iov, size_t cnt, size_t off,
		  const void *src, size_t len)
{
	const char *s = src;
	struct tnfs_iov_cursor c;
	char *base;
	size_t n;

	tnfs_iov_cursor_init(&c, iov, cnt, off, len);
	while (tnfs_iov_next(&c, &base, &n)) {
		if (s) {
			memcpy(base, s, n);
			s += n;
		} else {
			memset(base, 0, n);
		}
	}
}

void tnfs_iov_get(const struct iovec *iov, size_t cnt, size_t off,
		  void *dst, size_t len)
{
	struct tnfs_iov_cursor c;
	char *d = dst, *base;
	size_t n;

	tnfs_iov_cursor_init(&c, iov, cnt, off, len);
	while (tnfs_iov_next(&c, &base, &n)) {
		memcpy(d, base, n);
		d += n;
	}
}
