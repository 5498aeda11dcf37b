// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * nfs_fault_proxy playing a slow or refusing server: delay-reply,
 * reject-reply, stale-for and error-reply with a COUNT, against a real
 * ganesha, checked from what a client sees: libnfs's raw NFSv3 API, and
 * a bare socket where the exact bytes matter.
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

#define FAST_MS		500	/* a reply nothing holds comes before this */
#define DELAY_MS	1000
#define STALE_MS	1500

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

static void check_nfs_error(const struct op *op, int want, const char *what)
{
	CHECK(op->done && op->status == RPC_STATUS_SUCCESS &&
	      op->tnfs_status == want, "%s: done %d rpc %d nfs %d, want %d",
	      what, op->done, op->status, op->tnfs_status, want);
}

/* a READ through libnfs: @len bytes of what the disk holds, not at eof */
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
		"delay-reply", "delay-reply read", "delay-reply lookup 5",
		"delay-reply read 600001", "delay-reply read -1",
		"delay-reply read 5 6",
		"reject-reply read", "reject-reply read nope",
		"reject-reply read garbage-args 0",
		"reject-reply read garbage-args x",
		"reject-reply lookup garbage-args",
		"stale-for", "stale-for 600001", "stale-for x",
		"stale-for 5 all", "stale-for 5 io x",
		"error-reply read 5 0", "error-reply read 5 x",
	};
	uint64_t fired = stat_get("faults_fired");
	struct op g;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cmd_usage(bad[i]);
	CHECK(stat_get("faults_armed") == 0, "bad commands armed nothing");

	cmd_ok("delay-reply commit 100");
	cmd_ok("delay-reply any 100");		/* one mode however many */
	cmd_ok("reject-reply getattr system-err");
	cmd_ok("reject-reply read garbage-args 2");	/* replaces it */
	cmd_ok("stale-for 600000");
	cmd_ok("error-reply write 5 every");
	CHECK(stat_get("faults_armed") == 4, "four armed: %" PRIu64,
	      stat_get("faults_armed"));
	cmd_ok("disarm");
	CHECK(stat_get("faults_armed") == 0, "disarm cleared them");
	send_getattr(&g);
	CHECK(service(&g, 1, WAIT_MS), "GETATTR after disarm");
	check_ok(&g, "GETATTR after disarm");
	CHECK(stat_get("faults_fired") == fired &&
	      stat_get("delayed_replies") == 0, "nothing fired or held");
	printf("commands: ok\n");
}

/* ---- (2) delay-reply ---- */

static void test_delay_reply(void)
{
	uint64_t delayed = stat_get("delayed_replies"), t0, t_disarm;
	static char buf[CHUNK];
	struct op ops[3];	/* COMMIT, READ, GETATTR */

	cmd_ok("delay-reply commit 1000");
	t0 = now_ms();
	send_commit(&ops[0]);
	send_read(&ops[1], 0, buf, CHUNK);
	send_getattr(&ops[2]);
	/* the READ and GETATTR replies overtake the held COMMIT's */
	CHECK(service(ops + 1, 2, WAIT_MS), "READ and GETATTR answered");
	check_ok(&ops[1], "READ beside a slow COMMIT");
	check_ok(&ops[2], "GETATTR beside a slow COMMIT");
	CHECK(ops[1].t_done - t0 < FAST_MS && ops[2].t_done - t0 < FAST_MS,
	      "READ after %" PRIu64 " ms, GETATTR after %" PRIu64 " ms",
	      ops[1].t_done - t0, ops[2].t_done - t0);
	CHECK(!ops[0].done, "the COMMIT is still held");
	CHECK(service(ops, 1, WAIT_MS), "COMMIT answered");
	check_ok(&ops[0], "slow COMMIT");
	CHECK(ops[0].t_done - t0 >= DELAY_MS &&
	      ops[0].t_done - t0 < DELAY_MS + 5000,
	      "COMMIT answered after %" PRIu64 " ms", ops[0].t_done - t0);
	CHECK(stat_get("delayed_replies") == delayed + 1, "one held");
	printf("delay-reply commit 1000: COMMIT after %" PRIu64 " ms, READ"
	       " after %" PRIu64 " ms\n", ops[0].t_done - t0,
	       ops[1].t_done - t0);

	/* persistent, until "delay-reply commit 0" */
	t0 = now_ms();
	send_commit(&ops[0]);
	CHECK(service(ops, 1, WAIT_MS) && ops[0].t_done - t0 >= DELAY_MS,
	      "second COMMIT held too: %" PRIu64 " ms", ops[0].t_done - t0);
	cmd_ok("delay-reply commit 0");
	t0 = now_ms();
	send_commit(&ops[0]);
	CHECK(service(ops, 1, WAIT_MS) && ops[0].t_done - t0 < FAST_MS,
	      "delay-reply commit 0: %" PRIu64 " ms", ops[0].t_done - t0);
	check_ok(&ops[0], "COMMIT after delay-reply 0");

	/* "any" holds every procedure's, NULL's too */
	cmd_ok("delay-reply any 300");
	t0 = now_ms();
	send_null(&ops[0]);
	CHECK(service(ops, 1, WAIT_MS) && ops[0].t_done - t0 >= 300,
	      "delay-reply any 300: NULL after %" PRIu64 " ms",
	      ops[0].t_done - t0);
	cmd_ok("delay-reply any 0");

	/* disarm lets a held reply go at once */
	delayed = stat_get("delayed_replies");
	cmd_ok("delay-reply getattr 600000");
	send_getattr(&ops[2]);
	t0 = now_ms();
	while (stat_get("delayed_replies") == delayed &&
	       now_ms() < t0 + WAIT_MS)
		service(ops + 2, 1, 10);
	CHECK(stat_get("delayed_replies") == delayed + 1, "GETATTR held");
	CHECK(!service(ops + 2, 1, 200), "... and not answered");
	t_disarm = now_ms();
	cmd_ok("disarm");
	CHECK(service(ops + 2, 1, WAIT_MS) &&
	      ops[2].t_done - t_disarm < FAST_MS,
	      "GETATTR answered %" PRId64 " ms after disarm",
	      (int64_t)(ops[2].t_done - t_disarm));
	check_ok(&ops[2], "GETATTR held until disarm");
	printf("delay-reply: persistent, any, released by disarm: ok\n");
}


/* ---- (3) reject-reply ---- */

static void test_reject_raw(void)
{
	static const struct {
		const char *kind;
		uint32_t words[7];	/* after the xid */
		size_t n;
	} want[] = {
		{ "rpc-mismatch", { 1, 1, 0, 2, 2 }, 5 },
		{ "auth-error", { 1, 1, 1, 1 }, 4 },
		{ "prog-unavail", { 1, 0, 0, 0, 1 }, 5 },
		{ "prog-mismatch", { 1, 0, 0, 0, 2, 3, 3 }, 7 },
		{ "proc-unavail", { 1, 0, 0, 0, 3 }, 5 },
		{ "garbage-args", { 1, 0, 0, 0, 4 }, 5 },
		{ "system-err", { 1, 0, 0, 0, 5 }, 5 },
	};
	uint64_t fired = stat_get("faults_fired");
	struct rec r = { .len = 0 };
	size_t i, k;
	char c[64];
	int fd = raw_connect();

	CHECK(fd >= 0, "raw connect");
	if (fd < 0)
		return;
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		uint32_t xid = 0x7e000000u + (uint32_t)i;
		bool same;

		snprintf(c, sizeof(c), "reject-reply any %s 1", want[i].kind);
		cmd_ok(c);
		CHECK(send_raw_null(fd, xid) && recv_rec(fd, &r),
		      "%s: a reply", want[i].kind);
		same = r.len == 4 + 4 * want[i].n && get32(r.b) == xid;
		for (k = 0; same && k < want[i].n; k++)
			same = get32(r.b + 4 + 4 * k) == want[i].words[k];
		CHECK(same, "%s: %zu bytes, word 2 %08" PRIx32, want[i].kind,
		      r.len, r.len >= 12 ? get32(r.b + 8) : 0);
	}
	/* COUNT 1 each: the next NULL is the server's */
	CHECK(stat_get("faults_armed") == 0, "each fired once");
	CHECK(send_raw_null(fd, 0x7e000100) && recv_rec(fd, &r) &&
	      rpc_ok(&r, 0x7e000100) && r.len == NULL_REPLY_PAYLOAD,
	      "NULL passes after them");
	CHECK(stat_get("faults_fired") == fired + i, "%zu rejected", i);
	close(fd);
}

static void test_reject_reply(void)
{
	static const struct {
		const char *kind, *libnfs_says;
	} kinds[] = {
		{ "rpc-mismatch", "RPC Packet not accepted" },
		{ "auth-error", "RPC Packet not accepted" },
		{ "prog-unavail", "Program not available" },
		{ "prog-mismatch", "Program version mismatch" },
		{ "proc-unavail", "Procedure not available" },
		{ "garbage-args", "Garbage arguments" },
		{ "system-err", "System Error" },
	};
	uint64_t fired, calls;
	static char buf[CHUNK];
	struct op op;
	size_t i;
	char c[64];

	test_reject_raw();

	/* what libnfs makes of each */
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		snprintf(c, sizeof(c), "reject-reply getattr %s 1",
			 kinds[i].kind);
		cmd_ok(c);
		send_getattr(&op);
		CHECK(service(&op, 1, WAIT_MS) &&
		      op.status == RPC_STATUS_ERROR &&
		      strstr(op.err, kinds[i].libnfs_says),
		      "%s: rpc status %d '%s'", kinds[i].kind, op.status,
		      op.err);
	}

	/* COUNT: two READs refused, the third the server's */
	fired = stat_get("faults_fired");
	calls = stat_get("calls");
	cmd_ok("reject-reply read garbage-args 2");
	for (i = 0; i < 2; i++) {
		send_read(&op, 0, buf, CHUNK);
		CHECK(service(&op, 1, WAIT_MS) &&
		      op.status == RPC_STATUS_ERROR,
		      "READ %zu refused: rpc status %d", i, op.status);
	}
	check_read(0, CHUNK, "third READ");
	CHECK(stat_get("faults_fired") == fired + 2 &&
	      stat_get("calls") == calls + 3, "two rejected of three");

	/* every, until disarm; a refused WRITE never reaches the disk */
	fill(pat[1], CHUNK, 22);
	cmd_ok("reject-reply write system-err");
	for (i = 0; i < 2; i++) {
		send_write(&op, 10 * CHUNK, pat[1], CHUNK, FILE_SYNC);
		CHECK(service(&op, 1, WAIT_MS) &&
		      op.status == RPC_STATUS_ERROR &&
		      strstr(op.err, "System Error"),
		      "WRITE %zu refused: rpc status %d", i, op.status);
	}
	CHECK(!disk_has(10 * CHUNK, pat[1], CHUNK), "no WRITE executed");
	cmd_ok("disarm");
	send_write(&op, 10 * CHUNK, pat[1], CHUNK, FILE_SYNC);
	CHECK(service(&op, 1, WAIT_MS), "WRITE after disarm");
	check_ok(&op, "WRITE after disarm");
	CHECK(disk_has(10 * CHUNK, pat[1], CHUNK), "and on the disk");
	printf("reject-reply: seven kinds byte for byte, COUNT, every: ok\n");
}

/* ---- (4) stale-for ---- */

static void test_stale_raw(void)
{
	static const struct {
		uint32_t proc;
		size_t len;		/* header, nfsstat3, attributes */
	} want[] = {
		{ NFS3_PROC_GETATTR, 24 + 4 },	/* nothing after */
		{ NFS3_PROC_READ, 24 + 4 + 4 },
		{ NFS3_PROC_COMMIT, 24 + 4 + 8 },
	};
	struct rec r = { .len = 0 };
	size_t i, k;
	int fd = raw_connect();

	CHECK(fd >= 0, "raw connect");
	if (fd < 0)
		return;
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		uint32_t xid = 0x57000000u + (uint32_t)i;
		bool zero = true;

		CHECK(send_raw_io(fd, xid, want[i].proc, 0, 0) &&
		      recv_rec(fd, &r) && r.len == want[i].len &&
		      get32(r.b) == xid && get32(r.b + 24) == NFS3ERR_STALE,
		      "stale proc %" PRIu32 ": %zu bytes", want[i].proc,
		      r.len);
		for (k = 28; k < r.len; k += 4)
			zero &= !get32(r.b + k);
		CHECK(zero, "proc %" PRIu32 ": attributes absent",
		      want[i].proc);
	}
	close(fd);
}

static void test_stale_for(void)
{
	uint64_t fired = stat_get("faults_fired"), t0, end;
	static char buf[CHUNK];
	struct op ops[6];	/* GETATTR READ WRITE COMMIT NULL LOOKUP */
	char c[32];
	int i;

	fill(pat[2], CHUNK, 23);
	snprintf(c, sizeof(c), "stale-for %u", STALE_MS);
	t0 = now_ms();
	cmd_ok(c);
	send_getattr(&ops[0]);
	send_read(&ops[1], 0, buf, CHUNK);
	send_write(&ops[2], 11 * CHUNK, pat[2], CHUNK, FILE_SYNC);
	send_commit(&ops[3]);
	send_null(&ops[4]);
	send_lookup(&ops[5], "x");
	CHECK(service(ops, 6, WAIT_MS), "all answered");
	for (i = 0; i < 4; i++)
		check_nfs_error(&ops[i], NFS3ERR_STALE, "stale call");
	check_ok(&ops[4], "NULL passes");
	check_nfs_error(&ops[5], NFS3ERR_NOTDIR, "LOOKUP reaches the server");
	CHECK(!disk_has(11 * CHUNK, pat[2], CHUNK), "the WRITE never ran");
	test_stale_raw();
	end = now_ms();
	CHECK(end - t0 < STALE_MS, "all within the %u ms (%" PRIu64 " ms)",
	      STALE_MS, end - t0);
	CHECK(stat_get("faults_fired") == fired + 7, "seven STALE: %" PRIu64,
	      stat_get("faults_fired") - fired);

	/* then it is over by itself */
	while (now_ms() < t0 + STALE_MS + 50)
		msleep(20);
	CHECK(stat_get("faults_armed") == 0, "stale-for over");
	send_getattr(&ops[0]);
	send_write(&ops[2], 11 * CHUNK, pat[2], CHUNK, FILE_SYNC);
	CHECK(service(ops, 1, WAIT_MS) && service(ops + 2, 1, WAIT_MS),
	      "answered after it");
	check_ok(&ops[0], "GETATTR after stale-for");
	check_ok(&ops[2], "WRITE after stale-for");
	CHECK(disk_has(11 * CHUNK, pat[2], CHUNK), "WRITE on the disk");

	/* stale-for 0 ends it early */
	cmd_ok("stale-for 60000");
	send_getattr(&ops[0]);
	CHECK(service(ops, 1, WAIT_MS), "GETATTR answered");
	check_nfs_error(&ops[0], NFS3ERR_STALE, "GETATTR in stale-for 60000");
	cmd_ok("stale-for 0");
	send_getattr(&ops[0]);
	CHECK(service(ops, 1, WAIT_MS), "GETATTR answered");
	check_ok(&ops[0], "GETATTR after stale-for 0");

	/* "io": the attributes still answered, the data not */
	cmd_ok("stale-for 60000 io");
	send_getattr(&ops[0]);
	send_read(&ops[1], 0, buf, CHUNK);
	CHECK(service(ops, 2, WAIT_MS), "answered in stale-for io");
	check_ok(&ops[0], "GETATTR in stale-for io");
	check_nfs_error(&ops[1], NFS3ERR_STALE, "READ in stale-for io");
	cmd_ok("stale-for 0");
	send_read(&ops[1], 0, buf, CHUNK);
	CHECK(service(ops + 1, 1, WAIT_MS), "READ answered");
	check_ok(&ops[1], "READ after stale-for io");
	printf("stale-for: GETATTR, READ, WRITE, COMMIT STALE for %u ms,"
	       " NULL and LOOKUP pass; io spares GETATTR: ok\n", STALE_MS);
}

/* ---- (5) error-reply COUNT ---- */

static void test_error_count(void)
{
	uint64_t fired = stat_get("faults_fired");
	static char buf[CHUNK];
	struct op op;
	int i;

	cmd_ok("error-reply getattr 10008 2");
	for (i = 0; i < 3; i++) {
		send_getattr(&op);
		CHECK(service(&op, 1, WAIT_MS), "GETATTR %d answered", i);
		if (i < 2)
			check_nfs_error(&op, NFS3ERR_JUKEBOX, "GETATTR");
		else
			check_ok(&op, "third GETATTR");
	}
	cmd_ok("error-reply read 5 every");
	for (i = 0; i < 3; i++) {
		send_read(&op, 0, buf, CHUNK);
		CHECK(service(&op, 1, WAIT_MS), "READ %d answered", i);
		check_nfs_error(&op, NFS3ERR_IO, "READ under every");
	}
	cmd_ok("disarm");
	check_read(0, CHUNK, "READ after disarm");
	CHECK(stat_get("faults_fired") == fired + 5, "five error replies");
	printf("error-reply COUNT and every: ok\n");
}

int main(void)
{
	const char *dir = getenv("NFS_TEST_DIR");
	char name[64];

	if (!dir) {
		fprintf(stderr, "set NFS_TEST_DIR to the server's state dir\n");
		return 1;
	}
	snprintf(name, sizeof(name), "fault-proxy-slow-%d",
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
	test_delay_reply();
	test_reject_reply();
	test_stale_for();
	test_error_count();
	CHECK(stat_wait("connections", 1, WAIT_MS), "raw connections gone");
out_nfs:
	tnfs_disconnect();
	CHECK(proxy_stop() == 0, "proxy quit cleanly");
out_file:
	unlink(disk_path);
	return check_report("test_fault_proxy_slow");
}
