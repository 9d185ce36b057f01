// SPDX-License-Identifier: MIT
/* dirtybench report: plots and the HTML page for one or more run sets. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "dirtybench/common.h"
#include "cmd.h"
#include "cmdopt.h"
#include "../reports/report.h"

static const struct cmd_opt opts[] = {
	{ "output", 'o', "FILE.html", "DIR/report.html with one DIR",
	  "where the page goes (written whole, or not at all)" },
	{ "title", 256, "TEXT", "dirtybench report: TARGET",
	  "the page's title" },
};

static const struct cmd_doc doc = {
	.synopsis = "dirtybench report DIR... [-o FILE.html]",
	.desc =
	"Draw the runs found in the DIRs (run sets written by `dirtybench\n"
	"bench`, trees of `dirtybench run --out` directories, or single run\n"
	"directories) with gnuplot and write one self-contained HTML page:\n"
	"inline SVG and CSS, no script, no external file, readable offline.\n"
	"  - per matrix: downtime, total time, rounds and guest slowdown\n"
	"    against the dirty rate, one line per tracker (median, min-max),\n"
	"    and the analytical model's prediction;\n"
	"  - a table of every run: status, converged, stop reason, downtime,\n"
	"    RAM checksums and ram_equal (a mismatch is marked in red);\n"
	"  - per scenario: the timeline (remaining dirty pages, send\n"
	"    bandwidth, dirty rate, pause and resume), per-round bars and\n"
	"    the collectors' series.\n"
	"Several DIRs are merged; runs of the same scenario count as\n"
	"repetitions. Needs gnuplot (Debian: gnuplot-nox).\n",
	.opts = opts,
	.nopts = DB_ARRAY_SIZE(opts),
	.tail =
	"Examples:\n"
	"  dirtybench report reports/out/20261122-050000-host\n"
	"  dirtybench report eager/ lazy/ -o eager-vs-lazy.html\n"
	"\n"
	"Exit status: 0 written; 2 bad usage or no run found in a DIR;\n"
	"3 gnuplot missing or the page could not be written.\n",
};

struct report_args {
	const char *output, *title;
};

static int on_opt(int key, const char *arg, void *ctx)
{
	struct report_args *a = ctx;

	if (key == 'o')
		a->output = arg;
	else
		a->title = arg;
	return 0;
}

int cmd_report(int argc, char **argv)
{
	struct report_args a = { 0 };
	struct db_report_opts ro = { 0 };
	char out[PATH_MAX];
	uint64_t t0 = db_now_ns();
	int rc, err;

	rc = cmd_parse(argc, argv, &doc, on_opt, &a);
	if (rc < 0)
		return rc == CMD_HELP_SHOWN ? 0 : -rc;
	if (rc >= argc) {
		fprintf(stderr, "dirtybench report: no DIR given\nUsage: %s\n",
			doc.synopsis);
		return DB_EXIT_USAGE;
	}
	if (!a.output) {
		if (argc - rc > 1) {
			fprintf(stderr, "dirtybench report: several DIRs: say "
				"where the page goes with -o FILE.html\n");
			return DB_EXIT_USAGE;
		}
		snprintf(out, sizeof(out), "%s/report.html", argv[rc]);
		a.output = out;
	}
	ro.title = a.title;
	err = db_report_render((const char *const *)argv + rc,
			       (size_t)(argc - rc), a.output, &ro);
	if (err) {
		fprintf(stderr, "dirtybench report: %s\n", db_strerror());
		return err == -ENOENT && !strstr(db_strerror(), "gnuplot") ?
		       DB_EXIT_USAGE : err == -EINVAL ? DB_EXIT_USAGE :
		       DB_EXIT_RESOURCE;
	}
	printf("report: %s (%.2f s)\n", a.output,
	       (double)(db_now_ns() - t0) / 1e9);
	return 0;
}
