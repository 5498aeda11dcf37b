// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * I/O result -> SCSI sense, in one table.  The choices follow what an
 * initiator does with the sense: NOT READY/04-01 and BUSY are retried by
 * Linux, DATA PROTECT and MEDIUM ERROR are reported to the filesystem at
 * once, and out-of-space uses the thin-provisioning code (27-07) so that
 * multipath and filesystems recognise it.
 */
#include <stddef.h>

#include "tnfs_sense.h"

#define ANY_OP 0xffff	/* same sense for reads and writes */

struct tnfs_sense_map {
	int status;
	uint8_t key;
	uint16_t read_asc;	/* asc/ascq for a read */
	uint16_t write_asc;	/* asc/ascq for a write, or ANY_OP */
};

static const struct tnfs_sense_map tnfs_sense_table[] = {
	{ TNFS_NFS3_OK, TNFS_SENSE_NO_SENSE, 0, ANY_OP },
	/* the credentials in the cfgstring lost their rights: data protect */
	{ TNFS_NFS3ERR_PERM, TNFS_SENSE_DATA_PROTECT, 0x2700, ANY_OP },
	{ TNFS_NFS3ERR_ACCES, TNFS_SENSE_DATA_PROTECT, 0x2700, ANY_OP },
	{ TNFS_NFS3ERR_ROFS, TNFS_SENSE_DATA_PROTECT, 0x2700, ANY_OP },
	{ TNFS_IO_ERR_AUTH, TNFS_SENSE_DATA_PROTECT, 0x2700, ANY_OP },
	/* SPACE ALLOCATION FAILED WRITE PROTECT, as thin LUNs report it */
	{ TNFS_NFS3ERR_NOSPC, TNFS_SENSE_DATA_PROTECT, 0x2707, ANY_OP },
	{ TNFS_NFS3ERR_DQUOT, TNFS_SENSE_DATA_PROTECT, 0x2707, ANY_OP },
	/* UNRECOVERED READ ERROR / WRITE ERROR */
	{ TNFS_NFS3ERR_IO, TNFS_SENSE_MEDIUM_ERROR, 0x1100, 0x0c00 },
	{ TNFS_IO_ERR_SHORT, TNFS_SENSE_MEDIUM_ERROR, 0x1100, 0x0c00 },
	/* the file ends before the device: its blocks cannot be read */
	{ TNFS_IO_ERR_SHRUNK, TNFS_SENSE_MEDIUM_ERROR, 0x1100, 0x0c00 },
	/* as a failed writeback is reported by fsync on Linux */
	{ TNFS_IO_ERR_LOST, TNFS_SENSE_MEDIUM_ERROR, 0x0c00, ANY_OP },
	/* the file behind the device is gone: MEDIUM NOT PRESENT */
	{ TNFS_NFS3ERR_STALE, TNFS_SENSE_NOT_READY, 0x3a00, ANY_OP },
	{ TNFS_NFS3ERR_BADHANDLE, TNFS_SENSE_NOT_READY, 0x3a00, ANY_OP },
	{ TNFS_NFS3ERR_NXIO, TNFS_SENSE_NOT_READY, 0x3a00, ANY_OP },
	{ TNFS_NFS3ERR_NOENT, TNFS_SENSE_NOT_READY, 0x3a00, ANY_OP },
	/* NFSv4.1: the open is gone; writing without it is refused */
	{ TNFS_IO_ERR_STATE_LOST, TNFS_SENSE_NOT_READY, 0x3a00, ANY_OP },
	{ TNFS_NFS3ERR_NODEV, TNFS_SENSE_NOT_READY, 0x3a00, ANY_OP },
	{ TNFS_NFS3ERR_ISDIR, TNFS_SENSE_NOT_READY, 0x3a00, ANY_OP },
	/* LOGICAL BLOCK ADDRESS OUT OF RANGE */
	{ TNFS_NFS3ERR_FBIG, TNFS_SENSE_ILLEGAL_REQUEST, 0x2100, ANY_OP },
	{ TNFS_IO_ERR_RANGE, TNFS_SENSE_ILLEGAL_REQUEST, 0x2100, ANY_OP },
	{ TNFS_NFS3ERR_INVAL, TNFS_SENSE_ILLEGAL_REQUEST, 0x2400, ANY_OP },
	/*
	 * Busy for now (an HSM recall, memory on the server, no answer in
	 * time): LUN IS IN PROCESS OF BECOMING READY, which Linux retries.
	 */
	{ TNFS_NFS3ERR_JUKEBOX, TNFS_SENSE_NOT_READY, 0x0401, ANY_OP },
	{ TNFS_NFS4ERR_GRACE, TNFS_SENSE_NOT_READY, 0x0401, ANY_OP },
	{ TNFS_IO_ERR_SYSTEM_ERR, TNFS_SENSE_NOT_READY, 0x0401, ANY_OP },
	{ TNFS_IO_ERR_TRANSPORT, TNFS_SENSE_NOT_READY, 0x0401, ANY_OP },
	{ TNFS_IO_ERR_NOMEM, TNFS_SENSE_NOT_READY, 0x0401, ANY_OP },
	{ TNFS_IO_ERR_SHUTDOWN, TNFS_SENSE_NOT_READY, 0x0401, ANY_OP },
	/*
	 * Fenced: another gateway owns the disk.  LOGICAL UNIT NOT
	 * ACCESSIBLE, TARGET PORT IN STANDBY STATE: multipath takes
	 * another path.
	 */
	{ TNFS_IO_ERR_FENCED, TNFS_SENSE_NOT_READY, 0x040b, ANY_OP },
	/*
	 * The server does not speak ONC RPC v2 / NFSv3 with us, or answers
	 * in a way that never decodes: LOGICAL UNIT COMMUNICATION FAILURE,
	 * a HARDWARE ERROR that Linux does not retry: retrying cannot help.
	 */
	{ TNFS_IO_ERR_RPC_MISMATCH, TNFS_SENSE_HARDWARE_ERROR, 0x0800, ANY_OP },
	{ TNFS_IO_ERR_PROG_UNAVAIL, TNFS_SENSE_HARDWARE_ERROR, 0x0800, ANY_OP },
	{ TNFS_IO_ERR_PROG_MISMATCH, TNFS_SENSE_HARDWARE_ERROR, 0x0800,
	  ANY_OP },
	{ TNFS_IO_ERR_PROC_UNAVAIL, TNFS_SENSE_HARDWARE_ERROR, 0x0800, ANY_OP },
	{ TNFS_IO_ERR_GARBAGE_ARGS, TNFS_SENSE_HARDWARE_ERROR, 0x0800, ANY_OP },
	{ TNFS_IO_ERR_GARBLED, TNFS_SENSE_HARDWARE_ERROR, 0x0800, ANY_OP },
	/*
	 * What the server should never answer to READ, WRITE or COMMIT of
	 * a file handle: INTERNAL TARGET FAILURE.
	 */
	{ TNFS_NFS3ERR_SERVERFAULT, TNFS_SENSE_HARDWARE_ERROR, 0x4400, ANY_OP },
	{ TNFS_NFS3ERR_EXIST, TNFS_SENSE_HARDWARE_ERROR, 0x4400, ANY_OP },
	{ TNFS_NFS3ERR_XDEV, TNFS_SENSE_HARDWARE_ERROR, 0x4400, ANY_OP },
	{ TNFS_NFS3ERR_NOTDIR, TNFS_SENSE_HARDWARE_ERROR, 0x4400, ANY_OP },
	{ TNFS_NFS3ERR_MLINK, TNFS_SENSE_HARDWARE_ERROR, 0x4400, ANY_OP },
	{ TNFS_NFS3ERR_NAMETOOLONG, TNFS_SENSE_HARDWARE_ERROR, 0x4400,
	  ANY_OP },
	{ TNFS_NFS3ERR_NOTEMPTY, TNFS_SENSE_HARDWARE_ERROR, 0x4400, ANY_OP },
	{ TNFS_NFS3ERR_REMOTE, TNFS_SENSE_HARDWARE_ERROR, 0x4400, ANY_OP },
	{ TNFS_NFS3ERR_NOT_SYNC, TNFS_SENSE_HARDWARE_ERROR, 0x4400, ANY_OP },
	{ TNFS_NFS3ERR_BAD_COOKIE, TNFS_SENSE_HARDWARE_ERROR, 0x4400,
	  ANY_OP },
	{ TNFS_NFS3ERR_NOTSUPP, TNFS_SENSE_HARDWARE_ERROR, 0x4400, ANY_OP },
	{ TNFS_NFS3ERR_TOOSMALL, TNFS_SENSE_HARDWARE_ERROR, 0x4400, ANY_OP },
	{ TNFS_NFS3ERR_BADTYPE, TNFS_SENSE_HARDWARE_ERROR, 0x4400, ANY_OP },
	/* an UNMAP's is INVALID COMMAND OPERATION CODE (handler_nfs.c) */
	{ TNFS_NFS4ERR_OP_ILLEGAL, TNFS_SENSE_HARDWARE_ERROR, 0x4400, ANY_OP },
};

/* An nfsstat3 RFC 1813 does not define: INTERNAL TARGET FAILURE. */
static const struct tnfs_sense_map tnfs_sense_other = {
	-1000, TNFS_SENSE_HARDWARE_ERROR, 0x4400, ANY_OP
};

static const struct tnfs_sense_map *lookup(int status)
{
	size_t i;

	for (i = 0; i < sizeof(tnfs_sense_table) /
		    sizeof(tnfs_sense_table[0]); i++)
		if (tnfs_sense_table[i].status == status)
			return &tnfs_sense_table[i];
	return &tnfs_sense_other;
}

struct tnfs_sense tnfs_sense_of(int status, bool write)
{
	const struct tnfs_sense_map *m = lookup(status);
	struct tnfs_sense s = { m->key, m->read_asc };

	if (write && m->write_asc != ANY_OP)
		s.asc_ascq = m->write_asc;
	return s;
}

bool tnfs_sense_known(int status)
{
	return lookup(status) != &tnfs_sense_other;
}
