/* SPDX-License-Identifier: MIT */
/*
 * The matrix runner: every scenario of a target, each repetition in its own
 * `dirtybench run --out OUT/<scenario>/rep<k>` child process, so a run that
 * crashes or hangs costs that run only. The runner keeps OUT/bench.json
 * (the run set's index, see docs/results.md) up to date after every run.
 */
#ifndef DIRTYBENCH_MATRIX_H
#define DIRTYBENCH_MATRIX_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "runner/target.h"

/* How one run ended, as recorded in bench.json. */
enum db_run_status {
	DB_RUN_OK,		/* exit 0: done, RAM equal */
	DB_RUN_MISMATCH,	/* exit 1: RAM differs */
	DB_RUN_ERROR,		/* exit 2: bad usage (a target/engine mismatch) */
	DB_RUN_SKIPPED,		/* exit 3: resource missing here */
	DB_RUN_ABORTED,		/* exit 4: migration aborted */
	DB_RUN_CRASHED,		/* killed by a signal, or another exit status */
	DB_RUN_TIMEOUT,		/* killed by the runner after timeout_s */
	DB_RUN_NOT_RUN,		/* interrupted before it started */
};

const char *db_run_status_name(enum db_run_status s);
/* Map a wait() status (or -1 for a timeout) to a run status. */
enum db_run_status db_run_status_of(int wstatus, bool timed_out);

struct db_matrix_opts {
	const char *bin;	/* dirtybench binary for the children */
	const char *out;	/* the run set directory (created) */
	bool progress;		/* redraw a status line on stderr */
	/* set asynchronously (SIGINT): stop the current run, run no more */
	volatile sig_atomic_t *interrupted;
};

struct db_matrix_summary {
	unsigned runs, ok, mismatch, skipped, failed, not_run;
	uint64_t duration_ns;
};

/* 0 when every run could be started, or -errno (message left). */
int db_matrix_run(const struct db_target *t, const struct db_matrix_opts *o,
		  struct db_matrix_summary *sum);

#endif
