// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Numbers the README, the man page and docs/configuration.md quote are
 * the code's: each check builds the phrase from the constant itself and
 * looks for it where the documentation states it (within a few lines of
 * an anchor).  A number changed in the code fails this test until the
 * documents follow; tests/unit/docs-checks.sh shows a stale document
 * fails it too.
 *
 *   test_docs [ROOT]	(default: the source tree)
 */
#include <stdio.h>
#include <stdlib.h>

#include "../check.h"
#include "tnfs_config.h"
#include "tnfs_transport.h"

#ifndef SOURCE_ROOT
#define SOURCE_ROOT "."
#endif

/* how far below its anchor a phrase may stand (a man page item) */
#define NEAR_LINES	12

static const char *root = SOURCE_ROOT;

static char *slurp(const char *rel)
{
	char path[512], *buf;
	long len;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	f = fopen(path, "r");
	if (!f) {
		perror(path);
		exit(2);
	}
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	buf = malloc((size_t)len + 1);
	if (!buf || fread(buf, 1, (size_t)len, f) != (size_t)len)
		exit(2);
	buf[len] = '\0';
	fclose(f);
	return buf;
}

/* @phrase within NEAR_LINES lines from the start of @anchor's line */
static void near(const char *rel, const char *anchor, const char *phrase)
{
	char *text = slurp(rel), *a = strstr(text, anchor), *end;
	int lines = 0;

	CHECK(a != NULL, "%s: no \"%s\"", rel, anchor);
	if (a) {
		while (a > text && a[-1] != '\n')
			a--;
		for (end = a; *end && lines < NEAR_LINES; end++)
			lines += *end == '\n';
		*end = '\0';
		CHECK(strstr(a, phrase) != NULL, "%s: \"%s\" not near \"%s\"",
		      rel, phrase, anchor);
	}
	free(text);
}

int main(int argc, char **argv)
{
	char p[128];

	if (argc > 1)
		root = argv[1];

	snprintf(p, sizeof(p), "(%u ms to %u s", TNFS_BACKOFF_MIN_MS,
		 TNFS_BACKOFF_MAX_MS / 1000);
	near("README.md", "reconnects back off", p);
	snprintf(p, sizeof(p), "from %u ms to %u s", TNFS_BACKOFF_MIN_MS,
		 TNFS_BACKOFF_MAX_MS / 1000);
	near("docs/tcmu-nfs.8", "Reconnects back off", p);

	snprintf(p, sizeof(p), "Default %u.", TNFS_DEFAULT_TIMEOUT);
	near("docs/tcmu-nfs.8", ".BI timeout=", p);
	snprintf(p, sizeof(p), "(default %u)", TNFS_DEFAULT_TIMEOUT);
	near("README.md", "| `timeout=SECONDS`", p);
	snprintf(p, sizeof(p), "| `timeout=SECONDS` | %u |",
		 TNFS_DEFAULT_TIMEOUT);
	near("docs/configuration.md", "| `timeout=SECONDS`", p);

	snprintf(p, sizeof(p), "Default %llu (%llu MiB).",
		 TNFS_DEFAULT_CACHE_MAX, TNFS_DEFAULT_CACHE_MAX >> 20);
	near("docs/tcmu-nfs.8", ".BI cache_max=", p);
	snprintf(p, sizeof(p), "(default %llu MiB)",
		 TNFS_DEFAULT_CACHE_MAX >> 20);
	near("README.md", "| `cache_max=BYTES`", p);
	snprintf(p, sizeof(p), "| `cache_max=BYTES` | %llu |",
		 TNFS_DEFAULT_CACHE_MAX);
	near("docs/configuration.md", "| `cache_max=BYTES`", p);

	snprintf(p, sizeof(p), "1 to %u.", TNFS_MAX_NCONNECT);
	near("docs/tcmu-nfs.8", ".BI nconnect= N\nTCP", p);
	snprintf(p, sizeof(p), "1 to %u (default 1)", TNFS_MAX_NCONNECT);
	near("README.md", "| `nconnect=N`", p);
	return check_report("test_docs");
}
