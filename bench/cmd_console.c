// SPDX-License-Identifier: MIT
/* dirtybench console: the verdict on a kernel test bed's guest console. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "dirtybench/common.h"
#include "../collectors/console.h"
#include "cmd.h"

#define MAX_REQUIRED 16

static const struct {
	const char *name, *arg, *help;
} options[] = {
	{ "--require", "SUITES",
	  "suites that must report, space or comma separated\n"
	  "(default: none; e.g. \"system module trackers migration\")" },
	{ "--quiet", NULL, "print only failures and the verdict" },
	{ "--help", NULL, "this text" },
};

static void usage(FILE *f)
{
	size_t i;

	fprintf(f,
		"Usage: dirtybench console [--require SUITES] [--quiet] FILE\n"
		"\n"
		"Judge the serial console transcript of a kernel test bed run\n"
		"(make check-kernel writes build/kernel/console.log): list every\n"
		"guest result, the boot and result times on the guest's clock, and\n"
		"fail when a result failed, a required suite did not report, the\n"
		"kernel printed a BUG, WARNING, Oops or panic, or the guest never\n"
		"reached its last line.\n\nOptions:\n");
	for (i = 0; i < DB_ARRAY_SIZE(options); i++) {
		const char *h = options[i].help, *nl;
		char left[40];

		snprintf(left, sizeof(left), "%s%s%s", options[i].name,
			 options[i].arg ? " " : "",
			 options[i].arg ? options[i].arg : "");
		while ((nl = strchr(h, '\n'))) {
			fprintf(f, "  %-20s %.*s\n", left, (int)(nl - h), h);
			left[0] = '\0';
			h = nl + 1;
		}
		fprintf(f, "  %-20s %s\n", left, h);
	}
	fprintf(f,
		"\nExample:\n"
		"  dirtybench console --require \"system module\" build/kernel/console.log\n"
		"\nExit status: 0 everything passed; 1 a failure, a missing report or\n"
		"a kernel complaint; 2 bad usage; 3 the file cannot be read.\n");
}

/* Split "a b,c" into words, in place. */
static size_t split(char *s, const char **out, size_t max)
{
	size_t n = 0;
	char *tok, *save = NULL;

	for (tok = strtok_r(s, " ,", &save); tok && n < max;
	     tok = strtok_r(NULL, " ,", &save))
		out[n++] = tok;
	return n;
}

static void report(const struct db_console *c, int quiet)
{
	size_t i;

	if (c->booted)
		printf("guest %s: init after %.2f s", c->kernel[0] ? c->kernel : "kernel",
		       c->boot_s);
	else
		printf("guest: never booted to init");
	if (c->done)
		printf(", all results after %.2f s (boot to result, guest clock)\n",
		       c->done_s);
	else
		printf(", never finished\n");
	for (i = 0; i < c->nresults; i++) {
		const struct db_console_result *r = &c->results[i];

		if (quiet && r->verdict != DB_CON_FAIL)
			continue;
		printf("  %-4s %-10s %s%s%s\n", db_console_verdict_str(r->verdict),
		       r->suite, r->name, r->detail[0] ? ": " : "", r->detail);
	}
	for (i = 0; i < c->nsuites; i++)
		printf("suite %-10s %zu passed, %zu failed, %zu skipped%s\n",
		       c->suites[i].name, c->suites[i].pass, c->suites[i].fail,
		       c->suites[i].skip, c->suites[i].ended ? "" : " (unfinished)");
	for (i = 0; i < c->ncomplaints && i < DB_CONSOLE_MAX_COMPLAINTS; i++)
		printf("kernel: %s\n", c->complaints[i]);
}

int cmd_console(int argc, char **argv)
{
	const char *required[MAX_REQUIRED], *file = NULL;
	char reqbuf[512] = "";
	size_t nreq;
	int quiet = 0, i, err;
	struct db_console c;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "--quiet")) {
			quiet = 1;
		} else if (!strcmp(argv[i], "--require") && i + 1 < argc) {
			snprintf(reqbuf, sizeof(reqbuf), "%s", argv[++i]);
		} else if (argv[i][0] == '-' || file) {
			fprintf(stderr, "dirtybench console: unexpected '%s' (see --help)\n",
				argv[i]);
			return DB_EXIT_USAGE;
		} else {
			file = argv[i];
		}
	}
	if (!file) {
		usage(stderr);
		return DB_EXIT_USAGE;
	}
	nreq = split(reqbuf, required, MAX_REQUIRED);
	err = db_console_parse_file(&c, file);
	if (err) {
		fprintf(stderr, "dirtybench console: %s\n", db_strerror());
		return err == -ENOENT || err == -EACCES ? DB_EXIT_RESOURCE
							: DB_EXIT_VALIDATION;
	}
	report(&c, quiet);
	err = db_console_check(&c, required, nreq);
	if (err)
		printf("verdict: FAIL: %s\n", db_strerror());
	else
		printf("verdict: PASS (%zu results)\n", c.nresults);
	db_console_free(&c);
	return err ? DB_EXIT_VALIDATION : DB_EXIT_OK;
}
