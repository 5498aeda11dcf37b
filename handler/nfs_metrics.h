/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Live per-device metrics: the engine's counters (nfs_engine_get_stats)
 * in the Prometheus text exposition format, one file per device,
 * replaced atomically every few seconds by a thread of its own, so the
 * engine thread never waits for a disk.  docs/metrics.md lists them.
 *
 * Where: $TCMU_NFS_METRICS_DIR, else NFS_METRICS_DIR; an empty
 * $TCMU_NFS_METRICS_DIR turns the files off.  How often:
 * $TCMU_NFS_METRICS_INTERVAL seconds (1..3600), else 5.  A directory
 * that cannot be written only costs a warning: the disk keeps serving.
 *
 * Knows the engine's public API only, nothing of tcmu-runner.
 */
#ifndef NFS_METRICS_H
#define NFS_METRICS_H

#include <stdio.h>

#include "nfs_engine.h"

#define NFS_METRICS_DIR			"/run/tcmu-nfs/metrics"
#define NFS_METRICS_INTERVAL_MS		5000

struct nfs_metrics;

struct nfs_metrics_params {
	struct nfs_engine *engine;
	const char *dir;		/* NULL: from the environment */
	const char *name;		/* the file is <dir>/<name>.prom */
	/* label names and values, pairs; values are escaped here */
	const char *const *labels;
	unsigned int nlabels;		/* pairs */
	unsigned int interval_ms;	/* 0: from the environment */
	void (*log)(void *arg, enum nfs_log_level level, const char *msg);
	void *log_arg;
};

/*
 * Write the file once, then start the thread that rewrites it.  NULL
 * when the files are off or out of memory (logged); never fails a
 * device.  Safe from any thread; one writer per engine.
 */
struct nfs_metrics *nfs_metrics_start(const struct nfs_metrics_params *p);

/* Stop the thread and remove the file; before the engine is closed. */
void nfs_metrics_stop(struct nfs_metrics *m);

/*
 * The running writer of @e, or NULL: the glue keeps only the engine as
 * the device's private data.
 */
struct nfs_metrics *nfs_metrics_of(const struct nfs_engine *e);

/* Where the file is (for tests and the log). */
const char *nfs_metrics_path(const struct nfs_metrics *m);

/* Every metric of @s with the label set @labels ("a=\"b\",..."). */
int nfs_metrics_format(FILE *f, const struct nfs_engine_stats *s,
		       const char *labels);

/* A file name from any string: [A-Za-z0-9._-], the rest as '_'. */
void nfs_metrics_sanitize(char *dst, size_t len, const char *src);

#endif
