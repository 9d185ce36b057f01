// SPDX-License-Identifier: MIT
/* result.json (jansson) and rounds.csv, schema 1; the human summary. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "engine/results.h"

void db_result_init(struct db_result *res, const struct db_run_config *cfg,
		    enum db_role role)
{
	time_t now = time(NULL);
	struct tm tm;

	memset(res, 0, sizeof(*res));
	res->cfg = *cfg;
	res->role = role;
	gmtime_r(&now, &tm);
	strftime(res->started_at, sizeof(res->started_at), "%Y-%m-%dT%H:%M:%SZ", &tm);
	res->outcome = DB_OUTCOME_ABORTED;
	snprintf(res->stop_reason, sizeof(res->stop_reason), "aborted");
	res->dirty_limit_round = -1;
}

void db_result_free(struct db_result *res)
{
	free(res->r);
	res->r = NULL;
	res->nr = res->cap = 0;
}

struct db_round *db_result_add_round(struct db_result *res)
{
	struct db_round *r;

	if (res->nr == res->cap) {
		size_t cap = res->cap ? res->cap * 2 : 16;

		r = realloc(res->r, cap * sizeof(*r));
		if (!r)
			return NULL;
		res->r = r;
		res->cap = cap;
	}
	r = &res->r[res->nr++];
	memset(r, 0, sizeof(*r));
	r->round = (uint32_t)(res->nr - 1);
	return r;
}

const char *db_outcome_name(enum db_outcome o)
{
	switch (o) {
	case DB_OUTCOME_COMPLETED:
		return "completed";
	case DB_OUTCOME_VALIDATION_FAILED:
		return "validation_failed";
	case DB_OUTCOME_CANCELLED:
		return "cancelled";
	default:
		return "aborted";
	}
}

int db_result_exit_status(const struct db_result *res)
{
	switch (res->outcome) {
	case DB_OUTCOME_COMPLETED:
		return DB_EXIT_OK;
	case DB_OUTCOME_VALIDATION_FAILED:
		return DB_EXIT_VALIDATION;
	default:
		return DB_EXIT_ABORTED;
	}
}

enum db_backing db_result_backing(const struct db_result *res)
{
	const char *f = res->tracker_flags, *want = "provides-ram";
	size_t n, w = strlen(want);

	while (*f) {
		n = strcspn(f, ",");
		if (n == w && !strncmp(f, want, w))
			return DB_BACKING_TRACKER;
		f += n + (f[n] == ',');
	}
	return res->cfg.backing;
}

static json_t *u64(uint64_t v)
{
	return json_integer((json_int_t)v);
}

static json_t *sum_json(bool have, struct db_hash128 h)
{
	char s[33];

	if (!have)
		return json_null();
	db_hash128_str(h, s);
	return json_string(s);
}

static json_t *config_json(const struct db_result *res)
{
	const struct db_run_config *c = &res->cfg;
	json_t *o = json_object(), *w;
	char buf[64];

	json_object_set_new(o, "tracker", json_string(c->tracker));
	json_object_set_new(o, "backing",
			    json_string(db_backing_name(db_result_backing(res))));
	json_object_set_new(o, "fill", json_string(c->fill == DB_FILL_ZERO ? "zero" : "random"));
	json_object_set_new(o, "ram_bytes", u64(c->ram_bytes));
	json_object_set_new(o, "page_size_bytes", u64(DB_PAGE_SIZE));
	if (c->workload_on) {
		w = json_object();
		json_object_set_new(w, "spec", json_string(c->workload));
		json_object_set_new(w, "total_pages", u64(c->dr.total_pages));
		json_object_set_new(w, "dirty_pages", u64(c->dr.dirty_pages));
		json_object_set_new(w, "period_ms", u64(c->dr.period_ms));
		json_object_set_new(w, "pattern",
				    json_string(dr_pattern_str(&c->dr, buf, sizeof(buf))));
		json_object_set_new(w, "copies", u64(c->dr.copies));
	} else {
		w = json_null();
	}
	json_object_set_new(o, "workload", w);
	json_object_set_new(o, "bandwidth_limit_bps", u64(c->bandwidth * 8));
	json_object_set_new(o, "downtime_limit_ms", u64(c->downtime_limit_ms));
	json_object_set_new(o, "stop", json_string(db_stop_str(c, buf, sizeof(buf))));
	json_object_set_new(o, "max_rounds", u64(c->max_rounds));
	json_object_set_new(o, "max_time_s", json_real(c->max_time_ms / 1000.0));
	json_object_set_new(o, "on_timeout", json_string(db_on_timeout_name(c->on_timeout)));
	json_object_set_new(o, "dirty_limit", json_string(c->dirty_limit));
	json_object_set_new(o, "link", json_string(c->to[0] ? "tcp" : db_link_name(c->link)));
	json_object_set_new(o, "seed", u64(c->seed));
	json_object_set_new(o, "dest_tail_ms", u64(c->dest_tail_ms));
	json_object_set_new(o, "peer_timeout_ms", u64(c->peer_timeout_ms));
	json_object_set_new(o, "progress_timeout_ms", u64(c->progress_timeout_ms));
	json_object_set_new(o, "stall_probe_us", u64(c->stall_probe_us));
	return o;
}

static json_t *round_json(const struct db_round *r)
{
	json_t *o = json_object();

	json_object_set_new(o, "round", u64(r->round));
	json_object_set_new(o, "final", json_boolean(r->final));
	json_object_set_new(o, "start_at_ns", u64(r->start_at_ns));
	json_object_set_new(o, "dirty_pages", u64(r->dirty_pages));
	json_object_set_new(o, "sent_pages", u64(r->sent_pages));
	json_object_set_new(o, "zero_pages", u64(r->zero_pages));
	json_object_set_new(o, "bytes", u64(r->bytes));
	json_object_set_new(o, "collect_ns", u64(r->collect_ns));
	json_object_set_new(o, "send_ns", u64(r->send_ns));
	json_object_set_new(o, "duration_ns", u64(r->duration_ns));
	json_object_set_new(o, "dirty_rate_pps", json_real(r->dirty_rate_pps));
	json_object_set_new(o, "bandwidth_bps", json_real(r->bandwidth_bps));
	json_object_set_new(o, "guest_writes_pps", json_real(r->guest_wps));
	json_object_set_new(o, "aborted", json_boolean(r->aborted));
	json_object_set_new(o, "remaining_pages", u64(r->remaining_pages));
	json_object_set_new(o, "snapshot_violations", u64(r->snapshot_violations));
	json_object_set_new(o, "dirty_limit_pps", u64(r->dirty_limit_pps));
	return o;
}

static json_t *probe_json(const struct db_result *res)
{
	json_t *o;

	if (!res->have_probe)
		return json_null();
	o = json_object();
	json_object_set_new(o, "interval_ns", u64(res->probe_interval_ns));
	json_object_set_new(o, "threshold_ns", u64(res->probe_threshold_ns));
	json_object_set_new(o, "resolution_ns", u64(res->probe_resolution_ns));
	json_object_set_new(o, "source_step_p99_ns", u64(res->probe_step_p99_ns));
	json_object_set_new(o, "gaps", u64(res->probe_gaps));
	json_object_set_new(o, "switchover_gap_ns", res->have_probe_switch ?
			    u64(res->probe_switch_gap_ns) : json_null());
	json_object_set_new(o, "before_pause_ns", res->have_probe_switch ?
			    json_integer(res->probe_before_pause_ns) : json_null());
	json_object_set_new(o, "after_resume_ns", res->have_probe_switch ?
			    json_integer(res->probe_after_resume_ns) : json_null());
	json_object_set_new(o, "longest_gap_ns", u64(res->probe_longest_ns));
	json_object_set_new(o, "longest_gap_at_ns", json_integer(res->probe_longest_at_ns));
	json_object_set_new(o, "longest_gap_where", json_string(res->probe_longest_where));
	json_object_set_new(o, "note", res->stall_note[0] ?
			    json_string(res->stall_note) : json_null());
	return o;
}

static json_t *summary_json(const struct db_result *res)
{
	json_t *o = json_object(), *first = json_array();
	bool src = res->role == DB_ROLE_SRC;
	bool timed = src && res->resumed;	/* the source knows both clocks */
	uint32_t i;

	for (i = 0; i < res->nfirst; i++)
		json_array_append_new(first, u64(res->first[i]));
	json_object_set_new(o, "outcome", json_string(db_outcome_name(res->outcome)));
	json_object_set_new(o, "ram_equal", json_boolean(res->verified && res->ram_equal));
	json_object_set_new(o, "verified", json_boolean(res->verified));
	json_object_set_new(o, "checksum_src", sum_json(res->have_src_sum, res->sum_src));
	json_object_set_new(o, "checksum_dst", sum_json(res->have_dst_sum, res->sum_dst));
	json_object_set_new(o, "mismatched_pages", u64(res->mismatched_pages));
	json_object_set_new(o, "mismatched_chunks", u64(res->mismatched_chunks));
	json_object_set_new(o, "mismatched_first", first);
	json_object_set_new(o, "rounds", u64(res->rounds));
	json_object_set_new(o, "converged", json_boolean(res->converged));
	json_object_set_new(o, "stop_reason", json_string(res->stop_reason));
	json_object_set_new(o, "resumed", json_boolean(res->resumed));
	json_object_set_new(o, "total_time_ns", timed ? u64(res->total_time_ns) : json_null());
	json_object_set_new(o, "downtime_ns", timed ? u64(res->downtime_ns) : json_null());
	json_object_set_new(o, "downtime_incl_verify_ns",
			    timed ? u64(res->downtime_incl_verify_ns) : json_null());
	json_object_set_new(o, "verify_ns", res->resumed ? u64(res->verify_ns) : json_null());
	json_object_set_new(o, "setup_ns", src && res->hello_mono_ns && res->start_mono_ns ?
			    u64(res->start_mono_ns - res->hello_mono_ns) : json_null());
	if (!src) {
		json_object_set_new(o, "dest_prefault",
				    res->dst_prefault == DB_POPULATED_MADVISE ? json_string("populate") :
				    res->dst_prefault == DB_POPULATED_TOUCH ? json_string("touch") :
				    json_null());
		json_object_set_new(o, "dest_prefault_ns", res->dst_prefault ?
				    u64(res->dst_prefault_ns) : json_null());
	}
	json_object_set_new(o, "paused_at_ns", res->paused_at_ns ? u64(res->paused_at_ns) : json_null());
	json_object_set_new(o, "resumed_at_ns", timed ? u64(res->resumed_at_ns) : json_null());
	json_object_set_new(o, "aborted_at_ns",
			    res->outcome >= DB_OUTCOME_ABORTED ? u64(res->aborted_at_ns) : json_null());
	json_object_set_new(o, "guest_stall_ns", u64(res->guest_stall_ns));
	json_object_set_new(o, "guest_stall_from", json_string(res->vmm.on ? "console-ticks" :
			    res->have_probe ? "probe" : "lateness"));
	json_object_set_new(o, "guest_lateness_ns", u64(res->guest_lateness_ns));
	json_object_set_new(o, "stall_probe", probe_json(res));
	json_object_set_new(o, "bytes_total", u64(res->bytes_total));
	json_object_set_new(o, "pages_sent", u64(res->pages_sent));
	json_object_set_new(o, "zero_pages", u64(res->zero_pages));
	json_object_set_new(o, "bandwidth_measured_bps", json_real(res->bandwidth_measured_bps));
	json_object_set_new(o, "snapshot_violations",
			    res->snapshot ? u64(res->snapshot_violations) : json_null());
	json_object_set_new(o, "dirty_limit_pps", u64(res->dirty_limit_pps));
	json_object_set_new(o, "dirty_limit_from_round",
			    res->dirty_limit_round >= 0 ? json_integer(res->dirty_limit_round) : json_null());
	json_object_set_new(o, "guest_running_on_source",
			    json_boolean(src && res->guest_running_on_source));
	return o;
}

static json_t *tracker_json(const struct db_result *res)
{
	json_t *o = json_object(), *c = json_object();
	size_t i;

	for (i = 0; i < res->ncounters; i++)
		json_object_set_new(c, res->counters[i].name, u64(res->counters[i].value));
	json_object_set_new(o, "name", json_string(res->cfg.tracker));
	json_object_set_new(o, "flags", json_string(res->tracker_flags));
	json_object_set_new(o, "granularity_bytes", u64(res->granularity));
	json_object_set_new(o, "attach_ns", u64(res->tstats.attach_ns));
	json_object_set_new(o, "arm_ns", u64(res->tstats.start_ns));
	json_object_set_new(o, "collects", u64(res->tstats.collects));
	json_object_set_new(o, "collect_ns_total", u64(res->tstats.collect_ns));
	json_object_set_new(o, "collect_ns_max", u64(res->tstats.collect_max_ns));
	json_object_set_new(o, "pages_reported", u64(res->tstats.pages_reported));
	json_object_set_new(o, "snapshot_pages", u64(res->tstats.snapshot_pages));
	json_object_set_new(o, "counters", c);
	return o;
}

static json_t *workload_json(const struct db_result *res)
{
	json_t *o = json_object();

	json_object_set_new(o, "target_pps", json_real(res->wl.target_pps));
	json_object_set_new(o, "achieved_pps", json_real(res->wl.achieved_pps));
	json_object_set_new(o, "pages_written", u64(res->wl.pages_written));
	json_object_set_new(o, "periods", u64(res->wl.periods));
	json_object_set_new(o, "late_periods", u64(res->wl.late_periods));
	json_object_set_new(o, "max_lateness_ns", u64(res->wl.max_lateness_ns));
	json_object_set_new(o, "max_pause_wait_ns", u64(res->wl.max_pause_wait_ns));
	json_object_set_new(o, "throttled_ns", u64(res->wl.throttled_ns));
	json_object_set_new(o, "dest_tail_ms", u64(res->cfg.dest_tail_ms));
	json_object_set_new(o, "dest_pages_written",
			    res->have_tail ? u64(res->tail.pages_written) : json_null());
	json_object_set_new(o, "dest_achieved_pps",
			    res->have_tail ? json_real(res->tail.achieved_pps) : json_null());
	json_object_set_new(o, "dest_max_lateness_ns",
			    res->have_tail ? u64(res->tail.max_lateness_ns) : json_null());
	json_object_set_new(o, "pages_written_after_abort", u64(res->pages_written_after_abort));
	return o;
}

/* The model fed the bandwidth and write rate each round had. */
static json_t *measured_json(const struct db_result *res)
{
	const struct db_model_out *m = &res->model_measured;
	json_t *o;

	if (!res->have_model_measured)
		return json_null();
	o = json_object();
	json_object_set_new(o, "converges", json_boolean(m->converges));
	json_object_set_new(o, "cancelled", json_boolean(m->cancelled));
	json_object_set_new(o, "predicted_rounds", u64(m->rounds));
	json_object_set_new(o, "predicted_bytes_total", u64(m->bytes_total));
	json_object_set_new(o, "predicted_downtime_ns", u64(m->downtime_ns));
	json_object_set_new(o, "predicted_total_time_ns", u64(m->total_time_ns));
	return o;
}

static json_t *model_json(const struct db_result *res)
{
	json_t *o;

	if (!res->have_model)
		return json_null();
	o = json_object();
	json_object_set_new(o, "lambda", json_real(res->model.lambda));
	json_object_set_new(o, "bandwidth_bps", json_real(res->model_bandwidth * 8));
	json_object_set_new(o, "converges", json_boolean(res->model.converges));
	json_object_set_new(o, "cancelled", json_boolean(res->model.cancelled));
	json_object_set_new(o, "predicted_rounds", u64(res->model.rounds));
	json_object_set_new(o, "predicted_bytes_total", u64(res->model.bytes_total));
	json_object_set_new(o, "predicted_downtime_ns", u64(res->model.downtime_ns));
	json_object_set_new(o, "predicted_total_time_ns", u64(res->model.total_time_ns));
	json_object_set_new(o, "measured", measured_json(res));
	return o;
}

static json_t *collectors_json(const struct db_result *res)
{
	const struct db_sampler_cost *c = &res->collectors;
	json_t *o;

	if (!res->have_collectors)
		return json_null();
	o = json_object();
	json_object_set_new(o, "file", json_string("samples.csv"));
	json_object_set_new(o, "sample_ms", u64(res->cfg.sample_ms));
	json_object_set_new(o, "samples", u64(c->samples));
	json_object_set_new(o, "wall_ns", u64(c->wall_ns));
	json_object_set_new(o, "cpu_ns", u64(c->cpu_ns));
	json_object_set_new(o, "tc_cpu_ns", u64(c->tc_cpu_ns));
	json_object_set_new(o, "max_sample_ns", u64(c->max_sample_ns));
	json_object_set_new(o, "cost_pct_of_core", json_real(c->pct_of_core));
	json_object_set_new(o, "error", res->collectors_error[0] ?
			    json_string(res->collectors_error) : json_null());
	return o;
}

static json_t *vmm_json(const struct db_result *res)
{
	const struct db_vmm_result *v = &res->vmm;
	json_t *o, *gpa;
	uint32_t i;
	char s[32];

	if (!v->on)
		return json_null();
	o = json_object();
	gpa = json_array();
	for (i = 0; i < res->nfirst; i++) {
		snprintf(s, sizeof(s), "0x%llx",
			 (unsigned long long)(v->ram_base_gpa + res->first[i] * DB_PAGE_SIZE));
		json_array_append_new(gpa, json_string(s));
	}
	json_object_set_new(o, "kind", json_string(v->kind));
	json_object_set_new(o, "binary", json_string(v->binary));
	json_object_set_new(o, "arch", json_string(v->arch));
	json_object_set_new(o, "machine", json_string(v->machine));
	snprintf(s, sizeof(s), "0x%llx", (unsigned long long)v->ram_base_gpa);
	json_object_set_new(o, "ram_base_gpa", json_string(s));
	json_object_set_new(o, "link_dev", v->link_dev[0] ? json_string(v->link_dev) : json_null());
	json_object_set_new(o, "link_tx_bytes", v->link_dev[0] ? u64(v->link_tx_bytes) : json_null());
	json_object_set_new(o, "version", json_string(v->version));
	json_object_set_new(o, "accel", json_string(v->accel));
	json_object_set_new(o, "accel_note", v->accel_note[0] ? json_string(v->accel_note) : json_null());
	json_object_set_new(o, "kernel", json_string(v->kernel));
	json_object_set_new(o, "ram_read", json_string(v->ram_read));
	json_object_set_new(o, "dirty_limit", json_string(v->dirty_limit));
	json_object_set_new(o, "fault", v->fault[0] ? json_string(v->fault) : json_null());
	json_object_set_new(o, "mismatched_first_gpa", gpa);
	json_object_set_new(o, "boot_ns", u64(v->boot_ns));
	json_object_set_new(o, "passes", u64(v->passes));
	json_object_set_new(o, "qemu_downtime_ns", u64(v->qemu_downtime_ns));
	json_object_set_new(o, "qemu_total_time_ns", u64(v->qemu_total_time_ns));
	json_object_set_new(o, "qemu_setup_time_ns", u64(v->qemu_setup_time_ns));
	json_object_set_new(o, "qemu_expected_downtime_ns", u64(v->qemu_expected_downtime_ns));
	json_object_set_new(o, "hold_ns", u64(v->hold_ns));
	json_object_set_new(o, "tick_interval_ns", u64(v->tick_interval_ns));
	json_object_set_new(o, "ticks_src", u64(v->ticks_src));
	json_object_set_new(o, "ticks_dst", u64(v->ticks_dst));
	json_object_set_new(o, "switch_gap_ns", u64(v->switch_gap_ns));
	json_object_set_new(o, "src_max_gap_ns", u64(v->src_max_gap_ns));
	json_object_set_new(o, "lateness_guest_ns", u64(v->lateness_guest_ns));
	json_object_set_new(o, "stats_lines", u64(v->stats_lines));
	return o;
}

static json_t *result_json(const struct db_result *res)
{
	json_t *o = json_object(), *host = json_object(), *rounds = json_array();
	json_t *clk = json_object();
	struct utsname u;
	size_t i;

	uname(&u);
	json_object_set_new(host, "kernel", json_string(u.release));
	json_object_set_new(host, "cpus", json_integer(sysconf(_SC_NPROCESSORS_ONLN)));
	for (i = 0; i < res->nr; i++)
		json_array_append_new(rounds, round_json(&res->r[i]));
	json_object_set_new(clk, "start_mono_ns", u64(res->start_mono_ns));
	json_object_set_new(clk, "same_clock", json_boolean(res->same_clock));
	json_object_set_new(clk, "offset_ns", json_integer(res->clock_offset_ns));
	json_object_set_new(clk, "rtt_ns", u64(res->clock_rtt_ns));
	json_object_set_new(clk, "error_ns", u64(res->same_clock ? 0 : res->clock_rtt_ns / 2));

	json_object_set_new(o, "schema", json_integer(DB_RESULT_SCHEMA));
	json_object_set_new(o, "dirtybench_version", json_string(DB_VERSION));
	json_object_set_new(o, "role", json_string(res->role == DB_ROLE_SRC ? "source" : "destination"));
	json_object_set_new(o, "scenario", res->cfg.scenario[0] ?
			    json_string(res->cfg.scenario) : json_null());
	json_object_set_new(o, "started_at", json_string(res->started_at));
	json_object_set_new(o, "host", host);
	json_object_set_new(o, "config", config_json(res));
	json_object_set_new(o, "summary", summary_json(res));
	json_object_set_new(o, "tracker", tracker_json(res));
	json_object_set_new(o, "workload", workload_json(res));
	json_object_set_new(o, "model", model_json(res));
	json_object_set_new(o, "collectors", collectors_json(res));
	json_object_set_new(o, "vmm", vmm_json(res));
	json_object_set_new(o, "clock", clk);
	json_object_set_new(o, "rounds", rounds);
	json_object_set_new(o, "error", res->error[0] ? json_string(res->error) : json_null());
	return o;
}

static int write_csv(const struct db_result *res, const char *path)
{
	FILE *f = fopen(path, "we");
	size_t i;

	if (!f)
		return db_error_errno(-errno, "results: cannot create %s", path);
	fprintf(f, "round,start_at_ns,dirty_pages,sent_pages,zero_pages,bytes,"
		"collect_ns,send_ns,duration_ns,dirty_rate_pps,bandwidth_bps,"
		"remaining_pages,dirty_limit_pps\n");
	for (i = 0; i < res->nr; i++) {
		const struct db_round *r = &res->r[i];

		fprintf(f, "%u,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%.1f,%.0f,%llu,%llu\n",
			r->round, (unsigned long long)r->start_at_ns,
			(unsigned long long)r->dirty_pages,
			(unsigned long long)r->sent_pages,
			(unsigned long long)r->zero_pages,
			(unsigned long long)r->bytes,
			(unsigned long long)r->collect_ns,
			(unsigned long long)r->send_ns,
			(unsigned long long)r->duration_ns, r->dirty_rate_pps,
			r->bandwidth_bps, (unsigned long long)r->remaining_pages,
			(unsigned long long)r->dirty_limit_pps);
	}
	if (fclose(f))
		return db_error_errno(-errno, "results: cannot write %s", path);
	return 0;
}

int db_result_write(const struct db_result *res, const char *dir)
{
	char path[600], tmp[620];
	json_t *j = result_json(res);
	int err = 0;

	snprintf(path, sizeof(path), "%s/result.json", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (json_dump_file(j, tmp, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12)))
		err = db_error(-EIO, "results: cannot write %s", tmp);
	else if (rename(tmp, path))
		err = db_error_errno(-errno, "results: cannot rename %s", tmp);
	json_decref(j);
	if (err)
		return err;
	if (res->role != DB_ROLE_SRC)
		return 0;
	snprintf(path, sizeof(path), "%s/rounds.csv", dir);
	return write_csv(res, path);
}

void db_round_print(const struct db_round *r, FILE *f)
{
	char b[32], t[32];

	fprintf(f, "round %u%s: %llu dirty, %llu sent (%llu zero), %s in %s, %.0f Mbit/s",
		r->round, r->final ? " (guest stopped)" : "",
		(unsigned long long)r->dirty_pages,
		(unsigned long long)r->sent_pages,
		(unsigned long long)r->zero_pages,
		db_fmt_bytes(r->bytes, b, sizeof(b)),
		db_fmt_ns(r->duration_ns, t, sizeof(t)), r->bandwidth_bps / 1e6);
	fputc('\n', f);
	fflush(f);
}

/* What a real VMM's run adds to the summary, each figure with its clock. */
static void vmm_summary(const struct db_result *res, FILE *f)
{
	const struct db_vmm_result *v = &res->vmm;
	char a[32], b[32], c[32], d[32];
	uint32_t i;

	if (res->verified && !res->ram_equal && res->nfirst) {
		fprintf(f, "  differing pages at guest-physical");
		for (i = 0; i < res->nfirst; i++)
			fprintf(f, " 0x%llx", (unsigned long long)(v->ram_base_gpa +
							    res->first[i] * DB_PAGE_SIZE));
		fputc('\n', f);
	}
	fprintf(f, "  %s %s (%s %s, %s, %s): %llu passes, QEMU's downtime %s, setup %s, total %s\n",
		v->kind, v->version, v->arch, v->machine, v->accel, v->binary,
		(unsigned long long)v->passes,
		db_fmt_ns(v->qemu_downtime_ns, a, sizeof(a)),
		db_fmt_ns(v->qemu_setup_time_ns, b, sizeof(b)),
		db_fmt_ns(v->qemu_total_time_ns, c, sizeof(c)));
	if (v->ticks_dst)
		fprintf(f, "  guest stall %s on the host clock (console ticks every %s: last on the source to first on the destination %s, less %s held for verification)\n",
			db_fmt_ns(res->guest_stall_ns, a, sizeof(a)),
			db_fmt_ns(v->tick_interval_ns, b, sizeof(b)),
			db_fmt_ns(v->switch_gap_ns, c, sizeof(c)),
			db_fmt_ns(v->hold_ns, d, sizeof(d)));
	if (v->stats_lines)
		fprintf(f, "  dirtyram's longest period lateness %s on the guest clock (stopped while the guest is paused)\n",
			db_fmt_ns(v->lateness_guest_ns, a, sizeof(a)));
	if (v->link_dev[0])
		fprintf(f, "  netns link: %s sent by its host end %s (tc tbf there the only limit)\n",
			db_fmt_bytes(v->link_tx_bytes, a, sizeof(a)), v->link_dev);
	fprintf(f, "  dirty-limit: %s\n", v->dirty_limit);
	if (v->fault[0])
		fprintf(f, "  test hook applied: --vmm-fault %s\n", v->fault);
}

void db_result_print_summary(const struct db_result *res, FILE *f)
{
	char a[32], b[32], c[32], d[40];
	const struct db_run_config *cfg = &res->cfg;

	fprintf(f, "%s: %s, %s %s, workload %s, bandwidth %s\n",
		db_outcome_name(res->outcome), cfg->tracker,
		db_fmt_bytes(cfg->ram_bytes, a, sizeof(a)),
		db_backing_name(db_result_backing(res)), cfg->workload,
		cfg->bandwidth ? (snprintf(b, sizeof(b), "%.0f Mbit/s",
					   cfg->bandwidth * 8 / 1e6), b) : "unlimited");
	if (res->verified) {
		db_hash128_str(res->sum_src, d);
		fprintf(f, "  RAM %s (xxh3-128 %s)", res->ram_equal ? "equal" : "DIFFERS", d);
		if (!res->ram_equal)
			fprintf(f, ": %llu pages differ, first %llu",
				(unsigned long long)res->mismatched_pages,
				(unsigned long long)(res->nfirst ? res->first[0] : 0));
		fputc('\n', f);
	}
	if (res->vmm.on)
		vmm_summary(res, f);
	fprintf(f, "  %u rounds, %s (%s), %s sent at %.0f Mbit/s\n", res->rounds,
		res->converged ? "converged" : "not converged", res->stop_reason,
		db_fmt_bytes(res->bytes_total, a, sizeof(a)),
		res->bandwidth_measured_bps / 1e6);
	if (res->nr && res->r[res->nr - 1].aborted) {
		const struct db_round *r = &res->r[res->nr - 1];

		fprintf(f, "  round %u aborted after %s in %s (%.0f Mbit/s)\n", r->round,
			db_fmt_bytes(r->bytes, a, sizeof(a)),
			db_fmt_ns(r->send_ns, b, sizeof(b)), r->bandwidth_bps / 1e6);
	}
	if (res->dirty_limit_round >= 0)
		fprintf(f, "  guest dirty rate capped at %llu pages/s (%.1f MB/s) from round %d (--dirty-limit %s; off measures the unthrottled guest)\n",
			(unsigned long long)res->dirty_limit_pps,
			res->dirty_limit_pps * 4096.0 / 1e6, res->dirty_limit_round,
			cfg->dirty_limit);
	if (res->resumed)
		fprintf(f, "  total %s, downtime %s (+%s verification), guest stall %s\n",
			db_fmt_ns(res->total_time_ns, a, sizeof(a)),
			db_fmt_ns(res->downtime_ns, b, sizeof(b)),
			db_fmt_ns(res->verify_ns, c, sizeof(c)),
			db_fmt_ns(res->guest_stall_ns, d, sizeof(d)));
	if (res->have_probe && res->probe_longest_ns)
		fprintf(f, "  stall probe (every %s, resolution %s): longest gap %s at the %s, %.3f s in\n",
			db_fmt_ns(res->probe_interval_ns, a, sizeof(a)),
			db_fmt_ns(res->probe_resolution_ns, b, sizeof(b)),
			db_fmt_ns(res->probe_longest_ns, c, sizeof(c)),
			res->probe_longest_where, (double)res->probe_longest_at_ns / 1e9);
	if (res->stall_note[0])
		fprintf(f, "  stall and downtime differ: %s\n", res->stall_note);
	if (res->have_model && res->model.rounds)
		fprintf(f, "  model (lambda %.2f): %u rounds, %s, downtime %s%s\n",
			res->model.lambda, res->model.rounds,
			db_fmt_bytes(res->model.bytes_total, a, sizeof(a)),
			db_fmt_ns(res->model.downtime_ns, b, sizeof(b)),
			res->dirty_limit_round >= 0 ? " (for the guest unthrottled)" : "");
	if (res->have_model_measured)
		fprintf(f, "  model with the link and guest each round had: %u rounds, %s, downtime %s\n",
			res->model_measured.rounds,
			db_fmt_bytes(res->model_measured.bytes_total, a, sizeof(a)),
			db_fmt_ns(res->model_measured.downtime_ns, b, sizeof(b)));
	if (res->have_collectors && !res->collectors_error[0])
		fprintf(f, "  collectors: %llu samples every %llu ms, cost %.2f%% of a core\n",
			(unsigned long long)res->collectors.samples,
			(unsigned long long)res->cfg.sample_ms,
			res->collectors.pct_of_core);
	if (res->collectors_error[0])
		fprintf(f, "  collectors: %s\n", res->collectors_error);
	if (res->error[0])
		fprintf(f, "  error: %s\n", res->error);
	if (res->guest_running_on_source && res->vmm.on)
		fprintf(f, "  the guest kept running on the source QEMU\n");
	else if (res->guest_running_on_source && res->role == DB_ROLE_SRC)
		fprintf(f, "  the guest kept running on the source (%llu pages written since)\n",
			(unsigned long long)res->pages_written_after_abort);
}
