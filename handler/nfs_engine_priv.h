/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Engine internals shared by nfs_engine.c, nfs_open.c and nfs_io.c. */
#ifndef NFS_ENGINE_PRIV_H
#define NFS_ENGINE_PRIV_H

#include <pthread.h>
#include <stdarg.h>

#include <sys/time.h>	/* libnfs.h needs struct timeval */

#include <nfsc/libnfs.h>
#include <nfsc/libnfs-raw.h>
#include <nfsc/libnfs-raw-nfs.h>

#include "nfs_engine.h"

/* The part of a request that fits one READ or WRITE RPC. */
struct nfs_chunk {
	struct nfs_engine *e;
	struct nfs_io_req *req;
	struct nfs_chunk *next;		/* on a commit list */
	size_t data_off;		/* from the start of the request */
	uint32_t len;
	uint32_t done;			/* bytes the server has answered */
	char verf[NFS3_WRITEVERFSIZE];	/* of the pieces written so far */
	bool unstable;			/* some piece was answered UNSTABLE */
};

struct nfs_chunk_list {
	struct nfs_chunk *head;
	struct nfs_chunk **tail;
	unsigned int writes;		/* write chunks, flushes excluded */
};

struct nfs_engine {
	/* fixed once open */
	struct nfs_context *nfs;
	struct nfsfh *nfsfh;
	struct rpc_context *rpc;
	nfs_fh3 fh;
	uint64_t base;			/* config offset */
	uint64_t dev_size;
	uint32_t rmax, wmax;
	char *scratch;			/* gathers a multi-iovec WRITE piece */
	void (*log)(void *arg, enum nfs_log_level level, const char *msg);
	void *log_arg;

	/* submission queue, shared with the callers' threads */
	pthread_mutex_t lock;
	struct nfs_io_req *submitted;
	struct nfs_io_req **submitted_tail;
	bool stopping;
	int wake_fd;
	pthread_t thread;

	/* engine thread only */
	unsigned int active;		/* requests started, not completed */
	struct nfs_chunk_list awaiting;	/* stable once the next COMMIT is */
	struct nfs_chunk_list batch;	/* covered by the COMMIT in flight */
	bool commit_in_flight;
	void (*commit_hook)(void *arg, unsigned int pieces);
	void *commit_hook_arg;

	struct nfs_engine_stats stats;	/* __atomic access */
};

#define STAT_ADD(e, field, n) \
	__atomic_add_fetch(&(e)->stats.field, (n), __ATOMIC_RELAXED)

void nfs_engine_log(struct nfs_engine *e, enum nfs_log_level level,
		    const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* nfs_open.c: connect, mount, find or create and check the file. */
int nfs_engine_connect(struct nfs_engine *e,
		       const struct nfs_engine_params *p,
		       char *err, size_t err_len);
void nfs_engine_disconnect(struct nfs_engine *e);

/* nfs_io.c: start a request on the engine thread. */
void nfs_io_start(struct nfs_engine *e, struct nfs_io_req *req);

#endif
