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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "dirtybench/common.h"
#include "cmd.h"
#include "perf.h"

static const struct perf_section {
	const char *name;
	const char *help;
	int (*run)(struct perf_run *r);
} sections[] = {
	{ "trackers",
	  "per tracker and RAM size: arm time, cost of a first write, collect time at 0.1/1/10/100% dirty; against memcpy, a bare syscall and the bare kernel mechanism",
	  perf_trackers },
};

/* One table for the command line and --help. */
enum { OPT_SIZES, OPT_TRACKERS, OPT_SECTIONS, OPT_QUICK, OPT_JSON, OPT_HELP };

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
	[OPT_QUICK] = { "quick", NULL, "off",
			"16 MiB of RAM and single measurements: a smoke test of the command, not figures to quote" },
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
		"Measure the dirty-page trackers on this machine. Every figure stands next\n"
		"to a reference measured in the same run, and the ratio between them is\n"
		"what compares across machines. Times are wall-clock medians; RAM is\n"
		"private anonymous memory with 4 KiB pages, faulted in before arming.\n"
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
		"\nReferences:\n"
		"  memcpy of ...      copying the same number of bytes in memory\n"
		"  bare syscall       one getppid(2), the cheapest trip into the kernel\n"
		"  bare MECHANISM     the kernel operation the tracker is built on, alone,\n"
		"                     on RAM of the same size with the same pages written\n"
		"\nExamples:\n"
		"  dirtybench perf\n"
		"  dirtybench perf --sizes 64M --trackers uffd-async,fork-cow --json perf.json\n"
		"  dirtybench perf --quick\n"
		"\nExit status: 0 done, 2 bad usage, 3 a listed tracker or a RAM size is\n"
		"not available here (with the reason).\n");
}

int perf_add(struct perf_run *r, const char *subject, uint64_t ram_bytes,
	     const char *figure, double value, const char *reference,
	     double ref_value, const char *note)
{
	struct perf_row *row;
	char ram[32], v[32], rv[32], ratio[32];

	if (r->nrows == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 64;
		struct perf_row *n = realloc(r->rows, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		r->rows = n;
		r->cap = cap;
	}
	row = &r->rows[r->nrows++];
	memset(row, 0, sizeof(*row));
	snprintf(row->section, sizeof(row->section), "%s", r->section);
	snprintf(row->subject, sizeof(row->subject), "%s", subject);
	row->ram_bytes = ram_bytes;
	snprintf(row->figure, sizeof(row->figure), "%s", figure ? figure : "");
	row->value = value;
	snprintf(row->reference, sizeof(row->reference), "%s",
		 reference ? reference : "");
	row->ref_value = ref_value;
	snprintf(row->note, sizeof(row->note), "%s", note ? note : "");

	if (ram_bytes)
		db_fmt_bytes(ram_bytes, ram, sizeof(ram));
	else
		snprintf(ram, sizeof(ram), "-");
	if (value < 0) {
		printf("%-12s %-8s %s\n", subject, ram, note ? note : "");
		return 0;
	}
	db_fmt_ns((uint64_t)value, v, sizeof(v));
	if (ref_value > 0) {
		db_fmt_ns((uint64_t)ref_value, rv, sizeof(rv));
		snprintf(ratio, sizeof(ratio), "%.2f", value / ref_value);
	} else {
		snprintf(rv, sizeof(rv), "-");
		snprintf(ratio, sizeof(ratio), "-");
	}
	printf("%-12s %-8s %-17s %10s  %-30s %10s %9s\n", subject, ram, figure,
	       v, reference ? reference : "-", rv, ratio);
	fflush(stdout);
	return 0;
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

static int write_json(const struct perf_run *r, const char *path)
{
	json_t *root, *secs, *sec = NULL, *rows = NULL, *row;
	struct utsname u;
	const char *cur = "";
	size_t i;
	int err = 0;

	uname(&u);
	root = json_pack("{s:i, s:s, s:{s:s, s:s}}", "schema", 1, "kind",
			 "dirtybench-perf", "host", "kernel", u.release,
			 "machine", u.machine);
	secs = json_array();
	if (!root || !secs)
		return -ENOMEM;
	json_object_set_new(root, "sections", secs);
	for (i = 0; i < r->nrows; i++) {
		const struct perf_row *w = &r->rows[i];

		if (!sec || strcmp(cur, w->section)) {
			cur = w->section;
			rows = json_array();
			sec = json_pack("{s:s, s:o}", "name", w->section, "rows", rows);
			json_array_append_new(secs, sec);
		}
		if (w->value < 0)
			row = json_pack("{s:s, s:I, s:s}", "subject", w->subject,
					"ram_bytes", (json_int_t)w->ram_bytes,
					"skipped", w->note);
		else
			row = json_pack("{s:s, s:I, s:s, s:f, s:s, s:o, s:o}",
					"subject", w->subject, "ram_bytes",
					(json_int_t)w->ram_bytes, "figure", w->figure,
					"value", w->value, "reference", w->reference,
					"reference_value",
					w->ref_value > 0 ? json_real(w->ref_value) : json_null(),
					"ratio",
					w->ref_value > 0 ? json_real(w->value / w->ref_value) : json_null());
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
	struct perf_run r = { 0 };
	const char *json = NULL, *only = NULL;
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
	if (r.quick) {
		r.sizes[0] = 16u << 20;
		r.nsizes = 1;
	}
	for (i = 0; i < DB_ARRAY_SIZE(sections); i++) {
		if (!in_list(only, sections[i].name))
			continue;
		r.section = sections[i].name;
		printf("== %s: %s\n", sections[i].name, sections[i].help);
		printf("%-12s %-8s %-17s %10s  %-30s %10s %9s\n", "SUBJECT", "RAM",
		       "FIGURE", "VALUE", "REFERENCE", "REF", "RATIO");
		c = sections[i].run(&r);
		if (c && !rc)
			rc = c;
	}
	if (json) {
		err = write_json(&r, json);
		if (err) {
			fprintf(stderr, "dirtybench perf: %s\n", db_strerror());
			rc = rc ? rc : DB_EXIT_RESOURCE;
		}
	}
	free(r.rows);
	return rc;
}
