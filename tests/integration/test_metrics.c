// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Live metrics (docs/metrics.md): the engine's counters and latency
 * histograms move by what the I/O did; the file writer's output follows
 * the Prometheus text format, follows the I/O and goes away on close;
 * the plugin names it after the uio device.
 * Against the real ganesha started by the CTest fixture.
 * One case: test_metrics CASE.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../check.h"
#include "../host/tcmu_host.h"
#include "libtcmu_common.h"
#include "libtcmu.h"
#include "tnfs_metrics.h"
#include "nfs_test_env.h"

#define K 1024ull
#define M (1024ull * 1024)

static const uint64_t bounds_us[TNFS_LAT_BUCKETS] = TNFS_LAT_BOUNDS_US;

static uint64_t lat_count(const struct tnfs_latency *l)
{
	uint64_t n = 0;
	unsigned int i;

	for (i = 0; i <= TNFS_LAT_BUCKETS; i++)
		n += l->bucket[i];
	return n;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- a strict reader of the text exposition format ---- */

#define MAX_FAMILIES 64

struct family {
	char name[96];
	char type[16];
	bool help, samples;
};

/* histogram series a file may hold: RPCs by procedure, stages by command */
#define MAX_SERIES	16

struct hist_series {
	char key[512];			/* labels without le */
	double last_le, last_count;
	double inf, count;
	bool have_inf, have_count, have_sum;
};

static struct family *family_find(struct family *f, unsigned int n,
				  const char *name)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (!strcmp(f[i].name, name))
			return &f[i];
	return NULL;
}

/* The histogram a sample name belongs to, if its family is one. */
static struct family *hist_family(struct family *f, unsigned int n,
				  const char *name, const char **suffix)
{
	static const char *const sfx[] = { "_bucket", "_sum", "_count" };
	char base[96];
	struct family *fam;
	size_t len = strlen(name), sl;
	unsigned int i;

	for (i = 0; i < 3; i++) {
		sl = strlen(sfx[i]);
		if (len <= sl || len - sl >= sizeof(base) ||
		    strcmp(name + len - sl, sfx[i]))
			continue;
		memcpy(base, name, len - sl);
		base[len - sl] = '\0';
		fam = family_find(f, n, base);
		if (fam && !strcmp(fam->type, "histogram")) {
			*suffix = sfx[i];
			return fam;
		}
	}
	return NULL;
}

/* Remove le="..." from @labels into @le; the rest is the series key. */
static bool take_le(const char *labels, char *key, size_t len, char *le,
		    size_t le_len)
{
	const char *p = strstr(labels, "le=\""), *end;
	size_t n;

	if (!p)
		return false;
	end = strchr(p + 4, '"');
	if (!end || (size_t)(end - p - 4) >= le_len)
		return false;
	memcpy(le, p + 4, (size_t)(end - p - 4));
	le[end - p - 4] = '\0';
	n = (size_t)(p - labels);
	if (n && labels[n - 1] == ',')
		n--;
	if (n >= len)
		return false;
	memcpy(key, labels, n);
	key[n] = '\0';
	/* le may be anywhere: what follows it joins the rest */
	snprintf(key + n, len - n, "%s%s", n && end[1] == ',' ? "," : "",
		 end[1] == ',' ? end + 2 : end + 1);
	return true;
}

/*
 * Check @text against the format: HELP then TYPE before a family's
 * samples, each once; known types; counters named _total; every sample
 * carries @labels; histograms with ascending le, cumulative counts, a
 * +Inf bucket equal to _count, and a _sum.  Returns failures seen.
 */
static int check_format(const char *text, const char *labels)
{
	struct family fam[MAX_FAMILIES];
	struct hist_series hs[MAX_SERIES];
	unsigned int nfam = 0, nhs = 0, i;
	int bad = check_failed;
	char *copy = strdup(text), *line, *save = NULL;

	CHECK(text[0] && text[strlen(text) - 1] == '\n', "no final newline");
	for (line = strtok_r(copy, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char name[96], type[16], lab[512], le[32], key[512];
		const char *suffix = NULL;
		struct family *f;
		char *brace, *close, *end;
		double v;

		if (!strncmp(line, "# HELP ", 7)) {
			CHECK(sscanf(line + 7, "%95s", name) == 1, "HELP: %s",
			      line);
			CHECK(!family_find(fam, nfam, name), "second HELP for "
			      "%s", name);
			CHECK(nfam < MAX_FAMILIES, "too many families");
			if (nfam == MAX_FAMILIES)
				break;
			snprintf(fam[nfam].name, sizeof(fam[nfam].name),
				 "%s", name);
			fam[nfam].type[0] = '\0';
			fam[nfam].help = true;
			fam[nfam].samples = false;
			CHECK(strlen(line) > 8 + strlen(name), "empty HELP "
			      "for %s", name);
			nfam++;
			continue;
		}
		if (!strncmp(line, "# TYPE ", 7)) {
			CHECK(sscanf(line + 7, "%95s %15s", name, type) == 2,
			      "TYPE: %s", line);
			f = family_find(fam, nfam, name);
			CHECK(f && !f->type[0] && !f->samples, "TYPE of %s "
			      "without HELP before it, twice or after "
			      "samples", name);
			CHECK(!strcmp(type, "counter") ||
			      !strcmp(type, "gauge") ||
			      !strcmp(type, "histogram"), "type %s", type);
			if (f)
				snprintf(f->type, sizeof(f->type), "%s", type);
			continue;
		}
		CHECK(line[0] != '#', "stray comment: %s", line);
		brace = strchr(line, '{');
		close = brace ? strchr(brace, '}') : NULL;
		CHECK(brace && close && close[1] == ' ', "sample: %s", line);
		if (!brace || !close)
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)(brace - line),
			 line);
		snprintf(lab, sizeof(lab), "%.*s", (int)(close - brace - 1),
			 brace + 1);
		errno = 0;
		v = strtod(close + 2, &end);
		CHECK(!errno && *end == '\0' && end != close + 2 && v >= 0,
		      "value: %s", line);
		CHECK(!strncmp(lab, labels, strlen(labels)), "labels of %s: "
		      "%s, want %s first", name, lab, labels);
		f = family_find(fam, nfam, name);
		if (!f)
			f = hist_family(fam, nfam, name, &suffix);
		CHECK(f && f->type[0], "sample %s before its TYPE", name);
		if (!f)
			continue;
		f->samples = true;
		if (!strcmp(f->type, "counter"))
			CHECK(strlen(name) > 6 &&
			      !strcmp(name + strlen(name) - 6, "_total"),
			      "counter %s not named _total", name);
		if (strcmp(f->type, "histogram"))
			continue;
		CHECK(suffix != NULL, "histogram sample %s", name);
		if (!suffix)
			continue;
		if (!strcmp(suffix, "_bucket")) {
			CHECK(take_le(lab, key, sizeof(key), le, sizeof(le)),
			      "bucket without le: %s", line);
		} else {
			snprintf(key, sizeof(key), "%s", lab);
			le[0] = '\0';
		}
		for (i = 0; i < nhs && strcmp(hs[i].key, key); i++)
			;
		if (i == nhs) {
			CHECK(nhs < MAX_SERIES && !strcmp(suffix, "_bucket"),
			      "series %s does not start with a bucket", key);
			if (nhs == MAX_SERIES)
				continue;
			memset(&hs[nhs], 0, sizeof(hs[nhs]));
			snprintf(hs[nhs].key, sizeof(hs[nhs].key), "%s", key);
			hs[nhs].last_le = -1;
			nhs++;
		}
		if (!strcmp(suffix, "_bucket")) {
			double b = strcmp(le, "+Inf") ? strtod(le, NULL) :
				   INFINITY;

			CHECK(!hs[i].have_inf, "bucket after +Inf: %s", line);
			CHECK(b > hs[i].last_le, "le not ascending: %s", line);
			CHECK(v >= hs[i].last_count, "buckets not cumulative: "
			      "%s", line);
			hs[i].last_le = b;
			hs[i].last_count = v;
			if (isinf(b)) {
				hs[i].have_inf = true;
				hs[i].inf = v;
			}
		} else if (!strcmp(suffix, "_count")) {
			hs[i].have_count = true;
			hs[i].count = v;
		} else {
			hs[i].have_sum = true;
		}
	}
	for (i = 0; i < nfam; i++)
		CHECK(fam[i].type[0] && fam[i].samples, "family %s without "
		      "TYPE or samples", fam[i].name);
	CHECK(nhs == TNFS_LAT_PROCS + TNFS_CMDS * TNFS_STAGES,
	      "%u histogram series", nhs);
	for (i = 0; i < nhs; i++) {
		CHECK(hs[i].have_inf && hs[i].have_count && hs[i].have_sum,
		      "series %s lacks +Inf, _count or _sum", hs[i].key);
		CHECK(hs[i].inf == hs[i].count, "series %s: +Inf %g != "
		      "_count %g", hs[i].key, hs[i].inf, hs[i].count);
	}
	free(copy);
	return check_failed - bad;
}

/* The value of the sample "@name{...@match...}", or -1. */
static double sample(const char *text, const char *name, const char *match)
{
	size_t len = strlen(name);
	const char *p = text;

	while ((p = strstr(p, name))) {
		const char *close = strchr(p, '}');

		if ((p == text || p[-1] == '\n') && p[len] == '{' && close &&
		    (!match || (strstr(p, match) && strstr(p, match) < close)))
			return strtod(close + 2, NULL);
		p += len;
	}
	return -1;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "re");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

/* Poll the file until @name{@match} reaches @want; its text, or NULL. */
static char *wait_sample(const char *path, const char *name,
			 const char *match, double want)
{
	uint64_t deadline = now_ms() + 15000;
	char *text;

	for (;;) {
		text = slurp(path);
		if (text && sample(text, name, match) >= want)
			return text;
		free(text);
		if (now_ms() > deadline)
			return NULL;
		usleep(20 * 1000);
	}
}

static int dir_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static char *make_dir(const char *name)
{
	char *dir;

	if (asprintf(&dir, "%s/%s-%d", test_dir(), name, getpid()) < 0)
		abort();
	CHECK(mkdir(dir, 0755) == 0 || errno == EEXIST, "mkdir %s", dir);
	return dir;
}

/* ---- the counters ---- */

/* Every command and byte shows; every answered RPC is in a histogram. */
static void case_counters(void)
{
	const char *f = test_file("export", "mcount", 4 * M, 0, 0, 0, 0644);
	struct tnfs_engine_stats s0, s1;
	unsigned char *buf = malloc(64 * K);
	struct iovec iov = { buf, 64 * K };
	uint64_t d[TNFS_LAT_PROCS], sum;
	struct tnfs_engine *e;
	unsigned int p, i;

	e = test_open_dev(f, NULL, 4 * M);
	CHECK(tnfs_engine_max_io(e) >= 64 * K, "max I/O %u",
	      tnfs_engine_max_io(e));
	tnfs_engine_get_stats(e, &s0);
	test_fill(buf, 64 * K, 5);
	for (i = 0; i < 3; i++)
		CHECK(test_io(e, TNFS_IO_WRITE, i * M, &iov, 1) == 0, "write");
	for (i = 0; i < 2; i++)
		CHECK(test_io(e, TNFS_IO_READ, i * M, &iov, 1) == 0, "read");
	CHECK(test_io(e, TNFS_IO_FLUSH, 0, NULL, 0) == 0, "flush");
	/* out of range: a command, not an RPC, no bytes */
	CHECK(test_io(e, TNFS_IO_READ, 4 * M, &iov, 1) != 0, "read past end");
	/*
	 * A command's stages are counted once its done() returned, which
	 * may be just after test_io() saw it done: wait for that.
	 */
	for (i = 0; i < 500; i++) {
		const unsigned int r = TNFS_CMD_READ, c = TNFS_STAGE_COMPLETE;

		tnfs_engine_get_stats(e, &s1);
		if (lat_count(&s1.io.stage[r][c]) -
		    lat_count(&s0.io.stage[r][c]) >= 3)
			break;
		usleep(10000);
	}

	CHECK(s1.io.writes - s0.io.writes == 3, "writes +%lu",
	      (unsigned long)(s1.io.writes - s0.io.writes));
	CHECK(s1.io.reads - s0.io.reads == 3, "reads +%lu",
	      (unsigned long)(s1.io.reads - s0.io.reads));
	CHECK(s1.io.flushes - s0.io.flushes == 1, "flushes +%lu",
	      (unsigned long)(s1.io.flushes - s0.io.flushes));
	CHECK(s1.transport.write_bytes - s0.transport.write_bytes == 3 * 64 * K,
	      "written +%lu",
	      (unsigned long)(s1.transport.write_bytes -
			      s0.transport.write_bytes));
	CHECK(s1.transport.read_bytes - s0.transport.read_bytes == 2 * 64 * K,
	      "read +%lu",
	      (unsigned long)(s1.transport.read_bytes -
			      s0.transport.read_bytes));
	for (p = 0; p < TNFS_LAT_PROCS; p++)
		d[p] = lat_count(&s1.transport.rpc_latency[p]) -
		       lat_count(&s0.transport.rpc_latency[p]);
	CHECK(d[TNFS_LAT_WRITE] == 3, "WRITE latencies +%lu",
	      (unsigned long)d[TNFS_LAT_WRITE]);
	CHECK(d[TNFS_LAT_READ] == 2, "READ latencies +%lu",
	      (unsigned long)d[TNFS_LAT_READ]);
	/* write-through: every WRITE is stable after a COMMIT or FILE_SYNC */
	CHECK(d[TNFS_LAT_COMMIT] == s1.io.commits - s0.io.commits,
	      "COMMIT latencies +%lu, COMMITs +%lu",
	      (unsigned long)d[TNFS_LAT_COMMIT],
	      (unsigned long)(s1.io.commits - s0.io.commits));
	CHECK(s1.transport.rpcs - s0.transport.rpcs == d[0] + d[1] + d[2],
	      "RPCs +%lu, "
	      "latencies +%lu",
	      (unsigned long)(s1.transport.rpcs - s0.transport.rpcs),
	      (unsigned long)(d[0] + d[1] + d[2]));
	for (p = 0; p < TNFS_LAT_PROCS; p++) {
		sum = s1.transport.rpc_latency[p].sum_us -
		      s0.transport.rpc_latency[p].sum_us;
		CHECK(!d[p] || sum > 0, "proc %u: %lu calls in 0 us", p,
		      (unsigned long)d[p]);
		/* no local reply takes 10 s: nothing in +Inf */
		CHECK(s1.transport.rpc_latency[p].bucket[TNFS_LAT_BUCKETS] == 0,
		      "proc %u: a reply slower than 10 s", p);
	}
	/* every command's time, stage by stage */
	{
		static const unsigned int want[TNFS_CMDS] = {
			[TNFS_CMD_READ] = 3, [TNFS_CMD_WRITE] = 3,
			[TNFS_CMD_FLUSH] = 1,
		};
		unsigned int k;

		for (k = 0; k < TNFS_CMDS; k++) {
			for (p = 0; p < TNFS_STAGES; p++)
				CHECK(lat_count(&s1.io.stage[k][p]) -
				      lat_count(&s0.io.stage[k][p]) ==
				      want[k], "cmd %u stage %u: +%lu", k, p,
				      (unsigned long)(lat_count(
					      &s1.io.stage[k][p]) -
				      lat_count(&s0.io.stage[k][p])));
			CHECK(s1.io.stage[k][TNFS_STAGE_SERVER].sum_us >
			      s0.io.stage[k][TNFS_STAGE_SERVER].sum_us,
			      "cmd %u: no time at the server", k);
		}
	}
	CHECK(s1.transport.rpcs_in_flight == 0 && s1.queued == 0 &&
	      s1.io.cache_bytes == 0, "at rest: %" PRIu64 " in flight, %"
	      PRIu64 " queued, %lu held", s1.transport.rpcs_in_flight,
	      s1.queued,
	      (unsigned long)s1.io.cache_bytes);
	CHECK(s1.transport.transport_errors == 0 &&
		      s1.transport.rpc_timeouts == 0 &&
		      s1.transport.connect_attempts >= 1,
	      "transport: %lu errors, %lu "
	      "timeouts, %lu attempts",
	      (unsigned long)s1.transport.transport_errors,
	      (unsigned long)s1.transport.rpc_timeouts,
	      (unsigned long)s1.transport.connect_attempts);
	/* the engine thread asleep, nothing queued: started at once */
	for (i = 0; i < 200 && s1.io.direct == s0.io.direct; i++) {
		CHECK(test_io(e, TNFS_IO_READ, 0, &iov, 1) == 0, "read");
		tnfs_engine_get_stats(e, &s1);
	}
	CHECK(s1.io.direct > s0.io.direct, "no command started directly in "
	      "%u tries", i);
	tnfs_engine_close(e);
	free(buf);
}

/* Replies delayed 300 ms by the proxy land in the buckets above it. */
static void case_latency(void)
{
	const char *f = test_file("export", "mlat", 2 * M, 0, 0, 0, 0644);
	unsigned char *buf = malloc(64 * K);
	struct iovec iov = { buf, 64 * K };
	struct tnfs_engine_stats s0, s1;
	char ctl[512], err[512], *cfg;
	struct tnfs_engine *e;
	unsigned int p, i;
	uint64_t n, sum;
	int port;

	port = test_proxy_start(ctl, sizeof(ctl));
	if (asprintf(&cfg, "127.0.0.1/export/%s?mountport=20048&nfsport=%d",
		     f, port) < 0)
		abort();
	CHECK(test_engine_open(cfg, 2 * M, 512, &e, err, sizeof(err)) == 0,
	      "open: %s", err);
	free(cfg);
	/* connected before the delay, so no GETATTR of its own waits */
	CHECK(test_io(e, TNFS_IO_READ, 0, &iov, 1) == 0, "first read");
	tnfs_engine_get_stats(e, &s0);
	test_proxy(ctl, "delay 300");
	for (i = 0; i < 2; i++)
		CHECK(test_io(e, TNFS_IO_READ, i * 64 * K, &iov, 1) == 0,
		      "read");
	test_fill(buf, 64 * K, 9);
	CHECK(test_io(e, TNFS_IO_WRITE, 0, &iov, 1) == 0, "write");
	tnfs_engine_get_stats(e, &s1);
	test_proxy(ctl, "delay 0");

	for (p = 0; p < TNFS_LAT_PROCS; p++) {
		n = lat_count(&s1.transport.rpc_latency[p]) -
		    lat_count(&s0.transport.rpc_latency[p]);
		sum = s1.transport.rpc_latency[p].sum_us -
		      s0.transport.rpc_latency[p].sum_us;
		if (p == TNFS_LAT_READ)
			CHECK(n == 2, "READ latencies +%lu",
			      (unsigned long)n);
		if (p == TNFS_LAT_WRITE)
			CHECK(n == 1, "WRITE latencies +%lu",
			      (unsigned long)n);
		CHECK(sum >= n * 300000, "proc %u: %lu calls in %lu us", p,
		      (unsigned long)n, (unsigned long)sum);
		for (i = 0; i < TNFS_LAT_BUCKETS && bounds_us[i] < 300000;
		     i++)
			CHECK(s1.transport.rpc_latency[p].bucket[i] ==
				      s0.transport.rpc_latency[p].bucket[i],
			      "proc %u: a "
			      "delayed reply counted at or below %lu us",
			      p, (unsigned long)bounds_us[i]);
	}
	tnfs_engine_close(e);
	test_proxy_stop(ctl);
	free(buf);
}

/* ---- the file ---- */

static char mlog_buf[4096];

static void mlog(void *arg, enum tnfs_log_level level, const char *msg)
{
	size_t n = strlen(mlog_buf);

	(void)arg;
	snprintf(mlog_buf + n, sizeof(mlog_buf) - n, "%d: %s\n", level, msg);
}

/* tcmu-nfs-stat shows each stage of the writes, with a mean. */
static void stat_view(const char *dir)
{
	char cmd[1024], line[1024];
	bool queue = false, server = false, complete = false;
	bool callback = false;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "'%s' -d '%s' 2>&1", STAT_SCRIPT, dir);
	p = popen(cmd, "r");
	CHECK(p != NULL, "cannot run %s", cmd);
	if (!p)
		return;
	while (fgets(line, sizeof(line), p)) {
		if (!strstr(line, "mean"))
			continue;
		queue |= !strncmp(line, "write queue ", 12);
		server |= !strncmp(line, "write server ", 13);
		complete |= !strncmp(line, "write complete ", 15);
		callback |= !strncmp(line, "write callback ", 15);
	}
	CHECK(pclose(p) == 0, "%s failed", cmd);
	CHECK(queue && server && complete && callback, "tcmu-nfs-stat shows "
	      "no write stages (queue %d, server %d, complete %d, callback "
	      "%d)", queue, server, complete, callback);
}

static void case_file(void)
{
	const char *f = test_file("export", "mfile", 2 * M, 0, 0, 0, 0644);
	static const char *const labels[] = {
		"device", "dev0", "path", "/a\"b\\c",
	};
	struct tnfs_metrics_params mp = {
		.name = "dev0", .labels = labels, .nlabels = 2,
		.interval_ms = 100, .log = mlog,
	};
	unsigned char buf[4096];
	struct iovec iov = { buf, sizeof(buf) };
	int threads = test_threads_wait(1);
	char *dir = make_dir("metrics"), *path, *text;
	struct tnfs_metrics *m;
	struct tnfs_engine *e;
	double w0;
	int i;

	if (asprintf(&path, "%s/dev0.prom", dir) < 0)
		abort();
	e = test_open_dev(f, NULL, 2 * M);
	mp.engine = e;
	mp.dir = dir;
	m = tnfs_metrics_start(&mp);
	CHECK(m && !strcmp(tnfs_metrics_path(m), path), "writer at %s",
	      m ? tnfs_metrics_path(m) : "(none)");
	CHECK(test_threads_wait(threads + 2) == threads + 2, "threads %d -> %d",
	      threads, test_count_threads());
	/* written at start, not a period later */
	text = slurp(path);
	CHECK(text != NULL, "no %s after start", path);
	if (text) {
		check_format(text, "device=\"dev0\",path=\"/a\\\"b\\\\c\"");
		CHECK(sample(text, "tcmu_nfs_writes_total", NULL) == 0,
		      "writes before any I/O");
	}
	free(text);
	test_fill(buf, sizeof(buf), 3);
	for (i = 0; i < 5; i++)
		CHECK(test_io(e, TNFS_IO_WRITE, (uint64_t)i * 8192, &iov, 1) ==
		      0, "write");
	text = wait_sample(path, "tcmu_nfs_writes_total", NULL, 5);
	CHECK(text != NULL, "the file never showed 5 writes");
	if (text) {
		w0 = sample(text, "tcmu_nfs_written_bytes_total", NULL);
		CHECK(w0 == 5 * 4096, "written bytes %g", w0);
		CHECK(sample(text, "tcmu_nfs_rpc_latency_seconds_count",
			     "op=\"write\"") == 5, "write latency count %g",
		      sample(text, "tcmu_nfs_rpc_latency_seconds_count",
			     "op=\"write\""));
		CHECK(sample(text, "tcmu_nfs_rpc_latency_seconds_bucket",
			     "op=\"write\",le=\"+Inf\"") == 5, "+Inf bucket");
		CHECK(sample(text, "tcmu_nfs_rpc_latency_seconds_sum",
			     "op=\"write\"") > 0, "write latency sum");
		CHECK(sample(text, "tcmu_nfs_rpcs_in_flight", NULL) == 0,
		      "in flight at rest");
		check_format(text, "device=\"dev0\",path=\"/a\\\"b\\\\c\"");
	}
	free(text);
	/* where the writes' time went, in the file and in tcmu-nfs-stat */
	text = wait_sample(path, "tcmu_nfs_command_stage_seconds_count",
			   "cmd=\"write\",stage=\"complete\"", 5);
	CHECK(text != NULL, "the file never showed 5 writes' stages");
	if (text)
		CHECK(sample(text, "tcmu_nfs_command_stage_seconds_sum",
			     "cmd=\"write\",stage=\"server\"") > 0,
		      "no time at the server");
	free(text);
	stat_view(dir);
	tnfs_metrics_stop(m);
	CHECK(access(path, F_OK) && errno == ENOENT, "%s left after stop",
	      path);
	CHECK(dir_entries(dir) == 0, "%d files left in %s", dir_entries(dir),
	      dir);
	CHECK(test_threads_wait(threads + 1) == threads + 1,
	      "writer thread left");
	CHECK(mlog_buf[0] && !strstr(mlog_buf, "cannot"), "log: %s",
	      mlog_buf);

	/* an empty directory setting turns the files off */
	mp.dir = "";
	CHECK(tnfs_metrics_start(&mp) == NULL, "writer with dir \"\"");
	/* a directory that cannot be made: a warning, the disk serves on */
	mlog_buf[0] = '\0';
	if (asprintf(&text, "%s/dev0.prom/sub", dir) < 0)
		abort();
	close(creat(path, 0644));
	mp.dir = text;
	m = tnfs_metrics_start(&mp);
	CHECK(m != NULL, "no writer for a bad directory");
	CHECK_CONTAINS(mlog_buf, "cannot create metrics directory");
	CHECK_CONTAINS(mlog_buf, "cannot write metrics file");
	tnfs_metrics_stop(m);
	free(text);
	unlink(path);
	rmdir(dir);
	tnfs_engine_close(e);
	free(path);
	free(dir);
}

/* ---- through the plugin ---- */

static int cmd_run(struct tcmur_handler *h, struct tcmu_device *dev,
		   uint8_t opcode, void *buf, size_t len, off_t off)
{
	struct iovec iov = { buf, len };
	struct host_cmd w;

	host_cmd_init(&w, opcode, 0);
	return host_cmd_wait(&w, opcode == 0x88 ?
			     h->read(dev, &w.cmd, &iov, 1, len, off) :
			     h->write(dev, &w.cmd, &iov, 1, len, off));
}

/* <dir>/<uio>.prom from open to close, labelled with the device. */
static void case_plugin(void)
{
	const char *so = getenv("HANDLER_NFS_SO");
	const char *f = test_file("export", "mplug", 2 * M, 0, 0, 0, 0644);
	struct tcmu_device dev = { .num_lbas = 4096, .block_size = 512,
				   .uio_name = "uio7" };
	char *dir = make_dir("pmetrics"), *path, *text, want[512];
	unsigned char buf[8192];
	struct tcmur_handler *h;
	char *cfg;

	CHECK(so != NULL, "HANDLER_NFS_SO is not set");
	h = so ? host_load_plugin(so) : NULL;
	CHECK(h != NULL, "no handler from %s", so ? so : "(none)");
	if (!h)
		return;
	setenv("TCMU_NFS_METRICS_DIR", dir, 1);
	setenv("TCMU_NFS_METRICS_INTERVAL", "1", 1);
	if (asprintf(&path, "%s/uio7.prom", dir) < 0)
		abort();
	cfg = test_cfg("export", f, NULL);
	snprintf(dev.cfgstring, sizeof(dev.cfgstring), "nfs/%s", cfg);
	free(cfg);
	CHECK(h->open(&dev, false) == 0, "open: %s", host_log());
	text = slurp(path);
	CHECK(text != NULL, "no %s after open", path);
	/* no /sys/class/uio/uio7 here: the backstore is unknown */
	snprintf(want, sizeof(want), "device=\"uio7\",backstore=\"\","
		 "server=\"127.0.0.1\",path=\"/export/%s\"", f);
	if (text)
		check_format(text, want);
	free(text);
	memset(buf, 0x5a, sizeof(buf));
	CHECK(cmd_run(h, &dev, 0x8a, buf, sizeof(buf), 4096) == TCMU_STS_OK,
	      "write");
	CHECK(cmd_run(h, &dev, 0x88, buf, sizeof(buf), 0) == TCMU_STS_OK,
	      "read");
	text = wait_sample(path, "tcmu_nfs_reads_total", want, 1);
	CHECK(text != NULL, "the file never showed the read");
	if (text) {
		CHECK(sample(text, "tcmu_nfs_writes_total", want) == 1,
		      "writes");
		CHECK(sample(text, "tcmu_nfs_read_bytes_total", want) ==
		      sizeof(buf), "read bytes");
	}
	free(text);
	h->close(&dev);
	CHECK(access(path, F_OK) && errno == ENOENT, "%s left after close",
	      path);
	CHECK(dir_entries(dir) == 0, "files left in %s", dir);
	rmdir(dir);
	unsetenv("TCMU_NFS_METRICS_DIR");
	unsetenv("TCMU_NFS_METRICS_INTERVAL");
	free(path);
	free(dir);
}

static const struct test_case cases[] = {
	{ "counters", case_counters },
	{ "latency", case_latency },
	{ "file", case_file },
	{ "plugin", case_plugin },
};

/* "names": each metric family, for the check that docs/metrics.md has it */
static int print_names(void)
{
	struct tnfs_engine_stats s = { 0 };
	struct tnfs_metrics_lease l = { .renewal_age_ms = -1 };
	char *text = NULL, *line, *save = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	/* and those of an ha= device's lease (docs/ha.md) */
	if (!f || tnfs_metrics_format(f, &s, "") ||
	    tnfs_metrics_format_lease(f, &l, "") || fclose(f))
		return 1;
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		if (!strncmp(line, "# TYPE tcmu_nfs_", 16))
			printf("%.*s\n", (int)strcspn(line + 16, " "),
			       line + 16);
	free(text);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "names"))
		return print_names();
	return test_run(cases, sizeof(cases) / sizeof(cases[0]), argc, argv,
			check_report, "test_metrics");
}
