/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The transport: TCP connections to the NFS server that the engine owns
 * outright.  libnfs 4.0's own reconnect keeps a half-read reply across a
 * new socket (a READ can then complete with bytes from two streams) and
 * loops without backoff, so the data path does not use it: libnfs does
 * the open-time mount and checks, this folder moves the RPCs:
 *   tnfs_transport.c  the API below: polling, timers, life
 *   tnfs_conn.c       connections: connect, verify, drop, backoff
 *   tnfs_send.c       calls to connections, written by scatter-gather
 *   tnfs_rx.c         replies: framing, XID match, READ data in place
 *   tnfs_calls.c      the call table: lists, XIDs, completion
 * each calling only the ones below it.
 *
 * Rules:
 * - Nothing more is read from a connection after a transport error, a
 *   reply that matches no call, a garbled or oversized record, or a call
 *   that went unanswered for hang_ms: the connection is closed, and every
 *   call it carried waits to be sent again on a fresh one.
 * - A fresh connection is used only once a GETATTR on it shows the same
 *   file (same handle, same fileid, still big enough).  A stale handle or
 *   another file fails every call for good: never write to another file.
 * - One connection attempt at a time per transport, with exponential
 *   backoff (10 ms growing x1.5 to 1 s) and jitter, so a dead or sick
 *   server is not stormed.
 * - A call is completed only from tnfs_transport_service/tick, never from
 *   tnfs_transport_send, so callers need not guard against re-entry.
 */
#ifndef TNFS_TRANSPORT_H
#define TNFS_TRANSPORT_H

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "tnfs_base.h"
#include "tnfs_stats.h"
#include "tnfs_xdr.h"

struct tnfs_transport;
struct tnfs_conn;
struct tnfs_rpc;

/*
 * @err 0: @r is the server's answer (check r->rpc, then r->status).
 * Else no answer came: TNFS_IO_ERR_TRANSPORT when the deadline passed, or
 * the nfsstat3 (NFS3ERR_STALE) that failed the transport for good.
 * @r and what it points to live only during the call.
 */
typedef void (*tnfs_rpc_done)(struct tnfs_rpc *rpc, int err,
			      const struct tnfs_xdr_reply *r);

struct tnfs_rpc {
	/* set by the caller before tnfs_transport_send() */
	struct tnfs_xdr_call call;
	const struct iovec *iov;	/* WRITE: data from byte iov_off */
	size_t iov_cnt, iov_off;
	uint64_t deadline_ms;		/* give up then; 0: never */
	tnfs_rpc_done done;
	void *priv;

	/* transport private */
	struct tnfs_rpc *prev, *next;	/* pending, or its connection's */
	struct tnfs_rpc *hnext;		/* XID hash chain */
	struct tnfs_conn *conn;		/* NULL while pending */
	uint64_t sent_ms;
	uint64_t sent_us;		/* for the latency histograms */
	uint32_t xid;
	uint32_t hdr_len;
	uint32_t sent;			/* bytes of the record written */
	bool internal;			/* the transport's own GETATTR */
	bool resend;			/* carried by a connection that died */
	unsigned char hdr[TNFS_XDR_CALL_MAX];
};

struct tnfs_transport_params {
	struct sockaddr_storage addr;	/* the server's NFS port */
	socklen_t addr_len;
	struct tnfs_xdr_cred cred;
	struct tnfs_xdr_fh fh;
	uint64_t fileid;		/* of the file at open */
	uint64_t min_size;		/* the file must stay this big */
	unsigned int nconn;		/* connections, 1..TNFS_MAX_CONN */
	int hang_ms;			/* unanswered this long: dead */
	uint32_t max_io;		/* largest READ/WRITE count */
	const char *name;		/* "server:/path", for messages */
	const struct tnfs_logger *log;
};

/*
 * Reconnect backoff: from this, growing x1.5 a step (a short outage costs
 * about half its length again) to at most this, with jitter.  The README
 * and the man page quote them (tests/unit/test_docs.c).
 */
#define TNFS_BACKOFF_MIN_MS	10
#define TNFS_BACKOFF_MAX_MS	1000

/* the most connections a transport keeps (nconnect=, tnfs_engine.c) */
#define TNFS_MAX_CONN	16

/* Copies @p.  NULL when out of memory.  Connects from the first tick. */
struct tnfs_transport *
tnfs_transport_new(const struct tnfs_transport_params *p);

/* Closes everything.  The caller has let every call complete. */
void tnfs_transport_free(struct tnfs_transport *t);

/* Queue @rpc; sent by the next tnfs_transport_flush once connected. */
void tnfs_transport_send(struct tnfs_transport *t, struct tnfs_rpc *rpc);

/* Write what is queued, as few system calls as it takes. */
void tnfs_transport_flush(struct tnfs_transport *t);

/* Fill @pfd (room for TNFS_MAX_CONN) with the sockets to poll; count. */
unsigned int tnfs_transport_pollfds(struct tnfs_transport *t,
				    struct pollfd *pfd);

/* Handle what poll() saw on the sockets tnfs_transport_pollfds gave. */
void tnfs_transport_service(struct tnfs_transport *t, const struct pollfd *pfd,
			    unsigned int n, uint64_t now_ms);

/* Timers: connection attempts, hung connections, call deadlines. */
void tnfs_transport_tick(struct tnfs_transport *t, uint64_t now_ms);

/* Milliseconds until tnfs_transport_tick has work; -1: none. */
int tnfs_transport_next_ms(const struct tnfs_transport *t, uint64_t now_ms);

/* Calls queued or in flight. */
unsigned int tnfs_transport_calls(const struct tnfs_transport *t);

/* A snapshot of the transport's counters; safe from any thread. */
void tnfs_transport_get_stats(const struct tnfs_transport *t,
			      struct tnfs_transport_stats *s);

/* The device grew: fresh connections must find the file this big. */
void tnfs_transport_set_min_size(struct tnfs_transport *t, uint64_t min_size);

#endif
