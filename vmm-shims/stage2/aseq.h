/* SPDX-License-Identifier: MIT */
/*
 * Access sequences: per round, an ordered list of guest accesses (page,
 * read or write, vCPU), replayed identically through real KVM and through
 * the stage-2 model so that their dirty sets can be compared bit for bit.
 *
 * Text format, one item per line, '#' starts a comment:
 *   aseq 1 pages N          header: the slot holds N 4 KiB pages
 *   round                   starts the next round
 *   r PAGE [VCPU]           a load from PAGE
 *   w PAGE [VCPU]           a store to PAGE
 */
#ifndef DIRTYBENCH_STAGE2_ASEQ_H
#define DIRTYBENCH_STAGE2_ASEQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "stage2.h"

#define ASEQ_MAX_PAGES		(1u << 22)	/* 16 GiB of 4 KiB pages */
#define ASEQ_MAX_ACCESSES	(1u << 24)
#define ASEQ_MAX_VCPUS		64u

struct aseq_access {
	uint32_t page;
	uint8_t write;
	uint8_t vcpu;
};

struct aseq_round {
	size_t first;			/* index into acc[] */
	size_t n;
};

struct aseq {
	uint32_t pages;
	size_t nrounds, nacc;
	struct aseq_round *rounds;
	struct aseq_access *acc;
};

void aseq_free(struct aseq *s);
/* Parse; on error returns -EINVAL with "line N: why" in err. */
int aseq_read(FILE *f, struct aseq *s, char *err, size_t errlen);
int aseq_write(FILE *f, const struct aseq *s);

/*
 * Generate: 'pattern' is "seq" or "random"; each round makes 'writes'
 * stores and 'reads' loads (reads spread over the whole slot, so many land
 * in dissolved blocks' unmapped pages), interleaved, on vCPU 0.
 */
int aseq_generate(struct aseq *s, const char *pattern, uint32_t pages,
		  size_t nrounds, size_t writes, size_t reads, uint64_t seed);

/* Figures of one round (counters are per-round deltas, tables a gauge). */
struct aseq_round_fig {
	size_t dirty;
	uint64_t hash;			/* FNV-1a 64 of the bitmap words */
	uint64_t translation_faults, perm_faults;
	uint64_t blocks_split, tables_allocated;
	uint64_t tables_live;
};

uint64_t aseq_bitmap_hash(const uint64_t *bm, size_t words);

/*
 * Replay through the model: a slot of s->pages on 2 MiB host pages, mapped
 * as a guest that ran (blocks), logging enabled, then per round the
 * accesses and GET_DIRTY_LOG. figs gets s->nrounds entries; if bitmaps is
 * not NULL it gets nrounds * words copies of the reported bitmaps.
 */
int aseq_replay_shim(const struct aseq *s, enum s2_strategy strat,
		     struct aseq_round_fig *figs, uint64_t *bitmaps);

#endif
