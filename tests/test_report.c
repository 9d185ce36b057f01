// SPDX-License-Identifier: MIT
/*
 * The HTML report: real gnuplot SVG in one self-contained page, every
 * user string escaped, a RAM mismatch standing out, and the page rendered
 * by a real headless Chromium. Input: schema 1 fixtures (tests/fixture.c).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dirtybench/common.h"
#include "base/files.h"
#include "fixture.h"
#include "../reports/report.h"
#include "../reports/runset.h"
#include "../reports/table.h"

#define EVIL "<script>alert('x')</script>&\"q\""

/* Two trackers, three rates, two repetitions; one run lost its RAM. */
static void write_matrix(const char *root, bool mismatch, bool evil)
{
	static const char *const trk[] = { "uffd-async", "fork-cow" };
	static const char *const rates[] = { "idle", "32x10", "512x10" };
	static const double pps[] = { 0, 3200, 51200 };
	struct fx_run runs[12];
	static char names[12][128];
	size_t n = 0, t, k, rep;

	for (t = 0; t < 2; t++)
		for (k = 0; k < 3; k++)
			for (rep = 1; rep <= 2; rep++) {
				struct fx_run *r = &runs[n];

				snprintf(names[n], sizeof(names[n]), "fx/%s/%s",
					 evil && t == 1 ? EVIL : trk[t], rates[k]);
				memset(r, 0, sizeof(*r));
				r->scenario = names[n];
				r->group = "fx";
				r->tracker = evil && t == 1 ? EVIL : trk[t];
				r->rate = rates[k];
				r->rate_pps = pps[k];
				r->rep = (int)rep;
				r->converged = k < 2;
				r->rounds = k < 2 ? 3 + (int)k : 20;
				r->downtime_ms = 10 + 15.0 * (double)k + (double)t * 5 +
						 (double)rep;
				r->total_s = 0.8 + (double)k * 2;
				r->ram_equal = !(mismatch && t == 1 && k == 1 &&
						 rep == 2);
				r->samples = k == 2;
				r->message = evil ? EVIL : NULL;
				n++;
			}
	fx_runset(root, evil ? EVIL : "fx", runs, n, "fx/kmod-cow/idle",
		  evil ? EVIL : "cannot load a module on this host");
}

static char *render(const char *root)
{
	char html[700];
	const char *dirs[1] = { root };

	snprintf(html, sizeof(html), "%s/report.html", root);
	cr_assert_eq(db_report_render(dirs, 1, html, NULL), 0, "render: %s",
		     db_strerror());
	return fx_read(html);
}

Test(report, page_embeds_gnuplot_svg_and_stands_alone)
{
	char *root = fx_tmpdir("report"), *page;

	write_matrix(root, false, false);
	page = render(root);
	/* one matrix, six timelines, six bar charts, two collector plots */
	cr_assert_eq(fx_count(page, "<svg"), 1 + 6 + 6 + 2,
		     "svg count %zu", fx_count(page, "<svg"));
	cr_assert(strstr(page, "Produced by GNUPLOT"), "drawn by gnuplot");
	cr_assert_null(strstr(page, "<?xml"), "XML prolog stripped");
	/* self-contained: no script, no external resource */
	cr_assert_null(strstr(page, "<script"));
	cr_assert_null(strstr(page, "<link"));
	cr_assert_null(strstr(page, "src="));
	cr_assert_null(strstr(page, "@import"));
	/* the matrix plot names both trackers and the model */
	cr_assert(strstr(page, "<title>uffd-async</title>"));
	cr_assert(strstr(page, "<title>fork-cow</title>"));
	cr_assert(strstr(page, "<title>model</title>"));
	cr_assert(strstr(page, "downtime (ms)"));
	cr_assert(strstr(page, "guest slowdown"));
	/* the timeline has its series and pause/resume marks */
	cr_assert(strstr(page, "dirty pages to send"));
	cr_assert(strstr(page, "send bandwidth"));
	cr_assert(strstr(page, ">pause<"));
	cr_assert(strstr(page, ">resume<"));
	/* the collectors: CPU above, memory below with the guest RAM */
	cr_assert_eq(fx_count(page, "<title>guest vCPUs</title>"), 2,
		     "the vCPU series in both collector plots");
	cr_assert(strstr(page, "CPU (% of one core)"));
	cr_assert(strstr(page, "resident memory (MiB)"));
	cr_assert_eq(fx_count(page, "<title>guest RAM</title>"), 2);
	cr_assert_eq(fx_count(page, ">pause<"), 6 + 2 * 2,
		     "pause marked in every timeline and both collector panels");
	/* ids stay unique with many SVGs inline */
	cr_assert_eq(fx_count(page, "id=\"p0_gnuplot_canvas\""), 1);
	cr_assert_eq(fx_count(page, "id=\"gnuplot_canvas\""), 0);
	/* the skipped scenario is listed with its reason */
	cr_assert(strstr(page, "cannot load a module on this host"));
	cr_assert(strstr(page, "guest stall and downtime differ: the guest&#39;s last reading"),
		  "a run whose stall and downtime differ says why");
	cr_assert(strstr(page, "RAM intact"));
	free(page);
	fx_cleanup(root);
}

Test(report, ram_mismatch_stands_out)
{
	char *root = fx_tmpdir("report"), *page, *row;

	write_matrix(root, true, false);
	page = render(root);
	cr_assert(strstr(page, "class=\"banner\">1 run with a RAM MISMATCH"),
		  "banner above everything");
	cr_assert_eq(fx_count(page, "<tr class=\"mismatch\">"), 1);
	row = strstr(page, "<tr class=\"mismatch\">");
	cr_assert(strstr(row, "fx/fork-cow/32x10"), "the right run is marked");
	cr_assert(strstr(row, "MISMATCH: 3 pages differ"));
	cr_assert(strstr(row, "fedcba9876543210fedcba9876543210"),
		  "both checksums shown");
	cr_assert_eq(fx_count(page, "class=\"ok\">equal"), 11);
	free(page);
	fx_cleanup(root);
}

Test(report, user_strings_are_escaped)
{
	char *root = fx_tmpdir("report"), *page;

	write_matrix(root, false, true);
	page = render(root);
	cr_assert_null(strstr(page, "<script"), "no raw markup from user strings");
	cr_assert(strstr(page, "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"
			  "&amp;&quot;q&quot;"), "escaped in the HTML");
	/* gnuplot escaped the tracker name in the plot's legend too */
	cr_assert(strstr(page, "&lt;script>alert('x')&lt;/script>&amp;\"q\""),
		  "escaped in the SVG");
	free(page);
	fx_cleanup(root);
}

Test(report, plain_run_directories_without_index)
{
	char *root = fx_tmpdir("report"), dir[600], html[600], *page;
	struct fx_run r = {
		.scenario = "single", .group = "runs", .tracker = "hash",
		.rate = "idle", .rate_pps = 1000, .rep = 1, .downtime_ms = 5,
		.total_s = 1, .rounds = 3, .converged = true, .ram_equal = true,
	};
	const char *dirs[1] = { dir };

	snprintf(dir, sizeof(dir), "%s/one", root);
	fx_write_run(dir, &r);
	snprintf(html, sizeof(html), "%s/r.html", root);
	cr_assert_eq(db_report_render(dirs, 1, html, NULL), 0, "%s", db_strerror());
	page = fx_read(html);
	cr_assert_geq(fx_count(page, "<svg"), 2, "matrix and timeline");
	cr_assert(strstr(page, "<td>hash</td>"));
	free(page);
	fx_cleanup(root);
}

Test(report, no_runs_and_no_gnuplot_are_clear_errors)
{
	char *root = fx_tmpdir("report"), html[600];
	const char *dirs[1] = { root };
	struct stat st;

	snprintf(html, sizeof(html), "%s/r.html", root);
	cr_assert_eq(db_report_render(dirs, 1, html, NULL), -ENOENT);
	cr_assert(strstr(db_strerror(), "no bench.json and no result.json"),
		  "%s", db_strerror());
	write_matrix(root, false, false);
	setenv("DIRTYBENCH_GNUPLOT", "/nonexistent/gnuplot", 1);
	cr_assert_eq(db_report_render(dirs, 1, html, NULL), -ENOENT);
	cr_assert(strstr(db_strerror(), "gnuplot-nox"), "%s", db_strerror());
	unsetenv("DIRTYBENCH_GNUPLOT");
	cr_assert_neq(stat(html, &st), 0, "nothing half-written");
	fx_cleanup(root);
}

/*
 * Chromium renders the page offline: it loads, the plots are in the DOM
 * and the screenshot is not blank.
 */
Test(report, chromium_renders_the_plots)
{
	char *root, *page, url[700], shot[700], dom[700], out[700], udd[700];
	char size_arg[] = "--window-size=1200,2000";
	struct stat st;
	int rc;

	if (!fx_have("chromium"))
		cr_skip_test("chromium is not installed (Debian package "
			     "chromium; make deps installs it)");
	root = fx_tmpdir("chromium");
	write_matrix(root, true, false);
	free(render(root));
	snprintf(url, sizeof(url), "file://%s/report.html", root);
	snprintf(shot, sizeof(shot), "--screenshot=%s/shot.png", root);
	snprintf(dom, sizeof(dom), "%s/dom.html", root);
	snprintf(out, sizeof(out), "%s/chromium.log", root);
	snprintf(udd, sizeof(udd), "--user-data-dir=%s/profile", root);
	{
		const char *argv[] = {
			"chromium", "--headless", "--no-sandbox", "--disable-gpu",
			"--disable-quic", "--no-first-run",
			"--disable-background-networking",
			"--disable-component-update", "--disable-sync",
			"--hide-scrollbars", udd, size_arg, shot, url, NULL,
		};
		const char *dargv[] = {
			"chromium", "--headless", "--no-sandbox", "--disable-gpu",
			"--disable-quic", "--no-first-run",
			"--disable-background-networking",
			"--disable-component-update", "--disable-sync", udd,
			"--dump-dom", url, NULL,
		};

		rc = fx_run_cmd(argv, out, 90);
		cr_assert_eq(rc, 0, "chromium --screenshot exit %d (log %s)", rc,
			     out);
		rc = fx_run_cmd(dargv, dom, 90);
		cr_assert_eq(rc, 0, "chromium --dump-dom exit %d", rc);
	}
	snprintf(shot, sizeof(shot), "%s/shot.png", root);
	cr_assert_eq(stat(shot, &st), 0, "screenshot written");
	/* a blank 1200x2000 page compresses to a few KiB; plots do not */
	cr_assert_gt(st.st_size, 40000, "screenshot of %lld bytes looks blank",
		     (long long)st.st_size);
	page = fx_read(dom);
	cr_assert_geq(fx_count(page, "<svg"), 15, "the SVGs are in the DOM");
	cr_assert(strstr(page, "RAM MISMATCH"));
	free(page);
	fx_cleanup(root);
}

/*
 * Four scenarios: fine (two repetitions), a RAM mismatch, a run killed
 * at its timeout after it wrote result.json (no verdict, so no mismatch)
 * and a crash without a result; plus one that cannot run here.
 */
static void trouble(struct fx_run *r, const char *tracker, const char *rate,
		    int rep)
{
	static char names[8][64];
	static int n;
	char *name = names[n++ % 8];

	snprintf(name, 64, "fx/%s/%s", tracker, rate);
	memset(r, 0, sizeof(*r));
	r->scenario = name;
	r->group = "fx";
	r->tracker = tracker;
	r->rate = rate;
	r->rate_pps = strcmp(rate, "32x10") ? 51200 : 3200;
	r->rep = rep;
	r->downtime_ms = 12.5;
	r->total_s = 1.5;
	r->rounds = 4;
	r->converged = true;
	r->ram_equal = true;
}

static void write_troubles(const char *root)
{
	struct fx_run runs[5];

	trouble(&runs[0], "uffd-async", "32x10", 1);
	trouble(&runs[1], "uffd-async", "32x10", 2);
	runs[1].downtime_ms = 14;
	trouble(&runs[2], "hash", "32x10", 1);
	runs[2].ram_equal = false;
	trouble(&runs[3], "fork-cow", "512x10", 1);
	runs[3].status = "timeout";
	runs[3].outcome = "aborted";
	runs[3].ram_equal = false;
	runs[3].message = "killed after the 60 s timeout";
	trouble(&runs[4], "uffd-wp", "512x10", 1);
	runs[4].status = "crashed";
	runs[4].message = "killed by signal 11 (Segmentation fault)";
	fx_runset(root, "fx", runs, 5, "fx/kmod-cow/idle",
		  "cannot load a module on this host");
}

static char *table_of(const char *root, bool colour, size_t *bad)
{
	const char *dirs[1] = { root };
	struct db_runset *rs;
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	cr_assert_eq(db_runset_load(&rs, dirs, 1), 0, "%s", db_strerror());
	f = open_memstream(&text, &len);
	cr_assert_not_null(f);
	*bad = db_runset_print_table(rs, f, colour);
	fclose(f);
	db_runset_free(rs);
	return text;
}

/* The line of the table that names scenario s (in one of two buffers). */
static const char *line_of(const char *table, const char *s)
{
	static char buf[2][1024];
	static int which;
	char *line = buf[which++ & 1];
	const char *p = strstr(table, s), *b, *e;

	cr_assert_not_null(p, "the table has a row for %s:\n%s", s, table);
	for (b = p; b > table && b[-1] != '\n'; b--)
		;
	e = strchr(p, '\n');
	snprintf(line, sizeof(buf[0]), "%.*s", (int)(e ? e - b : (long)strlen(b)), b);
	return line;
}

Test(report, bench_table_marks_mismatches_and_failures)
{
	char *root = fx_tmpdir("table"), *t, *page, head[1024];
	const char *l;
	size_t bad, col, i;

	write_troubles(root);
	t = table_of(root, false, &bad);
	cr_assert_eq(bad, 3, "mismatch, timeout and crash are trouble:\n%s", t);
	cr_assert_null(strchr(t, '\033'), "no colour when asked for none");
	snprintf(head, sizeof(head), "%s", line_of(t, "scenario"));
	cr_assert(strstr(head, "tracker") && strstr(head, "dirty rate") &&
		  strstr(head, "rounds") && strstr(head, "converged") &&
		  strstr(head, "stop reason") && strstr(head, "downtime") &&
		  strstr(head, "total time") && strstr(head, "guest stall") &&
		  strstr(head, "ram_equal"), "%s", head);

	l = line_of(t, "fx/uffd-async/32x10");
	cr_assert(!strncmp(l, "   ", 3), "a fine row is not marked: %s", l);
	cr_assert(strstr(l, "ok (2 runs)"), "%s", l);
	cr_assert(strstr(l, "32x10 (3200/s)"), "%s", l);
	cr_assert(strstr(l, "12.5 ms") || strstr(l, "14.0 ms"),
		  "a repetition's downtime: %s", l);
	l = line_of(t, "fx/hash/32x10");
	cr_assert(!strncmp(l, "!! ", 3), "%s", l);
	cr_assert(strstr(l, "  NO  "), "%s", l);
	cr_assert(strstr(l, "RAM MISMATCH: 3 pages differ"), "%s", l);
	l = line_of(t, "fx/fork-cow/512x10");
	cr_assert(!strncmp(l, "!! ", 3), "%s", l);
	cr_assert(strstr(l, "TIMEOUT: killed after the 60 s timeout"), "%s", l);
	cr_assert_null(strstr(l, "MISMATCH"), "never compared, so no mismatch");
	cr_assert_null(strstr(l, " NO "), "ram_equal unknown, not NO: %s", l);
	l = line_of(t, "fx/uffd-wp/512x10");
	cr_assert(!strncmp(l, "!! ", 3), "%s", l);
	cr_assert(strstr(l, "CRASHED: killed by signal 11"), "%s", l);
	l = line_of(t, "fx/kmod-cow/idle");
	cr_assert(strstr(l, "skipped: cannot load a module on this host"), "%s", l);

	/* aligned: every row's tracker column starts where its heading does */
	col = (size_t)(strstr(head, "tracker") - head);
	for (i = 0; i < 5; i++) {
		static const char *const trk[] = { "uffd-async", "hash",
			"fork-cow", "uffd-wp", "kmod-cow" };
		char name[64];

		snprintf(name, sizeof(name), "fx/%s/", trk[i]);
		l = line_of(t, name);
		cr_assert(strlen(l) > col && !strncmp(l + col, trk[i], strlen(trk[i])),
			  "column of %s: %s", trk[i], l);
	}
	free(t);

	t = table_of(root, true, &bad);
	cr_assert(strstr(line_of(t, "fx/hash/32x10"), "\033[1;31m"),
		  "a mismatch is red on a terminal");
	free(t);

	/* the report agrees: one mismatch, the timed-out run unverified */
	page = render(root);
	cr_assert(strstr(page, "class=\"banner\">1 run with a RAM MISMATCH"));
	cr_assert_eq(fx_count(page, "<tr class=\"mismatch\">"), 1);
	cr_assert(strstr(page, "not verified"));
	free(page);
	fx_cleanup(root);
}
