// SPDX-License-Identifier: MIT
/* Reading run sets: bench.json, result.json (jansson), rounds/samples CSV. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "dirtybench/common.h"
#include "base/files.h"
#include "runset.h"
#include "base/vec.h"

#define CSV_MAX (256u << 20)

/* Copy, cutting what does not fit (names and messages). */
static void scopy(char *dst, size_t len, const char *src)
{
	size_t n = strlen(src);

	if (n >= len)
		n = len - 1;
	memmove(dst, src, n);
	dst[n] = '\0';
}

/* ---- CSV ------------------------------------------------------------------ */

static size_t split(char *line, char **f, size_t max)
{
	size_t n = 0;
	char *p = line;

	for (;;) {
		char *c = strchr(p, ',');

		if (n < max)
			f[n++] = p;
		if (!c)
			break;
		*c = '\0';
		p = c + 1;
	}
	return n;
}

int db_table_load(struct db_table *t, const char *path)
{
	char *text, *line, *save, *f[64];
	size_t len, n, i, cap = 0;
	int err;

	memset(t, 0, sizeof(*t));
	err = db_slurp(path, CSV_MAX, &text, &len);
	if (err)
		return err;
	line = strtok_r(text, "\r\n", &save);
	if (!line) {
		free(text);
		return db_error(-EINVAL, "%s: empty, no header line", path);
	}
	n = split(line, f, DB_ARRAY_SIZE(f));
	t->cols = calloc(n, sizeof(*t->cols));
	if (!t->cols)
		goto oom;
	t->ncols = n;
	for (i = 0; i < n; i++)
		if (!(t->cols[i] = strdup(f[i])))
			goto oom;
	while ((line = strtok_r(NULL, "\r\n", &save))) {
		size_t got = split(line, f, DB_ARRAY_SIZE(f));

		if (t->nrows == cap) {
			double *nv;

			cap = cap ? 2 * cap : 64;
			nv = realloc(t->v, cap * t->ncols * sizeof(*t->v));
			if (!nv)
				goto oom;
			t->v = nv;
		}
		for (i = 0; i < t->ncols; i++) {
			char *end;
			double v = NAN;

			if (i < got && *f[i]) {
				v = strtod(f[i], &end);
				if (*end)
					v = NAN;
			}
			t->v[t->nrows * t->ncols + i] = v;
		}
		t->nrows++;
	}
	free(text);
	return 0;
oom:
	free(text);
	db_table_free(t);
	return db_error(-ENOMEM, "%s: out of memory", path);
}

void db_table_free(struct db_table *t)
{
	size_t i;

	for (i = 0; t->cols && i < t->ncols; i++)
		free(t->cols[i]);
	free(t->cols);
	free(t->v);
	memset(t, 0, sizeof(*t));
}

int db_table_col(const struct db_table *t, const char *name)
{
	size_t i;

	for (i = 0; i < t->ncols; i++)
		if (!strcmp(t->cols[i], name))
			return (int)i;
	return -1;
}

/* ---- result.json ------------------------------------------------------------ */

/* A member by dotted path ("summary.downtime_ns"), or NULL. */
static json_t *jget(json_t *o, const char *path)
{
	char key[64];
	const char *dot;

	while (o && (dot = strchr(path, '.'))) {
		snprintf(key, sizeof(key), "%.*s", (int)(dot - path), path);
		o = json_object_get(o, key);
		path = dot + 1;
	}
	return o ? json_object_get(o, path) : NULL;
}

static double jnum(json_t *o, const char *path)
{
	json_t *v = jget(o, path);

	return json_is_number(v) ? json_number_value(v) : NAN;
}

static void jstr(json_t *o, const char *path, char *buf, size_t len)
{
	json_t *v = jget(o, path);

	scopy(buf, len, json_is_string(v) ? json_string_value(v) : "");
}

static void load_result(struct db_run *r)
{
	char path[PATH_MAX];
	json_error_t je;
	json_t *j;
	double d, c, p;

	if (db_pathf(path, sizeof(path), "%s/result.json", r->dir))
		return;
	j = json_load_file(path, 0, &je);
	if (!j) {
		struct stat st;

		if (!stat(path, &st))
			snprintf(r->message, sizeof(r->message),
				 "result.json unreadable: line %d: %s", je.line,
				 je.text);
		else if (!r->message[0])
			snprintf(r->message, sizeof(r->message),
				 "no result.json");
		return;
	}
	if (jnum(j, "schema") != 1) {
		snprintf(r->message, sizeof(r->message),
			 "result.json: schema %g, this dirtybench reads 1",
			 jnum(j, "schema"));
		json_decref(j);
		return;
	}
	r->has_result = true;
	if (!r->scenario[0])
		jstr(j, "scenario", r->scenario, sizeof(r->scenario));
	jstr(j, "config.tracker", r->tracker, sizeof(r->tracker));
	jstr(j, "summary.outcome", r->outcome, sizeof(r->outcome));
	jstr(j, "summary.stop_reason", r->stop_reason, sizeof(r->stop_reason));
	jstr(j, "summary.checksum_src", r->checksum_src, sizeof(r->checksum_src));
	jstr(j, "summary.checksum_dst", r->checksum_dst, sizeof(r->checksum_dst));
	r->converged = json_is_true(jget(j, "summary.converged"));
	r->ram_equal = json_is_true(jget(j, "summary.ram_equal"));
	/* an aborted run was never compared: not equal, yet no mismatch */
	if (json_is_boolean(jget(j, "summary.verified")))
		r->verified = json_is_true(jget(j, "summary.verified"));
	else
		r->verified = !strcmp(r->outcome, "completed") ||
			      !strcmp(r->outcome, "validation_failed");
	r->rounds = jnum(j, "summary.rounds");
	r->total_time_ns = jnum(j, "summary.total_time_ns");
	r->downtime_ns = jnum(j, "summary.downtime_ns");
	r->paused_at_ns = jnum(j, "summary.paused_at_ns");
	r->resumed_at_ns = jnum(j, "summary.resumed_at_ns");
	r->guest_stall_ns = jnum(j, "summary.guest_stall_ns");
	jstr(j, "summary.stall_probe.note", r->stall_note, sizeof(r->stall_note));
	r->bytes_total = jnum(j, "summary.bytes_total");
	r->mismatched_pages = jnum(j, "summary.mismatched_pages");
	r->bandwidth_measured_bps = jnum(j, "summary.bandwidth_measured_bps");
	r->bandwidth_limit_bps = jnum(j, "config.bandwidth_limit_bps");
	r->ram_bytes = jnum(j, "config.ram_bytes");
	r->target_pps = jnum(j, "workload.target_pps");
	r->achieved_pps = jnum(j, "workload.achieved_pps");
	d = jnum(j, "config.workload.dirty_pages");
	c = jnum(j, "config.workload.copies");
	p = jnum(j, "config.workload.period_ms");
	if (isnan(c))
		c = 1;
	r->rate_pps = p > 0 ? d * c * 1000.0 / p : r->target_pps;
	r->model_lambda = jnum(j, "model.lambda");
	r->model_converges = json_is_true(jget(j, "model.converges"));
	r->model_rounds = jnum(j, "model.predicted_rounds");
	r->model_downtime_ns = jnum(j, "model.predicted_downtime_ns");
	r->model_bytes_total = jnum(j, "model.predicted_bytes_total");
	r->model_total_time_ns = jnum(j, "model.predicted_total_time_ns");
	if (isnan(r->model_total_time_ns) && r->bandwidth_limit_bps > 0)
		r->model_total_time_ns = r->model_bytes_total * 8e9 /
					 r->bandwidth_limit_bps;
	if (r->outcome[0] && strcmp(r->outcome, "completed")) {
		char err[256];

		jstr(j, "error", err, sizeof(err));
		if (err[0])
			scopy(r->message, sizeof(r->message), err);
	}
	json_decref(j);
}

size_t db_scen_representative(const struct db_runset *rs,
			      const struct db_scen *s)
{
	size_t i, j, best = DB_NO_RUN;
	double bestd = INFINITY;

	for (i = 0; i < s->nruns; i++) {
		const struct db_run *r = &rs->runs[s->runs[i]];
		size_t below = 0, total = 0;
		double d;

		if (!r->has_result)
			continue;
		for (j = 0; j < s->nruns; j++) {
			const struct db_run *o = &rs->runs[s->runs[j]];

			if (!o->has_result)
				continue;
			total++;
			below += o->total_time_ns < r->total_time_ns;
		}
		d = fabs((double)below - (double)(total - 1) / 2);
		if (d < bestd) {
			bestd = d;
			best = s->runs[i];
		}
	}
	return best;
}

const char *db_run_verdict(const struct db_run *r)
{
	if (!r->has_result)
		return r->status[0] ? r->status : "no-result";
	if (r->verified && !r->ram_equal)
		return "mismatch";
	if (!strcmp(r->outcome, "completed") && r->ram_equal)
		return "ok";
	/* never verified: the runner's word (timeout, crashed) or the outcome */
	if (r->status[0] && strcmp(r->status, "ok") && strcmp(r->status, "mismatch"))
		return r->status;
	return r->outcome[0] ? r->outcome : "unknown";
}

double db_run_metric(const struct db_run *r, const char *name)
{
	if (!strcmp(name, "downtime_ns"))
		return r->downtime_ns;
	if (!strcmp(name, "total_time_ns"))
		return r->total_time_ns;
	if (!strcmp(name, "rounds"))
		return r->rounds;
	if (!strcmp(name, "bytes_total"))
		return r->bytes_total;
	if (!strcmp(name, "guest_stall_ns"))
		return r->guest_stall_ns;
	if (!strcmp(name, "slowdown_pct")) {
		if (!(r->target_pps > 0) || isnan(r->achieved_pps))
			return isnan(r->target_pps) ? NAN : 0;
		return DB_MAX(0.0, 100.0 * (1.0 - r->achieved_pps /
						   r->target_pps));
	}
	return NAN;
}

/* ---- building the set ------------------------------------------------------- */

struct builder {
	struct db_runset *rs;
	size_t cap_runs, cap_sc;
	const char *root;
};

static struct db_scen *scen_get(struct builder *b, const char *name)
{
	struct db_runset *rs = b->rs;
	size_t i;

	for (i = 0; i < rs->nsc; i++)
		if (!strcmp(rs->sc[i].name, name))
			return &rs->sc[i];
	if (db_vec_reserve(&rs->sc, &b->cap_sc, rs->nsc, sizeof(*rs->sc)))
		return NULL;
	memset(&rs->sc[rs->nsc], 0, sizeof(rs->sc[0]));
	scopy(rs->sc[rs->nsc].name, sizeof(rs->sc[0].name), name);
	return &rs->sc[rs->nsc++];
}

static struct db_run *run_new(struct builder *b)
{
	struct db_runset *rs = b->rs;

	if (db_vec_reserve(&rs->runs, &b->cap_runs, rs->nruns,
			   sizeof(*rs->runs)))
		return NULL;
	memset(&rs->runs[rs->nruns], 0, sizeof(rs->runs[0]));
	return &rs->runs[rs->nruns++];
}

static int scen_add_run(struct db_scen *s, size_t idx)
{
	size_t *n = realloc(s->runs, (s->nruns + 1) * sizeof(*s->runs));

	if (!n)
		return -ENOMEM;
	s->runs = n;
	s->runs[s->nruns++] = idx;
	return 0;
}

/* Scenario "a/b/tracker/rate" belongs to matrix "a/b". */
static void derive_group(const char *name, char *group, size_t len)
{
	const char *p = name + strlen(name);
	int slashes = 0;

	while (p > name && slashes < 2)
		if (*--p == '/')
			slashes++;
	if (slashes == 2 && p > name)
		snprintf(group, len, "%.*s", (int)(p - name), name);
	else
		snprintf(group, len, "runs");
}

static void derive_rate_label(const char *name, char *buf, size_t len)
{
	const char *slash = strrchr(name, '/');

	scopy(buf, len, slash ? slash + 1 : name);
}

static void fill_scen(struct db_scen *s, const struct db_run *r)
{
	if (!s->tracker[0])
		scopy(s->tracker, sizeof(s->tracker), r->tracker);
	if (!s->group[0])
		derive_group(s->name, s->group, sizeof(s->group));
	if (!s->rate_label[0])
		derive_rate_label(s->name, s->rate_label, sizeof(s->rate_label));
	if (!(s->rate_pps > 0) && !isnan(r->rate_pps))
		s->rate_pps = r->rate_pps;
}

/* The status of a scenario from its runs: ran, or its worst run. */
static void settle_status(struct db_runset *rs, struct db_scen *s)
{
	const char *worst = NULL;
	size_t i, skipped = 0;

	for (i = 0; i < s->nruns; i++) {
		const char *v = db_run_verdict(&rs->runs[s->runs[i]]);

		if (!strcmp(v, "ok"))
			continue;
		if (!strcmp(v, "skipped")) {
			skipped++;
			if (!s->reason[0])
				snprintf(s->reason, sizeof(s->reason), "%s",
					 rs->runs[s->runs[i]].message);
		} else if (!worst || !strcmp(v, "mismatch")) {
			worst = v;
		}
	}
	if (worst)
		scopy(s->status, sizeof(s->status), worst);
	else if (s->nruns && skipped == s->nruns)
		snprintf(s->status, sizeof(s->status), "skipped");
	else if (!s->nruns && !s->status[0])
		snprintf(s->status, sizeof(s->status), "skipped");
	else if (s->nruns)
		snprintf(s->status, sizeof(s->status), "ran");
}

static int add_result_dir(struct builder *b, const char *rel, const char *scen)
{
	struct db_run *r = run_new(b);
	struct db_scen *s;
	const char *last;

	if (!r)
		return -ENOMEM;
	if (db_pathf(r->dir, sizeof(r->dir), "%s%s%s", b->root, *rel ? "/" : "",
		     rel))
		return -ENAMETOOLONG;
	scopy(r->rel, sizeof(r->rel), rel);
	last = strrchr(rel, '/');
	last = last ? last + 1 : rel;
	r->rep = !strncmp(last, "rep", 3) ? atoi(last + 3) : 1;
	if (r->rep <= 0)
		r->rep = 1;
	if (scen)
		scopy(r->scenario, sizeof(r->scenario), scen);
	load_result(r);
	if (!r->scenario[0]) {
		/* a plain run: its directory names it */
		if (!strncmp(last, "rep", 3) && last > rel)
			snprintf(r->scenario, sizeof(r->scenario), "%.*s",
				 (int)(last - rel - 1), rel);
		else
			snprintf(r->scenario, sizeof(r->scenario), "%s",
				 *rel ? rel : "run");
	}
	scopy(r->status, sizeof(r->status), db_run_verdict(r));
	s = scen_get(b, r->scenario);
	if (!s || scen_add_run(s, (size_t)(r - b->rs->runs)))
		return -ENOMEM;
	fill_scen(s, r);
	return 0;
}

static int walk_fn(const char *root, const char *rel, void *arg)
{
	struct builder *b = arg;
	char dir[PATH_MAX];
	const char *slash = strrchr(rel, '/');

	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - rel) : 0, rel);
	(void)root;
	return add_result_dir(b, dir, NULL);
}

static void jcopy(json_t *o, const char *key, char *buf, size_t len)
{
	json_t *v = json_object_get(o, key);

	if (json_is_string(v))
		scopy(buf, len, json_string_value(v));
}

static int load_index(struct builder *b, const char *path)
{
	struct db_runset *rs = b->rs;
	json_error_t je;
	json_t *j, *sj, *run;
	size_t i, k;
	int err = 0;

	j = json_load_file(path, 0, &je);
	if (!j)
		return db_error(-EINVAL, "%s: line %d: %s", path, je.line, je.text);
	if (jnum(j, "schema") != 1) {
		json_decref(j);
		return db_error(-EINVAL, "%s: not a schema 1 run set index", path);
	}
	rs->indexed = true;
	if (!rs->target[0])
		jstr(j, "target", rs->target, sizeof(rs->target));
	if (!rs->started_at[0])
		jstr(j, "started_at", rs->started_at, sizeof(rs->started_at));
	if (!rs->kernel[0])
		jstr(j, "host.kernel", rs->kernel, sizeof(rs->kernel));
	if (!isnan(jnum(j, "scale")))
		rs->scale = jnum(j, "scale");
	if (!json_is_true(json_object_get(j, "complete")))
		rs->complete = false;
	json_array_foreach(json_object_get(j, "scenarios"), i, sj) {
		const char *name = json_string_value(json_object_get(sj, "name"));
		struct db_scen *s;

		if (!name)
			continue;
		s = scen_get(b, name);
		if (!s) {
			err = -ENOMEM;
			break;
		}
		jcopy(sj, "group", s->group, sizeof(s->group));
		jcopy(sj, "tracker", s->tracker, sizeof(s->tracker));
		jcopy(sj, "rate", s->rate_label, sizeof(s->rate_label));
		jcopy(sj, "status", s->status, sizeof(s->status));
		jcopy(sj, "reason", s->reason, sizeof(s->reason));
		if (json_is_number(json_object_get(sj, "rate_pps")))
			s->rate_pps = json_number_value(json_object_get(sj,
								       "rate_pps"));
		json_array_foreach(json_object_get(sj, "runs"), k, run) {
			const char *dir = json_string_value(json_object_get(run, "dir"));
			const char *st = json_string_value(json_object_get(run, "status"));
			struct db_run *r;
			bool runner;

			if (!dir || strstr(dir, "..") || dir[0] == '/')
				continue;	/* never read outside the set */
			if (st && !strcmp(st, "not-run"))
				continue;
			err = add_result_dir(b, dir, name);
			if (err)
				break;
			r = &rs->runs[rs->nruns - 1];
			/* what the run cannot know itself: the runner killed it */
			runner = st && (!r->has_result || !strcmp(st, "timeout") ||
					!strcmp(st, "crashed"));
			if (runner)
				scopy(r->status, sizeof(r->status), st);
			if (runner || !r->message[0])
				jcopy(run, "message", r->message,
				      sizeof(r->message));
		}
		if (err)
			break;
	}
	json_decref(j);
	return err;
}

int db_runset_load(struct db_runset **out, const char *const *dirs,
		   size_t ndirs)
{
	struct db_runset *rs = calloc(1, sizeof(*rs));
	struct builder b = { .rs = rs };
	char path[PATH_MAX];
	struct stat st;
	size_t i, before;
	int err = 0;

	*out = NULL;
	if (!rs)
		return db_error(-ENOMEM, "run set: out of memory");
	rs->complete = true;
	rs->scale = 1;
	for (i = 0; i < ndirs && !err; i++) {
		b.root = dirs[i];
		before = rs->nruns;
		if (stat(dirs[i], &st) || !S_ISDIR(st.st_mode)) {
			err = db_error(-ENOENT, "%s: not a directory", dirs[i]);
			break;
		}
		snprintf(path, sizeof(path), "%s/bench.json", dirs[i]);
		if (!stat(path, &st)) {
			err = load_index(&b, path);
		} else {
			snprintf(path, sizeof(path), "%s/result.json", dirs[i]);
			if (!stat(path, &st))
				err = add_result_dir(&b, "", NULL);
			else
				err = db_walk(dirs[i], "result.json", walk_fn, &b);
			if (!err && rs->nruns == before)
				err = db_error(-ENOENT, "%s: no bench.json and no "
					       "result.json below it", dirs[i]);
		}
	}
	if (err == -ENOMEM)
		db_error(err, "run set: out of memory");
	if (err) {
		db_runset_free(rs);
		return err;
	}
	for (i = 0; i < rs->nsc; i++) {
		if (!rs->sc[i].group[0])
			derive_group(rs->sc[i].name, rs->sc[i].group,
				     sizeof(rs->sc[i].group));
		if (!rs->sc[i].rate_label[0])
			derive_rate_label(rs->sc[i].name, rs->sc[i].rate_label,
					  sizeof(rs->sc[i].rate_label));
		settle_status(rs, &rs->sc[i]);
	}
	*out = rs;
	return 0;
}

void db_runset_free(struct db_runset *rs)
{
	size_t i;

	if (!rs)
		return;
	for (i = 0; i < rs->nsc; i++)
		free(rs->sc[i].runs);
	free(rs->sc);
	free(rs->runs);
	free(rs);
}

int db_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

bool db_median_range(double *v, size_t n, double *med, double *lo, double *hi)
{
	size_t i, k = 0;

	for (i = 0; i < n; i++)
		if (isfinite(v[i]))
			v[k++] = v[i];
	if (!k)
		return false;
	qsort(v, k, sizeof(*v), db_cmp_double);
	*med = k % 2 ? v[k / 2] : (v[k / 2 - 1] + v[k / 2]) / 2;
	*lo = v[0];
	*hi = v[k - 1];
	return true;
}
