/* SPDX-License-Identifier: MIT */
/*
 * `dirtybench perf`: figures measured next to a reference taken in the same
 * run (memcpy of the same bytes, a bare syscall, the bare kernel mechanism),
 * so that they read as ratios whatever the machine. Each section fills rows
 * of one table; cmd_perf prints them as they come and writes them as JSON.
 */
#ifndef DIRTYBENCH_PERF_H
#define DIRTYBENCH_PERF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/stats.h"

/* What a figure must do to meet its target (the numbered list). */
enum perf_cmp {
	PERF_NO_TARGET,
	PERF_VALUE_MAX,		/* value <= limit */
	PERF_VALUE_MIN,		/* value >= limit */
	PERF_RATIO_MAX,		/* value / reference <= limit */
	PERF_RATIO_MIN,		/* value / reference >= limit */
};

struct perf_target {
	const char *id;		/* "T1" */
	enum perf_cmp cmp;
	double limit;		/* in the figure's unit, or a ratio */
};

struct perf_row {
	char section[24];	/* "trackers" */
	char subject[64];	/* "uffd-async" */
	uint64_t ram_bytes;
	char figure[32];	/* "collect_ns@1%": unit in the name */
	double value;
	char reference[64];	/* "memcpy of 2.6 MiB" */
	double ref_value;	/* same unit as value */
	char note[160];		/* why, when the row has no figure */
	bool absent;		/* no figure: the note says why */
	struct perf_target target;	/* cmp PERF_NO_TARGET: none */
	bool pass;
	double margin;		/* > 0: headroom, < 0: short (fraction of the limit) */
	struct db_stats vs, rs;	/* the samples of value and reference */
	double load1;		/* 1-minute load average when the row was added */
	double steal;		/* CPU time stolen by the hypervisor while measured; < 0 unknown */
	unsigned noise;		/* DB_NOISE_* bits: why a miss is not a verdict */
	enum db_perf_verdict verdict;
};

struct perf_run {
	/* options */
	uint64_t sizes[8];
	size_t nsizes;
	const char *trackers;	/* comma list, NULL: every available one */
	bool quick;
	unsigned reps;		/* measurements per row (--reps) */
	double max_spread;	/* a reference spread above this: noisy (--noise-spread) */
	int ncpus;
	unsigned long long cpu_total, cpu_steal;	/* /proc/stat at the last row */
	double last_steal;
	/* results */
	struct perf_row *rows;
	size_t nrows, cap;
	const char *section;	/* set by cmd_perf while a section runs */
};

/*
 * Append a row and print it. figure NULL (or a value that is not finite): the
 * row has no figure and note says why. A negative value is a figure (a
 * growth that came out as a shrink); ref_value <= 0: no reference.
 */
int perf_add(struct perf_run *r, const char *subject, uint64_t ram_bytes,
	     const char *figure, double value, const char *reference,
	     double ref_value, const char *note);
/* The same with a target: the row says pass, or short and by how much. */
int perf_add_target(struct perf_run *r, const char *subject, uint64_t ram_bytes,
		    const char *figure, double value, const char *reference,
		    double ref_value, const char *note,
		    const struct perf_target *t);
/*
 * A row from repeated measurements: the figure is the median of v[0..n),
 * the reference the median of rv[0..rn) (rn 0: none), each with its
 * spread. A timed figure that misses its target while the machine is too
 * noisy to judge (load average above the core count, or the reference's
 * interquartile range above --noise-spread of its median) is "noisy",
 * not "short".
 */
int perf_add_samples(struct perf_run *r, const char *subject, uint64_t ram_bytes,
		     const char *figure, const double *v, unsigned n,
		     const char *reference, const double *rv, unsigned rn,
		     const char *note, const struct perf_target *t);

/* One migration's figures (times in ns, sizes in bytes). */
struct perf_mig {
	double total_ns;	/* HELLO to the destination resumed */
	double verify_ns, downtime_ns;
	double round0_ns, round0_bytes;	/* round 0 until applied */
	double last_bytes;	/* the final round's bytes */
	double bandwidth_bps;	/* bytes/s, measured over the rounds */
	double bytes_total, pages, zero_pages;
	unsigned rounds;
	double src_rss, dst_rss;	/* peak resident set of each side */
};

struct db_run_config;
/* The settings of `dirtybench run` with RAM size and workload; quiet. */
int perf_config(struct db_run_config *cfg, const char *ram, const char *workload);
/* "512M": a size as the options take it. */
const char *mib(uint64_t bytes, char *buf, size_t len);
/* A migration that did not complete: a row says why; exit status 4. */
int perf_failed(struct perf_run *r, const char *subject, uint64_t ram);
/* One `dirtybench run` migration; 0, or -errno with a message. */
int perf_migrate(const struct db_run_config *cfg, struct perf_mig *m);

/* Median of n values (v is not modified). */
double perf_median(const double *v, unsigned n);
/* n = r->reps, at least lo and at most hi (1 with --quick). */
unsigned perf_reps(const struct perf_run *r, unsigned lo, unsigned hi);

/* The sections (bench/perf_*.c): 0, or an exit status. */
int perf_trackers(struct perf_run *r);
int perf_migration(struct perf_run *r);
int perf_transfer(struct perf_run *r);
int perf_memory(struct perf_run *r);

#endif
