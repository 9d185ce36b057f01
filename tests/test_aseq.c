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
#include "dirtybench/bitmap.h"
#include "dirtybench/common.h"
#include "dirtybench/ram.h"
#include "dirtybench/tracker.h"


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

/* ---- the model against real KVM (arm64, inside the arm64 test bed) ---- */

static uint64_t counter(struct db_tracker *t, const char *name)
{
	struct db_counter c[DB_TRACKER_MAX_COUNTERS];
	size_t i, n = db_tracker_counters(t, c, DB_TRACKER_MAX_COUNTERS);

	for (i = 0; i < n; i++)
		if (!strcmp(c[i].name, name))
			return c[i].value;
	cr_assert_fail("tracker %s has no counter %s", t->name, name);
	return 0;
}

/*
 * The same access sequence through the stage-2 model and through KVM's
 * dirty logging (the kvm tracker: KVM vCPUs store, GET then CLEAR_DIRTY_LOG
 * each round) on THP RAM mapped as blocks first: the dirty set of every
 * round is the same, bit for bit, and so are the stage-2 tables the
 * splitting allocated (KVM's from SecPageTables). Loads are replayed by the
 * model only: the tracker interface has no reads, and loads set no bits.
 */
static void shim_and_kvm_agree(enum s2_strategy strat)
{
	const char *spec = strat == S2_EAGER ? "kvm:split=eager" : "kvm:split=lazy";
	struct aseq s_kvm;
	struct db_tracker_params tp = { .nvcpus = 1, .seed = 1 };
	struct aseq_round_fig *fig;
	struct db_tracker *t;
	struct db_bitmap got;
	struct db_ram ram;
	char why[512] = "";
	uint64_t *bm, split = 0, tables_kb, enable_kb;
	size_t words, r, i, blocks;
	int err;

	if (db_tracker_find("kvm")->probe(why, sizeof(why)))
		cr_skip_test("tracker kvm cannot run here: %s", why);
	if (db_backing_probe(DB_BACKING_THP, why, sizeof(why)))
		cr_skip_test("THP is not available here: %s", why);
	cr_assert_eq(aseq_generate(&s_kvm, "random", 8192, 4, 256, 256, 7), 0);
	words = (s_kvm.pages + 63) / 64;
	blocks = s_kvm.pages / 512;
	fig = calloc(s_kvm.nrounds, sizeof(*fig));
	bm = calloc(s_kvm.nrounds * words, sizeof(*bm));
	cr_assert(fig && bm && !db_bitmap_init(&got, s_kvm.pages));
	cr_assert_eq(aseq_replay_shim(&s_kvm, strat, fig, bm), 0);

	err = db_ram_create(&ram, (size_t)s_kvm.pages * 4096, DB_BACKING_THP, 1);
	if (err)
		cr_skip_test("%s", db_strerror());
	cr_assert_eq(db_tracker_create(&t, spec, &tp), 0, "%s", db_strerror());
	cr_assert_eq(db_tracker_attach(t, &ram), 0, "%s", db_strerror());
	/* As a guest that ran: a store into every block maps it as a block. */
	for (i = 0; i < blocks; i++)
		cr_assert_eq(t->ops->guest_write(t, 0, i * 512, 0,
						 db_ram_page(&ram, i * 512), 8), 0,
			     "%s", db_strerror());
	cr_assert_eq(db_tracker_start(t), 0, "%s", db_strerror());
	enable_kb = counter(t, "stage2_tables_kb_at_enable");
	for (r = 0; r < s_kvm.nrounds; r++) {
		size_t first = DB_BITMAP_WORDS(s_kvm.pages);

		for (i = 0; i < s_kvm.rounds[r].n; i++) {
			const struct aseq_access *a = &s_kvm.acc[s_kvm.rounds[r].first + i];
			uint64_t v = ((uint64_t)r << 32) | a->page;

			if (a->write)
				cr_assert_eq(t->ops->guest_write(t, 0, a->page, 0, &v,
								 sizeof(v)), 0,
					     "%s", db_strerror());
		}
		db_bitmap_zero(&got);
		cr_assert_eq(db_tracker_collect(t, &got), 0, "%s", db_strerror());
		for (i = 0; i < words; i++)
			if (got.words[i] != bm[r * words + i] && first == DB_BITMAP_WORDS(s_kvm.pages))
				first = i;
		cr_assert_eq(first, DB_BITMAP_WORDS(s_kvm.pages),
			     "%s round %zu: KVM and the model differ first at pages %zu..%zu (KVM %#llx, model %#llx)",
			     spec, r, first * 64, first * 64 + 63,
			     first < words ? (unsigned long long)got.words[first] : 0ull,
			     first < words ? (unsigned long long)bm[r * words + first] : 0ull);
		cr_assert_eq(aseq_bitmap_hash(got.words, words), fig[r].hash);
		split += fig[r].blocks_split;
	}
	tables_kb = counter(t, "stage2_tables_kb_now");
	cr_log_info("%s: %zu rounds of %zu pages agree; model split %llu blocks in rounds, KVM stage-2 tables +%llu kB at enable, +%llu kB by the end",
		    spec, s_kvm.nrounds, (size_t)fig[0].dirty,
		    (unsigned long long)split, (unsigned long long)enable_kb,
		    (unsigned long long)tables_kb);
	if (strat == S2_EAGER) {
		cr_expect_eq(enable_kb, 4 * blocks,
			     "eager: one 4 KiB table per block at enable, as the model: %zu blocks, KVM +%lld kB", blocks, (long long)enable_kb);
		cr_expect_eq(split, 0, "the model splits nothing after enable");
	} else {
		cr_expect_eq(enable_kb, 0, "lazy: nothing allocated at enable: KVM +%lld kB", (long long)enable_kb);
		cr_expect_eq(tables_kb, 4 * split,
			     "lazy: one 4 KiB table per block the model dissolved: model %llu blocks, KVM +%lld kB", (unsigned long long)split, (long long)tables_kb);
	}
	db_tracker_destroy(t);
	db_ram_destroy(&ram);
	db_bitmap_free(&got);
	free(fig);
	free(bm);
	aseq_free(&s_kvm);
}

Test(aseq, shim_and_kvm_agree_eager, .timeout = 120) { shim_and_kvm_agree(S2_EAGER); }
Test(aseq, shim_and_kvm_agree_lazy, .timeout = 120) { shim_and_kvm_agree(S2_LAZY); }
