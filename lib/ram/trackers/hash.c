// SPDX-License-Identifier: MIT
/*
 * hash: per-page xxh3 against the previous round. Needs no kernel support
 * and no fault on the write path, so it is the reference oracle the other
 * trackers are checked against. Cost: one pass over all of RAM per collect.
 */
#include <errno.h>
#include <stdlib.h>

#include "dirtybench/common.h"
#include "dirtybench/tracker.h"

struct hash_priv {
	uint64_t *sums;
	uint64_t pages_hashed;
};

static int hash_probe(char *why, size_t len)
{
	return 0;
}

static int hash_attach(struct db_tracker *t, struct db_ram *ram)
{
	struct hash_priv *p = t->priv;

	p->sums = calloc(ram->npages, sizeof(*p->sums));
	if (!p->sums)
		return db_error(-ENOMEM, "tracker hash: no memory for %zu page sums",
				ram->npages);
	return 0;
}

static int hash_start(struct db_tracker *t)
{
	struct hash_priv *p = t->priv;
	size_t i;

	for (i = 0; i < t->ram->npages; i++)
		p->sums[i] = db_hash64(db_ram_page(t->ram, i), DB_PAGE_SIZE);
	p->pages_hashed += t->ram->npages;
	return 0;
}

static int hash_collect(struct db_tracker *t, struct db_bitmap *dirty)
{
	struct hash_priv *p = t->priv;
	size_t i;
	uint64_t h;

	for (i = 0; i < t->ram->npages; i++) {
		h = db_hash64(db_ram_page(t->ram, i), DB_PAGE_SIZE);
		if (h != p->sums[i]) {
			p->sums[i] = h;
			db_bitmap_set(dirty, i);
		}
	}
	p->pages_hashed += t->ram->npages;
	return 0;
}

static int hash_stop(struct db_tracker *t)
{
	return 0;
}

static void hash_detach(struct db_tracker *t)
{
	struct hash_priv *p = t->priv;

	free(p->sums);
	p->sums = NULL;
}

static size_t hash_counters(struct db_tracker *t, struct db_counter *out,
			    size_t max)
{
	struct hash_priv *p = t->priv;

	if (max < 1)
		return 0;
	out[0] = (struct db_counter){ "pages_hashed", p->pages_hashed };
	return 1;
}

const struct db_tracker_ops db_tracker_hash = {
	.name = "hash",
	.desc = "per-page xxh3 against the last round (reference oracle)",
	.flags = DB_TRK_EXACT,
	.granularity = DB_PAGE_SIZE,
	.priv_size = sizeof(struct hash_priv),
	.probe = hash_probe,
	.attach = hash_attach,
	.start = hash_start,
	.collect = hash_collect,
	.stop = hash_stop,
	.detach = hash_detach,
	.counters = hash_counters,
};
