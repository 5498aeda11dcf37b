/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The LUN's ownership among several gateways (ha=, docs/ha.md): a sanlock
 * paxos lease per LUN in a lockspace of delta leases, one per gateway, on
 * lease files in a directory of the export reached through a kernel NFS
 * mount.  Only the owner writes.
 *
 * Every sanlock call is made by a thread of the lease's own: joining the
 * lockspace, acquiring, asking the owner to let go, renewals watched.  The
 * command path only reads a flag (tnfs_lease_begin_write), and the lock
 * callbacks wait for the thread with a bound.
 *
 * A gateway that loses the lease (its delta lease not renewed for 6 x
 * io_timeout, the lockspace gone, or sanlock's killpath asking) fences its
 * engine through @fence before anything else: no byte more leaves for the
 * server, every command in flight fails.  Then it releases.
 *
 * Knows nothing of tcmu-runner: tests drive it against a real sanlock.
 */
#ifndef TNFS_LEASE_H
#define TNFS_LEASE_H

#include <stdbool.h>
#include <stdint.h>

#include "tnfs_base.h"
#include "tnfs_metrics.h"

struct tnfs_lease;

struct tnfs_lease_params {
	const char *lockspace;		/* ha= */
	uint32_t host_id;		/* ha_host= */
	const char *dir;		/* ha_dir= */
	const char *name;		/* the LUN's lease (ha_lease=) */
	uint32_t io_timeout;		/* ha_io_timeout=, seconds */
	bool fence;			/* ha_fence= (test only: false) */
	/*
	 * Where sanlock's killpath (touch) and tcmu-nfs-ha leave requests
	 * for this device: <ctl_dir>/<ctl_name>.release
	 */
	const char *ctl_dir;
	const char *ctl_name;
	/* on the lease thread: fence (true) or unfence the engine */
	void (*set_fence)(void *arg, bool fenced);
	/* on the lease thread, after each change of state (ALUA), and
	 * again every ALUA_EVERY_MS with the same state */
	void (*changed)(void *arg, bool owner);
	void *arg;
	tnfs_log_fn log;
	void *log_arg;
};

#define TNFS_LEASE_CTL_DIR	"/run/tcmu-nfs/ha"

/*
 * For check_config (targetcli create): the lease directory is there and
 * the sanlock daemon answers.  0, or -errno with a reason in @err.
 */
int tnfs_lease_check(const char *dir, char *err, size_t err_len);

/* Start the thread (it joins the lockspace in the background). */
int tnfs_lease_start(const struct tnfs_lease_params *p,
		     struct tnfs_lease **out, char *err, size_t err_len);

/*
 * Stop the thread, keeping the lease: no callback runs after it (the
 * engine may go).  Then, once the engine is drained, tnfs_lease_stop.
 */
void tnfs_lease_stop_thread(struct tnfs_lease *l);

/*
 * Stop the thread if still running and release the lease if held; the
 * engine must be drained first (nothing of this device may be sent after).
 */
void tnfs_lease_stop(struct tnfs_lease *l);

/*
 * Ask for the lease and wait for it up to @wait_ms: 0 once owned,
 * -EAGAIN not yet (the thread keeps trying: asks the owner to let go,
 * or waits for its lease to expire; what stands in the way is logged).
 */
int tnfs_lease_acquire(struct tnfs_lease *l, unsigned int wait_ms);

/*
 * A planned release: fence, release, and do not take it back for a while
 * (unless asked by tnfs_lease_acquire).  Returns when done.
 */
void tnfs_lease_release(struct tnfs_lease *l);

/* I/O arrived while not the owner: try to take it, in the background. */
void tnfs_lease_want(struct tnfs_lease *l);

/*
 * As tnfs_lease_want, unless the lease was let go moments ago (a planned
 * move, a request, a loss): then false, and the initiator is to be sent
 * to another path rather than have the lease taken straight back.
 */
bool tnfs_lease_may_take(struct tnfs_lease *l);

/*
 * Around submitting a write (or flush): true if this gateway owns the
 * lease; then tnfs_lease_end_write after the submit.  A loss waits for
 * writes between the two, so none is submitted after the fence.
 */
bool tnfs_lease_begin_write(struct tnfs_lease *l);
void tnfs_lease_end_write(struct tnfs_lease *l);

bool tnfs_lease_owner(struct tnfs_lease *l);
/* the owner's host_id as last seen (0: none known) */
uint64_t tnfs_lease_owner_host(struct tnfs_lease *l);

/* For the metrics writer (tnfs_metrics_params.lease). */
void tnfs_lease_metrics(void *arg, struct tnfs_metrics_lease *out);

#endif
