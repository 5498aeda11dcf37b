// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * ackwriter - writes blocks to a disk and keeps a record of every write
 * that completed, so that a crash test can check afterwards that every
 * acknowledged write is on the disk (tests/e2e/gateway-crash.sh).
 *
 *   ackwriter write --dev DEV --log LOG [--mode wt|wb] [--threads 32]
 *                   [--blocks N] [--bs 4096] [--sync-ms 200] [--writes N]
 *                   [--seed S] [--status FILE] [--no-direct]
 *   ackwriter verify --dev DEV --log LOG [--offset BYTES] [--no-direct]
 *   ackwriter lba --log LOG THREAD GEN
 *
 * write: THREADS threads (one write each in flight: queue depth THREADS)
 * pwrite BS-byte blocks, with O_DIRECT, until SIGTERM/SIGINT (or --writes
 * writes).  Thread t owns the blocks b with b % THREADS == t, so one block
 * never has two writes in flight and its generations only grow.  Write g
 * of thread t goes to the block lba_of(seed, t, g): the verifier knows
 * where a write that never completed was aimed.  Each block holds a
 * header (magic, lba, generation, thread, seed), a pseudo-random fill and
 * an FNV-1a checksum of the rest.  After each completed write the thread
 * appends "A seq thread gen lba latency_ms done_ms" to LOG with one
 * write(2) (O_APPEND), and "F seq thread gen lba errno done_ms" after a
 * failed one (done_ms: since the writer started).  LOG is written
 * while the writer runs, so it survives whatever happens to the target.
 * In --mode wb a sync thread calls fsync(DEV) (SYNCHRONIZE CACHE on a
 * write-back disk) every --sync-ms and logs "S seq K" once it succeeded:
 * every write whose record has seq < K had completed before the flush
 * was issued.  At the end the writer issues a last fsync in wb mode and
 * logs "E ...", a summary.  --status FILE: the number of acknowledged
 * writes, twice on one line ("%020u %020u", rewritten in place after each
 * one), for a shell to poll with its read builtin (a torn read shows as
 * two different numbers).
 *
 * verify: reads every block of DEV (or of the backing file) and checks it
 * against LOG.  The required generation of a block is that of its last
 * acknowledged write (wt), or of its last write acknowledged before the
 * last completed flush (wb: a write acknowledged after it may be lost).
 * The block must hold that generation, or a later one that was attempted
 * (a write in flight at a crash may or may not have landed).  An older
 * generation (or zeros) is LOST; a block that is neither zeros nor a
 * valid block for its LBA is CORRUPT; a generation never attempted for it
 * is BOGUS.  Exit status: 0 when all is well, 1 when something is lost or
 * wrong, 2 on a usage or I/O error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAGIC		0x31305452574b4341ULL	/* "ACKWRT01" */
#define MAX_THREADS	256
#define SLOW_MS		1000
#define CHUNK		256	/* blocks per read in verify */

struct blk_hdr {
	uint64_t magic;
	uint64_t lba;
	uint64_t gen;
	uint64_t seed;
	uint32_t thread;
	uint32_t bs;
};

struct opts {
	const char *dev;
	const char *log;
	const char *status;
	bool wb;
	unsigned int threads;
	uint64_t blocks;
	unsigned int bs;
	unsigned int sync_ms;
	uint64_t max_writes;
	uint64_t seed;
	uint64_t offset;
	bool direct;
};

static struct opts o = {
	.threads = 32, .bs = 4096, .sync_ms = 200, .direct = true,
};

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "ackwriter: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(2);
}

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

static uint64_t lba_of(uint64_t seed, unsigned int threads, uint64_t blocks,
		       unsigned int t, uint64_t gen)
{
	uint64_t per = blocks / threads;

	return t + (uint64_t)threads *
		(mix64(seed ^ mix64(((uint64_t)t << 40) ^ gen)) % per);
}

static uint64_t fnv1a(const unsigned char *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	while (n--) {
		h ^= *p++;
		h *= 0x100000001b3ULL;
	}
	return h;
}

static void fill_block(unsigned char *buf, unsigned int bs, uint64_t seed,
		       unsigned int t, uint64_t lba, uint64_t gen)
{
	struct blk_hdr h = {
		.magic = MAGIC, .lba = lba, .gen = gen, .seed = seed,
		.thread = t, .bs = bs,
	};
	uint64_t x = mix64(seed ^ mix64(lba ^ (gen << 24))) | 1, sum;
	size_t i;

	memcpy(buf, &h, sizeof(h));
	for (i = sizeof(h); i + 8 <= bs - 8; i += 8) {
		x ^= x >> 12;
		x ^= x << 25;
		x ^= x >> 27;
		memcpy(buf + i, &x, 8);
	}
	sum = fnv1a(buf, bs - 8);
	memcpy(buf + bs - 8, &sum, 8);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int open_dev(const char *path, int flags, bool *direct)
{
	int fd = -1;

	if (*direct) {
		fd = open(path, flags | O_DIRECT);
		if (fd < 0 && errno == EINVAL)
			*direct = false;	/* e.g. tmpfs */
	}
	if (fd < 0 && !*direct)
		fd = open(path, flags);
	if (fd < 0)
		die("open %s: %s", path, strerror(errno));
	return fd;
}

static uint64_t dev_size(int fd, const char *path)
{
	struct stat st;
	uint64_t size;

	if (fstat(fd, &st))
		die("stat %s: %s", path, strerror(errno));
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, &size))
			die("BLKGETSIZE64 %s: %s", path, strerror(errno));
		return size;
	}
	return st.st_size;
}

/* ------------------------------------------------------------- write */

static int dev_fd, log_fd, status_fd = -1;
static volatile sig_atomic_t stop;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t next_seq;
static uint64_t n_writes, n_acked, n_failed, n_syncs, n_sync_failed;
static uint64_t n_slow, max_lat_ms, start_ms;

/* Appends one record; returns its sequence number. */
static uint64_t log_rec(const char *fmt, ...)
{
	char line[160], body[128];
	va_list ap;
	uint64_t seq;
	int n;

	va_start(ap, fmt);
	vsnprintf(body, sizeof(body), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&log_lock);
	seq = next_seq++;
	n = snprintf(line, sizeof(line), "%c %" PRIu64 "%s\n", body[0], seq,
		     body + 1);
	if (write(log_fd, line, n) != n)
		die("write to log: %s", strerror(errno));
	pthread_mutex_unlock(&log_lock);
	return seq;
}

/* The --status file: acknowledged writes (once their record is logged). */
static void put_status(void)
{
	char line[64];
	int n;

	if (status_fd < 0)
		return;
	pthread_mutex_lock(&log_lock);
	n = snprintf(line, sizeof(line), "%020" PRIu64 " %020" PRIu64 "\n",
		     n_acked, n_acked);
	if (pwrite(status_fd, line, n, 0) != n)
		die("write to %s: %s", o.status, strerror(errno));
	pthread_mutex_unlock(&log_lock);
}

static void *writer(void *arg)
{
	unsigned int t = (unsigned int)(uintptr_t)arg;
	unsigned char *buf;
	uint64_t gen, lba, t0, lat;
	ssize_t r;
	int err;

	if (posix_memalign((void **)&buf, 4096, o.bs))
		die("out of memory");
	for (gen = 1; !stop; gen++) {
		if (__atomic_fetch_add(&n_writes, 1, __ATOMIC_SEQ_CST) >=
		    o.max_writes && o.max_writes)
			break;
		lba = lba_of(o.seed, o.threads, o.blocks, t, gen);
		fill_block(buf, o.bs, o.seed, t, lba, gen);
		t0 = now_ms();
		r = pwrite(dev_fd, buf, o.bs, (off_t)(lba * o.bs));
		err = r < 0 ? errno : EIO;
		lat = now_ms() - t0;
		pthread_mutex_lock(&log_lock);
		if (lat > max_lat_ms)
			max_lat_ms = lat;
		if (lat >= SLOW_MS)
			n_slow++;
		if (r == (ssize_t)o.bs)
			n_acked++;
		else
			n_failed++;
		pthread_mutex_unlock(&log_lock);
		if (r == (ssize_t)o.bs)
			log_rec("A %u %" PRIu64 " %" PRIu64 " %" PRIu64 " %"
				PRIu64, t, gen, lba, lat, t0 + lat - start_ms);
		else
			log_rec("F %u %" PRIu64 " %" PRIu64 " %d %" PRIu64, t,
				gen, lba, err, t0 + lat - start_ms);
		put_status();
	}
	free(buf);
	return NULL;
}

/* fsync; on success logs "S seq K": acks with seq < K are covered. */
static void do_sync(void)
{
	uint64_t k;

	pthread_mutex_lock(&log_lock);
	k = next_seq;
	pthread_mutex_unlock(&log_lock);
	if (fsync(dev_fd) == 0) {
		__atomic_fetch_add(&n_syncs, 1, __ATOMIC_SEQ_CST);
		log_rec("S %" PRIu64, k);
	} else {
		__atomic_fetch_add(&n_sync_failed, 1, __ATOMIC_SEQ_CST);
		log_rec("X %d", errno);
	}
}

static void *syncer(void *arg)
{
	struct timespec ts = {
		.tv_sec = o.sync_ms / 1000,
		.tv_nsec = (long)(o.sync_ms % 1000) * 1000000,
	};

	(void)arg;
	while (!stop) {
		nanosleep(&ts, NULL);	/* the flush cadence of the workload */
		if (!stop)
			do_sync();
	}
	return NULL;
}

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int cmd_write(void)
{
	pthread_t th[MAX_THREADS], st;
	struct sigaction sa = {
		.sa_handler = on_signal, .sa_flags = SA_RESTART,
	};
	uint64_t size, t0;
	struct timespec ts;
	unsigned int i;

	dev_fd = open_dev(o.dev, O_RDWR, &o.direct);
	size = dev_size(dev_fd, o.dev);
	if (!o.blocks)
		o.blocks = size / o.bs;
	if (o.blocks * o.bs > size)
		die("%s: %" PRIu64 " bytes, less than %" PRIu64 " blocks",
		    o.dev, size, o.blocks);
	if (o.blocks < o.threads)
		die("fewer blocks than threads");
	if (!o.seed)
		o.seed = mix64((uint64_t)time(NULL) ^
			       ((uint64_t)getpid() << 20));
	log_fd = open(o.log, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
	if (log_fd < 0)
		die("open %s: %s", o.log, strerror(errno));
	if (o.status) {
		status_fd = open(o.status, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (status_fd < 0)
			die("open %s: %s", o.status, strerror(errno));
		put_status();
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	t0 = start_ms = now_ms();
	clock_gettime(CLOCK_REALTIME, &ts);
	log_rec("H ackwriter=1 seed=%" PRIu64 " threads=%u blocks=%" PRIu64
		" bs=%u mode=%s direct=%d start=%lld.%03ld", o.seed, o.threads,
		o.blocks, o.bs, o.wb ? "wb" : "wt", o.direct,
		(long long)ts.tv_sec, ts.tv_nsec / 1000000);
	for (i = 0; i < o.threads; i++)
		if (pthread_create(&th[i], NULL, writer, (void *)(uintptr_t)i))
			die("pthread_create failed");
	if (o.wb && pthread_create(&st, NULL, syncer, NULL))
		die("pthread_create failed");
	for (i = 0; i < o.threads; i++)
		pthread_join(th[i], NULL);
	stop = 1;
	if (o.wb) {
		pthread_join(st, NULL);
		do_sync();	/* covers every write acknowledged above */
	}
	log_rec("E writes=%" PRIu64 " acked=%" PRIu64 " failed=%" PRIu64
		" syncs=%" PRIu64 " sync_failed=%" PRIu64 " slow=%" PRIu64
		" max_lat_ms=%" PRIu64 " secs=%.1f", n_acked + n_failed,
		n_acked, n_failed, n_syncs, n_sync_failed, n_slow,
		max_lat_ms, (now_ms() - t0) / 1000.0);
	printf("ackwriter %s: mode=%s writes=%" PRIu64 " acked=%" PRIu64
	       " failed=%" PRIu64 " syncs=%" PRIu64 " sync_failed=%" PRIu64
	       " slow(>=%ds)=%" PRIu64 " max_lat_ms=%" PRIu64 "\n", o.dev,
	       o.wb ? "wb" : "wt", n_acked + n_failed, n_acked, n_failed,
	       n_syncs, n_sync_failed, SLOW_MS / 1000, n_slow, max_lat_ms);
	close(log_fd);
	if (close(dev_fd))
		die("close %s: %s", o.dev, strerror(errno));
	return n_failed || n_sync_failed ? 1 : 0;
}

/* ------------------------------------------------------------- log */

struct rec {
	uint64_t seq;
	uint64_t gen;
	uint64_t lba;
	unsigned int t;
};

struct logdata {
	uint64_t seed, blocks;
	unsigned int threads, bs;
	bool wb, ended;
	struct rec *acks;
	size_t n_acks, cap;
	uint64_t n_failed, n_syncs, n_sync_failed;
	uint64_t sync_k;		/* from the last completed flush */
	uint64_t max_gen[MAX_THREADS];	/* highest generation attempted */
};

static void read_log(const char *path, struct logdata *l)
{
	FILE *f = fopen(path, "r");
	char line[256], mode[8];
	unsigned long lineno = 0;
	uint64_t seq, gen, lba, k, x;
	unsigned int t;
	int direct;

	if (!f)
		die("open %s: %s", path, strerror(errno));
	memset(l, 0, sizeof(*l));
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		if (!strchr(line, '\n'))
			die("%s:%lu: truncated line", path, lineno);
		switch (line[0]) {
		case 'H':
			if (sscanf(line, "H %" SCNu64 " ackwriter=1 seed=%"
				   SCNu64 " threads=%u blocks=%" SCNu64
				   " bs=%u mode=%7s direct=%d", &seq, &l->seed,
				   &l->threads, &l->blocks, &l->bs, mode,
				   &direct) != 7 || !l->threads ||
			    l->threads > MAX_THREADS || l->bs < 512 ||
			    l->blocks < l->threads)
				die("%s:%lu: bad header", path, lineno);
			l->wb = !strcmp(mode, "wb");
			continue;
		case 'A':
		case 'F':
			if (!l->threads)
				die("%s: no header", path);
			if (sscanf(line + 1, "%" SCNu64 " %u %" SCNu64 " %"
				   SCNu64 " %" SCNu64, &seq, &t, &gen, &lba,
				   &x) != 5 || t >= l->threads || !gen)
				die("%s:%lu: bad record", path, lineno);
			if (lba != lba_of(l->seed, l->threads, l->blocks, t,
					  gen))
				die("%s:%lu: lba %" PRIu64 " is not where "
				    "thread %u aims generation %" PRIu64, path,
				    lineno, lba, t, gen);
			if (gen > l->max_gen[t])
				l->max_gen[t] = gen;
			if (line[0] == 'F') {
				l->n_failed++;
				continue;
			}
			if (l->n_acks == l->cap) {
				l->cap = l->cap ? 2 * l->cap : 4096;
				l->acks = realloc(l->acks,
						  l->cap * sizeof(*l->acks));
				if (!l->acks)
					die("out of memory");
			}
			l->acks[l->n_acks++] = (struct rec){
				.seq = seq, .gen = gen, .lba = lba, .t = t,
			};
			continue;
		case 'S':
			if (sscanf(line, "S %" SCNu64 " %" SCNu64, &seq,
				   &k) != 2)
				die("%s:%lu: bad sync record", path, lineno);
			if (k > l->sync_k)
				l->sync_k = k;
			l->n_syncs++;
			continue;
		case 'X':
			l->n_sync_failed++;
			continue;
		case 'E':
			l->ended = true;
			continue;
		default:
			die("%s:%lu: unknown record", path, lineno);
		}
	}
	fclose(f);
	if (!l->threads)
		die("%s: no header", path);
}

/* ------------------------------------------------------------- verify */

enum state { ST_ZERO, ST_VALID, ST_CORRUPT };

static enum state parse_block(const unsigned char *buf, const struct logdata *l,
			      uint64_t lba, uint64_t *gen)
{
	struct blk_hdr h;
	uint64_t sum;
	unsigned int i;

	for (i = 0; i < l->bs && !buf[i]; i++)
		;
	if (i == l->bs) {
		*gen = 0;
		return ST_ZERO;
	}
	memcpy(&h, buf, sizeof(h));
	memcpy(&sum, buf + l->bs - 8, 8);
	if (h.magic != MAGIC || h.lba != lba || h.seed != l->seed ||
	    h.bs != l->bs || h.thread != lba % l->threads ||
	    sum != fnv1a(buf, l->bs - 8))
		return ST_CORRUPT;
	*gen = h.gen;
	return ST_VALID;
}

static int cmd_verify(void)
{
	struct logdata l;
	uint64_t *req, *req_all, lba, gen, extra_gen;
	uint64_t n_written = 0, n_required = 0, lost = 0, corrupt = 0;
	uint64_t bogus = 0, newer = 0, unsynced_missing = 0, shown = 0;
	unsigned char *buf;
	size_t i;
	ssize_t r;
	int fd;

	read_log(o.log, &l);
	/* Without the end record a write may still have been in flight. */
	extra_gen = l.ended ? 0 : 1;
	req = calloc(l.blocks, sizeof(*req));
	req_all = calloc(l.blocks, sizeof(*req_all));
	if (!req || !req_all || posix_memalign((void **)&buf, 4096,
					  (size_t)CHUNK * l.bs))
		die("out of memory");
	for (i = 0; i < l.n_acks; i++) {
		struct rec *a = &l.acks[i];

		if (a->gen > req_all[a->lba])
			req_all[a->lba] = a->gen;
		if ((!l.wb || a->seq < l.sync_k) && a->gen > req[a->lba])
			req[a->lba] = a->gen;
	}
	fd = open_dev(o.dev, O_RDONLY, &o.direct);
	if (dev_size(fd, o.dev) < o.offset + l.blocks * l.bs)
		die("%s is smaller than %" PRIu64 " blocks", o.dev, l.blocks);
	for (lba = 0; lba < l.blocks; lba++) {
		unsigned int t = lba % l.threads;
		enum state s;

		if (lba % CHUNK == 0) {
			size_t n = l.blocks - lba < CHUNK ?
				   l.blocks - lba : CHUNK;

			r = pread(fd, buf, n * l.bs,
				  (off_t)(o.offset + lba * l.bs));
			if (r != (ssize_t)(n * l.bs))
				die("read %s at block %" PRIu64 ": %s", o.dev,
				    lba, r < 0 ? strerror(errno) :
				    "short read");
		}
		s = parse_block(buf + (lba % CHUNK) * l.bs, &l, lba, &gen);
		if (req_all[lba])
			n_written++;
		if (req[lba])
			n_required++;
		if (s == ST_CORRUPT) {
			corrupt++;
			if (shown++ < 10)
				printf("CORRUPT block %" PRIu64 ": neither "
				       "zeros nor a valid block for it "
				       "(required gen %" PRIu64 ")\n", lba,
				       req[lba]);
			continue;
		}
		if (gen < req[lba]) {
			lost++;
			if (shown++ < 10)
				printf("LOST block %" PRIu64 ": holds gen %"
				       PRIu64 ", thread %u's gen %" PRIu64
				       " was acknowledged%s\n", lba, gen, t,
				       req[lba], l.wb ? " before a flush" : "");
			continue;
		}
		if (gen > req[lba] &&
		    (gen > l.max_gen[t] + extra_gen ||
		     lba_of(l.seed, l.threads, l.blocks, t, gen) != lba)) {
			bogus++;
			if (shown++ < 10)
				printf("BOGUS block %" PRIu64 ": holds gen %"
				       PRIu64 ", never written there\n", lba,
				       gen);
			continue;
		}
		if (gen > req_all[lba])
			newer++;
		if (gen < req_all[lba])
			unsynced_missing++;
	}
	close(fd);
	printf("VERIFY %s: mode=%s blocks=%" PRIu64 " acked=%zu failed=%"
	       PRIu64 " syncs=%" PRIu64 " written_blocks=%" PRIu64
	       " required_blocks=%" PRIu64 " lost=%" PRIu64 " corrupt=%"
	       PRIu64 " bogus=%" PRIu64 " newer_than_acked=%" PRIu64,
	       o.dev, l.wb ? "wb" : "wt", l.blocks, l.n_acks, l.n_failed,
	       l.n_syncs, n_written, n_required, lost, corrupt, bogus, newer);
	if (l.wb)
		printf(" acked_after_last_flush_missing=%" PRIu64,
		       unsynced_missing);
	printf(" -> %s\n", lost || corrupt || bogus ? "FAIL" : "ok");
	free(req);
	free(req_all);
	free(buf);
	free(l.acks);
	return lost || corrupt || bogus ? 1 : 0;
}

/* ------------------------------------------------------------- main */

static uint64_t num(const char *s, const char *what)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end)
		die("%s: not a number: %s", what, s);
	return v;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: ackwriter write --dev DEV --log LOG [--mode wt|wb] "
		"[--threads N] [--blocks N]\n"
		"                       [--bs N] [--sync-ms N] [--writes N] "
		"[--seed S]\n"
		"                       [--status FILE] [--no-direct]\n"
		"       ackwriter verify --dev DEV --log LOG [--offset BYTES] "
		"[--no-direct]\n"
		"       ackwriter lba --log LOG THREAD GEN\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *cmd;
	int i;

	if (argc < 2)
		usage();
	cmd = argv[1];
	for (i = 2; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--no-direct")) {
			o.direct = false;
			continue;
		}
		if (a[0] != '-' || a[1] != '-')
			break;
		if (!v)
			usage();
		i++;
		if (!strcmp(a, "--dev"))
			o.dev = v;
		else if (!strcmp(a, "--log"))
			o.log = v;
		else if (!strcmp(a, "--mode") && !strcmp(v, "wt"))
			o.wb = false;
		else if (!strcmp(a, "--mode") && !strcmp(v, "wb"))
			o.wb = true;
		else if (!strcmp(a, "--threads"))
			o.threads = num(v, a);
		else if (!strcmp(a, "--blocks"))
			o.blocks = num(v, a);
		else if (!strcmp(a, "--bs"))
			o.bs = num(v, a);
		else if (!strcmp(a, "--sync-ms"))
			o.sync_ms = num(v, a);
		else if (!strcmp(a, "--writes"))
			o.max_writes = num(v, a);
		else if (!strcmp(a, "--status"))
			o.status = v;
		else if (!strcmp(a, "--seed"))
			o.seed = num(v, a);
		else if (!strcmp(a, "--offset"))
			o.offset = num(v, a);
		else
			usage();
	}
	if (!o.threads || o.threads > MAX_THREADS || o.bs < 512 ||
	    o.bs % 512 || !o.sync_ms)
		die("bad --threads, --bs or --sync-ms");
	if (!strcmp(cmd, "lba") && o.log && i + 2 == argc) {
		struct logdata l;
		uint64_t t, gen;

		read_log(o.log, &l);
		t = num(argv[i], "THREAD");
		gen = num(argv[i + 1], "GEN");
		if (t >= l.threads)
			die("thread %" PRIu64 " out of range", t);
		printf("%" PRIu64 "\n", lba_of(l.seed, l.threads, l.blocks,
					       (unsigned int)t, gen));
		free(l.acks);
		return 0;
	}
	if (i != argc || !o.dev || !o.log)
		usage();
	if (!strcmp(cmd, "write"))
		return cmd_write();
	if (!strcmp(cmd, "verify"))
		return cmd_verify();
	usage();
	return 2;
}
