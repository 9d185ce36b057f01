// SPDX-License-Identifier: MIT
/* nginx and a silent server on 127.0.0.1, for the HTTP tests. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dirtybench/common.h"
#include "base/files.h"
#include "fixture.h"
#include "httpd.h"

extern char **environ;

static int listen_any(int *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	cr_assert_geq(fd, 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

int fx_free_port(void)
{
	int port, fd = listen_any(&port);

	close(fd);
	return port;
}

static bool can_connect(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return ok;
}

bool fx_nginx_start(struct fx_nginx *n, char *why, size_t len)
{
	char conf[4096], path[600], log[600];
	const char *nginx = "/usr/sbin/nginx";
	posix_spawn_file_actions_t fa;
	uint64_t t0;
	int tries;

	memset(n, 0, sizeof(*n));
	if (access(nginx, X_OK)) {
		snprintf(why, len, "nginx is not installed (Debian package "
			 "nginx-light; make deps installs it)");
		return false;
	}
	n->prefix = fx_tmpdir("nginx");
	snprintf(path, sizeof(path), "%s/www", n->prefix);
	cr_assert_eq(db_mkdir_p(path), 0);
	snprintf(path, sizeof(path), "%s/tmp", n->prefix);
	cr_assert_eq(db_mkdir_p(path), 0);
	for (tries = 0; tries < 5; tries++) {
		n->port = fx_free_port();
		snprintf(conf, sizeof(conf),
			 "daemon off;\nmaster_process off;\nworker_processes 1;\n"
			 "pid %1$s/nginx.pid;\nerror_log %1$s/error.log warn;\n"
			 "events { worker_connections 64; }\n"
			 "http {\n access_log off;\n"
			 " client_body_temp_path %1$s/tmp;\n"
			 " proxy_temp_path %1$s/tmp;\n fastcgi_temp_path %1$s/tmp;\n"
			 " client_max_body_size 0;\n"
			 " server {\n  listen 127.0.0.1:%2$d;\n  root %1$s/www;\n"
			 "  location /fail500/ { return 500; }\n"
			 "  location /nomove/ { dav_methods PUT DELETE MKCOL; "
			 "create_full_put_path on; }\n"
			 "  location / { dav_methods PUT DELETE MKCOL COPY MOVE; "
			 "create_full_put_path on; }\n }\n}\n", n->prefix, n->port);
		snprintf(path, sizeof(path), "%s/nginx.conf", n->prefix);
		cr_assert_eq(db_write_atomic(path, conf, strlen(conf)), 0);
		snprintf(log, sizeof(log), "%s/stderr.log", n->prefix);
		{
			char errlog[600];
			const char *argv[] = { nginx, "-p", n->prefix, "-c", path,
					       "-e", errlog, NULL };

			snprintf(errlog, sizeof(errlog), "%s/error.log", n->prefix);
			posix_spawn_file_actions_init(&fa);
			posix_spawn_file_actions_addopen(&fa, 1, log,
							 O_WRONLY | O_CREAT, 0644);
			posix_spawn_file_actions_adddup2(&fa, 1, 2);
			cr_assert_eq(posix_spawn(&n->pid, nginx, &fa, NULL,
						 (char *const *)argv, environ), 0);
			posix_spawn_file_actions_destroy(&fa);
		}
		for (t0 = db_now_ns(); db_now_ns() - t0 < 5000000000ull;) {
			int st;

			if (waitpid(n->pid, &st, WNOHANG) == n->pid) {
				n->pid = 0;
				break;	/* port taken meanwhile, or broken */
			}
			if (can_connect(n->port)) {
				snprintf(n->url, sizeof(n->url),
					 "http://127.0.0.1:%d", n->port);
				return true;
			}
			db_sleep_ns(10000000);
		}
		if (n->pid) {
			kill(n->pid, SIGKILL);
			waitpid(n->pid, NULL, 0);
			n->pid = 0;
		}
	}
	snprintf(why, len, "nginx did not start (see %s/error.log)", n->prefix);
	return false;
}

void fx_nginx_stop(struct fx_nginx *n)
{
	if (n->pid) {
		kill(n->pid, SIGTERM);
		waitpid(n->pid, NULL, 0);
		n->pid = 0;
	}
	fx_cleanup(n->prefix);
	n->prefix = NULL;
}

static void *slow_main(void *arg)
{
	struct fx_slow *s = arg;
	int held[16], n = 0;

	for (;;) {
		int c = accept(s->fd, NULL, NULL);

		if (c < 0)
			break;		/* closed by fx_slow_stop */
		if (n < 16)
			held[n++] = c;	/* read nothing, answer nothing */
		else
			close(c);
	}
	while (n)
		close(held[--n]);
	return NULL;
}

void fx_slow_start(struct fx_slow *s)
{
	s->fd = listen_any(&s->port);
	cr_assert_eq(listen(s->fd, 16), 0);
	snprintf(s->url, sizeof(s->url), "http://127.0.0.1:%d", s->port);
	cr_assert_eq(pthread_create(&s->thread, NULL, slow_main, s), 0);
}

void fx_slow_stop(struct fx_slow *s)
{
	shutdown(s->fd, SHUT_RDWR);
	close(s->fd);
	pthread_join(s->thread, NULL);
}
