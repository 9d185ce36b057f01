/* SPDX-License-Identifier: MIT */
/*
 * Guest RAM: one mapping of 'size' bytes with a backing. A tracker that
 * provides the RAM itself (DB_TRK_PROVIDES_RAM, e.g. the kernel module's
 * device) fills in base/release at attach time instead of db_ram_create().
 */
#ifndef DIRTYBENCH_RAM_H
#define DIRTYBENCH_RAM_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

enum db_backing {
	DB_BACKING_ANON,	/* private anonymous, THP disabled (4 KiB) */
	DB_BACKING_THP,		/* private anonymous with MADV_HUGEPAGE */
	DB_BACKING_HUGETLB,	/* MAP_HUGETLB, 2 MiB pages */
	DB_BACKING_MEMFD,	/* memfd_create + MAP_SHARED */
	DB_BACKING_TRACKER,	/* provided by the tracker */
	DB_BACKING_COUNT
};

struct db_ram {
	uint8_t *base;
	size_t size;		/* bytes, a multiple of DB_PAGE_SIZE */
	size_t npages;		/* size / DB_PAGE_SIZE */
	enum db_backing backing;
	size_t map_pagesize;	/* 4096, or 2 MiB for hugetlb/THP */
	int fd;			/* memfd or device, -1 otherwise */
	/* Called by db_ram_destroy() for provided RAM; may be NULL. */
	void (*release)(struct db_ram *ram);
	void *owner;
};

/*
 * Map 'size' bytes (rounded up to 2 MiB for huge backings) and fault it in
 * (prefault != 0), so that trackers see populated memory. THP verifies that
 * AnonHugePages really appeared (-ENOTSUP with the reason if not); hugetlb
 * tries to reserve pages through nr_hugepages when run as root.
 */
int db_ram_create(struct db_ram *ram, size_t size, enum db_backing backing,
		  int prefault);
void db_ram_destroy(struct db_ram *ram);
/*
 * munmap(base, size) and close(fd) if open: the release of mapped RAM, for
 * trackers that map the RAM themselves too.
 */
void db_ram_unmap(struct db_ram *ram);

/*
 * Fault [off, off + len) of fresh RAM in for writing, before data comes:
 * MADV_POPULATE_WRITE (Linux 5.14+), or, where the kernel does not know
 * it or 'touch' asks for it, one write of a zero per page. The RAM must
 * read as zero there (nothing written yet). Returns which way it went,
 * or -errno with the reason (e.g. -ENOMEM: the memory is not there).
 */
#define DB_POPULATED_MADVISE 1
#define DB_POPULATED_TOUCH 2
int db_ram_populate(struct db_ram *ram, size_t off, size_t len, bool touch);

int db_backing_parse(const char *s, enum db_backing *out);
const char *db_backing_name(enum db_backing b);
/* Why a backing cannot be had here: 0, or -errno with a reason in why. */
int db_backing_probe(enum db_backing b, char *why, size_t len);
/* Bytes of AnonHugePages in [base, base+size) from /proc/self/smaps. */
int64_t db_ram_anon_huge_bytes(const struct db_ram *ram);

static inline uint8_t *db_ram_page(const struct db_ram *ram, size_t page)
{
	return ram->base + (page << 12);
}

#endif
