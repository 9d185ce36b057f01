// SPDX-License-Identifier: MIT
/*
 * Every tracker in the registry, through the same checks: nothing written
 * is ever missed, exact trackers report nothing else, snapshots show the
 * round start while writers write, huge backings keep their granularity,
 * writes racing with collect arrive this round or the next, detach leaves
 * RAM alone, and the faulty wrapper's losses are caught. Trackers that
 * cannot run here are skipped with their probe's reason.
 *
 * Pages carry a dirtyram stamp (struct dr_stamp) and a fill derived from
 * (page, generation), written stamp last, so content checks can tell which
 * write a page holds and whether a copy caught a write half done.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ram/mmtrack.h"
#include "dirtybench/bitmap.h"
#include "dirtybench/common.h"
#include "dirtybench/dirtyram.h"
#include "dirtybench/ram.h"
#include "dirtybench/tracker.h"

#define RAM_SIZE ((size_t)16 << 20)
#define WORDS (DB_PAGE_SIZE / sizeof(uint64_t))
#define STAMP_WORDS (sizeof(struct dr_stamp) / sizeof(uint64_t))

struct trk_param {
	char spec[96];
};

/*
 * DIRTYBENCH_TRACKERS="a,b" limits the suite to those trackers (the kernel
 * test bed runs it for kmod-cow alone); unset, every tracker is tested.
 * An entry with arguments ("kvm:split=eager") is one more instance of
 * that tracker to test, beside the plain one if that is listed too.
 */
static bool selected(const char *name)
{
	const char *p = getenv("DIRTYBENCH_TRACKERS");
	size_t k, n = strlen(name);

	if (!p || !*p)
		return true;
	for (; *p; p += k + (p[k] == ',')) {
		k = strcspn(p, ",");
		if (k == n && !strncmp(p, name, n))
			return true;
	}
	return false;
}

static void need_selected(const char *name)
{
	if (!selected(name))
		cr_skip_test("tracker %s is not in DIRTYBENCH_TRACKERS", name);
}

/* Every registered tracker but the faulty wrapper (it has its own tests). */
static struct criterion_test_params all_trackers(void)
{
	const char *env = getenv("DIRTYBENCH_TRACKERS"), *e;
	size_t i, k, n = 0, count = db_tracker_count(), max = count + 1;
	struct trk_param *p;

	for (e = env; e && *e; e++)
		max += *e == ',';
	p = cr_malloc(max * sizeof(*p));
	for (i = 0; i < count; i++) {
		const struct db_tracker_ops *ops = db_tracker_ops_at(i);

		if (ops->flags & DB_TRK_FAULTY || !selected(ops->name))
			continue;
		memset(&p[n], 0, sizeof(p[n]));
		snprintf(p[n].spec, sizeof(p[n].spec), "%s", ops->name);
		n++;
	}
	for (e = env; e && *e && n < max; e += k + (e[k] == ',')) {
		const struct db_tracker_ops *ops = db_tracker_find(e);

		k = strcspn(e, ",");
		if (!ops || ops->flags & DB_TRK_FAULTY || !memchr(e, ':', k))
			continue;
		memset(&p[n], 0, sizeof(p[n]));
		snprintf(p[n].spec, sizeof(p[n].spec), "%.*s", (int)k, e);
		n++;
	}
	return cr_make_param_array(struct trk_param, p, n);
}

#define TRACKER_TEST(name)                                              \
	ParameterizedTestParameters(trackers, name)                     \
	{                                                               \
		return all_trackers();                                  \
	}                                                               \
	ParameterizedTest(struct trk_param *param, trackers, name, .timeout = 60)

/* A tracker on RAM, as the engine would set it up. */
struct fx {
	const char *spec;
	struct db_tracker *t;
	struct db_ram ram;
	unsigned flags;
	size_t npages;
	struct db_bitmap written, got;	/* pages a round wrote, and got back */
};

static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static uint64_t rng_next(uint64_t *s)
{
	*s = mix(*s);
	return *s;
}

static uint64_t fill_word(size_t page, uint64_t gen, size_t i)
{
	return mix(((uint64_t)page << 32) ^ gen) + i;
}

/* Skip (with the probe's reason) if the tracker cannot run here. */
static void fx_create(struct fx *f, const char *spec, unsigned nvcpus)
{
	const struct db_tracker_ops *ops = db_tracker_find(spec);
	struct db_tracker_params tp = { .nvcpus = nvcpus, .seed = 42 };
	char why[512] = "";
	int err;

	memset(f, 0, sizeof(*f));
	f->ram.fd = -1;
	f->spec = spec;
	cr_assert(ops, "tracker %s is registered", spec);
	if (ops->probe(why, sizeof(why)))
		cr_skip_test("tracker %s cannot run here: %s", spec, why);
	err = db_tracker_create(&f->t, spec, &tp);
	cr_assert_eq(err, 0, "tracker %s: create: %s", spec, db_strerror());
	f->flags = db_tracker_flags(f->t);
}

/* RAM of 'size' bytes with 'backing' (skip if the backing is not here). */
static void fx_attach(struct fx *f, size_t size, enum db_backing backing)
{
	char why[512] = "";
	int err;

	if (f->flags & DB_TRK_PROVIDES_RAM) {
		if (backing != DB_BACKING_ANON)
			cr_skip_test("tracker %s provides its own RAM, not %s",
				     f->spec, db_backing_name(backing));
		f->ram.size = size;
		f->ram.npages = size / DB_PAGE_SIZE;
		f->ram.backing = DB_BACKING_TRACKER;
	} else {
		if (db_backing_probe(backing, why, sizeof(why)))
			cr_skip_test("backing %s is not available here: %s",
				     db_backing_name(backing), why);
		err = db_ram_create(&f->ram, size, backing, 1);
		if (err && backing != DB_BACKING_ANON)
			cr_skip_test("%s", db_strerror());
		cr_assert_eq(err, 0, "ram: %s", db_strerror());
	}
	err = db_tracker_attach(f->t, &f->ram);
	if ((err == -EPERM || err == -ENOTSUP) && backing != DB_BACKING_ANON)
		cr_skip_test("%s", db_strerror());
	cr_assert_eq(err, 0, "tracker %s: attach to %s RAM: %s", f->spec,
		     db_backing_name(backing), db_strerror());
	f->npages = f->ram.npages;
	cr_assert(!db_bitmap_init(&f->written, f->npages) &&
		  !db_bitmap_init(&f->got, f->npages));
}

static void fx_open(struct fx *f, const char *spec, unsigned nvcpus)
{
	fx_create(f, spec, nvcpus);
	fx_attach(f, RAM_SIZE, DB_BACKING_ANON);
}

static void fx_start(struct fx *f)
{
	cr_assert_eq(db_tracker_start(f->t), 0, "tracker %s: start: %s",
		     f->spec, db_strerror());
}

static void fx_close(struct fx *f)
{
	db_bitmap_free(&f->written);
	db_bitmap_free(&f->got);
	db_tracker_destroy(f->t);
	f->t = NULL;
	db_ram_destroy(&f->ram);
}

/* Build the image of 'page' at generation 'gen' into buf. */
static void page_image(uint64_t *buf, size_t page, uint64_t gen)
{
	struct dr_stamp st = {
		.magic = DR_STAMP_MAGIC, .page = page, .gen = gen,
	};
	size_t i;

	memcpy(buf, &st, sizeof(st));
	for (i = STAMP_WORDS; i < WORDS; i++)
		buf[i] = fill_word(page, gen, i);
}

/*
 * Write page 'page' at generation 'gen' as a guest would: through the
 * tracker's modelled MMU for DB_TRK_ACCESS trackers, directly otherwise.
 * The stamp goes last, so a copy taken mid-write shows the old stamp.
 */
static int write_page(struct fx *f, unsigned vcpu, size_t page, uint64_t gen)
{
	uint64_t buf[WORDS];
	const size_t hdr = sizeof(struct dr_stamp);
	uint8_t *dst = db_ram_page(&f->ram, page);
	int err;

	page_image(buf, page, gen);
	if (f->flags & DB_TRK_ACCESS) {
		err = f->t->ops->guest_write(f->t, vcpu, page, hdr,
					     (uint8_t *)buf + hdr,
					     DB_PAGE_SIZE - hdr);
		if (!err)
			err = f->t->ops->guest_write(f->t, vcpu, page, 0, buf, hdr);
		return err;
	}
	memcpy(dst + hdr, (uint8_t *)buf + hdr, DB_PAGE_SIZE - hdr);
	atomic_signal_fence(memory_order_seq_cst);
	memcpy(dst, buf, hdr);
	return 0;
}

static void must_write(struct fx *f, size_t page, uint64_t gen)
{
	int err = write_page(f, 0, page, gen);

	cr_assert_eq(err, 0, "tracker %s: write to page %zu: %s", f->spec,
		     page, db_strerror());
}

/* The generation a page image holds, or 0 if its stamp is bad, -1 if torn. */
static int64_t page_gen(const void *img, size_t page)
{
	const uint64_t *w = img;
	struct dr_stamp st;
	size_t i;

	memcpy(&st, img, sizeof(st));
	if (st.magic != DR_STAMP_MAGIC || st.page != page)
		return 0;
	for (i = STAMP_WORDS; i < WORDS; i++)
		if (w[i] != fill_word(page, st.gen, i))
			return -1;
	return (int64_t)st.gen;
}

static void collect(struct fx *f, struct db_bitmap *got)
{
	db_bitmap_zero(got);
	cr_assert_eq(db_tracker_collect(f->t, got), 0, "tracker %s: collect: %s",
		     f->spec, db_strerror());
}

/* The tracker's counter 'name' (the test fails if it has none). */
static uint64_t counter(struct fx *f, const char *name)
{
	struct db_counter ctr[DB_TRACKER_MAX_COUNTERS];
	size_t i, n = db_tracker_counters(f->t, ctr, DB_ARRAY_SIZE(ctr));

	for (i = 0; i < n; i++)
		if (!strcmp(ctr[i].name, name))
			return ctr[i].value;
	cr_assert_fail("tracker %s has no counter %s", f->spec, name);
	return 0;
}

/* k distinct random pages into 'set' (zeroed first). */
static void pick_pages(struct db_bitmap *set, size_t k, uint64_t *rng)
{
	db_bitmap_zero(set);
	if (k >= set->nbits) {
		db_bitmap_fill(set);
		return;
	}
	while (db_bitmap_count(set) < k)
		db_bitmap_set(set, rng_next(rng) % set->nbits);
}

/* Pages of 'want' missing from 'got'; first one in *first. */
static size_t missing(const struct db_bitmap *want, const struct db_bitmap *got,
		      size_t *first)
{
	size_t i, n = 0;

	*first = want->nbits;
	db_bitmap_for_each(want, i) {
		if (!db_bitmap_test(got, i)) {
			if (!n)
				*first = i;
			n++;
		}
	}
	return n;
}

/* Write 'k' random pages, collect: f->written and f->got say what happened. */
static void round_trip(struct fx *f, size_t k, uint64_t gen, uint64_t *rng)
{
	size_t i;

	pick_pages(&f->written, k, rng);
	db_bitmap_for_each(&f->written, i)
		must_write(f, i, gen);
	collect(f, &f->got);
}

static const size_t round_sizes[] = { 1, 7, 40, 400, 2000, 4096 };

/* 1. Each page written in a round appears in the next collect. */
TRACKER_TEST(no_missed_page)
{
	uint64_t rng = 1;
	size_t r, miss, first;
	struct fx f;

	fx_open(&f, param->spec, 1);
	fx_start(&f);
	for (r = 0; r < DB_ARRAY_SIZE(round_sizes); r++) {
		round_trip(&f, round_sizes[r], r + 2, &rng);
		miss = missing(&f.written, &f.got, &first);
		cr_assert_eq(miss, 0,
			     "tracker %s: round %zu: %zu of %zu written pages not reported (first: page %zu)",
			     f.spec, r + 1, miss, db_bitmap_count(&f.written), first);
	}
	fx_close(&f);
}

/* 2. Exact trackers report no page that was not written. */
TRACKER_TEST(exact_reports_only_written)
{
	uint64_t rng = 2;
	size_t r, extra, first;
	struct fx f;

	fx_open(&f, param->spec, 1);
	if (!(f.flags & DB_TRK_EXACT)) {
		fx_close(&f);
		cr_skip_test("tracker %s is not exact: it may report pages nobody wrote",
			     param->spec);
	}
	fx_start(&f);
	collect(&f, &f.got);
	cr_assert_eq(db_bitmap_count(&f.got), 0,
		     "tracker %s: %zu pages reported after a round without writes",
		     f.spec, db_bitmap_count(&f.got));
	for (r = 0; r < DB_ARRAY_SIZE(round_sizes); r++) {
		round_trip(&f, round_sizes[r], r + 2, &rng);
		extra = missing(&f.got, &f.written, &first);
		cr_assert_eq(extra, 0,
			     "tracker %s: round %zu: %zu pages reported but not written (first: page %zu)",
			     f.spec, r + 1, extra, first);
	}
	fx_close(&f);
}

/* 3. A page written once appears in exactly one collect. */
TRACKER_TEST(written_once_reported_once)
{
	uint64_t rng = 3;
	size_t r, miss, again, first;
	struct fx f;

	fx_open(&f, param->spec, 1);
	fx_start(&f);
	round_trip(&f, 300, 2, &rng);
	miss = missing(&f.written, &f.got, &first);
	cr_assert_eq(miss, 0, "tracker %s: %zu of 300 pages not reported (first: page %zu)",
		     f.spec, miss, first);
	for (r = 2; r <= 3; r++) {
		collect(&f, &f.got);
		again = db_bitmap_count(&f.written) - missing(&f.written, &f.got, &first);
		cr_assert_eq(again, 0,
			     "tracker %s: collect %zu reports again %zu of the 300 pages written once",
			     f.spec, r, again);
	}
	fx_close(&f);
}

/* One writer for the snapshot test: logs which page each generation hit. */
struct snap_writer {
	struct fx *f;
	size_t *log;		/* log[gen] = page */
	uint64_t log_len;
	atomic_uint_fast64_t started, done;
	atomic_int stop;
	int err;
};

static void *snap_writer_main(void *arg)
{
	struct snap_writer *w = arg;
	uint64_t rng = 99, gen;

	for (;;) {
		gen = atomic_load(&w->started) + 1;
		if (atomic_load(&w->stop) || gen >= w->log_len)
			break;
		w->log[gen] = rng_next(&rng) % w->f->npages;
		atomic_store(&w->started, gen);
		w->err = write_page(w->f, 0, w->log[gen], gen);
		if (w->err)
			break;
		atomic_store(&w->done, gen);
	}
	return NULL;
}

/*
 * Check that img (all pages) is the state right after some generation G
 * with lo <= G <= hi: every page holds its last write up to G, except the
 * one write in flight at that instant, which may be half done.
 */
static void check_cut(struct fx *f, const uint8_t *img, const size_t *log,
		      uint64_t lo, uint64_t hi, const char *what)
{
	uint64_t *expect = calloc(f->npages, sizeof(uint64_t)), g, cut = 0;
	size_t p, torn = 0, torn_page = 0;
	int64_t v;

	cr_assert(expect);
	for (p = 0; p < f->npages; p++) {
		v = page_gen(img + p * DB_PAGE_SIZE, p);
		cr_assert_neq(v, 0, "tracker %s: %s: page %zu has no valid stamp",
			      f->spec, what, p);
		if (v < 0) {
			torn++;
			torn_page = p;
		} else if ((uint64_t)v > cut) {
			cut = (uint64_t)v;
		}
	}
	cr_assert_leq(torn, 1, "tracker %s: %s: %zu pages torn (one write can be in flight)",
		      f->spec, what, torn);
	if (cut < f->npages)
		cut = f->npages;	/* no writer write made it in */
	cr_assert(cut >= lo && cut <= hi,
		  "tracker %s: %s: image is as of generation %llu, outside [%llu, %llu] spanned by the round start",
		  f->spec, what, (unsigned long long)cut,
		  (unsigned long long)lo, (unsigned long long)hi);
	if (torn)
		cr_assert_eq(log[cut + 1], torn_page,
			     "tracker %s: %s: page %zu torn, but the write in flight was to page %zu",
			     f->spec, what, torn_page, log[cut + 1]);
	for (g = 1; g <= cut; g++)
		expect[log[g]] = g;
	for (p = 0; p < f->npages; p++) {
		if (torn && p == torn_page)
			continue;
		v = page_gen(img + p * DB_PAGE_SIZE, p);
		cr_assert_eq((uint64_t)v, expect[p],
			     "tracker %s: %s: page %zu holds generation %lld, the round start had %llu",
			     f->spec, what, p, (long long)v,
			     (unsigned long long)expect[p]);
	}
	free(expect);
}

/* 4. Snapshot trackers return round-start content while writers write. */
TRACKER_TEST(snapshot_is_round_start)
{
	struct snap_writer w = { 0 };
	uint8_t *img1, *img2;
	uint64_t lo, hi;
	pthread_t th;
	size_t p;
	struct fx f;

	fx_open(&f, param->spec, 1);
	if (!(f.flags & DB_TRK_SNAPSHOT)) {
		fx_close(&f);
		cr_skip_test("tracker %s serves no snapshots", param->spec);
	}
	img1 = malloc(f.ram.size);
	img2 = malloc(f.ram.size);
	w.f = &f;
	w.log_len = f.npages + (1u << 20);
	w.log = calloc(w.log_len, sizeof(*w.log));
	cr_assert(img1 && img2 && w.log);
	/* Generations 1..npages: page g-1 at generation g. */
	for (p = 0; p < f.npages; p++) {
		w.log[p + 1] = p;
		must_write(&f, p, p + 1);
	}
	atomic_store(&w.started, f.npages);
	atomic_store(&w.done, f.npages);
	fx_start(&f);

	/* Round 0: the image at start(), whatever is written after it. */
	for (p = 0; p < 64; p++)
		must_write(&f, p * 7, f.npages + 1);
	cr_assert_eq(db_tracker_snapshot_read(f.t, 0, f.npages, img1), 0,
		     "tracker %s: snapshot read: %s", f.spec, db_strerror());
	for (p = 0; p < f.npages; p++)
		cr_assert_eq(page_gen(img1 + p * DB_PAGE_SIZE, p), (int64_t)p + 1,
			     "tracker %s: round 0 snapshot of page %zu is not the content at start",
			     f.spec, p);
	for (p = 0; p < 64; p++)	/* undo, so the log stays true */
		must_write(&f, p * 7, p * 7 + 1);

	/* Round 1 begins at a collect while the writer writes. */
	cr_assert_eq(pthread_create(&th, NULL, snap_writer_main, &w), 0);
	db_sleep_ns(20 * 1000 * 1000);
	lo = atomic_load(&w.done);
	collect(&f, &f.got);
	hi = atomic_load(&w.started);
	cr_assert_eq(db_tracker_snapshot_read(f.t, 0, f.npages, img1), 0,
		     "tracker %s: snapshot read: %s", f.spec, db_strerror());
	db_sleep_ns(20 * 1000 * 1000);
	cr_assert_eq(db_tracker_snapshot_read(f.t, 0, f.npages, img2), 0,
		     "tracker %s: snapshot read: %s", f.spec, db_strerror());
	atomic_store(&w.stop, 1);
	pthread_join(th, NULL);
	cr_assert_eq(w.err, 0, "tracker %s: writer: %s", f.spec, db_strerror());
	cr_assert_gt(atomic_load(&w.done), hi,
		     "tracker %s: the writer kept writing after the round began",
		     f.spec);
	cr_assert_eq(memcmp(img1, img2, f.ram.size), 0,
		     "tracker %s: the snapshot changed while the writer wrote",
		     f.spec);
	check_cut(&f, img1, w.log, lo, hi, "round 1 snapshot");
	free(w.log);
	free(img1);
	free(img2);
	fx_close(&f);
}

/*
 * 5. Huge backings: nothing missed, and nothing reported outside the unit
 * around a written page: the tracker's granularity, or the 2 MiB page for
 * hugetlb, which no mechanism can split. Trackers that do not claim to be
 * exact may report whole huge pages of THP too (soft-dirty marks the PMD).
 */
static void huge_check(const char *spec, enum db_backing backing)
{
	size_t r, i, unit_pages, miss, first, stray = 0, stray_first = 0;
	uint64_t rng = 5;
	struct fx f;

	fx_create(&f, spec, 1);
	fx_attach(&f, RAM_SIZE, backing);
	unit_pages = f.t->ops->granularity / DB_PAGE_SIZE;
	if (backing == DB_BACKING_HUGETLB || !(f.flags & DB_TRK_EXACT))
		unit_pages = DB_MAX(unit_pages, f.ram.map_pagesize / DB_PAGE_SIZE);
	fx_start(&f);
	for (r = 0; r < 3; r++) {
		db_bitmap_zero(&f.written);
		/* One page in every other 2 MiB page, at varying offsets. */
		for (i = r % 2; i < f.npages / 512; i += 2)
			db_bitmap_set(&f.written, i * 512 + rng_next(&rng) % 512);
		db_bitmap_for_each(&f.written, i)
			must_write(&f, i, r + 2);
		collect(&f, &f.got);
		miss = missing(&f.written, &f.got, &first);
		cr_assert_eq(miss, 0,
			     "tracker %s on %s: round %zu: %zu written pages not reported (first: page %zu)",
			     spec, db_backing_name(backing), r + 1, miss, first);
		db_bitmap_for_each(&f.got, i) {
			size_t u = i / unit_pages * unit_pages, k;
			bool near = false;

			for (k = u; k < u + unit_pages && !near; k++)
				near = db_bitmap_test(&f.written, k);
			if (!near && !stray++)
				stray_first = i;
		}
		cr_assert_eq(stray, 0,
			     "tracker %s on %s: round %zu: %zu pages reported outside the %zu KiB units written (first: page %zu)",
			     spec, db_backing_name(backing), r + 1, stray,
			     unit_pages * 4, stray_first);
	}
	fx_close(&f);
}

TRACKER_TEST(huge_thp_granularity)
{
	huge_check(param->spec, DB_BACKING_THP);
}

TRACKER_TEST(huge_hugetlb_granularity)
{
	huge_check(param->spec, DB_BACKING_HUGETLB);
}

/* 6. Writers write during collect; nothing they write is lost. */
struct race_entry {
	uint32_t page;
	uint32_t ended_before;	/* collects finished before the write began */
	uint32_t started_after;	/* collects begun once the write was done */
};

struct race {
	struct fx *f;
	atomic_uint collects_started, collects_ended;
	atomic_ulong writes;		/* writes done, all writers */
	atomic_uint writers_done;
	atomic_int stop;
};

struct race_writer {
	struct race *race;
	unsigned vcpu;
	struct race_entry *log;
	size_t n, cap;
	int err;
};

static void *race_writer_main(void *arg)
{
	struct race_writer *w = arg;
	struct race *r = w->race;
	uint64_t rng = 1000 + w->vcpu;
	struct race_entry *e;

	while (!atomic_load(&r->stop) && w->n < w->cap) {
		e = &w->log[w->n];
		e->page = (uint32_t)(rng_next(&rng) % r->f->npages);
		e->ended_before = atomic_load(&r->collects_ended);
		atomic_thread_fence(memory_order_seq_cst);
		/* Unique generations: hash only sees writes that change bytes. */
		w->err = write_page(r->f, w->vcpu, e->page,
				    (w->n + 2) * 16 + w->vcpu);
		if (w->err)
			break;
		atomic_thread_fence(memory_order_seq_cst);
		e->started_after = atomic_load(&r->collects_started);
		w->n++;
		atomic_fetch_add(&r->writes, 1);
	}
	atomic_fetch_add(&r->writers_done, 1);
	return NULL;
}

/*
 * Every interval between two collects must hold writes, however late a
 * loaded machine schedules the writers: wait for one more (10 s at most).
 */
static void wait_writes_above(struct race *r, unsigned long n)
{
	uint64_t until = db_now_ns() + 10ull * 1000 * 1000 * 1000;

	while (atomic_load(&r->writes) <= n && !atomic_load(&r->writers_done) &&
	       db_now_ns() < until)
		db_sleep_ns(1000 * 1000);
}

TRACKER_TEST(concurrent_writes_never_lost)
{
	enum { WRITERS = 2, COLLECTS = 12 };
	struct race_writer w[WRITERS];
	struct db_bitmap rep[COLLECTS + 2];
	pthread_t th[WRITERS];
	struct race race = { 0 };
	size_t i, k, checked = 0;
	unsigned c;
	struct fx f;

	fx_open(&f, param->spec, WRITERS);
	fx_start(&f);
	race.f = &f;
	for (c = 0; c < COLLECTS + 2; c++)
		db_bitmap_init(&rep[c], f.npages);
	for (i = 0; i < WRITERS; i++) {
		w[i] = (struct race_writer){ .race = &race, .vcpu = (unsigned)i,
					     .cap = 1u << 20 };
		w[i].log = malloc(w[i].cap * sizeof(*w[i].log));
		cr_assert(w[i].log);
		cr_assert_eq(pthread_create(&th[i], NULL, race_writer_main, &w[i]), 0);
	}
	/* rep[c] holds what collect number c reported (c = 1..COLLECTS+1). */
	for (c = 1; c <= COLLECTS; c++) {
		unsigned long before = atomic_load(&race.writes);

		db_sleep_ns(4 * 1000 * 1000);
		wait_writes_above(&race, before);
		atomic_fetch_add(&race.collects_started, 1);
		collect(&f, &rep[c]);
		atomic_fetch_add(&race.collects_ended, 1);
	}
	atomic_store(&race.stop, 1);
	for (i = 0; i < WRITERS; i++) {
		pthread_join(th[i], NULL);
		cr_assert_eq(w[i].err, 0, "tracker %s: writer %zu: %s", f.spec,
			     i, db_strerror());
	}
	collect(&f, &rep[COLLECTS + 1]);
	for (i = 0; i < WRITERS; i++) {
		for (k = 0; k < w[i].n; k++) {
			const struct race_entry *e = &w[i].log[k];
			bool seen = false;

			for (c = e->ended_before + 1;
			     c <= e->started_after + 1 && !seen; c++)
				seen = db_bitmap_test(&rep[c], e->page);
			cr_assert(seen,
				  "tracker %s: page %u written between collects %u and %u was reported by neither",
				  f.spec, e->page, e->ended_before + 1,
				  e->started_after + 1);
			checked++;
		}
	}
	cr_assert_gt(checked, COLLECTS, "tracker %s: the writers wrote (%zu writes)",
		     f.spec, checked);
	for (i = 0; i < WRITERS; i++)
		free(w[i].log);
	for (c = 0; c < COLLECTS + 2; c++)
		db_bitmap_free(&rep[c]);
	fx_close(&f);
}

static size_t thread_count(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	size_t n = 0;

	cr_assert(d);
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* 7. Detach leaves RAM intact and writable, and nothing behind. */
TRACKER_TEST(detach_leaves_ram_intact)
{
	uint64_t *expect, rng = 7;
	size_t p, i, threads = thread_count();
	struct fx f;

	fx_open(&f, param->spec, 1);
	expect = calloc(f.npages, sizeof(*expect));
	cr_assert(expect);
	for (p = 0; p < f.npages; p++) {
		must_write(&f, p, 1);
		expect[p] = 1;
	}
	fx_start(&f);
	for (i = 0; i < 200; i++) {
		p = rng_next(&rng) % f.npages;
		must_write(&f, p, 2);
		expect[p] = 2;
	}
	collect(&f, &f.got);
	for (i = 0; i < 200; i++) {	/* written, never collected */
		p = rng_next(&rng) % f.npages;
		must_write(&f, p, 3);
		expect[p] = 3;
	}
	db_tracker_detach(f.t);	/* stops it first */
	for (p = 0; p < f.npages; p++)
		cr_assert_eq(page_gen(db_ram_page(&f.ram, p), p), (int64_t)expect[p],
			     "tracker %s: after detach page %zu holds generation %lld, not %llu",
			     f.spec, p,
			     (long long)page_gen(db_ram_page(&f.ram, p), p),
			     (unsigned long long)expect[p]);
	/* Plain stores now, as the guest would after a cancelled migration. */
	for (p = 0; p < f.npages; p++) {
		uint64_t img[WORDS];

		page_image(img, p, 4);
		memcpy(db_ram_page(&f.ram, p), img, DB_PAGE_SIZE);
	}
	for (p = 0; p < f.npages; p++)
		cr_assert_eq(page_gen(db_ram_page(&f.ram, p), p), 4,
			     "tracker %s: page %zu not writable after detach",
			     f.spec, p);
	cr_assert_eq(thread_count(), threads,
		     "tracker %s: %zu threads left behind after detach", f.spec,
		     thread_count() - threads);
	errno = 0;
	cr_assert(waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD,
		  "tracker %s: child processes left behind after detach", f.spec);
	free(expect);
	fx_close(&f);
}

/* 8. The faulty wrapper really drops bits, and the check above sees it. */
TRACKER_TEST(faulty_wrapper_is_caught)
{
	char spec[96];
	uint64_t rng = 8, dropped = 0;
	size_t r, miss = 0, first;
	struct fx f;

	snprintf(spec, sizeof(spec), "faulty:%.60s:drop=1/8,seed=11", param->spec);
	fx_create(&f, param->spec, 1);	/* skips with the inner reason */
	db_tracker_destroy(f.t);
	cr_assert_eq(db_tracker_create(&f.t, spec, NULL), 0, "%s: %s", spec,
		     db_strerror());
	f.spec = spec;
	f.flags = db_tracker_flags(f.t);
	cr_assert(f.flags & DB_TRK_FAULTY, "%s says it is faulty", spec);
	fx_attach(&f, RAM_SIZE, DB_BACKING_ANON);
	fx_start(&f);
	for (r = 0; r < 3; r++) {
		round_trip(&f, 1000, r + 2, &rng);
		miss += missing(&f.written, &f.got, &first);
	}
	dropped = counter(&f, "dropped_pages");
	cr_assert_gt(miss, 0, "%s: 3000 page writes and no loss detected", spec);
	cr_assert_leq(miss, dropped, "%s: %zu pages lost but only %llu dropped",
		      spec, miss, (unsigned long long)dropped);
	if (db_tracker_flags(f.t) & DB_TRK_EXACT)
		cr_assert_eq(miss, dropped,
			     "%s: an exact tracker loses exactly what is dropped (%zu lost, %llu dropped)",
			     spec, miss, (unsigned long long)dropped);
	fx_close(&f);
}

/* Probes: cheap, repeatable, and a reason whenever the answer is no. */
TRACKER_TEST(probe_gives_reason)
{
	const struct db_tracker_ops *ops = db_tracker_find(param->spec);
	struct db_tracker *t = NULL;
	char why1[512] = "", why2[512] = "";
	int e1 = ops->probe(why1, sizeof(why1));
	int e2 = ops->probe(why2, sizeof(why2));

	cr_assert_eq(e1, e2, "tracker %s: probe changed its mind (%d, %d)",
		     ops->name, e1, e2);
	cr_assert_leq(e1, 0, "tracker %s: probe returns 0 or -errno", ops->name);
	if (!e1)
		return;
	cr_assert_gt(strlen(why1), 10, "tracker %s: unavailable without a reason",
		     ops->name);
	cr_assert_str_eq(why1, why2, "tracker %s: same reason twice", ops->name);
	cr_assert_eq(db_tracker_create(&t, param->spec, NULL), e1,
		     "tracker %s: create fails as the probe says", ops->name);
	cr_assert(strstr(db_strerror(), ops->name) && strstr(db_strerror(), why1),
		  "tracker %s: create's error names the tracker and the reason: %s",
		  ops->name, db_strerror());
}

/* Does this kernel set soft-dirty on a write after clear_refs "4"? */
Test(trackers, softdirty_probe_matches_kernel, .timeout = 30)
{
	volatile uint8_t *m = mmap(NULL, DB_PAGE_SIZE, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	const struct db_tracker_ops *ops = db_tracker_find("softdirty");
	char why[512] = "";
	uint64_t before = 0, after = 0;
	bool works;
	int pm, err;

	need_selected("softdirty");
	cr_assert(ops && m != MAP_FAILED);
	m[0] = 1;
	if (db_write_file("/proc/self/clear_refs", "4"))
		cr_skip_test("/proc/self/clear_refs cannot be written here");
	pm = open("/proc/self/pagemap", O_RDONLY);
	cr_assert_geq(pm, 0);
	cr_assert_eq(pread(pm, &before, 8, (off_t)((uintptr_t)m / DB_PAGE_SIZE * 8)), 8);
	m[0] = 2;
	cr_assert_eq(pread(pm, &after, 8, (off_t)((uintptr_t)m / DB_PAGE_SIZE * 8)), 8);
	close(pm);
	works = !(before & DB_PM_SOFT_DIRTY) && (after & DB_PM_SOFT_DIRTY);
	err = ops->probe(why, sizeof(why));
	cr_assert_eq(err == 0, works,
		     "softdirty probe says %s, but a write here %s bit 55 (%s)",
		     err ? "unavailable" : "available",
		     works ? "sets" : "does not set", why);
	if (!works)
		cr_assert(strstr(why, "kernel") && strstr(why, db_kernel_release()),
			  "the reason names the kernel: %s", why);
}

/* Consume all but 'spare' of vm.max_map_count with mappings of our own. */
static void *eat_map_count(size_t spare, size_t *len)
{
	char buf[64];
	size_t limit, used = 0, pages, i;
	uint8_t *m;
	FILE *fp;
	int c;

	cr_assert_gt(db_read_file("/proc/sys/vm/max_map_count", buf, sizeof(buf)), 0);
	limit = strtoul(buf, NULL, 10);
	fp = fopen("/proc/self/maps", "r");
	cr_assert(fp);
	while ((c = fgetc(fp)) != EOF)
		used += c == '\n';
	fclose(fp);
	if (used + spare >= limit)
		cr_skip_test("vm.max_map_count (%zu) is nearly used up already", limit);
	/* Every other page PROT_NONE: one mapping per page. */
	pages = limit - used - spare;
	*len = pages * DB_PAGE_SIZE;
	m = mmap(NULL, *len, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		 -1, 0);
	cr_assert(m != MAP_FAILED);
	for (i = 1; i < pages; i += 2)
		if (mprotect(m + i * DB_PAGE_SIZE, DB_PAGE_SIZE, PROT_NONE))
			break;
	return m;
}

/*
 * mprotect against vm.max_map_count: scattered writes need one mapping per
 * page; at the limit the tracker must coalesce (report a superset) or fail
 * collect with a clear error, never crash. The limit is used up by this
 * process's own mappings rather than lowered for the whole machine.
 */
Test(trackers, mprotect_survives_max_map_count, .timeout = 60)
{
	uint64_t coalesces = 0;
	size_t p, eaten_len, miss, first;
	void *eaten;
	struct fx f;
	int err;

	need_selected("mprotect");
	fx_open(&f, "mprotect", 1);
	eaten = eat_map_count(800, &eaten_len);
	fx_start(&f);
	/* Every other page: 2048 writes want ~4096 mappings, 800 are left. */
	for (p = 0; p < f.npages; p += 2) {
		db_bitmap_set(&f.written, p);
		must_write(&f, p, 2);
	}
	db_bitmap_zero(&f.got);
	err = db_tracker_collect(f.t, &f.got);
	coalesces = counter(&f, "map_count_coalesces");
	munmap(eaten, eaten_len);
	if (err) {
		cr_assert(strstr(db_strerror(), "mprotect") &&
			  strstr(db_strerror(), "max_map_count"),
			  "a clear error names the tracker and the limit: %s",
			  db_strerror());
	} else {
		miss = missing(&f.written, &f.got, &first);
		cr_assert_eq(miss, 0, "coalesced round lost %zu pages (first %zu)",
			     miss, first);
		cr_assert_gt(coalesces, 0, "the limit was hit, so the tracker coalesced");
		/* Tracking goes on page by page in the next round. */
		must_write(&f, 5, 3);
		collect(&f, &f.got);
		cr_assert(db_bitmap_test(&f.got, 5) && db_bitmap_count(&f.got) == 1,
			  "after coalescing, the next round is exact again (%zu pages)",
			  db_bitmap_count(&f.got));
	}
	for (p = 0; p < f.npages; p += 2)
		cr_assert_eq(page_gen(db_ram_page(&f.ram, p), p), 2,
			     "page %zu survived", p);
	fx_close(&f);
}

/* fork-cow cannot keep an image of shared memory: attach says so. */
Test(trackers, fork_cow_refuses_shared_memory, .timeout = 30)
{
	struct db_tracker *t;
	struct db_ram ram;
	int err;

	need_selected("fork-cow");
	cr_assert_eq(db_tracker_create(&t, "fork-cow", NULL), 0, "%s", db_strerror());
	cr_assert_eq(db_ram_create(&ram, RAM_SIZE, DB_BACKING_MEMFD, 1), 0, "%s",
		     db_strerror());
	err = db_tracker_attach(t, &ram);
	cr_assert_lt(err, 0, "fork-cow attached to MAP_SHARED memory");
	cr_assert(strstr(db_strerror(), "fork-cow") && strstr(db_strerror(), "MAP_SHARED"),
		  "the error names the tracker and why: %s", db_strerror());
	db_tracker_destroy(t);
	db_ram_destroy(&ram);
}

/* More dirty regions than one PAGEMAP_SCAN returns: resume at walk_end. */
Test(trackers, uffd_async_resumes_at_walk_end, .timeout = 30)
{
	uint64_t ioctls;
	size_t p, miss, extra, first;
	struct fx f;

	need_selected("uffd-async");
	fx_open(&f, "uffd-async:vec=8", 1);
	fx_start(&f);
	for (p = 1; p < f.npages; p += 2) {	/* 2048 separate regions */
		db_bitmap_set(&f.written, p);
		must_write(&f, p, 2);
	}
	collect(&f, &f.got);
	miss = missing(&f.written, &f.got, &first);
	cr_assert_eq(miss, 0, "%zu pages missed (first %zu)", miss, first);
	extra = missing(&f.got, &f.written, &first);
	cr_assert_eq(extra, 0, "%zu pages reported unwritten (first %zu)", extra, first);
	ioctls = counter(&f, "scan_ioctls");
	cr_assert_geq(ioctls, 2048 / 8, "2048 regions in 8-region ioctls took %llu",
		      (unsigned long long)ioctls);
	{
		struct db_tracker *bad = NULL;

		cr_assert_lt(db_tracker_create(&bad, "uffd-async:vec=0", NULL), 0,
			     "vec=0 is refused");
		cr_assert(strstr(db_strerror(), "uffd-async") &&
			  strstr(db_strerror(), "vec"),
			  "the error names the tracker and the argument: %s",
			  db_strerror());
		cr_assert_null(bad);
	}
	fx_close(&f);
}

/*
 * RAM of 256 MiB or more is armed in 64 MiB slices on two threads: a page
 * at each end of every slice, written after the arm, is in the collect,
 * and nothing else.
 */
static void large_arm_check(const char *spec)
{
	const size_t slice_pages = (64u << 20) / DB_PAGE_SIZE;
	size_t s, miss, extra, first;
	struct fx f;

	need_selected(spec);
	fx_create(&f, spec, 1);
	fx_attach(&f, 256u << 20, DB_BACKING_ANON);
	fx_start(&f);
	cr_assert_eq(counter(&f, "wp_ioctls"), 4,
		     "%s: 256 MiB armed in four 64 MiB slices, not %llu ioctls", spec,
		     (unsigned long long)counter(&f, "wp_ioctls"));
	for (s = 0; s < f.npages; s += slice_pages) {
		db_bitmap_set(&f.written, s);
		db_bitmap_set(&f.written, s + slice_pages - 1);
		must_write(&f, s, 2);
		must_write(&f, s + slice_pages - 1, 2);
	}
	collect(&f, &f.got);
	miss = missing(&f.written, &f.got, &first);
	cr_assert_eq(miss, 0, "%s: %zu pages missed (first %zu)", spec, miss, first);
	extra = missing(&f.got, &f.written, &first);
	cr_assert_eq(extra, 0, "%s: %zu pages reported unwritten (first %zu)", spec,
		     extra, first);
	fx_close(&f);
}

Test(trackers, uffd_async_arms_large_ram_on_two_threads, .timeout = 60)
{
	large_arm_check("uffd-async");
}

Test(trackers, uffd_wp_arms_large_ram_on_two_threads, .timeout = 60)
{
	large_arm_check("uffd-wp");
}

/* faulty:NAME:drop=1/N drops about 1/N, the same pages for the same seed. */
Test(trackers, faulty_drops_one_in_n_deterministically, .timeout = 30)
{
	const char *specs[] = { "faulty:hash:drop=1/10,seed=3",
				"faulty:hash:drop=1/10,seed=3",
				"faulty:hash:drop=1/10,seed=4" };
	struct db_bitmap got[3];
	struct fx f[3];
	size_t k, p, n;

	need_selected("faulty");
	for (k = 0; k < 3; k++) {
		fx_open(&f[k], specs[k], 1);
		db_bitmap_init(&got[k], f[k].npages);
		fx_start(&f[k]);
		for (p = 0; p < f[k].npages; p++)
			must_write(&f[k], p, 2);
		collect(&f[k], &got[k]);
	}
	n = f[0].npages - db_bitmap_count(&got[0]);
	/* Binomial(4096, 0.1): mean 410, sd 19; allow 5 sd. */
	cr_assert(n > 410 - 95 && n < 410 + 95,
		  "drop=1/10 dropped %zu of %zu pages", n, f[0].npages);
	cr_assert_eq(memcmp(got[0].words, got[1].words,
			    DB_BITMAP_WORDS(f[0].npages) * 8), 0,
		     "the same seed drops the same pages");
	cr_assert_neq(memcmp(got[0].words, got[2].words,
			     DB_BITMAP_WORDS(f[0].npages) * 8), 0,
		      "another seed drops other pages");
	for (k = 0; k < 3; k++) {
		db_bitmap_free(&got[k]);
		fx_close(&f[k]);
	}
}
