// SPDX-License-Identifier: MIT
/* userfaultfd, pagemap and PAGEMAP_SCAN helpers (see mmtrack.h). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "dirtybench/common.h"
#include "base/slices.h"
#include "ram/mmtrack.h"

static char kernel_release[sizeof(((struct utsname *)0)->release)];
static pthread_once_t release_once = PTHREAD_ONCE_INIT;

static void release_init(void)
{
	struct utsname u;

	if (uname(&u))
		snprintf(kernel_release, sizeof(kernel_release), "(unknown)");
	else
		snprintf(kernel_release, sizeof(kernel_release), "%s", u.release);
}

const char *db_kernel_release(void)
{
	pthread_once(&release_once, release_init);
	return kernel_release;
}

static int uffd_syscall(int flags)
{
#ifdef SYS_userfaultfd
	return (int)syscall(SYS_userfaultfd, flags);
#else
	errno = ENOSYS;
	return -1;
#endif
}

int db_uffd_open(const char *who, bool *user_mode_only)
{
	int fd = uffd_syscall(O_CLOEXEC | O_NONBLOCK);

	if (user_mode_only)
		*user_mode_only = false;
	if (fd < 0 && errno == EPERM) {
		fd = uffd_syscall(O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
		if (fd >= 0 && user_mode_only)
			*user_mode_only = true;
	}
	if (fd >= 0)
		return fd;
	if (errno == ENOSYS)
		return db_error(-ENOSYS,
				"%s: kernel %s has no userfaultfd (CONFIG_USERFAULTFD is off)",
				who, db_kernel_release());
	if (errno == EPERM)
		return db_error(-EPERM,
				"%s: userfaultfd: Operation not permitted (vm.unprivileged_userfaultfd=0; run as root)",
				who);
	return db_error_errno(-errno, "%s: userfaultfd", who);
}

int db_uffd_api(const char *who, int fd, uint64_t features)
{
	struct uffdio_api api = { .api = UFFD_API, .features = features };

	if (ioctl(fd, UFFDIO_API, &api))
		return db_error_errno(-errno,
				      "%s: UFFDIO_API with features 0x%llx", who,
				      (unsigned long long)features);
	return 0;
}

int db_uffd_kernel_features(const char *who, uint64_t *features)
{
	struct uffdio_api api = { .api = UFFD_API, .features = 0 };
	int fd = db_uffd_open(who, NULL), err = 0;

	if (fd < 0)
		return fd;
	if (ioctl(fd, UFFDIO_API, &api))
		err = db_error_errno(-errno, "%s: UFFDIO_API", who);
	else
		*features = api.features;
	close(fd);
	return err;
}

int db_uffd_register_wp(const char *who, int fd, void *base, size_t len)
{
	struct uffdio_register reg = {
		.range = { .start = (uintptr_t)base, .len = len },
		.mode = UFFDIO_REGISTER_MODE_WP,
	};
	char sz[32];

	if (ioctl(fd, UFFDIO_REGISTER, &reg)) {
		int err = -errno;

		return db_error_errno(err, "%s: cannot register %s at %p for write-protect faults%s",
				      who, db_fmt_bytes(len, sz, sizeof(sz)), base,
				      err == -EPERM ? " (run as root)" :
				      err == -EINVAL ? " (backing not supported by this kernel's userfaultfd)" : "");
	}
	if (!(reg.ioctls & ((uint64_t)1 << _UFFDIO_WRITEPROTECT)))
		return db_error(-ENOTSUP,
				"%s: kernel %s offers no UFFDIO_WRITEPROTECT on %s at %p",
				who, db_kernel_release(),
				db_fmt_bytes(len, sz, sizeof(sz)), base);
	return 0;
}

int db_uffd_unregister(int fd, void *base, size_t len)
{
	struct uffdio_range r = { .start = (uintptr_t)base, .len = len };

	return ioctl(fd, UFFDIO_UNREGISTER, &r) ? -errno : 0;
}

int db_uffd_wp(int fd, void *base, size_t len, bool protect, bool dontwake)
{
	struct uffdio_writeprotect wp = {
		.range = { .start = (uintptr_t)base, .len = len },
		.mode = (protect ? UFFDIO_WRITEPROTECT_MODE_WP : 0) |
			(dontwake ? UFFDIO_WRITEPROTECT_MODE_DONTWAKE : 0),
	};

	/* EAGAIN: the address space is changing under us; try again. */
	while (ioctl(fd, UFFDIO_WRITEPROTECT, &wp)) {
		if (errno != EAGAIN && errno != EINTR)
			return -errno;
	}
	return 0;
}

int db_uffd_wp_all(const char *who, int fd, void *base, size_t len,
		   bool protect)
{
	char sz[32];
	int err = db_uffd_wp(fd, base, len, protect, false);

	if (err)
		return db_error_errno(err, "%s: cannot %s %s at %p", who,
				      protect ? "write-protect" : "release",
				      db_fmt_bytes(len, sz, sizeof(sz)), base);
	return 0;
}

int db_uffd_wake(int fd, void *base, size_t len)
{
	struct uffdio_range r = { .start = (uintptr_t)base, .len = len };

	return ioctl(fd, UFFDIO_WAKE, &r) ? -errno : 0;
}

uint64_t db_uffd_backing_feature(enum db_backing backing)
{
	return backing == DB_BACKING_HUGETLB || backing == DB_BACKING_MEMFD ?
	       UFFD_FEATURE_WP_HUGETLBFS_SHMEM : 0;
}

/* One pass of PAGEMAP_SCAN from start; returns regions or -errno. */
static long scan_once(int fd, uintptr_t start, uintptr_t end, bool rearm,
		      struct page_region *vec, size_t vec_len, uint64_t *walk_end)
{
	struct pm_scan_arg arg = {
		.size = sizeof(arg),
		.flags = rearm ? PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC : 0,
		.start = start,
		.end = end,
		.vec = (uintptr_t)vec,
		.vec_len = vec_len,
		.category_mask = PAGE_IS_WRITTEN,
		.return_mask = PAGE_IS_WRITTEN,
	};
	long n = ioctl(fd, PAGEMAP_SCAN, &arg);

	if (n < 0)
		return -errno;
	*walk_end = arg.walk_end;
	return n;
}

int db_pagemap_scan_written(int pagemap_fd, void *base, size_t len,
			    bool rearm, struct page_region *vec, size_t vec_len,
			    struct db_bitmap *dirty, struct db_scan_stats *st)
{
	uintptr_t b = (uintptr_t)base, start = b, end = b + len;
	uint64_t walk_end = 0;
	long n, i;

	while (start < end) {
		n = scan_once(pagemap_fd, start, end, rearm, vec, vec_len,
			      &walk_end);
		if (st)
			st->ioctls++;
		if (n < 0)
			return n;
		for (i = 0; i < n; i++) {
			uintptr_t s = DB_MAX((uintptr_t)vec[i].start, b);
			uintptr_t e = DB_MIN((uintptr_t)vec[i].end, end);

			if (e > s)
				db_bitmap_set_range(dirty, (s - b) >> DB_PAGE_SHIFT,
						    (e - s) >> DB_PAGE_SHIFT);
		}
		if (st)
			st->regions += (uint64_t)n;
		/*
		 * The kernel stops as soon as vec is full (n == vec_len, and
		 * with more regions left it does not say so otherwise) and
		 * leaves in walk_end the first page it neither reported nor
		 * re-armed: resume there until the whole range is walked.
		 */
		if (walk_end <= start)
			return -EIO;	/* no progress: kernel bug */
		start = (uintptr_t)walk_end;
	}
	return 0;
}

int db_pagemap_open(pid_t pid)
{
	char path[64];
	int fd;

	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)pid);
	else
		snprintf(path, sizeof(path), "/proc/self/pagemap");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int db_pagemap_read(int fd, const void *base, size_t npages, uint64_t *out)
{
	size_t want = npages * sizeof(uint64_t), got = 0;
	off_t off = (off_t)((uintptr_t)base >> DB_PAGE_SHIFT) * (off_t)sizeof(uint64_t);
	ssize_t n;

	while (got < want) {
		n = pread(fd, (char *)out + got, want - got, off + (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		got += (size_t)n;
	}
	return 0;
}

bool db_pagemap_pfns_visible(void)
{
	static volatile uint64_t probe_word = 1;
	uint64_t e = 0;
	int fd = db_pagemap_open(0);
	bool ok;

	if (fd < 0)
		return false;
	probe_word++;	/* present and private */
	ok = !db_pagemap_read(fd, (const void *)((uintptr_t)&probe_word & ~(uintptr_t)(DB_PAGE_SIZE - 1)), 1, &e) &&
	     (e & DB_PM_PRESENT) && (e & DB_PM_PFN_MASK);
	close(fd);
	return ok;
}

/* Userfaultfd WP_ASYNC end to end on a scratch mapping: write page 1 of 3. */
static int probe_async(int uffd, char *why, size_t len)
{
	size_t sz = 3 * DB_PAGE_SIZE;
	uint8_t *m = mmap(NULL, sz, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct page_region vec[4];
	struct db_bitmap seen = { 0 };
	int pm = -1, err;

	if (m == MAP_FAILED) {
		snprintf(why, len, "cannot map a scratch page: %s", strerror(errno));
		return -ENOMEM;
	}
	memset(m, 1, sz);
	err = db_uffd_register_wp("probe", uffd, m, sz);
	if (!err)
		err = db_uffd_wp(uffd, m, sz, true, false);
	if (err) {
		snprintf(why, len, "%s", db_strerror());
		goto out;
	}
	pm = db_pagemap_open(0);
	if (pm < 0) {
		err = pm;
		snprintf(why, len, "cannot open /proc/self/pagemap: %s",
			 strerror(-err));
		goto out;
	}
	m[DB_PAGE_SIZE] = 2;
	err = db_bitmap_init(&seen, 3);
	if (!err)
		err = db_pagemap_scan_written(pm, m, sz, true, vec, 4, &seen, NULL);
	if (err == -ENOTTY || err == -EINVAL) {
		snprintf(why, len,
			 "kernel %s has no PAGEMAP_SCAN ioctl on /proc/PID/pagemap (Linux 6.7+)",
			 db_kernel_release());
		err = -ENOTSUP;
	} else if (err) {
		snprintf(why, len, "PAGEMAP_SCAN failed: %s", strerror(-err));
	} else if (db_bitmap_count(&seen) != 1 || !db_bitmap_test(&seen, 1)) {
		snprintf(why, len,
			 "kernel %s: PAGEMAP_SCAN reported %zu written pages where 1 was written",
			 db_kernel_release(), db_bitmap_count(&seen));
		err = -ENOTSUP;
	}
out:
	db_bitmap_free(&seen);
	if (pm >= 0)
		close(pm);
	munmap(m, sz);
	return err;
}

int db_uffd_probe(uint64_t features, bool async, char *why, size_t len)
{
	uint64_t have = 0;
	int fd, err;

	err = db_uffd_kernel_features("userfaultfd", &have);
	if (err) {
		snprintf(why, len, "%s", db_strerror());
		return err;
	}
	if ((have & features) != features) {
		snprintf(why, len,
			 "kernel %s lacks userfaultfd feature%s%s%s (write-protect needs Linux 5.7+, WP_ASYNC 6.7+)",
			 db_kernel_release(),
			 (~have & features & UFFD_FEATURE_PAGEFAULT_FLAG_WP) ? " PAGEFAULT_FLAG_WP" : "",
			 (~have & features & UFFD_FEATURE_WP_ASYNC) ? " WP_ASYNC" : "",
			 (~have & features & UFFD_FEATURE_WP_UNPOPULATED) ? " WP_UNPOPULATED" : "");
		return -ENOTSUP;
	}
	if (!async)
		return 0;
	fd = db_uffd_open("userfaultfd", NULL);
	if (fd < 0) {
		snprintf(why, len, "%s", db_strerror());
		return fd;
	}
	err = db_uffd_api("userfaultfd", fd, features);
	if (err)
		snprintf(why, len, "%s", db_strerror());
	else
		err = probe_async(fd, why, len);
	close(fd);
	return err;
}

int db_uffd_setup_wp(const char *who, struct db_ram *ram, uint64_t features,
		     bool *user_mode_only)
{
	uint64_t need = features | db_uffd_backing_feature(ram->backing);
	uint64_t have = 0;
	int fd, err;

	err = db_uffd_kernel_features(who, &have);
	if (err)
		return err;
	if ((have & need) != need)
		return db_error(-ENOTSUP,
				"%s: kernel %s cannot write-protect %s guest RAM with userfaultfd (features 0x%llx missing)",
				who, db_kernel_release(),
				db_backing_name(ram->backing),
				(unsigned long long)(need & ~have));
	/* Pages never touched yet must be tracked too. */
	if (have & UFFD_FEATURE_WP_UNPOPULATED)
		need |= UFFD_FEATURE_WP_UNPOPULATED;
	fd = db_uffd_open(who, user_mode_only);
	if (fd < 0)
		return fd;
	err = db_uffd_api(who, fd, need);
	if (!err)
		err = db_uffd_register_wp(who, fd, ram->base, ram->size);
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

void db_zero_map_open(struct db_zero_map *z, const struct db_ram *ram)
{
	struct page_region r;
	struct pm_scan_arg arg = {
		.size = sizeof(arg),
		.vec = (uintptr_t)&r,
		.vec_len = 1,
		.category_inverted = PAGE_IS_PFNZERO,
		.category_mask = PAGE_IS_PFNZERO,
		.category_anyof_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED,
		.return_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED,
	};

	memset(z, 0, sizeof(*z));
	z->fd = -1;
	if (ram->backing != DB_BACKING_ANON && ram->backing != DB_BACKING_THP)
		return;
	z->fd = db_pagemap_open(0);
	if (z->fd < 0) {
		z->fd = -1;
		return;
	}
	z->base = ram->base;
	z->npages = ram->npages;
	/* does this kernel scan? one page is enough to know */
	arg.start = (uintptr_t)ram->base;
	arg.end = arg.start + DB_PAGE_SIZE;
	z->scan = ioctl(z->fd, PAGEMAP_SCAN, &arg) >= 0;
}

void db_zero_map_close(struct db_zero_map *z)
{
	if (z->fd >= 0)
		close(z->fd);
	z->fd = -1;
}

/*
 * Describe pages from p on. With PAGEMAP_SCAN the kernel lists only the
 * pages that may hold data (present and not the zero page, or swapped
 * out), up to the vector's size: everything else in [from, to) is zero.
 * The filter makes the walk about four times cheaper than a listing of
 * every page (4 GiB of zero-page entries: 3.4-5 ms against 14-17 ms).
 * The RAM is one anonymous mapping of our own, so every page of it lies
 * in a VMA that the walk visits.
 */
static int zero_map_fill(struct db_zero_map *z, size_t p)
{
	uintptr_t b = (uintptr_t)z->base;
	struct pm_scan_arg arg = {
		.size = sizeof(arg),
		.start = b + p * DB_PAGE_SIZE,
		.end = b + z->npages * DB_PAGE_SIZE,
		.vec = (uintptr_t)z->vec,
		.vec_len = DB_ZERO_MAP_VEC,
		/* not the zero page, and present or swapped */
		.category_inverted = PAGE_IS_PFNZERO,
		.category_mask = PAGE_IS_PFNZERO,
		.category_anyof_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED,
		.return_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED,
	};
	size_t n;
	long got;

	z->ioctls++;
	z->from = p;
	z->nvec = z->cur = 0;
	if (!z->scan) {
		n = DB_MIN((size_t)DB_ZERO_MAP_VEC, z->npages - p);
		if (db_pagemap_read(z->fd, z->base + p * DB_PAGE_SIZE, n, z->pm))
			return -EIO;
		z->to = p + n;
		return 0;
	}
	got = ioctl(z->fd, PAGEMAP_SCAN, &arg);
	if (got < 0 || arg.walk_end <= arg.start || arg.walk_end > arg.end)
		return -EIO;
	z->nvec = (size_t)got;
	z->to = (size_t)((arg.walk_end - b) / DB_PAGE_SIZE);
	return 0;
}

size_t db_zero_map_run(struct db_zero_map *z, size_t p, size_t max)
{
	uintptr_t at = (uintptr_t)z->base + p * DB_PAGE_SIZE, limit;
	size_t n = 0;

	if (z->fd < 0 || p >= z->npages || !max)
		return 0;
	max = DB_MIN(max, z->npages - p);
	if ((p < z->from || p >= z->to) && zero_map_fill(z, p)) {
		db_zero_map_close(z);	/* cannot tell any more: read pages */
		return 0;
	}
	if (!z->scan) {
		while (n < max && p + n < z->to &&
		       !(z->pm[p + n - z->from] & (DB_PM_PRESENT | DB_PM_SWAP)))
			n++;
		return n;
	}
	if (z->cur && z->vec[z->cur - 1].end > at)
		z->cur = 0;	/* asked for a page before the last one */
	while (z->cur < z->nvec && z->vec[z->cur].end <= at)
		z->cur++;
	if (z->cur < z->nvec && z->vec[z->cur].start <= at)
		return 0;	/* it may hold data */
	limit = z->cur < z->nvec ? (uintptr_t)z->vec[z->cur].start :
				   (uintptr_t)z->base + z->to * DB_PAGE_SIZE;
	return DB_MIN(max, (size_t)((limit - at) / DB_PAGE_SIZE));
}

/*
 * Arming a large guest: the write-protect walk of 1 M page-table entries
 * (4 GiB) takes 70 ms on one core here, 40 ms on two, and the ioctl
 * holds the mmap lock only for reading, so two threads walk at once.
 */
#define ARM_SLICE (64ull << 20)
#define ARM_THREADED_MIN (256ull << 20)

struct arm_job {
	int fd;
	uint8_t *base;
};

static int arm_slice(void *arg, uint64_t off, uint64_t len)
{
	struct arm_job *j = arg;

	return db_uffd_wp(j->fd, j->base + off, len, true, false);
}

int db_uffd_arm(const char *who, int fd, void *base, size_t len,
		uint64_t *ioctls)
{
	struct arm_job j = { .fd = fd, .base = base };
	bool two = len >= ARM_THREADED_MIN;
	uint64_t slice = two ? ARM_SLICE : len;
	char sz[32];
	int err;

	/* smaller RAM: one ioctl */
	err = db_slices_run(len, slice, two, arm_slice, &j, NULL, NULL);
	if (err)
		return db_error_errno(err, "%s: cannot write-protect %s at %p", who,
				      db_fmt_bytes(len, sz, sizeof(sz)), base);
	if (slice)
		*ioctls += (len + slice - 1) / slice;
	return 0;
}
