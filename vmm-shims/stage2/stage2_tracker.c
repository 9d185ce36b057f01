// SPDX-License-Identifier: MIT
/*
 * stage2-eager and stage2-lazy: the ARM stage-2 logging model as trackers.
 * Guest RAM is one memslot; vCPUs reach it through guest_write(), i.e.
 * through a per-vCPU TLB, table walks and the fault handler, and collect()
 * is GET_DIRTY_LOG (or GET + CLEAR_DIRTY_LOG with "manual").
 *
 *   stage2-lazy[:layout=v7|v8][,tlb=N][,exit_ns=N][,manual][,clear_chunk=P]
 *              [,populate=0|1]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dirtybench/common.h"
#include "dirtybench/tracker.h"
#include "stage2.h"

#define S2T_CLEAR_CHUNK (1u << 18)	/* pages: 1 GiB per CLEAR_DIRTY_LOG */

struct s2t_priv {
	struct s2_config cfg;
	bool manual, populate, configured;
	uint64_t clear_chunk;
	struct s2_vm *vm;
	unsigned slot;
	size_t npages;
	uint64_t *scratch;	/* manual protect: the GET copy */
};

static int s2t_probe(char *why, size_t len)
{
	return 0;	/* a software model runs anywhere */
}

static int parse_opt(struct s2t_priv *p, const char *name, char *tok)
{
	char *val = strchr(tok, '=');
	uint64_t v;
	int err = 0;

	if (val)
		*val++ = '\0';
	if (!strcmp(tok, "manual")) {
		v = 1;
		if (val)
			err = db_parse_u64(val, 0, 1, &v);
		p->manual = v;
	} else if (!strcmp(tok, "populate") && val) {
		err = db_parse_u64(val, 0, 1, &v);
		p->populate = v;
	} else if (!strcmp(tok, "layout") && val) {
		err = s2_layout_parse(val, &p->cfg.layout);
	} else if (!strcmp(tok, "tlb") && val) {
		err = db_parse_u64(val, 1, 1u << 20, &v);
		if (!err && (v & (v - 1)))
			err = db_error(-EINVAL, "%s is not a power of two", val);
		p->cfg.tlb_entries = (unsigned)v;
	} else if (!strcmp(tok, "exit_ns") && val) {
		err = db_parse_u64(val, 0, 1000000000, &p->cfg.exit_ns);
	} else if (!strcmp(tok, "clear_chunk") && val) {
		err = db_parse_u64(val, 64, UINT32_MAX, &p->clear_chunk);
		if (!err && p->clear_chunk % 64)
			err = db_error(-EINVAL, "%s is not a multiple of 64", val);
	} else {
		err = db_error(-EINVAL, "unknown option");
	}
	if (err) {
		char why[256];

		snprintf(why, sizeof(why), "%s", db_strerror());
		return db_error(err,
				"tracker %s: bad option '%s%s%s' (layout=v7|v8, tlb=N, exit_ns=N, manual, clear_chunk=PAGES, populate=0|1): %s",
				name, tok, val ? "=" : "", val ? val : "", why);
	}
	return 0;
}

static int s2t_configure(struct s2t_priv *p, const char *name,
			 enum s2_strategy strategy, const char *args)
{
	char buf[96], *tok, *save = NULL;
	int err;

	p->cfg.layout = S2_LAYOUT_V7;	/* the series' target */
	p->cfg.strategy = strategy;
	p->cfg.tlb_entries = 1024;
	p->populate = true;
	p->clear_chunk = S2T_CLEAR_CHUNK;
	p->configured = true;
	if (!args || !*args)
		return 0;
	if (strlen(args) >= sizeof(buf))
		return db_error(-EINVAL, "tracker %s: options too long", name);
	snprintf(buf, sizeof(buf), "%s", args);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		err = parse_opt(p, name, tok);
		if (err)
			return err;
	}
	return 0;
}

static int s2t_configure_eager(struct db_tracker *t, const char *args)
{
	return s2t_configure(t->priv, "stage2-eager", S2_EAGER, args);
}

static int s2t_configure_lazy(struct db_tracker *t, const char *args)
{
	return s2t_configure(t->priv, "stage2-lazy", S2_LAZY, args);
}

static int s2t_attach(struct db_tracker *t, struct db_ram *ram)
{
	struct s2t_priv *p = t->priv;
	struct s2_slot_desc d = {
		.ipa = S2_DEFAULT_IPA_BASE,
		.size = ram->size,
		.host = ram->base,
		.pa = S2_DEFAULT_PA_BASE,
		.host_pagesize = ram->map_pagesize,
	};
	int err;

	if (!p->configured)
		return db_error(-EINVAL, "tracker %s: not configured", t->name);
	p->cfg.nvcpus = t->params.nvcpus ? t->params.nvcpus : 1;
	err = s2_vm_create(&p->vm, &p->cfg);
	if (err)
		return err;
	err = s2_slot_add(p->vm, &d, &p->slot);
	if (!err && p->populate)
		err = s2_populate(p->vm, p->slot);
	if (err)
		return err;
	p->npages = ram->npages;
	if (p->manual) {
		p->scratch = calloc(DB_BITMAP_WORDS(ram->npages), sizeof(uint64_t));
		if (!p->scratch)
			return db_error(-ENOMEM, "tracker %s: no memory for a dirty bitmap",
					t->name);
	}
	return 0;
}

static int s2t_start(struct db_tracker *t)
{
	struct s2t_priv *p = t->priv;

	s2_stats_reset(p->vm);
	return s2_log_enable(p->vm, p->slot);
}

static int s2t_collect_count(struct db_tracker *t, struct db_bitmap *dirty,
			     size_t *added)
{
	struct s2t_priv *p = t->priv;
	size_t first, nw = DB_BITMAP_WORDS(p->npages), fresh = 0;
	uint64_t m;
	int err;

	if (!p->manual)
		return s2_get_dirty_log_count(p->vm, p->slot, dirty->words, false,
					      added);
	memset(p->scratch, 0, nw * sizeof(uint64_t));
	err = s2_get_dirty_log(p->vm, p->slot, p->scratch, true);
	for (first = 0; !err && first < p->npages; first += p->clear_chunk)
		err = s2_clear_dirty_log(p->vm, p->slot, first,
					 DB_MIN(p->clear_chunk, p->npages - first),
					 p->scratch + first / 64);
	for (first = 0; !err && first < nw; first++) {
		m = p->scratch[first];
		if (!m)
			continue;
		fresh += db_popcount64(m & ~dirty->words[first]);
		dirty->words[first] |= m;
	}
	*added += fresh;
	return err;
}

static int s2t_collect(struct db_tracker *t, struct db_bitmap *dirty)
{
	size_t added = 0;

	return s2t_collect_count(t, dirty, &added);
}

static int s2t_guest_write(struct db_tracker *t, unsigned vcpu, size_t page,
			   size_t off, const void *src, size_t len)
{
	struct s2t_priv *p = t->priv;

	if (!p->vm)
		return db_error(-EINVAL, "tracker %s: guest write before attach",
				t->name);
	if (page >= p->npages || off > DB_PAGE_SIZE || len > DB_PAGE_SIZE - off)
		return db_error(-EINVAL,
				"tracker %s: write of %zu bytes at page %zu + %zu outside %zu pages",
				t->name, len, page, off, p->npages);
	return s2_write(p->vm, vcpu,
			S2_DEFAULT_IPA_BASE + ((uint64_t)page << DB_PAGE_SHIFT) + off,
			src, len);
}

static int s2t_stop(struct db_tracker *t)
{
	struct s2t_priv *p = t->priv;

	return s2_log_disable(p->vm, p->slot);
}

static void s2t_detach(struct db_tracker *t)
{
	struct s2t_priv *p = t->priv;

	s2_vm_destroy(p->vm);
	p->vm = NULL;
	free(p->scratch);
	p->scratch = NULL;
}

static size_t s2t_counters(struct db_tracker *t, struct db_counter *out,
			   size_t max)
{
	struct s2t_priv *p = t->priv;
	struct s2_census c;
	struct s2_stats st;
	size_t n = 0;

	if (!p->vm)
		return 0;
	s2_get_stats(p->vm, &st);
	s2_census(p->vm, p->slot, &c);
#define C(name, v) do { if (n < max) out[n++] = (struct db_counter){ name, v }; } while (0)
	C("translation_faults", st.translation_faults);
	C("perm_faults", st.perm_faults);
	C("spurious_faults", st.spurious_faults);
	C("fault_handler_ns", st.fault_handler_ns);
	C("blocks_split", st.blocks_split);
	C("blocks_rebuilt", st.blocks_rebuilt);
	C("blocks_2m_now", c.blocks_2m);
	C("pages_mapped_now", c.pages);
	C("tables_allocated", st.tables_allocated);
	C("tables_bytes", st.tables_bytes);
	C("tables_peak_bytes", st.tables_peak_bytes);
	C("descriptors_written", st.descriptors_written);
	C("pages_write_protected", st.pages_wp);
	C("dirty_marked_pages", st.dirty_marked);
	C("tlb_flushes", st.tlb_flush_vmid);
	C("tlbi_ipa", st.tlbi_ipa);
	C("tlb_misses", st.tlb_misses);
	C("tlb_hits", st.tlb_hits);
	C("log_enable_ns", st.log_enable_ns);
	C("dirty_log_ns", st.dirty_log_ns);
#undef C
	return n;
}

#define S2T_OPS(ident, tname, strat, text)				\
	const struct db_tracker_ops db_tracker_##ident = {		\
		.name = tname,						\
		.desc = text,						\
		.flags = DB_TRK_EXACT | DB_TRK_ACCESS,			\
		.granularity = DB_PAGE_SIZE,				\
		.priv_size = sizeof(struct s2t_priv),			\
		.probe = s2t_probe,					\
		.configure = s2t_configure_##strat,			\
		.attach = s2t_attach,					\
		.start = s2t_start,					\
		.collect = s2t_collect,					\
		.collect_count = s2t_collect_count,			\
		.guest_write = s2t_guest_write,				\
		.stop = s2t_stop,					\
		.detach = s2t_detach,					\
		.counters = s2t_counters,				\
	}

S2T_OPS(stage2_eager, "stage2-eager", eager,
	"ARM stage-2 logging model, option 1: split every block at log enable");
S2T_OPS(stage2_lazy, "stage2-lazy", lazy,
	"ARM stage-2 logging model, option 2: dissolve a block on its first write fault");
