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

#include "dirtybench/dirtyram.h"
#include "dirtybench/ram.h"

/* Which commands an option belongs to. */
enum db_opt_cmd {
	DB_OPT_RUN = 1u << 0,		/* dirtybench run */
	DB_OPT_MIGRATE = 1u << 1,	/* dirtybench migrate */
	DB_OPT_DEST = 1u << 2,		/* dirtybench dest */
	DB_OPT_TARGET = 1u << 3,	/* a key of a target file */
	DB_OPT_MODEL = 1u << 4,		/* dirtybench model-check */
};
#define DB_OPT_SOURCE (DB_OPT_RUN | DB_OPT_MIGRATE | DB_OPT_TARGET)

enum db_stop_kind {
	DB_STOP_DOWNTIME,	/* remaining <= bandwidth x downtime limit */
	DB_STOP_ROUNDS,		/* after N rounds in all, the last one stopped */
	DB_STOP_TIME,		/* downtime rule with a deadline of S seconds */
	DB_STOP_THRESHOLD,	/* remaining dirty pages <= P */
};

enum db_on_timeout { DB_ON_TIMEOUT_FORCE, DB_ON_TIMEOUT_CANCEL };
enum db_link { DB_LINK_LOOPBACK, DB_LINK_NETNS };
enum db_fill { DB_FILL_RANDOM, DB_FILL_ZERO };
enum db_dirty_limit { DB_DIRTY_LIMIT_OFF, DB_DIRTY_LIMIT_AUTO, DB_DIRTY_LIMIT_RATE };

struct db_run_config {
	char tracker[96];
	uint64_t ram_bytes;
	enum db_backing backing;
	enum db_fill fill;
	char workload[256];		/* as given */
	bool workload_on;		/* false: "none" */
	bool workload_pages_all;	/* pages= not given: all RAM */
	struct dr_config dr;
	uint64_t bandwidth;		/* bytes/s, 0 = unlimited */
	uint64_t downtime_limit_ms;
	enum db_stop_kind stop;
	uint64_t stop_arg;		/* N rounds, S ms, P pages */
	uint64_t max_rounds;
	uint64_t max_time_ms;
	enum db_on_timeout on_timeout;
	char dirty_limit[32];		/* as given: off, auto, RATE */
	enum db_dirty_limit dirty_limit_mode;
	uint64_t dirty_limit_pps;	/* DB_DIRTY_LIMIT_RATE */
	enum db_link link;
	char out[512];
	uint64_t seed;
	uint64_t dest_tail_ms;
	uint64_t warmup_ms;
	uint64_t peer_timeout_ms;
	uint64_t chunk_pages;
	uint64_t sample_ms;		/* collectors' interval, 0 = off */
	char listen[128];		/* dest */
	char to[128];			/* migrate */
	char port_file[512];		/* dest */
	uint64_t port_fd;		/* dest, 0 = none */
	uint64_t accept_timeout_ms;	/* dest */
	bool progress;
	bool quiet;
	char scenario[128];
	double lambda;			/* model-check */
};

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
/* "downtime", "rounds:5", "time:30", "threshold:100". */
const char *db_stop_str(const struct db_run_config *c, char *buf, size_t len);
const char *db_link_name(enum db_link l);
const char *db_on_timeout_name(enum db_on_timeout t);
/* The canonical one-line form of a run's settings (HELLO, results). */
size_t db_run_config_text(const struct db_run_config *c, char *buf, size_t len);

#endif
