// SPDX-License-Identifier: MIT
/* dirtybench migrate: the source half of a two-host migration. */
#include "cmd.h"
#include "runner/options.h"

int cmd_migrate(int argc, char **argv)
{
	return db_cmd_source("migrate", DB_OPT_MIGRATE, argc, argv);
}
