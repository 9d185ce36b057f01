// SPDX-License-Identifier: MIT
/* The dirtyram workload: library behaviour and the standalone program. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dirtybench/common.h"
#include "dirtybench/dirtyram.h"

#define PAGE 4096

static uint8_t *map_pages(size_t n)
{
	void *p = mmap(NULL, n * PAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

	cr_assert_neq(p, MAP_FAILED);
	return p;
}

static size_t stamped_pages(const uint8_t *ram, size_t n)
{
	struct dr_stamp s;
	size_t i, k = 0;

	for (i = 0; i < n; i++)
		k += dr_stamp_read(ram + i * PAGE, &s);
	return k;
}

/* Wait (bounded) until the vCPUs wrote at least n pages: a loaded machine
 * may not have scheduled them yet. */
static void wait_pages(struct dr_workload *w, uint64_t n)
{
	struct dr_stats st;
	int i;

	for (i = 0; i < 5000; i++) {
		dr_get_stats(w, &st);
		if (st.pages_written >= n)
			return;
		usleep(1000);
	}
	cr_assert_fail("the vCPUs wrote %llu of %llu pages in 5 s",
		       (unsigned long long)st.pages_written, (unsigned long long)n);
}

static struct dr_workload *make(struct dr_config *cfg, uint8_t *ram, size_t n)
{
	struct dr_workload *w;

	cr_assert_eq(dr_create(&w, cfg, ram, n, NULL), 0);
	return w;
}

Test(dirtyram, seq_writes_next_pages_and_wraps)
{
	struct dr_config cfg = { .total_pages = 100, .dirty_pages = 30,
				 .period_ms = 20, .copies = 1, .seed = 1 };
	uint8_t *ram = map_pages(100);
	struct dr_workload *w = make(&cfg, ram, 100);
	struct dr_stamp s;
	size_t i;

	cr_assert_eq(dr_start(w), 0);
	/* the first period writes pages 0..29 */
	wait_pages(w, 30);
	cr_assert_eq(dr_stop(w), 0);
	cr_assert(dr_stamp_read(ram, &s));
	cr_assert_eq(s.page, 0);
	cr_assert_eq(s.gen, 1, "the counter starts at 1");
	for (i = 0; i < 30; i++) {
		cr_assert(dr_stamp_read(ram + i * PAGE, &s), "page %zu written", i);
		cr_assert_eq(s.page, i, "stamp names its page");
	}
	dr_destroy(w);
	munmap(ram, 100 * PAGE);

	/* 100 pages, 30 per period, 4 periods: page 0 is written twice */
	ram = map_pages(100);
	cfg.period_ms = 0;
	w = make(&cfg, ram, 100);
	cr_assert_eq(dr_start(w), 0);
	wait_pages(w, 200);
	cr_assert_eq(dr_stop(w), 0);
	cr_assert(dr_stamp_read(ram, &s));
	cr_assert_gt(s.gen, 100, "wrapped around: page 0 rewritten (gen %llu)",
		     (unsigned long long)s.gen);
	dr_destroy(w);
	munmap(ram, 100 * PAGE);
}

Test(dirtyram, hotset_stays_in_its_fraction)
{
	struct dr_config cfg = { .total_pages = 1000, .dirty_pages = 100,
				 .period_ms = 0, .copies = 1, .seed = 7 };
	uint8_t *ram = map_pages(1000);
	struct dr_workload *w;

	cr_assert_eq(dr_pattern_parse("hotset:0.1", &cfg), 0);
	w = make(&cfg, ram, 1000);
	cr_assert_eq(dr_start(w), 0);
	wait_pages(w, 5000);
	cr_assert_eq(dr_stop(w), 0);
	cr_assert_eq(stamped_pages(ram + 100 * PAGE, 900), 0,
		     "no page outside the hot 10%% is written");
	cr_assert_eq(stamped_pages(ram, 100), 100, "every hot page is written");
	dr_destroy(w);
	munmap(ram, 1000 * PAGE);
}

Test(dirtyram, random_and_zipf_cover_differently)
{
	struct dr_config cfg = { .total_pages = 4096, .dirty_pages = 4096,
				 .period_ms = 10000, .copies = 1, .seed = 3 };
	uint8_t *ram = map_pages(4096);
	struct dr_workload *w;
	struct dr_stats st;
	size_t rnd, zipf;

	cr_assert_eq(dr_pattern_parse("random", &cfg), 0);
	w = make(&cfg, ram, 4096);
	cr_assert_eq(dr_start(w), 0);
	do {
		usleep(1000);
		dr_get_stats(w, &st);
	} while (st.pages_written < 4096);
	cr_assert_eq(dr_stop(w), 0);
	dr_get_stats(w, &st);
	rnd = stamped_pages(ram, 4096);
	dr_destroy(w);
	memset(ram, 0, 4096 * PAGE);

	cr_assert_eq(dr_pattern_parse("zipf:1.2", &cfg), 0);
	w = make(&cfg, ram, 4096);
	cr_assert_eq(dr_start(w), 0);
	{
		struct dr_stats z;

		do {
			usleep(1000);
			dr_get_stats(w, &z);
		} while (z.pages_written < 4096);
	}
	cr_assert_eq(dr_stop(w), 0);
	zipf = stamped_pages(ram, 4096);
	dr_destroy(w);
	/* one period: 4096 uniform draws over 4096 pages cover 63% of them */
	cr_assert(rnd > 2400 && rnd < 2800, "random covers most pages (%zu)", rnd);
	cr_assert_lt(zipf, rnd / 2, "zipf concentrates on few pages (%zu vs %zu)",
		     zipf, rnd);
	munmap(ram, 4096 * PAGE);

	cr_assert_eq(dr_pattern_parse("zipf:0", &cfg), -EINVAL);
	cr_assert_eq(dr_pattern_parse("hotset:1.5", &cfg), -EINVAL);
	cr_assert_eq(dr_pattern_parse("sequential", &cfg), -EINVAL);
}

Test(dirtyram, pause_is_bounded_and_really_freezes)
{
	struct dr_config cfg = { .total_pages = 2048, .dirty_pages = 2048,
				 .period_ms = 0, .copies = 2, .seed = 1 };
	uint8_t *ram = map_pages(4096);
	struct dr_workload *w = make(&cfg, ram, 4096);
	struct dr_stats a, b;
	uint64_t t0, dt;

	cr_assert_eq(dr_start(w), 0);
	usleep(20 * 1000);
	t0 = db_now_ns();
	cr_assert_eq(dr_pause(w, 100 * 1000000ull), 0);
	dt = db_now_ns() - t0;
	cr_assert_lt(dt, 100 * 1000000ull, "pause returned within its bound");
	dr_get_stats(w, &a);
	usleep(30 * 1000);
	dr_get_stats(w, &b);
	cr_assert_eq(a.pages_written, b.pages_written,
		     "no page written while paused (%llu -> %llu)",
		     (unsigned long long)a.pages_written,
		     (unsigned long long)b.pages_written);
	cr_assert_eq(dr_resume(w), 0);
	wait_pages(w, a.pages_written + 1);
	dr_get_stats(w, &b);
	cr_assert_gt(b.pages_written, a.pages_written, "writes resume");
	cr_assert_eq(b.pauses, 1);
	cr_assert_eq(dr_stop(w), 0);
	dr_destroy(w);
	munmap(ram, 4096 * PAGE);
}

Test(dirtyram, stall_probe_sees_a_pause_as_one_gap_of_its_length)
{
	struct dr_config cfg = { .total_pages = 64, .dirty_pages = 8,
				 .period_ms = 10, .copies = 1, .seed = 1 };
	uint8_t *ram = map_pages(64);
	struct dr_workload *w = make(&cfg, ram, 64);
	struct dr_probe_stats ps;
	uint64_t t0, tp, t1;

	cr_assert_eq(dr_probe_enable(w, 50000, 0), 0);
	dr_probe_get(w, &ps);
	cr_assert(ps.on);
	cr_assert_eq(ps.threshold_ns, 500000, "ten intervals by default");
	cr_assert_eq(dr_start(w), 0);
	usleep(50 * 1000);
	t0 = db_now_ns();
	cr_assert_eq(dr_pause(w, 100 * 1000000ull), 0);
	tp = db_now_ns();
	usleep(30 * 1000);
	cr_assert_eq(dr_resume(w), 0);
	t1 = db_now_ns();
	usleep(50 * 1000);
	cr_assert_eq(dr_stop(w), 0);
	dr_probe_get(w, &ps);
	cr_assert_gt(ps.readings, 100, "read every 50 us for 130 ms: %llu readings",
		     (unsigned long long)ps.readings);
	cr_assert_leq(ps.resolution_ns, 100000, "resolution %llu ns",
		      (unsigned long long)ps.resolution_ns);
	cr_assert_geq(ps.ngap, 1, "the pause is a gap");
	/*
	 * The longest gap is the pause: it starts at the last reading before
	 * the probe parked (between asking for the pause and being told it
	 * holds) and ends at the first after the resume, a wake-up later.
	 */
	cr_assert_geq(ps.gap[0].len_ns, 30000000ull, "gap %llu ns for a 30 ms pause",
		      (unsigned long long)ps.gap[0].len_ns);
	cr_assert_leq(ps.gap[0].len_ns, t1 - t0 + 5000000ull,
		      "gap %llu ns, pause to resume %llu ns",
		      (unsigned long long)ps.gap[0].len_ns,
		      (unsigned long long)(t1 - t0));
	cr_assert_geq(ps.gap[0].start_ns + 5000000ull, t0);
	cr_assert_leq(ps.gap[0].start_ns, tp);
	cr_assert_geq(ps.gap[0].start_ns + ps.gap[0].len_ns, tp + 30000000ull);
	dr_destroy(w);
	munmap(ram, 64 * PAGE);
}

Test(dirtyram, stall_probe_is_off_unless_enabled)
{
	struct dr_config cfg = { .total_pages = 16, .dirty_pages = 1,
				 .period_ms = 10, .copies = 1, .seed = 1 };
	uint8_t *ram = map_pages(16);
	struct dr_workload *w = make(&cfg, ram, 16);
	struct dr_probe_stats ps;

	cr_assert_eq(dr_probe_enable(w, 100000, 5000), 0);
	dr_probe_get(w, &ps);
	cr_assert_eq(ps.threshold_ns, 5000, "an explicit threshold is kept");
	cr_assert_eq(dr_probe_enable(w, 0, 0), 0);
	cr_assert_eq(dr_start(w), 0);
	usleep(20 * 1000);
	cr_assert_eq(dr_stop(w), 0);
	dr_probe_get(w, &ps);
	cr_assert(!ps.on);
	cr_assert_eq(ps.readings, 0);
	dr_destroy(w);
	munmap(ram, 16 * PAGE);
}

Test(dirtyram, pause_wakes_sleeping_vcpus_at_once)
{
	/* a 2 s period: a pause must not wait for the vCPU's sleep to end */
	struct dr_config cfg = { .total_pages = 16, .dirty_pages = 1,
				 .period_ms = 2000, .copies = 1, .seed = 1 };
	uint8_t *ram = map_pages(16);
	struct dr_workload *w = make(&cfg, ram, 16);
	uint64_t t0;

	cr_assert_eq(dr_start(w), 0);
	usleep(10 * 1000);
	t0 = db_now_ns();
	cr_assert_eq(dr_pause(w, 500 * 1000000ull), 0);
	cr_assert_lt(db_now_ns() - t0, 500 * 1000000ull);
	dr_destroy(w);
	munmap(ram, 16 * PAGE);
}

Test(dirtyram, state_restores_counters_and_position)
{
	struct dr_config cfg = { .total_pages = 512, .dirty_pages = 7,
				 .period_ms = 0, .copies = 2, .seed = 5 };
	uint8_t *src = map_pages(1024), *dst = map_pages(1024);
	struct dr_workload *a = make(&cfg, src, 1024), *b;
	struct dr_stamp s, last_src = { 0 };
	size_t len = dr_state_size(a), i;
	uint8_t *state = malloc(len);
	uint64_t max_gen = 0;

	cr_assert_eq(dr_start(a), 0);
	/* both copies have written */
	for (int k = 0; k < 5000 && (!stamped_pages(src, 512) || !stamped_pages(src + 512 * PAGE, 512)); k++)
		usleep(1000);
	cr_assert_eq(dr_pause(a, 1000000000ull), 0);
	cr_assert_eq(dr_state_save(a, state, len), 0);
	/* the newest stamp of copy 0 on the source */
	for (i = 0; i < 512; i++)
		if (dr_stamp_read(src + i * PAGE, &s) && s.gen > max_gen) {
			max_gen = s.gen;
			last_src = s;
		}
	cr_assert_gt(max_gen, 0);
	dr_destroy(a);

	b = make(&cfg, dst, 1024);
	cr_assert_eq(dr_state_restore(b, state, len - 1), -EINVAL,
		     "a truncated state is refused");
	cr_assert_eq(dr_state_restore(b, state, len), 0);
	cr_assert_eq(dr_start(b), 0);
	/* the first page the destination writes follows the source's last */
	i = (last_src.page + 1) % 512;
	for (int k = 0; k < 5000 && !dr_stamp_read(dst + i * PAGE, &s); k++)
		usleep(1000);
	cr_assert_eq(dr_stop(b), 0);
	cr_assert(dr_stamp_read(dst + i * PAGE, &s), "page %zu written", i);
	cr_assert_geq(s.gen, max_gen + 1, "generation continues: %llu after %llu",
		      (unsigned long long)s.gen, (unsigned long long)max_gen);
	dr_destroy(b);

	/* a different config is refused */
	cfg.dirty_pages = 8;
	b = make(&cfg, dst, 1024);
	cr_assert_eq(dr_state_restore(b, state, len), -EINVAL);
	state[0] ^= 1;
	cr_assert_eq(dr_state_restore(b, state, len), -EPROTO);
	dr_destroy(b);
	free(state);
	munmap(src, 1024 * PAGE);
	munmap(dst, 1024 * PAGE);
}

Test(dirtyram, epoch_is_stamped)
{
	struct dr_config cfg = { .total_pages = 64, .dirty_pages = 64,
				 .period_ms = 0, .copies = 1, .seed = 1 };
	uint8_t *ram = map_pages(64);
	struct dr_workload *w = make(&cfg, ram, 64);
	struct dr_stamp s;

	dr_set_epoch(w, 7);
	cr_assert_eq(dr_start(w), 0);
	wait_pages(w, 64);
	cr_assert_eq(dr_stop(w), 0);
	cr_assert(dr_stamp_read(ram + 10 * PAGE, &s));
	cr_assert_eq(s.epoch, 7);
	dr_destroy(w);
	munmap(ram, 64 * PAGE);
}

struct counted {
	uint64_t calls;
	uint8_t *ram;
};

static int counted_write(void *ctx, unsigned vcpu, size_t page, size_t off,
			 const void *src, size_t len)
{
	struct counted *c = ctx;

	__atomic_fetch_add(&c->calls, 1, __ATOMIC_RELAXED);
	if (page == 13)
		return -EFAULT;
	memcpy(c->ram + page * PAGE + off, src, len);
	return 0;
}

Test(dirtyram, access_hook_carries_writes_and_errors)
{
	struct dr_config cfg = { .total_pages = 64, .dirty_pages = 8,
				 .period_ms = 0, .copies = 1, .seed = 1 };
	uint8_t *ram = map_pages(64);
	struct counted c = { .ram = ram };
	struct dr_access acc = { .write = counted_write, .ctx = &c };
	struct dr_workload *w;

	cr_assert_eq(dr_create(&w, &cfg, ram, 64, &acc), 0);
	cr_assert_eq(dr_start(w), 0);
	for (int i = 0; i < 5000 && __atomic_load_n(&c.calls, __ATOMIC_RELAXED) < 14; i++)
		usleep(1000);
	cr_assert_eq(dr_stop(w), -EFAULT, "a failing write stops the vCPU and is reported");
	cr_assert_eq(c.calls, 14, "pages 0..13 went through the hook");
	dr_destroy(w);
	munmap(ram, 64 * PAGE);
}

Test(dirtyram, bad_configs_are_refused)
{
	struct dr_config cfg = { .total_pages = 100, .dirty_pages = 200,
				 .period_ms = 1, .copies = 1 };
	struct dr_workload *w;
	uint8_t ram[PAGE];

	cr_assert_eq(dr_create(&w, &cfg, ram, 1000, NULL), -EINVAL);
	cfg.dirty_pages = 10;
	cfg.copies = 3;
	cr_assert_eq(dr_create(&w, &cfg, ram, 250, NULL), -ENOSPC,
		     "3 copies of 100 pages do not fit in 250");
}

Test(dirtyram, rate_within_10_percent_at_a_sustainable_rate)
{
	/* 12800 pages/s per copy: a small fraction of what a core writes here */
	struct dr_config cfg = { .total_pages = 8192, .dirty_pages = 128,
				 .period_ms = 10, .copies = 2, .seed = 1 };
	uint8_t *ram = map_pages(16384);
	struct dr_workload *w = make(&cfg, ram, 16384);
	struct dr_stats st;

	cr_assert_eq(dr_start(w), 0);
	usleep(2000 * 1000);
	dr_get_stats(w, &st);
	cr_assert_eq(dr_stop(w), 0);
	cr_assert_float_eq(st.target_pps, 25600.0, 0.01);
	cr_assert(st.achieved_pps > st.target_pps * 0.9 &&
		  st.achieved_pps < st.target_pps * 1.1,
		  "achieved %.0f pages/s for a target of %.0f", st.achieved_pps,
		  st.target_pps);
	dr_destroy(w);
	munmap(ram, 16384 * PAGE);
}

static int run_cmd(const char *cmd, char *out, size_t len)
{
	FILE *p = popen(cmd, "r");
	size_t n;

	cr_assert(p, "popen %s", cmd);
	n = fread(out, 1, len - 1, p);
	out[n] = '\0';
	return pclose(p);
}

static const char *bindir(void)
{
	const char *b = getenv("DIRTYBENCH_BIN");

	return b ? b : "bin";
}

Test(dirtyram, original_cli_reports_target_and_achieved)
{
	char cmd[512], out[4096];
	int st;

	snprintf(cmd, sizeof(cmd), "%s/dirtyram 102580 812 30 --duration 1.5 --stats",
		 bindir());
	st = run_cmd(cmd, out, sizeof(out));
	cr_assert_eq(WEXITSTATUS(st), 0, "exit status: %s", out);
	cr_assert(strstr(out, "target 27067 pages/s"), "target printed: %s", out);
	cr_assert(strstr(out, "achieved"), "achieved printed: %s", out);
	cr_assert(strstr(out, "longest stall"), "stall printed: %s", out);

	snprintf(cmd, sizeof(cmd), "%s/dirtyram 4096 512 10 -d 0.5 --json", bindir());
	st = run_cmd(cmd, out, sizeof(out));
	cr_assert_eq(WEXITSTATUS(st), 0);
	cr_assert(strstr(out, "\"target_pps\":51200.0"), "json: %s", out);
	{
		const char *a = strstr(out, "\"achieved_pps\":");
		double achieved = a ? atof(a + 15) : -1;
		bool kept = strstr(out, "\"kept_up\":true") != NULL;

		cr_assert_geq(achieved, 0, "json: %s", out);
		cr_assert_eq(kept, achieved >= 0.9 * 51200,
			     "kept_up says whether 90%% of the target was met: %s", out);
	}
}

Test(dirtyram, cli_rejects_bad_input_with_exit_2)
{
	static const char *const bad[] = {
		"10 20 5", "10 x 5", "-5 1 1", "10 1", "--pattern foo 10 1 1",
		"--threads 0 10 1 1", "--duration -1 10 1 1", "--bogus 10 1 1",
	};
	char cmd[512], out[4096];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(cmd, sizeof(cmd), "%s/dirtyram %s 2>&1", bindir(), bad[i]);
		cr_assert_eq(WEXITSTATUS(run_cmd(cmd, out, sizeof(out))), 2,
			     "'%s' exits 2: %s", bad[i], out);
		cr_assert(strstr(out, "dirtyram:") || strstr(out, "Usage"),
			  "'%s' says why: %s", bad[i], out);
	}
}

Test(dirtyram, rate_limit_caps_the_dirty_rate_and_pauses_promptly)
{
	/* unthrottled this writes millions of pages/s */
	struct dr_config cfg = { .total_pages = 4096, .dirty_pages = 4096,
				 .period_ms = 0, .copies = 2, .seed = 1 };
	uint8_t *ram = map_pages(8192);
	struct dr_workload *w = make(&cfg, ram, 8192);
	struct dr_stats a, b;
	uint64_t t0, t1;
	double rate;

	dr_set_rate_limit(w, 20000);
	cr_assert_eq(dr_start(w), 0);
	usleep(100 * 1000);
	dr_get_stats(w, &a);
	t0 = db_now_ns();
	usleep(1000 * 1000);
	dr_get_stats(w, &b);
	t1 = db_now_ns();
	rate = (double)(b.pages_written - a.pages_written) * 1e9 / (double)(t1 - t0);
	cr_assert(rate > 20000 * 0.85 && rate < 20000 * 1.15,
		  "limited to 20000 pages/s, measured %.0f", rate);
	cr_assert_gt(b.throttled_ns, 0, "the wait is accounted");

	t0 = db_now_ns();
	cr_assert_eq(dr_pause(w, 500 * 1000000ull), 0);
	cr_assert_lt(db_now_ns() - t0, 500 * 1000000ull,
		     "a throttled vCPU pauses promptly");
	cr_assert_eq(dr_resume(w), 0);

	dr_set_rate_limit(w, 0);
	dr_get_stats(w, &a);
	t0 = db_now_ns();
	usleep(200 * 1000);
	dr_get_stats(w, &b);
	rate = (double)(b.pages_written - a.pages_written) * 1e9 /
	       (double)(db_now_ns() - t0);
	cr_assert_gt(rate, 100000, "the limit is lifted (%.0f pages/s)", rate);
	cr_assert_eq(dr_stop(w), 0);
	dr_destroy(w);
	munmap(ram, 8192 * PAGE);
}
