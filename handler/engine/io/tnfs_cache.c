// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Bookkeeping of the write-back cache: which data is held until stable,
 * how much, and who waits for it.
 *
 * Any read or write that overlaps held data waits until that data is
 * stable.  A read could be served from the copy instead, but waiting
 * costs one COMMIT and keeps a simple invariant: at most one version of a
 * byte is held, so a re-send after a server restart can never put older
 * data over newer.  Overlaps are found with a map of counters, one per
 * granule of the device (4 KiB, coarser for huge devices, never more than
 * 16 MiB of map): a coarse granule only makes some requests wait longer.
 */
#include <errno.h>
#include <stdlib.h>

#include "tnfs_cache.h"
#include "tnfs_ratelimit.h"
#include "tnfs_status.h"

#define TNFS_MAX_GRANULES	(1ull << 24)

int tnfs_cache_init(struct tnfs_io *io)
{
	uint64_t granules;

	io->parked_tail = &io->parked;
	if (!io->writeback)
		return 0;
	io->granule_shift = 12;
	while ((io->dev_size >> io->granule_shift) >= TNFS_MAX_GRANULES)
		io->granule_shift++;
	granules = (io->dev_size >> io->granule_shift) + 1;
	io->dirty_map = calloc(granules, 1);
	return io->dirty_map ? 0 : -ENOMEM;
}

void tnfs_cache_free(struct tnfs_io *io)
{
	free(io->dirty_map);
	io->dirty_map = NULL;
}

static bool range_dirty(const struct tnfs_io *io, uint64_t pos,
			uint64_t len)
{
	uint64_t g, last;

	if (!len)
		return false;
	last = (pos + len - 1) >> io->granule_shift;
	for (g = pos >> io->granule_shift; g <= last; g++)
		if (io->dirty_map[g])
			return true;
	return false;
}

static void range_mark(struct tnfs_io *io, uint64_t pos, uint64_t len,
		       int delta)
{
	uint64_t g, last = (pos + len - 1) >> io->granule_shift;

	for (g = pos >> io->granule_shift; g <= last; g++)
		io->dirty_map[g] = (uint8_t)(io->dirty_map[g] + delta);
}

/*
 * The device grew (engine thread, between commands): a map for the new
 * size, rebuilt from the held chunks, as the granule may be coarser now.
 */
int tnfs_cache_resize(struct tnfs_io *io, uint64_t dev_size)
{
	unsigned int shift = 12;
	uint8_t *map, *old = io->dirty_map;
	struct tnfs_chunk *c;

	if (!io->writeback)
		return 0;
	while ((dev_size >> shift) >= TNFS_MAX_GRANULES)
		shift++;
	map = calloc((dev_size >> shift) + 1, 1);
	if (!map)
		return -ENOMEM;
	io->dirty_map = map;
	io->granule_shift = shift;
	for (c = io->dirty_head; c; c = c->dnext)
		range_mark(io, c->pos, c->len, 1);
	free(old);
	return 0;
}

bool tnfs_cache_may_start(struct tnfs_io *io, const struct tnfs_io_req *req)
{
	if (!io->writeback || req->op == TNFS_IO_FLUSH)
		return true;
	if (range_dirty(io, req->offset, req->length))
		return false;
	/* one request larger than the cache may run alone */
	return req->op != TNFS_IO_WRITE || !io->cache_bytes ||
	       io->cache_bytes + req->length <= io->cache_max;
}

void tnfs_cache_park(struct tnfs_io *io, struct tnfs_io_req *req)
{
	req->next = NULL;
	*io->parked_tail = req;
	io->parked_tail = &req->next;
	STAT_ADD(&io->stats, parked, 1);
}

/* The oldest parked request, if it may start now; order is kept. */
struct tnfs_io_req *tnfs_cache_unpark(struct tnfs_io *io)
{
	struct tnfs_io_req *req = io->parked;

	if (!req || !tnfs_cache_may_start(io, req))
		return NULL;
	io->parked = req->next;
	if (!io->parked)
		io->parked_tail = &io->parked;
	return req;
}

void tnfs_cache_hold(struct tnfs_io *io, struct tnfs_chunk *c)
{
	c->cached = true;
	c->seq = ++io->seq;
	c->dprev = io->dirty_tail;
	c->dnext = NULL;
	if (io->dirty_tail)
		io->dirty_tail->dnext = c;
	else
		io->dirty_head = c;
	io->dirty_tail = c;
	range_mark(io, c->pos, c->len, 1);
	io->cache_bytes += c->len;
	STAT_ADD(&io->stats, cache_bytes, c->len);
}

void tnfs_cache_release(struct tnfs_io *io, struct tnfs_chunk *c)
{
	if (c->dprev)
		c->dprev->dnext = c->dnext;
	else
		io->dirty_head = c->dnext;
	if (c->dnext)
		c->dnext->dprev = c->dprev;
	else
		io->dirty_tail = c->dprev;
	range_mark(io, c->pos, c->len, -1);
	io->cache_bytes -= c->len;
	STAT_SUB(&io->stats, cache_bytes, c->len);
	free(c);
}

bool tnfs_cache_lost(const struct tnfs_io *io)
{
	return io->lost_list || io->lost_untracked;
}

bool tnfs_cache_dirty_upto(const struct tnfs_io *io, uint64_t seq)
{
	return io->dirty_head && io->dirty_head->seq <= seq;
}

/* ---- acknowledged data the server never took ---- */

/* lost ranges: this many lines per 10 s at most */
#define LOST_LOG_BURST		5
#define LOST_LOG_WINDOW_MS	10000

static void lost_account(struct tnfs_io *io)
{
	const struct tnfs_lost *l;
	uint64_t bytes = 0;

	for (l = io->lost_list; l; l = l->next)
		bytes += l->len;
	STAT_SET(&io->stats, lost_bytes, bytes);
}

/* Add [pos, pos + len) to the lost ranges, merged with its neighbours. */
static void lost_add(struct tnfs_io *io, uint64_t pos, uint64_t len)
{
	struct tnfs_lost **pp, *l, *n = malloc(sizeof(*n));
	uint64_t end = pos + len;

	if (!n) {
		/* not recorded, but still reported: flushes fail for good */
		io->lost_untracked = true;
		return;
	}
	for (pp = &io->lost_list; (l = *pp); ) {
		if (l->pos + l->len < pos || l->pos > end) {
			pp = &l->next;
			continue;
		}
		/* touches or overlaps: swallow it */
		if (l->pos < pos)
			pos = l->pos;
		if (l->pos + l->len > end)
			end = l->pos + l->len;
		*pp = l->next;
		free(l);
	}
	n->pos = pos;
	n->len = end - pos;
	n->next = io->lost_list;
	io->lost_list = n;
}

void tnfs_cache_lose(struct tnfs_io *io, struct tnfs_chunk *c, int status)
{
	unsigned int more;

	lost_add(io, c->pos, c->len);
	STAT_ADD(&io->stats, lost_bytes_total, c->len);
	lost_account(io);
	if (tnfs_ratelimit(&io->lost_log, io->now_ms, LOST_LOG_BURST,
			   LOST_LOG_WINDOW_MS, &more))
		tnfs_log(&io->log, TNFS_LOG_ERR, "acknowledged write at "
			 "%llu+%u could not be made stable: %s; %llu "
			 "acknowledged bytes are not on the server, and every "
			 "SYNCHRONIZE CACHE fails until they are written again "
			 "(%u more such writes not logged)",
			 (unsigned long long)c->pos, c->len,
			 tnfs_status_name(status),
			 (unsigned long long)STAT_GET(&io->stats, lost_bytes),
			 more);
	tnfs_cache_release(io, c);
}

void tnfs_cache_heal(struct tnfs_io *io, uint64_t pos, uint64_t len)
{
	struct tnfs_lost **pp, *l, *tail;
	uint64_t end = pos + len, lend;

	for (pp = &io->lost_list; (l = *pp); ) {
		lend = l->pos + l->len;
		if (lend <= pos || l->pos >= end) {
			pp = &l->next;
			continue;
		}
		if (l->pos < pos && lend > end) {
			/* a hole in the middle: two ranges */
			tail = malloc(sizeof(*tail));
			if (!tail) {
				pp = &l->next;	/* kept whole: still lost */
				continue;
			}
			tail->pos = end;
			tail->len = lend - end;
			tail->next = l->next;
			l->len = pos - l->pos;
			l->next = tail;
			pp = &tail->next;
		} else if (l->pos < pos) {
			l->len = pos - l->pos;
			pp = &l->next;
		} else if (lend > end) {
			l->len = lend - end;
			l->pos = end;
			pp = &l->next;
		} else {
			*pp = l->next;
			free(l);
		}
	}
	lost_account(io);
	if (!io->lost_list && !io->lost_untracked)
		tnfs_log(&io->log, TNFS_LOG_INFO, "every acknowledged write "
			 "that was lost has been written over: SYNCHRONIZE "
			 "CACHE succeeds again");
}

void tnfs_cache_forget_lost(struct tnfs_io *io)
{
	struct tnfs_lost *l;

	if (tnfs_cache_lost(io))
		tnfs_log(&io->log, TNFS_LOG_ERR, "closing with %llu "
			 "acknowledged bytes never written to the server",
			 (unsigned long long)STAT_GET(&io->stats, lost_bytes));
	while ((l = io->lost_list)) {
		io->lost_list = l->next;
		free(l);
	}
}
