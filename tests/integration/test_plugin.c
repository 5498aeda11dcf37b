// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * handler_nfs.so through its struct tcmur_handler, loaded by the test
 * host the way tcmu-runner loads it, against the real NFS server.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "../check.h"
#include "../host/tcmu_host.h"
#include "libtcmu_common.h"
#include "libtcmu.h"
#include "nfs_test_env.h"

#define M (1024ull * 1024)

static void config_refused(struct tcmur_handler *h, const char *cfg,
			   const char *msg)
{
	char *reason = NULL;

	CHECK(!h->check_config(cfg, &reason), "%s accepted", cfg);
	CHECK(reason && strstr(reason, msg), "%s: reason \"%s\", want "
	      "\"%s\"", cfg, reason ? reason : "(none)", msg);
	free(reason);
}

/* What targetcli shows before it creates anything. */
/* dev->cfgstring as tcmu-runner passes it: "nfs/" + the user's string */
static void dev_cfg(struct tcmu_device *dev, const char *exp, const char *f,
		    const char *extra)
{
	char *cfg = test_cfg(exp, f, extra);

	snprintf(dev->cfgstring, sizeof(dev->cfgstring), "nfs/%s", cfg);
	free(cfg);
}

static void check_config(struct tcmur_handler *h)
{
	const char *f = test_file("squash", "cc", 4096 * 4, 0, 1000, 1000,
				  0600);
	int fds = test_count_fds(), threads = test_threads_wait(1);
	char cfg[512], *reason = NULL;

	snprintf(cfg, sizeof(cfg), "nfs/127.0.0.1/squash/%s?" TEST_PORTS
		 "&uid=1000&gid=1000&offset=4096", f);
	CHECK(h->check_config(cfg, &reason), "good cfgstring: %s",
	      reason ? reason : "");
	/* syntax first: no network for a malformed string */
	config_refused(h, "nfs/127.0.0.1/export/disk.img?nfsport=2999&uid=x",
		       "uid=x: expected a number");
	config_refused(h, "nfs/127.0.0.1/export/disk.img?bogus=1",
		       "unknown option 'bogus'");
	config_refused(h, "nfs/127.0.0.1/e?uid=1", "names no file");
	/* then what a probe of the server finds */
	snprintf(cfg, sizeof(cfg), "nfs/127.0.0.1/squash/%s?" TEST_PORTS, f);
	config_refused(h, cfg, "as uid 0 gid 0 (file owner 1000:1000");
	snprintf(cfg, sizeof(cfg), "nfs/127.0.0.1/squash/%s?" TEST_PORTS
		 "&uid=1000&gid=1000&offset=100", f);
	config_refused(h, cfg, "offset 100 is not a multiple of the block "
		       "size 512");
	snprintf(cfg, sizeof(cfg), "nfs/127.0.0.1/squash/%s?" TEST_PORTS
		 "&uid=1000&gid=1000&offset=16384", f);
	config_refused(h, cfg, "beyond the end of the backing file");
	config_refused(h, "nfs/127.0.0.1/export/none.img?" TEST_PORTS,
		       "does not exist on 127.0.0.1 (add create=1");
	config_refused(h, "nfs/127.0.0.1/nope/none.img?" TEST_PORTS,
		       "has no export containing /nope/none.img");
	config_refused(h, "nfs/127.0.0.1/export/x?nfsport=2999&mountport="
		       "2998", "cannot reach NFS server 127.0.0.1");
	/* a missing file is fine with create=1: open() makes it */
	CHECK(h->check_config("nfs/127.0.0.1/export/later.img?create=1&"
			      TEST_PORTS, &reason), "create=1 refused: %s",
	      reason ? reason : "");
	CHECK(test_count_fds() == fds && test_threads_wait(threads) == threads,
	      "probes left fds %d -> %d, threads %d -> %d", fds,
	      test_count_fds(), threads, test_count_threads());
}

static void open_fails(struct tcmur_handler *h, const char *cfg,
		       const char *msg)
{
	struct tcmu_device dev = { .num_lbas = 2048, .block_size = 512 };

	snprintf(dev.cfgstring, sizeof(dev.cfgstring), "nfs/%s", cfg);
	host_log_clear();
	CHECK(h->open(&dev, false) < 0, "open of %s succeeded", cfg);
	CHECK(dev.handler_private == NULL, "private set by a failed open");
	CHECK_CONTAINS(host_log(), msg);
}

static void io(struct tcmur_handler *h)
{
	const char *f = test_file("squash", "plugin", 8 * M, 0xcc, 1000,
				  1000, 0600);
	struct tcmu_device dev = { .num_lbas = 1536, .block_size = 4096 };
	unsigned char *buf = malloc(4 * M), *back = malloc(8 * M);
	struct iovec iov[2];
	struct host_cmd w;
	char *cfg;
	size_t i;

	for (i = 0; i < 4 * M; i++)
		buf[i] = (unsigned char)(i * 7 + i / 4096);

	cfg = test_cfg("squash", f, "offset=2097152");
	open_fails(h, cfg, "permission denied opening for read/write");
	open_fails(h, cfg, "as uid 0 gid 0");
	free(cfg);

	dev_cfg(&dev, "squash", f, "offset=2097152&uid=1000&gid=1000");
	dev.write_cache = true;
	host_log_clear();
	CHECK(h->open(&dev, false) == 0, "open: %s", host_log());
	CHECK(!dev.write_cache, "WCE left on: writes are write-through");
	CHECK_CONTAINS(host_log(), "as uid 1000 gid 1000");

	iov[0] = (struct iovec){ buf, 12345 };
	iov[1] = (struct iovec){ buf + 12345, 4 * M - 12345 };
	host_cmd_init(&w, 0x8a, 0);
	CHECK(host_cmd_wait(&w, h->write(&dev, &w.cmd, iov, 2, 4 * M, 4096)) ==
	      TCMU_STS_OK, "write");
	host_cmd_init(&w, 0x35, 0);
	CHECK(host_cmd_wait(&w, h->flush(&dev, &w.cmd)) == TCMU_STS_OK,
	      "flush");
	iov[0] = (struct iovec){ back, 4 * M };
	host_cmd_init(&w, 0x88, 0);
	CHECK(host_cmd_wait(&w, h->read(&dev, &w.cmd, iov, 1, 4 * M, 4096)) ==
	      TCMU_STS_OK, "read");
	CHECK(!memcmp(buf, back, 4 * M), "read back");

	/* an engine failure reaches the initiator as CHECK CONDITION */
	host_cmd_init(&w, 0x88, 0);
	CHECK(host_cmd_wait(&w, h->read(&dev, &w.cmd, iov, 1, 8192,
					6 * M - 4096)) ==
	      TCMU_STS_PASSTHROUGH_ERR, "read past the end");
	CHECK(w.lib.sense_buf[2] == 0x05 && w.lib.sense_buf[12] == 0x21,
	      "sense key %x asc %x", w.lib.sense_buf[2],
	      w.lib.sense_buf[12]);
	/* restoreconfig writes the same attributes again: accepted */
	{
		struct tcmulib_cfg_info ci = { .type = TCMULIB_CFG_DEV_CFGSTR };
		char other[sizeof(dev.cfgstring) + 8];

		ci.data.dev_cfgstring = dev.cfgstring + 4;	/* no "nfs/" */
		CHECK(h->reconfig(&dev, &ci) == 0, "same cfgstring refused");
		snprintf(other, sizeof(other), "%s&uid=1", dev.cfgstring);
		ci.data.dev_cfgstring = other;
		CHECK(h->reconfig(&dev, &ci) == -EOPNOTSUPP,
		      "changed cfgstring accepted");
		ci.type = TCMULIB_CFG_DEV_SIZE;
		ci.data.dev_size = 6 * M;
		CHECK(h->reconfig(&dev, &ci) == 0, "same size refused");
		/* 6 MiB after the offset: growing to 7 MiB must fail */
		ci.data.dev_size = 7 * M;
		host_log_clear();
		CHECK(h->reconfig(&dev, &ci) < 0, "resize past the file "
		      "accepted");
		CHECK_CONTAINS(host_log(), "resize refused: ");
		CHECK_CONTAINS(host_log(), "smaller than the device size "
			       "7340032");
		ci.type = TCMULIB_CFG_WRITE_CACHE;
		ci.data.write_cache = false;
		CHECK(h->reconfig(&dev, &ci) == 0, "same WCE refused");
		ci.data.write_cache = true;
		CHECK(h->reconfig(&dev, &ci) == -EOPNOTSUPP, "WCE change "
		      "accepted");
	}
	h->close(&dev);
	CHECK_CONTAINS(host_log(), "closed after 2 reads, 1 writes, 1 "
		       "flushes");

	test_read_back("squash", f, 0, back, 8 * M);
	for (i = 0; i < 2 * M + 4096; i++)
		if (back[i] != 0xcc)
			break;
	CHECK(i == 2 * M + 4096, "byte %zu before the data changed", i);
	CHECK(!memcmp(back + 2 * M + 4096, buf, 4 * M), "data on disk");
	for (i = 6 * M + 4096; i < 8 * M; i++)
		if (back[i] != 0xcc)
			break;
	CHECK(i == 8 * M, "byte %zu after the data changed", i);
	free(buf);
	free(back);
}


/* cache=writeback: WCE=1, DPOFUA advertised, FUA honoured. */
static void writeback(struct tcmur_handler *h)
{
	const char *f = test_file("export", "pwb", 4 * M, 0, 0, 0, 0644);
	struct tcmu_device dev = { .num_lbas = 8192, .block_size = 512 };
	unsigned char buf[65536], resp[256];
	struct iovec iov = { resp, sizeof(resp) };
	struct host_cmd w;

	dev_cfg(&dev, "export", f, "cache=writeback");
	CHECK(h->open(&dev, false) == 0, "open: %s", host_log());
	CHECK(dev.write_cache, "WCE off with cache=writeback");

	/* MODE SENSE(6), caching page */
	host_cmd_init(&w, 0x1a, 0);
	w.cdb[2] = 0x08;
	w.cdb[4] = 255;
	w.lib.iovec = &iov;
	w.lib.iov_cnt = 1;
	memset(resp, 0xaa, sizeof(resp));
	CHECK(h->handle_cmd(&dev, &w.cmd) == TCMU_STS_OK, "MODE SENSE(6)");
	CHECK(resp[0] == 3 + 20, "mode data length %u", resp[0]);
	CHECK(resp[2] & 0x10, "DPOFUA not set");
	CHECK(resp[4] == 0x08 && (resp[6] & 0x04), "caching page WCE");
	/* MODE SENSE(10), all pages */
	host_cmd_init(&w, 0x5a, 0);
	w.cdb[2] = 0x3f;
	w.cdb[8] = 255;
	w.lib.iovec = &iov;
	w.lib.iov_cnt = 1;
	CHECK(h->handle_cmd(&dev, &w.cmd) == TCMU_STS_OK, "MODE SENSE(10)");
	CHECK(resp[0] == 0 && resp[1] == 8 - 2 + 12 + 20 + 12,
	      "mode data length %u", resp[1]);
	CHECK(resp[3] & 0x10, "DPOFUA not set (10)");
	CHECK(resp[8] == 0x01 && resp[20] == 0x08 && resp[40] == 0x0a,
	      "pages %x %x %x", resp[8], resp[20], resp[40]);
	host_cmd_init(&w, 0x1a, 0);
	w.cdb[2] = 0x1c;
	CHECK(h->handle_cmd(&dev, &w.cmd) == TCMU_STS_INVALID_CDB,
	      "unknown mode page accepted");
	/* the handler answers standard INQUIRY (test_scsi), not VPD 80h */
	host_cmd_init(&w, 0x12, 0x01);
	w.cdb[2] = 0x80;
	CHECK(h->handle_cmd(&dev, &w.cmd) == TCMU_STS_NOT_HANDLED,
	      "VPD 80h taken from the core");

	/* WRITE(10) with FUA: on disk when it completes */
	memset(buf, 0x3c, sizeof(buf));
	iov = (struct iovec){ buf, sizeof(buf) };
	host_cmd_init(&w, 0x2a, 0x08);
	CHECK(host_cmd_wait(&w, h->write(&dev, &w.cmd, &iov, 1, sizeof(buf),
				    M)) == TCMU_STS_OK, "FUA write");
	test_read_back("export", f, M, resp, sizeof(resp));
	CHECK(resp[0] == 0x3c && resp[255] == 0x3c, "FUA data not on disk");
	h->close(&dev);
}

/* INQUIRY VPD @page (or READ CAPACITY (16), page -1) into @resp. */
static void ask(struct tcmur_handler *h, struct tcmu_device *dev, int page,
		unsigned char *resp, size_t len)
{
	struct iovec iov = { resp, len };
	struct host_cmd w;

	if (page < 0) {
		host_cmd_init(&w, 0x9e, 0x10);
		w.cdb[13] = (uint8_t)len;
	} else {
		host_cmd_init(&w, 0x12, 0x01);
		w.cdb[2] = (uint8_t)page;
		w.cdb[4] = (uint8_t)len;
	}
	w.lib.iovec = &iov;
	w.lib.iov_cnt = 1;
	memset(resp, 0xaa, len);
	CHECK(h->handle_cmd(dev, &w.cmd) == TCMU_STS_OK, "page %d", page);
}

/*
 * What a device says of its provisioning, as the server allows: vers=4.2
 * on ganesha (DEALLOCATE) is thin, UNMAP goes to the unmap callout and
 * frees the range; vers=3 is fully provisioned and refuses UNMAP and
 * WRITE SAME with UNMAP itself.
 */
static void thin(struct tcmur_handler *h)
{
	const char *f = test_file("export", "pthin", 4 * M, 0x77, 0, 0, 0644);
	struct tcmu_device dev = { .num_lbas = 8192, .block_size = 512 };
	unsigned char resp[64], zero[512] = { 0 }, ones[512], back[4096];
	struct iovec data = { zero, sizeof(zero) };
	struct host_cmd w;
	size_t i;

	memset(ones, 0xff, sizeof(ones));
	dev_cfg(&dev, "export", f, "vers=4.2");
	CHECK(h->open(&dev, false) == 0, "open 4.2: %s", host_log());
	ask(h, &dev, 0xb2, resp, 8);
	CHECK(resp[5] == 0xe4 && resp[6] == 0x02, "B2h: %02x %02x, want "
	      "LBPU LBPWS LBPWS10 LBPRZ, thin", resp[5], resp[6]);
	ask(h, &dev, 0xb0, resp, 64);
	CHECK(resp[20] == 0x02 && resp[21] == 0 && resp[27] == 4 &&
	      resp[31] == 8, "B0h: unmap count %02x%02x.., descriptors %u, "
	      "granularity %u", resp[20], resp[21], resp[27], resp[31]);
	ask(h, &dev, -1, resp, 32);
	CHECK(resp[14] == 0xc0, "READ CAPACITY (16) byte 14 %02x, want "
	      "LBPME LBPRZ", resp[14]);
	/* UNMAP goes to the core (it parses the list), then the callout */
	host_cmd_init(&w, 0x42, 0);
	CHECK(h->handle_cmd(&dev, &w.cmd) == TCMU_STS_NOT_HANDLED,
	      "UNMAP kept from the core");
	host_cmd_init(&w, 0x42, 0);
	CHECK(host_cmd_wait(&w, h->unmap(&dev, &w.cmd, M, M)) ==
	      TCMU_STS_OK, "unmap callout");
	test_read_back("export", f, M - 4096, back, sizeof(back));
	CHECK(back[0] == 0x77 && back[4095] == 0x77, "before the range");
	test_read_back("export", f, M, back, sizeof(back));
	for (i = 0; i < sizeof(back) && !back[i]; i++)
		;
	CHECK(i == sizeof(back), "zeros after UNMAP: byte %zu", i);
	/* WRITE SAME (16) with UNMAP: of zeros to the core, else refused */
	host_cmd_init(&w, 0x93, 0x08);
	w.cdb[13] = 8;
	w.lib.iovec = &data;
	w.lib.iov_cnt = 1;
	CHECK(h->handle_cmd(&dev, &w.cmd) == TCMU_STS_NOT_HANDLED,
	      "WRITE SAME UNMAP of zeros refused");
	data.iov_base = ones;
	CHECK(h->handle_cmd(&dev, &w.cmd) == TCMU_STS_INVALID_CDB,
	      "WRITE SAME UNMAP of ones taken");
	h->close(&dev);
	CHECK_CONTAINS(host_log(), "1 unmaps");

	dev_cfg(&dev, "export", f, NULL);
	CHECK(h->open(&dev, false) == 0, "open 3: %s", host_log());
	ask(h, &dev, 0xb2, resp, 8);
	CHECK(resp[5] == 0 && resp[6] == 0, "v3 B2h: %02x %02x", resp[5],
	      resp[6]);
	ask(h, &dev, -1, resp, 32);
	CHECK(resp[14] == 0, "v3 READ CAPACITY (16) byte 14 %02x", resp[14]);
	host_cmd_init(&w, 0x42, 0);
	CHECK(h->handle_cmd(&dev, &w.cmd) == TCMU_STS_INVALID_CMD,
	      "v3 UNMAP not refused");
	host_cmd_init(&w, 0x93, 0x08);
	w.cdb[13] = 8;
	data.iov_base = zero;
	w.lib.iovec = &data;
	w.lib.iov_cnt = 1;
	CHECK(h->handle_cmd(&dev, &w.cmd) == TCMU_STS_INVALID_CDB,
	      "v3 WRITE SAME UNMAP not refused");
	h->close(&dev);
}

/* A hung server: retryable sense, and tcmu-runner told to reopen. */
static void stalled(struct tcmur_handler *h)
{
	const char *f = test_file("export", "pstall", M, 0, 0, 0, 0644);
	struct tcmu_device dev = { .num_lbas = 2048, .block_size = 512 };
	unsigned char buf[4096];
	struct iovec iov = { buf, sizeof(buf) };
	struct host_cmd w;

	dev_cfg(&dev, "export", f, "timeout=1");
	CHECK(h->open(&dev, false) == 0, "open: %s", host_log());
	test_server("freeze");
	host_cmd_init(&w, 0x28, 0);
	CHECK(host_cmd_wait(&w, h->read(&dev, &w.cmd, &iov, 1, sizeof(buf), 0))
	      == TCMU_STS_PASSTHROUGH_ERR, "read from a hung server");
	test_server("thaw");
	CHECK(w.lib.sense_buf[2] == 0x02 && w.lib.sense_buf[12] == 0x04 &&
	      w.lib.sense_buf[13] == 0x01, "sense %x/%x/%x, want NOT READY "
	      "04/01", w.lib.sense_buf[2], w.lib.sense_buf[12],
	      w.lib.sense_buf[13]);
	CHECK(dev.conn_lost == 1, "tcmu_notify_conn_lost called %d times",
	      dev.conn_lost);
	h->close(&dev);
}

/* A device limited to 64 KiB commands is told how to get 1 MiB ones. */
static void max_xfer(struct tcmur_handler *h)
{
	const char *f = test_file("export", "xfer", M, 0, 0, 0, 0644);
	struct tcmu_device dev = { .num_lbas = 2048, .block_size = 512 };

	dev_cfg(&dev, "export", f, NULL);
	dev.max_xfer_len = 128;		/* configfs default hw_max_sectors */
	host_log_clear();
	CHECK(h->open(&dev, false) == 0, "open: %s", host_log());
	CHECK_CONTAINS(host_log(), "commands are at most 65536 bytes");
	CHECK_CONTAINS(host_log(), "hw_max_sectors=2048 "
		       "control=max_data_area_mb=128");
	h->close(&dev);
	dev.max_xfer_len = 2048;
	host_log_clear();
	CHECK(h->open(&dev, false) == 0, "open: %s", host_log());
	CHECK(!strstr(host_log(), "commands are at most"), "warned about "
	      "1 MiB commands: %s", host_log());
	h->close(&dev);
}

int main(void)
{
	const char *so = getenv("HANDLER_NFS_SO");
	struct tcmur_handler *h;

	if (!so) {
		fprintf(stderr, "HANDLER_NFS_SO is not set\n");
		return 2;
	}
	h = host_load_plugin(so);
	if (!h) {
		fprintf(stderr, "handler_init registered nothing\n");
		return 1;
	}
	CHECK(!strcmp(h->subtype, "nfs"), "subtype %s", h->subtype);
	CHECK(h->nr_threads == 0, "callouts must be async");
	CHECK(h->cfg_desc && strstr(h->cfg_desc, "offset="), "cfg_desc");
	check_config(h);
	open_fails(h, "127.0.0.1/export/nothere.img?" TEST_PORTS,
		   "does not exist");
	open_fails(h, "127.0.0.1/export/x?uid=nope", "invalid cfgstring: "
		   "uid=nope");
	io(h);
	max_xfer(h);
	writeback(h);
	thin(h);
	stalled(h);
	return check_report("test_plugin");
}
