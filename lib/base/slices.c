// SPDX-License-Identifier: MIT
/*
 * Slices of a range on one or two threads: see slices.h.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

#include "dirtybench/common.h"
#include "base/slices.h"

struct slices_job {
	uint64_t size, slice;
	db_slice_fn fn;
	void *ctx;
	const volatile sig_atomic_t *stop;
	uint64_t next;		/* the next slice's offset, atomic */
	int err;		/* the second thread's error */
	char why[512];		/* and its text */
};

/* Take slices until none is left, an error, or a stop; 0 or the error. */
static int take_slices(struct slices_job *j)
{
	uint64_t off;
	int err;

	for (;;) {
		if (j->stop && *j->stop) {
			__atomic_store_n(&j->next, j->size, __ATOMIC_RELAXED);
			return -ECANCELED;
		}
		off = __atomic_fetch_add(&j->next, j->slice, __ATOMIC_RELAXED);
		if (off >= j->size)
			return 0;
		err = j->fn(j->ctx, off, DB_MIN(j->slice, j->size - off));
		if (err) {
			/* the other thread stops at its next slice */
			__atomic_store_n(&j->next, j->size, __ATOMIC_RELAXED);
			return err;
		}
	}
}

static void *second_thread(void *arg)
{
	struct slices_job *j = arg;

	j->err = take_slices(j);
	if (j->err)
		snprintf(j->why, sizeof(j->why), "%s", db_strerror());
	return NULL;
}

int db_slices_run(uint64_t size, uint64_t slice, bool two, db_slice_fn fn,
		  void *ctx, const volatile sig_atomic_t *stop,
		  unsigned *threads)
{
	struct slices_job j = { .size = size, .slice = slice ? slice : size,
				.fn = fn, .ctx = ctx, .stop = stop };
	pthread_t thr;
	int err;

	two = two && size > j.slice && sysconf(_SC_NPROCESSORS_ONLN) > 1;
	if (two && pthread_create(&thr, NULL, second_thread, &j))
		two = false;
	if (threads)
		*threads = two ? 2 : 1;
	err = take_slices(&j);
	if (!two)
		return err;
	pthread_join(thr, NULL);
	/* an error of this thread's first, then the other's with its text */
	if (err && err != -ECANCELED)
		return err;
	if (j.err && j.err != -ECANCELED)
		return db_error(j.err, "%s", j.why);
	return err ? err : j.err;
}
