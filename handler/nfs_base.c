// SPDX-License-Identifier: LGPL-2.1-or-later
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "nfs_base.h"

void nfs_log(const struct nfs_logger *l, enum nfs_log_level level,
	     const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!l || !l->fn)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	l->fn(l->arg, level, msg);
}

uint64_t nfs_now_ms(void)
{
	return nfs_now_us() / 1000;
}

uint64_t nfs_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}
