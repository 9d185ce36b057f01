// SPDX-License-Identifier: MIT
/* Guest console transcripts of the kernel test bed, parsed with PCRE2. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dirtybench/common.h"
#include "console.h"
#include "base/re.h"

enum {
	RE_BOOT,
	RE_DONE,
	RE_SECTION,
	RE_END,
	RE_RESULT,
	RE_TAP,
	RE_TAP_SKIP,
	RE_COMPLAINT,
	RE_COUNT
};

/* Unanchored where kernel output may precede our text on the same line. */
static const char *const patterns[RE_COUNT] = {
	[RE_BOOT] = "DBK BOOT ([0-9]+(?:\\.[0-9]+)?)(?: (\\S+))?",
	[RE_DONE] = "DBK DONE ([0-9]+(?:\\.[0-9]+)?)",
	[RE_SECTION] = "DBK (BEGIN|TAP) (\\S+)\\s*$",
	[RE_END] = "DBK END (\\S+) (-?[0-9]+)",
	[RE_RESULT] = "DBK RESULT (\\S+) (\\S+) (PASS|FAIL|SKIP)(?: (.*))?$",
	/* Criterion: "ok - suite::test  (0.01s)", "not ok - s::t timed out" */
	[RE_TAP] = "^(not ok|ok)(?: [0-9]+)? - (\\S+)\\s*(.*)$",
	[RE_TAP_SKIP] = "#\\s*SKIP\\b\\s*(.*)$",
	[RE_COMPLAINT] = "(?:BUG: |WARNING: |Oops|Kernel panic|general protection fault"
		"|kernel BUG at|UBSAN: |soft lockup|hard LOCKUP|blocked for more than"
		"|Bad page (?:state|map)|list_(?:add|del) corruption)",
};

/* What Criterion prints for a test that --filter left out. */
#define TAP_FILTERED "test was skipped"

/* Ten captures cover every pattern above. */
#define NCAP 10

struct parser {
	struct db_re *re[RE_COUNT];
	struct db_re_cap cap[NCAP];	/* of the last match */
	const char *line;
	int section;		/* index into c->suites, -1 outside */
	bool tap;
	long last_fail;		/* TAP failure whose details may follow */
};

static void parser_free(struct parser *p)
{
	int i;

	for (i = 0; i < RE_COUNT; i++)
		db_re_free(p->re[i]);
}

static int parser_init(struct parser *p)
{
	int i, err;

	memset(p, 0, sizeof(*p));
	p->section = -1;
	p->last_fail = -1;
	for (i = 0; i < RE_COUNT; i++) {
		err = db_re_compile(&p->re[i], patterns[i], 0, "console");
		if (err) {
			parser_free(p);
			return err;
		}
	}
	return 0;
}

static bool match(struct parser *p, int which, const char *s, size_t len)
{
	p->line = s;
	return db_re_match(p->re[which], s, len, 0, p->cap, NCAP) == 1;
}

/* Capture i of the last match into out ("" if it did not take part). */
static void cap(const struct parser *p, int i, char *out, size_t outlen)
{
	if (outlen)
		db_re_cap_str(p->line, p->cap, i, out, outlen);
}

static double cap_double(const struct parser *p, int i)
{
	char buf[32];

	cap(p, i, buf, sizeof(buf));
	return strtod(buf, NULL);
}

static int find_suite(struct db_console *c, const char *name, bool create)
{
	struct db_console_suite *s;
	size_t i;

	for (i = 0; i < c->nsuites; i++)
		if (!strcmp(c->suites[i].name, name))
			return (int)i;
	if (!create)
		return -1;
	s = realloc(c->suites, (c->nsuites + 1) * sizeof(*s));
	if (!s)
		return -ENOMEM;
	c->suites = s;
	s += c->nsuites;
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", name);
	return (int)c->nsuites++;
}

static int add_result(struct db_console *c, const char *suite,
		      const char *name, enum db_console_verdict v,
		      const char *detail)
{
	struct db_console_result *r;
	int si = find_suite(c, suite, true);

	if (si < 0)
		return si;
	if (!c->nresults ||
	    (c->nresults >= 16 && !(c->nresults & (c->nresults - 1)))) {
		size_t cap_n = c->nresults ? 2 * c->nresults : 16;

		r = realloc(c->results, cap_n * sizeof(*r));
		if (!r)
			return -ENOMEM;
		c->results = r;
	}
	r = &c->results[c->nresults++];
	memset(r, 0, sizeof(*r));
	snprintf(r->suite, sizeof(r->suite), "%s", suite);
	snprintf(r->name, sizeof(r->name), "%s", name);
	snprintf(r->detail, sizeof(r->detail), "%s", detail);
	r->verdict = v;
	if (v == DB_CON_PASS)
		c->suites[si].pass++;
	else if (v == DB_CON_FAIL)
		c->suites[si].fail++;
	else
		c->suites[si].skip++;
	return 0;
}

/* Copy a line without its trailing blanks and \r, truncated to fit. */
static void copy_line(char *dst, size_t dlen, const char *s, size_t len)
{
	while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	if (len >= dlen)
		len = dlen - 1;
	memcpy(dst, s, len);
	dst[len] = '\0';
}

/* An indented line after a failed TAP test: keep what says why. */
static void tap_detail(struct db_console *c, struct parser *p, const char *s,
		       size_t len)
{
	struct db_console_result *r = &c->results[p->last_fail];
	char text[240];
	size_t n;

	while (len && (*s == ' ' || *s == '\t')) {
		s++;
		len--;
	}
	if (len >= 2 && s[0] == '-' && s[1] == ' ') {
		s += 2;
		len -= 2;
	}
	copy_line(text, sizeof(text), s, len);
	n = strlen(text);
	if (n >= 3 && !strcmp(text + n - 3, " |+"))
		text[n - 3] = '\0';
	if (!text[0] || !strcmp(text, "---") || !strcmp(text, "...") ||
	    !strncmp(text, "assertions:", 11) || !strcmp(text, "failures:"))
		return;
	n = strlen(r->detail);
	snprintf(r->detail + n, sizeof(r->detail) - n, "%s%s", n ? " " : "",
		 text);
}

static int parse_tap(struct db_console *c, struct parser *p, const char *s,
		     size_t len)
{
	char verdict[8], name[160], rest[400], reason[400];
	const char *suite = c->suites[p->section].name;
	int err;

	if (!match(p, RE_TAP, s, len)) {
		if (p->last_fail >= 0 && len && (s[0] == ' ' || s[0] == '\t'))
			tap_detail(c, p, s, len);
		return 0;
	}
	p->last_fail = -1;
	cap(p, 1, verdict, sizeof(verdict));
	cap(p, 2, name, sizeof(name));
	cap(p, 3, rest, sizeof(rest));
	if (match(p, RE_TAP_SKIP, rest, strlen(rest))) {
		cap(p, 1, reason, sizeof(reason));
		if (!strcmp(reason, TAP_FILTERED))
			return 0;
		return add_result(c, suite, name, DB_CON_SKIP, reason);
	}
	if (!strcmp(verdict, "ok"))
		return add_result(c, suite, name, DB_CON_PASS, rest);
	err = add_result(c, suite, name, DB_CON_FAIL, rest);
	if (!err)
		p->last_fail = (long)c->nresults - 1;
	return err;
}

static int parse_line(struct db_console *c, struct parser *p, const char *s,
		      size_t len)
{
	char a[160], b[160], v[8], detail[400];
	double d;
	int si;

	if (len && s[len - 1] == '\r')
		len--;
	if (!len)
		return 0;
	c->lines++;
	copy_line(c->last_line, sizeof(c->last_line), s, len);

	if (match(p, RE_RESULT, s, len)) {
		cap(p, 1, a, sizeof(a));
		cap(p, 2, b, sizeof(b));
		cap(p, 3, v, sizeof(v));
		cap(p, 4, detail, sizeof(detail));
		return add_result(c, a, b, !strcmp(v, "PASS") ? DB_CON_PASS :
				  !strcmp(v, "FAIL") ? DB_CON_FAIL : DB_CON_SKIP,
				  detail);
	}
	if (match(p, RE_SECTION, s, len)) {
		cap(p, 1, a, sizeof(a));
		cap(p, 2, b, sizeof(b));
		si = find_suite(c, b, true);
		if (si < 0)
			return si;
		p->section = si;
		p->tap = !strcmp(a, "TAP");
		p->last_fail = -1;
		c->suites[si].tap |= p->tap;
		c->suites[si].ended = false;
		return 0;
	}
	if (match(p, RE_END, s, len)) {
		cap(p, 1, a, sizeof(a));
		si = find_suite(c, a, true);
		if (si < 0)
			return si;
		c->suites[si].ended = true;
		/* any digits may follow DBK END: an out-of-range status is a failure */
		d = cap_double(p, 2);
		c->suites[si].exit_status = d >= 0 && d <= 255 ? (int)d : 255;
		p->section = -1;
		p->tap = false;
		return 0;
	}
	if (match(p, RE_BOOT, s, len)) {
		c->booted = true;
		c->boot_s = cap_double(p, 1);
		cap(p, 2, c->kernel, sizeof(c->kernel));
		return 0;
	}
	if (match(p, RE_DONE, s, len)) {
		c->done = true;
		c->done_s = cap_double(p, 1);
		return 0;
	}
	if (p->section >= 0 && p->tap)
		return parse_tap(c, p, s, len);
	/* Our own lines may quote the kernel log: only the kernel's count. */
	if (!memmem(s, len, "DBK ", 4) && match(p, RE_COMPLAINT, s, len)) {
		if (c->ncomplaints < DB_CONSOLE_MAX_COMPLAINTS)
			copy_line(c->complaints[c->ncomplaints],
				  sizeof(c->complaints[0]), s, len);
		c->ncomplaints++;
	}
	return 0;
}

int db_console_parse(struct db_console *c, const char *text, size_t len)
{
	struct parser p;
	const char *s = text, *end = text + len, *nl;
	int err;

	memset(c, 0, sizeof(*c));
	err = parser_init(&p);
	if (err)
		return err;
	while (s < end) {
		nl = memchr(s, '\n', (size_t)(end - s));
		if (!nl)
			nl = end;
		err = parse_line(c, &p, s, (size_t)(nl - s));
		if (err)
			break;
		s = nl + 1;
	}
	parser_free(&p);
	if (err) {
		db_console_free(c);
		return db_error(err, "console: %s", strerror(-err));
	}
	return 0;
}

int db_console_parse_file(struct db_console *c, const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0, cap_n = 0, n;
	int err;

	memset(c, 0, sizeof(*c));
	if (!f)
		return db_error_errno(-errno, "console: cannot open %s", path);
	do {
		if (len == cap_n) {
			char *nb = realloc(buf, cap_n ? 2 * cap_n : 65536);

			if (!nb) {
				free(buf);
				fclose(f);
				return db_error(-ENOMEM, "console: %s: out of memory",
						path);
			}
			buf = nb;
			cap_n = cap_n ? 2 * cap_n : 65536;
		}
		n = fread(buf + len, 1, cap_n - len, f);
		len += n;
	} while (n);
	err = ferror(f) ? -EIO : 0;
	fclose(f);
	if (err) {
		free(buf);
		return db_error(err, "console: cannot read %s", path);
	}
	err = db_console_parse(c, buf, len);
	free(buf);
	return err;
}

void db_console_free(struct db_console *c)
{
	free(c->results);
	free(c->suites);
	c->results = NULL;
	c->suites = NULL;
	c->nresults = 0;
	c->nsuites = 0;
}

const struct db_console_suite *db_console_suite(const struct db_console *c,
						const char *name)
{
	size_t i;

	for (i = 0; i < c->nsuites; i++)
		if (!strcmp(c->suites[i].name, name))
			return &c->suites[i];
	return NULL;
}

const struct db_console_result *db_console_result(const struct db_console *c,
						  const char *suite,
						  const char *name)
{
	size_t i;

	for (i = 0; i < c->nresults; i++)
		if (!strcmp(c->results[i].suite, suite) &&
		    !strcmp(c->results[i].name, name))
			return &c->results[i];
	return NULL;
}

const char *db_console_verdict_str(enum db_console_verdict v)
{
	return v == DB_CON_PASS ? "PASS" : v == DB_CON_FAIL ? "FAIL" : "SKIP";
}

struct problems {
	char buf[1024];
	size_t len, n;
};

static void problem(struct problems *pr, const char *fmt, ...) DB_PRINTF(2, 3);
static void problem(struct problems *pr, const char *fmt, ...)
{
	va_list ap;
	int n;

	pr->n++;
	if (pr->len >= sizeof(pr->buf) - 1)
		return;
	if (pr->len)
		pr->len += (size_t)snprintf(pr->buf + pr->len,
					    sizeof(pr->buf) - pr->len, "; ");
	if (pr->len >= sizeof(pr->buf) - 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(pr->buf + pr->len, sizeof(pr->buf) - pr->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		pr->len = DB_MIN(pr->len + (size_t)n, sizeof(pr->buf) - 1);
}

int db_console_check(const struct db_console *c, const char *const *required,
		     size_t nrequired)
{
	struct problems pr = { .len = 0 };
	const struct db_console_suite *s;
	size_t i;

	if (!c->booted)
		problem(&pr, "the guest never reported (no DBK BOOT line: the kernel or its init failed), last console line '%s'",
			c->last_line);
	else if (!c->done)
		problem(&pr, "the guest stopped before DBK DONE (crash, panic or time limit), last console line '%s'",
			c->last_line);
	if (c->ncomplaints)
		problem(&pr, "the kernel complained %zu times, first: '%s'",
			c->ncomplaints, c->complaints[0]);
	for (i = 0; i < c->nresults; i++)
		if (c->results[i].verdict == DB_CON_FAIL)
			problem(&pr, "%s/%s failed: %s", c->results[i].suite,
				c->results[i].name, c->results[i].detail);
	for (i = 0; i < nrequired; i++) {
		s = db_console_suite(c, required[i]);
		if (!s)
			problem(&pr, "suite %s never reported", required[i]);
		else if (!s->ended)
			problem(&pr, "suite %s did not finish", required[i]);
		else if (!s->pass)
			problem(&pr, "suite %s passed no test", required[i]);
		else if (s->exit_status && !s->fail)
			problem(&pr, "suite %s exited with status %d",
				required[i], s->exit_status);
	}
	if (!pr.n)
		return 0;
	return db_error(-EIO, "%zu problem%s: %s", pr.n, pr.n > 1 ? "s" : "",
			pr.buf);
}
