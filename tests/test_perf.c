// SPDX-License-Identifier: MIT
/*
 * `dirtybench perf --quick` as a user runs it: the command, not the figures
 * (speed is measured by `make perf`, never asserted). It must finish, write
 * the JSON it promises with a reference beside every figure, and keep its
 * exit-status contract.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dirtybench/common.h"
#include "dirtybench/tracker.h"

static const char *dirtybench(void)
{
	static char path[512];
	const char *dir = getenv("DIRTYBENCH_BIN");

	snprintf(path, sizeof(path), "%s/dirtybench", dir ? dir : "bin");
	if (access(path, X_OK))
		cr_skip_test("%s is not built (make) or DIRTYBENCH_BIN is wrong", path);
	return path;
}

static int run(const char *args)
{
	char cmd[1024];
	int st;

	snprintf(cmd, sizeof(cmd), "%s perf %s >/dev/null 2>&1", dirtybench(), args);
	st = system(cmd);
	cr_assert(WIFEXITED(st), "'%s' ran to its end", cmd);
	return WEXITSTATUS(st);
}

/* Run perf with args and --json; its exit status 0 and the document. */
static json_t *run_json(const char *args)
{
	char json_path[] = "/tmp/dirtybench-perf-XXXXXX", cmd[512];
	json_error_t jerr;
	json_t *root;
	int fd = mkstemp(json_path);

	cr_assert_geq(fd, 0);
	close(fd);
	snprintf(cmd, sizeof(cmd), "%s --json %s", args, json_path);
	cr_assert_eq(run(cmd), 0, "perf %s exits 0", args);
	root = json_load_file(json_path, 0, &jerr);
	unlink(json_path);
	cr_assert(root, "perf wrote valid JSON: %s", jerr.text);
	return root;
}

/* A row with a target says which, how it is judged, pass and margin. */
static void assert_target(json_t *row, const char *id)
{
	json_t *t = json_object_get(row, "target");
	const char *test = json_string_value(json_object_get(t, "test"));
	const char *fig = json_string_value(json_object_get(row, "figure"));
	double margin = json_number_value(json_object_get(row, "margin"));
	const char *verdict;
	json_t *samples;

	cr_assert(json_is_object(t), "%s has a target", fig);
	cr_assert_str_eq(json_string_value(json_object_get(t, "id")), id);
	cr_assert(test && strchr("<r>", test[0]), "%s: test '%s'", fig, test);
	cr_assert(json_is_number(json_object_get(t, "limit")));
	cr_assert(json_is_boolean(json_object_get(row, "pass")), "%s: pass", fig);
	cr_assert(json_is_number(json_object_get(row, "margin")), "%s: margin", fig);
	cr_assert_eq(json_is_true(json_object_get(row, "pass")), margin >= 0,
		     "%s: pass agrees with the margin %g", fig, margin);
	/* repeated samples, and a verdict that is noisy only for a miss */
	verdict = json_string_value(json_object_get(row, "verdict"));
	cr_assert(verdict, "%s: verdict", fig);
	if (json_is_true(json_object_get(row, "pass")))
		cr_assert_str_eq(verdict, "pass", "%s", fig);
	else
		cr_assert(!strcmp(verdict, "short") || !strcmp(verdict, "noisy"),
			  "%s: a miss is short or noisy, not '%s'", fig, verdict);
	samples = json_object_get(row, "samples");
	cr_assert_geq(json_integer_value(json_object_get(samples, "n")), 1, "%s: samples", fig);
	cr_assert_float_eq(json_number_value(json_object_get(samples, "median")),
			   json_number_value(json_object_get(row, "value")),
			   1e-9 * fabs(json_number_value(json_object_get(row, "value"))) + 1e-12,
			   "%s: the value is the median of its samples", fig);
	cr_assert(json_is_string(json_object_get(row, "noise")), "%s: noise", fig);
}

Test(perf, quick_run_writes_json_with_references, .timeout = 120)
{
	json_t *root = run_json("--quick --trackers hash,mprotect"), *rows, *row;
	size_t i, figures = 0, bare = 0, faults = 0;

	cr_assert_eq(json_integer_value(json_object_get(root, "schema")), 1);
	rows = json_object_get(json_array_get(json_object_get(root, "sections"), 0),
			       "rows");
	cr_assert(json_is_array(rows) && json_array_size(rows) > 0,
		  "the trackers section has rows");
	json_array_foreach(rows, i, row) {
		const char *subject = json_string_value(json_object_get(row, "subject"));
		const char *figure = json_string_value(json_object_get(row, "figure"));
		const char *ref = json_string_value(json_object_get(row, "reference"));
		double value = json_number_value(json_object_get(row, "value"));
		double refv = json_number_value(json_object_get(row, "reference_value"));
		double ratio = json_number_value(json_object_get(row, "ratio"));

		cr_assert(subject && (!strcmp(subject, "hash") || !strcmp(subject, "mprotect")),
			  "row %zu measures a tracker asked for", i);
		cr_assert(figure && ref, "row %zu has a figure and a reference", i);
		cr_assert(strstr(figure, "_ns"), "figure %s carries its unit", figure);
		cr_assert_gt(value, 0, "%s %s has a value", subject, figure);
		cr_assert_gt(refv, 0, "%s %s: reference '%s' was measured", subject,
			     figure, ref);
		cr_assert_float_eq(ratio, value / refv, 1e-6 * ratio,
				   "%s %s: ratio is value / reference", subject, figure);
		figures++;
		bare += !strncmp(ref, "bare ", 5) && strstr(figure, "collect");
		if (!strncmp(ref, "bare ", 5) && strcmp(ref, "bare syscall")) {
			/* against the bare mechanism: 1.1 x at most (T3, T4) */
			assert_target(row, strstr(figure, "collect") ? "T3" : "T4");
			faults += !strcmp(figure, "first_write_ns");
		} else {
			cr_assert(json_is_null(json_object_get(row, "target")),
				  "%s %s against %s has no target", subject, figure, ref);
		}
	}
	/* arm, 2 x first write, 4 x (memcpy + bare mechanism) per tracker */
	cr_assert_eq(figures, 2 * 11, "%zu rows for two trackers", figures);
	cr_assert_eq(bare, 2 * 4, "each collect also against its bare mechanism");
	cr_assert_eq(faults, 2, "each first write also against the bare fault");
	json_decref(root);
}

/* The rows of section 'name' in a perf JSON document. */
static json_t *section_rows(json_t *root, const char *name)
{
	json_t *sec;
	size_t i;

	json_array_foreach(json_object_get(root, "sections"), i, sec)
		if (!strcmp(json_string_value(json_object_get(sec, "name")), name))
			return json_object_get(sec, "rows");
	cr_assert_fail("no section %s", name);
	return NULL;
}

Test(perf, transfer_and_memory_rows_carry_their_targets, .timeout = 120)
{
	static const char *const ids[] = { "T1", "T2", "T5", "T6" };
	json_t *root = run_json("--quick --sections transfer,memory");
	json_t *rows, *row, *load, *t;
	size_t i, k, seen[DB_ARRAY_SIZE(ids)] = { 0 };
	const char *id;
	/* the machine's load, for reading the figures later */
	load = json_object_get(root, "load");
	cr_assert_eq(json_array_size(json_object_get(load, "start")), 3);
	cr_assert_eq(json_array_size(json_object_get(load, "end")), 3);
	cr_assert_eq(json_array_size(json_object_get(root, "targets")), 6,
		     "a summary line per target");
	for (k = 0; k < 2; k++) {
		rows = section_rows(root, k ? "memory" : "transfer");
		cr_assert_gt(json_array_size(rows), 0);
		json_array_foreach(rows, i, row) {
			cr_assert(json_is_string(json_object_get(row, "figure")),
				  "%s row %zu (%s): %s", k ? "memory" : "transfer", i,
				  json_string_value(json_object_get(row, "subject")),
				  json_string_value(json_object_get(row, "skipped")));
			cr_assert_gt(json_number_value(json_object_get(row, "value")), -1e12);
			t = json_object_get(row, "target");
			if (json_is_null(t))
				continue;
			id = json_string_value(json_object_get(t, "id"));
			assert_target(row, id);
			if (!strcmp(id, "T1") || (!strcmp(id, "T2") &&
			    strstr(json_string_value(json_object_get(row, "figure")), "_ns")))
				cr_assert(!strncmp(json_string_value(json_object_get(t, "test")),
						   "ratio", 5),
					  "%s %s: a ratio against the same run, not an absolute time", id,
					  json_string_value(json_object_get(row, "figure")));
			for (size_t j = 0; j < DB_ARRAY_SIZE(ids); j++)
				seen[j] += !strcmp(id, ids[j]);
		}
	}
	for (k = 0; k < DB_ARRAY_SIZE(ids); k++)
		cr_assert_gt(seen[k], 0, "a row for target %s", ids[k]);
	cr_assert_geq(seen[1], 3, "T2: time, bytes per zero page, destination RSS");
	cr_assert_geq(seen[2], 3, "T5: peak RSS, heap growth, RSS growth");
	cr_assert_geq(seen[3], 3, "T6: idle, busy, under a bandwidth limit");
	json_decref(root);
}

Test(perf, exit_status_contract, .timeout = 60)
{
	char why[512];

	cr_assert_eq(run("--trackers no-such-tracker"), 2, "unknown tracker: usage");
	cr_assert_eq(run("--sizes 12Q"), 2, "bad size: usage");
	cr_assert_eq(run("--no-such-option"), 2, "unknown option: usage");
	cr_assert_eq(run("--help"), 0, "--help");
	cr_assert_eq(run("--reps 0"), 2, "no measurement at all: usage");
	cr_assert_eq(run("--reps 16"), 2, "more repetitions than a row holds: usage");
	cr_assert_eq(run("--noise-spread loud"), 2, "a spread that is no number: usage");
	cr_assert_eq(run("--quick --trackers faulty"), 2,
		     "faulty without an inner tracker: usage");
	if (db_tracker_find("softdirty")->probe(why, sizeof(why)))
		cr_assert_eq(run("--quick --trackers softdirty"), 3,
			     "a tracker that cannot run here (%s): resource missing",
			     why);
}

Test(perf, migration_section_stands_next_to_the_model, .timeout = 120)
{
	static const char *const figures[] = { "rounds", "bytes_total",
					       "downtime_ns", "total_time_ns" };
	json_t *root = run_json("--quick --sections migration --trackers hash");
	json_t *sec, *rows, *row;
	size_t i;

	sec = json_array_get(json_object_get(root, "sections"), 0);
	cr_assert_str_eq(json_string_value(json_object_get(sec, "name")), "migration");
	rows = json_object_get(sec, "rows");
	cr_assert_eq(json_array_size(rows), DB_ARRAY_SIZE(figures), "one migration's figures");
	json_array_foreach(rows, i, row) {
		const char *ref = json_string_value(json_object_get(row, "reference"));

		cr_assert_str_eq(json_string_value(json_object_get(row, "figure")), figures[i]);
		cr_assert(ref && !strncmp(ref, "model, lambda 0.5", 17), "reference '%s'", ref);
		cr_assert_gt(json_number_value(json_object_get(row, "value")), 0);
		cr_assert_gt(json_number_value(json_object_get(row, "reference_value")), 0,
			     "the model predicted %s", figures[i]);
	}
	json_decref(root);
}

Test(perf, rows_hold_the_repetitions_asked_for, .timeout = 180)
{
	json_t *root = run_json("--reps 3 --sizes 16M --trackers hash --sections trackers");
	json_t *rows, *row, *smp;
	size_t i, checked = 0;

	cr_assert_eq(json_integer_value(json_object_get(root, "reps")), 3);
	rows = section_rows(root, "trackers");
	json_array_foreach(rows, i, row) {
		const char *fig = json_string_value(json_object_get(row, "figure"));
		double med, lo, hi, q1, q3;
		long long n, floor_n;

		if (!fig || strncmp(fig, "collect_ns@", 11))
			continue;
		smp = json_object_get(row, "samples");
		/*
		 * the cheap fractions take at least 7, the others --reps;
		 * more, up to 15, while the row stays within 50 ms
		 */
		n = json_integer_value(json_object_get(smp, "n"));
		floor_n = !strcmp(fig, "collect_ns@0.1%") || !strcmp(fig, "collect_ns@1%") ? 7 : 3;
		cr_assert(n >= floor_n && n <= 15, "%s: %lld samples, not in [%lld, 15]",
			  fig, n, floor_n);
		med = json_number_value(json_object_get(smp, "median"));
		lo = json_number_value(json_object_get(smp, "min"));
		hi = json_number_value(json_object_get(smp, "max"));
		q1 = json_number_value(json_object_get(smp, "q1"));
		q3 = json_number_value(json_object_get(smp, "q3"));
		cr_assert(lo <= q1 && q1 <= med && med <= q3 && q3 <= hi,
			  "%s: min %g <= q1 %g <= median %g <= q3 %g <= max %g", fig, lo,
			  q1, med, q3, hi);
		checked++;
	}
	cr_assert_eq(checked, 8, "four fractions, against memcpy and the bare mechanism");
	json_decref(root);
}
