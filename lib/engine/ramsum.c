// SPDX-License-Identifier: MIT
/* The RAM checksum of the verification (see ramsum.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dirtybench/common.h"
#include "engine/ramsum.h"
#include "ram/mmtrack.h"
#include "wire/proto.h"

static const uint8_t zero_page[DB_PAGE_SIZE];

uint64_t db_page_hash(const void *page)
{
	return db_hash64(page, DB_PAGE_SIZE);
}

/* The chunk hash of n page hashes (LE u64 each) in buf. */
static uint64_t chunk_of(uint8_t *buf, size_t n)
{
	return db_hash64(buf, 8 * n);
}

int db_ram_sums_compute(struct db_ram_sums *s, const char *who,
			const struct db_ram *ram, size_t npages,
			uint32_t chunk_pages, bool use_zero_map)
{
	struct db_hash128_state *hs = NULL;
	struct db_zero_map zm;
	uint64_t zpage = db_page_hash(zero_page), zchunk = 0;
	uint8_t *buf, le[8];
	size_t c, first, n, j, k, z;

	memset(s, 0, sizeof(*s));
	s->chunk_pages = chunk_pages;
	s->nchunks = DB_DIV_ROUND_UP(npages, chunk_pages);
	s->chunk = malloc(DB_MAX(s->nchunks, 1) * sizeof(*s->chunk));
	buf = malloc(8 * (size_t)chunk_pages);
	if (s->chunk && buf)
		hs = db_hash128_begin();
	if (!hs) {
		free(buf);
		db_ram_sums_free(s);
		return db_error(-ENOMEM, "%s: no memory to hash the RAM", who);
	}
	for (k = 0; k < chunk_pages; k++)
		db_put64(buf + 8 * k, zpage);
	zchunk = chunk_of(buf, chunk_pages);
	if (use_zero_map)
		db_zero_map_open(&zm, ram);
	else
		zm.fd = -1;
	for (c = 0; c < s->nchunks; c++) {
		first = c * chunk_pages;
		n = DB_MIN((size_t)chunk_pages, npages - first);
		z = db_zero_map_run(&zm, first, n);
		if (z == n && n == chunk_pages) {
			s->chunk[c] = zchunk;
			s->zero_chunks++;
		} else {
			for (j = 0; j < n; j += z ? z : 1) {
				z = j ? db_zero_map_run(&zm, first + j, n - j) : z;
				for (k = 0; k < z; k++)
					db_put64(buf + 8 * (j + k), zpage);
				if (z)
					continue;
				db_put64(buf + 8 * j,
					 db_page_hash(db_ram_page(ram, first + j)));
				s->pages_read++;
			}
			s->chunk[c] = chunk_of(buf, n);
		}
		db_put64(le, s->chunk[c]);
		db_hash128_add(hs, le, sizeof(le));
	}
	db_zero_map_close(&zm);
	free(buf);
	s->sum = db_hash128_end(hs);
	return 0;
}

void db_ram_sums_free(struct db_ram_sums *s)
{
	free(s->chunk);
	s->chunk = NULL;
	s->nchunks = 0;
}
