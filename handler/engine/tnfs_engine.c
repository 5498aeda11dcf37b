// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The engine: its lifecycle and its thread, the top of the layers
 * (docs/hacking.md has the picture):
 *
 *   tnfs_engine.c     the thread, the submission queue, the poll loop
 *        |
 *   io/               commands to RPCs | write-back cache | policy
 *   open/             (libnfs: mount, look up, check; before the thread)
 *        |
 *   transport/        connections, reconnect, send, receive, timers
 *        |
 *   xdr/              ONC RPC / NFSv3 encoding, strict decoding
 *
 * and, under all of them, config/ (the cfgstring) and base/ (log,
 * clock, counters, iovecs, result codes).  Callers only append to a
 * locked queue and poke an eventfd; the engine thread alone touches the
 * connections.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "tnfs_engine.h"
#include "tnfs_io.h"
#include "tnfs_open.h"
#include "tnfs_transport.h"

_Static_assert(TNFS_MAX_NCONNECT <= TNFS_MAX_CONN,
	       "nconnect= may ask for more connections than a transport has");

/* While timed work is pending in the I/O layer, wake at least this often. */
#define TNFS_TIMER_INTERVAL_MS	100
/*
 * A stale handle is looked up again for this long (timeout=, or this
 * without one) before the device fails for good; one lookup a second.
 */
#define TNFS_STALE_GRACE_MS	30000
#define TNFS_LOOKUP_EVERY_MS	1000
/* NFSv4.1 slots asked for when the caller does not say its queue depth */
#define TNFS_DEFAULT_SLOTS	64
/* how long to wait awake for the rest of a READ reply being received */
#define TNFS_MID_REPLY_SPIN_US	50

struct tnfs_engine {
	/* fixed once open */
	struct tnfs_transport *t;
	struct tnfs_logger log;
	char *name;			/* "server:/path", for messages */
	uint64_t fileid;		/* of the file at open */
	bool can_unmap;			/* tnfs_engine_can_unmap */

	/*
	 * Held by whichever thread works the I/O path and the transport:
	 * the engine thread, except while it sleeps in poll(), or a
	 * caller's thread starting its command at once (submit_direct).
	 */
	pthread_mutex_t run_lock;
	uint64_t sleep_until_ms;	/* run_lock: the engine thread's */
					/* poll() ends then, at the latest */
	unsigned int busy_poll_us;	/* spin this long before sleeping */

	/* submission queue, shared with the callers' threads */
	pthread_mutex_t lock;
	struct tnfs_io_req *submitted;
	struct tnfs_io_req **submitted_tail;
	bool stopping;
	int wake_fd;
	pthread_t thread;
	uint64_t resize_to;		/* a new dev_size for the thread, */
	pthread_cond_t resized;		/* 0 once applied */
	int resize_status;
	pthread_mutex_t resize_lock;	/* one tnfs_engine_resize at a time */
	uint64_t dev_size;		/* written under resize_lock */
	uint64_t submitted_count;	/* __atomic: commands accepted */

	/* engine thread only */
	struct tnfs_io io;
	bool io_ready;			/* io set up: io_free on close */
	struct tnfs_config cfg;		/* a copy, to look the file up again */
	bool lookup_wanted;		/* a lookup at lookup_at_ms */
	bool lookup_running;		/* lookup_thread, to join */
	uint64_t lookup_at_ms;
	pthread_t lookup_thread;

	/* the lookup's answer, under lock */
	bool lookup_done;
	struct tnfs_xdr_fh lookup_fh;
	uint64_t lookup_fileid;		/* 0: not found */
	char lookup_err[256];
};

static void wake(struct tnfs_engine *e)
{
	uint64_t one = 1;

	/* a full counter already means "wake up" */
	if (write(e->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		tnfs_log(&e->log, TNFS_LOG_ERR, "eventfd write: %s",
			 strerror(errno));
}

/* How long poll() may sleep: no wake-up at all when there is nothing. */
static int poll_timeout(struct tnfs_engine *e)
{
	int ms = tnfs_transport_next_ms(e->t, e->io.now_ms);

	if (tnfs_io_timers(&e->io) && (ms < 0 || ms > TNFS_TIMER_INTERVAL_MS))
		ms = TNFS_TIMER_INTERVAL_MS;
	if (e->lookup_wanted && !e->lookup_running) {
		uint64_t at = e->lookup_at_ms > e->io.now_ms ?
			      e->lookup_at_ms - e->io.now_ms : 0;

		if (ms < 0 || (uint64_t)ms > at)
			ms = (int)at;
	}
	/*
	 * Busy of late: wake within the probe interval, so that a command
	 * started on its caller's thread need not wake us for its timers.
	 */
	if ((ms < 0 || ms > TNFS_PROBE_MS) &&
	    e->io.now_ms - e->io.last_done_ms < TNFS_PROBE_MS)
		ms = TNFS_PROBE_MS;
	return ms;
}

/*
 * Look at the sockets without sleeping for up to @us before poll()
 * sleeps: the wake-up of a sleeping thread traded for a core.  Done for
 * the low-latency mode (busy_poll=) while commands are in flight, and
 * always, briefly, while a large READ reply is arriving: its next
 * segment is microseconds away, and a sleep between segments cost 1 MiB
 * reads at depth 7 % against raw libnfs, which copies as it goes
 * (docs/evidence/profile.md#reads-at-depth-against-raw-libnfs).
 */
static int spin_poll(struct pollfd *pfd, unsigned int n, unsigned int us)
{
	uint64_t until = tnfs_now_us() + us;
	int ret;

	do {
		ret = poll(pfd, n, 0);
		if (ret)
			return ret;
	} while (tnfs_now_us() < until);
	return 0;
}

/* ---- a stale handle: the path looked up again, off the engine thread */

/* The transport heard "stale": look (again, a second after the last). */
static void stale_handle(void *arg)
{
	struct tnfs_engine *e = arg;
	uint64_t at = e->io.now_ms;

	if (e->lookup_wanted || e->lookup_running)
		return;
	if (e->lookup_at_ms && at < e->lookup_at_ms + TNFS_LOOKUP_EVERY_MS)
		at = e->lookup_at_ms + TNFS_LOOKUP_EVERY_MS;
	e->lookup_at_ms = at;
	e->lookup_wanted = true;
}

static void *lookup_thread(void *arg)
{
	struct tnfs_engine *e = arg;
	struct tnfs_open_params op = { .cfg = &e->cfg, .block_size = 512 };
	struct tnfs_xdr_fh fh;
	uint64_t fileid = 0;
	char err[256];
	int ret;

	ret = tnfs_open_lookup(&op, &fh, &fileid, err, sizeof(err));
	pthread_mutex_lock(&e->lock);
	e->lookup_done = true;
	e->lookup_fileid = ret ? 0 : fileid;
	if (!ret)
		e->lookup_fh = fh;
	snprintf(e->lookup_err, sizeof(e->lookup_err), "%s", ret ? err : "");
	pthread_mutex_unlock(&e->lock);
	wake(e);
	return NULL;
}

/* Start the lookup when due; hand its answer to the transport when in. */
static void run_lookup(struct tnfs_engine *e)
{
	struct tnfs_xdr_fh fh;
	uint64_t fileid;
	char err[256];
	bool done;

	if (e->lookup_wanted && !e->lookup_running &&
	    e->io.now_ms >= e->lookup_at_ms) {
		e->lookup_wanted = false;
		e->lookup_done = false;
		if (pthread_create(&e->lookup_thread, NULL, lookup_thread, e)) {
			tnfs_log(&e->log, TNFS_LOG_ERR, "cannot start the "
				 "lookup thread");
			tnfs_transport_revalidate(e->t, NULL, 0, "no thread");
			return;
		}
		e->lookup_running = true;
	}
	if (!e->lookup_running)
		return;
	pthread_mutex_lock(&e->lock);
	done = e->lookup_done;
	fh = e->lookup_fh;
	fileid = e->lookup_fileid;
	snprintf(err, sizeof(err), "%s", e->lookup_err);
	pthread_mutex_unlock(&e->lock);
	if (!done)
		return;
	pthread_join(e->lookup_thread, NULL);
	e->lookup_running = false;
	e->lookup_at_ms = e->io.now_ms;
	tnfs_transport_revalidate(e->t, &fh, fileid, err[0] ? err : NULL);
}

/*
 * Between two batches of commands: those taken before see the old end,
 * those after the new one, and none is lost or reordered.
 */
static void apply_resize(struct tnfs_engine *e, uint64_t size)
{
	int ret = tnfs_io_resize(&e->io, size);

	pthread_mutex_lock(&e->lock);
	e->resize_to = 0;
	e->resize_status = ret;
	pthread_cond_broadcast(&e->resized);
	pthread_mutex_unlock(&e->lock);
}

static void *engine_thread(void *arg)
{
	struct tnfs_engine *e = arg;
	struct pollfd pfd[1 + TNFS_MAX_CONN];
	struct tnfs_io_req *req, *next;
	unsigned int n;
	uint64_t count, resize_to;
	bool stopping;
	unsigned int spin;
	int timeout, ret;

	pthread_mutex_lock(&e->run_lock);
	for (;;) {
		pthread_mutex_lock(&e->lock);
		req = e->submitted;
		e->submitted = NULL;
		e->submitted_tail = &e->submitted;
		stopping = e->stopping;
		resize_to = e->resize_to;
		pthread_mutex_unlock(&e->lock);
		if (resize_to)
			apply_resize(e, resize_to);

		e->io.now_ms = tnfs_now_ms();
		e->io.closing = stopping;
		tnfs_io_finish_deferred(&e->io);
		for (; req; req = next) {
			next = req->next;
			tnfs_io_start(&e->io, req);
		}
		tnfs_transport_tick(e->t, e->io.now_ms);
		run_lookup(e);
		tnfs_io_tick(&e->io);
		/* v4.1: the file closed, the session destroyed, first */
		if (stopping && tnfs_io_idle(&e->io) && !e->lookup_running &&
		    tnfs_transport_shutdown(e->t, e->io.now_ms))
			break;
		tnfs_transport_flush(e->t);

		pfd[0].fd = e->wake_fd;
		pfd[0].events = POLLIN;
		pfd[0].revents = 0;
		n = tnfs_transport_pollfds(e->t, pfd + 1);
		timeout = poll_timeout(e);
		e->sleep_until_ms = timeout < 0 ? UINT64_MAX :
				    e->io.now_ms + (uint64_t)timeout;
		spin = e->busy_poll_us && tnfs_transport_calls(e->t) ?
		       e->busy_poll_us : 0;
		if (spin < TNFS_MID_REPLY_SPIN_US &&
		    tnfs_transport_mid_reply(e->t))
			spin = TNFS_MID_REPLY_SPIN_US;
		pthread_mutex_unlock(&e->run_lock);
		ret = spin ? spin_poll(pfd, n + 1, spin) : 0;
		if (!ret)
			ret = poll(pfd, n + 1, timeout);
		pthread_mutex_lock(&e->run_lock);
		e->sleep_until_ms = 0;
		if (ret < 0 && errno != EINTR) {
			tnfs_log(&e->log, TNFS_LOG_ERR, "poll: %s",
				 strerror(errno));
			continue;
		}
		if ((pfd[0].revents & POLLIN) &&
		    read(e->wake_fd, &count, sizeof(count)) < 0 &&
		    errno != EAGAIN)
			tnfs_log(&e->log, TNFS_LOG_ERR, "eventfd read: %s",
				 strerror(errno));
		e->io.now_ms = tnfs_now_ms();
		tnfs_transport_service(e->t, pfd + 1, n, e->io.now_ms);
	}
	pthread_mutex_unlock(&e->run_lock);
	return NULL;
}

static void engine_free(struct tnfs_engine *e)
{
	if (e->io_ready)
		tnfs_io_free(&e->io);
	tnfs_config_free(&e->cfg);
	tnfs_transport_free(e->t);
	if (e->wake_fd >= 0)
		close(e->wake_fd);
	pthread_mutex_destroy(&e->lock);
	pthread_mutex_destroy(&e->run_lock);
	pthread_cond_destroy(&e->resized);
	pthread_mutex_destroy(&e->resize_lock);
	free(e->name);
	free(e);
}

static struct tnfs_open_params open_params(const struct tnfs_engine_params *p)
{
	return (struct tnfs_open_params){
		.cfg = p->cfg,
		.dev_size = p->dev_size,
		.block_size = p->block_size,
	};
}

/* The transport's connections, from what the open found. */
static int start_transport(struct tnfs_engine *e,
			   const struct tnfs_engine_params *p,
			   struct tnfs_backing *b)
{
	b->tp.name = e->name;
	b->tp.log = &e->log;
	b->tp.max_io = b->rmax > b->wmax ? b->rmax : b->wmax;
	b->tp.nconn = p->cfg->nconnect;
	b->tp.resvport = p->cfg->resvport;
	b->tp.share = p->cfg->share;
	b->tp.busy_poll_us = p->cfg->busy_poll;
	/* v4.1: a fore channel slot per command the device has in flight */
	b->tp.slots = p->queue_depth ? p->queue_depth : TNFS_DEFAULT_SLOTS;
	/* the lease's bound on what may still leave (docs/ha.md) */
	if (p->cfg->ha && p->cfg->ha_fence)
		b->tp.user_timeout_ms = p->cfg->ha_io_timeout * 8 * 1000;
	b->tp.stale = stale_handle;
	b->tp.stale_arg = e;
	e->t = tnfs_transport_new(&b->tp);
	return e->t ? 0 : -ENOMEM;
}

static int start_io(struct tnfs_engine *e, const struct tnfs_engine_params *p,
		    const struct tnfs_backing *b)
{
	struct tnfs_io_params ip = {
		.t = e->t,
		.log = &e->log,
		.base = p->cfg->offset,
		.dev_size = p->dev_size,
		.rmax = b->rmax,
		.wmax = b->wmax,
		.writeback = p->cfg->writeback,
		.cache_max = p->cfg->cache_max,
		.timeout_ms = (int)p->cfg->timeout * 1000,
		.stable = p->cfg->stable,
		.can_dealloc = b->can_dealloc,
	};
	int ret = tnfs_io_init(&e->io, &ip);

	e->io_ready = true;
	return ret;
}

int tnfs_engine_open(const struct tnfs_engine_params *p,
		     struct tnfs_engine **out, char *err, size_t err_len)
{
	struct tnfs_open_params op = open_params(p);
	struct tnfs_backing b = { .tp.nconn = 1 };
	struct tnfs_engine *e;
	int ret;

	*out = NULL;
	e = calloc(1, sizeof(*e));
	if (!e)
		return tnfs_err(err, err_len, -ENOMEM, "out of memory");
	e->wake_fd = -1;
	pthread_mutex_init(&e->lock, NULL);
	pthread_mutex_init(&e->run_lock, NULL);
	e->busy_poll_us = p->cfg->busy_poll;
	pthread_cond_init(&e->resized, NULL);
	pthread_mutex_init(&e->resize_lock, NULL);
	e->submitted_tail = &e->submitted;
	e->log.fn = p->log;
	e->log.arg = p->log_arg;
	e->dev_size = p->dev_size;

	ret = tnfs_open_backing(&op, &e->log, &b, err, err_len);
	if (ret)
		goto fail;
	e->fileid = b.tp.fileid;
	e->can_unmap = b.can_dealloc;
	b.tp.stale_grace_ms = p->cfg->timeout ? p->cfg->timeout * 1000 :
			      TNFS_STALE_GRACE_MS;
	ret = tnfs_err(err, err_len, -ENOMEM, "out of memory");
	if (tnfs_config_copy(&e->cfg, p->cfg))
		goto fail;
	if (asprintf(&e->name, "%s:%s", p->cfg->server, p->cfg->path) < 0) {
		e->name = NULL;
		goto fail;
	}
	if (start_transport(e, p, &b))
		goto fail;
	if (start_io(e, p, &b)) {
		ret = tnfs_err(err, err_len, -ENOMEM, "out of memory for the "
			       "write-back map");
		goto fail;
	}
	e->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (e->wake_fd < 0) {
		ret = tnfs_err(err, err_len, -errno, "eventfd: %s",
			       strerror(errno));
		goto fail;
	}
	ret = -pthread_create(&e->thread, NULL, engine_thread, e);
	if (ret) {
		tnfs_err(err, err_len, ret, "cannot start the I/O thread: %s",
			 strerror(-ret));
		goto fail;
	}
	err[0] = '\0';
	*out = e;
	return 0;
fail:
	engine_free(e);
	return ret;
}

int tnfs_engine_probe(const struct tnfs_engine_params *p,
		      char *err, size_t err_len)
{
	struct tnfs_open_params op = open_params(p);

	return tnfs_open_probe(&op, err, err_len);
}

/*
 * The engine thread is asleep and nothing waits in the queue: start the
 * command here and now, on the caller's thread, rather than wake the
 * engine thread to do it (the wake-up is most of a command's time at
 * queue depth 1).  Its replies and completion stay the engine thread's.
 * False when the engine thread is at work: then it takes the command.
 */
static bool submit_direct(struct tnfs_engine *e, struct tnfs_io_req *req)
{
	bool quiet, idle, late;

#ifdef TNFS_NO_DIRECT_SUBMIT
	return false;
#endif
	if (pthread_mutex_trylock(&e->run_lock))
		return false;
	pthread_mutex_lock(&e->lock);
	idle = !e->submitted && !e->stopping && !e->resize_to;
	pthread_mutex_unlock(&e->lock);
	if (!idle) {
		pthread_mutex_unlock(&e->run_lock);
		return false;
	}
	e->io.now_ms = tnfs_now_ms();
	tnfs_transport_set_now(e->t, e->io.now_ms);
	e->io.defer = true;
	tnfs_io_start(&e->io, req);
	e->io.defer = false;
	tnfs_transport_flush(e->t);
	STAT_ADD(&e->io.stats, direct, 1);
	/*
	 * Wake the engine thread only if it has something to do now (bytes
	 * left to send, a connection to make, a completion), or would sleep
	 * past the timers the command started.
	 */
	quiet = tnfs_transport_quiet(e->t) && !e->io.deferred;
	late = e->sleep_until_ms > e->io.now_ms + TNFS_PROBE_MS;
	pthread_mutex_unlock(&e->run_lock);
	if (!quiet || late)
		wake(e);
	return true;
}

void tnfs_engine_submit(struct tnfs_engine *e, struct tnfs_io_req *req)
{
	bool first;

	req->next = NULL;
	req->submit_us = tnfs_now_us();
	__atomic_add_fetch(&e->submitted_count, 1, __ATOMIC_RELAXED);
	if (submit_direct(e, req))
		return;
	pthread_mutex_lock(&e->lock);
	first = !e->submitted;
	*e->submitted_tail = req;
	e->submitted_tail = &req->next;
	pthread_mutex_unlock(&e->lock);
	/*
	 * One system call per batch, not per command: the thread reads the
	 * eventfd before it takes the queue, so a queue found non-empty is
	 * one it has still to take, woken by whoever queued the first.  The
	 * engine thread itself (a completion that submits again) takes its
	 * queue before it next sleeps: no wake-up needed.
	 */
	if (first && !pthread_equal(pthread_self(), e->thread))
		wake(e);
}

void tnfs_engine_close(struct tnfs_engine *e)
{
	struct tnfs_engine_stats s;

	pthread_mutex_lock(&e->lock);
	e->stopping = true;
	pthread_mutex_unlock(&e->lock);
	wake(e);
	pthread_join(e->thread, NULL);
	tnfs_engine_get_stats(e, &s);
	tnfs_log(&e->log, TNFS_LOG_INFO, "closed after %" PRIu64 " reads, %"
		 PRIu64 " writes, %" PRIu64 " flushes, %" PRIu64 " unmaps, %"
		 PRIu64 " COMMITs, %"
		 PRIu64 " writes re-sent after a verifier change, %" PRIu64
		 " RPCs in flight at most; %" PRIu64 " connections lost, %"
		 PRIu64 " restored, %" PRIu64 " attempts, %" PRIu64 " calls "
		 "sent again, %" PRIu64 " replies discarded; %" PRIu64
		 " stable WRITEs, stable=auto changed path %" PRIu64 " times",
		 s.io.reads, s.io.writes, s.io.flushes, s.io.unmaps,
		 s.io.commits,
		 s.io.resends, s.transport.peak_rpcs_in_flight,
		 s.transport.transport_errors, s.transport.reconnects,
		 s.transport.connect_attempts, s.transport.rpcs_resent,
		 s.transport.replies_discarded, s.io.stable_rpcs,
		 s.io.policy_switches);
	engine_free(e);
}

void tnfs_engine_get_stats(struct tnfs_engine *e,
			   struct tnfs_engine_stats *s)
{
	uint64_t done;

	tnfs_io_get_stats(&e->io, &s->io);
	tnfs_transport_get_stats(e->t, &s->transport);
	/* completions first: then queued can never read below 0 */
	done = s->io.reads + s->io.writes + s->io.flushes + s->io.unmaps;
	s->submitted = __atomic_load_n(&e->submitted_count, __ATOMIC_RELAXED);
	s->queued = s->submitted - done;
}

int tnfs_engine_resize(struct tnfs_engine *e,
		       const struct tnfs_engine_params *p,
		       char *err, size_t err_len)
{
	struct tnfs_open_params op = open_params(p);
	uint64_t old;
	int ret;

	err[0] = '\0';
	pthread_mutex_lock(&e->resize_lock);
	/* only resizes write it, and they hold resize_lock */
	old = e->dev_size;
	if (p->dev_size == old) {
		ret = 0;
		goto out;
	}
	if (p->dev_size < old) {
		/* short: tcmu-runner cuts a log line at 255 bytes */
		ret = tnfs_err(err, err_len, -EINVAL, "shrinking from %" PRIu64
			       " to %" PRIu64 " bytes is refused: data past "
			       "the new end would be lost (size kept, file "
			       "not truncated; see docs/resize.md)", old,
			       p->dev_size);
		goto out;
	}
	ret = tnfs_open_check_grow(&op, &e->log, e->fileid, err, err_len);
	if (ret)
		goto out;
	pthread_mutex_lock(&e->lock);
	if (e->stopping) {
		pthread_mutex_unlock(&e->lock);
		ret = tnfs_err(err, err_len, -ESHUTDOWN, "%s is closing",
			       e->name);
		goto out;
	}
	e->resize_to = p->dev_size;
	pthread_mutex_unlock(&e->lock);
	wake(e);
	pthread_mutex_lock(&e->lock);
	while (e->resize_to)
		pthread_cond_wait(&e->resized, &e->lock);
	ret = e->resize_status;
	pthread_mutex_unlock(&e->lock);
	if (ret) {
		tnfs_err(err, err_len, ret, "out of memory for the write-back "
			 "map of %" PRIu64 " bytes", p->dev_size);
		goto out;
	}
	e->dev_size = p->dev_size;
	tnfs_log(&e->log, TNFS_LOG_INFO, "%s grew from %" PRIu64 " to %"
		 PRIu64 " bytes", e->name, old, p->dev_size);
out:
	pthread_mutex_unlock(&e->resize_lock);
	return ret;
}

void tnfs_engine_fence(struct tnfs_engine *e, int status)
{
	/* the engine thread is asleep, or finishing its turn */
	pthread_mutex_lock(&e->run_lock);
	e->io.now_ms = tnfs_now_ms();
	e->io.fenced = status;
	/* what fails now completes on the engine thread, as always */
	e->io.defer = true;
	tnfs_transport_fence(e->t, status);
	e->io.defer = false;
	pthread_mutex_unlock(&e->run_lock);
	tnfs_log(&e->log, status ? TNFS_LOG_WARN : TNFS_LOG_INFO, "%s: %s",
		 e->name, status ? "fenced: nothing more is sent to the "
		 "server" : "fence lifted");
	wake(e);
}

bool tnfs_engine_can_unmap(const struct tnfs_engine *e)
{
	return e->can_unmap;
}

uint32_t tnfs_engine_max_io(const struct tnfs_engine *e)
{
	return e->io.wmax < e->io.rmax ? e->io.wmax : e->io.rmax;
}

void tnfs_engine_set_commit_hook(struct tnfs_engine *e,
				 void (*hook)(void *arg, unsigned int pieces),
				 void *arg)
{
	/* before any I/O is submitted: the engine thread reads it unlocked */
	e->io.commit_hook = hook;
	e->io.commit_hook_arg = arg;
}
