/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Talking to nfs_fault_proxy's control socket from C tests, and the
 * constants a test needs to recognise the proxy's fake replies.
 */
#ifndef FAULT_PROXY_CLIENT_H
#define FAULT_PROXY_CLIENT_H

#include <stddef.h>

/*
 * The write verifiers of the "server lost unstable data" sequence
 * (lose-writes): A in every swallowed WRITE reply, B in the faked COMMIT
 * reply.  Eight bytes each, no terminating NUL counted.
 */
#define FAULT_PROXY_VERF_A	"FPROXY-A"
#define FAULT_PROXY_VERF_B	"FPROXY-B"
#define FAULT_PROXY_VERF_LEN	8

/*
 * Send one command line (no newline needed) to the proxy listening on
 * @ctl_path and wait for its one-line reply, copied without the newline
 * into @reply (may be NULL when @len is 0).  Gives up after 5 seconds.
 *
 * Returns 0 for an "ok ..." reply, 1 for any other reply ("error ..."),
 * or a negative errno when the proxy could not be reached or hung up.
 */
int fault_proxy_cmd(const char *ctl_path, const char *cmd, char *reply,
		    size_t len);

#endif
