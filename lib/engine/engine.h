/* SPDX-License-Identifier: MIT */
/*
 * The pre-copy migration engine. The source drives a tracker (through
 * tracker.h only), the dirtyram workload on its guest RAM and the rounds;
 * the destination applies pages, verifies the RAM and resumes the
 * workload. Both speak proto.h over a transport.h connection.
 */
#ifndef DIRTYBENCH_ENGINE_H
#define DIRTYBENCH_ENGINE_H

#include <stdbool.h>
#include <sys/types.h>

#include "engine/settings.h"
#include "engine/results.h"

struct db_source;

/*
 * Create the tracker, the guest RAM (filled per --fill) and the workload
 * (not started). Fails before anything talks to the network: -EINVAL for
 * bad settings, another -errno for something this machine lacks (a
 * tracker's probe, hugetlb pages), with the reason in db_strerror().
 */
int db_source_prepare(struct db_source **out, const struct db_run_config *cfg);
/*
 * Migrate over the connected socket fd (taken over and closed). The
 * outcome and every figure go into res; returns 0 once res says what
 * happened (completed, validation failed, aborted, cancelled), or -errno
 * only when res could not be filled at all. same_clock: both ends read
 * the same CLOCK_MONOTONIC (one host), so no offset is estimated.
 */
int db_source_migrate(struct db_source *s, int fd, bool same_clock,
		      struct db_result *res);
void db_source_destroy(struct db_source *s);

/*
 * Serve one migration on the accepted socket fd (taken over and closed).
 * res is filled from the destination's view. Returns 0 when a verdict was
 * reached (res says equal or not), -EPROTO for a malformed or hostile
 * peer, -ENOMEM/-ENOTSUP when the RAM cannot be had, or another -errno
 * when the source vanished or cancelled; the message is in db_strerror().
 */
int db_dest_serve(const struct db_run_config *cfg, int fd, struct db_result *res);

#endif
