// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The transport's API (tnfs_transport.h): what the I/O path queues, what
 * the engine thread polls, and the timers.  Everything here runs on the
 * engine thread.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "tnfs_transport_priv.h"

#define CONNECT_TIMEOUT_MS	5000

void tnfs_transport_send(struct tnfs_transport *t, struct tnfs_rpc *rpc)
{
	uint64_t n;

	t->calls++;
	n = STAT_ADD(&t->stats, rpcs_in_flight, 1);
	STAT_PEAK(&t->stats, peak_rpcs_in_flight, n);
	STAT_ADD(&t->stats, rpcs, 1);
	rpc->conn = NULL;
	rpc->resend = false;
	rpc->internal = false;
	tnfs_rpc_list_append(&t->pending, &t->pending_tail, rpc);
}

static void conn_flush(struct tnfs_conn *c)
{
	int ret = tnfs_conn_flush(c);

	if (ret)
		tnfs_conn_drop(c, "send: %s", strerror(-ret));
}

void tnfs_transport_flush(struct tnfs_transport *t)
{
	unsigned int i;

	tnfs_dispatch_pending(t);
	for (i = 0; i < t->p.nconn; i++)
		if (t->conn[i].fd >= 0 && t->conn[i].state >= CONN_VERIFYING)
			conn_flush(&t->conn[i]);
}

static void conn_service(struct tnfs_conn *c, short rev)
{
	char why[192];
	int err = 0;
	socklen_t sl = sizeof(err);

	if (c->state == CONN_CONNECTING) {
		if (!(rev & (POLLOUT | POLLERR | POLLHUP)))
			return;
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &sl) < 0)
			err = errno;
		if (err) {
			tnfs_conn_drop(c, "connect: %s", strerror(err));
			return;
		}
		tnfs_conn_connected(c);
		return;
	}
	if ((rev & (POLLIN | POLLERR | POLLHUP)) &&
	    tnfs_conn_read(c, why, sizeof(why)) < 0) {
		tnfs_conn_drop(c, "%s", why);
		return;
	}
	if (c->fd >= 0 && (rev & POLLOUT))
		conn_flush(c);
}

unsigned int tnfs_transport_pollfds(struct tnfs_transport *t,
				    struct pollfd *pfd)
{
	unsigned int i, n = 0;

	for (i = 0; i < t->p.nconn; i++) {
		struct tnfs_conn *c = &t->conn[i];

		if (c->fd < 0)
			continue;
		pfd[n].fd = c->fd;
		pfd[n].events = c->state == CONN_CONNECTING ? POLLOUT :
				POLLIN | (c->unsent ? POLLOUT : 0);
		pfd[n].revents = 0;
		n++;
	}
	return n;
}

void tnfs_transport_service(struct tnfs_transport *t, const struct pollfd *pfd,
			    unsigned int n, uint64_t now_ms)
{
	unsigned int i, j;

	t->now_ms = now_ms;
	for (i = 0; i < n; i++) {
		if (!pfd[i].revents)
			continue;
		for (j = 0; j < t->p.nconn; j++)
			if (t->conn[j].fd == pfd[i].fd)
				break;
		if (j < t->p.nconn)
			conn_service(&t->conn[j], pfd[i].revents);
	}
}

/* ---- timers ---- */

static bool attempt_running(const struct tnfs_transport *t)
{
	unsigned int i;

	for (i = 0; i < t->p.nconn; i++)
		if (t->conn[i].state == CONN_CONNECTING ||
		    t->conn[i].state == CONN_VERIFYING)
			return true;
	return false;
}

void tnfs_transport_tick(struct tnfs_transport *t, uint64_t now_ms)
{
	unsigned int i;

	t->now_ms = now_ms;
	for (i = 0; i < t->p.nconn; i++) {
		struct tnfs_conn *c = &t->conn[i];

		if (c->state == CONN_CONNECTING &&
		    now_ms - c->attempt_ms >= CONNECT_TIMEOUT_MS)
			tnfs_conn_drop(c, "connect timed out");
		else if (c->head && c->state >= CONN_VERIFYING &&
			 now_ms - c->head->sent_ms >= (uint64_t)t->p.hang_ms) {
			STAT_ADD(&t->stats, conn_timeouts, 1);
			tnfs_conn_drop(c, "no reply to a %s in %" PRIu64 " ms",
				       tnfs_xdr_proc_name(c->head->call.proc),
				       now_ms - c->head->sent_ms);
		}
	}
	if (!t->failed && !attempt_running(t) &&
	    now_ms >= t->next_attempt_ms) {
		for (i = 0; i < t->p.nconn; i++) {
			if (t->conn[i].state == CONN_DOWN) {
				tnfs_conn_start(&t->conn[i]);
				break;
			}
		}
	}
	if (t->pending)
		tnfs_fail_pending(t);
}

int tnfs_transport_next_ms(const struct tnfs_transport *t, uint64_t now_ms)
{
	uint64_t next = UINT64_MAX;
	unsigned int i;
	bool down = false;

	for (i = 0; i < t->p.nconn; i++) {
		const struct tnfs_conn *c = &t->conn[i];

		if (c->state == CONN_DOWN)
			down = true;
		else if (c->state == CONN_CONNECTING &&
			 c->attempt_ms + CONNECT_TIMEOUT_MS < next)
			next = c->attempt_ms + CONNECT_TIMEOUT_MS;
		else if (c->head &&
			 c->head->sent_ms + (uint64_t)t->p.hang_ms < next)
			next = c->head->sent_ms + (uint64_t)t->p.hang_ms;
	}
	if (down && !t->failed && t->next_attempt_ms < next)
		next = t->next_attempt_ms;
	if (t->pending) {
		const struct tnfs_rpc *rpc;

		for (rpc = t->pending; rpc; rpc = rpc->next)
			if (rpc->deadline_ms && rpc->deadline_ms < next)
				next = rpc->deadline_ms;
		if (t->failed)
			next = now_ms;
	}
	if (next == UINT64_MAX)
		return -1;
	return next > now_ms ? (int)(next - now_ms > 60000 ? 60000 :
				     next - now_ms) : 0;
}

unsigned int tnfs_transport_calls(const struct tnfs_transport *t)
{
	return t->calls;
}

void tnfs_transport_get_stats(const struct tnfs_transport *t,
			      struct tnfs_transport_stats *s)
{
	tnfs_stats_copy(s, &t->stats, sizeof(*s));
}

void tnfs_transport_set_min_size(struct tnfs_transport *t, uint64_t min_size)
{
	t->p.min_size = min_size;
}

/* ---- life ---- */

struct tnfs_transport *
tnfs_transport_new(const struct tnfs_transport_params *p)
{
	struct tnfs_transport *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->p = *p;
	if (t->p.nconn < 1)
		t->p.nconn = 1;
	if (t->p.nconn > TNFS_MAX_CONN)
		t->p.nconn = TNFS_MAX_CONN;
	if (p->log)
		t->log = *p->log;
	/* XIDs of different devices and runs should not collide */
	t->seed = (unsigned int)tnfs_now_ms() ^ (unsigned int)(uintptr_t)t;
	t->next_xid = (uint32_t)rand_r(&t->seed) << 16 ^
		      (uint32_t)rand_r(&t->seed);
	if (tnfs_conns_init(t)) {
		tnfs_transport_free(t);
		return NULL;
	}
	return t;
}

void tnfs_transport_free(struct tnfs_transport *t)
{
	if (!t)
		return;
	tnfs_conns_free(t);
	free(t);
}
