/* SPDX-License-Identifier: MIT */
/*
 * Repeated measurements and how far to trust them: the median and spread
 * of a set of samples, a figure's ratio against a reference measured in
 * the same run, and whether the machine was too noisy to judge it. Pure
 * functions of their arguments (`dirtybench perf` feeds them samples and
 * /proc/loadavg; the tests feed them chosen numbers).
 */
#ifndef DIRTYBENCH_STATS_H
#define DIRTYBENCH_STATS_H

#include <stdbool.h>

#define DB_STATS_MAX 64		/* samples one summary takes at most */

struct db_stats {
	unsigned n;
	double median, min, max;
	double q1, q3;		/* lower and upper quartile */
};

/*
 * Summarise v[0..n) (not modified; at most DB_STATS_MAX samples are
 * used). Quartiles are the medians of the lower and upper halves (the
 * middle sample left out when n is odd). n == 0: every field 0.
 */
void db_stats_of(const double *v, unsigned n, struct db_stats *s);

/* (q3 - q1) / median: the interquartile range as a fraction; 0 if n < 2. */
double db_stats_spread(const struct db_stats *s);

/* What a figure must do against its reference. */
enum db_ratio_test { DB_RATIO_MAX, DB_RATIO_MIN };

enum db_perf_verdict {
	DB_PV_PASS,	/* met its target */
	DB_PV_SHORT,	/* missed it on a machine quiet enough to judge */
	DB_PV_NOISY,	/* missed it while the machine was too noisy to judge */
};

/* Why a machine is too noisy to judge: bits, 0 quiet. */
enum {
	DB_NOISE_LOAD = 1,	/* 1-minute load average above the core count */
	DB_NOISE_SPREAD = 2,	/* the reference's spread above the threshold */
	DB_NOISE_STEAL = 4,	/* the hypervisor took more than DB_STEAL_MAX of the CPU time */
};

/* The share of CPU time taken by the hypervisor above which a VM is busy. */
#define DB_STEAL_MAX 0.05

/*
 * The noise bits for a row: load1 the 1-minute load average (< 0:
 * unknown, not held against the row), ncpus the cores online, steal the
 * fraction of CPU time stolen by the hypervisor while the row was
 * measured (< 0: unknown; inside a VM the load average does not see the
 * other guests that share the cores, steal does), ref_spread
 * db_stats_spread() of the reference, max_spread the threshold.
 */
unsigned db_noise(double load1, int ncpus, double steal, double ref_spread,
		  double max_spread);

/*
 * margin: headroom (> 0) or how far short (< 0) as a fraction of the
 * limit, for ratio = value / reference against limit.
 */
double db_ratio_margin(double ratio, enum db_ratio_test test, double limit);

/*
 * pass when margin >= 0. A miss with noise bits set is noisy, not short,
 * when the noise could explain it: it falls short by at most 'tolerance'
 * (a fraction, as the margin: `dirtybench perf` gives the figure's and the
 * reference's spreads plus --noise-spread). A larger miss is short however
 * busy the machine was.
 */
enum db_perf_verdict db_judge(double margin, unsigned noise, double tolerance);

const char *db_perf_verdict_name(enum db_perf_verdict v);
/* "load", "spread", "steal", joined by "+"; "" for none */
const char *db_noise_name(unsigned noise);

#endif
