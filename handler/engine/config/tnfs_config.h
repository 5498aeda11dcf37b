/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The user:nfs configuration string: parsed without touching the network,
 * so check_config can reject a typo before targetcli creates anything.
 */
#ifndef TNFS_CONFIG_H
#define TNFS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* stable=: how a write that must be stable gets there (tnfs_policy.h) */
enum tnfs_stable_mode {
	TNFS_STABLE_AUTO,	/* measured, per class of command */
	TNFS_STABLE_COMMIT,	/* UNSTABLE WRITEs + shared COMMITs */
	TNFS_STABLE_DATASYNC,	/* every WRITE DATA_SYNC */
	TNFS_STABLE_FILESYNC,	/* every WRITE FILE_SYNC */
};

/* vers=: which NFS speaks the data path (and the open) */
enum tnfs_nfs_vers {
	TNFS_VERS_3,		/* NFSv3 (RFC 1813), with MOUNT */
	TNFS_VERS_41,		/* NFSv4.1 (RFC 8881): a session */
	TNFS_VERS_42,		/* NFSv4.2 (RFC 7862): 4.1 as minor 2 */
};

struct tnfs_config {
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
	uint32_t busy_poll;	/* microseconds to spin before sleeping */
	bool resvport;		/* engine sockets from a port below 1024 */
	bool share;		/* connections of the server's pool */
	enum tnfs_stable_mode stable;
	enum tnfs_nfs_vers vers;
	/* ha=: a gateway of several, writing only while it holds a sanlock
	 * lease (docs/ha.md); NULL without ha=, and nothing changes */
	char *ha;		/* lockspace name */
	uint32_t ha_host;	/* this gateway's host_id in it, 1 to 2000 */
	char *ha_dir;		/* lease files: a kernel mount of the export */
	char *ha_lease;		/* the LUN's resource name; NULL: the file's */
	uint32_t ha_io_timeout;	/* sanlock io_timeout, seconds */
	bool ha_fence;		/* test only: 0 never fences (docs/ha.md) */
};

#define TNFS_DEFAULT_CACHE_MAX	(64ull << 20)
#define TNFS_MIN_CACHE_MAX	(1ull << 20)	/* one largest RPC */
/*
 * Long enough for a server whose stable writes take 15 s (a NAS with
 * its disks saturated), short enough to fail a command, retryably,
 * before the kernel's 30 s (TCMU cmd_time_out, the initiator's disk
 * timeout) gives up on it (docs/deployment.md).
 */
#define TNFS_DEFAULT_TIMEOUT	25
#define TNFS_MAX_NCONNECT	16		/* = TNFS_MAX_CONN */
#define TNFS_MAX_BUSY_POLL	100000		/* microseconds */
#define TNFS_HA_NAME_MAX	47	/* sanlock: 48 bytes, no NUL needed */
#define TNFS_HA_MAX_HOST	2000	/* sanlock, 512-byte sectors, 1 MiB */
#define TNFS_HA_DEFAULT_IO_TIMEOUT 10	/* sanlock's own default */
#define TNFS_HA_MAX_IO_TIMEOUT	60

/* Text shown by targetcli for the backstore (cfg_desc). */
extern const char tnfs_config_desc[];

/* The i-th key the parser accepts ("uid", ...), NULL past the last. */
const char *tnfs_config_key_name(size_t i);

/*
 * Parse @str ("nfs://SERVER[:PORT]/EXPORT/.../FILE[?k=v&...]" or the
 * colon-free "SERVER/EXPORT/.../FILE[?k=v&...]" that targetcli accepts;
 * an "nfs/" subtype prefix as tcmu-runner passes it is skipped).
 * Returns 0, or -EINVAL with a message naming the offending part in @err,
 * or -ENOMEM.  On success free @cfg with tnfs_config_free().
 */
int tnfs_config_parse(const char *str, struct tnfs_config *cfg,
		      char *err, size_t err_len);
void tnfs_config_free(struct tnfs_config *cfg);

/* @dst as @src, strings copied; -ENOMEM.  Free with tnfs_config_free. */
int tnfs_config_copy(struct tnfs_config *dst, const struct tnfs_config *src);

#endif
