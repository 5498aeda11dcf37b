// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Shared NFSv4.1 client IDs (tnfs_client4.h): the registry the share=1
 * devices find theirs in, the turn, and the reclaim bookkeeping of a
 * new client ID.  Called from the devices' engine threads; everything a
 * member changes is under the client's lock.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tnfs_client4.h"
#include "tnfs_xdr4.h"

struct tnfs_client4 {
	struct tnfs_client4 *next;	/* in the registry */
	const void *pool;
	uint32_t minor, uid, gid;
	unsigned int refs;
	char owner[TNFS_XDR4_OWNER_MAX];
	unsigned char verifier[8];

	pthread_mutex_t lock;
	struct tnfs_client4_member *members;
	struct tnfs_client4_member *turn;	/* who has it, or NULL */
	struct tnfs_client4_view v;
	uint64_t reclaimed_gen;		/* RECLAIM_COMPLETE answered for */
	uint64_t window_end_ms;		/* ... sent by then at the latest */
};

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct tnfs_client4 *registry;

static struct tnfs_client4 *client_new(const void *pool, uint32_t minor,
				       const struct tnfs_xdr_cred *cred)
{
	struct tnfs_client4 *cl = calloc(1, sizeof(*cl));
	struct timespec ts;
	unsigned int seed, i;

	if (!cl)
		return NULL;
	cl->pool = pool;
	cl->minor = minor;
	cl->uid = cred->uid;
	cl->gid = cred->gid;
	pthread_mutex_init(&cl->lock, NULL);
	/*
	 * Unique per process and principal: a server that sees the same
	 * owner from another principal refuses it (CLID_INUSE), and a
	 * restarted tcmu-runner must not be taken for this one.
	 */
	snprintf(cl->owner, sizeof(cl->owner), "tcmu-nfs/%.40s/%d/shared/%u.%u",
		 cred->machine, (int)getpid(), cred->uid, cred->gid);
	clock_gettime(CLOCK_REALTIME, &ts);
	seed = (unsigned int)ts.tv_nsec ^ (unsigned int)(uintptr_t)cl;
	for (i = 0; i < sizeof(cl->verifier); i++)
		cl->verifier[i] = (unsigned char)(rand_r(&seed) >> 8);
	return cl;
}

struct tnfs_client4 *tnfs_client4_join(const void *pool, uint32_t minor,
				       const struct tnfs_xdr_cred *cred,
				       struct tnfs_client4_member *m)
{
	struct tnfs_client4 *cl;

	memset(m, 0, sizeof(*m));
	pthread_mutex_lock(&registry_lock);
	for (cl = registry; cl; cl = cl->next)
		if (cl->pool == pool && cl->minor == minor &&
		    cl->uid == cred->uid && cl->gid == cred->gid)
			break;
	if (!cl && (cl = client_new(pool, minor, cred))) {
		cl->next = registry;
		registry = cl;
	}
	if (cl) {
		cl->refs++;
		pthread_mutex_lock(&cl->lock);
		m->next = cl->members;
		cl->members = m;
		pthread_mutex_unlock(&cl->lock);
	}
	pthread_mutex_unlock(&registry_lock);
	return cl;
}

void tnfs_client4_leave(struct tnfs_client4 *cl, struct tnfs_client4_member *m)
{
	struct tnfs_client4_member **pm;
	struct tnfs_client4 **pc;
	bool last;

	if (!cl)
		return;
	pthread_mutex_lock(&registry_lock);
	pthread_mutex_lock(&cl->lock);
	for (pm = &cl->members; *pm && *pm != m; pm = &(*pm)->next)
		;
	if (*pm)
		*pm = m->next;
	if (cl->turn == m)
		cl->turn = NULL;
	pthread_mutex_unlock(&cl->lock);
	last = !--cl->refs;
	if (last) {
		for (pc = &registry; *pc != cl; pc = &(*pc)->next)
			;
		*pc = cl->next;
	}
	pthread_mutex_unlock(&registry_lock);
	if (!last)
		return;
	pthread_mutex_destroy(&cl->lock);
	free(cl);
}

const char *tnfs_client4_owner(const struct tnfs_client4 *cl)
{
	return cl->owner;
}

const unsigned char *tnfs_client4_verifier(const struct tnfs_client4 *cl)
{
	return cl->verifier;
}

void tnfs_client4_view(struct tnfs_client4 *cl, struct tnfs_client4_view *v)
{
	pthread_mutex_lock(&cl->lock);
	*v = cl->v;
	pthread_mutex_unlock(&cl->lock);
}

uint64_t tnfs_client4_gen(struct tnfs_client4 *cl)
{
	return __atomic_load_n(&cl->v.gen, __ATOMIC_ACQUIRE);
}

bool tnfs_client4_take_turn(struct tnfs_client4 *cl,
			    struct tnfs_client4_member *m)
{
	bool mine;

	pthread_mutex_lock(&cl->lock);
	if (!cl->turn)
		cl->turn = m;
	mine = cl->turn == m;
	pthread_mutex_unlock(&cl->lock);
	return mine;
}

/* under the lock */
static void give_turn(struct tnfs_client4 *cl, struct tnfs_client4_member *m)
{
	if (cl->turn == m)
		cl->turn = NULL;
}

void tnfs_client4_give_turn(struct tnfs_client4 *cl,
			    struct tnfs_client4_member *m)
{
	pthread_mutex_lock(&cl->lock);
	give_turn(cl, m);
	pthread_mutex_unlock(&cl->lock);
}

bool tnfs_client4_exchanged(struct tnfs_client4 *cl,
			    struct tnfs_client4_member *m, uint64_t clientid,
			    bool confirmed, uint32_t seq, uint64_t now_ms,
			    uint32_t lease_ms)
{
	struct tnfs_client4_member *o;
	bool fresh;

	pthread_mutex_lock(&cl->lock);
	fresh = !confirmed || clientid != cl->v.clientid || !cl->v.gen;
	if (fresh) {
		/* the old ID's opens died with it: their owners reclaim */
		/* read without the lock by tnfs_client4_gen */
		__atomic_store_n(&cl->v.gen, cl->v.gen + 1, __ATOMIC_RELEASE);
		for (o = cl->members; o; o = o->next) {
			o->owes = o->holds_open;
			o->holds_open = false;
		}
		cl->window_end_ms = now_ms + lease_ms / 2;
	}
	cl->v.have = true;
	cl->v.clientid = clientid;
	cl->v.cs_seq = seq;
	give_turn(cl, m);
	pthread_mutex_unlock(&cl->lock);
	return fresh;
}

void tnfs_client4_session_made(struct tnfs_client4 *cl,
			       struct tnfs_client4_member *m)
{
	pthread_mutex_lock(&cl->lock);
	cl->v.cs_seq++;
	give_turn(cl, m);
	pthread_mutex_unlock(&cl->lock);
}

void tnfs_client4_stale(struct tnfs_client4 *cl,
			struct tnfs_client4_member *m, uint64_t clientid)
{
	pthread_mutex_lock(&cl->lock);
	if (clientid == cl->v.clientid)
		cl->v.have = false;
	give_turn(cl, m);
	pthread_mutex_unlock(&cl->lock);
}

void tnfs_client4_opened(struct tnfs_client4 *cl,
			 struct tnfs_client4_member *m, bool open)
{
	pthread_mutex_lock(&cl->lock);
	m->holds_open = open;
	m->owes = false;
	pthread_mutex_unlock(&cl->lock);
}

enum tnfs_client4_reclaim tnfs_client4_reclaim(struct tnfs_client4 *cl,
					       struct tnfs_client4_member *m,
					       uint64_t now_ms)
{
	enum tnfs_client4_reclaim what = TNFS_CLIENT4_RC_WAIT;
	struct tnfs_client4_member *o;

	pthread_mutex_lock(&cl->lock);
	for (o = cl->members; o && !o->owes; o = o->next)
		;
	if (cl->reclaimed_gen == cl->v.gen)
		what = TNFS_CLIENT4_RC_DONE;
	else if ((!o || now_ms >= cl->window_end_ms) &&
		 (!cl->turn || cl->turn == m)) {
		cl->turn = m;
		what = TNFS_CLIENT4_RC_SEND;
	}
	pthread_mutex_unlock(&cl->lock);
	return what;
}

void tnfs_client4_reclaim_complete(struct tnfs_client4 *cl,
				   struct tnfs_client4_member *m,
				   uint64_t gen, bool ok)
{
	pthread_mutex_lock(&cl->lock);
	if (ok && gen == cl->v.gen)
		cl->reclaimed_gen = gen;
	give_turn(cl, m);
	pthread_mutex_unlock(&cl->lock);
}

bool tnfs_client4_last(struct tnfs_client4 *cl, struct tnfs_client4_member *m)
{
	bool last;

	pthread_mutex_lock(&cl->lock);
	last = cl->members == m && !m->next && (!cl->turn || cl->turn == m);
	if (last) {
		cl->turn = m;
		cl->v.have = false;
	}
	pthread_mutex_unlock(&cl->lock);
	return last;
}

unsigned int tnfs_client4_count(void)
{
	struct tnfs_client4 *cl;
	unsigned int n = 0;

	pthread_mutex_lock(&registry_lock);
	for (cl = registry; cl; cl = cl->next)
		n++;
	pthread_mutex_unlock(&registry_lock);
	return n;
}
