/* SPDX-License-Identifier: MIT */
/*
 * Dirty marks set by write-fault handlers (mprotect's SIGSEGV handler,
 * uffd-wp's handler thread) and taken by collect, with the one ordering
 * that loses no write. A handler, for the page (or huge page) at addr:
 *
 *	gen = db_marks_gen(m);
 *	db_marks_set(m, addr);		mark before the page becomes writable
 *	...make the page writable...
 *	db_marks_recheck(m, gen, addr);	a collect re-armed meanwhile: mark again
 *	...let the writer go...
 *
 * and collect calls db_marks_take() before write-protecting RAM again.
 * Every write that gets through is then already marked when a later collect
 * takes the marks, and a page made writable after a collect re-armed RAM is
 * marked for the new round. Only atomics: safe in signal handlers.
 */
#ifndef DIRTYBENCH_FAULT_MARKS_H
#define DIRTYBENCH_FAULT_MARKS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "dirtybench/bitmap.h"
#include "dirtybench/ram.h"

struct db_marks {
	struct db_bitmap bits;
	uintptr_t base;
	size_t unit;		/* bytes a fault releases: 4 KiB or a hugetlb page */
	atomic_uint rearms;	/* collects that took the marks */
	atomic_int all;		/* every page may have been written */
};

/* Marks for ram's pages; 0 or -ENOMEM with a message naming who. */
int db_marks_init(struct db_marks *m, const char *who, const struct db_ram *ram);
void db_marks_free(struct db_marks *m);
void db_marks_clear(struct db_marks *m);

static inline unsigned db_marks_gen(struct db_marks *m)
{
	return atomic_load(&m->rearms);
}

/* The start of the unit holding addr. */
static inline uintptr_t db_marks_unit(const struct db_marks *m, uintptr_t addr)
{
	return addr & ~(uintptr_t)(m->unit - 1);
}

void db_marks_set(struct db_marks *m, uintptr_t addr);
void db_marks_recheck(struct db_marks *m, unsigned gen, uintptr_t addr);
/* The same for all of RAM at once (it all became writable). */
void db_marks_set_all(struct db_marks *m);
void db_marks_recheck_all(struct db_marks *m, unsigned gen);
/* OR the marks into dirty and clear them; then re-arm. */
void db_marks_take(struct db_marks *m, struct db_bitmap *dirty);

#endif
