// SPDX-License-Identifier: LGPL-2.1-or-later
/* The NFS status -> SCSI sense table. */
#include <sys/time.h>

#include <nfsc/libnfs.h>
#include <nfsc/libnfs-raw.h>
#include <nfsc/libnfs-raw-nfs.h>

#include "../check.h"
#include "nfs_status.h"

static void expect(int status, bool write, uint8_t key, uint16_t asc,
		   bool retryable, const char *name)
{
	struct nfs_sense s = nfs_status_sense(status, write);

	CHECK(s.key == key && s.asc_ascq == asc && s.retryable == retryable,
	      "%s (%s): got key %x asc %04x retry %d", name,
	      write ? "write" : "read", s.key, s.asc_ascq, s.retryable);
	CHECK(!strcmp(nfs_status_name(status), name), "name %s, want %s",
	      nfs_status_name(status), name);
}

int main(void)
{
	expect(NFS3_OK, true, 0, 0, false, "NFS3_OK");
	expect(NFS3ERR_NOSPC, true, NFS_SENSE_DATA_PROTECT, 0x2707, false,
	       "NFS3ERR_NOSPC");
	expect(NFS3ERR_DQUOT, true, NFS_SENSE_DATA_PROTECT, 0x2707, false,
	       "NFS3ERR_DQUOT");
	expect(NFS3ERR_IO, false, NFS_SENSE_MEDIUM_ERROR, 0x1100, false,
	       "NFS3ERR_IO");
	expect(NFS3ERR_IO, true, NFS_SENSE_MEDIUM_ERROR, 0x0c00, false,
	       "NFS3ERR_IO");
	expect(NFS3ERR_ACCES, true, NFS_SENSE_DATA_PROTECT, 0x2700, false,
	       "NFS3ERR_ACCES");
	expect(NFS3ERR_ROFS, true, NFS_SENSE_DATA_PROTECT, 0x2700, false,
	       "NFS3ERR_ROFS");
	expect(NFS3ERR_PERM, false, NFS_SENSE_DATA_PROTECT, 0x2700, false,
	       "NFS3ERR_PERM");
	expect(NFS3ERR_STALE, false, NFS_SENSE_NOT_READY, 0x3a00, false,
	       "NFS3ERR_STALE");
	expect(NFS3ERR_BADHANDLE, true, NFS_SENSE_NOT_READY, 0x3a00, false,
	       "NFS3ERR_BADHANDLE");
	expect(NFS3ERR_FBIG, true, NFS_SENSE_ILLEGAL_REQUEST, 0x2100, false,
	       "NFS3ERR_FBIG");
	expect(NFS3ERR_INVAL, true, NFS_SENSE_ILLEGAL_REQUEST, 0x2400, false,
	       "NFS3ERR_INVAL");
	expect(NFS3ERR_JUKEBOX, false, NFS_SENSE_NOT_READY, 0x0401, true,
	       "NFS3ERR_JUKEBOX");
	expect(NFS3ERR_SERVERFAULT, true, NFS_SENSE_HARDWARE_ERROR, 0x4400,
	       false, "NFS3ERR_SERVERFAULT");
	expect(NFS3ERR_NOTDIR, true, NFS_SENSE_HARDWARE_ERROR, 0x4400,
	       false, "unexpected NFS status");
	expect(NFS_IO_ERR_TRANSPORT, true, NFS_SENSE_NOT_READY, 0x0401,
	       true, "transport error");
	expect(NFS_IO_ERR_NOMEM, false, NFS_SENSE_NOT_READY, 0x0401, true,
	       "out of memory");
	expect(NFS_IO_ERR_RANGE, false, NFS_SENSE_ILLEGAL_REQUEST, 0x2100,
	       false, "beyond end of device");
	expect(NFS_IO_ERR_SHORT, true, NFS_SENSE_MEDIUM_ERROR, 0x0c00,
	       false, "no progress from server");
	expect(NFS_IO_ERR_SHUTDOWN, true, NFS_SENSE_NOT_READY, 0x0401, true,
	       "device closing");
	return check_report("test_status");
}
