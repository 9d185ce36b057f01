// SPDX-License-Identifier: MIT
/*
 * The result writer on results built by hand: what result.json and the
 * summary say about the run's settings (the engine suites check the
 * figures of real migrations).
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dirtybench/common.h"
#include "dirtybench/tracker.h"
#include "fixture.h"
#include "engine/results.h"
#include "runner/options.h"

/* A completed run's result with the flags the named tracker declares. */
static void make_result(struct db_result *res, const char *tracker)
{
	const struct db_tracker_ops *ops = db_tracker_find(tracker);
	struct db_run_config cfg;

	cr_assert_not_null(ops, "tracker %s is built in", tracker);
	db_run_config_defaults(&cfg);
	snprintf(cfg.tracker, sizeof(cfg.tracker), "%s", tracker);
	db_result_init(res, &cfg, DB_ROLE_SRC);
	db_tracker_flags_str(ops->flags, res->tracker_flags,
			     sizeof(res->tracker_flags));
	res->outcome = DB_OUTCOME_COMPLETED;
}

static char *summary_of(const struct db_result *res)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	cr_assert_not_null(f);
	db_result_print_summary(res, f);
	fclose(f);
	return text;
}

static char *backing_in_json(const struct db_result *res)
{
	char *dir = fx_tmpdir("result"), path[600], *out;
	json_error_t je;
	json_t *j;

	cr_assert_eq(db_result_write(res, dir), 0, "%s", db_strerror());
	snprintf(path, sizeof(path), "%s/result.json", dir);
	j = json_load_file(path, 0, &je);
	cr_assert_not_null(j, "%s", je.text);
	out = strdup(json_string_value(json_object_get(json_object_get(j, "config"),
						       "backing")));
	json_decref(j);
	fx_cleanup(dir);
	return out;
}

/* The summary's "SIZE BACKING," and result.json's config.backing. */
static void check_backing(const struct db_result *res, const char *want)
{
	char *sum = summary_of(res), *b = backing_in_json(res), label[32];

	snprintf(label, sizeof(label), "MiB %s,", want);
	cr_assert(strstr(sum, label), "summary says %s: %s", want, sum);
	cr_assert_str_eq(b, want);
	free(b);
	free(sum);
}

/* kmod-cow maps the RAM from its device: --backing anon did not apply. */
Test(results, ram_a_tracker_provides_is_labelled_tracker)
{
	struct db_result res;
	char *sum;

	make_result(&res, "kmod-cow");
	cr_assert_eq(res.cfg.backing, DB_BACKING_ANON, "the default was asked for");
	cr_assert_eq(db_result_backing(&res), DB_BACKING_TRACKER);
	check_backing(&res, "tracker");
	sum = summary_of(&res);
	cr_assert_null(strstr(sum, "anon"), "summary: %s", sum);
	free(sum);
	db_result_free(&res);
}

Test(results, ram_the_engine_maps_keeps_the_backing_asked_for)
{
	struct db_result res;

	make_result(&res, "uffd-async");
	res.cfg.backing = DB_BACKING_MEMFD;
	cr_assert_eq(db_result_backing(&res), DB_BACKING_MEMFD);
	check_backing(&res, "memfd");
	db_result_free(&res);
}
