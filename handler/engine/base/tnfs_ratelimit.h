/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Log lines a misbehaving server can cause (a connection lost, a call
 * failed) are bounded: whatever the server sends, a device writes at
 * most a few lines per window, and the next line allowed says how many
 * were left out.
 */
#ifndef TNFS_RATELIMIT_H
#define TNFS_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

struct tnfs_ratelimit {
	uint64_t window_ms;		/* start of the current window */
	unsigned int used;		/* lines allowed in it */
	unsigned int suppressed;	/* refused since the last allowed */
};

/*
 * May a line be logged at @now_ms?  At most @burst per @window_ms.  When
 * it may, *@suppressed is the number refused since the last one allowed
 * (for the line to say), and the count starts again.
 */
bool tnfs_ratelimit(struct tnfs_ratelimit *rl, uint64_t now_ms,
		    unsigned int burst, unsigned int window_ms,
		    unsigned int *suppressed);

#endif
