/* SPDX-License-Identifier: MIT */
/*
 * Regression verdicts: a run set against a baseline, scenario by scenario
 * and metric by metric, on the medians over the repetitions with their
 * spread (min to max). Lower is better for every metric.
 *
 *   same     |median change| <= max(threshold x baseline median, floor)
 *   noisy    a larger change, but the two min-max ranges overlap
 *   better   a larger change down, ranges apart
 *   worse    a larger change up, ranges apart; or it stopped converging
 *   mismatch a current run's RAM differs from its source (ram_equal false)
 *   missing  the baseline had results, the current run set has none
 *   new      no baseline for this scenario
 *   skipped  cannot run here (reason given)
 *
 * worse, mismatch and missing fail the comparison.
 */
#ifndef DIRTYBENCH_COMPARE_H
#define DIRTYBENCH_COMPARE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "html.h"
#include "runset.h"

enum db_verdict {
	DB_V_SAME, DB_V_NOISY, DB_V_BETTER, DB_V_WORSE, DB_V_MISMATCH,
	DB_V_MISSING, DB_V_NEW, DB_V_SKIPPED, DB_V_COUNT
};

const char *db_verdict_name(enum db_verdict v);

struct db_threshold {
	const char *metric;	/* db_run_metric() name */
	const char *alias;	/* name on the command line */
	double rel;		/* fraction of the baseline median */
	double floor;		/* in the metric's unit: smaller is same */
	double unit;		/* --threshold's floor unit in metric units */
	const char *unit_name;
};

#define DB_CMP_METRICS 5

struct db_compare_opts {
	struct db_threshold th[DB_CMP_METRICS];
};

/* The documented defaults. */
void db_compare_defaults(struct db_compare_opts *o);
/* "downtime=30%", "rounds=10%,2", "total_time=20%,0.5": -EINVAL + message. */
int db_compare_threshold(struct db_compare_opts *o, const char *spec);
/* The defaults as help text. */
void db_compare_thresholds_help(FILE *f);

struct db_cmp_row {
	char scenario[224];
	char metric[32];
	enum db_verdict v;
	double base_med, base_lo, base_hi, cur_med, cur_lo, cur_hi;
	size_t nbase, ncur;
	double change;		/* (cur - base) / base */
	char note[256];
};

struct db_comparison {
	struct db_cmp_row *rows;
	size_t nrows;
	size_t count[DB_V_COUNT];
	size_t scenarios;
	bool failed;		/* a worse, mismatch or missing row */
};

int db_compare(const struct db_runset *base, const struct db_runset *cur,
	       const struct db_compare_opts *o, struct db_comparison **out);
void db_comparison_free(struct db_comparison *c);

/* The comparison as an HTML section (joined to the report). */
void db_compare_html(const struct db_comparison *c, const char *baseline,
		     struct db_buf *b);
/* JUnit XML: one testcase per scenario and metric; failures for worse etc. */
void db_compare_junit(const struct db_comparison *c, struct db_buf *b);

#endif
