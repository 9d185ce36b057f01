/* SPDX-License-Identifier: MIT */
/*
 * What a sampling thread beside a measurement cost. The collectors fill
 * it (collectors/sampler.h), the engine's results report it: both layers
 * share the type, so it lives below both.
 */
#ifndef DIRTYBENCH_COST_H
#define DIRTYBENCH_COST_H

#include <stdint.h>

struct db_sampler_cost {
	uint64_t samples;
	uint64_t wall_ns;
	uint64_t cpu_ns;	/* the sampler thread */
	uint64_t tc_cpu_ns;	/* the tc processes */
	uint64_t max_sample_ns;	/* longest single sample */
	double pct_of_core;	/* (cpu + tc) / wall, percent */
};

#endif
