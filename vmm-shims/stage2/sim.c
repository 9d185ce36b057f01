// SPDX-License-Identifier: MIT
/* Pre-copy over the stage-2 model in virtual time (see sim.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dirtybench/bitmap.h"
#include "dirtybench/common.h"
#include "dirtybench/dirtyram.h"
#include "sim.h"

#define NSEC 1000000000ull

struct sim {
	const struct s2sim_config *cfg;
	struct db_tracker *t;
	struct db_ram ram;
	uint64_t period_ns;
	uint64_t *pos, *gen, *next_v;	/* per copy; next_v: next period */
	uint64_t *free_v;		/* per vCPU: busy until */
	uint32_t epoch;
	double cost;			/* cfg->cost_factor, 1 if unset */
	uint64_t written, write_ns, max_late_ns;
};

/* A measured duration as charged to the virtual clock. */
static uint64_t charge(const struct sim *s, uint64_t ns)
{
	return (uint64_t)((double)ns * s->cost);
}

uint64_t s2sim_counter(const struct s2sim_result *res, const char *name)
{
	size_t i;

	for (i = 0; i < res->ncounters; i++)
		if (!strcmp(res->counters[i].name, name))
			return res->counters[i].value;
	return 0;
}

static uint64_t live_counter(struct db_tracker *t, const char *name)
{
	struct s2sim_result r;

	r.ncounters = db_tracker_counters(t, r.counters, DB_ARRAY_SIZE(r.counters));
	return s2sim_counter(&r, name);
}

/*
 * Run the guest until virtual time 'until': the copy whose next period can
 * start first writes its DIRTY pages (sequential, wrapping, as dirtyram
 * does) on its vCPU; what the writes cost in real time occupies that vCPU
 * in virtual time. A copy more than a period late skips, as dirtyram does.
 */
static int run_guest(struct sim *s, uint64_t until)
{
	const struct s2sim_config *cfg = s->cfg;
	unsigned c, best, v;
	uint64_t start, bstart, late, t0, k, w;
	int err;

	for (;;) {
		best = 0;
		bstart = UINT64_MAX;
		for (c = 0; c < cfg->copies; c++) {
			v = c % cfg->guest_vcpus;
			start = DB_MAX(s->next_v[c], s->free_v[v]);
			if (start < bstart) {
				bstart = start;
				best = c;
			}
		}
		if (bstart >= until)
			return 0;
		c = best;
		v = c % cfg->guest_vcpus;
		late = bstart - s->next_v[c];
		s->max_late_ns = DB_MAX(s->max_late_ns, late);
		t0 = db_now_ns();
		for (k = 0; k < cfg->dirty_pages; k++) {
			uint64_t page = c * cfg->total_pages + s->pos[c];
			struct dr_stamp st = {
				.magic = DR_STAMP_MAGIC, .page = page,
				.gen = ++s->gen[c], .epoch = s->epoch, .copy = c,
			};

			s->pos[c] = s->pos[c] + 1 == cfg->total_pages ? 0 : s->pos[c] + 1;
			err = s->t->ops->guest_write(s->t, v, page, 0, &st, sizeof(st));
			if (err)
				return err;
		}
		w = charge(s, db_now_ns() - t0);
		s->write_ns += w;
		s->written += cfg->dirty_pages;
		s->free_v[v] = bstart + w;
		s->next_v[c] = late > s->period_ns ? bstart + s->period_ns :
						     s->next_v[c] + s->period_ns;
	}
}

static uint64_t send_ns(const struct s2sim_config *cfg, uint64_t pages)
{
	return (uint64_t)((double)pages * DB_PAGE_SIZE * NSEC /
			  (double)cfg->bandwidth_Bps);
}

/* Collect into dirty and copy the reported pages to dst; returns ns. */
static int collect_copy(struct sim *s, struct db_bitmap *dirty, uint8_t *dst,
			uint64_t *ns, uint64_t *n)
{
	uint64_t t0 = db_now_ns();
	size_t i;
	int err;

	db_bitmap_zero(dirty);
	err = db_tracker_collect(s->t, dirty);
	*ns = charge(s, db_now_ns() - t0);
	if (err)
		return err;
	db_bitmap_for_each(dirty, i)
		memcpy(dst + i * DB_PAGE_SIZE, db_ram_page(&s->ram, i), DB_PAGE_SIZE);
	*n = db_bitmap_count(dirty);
	return 0;
}

static int check_config(const struct s2sim_config *cfg)
{
	uint64_t ram_pages = cfg->ram_bytes / DB_PAGE_SIZE;

	if (!cfg->copies || !cfg->guest_vcpus || !cfg->total_pages ||
	    cfg->dirty_pages > cfg->total_pages || !cfg->period_ms ||
	    !cfg->bandwidth_Bps || !cfg->tracker)
		return db_error(-EINVAL,
				"stage2 sim: need copies, vCPUs, pages, a period, a bandwidth and a tracker");
	if (cfg->copies * cfg->total_pages > ram_pages)
		return db_error(-EINVAL,
				"stage2 sim: %u copies of %llu pages do not fit %llu pages of RAM",
				cfg->copies, (unsigned long long)cfg->total_pages,
				(unsigned long long)ram_pages);
	return 0;
}

/* The migration proper: rounds until the stop rule, then stop-and-copy. */
static int migrate(struct sim *s, struct s2sim_result *res)
{
	const struct s2sim_config *cfg = s->cfg;
	struct db_bitmap dirty;
	uint64_t vt, t0, cns, n = 0, to_send = s->ram.npages, fin = 0;
	uint8_t *dst;
	unsigned v;
	size_t i;
	int err;

	dst = malloc(s->ram.size);
	if (!dst || db_bitmap_init(&dirty, s->ram.npages)) {
		free(dst);
		return db_error(-ENOMEM, "stage2 sim: no memory for the destination image");
	}
	res->blocks_before = live_counter(s->t, "blocks_2m_now");
	t0 = db_now_ns();
	err = db_tracker_start(s->t);
	res->enable_ns = charge(s, db_now_ns() - t0);
	if (err)
		goto out;
	/* Faults wait for the MMU lock the enable pass holds. */
	for (v = 0; v < cfg->guest_vcpus; v++)
		s->free_v[v] = res->enable_ns;
	vt = res->enable_ns;
	memcpy(dst, s->ram.base, s->ram.size);
	for (;;) {
		uint64_t dur = send_ns(cfg, to_send);

		err = run_guest(s, vt + dur);
		if (err)
			goto out;
		vt += dur;
		res->rounds++;
		res->pages_sent += to_send;
		s->epoch++;
		err = collect_copy(s, &dirty, dst, &cns, &n);
		if (err)
			goto out;
		res->collect_ns += cns;
		if ((double)n * DB_PAGE_SIZE <=
		    (double)cfg->bandwidth_Bps * (double)cfg->downtime_limit_ns / NSEC) {
			res->converged = true;
			break;
		}
		if (res->rounds + 1 >= cfg->max_rounds)
			break;
		/* The guest keeps running while the log is read. */
		err = run_guest(s, vt + cns);
		if (err)
			goto out;
		vt += cns;
		to_send = n;
	}
	/* Stop-and-copy: vCPUs paused, one last read of the log. */
	err = collect_copy(s, &dirty, dst, &cns, &fin);
	if (err)
		goto out;
	res->collect_ns += cns;
	res->final_pages = n + fin;
	res->rounds++;
	res->pages_sent += res->final_pages;
	res->downtime_ns = send_ns(cfg, res->final_pages) + cns;
	res->total_ns = vt + res->downtime_ns;
	res->pages_written = s->written;
	res->write_ns = s->write_ns;
	res->max_late_ns = s->max_late_ns;
	res->achieved_pps = (double)s->written * NSEC / (double)vt;
	for (i = 0; i < s->ram.npages; i++)
		if (memcmp(dst + i * DB_PAGE_SIZE, db_ram_page(&s->ram, i),
			   DB_PAGE_SIZE))
			res->mismatched_pages++;
	res->ram_equal = !res->mismatched_pages;
	res->ncounters = db_tracker_counters(s->t, res->counters,
					     DB_ARRAY_SIZE(res->counters));

	/* As if cancelled here: logging off, the guest runs on. */
	t0 = live_counter(s->t, "blocks_rebuilt");
	err = db_tracker_stop(s->t);
	if (!err)
		err = run_guest(s, vt + cfg->cancel_run_ns);
	res->blocks_after_cancel = live_counter(s->t, "blocks_2m_now");
	res->rebuilt_after_cancel = live_counter(s->t, "blocks_rebuilt") - t0;
out:
	free(dst);
	db_bitmap_free(&dirty);
	return err;
}

int s2sim_run(const struct s2sim_config *cfg, struct s2sim_result *res)
{
	struct db_tracker_params params = { .nvcpus = cfg->guest_vcpus, .seed = 1 };
	struct sim s = { .cfg = cfg };
	int err;

	memset(res, 0, sizeof(*res));
	err = check_config(cfg);
	if (err)
		return err;
	res->target_pps = (double)cfg->copies * (double)cfg->dirty_pages * 1000.0 /
			  (double)cfg->period_ms;
	s.period_ns = cfg->period_ms * 1000000ull;
	s.cost = cfg->cost_factor > 0 ? cfg->cost_factor : 1;
	s.pos = calloc(cfg->copies, sizeof(uint64_t));
	s.gen = calloc(cfg->copies, sizeof(uint64_t));
	s.next_v = calloc(cfg->copies, sizeof(uint64_t));
	s.free_v = calloc(cfg->guest_vcpus, sizeof(uint64_t));
	if (!s.pos || !s.gen || !s.next_v || !s.free_v) {
		err = db_error(-ENOMEM, "stage2 sim: no memory");
		goto out;
	}
	err = db_ram_create(&s.ram, cfg->ram_bytes, cfg->backing, 1);
	if (err)
		goto out;
	err = db_tracker_create(&s.t, cfg->tracker, &params);
	if (!err)
		err = db_tracker_attach(s.t, &s.ram);
	if (err)
		goto out;
	if (cfg->unlogged) {
		err = run_guest(&s, cfg->unlogged_ns);
		res->pages_written = s.written;
		res->write_ns = s.write_ns;
		res->max_late_ns = s.max_late_ns;
		res->achieved_pps = (double)s.written * NSEC / (double)cfg->unlogged_ns;
		res->ncounters = db_tracker_counters(s.t, res->counters,
						     DB_ARRAY_SIZE(res->counters));
		res->ram_equal = true;
	} else {
		err = migrate(&s, res);
	}
out:
	db_tracker_destroy(s.t);
	if (s.ram.base)
		db_ram_destroy(&s.ram);
	free(s.pos);
	free(s.gen);
	free(s.next_v);
	free(s.free_v);
	return err;
}
