// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Every key the cfgstring parser accepts is documented: in the man page
 * (a .TP item of its own under ".SS Keys", docs/tcmu-nfs.8) and in the
 * cfg_desc text targetcli shows (tnfs_config_desc); and the man page
 * documents no key the parser does not know.  The keys come from the
 * parser itself (tnfs_config_key_name), so a new key fails this test until
 * it is documented.
 *
 *   test_manpage [MANPAGE]	(default: the source tree's docs/tcmu-nfs.8)
 */
#include <ctype.h>
#include <stdlib.h>

#include "../check.h"
#include "tnfs_config.h"

#ifndef MANPAGE
#define MANPAGE "docs/tcmu-nfs.8"
#endif

#define MAX_TAGS 64

static char *tags[MAX_TAGS];	/* the .TP tag lines under ".SS Keys" */
static int nr_tags;

static bool is_ident(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

/* "NAME=" in @s as a word of its own: not "xNAME=", not "NAME_x=" */
static bool has_key(const char *s, const char *name)
{
	size_t n = strlen(name);
	const char *p;

	for (p = strstr(s, name); p; p = strstr(p + 1, name))
		if ((p == s || !is_ident(p[-1])) && p[n] == '=')
			return true;
	return false;
}

static int read_keys_section(const char *path)
{
	char line[1024];
	bool in_keys = false, want_tag = false;
	FILE *f = fopen(path, "r");

	if (!f) {
		perror(path);
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (!strncmp(line, ".SH", 3) || !strncmp(line, ".SS", 3)) {
			in_keys = !strcmp(line, ".SS Keys");
			want_tag = false;
			continue;
		}
		if (!in_keys)
			continue;
		if (!strcmp(line, ".TP")) {
			want_tag = true;
			continue;
		}
		if (want_tag && nr_tags < MAX_TAGS) {
			tags[nr_tags] = strdup(line);
			if (!tags[nr_tags]) {
				fclose(f);
				return -1;
			}
			nr_tags++;
		}
		want_tag = false;
	}
	fclose(f);
	return 0;
}

static bool parser_knows(const char *name, size_t len)
{
	const char *k;
	size_t i;

	for (i = 0; (k = tnfs_config_key_name(i)); i++)
		if (strlen(k) == len && !strncmp(k, name, len))
			return true;
	return false;
}

/* Every "word=" of a tag must be a key the parser accepts. */
static void check_tag_keys(const char *tag)
{
	const char *p = tag, *start;

	while (*p) {
		if (!isalpha((unsigned char)*p) ||
		    (p != tag && is_ident(p[-1]))) {
			p++;
			continue;
		}
		start = p;
		while (is_ident(*p))
			p++;
		if (*p == '=')
			CHECK(parser_knows(start, (size_t)(p - start)),
			      "man page documents '%.*s=', which the parser "
			      "does not accept: %s", (int)(p - start), start,
			      tag);
	}
}

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : MANPAGE;
	const char *name;
	size_t i;
	int t;

	if (read_keys_section(path))
		return 1;
	CHECK(nr_tags > 0, "%s: no .TP items under \".SS Keys\"", path);

	for (i = 0; (name = tnfs_config_key_name(i)); i++) {
		bool found = false;

		for (t = 0; t < nr_tags; t++)
			if (has_key(tags[t], name))
				found = true;
		CHECK(found, "%s: key '%s' has no .TP item under "
		      "\".SS Keys\"", path, name);
		CHECK(has_key(tnfs_config_desc, name),
		      "cfg_desc (tnfs_config_desc) does not mention '%s='",
		      name);
	}
	CHECK(i >= 10, "the parser lists only %zu keys", i);
	CHECK(tnfs_config_key_name(i + 1) == NULL, "no NULL past the end");

	for (t = 0; t < nr_tags; t++) {
		check_tag_keys(tags[t]);
		free(tags[t]);
	}
	return check_report("test_manpage");
}
