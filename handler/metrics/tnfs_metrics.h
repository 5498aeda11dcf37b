/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Live per-device metrics: the engine's counters (tnfs_engine_get_stats)
 * in the Prometheus text exposition format, one file per device,
 * replaced atomically every few seconds by a thread of its own, so the
 * engine thread never waits for a disk.  docs/metrics.md lists them.
 *
 * Where: $TCMU_NFS_METRICS_DIR, else TNFS_METRICS_DIR; an empty
 * $TCMU_NFS_METRICS_DIR turns the files off.  How often:
 * $TCMU_NFS_METRICS_INTERVAL seconds (1..3600), else 5.  A directory
 * that cannot be written only costs a warning: the disk keeps serving.
 *
 * Knows the engine's public API only, nothing of tcmu-runner.
 */
#ifndef TNFS_METRICS_H
#define TNFS_METRICS_H

#include <stdio.h>

#include "tnfs_engine.h"

#define TNFS_METRICS_DIR			"/run/tcmu-nfs/metrics"
#define TNFS_METRICS_INTERVAL_MS		5000

struct tnfs_metrics;

/*
 * A device of several gateways (ha=, docs/ha.md): its lease as the
 * plugin's lease thread last saw it.  Plain numbers, so this layer knows
 * nothing of sanlock or tcmu-runner.
 */
enum tnfs_metrics_lease_state {
	TNFS_LEASE_JOINING,	/* joining the lockspace */
	TNFS_LEASE_STANDBY,	/* another gateway owns it, or nobody */
	TNFS_LEASE_ACQUIRING,	/* asked to write: taking it over */
	TNFS_LEASE_OWNER,	/* held: this gateway writes */
	TNFS_LEASE_FENCED,	/* lost or released: nothing more is sent */
	TNFS_LEASE_STATES
};

struct tnfs_metrics_lease {
	enum tnfs_metrics_lease_state state;
	uint64_t owner;		/* host_id of the owner last seen, 0 none */
	uint64_t host;		/* this gateway's host_id */
	int64_t renewal_age_ms;	/* since its delta lease was renewed; -1 */
	uint64_t acquired, released, lost, refused;
};

extern const char *const tnfs_metrics_lease_state_names[TNFS_LEASE_STATES];

struct tnfs_metrics_params {
	struct tnfs_engine *engine;
	const char *dir;		/* NULL: from the environment */
	const char *name;		/* the file is <dir>/<name>.prom */
	/* label names and values, pairs; values are escaped here */
	const char *const *labels;
	unsigned int nlabels;		/* pairs */
	unsigned int interval_ms;	/* 0: from the environment */
	tnfs_log_fn log;
	void *log_arg;
	/* ha= devices: fills in the lease's state for each file (fast) */
	void (*lease)(void *arg, struct tnfs_metrics_lease *out);
	void *lease_arg;
};

/*
 * Write the file once, then start the thread that rewrites it.  NULL
 * when the files are off or out of memory (logged); never fails a
 * device.  Safe from any thread; one writer per engine.
 */
struct tnfs_metrics *tnfs_metrics_start(const struct tnfs_metrics_params *p);

/* Stop the thread and remove the file; before the engine is closed. */
void tnfs_metrics_stop(struct tnfs_metrics *m);

/* Where the file is (for tests and the log). */
const char *tnfs_metrics_path(const struct tnfs_metrics *m);

/* Every metric of @s with the label set @labels ("a=\"b\",..."). */
int tnfs_metrics_format(FILE *f, const struct tnfs_engine_stats *s,
			const char *labels);

/* The lease's metrics (a device with ha=) with the label set @labels. */
int tnfs_metrics_format_lease(FILE *f, const struct tnfs_metrics_lease *l,
			      const char *labels);

/* A file name from any string: [A-Za-z0-9._-], the rest as '_'. */
void tnfs_metrics_sanitize(char *dst, size_t len, const char *src);

#endif
