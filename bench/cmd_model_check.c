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
"dirty pages. The third column is the model fed what each round had (its\n"
"wire bandwidth, its length, the guest's write rate): it must land within\n"
"10%% of the run's rounds, bytes and downtime, or the check fails naming\n"
"the figure. Defaults here: --ram 64M --bandwidth 320mbit, the tracker\n"
"uffd-async when it can run, else hash.\n\n"
"Options:\n");
	db_options_help(stdout, DB_OPT_MODEL);
	printf("\nExit status: 0 done and RAM equal, 1 RAM differs or the fed model is\n"
	       "more than 10%% off, 2 bad option, 3 missing here, 4 aborted.\n");
}

static void row(const char *what, const char *measured, const char *predicted,
		const char *fed)
{
	printf("  %-16s %16s %16s %16s\n", what, measured, predicted, fed);
}

/* Within 10% (rounds: exactly, below ten)? */
static bool near(double measured, double predicted)
{
	return fabs(measured - predicted) <= 0.10 * measured;
}

/*
 * The model fed the link and guest each round had must land within 10%
 * of the run's rounds, bytes and downtime; a message says where not.
 */
static bool fed_model_agrees(const struct db_result *res, char *why, size_t len)
{
	const struct db_model_out *m = &res->model_measured;

	why[0] = '\0';
	if (!res->have_model_measured || !res->resumed)
		return true;
	if (!near(res->rounds, m->rounds))
		snprintf(why, len, "rounds: run %u, model fed the run's rounds %u",
			 res->rounds, m->rounds);
	else if (!near((double)res->bytes_total, (double)m->bytes_total))
		snprintf(why, len, "bytes: run %llu, model fed the run's rounds %llu",
			 (unsigned long long)res->bytes_total,
			 (unsigned long long)m->bytes_total);
	else if (!near((double)res->downtime_ns, (double)m->downtime_ns))
		snprintf(why, len, "downtime: run %.1f ms, model fed the run's rounds %.1f ms",
			 res->downtime_ns / 1e6, m->downtime_ns / 1e6);
	return !why[0];
}

int cmd_model_check(int argc, char **argv)
{
	struct db_run_config cfg;
	struct db_result res;
	char self[1024], a[32], b[32], c[32], why[160];
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
		row("", "measured", "predicted", "fed the run");
		snprintf(a, sizeof(a), "%u", res.rounds);
		snprintf(b, sizeof(b), "%u", res.model.rounds);
		snprintf(c, sizeof(c), "%u", res.model_measured.rounds);
		row("rounds", a, b, c);
		row("bytes total", db_fmt_bytes(res.bytes_total, a, sizeof(a)),
		    db_fmt_bytes(res.model.bytes_total, b, sizeof(b)),
		    db_fmt_bytes(res.model_measured.bytes_total, c, sizeof(c)));
		row("downtime", res.resumed ? db_fmt_ns(res.downtime_ns, a, sizeof(a)) : "-",
		    db_fmt_ns(res.model.downtime_ns, b, sizeof(b)),
		    db_fmt_ns(res.model_measured.downtime_ns, c, sizeof(c)));
		row("total time", res.resumed ? db_fmt_ns(res.total_time_ns, a, sizeof(a)) : "-",
		    db_fmt_ns(res.model.total_time_ns, b, sizeof(b)),
		    db_fmt_ns(res.model_measured.total_time_ns, c, sizeof(c)));
		snprintf(a, sizeof(a), "%.0f", res.wl.achieved_pps);
		snprintf(b, sizeof(b), "%.0f", res.wl.target_pps);
		row("dirty pages/s", a, b, "per round");
		snprintf(a, sizeof(a), "%.1f", res.bandwidth_measured_bps / 1e6);
		snprintf(b, sizeof(b), "%.1f", res.model_bandwidth * 8 / 1e6);
		row("Mbit/s", a, b, "per round");
		printf("  RAM %s\n", res.ram_equal ? "equal" : "DIFFERS");
	}
	if (status)
		fprintf(stderr, "dirtybench model-check: %s: %s\n",
			db_outcome_name(res.outcome), res.error);
	else if (!fed_model_agrees(&res, why, sizeof(why))) {
		fprintf(stderr, "dirtybench model-check: the model fed the run's own rounds is more than 10%% off: %s\n",
			why);
		status = DB_EXIT_VALIDATION;
	}
	db_result_free(&res);
	return status;
}
