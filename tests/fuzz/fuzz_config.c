// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libFuzzer target for tnfs_config_parse(): the cfgstring comes from
 * whoever runs targetcli, so no string may crash the parser, leak, or
 * yield a configuration outside the documented ranges.  On success the
 * result must also survive a round trip through its canonical form; and
 * every allocation of the parse is made to fail in turn (tnfs_config.c is
 * built with strdup/strndup renamed to the hooks below).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tnfs_config.h"

#define ASSERT(c)							\
	do {								\
		if (!(c)) {						\
			fprintf(stderr, "fuzz_config: %s:%d: %s\n",	\
				__FILE__, __LINE__, #c);		\
			abort();					\
		}							\
	} while (0)

/* tnfs_config.c's strdup and strndup: allocation number fail_at fails */
char *fuzz_strdup(const char *s);
char *fuzz_strndup(const char *s, size_t n);
static int allocs, fail_at = -1;

char *fuzz_strdup(const char *s)
{
	return allocs++ == fail_at ? NULL : strdup(s);
}

char *fuzz_strndup(const char *s, size_t n)
{
	return allocs++ == fail_at ? NULL : strndup(s, n);
}

#define ERR_LEN	256
/* a short buffer, allocated to size: ASan sees any write past it */
#define SHORT_ERR_LEN	8

static bool valid_path(const char *p)
{
	int components = 0;
	const char *c;

	if (p[0] != '/')
		return false;
	for (c = p; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f || *c == '?')
			return false;
	for (c = p; *c == '/';) {
		const char *end = strchrnul(c + 1, '/');
		size_t n = (size_t)(end - c - 1);

		if (!n || (n == 1 && c[1] == '.') ||
		    (n == 2 && c[1] == '.' && c[2] == '.'))
			return false;
		components++;
		c = end;
	}
	return !*c && components >= 2;
}

static void check_valid(const struct tnfs_config *c, const char *in)
{
	ASSERT(c->server && c->server[0]);
	ASSERT(strspn(c->server, "abcdefghijklmnopqrstuvwxyz"
		      "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") ==
	       strlen(c->server));
	ASSERT(strstr(in, c->server));
	ASSERT(c->path && valid_path(c->path));
	ASSERT(strstr(in, c->path));
	ASSERT(c->uid <= UINT32_MAX - 1 && c->gid <= UINT32_MAX - 1);
	ASSERT(c->offset <= INT64_MAX);
	ASSERT(c->cache_max >= TNFS_MIN_CACHE_MAX && c->cache_max <= INT64_MAX);
	ASSERT(c->writeback || c->cache_max == TNFS_DEFAULT_CACHE_MAX);
	ASSERT(c->timeout <= 3600);
	ASSERT(c->nconnect >= 1 && c->nconnect <= TNFS_MAX_NCONNECT);
}

static void check_failed(int ret, const struct tnfs_config *c,
			 const char *err, size_t err_len)
{
	ASSERT(ret == -EINVAL || ret == -ENOMEM);
	ASSERT(!c->server && !c->path);
	ASSERT(memchr(err, '\0', err_len));
	ASSERT(ret != -EINVAL || err[0]);
}

/* Print @c in its canonical form, parse that, and compare. */
static void round_trip(const struct tnfs_config *c)
{
	char buf[8192], err[ERR_LEN];
	struct tnfs_config r;
	size_t len;
	int n;

	n = snprintf(buf, sizeof(buf), "nfs://%s%s?uid=%u&gid=%u&offset=%llu"
		     "&create=%d&cache=%s&timeout=%u&nconnect=%u", c->server,
		     c->path, c->uid, c->gid, (unsigned long long)c->offset,
		     c->create, c->writeback ? "writeback" : "writethrough",
		     c->timeout, c->nconnect);
	if (n < 0 || (size_t)n >= sizeof(buf) - 64)
		return;		/* only for inputs of several KiB */
	len = (size_t)n;
	if (c->nfsport)
		len += (size_t)sprintf(buf + len, "&nfsport=%u", c->nfsport);
	if (c->mountport)
		len += (size_t)sprintf(buf + len, "&mountport=%u",
				       c->mountport);
	if (c->writeback)
		sprintf(buf + len, "&cache_max=%llu",
			(unsigned long long)c->cache_max);

	if (tnfs_config_parse(buf, &r, err, sizeof(err))) {
		fprintf(stderr, "fuzz_config: canonical form '%s' rejected: "
			"%s\n", buf, err);
		abort();
	}
	ASSERT(!strcmp(r.server, c->server) && !strcmp(r.path, c->path));
	ASSERT(r.uid == c->uid && r.gid == c->gid && r.offset == c->offset);
	ASSERT(r.nfsport == c->nfsport && r.mountport == c->mountport);
	ASSERT(r.create == c->create && r.writeback == c->writeback);
	ASSERT(r.cache_max == c->cache_max && r.timeout == c->timeout);
	ASSERT(r.nconnect == c->nconnect);
	tnfs_config_free(&r);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct tnfs_config c, c2;
	char err[ERR_LEN], *err2, *str;
	int ret, ret2, i, n;

	/* a C string: an embedded NUL would only hide the rest */
	if (memchr(data, '\0', size))
		return -1;
	str = malloc(size + 1);
	err2 = malloc(SHORT_ERR_LEN);
	ASSERT(str && err2);
	memcpy(str, data, size);
	str[size] = '\0';

	memset(err, 0x55, sizeof(err));
	allocs = 0;
	ret = tnfs_config_parse(str, &c, err, sizeof(err));
	n = allocs;
	if (ret == 0) {
		check_valid(&c, str);
		round_trip(&c);
	} else {
		check_failed(ret, &c, err, sizeof(err));
	}

	/* the same verdict into a short message buffer, truncated */
	memset(err2, 0x55, SHORT_ERR_LEN);
	ret2 = tnfs_config_parse(str, &c2, err2, SHORT_ERR_LEN);
	ASSERT(ret2 == ret);
	if (ret2 == 0) {
		ASSERT(!strcmp(c2.server, c.server) &&
		       !strcmp(c2.path, c.path));
	} else {
		check_failed(ret2, &c2, err2, SHORT_ERR_LEN);
		ASSERT(ret2 != -EINVAL ||
		       !strncmp(err2, err, SHORT_ERR_LEN - 1));
	}
	tnfs_config_free(&c2);

	/* out of memory at each allocation: -ENOMEM, a message, no leak */
	for (i = 0; i < n; i++) {
		memset(err2, 0x55, SHORT_ERR_LEN);
		allocs = 0;
		fail_at = i;
		ret2 = tnfs_config_parse(str, &c2, err2, SHORT_ERR_LEN);
		fail_at = -1;
		ASSERT(ret2 == -ENOMEM);
		check_failed(ret2, &c2, err2, SHORT_ERR_LEN);
		ASSERT(err2[0]);
	}

	tnfs_config_free(&c);
	/* freeing twice is harmless: the pointers were cleared */
	tnfs_config_free(&c);
	free(err2);
	free(str);
	return 0;
}
