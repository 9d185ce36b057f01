// SPDX-License-Identifier: MIT
/* dirtybench trackers: every registered tracker, available or why not. */
#include <stdio.h>
#include <string.h>

#include "dirtybench/common.h"
#include "dirtybench/tracker.h"
#include "cmd.h"

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	}
	putchar('"');
}

int cmd_trackers(int argc, char **argv)
{
	int json = 0, i;
	size_t k;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			json = 1;
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			printf("Usage: dirtybench trackers [--json]\n\n"
			       "List every dirty-page tracker built in: whether it can run on\n"
			       "this machine (or why not), the bytes one dirty bit stands for,\n"
			       "and its properties:\n"
			       "  exact         reports only pages really written\n"
			       "  snapshot      serves the round-start image (copy-on-write)\n"
			       "  provides-ram  maps the guest RAM itself\n"
			       "  mmu-model     the workload writes through a modelled MMU\n"
			       "  root          needs root\n"
			       "  faulty        drops dirty bits on purpose (validator check)\n"
			       "\n  --json   one JSON array instead of the table\n");
			return 0;
		} else {
			fprintf(stderr, "dirtybench trackers: unknown option '%s'\n", argv[i]);
			return DB_EXIT_USAGE;
		}
	}
	if (json)
		printf("[");
	else
		printf("%-14s %-11s %-5s %-33s %s\n", "TRACKER", "STATUS", "GRAN",
		       "FLAGS", "DESCRIPTION / WHY NOT");
	for (k = 0; k < db_tracker_count(); k++) {
		const struct db_tracker_ops *ops = db_tracker_ops_at(k);
		char why[512] = "", flags[128];
		int err = ops->probe(why, sizeof(why));

		db_tracker_flags_str(ops->flags, flags, sizeof(flags));
		if (json) {
			printf("%s{\"name\":", k ? "," : "");
			json_str(ops->name);
			printf(",\"available\":%s,\"granularity_bytes\":%zu,\"flags\":",
			       err ? "false" : "true", ops->granularity);
			json_str(flags);
			printf(",\"description\":");
			json_str(ops->desc);
			printf(",\"reason\":");
			json_str(err ? why : "");
			printf("}");
		} else {
			printf("%-14s %-11s %-5s %-33s %s\n", ops->name,
			       err ? "unavailable" : "available",
			       ops->granularity == DB_PAGE_SIZE ? "4K" : "?",
			       flags, err ? why : ops->desc);
		}
	}
	if (json)
		printf("]\n");
	return 0;
}
