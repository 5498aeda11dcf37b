// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The count of connections this process holds to each server, and the
 * hint a refused connection's message gains from it (tnfs_peers.h).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "../check.h"
#include "tnfs_peers.h"

static struct sockaddr_storage v4(const char *ip, unsigned int port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

	memset(&ss, 0, sizeof(ss));
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)port);
	inet_pton(AF_INET, ip, &sin->sin_addr);
	return ss;
}

static struct sockaddr_storage v6(const char *ip, unsigned int port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons((uint16_t)port);
	inet_pton(AF_INET6, ip, &sin6->sin6_addr);
	return ss;
}

int main(void)
{
	struct sockaddr_storage nfs = v4("10.0.0.1", 2049);
	struct sockaddr_storage mnt = v4("10.0.0.1", 20048);
	struct sockaddr_storage other = v4("10.0.0.2", 2049);
	struct sockaddr_storage six = v6("fd00::1", 2049);
	char hint[TNFS_PEER_HINT_LEN];
	unsigned int i;

	CHECK(tnfs_peer_count(&nfs) == 0, "a fresh table counts %u",
	      tnfs_peer_count(&nfs));
	/* a server's limit spans its ports: counted by address alone */
	tnfs_peer_hold(&nfs);
	tnfs_peer_hold(&mnt);
	tnfs_peer_hold(&other);
	tnfs_peer_hold(&six);
	CHECK(tnfs_peer_count(&nfs) == 2, "10.0.0.1: %u, want 2",
	      tnfs_peer_count(&nfs));
	CHECK(tnfs_peer_count(&mnt) == 2, "10.0.0.1 by its MOUNT port: %u",
	      tnfs_peer_count(&mnt));
	CHECK(tnfs_peer_count(&other) == 1, "10.0.0.2: %u, want 1",
	      tnfs_peer_count(&other));
	CHECK(tnfs_peer_count(&six) == 1, "fd00::1: %u, want 1",
	      tnfs_peer_count(&six));

	/* few connections: a reset says nothing of a limit */
	CHECK(!tnfs_peer_hint(&nfs, hint, sizeof(hint))[0], "hint with 2: "
	      "%s", hint);
	for (i = 2; i < TNFS_PEERS_MANY; i++)
		tnfs_peer_hold(&nfs);
	tnfs_peer_hint(&nfs, hint, sizeof(hint));
	CHECK_CONTAINS(hint, "this process holds 64 connections to that "
		       "server");
	CHECK_CONTAINS(hint, "RPC_Max_Connections");
	CHECK_CONTAINS(hint, "knfsd: 20 per nfsd thread");
	CHECK_CONTAINS(hint, "share=1 puts the devices on shared ones");
	CHECK(!tnfs_peer_hint(&other, hint, sizeof(hint))[0], "another "
	      "server's hint: %s", hint);

	/* released to none, the entry is free again; a stray release */
	for (i = 0; i < TNFS_PEERS_MANY; i++)
		tnfs_peer_release(&nfs);
	tnfs_peer_release(&nfs);
	CHECK(tnfs_peer_count(&nfs) == 0, "released: %u",
	      tnfs_peer_count(&nfs));
	CHECK(tnfs_peer_count(&other) == 1, "10.0.0.2 kept: %u",
	      tnfs_peer_count(&other));
	tnfs_peer_release(&other);
	tnfs_peer_release(&six);
	CHECK(tnfs_peer_count(&six) == 0, "fd00::1: %u",
	      tnfs_peer_count(&six));
	return check_report("test_peers");
}
