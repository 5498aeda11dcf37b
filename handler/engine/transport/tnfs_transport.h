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
 *   tnfs_pool*.c      share=1: connections per server, not per device
 *                     (tnfs_pool.h): a connection is then a channel
 *   tnfs_client4.c    share=1 in NFSv4.1: client IDs per server and
 *                     principal, not per device (tnfs_client4.h)
 * each calling only the ones below it.
 *
 * Rules:
 * - A connection is alive while it makes progress: bytes arrive, or a
 *   NULL call sent after TNFS_PROBE_MS of silence is answered.  One
 *   that carries calls and sends nothing back for the silence bound
 *   (TNFS_SILENCE_MS, or twice the slowest reply of late if longer) is
 *   dead.  A slow server is not a dead one: a call may take as long as
 *   its command may.
 * - A call waits until its deadline (its command's, from when the
 *   command arrived), wherever it is: queued, or carried by a connection.
 *   A call given up on a live connection leaves its XID behind, so its
 *   late reply is recognised and thrown away, not taken for garbage.
 * - A reply that does not decode, but is framed and carries the XID of
 *   a call on the connection, is charged to that call: sent again once,
 *   failed (TNFS_IO_ERR_GARBLED) the second time; the connection lives.
 *   So is a record announced longer than any reply to its call can be
 *   (tnfs_xdr_reply_max), as soon as its XID is in: its end may never
 *   come, so the connection is closed too, without waiting out its
 *   silence.  A reply that matches no call, an oversized or endless
 *   record, or a transport error closes the connection, and every call
 *   it carried waits to be sent again on a fresh one.
 * - A fresh connection is used only once a GETATTR on it shows the same
 *   file (same handle, same fileid, still big enough).  A stale handle
 *   is confirmed (the owner looks the path up again, tnfs_transport_
 *   revalidate) before it fails every call for good; another file or a
 *   file that shrank below the device fails every call for good: never
 *   write to another file, nor past a cut.
 * - One connection attempt at a time per transport, with exponential
 *   backoff (10 ms growing x1.5 to 1 s) and jitter, at most
 *   TNFS_ATTEMPTS_MAX per 10 s, so that nothing a server sends can make
 *   a storm; the backoff starts again only after a connection that
 *   worked for a while, never after one dropped for a protocol error.
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
 * @err 0: @r is the server's answer (tnfs_xdr_result(r) says what).
 * Else no answer came: TNFS_IO_ERR_TRANSPORT when the deadline passed,
 * TNFS_IO_ERR_GARBLED when two replies to it did not decode, or the
 * result (NFS3ERR_STALE) that failed the transport for good.
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
	uint8_t strikes;		/* replies to it that did not decode */
	bool internal;			/* the transport's own GETATTR, NULL */
	bool resend;			/* carried by a connection that died */
	/* NFSv4.1: its SEQUENCE slot (tnfs_session.c) */
	bool resync;			/* on a slot whose last call is */
					/* unknown: seqid one past it */
	int16_t slot;			/* -1: none */
	uint8_t delays;			/* NFS4ERR_DELAY, GRACE answered */
	int last_status;		/* ... the latest of them */
	uint32_t seqid;
	uint32_t epoch;			/* of the session it was taken in */
	uint64_t retry_at_ms;		/* delayed: sent again then */
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
	unsigned int silence_ms;	/* 0: TNFS_SILENCE_MS */
	uint32_t max_io;		/* largest READ/WRITE count */
	const char *name;		/* "server:/path", for messages */
	const struct tnfs_logger *log;
	/*
	 * ha= (docs/ha.md): every socket is closed with a reset, so that a
	 * gateway process killed for its lease (sanlock SIGKILLs it) leaves
	 * nothing queued in the kernel to be sent after it; and data the
	 * server has not acknowledged for user_timeout_ms kills the
	 * connection (TCP_USER_TIMEOUT) instead of going out after a
	 * partition heals.  0: neither.
	 */
	unsigned int user_timeout_ms;
	/* connect from a port below 1024 (resvport=, tnfs_bind_reserved) */
	bool resvport;
	/*
	 * share=1: connections from the pool of this server's
	 * (tnfs_pool.h), shared with the other devices of the process,
	 * rather than TCP connections of the device's own.
	 */
	bool share;
	unsigned int busy_poll_us;	/* share=1: the pool's spin */
	/*
	 * The server said the handle is stale: look the path up again and
	 * call tnfs_transport_revalidate (on the engine thread, later);
	 * meanwhile calls wait (their deadlines still run).
	 */
	void (*stale)(void *arg);
	void *stale_arg;
	/* how long a stale handle may last before every call fails */
	unsigned int stale_grace_ms;
	/*
	 * NFSv4.1 (4.2: 2) instead of NFSv3: 0.  The transport then keeps
	 * a client ID, a session of @slots slots and the open of the file
	 * (tnfs_session.c), and recovers them after a server restart.
	 */
	uint32_t v4_minor;
	unsigned int slots;		/* commands in flight, at most */
};

/* A connection with calls waiting and this silent gets a NULL call. */
#define TNFS_PROBE_MS		1000
/* The least silence that makes such a connection dead. */
#define TNFS_SILENCE_MS		20000
/* ... and the most, however slow the server has been. */
#define TNFS_SILENCE_MAX_MS	120000
/* Connection attempts of one transport in any 10 s, at most. */
#define TNFS_ATTEMPTS_MAX	20
#define TNFS_ATTEMPTS_WINDOW_MS	10000

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

/*
 * Before tnfs_transport_free, once every call completed: NFSv4.1 closes
 * the file and destroys its session and client ID (a bounded few
 * seconds, on the engine thread's loop).  True when done; NFSv3: at once.
 */
bool tnfs_transport_shutdown(struct tnfs_transport *t, uint64_t now_ms);

/* Queue @rpc; sent by the next tnfs_transport_flush once connected. */
void tnfs_transport_send(struct tnfs_transport *t, struct tnfs_rpc *rpc);

/*
 * The time calls sent from now on are stamped with, for a caller that
 * sends outside tnfs_transport_service and tnfs_transport_tick: after a
 * long sleep a stale clock would make a fresh call look long unanswered.
 */
void tnfs_transport_set_now(struct tnfs_transport *t, uint64_t now_ms);

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

/* When the reply being handled came in (its socket found readable). */
uint64_t tnfs_transport_rx_us(const struct tnfs_transport *t);

/*
 * Everything queued is written and nothing waits for a connection:
 * the engine thread, sleeping, has no reason to wake but replies.
 */
bool tnfs_transport_quiet(const struct tnfs_transport *t);

/*
 * True while a READ reply is being received into its command's buffer
 * and part of it is still to come: the server is sending it now.
 */
bool tnfs_transport_mid_reply(const struct tnfs_transport *t);

/* A snapshot of the transport's counters; safe from any thread. */
void tnfs_transport_get_stats(const struct tnfs_transport *t,
			      struct tnfs_transport_stats *s);

/*
 * What the owner's lookup found after a stale handle: the file at the
 * same path, with its handle @fh and fileid @fileid (0: none found, or
 * @err set).  The same file goes on with the (new) handle once a GETATTR
 * through it is answered; another one, or none (or a handle still
 * answering stale) once the grace (stale_grace_ms) since the first stale
 * answer is over, fails every call for good; else the owner is asked
 * again later.
 */
void tnfs_transport_revalidate(struct tnfs_transport *t,
			       const struct tnfs_xdr_fh *fh, uint64_t fileid,
			       const char *err);

/*
 * Fenced (@status, an engine result; 0 lifts it): every connection is
 * reset, so that no byte still queued in it leaves, every call fails with
 * @status, now and until lifted, and no connection is made.
 */
void tnfs_transport_fence(struct tnfs_transport *t, int status);

/*
 * A reply showed the file at @size bytes, below the device's end
 * (min_size).  @final: a WRITE may have extended it again, so fail every
 * call for good now; else check the file again as a new connection does.
 */
void tnfs_transport_shrank(struct tnfs_transport *t, uint64_t size,
			   bool final);

/* The device grew: fresh connections must find the file this big. */
void tnfs_transport_set_min_size(struct tnfs_transport *t, uint64_t min_size);

#endif
