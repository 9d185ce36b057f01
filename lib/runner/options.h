/* SPDX-License-Identifier: MIT */
/*
 * The options of a migration run: one table (name, type, default, units,
 * help) serves command-line parsing, validation, --help and target files.
 * Target files set the same keys by name with db_option_set().
 */
#ifndef DIRTYBENCH_OPTIONS_H
#define DIRTYBENCH_OPTIONS_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>

#include "engine/settings.h"

/* Which commands an option belongs to. */
enum db_opt_cmd {
	DB_OPT_RUN = 1u << 0,		/* dirtybench run */
	DB_OPT_MIGRATE = 1u << 1,	/* dirtybench migrate */
	DB_OPT_DEST = 1u << 2,		/* dirtybench dest */
	DB_OPT_TARGET = 1u << 3,	/* a key of a target file */
	DB_OPT_MODEL = 1u << 4,		/* dirtybench model-check */
};
#define DB_OPT_SOURCE (DB_OPT_RUN | DB_OPT_MIGRATE | DB_OPT_TARGET)

enum db_opt_type {
	DB_T_STR, DB_T_SIZE, DB_T_RATE, DB_T_U64, DB_T_MS, DB_T_SECONDS,
	DB_T_BACKING, DB_T_CHOICE, DB_T_STOP, DB_T_WORKLOAD, DB_T_FLAG,
	DB_T_DOUBLE,
};

struct db_option {
	const char *name;	/* without "--" */
	const char *arg;	/* metavariable in --help, NULL for flags */
	enum db_opt_type type;
	size_t off;		/* into struct db_run_config */
	size_t size;		/* DB_T_STR: buffer size */
	const char *def;	/* default, parsed like the user's value */
	uint64_t min, max;	/* DB_T_U64 / DB_T_MS bounds */
	const char *choices;	/* DB_T_CHOICE: "a|b|c" */
	unsigned cmds;		/* enum db_opt_cmd */
	const char *help;
};

size_t db_option_count(void);
const struct db_option *db_option_at(size_t i);
const struct db_option *db_option_find(const char *name);

/* Every option's default (all commands). */
void db_run_config_defaults(struct db_run_config *c);
/*
 * Set option 'name' (without "--") from text. -ENOENT for an unknown
 * name, -EINVAL with a message naming the option for a bad value.
 */
int db_option_set(struct db_run_config *c, const char *name, const char *value);
/*
 * Parse argv[1..] of command 'cmd' (one enum db_opt_cmd bit): "--name
 * value", "--name=value", flags. Returns 0, 1 if --help was asked for,
 * or -EINVAL with a message naming the option.
 */
int db_options_parse(struct db_run_config *c, unsigned cmd, int argc,
		     const char *const argv[]);
/*
 * Cross-checks and derived values once everything is set: the workload
 * fits the RAM, the stop policy fits the caps, the output directory can
 * be created. -EINVAL with a message naming the option.
 */
int db_run_config_check(struct db_run_config *c, unsigned cmd);
/* The option list of a command, for --help. */
void db_options_help(FILE *f, unsigned cmd);

#endif
