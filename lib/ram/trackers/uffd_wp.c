// SPDX-License-Identifier: MIT
/*
 * uffd-wp: synchronous userfaultfd write-protection. Guest RAM is
 * write-protected; the first write to a page blocks its thread until our
 * handler thread reads the fault, releases the page (UFFDIO_WRITEPROTECT
 * without WP, which wakes the writer) and marks it dirty. Collect takes the
 * marks, then write-protects all of RAM again.
 *
 * No lock is shared between the handler and the collector: marks are
 * atomic and the kernel serialises the protection changes, so the handler
 * never waits for a collect and a collect never waits for the handler.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "dirtybench/common.h"
#include "dirtybench/tracker.h"
#include "ram/fault_marks.h"
#include "ram/mmtrack.h"

#define UFFD_WP_BATCH 64	/* fault messages read at once */

struct uffd_wp_priv {
	int uffd, stopfd;
	bool have_fds, thread_running, user_mode_only;
	pthread_t thread;
	struct db_marks marks;		/* set by the handler thread */
	uint8_t *base;
	size_t size;
	atomic_uint_fast64_t wp_faults, handler_reads, release_errors;
	atomic_int first_release_err;
	uint64_t wp_ioctls;
};

static int uffd_wp_probe(char *why, size_t len)
{
	return db_uffd_probe(UFFD_FEATURE_PAGEFAULT_FLAG_WP, false, why, len);
}

static void handle_fault(struct uffd_wp_priv *p, const struct uffd_msg *m)
{
	uintptr_t addr = (uintptr_t)m->arg.pagefault.address;
	void *unit = (void *)db_marks_unit(&p->marks, addr);
	unsigned gen = db_marks_gen(&p->marks);
	int err;

	if (m->event != UFFD_EVENT_PAGEFAULT ||
	    !(m->arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WP) ||
	    addr < (uintptr_t)p->base || addr >= (uintptr_t)p->base + p->size)
		return;
	atomic_fetch_add(&p->wp_faults, 1);
	/* Mark, release, re-check (fault_marks.h), and only then wake. */
	db_marks_set(&p->marks, addr);
	err = db_uffd_wp(p->uffd, unit, p->marks.unit, false, true);
	if (!err)
		db_marks_recheck(&p->marks, gen, addr);
	/* The woken writer's own next collect then comes after the marks. */
	if (!err)
		err = db_uffd_wake(p->uffd, unit, p->marks.unit);
	if (err) {
		int zero = 0;

		atomic_fetch_add(&p->release_errors, 1);
		atomic_compare_exchange_strong(&p->first_release_err, &zero, err);
	}
}

static void *handler_main(void *arg)
{
	struct uffd_wp_priv *p = arg;
	struct uffd_msg msgs[UFFD_WP_BATCH];
	struct pollfd pfd[2] = {
		{ .fd = p->uffd, .events = POLLIN },
		{ .fd = p->stopfd, .events = POLLIN },
	};
	sigset_t all;
	ssize_t n, i;

	/* Signals are for the workload and the engine, not for us. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	for (;;) {
		if (poll(pfd, 2, -1) < 0 && errno != EINTR)
			break;
		if (pfd[1].revents)
			break;
		n = read(p->uffd, msgs, sizeof(msgs));
		if (n < 0)
			continue;	/* EAGAIN: another wake-up took it */
		atomic_fetch_add(&p->handler_reads, 1);
		for (i = 0; i < n / (ssize_t)sizeof(msgs[0]); i++)
			handle_fault(p, &msgs[i]);
	}
	return NULL;
}

static int uffd_wp_attach(struct db_tracker *t, struct db_ram *ram)
{
	struct uffd_wp_priv *p = t->priv;
	int err;

	p->base = ram->base;
	p->size = ram->size;
	err = db_marks_init(&p->marks, "tracker uffd-wp", ram);
	if (err)
		return err;
	p->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (p->stopfd < 0)
		return db_error_errno(-errno, "tracker uffd-wp: eventfd");
	p->uffd = db_uffd_setup_wp("tracker uffd-wp", ram,
				   UFFD_FEATURE_PAGEFAULT_FLAG_WP,
				   &p->user_mode_only);
	if (p->uffd < 0) {
		close(p->stopfd);
		return p->uffd;
	}
	p->have_fds = true;
	return 0;
}

static int protect_all(struct uffd_wp_priv *p, bool protect)
{
	p->wp_ioctls++;
	return db_uffd_wp_all("tracker uffd-wp", p->uffd, p->base, p->size, protect);
}

static int uffd_wp_start(struct db_tracker *t)
{
	struct uffd_wp_priv *p = t->priv;
	int err;

	db_marks_clear(&p->marks);
	err = pthread_create(&p->thread, NULL, handler_main, p);
	if (err)
		return db_error_errno(-err, "tracker uffd-wp: cannot start the fault handler thread");
	p->thread_running = true;
	return db_uffd_arm("tracker uffd-wp", p->uffd, p->base, p->size,
			   &p->wp_ioctls);
}

static int uffd_wp_collect(struct db_tracker *t, struct db_bitmap *dirty)
{
	struct uffd_wp_priv *p = t->priv;
	int err = atomic_load(&p->first_release_err);

	if (err)
		return db_error_errno(err, "tracker uffd-wp: the fault handler could not release a page");
	/* Take the marks, then write-protect again (fault_marks.h says why). */
	db_marks_take(&p->marks, dirty);
	return protect_all(p, true);
}

static void stop_thread(struct uffd_wp_priv *p)
{
	uint64_t one = 1;

	if (!p->thread_running)
		return;
	if (write(p->stopfd, &one, sizeof(one)) != sizeof(one))
		abort();	/* eventfd cannot refuse this: a bug */
	pthread_join(p->thread, NULL);
	p->thread_running = false;
}

static int uffd_wp_stop(struct db_tracker *t)
{
	struct uffd_wp_priv *p = t->priv;
	int err;

	/* Release (and wake) everything first: no writer waits for us then. */
	err = protect_all(p, false);
	stop_thread(p);
	return err;
}

static void uffd_wp_detach(struct db_tracker *t)
{
	struct uffd_wp_priv *p = t->priv;

	if (p->have_fds) {
		if (p->thread_running)
			protect_all(p, false);
		stop_thread(p);
		db_uffd_unregister(p->uffd, p->base, p->size);
		close(p->uffd);
		close(p->stopfd);
		p->have_fds = false;
	}
	db_marks_free(&p->marks);
}

static size_t uffd_wp_counters(struct db_tracker *t, struct db_counter *out,
			       size_t max)
{
	struct uffd_wp_priv *p = t->priv;
	const struct db_counter c[] = {
		{ "wp_faults", atomic_load(&p->wp_faults) },
		{ "handler_reads", atomic_load(&p->handler_reads) },
		{ "wp_ioctls", p->wp_ioctls + 2 * atomic_load(&p->wp_faults) },
		{ "release_errors", atomic_load(&p->release_errors) },
		{ "user_mode_only", p->user_mode_only },
	};

	return db_counters_copy(out, max, c, DB_ARRAY_SIZE(c));
}

const struct db_tracker_ops db_tracker_uffd_wp = {
	.name = "uffd-wp",
	.desc = "userfaultfd write-protect, faults resolved by a handler thread",
	.flags = DB_TRK_EXACT,
	.granularity = DB_PAGE_SIZE,
	.priv_size = sizeof(struct uffd_wp_priv),
	.probe = uffd_wp_probe,
	.attach = uffd_wp_attach,
	.start = uffd_wp_start,
	.collect = uffd_wp_collect,
	.stop = uffd_wp_stop,
	.detach = uffd_wp_detach,
	.counters = uffd_wp_counters,
};
