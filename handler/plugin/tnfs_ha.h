/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * One LUN on several gateways (ha=, docs/ha.md): the tcmu-runner side of
 * the lease.  tcmu-runner 1.5.4's lock callbacks, the ALUA state of this
 * gateway's target port group (Active/Optimized while it owns the lease,
 * Active/Non-optimized otherwise), and the gate every write and flush
 * passes.  The sanlock side is tnfs_lease.c.
 */
#ifndef TNFS_HA_H
#define TNFS_HA_H

#include <stdbool.h>
#include <stdint.h>

#include "tnfs_config.h"
#include "tnfs_engine.h"
#include "tnfs_metrics.h"

struct tcmu_device;
struct tnfs_ha;

/* At open, after the engine's: NULL without ha= (nothing changes). */
int tnfs_ha_start(struct tcmu_device *dev, struct tnfs_engine *engine,
		  const struct tnfs_config *cfg, struct tnfs_ha **out);

/* check_config's part: ha_dir there, sanlock up (nothing without ha=) */
int tnfs_ha_check(const struct tnfs_config *cfg, char *err, size_t err_len);

/*
 * At close: tnfs_ha_quiesce before the engine closes (the lease thread
 * calls into the engine), tnfs_ha_stop after it drained (releases the
 * lease if held).
 */
void tnfs_ha_quiesce(struct tnfs_ha *ha);
void tnfs_ha_stop(struct tnfs_ha *ha);

/*
 * Before a write or flush is submitted: TCMU_STS_OK and the gate held
 * (tnfs_ha_end_write after the submit) when this gateway owns the lease;
 * otherwise TCMU_STS_BUSY while it is taking the lease over, or
 * TCMU_STS_FENCED (NOT READY, ALUA standby: the initiator tries another
 * path) when it may not.
 */
int tnfs_ha_begin_write(struct tnfs_ha *ha);
void tnfs_ha_end_write(struct tnfs_ha *ha);

/* For the metrics writer. */
void tnfs_ha_metrics(void *arg, struct tnfs_metrics_lease *out);

/*
 * What struct tcmur_handler's lock callbacks answer, for the device's
 * @ha (NULL without ha=: they change nothing).
 */
int tnfs_ha_lock(struct tnfs_ha *ha, uint16_t tag);
int tnfs_ha_unlock(struct tnfs_ha *ha);
int tnfs_ha_get_lock_state(struct tnfs_ha *ha);
int tnfs_ha_get_lock_tag(struct tnfs_ha *ha, uint16_t *tag);

#endif
