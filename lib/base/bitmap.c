// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dirtybench/bitmap.h"

int db_bitmap_init(struct db_bitmap *b, size_t nbits)
{
	size_t words = DB_BITMAP_WORDS(nbits);

	b->words = calloc(words ? words : 1, sizeof(uint64_t));
	if (!b->words)
		return -ENOMEM;
	b->nbits = nbits;
	return 0;
}

void db_bitmap_free(struct db_bitmap *b)
{
	free(b->words);
	b->words = NULL;
	b->nbits = 0;
}

void db_bitmap_zero(struct db_bitmap *b)
{
	memset(b->words, 0, DB_BITMAP_WORDS(b->nbits) * sizeof(uint64_t));
}

void db_bitmap_fill(struct db_bitmap *b)
{
	db_bitmap_zero(b);
	db_bitmap_set_range(b, 0, b->nbits);
}

static size_t count_words(const uint64_t *w, size_t nw)
{
	size_t i, n = 0;

	for (i = 0; i < nw; i++)
		n += (size_t)__builtin_popcountll(w[i]);
	return n;
}

#if defined(__x86_64__) && defined(__GNUC__)
/*
 * The baseline x86-64 has no POPCNT instruction: the builtin then calls
 * a libgcc routine per word, which made counting 1 GiB's bitmap cost tens
 * of microseconds. Every x86 CPU of the last 15 years has it.
 */
__attribute__((target("popcnt")))
static size_t count_words_popcnt(const uint64_t *w, size_t nw)
{
	size_t i, n = 0;

	for (i = 0; i < nw; i++)
		n += (size_t)__builtin_popcountll(w[i]);
	return n;
}
#endif

bool db_bitmap_empty(const struct db_bitmap *b)
{
	typedef uint64_t v4 __attribute__((vector_size(32), aligned(8)));
	size_t i, nw = DB_BITMAP_WORDS(b->nbits);
	uint64_t acc = 0;
	v4 vacc = { 0 };

	for (i = 0; i + 4 <= nw; i += 4)
		vacc |= *(const v4 *)(b->words + i);
	for (; i < nw; i++)
		acc |= b->words[i];
	return !(acc | vacc[0] | vacc[1] | vacc[2] | vacc[3]);
}

size_t db_bitmap_count(const struct db_bitmap *b)
{
#if defined(__x86_64__) && defined(__GNUC__)
	if (__builtin_cpu_supports("popcnt"))
		return count_words_popcnt(b->words, DB_BITMAP_WORDS(b->nbits));
#endif
	return count_words(b->words, DB_BITMAP_WORDS(b->nbits));
}

void db_bitmap_or(struct db_bitmap *dst, const struct db_bitmap *src)
{
	size_t i;

	for (i = 0; i < DB_BITMAP_WORDS(dst->nbits); i++)
		dst->words[i] |= src->words[i];
}

size_t db_bitmap_next(const struct db_bitmap *b, size_t from)
{
	size_t w = from / 64, nw = DB_BITMAP_WORDS(b->nbits);
	uint64_t word;

	if (from >= b->nbits)
		return b->nbits;
	word = b->words[w] & (~0ull << (from % 64));
	for (;;) {
		if (word) {
			size_t i = w * 64 + (size_t)__builtin_ctzll(word);

			return i < b->nbits ? i : b->nbits;
		}
		if (++w >= nw)
			return b->nbits;
		word = b->words[w];
	}
}

void db_bitmap_set_range(struct db_bitmap *b, size_t first, size_t n)
{
	size_t i = first, end = first + n;

	if (end > b->nbits)
		end = b->nbits;
	while (i < end && i % 64)
		db_bitmap_set(b, i++);
	while (i + 64 <= end) {
		b->words[i / 64] = ~0ull;
		i += 64;
	}
	while (i < end)
		db_bitmap_set(b, i++);
}
