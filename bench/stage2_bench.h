/* SPDX-License-Identifier: MIT */
/* dirtybench stage2-bench: what the virtual-time and engine modes share. */
#ifndef DIRTYBENCH_STAGE2_BENCH_H
#define DIRTYBENCH_STAGE2_BENCH_H

#include <stdbool.h>
#include <stdint.h>

#include "dirtybench/ram.h"
#include "../vmm-shims/stage2/sim.h"

/* One dirtyram point of the matrix, unscaled (dirtyram's arguments). */
struct s2b_entry {
	uint64_t total, dirty, period_ms;
	unsigned copies;
};

struct s2b_opts {
	double scale;
	uint64_t ram_bytes;
	enum db_backing backing;
	const char *backing_name;
	const char *layout;
	uint64_t bandwidth_Bps;
	uint64_t downtime_ms;
	uint64_t max_rounds;
	uint64_t vcpus;
	uint64_t exit_ns;
	uint64_t tlb;
	double cancel_s;
	double baseline_s;		/* < 0: the mode's default */
	const char *matrix;
	const char *csv;
	bool manual;
	bool engine;
	bool kvm;			/* the kvm tracker, not the model */
	double max_time_s;
	const char *out;
};

/* Both strategies of one entry and the unlogged baseline. */
struct s2b_row {
	struct s2b_entry e;
	struct s2sim_result r[2];	/* eager, lazy */
	struct s2sim_result base;
	bool engine;			/* no per-page cost, no cancel phase */
};

/* Scaled page count, at least 1. */
uint64_t s2b_scaled(uint64_t v, double f);
/* "stage2-eager:layout=v7,..." for strategy k (0 eager, 1 lazy). */
void s2b_tracker_spec(const struct s2b_opts *o, int k, char *buf, size_t len);
void s2b_entry_name(const struct s2b_entry *e, char *buf, size_t len);

/*
 * Engine mode: the unlogged baseline (dirtyram through the tracker with
 * logging off, real time), then one real migration per strategy through
 * the engine library, loopback TCP and its token bucket.
 */
int s2b_engine_entry(const struct s2b_opts *o, struct s2b_row *w);

#endif
