// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The I/O results (handler/engine/base/tnfs_status.c: names, and which
 * the engine retries) and the plugin's table from them to SCSI sense
 * (handler/plugin/tnfs_sense.c).
 */
#include "../check.h"
#include "tnfs_sense.h"
#include "tnfs_status.h"

/* an nfsstat3 neither table names: NFS3ERR_NOTDIR */
#define NOT_NAMED	20

static void expect(int status, bool write, uint8_t key, uint16_t asc,
		   bool retryable, const char *name)
{
	struct tnfs_sense s = tnfs_sense_of(status, write);
	bool transient = tnfs_status_transient(status);

	CHECK(s.key == key && s.asc_ascq == asc && transient == retryable,
	      "%s (%s): got key %x asc %04x retry %d", name,
	      write ? "write" : "read", s.key, s.asc_ascq, transient);
	CHECK(!strcmp(tnfs_status_name(status), name), "name %s, want %s",
	      tnfs_status_name(status), name);
}

/* Every result the engine names has a sense chosen for it, not the default. */
static void all_known(void)
{
	int status;
	size_t i;

	for (i = 0; tnfs_status_at(i, &status); i++)
		CHECK(tnfs_sense_known(status), "%s (%d) has no sense row",
		      tnfs_status_name(status), status);
	CHECK(i >= 20, "only %zu statuses named", i);
	CHECK(!tnfs_sense_known(NOT_NAMED), "NOTDIR has a row");
}

int main(void)
{
	expect(TNFS_NFS3_OK, true, 0, 0, false, "NFS3_OK");
	expect(TNFS_NFS3ERR_NOSPC, true, TNFS_SENSE_DATA_PROTECT, 0x2707, false,
	       "NFS3ERR_NOSPC");
	expect(TNFS_NFS3ERR_DQUOT, true, TNFS_SENSE_DATA_PROTECT, 0x2707, false,
	       "NFS3ERR_DQUOT");
	expect(TNFS_NFS3ERR_IO, false, TNFS_SENSE_MEDIUM_ERROR, 0x1100, false,
	       "NFS3ERR_IO");
	expect(TNFS_NFS3ERR_IO, true, TNFS_SENSE_MEDIUM_ERROR, 0x0c00, false,
	       "NFS3ERR_IO");
	expect(TNFS_NFS3ERR_ACCES, true, TNFS_SENSE_DATA_PROTECT, 0x2700, false,
	       "NFS3ERR_ACCES");
	expect(TNFS_NFS3ERR_ROFS, true, TNFS_SENSE_DATA_PROTECT, 0x2700, false,
	       "NFS3ERR_ROFS");
	expect(TNFS_NFS3ERR_PERM, false, TNFS_SENSE_DATA_PROTECT, 0x2700, false,
	       "NFS3ERR_PERM");
	expect(TNFS_NFS3ERR_STALE, false, TNFS_SENSE_NOT_READY, 0x3a00, false,
	       "NFS3ERR_STALE");
	expect(TNFS_NFS3ERR_BADHANDLE, true, TNFS_SENSE_NOT_READY, 0x3a00,
	       false, "NFS3ERR_BADHANDLE");
	expect(TNFS_NFS3ERR_FBIG, true, TNFS_SENSE_ILLEGAL_REQUEST, 0x2100,
	       false, "NFS3ERR_FBIG");
	expect(TNFS_NFS3ERR_INVAL, true, TNFS_SENSE_ILLEGAL_REQUEST, 0x2400,
	       false, "NFS3ERR_INVAL");
	expect(TNFS_NFS3ERR_JUKEBOX, false, TNFS_SENSE_NOT_READY, 0x0401, true,
	       "NFS3ERR_JUKEBOX");
	expect(TNFS_NFS3ERR_SERVERFAULT, true, TNFS_SENSE_HARDWARE_ERROR,
	       0x4400, false, "NFS3ERR_SERVERFAULT");
	expect(NOT_NAMED, true, TNFS_SENSE_HARDWARE_ERROR, 0x4400,
	       false, "unexpected NFS status");
	expect(TNFS_IO_ERR_TRANSPORT, true, TNFS_SENSE_NOT_READY, 0x0401,
	       true, "transport error");
	expect(TNFS_IO_ERR_NOMEM, false, TNFS_SENSE_NOT_READY, 0x0401, true,
	       "out of memory");
	expect(TNFS_IO_ERR_RANGE, false, TNFS_SENSE_ILLEGAL_REQUEST, 0x2100,
	       false, "beyond end of device");
	expect(TNFS_IO_ERR_SHORT, true, TNFS_SENSE_MEDIUM_ERROR, 0x0c00,
	       false, "no progress from server");
	expect(TNFS_IO_ERR_SHUTDOWN, true, TNFS_SENSE_NOT_READY, 0x0401, true,
	       "device closing");
	all_known();
	return check_report("test_status");
}
