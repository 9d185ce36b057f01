/* SPDX-License-Identifier: MIT */
/*
 * Dirty-page trackers: one ops table per mechanism, registered in one static
 * table (lib/trackers.def). The engine drives them only through this header.
 *
 * Life cycle:  create -> attach(ram) -> start -> collect* -> stop -> detach.
 * A round begins at start() and at every collect(). Collect reports every
 * page written since the round before it began.
 */
#ifndef DIRTYBENCH_TRACKER_H
#define DIRTYBENCH_TRACKER_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include "bitmap.h"
#include "ram.h"

struct db_tracker;

enum db_tracker_flags {
	/* Reports exactly the written pages (no false positives at 4 KiB). */
	DB_TRK_EXACT = 1u << 0,
	/* snapshot_read() serves the round-start image (copy-on-write). */
	DB_TRK_SNAPSHOT = 1u << 1,
	/* attach() maps the guest RAM itself (ram->backing == TRACKER). */
	DB_TRK_PROVIDES_RAM = 1u << 2,
	/* Writers must go through guest_write() (software MMU models). */
	DB_TRK_ACCESS = 1u << 3,
	/* Needs root (CAP_SYS_ADMIN / CAP_SYS_PTRACE) to run. */
	DB_TRK_ROOT = 1u << 4,
	/* Deliberately wrong: used to prove the validator catches loss. */
	DB_TRK_FAULTY = 1u << 5,
};

/* A named counter a tracker exports into the results. */
struct db_counter {
	const char *name;	/* static string, units in the name */
	uint64_t value;
};

#define DB_TRACKER_MAX_COUNTERS 24

/* What the caller knows when creating an instance. */
struct db_tracker_params {
	unsigned nvcpus;	/* writer threads that will use guest_write */
	uint64_t seed;		/* for anything deterministic-random */
};

struct db_tracker_ops {
	const char *name;
	const char *desc;	/* one line for `dirtybench trackers` */
	unsigned flags;		/* enum db_tracker_flags */
	size_t granularity;	/* bytes one dirty bit stands for (4096) */
	size_t priv_size;	/* zeroed allocation at t->priv */

	/*
	 * Required. Can this mechanism run here at all? 0, or -errno with a
	 * sentence in why (e.g. "CONFIG_MEM_SOFT_DIRTY is off: ...").
	 * Must be cheap, side-effect free and safe to call repeatedly.
	 */
	int (*probe)(char *why, size_t len);

	/*
	 * Optional. Parse the instance arguments after "NAME:" (NULL if none).
	 * Called once, before attach.
	 */
	int (*configure)(struct db_tracker *t, const char *args);

	/*
	 * Required. Bind to guest RAM. For DB_TRK_PROVIDES_RAM trackers
	 * ram->base is NULL and ram->size is set: map it, set base, npages,
	 * backing, map_pagesize and release. Nothing is tracked yet.
	 */
	int (*attach)(struct db_tracker *t, struct db_ram *ram);

	/*
	 * Required. Arm: every write after start() returns is tracked.
	 * Begins round 0 (and its snapshot image, for snapshot trackers).
	 */
	int (*start)(struct db_tracker *t);

	/*
	 * Required. OR into 'dirty' (npages bits) every page written since
	 * the current round began, then clear and re-arm, beginning the next
	 * round. A write that races with collect() is reported by this
	 * collect or the next one, never lost. May run while writers write.
	 */
	int (*collect)(struct db_tracker *t, struct db_bitmap *dirty);

	/*
	 * Optional. collect(), and add to *added how many of the bits it ORs
	 * into 'dirty' were clear there before. Without it the wrapper counts
	 * the bitmap before and after collect(): two passes over all of it,
	 * more than a sparse collect itself costs on a fast mechanism.
	 */
	int (*collect_count)(struct db_tracker *t, struct db_bitmap *dirty,
			     size_t *added);

	/*
	 * Optional (DB_TRK_SNAPSHOT). Copy into dst the content pages
	 * [first, first+n) had when the current round began, consistent and
	 * never torn, while writers keep writing.
	 */
	int (*snapshot_read)(struct db_tracker *t, size_t first, size_t n,
			     void *dst);

	/*
	 * Optional (DB_TRK_ACCESS). Write len bytes at page+off on behalf
	 * of vCPU 'vcpu' through the modelled MMU. Must be safe to call from
	 * nvcpus threads at once and concurrently with collect().
	 */
	int (*guest_write)(struct db_tracker *t, unsigned vcpu, size_t page,
			   size_t off, const void *src, size_t len);

	/* Required. Disarm: RAM is writable at full speed afterwards. */
	int (*stop)(struct db_tracker *t);

	/*
	 * Required. Release everything the tracker holds. Guest RAM stays
	 * intact and writable (provided RAM stays mapped until
	 * db_ram_destroy()). Idempotent, and safe after a failed or missing
	 * attach: db_tracker_destroy() calls it for unattached instances too.
	 */
	void (*detach)(struct db_tracker *t);

	/* Optional. Fill up to max counters; return how many. */
	size_t (*counters)(struct db_tracker *t, struct db_counter *out,
			   size_t max);
};

/* Generic figures kept by the wrappers below for every tracker. */
struct db_tracker_stats {
	uint64_t attach_ns;
	uint64_t start_ns;	/* arm time */
	uint64_t collects;
	uint64_t collect_ns;	/* total */
	uint64_t collect_max_ns;
	uint64_t pages_reported;
	uint64_t snapshot_pages;
};

struct db_tracker {
	const struct db_tracker_ops *ops;
	struct db_ram *ram;
	void *priv;
	struct db_tracker_params params;
	struct db_tracker_stats stats;
	unsigned flags;		/* ops->flags; wrappers may change them */
	bool attached, started;
	char name[96];		/* as given, e.g. "faulty:uffd-async:drop=1/1000" */
};

/* The registry, in display order. */
size_t db_tracker_count(void);
const struct db_tracker_ops *db_tracker_ops_at(size_t i);
const struct db_tracker_ops *db_tracker_find(const char *name);

/*
 * "NAME" or "NAME:ARGS". -ENOENT (message lists the known names) or the
 * probe's -errno with its reason (see db_strerror()).
 */
int db_tracker_create(struct db_tracker **out, const char *spec,
		      const struct db_tracker_params *params);
void db_tracker_destroy(struct db_tracker *t);	/* detaches if needed */

int db_tracker_attach(struct db_tracker *t, struct db_ram *ram);
int db_tracker_start(struct db_tracker *t);
int db_tracker_collect(struct db_tracker *t, struct db_bitmap *dirty);
int db_tracker_snapshot_read(struct db_tracker *t, size_t first, size_t n,
			     void *dst);
int db_tracker_stop(struct db_tracker *t);
void db_tracker_detach(struct db_tracker *t);
size_t db_tracker_counters(struct db_tracker *t, struct db_counter *out,
			   size_t max);
/* flags of the instance (the faulty wrapper reports its inner flags). */
unsigned db_tracker_flags(const struct db_tracker *t);

/* For counters hooks: copy up to max of the n counters in c; how many. */
size_t db_counters_copy(struct db_counter *out, size_t max,
			const struct db_counter *c, size_t n);

/* "exact,snapshot,provides-ram" for listings; returns buf. */
char *db_tracker_flags_str(unsigned flags, char *buf, size_t len);

#endif
