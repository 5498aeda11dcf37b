// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The SCSI commands handler_nfs.so answers or refuses itself in
 * handle_cmd, before tcmu-runner's core (docs/scsi.md): loaded by the
 * test host as tcmu-runner loads it.  No NFS server: none of these
 * commands reaches the engine.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdlib.h>

#include "../check.h"
#include "../host/tcmu_host.h"
#include "libtcmu_common.h"

#define FILL	0xa5	/* stale bytes in the ring's data area */

struct cmd {
	uint8_t cdb[16];
	uint8_t buf[16384];
	struct iovec iov[2];
	struct tcmulib_cmd lib;
	struct tcmur_cmd rcmd;
};

static struct tcmur_handler *h;

/* @len bytes of Data-In/Out, split in two iovecs at @split */
static void cmd_init(struct cmd *c, uint8_t opcode, uint8_t byte1,
		     size_t len, size_t split)
{
	memset(c, 0, sizeof(*c));
	memset(c->buf, FILL, sizeof(c->buf));
	c->cdb[0] = opcode;
	c->cdb[1] = byte1;
	c->iov[0].iov_base = c->buf;
	c->iov[0].iov_len = split < len ? split : len;
	c->iov[1].iov_base = c->buf + c->iov[0].iov_len;
	c->iov[1].iov_len = len - c->iov[0].iov_len;
	c->lib.cdb = c->cdb;
	c->lib.iovec = c->iov;
	c->lib.iov_cnt = 2;
	c->rcmd.lib_cmd = &c->lib;
}

static int run(struct tcmu_device *dev, struct cmd *c)
{
	return h->handle_cmd(dev, &c->rcmd);
}

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

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const uint8_t *p)
{
	return (uint64_t)be32(p) << 32 | be32(p + 4);
}

/* bytes [from, to) of the Data-In buffer all zero */
static bool zero(const struct cmd *c, size_t from, size_t to)
{
	for (; from < to; from++)
		if (c->buf[from])
			return false;
	return true;
}

static const uint8_t protect_ops[] = {
	0x28, 0xa8, 0x88,	/* READ 10/12/16: RDPROTECT */
	0x2a, 0xaa, 0x8a,	/* WRITE 10/12/16: WRPROTECT */
	0x2e, 0xae, 0x8e,	/* WRITE AND VERIFY 10/12/16 */
	0x2f, 0xaf, 0x8f,	/* VERIFY 10/12/16: VRPROTECT */
	0x41, 0x93,		/* WRITE SAME 10/16 */
	0x89,			/* COMPARE AND WRITE */
};

static void protect(struct tcmu_device *dev)
{
	struct cmd c;
	size_t i;
	int p;

	for (i = 0; i < sizeof(protect_ops); i++) {
		for (p = 1; p < 8; p++) {
			cmd_init(&c, protect_ops[i], p << 5, 1024, 1024);
			c.cdb[13] = 1;	/* CAW: 1 block, 2 in Data-Out */
			c.cdb[8] = 1;	/* WRITE SAME 10: 1 block */
			CHECK(run(dev, &c) == TCMU_STS_INVALID_CDB,
			      "opcode %02x protect %d accepted",
			      protect_ops[i], p);
		}
		/* DPO and FUA are fine: the command goes on to the core
		 * (in WRITE SAME those bits are ANCHOR and UNMAP) */
		cmd_init(&c, protect_ops[i], protect_ops[i] == 0x41 ||
			 protect_ops[i] == 0x93 ? 0 : 0x18, 1024, 1024);
		c.cdb[13] = 1;
		c.cdb[8] = 1;
		CHECK(run(dev, &c) == TCMU_STS_NOT_HANDLED,
		      "opcode %02x without protect not passed on",
		      protect_ops[i]);
	}
	/* READ(6)/WRITE(6): byte 1 holds LBA bits, not a protect field */
	cmd_init(&c, 0x08, 0xe0, 512, 512);
	CHECK(run(dev, &c) == TCMU_STS_NOT_HANDLED, "READ(6) refused");
	cmd_init(&c, 0x0a, 0xe0, 512, 512);
	CHECK(run(dev, &c) == TCMU_STS_NOT_HANDLED, "WRITE(6) refused");
}

static int write_same(struct tcmu_device *dev, bool sixteen, uint8_t byte1,
		      uint32_t blocks)
{
	struct cmd c;

	cmd_init(&c, sixteen ? 0x93 : 0x41, byte1, dev->block_size, 512);
	if (sixteen)
		put_be32(&c.cdb[10], blocks);
	else
		put_be16(&c.cdb[7], blocks);
	return run(dev, &c);
}

static void writesame(struct tcmu_device *dev)
{
	uint32_t max = 8 * 1024 * 1024 / dev->block_size;
	int s;

	for (s = 0; s < 2; s++) {
		/* no UNMAP: LBPWS = LBPWS10 = 0 */
		CHECK(write_same(dev, s, 0x08, 8) == TCMU_STS_INVALID_CDB,
		      "WRITE SAME(%d) UNMAP accepted", s ? 16 : 10);
		CHECK(write_same(dev, s, 0x10, 8) == TCMU_STS_INVALID_CDB,
		      "WRITE SAME(%d) ANCHOR accepted", s ? 16 : 10);
		CHECK(write_same(dev, s, 0, 8) == TCMU_STS_NOT_HANDLED,
		      "WRITE SAME(%d) of 8 blocks not passed on",
		      s ? 16 : 10);
	}
	/* MAXIMUM WRITE SAME LENGTH, as Block Limits says (8 MiB) */
	CHECK(write_same(dev, true, 0, max) == TCMU_STS_NOT_HANDLED,
	      "WRITE SAME(16) of the maximum refused");
	CHECK(write_same(dev, true, 0, max + 1) == TCMU_STS_INVALID_CDB,
	      "WRITE SAME(16) above the maximum accepted");
	if (max < 0xffff)
		CHECK(write_same(dev, false, 0, max + 1) ==
		      TCMU_STS_INVALID_CDB,
		      "WRITE SAME(10) above the maximum accepted");
	/* NDOB: no Data-Out, zeroes; not supported */
	CHECK(write_same(dev, true, 0x01, 8) == TCMU_STS_INVALID_CDB,
	      "WRITE SAME(16) NDOB accepted");
}

static int caw(struct tcmu_device *dev, uint8_t blocks, size_t out_blocks)
{
	struct cmd c;

	cmd_init(&c, 0x89, 0, out_blocks * dev->block_size, 512);
	c.cdb[13] = blocks;
	return run(dev, &c);
}

static void compare_and_write(struct tcmu_device *dev)
{
	/* SBC: above MAXIMUM COMPARE AND WRITE LENGTH (1) */
	CHECK(caw(dev, 2, 4) == TCMU_STS_INVALID_CDB, "CAW of 2 accepted");
	CHECK(caw(dev, 255, 0) == TCMU_STS_INVALID_CDB,
	      "CAW of 255 accepted");
	CHECK(caw(dev, 1, 2) == TCMU_STS_NOT_HANDLED,
	      "CAW of 1 not passed on");
	/* 0 blocks: GOOD, nothing done (the core's answer) */
	CHECK(caw(dev, 0, 0) == TCMU_STS_NOT_HANDLED,
	      "CAW of 0 not passed on");
	/* 0 blocks with data (libiscsi 1.19 sends 256 so): contradictory */
	CHECK(caw(dev, 0, 2) == TCMU_STS_INVALID_CDB,
	      "CAW of 0 blocks with 2 of data accepted");
	/* Data-Out must be compare + write data exactly */
	CHECK(caw(dev, 1, 1) == TCMU_STS_INVALID_CDB,
	      "CAW with half the data accepted");
}

/* tcmu-runner 1.5.4's EXTENDED COPY is unsafe: not offered at all */
static void extended_copy(struct tcmu_device *dev)
{
	static struct cmd c;

	cmd_init(&c, 0x83, 0, 64, 64);
	CHECK(run(dev, &c) == TCMU_STS_INVALID_CMD, "EXTENDED COPY taken");
	cmd_init(&c, 0x84, 0, 64, 64);
	CHECK(run(dev, &c) == TCMU_STS_INVALID_CMD,
	      "RECEIVE COPY RESULTS taken");
}

static struct cmd *inquiry(struct tcmu_device *dev, uint8_t evpd,
			   uint8_t page, uint16_t alloc, size_t len, int *rc)
{
	static struct cmd c;

	cmd_init(&c, 0x12, evpd, len, 40);
	c.cdb[2] = page;
	put_be16(&c.cdb[3], alloc);
	*rc = run(dev, &c);
	return &c;
}

static void std_inquiry(struct tcmu_device *dev)
{
	struct cmd *c;
	int rc;

	c = inquiry(dev, 0, 0, 260, 260, &rc);
	CHECK(rc == TCMU_STS_OK, "standard INQUIRY: %d", rc);
	CHECK(c->buf[0] == 0 && c->buf[2] == 6 && c->buf[3] == 2,
	      "type %x version %x format %x", c->buf[0], c->buf[2],
	      c->buf[3]);
	CHECK(c->buf[4] == 91, "additional length %u", c->buf[4]);
	CHECK(c->buf[5] == 0, "byte 5 %02x: 3PC set, EXTENDED COPY is not "
	      "offered", c->buf[5]);
	CHECK(!memcmp(&c->buf[8], "LIO-ORG TCMU device     0002", 28),
	      "identity %.28s", &c->buf[8]);
	/* SAM-5, SPC-4, SBC-3, as LIO's own backstores */
	CHECK(c->buf[58] == 0x00 && c->buf[59] == 0xa0 &&
	      c->buf[60] == 0x04 && c->buf[61] == 0x60 &&
	      c->buf[62] == 0x04 && c->buf[63] == 0xc0,
	      "version descriptors %02x%02x %02x%02x %02x%02x",
	      c->buf[58], c->buf[59], c->buf[60], c->buf[61], c->buf[62],
	      c->buf[63]);
	CHECK(zero(c, 36, 58) && zero(c, 64, 260),
	      "padding of standard INQUIRY not zero");
	CHECK(c->buf[260] == FILL, "wrote past the Data-In buffer");

	/* truncated at the allocation length; additional length unchanged */
	c = inquiry(dev, 0, 0, 36, 64, &rc);
	CHECK(rc == TCMU_STS_OK && c->buf[4] == 91 &&
	      !memcmp(&c->buf[8], "LIO-ORG ", 8) && zero(c, 36, 64),
	      "INQUIRY alloc 36: rc %d, additional length %u", rc,
	      c->buf[4]);
	c = inquiry(dev, 0, 0, 4, 4, &rc);
	CHECK(rc == TCMU_STS_OK && c->buf[2] == 6 && c->buf[4] == FILL,
	      "INQUIRY alloc 4: rc %d", rc);
	/* EVPD=0 with a page code */
	inquiry(dev, 0, 0x80, 96, 96, &rc);
	CHECK(rc == TCMU_STS_INVALID_CDB, "EVPD=0 page 80h: %d", rc);
}

static void vpd(struct tcmu_device *dev)
{
	static const uint8_t core_pages[] = { 0x00, 0x80, 0x83, 0xb1 };
	struct cmd *c;
	size_t i;
	int rc;

	c = inquiry(dev, 1, 0xb0, 255, 255, &rc);
	CHECK(rc == TCMU_STS_OK, "Block Limits: %d", rc);
	CHECK(c->buf[1] == 0xb0 && c->buf[2] == 0 && c->buf[3] == 0x3c,
	      "Block Limits page %x length %u", c->buf[1], c->buf[3]);
	CHECK(c->buf[4] == 1, "WSNZ %x", c->buf[4]);
	CHECK(c->buf[5] == 1, "MAXIMUM COMPARE AND WRITE LENGTH %u",
	      c->buf[5]);
	CHECK(be32(&c->buf[8]) == dev->max_xfer_len,
	      "MAXIMUM TRANSFER LENGTH %u, hw_max_sectors %u",
	      be32(&c->buf[8]), dev->max_xfer_len);
	CHECK(be32(&c->buf[12]) == dev->max_xfer_len,
	      "OPTIMAL TRANSFER LENGTH %u", be32(&c->buf[12]));
	/* LBPU = 0: MAXIMUM UNMAP LBA / DESCRIPTOR COUNT etc. are 0 */
	CHECK(zero(c, 16, 36), "UNMAP fields set without UNMAP");
	CHECK(be64(&c->buf[36]) == 8 * 1024 * 1024 / dev->block_size,
	      "MAXIMUM WRITE SAME LENGTH %" PRIu64, be64(&c->buf[36]));
	CHECK(zero(c, 44, 255), "Block Limits padding not zero");

	c = inquiry(dev, 1, 0xb0, 8, 64, &rc);
	CHECK(rc == TCMU_STS_OK && c->buf[3] == 0x3c && zero(c, 8, 64),
	      "Block Limits alloc 8 not truncated");

	c = inquiry(dev, 1, 0xb2, 255, 255, &rc);
	CHECK(rc == TCMU_STS_OK, "LBP: %d", rc);
	CHECK(c->buf[1] == 0xb2 && c->buf[3] == 4, "LBP page %x length %u",
	      c->buf[1], c->buf[3]);
	/* LBPU LBPWS LBPWS10 LBPRZ ANC_SUP DP all 0, fully provisioned */
	CHECK(c->buf[5] == 0 && c->buf[6] == 0, "LBP bits %02x type %02x",
	      c->buf[5], c->buf[6]);
	CHECK(zero(c, 4, 255), "LBP padding not zero");

	/* the core answers these, into a buffer cleared first */
	for (i = 0; i < sizeof(core_pages); i++) {
		c = inquiry(dev, 1, core_pages[i], 255, 255, &rc);
		CHECK(rc == TCMU_STS_NOT_HANDLED && zero(c, 0, 255),
		      "VPD %02x: rc %d, buffer not cleared", core_pages[i],
		      rc);
	}
}

static void read_capacity16(struct tcmu_device *dev)
{
	struct cmd c;

	cmd_init(&c, 0x9e, 0x10, 64, 20);
	put_be32(&c.cdb[10], 64);
	CHECK(run(dev, &c) == TCMU_STS_OK, "READ CAPACITY(16) failed");
	CHECK(be64(&c.buf[0]) == dev->num_lbas - 1 &&
	      be32(&c.buf[8]) == dev->block_size,
	      "last LBA %" PRIu64 " block size %u", be64(&c.buf[0]),
	      be32(&c.buf[8]));
	/* LBPME = LBPRZ = 0: no discard from the initiator */
	CHECK(c.buf[14] == 0, "READ CAPACITY(16) byte 14 %02x", c.buf[14]);
	CHECK(zero(&c, 12, 64), "READ CAPACITY(16) padding not zero");

	cmd_init(&c, 0x9e, 0x10, 32, 32);
	put_be32(&c.cdb[10], 12);
	CHECK(run(dev, &c) == TCMU_STS_OK && be32(&c.buf[8]) ==
	      dev->block_size && zero(&c, 12, 32),
	      "READ CAPACITY(16) alloc 12 not truncated");

	/* another service action of SERVICE ACTION IN(16): the core's */
	cmd_init(&c, 0x9e, 0x12, 32, 32);
	CHECK(run(dev, &c) == TCMU_STS_NOT_HANDLED,
	      "GET LBA STATUS not passed on");
}

static void mode_sense(struct tcmu_device *dev)
{
	struct cmd c;

	cmd_init(&c, 0x5a, 0, 255, 100);
	c.cdb[2] = 0x3f;
	put_be16(&c.cdb[7], 255);
	CHECK(run(dev, &c) == TCMU_STS_OK, "MODE SENSE(10) failed");
	CHECK(zero(&c, (size_t)(c.buf[0] << 8 | c.buf[1]) + 2, 255),
	      "MODE SENSE(10) padding not zero");
}

int main(void)
{
	const char *so = getenv("HANDLER_NFS_SO");
	struct tcmu_device dev = {
		.num_lbas = 1 << 21, .block_size = 512, .max_xfer_len = 2048,
	};
	struct tcmu_device dev4k = {
		.num_lbas = 1 << 18, .block_size = 4096, .max_xfer_len = 256,
	};

	h = host_load_plugin(so ? so : "handler_nfs.so");
	if (!h) {
		fprintf(stderr, "cannot load the plugin\n");
		return 1;
	}
	protect(&dev);
	writesame(&dev);
	writesame(&dev4k);
	compare_and_write(&dev);
	compare_and_write(&dev4k);
	extended_copy(&dev);
	std_inquiry(&dev);
	vpd(&dev);
	vpd(&dev4k);
	read_capacity16(&dev);
	read_capacity16(&dev4k);
	mode_sense(&dev);
	return check_report("test_scsi");
}
