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
#include "../vmm-shims/stage2/sim.h"
#include "../vmm-shims/stage2/stage2.h"
#include "cmd.h"

#define NSEC 1e9
#define MAX_ENTRIES 32

/* The test bed's points: from the first to the top result. */
#define DEFAULT_MATRIX \
	"102580:812:30x1,102580:812:30x2,102580:812:30x4," \
	"204800:2048:10x1,204800:2048:10x2,409600:8192:5x1"

struct entry {
	uint64_t total, dirty, period_ms;
	unsigned copies;
};

struct bench_opts {
	double scale;
	uint64_t ram_bytes;
	const char *backing;
	const char *layout;
	uint64_t bandwidth_Bps;
	uint64_t downtime_ms;
	uint64_t max_rounds;
	uint64_t vcpus;
	uint64_t exit_ns;
	uint64_t tlb;
	double cancel_s;
	double baseline_s;
	const char *matrix;
	const char *csv;
	bool manual;
};

enum opt_type { OPT_DOUBLE, OPT_SIZE, OPT_RATE, OPT_U64, OPT_STR, OPT_FLAG };

/* One table for the parser and --help. */
static const struct opt {
	const char *name, *arg, *def, *help;
	enum opt_type type;
	size_t off;
	double lo, hi;
} opts[] = {
	{ "scale", "F", "1", "scale RAM, page counts and bandwidth by F (0 < F <= 1):\n"
	  "the same dirty-rate/bandwidth ratio and round times on\n"
	  "less memory; measured costs count 1/F times, so each\n"
	  "period's work keeps its full-size share of the period;\n"
	  "0.125 suits a small host",
	  OPT_DOUBLE, offsetof(struct bench_opts, scale), 1e-4, 1 },
	{ "ram", "SIZE", "1792M", "guest RAM before scaling (the test bed's guests)",
	  OPT_SIZE, offsetof(struct bench_opts, ram_bytes), 0, 0 },
	{ "backing", "B", "thp", "guest RAM backing: thp or hugetlb (2 MiB: blocks\n"
	  "exist), anon (4 KiB: no blocks, both strategies alike)",
	  OPT_STR, offsetof(struct bench_opts, backing), 0, 0 },
	{ "layout", "L", "v7", "stage-2 layout: v7 (ARMv7 LPAE, 40-bit IPA, the\n"
	  "series' target) or v8 (ARMv8, 4 levels, 48-bit IPA)",
	  OPT_STR, offsetof(struct bench_opts, layout), 0, 0 },
	{ "bandwidth", "RATE", "1gbit", "link bandwidth before scaling: 1gbit, 100MB/s, ...",
	  OPT_RATE, offsetof(struct bench_opts, bandwidth_Bps), 0, 0 },
	{ "downtime-ms", "MS", "300", "switch over once the rest fits this downtime\n"
	  "(QEMU's rule)", OPT_U64, offsetof(struct bench_opts, downtime_ms), 1, 3600000 },
	{ "max-rounds", "N", "30", "rounds cap, stop-and-copy included; reaching it\n"
	  "means not converged",
	  OPT_U64, offsetof(struct bench_opts, max_rounds), 2, 10000 },
	{ "vcpus", "N", "2", "guest vCPUs; dirtyram copies share them round-robin",
	  OPT_U64, offsetof(struct bench_opts, vcpus), 1, 64 },
	{ "exit-ns", "NS", "0", "modelled cost of one stage-2 abort (exception entry\n"
	  "and exit) added to every fault, in ns; 0 counts only\n"
	  "the model's own work",
	  OPT_U64, offsetof(struct bench_opts, exit_ns), 0, 1000000000 },
	{ "tlb", "N", "1024", "4 KiB TLB entries per vCPU (a power of two)",
	  OPT_U64, offsetof(struct bench_opts, tlb), 1, 1u << 20 },
	{ "cancel-s", "S", "2", "after each migration, logging off and the guest runs\n"
	  "S more seconds: blocks rebuilt as after migrate_cancel",
	  OPT_DOUBLE, offsetof(struct bench_opts, cancel_s), 0, 3600 },
	{ "baseline-s", "S", "30", "seconds of the unlogged run each entry's slowdown\n"
	  "is measured against",
	  OPT_DOUBLE, offsetof(struct bench_opts, baseline_s), 0.01, 3600 },
	{ "matrix", "LIST", DEFAULT_MATRIX, "entries TOTAL:DIRTY:PERIOD_MSxCOPIES (dirtyram's\n"
	  "arguments before scaling), comma-separated; the\n"
	  "default is the test bed's range: 102580:812:30 with\n"
	  "1, 2 and 4 copies, 204800:2048:10 with 1 and 2,\n"
	  "409600:8192:5 (the top result) with 1",
	  OPT_STR, offsetof(struct bench_opts, matrix), 0, 0 },
	{ "csv", "FILE", "none", "also write one CSV row per entry and strategy",
	  OPT_STR, offsetof(struct bench_opts, csv), 0, 0 },
	{ "manual", NULL, "off", "manual dirty-log protect: GET_DIRTY_LOG, then\n"
	  "CLEAR_DIRTY_LOG in 1 GiB chunks",
	  OPT_FLAG, offsetof(struct bench_opts, manual), 0, 0 },
};

static void usage(FILE *f)
{
	size_t i;
	const char *p;

	fprintf(f,
"Usage: dirtybench stage2-bench [OPTIONS]\n"
"\n"
"Run the KVM/ARM logging series' dirtyram matrix on the ARM stage-2 logging\n"
"model with both ways of dissolving huge mappings side by side:\n"
"  eager  (option 1) split every block into write-protected pages at log enable\n"
"  lazy   (option 2) dissolve a block on its first write fault (the series)\n"
"and say whether the run confirms the series' claim that eager converges\n"
"faster under heavy load and lazy catches up eventually.\n"
"\n"
"Each migration runs in virtual time: dirtyram's sequential writes go through\n"
"the model (TLB, table walks, fault handler), the link is simulated, and what\n"
"the model's work costs in real time (writes, faults, splits, log enable and\n"
"dirty-log reads) is charged to the clock. Pages are really copied to a\n"
"destination image and compared. Slowdown is measured against the same\n"
"workload on the same model without logging.\n"
"\n"
"Options:\n");
	for (i = 0; i < DB_ARRAY_SIZE(opts); i++) {
		char head[40];

		snprintf(head, sizeof(head), "--%s%s%s", opts[i].name,
			 opts[i].arg ? " " : "", opts[i].arg ? opts[i].arg : "");
		fprintf(f, "  %-20s ", head);
		for (p = opts[i].help; *p; p++) {
			fputc(*p, f);
			if (*p == '\n')
				fprintf(f, "  %-20s ", "");
		}
		fprintf(f, "\n  %-20s default: %s\n", "",
			strlen(opts[i].def) > 50 ? "the range above" : opts[i].def);
	}
	fprintf(f,
"  %-20s this text\n"
"\n"
"Examples:\n"
"  dirtybench stage2-bench                  the full 1792 MiB matrix (a board)\n"
"  dirtybench stage2-bench --scale 0.125    the same ratios on 224 MiB\n"
"  dirtybench stage2-bench --scale 0.125 --exit-ns 5000 --matrix 102580:812:30x1\n"
"\n"
"Exit status: 0 done and every destination image equal to the guest RAM;\n"
"1 an image differed; 2 bad usage; 3 the backing is not available here.\n",
		"-h, --help");
}

static int set_opt(struct bench_opts *o, const struct opt *d, const char *v)
{
	void *dst = (char *)o + d->off;

	switch (d->type) {
	case OPT_DOUBLE:
		return db_parse_double(v, d->lo, d->hi, dst);
	case OPT_SIZE:
		return db_parse_size(v, dst);
	case OPT_RATE:
		return db_parse_rate(v, dst);
	case OPT_U64:
		return db_parse_u64(v, (uint64_t)d->lo, (uint64_t)d->hi, dst);
	case OPT_STR:
		*(const char **)dst = v;
		return 0;
	case OPT_FLAG:
		*(bool *)dst = true;
		return 0;
	}
	return -EINVAL;
}

static int parse_args(int argc, char **argv, struct bench_opts *o)
{
	int i;
	size_t k;

	for (k = 0; k < DB_ARRAY_SIZE(opts); k++)
		if (opts[k].type != OPT_FLAG && strcmp(opts[k].def, "none") &&
		    set_opt(o, &opts[k], opts[k].def))
			return -EINVAL;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *val;
		size_t n;

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return 1;
		}
		if (strncmp(a, "--", 2))
			goto unknown;
		a += 2;
		n = strcspn(a, "=");
		for (k = 0; k < DB_ARRAY_SIZE(opts); k++)
			if (strlen(opts[k].name) == n && !strncmp(opts[k].name, a, n))
				break;
		if (k == DB_ARRAY_SIZE(opts))
			goto unknown;
		if (opts[k].type == OPT_FLAG) {
			val = "1";
		} else if (a[n] == '=') {
			val = a + n + 1;
		} else if (i + 1 < argc) {
			val = argv[++i];
		} else {
			fprintf(stderr, "dirtybench stage2-bench: --%s needs a value (%s)\n",
				opts[k].name, opts[k].arg);
			return -EINVAL;
		}
		if (set_opt(o, &opts[k], val)) {
			fprintf(stderr, "dirtybench stage2-bench: --%s '%s': %s\n",
				opts[k].name, val, db_strerror());
			return -EINVAL;
		}
	}
	if (o->tlb & (o->tlb - 1)) {
		fprintf(stderr, "dirtybench stage2-bench: --tlb %llu is not a power of two\n",
			(unsigned long long)o->tlb);
		return -EINVAL;
	}
	if (!o->bandwidth_Bps) {
		fprintf(stderr, "dirtybench stage2-bench: --bandwidth must be finite\n");
		return -EINVAL;
	}
	return 0;
unknown:
	fprintf(stderr, "dirtybench stage2-bench: unknown option '%s' (see --help)\n",
		argv[i]);
	return -EINVAL;
}

static int parse_matrix(const char *s, struct entry *e, size_t *n)
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
		e[(*n)++] = (struct entry){ t, d, p, c };
	}
	if (!*n)
		return db_error(-EINVAL, "matrix: no entry");
	return 0;
}

struct row {
	struct entry e;			/* unscaled */
	struct s2sim_result r[2];	/* eager, lazy */
	struct s2sim_result base;	/* unlogged */
	bool ran;
};

static uint64_t scaled(uint64_t v, double f)
{
	uint64_t s = (uint64_t)((double)v * f + 0.5);

	return s ? s : 1;
}

static double ns_per_page(const struct s2sim_result *r)
{
	return r->pages_written ? (double)r->write_ns / (double)r->pages_written : 0;
}

static double slowdown(const struct row *w, int k)
{
	/* Guest throughput lost, and guest CPU per page, against unlogged. */
	return w->r[k].achieved_pps > 0 ? w->base.achieved_pps / w->r[k].achieved_pps : 0;
}

static void entry_name(const struct entry *e, char *buf, size_t len)
{
	snprintf(buf, len, "%llu %llu %llu x%u", (unsigned long long)e->total,
		 (unsigned long long)e->dirty, (unsigned long long)e->period_ms,
		 e->copies);
}

static void print_tables(const struct row *rows, size_t n, double cancel_s)
{
	static const char *const strat[2] = { "eager", "lazy" };
	char name[64];
	size_t i;
	int k;

	printf("\nMigration (virtual time)\n");
	printf("%-22s %-6s %6s %-4s %10s %11s %9s %9s %9s %10s %9s\n", "dirtyram entry",
	       "strat", "rounds", "conv", "final_pg", "downtime_ms", "total_s",
	       "slowdown", "cost_x", "late_ms", "ram_equal");
	for (i = 0; i < n; i++) {
		const struct row *w = &rows[i];

		entry_name(&w->e, name, sizeof(name));
		for (k = 0; k < 2; k++) {
			const struct s2sim_result *r = &w->r[k];
			double base = ns_per_page(&w->base);

			printf("%-22s %-6s %6u %-4s %10llu %11.1f %9.2f %8.2fx %8.2fx %10.2f %9s\n",
			       k ? "" : name, strat[k], r->rounds,
			       r->converged ? "yes" : "no",
			       (unsigned long long)r->final_pages,
			       (double)r->downtime_ns / 1e6, (double)r->total_ns / NSEC,
			       slowdown(w, k), base > 0 ? ns_per_page(r) / base : 0,
			       (double)r->max_late_ns / 1e6,
			       r->ram_equal ? "true" : "FALSE");
		}
	}
	printf("\nStage-2 work during the migration\n");
	printf("%-22s %-6s %8s %8s %10s %10s %10s %9s %8s %10s %9s %9s %10s\n",
	       "dirtyram entry", "strat", "blocks", "split", "tables_MiB",
	       "perm_flt", "trans_flt", "fault_ms", "tlb_fl", "tlb_miss",
	       "enable_ms", "desc_k", "after_cncl");
	for (i = 0; i < n; i++) {
		const struct row *w = &rows[i];

		entry_name(&w->e, name, sizeof(name));
		for (k = 0; k < 2; k++) {
			const struct s2sim_result *r = &w->r[k];
			char cancel[32];

			snprintf(cancel, sizeof(cancel), "%llu/%llu",
				 (unsigned long long)r->blocks_after_cancel,
				 (unsigned long long)r->blocks_before);
			printf("%-22s %-6s %8llu %8llu %10.2f %10llu %10llu %9.1f %8llu %10llu %9.2f %9.1f %10s\n",
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
	       "page written, logged over unlogged; late_ms: longest period lateness\n"
	       "(virtual); tables_MiB: peak stage-2 table memory; fault_ms and\n"
	       "enable_ms: measured, unscaled; desc_k: thousands of descriptors\n"
	       "written; after_cncl: 2 MiB blocks mapped after a cancel and %g s more\n"
	       "of the guest, of those at enable.\n", cancel_s);
}

/* <0: eager better, >0: lazy better, 0: alike. */
static int compare(const struct s2sim_result *e, const struct s2sim_result *l)
{
	if (e->converged != l->converged)
		return e->converged ? -1 : 1;
	if (!e->converged)
		return 0;
	if (e->rounds != l->rounds)
		return e->rounds < l->rounds ? -1 : 1;
	if ((double)e->total_ns < 0.98 * (double)l->total_ns)
		return -1;
	if ((double)l->total_ns < 0.98 * (double)e->total_ns)
		return 1;
	return 0;
}

static void verdict(const struct row *rows, size_t n)
{
	size_t i, heavy = n, eager_better = 0, lazy_better = 0, alike = 0,
	       neither = 0, light_lazy_ok = 0, light = 0;
	double top = -1;
	char name[64];
	int c;

	for (i = 0; i < n; i++) {
		const struct s2sim_result *e = &rows[i].r[0], *l = &rows[i].r[1];

		c = compare(e, l);
		eager_better += c < 0;
		lazy_better += c > 0;
		alike += c == 0;
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
	       "(rounds first, then total time beyond 2%%); %zu converged with neither.\n",
	       n, eager_better, lazy_better, alike, neither);
	if (heavy == n) {
		printf("VERDICT: cannot be judged by this run: no entry converged with\n"
		       "either strategy at this bandwidth and downtime limit.\n");
		return;
	}
	for (i = 0; i < n; i++) {
		if (i == heavy || (!rows[i].r[0].converged && !rows[i].r[1].converged))
			continue;
		light++;
		light_lazy_ok += compare(&rows[i].r[0], &rows[i].r[1]) >= 0;
	}
	entry_name(&rows[heavy].e, name, sizeof(name));
	printf("Heaviest load that converged: %s:\n"
	       "  eager %u rounds, %.2f s; lazy %u rounds, %.2f s.\n",
	       name, rows[heavy].r[0].rounds, (double)rows[heavy].r[0].total_ns / NSEC,
	       rows[heavy].r[1].rounds, (double)rows[heavy].r[1].total_ns / NSEC);
	c = compare(&rows[heavy].r[0], &rows[heavy].r[1]);
	if (c < 0 && light_lazy_ok == light)
		printf("VERDICT: CONFIRMED by this run: eager converged faster at the heaviest\n"
		       "converging load, and lazy was not behind at the %zu lighter ones.\n",
		       light);
	else if (c < 0)
		printf("VERDICT: PARTLY CONFIRMED by this run: eager converged faster at the\n"
		       "heaviest converging load, but lazy did not catch up at %zu of %zu\n"
		       "lighter loads.\n", light - light_lazy_ok, light);
	else
		printf("VERDICT: NOT CONFIRMED by this run: at the heaviest converging load\n"
		       "%s. With the same access sequence both strategies log\n"
		       "the same pages, so they resend the same data; they only move the\n"
		       "split work between log enable (eager) and the fault path (lazy),\n"
		       "and here that work did not change the number of rounds.\n",
		       c > 0 ? "lazy converged faster" : "both converged alike");
}

static void write_csv(FILE *f, const struct row *rows, size_t n,
		      const struct bench_opts *o)
{
	static const char *const strat[2] = { "eager", "lazy" };
	size_t i;
	int k;

	fprintf(f, "total_pages,dirty_pages,period_ms,copies,scale,strategy,rounds,converged,"
		   "final_pages,downtime_ns,total_ns,pages_sent,target_pps,achieved_pps,"
		   "unlogged_pps,write_ns_per_page,unlogged_write_ns_per_page,max_late_ns,"
		   "ram_equal,blocks_2m_at_start,blocks_2m_after_cancel,blocks_rebuilt_after_cancel,"
		   "log_enable_ns,collect_ns");
	for (k = 0; k < (int)rows[0].r[0].ncounters; k++)
		fprintf(f, ",%s", rows[0].r[0].counters[k].name);
	fprintf(f, "\n");
	for (i = 0; i < n; i++) {
		const struct row *w = &rows[i];

		for (k = 0; k < 2; k++) {
			const struct s2sim_result *r = &w->r[k];
			size_t c;

			fprintf(f, "%llu,%llu,%llu,%u,%g,%s,%u,%d,%llu,%llu,%llu,%llu,%.1f,%.1f,%.1f,"
				   "%.1f,%.1f,%llu,%d,%llu,%llu,%llu,%llu,%llu",
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
				(unsigned long long)r->enable_ns,
				(unsigned long long)r->collect_ns);
			for (c = 0; c < r->ncounters; c++)
				fprintf(f, ",%llu", (unsigned long long)r->counters[c].value);
			fprintf(f, "\n");
		}
	}
}

static int run_entry(const struct bench_opts *o, enum db_backing backing,
		     struct row *w)
{
	struct s2sim_config cfg = {
		.total_pages = scaled(w->e.total, o->scale),
		.dirty_pages = scaled(w->e.dirty, o->scale),
		.period_ms = w->e.period_ms,
		.copies = w->e.copies,
		.guest_vcpus = (unsigned)o->vcpus,
		.ram_bytes = (size_t)scaled(o->ram_bytes / DB_PAGE_SIZE, o->scale) *
			     DB_PAGE_SIZE,
		.backing = backing,
		.bandwidth_Bps = scaled(o->bandwidth_Bps, o->scale),
		.downtime_limit_ns = o->downtime_ms * 1000000ull,
		.max_rounds = (unsigned)o->max_rounds,
		.cancel_run_ns = (uint64_t)(o->cancel_s * NSEC),
		.unlogged_ns = (uint64_t)(o->baseline_s * NSEC),
		.cost_factor = 1 / o->scale,
	};
	char spec[2][128], name[64];
	int k, err;

	for (k = 0; k < 2; k++)
		snprintf(spec[k], sizeof(spec[k]),
			 "stage2-%s:layout=%s,exit_ns=%llu,tlb=%llu%s",
			 k ? "lazy" : "eager", o->layout,
			 (unsigned long long)o->exit_ns, (unsigned long long)o->tlb,
			 o->manual ? ",manual" : "");
	entry_name(&w->e, name, sizeof(name));
	fprintf(stderr, "stage2-bench: %s (scaled: %llu %llu %llu x%u) ...\n", name,
		(unsigned long long)cfg.total_pages,
		(unsigned long long)cfg.dirty_pages,
		(unsigned long long)cfg.period_ms, cfg.copies);
	cfg.tracker = spec[1];
	cfg.unlogged = true;
	err = s2sim_run(&cfg, &w->base);
	cfg.unlogged = false;
	for (k = 0; !err && k < 2; k++) {
		cfg.tracker = spec[k];
		err = s2sim_run(&cfg, &w->r[k]);
	}
	w->ran = !err;
	return err;
}

int cmd_stage2_bench(int argc, char **argv)
{
	struct bench_opts o = { 0 };
	struct entry e[MAX_ENTRIES];
	struct row *rows;
	enum db_backing backing;
	enum s2_layout layout;
	size_t n, i;
	char why[256], sz[32];
	int err, status = DB_EXIT_OK;

	err = parse_args(argc, argv, &o);
	if (err)
		return err > 0 ? DB_EXIT_OK : DB_EXIT_USAGE;
	if (db_backing_parse(o.backing, &backing) || s2_layout_parse(o.layout, &layout) ||
	    parse_matrix(o.matrix, e, &n)) {
		fprintf(stderr, "dirtybench stage2-bench: %s\n", db_strerror());
		return DB_EXIT_USAGE;
	}
	if (db_backing_probe(backing, why, sizeof(why))) {
		fprintf(stderr, "dirtybench stage2-bench: backing %s: %s\n", o.backing, why);
		return DB_EXIT_RESOURCE;
	}
	rows = calloc(n, sizeof(*rows));
	if (!rows)
		return DB_EXIT_RESOURCE;
	printf("stage2-bench: ARM stage-2 logging model, layout %s, %s backing, RAM %s",
	       o.layout, o.backing,
	       db_fmt_bytes(scaled(o.ram_bytes / DB_PAGE_SIZE, o.scale) * DB_PAGE_SIZE,
			    sz, sizeof(sz)));
	printf(" (scale %g of %s)\n", o.scale, db_fmt_bytes(o.ram_bytes, sz, sizeof(sz)));
	printf("link %.3g Mbit/s scaled, downtime limit %llu ms, max %llu rounds, %llu vCPUs,"
	       " abort cost %llu ns, %s dirty-log protect\n",
	       (double)scaled(o.bandwidth_Bps, o.scale) * 8 / 1e6,
	       (unsigned long long)o.downtime_ms, (unsigned long long)o.max_rounds,
	       (unsigned long long)o.vcpus, (unsigned long long)o.exit_ns,
	       o.manual ? "manual" : "automatic");
	fflush(stdout);
	for (i = 0; i < n; i++) {
		rows[i].e = e[i];
		err = run_entry(&o, backing, &rows[i]);
		if (err) {
			fprintf(stderr, "dirtybench stage2-bench: %s\n", db_strerror());
			free(rows);
			return err == -ENOTSUP || err == -ENOMEM || err == -EPERM ?
			       DB_EXIT_RESOURCE : DB_EXIT_USAGE;
		}
		if (!rows[i].r[0].ram_equal || !rows[i].r[1].ram_equal)
			status = DB_EXIT_VALIDATION;
	}
	print_tables(rows, n, o.cancel_s);
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
		printf("\nA destination image differed from the guest RAM: the model lost a dirty page.\n");
	free(rows);
	return status;
}
