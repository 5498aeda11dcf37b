// SPDX-License-Identifier: LGPL-2.1-or-later
/* The cfgstring parser: what users type after cfgstring= in targetcli. */
#include <errno.h>
#include <stdlib.h>

#include "../check.h"
#include "tnfs_config.h"

static void good(const char *s, const char *server, const char *path,
		 uint32_t uid, uint32_t gid, uint64_t offset,
		 uint16_t nfsport, uint16_t mountport, bool create)
{
	struct tnfs_config c;
	char err[256] = "";
	int ret = tnfs_config_parse(s, &c, err, sizeof(err));

	CHECK(ret == 0, "'%s' rejected: %s", s, err);
	if (ret)
		return;
	CHECK(!strcmp(c.server, server), "'%s': server %s", s, c.server);
	CHECK(!strcmp(c.path, path), "'%s': path %s", s, c.path);
	CHECK(c.uid == uid && c.gid == gid, "'%s': uid/gid %u/%u", s,
	      c.uid, c.gid);
	CHECK(c.offset == offset, "'%s': offset", s);
	CHECK(c.nfsport == nfsport && c.mountport == mountport,
	      "'%s': ports %u %u", s, c.nfsport, c.mountport);
	CHECK(c.create == create, "'%s': create", s);
	tnfs_config_free(&c);
}

/* Every malformed string fails with a message naming the bad part. */
static void bad(const char *s, const char *expect)
{
	struct tnfs_config c;
	char err[256] = "";
	int ret = tnfs_config_parse(s, &c, err, sizeof(err));

	CHECK(ret == -EINVAL, "'%s' accepted (ret %d)", s ? s : "(null)",
	      ret);
	CHECK(strstr(err, expect) != NULL, "'%s': expected \"%s\" in \"%s\"",
	      s ? s : "(null)", expect, err);
	CHECK(c.server == NULL && c.path == NULL, "'%s' leaked", s);
}

static void cache_keys(void)
{
	struct tnfs_config c;
	char err[256] = "";

	CHECK(!tnfs_config_parse("s/e/f", &c, err, sizeof(err)), "%s", err);
	CHECK(!c.writeback && c.timeout == TNFS_DEFAULT_TIMEOUT &&
	      c.cache_max == TNFS_DEFAULT_CACHE_MAX && c.nconnect == 1 &&
	      c.stable == TNFS_STABLE_AUTO, "defaults");
	tnfs_config_free(&c);
	CHECK(!tnfs_config_parse("s/e/f?cache=writeback&cache_max=1048576&"
				 "timeout=0", &c, err, sizeof(err)), "%s", err);
	CHECK(c.writeback && c.cache_max == 1048576 && c.timeout == 0,
	      "write-back keys");
	tnfs_config_free(&c);
	CHECK(!tnfs_config_parse("s/e/f?cache=writethrough&timeout=25", &c,
				 err, sizeof(err)), "%s", err);
	CHECK(!c.writeback && c.timeout == 25, "write-through keys");
	tnfs_config_free(&c);
	CHECK(!tnfs_config_parse("s/e/f?nconnect=4", &c, err, sizeof(err)),
	      "%s", err);
	CHECK(c.nconnect == 4, "nconnect=4 gave %u", c.nconnect);
	tnfs_config_free(&c);
	CHECK(!tnfs_config_parse("s/e/f?share=1&nconnect=4", &c, err,
				 sizeof(err)), "share=1: %s", err);
	CHECK(c.share && c.nconnect == 4, "share=1 gave %d", c.share);
	tnfs_config_free(&c);
	CHECK(!tnfs_config_parse("s/e/f", &c, err, sizeof(err)), "%s", err);
	CHECK(!c.share, "share is off by default");
	tnfs_config_free(&c);
	CHECK(!tnfs_config_parse("s/e/f?busy_poll=50", &c, err, sizeof(err)),
	      "busy_poll=50: %s", err);
	CHECK(c.busy_poll == 50, "busy_poll=50 gave %u", c.busy_poll);
	tnfs_config_free(&c);
	CHECK(c.vers == TNFS_VERS_3, "vers defaults to 3");
	tnfs_config_free(&c);
	CHECK(!tnfs_config_parse("s/e/f?vers=4.1", &c, err, sizeof(err)),
	      "vers=4.1: %s", err);
	CHECK(c.vers == TNFS_VERS_41, "vers=4.1");
	tnfs_config_free(&c);
	CHECK(!tnfs_config_parse("s/e/f?vers=4.2", &c, err, sizeof(err)),
	      "vers=4.2: %s", err);
	CHECK(c.vers == TNFS_VERS_42, "vers=4.2");
	tnfs_config_free(&c);
	CHECK(!tnfs_config_parse("s/e/f?vers=3", &c, err, sizeof(err)),
	      "vers=3: %s", err);
	CHECK(c.vers == TNFS_VERS_3, "vers=3");
	tnfs_config_free(&c);
	CHECK(!tnfs_config_parse("s/e/f?stable=commit", &c, err, sizeof(err)),
	      "%s", err);
	CHECK(c.stable == TNFS_STABLE_COMMIT, "stable=commit");
	tnfs_config_free(&c);
	CHECK(!tnfs_config_parse("s/e/f?stable=datasync", &c, err,
				 sizeof(err)), "%s", err);
	CHECK(c.stable == TNFS_STABLE_DATASYNC, "stable=datasync");
	tnfs_config_free(&c);
	CHECK(!tnfs_config_parse("s/e/f?stable=filesync&cache=writeback", &c,
				 err, sizeof(err)), "%s", err);
	CHECK(c.stable == TNFS_STABLE_FILESYNC, "stable=filesync");
	tnfs_config_free(&c);
}

/* ha= and its keys (docs/ha.md) */
static void ha_keys(void)
{
	struct tnfs_config c, d;
	char err[256] = "";

	CHECK(!tnfs_config_parse("s/e/f", &c, err, sizeof(err)), "%s", err);
	CHECK(!c.ha && !c.ha_dir && !c.ha_lease && !c.ha_host &&
	      c.ha_io_timeout == TNFS_HA_DEFAULT_IO_TIMEOUT && c.ha_fence,
	      "ha defaults");
	tnfs_config_free(&c);
	CHECK(!tnfs_config_parse("s/e/disk.img?ha=exp1&ha_host=2000&"
				 "ha_dir=/mnt/e/.leases&ha_lease=lun-0.a&"
				 "ha_io_timeout=2&ha_fence=0", &c, err,
				 sizeof(err)), "%s", err);
	CHECK(c.ha && !strcmp(c.ha, "exp1") && c.ha_host == 2000 &&
	      !strcmp(c.ha_dir, "/mnt/e/.leases") &&
	      !strcmp(c.ha_lease, "lun-0.a") && c.ha_io_timeout == 2 &&
	      !c.ha_fence, "ha keys");
	CHECK(!tnfs_config_copy(&d, &c), "copy");
	CHECK(d.ha != c.ha && !strcmp(d.ha, "exp1") &&
	      !strcmp(d.ha_dir, c.ha_dir) && !strcmp(d.ha_lease, c.ha_lease),
	      "ha strings copied");
	tnfs_config_free(&d);
	tnfs_config_free(&c);
	CHECK(c.ha == NULL && c.ha_dir == NULL && c.ha_lease == NULL,
	      "ha freed");
	/* the smallest: the lease is named after the file */
	CHECK(!tnfs_config_parse("s/e/f?ha=a&ha_host=1&ha_dir=/l", &c, err,
				 sizeof(err)), "%s", err);
	CHECK(c.ha && !c.ha_lease && c.ha_fence, "ha minimal");
	tnfs_config_free(&c);
}

int main(void)
{
	good("nfs://srv/export/disk.img", "srv", "/export/disk.img",
	     0, 0, 0, 0, 0, false);
	good("nfs/nfs://10.0.0.1/export/dir/disk.img?uid=1000&gid=100",
	     "10.0.0.1", "/export/dir/disk.img", 1000, 100, 0, 0, 0, false);
	good("nfs://srv:2049/e/f?mountport=20048&offset=1048576&create=1",
	     "srv", "/e/f", 0, 0, 1048576, 2049, 20048, true);
	/* the colon-free form targetcli accepts */
	good("nfs/127.0.0.1/export/f?nfsport=2049&mountport=20048",
	     "127.0.0.1", "/export/f", 0, 0, 0, 2049, 20048, false);
	good("host-1.example.com/a/b/c/d?create=0&uid=4294967294",
	     "host-1.example.com", "/a/b/c/d", 4294967294u, 0, 0, 0, 0,
	     false);
	good("nfs://s:2049/e/f?nfsport=2049", "s", "/e/f", 0, 0, 0, 2049, 0,
	     false);
	good("s/e/f?offset=9223372036854775807", "s", "/e/f", 0, 0,
	     9223372036854775807ull, 0, 0, false);

	cache_keys();
	ha_keys();

	bad(NULL, "empty");
	bad("", "empty");
	bad("nfs/", "missing NFS server");
	bad("nfs://", "missing NFS server");
	bad("nfs:///export/f", "missing NFS server");
	bad("http://srv/export/f", "unsupported scheme");
	bad("srv", "missing path");
	bad("srv/", "missing path");
	bad("srv/export", "names no file");
	bad("srv/export/", "empty component");
	bad("srv//export/f", "empty component");
	bad("srv/export/../f", "'.' or '..'");
	bad("srv/./f", "'.' or '..'");
	bad("nfs://srv:/e/f", "invalid port");
	bad("nfs://srv:0/e/f", "invalid port");
	bad("nfs://srv:65536/e/f", "invalid port");
	bad("nfs://srv:20x9/e/f", "invalid port");
	bad("srv:2049/e/f", "unexpected ':'");
	bad("nfs://[::1]/e/f", "IPv6");
	bad("sr v/e/f", "invalid character ' '");
	bad("s/e/f?", "empty option list");
	bad("s/e/f?uid", "has no value");
	bad("s/e/f?uid=", "empty value");
	bad("s/e/f?uid=-1", "uid=-1: expected a number");
	bad("s/e/f?uid=4294967295", "uid=4294967295");
	bad("s/e/f?gid=0x10", "gid=0x10");
	bad("s/e/f?uid=1&uid=2", "given twice");
	bad("s/e/f?offset=1k", "offset=1k: expected a byte count");
	bad("s/e/f?offset=9223372036854775808", "offset=");
	bad("s/e/f?offset=99999999999999999999999", "offset=");
	bad("s/e/f?nfsport=0", "nfsport=0: expected a port");
	bad("s/e/f?mountport=70000", "mountport=70000");
	bad("s/e/f?create=yes", "create=yes: expected 0 or 1");
	bad("s/e/f?size=1G", "unknown option 'size'");
	bad("s/e/f?uid=1&&gid=2", "empty option");
	bad("s/e/f?uid=1&", "empty option");
	bad("s/e/f?&uid=1", "empty option");
	bad("nfs://s:2049/e/f?nfsport=2050", "disagree");
	bad("s/e/f\x01x", "control character");
	bad("s/e/f?cache=none", "cache=none: expected writethrough or "
	    "writeback");
	bad("s/e/f?cache=writeback&cache_max=4096", "at least 1048576");
	bad("s/e/f?cache_max=2097152", "cache_max= needs cache=writeback");
	bad("s/e/f?timeout=3601", "timeout=3601: expected seconds");
	bad("s/e/f?nconnect=0", "nconnect=0: expected a number of "
	    "connections from 1 to 16");
	bad("s/e/f?nconnect=17", "nconnect=17");
	bad("s/e/f?vers=4", "vers=4: expected 3, 4.1 or 4.2");
	bad("s/e/f?vers=auto", "vers=auto: expected 3, 4.1 or 4.2 (auto is "
	    "not offered");
	bad("s/e/f?vers=4.0", "vers=4.0: expected");
	bad("s/e/f?vers=3.0", "vers=3.0: expected");
	bad("s/e/f?busy_poll=100001", "busy_poll=100001: expected "
	    "microseconds from 0 to 100000");
	bad("s/e/f?busy_poll=1ms", "busy_poll=1ms");
	bad("s/e/f?timeout=1.5", "timeout=1.5");
	bad("s/e/f?stable=sync", "stable=sync: expected auto, commit, "
	    "datasync or filesync");
	bad("s/e/f?stable=AUTO", "stable=AUTO");
	bad("s/e/f?ha=x", "ha=x needs ha_host=N");
	bad("s/e/f?ha=x&ha_host=1", "needs ha_host=N");
	bad("s/e/f?ha=x&ha_dir=/l", "needs ha_host=N");
	bad("s/e/f?ha_host=1", "need ha=LOCKSPACE");
	bad("s/e/f?ha_dir=/l", "need ha=LOCKSPACE");
	bad("s/e/f?ha_fence=0", "need ha=LOCKSPACE");
	bad("s/e/f?ha_io_timeout=2", "need ha=LOCKSPACE");
	bad("s/e/f?ha=x&ha_host=1&ha_dir=/l&cache=writeback",
	    "ha= cannot be used with cache=writeback");
	bad("s/e/f?ha=x&ha_host=1&ha_dir=/l&vers=4.1",
	    "ha= needs vers=3");
	bad("s/e/f?ha=x&ha_host=1&ha_dir=/l&share=1",
	    "share=1 cannot be used with ha=");
	bad("s/e/f?share=2", "share=2");
	bad("s/e/f?ha=a:b&ha_host=1&ha_dir=/l", "ha=a:b: expected a name");
	bad("s/e/f?ha=012345678901234567890123456789012345678901234567"
	    "&ha_host=1&ha_dir=/l", "expected a name of 1 to 47");
	bad("s/e/f?ha=x&ha_host=0&ha_dir=/l", "ha_host=0: expected a sanlock "
	    "host_id from 1 to 2000");
	bad("s/e/f?ha=x&ha_host=2001&ha_dir=/l", "ha_host=2001");
	bad("s/e/f?ha=x&ha_host=1&ha_dir=rel", "ha_dir=rel: expected an "
	    "absolute path");
	bad("s/e/f?ha=x&ha_host=1&ha_dir=/a/../b", "ha_dir=/a/../b");
	bad("s/e/f?ha=x&ha_host=1&ha_dir=/l&ha_io_timeout=0",
	    "ha_io_timeout=0: expected seconds from 1 to 60");
	bad("s/e/f?ha=x&ha_host=1&ha_dir=/l&ha_io_timeout=61",
	    "ha_io_timeout=61");
	bad("s/e/f?ha=x&ha_host=1&ha_dir=/l&ha_lease=a/b", "ha_lease=a/b");
	bad("s/e/f?ha=x&ha_host=1&ha_dir=/l&ha_fence=no", "ha_fence=no");
	return check_report("test_config");
}
