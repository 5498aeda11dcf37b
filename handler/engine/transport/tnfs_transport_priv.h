/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Inside the transport: the structs its files share, and what each file
 * offers the ones above it (tnfs_transport.h has the order).  Nothing
 * outside this folder includes this.
 */
#ifndef TNFS_TRANSPORT_PRIV_H
#define TNFS_TRANSPORT_PRIV_H

#include "tnfs_client4.h"
#include "tnfs_pool.h"
#include "tnfs_ratelimit.h"
#include "tnfs_transport.h"
#include "tnfs_xdr4.h"

#define XID_HASH		256
/* calls given up on a live connection whose late replies are expected */
#define GHOSTS			256

enum conn_state { CONN_DOWN, CONN_CONNECTING, CONN_VERIFYING, CONN_UP };

/* a call given up whose reply may still come; v4: the slot it holds */
struct tnfs_ghost {
	uint32_t xid;
	int16_t slot;
	bool resync;			/* its seqid was a guess (tnfs_rpc) */
	uint32_t seqid, epoch;
};

/* NFSv4.1 slots: the fore channel granted, at most */
#define TNFS_SLOTS_MAX		256

struct tnfs_slot {
	uint32_t next;			/* the seqid to send next */
	uint32_t floor;			/* uncertain: the least the server */
					/* may expect */
	bool busy;
	bool uncertain;			/* @next was sent, answer unknown */
};

/* NFSv4.1: the client ID, the session, the open (tnfs_session.c) */
struct tnfs_session {
	char owner[TNFS_XDR4_OWNER_MAX];	/* client and open owner */
	unsigned char verifier[8];	/* this client's incarnation */
	bool have_client, have_session, have_open;
	bool reclaim;			/* an open to reclaim (restart) */
	bool recovering;		/* ... and until it is open again */
	bool reclaim_done;		/* RECLAIM_COMPLETE for this ID */
	uint64_t clientid, open_clientid;
	uint32_t cs_seq;
	unsigned int cs_tries;		/* CREATE_SESSION: client stale */
	unsigned char sessionid[TNFS_XDR4_SESSIONID];
	uint32_t epoch;			/* a new one per session */
	struct tnfs_xdr4_stateid stateid;
	struct tnfs_slot slot[TNFS_SLOTS_MAX];
	unsigned int nslots;		/* granted by the server */
	unsigned int limit;		/* usable now: target_highest + 1 */
	int highest_used;
	uint32_t lease_ms;
	uint64_t renew_ms;		/* a SEQUENCE last succeeded */
	bool renewing;
	struct tnfs_rpc renew;
	struct tnfs_rpc *delayed, *delayed_tail;	/* DELAY, GRACE */
	unsigned int step_backoff_ms;	/* an OPEN refused for grace */
	uint64_t lost_log_ms;
	/* closing: CLOSE, DESTROY_SESSION, DESTROY_CLIENTID */
	int closing;
	uint64_t close_deadline_ms;
	struct tnfs_rpc close_rpc;
	bool close_busy;
	/* share=1: the client ID is the server's other devices' too */
	struct tnfs_client4 *cl;
	struct tnfs_client4_member member;
	uint64_t gen;			/* of @cl's client ID, as last seen */
	uint64_t rc_gen;		/* RECLAIM_COMPLETE sent for */
	struct tnfs_conn *turn_conn;	/* its step has @cl's turn */
};

struct tnfs_conn {
	struct tnfs_transport *t;
	unsigned int index;
	enum conn_state state;
	int fd;
	struct tnfs_rpc *head, *tail;	/* carried, in the order sent */
	struct tnfs_rpc *unsent;	/* first not fully written */
	unsigned int calls;
	uint64_t attempt_ms;		/* this attempt began */
	uint64_t down_ms;		/* lost, for the reconnect line */
	char cause[160];		/* why it was lost */
	unsigned int attempts;		/* since it was lost */
	unsigned int resent;		/* calls it had when lost */
	uint64_t up_ms;			/* verified and in use since */
	uint64_t rx_ms;			/* bytes last arrived */
	uint64_t busy_ms;		/* went from no call to some */
	bool healthy;			/* answered a call since connecting */
	bool was_up;
	bool probing;			/* its NULL probe is in flight */
	bool counted;			/* in tnfs_peer_hold's count */

	/* receive side (tnfs_rx.c) */
	unsigned char *in;
	size_t in_len, in_cap;
	unsigned char *frag;		/* a record in several fragments */
	size_t frag_len;
	unsigned int frags;		/* fragments of it so far */
	size_t skip;			/* bytes of a given-up READ's reply */
					/* to throw away */
	/* a READ reply whose data goes straight into its call's iovec */
	struct tnfs_rpc *dx;
	struct tnfs_xdr_reply dx_reply;	/* its head, decoded */
	size_t dx_done;			/* data bytes placed */
	uint32_t dx_pad;		/* padding bytes still to come */
	unsigned char dx_padbuf[4];

	struct tnfs_rpc verify;		/* GETATTR before use (and recheck) */
	struct tnfs_rpc probe;		/* NULL: is the server there? */
	bool verifying;			/* verify is in flight */
	struct tnfs_ghost ghost[GHOSTS];	/* given up, oldest first */
	unsigned int ghost_head, ghost_n;

	/* NFSv4.1: setting the session up on this connection */
	struct tnfs_rpc step;
	bool bound;			/* to the current session */
	bool step_wait;			/* next step wants slot 0, busy */
	uint64_t step_at_ms;		/* ... or waits for this time */
};

struct tnfs_transport {
	struct tnfs_transport_params p;
	struct tnfs_xdr_auth auth;	/* p.cred and p.fh, encoded */
	struct tnfs_logger log;
	/* p.nconn of them: an idle device pays for what it uses */
	struct tnfs_conn *conn;
	struct tnfs_rpc *pending, *pending_tail;
	struct tnfs_rpc *xid_hash[XID_HASH];
	unsigned int calls;
	uint32_t next_xid;
	uint32_t max_record;
	uint64_t next_attempt_ms;
	unsigned int backoff_ms;
	uint64_t attempt_log_ms;
	unsigned int rr;		/* round robin over connections */
	int failed;			/* nfsstat3 that ended it, or 0 */
	int fenced;			/* tnfs_transport_fence's status */
	int refused;			/* result of a GETATTR check refused */
					/* for good, until one passes */
	bool refuse_now;		/* its waiting calls not yet failed */
	unsigned int seed;		/* for jitter and ports */
	bool resv_warned;		/* said no reserved port was free */
	uint64_t now_ms;
	uint64_t rx_us;			/* a socket was last found readable */
	uint64_t slow_ms;		/* slowest reply of late */
	uint64_t slow_decay_ms;		/* halved then */
	uint64_t carried_deadline_ms;	/* earliest of carried calls, or 0 */
	uint64_t attempt_at[TNFS_ATTEMPTS_MAX]; /* when, a ring */
	unsigned int attempt_i;
	uint64_t stale_ms;		/* first stale answer; 0: none */
	uint64_t stale_since_ms;	/* until a call is answered again */
	bool stale_confirm;		/* looked up: a GETATTR to prove it */
	bool recheck;			/* verify the file again */
	struct tnfs_ratelimit lost_log;	/* "connection lost" lines */
	struct tnfs_ratelimit call_log;	/* calls failed for garbled replies */
	struct tnfs_transport_stats stats;	/* its own, read by others */
	struct tnfs_session *sess;	/* NFSv4.1 only */
	struct tnfs_pool *pool;		/* share=1 only */
};

/* ---- tnfs_calls.c: the call table ---- */

void tnfs_rpc_list_append(struct tnfs_rpc **head, struct tnfs_rpc **tail,
			  struct tnfs_rpc *rpc);
/* first on the list: a call to send again before the ones waiting */
void tnfs_rpc_list_push_front(struct tnfs_rpc **head, struct tnfs_rpc **tail,
			      struct tnfs_rpc *rpc);
void tnfs_rpc_list_remove(struct tnfs_rpc **head, struct tnfs_rpc **tail,
			  struct tnfs_rpc *rpc);

/* @rpc now carries XID @xid on @c: make it findable. */
void tnfs_xid_insert(struct tnfs_transport *t, struct tnfs_rpc *rpc);
/* A call given up on @c: its reply may still come, and is expected. */
void tnfs_ghost_add(struct tnfs_conn *c, const struct tnfs_rpc *rpc);
/* Was @xid given up on @c?  Forgets it, into @g. */
bool tnfs_ghost_take(struct tnfs_conn *c, uint32_t xid, struct tnfs_ghost *g);
void tnfs_xid_remove(struct tnfs_transport *t, struct tnfs_rpc *rpc);
/* The call @c carries with XID @xid, or NULL. */
struct tnfs_rpc *tnfs_xid_find(struct tnfs_transport *t, struct tnfs_conn *c,
			       uint32_t xid);

/* The length of @rpc's call record, marker included. */
uint32_t tnfs_rpc_record_len(const struct tnfs_rpc *rpc);

/* @rpc is done: account for it and call its callback. */
void tnfs_rpc_complete(struct tnfs_transport *t, struct tnfs_rpc *rpc,
		       int err, const struct tnfs_xdr_reply *r);

/*
 * Pending calls past their deadline; all of them once failed, or those
 * waiting when a GETATTR check was refused and no connection is up (a
 * later call waits for the next attempt's verdict).
 */
void tnfs_fail_pending(struct tnfs_transport *t);

/*
 * The server called the handle stale: calls wait (not sent) until the
 * owner's lookup revalidates it; the owner is told (once an episode).
 */
void tnfs_stale_suspect(struct tnfs_transport *t);

/*
 * Calls @c carries whose deadline passed: taken off (a written one left
 * as a ghost) and failed.  Returns the earliest deadline of those left
 * (0: none), or -1 when one is half written: then @c must be dropped.
 */
int64_t tnfs_conn_expire(struct tnfs_conn *c);

/* Take @rpc off @c (it may be sent again); its XID is forgotten. */
void tnfs_conn_unlink(struct tnfs_conn *c, struct tnfs_rpc *rpc);

/*
 * @rpc, carried by @c, has its answer @r: off the connection, then
 * completed.  False when its callback dropped @c (the transport's own
 * GETATTR may).
 */
bool tnfs_conn_answered(struct tnfs_conn *c, struct tnfs_rpc *rpc,
			const struct tnfs_xdr_reply *r);

/*
 * A reply to @rpc (on @c) did not decode, for @why: the first time it is
 * sent again, the second time it fails.  Not for internal calls.
 */
void tnfs_conn_charge(struct tnfs_conn *c, struct tnfs_rpc *rpc,
		      const char *why);

/* ---- tnfs_session.c: NFSv4.1 client ID, session, slots, open ---- */

int tnfs_session_init(struct tnfs_transport *t);
void tnfs_session_free(struct tnfs_transport *t);

/* Encode @rpc's call header as the session stands; its length. */
uint32_t tnfs_session_encode(struct tnfs_transport *t, struct tnfs_rpc *rpc);

/* Is the session (and the open) ready for calls? */
bool tnfs_session_ready(const struct tnfs_transport *t);

/* A slot for @rpc (slot 0 for the transport's own calls); false: none. */
bool tnfs_session_take_slot(struct tnfs_transport *t, struct tnfs_rpc *rpc,
			    bool internal);

/* @rpc ends without a SEQUENCE answer: its slot's state is unknown. */
void tnfs_session_forget_slot(struct tnfs_transport *t, struct tnfs_rpc *rpc);

/* The transport's own @rpc went with its connection, unanswered. */
void tnfs_session_internal_lost(struct tnfs_transport *t,
				const struct tnfs_rpc *rpc);

/* A late reply to a call given up as @g came in record @rec. */
void tnfs_session_ghost_reply(struct tnfs_transport *t,
			      const struct tnfs_ghost *g,
			      const unsigned char *rec, size_t len);

/* @g, given up, will never be answered (its connection is gone). */
void tnfs_session_ghost_lost(struct tnfs_transport *t,
			     const struct tnfs_ghost *g);

enum tnfs_sess_verdict { SESS_COMPLETE, SESS_REQUEUED, SESS_GONE };

/*
 * The reply @r to @rpc on @c: its slot released as its SEQUENCE says,
 * the session recovered, a DELAY or GRACE answer retried later.
 * SESS_COMPLETE: complete it as usual.
 */
enum tnfs_sess_verdict tnfs_session_answered(struct tnfs_conn *c,
					     struct tnfs_rpc *rpc,
					     const struct tnfs_xdr_reply *r);

/* @c's TCP connect finished: a client ID, a session, the open, then
 * the GETATTR check, as the session needs. */
void tnfs_session_connected(struct tnfs_conn *c);

/* Send the GETATTR check on @c through slot 0: false when busy. */
bool tnfs_session_send_check(struct tnfs_conn *c, struct tnfs_rpc *rpc,
			     tnfs_rpc_done done);

/* Timers: steps waiting, calls delayed, the lease, closing. */
void tnfs_session_tick(struct tnfs_transport *t);
void tnfs_session_next(const struct tnfs_transport *t, uint64_t *next);

/* Every delayed call back to the pending queue (to fail them). */
void tnfs_session_undelay(struct tnfs_transport *t);

/* tnfs_transport_shutdown's NFSv4.1 part: CLOSE, DESTROY_*. */
bool tnfs_session_shutdown(struct tnfs_transport *t);

/* ---- tnfs_send.c: calls to connections ---- */

/* Put @rpc on @c (a new XID, its header encoded) to be written. */
void tnfs_conn_send_rpc(struct tnfs_conn *c, struct tnfs_rpc *rpc);

/* Write what @c has unsent.  0, or -errno when @c must be dropped. */
int tnfs_conn_flush(struct tnfs_conn *c);

/* Pending calls onto the connections that are up. */
void tnfs_dispatch_pending(struct tnfs_transport *t);

/* ---- tnfs_rx.c: replies ---- */

/*
 * Read what @c's socket has and hand each reply to its call, a bounded
 * amount per call so that timers and the other connections are served:
 * whatever is left, poll() reports again.  0, or when nothing more may
 * be read from @c: -1 (the connection failed) or -2 (the server sent
 * something wrong): drop it, for the reason written to @why.  A
 * callback may have dropped @c meanwhile (c->fd < 0).
 */
int tnfs_conn_read(struct tnfs_conn *c, char *why, size_t why_len);

/* ---- tnfs_conn.c: connections ---- */

/*
 * Close @c; what it carried goes back to the front of the pending queue,
 * in the order it was sent, to be sent again on a fresh connection.
 */
void tnfs_conn_drop(struct tnfs_conn *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The same, for something the server sent wrongly: no fresh backoff. */
void tnfs_conn_drop_bad(struct tnfs_conn *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Every connection closed and every call failed with @status, for good. */
void tnfs_fail_transport(struct tnfs_transport *t, int status,
			 const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Verify the file on @c (up) again: GETATTR, as a fresh connection. */
void tnfs_conn_recheck(struct tnfs_conn *c);

/* Send @c a NULL call: anything back proves the server alive. */
void tnfs_conn_probe(struct tnfs_conn *c);

/*
 * A GETATTR check (or the session's setup) refused for good (@res):
 * calls waiting fail with it; @c is dropped, with backoff.
 */
void tnfs_conn_refused(struct tnfs_conn *c, int res, const char *what);

/* @c proved it reaches the file: in use. */
void tnfs_conn_up(struct tnfs_conn *c);

/* verify's completion, for the session's check (tnfs_session.c) */
void tnfs_conn_verify_done(struct tnfs_rpc *rpc, int err,
			   const struct tnfs_xdr_reply *r);

/* Set up t->p.nconn connections, down; -ENOMEM.  Free with the other. */
int tnfs_conns_init(struct tnfs_transport *t);
void tnfs_conns_free(struct tnfs_transport *t);

/* Open a TCP connection for @c (state CONN_CONNECTING). */
void tnfs_conn_start(struct tnfs_conn *c);

/* @c's TCP connect finished: prove it reaches the same file. */
void tnfs_conn_connected(struct tnfs_conn *c);

#endif
