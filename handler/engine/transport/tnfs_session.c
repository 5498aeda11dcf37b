// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * NFSv4.1: the client ID, the session and its slots, and the open of
 * the file, for a transport whose calls are COMPOUNDs (RFC 8881).  It
 * sits beside tnfs_conn.c: a fresh connection gets its session here
 * before the same GETATTR check as in v3, and the call table asks it
 * what a reply's SEQUENCE says before a call completes.
 *
 * Rules:
 * - A connection is set up in steps, each on that connection and each
 *   taken only when needed: EXCHANGE_ID (no client ID), CREATE_SESSION
 *   (no session; it binds the connection), BIND_CONN_TO_SESSION (a
 *   session exists), OPEN CLAIM_PREVIOUS (a new client ID while we held
 *   an open: the server restarted), RECLAIM_COMPLETE (once per client
 *   ID), OPEN CLAIM_FH (no open), then the GETATTR check.
 * - A session the server no longer knows (BADSESSION, DEADSESSION, a
 *   slot or sequence it refuses) drops every connection: their calls are
 *   sent again once a fresh one is set up.  A client ID it no longer
 *   knows (STALE_CLIENTID) is made again.  Nothing is written between:
 *   calls wait in the pending queue until the open is back.
 * - A call takes the lowest free slot below the server's target; slot 0
 *   is the transport's own (the check, OPEN, renew, CLOSE).  A slot is
 *   free again with its sequence ID advanced when a reply's SEQUENCE
 *   succeeded, as it was when the SEQUENCE failed, and "uncertain" when
 *   no one can tell (the connection died, the reply did not decode): its
 *   next call then uses the sequence ID after the unknown one, and
 *   SEQ_MISORDERED tells that the unknown one never ran.  That call may
 *   be lost too (the next cut): the server then expects any ID from the
 *   first unknown one (the slot's floor) up, and each SEQ_MISORDERED
 *   steps one down towards it.  cachethis is never set: READ, WRITE and
 *   COMMIT may simply run again.
 * - NFS4ERR_DELAY and GRACE are retried with backoff until the call's
 *   deadline.  An open the server revoked or forgot (BAD_STATEID,
 *   EXPIRED, ADMIN_REVOKED, state revoked in sr_status_flags) fails the
 *   transport for good: nothing is written without the open.
 * - The lease is renewed by every SEQUENCE, and by a SEQUENCE alone
 *   when the device is idle for a third of it.
 * - share=1: the client ID is the server's other devices' of the same
 *   principal too (tnfs_client4.h).  EXCHANGE_ID, CREATE_SESSION and
 *   RECLAIM_COMPLETE wait for the client's turn; a new client ID that
 *   another device made ends this device's session and makes its open a
 *   reclaim, as a restart this device saw itself would; the open owner
 *   stays the device's own.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tnfs_status.h"
#include "tnfs_transport_priv.h"

/* until the server's lease_time is known */
#define LEASE_DEFAULT_MS	30000
/* NFS4ERR_DELAY / GRACE on a call: sent again after this, doubling */
#define DELAY_MIN_MS		20
#define DELAY_MAX_MS		1000
/* an OPEN refused for the grace period: tried again after this */
#define STEP_MIN_MS		200
#define STEP_MAX_MS		2000
/* closing: CLOSE, DESTROY_SESSION, DESTROY_CLIENTID, at most this long */
#define CLOSE_MS		3000
/* a client ID the server keeps calling stale: give up the connection */
#define CLIENT_TRIES		3
/* share=1: the client's turn, the other devices' reclaims looked at */
#define TURN_POLL_MS		5
#define RECLAIM_POLL_MS		50

enum slot_outcome {
	SLOT_DONE,		/* the SEQUENCE ran: the seqid is used */
	SLOT_UNUSED,		/* refused before running: seqid unused */
	SLOT_BEHIND,		/* SEQ_MISORDERED after an unknown one */
	SLOT_UNKNOWN,		/* no one can tell */
};

int tnfs_session_init(struct tnfs_transport *t)
{
	struct tnfs_session *s = calloc(1, sizeof(*s));
	unsigned int i, r;

	if (!s)
		return -ENOMEM;
	/*
	 * One client per transport: two devices of one host on one file
	 * must not take each other for a reboot of the same client.
	 */
	snprintf(s->owner, sizeof(s->owner), "tcmu-nfs/%.48s/%d/%08x",
		 t->p.cred.machine, (int)getpid(), t->seed);
	for (i = 0; i < sizeof(s->verifier); i++) {
		r = (unsigned int)rand_r(&t->seed);
		s->verifier[i] = (unsigned char)(r >> 8);
	}
	s->lease_ms = LEASE_DEFAULT_MS;
	s->highest_used = -1;
	if (t->pool) {
		s->cl = tnfs_client4_join(t->pool, t->p.v4_minor, &t->p.cred,
					  &s->member);
		if (!s->cl) {
			free(s);
			return -ENOMEM;
		}
	}
	t->sess = s;
	return 0;
}

void tnfs_session_free(struct tnfs_transport *t)
{
	if (t->sess)
		tnfs_client4_leave(t->sess->cl, &t->sess->member);
	free(t->sess);
	t->sess = NULL;
}

bool tnfs_session_ready(const struct tnfs_transport *t)
{
	return t->sess->have_session && t->sess->have_open;
}

/* ---- slots ---- */

static void slots_reset(struct tnfs_session *s, unsigned int n)
{
	unsigned int i;

	s->epoch++;
	s->nslots = n > TNFS_SLOTS_MAX ? TNFS_SLOTS_MAX : n;
	s->limit = s->nslots;
	s->highest_used = -1;
	for (i = 0; i < TNFS_SLOTS_MAX; i++)
		s->slot[i] = (struct tnfs_slot){ .next = 1 };
}

static void highest_again(struct tnfs_session *s)
{
	int i;

	for (i = s->highest_used; i >= 0 && !s->slot[i].busy; i--)
		;
	s->highest_used = i;
}

bool tnfs_session_take_slot(struct tnfs_transport *t, struct tnfs_rpc *rpc,
			    bool internal)
{
	struct tnfs_session *s = t->sess;
	struct tnfs_slot *sl;
	unsigned int i = 0;

	if (!s->have_session || !s->nslots)
		return false;
	if (internal) {
		if (s->slot[0].busy)
			return false;
	} else {
		for (i = 1; i < s->limit && s->slot[i].busy; i++)
			;
		if (i >= s->limit)
			return false;
	}
	sl = &s->slot[i];
	sl->busy = true;
	rpc->slot = (int16_t)i;
	rpc->epoch = s->epoch;
	rpc->resync = sl->uncertain;
	rpc->seqid = sl->uncertain ? sl->next + 1 : sl->next;
	if ((int)i > s->highest_used)
		s->highest_used = (int)i;
	return true;
}

static void slot_put(struct tnfs_session *s, int slot, uint32_t seqid,
		     uint32_t epoch, bool resync, enum slot_outcome o)
{
	struct tnfs_slot *sl;

	if (slot < 0 || epoch != s->epoch || slot >= TNFS_SLOTS_MAX)
		return;
	sl = &s->slot[slot];
	sl->busy = false;
	switch (o) {
	case SLOT_DONE:
		sl->next = seqid + 1;
		sl->uncertain = false;
		break;
	case SLOT_UNUSED:
		/* after an unknown one, it is still unknown */
		if (!resync) {
			sl->next = seqid;
			sl->uncertain = false;
		}
		break;
	case SLOT_BEHIND:
		/* not @seqid: the one below, if it may be, is tried next */
		sl->uncertain = seqid - 1 != sl->floor;
		sl->next = sl->uncertain ? seqid - 2 : seqid - 1;
		break;
	case SLOT_UNKNOWN:
		/* a guess lost: the server may still expect the floor */
		if (!resync)
			sl->floor = seqid;
		sl->next = seqid;
		sl->uncertain = true;
		break;
	}
	if (slot == s->highest_used)
		highest_again(s);
}

static void rpc_slot_put(struct tnfs_transport *t, struct tnfs_rpc *rpc,
			 enum slot_outcome o)
{
	slot_put(t->sess, rpc->slot, rpc->seqid, rpc->epoch, rpc->resync, o);
	rpc->slot = -1;
}

void tnfs_session_forget_slot(struct tnfs_transport *t, struct tnfs_rpc *rpc)
{
	rpc_slot_put(t, rpc, SLOT_UNKNOWN);
}

void tnfs_session_ghost_reply(struct tnfs_transport *t,
			      const struct tnfs_ghost *g,
			      const unsigned char *rec, size_t len)
{
	struct tnfs_xdr_reply r;
	enum slot_outcome o = SLOT_UNKNOWN;

	if (!tnfs_xdr4_decode_seq(rec, len, &r))
		o = !r.seq_status ? SLOT_DONE :
		    r.seq_status == TNFS_NFS4ERR_SEQ_MISORDERED && g->resync ?
		    SLOT_BEHIND : SLOT_UNUSED;
	slot_put(t->sess, g->slot, g->seqid, g->epoch, g->resync, o);
}

void tnfs_session_ghost_lost(struct tnfs_transport *t,
			     const struct tnfs_ghost *g)
{
	slot_put(t->sess, g->slot, g->seqid, g->epoch, g->resync,
		 SLOT_UNKNOWN);
}

/* ---- encoding ---- */

uint32_t tnfs_session_encode(struct tnfs_transport *t, struct tnfs_rpc *rpc)
{
	struct tnfs_session *s = t->sess;
	struct tnfs_xdr4_ctx ctx = {
		.minor = t->p.v4_minor,
		.slot = rpc->slot < 0 ? 0 : (uint32_t)rpc->slot,
		.seqid = rpc->seqid,
		.highest = s->highest_used < 0 ? 0 :
			   (uint32_t)s->highest_used,
		.stateid = s->stateid,
		.clientid = s->clientid,
		.cs_seq = s->cs_seq,
		/* slot 0 is ours: one more than the commands in flight */
		.slots = (t->p.slots ? t->p.slots : 64) + 1,
		/* a WRITE or READ of max_io, with room for its COMPOUND */
		.max_req = t->p.max_io + 1024,
		.max_resp = t->p.max_io + 1024,
		.owner = s->owner,
	};
	size_t n;

	memcpy(ctx.sessionid, s->sessionid, sizeof(ctx.sessionid));
	memcpy(ctx.verifier, s->verifier, sizeof(ctx.verifier));
	/* the client is shared; the open owner stays the device's own */
	if (s->cl && rpc->call.proc == TNFS_XDR4_EXCHANGE_ID) {
		ctx.owner = tnfs_client4_owner(s->cl);
		memcpy(ctx.verifier, tnfs_client4_verifier(s->cl),
		       sizeof(ctx.verifier));
	}
	n = tnfs_xdr4_encode(rpc->hdr, sizeof(rpc->hdr), rpc->xid, &t->auth,
			     &ctx, &rpc->call);
	/* every call this transport makes fits TNFS_XDR_CALL_MAX */
	if (!n)
		tnfs_log(&t->log, TNFS_LOG_ERR, "%s: %s does not fit a call "
			 "header", t->p.name,
			 tnfs_xdr_proc_name(rpc->call.proc));
	return (uint32_t)n;
}

/* ---- losing and recovering the session ---- */

/*
 * The server no longer has our session (or client ID, @client): every
 * connection but @keep dropped, their calls waiting for a new one.
 */
static void session_lost(struct tnfs_transport *t, struct tnfs_conn *keep,
			 bool client, const char *why)
{
	struct tnfs_session *s = t->sess;
	unsigned int i;

	if (t->failed)
		return;
	if (s->have_session &&
	    (!s->lost_log_ms || t->now_ms - s->lost_log_ms >= 10000)) {
		s->lost_log_ms = t->now_ms;
		tnfs_log(&t->log, TNFS_LOG_WARN, "%s: NFSv4.1 session lost "
			 "(%s): setting up a new one%s", t->p.name, why,
			 client ? " and a new client ID" : "");
	}
	s->have_session = false;
	if (client)
		s->have_client = false;
	slots_reset(s, 0);
	s->renewing = false;
	s->close_busy = false;
	for (i = 0; i < t->p.nconn; i++) {
		struct tnfs_conn *c = &t->conn[i];

		if (c != keep && c->fd >= 0)
			tnfs_conn_drop(c, "NFSv4.1 session lost: %s", why);
	}
	if (keep)
		keep->bound = false;
}

/* Our open is gone and cannot be had back without risk: fail for good. */
static void state_lost(struct tnfs_transport *t, const char *why)
{
	tnfs_fail_transport(t, TNFS_IO_ERR_STATE_LOST, "NFSv4.1: the "
			    "server no longer holds this client's open of "
			    "the file (%s): nothing is written without it",
			    why);
}

static bool is_state_error(uint32_t st)
{
	return st == TNFS_NFS4ERR_BAD_STATEID ||
	       st == TNFS_NFS4ERR_STALE_STATEID ||
	       st == TNFS_NFS4ERR_OLD_STATEID ||
	       st == TNFS_NFS4ERR_EXPIRED ||
	       st == TNFS_NFS4ERR_ADMIN_REVOKED ||
	       st == TNFS_NFS4ERR_DELEG_REVOKED ||
	       st == TNFS_NFS4ERR_OPENMODE;
}

/* the SEQUENCE errors that end a session, for the log */
static const char *seq_err_name(uint32_t st)
{
	switch (st) {
	case TNFS_NFS4ERR_BADSESSION:
		return "NFS4ERR_BADSESSION";
	case TNFS_NFS4ERR_DEADSESSION:
		return "NFS4ERR_DEADSESSION";
	case TNFS_NFS4ERR_BADSLOT:
		return "NFS4ERR_BADSLOT";
	case TNFS_NFS4ERR_BAD_HIGH_SLOT:
		return "NFS4ERR_BAD_HIGH_SLOT";
	case TNFS_NFS4ERR_SEQ_MISORDERED:
		return "NFS4ERR_SEQ_MISORDERED";
	case TNFS_NFS4ERR_SEQ_FALSE_RETRY:
		return "NFS4ERR_SEQ_FALSE_RETRY";
	}
	return "an error";
}

/* The shared client's turn given back (by this device only if it has it). */
static void turn_back(struct tnfs_session *s)
{
	if (s->cl)
		tnfs_client4_give_turn(s->cl, &s->member);
	s->turn_conn = NULL;
}

static void requeue_front(struct tnfs_transport *t, struct tnfs_rpc *rpc)
{
	rpc->resend = true;
	rpc->conn = NULL;
	tnfs_rpc_list_push_front(&t->pending, &t->pending_tail, rpc);
}

/* "Not now" (DELAY, GRACE): sent again later, within its deadline. */
static void delay_call(struct tnfs_transport *t, struct tnfs_rpc *rpc,
		       uint32_t status)
{
	struct tnfs_session *s = t->sess;
	unsigned int shift = rpc->delays < 6 ? rpc->delays : 6;
	uint64_t ms = (uint64_t)DELAY_MIN_MS << shift;

	if (rpc->delays < UINT8_MAX)
		rpc->delays++;
	rpc->last_status = (int)status;
	rpc->retry_at_ms = t->now_ms + (ms < DELAY_MAX_MS ? ms :
					DELAY_MAX_MS);
	rpc->conn = NULL;
	STAT_ADD(&t->stats, rpcs_resent, 1);
	tnfs_rpc_list_append(&s->delayed, &s->delayed_tail, rpc);
}

/*
 * The transport's own call (check, OPEN, renew) met a SEQUENCE error that
 * is neither its answer nor the session's end: its connection is set up
 * again from the start, with backoff, rather than take the error for the
 * server's verdict on the file.
 */
static enum tnfs_sess_verdict internal_again(struct tnfs_conn *c,
					     const char *why)
{
	tnfs_conn_drop_bad(c, "NFSv4.1: %s", why);
	return SESS_GONE;
}

void tnfs_session_internal_lost(struct tnfs_transport *t,
				const struct tnfs_rpc *rpc)
{
	struct tnfs_session *s = t->sess;

	/* never to be answered: the turn, the next renew or close step */
	if (s->turn_conn && rpc == &s->turn_conn->step)
		turn_back(s);
	if (rpc == &s->renew)
		s->renewing = false;
	else if (rpc == &s->close_rpc)
		s->close_busy = false;
}

static void limit_from(struct tnfs_session *s, const struct tnfs_xdr_reply *r)
{
	uint32_t lim = r->seq_target < r->seq_highest ? r->seq_target :
		       r->seq_highest;

	lim++;
	if (lim > s->nslots)
		lim = s->nslots;
	/* slot 0 is ours: keep one for the commands */
	if (lim < 2 && s->nslots >= 2)
		lim = 2;
	s->limit = lim;
}

enum tnfs_sess_verdict tnfs_session_answered(struct tnfs_conn *c,
					     struct tnfs_rpc *rpc,
					     const struct tnfs_xdr_reply *r)
{
	struct tnfs_transport *t = c->t;
	struct tnfs_session *s = t->sess;
	const struct tnfs_xdr4_res *res = tnfs_xdr4_res_of(r);
	uint32_t st;

	if (rpc->slot < 0)
		return SESS_COMPLETE;	/* no SEQUENCE in it */
	if (r->rpc != TNFS_XDR_RPC_OK || !r->seq) {
		rpc_slot_put(t, rpc, SLOT_UNKNOWN);
		return SESS_COMPLETE;
	}
	st = r->seq_status;
	if (!st && (r->seq_slot != (uint32_t)rpc->slot ||
		    r->seq_seqid != rpc->seqid)) {
		/* not the slot or sequence sent: nothing on it is known */
		rpc_slot_put(t, rpc, SLOT_UNKNOWN);
		if (!rpc->internal)
			requeue_front(t, rpc);
		session_lost(t, NULL, false, "a SEQUENCE answered for "
			     "another slot or sequence ID");
		return SESS_GONE;
	}
	if (!st) {
		rpc_slot_put(t, rpc, SLOT_DONE);
		s->renew_ms = t->now_ms;
		limit_from(s, r);
		if (r->seq_flags & TNFS_SEQ4_STATE_REVOKED) {
			state_lost(t, "its SEQUENCE says state was revoked");
			if (rpc->internal)
				return c->fd >= 0 ? SESS_COMPLETE : SESS_GONE;
			tnfs_rpc_complete(t, rpc, TNFS_IO_ERR_STATE_LOST, NULL);
			return SESS_REQUEUED;
		}
		if (rpc == &c->verify && r->have_attr &&
		    (res->attr.mask &
		     TNFS_FATTR4_BIT(TNFS_FATTR4_LEASE_TIME)) &&
		    res->attr.lease_time)
			s->lease_ms = res->attr.lease_time * 1000u;
		if (rpc->internal || !r->status)
			return SESS_COMPLETE;
		if (is_state_error(r->status)) {
			char why[64];

			snprintf(why, sizeof(why), "%s answered %" PRIu32,
				 tnfs_xdr_proc_name(rpc->call.proc),
				 r->status);
			state_lost(t, why);
			tnfs_rpc_complete(t, rpc, TNFS_IO_ERR_STATE_LOST, NULL);
			return SESS_REQUEUED;
		}
		if (r->status == TNFS_NFS4ERR_DELAY ||
		    r->status == TNFS_NFS4ERR_GRACE) {
			delay_call(t, rpc, r->status);
			return SESS_REQUEUED;
		}
		return SESS_COMPLETE;
	}
	switch (st) {
	case TNFS_NFS4ERR_SEQ_MISORDERED:
		if (rpc->resync) {
			/* the unknown call never ran: its seqid is free */
			rpc_slot_put(t, rpc, SLOT_BEHIND);
			if (rpc->internal)
				return internal_again(c, "slot 0 "
						      "resynchronised");
			requeue_front(t, rpc);
			return SESS_REQUEUED;
		}
		/* fall through */
	case TNFS_NFS4ERR_BADSESSION:
	case TNFS_NFS4ERR_DEADSESSION:
	case TNFS_NFS4ERR_BADSLOT:
	case TNFS_NFS4ERR_BAD_HIGH_SLOT:
	case TNFS_NFS4ERR_SEQ_FALSE_RETRY:
		rpc_slot_put(t, rpc, SLOT_UNKNOWN);
		if (!rpc->internal)
			requeue_front(t, rpc);
		{
			char why[64];

			snprintf(why, sizeof(why), "its SEQUENCE answered %s",
				 seq_err_name(st));
			session_lost(t, NULL, false, why);
		}
		return SESS_GONE;
	case TNFS_NFS4ERR_CONN_NOT_BOUND:
		rpc_slot_put(t, rpc, SLOT_UNUSED);
		if (!rpc->internal)
			requeue_front(t, rpc);
		c->bound = false;
		tnfs_conn_drop(c, "not bound to the NFSv4.1 session");
		return SESS_GONE;
	case TNFS_NFS4ERR_DELAY:
		rpc_slot_put(t, rpc, SLOT_UNUSED);
		if (rpc->internal)
			return SESS_COMPLETE;
		delay_call(t, rpc, st);
		return SESS_REQUEUED;
	case TNFS_NFS4ERR_RETRY_UNCACHED_REP:
		/* it ran, its reply is gone: run it again, it may */
		rpc_slot_put(t, rpc, SLOT_DONE);
		if (rpc->internal)
			return internal_again(c, "a retry without its reply");
		requeue_front(t, rpc);
		return SESS_REQUEUED;
	default:
		rpc_slot_put(t, rpc, SLOT_UNUSED);
		if (rpc->internal)
			return internal_again(c, "SEQUENCE refused");
		return SESS_COMPLETE;
	}
}

/* ---- share=1: the client ID shared (tnfs_client4.h) ---- */

/* What the shared client knows of this device's open. */
static void member_open(struct tnfs_session *s, bool open)
{
	if (s->cl)
		tnfs_client4_opened(s->cl, &s->member, open);
}

/* The client's turn for @c's next step; false: someone else has it. */
static bool turn_take(struct tnfs_conn *c)
{
	struct tnfs_session *s = c->t->sess;

	if (!s->cl)
		return true;
	if (s->turn_conn && s->turn_conn != c)
		return false;
	if (!tnfs_client4_take_turn(s->cl, &s->member))
		return false;
	s->turn_conn = c;
	return true;
}

/*
 * share=1: the shared client as it is now.  A new client ID (another
 * device found the server restarted) ends this device's session, which
 * was of the old one, and makes its open a reclaim.
 */
static void shared_sync(struct tnfs_transport *t, struct tnfs_conn *keep)
{
	struct tnfs_session *s = t->sess;
	struct tnfs_client4_view v;

	tnfs_client4_view(s->cl, &v);
	if (v.gen != s->gen) {
		s->gen = v.gen;
		s->reclaim_done = false;
		if (s->have_session)
			session_lost(t, keep, true, "the client ID it shares "
				     "with the server's other devices is new");
		if (s->have_open && s->open_clientid != v.clientid) {
			s->have_open = false;
			s->reclaim = true;
			s->recovering = true;
		} else if (!s->have_open && !s->reclaim) {
			member_open(s, false);
		}
	}
	s->have_client = v.have;
	s->clientid = v.clientid;
	s->cs_seq = v.cs_seq;
}

/* ---- setting a connection up ---- */

static void next_step(struct tnfs_conn *c);

/*
 * The shared client is busy (@ms: its turn, a call's round trip; the
 * other devices' reclaims, longer): look again then, with jitter, so
 * that the devices waiting do not all look at once.
 */
static void step_soon(struct tnfs_conn *c, unsigned int ms)
{
	struct tnfs_transport *t = c->t;

	c->step_at_ms = t->now_ms + ms +
			(unsigned int)rand_r(&t->seed) % (ms * 2);
}

/* The step's answer was "not now" (grace): the same step later. */
static void step_later(struct tnfs_conn *c)
{
	struct tnfs_session *s = c->t->sess;

	s->step_backoff_ms = s->step_backoff_ms ?
			     s->step_backoff_ms * 2 : STEP_MIN_MS;
	if (s->step_backoff_ms > STEP_MAX_MS)
		s->step_backoff_ms = STEP_MAX_MS;
	c->step_at_ms = c->t->now_ms + s->step_backoff_ms;
}

static void step_opened(struct tnfs_conn *c, const struct tnfs_xdr4_res *res,
			bool reclaimed)
{
	struct tnfs_transport *t = c->t;
	struct tnfs_session *s = t->sess;

	s->stateid = res->stateid;
	s->have_open = true;
	s->open_clientid = s->clientid;
	member_open(s, true);
	s->step_backoff_ms = 0;
	if (s->recovering)
		tnfs_log(&t->log, TNFS_LOG_INFO, "%s: NFSv4.1 open %s after "
			 "the server lost its state", t->p.name,
			 reclaimed ? "reclaimed (CLAIM_PREVIOUS)" :
			 "made again (no grace period to reclaim in)");
	s->reclaim = false;
	s->recovering = false;
}

static void step_done(struct tnfs_rpc *rpc, int err,
		      const struct tnfs_xdr_reply *r)
{
	struct tnfs_conn *c = rpc->priv;
	struct tnfs_transport *t = c->t;
	struct tnfs_session *s = t->sess;
	const struct tnfs_xdr4_res *res = tnfs_xdr4_res_of(r);
	int st = err ? err : tnfs_xdr_result(r);

	/* each answer below gives the shared client's turn back */
	if (s->turn_conn == c)
		s->turn_conn = NULL;
	switch (rpc->call.proc) {
	case TNFS_XDR4_EXCHANGE_ID:
		if (st)
			turn_back(s);
		if (st == TNFS_NFS3ERR_JUKEBOX) {
			/* transient: tried again with the backoff */
			tnfs_conn_refused(c, st, "EXCHANGE_ID (the server "
					  "may hold as many NFSv4 clients as "
					  "it allows: knfsd 1 024 per GiB of "
					  "its memory)");
			return;
		}
		if (st) {
			tnfs_conn_refused(c, st, "EXCHANGE_ID");
			return;
		}
		if (s->cl) {
			/* a new ID: shared_sync makes the opens reclaims */
			tnfs_client4_exchanged(s->cl, &s->member,
					       res->clientid,
					       res->eir_flags &
					       TNFS_EXCHGID4_CONFIRMED_R,
					       res->eir_seq, t->now_ms,
					       s->lease_ms);
			break;
		}
		/*
		 * A client ID the server did not know: whatever open we
		 * had died with the server's old instance: reclaim it.
		 */
		if (!(res->eir_flags & TNFS_EXCHGID4_CONFIRMED_R) ||
		    res->clientid != s->clientid) {
			s->reclaim_done = false;
			if (s->have_open) {
				s->have_open = false;
				s->reclaim = true;
				s->recovering = true;
			}
		}
		s->clientid = res->clientid;
		s->cs_seq = res->eir_seq;
		s->have_client = true;
		break;
	case TNFS_XDR4_CREATE_SESSION:
		if ((st == TNFS_NFS4ERR_STALE_CLIENTID ||
		     st == TNFS_NFS4ERR_EXPIRED) &&
		    ++s->cs_tries <= CLIENT_TRIES) {
			if (s->cl)
				tnfs_client4_stale(s->cl, &s->member,
						   s->clientid);
			s->have_client = false;
			break;
		}
		if (st) {
			turn_back(s);
			tnfs_conn_refused(c, st, "CREATE_SESSION");
			return;
		}
		/* a session was made: the next CREATE_SESSION is the next */
		s->cs_seq++;
		if (s->cl)
			tnfs_client4_session_made(s->cl, &s->member);
		if (res->fore_slots < 2) {
			char what[160];

			/* slot 0 is the transport's own: none left for I/O */
			snprintf(what, sizeof(what), "CREATE_SESSION of %u "
				 "slot(s), 2 needed (knfsd grants one when "
				 "the memory it keeps for sessions is used "
				 "up)", res->fore_slots);
			tnfs_conn_refused(c, TNFS_IO_ERR_PROC_UNAVAIL, what);
			return;
		}
		s->cs_tries = 0;
		memcpy(s->sessionid, res->sessionid, sizeof(s->sessionid));
		slots_reset(s, res->fore_slots);
		s->have_session = true;
		s->renew_ms = t->now_ms;
		c->bound = true;
		tnfs_log(&t->log, TNFS_LOG_INFO, "%s: NFSv4.%u session with "
			 "%u slots (client ID %016" PRIx64 ")", t->p.name,
			 t->p.v4_minor, s->nslots, s->clientid);
		break;
	case TNFS_XDR4_BIND_CONN:
		if (st == TNFS_NFS4ERR_BADSESSION ||
		    st == TNFS_NFS4ERR_DEADSESSION) {
			session_lost(t, c, false, "BIND_CONN_TO_SESSION "
				     "refused");
			break;
		}
		if (st) {
			tnfs_conn_refused(c, st, "BIND_CONN_TO_SESSION");
			return;
		}
		c->bound = true;
		break;
	case TNFS_XDR4_OPEN_PREV:
		if (!st) {
			step_opened(c, res, true);
			break;
		}
		if (st == TNFS_NFS4ERR_GRACE || st == TNFS_NFS4ERR_DELAY) {
			step_later(c);
			return;
		}
		/* no grace (or none for us): a fresh open, after the rest */
		s->reclaim = false;
		s->have_open = false;
		member_open(s, false);
		break;
	case TNFS_XDR4_RECLAIM_COMPLETE:
		if (st == TNFS_NFS4ERR_DELAY || st == TNFS_NFS4ERR_GRACE) {
			turn_back(s);
			step_later(c);
			return;
		}
		if (st && st != TNFS_NFS4ERR_COMPLETE_ALREADY) {
			turn_back(s);
			tnfs_conn_refused(c, st, "RECLAIM_COMPLETE");
			return;
		}
		if (s->cl)
			tnfs_client4_reclaim_complete(s->cl, &s->member,
						      s->rc_gen, true);
		s->reclaim_done = true;
		break;
	case TNFS_XDR4_OPEN_FH:
		if (st == TNFS_NFS4ERR_GRACE || st == TNFS_NFS4ERR_DELAY) {
			step_later(c);
			return;
		}
		if (st == TNFS_NFS3ERR_STALE || st == TNFS_NFS3ERR_BADHANDLE) {
			tnfs_stale_suspect(t);
			tnfs_conn_drop(c, "OPEN: %s", tnfs_status_name(st));
			return;
		}
		if (st) {
			tnfs_conn_refused(c, st, "OPEN");
			return;
		}
		step_opened(c, res, false);
		break;
	default:
		return;
	}
	next_step(c);
}

static bool send_step(struct tnfs_conn *c, enum tnfs_xdr_proc proc,
		      bool sequenced)
{
	struct tnfs_rpc *rpc = &c->step;

	memset(rpc, 0, sizeof(*rpc));
	rpc->call.proc = proc;
	rpc->slot = -1;
	rpc->internal = true;
	rpc->done = step_done;
	rpc->priv = c;
	if (sequenced && !tnfs_session_take_slot(c->t, rpc, true)) {
		c->step_wait = true;	/* slot 0 busy: from the tick */
		return false;
	}
	tnfs_conn_send_rpc(c, rpc);
	return true;
}

bool tnfs_session_send_check(struct tnfs_conn *c, struct tnfs_rpc *rpc,
			     tnfs_rpc_done done)
{
	memset(rpc, 0, sizeof(*rpc));
	rpc->call.proc = TNFS_XDR_GETATTR;
	rpc->slot = -1;
	rpc->internal = true;
	rpc->done = done;
	rpc->priv = c;
	if (!tnfs_session_take_slot(c->t, rpc, true))
		return false;
	tnfs_conn_send_rpc(c, rpc);
	return true;
}

/* EXCHANGE_ID or CREATE_SESSION on @c, in the shared client's turn. */
static void client_step(struct tnfs_conn *c)
{
	struct tnfs_transport *t = c->t;
	struct tnfs_session *s = t->sess;

	if (!turn_take(c)) {
		step_soon(c, TURN_POLL_MS);
		return;
	}
	if (s->cl) {
		/* current, now that no one else may change it */
		shared_sync(t, c);
		if (s->have_client && s->have_session) {
			turn_back(s);
			next_step(c);
			return;
		}
	}
	send_step(c, s->have_client ? TNFS_XDR4_CREATE_SESSION :
		  TNFS_XDR4_EXCHANGE_ID, false);
}

/*
 * RECLAIM_COMPLETE, once per client ID: with a shared one, by whichever
 * device finds every member's reclaim done (tnfs_client4.h).
 */
static void reclaim_step(struct tnfs_conn *c)
{
	struct tnfs_transport *t = c->t;
	struct tnfs_session *s = t->sess;

	if (!s->cl) {
		send_step(c, TNFS_XDR4_RECLAIM_COMPLETE, true);
		return;
	}
	if (s->turn_conn && s->turn_conn != c) {
		step_soon(c, TURN_POLL_MS);
		return;
	}
	switch (tnfs_client4_reclaim(s->cl, &s->member, t->now_ms)) {
	case TNFS_CLIENT4_RC_DONE:
		s->reclaim_done = true;
		next_step(c);
		break;
	case TNFS_CLIENT4_RC_WAIT:
		step_soon(c, RECLAIM_POLL_MS);
		break;
	case TNFS_CLIENT4_RC_SEND:
		s->turn_conn = c;
		s->rc_gen = s->gen;
		/* not sent (slot 0 busy): asked again from the tick */
		if (!send_step(c, TNFS_XDR4_RECLAIM_COMPLETE, true))
			turn_back(s);
		break;
	}
}

/* The next thing @c needs before it may carry calls. */
static void next_step(struct tnfs_conn *c)
{
	struct tnfs_transport *t = c->t;
	struct tnfs_session *s = t->sess;

	if (t->failed || t->fenced || c->fd < 0)
		return;
	if (s->cl)
		shared_sync(t, c);
	if (!s->have_client || !s->have_session)
		client_step(c);
	else if (!c->bound)
		send_step(c, TNFS_XDR4_BIND_CONN, false);
	else if (s->reclaim)
		send_step(c, TNFS_XDR4_OPEN_PREV, true);
	else if (!s->reclaim_done)
		reclaim_step(c);
	else if (!s->have_open)
		send_step(c, TNFS_XDR4_OPEN_FH, true);
	else if (tnfs_session_send_check(c, &c->verify, tnfs_conn_verify_done))
		c->verifying = true;
	else
		c->step_wait = true;
}

void tnfs_session_connected(struct tnfs_conn *c)
{
	c->bound = false;
	next_step(c);
}

/* ---- timers ---- */

static void renew_done(struct tnfs_rpc *rpc, int err,
		       const struct tnfs_xdr_reply *r)
{
	struct tnfs_conn *c = rpc->priv;

	(void)err;
	(void)r;
	/* its SEQUENCE was judged already (tnfs_session_answered) */
	c->t->sess->renewing = false;
}

static struct tnfs_conn *conn_up(struct tnfs_transport *t)
{
	unsigned int i;

	for (i = 0; i < t->p.nconn; i++)
		if (t->conn[i].state == CONN_UP)
			return &t->conn[i];
	return NULL;
}

static uint64_t renew_at(const struct tnfs_session *s)
{
	return s->renew_ms + s->lease_ms / 3;
}

static void renew(struct tnfs_transport *t)
{
	struct tnfs_session *s = t->sess;
	struct tnfs_rpc *rpc = &s->renew;
	struct tnfs_conn *c;

	if (!tnfs_session_ready(t) || s->renewing || s->closing ||
	    t->now_ms < renew_at(s) || !(c = conn_up(t)))
		return;
	memset(rpc, 0, sizeof(*rpc));
	rpc->call.proc = TNFS_XDR4_RENEW;
	rpc->slot = -1;
	rpc->internal = true;
	rpc->done = renew_done;
	rpc->priv = c;
	if (!tnfs_session_take_slot(t, rpc, true))
		return;
	s->renewing = true;
	tnfs_conn_send_rpc(c, rpc);
}

void tnfs_session_undelay(struct tnfs_transport *t)
{
	struct tnfs_session *s = t->sess;
	struct tnfs_rpc *rpc;

	while ((rpc = s->delayed)) {
		tnfs_rpc_list_remove(&s->delayed, &s->delayed_tail, rpc);
		tnfs_rpc_list_append(&t->pending, &t->pending_tail, rpc);
	}
}

static void delayed_tick(struct tnfs_transport *t)
{
	struct tnfs_session *s = t->sess;
	struct tnfs_rpc *rpc, *next;

	for (rpc = s->delayed; rpc; rpc = next) {
		next = rpc->next;
		if (rpc->deadline_ms && t->now_ms >= rpc->deadline_ms) {
			tnfs_rpc_list_remove(&s->delayed, &s->delayed_tail,
					     rpc);
			/* still "not now" when its time ran out */
			tnfs_rpc_complete(t, rpc, rpc->last_status, NULL);
			next = s->delayed;	/* a callback may add */
		} else if (t->now_ms >= rpc->retry_at_ms) {
			tnfs_rpc_list_remove(&s->delayed, &s->delayed_tail,
					     rpc);
			tnfs_rpc_list_append(&t->pending, &t->pending_tail,
					     rpc);
		}
	}
}

void tnfs_session_tick(struct tnfs_transport *t)
{
	struct tnfs_session *s = t->sess;
	unsigned int i;

	if (s->cl && (t->failed || t->fenced)) {
		/* failed for good: the other devices owe nothing for it */
		if (s->have_open) {
			s->have_open = false;
			member_open(s, false);
		}
	} else if (s->cl && tnfs_client4_gen(s->cl) != s->gen) {
		/* a new client ID: the steps read the rest of the view */
		shared_sync(t, NULL);
	}
	if (t->sess->delayed)
		delayed_tick(t);
	for (i = 0; i < t->p.nconn; i++) {
		struct tnfs_conn *c = &t->conn[i];

		if (c->fd < 0 || c->state != CONN_VERIFYING || c->head)
			continue;
		if (c->step_wait ||
		    (c->step_at_ms && t->now_ms >= c->step_at_ms)) {
			c->step_wait = false;
			c->step_at_ms = 0;
			next_step(c);
		}
	}
	renew(t);
}

static void earliest(uint64_t *next, uint64_t at)
{
	if (at && at < *next)
		*next = at;
}

void tnfs_session_next(const struct tnfs_transport *t, uint64_t *next)
{
	const struct tnfs_session *s = t->sess;
	const struct tnfs_rpc *rpc;
	unsigned int i;

	for (rpc = s->delayed; rpc; rpc = rpc->next) {
		earliest(next, rpc->retry_at_ms);
		earliest(next, rpc->deadline_ms);
	}
	for (i = 0; i < t->p.nconn; i++) {
		const struct tnfs_conn *c = &t->conn[i];

		if (c->fd < 0 || c->state != CONN_VERIFYING)
			continue;
		if (c->step_wait)
			earliest(next, t->now_ms + 1);
		earliest(next, c->step_at_ms);
	}
	if (tnfs_session_ready(t) && !s->renewing)
		earliest(next, renew_at(s));
	if (s->closing)
		earliest(next, s->close_deadline_ms);
}

/* ---- closing ---- */

enum { CLOSE_IDLE, CLOSE_FILE, CLOSE_SESSION, CLOSE_CLIENT, CLOSE_DONE };

static void close_done(struct tnfs_rpc *rpc, int err,
		       const struct tnfs_xdr_reply *r)
{
	struct tnfs_conn *c = rpc->priv;
	struct tnfs_session *s = c->t->sess;

	(void)err;
	(void)r;
	/* best effort: a server that refuses forgets us with the lease */
	s->close_busy = false;
	s->closing++;
}

bool tnfs_session_shutdown(struct tnfs_transport *t)
{
	struct tnfs_session *s = t->sess;
	struct tnfs_rpc *rpc = &s->close_rpc;
	static const enum tnfs_xdr_proc procs[] = {
		[CLOSE_FILE] = TNFS_XDR4_CLOSE,
		[CLOSE_SESSION] = TNFS_XDR4_DESTROY_SESSION,
		[CLOSE_CLIENT] = TNFS_XDR4_DESTROY_CLIENTID,
	};
	struct tnfs_conn *c;

	if (s->closing == CLOSE_IDLE) {
		if (t->failed || t->fenced || !s->have_session)
			return true;
		s->closing = s->have_open ? CLOSE_FILE : CLOSE_SESSION;
		s->close_deadline_ms = t->now_ms + CLOSE_MS;
	}
	if (s->closing == CLOSE_DONE || t->now_ms >= s->close_deadline_ms)
		return true;
	if (s->close_busy)
		return false;
	c = conn_up(t);
	if (!c)
		return true;
	memset(rpc, 0, sizeof(*rpc));
	rpc->call.proc = procs[s->closing];
	rpc->slot = -1;
	rpc->internal = true;
	rpc->done = close_done;
	rpc->priv = c;
	/* a shared client ID is destroyed by its last device */
	if (s->closing == CLOSE_CLIENT && s->cl &&
	    !tnfs_client4_last(s->cl, &s->member)) {
		s->closing = CLOSE_DONE;
		return true;
	}
	if (s->closing == CLOSE_FILE && !tnfs_session_take_slot(t, rpc, true))
		return false;
	if (s->closing == CLOSE_FILE) {
		s->have_open = false;
		member_open(s, false);
	} else if (s->closing == CLOSE_SESSION) {
		s->have_session = false;
	}
	s->close_busy = true;
	tnfs_conn_send_rpc(c, rpc);
	return false;
}
