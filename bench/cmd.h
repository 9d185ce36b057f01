/* SPDX-License-Identifier: MIT */
/* The dirtybench subcommands and the helpers they share. */
#ifndef DIRTYBENCH_CMD_H
#define DIRTYBENCH_CMD_H

#define DB_CMD(name, synopsis, summary) int cmd_##name(int argc, char **argv);
#include "commands.def"
#undef DB_CMD

/* "dirtybench" or the name it was called by. */
extern const char *db_progname;

#endif
