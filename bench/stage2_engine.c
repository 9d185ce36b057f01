// SPDX-License-Identifier: MIT
/*
 * stage2-bench --engine: real migrations of the stage-2 trackers through
 * the engine (dirtyram's threads write through the model while the source
 * collects and sends over loopback TCP), and the same workload unlogged.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "dirtybench/common.h"
#include "dirtybench/dirtyram.h"
#include "dirtybench/tracker.h"
#include "cmd.h"
#include "runner/run.h"
#include "runner/options.h"
#include "engine/results.h"
#include "stage2_bench.h"

#define NSEC 1e9

static size_t ram_bytes(const struct s2b_opts *o)
{
	return (size_t)s2b_scaled(o->ram_bytes / DB_PAGE_SIZE, o->scale) *
	       DB_PAGE_SIZE;
}

static int write_through(void *ctx, unsigned vcpu, size_t page, size_t off,
			 const void *src, size_t len)
{
	struct db_tracker *t = ctx;

	return t->ops->guest_write(t, vcpu, page, off, src, len);
}

/* dirtyram through the lazy tracker, logging never enabled, real time. */
static int baseline(const struct s2b_opts *o, const struct s2b_entry *e,
		    double seconds, struct s2sim_result *res)
{
	struct dr_config cfg = {
		.total_pages = s2b_scaled(e->total, o->scale),
		.dirty_pages = s2b_scaled(e->dirty, o->scale),
		.period_ms = e->period_ms,
		.pattern = DR_PATTERN_SEQ,
		.copies = e->copies,
		.seed = 1,
	};
	struct db_tracker_params params = { .nvcpus = e->copies, .seed = 1 };
	struct dr_access acc = { write_through, NULL };
	struct dr_workload *w = NULL;
	struct db_tracker *t = NULL;
	struct dr_stats st;
	struct db_ram ram;
	char spec[128];
	int err;

	memset(res, 0, sizeof(*res));
	s2b_tracker_spec(o, 1, spec, sizeof(spec));
	err = db_ram_create(&ram, ram_bytes(o), o->backing, 1);
	if (err)
		return err;
	err = db_tracker_create(&t, spec, &params);
	if (!err)
		err = db_tracker_attach(t, &ram);
	acc.ctx = t;
	if (!err)
		err = dr_create(&w, &cfg, ram.base, ram.npages, &acc);
	if (!err)
		err = dr_start(w);
	if (!err) {
		db_sleep_ns((uint64_t)(seconds * NSEC));
		err = dr_stop(w);
		dr_get_stats(w, &st);
		res->target_pps = st.target_pps;
		res->achieved_pps = st.achieved_pps;
		res->pages_written = st.pages_written;
		res->max_late_ns = st.max_lateness_ns;
		res->ram_equal = true;
	}
	if (err == -ENOSPC || err == -EINVAL)
		err = db_error(err, "dirtyram %llu %llu %llu x%u does not fit %zu pages of RAM",
			       (unsigned long long)cfg.total_pages,
			       (unsigned long long)cfg.dirty_pages,
			       (unsigned long long)cfg.period_ms, cfg.copies,
			       ram.npages);
	dr_destroy(w);
	db_tracker_destroy(t);
	db_ram_destroy(&ram);
	return err;
}

static int set(struct db_run_config *c, const char *name, const char *fmt, ...)
	DB_PRINTF(3, 4);

static int set(struct db_run_config *c, const char *name, const char *fmt, ...)
{
	char v[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(v, sizeof(v), fmt, ap);
	va_end(ap);
	return db_option_set(c, name, v);
}

/* What the result of a real migration says, in the bench's terms. */
static void from_result(const struct db_result *res, struct s2sim_result *r)
{
	size_t i;

	memset(r, 0, sizeof(*r));
	r->rounds = res->rounds;
	r->converged = res->converged;
	r->final_pages = res->nr ? res->r[res->nr - 1].sent_pages : 0;
	r->downtime_ns = res->downtime_ns;
	r->total_ns = res->total_time_ns;
	r->pages_sent = res->pages_sent;
	r->target_pps = res->wl.target_pps;
	r->achieved_pps = res->wl.achieved_pps;
	r->pages_written = res->wl.pages_written;
	r->max_late_ns = res->wl.max_lateness_ns;
	r->collect_ns = res->tstats.collect_ns;
	r->ram_equal = res->verified && res->ram_equal;
	r->mismatched_pages = res->mismatched_pages;
	r->ncounters = res->ncounters;
	for (i = 0; i < res->ncounters; i++)
		r->counters[i] = res->counters[i];
	r->enable_ns = s2sim_counter(r, "log_enable_ns");
	/* Logging creates no block, so those at enable are these. */
	r->blocks_before = s2sim_counter(r, "blocks_2m_now") +
			   s2sim_counter(r, "blocks_split") -
			   s2sim_counter(r, "blocks_rebuilt");
}

static int migrate(const struct s2b_opts *o, const struct s2b_entry *e, int k,
		   const char *self, struct s2sim_result *r)
{
	static const char *const strat[2] = { "eager", "lazy" };
	struct db_run_config cfg;
	struct db_result res;
	char dir[1024];
	int err;

	db_run_config_defaults(&cfg);
	s2b_tracker_spec(o, k, cfg.tracker, sizeof(cfg.tracker));
	err = set(&cfg, "ram", "%zu", ram_bytes(o));
	if (!err)
		err = db_option_set(&cfg, "backing", o->backing_name);
	if (!err)
		err = set(&cfg, "workload", "dirtyram:pages=%llu,dirty=%llu,period=%llu,threads=%u",
			  (unsigned long long)s2b_scaled(e->total, o->scale),
			  (unsigned long long)s2b_scaled(e->dirty, o->scale),
			  (unsigned long long)e->period_ms, e->copies);
	if (!err)
		err = set(&cfg, "bandwidth", "%llu",
			  (unsigned long long)s2b_scaled(o->bandwidth_Bps, o->scale));
	if (!err)
		err = set(&cfg, "downtime-limit", "%llu", (unsigned long long)o->downtime_ms);
	if (!err)
		err = set(&cfg, "max-rounds", "%llu", (unsigned long long)o->max_rounds);
	if (!err)
		err = set(&cfg, "max-time", "%g", o->max_time_s);
	if (!err && o->out) {
		snprintf(dir, sizeof(dir), "%s/%llu-%llu-%llu-x%u-%s", o->out,
			 (unsigned long long)e->total, (unsigned long long)e->dirty,
			 (unsigned long long)e->period_ms, e->copies, strat[k]);
		err = db_option_set(&cfg, "out", dir);
	}
	cfg.quiet = true;
	if (!err)
		err = db_run_config_check(&cfg, DB_OPT_RUN);
	if (err)
		return err;
	db_result_init(&res, &cfg, DB_ROLE_SRC);
	err = db_run_local(&cfg, self, &res);
	if (!err && res.outcome != DB_OUTCOME_COMPLETED &&
	    res.outcome != DB_OUTCOME_VALIDATION_FAILED)
		err = db_error(-ECONNABORTED, "migration %s with %s: %s",
			       db_outcome_name(res.outcome), cfg.tracker, res.error);
	if (!err) {
		from_result(&res, r);
		if (o->out)
			err = db_result_write(&res, dir);
	}
	db_result_free(&res);
	return err;
}

int s2b_engine_entry(const struct s2b_opts *o, struct s2b_row *w)
{
	char self[1024];
	int k, err;

	w->engine = true;
	err = db_cmd_self_exe(self, sizeof(self));
	if (!err)
		err = baseline(o, &w->e, o->baseline_s < 0 ? 5 : o->baseline_s,
			       &w->base);
	for (k = 0; !err && k < 2; k++)
		err = migrate(o, &w->e, k, self, &w->r[k]);
	return err;
}
