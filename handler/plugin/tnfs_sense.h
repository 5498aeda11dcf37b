/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The one table from an I/O result (tnfs_status.h) to the SCSI sense an
 * initiator sees.  It only translates: whether the engine retries a
 * failed call is the engine's decision (tnfs_status_transient).
 */
#ifndef TNFS_SENSE_H
#define TNFS_SENSE_H

#include <stdbool.h>
#include <stdint.h>

#include "tnfs_status.h"

#define TNFS_SENSE_NO_SENSE		0x0
#define TNFS_SENSE_NOT_READY		0x2
#define TNFS_SENSE_MEDIUM_ERROR		0x3
#define TNFS_SENSE_HARDWARE_ERROR	0x4
#define TNFS_SENSE_ILLEGAL_REQUEST	0x5
#define TNFS_SENSE_DATA_PROTECT		0x7

struct tnfs_sense {
	uint8_t key;		/* 0 with status 0: no sense, GOOD */
	uint16_t asc_ascq;
};

/* Sense for @status (0 = success) of a read (@write false) or write. */
struct tnfs_sense tnfs_sense_of(int status, bool write);

/* Does @status have a row of its own (not the catch-all)? For tests. */
bool tnfs_sense_known(int status);

#endif
