/* SPDX-License-Identifier: MIT */
/*
 * A whole run: the source and the destination joined (a process each,
 * over loopback or a shaped netns link) with the collectors beside them,
 * or the source alone against a remote destination.
 */
#ifndef DIRTYBENCH_RUN_H
#define DIRTYBENCH_RUN_H

#include "engine/engine.h"
#include "wire/netns.h"

/* Exit status for a failure before the migration started (2 or 3). */
int db_setup_exit_status(int err);

/*
 * `dirtybench run`: prepare the source, build the link (--link netns),
 * start `dirtybench dest` as a separate process (self_exe), connect,
 * migrate, and tear everything down on every path. Returns 0 with res
 * filled, or a setup -errno (see db_setup_exit_status()).
 */
int db_run_local(const struct db_run_config *cfg, const char *self_exe,
		 struct db_result *res);
/* The netns of the run in progress (for signal-time cleanup), or NULL. */
struct db_netns *db_run_active_netns(void);
/*
 * `dirtybench migrate`: prepare the source, connect to cfg->to and
 * migrate; the clocks differ, so their offset is estimated (PING/PONG).
 */
int db_migrate_remote(const struct db_run_config *cfg, struct db_result *res);
/*
 * The model check's run: a sequential dirtyram whose dirty rate is lambda
 * times cfg->bandwidth (a limit is required), the downtime stop policy,
 * and the tracker uffd-async (else hash) when cfg->tracker is empty. Then
 * the usual checks; -EINVAL naming the option.
 */
int db_model_check_config(struct db_run_config *cfg, double lambda);

#endif
