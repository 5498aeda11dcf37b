// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The shared NFSv4.1 client ID's bookkeeping (tnfs_client4.h): who joins
 * which client, the turn, the generations a new client ID begins, and
 * when RECLAIM_COMPLETE may go.  No network: the calls' answers are
 * played to it as the devices would report them.
 */
#include <string.h>

#include "../check.h"
#include "tnfs_client4.h"

static const int pool_a = 1, pool_b = 2;

static void joining(void)
{
	struct tnfs_xdr_cred root = { .uid = 0, .gid = 0 };
	struct tnfs_xdr_cred user = { .uid = 1000, .gid = 1000 };
	struct tnfs_client4_member m[5];
	struct tnfs_client4 *c[5];

	strcpy(root.machine, "gw");
	strcpy(user.machine, "gw");
	c[0] = tnfs_client4_join(&pool_a, 1, &root, &m[0]);
	c[1] = tnfs_client4_join(&pool_a, 1, &root, &m[1]);
	c[2] = tnfs_client4_join(&pool_a, 1, &user, &m[2]);
	c[3] = tnfs_client4_join(&pool_a, 2, &root, &m[3]);
	c[4] = tnfs_client4_join(&pool_b, 1, &root, &m[4]);
	CHECK(c[0] && c[0] == c[1], "two devices of one server, version and "
	      "principal: one client");
	CHECK(c[2] != c[0] && c[3] != c[0] && c[4] != c[0] &&
	      c[2] != c[3] && c[3] != c[4] && c[2] != c[4],
	      "another principal, minor version or server: another client");
	CHECK(tnfs_client4_count() == 4, "%u clients for 5 devices",
	      tnfs_client4_count());
	CHECK(strstr(tnfs_client4_owner(c[2]), "/1000.1000") &&
	      strcmp(tnfs_client4_owner(c[0]), tnfs_client4_owner(c[2])),
	      "the owner names the principal: %s", tnfs_client4_owner(c[2]));
	CHECK(!tnfs_client4_last(c[0], &m[0]), "not the last of two");
	tnfs_client4_leave(c[1], &m[1]);
	CHECK(tnfs_client4_last(c[0], &m[0]), "the last one destroys it");
	tnfs_client4_leave(c[0], &m[0]);
	tnfs_client4_leave(c[2], &m[2]);
	tnfs_client4_leave(c[3], &m[3]);
	tnfs_client4_leave(c[4], &m[4]);
	CHECK(tnfs_client4_count() == 0, "%u clients left",
	      tnfs_client4_count());
}

static void restart(void)
{
	struct tnfs_xdr_cred cred = { .uid = 0, .gid = 0 };
	struct tnfs_client4_member m1, m2, m3;
	struct tnfs_client4 *cl, *cl2, *cl3;
	struct tnfs_client4_view v;

	cl = tnfs_client4_join(&pool_a, 1, &cred, &m1);
	cl2 = tnfs_client4_join(&pool_a, 1, &cred, &m2);
	CHECK(cl && cl == cl2, "one client");
	tnfs_client4_view(cl, &v);
	CHECK(!v.have && !v.gen, "no client ID before EXCHANGE_ID");

	/* the turn: one call of the client's at a time */
	CHECK(tnfs_client4_take_turn(cl, &m1), "m1 takes the turn");
	CHECK(tnfs_client4_take_turn(cl, &m1), "m1 has it already");
	CHECK(!tnfs_client4_take_turn(cl, &m2), "m2 waits for it");
	CHECK(tnfs_client4_exchanged(cl, &m1, 0x11, false, 7, 1000, 30000),
	      "the first client ID is a new one");
	CHECK(tnfs_client4_take_turn(cl, &m2), "the answer gave it back");
	tnfs_client4_view(cl, &v);
	CHECK(v.have && v.clientid == 0x11 && v.cs_seq == 7 && v.gen == 1,
	      "view: have %d id %llx seq %u gen %llu", v.have,
	      (unsigned long long)v.clientid, v.cs_seq,
	      (unsigned long long)v.gen);
	tnfs_client4_session_made(cl, &m2);
	tnfs_client4_view(cl, &v);
	CHECK(v.cs_seq == 8, "a session made moves the sequence on (%u)",
	      v.cs_seq);
	CHECK(tnfs_client4_take_turn(cl, &m1), "... and gives the turn back");
	tnfs_client4_session_made(cl, &m1);

	/* the first RECLAIM_COMPLETE: no one owes anything */
	CHECK(tnfs_client4_reclaim(cl, &m1, 1000) == TNFS_CLIENT4_RC_SEND,
	      "a first client ID: RECLAIM_COMPLETE at once");
	CHECK(tnfs_client4_reclaim(cl, &m2, 1000) == TNFS_CLIENT4_RC_WAIT,
	      "m2 waits while m1 sends it");
	tnfs_client4_reclaim_complete(cl, &m1, 1, true);
	CHECK(tnfs_client4_reclaim(cl, &m2, 1000) == TNFS_CLIENT4_RC_DONE,
	      "then m2 goes on");
	tnfs_client4_opened(cl, &m1, true);
	tnfs_client4_opened(cl, &m2, true);

	/* the same ID confirmed again: nothing new */
	CHECK(tnfs_client4_take_turn(cl, &m2), "turn");
	CHECK(!tnfs_client4_exchanged(cl, &m2, 0x11, true, 8, 2000, 30000),
	      "the same client ID, confirmed: not a new one");
	CHECK(tnfs_client4_reclaim(cl, &m1, 2000) == TNFS_CLIENT4_RC_DONE,
	      "nothing to reclaim");

	/* a stale answer for an old ID does not drop the current one */
	CHECK(tnfs_client4_take_turn(cl, &m1), "turn");
	tnfs_client4_stale(cl, &m1, 0x10);
	tnfs_client4_view(cl, &v);
	CHECK(v.have, "an old ID's stale answer");
	CHECK(tnfs_client4_take_turn(cl, &m1), "turn");
	tnfs_client4_stale(cl, &m1, 0x11);
	tnfs_client4_view(cl, &v);
	CHECK(!v.have && tnfs_client4_take_turn(cl, &m2),
	      "the current ID stale: dropped, the turn given back");

	/* the server restarted: a new ID, both opens owed */
	CHECK(tnfs_client4_exchanged(cl, &m2, 0x22, false, 1, 10000, 30000),
	      "a new client ID");
	cl3 = tnfs_client4_join(&pool_a, 1, &cred, &m3);
	CHECK(cl3 == cl, "a device joining meanwhile");
	CHECK(tnfs_client4_reclaim(cl, &m3, 10000) == TNFS_CLIENT4_RC_WAIT,
	      "the newcomer waits for the others' reclaims");
	tnfs_client4_opened(cl, &m2, true);
	CHECK(tnfs_client4_reclaim(cl, &m2, 10000) == TNFS_CLIENT4_RC_WAIT,
	      "m2 reclaimed, m1 not yet: wait");
	tnfs_client4_opened(cl, &m1, true);
	CHECK(tnfs_client4_reclaim(cl, &m3, 10000) == TNFS_CLIENT4_RC_SEND,
	      "both reclaimed: RECLAIM_COMPLETE");
	tnfs_client4_reclaim_complete(cl, &m3, 1, true);
	CHECK(tnfs_client4_reclaim(cl, &m1, 10000) == TNFS_CLIENT4_RC_SEND,
	      "an answer for an older generation does not count");
	tnfs_client4_reclaim_complete(cl, &m1, 2, true);
	CHECK(tnfs_client4_reclaim(cl, &m3, 10000) == TNFS_CLIENT4_RC_DONE,
	      "done for this generation");

	/* again, m1 idle: RECLAIM_COMPLETE after half the lease anyway */
	CHECK(tnfs_client4_take_turn(cl, &m2), "turn");
	CHECK(tnfs_client4_exchanged(cl, &m2, 0x33, false, 1, 20000, 30000),
	      "another new client ID");
	tnfs_client4_opened(cl, &m2, true);
	CHECK(tnfs_client4_reclaim(cl, &m2, 34999) == TNFS_CLIENT4_RC_WAIT,
	      "m1 still owes its reclaim");
	CHECK(tnfs_client4_reclaim(cl, &m2, 35000) == TNFS_CLIENT4_RC_SEND,
	      "half the lease later: sent without it");
	tnfs_client4_reclaim_complete(cl, &m2, 3, false);
	CHECK(tnfs_client4_reclaim(cl, &m1, 35000) == TNFS_CLIENT4_RC_SEND,
	      "refused: asked again");
	/* m1 gone: it owes nothing */
	tnfs_client4_give_turn(cl, &m1);
	tnfs_client4_leave(cl, &m1);
	tnfs_client4_leave(cl, &m3);
	CHECK(tnfs_client4_last(cl, &m2), "the last device");
	tnfs_client4_view(cl, &v);
	CHECK(!v.have, "destroying: no client ID to use");
	tnfs_client4_leave(cl, &m2);
	CHECK(tnfs_client4_count() == 0, "all freed");
}

int main(void)
{
	joining();
	restart();
	return check_report("test_client4");
}
