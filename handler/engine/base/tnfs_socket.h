/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What every connection to an NFS server does to its socket before
 * connecting, the data path's and the open-time checks' alike.
 */
#ifndef TNFS_SOCKET_H
#define TNFS_SOCKET_H

/* the reserved ports the engine takes: below them the well-known ones */
#define TNFS_RESERVED_LOW	600
#define TNFS_RESERVED_HIGH	1023

/*
 * Bind @fd (of address @family) to a port of TNFS_RESERVED_LOW..HIGH when
 * running as root: servers exporting with "secure" (knfsd's default)
 * refuse others.  A few random ports first, then every one in turn, so
 * that a host with many connections still finds the last free port.
 * 0: bound; 1: not root, left unbound; -EADDRINUSE: every port is taken
 * (left unbound: the kernel picks one at connect(), which such a server
 * refuses); another -errno: bind() failed so.  @seed is the caller's
 * rand_r() state.
 */
int tnfs_bind_reserved(int fd, int family, unsigned int *seed);

/* Is every port of TNFS_RESERVED_LOW..HIGH taken on this host (root)? */
int tnfs_reserved_exhausted(int family);

#endif
