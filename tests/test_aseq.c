// SPDX-License-Identifier: MIT
/*
 * Access sequences: the text format round-trips and rejects bad input with
 * the line, and a replay through the stage-2 model reports exactly the
 * pages written in each round, whichever the block strategy.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../vmm-shims/stage2/aseq.h"

static int parse_str(const char *text, struct aseq *s, char *err, size_t n)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	int rc;

	cr_assert_not_null(f);
	rc = aseq_read(f, s, err, n);
	fclose(f);
	return rc;
}

Test(aseq, round_trip)
{
	struct aseq s, t;
	char err[128], *buf = NULL;
	size_t len = 0;
	FILE *f;

	cr_assert_eq(aseq_generate(&s, "random", 2048, 3, 40, 20, 7), 0);
	cr_assert_eq(s.nrounds, 3);
	cr_assert_eq(s.nacc, 180);
	f = open_memstream(&buf, &len);
	cr_assert_eq(aseq_write(f, &s), 0);
	fclose(f);
	cr_assert_eq(parse_str(buf, &t, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(t.pages, s.pages);
	cr_assert_eq(t.nrounds, s.nrounds);
	cr_assert_eq(t.nacc, s.nacc);
	cr_assert_eq(memcmp(t.acc, s.acc, s.nacc * sizeof(*s.acc)), 0);
	free(buf);
	aseq_free(&s);
	aseq_free(&t);
}

Test(aseq, rejects_bad_input)
{
	static const struct { const char *text, *why; } bad[] = {
		{ "", "header" },
		{ "aseq 2 pages 8\n", "header" },
		{ "aseq 1 pages 0\n", "header" },
		{ "aseq 1 pages 8\nw 1\n", "before the first" },
		{ "aseq 1 pages 8\nround\nw 8\n", "not in 0..7" },
		{ "aseq 1 pages 8\nround\nw -1\n", "not in 0..7" },
		{ "aseq 1 pages 8\nround\nw 1 64\n", "vCPU" },
		{ "aseq 1 pages 8\nround\nx 1\n", "expected" },
		{ "aseq 1 pages 8\nround 3\n", "no argument" },
	};
	struct aseq s;
	char err[128];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(parse_str(bad[i].text, &s, err, sizeof(err)), -EINVAL,
			     "accepted: %s", bad[i].text);
		cr_assert_not_null(strstr(err, bad[i].why), "%s: %s", bad[i].text, err);
	}
	cr_assert_eq(aseq_generate(&s, "zigzag", 8, 1, 1, 1, 0), -EINVAL);
}

static void check_replay(enum s2_strategy strat)
{
	struct aseq s;
	size_t words;
	struct aseq_round_fig *fig;
	uint64_t *bm, *want;

	cr_assert_eq(aseq_generate(&s, "random", 4096, 4, 64, 64, 11), 0);
	words = (s.pages + 63) / 64;
	fig = calloc(s.nrounds, sizeof(*fig));
	bm = calloc(s.nrounds * words, sizeof(*bm));
	want = calloc(words, sizeof(*want));
	cr_assert(fig && bm && want);
	cr_assert_eq(aseq_replay_shim(&s, strat, fig, bm), 0);
	for (size_t r = 0; r < s.nrounds; r++) {
		size_t n = 0;

		memset(want, 0, words * sizeof(*want));
		for (size_t i = 0; i < s.rounds[r].n; i++) {
			const struct aseq_access *a = &s.acc[s.rounds[r].first + i];

			if (a->write)
				want[a->page / 64] |= 1ull << (a->page % 64);
		}
		for (size_t i = 0; i < words; i++)
			n += (size_t)__builtin_popcountll(want[i]);
		cr_assert_eq(memcmp(want, bm + r * words, words * sizeof(*want)), 0,
			     "%s round %zu: dirty set differs", s2_strategy_name(strat), r);
		cr_assert_eq(fig[r].dirty, n);
		cr_assert_eq(fig[r].hash, aseq_bitmap_hash(want, words));
		/* one table page per dissolved block */
		cr_assert_eq(fig[r].tables_allocated, fig[r].blocks_split);
		if (strat == S2_EAGER)
			cr_assert_eq(fig[r].blocks_split, 0);
	}
	free(fig);
	free(bm);
	free(want);
	aseq_free(&s);
}

Test(aseq, replay_eager) { check_replay(S2_EAGER); }
Test(aseq, replay_lazy) { check_replay(S2_LAZY); }
