/* SPDX-License-Identifier: MIT */
/*
 * Fixtures for the report and compare suites: run sets written from the
 * documented schema (docs/results.md, schema 1) with figures chosen by the
 * test, so the renderer and the verdicts can be checked against known
 * values. They stand in for `dirtybench run` output, nothing else.
 */
#ifndef DIRTYBENCH_TEST_FIXTURE_H
#define DIRTYBENCH_TEST_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>

struct fx_run {
	const char *scenario;	/* "fx/uffd-async/512x10" */
	const char *group;	/* "fx" */
	const char *tracker;
	const char *rate;	/* rate label */
	double rate_pps;
	int rep;
	double downtime_ms, total_s;
	int rounds;
	bool converged;
	bool ram_equal;
	const char *stop_reason;	/* NULL: downtime or time-force */
	const char *status;	/* runner status; NULL: ok or mismatch */
	/*
	 * NULL: completed or validation_failed (from ram_equal). "aborted":
	 * the run still wrote result.json, without a RAM verdict.
	 */
	const char *outcome;
	const char *message;
	bool samples;		/* write samples.csv too */
};

/* A temporary directory for a test (removed by fx_cleanup). */
/* The build directory: where the running test binary lives. */
void fx_build_dir(char *out, size_t len);
char *fx_tmpdir(const char *what);
void fx_cleanup(char *dir);

/* Write root/bench.json and one run directory per fx_run. */
void fx_runset(const char *root, const char *target,
	       const struct fx_run *runs, size_t n, const char *skipped_name,
	       const char *skipped_reason);
/* Just one run's files (result.json, rounds.csv [, samples.csv]). */
void fx_write_run(const char *dir, const struct fx_run *r);

/* Count occurrences of needle in hay. */
size_t fx_count(const char *hay, const char *needle);
/* Read a whole file (test fails if it cannot). */
char *fx_read(const char *path);



/*
 * Run argv (PATH searched) with stdout and stderr into out_path (or
 * /dev/null), killed after timeout_s. Returns the exit status, 128+signal,
 * or -1 if it could not start or timed out.
 */
int fx_run_cmd(const char *const argv[], const char *out_path, int timeout_s);
/* Is prog in PATH? */
bool fx_have(const char *prog);
#endif
