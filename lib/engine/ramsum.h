/* SPDX-License-Identifier: MIT */
/*
 * The RAM checksum both sides of a migration compute (docs/protocol.md,
 * "Verification"): a page's hash is the xxh3-64 of its bytes, a chunk's
 * the xxh3-64 of its pages' hashes (little-endian u64s), and the RAM's
 * the xxh3-128 of its chunks' hashes. Pages known to read as zero (see
 * db_zero_map) get the zero page's hash without being read, and a chunk
 * that is zero throughout gets the zero chunk's hash, computed once.
 */
#ifndef DIRTYBENCH_RAMSUM_H
#define DIRTYBENCH_RAMSUM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dirtybench/common.h"
#include "dirtybench/ram.h"

struct db_ram_sums {
	uint32_t chunk_pages;
	size_t nchunks;
	uint64_t *chunk;		/* nchunks hashes */
	struct db_hash128 sum;
	uint64_t zero_chunks;		/* chunks hashed without a read */
	uint64_t pages_read;		/* pages whose bytes were hashed */
};

/*
 * Hash the first npages pages of ram in chunks of chunk_pages; with
 * use_zero_map, pages the kernel says read as zero are not read. 0 or
 * -ENOMEM (with a message naming who).
 */
int db_ram_sums_compute(struct db_ram_sums *s, const char *who,
			const struct db_ram *ram, size_t npages,
			uint32_t chunk_pages, bool use_zero_map);
void db_ram_sums_free(struct db_ram_sums *s);
/* The hash of one page, as HASHES of kind pages carry it. */
uint64_t db_page_hash(const void *page);

#endif
