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
#include "nfs_metrics.h"
#include "nfs_mode_sense.h"
#include "nfs_scsi.h"
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

/*
 * The backstore's name, as targetcli shows it, from the uio device's
 * name "tcm-user/<hba>/<name>/<cfgstring>"; empty if unknown.
 */
static void nfs_dev_backstore(const char *uio, char *name, size_t len)
{
	char path[320], buf[256], *p, *end;
	FILE *f;

	name[0] = '\0';
	snprintf(path, sizeof(path), "/sys/class/uio/%s/name", uio);
	f = fopen(path, "re");
	if (!f)
		return;
	if (fgets(buf, sizeof(buf), f) && !strncmp(buf, "tcm-user/", 9) &&
	    (p = strchr(buf + 9, '/')) && (end = strchr(++p, '/'))) {
		*end = '\0';
		snprintf(name, len, "%s", p);
	}
	fclose(f);
}

/* docs/metrics.md: <dir>/<uio name>.prom, labelled to find the disk */
static void nfs_dev_start_metrics(struct tcmu_device *dev,
				  struct nfs_engine *engine,
				  const struct nfs_config *cfg)
{
	const char *uio = tcmu_dev_get_uio_name(dev);
	char name[128], backstore[128], fallback[256];
	const char *labels[8];
	struct nfs_metrics_params mp = {
		.engine = engine,
		.labels = labels,
		.nlabels = 4,
		.log = nfs_dev_log,
		.log_arg = dev,
	};

	if (!uio || !*uio) {
		snprintf(fallback, sizeof(fallback), "%s%s", cfg->server,
			 cfg->path);
		uio = fallback;
	}
	nfs_metrics_sanitize(name, sizeof(name), uio);
	nfs_dev_backstore(uio, backstore, sizeof(backstore));
	labels[0] = "device";
	labels[1] = uio;
	labels[2] = "backstore";
	labels[3] = backstore;
	labels[4] = "server";
	labels[5] = cfg->server;
	labels[6] = "path";
	labels[7] = cfg->path;
	mp.name = name;
	nfs_metrics_start(&mp);
}

/* The device's cfgstring, or a logged reason; free with nfs_config_free. */
static int nfs_dev_parse_cfg(struct tcmu_device *dev, struct nfs_config *cfg)
{
	char err[512];
	int ret;

	ret = nfs_config_parse(tcmu_dev_get_cfgstring(dev), cfg, err,
			       sizeof(err));
	if (ret)
		tcmu_dev_err(dev, "invalid cfgstring: %s\n", err);
	return ret;
}

static int nfs_dev_open(struct tcmu_device *dev, bool reopen)
{
	struct nfs_engine_params p = { .log = nfs_dev_log, .log_arg = dev };
	struct nfs_engine *engine;
	struct nfs_config cfg;
	char err[512];
	int ret;

	ret = nfs_dev_parse_cfg(dev, &cfg);
	if (ret)
		return ret;
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
	nfs_dev_start_metrics(dev, engine, &cfg);
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
 * A write of configfs dev_size on an open device (docs/resize.md): grow
 * the engine before the runner takes the new size, so that no command
 * can reach past an end the engine does not know yet.
 */
static int nfs_dev_resize(struct tcmu_device *dev, uint64_t bytes)
{
	struct nfs_engine_params p = { .log = nfs_dev_log, .log_arg = dev };
	struct nfs_config cfg;
	char err[512];
	int ret;

	p.block_size = tcmu_dev_get_block_size(dev);
	/* what the runner will take: whole blocks */
	p.dev_size = bytes / p.block_size * p.block_size;
	ret = nfs_dev_parse_cfg(dev, &cfg);
	if (ret)
		return ret;
	p.cfg = &cfg;
	ret = nfs_engine_resize(tcmur_dev_get_private(dev), &p, err,
				sizeof(err));
	/* short: tcmu-runner cuts a log line at 255 bytes */
	if (ret)
		tcmu_dev_err(dev, "resize refused: %s\n", err);
	nfs_config_free(&cfg);
	return ret;
}

/*
 * targetcli's restoreconfig and saveconfig-driven setups write every
 * attribute again, changed or not: accept what matches.  The size may
 * grow.  The file and cache mode stay: tcmu-runner 1.5.4 keeps the old
 * cfgstring for its reopen after a lost connection, so a switch to
 * another file would silently switch back (and it has no ChangeMedium
 * for targetcli's changemedium to call).
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
		what = "the cfgstring (tcmu-runner would reopen the old file "
		       "after a reconnect)";
		break;
	case TCMULIB_CFG_DEV_SIZE:
		if (cfg->data.dev_size == tcmu_dev_get_num_lbas(dev) *
					 tcmu_dev_get_block_size(dev))
			return 0;
		return nfs_dev_resize(dev, cfg->data.dev_size);
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
	struct nfs_engine *engine = tcmur_dev_get_private(dev);

	/* the writer reads the engine: gone first, and its file with it */
	nfs_metrics_stop(nfs_metrics_of(engine));
	/* drains, then logs what the device did */
	nfs_engine_close(engine);
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

/* Runs before the core on every command: what it must not see or answer. */
static int nfs_dev_handle_cmd(struct tcmu_device *dev, struct tcmur_cmd *cmd)
{
	struct tcmulib_cmd *lib = cmd->lib_cmd;
	uint8_t *cdb = lib->cdb;
	int ret;

	ret = nfs_cdb_check(dev, cdb, lib->iovec, lib->iov_cnt);
	if (ret != TCMU_STS_NOT_HANDLED)
		return ret;
	switch (cdb[0]) {
	case INQUIRY:
		return nfs_inquiry(dev, cdb, lib->iovec, lib->iov_cnt);
	case SERVICE_ACTION_IN_16:
		if ((cdb[1] & 0x1f) != READ_CAPACITY_16)
			return TCMU_STS_NOT_HANDLED;
		return nfs_read_capacity16(dev, cdb, lib->iovec,
					   lib->iov_cnt);
	case EXTENDED_COPY:
	case RECEIVE_COPY_RESULTS:
		/*
		 * tcmu-runner 1.5.4's EXTENDED COPY frees the command's state
		 * after completing (and freeing) the command, which aborts
		 * the daemon ("double free or corruption") after some tens
		 * of copies through an asynchronous handler; it also refuses
		 * copies between two devices.  Not offered (3PC = 0):
		 * initiators fall back to READ and WRITE
		 * (docs/scsi-conformance.md).
		 */
		return TCMU_STS_INVALID_CMD;
	case MODE_SENSE:
	case MODE_SENSE_10:
		nfs_scsi_zero(lib->iovec, lib->iov_cnt);
		return nfs_mode_sense(dev, cdb, lib->iovec, lib->iov_cnt);
	default:
		return TCMU_STS_NOT_HANDLED;
	}
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
