// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The LUN's lease (handler/plugin/tnfs_lease.c) against a real sanlock
 * daemon on this host (lease-test.sh starts one, without a watchdog),
 * lease files in a local directory: join, acquire, the planned release
 * through the control file sanlock's killpath also touches (fence before
 * release, the hold-off), a second holder on the same host refused, and
 * the metrics.  The failover between two gateways needs two sanlock
 * hosts: tests/e2e/ha.sh.
 *
 *   test_lease DIR
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../check.h"
#include "tnfs_lease.h"

struct seen {
	int fenced, unfenced, owner, not_owner, state;
	char last[512];
};

static void on_fence(void *arg, bool fenced)
{
	struct seen *s = arg;

	if (fenced)
		s->fenced++;
	else
		s->unfenced++;
}

/* called on each change and again every few seconds: count changes */
static void on_changed(void *arg, bool owner)
{
	struct seen *s = arg;

	if (s->state == (owner ? 1 : 2))
		return;
	s->state = owner ? 1 : 2;
	if (owner)
		s->owner++;
	else
		s->not_owner++;
}

static void on_log(void *arg, enum tnfs_log_level level, const char *msg)
{
	struct seen *s = arg;

	(void)level;
	snprintf(s->last, sizeof(s->last), "%s", msg);
	if (getenv("TEST_VERBOSE"))
		fprintf(stderr, "  log: %s\n", msg);
}

static struct tnfs_lease *start(const char *dir, const char *ctl,
				const char *name, struct seen *s)
{
	struct tnfs_lease_params p = {
		.lockspace = "tnfs-test",
		.host_id = 1,
		.dir = dir,
		.name = "lun0",
		.io_timeout = 2,
		.fence = true,
		.ctl_dir = ctl,
		.ctl_name = name,
		.set_fence = on_fence,
		.changed = on_changed,
		.arg = s,
		.log = on_log,
		.log_arg = s,
	};
	struct tnfs_lease *l = NULL;
	char err[256];
	int ret = tnfs_lease_start(&p, &l, err, sizeof(err));

	CHECK(!ret, "start: %s", err);
	return l;
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

int main(int argc, char **argv)
{
	struct seen a = { 0 }, b = { 0 };
	struct tnfs_metrics_lease m;
	struct tnfs_lease *la, *lb;
	char ctl[600], path[700];
	uint64_t t0;
	int i, ret;

	if (argc != 2) {
		fprintf(stderr, "usage: test_lease DIR\n");
		return 2;
	}
	snprintf(ctl, sizeof(ctl), "%s/ctl", argv[1]);
	la = start(argv[1], ctl, "a", &a);
	if (!la)
		return check_report("test_lease");

	/* join (the daemon makes sure host 1 is free) and acquire */
	t0 = tnfs_now_ms();
	ret = tnfs_lease_acquire(la, 60000);
	CHECK(ret == 0, "acquire: %d (%s)", ret, a.last);
	printf("joined and acquired in %llu ms\n",
	       (unsigned long long)(tnfs_now_ms() - t0));
	CHECK(tnfs_lease_owner(la) && a.owner == 1, "owner");
	CHECK(tnfs_lease_begin_write(la), "the owner may write");
	tnfs_lease_end_write(la);
	snprintf(path, sizeof(path), "%s/tnfs-test.ids", argv[1]);
	CHECK(!access(path, F_OK), "%s made", path);
	snprintf(path, sizeof(path), "%s/lun0.lease", argv[1]);
	CHECK(!access(path, F_OK), "%s made", path);
	sleep_ms(2500);		/* one renewal (2 x io_timeout) */
	tnfs_lease_metrics(la, &m);
	CHECK(m.state == TNFS_LEASE_OWNER && m.host == 1 && m.owner == 1 &&
	      m.acquired == 1, "metrics: state %d host %llu owner %llu",
	      m.state, (unsigned long long)m.host,
	      (unsigned long long)m.owner);
	CHECK(m.renewal_age_ms >= 0 && m.renewal_age_ms < 10000,
	      "renewal age %lld ms", (long long)m.renewal_age_ms);

	/* a second holder on this host (two backstores, one file): refused */
	lb = start(argv[1], ctl, "b", &b);
	ret = tnfs_lease_acquire(lb, 4000);
	CHECK(ret == -EAGAIN && !tnfs_lease_owner(lb), "second holder: %d",
	      ret);
	CHECK(strstr(b.last, "already held on this gateway"), "logged: %s",
	      b.last);
	tnfs_lease_metrics(lb, &m);
	CHECK(m.refused >= 1, "refused counted");
	CHECK(tnfs_lease_owner(la), "the first one still owns it");
	tnfs_lease_release(lb);
	tnfs_lease_stop(lb);

	/* sanlock's killpath (or tcmu-nfs-ha release): the control file */
	snprintf(path, sizeof(path), "%s/a.release", ctl);
	CHECK(!close(open(path, O_CREAT | O_WRONLY, 0644)), "touch %s", path);
	for (i = 0; i < 40 && tnfs_lease_owner(la); i++)
		sleep_ms(100);
	CHECK(!tnfs_lease_owner(la), "released on the control file");
	CHECK(a.fenced == 1 && a.unfenced >= 2 && a.not_owner >= 1 &&
	      a.state == 2,
	      "fenced before the release (fenced %d, unfenced %d)", a.fenced,
	      a.unfenced);
	CHECK(!tnfs_lease_begin_write(la), "no write after the release");
	CHECK(!tnfs_lease_may_take(la), "held off after a release");
	CHECK(access(path, F_OK), "control file consumed");
	tnfs_lease_metrics(la, &m);
	CHECK(m.released == 1 && m.state == TNFS_LEASE_STANDBY, "released "
	      "counted");

	/* asked again (lock()): the hold-off does not apply */
	ret = tnfs_lease_acquire(la, 10000);
	CHECK(ret == 0 && tnfs_lease_owner(la), "acquired again: %d", ret);
	tnfs_lease_metrics(la, &m);
	CHECK(m.acquired == 2, "acquired twice");
	tnfs_lease_stop(la);
	return check_report("test_lease");
}
