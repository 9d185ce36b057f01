/* SPDX-License-Identifier: MIT */
/*
 * Linux memory-tracking primitives shared by the trackers and by
 * `dirtybench perf` (which times the bare mechanisms against the trackers):
 * userfaultfd write-protection, /proc/PID/pagemap reads and the
 * PAGEMAP_SCAN ioctl. Functions return 0 or -errno; those taking 'who'
 * also leave a message starting with it ("tracker uffd-wp: ...").
 */
#ifndef DIRTYBENCH_MMTRACK_H
#define DIRTYBENCH_MMTRACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/compat.h"
#include "dirtybench/bitmap.h"
#include "dirtybench/ram.h"

/* "6.18.44-..." from uname(2), for reasons that name the kernel. */
const char *db_kernel_release(void);

/*
 * Open a userfaultfd (O_CLOEXEC | O_NONBLOCK). Without CAP_SYS_PTRACE and
 * with vm.unprivileged_userfaultfd=0 it falls back to UFFD_USER_MODE_ONLY
 * (faults raised by the kernel itself, e.g. read(2) into guest RAM, then
 * fail with EFAULT instead of reaching the tracker). Returns the fd.
 */
int db_uffd_open(const char *who, bool *user_mode_only);
/* Features this kernel offers (UFFDIO_API handshake on a scratch fd). */
int db_uffd_kernel_features(const char *who, uint64_t *features);
/* UFFDIO_API asking for 'features' on fd (once per fd). */
int db_uffd_api(const char *who, int fd, uint64_t features);
/* Register [base, base+len) for write-protect faults. */
int db_uffd_register_wp(const char *who, int fd, void *base, size_t len);
int db_uffd_unregister(int fd, void *base, size_t len);
/*
 * Write-protect (protect) or release [base, base+len). A release wakes
 * the faulting threads unless dontwake. Retries EAGAIN. No message.
 */
int db_uffd_wp(int fd, void *base, size_t len, bool protect, bool dontwake);
/* The same on all of guest RAM, with a message naming who on failure. */
int db_uffd_wp_all(const char *who, int fd, void *base, size_t len,
		   bool protect);
/*
 * Write-protect all of guest RAM to arm a tracker, in slices on two
 * threads where the RAM is large and there are two CPUs; the ioctls it
 * made are added to *ioctls.
 */
int db_uffd_arm(const char *who, int fd, void *base, size_t len,
		uint64_t *ioctls);
/* Wake the threads waiting on faults in [base, base+len). */
int db_uffd_wake(int fd, void *base, size_t len);
/* The kernel feature a backing needs for WP: 0 or a UFFD_FEATURE_*. */
uint64_t db_uffd_backing_feature(enum db_backing backing);
/*
 * Everything a write-protect tracker does at attach: check the kernel offers
 * features (plus what the backing needs), open, handshake and register all
 * of guest RAM. Returns the fd, or -errno with a message naming who.
 */
int db_uffd_setup_wp(const char *who, struct db_ram *ram, uint64_t features,
		     bool *user_mode_only);

/*
 * Can this kernel run 'features' and, with async, PAGEMAP_SCAN? Tries
 * the real thing on a scratch mapping. 0, or -errno with a sentence in why.
 */
int db_uffd_probe(uint64_t features, bool async, char *why, size_t len);

/* Open /proc/PID/pagemap (pid 0: self). Returns the fd or -errno. */
int db_pagemap_open(pid_t pid);
/* Read the entries of npages pages starting at base. */
int db_pagemap_read(int fd, const void *base, size_t npages, uint64_t *out);
/* Does pagemap show PFNs to this process (CAP_SYS_ADMIN)? */
bool db_pagemap_pfns_visible(void);

/* What one PAGEMAP_SCAN pass over a range did. */
struct db_scan_stats {
	uint64_t ioctls;
	uint64_t regions;
};

/*
 * Report into dirty (bit i = page base + i*4096) every page of
 * [base, base+len) written since it was last write-protected, and
 * write-protect it again in the same walk when rearm (PM_SCAN_WP_MATCHING:
 * get and re-protect are atomic per page). Loops on walk_end until the
 * whole range is covered, since the kernel stops early once vec is full.
 */
int db_pagemap_scan_written(int pagemap_fd, void *base, size_t len,
			    bool rearm, struct page_region *vec, size_t vec_len,
			    struct db_bitmap *dirty, struct db_scan_stats *st);

/*
 * Which pages of guest RAM read as zero, known without reading them. Only
 * private anonymous RAM (backings anon and thp) qualifies: there a page
 * whose page-table entry is empty (not present, not swapped out, not
 * migrating: the kernel reports the last two as swapped) holds no data, and a page mapped to the shared zero page (PAGEMAP_SCAN's
 * PAGE_IS_PFNZERO, Linux 6.7+) holds none. Shared, file and hugetlb
 * memory keeps data in the page cache whatever this process's page
 * tables say, so for them (and when pagemap cannot be read) the map knows
 * nothing and every page is read. Without PAGEMAP_SCAN only absent pages
 * are known (from /proc/self/pagemap entries). A page found zero may be
 * written a moment later: callers rely on it only where they would have
 * relied on reading it at that moment (a tracker armed, or the guest
 * paused).
 */
#define DB_ZERO_MAP_VEC 512
struct db_zero_map {
	int fd;			/* /proc/self/pagemap; -1: nothing is known */
	bool scan;		/* PAGEMAP_SCAN works here */
	const uint8_t *base;
	size_t npages;
	size_t from, to;	/* the pages [from, to) the window describes */
	size_t nvec, cur;
	struct page_region vec[DB_ZERO_MAP_VEC];
	uint64_t pm[DB_ZERO_MAP_VEC];	/* pagemap entries without the scan */
	uint64_t ioctls;	/* scans or pagemap reads so far */
};

/* Always succeeds; a map for RAM it cannot judge knows nothing. */
void db_zero_map_open(struct db_zero_map *z, const struct db_ram *ram);
/*
 * How many pages from page p on (at most max) are known to read as zero:
 * 0 when page p must be read. Fastest with p ascending.
 */
size_t db_zero_map_run(struct db_zero_map *z, size_t p, size_t max);
void db_zero_map_close(struct db_zero_map *z);

#endif
