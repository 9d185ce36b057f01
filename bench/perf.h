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

struct perf_row {
	char section[24];	/* "trackers" */
	char subject[64];	/* "uffd-async" */
	uint64_t ram_bytes;
	char figure[32];	/* "collect_ns@1%": unit in the name */
	double value;
	char reference[64];	/* "memcpy of 2.6 MiB" */
	double ref_value;	/* same unit as value */
	char note[160];		/* "skipped: ..." when value is absent */
};

struct perf_run {
	/* options */
	uint64_t sizes[8];
	size_t nsizes;
	const char *trackers;	/* comma list, NULL: every available one */
	bool quick;
	/* results */
	struct perf_row *rows;
	size_t nrows, cap;
	const char *section;	/* set by cmd_perf while a section runs */
};

/* Append a row and print it. value/ref_value < 0: no figure (note says). */
int perf_add(struct perf_run *r, const char *subject, uint64_t ram_bytes,
	     const char *figure, double value, const char *reference,
	     double ref_value, const char *note);

/* The sections (bench/perf_*.c): 0, or an exit status. */
int perf_trackers(struct perf_run *r);

#endif
