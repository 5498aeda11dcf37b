/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The NFS I/O engine's API: one backing file, served by connections of
 * the engine's own, driven by one thread of its own.  It knows nothing of
 * tcmu-runner, so it is tested and benchmarked on its own.  This is the
 * only header the plugin, the benchmarks and the tests need; the layers
 * under it are in handler/engine/ (docs/hacking.md).
 *
 * Durability contract (write-through, the default): a WRITE request
 * completes successfully only once every byte of it is stable on the
 * server, i.e. it was answered DATA_SYNC or FILE_SYNC, or answered
 * UNSTABLE and then covered by a COMMIT whose verifier equals the
 * WRITE's.  A verifier that changed means the server restarted and may
 * have dropped the data, so that part is written again first.
 *
 * Write-back (cfg->writeback): a WRITE completes on the UNSTABLE reply;
 * the engine keeps a copy of the data until it is stable as above (and
 * re-sends it on a verifier change).  A FLUSH completes once everything
 * acknowledged before it is stable; a WRITE with fua completes only when
 * stable.  Memory is bounded by cfg->cache_max: beyond it, and for any
 * read or write overlapping data not yet stable, requests wait.
 */
#ifndef TNFS_ENGINE_H
#define TNFS_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tnfs_base.h"
#include "tnfs_config.h"
#include "tnfs_req.h"
#include "tnfs_stats.h"
#include "tnfs_status.h"

struct tnfs_engine;

struct tnfs_engine_params {
	const struct tnfs_config *cfg;
	uint64_t dev_size;		/* bytes */
	uint32_t block_size;
	tnfs_log_fn log;
	void *log_arg;
	/* commands the caller keeps in flight at most (NFSv4.1 sizes its
	 * session's slot table to it); 0: 64 */
	unsigned int queue_depth;
};

/* The counters each layer keeps, gathered (the "status" of dm-nfs). */
struct tnfs_engine_stats {
	struct tnfs_io_stats io;
	struct tnfs_transport_stats transport;
	uint64_t submitted;		/* commands accepted */
	uint64_t queued;		/* of them, not yet completed */
};

/*
 * Connect, mount, find (or create) and check the file.  Blocks.  On error
 * returns -errno with the reason, fit for a user, in @err, and leaves
 * nothing behind.
 */
int tnfs_engine_open(const struct tnfs_engine_params *p,
		     struct tnfs_engine **out, char *err, size_t err_len);

/*
 * What can be checked before the device size is known, as open() would
 * check it, bounded to a few seconds, leaving nothing open: server, export,
 * file, rights of uid/gid, offset against the file (with dev_size 0 and
 * the smallest block size).  For check_config, so that targetcli shows the
 * reason a create will fail.
 */
int tnfs_engine_probe(const struct tnfs_engine_params *p,
		      char *err, size_t err_len);

/* Queue a request; thread safe, never blocks on the network. */
void tnfs_engine_submit(struct tnfs_engine *e, struct tnfs_io_req *req);

/* Finish every queued request (commits included), then free everything. */
void tnfs_engine_close(struct tnfs_engine *e);

/* Thread safe snapshot of the counters (the "status" of dm-nfs). */
void tnfs_engine_get_stats(struct tnfs_engine *e,
			   struct tnfs_engine_stats *s);

/*
 * Grow the device to p->dev_size bytes while it serves I/O (p->cfg: its
 * configuration, as at open).  The open-time checks run again on the
 * same file; with create=1 a file too small is extended, sparse.  Blocks
 * until the engine thread switched between two commands: one submitted
 * after this returns may use the new end, and none is lost.  Shrinking
 * is refused (-EINVAL): the file is never truncated.  On error returns
 * -errno with the reason in @err, and the device keeps its size.
 */
int tnfs_engine_resize(struct tnfs_engine *e,
		       const struct tnfs_engine_params *p,
		       char *err, size_t err_len);

/*
 * Fence the device (@status: TNFS_IO_ERR_FENCED, say; 0 lifts it), for a
 * gateway that must no longer write to the file (another owns it): when
 * this returns, no byte more leaves for the server (its connections are
 * reset, whatever they still had queued is dropped), every command in
 * flight has failed or fails with @status, and every new one does, until
 * the fence is lifted.  Thread safe; waits at most for one turn of the
 * engine thread.  Write-back data held is failed too: do not fence a
 * write-back device whose data must survive.
 */
void tnfs_engine_fence(struct tnfs_engine *e, int status);

/*
 * The device deallocates (TNFS_IO_UNMAP): NFSv4.2, and the server took
 * a DEALLOCATE at open.  Fixed for the device's life, as what a SCSI
 * device says of its provisioning must be.
 */
bool tnfs_engine_can_unmap(const struct tnfs_engine *e);

/* Largest READ/WRITE the server takes in one RPC. */
uint32_t tnfs_engine_max_io(const struct tnfs_engine *e);

/*
 * Test hook: called on the engine thread just before a COMMIT is sent,
 * with the number of write pieces it will cover.  Lets a test restart the
 * server between the WRITEs and their COMMIT.
 */
void tnfs_engine_set_commit_hook(struct tnfs_engine *e,
				 void (*hook)(void *arg, unsigned int pieces),
				 void *arg);

#endif
