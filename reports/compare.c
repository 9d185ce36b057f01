// SPDX-License-Identifier: MIT
/* Verdicts of a run set against a baseline; HTML section and JUnit XML. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dirtybench/common.h"
#include "compare.h"
#include "report.h"
#include "base/vec.h"

static const char *const verdict_names[DB_V_COUNT] = {
	[DB_V_SAME] = "same", [DB_V_NOISY] = "noisy", [DB_V_BETTER] = "better",
	[DB_V_WORSE] = "worse", [DB_V_MISMATCH] = "mismatch",
	[DB_V_MISSING] = "missing", [DB_V_NEW] = "new",
	[DB_V_SKIPPED] = "skipped",
};

const char *db_verdict_name(enum db_verdict v)
{
	return (unsigned)v < DB_V_COUNT ? verdict_names[v] : "?";
}

static const struct db_threshold defaults[DB_CMP_METRICS] = {
	{ "downtime_ns", "downtime", 0.25, 2e6, 1e6, "ms" },
	{ "total_time_ns", "total_time", 0.15, 100e6, 1e6, "ms" },
	{ "rounds", "rounds", 0.25, 1, 1, "rounds" },
	{ "bytes_total", "bytes", 0.10, 1048576, 1048576, "MiB" },
	{ "guest_stall_ns", "guest_stall", 0.30, 5e6, 1e6, "ms" },
};

void db_compare_defaults(struct db_compare_opts *o)
{
	memcpy(o->th, defaults, sizeof(defaults));
}

void db_compare_thresholds_help(FILE *f)
{
	size_t i;

	fprintf(f, "Thresholds (--threshold METRIC=PCT%%[,FLOOR]; a change is "
		"'same' when within\nPCT of the baseline median or within FLOOR):\n");
	for (i = 0; i < DB_CMP_METRICS; i++)
		fprintf(f, "  %-12s %3.0f%%, floor %g %s\n", defaults[i].alias,
			defaults[i].rel * 100, defaults[i].floor / defaults[i].unit,
			defaults[i].unit_name);
}

int db_compare_threshold(struct db_compare_opts *o, const char *spec)
{
	const char *eq = strchr(spec, '=');
	char name[32], *end;
	double rel, floor_v;
	size_t i;

	if (!eq || (size_t)(eq - spec) >= sizeof(name))
		goto bad;
	snprintf(name, sizeof(name), "%.*s", (int)(eq - spec), spec);
	for (i = 0; i < DB_CMP_METRICS; i++)
		if (!strcmp(name, o->th[i].alias) || !strcmp(name, o->th[i].metric))
			break;
	if (i == DB_CMP_METRICS)
		return db_error(-EINVAL, "--threshold %s: unknown metric '%s' "
				"(downtime, total_time, rounds, bytes, guest_stall)",
				spec, name);
	rel = strtod(eq + 1, &end);
	if (end == eq + 1 || *end != '%' || rel < 0 || rel > 1000)
		goto bad;
	end++;
	o->th[i].rel = rel / 100;
	if (*end == ',') {
		floor_v = strtod(end + 1, &end);
		if (*end || floor_v < 0)
			goto bad;
		o->th[i].floor = floor_v * o->th[i].unit;
	} else if (*end) {
		goto bad;
	}
	return 0;
bad:
	return db_error(-EINVAL, "--threshold %s: not METRIC=PCT%%[,FLOOR] "
			"(e.g. downtime=30%%,5)", spec);
}

/* ---- building rows ---------------------------------------------------------- */

struct builder {
	struct db_comparison *c;
	size_t cap;
};

static struct db_cmp_row *row_add(struct builder *b, const char *scenario,
				  const char *metric, enum db_verdict v)
{
	struct db_comparison *c = b->c;
	struct db_cmp_row *r;

	if (db_vec_reserve(&c->rows, &b->cap, c->nrows, sizeof(*c->rows)))
		return NULL;
	r = &c->rows[c->nrows++];
	memset(r, 0, sizeof(*r));
	snprintf(r->scenario, sizeof(r->scenario), "%s", scenario);
	snprintf(r->metric, sizeof(r->metric), "%s", metric);
	r->v = v;
	r->base_med = r->cur_med = r->change = NAN;
	c->count[v]++;
	if (v == DB_V_WORSE || v == DB_V_MISMATCH || v == DB_V_MISSING)
		c->failed = true;
	return r;
}

static void set_verdict(struct db_comparison *c, struct db_cmp_row *r,
			enum db_verdict v)
{
	c->count[r->v]--;
	r->v = v;
	c->count[v]++;
	if (v == DB_V_WORSE || v == DB_V_MISMATCH || v == DB_V_MISSING)
		c->failed = true;
}

static const struct db_scen *find_scen(const struct db_runset *rs,
				       const char *name)
{
	size_t i;

	for (i = 0; i < rs->nsc; i++)
		if (!strcmp(rs->sc[i].name, name))
			return &rs->sc[i];
	return NULL;
}

/* Values of a metric over a scenario's runs with a result. */
static size_t values(const struct db_runset *rs, const struct db_scen *s,
		     const char *metric, double *v)
{
	size_t i, n = 0;

	for (i = 0; s && i < s->nruns; i++) {
		const struct db_run *r = &rs->runs[s->runs[i]];

		if (r->has_result)
			v[n++] = db_run_metric(r, metric);
	}
	return n;
}

static int metric_row(struct builder *b, const struct db_runset *base,
		      const struct db_scen *bs, const struct db_runset *cur,
		      const struct db_scen *cs, const struct db_threshold *th,
		      double *v)
{
	struct db_cmp_row *r;
	double diff, allowed;
	size_t nb, nc;
	bool okb, okc;

	r = row_add(b, cs->name, th->alias, DB_V_SAME);
	if (!r)
		return -ENOMEM;
	nb = values(base, bs, th->metric, v);
	okb = db_median_range(v, nb, &r->base_med, &r->base_lo, &r->base_hi);
	nc = values(cur, cs, th->metric, v);
	okc = db_median_range(v, nc, &r->cur_med, &r->cur_lo, &r->cur_hi);
	r->nbase = nb;
	r->ncur = nc;
	if (!okb || !okc) {
		snprintf(r->note, sizeof(r->note), "not in %s",
			 !okb ? "the baseline" : "this run set");
		return 0;
	}
	diff = r->cur_med - r->base_med;
	r->change = r->base_med ? diff / r->base_med : diff ? INFINITY : 0;
	allowed = DB_MAX(th->rel * fabs(r->base_med), th->floor);
	if (fabs(diff) <= allowed)
		return 0;
	if (r->cur_lo <= r->base_hi && r->base_lo <= r->cur_hi) {
		set_verdict(b->c, r, DB_V_NOISY);
		snprintf(r->note, sizeof(r->note), "the ranges over the "
			 "repetitions overlap: run more repetitions");
		return 0;
	}
	set_verdict(b->c, r, diff > 0 ? DB_V_WORSE : DB_V_BETTER);
	return 0;
}

static void converged(const struct db_runset *rs, const struct db_scen *s,
		      size_t *yes, size_t *n)
{
	size_t i;

	*yes = *n = 0;
	for (i = 0; s && i < s->nruns; i++) {
		const struct db_run *r = &rs->runs[s->runs[i]];

		if (!r->has_result)
			continue;
		(*n)++;
		*yes += r->converged;
	}
}

static int scenario_rows(struct builder *b, const struct db_runset *base,
			 const struct db_runset *cur, const struct db_scen *cs,
			 const struct db_compare_opts *o, double *v)
{
	const struct db_scen *bs = find_scen(base, cs->name);
	size_t i, yb, nb, yc, nc, bad = 0, badpages = 0, failed = 0;
	struct db_cmp_row *r;
	char reps[128] = "";
	int err = 0;

	converged(base, bs, &yb, &nb);
	converged(cur, cs, &yc, &nc);
	for (i = 0; i < cs->nruns; i++) {
		const struct db_run *run = &cur->runs[cs->runs[i]];
		size_t l = strlen(reps);

		if (!run->has_result || !run->verified) {
			failed += strcmp(db_run_verdict(run), "skipped") != 0;
			continue;
		}
		if (run->ram_equal)
			continue;
		bad++;
		badpages += isnan(run->mismatched_pages) ? 0 :
			    (size_t)run->mismatched_pages;
		snprintf(reps + l, sizeof(reps) - l, "%s%d", l ? ", " : "",
			 run->rep);
	}
	if (!nc) {
		bool skipped = !strcmp(cs->status, "skipped");

		r = row_add(b, cs->name, "runs", skipped ? DB_V_SKIPPED :
			    nb ? DB_V_MISSING : DB_V_NEW);
		if (!r)
			return -ENOMEM;
		snprintf(r->note, sizeof(r->note), "%s%.200s", skipped ?
			 "cannot run here: " : "no run with a result: ",
			 skipped ? cs->reason : cs->status);
		return 0;
	}
	r = row_add(b, cs->name, "ram_equal", bad ? DB_V_MISMATCH : DB_V_SAME);
	if (!r)
		return -ENOMEM;
	r->ncur = nc;
	if (bad)
		snprintf(r->note, sizeof(r->note), "RAM differs after migration "
			 "in repetition %s (%zu pages)", reps, badpages);
	else
		snprintf(r->note, sizeof(r->note), "RAM intact in all %zu runs", nc);
	if (!nb) {
		r = row_add(b, cs->name, "runs", DB_V_NEW);
		if (!r)
			return -ENOMEM;
		snprintf(r->note, sizeof(r->note), bs ? "the baseline has no "
			 "result for it" : "not in the baseline");
		return 0;
	}
	if (failed) {
		r = row_add(b, cs->name, "runs", DB_V_WORSE);
		if (!r)
			return -ENOMEM;
		snprintf(r->note, sizeof(r->note), "%zu run%s ended without a "
			 "RAM verdict (crashed, aborted or timed out)", failed,
			 failed == 1 ? "" : "s");
	}
	r = row_add(b, cs->name, "converged", DB_V_SAME);
	if (!r)
		return -ENOMEM;
	r->base_med = nb ? (double)yb / (double)nb : NAN;
	r->cur_med = (double)yc / (double)nc;
	r->nbase = nb;
	r->ncur = nc;
	if (yb == nb && yc < nc) {
		set_verdict(b->c, r, DB_V_WORSE);
		snprintf(r->note, sizeof(r->note), "stopped converging: %zu of %zu "
			 "runs hit a cap", nc - yc, nc);
	} else if (yb < nb && yc == nc) {
		set_verdict(b->c, r, DB_V_BETTER);
		snprintf(r->note, sizeof(r->note), "converges now in every run");
	} else if ((yb && yb < nb) || (yc && yc < nc)) {
		set_verdict(b->c, r, DB_V_NOISY);
		snprintf(r->note, sizeof(r->note), "converges in some runs only");
	}
	for (i = 0; i < DB_CMP_METRICS && !err; i++)
		err = metric_row(b, base, bs, cur, cs, &o->th[i], v);
	return err;
}

int db_compare(const struct db_runset *base, const struct db_runset *cur,
	       const struct db_compare_opts *o, struct db_comparison **out)
{
	struct db_comparison *c = calloc(1, sizeof(*c));
	struct builder b = { .c = c };
	struct db_compare_opts defs;
	double *v;
	size_t i;
	int err = 0;

	*out = NULL;
	if (!o) {
		db_compare_defaults(&defs);
		o = &defs;
	}
	v = calloc(base->nruns + cur->nruns + 1, sizeof(*v));
	if (!c || !v) {
		free(c);
		free(v);
		return db_error(-ENOMEM, "compare: out of memory");
	}
	for (i = 0; i < cur->nsc && !err; i++) {
		err = scenario_rows(&b, base, cur, &cur->sc[i], o, v);
		c->scenarios++;
	}
	for (i = 0; i < base->nsc && !err; i++) {
		const struct db_scen *bs = &base->sc[i];
		size_t y, n;
		struct db_cmp_row *r;

		if (find_scen(cur, bs->name))
			continue;
		converged(base, bs, &y, &n);
		if (!n)
			continue;	/* never ran in the baseline either */
		r = row_add(&b, bs->name, "runs", DB_V_MISSING);
		if (!r) {
			err = -ENOMEM;
			break;
		}
		snprintf(r->note, sizeof(r->note), "in the baseline, not in this "
			 "run set");
		c->scenarios++;
	}
	free(v);
	if (err) {
		db_comparison_free(c);
		return db_error(err, "compare: out of memory");
	}
	*out = c;
	return 0;
}

void db_comparison_free(struct db_comparison *c)
{
	if (!c)
		return;
	free(c->rows);
	free(c);
}

/* ---- output --------------------------------------------------------------------- */

static bool is_time(const char *metric)
{
	return !strcmp(metric, "downtime") || !strcmp(metric, "total_time") ||
	       !strcmp(metric, "guest_stall");
}

static void fmt_value(const struct db_cmp_row *r, double v, char *buf,
		      size_t len)
{
	if (isnan(v))
		snprintf(buf, len, "-");
	else if (is_time(r->metric))
		db_report_ns(v, buf, len);
	else if (!strcmp(r->metric, "bytes"))
		snprintf(buf, len, "%.1f MiB", v / 1048576);
	else if (!strcmp(r->metric, "converged"))
		snprintf(buf, len, "%.0f%%", v * 100);
	else
		snprintf(buf, len, "%.4g", v);
}

static void fmt_side(const struct db_cmp_row *r, bool cur, char *buf,
		     size_t len)
{
	char m[32], lo[32], hi[32];
	double med = cur ? r->cur_med : r->base_med;
	size_t n = cur ? r->ncur : r->nbase;

	fmt_value(r, med, m, sizeof(m));
	if (isnan(med) || !strcmp(r->metric, "converged") ||
	    !strcmp(r->metric, "ram_equal")) {
		snprintf(buf, len, "%s", isnan(med) ? "-" : m);
		return;
	}
	fmt_value(r, cur ? r->cur_lo : r->base_lo, lo, sizeof(lo));
	fmt_value(r, cur ? r->cur_hi : r->base_hi, hi, sizeof(hi));
	snprintf(buf, len, "%s [%s - %s] n=%zu", m, lo, hi, n);
}

static void fmt_change(const struct db_cmp_row *r, char *buf, size_t len)
{
	if (isnan(r->change) || !strcmp(r->metric, "converged"))
		snprintf(buf, len, "-");
	else if (isinf(r->change))
		snprintf(buf, len, "from 0");
	else
		snprintf(buf, len, "%+.1f%%", r->change * 100);
}

void db_compare_html(const struct db_comparison *c, const char *baseline,
		     struct db_buf *b)
{
	char s1[160], s2[160], ch[32];
	size_t i;

	db_buf_put(b, "<h2 id=\"compare\">Comparison with the baseline</h2>\n"
		   "<p>Baseline: <code>");
	db_buf_esc(b, baseline);
	db_buf_printf(b, "</code>. %zu scenarios: ", c->scenarios);
	for (i = 0; i < DB_V_COUNT; i++)
		db_buf_printf(b, "%s<span class=\"v-%s\">%zu %s</span>",
			      i ? ", " : "", db_verdict_name(i), c->count[i],
			      db_verdict_name(i));
	db_buf_put(b, ".</p>\n");
	db_buf_printf(b, "<p class=\"%s\">Verdict: %s</p>\n",
		      c->failed ? "banner" : "ok", c->failed ?
		      "REGRESSION (a metric is worse, a scenario is missing, or "
		      "a run's RAM differs)" : "no regression");
	db_buf_put(b, "<table>\n<tr><th>scenario</th><th>metric</th>"
		   "<th>baseline median [min - max]</th>"
		   "<th>this run set</th><th>change</th><th>verdict</th>"
		   "<th>note</th></tr>\n");
	for (i = 0; i < c->nrows; i++) {
		const struct db_cmp_row *r = &c->rows[i];
		const char *cls = r->v == DB_V_MISMATCH ? "mismatch" :
				  r->v == DB_V_WORSE || r->v == DB_V_MISSING ?
				  "failed" : "";

		/* the unremarkable: RAM intact, metrics the same */
		fmt_side(r, false, s1, sizeof(s1));
		fmt_side(r, true, s2, sizeof(s2));
		fmt_change(r, ch, sizeof(ch));
		db_buf_printf(b, "<tr class=\"%s\"><td>", cls);
		db_buf_esc(b, r->scenario);
		db_buf_put(b, "</td><td>");
		db_buf_esc(b, r->metric);
		db_buf_put(b, "</td><td class=\"num\">");
		db_buf_esc(b, s1);
		db_buf_put(b, "</td><td class=\"num\">");
		db_buf_esc(b, s2);
		db_buf_printf(b, "</td><td class=\"num\">%s</td>"
			      "<td class=\"v-%s\">%s</td><td>", ch,
			      db_verdict_name(r->v), db_verdict_name(r->v));
		db_buf_esc(b, r->note);
		db_buf_put(b, "</td></tr>\n");
	}
	db_buf_put(b, "</table>\n");
}

void db_compare_junit(const struct db_comparison *c, struct db_buf *b)
{
	size_t i, j, fails = 0, skips = 0;
	char s1[160], s2[160], ch[32];

	for (i = 0; i < c->nrows; i++) {
		enum db_verdict v = c->rows[i].v;

		fails += v == DB_V_WORSE || v == DB_V_MISMATCH || v == DB_V_MISSING;
		skips += v == DB_V_SKIPPED;
	}
	db_buf_printf(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		      "<testsuites name=\"dirtybench compare\" tests=\"%zu\" "
		      "failures=\"%zu\" skipped=\"%zu\">\n", c->nrows, fails,
		      skips);
	for (i = 0; i < c->nrows; i = j) {
		size_t n = 0, f = 0, s = 0;

		for (j = i; j < c->nrows &&
		     !strcmp(c->rows[j].scenario, c->rows[i].scenario); j++) {
			enum db_verdict v = c->rows[j].v;

			n++;
			f += v == DB_V_WORSE || v == DB_V_MISMATCH ||
			     v == DB_V_MISSING;
			s += v == DB_V_SKIPPED;
		}
		db_buf_put(b, " <testsuite name=\"");
		db_buf_esc(b, c->rows[i].scenario);
		db_buf_printf(b, "\" tests=\"%zu\" failures=\"%zu\" skipped=\"%zu\">\n",
			      n, f, s);
		for (j = i; j < i + n; j++) {
			const struct db_cmp_row *r = &c->rows[j];
			struct db_buf msg = { 0 };

			fmt_side(r, false, s1, sizeof(s1));
			fmt_side(r, true, s2, sizeof(s2));
			fmt_change(r, ch, sizeof(ch));
			db_buf_printf(&msg, "%s: baseline %s, now %s (%s)%s%s",
				      db_verdict_name(r->v), s1, s2, ch,
				      r->note[0] ? ": " : "", r->note);
			db_buf_put(b, "  <testcase classname=\"");
			db_buf_esc(b, r->scenario);
			db_buf_put(b, "\" name=\"");
			db_buf_esc(b, r->metric);
			db_buf_put(b, "\" time=\"0\">");
			if (r->v == DB_V_WORSE || r->v == DB_V_MISMATCH ||
			    r->v == DB_V_MISSING) {
				db_buf_printf(b, "<failure type=\"%s\" message=\"",
					      db_verdict_name(r->v));
				db_buf_esc(b, msg.p ? msg.p : "");
				db_buf_put(b, "\"/>");
			} else if (r->v == DB_V_SKIPPED) {
				db_buf_put(b, "<skipped message=\"");
				db_buf_esc(b, r->note);
				db_buf_put(b, "\"/>");
			} else {
				db_buf_put(b, "<system-out>");
				db_buf_esc(b, msg.p ? msg.p : "");
				db_buf_put(b, "</system-out>");
			}
			db_buf_put(b, "</testcase>\n");
			db_buf_free(&msg);
		}
		db_buf_put(b, " </testsuite>\n");
	}
	db_buf_put(b, "</testsuites>\n");
}
