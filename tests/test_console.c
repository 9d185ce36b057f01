// SPDX-License-Identifier: MIT
/* The guest console parser on transcripts like the kernel test bed's. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "dirtybench/common.h"
#include "../collectors/console.h"

/* A good run: kernel chatter, \r\n line ends, lines and TAP suites. */
static const char good[] =
	"SeaBIOS (version 1.16.2-debian-1.16.2-1)\r\n"
	"[    0.000000] Linux version 6.1.0-56-amd64 (debian-kernel@lists.debian.org)\r\n"
	"[    1.617500] Unstable clock detected, switching default tracing clock to \"global\"\r\n"
	"DBK BOOT 1.87 6.1.0-56-amd64\r\n"
	"DBK BEGIN system\r\n"
	"[    2.001000] cowtrack: loading out-of-tree module taints kernel.\r\n"
	"DBK RESULT system insmod PASS cowtrack: ABI 1, max 4096 MiB per context\r\n"
	"DBK END system 0\r\n"
	"DBK BEGIN module\r\n"
	"DBK RESULT module version_before_create PASS\r\n"
	"[    3.100000] random: crng init doneDBK RESULT module mmap_is_validated PASS\r\n"
	"DBK RESULT module large_context SKIP max_size_mb below 1024\r\n"
	"DBK END module 0\r\n"
	"DBK TAP trackers\r\n"
	"TAP version 13\r\n"
	"1..3\r\n"
	"# Criterion v2.4.1\r\n"
	"ok - other::thing  # SKIP test was skipped\r\n"
	"ok - kmod_cow::provides_ram  (0.12s)\r\n"
	"ok - kmod_cow::oversized  # SKIP no device here: why\r\n"
	"DBK END trackers 0\r\n"
	"DBK BEGIN system\r\n"
	"DBK RESULT system dmesg_clean PASS\r\n"
	"DBK END system 0\r\n"
	"DBK DONE 61.25\r\n"
	"[   61.300000] reboot: Power down\r\n";

static const char *const all_suites[] = { "system", "module", "trackers" };

static void parse(struct db_console *c, const char *text)
{
	cr_assert_eq(db_console_parse(c, text, strlen(text)), 0, "%s",
		     db_strerror());
}

Test(console, good_run_passes_with_every_result)
{
	const struct db_console_result *r;
	const struct db_console_suite *s;
	struct db_console c;

	parse(&c, good);
	cr_assert(c.booted && c.done);
	cr_assert_float_eq(c.boot_s, 1.87, 1e-9);
	cr_assert_float_eq(c.done_s, 61.25, 1e-9);
	cr_assert_str_eq(c.kernel, "6.1.0-56-amd64");
	cr_assert_eq(c.ncomplaints, 0, "complaint: %s", c.complaints[0]);
	/* Filtered TAP tests are not results. */
	cr_assert_eq(c.nresults, 7);
	r = db_console_result(&c, "module", "mmap_is_validated");
	cr_assert(r, "a result after kernel output on the same line is found");
	cr_assert_eq(r->verdict, DB_CON_PASS);
	r = db_console_result(&c, "system", "insmod");
	cr_assert(r);
	cr_assert_str_eq(r->detail, "cowtrack: ABI 1, max 4096 MiB per context");
	r = db_console_result(&c, "trackers", "kmod_cow::oversized");
	cr_assert(r);
	cr_assert_eq(r->verdict, DB_CON_SKIP);
	cr_assert_str_eq(r->detail, "no device here: why");
	s = db_console_suite(&c, "trackers");
	cr_assert(s && s->tap && s->ended);
	cr_assert_eq(s->pass, 1);
	cr_assert_eq(s->skip, 1);
	s = db_console_suite(&c, "system");
	cr_assert(s && s->ended);
	cr_assert_eq(s->pass, 2, "results of a suite's two sections add up");
	cr_assert_eq(db_console_check(&c, all_suites, 3), 0, "%s",
		     db_strerror());
	db_console_free(&c);
}

Test(console, failed_result_fails_and_is_named)
{
	static const char text[] =
		"DBK BOOT 2.00 6.1.0\n"
		"DBK BEGIN module\n"
		"DBK RESULT module dirty_log_is_exact_and_rearmed FAIL round 1: 0 pages reported, want 5\n"
		"DBK RESULT module version_before_create PASS\n"
		"DBK END module 1\n"
		"DBK DONE 9.00\n";
	const char *req[] = { "module" };
	struct db_console c;

	parse(&c, text);
	cr_assert_eq(db_console_result(&c, "module",
				       "dirty_log_is_exact_and_rearmed")->verdict,
		     DB_CON_FAIL);
	cr_assert_eq(db_console_check(&c, req, 1), -EIO);
	cr_assert(strstr(db_strerror(),
			 "module/dirty_log_is_exact_and_rearmed failed: round 1: 0 pages reported"),
		  "message: %s", db_strerror());
	db_console_free(&c);
}

Test(console, boot_that_never_reports_fails)
{
	static const char text[] =
		"[    1.811631] Failed to execute /init (error -2)\r\n"
		"[    1.812881] Kernel panic - not syncing: No working init found.\r\n"
		"[    1.813624] Call Trace:\r\n";
	const char *req[] = { "module" };
	struct db_console c;

	parse(&c, text);
	cr_assert(!c.booted && !c.done);
	cr_assert_eq(c.ncomplaints, 1);
	cr_assert(strstr(c.complaints[0], "Kernel panic"));
	cr_assert_eq(db_console_check(&c, req, 1), -EIO);
	cr_assert(strstr(db_strerror(), "never reported"), "%s", db_strerror());
	cr_assert(strstr(db_strerror(), "suite module never reported"), "%s",
		  db_strerror());
	db_console_free(&c);

	parse(&c, "");
	cr_assert_eq(db_console_check(&c, NULL, 0), -EIO,
		     "an empty console is a failure");
	db_console_free(&c);
}

Test(console, oops_and_missing_done_fail)
{
	static const char text[] =
		"DBK BOOT 2.00 6.1.0\n"
		"DBK BEGIN module\n"
		"DBK RESULT module a PASS\n"
		"[   5.0] BUG: kernel NULL pointer dereference, address: 0000000000000008\n"
		"[   5.0] WARNING: CPU: 1 PID: 77 at mm/memory.c:1234 zap_pte_range+0x1/0x2\n";
	struct db_console c;

	parse(&c, text);
	cr_assert(c.booted && !c.done);
	cr_assert_eq(c.ncomplaints, 2);
	cr_assert_eq(db_console_check(&c, NULL, 0), -EIO);
	cr_assert(strstr(db_strerror(), "stopped before DBK DONE"), "%s",
		     db_strerror());
	cr_assert(strstr(db_strerror(), "complained 2 times, first: '[   5.0] BUG: kernel NULL"),
		  "%s", db_strerror());
	db_console_free(&c);
}

Test(console, guest_quoting_dmesg_is_not_a_kernel_complaint)
{
	static const char text[] =
		"DBK BOOT 2.00 6.1.0\n"
		"DBK RESULT system dmesg_clean FAIL WARNING: CPU: 0 PID: 1 at x.c:1\n"
		"DBK DONE 3.00\n";
	struct db_console c;

	parse(&c, text);
	cr_assert_eq(c.ncomplaints, 0);
	cr_assert_eq(db_console_result(&c, "system", "dmesg_clean")->verdict,
		     DB_CON_FAIL);
	cr_assert_str_eq(db_console_result(&c, "system", "dmesg_clean")->detail,
			 "WARNING: CPU: 0 PID: 1 at x.c:1");
	db_console_free(&c);
}

Test(console, tap_failures_keep_their_reason)
{
	static const char text[] =
		"DBK BOOT 2.00 6.1.0\n"
		"DBK TAP trackers\n"
		"TAP version 13\n"
		"not ok - s::timesout timed out (1.01s)\n"
		"not ok - s::fails  (0.00s)\n"
		"  ---\n"
		"  assertions: 1\n"
		"  failures:\n"
		"  - t.c:4: |+\n"
		"      Assertion failed: one is not 2\n"
		"  ...\n"
		"not ok - s::crashes unexpected signal after t.c:6\n"
		"ok - s::passes  (0.00s)\n"
		"DBK END trackers 1\n"
		"DBK DONE 3.00\n";
	const char *req[] = { "trackers" };
	const struct db_console_result *r;
	struct db_console c;

	parse(&c, text);
	cr_assert_eq(c.nresults, 4);
	r = db_console_result(&c, "trackers", "s::timesout");
	cr_assert(r && r->verdict == DB_CON_FAIL);
	cr_assert_str_eq(r->detail, "timed out (1.01s)");
	r = db_console_result(&c, "trackers", "s::fails");
	cr_assert(r && r->verdict == DB_CON_FAIL);
	cr_assert(strstr(r->detail, "t.c:4:") &&
		  strstr(r->detail, "Assertion failed: one is not 2"),
		  "detail: %s", r->detail);
	r = db_console_result(&c, "trackers", "s::crashes");
	cr_assert(r && strstr(r->detail, "unexpected signal"));
	cr_assert_eq(db_console_suite(&c, "trackers")->fail, 3);
	cr_assert_eq(db_console_check(&c, req, 1), -EIO);
	db_console_free(&c);
}

Test(console, required_suites_must_pass_something_and_finish)
{
	static const char text[] =
		"DBK BOOT 2.00 6.1.0\n"
		"DBK BEGIN module\n"
		"DBK RESULT module only_skip SKIP no reason to run\n"
		"DBK END module 0\n"
		"DBK BEGIN migration\n"
		"DBK END migration 4\n"
		"DBK RESULT system x PASS\n"
		"DBK BEGIN trackers\n"
		"DBK RESULT trackers t PASS\n"
		"DBK DONE 3.00\n";
	const char *req[] = { "module", "migration", "trackers", "absent" };
	struct db_console c;

	parse(&c, text);
	cr_assert_eq(db_console_check(&c, req, 4), -EIO);
	cr_assert(strstr(db_strerror(), "4 problems"), "%s", db_strerror());
	cr_assert(strstr(db_strerror(), "suite module passed no test"), "%s",
		  db_strerror());
	cr_assert(strstr(db_strerror(), "suite migration passed no test"), "%s",
		  db_strerror());
	cr_assert(strstr(db_strerror(), "suite trackers did not finish"), "%s",
		  db_strerror());
	cr_assert(strstr(db_strerror(), "suite absent never reported"), "%s",
		  db_strerror());
	db_console_free(&c);
}

Test(console, exit_status_without_failure_lines_fails)
{
	static const char text[] =
		"DBK BOOT 2.00 6.1.0\n"
		"DBK BEGIN module\n"
		"DBK RESULT module a PASS\n"
		"DBK END module 139\n"
		"DBK DONE 3.00\n";
	const char *req[] = { "module" };
	struct db_console c;

	parse(&c, text);
	cr_assert_eq(db_console_check(&c, req, 1), -EIO);
	cr_assert(strstr(db_strerror(), "suite module exited with status 139"),
		  "%s", db_strerror());
	db_console_free(&c);
}

Test(console, file_errors_name_the_file)
{
	struct db_console c;

	cr_assert_eq(db_console_parse_file(&c, "/nonexistent/console.log"),
		     -ENOENT);
	cr_assert(strstr(db_strerror(), "/nonexistent/console.log"), "%s",
		  db_strerror());
}
