// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Restart soak: ganesha is killed with SIGKILL and started again, over and
 * over, while 48 verifying reads and writes are kept in flight.  Every
 * acknowledged write must be read back intact; a command may fail only
 * with a retryable status, and then it is simply issued again.  The
 * kill times are random; the seed is printed and $SOAK_SEED repeats it.
 *   [SOAK_SEED=N] test_soak [CYCLES] [writeback]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "../check.h"
#include "nfs_status.h"
#include "nfs_test_env.h"

#define SLOTS		48
#define SLOT_SIZE	(64 * 1024)
#define DEV_SIZE	((uint64_t)SLOTS * SLOT_SIZE)

struct slot {
	struct nfs_io_req req;
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

static void slot_done(struct nfs_io_req *req, int status)
{
	struct slot *s = req->priv;

	pthread_mutex_lock(&lock);
	if (status && nfs_status_sense(status, true).retryable) {
		retryable_failures++;
		if (req->op == NFS_IO_WRITE)
			s->known = false;	/* contents undefined now */
	} else if (status) {
		bad_status = status;
	} else if (req->op == NFS_IO_WRITE) {
		memcpy(s->shadow, s->buf, SLOT_SIZE);
		s->known = true;
	} else if (s->known) {
		CHECK(!memcmp(s->buf, s->shadow, SLOT_SIZE),
		      "slot at %lu: read back differs from the last "
		      "acknowledged write", (unsigned long)req->offset);
	}
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
static void *restarter(void *arg)
{
	int cycles = *(int *)arg, i;
	uint64_t up, down;

	for (i = 0; i < cycles; i++) {
		up = (50 + kill_rand(1151)) * 1000 + kill_rand(1000);
		down = (10 + kill_rand(541)) * 1000 + kill_rand(1000);
		sleep_us(up);
		test_server("kill9");
		sleep_us(down);
		test_server("start");
		printf("soak: kill %d after %.3f ms, restart after %.3f ms\n",
		       i + 1, up / 1000.0, down / 1000.0);
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

int main(int argc, char **argv)
{
	int cycles = argc > 1 ? atoi(argv[1]) : 10;
	bool writeback = argc > 2 && !strcmp(argv[2], "writeback");
	const char *f = test_file("export", "soak", DEV_SIZE, 0, 0, 0, 0644);
	struct slot *slots = calloc(SLOTS, sizeof(*slots));
	unsigned char *back = malloc(DEV_SIZE);
	unsigned int rounds = 0, i, reads_after = 0;
	struct nfs_engine_stats st;
	struct nfs_engine *e;
	char err[512], *cfg;
	pthread_t thread;

	cfg = test_cfg("export", f, writeback ? "cache=writeback&timeout=20" :
		       "timeout=20");
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
	printf("soak (%s): SOAK_SEED=%llu\n",
	       writeback ? "write-back" : "write-through",
	       (unsigned long long)kill_rng);
	fflush(stdout);
	pthread_create(&thread, NULL, restarter, &cycles);
	while (!restarting_done || rounds < 4) {
		pthread_mutex_lock(&lock);
		left = SLOTS;
		pthread_mutex_unlock(&lock);
		for (i = 0; i < SLOTS; i++) {
			struct slot *s = &slots[i];

			memset(&s->req, 0, sizeof(s->req));
			s->req.op = rand() % 2 ? NFS_IO_WRITE : NFS_IO_READ;
			s->req.offset = (uint64_t)i * SLOT_SIZE;
			s->req.length = SLOT_SIZE;
			s->iov = (struct iovec){ s->buf, SLOT_SIZE };
			s->req.iov = &s->iov;
			s->req.iov_cnt = 1;
			s->req.done = slot_done;
			s->req.priv = s;
			if (s->req.op == NFS_IO_WRITE) {
				unsigned int j;

				s->gen++;
				for (j = 0; j < SLOT_SIZE; j++)
					s->buf[j] = (unsigned char)(i * 31 +
						s->gen * 7 + j / 512);
			}
			nfs_engine_submit(e, &s->req);
		}
		pthread_mutex_lock(&lock);
		while (left)
			pthread_cond_wait(&cond, &lock);
		pthread_mutex_unlock(&lock);
		if (restarting_done)
			for (i = 0; i < SLOTS; i++)
				if (slots[i].req.op == NFS_IO_READ &&
				    !slots[i].req.status)
					reads_after++;
		rounds++;
	}
	pthread_join(thread, NULL);

	/* make everything stable, then check the server's disk */
	CHECK(test_io(e, NFS_IO_FLUSH, 0, NULL, 0) == 0, "final flush");
	nfs_engine_get_stats(e, &st);
	nfs_engine_close(e);
	test_read_back("export", f, 0, back, DEV_SIZE);
	for (i = 0; i < SLOTS; i++)
		if (slots[i].known)
			CHECK(!memcmp(back + (size_t)i * SLOT_SIZE,
				      slots[i].shadow, SLOT_SIZE),
			      "slot %u on disk differs from the last "
			      "acknowledged write", i);
	CHECK(bad_status == 0, "a command failed with %s",
	      nfs_status_name(bad_status));
	CHECK(cycles_done == cycles, "%d of %d restarts", cycles_done,
	      cycles);
	CHECK(reads_after > 0, "no read succeeded after the last restart");
	printf("soak (%s): %d kill -9 restarts, %u rounds of %d commands, "
	       "%lu writes, %lu reads, %lu pieces re-sent, %d retryable "
	       "failures, peak %u RPCs in flight\n",
	       writeback ? "write-back" : "write-through", cycles_done,
	       rounds, SLOTS, (unsigned long)st.writes,
	       (unsigned long)st.reads, (unsigned long)st.resends,
	       retryable_failures, st.peak_rpcs_in_flight);
	for (i = 0; i < SLOTS; i++) {
		free(slots[i].buf);
		free(slots[i].shadow);
	}
	free(slots);
	free(back);
	return check_report("test_soak");
}
