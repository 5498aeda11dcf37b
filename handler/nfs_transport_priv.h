/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Inside the transport: what nfs_transport.c (connections, sending,
 * timers) and nfs_transport_rx.c (receiving replies) share.  Nothing
 * else includes this.
 */
#ifndef NFS_TRANSPORT_PRIV_H
#define NFS_TRANSPORT_PRIV_H

#include "nfs_transport.h"

#define XID_HASH		256

enum conn_state { CONN_DOWN, CONN_CONNECTING, CONN_VERIFYING, CONN_UP };

struct nfs_conn {
	struct nfs_transport *t;
	unsigned int index;
	enum conn_state state;
	int fd;
	struct nfs_rpc *head, *tail;	/* carried, in the order sent */
	struct nfs_rpc *unsent;		/* first not fully written */
	unsigned int calls;
	uint64_t attempt_ms;		/* this attempt began */
	uint64_t down_ms;		/* lost, for the reconnect line */
	char cause[160];		/* why it was lost */
	unsigned int attempts;		/* since it was lost */
	unsigned int resent;		/* calls it had when lost */
	bool healthy;			/* answered a call since connecting */
	bool was_up;

	/* receive side */
	unsigned char *in;
	size_t in_len, in_cap;
	unsigned char *frag;		/* a record in several fragments */
	size_t frag_len;
	/* a READ reply whose data goes straight into its call's iovec */
	struct nfs_rpc *dx;
	struct nfs_xdr_reply dx_reply;	/* its head, decoded */
	size_t dx_done;			/* data bytes placed */
	uint32_t dx_pad;		/* padding bytes still to come */
	unsigned char dx_padbuf[4];

	struct nfs_rpc verify;		/* GETATTR before use */
};

struct nfs_transport {
	struct nfs_transport_params p;
	struct nfs_logger log;
	struct nfs_conn conn[NFS_MAX_CONN];
	struct nfs_rpc *pending, *pending_tail;
	struct nfs_rpc *xid_hash[XID_HASH];
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
};

/*
 * Close @c; what it carried goes back to the front of the pending queue,
 * in the order it was sent, to be sent again on a fresh connection.
 */
void nfs_conn_drop(struct nfs_conn *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The call @c carries with XID @xid, or NULL. */
struct nfs_rpc *nfs_xid_find(struct nfs_transport *t, struct nfs_conn *c,
			     uint32_t xid);
void nfs_xid_remove(struct nfs_transport *t, struct nfs_rpc *rpc);
void nfs_rpc_list_remove(struct nfs_rpc **head, struct nfs_rpc **tail,
			 struct nfs_rpc *rpc);

/* @rpc is done: account for it and call its callback. */
void nfs_rpc_complete(struct nfs_transport *t, struct nfs_rpc *rpc, int err,
		      const struct nfs_xdr_reply *r);

/* The length of @rpc's call record, marker included. */
uint32_t nfs_rpc_record_len(const struct nfs_rpc *rpc);

const char *nfs_proc_name(enum nfs_xdr_proc proc);

/* Read what @c's socket has and handle the replies (nfs_transport_rx.c). */
void nfs_conn_read(struct nfs_conn *c);

#endif
