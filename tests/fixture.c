// SPDX-License-Identifier: MIT
/* Run-set fixtures in the schema 1 format, for the renderer and compare. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "dirtybench/common.h"
#include "base/files.h"
#include "fixture.h"

extern char **environ;

char *fx_tmpdir(const char *what)
{
	char *buf = malloc(512);

	cr_assert_not_null(buf);
	cr_assert_eq(db_mkdtemp(buf, 512, what), 0, "%s", db_strerror());
	return buf;
}

void fx_cleanup(char *dir)
{
	if (dir && !getenv("DIRTYBENCH_KEEP_TEST_DIRS"))
		db_rm_rf(dir);
	free(dir);
}

char *fx_read(const char *path)
{
	char *text;

	cr_assert_eq(db_slurp(path, 256u << 20, &text, NULL), 0, "%s",
		     db_strerror());
	return text;
}

size_t fx_count(const char *hay, const char *needle)
{
	size_t n = 0, l = strlen(needle);

	while ((hay = strstr(hay, needle))) {
		n++;
		hay += l;
	}
	return n;
}

static void write_text(const char *path, const char *text)
{
	cr_assert_eq(db_write_atomic(path, text, strlen(text)), 0, "%s",
		     db_strerror());
}

/*
 * Rounds shaped like pre-copy: round 0 sends all 8192 pages, each later
 * round a fraction of the one before, the last one the stop-and-copy.
 */
static void write_rounds(const char *dir, const struct fx_run *r)
{
	char path[600], row[256];
	double pages = 8192, t = 0, total_ns = r->total_s * 1e9;
	double step = total_ns / (r->rounds > 0 ? r->rounds : 1);
	FILE *f;
	int i;

	snprintf(path, sizeof(path), "%s/rounds.csv", dir);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fprintf(f, "round,start_at_ns,dirty_pages,sent_pages,zero_pages,bytes,"
		"collect_ns,send_ns,duration_ns,dirty_rate_pps,bandwidth_bps,"
		"remaining_pages\n");
	for (i = 0; i < r->rounds; i++) {
		double sent = pages, remaining = r->converged ?
				pages * 0.3 : pages * 0.95;

		if (i == r->rounds - 1)
			remaining = 0;
		snprintf(row, sizeof(row), "%d,%.0f,%.0f,%.0f,0,%.0f,20000,%.0f,"
			 "%.0f,%.0f,%.0f,%.0f\n", i, t, pages, sent, sent * 4096,
			 step * 0.9, step, remaining / (step / 1e9),
			 sent * 4096 * 8 / (step / 1e9), remaining);
		fputs(row, f);
		t += step;
		pages = remaining > 1 ? remaining : 1;
	}
	fclose(f);
}

static void write_samples(const char *dir, const struct fx_run *r)
{
	char path[600];
	FILE *f;
	int i;

	snprintf(path, sizeof(path), "%s/samples.csv", dir);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fprintf(f, "t_ns,src_cpu_pct,dst_cpu_pct,vcpu_cpu_pct,src_rss_bytes,"
		"dst_rss_bytes,pgfault,thp_split_page,tc_sent_bytes,tc_dropped\n");
	for (i = 0; i <= 20; i++)
		fprintf(f, "%.0f,%.1f,%.1f,%.1f,%d,%d,%d,0,,\n",
			r->total_s * 1e9 * i / 20, 40.0 + i, 20.0 + i / 2.0,
			90.0 - i, (40 + i) << 20, (8 + 2 * i) << 20, 100 * i);
	fclose(f);
}

void fx_write_run(const char *dir, const struct fx_run *r)
{
	double downtime_ns = r->downtime_ms * 1e6, total_ns = r->total_s * 1e9;
	char path[600];
	json_t *j;
	char *text;

	cr_assert_eq(db_mkdir_p(dir), 0, "%s", db_strerror());
	j = json_pack("{s:i, s:s, s:s, s:s, s:{s:s, s:i}}",
		      "schema", 1, "dirtybench_version", "0.1.0",
		      "scenario", r->scenario, "started_at", "2026-11-22T05:00:00Z",
		      "host", "kernel", "6.18.0-test", "cpus", 2);
	json_object_set_new(j, "config", json_pack(
		"{s:s, s:s, s:I, s:i, s:{s:s, s:I, s:I, s:I, s:s, s:i},"
		" s:I, s:i, s:s, s:i, s:i, s:s, s:s, s:i}",
		"tracker", r->tracker, "backing", "anon",
		"ram_bytes", (json_int_t)(32 << 20), "page_size_bytes", 4096,
		"workload", "spec", "dirtyram", "total_pages", (json_int_t)8192,
		"dirty_pages", (json_int_t)(r->rate_pps / 100),
		"period_ms", (json_int_t)10, "pattern", "seq", "copies", 1,
		"bandwidth_limit_bps", (json_int_t)400000000,
		"downtime_limit_ms", 50, "stop", "downtime", "max_rounds", 20,
		"max_time_s", 6, "on_timeout", "force", "link", "loopback",
		"seed", 1));
	json_object_set_new(j, "summary", json_pack(
		"{s:s, s:b, s:b, s:s, s:s, s:i, s:[], s:i, s:b, s:s, s:f, s:f,"
		" s:f, s:f, s:f, s:f, s:f, s:i, s:f, s:i}",
		"outcome", r->outcome ? r->outcome :
			r->ram_equal ? "completed" : "validation_failed",
		"ram_equal", r->ram_equal, "verified", !r->outcome,
		"checksum_src", "0123456789abcdef0123456789abcdef",
		"checksum_dst", r->ram_equal ? "0123456789abcdef0123456789abcdef" :
			"fedcba9876543210fedcba9876543210",
		"mismatched_pages", r->ram_equal ? 0 : 3, "mismatched_first",
		"rounds", r->rounds, "converged", r->converged,
		"stop_reason", r->stop_reason ? r->stop_reason :
			r->converged ? "downtime" : "time-force",
		"total_time_ns", total_ns, "downtime_ns", downtime_ns,
		"paused_at_ns", total_ns - downtime_ns,
		"resumed_at_ns", total_ns, "guest_stall_ns", downtime_ns * 1.2,
		"bytes_total", 8192.0 * 4096 * r->rounds * 0.6,
		"pages_sent", 8192.0 * r->rounds * 0.6, "zero_pages", 0,
		"bandwidth_measured_bps", 3.9e8, "snapshot_violations", 0));
	/* the stall 20% above the downtime: the result says why */
	json_object_set_new(json_object_get(j, "summary"), "stall_probe", json_pack(
		"{s:f, s:s, s:s}", "longest_gap_ns", downtime_ns * 1.2,
		"longest_gap_where", "switchover", "note",
		"the guest's last reading came 4.000 ms before the pause"));
	json_object_set_new(j, "tracker", json_pack("{s:s, s:s, s:i}", "name",
		r->tracker, "flags", "exact", "granularity_bytes", 4096));
	json_object_set_new(j, "workload", json_pack("{s:f, s:f}",
		"target_pps", r->rate_pps, "achieved_pps", r->rate_pps * 0.9));
	json_object_set_new(j, "model", json_pack("{s:f, s:b, s:f, s:f, s:f}",
		"lambda", r->rate_pps / 12207.0, "converges", r->converged,
		"predicted_rounds", r->rounds - 1.0,
		"predicted_bytes_total", 8192.0 * 4096 * 1.5,
		"predicted_downtime_ns", downtime_ns * 0.8));
	json_object_set_new(j, "rounds", json_array());
	json_object_set_new(j, "error", r->outcome ?
			    json_string("interrupted by a signal") :
			    r->ram_equal ? json_null() :
			    json_string("3 pages differ"));
	text = json_dumps(j, JSON_INDENT(2));
	snprintf(path, sizeof(path), "%s/result.json", dir);
	write_text(path, text);
	free(text);
	json_decref(j);
	write_rounds(dir, r);
	if (r->samples)
		write_samples(dir, r);
}

void fx_runset(const char *root, const char *target,
	       const struct fx_run *runs, size_t n, const char *skipped_name,
	       const char *skipped_reason)
{
	json_t *idx = json_pack("{s:i, s:s, s:s, s:s, s:f, s:s, s:{s:s, s:i}, s:b}",
				"schema", 1, "kind", "dirtybench-bench",
				"target", target, "description", "fixture",
				"scale", 1.0, "started_at", "2026-11-22T05:00:00Z",
				"host", "kernel", "6.18.0-test", "cpus", 2,
				"complete", 1);
	json_t *scs = json_array(), *sc = NULL;
	char dir[700], rel[400], path[600];
	const char *last = "";
	char *text;
	size_t i;

	for (i = 0; i < n; i++) {
		const struct fx_run *r = &runs[i];
		const char *st = r->status ? r->status :
				 r->ram_equal ? "ok" : "mismatch";

		if (strcmp(last, r->scenario)) {
			sc = json_pack("{s:s, s:s, s:s, s:s, s:f, s:i, s:s, s:s, s:[]}",
				       "name", r->scenario, "group", r->group,
				       "tracker", r->tracker, "rate", r->rate,
				       "rate_pps", r->rate_pps, "repetitions", 1,
				       "status", "ran", "reason", "", "runs");
			json_array_append_new(scs, sc);
			last = r->scenario;
		}
		snprintf(rel, sizeof(rel), "%s/rep%d", r->scenario, r->rep);
		json_array_append_new(json_object_get(sc, "runs"), json_pack(
			"{s:i, s:s, s:i, s:s, s:s, s:i}", "rep", r->rep, "dir", rel,
			"exit", 0, "status", st, "message",
			r->message ? r->message : "", "duration_ns", 1000000));
		if (r->status && strcmp(r->status, "ok") &&
		    strcmp(r->status, "mismatch") && !r->outcome)
			continue;	/* no result for a failed run */
		snprintf(dir, sizeof(dir), "%s/%s", root, rel);
		fx_write_run(dir, r);
	}
	if (skipped_name)
		json_array_append_new(scs, json_pack(
			"{s:s, s:s, s:s, s:s, s:f, s:s, s:s, s:[]}",
			"name", skipped_name, "group", runs[0].group,
			"tracker", "kmod-cow", "rate", "idle", "rate_pps", 0.0,
			"status", "skipped", "reason", skipped_reason, "runs"));
	json_object_set_new(idx, "scenarios", scs);
	text = json_dumps(idx, JSON_INDENT(1));
	snprintf(path, sizeof(path), "%s/bench.json", root);
	cr_assert_eq(db_mkdir_p(root), 0);
	write_text(path, text);
	free(text);
	json_decref(idx);
}

int fx_run_cmd(const char *const argv[], const char *out_path, int timeout_s)
{
	posix_spawn_file_actions_t fa;
	uint64_t t0 = db_now_ns();
	int st = 0, err;
	pid_t pid;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, out_path ? out_path : "/dev/null",
					 O_WRONLY | O_CREAT | O_TRUNC, 0644);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	err = posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv,
			   environ);
	posix_spawn_file_actions_destroy(&fa);
	if (err)
		return -1;
	while (waitpid(pid, &st, WNOHANG) == 0) {
		if (db_now_ns() - t0 > (uint64_t)timeout_s * 1000000000ull) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			return -1;
		}
		db_sleep_ns(20000000);
	}
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return WEXITSTATUS(st);
}

bool fx_have(const char *prog)
{
	return db_in_path(prog);
}

void fx_build_dir(char *out, size_t len)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	cr_assert(n > 0, "readlink /proc/self/exe: %s", strerror(errno));
	exe[n] = '\0';
	snprintf(out, len, "%s", dirname(exe));
}
