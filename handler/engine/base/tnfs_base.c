// SPDX-License-Identifier: LGPL-2.1-or-later
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "tnfs_base.h"

void tnfs_log(const struct tnfs_logger *l, enum tnfs_log_level level,
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

int tnfs_err(char *err, size_t err_len, int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, err_len, fmt, ap);
	va_end(ap);
	return ret;
}

uint64_t tnfs_now_ms(void)
{
	return tnfs_now_us() / 1000;
}

uint64_t tnfs_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}
