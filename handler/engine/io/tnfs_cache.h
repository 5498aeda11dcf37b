/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The write-back cache's bookkeeping (tnfs_cache.c), for tnfs_io.c: what
 * is held until stable, how much, and who waits for it.
 */
#ifndef TNFS_CACHE_H
#define TNFS_CACHE_H

#include "tnfs_io.h"

int tnfs_cache_init(struct tnfs_io *io);
void tnfs_cache_free(struct tnfs_io *io);
int tnfs_cache_resize(struct tnfs_io *io, uint64_t dev_size);
/* Can @req start now, or must it wait for memory or a dirty range? */
bool tnfs_cache_may_start(struct tnfs_io *io, const struct tnfs_io_req *req);
void tnfs_cache_park(struct tnfs_io *io, struct tnfs_io_req *req);
struct tnfs_io_req *tnfs_cache_unpark(struct tnfs_io *io);
void tnfs_cache_hold(struct tnfs_io *io, struct tnfs_chunk *c);
void tnfs_cache_release(struct tnfs_io *io, struct tnfs_chunk *c);
/*
 * Acknowledged @c could not be made stable (@status): it is released,
 * and its range stays lost (every flush fails) until written over.
 */
void tnfs_cache_lose(struct tnfs_io *io, struct tnfs_chunk *c, int status);
/* @len bytes at @pos are stable: no longer lost, if they were. */
void tnfs_cache_heal(struct tnfs_io *io, uint64_t pos, uint64_t len);
/* Is acknowledged data lost (so that a flush must fail)? */
bool tnfs_cache_lost(const struct tnfs_io *io);
/* Forget the lost ranges (the device closes). */
void tnfs_cache_forget_lost(struct tnfs_io *io);
/* Is any cached chunk with seq <= @seq not yet stable? */
bool tnfs_cache_dirty_upto(const struct tnfs_io *io, uint64_t seq);

#endif
