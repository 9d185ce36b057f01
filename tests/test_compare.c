// SPDX-License-Identifier: MIT
/*
 * compare and publish: verdicts on medians and spread against doctored
 * baselines, a RAM mismatch failing outright, JUnit XML, the command's
 * exit status, and baselines through a real nginx on 127.0.0.1 (good,
 * down, slow, 404, 500, half-written).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dirtybench/common.h"
#include "base/files.h"
#include "fixture.h"
#include "httpd.h"
#include "../reports/compare.h"
#include "../reports/http.h"
#include "../reports/runset.h"

/* Doctoring of one fixture run set. */
struct doctor {
	double downtime_scale;	/* for scenario a */
	double downtime_spread;	/* +- ms between repetitions */
	bool a_stuck;		/* scenario a stops converging */
	bool mismatch;		/* scenario b, rep 2 */
	bool drop_b;
	bool b_crashed;
	bool b_timed_out;	/* rep 2 killed, result.json without a verdict */
};

/* Two scenarios x three repetitions, downtime 10/11/12 ms and 20/21/22. */
static void write_set(const char *root, const struct doctor *d)
{
	static char names[2][32] = { "fx/uffd-async/64x10", "fx/hash/64x10" };
	struct fx_run runs[6];
	size_t n = 0, s, rep;

	for (s = 0; s < (d->drop_b ? 1u : 2u); s++)
		for (rep = 1; rep <= 3; rep++) {
			struct fx_run *r = &runs[n++];
			double spread = d->downtime_spread ? d->downtime_spread : 1;

			memset(r, 0, sizeof(*r));
			r->scenario = names[s];
			r->group = "fx";
			r->tracker = s ? "hash" : "uffd-async";
			r->rate = "64x10";
			r->rate_pps = 6400;
			r->rep = (int)rep;
			r->downtime_ms = (10.0 * (double)(s + 1) +
					  spread * ((double)rep - 2) + 1) *
					 (s == 0 && d->downtime_scale ?
					  d->downtime_scale : 1);
			r->total_s = 2;
			r->rounds = 4;
			r->converged = !(s == 0 && d->a_stuck);
			r->ram_equal = !(d->mismatch && s == 1 && rep == 2);
			if (d->b_crashed && s == 1)
				r->status = "crashed";
			if (d->b_timed_out && s == 1 && rep == 2) {
				r->status = "timeout";
				r->outcome = "aborted";
				r->ram_equal = false;
			}
		}
	fx_runset(root, "fx", runs, n, NULL, NULL);
}

static struct db_runset *load(const char *dir)
{
	const char *dirs[1] = { dir };
	struct db_runset *rs;

	cr_assert_eq(db_runset_load(&rs, dirs, 1), 0, "%s", db_strerror());
	return rs;
}

static struct db_comparison *judge(const struct doctor *base,
				   const struct doctor *cur,
				   const struct db_compare_opts *o)
{
	char *b = fx_tmpdir("base"), *c = fx_tmpdir("cur");
	struct db_runset *rb, *rc;
	struct db_comparison *cmp;

	write_set(b, base);
	write_set(c, cur);
	rb = load(b);
	rc = load(c);
	cr_assert_eq(db_compare(rb, rc, o, &cmp), 0, "%s", db_strerror());
	db_runset_free(rb);
	db_runset_free(rc);
	fx_cleanup(b);
	fx_cleanup(c);
	return cmp;
}

static const struct db_cmp_row *row(const struct db_comparison *c,
				    const char *scen, const char *metric)
{
	size_t i;

	for (i = 0; i < c->nrows; i++)
		if (!strcmp(c->rows[i].metric, metric) &&
		    strstr(c->rows[i].scenario, scen))
			return &c->rows[i];
	cr_assert_fail("no row %s %s", scen, metric);
	return NULL;
}

Test(compare, identical_run_sets_are_the_same)
{
	struct doctor d = { 0 };
	struct db_comparison *c = judge(&d, &d, NULL);
	const struct db_cmp_row *r = row(c, "uffd-async", "downtime");

	cr_assert_not(c->failed);
	cr_assert_eq(c->scenarios, 2);
	cr_assert_eq(c->count[DB_V_WORSE] + c->count[DB_V_BETTER] +
		     c->count[DB_V_NOISY] + c->count[DB_V_MISMATCH], 0);
	/* medians and spread over the three repetitions */
	cr_assert_float_eq(r->base_med, 11e6, 1);
	cr_assert_float_eq(r->base_lo, 10e6, 1);
	cr_assert_float_eq(r->base_hi, 12e6, 1);
	cr_assert_eq(r->nbase, 3);
	cr_assert_eq(r->ncur, 3);
	cr_assert_eq(row(c, "hash", "ram_equal")->v, DB_V_SAME);
	db_comparison_free(c);
}

Test(compare, doctored_baseline_shows_the_regression)
{
	/* the baseline claims 40% less downtime for uffd-async */
	struct doctor base = { .downtime_scale = 0.6 }, cur = { 0 };
	struct db_comparison *c = judge(&base, &cur, NULL);
	const struct db_cmp_row *r = row(c, "uffd-async", "downtime");

	cr_assert(c->failed);
	cr_assert_eq(r->v, DB_V_WORSE, "verdict %s", db_verdict_name(r->v));
	cr_assert_float_eq(r->change, 11.0 / 6.6 - 1, 1e-9);
	cr_assert_eq(row(c, "hash", "downtime")->v, DB_V_SAME);
	cr_assert_eq(row(c, "uffd-async", "rounds")->v, DB_V_SAME);
	db_comparison_free(c);

	c = judge(&cur, &base, NULL);
	cr_assert_eq(row(c, "uffd-async", "downtime")->v, DB_V_BETTER);
	cr_assert_not(c->failed, "better is not a failure");
	db_comparison_free(c);
}

Test(compare, overlapping_spread_is_noisy)
{
	/* medians 40% apart, but repetitions spread over +-8 ms */
	struct doctor base = { .downtime_scale = 0.6, .downtime_spread = 8 };
	struct doctor cur = { .downtime_spread = 8 };
	struct db_comparison *c = judge(&base, &cur, NULL);

	cr_assert_eq(row(c, "uffd-async", "downtime")->v, DB_V_NOISY);
	cr_assert_not(c->failed);
	db_comparison_free(c);
}

Test(compare, thresholds_are_overridable)
{
	struct doctor base = { .downtime_scale = 0.6 }, cur = { 0 };
	struct db_compare_opts o;
	struct db_comparison *c;

	db_compare_defaults(&o);
	cr_assert_eq(db_compare_threshold(&o, "downtime=80%"), 0);
	c = judge(&base, &cur, &o);
	cr_assert_eq(row(c, "uffd-async", "downtime")->v, DB_V_SAME);
	db_comparison_free(c);
	/* a floor of 5 ms swallows the 4.4 ms change */
	db_compare_defaults(&o);
	cr_assert_eq(db_compare_threshold(&o, "downtime_ns=1%,5"), 0);
	c = judge(&base, &cur, &o);
	cr_assert_eq(row(c, "uffd-async", "downtime")->v, DB_V_SAME);
	db_comparison_free(c);
	cr_assert_eq(db_compare_threshold(&o, "latency=5%"), -EINVAL);
	cr_assert(strstr(db_strerror(), "unknown metric 'latency'"));
	cr_assert_eq(db_compare_threshold(&o, "rounds=5"), -EINVAL);
}

Test(compare, ram_mismatch_fails_outright)
{
	struct doctor base = { 0 }, cur = { .mismatch = true };
	struct db_comparison *c = judge(&base, &cur, NULL);
	const struct db_cmp_row *r = row(c, "hash", "ram_equal");

	cr_assert(c->failed);
	cr_assert_eq(r->v, DB_V_MISMATCH);
	cr_assert(strstr(r->note, "repetition 2 (3 pages)"), "%s", r->note);
	cr_assert_eq(row(c, "hash", "downtime")->v, DB_V_SAME,
		     "fails even when every metric is the same");
	db_comparison_free(c);
}

Test(compare, lost_convergence_missing_and_crashed_runs)
{
	struct doctor base = { 0 }, cur = { .a_stuck = true };
	struct db_comparison *c = judge(&base, &cur, NULL);

	cr_assert_eq(row(c, "uffd-async", "converged")->v, DB_V_WORSE);
	cr_assert(c->failed);
	db_comparison_free(c);

	cur = (struct doctor){ .drop_b = true };
	c = judge(&base, &cur, NULL);
	cr_assert_eq(row(c, "hash", "runs")->v, DB_V_MISSING);
	cr_assert(c->failed);
	db_comparison_free(c);

	cur = (struct doctor){ .b_crashed = true };
	c = judge(&base, &cur, NULL);
	cr_assert_eq(row(c, "hash", "runs")->v, DB_V_MISSING);
	cr_assert(strstr(row(c, "hash", "runs")->note, "crashed"));
	db_comparison_free(c);

	c = judge(&cur, &base, NULL);
	cr_assert_eq(row(c, "hash", "runs")->v, DB_V_NEW);
	cr_assert_not(c->failed);
	db_comparison_free(c);
}

/* A run killed mid-migration was never compared: a failure, not a mismatch. */
Test(compare, an_aborted_run_is_no_ram_mismatch)
{
	struct doctor base = { 0 }, cur = { .b_timed_out = true };
	struct db_comparison *c = judge(&base, &cur, NULL);

	cr_assert_eq(row(c, "hash", "ram_equal")->v, DB_V_SAME, "%s",
		     row(c, "hash", "ram_equal")->note);
	cr_assert_eq(row(c, "hash", "runs")->v, DB_V_WORSE);
	cr_assert(strstr(row(c, "hash", "runs")->note, "without a RAM verdict"),
		  "%s", row(c, "hash", "runs")->note);
	cr_assert(c->failed, "a run that did not finish still fails the comparison");
	db_comparison_free(c);
}

Test(compare, junit_has_a_testcase_per_scenario_and_metric)
{
	struct doctor base = { .downtime_scale = 0.6 }, cur = { .mismatch = true };
	struct db_comparison *c = judge(&base, &cur, NULL);
	struct db_buf b = { 0 };

	db_compare_junit(c, &b);
	cr_assert(strstr(b.p, "<?xml version=\"1.0\""));
	cr_assert_eq(fx_count(b.p, "<testcase "), c->nrows);
	cr_assert_eq(fx_count(b.p, "<testsuite "), 2, "one suite per scenario");
	/* 2 scenarios x (ram_equal, converged, 5 metrics) */
	cr_assert_eq(c->nrows, 14);
	cr_assert_eq(fx_count(b.p, "<failure "), 3,
		     "downtime and guest stall worse, RAM mismatch");
	cr_assert(strstr(b.p, "<failure type=\"worse\" message=\"worse: baseline "
			 "6.6 ms [6.0 ms - 7.2 ms] n=3, now 11.0 ms"), "%s", b.p);
	cr_assert(strstr(b.p, "name=\"ram_equal\" time=\"0\"><failure "
			 "type=\"mismatch\""));
	cr_assert(strstr(b.p, "testsuites name=\"dirtybench compare\" tests=\"14\" "
			 "failures=\"3\""));
	db_buf_free(&b);
	db_comparison_free(c);
}

static int run_cli(const char *const *args, const char *log)
{
	const char *bin = getenv("DIRTYBENCH_BIN");
	char path[512];
	const char *argv[16];
	size_t i;

	snprintf(path, sizeof(path), "%s/dirtybench", bin ? bin : "bin");
	argv[0] = path;
	for (i = 0; args[i] && i < 14; i++)
		argv[i + 1] = args[i];
	argv[i + 1] = NULL;
	return fx_run_cmd(argv, log, 60);
}

/* The command: exit 1 on the doctored baseline, its report and JUnit. */
Test(compare, command_exits_1_on_a_regression)
{
	char *b = fx_tmpdir("base"), *c = fx_tmpdir("cur"), log[600], path[600];
	struct doctor base = { .downtime_scale = 0.6 }, cur = { 0 };
	const char *args[] = { "compare", "--baseline", b, c, NULL };
	char *text;

	write_set(b, &base);
	write_set(c, &cur);
	snprintf(log, sizeof(log), "%s/compare.log", c);
	cr_assert_eq(run_cli(args, log), 1, "exit status");
	text = fx_read(log);
	cr_assert(strstr(text, "worse    fx/uffd-async/64x10 downtime +66.7%"),
		  "%s", text);
	cr_assert(strstr(text, "verdict: REGRESSION"));
	free(text);
	snprintf(path, sizeof(path), "%s/junit.xml", c);
	text = fx_read(path);
	cr_assert(strstr(text, "<failure type=\"worse\""));
	free(text);
	snprintf(path, sizeof(path), "%s/report.html", c);
	text = fx_read(path);
	cr_assert(strstr(text, "Comparison with the baseline"));
	cr_assert(strstr(text, "<td class=\"v-worse\">worse</td>"));
	cr_assert_geq(fx_count(text, "<svg"), 3, "joined to the plotted report");
	free(text);

	args[2] = c;	/* against itself: no regression */
	cr_assert_eq(run_cli(args, log), 0);
	fx_cleanup(b);
	fx_cleanup(c);
}

/* ---- baselines over HTTP ------------------------------------------------ */

struct http_case {
	struct fx_nginx ngx;
	char *set;		/* a run set to publish */
	char *fetched;
};

static void http_setup(struct http_case *h)
{
	char why[256];
	struct doctor d = { 0 };

	memset(h, 0, sizeof(*h));
	if (!fx_nginx_start(&h->ngx, why, sizeof(why)))
		cr_skip_test("%s", why);
	h->set = fx_tmpdir("set");
	h->fetched = fx_tmpdir("fetched");
	write_set(h->set, &d);
}

static void http_teardown(struct http_case *h)
{
	fx_nginx_stop(&h->ngx);
	fx_cleanup(h->set);
	fx_cleanup(h->fetched);
}

static bool exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

Test(compare, publish_then_fetch_through_nginx)
{
	struct db_http_opts o = { .timeout_ms = 10000 };
	struct http_case h;
	char url[128], path[700], *a, *b;
	struct db_runset *rs;
	struct doctor d = { .downtime_scale = 2 };

	http_setup(&h);
	snprintf(url, sizeof(url), "%s/baselines/ci", h.ngx.url);
	cr_assert_eq(db_http_publish(h.set, url, &o), 0, "%s", db_strerror());
	snprintf(path, sizeof(path), "%s/www/baselines/ci/manifest.json",
		 h.ngx.prefix);
	cr_assert(exists(path), "manifest in place");
	cr_assert_eq(db_http_fetch_runset(url, h.fetched, &o), 0, "%s",
		     db_strerror());
	snprintf(path, sizeof(path), "%s/fx/hash/64x10/rep3/result.json", h.set);
	a = fx_read(path);
	snprintf(path, sizeof(path), "%s/fx/hash/64x10/rep3/result.json", h.fetched);
	b = fx_read(path);
	cr_assert_str_eq(a, b, "the same bytes came back");
	free(a);
	free(b);
	rs = load(h.fetched);
	cr_assert_eq(rs->nruns, 6);
	db_runset_free(rs);

	/* publishing again replaces the run set whole */
	write_set(h.set, &d);
	cr_assert_eq(db_http_publish(h.set, url, &o), 0, "%s", db_strerror());
	fx_cleanup(h.fetched);
	h.fetched = fx_tmpdir("fetched");
	cr_assert_eq(db_http_fetch_runset(url, h.fetched, &o), 0, "%s",
		     db_strerror());
	rs = load(h.fetched);
	cr_assert_float_eq(rs->runs[1].downtime_ns, 22e6, 1);
	db_runset_free(rs);
	snprintf(path, sizeof(path), "%s/www/baselines", h.ngx.prefix);
	a = NULL;
	{
		/* no staging collection left beside it */
		char cmd_out[700];
		const char *argv[] = { "ls", "-a", path, NULL };

		snprintf(cmd_out, sizeof(cmd_out), "%s/ls.txt", h.ngx.prefix);
		cr_assert_eq(fx_run_cmd(argv, cmd_out, 10), 0);
		a = fx_read(cmd_out);
		cr_assert_null(strstr(a, "staging"), "%s", a);
		free(a);
	}
	http_teardown(&h);
}

Test(compare, server_down_slow_404_and_500_are_clear_errors)
{
	struct db_http_opts o = { .timeout_ms = 1500, .connect_timeout_ms = 1500 };
	struct http_case h;
	struct fx_slow slow;
	char url[128];
	uint64_t t0;
	int err;

	http_setup(&h);
	/* down: nothing listens */
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/base", fx_free_port());
	cr_assert_eq(db_http_fetch_runset(url, h.fetched, &o), -ECONNREFUSED);
	cr_assert(strstr(db_strerror(), "manifest.json"), "%s", db_strerror());
	cr_assert(strstr(db_strerror(), "onnect"), "%s", db_strerror());
	cr_assert_eq(db_http_publish(h.set, url, &o), -ECONNREFUSED);
	cr_assert(strstr(db_strerror(), "unchanged"), "%s", db_strerror());

	/* slow: accepts, never answers */
	fx_slow_start(&slow);
	snprintf(url, sizeof(url), "%s/base", slow.url);
	t0 = db_now_ns();
	err = db_http_fetch_runset(url, h.fetched, &o);
	cr_assert_eq(err, -ETIMEDOUT, "%d: %s", err, db_strerror());
	cr_assert_lt(db_now_ns() - t0, 10000000000ull, "the timeout held");
	cr_assert(strstr(db_strerror(), "timed out"), "%s", db_strerror());
	fx_slow_stop(&slow);

	/* 404: nothing published */
	snprintf(url, sizeof(url), "%s/never", h.ngx.url);
	cr_assert_eq(db_http_fetch_runset(url, h.fetched, &o), -ENOENT);
	cr_assert(strstr(db_strerror(), "HTTP 404"), "%s", db_strerror());
	cr_assert(strstr(db_strerror(), "nothing was published there"));

	/* 500 */
	snprintf(url, sizeof(url), "%s/fail500/base", h.ngx.url);
	cr_assert_eq(db_http_fetch_runset(url, h.fetched, &o), -EIO);
	cr_assert(strstr(db_strerror(), "HTTP 500"), "%s", db_strerror());
	cr_assert_eq(db_http_publish(h.set, url, &o), -EIO);
	cr_assert(strstr(db_strerror(), "HTTP 500"), "%s", db_strerror());
	http_teardown(&h);
}

Test(compare, half_written_baselines_are_refused)
{
	struct db_http_opts o = { .timeout_ms = 10000 };
	struct http_case h;
	char url[128], path[700], *m;
	const char *base_args[6];
	char log[700];

	http_setup(&h);
	/* a publish whose last step (MOVE) the server refuses */
	snprintf(url, sizeof(url), "%s/nomove/ci", h.ngx.url);
	cr_assert_neq(db_http_publish(h.set, url, &o), 0);
	cr_assert(strstr(db_strerror(), "MOVE"), "%s", db_strerror());
	snprintf(path, sizeof(path), "%s/www/nomove/ci", h.ngx.prefix);
	cr_assert_not(exists(path), "nothing at the URL");
	cr_assert_eq(db_http_fetch_runset(url, h.fetched, &o), -ENOENT);

	/* files without a manifest, as an interrupted upload leaves them */
	snprintf(url, sizeof(url), "%s/baselines/ci", h.ngx.url);
	cr_assert_eq(db_http_publish(h.set, url, &o), 0, "%s", db_strerror());
	snprintf(path, sizeof(path), "%s/www/baselines/ci/manifest.json",
		 h.ngx.prefix);
	m = fx_read(path);
	unlink(path);
	cr_assert_eq(db_http_fetch_runset(url, h.fetched, &o), -ENOENT);
	cr_assert(strstr(db_strerror(), "publishing did not finish"));

	/* a manifest that does not say complete */
	{
		char *p = strstr(m, "\"complete\": true");

		cr_assert_not_null(p, "%s", m);
		memcpy(p, "\"complete\":false", 16);
		cr_assert_eq(db_write_atomic(path, m, strlen(m)), 0);
	}
	cr_assert_eq(db_http_fetch_runset(url, h.fetched, &o), -EBADMSG);
	cr_assert(strstr(db_strerror(), "half-written"), "%s", db_strerror());
	{
		char *p = strstr(m, "\"complete\":false");

		memcpy(p, "\"complete\": true", 16);
		cr_assert_eq(db_write_atomic(path, m, strlen(m)), 0);
	}
	/* a file changed after publishing */
	snprintf(path, sizeof(path), "%s/www/baselines/ci/fx/hash/64x10/rep1/"
		 "rounds.csv", h.ngx.prefix);
	cr_assert_eq(db_write_atomic(path, "round\n", 6), 0);
	cr_assert_eq(db_http_fetch_runset(url, h.fetched, &o), -EBADMSG);
	cr_assert(strstr(db_strerror(), "rounds.csv"), "%s", db_strerror());

	/* and the command says so with exit status 2 */
	base_args[0] = "compare";
	base_args[1] = "--baseline";
	base_args[2] = url;
	base_args[3] = h.set;
	base_args[4] = NULL;
	snprintf(log, sizeof(log), "%s/cli.log", h.ngx.prefix);
	cr_assert_eq(run_cli(base_args, log), 2);
	free(m);
	http_teardown(&h);
}

Test(compare, file_urls_publish_and_fetch)
{
	char *set = fx_tmpdir("set"), *dst = fx_tmpdir("dst"), *got;
	char url[700], path[700];
	struct doctor d = { 0 };
	struct db_runset *rs;

	write_set(set, &d);
	snprintf(url, sizeof(url), "file://%s/base", dst);
	cr_assert_eq(db_http_publish(set, url, NULL), 0, "%s", db_strerror());
	cr_assert_eq(db_http_publish(set, url, NULL), 0, "again, over it");
	got = fx_tmpdir("got");
	cr_assert_eq(db_http_fetch_runset(url, got, NULL), 0, "%s", db_strerror());
	rs = load(got);
	cr_assert_eq(rs->nruns, 6);
	db_runset_free(rs);
	snprintf(path, sizeof(path), "%s/base/manifest.json", dst);
	cr_assert(exists(path));
	fx_cleanup(set);
	fx_cleanup(dst);
	fx_cleanup(got);
}
