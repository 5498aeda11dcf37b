// SPDX-License-Identifier: LGPL-2.1-or-later
#include "tnfs_ratelimit.h"

bool tnfs_ratelimit(struct tnfs_ratelimit *rl, uint64_t now_ms,
		    unsigned int burst, unsigned int window_ms,
		    unsigned int *suppressed)
{
	if (!rl->window_ms || now_ms - rl->window_ms >= window_ms) {
		rl->window_ms = now_ms ? now_ms : 1;
		rl->used = 0;
	}
	if (rl->used >= burst) {
		rl->suppressed++;
		return false;
	}
	rl->used++;
	*suppressed = rl->suppressed;
	rl->suppressed = 0;
	return true;
}
