/* SPDX-License-Identifier: MIT */
/*
 * The sampler: a thread beside a migration that every sample_ms writes a
 * row of samples.csv (docs/results.md): CPU of the source and destination
 * (processes or threads) and of the vCPU threads, their RSS, /proc/vmstat
 * counters, and the shaped link's tc statistics. Its own cost (its CPU
 * time plus that of the tc processes it starts) is measured and returned.
 */
#ifndef DIRTYBENCH_SAMPLER_H
#define DIRTYBENCH_SAMPLER_H

#include <stdint.h>
#include <sys/types.h>

#include "base/cost.h"

/*
 * vCPU threads: the threads of vcpu_pid and of dst_pid whose name matches
 * vcpu_comm, so that the guest's CPU shows on both sides of a migration.
 */
struct db_sampler_config {
	pid_t src_pid;		/* 0: none; a process or a thread id */
	pid_t dst_pid;		/* 0: none */
	pid_t vcpu_pid;		/* process whose threads are vCPUs; 0: src */
	const char *vcpu_comm;	/* PCRE2 on thread names; NULL: "^vcpu" */
	const char *tc_dev;	/* shaped device; NULL: no tc columns */
	const char *tc_netns;	/* its network namespace; NULL: ours */
	unsigned sample_ms;	/* 0: 100 */
	unsigned tc_ms;		/* 0: max(sample_ms, 1000) */
	const char *csv_path;	/* samples.csv */
	uint64_t t0_ns;		/* CLOCK_MONOTONIC of t_ns = 0; 0: at start */
};

struct db_sampler;

int db_sampler_start(struct db_sampler **out, const struct db_sampler_config *c);
/*
 * Count t_ns from t0_ns (CLOCK_MONOTONIC) instead, in every row: those
 * already written are rewritten at stop, and rows taken before t0_ns get
 * negative times. For a migration whose start is known only once it ran.
 */
void db_sampler_set_t0(struct db_sampler *s, uint64_t t0_ns);
/* Stop, flush samples.csv, report the cost. 0 or the first write error. */
int db_sampler_stop(struct db_sampler *s, struct db_sampler_cost *cost);

#endif
