// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Parsing of the user:nfs configuration string.  Everything here is pure
 * string work: check_config runs it on every targetcli create and must not
 * block on a server.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tnfs_base.h"
#include "tnfs_config.h"

#define STR(x)	#x
#define XSTR(x)	STR(x)

const char tnfs_config_desc[] =
	"SERVER/EXPORT/PATH/FILE[?key=value&...] "
	"(or nfs://SERVER[:PORT]/EXPORT/PATH/FILE[?...] where ':' is allowed; "
	"targetcli refuses ':'). "
	"Keys: uid=N gid=N (AUTH_SYS credentials, default 0/0: use the file "
	"owner's on a root-squashing export), offset=BYTES (position of LBA 0 "
	"in the file, a multiple of the block size, default 0), "
	"nfsport=N mountport=N (skip the portmapper), "
	"create=1 (create a missing file, sparse, mode 0600), "
	"cache=writethrough|writeback (default writethrough: a write is "
	"acknowledged once stable on the server; writeback: on the server's "
	"UNSTABLE reply, data kept until COMMIT, WCE=1, FUA honoured), "
	"cache_max=BYTES (write-back memory, default 64 MiB), "
	"timeout=SECONDS (per command, from its arrival, reconnects "
	"included, default " XSTR(TNFS_DEFAULT_TIMEOUT) ", 0 = never; keep "
	"below the kernel's cmd_time_out), "
	"nconnect=N (TCP connections to the server, 1 to 16, default 1), "
	"stable=auto|commit|datasync|filesync (how a write is made stable: "
	"UNSTABLE WRITE + shared COMMIT, or a DATA_SYNC/FILE_SYNC WRITE; "
	"default auto: the faster, measured per size and queue depth), "
	"busy_poll=MICROSECONDS (low-latency mode: while commands are in "
	"flight, spin up to this long on the connections before sleeping; "
	"costs up to a core per device; default 0 = off), "
	"resvport=0|1 (1, default: connect from a port below 1024, as "
	"servers exporting \"secure\" want; 0: any port, for exports that "
	"allow it, e.g. knfsd \"insecure\"), "
	"share=0|1 (1: reach the server through connections shared with "
	"the other share=1 devices of this tcmu-runner on the same server, "
	"at most the largest nconnect= of them, instead of connections of "
	"its own: a thousand devices on one server; not with ha=; "
	"default 0), "
	"vers=3|4.1|4.2 (NFS version, default 3; 4.1 and 4.2 need no "
	"MOUNT nor portmapper: a session on nfsport, default 2049; 4.2 "
	"with DEALLOCATE makes the disk thin: UNMAP), "
	"ha=LOCKSPACE (one of several gateways of this file: it writes only "
	"while it holds the LUN's sanlock lease, docs/ha.md; needs ha_host= "
	"and ha_dir=, excludes cache=writeback), ha_host=N (this gateway's "
	"sanlock host_id, 1 to 2000, unique per gateway), ha_dir=PATH (the "
	"lease files, in a directory of the export on a kernel NFS mount), "
	"ha_lease=NAME (the LUN's lease, default the file's name), "
	"ha_io_timeout=SECONDS (sanlock io_timeout, 1 to 60, default 10: a "
	"silent owner is taken over after 8x it + 60 s), "
	"ha_fence=0 (tests only: never fence; unsafe).";

/* Every syntax error is -EINVAL with a message naming the culprit. */
#define fail(err, err_len, ...) tnfs_err(err, err_len, -EINVAL, __VA_ARGS__)

/* Decimal only: "0x10", "-1", "+1", " 1" and "1k" are typos, not values. */
static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if (v > (max - (uint64_t)(*s - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return 0;
}

enum tnfs_key_kind { KEY_U32, KEY_U64, KEY_PORT, KEY_BOOL, KEY_CACHE,
		   KEY_SECONDS, KEY_CACHE_MAX, KEY_NCONNECT, KEY_STABLE,
		   KEY_MICROS, KEY_VERS, KEY_HA_NAME, KEY_HA_HOST, KEY_HA_DIR,
		   KEY_HA_IO_TIMEOUT };

struct tnfs_key {
	const char *name;
	enum tnfs_key_kind kind;
	size_t field;
};

#define KEY(n, k, f) { n, k, offsetof(struct tnfs_config, f) }
static const struct tnfs_key tnfs_keys[] = {
	KEY("uid", KEY_U32, uid),
	KEY("gid", KEY_U32, gid),
	KEY("offset", KEY_U64, offset),
	KEY("nfsport", KEY_PORT, nfsport),
	KEY("mountport", KEY_PORT, mountport),
	KEY("create", KEY_BOOL, create),
	KEY("cache", KEY_CACHE, writeback),
	KEY("cache_max", KEY_CACHE_MAX, cache_max),
	KEY("timeout", KEY_SECONDS, timeout),
	KEY("nconnect", KEY_NCONNECT, nconnect),
	KEY("stable", KEY_STABLE, stable),
	KEY("busy_poll", KEY_MICROS, busy_poll),
	KEY("resvport", KEY_BOOL, resvport),
	KEY("share", KEY_BOOL, share),
	KEY("vers", KEY_VERS, vers),
	KEY("ha", KEY_HA_NAME, ha),
	KEY("ha_host", KEY_HA_HOST, ha_host),
	KEY("ha_dir", KEY_HA_DIR, ha_dir),
	KEY("ha_lease", KEY_HA_NAME, ha_lease),
	KEY("ha_io_timeout", KEY_HA_IO_TIMEOUT, ha_io_timeout),
	KEY("ha_fence", KEY_BOOL, ha_fence),
};
#define NR_KEYS (sizeof(tnfs_keys) / sizeof(tnfs_keys[0]))

/* in enum tnfs_stable_mode order */
static const char *const stable_names[] = {
	"auto", "commit", "datasync", "filesync",
};
#define NR_STABLE (sizeof(stable_names) / sizeof(stable_names[0]))

/* in enum tnfs_nfs_vers order */
static const char *const vers_names[] = { "3", "4.1", "4.2" };
#define NR_VERS (sizeof(vers_names) / sizeof(vers_names[0]))

const char *tnfs_config_key_name(size_t i)
{
	return i < NR_KEYS ? tnfs_keys[i].name : NULL;
}

static bool has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

static int set_string(void *field, const char *val)
{
	char **p = field;

	*p = strdup(val);
	return *p ? 0 : -ENOMEM;
}

static int set_key(struct tnfs_config *cfg, const struct tnfs_key *key,
		   const char *val, char *err, size_t err_len)
{
	void *field = (char *)cfg + key->field;
	uint64_t v;

	switch (key->kind) {
	case KEY_U32:
		/* 4294967295 is (uid_t)-1, "no user", on the server */
		if (parse_u64(val, UINT32_MAX - 1, &v))
			return fail(err, err_len,
				    "%s=%s: expected a number from 0 to %u",
				    key->name, val, UINT32_MAX - 1);
		*(uint32_t *)field = (uint32_t)v;
		return 0;
	case KEY_U64:
		if (parse_u64(val, INT64_MAX, &v))
			return fail(err, err_len,
				    "%s=%s: expected a byte count (decimal)",
				    key->name, val);
		*(uint64_t *)field = v;
		return 0;
	case KEY_PORT:
		if (parse_u64(val, 65535, &v) || v == 0)
			return fail(err, err_len,
				    "%s=%s: expected a port from 1 to 65535",
				    key->name, val);
		*(uint16_t *)field = (uint16_t)v;
		return 0;
	case KEY_BOOL:
		if (strcmp(val, "0") && strcmp(val, "1"))
			return fail(err, err_len, "%s=%s: expected 0 or 1",
				    key->name, val);
		*(bool *)field = val[0] == '1';
		return 0;
	case KEY_CACHE:
		if (strcmp(val, "writethrough") && strcmp(val, "writeback"))
			return fail(err, err_len, "%s=%s: expected "
				    "writethrough or writeback", key->name,
				    val);
		*(bool *)field = !strcmp(val, "writeback");
		return 0;
	case KEY_SECONDS:
		if (parse_u64(val, 3600, &v))
			return fail(err, err_len, "%s=%s: expected seconds "
				    "from 0 to 3600", key->name, val);
		*(uint32_t *)field = (uint32_t)v;
		return 0;
	case KEY_NCONNECT:
		if (parse_u64(val, TNFS_MAX_NCONNECT, &v) || !v)
			return fail(err, err_len, "%s=%s: expected a number "
				    "of connections from 1 to %u", key->name,
				    val, TNFS_MAX_NCONNECT);
		*(uint32_t *)field = (uint32_t)v;
		return 0;
	case KEY_STABLE:
		for (v = 0; v < NR_STABLE; v++)
			if (!strcmp(val, stable_names[v]))
				break;
		if (v == NR_STABLE)
			return fail(err, err_len, "%s=%s: expected auto, "
				    "commit, datasync or filesync", key->name,
				    val);
		*(enum tnfs_stable_mode *)field = (enum tnfs_stable_mode)v;
		return 0;
	case KEY_VERS:
		for (v = 0; v < NR_VERS; v++)
			if (!strcmp(val, vers_names[v]))
				break;
		if (v == NR_VERS)
			return fail(err, err_len, "%s=%s: expected 3, 4.1 or "
				    "4.2 (auto is not offered: see "
				    "docs/configuration.md)", key->name, val);
		*(enum tnfs_nfs_vers *)field = (enum tnfs_nfs_vers)v;
		return 0;
	case KEY_MICROS:
		if (parse_u64(val, TNFS_MAX_BUSY_POLL, &v))
			return fail(err, err_len, "%s=%s: expected "
				    "microseconds from 0 to %u", key->name,
				    val, TNFS_MAX_BUSY_POLL);
		*(uint32_t *)field = (uint32_t)v;
		return 0;
	case KEY_HA_NAME:
		/* a sanlock name; ':' would also split its lease strings */
		if (strlen(val) > TNFS_HA_NAME_MAX ||
		    strspn(val, "abcdefghijklmnopqrstuvwxyz"
			   "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") !=
		    strlen(val))
			return fail(err, err_len, "%s=%s: expected a name of "
				    "1 to %u letters, digits, '.', '_' or '-'",
				    key->name, val, TNFS_HA_NAME_MAX);
		return set_string(field, val);
	case KEY_HA_HOST:
		if (parse_u64(val, TNFS_HA_MAX_HOST, &v) || !v)
			return fail(err, err_len, "%s=%s: expected a sanlock "
				    "host_id from 1 to %u", key->name, val,
				    TNFS_HA_MAX_HOST);
		*(uint32_t *)field = (uint32_t)v;
		return 0;
	case KEY_HA_DIR:
		if (val[0] != '/' || strlen(val) > 900 || strstr(val, "/../") ||
		    strchr(val, ':') || strchr(val, ' ') || has_control(val))
			return fail(err, err_len, "%s=%s: expected an "
				    "absolute path of at most 900 bytes, "
				    "without ':', ' ' or '..'", key->name, val);
		return set_string(field, val);
	case KEY_HA_IO_TIMEOUT:
		if (parse_u64(val, TNFS_HA_MAX_IO_TIMEOUT, &v) || !v)
			return fail(err, err_len, "%s=%s: expected seconds "
				    "from 1 to %u", key->name, val,
				    TNFS_HA_MAX_IO_TIMEOUT);
		*(uint32_t *)field = (uint32_t)v;
		return 0;
	case KEY_CACHE_MAX:
		if (parse_u64(val, INT64_MAX, &v) || v < TNFS_MIN_CACHE_MAX)
			return fail(err, err_len, "%s=%s: expected a byte "
				    "count of at least %llu", key->name, val,
				    TNFS_MIN_CACHE_MAX);
		*(uint64_t *)field = v;
		return 0;
	}
	return fail(err, err_len, "%s: internal error", key->name);
}

/* The message names every key the parser knows, from its table. */
static int unknown_key(const char *key, char *err, size_t err_len)
{
	int n = snprintf(err, err_len, "unknown option '%s' (known:", key);
	size_t i;

	for (i = 0; i < NR_KEYS && n >= 0 && (size_t)n < err_len; i++)
		n += snprintf(err + n, err_len - (size_t)n, " %s",
			      tnfs_keys[i].name);
	if (n >= 0 && (size_t)n < err_len)
		snprintf(err + n, err_len - (size_t)n, ")");
	return -EINVAL;
}

static int parse_query(struct tnfs_config *cfg, char *query,
		       char *err, size_t err_len)
{
	unsigned int seen = 0;
	char *pair, *save = NULL;
	size_t i;
	int ret;

	if (!*query)
		return fail(err, err_len, "empty option list after '?'");
	if (query[0] == '&' || query[strlen(query) - 1] == '&' ||
	    strstr(query, "&&"))
		return fail(err, err_len, "empty option in '?%s'", query);

	for (pair = strtok_r(query, "&", &save); pair;
	     pair = strtok_r(NULL, "&", &save)) {
		char *val = strchr(pair, '=');

		if (!val)
			return fail(err, err_len,
				    "option '%s' has no value (use key=value)",
				    pair);
		*val++ = '\0';
		for (i = 0; i < NR_KEYS; i++)
			if (!strcmp(pair, tnfs_keys[i].name))
				break;
		if (i == NR_KEYS)
			return unknown_key(pair, err, err_len);
		if (seen & (1u << i))
			return fail(err, err_len, "option '%s' given twice",
				    pair);
		seen |= 1u << i;
		if (!*val)
			return fail(err, err_len, "option '%s' has an empty "
				    "value", pair);
		ret = set_key(cfg, &tnfs_keys[i], val, err, err_len);
		if (ret)
			return ret;
	}
	return 0;
}

static int parse_server(struct tnfs_config *cfg, const char *s, size_t len,
			bool url, char *err, size_t err_len)
{
	const char *colon = memchr(s, ':', len);
	size_t host_len = colon ? (size_t)(colon - s) : len;
	size_t i;

	if (!len || !host_len)
		return fail(err, err_len, "missing NFS server name");
	if (s[0] == '[')
		return fail(err, err_len,
			    "IPv6 address literals are not supported");
	for (i = 0; i < host_len; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyz"
			    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_", s[i]))
			return fail(err, err_len,
				    "invalid character '%c' in server name "
				    "'%.*s'", s[i], (int)host_len, s);
	if (colon) {
		char port[8];
		uint64_t v;
		size_t plen = len - host_len - 1;

		if (!url)
			return fail(err, err_len, "unexpected ':' in server");
		if (!plen || plen >= sizeof(port))
			goto bad_port;
		memcpy(port, colon + 1, plen);
		port[plen] = '\0';
		if (parse_u64(port, 65535, &v) || v == 0)
			goto bad_port;
		cfg->nfsport = (uint16_t)v;
	}
	cfg->server = strndup(s, host_len);
	return cfg->server ? 0 : -ENOMEM;
bad_port:
	return fail(err, err_len, "invalid port in '%.*s'", (int)len, s);
}

static int parse_path(struct tnfs_config *cfg, const char *p,
		      char *err, size_t err_len)
{
	const char *c = p, *slash;
	int components = 0;

	if (*p != '/' || !p[1])
		return fail(err, err_len,
			    "missing path: expected /EXPORT/.../FILE after "
			    "the server");
	while (*c == '/') {
		size_t n;

		c++;
		slash = strchrnul(c, '/');
		n = (size_t)(slash - c);
		if (n == 0)
			return fail(err, err_len, "empty component in path "
				    "'%s'", p);
		if ((n == 1 && c[0] == '.') ||
		    (n == 2 && c[0] == '.' && c[1] == '.'))
			return fail(err, err_len, "'.' or '..' in path '%s'",
				    p);
		components++;
		c = slash;
	}
	if (components < 2)
		return fail(err, err_len, "path '%s' names no file: expected "
			    "/EXPORT/.../FILE", p);
	for (c = p; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			return fail(err, err_len, "control character in path");
	cfg->path = strdup(p);
	return cfg->path ? 0 : -ENOMEM;
}

/* The ha= keys go together (docs/ha.md). */
static int check_ha(const struct tnfs_config *cfg, char *err, size_t err_len)
{
	if (!cfg->ha) {
		if (cfg->ha_host || cfg->ha_dir || cfg->ha_lease ||
		    cfg->ha_io_timeout != TNFS_HA_DEFAULT_IO_TIMEOUT ||
		    !cfg->ha_fence)
			return fail(err, err_len, "ha_host=, ha_dir=, "
				    "ha_lease=, ha_io_timeout= and ha_fence= "
				    "need ha=LOCKSPACE");
		return 0;
	}
	if (!cfg->ha_host || !cfg->ha_dir)
		return fail(err, err_len, "ha=%s needs ha_host=N (this "
			    "gateway's sanlock host_id) and ha_dir=PATH (the "
			    "lease directory)", cfg->ha);
	/*
	 * Write-back acknowledges data the gateway still holds: a gateway
	 * that loses its lease must drop it, and the initiator was told it
	 * was written.
	 */
	if (cfg->writeback)
		return fail(err, err_len, "ha= cannot be used with "
			    "cache=writeback: acknowledged data held by a "
			    "gateway that loses its lease would be lost");
	/*
	 * The fence and the takeover were built and tested on NFSv3, which
	 * has no state on the server; a v4.1 open and session outliving a
	 * fence are not (docs/ha.md).
	 */
	if (cfg->vers != TNFS_VERS_3)
		return fail(err, err_len, "ha= needs vers=3: one LUN on "
			    "several gateways is not yet supported over "
			    "NFSv4.1");
	return 0;
}

/* share=1: what shared connections cannot do. */
static int check_share(const struct tnfs_config *cfg, char *err,
		       size_t err_len)
{
	if (!cfg->share)
		return 0;
	/*
	 * A gateway that loses its lease resets its connections so that
	 * nothing it queued leaves; a shared one is the other devices' too.
	 */
	if (cfg->ha)
		return fail(err, err_len, "share=1 cannot be used with ha=: "
			    "a fenced device resets its connections, which "
			    "share=1 would share with other devices");
	return 0;
}

int tnfs_config_parse(const char *str, struct tnfs_config *cfg,
		      char *err, size_t err_len)
{
	char *copy, *rest, *query, *slash;
	bool url = false;
	int ret;

	memset(cfg, 0, sizeof(*cfg));
	cfg->cache_max = TNFS_DEFAULT_CACHE_MAX;
	cfg->timeout = TNFS_DEFAULT_TIMEOUT;
	cfg->nconnect = 1;
	cfg->ha_io_timeout = TNFS_HA_DEFAULT_IO_TIMEOUT;
	cfg->ha_fence = true;
	cfg->resvport = true;
	if (!str || !*str)
		return fail(err, err_len, "empty configuration string");
	if (!strncmp(str, "nfs/", 4))
		str += 4;
	if (!strncmp(str, "nfs://", 6)) {
		str += 6;
		url = true;
	} else if (strstr(str, "://")) {
		return fail(err, err_len, "unsupported scheme in '%s': only "
			    "nfs:// is known", str);
	}
	if (!*str)
		return fail(err, err_len, "missing NFS server name");

	copy = strdup(str);
	if (!copy) {
		ret = -ENOMEM;
		goto out;
	}
	query = strchr(copy, '?');
	if (query)
		*query++ = '\0';
	slash = strchr(copy, '/');
	if (!slash) {
		ret = fail(err, err_len, "missing path: expected "
			   "SERVER/EXPORT/.../FILE, got '%s'", copy);
		goto out;
	}
	rest = slash;
	ret = parse_server(cfg, copy, (size_t)(slash - copy), url,
			   err, err_len);
	if (ret)
		goto out;
	ret = parse_path(cfg, rest, err, err_len);
	if (ret)
		goto out;
	if (query) {
		uint16_t url_port = cfg->nfsport;

		cfg->nfsport = 0;
		ret = parse_query(cfg, query, err, err_len);
		if (ret)
			goto out;
		if (url_port && cfg->nfsport && url_port != cfg->nfsport) {
			ret = fail(err, err_len, "port %u in the URL and "
				   "nfsport=%u disagree", url_port,
				   cfg->nfsport);
			goto out;
		}
		if (url_port)
			cfg->nfsport = url_port;
		if (cfg->cache_max != TNFS_DEFAULT_CACHE_MAX &&
		    !cfg->writeback) {
			ret = fail(err, err_len, "cache_max= needs "
				   "cache=writeback");
			goto out;
		}
		ret = check_ha(cfg, err, err_len);
		if (ret)
			goto out;
		ret = check_share(cfg, err, err_len);
		if (ret)
			goto out;
	}
out:
	free(copy);
	if (ret == -ENOMEM)
		snprintf(err, err_len, "out of memory");
	if (ret)
		tnfs_config_free(cfg);
	return ret;
}

void tnfs_config_free(struct tnfs_config *cfg)
{
	free(cfg->server);
	free(cfg->path);
	free(cfg->ha);
	free(cfg->ha_dir);
	free(cfg->ha_lease);
	cfg->server = NULL;
	cfg->path = NULL;
	cfg->ha = NULL;
	cfg->ha_dir = NULL;
	cfg->ha_lease = NULL;
}

static bool dup_opt(char **dst, const char *src)
{
	*dst = src ? strdup(src) : NULL;
	return !src || *dst;
}

int tnfs_config_copy(struct tnfs_config *dst, const struct tnfs_config *src)
{
	bool ok;

	*dst = *src;
	dst->server = strdup(src->server);
	dst->path = strdup(src->path);
	ok = dup_opt(&dst->ha, src->ha);
	ok = dup_opt(&dst->ha_dir, src->ha_dir) && ok;
	ok = dup_opt(&dst->ha_lease, src->ha_lease) && ok;
	if (dst->server && dst->path && ok)
		return 0;
	tnfs_config_free(dst);
	return -ENOMEM;
}
