/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The user:nfs configuration string: parsed without touching the network,
 * so check_config can reject a typo before targetcli creates anything.
 */
#ifndef NFS_CONFIG_H
#define NFS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* stable=: how a write that must be stable gets there (nfs_policy.h) */
enum nfs_stable_mode {
	NFS_STABLE_AUTO,	/* measured, per class of command */
	NFS_STABLE_COMMIT,	/* UNSTABLE WRITEs + shared COMMITs */
	NFS_STABLE_DATASYNC,	/* every WRITE DATA_SYNC */
	NFS_STABLE_FILESYNC,	/* every WRITE FILE_SYNC */
};

struct nfs_config {
	char *server;		/* host name or IPv4 address */
	char *path;		/* "/EXPORT/.../FILE", from the server's root */
	uint32_t uid;		/* AUTH_SYS credentials for every RPC */
	uint32_t gid;
	uint64_t offset;	/* byte position of LBA 0 in the file */
	uint16_t nfsport;	/* 0: ask the portmapper */
	uint16_t mountport;	/* 0: ask the portmapper */
	bool create;		/* create a missing file, sparse */
	bool writeback;		/* ack on UNSTABLE, hold data until COMMIT */
	uint64_t cache_max;	/* write-back: bytes held at most */
	uint32_t timeout;	/* seconds a command may take; 0: forever */
	uint32_t nconnect;	/* TCP connections for the data path */
	enum nfs_stable_mode stable;
};

#define NFS_DEFAULT_CACHE_MAX	(64ull << 20)
#define NFS_MIN_CACHE_MAX	(1ull << 20)	/* one largest RPC */
#define NFS_DEFAULT_TIMEOUT	10		/* < TCMU cmd_time_out 30 */
#define NFS_MAX_NCONNECT	16		/* = NFS_MAX_CONN */

/* Text shown by targetcli for the backstore (cfg_desc). */
extern const char nfs_config_desc[];

/* The i-th key the parser accepts ("uid", ...), NULL past the last. */
const char *nfs_config_key_name(size_t i);

/*
 * Parse @str ("nfs://SERVER[:PORT]/EXPORT/.../FILE[?k=v&...]" or the
 * colon-free "SERVER/EXPORT/.../FILE[?k=v&...]" that targetcli accepts;
 * an "nfs/" subtype prefix as tcmu-runner passes it is skipped).
 * Returns 0, or -EINVAL with a message naming the offending part in @err,
 * or -ENOMEM.  On success free @cfg with nfs_config_free().
 */
int nfs_config_parse(const char *str, struct nfs_config *cfg,
		     char *err, size_t err_len);
void nfs_config_free(struct nfs_config *cfg);

#endif
