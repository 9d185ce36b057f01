// SPDX-License-Identifier: MIT
/*
 * The migration engine end to end: real `dirtybench` processes from
 * $DIRTYBENCH_BIN over real TCP, results read back from result.json.
 * Every registered tracker that can run here migrates with RAM proven
 * equal; every failure behaviour of the engine is provoked for real.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <dirent.h>
#include <jansson.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dirtybench/common.h"
#include "dirtybench/tracker.h"
#include "wire/netns.h"
#include "wire/proto.h"
#include "wire/transport.h"

struct proc {
	pid_t pid;
	int out;		/* stdout pipe, or -1 */
	int err;		/* stderr pipe */
	char errbuf[8192];
	size_t errlen;
};

static const char *exe(void)
{
	static char path[1024];
	const char *b = getenv("DIRTYBENCH_BIN");

	snprintf(path, sizeof(path), "%s/dirtybench", b && *b ? b : "bin");
	return path;
}

/* Start argv (argv[0] replaced by the dirtybench under test). */
static void spawn(struct proc *p, const char *const argv[], const char *env,
		  bool want_out)
{
	int o[2], e[2];

	memset(p, 0, sizeof(*p));
	cr_assert_eq(pipe2(e, O_CLOEXEC), 0);
	cr_assert_eq(pipe2(o, O_CLOEXEC), 0);
	p->pid = fork();
	cr_assert_geq(p->pid, 0);
	if (p->pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(want_out ? o[1] : null, 1);
		dup2(e[1], 2);
		if (env)
			putenv((char *)env);
		execv(exe(), (char *const *)argv);
		dprintf(2, "cannot run %s: %s", exe(), strerror(errno));
		_exit(127);
	}
	close(o[1]);
	close(e[1]);
	p->err = e[0];
	p->out = o[0];
	if (!want_out) {
		close(o[0]);
		p->out = -1;
	}
	fcntl(p->err, F_SETFL, O_NONBLOCK);
}

static void drain_err(struct proc *p)
{
	ssize_t n;

	while (p->errlen + 1 < sizeof(p->errbuf) &&
	       (n = read(p->err, p->errbuf + p->errlen,
			 sizeof(p->errbuf) - 1 - p->errlen)) > 0)
		p->errlen += (size_t)n;
	p->errbuf[p->errlen] = '\0';
}

/* Exit status, or -1 when it had to be killed after timeout_s. */
static int wait_exit(struct proc *p, int timeout_s)
{
	uint64_t end = db_now_ns() + (uint64_t)timeout_s * 1000000000ull;
	int status, r = -1;

	for (;;) {
		drain_err(p);
		if (waitpid(p->pid, &status, WNOHANG) == p->pid) {
			r = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
			break;
		}
		if (db_now_ns() > end) {
			kill(p->pid, SIGKILL);
			waitpid(p->pid, &status, 0);
			break;
		}
		usleep(10000);
	}
	drain_err(p);
	close(p->err);
	if (p->out >= 0)
		close(p->out);
	return r;
}

/* Read stdout lines until one contains needle; false on timeout or EOF. */
static bool wait_line(struct proc *p, const char *needle, int timeout_ms)
{
	char buf[4096];
	size_t off = 0;
	struct pollfd pfd = { .fd = p->out, .events = POLLIN };
	uint64_t end = db_now_ns() + (uint64_t)timeout_ms * 1000000ull;
	ssize_t n;

	while (db_now_ns() < end) {
		if (poll(&pfd, 1, 50) <= 0)
			continue;
		n = read(p->out, buf + off, sizeof(buf) - 1 - off);
		if (n <= 0)
			return false;
		off += (size_t)n;
		buf[off] = '\0';
		if (strstr(buf, needle))
			return true;
		if (off > sizeof(buf) / 2) {	/* keep the tail */
			memmove(buf, buf + off / 2, off - off / 2);
			off -= off / 2;
		}
	}
	return false;
}

static int run(const char *const argv[], const char *env, char *err, size_t len,
	       int timeout_s)
{
	struct proc p;
	int st;

	spawn(&p, argv, env, false);
	st = wait_exit(&p, timeout_s);
	if (err)
		snprintf(err, len, "%s", p.errbuf);
	return st;
}

/* Scratch directories of the running test, removed by its fini. */
static char dirs[8][64];
static unsigned ndirs;

static char *tmpdir(void)
{
	char *d = dirs[ndirs++ % DB_ARRAY_SIZE(dirs)];

	snprintf(d, sizeof(dirs[0]), "/tmp/dirtybench-test-XXXXXX");
	cr_assert(mkdtemp(d), "mkdtemp: %s", strerror(errno));
	return d;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void remove_dirs(void)
{
	unsigned i;

	for (i = 0; i < DB_MIN(ndirs, DB_ARRAY_SIZE(dirs)); i++)
		nftw(dirs[i], rm_one, 8, FTW_DEPTH | FTW_PHYS);
	ndirs = 0;
}

TestSuite(engine, .fini = remove_dirs);
TestSuite(hostile, .fini = remove_dirs);

static json_t *result(const char *dir)
{
	char path[256];
	json_error_t je;
	json_t *j;

	snprintf(path, sizeof(path), "%s/result.json", dir);
	j = json_load_file(path, 0, &je);
	cr_assert(j, "%s: %s", path, je.text);
	return j;
}

/* "summary.outcome" style lookups. */
static json_t *jget(json_t *root, const char *path)
{
	char key[64];
	const char *p = path;
	size_t n;

	while (root && *p) {
		n = strcspn(p, ".");
		snprintf(key, sizeof(key), "%.*s", (int)n, p);
		root = json_object_get(root, key);
		p += n + (p[n] == '.');
	}
	cr_assert(root, "result.json has %s", path);
	return root;
}

static const char *jstr(json_t *r, const char *path)
{
	json_t *v = jget(r, path);

	return json_is_string(v) ? json_string_value(v) : "(not a string)";
}

static long long jint(json_t *r, const char *path)
{
	json_t *v = jget(r, path);

	cr_assert(json_is_integer(v), "%s is an integer", path);
	return json_integer_value(v);
}

static double jnum(json_t *r, const char *path)
{
	return json_number_value(jget(r, path));
}

static bool jtrue(json_t *r, const char *path)
{
	return json_is_true(jget(r, path));
}

static bool available(const char *name, char *why, size_t len)
{
	const struct db_tracker_ops *ops = db_tracker_find(name);

	if (!ops) {
		snprintf(why, len, "tracker %s is not built in", name);
		return false;
	}
	why[0] = '\0';
	return ops->probe(why, len) == 0;
}

/* ---- every tracker that can run here ---- */

struct tparam {
	char name[32];
};

static void free_params(struct criterion_test_params *crp)
{
	cr_free(crp->params);
}

/* Every registered tracker but the faulty wrapper (tested below). */
static struct criterion_test_params tracker_params(void)
{
	size_t n = db_tracker_count(), i, k = 0;
	struct tparam *p = cr_malloc(sizeof(*p) * n);

	for (i = 0; i < n; i++) {
		const struct db_tracker_ops *ops = db_tracker_ops_at(i);

		if (ops->flags & DB_TRK_FAULTY)
			continue;
		snprintf(p[k++].name, sizeof(p->name), "%s", ops->name);
	}
	return cr_make_param_array(struct tparam, p, k, free_params);
}

ParameterizedTestParameters(engine, every_tracker_migrates_with_ram_equal)
{
	return tracker_params();
}

ParameterizedTest(struct tparam *tp, engine, every_tracker_migrates_with_ram_equal,
		  .timeout = 180)
{
	char why[512], err[8192], *dir;
	const char *argv[] = { "dirtybench", "run", "--tracker", tp->name, "--ram", "64M",
			       "--workload", "dirtyram:dirty=256,period=10",
			       "--out", NULL, "--quiet", NULL };
	json_t *r;
	int st;

	if (!available(tp->name, why, sizeof(why)))
		cr_skip_test("tracker %s cannot run here: %s", tp->name, why);
	dir = tmpdir();
	argv[9] = dir;
	st = run(argv, NULL, err, sizeof(err), 150);
	cr_assert_eq(st, 0, "%s: exit %d: %s", tp->name, st, err);
	r = result(dir);
	cr_assert_str_eq(jstr(r, "summary.outcome"), "completed");
	cr_assert(jtrue(r, "summary.ram_equal"), "%s: RAM equal", tp->name);
	cr_assert_str_eq(jstr(r, "summary.checksum_src"), jstr(r, "summary.checksum_dst"));
	cr_assert_eq(jint(r, "summary.mismatched_pages"), 0);
	cr_assert_geq(jint(r, "summary.rounds"), 2, "round 0 and a stop-and-copy");
	cr_assert_geq(jint(r, "summary.pages_sent"), 16384, "round 0 sends every page");
	cr_assert(jtrue(r, "summary.resumed"));
	cr_assert_gt(jint(r, "summary.downtime_ns"), 0);
	cr_assert_gt(jint(r, "summary.total_time_ns"), jint(r, "summary.downtime_ns"));
	cr_assert_gt(jint(r, "workload.pages_written"), 0, "the guest ran on the source");
	cr_assert_gt(jint(r, "workload.dest_pages_written"), 0,
		     "the guest ran on the destination after the switchover");
	cr_assert_str_eq(jstr(r, "tracker.name"), tp->name);
	cr_assert_geq(jint(r, "tracker.collects"), jint(r, "summary.rounds") - 1,
		      "one collect per round after round 0, two at the switchover");
	cr_assert_gt(jint(r, "model.predicted_rounds"), 0);
	json_decref(r);
}

ParameterizedTestParameters(engine, exact_trackers_report_nothing_when_nothing_writes)
{
	return tracker_params();
}

/*
 * With no workload, an exact tracker's collects find nothing, snapshot
 * reads of every page in between included (a tracker that over-reports
 * still migrates correctly, but never converges: only this shows it).
 */
ParameterizedTest(struct tparam *tp, engine,
		  exact_trackers_report_nothing_when_nothing_writes, .timeout = 120)
{
	const char *argv[] = { "dirtybench", "run", "--tracker", tp->name, "--ram", "32M",
			       "--workload", "none", "--stop", "rounds:3",
			       "--out", NULL, "--quiet", NULL };
	const struct db_tracker_ops *ops = db_tracker_find(tp->name);
	char why[512], err[8192];
	json_t *r, *rounds;
	int st, i;

	if (!(ops->flags & DB_TRK_EXACT))
		cr_skip_test("tracker %s does not claim to be exact", tp->name);
	if (!available(tp->name, why, sizeof(why)))
		cr_skip_test("tracker %s cannot run here: %s", tp->name, why);
	argv[11] = tmpdir();
	st = run(argv, NULL, err, sizeof(err), 90);
	cr_assert_eq(st, 0, "%s: exit %d: %s", tp->name, st, err);
	r = result(argv[11]);
	rounds = jget(r, "rounds");
	cr_assert_eq(json_array_size(rounds), 3);
	for (i = 1; i < 3; i++)
		cr_assert_eq(json_integer_value(json_object_get(json_array_get(rounds, (size_t)i),
								"dirty_pages")), 0,
			     "%s reported pages in round %d though nothing wrote", tp->name, i);
	cr_assert(jtrue(r, "summary.ram_equal"));
	json_decref(r);
}

Test(engine, snapshot_trackers_send_round_start_images, .timeout = 300)
{
	const char *argv[] = { "dirtybench", "run", "--tracker", NULL, "--ram", "32M",
			       "--workload", "dirtyram:dirty=256,period=10,pattern=random",
			       "--bandwidth", "200mbit", "--stop", "rounds:3",
			       "--out", NULL, "--quiet", NULL };
	char why[512], err[8192];
	size_t i, tested = 0;
	json_t *r;
	int st;

	for (i = 0; i < db_tracker_count(); i++) {
		const struct db_tracker_ops *ops = db_tracker_ops_at(i);

		if (!(ops->flags & DB_TRK_SNAPSHOT) || (ops->flags & DB_TRK_FAULTY) ||
		    !available(ops->name, why, sizeof(why)))
			continue;
		argv[3] = ops->name;
		argv[13] = tmpdir();
		st = run(argv, NULL, err, sizeof(err), 120);
		cr_assert_eq(st, 0, "%s: exit %d: %s", ops->name, st, err);
		r = result(argv[13]);
		cr_assert(jtrue(r, "summary.ram_equal"));
		cr_assert_eq(jint(r, "summary.snapshot_violations"), 0,
			     "%s sent pages newer than their round's start", ops->name);
		cr_assert_gt(jint(r, "tracker.snapshot_pages"), 0);
		json_decref(r);
		tested++;
	}
	if (!tested)
		cr_skip_test("no tracker that serves round-start snapshots (copy-on-write) can run here");
}

Test(engine, the_stamp_check_catches_pages_read_live, .timeout = 120)
{
	const char *argv[] = { "dirtybench", "run", "--tracker", "hash", "--ram", "32M",
			       "--workload", "dirtyram:dirty=256,period=10",
			       "--bandwidth", "200mbit", "--stop", "rounds:2",
			       "--out", NULL, "--quiet", NULL };
	char err[8192];
	json_t *r;
	int st;

	/* hash reads live RAM: while round 0 is sent, the guest writes ahead */
	argv[13] = tmpdir();
	st = run(argv, "DIRTYBENCH_STAMP_CHECK=all", err, sizeof(err), 90);
	cr_assert_eq(st, 0, "exit %d: %s", st, err);
	r = result(argv[13]);
	cr_assert(jtrue(r, "summary.ram_equal"), "live reads are fine: they are resent");
	cr_assert_gt(jint(r, "summary.snapshot_violations"), 0,
		     "pages written after round 0 began were seen in round 0");
	json_decref(r);
}

/* ---- validation ---- */

/*
 * A migration through faulty:INNER fails validation with the differing
 * pages listed, and the guest keeps running (and writing) on the source.
 */
static void faulty_migration_is_caught(const char *inner)
{
	char err[8192], spec[64];
	const char *argv[] = { "dirtybench", "run", "--tracker", spec, "--ram", "32M",
			       "--workload", "dirtyram:dirty=512,period=10",
			       "--bandwidth", "200mbit", "--stop", "rounds:4",
			       "--out", NULL, "--quiet", NULL };
	json_t *r, *first;
	size_t i;
	int st;

	snprintf(spec, sizeof(spec), "faulty:%s:drop=1/1000", inner);
	argv[13] = tmpdir();
	st = run(argv, NULL, err, sizeof(err), 90);
	cr_assert_eq(st, 1, "%s: exit %d (want 1): %s", spec, st, err);
	cr_assert(strstr(err, "RAM differs"), "stderr says why: %s", err);
	r = result(argv[13]);
	cr_assert_str_eq(jstr(r, "summary.outcome"), "validation_failed");
	cr_assert(!jtrue(r, "summary.ram_equal"));
	cr_assert(strcmp(jstr(r, "summary.checksum_src"), jstr(r, "summary.checksum_dst")));
	cr_assert_gt(jint(r, "summary.mismatched_pages"), 0);
	cr_assert_gt(jint(r, "tracker.counters.dropped_pages"), 0);
	first = jget(r, "summary.mismatched_first");
	cr_assert_gt(json_array_size(first), 0, "the differing pages are listed");
	cr_assert_eq((long long)json_array_size(first),
		     DB_MIN(jint(r, "summary.mismatched_pages"), 16));
	for (i = 0; i < json_array_size(first); i++)
		cr_assert_lt(json_integer_value(json_array_get(first, i)), 8192,
			     "page numbers inside RAM");
	cr_assert(!jtrue(r, "summary.resumed"), "RAM that differs is not resumed");
	cr_assert(jtrue(r, "summary.guest_running_on_source"),
		  "the guest keeps running on the source when the destination's RAM differs");
	cr_assert_gt(jint(r, "workload.pages_written_after_abort"), 0,
		     "and it really writes there");
	json_decref(r);
}

Test(engine, a_faulty_tracker_fails_validation_with_pages_listed, .timeout = 120)
{
	char why[512];

	faulty_migration_is_caught(available("uffd-async", why, sizeof(why)) ?
				   "uffd-async" : "hash");
}

/*
 * A mostly-zero guest: its zero pages go as runs, a few bytes for
 * thousands of pages, and its RAM is still proven equal.
 */
Test(engine, a_mostly_zero_guest_goes_as_zero_runs_with_ram_equal, .timeout = 120)
{
	char err[8192];
	const char *argv[] = { "dirtybench", "run", "--ram", "256M", "--fill", "zero",
			       "--workload", "dirtyram:dirty=64,period=10,pattern=random",
			       "--out", NULL, "--quiet", NULL };
	long long pages, zero, bytes, data;
	json_t *r;
	int st;

	argv[9] = tmpdir();
	st = run(argv, NULL, err, sizeof(err), 90);
	cr_assert_eq(st, 0, "exit %d: %s", st, err);
	r = result(argv[9]);
	cr_assert(jtrue(r, "summary.ram_equal"), "RAM verified equal");
	pages = jint(r, "summary.pages_sent");
	zero = jint(r, "summary.zero_pages");
	bytes = jint(r, "summary.bytes_total");
	cr_assert_geq(pages, 65536, "round 0 sends every page");
	cr_assert_gt(zero, pages * 9 / 10, "mostly zero: %lld of %lld", zero, pages);
	/* what is left after the pages with data: far below 8 bytes per zero page */
	data = (pages - zero) * (DB_PAGE_SIZE + 8);
	cr_assert_lt(bytes - data, zero * 8 / 50,
		     "%lld bytes beside the data for %lld zero pages (one descriptor each: %lld)",
		     bytes - data, zero, zero * 8);
	json_decref(r);
}

/*
 * The verification knows zero chunks without reading them, on each side
 * from its own page tables: a destination that never got a page which
 * holds data on the source must still differ. faulty drops every page
 * written after round 0, so they stay zero, amid zero runs, there. The
 * bandwidth limit makes round 0 last (its warm-up's pages take a second),
 * so that the guest writes meanwhile.
 */
Test(engine, a_data_page_dropped_amid_zero_runs_is_caught, .timeout = 120)
{
	char err[8192], why[512], spec[64];
	const char *argv[] = { "dirtybench", "run", "--tracker", spec, "--ram", "256M",
			       "--fill", "zero",
			       "--workload", "dirtyram:dirty=64,period=10,pattern=random",
			       "--bandwidth", "20mbit",
			       "--stop", "rounds:3", "--out", NULL, "--quiet", NULL };
	json_t *r;
	int st;

	snprintf(spec, sizeof(spec), "faulty:%s:drop=1/1",
		 available("uffd-async", why, sizeof(why)) ? "uffd-async" : "hash");
	argv[15] = tmpdir();
	st = run(argv, NULL, err, sizeof(err), 90);
	cr_assert_eq(st, 1, "%s: exit %d (want 1): %s", spec, st, err);
	r = result(argv[15]);
	cr_assert_str_eq(jstr(r, "summary.outcome"), "validation_failed");
	cr_assert_gt(jint(r, "tracker.counters.dropped_pages"), 0);
	cr_assert_gt(jint(r, "summary.mismatched_pages"), 0);
	cr_assert_gt(jint(r, "summary.zero_pages"), 60000, "zero runs all around them");
	cr_assert(!jtrue(r, "summary.resumed"), "RAM that differs is not resumed");
	json_decref(r);
}

/*
 * The same through a tracker the guest writes through (a modelled MMU):
 * it must outlive the workload that keeps running on the source.
 */
Test(engine, a_faulty_access_tracker_fails_validation_and_the_guest_runs_on, .timeout = 120)
{
	faulty_migration_is_caught("stage2-lazy");
}

/* ---- failures ---- */

/* The child process of pid (the destination `run` started). */
static pid_t child_of(pid_t pid)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	char path[300], buf[512], *p;
	pid_t found = -1;
	int ppid;

	while (d && (e = readdir(d))) {
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
		if (db_read_file(path, buf, sizeof(buf)) <= 0)
			continue;
		p = strrchr(buf, ')');
		if (p && sscanf(p + 2, "%*c %d", &ppid) == 1 && ppid == pid) {
			found = atoi(e->d_name);
			break;
		}
	}
	if (d)
		closedir(d);
	return found;
}

Test(engine, destination_killed_mid_round_aborts_within_2s, .timeout = 120)
{
	const char *argv[] = { "dirtybench", "run", "--tracker", "hash", "--ram", "32M",
			       "--bandwidth", "200mbit", "--progress", "--out", NULL,
			       NULL };
	struct proc p;
	uint64_t killed_at, noticed;
	json_t *r, *rounds, *last;
	pid_t dst;
	int st;

	argv[10] = tmpdir();
	spawn(&p, argv, NULL, true);
	cr_assert(wait_line(&p, "round 0", 30000), "round 0 finished");
	usleep(300000);			/* well inside round 1 */
	dst = child_of(p.pid);
	cr_assert_gt(dst, 0, "the destination is a separate process");
	killed_at = db_now_ns();
	kill(dst, SIGKILL);
	st = wait_exit(&p, 20);
	cr_assert_eq(st, 4, "exit %d (want 4): %s", st, p.errbuf);
	r = result(argv[10]);
	cr_assert_str_eq(jstr(r, "summary.outcome"), "aborted");
	cr_assert_str_eq(jstr(r, "summary.stop_reason"), "aborted");
	noticed = (uint64_t)jint(r, "clock.start_mono_ns") +
		  (uint64_t)jint(r, "summary.aborted_at_ns");
	cr_assert_lt(noticed - killed_at, 2000000000ull, "noticed %.3f s after the kill",
		     (noticed - killed_at) / 1e9);
	cr_assert(jtrue(r, "summary.guest_running_on_source"));
	cr_assert_gt(jint(r, "workload.pages_written_after_abort"), 0,
		     "the guest kept writing on the source, untracked");
	cr_assert(json_is_string(jget(r, "error")));
	/* the partial round counts: what it sent and how fast */
	rounds = jget(r, "rounds");
	last = json_array_get(rounds, json_array_size(rounds) - 1);
	cr_assert(json_is_true(json_object_get(last, "aborted")),
		  "the last round is marked aborted");
	cr_assert_gt(json_integer_value(json_object_get(last, "bytes")), 0,
		     "the aborted round sent bytes before the kill");
	cr_assert_gt(json_number_value(json_object_get(last, "bandwidth_bps")), 0,
		     "the aborted round has the rate it ran at");
	cr_assert_gt(jnum(r, "summary.bandwidth_measured_bps"), 0,
		     "the summary's rate counts the partial round");
	json_decref(r);
}

/*
 * Start `dirtybench dest` on a free loopback port; progress_ms: its
 * --progress-timeout, NULL for the default.
 */
static uint16_t start_dest_with(struct proc *p, const char *out, const char *progress_ms)
{
	char pf[128], buf[32];
	const char *argv[] = { "dirtybench", "dest", "--listen", "127.0.0.1:0",
			       "--port-file", pf, "--peer-timeout", "1000",
			       "--accept-timeout", "30", "--quiet",
			       "--progress-timeout", progress_ms ? progress_ms : "60000",
			       out ? "--out" : NULL, out, NULL };
	int i;

	snprintf(pf, sizeof(pf), "%s/port", tmpdir());
	spawn(p, argv, NULL, false);
	for (i = 0; i < 500; i++) {
		if (db_read_file(pf, buf, sizeof(buf)) > 0 && strchr(buf, '\n'))
			return (uint16_t)atoi(buf);
		usleep(10000);
	}
	cr_assert_fail("dest did not report its port");
	return 0;
}

static uint16_t start_dest(struct proc *p, const char *out)
{
	return start_dest_with(p, out, NULL);
}

Test(engine, source_killed_destination_fails_without_claiming_success,
     .timeout = 120)
{
	struct proc d, s;
	char to[64], *out = tmpdir(), path[128];
	const char *argv[] = { "dirtybench", "migrate", "--to", to, "--tracker", "hash",
			       "--ram", "32M", "--bandwidth", "100mbit", "--quiet", NULL };
	json_t *r;
	int st;

	snprintf(to, sizeof(to), "127.0.0.1:%u", start_dest(&d, out));
	spawn(&s, argv, NULL, false);
	usleep(1000000);		/* inside round 0 (2.7 s at 100 Mbit/s) */
	kill(s.pid, SIGKILL);
	wait_exit(&s, 10);
	st = wait_exit(&d, 20);
	cr_assert_eq(st, 4, "dest exit %d (want 4): %s", st, d.errbuf);
	cr_assert(strstr(d.errbuf, "source"), "the error names the source: %s", d.errbuf);
	snprintf(path, sizeof(path), "%s/result.json", out);
	if (access(path, F_OK))
		return;			/* no result is fine too */
	r = result(out);
	cr_assert_str_neq(jstr(r, "summary.outcome"), "completed");
	cr_assert(!jtrue(r, "summary.ram_equal"));
	json_decref(r);
}


/* ---- the destination's RAM set-up: --dest-prefault ---- */

#define PF_RAM (64ll << 20)

/*
 * A 64 MiB migration (a light random writer, so that later rounds resend
 * pages) to a `dirtybench dest --dest-prefault WHEN` of its own, with env
 * for the destination. Returns its result; *rss is its peak RSS.
 */
static json_t *prefault_run(const char *when, const char *fill, const char *env,
			    long long *rss)
{
	struct proc d;
	struct rusage ru;
	char pf[128], buf[32], to[64], err[8192], *out = tmpdir();
	const char *dargv[] = { "dirtybench", "dest", "--listen", "127.0.0.1:0",
				"--port-file", pf, "--peer-timeout", "2000",
				"--accept-timeout", "30", "--quiet",
				"--dest-prefault", when, "--out", out, NULL };
	const char *sargv[] = { "dirtybench", "migrate", "--to", to, "--tracker", "hash",
				"--ram", "64M", "--fill", fill, "--warmup-ms", "0",
				"--workload", "dirtyram:dirty=8,period=10,pattern=random",
				"--quiet", NULL };
	int i, st, status;

	snprintf(pf, sizeof(pf), "%s/port", tmpdir());
	spawn(&d, dargv, env, false);
	for (i = 0; i < 500; i++) {
		if (db_read_file(pf, buf, sizeof(buf)) > 0 && strchr(buf, '\n'))
			break;
		usleep(10000);
	}
	cr_assert_lt(i, 500, "dest did not report its port");
	snprintf(to, sizeof(to), "127.0.0.1:%d", atoi(buf));
	st = run(sargv, NULL, err, sizeof(err), 60);
	cr_assert_eq(st, 0, "migrate exit %d: %s", st, err);
	cr_assert_eq(wait4(d.pid, &status, 0, &ru), d.pid);
	drain_err(&d);
	close(d.err);
	cr_assert(WIFEXITED(status) && !WEXITSTATUS(status), "dest status %d: %s",
		  status, d.errbuf);
	*rss = (long long)ru.ru_maxrss * 1024;
	return result(out);
}

Test(engine, dest_prefault_auto_faults_random_ram_in_before_round_0, .timeout = 120)
{
	long long rss;
	json_t *r = prefault_run("auto", "random", NULL, &rss);
	const char *how = jstr(r, "summary.dest_prefault");

	cr_assert(jtrue(r, "summary.ram_equal"));
	cr_assert_str_eq(jstr(r, "summary.outcome"), "completed");
	cr_assert(!strcmp(how, "populate") || !strcmp(how, "touch"), "faulted in: %s", how);
	cr_assert_gt(jint(r, "summary.dest_prefault_ns"), 0);
	cr_assert_gt(jint(r, "summary.rounds"), 1, "pages were resent into faulted-in RAM");
	cr_assert_geq(rss, PF_RAM);
	json_decref(r);
}

Test(engine, dest_prefault_auto_leaves_a_zero_guest_untouched, .timeout = 120)
{
	long long rss;
	json_t *r = prefault_run("auto", "zero", NULL, &rss);

	cr_assert(jtrue(r, "summary.ram_equal"));
	cr_assert(json_is_null(jget(r, "summary.dest_prefault")));
	cr_assert(json_is_null(jget(r, "summary.dest_prefault_ns")));
	cr_assert_lt(rss, PF_RAM / 2, "destination peak RSS %lld: the zero pages stayed out", rss);
	json_decref(r);
}

/* --dest-prefault on with a zero guest: every page faulted in, by how (NULL: any). */
static void zero_guest_faulted_in(const char *env, const char *how)
{
	long long rss;
	json_t *r = prefault_run("on", "zero", env, &rss);

	cr_assert(jtrue(r, "summary.ram_equal"));
	cr_assert(json_is_string(jget(r, "summary.dest_prefault")));
	if (how)
		cr_assert_str_eq(jstr(r, "summary.dest_prefault"), how);
	cr_assert_geq(rss, PF_RAM, "destination peak RSS %lld", rss);
	json_decref(r);
}

Test(engine, dest_prefault_on_faults_even_a_zero_guest_in, .timeout = 120)
{
	zero_guest_faulted_in(NULL, NULL);
}

Test(engine, dest_prefault_without_madvise_writes_every_page, .timeout = 120)
{
	zero_guest_faulted_in("DIRTYBENCH_POPULATE=touch", "touch");
}

/* 64 MiB is shared by two threads where there are two CPUs; one alone too */
Test(engine, dest_prefault_on_one_thread_faults_every_page, .timeout = 120)
{
	zero_guest_faulted_in("DIRTYBENCH_POPULATE_THREADS=1", "populate");
}

Test(engine, dest_prefault_off_faults_pages_in_as_they_come, .timeout = 120)
{
	long long rss;
	json_t *r = prefault_run("off", "random", NULL, &rss);

	cr_assert(jtrue(r, "summary.ram_equal"));
	cr_assert(json_is_null(jget(r, "summary.dest_prefault")));
	json_decref(r);
}

Test(engine, dest_prefault_takes_only_auto_on_off, .timeout = 30)
{
	const char *argv[] = { "dirtybench", "dest", "--listen", "127.0.0.1:0",
			       "--dest-prefault", "always", "--quiet", NULL };
	char err[8192];
	int st = run(argv, NULL, err, sizeof(err), 20);

	cr_assert_eq(st, DB_EXIT_USAGE, "exit %d: %s", st, err);
	cr_assert(strstr(err, "dest-prefault") && strstr(err, "auto"), "says what it takes: %s", err);
}
static bool netns_here(char *why, size_t len)
{
	return db_netns_probe(why, len) == 0;
}

Test(engine, link_cut_is_detected_and_the_guest_stays, .timeout = 120)
{
	const char *argv[] = { "dirtybench", "run", "--tracker", "hash", "--ram", "32M",
			       "--link", "netns", "--bandwidth", "200mbit",
			       "--peer-timeout", "1000", "--progress", "--out", NULL, NULL };
	char why[256], veth[32], nspath[64];
	const char *down[] = { "ip", "link", "set", veth, "down", NULL };
	struct proc p;
	uint64_t cut_at, noticed;
	json_t *r;
	int st;

	if (!netns_here(why, sizeof(why)))
		cr_skip_test("%s", why);
	argv[14] = tmpdir();
	spawn(&p, argv, NULL, true);
	cr_assert(wait_line(&p, "round 0", 30000), "round 0 finished");
	snprintf(veth, sizeof(veth), "dbh%d", (int)(p.pid % 10000000));
	cut_at = db_now_ns();
	cr_assert_eq(db_run_cmd(down), 0, "%s", db_strerror());
	st = wait_exit(&p, 20);
	cr_assert_eq(st, 4, "exit %d (want 4): %s", st, p.errbuf);
	r = result(argv[14]);
	cr_assert_str_eq(jstr(r, "summary.outcome"), "aborted");
	noticed = (uint64_t)jint(r, "clock.start_mono_ns") +
		  (uint64_t)jint(r, "summary.aborted_at_ns");
	cr_assert_lt(noticed - cut_at, 2000000000ull,
		     "a 1 s peer timeout noticed the cut after %.3f s",
		     (noticed - cut_at) / 1e9);
	cr_assert_geq(noticed - cut_at, 900000000ull, "not before the timeout");
	cr_assert(jtrue(r, "summary.guest_running_on_source"));
	cr_assert_gt(jint(r, "workload.pages_written_after_abort"), 0);
	snprintf(nspath, sizeof(nspath), "/run/netns/dirtybench-%d", (int)p.pid);
	cr_assert_neq(access(nspath, F_OK), 0, "namespace %s removed", nspath);
	json_decref(r);
}

Test(engine, netns_link_is_shaped_to_the_bandwidth, .timeout = 120)
{
	const char *argv[] = { "dirtybench", "run", "--tracker", "hash", "--ram", "32M",
			       "--link", "netns", "--bandwidth", "200mbit",
			       "--stop", "rounds:2", "--out", NULL, "--quiet", NULL };
	char why[256], err[8192];
	double bps;
	json_t *r;
	int st;

	if (!netns_here(why, sizeof(why)))
		cr_skip_test("%s", why);
	argv[13] = tmpdir();
	st = run(argv, NULL, err, sizeof(err), 90);
	cr_assert_eq(st, 0, "exit %d: %s", st, err);
	r = result(argv[13]);
	cr_assert(jtrue(r, "summary.ram_equal"));
	cr_assert_str_eq(jstr(r, "config.link"), "netns");
	bps = jnum(r, "summary.bandwidth_measured_bps");
	cr_assert(bps > 200e6 * 0.85 && bps < 200e6 * 1.15,
		  "tc tbf at 200 Mbit/s measured %.1f Mbit/s", bps / 1e6);
	json_decref(r);
}

Test(engine, the_sender_limits_its_bandwidth_on_loopback, .timeout = 120)
{
	const char *argv[] = { "dirtybench", "run", "--tracker", "hash", "--ram", "32M",
			       "--bandwidth", "200mbit", "--stop", "rounds:2",
			       "--out", NULL, "--quiet", NULL };
	char err[8192];
	double bps;
	json_t *r;
	int st;

	argv[11] = tmpdir();
	st = run(argv, NULL, err, sizeof(err), 90);
	cr_assert_eq(st, 0, "exit %d: %s", st, err);
	r = result(argv[11]);
	bps = jnum(r, "summary.bandwidth_measured_bps");
	cr_assert(bps > 200e6 * 0.85 && bps < 200e6 * 1.15,
		  "token bucket at 200 Mbit/s measured %.1f Mbit/s", bps / 1e6);
	json_decref(r);
}

/* ---- stop policies ---- */

static json_t *policy_run(const char *stop, const char *on_timeout, int want)
{
	const char *argv[] = { "dirtybench", "run", "--tracker", "hash", "--ram", "32M",
			       "--bandwidth", "100mbit", "--stop", stop,
			       "--workload", "dirtyram:pages=1000,dirty=100,period=10",
			       "--on-timeout", on_timeout, "--out", NULL, "--quiet",
			       NULL };
	char err[8192];
	int st;

	argv[15] = tmpdir();
	st = run(argv, NULL, err, sizeof(err), 90);
	cr_assert_eq(st, want, "--stop %s --on-timeout %s: exit %d (want %d): %s",
		     stop, on_timeout, st, want, err);
	return result(argv[15]);
}

/*
 * The stall probe: a thread beside the guest reads the clock every 50 us;
 * the gap across the switchover is the downtime plus the probe's own
 * distance to the pause and to the resume, on one clock. The longest gap
 * is the guest stall, and it agrees with the downtime or the result says
 * why not.
 */
Test(engine, stall_probe_measures_the_switchover, .timeout = 120)
{
	const char *argv[] = { "dirtybench", "run", "--tracker", "hash", "--ram", "32M",
			       "--workload", "dirtyram:dirty=100,period=10",
			       "--bandwidth", "500mbit", "--quiet", "--out", NULL, NULL };
	char err[8192];
	double down, gap, before, after, res, longest, slack, diff;
	json_t *r, *note;
	int st;

	argv[12] = tmpdir();
	st = run(argv, NULL, err, sizeof(err), 90);
	cr_assert_eq(st, 0, "exit %d: %s", st, err);
	r = result(argv[12]);
	cr_assert_str_eq(jstr(r, "summary.guest_stall_from"), "probe");
	res = jnum(r, "summary.stall_probe.resolution_ns");
	cr_assert_gt(res, 0);
	cr_assert_leq(res, 100e3, "resolution %.0f us, at most 100 us", res / 1e3);
	down = jnum(r, "summary.downtime_ns");
	gap = jnum(r, "summary.stall_probe.switchover_gap_ns");
	before = jnum(r, "summary.stall_probe.before_pause_ns");
	after = jnum(r, "summary.stall_probe.after_resume_ns");
	/* the guest may run on a little after the pause is asked (before < 0) */
	cr_assert_geq(after, 0, "the first reading follows the release");
	cr_assert_gt(gap, 0);
	/* the same interval measured by the guest and by the engine */
	cr_assert_leq(fabs(gap - (down + before + after)), 2 * res + 1e6,
		      "gap %.3f ms = downtime %.3f + %.3f before + %.3f after",
		      gap / 1e6, down / 1e6, before / 1e6, after / 1e6);
	longest = jnum(r, "summary.stall_probe.longest_gap_ns");
	cr_assert_geq(longest, gap, "the switchover gap is one of the gaps");
	cr_assert_eq(jnum(r, "summary.guest_stall_ns"), longest);
	/* agreement, or the reason in the result */
	diff = fabs(longest - down);
	slack = fmax(down / 10, 2 * res);
	note = jget(r, "summary.stall_probe.note");
	if (diff <= slack)
		cr_assert(json_is_null(note), "within 10%%, no note: %s",
			  json_string_value(note));
	else
		cr_assert(json_is_string(note) && *json_string_value(note),
			  "stall %.3f ms, downtime %.3f ms: the result says why",
			  longest / 1e6, down / 1e6);
	json_decref(r);
}

/*
 * model-check: the model fed what each round had lands within 10% of the
 * run's rounds, bytes and downtime at lambda 0.2, 0.5 and 0.8 (exit 1 names
 * the figure that does not).
 */
Test(engine, model_fed_the_rounds_matches_the_run, .timeout = 240)
{
	static const char *const lambda[] = { "0.2", "0.5", "0.8" };
	const char *argv[] = { "dirtybench", "model-check", "--tracker", "hash",
			       "--ram", "32M", "--bandwidth", "200mbit", "--lambda",
			       NULL, "--out", NULL, NULL };
	char err[8192];
	size_t i;
	json_t *r;
	int st;

	for (i = 0; i < DB_ARRAY_SIZE(lambda); i++) {
		argv[9] = lambda[i];
		argv[11] = tmpdir();
		st = run(argv, NULL, err, sizeof(err), 120);
		cr_assert_eq(st, 0, "lambda %s: exit %d: %s", lambda[i], st, err);
		r = result(argv[11]);
		cr_assert_eq(jint(r, "model.measured.predicted_rounds"),
			     jint(r, "summary.rounds"), "lambda %s: rounds", lambda[i]);
		json_decref(r);
	}
}

Test(engine, stop_after_n_rounds, .timeout = 120)
{
	json_t *r = policy_run("rounds:3", "force", 0);

	cr_assert_eq(jint(r, "summary.rounds"), 3);
	cr_assert(jtrue(r, "summary.converged"));
	cr_assert_str_eq(jstr(r, "summary.stop_reason"), "rounds");
	cr_assert_eq(json_array_size(jget(r, "rounds")), 3);
	cr_assert(json_is_true(json_object_get(json_array_get(jget(r, "rounds"), 2), "final")));
	cr_assert_eq(jint(r, "model.predicted_rounds"), 3);
	json_decref(r);
}

Test(engine, time_limit_forces_or_cancels, .timeout = 120)
{
	/* round 0 alone takes 2.7 s at 100 Mbit/s: the deadline comes first */
	json_t *r = policy_run("time:1", "force", 0);

	cr_assert(jtrue(r, "summary.ram_equal"));
	cr_assert(!jtrue(r, "summary.converged"));
	cr_assert_str_eq(jstr(r, "summary.stop_reason"), "time-force");
	json_decref(r);

	r = policy_run("time:1", "cancel", 4);
	cr_assert_str_eq(jstr(r, "summary.outcome"), "cancelled");
	cr_assert_str_eq(jstr(r, "summary.stop_reason"), "time-cancel");
	cr_assert(jtrue(r, "summary.guest_running_on_source"));
	cr_assert_gt(jint(r, "workload.pages_written_after_abort"), 0);
	cr_assert_lt(jint(r, "summary.aborted_at_ns"), 2000000000ll,
		     "cancelled mid-round, soon after the 1 s deadline");
	json_decref(r);
}

Test(engine, threshold_policy, .timeout = 120)
{
	/* a working set of 100 pages: the first collect is under 200 */
	const char *argv[] = { "dirtybench", "run", "--tracker", "hash", "--ram", "32M",
			       "--workload", "dirtyram:pages=100,dirty=50,period=10",
			       "--stop", "threshold:200", "--out", NULL, "--quiet", NULL };
	char err[8192];
	json_t *r;
	int st;

	argv[11] = tmpdir();
	st = run(argv, NULL, err, sizeof(err), 90);
	cr_assert_eq(st, 0, "exit %d: %s", st, err);
	r = result(argv[11]);
	cr_assert_str_eq(jstr(r, "summary.stop_reason"), "threshold");
	cr_assert_eq(jint(r, "summary.rounds"), 2);
	cr_assert_leq(json_integer_value(json_object_get(
			      json_array_get(jget(r, "rounds"), 1), "dirty_pages")), 200 + 100);
	json_decref(r);
}

/* ---- hostile peers against a live destination ---- */

struct wire {
	int fd;
	uint32_t seq;
};

static void wire_open(struct wire *w, uint16_t port)
{
	char addr[32];

	snprintf(addr, sizeof(addr), "127.0.0.1:%u", port);
	cr_assert_eq(db_tcp_connect(addr, 5000000000ull, &w->fd), 0, "%s", db_strerror());
	w->seq = 0;
}

static void wire_raw(struct wire *w, const void *p, size_t n)
{
	cr_assert_eq(send(w->fd, p, n, MSG_NOSIGNAL), (ssize_t)n);
}

static void wire_send(struct wire *w, uint16_t type, const void *p, size_t n)
{
	uint8_t h[DB_PROTO_HDR_BYTES];

	db_hdr_encode(h, type, (uint32_t)n, w->seq++);
	wire_raw(w, h, sizeof(h));
	if (n)
		wire_raw(w, p, n);
}

static void wire_hello(struct wire *w, uint64_t ram, uint32_t page_size)
{
	static uint8_t buf[256];
	struct db_hello h = { .ram_bytes = ram, .page_size = DB_PAGE_SIZE,
			      .chunk_pages = 4, .config = "test", .config_len = 4 };
	size_t n = db_enc_hello(buf, sizeof(buf), &h);

	db_put32(buf + 8, page_size);
	wire_send(w, DB_FR_HELLO, buf, n);
}

/* Read frames until ERROR (its text returned) or the end of the stream. */
static void wire_expect_error(struct wire *w, const char *needle)
{
	uint8_t h[DB_PROTO_HDR_BYTES], *p;
	struct pollfd pfd = { .fd = w->fd, .events = POLLIN };
	struct db_frame_hdr fh;
	struct db_msg m;
	size_t off;
	ssize_t n;
	int i;

	for (i = 0; i < 100; i++) {
		for (off = 0; off < sizeof(h); off += (size_t)n) {
			cr_assert_gt(poll(&pfd, 1, 10000), 0, "an answer within 10 s");
			n = read(w->fd, h + off, sizeof(h) - off);
			cr_assert_gt(n, 0, "the destination closed without an ERROR frame");
		}
		fh.type = (uint16_t)(h[6] | h[7] << 8);
		fh.len = db_get32(h + 8);
		cr_assert_leq(fh.len, 8 + DB_PROTO_MSG_MAX + 4096);
		p = malloc(fh.len + 1);
		for (off = 0; off < fh.len; off += (size_t)n) {
			cr_assert_gt(poll(&pfd, 1, 10000), 0);
			n = read(w->fd, p + off, fh.len - off);
			cr_assert_gt(n, 0);
		}
		if (fh.type == DB_FR_ERROR) {
			cr_assert_eq(db_msg_decode(DB_FR_ERROR, p, fh.len, &m), 0);
			cr_assert(memmem(m.error.text, m.error.len, needle, strlen(needle)),
				  "ERROR '%.*s' mentions '%s'", (int)m.error.len,
				  m.error.text, needle);
			free(p);
			n = read(w->fd, h, 1);
			cr_assert_leq(n, 0, "and the connection is closed");
			close(w->fd);
			return;
		}
		free(p);
	}
	cr_assert_fail("no ERROR frame");
}

/*
 * The destination answered with an ERROR naming the problem, closed, and
 * exited with status 'want' (not a crash), saying the same on stderr.
 */
static void refused(struct wire *w, struct proc *d, const char *needle, int want)
{
	int st;

	wire_expect_error(w, needle);
	st = wait_exit(d, 20);

	cr_assert_eq(st, want, "dest exit %d (want %d; no crash): %s", st, want, d->errbuf);
	cr_assert(strstr(d->errbuf, needle), "stderr '%s' mentions '%s'", d->errbuf, needle);
}

Test(hostile, wrong_version)
{
	struct proc d;
	struct wire w;
	uint8_t h[DB_PROTO_HDR_BYTES + 104] = { 0 };

	wire_open(&w, start_dest(&d, NULL));
	db_hdr_encode(h, DB_FR_HELLO, 104, 0);
	h[4] = 7;
	wire_raw(&w, h, sizeof(h));
	refused(&w, &d, "protocol version 7 not supported", 2);
}

Test(hostile, garbage_instead_of_frames)
{
	struct proc d;
	struct wire w;

	wire_open(&w, start_dest(&d, NULL));
	wire_raw(&w, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 27);
	refused(&w, &d, "bad frame magic", 2);
}

Test(hostile, oversized_frame)
{
	struct proc d;
	struct wire w;
	uint8_t h[DB_PROTO_HDR_BYTES];

	wire_open(&w, start_dest(&d, NULL));
	wire_hello(&w, 16 * DB_PAGE_SIZE, DB_PAGE_SIZE);
	db_hdr_encode(h, DB_FR_PAGES, 100u << 20, w.seq++);
	wire_raw(&w, h, sizeof(h));
	refused(&w, &d, "exceeds its limit", 2);
}

Test(hostile, truncated_frame)
{
	struct proc d;
	struct wire w;
	uint8_t h[DB_PROTO_HDR_BYTES + 50] = { 0 };

	wire_open(&w, start_dest(&d, NULL));
	db_hdr_encode(h, DB_FR_HELLO, 104, 0);
	wire_raw(&w, h, sizeof(h));
	shutdown(w.fd, SHUT_WR);
	refused(&w, &d, "truncated frame HELLO: the source closed the stream after 50 of 104 bytes", 4);
}

Test(hostile, page_number_outside_ram)
{
	struct proc d;
	struct wire w;
	uint8_t p[64];
	uint64_t desc = 99 | DB_PAGE_DESC_ZERO;

	wire_open(&w, start_dest(&d, NULL));
	wire_hello(&w, 16 * DB_PAGE_SIZE, DB_PAGE_SIZE);
	wire_send(&w, DB_FR_ROUND_BEGIN, p, db_enc_round(p, DB_FR_ROUND_BEGIN, 0, 0, 1, 0));
	wire_send(&w, DB_FR_PAGES, p, db_enc_pages_prefix(p, 1, &desc));
	refused(&w, &d, "page 99 outside RAM of 16 pages", 2);
}

Test(hostile, phases_out_of_order)
{
	struct proc d;
	struct wire w;
	uint8_t p[64];

	wire_open(&w, start_dest(&d, NULL));
	wire_hello(&w, 16 * DB_PAGE_SIZE, DB_PAGE_SIZE);
	wire_send(&w, DB_FR_END, p, db_enc_end(p, (struct db_hash128){ 1, 2 }, 0, 0));
	refused(&w, &d, "before the final round", 2);

	wire_open(&w, start_dest(&d, NULL));
	wire_send(&w, DB_FR_ROUND_BEGIN, p, db_enc_round(p, DB_FR_ROUND_BEGIN, 0, 0, 1, 0));
	refused(&w, &d, "expected HELLO first", 2);
}

Test(hostile, hello_that_does_not_fit)
{
	struct proc d;
	struct wire w;

	wire_open(&w, start_dest(&d, NULL));
	wire_hello(&w, 16 * DB_PAGE_SIZE, 65536);
	refused(&w, &d, "page size 65536", 2);

	/* a petabyte of guest RAM cannot be had */
	wire_open(&w, start_dest(&d, NULL));
	wire_hello(&w, 1ull << 50, DB_PAGE_SIZE);
	refused(&w, &d, "cannot map", 3);
}

/* ---- usage and resources ---- */

static void usage_error(const char *const argv[], const char *needle)
{
	char err[8192];
	int st = run(argv, NULL, err, sizeof(err), 30);

	cr_assert_eq(st, 2, "%s %s: exit %d (want 2): %s", argv[1], argv[2], st, err);
	cr_assert(strstr(err, needle), "'%s' names '%s'", err, needle);
}

Test(engine, bad_options_exit_2_naming_the_option)
{
	const char *a[] = { "dirtybench", "run", "--ram", "12Q", NULL };
	const char *b[] = { "dirtybench", "run", "--tracker", "no-such-tracker", NULL };
	const char *c[] = { "dirtybench", "run", "--stop", "whenever", NULL };
	const char *d[] = { "dirtybench", "run", "--workload", "dirtyram:pages=0", NULL };
	const char *e[] = { "dirtybench", "run", "--bogus", NULL };
	const char *f[] = { "dirtybench", "migrate", "--tracker", "hash", NULL };
	const char *g[] = { "dirtybench", "dest", "--listen", "1.2.3.4:99999", NULL };
	const char *h[] = { "dirtybench", "run", "--tracker", "faulty:hash:drop=x", "--ram", "4M", NULL };
	const char *i[] = { "dirtybench", "run", "--tracker", "hash", "--ram", "4M",
			    "--workload", "dirtyram:pages=5000", NULL };

	usage_error(a, "--ram");
	usage_error(b, "--tracker");
	usage_error(c, "--stop");
	usage_error(d, "--workload");
	usage_error(e, "--bogus");
	usage_error(f, "--to");
	usage_error(g, "--listen");
	usage_error(h, "--tracker");
	usage_error(i, "--workload");
}

Test(engine, an_unavailable_tracker_exits_3_with_the_probe_reason)
{
	const char *argv[] = { "dirtybench", "run", "--tracker", NULL, "--ram", "4M", NULL };
	char why[512], err[8192];
	size_t i;
	int st;

	for (i = 0; i < db_tracker_count(); i++) {
		const struct db_tracker_ops *ops = db_tracker_ops_at(i);

		if (available(ops->name, why, sizeof(why)))
			continue;
		argv[3] = ops->name;
		st = run(argv, NULL, err, sizeof(err), 30);
		cr_assert_eq(st, 3, "%s: exit %d (want 3): %s", ops->name, st, err);
		cr_assert(strstr(err, why), "'%s' gives the probe's reason '%s'", err, why);
		return;
	}
	cr_skip_test("every registered tracker can run here: none to refuse");
}

/* ---- dirty-limit ---- */

static json_t *limit_run(const char *limit, int want)
{
	/* 6400 pages/s (26 MB/s) against 5 MB/s: lambda 5, never converges */
	const char *argv[] = { "dirtybench", "run", "--tracker", "uffd-wp", "--ram", "8M",
			       "--bandwidth", "40mbit", "--downtime-limit", "1000",
			       "--workload", "dirtyram:pages=2048,dirty=64,period=10",
			       "--dirty-limit", limit, "--max-time", "6",
			       "--out", NULL, "--quiet", NULL };
	char err[8192];
	int st;

	argv[17] = tmpdir();
	st = run(argv, NULL, err, sizeof(err), 90);
	cr_assert_eq(st, want, "--dirty-limit %s: exit %d (want %d): %s", limit, st,
		     want, err);
	return result(argv[17]);
}

Test(engine, dirty_limit_makes_a_fast_writer_converge, .timeout = 120)
{
	json_t *r = limit_run("auto", 0), *rounds;
	long long from, cap;

	cr_assert(jtrue(r, "summary.ram_equal"));
	cr_assert(jtrue(r, "summary.converged"), "stop reason %s",
		  jstr(r, "summary.stop_reason"));
	from = jint(r, "summary.dirty_limit_from_round");
	cap = jint(r, "summary.dirty_limit_pps");
	/* QEMU's trigger: two rounds in a row dirtied more than half they sent */
	cr_assert_eq(from, 2, "throttled from round 2, got %lld", from);
	/* auto: half the measured 5 MB/s, in pages */
	cr_assert(cap > 0.5 * 5e6 / 4096 * 0.8 && cap < 0.5 * 5e6 / 4096 * 1.2,
		  "cap %lld pages/s", cap);
	rounds = jget(r, "rounds");
	cr_assert_eq(json_integer_value(json_object_get(json_array_get(rounds, 1),
							"dirty_limit_pps")), 0);
	cr_assert_eq(json_integer_value(json_object_get(json_array_get(rounds, 2),
							"dirty_limit_pps")), cap);
	cr_assert_lt(jint(r, "summary.downtime_ns"), 1500000000ll);
	cr_assert_gt(jint(r, "workload.throttled_ns"), 0, "the guest's wait for the cap is reported");
	json_decref(r);

	r = limit_run("off", 0);
	cr_assert(jtrue(r, "summary.ram_equal"));
	cr_assert(!jtrue(r, "summary.converged"), "without a cap lambda 5 never converges");
	cr_assert_str_eq(jstr(r, "summary.stop_reason"), "time-force");
	cr_assert(json_is_null(jget(r, "summary.dirty_limit_from_round")));
	json_decref(r);
}

/* ---- faults: hung, killed, slow and replaying peers ---- */

TestSuite(faults, .fini = remove_dirs);

/* Stop a process we may already have lost to its parent's reaping. */
static void kill_if_alive(pid_t pid)
{
	if (pid > 0 && kill(pid, 0) == 0) {
		kill(pid, SIGKILL);
		kill(pid, SIGCONT);
	}
}

/*
 * A destination frozen by SIGSTOP neither closes nor resets its
 * connection: the source has only its silence to go by, and gives up
 * after the peer timeout, the guest still running.
 */
Test(faults, a_hung_destination_is_given_up_after_the_peer_timeout, .timeout = 120)
{
	const char *argv[] = { "dirtybench", "run", "--tracker", "hash", "--ram", "32M",
			       "--bandwidth", "200mbit", "--peer-timeout", "1000",
			       "--progress", "--out", NULL, NULL };
	uint64_t stopped_at, noticed;
	struct proc p;
	json_t *r;
	pid_t dst;
	int st;

	argv[12] = tmpdir();
	spawn(&p, argv, NULL, true);
	cr_assert(wait_line(&p, "round 0", 30000), "round 0 finished");
	usleep(200000);
	dst = child_of(p.pid);
	cr_assert_gt(dst, 0, "the destination is a separate process");
	stopped_at = db_now_ns();
	kill(dst, SIGSTOP);
	st = wait_exit(&p, 40);
	kill_if_alive(dst);
	cr_assert_eq(st, 4, "exit %d (want 4): %s", st, p.errbuf);
	r = result(argv[12]);
	cr_assert_str_eq(jstr(r, "summary.outcome"), "aborted");
	noticed = (uint64_t)jint(r, "clock.start_mono_ns") +
		  (uint64_t)jint(r, "summary.aborted_at_ns");
	cr_assert_gt(noticed, stopped_at + 500000000ull,
		     "a live but frozen peer is not given up at once (%.3f s)",
		     ((double)noticed - (double)stopped_at) / 1e9);
	cr_assert_lt(noticed - stopped_at, 3000000000ull,
		     "given up %.3f s after the SIGSTOP (peer timeout 1 s)",
		     (noticed - stopped_at) / 1e9);
	cr_assert(strstr(jstr(r, "error"), "destination"), "the error names the destination: %s",
		  jstr(r, "error"));
	cr_assert(jtrue(r, "summary.guest_running_on_source"));
	cr_assert_gt(jint(r, "workload.pages_written_after_abort"), 0,
		     "the guest kept writing on the source");
	json_decref(r);
}

/*
 * The source dies by SIGKILL at a round drawn at random (the seed is
 * in the log): the destination ends with exit 4, naming the source, and
 * claims nothing.
 */
Test(faults, a_source_killed_at_a_random_round, .timeout = 120)
{
	struct proc d, s;
	char to[64], *out = tmpdir(), path[128], line[32];
	const char *argv[] = { "dirtybench", "migrate", "--to", to, "--tracker", "hash",
			       "--ram", "16M", "--bandwidth", "100mbit", "--stop", "rounds:8",
			       "--workload", "dirtyram:pages=1000,dirty=100,period=10",
			       "--progress", NULL };
	unsigned seed = (unsigned)(db_now_ns() ^ (uint64_t)getpid()), round;
	json_t *r;
	int st;

	srand(seed);
	round = (unsigned)rand() % 5;
	cr_log_info("seed %u: the source dies in round %u", seed, round);
	snprintf(to, sizeof(to), "127.0.0.1:%u", start_dest(&d, out));
	spawn(&s, argv, NULL, true);
	if (round) {
		snprintf(line, sizeof(line), "round %u:", round - 1);
		cr_assert(wait_line(&s, line, 30000), "seed %u: %s finished", seed, line);
	} else {
		usleep(300000);
	}
	usleep((useconds_t)(rand() % 100) * 1000);
	kill(s.pid, SIGKILL);
	wait_exit(&s, 10);
	st = wait_exit(&d, 20);
	cr_assert_eq(st, 4, "seed %u, round %u: dest exit %d (want 4): %s", seed, round, st,
		     d.errbuf);
	cr_assert(strstr(d.errbuf, "source"), "the error names the source: %s", d.errbuf);
	snprintf(path, sizeof(path), "%s/result.json", out);
	if (access(path, F_OK))
		return;
	r = result(out);
	cr_assert_str_neq(jstr(r, "summary.outcome"), "completed", "seed %u", seed);
	cr_assert(!jtrue(r, "summary.ram_equal"));
	json_decref(r);
}

/* send() that may fail: the peer may have closed already. */
static void wire_try(struct wire *w, const void *p, size_t n)
{
	(void)!send(w->fd, p, n, MSG_NOSIGNAL);
}

/*
 * A source that stays alive but trickles a PAGES frame, a byte every
 * 200 ms (never silent for the 1 s peer timeout), is dropped once it has
 * moved nothing on for the progress timeout.
 */
Test(faults, a_source_trickling_a_frame_is_dropped, .timeout = 60)
{
	struct proc d;
	struct wire w;
	uint8_t p[64], h[DB_PROTO_HDR_BYTES + 16];
	uint64_t desc = 3, t0;
	size_t i;

	wire_open(&w, start_dest_with(&d, NULL, "1500"));
	t0 = db_now_ns();
	wire_hello(&w, 16 * DB_PAGE_SIZE, DB_PAGE_SIZE);
	wire_send(&w, DB_FR_ROUND_BEGIN, p, db_enc_round(p, DB_FR_ROUND_BEGIN, 0, 0, 1, 0));
	db_hdr_encode(h, DB_FR_PAGES, 8 + 8 + DB_PAGE_SIZE, w.seq++);
	db_enc_pages_prefix(h + DB_PROTO_HDR_BYTES, 1, &desc);
	for (i = 0; i < sizeof(h) && db_now_ns() - t0 < 1300000000ull; i++) {
		wire_try(&w, h + i, 1);
		usleep(200000);
	}
	refused(&w, &d, "the source made no progress for 1.5 s", 4);
	cr_assert_lt(db_now_ns() - t0, 4000000000ull, "dropped within 4 s");
}

/* PINGs keep a connection alive but do not move a migration on. */
Test(faults, a_source_sending_only_pings_is_dropped, .timeout = 60)
{
	struct proc d;
	struct wire w;
	uint8_t p[8];
	uint64_t t0;

	wire_open(&w, start_dest_with(&d, NULL, "1500"));
	t0 = db_now_ns();
	wire_hello(&w, 16 * DB_PAGE_SIZE, DB_PAGE_SIZE);
	while (db_now_ns() - t0 < 1300000000ull) {
		db_put64(p, db_now_ns());
		wire_send(&w, DB_FR_PING, p, sizeof(p));
		usleep(200000);
	}
	refused(&w, &d, "the source made no progress for 1.5 s", 4);
}

/* The frames of a real round's start, as a source sends them. */
static void wire_round0(struct wire *w, uint8_t *pages, size_t *pages_len)
{
	uint8_t p[64];
	uint64_t desc = 2 | DB_PAGE_DESC_ZERO;

	wire_hello(w, 16 * DB_PAGE_SIZE, DB_PAGE_SIZE);
	wire_send(w, DB_FR_ROUND_BEGIN, p, db_enc_round(p, DB_FR_ROUND_BEGIN, 0, 0, 1, 0));
	*pages_len = db_enc_pages_prefix(pages, 1, &desc);
}

Test(faults, a_replayed_frame_is_refused)
{
	struct proc d;
	struct wire w;
	uint8_t pages[64], h[DB_PROTO_HDR_BYTES], p[64];
	size_t n;

	/* the same bytes twice: the sequence number gives it away */
	wire_open(&w, start_dest(&d, NULL));
	wire_round0(&w, pages, &n);
	db_hdr_encode(h, DB_FR_PAGES, (uint32_t)n, w.seq++);
	wire_raw(&w, h, sizeof(h));
	wire_raw(&w, pages, n);
	wire_raw(&w, h, sizeof(h));
	wire_raw(&w, pages, n);
	refused(&w, &d, "frame PAGES has sequence number 2, expected 3 (lost or replayed frame)", 2);

	/* a whole round replayed, renumbered: the round number gives it away */
	wire_open(&w, start_dest(&d, NULL));
	wire_round0(&w, pages, &n);
	wire_send(&w, DB_FR_PAGES, pages, n);
	wire_send(&w, DB_FR_ROUND_END, p, db_enc_round(p, DB_FR_ROUND_END, 0, 0, 1, 1));
	wire_send(&w, DB_FR_ROUND_BEGIN, p, db_enc_round(p, DB_FR_ROUND_BEGIN, 0, 0, 1, 0));
	refused(&w, &d, "frame ROUND_BEGIN out of order: round 0, expected 1", 2);
}

Test(faults, reordered_frames_are_refused)
{
	struct proc d;
	struct wire w;
	uint8_t pages[64], p[64], h[DB_PROTO_HDR_BYTES];
	size_t n;

	/* swapped on the wire: sequence numbers out of order */
	wire_open(&w, start_dest(&d, NULL));
	wire_round0(&w, pages, &n);
	db_hdr_encode(h, DB_FR_ROUND_END, 24, w.seq + 1);
	wire_raw(&w, h, sizeof(h));
	wire_raw(&w, p, db_enc_round(p, DB_FR_ROUND_END, 0, 0, 1, 1));
	refused(&w, &d, "frame ROUND_END has sequence number 3, expected 2", 2);

	/* reordered by the sender, numbered in its order: the round's counts */
	wire_open(&w, start_dest(&d, NULL));
	wire_round0(&w, pages, &n);
	wire_send(&w, DB_FR_ROUND_END, p, db_enc_round(p, DB_FR_ROUND_END, 0, 0, 1, 1));
	wire_send(&w, DB_FR_PAGES, pages, n);
	refused(&w, &d, "frame ROUND_END: round 0 with 1 pages (1 zero), but round 0 announced 1 and brought 0 (0 zero)", 2);
}

/*
 * The source against a destination that replays its HELLO_ACK: the
 * source aborts (exit 4) naming the replay, and its guest runs on.
 */
Test(faults, a_destination_replaying_a_frame_aborts_the_source, .timeout = 60)
{
	char to[64], *out = tmpdir();
	const char *argv[] = { "dirtybench", "migrate", "--to", to, "--tracker", "hash",
			       "--ram", "16M", "--bandwidth", "100mbit", "--quiet",
			       "--out", out, NULL };
	uint8_t h[DB_PROTO_HDR_BYTES + 16] = { 0 }, in[DB_PROTO_HDR_BYTES];
	struct pollfd pfd;
	struct proc s;
	uint16_t port;
	json_t *r;
	int lfd, fd, st;

	cr_assert_eq(db_tcp_listen("127.0.0.1:0", &lfd, &port), 0, "%s", db_strerror());
	snprintf(to, sizeof(to), "127.0.0.1:%u", port);
	spawn(&s, argv, NULL, false);
	cr_assert_eq(db_tcp_accept(lfd, 10000000000ull, &fd), 0, "%s", db_strerror());
	pfd.fd = fd;
	pfd.events = POLLIN;
	cr_assert_gt(poll(&pfd, 1, 10000), 0, "the HELLO comes");
	cr_assert_eq(read(fd, in, sizeof(in)), (ssize_t)sizeof(in));
	db_hdr_encode(h, DB_FR_HELLO_ACK, 16, 0);
	db_put64(h + DB_PROTO_HDR_BYTES, db_now_ns());
	cr_assert_eq(send(fd, h, sizeof(h), MSG_NOSIGNAL), (ssize_t)sizeof(h));
	cr_assert_eq(send(fd, h, sizeof(h), MSG_NOSIGNAL), (ssize_t)sizeof(h));
	st = wait_exit(&s, 30);
	close(fd);
	close(lfd);
	cr_assert_eq(st, 4, "exit %d (want 4): %s", st, s.errbuf);
	cr_assert(strstr(s.errbuf, "frame HELLO_ACK has sequence number 0, expected 1 (lost or replayed frame)"),
		  "the error names the replay: %s", s.errbuf);
	r = result(out);
	cr_assert_str_eq(jstr(r, "summary.outcome"), "aborted");
	cr_assert(jtrue(r, "summary.guest_running_on_source"));
	json_decref(r);
}
