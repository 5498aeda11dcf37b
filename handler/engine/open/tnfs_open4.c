// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Opening the backing file over NFSv4.1: one blocking connection, a
 * session of one slot, the path looked up from the server's root (no
 * MOUNT: the path is the pseudo-fs path, as for a v4 mount), the file
 * opened for read and write (created with create=1), checked as v3
 * checks it, and everything closed again.  The same mistakes get the
 * same messages as with vers=3 (tnfs_open.c).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tnfs_open4.h"
#include "tnfs_peers.h"
#include "tnfs_region.h"
#include "tnfs_socket.h"
#include "tnfs_status.h"
#include "tnfs_xdr4.h"

#define OPEN_TIMEOUT_MS		15000
#define PROBE_TIMEOUT_MS	5000
#define NFS4_PORT		2049
/* the open path's replies are small: no READ data comes back */
#define BUF_SIZE		65536
#define MODE_0600		0600

#define ATTRS	(TNFS_FATTR4_BIT(TNFS_FATTR4_TYPE) | \
		 TNFS_FATTR4_BIT(TNFS_FATTR4_SIZE) | \
		 TNFS_FATTR4_BIT(TNFS_FATTR4_FILEID) | \
		 TNFS_FATTR4_BIT(TNFS_FATTR4_MAXREAD) | \
		 TNFS_FATTR4_BIT(TNFS_FATTR4_MAXWRITE) | \
		 TNFS_FATTR4_BIT(TNFS_FATTR4_MODE) | \
		 TNFS_FATTR4_BIT(TNFS_FATTR4_OWNER) | \
		 TNFS_FATTR4_BIT(TNFS_FATTR4_OWNER_GROUP))

/* One blocking NFSv4.1 client, alive for one open-time check. */
struct v4c {
	const struct tnfs_config *cfg;
	int fd;
	int timeout_ms;
	uint32_t xid;
	struct tnfs_xdr_cred cred;
	struct tnfs_xdr_auth auth;
	struct tnfs_xdr4_ctx ctx;
	char owner[TNFS_XDR4_OWNER_MAX];
	bool have_client, have_session, have_open;
	bool no_resvport;		/* every reserved port was taken */
	struct sockaddr_storage addr;
	socklen_t addr_len;
	unsigned char *buf;
	struct tnfs_xdr4_res res;
	/* what was found */
	struct tnfs_xdr_fh fh;
	struct tnfs_xdr4_attr attr;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint16_t nfs_port(const struct tnfs_config *cfg)
{
	return cfg->nfsport ? cfg->nfsport : NFS4_PORT;
}

static int v4c_connect(struct v4c *c, char *err, size_t err_len)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai;
	struct pollfd pfd = { .events = POLLOUT };
	char service[8];
	socklen_t sl = sizeof(int);
	unsigned int seed;
	int ret, e = 0, one = 1;

	snprintf(service, sizeof(service), "%u", nfs_port(c->cfg));
	ret = getaddrinfo(c->cfg->server, service, &hints, &ai);
	if (ret)
		return tnfs_err(err, err_len, -EHOSTUNREACH, "cannot reach "
				"NFS server %s (%s)", c->cfg->server,
				gai_strerror(ret));
	c->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK |
		       SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		e = errno;
		goto out;
	}
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* servers exporting with "secure" want a port below 1024 */
	seed = (unsigned int)now_ms() ^ (unsigned int)getpid();
	if (c->cfg->resvport)
		c->no_resvport = tnfs_bind_reserved(c->fd, ai->ai_family,
						    &seed) == -EADDRINUSE;
	memcpy(&c->addr, ai->ai_addr, ai->ai_addrlen);
	c->addr_len = ai->ai_addrlen;
	pfd.fd = c->fd;
	if (connect(c->fd, ai->ai_addr, ai->ai_addrlen) && errno != EINPROGRESS)
		e = errno;
	else if (poll(&pfd, 1, c->timeout_ms < 3000 ? c->timeout_ms : 3000)
		 == 0)
		e = ETIMEDOUT;
	else
		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &sl);
out:
	freeaddrinfo(ai);
	if (e)
		return tnfs_err(err, err_len, -EHOSTUNREACH, "cannot reach "
				"NFS server %s (TCP port %u: %s; vers=4.%u "
				"needs no portmapper nor MOUNT, only "
				"nfsport, default %u)", c->cfg->server,
				nfs_port(c->cfg), strerror(e),
				c->ctx.minor, NFS4_PORT);
	return 0;
}

/* All of @len bytes of @b, or of the socket, within the deadline. */
static int io_all(struct v4c *c, void *b, size_t len, bool out,
		  uint64_t deadline)
{
	struct pollfd pfd = { .fd = c->fd, .events = out ? POLLOUT : POLLIN };
	size_t done = 0;
	ssize_t n;
	int left;

	while (done < len) {
		n = out ? send(c->fd, (char *)b + done, len - done,
			       MSG_NOSIGNAL) :
			  recv(c->fd, (char *)b + done, len - done, 0);
		if (n > 0) {
			done += (size_t)n;
			continue;
		}
		if (n == 0)
			return -ECONNRESET;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return -errno;
		left = (int)(deadline > now_ms() ? deadline - now_ms() : 0);
		if (!left || poll(&pfd, 1, left) == 0)
			return -ETIMEDOUT;
	}
	return 0;
}

/* Send the COMPOUND in @e, receive and decode its reply into c->res. */
static int v4c_call(struct v4c *c, struct tnfs_xdr4_enc *e, const char *what,
		    char *err, size_t err_len)
{
	uint64_t deadline = now_ms() + (uint64_t)c->timeout_ms;
	size_t len = tnfs_xdr4_end(e, 0), got = 0;
	unsigned char mark[4];
	char hint[TNFS_PEER_HINT_LEN];
	uint32_t m, flen, xid;
	int ret;

	if (!len)
		return tnfs_err(err, err_len, -ENAMETOOLONG, "%s: the path "
				"%s is too long for one COMPOUND", what,
				c->cfg->path);
	ret = io_all(c, c->buf, len, true, deadline);
	for (m = 0; !ret && !(m & TNFS_XDR_LAST_FRAG);) {
		ret = io_all(c, mark, 4, false, deadline);
		if (ret)
			break;
		m = (uint32_t)mark[0] << 24 | (uint32_t)mark[1] << 16 |
		    (uint32_t)mark[2] << 8 | mark[3];
		flen = m & ~TNFS_XDR_LAST_FRAG;
		if (flen > BUF_SIZE - got) {
			ret = -EMSGSIZE;
			break;
		}
		ret = io_all(c, c->buf + got, flen, false, deadline);
		got += flen;
	}
	if (ret) {
		/* the stream is out of step: nothing more on it */
		close(c->fd);
		c->fd = -1;
		return tnfs_err(err, err_len, -EHOSTUNREACH, "NFS server %s: "
				"%s: %s%s", c->cfg->server, what,
				strerror(-ret),
				tnfs_peer_hint(&c->addr, hint, sizeof(hint)));
	}
	memset(&c->res, 0, sizeof(c->res));
	if (!tnfs_xdr_reply_xid(c->buf, got, &xid) || xid != c->xid ||
	    tnfs_xdr4_decode(c->buf, got, e->ops, e->nops, 0, &c->res)) {
		close(c->fd);
		c->fd = -1;
		return tnfs_err(err, err_len, -EPROTO, "NFS server %s: %s: "
				"a reply that does not decode (%s)",
				c->cfg->server, what, c->res.r.why ?
				c->res.r.why : "another XID");
	}
	if (c->res.r.rpc != TNFS_XDR_RPC_OK) {
		ret = tnfs_xdr_result(&c->res.r);
		if (ret == TNFS_IO_ERR_AUTH && c->no_resvport)
			return tnfs_err(err, err_len, -EADDRINUSE,
					"NFS server %s refuses this client "
					"(%s): no reserved port (%u-%u) was "
					"free on this host to connect from, "
					"and a server exporting \"secure\" "
					"refuses others; they are held by "
					"this host's connections (one per "
					"device and nconnect=); where the "
					"export allows any port (knfsd: "
					"insecure) set resvport=0",
					c->cfg->server, what,
					TNFS_RESERVED_LOW, TNFS_RESERVED_HIGH);
		if (ret == TNFS_IO_ERR_AUTH)
			return tnfs_err(err, err_len, -EACCES, "NFS server %s "
					"refuses the credentials uid %u gid %u "
					"(%s)", c->cfg->server, c->cfg->uid,
					c->cfg->gid, what);
		return tnfs_err(err, err_len, -EPROTONOSUPPORT, "NFS server "
				"%s does not offer NFSv4.%u (%s: %s)",
				c->cfg->server, c->ctx.minor, what,
				tnfs_status_name(ret));
	}
	/* the one slot's sequence moves on whenever SEQUENCE ran */
	if (c->res.r.seq && !c->res.r.seq_status)
		c->ctx.seqid++;
	return 0;
}

static void v4c_begin(struct v4c *c, struct tnfs_xdr4_enc *e, bool seq)
{
	tnfs_xdr4_begin(e, c->buf, BUF_SIZE, ++c->xid, &c->auth, c->ctx.minor);
	if (seq)
		tnfs_xdr4_op_sequence(e, &c->ctx);
}

/* An error status of the reply: its nfsstat4 (already decoded). */
static uint32_t v4c_status(const struct v4c *c)
{
	return c->res.r.status;
}

/*
 * A call the server said "not now" to is asked again after @wait_ms
 * (doubled each time, at most 1 s), unless that would pass @until.
 */
static bool wait_again(uint64_t until, unsigned int *wait_ms)
{
	if (now_ms() + *wait_ms >= until)
		return false;
	usleep(*wait_ms * 1000);
	*wait_ms = *wait_ms * 2 > 1000 ? 1000 : *wait_ms * 2;
	return true;
}

/*
 * EXCHANGE_ID, asked again while the server says DELAY (backing off
 * from 100 ms to 1 s, for as long as this client's time allows): knfsd
 * says so when it holds as many clients as it allows, until it has
 * dropped the ones whose leases expired.
 */
static int v4c_exchange_id(struct v4c *c, char *err, size_t err_len)
{
	uint64_t until = now_ms() + (uint64_t)c->timeout_ms;
	unsigned int wait_ms = 100;
	struct tnfs_xdr4_enc e;
	int ret;

	for (;;) {
		v4c_begin(c, &e, false);
		tnfs_xdr4_op_exchange_id(&e, &c->ctx);
		ret = v4c_call(c, &e, "EXCHANGE_ID", err, err_len);
		if (ret || v4c_status(c) != TNFS_NFS3ERR_JUKEBOX)
			return ret;
		if (!wait_again(until, &wait_ms))
			return tnfs_err(err, err_len, -EAGAIN, "NFS server %s "
					"keeps answering EXCHANGE_ID with "
					"NFS4ERR_DELAY: it may hold as many "
					"NFSv4 clients as it allows (knfsd: "
					"1 024 per GiB of its memory): each "
					"vers=4.1/4.2 device is one, the "
					"share=1 devices of one uid:gid one "
					"for all",
					c->cfg->server);
	}
}

static int v4c_session(struct v4c *c, char *err, size_t err_len)
{
	struct tnfs_xdr4_enc e;
	int ret;

	ret = v4c_exchange_id(c, err, err_len);
	if (ret)
		return ret;
	if (v4c_status(c) == TNFS_NFS4ERR_MINOR_VERS_MISMATCH)
		return tnfs_err(err, err_len, -EPROTONOSUPPORT, "NFS server "
				"%s does not offer NFSv4.%u (use vers=3, or "
				"enable 4.%u on the server)", c->cfg->server,
				c->ctx.minor, c->ctx.minor);
	if (v4c_status(c))
		return tnfs_err(err, err_len, -EPROTO, "NFS server %s: "
				"EXCHANGE_ID refused: %s (%" PRIu32 ")",
				c->cfg->server,
				tnfs_status_name((int)v4c_status(c)),
				v4c_status(c));
	c->ctx.clientid = c->res.clientid;
	c->ctx.cs_seq = c->res.eir_seq;
	c->have_client = true;

	v4c_begin(c, &e, false);
	tnfs_xdr4_op_create_session(&e, &c->ctx);
	ret = v4c_call(c, &e, "CREATE_SESSION", err, err_len);
	if (ret)
		return ret;
	if (v4c_status(c))
		return tnfs_err(err, err_len, -EPROTO, "NFS server %s: "
				"CREATE_SESSION refused: %s (%" PRIu32 ")",
				c->cfg->server,
				tnfs_status_name((int)v4c_status(c)),
				v4c_status(c));
	memcpy(c->ctx.sessionid, c->res.sessionid, TNFS_XDR4_SESSIONID);
	c->have_session = true;
	c->ctx.seqid = 1;

	/* non-reclaim opens are refused until this */
	v4c_begin(c, &e, true);
	tnfs_xdr4_op_reclaim_complete(&e);
	ret = v4c_call(c, &e, "RECLAIM_COMPLETE", err, err_len);
	if (ret)
		return ret;
	if (v4c_status(c) && v4c_status(c) != TNFS_NFS4ERR_COMPLETE_ALREADY)
		return tnfs_err(err, err_len, -EPROTO, "NFS server %s: "
				"RECLAIM_COMPLETE refused: %s",
				c->cfg->server,
				tnfs_status_name((int)v4c_status(c)));
	return 0;
}

static int access_err(const struct v4c *c, const char *what, bool attrs,
		      char *err, size_t err_len)
{
	const struct tnfs_config *cfg = c->cfg;
	char owner[128] = "";

	/* numeric as v3 says it; else the names the server gave */
	if (attrs && c->attr.owner != UINT32_MAX &&
	    c->attr.group != UINT32_MAX)
		snprintf(owner, sizeof(owner), " (file owner %u:%u, mode "
			 "%04o)", c->attr.owner, c->attr.group,
			 c->attr.mode & 07777);
	else if (attrs && c->attr.owner_name[0])
		snprintf(owner, sizeof(owner), " (file owner %.40s:%.40s, "
			 "mode %04o)", c->attr.owner_name,
			 c->attr.group_name, c->attr.mode & 07777);
	return tnfs_err(err, err_len, -EACCES,
			"permission denied %s %s as uid %u gid %u%s; on a "
			"root-squashing export set uid= and gid= to the file "
			"owner's", what, cfg->path, cfg->uid, cfg->gid, owner);
}

/*
 * PUTROOTFH and a LOOKUP of each component of cfg->path but the last
 * @skip_last ones.  Returns how many LOOKUPs were added.
 */
static unsigned int add_lookups(struct v4c *c, struct tnfs_xdr4_enc *e,
				unsigned int skip_last)
{
	const char *p = c->cfg->path, *slash;
	unsigned int n = 0, total = 0;

	for (slash = p; *slash; slash++)
		total += *slash == '/';
	tnfs_xdr4_op_putrootfh(e);
	while (*p == '/' && n + skip_last < total) {
		p++;
		slash = strchrnul(p, '/');
		tnfs_xdr4_op_lookup(e, p, (size_t)(slash - p));
		n++;
		p = slash;
	}
	return n;
}

static const char *last_component(const struct tnfs_config *cfg)
{
	return strrchr(cfg->path, '/') + 1;
}

/*
 * Look the file up: its handle and attributes.  -ENOENT (with the v3
 * message) when the file is missing and create=1 is not set; 1 when it
 * is missing and create=1 is.
 */
static int v4c_lookup(struct v4c *c, char *err, size_t err_len)
{
	const struct tnfs_config *cfg = c->cfg;
	struct tnfs_xdr4_enc e;
	unsigned int n, failed_at;
	uint32_t st;
	int ret;

	v4c_begin(c, &e, true);
	n = add_lookups(c, &e, 0);
	tnfs_xdr4_op_getfh(&e);
	tnfs_xdr4_op_getattr(&e, ATTRS);
	ret = v4c_call(c, &e, "LOOKUP", err, err_len);
	if (ret)
		return ret;
	st = v4c_status(c);
	/* SEQUENCE, PUTROOTFH, then the LOOKUPs: which one failed */
	failed_at = c->res.nres >= 3 ? c->res.nres - 3 : 0;
	/*
	 * As v3, which mounts the deepest directory it can: past the
	 * export, a missing directory is a missing file (create=1 then
	 * fails to create it).
	 */
	if (st == TNFS_NFS3ERR_NOENT && c->res.r.fail_op == TNFS_OP4_LOOKUP &&
	    failed_at >= 1 && n)
		return cfg->create ? 1 :
		       tnfs_err(err, err_len, -ENOENT, "backing file %s does "
				"not exist on %s (add create=1 to create it)",
				cfg->path, cfg->server);
	if (st == TNFS_NFS3ERR_ACCES || st == TNFS_NFS3ERR_PERM)
		return access_err(c, "looking up", false, err, err_len);
	if (st && c->res.r.fail_op == TNFS_OP4_LOOKUP)
		return tnfs_err(err, err_len, -ENOENT, "NFS server %s has no "
				"export containing %s, or refuses this client "
				"(LOOKUP: %s)", cfg->server, cfg->path,
				tnfs_status_name((int)st));
	if (st)
		return tnfs_err(err, err_len, -EIO, "cannot look up %s: %s "
				"(%" PRIu32 ")", cfg->path,
				tnfs_status_name((int)st), st);
	c->fh = c->res.fh;
	c->attr = c->res.attr;
	if (!c->res.have_fh || !(c->attr.mask & TNFS_FATTR4_BIT(
				 TNFS_FATTR4_TYPE)))
		return tnfs_err(err, err_len, -EPROTO, "NFS server %s sent no "
				"handle or type for %s", cfg->server,
				cfg->path);
	if (c->attr.type != 1)
		return tnfs_err(err, err_len, -EINVAL, "backing file %s is not "
				"a regular file", cfg->path);
	return 0;
}

/* OPEN for read and write: by handle, or creating it (@create) */
/* One OPEN; @st: the server's status when it was GRACE or DELAY. */
static int v4c_open_once(struct v4c *c, bool create, char *err,
			 size_t err_len, uint32_t *st_out)
{
	const struct tnfs_config *cfg = c->cfg;
	const char *name = last_component(cfg);
	struct tnfs_xdr4_enc e;
	uint32_t st;
	int ret;

	*st_out = 0;
	v4c_begin(c, &e, true);
	if (create) {
		add_lookups(c, &e, 1);
		/* GUARDED: an existing file is never taken over */
		tnfs_xdr4_op_open(&e, &c->ctx, 0, name, strlen(name), 1,
				  MODE_0600, NULL);
		tnfs_xdr4_op_getfh(&e);
		tnfs_xdr4_op_getattr(&e, ATTRS);
	} else {
		tnfs_xdr4_op_putfh(&e, &c->fh);
		tnfs_xdr4_op_open(&e, &c->ctx, 4, NULL, 0, 0, 0, NULL);
	}
	ret = v4c_call(c, &e, "OPEN", err, err_len);
	if (ret)
		return ret;
	st = v4c_status(c);
	if (st == TNFS_NFS4ERR_GRACE || st == TNFS_NFS3ERR_JUKEBOX) {
		*st_out = st;
		return 0;
	}
	if (st == TNFS_NFS3ERR_ACCES || st == TNFS_NFS3ERR_PERM)
		return access_err(c, create ? "creating" :
				  "opening for read/write", !create, err,
				  err_len);
	if (st)
		return tnfs_err(err, err_len, -EIO, "cannot %s %s: %s (%"
				PRIu32 ")", create ? "create" : "open",
				cfg->path, tnfs_status_name((int)st), st);
	c->ctx.stateid = c->res.stateid;
	c->have_open = true;
	if (create) {
		c->fh = c->res.fh;
		c->attr = c->res.attr;
	}
	return 0;
}

/*
 * A server just restarted is in its grace period (NFS4ERR_GRACE: no new
 * open until the old clients had their chance, 10 s to 90 s), or busy
 * (DELAY): the OPEN is asked again, backing off from 100 ms to 1 s, for
 * as long as this client's time allows.  Returns -EAGAIN, the reason in
 * @err, when it ran out: the caller decides what that means.
 */
static int v4c_open(struct v4c *c, bool create, char *err, size_t err_len)
{
	uint64_t until = now_ms() + (uint64_t)c->timeout_ms;
	unsigned int wait_ms = 100;
	uint32_t st;
	int ret;

	for (;;) {
		ret = v4c_open_once(c, create, err, err_len, &st);
		if (ret || (st != TNFS_NFS4ERR_GRACE &&
			    st != TNFS_NFS3ERR_JUKEBOX))
			return ret;
		if (!wait_again(until, &wait_ms))
			return tnfs_err(err, err_len, -EAGAIN, "cannot open "
					"%s yet: NFS server %s is in its grace "
					"period after a restart (%s), in which "
					"it opens nothing new (knfsd: 90 s by "
					"default); try again when it ends",
					c->cfg->path, c->cfg->server,
					tnfs_status_name((int)st));
	}
}

static int v4c_set_size(struct v4c *c, uint64_t size, char *err,
			size_t err_len)
{
	struct tnfs_xdr4_enc e;
	int ret;

	v4c_begin(c, &e, true);
	tnfs_xdr4_op_putfh(&e, &c->fh);
	tnfs_xdr4_op_setattr_size(&e, &c->ctx.stateid, size);
	tnfs_xdr4_op_getattr(&e, ATTRS);
	ret = v4c_call(c, &e, "SETATTR", err, err_len);
	if (ret)
		return ret;
	if (v4c_status(c))
		return tnfs_err(err, err_len, -EIO, "cannot size %s to %"
				PRIu64 " bytes: %s", c->cfg->path, size,
				tnfs_status_name((int)v4c_status(c)));
	c->attr = c->res.attr;
	return 0;
}

/* Whatever was made, undone; the connection closed.  Best effort. */
static void v4c_close(struct v4c *c)
{
	struct tnfs_xdr4_enc e;
	char err[64];

	if (c->fd >= 0 && c->have_open) {
		v4c_begin(c, &e, true);
		tnfs_xdr4_op_putfh(&e, &c->fh);
		tnfs_xdr4_op_close(&e, &c->ctx.stateid);
		v4c_call(c, &e, "CLOSE", err, sizeof(err));
	}
	if (c->fd >= 0 && c->have_session) {
		v4c_begin(c, &e, false);
		tnfs_xdr4_op_destroy_session(&e, &c->ctx);
		v4c_call(c, &e, "DESTROY_SESSION", err, sizeof(err));
	}
	if (c->fd >= 0 && c->have_client) {
		v4c_begin(c, &e, false);
		tnfs_xdr4_op_destroy_clientid(&e, &c->ctx);
		v4c_call(c, &e, "DESTROY_CLIENTID", err, sizeof(err));
	}
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	free(c->buf);
	c->buf = NULL;
}

static int v4c_init(struct v4c *c, const struct tnfs_config *cfg,
		    int timeout_ms, char *err, size_t err_len)
{
	memset(c, 0, sizeof(*c));
	c->cfg = cfg;
	c->fd = -1;
	c->timeout_ms = timeout_ms;
	c->xid = (uint32_t)now_ms() * 2654435761u ^ (uint32_t)getpid();
	c->cred.uid = cfg->uid;
	c->cred.gid = cfg->gid;
	if (gethostname(c->cred.machine, sizeof(c->cred.machine) - 1))
		snprintf(c->cred.machine, sizeof(c->cred.machine),
			 "tcmu-nfs");
	tnfs_xdr_prepare(&c->auth, &c->cred, &c->fh);
	snprintf(c->owner, sizeof(c->owner), "tcmu-nfs-open/%.48s/%d/%08x",
		 c->cred.machine, (int)getpid(), c->xid);
	c->ctx.owner = c->owner;
	c->ctx.minor = cfg->vers == TNFS_VERS_42 ? 2 : 1;
	c->ctx.slots = 1;
	c->ctx.max_req = c->ctx.max_resp = BUF_SIZE;
	memcpy(c->ctx.verifier, &c->xid, sizeof(c->xid));
	c->buf = malloc(BUF_SIZE);
	if (!c->buf)
		return tnfs_err(err, err_len, -ENOMEM, "out of memory");
	return 0;
}

/* Connect, a session, the file looked up (1: missing, create=1). */
static int v4c_start(struct v4c *c, const struct tnfs_config *cfg,
		     int timeout_ms, char *err, size_t err_len)
{
	int ret = v4c_init(c, cfg, timeout_ms, err, err_len);

	if (!ret)
		ret = v4c_connect(c, err, err_len);
	if (!ret)
		ret = v4c_session(c, err, err_len);
	if (!ret)
		ret = v4c_lookup(c, err, err_len);
	return ret;
}

static int check_region(struct v4c *c, const struct tnfs_open_params *p,
			const struct tnfs_logger *log, char *err,
			size_t err_len)
{
	struct tnfs_region r = {
		.offset = p->cfg->offset,
		.dev_size = p->dev_size,
		.block_size = p->block_size,
		.file_size = c->attr.size,
	};

	return tnfs_region_check_file(&r, p->cfg->path, log, err, err_len);
}

/*
 * NFSv4.2: does the server take DEALLOCATE?  Asked of the byte at the
 * file's end, where there is nothing to lose whatever the answer (it
 * never changes the size).  A 4.2 server without it says NOTSUPP, one
 * that knows only 4.1's operations OP_ILLEGAL; anything but success is
 * taken for no, and said.
 */
static bool v4c_can_dealloc(struct v4c *c, const struct tnfs_logger *log)
{
	struct tnfs_xdr4_enc e;
	char err[200];
	uint32_t st;

	v4c_begin(c, &e, true);
	tnfs_xdr4_op_putfh(&e, &c->fh);
	tnfs_xdr4_op_deallocate(&e, &c->ctx.stateid, c->attr.size, 1);
	if (v4c_call(c, &e, "DEALLOCATE", err, sizeof(err))) {
		tnfs_log(log, TNFS_LOG_WARN, "%s: no UNMAP (%s)", c->cfg->path,
			 err);
		return false;
	}
	st = v4c_status(c);
	if (st == TNFS_NFS3ERR_NOTSUPP || st == TNFS_NFS4ERR_OP_ILLEGAL) {
		tnfs_log(log, TNFS_LOG_INFO, "%s: the server does not take "
			 "NFSv4.2 DEALLOCATE: no UNMAP", c->cfg->path);
		return false;
	}
	if (st) {
		tnfs_log(log, TNFS_LOG_WARN, "%s: DEALLOCATE at the file's "
			 "end failed (%s): no UNMAP", c->cfg->path,
			 tnfs_status_name((int)st));
		return false;
	}
	return true;
}

int tnfs_open4_backing(const struct tnfs_open_params *p,
		       const struct tnfs_logger *log, struct tnfs_backing *b,
		       char *err, size_t err_len)
{
	const struct tnfs_config *cfg = p->cfg;
	struct tnfs_transport_params *tp = &b->tp;
	uint64_t size = cfg->offset + p->dev_size;
	struct v4c c;
	int ret;

	ret = v4c_start(&c, cfg, OPEN_TIMEOUT_MS, err, err_len);
	if (ret == 1) {
		ret = v4c_open(&c, true, err, err_len);
		if (!ret)
			ret = v4c_set_size(&c, size, err, err_len);
		if (!ret)
			tnfs_log(log, TNFS_LOG_INFO, "created %s (%" PRIu64
				 " bytes, owner %u:%u)", cfg->path, size,
				 cfg->uid, cfg->gid);
	} else if (!ret) {
		ret = v4c_open(&c, false, err, err_len);
	}
	if (ret)
		goto out;
	ret = check_region(&c, p, log, err, err_len);
	if (ret)
		goto out;
	tp->fh = c.fh;
	tp->fileid = c.attr.fileid;
	tp->min_size = size;
	tp->cred = c.cred;
	tp->addr = c.addr;
	tp->addr_len = c.addr_len;
	tp->v4_minor = c.ctx.minor;
	b->rmax = tnfs_region_clamp_io(c.attr.maxread ? c.attr.maxread :
				       TNFS_REGION_MAX_IO);
	b->wmax = tnfs_region_clamp_io(c.attr.maxwrite ? c.attr.maxwrite :
				       TNFS_REGION_MAX_IO);
	b->can_dealloc = c.ctx.minor >= 2 && v4c_can_dealloc(&c, log);
out:
	v4c_close(&c);
	return ret;
}

int tnfs_open4_probe(const struct tnfs_open_params *p,
		     char *err, size_t err_len)
{
	struct v4c c;
	int ret;

	ret = v4c_start(&c, p->cfg, PROBE_TIMEOUT_MS, err, err_len);
	if (ret == 1) {
		ret = 0;		/* missing, create=1: made at open */
		goto out;
	}
	if (!ret)
		ret = v4c_open(&c, false, err, err_len);
	/* the file is there (its attributes too), the open after the grace */
	if (ret == -EAGAIN)
		ret = 0;
	if (!ret)
		ret = check_region(&c, p, NULL, err, err_len);
out:
	v4c_close(&c);
	return ret;
}

int tnfs_open4_lookup(const struct tnfs_open_params *p, struct tnfs_xdr_fh *fh,
		      uint64_t *fileid, char *err, size_t err_len)
{
	struct v4c c;
	int ret;

	ret = v4c_start(&c, p->cfg, PROBE_TIMEOUT_MS, err, err_len);
	if (ret == 1)
		ret = tnfs_err(err, err_len, -ENOENT, "backing file %s is gone "
			       "from %s", p->cfg->path, p->cfg->server);
	if (!ret) {
		*fh = c.fh;
		*fileid = c.attr.fileid;
	}
	v4c_close(&c);
	return ret;
}

int tnfs_open4_check_grow(const struct tnfs_open_params *p,
			  const struct tnfs_logger *log, uint64_t fileid,
			  char *err, size_t err_len)
{
	const struct tnfs_config *cfg = p->cfg;
	uint64_t end = cfg->offset + p->dev_size, was;
	struct v4c c;
	int ret;

	ret = v4c_start(&c, cfg, OPEN_TIMEOUT_MS, err, err_len);
	if (ret == 1)
		ret = tnfs_err(err, err_len, -ENOENT, "backing file %s is gone "
			       "from %s", cfg->path, cfg->server);
	if (ret)
		goto out;
	if (c.attr.fileid != fileid) {
		ret = tnfs_err(err, err_len, -ESTALE, "%s is another file now "
			       "(fileid %" PRIu64 ", was %" PRIu64 ")",
			       cfg->path, c.attr.fileid, fileid);
		goto out;
	}
	was = c.attr.size;
	if (was < end && cfg->create) {
		/* sparse, as at create: the server allocates on write */
		ret = v4c_open(&c, false, err, err_len);
		if (!ret)
			ret = v4c_set_size(&c, end, err, err_len);
		if (ret)
			goto out;
		tnfs_log(log, TNFS_LOG_INFO, "extended %s from %" PRIu64 " to %"
			 PRIu64 " bytes (create=1)", cfg->path, was, end);
	}
	ret = check_region(&c, p, log, err, err_len);
out:
	v4c_close(&c);
	return ret;
}
