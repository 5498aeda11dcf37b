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
	{ TNFS_NFS3ERR_ACCES, "NFS3ERR_ACCES", false },
	{ TNFS_NFS3ERR_ROFS, "NFS3ERR_ROFS", false },
	{ TNFS_NFS3ERR_NOSPC, "NFS3ERR_NOSPC", false },
	{ TNFS_NFS3ERR_DQUOT, "NFS3ERR_DQUOT", false },
	{ TNFS_NFS3ERR_IO, "NFS3ERR_IO", false },
	{ TNFS_NFS3ERR_STALE, "NFS3ERR_STALE", false },
	{ TNFS_NFS3ERR_BADHANDLE, "NFS3ERR_BADHANDLE", false },
	{ TNFS_NFS3ERR_NXIO, "NFS3ERR_NXIO", false },
	{ TNFS_NFS3ERR_FBIG, "NFS3ERR_FBIG", false },
	{ TNFS_NFS3ERR_INVAL, "NFS3ERR_INVAL", false },
	/* the server is busy (e.g. an HSM recall): it asks for a retry */
	{ TNFS_NFS3ERR_JUKEBOX, "NFS3ERR_JUKEBOX", true },
	{ TNFS_NFS3ERR_SERVERFAULT, "NFS3ERR_SERVERFAULT", false },
	{ TNFS_IO_ERR_TRANSPORT, "transport error", true },
	{ TNFS_IO_ERR_NOMEM, "out of memory", true },
	{ TNFS_IO_ERR_SHUTDOWN, "device closing", true },
	{ TNFS_IO_ERR_RANGE, "beyond end of device", false },
	{ TNFS_IO_ERR_SHORT, "no progress from server", false },
	{ TNFS_IO_ERR_LOST, "acknowledged write failed later", false },
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
