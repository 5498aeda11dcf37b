// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Opening the backing file: every way this can fail gets its own message,
 * because it is what a user reads after a failed targetcli create.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nfsc/libnfs.h>
#include <nfsc/libnfs-raw.h>
#include <nfsc/libnfs-raw-nfs.h>

#include "tnfs_open.h"
#include "tnfs_open4.h"
#include "tnfs_peers.h"
#include "tnfs_region.h"
#include "tnfs_socket.h"

/* What the open path holds while it checks; nothing outlives it. */
struct tnfs_opener {
	struct nfs_context *nfs;
	struct nfsfh *nfsfh;
	const struct tnfs_logger *log;
	uint64_t fileid;
};

/* Bounds each blocking call of the open path; the engine has its own. */
#define TNFS_OPEN_TIMEOUT_MS	15000
/* check_config answers targetcli over D-Bus, which gives up after 25 s */
#define TNFS_PROBE_TIMEOUT_MS	5000

/*
 * libnfs 4.0 hands out struct nfs_fh (nfs_get_fh) but defines it only in
 * its private header; this is that definition.  connect checks the length
 * it finds against NFS3_FHSIZE, so a layout change fails the open loudly.
 */
struct nfs_fh {
	int len;
	char *val;
};

static struct nfs_context *new_context(const struct tnfs_config *cfg,
					int timeout_ms)
{
	struct nfs_context *nfs = nfs_init_context();
	struct nfs_url *url;
	char opts[160];
	int n;

	if (!nfs)
		return NULL;
	/* libnfs 4.0 takes the ports only through a URL */
	n = snprintf(opts, sizeof(opts), "nfs://%s/x?uid=%u&gid=%u",
		     cfg->server, cfg->uid, cfg->gid);
	if (cfg->nfsport)
		n += snprintf(opts + n, sizeof(opts) - n, "&nfsport=%u",
			      cfg->nfsport);
	if (cfg->mountport)
		snprintf(opts + n, sizeof(opts) - n, "&mountport=%u",
			 cfg->mountport);
	url = nfs_parse_url_full(nfs, opts);
	if (!url) {
		nfs_destroy_context(nfs);
		return NULL;
	}
	nfs_destroy_url(url);
	nfs_set_uid(nfs, (int)cfg->uid);
	nfs_set_gid(nfs, (int)cfg->gid);
	/* no client cache: the initiator caches, and other hosts may write */
	nfs_set_readahead(nfs, 0);
	nfs_set_pagecache(nfs, 0);
	nfs_set_timeout(nfs, timeout_ms);
	return nfs;
}

/*
 * libnfs says only "nfs_service failed" when it cannot connect: try the
 * port ourselves, to tell "connection refused" from "no route" or a
 * timeout, or an unknown host name.
 */
static void probe_port(const char *server, uint16_t port, char *why,
		       size_t len, unsigned int *held)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai;
	struct pollfd pfd = { .events = POLLOUT };
	struct sockaddr_storage ss;
	char service[8];
	socklen_t sl = sizeof(int);
	int ret, err = 0;

	*held = 0;
	snprintf(service, sizeof(service), "%u", port);
	ret = getaddrinfo(server, service, &hints, &ai);
	if (ret) {
		snprintf(why, len, "%s", gai_strerror(ret));
		return;
	}
	pfd.fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK |
			SOCK_CLOEXEC, 0);
	if (pfd.fd < 0) {
		err = errno;
	} else if (connect(pfd.fd, ai->ai_addr, ai->ai_addrlen) &&
		   errno != EINPROGRESS) {
		err = errno;
	} else if (poll(&pfd, 1, 3000) == 0) {
		err = ETIMEDOUT;
	} else {
		getsockopt(pfd.fd, SOL_SOCKET, SO_ERROR, &err, &sl);
	}
	if (pfd.fd >= 0)
		close(pfd.fd);
	memcpy(&ss, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(ai);
	if (err)
		snprintf(why, len, "TCP port %u: %s", port, strerror(err));
	else
		snprintf(why, len, "TCP port %u answers", port);
	*held = err ? 0 : tnfs_peer_count(&ss);
}

static bool export_refused(int ret)
{
	return ret == -EACCES || ret == -ENOENT || ret == -EPERM ||
	       ret == -ENOTDIR;
}

/*
 * The string does not say where the export ends: mount the file's
 * directory, then each parent, as the kernel client would for a subtree.
 * Returns the length of the mounted export within cfg->path.
 */
static int mount_export(struct tnfs_opener *o, const struct tnfs_config *cfg,
			int timeout_ms, size_t *export_len,
			char *err, size_t err_len)
{
	char *dir = strdup(cfg->path), *slash;
	int ret = -ENOMEM, first = 0;
	char first_msg[256] = "";

	if (!dir)
		return tnfs_err(err, err_len, -ENOMEM, "out of memory");
	while ((slash = strrchr(dir, '/')) && slash != dir) {
		*slash = '\0';
		o->nfs = new_context(cfg, timeout_ms);
		if (!o->nfs) {
			ret = tnfs_err(err, err_len, -ENOMEM,
				       "cannot create an NFS context");
			goto out;
		}
		ret = nfs_mount(o->nfs, cfg->server, dir);
		if (!ret) {
			*export_len = strlen(dir);
			goto out;
		}
		if (!first) {
			first = ret;
			snprintf(first_msg, sizeof(first_msg), "%s",
				 nfs_get_error(o->nfs));
		}
		nfs_destroy_context(o->nfs);
		o->nfs = NULL;
		if (!export_refused(ret))
			break;
	}
	if (export_refused(first))
		ret = tnfs_err(err, err_len, -ENOENT,
			       "NFS server %s has no export containing %s, or "
			       "refuses this client (%s)", cfg->server,
			       cfg->path, first_msg);
	else if (tnfs_reserved_exhausted(AF_INET))
		/*
		 * libnfs connects from a port it finds below 1024, else from
		 * any: a server that wants one then refuses the MOUNT, and
		 * the server is not what failed.
		 */
		ret = tnfs_err(err, err_len, -EADDRINUSE,
			       "cannot mount %s from NFS server %s: no "
			       "reserved port (%u-%u) is free on this host to "
			       "connect from, and a server exporting "
			       "\"secure\" refuses others; they are held by "
			       "this host's connections (one per device and "
			       "nconnect=): share=1 (the devices then share "
			       "connections), or vers=4.1 with resvport=0 "
			       "where the export allows any port (knfsd: "
			       "insecure) (%s)", cfg->path,
			       cfg->server, TNFS_RESERVED_LOW,
			       TNFS_RESERVED_HIGH, first_msg);
	else {
		char why[128];
		unsigned int held;

		/* MOUNT goes first: to mountport, or via the portmapper */
		probe_port(cfg->server, cfg->mountport ? cfg->mountport : 111,
			   why, sizeof(why), &held);
		if (held >= TNFS_PEERS_MANY)
			ret = tnfs_err(err, err_len, -ECONNRESET, "cannot "
				       "mount %s: NFS server %s closed the "
				       "connection (%s); this process holds "
				       "%u connections to it (one per device "
				       "and nconnect=), and a server at its "
				       "limit does that (ganesha: "
				       "RPC_Max_Connections, default 1024; "
				       "knfsd: 20 per nfsd thread, plus 60); "
				       "share=1 puts the devices on shared "
				       "connections (%s)", cfg->path,
				       cfg->server, why,
				       held, first_msg);
		else
			ret = tnfs_err(err, err_len, -EHOSTUNREACH,
				       "cannot reach NFS server %s (%s; "
				       "nfsport %u, mountport %u, 0 = "
				       "portmapper): %s", cfg->server, why,
				       cfg->nfsport, cfg->mountport,
				       first_msg);
	}
out:
	free(dir);
	return ret;
}

static int access_err(const struct tnfs_config *cfg, const char *what,
		      const struct nfs_stat_64 *st, char *err, size_t err_len)
{
	char owner[96] = "";

	if (st)
		snprintf(owner, sizeof(owner), " (file owner %" PRIu64 ":%"
			 PRIu64 ", mode %04" PRIo64 ")", st->nfs_uid,
			 st->nfs_gid, st->nfs_mode & 07777);
	return tnfs_err(err, err_len, -EACCES,
			"permission denied %s %s as uid %u gid %u%s; on a "
			"root-squashing export set uid= and gid= to the file "
			"owner's", what, cfg->path, cfg->uid, cfg->gid, owner);
}

static int create_file(struct tnfs_opener *o, const struct tnfs_config *cfg,
		       const char *rel, uint64_t size,
		       char *err, size_t err_len)
{
	int ret;

	ret = nfs_create(o->nfs, rel, O_RDWR | O_CREAT | O_EXCL, 0600,
			 &o->nfsfh);
	if (ret == -EACCES || ret == -EPERM)
		return access_err(cfg, "creating", NULL, err, err_len);
	if (ret)
		return tnfs_err(err, err_len, ret, "cannot create %s: %s",
				cfg->path, nfs_get_error(o->nfs));
	/* sparse: the server allocates on first write */
	ret = nfs_ftruncate(o->nfs, o->nfsfh, size);
	if (ret)
		return tnfs_err(err, err_len, ret, "cannot size new file %s to "
				"%" PRIu64 " bytes: %s", cfg->path, size,
				nfs_get_error(o->nfs));
	tnfs_log(o->log, TNFS_LOG_INFO, "created %s (%" PRIu64 " bytes, "
		       "owner %u:%u)", cfg->path, size, cfg->uid, cfg->gid);
	return 0;
}

/*
 * Leaves o->nfsfh NULL only when the file is missing, create=1 is set and
 * @may_create is false (a probe).
 */
static int open_file(struct tnfs_opener *o, const struct tnfs_open_params *p,
		     const char *rel, bool may_create,
		     char *err, size_t err_len)
{
	const struct tnfs_config *cfg = p->cfg;
	struct nfs_stat_64 st;
	int ret;

	ret = nfs_stat64(o->nfs, rel, &st);
	if (ret == -ENOENT && cfg->create && !may_create)
		return 0;
	if (ret == -ENOENT && cfg->create)
		return create_file(o, cfg, rel, cfg->offset + p->dev_size,
				   err, err_len);
	if (ret == -ENOENT)
		return tnfs_err(err, err_len, -ENOENT, "backing file %s does "
				"not exist on %s (add create=1 to create it)",
				cfg->path, cfg->server);
	if (ret == -EACCES || ret == -EPERM)
		return access_err(cfg, "looking up", NULL, err, err_len);
	if (ret)
		return tnfs_err(err, err_len, ret, "cannot look up %s: %s",
				cfg->path, nfs_get_error(o->nfs));
	if (!S_ISREG(st.nfs_mode))
		return tnfs_err(err, err_len, -EINVAL, "backing file %s is not "
				"a regular file", cfg->path);
	ret = nfs_open(o->nfs, rel, O_RDWR, &o->nfsfh);
	if (ret == -EACCES || ret == -EPERM)
		return access_err(cfg, "opening for read/write", &st,
				  err, err_len);
	if (ret)
		return tnfs_err(err, err_len, ret, "cannot open %s: %s",
				cfg->path, nfs_get_error(o->nfs));
	return 0;
}

static int check_region(struct tnfs_opener *o,
			const struct tnfs_open_params *p,
			char *err, size_t err_len)
{
	struct tnfs_region r = {
		.offset = p->cfg->offset,
		.dev_size = p->dev_size,
		.block_size = p->block_size,
	};
	struct nfs_stat_64 st;
	int ret;

	ret = nfs_fstat64(o->nfs, o->nfsfh, &st);
	if (ret)
		return tnfs_err(err, err_len, ret, "cannot stat %s: %s",
				p->cfg->path, nfs_get_error(o->nfs));
	r.file_size = st.nfs_size;
	o->fileid = st.nfs_ino;
	return tnfs_region_check_file(&r, p->cfg->path, o->log, err, err_len);
}

static void opener_close(struct tnfs_opener *o)
{
	if (o->nfsfh)
		nfs_close(o->nfs, o->nfsfh);
	if (o->nfs)
		nfs_destroy_context(o->nfs);
	o->nfsfh = NULL;
	o->nfs = NULL;
}

/*
 * Where the engine's own connections go: the address and port libnfs's
 * context is connected to after the mount (the NFS port, from the
 * portmapper unless nfsport= says).
 */
static int server_addr(struct tnfs_opener *o, struct tnfs_transport_params *tp,
		       char *err, size_t err_len)
{
	tp->addr_len = sizeof(tp->addr);
	if (getpeername(nfs_get_fd(o->nfs), (struct sockaddr *)&tp->addr,
			&tp->addr_len))
		return tnfs_err(err, err_len, -errno, "cannot tell the NFS "
				"server's address: %s", strerror(errno));
	return 0;
}

/*
 * Mount the export and find the file in it (tnfs_open_backing creates it
 * when @may_create and create=1).  On error nothing is left open.
 */
static int mount_and_open(struct tnfs_opener *o,
			  const struct tnfs_open_params *p, int timeout_ms,
			  bool may_create, char *err, size_t err_len)
{
	size_t export_len;
	int ret;

	ret = mount_export(o, p->cfg, timeout_ms, &export_len, err, err_len);
	if (ret)
		return ret;
	ret = open_file(o, p, p->cfg->path + export_len, may_create,
			err, err_len);
	if (ret)
		opener_close(o);
	return ret;
}

int tnfs_open_backing(const struct tnfs_open_params *p,
		      const struct tnfs_logger *log, struct tnfs_backing *b,
		      char *err, size_t err_len)
{
	struct tnfs_transport_params *tp = &b->tp;
	struct tnfs_opener o = { .log = log };
	struct nfs_fh *fh;
	int ret;

	if (p->cfg->vers != TNFS_VERS_3)
		return tnfs_open4_backing(p, log, b, err, err_len);
	ret = mount_and_open(&o, p, TNFS_OPEN_TIMEOUT_MS, true, err, err_len);
	if (ret)
		return ret;
	ret = check_region(&o, p, err, err_len);
	if (ret)
		goto out;

	fh = nfs_get_fh(o.nfsfh);
	if (!fh || fh->len <= 0 || fh->len > TNFS_XDR_FHSIZE3 || !fh->val) {
		ret = tnfs_err(err, err_len, -EPROTO, "unexpected file handle "
			       "layout from libnfs: not the 4.0 ABI?");
		goto out;
	}
	tp->fh.len = (uint32_t)fh->len;
	memcpy(tp->fh.data, fh->val, (size_t)fh->len);
	tp->fileid = o.fileid;
	tp->min_size = p->cfg->offset + p->dev_size;
	tp->cred.uid = p->cfg->uid;
	tp->cred.gid = p->cfg->gid;
	if (gethostname(tp->cred.machine, sizeof(tp->cred.machine) - 1))
		snprintf(tp->cred.machine, sizeof(tp->cred.machine),
			 "tcmu-nfs");
	ret = server_addr(&o, tp, err, err_len);
	if (ret)
		goto out;
	b->rmax = tnfs_region_clamp_io(nfs_get_readmax(o.nfs));
	b->wmax = tnfs_region_clamp_io(nfs_get_writemax(o.nfs));
out:
	opener_close(&o);
	return ret;
}

int tnfs_open_probe(const struct tnfs_open_params *p,
		    char *err, size_t err_len)
{
	struct tnfs_opener o = { .log = NULL };
	int ret;

	if (p->cfg->vers != TNFS_VERS_3)
		return tnfs_open4_probe(p, err, err_len);
	ret = mount_and_open(&o, p, TNFS_PROBE_TIMEOUT_MS, false, err,
			     err_len);
	if (ret)
		return ret;
	if (o.nfsfh)
		ret = check_region(&o, p, err, err_len);
	opener_close(&o);
	return ret;
}

int tnfs_open_lookup(const struct tnfs_open_params *p, struct tnfs_xdr_fh *fh,
		     uint64_t *fileid, char *err, size_t err_len)
{
	struct tnfs_opener o = { .log = NULL };
	struct nfs_stat_64 st;
	struct nfs_fh *nfh;
	int ret;

	if (p->cfg->vers != TNFS_VERS_3)
		return tnfs_open4_lookup(p, fh, fileid, err, err_len);
	ret = mount_and_open(&o, p, TNFS_PROBE_TIMEOUT_MS, false, err,
			     err_len);
	if (ret)
		return ret;
	if (!o.nfsfh) {
		ret = tnfs_err(err, err_len, -ENOENT, "backing file %s is gone "
			       "from %s", p->cfg->path, p->cfg->server);
		goto out;
	}
	ret = nfs_fstat64(o.nfs, o.nfsfh, &st);
	if (ret) {
		ret = tnfs_err(err, err_len, ret, "cannot stat %s: %s",
			       p->cfg->path, nfs_get_error(o.nfs));
		goto out;
	}
	nfh = nfs_get_fh(o.nfsfh);
	if (!nfh || nfh->len <= 0 || nfh->len > TNFS_XDR_FHSIZE3 || !nfh->val) {
		ret = tnfs_err(err, err_len, -EPROTO, "unexpected file handle "
			       "layout from libnfs");
		goto out;
	}
	fh->len = (uint32_t)nfh->len;
	memcpy(fh->data, nfh->val, (size_t)nfh->len);
	*fileid = st.nfs_ino;
out:
	opener_close(&o);
	return ret;
}

int tnfs_open_check_grow(const struct tnfs_open_params *p,
			 const struct tnfs_logger *log, uint64_t fileid,
			 char *err, size_t err_len)
{
	const struct tnfs_config *cfg = p->cfg;
	uint64_t end = cfg->offset + p->dev_size;
	struct tnfs_opener o = { .log = log };
	struct nfs_stat_64 st;
	int ret;

	if (cfg->vers != TNFS_VERS_3)
		return tnfs_open4_check_grow(p, log, fileid, err, err_len);
	/* not created again: a file gone is an error, not a fresh disk */
	ret = mount_and_open(&o, p, TNFS_OPEN_TIMEOUT_MS, false, err, err_len);
	if (ret)
		return ret;
	if (!o.nfsfh) {
		ret = tnfs_err(err, err_len, -ENOENT, "backing file %s is gone "
			       "from %s", cfg->path, cfg->server);
		goto out;
	}
	ret = nfs_fstat64(o.nfs, o.nfsfh, &st);
	if (ret) {
		ret = tnfs_err(err, err_len, ret, "cannot stat %s: %s",
			       cfg->path, nfs_get_error(o.nfs));
		goto out;
	}
	if (st.nfs_ino != fileid) {
		ret = tnfs_err(err, err_len, -ESTALE, "%s is another file now "
			       "(fileid %" PRIu64 ", was %" PRIu64 ")",
			       cfg->path, (uint64_t)st.nfs_ino, fileid);
		goto out;
	}
	if (st.nfs_size < end && cfg->create) {
		/* sparse, as at create: the server allocates on write */
		ret = nfs_ftruncate(o.nfs, o.nfsfh, end);
		if (ret) {
			ret = tnfs_err(err, err_len, ret, "cannot extend %s to "
				       "%" PRIu64 " bytes: %s", cfg->path, end,
				       nfs_get_error(o.nfs));
			goto out;
		}
		tnfs_log(log, TNFS_LOG_INFO, "extended %s from %" PRIu64 " to %"
			 PRIu64 " bytes (create=1)", cfg->path,
			 (uint64_t)st.nfs_size, end);
	}
	ret = check_region(&o, p, err, err_len);
out:
	opener_close(&o);
	return ret;
}
