// SPDX-License-Identifier: MIT
/* The shared SIGSEGV dispatcher (see segv.h). */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>

#include "dirtybench/common.h"
#include "ram/segv.h"

#define SEGV_SLOTS 32

enum { SLOT_FREE, SLOT_LIVE, SLOT_DYING };

struct segv_slot {
	atomic_int state;
	atomic_int users;	/* threads inside this slot's callback */
	uintptr_t start, end;
	db_segv_fn fn;
	void *ctx;
};

static struct segv_slot slots[SEGV_SLOTS];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct sigaction previous;
static bool installed;

/* Hand the fault to whoever handled SIGSEGV before us. */
static void chain(int sig, siginfo_t *si, void *uc)
{
	if (previous.sa_flags & SA_SIGINFO) {
		previous.sa_sigaction(sig, si, uc);
		return;
	}
	if (previous.sa_handler != SIG_DFL && previous.sa_handler != SIG_IGN) {
		previous.sa_handler(sig);
		return;
	}
	/*
	 * Default action: uninstall ourselves; a real fault re-executes and
	 * kills the process with SIGSEGV (core dump), a sent one is re-raised.
	 */
	signal(SIGSEGV, SIG_DFL);
	if (si->si_code <= 0)
		raise(SIGSEGV);
}

static void segv_handler(int sig, siginfo_t *si, void *uc)
{
	uintptr_t a = (uintptr_t)si->si_addr;
	int saved = errno, i;

	if (si->si_code > 0) {
		for (i = 0; i < SEGV_SLOTS; i++) {
			struct segv_slot *s = &slots[i];
			bool done = false, mine;

			if (atomic_load(&s->state) != SLOT_LIVE)
				continue;
			atomic_fetch_add(&s->users, 1);
			/* Re-check after announcing ourselves (see unregister). */
			mine = atomic_load(&s->state) == SLOT_LIVE &&
			       a >= s->start && a < s->end;
			if (mine)
				done = s->fn(s->ctx, a);
			atomic_fetch_sub(&s->users, 1);
			if (done) {
				errno = saved;
				return;
			}
			if (mine)
				break;
		}
	}
	chain(sig, si, uc);
	errno = saved;
}

static int install(const char *who)
{
	struct sigaction sa, now;

	if (installed)
		return 0;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = segv_handler;
	sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSEGV, &sa, &previous))
		return db_error_errno(-errno, "%s: cannot install a SIGSEGV handler", who);
	/* A sanitizer may refuse user SIGSEGV handlers without saying so. */
	if (sigaction(SIGSEGV, NULL, &now) || !(now.sa_flags & SA_SIGINFO) ||
	    now.sa_sigaction != segv_handler)
		return db_error(-ENOTSUP,
				"%s: SIGSEGV handler not installed: another component owns SIGSEGV (ASan: ASAN_OPTIONS=allow_user_segv_handler=1)",
				who);
	installed = true;
	return 0;
}

int db_segv_register(const char *who, void *base, size_t len, db_segv_fn fn,
		     void *ctx)
{
	int i, err;

	pthread_mutex_lock(&lock);
	err = install(who);
	if (err)
		goto out;
	err = db_error(-ENOSPC, "%s: more than %d write-protected RAM ranges at once",
		       who, SEGV_SLOTS);
	for (i = 0; i < SEGV_SLOTS; i++) {
		struct segv_slot *s = &slots[i];

		if (atomic_load(&s->state) != SLOT_FREE)
			continue;
		s->start = (uintptr_t)base;
		s->end = (uintptr_t)base + len;
		s->fn = fn;
		s->ctx = ctx;
		atomic_store(&s->state, SLOT_LIVE);
		err = i;
		break;
	}
out:
	pthread_mutex_unlock(&lock);
	return err;
}

void db_segv_unregister(int slot)
{
	struct segv_slot *s;

	if (slot < 0 || slot >= SEGV_SLOTS)
		return;
	s = &slots[slot];
	pthread_mutex_lock(&lock);
	atomic_store(&s->state, SLOT_DYING);
	while (atomic_load(&s->users))
		sched_yield();
	atomic_store(&s->state, SLOT_FREE);
	pthread_mutex_unlock(&lock);
}
