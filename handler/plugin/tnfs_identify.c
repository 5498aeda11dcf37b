// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * What user:nfs says about itself: standard INQUIRY, the VPD pages whose
 * bits must match what the handler does, READ CAPACITY (16).
 *
 * tcmu-runner 1.5.4's core gets these wrong (docs/scsi.md):
 * - it writes only its own bytes, so the rest of the Data-In buffer (the
 *   ring's data area, not cleared by the kernel) goes back to the
 *   initiator: another command's data;
 * - standard INQUIRY has no version descriptors (SAM/SPC/SBC), so
 *   initiators and test suites take the device for SBC-2;
 * - Logical Block Provisioning says LBPRZ=1 and READ CAPACITY (16) says
 *   LBPME=1 LBPRZ=1 whatever the handler does: Linux then sends
 *   discards, which NFSv3 cannot do (NFSv4.2's DEALLOCATE can: then
 *   the device is thin, tnfs_scsi_thin);
 * - Block Limits allows a WRITE SAME of 2^32 blocks, which the core
 *   emulates one 1 MiB write after another inside one command.
 * Pages the core gets right (00h, 80h, 83h, B1h) are still the core's,
 * into a zeroed buffer.
 */
#include <string.h>

#include <scsi/scsi.h>

#include "tcmu-runner.h"
#include "libtcmu_common.h"
#include "scsi_defs.h"

#include "tnfs_scsi.h"

#define STD_INQ_LEN	96	/* as LIO: additional length 91 */
#define VPD_LEN		64	/* Block Limits and LBP pages: 3Ch + 4 */

/* SCSI version descriptors (SPC-4 table "version descriptor values") */
#define VD_SAM5		0x00a0
#define VD_SPC4		0x0460
#define VD_SBC3		0x04c0

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	put_be16(p, v >> 16);
	put_be16(p + 2, v);
}

static void put_be64(uint8_t *p, uint64_t v)
{
	put_be32(p, v >> 32);
	put_be32(p + 4, v);
}

void tnfs_scsi_zero(struct iovec *iov, size_t iov_cnt)
{
	for (; iov_cnt; iov++, iov_cnt--)
		memset(iov->iov_base, 0, iov->iov_len);
}

/* SPC: copy at most the allocation length; the rest reads as zero. */
static int reply(struct iovec *iov, size_t iov_cnt, size_t alloc,
		 uint8_t *buf, size_t len)
{
	tnfs_scsi_zero(iov, iov_cnt);
	tcmu_memcpy_into_iovec(iov, iov_cnt, buf, alloc < len ? alloc : len);
	return TCMU_STS_OK;
}

/*
 * Identity strings as the core's, so that multipath and udev rules
 * matching "LIO-ORG"/"TCMU device" keep working.  TPGS is 0 but for a
 * LUN of several gateways (ha=): implicit ALUA (01b), the only kind
 * tcmu-runner 1.5.4 runs with lock callbacks (docs/ha.md).
 */
static int std_inquiry(struct iovec *iov, size_t iov_cnt, size_t alloc,
		       bool alua)
{
	uint8_t buf[STD_INQ_LEN];

	memset(buf, 0, sizeof(buf));
	buf[2] = 0x06;		/* SPC-4 */
	buf[3] = 0x02;		/* response data format */
	buf[4] = STD_INQ_LEN - 5;
	/* 3PC = 0: no EXTENDED COPY (handler_nfs.c) */
	buf[5] = alua ? 0x10 : 0;
	buf[7] = 0x02;		/* CmdQue */
	memcpy(&buf[8], "LIO-ORG ", 8);
	memcpy(&buf[16], "TCMU device     ", 16);
	memcpy(&buf[32], "0002", 4);
	put_be16(&buf[58], VD_SAM5);
	put_be16(&buf[60], VD_SPC4);
	put_be16(&buf[62], VD_SBC3);
	return reply(iov, iov_cnt, alloc, buf, sizeof(buf));
}

/* The SBC-3 page (3Ch); UNMAP fields only when thin (LBPU = 1). */
static int vpd_block_limits(struct tcmu_device *dev, struct iovec *iov,
			    size_t iov_cnt, size_t alloc)
{
	uint32_t max_xfer = tcmu_dev_get_max_xfer_len(dev);
	uint8_t buf[VPD_LEN];

	memset(buf, 0, sizeof(buf));
	buf[1] = 0xb0;
	put_be16(&buf[2], VPD_LEN - 4);
	buf[4] = 0x01;		/* WSNZ: the core refuses 0 blocks */
	buf[5] = TNFS_MAX_CAW_BLOCKS;
	/* hw_max_sectors: the kernel never sends more in one command */
	put_be32(&buf[8], max_xfer);
	put_be32(&buf[12], max_xfer);
	if (tnfs_scsi_thin(dev)) {
		put_be32(&buf[20], tcmu_dev_get_max_unmap_len(dev));
		put_be32(&buf[24], TNFS_MAX_UNMAP_DESCRIPTORS);
		put_be32(&buf[28], tcmu_dev_get_opt_unmap_gran(dev));
	}
	put_be64(&buf[36], tnfs_max_write_same_blocks(dev));
	return reply(iov, iov_cnt, alloc, buf, sizeof(buf));
}

/*
 * Fully provisioned unless thin: NFSv3 and 4.1 have no way to deallocate
 * (no DEALLOCATE or hole punching), so no LBPU, LBPWS, LBPWS10, and LBPRZ
 * = 0.  Thin (NFSv4.2 DEALLOCATE): UNMAP and WRITE SAME with UNMAP, and
 * LBPRZ = 1, as RFC 7862 says every later READ returns zeros.
 */
static int vpd_lbp(struct tcmu_device *dev, struct iovec *iov,
		   size_t iov_cnt, size_t alloc)
{
	uint8_t buf[8];

	memset(buf, 0, sizeof(buf));
	buf[1] = 0xb2;
	put_be16(&buf[2], 4);
	if (tnfs_scsi_thin(dev)) {
		buf[5] = 0x80 | 0x40 | 0x20 | 0x04; /* LBPU LBPWS(10) LBPRZ */
		buf[6] = 0x02;		/* thin provisioned */
	}
	return reply(iov, iov_cnt, alloc, buf, sizeof(buf));
}

int tnfs_inquiry(struct tcmu_device *dev, const uint8_t *cdb,
		 struct iovec *iov, size_t iov_cnt, bool alua)
{
	size_t alloc = (size_t)cdb[3] << 8 | cdb[4];

	if (!(cdb[1] & 0x01)) {
		if (cdb[2])
			return TCMU_STS_INVALID_CDB;
		return std_inquiry(iov, iov_cnt, alloc, alua);
	}
	switch (cdb[2]) {
	case 0xb0:
		return vpd_block_limits(dev, iov, iov_cnt, alloc);
	case 0xb2:
		return vpd_lbp(dev, iov, iov_cnt, alloc);
	default:
		tnfs_scsi_zero(iov, iov_cnt);
		return TCMU_STS_NOT_HANDLED;
	}
}

int tnfs_read_capacity16(struct tcmu_device *dev, const uint8_t *cdb,
			 struct iovec *iov, size_t iov_cnt)
{
	size_t alloc = (size_t)cdb[10] << 24 | (size_t)cdb[11] << 16 |
		       (size_t)cdb[12] << 8 | cdb[13];
	uint8_t buf[32];

	memset(buf, 0, sizeof(buf));
	put_be64(&buf[0], tcmu_dev_get_num_lbas(dev) - 1);
	put_be32(&buf[8], tcmu_dev_get_block_size(dev));
	/* byte 14: LBPME, LBPRZ as VPD B2h */
	if (tnfs_scsi_thin(dev))
		buf[14] = 0x80 | 0x40;
	return reply(iov, iov_cnt, alloc, buf, sizeof(buf));
}
