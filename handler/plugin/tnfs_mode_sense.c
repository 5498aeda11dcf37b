// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * MODE SENSE for user:nfs.  tcmu-runner 1.5.4's own emulation never sets
 * DPOFUA, so initiators would not send FUA writes; and in write-back mode
 * FUA is what lets a filesystem make one write durable without a full
 * SYNCHRONIZE CACHE.  Same pages as the core: read-write error recovery,
 * caching (WCE as the handler set it) and control.
 */
#include <endian.h>
#include <string.h>

#include <scsi/scsi.h>	/* MODE_SENSE, WRITE_10, ...: the core uses it too */

#include "tcmu-runner.h"
#include "libtcmu_common.h"

#include "tnfs_scsi.h"

#define MODE_DPOFUA	0x10	/* device-specific parameter, SBC */

static size_t page_rw_recovery(struct tcmu_device *dev, uint8_t *p)
{
	(void)dev;
	p[0] = 0x01;
	p[1] = 0x0a;
	return 12;
}

static size_t page_caching(struct tcmu_device *dev, uint8_t *p)
{
	p[0] = 0x08;
	p[1] = 0x12;
	if (tcmu_dev_get_write_cache_enabled(dev))
		p[2] = 0x04;	/* WCE */
	return 20;
}

static size_t page_control(struct tcmu_device *dev, uint8_t *p)
{
	(void)dev;
	p[0] = 0x0a;
	p[1] = 0x0a;
	p[2] = 0x02;		/* GLTSD */
	p[5] = 0x40;		/* TAS, as LIO */
	p[8] = 0xff;		/* busy timeout: unlimited */
	p[9] = 0xff;
	return 12;
}

static const struct {
	uint8_t code;
	size_t (*fill)(struct tcmu_device *dev, uint8_t *p);
} mode_pages[] = {
	{ 0x01, page_rw_recovery },
	{ 0x08, page_caching },
	{ 0x0a, page_control },
};

int tnfs_mode_sense(struct tcmu_device *dev, uint8_t *cdb,
		    struct iovec *iov, size_t iov_cnt)
{
	bool ten = cdb[0] == MODE_SENSE_10;
	uint8_t page = cdb[2] & 0x3f, subpage = cdb[3];
	size_t alloc = tcmu_cdb_get_xfer_length(cdb);
	size_t len = ten ? 8 : 4, i;
	uint8_t buf[128];
	bool found = false;

	memset(buf, 0, sizeof(buf));
	if (subpage && !(page == 0x3f && subpage == 0xff))
		return TCMU_STS_INVALID_CDB;
	for (i = 0; i < sizeof(mode_pages) / sizeof(mode_pages[0]); i++) {
		if (page != 0x3f && page != mode_pages[i].code)
			continue;
		len += mode_pages[i].fill(dev, buf + len);
		found = true;
	}
	if (!found)
		return TCMU_STS_INVALID_CDB;
	/* mode data length, then the device-specific parameter */
	if (ten) {
		uint16_t n = htobe16((uint16_t)(len - 2));

		memcpy(buf, &n, 2);
		buf[3] = MODE_DPOFUA;
	} else {
		buf[0] = (uint8_t)(len - 1);
		buf[2] = MODE_DPOFUA;
	}
	tcmu_memcpy_into_iovec(iov, iov_cnt, buf, alloc < len ? alloc : len);
	return TCMU_STS_OK;
}
