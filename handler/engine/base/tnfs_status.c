// SPDX-License-Identifier: LGPL-2.1-or-later
#include "tnfs_status.h"

struct tnfs_status_info {
	int status;
	const char *name;
	bool transient;
};

static const struct tnfs_status_info tnfs_statuses[] = {
	{ TNFS_NFS3_OK, "NFS3_OK", false },
	{ TNFS_NFS3ERR_PERM, "NFS3ERR_PERM", false },
	{ TNFS_NFS3ERR_NOENT, "NFS3ERR_NOENT", false },
	{ TNFS_NFS3ERR_IO, "NFS3ERR_IO", false },
	{ TNFS_NFS3ERR_NXIO, "NFS3ERR_NXIO", false },
	{ TNFS_NFS3ERR_ACCES, "NFS3ERR_ACCES", false },
	{ TNFS_NFS3ERR_EXIST, "NFS3ERR_EXIST", false },
	{ TNFS_NFS3ERR_XDEV, "NFS3ERR_XDEV", false },
	{ TNFS_NFS3ERR_NODEV, "NFS3ERR_NODEV", false },
	{ TNFS_NFS3ERR_NOTDIR, "NFS3ERR_NOTDIR", false },
	{ TNFS_NFS3ERR_ISDIR, "NFS3ERR_ISDIR", false },
	{ TNFS_NFS3ERR_INVAL, "NFS3ERR_INVAL", false },
	{ TNFS_NFS3ERR_FBIG, "NFS3ERR_FBIG", false },
	{ TNFS_NFS3ERR_NOSPC, "NFS3ERR_NOSPC", false },
	{ TNFS_NFS3ERR_ROFS, "NFS3ERR_ROFS", false },
	{ TNFS_NFS3ERR_MLINK, "NFS3ERR_MLINK", false },
	{ TNFS_NFS3ERR_NAMETOOLONG, "NFS3ERR_NAMETOOLONG", false },
	{ TNFS_NFS3ERR_NOTEMPTY, "NFS3ERR_NOTEMPTY", false },
	{ TNFS_NFS3ERR_DQUOT, "NFS3ERR_DQUOT", false },
	{ TNFS_NFS3ERR_STALE, "NFS3ERR_STALE", false },
	{ TNFS_NFS3ERR_REMOTE, "NFS3ERR_REMOTE", false },
	{ TNFS_NFS3ERR_BADHANDLE, "NFS3ERR_BADHANDLE", false },
	{ TNFS_NFS3ERR_NOT_SYNC, "NFS3ERR_NOT_SYNC", false },
	{ TNFS_NFS3ERR_BAD_COOKIE, "NFS3ERR_BAD_COOKIE", false },
	{ TNFS_NFS3ERR_NOTSUPP, "NFS3ERR_NOTSUPP", false },
	{ TNFS_NFS3ERR_TOOSMALL, "NFS3ERR_TOOSMALL", false },
	{ TNFS_NFS3ERR_SERVERFAULT, "NFS3ERR_SERVERFAULT", false },
	{ TNFS_NFS3ERR_BADTYPE, "NFS3ERR_BADTYPE", false },
	/* the server is busy (e.g. an HSM recall): it asks for a retry */
	{ TNFS_NFS3ERR_JUKEBOX, "NFS3ERR_JUKEBOX", true },
	/* NFSv4: a restarted server not yet taking new state */
	{ TNFS_NFS4ERR_GRACE, "NFS4ERR_GRACE", true },
	{ TNFS_NFS4ERR_OP_ILLEGAL, "NFS4ERR_OP_ILLEGAL", false },
	{ TNFS_IO_ERR_TRANSPORT, "transport error", true },
	{ TNFS_IO_ERR_NOMEM, "out of memory", true },
	{ TNFS_IO_ERR_SHUTDOWN, "device closing", true },
	{ TNFS_IO_ERR_RANGE, "beyond end of device", false },
	{ TNFS_IO_ERR_SHORT, "no progress from server", false },
	{ TNFS_IO_ERR_LOST, "acknowledged write failed later", false },
	/* a server that no longer speaks ONC RPC v2 / NFSv3 to us */
	{ TNFS_IO_ERR_RPC_MISMATCH, "RPC version refused (RPC_MISMATCH)",
	  false },
	{ TNFS_IO_ERR_AUTH, "credentials refused (AUTH_ERROR)", false },
	{ TNFS_IO_ERR_PROG_UNAVAIL, "no NFS service (PROG_UNAVAIL)", false },
	{ TNFS_IO_ERR_PROG_MISMATCH, "no NFSv3 (PROG_MISMATCH)", false },
	{ TNFS_IO_ERR_PROC_UNAVAIL, "procedure unavailable (PROC_UNAVAIL)",
	  false },
	{ TNFS_IO_ERR_GARBAGE_ARGS, "call refused (GARBAGE_ARGS)", false },
	/* the server could not do it now (memory, say): worth a retry */
	{ TNFS_IO_ERR_SYSTEM_ERR, "server error (SYSTEM_ERR)", true },
	{ TNFS_IO_ERR_GARBLED, "replies that do not decode", false },
	{ TNFS_IO_ERR_SHRUNK, "backing file shorter than the device", false },
	{ TNFS_IO_ERR_FENCED, "fenced: not the disk's owner", false },
	/* never written without it: the device fails instead */
	{ TNFS_IO_ERR_STATE_LOST, "NFSv4 open state lost", false },
};

#define NR_STATUSES (sizeof(tnfs_statuses) / sizeof(tnfs_statuses[0]))

/* Anything else the server says. */
static const struct tnfs_status_info tnfs_status_other = {
	-1000, "unexpected NFS status", false
};

static const struct tnfs_status_info *lookup(int status)
{
	size_t i;

	for (i = 0; i < NR_STATUSES; i++)
		if (tnfs_statuses[i].status == status)
			return &tnfs_statuses[i];
	return &tnfs_status_other;
}

const char *tnfs_status_name(int status)
{
	return lookup(status)->name;
}

bool tnfs_status_transient(int status)
{
	return lookup(status)->transient;
}

bool tnfs_status_at(size_t i, int *status)
{
	if (i >= NR_STATUSES)
		return false;
	*status = tnfs_statuses[i].status;
	return true;
}
