/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The leaf every engine layer shares: logging, the clock, the counters.
 * It includes nothing of the engine, so any layer (the transport under
 * the I/O path, the write-back cache beside it, the engine thread on top)
 * may use it without pulling in another.
 */
#ifndef NFS_BASE_H
#define NFS_BASE_H

#include <stdint.h>

#include "nfs_engine.h"

struct nfs_logger {
	void (*fn)(void *arg, enum nfs_log_level level, const char *msg);
	void *arg;
};

void nfs_log(const struct nfs_logger *l, enum nfs_log_level level,
	     const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* CLOCK_MONOTONIC in milliseconds, and in microseconds. */
uint64_t nfs_now_ms(void);
uint64_t nfs_now_us(void);

/*
 * Counters are read by other threads (nfs_engine_get_stats) while the
 * engine thread updates them: relaxed atomics, no lock.
 */
#define STAT_ADD(st, field, n) \
	__atomic_add_fetch(&(st)->field, (n), __ATOMIC_RELAXED)
#define STAT_SUB(st, field, n) \
	__atomic_sub_fetch(&(st)->field, (n), __ATOMIC_RELAXED)
#define STAT_GET(st, field) \
	__atomic_load_n(&(st)->field, __ATOMIC_RELAXED)
/* Only the engine thread writes a peak: load, compare, store. */
#define STAT_PEAK(st, field, v) do {					\
		if ((v) > STAT_GET(st, field))				\
			__atomic_store_n(&(st)->field, (v),		\
					 __ATOMIC_RELAXED);		\
	} while (0)

#endif
