// SPDX-License-Identifier: MIT
/* The option table behind every command's parser and --help. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "dirtybench/common.h"
#include "cmd.h"
#include "cmdopt.h"

void cmd_help(FILE *f, const struct cmd_doc *doc)
{
	char head[96];
	size_t i;

	fprintf(f, "Usage: %s\n\n%s\nOptions:\n", doc->synopsis, doc->desc);
	for (i = 0; i < doc->nopts; i++) {
		const struct cmd_opt *o = &doc->opts[i];

		if (o->key < 256)
			snprintf(head, sizeof(head), "-%c, --%s%s%s", o->key,
				 o->name, o->arg ? " " : "", o->arg ? o->arg : "");
		else
			snprintf(head, sizeof(head), "    --%s%s%s", o->name,
				 o->arg ? " " : "", o->arg ? o->arg : "");
		fprintf(f, "  %-26s %s", head, o->help);
		if (o->def)
			fprintf(f, " (default: %s)", o->def);
		fputc('\n', f);
	}
	fprintf(f, "  %-26s %s\n", "-h, --help", "this text");
	if (doc->tail)
		fprintf(f, "\n%s", doc->tail);
}

int cmd_parse(int argc, char **argv, const struct cmd_doc *doc,
	      int (*fn)(int key, const char *arg, void *ctx), void *ctx)
{
	struct option *lo;
	char shorts[128] = "+h";
	size_t i, n = 2;
	int c, rc = 0;

	lo = calloc(doc->nopts + 2, sizeof(*lo));
	if (!lo)
		return -DB_EXIT_USAGE;
	for (i = 0; i < doc->nopts; i++) {
		const struct cmd_opt *o = &doc->opts[i];

		lo[i].name = o->name;
		lo[i].has_arg = o->arg ? required_argument : no_argument;
		lo[i].val = o->key;
		if (o->key < 256 && n + 3 < sizeof(shorts)) {
			shorts[n++] = (char)o->key;
			if (o->arg)
				shorts[n++] = ':';
		}
	}
	lo[i].name = "help";
	lo[i].val = 'h';
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, shorts, lo, NULL)) != -1) {
		if (c == 'h') {
			cmd_help(stdout, doc);
			rc = CMD_HELP_SHOWN;
			break;
		}
		if (c == '?' || c == ':') {
			const char *bad = argv[optind - 1];

			if (optopt && optopt < 256 && !strchr(bad, '='))
				fprintf(stderr, "%s: option '%s' %s\n", db_progname,
					bad, c == ':' || strchr(shorts, optopt) ?
					"needs an argument" : "is unknown");
			else
				fprintf(stderr, "%s: option '%s' is unknown or "
					"needs an argument\n", db_progname, bad);
			fprintf(stderr, "Usage: %s (see --help)\n", doc->synopsis);
			rc = -DB_EXIT_USAGE;
			break;
		}
		rc = fn(c, optarg, ctx);
		if (rc) {
			rc = -rc;
			break;
		}
	}
	free(lo);
	return rc ? rc : optind;
}
