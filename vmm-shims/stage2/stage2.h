/* SPDX-License-Identifier: MIT */
/*
 * A software model of ARM stage-2 translation and of KVM/ARM dirty-page
 * logging, faithful enough to compare the two ways the ARMv7 logging series
 * dissolves block (huge) mappings:
 *
 *   eager (option 1): at log enable, split every block into a table of
 *                     write-protected page entries;
 *   lazy  (option 2): at log enable, write-protect the blocks; on a write
 *                     fault inside one, clear the block entry, create a
 *                     table and install only the faulted page.
 *
 * Tables hold real long-descriptor (LPAE) entries, 4 KiB granule, in the
 * ARMv7 layout (40-bit IPA, walk starts at level 1 with two concatenated
 * tables) or the ARMv8 4-level layout (48-bit IPA, walk starts at level 0).
 * Descriptors point at tables and pages by modelled physical addresses;
 * guest RAM pages sit at a fixed modelled PA base, tables in a pool of
 * their own.
 *
 * Access path: s2_write() on behalf of a vCPU looks up the vCPU's software
 * TLB, walks the tables on a miss and takes translation and permission
 * faults to a handler modelled on KVM's user_mem_abort().
 *
 * Concurrency: any number of vCPUs (one thread each) may access at once,
 * concurrently with one control thread (log enable/disable, dirty-log
 * reads). Walks take the table lock shared, faults and control operations
 * take it exclusive. TLB maintenance is modelled like TLBI + DSB: a
 * VMID-wide flush returns only once no vCPU can still be using a
 * translation from before it, so a write racing with a dirty-log read is
 * either visible to the caller of that read or faults and is logged for
 * the next one.
 */
#ifndef DIRTYBENCH_STAGE2_H
#define DIRTYBENCH_STAGE2_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

/*
 * Stage-2 long-descriptor fields (ARM ARM: VMSAv8-64 stage 2 block and
 * page descriptors; VMSAv7 long-descriptor format for ARMv7 LPAE).
 */
#define S2_DESC_VALID		(1ull << 0)	/* bit 0 */
#define S2_DESC_TYPE_MASK	3ull		/* bits[1:0] */
#define S2_DESC_TYPE_BLOCK	1ull		/* 0b01: block, levels 1 and 2 */
#define S2_DESC_TYPE_TABLE	3ull		/* 0b11: table, levels 0 to 2 */
#define S2_DESC_TYPE_PAGE	3ull		/* 0b11: page, level 3 */
#define S2_MEMATTR_SHIFT	2		/* MemAttr, bits[5:2] */
#define S2_MEMATTR_MASK		(0xfull << S2_MEMATTR_SHIFT)
#define S2_MEMATTR_NORMAL_WB	0xfull		/* outer and inner write-back */
#define S2_MEMATTR_DEVICE_NGNRE	0x1ull
#define S2_S2AP_R		(1ull << 6)	/* S2AP[0], bit 6: read */
#define S2_S2AP_W		(1ull << 7)	/* S2AP[1], bit 7: write */
#define S2_S2AP_MASK		(S2_S2AP_R | S2_S2AP_W)
#define S2_SH_SHIFT		8		/* SH, bits[9:8] */
#define S2_SH_MASK		(3ull << S2_SH_SHIFT)
#define S2_SH_INNER		3ull
#define S2_AF			(1ull << 10)	/* access flag */
#define S2_XN			(1ull << 54)	/* execute never */

#define S2_PAGE_SHIFT		12
#define S2_PAGE_SIZE		(1ull << S2_PAGE_SHIFT)
#define S2_BLOCK_2M		(1ull << 21)	/* level 2 block */
#define S2_BLOCK_1G		(1ull << 30)	/* level 1 block */
#define S2_PTRS			512		/* entries per 4 KiB table */

enum s2_layout {
	S2_LAYOUT_V7,	/* ARMv7 LPAE: 40-bit IPA and OA, start at level 1 */
	S2_LAYOUT_V8,	/* ARMv8: 48-bit IPA and OA, 4 levels from level 0 */
};

enum s2_strategy {
	S2_EAGER,	/* option 1: split every block at log enable */
	S2_LAZY,	/* option 2: dissolve a block on its first write fault */
};

/* Access permissions asked of a leaf, before encoding into S2AP/XN. */
enum s2_prot {
	S2_PROT_R = 1u << 0,
	S2_PROT_W = 1u << 1,
	S2_PROT_X = 1u << 2,
};

enum s2_desc_kind {
	S2_KIND_INVALID,
	S2_KIND_TABLE,
	S2_KIND_BLOCK,
	S2_KIND_PAGE,
};

/* Modelled physical addresses (all below 2^40, so both layouts hold them). */
#define S2_DEFAULT_IPA_BASE	0x80000000ull		/* guest RAM in the IPA space */
#define S2_DEFAULT_PA_BASE	0x880000000ull		/* host pages backing it */
#define S2_TABLE_PA_BASE	0xf000000000ull		/* stage-2 table pool */

/* Geometry and descriptor encoding: pure functions, no VM needed. */
unsigned s2_start_level(enum s2_layout l);
unsigned s2_ipa_bits(enum s2_layout l);
unsigned s2_oa_bits(enum s2_layout l);
size_t s2_root_entries(enum s2_layout l);	/* 1024 (v7) or 512 (v8) */
unsigned s2_level_shift(unsigned level);	/* 39, 30, 21, 12 */
/* Index of ipa in a table of 'level' (the root may be concatenated). */
size_t s2_level_index(enum s2_layout l, unsigned level, uint64_t ipa);
/* Output-address bits a descriptor of 'level' holds: [oa_bits-1:shift]. */
uint64_t s2_oa_mask(enum s2_layout l, unsigned level);

uint64_t s2_desc_table(enum s2_layout l, uint64_t table_pa);
/* Block (level 1 or 2) or page (level 3), normal write-back memory. */
uint64_t s2_desc_leaf(enum s2_layout l, unsigned level, uint64_t oa,
		      unsigned prot);
enum s2_desc_kind s2_desc_kind(unsigned level, uint64_t desc);
uint64_t s2_desc_oa(enum s2_layout l, unsigned level, uint64_t desc);
unsigned s2_desc_prot(uint64_t desc);		/* enum s2_prot bits */

struct s2_config {
	enum s2_layout layout;
	enum s2_strategy strategy;
	unsigned nvcpus;		/* >= 1 */
	unsigned tlb_entries;		/* 4 KiB TLB entries per vCPU, power of 2 */
	uint64_t exit_ns;		/* modelled cost of one stage-2 abort */
	uint8_t vmid;
};

struct s2_slot_desc {
	uint64_t ipa;			/* 4 KiB aligned */
	uint64_t size;			/* bytes, 4 KiB multiple */
	uint8_t *host;			/* host mapping of the slot's RAM */
	uint64_t pa;			/* modelled PA of its first page */
	size_t host_pagesize;		/* host backing page size: 4K, 2M, 1G */
};

/* Result of one table walk (no TLB, no fault). */
enum s2_fault {
	S2_FAULT_NONE,
	S2_FAULT_TRANSLATION,		/* invalid entry at 'level' */
	S2_FAULT_PERMISSION,		/* leaf without the asked permission */
};

struct s2_walk {
	enum s2_fault fault;
	unsigned level;			/* of the leaf, or of the invalid entry */
	uint64_t desc;			/* the leaf (0 on a translation fault) */
	uint64_t pa;			/* output address of the IPA */
	uint8_t *host;			/* host address of the IPA */
	int slot;			/* memslot of the IPA, -1 if none */
};

/* Event counters; the table gauges are not reset by s2_stats_reset(). */
struct s2_stats {
	uint64_t translation_faults;
	uint64_t perm_faults;
	uint64_t spurious_faults;	/* already fixed by another vCPU */
	uint64_t fault_handler_ns;	/* abort entry to return, lock wait in */
	uint64_t blocks_split;		/* block entries dissolved */
	uint64_t blocks_mapped;		/* block entries installed */
	uint64_t blocks_rebuilt;	/* ... of which replaced a table */
	uint64_t pages_mapped;		/* page entries installed by faults */
	uint64_t pages_wp;		/* leaves write-protected */
	uint64_t dirty_marked;		/* dirty bits set by write faults */
	uint64_t tables_allocated;
	uint64_t tables_freed;
	uint64_t descriptors_written;
	uint64_t tlb_flush_vmid;	/* VMID-wide invalidations */
	uint64_t tlbi_ipa;		/* per-IPA invalidations (break-before-make) */
	uint64_t tlb_hits;
	uint64_t tlb_misses;
	uint64_t log_enable_ns;		/* in s2_log_enable(), flush included */
	uint64_t dirty_log_ns;		/* in get/clear dirty log, flush included */
	/* gauges */
	uint64_t tables_live;
	uint64_t tables_bytes;		/* live, root included */
	uint64_t tables_peak_bytes;
};

/* Leaves currently mapping a memslot. */
struct s2_census {
	size_t blocks_1g, blocks_2m, pages;
	size_t writable_blocks, writable_pages;
	size_t unmapped_pages;		/* 4 KiB pages with no leaf */
};

struct s2_vm;

int s2_vm_create(struct s2_vm **out, const struct s2_config *cfg);
void s2_vm_destroy(struct s2_vm *vm);

/* Add a memslot (before any access); *id gets its number. */
int s2_slot_add(struct s2_vm *vm, const struct s2_slot_desc *d, unsigned *id);
/* Map the whole slot writable, largest leaves allowed (a guest that ran). */
int s2_populate(struct s2_vm *vm, unsigned slot);

/*
 * Write or read len bytes at ipa as vCPU 'vcpu' (one thread per vCPU at a
 * time). -EFAULT with a message if the IPA is in no memslot.
 */
int s2_write(struct s2_vm *vm, unsigned vcpu, uint64_t ipa, const void *src,
	     size_t len);
int s2_read(struct s2_vm *vm, unsigned vcpu, uint64_t ipa, void *dst,
	    size_t len);
/* One walk of the current tables, as a write (write=true) or a read. */
int s2_translate(struct s2_vm *vm, uint64_t ipa, bool write,
		 struct s2_walk *w);

/*
 * Dirty logging, one control thread at a time. Enable clears the slot's
 * bitmap, write-protects the slot (splitting blocks when eager) and
 * flushes the VMID's TLBs. Disable stops logging; blocks come back as
 * later faults find whole aligned ranges.
 */
int s2_log_enable(struct s2_vm *vm, unsigned slot);
int s2_log_disable(struct s2_vm *vm, unsigned slot);
bool s2_log_enabled(struct s2_vm *vm, unsigned slot);
/*
 * GET_DIRTY_LOG: OR the slot's dirty bitmap (one bit per page of the slot)
 * into 'out'. Unless manual_protect, also clear it and write-protect the
 * reported pages again, then flush the VMID's TLBs if any were.
 */
int s2_get_dirty_log(struct s2_vm *vm, unsigned slot, uint64_t *out,
		     bool manual_protect);
/*
 * The same, and add to *added how many of the bits it ORs into 'out' were
 * clear there before: what a tracker reports anew, counted on the words
 * the read takes anyway instead of in two more passes over 'out'.
 */
int s2_get_dirty_log_count(struct s2_vm *vm, unsigned slot, uint64_t *out,
			   bool manual_protect, size_t *added);
/*
 * CLEAR_DIRTY_LOG (manual protect): for each bit set in mask (bit i stands
 * for page first+i, first a multiple of 64), clear the dirty bit if set
 * and write-protect that page; then flush if any page was.
 */
int s2_clear_dirty_log(struct s2_vm *vm, unsigned slot, size_t first,
		       size_t npages, const uint64_t *mask);

int s2_census(struct s2_vm *vm, unsigned slot, struct s2_census *c);
void s2_get_stats(struct s2_vm *vm, struct s2_stats *st);
void s2_stats_reset(struct s2_vm *vm);

const char *s2_layout_name(enum s2_layout l);
int s2_layout_parse(const char *s, enum s2_layout *out);
const char *s2_strategy_name(enum s2_strategy s);

#endif
