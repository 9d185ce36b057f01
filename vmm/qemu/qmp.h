/* SPDX-License-Identifier: MIT */
/*
 * A QMP client: one connection to a QEMU monitor on a unix socket, one
 * command at a time. Replies are read with jansson; the events that arrive
 * between replies are kept with the host time they were read at, for the
 * few the harness waits on (STOP, RESUME, MIGRATION).
 */
#ifndef DIRTYBENCH_QMP_H
#define DIRTYBENCH_QMP_H

#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

struct db_qmp_event {
	char name[48];		/* "STOP", "MIGRATION:completed" */
	uint64_t read_ns;	/* CLOCK_MONOTONIC when it was read */
	uint64_t qemu_wall_ns;	/* its own timestamp, CLOCK_REALTIME */
};

#define DB_QMP_EVENTS 64

struct db_qmp {
	int fd;
	char name[16];		/* "source", "destination": in messages */
	char buf[1 << 16];
	size_t len;
	int version[3];		/* major, minor, micro from the greeting */
	struct db_qmp_event ev[DB_QMP_EVENTS];	/* the latest, oldest dropped */
	unsigned nev;
};

/*
 * Connect to the monitor at path, retrying until timeout_ms while QEMU
 * (pid, 0: not watched) comes up; read the greeting and negotiate
 * capabilities. 0, -ECHILD if QEMU exited, -ETIMEDOUT, -EPROTO.
 */
int db_qmp_connect(struct db_qmp *q, const char *name, const char *path,
		   pid_t pid, uint64_t timeout_ms);
void db_qmp_close(struct db_qmp *q);
/*
 * Run cmd with args (stolen; NULL for none) and wait timeout_ms for the
 * reply. 0 with *ret the "return" value (caller json_decref()s; ret may
 * be NULL), -EREMOTEIO with QEMU's error description as the message,
 * -ETIMEDOUT, -EPIPE when QEMU went away.
 */
int db_qmp_exec(struct db_qmp *q, const char *cmd, json_t *args, json_t **ret,
		uint64_t timeout_ms);
/* The last event 'name' read at or after since_ns, or NULL. */
const struct db_qmp_event *db_qmp_event_since(const struct db_qmp *q,
					      const char *name, uint64_t since_ns);
/* Read pending events for up to wait_ms (0: only what is there). */
int db_qmp_poll_events(struct db_qmp *q, uint64_t wait_ms);

#endif
