// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * NFS result -> SCSI sense, in one table.  The choices follow what an
 * initiator does with the sense: NOT READY/04-01 and BUSY are retried by
 * Linux, DATA PROTECT and MEDIUM ERROR are reported to the filesystem at
 * once, and out-of-space uses the thin-provisioning code (27-07) so that
 * multipath and filesystems recognise it.
 */
#include <stddef.h>

#include <sys/time.h>	/* libnfs.h needs struct timeval */

#include <nfsc/libnfs.h>
#include <nfsc/libnfs-raw.h>
#include <nfsc/libnfs-raw-nfs.h>

#include "nfs_status.h"

#define ANY_OP 0xffff	/* same sense for reads and writes */

struct nfs_status_map {
	int status;
	const char *name;
	uint8_t key;
	uint16_t read_asc;	/* asc/ascq for a read */
	uint16_t write_asc;	/* asc/ascq for a write, or ANY_OP */
	bool retryable;
};

static const struct nfs_status_map nfs_status_table[] = {
	{ NFS3_OK, "NFS3_OK", NFS_SENSE_NO_SENSE, 0, ANY_OP, false },
	/* the credentials in the cfgstring lost their rights: data protect */
	{ NFS3ERR_PERM, "NFS3ERR_PERM",
	  NFS_SENSE_DATA_PROTECT, 0x2700, ANY_OP, false },
	{ NFS3ERR_ACCES, "NFS3ERR_ACCES",
	  NFS_SENSE_DATA_PROTECT, 0x2700, ANY_OP, false },
	{ NFS3ERR_ROFS, "NFS3ERR_ROFS",
	  NFS_SENSE_DATA_PROTECT, 0x2700, ANY_OP, false },
	/* SPACE ALLOCATION FAILED WRITE PROTECT, as thin LUNs report it */
	{ NFS3ERR_NOSPC, "NFS3ERR_NOSPC",
	  NFS_SENSE_DATA_PROTECT, 0x2707, ANY_OP, false },
	{ NFS3ERR_DQUOT, "NFS3ERR_DQUOT",
	  NFS_SENSE_DATA_PROTECT, 0x2707, ANY_OP, false },
	/* UNRECOVERED READ ERROR / WRITE ERROR */
	{ NFS3ERR_IO, "NFS3ERR_IO",
	  NFS_SENSE_MEDIUM_ERROR, 0x1100, 0x0c00, false },
	/* the file behind the device is gone: MEDIUM NOT PRESENT */
	{ NFS3ERR_STALE, "NFS3ERR_STALE",
	  NFS_SENSE_NOT_READY, 0x3a00, ANY_OP, false },
	{ NFS3ERR_BADHANDLE, "NFS3ERR_BADHANDLE",
	  NFS_SENSE_NOT_READY, 0x3a00, ANY_OP, false },
	{ NFS3ERR_NXIO, "NFS3ERR_NXIO",
	  NFS_SENSE_NOT_READY, 0x3a00, ANY_OP, false },
	/* LOGICAL BLOCK ADDRESS OUT OF RANGE */
	{ NFS3ERR_FBIG, "NFS3ERR_FBIG",
	  NFS_SENSE_ILLEGAL_REQUEST, 0x2100, ANY_OP, false },
	{ NFS3ERR_INVAL, "NFS3ERR_INVAL",
	  NFS_SENSE_ILLEGAL_REQUEST, 0x2400, ANY_OP, false },
	/* server busy (e.g. HSM recall): LUN IS IN PROCESS OF BECOMING READY */
	{ NFS3ERR_JUKEBOX, "NFS3ERR_JUKEBOX",
	  NFS_SENSE_NOT_READY, 0x0401, ANY_OP, true },
	{ NFS3ERR_SERVERFAULT, "NFS3ERR_SERVERFAULT",
	  NFS_SENSE_HARDWARE_ERROR, 0x4400, ANY_OP, false },
	/* engine failures */
	{ NFS_IO_ERR_TRANSPORT, "transport error",
	  NFS_SENSE_NOT_READY, 0x0401, ANY_OP, true },
	{ NFS_IO_ERR_NOMEM, "out of memory",
	  NFS_SENSE_NOT_READY, 0x0401, ANY_OP, true },
	{ NFS_IO_ERR_SHUTDOWN, "device closing",
	  NFS_SENSE_NOT_READY, 0x0401, ANY_OP, true },
	{ NFS_IO_ERR_RANGE, "beyond end of device",
	  NFS_SENSE_ILLEGAL_REQUEST, 0x2100, ANY_OP, false },
	{ NFS_IO_ERR_SHORT, "no progress from server",
	  NFS_SENSE_MEDIUM_ERROR, 0x1100, 0x0c00, false },
	/* as a failed writeback is reported by fsync on Linux */
	{ NFS_IO_ERR_LOST, "acknowledged write failed later",
	  NFS_SENSE_MEDIUM_ERROR, 0x0c00, ANY_OP, false },
};

/* Anything else the server says: INTERNAL TARGET FAILURE. */
static const struct nfs_status_map nfs_status_other = {
	-1000, "unexpected NFS status", NFS_SENSE_HARDWARE_ERROR,
	0x4400, ANY_OP, false
};

static const struct nfs_status_map *lookup(int status)
{
	size_t i;

	for (i = 0; i < sizeof(nfs_status_table) /
		    sizeof(nfs_status_table[0]); i++)
		if (nfs_status_table[i].status == status)
			return &nfs_status_table[i];
	return &nfs_status_other;
}

struct nfs_sense nfs_status_sense(int status, bool write)
{
	const struct nfs_status_map *m = lookup(status);
	struct nfs_sense s = { m->key, m->read_asc, m->retryable };

	if (write && m->write_asc != ANY_OP)
		s.asc_ascq = m->write_asc;
	return s;
}

const char *nfs_status_name(int status)
{
	return lookup(status)->name;
}
