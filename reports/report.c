// SPDX-License-Identifier: MIT
/* The HTML report: gnuplot SVG embedded in one self-contained page. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "dirtybench/common.h"
#include "base/files.h"
#include "plot.h"
#include "report.h"

#define NONE UINT32_MAX

/* Tracker colours, by order of appearance in a matrix. */
static const char *const colours[] = {
	"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
	"#e377c2", "#17becf", "#7f7f7f", "#bcbd22",
};

const char *db_report_ns(double ns, char *buf, size_t len)
{
	if (isnan(ns))
		snprintf(buf, len, "-");
	else if (ns < 1e6)
		snprintf(buf, len, "%.0f us", ns / 1e3);
	else if (ns < 1e9)
		snprintf(buf, len, "%.1f ms", ns / 1e6);
	else
		snprintf(buf, len, "%.2f s", ns / 1e9);
	return buf;
}

static const char *fmt_num(double v, char *buf, size_t len)
{
	if (isnan(v))
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.0f", v);
	return buf;
}

static void rate_tic(double pps, char *buf, size_t len)
{
	if (pps >= 1e6)
		snprintf(buf, len, "%.3gM", pps / 1e6);
	else if (pps >= 1e3)
		snprintf(buf, len, "%.3gk", pps / 1e3);
	else
		snprintf(buf, len, "%.3g", pps);
}

/* ---- the plots ------------------------------------------------------------ */

struct group {
	char name[160];
	unsigned svg;
	size_t nruns;		/* runs with a result */
};

struct scen_plots {
	unsigned timeline, bars, samples;
	size_t rep_run;		/* the run shown (median total time) */
};

struct ctx {
	const struct db_runset *rs;
	struct db_plot plot;
	struct group *groups;
	size_t ngroups;
	struct scen_plots *sp;
};

static const struct {
	const char *metric, *title;
	double scale;		/* divide by */
	const char *model;	/* model field, NULL: none */
} panels[] = {
	{ "downtime_ns", "downtime (ms)", 1e6, "downtime" },
	{ "total_time_ns", "total time (s)", 1e9, "total" },
	{ "rounds", "rounds", 1, "rounds" },
	{ "slowdown_pct", "guest slowdown (% of the target rate not achieved)",
	  1, NULL },
};

static double model_value(const struct db_run *r, const char *which)
{
	if (!strcmp(which, "downtime"))
		return r->model_downtime_ns;
	if (!strcmp(which, "total"))
		return r->model_total_time_ns;
	return r->model_rounds;
}

/* Does any run of the scenario have a result? */
static bool has_result(const struct db_runset *rs, const struct db_scen *s)
{
	size_t k;

	for (k = 0; k < s->nruns; k++)
		if (rs->runs[s->runs[k]].has_result)
			return true;
	return false;
}

/* Distinct dirty rates of a group's scenarios with a result, ascending. */
static size_t group_rates(const struct db_runset *rs, const char *g,
			  double *rates, size_t max)
{
	size_t i, j, n = 0;

	for (i = 0; i < rs->nsc; i++) {
		double x = rs->sc[i].rate_pps;

		if (strcmp(rs->sc[i].group, g) || isnan(x) ||
		    !has_result(rs, &rs->sc[i]))
			continue;
		for (j = 0; j < n && rates[j] != x; j++)
			;
		if (j == n && n < max)
			rates[n++] = x;
	}
	qsort(rates, n, sizeof(*rates), db_cmp_double);
	return n;
}

#define MAX_RATES 64
#define MAX_TRACKERS 16

/* One matrix: 2x2 panels, x = dirty rate, a line per tracker, the model. */
static int plot_group(struct ctx *c, struct group *g)
{
	const struct db_runset *rs = c->rs;
	double rates[MAX_RATES], *v, med, lo, hi;
	const char *trk[MAX_TRACKERS];
	size_t nr, nt = 0, i, j, t, p, k;
	bool any[DB_ARRAY_SIZE(panels)][MAX_TRACKERS + 1] = { { false } };
	char data[32], model[32], tic[32];
	FILE *f, *fm;

	nr = group_rates(rs, g->name, rates, MAX_RATES);
	for (i = 0; i < rs->nsc; i++) {
		if (strcmp(rs->sc[i].group, g->name))
			continue;
		for (t = 0; t < nt && strcmp(trk[t], rs->sc[i].tracker); t++)
			;
		if (t == nt && nt < MAX_TRACKERS)
			trk[nt++] = rs->sc[i].tracker;
	}
	v = calloc(rs->nruns + 1, sizeof(*v));
	f = db_plot_data(&c->plot, data);
	fm = db_plot_data(&c->plot, model);
	if (!v || !f || !fm) {
		free(v);
		if (f)
			fclose(f);
		if (fm)
			fclose(fm);
		return -EIO;
	}
	/* data: one block (index t) per tracker; model: one block */
	for (t = 0; t < nt; t++) {
		fprintf(f, "# tracker %zu\n", t);
		for (j = 0; j < nr; j++) {
			fprintf(f, "%zu", j);
			for (p = 0; p < DB_ARRAY_SIZE(panels); p++) {
				size_t n = 0;

				for (i = 0; i < rs->nsc; i++) {
					const struct db_scen *s = &rs->sc[i];

					if (strcmp(s->group, g->name) ||
					    strcmp(s->tracker, trk[t]) ||
					    s->rate_pps != rates[j])
						continue;
					for (k = 0; k < s->nruns; k++) {
						const struct db_run *r =
							&rs->runs[s->runs[k]];

						if (r->has_result)
							v[n++] = db_run_metric(
								r, panels[p].metric) /
								panels[p].scale;
					}
				}
				if (db_median_range(v, n, &med, &lo, &hi)) {
					fprintf(f, " %.6g %.6g %.6g", med, lo, hi);
					any[p][t] = true;
				} else {
					fprintf(f, " NaN NaN NaN");
				}
			}
			fputc('\n', f);
		}
		fprintf(f, "\n\n");
	}
	for (j = 0; j < nr; j++) {
		fprintf(fm, "%zu", j);
		for (p = 0; p < DB_ARRAY_SIZE(panels); p++) {
			size_t n = 0;

			for (i = 0; i < rs->nsc && panels[p].model; i++) {
				const struct db_scen *s = &rs->sc[i];

				if (strcmp(s->group, g->name) ||
				    s->rate_pps != rates[j])
					continue;
				for (k = 0; k < s->nruns; k++) {
					const struct db_run *r = &rs->runs[s->runs[k]];

					if (r->has_result)
						v[n++] = model_value(r, panels[p].model) /
							 panels[p].scale;
				}
			}
			if (db_median_range(v, n, &med, &lo, &hi)) {
				fprintf(fm, " %.6g", med);
				any[p][MAX_TRACKERS] = true;
			} else {
				fprintf(fm, " NaN");
			}
		}
		fputc('\n', fm);
	}
	fclose(f);
	fclose(fm);
	free(v);

	g->svg = db_plot_svg(&c->plot, 1100, 760);
	db_plot_cmd(&c->plot, "set multiplot layout 2,2\n"
		    "set xrange [-0.5:%zu.5]\nset xlabel 'dirty rate (pages/s)'\n"
		    "set key below horizontal\nset yrange [0:*]\n"
		    "set style fill solid\nset xtics (", nr ? nr - 1 : 0);
	for (j = 0; j < nr; j++) {
		rate_tic(rates[j], tic, sizeof(tic));
		db_plot_cmd(&c->plot, "%s'%s' %zu", j ? ", " : "", tic, j);
	}
	db_plot_cmd(&c->plot, ")\n");
	for (p = 0; p < DB_ARRAY_SIZE(panels); p++) {
		bool first = true;

		db_plot_cmd(&c->plot, "set title '%s'\n", panels[p].title);
		for (t = 0; t <= nt; t++) {
			size_t tt = t == nt ? MAX_TRACKERS : t;

			if (!any[p][tt])
				continue;
			db_plot_cmd(&c->plot, "%s", first ? "plot " : ", ");
			first = false;
			if (t == nt) {
				db_plot_cmd(&c->plot, "'%s' using 1:%zu with "
					    "linespoints dt 2 lw 2 pt 6 lc rgb "
					    "'#000000' title 'model'", model, 2 + p);
				continue;
			}
			db_plot_cmd(&c->plot, "'%s' index %zu using 1:%zu:%zu:%zu "
				    "with yerrorlines lw 2 pt 7 lc rgb '%s' title ",
				    data, t, 2 + 3 * p, 3 + 3 * p, 4 + 3 * p,
				    colours[t % DB_ARRAY_SIZE(colours)]);
			db_plot_str(&c->plot, trk[t][0] ? trk[t] : "?");
		}
		if (first)
			db_plot_cmd(&c->plot, "set label 1 'no data' at graph 0.5,0.5 "
				    "center\nplot [0:1][0:1] -1 notitle\n"
				    "unset label 1\n");
		else
			db_plot_cmd(&c->plot, "\n");
	}
	db_plot_cmd(&c->plot, "unset multiplot\n");
	return 0;
}

static bool has_values(const struct db_table *t, int col)
{
	size_t i;

	if (col < 0)
		return false;
	for (i = 0; i < t->nrows; i++)
		if (isfinite(db_table_at(t, i, col)))
			return true;
	return false;
}

/* A run's CSV file (rounds.csv, samples.csv); false if it has none. */
static bool load_csv(const struct db_run *r, const char *name,
		     struct db_table *t)
{
	char path[PATH_MAX];

	return !db_pathf(path, sizeof(path), "%s/%s", r->dir, name) &&
	       !db_table_load(t, path);
}

/*
 * The data file for a plot of table t when it is usable; otherwise (or
 * when the file cannot be made) t is freed and NULL returned, *err set.
 */
static FILE *series_data(struct ctx *c, struct db_table *t, bool usable,
			 char data[32], int *err)
{
	FILE *f = NULL;

	*err = 0;
	if (usable) {
		f = db_plot_data(&c->plot, data);
		if (!f)
			*err = -EIO;
	}
	if (!f)
		db_table_free(t);
	return f;
}

/* A dotted vertical line n at at_ns, labelled (seconds on the x axis). */
static void mark(struct ctx *c, int n, double at_ns, const char *what,
		 const char *colour, const char *place)
{
	if (isfinite(at_ns))
		db_plot_cmd(&c->plot, "set arrow %d from %.9g, graph 0 to %.9g, "
			    "graph 1 nohead lc rgb '%s' dt 3\nset label %d "
			    "'%s' at %.9g, %s tc rgb '%s'\n", n, at_ns / 1e9,
			    at_ns / 1e9, colour, n, what, at_ns / 1e9, place,
			    colour);
}

/* The run's pause and resume. */
static void pause_resume_marks(struct ctx *c, const struct db_run *r)
{
	mark(c, 1, r->paused_at_ns, "pause", "#d62728",
	     "graph 0.95 right offset -0.5,0");
	mark(c, 2, r->resumed_at_ns, "resume", "#2ca02c",
	     "graph 0.88 left offset 0.5,0");
}

/* The timeline and the per-round bars of one run. */
static int plot_rounds(struct ctx *c, const struct db_run *r,
		       struct scen_plots *sp)
{
	static const char *const cols[] = {
		"round", "start_at_ns", "duration_ns", "remaining_pages",
		"bandwidth_bps", "dirty_rate_pps", "sent_pages", "dirty_pages",
	};
	int ci[DB_ARRAY_SIZE(cols)];
	char data[32], bars[32];
	int err;
	struct db_table t;
	bool first = true;
	double t_max = 0;
	size_t i, k;
	FILE *f, *fb;

	if (!load_csv(r, "rounds.csv", &t))
		return 0;	/* no rounds: no timeline, said in the page */
	for (k = 0; k < DB_ARRAY_SIZE(cols); k++)
		ci[k] = db_table_col(&t, cols[k]);
	f = series_data(c, &t, t.nrows && ci[1] >= 0 && ci[3] >= 0, data, &err);
	if (!f)
		return err;
	fb = db_plot_data(&c->plot, bars);
	if (!fb) {
		fclose(f);
		db_table_free(&t);
		return -EIO;
	}
	/*
	 * Timeline: at each round's start the pages it sends, at its end
	 * those dirtied meanwhile; bandwidth and dirty rate hold through the
	 * round. Columns: t(s) pages bw(Mbit/s) dirty-rate(Mbit/s).
	 * Bars: round sent-pages dirty-pages.
	 */
	for (i = 0; i < t.nrows; i++) {
		double start = db_table_at(&t, i, ci[1]) / 1e9;
		double dur = ci[2] >= 0 ? db_table_at(&t, i, ci[2]) / 1e9 : 0;
		double bw = ci[4] >= 0 ? db_table_at(&t, i, ci[4]) / 1e6 : NAN;
		double rate = ci[5] >= 0 ? db_table_at(&t, i, ci[5]) * 4096 * 8 /
					   1e6 : NAN;
		double dirty = ci[7] >= 0 ? db_table_at(&t, i, ci[7]) : NAN;
		double end = start + (isfinite(dur) ? dur : 0);

		fprintf(f, "%.9g %.9g %.9g %.9g\n%.9g %.9g %.9g %.9g\n", start,
			dirty, bw, rate, end, db_table_at(&t, i, ci[3]), bw, rate);
		if (end > t_max)
			t_max = end;
		fprintf(fb, "%.9g %.9g %.9g\n",
			ci[0] >= 0 ? db_table_at(&t, i, ci[0]) : (double)i,
			ci[6] >= 0 ? db_table_at(&t, i, ci[6]) : NAN, dirty);
	}
	fclose(f);
	fclose(fb);
	if (isfinite(r->resumed_at_ns) && r->resumed_at_ns / 1e9 > t_max)
		t_max = r->resumed_at_ns / 1e9;

	sp->timeline = db_plot_svg(&c->plot, 1000, 380);
	db_plot_cmd(&c->plot, "set xlabel 'time since migration start (s)'\n"
		    "set ylabel 'pages'\nset y2label 'Mbit/s'\n"
		    "set ytics nomirror\nset y2tics\nset yrange [0:*]\n"
		    "set y2range [0:*]\nset key outside right top\n"
		    "set title 'timeline'\n");
	db_plot_cmd(&c->plot, "set xrange [0:%.9g]\n", t_max * 1.03 + 1e-6);
	pause_resume_marks(c, r);
	db_plot_cmd(&c->plot, "plot '%s' using 1:2 with linespoints lw 2 pt 7 "
		    "lc rgb '#1f77b4' title 'dirty pages to send'", data);
	if (has_values(&t, ci[4]))
		db_plot_cmd(&c->plot, ", '%s' using 1:3 axes x1y2 with "
			    "linespoints lw 2 pt 5 lc rgb '#ff7f0e' title "
			    "'send bandwidth'", data);
	if (has_values(&t, ci[5]))
		db_plot_cmd(&c->plot, ", '%s' using 1:4 axes x1y2 with "
			    "linespoints lw 2 pt 9 lc rgb '#9467bd' title "
			    "'dirty rate'", data);
	db_plot_cmd(&c->plot, "\n");

	if (has_values(&t, ci[6]) || has_values(&t, ci[7])) {
		sp->bars = db_plot_svg(&c->plot, 1000, 320);
		db_plot_cmd(&c->plot, "set title 'per round'\nset xlabel 'round'\n"
			    "set ylabel 'pages'\nset yrange [0:*]\n"
			    "set style data histogram\nset style histogram "
			    "clustered gap 1\nset style fill solid 0.8 border -1\n"
			    "set key outside right top\nset xtics nomirror\n");
		if (has_values(&t, ci[6])) {
			db_plot_cmd(&c->plot, "plot '%s' using 2:xtic(1) lc rgb "
				    "'#1f77b4' title 'sent pages'", bars);
			first = false;
		}
		if (has_values(&t, ci[7]))
			db_plot_cmd(&c->plot, "%s'%s' using 3%s lc rgb '#ff7f0e' "
				    "title 'dirty pages collected'",
				    first ? "plot " : ", ", bars,
				    first ? ":xtic(1)" : "");
		db_plot_cmd(&c->plot, "\n");
	}
	db_table_free(&t);
	return 0;
}

/*
 * The collectors' series of one run (samples.csv) on the migration's
 * clock: CPU of the source, the destination and the guest's vCPUs above,
 * resident memory below with the guest RAM for scale, pause and resume
 * marked in both.
 */
static int plot_samples(struct ctx *c, const struct db_run *r,
			struct scen_plots *sp)
{
	static const struct {
		const char *col, *title, *colour;
		double scale;
		bool mem;
	} series[] = {
		{ "src_cpu_pct", "source", "#1f77b4", 1, false },
		{ "dst_cpu_pct", "destination", "#2ca02c", 1, false },
		{ "vcpu_cpu_pct", "guest vCPUs", "#d62728", 1, false },
		{ "src_rss_bytes", "source", "#1f77b4", 1048576, true },
		{ "dst_rss_bytes", "destination", "#2ca02c", 1048576, true },
	};
	int ci[DB_ARRAY_SIZE(series)], ct;
	char data[32];
	int err, panel;
	struct db_table t;
	bool any[2] = { false, false }, first;
	double t_min = INFINITY, t_max = -INFINITY, x;
	size_t i, k;
	FILE *f;

	if (!load_csv(r, "samples.csv", &t))
		return 0;
	ct = db_table_col(&t, "t_ns");
	for (k = 0; k < DB_ARRAY_SIZE(series); k++) {
		ci[k] = db_table_col(&t, series[k].col);
		if (!has_values(&t, ci[k]))
			ci[k] = -1;
		else
			any[series[k].mem] = true;
	}
	f = series_data(c, &t, ct >= 0 && (any[0] || any[1]) && t.nrows, data,
			&err);
	if (!f)
		return err;
	for (i = 0; i < t.nrows; i++) {
		x = db_table_at(&t, i, ct) / 1e9;
		t_min = DB_MIN(t_min, x);
		t_max = DB_MAX(t_max, x);
		fprintf(f, "%.9g", x);
		for (k = 0; k < DB_ARRAY_SIZE(series); k++)
			fprintf(f, " %.9g", ci[k] >= 0 ?
				db_table_at(&t, i, ci[k]) / series[k].scale : NAN);
		fputc('\n', f);
	}
	fclose(f);
	db_table_free(&t);
	if (!(t_max > t_min))	/* one row, or no finite time */
		t_max = (isfinite(t_min) ? t_min : 0) + 1e-3;

	sp->samples = db_plot_svg(&c->plot, 1000, any[0] && any[1] ? 520 : 300);
	/* the panels share the x axis: same range, same margins */
	db_plot_cmd(&c->plot, "set multiplot layout %d,1 title 'collectors'\n"
		    "set xlabel 'time since migration start (s)'\n"
		    "set xrange [%.9g:%.9g]\nset lmargin 12\nset rmargin 24\n"
		    "set yrange [0:*]\nset key outside right top\n",
		    any[0] && any[1] ? 2 : 1, isfinite(t_min) ? t_min : 0,
		    t_max);
	pause_resume_marks(c, r);
	for (panel = 0; panel < 2; panel++) {
		if (!any[panel])
			continue;
		db_plot_cmd(&c->plot, "set ylabel '%s'\n", panel ?
			    "resident memory (MiB)" : "CPU (% of one core)");
		first = true;
		for (k = 0; k < DB_ARRAY_SIZE(series); k++) {
			if (ci[k] < 0 || series[k].mem != (panel == 1))
				continue;
			db_plot_cmd(&c->plot, "%s'%s' using 1:%zu with lines "
				    "lw 2 lc rgb '%s' title '%s'",
				    first ? "plot " : ", ", data, k + 2,
				    series[k].colour, series[k].title);
			first = false;
		}
		if (panel == 1 && isfinite(r->ram_bytes) && r->ram_bytes > 0)
			db_plot_cmd(&c->plot, ", %.9g with lines dt 2 lw 1 lc "
				    "rgb '#000000' title 'guest RAM'",
				    r->ram_bytes / 1048576);
		db_plot_cmd(&c->plot, "\n");
	}
	db_plot_cmd(&c->plot, "unset multiplot\n");
	return 0;
}

static int build_plots(struct ctx *c)
{
	const struct db_runset *rs = c->rs;
	size_t i, g;
	int err = 0;

	c->groups = calloc(rs->nsc + 1, sizeof(*c->groups));
	c->sp = calloc(rs->nsc + 1, sizeof(*c->sp));
	if (!c->groups || !c->sp)
		return db_error(-ENOMEM, "report: out of memory");
	for (i = 0; i < rs->nsc; i++) {
		const struct db_scen *s = &rs->sc[i];
		size_t k, withres = 0;

		for (k = 0; k < s->nruns; k++)
			withres += rs->runs[s->runs[k]].has_result;
		for (g = 0; g < c->ngroups && strcmp(c->groups[g].name, s->group); g++)
			;
		if (g == c->ngroups) {
			snprintf(c->groups[g].name, sizeof(c->groups[g].name),
				 "%s", s->group);
			c->groups[g].svg = NONE;
			c->ngroups++;
		}
		c->groups[g].nruns += withres;
	}
	for (g = 0; g < c->ngroups && !err; g++)
		if (c->groups[g].nruns)
			err = plot_group(c, &c->groups[g]);
	for (i = 0; i < rs->nsc && !err; i++) {
		struct scen_plots *sp = &c->sp[i];

		sp->timeline = sp->bars = sp->samples = NONE;
		sp->rep_run = db_scen_representative(rs, &rs->sc[i]);
		if (sp->rep_run == DB_NO_RUN)
			continue;
		err = plot_rounds(c, &rs->runs[sp->rep_run], sp);
		if (!err)
			err = plot_samples(c, &rs->runs[sp->rep_run], sp);
	}
	if (!err && c->plot.nsvg)
		err = db_plot_run(&c->plot);
	return err;
}

/* ---- the page -------------------------------------------------------------- */

void db_report_head(struct db_buf *b, const char *title)
{
	db_buf_put(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
		   "<meta charset=\"utf-8\">\n<title>");
	db_buf_esc(b, title);
	db_buf_put(b, "</title>\n<style>\n"
		   "body{font-family:sans-serif;margin:1.5em;color:#222;max-width:1200px}\n"
		   "h1{font-size:1.5em}h2{border-bottom:2px solid #ccc;margin-top:2em}\n"
		   "h3{margin-top:1.5em}\n"
		   ".meta{color:#555}\n"
		   "table{border-collapse:collapse;font-size:0.85em;margin:1em 0}\n"
		   "th,td{border:1px solid #ccc;padding:3px 6px;text-align:left;"
		   "vertical-align:top}\n"
		   "th{background:#f0f0f0}\n"
		   "td.num{text-align:right;white-space:nowrap}\n"
		   "code,.sum{font-family:monospace;font-size:0.9em}\n"
		   "tr.mismatch td{background:#ffd6d6;font-weight:bold}\n"
		   "tr.skipped td{color:#777;background:#f8f8f8}\n"
		   "tr.failed td{background:#fff0d0}\n"
		   ".bad{color:#b00000;font-weight:bold}\n"
		   ".ok{color:#187018}\n"
		   ".warn{color:#a06000}\n"
		   ".banner{padding:0.6em 1em;border:2px solid #b00000;"
		   "background:#ffe0e0;color:#b00000;font-weight:bold}\n"
		   ".plot svg{width:100%;height:auto;border:1px solid #eee}\n"
		   ".v-better{color:#187018;font-weight:bold}\n"
		   ".v-worse,.v-mismatch,.v-missing{color:#b00000;font-weight:bold}\n"
		   ".v-noisy{color:#a06000}\n"
		   "</style>\n</head>\n<body>\n");
}

void db_report_tail(struct db_buf *b)
{
	char when[32];
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
	db_buf_printf(b, "<p class=\"meta\">Written by dirtybench %s at %s.</p>\n"
		      "</body>\n</html>\n", DB_VERSION, when);
}

static int embed(struct ctx *c, unsigned svg, struct db_buf *b)
{
	int err;

	if (svg == NONE)
		return 0;
	db_buf_put(b, "<div class=\"plot\">\n");
	err = db_plot_embed(&c->plot, svg, b);
	db_buf_put(b, "</div>\n");
	return err;
}

static const char *row_class(const struct db_run *r)
{
	const char *v = db_run_verdict(r);

	if (!strcmp(v, "mismatch"))
		return "mismatch";
	if (!strcmp(v, "skipped"))
		return "skipped";
	if (strcmp(v, "ok"))
		return "failed";
	return "";
}

static void run_row(struct db_buf *b, const struct db_runset *rs, size_t si,
		    const struct db_run *r)
{
	const struct db_scen *s = &rs->sc[si];
	char t1[32], t2[32], t3[32], t4[32];
	const char *v = db_run_verdict(r);

	db_buf_printf(b, "<tr class=\"%s\"><td><a href=\"#sc%zu\">", row_class(r),
		      si);
	db_buf_esc(b, s->name);
	db_buf_printf(b, "</a></td><td class=\"num\">%d</td><td>", r->rep);
	db_buf_esc(b, r->tracker[0] ? r->tracker : s->tracker);
	db_buf_put(b, "</td><td>");
	db_buf_esc(b, v);
	if (!r->has_result) {
		db_buf_put(b, "</td><td colspan=\"9\">");
		db_buf_esc(b, r->message[0] ? r->message : "no result");
		db_buf_put(b, "</td></tr>\n");
		return;
	}
	db_buf_printf(b, "</td><td>%s</td><td>", r->converged ?
		      "<span class=\"ok\">yes</span>" :
		      "<span class=\"warn\">no</span>");
	db_buf_esc(b, r->stop_reason);
	db_buf_printf(b, "</td><td class=\"num\">%s</td><td class=\"num\">%s</td>"
		      "<td class=\"num\">%s</td><td class=\"num\">%s</td>"
		      "<td class=\"sum\">", fmt_num(r->rounds, t1, sizeof(t1)),
		      db_report_ns(r->downtime_ns, t2, sizeof(t2)),
		      db_report_ns(r->total_time_ns, t3, sizeof(t3)),
		      db_report_ns(r->guest_stall_ns, t4, sizeof(t4)));
	db_buf_esc(b, r->checksum_src);
	db_buf_put(b, "<br>");
	db_buf_esc(b, r->checksum_dst);
	if (r->ram_equal)
		db_buf_put(b, "</td><td class=\"ok\">equal");
	else if (!r->verified)
		db_buf_put(b, "</td><td class=\"warn\">not verified");
	else
		db_buf_printf(b, "</td><td class=\"bad\">MISMATCH: %s page%s "
			      "differ", fmt_num(r->mismatched_pages, t1, sizeof(t1)),
			      r->mismatched_pages == 1 ? "" : "s");
	db_buf_put(b, "</td><td>");
	db_buf_esc(b, r->message);
	if (r->stall_note[0]) {
		db_buf_put(b, r->message[0] ? "<br>" : "");
		db_buf_put(b, "guest stall and downtime differ: ");
		db_buf_esc(b, r->stall_note);
	}
	db_buf_put(b, "</td></tr>\n");
}

static void runs_table(struct db_buf *b, const struct db_runset *rs)
{
	size_t i, k;

	db_buf_put(b, "<h2 id=\"runs\">Every run</h2>\n<table>\n<tr>"
		   "<th>scenario</th><th>rep</th><th>tracker</th><th>status</th>"
		   "<th>converged</th><th>stop reason</th><th>rounds</th>"
		   "<th>downtime</th><th>total time</th><th>guest stall</th>"
		   "<th>RAM checksum source<br>destination</th><th>ram_equal</th>"
		   "<th>note</th></tr>\n");
	for (i = 0; i < rs->nsc; i++) {
		const struct db_scen *s = &rs->sc[i];

		for (k = 0; k < s->nruns; k++)
			run_row(b, rs, i, &rs->runs[s->runs[k]]);
		if (s->nruns)
			continue;
		db_buf_printf(b, "<tr class=\"skipped\"><td><a href=\"#sc%zu\">", i);
		db_buf_esc(b, s->name);
		db_buf_put(b, "</a></td><td></td><td>");
		db_buf_esc(b, s->tracker);
		db_buf_put(b, "</td><td>");
		db_buf_esc(b, s->status[0] ? s->status : "skipped");
		db_buf_put(b, "</td><td colspan=\"9\">");
		db_buf_esc(b, s->reason);
		db_buf_put(b, "</td></tr>\n");
	}
	db_buf_put(b, "</table>\n");
}

static void scenario_summary(struct db_buf *b, const struct db_runset *rs,
			     const struct db_scen *s)
{
	double v[3][64], med[3], lo, hi;
	size_t k, n = 0, conv = 0, ok = 0;
	char t1[32], t2[32], t3[32];

	for (k = 0; k < s->nruns && n < 64; k++) {
		const struct db_run *r = &rs->runs[s->runs[k]];

		if (!r->has_result)
			continue;
		v[0][n] = r->downtime_ns;
		v[1][n] = r->total_time_ns;
		v[2][n] = r->rounds;
		conv += r->converged;
		ok += r->ram_equal;
		n++;
	}
	db_buf_put(b, "<p>");
	if (!n) {
		db_buf_put(b, "No result: ");
		db_buf_esc(b, s->status);
		if (s->reason[0]) {
			db_buf_put(b, " &mdash; ");
			db_buf_esc(b, s->reason);
		}
		db_buf_put(b, "</p>\n");
		return;
	}
	for (k = 0; k < 3; k++)
		if (!db_median_range(v[k], n, &med[k], &lo, &hi))
			med[k] = NAN;
	db_buf_printf(b, "%zu run%s with a result; converged %zu of %zu; RAM equal "
		      "%zu of %zu%s. Median downtime %s, total time %s, %s rounds.",
		      n, n == 1 ? "" : "s", conv, n, ok, n,
		      ok == n ? "" : " <span class=\"bad\">(RAM MISMATCH)</span>",
		      db_report_ns(med[0], t1, sizeof(t1)),
		      db_report_ns(med[1], t2, sizeof(t2)),
		      fmt_num(med[2], t3, sizeof(t3)));
	db_buf_put(b, "</p>\n");
}

int db_report_build(const struct db_runset *rs, const struct db_report_opts *o,
		    struct db_buf *b)
{
	struct ctx c = { .rs = rs };
	char title[160];
	size_t i, g, nres = 0, mism = 0, skipped = 0, failed = 0;
	int err;

	err = db_plot_init(&c.plot);
	if (err)
		return err;
	err = build_plots(&c);
	if (err)
		goto out;
	for (i = 0; i < rs->nruns; i++) {
		const char *v = db_run_verdict(&rs->runs[i]);

		nres += rs->runs[i].has_result;
		mism += !strcmp(v, "mismatch");
		failed += strcmp(v, "ok") && strcmp(v, "mismatch") &&
			  strcmp(v, "skipped");
	}
	for (i = 0; i < rs->nsc; i++)
		skipped += !strcmp(rs->sc[i].status, "skipped");

	if (o && o->title)
		snprintf(title, sizeof(title), "%s", o->title);
	else
		snprintf(title, sizeof(title), "dirtybench report: %s",
			 rs->target[0] ? rs->target : "runs");
	db_report_head(b, title);
	db_buf_put(b, "<h1>");
	db_buf_esc(b, title);
	db_buf_put(b, "</h1>\n<p class=\"meta\">");
	if (rs->started_at[0]) {
		db_buf_put(b, "Started ");
		db_buf_esc(b, rs->started_at);
		db_buf_put(b, ". ");
	}
	if (rs->kernel[0]) {
		db_buf_put(b, "Kernel ");
		db_buf_esc(b, rs->kernel);
		db_buf_put(b, ". ");
	}
	if (rs->scale < 1)
		db_buf_printf(b, "Scaled by %g (--scale). ", rs->scale);
	db_buf_printf(b, "%zu scenarios (%zu skipped here), %zu runs, %zu with "
		      "a result, %zu failed.</p>\n", rs->nsc, skipped, rs->nruns,
		      nres, failed);
	if (!rs->complete)
		db_buf_put(b, "<p class=\"warn\">The run set is incomplete: the "
			   "bench was interrupted or is still running.</p>\n");
	if (mism)
		db_buf_printf(b, "<p class=\"banner\">%zu run%s with a RAM "
			      "MISMATCH: the destination's memory differs from "
			      "the source's (see the table).</p>\n", mism,
			      mism == 1 ? "" : "s");
	else if (nres)
		db_buf_put(b, "<p class=\"ok\">Every run with a result "
			   "arrived with its RAM intact (ram_equal).</p>\n");
	db_buf_put(b, "<p><a href=\"#matrices\">Matrices</a> &middot; "
		   "<a href=\"#runs\">Every run</a> &middot; "
		   "<a href=\"#scenarios\">Scenarios</a></p>\n");
	if (o && o->extra_html)
		db_buf_put(b, o->extra_html);

	db_buf_put(b, "<h2 id=\"matrices\">Matrices</h2>\n<p>Median over the "
		   "repetitions, bars from the minimum to the maximum; the "
		   "dashed black line is the analytical model's prediction "
		   "for the same runs.</p>\n");
	for (g = 0; g < c.ngroups && !err; g++) {
		db_buf_put(b, "<h3>");
		db_buf_esc(b, c.groups[g].name);
		db_buf_put(b, "</h3>\n");
		if (c.groups[g].svg == NONE)
			db_buf_put(b, "<p>No run of this matrix has a result.</p>\n");
		err = embed(&c, c.groups[g].svg, b);
	}
	runs_table(b, rs);
	db_buf_put(b, "<h2 id=\"scenarios\">Scenarios</h2>\n");
	for (i = 0; i < rs->nsc && !err; i++) {
		db_buf_printf(b, "<h3 id=\"sc%zu\">", i);
		db_buf_esc(b, rs->sc[i].name);
		db_buf_put(b, "</h3>\n");
		scenario_summary(b, rs, &rs->sc[i]);
		if (c.sp[i].rep_run != DB_NO_RUN &&
		    c.sp[i].timeline == NONE)
			db_buf_put(b, "<p>No rounds.csv: no timeline.</p>\n");
		if (c.sp[i].rep_run != DB_NO_RUN && rs->sc[i].nruns > 1) {
			db_buf_printf(b, "<p class=\"meta\">Plots show repetition %d "
				      "(median total time).</p>\n",
				      rs->runs[c.sp[i].rep_run].rep);
		}
		err = embed(&c, c.sp[i].timeline, b);
		if (!err)
			err = embed(&c, c.sp[i].bars, b);
		if (!err)
			err = embed(&c, c.sp[i].samples, b);
	}
	db_report_tail(b);
	if (!err && b->oom)
		err = db_error(-ENOMEM, "report: out of memory");
out:
	db_plot_cleanup(&c.plot);
	free(c.groups);
	free(c.sp);
	return err;
}

int db_report_write(const struct db_runset *rs, const char *html_path,
		    const struct db_report_opts *o)
{
	struct db_buf b = { 0 };
	int err;

	err = db_report_build(rs, o, &b);
	if (!err)
		err = db_write_atomic(html_path, b.p, b.len);
	db_buf_free(&b);
	return err;
}

int db_report_render(const char *const *dirs, size_t ndirs,
		     const char *html_path, const struct db_report_opts *o)
{
	struct db_runset *rs;
	int err;

	err = db_runset_load(&rs, dirs, ndirs);
	if (err)
		return err;
	err = db_report_write(rs, html_path, o);
	db_runset_free(rs);
	return err;
}
