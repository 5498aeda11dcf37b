/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The leaf every layer shares, the plugin included: logging, the clock,
 * and the error-message helper.  It includes nothing of the project, so
 * any layer may use it without pulling in another.
 */
#ifndef TNFS_BASE_H
#define TNFS_BASE_H

#include <stddef.h>
#include <stdint.h>

enum tnfs_log_level { TNFS_LOG_ERR, TNFS_LOG_WARN, TNFS_LOG_INFO };

/* Where a layer's messages go: the plugin hands tcmu-runner's logger. */
typedef void (*tnfs_log_fn)(void *arg, enum tnfs_log_level level,
			    const char *msg);

struct tnfs_logger {
	tnfs_log_fn fn;
	void *arg;
};

void tnfs_log(const struct tnfs_logger *l, enum tnfs_log_level level,
	      const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/*
 * Write a message for the user into @err (@err_len bytes) and return
 * @ret: every function that fails with a reason ends with this.
 */
int tnfs_err(char *err, size_t err_len, int ret, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* CLOCK_MONOTONIC in milliseconds, and in microseconds. */
uint64_t tnfs_now_ms(void);
uint64_t tnfs_now_us(void);

#endif
