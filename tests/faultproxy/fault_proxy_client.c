// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * One command, one reply line over nfs_fault_proxy's unix control socket.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "fault_proxy_client.h"

#define CTL_TIMEOUT_SEC	5

static int send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int fault_proxy_cmd(const char *ctl_path, const char *cmd, char *reply,
		    size_t len)
{
	struct timeval tv = { .tv_sec = CTL_TIMEOUT_SEC };
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char head[3] = "";
	size_t got = 0, n = 0;
	int fd, ret;
	char c;

	if (reply && len)
		reply[0] = '\0';
	if (strlen(ctl_path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	strcpy(sun.sun_path, ctl_path);

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun))) {
		ret = -errno;
		goto out;
	}
	ret = send_all(fd, cmd, strlen(cmd));
	if (!ret)
		ret = send_all(fd, "\n", 1);
	if (ret)
		goto out;

	/* byte by byte: replies are short and this never reads past '\n' */
	for (;;) {
		ssize_t r = recv(fd, &c, 1, 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			ret = errno == EAGAIN ? -ETIMEDOUT : -errno;
			goto out;
		}
		if (r == 0) {
			ret = -ECONNRESET;
			goto out;
		}
		if (c == '\n')
			break;
		if (n < 2)
			head[n++] = c;
		if (reply && got + 1 < len) {
			reply[got++] = c;
			reply[got] = '\0';
		}
	}
	ret = strcmp(head, "ok") != 0;
out:
	close(fd);
	return ret;
}
