// SPDX-License-Identifier: MIT
/* dirtybench run: one migration on this host, validated. */
#include "cmd.h"
#include "runner/options.h"

int cmd_run(int argc, char **argv)
{
	return db_cmd_source("run", DB_OPT_RUN, argc, argv);
}
