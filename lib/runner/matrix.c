// SPDX-License-Identifier: MIT
/* The matrix runner: one child process per run, bench.json kept current. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "config.h"
#include "dirtybench/common.h"
#include "base/files.h"
#include "runner/matrix.h"
#include "base/re.h"

extern char **environ;

static const char *const status_names[] = {
	[DB_RUN_OK] = "ok",
	[DB_RUN_MISMATCH] = "mismatch",
	[DB_RUN_ERROR] = "error",
	[DB_RUN_SKIPPED] = "skipped",
	[DB_RUN_ABORTED] = "aborted",
	[DB_RUN_CRASHED] = "crashed",
	[DB_RUN_TIMEOUT] = "timeout",
	[DB_RUN_NOT_RUN] = "not-run",
};

const char *db_run_status_name(enum db_run_status s)
{
	return (unsigned)s < DB_ARRAY_SIZE(status_names) ? status_names[s] : "?";
}

enum db_run_status db_run_status_of(int wstatus, bool timed_out)
{
	if (timed_out)
		return DB_RUN_TIMEOUT;
	if (!WIFEXITED(wstatus))
		return DB_RUN_CRASHED;
	switch (WEXITSTATUS(wstatus)) {
	case DB_EXIT_OK: return DB_RUN_OK;
	case DB_EXIT_VALIDATION: return DB_RUN_MISMATCH;
	case DB_EXIT_USAGE: return DB_RUN_ERROR;
	case DB_EXIT_RESOURCE: return DB_RUN_SKIPPED;
	case DB_EXIT_ABORTED: return DB_RUN_ABORTED;
	default: return DB_RUN_CRASHED;
	}
}

static void iso_time(char *buf, size_t len)
{
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static char *fmt_clock(uint64_t ns, char *buf, size_t len)
{
	uint64_t s = ns / 1000000000ull;

	if (s >= 3600)
		snprintf(buf, len, "%llu:%02llu:%02llu",
			 (unsigned long long)(s / 3600),
			 (unsigned long long)(s / 60 % 60),
			 (unsigned long long)(s % 60));
	else
		snprintf(buf, len, "%llu:%02llu", (unsigned long long)(s / 60),
			 (unsigned long long)(s % 60));
	return buf;
}

/* The last non-empty line of a log (the child's error, if any). */
static void last_line(const char *path, char *out, size_t len)
{
	char *text, *end, *start;
	size_t n;

	out[0] = '\0';
	if (db_slurp(path, 16u << 20, &text, &n))
		return;
	end = text + n;
	while (end > text && (end[-1] == '\n' || end[-1] == '\r' ||
			      end[-1] == ' '))
		end--;
	*end = '\0';
	start = strrchr(text, '\n');
	start = start ? start + 1 : text;
	snprintf(out, len, "%s", start);
	free(text);
}

/*
 * The round a run is in and the dirty pages it sends, from the last
 * progress line in its log ("round 3: 812 dirty, ...", run --progress).
 */
static void peek_rounds(struct db_re *re, const char *log, unsigned *round,
			unsigned long long *remaining)
{
	struct db_re_cap cap[3];
	char buf[4096];
	size_t pos = 0, len;
	ssize_t n;
	off_t size;
	int fd = open(log, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	size = lseek(fd, 0, SEEK_END);
	n = pread(fd, buf, sizeof(buf) - 1, size > (off_t)sizeof(buf) - 1 ?
		  size - (off_t)sizeof(buf) + 1 : 0);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	len = (size_t)n;
	while (db_re_match(re, buf, len, pos, cap, 3) == 1) {
		*round = (unsigned)db_re_cap_u64(buf, cap, 1);
		*remaining = db_re_cap_u64(buf, cap, 2);
		pos = (size_t)cap[0].eo;
	}
}

struct runner {
	const struct db_target *t;
	const struct db_matrix_opts *o;
	struct db_matrix_summary *sum;
	json_t *root, *scenarios;
	char index[PATH_MAX];
	uint64_t t0;
	unsigned total_runs, done_runs;
	uint64_t done_ns;
	size_t sc_i;
	struct db_re *progress_re;
};

static int save_index(struct runner *r, bool complete)
{
	char *text;
	int err;

	json_object_set_new(r->root, "complete", json_boolean(complete));
	json_object_set_new(r->root, "duration_ns",
			    json_integer((json_int_t)(db_now_ns() - r->t0)));
	text = json_dumps(r->root, JSON_INDENT(1) | JSON_ENSURE_ASCII);
	if (!text)
		return db_error(-ENOMEM, "%s: out of memory", r->index);
	err = db_write_atomic(r->index, text, strlen(text));
	free(text);
	return err;
}

static void progress(struct runner *r, const struct db_scenario *s,
		     unsigned rep, uint64_t run_t0, const char *log)
{
	unsigned round = 0;
	unsigned long long remaining = 0;
	uint64_t now = db_now_ns(), elapsed = now - r->t0;
	char e[32], left[32] = "?", line[400];

	if (!r->o->progress)
		return;
	peek_rounds(r->progress_re, log, &round, &remaining);
	if (r->done_runs) {
		uint64_t avg = r->done_ns / r->done_runs;
		uint64_t cur = now - run_t0;
		uint64_t rest = avg * (r->total_runs - r->done_runs);

		rest = rest > cur ? rest - cur : 0;
		fmt_clock(rest, left, sizeof(left));
	}
	snprintf(line, sizeof(line), "[%zu/%zu] %s rep %u/%u  round %u  "
		 "remaining %llu pages  elapsed %s  left ~%s",
		 r->sc_i + 1, r->t->nsc, s->name, rep, s->repetitions, round,
		 remaining, fmt_clock(elapsed, e, sizeof(e)), left);
	fprintf(stderr, "\r\033[K%s", line);
	fflush(stderr);
}

/* Stop a child's process group: TERM, then KILL after 5 s. */
static void stop_child(pid_t pid, int sig, int *wstatus)
{
	uint64_t t0 = db_now_ns();

	kill(-pid, sig);
	while (waitpid(pid, wstatus, WNOHANG) == 0) {
		if (db_now_ns() - t0 > 5000000000ull) {
			kill(-pid, SIGKILL);
			waitpid(pid, wstatus, 0);
			return;
		}
		db_sleep_ns(20000000);
	}
}

static int spawn_run(struct runner *r, const struct db_scenario *s,
		     unsigned rep, const char *rel, json_t *run)
{
	char dir[PATH_MAX], log[PATH_MAX], msg[300];
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	uint64_t t0 = db_now_ns(), last = 0, dur;
	enum db_run_status st;
	bool timed_out = false;
	int wstatus = 0, err;
	char **argv;
	pid_t pid;

	err = db_pathf(dir, sizeof(dir), "%s/%s", r->o->out, rel);
	if (!err)
		err = db_pathf(log, sizeof(log), "%s/run.log", dir);
	if (!err)
		err = db_mkdir_p(dir);
	if (err)
		return err;
	argv = db_scenario_argv(s, r->o->bin, dir);
	if (!argv)
		return db_error(-ENOMEM, "%s: out of memory", s->name);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, log,
					 O_WRONLY | O_CREAT | O_TRUNC, 0644);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	posix_spawnattr_init(&at);
	/* its own process group: a timeout kills the run and its helpers */
	posix_spawnattr_setpgroup(&at, 0);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP);
	err = posix_spawn(&pid, r->o->bin, &fa, &at, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	db_argv_free(argv);
	if (err)
		return db_error_errno(-err, "cannot start %s", r->o->bin);

	for (;;) {
		pid_t w = waitpid(pid, &wstatus, WNOHANG);

		if (w == pid)
			break;
		if (w < 0 && errno != EINTR) {
			wstatus = 0;
			break;
		}
		if (r->o->interrupted && *r->o->interrupted) {
			stop_child(pid, SIGINT, &wstatus);
			break;
		}
		if (db_now_ns() - t0 > (uint64_t)s->timeout_s * 1000000000ull) {
			timed_out = true;
			stop_child(pid, SIGTERM, &wstatus);
			break;
		}
		if (db_now_ns() - last > 250000000ull) {
			progress(r, s, rep, t0, log);
			last = db_now_ns();
		}
		db_sleep_ns(50000000);
	}
	dur = db_now_ns() - t0;
	st = db_run_status_of(wstatus, timed_out);
	last_line(log, msg, sizeof(msg));
	if (timed_out)
		snprintf(msg, sizeof(msg), "killed after the %u s timeout",
			 s->timeout_s);
	else if (WIFSIGNALED(wstatus))
		snprintf(msg, sizeof(msg), "killed by signal %d (%s)",
			 WTERMSIG(wstatus), strsignal(WTERMSIG(wstatus)));

	json_object_set_new(run, "exit", json_integer(WIFEXITED(wstatus) ?
						      WEXITSTATUS(wstatus) : -1));
	json_object_set_new(run, "signal", json_integer(WIFSIGNALED(wstatus) ?
							WTERMSIG(wstatus) : 0));
	json_object_set_new(run, "status", json_string(db_run_status_name(st)));
	json_object_set_new(run, "duration_ns", json_integer((json_int_t)dur));
	json_object_set_new(run, "message", json_string(st == DB_RUN_OK ? "" : msg));
	r->done_runs++;
	r->done_ns += dur;
	r->sum->runs++;
	switch (st) {
	case DB_RUN_OK: r->sum->ok++; break;
	case DB_RUN_MISMATCH: r->sum->mismatch++; break;
	case DB_RUN_SKIPPED: r->sum->skipped++; break;
	default: r->sum->failed++; break;
	}
	return 0;
}

static json_t *scenario_json(const struct db_scenario *s)
{
	json_t *j = json_object();
	json_t *cfg = json_object();
	char sut[DB_TVAL_MAX];
	int k;

	json_object_set_new(j, "name", json_string(s->name));
	json_object_set_new(j, "group", json_string(s->group));
	json_object_set_new(j, "tracker",
			    json_string(db_scenario_sut(s, sut, sizeof(sut))));
	json_object_set_new(j, "rate", json_string(s->rate_label));
	json_object_set_new(j, "rate_pps", json_real(s->rate_pps));
	json_object_set_new(j, "copies", json_integer(s->copies));
	json_object_set_new(j, "repetitions", json_integer(s->repetitions));
	for (k = 0; k < DB_TK_COUNT; k++)
		if (s->value[k][0])
			json_object_set_new(cfg, db_target_key_at(k)->key,
					    json_string(s->value[k]));
	json_object_set_new(j, "config", cfg);
	json_object_set_new(j, "status", json_string(s->skip[0] ? "skipped" :
						     "pending"));
	json_object_set_new(j, "reason", json_string(s->skip));
	json_object_set_new(j, "runs", json_array());
	return j;
}

/* A scenario is skipped when it cannot run, or when every run said so. */
static void settle(json_t *sj)
{
	json_t *runs = json_object_get(sj, "runs"), *run;
	size_t i, skipped = 0, n = json_array_size(runs);
	const char *worst = NULL, *st;

	json_array_foreach(runs, i, run) {
		st = json_string_value(json_object_get(run, "status"));
		if (!st || !strcmp(st, "ok"))
			continue;
		if (!strcmp(st, "skipped")) {
			skipped++;
			json_object_set(sj, "reason",
					json_object_get(run, "message"));
		} else if (!worst || !strcmp(st, "mismatch")) {
			worst = st;
		}
	}
	if (worst)
		st = worst;
	else if (n && skipped == n)
		st = "skipped";
	else
		st = "ran";
	json_object_set_new(sj, "status", json_string(st));
}

static json_t *host_json(void)
{
	struct utsname u;
	json_t *h = json_object();

	if (!uname(&u)) {
		json_object_set_new(h, "kernel", json_string(u.release));
		json_object_set_new(h, "machine", json_string(u.machine));
	}
	json_object_set_new(h, "cpus", json_integer(sysconf(_SC_NPROCESSORS_ONLN)));
	return h;
}

int db_matrix_run(const struct db_target *t, const struct db_matrix_opts *o,
		  struct db_matrix_summary *sum)
{
	struct runner r = { .t = t, .o = o, .sum = sum };
	char when[32], rel[PATH_MAX];
	size_t i;
	unsigned rep;
	int err;

	memset(sum, 0, sizeof(*sum));
	err = db_mkdir_p(o->out);
	if (err)
		return err;
	snprintf(r.index, sizeof(r.index), "%s/bench.json", o->out);
	err = db_re_compile(&r.progress_re, "^round (\\d+)[^:\\n]*: (\\d+) dirty",
			     DB_RE_MULTILINE, "progress");
	if (err)
		return err;
	r.t0 = db_now_ns();
	iso_time(when, sizeof(when));
	r.root = json_object();
	r.scenarios = json_array();
	json_object_set_new(r.root, "schema", json_integer(1));
	json_object_set_new(r.root, "kind", json_string("dirtybench-bench"));
	json_object_set_new(r.root, "dirtybench_version", json_string(DB_VERSION));
	json_object_set_new(r.root, "target", json_string(t->name));
	json_object_set_new(r.root, "target_file", json_string(t->file));
	json_object_set_new(r.root, "description", json_string(t->description));
	json_object_set_new(r.root, "scale", json_real(t->scale));
	json_object_set_new(r.root, "started_at", json_string(when));
	json_object_set_new(r.root, "host", host_json());
	for (i = 0; i < t->nsc; i++) {
		json_array_append_new(r.scenarios, scenario_json(&t->sc[i]));
		if (!t->sc[i].skip[0])
			r.total_runs += t->sc[i].repetitions;
	}
	json_object_set(r.root, "scenarios", r.scenarios);
	err = save_index(&r, false);

	for (i = 0; i < t->nsc && !err; i++) {
		const struct db_scenario *s = &t->sc[i];
		json_t *sj = json_array_get(r.scenarios, i);
		json_t *runs = json_object_get(sj, "runs");

		r.sc_i = i;
		if (s->skip[0]) {
			sum->skipped += s->repetitions;
			continue;
		}
		for (rep = 1; rep <= s->repetitions && !err; rep++) {
			json_t *run = json_object();

			snprintf(rel, sizeof(rel), "%s/rep%u", s->name, rep);
			json_object_set_new(run, "rep", json_integer(rep));
			json_object_set_new(run, "dir", json_string(rel));
			json_array_append_new(runs, run);
			if (o->interrupted && *o->interrupted) {
				json_object_set_new(run, "status",
						    json_string("not-run"));
				sum->not_run++;
				continue;
			}
			err = spawn_run(&r, s, rep, rel, run);
			if (!err)
				err = save_index(&r, false);
		}
		settle(sj);
	}
	if (o->progress)
		fprintf(stderr, "\r\033[K");
	sum->duration_ns = db_now_ns() - r.t0;
	if (!err)
		err = save_index(&r, !(o->interrupted && *o->interrupted));
	json_decref(r.scenarios);
	json_decref(r.root);
	db_re_free(r.progress_re);
	return err;
}
