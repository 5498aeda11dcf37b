// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The fault proxy tests' shared plumbing (fault_proxy_harness.h): the
 * proxy process, the test file through libnfs, raw NFSv3 calls, and
 * hand-made records.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fault_proxy_client.h"
#include "fault_proxy_harness.h"

extern char **environ;

/* libnfs 4.0 defines this only in its private header */
struct nfs_fh {
	int len;
	char *val;
};

char ctl[108];
unsigned int proxy_port;
char disk_path[PATH_MAX];

struct nfs_context *nfs;
struct rpc_context *rpc;
struct nfsfh *nfsfh;
struct nfs_fh3 fh3;

static pid_t proxy_pid;

/* ---- the proxy ---- */

uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void msleep(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}


int cmd(const char *c, char *reply, size_t len)
{
	return fault_proxy_cmd(ctl, c, reply, len);
}


uint64_t stat_get(const char *key)
{
	char reply[512], pat[40];
	const char *at;

	if (cmd("status", reply, sizeof(reply)))
		return UINT64_MAX;
	snprintf(pat, sizeof(pat), " %s=", key);
	at = strstr(reply, pat);
	return at ? strtoull(at + strlen(pat), NULL, 10) : UINT64_MAX;
}

static const char *proxy_bin(void)
{
	static char path[PATH_MAX];
	const char *env = getenv("FAULT_PROXY_BIN");
	ssize_t n;
	char *slash;

	if (env)
		return env;
	n = readlink("/proc/self/exe", path, sizeof(path) - 32);
	if (n < 0)
		return "nfs_fault_proxy";
	path[n] = '\0';
	slash = strrchr(path, '/');
	strcpy(slash ? slash + 1 : path, "nfs_fault_proxy");
	return path;
}

int proxy_start(void)
{
	char *argv[] = { (char *)proxy_bin(), "--listen", "127.0.0.1:0",
			 "--upstream", NFS_UPSTREAM, "--control", ctl,
			 getenv("FAULT_PROXY_VERBOSE") ? "--verbose" : NULL,
			 NULL };
	char reply[64];
	int i;

	snprintf(ctl, sizeof(ctl), "/tmp/fault-proxy-test-%d.sock",
		 (int)getpid());
	if (posix_spawn(&proxy_pid, argv[0], NULL, NULL, argv, environ)) {
		fprintf(stderr, "cannot run %s\n", argv[0]);
		return -1;
	}
	for (i = 0; i < 100; i++) {
		if (!cmd("port", reply, sizeof(reply)) &&
		    sscanf(reply, "ok port=%u", &proxy_port) == 1)
			return 0;
		if (waitpid(proxy_pid, NULL, WNOHANG) == proxy_pid) {
			proxy_pid = 0;
			break;
		}
		msleep(50);
	}
	fprintf(stderr, "%s did not come up\n", argv[0]);
	if (proxy_pid) {
		kill(proxy_pid, SIGTERM);
		waitpid(proxy_pid, NULL, 0);
		proxy_pid = 0;
	}
	return -1;
}


/* ---- the file, seen by libnfs through the proxy and on the disk ---- */

bool stat_wait(const char *key, uint64_t want, unsigned int ms)
{
	uint64_t end = now_ms() + ms;

	while (stat_get(key) != want) {
		if (now_ms() >= end)
			return false;
		msleep(10);
	}
	return true;
}

int proxy_stop(void)
{
	int status = -1, ret = 0;

	if (!proxy_pid)
		return 0;
	if (cmd("quit", NULL, 0)) {
		fprintf(stderr, "proxy: quit refused\n");
		ret = -1;
	}
	if (waitpid(proxy_pid, &status, 0) != proxy_pid ||
	    !WIFEXITED(status) || WEXITSTATUS(status)) {
		fprintf(stderr, "proxy exit status %#x\n", status);
		ret = -1;
	}
	proxy_pid = 0;
	if (!access(ctl, F_OK) || errno != ENOENT) {
		fprintf(stderr, "proxy left its control socket %s\n", ctl);
		ret = -1;
	}
	return ret;
}

void fill(char *buf, size_t len, unsigned int seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = (char)(seed * 131 + i * 7 + (i >> 9));
}

int make_file(const char *dir, const char *name)
{
	char *buf = malloc(FILE_SIZE);
	int fd, ret = -1;

	snprintf(disk_path, sizeof(disk_path), "%s/export/%s", dir, name);
	fd = open(disk_path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
	if (fd < 0 || !buf)
		goto out;
	memset(buf, 0xee, FILE_SIZE);
	if (pwrite(fd, buf, FILE_SIZE, 0) == FILE_SIZE)
		ret = 0;
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return ret;
}

bool disk_has(uint64_t off, const char *want, size_t len)
{
	char *buf = malloc(len);
	bool same = false;
	int fd = open(disk_path, O_RDONLY);

	if (fd >= 0 && buf && pread(fd, buf, len, (off_t)off) == (ssize_t)len)
		same = !memcmp(buf, want, len);
	if (fd >= 0)
		close(fd);
	free(buf);
	return same;
}

int tnfs_connect(const char *name)
{
	return tnfs_connect_retries(name, -1);
}

int tnfs_connect_retries(const char *name, int retries)
{
	struct nfs_url *url;
	struct nfs_fh *fh;
	char s[256];

	nfs = nfs_init_context();
	if (!nfs)
		return -1;
	nfs_set_autoreconnect(nfs, retries);
	snprintf(s, sizeof(s),
		 "nfs://127.0.0.1/export/%s?nfsport=%u&mountport=%u",
		 name, proxy_port, MOUNT_PORT);
	url = nfs_parse_url_full(nfs, s);
	if (!url)
		goto err;
	if (nfs_mount(nfs, url->server, url->path) ||
	    nfs_open(nfs, url->file, O_RDWR, &nfsfh)) {
		nfs_destroy_url(url);
		goto err;
	}
	nfs_destroy_url(url);
	rpc = nfs_get_rpc_context(nfs);
	fh = nfs_get_fh(nfsfh);
	fh3.data.data_len = (u_int)fh->len;
	fh3.data.data_val = fh->val;
	return 0;
err:
	fprintf(stderr, "libnfs: %s\n", nfs_get_error(nfs));
	nfs_destroy_context(nfs);
	nfs = NULL;
	return -1;
}

void tnfs_disconnect(void)
{
	if (!nfs)
		return;
	nfs_close(nfs, nfsfh);
	nfs_destroy_context(nfs);
	nfs = NULL;
}


/* ---- raw NFSv3 calls and the loop that completes them ---- */

static void op_done(struct op *op, int status, void *data)
{
	op->status = status;
	op->done = true;
	op->t_done = now_ms();
	if (status == RPC_STATUS_SUCCESS)
		return;
	snprintf(op->err, sizeof(op->err), "%s",
		 data ? (char *)data : "(no message)");
	fprintf(stderr, "rpc failed: %s\n", op->err);
}

static void write_cb(struct rpc_context *r, int status, void *data,
		     void *priv)
{
	struct op *op = priv;
	WRITE3res *res = data;

	(void)r;
	op_done(op, status, data);
	if (status != RPC_STATUS_SUCCESS)
		return;
	op->tnfs_status = res->status;
	if (res->status != NFS3_OK)
		return;
	op->count = res->WRITE3res_u.resok.count;
	op->committed = res->WRITE3res_u.resok.committed;
	memcpy(op->verf, res->WRITE3res_u.resok.verf, sizeof(op->verf));
}

static void commit_cb(struct rpc_context *r, int status, void *data,
		      void *priv)
{
	struct op *op = priv;
	COMMIT3res *res = data;

	(void)r;
	op_done(op, status, data);
	if (status != RPC_STATUS_SUCCESS)
		return;
	op->tnfs_status = res->status;
	if (res->status == NFS3_OK)
		memcpy(op->verf, res->COMMIT3res_u.resok.verf,
		       sizeof(op->verf));
}

static void read_cb(struct rpc_context *r, int status, void *data,
		    void *priv)
{
	struct op *op = priv;
	READ3res *res = data;
	READ3resok *ok;

	(void)r;
	op_done(op, status, data);
	if (status != RPC_STATUS_SUCCESS)
		return;
	op->tnfs_status = res->status;
	if (res->status != NFS3_OK)
		return;
	ok = &res->READ3res_u.resok;
	op->count = ok->count;
	op->eof = ok->eof;
	if (ok->data.data_len <= op->data_len)
		memcpy(op->data, ok->data.data_val, ok->data.data_len);
}

static void null_cb(struct rpc_context *r, int status, void *data,
		    void *priv)
{
	(void)r;
	op_done(priv, status, data);
}


static void lookup_cb(struct rpc_context *r, int status, void *data,
		      void *priv)
{
	struct op *op = priv;
	LOOKUP3res *res = data;

	(void)r;
	op_done(op, status, data);
	if (status == RPC_STATUS_SUCCESS)
		op->tnfs_status = res->status;
}

static void getattr_cb(struct rpc_context *r, int status, void *data,
		       void *priv)
{
	struct op *op = priv;
	GETATTR3res *res = data;

	(void)r;
	op_done(op, status, data);
	if (status == RPC_STATUS_SUCCESS)
		op->tnfs_status = res->status;
}

/* the call never went out: complete it failed, so the test sees that */
static void queue_failed(struct op *op, const char *what, int ret)
{
	if (!ret)
		return;
	fprintf(stderr, "queue %s: %s\n", what, rpc_get_error(rpc));
	op->status = RPC_STATUS_ERROR;
	op->done = true;
}

void send_write(struct op *op, uint64_t off, const char *buf, uint32_t len,
		enum stable_how stable)
{
	WRITE3args a = {
		.file = fh3, .offset = off, .count = len, .stable = stable,
		.data = { .data_len = len, .data_val = (char *)buf },
	};

	memset(op, 0, sizeof(*op));
	queue_failed(op, "WRITE", rpc_nfs3_write_async(rpc, write_cb, &a, op));
}

void send_commit(struct op *op)
{
	COMMIT3args a = { .file = fh3 };

	memset(op, 0, sizeof(*op));
	queue_failed(op, "COMMIT",
		     rpc_nfs3_commit_async(rpc, commit_cb, &a, op));
}

void send_read(struct op *op, uint64_t off, char *buf, uint32_t len)
{
	READ3args a = { .file = fh3, .offset = off, .count = len };

	memset(op, 0, sizeof(*op));
	op->data = buf;
	op->data_len = len;
	queue_failed(op, "READ", rpc_nfs3_read_async(rpc, read_cb, &a, op));
}

void send_getattr(struct op *op)
{
	GETATTR3args a = { .object = fh3 };

	memset(op, 0, sizeof(*op));
	queue_failed(op, "GETATTR",
		     rpc_nfs3_getattr_async(rpc, getattr_cb, &a, op));
}

void send_null(struct op *op)
{
	memset(op, 0, sizeof(*op));
	queue_failed(op, "NULL", rpc_nfs3_null_async(rpc, null_cb, op));
}

void send_lookup(struct op *op, const char *name)
{
	LOOKUP3args a = { .what = { .dir = fh3, .name = (char *)name } };

	memset(op, 0, sizeof(*op));
	queue_failed(op, "LOOKUP",
		     rpc_nfs3_lookup_async(rpc, lookup_cb, &a, op));
}

bool all_done(const struct op *ops, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (!ops[i].done)
			return false;
	return true;
}

static char svc_error[256];

const char *service_error(void)
{
	return svc_error[0] ? svc_error : NULL;
}

bool service(struct op *ops, int n, unsigned int ms)
{
	uint64_t end = now_ms() + ms;

	svc_error[0] = '\0';
	while (!all_done(ops, n) && now_ms() < end) {
		struct pollfd pfd = {
			.fd = nfs_get_fd(nfs),
			.events = (short)nfs_which_events(nfs),
		};

		if (poll(&pfd, 1, 20) < 0 && errno != EINTR)
			break;
		if (nfs_service(nfs, pfd.revents) < 0) {
			snprintf(svc_error, sizeof(svc_error), "%s",
				 nfs_get_error(nfs));
			fprintf(stderr, "nfs_service: %s\n", svc_error);
			break;
		}
	}
	return all_done(ops, n);
}

/* ---- hand-made records on a bare socket ---- */

int raw_connect(void)
{
	struct sockaddr_in sin = {
		.sin_family = AF_INET,
		.sin_port = htons((uint16_t)proxy_port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	struct timeval tv = { .tv_sec = 10 };
	int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin))) {
		close(fd);
		return -1;
	}
	return fd;
}

void put32(struct rec *r, uint32_t v)
{
	r->b[r->len++] = v >> 24;
	r->b[r->len++] = v >> 16;
	r->b[r->len++] = v >> 8;
	r->b[r->len++] = v;
}

void put_opaque(struct rec *r, const void *p, uint32_t n)
{
	put32(r, n);
	memcpy(r->b + r->len, p, n);
	r->len += n;
	while (r->len & 3)
		r->b[r->len++] = 0;
}

void call_header(struct rec *r, uint32_t xid, uint32_t proc,
			bool auth_sys)
{
	put32(r, xid);
	put32(r, 0);			/* CALL */
	put32(r, 2);
	put32(r, 100003);
	put32(r, 3);
	put32(r, proc);
	if (auth_sys) {
		struct rec cred = { .len = 0 };

		put32(&cred, 12345);	/* stamp */
		put_opaque(&cred, "fpt", 3);
		put32(&cred, 0);
		put32(&cred, 0);
		put32(&cred, 1);
		put32(&cred, 0);
		put32(r, 1);		/* AUTH_SYS */
		put_opaque(r, cred.b, (uint32_t)cred.len);
	} else {
		put32(r, 0);
		put32(r, 0);
	}
	put32(r, 0);			/* verifier AUTH_NONE */
	put32(r, 0);
}


bool recv_all(int fd, unsigned char *b, size_t n)
{
	while (n) {
		ssize_t r = recv(fd, b, n, 0);

		if (r <= 0)
			return false;
		b += r;
		n -= (size_t)r;
	}
	return true;
}

bool send_rec(int fd, struct rec *r)
{
	uint32_t mark = 0x80000000u | (uint32_t)(r->len - 4);

	r->b[0] = mark >> 24;
	r->b[1] = mark >> 16;
	r->b[2] = mark >> 8;
	r->b[3] = mark;
	return send(fd, r->b, r->len, MSG_NOSIGNAL) == (ssize_t)r->len;
}

bool recv_rec(int fd, struct rec *r)
{
	unsigned char h[4];
	uint32_t mark;

	r->len = 0;
	if (!recv_all(fd, h, 4))
		return false;
	mark = (uint32_t)h[0] << 24 | h[1] << 16 | h[2] << 8 | h[3];
	if (!(mark & 0x80000000u) || (mark & 0x7fffffffu) > sizeof(r->b))
		return false;
	r->len = mark & 0x7fffffffu;
	if (recv_all(fd, r->b, r->len))
		return true;
	r->len = 0;
	return false;
}

uint32_t get32(const unsigned char *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
	       (uint32_t)b[2] << 8 | b[3];
}

uint32_t last32(const struct rec *r)
{
	return r->len >= 4 ? get32(r->b + r->len - 4) : 0;
}

bool send_raw_null(int fd, uint32_t xid)
{
	struct rec r = { .len = 4 };

	call_header(&r, xid, 0, false);
	return send_rec(fd, &r);
}

bool send_raw_io(int fd, uint32_t xid, uint32_t proc, uint64_t off,
		 uint32_t count)
{
	struct rec r = { .len = 4 };

	call_header(&r, xid, proc, true);
	put_opaque(&r, fh3.data.data_val, fh3.data.data_len);
	if (proc != NFS3_PROC_GETATTR) {
		put32(&r, (uint32_t)(off >> 32));
		put32(&r, (uint32_t)off);
		put32(&r, count);
	}
	return send_rec(fd, &r);
}

bool rpc_ok(const struct rec *r, uint32_t xid)
{
	return r->len >= NULL_REPLY_PAYLOAD && get32(r->b) == xid &&
	       get32(r->b + 4) == 1 && !get32(r->b + 8) &&
	       !get32(r->b + 16) && !get32(r->b + 20);
}

bool reply_ok(const struct rec *r, uint32_t xid)
{
	return rpc_ok(r, xid) && r->len >= 28 && !get32(r->b + 24);
}

size_t read_count_at(const struct rec *r, uint32_t xid)
{
	if (!reply_ok(r, xid) || r->len < 32)
		return 0;
	return get32(r->b + 28) ? 32 + 84 : 32;	/* post_op_attr */
}
