/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The NFS I/O engine: one backing file, one libnfs context driven by one
 * thread of its own (libnfs 4.0 is not thread safe).  It knows nothing of
 * tcmu-runner, so it is tested and benchmarked on its own.
 *
 * Durability contract (write-through, the default): a WRITE request
 * completes successfully only once every byte of it is stable on the
 * server, i.e. it was answered FILE_SYNC, or answered UNSTABLE and then
 * covered by a COMMIT whose verifier equals the WRITE's.  A verifier that
 * changed means the server restarted and may have dropped the data, so
 * that part is written again first.
 *
 * Write-back (cfg->writeback): a WRITE completes on the UNSTABLE reply;
 * the engine keeps a copy of the data until it is stable as above (and
 * re-sends it on a verifier change).  A FLUSH completes once everything
 * acknowledged before it is stable; a WRITE with fua completes only when
 * stable.  Memory is bounded by cfg->cache_max: beyond it, and for any
 * read or write overlapping data not yet stable, requests wait.
 */
#ifndef NFS_ENGINE_H
#define NFS_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "nfs_config.h"

struct nfs_engine;
struct nfs_chunk;

enum nfs_io_op { NFS_IO_READ, NFS_IO_WRITE, NFS_IO_FLUSH };

/*
 * One SCSI command.  The caller owns the memory (and the iovec) until
 * done() runs; done() runs once, on the engine thread, with 0 or a status
 * from nfs_status.h.
 */
struct nfs_io_req {
	enum nfs_io_op op;
	uint64_t offset;		/* byte offset on the device */
	size_t length;
	const struct iovec *iov;
	size_t iov_cnt;
	bool fua;			/* write-back: complete when stable */
	void (*done)(struct nfs_io_req *req, int status);
	void *priv;

	/* engine private */
	struct nfs_io_req *next;
	struct nfs_chunk *chunks;
	unsigned int nchunks;		/* in the chunks array */
	unsigned int chunks_left;
	int status;
	uint64_t deadline_ms;		/* fail it then; 0: never */
	uint64_t start_us;		/* for the stable-write policy */
	unsigned int depth;		/* commands active at its start */
	uint8_t policy_cls;
	uint8_t path;			/* enum nfs_write_path */
	bool policy;			/* must be stable to complete */
};

enum nfs_log_level { NFS_LOG_ERR, NFS_LOG_WARN, NFS_LOG_INFO };

struct nfs_engine_params {
	const struct nfs_config *cfg;
	uint64_t dev_size;		/* bytes */
	uint32_t block_size;
	void (*log)(void *arg, enum nfs_log_level level, const char *msg);
	void *log_arg;
};

/*
 * RPC latency histograms.  Upper bounds of the buckets in microseconds;
 * bucket[NFS_LAT_BUCKETS] counts the rest (+Inf).  Buckets are not
 * cumulative here: one increment per reply on the engine thread.
 */
#define NFS_LAT_BOUNDS_US { 100, 250, 500, 1000, 2500, 5000, 10000, \
			    25000, 50000, 100000, 250000, 500000, \
			    1000000, 2500000, 5000000, 10000000 }
#define NFS_LAT_BUCKETS	16
enum { NFS_LAT_READ, NFS_LAT_WRITE, NFS_LAT_COMMIT, NFS_LAT_PROCS };

struct nfs_latency {
	uint64_t bucket[NFS_LAT_BUCKETS + 1];
	uint64_t sum_us;
};

struct nfs_engine_stats {
	uint64_t reads, writes, flushes;	/* commands completed */
	uint64_t rpcs;				/* READ/WRITE/COMMIT sent */
	uint64_t commits;			/* COMMITs answered */
	uint64_t resends;	/* write pieces sent again: verifier change */
	uint64_t cache_bytes;	/* write-back data not yet stable */
	uint64_t parked;	/* requests that waited for the cache */
	unsigned int queued;	/* commands accepted, not yet completed */
	unsigned int rpcs_in_flight;	/* sent or waiting for a connection */
	unsigned int peak_rpcs_in_flight;
	/* the transport (nfs_transport.h) */
	uint64_t transport_errors;	/* working connections lost */
	uint64_t connect_attempts;	/* TCP connections tried */
	uint64_t reconnects;		/* connections restored */
	uint64_t rpcs_resent;		/* calls sent again on a new one */
	uint64_t replies_discarded;	/* untrusted: no call, garbled */
	uint64_t conn_timeouts;		/* dropped for a call unanswered */
	/* for the metrics file (docs/metrics.md) */
	uint64_t read_bytes;	/* data in successful READ replies */
	uint64_t write_bytes;	/* data successful WRITE replies took */
	uint64_t rpc_timeouts;	/* calls failed: deadline passed unsent */
	uint64_t read_bytes_placed;	/* of read_bytes: received straight
					 * into the command's buffer */
	/* by NFS_LAT_*: answered calls, time from send to reply */
	struct nfs_latency rpc_latency[NFS_LAT_PROCS];
	/* the stable-write policy (handler/nfs_policy.h) */
	uint64_t stable_rpcs;		/* WRITEs sent DATA_SYNC/FILE_SYNC */
	uint64_t policy_switches;	/* stable=auto: the faster changed */
};

/*
 * Connect, mount, find (or create) and check the file.  Blocks.  On error
 * returns -errno with the reason, fit for a user, in @err, and leaves
 * nothing behind.
 */
int nfs_engine_open(const struct nfs_engine_params *p,
		    struct nfs_engine **out, char *err, size_t err_len);

/*
 * What can be checked before the device size is known, as open() would
 * check it, bounded to a few seconds, leaving nothing open: server, export,
 * file, rights of uid/gid, offset against the file (with dev_size 0 and
 * the smallest block size).  For check_config, so that targetcli shows the
 * reason a create will fail.
 */
int nfs_engine_probe(const struct nfs_engine_params *p,
		     char *err, size_t err_len);

/* Queue a request; thread safe, never blocks on the network. */
void nfs_engine_submit(struct nfs_engine *e, struct nfs_io_req *req);

/* Finish every queued request (commits included), then free everything. */
void nfs_engine_close(struct nfs_engine *e);

/* Thread safe snapshot of the counters (the "status" of dm-nfs). */
void nfs_engine_get_stats(struct nfs_engine *e, struct nfs_engine_stats *s);

/*
 * Grow the device to p->dev_size bytes while it serves I/O (p->cfg: its
 * configuration, as at open).  The open-time checks run again on the
 * same file; with create=1 a file too small is extended, sparse.  Blocks
 * until the engine thread switched between two commands: one submitted
 * after this returns may use the new end, and none is lost.  Shrinking
 * is refused (-EINVAL): the file is never truncated.  On error returns
 * -errno with the reason in @err, and the device keeps its size.
 */
int nfs_engine_resize(struct nfs_engine *e, const struct nfs_engine_params *p,
		      char *err, size_t err_len);

/* Largest READ/WRITE the server takes in one RPC. */
uint32_t nfs_engine_max_io(const struct nfs_engine *e);

/*
 * Test hook: called on the engine thread just before a COMMIT is sent,
 * with the number of write pieces it will cover.  Lets a test restart the
 * server between the WRITEs and their COMMIT.
 */
void nfs_engine_set_commit_hook(struct nfs_engine *e,
				void (*hook)(void *arg, unsigned int pieces),
				void *arg);

#endif
