// SPDX-License-Identifier: MIT
/* The analytical model and the run options (one table for every use). */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dirtybench/common.h"
#include "engine/model.h"
#include "runner/options.h"

/* 16384 pages (64 MiB), sequential writer over all of them. */
static void model_base(struct db_model_in *in, double lambda)
{
	double pb = db_model_page_bytes(false);

	memset(in, 0, sizeof(*in));
	in->ram_pages = in->data_pages = 16384;
	in->workload = true;
	in->dr = (struct dr_config){ .total_pages = 16384, .dirty_pages = 1000,
				     .period_ms = 1000, .copies = 1,
				     .pattern = DR_PATTERN_SEQ };
	in->bandwidth = 1000 * pb / lambda;	/* dirty rate = lambda x B */
	in->downtime_limit_ms = 300;
	in->stop = DB_STOP_DOWNTIME;
	in->max_rounds = 30;
	in->max_time_ms = 3600000;
}

Test(model, geometric_rounds_at_half_the_bandwidth)
{
	double pb = db_model_page_bytes(false);
	struct db_model_in in;
	struct db_model_out out;

	/* V_i = M/2^i pages: 16384 8192 4096 2048 1024 512; 512 fit in 600 */
	model_base(&in, 0.5);
	db_model_predict(&in, &out);
	cr_assert_float_eq(out.lambda, 0.5, 1e-9);
	cr_assert(out.converges);
	cr_assert_eq(out.rounds, 6, "rounds %u", out.rounds);
	cr_assert_eq(out.pages_total, 32256);
	cr_assert(fabs((double)out.bytes_total - 32256 * pb) < 64,
		  "bytes %llu", (unsigned long long)out.bytes_total);
	cr_assert(llabs((long long)out.downtime_ns - 256000000ll) < 1000,
		  "the last 512 pages take 256 ms at 2000 pages/s, not %llu ns",
		  (unsigned long long)out.downtime_ns);
	/* V_total = M (1 - lambda^(n+1)) / (1 - lambda) */
	cr_assert_float_eq((double)out.pages_total,
			   16384 * (1 - pow(0.5, 6)) / (1 - 0.5), 1);
}

Test(model, no_convergence_at_or_above_the_bandwidth)
{
	struct db_model_in in;
	struct db_model_out out;

	model_base(&in, 2);
	db_model_predict(&in, &out);
	cr_assert(!out.converges);
	cr_assert_eq(out.rounds, 30, "forced at --max-rounds");
	cr_assert_eq(out.pages_total, 30 * 16384ull, "the working set every round");

	in.on_timeout = DB_ON_TIMEOUT_CANCEL;
	db_model_predict(&in, &out);
	cr_assert(out.cancelled);

	/* a working set that fits the downtime converges anyway */
	model_base(&in, 2);
	in.dr.total_pages = 500;
	in.downtime_limit_ms = 1500;	/* 750 pages at 500 pages/s */
	db_model_predict(&in, &out);
	cr_assert(out.converges);
	cr_assert_eq(out.rounds, 2);
}

Test(model, stop_policies)
{
	struct db_model_in in;
	struct db_model_out out;

	model_base(&in, 0.5);
	in.stop = DB_STOP_ROUNDS;
	in.stop_arg = 3;
	db_model_predict(&in, &out);
	cr_assert_eq(out.rounds, 3);
	cr_assert_eq(out.pages_total, 16384 + 8192 + 4096);

	in.stop_arg = 1;	/* plain stop-and-copy */
	db_model_predict(&in, &out);
	cr_assert_eq(out.rounds, 1);
	cr_assert_eq(out.downtime_ns, out.total_time_ns);

	in.stop = DB_STOP_THRESHOLD;
	in.stop_arg = 3000;
	db_model_predict(&in, &out);
	cr_assert_eq(out.rounds, 4, "2048 pages are the first at most 3000");

	in.stop = DB_STOP_TIME;
	in.stop_arg = 10000;	/* 10 s: round 0 takes 8.2 s, round 1 4.1 s */
	in.downtime_limit_ms = 1;
	in.on_timeout = DB_ON_TIMEOUT_FORCE;
	db_model_predict(&in, &out);
	cr_assert(!out.converges);
	cr_assert_eq(out.rounds, 3);
}

Test(model, distinct_pages_per_pattern)
{
	struct dr_config dr = { .total_pages = 1000, .dirty_pages = 10,
				.period_ms = 10, .copies = 2,
				.pattern = DR_PATTERN_SEQ };

	/* 1 s: 100 periods x 10 pages per copy */
	cr_assert_float_eq(db_model_dirtied(&dr, 1e9), 2000, 1e-6);
	cr_assert_float_eq(db_model_dirtied(&dr, 100e9), 2000, 1e-6,
			   "capped by the working set");
	dr.pattern = DR_PATTERN_RANDOM;
	cr_assert_float_eq(db_model_dirtied(&dr, 1e9),
			   2 * 1000 * (1 - pow(1 - 1.0 / 1000, 1000)), 1e-6);
	dr.pattern = DR_PATTERN_HOTSET;
	dr.hot_fraction = 0.1;
	cr_assert(db_model_dirtied(&dr, 100e9) <= 200 + 1e-9, "inside the hot 10%%");
	dr.pattern = DR_PATTERN_ZIPF;
	dr.zipf_s = 1.2;
	cr_assert(db_model_dirtied(&dr, 1e9) < 2000, "zipf repeats its hot pages");
}

Test(options, defaults_come_from_the_table)
{
	struct db_run_config c;

	db_run_config_defaults(&c);
	cr_assert_str_eq(c.tracker, "uffd-async");
	cr_assert_eq(c.ram_bytes, 256ull << 20);
	cr_assert_eq(c.downtime_limit_ms, 300);
	cr_assert_eq(c.stop, DB_STOP_DOWNTIME);
	cr_assert_eq(c.max_rounds, 30);
	cr_assert_eq(c.max_time_ms, 60000);
	cr_assert_eq(c.on_timeout, DB_ON_TIMEOUT_FORCE);
	cr_assert_eq(c.link, DB_LINK_LOOPBACK);
	cr_assert_eq(c.bandwidth, 0, "unlimited");
	cr_assert_eq(c.peer_timeout_ms, 2000);
	cr_assert(c.workload_on);
	cr_assert_eq(c.dr.dirty_pages, 512);
	cr_assert_str_eq(c.listen, "127.0.0.1:7650");
}

Test(options, command_line_forms)
{
	struct db_run_config c;
	const char *argv[] = { "run", "--ram", "64M", "--bandwidth=1gbit", "--progress",
			 "--stop", "rounds:3", "--workload",
			 "dirtyram:pages=1000,dirty=10,period=5,pattern=hotset:0.5,threads=2",
			 "--max-time", "2.5", "--on-timeout", "cancel", "--tracker", "hash", NULL };

	db_run_config_defaults(&c);
	cr_assert_eq(db_options_parse(&c, DB_OPT_RUN, 15, argv), 0, "%s", db_strerror());
	cr_assert_eq(c.ram_bytes, 64ull << 20);
	cr_assert_eq(c.bandwidth, 125000000);
	cr_assert(c.progress);
	cr_assert_eq(c.stop, DB_STOP_ROUNDS);
	cr_assert_eq(c.stop_arg, 3);
	cr_assert_eq(c.dr.total_pages, 1000);
	cr_assert_eq(c.dr.copies, 2);
	cr_assert_eq(c.dr.pattern, DR_PATTERN_HOTSET);
	cr_assert_float_eq(c.dr.hot_fraction, 0.5, 1e-9);
	cr_assert_eq(c.max_time_ms, 2500);
	cr_assert_eq(c.on_timeout, DB_ON_TIMEOUT_CANCEL);
	cr_assert_eq(db_run_config_check(&c, DB_OPT_RUN), 0, "%s", db_strerror());
}

static void bad(unsigned cmd, const char *opt, const char *val, const char *needle)
{
	struct db_run_config c;
	const char *argv[] = { "x", opt, val, NULL };

	db_run_config_defaults(&c);
	cr_assert_eq(db_options_parse(&c, cmd, val ? 3 : 2, argv), -EINVAL,
		     "%s %s accepted", opt, val ? val : "");
	cr_assert(strstr(db_strerror(), needle), "'%s' names '%s'", db_strerror(),
		  needle);
}

Test(options, bad_values_name_the_option)
{
	bad(DB_OPT_RUN, "--ram", "12Q", "option --ram");
	bad(DB_OPT_RUN, "--bandwidth", "fast", "option --bandwidth");
	bad(DB_OPT_RUN, "--stop", "sometimes", "option --stop");
	bad(DB_OPT_RUN, "--stop", "rounds:0", "option --stop");
	bad(DB_OPT_RUN, "--workload", "dirtyram:colour=red", "option --workload");
	bad(DB_OPT_RUN, "--workload", "dirtyram:pattern=wavy", "pattern");
	bad(DB_OPT_RUN, "--workload", "fio", "option --workload");
	bad(DB_OPT_RUN, "--max-rounds", "0", "option --max-rounds");
	bad(DB_OPT_RUN, "--on-timeout", "later", "force|cancel");
	bad(DB_OPT_RUN, "--backing", "nvme", "option --backing");
	bad(DB_OPT_RUN, "--bogus", "1", "'--bogus'");
	bad(DB_OPT_RUN, "--ram", NULL, "option --ram needs a value");
	bad(DB_OPT_RUN, "--listen", "1", "'--listen'");	/* a dest option */
	bad(DB_OPT_DEST, "--tracker", "hash", "'--tracker'");
	bad(DB_OPT_MIGRATE, "--link", "netns", "'--link'");
}

Test(options, cross_checks_name_the_option)
{
	struct db_run_config c;

	db_run_config_defaults(&c);
	db_option_set(&c, "tracker", "hash");
	db_option_set(&c, "ram", "4M");
	cr_assert_eq(db_run_config_check(&c, DB_OPT_RUN), 0, "%s", db_strerror());
	cr_assert_eq(c.dr.total_pages, 1024, "pages= defaults to all RAM");
	db_option_set(&c, "workload", "dirtyram:pages=2000");
	cr_assert_eq(db_run_config_check(&c, DB_OPT_RUN), -EINVAL);
	cr_assert(strstr(db_strerror(), "option --workload"), "%s", db_strerror());
	db_option_set(&c, "workload", "dirtyram:pages=10,dirty=20");
	cr_assert_eq(db_run_config_check(&c, DB_OPT_RUN), -EINVAL);
	cr_assert(strstr(db_strerror(), "dirty=20"), "%s", db_strerror());
	db_option_set(&c, "workload", "none");
	db_option_set(&c, "stop", "rounds:40");
	cr_assert_eq(db_run_config_check(&c, DB_OPT_RUN), -EINVAL);
	cr_assert(strstr(db_strerror(), "--max-rounds"), "%s", db_strerror());
	db_option_set(&c, "stop", "downtime");
	db_option_set(&c, "tracker", "nope");
	cr_assert_eq(db_run_config_check(&c, DB_OPT_RUN), -EINVAL);
	cr_assert(strstr(db_strerror(), "option --tracker: unknown tracker 'nope'"),
		  "%s", db_strerror());
	db_option_set(&c, "tracker", "hash");
	cr_assert_eq(db_run_config_check(&c, DB_OPT_MIGRATE), -EINVAL);
	cr_assert(strstr(db_strerror(), "--to is required"), "%s", db_strerror());
	cr_assert_eq(db_option_set(&c, "no-such-key", "1"), -ENOENT,
		     "target files learn about unknown keys");
}

Test(options, help_lists_every_option_with_its_default)
{
	char *text = NULL;
	size_t len = 0, i;
	FILE *f = open_memstream(&text, &len);

	db_options_help(f, DB_OPT_RUN);
	fclose(f);
	for (i = 0; i < db_option_count(); i++) {
		const struct db_option *o = db_option_at(i);
		char name[64];

		if (!(o->cmds & DB_OPT_RUN))
			continue;
		snprintf(name, sizeof(name), "--%s", o->name);
		cr_assert(strstr(text, name), "--help shows %s", name);
	}
	cr_assert(strstr(text, "Default: 300."), "defaults are shown");
	cr_assert(!strstr(text, "--listen"), "dest options are not run options");
	free(text);
}

Test(options, canonical_text_names_every_setting)
{
	struct db_run_config c;
	char text[1024];

	db_run_config_defaults(&c);
	db_option_set(&c, "tracker", "hash");
	db_run_config_text(&c, text, sizeof(text));
	cr_assert(strstr(text, "tracker=hash "));
	cr_assert(strstr(text, "stop=downtime "));
	cr_assert(strstr(text, "workload=dirtyram:dirty=512,period=10 "));
}

static void same_outcome(const struct db_model_out *a, const struct db_model_out *b,
			 const char *what)
{
	cr_assert_eq(a->rounds, b->rounds, "%s: rounds %u, %u", what, a->rounds, b->rounds);
	cr_assert_eq(a->converges, b->converges, "%s: convergence", what);
	cr_assert_eq(a->pages_total, b->pages_total, "%s: pages", what);
	cr_assert_eq(a->bytes_total, b->bytes_total, "%s: bytes", what);
	cr_assert_eq(a->downtime_ns, b->downtime_ns, "%s: downtime %llu, %llu", what,
		     (unsigned long long)a->downtime_ns, (unsigned long long)b->downtime_ns);
	cr_assert_eq(a->total_time_ns, b->total_time_ns, "%s: total time", what);
}

/*
 * The model fed the link and the guest each round had: the nominal
 * figures fed back change nothing, and a link or a guest at half speed
 * in every round predicts what the nominal model does at half speed.
 */
Test(model, fed_the_measured_rounds)
{
	double wire[3], bw[3], wps[3], B;
	struct db_model_in in, ref;
	struct db_model_out nominal, fed, half;
	int i;

	model_base(&in, 0.5);
	db_model_predict(&in, &nominal);
	B = in.bandwidth;
	for (i = 0; i < 3; i++) {
		wire[i] = bw[i] = B;
		wps[i] = 1000.0 * 1000.0 / 1000.0;	/* 1000 pages per 1000 ms */
	}
	in.nmeasured = 3;
	in.round_wire_bw = wire;
	in.round_bw = bw;
	in.round_wps = wps;
	db_model_predict(&in, &fed);
	same_outcome(&fed, &nominal, "the nominal figures fed back");
	cr_assert_gt(nominal.rounds, 3, "rounds past the measured take the last's figures");

	for (i = 0; i < 3; i++)
		wire[i] = bw[i] = B / 2;
	db_model_predict(&in, &fed);
	model_base(&ref, 0.5);
	ref.bandwidth = B / 2;
	db_model_predict(&ref, &half);
	same_outcome(&fed, &half, "a link at half its nominal bandwidth");
	cr_assert_gt(fed.rounds, nominal.rounds, "a slower link takes more rounds");

	for (i = 0; i < 3; i++) {
		wire[i] = bw[i] = B;
		wps[i] = 500.0;
	}
	db_model_predict(&in, &fed);
	model_base(&ref, 0.5);
	ref.dr.dirty_pages = 500;
	db_model_predict(&ref, &half);
	same_outcome(&fed, &half, "a guest writing at half its nominal rate");
	cr_assert_lt(fed.rounds, nominal.rounds, "a slower writer converges sooner");
}
