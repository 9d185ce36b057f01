// SPDX-License-Identifier: MIT
/*
 * mprotect: guest RAM is read-only while armed; the first write to a page
 * raises SIGSEGV, the handler makes that page writable again and marks it
 * dirty. Collect takes the marks, then write-protects all of RAM again.
 *
 * Every page made writable on its own splits the mapping: scattered writes
 * use up vm.max_map_count (65530 by default) after about half as many
 * pages. When mprotect() then fails with ENOMEM the handler coalesces:
 * the whole RAM becomes writable and the round reports every page (never
 * loses one), counted in map_count_coalesces.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "dirtybench/common.h"
#include "dirtybench/tracker.h"
#include "ram/fault_marks.h"
#include "ram/segv.h"

struct mprotect_priv {
	struct db_marks marks;		/* set by the handler */
	uint8_t *base;
	size_t size;
	int slot;
	bool have_slot;
	atomic_int armed;
	atomic_uint_fast64_t faults;
	atomic_uint_fast64_t coalesces;
	uint64_t mprotect_calls;
};

static int mprotect_probe(char *why, size_t len)
{
	return 0;
}

/* Signal context: async-signal-safe calls and atomics only. */
static bool mprotect_fault(void *ctx, uintptr_t addr)
{
	struct mprotect_priv *p = ctx;
	struct db_marks *m = &p->marks;
	unsigned gen = db_marks_gen(m);

	atomic_fetch_add(&p->faults, 1);
	/* Mark, make writable, re-check: the order of fault_marks.h. */
	db_marks_set(m, addr);
	if (mprotect((void *)db_marks_unit(m, addr), m->unit,
		     PROT_READ | PROT_WRITE) == 0) {
		db_marks_recheck(m, gen, addr);
		return true;
	}
	if (errno != ENOMEM)
		return false;
	/*
	 * vm.max_map_count reached: one writable mapping merges them all.
	 * Until a collect re-protects RAM any page may be written, so the
	 * round reports every page (marked in the same order).
	 */
	db_marks_set_all(m);
	if (mprotect(p->base, p->size, PROT_READ | PROT_WRITE))
		return false;
	db_marks_recheck_all(m, gen);
	atomic_fetch_add(&p->coalesces, 1);
	return true;
}

static int mprotect_attach(struct db_tracker *t, struct db_ram *ram)
{
	struct mprotect_priv *p = t->priv;
	int err;

	p->base = ram->base;
	p->size = ram->size;
	err = db_marks_init(&p->marks, "tracker mprotect", ram);
	if (err)
		return err;
	p->slot = db_segv_register("tracker mprotect", ram->base, ram->size,
				   mprotect_fault, p);
	if (p->slot < 0)
		return p->slot;
	p->have_slot = true;
	return 0;
}

static int protect_all(struct mprotect_priv *p, int prot)
{
	char sz[32];

	p->mprotect_calls++;
	if (mprotect(p->base, p->size, prot))
		return db_error_errno(-errno, "tracker mprotect: cannot make %s at %p %s",
				      db_fmt_bytes(p->size, sz, sizeof(sz)), p->base,
				      prot & PROT_WRITE ? "writable" : "read-only");
	return 0;
}

static int mprotect_start(struct db_tracker *t)
{
	struct mprotect_priv *p = t->priv;

	db_marks_clear(&p->marks);
	atomic_store(&p->armed, 1);
	return protect_all(p, PROT_READ);
}

static int mprotect_collect(struct db_tracker *t, struct db_bitmap *dirty)
{
	struct mprotect_priv *p = t->priv;

	/* Take the marks, then re-protect (fault_marks.h says why). */
	db_marks_take(&p->marks, dirty);
	return protect_all(p, PROT_READ);
}

static int mprotect_stop(struct db_tracker *t)
{
	struct mprotect_priv *p = t->priv;

	atomic_store(&p->armed, 0);
	return protect_all(p, PROT_READ | PROT_WRITE);
}

static void mprotect_detach(struct db_tracker *t)
{
	struct mprotect_priv *p = t->priv;

	if (atomic_load(&p->armed))
		mprotect_stop(t);
	if (p->have_slot)
		db_segv_unregister(p->slot);
	p->have_slot = false;
	db_marks_free(&p->marks);
}

static size_t mprotect_counters(struct db_tracker *t, struct db_counter *out,
				size_t max)
{
	struct mprotect_priv *p = t->priv;
	const struct db_counter c[] = {
		{ "faults", atomic_load(&p->faults) },
		{ "mprotect_calls", p->mprotect_calls + atomic_load(&p->faults) },
		{ "map_count_coalesces", atomic_load(&p->coalesces) },
	};

	return db_counters_copy(out, max, c, DB_ARRAY_SIZE(c));
}

const struct db_tracker_ops db_tracker_mprotect = {
	.name = "mprotect",
	.desc = "mprotect read-only + SIGSEGV handler per first write",
	.flags = DB_TRK_EXACT,
	.granularity = DB_PAGE_SIZE,
	.priv_size = sizeof(struct mprotect_priv),
	.probe = mprotect_probe,
	.attach = mprotect_attach,
	.start = mprotect_start,
	.collect = mprotect_collect,
	.stop = mprotect_stop,
	.detach = mprotect_detach,
	.counters = mprotect_counters,
};
