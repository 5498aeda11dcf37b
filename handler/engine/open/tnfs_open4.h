/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vers=4.1 / 4.2: tnfs_open.h's functions without libnfs (whose 4.0
 * has no 4.1): a short-lived session of its own over one blocking
 * connection, the same checks and the same messages as NFSv3, and
 * nothing left behind (the file closed, the session and client ID
 * destroyed).  The engine's transport then makes its own session and
 * opens the file by its handle (transport/tnfs_session.c).
 */
#ifndef TNFS_OPEN4_H
#define TNFS_OPEN4_H

#include "tnfs_open.h"

int tnfs_open4_backing(const struct tnfs_open_params *p,
		       const struct tnfs_logger *log, struct tnfs_backing *b,
		       char *err, size_t err_len);
int tnfs_open4_probe(const struct tnfs_open_params *p,
		     char *err, size_t err_len);
int tnfs_open4_lookup(const struct tnfs_open_params *p, struct tnfs_xdr_fh *fh,
		      uint64_t *fileid, char *err, size_t err_len);
int tnfs_open4_check_grow(const struct tnfs_open_params *p,
			  const struct tnfs_logger *log, uint64_t fileid,
			  char *err, size_t err_len);

#endif
