// SPDX-License-Identifier: MIT
/*
 * dirtybench perf: the benchmark behind `make perf`. Not a test: it prints
 * figures, each beside a reference measured in the same run, as a table
 * (and as JSON with --json). Sections are listed in one table below so
 * that further ones (migration) plug in the same way.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "dirtybench/common.h"
#include "cmd.h"
#include "perf/perf.h"

static const struct perf_section {
	const char *name;
	const char *help;
	int (*run)(struct perf_run *r);
} sections[] = {
	{ "trackers",
	  "per tracker and RAM size: arm time, cost of a first write, collect time at 0.1/1/10/100% dirty; against memcpy, a bare syscall and the bare kernel mechanism",
	  perf_trackers },
	{ "migration",
	  "the model check: sequential dirtyram at dirty rate / bandwidth = 0.5 under the sender's 320 Mbit/s token bucket, 64 MiB; measured rounds, bytes, downtime and total time against the analytical model's prediction",
	  perf_migration },
	{ "transfer",
	  "the migration's own speed: 512 MiB of random RAM, idle, unlimited, loopback, against raw loopback TCP and memcpy measured now (T1); zero pages and a 4 GiB mostly-zero guest (T2); downtime against the last dirty set over the bandwidth (T6)",
	  perf_transfer },
	{ "memory",
	  "resident memory of source and destination against guest RAM, and heap and RSS over 20 migrations in one process (T5)",
	  perf_memory },
};

/* One table for the command line and --help. */
enum { OPT_SIZES, OPT_TRACKERS, OPT_SECTIONS, OPT_REPS, OPT_NOISE, OPT_QUICK,
       OPT_JSON, OPT_HELP };

#define REPS_DEFAULT 5
#define REPS_MAX 15
#define NOISE_DEFAULT 0.10

static const struct perf_opt {
	const char *name;
	const char *arg;	/* NULL: a flag */
	const char *def;
	const char *help;
} opts[] = {
	[OPT_SIZES] = { "sizes", "LIST", "256M,1G",
			"guest RAM sizes, comma-separated, binary units (64M, 1G)" },
	[OPT_TRACKERS] = { "trackers", "LIST", "every available tracker",
			   "trackers to measure, comma-separated (dirtybench trackers lists them); trackers that cannot run here are reported as skipped" },
	[OPT_SECTIONS] = { "sections", "LIST", "all",
			   "sections to run, comma-separated (see below)" },
	[OPT_REPS] = { "reps", "N", "5",
		       "measurements per row, figure and reference alike (1-15; rows whose single measurement is cheap take at least 7, and collect rows take more, up to 15, while they stay within 50 ms): the row gives their median and interquartile range" },
	[OPT_NOISE] = { "noise-spread", "FRACTION", "0.10",
			"a reference whose interquartile range exceeds this fraction of its median makes the machine too noisy to judge the rows against it" },
	[OPT_QUICK] = { "quick", NULL, "off",
			"small RAM (16-32 MiB; 1 GiB for the zero guest) and single measurements: a smoke test of the command, not figures to quote" },
	[OPT_JSON] = { "json", "FILE", "none",
		       "also write every row as JSON (schema 1) to FILE" },
	[OPT_HELP] = { "help", NULL, NULL, "this text" },
};

/* Print text wrapped at 79 columns, continuation lines indented by 'ind'. */
static void wrap(FILE *f, const char *text, int col, int ind)
{
	const char *p = text, *sp;
	int len;

	while (*p) {
		len = (int)strcspn(p, " ");
		if (col + len + 1 > 79 && col > ind) {
			fprintf(f, "\n%*s", ind, "");
			col = ind;
		} else if (p != text) {
			fputc(' ', f);
			col++;
		}
		fprintf(f, "%.*s", len, p);
		col += len;
		sp = p + len;
		p = *sp ? sp + 1 : sp;
	}
	fputc('\n', f);
}

static void usage(FILE *f)
{
	size_t i;
	char left[40], text[512];

	fprintf(f,
		"Usage: dirtybench perf [OPTIONS]\n"
		"\n"
		"Measure the dirty-page trackers and the migration on this machine. Every\n"
		"figure stands next to a reference measured in the same run, and the ratio\n"
		"between them is what compares across machines; figures with a target say\n"
		"whether they meet it. Times are wall-clock medians; tracker RAM is private\n"
		"anonymous memory with 4 KiB pages, faulted in before arming. The machine's\n"
		"load average is printed at the start and the end.\n"
		"\n"
		"Options:\n");
	for (i = 0; i < DB_ARRAY_SIZE(opts); i++) {
		snprintf(left, sizeof(left), "--%s%s%s", opts[i].name,
			 opts[i].arg ? " " : "", opts[i].arg ? opts[i].arg : "");
		snprintf(text, sizeof(text), "%s%s%s%s", opts[i].help,
			 opts[i].def ? " [default: " : "",
			 opts[i].def ? opts[i].def : "", opts[i].def ? "]" : "");
		fprintf(f, "  %-20s ", left);
		wrap(f, text, 23, 23);
	}
	fprintf(f, "\nSections:\n");
	for (i = 0; i < DB_ARRAY_SIZE(sections); i++) {
		fprintf(f, "  %-20s ", sections[i].name);
		wrap(f, sections[i].help, 23, 23);
	}
	fprintf(f,
		"\nFigures (units in their names):\n"
		"  arm_ns             start(): write-protect or snapshot all of RAM\n"
		"  first_write_ns     the first write to a page after arming, per page\n"
		"  collect_ns@P%%      collect() when P%% of the pages were written since the\n"
		"                     previous collect\n"
		"  rounds, bytes_total, downtime_ns, total_time_ns\n"
		"                     of one migration (section migration)\n"
		"  migration_ns       HELLO to the destination resumed (its RAM set-up\n"
		"                     and the RAM verification included, the guest's\n"
		"                     warm-up before round 0 left out)\n"
		"  round0_bytes_per_s what round 0 delivered: its bytes over the time until\n"
		"                     the destination had applied them\n"
		"  *_rss_bytes, heap_*_bytes  peak resident set (VmHWM), heap in use\n"
		"\nReferences:\n"
		"  memcpy of ...      copying the same number of bytes in memory\n"
		"  bare syscall       one getppid(2), the cheapest trip into the kernel\n"
		"  bare MECHANISM     the kernel operation the tracker is built on, alone,\n"
		"                     on the tracker's own RAM (before and after it) with\n"
		"                     the same pages written\n"
		"  model, lambda L    the analytical pre-copy model's prediction for the\n"
		"                     same migration (DESIGN.md)\n"
		"  bare ... fault     the first write under the mechanism alone\n"
		"  TCP into ...       one TCP stream over 127.0.0.1 between two processes,\n"
		"                     4 MiB socket buffers, 1 MiB reads into a reused\n"
		"                     buffer, memory written before, fresh memory, or\n"
		"                     fresh memory faulted in per MiB first\n"
		"  dst lazy           the same migration with --dest-prefault off: the\n"
		"                     destination faults each batch's pages in as they\n"
		"                     come, during round 0 (by default it faults its RAM\n"
		"                     in at the HELLO, inside migration_ns)\n"
		"\nTargets, each a ratio against a reference of the same run (TARGET column;\n"
		"VERDICT says pass, short and by how much, or noisy):\n"
		"  T1 512 MiB migration <= 1.10 x TCP of its bytes into fresh memory,\n"
		"     round 0 >= 0.90 x TCP into touched memory\n"
		"  T2 a zero page costs no more than an 8-byte descriptor (a run of them\n"
		"     shares one); a mostly-zero 4 GiB guest migrates in <= 0.10 x its\n"
		"     RAM at TCP-touched speed without the destination touching it\n"
		"  T3 collect <= 1.1 x the bare mechanism   T4 first write <= 1.1 x bare fault\n"
		"  T5 source + destination peak RSS <= 2.2 x guest RAM, no heap or RSS growth\n"
		"     over repeated migrations\n"
		"  T6 downtime <= 1.2 x last dirty bytes / bandwidth + 5 ms\n"
		"\nEach row is the median of --reps measurements, figure and reference alike,\n"
		"with its interquartile range (IQR, as a share of the median). A timed row\n"
		"that misses its target is \"noisy\", not \"short\", when the machine was too\n"
		"busy to judge: the 1-minute load average above the cores, more than 5%%\n"
		"of the CPU time stolen by the hypervisor, or the reference's IQR above\n"
		"--noise-spread; and the miss no larger than the figure's and the reference's\n"
		"IQR plus --noise-spread (a larger miss is short on any machine).\n"
		"\nExamples:\n"
		"  dirtybench perf\n"
		"  dirtybench perf --sizes 64M --trackers uffd-async,fork-cow --json perf.json\n"
		"  dirtybench perf --quick\n"
		"\nExit status: 0 done (a target missed is a figure, not a failure), 2 bad\n"
		"usage, 3 a listed tracker or a RAM size is not available here (with the\n"
		"reason), 4 a migration of the transfer or memory section failed.\n");
}

/* A figure in the unit its name carries: _ns, bytes, or a plain count. */
static void fmt_value(const char *figure, double v, char *buf, size_t len)
{
	if (v < 0) {	/* a growth that is a shrink */
		buf[0] = '-';
		fmt_value(figure, -v, buf + 1, len - 1);
		return;
	}
	if (strstr(figure, "_ns"))
		db_fmt_ns((uint64_t)v, buf, len);
	else if (strstr(figure, "bytes_per_s"))
		snprintf(buf, len, "%.2f GB/s", v / 1e9);
	else if (strstr(figure, "bytes_per_") && strstr(figure, "page"))
		snprintf(buf, len, "%.2f B", v);
	else if (strstr(figure, "bytes"))
		db_fmt_bytes((uint64_t)v, buf, len);
	else
		snprintf(buf, len, "%.0f", v);
}

double perf_median(const double *v, unsigned n)
{
	struct db_stats st;

	db_stats_of(v, n, &st);
	return st.median;
}

unsigned perf_reps(const struct perf_run *r, unsigned lo, unsigned hi)
{
	if (r->quick)
		return 1;
	return DB_MIN(DB_MAX(r->reps, lo), hi);
}

static const char *const cmp_ops[] = {
	[PERF_VALUE_MAX] = "<=", [PERF_VALUE_MIN] = ">=",
	[PERF_RATIO_MAX] = "ratio<=", [PERF_RATIO_MIN] = "ratio>=",
};

/* "<= 600.0 ms", "ratio<=1.10" */
static void fmt_target(const struct perf_row *w, char *buf, size_t len)
{
	char v[32];

	if (w->target.cmp == PERF_RATIO_MAX || w->target.cmp == PERF_RATIO_MIN) {
		snprintf(buf, len, "%s%.3g", cmp_ops[w->target.cmp], w->target.limit);
		return;
	}
	fmt_value(w->figure, w->target.limit, v, sizeof(v));
	snprintf(buf, len, "%s %s", cmp_ops[w->target.cmp], v);
}

/* A time or a rate: what a busy machine slows down. */
static bool timed(const char *figure)
{
	return strstr(figure, "_ns") || strstr(figure, "bytes_per_s");
}

/* The 1-minute load average now; -1 if unknown. */
static double load_now(void)
{
	char buf[128];
	double l = -1;

	if (db_read_file("/proc/loadavg", buf, sizeof(buf)) > 0)
		sscanf(buf, "%lf", &l);
	return l;
}

/* The jiffies of all CPUs, and the stolen ones, from /proc/stat; 0 if unknown. */
static int cpu_times(unsigned long long *total, unsigned long long *steal)
{
	char buf[512];
	unsigned long long f[8] = { 0 };
	int i;

	if (db_read_file("/proc/stat", buf, sizeof(buf)) <= 0 ||
	    sscanf(buf, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &f[0], &f[1],
		   &f[2], &f[3], &f[4], &f[5], &f[6], &f[7]) != 8)
		return -1;
	for (*total = 0, i = 0; i < 8; i++)
		*total += f[i];
	*steal = f[7];
	return 0;
}

/*
 * The share of CPU time stolen since the previous row: the time its
 * samples were taken in. Rows added together from the same samples (less
 * than 0.2 s of CPU time apart) share the figure of the first. -1 if unknown.
 */
static double steal_since(struct perf_run *r)
{
	unsigned long long total, steal;
	double f;

	if (cpu_times(&total, &steal))
		return -1;
	if (!r->cpu_total || total < r->cpu_total + 20u * (unsigned)DB_MAX(r->ncpus, 1))
		return r->cpu_total ? r->last_steal : -1;
	f = (double)(steal - r->cpu_steal) / (double)(total - r->cpu_total);
	r->cpu_total = total;
	r->cpu_steal = steal;
	r->last_steal = f;
	return f;
}

/* pass, short or noisy, and the margin: headroom (> 0) or how far short. */
static void judge(const struct perf_run *r, struct perf_row *w)
{
	double x = w->value, lim = w->target.limit;
	bool ratio = w->target.cmp == PERF_RATIO_MAX || w->target.cmp == PERF_RATIO_MIN;

	if (ratio)
		x = w->ref_value > 0 ? w->value / w->ref_value : 0;
	w->margin = db_ratio_margin(x, w->target.cmp == PERF_VALUE_MAX ||
				    w->target.cmp == PERF_RATIO_MAX ?
				    DB_RATIO_MAX : DB_RATIO_MIN, lim);
	w->pass = w->margin >= 0;
	/* sizes and counts do not depend on how busy the machine is */
	w->noise = timed(w->figure) ?
		   db_noise(w->load1, r->ncpus, w->steal, db_stats_spread(&w->rs), r->max_spread) : 0;
	w->verdict = db_judge(w->margin, w->noise, db_stats_spread(&w->vs) +
			      db_stats_spread(&w->rs) + r->max_spread);
}

/* "8%": the interquartile range over the median; "-" for one sample. */
static void fmt_spread(const struct db_stats *s, char *buf, size_t len)
{
	if (s->n < 2)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.0f%%", db_stats_spread(s) * 100);
}

int perf_add_samples(struct perf_run *r, const char *subject, uint64_t ram_bytes,
		     const char *figure, const double *v, unsigned n,
		     const char *reference, const double *rv, unsigned rn,
		     const char *note, const struct perf_target *t)
{
	struct perf_row *row;
	char ram[32], val[32], rval[32], ratio[32], tg[48] = "", verdict[48] = "";
	char vs[16], rs[16];
	double x;

	if (r->nrows == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 64;
		struct perf_row *nr = realloc(r->rows, cap * sizeof(*nr));

		if (!nr)
			return -ENOMEM;
		r->rows = nr;
		r->cap = cap;
	}
	row = &r->rows[r->nrows++];
	memset(row, 0, sizeof(*row));
	snprintf(row->section, sizeof(row->section), "%s", r->section);
	snprintf(row->subject, sizeof(row->subject), "%s", subject);
	row->ram_bytes = ram_bytes;
	snprintf(row->figure, sizeof(row->figure), "%s", figure ? figure : "");
	db_stats_of(v, n, &row->vs);
	db_stats_of(rv, rn, &row->rs);
	row->value = n ? row->vs.median : NAN;
	row->ref_value = rn ? row->rs.median : -1;
	row->load1 = load_now();
	row->steal = steal_since(r);
	snprintf(row->reference, sizeof(row->reference), "%s",
		 reference ? reference : "");
	snprintf(row->note, sizeof(row->note), "%s", note ? note : "");

	if (ram_bytes)
		db_fmt_bytes(ram_bytes, ram, sizeof(ram));
	else
		snprintf(ram, sizeof(ram), "-");
	if (!figure || !isfinite(row->value)) {
		row->absent = true;
		if (!*row->note)
			snprintf(row->note, sizeof(row->note), "skipped: %s",
				 figure ? "the measurement gave no finite value" :
				 "not measured");
		printf("%-12s %-8s %s\n", subject, ram, row->note);
		return 0;
	}
	if (t && t->cmp != PERF_NO_TARGET) {
		row->target = *t;
		judge(r, row);
		fmt_target(row, tg, sizeof(tg));
		if (row->verdict == DB_PV_NOISY)
			snprintf(verdict, sizeof(verdict), "%s noisy (%s) %.0f%%", t->id,
				 db_noise_name(row->noise), fabs(row->margin) * 100);
		else
			snprintf(verdict, sizeof(verdict), "%s %s%.0f%%", t->id,
				 row->pass ? "pass +" : "SHORT ",
				 fabs(row->margin) * 100);
	}
	fmt_value(figure, row->value, val, sizeof(val));
	fmt_spread(&row->vs, vs, sizeof(vs));
	fmt_spread(&row->rs, rs, sizeof(rs));
	if (row->ref_value > 0) {
		fmt_value(figure, row->ref_value, rval, sizeof(rval));
		x = row->value / row->ref_value;
		snprintf(ratio, sizeof(ratio), fabs(x) < 0.1 && x != 0 ? "%.2g" : "%.2f", x);
	} else {
		snprintf(rval, sizeof(rval), "-");
		snprintf(ratio, sizeof(ratio), "-");
		snprintf(rs, sizeof(rs), "-");
	}
	printf("%-12s %-8s %-18s %10s %5s  %-30s %10s %5s %6s  %-12s %s\n", subject,
	       ram, figure, val, vs, reference ? reference : "-", rval, rs, ratio,
	       tg, verdict);
	if (note && *note)
		printf("%-12s %-8s   (%s)\n", "", "", note);
	fflush(stdout);
	return 0;
}

int perf_add_target(struct perf_run *r, const char *subject, uint64_t ram_bytes,
		    const char *figure, double value, const char *reference,
		    double ref_value, const char *note,
		    const struct perf_target *t)
{
	return perf_add_samples(r, subject, ram_bytes, figure, &value, 1, reference,
				&ref_value, ref_value > 0 ? 1 : 0, note, t);
}

int perf_add(struct perf_run *r, const char *subject, uint64_t ram_bytes,
	     const char *figure, double value, const char *reference,
	     double ref_value, const char *note)
{
	return perf_add_target(r, subject, ram_bytes, figure, value, reference,
			       ref_value, note, NULL);
}

static int parse_sizes(struct perf_run *r, const char *list)
{
	char buf[256], *tok, *save = NULL;
	uint64_t v;
	int err;

	snprintf(buf, sizeof(buf), "%s", list);
	r->nsizes = 0;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		err = db_parse_size(tok, &v);
		if (err)
			return err;
		if (v < (1u << 20) || v % DB_PAGE_SIZE)
			return db_error(-EINVAL, "size %s: at least 1 MiB, in whole 4 KiB pages",
					tok);
		if (r->nsizes == DB_ARRAY_SIZE(r->sizes))
			return db_error(-EINVAL, "more than %zu sizes",
					DB_ARRAY_SIZE(r->sizes));
		r->sizes[r->nsizes++] = v;
	}
	if (!r->nsizes)
		return db_error(-EINVAL, "--sizes needs at least one size");
	return 0;
}

static bool in_list(const char *list, const char *name)
{
	size_t n = strlen(name);
	const char *p = list;

	if (!list || !strcmp(list, "all"))
		return true;
	while ((p = strstr(p, name))) {
		if ((p == list || p[-1] == ',') && (p[n] == ',' || !p[n]))
			return true;
		p += n;
	}
	return false;
}

/* The 1, 5 and 15 minute load averages: the machine is shared. */
static void read_load(double load[3])
{
	char buf[128];

	load[0] = load[1] = load[2] = -1;
	if (db_read_file("/proc/loadavg", buf, sizeof(buf)) > 0)
		sscanf(buf, "%lf %lf %lf", &load[0], &load[1], &load[2]);
}

static json_t *json_load3(const double l[3])
{
	return json_pack("[f, f, f]", l[0], l[1], l[2]);
}

#define NTARGETS 6

struct tsum {
	unsigned rows, pass, noisy;
	double worst;
};

static void sum_targets(const struct perf_run *r, struct tsum sum[NTARGETS])
{
	const struct perf_row *w;
	size_t i;
	int t;

	memset(sum, 0, NTARGETS * sizeof(*sum));
	for (i = 0; i < r->nrows; i++) {
		w = &r->rows[i];
		if (w->absent || w->target.cmp == PERF_NO_TARGET ||
		    sscanf(w->target.id, "T%d", &t) != 1 || t < 1 || t > NTARGETS)
			continue;
		if (!sum[t - 1].rows || w->margin < sum[t - 1].worst)
			sum[t - 1].worst = w->margin;
		sum[t - 1].rows++;
		sum[t - 1].pass += w->pass;
		sum[t - 1].noisy += w->verdict == DB_PV_NOISY;
	}
}

static void print_summary(const struct perf_run *r, const double l0[3],
			  const double l1[3])
{
	static const char *const what[NTARGETS] = {
		"512 MiB migration and round 0 against raw TCP",
		"zero pages: no payload, 4 GiB mostly-zero guest",
		"collect against the bare mechanism",
		"first write against the bare fault",
		"memory: peak RSS of 4 GiB, no growth over 20 runs",
		"downtime against the last dirty set",
	};
	struct tsum sum[NTARGETS];
	int t;

	sum_targets(r, sum);
	printf("== targets (load average %.2f %.2f %.2f at the start, %.2f %.2f %.2f at the end)\n",
	       l0[0], l0[1], l0[2], l1[0], l1[1], l1[2]);
	for (t = 0; t < NTARGETS; t++) {
		if (!sum[t].rows) {
			printf("T%d %-50s not measured in this run\n", t + 1, what[t]);
			continue;
		}
		printf("T%d %-50s %u/%u pass, %u noisy, %s %.0f%%\n", t + 1, what[t],
		       sum[t].pass, sum[t].rows, sum[t].noisy,
		       sum[t].worst >= 0 ? "least headroom" : "worst miss",
		       fabs(sum[t].worst) * 100);
	}
	printf("(noisy: missed while the 1-minute load average exceeded the %d cores, the hypervisor stole more than %.0f%% of the CPU time, or the reference's interquartile range exceeded %.0f%% of its median, and the miss no larger than the spreads could explain: not a verdict; run again on a quieter machine)\n",
	       r->ncpus, DB_STEAL_MAX * 100, r->max_spread * 100);
}

/* n, median, min, max, quartiles and the spread of a row's samples. */
static json_t *stats_json(const struct db_stats *s)
{
	return json_pack("{s:i, s:f, s:f, s:f, s:f, s:f, s:f}", "n", (int)s->n,
			 "median", s->median, "min", s->min, "max", s->max,
			 "q1", s->q1, "q3", s->q3, "iqr_fraction", db_stats_spread(s));
}

static int write_json(const struct perf_run *r, const char *path,
		      const double l0[3], const double l1[3])
{
	json_t *root, *secs, *sec = NULL, *rows = NULL, *row, *tg;
	struct tsum sum[NTARGETS];
	struct utsname u;
	const char *cur = "";
	char id[16];
	size_t i;
	int err = 0, t;

	uname(&u);
	root = json_pack("{s:i, s:s, s:{s:s, s:s, s:i}, s:{s:o, s:o}}", "schema", 1,
			 "kind", "dirtybench-perf", "host", "kernel", u.release,
			 "machine", u.machine, "cpus", (int)sysconf(_SC_NPROCESSORS_ONLN),
			 "load", "start", json_load3(l0), "end", json_load3(l1));
	if (root) {
		json_object_set_new(root, "reps", json_integer(r->quick ? 1 : r->reps));
		json_object_set_new(root, "noise_spread", json_real(r->max_spread));
	}
	secs = json_array();
	tg = json_array();
	if (!root || !secs || !tg)
		return -ENOMEM;
	sum_targets(r, sum);
	for (t = 0; t < NTARGETS; t++) {
		snprintf(id, sizeof(id), "T%d", t + 1);
		json_array_append_new(tg, json_pack("{s:s, s:i, s:i, s:i, s:o}", "id", id,
						    "rows", (int)sum[t].rows, "pass",
						    (int)sum[t].pass, "noisy", (int)sum[t].noisy,
						    "worst_margin",
						    sum[t].rows ? json_real(sum[t].worst) : json_null()));
	}
	json_object_set_new(root, "targets", tg);
	json_object_set_new(root, "sections", secs);
	for (i = 0; i < r->nrows; i++) {
		const struct perf_row *w = &r->rows[i];

		if (!sec || strcmp(cur, w->section)) {
			cur = w->section;
			rows = json_array();
			sec = json_pack("{s:s, s:o}", "name", w->section, "rows", rows);
			json_array_append_new(secs, sec);
		}
		if (w->absent)
			row = json_pack("{s:s, s:I, s:s}", "subject", w->subject,
					"ram_bytes", (json_int_t)w->ram_bytes,
					"skipped", w->note);
		else
			row = json_pack("{s:s, s:I, s:s, s:f, s:s, s:o, s:o, s:o, s:o, s:o}",
					"subject", w->subject, "ram_bytes",
					(json_int_t)w->ram_bytes, "figure", w->figure,
					"value", w->value, "reference", w->reference,
					"reference_value",
					w->ref_value > 0 ? json_real(w->ref_value) : json_null(),
					"ratio",
					w->ref_value > 0 ? json_real(w->value / w->ref_value) : json_null(),
					"target",
					w->target.cmp == PERF_NO_TARGET ? json_null() :
					json_pack("{s:s, s:s, s:f}", "id", w->target.id,
						  "test", cmp_ops[w->target.cmp],
						  "limit", w->target.limit),
					"pass",
					w->target.cmp == PERF_NO_TARGET ? json_null() :
					json_boolean(w->pass),
					"margin",
					w->target.cmp == PERF_NO_TARGET ? json_null() :
					json_real(w->margin));
		if (!w->absent) {
			json_object_set_new(row, "samples", stats_json(&w->vs));
			json_object_set_new(row, "reference_samples",
					    w->rs.n ? stats_json(&w->rs) : json_null());
			json_object_set_new(row, "load1", json_real(w->load1));
			json_object_set_new(row, "steal", json_real(w->steal));
			json_object_set_new(row, "verdict",
					    w->target.cmp == PERF_NO_TARGET ? json_null() :
					    json_string(db_perf_verdict_name(w->verdict)));
			json_object_set_new(row, "noise",
					    json_string(db_noise_name(w->noise)));
		}
		json_array_append_new(rows, row);
	}
	if (json_dump_file(root, path, JSON_INDENT(1) | JSON_PRESERVE_ORDER))
		err = db_error(-EIO, "perf: cannot write %s", path);
	json_decref(root);
	return err;
}

int cmd_perf(int argc, char **argv)
{
	struct option lopts[DB_ARRAY_SIZE(opts) + 1];
	struct perf_run r = { .reps = REPS_DEFAULT, .max_spread = NOISE_DEFAULT };
	const char *json = NULL, *only = NULL;
	uint64_t u;
	double load0[3], load1[3];
	size_t i;
	int c, rc = 0, err;

	for (i = 0; i < DB_ARRAY_SIZE(opts); i++)
		lopts[i] = (struct option){ opts[i].name,
					    opts[i].arg ? required_argument : no_argument,
					    NULL, (int)i };
	memset(&lopts[i], 0, sizeof(lopts[i]));
	parse_sizes(&r, opts[OPT_SIZES].def);
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		switch (c) {
		case OPT_SIZES:
			if (parse_sizes(&r, optarg)) {
				fprintf(stderr, "dirtybench perf: --sizes: %s\n", db_strerror());
				return DB_EXIT_USAGE;
			}
			break;
		case OPT_TRACKERS:
			r.trackers = optarg;
			break;
		case OPT_SECTIONS:
			only = optarg;
			break;
		case OPT_REPS:
			if (db_parse_u64(optarg, 1, REPS_MAX, &u)) {
				fprintf(stderr, "dirtybench perf: --reps '%s': a count from 1 to %d\n",
					optarg, REPS_MAX);
				return DB_EXIT_USAGE;
			}
			r.reps = (unsigned)u;
			break;
		case OPT_NOISE:
			if (db_parse_double(optarg, 1e-6, 10, &r.max_spread)) {
				fprintf(stderr, "dirtybench perf: --noise-spread '%s': a fraction above 0 (0.10 is 10%%)\n",
					optarg);
				return DB_EXIT_USAGE;
			}
			break;
		case OPT_QUICK:
			r.quick = true;
			break;
		case OPT_JSON:
			json = optarg;
			break;
		case OPT_HELP:
		case 'h':
			usage(stdout);
			return 0;
		default:
			fprintf(stderr, "dirtybench perf: see --help\n");
			return DB_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "dirtybench perf: unexpected argument '%s'\n", argv[optind]);
		return DB_EXIT_USAGE;
	}
	if (only) {
		char copy[128], *tok, *save = NULL;

		snprintf(copy, sizeof(copy), "%s", only);
		for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			for (i = 0; i < DB_ARRAY_SIZE(sections); i++)
				if (!strcmp(tok, sections[i].name))
					break;
			if (i == DB_ARRAY_SIZE(sections)) {
				fprintf(stderr, "dirtybench perf: unknown section '%s' (see --help)\n",
					tok);
				return DB_EXIT_USAGE;
			}
		}
	}
	r.ncpus = (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (r.quick) {
		r.sizes[0] = 16u << 20;
		r.nsizes = 1;
	}
	read_load(load0);
	printf("load average at the start: %.2f %.2f %.2f (%ld CPUs)\n", load0[0],
	       load0[1], load0[2], sysconf(_SC_NPROCESSORS_ONLN));
	for (i = 0; i < DB_ARRAY_SIZE(sections); i++) {
		if (!in_list(only, sections[i].name))
			continue;
		r.section = sections[i].name;
		printf("== %s: %s\n", sections[i].name, sections[i].help);
		printf("%-12s %-8s %-18s %10s %5s  %-30s %10s %5s %6s  %-12s %s\n",
		       "SUBJECT", "RAM", "FIGURE", "MEDIAN", "IQR", "REFERENCE", "REF",
		       "IQR", "RATIO", "TARGET", "VERDICT");
		if (cpu_times(&r.cpu_total, &r.cpu_steal))
			r.cpu_total = 0;
		r.last_steal = -1;
		c = sections[i].run(&r);
		if (c && !rc)
			rc = c;
		if (c == DB_EXIT_USAGE)	/* bad usage: nothing else to measure */
			break;
	}
	read_load(load1);
	if (rc != DB_EXIT_USAGE)
		print_summary(&r, load0, load1);
	if (json) {
		err = write_json(&r, json, load0, load1);
		if (err) {
			fprintf(stderr, "dirtybench perf: %s\n", db_strerror());
			rc = rc ? rc : DB_EXIT_RESOURCE;
		}
	}
	free(r.rows);
	return rc;
}
