// SPDX-License-Identifier: MIT
/* Parsers, bitmaps and hashes every other part relies on. */
#include <criterion/criterion.h>
#include <errno.h>

#include "dirtybench/bitmap.h"
#include "dirtybench/common.h"

Test(common, sizes_parse_binary_multiples)
{
	uint64_t v;

	cr_assert_eq(db_parse_size("4096", &v), 0);
	cr_assert_eq(v, 4096);
	cr_assert_eq(db_parse_size("256M", &v), 0);
	cr_assert_eq(v, 256ull << 20);
	cr_assert_eq(db_parse_size("1792M", &v), 0);
	cr_assert_eq(v, 1792ull << 20);
	cr_assert_eq(db_parse_size("1GiB", &v), 0);
	cr_assert_eq(v, 1ull << 30);
	cr_assert_eq(db_parse_size("1.5k", &v), 0);
	cr_assert_eq(v, 1536);
	cr_assert_eq(db_parse_size("12Q", &v), -EINVAL);
	cr_assert(strstr(db_strerror(), "12Q"), "message names the input: %s",
		  db_strerror());
	cr_assert_eq(db_parse_size("-5M", &v), -EINVAL);
	cr_assert_eq(db_parse_size("", &v), -EINVAL);
}

Test(common, rates_bits_are_decimal)
{
	uint64_t v;

	cr_assert_eq(db_parse_rate("1gbit", &v), 0);
	cr_assert_eq(v, 125000000);
	cr_assert_eq(db_parse_rate("200mbit", &v), 0);
	cr_assert_eq(v, 25000000);
	cr_assert_eq(db_parse_rate("100MB/s", &v), 0);
	cr_assert_eq(v, 100000000);
	cr_assert_eq(db_parse_rate("10MiB/s", &v), 0);
	cr_assert_eq(v, 10485760);
	cr_assert_eq(db_parse_rate("unlimited", &v), 0);
	cr_assert_eq(v, 0);
	cr_assert_eq(db_parse_rate("fast", &v), -EINVAL);
	cr_assert_eq(db_parse_rate("-1gbit", &v), -EINVAL);
}

Test(common, bitmap_next_count_and_ranges)
{
	struct db_bitmap b;
	size_t i, n = 0, seen[8];

	cr_assert_eq(db_bitmap_init(&b, 200), 0);
	db_bitmap_set(&b, 3);
	db_bitmap_set(&b, 64);
	db_bitmap_set(&b, 199);
	cr_assert_eq(db_bitmap_count(&b), 3);
	db_bitmap_for_each(&b, i)
		seen[n++] = i;
	cr_assert_eq(n, 3);
	cr_assert_eq(seen[0], 3);
	cr_assert_eq(seen[1], 64);
	cr_assert_eq(seen[2], 199);
	db_bitmap_zero(&b);
	db_bitmap_set_range(&b, 60, 75);
	cr_assert_eq(db_bitmap_count(&b), 75);
	cr_assert(!db_bitmap_test(&b, 59));
	cr_assert(db_bitmap_test(&b, 134));
	cr_assert(!db_bitmap_test(&b, 135));
	db_bitmap_fill(&b);
	cr_assert_eq(db_bitmap_count(&b), 200, "fill sets no bit past nbits");
	cr_assert_eq(db_bitmap_next(&b, 200), 200);
	cr_assert(!db_bitmap_empty(&b));
	db_bitmap_zero(&b);
	cr_assert(db_bitmap_empty(&b));
	db_bitmap_set(&b, 199);	/* in the last, partial word */
	cr_assert(!db_bitmap_empty(&b));
	db_bitmap_free(&b);
}

Test(common, hash128_piece_by_piece_is_the_one_shot_value)
{
	static unsigned char ram[3 * 65536 + 4096];
	struct db_hash128_state *st = db_hash128_begin();
	struct db_hash128 whole, parts;
	size_t i;

	for (i = 0; i < sizeof(ram); i++)
		ram[i] = i % 4096 < 2048 ? (unsigned char)(i * 7) : 0;
	memset(ram + 65536, 0, 2 * 65536);	/* a run of zeros, as untouched RAM */
	whole = db_hash128(ram, sizeof(ram));
	cr_assert(st);
	db_hash128_add(st, ram, 65536);
	db_hash128_zeros(st, 2 * 65536);
	db_hash128_add(st, ram + 3 * 65536, 100);
	db_hash128_add(st, ram + 3 * 65536 + 100, 4096 - 100);
	parts = db_hash128_end(st);
	cr_assert(whole.hi == parts.hi && whole.lo == parts.lo,
		  "zeros added without memory hash as the memory does");
}

Test(common, hash128_differs_on_one_byte)
{
	static unsigned char a[4096], b[4096];
	char sa[33], sb[33];

	b[4095] = 1;
	db_hash128_str(db_hash128(a, sizeof(a)), sa);
	db_hash128_str(db_hash128(b, sizeof(b)), sb);
	cr_assert_eq(strlen(sa), 32);
	cr_assert_str_neq(sa, sb);
}
