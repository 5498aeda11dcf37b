// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The open-time checks dm-nfs made on its backing file, in its order, each
 * with its own message: a wrong size or offset in targetcli must be told
 * apart from a bad file.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "tnfs_base.h"
#include "tnfs_region.h"

int tnfs_region_check(const struct tnfs_region *r, uint64_t *unused,
		      char *err, size_t err_len)
{
	uint64_t room;

	*unused = 0;
	if (!r->block_size || (r->block_size & (r->block_size - 1))) {
		snprintf(err, err_len, "device block size %u is not a power "
			 "of two", r->block_size);
		return -EINVAL;
	}
	if (!r->file_size) {
		snprintf(err, err_len, "backing file is empty");
		return -EINVAL;
	}
	if (r->file_size < r->block_size) {
		snprintf(err, err_len, "backing file is smaller than one "
			 "block (%" PRIu64 " < %u bytes)", r->file_size,
			 r->block_size);
		return -EINVAL;
	}
	if (r->offset % r->block_size) {
		snprintf(err, err_len, "offset %" PRIu64 " is not a multiple "
			 "of the block size %u", r->offset, r->block_size);
		return -EINVAL;
	}
	if (r->offset > r->file_size - r->block_size) {
		snprintf(err, err_len, "offset %" PRIu64 " is beyond the end "
			 "of the backing file (%" PRIu64 " bytes): no block "
			 "left after it", r->offset, r->file_size);
		return -EINVAL;
	}
	room = r->file_size - r->offset;
	if (room < r->dev_size) {
		snprintf(err, err_len, "region after offset %" PRIu64 " is %"
			 PRIu64 " bytes, smaller than the device size %"
			 PRIu64 " bytes", r->offset, room, r->dev_size);
		return -EINVAL;
	}
	*unused = room - r->dev_size;
	return 0;
}

int tnfs_region_check_file(const struct tnfs_region *r, const char *path,
			   const struct tnfs_logger *log, char *err,
			   size_t err_len)
{
	char why[200];
	uint64_t unused;
	int ret;

	ret = tnfs_region_check(r, &unused, why, sizeof(why));
	if (ret)
		return tnfs_err(err, err_len, ret, "%s: %s", path, why);
	if (unused)
		tnfs_log(log, TNFS_LOG_WARN, "%s: %" PRIu64 " bytes at the "
			 "end of the file are not used by the device", path,
			 unused);
	return 0;
}

uint32_t tnfs_region_clamp_io(uint64_t v)
{
	if (v < 4096)
		return 4096;
	return v > TNFS_REGION_MAX_IO ? TNFS_REGION_MAX_IO : (uint32_t)v;
}
