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
#include "files.h"
#include "fixture.h"
#include "../reports/report.h"
#include "../reports/runset.h"

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
