/* SPDX-License-Identifier: MIT */
/* A plain dirty bitmap: one bit per tracked page, 64-bit words. */
#ifndef DIRTYBENCH_BITMAP_H
#define DIRTYBENCH_BITMAP_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

struct db_bitmap {
	uint64_t *words;
	size_t nbits;
};

#define DB_BITMAP_WORDS(n) (((n) + 63) / 64)

int db_bitmap_init(struct db_bitmap *b, size_t nbits);
void db_bitmap_free(struct db_bitmap *b);
void db_bitmap_zero(struct db_bitmap *b);
void db_bitmap_fill(struct db_bitmap *b);
size_t db_bitmap_count(const struct db_bitmap *b);
/* dst |= src; sizes must match. */
void db_bitmap_or(struct db_bitmap *dst, const struct db_bitmap *src);
/* Next set bit at or after 'from', or b->nbits if none. */
size_t db_bitmap_next(const struct db_bitmap *b, size_t from);
/* No bit set (cheaper than a count). */
bool db_bitmap_empty(const struct db_bitmap *b);
void db_bitmap_set_range(struct db_bitmap *b, size_t first, size_t n);

static inline void db_bitmap_set(struct db_bitmap *b, size_t i)
{
	b->words[i / 64] |= (uint64_t)1 << (i % 64);
}

static inline void db_bitmap_clear(struct db_bitmap *b, size_t i)
{
	b->words[i / 64] &= ~((uint64_t)1 << (i % 64));
}

static inline bool db_bitmap_test(const struct db_bitmap *b, size_t i)
{
	return (b->words[i / 64] >> (i % 64)) & 1;
}

/* Atomic set, for trackers whose fault handlers run on vCPU threads. */
static inline void db_bitmap_set_atomic(struct db_bitmap *b, size_t i)
{
	__atomic_fetch_or(&b->words[i / 64], (uint64_t)1 << (i % 64),
			  __ATOMIC_RELAXED);
}

/*
 * Bits set in x, inline: on baseline x86-64 __builtin_popcountll is a
 * libgcc call, too dear where a loop counts word by word.
 */
static inline unsigned db_popcount64(uint64_t x)
{
#if defined(__POPCNT__) || !defined(__x86_64__)
	return (unsigned)__builtin_popcountll(x);
#else
	x -= (x >> 1) & 0x5555555555555555ull;
	x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
	x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0full;
	return (unsigned)((x * 0x0101010101010101ull) >> 56);
#endif
}

/* Atomically take word w (returning it) and leave it zero. */
static inline uint64_t db_bitmap_xchg_word(struct db_bitmap *b, size_t w)
{
	return __atomic_exchange_n(&b->words[w], 0, __ATOMIC_ACQ_REL);
}

#define db_bitmap_for_each(b, i) \
	for ((i) = db_bitmap_next((b), 0); (i) < (b)->nbits; \
	     (i) = db_bitmap_next((b), (i) + 1))

#endif
