/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Opening the backing file (tnfs_open.c): mount, find or create and
 * check it with libnfs, the only part of the engine that uses libnfs,
 * and hand the transport what it needs to reach it.  Runs on the
 * caller's thread, before the engine thread starts (and again for a
 * resize); leaves nothing open.
 */
#ifndef TNFS_OPEN_H
#define TNFS_OPEN_H

#include "tnfs_base.h"
#include "tnfs_config.h"
#include "tnfs_transport.h"

/* What opening needs to know of the device. */
struct tnfs_open_params {
	const struct tnfs_config *cfg;
	uint64_t dev_size;		/* bytes */
	uint32_t block_size;
};

struct tnfs_backing {
	struct tnfs_transport_params tp;
	uint32_t rmax, wmax;
	bool can_dealloc;		/* NFSv4.2: the server deallocates */
};

/*
 * Mount, find (or create) and check the file.  On error returns -errno
 * with the reason, fit for a user, in @err.
 */
int tnfs_open_backing(const struct tnfs_open_params *p,
		      const struct tnfs_logger *log, struct tnfs_backing *b,
		      char *err, size_t err_len);

/*
 * The checks tnfs_open_backing makes, bounded to a few seconds, without
 * creating anything (with dev_size 0 and the smallest block size when
 * the size is not known yet).
 */
int tnfs_open_probe(const struct tnfs_open_params *p,
		    char *err, size_t err_len);

/*
 * The file at the configured path again (after a stale handle), bounded
 * to a few seconds, creating nothing: its handle and fileid.  -ENOENT
 * when it is not there (the reason in @err).
 */
int tnfs_open_lookup(const struct tnfs_open_params *p, struct tnfs_xdr_fh *fh,
		     uint64_t *fileid, char *err, size_t err_len);

/*
 * Growing to p->dev_size: the open-time checks again, on the same file
 * (@fileid); with create=1 a file too small is extended (sparse).
 */
int tnfs_open_check_grow(const struct tnfs_open_params *p,
			 const struct tnfs_logger *log, uint64_t fileid,
			 char *err, size_t err_len);

#endif
