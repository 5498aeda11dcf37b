// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * CDB fields: those user:nfs cannot honour, refused before the core runs
 * the command, and FUA, which the core never looks at.  tcmu-runner
 * 1.5.4's core ignores RDPROTECT/WRPROTECT/VRPROTECT and WRITE SAME's
 * UNMAP bit, so it would read or write as if they were zero: SBC requires
 * ILLEGAL REQUEST, INVALID FIELD IN CDB for a device without protection
 * information (PROTECT=0 in INQUIRY) and for an UNMAP bit when
 * LBPWS/LBPWS10 = 0 (docs/scsi.md): a fully provisioned device (NFSv3,
 * 4.1, a 4.2 server without DEALLOCATE).  In write-back mode FUA is what lets
 * a filesystem make one write durable without a full SYNCHRONIZE CACHE,
 * so the write path reads it from the CDB.
 */
#include <stdbool.h>

#include <scsi/scsi.h>

#include "tcmu-runner.h"
#include "libtcmu_common.h"
#include "scsi_defs.h"

#include "tnfs_scsi.h"

#define PROTECT_FIELD(cdb)	((cdb)[1] >> 5)	/* RD/WR/VRPROTECT */
#define WS_ANCHOR		0x10
#define WS_UNMAP		0x08
#define WS16_NDOB		0x01

#ifndef VERIFY_12
#define VERIFY_12		0xaf
#endif
#ifndef VERIFY_16
#define VERIFY_16		0x8f
#endif

uint32_t tnfs_max_write_same_blocks(struct tcmu_device *dev)
{
	uint32_t bs = tcmu_dev_get_block_size(dev);

	return bs ? TNFS_MAX_WRITE_SAME_BYTES / bs : 0;
}

void tnfs_scsi_set_thin(struct tcmu_device *dev, bool thin)
{
	uint32_t bs = tcmu_dev_get_block_size(dev);
	uint32_t gran = bs && bs < TNFS_UNMAP_GRANULARITY_BYTES ?
			TNFS_UNMAP_GRANULARITY_BYTES / bs : 1;

	/*
	 * One callout per descriptor (no split: a DEALLOCATE takes any
	 * length), and a WRITE SAME with UNMAP is unmapped wherever it
	 * starts: the server zeroes what it cannot free (RFC 7862 15.4.3).
	 */
	tcmu_dev_set_max_unmap_len(dev, thin ? TNFS_MAX_UNMAP_BLOCKS : 0);
	tcmu_dev_set_opt_unmap_gran(dev, thin ? gran : 0, false);
	tcmu_dev_set_unmap_gran_align(dev, 1);
}

bool tnfs_scsi_thin(struct tcmu_device *dev)
{
	return tcmu_dev_get_max_unmap_len(dev) != 0;
}

static bool all_zero(const struct iovec *iov, size_t iov_cnt)
{
	const unsigned char *p;
	size_t i, j;

	for (i = 0; i < iov_cnt; i++)
		for (p = iov[i].iov_base, j = 0; j < iov[i].iov_len; j++)
			if (p[j])
				return false;
	return true;
}

static bool has_protect_field(uint8_t opcode)
{
	switch (opcode) {
	case READ_10:
	case READ_12:
	case READ_16:
	case WRITE_10:
	case WRITE_12:
	case WRITE_16:
	case WRITE_VERIFY:
	case WRITE_VERIFY_12:
	case WRITE_VERIFY_16:
	case VERIFY:
	case VERIFY_12:
	case VERIFY_16:
	case WRITE_SAME:
	case WRITE_SAME_16:
	case COMPARE_AND_WRITE:
		return true;
	default:
		return false;	/* READ(6)/WRITE(6) have no such field */
	}
}

/*
 * UNMAP only when thin (LBPWS = LBPWS10 = 1), and only of zeros: the core
 * unmaps whatever the data, and an unmapped block reads as zeros (LBPRZ
 * = 1).  No anchored LBAs, data always from the Data-Out buffer; the
 * core rejects NUMBER OF LOGICAL BLOCKS = 0 (WSNZ=1) and checks the LBA
 * range, but not our MAXIMUM WRITE SAME LENGTH.
 */
static int check_write_same(struct tcmu_device *dev, const uint8_t *cdb,
			    const struct iovec *iov, size_t iov_cnt)
{
	uint32_t blocks;

	if (cdb[1] & WS_ANCHOR)
		return TCMU_STS_INVALID_CDB;
	if ((cdb[1] & WS_UNMAP) &&
	    (!tnfs_scsi_thin(dev) || !all_zero(iov, iov_cnt)))
		return TCMU_STS_INVALID_CDB;
	if (cdb[0] == WRITE_SAME_16) {
		if (cdb[1] & WS16_NDOB)
			return TCMU_STS_INVALID_CDB;
		blocks = (uint32_t)cdb[10] << 24 | (uint32_t)cdb[11] << 16 |
			 (uint32_t)cdb[12] << 8 | cdb[13];
	} else {
		blocks = (uint32_t)cdb[7] << 8 | cdb[8];
	}
	if (blocks > tnfs_max_write_same_blocks(dev))
		return TCMU_STS_INVALID_CDB;
	return TCMU_STS_NOT_HANDLED;
}

/*
 * SBC: NUMBER OF LOGICAL BLOCKS above MAXIMUM COMPARE AND WRITE LENGTH is
 * INVALID FIELD IN CDB (the core checks too, but after its own work).  A
 * Data-Out buffer that is not exactly the compare plus the write data
 * contradicts the CDB: the core would answer HARDWARE ERROR, which
 * initiators take for a failing disk.
 */
static int check_caw(struct tcmu_device *dev, const uint8_t *cdb,
		     const struct iovec *iov, size_t iov_cnt)
{
	uint64_t want = 2ull * cdb[13] * tcmu_dev_get_block_size(dev);
	uint64_t have = 0;
	size_t i;

	if (cdb[13] > TNFS_MAX_CAW_BLOCKS)
		return TCMU_STS_INVALID_CDB;
	/*
	 * Before the zero count: a count of 0 with data (libiscsi 1.19
	 * sends 256 blocks so) contradicts itself; 0 with none is GOOD,
	 * nothing done (SBC), from the core.
	 */
	for (i = 0; i < iov_cnt; i++)
		have += iov[i].iov_len;
	if (have != want)
		return TCMU_STS_INVALID_CDB;
	return TCMU_STS_NOT_HANDLED;
}

int tnfs_cdb_check(struct tcmu_device *dev, const uint8_t *cdb,
		   const struct iovec *iov, size_t iov_cnt)
{
	if (has_protect_field(cdb[0]) && PROTECT_FIELD(cdb))
		return TCMU_STS_INVALID_CDB;
	switch (cdb[0]) {
	case WRITE_SAME:
	case WRITE_SAME_16:
		return check_write_same(dev, cdb, iov, iov_cnt);
	case UNMAP:
		/* the core would take it: it only asks for a callout */
		return tnfs_scsi_thin(dev) ? TCMU_STS_NOT_HANDLED :
		       TCMU_STS_INVALID_CMD;
	case COMPARE_AND_WRITE:
		return check_caw(dev, cdb, iov, iov_cnt);
	default:
		return TCMU_STS_NOT_HANDLED;
	}
}

bool tnfs_cdb_fua(const uint8_t *cdb)
{
	switch (cdb[0]) {
	case WRITE_10:
	case WRITE_12:
	case WRITE_16:
	case COMPARE_AND_WRITE:
		return cdb[1] & 0x08;
	default:
		return false;	/* WRITE(6) has no FUA bit */
	}
}
