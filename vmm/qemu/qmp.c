// SPDX-License-Identifier: MIT
/* QMP over a unix socket: line-delimited JSON, read with jansson. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dirtybench/common.h"
#include "qmp.h"

static void keep_event(struct db_qmp *q, json_t *msg)
{
	struct db_qmp_event *e;
	json_t *ts = json_object_get(msg, "timestamp");

	if (q->nev == DB_QMP_EVENTS) {
		memmove(q->ev, q->ev + 1, sizeof(q->ev[0]) * (DB_QMP_EVENTS - 1));
		q->nev--;
	}
	e = &q->ev[q->nev++];
	/* MIGRATION events carry their status: "MIGRATION:completed". */
	snprintf(e->name, sizeof(e->name), "%s%s%s",
		 json_string_value(json_object_get(msg, "event")),
		 json_object_get(json_object_get(msg, "data"), "status") ? ":" : "",
		 json_string_value(json_object_get(json_object_get(msg, "data"),
						   "status")) ?: "");
	e->read_ns = db_now_ns();
	e->qemu_wall_ns = (uint64_t)json_integer_value(json_object_get(ts, "seconds")) *
			  1000000000ull +
			  (uint64_t)json_integer_value(json_object_get(ts, "microseconds")) * 1000;
}

/*
 * The next message within deadline_ns (CLOCK_MONOTONIC): 0 with *out,
 * -ETIMEDOUT, -EPIPE, -EPROTO.
 */
static int read_msg(struct db_qmp *q, json_t **out, uint64_t deadline_ns)
{
	for (;;) {
		char *nl = memchr(q->buf, '\n', q->len);
		struct pollfd p = { .fd = q->fd, .events = POLLIN };
		uint64_t now;
		ssize_t n;

		if (nl) {
			size_t l = (size_t)(nl - q->buf) + 1;
			json_error_t je;
			json_t *m = json_loadb(q->buf, l, 0, &je);

			memmove(q->buf, q->buf + l, q->len - l);
			q->len -= l;
			if (!m || !json_is_object(m)) {
				json_decref(m);
				return db_error(-EPROTO, "QMP %s: not a JSON object: %s",
						q->name, je.text);
			}
			*out = m;
			return 0;
		}
		if (q->len == sizeof(q->buf))
			return db_error(-EPROTO, "QMP %s: a message longer than %zu bytes",
					q->name, sizeof(q->buf));
		now = db_now_ns();
		if (now >= deadline_ns)
			return -ETIMEDOUT;
		n = poll(&p, 1, (int)((deadline_ns - now) / 1000000 + 1));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			continue;
		n = read(q->fd, q->buf + q->len, sizeof(q->buf) - q->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return db_error(-EPIPE, "QMP %s: QEMU closed the monitor", q->name);
		q->len += (size_t)n;
	}
}

static int send_str(struct db_qmp *q, const char *s)
{
	size_t len = strlen(s), off = 0;

	while (off < len) {
		ssize_t n = send(q->fd, s + off, len - off, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return db_error_errno(-EPIPE, "QMP %s: cannot send", q->name);
		off += (size_t)n;
	}
	return 0;
}

int db_qmp_exec(struct db_qmp *q, const char *cmd, json_t *args, json_t **ret,
		uint64_t timeout_ms)
{
	uint64_t deadline = db_now_ns() + timeout_ms * 1000000;
	json_t *req = json_object(), *m;
	char *s;
	int err;

	if (ret)
		*ret = NULL;
	json_object_set_new(req, "execute", json_string(cmd));
	if (args)
		json_object_set_new(req, "arguments", args);
	s = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	if (!s)
		return -ENOMEM;
	err = send_str(q, s);
	if (!err)
		err = send_str(q, "\n");
	free(s);
	if (err)
		return err;
	for (;;) {
		json_t *r, *e;

		err = read_msg(q, &m, deadline);
		if (err == -ETIMEDOUT)
			return db_error(-ETIMEDOUT, "QMP %s: no reply to %s within %llu ms",
					q->name, cmd, (unsigned long long)timeout_ms);
		if (err)
			return err;
		if (json_object_get(m, "event")) {
			keep_event(q, m);
			json_decref(m);
			continue;
		}
		r = json_object_get(m, "return");
		e = json_object_get(m, "error");
		if (r) {
			if (ret)
				*ret = json_incref(r);
			json_decref(m);
			return 0;
		}
		if (e) {
			err = db_error(-EREMOTEIO, "QMP %s: %s: %s", q->name, cmd,
				       json_string_value(json_object_get(e, "desc")));
			json_decref(m);
			return err;
		}
		json_decref(m);	/* a greeting or something unknown: skip */
	}
}

int db_qmp_poll_events(struct db_qmp *q, uint64_t wait_ms)
{
	uint64_t deadline = db_now_ns() + wait_ms * 1000000;
	json_t *m;
	int err;

	for (;;) {
		err = read_msg(q, &m, deadline);
		if (err == -ETIMEDOUT)
			return 0;
		if (err)
			return err;
		if (json_object_get(m, "event"))
			keep_event(q, m);
		json_decref(m);
	}
}

const struct db_qmp_event *db_qmp_event_since(const struct db_qmp *q,
					      const char *name, uint64_t since_ns)
{
	unsigned i;

	for (i = q->nev; i-- > 0;)
		if (!strcmp(q->ev[i].name, name) && q->ev[i].read_ns >= since_ns)
			return &q->ev[i];
	return NULL;
}

int db_qmp_connect(struct db_qmp *q, const char *name, const char *path,
		   pid_t pid, uint64_t timeout_ms)
{
	uint64_t deadline = db_now_ns() + timeout_ms * 1000000;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	json_t *m, *v;
	int err;

	memset(q, 0, sizeof(*q));
	q->fd = -1;
	snprintf(q->name, sizeof(q->name), "%s", name);
	if (strlen(path) >= sizeof(sa.sun_path))
		return db_error(-ENAMETOOLONG, "QMP %s: socket path '%s' is too long",
				name, path);
	strcpy(sa.sun_path, path);
	for (;;) {
		q->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (q->fd < 0)
			return db_error_errno(-errno, "QMP %s: socket", name);
		if (!connect(q->fd, (struct sockaddr *)&sa, sizeof(sa)))
			break;
		err = -errno;
		close(q->fd);
		q->fd = -1;
		if (pid > 0 && waitpid(pid, NULL, WNOHANG) == pid)
			return db_error(-ECHILD, "QMP %s: QEMU exited before its monitor "
					"came up (its log says why)", name);
		if (db_now_ns() >= deadline)
			return db_error_errno(err, "QMP %s: cannot connect to %s within %llu ms",
					      name, path, (unsigned long long)timeout_ms);
		db_sleep_ns(20 * 1000000);
	}
	err = read_msg(q, &m, deadline);
	if (err == -ETIMEDOUT)
		err = db_error(-ETIMEDOUT, "QMP %s: no greeting", name);
	if (err)
		goto fail;
	v = json_object_get(json_object_get(json_object_get(m, "QMP"), "version"), "qemu");
	if (!v) {
		json_decref(m);
		err = db_error(-EPROTO, "QMP %s: %s does not greet like a QEMU monitor",
			       name, path);
		goto fail;
	}
	q->version[0] = (int)json_integer_value(json_object_get(v, "major"));
	q->version[1] = (int)json_integer_value(json_object_get(v, "minor"));
	q->version[2] = (int)json_integer_value(json_object_get(v, "micro"));
	json_decref(m);
	err = db_qmp_exec(q, "qmp_capabilities", NULL, NULL, 10000);
	if (err)
		goto fail;
	return 0;
fail:
	db_qmp_close(q);
	return err;
}

void db_qmp_close(struct db_qmp *q)
{
	if (q->fd >= 0)
		close(q->fd);
	q->fd = -1;
}
