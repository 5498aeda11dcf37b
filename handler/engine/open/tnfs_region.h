/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Where the device lives inside the backing file: the open-time size and
 * offset checks, kept apart from the network so they can be unit tested.
 */
#ifndef TNFS_REGION_H
#define TNFS_REGION_H

#include <stddef.h>
#include <stdint.h>

struct tnfs_region {
	uint64_t file_size;	/* size of the backing file */
	uint64_t offset;	/* byte position of LBA 0 */
	uint64_t dev_size;	/* num_lbas * block_size */
	uint32_t block_size;	/* device block size */
};

/*
 * Returns 0 when the device fits in the file, else -EINVAL with the reason
 * in @err.  @unused is set to the bytes after the device that it does not
 * use (worth a warning: usually a size typo in targetcli).
 */
int tnfs_region_check(const struct tnfs_region *r, uint64_t *unused,
		      char *err, size_t err_len);

struct tnfs_logger;

/*
 * The open path's check (v3 and v4.1 alike): tnfs_region_check with the
 * reason "PATH: ..." in @err, and the unused tail, if any, logged as a
 * warning to @log (none: NULL, as for check_config).
 */
int tnfs_region_check_file(const struct tnfs_region *r, const char *path,
			   const struct tnfs_logger *log, char *err,
			   size_t err_len);

/* The largest READ and WRITE the engine sends. */
#define TNFS_REGION_MAX_IO	(1024 * 1024)

/* A server's rsize/wsize (v4: maxread/maxwrite) as used: 4 KiB to 1 MiB. */
uint32_t tnfs_region_clamp_io(uint64_t v);

#endif
