/* SPDX-License-Identifier: MIT */
/*
 * Bench targets: an ini file (bench/targets/NAME.ini) describing a scenario
 * matrix, expanded into scenarios that each become one or more
 * `dirtybench run` child processes (lib/matrix.c).
 *
 *   [target]                    name, description, repetitions, timeout and
 *   description = ...           defaults for every run key below
 *   ram = 64M
 *   [matrix NAME]               one matrix (several allowed); every run key
 *   tracker = best:3 uffd-async kmod-cow fork-cow   may hold a comma list:
 *   rate = idle, 64x10, 1024x1                      the matrix is the cross
 *                                                   product of the lists
 *
 * One table (db_target_keys) maps each key to `dirtybench run`'s option of
 * the same meaning; it serves the parser, the child's argv and the help.
 */
#ifndef DIRTYBENCH_TARGET_H
#define DIRTYBENCH_TARGET_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Run keys, in the order scenario names list varying axes. */
enum db_tkey {
	DB_TK_TRACKER,
	DB_TK_BACKING,
	DB_TK_RAM,
	DB_TK_COPIES,
	DB_TK_PATTERN,
	DB_TK_BANDWIDTH,
	DB_TK_LINK,
	DB_TK_DOWNTIME,
	DB_TK_STOP,
	DB_TK_MAX_ROUNDS,
	DB_TK_MAX_TIME,
	DB_TK_ON_TIMEOUT,
	DB_TK_DIRTY_LIMIT,
	DB_TK_SEED,
	DB_TK_SAMPLE_MS,
	DB_TK_VMM,		/* a real VMM: the tracker column's name */
	DB_TK_RATE,		/* last: pages, dirty, period */
	DB_TK_COUNT
};

struct db_target_key {
	const char *key;	/* in the target file */
	const char *option;	/* `dirtybench run` option; NULL for rate */
	const char *label;	/* prefix in scenario names when it varies */
	const char *values;	/* what it accepts, for --help */
	const char *help;
	/* Validate one list item; write the value passed to run in canon. */
	int (*check)(const char *in, char *canon, size_t len);
};

/* The table, DB_TK_COUNT entries indexed by enum db_tkey. */
const struct db_target_key *db_target_key_at(enum db_tkey k);

#define DB_TVAL_MAX 96

struct db_scenario {
	char name[224];		/* "exynos/c2/stage2-eager/102580-812-30" */
	char group[160];	/* its matrix: name less tracker and rate */
	char rate_label[48];	/* "idle", "512x10", "102580-812-30" */
	char value[DB_TK_COUNT][DB_TVAL_MAX];	/* "" = run's default */
	uint64_t ram_bytes;	/* 0 when left to run's default */
	uint64_t total_pages, dirty_pages, period_ms;	/* per copy */
	unsigned copies;
	double rate_pps;	/* dirty pages per second, all copies */
	unsigned repetitions;
	unsigned timeout_s;	/* hard limit for one run (child killed) */
	char skip[256];		/* non-empty: cannot run here, and why */
};

struct db_target {
	char name[64];
	char file[256];		/* the file it came from, or "(built in)" */
	char description[256];
	struct db_scenario *sc;
	size_t nsc;
	double scale;		/* --scale applied (1 = full size) */
};

struct db_target_opts {
	double scale;		/* 0 or 1: as written; (0, 1): shrink */
	unsigned repeat;	/* 0: the target's repetitions */
	const char *filter;	/* PCRE2 on scenario names, NULL: all */
	/* Directory searched first for NAME.ini; NULL: see db_target_load. */
	const char *dir;
};

/*
 * Load a target: a path (contains '/' or ends in .ini), or NAME looked up
 * as NAME.ini in opts->dir, $DIRTYBENCH_TARGETS, ./bench/targets and the
 * targets directory beside the executable (../bench/targets,
 * ../share/dirtybench/targets); "host" falls back to the built-in copy.
 * Errors: -ENOENT (lists where it looked), -EINVAL "FILE:LINE: key 'K': why".
 */
int db_target_load(struct db_target **out, const char *name,
		   const struct db_target_opts *opts);
/* The same from text in memory; 'file' names it in messages. */
int db_target_parse(struct db_target **out, const char *text,
		    const char *file, const char *name,
		    const struct db_target_opts *opts);
void db_target_free(struct db_target *t);

/* The built-in host target (identical to bench/targets/host.ini). */
extern const char db_target_host_ini[];

/*
 * argv for one run of a scenario: BIN run --out DIR --scenario NAME and
 * one option per non-default key. Returns a NULL-terminated array (free
 * with db_argv_free) or NULL on ENOMEM.
 */
char **db_scenario_argv(const struct db_scenario *s, const char *bin,
			const char *out_dir);
void db_argv_free(char **argv);

/*
 * What a scenario migrates, for names and the tracker column: "qemu" or
 * the directory of a qemu:PATH binary ("qemu-backports"), else the tracker.
 */
const char *db_scenario_sut(const struct db_scenario *s, char *buf, size_t len);

/* Write the key table as help text (for `dirtybench bench --help`). */
void db_target_keys_help(FILE *f);

#endif
