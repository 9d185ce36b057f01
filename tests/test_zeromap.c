// SPDX-License-Identifier: MIT
/*
 * The zero map (ram/mmtrack.h) and the RAM checksum built on it
 * (engine/ramsum.h): pages known zero without a read are exactly the
 * untouched and zero-page ones of private anonymous RAM, and a checksum
 * that skips them equals one that reads every page.
 */
#include <criterion/criterion.h>
#include <string.h>
#include <sys/mman.h>

#include "dirtybench/common.h"
#include "dirtybench/ram.h"
#include "engine/ramsum.h"
#include "ram/mmtrack.h"

#define NPAGES 4096	/* 16 MiB: several windows of the map */

/* Zero pages the map knows from page p on, in one answer or several. */
static size_t known_zero(struct db_zero_map *z, size_t p, size_t n)
{
	size_t k = 0, r;

	while (k < n && (r = db_zero_map_run(z, p + k, n - k)))
		k += r;
	return k;
}

/* anon RAM: [0, 1024) read (zero page), every 7th page there written,
 * [1024, 2048) written and then dropped, the rest never touched. */
static void prepare(struct db_ram *ram, enum db_backing b)
{
	size_t i;

	cr_assert_eq(db_ram_create(ram, NPAGES * DB_PAGE_SIZE, b, 0), 0, "%s",
		     db_strerror());
	cr_assert_eq(madvise(ram->base, 1024 * DB_PAGE_SIZE, MADV_POPULATE_READ), 0);
	for (i = 0; i < 1024; i += 7)
		ram->base[i * DB_PAGE_SIZE + 100] = (uint8_t)(i | 1);
	memset(ram->base + 1024 * DB_PAGE_SIZE, 0x5a, 1024 * DB_PAGE_SIZE);
	cr_assert_eq(madvise(ram->base + 1024 * DB_PAGE_SIZE, 1024 * DB_PAGE_SIZE,
			     MADV_DONTNEED), 0);
}

Test(zeromap, knows_untouched_and_zero_page_anon_memory_only)
{
	struct db_zero_map z;
	struct db_ram ram;
	size_t i;

	prepare(&ram, DB_BACKING_ANON);
	db_zero_map_open(&z, &ram);
	cr_assert_geq(z.fd, 0, "private anonymous RAM can be judged");
	for (i = 0; i < 1024; i++) {
		size_t k = db_zero_map_run(&z, i, 1);

		if (i % 7 == 0)
			cr_assert_eq(k, 0, "page %zu holds data: it must be read", i);
		else if (z.scan)
			cr_assert_eq(k, 1, "page %zu maps the zero page", i);
	}
	cr_assert_eq(known_zero(&z, 1024, NPAGES - 1024), NPAGES - 1024,
		     "dropped and untouched pages are zero");
	cr_assert_eq(known_zero(&z, 1, 6), z.scan ? 6 : 0, "a run between two data pages");
	cr_assert_eq(db_zero_map_run(&z, 0, 1), 0, "asked again, out of order");
	/* a page written now is data from the next window on */
	ram.base[3000 * DB_PAGE_SIZE] = 1;
	db_zero_map_close(&z);
	db_zero_map_open(&z, &ram);
	cr_assert_eq(known_zero(&z, 2048, NPAGES - 2048), 3000 - 2048);
	db_zero_map_close(&z);
	db_ram_destroy(&ram);
}

Test(zeromap, shared_memory_is_always_read)
{
	struct db_zero_map z;
	struct db_ram ram;

	prepare(&ram, DB_BACKING_MEMFD);
	db_zero_map_open(&z, &ram);
	cr_assert_eq(db_zero_map_run(&z, 2048, 16), 0,
		     "memfd pages can hold data behind an empty entry");
	db_zero_map_close(&z);
	db_ram_destroy(&ram);
}

Test(zeromap, the_checksum_that_skips_zero_pages_equals_the_one_that_reads_them)
{
	struct db_ram_sums a, b;
	struct db_ram ram;
	size_t c;

	prepare(&ram, DB_BACKING_ANON);
	cr_assert_eq(db_ram_sums_compute(&a, "test", &ram, NPAGES, 64, true), 0);
	cr_assert_eq(db_ram_sums_compute(&b, "test", &ram, NPAGES, 64, false), 0);
	cr_assert_gt(a.zero_chunks, 0, "zero chunks known without a read");
	cr_assert_lt(a.pages_read, NPAGES / 4, "%llu pages read",
		     (unsigned long long)a.pages_read);
	cr_assert_eq(b.pages_read, NPAGES);
	cr_assert(a.sum.hi == b.sum.hi && a.sum.lo == b.sum.lo, "the same checksum");
	for (c = 0; c < a.nchunks; c++)
		cr_assert_eq(a.chunk[c], b.chunk[c], "chunk %zu", c);
	/* one byte in a page that was zero changes its chunk and the sum */
	ram.base[2500 * DB_PAGE_SIZE + 9] = 1;
	db_ram_sums_free(&b);
	cr_assert_eq(db_ram_sums_compute(&b, "test", &ram, NPAGES, 64, true), 0);
	cr_assert(a.sum.lo != b.sum.lo || a.sum.hi != b.sum.hi);
	cr_assert_neq(a.chunk[2500 / 64], b.chunk[2500 / 64]);
	cr_assert_eq(a.chunk[2500 / 64 + 1], b.chunk[2500 / 64 + 1]);
	db_ram_sums_free(&a);
	db_ram_sums_free(&b);
	db_ram_destroy(&ram);
}
