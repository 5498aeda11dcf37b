// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The tcmu-runner side of a LUN on several gateways (tnfs_ha.h).  Why the
 * lock callbacks answer as they do, from what tcmu-runner 1.5.4 does with
 * them (alua.c, tcmur_device.c), is in docs/ha.md; in short:
 *
 * - 1.5.4 accepts only implicit ALUA with a lock-capable handler (it
 *   refuses a group of type "Implicit and Explicit" or "Explicit").  The
 *   first write to a device it has not locked is answered BUSY while
 *   lock() runs on its event thread; lock() waits for the lease thread.
 * - Once locked, an UNLOCKED state from get_lock_state would make it
 *   answer every write BUSY and call lock() again, which keeps the
 *   initiator on this path and takes the lease straight back after a
 *   planned move.  So get_lock_state stays WRITE_LOCKED and the gate
 *   below answers for itself: the owner writes; a gateway that just let
 *   go answers NOT READY, ALUA standby (04/0B), on which the initiator
 *   fails the path over; otherwise it answers BUSY and takes the lease.
 * - The initiator follows the owner through ALUA: this gateway's target
 *   port group is Active/Optimized while it owns the lease and
 *   Active/Non-optimized otherwise.  Not Standby: Linux sends nothing to
 *   a Standby path of an implicit-only group, so the other gateway would
 *   never be asked to take over.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tcmu-runner.h"
#include "libtcmu_common.h"
#include "libtcmu.h"
#include "tcmur_device.h"

#include "tnfs_ha.h"
#include "tnfs_lease.h"

#ifndef CFGFS_CORE
#define CFGFS_CORE	"/sys/kernel/config/target/core"
#endif
/* lock() waits this long for the lease, then lets the initiator retry */
#define LOCK_WAIT_MS	20000

struct tnfs_ha {
	struct tcmu_device *dev;
	struct tnfs_engine *engine;
	struct tnfs_lease *lease;
	char hba[64], name[128];	/* the backstore in configfs */
	bool locked;			/* lock() succeeded once (atomic) */
	unsigned int no_group;		/* checks without a group */
	bool no_group_logged;
};

static void ha_log(void *arg, enum tnfs_log_level level, const char *msg)
{
	struct tnfs_ha *ha = arg;

	switch (level) {
	case TNFS_LOG_ERR:
		tcmu_dev_err(ha->dev, "%s\n", msg);
		break;
	case TNFS_LOG_WARN:
		tcmu_dev_warn(ha->dev, "%s\n", msg);
		break;
	case TNFS_LOG_INFO:
		tcmu_dev_info(ha->dev, "%s\n", msg);
		break;
	}
}

/* "tcm-user/<hba>/<name>/<cfgstring>" of the device's uio */
static void find_backstore(struct tnfs_ha *ha)
{
	char path[320], buf[512], *hba, *name, *end;
	const char *uio = tcmu_dev_get_uio_name(ha->dev);
	FILE *f;

	snprintf(ha->name, sizeof(ha->name), "%s", uio ? uio : "unknown");
	if (!uio)
		return;
	snprintf(path, sizeof(path), "/sys/class/uio/%s/name", uio);
	f = fopen(path, "re");
	if (!f)
		return;
	if (fgets(buf, sizeof(buf), f) && !strncmp(buf, "tcm-user/", 9)) {
		hba = buf + 9;
		name = strchr(hba, '/');
		if (name) {
			*name++ = '\0';
			end = strchr(name, '/');
			if (end) {
				*end = '\0';
				snprintf(ha->hba, sizeof(ha->hba), "%.63s",
					 hba);
				snprintf(ha->name, sizeof(ha->name), "%.127s",
					 name);
			}
		}
	}
	fclose(f);
}

/*
 * This gateway's ALUA state: every non-default target port group of the
 * backstore (one, holding this gateway's ports, docs/ha.md).
 */
static void set_alua(struct tnfs_ha *ha, bool owner)
{
	char dir[PATH_MAX], path[PATH_MAX + 300];
	struct dirent *de;
	int found = 0, now;
	DIR *d;
	FILE *f;

	if (!ha->hba[0])
		return;
	snprintf(dir, sizeof(dir), CFGFS_CORE "/user_%s/%s/alua", ha->hba,
		 ha->name);
	d = opendir(dir);
	if (!d)
		return;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' ||
		    !strcmp(de->d_name, "default_tg_pt_gp"))
			continue;
		snprintf(path, sizeof(path), "%s/%s/alua_access_state", dir,
			 de->d_name);
		f = fopen(path, "re");
		if (!f)
			continue;
		/* 0: Active/Optimized, 1: Active/Non-optimized */
		now = fgetc(f);
		fclose(f);
		found++;
		if (now == (owner ? '0' : '1'))
			continue;
		f = fopen(path, "we");
		if (f) {
			fputs(owner ? "0\n" : "1\n", f);
			if (!fclose(f))
				continue;
		}
		tcmu_dev_warn(ha->dev, "ha: cannot set %s: %s\n", path,
			      strerror(errno));
	}
	closedir(d);
	/* made after the open, usually: say so once, if it stays missing */
	if (!found && ++ha->no_group > 15 && !ha->no_group_logged) {
		tcmu_dev_warn(ha->dev, "ha: no ALUA group of its own for this "
			      "backstore: initiators cannot tell the owner "
			      "(docs/ha.md, targetcli)\n");
		ha->no_group_logged = true;
	}
	if (found)
		ha->no_group = 0;
}

static void ha_set_fence(void *arg, bool fenced)
{
	struct tnfs_ha *ha = arg;

	tnfs_engine_fence(ha->engine, fenced ? TNFS_IO_ERR_FENCED : 0);
}

/*
 * On each change, and every few seconds: the group may be made (and the
 * LUN put in it) after the device opened, and nothing tells us.
 */
static void ha_changed(void *arg, bool owner)
{
	set_alua(arg, owner);
}

/* The LUN's lease name: the file's, as sanlock takes names. */
static void lease_name(const struct tnfs_config *cfg, char *out, size_t len)
{
	const char *base = strrchr(cfg->path, '/');
	size_t i;

	snprintf(out, len, "%s", cfg->ha_lease ? cfg->ha_lease :
		 base ? base + 1 : cfg->path);
	for (i = 0; out[i]; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyz"
			    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-", out[i]))
			out[i] = '_';
	if (i > TNFS_HA_NAME_MAX)
		out[TNFS_HA_NAME_MAX] = '\0';
}

int tnfs_ha_start(struct tcmu_device *dev, struct tnfs_engine *engine,
		  const struct tnfs_config *cfg, struct tnfs_ha **out)
{
	struct tnfs_lease_params lp = { 0 };
	char err[256], name[TNFS_HA_NAME_MAX + 1];
	struct tnfs_ha *ha;
	int ret;

	*out = NULL;
	if (!cfg->ha)
		return 0;
	ha = calloc(1, sizeof(*ha));
	if (!ha)
		return -ENOMEM;
	ha->dev = dev;
	ha->engine = engine;
	find_backstore(ha);
	lease_name(cfg, name, sizeof(name));
	lp.lockspace = cfg->ha;
	lp.host_id = cfg->ha_host;
	lp.dir = cfg->ha_dir;
	lp.name = name;
	lp.io_timeout = cfg->ha_io_timeout;
	lp.fence = cfg->ha_fence;
	lp.ctl_dir = TNFS_LEASE_CTL_DIR;
	lp.ctl_name = ha->name;
	lp.set_fence = ha_set_fence;
	lp.changed = ha_changed;
	lp.arg = ha;
	lp.log = ha_log;
	lp.log_arg = ha;
	/* no owner yet: Active/Non-optimized until the lease is ours */
	set_alua(ha, false);
	ret = tnfs_lease_start(&lp, &ha->lease, err, sizeof(err));
	if (ret) {
		tcmu_dev_err(dev, "%s\n", err);
		free(ha);
		return ret;
	}
	if (!cfg->ha_fence)
		tcmu_dev_warn(dev, "ha: ha_fence=0: this gateway will NOT "
			      "fence itself when it loses the lease (a test "
			      "setting; data can be overwritten)\n");
	tcmu_dev_info(dev, "ha: lockspace %s host %u, lease %s in %s, "
		      "io_timeout %u s (a silent owner is taken over after "
		      "%u s)\n", cfg->ha, cfg->ha_host, name, cfg->ha_dir,
		      cfg->ha_io_timeout, 8 * cfg->ha_io_timeout + 60);
	*out = ha;
	return 0;
}

int tnfs_ha_check(const struct tnfs_config *cfg, char *err, size_t err_len)
{
	return cfg->ha ? tnfs_lease_check(cfg->ha_dir, err, err_len) : 0;
}

void tnfs_ha_quiesce(struct tnfs_ha *ha)
{
	if (ha)
		tnfs_lease_stop_thread(ha->lease);
}

void tnfs_ha_stop(struct tnfs_ha *ha)
{
	if (!ha)
		return;
	tnfs_lease_stop(ha->lease);
	set_alua(ha, false);
	free(ha);
}

int tnfs_ha_begin_write(struct tnfs_ha *ha)
{
	if (tnfs_lease_begin_write(ha->lease))
		return TCMU_STS_OK;
	return tnfs_lease_may_take(ha->lease) ? TCMU_STS_BUSY :
	       TCMU_STS_FENCED;
}

void tnfs_ha_end_write(struct tnfs_ha *ha)
{
	tnfs_lease_end_write(ha->lease);
}

void tnfs_ha_metrics(void *arg, struct tnfs_metrics_lease *out)
{
	struct tnfs_ha *ha = arg;

	tnfs_lease_metrics(ha->lease, out);
}

/* On tcmu-runner's event thread (implicit ALUA), never the command's. */
int tnfs_ha_lock(struct tnfs_ha *ha, uint16_t tag)
{
	(void)tag;
	if (!ha)
		return TCMU_STS_OK;
	if (tnfs_lease_acquire(ha->lease, LOCK_WAIT_MS))
		/* not yet: the commands stay BUSY, the next one asks again */
		return TCMU_STS_BUSY;
	__atomic_store_n(&ha->locked, true, __ATOMIC_RELEASE);
	return TCMU_STS_OK;
}

/* STPG to standby (explicit ALUA) and device removal: before close. */
int tnfs_ha_unlock(struct tnfs_ha *ha)
{
	if (ha)
		tnfs_lease_release(ha->lease);
	return TCMU_STS_OK;
}

/* On the command thread (RTPG, INQUIRY): never blocks. */
int tnfs_ha_get_lock_state(struct tnfs_ha *ha)
{
	if (!ha || tnfs_lease_owner(ha->lease) ||
	    __atomic_load_n(&ha->locked, __ATOMIC_ACQUIRE))
		return TCMUR_DEV_LOCK_WRITE_LOCKED;
	return TCMUR_DEV_LOCK_UNLOCKED;
}

/* The owner's ALUA group id: its host_id (docs/ha.md's targetcli lines). */
int tnfs_ha_get_lock_tag(struct tnfs_ha *ha, uint16_t *tag)
{
	uint64_t owner = ha ? tnfs_lease_owner_host(ha->lease) : 0;

	if (!owner)
		return TCMU_STS_NO_LOCK_HOLDERS;
	*tag = (uint16_t)owner;
	return TCMU_STS_OK;
}
