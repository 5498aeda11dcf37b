// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The I/O results (handler/engine/base/tnfs_status.c: names, and which
 * the engine retries) and the plugin's table from them to SCSI sense
 * (handler/plugin/tnfs_sense.c).
 */
#include "../check.h"
#include "tnfs_sense.h"
#include "tnfs_status.h"

/* an nfsstat3 RFC 1813 does not define, so neither table names it */
#define NOT_NAMED	12345

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
	CHECK(i >= 44, "only %zu statuses named", i);
	CHECK(!tnfs_sense_known(NOT_NAMED), "12345 has a row");
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
	/* refused at the RPC level: not transient, said as such */
	expect(TNFS_IO_ERR_AUTH, false, TNFS_SENSE_DATA_PROTECT, 0x2700,
	       false, "credentials refused (AUTH_ERROR)");
	expect(TNFS_IO_ERR_RPC_MISMATCH, true, TNFS_SENSE_HARDWARE_ERROR,
	       0x0800, false, "RPC version refused (RPC_MISMATCH)");
	expect(TNFS_IO_ERR_PROG_UNAVAIL, true, TNFS_SENSE_HARDWARE_ERROR,
	       0x0800, false, "no NFS service (PROG_UNAVAIL)");
	expect(TNFS_IO_ERR_PROG_MISMATCH, false, TNFS_SENSE_HARDWARE_ERROR,
	       0x0800, false, "no NFSv3 (PROG_MISMATCH)");
	expect(TNFS_IO_ERR_PROC_UNAVAIL, true, TNFS_SENSE_HARDWARE_ERROR,
	       0x0800, false, "procedure unavailable (PROC_UNAVAIL)");
	expect(TNFS_IO_ERR_GARBAGE_ARGS, true, TNFS_SENSE_HARDWARE_ERROR,
	       0x0800, false, "call refused (GARBAGE_ARGS)");
	expect(TNFS_IO_ERR_SYSTEM_ERR, true, TNFS_SENSE_NOT_READY, 0x0401,
	       true, "server error (SYSTEM_ERR)");
	expect(TNFS_IO_ERR_GARBLED, false, TNFS_SENSE_HARDWARE_ERROR, 0x0800,
	       false, "replies that do not decode");
	expect(TNFS_IO_ERR_SHRUNK, false, TNFS_SENSE_MEDIUM_ERROR, 0x1100,
	       false, "backing file shorter than the device");
	expect(TNFS_NFS3ERR_NOENT, false, TNFS_SENSE_NOT_READY, 0x3a00, false,
	       "NFS3ERR_NOENT");
	expect(TNFS_NFS3ERR_NOTSUPP, true, TNFS_SENSE_HARDWARE_ERROR, 0x4400,
	       false, "NFS3ERR_NOTSUPP");
	/* the largest status the decoder passes on is still a status */
	expect(0x7fffffff, true, TNFS_SENSE_HARDWARE_ERROR, 0x4400, false,
	       "unexpected NFS status");
	all_known();
	return check_report("test_status");
}
