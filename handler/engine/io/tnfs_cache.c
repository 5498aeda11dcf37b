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
	return req->op == TNFS_IO_READ || !io->cache_bytes ||
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

bool tnfs_cache_dirty_upto(const struct tnfs_io *io, uint64_t seq)
{
	return io->dirty_head && io->dirty_head->seq <= seq;
}
