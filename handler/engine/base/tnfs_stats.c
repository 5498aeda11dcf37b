// SPDX-License-Identifier: LGPL-2.1-or-later
#include "tnfs_stats.h"

_Static_assert(sizeof(struct tnfs_transport_stats) % sizeof(uint64_t) == 0,
	       "counters are uint64_t only");
_Static_assert(sizeof(struct tnfs_io_stats) % sizeof(uint64_t) == 0,
	       "counters are uint64_t only");

static void add(struct tnfs_latency *l, const uint64_t *bounds, uint64_t us)
{
	unsigned int i;

	for (i = 0; i < TNFS_LAT_BUCKETS && us > bounds[i]; i++)
		;
	STAT_ADD(l, bucket[i], 1);
	STAT_ADD(l, sum_us, us);
}

void tnfs_latency_add(struct tnfs_latency *l, uint64_t us)
{
	static const uint64_t bounds[TNFS_LAT_BUCKETS] = TNFS_LAT_BOUNDS_US;

	add(l, bounds, us);
}

void tnfs_stage_add(struct tnfs_latency *l, uint64_t us)
{
	static const uint64_t bounds[TNFS_LAT_BUCKETS] = TNFS_STAGE_BOUNDS_US;

	add(l, bounds, us);
}

void tnfs_stats_copy(void *dst, const void *src, size_t size)
{
	const uint64_t *s = src;
	uint64_t *d = dst;
	size_t i;

	for (i = 0; i < size / sizeof(uint64_t); i++)
		d[i] = __atomic_load_n(&s[i], __ATOMIC_RELAXED);
}
