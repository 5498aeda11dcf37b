/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * How many connections this process holds to each NFS server (by its
 * address, any port).  A server at its connection limit (ganesha's
 * RPC_Max_Connections is 1 024 by default) resets every new connection,
 * and a message that then blames the network, or the server being down,
 * sends the user the wrong way: with the count it can say what it is.
 */
#ifndef TNFS_PEERS_H
#define TNFS_PEERS_H

#include <stddef.h>
#include <sys/socket.h>

/* From this many connections to one server a reset names the limit. */
#define TNFS_PEERS_MANY		64
/* room for tnfs_peer_hint()'s text */
#define TNFS_PEER_HINT_LEN	320

/* A connection to @addr opened (hold) or closed (release).  Thread safe. */
void tnfs_peer_hold(const struct sockaddr_storage *addr);
void tnfs_peer_release(const struct sockaddr_storage *addr);

/* The connections held now to @addr. */
unsigned int tnfs_peer_count(const struct sockaddr_storage *addr);

/*
 * For a message on a connection to @addr that failed or was reset: ""
 * or, with TNFS_PEERS_MANY or more held, "; this process holds N ...",
 * in @buf.  Returns @buf.
 */
const char *tnfs_peer_hint(const struct sockaddr_storage *addr, char *buf,
			   size_t len);

#endif
