/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What every connection to an NFS server does to its socket before
 * connecting, the data path's and the open-time checks' alike.
 */
#ifndef TNFS_SOCKET_H
#define TNFS_SOCKET_H

/*
 * Bind @fd (of address @family) to a random port below 1024 when running
 * as root: servers exporting with "secure" (knfsd's default) refuse
 * others.  Best effort: without root, or with every port tried taken,
 * the socket stays unbound and the kernel picks a port at connect().
 * @seed is the caller's rand_r() state.
 */
void tnfs_bind_reserved(int fd, int family, unsigned int *seed);

#endif
