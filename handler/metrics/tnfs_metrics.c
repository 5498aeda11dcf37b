// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The metrics file writer (tnfs_metrics.h).  One small thread per device:
 * snapshot, format into a temporary file beside the real one, rename.
 * The rename is what makes it atomic for a reader such as node_exporter's
 * textfile collector, which reads only "*.prom": the temporary file is
 * ".<name>.prom.tmp" so that it is never read half written.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tnfs_metrics.h"

struct tnfs_metrics {
	struct tnfs_engine *engine;
	void (*lease)(void *arg, struct tnfs_metrics_lease *out);
	void *lease_arg;
	char *path, *tmp, *labels;
	unsigned int interval_ms;
	struct tnfs_logger log;
	bool failing;			/* the last write failed (logged) */

	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop;
	pthread_t thread;
};

/* ---- the format ---- */

struct metric {
	const char *name, *type, *help;
	size_t off;			/* of a uint64_t in the snapshot */
};

#define U64(n, t, field, h) \
	{ n, t, h, offsetof(struct tnfs_engine_stats, field) }

static const struct metric metrics[] = {
	U64("reads_total", "counter", io.reads,
	    "READ commands completed."),
	U64("writes_total", "counter", io.writes,
	    "WRITE commands completed."),
	U64("flushes_total", "counter", io.flushes,
	    "SYNCHRONIZE CACHE commands completed."),
	U64("unmaps_total", "counter", io.unmaps,
	    "UNMAP ranges completed (NFSv4.2 DEALLOCATE)."),
	U64("read_bytes_total", "counter", transport.read_bytes,
	    "Bytes in successful NFS READ replies."),
	U64("written_bytes_total", "counter", transport.write_bytes,
	    "Bytes successful NFS WRITE replies took (re-sends included)."),
	U64("rpcs_total", "counter", transport.rpcs,
	    "NFS READ, WRITE and COMMIT calls made."),
	U64("commits_total", "counter", io.commits,
	    "NFS COMMITs answered."),
	U64("verifier_resends_total", "counter", io.resends,
	    "Write pieces sent again because the write verifier changed "
	    "(server restart)."),
	U64("cache_waits_total", "counter", io.parked,
	    "Commands that waited for the write-back cache."),
	U64("transport_errors_total", "counter", transport.transport_errors,
	    "Working connections to the server lost."),
	U64("connect_attempts_total", "counter", transport.connect_attempts,
	    "TCP connections tried."),
	U64("reconnects_total", "counter", transport.reconnects,
	    "Connections restored after a loss."),
	U64("rpcs_resent_total", "counter", transport.rpcs_resent,
	    "Calls sent again on a new connection."),
	U64("replies_discarded_total", "counter", transport.replies_discarded,
	    "Replies not trusted (no such call, garbled)."),
	U64("connection_timeouts_total", "counter", transport.conn_timeouts,
	    "Connections dropped because the server sent nothing back with "
	    "calls waiting."),
	U64("rpc_timeouts_total", "counter", transport.rpc_timeouts,
	    "Calls failed because their command's deadline passed."),
	U64("probes_total", "counter", transport.probes,
	    "NULL calls sent to a server quiet with calls waiting."),
	U64("late_replies_total", "counter", transport.replies_late,
	    "Replies to calls given up at their deadline, thrown away."),
	U64("garbled_calls_total", "counter", transport.garbled_calls,
	    "Calls failed because two replies to them did not decode."),
	U64("stable_writes_total", "counter", io.stable_rpcs,
	    "NFS WRITEs sent DATA_SYNC or FILE_SYNC (stable= policy)."),
	U64("stable_policy_switches_total", "counter", io.policy_switches,
	    "Times stable=auto changed between stable WRITEs and COMMIT."),
	U64("direct_starts_total", "counter", io.direct,
	    "Commands started on the caller's thread, the engine's idle."),
	U64("rpcs_in_flight", "gauge", transport.rpcs_in_flight,
	     "Calls sent or waiting for a connection."),
	U64("rpcs_in_flight_peak", "gauge", transport.peak_rpcs_in_flight,
	     "Most calls in flight at once since open."),
	U64("writeback_bytes", "gauge", io.cache_bytes,
	    "Write-back data acknowledged but not yet stable on the server."),
	U64("writeback_lost_bytes", "gauge", io.lost_bytes,
	    "Write-back data acknowledged, refused by the server for good and "
	    "not written over since: every SYNCHRONIZE CACHE fails."),
	U64("writeback_lost_bytes_total", "counter", io.lost_bytes_total,
	    "Write-back data acknowledged and then refused by the server."),
	U64("queued_commands", "gauge", queued,
	     "Commands accepted and not yet completed."),
};

static const char *const lat_ops[TNFS_LAT_PROCS] = {
	[TNFS_LAT_READ] = "read",
	[TNFS_LAT_WRITE] = "write",
	[TNFS_LAT_COMMIT] = "commit",
};

/*
 * One histogram series, @what its own labels ("op=\"read\""):
 * cumulative, and _count is the +Inf bucket by construction, even if a
 * sample lands while the snapshot is taken.
 */
static void print_hist(FILE *f, const char *family, const char *labels,
		       const char *what, const struct tnfs_latency *l,
		       const uint64_t *bounds)
{
	const char *sep = labels[0] ? "," : "";
	unsigned int i;
	uint64_t v = 0;

	for (i = 0; i <= TNFS_LAT_BUCKETS; i++) {
		v += l->bucket[i];
		if (i < TNFS_LAT_BUCKETS)
			fprintf(f, "tcmu_nfs_%s_bucket{%s%s%s,le=\"%g\"} %"
				PRIu64 "\n", family, labels, sep, what,
				(double)bounds[i] / 1e6, v);
		else
			fprintf(f, "tcmu_nfs_%s_bucket{%s%s%s,le=\"+Inf\"} %"
				PRIu64 "\n", family, labels, sep, what, v);
	}
	fprintf(f, "tcmu_nfs_%s_sum{%s%s%s} %" PRIu64 ".%06" PRIu64 "\n",
		family, labels, sep, what, l->sum_us / 1000000,
		l->sum_us % 1000000);
	fprintf(f, "tcmu_nfs_%s_count{%s%s%s} %" PRIu64 "\n", family, labels,
		sep, what, v);
}

int tnfs_metrics_format(FILE *f, const struct tnfs_engine_stats *s,
			const char *labels)
{
	static const uint64_t rpc_bounds[TNFS_LAT_BUCKETS] =
		TNFS_LAT_BOUNDS_US;
	static const uint64_t stage_bounds[TNFS_LAT_BUCKETS] =
		TNFS_STAGE_BOUNDS_US;
	static const char *const cmds[TNFS_CMDS] = {
		[TNFS_CMD_READ] = "read",
		[TNFS_CMD_WRITE] = "write",
		[TNFS_CMD_FLUSH] = "flush",
	};
	static const char *const stages[TNFS_STAGES] = {
		[TNFS_STAGE_QUEUE] = "queue",
		[TNFS_STAGE_SERVER] = "server",
		[TNFS_STAGE_COMPLETE] = "complete",
		[TNFS_STAGE_CALLBACK] = "callback",
	};
	unsigned int i, p, k;
	char what[64];
	uint64_t v;

	for (i = 0; i < sizeof(metrics) / sizeof(metrics[0]); i++) {
		const char *base = (const char *)s + metrics[i].off;

		v = *(const uint64_t *)(const void *)base;
		fprintf(f, "# HELP tcmu_nfs_%s %s\n# TYPE tcmu_nfs_%s %s\n"
			"tcmu_nfs_%s{%s} %" PRIu64 "\n", metrics[i].name,
			metrics[i].help, metrics[i].name, metrics[i].type,
			metrics[i].name, labels, v);
	}
	fprintf(f, "# HELP tcmu_nfs_rpc_latency_seconds NFS call latency, "
		"from its (last) send to its reply.\n"
		"# TYPE tcmu_nfs_rpc_latency_seconds histogram\n");
	for (p = 0; p < TNFS_LAT_PROCS; p++) {
		snprintf(what, sizeof(what), "op=\"%s\"", lat_ops[p]);
		print_hist(f, "rpc_latency_seconds", labels, what,
			   &s->transport.rpc_latency[p], rpc_bounds);
	}
	fprintf(f, "# HELP tcmu_nfs_command_stage_seconds Where a command's "
		"time goes: queue (submit to the engine taking it up), server "
		"(to its last reply), complete (to its completion "
		"returning).\n"
		"# TYPE tcmu_nfs_command_stage_seconds histogram\n");
	for (k = 0; k < TNFS_CMDS; k++) {
		for (p = 0; p < TNFS_STAGES; p++) {
			snprintf(what, sizeof(what), "cmd=\"%s\",stage=\"%s\"",
				 cmds[k], stages[p]);
			print_hist(f, "command_stage_seconds", labels, what,
				   &s->io.stage[k][p], stage_bounds);
		}
	}
	return ferror(f) ? -EIO : 0;
}

const char *const tnfs_metrics_lease_state_names[TNFS_LEASE_STATES] = {
	[TNFS_LEASE_JOINING] = "joining",
	[TNFS_LEASE_STANDBY] = "standby",
	[TNFS_LEASE_ACQUIRING] = "acquiring",
	[TNFS_LEASE_OWNER] = "owner",
	[TNFS_LEASE_FENCED] = "fenced",
};

int tnfs_metrics_format_lease(FILE *f, const struct tnfs_metrics_lease *l,
			      const char *labels)
{
	static const struct {
		const char *name, *help;
		size_t off;
	} counts[] = {
		{ "lease_acquired_total", "Times this gateway acquired the "
		  "LUN's lease.", offsetof(struct tnfs_metrics_lease,
					  acquired) },
		{ "lease_released_total", "Times it released it (planned "
		  "move, or asked by the taker).",
		  offsetof(struct tnfs_metrics_lease, released) },
		{ "lease_lost_total", "Times it lost it (renewal failed): "
		  "fenced.", offsetof(struct tnfs_metrics_lease, lost) },
		{ "lease_refused_total", "Acquisitions refused or delayed "
		  "(held by a live owner, or one whose lease must expire).",
		  offsetof(struct tnfs_metrics_lease, refused) },
	};
	const char *sep = *labels ? "," : "";
	unsigned int i;

	fprintf(f, "# HELP tcmu_nfs_lease_state The LUN's lease on this "
		"gateway: 1 for the current state.\n"
		"# TYPE tcmu_nfs_lease_state gauge\n");
	for (i = 0; i < TNFS_LEASE_STATES; i++)
		fprintf(f, "tcmu_nfs_lease_state{%s%sstate=\"%s\"} %d\n",
			labels, sep, tnfs_metrics_lease_state_names[i],
			(unsigned int)l->state == i);
	fprintf(f, "# HELP tcmu_nfs_lease_owner Whether this gateway owns "
		"the lease (writes).\n# TYPE tcmu_nfs_lease_owner gauge\n"
		"tcmu_nfs_lease_owner{%s} %d\n", labels,
		l->state == TNFS_LEASE_OWNER);
	fprintf(f, "# HELP tcmu_nfs_lease_owner_host The sanlock host_id of "
		"the owner last seen (0: none).\n"
		"# TYPE tcmu_nfs_lease_owner_host gauge\n"
		"tcmu_nfs_lease_owner_host{%s} %" PRIu64 "\n", labels,
		l->owner);
	fprintf(f, "# HELP tcmu_nfs_lease_host This gateway's sanlock "
		"host_id.\n# TYPE tcmu_nfs_lease_host gauge\n"
		"tcmu_nfs_lease_host{%s} %" PRIu64 "\n", labels, l->host);
	fprintf(f, "# HELP tcmu_nfs_lease_renewal_age_seconds Since this "
		"gateway's delta lease was last renewed (-1: not joined).\n"
		"# TYPE tcmu_nfs_lease_renewal_age_seconds gauge\n"
		"tcmu_nfs_lease_renewal_age_seconds{%s} %.3f\n", labels,
		l->renewal_age_ms < 0 ? -1.0 : l->renewal_age_ms / 1000.0);
	for (i = 0; i < sizeof(counts) / sizeof(counts[0]); i++)
		fprintf(f, "# HELP tcmu_nfs_%s %s\n# TYPE tcmu_nfs_%s counter\n"
			"tcmu_nfs_%s{%s} %" PRIu64 "\n", counts[i].name,
			counts[i].help, counts[i].name, counts[i].name, labels,
			*(const uint64_t *)(const void *)
			((const char *)l + counts[i].off));
	return ferror(f) ? -EIO : 0;
}

void tnfs_metrics_sanitize(char *dst, size_t len, const char *src)
{
	size_t i;

	if (!len)
		return;
	for (i = 0; src[i] && i + 1 < len; i++) {
		char c = src[i];

		dst[i] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			 (c >= '0' && c <= '9') || c == '.' || c == '-' ?
			 c : '_';
	}
	dst[i] = '\0';
	/* a leading dot would hide it, and ".prom.tmp" is ours */
	if (dst[0] == '.')
		dst[0] = '_';
}

/* name="value" pairs, the value escaped as the format wants. */
static char *format_labels(const char *const *labels, unsigned int n)
{
	char *buf = NULL;
	size_t len = 0;
	unsigned int i;
	const char *v;
	FILE *f;

	f = open_memstream(&buf, &len);
	if (!f)
		return NULL;
	for (i = 0; i < n; i++) {
		fprintf(f, "%s%s=\"", i ? "," : "", labels[2 * i]);
		for (v = labels[2 * i + 1]; *v; v++) {
			if (*v == '\\' || *v == '"')
				fprintf(f, "\\%c", *v);
			else if (*v == '\n')
				fputs("\\n", f);
			else
				fputc(*v, f);
		}
		fputc('"', f);
	}
	if (fclose(f)) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* ---- the file ---- */

static int write_file(struct tnfs_metrics *m)
{
	struct tnfs_engine_stats s;
	FILE *f;
	int ret;

	tnfs_engine_get_stats(m->engine, &s);
	f = fopen(m->tmp, "we");
	if (!f)
		return -errno;
	ret = tnfs_metrics_format(f, &s, m->labels);
	if (!ret && m->lease) {
		struct tnfs_metrics_lease l;

		m->lease(m->lease_arg, &l);
		ret = tnfs_metrics_format_lease(f, &l, m->labels);
	}
	if (fclose(f) && !ret)
		ret = -errno;
	if (!ret && rename(m->tmp, m->path))
		ret = -errno;
	if (ret)
		unlink(m->tmp);
	return ret;
}

static void write_logged(struct tnfs_metrics *m)
{
	int ret = write_file(m);

	/* once per run of failures: a full disk must not flood the log */
	if (ret && !m->failing)
		tnfs_log(&m->log, TNFS_LOG_WARN, "cannot write metrics file "
			 "%s: %s; retrying every %u ms", m->path,
			 strerror(-ret), m->interval_ms);
	else if (!ret && m->failing)
		tnfs_log(&m->log, TNFS_LOG_INFO, "metrics file %s written "
			 "again", m->path);
	m->failing = ret != 0;
}

static void *metrics_thread(void *arg)
{
	struct tnfs_metrics *m = arg;
	struct timespec at;

	clock_gettime(CLOCK_MONOTONIC, &at);
	pthread_mutex_lock(&m->lock);
	while (!m->stop) {
		at.tv_sec += m->interval_ms / 1000;
		at.tv_nsec += (long)(m->interval_ms % 1000) * 1000000;
		if (at.tv_nsec >= 1000000000) {
			at.tv_sec++;
			at.tv_nsec -= 1000000000;
		}
		while (!m->stop &&
		       pthread_cond_timedwait(&m->cond, &m->lock, &at) !=
		       ETIMEDOUT)
			;
		if (m->stop)
			break;
		pthread_mutex_unlock(&m->lock);
		write_logged(m);
		pthread_mutex_lock(&m->lock);
	}
	pthread_mutex_unlock(&m->lock);
	return NULL;
}

/* mkdir -p, for a directory under /run that is gone after a reboot */
static int make_dir(const char *dir)
{
	char *p = strdup(dir), *s, c;
	int ret = 0;

	if (!p)
		return -ENOMEM;
	for (s = p + (*p == '/'); ; s++) {
		if (*s && *s != '/')
			continue;
		c = *s;
		*s = '\0';
		if (*p && mkdir(p, 0755) && errno != EEXIST) {
			ret = -errno;
			break;
		}
		*s = c;
		if (!c)
			break;
	}
	free(p);
	return ret;
}

static unsigned int env_interval_ms(void)
{
	const char *v = getenv("TCMU_NFS_METRICS_INTERVAL");
	char *end;
	unsigned long s;

	if (!v || !*v)
		return TNFS_METRICS_INTERVAL_MS;
	errno = 0;
	s = strtoul(v, &end, 10);
	if (errno || *end || s < 1 || s > 3600)
		return TNFS_METRICS_INTERVAL_MS;
	return (unsigned int)s * 1000;
}

static void metrics_free(struct tnfs_metrics *m)
{
	pthread_cond_destroy(&m->cond);
	pthread_mutex_destroy(&m->lock);
	free(m->path);
	free(m->tmp);
	free(m->labels);
	free(m);
}

struct tnfs_metrics *tnfs_metrics_start(const struct tnfs_metrics_params *p)
{
	const char *dir = p->dir ? p->dir : getenv("TCMU_NFS_METRICS_DIR");
	struct tnfs_metrics *m;
	pthread_condattr_t ca;
	int ret;

	if (!dir)
		dir = TNFS_METRICS_DIR;
	if (!*dir)
		return NULL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->engine = p->engine;
	m->lease = p->lease;
	m->lease_arg = p->lease_arg;
	m->log.fn = p->log;
	m->log.arg = p->log_arg;
	m->interval_ms = p->interval_ms ? p->interval_ms : env_interval_ms();
	pthread_mutex_init(&m->lock, NULL);
	/* a clock step must not stall or hurry the writer */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&m->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (asprintf(&m->path, "%s/%s.prom", dir, p->name) < 0)
		m->path = NULL;
	if (asprintf(&m->tmp, "%s/.%s.prom.tmp", dir, p->name) < 0)
		m->tmp = NULL;
	m->labels = format_labels(p->labels, p->nlabels);
	if (!m->path || !m->tmp || !m->labels) {
		tnfs_log(&m->log, TNFS_LOG_WARN,
			 "out of memory: no metrics file");
		goto fail;
	}
	ret = make_dir(dir);
	if (ret)
		tnfs_log(&m->log, TNFS_LOG_WARN, "cannot create metrics "
			 "directory %s: %s", dir, strerror(-ret));
	/* at once: a device is visible from its open, not a period later */
	write_logged(m);
	ret = pthread_create(&m->thread, NULL, metrics_thread, m);
	if (ret) {
		tnfs_log(&m->log, TNFS_LOG_WARN, "cannot start the metrics "
			 "thread: %s", strerror(ret));
		unlink(m->path);
		goto fail;
	}
	tnfs_log(&m->log, TNFS_LOG_INFO, "metrics in %s every %u ms", m->path,
		 m->interval_ms);
	return m;
fail:
	metrics_free(m);
	return NULL;
}

void tnfs_metrics_stop(struct tnfs_metrics *m)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->lock);
	m->stop = true;
	pthread_cond_signal(&m->cond);
	pthread_mutex_unlock(&m->lock);
	pthread_join(m->thread, NULL);
	/* a stale file would show a closed device as idle */
	if (unlink(m->path) && errno != ENOENT && errno != ENOTDIR)
		tnfs_log(&m->log, TNFS_LOG_WARN, "cannot remove metrics file "
			 "%s: %s", m->path, strerror(errno));
	metrics_free(m);
}

const char *tnfs_metrics_path(const struct tnfs_metrics *m)
{
	return m->path;
}
