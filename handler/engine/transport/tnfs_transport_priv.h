/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Inside the transport: the structs its files share, and what each file
 * offers the ones above it (tnfs_transport.h has the order).  Nothing
 * outside this folder includes this.
 */
#ifndef TNFS_TRANSPORT_PRIV_H
#define TNFS_TRANSPORT_PRIV_H

#include "tnfs_transport.h"

#define XID_HASH		256

enum conn_state { CONN_DOWN, CONN_CONNECTING, CONN_VERIFYING, CONN_UP };

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
	bool healthy;			/* answered a call since connecting */
	bool was_up;

	/* receive side (tnfs_rx.c) */
	unsigned char *in;
	size_t in_len, in_cap;
	unsigned char *frag;		/* a record in several fragments */
	size_t frag_len;
	/* a READ reply whose data goes straight into its call's iovec */
	struct tnfs_rpc *dx;
	struct tnfs_xdr_reply dx_reply;	/* its head, decoded */
	size_t dx_done;			/* data bytes placed */
	uint32_t dx_pad;		/* padding bytes still to come */
	unsigned char dx_padbuf[4];

	struct tnfs_rpc verify;		/* GETATTR before use */
};

struct tnfs_transport {
	struct tnfs_transport_params p;
	struct tnfs_logger log;
	struct tnfs_conn conn[TNFS_MAX_CONN];
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
	unsigned int seed;		/* for jitter and ports */
	uint64_t now_ms;
	struct tnfs_transport_stats stats;	/* its own, read by others */
};

/* ---- tnfs_calls.c: the call table ---- */

void tnfs_rpc_list_append(struct tnfs_rpc **head, struct tnfs_rpc **tail,
			  struct tnfs_rpc *rpc);
void tnfs_rpc_list_remove(struct tnfs_rpc **head, struct tnfs_rpc **tail,
			  struct tnfs_rpc *rpc);

/* @rpc now carries XID @xid on @c: make it findable. */
void tnfs_xid_insert(struct tnfs_transport *t, struct tnfs_rpc *rpc);
void tnfs_xid_remove(struct tnfs_transport *t, struct tnfs_rpc *rpc);
/* The call @c carries with XID @xid, or NULL. */
struct tnfs_rpc *tnfs_xid_find(struct tnfs_transport *t, struct tnfs_conn *c,
			       uint32_t xid);

/* The length of @rpc's call record, marker included. */
uint32_t tnfs_rpc_record_len(const struct tnfs_rpc *rpc);

/* @rpc is done: account for it and call its callback. */
void tnfs_rpc_complete(struct tnfs_transport *t, struct tnfs_rpc *rpc,
		       int err, const struct tnfs_xdr_reply *r);

/* Pending calls past their deadline, or all of them once failed. */
void tnfs_fail_pending(struct tnfs_transport *t);

/*
 * @rpc, carried by @c, has its answer @r: off the connection, then
 * completed.  False when its callback dropped @c (the transport's own
 * GETATTR may).
 */
bool tnfs_conn_answered(struct tnfs_conn *c, struct tnfs_rpc *rpc,
			const struct tnfs_xdr_reply *r);

/* ---- tnfs_send.c: calls to connections ---- */

/* Put @rpc on @c (a new XID, its header encoded) to be written. */
void tnfs_conn_send_rpc(struct tnfs_conn *c, struct tnfs_rpc *rpc);

/* Write what @c has unsent.  0, or -errno when @c must be dropped. */
int tnfs_conn_flush(struct tnfs_conn *c);

/* Pending calls onto the connections that are up. */
void tnfs_dispatch_pending(struct tnfs_transport *t);

/* ---- tnfs_rx.c: replies ---- */

/*
 * Read what @c's socket has and hand each reply to its call.  0, or -1
 * when nothing more may be read from @c: drop it, for the reason written
 * to @why.  A callback may have dropped @c meanwhile (c->fd < 0).
 */
int tnfs_conn_read(struct tnfs_conn *c, char *why, size_t why_len);

/* ---- tnfs_conn.c: connections ---- */

/*
 * Close @c; what it carried goes back to the front of the pending queue,
 * in the order it was sent, to be sent again on a fresh connection.
 */
void tnfs_conn_drop(struct tnfs_conn *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Set up t->p.nconn connections, down; -ENOMEM.  Free with the other. */
int tnfs_conns_init(struct tnfs_transport *t);
void tnfs_conns_free(struct tnfs_transport *t);

/* Open a TCP connection for @c (state CONN_CONNECTING). */
void tnfs_conn_start(struct tnfs_conn *c);

/* @c's TCP connect finished: prove it reaches the same file. */
void tnfs_conn_connected(struct tnfs_conn *c);

#endif
