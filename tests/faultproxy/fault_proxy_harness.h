/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the fault proxy's own tests share: a proxy process started in
 * front of the test ganesha, a file on the export opened through it with
 * libnfs, raw NFSv3 calls that complete into a struct op, and hand-made
 * RPC records for a bare socket.
 *
 * Nothing here counts checks (check.h's counters are per file): failures
 * are return values, or an op completed with RPC_STATUS_ERROR, and a
 * message on stderr.
 */
#ifndef FAULT_PROXY_HARNESS_H
#define FAULT_PROXY_HARNESS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <nfsc/libnfs.h>
#include <nfsc/libnfs-raw.h>
#include <nfsc/libnfs-raw-nfs.h>

#define NFS_UPSTREAM	"127.0.0.1:2049"
#define MOUNT_PORT	20048
#define FILE_SIZE	(1024 * 1024)
#define CHUNK		(64 * 1024)
#define WAIT_MS		30000

extern char ctl[108];			/* the proxy's control socket */
extern unsigned int proxy_port;
extern char disk_path[PATH_MAX];	/* the test file, on the server */

extern struct nfs_context *nfs;		/* the file, through the proxy */
extern struct rpc_context *rpc;
extern struct nfsfh *nfsfh;
extern struct nfs_fh3 fh3;

struct op {
	bool done;
	int status;		/* RPC_STATUS_* */
	int tnfs_status;		/* nfsstat3 */
	uint32_t count, committed;
	bool eof;		/* READ */
	char verf[NFS3_WRITEVERFSIZE];
	char *data;		/* READ: where the bytes go */
	uint32_t data_len;
	uint64_t t_done;
	char err[128];		/* libnfs's message when status is not OK */
};

uint64_t now_ms(void);
void msleep(unsigned int ms);

/* fault_proxy_cmd() on ctl */
int cmd(const char *c, char *reply, size_t len);
/* one counter of the status line, UINT64_MAX if there is none */
uint64_t stat_get(const char *key);
/* poll stat_get(@key) until it is @want or @ms passed; true if it got so */
bool stat_wait(const char *key, uint64_t want, unsigned int ms);
/* start the proxy on a free port in front of NFS_UPSTREAM */
int proxy_start(void);
/* quit it: 0 if it exited 0 and removed its socket */
int proxy_stop(void);

void fill(char *buf, size_t len, unsigned int seed);
/* FILE_SIZE bytes of 0xee at DIR/export/NAME, before ganesha sees it */
int make_file(const char *dir, const char *name);
/* does the server's disk hold @want at @off? */
bool disk_has(uint64_t off, const char *want, size_t len);

/* mount /export through the proxy and open @name in it */
int tnfs_connect(const char *name);
/*
 * The same with libnfs's reconnect attempts after a transport error
 * (-1: forever, as tnfs_connect; 0: none, calls in flight fail instead).
 */
int tnfs_connect_retries(const char *name, int retries);
void tnfs_disconnect(void);

/* queue one raw call; a call that cannot be queued completes failed */
void send_write(struct op *op, uint64_t off, const char *buf, uint32_t len,
		enum stable_how stable);
void send_commit(struct op *op);
void send_read(struct op *op, uint64_t off, char *buf, uint32_t len);
void send_getattr(struct op *op);
void send_null(struct op *op);
/* LOOKUP @name in the test file's handle: the server says NOTDIR */
void send_lookup(struct op *op, const char *name);
bool all_done(const struct op *ops, int n);
/*
 * Run libnfs for up to @ms or until all @ops completed; it stops early
 * when nfs_service() fails, and service_error() then says why (NULL if
 * the last service() saw no such failure).
 */
bool service(struct op *ops, int n, unsigned int ms);
const char *service_error(void);

/* a bare TCP connection to the proxy, 10 s receive timeout */
int raw_connect(void);

struct rec {
	unsigned char b[512];
	size_t len;
};

void put32(struct rec *r, uint32_t v);
void put_opaque(struct rec *r, const void *p, uint32_t n);
/* an NFSv3 call header, AUTH_SYS or AUTH_NONE credentials */
void call_header(struct rec *r, uint32_t xid, uint32_t proc, bool auth_sys);
bool recv_all(int fd, unsigned char *b, size_t n);
/* @r is a message after 4 bytes left for its record mark: mark, send */
bool send_rec(int fd, struct rec *r);
/*
 * One record, a single last fragment, into @r (without its mark); false,
 * and r->len 0, if the connection failed or the record is fragmented or
 * too big.
 */
bool recv_rec(int fd, struct rec *r);

#define NFS3_PROC_GETATTR 1
#define NFS3_PROC_READ	6
#define NFS3_PROC_COMMIT 21
#define NULL_REPLY_PAYLOAD 24	/* xid .. accept_stat, AUTH_NONE, no mark */

uint32_t get32(const unsigned char *b);
/* the last 4 bytes of @r, 0 if it has none */
uint32_t last32(const struct rec *r);
bool send_raw_null(int fd, uint32_t xid);
/* GETATTR (@off, @count unused), READ or COMMIT of the test file (fh3) */
bool send_raw_io(int fd, uint32_t xid, uint32_t proc, uint64_t off,
		 uint32_t count);
/* an accepted, successful reply to @xid, AUTH_NONE verifier */
bool rpc_ok(const struct rec *r, uint32_t xid);
/* ... with NFS3_OK */
bool reply_ok(const struct rec *r, uint32_t xid);
/* READ3resok in @r: where its count is (eof and data follow), else 0 */
size_t read_count_at(const struct rec *r, uint32_t xid);

#endif
