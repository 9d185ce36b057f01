// SPDX-License-Identifier: MIT
/* The trackers' registry and the timed wrappers the engine calls. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dirtybench/common.h"
#include "dirtybench/tracker.h"

#define DB_TRACKER(id) extern const struct db_tracker_ops db_tracker_##id;
#include "ram/trackers.def"
#undef DB_TRACKER

static const struct db_tracker_ops *const registry[] = {
#define DB_TRACKER(id) &db_tracker_##id,
#include "ram/trackers.def"
#undef DB_TRACKER
};

size_t db_tracker_count(void)
{
	return DB_ARRAY_SIZE(registry);
}

const struct db_tracker_ops *db_tracker_ops_at(size_t i)
{
	return i < DB_ARRAY_SIZE(registry) ? registry[i] : NULL;
}

const struct db_tracker_ops *db_tracker_find(const char *name)
{
	size_t i, n = strcspn(name, ":");

	for (i = 0; i < DB_ARRAY_SIZE(registry); i++)
		if (strlen(registry[i]->name) == n &&
		    !strncmp(registry[i]->name, name, n))
			return registry[i];
	return NULL;
}

int db_tracker_create(struct db_tracker **out, const char *spec,
		      const struct db_tracker_params *params)
{
	const struct db_tracker_ops *ops = db_tracker_find(spec);
	const char *args = strchr(spec, ':');
	struct db_tracker *t;
	char why[512], names[512];
	size_t i, off = 0;
	int err;

	*out = NULL;
	if (!ops) {
		names[0] = '\0';
		for (i = 0; i < DB_ARRAY_SIZE(registry); i++)
			off += (size_t)snprintf(names + off,
						off < sizeof(names) ? sizeof(names) - off : 0,
						"%s%s", i ? ", " : "",
						registry[i]->name);
		return db_error(-ENOENT, "unknown tracker '%.*s' (known: %s)",
				(int)strcspn(spec, ":"), spec, names);
	}
	why[0] = '\0';
	err = ops->probe(why, sizeof(why));
	if (err)
		return db_error(err, "tracker %s cannot run here: %s", ops->name,
				why);
	if (strlen(spec) >= sizeof(t->name))
		return db_error(-EINVAL, "tracker spec '%s' is too long", spec);

	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->ops = ops;
	t->flags = ops->flags;
	if (params)
		t->params = *params;
	if (!t->params.nvcpus)
		t->params.nvcpus = 1;
	snprintf(t->name, sizeof(t->name), "%s", spec);
	if (ops->priv_size) {
		t->priv = calloc(1, ops->priv_size);
		if (!t->priv) {
			free(t);
			return -ENOMEM;
		}
	}
	if (args && !ops->configure) {
		err = db_error(-EINVAL, "tracker %s takes no arguments (got '%s')",
			       ops->name, args + 1);
		goto fail;
	}
	if (ops->configure) {
		err = ops->configure(t, args ? args + 1 : NULL);
		if (err)
			goto fail;
	}
	*out = t;
	return 0;
fail:
	free(t->priv);
	free(t);
	return err;
}

void db_tracker_destroy(struct db_tracker *t)
{
	if (!t)
		return;
	if (t->attached)
		db_tracker_detach(t);
	else
		t->ops->detach(t);
	free(t->priv);
	free(t);
}

int db_tracker_attach(struct db_tracker *t, struct db_ram *ram)
{
	uint64_t t0 = db_now_ns();
	int err;

	if (t->attached)
		return db_error(-EBUSY, "tracker %s: already attached", t->name);
	if (((t->flags & DB_TRK_PROVIDES_RAM) != 0) != (ram->base == NULL))
		return db_error(-EINVAL, "tracker %s: %s", t->name,
				ram->base ? "provides the RAM itself (pass an unmapped db_ram)"
					  : "needs mapped guest RAM");
	t->ram = ram;
	err = t->ops->attach(t, ram);
	t->stats.attach_ns = db_now_ns() - t0;
	if (err) {
		t->ops->detach(t);
		t->ram = NULL;
		return err;
	}
	t->attached = true;
	return 0;
}

int db_tracker_start(struct db_tracker *t)
{
	uint64_t t0 = db_now_ns();
	int err;

	if (!t->attached)
		return db_error(-EINVAL, "tracker %s: start before attach", t->name);
	if (t->started)
		return db_error(-EBUSY, "tracker %s: already started", t->name);
	err = t->ops->start(t);
	t->stats.start_ns = db_now_ns() - t0;
	if (!err)
		t->started = true;
	return err;
}

int db_tracker_collect(struct db_tracker *t, struct db_bitmap *dirty)
{
	uint64_t t0, dt;
	size_t before = 0, added = 0;
	int err;

	if (!t->started)
		return db_error(-EINVAL, "tracker %s: collect before start", t->name);
	if (dirty->nbits != t->ram->npages)
		return db_error(-EINVAL, "tracker %s: bitmap of %zu bits for %zu pages",
				t->name, dirty->nbits, t->ram->npages);
	/* Pages reported anew: counted by the tracker, or here around it. */
	if (!t->ops->collect_count)
		before = db_bitmap_empty(dirty) ? 0 : db_bitmap_count(dirty);
	t0 = db_now_ns();
	if (t->ops->collect_count)
		err = t->ops->collect_count(t, dirty, &added);
	else
		err = t->ops->collect(t, dirty);
	dt = db_now_ns() - t0;
	t->stats.collects++;
	t->stats.collect_ns += dt;
	if (dt > t->stats.collect_max_ns)
		t->stats.collect_max_ns = dt;
	if (!err && !t->ops->collect_count)
		added = db_bitmap_count(dirty) - before;
	if (!err)
		t->stats.pages_reported += added;
	return err;
}

int db_tracker_snapshot_read(struct db_tracker *t, size_t first, size_t n,
			     void *dst)
{
	if (!t->ops->snapshot_read)
		return db_error(-ENOTSUP, "tracker %s: no snapshot reads", t->name);
	if (!t->started || first > t->ram->npages || n > t->ram->npages - first)
		return db_error(-EINVAL, "tracker %s: snapshot read of pages [%zu, +%zu) out of range",
				t->name, first, n);
	t->stats.snapshot_pages += n;
	return t->ops->snapshot_read(t, first, n, dst);
}

int db_tracker_stop(struct db_tracker *t)
{
	int err;

	if (!t->started)
		return 0;
	err = t->ops->stop(t);
	t->started = false;
	return err;
}

void db_tracker_detach(struct db_tracker *t)
{
	if (!t->attached)
		return;
	if (t->started)
		db_tracker_stop(t);
	t->ops->detach(t);
	t->attached = false;
}

size_t db_tracker_counters(struct db_tracker *t, struct db_counter *out,
			   size_t max)
{
	if (!t->ops->counters || !t->attached)
		return 0;
	return t->ops->counters(t, out, max);
}

size_t db_counters_copy(struct db_counter *out, size_t max,
			const struct db_counter *c, size_t n)
{
	n = DB_MIN(n, max);
	memcpy(out, c, n * sizeof(*c));
	return n;
}

unsigned db_tracker_flags(const struct db_tracker *t)
{
	return t->flags;
}

char *db_tracker_flags_str(unsigned flags, char *buf, size_t len)
{
	static const struct {
		unsigned f;
		const char *s;
	} tab[] = {
		{ DB_TRK_EXACT, "exact" },
		{ DB_TRK_SNAPSHOT, "snapshot" },
		{ DB_TRK_PROVIDES_RAM, "provides-ram" },
		{ DB_TRK_ACCESS, "mmu-model" },
		{ DB_TRK_ROOT, "root" },
		{ DB_TRK_FAULTY, "faulty" },
	};
	size_t i, off = 0;

	buf[0] = '\0';
	for (i = 0; i < DB_ARRAY_SIZE(tab); i++)
		if ((flags & tab[i].f) && off < len)
			off += (size_t)snprintf(buf + off, len - off, "%s%s",
						off ? "," : "", tab[i].s);
	if (!off)
		snprintf(buf, len, "-");
	return buf;
}
