// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * nfs_fault_proxy: the control socket, one command a line, one reply line
 * each (the commands are in nfs_fault_proxy.c's top comment).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proxy.h"

/* ---- control ---- */

static void ctl_reply(struct ctl_conn *cc, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void ctl_reply(struct ctl_conn *cc, const char *fmt, ...)
{
	char buf[CTL_REPLY_MAX];
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

bool parse_uint(const char *s, unsigned long max, unsigned long *v)
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
	{ "exchange_id", PROC4_EXCHANGE_ID },	/* NFSv4.1 */
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

#define PROC_USAGE	"PROC is read|write|commit|getattr|exchange_id|any"
#define COUNT_USAGE	"COUNT 1..4294967295 or every"
#define MAX_FAULT_BYTES	(MAX_RECORD + 4ul)

static const char *const reject_names[REJECT_KINDS] = {
	[REJECT_RPC_MISMATCH] = "rpc-mismatch",
	[REJECT_AUTH_ERROR] = "auth-error",
	[REJECT_PROG_UNAVAIL] = "prog-unavail",
	[REJECT_PROG_MISMATCH] = "prog-mismatch",
	[REJECT_PROC_UNAVAIL] = "proc-unavail",
	[REJECT_GARBAGE_ARGS] = "garbage-args",
	[REJECT_SYSTEM_ERR] = "system-err",
};

static bool parse_reject(const char *s, uint32_t *kind)
{
	uint32_t k;

	for (k = 0; s && k < REJECT_KINDS; k++) {
		if (!strcmp(s, reject_names[k])) {
			*kind = k;
			return true;
		}
	}
	return false;
}

/* [COUNT|every]: none is @dflt; "every" is 0, every one until disarm */
static bool parse_count(const char *s, unsigned long dflt,
			unsigned long *count)
{
	if (!s) {
		*count = dflt;
		return true;
	}
	if (!strcmp(s, "every")) {
		*count = 0;
		return true;
	}
	return parse_uint(s, UINT32_MAX, count) && *count;
}

/* OFFSET|any of a READ, WRITE or COMMIT call */
static bool parse_offset(const char *s, struct fault *f)
{
	unsigned long v;

	f->any_offset = s && !strcmp(s, "any");
	if (f->any_offset)
		return true;
	if (!parse_uint(s, ULONG_MAX, &v))
		return false;
	f->offset = v;
	/* only these three calls have an offset to match */
	return f->proc == NFSPROC3_READ || f->proc == NFSPROC3_WRITE ||
	       f->proc == NFSPROC3_COMMIT;
}

/* the fault of @argv (the command and its arguments) into @f */
static bool parse_fault(enum fault_kind kind, int argc, char **argv,
			struct fault *f)
{
	unsigned long v;

	switch (kind) {
	case F_CUT_REPLY:
	case F_CUT_CALL:
		return argc == 3 && parse_proc(argv[1], &f->proc) &&
		       parse_uint(argv[2], MAX_FAULT_BYTES, &f->bytes);
	case F_STALL_REPLY:
		if (argc != 4 || !parse_proc(argv[1], &f->proc) ||
		    !parse_uint(argv[2], MAX_FAULT_BYTES, &f->bytes) ||
		    !parse_uint(argv[3], MAX_DELAY_MS, &v))
			return false;
		f->ms = (unsigned int)v;
		return true;
	case F_CORRUPT_REPLY:
		if (argc != 3 || !parse_proc(argv[1], &f->proc))
			return false;
		if (!strcmp(argv[2], "length"))
			f->arg = CORRUPT_LENGTH;
		else if (!strcmp(argv[2], "xid"))
			f->arg = CORRUPT_XID_FIELD;
		else
			return false;
		return true;
	case F_ERROR_REPLY:
		/* 0 is NFS3_OK, whose body is a resok this cannot make */
		if (argc < 3 || !parse_proc(argv[1], &f->proc) ||
		    !parse_uint(argv[2], UINT32_MAX, &v) || !v ||
		    !parse_count(argv[3], 1, &f->count))
			return false;
		f->arg = (uint32_t)v;
		return true;
	case F_GARBLE_REPLY:
		f->count = 0;
		return argc == 3 && parse_proc(argv[1], &f->proc) &&
		       parse_offset(argv[2], f);
	case F_REJECT_REPLY:
		return argc >= 3 && parse_proc(argv[1], &f->proc) &&
		       parse_reject(argv[2], &f->arg) &&
		       parse_count(argv[3], 0, &f->count);
	case F_SHORT_READ:
		f->proc = NFSPROC3_READ;
		return argc <= 3 && parse_offset(argv[1], f) &&
		       parse_count(argv[2], 0, &f->count);
	default:
		return false;
	}
}

static void fault_usage(struct ctl_conn *cc, enum fault_kind kind,
			const char *cmd)
{
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
	case F_ERROR_REPLY:
		ctl_reply(cc, "error usage: error-reply PROC NFSSTAT "
			  "[COUNT|every] (" PROC_USAGE
			  ", NFSSTAT 1..4294967295, " COUNT_USAGE
			  ", default 1)");
		break;
	case F_GARBLE_REPLY:
		ctl_reply(cc, "error usage: garble-reply PROC OFFSET|any ("
			  PROC_USAGE ", OFFSET only for read|write|commit)");
		break;
	case F_REJECT_REPLY:
		ctl_reply(cc, "error usage: reject-reply PROC KIND "
			  "[COUNT|every] (" PROC_USAGE ", KIND is "
			  "rpc-mismatch|auth-error|prog-unavail|prog-mismatch|"
			  "proc-unavail|garbage-args|system-err, "
			  COUNT_USAGE ", default every)");
		break;
	default:
		ctl_reply(cc, "error usage: short-read OFFSET|any "
			  "[COUNT|every] (" COUNT_USAGE ", default every)");
		break;
	}
}

static const struct {
	const char *cmd;
	enum fault_kind kind;
} fault_cmds[] = {
	{ "cut-reply", F_CUT_REPLY },
	{ "cut-call", F_CUT_CALL },
	{ "stall-reply", F_STALL_REPLY },
	{ "corrupt-reply", F_CORRUPT_REPLY },
	{ "error-reply", F_ERROR_REPLY },
	{ "garble-reply", F_GARBLE_REPLY },
	{ "reject-reply", F_REJECT_REPLY },
	{ "short-read", F_SHORT_READ },
};

/*
 * Arm one fault from @argv (the command and its arguments); false if
 * argv[0] names none.
 */
static bool ctl_fault(struct proxy *p, struct ctl_conn *cc, int argc,
		      char **argv)
{
	struct fault f = { .armed = true, .count = 1, .any_offset = true };
	const char *cmd = argv[0];
	size_t i;

	for (i = 0; i < sizeof(fault_cmds) / sizeof(fault_cmds[0]); i++)
		if (!strcmp(cmd, fault_cmds[i].cmd))
			break;
	if (i == sizeof(fault_cmds) / sizeof(fault_cmds[0]))
		return false;
	if (!parse_fault(fault_cmds[i].kind, argc, argv, &f)) {
		fault_usage(cc, fault_cmds[i].kind, cmd);
		return true;
	}
	p->faults[fault_cmds[i].kind] = f;
	ctl_reply(cc, "ok %s armed", cmd);
	return true;
}

/*
 * stale-for MS [io]: "io" spares GETATTR, as a server whose file is
 * there for its attributes but not for reads and writes.
 */
static void ctl_stale_for(struct proxy *p, struct ctl_conn *cc, int argc,
			  char **argv)
{
	unsigned long v;

	if (argc < 2 || argc > 3 || !parse_uint(argv[1], MAX_DELAY_MS, &v) ||
	    (argc == 3 && strcmp(argv[2], "io"))) {
		ctl_reply(cc, "error usage: stale-for MS [io] (0..%u, "
			  "0 ends it)", MAX_DELAY_MS);
		return;
	}
	p->stale_until = v ? now_ms() + v : 0;
	p->stale_io_only = argc == 3;
	ctl_reply(cc, "ok stale-for=%lu%s", v, argc == 3 ? " io" : "");
}

/* delay-reply PROC MS: "any" sets every procedure's */
static void ctl_delay_reply(struct proxy *p, struct ctl_conn *cc, int argc,
			    char **argv)
{
	unsigned long ms;
	uint32_t proc, i;

	if (argc != 3 || !parse_proc(argv[1], &proc) ||
	    !parse_uint(argv[2], MAX_DELAY_MS, &ms)) {
		ctl_reply(cc, "error usage: delay-reply PROC MS (" PROC_USAGE
			  ", MS 0..%u, 0 ends it)", MAX_DELAY_MS);
		return;
	}
	for (i = 0; i <= NFSPROC3_MAX; i++)
		if (proc == PROC_ANY || proc == i)
			p->reply_delay[i] = (unsigned int)ms;
	ctl_reply(cc, "ok delay-reply %s=%lu", argv[1], ms);
}

static void disarm_all(struct proxy *p)
{
	struct pair *c;
	size_t i;

	p->armed = false;
	memset(p->faults, 0, sizeof(p->faults));
	p->short_write = false;
	p->verf_flip = false;
	memset(p->reply_delay, 0, sizeof(p->reply_delay));
	p->stale_until = 0;
	p->empty_frags = false;
	for (c = p->pairs; c; c = c->next) {
		/* a WRITE already picked by short-write stays whole */
		for (i = 0; i < c->npend; i++)
			c->pend[i].halve = false;
		/* replies delay-reply holds go now */
		release_held(p, c, UINT64_MAX);
	}
}

static unsigned int faults_armed(const struct proxy *p)
{
	unsigned int n = p->short_write;
	bool delaying = false;
	int k;

	for (k = 0; k < F_KINDS; k++)
		n += p->faults[k].armed;
	for (k = 0; k <= NFSPROC3_MAX; k++)
		delaying |= p->reply_delay[k] != 0;
	n += delaying;		/* one, however many procedures it delays */
	n += p->stale_until > now_ms();
	n += p->empty_frags;
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

	if (ctl_fault(p, cc, argc, argv))
		return;
	if (!strcmp(cmd, "delay-reply")) {
		ctl_delay_reply(p, cc, argc, argv);
	} else if (!strcmp(cmd, "stale-for")) {
		ctl_stale_for(p, cc, argc, argv);
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
	} else if (!strcmp(cmd, "empty-fragments")) {
		if (arg) {
			ctl_reply(cc, "error usage: empty-fragments");
			return;
		}
		p->empty_frags = true;
		ctl_reply(cc, "ok empty-fragments armed");
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
			  " verf_flip=%d delayed_replies=%" PRIu64
			  " empty_fragments=%" PRIu64,
			  p->n.calls, p->n.replies, p->n.writes,
			  p->n.commits, p->n.swallowed, p->n.faked,
			  p->npairs, p->armed, p->n.accepted, p->n.fired,
			  faults_armed(p), p->verf_flip, p->n.delayed,
			  p->n.empty_frags);
	} else if (!strcmp(cmd, "port") && !arg) {
		ctl_reply(cc, "ok port=%u", p->port);
	} else if (!strcmp(cmd, "quit") && !arg) {
		p->quit = true;
		ctl_reply(cc, "ok bye");
	} else {
		ctl_reply(cc, "error unknown command '%s'", cmd);
	}
}

void ctl_accept(struct proxy *p)
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

void ctl_read(struct proxy *p, struct ctl_conn *cc)
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

void reap_ctls(struct proxy *p)
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
