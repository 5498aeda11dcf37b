/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * One table from an I/O result (an NFSv3 status, or one of the engine's
 * own failures below) to the SCSI sense an initiator sees.
 */
#ifndef NFS_STATUS_H
#define NFS_STATUS_H

#include <stdbool.h>
#include <stdint.h>

/* Engine failures that are not an nfsstat3 (which are all >= 0). */
enum nfs_io_error {
	NFS_IO_ERR_TRANSPORT = -1,	/* RPC failed, timed out or cancelled */
	NFS_IO_ERR_NOMEM = -2,		/* could not queue the RPC */
	NFS_IO_ERR_RANGE = -3,		/* beyond the end of the device */
	NFS_IO_ERR_SHUTDOWN = -4,	/* device is closing */
	NFS_IO_ERR_SHORT = -5,		/* server made no progress */
	NFS_IO_ERR_LOST = -6,		/* an acknowledged write failed */
					/* later (write-back), reported */
					/* by the next flush */
};

#define NFS_SENSE_NO_SENSE		0x0
#define NFS_SENSE_NOT_READY		0x2
#define NFS_SENSE_MEDIUM_ERROR		0x3
#define NFS_SENSE_HARDWARE_ERROR	0x4
#define NFS_SENSE_ILLEGAL_REQUEST	0x5
#define NFS_SENSE_DATA_PROTECT		0x7

struct nfs_sense {
	uint8_t key;		/* 0 with status 0: no sense, GOOD */
	uint16_t asc_ascq;
	bool retryable;		/* worth retrying once the server is back */
};

/* Sense for @status (0 = success) of a read (@write false) or write. */
struct nfs_sense nfs_status_sense(int status, bool write);

/* "NFS3ERR_NOSPC" and the like, for log messages. */
const char *nfs_status_name(int status);

#endif
