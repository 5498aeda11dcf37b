/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * SCSI commands user:nfs answers or refuses itself, in handle_cmd, before
 * tcmu-runner's core sees them (docs/scsi.md).  Each function returns a
 * TCMU_STS code, or TCMU_STS_NOT_HANDLED to let the core go on.
 */
#ifndef TNFS_SCSI_H
#define TNFS_SCSI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

struct tcmu_device;

/*
 * The core's COMPARE AND WRITE holds one lock per device across a read,
 * a compare and a write: one block at a time, as the core (and LIO's own
 * backstores) advertise.
 */
#define TNFS_MAX_CAW_BLOCKS	1

/*
 * The core emulates WRITE SAME with 1 MiB writes one after another, all
 * inside one SCSI command: bound it so one command stays well inside the
 * initiator's timeout even on a slow server (Linux sends write-zeroes as
 * WRITE SAME up to this size).
 */
#define TNFS_MAX_WRITE_SAME_BYTES	(8u * 1024 * 1024)

/* Blocks in the largest WRITE SAME accepted (VPD Block Limits). */
uint32_t tnfs_max_write_same_blocks(struct tcmu_device *dev);

/*
 * Thin provisioning (NFSv4.2 DEALLOCATE, tnfs_engine_can_unmap): the
 * largest UNMAP range in one descriptor, the descriptors in one UNMAP,
 * and the granularity below which a server zeroes rather than frees (a
 * file system block, taken to be 4 KiB).  A device is thin when its
 * tcmu_dev_get_max_unmap_len is not 0 (set at open, tnfs_scsi_thin).
 */
#define TNFS_MAX_UNMAP_BLOCKS		(32u * 1024 * 1024)
#define TNFS_MAX_UNMAP_DESCRIPTORS	4
#define TNFS_UNMAP_GRANULARITY_BYTES	4096u

/* Set (@thin) or clear the core's UNMAP limits for @dev. */
void tnfs_scsi_set_thin(struct tcmu_device *dev, bool thin);
bool tnfs_scsi_thin(struct tcmu_device *dev);

/*
 * Fields in a CDB that user:nfs cannot honour: protection information,
 * WRITE SAME's ANCHOR/NDOB, its UNMAP unless thin and the data zeros,
 * UNMAP unless thin, COMPARE AND WRITE beyond its limits.
 */
int tnfs_cdb_check(struct tcmu_device *dev, const uint8_t *cdb,
		   const struct iovec *iov, size_t iov_cnt);

/* Does this write CDB ask for Force Unit Access? (The core ignores it.) */
bool tnfs_cdb_fua(const uint8_t *cdb);

/* MODE SENSE (6) and (10) with DPOFUA set */
int tnfs_mode_sense(struct tcmu_device *dev, uint8_t *cdb,
		    struct iovec *iov, size_t iov_cnt);

/*
 * INQUIRY: standard data (TPGS implicit when @alua: a LUN of several
 * gateways, ha=), VPD Block Limits and Logical Block Provisioning
 */
int tnfs_inquiry(struct tcmu_device *dev, const uint8_t *cdb,
		 struct iovec *iov, size_t iov_cnt, bool alua);

/* READ CAPACITY (16), with LBPME = LBPRZ = 1 when thin, else 0 */
int tnfs_read_capacity16(struct tcmu_device *dev, const uint8_t *cdb,
			 struct iovec *iov, size_t iov_cnt);

/* Zero the whole Data-In buffer: the ring's data area is not cleared. */
void tnfs_scsi_zero(struct iovec *iov, size_t iov_cnt);

#endif
