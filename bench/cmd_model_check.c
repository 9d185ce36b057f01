// SPDX-License-Identifier: MIT
/*
 * dirtybench model-check: one migration of a sequential dirtyram at a given
 * dirty rate / bandwidth ratio under the in-sender limiter, its measured
 * rounds, bytes and downtime printed next to the analytical model's.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "dirtybench/common.h"
#include "dirtybench/tracker.h"
#include "cmd.h"
#include "runner/run.h"
#include "engine/model.h"
#include "runner/options.h"
#include "engine/results.h"

static void help(void)
{
	printf("Usage: dirtybench model-check [OPTIONS]\n\n"
"Migrate once with a sequential dirtyram whose dirty rate is --lambda times\n"
"the bandwidth (enforced by the sender's token bucket), and print the\n"
"measured rounds, bytes, downtime and total time next to the analytical\n"
"model's prediction for the same run (DESIGN.md: V_i = M lambda^i, switch\n"
"over once V_n fits in bandwidth x downtime limit). Rounds far above the\n"
"prediction suggest a tracker that over-reports; far below, one that loses\n"
"dirty pages. Defaults here: --ram 64M --bandwidth 320mbit, the tracker\n"
"uffd-async when it can run, else hash.\n\n"
"Options:\n");
	db_options_help(stdout, DB_OPT_MODEL);
	printf("\nExit status: 0 done and RAM equal, 1 RAM differs, 2 bad option,\n"
	       "3 missing here, 4 aborted.\n");
}

static void row(const char *what, const char *measured, const char *predicted)
{
	printf("  %-16s %16s %16s\n", what, measured, predicted);
}

int cmd_model_check(int argc, char **argv)
{
	struct db_run_config cfg;
	struct db_result res;
	char self[1024], a[32], b[32];
	int err, status;

	db_run_config_defaults(&cfg);
	cfg.tracker[0] = '\0';
	db_option_set(&cfg, "ram", "64M");
	db_option_set(&cfg, "bandwidth", "320mbit");
	err = db_options_parse(&cfg, DB_OPT_MODEL, argc, (const char *const *)argv);
	if (err == 1) {
		help();
		return DB_EXIT_OK;
	}
	if (err) {
		fprintf(stderr, "dirtybench model-check: %s\n", db_strerror());
		return DB_EXIT_USAGE;
	}
	err = db_model_check_config(&cfg, cfg.lambda);
	if (!err)
		err = db_cmd_self_exe(self, sizeof(self));
	if (err) {
		fprintf(stderr, "dirtybench model-check: %s\n", db_strerror());
		return DB_EXIT_USAGE;
	}
	db_cmd_signals();
	db_result_init(&res, &cfg, DB_ROLE_SRC);
	err = db_run_local(&cfg, self, &res);
	if (err) {
		fprintf(stderr, "dirtybench model-check: %s\n", db_strerror());
		db_result_free(&res);
		return db_setup_exit_status(err);
	}
	status = db_result_exit_status(&res);
	if (cfg.out[0] && db_result_write(&res, cfg.out))
		fprintf(stderr, "dirtybench model-check: %s\n", db_strerror());
	if (!cfg.quiet) {
		printf("model check: %s, %s, %s, limit %.0f Mbit/s, lambda %.3f\n",
		       cfg.tracker, db_fmt_bytes(cfg.ram_bytes, a, sizeof(a)), cfg.workload,
		       cfg.bandwidth * 8 / 1e6, res.model.lambda);
		row("", "measured", "predicted");
		snprintf(a, sizeof(a), "%u", res.rounds);
		snprintf(b, sizeof(b), "%u", res.model.rounds);
		row("rounds", a, b);
		row("bytes total", db_fmt_bytes(res.bytes_total, a, sizeof(a)),
		    db_fmt_bytes(res.model.bytes_total, b, sizeof(b)));
		row("downtime", res.resumed ? db_fmt_ns(res.downtime_ns, a, sizeof(a)) : "-",
		    db_fmt_ns(res.model.downtime_ns, b, sizeof(b)));
		row("total time", res.resumed ? db_fmt_ns(res.total_time_ns, a, sizeof(a)) : "-",
		    db_fmt_ns(res.model.total_time_ns, b, sizeof(b)));
		snprintf(a, sizeof(a), "%.0f", res.wl.achieved_pps);
		snprintf(b, sizeof(b), "%.0f", res.wl.target_pps);
		row("dirty pages/s", a, b);
		snprintf(a, sizeof(a), "%.1f", res.bandwidth_measured_bps / 1e6);
		snprintf(b, sizeof(b), "%.1f", res.model_bandwidth * 8 / 1e6);
		row("Mbit/s", a, b);
		printf("  RAM %s\n", res.ram_equal ? "equal" : "DIFFERS");
	}
	if (status)
		fprintf(stderr, "dirtybench model-check: %s: %s\n",
			db_outcome_name(res.outcome), res.error);
	db_result_free(&res);
	return status;
}
