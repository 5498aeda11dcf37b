// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Restart soak: ganesha is killed with SIGKILL and started again, over and
 * over, while 48 verifying reads and writes are kept in flight.  Every
 * acknowledged write must be read back intact; a command may fail only
 * with a retryable status, and then it is simply issued again.  The
 * kill times are random; the seed is printed and $SOAK_SEED repeats it.
 * With "cuts", the engine reaches ganesha through nfs_fault_proxy (a FAKE,
 * fault-injecting proxy), which also cuts a connection after a random
 * number of bytes of a call or a reply between the kills.  It prints how
 * long I/O took to resume after each restart (p50, p99, max).
 * With "v41", the device speaks NFSv4.1 (a session, recovered after
 * each restart: new client ID, the open made again).  With "share", it
 * reaches the server through the pool of shared connections (share=1,
 * tnfs_pool.h), whose wire the kill takes down under it.
 *   [SOAK_SEED=N] test_soak [CYCLES] [writeback] [cuts] [v41] [share]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "../check.h"
#include "fault_proxy_client.h"
#include "tnfs_status.h"
#include "nfs_test_env.h"

#define SLOTS		48
#define SLOT_SIZE	(64 * 1024)
#define DEV_SIZE	((uint64_t)SLOTS * SLOT_SIZE)

struct slot {
	struct tnfs_io_req req;
	struct iovec iov;
	unsigned char *buf;
	unsigned char *shadow;	/* what the device holds, once acked */
	bool known;		/* shadow is valid */
	unsigned int gen;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static unsigned int left;
static int bad_status, retryable_failures;
static volatile bool restarting_done;
static int cycles_done;
static int wrong_reads;
static uint64_t last_ok_ms;		/* a command last succeeded */
static char proxy_ctl[512];		/* "cuts": the proxy's socket */
static unsigned int cuts_armed;
static uint64_t *resume_ms;		/* per restart */

static uint64_t soak_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void slot_done(struct tnfs_io_req *req, int status)
{
	struct slot *s = req->priv;

	pthread_mutex_lock(&lock);
	if (status && tnfs_status_transient(status)) {
		retryable_failures++;
		if (req->op == TNFS_IO_WRITE)
			s->known = false;	/* contents undefined now */
	} else if (status) {
		bad_status = status;
	} else if (req->op == TNFS_IO_WRITE) {
		memcpy(s->shadow, s->buf, SLOT_SIZE);
		s->known = true;
	} else if (s->known && memcmp(s->buf, s->shadow, SLOT_SIZE)) {
		wrong_reads++;
		CHECK(0, "slot at %lu: read back differs from the last "
		      "acknowledged write", (unsigned long)req->offset);
	}
	if (!status)
		__atomic_store_n(&last_ok_ms, soak_now_ms(), __ATOMIC_RELAXED);
	req->status = status;
	if (--left == 0)
		pthread_cond_signal(&cond);
	pthread_mutex_unlock(&lock);
}

/*
 * The restarter's own generator (splitmix64), so that the kill times
 * depend on $SOAK_SEED only, not on the main thread's rand() calls.
 */
static uint64_t kill_rng;

static uint64_t kill_rand(uint64_t bound)
{
	uint64_t z = (kill_rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return (z ^ (z >> 31)) % bound;
}

static void sleep_us(uint64_t us)
{
	struct timespec ts = { (time_t)(us / 1000000),
			       (long)(us % 1000000) * 1000 };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/*
 * Kill at random points of the byte stream, not on a fixed clock: a
 * uniform 50-1200 ms of load before each kill -9 and 10-550 ms of
 * downtime before the restart, each plus 0-999 us, so that kills land
 * anywhere in a request or reply (0.9 s a cycle on average, as the fixed
 * 0.7 + 0.2 s were).
 */
/* "cuts": a connection reset after a random byte of a call or reply. */
static void arm_cut(void)
{
	char cmd[64], reply[128];

	snprintf(cmd, sizeof(cmd), "%s any %u", kill_rand(2) ?
		 "cut-reply" : "cut-call", (unsigned int)kill_rand(70000));
	if (fault_proxy_cmd(proxy_ctl, cmd, reply, sizeof(reply))) {
		fprintf(stderr, "proxy refused '%s': %s\n", cmd, reply);
		exit(2);
	}
	cuts_armed++;
}

/* Until a command succeeds after @since; how long that took. */
static uint64_t wait_resume(uint64_t since)
{
	uint64_t ok;

	for (;;) {
		ok = __atomic_load_n(&last_ok_ms, __ATOMIC_RELAXED);
		if (ok >= since || soak_now_ms() - since > 60000)
			return ok >= since ? ok - since : 60000;
		sleep_us(1000);
	}
}

static void *restarter(void *arg)
{
	int cycles = *(int *)arg, i;
	uint64_t up, down, t0;

	for (i = 0; i < cycles; i++) {
		up = (50 + kill_rand(1151)) * 1000 + kill_rand(1000);
		down = (10 + kill_rand(541)) * 1000 + kill_rand(1000);
		if (proxy_ctl[0]) {
			/* a cut somewhere in the load, then the kill */
			sleep_us(up / 2);
			arm_cut();
			sleep_us(up / 2);
		} else {
			sleep_us(up);
		}
		test_server("kill9");
		sleep_us(down);
		test_server("start");
		t0 = soak_now_ms();
		resume_ms[i] = wait_resume(t0);
		printf("soak: kill %d after %.3f ms, restart after %.3f ms, "
		       "I/O again %" PRIu64 " ms later\n", i + 1, up / 1000.0,
		       down / 1000.0, resume_ms[i]);
		fflush(stdout);
		cycles_done = i + 1;
	}
	restarting_done = true;
	return NULL;
}

/* $SOAK_SEED (decimal) repeats a run's kill times; else a fresh seed. */
static uint64_t soak_seed(void)
{
	const char *env = getenv("SOAK_SEED");
	struct timespec ts;
	char *end;
	uint64_t seed;

	if (env && *env) {
		errno = 0;
		seed = strtoull(env, &end, 10);
		if (errno || *end) {
			fprintf(stderr, "SOAK_SEED=%s: expected a decimal "
				"number\n", env);
			exit(2);
		}
		return seed;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	return ((uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec) ^
	       ((uint64_t)getpid() << 32);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	int cycles = argc > 1 ? atoi(argv[1]) : 10, a;
	bool writeback = false, cuts = false, v41 = false, share = false;
	const char *f = test_file("export", "soak", DEV_SIZE, 0, 0, 0, 0644);
	struct slot *slots = calloc(SLOTS, sizeof(*slots));
	unsigned char *back = malloc(DEV_SIZE);
	unsigned int rounds = 0, i, reads_after = 0;
	struct tnfs_engine_stats st;
	struct tnfs_engine *e;
	char err[512], *cfg, name[256];
	unsigned int lost = 0;
	pthread_t thread;

	for (a = 2; a < argc; a++) {
		if (!strcmp(argv[a], "writeback")) {
			writeback = true;
		} else if (!strcmp(argv[a], "cuts")) {
			cuts = true;
		} else if (!strcmp(argv[a], "v41")) {
			v41 = true;
		} else if (!strcmp(argv[a], "share")) {
			share = true;
		} else {
			fprintf(stderr, "usage: test_soak [CYCLES] [writeback] "
				"[cuts] [v41] [share]\n");
			return 2;
		}
	}
	if (cycles < 1) {
		fprintf(stderr, "test_soak: CYCLES must be at least 1\n");
		return 2;
	}
	resume_ms = calloc((size_t)cycles, sizeof(*resume_ms));
	snprintf(name, sizeof(name), "%s", f);
	if (cuts && v41) {
		fprintf(stderr, "test_soak: the fault proxy speaks NFSv3 "
			"only: no cuts with v41\n");
		return 2;
	}
	if (cuts) {
		int port = test_proxy_start(proxy_ctl, sizeof(proxy_ctl));

		if (asprintf(&cfg, "127.0.0.1/export/%s?mountport=20048&"
			     "nfsport=%d&timeout=20%s%s", name, port,
			     writeback ? "&cache=writeback" : "",
			     share ? "&share=1" : "") < 0)
			abort();
	} else {
		char keys[128];

		snprintf(keys, sizeof(keys), "timeout=20%s%s%s",
			 writeback ? "&cache=writeback" : "",
			 v41 ? "&vers=4.1" : "", share ? "&share=1" : "");
		cfg = test_cfg("export", name, keys);
	}
	if (test_engine_open(cfg, DEV_SIZE, 4096, &e, err, sizeof(err))) {
		fprintf(stderr, "open: %s\n", err);
		return 1;
	}
	free(cfg);
	for (i = 0; i < SLOTS; i++) {
		slots[i].buf = malloc(SLOT_SIZE);
		slots[i].shadow = calloc(1, SLOT_SIZE);
		slots[i].known = true;	/* the file starts zeroed */
	}
	srand(77);
	kill_rng = soak_seed();
	printf("soak (%s%s%s): SOAK_SEED=%llu\n",
	       writeback ? "write-back" : "write-through", v41 ? ", v4.1" : "",
	       share ? ", share=1" : "", (unsigned long long)kill_rng);
	fflush(stdout);
	pthread_create(&thread, NULL, restarter, &cycles);
	while (!restarting_done || rounds < 4) {
		pthread_mutex_lock(&lock);
		left = SLOTS;
		pthread_mutex_unlock(&lock);
		for (i = 0; i < SLOTS; i++) {
			struct slot *s = &slots[i];

			memset(&s->req, 0, sizeof(s->req));
			s->req.op = rand() % 2 ? TNFS_IO_WRITE : TNFS_IO_READ;
			s->req.offset = (uint64_t)i * SLOT_SIZE;
			s->req.length = SLOT_SIZE;
			s->iov = (struct iovec){ s->buf, SLOT_SIZE };
			s->req.iov = &s->iov;
			s->req.iov_cnt = 1;
			s->req.done = slot_done;
			s->req.priv = s;
			if (s->req.op == TNFS_IO_WRITE) {
				unsigned int j;

				s->gen++;
				for (j = 0; j < SLOT_SIZE; j++)
					s->buf[j] = (unsigned char)(i * 31 +
						s->gen * 7 + j / 512);
			}
			tnfs_engine_submit(e, &s->req);
		}
		pthread_mutex_lock(&lock);
		while (left)
			pthread_cond_wait(&cond, &lock);
		pthread_mutex_unlock(&lock);
		if (restarting_done)
			for (i = 0; i < SLOTS; i++)
				if (slots[i].req.op == TNFS_IO_READ &&
				    !slots[i].req.status)
					reads_after++;
		rounds++;
	}
	pthread_join(thread, NULL);

	/* make everything stable, then check the server's disk */
	CHECK(test_io(e, TNFS_IO_FLUSH, 0, NULL, 0) == 0, "final flush");
	tnfs_engine_get_stats(e, &st);
	tnfs_engine_close(e);
	test_read_back("export", name, 0, back, DEV_SIZE);
	for (i = 0; i < SLOTS; i++) {
		if (!slots[i].known || !memcmp(back + (size_t)i * SLOT_SIZE,
					       slots[i].shadow, SLOT_SIZE))
			continue;
		lost++;
		CHECK(0, "slot %u on disk differs from the last acknowledged "
		      "write", i);
	}
	CHECK(bad_status == 0, "a command failed with %s",
	      tnfs_status_name(bad_status));
	CHECK(cycles_done == cycles, "%d of %d restarts", cycles_done,
	      cycles);
	CHECK(reads_after > 0, "no read succeeded after the last restart");
	printf("soak (%s%s%s%s): %d kill -9 restarts, %u proxy cuts, %u "
	       "rounds of %d commands, %lu writes, %lu reads, %lu pieces "
	       "re-sent, %d retryable failures, peak %" PRIu64 " RPCs in "
	       "flight\n", writeback ? "write-back" : "write-through",
	       cuts ? ", cuts" : "", v41 ? ", v4.1" : "",
	       share ? ", share=1" : "", cycles_done,
	       cuts_armed, rounds, SLOTS,
	       (unsigned long)st.io.writes, (unsigned long)st.io.reads,
	       (unsigned long)st.io.resends, retryable_failures,
	       st.transport.peak_rpcs_in_flight);
	qsort(resume_ms, (size_t)cycles_done, sizeof(*resume_ms), cmp_u64);
	printf("soak: %" PRIu64 " connections lost, %" PRIu64 " restored, %"
	       PRIu64 " connection attempts, %" PRIu64 " calls sent again, %"
	       PRIu64
	       " replies discarded; I/O again after a restart: p50 %" PRIu64
	       " ms, p99 %" PRIu64 " ms, max %" PRIu64 " ms; wrong "
	       "reads %d, lost writes %u\n",
	       st.transport.transport_errors, st.transport.reconnects,
	       st.transport.connect_attempts, st.transport.rpcs_resent,
	       st.transport.replies_discarded, resume_ms[cycles_done / 2],
	       resume_ms[(cycles_done * 99) / 100], resume_ms[cycles_done - 1],
	       wrong_reads, lost);
	if (cuts)
		test_proxy_stop(proxy_ctl);
	free(resume_ms);
	for (i = 0; i < SLOTS; i++) {
		free(slots[i].buf);
		free(slots[i].shadow);
	}
	free(slots);
	free(back);
	return check_report("test_soak");
}
