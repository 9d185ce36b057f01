/* SPDX-License-Identifier: MIT */
/*
 * dirtyram: the workload. 'copies' vCPU threads, each owning TOTAL_PAGES
 * consecutive pages of guest RAM (copy c owns [c*TOTAL, (c+1)*TOTAL)), write
 * a stamp into DIRTY_PAGES of them every PERIOD_MS, chosen by a pattern.
 * The same code runs the standalone program (original positional CLI).
 *
 * Every write leaves a struct dr_stamp at the start of the page: a magic,
 * the page number, a per-copy generation counter (incrementing with every
 * page written) and the epoch the engine set (the migration round), so a
 * verifier can tell which write a page's content came from.
 */
#ifndef DIRTYBENCH_DIRTYRAM_H
#define DIRTYBENCH_DIRTYRAM_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

enum dr_pattern {
	DR_PATTERN_SEQ,		/* next DIRTY pages, wrapping (original) */
	DR_PATTERN_RANDOM,	/* uniform over the copy's pages */
	DR_PATTERN_HOTSET,	/* uniform over the first FRACTION of them */
	DR_PATTERN_ZIPF,	/* zipf(S) over page ranks */
};

struct dr_config {
	uint64_t total_pages;	/* per copy */
	uint64_t dirty_pages;	/* per copy per period */
	uint64_t period_ms;	/* 0: no sleep, write as fast as possible */
	enum dr_pattern pattern;
	double hot_fraction;	/* DR_PATTERN_HOTSET, (0, 1] */
	double zipf_s;		/* DR_PATTERN_ZIPF, > 0 */
	unsigned copies;	/* vCPU threads */
	uint64_t seed;
};

#define DR_STAMP_MAGIC 0x4452545952414d31ull	/* "DRTYRAM1" */

struct dr_stamp {
	uint64_t magic;
	uint64_t page;		/* page number in guest RAM */
	uint64_t gen;		/* copy's generation, starts at 1 */
	uint32_t epoch;		/* dr_set_epoch() value at write time */
	uint32_t copy;
};

/*
 * How a vCPU writes: directly into ram (write == NULL), or through a
 * modelled MMU (a tracker's guest_write). Return 0 or -errno; an error
 * stops that vCPU and is reported by dr_stop().
 */
struct dr_access {
	int (*write)(void *ctx, unsigned vcpu, size_t page, size_t off,
		     const void *src, size_t len);
	void *ctx;
};

struct dr_stats {
	double target_pps;		/* pages/s asked for, all copies */
	double achieved_pps;		/* pages/s written while running */
	uint64_t pages_written;
	uint64_t periods;
	uint64_t late_periods;		/* started > 1 period late */
	uint64_t max_lateness_ns;	/* longest stall the guest saw */
	uint64_t max_lateness_at_ns;	/* CLOCK_REALTIME when it began */
	uint64_t run_ns;		/* time spent running (not paused) */
	uint64_t pauses;
	uint64_t max_pause_wait_ns;	/* longest time to quiesce */
	uint64_t throttled_ns;		/* time vCPUs waited for the rate limit */
};

struct dr_workload;

/* Parse "seq", "random", "hotset:0.1", "zipf:1.2". */
int dr_pattern_parse(const char *s, struct dr_config *cfg);
const char *dr_pattern_str(const struct dr_config *cfg, char *buf, size_t len);
/* Check a config against a RAM of ram_pages pages; message on error. */
int dr_config_check(const struct dr_config *cfg, size_t ram_pages);

/*
 * Create (threads not started). ram must hold copies*total_pages pages.
 * acc may be NULL (direct writes).
 */
int dr_create(struct dr_workload **out, const struct dr_config *cfg,
	      uint8_t *ram, size_t ram_pages, const struct dr_access *acc);
int dr_start(struct dr_workload *w);
/*
 * Freeze the vCPUs: returns 0 once every vCPU is quiescent (no write in
 * flight), or -ETIMEDOUT after timeout_ns with the vCPUs left to finish
 * pausing in the background.
 */
int dr_pause(struct dr_workload *w, uint64_t timeout_ns);
int dr_resume(struct dr_workload *w);
/* Stop and join the threads; returns the first vCPU error, if any. */
int dr_stop(struct dr_workload *w);
void dr_destroy(struct dr_workload *w);

/* The epoch stamped into every following write. */
void dr_set_epoch(struct dr_workload *w, uint32_t epoch);

/*
 * Cap the guest's dirty rate (all copies together, pages per second; 0
 * lifts the cap), as QEMU's dirty-limit does to make a migration converge:
 * a vCPU over its share waits before its next write. The wait shows up as
 * period lateness, the guest's honest view of being throttled.
 */
void dr_set_rate_limit(struct dr_workload *w, uint64_t pages_per_s);

/*
 * The "CPU state": counters, RNG state and position of every copy, in a
 * fixed little-endian layout. Save while paused; restore before start.
 */
size_t dr_state_size(const struct dr_workload *w);
int dr_state_save(struct dr_workload *w, void *buf, size_t len);
int dr_state_restore(struct dr_workload *w, const void *buf, size_t len);

void dr_get_stats(struct dr_workload *w, struct dr_stats *st);
/* Longest period lateness since the previous call (for per-second output). */
uint64_t dr_take_lateness_peak(struct dr_workload *w);

/* Read the stamp of a page; false if the page holds no valid stamp. */
bool dr_stamp_read(const void *page, struct dr_stamp *st);

/*
 * The stall probe: a thread beside the vCPUs, paused and resumed with
 * them, that reads CLOCK_MONOTONIC every interval and records each gap
 * between two readings longer than a threshold. A pause of the guest (a
 * migration's downtime) is such a gap, seen from inside the guest with
 * the probe's resolution rather than a period's. It writes no RAM, so it
 * does not see a tracker's write faults (those show as period lateness).
 */
#define DR_PROBE_GAPS 8

struct dr_gap {
	uint64_t start_ns;	/* CLOCK_MONOTONIC of the reading before it */
	uint64_t len_ns;
};

struct dr_probe_stats {
	bool on;
	uint64_t interval_ns;
	uint64_t threshold_ns;
	uint64_t readings;
	uint64_t first_ns, last_ns;	/* CLOCK_MONOTONIC; 0: none yet */
	uint64_t resolution_ns;		/* half the steps were this short or shorter */
	uint64_t step_p99_ns;		/* 99% of them were */
	uint64_t gaps;			/* steps above the threshold */
	unsigned ngap;
	struct dr_gap gap[DR_PROBE_GAPS];	/* the longest, longest first */
};

/*
 * Run the probe with the workload, reading every interval_ns and keeping
 * gaps above threshold_ns (0: ten intervals, at least 200 us). Call before
 * dr_start(); interval_ns 0 leaves it off.
 */
int dr_probe_enable(struct dr_workload *w, uint64_t interval_ns, uint64_t threshold_ns);
void dr_probe_get(struct dr_workload *w, struct dr_probe_stats *st);

#endif
