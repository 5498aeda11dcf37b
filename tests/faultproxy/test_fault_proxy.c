// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * nfs_fault_proxy against a real ganesha, through libnfs's raw NFSv3 API
 * and through hand-made RPC records on a bare socket.
 *
 * Environment: NFS_TEST_DIR, the server's state dir (its export/ is
 * exported as /export on 127.0.0.1, NFS on 2049, MOUNT on 20048);
 * FAULT_PROXY_BIN, the proxy (default: nfs_fault_proxy next to this
 * program); FAULT_PROXY_VERBOSE=1 lets the proxy log to stderr.
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
#include "fault_proxy_client.h"
#include "fault_proxy_harness.h"

#define XID_BASE	0x7e570000u

static char real_verf[NFS3_WRITEVERFSIZE];

/* ---- the proxy ---- */

static void cmd_ok(const char *c)
{
	char reply[256];
	int ret = cmd(c, reply, sizeof(reply));

	CHECK(ret == 0, "'%s' -> %d '%s'", c, ret, reply);
}

/* ---- checks ---- */

static void check_ok(const struct op *op, const char *what, int i)
{
	CHECK(op->done && op->status == RPC_STATUS_SUCCESS &&
	      op->tnfs_status == NFS3_OK, "%s %d: done %d rpc %d nfs %d",
	      what, i, op->done, op->status, op->tnfs_status);
}

static void check_writes(const struct op *ops, int n, enum stable_how c,
			 const char *verf, const char *what)
{
	int i;

	for (i = 0; i < n; i++) {
		check_ok(&ops[i], what, i);
		CHECK(ops[i].count == CHUNK, "%s %d: count %u", what, i,
		      ops[i].count);
		CHECK(ops[i].committed == (uint32_t)c,
		      "%s %d: committed %u", what, i, ops[i].committed);
		CHECK(!memcmp(ops[i].verf, verf, NFS3_WRITEVERFSIZE),
		      "%s %d: verifier %.8s", what, i, ops[i].verf);
	}
}

static uint64_t null_rtt(unsigned int wait);

/* ---- (1) I/O passes through unchanged ---- */

static char pat[8][CHUNK];

static void test_passthrough(void)
{
	uint64_t calls0 = stat_get("calls"), writes0 = stat_get("writes");
	static char back[2 * CHUNK], big[FILE_SIZE / 2];
	struct op w[2], c, r;
	int i;

	fill(pat[1], CHUNK, 1);
	fill(pat[2], CHUNK, 2);
	send_write(&w[0], 0, pat[1], CHUNK, UNSTABLE);
	send_write(&w[1], CHUNK, pat[2], CHUNK, UNSTABLE);
	CHECK(service(w, 2, WAIT_MS), "passthrough writes completed");
	check_ok(&w[0], "write", 0);
	check_ok(&w[1], "write", 1);
	memcpy(real_verf, w[0].verf, sizeof(real_verf));
	CHECK(memcmp(real_verf, FAULT_PROXY_VERF_A, 8) &&
	      memcmp(real_verf, FAULT_PROXY_VERF_B, 8),
	      "real verifier is not a fake one");
	check_writes(w, 2, w[0].committed, real_verf, "passthrough write");

	send_commit(&c);
	CHECK(service(&c, 1, WAIT_MS), "passthrough commit completed");
	check_ok(&c, "commit", 0);
	CHECK(!memcmp(c.verf, real_verf, 8), "commit verifier matches");

	send_read(&r, 0, back, sizeof(back));
	CHECK(service(&r, 1, WAIT_MS), "passthrough read completed");
	check_ok(&r, "read", 0);
	CHECK(r.count == sizeof(back) && !memcmp(back, pat[1], CHUNK) &&
	      !memcmp(back + CHUNK, pat[2], CHUNK),
	      "read back what was written");
	CHECK(disk_has(0, pat[1], CHUNK) && disk_has(CHUNK, pat[2], CHUNK),
	      "written data on the server's disk");

	/* a reply far bigger than one read of the proxy */
	send_read(&r, 0, big, sizeof(big));
	CHECK(service(&r, 1, WAIT_MS), "big read completed");
	check_ok(&r, "big read", 0);
	CHECK(r.count == sizeof(big) && disk_has(0, big, sizeof(big)),
	      "big read matches the disk (%u bytes)", r.count);

	CHECK(stat_get("calls") - calls0 == 5, "5 calls counted");
	CHECK(stat_get("writes") - writes0 == 2, "2 writes counted");
	CHECK(stat_get("calls") == stat_get("replies"),
	      "every call answered");
	CHECK(stat_get("connections") == 1, "one client connection");
	printf("passthrough: ok, server verifier ");
	for (i = 0; i < NFS3_WRITEVERFSIZE; i++)
		printf("%02x", (unsigned char)real_verf[i]);
	printf(", WRITE committed=%u\n", w[0].committed);
}

/* a second client gets its own pair of connections */
static void test_second_client(void)
{
	struct nfs_context *nfs2 = nfs_init_context();
	struct nfs_context *first = nfs;
	struct rpc_context *first_rpc = rpc;
	struct nfs_url *url = NULL;
	uint64_t rtt;
	char s[200];

	CHECK(nfs2 != NULL, "second context");
	if (!nfs2)
		return;
	snprintf(s, sizeof(s), "nfs://127.0.0.1/export?nfsport=%u&mountport=%u",
		 proxy_port, MOUNT_PORT);
	url = nfs_parse_url_dir(nfs2, s);
	CHECK(url && !nfs_mount(nfs2, url->server, url->path),
	      "second mount through the proxy: %s", nfs_get_error(nfs2));
	CHECK(stat_get("connections") == 2, "two client connections");
	nfs = nfs2;
	rpc = nfs_get_rpc_context(nfs2);
	rtt = null_rtt(WAIT_MS);
	CHECK(rtt != UINT64_MAX, "second client's NULL answered");
	nfs = first;
	rpc = first_rpc;
	if (url)
		nfs_destroy_url(url);
	nfs_destroy_context(nfs2);
	rtt = null_rtt(WAIT_MS);
	CHECK(rtt != UINT64_MAX, "first client still served");
	printf("second client: ok\n");
}

/* ---- (2) the server "loses" unstable writes ---- */

static void test_lose_writes(void)
{
	static char old[3][CHUNK];
	struct op w[3], fs, c;
	int i;

	fill(pat[3], CHUNK, 3);
	fill(pat[4], CHUNK, 4);
	memcpy(old[0], pat[1], CHUNK);
	memcpy(old[1], pat[2], CHUNK);
	memset(old[2], 0xee, CHUNK);

	cmd_ok("lose-writes");
	CHECK(stat_get("armed") == 1, "armed");

	/* known xids, so the re-sent writes below reuse them */
	rpc_set_next_xid(rpc, XID_BASE);
	for (i = 0; i < 3; i++)
		send_write(&w[i], (uint64_t)i * CHUNK, pat[3], CHUNK,
			   UNSTABLE);
	send_write(&fs, 4 * CHUNK, pat[4], CHUNK, FILE_SYNC);
	CHECK(service(w, 3, WAIT_MS) && service(&fs, 1, WAIT_MS),
	      "writes completed while armed");
	check_writes(w, 3, UNSTABLE, FAULT_PROXY_VERF_A, "swallowed write");
	check_writes(&fs, 1, FILE_SYNC, real_verf, "FILE_SYNC write");
	CHECK(stat_get("swallowed_writes") == 3, "3 writes swallowed");
	CHECK(stat_get("armed") == 1, "still armed before the commit");
	for (i = 0; i < 3; i++)
		CHECK(disk_has((uint64_t)i * CHUNK, old[i], CHUNK),
		      "swallowed write %d did not reach the disk", i);
	CHECK(disk_has(4 * CHUNK, pat[4], CHUNK),
	      "FILE_SYNC write reached the disk while armed");

	send_commit(&c);
	CHECK(service(&c, 1, WAIT_MS), "faked commit completed");
	check_ok(&c, "faked commit", 0);
	CHECK(!memcmp(c.verf, FAULT_PROXY_VERF_B, 8),
	      "commit verifier is B: %.8s", c.verf);
	CHECK(stat_get("faked_commits") == 1, "1 commit faked");
	CHECK(stat_get("armed") == 0, "disarmed after the commit");

	/* what a client does when the verifiers differ: write again */
	rpc_set_next_xid(rpc, XID_BASE);
	for (i = 0; i < 3; i++)
		send_write(&w[i], (uint64_t)i * CHUNK, pat[3], CHUNK,
			   UNSTABLE);
	CHECK(service(w, 3, WAIT_MS), "re-sent writes completed");
	check_writes(w, 3, w[0].committed, real_verf, "re-sent write");
	send_commit(&c);
	CHECK(service(&c, 1, WAIT_MS), "real commit completed");
	check_ok(&c, "real commit", 0);
	CHECK(!memcmp(c.verf, real_verf, 8), "real commit verifier matches");
	for (i = 0; i < 3; i++)
		CHECK(disk_has((uint64_t)i * CHUNK, pat[3], CHUNK),
		      "re-sent write %d reached the disk", i);
	CHECK(stat_get("swallowed_writes") == 3 &&
	      stat_get("faked_commits") == 1, "nothing more faked");
	printf("lose-writes: ok, WRITE verf %.8s, COMMIT verf %.8s\n",
	       FAULT_PROXY_VERF_A, FAULT_PROXY_VERF_B);
}

/* ---- (3) cut with I/O outstanding ---- */

#define NCUT	8

static void test_cut_stalled(void)
{
	uint64_t writes0 = stat_get("writes");
	struct op w[NCUT], c;
	int i;

	fill(pat[5], CHUNK, 5);
	cmd_ok("stall");
	for (i = 0; i < NCUT; i++)
		send_write(&w[i], (uint64_t)(8 + i) * CHUNK, pat[5], CHUNK,
			   UNSTABLE);
	CHECK(!service(w, NCUT, 300), "nothing completes while stalled");
	cmd_ok("cut");
	CHECK(stat_get("connections") == 0, "cut closed the connection");
	cmd_ok("resume");
	CHECK(service(w, NCUT, WAIT_MS), "writes completed after the cut");
	check_writes(w, NCUT, w[0].committed, real_verf, "cut write");
	send_commit(&c);
	CHECK(service(&c, 1, WAIT_MS), "commit after cut completed");
	check_ok(&c, "commit after cut", 0);
	CHECK(!memcmp(c.verf, real_verf, 8), "commit verifier after cut");
	for (i = 0; i < NCUT; i++)
		CHECK(disk_has((uint64_t)(8 + i) * CHUNK, pat[5], CHUNK),
		      "write %d after cut on disk", i);
	CHECK(stat_get("connections") == 1, "libnfs reconnected");
	printf("cut while stalled: ok, the proxy saw %" PRIu64
	       " WRITE calls for %d writes\n",
	       stat_get("writes") - writes0, NCUT);
}

/* replies held by the proxy (delay) are lost with the connection */
static void test_cut_held_replies(void)
{
	uint64_t writes0 = stat_get("writes"), replies0 = stat_get("replies");
	uint64_t end;
	struct op w[4];
	int i;

	fill(pat[6], CHUNK, 6);
	cmd_ok("delay 5000");
	for (i = 0; i < 4; i++)
		send_write(&w[i], (uint64_t)(16 + i) * CHUNK, pat[6], CHUNK,
			   UNSTABLE);
	/* until the server has answered all four and the proxy holds them */
	end = now_ms() + WAIT_MS;
	while (stat_get("replies") - replies0 < 4 && now_ms() < end)
		service(w, 4, 20);
	CHECK(stat_get("replies") - replies0 == 4, "replies held");
	CHECK(!all_done(w, 4), "no reply delivered yet");
	cmd_ok("cut");
	cmd_ok("delay 0");
	CHECK(service(w, 4, WAIT_MS), "writes completed after the cut");
	check_writes(w, 4, w[0].committed, real_verf, "held write");
	CHECK(stat_get("writes") - writes0 == 8,
	      "each write sent twice: %" PRIu64, stat_get("writes") - writes0);
	for (i = 0; i < 4; i++)
		CHECK(disk_has((uint64_t)(16 + i) * CHUNK, pat[6], CHUNK),
		      "held write %d on disk", i);
	printf("cut with held replies: ok, writes re-sent after reconnect\n");
}

/* ---- (4) delay, stall, blackhole ---- */

static uint64_t null_rtt(unsigned int wait)
{
	uint64_t t0 = now_ms();
	struct op n;

	send_null(&n);
	if (!service(&n, 1, wait) || n.status != RPC_STATUS_SUCCESS)
		return UINT64_MAX;
	return n.t_done - t0;
}

static void test_timing(void)
{
	uint64_t t0, rtt;
	struct op n;

	cmd_ok("delay 200");
	rtt = null_rtt(WAIT_MS);
	CHECK(rtt >= 200 && rtt < 2000, "delay 200: rtt %" PRIu64, rtt);
	printf("delay 200: NULL round trip %" PRIu64 " ms\n", rtt);
	cmd_ok("delay 0");
	rtt = null_rtt(WAIT_MS);
	CHECK(rtt < 200, "delay 0: rtt %" PRIu64, rtt);
	printf("delay 0: NULL round trip %" PRIu64 " ms\n", rtt);

	cmd_ok("stall");
	send_null(&n);
	CHECK(!service(&n, 1, 300), "no answer while stalled");
	cmd_ok("resume");
	CHECK(service(&n, 1, WAIT_MS) && n.status == RPC_STATUS_SUCCESS,
	      "answered after resume");
	CHECK(stat_get("connections") == 1, "stall kept the connection");

	t0 = now_ms();
	cmd_ok("blackhole 1");
	send_null(&n);
	CHECK(service(&n, 1, WAIT_MS) && n.status == RPC_STATUS_SUCCESS,
	      "answered after the blackhole");
	rtt = n.t_done - t0;
	CHECK(rtt >= 1000, "blackhole held the call for %" PRIu64 " ms", rtt);
	printf("blackhole 1: NULL answered after %" PRIu64 " ms\n", rtt);
}

/* ---- (5) hand-made records: fragments, padding, exact fake replies ---- */

/* send @r as fragments cut at @cuts (ascending), the header of each
 * fragment dribbled out a byte at a time */
static bool send_fragments(int fd, const struct rec *r, const size_t *cuts,
			   int ncuts)
{
	size_t from = 0;
	int i;

	for (i = 0; i <= ncuts; i++) {
		size_t to = i < ncuts ? cuts[i] : r->len;
		uint32_t hdr = (uint32_t)(to - from) |
			       (i == ncuts ? 0x80000000u : 0);
		unsigned char h[4] = { hdr >> 24, hdr >> 16, hdr >> 8, hdr };
		int k;

		for (k = 0; k < 4; k++) {
			if (send(fd, h + k, 1, MSG_NOSIGNAL) != 1)
				return false;
			msleep(2);
		}
		if (send(fd, r->b + from, to - from, MSG_NOSIGNAL) !=
		    (ssize_t)(to - from))
			return false;
		from = to;
	}
	return true;
}

/* one reply record (single fragment expected) into @r */
static bool recv_record(int fd, struct rec *r)
{
	unsigned char h[4];
	uint32_t hdr;

	if (!recv_all(fd, h, 4))
		return false;
	hdr = (uint32_t)h[0] << 24 | h[1] << 16 | h[2] << 8 | h[3];
	CHECK(hdr & 0x80000000u, "reply is one last fragment");
	r->len = hdr & 0x7fffffffu;
	return r->len <= sizeof(r->b) && recv_all(fd, r->b, r->len);
}

static void test_raw_records(void)
{
	static const unsigned char want_write[] = {
		0x11, 0x22, 0x33, 0x44, 0, 0, 0, 1, 0, 0, 0, 0,
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,	/* verf, SUCCESS */
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,	/* OK, no wcc */
		0, 0, 0, 5, 0, 0, 0, 0,			/* count, UNSTABLE */
		'F', 'P', 'R', 'O', 'X', 'Y', '-', 'A',
	};
	static const unsigned char want_commit[] = {
		0x55, 0x66, 0x77, 0x88, 0, 0, 0, 1, 0, 0, 0, 0,
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		'F', 'P', 'R', 'O', 'X', 'Y', '-', 'B',
	};
	static const char fh[30] = "a 30-byte fake file handle....";
	const size_t null_cuts[] = { 3, 17 }, write_cuts[] = { 20 };
	struct rec call = { .len = 0 }, reply;
	int fd = raw_connect();

	CHECK(fd >= 0, "raw connect");
	if (fd < 0)
		return;

	/* a NULL in three fragments reaches ganesha and comes back */
	call_header(&call, 0xabcd0001, 0, true);
	CHECK(send_fragments(fd, &call, null_cuts, 2), "send NULL");
	CHECK(recv_record(fd, &reply) && reply.len >= 24 &&
	      !memcmp(reply.b, call.b, 4) &&	/* xid */
	      reply.b[7] == 1 && reply.b[11] == 0,
	      "ganesha answered the reassembled NULL");

	/* an AUTH_SYS WRITE, odd lengths everywhere, in two fragments */
	cmd_ok("lose-writes");
	call.len = 0;
	call_header(&call, 0x11223344, 7, true);
	put_opaque(&call, fh, sizeof(fh));
	put32(&call, 0);
	put32(&call, 0x100);		/* offset */
	put32(&call, 5);		/* count */
	put32(&call, 0);		/* UNSTABLE */
	put_opaque(&call, "hello", 5);
	CHECK(send_fragments(fd, &call, write_cuts, 1), "send WRITE");
	CHECK(recv_record(fd, &reply) && reply.len == sizeof(want_write) &&
	      !memcmp(reply.b, want_write, sizeof(want_write)),
	      "fake WRITE reply, byte for byte");

	call.len = 0;
	call_header(&call, 0x55667788, 21, false);
	put_opaque(&call, fh, sizeof(fh));
	put32(&call, 0);
	put32(&call, 0);
	put32(&call, 0);
	CHECK(send_fragments(fd, &call, write_cuts, 1), "send COMMIT");
	CHECK(recv_record(fd, &reply) && reply.len == sizeof(want_commit) &&
	      !memcmp(reply.b, want_commit, sizeof(want_commit)),
	      "fake COMMIT reply, byte for byte");
	CHECK(stat_get("armed") == 0, "raw COMMIT disarmed");
	close(fd);
	printf("raw records: ok\n");
}

int main(void)
{
	const char *dir = getenv("NFS_TEST_DIR");
	char name[64];
	int i;

	if (!dir) {
		fprintf(stderr, "set NFS_TEST_DIR to the server's state dir\n");
		return 1;
	}
	snprintf(name, sizeof(name), "fault-proxy-%d", (int)getpid());
	if (make_file(dir, name)) {
		fprintf(stderr, "cannot create %s: %s\n", disk_path,
			strerror(errno));
		return 1;
	}
	if (proxy_start())
		goto out_file;
	if (tnfs_connect(name)) {
		CHECK(0, "mount and open through the proxy");
		goto out_proxy;
	}
	test_passthrough();
	test_second_client();
	test_lose_writes();
	test_cut_stalled();
	test_cut_held_replies();
	test_timing();
	test_raw_records();
	for (i = 0; i < 50 && stat_get("connections") != 1; i++)
		msleep(20);
	CHECK(stat_get("connections") == 1, "raw connection gone");
	tnfs_disconnect();
out_proxy:
	CHECK(proxy_stop() == 0, "proxy quit cleanly");
out_file:
	unlink(disk_path);
	return check_report("test_fault_proxy");
}
