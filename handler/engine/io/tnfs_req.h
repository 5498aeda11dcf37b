/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A command, as the engine's callers hand it in (tnfs_engine_submit) and
 * the I/O path carries it out: the one type both sides of the engine's
 * API share.
 */
#ifndef TNFS_REQ_H
#define TNFS_REQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

struct tnfs_chunk;

/*
 * TNFS_IO_UNMAP: the range deallocated (NFSv4.2 DEALLOCATE, stable when
 * it completes; reads return zeros after it), only where
 * tnfs_engine_can_unmap says so; elsewhere it fails TNFS_NFS3ERR_NOTSUPP.
 */
enum tnfs_io_op { TNFS_IO_READ, TNFS_IO_WRITE, TNFS_IO_FLUSH, TNFS_IO_UNMAP };

/*
 * One SCSI command.  The caller owns the memory (and the iovec) until
 * done() runs; done() runs once, on the engine thread, with 0 or a status
 * from tnfs_status.h.
 */
struct tnfs_io_req {
	enum tnfs_io_op op;
	uint64_t offset;		/* byte offset on the device */
	size_t length;
	const struct iovec *iov;
	size_t iov_cnt;
	bool fua;			/* write-back: complete when stable */
	void (*done)(struct tnfs_io_req *req, int status);
	void *priv;

	/* engine private */
	struct tnfs_io_req *next;
	struct tnfs_chunk *chunks;
	unsigned int nchunks;		/* in the chunks array */
	unsigned int chunks_left;
	int status;
	uint64_t deadline_ms;		/* fail it then; 0: never */
	uint64_t start_us;		/* for the stable-write policy */
	uint64_t submit_us;		/* handed in (tnfs_engine_submit) */
	uint64_t pickup_us;		/* taken up (tnfs_io_start) */
	uint64_t reply_us;		/* its last reply came in */
	unsigned int depth;		/* commands active at its start */
	uint8_t policy_cls;
	uint8_t path;			/* enum tnfs_write_path */
	bool policy;			/* must be stable to complete */
};

#endif
