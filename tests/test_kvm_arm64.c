// SPDX-License-Identifier: MIT
/*
 * The arm64 KVM test bed, from make check: ci/kernel-arm64/run.sh boots
 * Debian's arm64 kernel under QEMU with emulated EL2 and runs the project's
 * VMM (vmm/kvm) against the guest kernel's real /dev/kvm: eager and lazy
 * splitting over anon, THP and hugetlb RAM, and a run whose dirty log is
 * thinned on purpose; the kvm tracker (KVM vCPUs writing) through the
 * tracker suite and through validated engine migrations, lazy and eager,
 * and once through the faulty wrapper. These tests judge its console. Skipped, with the
 * reason, where QEMU, the arm64 kernel or the cross-built VMM is missing,
 * or when DIRTYBENCH_SKIP_KVM says why not to run it.
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

/*
 * Run the bed; skip on exit 3 (something missing here) with its reason.
 * Returns the exit status, console parsed into c.
 */
static int run_bed(struct db_console *c, const char *out)
{
	char cmd[6 * PATH_MAX], bdir[PATH_MAX], log[PATH_MAX + 32];
	char why[1024] = "";
	const char *bin = getenv("DIRTYBENCH_BIN");
	const char *skip = getenv("DIRTYBENCH_SKIP_KVM");
	FILE *f;
	size_t n;
	int st, err, len;

	if (skip && *skip)
		cr_skip_test("arm64 KVM test bed skipped: %s", skip);
	fx_build_dir(bdir, sizeof(bdir));
	len = snprintf(cmd, sizeof(cmd),
		       "O='%s' DIRTYBENCH_BIN='%s' sh ci/kernel-arm64/run.sh --out '%s/%s' >'%s/%s.log' 2>&1",
		       bdir, bin ? bin : "bin", bdir, out, bdir, out);
	cr_assert(len > 0 && (size_t)len < sizeof(cmd), "command too long");
	st = system(cmd);
	cr_assert(st != -1 && WIFEXITED(st), "%s: did not exit normally", cmd);
	snprintf(log, sizeof(log), "%s/%s.log", bdir, out);
	if (WEXITSTATUS(st) == 3) {
		f = fopen(log, "r");
		n = f ? fread(why, 1, sizeof(why) - 1, f) : 0;
		if (f)
			fclose(f);
		why[n] = '\0';
		if (n && why[n - 1] == '\n')
			why[n - 1] = '\0';
		cr_skip_test("%s", why);
	}
	snprintf(log, sizeof(log), "%s/%s/console.log", bdir, out);
	err = db_console_parse_file(c, log);
	cr_assert_eq(err, 0, "%s (run.sh exited %d, see %s/%s.log)",
		     db_strerror(), WEXITSTATUS(st), bdir, out);
	cr_assert(c->booted, "the guest never reported; see %s", log);
	cr_assert(c->done, "the guest stopped before its last line ('%s'); see %s",
		  c->last_line, log);
	return WEXITSTATUS(st);
}

/* A figure "key=N" of a result's detail; asserts that it is there. */
static long figure(const struct db_console_result *r, const char *key)
{
	char k[64];
	const char *p;

	snprintf(k, sizeof(k), " %s=", key);
	p = strstr(r->detail, k);
	if (!p && !strncmp(r->detail, k + 1, strlen(k + 1)))
		p = r->detail - 1;
	cr_assert(p, "%s/%s has no %s: %s", r->suite, r->name, key, r->detail);
	return strtol(p + strlen(k), NULL, 10);
}

/*
 * Stage-2 page tables, kB (pt_kb=BEFORE/+ENABLE/+END): their change at
 * enabling logging (which = 1) or by the end of the rounds (which = 2).
 */
static long pt_change(const struct db_console_result *r, int which)
{
	const char *p = strstr(r->detail, "pt_kb=");

	while (p && which--)
		p = strchr(p + 1, '/');
	cr_assert(p, "%s: no pt_kb: %s", r->name, r->detail);
	return strtol(p + 1, NULL, 10);
}

static const struct db_console_result *
exact(const struct db_console *c, const char *name, bool may_skip)
{
	const struct db_console_result *r = db_console_result(c, "kvm", name);

	cr_assert(r, "kvm/%s reported", name);
	if (may_skip && r->verdict == DB_CON_SKIP) {
		/* Not cr_log_warn: Criterion exits 1 after any warning. */
		fprintf(stderr, "kvm/%s skipped inside the test bed: %s\n", name, r->detail);
		return NULL;
	}
	cr_assert_eq(r->verdict, DB_CON_PASS, "kvm/%s: %s %s", name,
		     db_console_verdict_str(r->verdict), r->detail);
	cr_assert_eq(figure(r, "missed"), 0, "kvm/%s missed pages: %s", name,
		     r->detail);
	cr_assert_gt(figure(r, "written"), 0, "kvm/%s wrote: %s", name, r->detail);
	cr_log_info("kvm/%s: %s", name, r->detail);
	return r;
}

Test(kvm_arm64, logs_trackers_and_migrations_hold_every_page_and_losses_are_caught,
     .timeout = 600)
{
	const struct db_console_result *r, *eager, *lazy;
	const struct db_console_suite *s;
	struct db_console c;
	const char *backing[] = { "anon", "thp", "hugetlb" };
	char name[32];
	size_t i;
	int rc;

	rc = run_bed(&c, "kvm-arm64-test");
	cr_log_info("arm64 KVM test bed: init after %.2f s, all results after %.2f s (guest clock)",
		    c.boot_s, c.done_s);
	cr_assert_eq(c.ncomplaints, 0, "the kernel complained: %s",
		     c.complaints[0]);
	r = db_console_result(&c, "system", "dev_kvm");
	cr_assert(r && r->verdict == DB_CON_PASS, "the guest has /dev/kvm: %s",
		  r ? r->detail : "not reported");
	for (i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "lazy_%s", backing[i]);
		lazy = exact(&c, name, i == 2);
		snprintf(name, sizeof(name), "eager_%s", backing[i]);
		eager = exact(&c, name, i == 2);
		/*
		 * Blocks (THP): eager splits them when logging starts and
		 * allocates their page tables there; lazy leaves that to the
		 * write faults.
		 */
		if (i == 1) {
			cr_expect_gt(figure(lazy, "thp_kb"), 0,
				     "THP backing got huge pages: %s", lazy->detail);
			cr_expect_gt(pt_change(eager, 1), 0,
				     "eager splits at enable: %s", eager->detail);
			cr_expect_eq(pt_change(eager, 1), pt_change(lazy, 2),
				     "eager splits at enable as many blocks as lazy by the end: %s | %s",
				     eager->detail, lazy->detail);
			cr_expect_eq(pt_change(lazy, 1), 0,
				     "lazy allocates nothing at enable: %s",
				     lazy->detail);
		}
	}
	r = db_console_result(&c, "kvm-faulty", "dropped_bits_caught");
	cr_assert(r && r->verdict == DB_CON_PASS,
		  "the run with dropped dirty bits fails: %s",
		  r ? r->detail : "not reported");
	cr_expect_gt(figure(r, "missed"), 0, "%s", r->detail);
	s = db_console_suite(&c, "kvm");
	cr_assert(s && s->ended && !s->exit_status && !s->fail,
		  "kvm suite: %zu passed, %zu failed", s ? s->pass : 0,
		  s ? s->fail : 0);

	/*
	 * The kvm tracker through the tracker suite, lazy and eager: every
	 * parameterized check runs once per instance (more than the nine
	 * that a single instance passes), none fails.
	 */
	s = db_console_suite(&c, "trackers");
	cr_assert(s && s->tap && s->ended, "the tracker suite reported (TAP)");
	cr_assert(!s->fail && !s->exit_status, "tracker suite: %zu failed, exit %d",
		  s->fail, s->exit_status);
	cr_assert_gt(s->pass, 9, "both kvm instances ran the suite: %zu passed",
		     s->pass);
	/* The stage-2 model against KVM: same dirty sets, same tables. */
	for (i = 0; i < 2; i++) {
		const char *a[] = { "aseq::shim_and_kvm_agree_eager",
				    "aseq::shim_and_kvm_agree_lazy" };

		r = db_console_result(&c, "trackers", a[i]);
		cr_assert(r && r->verdict == DB_CON_PASS, "trackers/%s: %s", a[i],
			  r ? r->detail : "not reported");
	}

	/* Engine migrations with KVM vCPUs writing: validated, loss caught. */
	for (i = 0; i < 3; i++) {
		const char *m[] = { "kvm_lazy_loopback", "kvm_eager_loopback",
				    "kvm_faulty_caught" };

		r = db_console_result(&c, "migration", m[i]);
		cr_assert(r, "migration/%s reported", m[i]);
		cr_assert_eq(r->verdict, DB_CON_PASS, "migration/%s: %s", m[i],
			     r->detail);
		cr_assert(strstr(r->detail, i < 2 ? "\"ram_equal\": true" :
				 "\"ram_equal\": false"),
			  "migration/%s: %s", m[i], r->detail);
		cr_log_info("migration/%s: %s", m[i], r->detail);
	}
	cr_assert_eq(rc, 0, "run.sh exited %d", rc);
	db_console_free(&c);
}
