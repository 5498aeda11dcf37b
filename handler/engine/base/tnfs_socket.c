// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tnfs_socket.h"

#define RESERVED_COUNT	(TNFS_RESERVED_HIGH + 1 - TNFS_RESERVED_LOW)
#define RANDOM_TRIES	32

static int bind_port(int fd, int family, unsigned int port)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	ss.ss_family = (sa_family_t)family;
	if (family == AF_INET6)
		((struct sockaddr_in6 *)&ss)->sin6_port =
			htons((uint16_t)port);
	else
		((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)port);
	if (!bind(fd, (struct sockaddr *)&ss, family == AF_INET6 ?
		  sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in)))
		return 0;
	return -errno;
}

int tnfs_bind_reserved(int fd, int family, unsigned int *seed)
{
	unsigned int i, start;
	int ret;

	if (geteuid() != 0)
		return 1;
	/* random first: connections of one host spread over the range */
	for (i = 0; i < RANDOM_TRIES; i++) {
		ret = bind_port(fd, family, TNFS_RESERVED_LOW +
				(unsigned int)rand_r(seed) % RESERVED_COUNT);
		if (ret != -EADDRINUSE)
			return ret;
	}
	/* a crowded host: each port once (a bind is a cheap system call) */
	start = (unsigned int)rand_r(seed) % RESERVED_COUNT;
	for (i = 0; i < RESERVED_COUNT; i++) {
		ret = bind_port(fd, family, TNFS_RESERVED_LOW +
				(start + i) % RESERVED_COUNT);
		if (ret != -EADDRINUSE)
			return ret;
	}
	return -EADDRINUSE;
}

int tnfs_reserved_exhausted(int family)
{
	unsigned int seed = (unsigned int)getpid();
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0), ret;

	if (fd < 0)
		return 0;
	ret = tnfs_bind_reserved(fd, family, &seed);
	close(fd);
	return ret == -EADDRINUSE;
}
