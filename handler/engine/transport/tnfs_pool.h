/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Connections per server, not per device (share=1): the devices of one
 * process that reach the same NFS server (address and port, reserved
 * port or not) share a pool of at most nconnect TCP connections, the
 * wires, run by one thread of the pool's own.
 *
 * A device's transport keeps everything it has (its calls, XIDs,
 * deadlines, verifier bookkeeping, the GETATTR check of each fresh
 * connection, its failure domain for a stale file) and speaks to the
 * pool through channels: one AF_UNIX stream per connection it would
 * have had, carrying the same RPC records.  The pool gives each call a
 * wire XID of its own, sends it on the wire its channel is bound to, and
 * hands the reply back with the device's XID, so a transport cannot tell
 * a channel from a TCP connection; only the cost differs (a copy and a
 * thread hop each way).
 *
 * Rules:
 * - A wire that fails (reset, closed, a reply that answers no call, an
 *   oversized record or one longer than any reply to its call can be,
 *   told from its first bytes by reading the call's procedure and count
 *   back from the record the pool sent, tnfs_xdr4_call_reply_max,
 *   silence past TNFS_SILENCE_MS with calls on it and
 *   its NULL probe unanswered, connect failing or timing out) closes
 *   every channel bound to it: each device sees its connection lost and
 *   sends what it carried again, as after a TCP connection's loss.  Its
 *   socket is reset, so nothing queued for it leaves afterwards.
 * - A channel its device closes takes its calls not yet written off the
 *   wire: a call the device gave up on never reaches the server after
 *   the device has sent it elsewhere.  The late replies to its calls
 *   are recognised and thrown away.
 * - NFSv4.1 devices keep their own session (their client ID is shared
 *   per principal: tnfs_client4.h): each binds the channel to its
 *   session as it would a connection of its own.  The
 *   pool never looks inside a call; a record from the server that is no
 *   reply to one of its calls (a callback: no session asks for a back
 *   channel) drops the wire, as a reply that answers no call does.
 * - Wire attempts back off as a transport's do (TNFS_BACKOFF_MIN_MS to
 *   TNFS_BACKOFF_MAX_MS, with jitter), whatever the number of devices.
 */
#ifndef TNFS_POOL_H
#define TNFS_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

struct tnfs_pool;

struct tnfs_pool_params {
	struct sockaddr_storage addr;	/* the server's NFS port */
	socklen_t addr_len;
	bool resvport;			/* wires from a port below 1024 */
	unsigned int nconn;		/* wires at most (the largest asked) */
	size_t record_max;		/* largest RPC record, either way */
	/*
	 * busy_poll=: after traffic, the pool's thread looks at its
	 * streams this long without sleeping (the largest asked), so that
	 * the hop through it costs no wake-up; 0: it sleeps at once.
	 */
	unsigned int busy_poll_us;
};

/*
 * The pool for @p's server (made, with its thread, for the first
 * device): one reference.  NULL and errno set when it cannot be made.
 */
struct tnfs_pool *tnfs_pool_get(const struct tnfs_pool_params *p);

/* The reference dropped; the last one stops the thread and frees all. */
void tnfs_pool_put(struct tnfs_pool *pool);

/*
 * A new channel: the device's end of it (non-blocking, close-on-exec),
 * writable at once, bound to a wire that is up or is being connected.
 * -errno when none can be made.  Thread safe.
 */
int tnfs_pool_channel(struct tnfs_pool *pool);

/*
 * Why the pool last closed channels (a wire's failure), for the message
 * of a device whose channel it closed: "" when it never did.
 */
void tnfs_pool_cause(struct tnfs_pool *pool, char *buf, size_t len);

/* Wires open now (connected or connecting), for tests and benchmarks. */
unsigned int tnfs_pool_wires(struct tnfs_pool *pool);

/* Pools in this process, for tests. */
unsigned int tnfs_pool_count(void);

#endif
