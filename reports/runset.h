/* SPDX-License-Identifier: MIT */
/*
 * A run set as the reports read it: the runs found under one or more
 * directories (bench.json's index when there is one, otherwise every
 * result.json below), grouped into scenarios and matrices. Input format:
 * docs/results.md (schema 1).
 */
#ifndef DIRTYBENCH_RUNSET_H
#define DIRTYBENCH_RUNSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One CSV file as named columns of numbers (NaN where a field is empty). */
struct db_table {
	char **cols;
	size_t ncols;
	double *v;		/* row-major, nrows * ncols */
	size_t nrows;
};

int db_table_load(struct db_table *t, const char *path);
void db_table_free(struct db_table *t);
/* Column index by name, or -1. */
int db_table_col(const struct db_table *t, const char *name);
static inline double db_table_at(const struct db_table *t, size_t row, int col)
{
	return t->v[row * t->ncols + (size_t)col];
}

/* The figures of one run (result.json), NaN where absent. */
struct db_run {
	char dir[512];		/* the run's directory */
	char rel[256];		/* relative to its run set */
	char scenario[224];
	int rep;
	char status[16];	/* ok, mismatch, skipped, crashed... */
	char message[320];	/* the runner's note or the run's error */
	bool has_result;	/* result.json read and schema 1 */
	char tracker[96], outcome[32], stop_reason[32];
	char checksum_src[40], checksum_dst[40];
	char stall_note[320];	/* why the guest stall and the downtime differ */
	bool converged, ram_equal;
	bool verified;		/* a RAM verdict was reached (equal or not) */
	double rounds, total_time_ns, downtime_ns, paused_at_ns, resumed_at_ns;
	double guest_stall_ns, bytes_total, mismatched_pages;
	double target_pps, achieved_pps, rate_pps;
	double bandwidth_limit_bps, bandwidth_measured_bps, ram_bytes;
	double model_lambda, model_rounds, model_downtime_ns,
	       model_bytes_total, model_total_time_ns;
	bool model_converges;
};

struct db_scen {
	char name[224];
	char group[160];
	char tracker[96];
	char rate_label[48];
	double rate_pps;
	char status[16];	/* ran, skipped, mismatch, crashed, ... */
	char reason[320];
	size_t *runs;		/* indices into db_runset.runs */
	size_t nruns;
};

struct db_runset {
	struct db_run *runs;
	size_t nruns;
	struct db_scen *sc;
	size_t nsc;
	char target[64];	/* from bench.json, or "" */
	char started_at[32];
	char kernel[64];
	double scale;
	bool indexed;		/* had a bench.json */
	bool complete;		/* bench.json says complete (or no index) */
};

/*
 * Load and merge the run sets under dirs. A directory may be a run set
 * (bench.json), a tree of run directories, or one run directory. -ENOENT
 * (message) when a directory holds no run at all.
 */
int db_runset_load(struct db_runset **out, const char *const *dirs,
		   size_t ndirs);
void db_runset_free(struct db_runset *rs);

/* Metrics compared and plotted, by name ("downtime_ns", ...). */
double db_run_metric(const struct db_run *r, const char *name);

/*
 * Median, minimum and maximum of the finite values in v (reordered);
 * false when there is none.
 */
/* qsort comparator for doubles, ascending. */
int db_cmp_double(const void *a, const void *b);
bool db_median_range(double *v, size_t n, double *med, double *lo, double *hi);

/*
 * The run that stands for a scenario (its plots, its row in the bench
 * table): the one with the median total time among those with a result.
 * An index into rs->runs, or DB_NO_RUN when no run has a result.
 */
#define DB_NO_RUN ((size_t)-1)
size_t db_scen_representative(const struct db_runset *rs,
			      const struct db_scen *s);

/* The status a run's figures imply ("ok", "mismatch", "aborted"...). */
const char *db_run_verdict(const struct db_run *r);

#endif
