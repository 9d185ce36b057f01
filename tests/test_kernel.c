// SPDX-License-Identifier: MIT
/*
 * The kernel test bed, from make check: ci/kernel/run.sh builds the cowtrack
 * module against the installed Debian headers, boots Debian's kernel under
 * QEMU (TCG) and runs the module's ioctl suite, the kmod-cow tracker suite,
 * a loopback migration and the random-call loop inside; these tests judge
 * its console. Skipped, with the reason, where QEMU, the kernel image or its
 * headers are missing, or when DIRTYBENCH_SKIP_KERNEL says why not to run it.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dirtybench/common.h"
#include "../collectors/console.h"
#include "fixture.h"

/* Skip with the reason when this machine cannot run the test bed. */
static void need_test_bed(void)
{
	const char *skip = getenv("DIRTYBENCH_SKIP_KERNEL");
	char why[1024] = "";
	FILE *p;
	size_t n;
	int st;

	if (skip && *skip)
		cr_skip_test("kernel test bed skipped: %s", skip);
	p = popen("sh ci/kernel/run.sh --check 2>&1", "r");
	cr_assert(p, "popen: %s", strerror(errno));
	n = fread(why, 1, sizeof(why) - 1, p);
	why[n] = '\0';
	st = pclose(p);
	if (n && why[n - 1] == '\n')
		why[n - 1] = '\0';
	if (WIFEXITED(st) && WEXITSTATUS(st) == 3)
		cr_skip_test("%s", why);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		  "run.sh --check failed: %s", why);
}

/* Run the test bed; return its exit status, console parsed into c. */
static int run_bed(struct db_console *c, const char *args, const char *out)
{
	char cmd[6 * PATH_MAX], bdir[PATH_MAX], log[PATH_MAX + 32];
	const char *bin = getenv("DIRTYBENCH_BIN");
	int st, err, n;

	fx_build_dir(bdir, sizeof(bdir));
	n = snprintf(cmd, sizeof(cmd),
		 "O='%s' DIRTYBENCH_BIN='%s' sh ci/kernel/run.sh %s --out '%s/%s' >'%s/%s.log' 2>&1",
		 bdir, bin ? bin : "bin", args, bdir, out, bdir, out);
	cr_assert(n > 0 && (size_t)n < sizeof(cmd), "command too long");
	st = system(cmd);
	cr_assert(st != -1 && WIFEXITED(st), "%s: did not exit normally", cmd);
	snprintf(log, sizeof(log), "%s/%s/console.log", bdir, out);
	err = db_console_parse_file(c, log);
	cr_assert_eq(err, 0, "%s (run.sh exited %d, see %s/%s.log)",
		     db_strerror(), WEXITSTATUS(st), bdir, out);
	cr_assert(c->booted, "the guest never reported; see %s", log);
	cr_assert(c->done, "the guest stopped before its last line ('%s'); see %s",
		  c->last_line, log);
	return WEXITSTATUS(st);
}

static void expect_pass(const struct db_console *c, const char *suite,
			const char *name)
{
	const struct db_console_result *r = db_console_result(c, suite, name);

	cr_assert(r, "%s/%s reported", suite, name);
	cr_assert_eq(r->verdict, DB_CON_PASS, "%s/%s: %s %s", suite, name,
		     db_console_verdict_str(r->verdict), r->detail);
}

/* The number after "key=" in a result's detail, or -1. */
static double detail_num(const char *detail, const char *key)
{
	char k[64];
	const char *p;

	snprintf(k, sizeof(k), "%s=", key);
	for (p = detail; (p = strstr(p, k)); p++)
		if (p == detail || p[-1] == ' ')
			return strtod(p + strlen(k), NULL);
	return -1;
}

/*
 * The random-call loop (tests/kernel/cowtrack_fuzz.c): it ran, every
 * refused call had the documented errno, every refusal of the table was
 * seen, and nothing was left held.
 */
static void expect_fuzz(const struct db_console *c)
{
	static const char *const seen[] = {
		"EFAULT", "EINVAL", "EBADFD", "EBUSY", "E2BIG", "ENOTTY",
	};
	const struct db_console_result *r;
	size_t i;

	expect_pass(c, "fuzz", "ioctl_loop");
	r = db_console_result(c, "fuzz", "ioctl_loop");
	cr_expect_gt(detail_num(r->detail, "calls"), 20000,
		     "the loop made more than 20000 calls: %s", r->detail);
	cr_expect_gt(detail_num(r->detail, "forks"), 0,
		     "the churn thread forked writers: %s", r->detail);
	cr_log_info("fuzz: %s", r->detail);
	expect_pass(c, "fuzz", "errno_oracle");
	r = db_console_result(c, "fuzz", "errno_oracle");
	cr_expect_eq(detail_num(r->detail, "mismatches"), 0, "%s", r->detail);
	expect_pass(c, "fuzz", "refused_errnos");
	r = db_console_result(c, "fuzz", "refused_errnos");
	for (i = 0; i < sizeof(seen) / sizeof(seen[0]); i++)
		cr_expect_gt(detail_num(r->detail, seen[i]), 0,
			     "the loop was refused with %s: %s", seen[i],
			     r->detail);
	cr_expect_eq(detail_num(r->detail, "other"), 0, "%s", r->detail);
	expect_pass(c, "fuzz", "released");
	expect_pass(c, "system", "refcnt");
}

Test(kernel, module_tracker_and_migration_in_a_booted_kernel, .timeout = 1200)
{
	const struct db_console_suite *s;
	struct db_console c;
	const char *bin = getenv("DIRTYBENCH_BIN");
	char cmd[PATH_MAX];
	size_t i;
	int rc, has_run;

	need_test_bed();
	snprintf(cmd, sizeof(cmd), "'%s/dirtybench' run --help >/dev/null 2>&1",
		 bin ? bin : "bin");
	has_run = system(cmd) == 0;
	rc = run_bed(&c, "", "kernel-test");
	cr_log_info("kernel test bed: init after %.2f s, all results after %.2f s (guest clock)",
		    c.boot_s, c.done_s);
	for (i = 0; i < c.nresults; i++)
		cr_expect_neq(c.results[i].verdict, DB_CON_FAIL, "%s/%s: %s",
			      c.results[i].suite, c.results[i].name,
			      c.results[i].detail);
	cr_assert_eq(c.ncomplaints, 0, "the kernel complained: %s",
		     c.complaints[0]);
	expect_pass(&c, "system", "insmod");
	expect_pass(&c, "system", "rmmod");
	expect_pass(&c, "system", "dmesg_clean");
	expect_pass(&c, "system", "taint");
	expect_pass(&c, "module", "dirty_log_is_exact_and_rearmed");
	expect_pass(&c, "module", "snapshot_serves_round_start");
	expect_pass(&c, "module", "concurrent_writers_migrate_exactly");
	expect_pass(&c, "module", "bad_pointers_give_efault");
	expect_pass(&c, "module", "release_frees_every_page");
	expect_fuzz(&c);
	s = db_console_suite(&c, "module");
	cr_assert(s && s->pass >= 20 && !s->fail && s->ended && !s->exit_status,
		  "module suite: %zu passed, %zu failed", s ? s->pass : 0,
		  s ? s->fail : 0);
	s = db_console_suite(&c, "trackers");
	cr_assert(s && s->pass >= 3 && !s->fail && s->ended && !s->exit_status,
		  "kmod-cow tracker suite: %zu passed, %zu failed, exit %d",
		  s ? s->pass : 0, s ? s->fail : 0, s ? s->exit_status : -1);
	if (has_run) {
		const struct db_console_result *m;

		expect_pass(&c, "migration", "kmod_cow_loopback");
		m = db_console_result(&c, "migration", "kmod_cow_loopback");
		cr_expect(strstr(m->detail, "\"backing\": \"tracker\""),
			  "the module's RAM is labelled tracker: %s", m->detail);
		cr_expect(!strstr(m->detail, " 0 samples") &&
			  !strstr(m->detail, " -1 samples"),
			  "the collectors sampled the migration: %s", m->detail);
	}
	cr_assert_eq(rc, 0, "run.sh exited %d", rc);
	db_console_free(&c);
}

/* A module that skips write protection must not get through. */
Test(kernel, broken_module_is_caught, .timeout = 600)
{
	const struct db_console_result *r;
	struct db_console c;
	int rc;

	need_test_bed();
	rc = run_bed(&c, "--broken --suites module", "kernel-broken-test");
	cr_assert_eq(rc, 1, "run.sh fails on the broken module (exit %d)", rc);
	r = db_console_result(&c, "module", "dirty_log_is_exact_and_rearmed");
	cr_assert(r && r->verdict == DB_CON_FAIL,
		  "re-armed write protection is checked");
	r = db_console_result(&c, "module", "concurrent_writers_migrate_exactly");
	cr_assert(r && r->verdict == DB_CON_FAIL,
		  "the migration check sees lost writes");
	expect_pass(&c, "system", "dmesg_clean");
	db_console_free(&c);
}
