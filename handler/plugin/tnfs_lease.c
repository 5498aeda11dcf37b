// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The LUN's sanlock lease, on a thread of its own (tnfs_lease.h,
 * docs/ha.md has the time budget these numbers make).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <grp.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sanlock.h>
#include <sanlock_admin.h>
#include <sanlock_resource.h>
#include <sanlock_rv.h>

#include "tnfs_lease.h"

/* 512-byte sectors, 1 MiB align: max 2000 hosts */
#define LEASE_FILE_SIZE		(1024 * 1024)
#define LEASE_FLAGS		(SANLK_RES_SECTOR512 | SANLK_RES_ALIGN1M)
#define POLL_MS			500
#define JOIN_RETRY_MS		2000
#define ALUA_EVERY_MS		2000

/*
 * A delta lease unrenewed this long (x io_timeout) makes the owner fence
 * itself: sanlock warns at 6, runs the killpath at 8 (which fences too),
 * and the other gateways wait 8 + 60 s (the watchdog) before taking
 * over.  The age is sanlock's host table's, read before each renewal's
 * write: up to one renewal interval (2 x io_timeout, plus a second of
 * its whole-second stamps) behind, so 7 here is 5 to 7 of real age.
 */
#define FENCE_AT		7
/* a graceful request unanswered this long (x io_timeout) is forced */
#define FORCE_AFTER		6
/* after a release, not taken back on I/O for (x io_timeout, >= 5 s) */
#define HOLDOFF			3

struct tnfs_lease {
	struct tnfs_lease_params p;
	struct tnfs_logger log;
	char *ids_path, *lease_path, *ctl_release;
	char *strs[5];			/* copies of p's strings */
	struct sanlk_lockspace ls;
	union {
		struct sanlk_resource res;
		char res_buf[sizeof(struct sanlk_resource) +
			     sizeof(struct sanlk_disk)];
	};
	int sock;

	pthread_t thread;
	pthread_mutex_t lock;		/* all below */
	pthread_cond_t cond;
	bool stop, joined;
	bool want;			/* atomic: set from any thread */
	enum tnfs_metrics_lease_state state;
	uint64_t holdoff_until, next_try, request_at, alua_at;
	uint32_t request_mode;
	uint64_t owner_host;
	int64_t renewal_age_ms;
	uint64_t acquired, released, lost, refused;
	bool waiting_logged;
	bool unfenced_loss;		/* ha_fence=0 lost it: writes on */
	bool thread_stopped;

	/* writers hold it shared; taking ownership away holds it alone */
	pthread_rwlock_t own;
	bool owner;			/* under own */
};

/* A resource's first disk (sanlock declares disks[0], a GNU array). */
static struct sanlk_disk *res_disk(struct sanlk_resource *r)
{
	return (struct sanlk_disk *)(void *)((char *)r +
		offsetof(struct sanlk_resource, disks));
}

static uint64_t io_ms(const struct tnfs_lease *l, unsigned int n)
{
	return (uint64_t)n * l->p.io_timeout * 1000;
}

static const char *sl_err(int rv)
{
	static __thread char buf[64];
	const char *s = sanlock_strerror(rv);

	if (s && *s && strcmp(s, "Unknown error"))
		return s;
	snprintf(buf, sizeof(buf), "sanlock error %d", rv);
	return buf;
}

/* ---- the lease files ---- */

/*
 * Made once, by whichever gateway comes first: initialised under a name
 * of its own, then linked into place, so that a second gateway can never
 * wipe the leases of one already using the file.
 */
static int ensure_file(struct tnfs_lease *l, const char *path, bool ids)
{
	struct sanlk_lockspace ls;
	union {
		struct sanlk_resource res;
		char buf[sizeof(struct sanlk_resource) +
			 sizeof(struct sanlk_disk)];
	} r;
	struct group *g;
	char *tmp = NULL;
	int fd, rv;

	if (!access(path, F_OK))
		return 0;
	if (asprintf(&tmp, "%s/.%s.%u.%ld.tmp", l->p.dir, ids ?
		     l->p.lockspace : l->p.name, l->p.host_id,
		     (long)getpid()) < 0)
		return -ENOMEM;
	fd = open(tmp, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0660);
	if (fd < 0) {
		rv = -errno;
		tnfs_log(&l->log, TNFS_LOG_ERR, "ha: cannot create %s: %s",
			 tmp, strerror(errno));
		goto out;
	}
	rv = ftruncate(fd, LEASE_FILE_SIZE) ? -errno : 0;
	/* the sanlock daemon may run as its own user (sanlock.conf) */
	g = getgrnam("sanlock");
	if (!rv && g && fchown(fd, (uid_t)-1, g->gr_gid))
		rv = 0;
	close(fd);
	if (rv)
		goto unlink;
	if (ids) {
		ls = l->ls;
		snprintf(ls.host_id_disk.path, sizeof(ls.host_id_disk.path),
			 "%s", tmp);
		ls.host_id = 0;
		rv = sanlock_write_lockspace(&ls, 0, 0, l->p.io_timeout);
	} else {
		memcpy(r.buf, l->res_buf, sizeof(r.buf));
		snprintf(res_disk(&r.res)->path, SANLK_PATH_LEN, "%s", tmp);
		rv = sanlock_write_resource(&r.res, 0, 0, 0);
	}
	if (rv) {
		tnfs_log(&l->log, TNFS_LOG_ERR, "ha: cannot initialise %s: "
			 "%s", tmp, sl_err(rv));
		goto unlink;
	}
	if (link(tmp, path) && errno != EEXIST) {
		rv = -errno;
		tnfs_log(&l->log, TNFS_LOG_ERR, "ha: cannot link %s to %s: "
			 "%s", tmp, path, strerror(errno));
	} else {
		tnfs_log(&l->log, TNFS_LOG_INFO, "ha: %s %s", errno == EEXIST ?
			 "another gateway made" : "made", path);
	}
unlink:
	unlink(tmp);
out:
	free(tmp);
	return rv;
}

/* ---- joining ---- */

static int join(struct tnfs_lease *l)
{
	int rv;

	rv = sanlock_inq_lockspace(&l->ls, 0);
	if (rv == -ENOENT) {
		rv = ensure_file(l, l->ids_path, true);
		if (rv)
			return rv;
		tnfs_log(&l->log, TNFS_LOG_INFO, "ha: joining lockspace %s "
			 "as host %u (%s, io_timeout %u s)", l->p.lockspace,
			 l->p.host_id, l->ids_path, l->p.io_timeout);
		/* blocks while sanlock makes sure the host_id is ours */
		rv = sanlock_add_lockspace_timeout(&l->ls, 0,
						   l->p.io_timeout);
		if (rv == -EEXIST)
			rv = 0;
	}
	if (rv) {
		if (rv != -EINPROGRESS)
			tnfs_log(&l->log, TNFS_LOG_WARN, "ha: lockspace %s "
				 "not joined: %s", l->p.lockspace,
				 rv == -ECONNREFUSED || rv == -ENOENT ?
				 "is the sanlock daemon running?" :
				 sl_err(rv));
		return rv;
	}
	rv = ensure_file(l, l->lease_path, false);
	if (rv)
		return rv;
	if (l->sock < 0) {
		l->sock = sanlock_register();
		if (l->sock < 0) {
			rv = l->sock;
			tnfs_log(&l->log, TNFS_LOG_ERR, "ha: cannot register "
				 "with sanlock: %s", sl_err(rv));
			return rv;
		}
		/*
		 * No SIGTERM: tcmu-runner's clean exit would drain queued
		 * writes after the lease is gone.  sanlock uses SIGKILL
		 * instead, and before it our killpath: a request file the
		 * thread acts on (fence, release).
		 */
		sanlock_restrict(l->sock, SANLK_RESTRICT_SIGTERM);
		rv = sanlock_killpath(l->sock, 0, "/usr/bin/touch",
				      l->ctl_release);
		if (rv)
			tnfs_log(&l->log, TNFS_LOG_WARN, "ha: no killpath: %s",
				 sl_err(rv));
	}
	return 0;
}

/* ---- ownership ---- */

static void set_state(struct tnfs_lease *l, enum tnfs_metrics_lease_state s)
{
	/* read without the lock by tnfs_lease_owner (command thread) */
	__atomic_store_n(&l->state, s, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&l->cond);
}

/* Under l->lock, on the thread. */
static void became_owner(struct tnfs_lease *l, uint64_t from)
{
	if (l->p.fence && l->p.set_fence)
		l->p.set_fence(l->p.arg, false);
	pthread_rwlock_wrlock(&l->own);
	l->owner = true;
	pthread_rwlock_unlock(&l->own);
	l->acquired++;
	__atomic_store_n(&l->owner_host, l->p.host_id, __ATOMIC_RELEASE);
	l->request_at = 0;
	l->waiting_logged = false;
	unlink(l->ctl_release);
	set_state(l, TNFS_LEASE_OWNER);
	if (from && from != l->p.host_id)
		tnfs_log(&l->log, TNFS_LOG_INFO, "ha: acquired the lease %s "
			 "(lockspace %s, host %u), taken over from host %"
			 PRIu64, l->p.name, l->p.lockspace, l->p.host_id,
			 from);
	else
		tnfs_log(&l->log, TNFS_LOG_INFO, "ha: acquired the lease %s "
			 "(lockspace %s, host %u)", l->p.name, l->p.lockspace,
			 l->p.host_id);
	if (l->p.changed)
		l->p.changed(l->p.arg, true);
}

/*
 * Stop writing, then let go: no write is submitted after @own is taken,
 * none in flight survives the fence, and only then does the lease go.
 * Under l->lock, on the thread (or at stop).
 */
static void let_go(struct tnfs_lease *l, bool lost, const char *why)
{
	int rv;
	struct sanlk_resource *r = &l->res;

	if (!l->p.fence && lost) {
		/*
		 * The negative control: what a gateway without the fence
		 * does.  It lets sanlock have the lease (so sanlock has no
		 * reason to kill it) and goes on writing what it holds.
		 */
		rv = sanlock_release(l->sock, -1, 0, 1, &r);
		tnfs_log(&l->log, TNFS_LOG_ERR, "ha: LOST the lease %s (%s), "
			 "but ha_fence=0: NOT fenced, still writing (a test "
			 "setting: unsafe)%s%s", l->p.name, why,
			 rv ? "; release: " : "", rv ? sl_err(rv) : "");
		l->lost++;
		l->unfenced_loss = true;
		return;
	}
	pthread_rwlock_wrlock(&l->own);
	l->owner = false;
	pthread_rwlock_unlock(&l->own);
	if (l->p.fence && l->p.set_fence)
		l->p.set_fence(l->p.arg, true);
	rv = sanlock_release(l->sock, -1, 0, 1, &r);
	/* reads may go on; writes stay refused (tnfs_lease_begin_write) */
	if (l->p.fence && l->p.set_fence)
		l->p.set_fence(l->p.arg, false);
	if (lost) {
		l->lost++;
		set_state(l, TNFS_LEASE_FENCED);
		tnfs_log(&l->log, TNFS_LOG_ERR, "ha: LOST the lease %s (%s): "
			 "fenced, nothing more is sent%s%s", l->p.name, why,
			 rv ? "; release: " : "", rv ? sl_err(rv) : "");
	} else {
		l->released++;
		set_state(l, TNFS_LEASE_STANDBY);
		tnfs_log(&l->log, TNFS_LOG_INFO, "ha: released the lease %s "
			 "(%s)%s%s", l->p.name, why, rv ? ": " : "",
			 rv ? sl_err(rv) : "");
	}
	__atomic_store_n(&l->owner_host, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&l->want, false, __ATOMIC_RELEASE);
	__atomic_store_n(&l->holdoff_until, tnfs_now_ms() +
			 (io_ms(l, HOLDOFF) > 5000 ? io_ms(l, HOLDOFF) : 5000),
			 __ATOMIC_RELEASE);
	if (l->p.changed)
		l->p.changed(l->p.arg, false);
}

/* The owner as on disk: its host_id, and the lease version it holds. */
static uint64_t read_owner(struct tnfs_lease *l, uint64_t *lver)
{
	union {
		struct sanlk_resource res;
		char buf[sizeof(struct sanlk_resource) +
			 sizeof(struct sanlk_disk)];
	} r;
	struct sanlk_host *hss = NULL;
	uint64_t owner = 0;
	int n = 0;

	memcpy(r.buf, l->res_buf, sizeof(r.buf));
	if (!sanlock_read_resource_owners(&r.res, 0, &hss, &n) && n > 0)
		owner = hss[0].host_id;
	*lver = r.res.lver;
	free(hss);
	return owner;
}

/* Held by a live owner: ask it to let go, gracefully first. */
static void request_release(struct tnfs_lease *l, uint64_t owner,
			    uint64_t lver, uint64_t now)
{
	union {
		struct sanlk_resource res;
		char buf[sizeof(struct sanlk_resource) +
			 sizeof(struct sanlk_disk)];
	} r;
	uint32_t mode = SANLK_REQ_GRACEFUL;
	int rv;

	if (!l->request_at)
		l->request_at = now;
	else if (now - l->request_at >= io_ms(l, FORCE_AFTER))
		mode = SANLK_REQ_FORCE;
	if (l->request_mode == mode && now - l->request_at <
	    io_ms(l, 2) && l->request_at != now)
		return;
	memcpy(r.buf, l->res_buf, sizeof(r.buf));
	r.res.lver = lver + 1;
	r.res.flags |= SANLK_RES_LVER;
	rv = sanlock_request(0, mode, &r.res);
	if (l->request_mode != mode)
		tnfs_log(&l->log, TNFS_LOG_WARN, "ha: the lease %s is held by "
			 "host %" PRIu64 " (alive): asked it to release it "
			 "(%s)%s%s", l->p.name, owner, mode == SANLK_REQ_FORCE ?
			 "forced: its sanlock kills the process holding it" :
			 "graceful", rv ? ": " : "", rv ? sl_err(rv) : "");
	l->request_mode = mode;
	if (mode == SANLK_REQ_FORCE)
		l->request_at = now - io_ms(l, FORCE_AFTER);
}

/* Under l->lock, on the thread. */
static void try_acquire(struct tnfs_lease *l, uint64_t now)
{
	struct sanlk_resource *r = &l->res;
	uint64_t owner, lver = 0;
	int rv;

	set_state(l, TNFS_LEASE_ACQUIRING);
	l->next_try = now + 1000;
	owner = read_owner(l, &lver);
	__atomic_store_n(&l->owner_host, owner, __ATOMIC_RELEASE);
	rv = sanlock_acquire(l->sock, -1, SANLK_ACQUIRE_OWNER_NOWAIT, 1, &r,
			     NULL);
	if (!rv) {
		became_owner(l, owner);
		return;
	}
	if (rv == -EEXIST) {
		/* another process (or device) of this gateway holds it */
		if (!l->request_at)
			tnfs_log(&l->log, TNFS_LOG_ERR, "ha: the lease %s is "
				 "already held on this gateway (host %u) by "
				 "another device or process: two backstores "
				 "for one file?", l->p.name, l->p.host_id);
		l->request_at = now;
		l->refused++;
		l->next_try = now + JOIN_RETRY_MS;
		return;
	}
	if (rv == SANLK_ACQUIRE_IDLIVE || rv == SANLK_ACQUIRE_OWNED) {
		if (!l->request_at)
			l->refused++;
		request_release(l, owner, lver, now);
		return;
	}
	if (rv == SANLK_ACQUIRE_OWNED_RETRY) {
		/* its host stopped renewing: sanlock waits out the
		 * watchdog (host_dead_seconds) before anyone may take it */
		if (!l->waiting_logged)
			tnfs_log(&l->log, TNFS_LOG_WARN, "ha: the lease %s is "
				 "held by host %" PRIu64 ", which stopped "
				 "renewing: waiting for it to expire (8 x its "
				 "io_timeout + 60 s from its last renewal)",
				 l->p.name, owner);
		if (!l->waiting_logged)
			l->refused++;
		l->waiting_logged = true;
		return;
	}
	l->refused++;
	tnfs_log(&l->log, TNFS_LOG_WARN, "ha: cannot acquire the lease %s: "
		 "%s%s", l->p.name, sl_err(rv), rv == SANLK_ACQUIRE_LOCKSPACE
		 ? " (lockspace not joined)" : "");
	if (rv == SANLK_ACQUIRE_LOCKSPACE || rv == -ENOSPC)
		l->joined = false;
	l->next_try = now + JOIN_RETRY_MS;
}

/*
 * Our own delta lease: how old its last renewal is; -1 if the lockspace
 * is gone (sanlock dropped it: renewals failed, or removed); @prev when
 * sanlock cannot tell yet (just joined: -EAGAIN).
 */
static int64_t renewal_age(struct tnfs_lease *l, uint64_t now, int64_t prev)
{
	struct sanlk_host *hs = NULL;
	int n = 0, rv;
	int64_t age = prev;

	rv = sanlock_get_hosts(l->p.lockspace, l->p.host_id, &hs, &n, 0);
	if (!rv && n > 0 && hs[0].timestamp) {
		age = (int64_t)now - (int64_t)(hs[0].timestamp * 1000);
		if (age < 0)
			age = 0;
	} else if (rv && rv != -EAGAIN &&
		   sanlock_inq_lockspace(&l->ls, 0) == -ENOENT) {
		age = -1;
	}
	free(hs);
	return age;
}

/* The owner's checks, each pass: is there a reason to let go? */
static void owner_tick(struct tnfs_lease *l)
{
	char why[96];

	if (!access(l->ctl_release, F_OK)) {
		unlink(l->ctl_release);
		let_go(l, false, "asked to: a planned move, or another "
		       "gateway's request");
	} else if (l->renewal_age_ms < 0) {
		let_go(l, true, "the lockspace is gone");
		l->joined = false;
	} else if ((uint64_t)l->renewal_age_ms >= io_ms(l, FENCE_AT)) {
		snprintf(why, sizeof(why), "delta lease not renewed for %"
			 PRId64 " ms", l->renewal_age_ms);
		let_go(l, true, why);
	}
}

/* Not the owner: take it when asked, and not held off. */
static void other_tick(struct tnfs_lease *l, uint64_t now)
{
	bool want = __atomic_load_n(&l->want, __ATOMIC_ACQUIRE);
	uint64_t off = __atomic_load_n(&l->holdoff_until, __ATOMIC_ACQUIRE);

	unlink(l->ctl_release);
	/* dropped by sanlock after a loss: join again */
	if (l->renewal_age_ms < 0)
		l->joined = false;
	else if (want && now >= off && now >= l->next_try)
		try_acquire(l, now);
	else if (l->state == TNFS_LEASE_ACQUIRING && !want)
		set_state(l, TNFS_LEASE_STANDBY);
}

/* One pass of the thread, under l->lock. */
static void tick(struct tnfs_lease *l)
{
	uint64_t now = tnfs_now_ms();
	int64_t age;
	int rv;

	if (!l->joined && now >= l->next_try) {
		pthread_mutex_unlock(&l->lock);
		rv = join(l);
		pthread_mutex_lock(&l->lock);
		l->joined = !rv;
		l->next_try = now + (rv ? JOIN_RETRY_MS : 0);
		if (!rv && l->state == TNFS_LEASE_JOINING)
			set_state(l, TNFS_LEASE_STANDBY);
		now = tnfs_now_ms();
	}
	if (l->joined) {
		age = renewal_age(l, now, l->renewal_age_ms < 0 ? 0 :
				  l->renewal_age_ms);
		__atomic_store_n(&l->renewal_age_ms, age, __ATOMIC_RELEASE);
		if (l->unfenced_loss)
			;	/* the negative control: nothing more to do */
		else if (l->state == TNFS_LEASE_OWNER)
			owner_tick(l);
		else
			other_tick(l, now);
	}
	if (l->p.changed && now >= l->alua_at) {
		l->alua_at = now + ALUA_EVERY_MS;
		l->p.changed(l->p.arg, l->state == TNFS_LEASE_OWNER);
	}
}

static void *lease_thread(void *arg)
{
	struct tnfs_lease *l = arg;
	struct timespec at;

	pthread_mutex_lock(&l->lock);
	while (!l->stop) {
		tick(l);
		clock_gettime(CLOCK_MONOTONIC, &at);
		at.tv_nsec += POLL_MS * 1000000L;
		if (at.tv_nsec >= 1000000000L) {
			at.tv_sec++;
			at.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&l->cond, &l->lock, &at);
	}
	pthread_mutex_unlock(&l->lock);
	return NULL;
}

/* ---- the API ---- */

int tnfs_lease_check(const char *dir, char *err, size_t err_len)
{
	uint32_t version = 0, proto = 0;
	struct stat st;
	int rv;

	if (stat(dir, &st) || !S_ISDIR(st.st_mode))
		return tnfs_err(err, err_len, -ENOENT, "ha_dir=%s is not a "
				"directory: mount the export's lease directory "
				"there (docs/ha.md)", dir);
	rv = sanlock_version(0, &version, &proto);
	if (rv < 0)
		return tnfs_err(err, err_len, -ECONNREFUSED, "ha=: the sanlock "
				"daemon does not answer (%s): start sanlock "
				"(and wdmd) first (docs/ha.md)", sl_err(rv));
	return 0;
}

int tnfs_lease_start(const struct tnfs_lease_params *p,
		     struct tnfs_lease **out, char *err, size_t err_len)
{
	struct tnfs_lease *l;
	pthread_condattr_t ca;
	int ret, i;

	l = calloc(1, sizeof(*l));
	if (!l)
		return tnfs_err(err, err_len, -ENOMEM, "out of memory");
	l->p = *p;
	/* the caller's strings (its cfgstring) go at the end of open() */
	l->strs[0] = strdup(p->lockspace);
	l->strs[1] = strdup(p->dir);
	l->strs[2] = strdup(p->name);
	l->strs[3] = strdup(p->ctl_dir);
	l->strs[4] = strdup(p->ctl_name);
	l->p.lockspace = l->strs[0];
	l->p.dir = l->strs[1];
	l->p.name = l->strs[2];
	l->p.ctl_dir = l->strs[3];
	l->p.ctl_name = l->strs[4];
	p = &l->p;
	l->log.fn = p->log;
	l->log.arg = p->log_arg;
	l->sock = -1;
	l->renewal_age_ms = -1;
	l->state = TNFS_LEASE_JOINING;
	if (asprintf(&l->ids_path, "%s/%s.ids", p->dir, p->lockspace) < 0)
		l->ids_path = NULL;
	if (asprintf(&l->lease_path, "%s/%s.lease", p->dir, p->name) < 0)
		l->lease_path = NULL;
	if (asprintf(&l->ctl_release, "%s/%s.release", p->ctl_dir,
		     p->ctl_name) < 0)
		l->ctl_release = NULL;
	if (!l->ids_path || !l->lease_path || !l->ctl_release || !l->strs[0] ||
	    !l->strs[1] || !l->strs[2] || !l->strs[3] || !l->strs[4]) {
		ret = tnfs_err(err, err_len, -ENOMEM, "out of memory");
		goto fail;
	}
	if (strlen(l->ids_path) >= SANLK_PATH_LEN ||
	    strlen(l->ctl_release) >= SANLK_HELPER_ARGS_LEN) {
		ret = tnfs_err(err, err_len, -ENAMETOOLONG, "ha_dir %s: path "
			       "too long for sanlock", p->dir);
		goto fail;
	}
	if (mkdir(p->ctl_dir, 0755) && errno != EEXIST) {
		char *dup = strdup(p->ctl_dir), *s;

		/* /run/tcmu-nfs may not exist yet */
		for (s = dup ? strchr(dup + 1, '/') : NULL; s;
		     s = strchr(s + 1, '/')) {
			*s = '\0';
			mkdir(dup, 0755);
			*s = '/';
		}
		free(dup);
		if (mkdir(p->ctl_dir, 0755) && errno != EEXIST) {
			ret = tnfs_err(err, err_len, -errno, "ha: cannot "
				       "create %s: %s", p->ctl_dir,
				       strerror(errno));
			goto fail;
		}
	}
	unlink(l->ctl_release);
	memcpy(l->ls.name, p->lockspace, strnlen(p->lockspace,
						 SANLK_NAME_LEN));
	l->ls.host_id = p->host_id;
	l->ls.flags = LEASE_FLAGS;
	snprintf(l->ls.host_id_disk.path, sizeof(l->ls.host_id_disk.path),
		 "%s", l->ids_path);
	memcpy(l->res.lockspace_name, p->lockspace,
	       strnlen(p->lockspace, SANLK_NAME_LEN));
	memcpy(l->res.name, p->name, strnlen(p->name, SANLK_NAME_LEN));
	l->res.flags = LEASE_FLAGS;
	l->res.num_disks = 1;
	snprintf(res_disk(&l->res)->path, SANLK_PATH_LEN, "%s",
		 l->lease_path);
	pthread_mutex_init(&l->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&l->cond, &ca);
	pthread_condattr_destroy(&ca);
	pthread_rwlock_init(&l->own, NULL);
	ret = pthread_create(&l->thread, NULL, lease_thread, l);
	if (ret) {
		ret = tnfs_err(err, err_len, -ret, "ha: cannot start the lease "
			       "thread: %s", strerror(ret));
		pthread_rwlock_destroy(&l->own);
		pthread_cond_destroy(&l->cond);
		pthread_mutex_destroy(&l->lock);
		goto fail;
	}
	*out = l;
	return 0;
fail:
	free(l->ids_path);
	free(l->lease_path);
	free(l->ctl_release);
	for (i = 0; i < 5; i++)
		free(l->strs[i]);
	free(l);
	return ret;
}

void tnfs_lease_stop_thread(struct tnfs_lease *l)
{
	if (!l || l->thread_stopped)
		return;
	pthread_mutex_lock(&l->lock);
	l->stop = true;
	pthread_cond_broadcast(&l->cond);
	pthread_mutex_unlock(&l->lock);
	pthread_join(l->thread, NULL);
	l->thread_stopped = true;
}

void tnfs_lease_stop(struct tnfs_lease *l)
{
	int i;

	if (!l)
		return;
	tnfs_lease_stop_thread(l);
	if (l->state == TNFS_LEASE_OWNER) {
		struct sanlk_resource *r = &l->res;
		int rv = sanlock_release(l->sock, -1, 0, 1, &r);

		tnfs_log(&l->log, TNFS_LOG_INFO, "ha: released the lease %s "
			 "(device closed)%s%s", l->p.name, rv ? ": " : "",
			 rv ? sl_err(rv) : "");
	}
	/* the lockspace stays: other devices and gateways use it */
	if (l->sock >= 0)
		close(l->sock);
	unlink(l->ctl_release);
	pthread_rwlock_destroy(&l->own);
	pthread_cond_destroy(&l->cond);
	pthread_mutex_destroy(&l->lock);
	free(l->ids_path);
	free(l->lease_path);
	free(l->ctl_release);
	for (i = 0; i < 5; i++)
		free(l->strs[i]);
	free(l);
}

int tnfs_lease_acquire(struct tnfs_lease *l, unsigned int wait_ms)
{
	uint64_t end = tnfs_now_ms() + wait_ms;
	struct timespec at;
	int ret;

	pthread_mutex_lock(&l->lock);
	__atomic_store_n(&l->want, true, __ATOMIC_RELEASE);
	/* asked for explicitly: a hold-off after a release does not apply */
	__atomic_store_n(&l->holdoff_until, 0, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&l->cond);
	while (l->state != TNFS_LEASE_OWNER && !l->stop &&
	       tnfs_now_ms() < end) {
		clock_gettime(CLOCK_MONOTONIC, &at);
		at.tv_nsec += 100 * 1000000L;
		if (at.tv_nsec >= 1000000000L) {
			at.tv_sec++;
			at.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&l->cond, &l->lock, &at);
	}
	ret = l->state == TNFS_LEASE_OWNER ? 0 : -EAGAIN;
	pthread_mutex_unlock(&l->lock);
	return ret;
}

void tnfs_lease_release(struct tnfs_lease *l)
{
	pthread_mutex_lock(&l->lock);
	if (l->state == TNFS_LEASE_OWNER)
		let_go(l, false, "released");
	__atomic_store_n(&l->want, false, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&l->lock);
}

/*
 * Called on the engine thread, which the lease thread may be waiting for
 * (the fence): no lock, the thread sees it within POLL_MS.
 */
void tnfs_lease_want(struct tnfs_lease *l)
{
	__atomic_store_n(&l->want, true, __ATOMIC_RELEASE);
}

/*
 * Not while held off, and not while this gateway's own delta lease is not
 * being renewed (cut off from the storage, say): answering BUSY then
 * would keep the initiator here, on a gateway that cannot take over.
 */
bool tnfs_lease_may_take(struct tnfs_lease *l)
{
	int64_t age = __atomic_load_n(&l->renewal_age_ms, __ATOMIC_ACQUIRE);

	if (tnfs_now_ms() < __atomic_load_n(&l->holdoff_until,
					    __ATOMIC_ACQUIRE) ||
	    age < 0 || (uint64_t)age >= io_ms(l, 5) + 1000)
		return false;
	tnfs_lease_want(l);
	return true;
}

bool tnfs_lease_begin_write(struct tnfs_lease *l)
{
	pthread_rwlock_rdlock(&l->own);
	if (l->owner)
		return true;
	pthread_rwlock_unlock(&l->own);
	return false;
}

void tnfs_lease_end_write(struct tnfs_lease *l)
{
	pthread_rwlock_unlock(&l->own);
}

/* Never blocks: the command thread asks (get_lock_state). */
bool tnfs_lease_owner(struct tnfs_lease *l)
{
	return __atomic_load_n(&l->state, __ATOMIC_ACQUIRE) ==
	       TNFS_LEASE_OWNER;
}

uint64_t tnfs_lease_owner_host(struct tnfs_lease *l)
{
	return __atomic_load_n(&l->owner_host, __ATOMIC_ACQUIRE);
}

void tnfs_lease_metrics(void *arg, struct tnfs_metrics_lease *out)
{
	struct tnfs_lease *l = arg;

	pthread_mutex_lock(&l->lock);
	out->state = l->state;
	out->owner = l->owner_host;
	out->host = l->p.host_id;
	out->renewal_age_ms = l->renewal_age_ms;
	out->acquired = l->acquired;
	out->released = l->released;
	out->lost = l->lost;
	out->refused = l->refused;
	pthread_mutex_unlock(&l->lock);
}
