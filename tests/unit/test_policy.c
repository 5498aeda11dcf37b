// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The stable-write policy alone, against a model server whose latency
 * per path is set by the test: does stable=auto settle on the faster
 * path, keep measuring the other, follow a change, and keep classes
 * apart?  Pinned modes never leave their path.
 */
#include "../check.h"
#include "tnfs_policy.h"
#include "tnfs_xdr.h"

/* Model latencies in microseconds, by path. */
static uint64_t model[TNFS_NR_PATHS];

/* @n writes of one class at @depth; how many took each path. */
static void run(struct tnfs_policy *p, unsigned int cls, unsigned int depth,
		unsigned int n, unsigned int *taken)
{
	unsigned int i;
	enum tnfs_write_path path;

	taken[0] = taken[1] = 0;
	for (i = 0; i < n; i++) {
		path = tnfs_policy_choose(p, cls);
		taken[path]++;
		tnfs_policy_record(p, cls, path, model[path], depth);
	}
}

static void classes(void)
{
	unsigned int a = tnfs_policy_class(4096, 1);

	CHECK(a == tnfs_policy_class(512, 1), "512 and 4k share a class");
	CHECK(a != tnfs_policy_class(4097, 1), "4k+1 is the next size");
	CHECK(tnfs_policy_class(16384, 1) == tnfs_policy_class(4097, 1),
	      "up to 16k");
	CHECK(a != tnfs_policy_class(4096, 2), "depth 2 is another class");
	CHECK(tnfs_policy_class(4096, 2) == tnfs_policy_class(4096, 3),
	      "depth 2-3");
	CHECK(tnfs_policy_class(4096, 32) == tnfs_policy_class(4096, 128),
	      "32 and more");
	CHECK(tnfs_policy_class(1 << 20, 8) != tnfs_policy_class(4 << 20, 8),
	      "1M and 4M");
	CHECK(tnfs_policy_class(64 << 20, 1000) <
	      TNFS_POLICY_SIZES * TNFS_POLICY_DEPTHS, "in range");
}

static void pinned(void)
{
	struct tnfs_policy p;
	unsigned int t[2], cls = tnfs_policy_class(4096, 8);

	model[TNFS_PATH_COMMIT] = 100;
	model[TNFS_PATH_STABLE] = 1000;
	tnfs_policy_init(&p, TNFS_STABLE_DATASYNC);
	run(&p, cls, 8, 5000, t);
	CHECK(t[TNFS_PATH_STABLE] == 5000, "datasync pinned: %u", t[1]);
	tnfs_policy_init(&p, TNFS_STABLE_COMMIT);
	model[TNFS_PATH_COMMIT] = 1000;
	model[TNFS_PATH_STABLE] = 100;
	run(&p, cls, 8, 5000, t);
	CHECK(t[TNFS_PATH_COMMIT] == 5000, "commit pinned: %u", t[0]);
	CHECK(tnfs_policy_stable_how(TNFS_STABLE_AUTO, TNFS_PATH_STABLE) ==
	      TNFS_XDR_DATA_SYNC, "auto sends DATA_SYNC");
	CHECK(tnfs_policy_stable_how(TNFS_STABLE_DATASYNC, TNFS_PATH_STABLE) ==
	      TNFS_XDR_DATA_SYNC, "datasync");
	CHECK(tnfs_policy_stable_how(TNFS_STABLE_FILESYNC, TNFS_PATH_STABLE) ==
	      TNFS_XDR_FILE_SYNC, "filesync");
	CHECK(tnfs_policy_stable_how(TNFS_STABLE_AUTO, TNFS_PATH_COMMIT) ==
	      TNFS_XDR_UNSTABLE, "commit path sends UNSTABLE");
}

static void adaptive(void)
{
	struct tnfs_policy p;
	unsigned int t[2], cls = tnfs_policy_class(4096, 32), other;

	tnfs_policy_init(&p, TNFS_STABLE_AUTO);
	/* stable faster, as ganesha's 4k writes at depth 32 */
	model[TNFS_PATH_COMMIT] = 3000;
	model[TNFS_PATH_STABLE] = 1500;
	run(&p, cls, 32, 2000, t);
	CHECK(t[TNFS_PATH_COMMIT] > 0, "commit was measured");
	run(&p, cls, 32, 100000, t);
	CHECK(t[TNFS_PATH_STABLE] >= 95000, "settled on stable: %u of 100000",
	      t[TNFS_PATH_STABLE]);
	CHECK(t[TNFS_PATH_COMMIT] > 0, "still measures commit now and then");

	/* the server changed: COMMIT became the faster */
	model[TNFS_PATH_COMMIT] = 500;
	run(&p, cls, 32, 20000, t);
	run(&p, cls, 32, 100000, t);
	CHECK(t[TNFS_PATH_COMMIT] >= 95000, "followed the change: %u",
	      t[TNFS_PATH_COMMIT]);
	CHECK(p.switches >= 1, "switched %llu times",
	      (unsigned long long)p.switches);

	/* another class learns on its own, this one keeps its choice */
	other = tnfs_policy_class(1 << 20, 1);
	model[TNFS_PATH_COMMIT] = 8000;
	model[TNFS_PATH_STABLE] = 4000;
	run(&p, other, 1, 20000, t);
	CHECK(t[TNFS_PATH_STABLE] >= 18000, "1M QD1 stable: %u",
	      t[TNFS_PATH_STABLE]);
	CHECK(p.cls[cls].best == TNFS_PATH_COMMIT, "4k QD32 kept commit");

	/* a write sent on the other path (epoch changed) is not counted */
	tnfs_policy_init(&p, TNFS_STABLE_AUTO);
	tnfs_policy_record(&p, cls, TNFS_PATH_COMMIT, 1, 32);
	CHECK(p.cls[cls].n == 0, "stray path ignored");

	/*
	 * Learning is cheap when one path is clearly faster: a fresh class
	 * where COMMIT takes 1.5 times as long spends few of its first
	 * 2000 writes (31 epochs) on it.
	 */
	tnfs_policy_init(&p, TNFS_STABLE_AUTO);
	cls = tnfs_policy_class(4096, 1);
	model[TNFS_PATH_COMMIT] = 3000;
	model[TNFS_PATH_STABLE] = 2000;
	run(&p, cls, 1, 2000, t);
	CHECK(t[TNFS_PATH_COMMIT] > 0 && t[TNFS_PATH_COMMIT] <= 200,
	      "learning cost: %u of 2000 writes on the slower path",
	      t[TNFS_PATH_COMMIT]);
}

/*
 * A loaded machine: every latency swings with a load that changes each
 * 100 commands, by up to 20 % either way, and the stable path is only 5 %
 * faster (1 MiB writes to ganesha on tmpfs in the TCG guest).  Epochs of
 * the two paths then see different loads; auto must not follow the
 * swings, and must keep the one-round-trip path when the paths are that
 * close.
 */
static void noisy(void)
{
	unsigned int i, t[2] = { 0, 0 }, cls = tnfs_policy_class(1 << 20, 1);
	uint32_t seed = 12345, load = 100;
	enum tnfs_write_path path;
	struct tnfs_policy p;
	uint64_t lat;

	tnfs_policy_init(&p, TNFS_STABLE_AUTO);
	model[TNFS_PATH_COMMIT] = 4200;
	model[TNFS_PATH_STABLE] = 4000;
	for (i = 0; i < 200000; i++) {
		if (i % 100 == 0) {
			seed = seed * 1103515245 + 12345;
			load = 80 + (seed >> 16) % 41;
		}
		path = tnfs_policy_choose(&p, cls);
		t[path]++;
		lat = model[path] * load / 100;
		tnfs_policy_record(&p, cls, path, lat, 1);
	}
	CHECK(t[TNFS_PATH_STABLE] >= 180000, "noise moved auto: %u of 200000 "
	      "stable, %llu switches", t[TNFS_PATH_STABLE],
	      (unsigned long long)p.switches);
	CHECK(t[TNFS_PATH_COMMIT] > 0, "commit still measured");
}

int main(void)
{
	classes();
	pinned();
	adaptive();
	noisy();
	return check_report("policy");
}
