// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * nfs_fault_proxy: a FAKE, fault-injecting TCP proxy for tests only.
 *
 * It sits between an NFSv3 client and the NFS port of a real server and
 * forwards ONC RPC messages (reassembled from their record marking) in
 * both directions, one upstream connection per client connection.  On
 * command, over a unix control socket, it cuts connections, delays
 * replies, stalls, blackholes, or plays a server that lost its unstable
 * data: it swallows UNSTABLE WRITEs, answers them itself with verifier A
 * and then answers the next COMMIT with verifier B, which is what a client
 * sees when the server rebooted between the two.  A real server cannot be
 * made to do that on demand; that is the only reason this exists.
 *
 * One-shot faults (cut-reply, cut-call, stall-reply, corrupt-reply,
 * error-reply, short-write) pick their message by NFSv3 procedure; a
 * reply carries only its XID, so each connection remembers the procedure
 * (and the offset of a READ, WRITE or COMMIT) of every call it forwarded
 * until the reply to it comes back.
 *
 * The other modes play a slow or misbehaving server; PROC is read, write,
 * commit, getattr or any, COUNT a number of messages (1..4294967295) or
 * "every" (until disarm), and every mode ends with disarm:
 *
 *   delay-reply PROC MS      every reply from the server to a PROC call
 *                            waits MS ms (0..600000, 0 ends it) before it
 *                            goes on; other replies overtake it, so a
 *                            slow COMMIT leaves READ and WRITE fast.  It
 *                            adds to "delay"; disarm sends held replies
 *                            at once, "delay-reply PROC 0" does not.
 *   garble-reply PROC OFFSET|any
 *                            each reply to a PROC call at OFFSET (READ,
 *                            WRITE, COMMIT only) or to any PROC call gets
 *                            4 stray bytes (0xdeadbeef) inside its record:
 *                            framing holds, a strict decoder finds bytes
 *                            after the result.
 *   reject-reply PROC KIND [COUNT]
 *                            the next COUNT (default every) PROC calls
 *                            never reach the server: the proxy refuses
 *                            each at the RPC level (RFC 5531), KIND one
 *                            of rpc-mismatch (MSG_DENIED, 2..2),
 *                            auth-error (MSG_DENIED, AUTH_BADCRED),
 *                            prog-unavail, prog-mismatch (3..3),
 *                            proc-unavail, garbage-args, system-err
 *                            (MSG_ACCEPTED, null verifier).
 *   short-read OFFSET|any [COUNT]
 *                            the next COUNT (default every) successful
 *                            READ replies at OFFSET, or any, keep the
 *                            first half of their data (a multiple of 4)
 *                            and say eof, as from a file that shrank; the
 *                            attributes stay the server's.
 *   stale-for MS [io]        for MS ms (0..600000, 0 ends it) the proxy
 *                            answers every GETATTR, READ, WRITE and COMMIT
 *                            itself with NFS3ERR_STALE and no attributes;
 *                            other calls pass ("io": GETATTR too).
 *   empty-fragments          every client connection gets empty non-last
 *                            fragments (record marks 0x00000000) as fast
 *                            as its socket takes them, one before each
 *                            record and a flood while none is ready, never
 *                            inside a record: a peer that streams empty
 *                            fragments forever, which a client must not
 *                            spin on.  Other traffic still flows.
 *
 * error-reply takes a COUNT too (default 1).  A call meets cut-call,
 * reject-reply, stale-for, error-reply, lose-writes in that order, the
 * first that takes it wins; a reply is shortened, then garbled, then
 * corrupted.  faults_fired in "status" counts each message a fault
 * changed or answered (delay-reply and empty-fragments change none:
 * delayed_replies and empty_fragments count theirs).
 *
 * NFSv4.1/4.2: a COMPOUND counts as the procedure of its READ, WRITE or
 * COMMIT (with that op's offset), or GETATTR, or EXCHANGE_ID (PROC
 * exchange_id); other compounds (the session's set-up, a lone SEQUENCE)
 * as NULL.  cut-call, cut-reply,
 * stall-reply, garble-reply, corrupt-reply, delay-reply and reject-reply
 * then work on them as on v3 calls, and error-reply PROC STATUS answers
 * a status SEQUENCE itself may give (NFS4ERR_DELAY, BADSESSION, BADSLOT,
 * SEQ_MISORDERED, DEADSESSION) at SEQUENCE, without the server, or puts
 * any other (NFS4ERR_GRACE, EXPIRED...) on the data op of the server's
 * own reply, the call having run; on exchange_id it answers any status
 * itself.  lose-writes, short-write, short-read
 * and stale-for are v3's only.
 *
 * One thread, one poll loop; nothing is printed on the data path unless
 * --verbose.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "fault_proxy_client.h"
#include "proxy.h"

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
	got_signal = sig;
}

void vlog(const struct proxy *p, const char *fmt, ...)
{
	va_list ap;

	if (!p->verbose)
		return;
	va_start(ap, fmt);
	fputs("nfs_fault_proxy: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* ---- the loop ---- */

static int add_slot(struct proxy *p, size_t *n, int fd, short events,
		    enum slot_kind kind, void *ptr)
{
	if (*n == p->slots_cap) {
		size_t cap = p->slots_cap ? p->slots_cap * 2 : 16;
		struct pollfd *pfd;
		struct slot *slots;

		pfd = realloc(p->pfd, cap * sizeof(*pfd));
		if (!pfd)
			return -1;
		p->pfd = pfd;
		slots = realloc(p->slots, cap * sizeof(*slots));
		if (!slots)
			return -1;
		p->slots = slots;
		p->slots_cap = cap;
	}
	p->pfd[*n] = (struct pollfd){ .fd = fd, .events = events };
	p->slots[*n] = (struct slot){ .kind = kind, .ptr = ptr };
	(*n)++;
	return 0;
}

/* poll events for one side; *wake lowered to when a held reply is due */
static short side_events(const struct proxy *p, const struct pair *c,
			 bool client, uint64_t now, uint64_t *wake)
{
	const struct queue *out = client ? &c->to_client : &c->to_upstream;
	const struct queue *other = client ? &c->to_upstream : &c->to_client;
	short ev = 0;

	if (p->blackhole_until)
		return POLLIN;
	if (!client && c->connecting)
		return POLLOUT;
	/* what delay-reply holds is on its way to the client too */
	if (other->bytes + (client ? 0 : c->held.bytes) < MAX_QUEUED)
		ev |= POLLIN;
	if (out->head && (client || !c->connecting)) {
		uint64_t due = out->head->due > out->hold_until ?
			       out->head->due : out->hold_until;

		if (due <= now)
			ev |= POLLOUT;
		else if (due < *wake)
			*wake = due;
	}
	if (client && wants_zeros(p, c))
		ev |= POLLOUT;
	return ev;
}

static int build_pollset(struct proxy *p, size_t *n, int *timeout,
			 bool resetting)
{
	uint64_t now = now_ms(), wake = UINT64_MAX;
	bool moving = !p->stalled || p->blackhole_until;
	struct ctl_conn *cc;
	struct pair *c;

	*n = 0;
	if (add_slot(p, n, p->ctl_fd, POLLIN, SLOT_CTL_LISTEN, NULL))
		return -1;
	for (cc = p->ctls; cc; cc = cc->next)
		if (add_slot(p, n, cc->fd, POLLIN, SLOT_CTL, cc))
			return -1;
	if (!p->stalled && !p->blackhole_until &&
	    add_slot(p, n, p->lfd, POLLIN, SLOT_LISTEN, NULL))
		return -1;
	for (c = p->pairs; moving && c; c = c->next) {
		uint64_t held;

		if (c->resetting)
			continue;	/* see finish_resets() */
		held = release_held(p, c, now);
		if (held < wake)
			wake = held;
		if (add_slot(p, n, c->cfd,
			     side_events(p, c, true, now, &wake),
			     SLOT_CLIENT, c) ||
		    add_slot(p, n, c->ufd,
			     side_events(p, c, false, now, &wake),
			     SLOT_UPSTREAM, c))
			return -1;
	}
	if (p->blackhole_until && p->blackhole_until < wake)
		wake = p->blackhole_until;
	if (resetting && now + 2 < wake)
		wake = now + 2;		/* poll the draining send queues */
	if (wake == UINT64_MAX)
		*timeout = -1;
	else
		*timeout = wake > now ? (int)(wake - now) : 0;
	return 0;
}

static void handle_side(struct proxy *p, struct pair *c, bool client,
			short rev)
{
	if (c->dead || c->resetting)
		return;
	if (!client && c->connecting) {
		if (rev & (POLLOUT | POLLERR | POLLHUP))
			upstream_connected(p, c);
		return;
	}
	if (rev & POLLOUT)
		do_write(p, c, client);
	if (!c->dead && (rev & (POLLIN | POLLERR | POLLHUP)))
		do_read(p, c, client);
}

static int run(struct proxy *p, const sigset_t *waitmask)
{
	while (!p->quit && !got_signal) {
		struct timespec ts, *tsp = NULL;
		int timeout, ret;
		bool resetting;
		size_t n, i;

		if (p->blackhole_until && now_ms() >= p->blackhole_until) {
			p->blackhole_until = 0;
			vlog(p, "blackhole over");
			cut_all(p, "blackhole ended");
			reap_pairs(p);
		}
		resetting = finish_resets(p);
		reap_pairs(p);
		if (build_pollset(p, &n, &timeout, resetting)) {
			fprintf(stderr, "nfs_fault_proxy: out of memory\n");
			return -1;
		}
		if (timeout >= 0) {
			ts.tv_sec = timeout / 1000;
			ts.tv_nsec = (long)(timeout % 1000) * 1000000;
			tsp = &ts;
		}
		ret = ppoll(p->pfd, n, tsp, waitmask);
		if (ret < 0 && errno == EINTR)
			continue;
		if (ret < 0) {
			perror("nfs_fault_proxy: poll");
			return -1;
		}
		for (i = 0; i < n && !p->quit; i++) {
			short rev = p->pfd[i].revents;

			if (!rev)
				continue;
			switch (p->slots[i].kind) {
			case SLOT_LISTEN:
				accept_client(p);
				break;
			case SLOT_CTL_LISTEN:
				ctl_accept(p);
				break;
			case SLOT_CTL:
				ctl_read(p, p->slots[i].ptr);
				break;
			case SLOT_CLIENT:
				handle_side(p, p->slots[i].ptr, true, rev);
				break;
			case SLOT_UPSTREAM:
				handle_side(p, p->slots[i].ptr, false, rev);
				break;
			}
		}
		reap_pairs(p);
		reap_ctls(p);
	}
	if (got_signal)
		vlog(p, "signal %d, exiting", (int)got_signal);
	return 0;
}

/* ---- setup ---- */

static int parse_addr(const char *s, struct sockaddr_in *sin, bool any_port)
{
	const char *colon = strrchr(s, ':');
	char host[INET_ADDRSTRLEN];
	unsigned long port;

	if (!colon || (size_t)(colon - s) >= sizeof(host))
		return -1;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	if (inet_pton(AF_INET, host, &sin->sin_addr) != 1 ||
	    !parse_uint(colon + 1, 65535, &port) || (!port && !any_port))
		return -1;
	sin->sin_port = htons((uint16_t)port);
	return 0;
}

static int listen_tcp(struct proxy *p, const struct sockaddr_in *sin)
{
	struct sockaddr_in bound;
	socklen_t sl = sizeof(bound);
	int one = 1;

	p->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
			0);
	if (p->lfd < 0)
		return -1;
	setsockopt(p->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(p->lfd, (const struct sockaddr *)sin, sizeof(*sin)) ||
	    listen(p->lfd, 64) ||
	    getsockname(p->lfd, (struct sockaddr *)&bound, &sl))
		return -1;
	p->port = ntohs(bound.sin_port);
	return 0;
}

static int listen_ctl(struct proxy *p)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int probe;

	if (strlen(p->ctl_path) >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sun.sun_path, p->ctl_path);

	/* a live proxy keeps its socket; a stale file is removed */
	probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe < 0)
		return -1;
	if (!connect(probe, (struct sockaddr *)&sun, sizeof(sun))) {
		close(probe);
		errno = EADDRINUSE;
		return -1;
	}
	close(probe);
	unlink(p->ctl_path);

	p->ctl_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
			   0);
	if (p->ctl_fd < 0)
		return -1;
	if (bind(p->ctl_fd, (struct sockaddr *)&sun, sizeof(sun)))
		return -1;
	if (listen(p->ctl_fd, 16)) {
		int err = errno;

		unlink(p->ctl_path);
		errno = err;
		return -1;
	}
	return 0;
}

static int write_pidfile(const char *path)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	fprintf(f, "%ld\n", (long)getpid());
	return fclose(f);
}

static void proxy_free(struct proxy *p)
{
	while (p->pairs)
		pair_free(p, p->pairs);
	while (p->ctls) {
		p->ctls->dead = true;
		reap_ctls(p);
	}
	free(p->pfd);
	free(p->slots);
	if (p->lfd >= 0)
		close(p->lfd);
	if (p->ctl_fd >= 0)
		close(p->ctl_fd);
}

static void usage(FILE *f)
{
	fputs("usage: nfs_fault_proxy --listen ADDR:PORT "
	      "--upstream ADDR:PORT --control PATH\n"
	      "                       [--pidfile FILE] [--verbose]\n"
	      "       nfs_fault_proxy --control PATH --send \"COMMAND\"\n"
	      "A fake NFS server's misbehaviour for tests: a TCP proxy that\n"
	      "cuts, delays, stalls, blackholes, or loses unstable writes\n"
	      "on command.  PORT 0 listens on any free port (command: port).\n"
	      "Commands: cut | delay MS | stall | resume | blackhole SECS |\n"
	      "          lose-writes [all] | short-write | disarm | status |\n"
	      "          port | quit\n"
	      "One-shot, for the next PROC (read|write|commit|getattr|any):\n"
	      "          cut-reply PROC BYTES | cut-call PROC BYTES |\n"
	      "          stall-reply PROC BYTES MS |\n"
	      "          corrupt-reply PROC length|xid |\n"
	      "          error-reply PROC NFSSTAT [COUNT|every]\n"
	      "Until disarm (COUNT: that many, then off):\n"
	      "          delay-reply PROC MS | garble-reply PROC OFFSET|any |\n"
	      "          reject-reply PROC KIND [COUNT|every] |\n"
	      "          short-read OFFSET|any [COUNT|every] |\n"
	      "          stale-for MS [io] | empty-fragments\n"
	      "KIND: rpc-mismatch | auth-error | prog-unavail |\n"
	      "      prog-mismatch | proc-unavail | garbage-args |\n"
	      "      system-err\n", f);
}

static int send_mode(const char *ctl, const char *cmd)
{
	char reply[CTL_REPLY_MAX];
	int ret = fault_proxy_cmd(ctl, cmd, reply, sizeof(reply));

	if (ret < 0) {
		fprintf(stderr, "nfs_fault_proxy: %s: %s\n", ctl,
			strerror(-ret));
		return 2;
	}
	puts(reply);
	return ret ? 1 : 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "upstream", required_argument, NULL, 'u' },
		{ "control", required_argument, NULL, 'c' },
		{ "pidfile", required_argument, NULL, 'p' },
		{ "send", required_argument, NULL, 's' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct proxy p = { .lfd = -1, .ctl_fd = -1 };
	const char *listen_s = NULL, *upstream_s = NULL, *send_s = NULL;
	struct sigaction sa = { .sa_handler = on_signal };
	pid_t parent;
	struct sockaddr_in lsin;
	sigset_t block, waitmask;
	int opt, ret = 1;

	while ((opt = getopt_long(argc, argv, "l:u:c:p:s:vh", opts,
				  NULL)) != -1) {
		switch (opt) {
		case 'l':
			listen_s = optarg;
			break;
		case 'u':
			upstream_s = optarg;
			break;
		case 'c':
			p.ctl_path = optarg;
			break;
		case 'p':
			p.pidfile = optarg;
			break;
		case 's':
			send_s = optarg;
			break;
		case 'v':
			p.verbose = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || !p.ctl_path) {
		usage(stderr);
		return 2;
	}
	if (send_s)
		return send_mode(p.ctl_path, send_s);
	if (!listen_s || !upstream_s) {
		usage(stderr);
		return 2;
	}
	if (parse_addr(listen_s, &lsin, true) ||
	    parse_addr(upstream_s, &p.upstream, false)) {
		fprintf(stderr, "nfs_fault_proxy: addresses are IPV4:PORT\n");
		return 2;
	}

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &waitmask);
	sigdelset(&waitmask, SIGINT);
	sigdelset(&waitmask, SIGTERM);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	/*
	 * A test that dies (a sanitizer abort, a crash) must not leave its
	 * proxy behind: it would hold the test's output pipe open, and
	 * ctest would wait for it until its timeout.
	 */
	parent = getppid();
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		return 1;		/* it died before prctl */

	if (listen_tcp(&p, &lsin)) {
		fprintf(stderr, "nfs_fault_proxy: listen on %s: %s\n",
			listen_s, strerror(errno));
		goto out;
	}
	if (listen_ctl(&p)) {
		fprintf(stderr, "nfs_fault_proxy: control socket %s: %s\n",
			p.ctl_path, strerror(errno));
		goto out;
	}
	if (p.pidfile && write_pidfile(p.pidfile)) {
		fprintf(stderr, "nfs_fault_proxy: pidfile %s: %s\n",
			p.pidfile, strerror(errno));
		goto out_ctl;
	}
	vlog(&p, "listening on port %u, upstream %s", p.port, upstream_s);

	ret = run(&p, &waitmask) ? 1 : 0;

	if (p.pidfile)
		unlink(p.pidfile);
out_ctl:
	unlink(p.ctl_path);
out:
	proxy_free(&p);
	return ret;
}
