// SPDX-License-Identifier: MIT
/* dirtybench compare: a run set against a baseline (directory or URL). */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dirtybench/common.h"
#include "base/files.h"
#include "cmd.h"
#include "cmdopt.h"
#include "../reports/compare.h"
#include "../reports/http.h"
#include "../reports/report.h"

enum { OPT_THRESHOLD = 256, OPT_HTML, OPT_JUNIT, OPT_TIMEOUT, OPT_CONNECT };

static const struct cmd_opt opts[] = {
	{ "baseline", 'b', "DIR|URL", NULL,
	  "the run set to compare with: a directory, or an http://, https:// "
	  "or file:// URL where `dirtybench publish` put one (required)" },
	{ "threshold", OPT_THRESHOLD, "METRIC=PCT%[,FLOOR]", "see below",
	  "how large a change of the median counts, per metric (repeatable)" },
	{ "html", OPT_HTML, "FILE", "DIR/report.html",
	  "the report with the comparison joined to it" },
	{ "junit", OPT_JUNIT, "FILE", "DIR/junit.xml",
	  "JUnit XML: one testcase per scenario and metric" },
	{ "timeout", OPT_TIMEOUT, "SECONDS", "120",
	  "limit for each HTTP transfer of the baseline" },
	{ "connect-timeout", OPT_CONNECT, "SECONDS", "10",
	  "limit for connecting to the baseline's server" },
};

static const struct cmd_doc doc = {
	.synopsis = "dirtybench compare --baseline DIR|URL DIR",
	.desc =
	"Judge the run set in DIR against a baseline, scenario by scenario:\n"
	"for downtime, total time, rounds, bytes sent and guest stall, the\n"
	"median over the repetitions and its spread (min to max):\n"
	"  same     the median moved less than the threshold\n"
	"  noisy    it moved more, but the min-max ranges overlap\n"
	"  better   it went down, ranges apart\n"
	"  worse    it went up, ranges apart; or runs stopped converging,\n"
	"           or runs ended without a result\n"
	"  mismatch a run's RAM differs after migration (fails outright)\n"
	"  missing  a scenario with results in the baseline has none now\n"
	"  new, skipped   for information\n"
	"Writes the report with the comparison joined (--html) and JUnit XML\n"
	"(--junit). A baseline URL must hold a complete manifest.json (see\n"
	"`dirtybench publish`); anything less is refused.\n",
	.opts = opts,
	.nopts = DB_ARRAY_SIZE(opts),
	.tail =
	"Examples:\n"
	"  dirtybench compare --baseline reports/out/last-night reports/out/now\n"
	"  dirtybench compare --baseline https://ci.example/dirtybench/ci \\\n"
	"      --threshold downtime=40%,5 --junit junit.xml reports/out/now\n"
	"\n"
	"Exit status: 0 no regression; 1 a regression, a missing scenario or\n"
	"a RAM mismatch; 2 bad usage, or a run set or baseline that is\n"
	"incomplete or damaged; 3 the baseline cannot be fetched (server down,\n"
	"timeout, HTTP error) or gnuplot is missing.\n",
};

struct compare_args {
	const char *baseline, *html, *junit;
	struct db_compare_opts th;
	struct db_http_opts http;
};

static int on_opt(int key, const char *arg, void *ctx)
{
	struct compare_args *a = ctx;
	uint64_t v;

	switch (key) {
	case 'b': a->baseline = arg; break;
	case OPT_HTML: a->html = arg; break;
	case OPT_JUNIT: a->junit = arg; break;
	case OPT_THRESHOLD:
		if (db_compare_threshold(&a->th, arg)) {
			fprintf(stderr, "dirtybench compare: %s\n", db_strerror());
			return DB_EXIT_USAGE;
		}
		break;
	case OPT_TIMEOUT:
	case OPT_CONNECT:
		if (db_parse_u64(arg, 1, 86400, &v)) {
			fprintf(stderr, "dirtybench compare: --%s: %s\n",
				key == OPT_TIMEOUT ? "timeout" : "connect-timeout",
				db_strerror());
			return DB_EXIT_USAGE;
		}
		if (key == OPT_TIMEOUT)
			a->http.timeout_ms = (long)v * 1000;
		else
			a->http.connect_timeout_ms = (long)v * 1000;
		break;
	}
	return 0;
}

static int load(struct db_runset **rs, const char *dir, const char *what)
{
	const char *dirs[1] = { dir };

	if (db_runset_load(rs, dirs, 1)) {
		fprintf(stderr, "dirtybench compare: %s: %s\n", what, db_strerror());
		return DB_EXIT_USAGE;
	}
	return 0;
}

static void summary(const struct db_comparison *c)
{
	size_t i;

	for (i = 0; i < c->nrows; i++) {
		const struct db_cmp_row *r = &c->rows[i];

		if (r->v == DB_V_SAME)
			continue;
		printf("%-8s %s %s", db_verdict_name(r->v), r->scenario, r->metric);
		if (!isnan(r->change) && !isinf(r->change) &&
		    strcmp(r->metric, "converged"))
			printf(" %+.1f%%", r->change * 100);
		printf("%s%s\n", r->note[0] ? ": " : "", r->note);
	}
	printf("%zu scenarios: %zu same, %zu noisy, %zu better, %zu worse, "
	       "%zu mismatch, %zu missing, %zu new, %zu skipped\n", c->scenarios,
	       c->count[DB_V_SAME], c->count[DB_V_NOISY], c->count[DB_V_BETTER],
	       c->count[DB_V_WORSE], c->count[DB_V_MISMATCH],
	       c->count[DB_V_MISSING], c->count[DB_V_NEW], c->count[DB_V_SKIPPED]);
	printf("verdict: %s\n", c->failed ? "REGRESSION" : "no regression");
}

int cmd_compare(int argc, char **argv)
{
	struct compare_args a = { 0 };
	struct db_runset *base = NULL, *cur = NULL;
	struct db_comparison *c = NULL;
	struct db_report_opts ro = { 0 };
	struct db_buf section = { 0 }, junit = { 0 }, page = { 0 };
	char tmp[PATH_MAX] = "", html[PATH_MAX], xml[PATH_MAX];
	const char *dir, *basedir;
	int rc, err;

	db_compare_defaults(&a.th);
	rc = cmd_parse(argc, argv, &doc, on_opt, &a);
	if (rc < 0)
		return rc == CMD_HELP_SHOWN ? 0 : -rc;
	if (!a.baseline || rc != argc - 1) {
		fprintf(stderr, "dirtybench compare: %s\nUsage: %s\n",
			!a.baseline ? "--baseline is required" :
			"exactly one DIR to judge", doc.synopsis);
		return DB_EXIT_USAGE;
	}
	dir = argv[rc];
	rc = load(&cur, dir, "this run set");
	if (rc)
		return rc;
	basedir = a.baseline;
	if (db_is_url(a.baseline)) {
		err = db_mkdtemp(tmp, sizeof(tmp), "baseline");
		if (!err)
			err = db_http_fetch_runset(a.baseline, tmp, &a.http);
		if (err) {
			fprintf(stderr, "dirtybench compare: %s\n", db_strerror());
			rc = err == -EBADMSG ? DB_EXIT_USAGE : DB_EXIT_RESOURCE;
			goto out;
		}
		basedir = tmp;
	}
	rc = load(&base, basedir, "baseline");
	if (rc)
		goto out;
	if (db_compare(base, cur, &a.th, &c)) {
		fprintf(stderr, "dirtybench compare: %s\n", db_strerror());
		rc = DB_EXIT_RESOURCE;
		goto out;
	}
	if (base->scale != cur->scale)
		fprintf(stderr, "dirtybench compare: warning: the baseline ran at "
			"--scale %g, this run set at %g\n", base->scale, cur->scale);
	db_compare_html(c, a.baseline, &section);
	db_compare_junit(c, &junit);
	snprintf(xml, sizeof(xml), "%s/junit.xml", dir);
	snprintf(html, sizeof(html), "%s/report.html", dir);
	err = db_write_atomic(a.junit ? a.junit : xml, junit.p, junit.len);
	if (!err) {
		ro.extra_html = section.p;
		err = db_report_build(cur, &ro, &page);
		if (!err)
			err = db_write_atomic(a.html ? a.html : html, page.p,
					      page.len);
	}
	summary(c);
	if (err) {
		fprintf(stderr, "dirtybench compare: %s\n", db_strerror());
		rc = c->failed ? DB_EXIT_VALIDATION : DB_EXIT_RESOURCE;
		goto out;
	}
	printf("report: %s\njunit: %s\n", a.html ? a.html : html,
	       a.junit ? a.junit : xml);
	rc = c->failed ? DB_EXIT_VALIDATION : DB_EXIT_OK;
out:
	if (tmp[0])
		db_rm_rf(tmp);
	db_buf_free(&section);
	db_buf_free(&junit);
	db_buf_free(&page);
	db_comparison_free(c);
	db_runset_free(base);
	db_runset_free(cur);
	return rc;
}
