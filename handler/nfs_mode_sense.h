/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SCSI details the tcmu-runner core does not handle as user:nfs needs. */
#ifndef NFS_MODE_SENSE_H
#define NFS_MODE_SENSE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

struct tcmu_device;

/* MODE SENSE (6) and (10) with DPOFUA set; returns a TCMU_STS code. */
int nfs_mode_sense(struct tcmu_device *dev, uint8_t *cdb,
		   struct iovec *iov, size_t iov_cnt);

/* Does this write CDB ask for Force Unit Access? */
bool nfs_cdb_fua(const uint8_t *cdb);

#endif
