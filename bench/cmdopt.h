/* SPDX-License-Identifier: MIT */
/*
 * One option table per command serves both the parser and --help
 * (name, argument, default, units, meaning). Commands call cmd_parse().
 */
#ifndef DIRTYBENCH_CMDOPT_H
#define DIRTYBENCH_CMDOPT_H

#include <stddef.h>
#include <stdio.h>

struct cmd_opt {
	const char *name;	/* long name, without "--" */
	int key;		/* short option letter, or >= 256 for long only */
	const char *arg;	/* argument's name ("REGEX"); NULL for a flag */
	const char *def;	/* default shown in --help, NULL: none */
	const char *help;	/* meaning, units */
};

struct cmd_doc {
	const char *synopsis;	/* "dirtybench bench [OPTIONS]" */
	const char *desc;	/* paragraphs before the options */
	const struct cmd_opt *opts;
	size_t nopts;
	const char *tail;	/* examples and exit status, after the options */
};

/*
 * Parse argv with getopt_long from the table. fn(key, optarg, ctx) returns
 * 0 or an exit status (it prints its own message). Returns the index of
 * the first operand, or -status: -2 after bad usage (message printed),
 * -(fn's status), or -1000 after --help was printed (exit 0).
 */
#define CMD_HELP_SHOWN (-1000)
int cmd_parse(int argc, char **argv, const struct cmd_doc *doc,
	      int (*fn)(int key, const char *arg, void *ctx), void *ctx);
void cmd_help(FILE *f, const struct cmd_doc *doc);

#endif
