// SPDX-License-Identifier: MIT
/*
 * Bench targets: the shipped files parse, matrices expand into the runs a
 * user expects, bad files name file, line and key, filters select, and the
 * matrix runner survives runs that fail, crash or hang.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "dirtybench/common.h"
#include "dirtybench/tracker.h"
#include "base/files.h"
#include "fixture.h"
#include "runner/matrix.h"
#include "runner/target.h"

static struct db_target *parse_ok(const char *text, const char *filter)
{
	struct db_target_opts o = { .filter = filter };
	struct db_target *t;

	cr_assert_eq(db_target_parse(&t, text, "t.ini", "t", &o), 0,
		     "parse: %s", db_strerror());
	return t;
}

/* Parse a bad file; the message must name file:line and the key. */
static void parse_bad(const char *text, const char *where, const char *why)
{
	struct db_target *t = NULL;

	cr_assert_eq(db_target_parse(&t, text, "bad.ini", "bad", NULL), -EINVAL,
		     "'%s' should fail", text);
	cr_assert_null(t);
	cr_assert(strstr(db_strerror(), where), "'%s' not in: %s", where,
		  db_strerror());
	cr_assert(strstr(db_strerror(), why), "'%s' not in: %s", why,
		  db_strerror());
}

static const struct db_scenario *find(const struct db_target *t,
				      const char *name)
{
	size_t i;

	for (i = 0; i < t->nsc; i++)
		if (!strcmp(t->sc[i].name, name))
			return &t->sc[i];
	cr_assert_fail("no scenario %s", name);
	return NULL;
}

Test(targets, shipped_targets_parse)
{
	static const char *const names[] = { "host", "ci", "exynos" };
	struct db_target *t;
	size_t i;

	for (i = 0; i < DB_ARRAY_SIZE(names); i++) {
		cr_assert_eq(db_target_load(&t, names[i], NULL), 0, "%s: %s",
			     names[i], db_strerror());
		cr_assert_gt(t->nsc, 0);
		cr_assert(t->description[0]);
		db_target_free(t);
	}
}

Test(targets, builtin_host_is_the_shipped_file)
{
	char *file = fx_read("bench/targets/host.ini");

	cr_assert_str_eq(db_target_host_ini, file,
			 "lib/target_host.c must be regenerated from "
			 "bench/targets/host.ini");
	free(file);
}

Test(targets, host_picks_the_best_three_available)
{
	struct db_target *t;
	char why[256];
	size_t i, n = 0;

	cr_assert_eq(db_target_parse(&t, db_target_host_ini, "(built in)",
				     "host", NULL), 0, "%s", db_strerror());
	/* three rates per tracker, every tracker available here */
	cr_assert_eq(t->nsc % 3, 0);
	cr_assert_leq(t->nsc, 9);
	for (i = 0; i < t->nsc; i++) {
		const struct db_tracker_ops *ops =
			db_tracker_find(t->sc[i].value[DB_TK_TRACKER]);

		cr_assert_not_null(ops, "%s", t->sc[i].name);
		cr_assert_eq(ops->probe(why, sizeof(why)), 0, "%s", why);
		cr_assert_str_empty(t->sc[i].skip);
		n += !strcmp(t->sc[i].rate_label, "idle");
	}
	cr_assert_eq(n, t->nsc / 3, "idle, and two rates above it");
	cr_assert_eq(t->sc[2].rate_pps, 51200);
	db_target_free(t);
}

Test(targets, matrix_expands_axes_and_names)
{
	struct db_target *t = parse_ok(
		"[target]\nram = 64M\nbandwidth = 1gbit\nrepetitions = 2\n"
		"tracker = hash, nosuch\n"
		"[matrix m]\ncopies = 1, 2\nrate = idle, 64x10, 1000 100 5\n", NULL);
	const struct db_scenario *s;

	cr_assert_eq(t->nsc, 2 * 2 * 3);
	s = find(t, "t/c2/hash/64x10");
	cr_assert_str_eq(s->group, "t/c2");
	cr_assert_eq(s->copies, 2);
	cr_assert_eq(s->total_pages, 16384 / 2, "a copy's share of the RAM");
	cr_assert_eq(s->dirty_pages, 64);
	cr_assert_eq(s->period_ms, 10);
	cr_assert_eq(s->rate_pps, 2 * 6400);
	cr_assert_eq(s->repetitions, 2);
	s = find(t, "t/c1/hash/1000-100-5");
	cr_assert_eq(s->total_pages, 1000);
	cr_assert_eq(s->rate_pps, 20000);
	s = find(t, "t/c1/nosuch/idle");
	cr_assert(strstr(s->skip, "nosuch is not built into"), "%s", s->skip);
	db_target_free(t);
}

Test(targets, run_options_follow_the_key_table)
{
	struct db_target *t = parse_ok(
		"[target]\ntracker = hash\nram = 64M\nbacking = anon\n"
		"bandwidth = 200mbit\nlink = netns\ndowntime_limit = 0.3s\n"
		"stop = rounds:5\nmax_time = 2m\non_timeout = cancel\n"
		"rate = 100 10 5\n", NULL);
	char **argv = db_scenario_argv(&t->sc[0], "/bin/db", "/o/x");
	char line[512] = "";
	size_t i;

	for (i = 0; argv[i]; i++) {
		strcat(line, argv[i]);
		strcat(line, " ");
	}
	cr_assert_str_eq(line, "/bin/db run --out /o/x --scenario t/hash/100-10-5 --progress "
			 "--tracker hash --backing anon --ram 64M "
			 "--bandwidth 200mbit --link netns --downtime-limit 300 "
			 "--stop rounds:5 --max-time 120 --on-timeout cancel "
			 "--workload dirtyram:pages=100,dirty=10,period=5 ");
	cr_assert_eq(t->sc[0].timeout_s, 180, "max_time + 60 s");
	db_argv_free(argv);
	db_target_free(t);

	t = parse_ok("[target]\ntracker = hash\nram = 64M\ncopies = 2\n"
		     "pattern = hotset:0.25\nrate = 64x10\n", NULL);
	argv = db_scenario_argv(&t->sc[0], "db", "o");
	cr_assert_str_eq(argv[11], "--workload");
	cr_assert_str_eq(argv[12], "dirtyram:pages=8192,dirty=64,period=10,"
			 "pattern=hotset:0.25,threads=2", "each copy owns its share");
	cr_assert_null(argv[13]);
	db_argv_free(argv);
	db_target_free(t);
}

Test(targets, bad_files_name_file_line_and_key)
{
	parse_bad("[target]\nrate = idle\nram = 12Q\n", "bad.ini:3: key 'ram'",
		  "12Q");
	parse_bad("[target]\nrate = idle\n\n; c\nramm = 1G\n",
		  "bad.ini:5: key 'ramm'", "unknown key");
	parse_bad("[target]\nrate = 5x\n", "bad.ini:2: key 'rate'", "not a rate");
	parse_bad("[target]\nrate = idle\nrepetitions = 2\nrepetitions = 3\n",
		  "bad.ini:4: key 'repetitions'", "given twice (first on line 3)");
	parse_bad("[target]\nrate = idle\n[matrix a]\ncopies = 1,,2\n",
		  "bad.ini:4: key 'copies'", "empty item");
	parse_bad("[target]\nrate = idle\n[matrix a]\ncopies = 0\n",
		  "bad.ini:4: key 'copies'", "");
	parse_bad("[target]\nrate = idle\n[matrix a]\nlink = wifi\n",
		  "bad.ini:4: key 'link'", "loopback, netns");
	parse_bad("[targte]\nrate = idle\n", "bad.ini:2:", "section [targte]");
	parse_bad("[target]\nrate = idle\nthis is not a pair\n", "bad.ini:3:",
		  "not 'key = value'");
	parse_bad("[target]\nram = 1G\n", "bad.ini", "nothing to run");
	parse_bad("[target]\nrate = idle\n[matrix a]\ndescription = x\n",
		  "bad.ini:4: key 'description'", "belongs in [target]");
	parse_bad("[target]\nrate = idle\nstop = sometimes\n",
		  "bad.ini:3: key 'stop'", "stop policy");
	parse_bad("[target]\nrate = idle\npattern = zipf\n",
		  "bad.ini:3: key 'pattern'", "not a pattern");
	parse_bad("[target]\nrate = idle\ntracker = best:0 hash\n",
		  "bad.ini:3: key 'tracker'", "best:N");
}

Test(targets, long_lines_and_continued_lists)
{
	char text[600];
	struct db_target *t;

	snprintf(text, sizeof(text), "[target]\ntracker = hash\n"
		 "rate = idle,\n   64x10,\n   128x10\ndescription = %0300d\n", 0);
	parse_bad(text, "bad.ini:6:", "longer than");
	t = parse_ok("[target]\ntracker = hash\nrate = idle,\n   64x10,\n"
		     "   128x10\n", NULL);
	cr_assert_eq(t->nsc, 3, "a list continues on indented lines");
	db_target_free(t);
}

Test(targets, filter_selects_by_name)
{
	struct db_target *t = parse_ok(
		"[target]\ntracker = hash, nosuch\nrate = idle, 64x10, 512x10\n",
		"hash/.*x10$");
	struct db_target_opts o = { .filter = "([" };

	cr_assert_eq(t->nsc, 2);
	cr_assert_str_eq(t->sc[0].name, "t/hash/64x10");
	cr_assert_str_eq(t->sc[1].name, "t/hash/512x10");
	db_target_free(t);
	cr_assert_eq(db_target_parse(&t, "[target]\nrate = idle\n", "t.ini", "t",
				     &o), -EINVAL);
	cr_assert(strstr(db_strerror(), "--filter"), "%s", db_strerror());
}

Test(targets, exynos_matrix_and_scale)
{
	struct db_target_opts o = { .scale = 0.1 };
	struct db_target *t;
	const struct db_scenario *s;

	cr_assert_eq(db_target_load(&t, "exynos", NULL), 0, "%s", db_strerror());
	cr_assert_eq(t->nsc, 3 * 4 * 5, "3 trackers x 1-4 copies x 5 rates");
	s = find(t, "exynos/c1/stage2-lazy/102580-812-30");
	cr_assert_eq(s->ram_bytes, 1792ull << 20);
	cr_assert_str_eq(s->value[DB_TK_LINK], "netns");
	cr_assert_str_eq(s->value[DB_TK_DOWNTIME], "300");
	cr_assert_str_eq(s->value[DB_TK_BANDWIDTH], "1gbit");
	s = find(t, "exynos/c4/stage2-eager/102580-812-30");
	cr_assert_eq(s->copies, 4);
	s = find(t, "exynos/c2/stage2-eager/409600-8192-5");
	cr_assert(strstr(s->skip, "do not fit") || strstr(s->skip, "stage2"),
		  "%s", s->skip);
	db_target_free(t);

	cr_assert_eq(db_target_load(&t, "exynos", &o), 0, "%s", db_strerror());
	s = find(t, "exynos/c1/stage2-lazy/409600-8192-5");
	cr_assert_eq(s->ram_bytes, 178ull << 20, "1792M x 0.1, whole 2 MiB");
	cr_assert_eq(s->total_pages, 40960);
	cr_assert_eq(s->dirty_pages, 8192, "the dirty rate stays");
	cr_assert_eq(s->period_ms, 5);
	cr_assert_str_eq(s->value[DB_TK_MAX_TIME], "6");
	db_target_free(t);
}

Test(targets, copies_that_do_not_fit_are_skipped)
{
	struct db_target *t = parse_ok("[target]\ntracker = hash\nram = 16M\n"
				       "copies = 1, 2\nrate = 4096 1 10\n", NULL);

	cr_assert_str_empty(find(t, "t/c1/hash/4096-1-10")->skip);
	cr_assert(strstr(find(t, "t/c2/hash/4096-1-10")->skip,
			 "2 copies x 4096 pages (32 MiB) do not fit in 16 MiB"),
		  "%s", find(t, "t/c2/hash/4096-1-10")->skip);
	db_target_free(t);
}

Test(targets, unknown_target_says_where_it_looked)
{
	struct db_target *t;

	cr_assert_eq(db_target_load(&t, "nosuchtarget", NULL), -ENOENT);
	cr_assert(strstr(db_strerror(), "bench/targets/nosuchtarget.ini"), "%s",
		  db_strerror());
	cr_assert_eq(db_target_load(&t, "..", NULL), -EINVAL);
}

/* ---- the matrix runner --------------------------------------------------- */

static const char *write_script(const char *dir, const char *body)
{
	static char path[600];
	char text[1024];

	snprintf(path, sizeof(path), "%s/fake-run.sh", dir);
	snprintf(text, sizeof(text), "#!/bin/sh\n%s\n", body);
	cr_assert_eq(db_write_atomic(path, text, strlen(text)), 0);
	chmod(path, 0755);
	return path;
}

static json_t *run_matrix(const char *dir, const char *bin, const char *ini,
			  struct db_matrix_summary *sum)
{
	struct db_matrix_opts mo = { .bin = bin, .out = dir };
	struct db_target *t = parse_ok(ini, NULL);
	char path[700];
	json_error_t je;
	json_t *j;

	cr_assert_eq(db_matrix_run(t, &mo, sum), 0, "%s", db_strerror());
	db_target_free(t);
	snprintf(path, sizeof(path), "%s/bench.json", dir);
	j = json_load_file(path, 0, &je);
	cr_assert_not_null(j, "bench.json: %s", je.text);
	cr_assert(json_is_true(json_object_get(j, "complete")));
	return j;
}

static const char *run_field(json_t *j, size_t sc, size_t run, const char *k)
{
	json_t *s = json_array_get(json_object_get(j, "scenarios"), sc);

	if (!run)
		return json_string_value(json_object_get(s, k));
	return json_string_value(json_object_get(
		json_array_get(json_object_get(s, "runs"), run - 1), k));
}

/*
 * Each scenario runs as its own process: one that crashes, one that
 * hangs past its timeout and one that cannot run here do not stop the
 * others, and each one's status is recorded.
 */
Test(targets, runner_isolates_crashes_hangs_and_skips)
{
	char *dir = fx_tmpdir("matrix"), out[600];
	const char *bin = write_script(dir,
		"case \"$*\" in\n"
		"*crash*) kill -SEGV $$ ;;\n"
		"*hang*) exec sleep 30 ;;\n"
		"*cannot*) echo 'tracker x cannot run here: no module' >&2; exit 3 ;;\n"
		"*) mkdir -p \"$3\" && echo ran > \"$3/ok\"; exit 0 ;;\n"
		"esac");
	struct db_matrix_summary sum;
	struct stat st;
	json_t *j;

	snprintf(out, sizeof(out), "%s/out", dir);
	j = run_matrix(out, bin, "[target]\ntimeout = 1\nrepetitions = 2\n"
		       "tracker = hash\n[matrix crash]\nrate = idle\n"
		       "[matrix hang]\nrate = idle\n[matrix cannot]\nrate = idle\n"
		       "[matrix fine]\nrate = idle\n", &sum);
	cr_assert_eq(sum.runs, 8);
	cr_assert_eq(sum.ok, 2);
	cr_assert_eq(sum.skipped, 2);
	cr_assert_eq(sum.failed, 4);
	cr_assert_str_eq(run_field(j, 0, 1, "status"), "crashed");
	cr_assert(strstr(run_field(j, 0, 1, "message"), "signal 11"));
	cr_assert_str_eq(run_field(j, 1, 2, "status"), "timeout");
	cr_assert_str_eq(run_field(j, 2, 0, "status"), "skipped");
	cr_assert_str_eq(run_field(j, 2, 0, "reason"),
			 "tracker x cannot run here: no module");
	cr_assert_str_eq(run_field(j, 3, 0, "status"), "ran");
	snprintf(out, sizeof(out), "%s/out/t/fine/hash/idle/rep2/ok", dir);
	cr_assert_eq(stat(out, &st), 0, "the run got its own --out directory");
	json_decref(j);
	fx_cleanup(dir);
}

/*
 * The real path: `dirtybench bench` runs `dirtybench run` children, the
 * report draws their results and compare judges the set against itself.
 */
Test(targets, bench_runs_real_migrations_end_to_end)
{
	const char *bin = getenv("DIRTYBENCH_BIN");
	char *dir = fx_tmpdir("e2e"), path[700], ini[700], exe[600], log[700];
	const char *help[] = { exe, "run", "--help", NULL };
	const char *bench[] = { exe, "bench", "--target", ini, "--out", path,
				"--quiet", NULL };
	const char *cmp[] = { exe, "compare", "--baseline", path, path, NULL };
	static const char target[] =
		"[target]\ndescription = end to end\ntracker = best:2 uffd-async "
		"uffd-wp mprotect hash\nram = 8M\nbandwidth = 200mbit\n"
		"downtime_limit = 20ms\nmax_time = 2s\nmax_rounds = 8\n"
		"rate = idle, 1024x5\n";
	char *text;

	snprintf(exe, sizeof(exe), "%s/dirtybench", bin ? bin : "bin");
	snprintf(log, sizeof(log), "%s/log", dir);
	if (fx_run_cmd(help, log, 30) != 0) {
		fx_cleanup(dir);
		cr_skip_test("this dirtybench has no run command yet (the "
			     "migration engine is not merged)");
	}
	snprintf(ini, sizeof(ini), "%s/tiny.ini", dir);
	cr_assert_eq(db_write_atomic(ini, target, strlen(target)), 0);
	snprintf(path, sizeof(path), "%s/set", dir);
	cr_assert_eq(fx_run_cmd(bench, log, 120), 0, "bench (log %s)", log);
	text = fx_read(log);
	cr_assert(strstr(text, "4 runs: 4 ok"), "%s", text);
	/* not a terminal: the table, the counts and the paths, report last */
	cr_assert(!strncmp(text, "   scenario ", 12), "the table first:\n%s", text);
	cr_assert(strstr(text, "ram_equal") && strstr(text, "guest stall"));
	cr_assert_eq(fx_count(text, "\n   tiny/"), 4, "a row per scenario:\n%s",
		     text);
	cr_assert_eq(fx_count(text, " yes        ok\n"), 4, "%s", text);
	cr_assert_null(strstr(text, "!!"), "nothing in trouble:\n%s", text);
	cr_assert_null(strchr(text, '\033'), "no colour in a log");
	cr_assert(strstr(text, "report: ") && !strchr(strstr(text, "report: "),
		  '\n')[1], "the report path is the last line:\n%s", text);
	cr_assert_eq(fx_count(text, "\n"), 1 + 4 + 3, "nothing else:\n%s", text);
	free(text);
	snprintf(log, sizeof(log), "%s/set/tiny/uffd-async/idle/rep1/samples.csv",
		 dir);
	text = fx_read(log);
	cr_assert(!strncmp(text, "t_ns,src_cpu_pct,", 17), "every run is sampled");
	free(text);
	snprintf(log, sizeof(log), "%s/set/tiny/uffd-async/1024x5/rep1/result.json",
		 dir);
	text = fx_read(log);
	cr_assert(strstr(text, "\"scenario\": \"tiny/uffd-async/1024x5\""), "%s",
		  text);
	cr_assert(strstr(text, "\"ram_equal\": true"));
	free(text);
	snprintf(log, sizeof(log), "%s/set/report.html", dir);
	text = fx_read(log);
	cr_assert_geq(fx_count(text, "<svg"), 1 + 4, "matrix and timelines");
	cr_assert_eq(fx_count(text, "class=\"ok\">equal"), 4);
	free(text);
	snprintf(log, sizeof(log), "%s/cmp.log", dir);
	cr_assert_eq(fx_run_cmd(cmp, log, 60), 0, "against itself: no regression");
	fx_cleanup(dir);
}
