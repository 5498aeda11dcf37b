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

#include "nfs_engine_priv.h"

#define NFS_MAX_GRANULES	(1ull << 24)

int nfs_cache_init(struct nfs_engine *e)
{
	uint64_t granules;

	e->parked_tail = &e->parked;
	if (!e->writeback)
		return 0;
	e->granule_shift = 12;
	while ((e->dev_size >> e->granule_shift) >= NFS_MAX_GRANULES)
		e->granule_shift++;
	granules = (e->dev_size >> e->granule_shift) + 1;
	e->dirty_map = calloc(granules, 1);
	return e->dirty_map ? 0 : -ENOMEM;
}

void nfs_cache_free(struct nfs_engine *e)
{
	free(e->dirty_map);
	e->dirty_map = NULL;
}

static bool range_dirty(const struct nfs_engine *e, uint64_t pos,
			uint64_t len)
{
	uint64_t g, last;

	if (!len)
		return false;
	last = (pos + len - 1) >> e->granule_shift;
	for (g = pos >> e->granule_shift; g <= last; g++)
		if (e->dirty_map[g])
			return true;
	return false;
}

static void range_mark(struct nfs_engine *e, uint64_t pos, uint64_t len,
		       int delta)
{
	uint64_t g, last = (pos + len - 1) >> e->granule_shift;

	for (g = pos >> e->granule_shift; g <= last; g++)
		e->dirty_map[g] = (uint8_t)(e->dirty_map[g] + delta);
}

/*
 * The device grew (engine thread, between commands): a map for the new
 * size, rebuilt from the held chunks, as the granule may be coarser now.
 */
int nfs_cache_resize(struct nfs_engine *e, uint64_t dev_size)
{
	unsigned int shift = 12;
	uint8_t *map, *old = e->dirty_map;
	struct nfs_chunk *c;

	if (!e->writeback)
		return 0;
	while ((dev_size >> shift) >= NFS_MAX_GRANULES)
		shift++;
	map = calloc((dev_size >> shift) + 1, 1);
	if (!map)
		return -ENOMEM;
	e->dirty_map = map;
	e->granule_shift = shift;
	for (c = e->dirty_head; c; c = c->dnext)
		range_mark(e, c->pos, c->len, 1);
	free(old);
	return 0;
}

bool nfs_cache_may_start(struct nfs_engine *e, const struct nfs_io_req *req)
{
	if (!e->writeback || req->op == NFS_IO_FLUSH)
		return true;
	if (range_dirty(e, req->offset, req->length))
		return false;
	/* one request larger than the cache may run alone */
	return req->op == NFS_IO_READ || !e->cache_bytes ||
	       e->cache_bytes + req->length <= e->cache_max;
}

void nfs_cache_park(struct nfs_engine *e, struct nfs_io_req *req)
{
	req->next = NULL;
	*e->parked_tail = req;
	e->parked_tail = &req->next;
	STAT_ADD(&e->stats, parked, 1);
}

/* The oldest parked request, if it may start now; order is kept. */
struct nfs_io_req *nfs_cache_unpark(struct nfs_engine *e)
{
	struct nfs_io_req *req = e->parked;

	if (!req || !nfs_cache_may_start(e, req))
		return NULL;
	e->parked = req->next;
	if (!e->parked)
		e->parked_tail = &e->parked;
	return req;
}

void nfs_cache_hold(struct nfs_engine *e, struct nfs_chunk *c)
{
	c->cached = true;
	c->seq = ++e->seq;
	c->dprev = e->dirty_tail;
	c->dnext = NULL;
	if (e->dirty_tail)
		e->dirty_tail->dnext = c;
	else
		e->dirty_head = c;
	e->dirty_tail = c;
	range_mark(e, c->pos, c->len, 1);
	e->cache_bytes += c->len;
	STAT_ADD(&e->stats, cache_bytes, c->len);
}

void nfs_cache_release(struct nfs_engine *e, struct nfs_chunk *c)
{
	if (c->dprev)
		c->dprev->dnext = c->dnext;
	else
		e->dirty_head = c->dnext;
	if (c->dnext)
		c->dnext->dprev = c->dprev;
	else
		e->dirty_tail = c->dprev;
	range_mark(e, c->pos, c->len, -1);
	e->cache_bytes -= c->len;
	STAT_SUB(&e->stats, cache_bytes, c->len);
	free(c);
}

bool nfs_cache_dirty_upto(const struct nfs_engine *e, uint64_t seq)
{
	return e->dirty_head && e->dirty_head->seq <= seq;
}
