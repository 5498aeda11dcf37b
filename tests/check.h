/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A minimal check harness: count, report, and exit non-zero on failure. */
#ifndef CHECK_H
#define CHECK_H

#include <stdio.h>
#include <string.h>

/* one pair for the whole test program, whichever file counts */
int check_passed __attribute__((weak));
int check_failed __attribute__((weak));

#define CHECK(cond, ...)						\
	do {								\
		if (cond) {						\
			check_passed++;					\
		} else {						\
			check_failed++;					\
			fprintf(stderr, "FAIL %s:%d: ", __FILE__,	\
				__LINE__);				\
			fprintf(stderr, __VA_ARGS__);			\
			fputc('\n', stderr);				\
		}							\
	} while (0)

#define CHECK_CONTAINS(haystack, needle)				\
	CHECK(strstr((haystack), (needle)) != NULL,			\
	      "expected \"%s\" in \"%s\"", (needle), (haystack))

static inline int check_report(const char *name)
{
	printf("%s: %d passed, %d failed\n", name, check_passed,
	       check_failed);
	return check_failed || !check_passed ? 1 : 0;
}

#endif
