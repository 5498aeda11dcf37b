// SPDX-License-Identifier: LGPL-2.1-or-later
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "tnfs_peers.h"

/* servers counted; past this many a server goes uncounted (no hint) */
#define PEERS_MAX	64

struct tnfs_peer {
	struct sockaddr_storage addr;	/* port zeroed */
	unsigned int conns;
};

static pthread_mutex_t peers_lock = PTHREAD_MUTEX_INITIALIZER;
static struct tnfs_peer peers[PEERS_MAX];

/* the address without its port: a server's limit spans its ports */
static void host_of(const struct sockaddr_storage *a,
		    struct sockaddr_storage *h)
{
	memset(h, 0, sizeof(*h));
	h->ss_family = a->ss_family;
	if (a->ss_family == AF_INET6)
		memcpy(&((struct sockaddr_in6 *)h)->sin6_addr,
		       &((const struct sockaddr_in6 *)a)->sin6_addr,
		       sizeof(struct in6_addr));
	else if (a->ss_family == AF_INET)
		((struct sockaddr_in *)h)->sin_addr =
			((const struct sockaddr_in *)a)->sin_addr;
}

/* peers_lock held: @addr's entry, a free one when @make, or NULL */
static struct tnfs_peer *find(const struct sockaddr_storage *addr,
			      bool make)
{
	struct sockaddr_storage h;
	struct tnfs_peer *free_one = NULL;
	unsigned int i;

	host_of(addr, &h);
	for (i = 0; i < PEERS_MAX; i++) {
		if (peers[i].conns && !memcmp(&peers[i].addr, &h, sizeof(h)))
			return &peers[i];
		if (!peers[i].conns && !free_one)
			free_one = &peers[i];
	}
	if (!make || !free_one)
		return NULL;
	free_one->addr = h;
	return free_one;
}

void tnfs_peer_hold(const struct sockaddr_storage *addr)
{
	struct tnfs_peer *p;

	pthread_mutex_lock(&peers_lock);
	p = find(addr, true);
	if (p)
		p->conns++;
	pthread_mutex_unlock(&peers_lock);
}

void tnfs_peer_release(const struct sockaddr_storage *addr)
{
	struct tnfs_peer *p;

	pthread_mutex_lock(&peers_lock);
	p = find(addr, false);
	if (p && p->conns)
		p->conns--;
	pthread_mutex_unlock(&peers_lock);
}

unsigned int tnfs_peer_count(const struct sockaddr_storage *addr)
{
	struct tnfs_peer *p;
	unsigned int n;

	pthread_mutex_lock(&peers_lock);
	p = find(addr, false);
	n = p ? p->conns : 0;
	pthread_mutex_unlock(&peers_lock);
	return n;
}

const char *tnfs_peer_hint(const struct sockaddr_storage *addr, char *buf,
			   size_t len)
{
	unsigned int n = tnfs_peer_count(addr);

	if (n < TNFS_PEERS_MANY)
		snprintf(buf, len, "%s", "");
	else
		snprintf(buf, len, "; this process holds %u connections to "
			 "that server (one per device and nconnect=): past "
			 "its limit a server resets new ones (ganesha: "
			 "RPC_Max_Connections, 1024 by default) or closes its "
			 "oldest (knfsd: 20 per nfsd thread, plus 60); "
			 "share=1 puts the devices on shared ones", n);
	return buf;
}
