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

#include "tnfs_config.h"
#include "tnfs_engine.h"
#include "tnfs_ha.h"
#include "tnfs_metrics.h"
#include "tnfs_ratelimit.h"
#include "tnfs_scsi.h"
#include "tnfs_sense.h"

/* A device's private data: its engine, and the writer of its metrics. */
struct tnfs_dev {
	struct tnfs_engine *engine;
	struct tnfs_metrics *metrics;
	struct tnfs_ratelimit cmd_log;	/* failed commands (engine thread) */
	struct tnfs_ha *ha;		/* ha=: the lease; NULL without */
};

/* failed commands: this many lines per 10 s at most, per device */
#define TNFS_CMD_LOG_BURST	10
#define TNFS_CMD_LOG_WINDOW_MS	10000

static struct tnfs_engine *dev_engine(struct tcmu_device *dev)
{
	return ((struct tnfs_dev *)tcmur_dev_get_private(dev))->engine;
}

/* this device's ha= state, NULL without ha= (or before open) */
static struct tnfs_ha *dev_ha(struct tcmu_device *dev)
{
	struct tnfs_dev *tdev = tcmur_dev_get_private(dev);

	return tdev ? tdev->ha : NULL;
}

/* One per SCSI command: the engine request and where to complete it. */
struct tnfs_cmd {
	struct tnfs_io_req req;
	struct tcmu_device *dev;
	struct tcmur_cmd *cmd;
};

/*
 * targetcli shows this reason when a create is refused, and nothing from
 * open(): so besides the syntax (checked first, without the network),
 * probe the server as open() will, with a short timeout.  Only the device
 * size is unknown here; open() checks the region against it.
 */
static bool tnfs_dev_check_config(const char *cfgstring, char **reason)
{
	struct tnfs_engine_params p = { .block_size = 512 };
	struct tnfs_config cfg;
	char err[512];
	int ret;

	ret = tnfs_config_parse(cfgstring, &cfg, err, sizeof(err));
	if (!ret) {
		p.cfg = &cfg;
		ret = tnfs_ha_check(&cfg, err, sizeof(err));
		if (!ret)
			ret = tnfs_engine_probe(&p, err, sizeof(err));
		tnfs_config_free(&cfg);
	}
	if (!ret)
		return true;
	if (asprintf(reason, "%s", ret == -ENOMEM ? "out of memory" : err) < 0)
		*reason = NULL;
	return false;
}

static void tnfs_dev_log(void *arg, enum tnfs_log_level level, const char *msg)
{
	struct tcmu_device *dev = arg;

	switch (level) {
	case TNFS_LOG_ERR:
		tcmu_dev_err(dev, "%s\n", msg);
		break;
	case TNFS_LOG_WARN:
		tcmu_dev_warn(dev, "%s\n", msg);
		break;
	case TNFS_LOG_INFO:
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
#define TNFS_LARGE_CMD		(1024 * 1024)
#define TNFS_LIO_QUEUE_DEPTH	128
#define TNFS_LARGE_DATA_AREA_MB	128

/*
 * The core puts this in VPD Block Limits (maximum and optimal transfer
 * length): the configfs hw_max_sectors, fixed at create time.
 */
static void tnfs_dev_check_max_xfer(struct tcmu_device *dev)
{
	uint32_t bs = tcmu_dev_get_block_size(dev);
	uint32_t blocks;

	if (!bs)
		return;
	blocks = tcmu_dev_get_max_xfer_len(dev);
	if (!blocks || (uint64_t)blocks * bs >= TNFS_LARGE_CMD)
		return;
	tcmu_dev_warn(dev, "commands are at most %" PRIu64 " bytes "
		      "(hw_max_sectors=%u): create the backstore with "
		      "hw_max_sectors=%u control=max_data_area_mb=%u for "
		      "1 MiB commands\n", (uint64_t)blocks * bs, blocks,
		      (TNFS_LARGE_CMD + bs - 1) / bs, TNFS_LARGE_DATA_AREA_MB);
}

/*
 * The backstore's name, as targetcli shows it, from the uio device's
 * name "tcm-user/<hba>/<name>/<cfgstring>"; empty if unknown.
 */
static void tnfs_dev_backstore(const char *uio, char *name, size_t len)
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
static struct tnfs_metrics *
tnfs_dev_start_metrics(struct tcmu_device *dev, struct tnfs_engine *engine,
		       struct tnfs_ha *ha, const struct tnfs_config *cfg)
{
	const char *uio = tcmu_dev_get_uio_name(dev);
	char name[128], backstore[128], fallback[256];
	const char *labels[8];
	struct tnfs_metrics_params mp = {
		.engine = engine,
		.labels = labels,
		.nlabels = 4,
		.log = tnfs_dev_log,
		.log_arg = dev,
		.lease = ha ? tnfs_ha_metrics : NULL,
		.lease_arg = ha,
	};

	if (!uio || !*uio) {
		snprintf(fallback, sizeof(fallback), "%s%s", cfg->server,
			 cfg->path);
		uio = fallback;
	}
	tnfs_metrics_sanitize(name, sizeof(name), uio);
	tnfs_dev_backstore(uio, backstore, sizeof(backstore));
	labels[0] = "device";
	labels[1] = uio;
	labels[2] = "backstore";
	labels[3] = backstore;
	labels[4] = "server";
	labels[5] = cfg->server;
	labels[6] = "path";
	labels[7] = cfg->path;
	mp.name = name;
	return tnfs_metrics_start(&mp);
}

/* The device's cfgstring, or a logged reason; free with tnfs_config_free. */
static int tnfs_dev_parse_cfg(struct tcmu_device *dev, struct tnfs_config *cfg)
{
	char err[512];
	int ret;

	ret = tnfs_config_parse(tcmu_dev_get_cfgstring(dev), cfg, err,
				sizeof(err));
	if (ret)
		tcmu_dev_err(dev, "invalid cfgstring: %s\n", err);
	return ret;
}

static int tnfs_dev_open(struct tcmu_device *dev, bool reopen)
{
	struct tnfs_engine_params p = { .log = tnfs_dev_log, .log_arg = dev };
	struct tnfs_engine *engine;
	struct tnfs_config cfg;
	struct tnfs_dev *tdev;
	char err[512];
	int ret;

	tdev = calloc(1, sizeof(*tdev));
	if (!tdev)
		return -ENOMEM;
	ret = tnfs_dev_parse_cfg(dev, &cfg);
	if (ret) {
		free(tdev);
		return ret;
	}
	p.cfg = &cfg;
	p.block_size = tcmu_dev_get_block_size(dev);
	p.dev_size = tcmu_dev_get_num_lbas(dev) * p.block_size;
	/* libtcmu does not tell the ring's depth: LIO's user default */
	p.queue_depth = TNFS_LIO_QUEUE_DEPTH;
	ret = tnfs_engine_open(&p, &engine, err, sizeof(err));
	if (ret) {
		tcmu_dev_err(dev, "%s\n", err);
		free(tdev);
		goto out;
	}
	/*
	 * WCE=0 (write-through): a WRITE completes only once stable on the
	 * server.  WCE=1 (cache=writeback): on the server's UNSTABLE reply;
	 * SYNCHRONIZE CACHE and FUA then make it stable.
	 */
	tcmu_dev_set_write_cache_enabled(dev, cfg.writeback);
	/* NFSv4.2 with DEALLOCATE: UNMAP (docs/scsi.md) */
	tnfs_scsi_set_thin(dev, tnfs_engine_can_unmap(engine));
	tdev->engine = engine;
	/* ha=: the lease thread starts (and stays) not the owner */
	ret = tnfs_ha_start(dev, engine, &cfg, &tdev->ha);
	if (ret) {
		tnfs_engine_close(engine);
		free(tdev);
		goto out;
	}
	tdev->metrics = tnfs_dev_start_metrics(dev, engine, tdev->ha, &cfg);
	tcmur_dev_set_private(dev, tdev);
	tcmu_dev_info(dev, "%s %s:%s at offset %" PRIu64 " as uid %u gid "
		      "%u, %" PRIu64 " bytes, max I/O %u, %s, RPC timeout "
		      "%u s\n", reopen ? "reopened" : "opened", cfg.server,
		      cfg.path, cfg.offset, cfg.uid, cfg.gid, p.dev_size,
		      tnfs_engine_max_io(engine),
		      cfg.writeback ? "write-back" : "write-through",
		      cfg.timeout);
	if (!reopen)
		tnfs_dev_check_max_xfer(dev);
out:
	tnfs_config_free(&cfg);
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
static int tnfs_dev_resize(struct tcmu_device *dev, uint64_t bytes)
{
	struct tnfs_engine_params p = { .log = tnfs_dev_log, .log_arg = dev };
	struct tnfs_config cfg;
	char err[512];
	int ret;

	p.block_size = tcmu_dev_get_block_size(dev);
	/* what the runner will take: whole blocks */
	p.dev_size = bytes / p.block_size * p.block_size;
	ret = tnfs_dev_parse_cfg(dev, &cfg);
	if (ret)
		return ret;
	p.cfg = &cfg;
	ret = tnfs_engine_resize(dev_engine(dev), &p, err,
				 sizeof(err));
	/* short: tcmu-runner cuts a log line at 255 bytes */
	if (ret)
		tcmu_dev_err(dev, "resize refused: %s\n", err);
	tnfs_config_free(&cfg);
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
static int tnfs_dev_reconfig(struct tcmu_device *dev,
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
		return tnfs_dev_resize(dev, cfg->data.dev_size);
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

static void tnfs_dev_close(struct tcmu_device *dev)
{
	struct tnfs_dev *tdev = tcmur_dev_get_private(dev);

	/* the writer reads the engine: gone first, and its file with it */
	tnfs_metrics_stop(tdev->metrics);
	/* the lease thread calls into the engine: stopped before it goes */
	tnfs_ha_quiesce(tdev->ha);
	/* drains, then logs what the device did */
	tnfs_engine_close(tdev->engine);
	/* released only now: nothing of this device is sent after it */
	tnfs_ha_stop(tdev->ha);
	tcmur_dev_set_private(dev, NULL);
	free(tdev);
}

static void tnfs_dev_cmd_done(struct tnfs_io_req *req, int status)
{
	struct tnfs_cmd *c = (struct tnfs_cmd *)
			     ((char *)req - offsetof(struct tnfs_cmd, req));
	struct tnfs_sense sense;
	int rc = TCMU_STS_OK;

	/* the server stopped taking DEALLOCATE: Linux then stops asking */
	if (req->op == TNFS_IO_UNMAP && status == TNFS_NFS3ERR_NOTSUPP) {
		rc = TCMU_STS_INVALID_CMD;
		status = 0;
	}
	if (status) {
		struct tnfs_dev *tdev = tcmur_dev_get_private(c->dev);
		unsigned int more;

		sense = tnfs_sense_of(status, req->op != TNFS_IO_READ);
		/* the engine reports transport errors, rate-limited */
		if (status != TNFS_IO_ERR_TRANSPORT &&
		    tnfs_ratelimit(&tdev->cmd_log, tnfs_now_ms(),
				   TNFS_CMD_LOG_BURST, TNFS_CMD_LOG_WINDOW_MS,
				   &more))
			tcmu_dev_err(c->dev, "%s at %" PRIu64 "+%zu failed: "
				     "%s%s\n", req->op == TNFS_IO_READ ?
				     "read" : req->op == TNFS_IO_WRITE ?
				     "write" : req->op == TNFS_IO_UNMAP ?
				     "unmap" : "flush", req->offset,
				     req->length, tnfs_status_name(status),
				     more ? " (and more failed commands, "
				     "not logged)" : "");
		tcmu_sense_set_data(c->cmd->lib_cmd->sense_buf, sense.key,
				    sense.asc_ascq);
		rc = TCMU_STS_PASSTHROUGH_ERR;
		/* runner closes and reopens the device until the server is
		 * back, failing commands meanwhile rather than hanging them */
		if (status == TNFS_IO_ERR_TRANSPORT)
			tcmu_notify_conn_lost(c->dev);
	}
	tcmur_cmd_complete(c->dev, c->cmd, rc);
	free(c);
}

static int tnfs_dev_queue(struct tcmu_device *dev, struct tcmur_cmd *cmd,
			  enum tnfs_io_op op, struct iovec *iov, size_t iov_cnt,
			  size_t len, off_t off, bool fua)
{
	struct tnfs_ha *ha = dev_ha(dev);
	struct tnfs_cmd *c;
	int ret;

	/* ha=: only the lease's owner writes (tnfs_ha.h) */
	if (ha && op != TNFS_IO_READ) {
		ret = tnfs_ha_begin_write(ha);
		if (ret != TCMU_STS_OK)
			return ret;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		if (ha && op != TNFS_IO_READ)
			tnfs_ha_end_write(ha);
		return TCMU_STS_NO_RESOURCE;
	}
	c->dev = dev;
	c->cmd = cmd;
	c->req.op = op;
	c->req.offset = (uint64_t)off;
	c->req.length = len;
	c->req.iov = iov;
	c->req.iov_cnt = iov_cnt;
	c->req.fua = fua;
	c->req.done = tnfs_dev_cmd_done;
	tnfs_engine_submit(dev_engine(dev), &c->req);
	if (ha && op != TNFS_IO_READ)
		tnfs_ha_end_write(ha);
	return TCMU_STS_OK;
}

static int tnfs_dev_read(struct tcmu_device *dev, struct tcmur_cmd *cmd,
		    struct iovec *iov, size_t iov_cnt, size_t len, off_t off)
{
	return tnfs_dev_queue(dev, cmd, TNFS_IO_READ, iov, iov_cnt, len, off,
			      false);
}

static int tnfs_dev_write(struct tcmu_device *dev, struct tcmur_cmd *cmd,
		     struct iovec *iov, size_t iov_cnt, size_t len, off_t off)
{
	/* the core ignores FUA: read it from the CDB */
	return tnfs_dev_queue(dev, cmd, TNFS_IO_WRITE, iov, iov_cnt, len, off,
			      tnfs_cdb_fua(cmd->lib_cmd->cdb));
}

/* Runs before the core on every command: what it must not see or answer. */
static int tnfs_dev_handle_cmd(struct tcmu_device *dev, struct tcmur_cmd *cmd)
{
	struct tcmulib_cmd *lib = cmd->lib_cmd;
	uint8_t *cdb = lib->cdb;
	int ret;

	ret = tnfs_cdb_check(dev, cdb, lib->iovec, lib->iov_cnt);
	if (ret != TCMU_STS_NOT_HANDLED)
		return ret;
	switch (cdb[0]) {
	case INQUIRY:
		return tnfs_inquiry(dev, cdb, lib->iovec, lib->iov_cnt,
				    dev_ha(dev) != NULL);
	case SERVICE_ACTION_IN_16:
		if ((cdb[1] & 0x1f) != READ_CAPACITY_16)
			return TCMU_STS_NOT_HANDLED;
		return tnfs_read_capacity16(dev, cdb, lib->iovec,
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
		 * (docs/evidence/scsi-conformance.md).
		 */
		return TCMU_STS_INVALID_CMD;
	case MODE_SENSE:
	case MODE_SENSE_10:
		tnfs_scsi_zero(lib->iovec, lib->iov_cnt);
		return tnfs_mode_sense(dev, cdb, lib->iovec, lib->iov_cnt);
	default:
		return TCMU_STS_NOT_HANDLED;
	}
}

static int tnfs_dev_flush(struct tcmu_device *dev, struct tcmur_cmd *cmd)
{
	return tnfs_dev_queue(dev, cmd, TNFS_IO_FLUSH, NULL, 0, 0, 0, false);
}

/*
 * One range of an UNMAP or a WRITE SAME with UNMAP, parsed and checked by
 * the core (thin devices only: tnfs_cdb_check refuses both elsewhere).
 */
static int tnfs_dev_unmap(struct tcmu_device *dev, struct tcmur_cmd *cmd,
			  uint64_t off, uint64_t len)
{
	return tnfs_dev_queue(dev, cmd, TNFS_IO_UNMAP, NULL, 0, len,
			      (off_t)off, false);
}

/* On tcmu-runner's event thread (implicit ALUA), never the command's. */
static int tnfs_dev_lock(struct tcmu_device *dev, uint16_t tag)
{
	return tnfs_ha_lock(dev_ha(dev), tag);
}

/* STPG to standby (explicit ALUA) and device removal: before close. */
static int tnfs_dev_unlock(struct tcmu_device *dev)
{
	return tnfs_ha_unlock(dev_ha(dev));
}

/* On the command thread (RTPG, INQUIRY): never blocks. */
static int tnfs_dev_get_lock_state(struct tcmu_device *dev)
{
	return tnfs_ha_get_lock_state(dev_ha(dev));
}

static int tnfs_dev_get_lock_tag(struct tcmu_device *dev, uint16_t *tag)
{
	return tnfs_ha_get_lock_tag(dev_ha(dev), tag);
}

static struct tcmur_handler tnfs_handler = {
	.name = "NFS file handler (libnfs)",
	.subtype = "nfs",
	.cfg_desc = tnfs_config_desc,
	.check_config = tnfs_dev_check_config,
	.reconfig = tnfs_dev_reconfig,
	.open = tnfs_dev_open,
	.close = tnfs_dev_close,
	.nr_threads = 0,	/* async: the engine thread completes */
	.handle_cmd = tnfs_dev_handle_cmd,
	.read = tnfs_dev_read,
	.write = tnfs_dev_write,
	.flush = tnfs_dev_flush,
	.unmap = tnfs_dev_unmap,
	/* ha= (docs/ha.md); without it they change nothing */
	.lock = tnfs_dev_lock,
	.unlock = tnfs_dev_unlock,
	.get_lock_state = tnfs_dev_get_lock_state,
	.get_lock_tag = tnfs_dev_get_lock_tag,
};

int handler_init(void)
{
	return tcmur_register_handler(&tnfs_handler);
}
