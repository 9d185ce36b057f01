// SPDX-License-Identifier: MIT
/* Bench targets: ini files (libinih) expanded into a scenario matrix. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <ini.h>

#include "dirtybench/common.h"
#include "dirtybench/dirtyram.h"
#include "dirtybench/ram.h"
#include "dirtybench/tracker.h"
#include "base/files.h"
#include "base/re.h"
#include "runner/target.h"
#include "base/vec.h"

/* ---- value checks: one per kind of key -------------------------------- */

static int put(char *canon, size_t len, const char *s)
{
	if ((size_t)snprintf(canon, len, "%s", s) >= len)
		return db_error(-EINVAL, "'%s' is too long", s);
	return 0;
}

static int check_tracker(const char *in, char *canon, size_t len)
{
	/* Resolved at expansion (all, best:N); here only the shape. */
	if (!*in || strspn(in, "abcdefghijklmnopqrstuvwxyz"
			   "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:=/+- ") !=
	    strlen(in))
		return db_error(-EINVAL, "'%s' is not a tracker spec "
				"(NAME[:ARGS], all, or best:N NAME...)", in);
	return put(canon, len, in);
}

static int check_backing(const char *in, char *canon, size_t len)
{
	enum db_backing b;

	if (db_backing_parse(in, &b))
		return db_error(-EINVAL, "'%s' is not a backing "
				"(anon, thp, hugetlb, memfd, tracker)", in);
	return put(canon, len, db_backing_name(b));
}

static int check_size(const char *in, char *canon, size_t len)
{
	uint64_t v;

	if (db_parse_size(in, &v))
		return -EINVAL;
	if (v < DB_PAGE_SIZE)
		return db_error(-EINVAL, "'%s' is less than one page", in);
	return put(canon, len, in);
}

static int check_num(const char *in, char *canon, size_t len, uint64_t min,
		     uint64_t max)
{
	uint64_t v;

	if (db_parse_u64(in, min, max, &v))
		return -EINVAL;
	snprintf(canon, len, "%llu", (unsigned long long)v);
	return 0;
}

static int check_vmm(const char *in, char *canon, size_t len)
{
	if ((strcmp(in, "qemu") && strncmp(in, "qemu:", 5)) || !strcmp(in, "qemu:") ||
	    strpbrk(in, " \t,"))
		return db_error(-EINVAL, "'%s' is not qemu or qemu:PATH", in);
	return put(canon, len, in);
}

static int check_copies(const char *in, char *canon, size_t len)
{
	return check_num(in, canon, len, 1, 256);
}

static int check_rounds(const char *in, char *canon, size_t len)
{
	return check_num(in, canon, len, 1, 100000);
}

static int check_seed(const char *in, char *canon, size_t len)
{
	return check_num(in, canon, len, 0, UINT64_MAX);
}

static int check_sample_ms(const char *in, char *canon, size_t len)
{
	return check_num(in, canon, len, 0, 60000);
}

static int check_pattern(const char *in, char *canon, size_t len)
{
	struct dr_config dr = { 0 };

	if (dr_pattern_parse(in, &dr))
		return db_error(-EINVAL, "'%s' is not a pattern "
				"(seq, random, hotset:FRACTION, zipf:S)", in);
	return put(canon, len, in);
}

static int check_bandwidth(const char *in, char *canon, size_t len)
{
	uint64_t v;

	if (db_parse_rate(in, &v))
		return -EINVAL;
	return put(canon, len, in);
}

static int check_link(const char *in, char *canon, size_t len)
{
	if (strcmp(in, "loopback") && strcmp(in, "netns"))
		return db_error(-EINVAL, "'%s' is not a link (loopback, netns)",
				in);
	return put(canon, len, in);
}

static int check_on_timeout(const char *in, char *canon, size_t len)
{
	if (strcmp(in, "force") && strcmp(in, "cancel"))
		return db_error(-EINVAL, "'%s' is not force or cancel", in);
	return put(canon, len, in);
}

static int check_dirty_limit(const char *in, char *canon, size_t len)
{
	uint64_t v;

	if (strcmp(in, "off") && strcmp(in, "auto") &&
	    (db_parse_rate(in, &v) || v < 4096))
		return db_error(-EINVAL, "'%s' is not off, auto or a rate (50MB/s, 100mbit)",
				in);
	return put(canon, len, in);
}

/* A duration with an optional unit (ms, s, m) in the given unit (1 = ms). */
static int parse_duration(const char *in, uint64_t unit_ms, uint64_t *out)
{
	double v, mult = (double)unit_ms;
	char *end;

	errno = 0;
	v = strtod(in, &end);
	if (end == in || errno || v < 0 || !isfinite(v))
		goto bad;
	if (!strcmp(end, "ms"))
		mult = 1;
	else if (!strcmp(end, "s"))
		mult = 1000;
	else if (!strcmp(end, "m") || !strcmp(end, "min"))
		mult = 60000;
	else if (*end)
		goto bad;
	*out = (uint64_t)llround(v * mult / (double)unit_ms);
	return 0;
bad:
	return db_error(-EINVAL, "'%s' is not a duration (300ms, 2s, 1m)", in);
}

static int check_ms(const char *in, char *canon, size_t len)
{
	uint64_t v;

	if (parse_duration(in, 1, &v))
		return -EINVAL;
	snprintf(canon, len, "%llu", (unsigned long long)v);
	return 0;
}

static int check_seconds(const char *in, char *canon, size_t len)
{
	uint64_t v;

	if (parse_duration(in, 1000, &v))
		return -EINVAL;
	if (!v)
		return db_error(-EINVAL, "'%s' is zero", in);
	snprintf(canon, len, "%llu", (unsigned long long)v);
	return 0;
}

static int check_stop(const char *in, char *canon, size_t len)
{
	uint64_t v;

	if (!strcmp(in, "downtime"))
		return put(canon, len, in);
	if (!strncmp(in, "rounds:", 7) && !db_parse_u64(in + 7, 1, 100000, &v))
		return put(canon, len, in);
	if (!strncmp(in, "time:", 5) && !parse_duration(in + 5, 1000, &v))
		return put(canon, len, in);
	if (!strncmp(in, "threshold:", 10) &&
	    !db_parse_u64(in + 10, 0, UINT32_MAX, &v))
		return put(canon, len, in);
	return db_error(-EINVAL, "'%s' is not a stop policy "
			"(downtime, rounds:N, time:S, threshold:PAGES)", in);
}

/*
 * "idle" (nothing written), "DIRTYxPERIOD" (DIRTY pages every PERIOD ms
 * over all of a copy's share of RAM) or "TOTAL DIRTY PERIOD" as dirtyram's
 * own command line. canon: "TOTAL DIRTY PERIOD", TOTAL 0 = the copy's share.
 */
static int parse_rate(const char *in, uint64_t *total, uint64_t *dirty,
		      uint64_t *period)
{
	unsigned long long a, b, c;
	char tail;

	if (!strcmp(in, "idle")) {
		*total = 0;
		*dirty = 0;
		*period = 100;
		return 0;
	}
	if (sscanf(in, "%llux%llu%c", &a, &b, &tail) == 2 && b > 0) {
		*total = 0;
		*dirty = a;
		*period = b;
		return 0;
	}
	if (sscanf(in, "%llu %llu %llu%c", &a, &b, &c, &tail) == 3 && a > 0 &&
	    b <= a) {
		*total = a;
		*dirty = b;
		*period = c;
		return 0;
	}
	return db_error(-EINVAL, "'%s' is not a rate (idle, DIRTYxPERIOD_MS "
			"or 'TOTAL DIRTY PERIOD_MS' with DIRTY <= TOTAL)", in);
}

static int check_rate(const char *in, char *canon, size_t len)
{
	uint64_t t = 0, d = 0, p = 0;

	if (parse_rate(in, &t, &d, &p))
		return -EINVAL;
	snprintf(canon, len, "%llu %llu %llu", (unsigned long long)t,
		 (unsigned long long)d, (unsigned long long)p);
	return 0;
}

/*
 * The one table: ini key, `dirtybench run` option, label in names.
 * Indexed by enum db_tkey.
 */
static const struct db_target_key keys[DB_TK_COUNT] = {
	[DB_TK_TRACKER] = { "tracker", "--tracker", "",
		"NAME[:ARGS] | all | best:N NAME...",
		"tracker(s); 'all': every built-in tracker but faulty; "
		"'best:N A B C...': the first N of A B C... available here",
		check_tracker },
	[DB_TK_BACKING] = { "backing", "--backing", "",
		"anon | thp | hugetlb | memfd | tracker", "guest RAM backing",
		check_backing },
	[DB_TK_RAM] = { "ram", "--ram", "", "SIZE (64M, 1792M, 1G)",
		"guest RAM size", check_size },
	[DB_TK_COPIES] = { "copies", NULL, "c", "N (1-256)",
		"dirtyram copies, one vCPU thread each; --workload threads=N",
		check_copies },
	[DB_TK_PATTERN] = { "pattern", NULL, "",
		"seq | random | hotset:F | zipf:S",
		"which pages are written; --workload pattern=P",
		check_pattern },
	[DB_TK_BANDWIDTH] = { "bandwidth", "--bandwidth", "bw",
		"RATE (1gbit, 200mbit, 100MB/s, unlimited)",
		"migration bandwidth limit", check_bandwidth },
	[DB_TK_LINK] = { "link", "--link", "", "loopback | netns",
		"transport: loopback TCP, or a veth pair in a network "
		"namespace shaped with tbf to the bandwidth", check_link },
	[DB_TK_DOWNTIME] = { "downtime_limit", "--downtime-limit", "dt",
		"DURATION (300ms)", "allowed downtime for the switchover",
		check_ms },
	[DB_TK_STOP] = { "stop", "--stop", "stop-",
		"downtime | rounds:N | time:S | threshold:PAGES",
		"when to stop and copy", check_stop },
	[DB_TK_MAX_ROUNDS] = { "max_rounds", "--max-rounds", "r", "N",
		"round cap: a run that reaches it is not converged",
		check_rounds },
	[DB_TK_MAX_TIME] = { "max_time", "--max-time", "t",
		"DURATION (60s, 2m)", "time cap: a run that reaches it is not "
		"converged", check_seconds },
	[DB_TK_ON_TIMEOUT] = { "on_timeout", "--on-timeout", "",
		"force | cancel", "at a cap: force the stop-and-copy, or cancel",
		check_on_timeout },
	[DB_TK_DIRTY_LIMIT] = { "dirty_limit", "--dirty-limit", "", "off | auto | RATE",
		"cap the guest's dirty rate when pre-copy does not converge "
		"(QEMU's dirty-limit); targets measuring convergence use off",
		check_dirty_limit },
	[DB_TK_SEED] = { "seed", "--seed", "seed", "N",
		"workload seed", check_seed },
	[DB_TK_SAMPLE_MS] = { "sample_ms", "--sample-ms", "s", "MS",
		"collectors' sampling interval (0: none)", check_sample_ms },
	[DB_TK_VMM] = { "vmm", "--vmm", "", "qemu | qemu:PATH",
		"a real VMM migrates its guest instead of the engines "
		"(vmm/qemu); several side by side take the tracker column",
		check_vmm },
	[DB_TK_RATE] = { "rate", NULL, "",
		"idle | DIRTYxPERIOD_MS | 'TOTAL DIRTY PERIOD_MS'",
		"dirtyram rate(s); --workload pages=TOTAL,dirty=DIRTY,period=MS",
		check_rate },
};

const struct db_target_key *db_target_key_at(enum db_tkey k)
{
	return (unsigned)k < DB_TK_COUNT ? &keys[k] : NULL;
}

void db_target_keys_help(FILE *f)
{
	size_t i;

	fprintf(f, "Target file keys ([target] defaults, [matrix NAME] "
		"matrices; a comma list is an axis):\n");
	fprintf(f, "  %-15s %s\n", "description", "one line shown by --list");
	fprintf(f, "  %-15s %s\n", "repetitions", "runs of every scenario (1)");
	fprintf(f, "  %-15s %s\n", "timeout",
		"hard limit of one run, killed after it (max_time + 60 s)");
	for (i = 0; i < DB_TK_COUNT; i++) {
		fprintf(f, "  %-15s %s\n  %-15s   %s%s%s\n", keys[i].key,
			keys[i].values, "", keys[i].help,
			keys[i].option ? "; run option " : "",
			keys[i].option ? keys[i].option : "");
	}
}

/* ---- parsing ----------------------------------------------------------- */

#define MAX_SECTIONS 32

enum { XK_DESCRIPTION = DB_TK_COUNT, XK_REPETITIONS, XK_TIMEOUT, XK_NAME,
	XK_COUNT };

struct entry {
	char *value;
	int line;
};

struct section {
	char name[64];		/* "" for [target] */
	int line;
	struct entry e[XK_COUNT];
};

struct parser {
	const char *file;
	const char *text, *pos;
	int line;		/* physical line last handed to inih */
	int long_line;
	struct section sec[MAX_SECTIONS];
	int nsec;
	char err[512];
};

static const char *xkey_name(int k)
{
	static const char *const x[] = { "description", "repetitions",
					 "timeout", "name" };

	return k < DB_TK_COUNT ? keys[k].key : x[k - DB_TK_COUNT];
}

static int parse_fail(struct parser *p, int line, const char *key,
		      const char *fmt, ...) DB_PRINTF(4, 5);

static int parse_fail(struct parser *p, int line, const char *key,
		      const char *fmt, ...)
{
	char msg[384];
	va_list ap;

	if (p->err[0])		/* keep the first error */
		return 0;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (key)
		snprintf(p->err, sizeof(p->err), "%s:%d: key '%s': %s",
			 p->file, line, key, msg);
	else
		snprintf(p->err, sizeof(p->err), "%s:%d: %s", p->file, line,
			 msg);
	return 0;
}

/* inih's reader: one physical line at a time, so we know the line number. */
static char *reader(char *str, int num, void *stream)
{
	struct parser *p = stream;
	size_t n, take;
	const char *nl;

	if (!*p->pos)
		return NULL;
	nl = strchr(p->pos, '\n');
	n = nl ? (size_t)(nl - p->pos) + 1 : strlen(p->pos);
	take = n;
	p->line++;
	if (take > (size_t)num - 2) {
		if (!p->long_line)
			p->long_line = p->line;
		take = (size_t)num - 2;
	}
	memcpy(str, p->pos, take);
	str[take] = '\0';
	p->pos += n;
	return str;
}

static int find_key(const char *name)
{
	int k;

	for (k = 0; k < XK_COUNT; k++)
		if (!strcmp(name, xkey_name(k)))
			return k;
	return -1;
}

static int handler(void *user, const char *section, const char *name,
		   const char *value)
{
	struct parser *p = user;
	struct section *s = NULL;
	struct entry *e;
	char known[512];
	size_t off = 0;
	int i, k;

	if (!*section || !strcmp(section, "target")) {
		s = &p->sec[0];
		if (!s->line)
			s->line = p->line;
	}
	for (i = 1; i < p->nsec && !s; i++)
		if (!strncmp(section, "matrix ", 7) &&
		    !strcmp(section + 7, p->sec[i].name))
			s = &p->sec[i];
	if (!s) {
		if (strncmp(section, "matrix ", 7))
			return parse_fail(p, p->line, NULL,
					  "section [%s] is unknown (use [target] "
					  "or [matrix NAME])", section);
		if (!strncmp(section, "matrix ", 7) &&
		    (strlen(section + 7) == 0 ||
		     strlen(section + 7) >= sizeof(s->name) ||
		     strspn(section + 7, "abcdefghijklmnopqrstuvwxyz"
			    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") !=
		     strlen(section + 7)))
			return parse_fail(p, p->line, NULL,
					  "section [%s]: a matrix name is letters, "
					  "digits, '.', '_' and '-'", section);
		if (p->nsec == MAX_SECTIONS)
			return parse_fail(p, p->line, NULL, "too many sections");
		s = &p->sec[p->nsec++];
		memset(s, 0, sizeof(*s));
		s->line = p->line;
		if (!strncmp(section, "matrix ", 7))
			snprintf(s->name, sizeof(s->name), "%s", section + 7);
	}
	k = find_key(name);
	if (k < 0) {
		for (i = 0; i < XK_COUNT; i++)
			off += (size_t)snprintf(known + off,
						off < sizeof(known) ? sizeof(known) - off : 0,
						"%s%s", i ? ", " : "", xkey_name(i));
		return parse_fail(p, p->line, name, "unknown key (known: %s)",
				  known);
	}
	if (k >= XK_DESCRIPTION && k != XK_REPETITIONS && s->name[0])
		return parse_fail(p, p->line, name,
				  "belongs in [target], not in [matrix %s]",
				  s->name);
	e = &s->e[k];
	if (e->value) {
		/* A list continued on an indented line, or a repeated key. */
		char *v;

		if (k >= DB_TK_COUNT)
			return parse_fail(p, p->line, name,
					  "given twice (first on line %d)", e->line);
		size_t l = strlen(e->value);

		while (l && (e->value[l - 1] == ' ' || e->value[l - 1] == ','))
			e->value[--l] = '\0';
		if (asprintf(&v, "%s,%s", e->value, value) < 0)
			return parse_fail(p, p->line, name, "out of memory");
		free(e->value);
		e->value = v;
		return 1;
	}
	e->value = strdup(value);
	e->line = p->line;
	if (!e->value)
		return parse_fail(p, p->line, name, "out of memory");
	return 1;
}

static void parser_free(struct parser *p)
{
	int i, k;

	for (i = 0; i < p->nsec; i++)
		for (k = 0; k < XK_COUNT; k++)
			free(p->sec[i].e[k].value);
}

/* ---- expansion --------------------------------------------------------- */

#define MAX_ITEMS 64

struct axis {
	char item[MAX_ITEMS][DB_TVAL_MAX];
	char skip[MAX_ITEMS][200];	/* trackers unavailable here */
	int n;
};

struct expander {
	struct parser *p;
	struct db_target *t;
	const struct db_target_opts *o;
	struct db_re *filter;
	size_t cap;
};

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' ||
			 e[-1] == '\n'))
		*--e = '\0';
	return s;
}

static void tracker_skip(const char *spec, char *why, size_t len)
{
	const struct db_tracker_ops *ops = db_tracker_find(spec);
	char reason[200] = "";

	if (!ops) {
		snprintf(why, len, "tracker %.*s is not built into this "
			 "dirtybench", (int)strcspn(spec, ":"), spec);
		return;
	}
	if (ops->probe(reason, sizeof(reason)))
		snprintf(why, len, "tracker %s cannot run here: %s", ops->name,
			 reason[0] ? reason : "probe failed");
	else
		why[0] = '\0';
}

static int axis_add(struct axis *a, const char *v, const char *skip)
{
	if (a->n == MAX_ITEMS)
		return -E2BIG;
	snprintf(a->item[a->n], sizeof(a->item[0]), "%s", v);
	snprintf(a->skip[a->n], sizeof(a->skip[0]), "%s", skip ? skip : "");
	a->n++;
	return 0;
}

/* "best:N A B C": the first N available of A B C, in that order. */
static int expand_best(struct expander *x, int line, const char *item,
		       struct axis *a)
{
	char buf[DB_TVAL_MAX * 4], *tok, *save, why[200];
	unsigned long n;
	char *end;
	unsigned got = 0;

	n = strtoul(item + 5, &end, 10);
	if (end == item + 5 || n == 0 || (*end != ' ' && *end != '\t'))
		return parse_fail(x->p, line, "tracker",
				  "'%s': best:N needs N > 0 and a preference list",
				  item), -EINVAL;
	snprintf(buf, sizeof(buf), "%s", end);
	for (tok = strtok_r(buf, " \t", &save); tok && got < n;
	     tok = strtok_r(NULL, " \t", &save)) {
		tracker_skip(tok, why, sizeof(why));
		if (why[0])
			continue;
		if (axis_add(a, tok, NULL))
			return parse_fail(x->p, line, "tracker", "too many values"),
			       -EINVAL;
		got++;
	}
	if (!got)
		return axis_add(a, "none", "no tracker of the preference list "
				"can run here (see dirtybench trackers)");
	return 0;
}

static int expand_trackers(struct expander *x, int line, const char *item,
			   struct axis *a)
{
	char why[200];
	size_t i;

	if (!strncmp(item, "best:", 5))
		return expand_best(x, line, item, a);
	if (!strcmp(item, "all")) {
		for (i = 0; i < db_tracker_count(); i++) {
			const struct db_tracker_ops *ops = db_tracker_ops_at(i);

			if (ops->flags & DB_TRK_FAULTY)
				continue;
			tracker_skip(ops->name, why, sizeof(why));
			if (axis_add(a, ops->name, why))
				return -E2BIG;
		}
		return 0;
	}
	tracker_skip(item, why, sizeof(why));
	return axis_add(a, item, why);
}

/* Split the effective value of key k for matrix section m into an axis. */
static int load_axis(struct expander *x, const struct section *m, int k,
		     struct axis *a)
{
	const struct entry *e = m->e[k].value ? &m->e[k] : &x->p->sec[0].e[k];
	char *buf, *tok, *save, canon[DB_TVAL_MAX];
	int err = 0;

	a->n = 0;
	if (!e->value) {
		axis_add(a, "", NULL);	/* the run's default */
		return 0;
	}
	buf = strdup(e->value);
	if (!buf)
		return -ENOMEM;
	save = buf;
	while ((tok = strsep(&save, ","))) {
		char *v = trim(tok);

		if (!*v) {
			err = parse_fail(x->p, e->line, keys[k].key,
					 "empty item in the list '%s'", e->value);
			err = -EINVAL;
			break;
		}
		db_clear_error();
		if (keys[k].check(v, canon, sizeof(canon))) {
			parse_fail(x->p, e->line, keys[k].key, "%s",
				   db_strerror());
			err = -EINVAL;
			break;
		}
		if (k == DB_TK_TRACKER)
			err = expand_trackers(x, e->line, canon, a);
		else
			err = axis_add(a, canon, NULL);
		if (err) {
			if (err == -E2BIG)
				parse_fail(x->p, e->line, keys[k].key,
					   "more than %d values", MAX_ITEMS);
			err = -EINVAL;
			break;
		}
	}
	free(buf);
	if (!err && a->n == 0) {
		parse_fail(x->p, e->line, keys[k].key, "no value");
		err = -EINVAL;
	}
	return err;
}

static void sanitize(char *dst, size_t len, const char *src)
{
	size_t i;

	for (i = 0; src[i] && i + 1 < len; i++) {
		char c = src[i];

		dst[i] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			 (c >= '0' && c <= '9') || c == '.' || c == '-' ||
			 c == '_' || c == '+' ? c : '_';
	}
	dst[i] = '\0';
	if (!strcmp(dst, ".") || !strcmp(dst, ".."))
		dst[0] = '_';
}

static void append_seg(char *buf, size_t len, const char *seg)
{
	size_t n = strlen(buf);

	snprintf(buf + n, len - n, "%s%s", n ? "/" : "", seg);
}

static int read_uint(struct expander *x, const struct entry *e, const char *key,
		     uint64_t min, uint64_t max, uint64_t *out)
{
	if (!e->value)
		return 0;
	if (db_parse_u64(trim(e->value), min, max, out))
		return parse_fail(x->p, e->line, key, "%s", db_strerror()),
		       -EINVAL;
	return 0;
}

/* Sizes of guest RAM and rates after --scale; skip reason if it does not fit. */
static void resolve(struct expander *x, struct db_scenario *s)
{
	double f = x->t->scale;
	uint64_t ram = 0, ram_pages;

	if (s->value[DB_TK_RAM][0])
		db_parse_size(s->value[DB_TK_RAM], &ram);
	s->copies = 1;
	if (s->value[DB_TK_COPIES][0])
		s->copies = (unsigned)strtoul(s->value[DB_TK_COPIES], NULL, 10);
	sscanf(s->value[DB_TK_RATE], "%" SCNu64 " %" SCNu64 " %" SCNu64,
	       &s->total_pages, &s->dirty_pages, &s->period_ms);
	if (f > 0 && f < 1) {
		if (ram) {
			/* whole 2 MiB units, so huge backings still fit */
			ram = (uint64_t)((double)ram * f);
			ram = DB_MAX(DB_HUGE_SIZE, ram / DB_HUGE_SIZE * DB_HUGE_SIZE);
			snprintf(s->value[DB_TK_RAM], DB_TVAL_MAX, "%llu",
				 (unsigned long long)ram);
		}
		if (s->total_pages) {
			s->total_pages = DB_MAX(1, (uint64_t)llround(
					       (double)s->total_pages * f));
			s->dirty_pages = DB_MIN(s->dirty_pages, s->total_pages);
		}
		if (s->value[DB_TK_MAX_TIME][0]) {
			uint64_t t = strtoull(s->value[DB_TK_MAX_TIME], NULL, 10);

			t = DB_MAX(5, (uint64_t)llround((double)t * f));
			snprintf(s->value[DB_TK_MAX_TIME], DB_TVAL_MAX, "%llu",
				 (unsigned long long)t);
		}
	}
	s->ram_bytes = ram;
	ram_pages = ram / DB_PAGE_SIZE;
	if (!s->total_pages && ram_pages)
		s->total_pages = ram_pages / s->copies;
	s->rate_pps = s->period_ms ? (double)s->dirty_pages * s->copies *
				     1000.0 / (double)s->period_ms : 0;
	if (!s->skip[0] && ram_pages && s->total_pages * s->copies > ram_pages)
		snprintf(s->skip, sizeof(s->skip),
			 "%u copies x %llu pages (%llu MiB) do not fit in "
			 "%llu MiB of guest RAM", s->copies,
			 (unsigned long long)s->total_pages,
			 (unsigned long long)(s->total_pages * s->copies >> 8),
			 (unsigned long long)(ram >> 20));
	if (s->timeout_s == 0) {
		uint64_t t = s->value[DB_TK_MAX_TIME][0] ?
			     strtoull(s->value[DB_TK_MAX_TIME], NULL, 10) : 300;

		s->timeout_s = (unsigned)(t + 60);
	}
}

const char *db_scenario_sut(const struct db_scenario *s, char *buf, size_t len)
{
	const char *v = s->value[DB_TK_VMM], *end, *beg;

	if (!v[0])
		return s->value[DB_TK_TRACKER];
	if (strncmp(v, "qemu:", 5)) {
		snprintf(buf, len, "%s", v);
		return buf;
	}
	/* qemu:/var/cache/dirtybench/qemu-backports/qemu-system-x86_64 */
	end = strrchr(v, '/');
	if (!end) {
		snprintf(buf, len, "qemu-%s", v + 5);
		return buf;
	}
	for (beg = end; beg > v + 5 && beg[-1] != '/'; beg--)
		;
	if (end - beg == 3 && !strncmp(beg, "bin", 3))
		snprintf(buf, len, "qemu-%s", end + 1);
	else
		snprintf(buf, len, "%s%.*s", strncmp(beg, "qemu", 4) ? "qemu-" : "",
			 (int)(end - beg), beg);
	return buf;
}

/* A VMM that is not installed here: the scenario is skipped, and why. */
static void vmm_skip(struct db_scenario *s)
{
	const char *v = s->value[DB_TK_VMM];
	const char *bin = !strcmp(v, "qemu") ? "qemu-system-x86_64" : v + 5;

	if (!v[0] || s->skip[0] || db_in_path(bin))
		return;
	snprintf(s->skip, sizeof(s->skip), "%.120s is not installed here (make deps, "
		 "as root, installs Debian's QEMU and unpacks bookworm-backports' QEMU)",
		 bin);
}

static int add_scenario(struct expander *x, const struct db_scenario *s)
{
	struct db_target *t = x->t;
	size_t i;

	if (x->filter && !db_re_test(x->filter, s->name))
		return 0;
	for (i = 0; i < t->nsc; i++)
		if (!strcmp(t->sc[i].name, s->name))
			return db_error(-EINVAL, "%s: two scenarios are both "
					"named '%s': give the matrices "
					"different values", x->p->file, s->name);
	if (db_vec_reserve(&t->sc, &x->cap, t->nsc, sizeof(*t->sc)))
		return -ENOMEM;
	t->sc[t->nsc++] = *s;
	return 0;
}

static void rate_label(const struct db_scenario *s, char *buf, size_t len)
{
	unsigned long long t, d, p;

	sscanf(s->value[DB_TK_RATE], "%llu %llu %llu", &t, &d, &p);
	if (!t && !d)
		snprintf(buf, len, "idle");
	else if (!t)
		snprintf(buf, len, "%llux%llu", d, p);
	else
		snprintf(buf, len, "%llu-%llu-%llu", t, d, p);
}

static int expand_matrix(struct expander *x, const struct section *m,
			 unsigned reps, unsigned timeout)
{
	struct axis *ax;
	int idx[DB_TK_COUNT] = { 0 }, k, err = 0;
	struct db_scenario s;
	char seg[DB_TVAL_MAX + 16], label[DB_TVAL_MAX];

	ax = calloc(DB_TK_COUNT, sizeof(*ax));
	if (!ax)
		return -ENOMEM;
	for (k = 0; k < DB_TK_COUNT && !err; k++)
		err = load_axis(x, m, k, &ax[k]);
	if (err)
		goto out;
	if (!ax[DB_TK_RATE].item[0][0]) {
		parse_fail(x->p, m->line, "rate", "%s has no rate",
			   m->name[0] ? "the matrix" : "[target]");
		err = -EINVAL;
		goto out;
	}
	for (;;) {
		memset(&s, 0, sizeof(s));
		for (k = 0; k < DB_TK_COUNT; k++)
			memcpy(s.value[k], ax[k].item[idx[k]], DB_TVAL_MAX);
		snprintf(s.skip, sizeof(s.skip), "%s",
			 ax[DB_TK_TRACKER].skip[idx[DB_TK_TRACKER]]);
		s.repetitions = reps;
		s.timeout_s = timeout;
		resolve(x, &s);
		vmm_skip(&s);
		rate_label(&s, s.rate_label, sizeof(s.rate_label));

		append_seg(s.group, sizeof(s.group), x->t->name);
		if (m->name[0] && x->p->nsec > 2)
			append_seg(s.group, sizeof(s.group), m->name);
		for (k = 0; k < DB_TK_COUNT; k++) {
			if (k == DB_TK_TRACKER || k == DB_TK_RATE ||
			    k == DB_TK_VMM || ax[k].n < 2)
				continue;
			sanitize(label, sizeof(label), s.value[k]);
			snprintf(seg, sizeof(seg), "%s%s", keys[k].label,
				 k == DB_TK_RAM ? ax[k].item[idx[k]] : label);
			sanitize(label, sizeof(label), seg);
			append_seg(s.group, sizeof(s.group), label);
		}
		snprintf(s.name, sizeof(s.name), "%s", s.group);
		sanitize(label, sizeof(label), db_scenario_sut(&s, seg, sizeof(seg)));
		append_seg(s.name, sizeof(s.name), label);
		append_seg(s.name, sizeof(s.name), s.rate_label);
		err = add_scenario(x, &s);
		if (err)
			goto out;
		/* odometer over the axes, the rate turning fastest */
		for (k = DB_TK_COUNT - 1; k >= 0; k--) {
			if (++idx[k] < ax[k].n)
				break;
			idx[k] = 0;
		}
		if (k < 0)
			break;
	}
out:
	free(ax);
	return err;
}

static int expand(struct parser *p, struct db_target *t,
		  const struct db_target_opts *o)
{
	struct expander x = { .p = p, .t = t, .o = o };
	struct section *g = &p->sec[0];
	uint64_t reps = 1, timeout = 0, r;
	int i, err = 0;

	if (g->e[XK_DESCRIPTION].value)
		snprintf(t->description, sizeof(t->description), "%s",
			 trim(g->e[XK_DESCRIPTION].value));
	if (g->e[XK_NAME].value) {
		char *n = trim(g->e[XK_NAME].value);

		sanitize(t->name, sizeof(t->name), n);
		if (strcmp(t->name, n))
			return parse_fail(p, g->e[XK_NAME].line, "name",
					  "'%s': letters, digits, '.', '_', '-' "
					  "and '+' only", n), -EINVAL;
	}
	if (read_uint(&x, &g->e[XK_REPETITIONS], "repetitions", 1, 1000, &reps) ||
	    read_uint(&x, &g->e[XK_TIMEOUT], "timeout", 1, 86400, &timeout))
		return -EINVAL;
	if (o && o->filter) {
		err = db_re_compile(&x.filter, o->filter, 0, "--filter");
		if (err)
			return err;
	}
	for (i = p->nsec > 1 ? 1 : 0; i < p->nsec && !err; i++) {
		r = reps;
		if (read_uint(&x, &p->sec[i].e[XK_REPETITIONS], "repetitions", 1,
			      1000, &r)) {
			err = -EINVAL;
			break;
		}
		if (o && o->repeat)
			r = o->repeat;
		err = expand_matrix(&x, &p->sec[i], (unsigned)r,
				    (unsigned)timeout);
	}
	db_re_free(x.filter);
	return err;
}

int db_target_parse(struct db_target **out, const char *text,
		    const char *file, const char *name,
		    const struct db_target_opts *opts)
{
	struct parser *p;
	struct db_target *t;
	int rc, err = 0;

	*out = NULL;
	p = calloc(1, sizeof(*p));
	t = calloc(1, sizeof(*t));
	if (!p || !t) {
		free(p);
		free(t);
		return db_error(-ENOMEM, "target %s: out of memory", name);
	}
	p->file = file;
	p->text = p->pos = text;
	/* [target] is section 0 even when the file starts with a matrix */
	p->nsec = 1;
	p->sec[0].line = 0;
	sanitize(t->name, sizeof(t->name), name);
	snprintf(t->file, sizeof(t->file), "%s", file);
	t->scale = opts && opts->scale > 0 ? opts->scale : 1;
	if (t->scale > 1) {
		err = db_error(-EINVAL, "--scale %g: must be in (0, 1]", t->scale);
		goto out;
	}

	rc = ini_parse_stream(reader, p, handler, p);
	if (p->long_line && !p->err[0])
		snprintf(p->err, sizeof(p->err), "%s:%d: line longer than %d "
			 "characters (continue a list on an indented line)",
			 file, p->long_line, INI_MAX_LINE - 2);
	if (rc > 0 && !p->err[0])
		snprintf(p->err, sizeof(p->err), "%s:%d: not 'key = value' "
			 "nor a [section]", file, rc);
	if (!p->err[0] && p->nsec == 1 && !p->sec[0].e[DB_TK_RATE].value)
		snprintf(p->err, sizeof(p->err), "%s: no [matrix NAME] section "
			 "and no rate in [target]: nothing to run", file);
	if (!p->err[0])
		err = expand(p, t, opts);
	if (p->err[0])
		err = db_error(-EINVAL, "%s", p->err);
out:
	parser_free(p);
	free(p);
	if (err) {
		db_target_free(t);
		return err;
	}
	*out = t;
	return 0;
}

void db_target_free(struct db_target *t)
{
	if (!t)
		return;
	free(t->sc);
	free(t);
}

/* ---- finding the file -------------------------------------------------- */

static void exe_dir(char *buf, size_t len)
{
	ssize_t n = readlink("/proc/self/exe", buf, len - 1);
	char *slash;

	if (n <= 0) {
		buf[0] = '\0';
		return;
	}
	buf[n] = '\0';
	slash = strrchr(buf, '/');
	if (slash)
		*slash = '\0';
}

int db_target_load(struct db_target **out, const char *name,
		   const struct db_target_opts *opts)
{
	char path[PATH_MAX], exe[PATH_MAX], tried[1024] = "";
	const char *env = getenv("DIRTYBENCH_TARGETS");
	const char *dirs[5];
	size_t nd = 0, i, off = 0;
	char *text = NULL, base[64];
	const char *slash;
	int err;

	*out = NULL;
	if (strchr(name, '/') || (strlen(name) > 4 &&
				  !strcmp(name + strlen(name) - 4, ".ini"))) {
		err = db_slurp(name, 1u << 20, &text, NULL);
		if (err)
			return err == -EFBIG ? err :
			       db_error_errno(err, "target file %s", name);
		slash = strrchr(name, '/');
		snprintf(base, sizeof(base), "%s", slash ? slash + 1 : name);
		if (strlen(base) > 4 && !strcmp(base + strlen(base) - 4, ".ini"))
			base[strlen(base) - 4] = '\0';
		err = db_target_parse(out, text, name, base, opts);
		free(text);
		return err;
	}
	if (!*name || strspn(name, "abcdefghijklmnopqrstuvwxyz"
			     "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-+") !=
	    strlen(name) || name[0] == '.')
		return db_error(-EINVAL, "target name '%s': letters, digits, "
				"'.', '_', '-' (or a path to an .ini file)", name);
	exe_dir(exe, sizeof(exe));
	if (opts && opts->dir)
		dirs[nd++] = opts->dir;
	if (env && *env)
		dirs[nd++] = env;
	dirs[nd++] = "bench/targets";
	if (exe[0]) {
		static char a[PATH_MAX + 32], b[PATH_MAX + 32];

		snprintf(a, sizeof(a), "%s/../bench/targets", exe);
		snprintf(b, sizeof(b), "%s/../share/dirtybench/targets", exe);
		dirs[nd++] = a;
		dirs[nd++] = b;
	}
	for (i = 0; i < nd; i++) {
		snprintf(path, sizeof(path), "%s/%s.ini", dirs[i], name);
		err = db_slurp(path, 1u << 20, &text, NULL);
		if (!err) {
			err = db_target_parse(out, text, path, name, opts);
			free(text);
			return err;
		}
		if (err != -ENOENT)
			return err == -EFBIG ? err :
			       db_error_errno(err, "target file %s", path);
		off += (size_t)snprintf(tried + off,
					off < sizeof(tried) ? sizeof(tried) - off : 0,
					"%s%s", i ? ", " : "", path);
	}
	if (!strcmp(name, "host"))
		return db_target_parse(out, db_target_host_ini, "(built in)",
				       name, opts);
	return db_error(-ENOENT, "target '%s' not found (looked for %s)", name,
			tried);
}

/* ---- the child's command line ------------------------------------------ */

void db_argv_free(char **argv)
{
	char **a;

	if (!argv)
		return;
	for (a = argv; *a; a++)
		free(*a);
	free(argv);
}

char **db_scenario_argv(const struct db_scenario *s, const char *bin,
			const char *out_dir)
{
	char **argv = calloc(2 * DB_TK_COUNT + 16, sizeof(*argv));
	char spec[256];
	size_t n = 0, off;
	int k;

#define ARG(x) do { if (!(argv[n++] = strdup(x))) goto oom; } while (0)
	if (!argv)
		return NULL;
	ARG(bin);
	ARG("run");
	ARG("--out");
	ARG(out_dir);
	ARG("--scenario");
	ARG(s->name);
	ARG("--progress");	/* a line per round, in run.log */
	for (k = 0; k < DB_TK_COUNT; k++) {
		if (!keys[k].option || !s->value[k][0])
			continue;
		ARG(keys[k].option);
		ARG(s->value[k]);
	}
	ARG("--workload");
	off = (size_t)snprintf(spec, sizeof(spec), "dirtyram:");
	if (s->total_pages)
		off += (size_t)snprintf(spec + off, sizeof(spec) - off, "pages=%llu,",
					(unsigned long long)s->total_pages);
	off += (size_t)snprintf(spec + off, sizeof(spec) - off,
				"dirty=%llu,period=%llu",
				(unsigned long long)s->dirty_pages,
				(unsigned long long)s->period_ms);
	if (s->value[DB_TK_PATTERN][0])
		off += (size_t)snprintf(spec + off, sizeof(spec) - off,
					",pattern=%s", s->value[DB_TK_PATTERN]);
	if (s->value[DB_TK_COPIES][0])
		snprintf(spec + off, sizeof(spec) - off, ",threads=%s",
			 s->value[DB_TK_COPIES]);
	ARG(spec);
#undef ARG
	return argv;
oom:
	db_argv_free(argv);
	return NULL;
}
