// SPDX-License-Identifier: MIT
/* Medians, spreads and the noise verdict of repeated measurements (stats.h). */
#include <string.h>

#include "base/stats.h"

static void sort(double *v, unsigned n)
{
	unsigned i, j;
	double x;

	for (i = 1; i < n; i++)
		for (j = i; j > 0 && v[j - 1] > v[j]; j--) {
			x = v[j];
			v[j] = v[j - 1];
			v[j - 1] = x;
		}
}

/* The median of sorted v[0..n). */
static double mid(const double *v, unsigned n)
{
	if (!n)
		return 0;
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

void db_stats_of(const double *v, unsigned n, struct db_stats *s)
{
	double c[DB_STATS_MAX];

	memset(s, 0, sizeof(*s));
	if (n > DB_STATS_MAX)
		n = DB_STATS_MAX;
	if (!n)
		return;
	memcpy(c, v, n * sizeof(*c));
	sort(c, n);
	s->n = n;
	s->min = c[0];
	s->max = c[n - 1];
	s->median = mid(c, n);
	if (n == 1) {
		s->q1 = s->q3 = c[0];
		return;
	}
	s->q1 = mid(c, n / 2);
	s->q3 = mid(c + (n + 1) / 2, n / 2);
}

double db_stats_spread(const struct db_stats *s)
{
	if (s->n < 2 || s->median == 0)
		return 0;
	return (s->q3 - s->q1) / (s->median < 0 ? -s->median : s->median);
}

unsigned db_noise(double load1, int ncpus, double steal, double ref_spread,
		  double max_spread)
{
	unsigned bits = 0;

	if (steal > DB_STEAL_MAX)
		bits |= DB_NOISE_STEAL;
	if (load1 >= 0 && ncpus > 0 && load1 > (double)ncpus)
		bits |= DB_NOISE_LOAD;
	if (ref_spread > max_spread)
		bits |= DB_NOISE_SPREAD;
	return bits;
}

double db_ratio_margin(double ratio, enum db_ratio_test test, double limit)
{
	if (limit <= 0)
		return test == DB_RATIO_MAX ? (ratio <= 0 ? 0 : -1) : 0;
	return test == DB_RATIO_MAX ? (limit - ratio) / limit : (ratio - limit) / limit;
}

enum db_perf_verdict db_judge(double margin, unsigned noise, double tolerance)
{
	if (margin >= 0)
		return DB_PV_PASS;
	return noise && -margin <= tolerance ? DB_PV_NOISY : DB_PV_SHORT;
}

const char *db_perf_verdict_name(enum db_perf_verdict v)
{
	static const char *const names[] = { "pass", "short", "noisy" };

	return (unsigned)v < 3 ? names[v] : "?";
}

const char *db_noise_name(unsigned noise)
{
	static const char *const names[] = {
		"", "load", "spread", "load+spread",
		"steal", "load+steal", "spread+steal", "load+spread+steal",
	};

	return names[noise & 7];
}
