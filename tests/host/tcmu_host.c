// SPDX-License-Identifier: LGPL-2.1-or-later
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tcmu_host.h"
#include "libtcmu_common.h"
#include "tcmur_device.h"

static void host_cmd_done(struct tcmu_device *dev, struct tcmur_cmd *cmd,
			  int rc)
{
	struct host_cmd *w = (struct host_cmd *)((char *)cmd -
		offsetof(struct host_cmd, cmd));

	(void)dev;
	pthread_mutex_lock(&w->lock);
	w->rc = rc;
	w->done = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

void host_cmd_init(struct host_cmd *w, uint8_t opcode, uint8_t flags)
{
	memset(w, 0, sizeof(*w));
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	w->cdb[0] = opcode;
	w->cdb[1] = flags;
	w->lib.cdb = w->cdb;
	w->cmd.lib_cmd = &w->lib;
	w->cmd.done = host_cmd_done;
}

int host_cmd_wait(struct host_cmd *w, int queued)
{
	if (queued != TCMU_STS_OK)
		return queued;
	pthread_mutex_lock(&w->lock);
	while (!w->done)
		pthread_cond_wait(&w->cond, &w->lock);
	pthread_mutex_unlock(&w->lock);
	return w->rc;
}

static struct tcmur_handler *registered;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char log_buf[16384];

int tcmur_register_handler(struct tcmur_handler *handler)
{
	registered = handler;
	return 0;
}

struct tcmur_handler *host_load_plugin(const char *path)
{
	int (*init)(void);
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);

	if (!h) {
		fprintf(stderr, "dlopen %s: %s\n", path, dlerror());
		return NULL;
	}
	init = (int (*)(void))dlsym(h, "handler_init");
	if (!init || init() != 0)
		return NULL;
	return registered;
}

void tcmur_dev_set_private(struct tcmu_device *dev, void *private)
{
	dev->handler_private = private;
}

void *tcmur_dev_get_private(struct tcmu_device *dev)
{
	return dev->handler_private;
}

void tcmur_cmd_complete(struct tcmu_device *dev, void *data, int rc)
{
	struct tcmur_cmd *cmd = data;

	cmd->done(dev, cmd, rc);
}

char *tcmu_dev_get_cfgstring(struct tcmu_device *dev)
{
	return dev->cfgstring;
}

const char *tcmu_dev_get_uio_name(struct tcmu_device *dev)
{
	return dev->uio_name;
}

uint64_t tcmu_dev_get_num_lbas(struct tcmu_device *dev)
{
	return dev->num_lbas;
}

uint32_t tcmu_dev_get_block_size(struct tcmu_device *dev)
{
	return dev->block_size;
}

uint32_t tcmu_dev_get_max_xfer_len(struct tcmu_device *dev)
{
	return dev->max_xfer_len;
}

void tcmu_dev_set_write_cache_enabled(struct tcmu_device *dev, bool enabled)
{
	dev->write_cache = enabled;
}

bool tcmu_dev_get_write_cache_enabled(struct tcmu_device *dev)
{
	return dev->write_cache;
}

void tcmu_dev_set_max_unmap_len(struct tcmu_device *dev, uint32_t len)
{
	dev->max_unmap_len = len;
}

uint32_t tcmu_dev_get_max_unmap_len(struct tcmu_device *dev)
{
	return dev->max_unmap_len;
}

void tcmu_dev_set_opt_unmap_gran(struct tcmu_device *dev, uint32_t len,
				 bool split)
{
	dev->opt_unmap_gran = len;
	dev->split_unmaps = split;
}

uint32_t tcmu_dev_get_opt_unmap_gran(struct tcmu_device *dev)
{
	return dev->opt_unmap_gran;
}

void tcmu_dev_set_unmap_gran_align(struct tcmu_device *dev, uint32_t len)
{
	dev->unmap_gran_align = len;
}

uint32_t tcmu_dev_get_unmap_gran_align(struct tcmu_device *dev)
{
	return dev->unmap_gran_align;
}

void tcmu_notify_conn_lost(struct tcmu_device *dev)
{
	dev->conn_lost++;
}

/* Only the CDBs the plugin asks about: MODE SENSE (6) and (10). */
uint32_t tcmu_cdb_get_xfer_length(uint8_t *cdb)
{
	if (cdb[0] == 0x1a)
		return cdb[4];
	if (cdb[0] == 0x5a)
		return (uint32_t)cdb[7] << 8 | cdb[8];
	fprintf(stderr, "test host: no xfer length for opcode %x\n", cdb[0]);
	abort();
}

size_t tcmu_memcpy_into_iovec(struct iovec *iovec, size_t iov_cnt,
			      void *src, size_t len)
{
	size_t done = 0, n;

	for (; iov_cnt && done < len; iovec++, iov_cnt--) {
		n = iovec->iov_len < len - done ? iovec->iov_len : len - done;
		memcpy(iovec->iov_base, (char *)src + done, n);
		done += n;
	}
	return done;
}

/* Fixed-format sense, as libtcmu builds it. */
int tcmu_sense_set_data(uint8_t *buf, uint8_t key, uint16_t asc_ascq)
{
	memset(buf, 0, 18);
	buf[0] = 0x70;
	buf[2] = key;
	buf[7] = 0xa;
	buf[12] = (asc_ascq >> 8) & 0xff;
	buf[13] = asc_ascq & 0xff;
	return 0x02;	/* CHECK CONDITION */
}

static void host_vlog(const char *level, const char *fmt, va_list ap)
{
	size_t n;

	pthread_mutex_lock(&log_lock);
	n = strlen(log_buf);
	n += (size_t)snprintf(log_buf + n, sizeof(log_buf) - n, "%s: ",
			      level);
	if (n < sizeof(log_buf))
		vsnprintf(log_buf + n, sizeof(log_buf) - n, fmt, ap);
	pthread_mutex_unlock(&log_lock);
	if (getenv("TEST_VERBOSE")) {
		fprintf(stderr, "%s: ", level);
		vfprintf(stderr, fmt, ap);
	}
}

#define HOST_LOG(fn, level)						\
void fn(struct tcmu_device *dev, const char *funcname, int linenr,	\
	const char *fmt, ...)						\
{									\
	va_list ap;							\
	(void)dev;							\
	(void)funcname;							\
	(void)linenr;							\
	va_start(ap, fmt);						\
	host_vlog(level, fmt, ap);					\
	va_end(ap);							\
}

HOST_LOG(tcmu_crit_message, "CRIT")
HOST_LOG(tcmu_err_message, "ERR")
HOST_LOG(tcmu_warn_message, "WARN")
HOST_LOG(tcmu_info_message, "INFO")
HOST_LOG(tcmu_dbg_message, "DBG")

const char *host_log(void)
{
	return log_buf;
}

void host_log_clear(void)
{
	pthread_mutex_lock(&log_lock);
	log_buf[0] = '\0';
	pthread_mutex_unlock(&log_lock);
}
