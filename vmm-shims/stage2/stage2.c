// SPDX-License-Identifier: MIT
/*
 * ARM stage-2 translation and KVM/ARM dirty-page logging, modelled in
 * software (see stage2.h for the picture and the locking rules).
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "dirtybench/bitmap.h"
#include "dirtybench/common.h"
#include "stage2.h"

#define S2_MAX_SLOTS	8
#define TLB_2M_ENTRIES	32
#define TLB_1G_ENTRIES	4
#define S2_MAX_RETRIES	1000000

/* Counters are bumped from vCPU and control threads alike. */
#define ST_ADD(vm, f, n) __atomic_fetch_add(&(vm)->st.f, (n), __ATOMIC_RELAXED)
#define ST_INC(vm, f) ST_ADD(vm, f, 1)
#define ST_GET(vm, f) __atomic_load_n(&(vm)->st.f, __ATOMIC_RELAXED)

struct tlb_ent {
	uint64_t tag;		/* (ipa >> size shift) + 1; 0 = empty */
	uint8_t *host;		/* host address of the leaf's first byte */
	bool writable;
};

struct s2_vcpu {
	/* TLB generation this vCPU is translating with; 0 when idle. */
	_Alignas(64) uint64_t using;
	uint64_t tlb_gen;
	uint64_t hits, misses;	/* monotonic, written by the vCPU only */
	uint64_t hits_base, misses_base;
	unsigned mask4k;
	struct tlb_ent *t4k;
	struct tlb_ent t2m[TLB_2M_ENTRIES];
	struct tlb_ent t1g[TLB_1G_ENTRIES];
};

struct s2_slot {
	uint64_t ipa, size, pa;
	uint8_t *host;
	size_t host_pagesize;
	size_t npages;
	uint64_t *dirty;	/* one bit per page, atomic */
	bool logging;
};

struct s2_vm {
	struct s2_config cfg;
	pthread_rwlock_t lock;	/* tables: walks shared, changes exclusive */
	pthread_mutex_t ctl;	/* one control operation at a time */
	uint64_t gen;		/* TLB generation, starts at 1 (atomic) */
	uint64_t *root;
	/* table pool: table i lives at PA S2_TABLE_PA_BASE + i * 4 KiB */
	uint64_t **tabs;
	size_t ntabs, cap;
	uint32_t *freelist;
	size_t nfree;
	struct s2_slot slots[S2_MAX_SLOTS];
	unsigned nslots;
	struct s2_stats st;
	struct s2_vcpu *vcpus;
	bool locks_ready;
};

/* Where a walk stopped. */
struct s2_loc {
	uint64_t *entry;
	unsigned level;
	uint64_t desc;
	enum s2_desc_kind kind;
};

/* ---- geometry and encodings ------------------------------------------ */

unsigned s2_start_level(enum s2_layout l)
{
	return l == S2_LAYOUT_V7 ? 1 : 0;
}

unsigned s2_ipa_bits(enum s2_layout l)
{
	return l == S2_LAYOUT_V7 ? 40 : 48;
}

unsigned s2_oa_bits(enum s2_layout l)
{
	return l == S2_LAYOUT_V7 ? 40 : 48;
}

size_t s2_root_entries(enum s2_layout l)
{
	/* v7: bits[39:30] index two concatenated level-1 tables. */
	return (size_t)1 << (s2_ipa_bits(l) - s2_level_shift(s2_start_level(l)));
}

unsigned s2_level_shift(unsigned level)
{
	return S2_PAGE_SHIFT + 9 * (3 - level);
}

size_t s2_level_index(enum s2_layout l, unsigned level, uint64_t ipa)
{
	size_t n = level == s2_start_level(l) ? s2_root_entries(l) : S2_PTRS;

	return (size_t)(ipa >> s2_level_shift(level)) & (n - 1);
}

uint64_t s2_oa_mask(enum s2_layout l, unsigned level)
{
	uint64_t top = (1ull << s2_oa_bits(l)) - 1;

	return top & ~((1ull << s2_level_shift(level)) - 1);
}

uint64_t s2_desc_table(enum s2_layout l, uint64_t table_pa)
{
	return (table_pa & s2_oa_mask(l, 3)) | S2_DESC_TYPE_TABLE;
}

uint64_t s2_desc_leaf(enum s2_layout l, unsigned level, uint64_t oa,
		      unsigned prot)
{
	uint64_t d = (oa & s2_oa_mask(l, level)) |
		     (level == 3 ? S2_DESC_TYPE_PAGE : S2_DESC_TYPE_BLOCK) |
		     S2_MEMATTR_NORMAL_WB << S2_MEMATTR_SHIFT |
		     S2_SH_INNER << S2_SH_SHIFT | S2_AF;

	if (prot & S2_PROT_R)
		d |= S2_S2AP_R;
	if (prot & S2_PROT_W)
		d |= S2_S2AP_W;
	if (!(prot & S2_PROT_X))
		d |= S2_XN;
	return d;
}

enum s2_desc_kind s2_desc_kind(unsigned level, uint64_t desc)
{
	switch (desc & S2_DESC_TYPE_MASK) {
	case S2_DESC_TYPE_TABLE:	/* == S2_DESC_TYPE_PAGE */
		return level == 3 ? S2_KIND_PAGE : S2_KIND_TABLE;
	case S2_DESC_TYPE_BLOCK:
		/* 4 KiB granule: blocks at levels 1 and 2 only. */
		return level == 1 || level == 2 ? S2_KIND_BLOCK : S2_KIND_INVALID;
	default:
		return S2_KIND_INVALID;
	}
}

uint64_t s2_desc_oa(enum s2_layout l, unsigned level, uint64_t desc)
{
	unsigned lvl = s2_desc_kind(level, desc) == S2_KIND_TABLE ? 3 : level;

	return desc & s2_oa_mask(l, lvl);
}

unsigned s2_desc_prot(uint64_t desc)
{
	return ((desc & S2_S2AP_R) ? S2_PROT_R : 0) |
	       ((desc & S2_S2AP_W) ? S2_PROT_W : 0) |
	       ((desc & S2_XN) ? 0 : S2_PROT_X);
}

const char *s2_layout_name(enum s2_layout l)
{
	return l == S2_LAYOUT_V7 ? "v7" : "v8";
}

int s2_layout_parse(const char *s, enum s2_layout *out)
{
	if (!strcmp(s, "v7") || !strcmp(s, "armv7")) {
		*out = S2_LAYOUT_V7;
		return 0;
	}
	if (!strcmp(s, "v8") || !strcmp(s, "armv8")) {
		*out = S2_LAYOUT_V8;
		return 0;
	}
	return db_error(-EINVAL,
			"stage2: unknown layout '%s' (v7: ARMv7 LPAE, 40-bit IPA; v8: ARMv8 4 levels, 48-bit IPA)",
			s);
}

const char *s2_strategy_name(enum s2_strategy s)
{
	return s == S2_EAGER ? "eager" : "lazy";
}

/* ---- table pool ------------------------------------------------------ */

static uint64_t level_size(unsigned level)
{
	return 1ull << s2_level_shift(level);
}

/* Live tables and their bytes; changed under the exclusive lock only. */
static void gauge_tables(struct s2_vm *vm, int64_t delta)
{
	uint64_t bytes;

	ST_ADD(vm, tables_live, (uint64_t)delta);
	bytes = ST_ADD(vm, tables_bytes,
		       (uint64_t)(delta * (int64_t)S2_PAGE_SIZE)) +
		(uint64_t)(delta * (int64_t)S2_PAGE_SIZE);
	if (bytes > ST_GET(vm, tables_peak_bytes))
		__atomic_store_n(&vm->st.tables_peak_bytes, bytes,
				 __ATOMIC_RELAXED);
}

/* A zeroed table and its modelled PA. Exclusive lock held. */
static uint64_t *tab_alloc(struct s2_vm *vm, uint64_t *pa)
{
	uint64_t *t = calloc(S2_PTRS, sizeof(*t));
	size_t i;

	if (!t)
		return NULL;
	if (vm->nfree) {
		i = vm->freelist[--vm->nfree];
	} else {
		if (vm->ntabs == vm->cap) {
			size_t ncap = vm->cap ? vm->cap * 2 : 1024;
			uint64_t **nt = realloc(vm->tabs, ncap * sizeof(*nt));
			uint32_t *nf = realloc(vm->freelist, ncap * sizeof(*nf));

			if (nt)
				vm->tabs = nt;
			if (nf)
				vm->freelist = nf;
			if (!nt || !nf) {
				free(t);
				return NULL;
			}
			vm->cap = ncap;
		}
		i = vm->ntabs++;
	}
	vm->tabs[i] = t;
	*pa = S2_TABLE_PA_BASE + ((uint64_t)i << S2_PAGE_SHIFT);
	ST_INC(vm, tables_allocated);
	gauge_tables(vm, 1);
	return t;
}

static uint64_t *tab_from_pa(struct s2_vm *vm, uint64_t pa)
{
	uint64_t i = (pa - S2_TABLE_PA_BASE) >> S2_PAGE_SHIFT;

	if (pa < S2_TABLE_PA_BASE || i >= vm->ntabs)
		return NULL;
	return vm->tabs[i];
}

static void tab_free(struct s2_vm *vm, uint64_t pa)
{
	uint64_t i = (pa - S2_TABLE_PA_BASE) >> S2_PAGE_SHIFT;

	free(vm->tabs[i]);
	vm->tabs[i] = NULL;
	vm->freelist[vm->nfree++] = (uint32_t)i;
	ST_INC(vm, tables_freed);
	gauge_tables(vm, -1);
}

/* Free every table under 'table' (a table of 'level'), not itself. */
static void free_children(struct s2_vm *vm, uint64_t *table, unsigned level,
			  size_t n)
{
	enum s2_layout l = vm->cfg.layout;
	size_t i;

	for (i = 0; i < n; i++) {
		uint64_t pa;
		uint64_t *child;

		if (s2_desc_kind(level, table[i]) != S2_KIND_TABLE)
			continue;
		pa = s2_desc_oa(l, level, table[i]);
		child = tab_from_pa(vm, pa);
		if (child)
			free_children(vm, child, level + 1, S2_PTRS);
		tab_free(vm, pa);
	}
}

/* ---- descriptors and walks (lock held) ------------------------------- */

static void set_desc(struct s2_vm *vm, uint64_t *e, uint64_t d)
{
	*e = d;
	ST_INC(vm, descriptors_written);
}

/* Break-before-make: invalidate the entry, then the TLBs for its range. */
static void break_entry(struct s2_vm *vm, uint64_t *e)
{
	set_desc(vm, e, 0);
	/*
	 * TLBI IPAS2E1IS. The model only ever remaps an IPA to the same
	 * output address, and only removes write permission in passes
	 * that end in a VMID-wide flush, so a stale entry elsewhere is
	 * harmless; the invalidation is counted, the faulting vCPU drops
	 * its own entry.
	 */
	ST_INC(vm, tlbi_ipa);
}

static int walk_locked(struct s2_vm *vm, uint64_t ipa, struct s2_loc *loc)
{
	enum s2_layout l = vm->cfg.layout;
	uint64_t *table = vm->root;
	unsigned level = s2_start_level(l);

	for (;;) {
		uint64_t *e = &table[s2_level_index(l, level, ipa)];
		uint64_t d = *e;
		enum s2_desc_kind k = s2_desc_kind(level, d);

		if (k == S2_KIND_TABLE) {
			table = tab_from_pa(vm, s2_desc_oa(l, level, d));
			if (!table)
				return db_error(-EIO,
						"stage2: level %u descriptor 0x%016" PRIx64 " for IPA 0x%" PRIx64 " points outside the table pool",
						level, d, ipa);
			level++;
			continue;
		}
		loc->entry = e;
		loc->level = level;
		loc->desc = d;
		loc->kind = k;
		return 0;
	}
}

static struct s2_slot *slot_find(struct s2_vm *vm, uint64_t ipa)
{
	unsigned i;

	for (i = 0; i < vm->nslots; i++)
		if (ipa >= vm->slots[i].ipa &&
		    ipa - vm->slots[i].ipa < vm->slots[i].size)
			return &vm->slots[i];
	return NULL;
}

/* Output address of ipa under the leaf 'loc' found. */
static uint64_t leaf_oa(struct s2_vm *vm, const struct s2_loc *loc,
			uint64_t ipa)
{
	return s2_desc_oa(vm->cfg.layout, loc->level, loc->desc) +
	       (ipa & (level_size(loc->level) - 1));
}

/* Output address a slot gives ipa (the slot maps linearly). */
static uint64_t slot_oa(const struct s2_slot *s, uint64_t ipa)
{
	return s->pa + (ipa - s->ipa);
}

static uint8_t *slot_host(const struct s2_slot *s, uint64_t pa)
{
	if (pa < s->pa || pa - s->pa >= s->size)
		return NULL;
	return s->host + (pa - s->pa);
}

/*
 * The largest leaf KVM would map for ipa: a block when not logging, the
 * host backing is at least that large, the whole aligned range lies in
 * the slot and IPA, PA and host address are congruent; else a page.
 */
static unsigned leaf_level_for(const struct s2_slot *s, uint64_t ipa)
{
	unsigned level;

	if (s->logging)
		return 3;
	for (level = 1; level <= 2; level++) {
		uint64_t size = level_size(level), base = ipa & ~(size - 1);

		if (s->host_pagesize < size || base < s->ipa ||
		    base + size > s->ipa + s->size ||
		    ((s->pa - s->ipa) & (size - 1)) ||
		    (((uint64_t)(uintptr_t)s->host - s->ipa) & (size - 1)))
			continue;
		return level;
	}
	return 3;
}

/* A leaf of 'level' mapping ipa's aligned range of slot s. */
static uint64_t slot_leaf(struct s2_vm *vm, const struct s2_slot *s,
			  uint64_t ipa, unsigned level, unsigned prot)
{
	uint64_t base = ipa & ~(level_size(level) - 1);

	return s2_desc_leaf(vm->cfg.layout, level, slot_oa(s, base), prot);
}

/*
 * Install a leaf of 'target' level for ipa, creating tables on the way.
 * A block met above the target is dissolved into an empty table (option
 * 2: the rest of its range is left to later faults); a table met at the
 * target level is replaced by the block (a huge mapping rebuilt).
 */
static int install_leaf(struct s2_vm *vm, const struct s2_slot *s,
			uint64_t ipa, unsigned target, unsigned prot)
{
	enum s2_layout l = vm->cfg.layout;
	uint64_t *table = vm->root, *e, pa;
	unsigned level = s2_start_level(l);
	enum s2_desc_kind k;

	for (; level < target; level++) {
		e = &table[s2_level_index(l, level, ipa)];
		k = s2_desc_kind(level, *e);
		if (k == S2_KIND_TABLE) {
			table = tab_from_pa(vm, s2_desc_oa(l, level, *e));
			if (!table)
				return db_error(-EIO, "stage2: corrupt table descriptor at level %u",
						level);
			continue;
		}
		if (k == S2_KIND_BLOCK) {
			break_entry(vm, e);
			ST_INC(vm, blocks_split);
		}
		table = tab_alloc(vm, &pa);
		if (!table)
			return db_error(-ENOMEM, "stage2: no memory for a level %u table",
					level + 1);
		set_desc(vm, e, s2_desc_table(l, pa));
	}
	e = &table[s2_level_index(l, level, ipa)];
	k = s2_desc_kind(level, *e);
	if (k == S2_KIND_TABLE) {
		uint64_t *child;

		pa = s2_desc_oa(l, level, *e);
		child = tab_from_pa(vm, pa);
		break_entry(vm, e);
		if (child)
			free_children(vm, child, level + 1, S2_PTRS);
		tab_free(vm, pa);
		ST_INC(vm, blocks_rebuilt);
	}
	set_desc(vm, e, slot_leaf(vm, s, ipa, target, prot));
	if (target < 3)
		ST_INC(vm, blocks_mapped);
	else
		ST_INC(vm, pages_mapped);
	return 0;
}

/*
 * Fill a new table of 'level' with read-only leaves down to pages. On
 * failure nothing it allocated is left behind.
 */
static int build_split(struct s2_vm *vm, const struct s2_slot *s,
		       unsigned level, uint64_t ipa, uint64_t *pa)
{
	enum s2_layout l = vm->cfg.layout;
	uint64_t *t = tab_alloc(vm, pa), cpa;
	size_t i;
	int err;

	if (!t)
		return db_error(-ENOMEM, "stage2: no memory to split a block");
	for (i = 0; i < S2_PTRS; i++) {
		uint64_t a = ipa + i * level_size(level);

		if (level == 3) {
			set_desc(vm, &t[i], slot_leaf(vm, s, a, 3, S2_PROT_R));
			continue;
		}
		err = build_split(vm, s, level + 1, a, &cpa);
		if (err) {
			free_children(vm, t, level, i);
			tab_free(vm, *pa);
			return err;
		}
		set_desc(vm, &t[i], s2_desc_table(l, cpa));
	}
	return 0;
}

/* Option 1: replace the block at e by write-protected pages. */
static int split_block(struct s2_vm *vm, const struct s2_slot *s, uint64_t *e,
		       unsigned level, uint64_t ipa)
{
	enum s2_layout l = vm->cfg.layout;
	uint64_t base = ipa & ~(level_size(level) - 1), pa = 0;
	int err = build_split(vm, s, level + 1, base, &pa);

	if (err)
		return err;
	break_entry(vm, e);
	set_desc(vm, e, s2_desc_table(l, pa));
	ST_INC(vm, blocks_split);
	return 0;
}

static void wp_leaf(struct s2_vm *vm, uint64_t *e)
{
	if (*e & S2_S2AP_W) {
		set_desc(vm, e, *e & ~S2_S2AP_W);
		ST_INC(vm, pages_wp);
	}
}

/* Visit the leaves of [lo, hi) under a table of 'level' based at tipa. */
typedef int (*leaf_fn)(struct s2_vm *vm, const struct s2_slot *s,
		       uint64_t *e, unsigned level, uint64_t ipa, void *arg);

static int visit_leaves(struct s2_vm *vm, const struct s2_slot *s,
			uint64_t *table, unsigned level, uint64_t tipa,
			uint64_t lo, uint64_t hi, leaf_fn fn, void *arg)
{
	enum s2_layout l = vm->cfg.layout;
	size_t i, n = level == s2_start_level(l) ? s2_root_entries(l) : S2_PTRS;
	uint64_t sz = level_size(level);
	int err;

	for (i = 0; i < n; i++) {
		uint64_t a = tipa + i * sz, d = table[i];
		enum s2_desc_kind k;

		if (a + sz <= lo || a >= hi)
			continue;
		k = s2_desc_kind(level, d);
		if (k == S2_KIND_TABLE) {
			uint64_t *child = tab_from_pa(vm, s2_desc_oa(l, level, d));

			if (!child)
				return db_error(-EIO, "stage2: corrupt table descriptor at level %u",
						level);
			err = visit_leaves(vm, s, child, level + 1, a, lo, hi,
					   fn, arg);
		} else if (k != S2_KIND_INVALID) {
			err = fn(vm, s, &table[i], level, a, arg);
		} else {
			err = 0;
		}
		if (err)
			return err;
	}
	return 0;
}

static int slot_visit(struct s2_vm *vm, const struct s2_slot *s, leaf_fn fn,
		      void *arg)
{
	return visit_leaves(vm, s, vm->root, s2_start_level(vm->cfg.layout), 0,
			    s->ipa, s->ipa + s->size, fn, arg);
}

/* ---- TLB ------------------------------------------------------------- */

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

/* Publish the TLB generation this vCPU translates with (an RCU reader). */
static uint64_t vcpu_enter(struct s2_vm *vm, struct s2_vcpu *v)
{
	uint64_t g;

	for (;;) {
		g = __atomic_load_n(&vm->gen, __ATOMIC_SEQ_CST);
		__atomic_store_n(&v->using, g, __ATOMIC_SEQ_CST);
		if (__atomic_load_n(&vm->gen, __ATOMIC_SEQ_CST) == g)
			return g;
	}
}

static void vcpu_leave(struct s2_vcpu *v)
{
	__atomic_store_n(&v->using, 0, __ATOMIC_RELEASE);
}

/*
 * TLBI VMALLS12E1IS + DSB: every vCPU drops its TLB at its next access,
 * and this returns once no access that used an older translation is
 * still in flight. Called without the table lock.
 */
static void vmid_flush(struct s2_vm *vm)
{
	uint64_t g = __atomic_add_fetch(&vm->gen, 1, __ATOMIC_SEQ_CST);
	unsigned i, spins;

	for (i = 0; i < vm->cfg.nvcpus; i++) {
		struct s2_vcpu *v = &vm->vcpus[i];
		uint64_t u;

		for (spins = 0;; spins++) {
			u = __atomic_load_n(&v->using, __ATOMIC_SEQ_CST);
			if (!u || u >= g)
				break;
			if (spins < 128)
				cpu_relax();
			else
				sched_yield();
		}
	}
	ST_INC(vm, tlb_flush_vmid);
}

static void tlb_flush_local(struct s2_vcpu *v)
{
	memset(v->t4k, 0, (v->mask4k + 1) * sizeof(*v->t4k));
	memset(v->t2m, 0, sizeof(v->t2m));
	memset(v->t1g, 0, sizeof(v->t1g));
}

static struct tlb_ent *tlb_slot(struct s2_vcpu *v, unsigned level,
				uint64_t ipa)
{
	uint64_t n = ipa >> s2_level_shift(level);

	switch (level) {
	case 1:
		return &v->t1g[n & (TLB_1G_ENTRIES - 1)];
	case 2:
		return &v->t2m[n & (TLB_2M_ENTRIES - 1)];
	default:
		return &v->t4k[n & v->mask4k];
	}
}

static struct tlb_ent *tlb_lookup(struct s2_vcpu *v, uint64_t ipa,
				  unsigned *level)
{
	unsigned l;

	for (l = 3; l >= 1; l--) {
		struct tlb_ent *e = tlb_slot(v, l, ipa);

		if (e->tag == (ipa >> s2_level_shift(l)) + 1) {
			*level = l;
			return e;
		}
	}
	return NULL;
}

static void tlb_invalidate_local(struct s2_vcpu *v, uint64_t ipa)
{
	unsigned l;

	for (l = 1; l <= 3; l++) {
		struct tlb_ent *e = tlb_slot(v, l, ipa);

		if (e->tag == (ipa >> s2_level_shift(l)) + 1)
			e->tag = 0;
	}
}

/* ---- faults ---------------------------------------------------------- */

static void mark_dirty(struct s2_vm *vm, struct s2_slot *s, uint64_t ipa)
{
	size_t page = (size_t)((ipa - s->ipa) >> S2_PAGE_SHIFT);

	__atomic_fetch_or(&s->dirty[page / 64], 1ull << (page % 64),
			  __ATOMIC_RELEASE);
	ST_INC(vm, dirty_marked);
}

static void spin_ns(uint64_t ns)
{
	uint64_t end = db_now_ns() + ns;

	while (db_now_ns() < end)
		cpu_relax();
}

/* A permission fault on a valid leaf. Exclusive lock held. */
static int perm_fault(struct s2_vm *vm, struct s2_slot *s,
		      const struct s2_loc *loc, uint64_t ipa, bool write)
{
	unsigned level;
	int err;

	ST_INC(vm, perm_faults);
	if (!s->logging) {
		/* A bigger leaf allowed again (logging off): rebuild it. */
		level = leaf_level_for(s, ipa);
		if (level < loc->level)
			return install_leaf(vm, s, ipa, level,
					    S2_PROT_R | S2_PROT_W);
		set_desc(vm, loc->entry, loc->desc | S2_S2AP_R | S2_S2AP_W);
		return 0;
	}
	if (!write) {
		set_desc(vm, loc->entry, loc->desc | S2_S2AP_R);
		return 0;
	}
	if (loc->kind == S2_KIND_BLOCK) {
		if (vm->cfg.strategy == S2_LAZY) {
			/* Option 2: dissolve, map only the faulted page. */
			err = install_leaf(vm, s, ipa, 3, S2_PROT_R | S2_PROT_W);
			if (err)
				return err;
			mark_dirty(vm, s, ipa);
			return 0;
		}
		/* Eager split every block at enable; one mapped since. */
		struct s2_loc page;

		err = split_block(vm, s, loc->entry, loc->level, ipa);
		if (!err)
			err = walk_locked(vm, ipa, &page);
		if (err)
			return err;
		set_desc(vm, page.entry, page.desc | S2_S2AP_W);
		mark_dirty(vm, s, ipa);
		return 0;
	}
	/* Grant write on this 4 KiB page only, and log it. */
	set_desc(vm, loc->entry, loc->desc | S2_S2AP_W);
	mark_dirty(vm, s, ipa);
	return 0;
}

/* The abort handler, after KVM's user_mem_abort(). */
static int handle_fault(struct s2_vm *vm, uint64_t ipa, bool write)
{
	uint64_t t0 = db_now_ns();
	struct s2_slot *s = slot_find(vm, ipa);
	struct s2_loc loc;
	unsigned prot;
	int err;

	if (vm->cfg.exit_ns)
		spin_ns(vm->cfg.exit_ns);
	if (!s)
		return db_error(-EFAULT,
				"stage2: %s of IPA 0x%" PRIx64 " outside every memslot",
				write ? "write" : "read", ipa);
	pthread_rwlock_wrlock(&vm->lock);
	err = walk_locked(vm, ipa, &loc);
	if (err)
		goto out;
	if (loc.kind == S2_KIND_BLOCK || loc.kind == S2_KIND_PAGE) {
		prot = s2_desc_prot(loc.desc);
		if (prot & (write ? S2_PROT_W : S2_PROT_R))
			ST_INC(vm, spurious_faults);
		else
			err = perm_fault(vm, s, &loc, ipa, write);
		goto out;
	}
	ST_INC(vm, translation_faults);
	prot = S2_PROT_R;
	if (write || !s->logging)
		prot |= S2_PROT_W;
	err = install_leaf(vm, s, ipa, leaf_level_for(s, ipa), prot);
	if (!err && write && s->logging)
		mark_dirty(vm, s, ipa);
out:
	pthread_rwlock_unlock(&vm->lock);
	ST_ADD(vm, fault_handler_ns, db_now_ns() - t0);
	return err;
}

/* ---- the vCPU access path -------------------------------------------- */

static void copy_page(uint8_t *host, void *buf, size_t len, bool write)
{
	if (write)
		memcpy(host, buf, len);
	else
		memcpy(buf, host, len);
}

/* Translate through the TLB or a walk and copy; 1 if a fault is needed. */
static int try_access(struct s2_vm *vm, struct s2_vcpu *v, uint64_t ipa,
		      void *buf, size_t len, bool write)
{
	struct tlb_ent *te;
	struct s2_slot *s;
	struct s2_loc loc;
	unsigned level;
	uint8_t *host;
	int err;

	te = tlb_lookup(v, ipa, &level);
	if (te) {
		__atomic_store_n(&v->hits, v->hits + 1, __ATOMIC_RELAXED);
		if (write && !te->writable)
			return 1;	/* permission fault from the TLB */
		copy_page(te->host + (ipa & (level_size(level) - 1)), buf, len,
			  write);
		return 0;
	}
	__atomic_store_n(&v->misses, v->misses + 1, __ATOMIC_RELAXED);
	pthread_rwlock_rdlock(&vm->lock);
	err = walk_locked(vm, ipa, &loc);
	if (err || loc.kind == S2_KIND_INVALID ||
	    !(s2_desc_prot(loc.desc) & (write ? S2_PROT_W : S2_PROT_R))) {
		pthread_rwlock_unlock(&vm->lock);
		return err ? err : 1;
	}
	s = slot_find(vm, ipa);
	host = s ? slot_host(s, leaf_oa(vm, &loc, ipa)) : NULL;
	pthread_rwlock_unlock(&vm->lock);
	if (!host)
		return db_error(-EIO,
				"stage2: IPA 0x%" PRIx64 " maps outside its memslot's RAM",
				ipa);
	te = tlb_slot(v, loc.level, ipa);
	te->tag = (ipa >> s2_level_shift(loc.level)) + 1;
	te->host = host - (ipa & (level_size(loc.level) - 1));
	te->writable = loc.desc & S2_S2AP_W;
	copy_page(host, buf, len, write);
	return 0;
}

static int access_page(struct s2_vm *vm, struct s2_vcpu *v, uint64_t ipa,
		       void *buf, size_t len, bool write)
{
	unsigned tries;
	uint64_t g;
	int r;

	for (tries = 0; tries < S2_MAX_RETRIES; tries++) {
		g = vcpu_enter(vm, v);
		if (v->tlb_gen != g) {
			tlb_flush_local(v);
			v->tlb_gen = g;
		}
		r = try_access(vm, v, ipa, buf, len, write);
		vcpu_leave(v);
		if (r <= 0)
			return r;
		r = handle_fault(vm, ipa, write);
		if (r)
			return r;
		tlb_invalidate_local(v, ipa);
	}
	return db_error(-ELOOP, "stage2: IPA 0x%" PRIx64 " still faults after %u retries",
			ipa, tries);
}

static int s2_access(struct s2_vm *vm, unsigned vcpu, uint64_t ipa, void *buf,
		     size_t len, bool write)
{
	uint8_t *p = buf;
	int err;

	if (vcpu >= vm->cfg.nvcpus)
		return db_error(-EINVAL, "stage2: vCPU %u of %u", vcpu,
				vm->cfg.nvcpus);
	while (len) {
		size_t n = DB_MIN(len, S2_PAGE_SIZE - (ipa & (S2_PAGE_SIZE - 1)));

		err = access_page(vm, &vm->vcpus[vcpu], ipa, p, n, write);
		if (err)
			return err;
		ipa += n;
		p += n;
		len -= n;
	}
	return 0;
}

int s2_write(struct s2_vm *vm, unsigned vcpu, uint64_t ipa, const void *src,
	     size_t len)
{
	return s2_access(vm, vcpu, ipa, (void *)(uintptr_t)src, len, true);
}

int s2_read(struct s2_vm *vm, unsigned vcpu, uint64_t ipa, void *dst,
	    size_t len)
{
	return s2_access(vm, vcpu, ipa, dst, len, false);
}

int s2_translate(struct s2_vm *vm, uint64_t ipa, bool write, struct s2_walk *w)
{
	struct s2_slot *s = slot_find(vm, ipa);
	struct s2_loc loc;
	int err;

	memset(w, 0, sizeof(*w));
	w->slot = s ? (int)(s - vm->slots) : -1;
	if (ipa >> s2_ipa_bits(vm->cfg.layout))
		return db_error(-EINVAL, "stage2: IPA 0x%" PRIx64 " beyond %u bits",
				ipa, s2_ipa_bits(vm->cfg.layout));
	pthread_rwlock_rdlock(&vm->lock);
	err = walk_locked(vm, ipa, &loc);
	pthread_rwlock_unlock(&vm->lock);
	if (err)
		return err;
	w->level = loc.level;
	if (loc.kind == S2_KIND_INVALID) {
		w->fault = S2_FAULT_TRANSLATION;
		return 0;
	}
	w->desc = loc.desc;
	w->pa = leaf_oa(vm, &loc, ipa);
	w->host = s ? slot_host(s, w->pa) : NULL;
	if (!(s2_desc_prot(loc.desc) & (write ? S2_PROT_W : S2_PROT_R)))
		w->fault = S2_FAULT_PERMISSION;
	return 0;
}

/* ---- VM, slots, logging ---------------------------------------------- */

int s2_vm_create(struct s2_vm **out, const struct s2_config *cfg)
{
	struct s2_vm *vm;
	pthread_rwlockattr_t ra;
	unsigned i, tlb = cfg->tlb_entries ? cfg->tlb_entries : 1024;
	size_t rootn = s2_root_entries(cfg->layout);
	uint64_t pa;

	*out = NULL;
	if (!cfg->nvcpus || cfg->nvcpus > 1024)
		return db_error(-EINVAL, "stage2: %u vCPUs (1 to 1024)", cfg->nvcpus);
	if (tlb & (tlb - 1) || tlb > (1u << 20))
		return db_error(-EINVAL,
				"stage2: TLB of %u entries (a power of two up to 1048576)",
				tlb);
	vm = calloc(1, sizeof(*vm));
	if (!vm)
		return -ENOMEM;
	vm->cfg = *cfg;
	vm->cfg.tlb_entries = tlb;
	vm->gen = 1;
	vm->vcpus = aligned_alloc(64, sizeof(*vm->vcpus) * cfg->nvcpus);
	if (!vm->vcpus)
		goto nomem;
	memset(vm->vcpus, 0, sizeof(*vm->vcpus) * cfg->nvcpus);
	for (i = 0; i < cfg->nvcpus; i++) {
		vm->vcpus[i].mask4k = tlb - 1;
		vm->vcpus[i].tlb_gen = 1;
		vm->vcpus[i].t4k = calloc(tlb, sizeof(struct tlb_ent));
		if (!vm->vcpus[i].t4k)
			goto nomem;
	}
	/* The root: one table, or two concatenated (v7), at the pool's start. */
	vm->root = calloc(rootn, sizeof(uint64_t));
	vm->cap = 1024;
	vm->tabs = calloc(vm->cap, sizeof(*vm->tabs));
	vm->freelist = calloc(vm->cap, sizeof(*vm->freelist));
	if (!vm->root || !vm->tabs || !vm->freelist)
		goto nomem;
	for (i = 0; i < rootn / S2_PTRS; i++)
		vm->tabs[vm->ntabs++] = vm->root + i * S2_PTRS;
	pa = rootn * sizeof(uint64_t);
	vm->st.tables_live = rootn / S2_PTRS;
	vm->st.tables_bytes = vm->st.tables_peak_bytes = pa;
	pthread_rwlockattr_init(&ra);
	/* Faults and dirty-log reads must not starve behind walks. */
	pthread_rwlockattr_setkind_np(&ra,
				      PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&vm->lock, &ra);
	pthread_rwlockattr_destroy(&ra);
	pthread_mutex_init(&vm->ctl, NULL);
	vm->locks_ready = true;
	*out = vm;
	return 0;
nomem:
	s2_vm_destroy(vm);
	return db_error(-ENOMEM, "stage2: no memory for a VM of %u vCPUs",
			cfg->nvcpus);
}

void s2_vm_destroy(struct s2_vm *vm)
{
	unsigned i;

	if (!vm)
		return;
	if (vm->locks_ready) {
		free_children(vm, vm->root, s2_start_level(vm->cfg.layout),
			      s2_root_entries(vm->cfg.layout));
		pthread_rwlock_destroy(&vm->lock);
		pthread_mutex_destroy(&vm->ctl);
	}
	for (i = 0; i < vm->nslots; i++)
		free(vm->slots[i].dirty);
	if (vm->vcpus)
		for (i = 0; i < vm->cfg.nvcpus; i++)
			free(vm->vcpus[i].t4k);
	free(vm->vcpus);
	free(vm->root);
	free(vm->tabs);
	free(vm->freelist);
	free(vm);
}

int s2_slot_add(struct s2_vm *vm, const struct s2_slot_desc *d, unsigned *id)
{
	uint64_t top = 1ull << s2_ipa_bits(vm->cfg.layout);
	uint64_t otop = 1ull << s2_oa_bits(vm->cfg.layout);
	struct s2_slot *s;
	unsigned i;

	if (vm->nslots == S2_MAX_SLOTS)
		return db_error(-ENOSPC, "stage2: at most %d memslots", S2_MAX_SLOTS);
	if (!d->size || (d->ipa | d->size | d->pa) & (S2_PAGE_SIZE - 1) ||
	    d->ipa >= top || d->size > top - d->ipa || d->pa >= otop ||
	    d->size > otop - d->pa || d->pa + d->size > S2_TABLE_PA_BASE)
		return db_error(-EINVAL,
				"stage2: memslot IPA 0x%" PRIx64 " size 0x%" PRIx64 " PA 0x%" PRIx64 " is not 4 KiB aligned or does not fit %u-bit IPA / PA space below the table pool",
				d->ipa, d->size, d->pa, s2_ipa_bits(vm->cfg.layout));
	for (i = 0; i < vm->nslots; i++) {
		s = &vm->slots[i];
		if (d->ipa < s->ipa + s->size && s->ipa < d->ipa + d->size)
			return db_error(-EEXIST,
					"stage2: memslot at IPA 0x%" PRIx64 " overlaps memslot %u",
					d->ipa, i);
	}
	s = &vm->slots[vm->nslots];
	memset(s, 0, sizeof(*s));
	s->ipa = d->ipa;
	s->size = d->size;
	s->pa = d->pa;
	s->host = d->host;
	s->host_pagesize = d->host_pagesize ? d->host_pagesize : S2_PAGE_SIZE;
	s->npages = (size_t)(d->size >> S2_PAGE_SHIFT);
	s->dirty = calloc(DB_BITMAP_WORDS(s->npages), sizeof(uint64_t));
	if (!s->dirty)
		return db_error(-ENOMEM, "stage2: no memory for a dirty bitmap of %zu pages",
				s->npages);
	*id = vm->nslots++;
	return 0;
}

static struct s2_slot *slot_get(struct s2_vm *vm, unsigned id)
{
	if (id >= vm->nslots) {
		db_error(-EINVAL, "stage2: no memslot %u", id);
		return NULL;
	}
	return &vm->slots[id];
}

int s2_populate(struct s2_vm *vm, unsigned id)
{
	struct s2_slot *s = slot_get(vm, id);
	uint64_t ipa;
	int err = 0;

	if (!s)
		return -EINVAL;
	pthread_rwlock_wrlock(&vm->lock);
	for (ipa = s->ipa; ipa < s->ipa + s->size && !err;) {
		unsigned level = leaf_level_for(s, ipa);

		err = install_leaf(vm, s, ipa, level, S2_PROT_R | S2_PROT_W);
		ipa = (ipa & ~(level_size(level) - 1)) + level_size(level);
	}
	pthread_rwlock_unlock(&vm->lock);
	return err;
}

static int enable_leaf(struct s2_vm *vm, const struct s2_slot *s, uint64_t *e,
		       unsigned level, uint64_t ipa, void *arg)
{
	if (level < 3 && vm->cfg.strategy == S2_EAGER)
		return split_block(vm, s, e, level, ipa);
	wp_leaf(vm, e);
	return 0;
}

int s2_log_enable(struct s2_vm *vm, unsigned id)
{
	struct s2_slot *s = slot_get(vm, id);
	uint64_t t0 = db_now_ns();
	int err;

	if (!s)
		return -EINVAL;
	pthread_mutex_lock(&vm->ctl);
	pthread_rwlock_wrlock(&vm->lock);
	memset(s->dirty, 0, DB_BITMAP_WORDS(s->npages) * sizeof(uint64_t));
	s->logging = true;
	err = slot_visit(vm, s, enable_leaf, NULL);
	pthread_rwlock_unlock(&vm->lock);
	vmid_flush(vm);
	ST_ADD(vm, log_enable_ns, db_now_ns() - t0);
	pthread_mutex_unlock(&vm->ctl);
	return err;
}

int s2_log_disable(struct s2_vm *vm, unsigned id)
{
	struct s2_slot *s = slot_get(vm, id);

	if (!s)
		return -EINVAL;
	pthread_mutex_lock(&vm->ctl);
	pthread_rwlock_wrlock(&vm->lock);
	s->logging = false;
	pthread_rwlock_unlock(&vm->lock);
	pthread_mutex_unlock(&vm->ctl);
	return 0;
}

bool s2_log_enabled(struct s2_vm *vm, unsigned id)
{
	struct s2_slot *s = slot_get(vm, id);
	bool on;

	if (!s)
		return false;
	pthread_rwlock_rdlock(&vm->lock);
	on = s->logging;
	pthread_rwlock_unlock(&vm->lock);
	return on;
}

/*
 * Write-protect the pages of 'bits' (word w of the slot), and count into
 * *nfresh those also set in 'fresh'. Lock held.
 */
static int wp_word(struct s2_vm *vm, struct s2_slot *s, size_t w,
		   uint64_t bits, uint64_t fresh, size_t *nfresh)
{
	struct s2_loc loc;
	size_t n = 0;
	int err;

	while (bits) {
		unsigned b = (unsigned)__builtin_ctzll(bits);
		uint64_t ipa = s->ipa + ((uint64_t)(w * 64 + b) << S2_PAGE_SHIFT);

		bits &= bits - 1;
		n += (fresh >> b) & 1;
		err = walk_locked(vm, ipa, &loc);
		if (err)
			return err;
		if (loc.kind == S2_KIND_BLOCK || loc.kind == S2_KIND_PAGE)
			wp_leaf(vm, loc.entry);
	}
	*nfresh += n;
	return 0;
}

/* Bits of m not yet set in o. */
static size_t new_bits(uint64_t m, uint64_t o)
{
	return db_popcount64(m & ~o);
}

/*
 * Take dirty bits from words [w0, w0 + nw) of the slot's bitmap and
 * write-protect their pages again, then flush the VMID's TLBs if any page
 * was. Without a mask (GET_DIRTY_LOG) whole words are taken and ORed into
 * out, and with 'added' the bits that were clear in out are counted into
 * it; with a mask (CLEAR_DIRTY_LOG) only the masked bits that are set,
 * the last word cut to last_bits when not 0. ctl held.
 */
static int take_and_protect(struct s2_vm *vm, struct s2_slot *s, size_t w0,
			    size_t nw, const uint64_t *mask, unsigned last_bits,
			    uint64_t *out, size_t *added)
{
	uint64_t wp0, m, fmask;
	size_t fresh = 0;
	size_t w;
	int err = 0;

	pthread_rwlock_wrlock(&vm->lock);
	wp0 = ST_GET(vm, pages_wp);
	for (w = 0; w < nw && !err; w++) {
		uint64_t *word = &s->dirty[w0 + w];

		fmask = 0;
		if (mask) {
			m = mask[w];
			if (w == nw - 1 && last_bits)
				m &= (1ull << last_bits) - 1;
			if (m)
				m &= __atomic_fetch_and(word, ~m, __ATOMIC_ACQ_REL);
		} else {
			m = __atomic_exchange_n(word, 0, __ATOMIC_ACQ_REL);
			fmask = m & ~out[w];
			out[w] |= m;
		}
		if (m)
			err = wp_word(vm, s, w0 + w, m, fmask, &fresh);
	}
	if (added)
		*added += fresh;
	wp0 = ST_GET(vm, pages_wp) - wp0;
	pthread_rwlock_unlock(&vm->lock);
	if (wp0)
		vmid_flush(vm);
	return err;
}

int s2_get_dirty_log_count(struct s2_vm *vm, unsigned id, uint64_t *out,
			   bool manual_protect, size_t *added)
{
	struct s2_slot *s = slot_get(vm, id);
	uint64_t t0 = db_now_ns(), m;
	size_t w, nw, fresh = 0;
	int err = 0;

	if (!s)
		return -EINVAL;
	nw = DB_BITMAP_WORDS(s->npages);
	pthread_mutex_lock(&vm->ctl);
	if (manual_protect && added) {
		for (w = 0; w < nw; w++) {
			m = __atomic_load_n(&s->dirty[w], __ATOMIC_ACQUIRE);
			if (m)
				fresh += new_bits(m, out[w]);
			out[w] |= m;
		}
		*added += fresh;
	} else if (manual_protect) {
		for (w = 0; w < nw; w++)
			out[w] |= __atomic_load_n(&s->dirty[w], __ATOMIC_ACQUIRE);
	} else {
		err = take_and_protect(vm, s, 0, nw, NULL, 0, out, added);
	}
	ST_ADD(vm, dirty_log_ns, db_now_ns() - t0);
	pthread_mutex_unlock(&vm->ctl);
	return err;
}

int s2_get_dirty_log(struct s2_vm *vm, unsigned id, uint64_t *out,
		     bool manual_protect)
{
	return s2_get_dirty_log_count(vm, id, out, manual_protect, NULL);
}

int s2_clear_dirty_log(struct s2_vm *vm, unsigned id, size_t first,
		       size_t npages, const uint64_t *mask)
{
	struct s2_slot *s = slot_get(vm, id);
	uint64_t t0 = db_now_ns();
	int err;

	if (!s)
		return -EINVAL;
	if (first % 64 || first > s->npages || npages > s->npages - first)
		return db_error(-EINVAL,
				"stage2: clear of pages [%zu, +%zu) in a memslot of %zu (first must be a multiple of 64)",
				first, npages, s->npages);
	pthread_mutex_lock(&vm->ctl);
	err = take_and_protect(vm, s, first / 64, DB_BITMAP_WORDS(npages), mask,
			       npages % 64, NULL, NULL);
	ST_ADD(vm, dirty_log_ns, db_now_ns() - t0);
	pthread_mutex_unlock(&vm->ctl);
	return err;
}

static int census_leaf(struct s2_vm *vm, const struct s2_slot *s, uint64_t *e,
		      unsigned level, uint64_t ipa, void *arg)
{
	struct s2_census *c = arg;
	bool w = *e & S2_S2AP_W;

	switch (level) {
	case 1:
		c->blocks_1g++;
		break;
	case 2:
		c->blocks_2m++;
		break;
	default:
		c->pages++;
		c->writable_pages += w;
		return 0;
	}
	c->writable_blocks += w;
	return 0;
}

int s2_census(struct s2_vm *vm, unsigned id, struct s2_census *c)
{
	struct s2_slot *s = slot_get(vm, id);
	int err;

	memset(c, 0, sizeof(*c));
	if (!s)
		return -EINVAL;
	pthread_rwlock_rdlock(&vm->lock);
	err = slot_visit(vm, s, census_leaf, c);
	pthread_rwlock_unlock(&vm->lock);
	c->unmapped_pages = s->npages - c->pages - c->blocks_2m * S2_PTRS -
			    c->blocks_1g * S2_PTRS * S2_PTRS;
	return err;
}

void s2_get_stats(struct s2_vm *vm, struct s2_stats *st)
{
	const uint64_t *src = (const uint64_t *)&vm->st;
	uint64_t *dst = (uint64_t *)st;
	size_t i;

	for (i = 0; i < sizeof(*st) / sizeof(uint64_t); i++)
		dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
	st->tlb_hits = st->tlb_misses = 0;
	for (i = 0; i < vm->cfg.nvcpus; i++) {
		struct s2_vcpu *v = &vm->vcpus[i];

		st->tlb_hits += __atomic_load_n(&v->hits, __ATOMIC_RELAXED) -
				v->hits_base;
		st->tlb_misses += __atomic_load_n(&v->misses, __ATOMIC_RELAXED) -
				  v->misses_base;
	}
}

void s2_stats_reset(struct s2_vm *vm)
{
	struct s2_stats keep;
	unsigned i;

	pthread_mutex_lock(&vm->ctl);
	pthread_rwlock_wrlock(&vm->lock);
	keep = vm->st;
	memset(&vm->st, 0, sizeof(vm->st));
	vm->st.tables_live = keep.tables_live;
	vm->st.tables_bytes = keep.tables_bytes;
	vm->st.tables_peak_bytes = keep.tables_bytes;
	for (i = 0; i < vm->cfg.nvcpus; i++) {
		struct s2_vcpu *v = &vm->vcpus[i];

		v->hits_base = __atomic_load_n(&v->hits, __ATOMIC_RELAXED);
		v->misses_base = __atomic_load_n(&v->misses, __ATOMIC_RELAXED);
	}
	pthread_rwlock_unlock(&vm->lock);
	pthread_mutex_unlock(&vm->ctl);
}
