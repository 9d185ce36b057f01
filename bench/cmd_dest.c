// SPDX-License-Identifier: MIT
/* dirtybench dest: accept one migration, verify the RAM, resume the guest. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "dirtybench/common.h"
#include "cmd.h"
#include "engine/engine.h"
#include "runner/options.h"
#include "engine/results.h"
#include "wire/transport.h"

static void help(void)
{
	printf("Usage: dirtybench dest [--listen ADDR:PORT] [OPTIONS]\n\n"
"Wait for one source (`dirtybench migrate`, or `dirtybench run`, which starts\n"
"this command itself), receive its guest RAM into plain memory, validating\n"
"every frame, and at the end compare the whole-RAM xxh3-128 checksum with\n"
"the source's. When they differ, chunk hashes and then page hashes locate the\n"
"differing pages, and the guest is not resumed. When they match, the\n"
"workload resumes here from the state the source sent, runs for the tail the\n"
"source asked for, and its figures go back to the source, which writes the\n"
"full results. A malformed frame ends the connection with an ERROR frame\n"
"naming the problem.\n\n"
"Options:\n");
	db_options_help(stdout, DB_OPT_DEST);
	printf("\nExamples:\n"
"  dirtybench dest --listen 192.0.2.2:7650\n"
"  dirtybench dest --listen 127.0.0.1:0 --port-file /tmp/port --out /tmp/dst\n\n"
"Exit status:\n"
"  0  migration received, RAM equal, guest resumed\n"
"  1  RAM differs from the source's (the differing pages are reported)\n"
"  2  bad option, or a malformed or hostile frame from the peer\n"
"  3  the guest RAM cannot be had here\n"
"  4  the source vanished, went silent, or cancelled\n");
}

static int report_port(const struct db_run_config *cfg, uint16_t port)
{
	char line[16];
	int fd, n = snprintf(line, sizeof(line), "%u\n", port);

	if (cfg->port_fd) {
		if (write((int)cfg->port_fd, line, (size_t)n) != n)
			return db_error_errno(-errno, "option --port-fd: cannot write to fd %llu",
					      (unsigned long long)cfg->port_fd);
		close((int)cfg->port_fd);
	}
	if (cfg->port_file[0]) {
		fd = open(cfg->port_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0 || write(fd, line, (size_t)n) != n) {
			if (fd >= 0)
				close(fd);
			return db_error_errno(-errno, "option --port-file: cannot write '%s'",
					      cfg->port_file);
		}
		close(fd);
	}
	return 0;
}

static int exit_status(int err, const struct db_result *res)
{
	if (!err)
		return db_result_exit_status(res);
	switch (err) {
	case -EPROTO:
		return DB_EXIT_USAGE;
	case -ENOMEM:
	case -ENOTSUP:
	case -EPERM:
	case -ENOSPC:
		return DB_EXIT_RESOURCE;
	default:
		return DB_EXIT_ABORTED;
	}
}

int cmd_dest(int argc, char **argv)
{
	struct db_run_config cfg;
	struct db_result res;
	uint16_t port;
	int lfd, fd, err, status;

	db_run_config_defaults(&cfg);
	err = db_options_parse(&cfg, DB_OPT_DEST, argc, (const char *const *)argv);
	if (err == 1) {
		help();
		return DB_EXIT_OK;
	}
	if (!err)
		err = db_run_config_check(&cfg, DB_OPT_DEST);
	if (err) {
		fprintf(stderr, "dirtybench dest: %s\n", db_strerror());
		return DB_EXIT_USAGE;
	}
	db_cmd_signals();
	err = db_tcp_listen(cfg.listen, &lfd, &port);
	if (err) {
		fprintf(stderr, "dirtybench dest: %s\n", db_strerror());
		return DB_EXIT_RESOURCE;
	}
	err = report_port(&cfg, port);
	if (err) {
		fprintf(stderr, "dirtybench dest: %s\n", db_strerror());
		close(lfd);
		return DB_EXIT_USAGE;
	}
	if (!cfg.quiet)
		fprintf(stderr, "dirtybench dest: listening on %s (port %u)\n",
			cfg.listen, port);
	err = db_tcp_accept(lfd, cfg.accept_timeout_ms * 1000000ull, &fd);
	close(lfd);
	if (err) {
		fprintf(stderr, "dirtybench dest: %s\n", db_strerror());
		return DB_EXIT_ABORTED;
	}
	db_result_init(&res, &cfg, DB_ROLE_DST);
	err = db_dest_serve(&cfg, fd, &res);
	status = exit_status(err, &res);
	/* a result never claims more than happened: outcome says it */
	if (cfg.out[0] && db_result_write(&res, cfg.out))
		fprintf(stderr, "dirtybench dest: %s\n", db_strerror());
	if (status)
		fprintf(stderr, "dirtybench dest: %s: %s\n", db_outcome_name(res.outcome),
			res.error);
	else if (!cfg.quiet)
		printf("dirtybench dest: RAM equal after %u rounds, guest resumed and wrote %llu pages in %llu ms\n",
		       res.rounds, (unsigned long long)res.tail.pages_written,
		       (unsigned long long)(res.tail.tail_ns / 1000000));
	db_result_free(&res);
	return status;
}
