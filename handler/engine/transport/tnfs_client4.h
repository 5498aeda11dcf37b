/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * NFSv4.1 client IDs per server, not per device (share=1): the share=1
 * devices of one process on one pool (one server) with the same minor
 * version and AUTH_SYS principal are one NFSv4 client to the server, as
 * the Linux client's mounts of one server are.  A server counts clients,
 * not sessions: knfsd allows 1 024 per GiB of its memory and keeps a
 * stable-storage record of each; one client costs it one.
 *
 * Each device keeps its own session (its own slot table, sized to its
 * queue depth) and its own open of its file under its own open owner:
 * one device's CLOSE never closes another's open, and its failure stays
 * its own.  What the devices share is the client ID and what hangs on
 * it: the CREATE_SESSION sequence, and RECLAIM_COMPLETE.
 *
 * Rules:
 * - One EXCHANGE_ID, CREATE_SESSION, RECLAIM_COMPLETE or DESTROY_CLIENTID
 *   of the client at a time, whoever sends it (the "turn"): the
 *   CREATE_SESSION sequence is the client's, and two at once would be
 *   taken for a retry of one.  The turn is held only while its call is
 *   in flight; the connection it was sent on going down gives it back.
 * - A client ID the server answers stale is dropped by the device that
 *   hears it; the next member to need one makes it (EXCHANGE_ID).  A new
 *   client ID begins a generation: each member that held an open under
 *   the old one owes a reclaim (OPEN CLAIM_PREVIOUS).
 * - RECLAIM_COMPLETE is sent once no member owes one, or once half the
 *   lease has passed since the new client ID (a device that has not
 *   noticed by then is idle; its reclaim is refused after it and it
 *   opens afresh, which loses nothing: what it had not seen committed is
 *   written again under any open).  Members wait for it before an OPEN
 *   that is not a reclaim, as RFC 8881 asks.
 * - The last member to leave destroys the client ID.
 */
#ifndef TNFS_CLIENT4_H
#define TNFS_CLIENT4_H

#include <stdbool.h>
#include <stdint.h>

#include "tnfs_xdr.h"

struct tnfs_client4;

/* A device's place in its client; read only under the client's lock. */
struct tnfs_client4_member {
	struct tnfs_client4_member *next;
	bool holds_open;		/* its open is of the current ID */
	bool owes;			/* ... was of the last: reclaim it */
};

/* The client as it stands, for a member to act on. */
struct tnfs_client4_view {
	uint64_t gen;			/* a new one per client ID */
	bool have;			/* a client ID to use */
	uint64_t clientid;
	uint32_t cs_seq;		/* CREATE_SESSION's next */
};

enum tnfs_client4_reclaim {
	TNFS_CLIENT4_RC_DONE,		/* sent for this client ID */
	TNFS_CLIENT4_RC_WAIT,		/* members still reclaiming */
	TNFS_CLIENT4_RC_SEND,		/* the caller's turn to send it */
};

/*
 * @m joins the client of @pool (any pointer naming the server), @minor
 * and @cred (made for the first member).  NULL when out of memory.
 */
struct tnfs_client4 *tnfs_client4_join(const void *pool, uint32_t minor,
				       const struct tnfs_xdr_cred *cred,
				       struct tnfs_client4_member *m);

/* @m leaves (its turn and its debts with it); the last frees all. */
void tnfs_client4_leave(struct tnfs_client4 *cl,
			struct tnfs_client4_member *m);

/* The client owner string and verifier of EXCHANGE_ID: fixed. */
const char *tnfs_client4_owner(const struct tnfs_client4 *cl);
const unsigned char *tnfs_client4_verifier(const struct tnfs_client4 *cl);

void tnfs_client4_view(struct tnfs_client4 *cl, struct tnfs_client4_view *v);

/* The view's generation alone, without the lock: for every tick. */
uint64_t tnfs_client4_gen(struct tnfs_client4 *cl);

/* The turn for @m (true also when it has it already); false: wait. */
bool tnfs_client4_take_turn(struct tnfs_client4 *cl,
			    struct tnfs_client4_member *m);
/* Given back, by @m only if it has it. */
void tnfs_client4_give_turn(struct tnfs_client4 *cl,
			    struct tnfs_client4_member *m);

/*
 * EXCHANGE_ID answered @clientid (@confirmed: one the server knew) and
 * sequence @seq; @lease_ms is the lease as the member knows it.  The
 * turn is given back.  True when it is a new client ID.
 */
bool tnfs_client4_exchanged(struct tnfs_client4 *cl,
			    struct tnfs_client4_member *m, uint64_t clientid,
			    bool confirmed, uint32_t seq, uint64_t now_ms,
			    uint32_t lease_ms);

/* CREATE_SESSION made a session: the sequence moves on; turn back. */
void tnfs_client4_session_made(struct tnfs_client4 *cl,
			       struct tnfs_client4_member *m);

/* The server called @clientid stale or expired; turn back. */
void tnfs_client4_stale(struct tnfs_client4 *cl,
			struct tnfs_client4_member *m, uint64_t clientid);

/* @m holds an open of the current client ID (@open), or none. */
void tnfs_client4_opened(struct tnfs_client4 *cl,
			 struct tnfs_client4_member *m, bool open);

/* Whether @m may go on past RECLAIM_COMPLETE, wait, or must send it. */
enum tnfs_client4_reclaim tnfs_client4_reclaim(struct tnfs_client4 *cl,
					       struct tnfs_client4_member *m,
					       uint64_t now_ms);

/* RECLAIM_COMPLETE for generation @gen was answered (@ok); turn back. */
void tnfs_client4_reclaim_complete(struct tnfs_client4 *cl,
				   struct tnfs_client4_member *m,
				   uint64_t gen, bool ok);

/*
 * Closing: true when @m is the last member and so destroys the client
 * ID (it then has the turn, and the client none until made again).
 */
bool tnfs_client4_last(struct tnfs_client4 *cl, struct tnfs_client4_member *m);

/* NFSv4.1 clients in this process, for tests. */
unsigned int tnfs_client4_count(void);

#endif
