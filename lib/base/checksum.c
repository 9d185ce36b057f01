// SPDX-License-Identifier: MIT
/*
 * xxh3 hashing: the 64-bit page hash and the 128-bit whole-RAM checksum,
 * one-shot and piece by piece. On x86 the library picks SSE2, AVX2 or
 * AVX-512 at run time (xxh_x86dispatch.h); the values are the same.
 */
#include <stdlib.h>

#include <xxhash.h>

#include "config.h"
#include "dirtybench/common.h"

#ifdef HAVE_XXH_X86DISPATCH
#include <xxh_x86dispatch.h>
#define H64 XXH3_64bits_dispatch
#define H128 XXH3_128bits_dispatch
#define H128_UPDATE XXH3_128bits_update_dispatch
#else
#define H64 XXH3_64bits
#define H128 XXH3_128bits
#define H128_UPDATE XXH3_128bits_update
#endif

/* Zeros hashed in place of memory known to read as zero. */
static const uint8_t zeros[64 * 1024];

struct db_hash128_state {
	XXH3_state_t *xs;
};

uint64_t db_hash64(const void *p, size_t len)
{
	return H64(p, len);
}

static struct db_hash128 from_xxh(XXH128_hash_t h)
{
	struct db_hash128 r = { .hi = h.high64, .lo = h.low64 };

	return r;
}

struct db_hash128 db_hash128(const void *p, size_t len)
{
	return from_xxh(H128(p, len));
}

struct db_hash128_state *db_hash128_begin(void)
{
	struct db_hash128_state *st = malloc(sizeof(*st));

	if (!st)
		return NULL;
	st->xs = XXH3_createState();
	if (!st->xs) {
		free(st);
		return NULL;
	}
	XXH3_128bits_reset(st->xs);
	return st;
}

void db_hash128_add(struct db_hash128_state *st, const void *p, size_t len)
{
	H128_UPDATE(st->xs, p, len);
}

void db_hash128_zeros(struct db_hash128_state *st, size_t len)
{
	size_t n;

	for (; len; len -= n) {
		n = DB_MIN(len, sizeof(zeros));
		H128_UPDATE(st->xs, zeros, n);
	}
}

struct db_hash128 db_hash128_end(struct db_hash128_state *st)
{
	struct db_hash128 r = from_xxh(XXH3_128bits_digest(st->xs));

	XXH3_freeState(st->xs);
	free(st);
	return r;
}
