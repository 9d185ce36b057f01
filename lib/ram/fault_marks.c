// SPDX-License-Identifier: MIT
/* Dirty marks shared by write-fault handlers and collect (fault_marks.h). */
#include <errno.h>

#include "dirtybench/common.h"
#include "ram/fault_marks.h"

int db_marks_init(struct db_marks *m, const char *who, const struct db_ram *ram)
{
	m->base = (uintptr_t)ram->base;
	m->unit = ram->backing == DB_BACKING_HUGETLB ? ram->map_pagesize :
						       DB_PAGE_SIZE;
	atomic_store(&m->rearms, 0);
	if (db_bitmap_init(&m->bits, ram->npages))
		return db_error(-ENOMEM, "%s: no memory for a bitmap of %zu pages",
				who, ram->npages);
	return 0;
}

void db_marks_free(struct db_marks *m)
{
	db_bitmap_free(&m->bits);
}

void db_marks_clear(struct db_marks *m)
{
	db_bitmap_zero(&m->bits);
	atomic_store(&m->all, 0);
}

void db_marks_set(struct db_marks *m, uintptr_t addr)
{
	size_t first = (db_marks_unit(m, addr) - m->base) >> DB_PAGE_SHIFT, i;

	for (i = 0; i < m->unit >> DB_PAGE_SHIFT; i++)
		db_bitmap_set_atomic(&m->bits, first + i);
}

void db_marks_recheck(struct db_marks *m, unsigned gen, uintptr_t addr)
{
	if (atomic_load(&m->rearms) != gen)
		db_marks_set(m, addr);
}

void db_marks_set_all(struct db_marks *m)
{
	atomic_store(&m->all, 1);
}

void db_marks_recheck_all(struct db_marks *m, unsigned gen)
{
	if (atomic_load(&m->rearms) != gen)
		atomic_store(&m->all, 1);
}

void db_marks_take(struct db_marks *m, struct db_bitmap *dirty)
{
	size_t w;

	if (atomic_exchange(&m->all, 0))
		db_bitmap_fill(dirty);
	/*
	 * A locked exchange only where a mark is: a word found empty may be
	 * marked right after, and then stays for the next take, just as an
	 * exchange that came first would have left it (the recheck of
	 * fault_marks.h covers both). Few pages dirty: few exchanges.
	 */
	for (w = 0; w < DB_BITMAP_WORDS(m->bits.nbits); w++)
		if (__atomic_load_n(&m->bits.words[w], __ATOMIC_RELAXED))
			dirty->words[w] |= db_bitmap_xchg_word(&m->bits, w);
	atomic_fetch_add(&m->rearms, 1);
}
