/* SPDX-License-Identifier: MIT */
/*
 * A private link for one migration: a network namespace for the
 * destination, a veth pair into it with link-local IPv4 addresses
 * (169.254.0.0/16, a /30 per run derived from the pid), and a tc tbf qdisc
 * on the host side shaping source -> destination traffic. Built with the
 * iproute2 commands (ip, tc); torn down by deleting the namespace.
 */
#ifndef DIRTYBENCH_NETNS_H
#define DIRTYBENCH_NETNS_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

struct db_netns {
	char ns[32];		/* "dirtybench-<pid>" */
	char veth_host[16];	/* "dbh<pid>" */
	char veth_ns[16];	/* "dbd<pid>" */
	char addr_host[20];	/* 169.254.x.y */
	char addr_ns[20];
	bool ns_created;
	bool veth_created;
};

/* Can we build one here? 0, or -errno with the reason in why. */
int db_netns_probe(char *why, size_t len);
/* Names and addresses for a given id (the pid), nothing created. */
void db_netns_names(struct db_netns *n, unsigned long id);
/* Create namespace, veth pair, addresses, and tbf at bandwidth (0: none). */
int db_netns_setup(struct db_netns *n, unsigned long id,
		   uint64_t bandwidth_bytes_per_s);
/* Remove everything setup created; safe to call twice or after failure. */
void db_netns_teardown(struct db_netns *n);
/*
 * Run a command (argv[0] searched in PATH) without a shell; its stderr
 * (first line) goes into the error message. 0 or -errno.
 */
int db_run_cmd(const char *const argv[]);

#endif
