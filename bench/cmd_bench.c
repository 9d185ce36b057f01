// SPDX-License-Identifier: MIT
/* dirtybench bench: run a target's scenario matrix, then write its report. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dirtybench/common.h"
#include "cmd.h"
#include "cmdopt.h"
#include "runner/matrix.h"
#include "../reports/report.h"
#include "../reports/table.h"
#include "runner/target.h"

enum { OPT_SCALE = 256, OPT_NO_REPORT, OPT_BIN, OPT_QUIET };

static const struct cmd_opt opts[] = {
	{ "target", 't', "NAME|FILE", "host",
	  "the target: NAME.ini from the targets directory, or a path" },
	{ "filter", 'f', "REGEX", NULL,
	  "only scenarios whose name matches this PCRE2 expression" },
	{ "list", 'l', NULL, NULL,
	  "list the scenarios (and why some cannot run here), run nothing" },
	{ "repeat", 'r', "N", "the target's repetitions",
	  "runs of every scenario" },
	{ "out", 'o', "DIR", "reports/out/DATE-TARGET",
	  "where the run set goes (created)" },
	{ "scale", OPT_SCALE, "F", "1",
	  "shrink guest RAM, total pages and time caps by F in (0, 1]; dirty "
	  "rate and link stay, so lambda and the knee stay where they are" },
	{ "no-report", OPT_NO_REPORT, NULL, NULL, "do not write report.html" },
	{ "quiet", OPT_QUIET, NULL, NULL,
	  "no progress line even on a terminal" },
	{ "dirtybench", OPT_BIN, "PATH", "this program",
	  "the dirtybench binary that performs each run" },
};

static const struct cmd_doc doc = {
	.synopsis = "dirtybench bench [--target NAME] [OPTIONS]",
	.desc =
	"Run every scenario of a target (bench/targets/NAME.ini: trackers,\n"
	"backings, RAM, copies, dirty rates, link, stop policy, caps) as\n"
	"`dirtybench run` child processes, one per repetition, each into\n"
	"DIR/SCENARIO/repK/ (result.json, rounds.csv, samples.csv, run.log).\n"
	"A run that crashes or hangs costs only that run; its status is kept\n"
	"in DIR/bench.json. Scenarios whose tracker cannot run here are listed\n"
	"as skipped with the reason. At the end a table shows one row per\n"
	"scenario (its median run): tracker, dirty rate, rounds, converged,\n"
	"stop reason, downtime, total time, guest stall, ram_equal and the\n"
	"result; a row with a RAM mismatch or a failed run starts with !!\n"
	"(red on a terminal). Then DIR/report.html is written and the paths\n"
	"printed, the report last. On a terminal a status line shows the\n"
	"scenario, its round, the pages still to send, the elapsed time and an\n"
	"estimate of the time left; elsewhere only the table and the paths\n"
	"are printed.\n\n"
	"Built-in targets: host (the default, under two minutes), ci (the\n"
	"nightly set), exynos (the ARM test bed: 1792 MiB, 1 Gbit/s netns),\n"
	"qemu (Debian's QEMU and bookworm-backports' side by side, docs/qemu.md).\n",
	.opts = opts,
	.nopts = DB_ARRAY_SIZE(opts),
	.tail =
	"Examples:\n"
	"  dirtybench bench                      the host target\n"
	"  dirtybench bench -t ci --filter 'uffd' --repeat 5\n"
	"  dirtybench bench -t exynos --scale 0.1 --out /tmp/exy\n"
	"  dirtybench bench -t exynos --list\n"
	"\n"
	"Exit status: 0 every run that could run here ran and its RAM arrived\n"
	"intact; 1 a run's RAM differs; 2 bad usage or a bad target file\n"
	"(file, line and key named); 3 the report could not be drawn (gnuplot\n"
	"missing); 4 a run aborted, crashed or timed out, or interrupted.\n",
};

struct bench_args {
	const char *target, *filter, *out, *bin;
	unsigned repeat;
	double scale;
	int list, no_report, quiet;
};

static int on_opt(int key, const char *arg, void *ctx)
{
	struct bench_args *a = ctx;
	uint64_t v;

	switch (key) {
	case 't': a->target = arg; break;
	case 'f': a->filter = arg; break;
	case 'l': a->list = 1; break;
	case 'o': a->out = arg; break;
	case OPT_BIN: a->bin = arg; break;
	case OPT_NO_REPORT: a->no_report = 1; break;
	case OPT_QUIET: a->quiet = 1; break;
	case 'r':
		if (db_parse_u64(arg, 1, 1000, &v)) {
			fprintf(stderr, "dirtybench bench: --repeat: %s\n",
				db_strerror());
			return DB_EXIT_USAGE;
		}
		a->repeat = (unsigned)v;
		break;
	case OPT_SCALE:
		if (db_parse_double(arg, 1e-4, 1, &a->scale)) {
			fprintf(stderr, "dirtybench bench: --scale: %s\n",
				db_strerror());
			return DB_EXIT_USAGE;
		}
		break;
	}
	return 0;
}

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
	(void)sig;
	interrupted = 1;
}

static void list(const struct db_target *t)
{
	size_t i, runnable = 0, runs = 0;

	printf("target %s (%s): %s\n", t->name, t->file, t->description);
	for (i = 0; i < t->nsc; i++) {
		const struct db_scenario *s = &t->sc[i];

		if (s->skip[0]) {
			printf("  %-52s skipped: %s\n", s->name, s->skip);
			continue;
		}
		runnable++;
		runs += s->repetitions;
		printf("  %-52s %u run%s, %.0f pages/s\n", s->name,
		       s->repetitions, s->repetitions == 1 ? "" : "s",
		       s->rate_pps);
	}
	printf("%zu scenarios, %zu can run here (%zu runs)\n", t->nsc,
	       runnable, runs);
}

static void default_out(char *buf, size_t len, const char *target)
{
	time_t now = time(NULL);
	struct tm tm;
	char when[32];

	localtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y%m%d-%H%M%S", &tm);
	snprintf(buf, len, "reports/out/%s-%s", when, target);
}

int cmd_bench(int argc, char **argv)
{
	struct bench_args a = { .target = "host" };
	struct db_target_opts to = { 0 };
	struct db_matrix_opts mo = { 0 };
	struct db_matrix_summary sum;
	struct db_runset *rs;
	struct db_target *t;
	char out[PATH_MAX], html[PATH_MAX + 16], self[PATH_MAX];
	struct sigaction sa = { .sa_handler = on_sigint };
	const char *dirs[1];
	ssize_t n;
	int rc, err;

	rc = cmd_parse(argc, argv, &doc, on_opt, &a);
	if (rc < 0)
		return rc == CMD_HELP_SHOWN ? 0 : -rc;
	if (rc < argc) {
		fprintf(stderr, "dirtybench bench: unexpected argument '%s'\n",
			argv[rc]);
		return DB_EXIT_USAGE;
	}
	to.scale = a.scale;
	to.repeat = a.repeat;
	to.filter = a.filter;
	err = db_target_load(&t, a.target, &to);
	if (err) {
		fprintf(stderr, "dirtybench bench: %s\n", db_strerror());
		return DB_EXIT_USAGE;
	}
	if (a.list) {
		list(t);
		db_target_free(t);
		return 0;
	}
	if (!t->nsc) {
		fprintf(stderr, "dirtybench bench: no scenario of target %s "
			"matches --filter '%s'\n", t->name, a.filter);
		db_target_free(t);
		return DB_EXIT_USAGE;
	}
	if (a.out)
		snprintf(out, sizeof(out), "%s", a.out);
	else
		default_out(out, sizeof(out), t->name);
	if (!a.bin) {
		n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		self[n > 0 ? n : 0] = '\0';
		a.bin = n > 0 ? self : argv[0];
	}
	mo.bin = a.bin;
	mo.out = out;
	mo.progress = !a.quiet && isatty(STDERR_FILENO);
	mo.interrupted = &interrupted;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	err = db_matrix_run(t, &mo, &sum);
	db_target_free(t);
	if (err) {
		fprintf(stderr, "dirtybench bench: %s\n", db_strerror());
		return DB_EXIT_RESOURCE;
	}
	rc = sum.mismatch ? DB_EXIT_VALIDATION :
	     sum.failed || sum.not_run ? DB_EXIT_ABORTED : DB_EXIT_OK;
	dirs[0] = out;
	err = db_runset_load(&rs, dirs, 1);
	if (err) {
		fprintf(stderr, "dirtybench bench: %s\n", db_strerror());
		return rc ? rc : DB_EXIT_RESOURCE;
	}
	db_runset_print_table(rs, stdout, isatty(STDOUT_FILENO));
	printf("%u runs: %u ok, %u RAM mismatch, %u skipped, %u failed, "
	       "%u not run; %.1f s\n", sum.runs, sum.ok, sum.mismatch,
	       sum.skipped, sum.failed, sum.not_run, (double)sum.duration_ns / 1e9);
	printf("runs: %s\n", out);
	fflush(stdout);
	if (!a.no_report) {
		snprintf(html, sizeof(html), "%s/report.html", out);
		err = db_report_write(rs, html, NULL);
		if (err) {
			fprintf(stderr, "dirtybench bench: report: %s\n",
				db_strerror());
			rc = rc ? rc : DB_EXIT_RESOURCE;
		} else {
			printf("report: %s\n", html);
		}
	}
	db_runset_free(rs);
	return rc;
}
