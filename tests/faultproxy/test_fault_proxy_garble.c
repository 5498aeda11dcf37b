// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * nfs_fault_proxy sending replies whose bytes are wrong: garble-reply,
 * short-read and empty-fragments, against a real ganesha, checked from
 * what a client sees: libnfs's raw NFSv3 API, and a bare socket where
 * the exact bytes matter.
 *
 * Environment: as test_fault_proxy (NFS_TEST_DIR, FAULT_PROXY_BIN,
 * FAULT_PROXY_VERBOSE).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "../check.h"
#include "fault_proxy_harness.h"

/*
 * More empty fragments than the socket buffers between the proxy and the
 * client hold (some MB on loopback): past this many the flood did not
 * stop, or a reply is not coming.
 */
#define FLOOD_MAX	(16u << 20)

static char pat[4][CHUNK];

static void cmd_ok(const char *c)
{
	char reply[512];
	int ret = cmd(c, reply, sizeof(reply));

	CHECK(ret == 0, "'%s' -> %d '%s'", c, ret, reply);
}

static void cmd_usage(const char *c)
{
	char reply[512];
	int ret = cmd(c, reply, sizeof(reply));

	CHECK(ret == 1 && !strncmp(reply, "error usage: ", 13),
	      "'%s' -> %d '%s'", c, ret, reply);
}

static void check_ok(const struct op *op, const char *what)
{
	CHECK(op->done && op->status == RPC_STATUS_SUCCESS &&
	      op->tnfs_status == NFS3_OK, "%s: done %d rpc %d nfs %d",
	      what, op->done, op->status, op->tnfs_status);
}

static void check_read(uint64_t off, uint32_t len, const char *what)
{
	static char buf[CHUNK];
	struct op r;

	send_read(&r, off, buf, len);
	CHECK(service(&r, 1, WAIT_MS), "%s: read completed", what);
	check_ok(&r, what);
	CHECK(r.count == len && !r.eof && disk_has(off, buf, len),
	      "%s: read matches the disk (%u bytes, eof %d)", what, r.count,
	      r.eof);
}

/* ---- (1) the control syntax ---- */

static void test_commands(void)
{
	static const char *const bad[] = {
		"garble-reply read", "garble-reply read x",
		"garble-reply getattr 0", "garble-reply any 0",
		"garble-reply read 1 2", "garble-reply lookup any",
		"short-read", "short-read x", "short-read any 0",
		"short-read any 4294967296", "short-read any 1 2",
		"empty-fragments now",
	};
	uint64_t fired = stat_get("faults_fired");
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cmd_usage(bad[i]);
	CHECK(stat_get("faults_armed") == 0, "bad commands armed nothing");

	/* not empty-fragments: libnfs 4.0 takes one for a hang-up */
	cmd_ok("garble-reply read 0");
	cmd_ok("garble-reply getattr any");	/* replaces the one before */
	cmd_ok("short-read any 3");
	CHECK(stat_get("faults_armed") == 2, "two armed: %" PRIu64,
	      stat_get("faults_armed"));
	cmd_ok("disarm");
	CHECK(stat_get("faults_armed") == 0, "disarm cleared them");
	check_read(0, CHUNK, "READ after disarm");
	CHECK(stat_get("faults_fired") == fired, "nothing fired");
	printf("commands: ok\n");
}

/* ---- (2) garble-reply ---- */

static void test_garble_reply(void)
{
	uint64_t fired = stat_get("faults_fired");
	struct rec plain = { .len = 0 }, r = { .len = 0 };
	struct op w, c;
	int fd, i;

	/* a strict decoder is not libnfs's: it takes the reply, in step */
	cmd_ok("garble-reply read 8192");
	check_read(8192, CHUNK, "garbled READ through libnfs");
	check_read(0, CHUNK, "READ at another offset");
	check_read(8192, CHUNK, "garbled READ again");
	CHECK(stat_get("faults_fired") == fired + 2, "two replies garbled");

	/* exact bytes: 4 more in the record, and they are 0xdeadbeef */
	fd = raw_connect();
	CHECK(fd >= 0, "raw connect");
	if (fd < 0)
		return;
	CHECK(send_raw_io(fd, 0x6a000001, NFS3_PROC_READ, 0, 16) &&
	      recv_rec(fd, &plain) && read_count_at(&plain, 0x6a000001),
	      "plain READ reply");
	for (i = 0; i < 2; i++) {
		CHECK(send_raw_io(fd, 0x6a000002 + i, NFS3_PROC_READ, 8192,
				  16) && recv_rec(fd, &r),
		      "garbled READ reply %d", i);
		CHECK(read_count_at(&r, 0x6a000002 + i) &&
		      r.len == plain.len + 4 &&
		      last32(&r) == 0xdeadbeefu,
		      "garbled %d: %zu bytes, plain %zu, last %08" PRIx32, i,
		      r.len, plain.len, last32(&r));
	}
	/* the stream is still in step: the next record is whole */
	CHECK(send_raw_null(fd, 0x6a000010) && recv_rec(fd, &r) &&
	      r.len == NULL_REPLY_PAYLOAD && rpc_ok(&r, 0x6a000010),
	      "NULL after the garbled replies");
	cmd_ok("disarm");
	CHECK(send_raw_io(fd, 0x6a000011, NFS3_PROC_READ, 8192, 16) &&
	      recv_rec(fd, &r) && r.len == plain.len,
	      "after disarm: %zu bytes", r.len);

	/* COMMIT's offset, and "any" */
	cmd_ok("garble-reply commit 4096");
	CHECK(send_raw_io(fd, 0x6a000020, NFS3_PROC_COMMIT, 0, 0) &&
	      recv_rec(fd, &plain) && reply_ok(&plain, 0x6a000020),
	      "COMMIT at 0 not garbled");
	CHECK(send_raw_io(fd, 0x6a000021, NFS3_PROC_COMMIT, 4096, 0) &&
	      recv_rec(fd, &r) && reply_ok(&r, 0x6a000021) &&
	      r.len == plain.len + 4 && last32(&r) == 0xdeadbeefu,
	      "COMMIT at 4096 garbled: %zu bytes, plain %zu", r.len,
	      plain.len);
	close(fd);
	cmd_ok("garble-reply write any");
	fill(pat[0], CHUNK, 21);
	send_write(&w, 9 * CHUNK, pat[0], CHUNK, FILE_SYNC);
	send_commit(&c);
	CHECK(service(&w, 1, WAIT_MS) && service(&c, 1, WAIT_MS),
	      "WRITE and COMMIT completed");
	check_ok(&w, "garbled WRITE");
	check_ok(&c, "COMMIT beside it");
	CHECK(w.count == CHUNK && disk_has(9 * CHUNK, pat[0], CHUNK),
	      "the garbled WRITE is on the disk");
	cmd_ok("disarm");
	CHECK(stat_get("faults_fired") == fired + 6, "six garbled: %" PRIu64,
	      stat_get("faults_fired") - fired);
	printf("garble-reply: 4 bytes 0xdeadbeef in the record, in step:"
	       " ok\n");
}

/* ---- (3) short-read ---- */

static void check_short(uint64_t off, uint32_t len, uint32_t want,
			const char *what)
{
	static char buf[CHUNK];
	struct op r;

	send_read(&r, off, buf, len);
	CHECK(service(&r, 1, WAIT_MS), "%s: completed", what);
	check_ok(&r, what);
	CHECK(r.count == want && r.eof && (!want || disk_has(off, buf, want)),
	      "%s: %u bytes (want %u), eof %d", what, r.count, want, r.eof);
}

static void test_short_read_raw(void)
{
	static const char fh[30] = "a 30-byte fake file handle....";
	struct rec plain = { .len = 0 }, r = { .len = 0 }, bad = { .len = 4 };
	size_t at = 0;
	int fd = raw_connect();

	CHECK(fd >= 0, "raw connect");
	if (fd < 0)
		return;
	CHECK(send_raw_io(fd, 0x5d000001, NFS3_PROC_READ, 0, 10) &&
	      recv_rec(fd, &plain) &&
	      (at = read_count_at(&plain, 0x5d000001)) &&
	      get32(plain.b + at) == 10 && !get32(plain.b + at + 4),
	      "plain 10-byte READ");
	cmd_ok("short-read any 1");
	/* a failed READ has no data to shorten: it waits for the next */
	call_header(&bad, 0x5d000002, NFS3_PROC_READ, true);
	put_opaque(&bad, fh, sizeof(fh));
	put32(&bad, 0);
	put32(&bad, 0);
	put32(&bad, 10);
	CHECK(send_rec(fd, &bad) && recv_rec(fd, &r) &&
	      get32(r.b) == 0x5d000002 && !reply_ok(&r, 0x5d000002),
	      "READ of a bad handle fails: %zu bytes", r.len);
	CHECK(stat_get("faults_armed") == 1, "short-read still armed");
	CHECK(send_raw_io(fd, 0x5d000003, NFS3_PROC_READ, 0, 10) &&
	      recv_rec(fd, &r) && read_count_at(&r, 0x5d000003) == at,
	      "short READ reply");
	/* 10 bytes, half is 5, down to 4: count, eof, length, no padding */
	CHECK(r.len == at + 16 && r.len == plain.len - 8 &&
	      get32(r.b + at) == 4 && get32(r.b + at + 4) == 1 &&
	      get32(r.b + at + 8) == 4 &&
	      !memcmp(r.b + at + 12, plain.b + at + 12, 4),
	      "short READ: %zu bytes (plain %zu), count %" PRIu32 " eof %"
	      PRIu32, r.len, plain.len, get32(r.b + at),
	      get32(r.b + at + 4));
	CHECK(at == 32 + 84 && !memcmp(r.b + 32 + 20, plain.b + 32 + 20, 8),
	      "the attributes are the server's: size %" PRIu32 "%08" PRIx32,
	      get32(r.b + 52), get32(r.b + 56));
	CHECK(stat_get("faults_armed") == 0, "COUNT 1 used up");
	close(fd);
}

static void test_short_read(void)
{
	uint64_t fired = stat_get("faults_fired");

	test_short_read_raw();
	CHECK(stat_get("faults_fired") == fired + 1, "one shortened");

	fired = stat_get("faults_fired");
	cmd_ok("short-read 0 1");
	check_short(0, CHUNK, CHUNK / 2, "short READ at 0");
	check_read(0, CHUNK, "next READ at 0");

	/* rounded down to 4 bytes, 0 at the least */
	cmd_ok("short-read any");
	check_short(4096, 4098, 2048, "4098 bytes");
	check_short(4096, 10, 4, "10 bytes");
	check_short(4096, 3, 0, "3 bytes");
	check_short(CHUNK, CHUNK, CHUNK / 2, "another offset");
	cmd_ok("disarm");
	check_read(4096, 4098, "READ after disarm");

	cmd_ok("short-read 8192 2");
	check_read(0, CHUNK, "READ at 0, not 8192");
	check_short(8192, 100, 48, "first at 8192");
	check_short(8192, 100, 48, "second at 8192");
	check_read(8192, 100, "third at 8192");
	CHECK(stat_get("faults_fired") == fired + 7, "seven shortened: %"
	      PRIu64, stat_get("faults_fired") - fired);
	printf("short-read: half the data, eof, COUNT, failures skipped:"
	       " ok\n");
}

/* ---- (4) empty-fragments ---- */

/* the client's side of the stream, read 4 bytes at a time */
struct stream {
	int fd;
	unsigned char b[CHUNK];
	size_t len, pos;
	uint64_t zeros;		/* empty fragments read */
	bool torn;		/* it stopped inside 4 bytes */
};

static bool stream_read(struct stream *s, unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (s->pos == s->len) {
			ssize_t r = recv(s->fd, s->b, sizeof(s->b), 0);

			if (r <= 0) {
				s->torn = i > 0;
				return false;
			}
			s->len = (size_t)r;
			s->pos = 0;
		}
		p[i] = s->b[s->pos++];
	}
	return true;
}

/* the next mark that is not an empty fragment's, past @max of those */
static bool next_mark(struct stream *s, uint64_t max, uint32_t *mark)
{
	unsigned char w[4];
	uint64_t n;

	for (n = 0; n <= max; n++) {
		if (!stream_read(s, w, 4))
			return false;
		*mark = get32(w);
		if (*mark)
			return true;
		s->zeros++;
	}
	return false;
}

/* a NULL reply to @xid is the next record, after any empty fragments */
static bool null_reply_next(struct stream *s, uint32_t xid)
{
	unsigned char b[NULL_REPLY_PAYLOAD];
	uint32_t mark;

	return next_mark(s, FLOOD_MAX, &mark) &&
	       mark == (0x80000000u | NULL_REPLY_PAYLOAD) &&
	       stream_read(s, b, sizeof(b)) && get32(b) == xid &&
	       !get32(b + 8) && !get32(b + 20);
}

static void test_empty_fragments_raw(void)
{
	static struct stream s;
	struct timeval tv = { .tv_usec = 300000 };
	uint64_t sent = stat_get("empty_fragments"), before, after, drained;
	uint32_t mark;
	int i;

	s.fd = raw_connect();
	CHECK(s.fd >= 0, "raw connect");
	if (s.fd < 0)
		return;
	cmd_ok("empty-fragments");
	/* a flood, with nothing asked */
	CHECK(!next_mark(&s, 100000, &mark) && !s.torn && s.zeros > 100000,
	      "only empty fragments: %" PRIu64, s.zeros);
	/* calls still go and come back, between whole records */
	for (i = 0; i < 3; i++) {
		before = s.zeros;
		CHECK(send_raw_null(s.fd, 0xef000000u + (uint32_t)i) &&
		      null_reply_next(&s, 0xef000000u + (uint32_t)i),
		      "NULL %d answered in the flood", i);
		after = s.zeros;
		CHECK(!next_mark(&s, 1000, &mark) && !s.torn &&
		      s.zeros - after == 1001,
		      "reply %d: %" PRIu64 " empty fragments before it, %"
		      PRIu64 " after", i, after - before, s.zeros - after);
	}
	cmd_ok("disarm");
	/* what was on its way drains in whole marks, then silence */
	setsockopt(s.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	drained = s.zeros;
	errno = 0;
	CHECK(!next_mark(&s, FLOOD_MAX, &mark) && !s.torn &&
	      (errno == EAGAIN || errno == EWOULDBLOCK),
	      "after disarm: %" PRIu64 " whole empty fragments, then quiet"
	      " (%s)", s.zeros - drained, s.torn ? "torn" : strerror(errno));
	CHECK(stat_get("empty_fragments") - sent == s.zeros,
	      "the proxy counted %" PRIu64 ", the client read %" PRIu64,
	      stat_get("empty_fragments") - sent, s.zeros);
	before = s.zeros;
	CHECK(send_raw_null(s.fd, 0xef000010u) &&
	      null_reply_next(&s, 0xef000010u) && s.zeros == before,
	      "after disarm: the reply alone");
	CHECK(!next_mark(&s, 0, &mark) && !s.torn && s.zeros == before,
	      "and nothing after it");
	printf("empty-fragments: %" PRIu64 " read, replies whole between"
	       " them, none after disarm\n", s.zeros);
	close(s.fd);
}

static void test_empty_fragments(const char *name)
{
	static struct op n;	/* libnfs may cancel it at destroy */
	const char *err;
	bool ok;

	/* libnfs's connection would get them too */
	tnfs_disconnect();
	CHECK(stat_wait("connections", 0, WAIT_MS), "libnfs gone");
	test_empty_fragments_raw();

	/* libnfs 4.0 takes an empty fragment for a hang-up, and fails */
	if (tnfs_connect_retries(name, 0)) {
		CHECK(0, "connect, no retries");
		return;
	}
	cmd_ok("empty-fragments");
	send_null(&n);
	ok = service(&n, 1, WAIT_MS);
	err = service_error();
	CHECK((ok && n.status == RPC_STATUS_ERROR) || (!ok && err),
	      "libnfs: done %d rpc status %d, nfs_service: %s", n.done,
	      n.status, err ? err : "no error");
	cmd_ok("disarm");
	tnfs_disconnect();
	if (tnfs_connect(name)) {
		CHECK(0, "connect after disarm");
		return;
	}
	check_read(0, CHUNK, "READ after empty-fragments");
}

int main(void)
{
	const char *dir = getenv("NFS_TEST_DIR");
	char name[64];

	if (!dir) {
		fprintf(stderr, "set NFS_TEST_DIR to the server's state dir\n");
		return 1;
	}
	snprintf(name, sizeof(name), "fault-proxy-garble-%d",
		 (int)getpid());
	if (make_file(dir, name)) {
		fprintf(stderr, "cannot create %s: %s\n", disk_path,
			strerror(errno));
		return 1;
	}
	if (proxy_start())
		goto out_file;
	if (tnfs_connect(name)) {
		CHECK(0, "mount and open through the proxy");
		goto out_nfs;
	}
	test_commands();
	test_garble_reply();
	test_short_read();
	test_empty_fragments(name);
	CHECK(stat_wait("connections", 1, WAIT_MS), "raw connections gone");
out_nfs:
	tnfs_disconnect();
	CHECK(proxy_stop() == 0, "proxy quit cleanly");
out_file:
	unlink(disk_path);
	return check_report("test_fault_proxy_garble");
}
