/* SPDX-License-Identifier: MIT */
/*
 * One SIGSEGV handler for every tracker that write-protects guest RAM with
 * mprotect(2). A tracker registers its RAM range and a callback; faults at
 * other addresses (and faults the callback declines) go to the handler
 * that was installed before ours, so other users of SIGSEGV (sanitizers,
 * test runners, the default core dump) keep working.
 *
 * The callback runs in signal context on the faulting thread: it may only
 * use async-signal-safe calls and atomics. Unregistering waits until no
 * thread is inside the callback, so its context can be freed afterwards.
 */
#ifndef DIRTYBENCH_SEGV_H
#define DIRTYBENCH_SEGV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Return true if the fault is handled (the access will be retried). */
typedef bool (*db_segv_fn)(void *ctx, uintptr_t addr);

/* Route faults in [base, base+len) to fn. Returns a slot id >= 0. */
int db_segv_register(const char *who, void *base, size_t len, db_segv_fn fn,
		     void *ctx);
/* Stop routing; returns once no callback of this slot still runs. */
void db_segv_unregister(int slot);

#endif
