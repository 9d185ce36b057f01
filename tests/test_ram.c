// SPDX-License-Identifier: MIT
/* Guest RAM: faulting fresh memory in before data comes. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dirtybench/common.h"
#include "dirtybench/ram.h"
#include "ram/mmtrack.h"

#define RAM_BYTES (8u << 20)

/* Pages of [first, first + n) that pagemap shows present. */
static size_t present(const struct db_ram *ram, size_t first, size_t n)
{
	uint64_t *pm = calloc(n, sizeof(*pm));
	size_t i, c = 0;
	int fd = db_pagemap_open(0);

	cr_assert(pm);
	cr_assert_geq(fd, 0, "pagemap: %s", strerror(-fd));
	cr_assert_eq(db_pagemap_read(fd, db_ram_page(ram, first), n, pm), 0);
	close(fd);
	for (i = 0; i < n; i++)
		c += (pm[i] & DB_PM_PRESENT) != 0;
	free(pm);
	return c;
}

static bool all_zero(const struct db_ram *ram)
{
	size_t i;

	for (i = 0; i < ram->size; i++)
		if (ram->base[i])
			return false;
	return true;
}

static void fresh(struct db_ram *ram)
{
	cr_assert_eq(db_ram_create(ram, RAM_BYTES, DB_BACKING_ANON, 0), 0, "%s",
		     db_strerror());
	cr_assert_eq(present(ram, 0, ram->npages), 0, "a fresh mapping has no pages");
}

Test(ram, populate_faults_in_exactly_the_range_asked_for)
{
	struct db_ram ram;
	int r;

	fresh(&ram);
	/* the second quarter only */
	r = db_ram_populate(&ram, RAM_BYTES / 4, RAM_BYTES / 4, false);
	if (r == DB_POPULATED_TOUCH) {
		db_ram_destroy(&ram);
		cr_skip_test("this kernel has no MADV_POPULATE_WRITE (Linux 5.14+)");
	}
	cr_assert_eq(r, DB_POPULATED_MADVISE, "populate: %d %s", r, db_strerror());
	cr_assert_eq(present(&ram, 0, ram.npages / 4), 0, "nothing before the range");
	cr_assert_eq(present(&ram, ram.npages / 4, ram.npages / 4), ram.npages / 4,
		     "every page of the range");
	cr_assert_eq(present(&ram, ram.npages / 2, ram.npages / 2), 0, "nothing after it");
	cr_assert(all_zero(&ram), "fresh memory still reads as zero");
	db_ram_destroy(&ram);
}

Test(ram, populate_falls_back_to_one_write_per_page)
{
	struct db_ram ram;
	int r;

	fresh(&ram);
	/* what a kernel without MADV_POPULATE_WRITE gets */
	r = db_ram_populate(&ram, 0, ram.size, true);
	cr_assert_eq(r, DB_POPULATED_TOUCH, "populate: %d %s", r, db_strerror());
	cr_assert_eq(present(&ram, 0, ram.npages), ram.npages, "every page faulted in");
	cr_assert(all_zero(&ram), "and still zero");
	db_ram_destroy(&ram);
}

Test(ram, populate_outside_the_ram_is_refused)
{
	struct db_ram ram;

	fresh(&ram);
	cr_assert_eq(db_ram_populate(&ram, ram.size - DB_PAGE_SIZE, 2 * DB_PAGE_SIZE, false),
		     -EINVAL);
	cr_assert_eq(db_ram_populate(&ram, ram.size + DB_PAGE_SIZE, 0, true), -EINVAL);
	cr_assert(strstr(db_strerror(), "outside"), "says why: %s", db_strerror());
	cr_assert_eq(present(&ram, 0, ram.npages), 0, "and touched nothing");
	db_ram_destroy(&ram);
}
