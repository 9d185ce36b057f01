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
	unsigned calls_total;		/* atomic */
	unsigned misaligned;		/* slices not on a boundary, atomic */
	uint64_t fail_at;		/* offset whose slice fails, or ~0 */
	bool wait_for_two;		/* slice 0 waits for a second thread */
	pthread_t thread[2];
	unsigned nthreads;		/* distinct threads that ran */
	pthread_mutex_t lock;
	volatile sig_atomic_t *stop;
};

static unsigned threads_seen(struct seen *s)
{
	unsigned n;

	pthread_mutex_lock(&s->lock);
	n = s->nthreads;
	pthread_mutex_unlock(&s->lock);
	return n;
}

/* Runs on either thread: records only, the test asserts afterwards. */
static int note(void *arg, uint64_t off, uint64_t len)
{
	struct seen *s = arg;
	pthread_t self = pthread_self();
	unsigned i, waited;

	__atomic_fetch_add(&s->calls_total, 1, __ATOMIC_RELAXED);
	if (off % SLICE || off / SLICE >= NSLICES) {
		__atomic_fetch_add(&s->misaligned, 1, __ATOMIC_RELAXED);
		return 0;
	}
	__atomic_fetch_add(&s->calls[off / SLICE], 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&s->bytes, len, __ATOMIC_RELAXED);
	pthread_mutex_lock(&s->lock);
	for (i = 0; i < s->nthreads && !pthread_equal(s->thread[i], self); i++)
		;
	if (i == s->nthreads && i < 2)
		s->thread[s->nthreads++] = self;
	pthread_mutex_unlock(&s->lock);
	/* slice 0 holds its thread until the other one took a slice (5 s) */
	for (waited = 0; s->wait_for_two && off == 0 && threads_seen(s) < 2 &&
			 waited < 50000; waited++)
		usleep(100);
	if (s->stop && off >= 8 * SLICE)
		*s->stop = 1;
	if (off == s->fail_at)
		return db_error(-EIO, "slice at %llu failed", (unsigned long long)off);
	usleep(50);
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
	bool two_cpus = sysconf(_SC_NPROCESSORS_ONLN) > 1;
	struct seen s;
	unsigned threads = 0, i;

	seen_init(&s);
	s.wait_for_two = two_cpus;
	cr_assert_eq(db_slices_run(SIZE, SLICE, true, note, &s, NULL, &threads), 0);
	cr_assert_eq(s.misaligned, 0, "every slice starts on a slice boundary");
	for (i = 0; i < NSLICES; i++)
		cr_assert_eq(s.calls[i], 1, "slice %u ran %u times", i, s.calls[i]);
	cr_assert_eq(s.bytes, SIZE, "the slices cover the range exactly");
	if (two_cpus) {
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
	int err;

	seen_init(&s);
	s.fail_at = 5 * SLICE;
	err = db_slices_run(SIZE, SLICE, true, note, &s, NULL, NULL);
	cr_assert_eq(err, -EIO);
	cr_assert_str_eq(db_strerror(), "slice at 20480 failed",
			 "the failing slice's message, on whichever thread it ran");
	cr_assert_eq(s.calls[5], 1);
	/* the other thread may be in a slice or two when it fails */
	cr_assert_lt(s.calls_total, NSLICES / 2,
		     "slices stopped soon after the error (%u ran)", s.calls_total);
}

Test(slices, an_interrupt_cancels_between_slices)
{
	static volatile sig_atomic_t stop;
	struct seen s;

	seen_init(&s);
	stop = 0;
	s.stop = &stop;
	cr_assert_eq(db_slices_run(SIZE, SLICE, true, note, &s, &stop, NULL), -ECANCELED);
	cr_assert_lt(s.calls_total, NSLICES / 2,
		     "slices stopped soon after the interrupt (%u ran)", s.calls_total);

	stop = 1;
	seen_init(&s);
	cr_assert_eq(db_slices_run(SIZE, SLICE, true, note, &s, &stop, NULL), -ECANCELED);
	cr_assert_eq(s.calls_total, 0, "an interrupt before the start runs no slice");
}

Test(slices, an_empty_range_runs_nothing)
{
	struct seen s;
	unsigned threads = 0;

	seen_init(&s);
	cr_assert_eq(db_slices_run(0, SLICE, true, note, &s, NULL, &threads), 0);
	cr_assert_eq(s.calls_total, 0, "no slice, not even an empty one");
	cr_assert_eq(threads, 1, "no second thread for nothing");
}
