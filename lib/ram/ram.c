// SPDX-License-Identifier: MIT
/* Guest RAM mappings: anonymous, THP, hugetlb, memfd. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"
#include "base/compat.h"
#include "dirtybench/common.h"
#include "dirtybench/ram.h"

static const char *const backing_names[DB_BACKING_COUNT] = {
	[DB_BACKING_ANON] = "anon",
	[DB_BACKING_THP] = "thp",
	[DB_BACKING_HUGETLB] = "hugetlb",
	[DB_BACKING_MEMFD] = "memfd",
	[DB_BACKING_TRACKER] = "tracker",
};

const char *db_backing_name(enum db_backing b)
{
	return (unsigned)b < DB_BACKING_COUNT ? backing_names[b] : "?";
}

int db_backing_parse(const char *s, enum db_backing *out)
{
	unsigned i;

	for (i = 0; i < DB_BACKING_TRACKER; i++) {
		if (!strcmp(s, backing_names[i])) {
			*out = (enum db_backing)i;
			return 0;
		}
	}
	return db_error(-EINVAL,
			"unknown backing '%s' (anon, thp, hugetlb, memfd)", s);
}

static long hugetlb_free_pages(void)
{
	char buf[64];

	if (db_read_file("/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages",
			 buf, sizeof(buf)) <= 0)
		return -1;
	return atol(buf);
}

/* Make sure 'need' free 2 MiB pages exist, raising nr_hugepages if root. */
static int hugetlb_reserve(size_t need)
{
	const char *nr = "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages";
	char buf[64];
	long free_now = hugetlb_free_pages(), total;

	if (free_now < 0)
		return db_error(-ENOTSUP,
				"backing hugetlb: this kernel has no 2 MiB hugetlb pages");
	if ((size_t)free_now >= need)
		return 0;
	if (db_read_file(nr, buf, sizeof(buf)) <= 0)
		return db_error(-ENOTSUP, "backing hugetlb: cannot read %s", nr);
	total = atol(buf) + (long)(need - (size_t)free_now);
	snprintf(buf, sizeof(buf), "%ld", total);
	if (db_write_file(nr, buf))
		return db_error(-EPERM,
				"backing hugetlb: %zu free 2 MiB pages needed, %ld free, and nr_hugepages cannot be raised (run as root)",
				need, free_now);
	free_now = hugetlb_free_pages();
	if (free_now < 0 || (size_t)free_now < need)
		return db_error(-ENOMEM,
				"backing hugetlb: asked for %zu free 2 MiB pages, the kernel found only %ld (memory too fragmented?)",
				need, free_now);
	return 0;
}

int db_backing_probe(enum db_backing b, char *why, size_t len)
{
	char buf[256];

	switch (b) {
	case DB_BACKING_THP:
		if (db_read_file("/sys/kernel/mm/transparent_hugepage/enabled",
				 buf, sizeof(buf)) <= 0) {
			snprintf(why, len, "no transparent huge pages in this kernel");
			return -ENOTSUP;
		}
		if (strstr(buf, "[never]")) {
			snprintf(why, len,
				 "transparent huge pages are set to never");
			return -ENOTSUP;
		}
		return 0;
	case DB_BACKING_HUGETLB:
		if (hugetlb_free_pages() < 0) {
			snprintf(why, len, "no 2 MiB hugetlb pages in this kernel");
			return -ENOTSUP;
		}
		return 0;
	case DB_BACKING_TRACKER:
		snprintf(why, len, "provided by a tracker");
		return -ENOTSUP;
	default:
		return 0;
	}
}

int64_t db_ram_anon_huge_bytes(const struct db_ram *ram)
{
	FILE *f = fopen("/proc/self/smaps", "re");
	char line[256];
	unsigned long lo, hi;
	int in = 0;
	int64_t total = 0;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') &&
		    line[0] != ' ') {
			in = lo < (unsigned long)(ram->base + ram->size) &&
			     hi > (unsigned long)ram->base;
			continue;
		}
		if (in && !strncmp(line, "AnonHugePages:", 14))
			total += atoll(line + 14) * 1024;
	}
	fclose(f);
	return total;
}

void db_ram_unmap(struct db_ram *ram)
{
	if (ram->base)
		munmap(ram->base, ram->size);
	if (ram->fd >= 0)
		close(ram->fd);
}

static void prefault(struct db_ram *ram)
{
	size_t i;

	/* One write per page: the memory is populated and private. */
	for (i = 0; i < ram->size; i += DB_PAGE_SIZE)
		((volatile uint8_t *)ram->base)[i] = 0;
}

int db_ram_populate(struct db_ram *ram, size_t off, size_t len, bool touch)
{
	volatile uint8_t *p;
	size_t i;

	if (off > ram->size || len > ram->size - off)
		return db_error(-EINVAL, "ram: populate [%zu, +%zu) is outside %zu bytes",
				off, len, ram->size);
	if (!len)
		return touch ? DB_POPULATED_TOUCH : DB_POPULATED_MADVISE;
	if (!touch) {
		if (!madvise(ram->base + off, len, MADV_POPULATE_WRITE))
			return DB_POPULATED_MADVISE;
		/* EINVAL: a kernel before 5.14 does not know the advice */
		if (errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
			return db_error_errno(-errno,
					      "ram: cannot fault in %zu bytes of guest RAM (MADV_POPULATE_WRITE)",
					      len);
	}
	/* fresh memory reads as zero: one write of a zero per page */
	p = ram->base + off;
	for (i = 0; i < len; i += DB_PAGE_SIZE)
		p[i] = 0;
	return DB_POPULATED_TOUCH;
}

int db_ram_create(struct db_ram *ram, size_t size, enum db_backing backing,
		  int do_prefault)
{
	int prot = PROT_READ | PROT_WRITE;
	int flags = MAP_PRIVATE | MAP_ANONYMOUS;
	char sz[32];
	void *p;
	int err;

	memset(ram, 0, sizeof(*ram));
	ram->fd = -1;
	ram->backing = backing;
	ram->map_pagesize = DB_PAGE_SIZE;
	if (size == 0 || size % DB_PAGE_SIZE)
		return db_error(-EINVAL,
				"ram: size %zu is not a positive multiple of 4 KiB",
				size);
	if (backing == DB_BACKING_THP || backing == DB_BACKING_HUGETLB) {
		size = (size + DB_HUGE_SIZE - 1) & ~(DB_HUGE_SIZE - 1);
		ram->map_pagesize = DB_HUGE_SIZE;
	}
	ram->size = size;
	ram->npages = size / DB_PAGE_SIZE;

	switch (backing) {
	case DB_BACKING_ANON:
	case DB_BACKING_THP:
		break;
	case DB_BACKING_HUGETLB:
		err = hugetlb_reserve(size / DB_HUGE_SIZE);
		if (err)
			return err;
		flags |= MAP_HUGETLB;
		break;
	case DB_BACKING_MEMFD:
		ram->fd = memfd_create("dirtybench-ram", MFD_CLOEXEC);
		if (ram->fd < 0)
			return db_error_errno(-errno, "ram: memfd_create");
		if (ftruncate(ram->fd, (off_t)size)) {
			err = db_error_errno(-errno, "ram: ftruncate memfd to %s",
					     db_fmt_bytes(size, sz, sizeof(sz)));
			close(ram->fd);
			ram->fd = -1;
			return err;
		}
		flags = MAP_SHARED;
		break;
	default:
		return db_error(-EINVAL, "ram: backing %s cannot be created here",
				db_backing_name(backing));
	}

	if (backing == DB_BACKING_THP) {
		/* Over-map and align to 2 MiB so that huge pages can be used. */
		size_t len = size + DB_HUGE_SIZE;
		uint8_t *raw = mmap(NULL, len, prot, flags, -1, 0);
		uintptr_t a;

		if (raw == MAP_FAILED)
			return db_error_errno(-errno, "ram: mmap %s",
					      db_fmt_bytes(size, sz, sizeof(sz)));
		a = ((uintptr_t)raw + DB_HUGE_SIZE - 1) & ~(DB_HUGE_SIZE - 1);
		if (a > (uintptr_t)raw)
			munmap(raw, a - (uintptr_t)raw);
		munmap((void *)(a + size), (uintptr_t)raw + len - (a + size));
		p = (void *)a;
		if (madvise(p, size, MADV_HUGEPAGE)) {
			err = -errno;
			munmap(p, size);
			return db_error_errno(err, "ram: madvise(MADV_HUGEPAGE)");
		}
	} else {
		p = mmap(NULL, size, prot, flags, ram->fd, 0);
		if (p == MAP_FAILED) {
			err = db_error_errno(-errno, "ram: mmap %s %s",
					     db_fmt_bytes(size, sz, sizeof(sz)),
					     db_backing_name(backing));
			db_ram_unmap(ram);
			return err;
		}
		if (backing == DB_BACKING_ANON)
			madvise(p, size, MADV_NOHUGEPAGE);
	}
	ram->base = p;
	ram->release = db_ram_unmap;

	if (do_prefault || backing == DB_BACKING_THP)
		prefault(ram);
	if (backing == DB_BACKING_THP) {
		int64_t huge = db_ram_anon_huge_bytes(ram);

		if (huge <= 0) {
			db_ram_destroy(ram);
			return db_error(-ENOTSUP,
					"ram: backing thp: no AnonHugePages after faulting in %s (THP disabled or memory fragmented)",
					db_fmt_bytes(size, sz, sizeof(sz)));
		}
	}
	return 0;
}

void db_ram_destroy(struct db_ram *ram)
{
	if (ram->release)
		ram->release(ram);
	ram->release = NULL;
	ram->base = NULL;
	ram->fd = -1;
}
