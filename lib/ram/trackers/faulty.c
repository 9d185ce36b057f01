// SPDX-License-Identifier: MIT
/*
 * faulty:NAME[:drop=1/N][,seed=S] wraps any tracker and drops dirty bits on
 * purpose: a reported page is dropped when a seeded hash of (page, collect
 * number) falls in 1/N. Deterministic for a seed, so a validator that misses
 * lost pages is caught reproducibly.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dirtybench/common.h"
#include "dirtybench/tracker.h"

#define FAULTY_DEFAULT_N 100

struct faulty_priv {
	struct db_tracker *inner;
	struct db_bitmap scratch;
	uint64_t drop_n;
	uint64_t seed;
	uint64_t collect_no;
	uint64_t dropped;
};

static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static int faulty_probe(char *why, size_t len)
{
	return 0;
}

/* "INNER[:drop=1/N][,seed=S]"; INNER may itself carry ":args". */
static int faulty_configure(struct db_tracker *t, const char *args)
{
	struct faulty_priv *p = t->priv;
	char inner[96], *opt, *tok, *save = NULL;
	int err;

	p->drop_n = FAULTY_DEFAULT_N;
	p->seed = t->params.seed;
	if (!args || !*args)
		return db_error(-EINVAL,
				"tracker faulty needs an inner tracker: faulty:NAME[:drop=1/N]");
	snprintf(inner, sizeof(inner), "%s", args);
	opt = strstr(inner, ":drop=");
	if (!opt)
		opt = strstr(inner, ":seed=");
	if (opt) {
		*opt++ = '\0';
		for (tok = strtok_r(opt, ",", &save); tok;
		     tok = strtok_r(NULL, ",", &save)) {
			if (!strncmp(tok, "drop=1/", 7)) {
				err = db_parse_u64(tok + 7, 1, 1u << 30, &p->drop_n);
			} else if (!strncmp(tok, "seed=", 5)) {
				err = db_parse_u64(tok + 5, 0, UINT64_MAX, &p->seed);
			} else {
				err = -EINVAL;
				db_error(err, "unknown option");
			}
			if (err)
				return db_error(err,
						"tracker faulty: bad option '%s' (drop=1/N, seed=S): %s",
						tok, db_strerror());
		}
	}
	if (!strncmp(inner, "faulty", 6))
		return db_error(-EINVAL, "tracker faulty cannot wrap itself");
	err = db_tracker_create(&p->inner, inner, &t->params);
	if (err)
		return err;
	t->flags = db_tracker_flags(p->inner) | DB_TRK_FAULTY;
	return 0;
}

static int faulty_attach(struct db_tracker *t, struct db_ram *ram)
{
	struct faulty_priv *p = t->priv;
	int err;

	if (!p->inner)
		return -EINVAL;
	err = db_tracker_attach(p->inner, ram);
	if (err)
		return err;
	return db_bitmap_init(&p->scratch, ram->npages);
}

static int faulty_start(struct db_tracker *t)
{
	struct faulty_priv *p = t->priv;

	return db_tracker_start(p->inner);
}

static int faulty_collect(struct db_tracker *t, struct db_bitmap *dirty)
{
	struct faulty_priv *p = t->priv;
	size_t i;
	int err;

	db_bitmap_zero(&p->scratch);
	err = db_tracker_collect(p->inner, &p->scratch);
	if (err)
		return err;
	p->collect_no++;
	db_bitmap_for_each(&p->scratch, i) {
		if (mix(p->seed ^ mix(i ^ (p->collect_no << 40))) % p->drop_n == 0) {
			db_bitmap_clear(&p->scratch, i);
			p->dropped++;
		}
	}
	db_bitmap_or(dirty, &p->scratch);
	return 0;
}

static int faulty_snapshot_read(struct db_tracker *t, size_t first, size_t n,
				void *dst)
{
	struct faulty_priv *p = t->priv;

	return db_tracker_snapshot_read(p->inner, first, n, dst);
}

static int faulty_guest_write(struct db_tracker *t, unsigned vcpu, size_t page,
			      size_t off, const void *src, size_t len)
{
	struct faulty_priv *p = t->priv;

	return p->inner->ops->guest_write(p->inner, vcpu, page, off, src, len);
}

static int faulty_stop(struct db_tracker *t)
{
	struct faulty_priv *p = t->priv;

	return db_tracker_stop(p->inner);
}

static void faulty_detach(struct db_tracker *t)
{
	struct faulty_priv *p = t->priv;

	if (!p->inner)
		return;
	db_tracker_detach(p->inner);
	db_tracker_destroy(p->inner);
	p->inner = NULL;
	db_bitmap_free(&p->scratch);
}

static size_t faulty_counters(struct db_tracker *t, struct db_counter *out,
			      size_t max)
{
	struct faulty_priv *p = t->priv;
	size_t n = 0;

	if (max >= 1)
		out[n++] = (struct db_counter){ "dropped_pages", p->dropped };
	if (p->inner)
		n += db_tracker_counters(p->inner, out + n, max - n);
	return n;
}

const struct db_tracker_ops db_tracker_faulty = {
	.name = "faulty",
	.desc = "faulty:NAME[:drop=1/N] drops dirty bits of NAME on purpose",
	.flags = DB_TRK_FAULTY,
	.granularity = DB_PAGE_SIZE,
	.priv_size = sizeof(struct faulty_priv),
	.probe = faulty_probe,
	.configure = faulty_configure,
	.attach = faulty_attach,
	.start = faulty_start,
	.collect = faulty_collect,
	.snapshot_read = faulty_snapshot_read,
	.guest_write = faulty_guest_write,
	.stop = faulty_stop,
	.detach = faulty_detach,
	.counters = faulty_counters,
};
