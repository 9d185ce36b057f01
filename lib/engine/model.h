/* SPDX-License-Identifier: MIT */
/*
 * The analytical pre-copy model of DESIGN.md: with RAM M, dirty rate D and
 * bandwidth B (lambda = D/B), round i sends V_i = M*lambda^i, capped by the
 * workload's writable working set and by the number of distinct pages its
 * pattern reaches in the time of round i-1; the stop policy picks the last
 * round as the engine does. Pure arithmetic, no I/O.
 */
#ifndef DIRTYBENCH_MODEL_H
#define DIRTYBENCH_MODEL_H

#include <stdint.h>
#include <stdbool.h>

#include "engine/settings.h"

struct db_model_in {
	uint64_t ram_pages;
	uint64_t data_pages;		/* pages holding data at the start */
	bool workload;
	struct dr_config dr;		/* resolved (total_pages set) */
	double bandwidth;		/* bytes/s on the wire */
	uint64_t downtime_limit_ms;
	enum db_stop_kind stop;
	uint64_t stop_arg;
	uint64_t max_rounds;
	uint64_t max_time_ms;
	enum db_on_timeout on_timeout;
	/*
	 * What the run had, round by round (nmeasured 0: the nominal figures
	 * alone): wire bytes/s while sending (the stop policy's estimate),
	 * bytes/s over the whole round (its length) and the guest's page
	 * writes/s. Rounds past the last measured take its figures.
	 */
	uint32_t nmeasured;
	const double *round_wire_bw;
	const double *round_bw;
	const double *round_wps;
};

struct db_model_out {
	double lambda;			/* dirty bytes/s over bandwidth */
	double dirty_bytes_per_s;
	bool converges;			/* the stop policy can be met */
	bool cancelled;			/* predicted to end in a cancel */
	uint32_t rounds;		/* all rounds, the final one included */
	uint64_t bytes_total;		/* on the wire */
	uint64_t pages_total;
	uint64_t downtime_ns;		/* final round's transfer time */
	uint64_t total_time_ns;
};

/* Wire bytes of a page with data and of a zero page, headers amortised. */
double db_model_page_bytes(bool zero);
/*
 * Expected distinct pages the workload dirties in t_ns (all copies),
 * at most its working set.
 */
double db_model_dirtied(const struct dr_config *dr, double t_ns);
void db_model_predict(const struct db_model_in *in, struct db_model_out *out);
/* The model's input for a run configuration; bandwidth in bytes/s. */
void db_model_from_config(const struct db_run_config *c, double bandwidth,
			  struct db_model_in *in);

#endif
