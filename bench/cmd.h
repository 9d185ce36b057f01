/* SPDX-License-Identifier: MIT */
/* The dirtybench subcommands and the helpers they share. */
#ifndef DIRTYBENCH_CMD_H
#define DIRTYBENCH_CMD_H

#include <stddef.h>

#define DB_CMD(name, synopsis, summary) int cmd_##name(int argc, char **argv);
#include "commands.def"
#undef DB_CMD

/* "dirtybench" or the name it was called by. */
extern const char *db_progname;

/* SIGINT/SIGTERM set db_interrupted (every wait checks it); no SIGPIPE. */
void db_cmd_signals(void);
/* Path of the running executable, to start `dirtybench dest` with. */
int db_cmd_self_exe(char *buf, size_t len);
/* `run` and `migrate`: parse, check, migrate, write results, exit status. */
int db_cmd_source(const char *name, unsigned cmd, int argc, char **argv);

#endif
