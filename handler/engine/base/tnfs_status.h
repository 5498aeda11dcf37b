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

/* nfsstat3 (RFC 1813, 2.6): every value the protocol defines */
enum tnfs_nfsstat {
	TNFS_NFS3_OK = 0,
	TNFS_NFS3ERR_PERM = 1,
	TNFS_NFS3ERR_NOENT = 2,
	TNFS_NFS3ERR_IO = 5,
	TNFS_NFS3ERR_NXIO = 6,
	TNFS_NFS3ERR_ACCES = 13,
	TNFS_NFS3ERR_EXIST = 17,
	TNFS_NFS3ERR_XDEV = 18,
	TNFS_NFS3ERR_NODEV = 19,
	TNFS_NFS3ERR_NOTDIR = 20,
	TNFS_NFS3ERR_ISDIR = 21,
	TNFS_NFS3ERR_INVAL = 22,
	TNFS_NFS3ERR_FBIG = 27,
	TNFS_NFS3ERR_NOSPC = 28,
	TNFS_NFS3ERR_ROFS = 30,
	TNFS_NFS3ERR_MLINK = 31,
	TNFS_NFS3ERR_NAMETOOLONG = 63,
	TNFS_NFS3ERR_NOTEMPTY = 66,
	TNFS_NFS3ERR_DQUOT = 69,
	TNFS_NFS3ERR_STALE = 70,
	TNFS_NFS3ERR_REMOTE = 71,
	TNFS_NFS3ERR_BADHANDLE = 10001,
	TNFS_NFS3ERR_NOT_SYNC = 10002,
	TNFS_NFS3ERR_BAD_COOKIE = 10003,
	TNFS_NFS3ERR_NOTSUPP = 10004,
	TNFS_NFS3ERR_TOOSMALL = 10005,
	TNFS_NFS3ERR_SERVERFAULT = 10006,
	TNFS_NFS3ERR_BADTYPE = 10007,
	TNFS_NFS3ERR_JUKEBOX = 10008,	/* NFSv4: NFS4ERR_DELAY */
	/*
	 * NFSv4 numbers most errors as v3 does; of its own, only this one
	 * reaches a command: the server restarted and is in its grace
	 * period (the transport retries it until the command's deadline).
	 */
	TNFS_NFS4ERR_GRACE = 10013,
	/* an operation the server does not know: DEALLOCATE on 4.1 */
	TNFS_NFS4ERR_OP_ILLEGAL = 10044,
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
					/* by every flush until healed */
	/* the server refused the call at the RPC level (RFC 5531) */
	TNFS_IO_ERR_RPC_MISMATCH = -7,	/* MSG_DENIED, RPC_MISMATCH */
	TNFS_IO_ERR_AUTH = -8,		/* MSG_DENIED, AUTH_ERROR */
	TNFS_IO_ERR_PROG_UNAVAIL = -9,
	TNFS_IO_ERR_PROG_MISMATCH = -10,
	TNFS_IO_ERR_PROC_UNAVAIL = -11,
	TNFS_IO_ERR_GARBAGE_ARGS = -12,
	TNFS_IO_ERR_SYSTEM_ERR = -13,
	TNFS_IO_ERR_GARBLED = -14,	/* answered twice with a reply */
					/* that does not decode */
	TNFS_IO_ERR_SHRUNK = -15,	/* the file ends before the device */
	TNFS_IO_ERR_FENCED = -16,	/* fenced: this gateway must not */
					/* write (tnfs_engine_fence) */
	TNFS_IO_ERR_STATE_LOST = -17,	/* NFSv4.1: the server lost or */
					/* revoked our open of the file */
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
