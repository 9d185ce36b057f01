// SPDX-License-Identifier: MIT
/*
 * The statistics behind `dirtybench perf`: medians and quartiles of
 * repeated measurements, the margin of a ratio against its limit, and the
 * rule that a miss on a noisy machine is "noisy", never "short" or "pass".
 */
#include <criterion/criterion.h>
#include <math.h>

#include "base/stats.h"

Test(stats, median_and_quartiles_of_odd_and_even_counts)
{
	const double odd[] = { 9, 1, 5, 3, 7 }, even[] = { 4, 1, 3, 2 };
	double copy[] = { 9, 1, 5, 3, 7 };
	struct db_stats s;

	db_stats_of(copy, 5, &s);
	cr_assert_eq(s.n, 5);
	cr_assert_float_eq(s.median, 5, 1e-12);
	cr_assert_float_eq(s.min, 1, 1e-12);
	cr_assert_float_eq(s.max, 9, 1e-12);
	/* halves {1,3} and {7,9}, the median left out */
	cr_assert_float_eq(s.q1, 2, 1e-12);
	cr_assert_float_eq(s.q3, 8, 1e-12);
	cr_assert_float_eq(db_stats_spread(&s), 6.0 / 5, 1e-12);
	for (unsigned i = 0; i < 5; i++)
		cr_assert_eq(copy[i], odd[i], "the samples are not reordered");

	db_stats_of(even, 4, &s);
	cr_assert_float_eq(s.median, 2.5, 1e-12);
	cr_assert_float_eq(s.q1, 1.5, 1e-12);
	cr_assert_float_eq(s.q3, 3.5, 1e-12);
}

Test(stats, one_or_no_sample_has_no_spread)
{
	const double one = 42;
	struct db_stats s;

	db_stats_of(&one, 1, &s);
	cr_assert_float_eq(s.median, 42, 1e-12);
	cr_assert_float_eq(db_stats_spread(&s), 0, 1e-12);
	db_stats_of(NULL, 0, &s);
	cr_assert_eq(s.n, 0);
	cr_assert_float_eq(s.median, 0, 1e-12);
	cr_assert_float_eq(db_stats_spread(&s), 0, 1e-12);
}

Test(stats, an_outlier_moves_the_median_little_and_the_spread_not_at_all)
{
	/* one run disturbed by another process: 10x slower */
	const double v[] = { 100, 102, 98, 1000, 101, 99, 100 };
	struct db_stats s;

	db_stats_of(v, 7, &s);
	cr_assert_float_eq(s.median, 100, 1e-12);
	cr_assert_float_eq(s.max, 1000, 1e-12);
	cr_assert_lt(db_stats_spread(&s), 0.05, "IQR %g of the median",
		     db_stats_spread(&s));
}

Test(stats, ratio_margins_for_both_directions)
{
	/* at most 1.10: 1.0 has 9% headroom, 1.21 is 10% short */
	cr_assert_float_eq(db_ratio_margin(1.0, DB_RATIO_MAX, 1.1), 0.1 / 1.1, 1e-12);
	cr_assert_float_eq(db_ratio_margin(1.21, DB_RATIO_MAX, 1.1), -0.1, 1e-12);
	/* at least 0.90: 0.45 is half short, 0.99 has 10% headroom */
	cr_assert_float_eq(db_ratio_margin(0.45, DB_RATIO_MIN, 0.9), -0.5, 1e-12);
	cr_assert_float_eq(db_ratio_margin(0.99, DB_RATIO_MIN, 0.9), 0.1, 1e-12);
	/* a limit of 0 ("nothing at all"): only 0 meets it */
	cr_assert_float_eq(db_ratio_margin(0, DB_RATIO_MAX, 0), 0, 1e-12);
	cr_assert_lt(db_ratio_margin(1, DB_RATIO_MAX, 0), 0);
}

Test(stats, a_miss_is_noisy_only_on_a_noisy_machine)
{
	cr_assert_eq(db_noise(0.5, 2, -1, 0.02, 0.10), 0, "quiet");
	cr_assert_eq(db_noise(2.5, 2, -1, 0.02, 0.10), DB_NOISE_LOAD, "load above the cores");
	cr_assert_eq(db_noise(2.0, 2, -1, 0.02, 0.10), 0, "load equal to the cores is not over");
	cr_assert_eq(db_noise(-1, 2, -1, 0.02, 0.10), 0, "unknown load is not held against it");
	cr_assert_eq(db_noise(0.5, 2, -1, 0.15, 0.10), DB_NOISE_SPREAD);
	cr_assert_eq(db_noise(3, 2, -1, 0.15, 0.10), DB_NOISE_LOAD | DB_NOISE_SPREAD);
	cr_assert_str_eq(db_noise_name(DB_NOISE_LOAD | DB_NOISE_SPREAD), "load+spread");
	cr_assert_str_eq(db_noise_name(0), "");

	cr_assert_eq(db_judge(0.05, 0, 0.5), DB_PV_PASS);
	cr_assert_eq(db_judge(0.05, DB_NOISE_LOAD, 0.5), DB_PV_PASS,
		     "a pass under load is still a pass");
	cr_assert_eq(db_judge(-0.2, 0, 0.5), DB_PV_SHORT);
	cr_assert_eq(db_judge(-0.2, DB_NOISE_SPREAD, 0.5), DB_PV_NOISY);
	cr_assert_eq(db_judge(-4.1, DB_NOISE_SPREAD, 0.8), DB_PV_SHORT,
		     "a miss five times the noise is short on any machine");
	cr_assert_eq(db_judge(-0.2, DB_NOISE_LOAD, 0.2), DB_PV_NOISY, "at the tolerance");
	cr_assert_str_eq(db_perf_verdict_name(DB_PV_NOISY), "noisy");
	cr_assert_str_eq(db_perf_verdict_name(DB_PV_SHORT), "short");
}

Test(stats, stolen_cpu_time_makes_a_vm_noisy_whatever_its_load)
{
	/* inside a VM the load average does not see the other guests */
	cr_assert_eq(db_noise(0.0, 2, 0.20, 0.02, 0.10), DB_NOISE_STEAL);
	cr_assert_eq(db_noise(0.0, 2, DB_STEAL_MAX, 0.02, 0.10), 0,
		     "steal at the threshold is not over it");
	cr_assert_eq(db_noise(0.0, 2, -1, 0.02, 0.10), 0, "unknown steal is not held against it");
	cr_assert_str_eq(db_noise_name(DB_NOISE_SPREAD | DB_NOISE_STEAL), "spread+steal");
	cr_assert_eq(db_judge(-0.3, db_noise(0.0, 2, 0.20, 0.02, 0.10), 0.4), DB_PV_NOISY);
}
