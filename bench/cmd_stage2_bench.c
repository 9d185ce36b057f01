// SPDX-License-Identifier: MIT
/*
 * dirtybench stage2-bench: the KVM/ARM series' dirtyram matrix on the
 * stage-2 logging model, eager (option 1) against lazy (option 2), with
 * the verdict on the series' claim printed plainly.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dirtybench/common.h"
#include "dirtybench/ram.h"
#include "../vmm-shims/stage2/stage2.h"
#include "cmd.h"
#include "cmdopt.h"
#include "stage2_bench.h"

#define NSEC 1e9
#define MAX_ENTRIES 32

/* The test bed's points: from the first to the top result. */
#define DEFAULT_MATRIX \
	"102580:812:30x1,102580:812:30x2,102580:812:30x4," \
	"204800:2048:10x1,204800:2048:10x2,409600:8192:5x1"

enum {
	OPT_SCALE = 256, OPT_RAM, OPT_BACKING, OPT_LAYOUT, OPT_BANDWIDTH,
	OPT_DOWNTIME, OPT_MAX_ROUNDS, OPT_VCPUS, OPT_EXIT_NS, OPT_TLB,
	OPT_CANCEL, OPT_BASELINE, OPT_MATRIX, OPT_CSV, OPT_MANUAL, OPT_ENGINE,
	OPT_MAX_TIME, OPT_OUT, OPT_KVM,
};

static const struct cmd_opt opts[] = {
	{ "scale", OPT_SCALE, "F", "1",
	  "scale RAM, page counts and bandwidth by F (0 < F <= 1): the same "
	  "dirty-rate/bandwidth ratio and round times on less memory; measured "
	  "costs count 1/F times (not with --engine), so each period's work "
	  "keeps its full-size share of the period; 0.125 suits a small host" },
	{ "ram", OPT_RAM, "SIZE", "1792M", "guest RAM before scaling" },
	{ "backing", OPT_BACKING, "TYPE", "thp",
	  "thp or hugetlb (2 MiB pages: blocks exist), anon (4 KiB: no "
	  "blocks, both strategies alike)" },
	{ "layout", OPT_LAYOUT, "v7|v8", "v7",
	  "stage-2 layout: ARMv7 LPAE (40-bit IPA, the series' target) or "
	  "ARMv8 (4 levels, 48-bit IPA)" },
	{ "bandwidth", OPT_BANDWIDTH, "RATE", "1gbit",
	  "link bandwidth before scaling: 1gbit, 200mbit, 100MB/s" },
	{ "downtime-ms", OPT_DOWNTIME, "MS", "300",
	  "switch over once the rest fits this downtime (QEMU's rule)" },
	{ "max-rounds", OPT_MAX_ROUNDS, "N", "30",
	  "rounds cap, stop-and-copy included; reaching it means not converged" },
	{ "vcpus", OPT_VCPUS, "N", "2",
	  "guest vCPUs the copies share round-robin (--engine: one per copy)" },
	{ "exit-ns", OPT_EXIT_NS, "NS", "0",
	  "modelled cost of one stage-2 abort (exception entry and exit), "
	  "spent in every fault; 0: only the model's own work" },
	{ "tlb", OPT_TLB, "N", "1024", "4 KiB TLB entries per vCPU, a power of two" },
	{ "cancel-s", OPT_CANCEL, "S", "2",
	  "after each migration, logging off and the guest runs S seconds "
	  "more: blocks rebuilt as after migrate_cancel (not with --engine)" },
	{ "baseline-s", OPT_BASELINE, "S", "30, 5 with --engine",
	  "length of the unlogged run each slowdown is measured against "
	  "(virtual seconds; real ones with --engine)" },
	{ "matrix", OPT_MATRIX, "LIST", "the test bed's range",
	  "TOTAL:DIRTY:PERIOD_MSxCOPIES entries (dirtyram's arguments before "
	  "scaling), comma-separated; the default is 102580:812:30 with 1, 2 "
	  "and 4 copies, 204800:2048:10 with 1 and 2, 409600:8192:5 (the top "
	  "result) with 1" },
	{ "manual", OPT_MANUAL, NULL, "off",
	  "manual dirty-log protect: GET_DIRTY_LOG, then CLEAR_DIRTY_LOG in "
	  "1 GiB chunks" },
	{ "engine", OPT_ENGINE, NULL, "off",
	  "real migrations instead of virtual time: dirtyram's threads write "
	  "through the model while the engine collects and sends over "
	  "loopback TCP, limited by its token bucket" },
	{ "kvm", OPT_KVM, NULL, "off",
	  "real KVM instead of the model (implies --engine): the kvm tracker, "
	  "split=eager and split=lazy, with KVM vCPUs writing (arm64 with "
	  "/dev/kvm; the arm64 test bed runs it: make bench TARGET=exynos)" },
	{ "max-time", OPT_MAX_TIME, "S", "120",
	  "--engine: pre-copy time cap per migration (then forced: not "
	  "converged)" },
	{ "out", OPT_OUT, "DIR", NULL,
	  "--engine: each migration's result.json and rounds.csv in "
	  "DIR/TOTAL-DIRTY-PERIOD-xCOPIES-STRATEGY" },
	{ "csv", OPT_CSV, "FILE", NULL, "also write one CSV row per entry and strategy" },
};

static const struct cmd_doc doc = {
	.synopsis = "dirtybench stage2-bench [OPTIONS]",
	.desc =
	"Run the KVM/ARM logging series' dirtyram matrix (1792 MiB guests,\n"
	"2 vCPUs, 1 Gbit/s) on the ARM stage-2 logging model with both ways of\n"
	"dissolving huge mappings side by side:\n"
	"  eager  (option 1) split every block into write-protected pages at\n"
	"         log enable\n"
	"  lazy   (option 2) dissolve a block on its first write fault (the series)\n"
	"and say whether the run confirms the series' claim that eager converges\n"
	"faster under heavy load and lazy catches up eventually.\n"
	"\n"
	"By default each migration runs in virtual time: dirtyram's sequential\n"
	"writes go through the model (TLB, table walks, fault handler), the link\n"
	"is simulated, and what the model's work costs in real time (writes,\n"
	"faults, splits, log enable, dirty-log reads) is charged to the clock,\n"
	"so both strategies see the same access sequence. --engine runs real\n"
	"migrations instead. Pages are copied to a destination and compared\n"
	"either way. Slowdown is measured against the same workload on the same\n"
	"model without logging.\n",
	.opts = opts,
	.nopts = DB_ARRAY_SIZE(opts),
	.tail =
	"Examples:\n"
	"  dirtybench stage2-bench                  the full matrix (a board)\n"
	"  dirtybench stage2-bench --scale 0.125    the same ratios on 224 MiB\n"
	"  dirtybench stage2-bench --scale 0.125 --exit-ns 5000\n"
	"  dirtybench stage2-bench --scale 0.125 --engine --out /tmp/s2\n"
	"\n"
	"Exit status: 0 done and every destination equal to the guest RAM;\n"
	"1 a destination differed; 2 bad usage; 3 a resource is missing here\n"
	"(the backing, memory); 4 a migration aborted.\n",
};

static int bad(const char *opt, const char *arg)
{
	fprintf(stderr, "dirtybench stage2-bench: --%s '%s': %s\n", opt, arg,
		db_strerror());
	return DB_EXIT_USAGE;
}

static int on_opt(int key, const char *arg, void *ctx)
{
	struct s2b_opts *o = ctx;
	enum s2_layout l;
	uint64_t v;

	switch (key) {
	case OPT_SCALE:
		return db_parse_double(arg, 1e-4, 1, &o->scale) ? bad("scale", arg) : 0;
	case OPT_RAM:
		return db_parse_size(arg, &o->ram_bytes) ? bad("ram", arg) : 0;
	case OPT_BACKING:
		o->backing_name = arg;
		return db_backing_parse(arg, &o->backing) ? bad("backing", arg) : 0;
	case OPT_LAYOUT:
		o->layout = arg;
		return s2_layout_parse(arg, &l) ? bad("layout", arg) : 0;
	case OPT_BANDWIDTH:
		if (db_parse_rate(arg, &o->bandwidth_Bps))
			return bad("bandwidth", arg);
		if (!o->bandwidth_Bps) {
			db_error(-EINVAL, "the link needs a finite bandwidth");
			return bad("bandwidth", arg);
		}
		return 0;
	case OPT_DOWNTIME:
		return db_parse_u64(arg, 1, 3600000, &o->downtime_ms) ?
		       bad("downtime-ms", arg) : 0;
	case OPT_MAX_ROUNDS:
		return db_parse_u64(arg, 2, 10000, &o->max_rounds) ?
		       bad("max-rounds", arg) : 0;
	case OPT_VCPUS:
		return db_parse_u64(arg, 1, 64, &o->vcpus) ? bad("vcpus", arg) : 0;
	case OPT_EXIT_NS:
		return db_parse_u64(arg, 0, 1000000000, &o->exit_ns) ?
		       bad("exit-ns", arg) : 0;
	case OPT_TLB:
		if (db_parse_u64(arg, 1, 1u << 20, &v))
			return bad("tlb", arg);
		if (v & (v - 1)) {
			db_error(-EINVAL, "not a power of two");
			return bad("tlb", arg);
		}
		o->tlb = v;
		return 0;
	case OPT_CANCEL:
		return db_parse_double(arg, 0, 3600, &o->cancel_s) ? bad("cancel-s", arg) : 0;
	case OPT_BASELINE:
		return db_parse_double(arg, 0.01, 3600, &o->baseline_s) ?
		       bad("baseline-s", arg) : 0;
	case OPT_MAX_TIME:
		return db_parse_double(arg, 1, 86400, &o->max_time_s) ?
		       bad("max-time", arg) : 0;
	case OPT_MATRIX:
		o->matrix = arg;
		return 0;
	case OPT_CSV:
		o->csv = arg;
		return 0;
	case OPT_OUT:
		o->out = arg;
		return 0;
	case OPT_MANUAL:
		o->manual = true;
		return 0;
	case OPT_ENGINE:
		o->engine = true;
		return 0;
	case OPT_KVM:
		o->kvm = o->engine = o->manual = true;
		return 0;
	}
	return DB_EXIT_USAGE;
}

static int parse_matrix(const char *s, struct s2b_entry *e, size_t *n)
{
	char buf[1024], *tok, *save = NULL;
	unsigned long long t, d, p;
	unsigned c;
	char x;

	*n = 0;
	if (strlen(s) >= sizeof(buf))
		return db_error(-EINVAL, "matrix: too long");
	snprintf(buf, sizeof(buf), "%s", s);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		c = 1;
		if (*n == MAX_ENTRIES)
			return db_error(-EINVAL, "matrix: more than %d entries",
					MAX_ENTRIES);
		if ((sscanf(tok, "%llu:%llu:%llu%c%u", &t, &d, &p, &x, &c) != 5 &&
		     sscanf(tok, "%llu:%llu:%llu", &t, &d, &p) != 3) ||
		    !t || d > t || !p || !c || c > 64)
			return db_error(-EINVAL,
					"matrix entry '%s': expected TOTAL:DIRTY:PERIOD_MS[xCOPIES] with DIRTY <= TOTAL, PERIOD_MS >= 1, 1-64 copies",
					tok);
		e[(*n)++] = (struct s2b_entry){ t, d, p, c };
	}
	if (!*n)
		return db_error(-EINVAL, "matrix: no entry");
	return 0;
}

uint64_t s2b_scaled(uint64_t v, double f)
{
	uint64_t s = (uint64_t)((double)v * f + 0.5);

	return s ? s : 1;
}

void s2b_tracker_spec(const struct s2b_opts *o, int k, char *buf, size_t len)
{
	if (o->kvm) {
		snprintf(buf, len, "kvm:split=%s", k ? "lazy" : "eager");
		return;
	}
	snprintf(buf, len, "stage2-%s:layout=%s,exit_ns=%llu,tlb=%llu%s",
		 k ? "lazy" : "eager", o->layout, (unsigned long long)o->exit_ns,
		 (unsigned long long)o->tlb, o->manual ? ",manual" : "");
}

void s2b_entry_name(const struct s2b_entry *e, char *buf, size_t len)
{
	snprintf(buf, len, "%llu %llu %llu x%u", (unsigned long long)e->total,
		 (unsigned long long)e->dirty, (unsigned long long)e->period_ms,
		 e->copies);
}

static double ns_per_page(const struct s2sim_result *r)
{
	return r->pages_written ? (double)r->write_ns / (double)r->pages_written : 0;
}

/* Guest throughput lost against the unlogged run. */
static double slowdown(const struct s2b_row *w, int k)
{
	return w->r[k].achieved_pps > 0 ? w->base.achieved_pps / w->r[k].achieved_pps : 0;
}

static void print_migration(const struct s2b_row *rows, size_t n)
{
	static const char *const strat[2] = { "eager", "lazy" };
	char name[64], cost[16];
	size_t i;
	int k;

	printf("\nMigration (%s)\n", rows[0].engine ? "real, through the engine" :
	       "virtual time");
	printf("%-22s %-6s %6s %-4s %10s %11s %9s %9s %8s %10s %9s\n", "dirtyram entry",
	       "strat", "rounds", "conv", "final_pg", "downtime_ms", "total_s",
	       "slowdown", "cost_x", "late_ms", "ram_equal");
	for (i = 0; i < n; i++) {
		const struct s2b_row *w = &rows[i];

		s2b_entry_name(&w->e, name, sizeof(name));
		for (k = 0; k < 2; k++) {
			const struct s2sim_result *r = &w->r[k];
			double base = ns_per_page(&w->base);

			if (w->engine || base <= 0)
				snprintf(cost, sizeof(cost), "-");
			else
				snprintf(cost, sizeof(cost), "%.2fx", ns_per_page(r) / base);
			printf("%-22s %-6s %6u %-4s %10llu %11.1f %9.2f %8.2fx %8s %10.2f %9s\n",
			       k ? "" : name, strat[k], r->rounds,
			       r->converged ? "yes" : "no",
			       (unsigned long long)r->final_pages,
			       (double)r->downtime_ns / 1e6, (double)r->total_ns / NSEC,
			       slowdown(w, k), cost, (double)r->max_late_ns / 1e6,
			       r->ram_equal ? "true" : "FALSE");
		}
	}
}

/* KVM has neither split nor fault counters on arm64: its own figures. */
static void print_kvm_work(const struct s2b_row *rows, size_t n)
{
	static const char *const strat[2] = { "eager", "lazy" };
	char name[64];
	size_t i;
	int k;

	printf("\nKVM stage-2 work during the migration (the kernel's figures)\n");
	printf("%-22s %-6s %9s %10s %10s %11s %12s %10s %12s\n",
	       "dirtyram entry", "strat", "enable_ms", "get_ms", "clear_ms",
	       "guest_wr_k", "vcpu0_flt_k", "tables_kB", "tables_kB_end");
	for (i = 0; i < n; i++) {
		const struct s2b_row *w = &rows[i];

		s2b_entry_name(&w->e, name, sizeof(name));
		for (k = 0; k < 2; k++) {
			const struct s2sim_result *r = &w->r[k];

			printf("%-22s %-6s %9.2f %10.2f %10.2f %11.1f %12.1f %10llu %12llu\n",
			       k ? "" : name, strat[k],
			       (double)s2sim_counter(r, "log_enable_ns") / 1e6,
			       (double)s2sim_counter(r, "get_dirty_log_ns") / 1e6,
			       (double)s2sim_counter(r, "clear_dirty_log_ns") / 1e6,
			       (double)s2sim_counter(r, "guest_writes") / 1e3,
			       (double)s2sim_counter(r, "vcpu0_fault_exits") / 1e3,
			       (unsigned long long)s2sim_counter(r, "stage2_tables_kb_at_enable"),
			       (unsigned long long)s2sim_counter(r, "stage2_tables_kb_now"));
		}
	}
}

static void print_work(const struct s2b_row *rows, size_t n, double cancel_s)
{
	static const char *const strat[2] = { "eager", "lazy" };
	char name[64], cancel[32];
	size_t i;
	int k;

	printf("\nStage-2 work during the migration\n");
	printf("%-22s %-6s %7s %7s %10s %9s %9s %9s %7s %10s %9s %8s %10s\n",
	       "dirtyram entry", "strat", "blocks", "split", "tables_MiB",
	       "perm_flt", "trans_flt", "fault_ms", "tlb_fl", "tlb_miss",
	       "enable_ms", "desc_k", "after_cncl");
	for (i = 0; i < n; i++) {
		const struct s2b_row *w = &rows[i];

		s2b_entry_name(&w->e, name, sizeof(name));
		for (k = 0; k < 2; k++) {
			const struct s2sim_result *r = &w->r[k];

			if (w->engine)
				snprintf(cancel, sizeof(cancel), "-");
			else
				snprintf(cancel, sizeof(cancel), "%llu/%llu",
					 (unsigned long long)r->blocks_after_cancel,
					 (unsigned long long)r->blocks_before);
			printf("%-22s %-6s %7llu %7llu %10.2f %9llu %9llu %9.1f %7llu %10llu %9.2f %8.1f %10s\n",
			       k ? "" : name, strat[k],
			       (unsigned long long)r->blocks_before,
			       (unsigned long long)s2sim_counter(r, "blocks_split"),
			       (double)s2sim_counter(r, "tables_peak_bytes") / (1 << 20),
			       (unsigned long long)s2sim_counter(r, "perm_faults"),
			       (unsigned long long)s2sim_counter(r, "translation_faults"),
			       (double)s2sim_counter(r, "fault_handler_ns") / 1e6,
			       (unsigned long long)s2sim_counter(r, "tlb_flushes"),
			       (unsigned long long)s2sim_counter(r, "tlb_misses"),
			       (double)s2sim_counter(r, "log_enable_ns") / 1e6,
			       (double)s2sim_counter(r, "descriptors_written") / 1e3,
			       cancel);
		}
	}
	printf("\nslowdown: unlogged guest pages/s over logged; cost_x: guest time per\n"
	       "page written, logged over unlogged; late_ms: longest period lateness;\n"
	       "tables_MiB: peak stage-2 table memory; fault_ms and enable_ms:\n"
	       "measured, unscaled; desc_k: thousands of descriptors written;\n"
	       "after_cncl: 2 MiB blocks mapped after a cancel and %g s more of the\n"
	       "guest, of those at enable.\n", cancel_s);
}

/* One run per strategy: a smaller difference in total time is noise. */
#define ALIKE 0.05

/* <0: eager better, >0: lazy better, 0: alike. */
static int compare(const struct s2sim_result *e, const struct s2sim_result *l)
{
	if (e->converged != l->converged)
		return e->converged ? -1 : 1;
	if (!e->converged)
		return 0;
	if (e->rounds != l->rounds)
		return e->rounds < l->rounds ? -1 : 1;
	if ((double)e->total_ns < (1 - ALIKE) * (double)l->total_ns)
		return -1;
	if ((double)l->total_ns < (1 - ALIKE) * (double)e->total_ns)
		return 1;
	return 0;
}

static void verdict(const struct s2b_row *rows, size_t n)
{
	size_t i, heavy = n, ahead[3] = { 0 }, neither = 0, light = 0, light_ok = 0;
	double top = -1;
	char name[64];
	int c;

	for (i = 0; i < n; i++) {
		const struct s2sim_result *e = &rows[i].r[0], *l = &rows[i].r[1];

		ahead[compare(e, l) + 1]++;
		if (!e->converged && !l->converged) {
			neither++;
			continue;
		}
		if (e->target_pps > top) {
			top = e->target_pps;
			heavy = i;
		}
	}
	printf("\nThe series' claim: option 1 (eager) converges faster under heavy load;\n"
	       "option 2 (lazy) takes longer but eventually catches up.\n");
	printf("Across %zu entries: eager ahead at %zu, lazy ahead at %zu, alike at %zu\n"
	       "(fewer rounds, or total time shorter by over %.0f%% in one run each);\n"
	       "%zu converged with neither.\n",
	       n, ahead[0], ahead[2], ahead[1], ALIKE * 100, neither);
	if (heavy == n) {
		printf("VERDICT: cannot be judged by this run: no entry converged with\n"
		       "either strategy at this bandwidth and downtime limit.\n");
		return;
	}
	for (i = 0; i < n; i++) {
		if (i == heavy || (!rows[i].r[0].converged && !rows[i].r[1].converged))
			continue;
		light++;
		light_ok += compare(&rows[i].r[0], &rows[i].r[1]) >= 0;
	}
	s2b_entry_name(&rows[heavy].e, name, sizeof(name));
	printf("Heaviest load that converged: %s:\n"
	       "  eager %u rounds, %.2f s; lazy %u rounds, %.2f s.\n", name,
	       rows[heavy].r[0].rounds, (double)rows[heavy].r[0].total_ns / NSEC,
	       rows[heavy].r[1].rounds, (double)rows[heavy].r[1].total_ns / NSEC);
	c = compare(&rows[heavy].r[0], &rows[heavy].r[1]);
	if (c < 0 && !light)
		printf("VERDICT: PARTLY CONFIRMED by this run: eager converged faster at the\n"
		       "heaviest converging load; whether lazy catches up at lighter loads\n"
		       "cannot be judged, no lighter load was run that converged.\n");
	else if (c < 0 && light_ok == light)
		printf("VERDICT: CONFIRMED by this run: eager converged faster at the heaviest\n"
		       "converging load, and lazy was not behind at the %zu lighter ones.\n",
		       light);
	else if (c < 0)
		printf("VERDICT: PARTLY CONFIRMED by this run: eager converged faster at the\n"
		       "heaviest converging load, but lazy did not catch up at %zu of %zu\n"
		       "lighter loads.\n", light - light_ok, light);
	else
		printf("VERDICT: NOT CONFIRMED by this run: at the heaviest converging load\n"
		       "%s. Both strategies log exactly the pages written,\n"
		       "so they resend the same data; they only move the split work between\n"
		       "log enable (eager) and the fault path (lazy), and here that work did\n"
		       "not change the number of rounds.\n",
		       c > 0 ? "lazy converged faster" : "both converged alike");
}

static void write_csv(FILE *f, const struct s2b_row *rows, size_t n,
		      const struct s2b_opts *o)
{
	static const char *const strat[2] = { "eager", "lazy" };
	size_t i, c;
	int k;

	fprintf(f, "mode,total_pages,dirty_pages,period_ms,copies,scale,strategy,"
		   "rounds,converged,final_pages,downtime_ns,total_ns,pages_sent,"
		   "target_pps,achieved_pps,unlogged_pps,write_ns_per_page,"
		   "unlogged_write_ns_per_page,max_late_ns,ram_equal,"
		   "blocks_2m_at_start,blocks_2m_after_cancel,"
		   "blocks_rebuilt_after_cancel,collect_ns");
	for (c = 0; c < rows[0].r[0].ncounters; c++)
		fprintf(f, ",%s", rows[0].r[0].counters[c].name);
	fprintf(f, "\n");
	for (i = 0; i < n; i++) {
		const struct s2b_row *w = &rows[i];

		for (k = 0; k < 2; k++) {
			const struct s2sim_result *r = &w->r[k];

			fprintf(f, "%s,%llu,%llu,%llu,%u,%g,%s,%u,%d,%llu,%llu,%llu,%llu,"
				   "%.1f,%.1f,%.1f,%.1f,%.1f,%llu,%d,%llu,%llu,%llu,%llu",
				w->engine ? "engine" : "virtual",
				(unsigned long long)w->e.total, (unsigned long long)w->e.dirty,
				(unsigned long long)w->e.period_ms, w->e.copies, o->scale,
				strat[k], r->rounds, r->converged,
				(unsigned long long)r->final_pages,
				(unsigned long long)r->downtime_ns,
				(unsigned long long)r->total_ns,
				(unsigned long long)r->pages_sent, r->target_pps,
				r->achieved_pps, w->base.achieved_pps, ns_per_page(r),
				ns_per_page(&w->base), (unsigned long long)r->max_late_ns,
				r->ram_equal, (unsigned long long)r->blocks_before,
				(unsigned long long)r->blocks_after_cancel,
				(unsigned long long)r->rebuilt_after_cancel,
				(unsigned long long)r->collect_ns);
			for (c = 0; c < r->ncounters; c++)
				fprintf(f, ",%llu", (unsigned long long)r->counters[c].value);
			fprintf(f, "\n");
		}
	}
}

/* Virtual time: the unlogged baseline, then each strategy. */
static int sim_entry(const struct s2b_opts *o, struct s2b_row *w)
{
	struct s2sim_config cfg = {
		.total_pages = s2b_scaled(w->e.total, o->scale),
		.dirty_pages = s2b_scaled(w->e.dirty, o->scale),
		.period_ms = w->e.period_ms,
		.copies = w->e.copies,
		.guest_vcpus = (unsigned)o->vcpus,
		.ram_bytes = (size_t)s2b_scaled(o->ram_bytes / DB_PAGE_SIZE, o->scale) *
			     DB_PAGE_SIZE,
		.backing = o->backing,
		.bandwidth_Bps = s2b_scaled(o->bandwidth_Bps, o->scale),
		.downtime_limit_ns = o->downtime_ms * 1000000ull,
		.max_rounds = (unsigned)o->max_rounds,
		.cancel_run_ns = (uint64_t)(o->cancel_s * NSEC),
		.unlogged_ns = (uint64_t)((o->baseline_s < 0 ? 30 : o->baseline_s) * NSEC),
		.cost_factor = 1 / o->scale,
	};
	char spec[2][128];
	int k, err;

	for (k = 0; k < 2; k++)
		s2b_tracker_spec(o, k, spec[k], sizeof(spec[k]));
	cfg.tracker = spec[1];
	cfg.unlogged = true;
	err = s2sim_run(&cfg, &w->base);
	cfg.unlogged = false;
	for (k = 0; !err && k < 2; k++) {
		cfg.tracker = spec[k];
		err = s2sim_run(&cfg, &w->r[k]);
	}
	return err;
}

static int exit_status(int err)
{
	switch (err) {
	case -EINVAL:
	case -ERANGE:
	case -ENOSPC:
		return DB_EXIT_USAGE;
	case -ECONNABORTED:
		return DB_EXIT_ABORTED;
	default:
		return DB_EXIT_RESOURCE;
	}
}

static void print_header(const struct s2b_opts *o)
{
	char sz[32], full[32];

	printf("stage2-bench: %s, layout %s, %s backing, RAM %s"
	       " (scale %g of %s)\n",
	       o->kvm ? "real KVM stage-2 dirty logging" : "ARM stage-2 logging model",
	       o->kvm ? "the kernel's" : o->layout, o->backing_name,
	       db_fmt_bytes(s2b_scaled(o->ram_bytes / DB_PAGE_SIZE, o->scale) *
			    DB_PAGE_SIZE, sz, sizeof(sz)),
	       o->scale, db_fmt_bytes(o->ram_bytes, full, sizeof(full)));
	printf("link %.4g Mbit/s after scaling, downtime limit %llu ms, max %llu rounds%s,"
	       " abort cost %llu ns, %s dirty-log protect\n",
	       (double)s2b_scaled(o->bandwidth_Bps, o->scale) * 8 / 1e6,
	       (unsigned long long)o->downtime_ms, (unsigned long long)o->max_rounds,
	       o->engine ? "" : ", 2 vCPUs", (unsigned long long)o->exit_ns,
	       o->manual ? "manual" : "automatic");
	fflush(stdout);
}

int cmd_stage2_bench(int argc, char **argv)
{
	struct s2b_opts o = {
		.scale = 1, .ram_bytes = 1792ull << 20, .backing = DB_BACKING_THP,
		.backing_name = "thp", .layout = "v7", .bandwidth_Bps = 125000000,
		.downtime_ms = 300, .max_rounds = 30, .vcpus = 2, .tlb = 1024,
		.cancel_s = 2, .baseline_s = -1, .matrix = DEFAULT_MATRIX,
		.max_time_s = 120,
	};
	struct s2b_entry e[MAX_ENTRIES];
	struct s2b_row *rows;
	char why[256], name[64];
	size_t n, i;
	int rc, err, status = DB_EXIT_OK;

	rc = cmd_parse(argc, argv, &doc, on_opt, &o);
	if (rc < 0)
		return rc == CMD_HELP_SHOWN ? 0 : -rc;
	if (rc != argc) {
		fprintf(stderr, "dirtybench stage2-bench: no operand expected ('%s')\n",
			argv[rc]);
		return DB_EXIT_USAGE;
	}
	if (parse_matrix(o.matrix, e, &n)) {
		fprintf(stderr, "dirtybench stage2-bench: %s\n", db_strerror());
		return DB_EXIT_USAGE;
	}
	if (db_backing_probe(o.backing, why, sizeof(why))) {
		fprintf(stderr, "dirtybench stage2-bench: backing %s: %s\n",
			o.backing_name, why);
		return DB_EXIT_RESOURCE;
	}
	rows = calloc(n, sizeof(*rows));
	if (!rows)
		return DB_EXIT_RESOURCE;
	db_cmd_signals();
	print_header(&o);
	for (i = 0; i < n; i++) {
		rows[i].e = e[i];
		s2b_entry_name(&e[i], name, sizeof(name));
		fprintf(stderr, "stage2-bench: %s (scaled: %llu %llu %llu x%u) ...\n", name,
			(unsigned long long)s2b_scaled(e[i].total, o.scale),
			(unsigned long long)s2b_scaled(e[i].dirty, o.scale),
			(unsigned long long)e[i].period_ms, e[i].copies);
		err = o.engine ? s2b_engine_entry(&o, &rows[i]) : sim_entry(&o, &rows[i]);
		if (err) {
			fprintf(stderr, "dirtybench stage2-bench: %s: %s\n", name,
				db_strerror());
			free(rows);
			return exit_status(err);
		}
		if (!rows[i].r[0].ram_equal || !rows[i].r[1].ram_equal)
			status = DB_EXIT_VALIDATION;
	}
	print_migration(rows, n);
	if (o.kvm)
		print_kvm_work(rows, n);
	else
		print_work(rows, n, o.cancel_s);
	verdict(rows, n);
	if (o.csv) {
		FILE *f = fopen(o.csv, "w");

		if (!f) {
			fprintf(stderr, "dirtybench stage2-bench: cannot write %s\n", o.csv);
			status = status ? status : DB_EXIT_RESOURCE;
		} else {
			write_csv(f, rows, n, &o);
			fclose(f);
		}
	}
	if (status == DB_EXIT_VALIDATION)
		printf("\nA destination differed from the guest RAM: the model lost a dirty page.\n");
	free(rows);
	return status;
}
