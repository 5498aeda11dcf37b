// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tnfs_socket.h"

/* ports 600-1023: below them are the well-known ones others may want */
#define RESERVED_LOW	600
#define RESERVED_TRIES	32

void tnfs_bind_reserved(int fd, int family, unsigned int *seed)
{
	struct sockaddr_storage ss;
	unsigned int i, port;

	if (geteuid() != 0)
		return;
	for (i = 0; i < RESERVED_TRIES; i++) {
		port = RESERVED_LOW +
		       (unsigned int)rand_r(seed) % (1024 - RESERVED_LOW);
		memset(&ss, 0, sizeof(ss));
		ss.ss_family = (sa_family_t)family;
		if (family == AF_INET6)
			((struct sockaddr_in6 *)&ss)->sin6_port =
				htons((uint16_t)port);
		else
			((struct sockaddr_in *)&ss)->sin_port =
				htons((uint16_t)port);
		if (!bind(fd, (struct sockaddr *)&ss, family == AF_INET6 ?
			  sizeof(struct sockaddr_in6) :
			  sizeof(struct sockaddr_in)))
			return;
		if (errno != EADDRINUSE)
			return;
	}
}
