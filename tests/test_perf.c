// SPDX-License-Identifier: MIT
/*
 * `dirtybench perf --quick` as a user runs it: the command, not the figures
 * (speed is measured by `make perf`, never asserted). It must finish, write
 * the JSON it promises with a reference beside every figure, and keep its
 * exit-status contract.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

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

Test(perf, quick_run_writes_json_with_references, .timeout = 120)
{
	char json_path[] = "/tmp/dirtybench-perf-XXXXXX", args[256];
	json_error_t jerr;
	json_t *root, *rows, *row;
	size_t i, figures = 0, bare = 0;
	int fd = mkstemp(json_path);

	cr_assert_geq(fd, 0);
	close(fd);
	snprintf(args, sizeof(args), "--quick --trackers hash,mprotect --json %s",
		 json_path);
	cr_assert_eq(run(args), 0, "perf --quick exits 0");
	root = json_load_file(json_path, 0, &jerr);
	unlink(json_path);
	cr_assert(root, "perf wrote valid JSON: %s", jerr.text);
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
	}
	/* arm, first write, 4 x (memcpy + bare mechanism) per tracker */
	cr_assert_eq(figures, 2 * 10, "%zu rows for two trackers", figures);
	cr_assert_eq(bare, 2 * 4, "each collect also against its bare mechanism");
	json_decref(root);
}

Test(perf, exit_status_contract, .timeout = 60)
{
	char why[512];

	cr_assert_eq(run("--trackers no-such-tracker"), 2, "unknown tracker: usage");
	cr_assert_eq(run("--sizes 12Q"), 2, "bad size: usage");
	cr_assert_eq(run("--no-such-option"), 2, "unknown option: usage");
	cr_assert_eq(run("--help"), 0, "--help");
	cr_assert_eq(run("--quick --trackers faulty"), 2,
		     "faulty without an inner tracker: usage");
	if (db_tracker_find("softdirty")->probe(why, sizeof(why)))
		cr_assert_eq(run("--quick --trackers softdirty"), 3,
			     "a tracker that cannot run here (%s): resource missing",
			     why);
}
