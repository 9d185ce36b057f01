// SPDX-License-Identifier: MIT
/*
 * Slices of a range on two threads (the destination's fault-in, a large
 * guest's arm): every byte once, the first error stops the job with its
 * text, an interrupt cancels it.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "dirtybench/common.h"
#include "base/slices.h"

#define SLICE 4096ull
#define NSLICES 257		/* the last one shorter */
#define SIZE (SLICE * (NSLICES - 1) + 100)

struct seen {
	unsigned calls[NSLICES];	/* per slice, atomic */
	uint64_t bytes;			/* atomic */
	uint64_t fail_at;		/* offset whose slice fails, or ~0 */
	pthread_t thread[2];
	unsigned nthreads;		/* distinct threads that ran, atomic */
	pthread_mutex_t lock;
	volatile sig_atomic_t *stop;
};

static int note(void *arg, uint64_t off, uint64_t len)
{
	struct seen *s = arg;
	pthread_t self = pthread_self();
	unsigned i;

	cr_assert_eq(off % SLICE, 0, "a slice starts on a slice boundary");
	__atomic_fetch_add(&s->calls[off / SLICE], 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&s->bytes, len, __ATOMIC_RELAXED);
	pthread_mutex_lock(&s->lock);
	for (i = 0; i < s->nthreads && !pthread_equal(s->thread[i], self); i++)
		;
	if (i == s->nthreads && i < 2)
		s->thread[s->nthreads++] = self;
	pthread_mutex_unlock(&s->lock);
	if (s->stop && off >= 8 * SLICE)
		*s->stop = 1;
	if (off == s->fail_at)
		return db_error(-EIO, "slice at %llu failed", (unsigned long long)off);
	usleep(50);	/* long enough for the second thread to take slices */
	return 0;
}

static void seen_init(struct seen *s)
{
	memset(s, 0, sizeof(*s));
	s->fail_at = ~0ull;
	pthread_mutex_init(&s->lock, NULL);
}

Test(slices, every_byte_once_on_two_threads)
{
	struct seen s;
	unsigned threads = 0, i;

	seen_init(&s);
	cr_assert_eq(db_slices_run(SIZE, SLICE, true, note, &s, NULL, &threads), 0);
	for (i = 0; i < NSLICES; i++)
		cr_assert_eq(s.calls[i], 1, "slice %u ran %u times", i, s.calls[i]);
	cr_assert_eq(s.bytes, SIZE, "the slices cover the range exactly");
	if (sysconf(_SC_NPROCESSORS_ONLN) > 1) {
		cr_assert_eq(threads, 2);
		cr_assert_eq(s.nthreads, 2, "both threads took slices");
	} else {
		cr_assert_eq(threads, 1, "one CPU: one thread");
	}
}

Test(slices, one_thread_when_not_asked)
{
	struct seen s;
	unsigned threads = 0;

	seen_init(&s);
	cr_assert_eq(db_slices_run(SIZE, SLICE, false, note, &s, NULL, &threads), 0);
	cr_assert_eq(threads, 1);
	cr_assert_eq(s.nthreads, 1);
	cr_assert_eq(s.bytes, SIZE);
}

Test(slices, the_first_error_stops_the_job_with_its_text)
{
	struct seen s;
	unsigned i, ran = 0;
	int err;

	seen_init(&s);
	s.fail_at = 5 * SLICE;
	err = db_slices_run(SIZE, SLICE, true, note, &s, NULL, NULL);
	cr_assert_eq(err, -EIO);
	cr_assert_str_eq(db_strerror(), "slice at 20480 failed",
			 "the failing slice's message, on whichever thread it ran");
	for (i = 0; i < NSLICES; i++)
		ran += s.calls[i];
	cr_assert_eq(s.calls[5], 1);
	/* the other thread may be in a slice or two when it fails */
	cr_assert_lt(ran, NSLICES / 2, "slices stopped soon after the error (%u ran)", ran);
}

Test(slices, an_interrupt_cancels_between_slices)
{
	static volatile sig_atomic_t stop;
	struct seen s;
	unsigned i, ran = 0;

	seen_init(&s);
	stop = 0;
	s.stop = &stop;
	cr_assert_eq(db_slices_run(SIZE, SLICE, true, note, &s, &stop, NULL), -ECANCELED);
	for (i = 0; i < NSLICES; i++)
		ran += s.calls[i];
	cr_assert_lt(ran, NSLICES / 2, "slices stopped soon after the interrupt (%u ran)", ran);

	stop = 1;
	seen_init(&s);
	cr_assert_eq(db_slices_run(SIZE, SLICE, true, note, &s, &stop, NULL), -ECANCELED);
	cr_assert_eq(s.bytes, 0, "an interrupt before the start runs no slice");
}

Test(slices, an_empty_range_runs_nothing)
{
	struct seen s;

	seen_init(&s);
	cr_assert_eq(db_slices_run(0, SLICE, true, note, &s, NULL, NULL), 0);
	cr_assert_eq(s.bytes, 0);
}
