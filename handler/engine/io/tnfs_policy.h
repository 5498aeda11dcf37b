/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The stable-write policy: how a write that must be stable before it
 * completes gets there.  Two paths keep the same guarantee:
 *
 *  - UNSTABLE WRITE, then a COMMIT shared by every write answered
 *    meanwhile, with the verifier check (two round trips, but one server
 *    flush for many writes);
 *  - a stable WRITE (DATA_SYNC): one round trip, one server flush each.
 *
 * Which is faster depends on the server, the size and the concurrency,
 * so with stable=auto the engine measures both: per class of command
 * (size, commands in flight) it runs epochs of one path, keeps the mean
 * completion latency of each, uses the faster and tries the other again
 * now and then (more often right after it won).  At a given concurrency a
 * lower mean latency is a higher throughput (Little's law), and for a
 * paced workload it is the latency itself: one figure serves both.
 *
 * Pure bookkeeping, no I/O and no clock of its own: unit-tested alone.
 */
#ifndef TNFS_POLICY_H
#define TNFS_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "tnfs_config.h"

enum tnfs_write_path { TNFS_PATH_COMMIT, TNFS_PATH_STABLE, TNFS_NR_PATHS };

/* Size classes: up to 4k, 16k, 64k, 256k, 1M, more. */
#define TNFS_POLICY_SIZES	6
/* Depth classes (commands in flight): 1, 2-3, 4-7, 8-15, 16-31, 32+. */
#define TNFS_POLICY_DEPTHS	6
/* Commands per epoch: at least this, and four times the depth. */
#define TNFS_POLICY_EPOCH_MIN	64
/*
 * Epochs on the better path between two tries of the other, at most:
 * once settled, 1 epoch in 65 measures the other path.
 */
#define TNFS_POLICY_GAP_MAX	64
/*
 * In 1/64ths of a mean: the stable path's is taken as 2/64 lower (ties go
 * to one round trip); a tried path becomes the best when it beat it by
 * 2/64 more; the best is left before its next try only when the other
 * beat it by 16/64, and a try that lost by that much waits four times
 * as long for the next (twice, else).  Chosen on the noisy model of
 * tests/unit/test_policy.c: with none of them a load swinging +-20 %
 * moved a sixth of the writes to the path 5 % slower.
 */
#define TNFS_POLICY_STABLE_BIAS	2
#define TNFS_POLICY_TAKE_MARGIN	2
#define TNFS_POLICY_LEAVE_MARGIN	16

struct tnfs_policy_class {
	uint64_t mean_us[TNFS_NR_PATHS];	/* last epoch's, 0: never run */
	uint64_t sum_us;		/* this epoch */
	unsigned int n;			/* commands completed this epoch */
	unsigned int gap;		/* epochs between tries */
	unsigned int since;		/* epochs since the last try */
	uint8_t path;			/* of this epoch */
	uint8_t best;
};

struct tnfs_policy {
	enum tnfs_stable_mode mode;
	uint64_t epochs[TNFS_NR_PATHS];	/* finished, for the stats */
	uint64_t switches;		/* best path changed */
	struct tnfs_policy_class cls[TNFS_POLICY_SIZES * TNFS_POLICY_DEPTHS];
};

void tnfs_policy_init(struct tnfs_policy *p, enum tnfs_stable_mode mode);

/*
 * The class of a write of @len bytes sent with @depth commands in flight
 * (itself included).
 */
unsigned int tnfs_policy_class(size_t len, unsigned int depth);

/* The path for a write of class @cls. */
enum tnfs_write_path tnfs_policy_choose(const struct tnfs_policy *p,
					unsigned int cls);

/*
 * A write of class @cls sent on @path became stable @lat_us after it
 * started.  Writes sent on the other path (the epoch changed while they
 * were in flight) do not count.  Ends the epoch when it is full.
 */
void tnfs_policy_record(struct tnfs_policy *p, unsigned int cls,
			enum tnfs_write_path path, uint64_t lat_us,
			unsigned int depth);

/* The stable_how a WRITE on @path asks for under mode @mode. */
uint32_t tnfs_policy_stable_how(enum tnfs_stable_mode mode,
				enum tnfs_write_path path);

#endif
