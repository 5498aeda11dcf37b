/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What an I/O can end with, in every layer and in the plugin: an nfsstat3
 * the server answered (0 and up), or one of the engine's own failures
 * (below 0).  Here they have a name, for log lines, and a class: whether
 * the same call may succeed if sent again later.  How an initiator sees
 * them (SCSI sense) is the plugin's business (plugin/tnfs_sense.c).
 */
#ifndef TNFS_STATUS_H
#define TNFS_STATUS_H

#include <stdbool.h>
#include <stddef.h>

/* nfsstat3 (RFC 1813, 2.6) values the engine names or acts on */
enum tnfs_nfsstat {
	TNFS_NFS3_OK = 0,
	TNFS_NFS3ERR_PERM = 1,
	TNFS_NFS3ERR_IO = 5,
	TNFS_NFS3ERR_NXIO = 6,
	TNFS_NFS3ERR_ACCES = 13,
	TNFS_NFS3ERR_INVAL = 22,
	TNFS_NFS3ERR_FBIG = 27,
	TNFS_NFS3ERR_NOSPC = 28,
	TNFS_NFS3ERR_ROFS = 30,
	TNFS_NFS3ERR_DQUOT = 69,
	TNFS_NFS3ERR_STALE = 70,
	TNFS_NFS3ERR_BADHANDLE = 10001,
	TNFS_NFS3ERR_SERVERFAULT = 10006,
	TNFS_NFS3ERR_JUKEBOX = 10008,
};

/* Engine failures that are not an nfsstat3. */
enum tnfs_io_error {
	TNFS_IO_ERR_TRANSPORT = -1,	/* RPC failed, timed out or cancelled */
	TNFS_IO_ERR_NOMEM = -2,		/* could not queue the RPC */
	TNFS_IO_ERR_RANGE = -3,		/* beyond the end of the device */
	TNFS_IO_ERR_SHUTDOWN = -4,	/* device is closing */
	TNFS_IO_ERR_SHORT = -5,		/* server made no progress */
	TNFS_IO_ERR_LOST = -6,		/* an acknowledged write failed */
					/* later (write-back), reported */
					/* by the next flush */
};

/* "NFS3ERR_NOSPC", "transport error" and the like, for log lines. */
const char *tnfs_status_name(int status);

/*
 * May the same call succeed if sent again later (the server is busy or
 * unreachable, memory was short)?  Acknowledged write-back data failed
 * so is kept and retried; any other failure of it is data lost.
 */
bool tnfs_status_transient(int status);

/* The i-th status this file knows (for tests), false past the last. */
bool tnfs_status_at(size_t i, int *status);

#endif
