// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The stable-write policy (tnfs_policy.h).  The guarantee does not depend
 * on it: whichever path a write takes, tnfs_io.c completes it only once
 * the server said it is stable (a DATA_SYNC or FILE_SYNC reply, or a
 * COMMIT with the WRITE's verifier).  Only speed does.
 */
#include <stdbool.h>

#include "tnfs_policy.h"
#include "tnfs_xdr.h"

void tnfs_policy_init(struct tnfs_policy *p, enum tnfs_stable_mode mode)
{
	unsigned int i;

	*p = (struct tnfs_policy){ .mode = mode };
	/*
	 * Start where the kernel client's O_DSYNC writes are, one stable
	 * WRITE each: COMMIT is tried from the second epoch on.
	 */
	for (i = 0; i < TNFS_POLICY_SIZES * TNFS_POLICY_DEPTHS; i++) {
		p->cls[i].gap = 1;
		p->cls[i].path = TNFS_PATH_STABLE;
		p->cls[i].best = TNFS_PATH_STABLE;
	}
}

/* 0 for up to 1 << @first, then one more per factor 1 << @step. */
static unsigned int bucket(uint64_t v, unsigned int first,
			   unsigned int step, unsigned int nr)
{
	unsigned int b = 0;

	v = v > 0 ? v - 1 : 0;
	v >>= first;
	while (v && b < nr - 1) {
		v >>= step;
		b++;
	}
	return b;
}

unsigned int tnfs_policy_class(size_t len, unsigned int depth)
{
	/* 4k, 16k, ... ; 1, 2-3, 4-7, ... */
	unsigned int s = bucket(len, 12, 2, TNFS_POLICY_SIZES);
	unsigned int d = 0;

	while (depth >> (d + 1) && d < TNFS_POLICY_DEPTHS - 1)
		d++;

	return s * TNFS_POLICY_DEPTHS + d;
}

enum tnfs_write_path tnfs_policy_choose(const struct tnfs_policy *p,
					unsigned int cls)
{
	switch (p->mode) {
	case TNFS_STABLE_COMMIT:
		return TNFS_PATH_COMMIT;
	case TNFS_STABLE_DATASYNC:
	case TNFS_STABLE_FILESYNC:
		return TNFS_PATH_STABLE;
	case TNFS_STABLE_AUTO:
		break;
	}
	return (enum tnfs_write_path)p->cls[cls].path;
}

/*
 * The mean of @path's last epochs, in 1/64 us, as the policy compares
 * them.  On a loaded machine two epochs run under different loads, so a
 * near tie says nothing: the stable path, one round trip and no COMMIT
 * to share, keeps or takes the place unless COMMIT is clearly faster.
 */
static uint64_t scored(const struct tnfs_policy_class *c, uint8_t path)
{
	uint64_t m = c->mean_us[path];

	return path == TNFS_PATH_STABLE ? m * (64 - TNFS_POLICY_STABLE_BIAS) :
	       m * 64;
}

/* @a beat @b by @margin / 64 */
static bool beats(const struct tnfs_policy_class *c, uint8_t a, uint8_t b,
		  unsigned int margin)
{
	return scored(c, a) * (64 + margin) < scored(c, b) * 64;
}

/* An epoch of the path that was not the best is over: which won? */
static void end_try(struct tnfs_policy *p, struct tnfs_policy_class *c)
{
	uint8_t tried = c->path;

	if (beats(c, tried, c->best, TNFS_POLICY_TAKE_MARGIN)) {
		c->best = tried;
		/* the loser may have been unlucky: try it again soon */
		c->gap = 1;
		p->switches++;
	} else {
		/* a clear loser is tried again later than a near one */
		c->gap *= beats(c, c->best, tried, TNFS_POLICY_LEAVE_MARGIN) ?
			  4 : 2;
		if (c->gap > TNFS_POLICY_GAP_MAX)
			c->gap = TNFS_POLICY_GAP_MAX;
	}
	c->since = 0;
	c->path = c->best;
}

static void end_epoch(struct tnfs_policy *p, struct tnfs_policy_class *c)
{
	uint8_t other = !c->path;
	uint64_t mean = c->sum_us / c->n;
	uint64_t *m = &c->mean_us[c->path];

	/* half the weight on the past: one unlucky epoch does not decide */
	*m = *m ? (*m + mean) / 2 : mean;
	p->epochs[c->path]++;
	c->sum_us = 0;
	c->n = 0;
	if (c->path != c->best) {
		end_try(p, c);
		return;
	}
	/*
	 * Never measured, due for a try, or the best got much slower than
	 * the other was when last measured (the workload or server
	 * changed; a load swing of a few tens of percent is not that).
	 */
	if (!c->mean_us[other] || ++c->since >= c->gap ||
	    beats(c, other, c->path, TNFS_POLICY_LEAVE_MARGIN))
		c->path = other;
}

void tnfs_policy_record(struct tnfs_policy *p, unsigned int cls,
			enum tnfs_write_path path, uint64_t lat_us,
			unsigned int depth)
{
	struct tnfs_policy_class *c = &p->cls[cls];
	unsigned int need = depth * 4 > TNFS_POLICY_EPOCH_MIN ?
			    depth * 4 : TNFS_POLICY_EPOCH_MIN;

	if (p->mode != TNFS_STABLE_AUTO || path != c->path)
		return;
	c->sum_us += lat_us ? lat_us : 1;
	if (++c->n >= need)
		end_epoch(p, c);
}

uint32_t tnfs_policy_stable_how(enum tnfs_stable_mode mode,
				enum tnfs_write_path path)
{
	if (path == TNFS_PATH_COMMIT)
		return TNFS_XDR_UNSTABLE;
	/*
	 * RFC 1813: DATA_SYNC commits the data and the metadata needed to
	 * retrieve it (block map, size); FILE_SYNC also every other
	 * attribute (mtime).  A disk needs only its data back, as LIO
	 * fileio asks with O_DSYNC.  stable=filesync exists to test the
	 * FILE_SYNC reply path and for servers that do DATA_SYNC poorly.
	 */
	return mode == TNFS_STABLE_FILESYNC ? TNFS_XDR_FILE_SYNC :
	       TNFS_XDR_DATA_SYNC;
}
