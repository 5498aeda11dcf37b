/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The transport: TCP connections to the NFS server that the engine owns
 * outright.  libnfs 4.0's own reconnect keeps a half-read reply across a
 * new socket (a READ can then complete with bytes from two streams) and
 * loops without backoff, so the data path does not use it: libnfs does
 * the open-time mount and checks, this file moves the RPCs.
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
 * - A call is completed only from nfs_transport_service/tick, never from
 *   nfs_transport_send, so callers need not guard against re-entry.
 */
#ifndef NFS_TRANSPORT_H
#define NFS_TRANSPORT_H

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "nfs_base.h"
#include "nfs_xdr.h"

struct nfs_transport;
struct nfs_conn;
struct nfs_rpc;

/*
 * @err 0: @r is the server's answer (check r->rpc, then r->status).
 * Else no answer came: NFS_IO_ERR_TRANSPORT when the deadline passed, or
 * the nfsstat3 (NFS3ERR_STALE) that failed the transport for good.
 * @r and what it points to live only during the call.
 */
typedef void (*nfs_rpc_done)(struct nfs_rpc *rpc, int err,
			     const struct nfs_xdr_reply *r);

struct nfs_rpc {
	/* set by the caller before nfs_transport_send() */
	struct nfs_xdr_call call;
	const struct iovec *iov;	/* WRITE: data from byte iov_off */
	size_t iov_cnt, iov_off;
	uint64_t deadline_ms;		/* give up then; 0: never */
	nfs_rpc_done done;
	void *priv;

	/* transport private */
	struct nfs_rpc *prev, *next;	/* pending, or its connection's */
	struct nfs_rpc *hnext;		/* XID hash chain */
	struct nfs_conn *conn;		/* NULL while pending */
	uint64_t sent_ms;
	uint64_t sent_us;		/* for the latency histograms */
	uint32_t xid;
	uint32_t hdr_len;
	uint32_t sent;			/* bytes of the record written */
	bool internal;			/* the transport's own GETATTR */
	bool resend;			/* carried by a connection that died */
	unsigned char hdr[NFS_XDR_CALL_MAX];
};

struct nfs_transport_params {
	struct sockaddr_storage addr;	/* the server's NFS port */
	socklen_t addr_len;
	struct nfs_xdr_cred cred;
	struct nfs_xdr_fh fh;
	uint64_t fileid;		/* of the file at open */
	uint64_t min_size;		/* the file must stay this big */
	unsigned int nconn;		/* connections, 1..NFS_MAX_CONN */
	int hang_ms;			/* unanswered this long: dead */
	uint32_t max_io;		/* largest READ/WRITE count */
	const char *name;		/* "server:/path", for messages */
	const struct nfs_logger *log;
	struct nfs_engine_stats *stats;
};

#define NFS_MAX_CONN	16	/* NFS_MAX_NCONNECT in nfs_config.h */

/* Copies @p.  NULL when out of memory.  Connects from the first tick. */
struct nfs_transport *nfs_transport_new(const struct nfs_transport_params *p);

/* Closes everything.  The caller has let every call complete. */
void nfs_transport_free(struct nfs_transport *t);

/* Queue @rpc; sent by the next nfs_transport_flush once connected. */
void nfs_transport_send(struct nfs_transport *t, struct nfs_rpc *rpc);

/* Write what is queued, as few system calls as it takes. */
void nfs_transport_flush(struct nfs_transport *t);

/* Fill @pfd (room for NFS_MAX_CONN) with the sockets to poll; count. */
unsigned int nfs_transport_pollfds(struct nfs_transport *t,
				   struct pollfd *pfd);

/* Handle what poll() saw on the sockets nfs_transport_pollfds gave. */
void nfs_transport_service(struct nfs_transport *t, const struct pollfd *pfd,
			   unsigned int n, uint64_t now_ms);

/* Timers: connection attempts, hung connections, call deadlines. */
void nfs_transport_tick(struct nfs_transport *t, uint64_t now_ms);

/* Milliseconds until nfs_transport_tick has work; -1: none. */
int nfs_transport_next_ms(const struct nfs_transport *t, uint64_t now_ms);

/* Calls queued or in flight. */
unsigned int nfs_transport_calls(const struct nfs_transport *t);

/* The device grew: fresh connections must find the file this big. */
void nfs_transport_set_min_size(struct nfs_transport *t, uint64_t min_size);

#endif
