// SPDX-License-Identifier: MIT
/*
 * dirtybench perf, section "migration": the model check. A sequential
 * dirtyram at dirty rate / bandwidth = 0.5 under the sender's token bucket
 * (320 Mbit/s, 64 MiB; 16 MiB with --quick); the measured rounds, bytes,
 * downtime and total time stand next to the analytical model's prediction
 * for the same run, which is their reference.
 */
#include <stdio.h>
#include <string.h>

#include "dirtybench/common.h"
#include "dirtybench/tracker.h"
#include "../cmd.h"
#include "runner/run.h"
#include "runner/options.h"
#include "perf.h"
#include "engine/results.h"

#define LAMBDA 0.5

static int migrate_one(struct perf_run *r, const char *self, const char *tracker)
{
	struct db_run_config cfg;
	struct db_result res;
	char ref[64], note[160];
	int err, st;

	db_run_config_defaults(&cfg);
	snprintf(cfg.tracker, sizeof(cfg.tracker), "%s", tracker ? tracker : "");
	db_option_set(&cfg, "ram", r->quick ? "16M" : "64M");
	db_option_set(&cfg, "bandwidth", "320mbit");
	cfg.quiet = true;
	err = db_model_check_config(&cfg, LAMBDA);
	if (err) {
		fprintf(stderr, "dirtybench perf: %s\n", db_strerror());
		return DB_EXIT_USAGE;
	}
	db_result_init(&res, &cfg, DB_ROLE_SRC);
	err = db_run_local(&cfg, self, &res);
	if (err) {
		perf_add(r, cfg.tracker, cfg.ram_bytes, NULL, -1, NULL, -1, db_strerror());
		db_result_free(&res);
		return db_setup_exit_status(err);
	}
	st = db_result_exit_status(&res);
	if (st || !res.resumed) {
		snprintf(note, sizeof(note), "%s: %.140s", db_outcome_name(res.outcome), res.error);
		perf_add(r, cfg.tracker, cfg.ram_bytes, NULL, -1, NULL, -1, note);
		db_result_free(&res);
		return st ? st : DB_EXIT_ABORTED;
	}
	snprintf(ref, sizeof(ref), "model, lambda %.2f", res.model.lambda);
	perf_add(r, cfg.tracker, cfg.ram_bytes, "rounds", res.rounds, ref,
		 res.model.rounds, NULL);
	perf_add(r, cfg.tracker, cfg.ram_bytes, "bytes_total", (double)res.bytes_total,
		 ref, (double)res.model.bytes_total, NULL);
	perf_add(r, cfg.tracker, cfg.ram_bytes, "downtime_ns", (double)res.downtime_ns,
		 ref, (double)res.model.downtime_ns, NULL);
	perf_add(r, cfg.tracker, cfg.ram_bytes, "total_time_ns",
		 (double)res.total_time_ns, ref, (double)res.model.total_time_ns, NULL);
	db_result_free(&res);
	return 0;
}

int perf_migration(struct perf_run *r)
{
	char self[1024], list[512], *tok, *save = NULL;
	int rc = 0, c;

	if (db_cmd_self_exe(self, sizeof(self))) {
		fprintf(stderr, "dirtybench perf: %s\n", db_strerror());
		return DB_EXIT_RESOURCE;
	}
	if (!r->trackers)	/* uffd-async, else hash */
		return migrate_one(r, self, NULL);
	snprintf(list, sizeof(list), "%s", r->trackers);
	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		c = migrate_one(r, self, tok);
		if (c && !rc)
			rc = c;
	}
	return rc;
}
