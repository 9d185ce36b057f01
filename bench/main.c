// SPDX-License-Identifier: MIT
/* dirtybench: one command, several subcommands (bench/commands.def). */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "dirtybench/common.h"
#include "cmd.h"

const char *db_progname = "dirtybench";

static const struct {
	const char *name, *synopsis, *summary;
	int (*fn)(int argc, char **argv);
} commands[] = {
#define DB_CMD(name, synopsis, summary) { #name, synopsis, summary, cmd_##name },
#include "commands.def"
#undef DB_CMD
};

static void usage(FILE *f)
{
	size_t i;

	fprintf(f,
		"Usage: dirtybench COMMAND [OPTIONS]\n"
		"\n"
		"Benchmark and validate dirty-page tracking and pre-copy live migration.\n"
		"Every migration ends with a comparison of source and destination RAM.\n"
		"\n"
		"Commands:\n");
	for (i = 0; i < DB_ARRAY_SIZE(commands); i++)
		fprintf(f, "  %-44s %s\n", commands[i].synopsis, commands[i].summary);
	fprintf(f,
		"\n"
		"'dirtybench COMMAND --help' describes a command's options.\n"
		"\n"
		"Exit status:\n"
		"  0  done, and the RAM arrived intact\n"
		"  1  validation failed (RAM differs) or a regression\n"
		"  2  bad usage or bad input\n"
		"  3  a resource is missing here (tracker, package), with the reason\n"
		"  4  migration aborted (peer died, link lost, cancelled); the guest\n"
		"     keeps running on the source\n");
}

/* "stage2-bench" names cmd_stage2_bench: a dash stands for an underscore. */
static int command_is(const char *arg, const char *name)
{
	for (; *arg && *name; arg++, name++)
		if (*arg != *name && !(*arg == '-' && *name == '_'))
			return 0;
	return *arg == *name;
}

int main(int argc, char **argv)
{
	size_t i;

	if (argc < 2) {
		usage(stderr);
		return DB_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("dirtybench %s\n", DB_VERSION);
		return 0;
	}
	for (i = 0; i < DB_ARRAY_SIZE(commands); i++)
		if (command_is(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "dirtybench: unknown command '%s' (see dirtybench --help)\n",
		argv[1]);
	return DB_EXIT_USAGE;
}
