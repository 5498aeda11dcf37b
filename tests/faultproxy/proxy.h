/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * nfs_fault_proxy's insides, shared by its files (nfs_fault_proxy.c says
 * what the proxy is for and which command does what):
 *
 *   proxy_xdr.c   the little XDR it reads, the messages it makes up
 *   proxy_conn.c  connection pairs, reading records, writing queues
 *   proxy_rpc.c   each call and reply, and what the armed faults do to it
 *   proxy_ctl.c   the control socket and its commands
 *   nfs_fault_proxy.c  the poll loop, setup and main
 */
#ifndef NFS_FAULT_PROXY_H
#define NFS_FAULT_PROXY_H

#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define MAX_RECORD	(16u << 20)	/* largest RPC message we take */
#define READ_CHUNK	(64u << 10)
#define MAX_QUEUED	(8u << 20)	/* stop reading a side past this */
#define CTL_LINE_MAX	256
#define CTL_REPLY_MAX	512		/* the status line grows */
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
#define NFS3ERR_STALE	70
/* NFSv4.1/4.2: a COMPOUND counts as the v3 procedure of its data op */
#define NFS_V4		4
#define NFSPROC4_COMPOUND 1
#define OP4_COMMIT	5
#define OP4_GETATTR	9
#define OP4_PUTFH	22
#define OP4_READ	25
#define OP4_WRITE	38
#define OP4_SEQUENCE	53
#define OP4_EXCHANGE_ID	42
/* a COMPOUND that starts a client ID counts as this (no v3 procedure) */
#define PROC4_EXCHANGE_ID 1042
#define SEQUENCE4_ARGS_LEN 32	/* sessionid, seqid, slot, highest, cache */
#define NFS4_FHSIZE	128
#define NFS4_STATEID_LEN 16
#define SEQUENCE4_RES_LEN 36	/* sessionid, seqid, slot, 3 x u32 */
#define NFS4ERR_DELAY	10008
#define NFS4ERR_BADSESSION 10052
#define NFS4ERR_BADSLOT	10053
#define NFS4ERR_SEQ_MISORDERED 10063
#define NFS4ERR_DEADSESSION 10078

#define CORRUPT_LEN_ADD	4096u		/* added to a corrupted record mark */
#define CORRUPT_XID	0x5a5a5a5au	/* XORed into a corrupted XID */
#define VERF_FLIP	0xa5u		/* XORed into every verifier byte */
#define MAX_PENDING	65536u		/* calls remembered per connection */
#define RESET_DRAIN_MS	1000u		/* longest wait for a cut to drain */
#define GARBLE_WORD	0xdeadbeefu	/* garble-reply: after the reply */
#define ZERO_CHUNK	(64u << 10)	/* empty-fragments: most per send */

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
	bool v4;		/* a COMPOUND: proc is its data op's */
	uint32_t op_error;	/* error-reply v4: the data op's status */
	bool halve;		/* short-write picked this WRITE */
	bool has_offset;	/* READ, WRITE, COMMIT */
	uint64_t offset;
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
	struct queue held;	/* delay-reply: by due time, then to_client */
	unsigned int zero_off;	/* empty-fragments: bytes of a marker sent */
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
	uint64_t delayed;	/* replies held by delay-reply */
	uint64_t empty_frags;	/* empty fragments sent */
};

enum fault_kind { F_CUT_REPLY, F_CUT_CALL, F_STALL_REPLY, F_CORRUPT_REPLY,
		  F_ERROR_REPLY, F_GARBLE_REPLY, F_REJECT_REPLY, F_SHORT_READ,
		  F_KINDS };

enum corrupt { CORRUPT_LENGTH, CORRUPT_XID_FIELD };

/* reject-reply: the RPC-level answers (RFC 5531) the proxy can give */
enum reject { REJECT_RPC_MISMATCH, REJECT_AUTH_ERROR, REJECT_PROG_UNAVAIL,
	      REJECT_PROG_MISMATCH, REJECT_PROC_UNAVAIL, REJECT_GARBAGE_ARGS,
	      REJECT_SYSTEM_ERR, REJECT_KINDS };

/*
 * One armed fault, for the next @count messages of @proc (most kinds are
 * one-shot: 1); arming the same kind again replaces it.
 */
struct fault {
	bool armed;
	uint32_t proc;		/* or PROC_ANY */
	unsigned long count;	/* messages left; 0: every until disarm */
	bool any_offset;	/* else only calls at @offset */
	uint64_t offset;	/* garble-reply, short-read */
	unsigned long bytes;	/* cut, stall: bytes let through */
	unsigned int ms;	/* stall */
	uint32_t arg;		/* corrupt: enum corrupt; error: nfsstat3;
				 * reject: enum reject */
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
	unsigned int reply_delay[NFSPROC3_MAX + 1];	/* delay-reply, ms */
	uint64_t stale_until;	/* stale-for; 0: over */
	bool stale_io_only;	/* stale-for MS io: GETATTR spared */
	bool empty_frags;	/* empty-fragments armed */
	struct counters n;
	struct pollfd *pfd;
	struct slot *slots;
	size_t slots_cap;
};

/* a cursor over the XDR of one message */
struct xdr {
	const unsigned char *p;
	size_t len, pos;
};

struct rpc_call {
	uint32_t xid, prog, vers, proc;
	struct xdr args;	/* positioned at the procedure's arguments */
};

struct write_args {
	uint64_t offset;
	uint32_t count, stable, data_len;
};

static inline uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static inline uint32_t get_be32(const unsigned char *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
	       (uint32_t)b[2] << 8 | b[3];
}

static inline void put_be32(unsigned char *b, uint32_t v)
{
	b[0] = v >> 24;
	b[1] = v >> 16;
	b[2] = v >> 8;
	b[3] = v;
}

/* nfs_fault_proxy.c */
void vlog(const struct proxy *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* proxy_xdr.c */
bool xdr_u32(struct xdr *x, uint32_t *v);
bool xdr_u64(struct xdr *x, uint64_t *v);
bool xdr_skip(struct xdr *x, size_t n);
bool xdr_skip_optional(struct xdr *x, size_t len);
bool xdr_skip_opaque(struct xdr *x, uint32_t max, uint32_t *len);
bool parse_call(const struct msg *m, struct rpc_call *c);
bool parse_write(struct xdr *x, struct write_args *w);
bool parse_reply(const struct msg *m, struct xdr *x);
bool parse_resok_wcc(struct xdr *x);
int resfail_len(uint32_t proc);
struct msg *msg_new(size_t payload);
struct msg *fake_write_reply(uint32_t xid, uint32_t count);
struct msg *fake_commit_reply(uint32_t xid);
struct msg *fake_error_reply(uint32_t xid, uint32_t proc, uint32_t status);
struct msg *fake_error_reply4(uint32_t xid, uint32_t op, uint32_t status);
struct msg *fake_reject_reply(uint32_t xid, enum reject kind);

/* proxy_conn.c */
void queue_push(struct queue *q, struct msg *m);
void msg_stop(struct msg *m, enum stop stop, unsigned long bytes,
	      unsigned int ms);
void pair_free(struct proxy *p, struct pair *c);
void pair_kill(struct proxy *p, struct pair *c, const char *why);
void accept_client(struct proxy *p);
unsigned int cut_all(struct proxy *p, const char *why);
bool finish_resets(struct proxy *p);
void reap_pairs(struct proxy *p);
void do_read(struct proxy *p, struct pair *c, bool from_client);
void do_write(struct proxy *p, struct pair *c, bool to_client);
void upstream_connected(struct proxy *p, struct pair *c);
void hold_reply(struct pair *c, struct msg *m, unsigned int ms);
uint64_t release_held(struct proxy *p, struct pair *c, uint64_t until);
bool wants_zeros(const struct proxy *p, const struct pair *c);

/* proxy_rpc.c */
void on_call(struct proxy *p, struct pair *c, struct msg *m);
void on_reply(struct proxy *p, struct pair *c, struct msg *m);

/* proxy_ctl.c */
bool parse_uint(const char *s, unsigned long max, unsigned long *v);
void ctl_accept(struct proxy *p);
void ctl_read(struct proxy *p, struct ctl_conn *cc);
void reap_ctls(struct proxy *p);

#endif
