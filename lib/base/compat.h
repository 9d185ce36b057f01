/* SPDX-License-Identifier: MIT */
/*
 * Kernel ABI the build host's headers may lack (Debian 12 ships 6.1 uapi
 * headers; userfaultfd WP_ASYNC and the PAGEMAP_SCAN ioctl came in 6.7).
 * Values are the kernel's uapi ABI (include/uapi/linux/userfaultfd.h and
 * include/uapi/linux/fs.h); the running kernel decides at run time whether
 * it knows them, so the trackers probe instead of trusting these.
 * configure says which headers are complete (build/config.h).
 */
#ifndef DIRTYBENCH_COMPAT_H
#define DIRTYBENCH_COMPAT_H

#include "config.h"

#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <linux/fs.h>
#include <linux/types.h>
#include <linux/userfaultfd.h>

#ifndef HAVE_UFFDIO_WRITEPROTECT_HDR	/* Linux < 5.7 headers */
#define _UFFDIO_WRITEPROTECT (0x06)
struct uffdio_writeprotect {
	struct uffdio_range range;
#define UFFDIO_WRITEPROTECT_MODE_WP ((__u64)1 << 0)
#define UFFDIO_WRITEPROTECT_MODE_DONTWAKE ((__u64)1 << 1)
	__u64 mode;
};
#define UFFDIO_WRITEPROTECT \
	_IOWR(UFFDIO, _UFFDIO_WRITEPROTECT, struct uffdio_writeprotect)
#endif

#ifndef UFFD_USER_MODE_ONLY		/* Linux < 5.11 headers */
#define UFFD_USER_MODE_ONLY 1
#endif
#ifndef UFFD_FEATURE_WP_HUGETLBFS_SHMEM	/* Linux < 5.19 headers */
#define UFFD_FEATURE_WP_HUGETLBFS_SHMEM (1 << 12)
#endif

#ifndef HAVE_UFFD_WP_ASYNC_HDR		/* Linux < 6.7 headers */
#ifndef UFFD_FEATURE_WP_UNPOPULATED
#define UFFD_FEATURE_WP_UNPOPULATED (1 << 13)
#endif
#ifndef UFFD_FEATURE_POISON
#define UFFD_FEATURE_POISON (1 << 14)
#endif
#define UFFD_FEATURE_WP_ASYNC (1 << 15)
#endif

#ifndef HAVE_PAGEMAP_SCAN_HDR		/* Linux < 6.7 headers */
/* Categories, in pm_scan_arg masks and page_region.categories. */
#define PAGE_IS_WPALLOWED (1 << 0)
#define PAGE_IS_WRITTEN (1 << 1)
#define PAGE_IS_FILE (1 << 2)
#define PAGE_IS_PRESENT (1 << 3)
#define PAGE_IS_SWAPPED (1 << 4)
#define PAGE_IS_PFNZERO (1 << 5)
#define PAGE_IS_HUGE (1 << 6)
#define PAGE_IS_SOFT_DIRTY (1 << 7)

struct page_region {
	__u64 start;
	__u64 end;		/* exclusive */
	__u64 categories;
};

/* PAGEMAP_SCAN flags */
#define PM_SCAN_WP_MATCHING (1 << 0)	/* write-protect the pages matched */
#define PM_SCAN_CHECK_WPASYNC (1 << 1)	/* fail on a VMA without WP_ASYNC */

struct pm_scan_arg {
	__u64 size;		/* sizeof(struct pm_scan_arg) */
	__u64 flags;
	__u64 start;
	__u64 end;
	__u64 walk_end;		/* written by the kernel: where it stopped */
	__u64 vec;		/* struct page_region array */
	__u64 vec_len;
	__u64 max_pages;	/* 0: no limit */
	__u64 category_inverted;
	__u64 category_mask;
	__u64 category_anyof_mask;
	__u64 return_mask;
};

#define PAGEMAP_SCAN _IOWR('f', 16, struct pm_scan_arg)
#endif

#ifndef MADV_POPULATE_READ		/* Linux < 5.14 headers */
#define MADV_POPULATE_READ 22
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

/* /proc/PID/pagemap entry bits (Documentation/admin-guide/mm/pagemap.rst). */
#define DB_PM_PFN_MASK ((UINT64_C(1) << 55) - 1)
#define DB_PM_SOFT_DIRTY (UINT64_C(1) << 55)
#define DB_PM_EXCLUSIVE (UINT64_C(1) << 56)
#define DB_PM_UFFD_WP (UINT64_C(1) << 57)
#define DB_PM_FILE (UINT64_C(1) << 61)
#define DB_PM_SWAP (UINT64_C(1) << 62)
#define DB_PM_PRESENT (UINT64_C(1) << 63)

#endif
