// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A second NFS client of the test server (libnfs, straight to ganesha),
 * for what another host does to the file behind the device's back:
 * truncate it, replace it.  Through NFS, so that ganesha's own caches
 * see it (tests/nfs-server.sh: never behind its back).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>
#include <unistd.h>

#include <nfsc/libnfs.h>

#include "nfs_test_env.h"

static struct nfs_context *mounted(const char *exp)
{
	struct nfs_context *nfs = nfs_init_context();
	struct nfs_url *url;
	char u[256], e[128];

	if (!nfs)
		return NULL;
	snprintf(u, sizeof(u), "nfs://127.0.0.1/%s/x?%s", exp, TEST_PORTS);
	snprintf(e, sizeof(e), "/%s", exp);
	url = nfs_parse_url_full(nfs, u);
	if (!url) {
		nfs_destroy_context(nfs);
		return NULL;
	}
	nfs_destroy_url(url);
	if (nfs_mount(nfs, "127.0.0.1", e)) {
		fprintf(stderr, "test client: mount %s: %s\n", e,
			nfs_get_error(nfs));
		nfs_destroy_context(nfs);
		return NULL;
	}
	return nfs;
}

int test_nfs_truncate(const char *exp, const char *name, uint64_t size)
{
	struct nfs_context *nfs = mounted(exp);
	char path[300];
	int ret;

	if (!nfs)
		return -1;
	snprintf(path, sizeof(path), "/%s", name);
	ret = nfs_truncate(nfs, path, size);
	if (ret)
		fprintf(stderr, "test client: truncate %s: %s\n", path,
			nfs_get_error(nfs));
	nfs_destroy_context(nfs);
	return ret;
}

int test_nfs_replace(const char *exp, const char *name, uint64_t size)
{
	struct nfs_context *nfs = mounted(exp);
	struct nfsfh *fh;
	char path[300], tmp[320];
	int ret;

	if (!nfs)
		return -1;
	snprintf(path, sizeof(path), "/%s", name);
	snprintf(tmp, sizeof(tmp), "/%s.new-%d", name, getpid());
	ret = nfs_create(nfs, tmp, O_RDWR | O_CREAT | O_EXCL, 0644, &fh);
	if (!ret) {
		ret = nfs_ftruncate(nfs, fh, size);
		nfs_close(nfs, fh);
	}
	if (!ret)
		ret = nfs_rename(nfs, tmp, path);
	if (ret)
		fprintf(stderr, "test client: replace %s: %s\n", path,
			nfs_get_error(nfs));
	nfs_destroy_context(nfs);
	return ret;
}
