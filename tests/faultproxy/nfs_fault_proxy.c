// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * nfs_fault_proxy: a FAKE, fault-injecting TCP proxy for tests only.
 *
 * It sits between an NFSv3 client and the NFS port of a real server and
 * forwards ONC RPC messages (reassembled from their record marking) in
 * both directions, one upstream connection per client connection.  On
 * command, over a unix control socket, it cuts connections, delays
 * replies, stalls, blackholes, or plays a server that lost its unstable
 * data: it swallows UNSTABLE WRITEs, answers them itself with verifier A
 * and then answers the next COMMIT with verifier B, which is what a client
 * sees when the server rebooted between the two.  A real server cannot be
 * made to do that on demand; that is the only reason this exists.
 *
 * One-shot faults (cut-reply, cut-call, stall-reply, corrupt-reply,
 * error-reply, short-write) pick their message by NFSv3 procedure; a
 * reply carries only its XID, so each connection remembers the procedure
 * of every call it forwarded until the reply to it comes back.
 *
 * One thread, one poll loop; nothing is printed on the data path unless
 * --verbose.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "fault_proxy_client.h"

#define MAX_RECORD	(16u << 20)	/* largest RPC message we take */
#define READ_CHUNK	(64u << 10)
#define MAX_QUEUED	(8u << 20)	/* stop reading a side past this */
#define CTL_LINE_MAX	256
#define MAX_DELAY_MS	600000u
#define LAST_FRAG	0x80000000u

#define RPC_CALL	0
#define RPC_REPLY	1
#define RPC_VERSION	2
#define MAX_AUTH_BYTES	400
#define NFS_PROGRAM	100003
#define NFS_V3		3
#define NFSPROC3_NULL	0
#define NFSPROC3_GETATTR 1
#define NFSPROC3_READ	6
#define NFSPROC3_WRITE	7
#define NFSPROC3_COMMIT	21
#define NFSPROC3_MAX	21
#define PROC_ANY	UINT32_MAX	/* a fault matching every procedure */
#define NFS3_FHSIZE	64
#define NFS3_UNSTABLE	0
#define NFS3_VERF_LEN	8
#define PRE_OP_ATTR_LEN	24		/* wcc_attr */
#define FATTR3_LEN	84

#define CORRUPT_LEN_ADD	4096u		/* added to a corrupted record mark */
#define CORRUPT_XID	0x5a5a5a5au	/* XORed into a corrupted XID */
#define VERF_FLIP	0xa5u		/* XORed into every verifier byte */
#define MAX_PENDING	65536u		/* calls remembered per connection */
#define RESET_DRAIN_MS	1000u		/* longest wait for a cut to drain */

/* what happens when the bytes before msg.stop_at have been sent */
enum stop { STOP_NONE, STOP_CUT, STOP_STALL };

/* one RPC message, record-marked as a single last fragment */
struct msg {
	struct msg *next;
	uint64_t due;		/* CLOCK_MONOTONIC ms: not sent before */
	size_t len;		/* including the 4-byte record mark */
	enum stop stop;
	size_t stop_at;		/* <= len */
	unsigned int stall_ms;
	unsigned char data[];
};

struct queue {
	struct msg *head, *tail;
	size_t off;		/* bytes of head already sent */
	size_t bytes;		/* queued, for back-pressure */
	uint64_t hold_until;	/* stall-reply: nothing sent before */
};

/* a forwarded NFSv3 call whose reply has not come back yet */
struct pending {
	uint32_t xid, proc;
	bool halve;		/* short-write picked this WRITE */
};

/* bytes read but not yet a complete record */
struct inbuf {
	unsigned char *p;
	size_t len, cap;
};

struct pair {
	struct pair *prev, *next;
	unsigned int id;
	int cfd, ufd;
	bool connecting;	/* upstream connect() in progress */
	bool dead;
	bool resetting;		/* cut: waiting for drain_fd to drain */
	int drain_fd;
	uint64_t reset_by;
	struct inbuf from_client, from_upstream;
	struct queue to_client, to_upstream;
	struct pending *pend;
	size_t npend, pend_cap;
};

struct ctl_conn {
	struct ctl_conn *next;
	int fd;
	bool dead;
	size_t len;
	char line[CTL_LINE_MAX];
};

enum slot_kind { SLOT_LISTEN, SLOT_CTL_LISTEN, SLOT_CTL, SLOT_CLIENT,
		 SLOT_UPSTREAM };

struct slot {
	enum slot_kind kind;
	void *ptr;
};

struct counters {
	uint64_t calls, replies, writes, commits, swallowed, faked;
	uint64_t accepted, fired;
};

enum fault_kind { F_CUT_REPLY, F_CUT_CALL, F_STALL_REPLY, F_CORRUPT_REPLY,
		  F_ERROR_REPLY, F_KINDS };

enum corrupt { CORRUPT_LENGTH, CORRUPT_XID_FIELD };

/* one armed one-shot fault; arming the same kind again replaces it */
struct fault {
	bool armed;
	uint32_t proc;		/* or PROC_ANY */
	unsigned long bytes;	/* cut, stall: bytes let through */
	unsigned int ms;	/* stall */
	uint32_t arg;		/* corrupt: enum corrupt; error: nfsstat3 */
};

struct proxy {
	int lfd, ctl_fd;
	unsigned int port;
	struct sockaddr_in upstream;
	const char *ctl_path, *pidfile;
	bool verbose, quit;
	struct pair *pairs;
	unsigned int npairs, next_id;
	struct ctl_conn *ctls;
	unsigned int nctls;
	unsigned int delay_ms;
	bool stalled;
	uint64_t blackhole_until;	/* 0: no blackhole */
	bool armed;
	bool lose_stable;	/* armed: DATA_SYNC/FILE_SYNC ones too */
	struct fault faults[F_KINDS];
	bool short_write;	/* armed: halve the next WRITE's count */
	bool verf_flip;		/* fired: flip WRITE and COMMIT verifiers */
	struct counters n;
	struct pollfd *pfd;
	struct slot *slots;
	size_t slots_cap;
};

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
	got_signal = sig;
}

static void vlog(const struct proxy *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void vlog(const struct proxy *p, const char *fmt, ...)
{
	va_list ap;

	if (!p->verbose)
		return;
	va_start(ap, fmt);
	fputs("nfs_fault_proxy: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint32_t get_be32(const unsigned char *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
	       (uint32_t)b[2] << 8 | b[3];
}

static void put_be32(unsigned char *b, uint32_t v)
{
	b[0] = v >> 24;
	b[1] = v >> 16;
	b[2] = v >> 8;
	b[3] = v;
}

/* ---- XDR decoding of the little we look at ---- */

struct xdr {
	const unsigned char *p;
	size_t len, pos;
};

static bool xdr_u32(struct xdr *x, uint32_t *v)
{
	if (x->len - x->pos < 4)
		return false;
	*v = get_be32(x->p + x->pos);
	x->pos += 4;
	return true;
}

static bool xdr_u64(struct xdr *x, uint64_t *v)
{
	uint32_t hi, lo;

	if (!xdr_u32(x, &hi) || !xdr_u32(x, &lo))
		return false;
	*v = (uint64_t)hi << 32 | lo;
	return true;
}

static bool xdr_skip(struct xdr *x, size_t n)
{
	if (x->len - x->pos < n)
		return false;
	x->pos += n;
	return true;
}

/* pre_op_attr or post_op_attr: a bool, then @len bytes if it is TRUE */
static bool xdr_skip_optional(struct xdr *x, size_t len)
{
	uint32_t present;

	return xdr_u32(x, &present) && (!present || xdr_skip(x, len));
}

/* variable-length opaque of at most @max bytes, padded to 4 */
static bool xdr_skip_opaque(struct xdr *x, uint32_t max, uint32_t *len)
{
	size_t padded;
	uint32_t n;

	if (!xdr_u32(x, &n) || n > max)
		return false;
	padded = ((size_t)n + 3) & ~(size_t)3;
	if (x->len - x->pos < padded)
		return false;
	x->pos += padded;
	if (len)
		*len = n;
	return true;
}

struct rpc_call {
	uint32_t xid, prog, vers, proc;
	struct xdr args;	/* positioned at the procedure's arguments */
};

static bool parse_call(const struct msg *m, struct rpc_call *c)
{
	struct xdr *x = &c->args;
	uint32_t type, rpcvers, flavor;

	x->p = m->data + 4;
	x->len = m->len - 4;
	x->pos = 0;
	return xdr_u32(x, &c->xid) && xdr_u32(x, &type) && type == RPC_CALL &&
	       xdr_u32(x, &rpcvers) && rpcvers == RPC_VERSION &&
	       xdr_u32(x, &c->prog) && xdr_u32(x, &c->vers) &&
	       xdr_u32(x, &c->proc) &&
	       xdr_u32(x, &flavor) &&		/* cred */
	       xdr_skip_opaque(x, MAX_AUTH_BYTES, NULL) &&
	       xdr_u32(x, &flavor) &&		/* verf */
	       xdr_skip_opaque(x, MAX_AUTH_BYTES, NULL);
}

struct write_args {
	uint64_t offset;
	uint32_t count, stable, data_len;
};

static bool parse_write(struct xdr *x, struct write_args *w)
{
	return xdr_skip_opaque(x, NFS3_FHSIZE, NULL) &&
	       xdr_u64(x, &w->offset) && xdr_u32(x, &w->count) &&
	       xdr_u32(x, &w->stable) &&
	       xdr_skip_opaque(x, MAX_RECORD, &w->data_len);
}

/*
 * An accepted, successful reply: @x left at its results.  Positions in
 * @x are offsets into m->data + 4.
 */
static bool parse_reply(const struct msg *m, struct xdr *x)
{
	uint32_t xid, type, stat, flavor;

	x->p = m->data + 4;
	x->len = m->len - 4;
	x->pos = 0;
	return xdr_u32(x, &xid) && xdr_u32(x, &type) && type == RPC_REPLY &&
	       xdr_u32(x, &stat) && stat == 0 &&	/* MSG_ACCEPTED */
	       xdr_u32(x, &flavor) &&
	       xdr_skip_opaque(x, MAX_AUTH_BYTES, NULL) &&
	       xdr_u32(x, &stat) && stat == 0;		/* SUCCESS */
}

/* WRITE3resok or COMMIT3resok: @x left just past the wcc_data */
static bool parse_resok_wcc(struct xdr *x)
{
	uint32_t status;

	return xdr_u32(x, &status) && status == 0 &&
	       xdr_skip_optional(x, PRE_OP_ATTR_LEN) &&
	       xdr_skip_optional(x, FATTR3_LEN);
}

/*
 * Bytes of the resfail arm after the nfsstat3 when every attribute in
 * it is absent: 4 per post_op_attr, 8 per wcc_data.  -1 for NULL, whose
 * result is void and so cannot fail.
 */
static int resfail_len(uint32_t proc)
{
	static const signed char len[NFSPROC3_MAX + 1] = {
		-1,	/* NULL */
		0,	/* GETATTR */
		8,	/* SETATTR: wcc_data */
		4,	/* LOOKUP: dir post_op_attr */
		4,	/* ACCESS */
		4,	/* READLINK */
		4,	/* READ */
		8,	/* WRITE */
		8, 8, 8, 8,	/* CREATE, MKDIR, SYMLINK, MKNOD */
		8, 8,	/* REMOVE, RMDIR */
		16,	/* RENAME: two wcc_data */
		12,	/* LINK: post_op_attr and wcc_data */
		4, 4,	/* READDIR, READDIRPLUS */
		4, 4, 4,	/* FSSTAT, FSINFO, PATHCONF */
		8,	/* COMMIT */
	};

	return proc <= NFSPROC3_MAX ? len[proc] : -1;
}

/* ---- messages and queues ---- */

static struct msg *msg_new(size_t payload)
{
	struct msg *m = malloc(sizeof(*m) + 4 + payload);

	if (!m)
		return NULL;
	m->next = NULL;
	m->due = 0;
	m->len = 4 + payload;
	m->stop = STOP_NONE;
	m->stop_at = 0;
	m->stall_ms = 0;
	put_be32(m->data, LAST_FRAG | (uint32_t)payload);
	return m;
}

static void queue_push(struct queue *q, struct msg *m)
{
	if (q->tail)
		q->tail->next = m;
	else
		q->head = m;
	q->tail = m;
	q->bytes += m->len;
}

static void queue_pop(struct queue *q)
{
	struct msg *m = q->head;

	q->head = m->next;
	if (!q->head)
		q->tail = NULL;
	q->bytes -= m->len;
	q->off = 0;
	free(m);
}

/* @m stops after @bytes (clamped to its length): cut or stall there */
static void msg_stop(struct msg *m, enum stop stop, unsigned long bytes,
		     unsigned int ms)
{
	m->stop = stop;
	m->stop_at = bytes < m->len ? bytes : m->len;
	m->stall_ms = ms;
}

static void queue_clear(struct queue *q)
{
	while (q->head)
		queue_pop(q);
}

/*
 * An accepted RPC reply with AUTH_NONE verifier and SUCCESS, @res_len
 * bytes of result left to fill at *res.
 */
static struct msg *reply_new(uint32_t xid, size_t res_len,
			     unsigned char **res)
{
	struct msg *m = msg_new(24 + res_len);
	unsigned char *b;

	if (!m)
		return NULL;
	b = m->data + 4;
	put_be32(b, xid);
	put_be32(b + 4, RPC_REPLY);
	put_be32(b + 8, 0);		/* MSG_ACCEPTED */
	put_be32(b + 12, 0);		/* verifier AUTH_NONE */
	put_be32(b + 16, 0);		/* ... of length 0 */
	put_be32(b + 20, 0);		/* SUCCESS */
	*res = b + 24;
	return m;
}

/* WRITE3res: NFS3_OK, empty wcc_data, count, UNSTABLE, verifier A */
static struct msg *fake_write_reply(uint32_t xid, uint32_t count)
{
	unsigned char *r;
	struct msg *m = reply_new(xid, 28, &r);

	if (!m)
		return NULL;
	put_be32(r, 0);			/* NFS3_OK */
	put_be32(r + 4, 0);		/* pre_op_attr: none */
	put_be32(r + 8, 0);		/* post_op_attr: none */
	put_be32(r + 12, count);
	put_be32(r + 16, NFS3_UNSTABLE);
	memcpy(r + 20, FAULT_PROXY_VERF_A, FAULT_PROXY_VERF_LEN);
	return m;
}

/* COMMIT3res: NFS3_OK, empty wcc_data, verifier B */
static struct msg *fake_commit_reply(uint32_t xid)
{
	unsigned char *r;
	struct msg *m = reply_new(xid, 20, &r);

	if (!m)
		return NULL;
	put_be32(r, 0);
	put_be32(r + 4, 0);
	put_be32(r + 8, 0);
	memcpy(r + 12, FAULT_PROXY_VERF_B, FAULT_PROXY_VERF_LEN);
	return m;
}

/* error-reply: @status and the resfail arm with every attribute absent */
static struct msg *fake_error_reply(uint32_t xid, uint32_t proc,
				    uint32_t status)
{
	int body = resfail_len(proc);
	unsigned char *r;
	struct msg *m;

	if (body < 0)
		return NULL;
	m = reply_new(xid, 4 + (size_t)body, &r);
	if (!m)
		return NULL;
	put_be32(r, status);
	memset(r + 4, 0, (size_t)body);
	return m;
}

/* ---- connections ---- */

static void set_nodelay(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static void pair_free(struct proxy *p, struct pair *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		p->pairs = c->next;
	if (c->next)
		c->next->prev = c->prev;
	p->npairs--;
	close(c->cfd);
	close(c->ufd);
	free(c->pend);
	free(c->from_client.p);
	free(c->from_upstream.p);
	queue_clear(&c->to_client);
	queue_clear(&c->to_upstream);
	free(c);
}

static void pair_kill(struct proxy *p, struct pair *c, const char *why)
{
	if (c->dead)
		return;
	vlog(p, "conn %u: closed (%s)", c->id, why);
	c->dead = true;
}

static void accept_client(struct proxy *p)
{
	struct pair *c;
	int cfd, ufd;

	cfd = accept4(p->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (cfd < 0)
		return;
	ufd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (ufd < 0)
		goto err_cfd;
	c = calloc(1, sizeof(*c));
	if (!c)
		goto err_ufd;
	set_nodelay(cfd);
	set_nodelay(ufd);
	if (connect(ufd, (struct sockaddr *)&p->upstream,
		    sizeof(p->upstream)) == 0) {
		c->connecting = false;
	} else if (errno == EINPROGRESS) {
		c->connecting = true;
	} else {
		vlog(p, "upstream connect: %s", strerror(errno));
		goto err_free;
	}
	c->id = ++p->next_id;
	c->cfd = cfd;
	c->ufd = ufd;
	c->next = p->pairs;
	if (p->pairs)
		p->pairs->prev = c;
	p->pairs = c;
	p->npairs++;
	p->n.accepted++;
	vlog(p, "conn %u: accepted", c->id);
	return;

err_free:
	free(c);
err_ufd:
	close(ufd);
err_cfd:
	close(cfd);
}

static unsigned int cut_all(struct proxy *p, const char *why)
{
	unsigned int n = 0;
	struct pair *c;

	for (c = p->pairs; c; c = c->next) {
		if (!c->dead)
			n++;
		pair_kill(p, c, why);
	}
	return n;
}

/*
 * What a killed server's kernel does to both connections: with a zero
 * linger close() sends RST, not FIN, and the peer's next recv() fails
 * with ECONNRESET.
 */
static void pair_reset(struct proxy *p, struct pair *c)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	setsockopt(c->cfd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	setsockopt(c->ufd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	p->n.fired++;
	pair_kill(p, c, "reset by a cut fault");
}

/* bytes sent on @fd the peer has not acknowledged; 0 if unknown */
static int unacked(int fd)
{
	int n = 0;

	if (ioctl(fd, SIOCOUTQ, &n))
		return 0;
	return n;
}

/*
 * A RST throws away what our kernel still holds for the peer, so the cut
 * waits (a bounded time) until the bytes the fault lets through on @fd
 * are acknowledged: then the peer has exactly those.  Meanwhile nothing
 * more moves on this pair.
 */
static void pair_start_reset(struct proxy *p, struct pair *c, int fd)
{
	c->resetting = true;
	c->drain_fd = fd;
	c->reset_by = now_ms() + RESET_DRAIN_MS;
	if (!unacked(fd))
		pair_reset(p, c);
}

/* reset the pairs whose cut has drained; true if any still waits */
static bool finish_resets(struct proxy *p)
{
	uint64_t now = now_ms();
	bool waiting = false;
	struct pair *c;

	for (c = p->pairs; c; c = c->next) {
		if (c->dead || !c->resetting)
			continue;
		if (!unacked(c->drain_fd) || now >= c->reset_by)
			pair_reset(p, c);
		else
			waiting = true;
	}
	return waiting;
}

static void reap_pairs(struct proxy *p)
{
	struct pair *c = p->pairs, *next;

	for (; c; c = next) {
		next = c->next;
		if (c->dead)
			pair_free(p, c);
	}
}

/* ---- the data path ---- */

static void push_to_client(struct proxy *p, struct pair *c, struct msg *m)
{
	p->n.replies++;
	m->due = p->delay_ms ? now_ms() + p->delay_ms : 0;
	queue_push(&c->to_client, m);
}

/*
 * Remember a forwarded call so its reply can be told apart by procedure.
 * Past MAX_PENDING outstanding calls (a server that answers nothing) a
 * call is forgotten: its reply then matches no fault.
 */
static void pending_add(struct proxy *p, struct pair *c,
			const struct rpc_call *call, bool halve)
{
	if (c->npend == c->pend_cap) {
		size_t cap = c->pend_cap ? c->pend_cap * 2 : 64;
		struct pending *np = NULL;

		if (cap <= MAX_PENDING)
			np = realloc(c->pend, cap * sizeof(*np));
		if (!np) {
			vlog(p, "conn %u: xid %08" PRIx32 " not remembered",
			     c->id, call->xid);
			return;
		}
		c->pend = np;
		c->pend_cap = cap;
	}
	c->pend[c->npend++] = (struct pending){
		.xid = call->xid, .proc = call->proc, .halve = halve,
	};
}

static bool pending_take(struct pair *c, uint32_t xid, struct pending *out)
{
	size_t i;

	for (i = 0; i < c->npend; i++) {
		if (c->pend[i].xid != xid)
			continue;
		*out = c->pend[i];
		c->pend[i] = c->pend[--c->npend];
		return true;
	}
	return false;
}

/* the armed fault of @kind if it is for @proc, disarmed as it is taken */
static struct fault *fault_take(struct proxy *p, enum fault_kind kind,
				uint32_t proc)
{
	struct fault *f = &p->faults[kind];

	if (!f->armed || (f->proc != PROC_ANY && f->proc != proc))
		return NULL;
	f->armed = false;
	return f;
}

/* a call from the client: forward it, or answer it ourselves */
static void on_call(struct proxy *p, struct pair *c, struct msg *m)
{
	struct write_args w;
	struct rpc_call call;
	struct msg *fake;
	struct fault *f;
	bool halve = false;

	if (!parse_call(m, &call))
		goto forward;
	p->n.calls++;
	if (call.prog != NFS_PROGRAM || call.vers != NFS_V3)
		goto forward;
	if (call.proc == NFSPROC3_WRITE)
		p->n.writes++;
	else if (call.proc == NFSPROC3_COMMIT)
		p->n.commits++;

	f = fault_take(p, F_CUT_CALL, call.proc);
	if (f) {
		vlog(p, "conn %u: cut-call xid %08" PRIx32 " after %lu bytes",
		     c->id, call.xid, f->bytes);
		msg_stop(m, STOP_CUT, f->bytes, 0);
		goto forward_nfs;
	}
	/* NULL has no status to fail with: it is not an error-reply's */
	if (resfail_len(call.proc) >= 0 &&
	    (f = fault_take(p, F_ERROR_REPLY, call.proc)) &&
	    (fake = fake_error_reply(call.xid, call.proc, f->arg))) {
		vlog(p, "conn %u: error-reply %" PRIu32 " to xid %08" PRIx32,
		     c->id, f->arg, call.xid);
		p->n.fired++;
		free(m);
		push_to_client(p, c, fake);
		return;
	}

	if (call.proc == NFSPROC3_WRITE) {
		if (p->armed && parse_write(&call.args, &w) &&
		    (w.stable == NFS3_UNSTABLE || p->lose_stable) &&
		    (fake = fake_write_reply(call.xid, w.count))) {
			p->n.swallowed++;
			vlog(p, "conn %u: swallowed WRITE xid %08" PRIx32
			     " offset %" PRIu64 " count %" PRIu32,
			     c->id, call.xid, w.offset, w.count);
			free(m);
			push_to_client(p, c, fake);
			return;
		}
		halve = p->short_write;
		p->short_write = false;
	} else if (call.proc == NFSPROC3_COMMIT && p->armed) {
		fake = fake_commit_reply(call.xid);
		if (fake) {
			p->n.faked++;
			p->armed = false;
			vlog(p, "conn %u: faked COMMIT xid %08" PRIx32
			     ", disarmed", c->id, call.xid);
			free(m);
			push_to_client(p, c, fake);
			return;
		}
	}
forward_nfs:
	pending_add(p, c, &call, halve);
forward:
	queue_push(&c->to_upstream, m);
}

/*
 * short-write: the picked WRITE's reply says only half its count was
 * written; from then on every WRITE and COMMIT verifier is flipped, as
 * if the server had restarted right after that short reply (which itself
 * keeps the verifier it had).
 */
static void rewrite_write_reply(struct proxy *p, struct msg *m,
				const struct pending *call)
{
	size_t count_at = 0, verf_at;
	uint32_t count = 0;
	struct xdr x;
	int i;

	if (!call->halve && !p->verf_flip)
		return;
	if (!parse_reply(m, &x) || !parse_resok_wcc(&x))
		goto not_ok;
	if (call->proc == NFSPROC3_WRITE) {
		count_at = 4 + x.pos;
		if (!xdr_u32(&x, &count) || !xdr_skip(&x, 4))	/* committed */
			goto not_ok;
	}
	verf_at = 4 + x.pos;
	if (!xdr_skip(&x, NFS3_VERF_LEN))
		goto not_ok;
	if (p->verf_flip)
		for (i = 0; i < NFS3_VERF_LEN; i++)
			m->data[verf_at + i] ^= VERF_FLIP;
	if (call->halve) {
		put_be32(m->data + count_at, count > 1 ? count / 2 : count);
		p->verf_flip = true;
		p->n.fired++;
	}
	return;
not_ok:
	/* a failed WRITE wrote nothing to shorten: take the next one */
	if (call->halve)
		p->short_write = true;
}

static void on_reply(struct proxy *p, struct pair *c, struct msg *m)
{
	struct pending call;
	struct fault *f;
	uint32_t hdr;

	if (m->len < 12 || get_be32(m->data + 8) != RPC_REPLY ||
	    !pending_take(c, get_be32(m->data + 4), &call))
		goto push;
	if (call.proc == NFSPROC3_WRITE || call.proc == NFSPROC3_COMMIT)
		rewrite_write_reply(p, m, &call);
	f = fault_take(p, F_CORRUPT_REPLY, call.proc);
	if (f && f->arg == CORRUPT_LENGTH) {
		hdr = get_be32(m->data);
		put_be32(m->data, LAST_FRAG |
			 ((hdr & ~LAST_FRAG) + CORRUPT_LEN_ADD));
	} else if (f) {
		put_be32(m->data + 4, call.xid ^ CORRUPT_XID);
	}
	if (f) {
		vlog(p, "conn %u: corrupted reply to xid %08" PRIx32,
		     c->id, call.xid);
		p->n.fired++;
	}
	/* one stop per message: a stall waits for the next reply */
	f = fault_take(p, F_CUT_REPLY, call.proc);
	if (f)
		msg_stop(m, STOP_CUT, f->bytes, 0);
	else if ((f = fault_take(p, F_STALL_REPLY, call.proc)))
		msg_stop(m, STOP_STALL, f->bytes, f->ms);
push:
	push_to_client(p, c, m);
}

/*
 * Cut every complete record out of @in: a run of fragments ending with
 * the one that has the last-fragment bit, joined into one message.
 * Returns false when the stream is beyond repair.
 */
static bool take_records(struct proxy *p, struct pair *c, bool from_client)
{
	struct inbuf *in = from_client ? &c->from_client : &c->from_upstream;
	size_t start = 0;
	bool ok = true;

	for (;;) {
		size_t pos = start, total = 0, at;
		uint32_t hdr = 0, flen;
		struct msg *m;

		while (!(hdr & LAST_FRAG)) {
			if (in->len - pos < 4)
				goto incomplete;
			hdr = get_be32(in->p + pos);
			flen = hdr & ~LAST_FRAG;
			if (flen > MAX_RECORD - total) {
				vlog(p, "conn %u: record over %u bytes",
				     c->id, MAX_RECORD);
				ok = false;
				goto incomplete;
			}
			if (in->len - pos - 4 < flen)
				goto incomplete;
			total += flen;
			pos += 4 + flen;
		}
		m = msg_new(total);
		if (!m) {
			ok = false;
			goto incomplete;
		}
		for (at = 4; start < pos; start += 4 + flen) {
			flen = get_be32(in->p + start) & ~LAST_FRAG;
			memcpy(m->data + at, in->p + start + 4, flen);
			at += flen;
		}
		if (from_client)
			on_call(p, c, m);
		else
			on_reply(p, c, m);
	}
incomplete:
	if (start) {
		memmove(in->p, in->p + start, in->len - start);
		in->len -= start;
	}
	return ok;
}

static void do_read(struct proxy *p, struct pair *c, bool from_client)
{
	struct inbuf *in = from_client ? &c->from_client : &c->from_upstream;
	int fd = from_client ? c->cfd : c->ufd;
	static unsigned char sink[READ_CHUNK];
	unsigned char *dst = sink;
	ssize_t r;

	if (!p->blackhole_until) {
		if (in->cap - in->len < READ_CHUNK) {
			size_t cap = in->len + READ_CHUNK;
			unsigned char *np = realloc(in->p, cap);

			if (!np) {
				pair_kill(p, c, "out of memory");
				return;
			}
			in->p = np;
			in->cap = cap;
		}
		dst = in->p + in->len;
	}
	r = recv(fd, dst, READ_CHUNK, 0);
	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (r <= 0) {
		pair_kill(p, c, r ? strerror(errno) :
			  from_client ? "client hung up" :
					"upstream hung up");
		return;
	}
	if (p->blackhole_until)
		return;		/* dropped on the floor */
	in->len += (size_t)r;
	if (!take_records(p, c, from_client))
		pair_kill(p, c, "bad record");
}

/* the message at the head of @q has reached its stop */
static bool do_stop(struct proxy *p, struct pair *c, struct queue *q,
		    int fd, uint64_t now)
{
	struct msg *m = q->head;

	if (m->stop == STOP_CUT) {
		vlog(p, "conn %u: cut after %zu of %zu bytes", c->id, q->off,
		     m->len);
		pair_start_reset(p, c, fd);
		return false;
	}
	vlog(p, "conn %u: stall-reply after %zu of %zu bytes for %u ms",
	     c->id, q->off, m->len, m->stall_ms);
	q->hold_until = now + m->stall_ms;
	m->stop = STOP_NONE;
	p->n.fired++;
	return true;
}

static void do_write(struct proxy *p, struct pair *c, bool to_client)
{
	struct queue *q = to_client ? &c->to_client : &c->to_upstream;
	int fd = to_client ? c->cfd : c->ufd;
	uint64_t now = now_ms();

	while (q->head && q->head->due <= now && q->hold_until <= now) {
		struct msg *m = q->head;
		size_t end = m->stop != STOP_NONE ? m->stop_at : m->len;
		ssize_t w;

		if (m->stop != STOP_NONE && q->off == m->stop_at) {
			if (!do_stop(p, c, q, fd, now))
				return;
			continue;
		}
		if (q->off == m->len) {
			queue_pop(q);
			continue;
		}
		w = send(fd, m->data + q->off, end - q->off,
			 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0) {
			if (errno != EAGAIN && errno != EINTR)
				pair_kill(p, c, strerror(errno));
			return;
		}
		q->off += (size_t)w;
		if (q->off < end)
			return;
	}
}

static void upstream_connected(struct proxy *p, struct pair *c)
{
	socklen_t sl = sizeof(int);
	int err = 0;

	if (getsockopt(c->ufd, SOL_SOCKET, SO_ERROR, &err, &sl) < 0)
		err = errno;
	if (err) {
		pair_kill(p, c, strerror(err));
		return;
	}
	c->connecting = false;
}

/* ---- control ---- */

static void ctl_reply(struct ctl_conn *cc, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void ctl_reply(struct ctl_conn *cc, const char *fmt, ...)
{
	char buf[CTL_LINE_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n > sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	/* one short line into an idle socket: all or the client is gone */
	if (send(cc->fd, buf, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) != n)
		cc->dead = true;
}

static bool parse_uint(const char *s, unsigned long max, unsigned long *v)
{
	char *end;

	if (!s || *s < '0' || *s > '9')
		return false;
	errno = 0;
	*v = strtoul(s, &end, 10);
	return !errno && !*end && *v <= max;
}

static const struct {
	const char *name;
	uint32_t proc;
} proc_names[] = {
	{ "read", NFSPROC3_READ },
	{ "write", NFSPROC3_WRITE },
	{ "commit", NFSPROC3_COMMIT },
	{ "getattr", NFSPROC3_GETATTR },
	{ "any", PROC_ANY },
};

static bool parse_proc(const char *s, uint32_t *proc)
{
	size_t i;

	for (i = 0; s && i < sizeof(proc_names) / sizeof(proc_names[0]); i++) {
		if (!strcmp(s, proc_names[i].name)) {
			*proc = proc_names[i].proc;
			return true;
		}
	}
	return false;
}

#define PROC_USAGE	"PROC is read|write|commit|getattr|any"
#define MAX_FAULT_BYTES	(MAX_RECORD + 4ul)

/*
 * cut-reply, cut-call, stall-reply, corrupt-reply, error-reply: arm one
 * one-shot fault from @argv (the command and its arguments).
 */
static void ctl_fault(struct proxy *p, struct ctl_conn *cc, int argc,
		      char **argv)
{
	const char *cmd = argv[0];
	struct fault f = { .armed = true };
	enum fault_kind kind;
	unsigned long v;

	if (!strcmp(cmd, "cut-reply") || !strcmp(cmd, "cut-call")) {
		kind = cmd[4] == 'r' ? F_CUT_REPLY : F_CUT_CALL;
		if (argc != 3 || !parse_proc(argv[1], &f.proc) ||
		    !parse_uint(argv[2], MAX_FAULT_BYTES, &f.bytes))
			goto usage;
	} else if (!strcmp(cmd, "stall-reply")) {
		kind = F_STALL_REPLY;
		if (argc != 4 || !parse_proc(argv[1], &f.proc) ||
		    !parse_uint(argv[2], MAX_FAULT_BYTES, &f.bytes) ||
		    !parse_uint(argv[3], MAX_DELAY_MS, &v))
			goto usage;
		f.ms = (unsigned int)v;
	} else if (!strcmp(cmd, "corrupt-reply")) {
		kind = F_CORRUPT_REPLY;
		if (argc != 3 || !parse_proc(argv[1], &f.proc))
			goto usage;
		if (!strcmp(argv[2], "length"))
			f.arg = CORRUPT_LENGTH;
		else if (!strcmp(argv[2], "xid"))
			f.arg = CORRUPT_XID_FIELD;
		else
			goto usage;
	} else {
		kind = F_ERROR_REPLY;
		/* 0 is NFS3_OK, whose body is a resok this cannot make */
		if (argc != 3 || !parse_proc(argv[1], &f.proc) ||
		    !parse_uint(argv[2], UINT32_MAX, &v) || !v)
			goto usage;
		f.arg = (uint32_t)v;
	}
	p->faults[kind] = f;
	ctl_reply(cc, "ok %s armed", cmd);
	return;

usage:
	switch (kind) {
	case F_CUT_REPLY:
	case F_CUT_CALL:
		ctl_reply(cc, "error usage: %s PROC BYTES (" PROC_USAGE
			  ", BYTES 0..%lu)", cmd, MAX_FAULT_BYTES);
		break;
	case F_STALL_REPLY:
		ctl_reply(cc, "error usage: stall-reply PROC BYTES MS ("
			  PROC_USAGE ", MS 0..%u)", MAX_DELAY_MS);
		break;
	case F_CORRUPT_REPLY:
		ctl_reply(cc, "error usage: corrupt-reply PROC length|xid ("
			  PROC_USAGE ")");
		break;
	default:
		ctl_reply(cc, "error usage: error-reply PROC NFSSTAT ("
			  PROC_USAGE ", NFSSTAT 1..4294967295)");
		break;
	}
}

static void disarm_all(struct proxy *p)
{
	struct pair *c;
	size_t i;

	p->armed = false;
	memset(p->faults, 0, sizeof(p->faults));
	p->short_write = false;
	p->verf_flip = false;
	/* a WRITE already picked by short-write stays whole */
	for (c = p->pairs; c; c = c->next)
		for (i = 0; i < c->npend; i++)
			c->pend[i].halve = false;
}

static unsigned int faults_armed(const struct proxy *p)
{
	unsigned int n = p->short_write;
	int k;

	for (k = 0; k < F_KINDS; k++)
		n += p->faults[k].armed;
	return n;
}

#define CTL_MAX_ARGS	4

static void ctl_command(struct proxy *p, struct ctl_conn *cc, char *line)
{
	char *argv[CTL_MAX_ARGS + 1], *cmd, *arg, *save = NULL;
	unsigned long v;
	int argc = 0;

	while (argc <= CTL_MAX_ARGS &&
	       (argv[argc] = strtok_r(argc ? NULL : line, " \t\r", &save)))
		argc++;
	if (!argc) {
		ctl_reply(cc, "error empty command");
		return;
	}
	if (argc > CTL_MAX_ARGS) {
		ctl_reply(cc, "error too many arguments");
		return;
	}
	cmd = argv[0];
	arg = argc > 1 ? argv[1] : NULL;
	vlog(p, "control: %s%s%s%s%s%s%s", cmd, arg ? " " : "",
	     arg ? arg : "", argc > 2 ? " " : "", argc > 2 ? argv[2] : "",
	     argc > 3 ? " " : "", argc > 3 ? argv[3] : "");

	if (!strcmp(cmd, "cut-reply") || !strcmp(cmd, "cut-call") ||
	    !strcmp(cmd, "stall-reply") || !strcmp(cmd, "corrupt-reply") ||
	    !strcmp(cmd, "error-reply")) {
		ctl_fault(p, cc, argc, argv);
	} else if (argc > 2) {
		ctl_reply(cc, "error too many arguments");
	} else if (!strcmp(cmd, "cut") && !arg) {
		ctl_reply(cc, "ok cut=%u", cut_all(p, "cut"));
	} else if (!strcmp(cmd, "delay")) {
		if (!parse_uint(arg, MAX_DELAY_MS, &v)) {
			ctl_reply(cc, "error usage: delay MS (0..%u)",
				  MAX_DELAY_MS);
			return;
		}
		p->delay_ms = (unsigned int)v;
		ctl_reply(cc, "ok delay=%u", p->delay_ms);
	} else if (!strcmp(cmd, "stall") && !arg) {
		p->stalled = true;
		ctl_reply(cc, "ok stalled");
	} else if (!strcmp(cmd, "resume") && !arg) {
		p->stalled = false;
		if (p->blackhole_until) {
			p->blackhole_until = 0;
			cut_all(p, "blackhole ended");
		}
		ctl_reply(cc, "ok resumed");
	} else if (!strcmp(cmd, "blackhole")) {
		if (!parse_uint(arg, MAX_DELAY_MS / 1000, &v) || !v) {
			ctl_reply(cc, "error usage: blackhole SECS (1..%u)",
				  MAX_DELAY_MS / 1000);
			return;
		}
		p->blackhole_until = now_ms() + v * 1000;
		ctl_reply(cc, "ok blackhole=%lu", v);
	} else if (!strcmp(cmd, "lose-writes") &&
		   (!arg || !strcmp(arg, "all"))) {
		/*
		 * "all": a server that breaks RFC 1813 by answering a
		 * DATA_SYNC or FILE_SYNC WRITE with UNSTABLE, then losing
		 * it; the client must trust the reply, not its request.
		 */
		p->armed = true;
		p->lose_stable = arg != NULL;
		ctl_reply(cc, "ok armed");
	} else if (!strcmp(cmd, "short-write")) {
		if (arg) {
			ctl_reply(cc, "error usage: short-write");
			return;
		}
		p->short_write = true;
		ctl_reply(cc, "ok short-write armed");
	} else if (!strcmp(cmd, "disarm") && !arg) {
		disarm_all(p);
		ctl_reply(cc, "ok disarmed");
	} else if (!strcmp(cmd, "status") && !arg) {
		ctl_reply(cc, "ok calls=%" PRIu64 " replies=%" PRIu64
			  " writes=%" PRIu64 " commits=%" PRIu64
			  " swallowed_writes=%" PRIu64
			  " faked_commits=%" PRIu64
			  " connections=%u armed=%d accepted=%" PRIu64
			  " faults_fired=%" PRIu64 " faults_armed=%u"
			  " verf_flip=%d",
			  p->n.calls, p->n.replies, p->n.writes,
			  p->n.commits, p->n.swallowed, p->n.faked,
			  p->npairs, p->armed, p->n.accepted, p->n.fired,
			  faults_armed(p), p->verf_flip);
	} else if (!strcmp(cmd, "port") && !arg) {
		ctl_reply(cc, "ok port=%u", p->port);
	} else if (!strcmp(cmd, "quit") && !arg) {
		p->quit = true;
		ctl_reply(cc, "ok bye");
	} else {
		ctl_reply(cc, "error unknown command '%s'", cmd);
	}
}

static void ctl_accept(struct proxy *p)
{
	struct ctl_conn *cc;
	int fd;

	fd = accept4(p->ctl_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	cc = calloc(1, sizeof(*cc));
	if (!cc) {
		close(fd);
		return;
	}
	cc->fd = fd;
	cc->next = p->ctls;
	p->ctls = cc;
	p->nctls++;
}

static void ctl_read(struct proxy *p, struct ctl_conn *cc)
{
	ssize_t r = recv(cc->fd, cc->line + cc->len,
			 sizeof(cc->line) - cc->len, 0);
	char *nl;

	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (r <= 0) {
		cc->dead = true;
		return;
	}
	cc->len += (size_t)r;
	while (!cc->dead && (nl = memchr(cc->line, '\n', cc->len))) {
		size_t used = (size_t)(nl - cc->line) + 1;

		*nl = '\0';
		ctl_command(p, cc, cc->line);
		memmove(cc->line, cc->line + used, cc->len - used);
		cc->len -= used;
	}
	if (cc->len == sizeof(cc->line)) {
		ctl_reply(cc, "error line too long");
		cc->dead = true;
	}
}

static void reap_ctls(struct proxy *p)
{
	struct ctl_conn **pp = &p->ctls, *cc;

	while ((cc = *pp)) {
		if (cc->dead) {
			*pp = cc->next;
			close(cc->fd);
			free(cc);
			p->nctls--;
		} else {
			pp = &cc->next;
		}
	}
}

/* ---- the loop ---- */

static int add_slot(struct proxy *p, size_t *n, int fd, short events,
		    enum slot_kind kind, void *ptr)
{
	if (*n == p->slots_cap) {
		size_t cap = p->slots_cap ? p->slots_cap * 2 : 16;
		struct pollfd *pfd;
		struct slot *slots;

		pfd = realloc(p->pfd, cap * sizeof(*pfd));
		if (!pfd)
			return -1;
		p->pfd = pfd;
		slots = realloc(p->slots, cap * sizeof(*slots));
		if (!slots)
			return -1;
		p->slots = slots;
		p->slots_cap = cap;
	}
	p->pfd[*n] = (struct pollfd){ .fd = fd, .events = events };
	p->slots[*n] = (struct slot){ .kind = kind, .ptr = ptr };
	(*n)++;
	return 0;
}

/* poll events for one side; *wake lowered to when a held reply is due */
static short side_events(const struct proxy *p, const struct pair *c,
			 bool client, uint64_t now, uint64_t *wake)
{
	const struct queue *out = client ? &c->to_client : &c->to_upstream;
	const struct queue *other = client ? &c->to_upstream : &c->to_client;
	short ev = 0;

	if (p->blackhole_until)
		return POLLIN;
	if (!client && c->connecting)
		return POLLOUT;
	if (other->bytes < MAX_QUEUED)
		ev |= POLLIN;
	if (out->head && (client || !c->connecting)) {
		uint64_t due = out->head->due > out->hold_until ?
			       out->head->due : out->hold_until;

		if (due <= now)
			ev |= POLLOUT;
		else if (due < *wake)
			*wake = due;
	}
	return ev;
}

static int build_pollset(struct proxy *p, size_t *n, int *timeout,
			 bool resetting)
{
	uint64_t now = now_ms(), wake = UINT64_MAX;
	bool moving = !p->stalled || p->blackhole_until;
	struct ctl_conn *cc;
	struct pair *c;

	*n = 0;
	if (add_slot(p, n, p->ctl_fd, POLLIN, SLOT_CTL_LISTEN, NULL))
		return -1;
	for (cc = p->ctls; cc; cc = cc->next)
		if (add_slot(p, n, cc->fd, POLLIN, SLOT_CTL, cc))
			return -1;
	if (!p->stalled && !p->blackhole_until &&
	    add_slot(p, n, p->lfd, POLLIN, SLOT_LISTEN, NULL))
		return -1;
	for (c = p->pairs; moving && c; c = c->next) {
		if (c->resetting)
			continue;	/* see finish_resets() */
		if (add_slot(p, n, c->cfd,
			     side_events(p, c, true, now, &wake),
			     SLOT_CLIENT, c) ||
		    add_slot(p, n, c->ufd,
			     side_events(p, c, false, now, &wake),
			     SLOT_UPSTREAM, c))
			return -1;
	}
	if (p->blackhole_until && p->blackhole_until < wake)
		wake = p->blackhole_until;
	if (resetting && now + 2 < wake)
		wake = now + 2;		/* poll the draining send queues */
	if (wake == UINT64_MAX)
		*timeout = -1;
	else
		*timeout = wake > now ? (int)(wake - now) : 0;
	return 0;
}

static void handle_side(struct proxy *p, struct pair *c, bool client,
			short rev)
{
	if (c->dead || c->resetting)
		return;
	if (!client && c->connecting) {
		if (rev & (POLLOUT | POLLERR | POLLHUP))
			upstream_connected(p, c);
		return;
	}
	if (rev & POLLOUT)
		do_write(p, c, client);
	if (!c->dead && (rev & (POLLIN | POLLERR | POLLHUP)))
		do_read(p, c, client);
}

static int run(struct proxy *p, const sigset_t *waitmask)
{
	while (!p->quit && !got_signal) {
		struct timespec ts, *tsp = NULL;
		int timeout, ret;
		bool resetting;
		size_t n, i;

		if (p->blackhole_until && now_ms() >= p->blackhole_until) {
			p->blackhole_until = 0;
			vlog(p, "blackhole over");
			cut_all(p, "blackhole ended");
			reap_pairs(p);
		}
		resetting = finish_resets(p);
		reap_pairs(p);
		if (build_pollset(p, &n, &timeout, resetting)) {
			fprintf(stderr, "nfs_fault_proxy: out of memory\n");
			return -1;
		}
		if (timeout >= 0) {
			ts.tv_sec = timeout / 1000;
			ts.tv_nsec = (long)(timeout % 1000) * 1000000;
			tsp = &ts;
		}
		ret = ppoll(p->pfd, n, tsp, waitmask);
		if (ret < 0 && errno == EINTR)
			continue;
		if (ret < 0) {
			perror("nfs_fault_proxy: poll");
			return -1;
		}
		for (i = 0; i < n && !p->quit; i++) {
			short rev = p->pfd[i].revents;

			if (!rev)
				continue;
			switch (p->slots[i].kind) {
			case SLOT_LISTEN:
				accept_client(p);
				break;
			case SLOT_CTL_LISTEN:
				ctl_accept(p);
				break;
			case SLOT_CTL:
				ctl_read(p, p->slots[i].ptr);
				break;
			case SLOT_CLIENT:
				handle_side(p, p->slots[i].ptr, true, rev);
				break;
			case SLOT_UPSTREAM:
				handle_side(p, p->slots[i].ptr, false, rev);
				break;
			}
		}
		reap_pairs(p);
		reap_ctls(p);
	}
	if (got_signal)
		vlog(p, "signal %d, exiting", (int)got_signal);
	return 0;
}

/* ---- setup ---- */

static int parse_addr(const char *s, struct sockaddr_in *sin, bool any_port)
{
	const char *colon = strrchr(s, ':');
	char host[INET_ADDRSTRLEN];
	unsigned long port;

	if (!colon || (size_t)(colon - s) >= sizeof(host))
		return -1;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	if (inet_pton(AF_INET, host, &sin->sin_addr) != 1 ||
	    !parse_uint(colon + 1, 65535, &port) || (!port && !any_port))
		return -1;
	sin->sin_port = htons((uint16_t)port);
	return 0;
}

static int listen_tcp(struct proxy *p, const struct sockaddr_in *sin)
{
	struct sockaddr_in bound;
	socklen_t sl = sizeof(bound);
	int one = 1;

	p->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
			0);
	if (p->lfd < 0)
		return -1;
	setsockopt(p->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(p->lfd, (const struct sockaddr *)sin, sizeof(*sin)) ||
	    listen(p->lfd, 64) ||
	    getsockname(p->lfd, (struct sockaddr *)&bound, &sl))
		return -1;
	p->port = ntohs(bound.sin_port);
	return 0;
}

static int listen_ctl(struct proxy *p)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int probe;

	if (strlen(p->ctl_path) >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sun.sun_path, p->ctl_path);

	/* a live proxy keeps its socket; a stale file is removed */
	probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe < 0)
		return -1;
	if (!connect(probe, (struct sockaddr *)&sun, sizeof(sun))) {
		close(probe);
		errno = EADDRINUSE;
		return -1;
	}
	close(probe);
	unlink(p->ctl_path);

	p->ctl_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
			   0);
	if (p->ctl_fd < 0)
		return -1;
	if (bind(p->ctl_fd, (struct sockaddr *)&sun, sizeof(sun)))
		return -1;
	if (listen(p->ctl_fd, 16)) {
		int err = errno;

		unlink(p->ctl_path);
		errno = err;
		return -1;
	}
	return 0;
}

static int write_pidfile(const char *path)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	fprintf(f, "%ld\n", (long)getpid());
	return fclose(f);
}

static void proxy_free(struct proxy *p)
{
	while (p->pairs)
		pair_free(p, p->pairs);
	while (p->ctls) {
		p->ctls->dead = true;
		reap_ctls(p);
	}
	free(p->pfd);
	free(p->slots);
	if (p->lfd >= 0)
		close(p->lfd);
	if (p->ctl_fd >= 0)
		close(p->ctl_fd);
}

static void usage(FILE *f)
{
	fputs("usage: nfs_fault_proxy --listen ADDR:PORT "
	      "--upstream ADDR:PORT --control PATH\n"
	      "                       [--pidfile FILE] [--verbose]\n"
	      "       nfs_fault_proxy --control PATH --send \"COMMAND\"\n"
	      "A fake NFS server's misbehaviour for tests: a TCP proxy that\n"
	      "cuts, delays, stalls, blackholes, or loses unstable writes\n"
	      "on command.  PORT 0 listens on any free port (command: port).\n"
	      "Commands: cut | delay MS | stall | resume | blackhole SECS |\n"
	      "          lose-writes [all] | short-write | disarm | status |\n"
	      "          port | quit\n"
	      "One-shot, for the next PROC (read|write|commit|getattr|any):\n"
	      "          cut-reply PROC BYTES | cut-call PROC BYTES |\n"
	      "          stall-reply PROC BYTES MS |\n"
	      "          corrupt-reply PROC length|xid |\n"
	      "          error-reply PROC NFSSTAT\n", f);
}

static int send_mode(const char *ctl, const char *cmd)
{
	char reply[CTL_LINE_MAX];
	int ret = fault_proxy_cmd(ctl, cmd, reply, sizeof(reply));

	if (ret < 0) {
		fprintf(stderr, "nfs_fault_proxy: %s: %s\n", ctl,
			strerror(-ret));
		return 2;
	}
	puts(reply);
	return ret ? 1 : 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "upstream", required_argument, NULL, 'u' },
		{ "control", required_argument, NULL, 'c' },
		{ "pidfile", required_argument, NULL, 'p' },
		{ "send", required_argument, NULL, 's' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct proxy p = { .lfd = -1, .ctl_fd = -1 };
	const char *listen_s = NULL, *upstream_s = NULL, *send_s = NULL;
	struct sigaction sa = { .sa_handler = on_signal };
	pid_t parent;
	struct sockaddr_in lsin;
	sigset_t block, waitmask;
	int opt, ret = 1;

	while ((opt = getopt_long(argc, argv, "l:u:c:p:s:vh", opts,
				  NULL)) != -1) {
		switch (opt) {
		case 'l':
			listen_s = optarg;
			break;
		case 'u':
			upstream_s = optarg;
			break;
		case 'c':
			p.ctl_path = optarg;
			break;
		case 'p':
			p.pidfile = optarg;
			break;
		case 's':
			send_s = optarg;
			break;
		case 'v':
			p.verbose = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || !p.ctl_path) {
		usage(stderr);
		return 2;
	}
	if (send_s)
		return send_mode(p.ctl_path, send_s);
	if (!listen_s || !upstream_s) {
		usage(stderr);
		return 2;
	}
	if (parse_addr(listen_s, &lsin, true) ||
	    parse_addr(upstream_s, &p.upstream, false)) {
		fprintf(stderr, "nfs_fault_proxy: addresses are IPV4:PORT\n");
		return 2;
	}

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &waitmask);
	sigdelset(&waitmask, SIGINT);
	sigdelset(&waitmask, SIGTERM);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	/*
	 * A test that dies (a sanitizer abort, a crash) must not leave its
	 * proxy behind: it would hold the test's output pipe open, and
	 * ctest would wait for it until its timeout.
	 */
	parent = getppid();
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		return 1;		/* it died before prctl */

	if (listen_tcp(&p, &lsin)) {
		fprintf(stderr, "nfs_fault_proxy: listen on %s: %s\n",
			listen_s, strerror(errno));
		goto out;
	}
	if (listen_ctl(&p)) {
		fprintf(stderr, "nfs_fault_proxy: control socket %s: %s\n",
			p.ctl_path, strerror(errno));
		goto out;
	}
	if (p.pidfile && write_pidfile(p.pidfile)) {
		fprintf(stderr, "nfs_fault_proxy: pidfile %s: %s\n",
			p.pidfile, strerror(errno));
		goto out_ctl;
	}
	vlog(&p, "listening on port %u, upstream %s", p.port, upstream_s);

	ret = run(&p, &waitmask) ? 1 : 0;

	if (p.pidfile)
		unlink(p.pidfile);
out_ctl:
	unlink(p.ctl_path);
out:
	proxy_free(&p);
	return ret;
}
