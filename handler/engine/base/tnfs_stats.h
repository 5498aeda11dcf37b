/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Counters.  Each layer owns one struct of them and is alone in writing
 * it (on the engine thread, or a caller's thread that holds the engine's
 * run lock in its place: one writer at a time); the engine gathers them
 * into the snapshot tnfs_engine_get_stats() returns.  Other threads read
 * while the writer writes: relaxed atomic loads and stores, no lock and
 * no locked read-modify-write.  Every counter is a uint64_t, so that a
 * whole struct can be read word by word (tnfs_stats_copy).
 */
#ifndef TNFS_STATS_H
#define TNFS_STATS_H

#include <stddef.h>
#include <stdint.h>

#define STAT_GET(st, field) \
	__atomic_load_n(&(st)->field, __ATOMIC_RELAXED)
#define STAT_SET(st, field, v) \
	__atomic_store_n(&(st)->field, (v), __ATOMIC_RELAXED)
/* the new value, as __atomic_add_fetch would give it */
#define STAT_ADD(st, field, n) \
	({ __typeof__((st)->field) _v = STAT_GET(st, field) + (n); \
	   STAT_SET(st, field, _v); _v; })
#define STAT_SUB(st, field, n) \
	({ __typeof__((st)->field) _v = STAT_GET(st, field) - (n); \
	   STAT_SET(st, field, _v); _v; })
/* Only the owner writes a peak: load, compare, store. */
#define STAT_PEAK(st, field, v) do {					\
		if ((v) > STAT_GET(st, field))				\
			STAT_SET(st, field, (v));			\
	} while (0)

/*
 * Latency histograms.  Upper bounds of the buckets in microseconds;
 * bucket[TNFS_LAT_BUCKETS] counts the rest (+Inf).  Buckets are not
 * cumulative here: one increment per sample.
 */
#define TNFS_LAT_BOUNDS_US { 100, 250, 500, 1000, 2500, 5000, 10000, \
			     25000, 50000, 100000, 250000, 500000, \
			     1000000, 2500000, 5000000, 10000000 }
#define TNFS_LAT_BUCKETS	16

/* A command's stages are shorter: finer buckets, the same number. */
#define TNFS_STAGE_BOUNDS_US { 5, 10, 25, 50, 100, 250, 500, 1000, 2500, \
			       5000, 10000, 25000, 100000, 1000000, \
			       5000000, 10000000 }

struct tnfs_latency {
	uint64_t bucket[TNFS_LAT_BUCKETS + 1];
	uint64_t sum_us;
};

/* One sample of @us microseconds, in buckets of TNFS_LAT_BOUNDS_US. */
void tnfs_latency_add(struct tnfs_latency *l, uint64_t us);
/* ... of TNFS_STAGE_BOUNDS_US. */
void tnfs_stage_add(struct tnfs_latency *l, uint64_t us);

/* The transport's (tnfs_transport.c, tnfs_rx.c), by RPC: */
enum { TNFS_LAT_READ, TNFS_LAT_WRITE, TNFS_LAT_COMMIT, TNFS_LAT_PROCS };

struct tnfs_transport_stats {
	uint64_t rpcs;			/* READ/WRITE/COMMIT sent */
	uint64_t rpcs_in_flight;	/* sent or waiting for a connection */
	uint64_t peak_rpcs_in_flight;
	uint64_t transport_errors;	/* working connections lost */
	uint64_t connect_attempts;	/* TCP connections tried */
	uint64_t reconnects;		/* connections restored */
	uint64_t rpcs_resent;		/* calls sent again on a new one */
	uint64_t replies_discarded;	/* untrusted: no call, garbled */
	uint64_t conn_timeouts;		/* dropped for a call unanswered */
	uint64_t read_bytes;		/* data in successful READ replies */
	uint64_t write_bytes;		/* data successful WRITE replies took */
	uint64_t rpc_timeouts;		/* calls failed: deadline passed */
	uint64_t read_bytes_placed;	/* of read_bytes: received straight */
					/* into the command's buffer */
	uint64_t probes;		/* NULL calls sent to a quiet server */
	uint64_t replies_late;		/* to calls given up: thrown away */
	uint64_t garbled_calls;		/* failed: two replies undecodable */
	/* by TNFS_LAT_*: answered calls, time from send to reply */
	struct tnfs_latency rpc_latency[TNFS_LAT_PROCS];
};

/*
 * Where a command's time goes (tnfs_io.c), per kind of command: from
 * the caller's submit to the engine taking it up (queue), from then to
 * the last reply it needed (server: send, network, the server, receive),
 * from that reply to the engine calling the command's done() (complete:
 * receiving the rest, decoding, copying, bookkeeping), and done() itself
 * (callback: the caller's completion; under tcmu-runner its ring and the
 * kernel's completion of the SCSI command, which the engine waits for).
 */
enum { TNFS_STAGE_QUEUE, TNFS_STAGE_SERVER, TNFS_STAGE_COMPLETE,
       TNFS_STAGE_CALLBACK, TNFS_STAGES };
enum { TNFS_CMD_READ, TNFS_CMD_WRITE, TNFS_CMD_FLUSH, TNFS_CMDS };

/* The I/O path's (tnfs_io.c, tnfs_cache.c): */
struct tnfs_io_stats {
	uint64_t reads, writes, flushes;	/* commands completed */
	uint64_t unmaps;		/* ... UNMAP ranges (DEALLOCATE) */
	uint64_t commits;		/* COMMITs answered */
	uint64_t resends;		/* write pieces sent again: verifier */
	uint64_t cache_bytes;		/* write-back data not yet stable */
	uint64_t parked;		/* requests that waited for the cache */
	uint64_t stable_rpcs;		/* WRITEs sent DATA_SYNC/FILE_SYNC */
	uint64_t policy_switches;	/* stable=auto: the faster changed */
	uint64_t lost_bytes;		/* write-back: acknowledged, failed, */
					/* not written since (flush fails) */
	uint64_t lost_bytes_total;	/* ever so */
	uint64_t direct;		/* commands sent by the caller's */
					/* thread, the engine's idle */
	struct tnfs_latency stage[TNFS_CMDS][TNFS_STAGES];
};

/* Copy a counters struct of @size bytes another thread is writing. */
void tnfs_stats_copy(void *dst, const void *src, size_t size);

#endif
