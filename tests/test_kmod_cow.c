// SPDX-License-Identifier: MIT
/*
 * The kmod-cow tracker on the cowtrack module. Runs where the module is
 * loaded (the kernel test bed boots a kernel for that); elsewhere each test
 * is skipped with the probe's reason.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dirtybench/bitmap.h"
#include "dirtybench/common.h"
#include "dirtybench/ram.h"
#include "dirtybench/tracker.h"

#define PAGES_HELD "/sys/class/misc/cowtrack/pages_held"

static void need_module(void)
{
	const struct db_tracker_ops *ops = db_tracker_find("kmod-cow");
	char why[512] = "";

	cr_assert(ops, "kmod-cow is registered");
	if (ops->probe(why, sizeof(why)))
		cr_skip_test("kmod-cow cannot run here: %s", why);
}

static long pages_held(void)
{
	char buf[32];

	if (db_read_file(PAGES_HELD, buf, sizeof(buf)) <= 0)
		return -1;
	return strtol(buf, NULL, 10);
}

static void fill(struct db_ram *ram, size_t page, uint8_t v)
{
	memset(db_ram_page(ram, page), v, DB_PAGE_SIZE);
}

static void expect_page(const uint8_t *img, size_t page, uint8_t v,
			const char *what)
{
	size_t i;

	for (i = 0; i < DB_PAGE_SIZE; i++)
		cr_assert_eq(img[i], v, "%s: page %zu byte %zu is %#x, want %#x",
			     what, page, i, img[i], v);
}

Test(kmod_cow, probe_says_why_it_cannot_run)
{
	const struct db_tracker_ops *ops = db_tracker_find("kmod-cow");
	struct db_tracker *t = NULL;
	char why[512] = "";
	int err;

	cr_assert(ops);
	cr_assert_eq(ops->flags & (DB_TRK_SNAPSHOT | DB_TRK_PROVIDES_RAM |
				   DB_TRK_EXACT),
		     DB_TRK_SNAPSHOT | DB_TRK_PROVIDES_RAM | DB_TRK_EXACT);
	err = ops->probe(why, sizeof(why));
	if (!err)
		return;
	cr_assert(strstr(why, "cowtrack"), "the reason names the module: %s",
		  why);
	cr_assert_eq(db_tracker_create(&t, "kmod-cow", NULL), err);
	cr_assert(strstr(db_strerror(), why), "create says why: %s",
		  db_strerror());
}

Test(kmod_cow, provides_ram_and_serves_round_start, .timeout = 120)
{
	static const size_t a[] = { 1, 100, 1023 }, b[] = { 5, 100 };
	struct db_counter ctr[DB_TRACKER_MAX_COUNTERS];
	struct db_tracker *t;
	struct db_ram ram = { .size = 4u << 20, .fd = -1 };
	struct db_bitmap got;
	uint8_t *img;
	long held0 = pages_held();
	size_t i, n;
	uint64_t preimages = 0;

	need_module();
	cr_assert_eq(db_tracker_create(&t, "kmod-cow", NULL), 0, "%s",
		     db_strerror());
	cr_assert_eq(db_tracker_attach(t, &ram), 0, "%s", db_strerror());
	cr_assert(ram.base && ram.fd >= 0);
	cr_assert_eq(ram.npages, 1024);
	cr_assert_eq(ram.backing, DB_BACKING_TRACKER);
	cr_assert(ram.release, "the RAM knows how to release itself");
	cr_assert_eq(db_bitmap_init(&got, ram.npages), 0);
	img = malloc(ram.size);
	cr_assert(img);

	for (i = 0; i < ram.npages; i++)
		fill(&ram, i, (uint8_t)(i % 251));
	cr_assert_eq(db_tracker_start(t), 0, "%s", db_strerror());
	for (i = 0; i < DB_ARRAY_SIZE(a); i++)
		fill(&ram, a[i], 0xaa);
	/* Round 0's image is the RAM at start(). */
	cr_assert_eq(db_tracker_snapshot_read(t, 0, ram.npages, img), 0, "%s",
		     db_strerror());
	for (i = 0; i < ram.npages; i++)
		expect_page(img + i * DB_PAGE_SIZE, i, (uint8_t)(i % 251),
			    "round 0");
	cr_assert_eq(db_tracker_collect(t, &got), 0, "%s", db_strerror());
	cr_assert_eq(db_bitmap_count(&got), DB_ARRAY_SIZE(a));
	for (i = 0; i < DB_ARRAY_SIZE(a); i++)
		cr_assert(db_bitmap_test(&got, a[i]), "page %zu reported", a[i]);

	/* Round 1 starts from the collect; later writes stay out of it. */
	for (i = 0; i < DB_ARRAY_SIZE(b); i++)
		fill(&ram, b[i], 0xbb);
	cr_assert_eq(db_tracker_snapshot_read(t, 100, 1, img), 0);
	expect_page(img, 100, 0xaa, "round 1");
	db_bitmap_zero(&got);
	cr_assert_eq(db_tracker_collect(t, &got), 0, "%s", db_strerror());
	cr_assert_eq(db_bitmap_count(&got), DB_ARRAY_SIZE(b));
	n = db_tracker_counters(t, ctr, DB_ARRAY_SIZE(ctr));
	for (i = 0; i < n; i++)
		if (!strcmp(ctr[i].name, "preimages_copied"))
			preimages = ctr[i].value;
	cr_assert_eq(preimages, DB_ARRAY_SIZE(a) + DB_ARRAY_SIZE(b));

	/* Detach: the RAM stays, with its content, and writable. */
	db_tracker_detach(t);
	expect_page(db_ram_page(&ram, 5), 5, 0xbb, "after detach");
	fill(&ram, 6, 0xcc);
	expect_page(db_ram_page(&ram, 6), 6, 0xcc, "written after detach");
	db_tracker_destroy(t);
	db_ram_destroy(&ram);
	if (held0 >= 0)
		cr_assert_eq(pages_held(), held0,
			     "the module frees the RAM with the last reference");
	db_bitmap_free(&got);
	free(img);
}

Test(kmod_cow, oversized_ram_is_refused_with_the_limit)
{
	struct db_tracker *t;
	struct db_ram ram = { .size = (size_t)1 << 50, .fd = -1 };

	need_module();
	cr_assert_eq(db_tracker_create(&t, "kmod-cow", NULL), 0, "%s",
		     db_strerror());
	cr_assert_eq(db_tracker_attach(t, &ram), -E2BIG);
	cr_assert(strstr(db_strerror(), "max_size_mb"), "%s", db_strerror());
	cr_assert_null(ram.base);
	db_tracker_destroy(t);
}
