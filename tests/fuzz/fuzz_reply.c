// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * fuzz_reply: arbitrary bytes as the NFS server's side of a connection,
 * fed to the engine's transport (handler/tnfs_transport.c) through a FAKE
 * socket peer played by this program: record framing, XID matching, the
 * reply decoder (tnfs_xdr.c), and what the transport does with its calls.
 *
 * Each input: the peer accepts the transport's connection (an abstract
 * unix socket, so nothing touches the network), answers its GETATTR as
 * the right file, reads the four calls queued (two READs, a WRITE, a
 * COMMIT), then sends the input as its reply stream and hangs up.  Every
 * 4-byte word 0xfffffe0K in the input (K < 4) is replaced by the XID of
 * call K, so that inputs can answer calls.  The decoder alone also gets
 * the input as a reply to each procedure.
 *
 * The input goes out in pieces of 4000 bytes, so that a long READ reply
 * arrives in parts and its data is received straight into the call's
 * iovec (three segments over a buffer of exactly the size asked).
 *
 * Checked: no crash or sanitizer report; a call completes at most once; a
 * READ's data never exceeds what was asked (it is copied or received
 * into a buffer of exactly that size, so ASan sees any overrun); a READ
 * head accepted from any prefix of a record agrees with the decoding of
 * the whole record.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "tnfs_transport.h"
#include "tnfs_xdr.h"

#define CALLS		4
#define FILEID		42
#define PLACEHOLDER	0xfffffe00u

struct call {
	struct tnfs_rpc rpc;
	unsigned char *buf;
	struct iovec iov[3];	/* READ: where its data may be placed */
	int completions;
};

static struct call calls[CALLS];
static unsigned char write_data[8192];
static struct iovec write_iov = { write_data, sizeof(write_data) };
static int listener = -1;
static struct tnfs_transport_params params;
static uint64_t clock_ms = 1000;

static uint32_t be32(const unsigned char *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
	       (uint32_t)b[2] << 8 | b[3];
}

static void put32(unsigned char *b, uint32_t v)
{
	b[0] = (unsigned char)(v >> 24);
	b[1] = (unsigned char)(v >> 16);
	b[2] = (unsigned char)(v >> 8);
	b[3] = (unsigned char)v;
}

static void call_done(struct tnfs_rpc *rpc, int err,
		      const struct tnfs_xdr_reply *r)
{
	struct call *c = rpc->priv;

	if (++c->completions > 1)
		abort();		/* completed twice */
	if (!err && r->rpc == TNFS_XDR_RPC_OK && !r->status &&
	    rpc->call.proc == TNFS_XDR_READ && !r->placed)
		memcpy(c->buf, r->data, r->count);
	if (!err && r->placed && (rpc->call.proc != TNFS_XDR_READ ||
				  r->count > rpc->call.count))
		abort();	/* placed what was not asked for */
}

static void setup(void)
{
	struct sockaddr_un *sun = (struct sockaddr_un *)&params.addr;
	char name[64];
	int len;

	len = snprintf(name, sizeof(name), "tcmu-nfs-fuzz-%d", getpid());
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path + 1, name, (size_t)len);	/* abstract */
	params.addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
				      1 + (size_t)len);
	listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (listener < 0 ||
	    bind(listener, (struct sockaddr *)sun, params.addr_len) ||
	    listen(listener, 4))
		abort();
	params.fh.len = 8;
	memcpy(params.fh.data, "fuzzfh00", 8);
	params.fileid = FILEID;
	params.nconn = 1;
	params.silence_ms = 1000;
	params.max_io = 65536;
	params.name = "fuzz";
	snprintf(params.cred.machine, sizeof(params.cred.machine), "fuzz");
}

/* Let the transport do what it can now, without waiting. */
static void run(struct tnfs_transport *t)
{
	struct pollfd pfd[TNFS_MAX_CONN];
	unsigned int n;
	int i;

	for (i = 0; i < 4; i++) {
		clock_ms++;
		tnfs_transport_tick(t, clock_ms);
		tnfs_transport_flush(t);
		n = tnfs_transport_pollfds(t, pfd);
		if (!n || poll(pfd, n, 0) <= 0)
			return;
		tnfs_transport_service(t, pfd, n, clock_ms);
	}
}

/* Read whole call records from @fd; the XID of each into @xid. */
static unsigned int read_calls(struct tnfs_transport *t, int fd,
			       uint32_t *xid, unsigned int want)
{
	static unsigned char in[1 << 17];
	size_t len = 0, pos;
	unsigned int got = 0, spins;
	ssize_t r;

	for (spins = 0; got < want && spins < 200; spins++) {
		run(t);
		r = recv(fd, in + len, sizeof(in) - len, MSG_DONTWAIT);
		if (r > 0)
			len += (size_t)r;
		else if (r == 0 || (errno != EAGAIN && errno != EINTR))
			break;
		for (pos = 0, got = 0; len - pos >= 8; got++) {
			uint32_t flen = be32(in + pos) & ~TNFS_XDR_LAST_FRAG;

			if (len - pos - 4 < flen)
				break;
			if (got < want)
				xid[got] = be32(in + pos + 4);
			pos += 4 + flen;
		}
	}
	return got;
}

/* The reply that makes the connection usable: the right regular file. */
static void answer_getattr(int fd, uint32_t xid)
{
	unsigned char rep[4 + 24 + 4 + 84] = { 0 };

	put32(rep, TNFS_XDR_LAST_FRAG | (sizeof(rep) - 4));
	put32(rep + 4, xid);
	put32(rep + 8, 1);			/* REPLY */
	put32(rep + 28, 0);			/* NFS3_OK */
	put32(rep + 32, 1);			/* NF3REG */
	put32(rep + 40, 1);			/* nlink: it has a name */
	put32(rep + 52, 1);			/* size: 4 GiB */
	put32(rep + 88, FILEID);		/* fileid, low word */
	if (send(fd, rep, sizeof(rep), MSG_NOSIGNAL) != sizeof(rep))
		abort();
}

static void queue_calls(struct tnfs_transport *t)
{
	static unsigned char read_small[4096], read_big[65536];
	static const struct tnfs_xdr_call what[CALLS] = {
		{ .proc = TNFS_XDR_READ, .offset = 0, .count = 4096 },
		{ .proc = TNFS_XDR_READ, .offset = 4096, .count = 65536 },
		{ .proc = TNFS_XDR_WRITE, .offset = 65536, .count = 8192,
		  .stable = TNFS_XDR_UNSTABLE },
		{ .proc = TNFS_XDR_COMMIT },
	};
	unsigned int i;

	for (i = 0; i < CALLS; i++) {
		struct call *c = &calls[i];

		memset(c, 0, sizeof(*c));
		c->rpc.call = what[i];
		c->rpc.done = call_done;
		c->rpc.priv = c;
		c->buf = i == 0 ? read_small : read_big;
		if (what[i].proc == TNFS_XDR_WRITE) {
			c->rpc.iov = &write_iov;
			c->rpc.iov_cnt = 1;
		} else if (what[i].proc == TNFS_XDR_READ) {
			/* the big one in three pieces, received in place */
			c->iov[0] = (struct iovec){ c->buf, 1000 };
			c->iov[1] = (struct iovec){ c->buf + 1000, 3 };
			c->iov[2] = (struct iovec){ c->buf + 1003,
						    what[i].count - 1003 };
			c->rpc.iov = c->iov;
			c->rpc.iov_cnt = 3;
		}
		tnfs_transport_send(t, &c->rpc);
	}
}

/* Send the input as the server's replies, the placeholders filled in. */
static void feed(struct tnfs_transport *t, int fd, const uint8_t *data,
		 size_t size, const uint32_t *xid)
{
	unsigned char *buf = malloc(size ? size : 1);
	size_t i, off = 0;
	unsigned int spins;

	memcpy(buf, data, size);
	for (i = 0; i + 4 <= size; i += 4) {
		uint32_t w = be32(buf + i);

		if ((w & ~3u) == PLACEHOLDER)
			put32(buf + i, xid[w & 3]);
	}
	for (spins = 0; off < size && spins < 1000; spins++) {
		/* in pieces, so that replies arrive in parts */
		size_t piece = size - off < 4000 ? size - off : 4000;
		ssize_t w = send(fd, buf + off, piece,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w > 0)
			off += (size_t)w;
		else if (errno != EAGAIN && errno != EINTR)
			break;		/* the transport hung up */
		run(t);
	}
	free(buf);
	shutdown(fd, SHUT_WR);
	run(t);
}

static void decode_alone(const uint8_t *data, size_t size)
{
	static const enum tnfs_xdr_proc procs[] = {
		TNFS_XDR_NULL,
		TNFS_XDR_GETATTR,
		TNFS_XDR_READ,
		TNFS_XDR_WRITE,
		TNFS_XDR_COMMIT,
	};
	struct tnfs_xdr_reply r;
	unsigned int i;

	struct tnfs_xdr_reply h;
	size_t off, avail;

	for (i = 0; i < sizeof(procs) / sizeof(procs[0]); i++) {
		if (tnfs_xdr_decode_reply(data, size, procs[i], 65536, &r)) {
			if (!r.why)
				abort();	/* garbled, and no reason */
			continue;
		}
		if (procs[i] == TNFS_XDR_READ && !r.rpc && !r.status &&
		    (r.count > 65536 || !r.data))
			abort();	/* promised data it does not have */
		if (tnfs_xdr_result(&r) < 0 && r.rpc == TNFS_XDR_RPC_OK)
			abort();	/* a status read as an engine code */
	}
	/*
	 * A READ head accepted from any prefix is the head the whole
	 * record decodes to, whenever the padding is zero.
	 */
	for (avail = 0; avail <= size; avail += avail < 64 ? 1 : 61) {
		size_t pad, j;

		if (tnfs_xdr_decode_read_head(data, avail, size, 65536, &h,
					      &off) != 1)
			continue;
		if (off > avail || h.count > 65536 ||
		    off + h.count + tnfs_xdr_pad(h.count) != size)
			abort();
		pad = tnfs_xdr_pad(h.count);
		for (j = 0; j < pad && !data[size - pad + j]; j++)
			;
		if (j < pad)
			continue;
		if (tnfs_xdr_decode_reply(data, size, TNFS_XDR_READ, 65536,
					  &r) ||
		    r.count != h.count || r.eof != h.eof ||
		    r.data != data + off || r.have_attr != h.have_attr)
			abort();	/* the head disagrees with the record */
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tnfs_transport *t;
	uint32_t xid[CALLS] = { 0 }, getattr_xid;
	int fd;

	if (listener < 0)
		setup();
	decode_alone(data, size);
	t = tnfs_transport_new(&params);
	if (!t)
		return 0;
	run(t);
	fd = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		abort();
	if (read_calls(t, fd, &getattr_xid, 1) != 1)
		abort();
	answer_getattr(fd, getattr_xid);
	run(t);
	queue_calls(t);
	if (read_calls(t, fd, xid, CALLS) != CALLS)
		abort();	/* connected, but the calls never came */
	feed(t, fd, data, size, xid);
	close(fd);
	run(t);
	tnfs_transport_free(t);
	return 0;
}
