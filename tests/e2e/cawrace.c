// SPDX-License-Identifier: Apache-2.0
/*
 * cawrace - race COMPARE AND WRITE from two initiators on one LBA.
 *
 *   cawrace DEV_A DEV_B LBA ROUNDS BACKING_FILE BYTE_OFFSET
 *
 * DEV_A and DEV_B are the same LUN seen through two iSCSI sessions (two
 * I_T nexuses, as two ESXi hosts taking one ATS lock).  The block at LBA
 * is first written with a known pattern.  In every round both threads,
 * released together by a barrier, send COMPARE AND WRITE(16) of one block
 * comparing against the block's current contents and writing their own
 * pattern for that round.  Exactly one must get GOOD and the other
 * CHECK CONDITION / MISCOMPARE; then the block read through both sessions
 * and the bytes in BACKING_FILE at BYTE_OFFSET (the file on the NFS
 * server) must be the winner's pattern.  Rounds in which the two commands
 * were in flight at the same time are counted: without overlap the race
 * is not exercised, and the run fails if fewer than 10% overlapped.
 * Given two different LUNs instead, both commands win: that must fail
 * (the e2e test runs this as its negative control).
 *
 * Exit status: 0 every round had one winner, 1 a round did not, 2 usage
 * or I/O error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <scsi/sg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define BS		512
#define SENSE_LEN	64
#define TIMEOUT_MS	30000

enum { RES_GOOD, RES_MISCOMPARE, RES_OTHER };

struct side {
	const char *dev;
	int fd;
	int id;
	uint8_t buf[2 * BS];	/* verify data, then write data */
	int result;
	char what[160];
	struct timespec t0, t1;
};

/* start, done: main and both racers; go: the racers alone */
static pthread_barrier_t start_bar, go_bar, done_bar;
static uint64_t lba;
static long rounds;
static uint8_t cur[BS];		/* what the block holds now */

static double ts(const struct timespec *t)
{
	return t->tv_sec + t->tv_nsec / 1e9;
}

static void put_be64(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--) {
		p[i] = v & 0xff;
		v >>= 8;
	}
}

/* one SG_IO: 0 on GOOD, else -1 with the sense key, ASC, ASCQ (or -1) */
static int sg_cmd(int fd, uint8_t *cdb, int cdb_len, int dir, void *data,
		  unsigned int len, int *sk, int *asc, int *ascq,
		  char *what, size_t what_len)
{
	uint8_t sense[SENSE_LEN];
	struct sg_io_hdr io;

	memset(&io, 0, sizeof(io));
	memset(sense, 0, sizeof(sense));
	io.interface_id = 'S';
	io.cmd_len = cdb_len;
	io.cmdp = cdb;
	io.dxfer_direction = dir;
	io.dxferp = data;
	io.dxfer_len = len;
	io.sbp = sense;
	io.mx_sb_len = sizeof(sense);
	io.timeout = TIMEOUT_MS;
	*sk = *asc = *ascq = -1;
	if (ioctl(fd, SG_IO, &io) < 0) {
		snprintf(what, what_len, "SG_IO: %s", strerror(errno));
		return -1;
	}
	if (io.status == 0 && io.host_status == 0 && io.driver_status == 0)
		return 0;
	if (io.sb_len_wr >= 8 && (sense[0] & 0x7e) == 0x70) {
		*sk = sense[2] & 0x0f;
		*asc = io.sb_len_wr > 12 ? sense[12] : -1;
		*ascq = io.sb_len_wr > 13 ? sense[13] : -1;
	} else if (io.sb_len_wr >= 4 && (sense[0] & 0x7e) == 0x72) {
		*sk = sense[1] & 0x0f;
		*asc = sense[2];
		*ascq = sense[3];
	}
	snprintf(what, what_len, "status 0x%x host 0x%x driver 0x%x "
		 "sense %d/0x%02x/0x%02x", io.status, io.host_status,
		 io.driver_status, *sk, *asc & 0xff, *ascq & 0xff);
	return -1;
}

static int rw16(int fd, int write, void *buf, char *what, size_t len)
{
	uint8_t cdb[16] = { write ? 0x8a : 0x88 };
	int sk, asc, ascq;

	put_be64(cdb + 2, lba);
	cdb[13] = 1;
	return sg_cmd(fd, cdb, 16, write ? SG_DXFER_TO_DEV : SG_DXFER_FROM_DEV,
		      buf, BS, &sk, &asc, &ascq, what, len);
}

/* the pattern side ID writes in round R: recognisable in a hex dump */
static void pattern(uint8_t *p, long r, int id)
{
	char line[32];
	int i;

	for (i = 0; i < BS; i += 16) {
		/* 16 characters: "r000123 sA 01f0\n" */
		snprintf(line, sizeof(line), "r%06ld s%c %04x\n",
			 r < 0 ? 0 : r % 1000000, 'A' + id, i);
		memcpy(p + i, line, 16);
	}
}

static void *racer(void *arg)
{
	struct side *s = arg;
	uint8_t cdb[16];
	int sk, asc, ascq, rc;
	long r;

	for (r = 0; r < rounds; r++) {
		/* main has set cur for this round */
		pthread_barrier_wait(&start_bar);
		memcpy(s->buf, cur, BS);
		pattern(s->buf + BS, r, s->id);
		memset(cdb, 0, sizeof(cdb));
		cdb[0] = 0x89;			/* COMPARE AND WRITE */
		put_be64(cdb + 2, lba);
		cdb[13] = 1;			/* NUMBER OF LOGICAL BLOCKS */
		pthread_barrier_wait(&go_bar);
		clock_gettime(CLOCK_MONOTONIC, &s->t0);
		rc = sg_cmd(s->fd, cdb, 16, SG_DXFER_TO_DEV, s->buf,
			    sizeof(s->buf), &sk, &asc, &ascq, s->what,
			    sizeof(s->what));
		clock_gettime(CLOCK_MONOTONIC, &s->t1);
		if (!rc)
			s->result = RES_GOOD;
		else if (sk == 0x0e && asc == 0x1d)
			s->result = RES_MISCOMPARE;
		else
			s->result = RES_OTHER;
		pthread_barrier_wait(&done_bar);
	}
	return NULL;
}

static int open_dev(const char *p)
{
	int fd = open(p, O_RDWR | O_NONBLOCK);

	if (fd < 0)
		fprintf(stderr, "cawrace: %s: %s\n", p, strerror(errno));
	return fd;
}

int main(int argc, char **argv)
{
	struct side s[2];
	pthread_t th[2];
	uint8_t win[BS], rd[BS];
	char what[160];
	long r, overlap = 0, wins[2] = { 0, 0 };
	off_t boff;
	double max_lat = 0, sum_lat = 0;
	int bfd, i, bad = 0;

	if (argc != 7) {
		fprintf(stderr, "usage: cawrace DEV_A DEV_B LBA ROUNDS "
			"BACKING_FILE BYTE_OFFSET\n");
		return 2;
	}
	lba = strtoull(argv[3], NULL, 0);
	rounds = strtol(argv[4], NULL, 0);
	boff = strtoll(argv[6], NULL, 0);
	memset(s, 0, sizeof(s));
	for (i = 0; i < 2; i++) {
		s[i].dev = argv[1 + i];
		s[i].id = i;
		s[i].fd = open_dev(s[i].dev);
		if (s[i].fd < 0)
			return 2;
	}
	bfd = open(argv[5], O_RDONLY);
	if (bfd < 0) {
		fprintf(stderr, "cawrace: %s: %s\n", argv[5], strerror(errno));
		return 2;
	}
	/*
	 * The starting contents, through both sessions (the same block twice;
	 * given two different LUNs, as the negative control does, both then
	 * win every round and the run fails).
	 */
	pattern(cur, -1, 0);
	memcpy(cur, "initial", 7);
	for (i = 0; i < 2; i++)
		if (rw16(s[i].fd, 1, cur, what, sizeof(what))) {
			fprintf(stderr, "cawrace: initial WRITE(16) on %s: "
				"%s\n", s[i].dev, what);
			return 2;
		}
	if (pthread_barrier_init(&start_bar, NULL, 3) ||
	    pthread_barrier_init(&go_bar, NULL, 2) ||
	    pthread_barrier_init(&done_bar, NULL, 3))
		return 2;
	for (i = 0; i < 2; i++)
		if (pthread_create(&th[i], NULL, racer, &s[i]))
			return 2;
	for (r = 0; r < rounds && !bad; r++) {
		int good = 0, mis = 0, w = -1;
		double lat;

		pthread_barrier_wait(&start_bar);
		pthread_barrier_wait(&done_bar);
		for (i = 0; i < 2; i++) {
			lat = ts(&s[i].t1) - ts(&s[i].t0);
			sum_lat += lat;
			if (lat > max_lat)
				max_lat = lat;
			if (s[i].result == RES_GOOD) {
				good++;
				w = i;
			} else if (s[i].result == RES_MISCOMPARE) {
				mis++;
			} else {
				fprintf(stderr, "cawrace: round %ld: side %c "
					"(%s): %s\n", r, 'A' + i, s[i].dev,
					s[i].what);
			}
		}
		if (ts(&s[0].t0) < ts(&s[1].t1) && ts(&s[1].t0) < ts(&s[0].t1))
			overlap++;
		if (good != 1 || mis != 1) {
			fprintf(stderr, "cawrace: round %ld: %d GOOD, %d "
				"MISCOMPARE (want exactly one of each)\n",
				r, good, mis);
			bad = 1;
		}
		if (good == 1) {
			wins[w]++;
			memcpy(win, s[w].buf + BS, BS);
		} else {
			memcpy(win, cur, BS);
		}
		/* both sessions read the winner's block */
		for (i = 0; i < 2 && !bad; i++) {
			if (rw16(s[i].fd, 0, rd, what, sizeof(what))) {
				fprintf(stderr, "cawrace: round %ld: READ(16) "
					"on %s: %s\n", r, s[i].dev, what);
				bad = 1;
			} else if (memcmp(rd, win, BS)) {
				fprintf(stderr, "cawrace: round %ld: %s reads "
					"'%.20s', not the winner's '%.20s'\n",
					r, s[i].dev, (char *)rd, (char *)win);
				bad = 1;
			}
		}
		/* and so does the file on the server */
		if (!bad && (pread(bfd, rd, BS, boff) != BS ||
			     memcmp(rd, win, BS))) {
			fprintf(stderr, "cawrace: round %ld: the backing file "
				"at %jd holds '%.20s', not the winner's "
				"'%.20s'\n", r, (intmax_t)boff, (char *)rd,
				(char *)win);
			bad = 1;
		}
		memcpy(cur, win, BS);
	}
	printf("cawrace: %ld of %ld rounds: one winner each (A %ld, B %ld); "
	       "%ld rounds overlapped; CAW latency mean %.2f ms, max %.2f ms\n",
	       r - bad, rounds, wins[0], wins[1], overlap,
	       r ? sum_lat / (2 * r) * 1e3 : 0.0, max_lat * 1e3);
	if (bad)	/* the racers wait at a barrier: exit without them */
		return 1;
	for (i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	if (overlap * 10 < rounds) {
		fprintf(stderr, "cawrace: only %ld of %ld rounds had both "
			"commands in flight at once: the race was not "
			"exercised\n", overlap, rounds);
		return 1;
	}
	return 0;
}
