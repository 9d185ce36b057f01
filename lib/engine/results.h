/* SPDX-License-Identifier: MIT */
/*
 * A migration's results: filled by the engines, written as result.json and
 * rounds.csv (docs/results.md, schema 1) and summed up for people.
 */
#ifndef DIRTYBENCH_RESULTS_H
#define DIRTYBENCH_RESULTS_H

#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>

#include "dirtybench/common.h"
#include "dirtybench/dirtyram.h"
#include "dirtybench/tracker.h"
#include "engine/model.h"
#include "engine/settings.h"
#include "wire/proto.h"
#include "base/cost.h"

#define DB_RESULT_SCHEMA 1

enum db_outcome {
	DB_OUTCOME_COMPLETED,
	DB_OUTCOME_VALIDATION_FAILED,
	DB_OUTCOME_ABORTED,
	DB_OUTCOME_CANCELLED,
};

struct db_round {
	uint32_t round;
	bool final;
	uint64_t start_at_ns;
	uint64_t dirty_pages;		/* the collect at the round's start */
	uint64_t sent_pages;
	uint64_t zero_pages;
	uint64_t bytes;			/* on the wire, headers included */
	uint64_t collect_ns;
	uint64_t send_ns;
	uint64_t duration_ns;
	uint64_t remaining_pages;	/* dirtied while it was sent */
	double dirty_rate_pps;
	double bandwidth_bps;		/* bits/s that left during send_ns */
	double guest_wps;		/* the guest's page writes/s in the round */
	bool aborted;			/* the run ended inside it */
	uint64_t snapshot_violations;
	uint64_t dirty_limit_pps;	/* guest dirty-rate cap, 0: none */
};

/*
 * A run whose system under test is a real VMM (--vmm; vmm/qemu): what
 * only it reports. Clocks: host CLOCK_MONOTONIC unless a name says guest.
 */
struct db_vmm_result {
	bool on;
	char kind[16];			/* "qemu" */
	char binary[512];
	char arch[16];			/* the guest's: "x86_64", "aarch64" */
	char machine[16];		/* "pc", "virt" */
	uint64_t ram_base_gpa;		/* guest-physical address of RAM offset 0 */
	char link_dev[16];		/* --link netns: the host end, "" */
	uint64_t link_tx_bytes;		/* what that end sent (sysfs tx_bytes) */
	char version[64];		/* "7.2.22" */
	char accel[24];			/* QEMU's -accel: "kvm", "tcg", "tcg,thread=single" */
	char accel_note[384];		/* why not the one asked for, "" */
	char kernel[256];		/* the guest kernel image */
	char ram_read[48];		/* how RAM was read for the comparison */
	char dirty_limit[256];		/* "off", "on at N MB/s", or why not */
	char fault[64];			/* the test hook applied, "" */
	uint64_t boot_ns;		/* cont of the source to the guest ready */
	uint64_t passes;		/* QEMU dirty-sync-count at the end */
	uint64_t qemu_downtime_ns;	/* QEMU's own figures (query-migrate) */
	uint64_t qemu_total_time_ns;
	uint64_t qemu_setup_time_ns;
	uint64_t qemu_expected_downtime_ns;
	uint64_t hold_ns;		/* destination loaded to cont: verification */
	uint64_t tick_interval_ns;	/* the guest's console tick */
	uint64_t ticks_src, ticks_dst;
	uint64_t switch_gap_ns;		/* last source tick to first destination tick */
	uint64_t src_max_gap_ns;	/* longest tick gap on the source before it */
	uint64_t lateness_guest_ns;	/* dirtyram --stats, on the guest clock */
	uint64_t stats_lines;
};

struct db_result {
	struct db_run_config cfg;
	enum db_role role;
	char started_at[32];		/* UTC, ISO 8601 */
	uint64_t start_mono_ns;		/* CLOCK_MONOTONIC at round 0 */
	uint64_t hello_mono_ns;		/* ... when HELLO went out (source) */
	uint64_t warmup_ns;		/* the guest ran before round 0 (source) */
	uint64_t dst_maxrss_bytes;	/* peak RSS of `dirtybench dest` (run) */
	int dst_prefault;		/* dest: 0 (not), DB_POPULATED_MADVISE or _TOUCH */
	uint64_t dst_prefault_ns;	/* dest: the time it took */
	enum db_outcome outcome;
	char error[512];

	bool verified;			/* a verdict came back */
	bool ram_equal;
	bool have_src_sum, have_dst_sum;
	struct db_hash128 sum_src, sum_dst;
	uint64_t mismatched_pages, mismatched_chunks;
	uint32_t nfirst;
	uint64_t first[DB_PROTO_FIRST_MAX];

	uint32_t rounds;
	bool converged;
	char stop_reason[32];
	bool resumed;			/* the destination resumed the guest */
	uint64_t total_time_ns;
	uint64_t downtime_ns;		/* pause -> resumed, verification left out */
	uint64_t downtime_incl_verify_ns;
	uint64_t verify_ns;
	uint64_t paused_at_ns, resumed_at_ns;	/* relative to start */
	uint64_t aborted_at_ns;
	uint64_t guest_stall_ns;		/* the probe's longest gap, else lateness */
	uint64_t guest_lateness_ns;	/* longest period lateness, both ends */
	/* the stall probe (docs/results.md, "stall_probe") */
	bool have_probe;
	uint64_t probe_interval_ns, probe_threshold_ns, probe_resolution_ns;
	uint64_t probe_step_p99_ns;	/* on the source */
	uint64_t probe_gaps;
	bool have_probe_switch;		/* both ends read it */
	uint64_t probe_switch_gap_ns;	/* across the switchover, no verification */
	int64_t probe_before_pause_ns;	/* pause asked minus the last reading */
	int64_t probe_after_resume_ns;	/* first reading minus the resume */
	uint64_t probe_longest_ns;
	int64_t probe_longest_at_ns;	/* its start, relative to round 0 */
	char probe_longest_where[16];	/* switchover, source, destination */
	char stall_note[256];		/* why stall and downtime differ; "" */
	uint64_t bytes_total, pages_sent, zero_pages;
	double bandwidth_measured_bps;
	bool snapshot;
	uint64_t snapshot_violations;
	uint64_t dirty_limit_pps;	/* the last cap, 0: never throttled */
	int32_t dirty_limit_round;	/* first round under a cap, -1 */

	bool same_clock;
	int64_t clock_offset_ns;	/* destination minus source */
	uint64_t clock_rtt_ns;

	char tracker_flags[128];
	uint64_t granularity;
	struct db_tracker_stats tstats;
	struct db_counter counters[DB_TRACKER_MAX_COUNTERS];
	size_t ncounters;

	struct dr_stats wl;		/* the source's workload */
	bool have_tail;
	struct db_tail tail;		/* the destination's workload */
	bool guest_running_on_source;
	uint64_t pages_written_after_abort;

	bool have_model;
	double model_bandwidth;		/* bytes/s the model assumed */
	struct db_model_out model;
	bool have_model_measured;	/* fed the bandwidth and write rate each round had */
	struct db_model_out model_measured;

	bool have_collectors;		/* samples.csv was written */
	struct db_sampler_cost collectors;
	char collectors_error[256];	/* samples.csv could not be written */

	struct db_vmm_result vmm;

	struct db_round *r;
	size_t nr, cap;
};

void db_result_init(struct db_result *res, const struct db_run_config *cfg,
		    enum db_role role);
void db_result_free(struct db_result *res);
/* Append a round; NULL when out of memory. */
struct db_round *db_result_add_round(struct db_result *res);
const char *db_outcome_name(enum db_outcome o);
/* The exit status a command returns for this result. */
int db_result_exit_status(const struct db_result *res);
/*
 * The backing the guest RAM had: "tracker" when the tracker provided the
 * RAM itself (its flags, recorded after attach, say provides-ram; it
 * ignored --backing), otherwise the --backing asked for.
 */
enum db_backing db_result_backing(const struct db_result *res);
/* Write DIR/result.json and DIR/rounds.csv. */
int db_result_write(const struct db_result *res, const char *dir);
void db_round_print(const struct db_round *r, FILE *f);
void db_result_print_summary(const struct db_result *res, FILE *f);

#endif
