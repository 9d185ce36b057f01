/* SPDX-License-Identifier: MIT */
/*
 * Real HTTP servers on 127.0.0.1 for the compare suite: nginx (Debian's
 * nginx-light, WebDAV) started from a generated configuration in a
 * temporary prefix, and a "slow" server that accepts and never answers.
 *
 *   /            WebDAV: PUT DELETE MKCOL COPY MOVE, create_full_put_path
 *   /nomove/     WebDAV without MOVE (a publish cannot finish there)
 *   /fail500/    every request answers 500
 */
#ifndef DIRTYBENCH_TEST_HTTPD_H
#define DIRTYBENCH_TEST_HTTPD_H

#include <pthread.h>
#include <stdbool.h>
#include <sys/types.h>

struct fx_nginx {
	pid_t pid;
	int port;
	char *prefix;		/* temporary; www/ is the document root */
	char url[64];		/* http://127.0.0.1:PORT */
};

/* A port nothing listens on right now. */
int fx_free_port(void);
/* Start nginx; false with a reason in why if it cannot run here. */
bool fx_nginx_start(struct fx_nginx *n, char *why, size_t len);
void fx_nginx_stop(struct fx_nginx *n);

struct fx_slow {
	int fd, port;
	pthread_t thread;
	char url[64];
};

void fx_slow_start(struct fx_slow *s);
void fx_slow_stop(struct fx_slow *s);

#endif
