// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * tcmu-runner glue for the user:nfs backstore.  Thin on purpose: every
 * decision about NFS lives in the engine; this file turns SCSI callouts
 * into engine requests and engine results into TCMU status and sense.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <scsi/scsi.h>	/* MODE_SENSE, WRITE_10, ...: the core uses it too */

#include "tcmu-runner.h"
#include "libtcmu_common.h"
#include "tcmur_device.h"
#include "libtcmu.h"

#include "nfs_config.h"
#include "nfs_engine.h"
#include "nfs_mode_sense.h"
#include "nfs_status.h"

/* One per SCSI command: the engine request and where to complete it. */
struct nfs_cmd {
	struct nfs_io_req req;
	struct tcmu_device *dev;
	struct tcmur_cmd *cmd;
};

/*
 * targetcli shows this reason when a create is refused, and nothing from
 * open(): so besides the syntax (checked first, without the network),
 * probe the server as open() will, with a short timeout.  Only the device
 * size is unknown here; open() checks the region against it.
 */
static bool nfs_dev_check_config(const char *cfgstring, char **reason)
{
	struct nfs_engine_params p = { .block_size = 512 };
	struct nfs_config cfg;
	char err[512];
	int ret;

	ret = nfs_config_parse(cfgstring, &cfg, err, sizeof(err));
	if (!ret) {
		p.cfg = &cfg;
		ret = nfs_engine_probe(&p, err, sizeof(err));
		nfs_config_free(&cfg);
	}
	if (!ret)
		return true;
	if (asprintf(reason, "%s", ret == -ENOMEM ? "out of memory" : err) < 0)
		*reason = NULL;
	return false;
}

static void nfs_dev_log(void *arg, enum nfs_log_level level, const char *msg)
{
	struct tcmu_device *dev = arg;

	switch (level) {
	case NFS_LOG_ERR:
		tcmu_dev_err(dev, "%s\n", msg);
		break;
	case NFS_LOG_WARN:
		tcmu_dev_warn(dev, "%s\n", msg);
		break;
	case NFS_LOG_INFO:
		tcmu_dev_info(dev, "%s\n", msg);
		break;
	}
}

/*
 * A command as large as the largest NFS READ/WRITE takes one round trip;
 * the 64 KiB a user backstore gets by default take 16.  The data area
 * must hold the data of every command in flight: the 128 of the device's
 * queue (hw_queue_depth) at 1 MiB each.
 */
#define NFS_LARGE_CMD		(1024 * 1024)
#define NFS_LARGE_DATA_AREA_MB	128

/*
 * The core puts this in VPD Block Limits (maximum and optimal transfer
 * length): the configfs hw_max_sectors, fixed at create time.
 */
static void nfs_dev_check_max_xfer(struct tcmu_device *dev)
{
	uint32_t bs = tcmu_dev_get_block_size(dev);
	uint32_t blocks;

	if (!bs)
		return;
	blocks = tcmu_dev_get_max_xfer_len(dev);
	if (!blocks || (uint64_t)blocks * bs >= NFS_LARGE_CMD)
		return;
	tcmu_dev_warn(dev, "commands are at most %" PRIu64 " bytes "
		      "(hw_max_sectors=%u): create the backstore with "
		      "hw_max_sectors=%u control=max_data_area_mb=%u for "
		      "1 MiB commands\n", (uint64_t)blocks * bs, blocks,
		      (NFS_LARGE_CMD + bs - 1) / bs, NFS_LARGE_DATA_AREA_MB);
}

static int nfs_dev_open(struct tcmu_device *dev, bool reopen)
{
	struct nfs_engine_params p = { .log = nfs_dev_log, .log_arg = dev };
	struct nfs_engine *engine;
	struct nfs_config cfg;
	char err[512];
	int ret;

	ret = nfs_config_parse(tcmu_dev_get_cfgstring(dev), &cfg,
			       err, sizeof(err));
	if (ret) {
		tcmu_dev_err(dev, "invalid cfgstring: %s\n", err);
		return ret;
	}
	p.cfg = &cfg;
	p.block_size = tcmu_dev_get_block_size(dev);
	p.dev_size = tcmu_dev_get_num_lbas(dev) * p.block_size;
	ret = nfs_engine_open(&p, &engine, err, sizeof(err));
	if (ret) {
		tcmu_dev_err(dev, "%s\n", err);
		goto out;
	}
	/*
	 * WCE=0 (write-through): a WRITE completes only once stable on the
	 * server.  WCE=1 (cache=writeback): on the server's UNSTABLE reply;
	 * SYNCHRONIZE CACHE and FUA then make it stable.
	 */
	tcmu_dev_set_write_cache_enabled(dev, cfg.writeback);
	tcmur_dev_set_private(dev, engine);
	tcmu_dev_info(dev, "%s %s:%s at offset %" PRIu64 " as uid %u gid "
		      "%u, %" PRIu64 " bytes, max I/O %u, %s, RPC timeout "
		      "%u s\n", reopen ? "reopened" : "opened", cfg.server,
		      cfg.path, cfg.offset, cfg.uid, cfg.gid, p.dev_size,
		      nfs_engine_max_io(engine),
		      cfg.writeback ? "write-back" : "write-through",
		      cfg.timeout);
	if (!reopen)
		nfs_dev_check_max_xfer(dev);
out:
	nfs_config_free(&cfg);
	return ret;
}

static const char *skip_subtype(const char *cfgstring)
{
	return strncmp(cfgstring, "nfs/", 4) ? cfgstring : cfgstring + 4;
}

/*
 * targetcli's restoreconfig and saveconfig-driven setups write every
 * attribute again, changed or not.  An open device keeps its file, size
 * and cache mode: accept what matches, refuse a real change (delete and
 * re-create the backstore for that).
 */
static int nfs_dev_reconfig(struct tcmu_device *dev,
			    struct tcmulib_cfg_info *cfg)
{
	const char *what;

	switch (cfg->type) {
	case TCMULIB_CFG_DEV_CFGSTR:
		if (!strcmp(skip_subtype(cfg->data.dev_cfgstring),
			    skip_subtype(tcmu_dev_get_cfgstring(dev))))
			return 0;
		what = "the cfgstring";
		break;
	case TCMULIB_CFG_DEV_SIZE:
		if (cfg->data.dev_size == tcmu_dev_get_num_lbas(dev) *
					 tcmu_dev_get_block_size(dev))
			return 0;
		what = "the size";
		break;
	case TCMULIB_CFG_WRITE_CACHE:
		if (cfg->data.write_cache ==
		    tcmu_dev_get_write_cache_enabled(dev))
			return 0;
		what = "the write cache (set cache= in the cfgstring)";
		break;
	default:
		return -EOPNOTSUPP;
	}
	tcmu_dev_err(dev, "changing %s of an open user:nfs device is not "
		     "supported: delete and re-create the backstore\n", what);
	return -EOPNOTSUPP;
}

static void nfs_dev_close(struct tcmu_device *dev)
{
	/* drains, then logs what the device did */
	nfs_engine_close(tcmur_dev_get_private(dev));
	tcmur_dev_set_private(dev, NULL);
}

static void nfs_dev_cmd_done(struct nfs_io_req *req, int status)
{
	struct nfs_cmd *c = (struct nfs_cmd *)((char *)req -
					       offsetof(struct nfs_cmd, req));
	struct nfs_sense sense;
	int rc = TCMU_STS_OK;

	if (status) {
		sense = nfs_status_sense(status, req->op != NFS_IO_READ);
		/* the engine reports transport errors, rate-limited */
		if (status != NFS_IO_ERR_TRANSPORT)
			tcmu_dev_err(c->dev, "%s at %" PRIu64 "+%zu failed: "
				     "%s\n", req->op == NFS_IO_READ ? "read" :
				     req->op == NFS_IO_WRITE ? "write" :
				     "flush", req->offset, req->length,
				     nfs_status_name(status));
		tcmu_sense_set_data(c->cmd->lib_cmd->sense_buf, sense.key,
				    sense.asc_ascq);
		rc = TCMU_STS_PASSTHROUGH_ERR;
		/* runner closes and reopens the device until the server is
		 * back, failing commands meanwhile rather than hanging them */
		if (status == NFS_IO_ERR_TRANSPORT)
			tcmu_notify_conn_lost(c->dev);
	}
	tcmur_cmd_complete(c->dev, c->cmd, rc);
	free(c);
}

static int nfs_dev_queue(struct tcmu_device *dev, struct tcmur_cmd *cmd,
			 enum nfs_io_op op, struct iovec *iov, size_t iov_cnt,
			 size_t len, off_t off, bool fua)
{
	struct nfs_cmd *c = calloc(1, sizeof(*c));

	if (!c)
		return TCMU_STS_NO_RESOURCE;
	c->dev = dev;
	c->cmd = cmd;
	c->req.op = op;
	c->req.offset = (uint64_t)off;
	c->req.length = len;
	c->req.iov = iov;
	c->req.iov_cnt = iov_cnt;
	c->req.fua = fua;
	c->req.done = nfs_dev_cmd_done;
	nfs_engine_submit(tcmur_dev_get_private(dev), &c->req);
	return TCMU_STS_OK;
}

static int nfs_dev_read(struct tcmu_device *dev, struct tcmur_cmd *cmd,
		    struct iovec *iov, size_t iov_cnt, size_t len, off_t off)
{
	return nfs_dev_queue(dev, cmd, NFS_IO_READ, iov, iov_cnt, len, off,
			     false);
}

static int nfs_dev_write(struct tcmu_device *dev, struct tcmur_cmd *cmd,
		     struct iovec *iov, size_t iov_cnt, size_t len, off_t off)
{
	/* the core ignores FUA: read it from the CDB */
	return nfs_dev_queue(dev, cmd, NFS_IO_WRITE, iov, iov_cnt, len, off,
			     nfs_cdb_fua(cmd->lib_cmd->cdb));
}

static int nfs_dev_handle_cmd(struct tcmu_device *dev, struct tcmur_cmd *cmd)
{
	struct tcmulib_cmd *lib = cmd->lib_cmd;

	if (lib->cdb[0] == MODE_SENSE || lib->cdb[0] == MODE_SENSE_10)
		return nfs_mode_sense(dev, lib->cdb, lib->iovec,
				      lib->iov_cnt);
	return TCMU_STS_NOT_HANDLED;
}

static int nfs_dev_flush(struct tcmu_device *dev, struct tcmur_cmd *cmd)
{
	return nfs_dev_queue(dev, cmd, NFS_IO_FLUSH, NULL, 0, 0, 0, false);
}

static struct tcmur_handler nfs_handler = {
	.name = "NFS file handler (libnfs)",
	.subtype = "nfs",
	.cfg_desc = nfs_config_desc,
	.check_config = nfs_dev_check_config,
	.reconfig = nfs_dev_reconfig,
	.open = nfs_dev_open,
	.close = nfs_dev_close,
	.nr_threads = 0,	/* async: the engine thread completes */
	.handle_cmd = nfs_dev_handle_cmd,
	.read = nfs_dev_read,
	.write = nfs_dev_write,
	.flush = nfs_dev_flush,
};

int handler_init(void)
{
	return tcmur_register_handler(&nfs_handler);
}
