/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Byte ranges of a command's scatter-gather list.  A command's data is an
 * iovec handed by tcmu-runner; an RPC carries the part of it from some
 * byte on (a piece of a large command, the rest of a half-sent WRITE or
 * of a READ reply being received).  Every walk over such a range is
 * this cursor.
 */
#ifndef TNFS_IOV_H
#define TNFS_IOV_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/uio.h>

struct tnfs_iov_cursor {
	const struct iovec *iov;
	size_t cnt, i;
	size_t off;			/* into iov[i] */
	size_t left;			/* bytes of the range still to give */
};

/* The @len bytes of @iov from byte @off. */
void tnfs_iov_cursor_init(struct tnfs_iov_cursor *c, const struct iovec *iov,
			  size_t cnt, size_t off, size_t len);

/* The next contiguous segment of the range; false once it is all given. */
bool tnfs_iov_next(struct tnfs_iov_cursor *c, char **base, size_t *len);

/*
 * At most @room segments covering the @len bytes of @iov from @off, into
 * @out; returns how many, and in *@covered (may be NULL) the bytes they
 * hold (less than @len when @room ran out).
 */
unsigned int tnfs_iov_slice(const struct iovec *iov, size_t cnt, size_t off,
			    size_t len, struct iovec *out, unsigned int room,
			    size_t *covered);

/* Copy @len bytes into @iov from byte @off on; a NULL @src writes zeros. */
void tnfs_iov_put(const struct iovec *iov, size_t cnt, size_t off,
		  const void *src, size_t len);

/* Copy @len bytes of @iov from byte @off on into @dst. */
void tnfs_iov_get(const struct iovec *iov, size_t cnt, size_t off,
		  void *dst, size_t len);

#endif
