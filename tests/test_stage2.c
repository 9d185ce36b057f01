// SPDX-License-Identifier: MIT
/*
 * The ARM stage-2 logging model: descriptor encodings bit by bit against
 * the ARM ARM, walks, the two block strategies side by side, cancel, and
 * the stage2-eager / stage2-lazy trackers under concurrent writers.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "dirtybench/common.h"
#include "dirtybench/dirtyram.h"
#include "dirtybench/tracker.h"
#include "fixture.h"
#include "../vmm-shims/stage2/sim.h"
#include "../vmm-shims/stage2/stage2.h"

#define MIB (1ull << 20)

/* Bits [hi:lo] of a descriptor. */
static uint64_t field(uint64_t d, unsigned hi, unsigned lo)
{
	return (d >> lo) & ((hi - lo == 63) ? ~0ull : ((1ull << (hi - lo + 1)) - 1));
}

/* ---- descriptor encodings ------------------------------------------ */

Test(stage2, page_descriptor_bits_follow_the_arm_arm)
{
	uint64_t oa = 0x0000123456789000ull;	/* bits [47:12] in use */
	uint64_t d = s2_desc_leaf(S2_LAYOUT_V8, 3, oa, S2_PROT_R | S2_PROT_W);

	cr_assert_eq(field(d, 1, 0), 3, "page: bits[1:0] = 0b11 at level 3");
	cr_assert_eq(field(d, 5, 2), 0xf, "MemAttr bits[5:2] = 0b1111, normal write-back");
	cr_assert_eq(field(d, 6, 6), 1, "S2AP[0] bit 6: read");
	cr_assert_eq(field(d, 7, 7), 1, "S2AP[1] bit 7: write");
	cr_assert_eq(field(d, 9, 8), 3, "SH bits[9:8] = 0b11, inner shareable");
	cr_assert_eq(field(d, 10, 10), 1, "AF bit 10 set");
	cr_assert_eq(field(d, 11, 11), 0, "bit 11 zero");
	cr_assert_eq(field(d, 47, 12), oa >> 12, "output address bits[47:12]");
	cr_assert_eq(field(d, 53, 48), 0, "bits[53:48] zero");
	cr_assert_eq(field(d, 54, 54), 1, "XN bit 54 set for data pages");
	cr_assert_eq(field(d, 63, 55), 0, "bits[63:55] zero");
	cr_assert_eq(d, 0x00401234567897ffull, "the whole page descriptor");

	d = s2_desc_leaf(S2_LAYOUT_V8, 3, oa, S2_PROT_R);
	cr_assert_eq(field(d, 7, 6), 1, "read-only: S2AP = 0b01");
	d = s2_desc_leaf(S2_LAYOUT_V8, 3, oa, 0);
	cr_assert_eq(field(d, 7, 6), 0, "no access: S2AP = 0b00");
	d = s2_desc_leaf(S2_LAYOUT_V8, 3, oa, S2_PROT_R | S2_PROT_W | S2_PROT_X);
	cr_assert_eq(field(d, 54, 54), 0, "executable: XN clear");
	cr_assert_eq(s2_desc_prot(d), S2_PROT_R | S2_PROT_W | S2_PROT_X);
}

Test(stage2, block_descriptors_hold_aligned_output_addresses)
{
	/* An address with low bits set: a block keeps only its aligned part. */
	uint64_t oa = 0x0000abcd87654000ull;
	uint64_t d2 = s2_desc_leaf(S2_LAYOUT_V8, 2, oa, S2_PROT_R | S2_PROT_W);
	uint64_t d1 = s2_desc_leaf(S2_LAYOUT_V8, 1, oa, S2_PROT_R);

	cr_assert_eq(field(d2, 1, 0), 1, "block: bits[1:0] = 0b01");
	cr_assert_eq(field(d2, 47, 21), oa >> 21, "2 MiB block OA bits[47:21]");
	cr_assert_eq(field(d2, 20, 12), 0, "2 MiB block: bits[20:12] zero");
	cr_assert_eq(field(d2, 10, 2), 0x1ff, "AF, SH=0b11, S2AP=0b11, MemAttr=0b1111");
	cr_assert_eq(field(d1, 1, 0), 1);
	cr_assert_eq(field(d1, 47, 30), oa >> 30, "1 GiB block OA bits[47:30]");
	cr_assert_eq(field(d1, 29, 12), 0, "1 GiB block: bits[29:12] zero");
	cr_assert_eq(field(d1, 7, 6), 1, "read-only block");
	cr_assert_eq(s2_desc_oa(S2_LAYOUT_V8, 2, d2), oa & ~(S2_BLOCK_2M - 1));
	cr_assert_eq(s2_desc_oa(S2_LAYOUT_V8, 1, d1), oa & ~(S2_BLOCK_1G - 1));
}

Test(stage2, table_descriptors_carry_only_the_next_table_address)
{
	uint64_t pa = 0x0000fedcba987000ull;
	uint64_t d = s2_desc_table(S2_LAYOUT_V8, pa);

	cr_assert_eq(field(d, 1, 0), 3, "table: bits[1:0] = 0b11 at levels 0-2");
	cr_assert_eq(field(d, 11, 2), 0, "no attributes in bits[11:2]");
	cr_assert_eq(field(d, 47, 12), pa >> 12, "next-level table address bits[47:12]");
	cr_assert_eq(field(d, 63, 48), 0);
	cr_assert_eq(s2_desc_kind(0, d), S2_KIND_TABLE);
	cr_assert_eq(s2_desc_kind(2, d), S2_KIND_TABLE);
	cr_assert_eq(s2_desc_kind(3, d), S2_KIND_PAGE, "0b11 at level 3 is a page");
}

Test(stage2, v7_lpae_addresses_stop_at_bit_39)
{
	uint64_t oa = 0x00ffabcdef123000ull;	/* bits above 39 set */
	uint64_t p = s2_desc_leaf(S2_LAYOUT_V7, 3, oa, S2_PROT_R);
	uint64_t b = s2_desc_leaf(S2_LAYOUT_V7, 2, oa, S2_PROT_R);
	uint64_t t = s2_desc_table(S2_LAYOUT_V7, oa);

	cr_assert_eq(field(p, 39, 12), field(oa, 39, 12), "v7 page OA bits[39:12]");
	cr_assert_eq(field(p, 47, 40), 0, "v7: bits[47:40] zero");
	cr_assert_eq(field(b, 39, 21), field(oa, 39, 21), "v7 2 MiB block OA bits[39:21]");
	cr_assert_eq(field(b, 47, 40), 0);
	cr_assert_eq(field(t, 39, 12), field(oa, 39, 12), "v7 table address bits[39:12]");
	cr_assert_eq(field(t, 47, 40), 0);
	/* HAP[2:1] (S2AP) and the other attributes sit where v8 has them. */
	cr_assert_eq(field(p, 7, 6), 1);
	cr_assert_eq(field(p, 10, 10), 1);
	cr_assert_eq(field(p, 9, 8), 3);
}

Test(stage2, reserved_encodings_are_invalid)
{
	cr_assert_eq(s2_desc_kind(2, 0), S2_KIND_INVALID);
	cr_assert_eq(s2_desc_kind(2, 2), S2_KIND_INVALID, "bit 0 clear: invalid");
	cr_assert_eq(s2_desc_kind(3, 1), S2_KIND_INVALID, "0b01 at level 3 is reserved");
	cr_assert_eq(s2_desc_kind(0, 1), S2_KIND_INVALID, "no level-0 blocks with 4 KiB");
	cr_assert_eq(s2_desc_kind(1, 1), S2_KIND_BLOCK);
	cr_assert_eq(s2_desc_kind(2, 1), S2_KIND_BLOCK);
}

Test(stage2, geometry_of_both_layouts)
{
	cr_assert_eq(s2_start_level(S2_LAYOUT_V7), 1);
	cr_assert_eq(s2_root_entries(S2_LAYOUT_V7), 1024,
		     "v7: 40-bit IPA at level 1 = two concatenated tables");
	cr_assert_eq(s2_start_level(S2_LAYOUT_V8), 0);
	cr_assert_eq(s2_root_entries(S2_LAYOUT_V8), 512);
	cr_assert_eq(s2_level_shift(0), 39);
	cr_assert_eq(s2_level_shift(1), 30);
	cr_assert_eq(s2_level_shift(2), 21);
	cr_assert_eq(s2_level_shift(3), 12);
	/* IPA bits[39:30] index the v7 root; bit 39 selects the second table. */
	cr_assert_eq(s2_level_index(S2_LAYOUT_V7, 1, 0x80000000ull), 2);
	cr_assert_eq(s2_level_index(S2_LAYOUT_V7, 1, 1ull << 39), 512);
	cr_assert_eq(s2_level_index(S2_LAYOUT_V8, 1, 1ull << 39), 0);
	cr_assert_eq(s2_level_index(S2_LAYOUT_V8, 0, 3ull << 39), 3);
	cr_assert_eq(s2_level_index(S2_LAYOUT_V8, 3, 0x1ff000), 511);
}

/* ---- helpers --------------------------------------------------------- */

/* size bytes at an address aligned to 'align' (and not to 2*align). */
static uint8_t *map_aligned(size_t size, size_t align, size_t *maplen,
			    void **raw)
{
	uint8_t *p;
	uintptr_t a;

	*maplen = size + 2 * align;
	*raw = mmap(NULL, *maplen, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	cr_assert_neq(*raw, MAP_FAILED, "mmap %zu bytes", *maplen);
	a = ((uintptr_t)*raw + align - 1) & ~(uintptr_t)(align - 1);
	p = (uint8_t *)a;
	return p;
}

struct vmfix {
	struct s2_vm *vm;
	unsigned slot;
	uint8_t *host;
	void *raw;
	size_t maplen;
	struct s2_slot_desc d;
};

static void vm_make(struct vmfix *f, enum s2_layout l, enum s2_strategy s,
		    size_t size, size_t host_pagesize, unsigned nvcpus)
{
	struct s2_config cfg = {
		.layout = l, .strategy = s, .nvcpus = nvcpus, .tlb_entries = 64,
	};

	memset(f, 0, sizeof(*f));
	f->host = map_aligned(size, DB_MAX(host_pagesize, DB_HUGE_SIZE),
			      &f->maplen, &f->raw);
	cr_assert_eq(s2_vm_create(&f->vm, &cfg), 0, "%s", db_strerror());
	f->d = (struct s2_slot_desc){
		.ipa = S2_DEFAULT_IPA_BASE, .size = size, .host = f->host,
		.pa = S2_DEFAULT_PA_BASE, .host_pagesize = host_pagesize,
	};
	cr_assert_eq(s2_slot_add(f->vm, &f->d, &f->slot), 0, "%s", db_strerror());
	cr_assert_eq(s2_populate(f->vm, f->slot), 0, "%s", db_strerror());
}

static void vm_free(struct vmfix *f)
{
	s2_vm_destroy(f->vm);
	munmap(f->raw, f->maplen);
}

static uint64_t page_ipa(size_t page)
{
	return S2_DEFAULT_IPA_BASE + ((uint64_t)page << 12);
}

/* ---- walks ----------------------------------------------------------- */

static void check_walks(enum s2_layout l)
{
	/* 8 MiB + 12 KiB: four 2 MiB blocks, then three pages. */
	size_t size = 8 * MIB + 3 * 4096, i, npages = size / 4096;
	struct vmfix f;
	struct s2_walk w;

	vm_make(&f, l, S2_LAZY, size, DB_HUGE_SIZE, 1);
	for (i = 0; i < npages; i++) {
		cr_assert_eq(s2_translate(f.vm, page_ipa(i) + 0x123, true, &w), 0);
		cr_assert_eq(w.fault, S2_FAULT_NONE, "%s: page %zu maps",
			     s2_layout_name(l), i);
		cr_assert_eq(w.pa, S2_DEFAULT_PA_BASE + i * 4096 + 0x123,
			     "%s: page %zu output address", s2_layout_name(l), i);
		cr_assert_eq(w.host, f.host + i * 4096 + 0x123,
			     "%s: page %zu host address", s2_layout_name(l), i);
		cr_assert_eq(w.level, i < 4 * 512 ? 2u : 3u,
			     "%s: page %zu under a %s", s2_layout_name(l), i,
			     i < 4 * 512 ? "2 MiB block" : "page");
		cr_assert_eq(w.slot, 0);
	}
	cr_assert_eq(s2_translate(f.vm, page_ipa(npages), false, &w), 0);
	cr_assert_eq(w.fault, S2_FAULT_TRANSLATION, "the page after the slot faults");
	cr_assert_eq(w.slot, -1);
	cr_assert_eq(s2_translate(f.vm, S2_DEFAULT_IPA_BASE - 4096, false, &w), 0);
	cr_assert_eq(w.fault, S2_FAULT_TRANSLATION, "the page before the slot faults");
	cr_assert_eq(s2_translate(f.vm, 0x1000, false, &w), 0);
	cr_assert_eq(w.fault, S2_FAULT_TRANSLATION, "IPA 0x1000 faults");
	cr_assert_eq(s2_translate(f.vm, 1ull << s2_ipa_bits(l), false, &w), -EINVAL,
		     "beyond the IPA size");
	vm_free(&f);
}

Test(stage2, every_ipa_translates_to_its_host_page_v7)
{
	check_walks(S2_LAYOUT_V7);
}

Test(stage2, every_ipa_translates_to_its_host_page_v8)
{
	check_walks(S2_LAYOUT_V8);
}

Test(stage2, misaligned_or_4k_backing_maps_pages_only)
{
	struct s2_config cfg = { .layout = S2_LAYOUT_V8, .nvcpus = 1 };
	struct s2_census c;
	struct vmfix f;
	struct s2_vm *vm;
	struct s2_slot_desc d;
	unsigned id;

	vm_make(&f, S2_LAYOUT_V7, S2_EAGER, 4 * MIB, 4096, 1);
	cr_assert_eq(s2_census(f.vm, f.slot, &c), 0);
	cr_assert_eq(c.blocks_2m, 0, "4 KiB host backing: no blocks");
	cr_assert_eq(c.pages, 1024);
	vm_free(&f);

	/* Host address off by 4 KiB from the IPA's 2 MiB alignment. */
	vm_make(&f, S2_LAYOUT_V8, S2_LAZY, 4 * MIB, DB_HUGE_SIZE, 1);
	cr_assert_eq(s2_vm_create(&vm, &cfg), 0);
	d = f.d;
	d.host += 4096;
	d.size -= 4096;
	cr_assert_eq(s2_slot_add(vm, &d, &id), 0);
	cr_assert_eq(s2_populate(vm, id), 0);
	cr_assert_eq(s2_census(vm, id, &c), 0);
	cr_assert_eq(c.blocks_2m, 0, "IPA and host address not congruent: no blocks");
	cr_assert_eq(c.pages, 1023);
	s2_vm_destroy(vm);
	vm_free(&f);
}

Test(stage2, two_memslots_with_a_hole)
{
	struct s2_config cfg = { .layout = S2_LAYOUT_V7, .nvcpus = 1 };
	static uint8_t ram[2][64 * 1024];
	struct s2_slot_desc a = { 0x40000000, sizeof(ram[0]), ram[0], 0x900000000ull, 4096 };
	struct s2_slot_desc b = { 0x40100000, sizeof(ram[1]), ram[1], 0x900100000ull, 4096 };
	struct s2_slot_desc overlap = { 0x40008000, 4096, ram[0], 0x0, 4096 };
	struct s2_vm *vm;
	struct s2_walk w;
	unsigned ia, ib, io;
	uint32_t v = 0xfeedface, r = 0;

	cr_assert_eq(s2_vm_create(&vm, &cfg), 0);
	cr_assert_eq(s2_slot_add(vm, &a, &ia), 0);
	cr_assert_eq(s2_slot_add(vm, &b, &ib), 0);
	cr_assert_eq(s2_slot_add(vm, &overlap, &io), -EEXIST, "overlapping slot refused");
	/* Nothing mapped: the first access takes a translation fault. */
	cr_assert_eq(s2_write(vm, 0, 0x40100010, &v, sizeof(v)), 0);
	cr_assert_eq(memcmp(ram[1] + 0x10, &v, sizeof(v)), 0, "write landed in slot 1's RAM");
	cr_assert_eq(s2_read(vm, 0, 0x40100010, &r, sizeof(r)), 0);
	cr_assert_eq(r, v);
	cr_assert_eq(s2_translate(vm, 0x40100010, true, &w), 0);
	cr_assert_eq(w.slot, 1);
	cr_assert_eq(w.pa, 0x900100010ull);
	cr_assert_eq(s2_write(vm, 0, 0x40080000, &v, sizeof(v)), -EFAULT,
		     "a write into the hole faults to the caller");
	cr_assert(strstr(db_strerror(), "0x40080000"), "message names the IPA: %s",
		  db_strerror());
	s2_vm_destroy(vm);
}

Test(stage2, one_gib_blocks_split_fully_or_dissolve_lazily)
{
	struct s2_census c;
	struct s2_stats st;
	struct vmfix e, l;
	struct s2_walk w;
	uint64_t v = 42;

	vm_make(&e, S2_LAYOUT_V8, S2_EAGER, S2_BLOCK_1G, S2_BLOCK_1G, 1);
	cr_assert_eq(s2_census(e.vm, e.slot, &c), 0);
	cr_assert_eq(c.blocks_1g, 1, "a 1 GiB slot on 1 GiB backing is one block");
	cr_assert_eq(s2_translate(e.vm, page_ipa(70000), false, &w), 0);
	cr_assert_eq(w.level, 1);
	cr_assert_eq(field(w.desc, 1, 0), 1);
	s2_stats_reset(e.vm);
	cr_assert_eq(s2_log_enable(e.vm, e.slot), 0);
	cr_assert_eq(s2_census(e.vm, e.slot, &c), 0);
	cr_assert_eq(c.blocks_1g + c.blocks_2m, 0);
	cr_assert_eq(c.pages, 262144, "eager: split down to pages");
	cr_assert_eq(c.writable_pages, 0, "eager: all write-protected");
	s2_get_stats(e.vm, &st);
	cr_assert_eq(st.tables_allocated, 513, "one level-2 and 512 level-3 tables");
	cr_assert_eq(st.blocks_split, 1);
	cr_assert_eq(s2_translate(e.vm, page_ipa(70000), true, &w), 0);
	cr_assert_eq(w.fault, S2_FAULT_PERMISSION);
	cr_assert_eq(w.pa, S2_DEFAULT_PA_BASE + 70000ull * 4096);
	vm_free(&e);

	vm_make(&l, S2_LAYOUT_V7, S2_LAZY, S2_BLOCK_1G, S2_BLOCK_1G, 1);
	cr_assert_eq(s2_log_enable(l.vm, l.slot), 0);
	cr_assert_eq(s2_census(l.vm, l.slot, &c), 0);
	cr_assert_eq(c.blocks_1g, 1, "lazy: the block stays, write-protected");
	cr_assert_eq(c.writable_blocks, 0);
	cr_assert_eq(s2_write(l.vm, 0, page_ipa(70000), &v, sizeof(v)), 0);
	cr_assert_eq(s2_census(l.vm, l.slot, &c), 0);
	cr_assert_eq(c.blocks_1g, 0);
	cr_assert_eq(c.pages, 1, "lazy: only the faulted page is mapped");
	cr_assert_eq(c.writable_pages, 1);
	cr_assert_eq(c.unmapped_pages, 262143);
	cr_assert_eq(memcmp(l.host + 70000ull * 4096, &v, sizeof(v)), 0);
	vm_free(&l);
}

/* ---- the two strategies side by side ------------------------------- */

static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

#define SIDE_PAGES (32 * 512)	/* 64 MiB: 32 blocks */
#define SIDE_BLOCKS 32

/* Writes of one round: a hot block, a stride, and random pages. */
static void round_writes(struct vmfix *f, unsigned round, uint64_t seed,
			 uint64_t *expect)
{
	uint64_t s = seed * 7919 + round + 1, v;
	size_t i, page;

	for (i = 0; i < 600; i++) {
		if (i < 100)
			page = 3 * 512 + (i * 5) % 512;	/* block 3, rewritten */
		else if (i < 200)
			page = (i * 977 + round * 31) % (24 * 512); /* not the top 8 blocks */
		else
			page = rng_next(&s) % (SIDE_PAGES / 2); /* lower half only */
		v = ((uint64_t)round << 32) | i;
		cr_assert_eq(s2_write(f->vm, i % 2, page_ipa(page) + (i % 8) * 8, &v,
				      sizeof(v)), 0, "%s", db_strerror());
		expect[page / 64] |= 1ull << (page % 64);
	}
}

static void side_by_side(bool manual)
{
	uint64_t got[2][SIDE_PAGES / 64], expect[SIDE_PAGES / 64];
	struct vmfix f[2];
	struct s2_census c[2];
	struct s2_stats st[2];
	size_t written_blocks = 0, b, w;
	unsigned round, k;

	for (k = 0; k < 2; k++) {
		vm_make(&f[k], S2_LAYOUT_V7, k ? S2_LAZY : S2_EAGER,
			SIDE_PAGES * 4096ull, DB_HUGE_SIZE, 2);
		cr_assert_eq(s2_census(f[k].vm, f[k].slot, &c[k]), 0);
		cr_assert_eq(c[k].blocks_2m, SIDE_BLOCKS);
		s2_stats_reset(f[k].vm);
		cr_assert_eq(s2_log_enable(f[k].vm, f[k].slot), 0);
		cr_assert_eq(s2_census(f[k].vm, f[k].slot, &c[k]), 0);
		s2_get_stats(f[k].vm, &st[k]);
	}
	cr_assert_eq(c[0].blocks_2m, 0, "eager: no block left at enable");
	cr_assert_eq(c[0].pages, SIDE_PAGES);
	cr_assert_eq(st[0].blocks_split, SIDE_BLOCKS, "eager split every block");
	cr_assert_eq(st[0].tables_allocated, SIDE_BLOCKS);
	cr_assert_eq(c[1].blocks_2m, SIDE_BLOCKS, "lazy: blocks kept at enable");
	cr_assert_eq(c[1].writable_blocks, 0, "lazy: blocks write-protected");
	cr_assert_eq(st[1].blocks_split, 0);
	cr_assert_eq(st[0].tlb_flush_vmid, 1, "one VMID flush after the enable pass");
	cr_assert_eq(st[1].tlb_flush_vmid, 1);

	for (round = 0; round < 6; round++) {
		memset(expect, 0, sizeof(expect));
		for (k = 0; k < 2; k++) {
			uint64_t e2[SIDE_PAGES / 64] = { 0 };

			round_writes(&f[k], round, 1234, k ? e2 : expect);
			memset(got[k], 0, sizeof(got[k]));
			cr_assert_eq(s2_get_dirty_log(f[k].vm, f[k].slot, got[k],
						      manual), 0);
			if (manual)
				cr_assert_eq(s2_clear_dirty_log(f[k].vm, f[k].slot, 0,
								SIDE_PAGES, got[k]), 0);
		}
		cr_assert_eq(memcmp(got[0], got[1], sizeof(got[0])), 0,
			     "round %u: eager and lazy report the same pages", round);
		cr_assert_eq(memcmp(got[0], expect, sizeof(expect)), 0,
			     "round %u: exactly the pages written", round);
		if (round == 0) {
			for (b = 0; b < SIDE_BLOCKS; b++)
				for (w = b * 8; w < b * 8 + 8; w++)
					if (expect[w]) {
						written_blocks++;
						break;
					}
			s2_get_stats(f[1].vm, &st[1]);
			cr_assert_eq(st[1].blocks_split, written_blocks,
				     "lazy split only the %zu written blocks",
				     written_blocks);
			cr_assert_lt(written_blocks, SIDE_BLOCKS);
			s2_get_stats(f[0].vm, &st[0]);
			cr_assert_eq(st[0].blocks_split, SIDE_BLOCKS);
		}
	}
	for (k = 0; k < 2; k++)
		s2_get_stats(f[k].vm, &st[k]);
	cr_assert_eq(memcmp(f[0].host, f[1].host, SIDE_PAGES * 4096ull), 0,
		     "both guests' RAM ends identical");
	cr_assert_eq(st[0].dirty_marked, st[1].dirty_marked,
		     "the same number of write faults logged a page");
	cr_assert_eq(st[0].tlb_flush_vmid, 7, "enable + one flush per round");
	cr_assert_gt(st[0].tables_bytes, st[1].tables_bytes,
		     "eager holds more table memory (%llu vs %llu bytes)",
		     (unsigned long long)st[0].tables_bytes,
		     (unsigned long long)st[1].tables_bytes);
	cr_assert_gt(st[1].translation_faults, 0,
		     "lazy: other pages of a dissolved block take translation faults");
	cr_assert_eq(st[0].translation_faults, 0,
		     "eager: every page stays mapped, faults are permission faults");
	for (k = 0; k < 2; k++)
		vm_free(&f[k]);
}

Test(stage2, eager_and_lazy_log_identical_bitmaps)
{
	side_by_side(false);
}

Test(stage2, manual_protect_logs_identical_bitmaps)
{
	side_by_side(true);
}

Test(stage2, fault_kinds_and_split_counts)
{
	struct vmfix f;
	struct s2_stats st;
	uint64_t v = 1;

	vm_make(&f, S2_LAYOUT_V8, S2_LAZY, 4 * MIB, DB_HUGE_SIZE, 1);
	cr_assert_eq(s2_log_enable(f.vm, f.slot), 0);
	s2_stats_reset(f.vm);
	cr_assert_eq(s2_write(f.vm, 0, page_ipa(10), &v, sizeof(v)), 0);
	s2_get_stats(f.vm, &st);
	cr_assert_eq(st.perm_faults, 1, "a write to a protected block: permission fault");
	cr_assert_eq(st.blocks_split, 1);
	cr_assert_eq(st.tables_allocated, 1, "one level-3 table");
	cr_assert_eq(st.tlbi_ipa, 1, "break-before-make on the block entry");
	cr_assert_eq(s2_write(f.vm, 0, page_ipa(11), &v, sizeof(v)), 0);
	s2_get_stats(f.vm, &st);
	cr_assert_eq(st.translation_faults, 1, "its neighbour is unmapped now");
	cr_assert_eq(s2_write(f.vm, 0, page_ipa(10) + 8, &v, sizeof(v)), 0);
	s2_get_stats(f.vm, &st);
	cr_assert_eq(st.perm_faults + st.translation_faults, 2,
		     "a second write to a granted page does not fault");
	cr_assert_geq(st.tlb_hits, 1, "it hit the TLB");
	vm_free(&f);

	vm_make(&f, S2_LAYOUT_V8, S2_EAGER, 4 * MIB, DB_HUGE_SIZE, 1);
	cr_assert_eq(s2_log_enable(f.vm, f.slot), 0);
	s2_stats_reset(f.vm);
	cr_assert_eq(s2_write(f.vm, 0, page_ipa(10), &v, sizeof(v)), 0);
	cr_assert_eq(s2_write(f.vm, 0, page_ipa(11), &v, sizeof(v)), 0);
	s2_get_stats(f.vm, &st);
	cr_assert_eq(st.perm_faults, 2, "eager: both are permission faults");
	cr_assert_eq(st.translation_faults, 0);
	cr_assert_eq(st.tables_allocated, 0, "eager allocates nothing in faults");
	vm_free(&f);
}

static void cancel_rebuilds(enum s2_strategy strat)
{
	uint64_t bm[8 * 512 / 64], v = 7;
	struct s2_census before, c;
	struct s2_stats st, st0;
	struct vmfix f;
	size_t page;

	vm_make(&f, S2_LAYOUT_V7, strat, 16 * MIB, DB_HUGE_SIZE, 1);
	cr_assert_eq(s2_census(f.vm, f.slot, &before), 0);
	s2_get_stats(f.vm, &st0);
	cr_assert_eq(s2_log_enable(f.vm, f.slot), 0);
	s2_stats_reset(f.vm);
	for (page = 0; page < 3 * 512; page += 97)	/* blocks 0..2 */
		cr_assert_eq(s2_write(f.vm, 0, page_ipa(page), &v, sizeof(v)), 0);
	memset(bm, 0, sizeof(bm));
	cr_assert_eq(s2_get_dirty_log(f.vm, f.slot, bm, false), 0);
	cr_assert(s2_log_enabled(f.vm, f.slot));
	cr_assert_eq(s2_log_disable(f.vm, f.slot), 0);	/* migrate_cancel */
	cr_assert(!s2_log_enabled(f.vm, f.slot));
	cr_assert_eq(s2_census(f.vm, f.slot, &c), 0);
	cr_assert_eq(c.blocks_2m, strat == S2_EAGER ? 0 : 5,
		     "%s: blocks still split right after cancel",
		     s2_strategy_name(strat));
	/* The guest keeps running: renewed access touches every page. */
	for (page = 0; page < 8 * 512; page++)
		cr_assert_eq(s2_write(f.vm, 0, page_ipa(page), &v, sizeof(v)), 0);
	cr_assert_eq(s2_census(f.vm, f.slot, &c), 0);
	cr_assert_eq(c.blocks_2m, before.blocks_2m, "%s: every block rebuilt",
		     s2_strategy_name(strat));
	cr_assert_eq(c.writable_blocks, before.blocks_2m);
	cr_assert_eq(c.pages, 0);
	s2_get_stats(f.vm, &st);
	cr_assert_eq(st.blocks_rebuilt, strat == S2_EAGER ? 8 : 3,
		     "%s: blocks rebuilt over split ones", s2_strategy_name(strat));
	cr_assert_eq(st.tables_bytes, st0.tables_bytes,
		     "%s: table memory back to its pre-logging size",
		     s2_strategy_name(strat));
	cr_assert_eq(st.dirty_marked, 16, "16 pages logged, none after cancel");
	vm_free(&f);
}

Test(stage2, cancel_then_access_rebuilds_blocks_eager)
{
	cancel_rebuilds(S2_EAGER);
}

Test(stage2, cancel_then_access_rebuilds_blocks_lazy)
{
	cancel_rebuilds(S2_LAZY);
}

Test(stage2, clear_dirty_log_protects_only_what_it_clears)
{
	uint64_t bm[1024 / 64] = { 0 }, mask[1024 / 64] = { 0 }, v = 3;
	struct vmfix f;
	struct s2_walk w;

	vm_make(&f, S2_LAYOUT_V8, S2_EAGER, 4 * MIB, DB_HUGE_SIZE, 1);
	cr_assert_eq(s2_log_enable(f.vm, f.slot), 0);
	cr_assert_eq(s2_write(f.vm, 0, page_ipa(5), &v, sizeof(v)), 0);
	cr_assert_eq(s2_write(f.vm, 0, page_ipa(700), &v, sizeof(v)), 0);
	cr_assert_eq(s2_get_dirty_log(f.vm, f.slot, bm, true), 0);
	cr_assert_eq(bm[0], 1ull << 5);
	cr_assert_eq(bm[700 / 64], 1ull << (700 % 64));
	mask[0] = 1ull << 5;
	cr_assert_eq(s2_clear_dirty_log(f.vm, f.slot, 0, 1024, mask), 0);
	cr_assert_eq(s2_translate(f.vm, page_ipa(5), true, &w), 0);
	cr_assert_eq(w.fault, S2_FAULT_PERMISSION, "cleared page protected again");
	cr_assert_eq(s2_translate(f.vm, page_ipa(700), true, &w), 0);
	cr_assert_eq(w.fault, S2_FAULT_NONE, "uncleared page stays writable");
	memset(bm, 0, sizeof(bm));
	cr_assert_eq(s2_get_dirty_log(f.vm, f.slot, bm, true), 0);
	cr_assert_eq(bm[0], 0);
	cr_assert_eq(bm[700 / 64], 1ull << (700 % 64), "still dirty until cleared");
	cr_assert_eq(s2_clear_dirty_log(f.vm, f.slot, 3, 64, mask), -EINVAL,
		     "first must be a multiple of 64");
	vm_free(&f);
}

/* ---- the trackers: concurrent writers against a copying collector ---- */

struct mig {
	struct db_tracker *t;
	struct db_ram ram;
	unsigned nvcpus;
	int stop;
	uint64_t writes[4];
	int err[4];
};

struct writer {
	struct mig *m;
	unsigned vcpu;
};

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	struct mig *m = w->m;
	uint64_t s = 0x9e3779b97f4a7c15ull * (w->vcpu + 1), rec[4];
	size_t page;

	while (!__atomic_load_n(&m->stop, __ATOMIC_ACQUIRE)) {
		page = rng_next(&s) % m->ram.npages;
		rec[0] = w->vcpu;
		rec[1] = ++m->writes[w->vcpu];
		rec[2] = page;
		rec[3] = s;
		m->err[w->vcpu] = m->t->ops->guest_write(m->t, w->vcpu, page,
							 (rec[1] % 128) * 32,
							 rec, sizeof(rec));
		if (m->err[w->vcpu])
			break;
	}
	return NULL;
}

/*
 * A pre-copy migration in miniature: copy all RAM, then keep copying what
 * each collect reports while two vCPUs write; stop them, collect once more.
 * The copy must equal the RAM: no dirty page was lost.
 */
static void migrate_under_writes(const char *spec, enum db_backing backing)
{
	struct db_tracker_params params = { .nvcpus = 2, .seed = 1 };
	struct writer w[2];
	pthread_t th[2];
	struct db_bitmap dirty;
	struct db_counter cnt[DB_TRACKER_MAX_COUNTERS];
	struct mig m = { .nvcpus = 2 };
	uint8_t *copy;
	size_t i, n, rounds = 0, reported = 0;
	char why[256];
	int err;

	if (db_backing_probe(backing, why, sizeof(why)))
		cr_skip_test("backing %s not available here: %s",
			     db_backing_name(backing), why);
	err = db_ram_create(&m.ram, 16 * MIB, backing, 1);
	if (err == -ENOTSUP)
		cr_skip_test("backing %s: %s", db_backing_name(backing), db_strerror());
	cr_assert_eq(err, 0, "%s", db_strerror());
	cr_assert_eq(db_tracker_create(&m.t, spec, &params), 0, "%s", db_strerror());
	cr_assert_eq(db_tracker_attach(m.t, &m.ram), 0, "%s", db_strerror());
	cr_assert_eq(db_bitmap_init(&dirty, m.ram.npages), 0);
	copy = malloc(m.ram.size);
	cr_assert_not_null(copy);
	for (i = 0; i < 2; i++) {
		w[i] = (struct writer){ &m, (unsigned)i };
		cr_assert_eq(pthread_create(&th[i], NULL, writer_main, &w[i]), 0);
	}
	db_sleep_ns(2000000);	/* the guest ran before migration */
	cr_assert_eq(db_tracker_start(m.t), 0, "%s", db_strerror());
	memcpy(copy, m.ram.base, m.ram.size);		/* round 0 */
	for (rounds = 0; rounds < 150; rounds++) {
		db_bitmap_zero(&dirty);
		cr_assert_eq(db_tracker_collect(m.t, &dirty), 0, "%s", db_strerror());
		db_bitmap_for_each(&dirty, i)
			memcpy(copy + i * 4096, m.ram.base + i * 4096, 4096);
		reported += db_bitmap_count(&dirty);
		db_sleep_ns((rounds % 5) * 100000);
	}
	__atomic_store_n(&m.stop, 1, __ATOMIC_RELEASE);
	for (i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	db_bitmap_zero(&dirty);
	cr_assert_eq(db_tracker_collect(m.t, &dirty), 0);
	db_bitmap_for_each(&dirty, i)
		memcpy(copy + i * 4096, m.ram.base + i * 4096, 4096);
	for (i = 0; i < 2; i++)
		cr_assert_eq(m.err[i], 0, "vCPU %zu write failed", i);
	cr_assert_gt(m.writes[0] + m.writes[1], 10000, "the vCPUs made progress");
	cr_assert_gt(reported, 0);
	for (i = 0; i < m.ram.npages; i++)
		cr_assert_eq(memcmp(copy + i * 4096, m.ram.base + i * 4096, 4096), 0,
			     "%s on %s: page %zu written but never reported", spec,
			     db_backing_name(backing), i);
	n = db_tracker_counters(m.t, cnt, DB_ARRAY_SIZE(cnt));
	cr_assert_geq(n, 16);
	for (i = 0; i < n; i++)
		if (!strcmp(cnt[i].name, "tlb_flushes"))
			cr_assert_gt(cnt[i].value, 1);
	cr_assert_eq(db_tracker_stop(m.t), 0);
	free(copy);
	db_bitmap_free(&dirty);
	db_tracker_destroy(m.t);
	db_ram_destroy(&m.ram);
}

Test(stage2, lazy_tracker_loses_no_write_on_thp)
{
	migrate_under_writes("stage2-lazy", DB_BACKING_THP);
}

Test(stage2, eager_tracker_loses_no_write_on_thp)
{
	migrate_under_writes("stage2-eager", DB_BACKING_THP);
}

Test(stage2, trackers_lose_no_write_on_4k_backing)
{
	migrate_under_writes("stage2-lazy:layout=v8", DB_BACKING_ANON);
	migrate_under_writes("stage2-eager:tlb=16", DB_BACKING_ANON);
}

Test(stage2, manual_protect_tracker_loses_no_write)
{
	migrate_under_writes("stage2-lazy:manual,clear_chunk=512", DB_BACKING_THP);
}

Test(stage2, tracker_options_are_checked)
{
	struct db_tracker *t;

	cr_assert_eq(db_tracker_create(&t, "stage2-lazy:layout=v9", NULL), -EINVAL);
	cr_assert(strstr(db_strerror(), "v9"), "%s", db_strerror());
	cr_assert_eq(db_tracker_create(&t, "stage2-eager:tlb=100", NULL), -EINVAL);
	cr_assert(strstr(db_strerror(), "power of two"), "%s", db_strerror());
	cr_assert_eq(db_tracker_create(&t, "stage2-eager:bogus=1", NULL), -EINVAL);
	cr_assert(strstr(db_strerror(), "bogus"), "%s", db_strerror());
	cr_assert_eq(db_tracker_create(&t, "stage2-eager:layout=v8,exit_ns=500,manual", NULL), 0,
		     "%s", db_strerror());
	db_tracker_destroy(t);
}

Test(stage2, tracker_write_outside_ram_is_refused)
{
	struct db_tracker *t;
	struct db_ram ram;
	uint64_t v = 1;

	cr_assert_eq(db_ram_create(&ram, 1 * MIB, DB_BACKING_ANON, 0), 0);
	cr_assert_eq(db_tracker_create(&t, "stage2-lazy", NULL), 0);
	cr_assert_eq(db_tracker_attach(t, &ram), 0);
	cr_assert_eq(t->ops->guest_write(t, 0, 256, 0, &v, 8), -EINVAL);
	cr_assert_eq(t->ops->guest_write(t, 0, 0, 4090, &v, 8), -EINVAL,
		     "a write may not cross its page");
	cr_assert_eq(t->ops->guest_write(t, 1, 0, 0, &v, 8), -EINVAL,
		     "vCPU 1 of 1");
	cr_assert_eq(t->ops->guest_write(t, 0, 255, 4088, &v, 8), 0);
	cr_assert_eq(memcmp(ram.base + ram.size - 8, &v, 8), 0);
	db_tracker_destroy(t);
	db_ram_destroy(&ram);
}

static int dr_write(void *ctx, unsigned vcpu, size_t page, size_t off,
		    const void *src, size_t len)
{
	struct db_tracker *t = ctx;

	return t->ops->guest_write(t, vcpu, page, off, src, len);
}

/*
 * dirtyram's vCPU threads write through the tracker (struct dr_access) as
 * the engine wires them; a copying collector, then a pause and a last
 * collect, must leave a copy equal to the RAM.
 */
static void dirtyram_through(const char *spec)
{
	struct dr_config cfg = {
		.total_pages = 4096, .dirty_pages = 256, .period_ms = 1,
		.pattern = DR_PATTERN_RANDOM, .copies = 2, .seed = 7,
	};
	struct db_tracker_params params = { .nvcpus = 2, .seed = 1 };
	struct dr_access acc = { dr_write, NULL };
	struct dr_workload *w;
	struct db_tracker *t;
	struct db_bitmap dirty;
	struct dr_stats st;
	struct db_ram ram;
	uint8_t *copy;
	size_t i, round;
	char why[256];

	if (db_backing_probe(DB_BACKING_THP, why, sizeof(why)))
		cr_skip_test("needs 2 MiB backing for blocks: %s", why);
	cr_assert_eq(db_ram_create(&ram, 32 * MIB, DB_BACKING_THP, 1), 0, "%s",
		     db_strerror());
	cr_assert_eq(db_tracker_create(&t, spec, &params), 0, "%s", db_strerror());
	cr_assert_eq(db_tracker_attach(t, &ram), 0, "%s", db_strerror());
	acc.ctx = t;
	cr_assert_eq(dr_create(&w, &cfg, ram.base, ram.npages, &acc), 0);
	cr_assert_eq(db_bitmap_init(&dirty, ram.npages), 0);
	copy = malloc(ram.size);
	cr_assert_not_null(copy);
	cr_assert_eq(dr_start(w), 0);
	db_sleep_ns(5000000);
	cr_assert_eq(db_tracker_start(t), 0);
	memcpy(copy, ram.base, ram.size);
	for (round = 0; round <= 40; round++) {
		if (round == 40)
			cr_assert_eq(dr_pause(w, 1000000000ull), 0, "vCPUs pause");
		db_bitmap_zero(&dirty);
		cr_assert_eq(db_tracker_collect(t, &dirty), 0, "%s", db_strerror());
		db_bitmap_for_each(&dirty, i)
			memcpy(copy + i * 4096, ram.base + i * 4096, 4096);
		db_sleep_ns(1000000);
	}
	dr_get_stats(w, &st);
	cr_assert_gt(st.pages_written, 1000, "dirtyram wrote through the model");
	for (i = 0; i < ram.npages; i++)
		cr_assert_eq(memcmp(copy + i * 4096, ram.base + i * 4096, 4096), 0,
			     "%s: page %zu differs after the last round", spec, i);
	cr_assert_eq(dr_stop(w), 0, "no vCPU write failed: %s", db_strerror());
	dr_destroy(w);
	free(copy);
	db_bitmap_free(&dirty);
	db_tracker_destroy(t);
	db_ram_destroy(&ram);
}

Test(stage2, dirtyram_through_lazy_migrates_intact)
{
	dirtyram_through("stage2-lazy");
}

Test(stage2, dirtyram_through_eager_migrates_intact)
{
	dirtyram_through("stage2-eager:layout=v8");
}

/* ---- the virtual-time migration the benchmark runs ------------------- */

Test(stage2, sim_migrates_both_strategies_and_rebuilds_after_cancel)
{
	struct s2sim_config cfg = {
		.total_pages = 2048, .dirty_pages = 64, .period_ms = 10,
		.copies = 1, .guest_vcpus = 2, .ram_bytes = 16 * MIB,
		.backing = DB_BACKING_THP, .bandwidth_Bps = 100000000,
		.downtime_limit_ns = 10000000, .max_rounds = 20,
		.cancel_run_ns = 2000000000ull, .unlogged_ns = 1000000000ull,
	};
	struct s2sim_result r[2], base;
	uint64_t touched;
	char why[256];
	int k;

	if (db_backing_probe(DB_BACKING_THP, why, sizeof(why)))
		cr_skip_test("needs 2 MiB backing for blocks: %s", why);
	cfg.tracker = "stage2-lazy";
	cfg.unlogged = true;
	cr_assert_eq(s2sim_run(&cfg, &base), 0, "%s", db_strerror());
	cr_assert_eq(base.pages_written, 6400, "100 periods of 64 pages in 1 s");
	cr_assert_float_eq(base.achieved_pps, base.target_pps, 1e-6);
	cfg.unlogged = false;
	for (k = 0; k < 2; k++) {
		cfg.tracker = k ? "stage2-lazy" : "stage2-eager";
		cr_assert_eq(s2sim_run(&cfg, &r[k]), 0, "%s", db_strerror());
		cr_assert(r[k].ram_equal, "%s: destination image equals the RAM (%zu pages differ)",
			  cfg.tracker, r[k].mismatched_pages);
		cr_assert(r[k].converged, "%s converged", cfg.tracker);
		cr_assert_geq(r[k].rounds, 3);
		cr_assert_eq(r[k].blocks_before, 8, "16 MiB of 2 MiB blocks");
	}
	cr_assert_eq(s2sim_counter(&r[0], "blocks_split"), 8, "eager split all 8");
	touched = DB_DIV_ROUND_UP(DB_MIN(r[1].pages_written, 2048), 512);
	cr_assert_lt(touched, 8);
	cr_assert_eq(s2sim_counter(&r[1], "blocks_split"), touched,
		     "lazy split only the %llu blocks the workload wrote",
		     (unsigned long long)touched);
	cr_assert_eq(r[0].blocks_after_cancel, 4,
		     "eager: the written blocks come back, the others stay split");
	cr_assert_eq(r[1].blocks_after_cancel, 8, "lazy: every block mapped again");
	cr_assert_eq(r[0].rebuilt_after_cancel, 4);
	cr_assert_eq(r[1].rebuilt_after_cancel, touched);
}

/* ---- dirtybench stage2-bench ----------------------------------------- */

Test(stage2, bench_prints_both_strategies_and_a_verdict, .timeout = 120)
{
	const char *b = getenv("DIRTYBENCH_BIN");
	char bin[512], out[1024], csv[1024], why[256], *dir, *text, *rows;
	int rc;

	if (db_backing_probe(DB_BACKING_THP, why, sizeof(why)))
		cr_skip_test("the benchmark needs 2 MiB backing: %s", why);
	snprintf(bin, sizeof(bin), "%s/dirtybench", b && *b ? b : "bin");
	dir = fx_tmpdir("stage2-bench");
	snprintf(out, sizeof(out), "%s/out.txt", dir);
	snprintf(csv, sizeof(csv), "%s/rows.csv", dir);
	{
		const char *argv[] = { bin, "stage2-bench", "--scale", "0.02",
				       "--matrix", "102580:812:30x1", "--baseline-s", "2",
				       "--cancel-s", "1", "--csv", csv, NULL };

		rc = fx_run_cmd(argv, out, 100);
	}
	text = fx_read(out);
	cr_assert_eq(rc, 0, "exit status %d:\n%s", rc, text);
	cr_assert(strstr(text, "Migration (virtual time)"), "%s", text);
	cr_assert(strstr(text, "Stage-2 work during the migration"), "%s", text);
	cr_assert_eq(fx_count(text, "       eager  "), 2, "an eager row per table:\n%s", text);
	cr_assert_eq(fx_count(text, "       lazy   "), 2, "a lazy row per table:\n%s", text);
	cr_assert_eq(fx_count(text, "FALSE"), 0, "every destination equal:\n%s", text);
	cr_assert(strstr(text, "VERDICT: "), "a plain verdict:\n%s", text);
	rows = fx_read(csv);
	cr_assert_eq(fx_count(rows, "\n"), 3, "header and two rows:\n%s", rows);
	cr_assert(strstr(rows, "virtual,102580,812,30,1,0.02,eager,"), "%s", rows);
	free(rows);
	free(text);
	{
		const char *argv[] = { bin, "stage2-bench", "--scale", "2", NULL };

		cr_assert_eq(fx_run_cmd(argv, NULL, 10), 2, "--scale 2 is bad usage");
	}
	fx_cleanup(dir);
}

/*
 * stats.pages_reported counts the bits a collect set anew, not those the
 * bitmap held already: the stage-2 trackers count them themselves
 * (collect_count), in each split strategy and in manual-protect mode.
 */
static void reported_counts_only_new_bits(const char *spec)
{
	struct db_tracker_params params = { .nvcpus = 1, .seed = 1 };
	struct db_tracker *t;
	struct db_bitmap dirty;
	struct db_ram ram;
	uint64_t base;
	size_t i;
	char b = 1;

	cr_assert_eq(db_ram_create(&ram, 8 * MIB, DB_BACKING_ANON, 1), 0, "%s",
		     db_strerror());
	cr_assert_eq(db_tracker_create(&t, spec, &params), 0, "%s", db_strerror());
	cr_assert_eq(db_tracker_attach(t, &ram), 0, "%s", db_strerror());
	cr_assert_not_null(t->ops->collect_count, "%s counts what it reports", spec);
	cr_assert_eq(db_bitmap_init(&dirty, ram.npages), 0);
	cr_assert_eq(db_tracker_start(t), 0, "%s", db_strerror());
	/* 100 pages written; 40 of them, and 7 others, already in the bitmap */
	for (i = 0; i < 100; i++)
		cr_assert_eq(t->ops->guest_write(t, 0, 3 * i + 1, 0, &b, 1), 0);
	for (i = 0; i < 40; i++)
		db_bitmap_set(&dirty, 3 * i + 1);
	for (i = 0; i < 7; i++)
		db_bitmap_set(&dirty, 1000 + i);
	base = t->stats.pages_reported;
	cr_assert_eq(db_tracker_collect(t, &dirty), 0, "%s", db_strerror());
	cr_assert_eq(t->stats.pages_reported - base, 60, "%s: reported %llu anew", spec,
		     (unsigned long long)(t->stats.pages_reported - base));
	cr_assert_eq(db_bitmap_count(&dirty), 107, "%s: %zu bits set", spec,
		     db_bitmap_count(&dirty));
	/* nothing written since: a second collect adds nothing */
	cr_assert_eq(db_tracker_collect(t, &dirty), 0);
	cr_assert_eq(t->stats.pages_reported - base, 60, "%s: second collect", spec);
	cr_assert_eq(db_tracker_stop(t), 0);
	db_bitmap_free(&dirty);
	db_tracker_destroy(t);
	db_ram_destroy(&ram);
}

Test(stage2, pages_reported_counts_only_bits_new_to_the_bitmap)
{
	reported_counts_only_new_bits("stage2-eager");
	reported_counts_only_new_bits("stage2-lazy");
	reported_counts_only_new_bits("stage2-lazy:manual");
}
