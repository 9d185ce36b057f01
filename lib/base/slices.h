/* SPDX-License-Identifier: MIT */
/*
 * One long job over a range, cut into slices that two threads take in
 * turn where there are two CPUs: faulting a destination's RAM in, or
 * write-protecting a large guest's RAM at arm time. Slices keep an
 * interrupt or an error from waiting for the whole range.
 */
#ifndef DIRTYBENCH_SLICES_H
#define DIRTYBENCH_SLICES_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

/* One slice [off, off + len): 0, or a negative errno with db_error's text. */
typedef int (*db_slice_fn)(void *ctx, uint64_t off, uint64_t len);

/*
 * Run fn over [0, size) in slices of 'slice' bytes (the last one
 * shorter), each exactly once. With 'two' and a second CPU online, a
 * second thread takes slices too, so fn must be safe to call on two
 * threads at once. The first error stops both threads at their next
 * slice and is returned on the calling thread, its text with it; 'stop',
 * when not NULL, is read before each slice and, once set, ends the job
 * with -ECANCELED. *threads, when not NULL, gets the threads that ran.
 */
int db_slices_run(uint64_t size, uint64_t slice, bool two, db_slice_fn fn,
		  void *ctx, const volatile sig_atomic_t *stop,
		  unsigned *threads);

#endif
