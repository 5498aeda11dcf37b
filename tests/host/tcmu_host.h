/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A test host for handler_nfs.so: it provides the few tcmu-runner and
 * libtcmu symbols the plugin calls, so the plugin's own entry points can
 * be driven without a kernel.  Not a fake of the NFS side: the plugin
 * talks to a real server.  The real daemon is exercised by the e2e tests.
 */
#ifndef TCMU_HOST_H
#define TCMU_HOST_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "tcmu-runner.h"
#include "libtcmu.h"

struct tcmu_device {
	char cfgstring[1024];
	uint64_t num_lbas;
	uint32_t block_size;
	uint32_t max_xfer_len;	/* blocks: configfs hw_max_sectors */
	bool write_cache;
	uint32_t max_unmap_len, opt_unmap_gran, unmap_gran_align;
	bool split_unmaps;
	int conn_lost;		/* tcmu_notify_conn_lost() calls */
	void *handler_private;
	char uio_name[16];	/* "uio0": names the metrics file */
};

/* dlopen the plugin and run its handler_init; returns what it registered */
struct tcmur_handler *host_load_plugin(const char *path);

/* A command for the plugin's callouts, and its asynchronous completion. */
struct host_cmd {
	uint8_t cdb[16];
	struct tcmulib_cmd lib;
	struct tcmur_cmd cmd;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
	int rc;
};

/* @opcode, with @flags in byte 1 (FUA is 0x08 for WRITE(10/16)) */
void host_cmd_init(struct host_cmd *w, uint8_t opcode, uint8_t flags);
/* @queued: what the callout returned; then waits for the completion. */
int host_cmd_wait(struct host_cmd *w, int queued);

/* Everything the plugin logged through tcmu_dev_*(), one line each. */
const char *host_log(void);
void host_log_clear(void);

#endif
