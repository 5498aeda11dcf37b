// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * nfs_fault_proxy's one-shot faults (cut-reply, cut-call, stall-reply,
 * corrupt-reply, error-reply, short-write) against a real ganesha,
 * checked from what a client sees: libnfs's raw NFSv3 API, and a bare
 * socket where the exact bytes matter.
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
#include <unistd.h>

#include "../check.h"
#include "fault_proxy_harness.h"

#define NULL_REPLY_LEN	28	/* marker + xid .. accept_stat, AUTH_NONE */
#define VERF_FLIP	0xa5	/* the proxy's short-write verifier flip */
#define STALL_MS	1500

static char real_verf[NFS3_WRITEVERFSIZE];
static char pat[4][CHUNK];

static void cmd_ok(const char *c)
{
	char reply[256];
	int ret = cmd(c, reply, sizeof(reply));

	CHECK(ret == 0, "'%s' -> %d '%s'", c, ret, reply);
}

static void cmd_usage(const char *c)
{
	char reply[256];
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

/* a READ through libnfs gets what the server's disk holds */
static void check_read(uint64_t off, uint32_t len, const char *what)
{
	static char buf[CHUNK];
	struct op r;

	send_read(&r, off, buf, len);
	CHECK(service(&r, 1, WAIT_MS), "%s: read completed", what);
	check_ok(&r, what);
	CHECK(r.count == len && disk_has(off, buf, len),
	      "%s: read matches the disk (%u bytes)", what, r.count);
}

/* ---- bare socket ---- */

static bool send_null_record(int fd, uint32_t xid)
{
	struct rec r = { .len = 4 };
	uint32_t mark;

	call_header(&r, xid, 0, false);
	mark = 0x80000000u | (uint32_t)(r.len - 4);
	r.b[0] = mark >> 24;
	r.b[1] = mark >> 16;
	r.b[2] = mark >> 8;
	r.b[3] = mark;
	return send(fd, r.b, r.len, MSG_NOSIGNAL) == (ssize_t)r.len;
}

/* read until the connection fails; bytes read, *err the errno (0: EOF) */
static size_t recv_until_error(int fd, unsigned char *b, size_t cap,
			       int *err)
{
	size_t got = 0;

	for (;;) {
		ssize_t r = recv(fd, b + got, cap - got, 0);

		if (r > 0 && (got += (size_t)r) < cap)
			continue;
		*err = r < 0 ? errno : 0;
		return got;
	}
}

/* ---- (1) the control syntax ---- */

static void test_commands(void)
{
	static const char *const bad[] = {
		"cut-reply", "cut-reply read", "cut-reply lookup 4",
		"cut-reply read -1", "cut-reply read 4 5", "cut-call write x",
		"stall-reply read 4", "stall-reply read 4 600001",
		"corrupt-reply read", "corrupt-reply read crc",
		"error-reply read", "error-reply read 0",
		"error-reply read 4294967296", "short-write now",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cmd_usage(bad[i]);
	CHECK(stat_get("faults_armed") == 0, "bad commands armed nothing");
	CHECK(stat_get("accepted") == 1 && stat_get("faults_fired") == 0,
	      "status: accepted %" PRIu64 " faults_fired %" PRIu64,
	      stat_get("accepted"), stat_get("faults_fired"));

	/* disarm takes back every one-shot fault */
	cmd_ok("cut-reply read 0");
	cmd_ok("cut-call any 0");
	cmd_ok("stall-reply any 0 5000");
	cmd_ok("corrupt-reply any xid");
	cmd_ok("error-reply getattr 5");
	cmd_ok("short-write");
	CHECK(stat_get("faults_armed") == 6, "six faults armed");
	cmd_ok("disarm");
	CHECK(stat_get("faults_armed") == 0, "disarm cleared them");
	check_read(0, CHUNK, "read after disarm");
	CHECK(stat_get("accepted") == 1 && stat_get("faults_fired") == 0,
	      "no fault fired after disarm");
	printf("commands: ok\n");
}

/* ---- (2) cut-reply, cut-call ---- */

/* exactly BYTES of the reply, counted from its record mark, then RST */
static void test_cut_reply_bytes(void)
{
	static const unsigned long bytes[] = { 0, 2, 4, 17, 27, 28, 40 };
	unsigned char b[64];
	size_t i, got, want;
	int fd, err;

	for (i = 0; i < sizeof(bytes) / sizeof(bytes[0]); i++) {
		char c[40];

		snprintf(c, sizeof(c), "cut-reply any %lu", bytes[i]);
		fd = raw_connect();
		CHECK(fd >= 0, "raw connect");
		if (fd < 0)
			return;
		cmd_ok(c);
		CHECK(send_null_record(fd, 0xc0700000u + (uint32_t)i),
		      "send NULL");
		got = recv_until_error(fd, b, sizeof(b), &err);
		want = bytes[i] < NULL_REPLY_LEN ? bytes[i] : NULL_REPLY_LEN;
		CHECK(got == want && err == ECONNRESET,
		      "cut-reply %lu: got %zu bytes (want %zu), then %s",
		      bytes[i], got, want, err ? strerror(err) : "EOF");
		if (got >= 8)
			CHECK(b[4] == 0xc0 && b[5] == 0x70,
			      "cut-reply %lu: the bytes are the reply's",
			      bytes[i]);
		close(fd);
	}
	CHECK(stat_get("faults_fired") == i, "%zu cuts fired", i);
	printf("cut-reply: exact byte counts 0..40 then ECONNRESET: ok\n");
}

static void test_cut_reply_libnfs(const char *name)
{
	uint64_t accepted = stat_get("accepted");
	uint64_t fired = stat_get("faults_fired");
	uint64_t writes;
	static char buf[CHUNK];
	static struct op r;	/* libnfs may cancel it at destroy */
	const char *err;
	struct op w;
	bool ok;

	/*
	 * Without reconnects the READ in flight ends in a transport error:
	 * libnfs 4.0 fails the call, or (on POLLHUP) only nfs_service().
	 */
	tnfs_disconnect();
	CHECK(tnfs_connect_retries(name, 0) == 0, "reconnect, no retries");
	CHECK(stat_get("accepted") == accepted + 1, "accepted counts it");
	cmd_ok("cut-reply read 10");
	send_read(&r, 0, buf, CHUNK);
	ok = service(&r, 1, WAIT_MS);
	err = service_error();
	CHECK((ok && r.status == RPC_STATUS_ERROR) || (!ok && err),
	      "cut READ: done %d rpc status %d, nfs_service: %s", r.done,
	      r.status, err ? err : "no error");
	CHECK(stat_get("faults_fired") == fired + 1, "cut-reply fired");
	CHECK(stat_wait("connections", 0, WAIT_MS), "connection reset");

	/* a client that reconnects is served again */
	tnfs_disconnect();
	CHECK(tnfs_connect(name) == 0, "reconnect after the cut");
	CHECK(stat_get("accepted") == accepted + 2, "accepted: %" PRIu64,
	      stat_get("accepted") - accepted);
	check_read(0, CHUNK, "read after cut-reply");

	/*
	 * libnfs's own reconnect: the WRITE is re-sent.  Cut at the record
	 * boundary: libnfs 4.0 keeps a half-read record across its
	 * reconnect (fixed in 5.0.3) and would splice the next reply onto
	 * it.  Mid-record cuts are test_cut_reply_bytes'.
	 */
	fill(pat[0], CHUNK, 11);
	writes = stat_get("writes");
	cmd_ok("cut-reply write 0");
	send_write(&w, 2 * CHUNK, pat[0], CHUNK, FILE_SYNC);
	CHECK(service(&w, 1, WAIT_MS), "WRITE through a cut completed");
	check_ok(&w, "WRITE through a cut-reply");
	CHECK(w.count == CHUNK, "count %u", w.count);
	CHECK(stat_get("writes") == writes + 2, "WRITE sent twice: %" PRIu64,
	      stat_get("writes") - writes);
	CHECK(stat_get("accepted") == accepted + 3, "libnfs reconnected");
	CHECK(stat_get("faults_fired") == fired + 2, "second cut fired");
	CHECK(disk_has(2 * CHUNK, pat[0], CHUNK), "WRITE on the disk");
	printf("cut-reply: transport error, reconnect, re-send: ok\n");
}

static void test_cut_call(void)
{
	uint64_t accepted = stat_get("accepted");
	uint64_t fired = stat_get("faults_fired");
	uint64_t writes = stat_get("writes");
	unsigned char b[64];
	struct op w;
	int fd, err;

	/* the call goes out 10 bytes long: the client hears only RST */
	fd = raw_connect();
	CHECK(fd >= 0, "raw connect");
	cmd_ok("cut-call any 10");
	CHECK(fd >= 0 && send_null_record(fd, 0xc0710000u), "send NULL");
	CHECK(fd >= 0 && recv_until_error(fd, b, sizeof(b), &err) == 0 &&
	      err == ECONNRESET, "cut-call: no reply, then ECONNRESET");
	if (fd >= 0)
		close(fd);
	CHECK(stat_get("faults_fired") == fired + 1, "cut-call fired");

	/* half a WRITE reaches ganesha; libnfs reconnects and re-sends */
	fill(pat[1], CHUNK, 12);
	cmd_ok("cut-call write 100");
	send_write(&w, 3 * CHUNK, pat[1], CHUNK, FILE_SYNC);
	CHECK(service(&w, 1, WAIT_MS), "cut WRITE completed");
	check_ok(&w, "WRITE through a cut-call");
	CHECK(stat_get("writes") == writes + 2, "WRITE sent twice: %" PRIu64,
	      stat_get("writes") - writes);
	CHECK(stat_get("accepted") == accepted + 2, "two new connections");
	CHECK(stat_get("faults_fired") == fired + 2, "cut-call fired twice");
	CHECK(disk_has(3 * CHUNK, pat[1], CHUNK), "WRITE on the disk");
	printf("cut-call: ok\n");
}

/* ---- (3) stall-reply ---- */

static void test_stall_reply(void)
{
	uint64_t replies = stat_get("replies"), accepted = stat_get("accepted");
	uint64_t fired = stat_get("faults_fired"), t0, t_disk = 0;
	static char buf[CHUNK];
	struct op ops[3];	/* READ, NULL, WRITE */
	uint64_t end;
	char c[40];

	fill(pat[2], CHUNK, 13);
	snprintf(c, sizeof(c), "stall-reply read 100 %u", STALL_MS);
	cmd_ok(c);
	t0 = now_ms();
	send_read(&ops[0], 0, buf, CHUNK);
	/* the READ's reply has reached the proxy, 100 bytes went on */
	end = now_ms() + WAIT_MS;
	while (stat_get("faults_fired") == fired && now_ms() < end)
		service(ops, 1, 10);
	CHECK(stat_get("faults_fired") == fired + 1, "stall-reply fired");
	send_null(&ops[1]);
	send_write(&ops[2], 4 * CHUNK, pat[2], CHUNK, FILE_SYNC);

	/* upstream keeps flowing: the WRITE lands while its reply waits */
	while (now_ms() < end && !all_done(ops, 3)) {
		service(ops, 3, 10);
		if (!t_disk && disk_has(4 * CHUNK, pat[2], CHUNK))
			t_disk = now_ms();
		if (t_disk && stat_get("replies") == replies + 3)
			break;
	}
	CHECK(t_disk && !ops[0].done && !ops[1].done && !ops[2].done,
	      "WRITE on disk at %" PRIu64 " ms, nothing answered yet",
	      t_disk - t0);
	CHECK(stat_get("replies") == replies + 3,
	      "the proxy holds all three replies");
	CHECK(service(ops, 3, WAIT_MS), "all answered after the stall");
	check_ok(&ops[0], "stalled READ");
	check_ok(&ops[1], "NULL behind it");
	check_ok(&ops[2], "WRITE behind it");
	CHECK(ops[0].count == CHUNK && disk_has(0, buf, CHUNK),
	      "stalled READ has the disk's data");
	CHECK(ops[0].t_done - t0 >= STALL_MS &&
	      ops[0].t_done - t0 < STALL_MS + 5000,
	      "READ answered after %" PRIu64 " ms", ops[0].t_done - t0);
	CHECK(ops[1].t_done >= ops[0].t_done &&
	      ops[2].t_done >= ops[0].t_done, "later replies queued behind");
	CHECK(stat_get("connections") == 1 &&
	      stat_get("accepted") == accepted, "the connection survived");
	printf("stall-reply: READ answered after %" PRIu64 " ms, the WRITE"
	       " behind it on disk after %" PRIu64 " ms\n",
	       ops[0].t_done - t0, t_disk - t0);
}

/* ---- (4) corrupt-reply ---- */

static void test_corrupt_xid(void)
{
	uint64_t replies = stat_get("replies");
	static struct op g;	/* libnfs holds it until re-sent */
	struct op n;
	uint64_t end;

	cmd_ok("corrupt-reply getattr xid");
	send_getattr(&g);
	end = now_ms() + WAIT_MS;
	while (stat_get("replies") == replies && now_ms() < end)
		service(&g, 1, 10);
	CHECK(stat_get("replies") == replies + 1, "GETATTR reply passed");
	/* the same connection still answers what matches */
	send_null(&n);
	CHECK(service(&n, 1, WAIT_MS), "NULL after it answered");
	check_ok(&n, "NULL after a corrupt xid");
	CHECK(!g.done, "the GETATTR is never answered");
	CHECK(!service(&g, 1, 300), "... not even 300 ms later");
	/* a reconnect re-sends it */
	cmd_ok("cut");
	CHECK(service(&g, 1, WAIT_MS), "GETATTR answered after a cut");
	check_ok(&g, "re-sent GETATTR");
	printf("corrupt-reply xid: ok\n");
}

static void test_corrupt_length(const char *name)
{
	uint64_t replies = stat_get("replies");
	static char buf[4096];
	static struct op r;
	unsigned char h[4];
	uint32_t mark;
	uint64_t end;
	int fd;

	/* the record mark: 4096 too long, still the last fragment */
	fd = raw_connect();
	CHECK(fd >= 0, "raw connect");
	cmd_ok("corrupt-reply any length");
	CHECK(fd >= 0 && send_null_record(fd, 0xc0720000u), "send NULL");
	CHECK(fd >= 0 && recv_all(fd, h, 4), "record mark received");
	mark = (uint32_t)h[0] << 24 | h[1] << 16 | h[2] << 8 | h[3];
	CHECK(mark == (0x80000000u | (NULL_REPLY_LEN - 4 + 4096)),
	      "record mark %08" PRIx32, mark);
	if (fd >= 0)
		close(fd);

	/* libnfs waits for 4096 bytes that are not coming */
	replies = stat_get("replies");
	cmd_ok("corrupt-reply read length");
	send_read(&r, 0, buf, sizeof(buf));
	end = now_ms() + WAIT_MS;
	while (stat_get("replies") == replies && now_ms() < end)
		service(&r, 1, 10);
	CHECK(stat_get("replies") == replies + 1, "READ reply passed");
	CHECK(!service(&r, 1, 300), "READ not answered: framing lost");
	/*
	 * A new client, not a cut: libnfs 4.0 would carry the half-read
	 * record into its reconnect (see test_cut_reply_libnfs).
	 */
	tnfs_disconnect();
	CHECK(r.done && r.status == RPC_STATUS_CANCEL,
	      "READ cancelled at disconnect");
	CHECK(tnfs_connect(name) == 0, "connect after corrupt-reply length");
	check_read(0, sizeof(buf), "read after corrupt-reply length");
	printf("corrupt-reply length: ok\n");
}

/* ---- (5) error-reply ---- */

static void test_error_reply(void)
{
	uint64_t fired = stat_get("faults_fired");
	static char buf[CHUNK];
	struct op op;

	cmd_ok("error-reply read 5");
	send_read(&op, 0, buf, CHUNK);
	CHECK(service(&op, 1, WAIT_MS) && op.status == RPC_STATUS_SUCCESS &&
	      op.tnfs_status == NFS3ERR_IO, "READ: nfsstat %d", op.tnfs_status);

	/* not forwarded: the disk never sees this WRITE */
	fill(pat[3], CHUNK, 14);
	cmd_ok("error-reply write 10008");
	send_write(&op, 5 * CHUNK, pat[3], CHUNK, FILE_SYNC);
	CHECK(service(&op, 1, WAIT_MS) && op.status == RPC_STATUS_SUCCESS &&
	      op.tnfs_status == NFS3ERR_JUKEBOX, "WRITE: nfsstat %d",
	      op.tnfs_status);
	CHECK(!disk_has(5 * CHUNK, pat[3], CHUNK), "WRITE not executed");

	cmd_ok("error-reply commit 70");
	send_commit(&op);
	CHECK(service(&op, 1, WAIT_MS) && op.status == RPC_STATUS_SUCCESS &&
	      op.tnfs_status == NFS3ERR_STALE, "COMMIT: nfsstat %d",
	      op.tnfs_status);

	cmd_ok("error-reply getattr 70");
	send_getattr(&op);
	CHECK(service(&op, 1, WAIT_MS) && op.status == RPC_STATUS_SUCCESS &&
	      op.tnfs_status == NFS3ERR_STALE, "GETATTR: nfsstat %d",
	      op.tnfs_status);

	/* one-shot: the next READ is the server's again */
	check_read(0, CHUNK, "read after error-reply");
	CHECK(stat_get("faults_fired") == fired + 4, "four error replies");
	printf("error-reply: READ IO, WRITE JUKEBOX, COMMIT and GETATTR"
	       " STALE: ok\n");
}

/* ---- (6) short-write ---- */

static void test_short_write(void)
{
	uint64_t fired = stat_get("faults_fired");
	char flipped[NFS3_WRITEVERFSIZE];
	struct op w, c;
	int i;

	for (i = 0; i < NFS3_WRITEVERFSIZE; i++)
		flipped[i] = (char)(real_verf[i] ^ VERF_FLIP);
	fill(pat[0], CHUNK, 15);
	cmd_ok("short-write");
	send_write(&w, 6 * CHUNK, pat[0], CHUNK, UNSTABLE);
	CHECK(service(&w, 1, WAIT_MS), "short WRITE completed");
	check_ok(&w, "short WRITE");
	CHECK(w.count == CHUNK / 2, "short WRITE count %u", w.count);
	CHECK(!memcmp(w.verf, real_verf, NFS3_WRITEVERFSIZE),
	      "the short reply keeps the server's verifier");
	CHECK(stat_get("verf_flip") == 1 &&
	      stat_get("faults_fired") == fired + 1, "short-write fired");

	/* the rest, as a client re-sends it: a new verifier */
	send_write(&w, 6 * CHUNK + CHUNK / 2, pat[0] + CHUNK / 2, CHUNK / 2,
		   UNSTABLE);
	CHECK(service(&w, 1, WAIT_MS), "rest of the WRITE completed");
	check_ok(&w, "rest of the WRITE");
	CHECK(w.count == CHUNK / 2, "rest count %u", w.count);
	CHECK(memcmp(w.verf, real_verf, NFS3_WRITEVERFSIZE) &&
	      !memcmp(w.verf, flipped, NFS3_WRITEVERFSIZE),
	      "later WRITE verifier differs from the first");
	send_commit(&c);
	CHECK(service(&c, 1, WAIT_MS), "COMMIT completed");
	check_ok(&c, "COMMIT after short-write");
	CHECK(!memcmp(c.verf, flipped, NFS3_WRITEVERFSIZE),
	      "COMMIT verifier flipped too");
	CHECK(disk_has(6 * CHUNK, pat[0], CHUNK),
	      "the short WRITE really wrote all of it");

	cmd_ok("disarm");
	CHECK(stat_get("verf_flip") == 0, "disarm ends the flip");
	send_write(&w, 7 * CHUNK, pat[0], CHUNK, UNSTABLE);
	CHECK(service(&w, 1, WAIT_MS), "WRITE after disarm completed");
	check_ok(&w, "WRITE after disarm");
	CHECK(w.count == CHUNK &&
	      !memcmp(w.verf, real_verf, NFS3_WRITEVERFSIZE),
	      "after disarm: whole count, the server's verifier");
	printf("short-write: count %u, verifier flipped until disarm: ok\n",
	       CHUNK / 2);
}

/* the server's verifier, from a plain WRITE */
static int learn_verifier(void)
{
	struct op w;

	fill(pat[0], CHUNK, 10);
	send_write(&w, 15 * CHUNK, pat[0], CHUNK, UNSTABLE);
	if (!service(&w, 1, WAIT_MS) || w.status != RPC_STATUS_SUCCESS ||
	    w.tnfs_status != NFS3_OK)
		return -1;
	memcpy(real_verf, w.verf, sizeof(real_verf));
	return 0;
}

int main(void)
{
	const char *dir = getenv("NFS_TEST_DIR");
	char name[64];

	if (!dir) {
		fprintf(stderr, "set NFS_TEST_DIR to the server's state dir\n");
		return 1;
	}
	snprintf(name, sizeof(name), "fault-proxy-faults-%d", (int)getpid());
	if (make_file(dir, name)) {
		fprintf(stderr, "cannot create %s: %s\n", disk_path,
			strerror(errno));
		return 1;
	}
	if (proxy_start())
		goto out_file;
	if (tnfs_connect(name) || learn_verifier()) {
		CHECK(0, "mount, open and write through the proxy");
		goto out_nfs;
	}
	test_commands();
	test_cut_reply_bytes();
	test_cut_reply_libnfs(name);
	test_cut_call();
	test_stall_reply();
	test_corrupt_xid();
	test_corrupt_length(name);
	test_error_reply();
	test_short_write();
	CHECK(stat_wait("connections", 1, WAIT_MS), "raw connections gone");
out_nfs:
	tnfs_disconnect();
	CHECK(proxy_stop() == 0, "proxy quit cleanly");
out_file:
	unlink(disk_path);
	return check_report("test_fault_proxy_faults");
}
