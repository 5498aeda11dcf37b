// SPDX-License-Identifier: LGPL-2.1-or-later
/* The open-time size and offset checks inherited from dm-nfs. */
#include <errno.h>

#include "../check.h"
#include "tnfs_region.h"

static void expect(uint64_t file, uint64_t off, uint64_t dev, uint32_t bs,
		   const char *msg, uint64_t unused_want)
{
	struct tnfs_region r = { file, off, dev, bs };
	char err[256] = "";
	uint64_t unused = 12345;
	int ret = tnfs_region_check(&r, &unused, err, sizeof(err));

	if (!msg) {
		CHECK(ret == 0, "file %lu off %lu dev %lu: %s",
		      (unsigned long)file, (unsigned long)off,
		      (unsigned long)dev, err);
		CHECK(unused == unused_want, "unused %lu, want %lu",
		      (unsigned long)unused, (unsigned long)unused_want);
		return;
	}
	CHECK(ret == -EINVAL, "file %lu off %lu dev %lu accepted",
	      (unsigned long)file, (unsigned long)off, (unsigned long)dev);
	CHECK_CONTAINS(err, msg);
}

int main(void)
{
	const uint64_t M = 1024 * 1024;

	expect(0, 0, 512, 512, "backing file is empty", 0);
	expect(511, 0, 512, 512, "smaller than one block (511 < 512", 0);
	expect(4095, 0, 512, 4096, "smaller than one block", 0);
	expect(M, 100, 512, 512, "offset 100 is not a multiple of the "
	       "block size 512", 0);
	expect(M, 512, 512, 4096, "not a multiple of the block size 4096",
	       0);
	expect(M, 2 * M, 512, 512, "beyond the end", 0);
	expect(M, M, 512, 512, "beyond the end", 0);
	expect(M, M / 2, M, 512, "region after offset 524288 is 524288 "
	       "bytes, smaller than the device size 1048576", 0);
	expect(M, 0, M + 512, 512, "smaller than the device size", 0);
	expect(M, 0, 512, 3000, "not a power of two", 0);
	/* fits exactly, fits with bytes left over (the warning), at offset */
	expect(M, 0, M, 512, NULL, 0);
	expect(M + 100, 0, M, 512, NULL, 100);
	expect(4 * M, M, 2 * M, 4096, NULL, M);
	expect(M, M - 512, 512, 512, NULL, 0);
	return check_report("test_region");
}
