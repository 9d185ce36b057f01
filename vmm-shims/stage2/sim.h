/* SPDX-License-Identifier: MIT */
/*
 * A pre-copy migration of the stage-2 model in virtual time: the guest's
 * dirtyram copies (sequential pattern, as in the test bed) write through a
 * stage2 tracker, the link is simulated at a fixed bandwidth, and every
 * cost the model itself has (writes, faults, splits, log enable, dirty-log
 * reads) is measured in real time and charged to the virtual clock. The
 * same access sequence therefore reaches both strategies, and only what
 * the strategies cost can make their migrations differ. Pages are really
 * copied to a destination image, which is compared at the end.
 */
#ifndef DIRTYBENCH_STAGE2_SIM_H
#define DIRTYBENCH_STAGE2_SIM_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include "dirtybench/ram.h"
#include "dirtybench/tracker.h"

struct s2sim_config {
	uint64_t total_pages;		/* per copy */
	uint64_t dirty_pages;		/* per copy per period */
	uint64_t period_ms;		/* >= 1 */
	unsigned copies;
	unsigned guest_vcpus;		/* copies share them round-robin */
	size_t ram_bytes;
	enum db_backing backing;
	/* "stage2-eager[:opts]" or "stage2-lazy[:opts]". */
	const char *tracker;
	/* Run without logging for this long (virtual ns): the baseline. */
	bool unlogged;
	uint64_t unlogged_ns;
	uint64_t bandwidth_Bps;
	uint64_t downtime_limit_ns;
	unsigned max_rounds;
	/* After the migration, logging off and the guest runs this long. */
	uint64_t cancel_run_ns;
	/*
	 * Measured costs are multiplied by this before being charged (0: 1).
	 * A run scaled down by F uses 1/F: each period writes F times fewer
	 * pages, and its work keeps its full-size share of the period.
	 */
	double cost_factor;
};

struct s2sim_result {
	unsigned rounds;		/* the stop-and-copy round included */
	bool converged;
	uint64_t final_pages;		/* sent with the guest paused */
	uint64_t downtime_ns;
	uint64_t total_ns;
	uint64_t pages_sent;
	double target_pps;
	double achieved_pps;		/* pages written / guest time */
	uint64_t pages_written;
	uint64_t write_ns;		/* real time spent in guest writes */
	uint64_t max_late_ns;		/* longest period lateness */
	uint64_t enable_ns;
	uint64_t collect_ns;		/* all dirty-log reads */
	bool ram_equal;
	size_t mismatched_pages;
	uint64_t blocks_before;		/* 2 MiB blocks when logging began */
	uint64_t blocks_after_cancel;	/* ... after cancel_run_ns */
	uint64_t rebuilt_after_cancel;
	struct db_counter counters[DB_TRACKER_MAX_COUNTERS];
	size_t ncounters;		/* at the end of the migration */
};

int s2sim_run(const struct s2sim_config *cfg, struct s2sim_result *res);
/* A counter of the result by name, 0 if absent. */
uint64_t s2sim_counter(const struct s2sim_result *res, const char *name);

#endif
