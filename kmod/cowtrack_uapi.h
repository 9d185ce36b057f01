/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * cowtrack: copy-on-write dirty tracking of guest RAM, ioctl ABI.
 *
 * Shared by the kernel module and userspace (C11). Every field has a fixed
 * width and every structure a size that is a multiple of 8, so 32-bit and
 * 64-bit callers see the same layout. Pointers travel as __u64.
 *
 * One open file of /dev/cowtrack is one guest-RAM context:
 *
 *   fd = open("/dev/cowtrack", O_RDWR);
 *   ioctl(fd, COWTRACK_VERSION, &v);          check v.abi_version
 *   ioctl(fd, COWTRACK_CREATE, &c);           c.size bytes of guest RAM
 *   ram = mmap(NULL, c.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
 *   ioctl(fd, COWTRACK_START, &s);            round 0 begins
 *   ioctl(fd, COWTRACK_READ_SNAPSHOT, &r);    round-start image of pages
 *   ioctl(fd, COWTRACK_GET_DIRTY_LOG, &d);    pages written; next round
 *   ioctl(fd, COWTRACK_STOP);
 *   munmap(ram, c.size); close(fd);           everything is freed
 *
 * Errors (-1 and errno): EINVAL for a bad argument (unknown flag, size not
 * a positive multiple of the page size, range outside the context, bitmap
 * too small), E2BIG for a size above the module's max_size_mb parameter,
 * EFAULT for a bad user pointer, EBUSY for CREATE twice or START while
 * started, EBADFD for a call in the wrong state (no CREATE yet, not
 * started, snapshot read without COWTRACK_START_COW), ENOMEM, EINTR.
 */
#ifndef COWTRACK_UAPI_H
#define COWTRACK_UAPI_H

#include <linux/types.h>
#include <linux/ioctl.h>

/* Bumped on any incompatible change of the structures or semantics. */
#define COWTRACK_ABI_VERSION 1

#define COWTRACK_DEVICE "/dev/cowtrack"
#define COWTRACK_IOC_MAGIC 0xDB

struct cowtrack_version {
	__u32 abi_version;	/* out: COWTRACK_ABI_VERSION of the module */
	__u32 page_size;	/* out: bytes one dirty bit stands for */
	__u64 max_size;		/* out: largest CREATE size, bytes */
};

struct cowtrack_create {
	__u64 size;		/* in: bytes, multiple of page_size */
	__u64 flags;		/* in: 0 */
};

/* Preserve pre-images: READ_SNAPSHOT serves the round-start image. */
#define COWTRACK_START_COW (1ULL << 0)
#define COWTRACK_START_FLAGS COWTRACK_START_COW

struct cowtrack_start {
	__u64 flags;		/* in: COWTRACK_START_* */
};

/*
 * Bit i of the bitmap (word i / 64, bit i % 64 of __u64 words) stands for
 * page i. bitmap_size must hold ((npages + 63) / 64) * 8 bytes.
 */
struct cowtrack_dirty_log {
	__u64 bitmap;		/* in: user address of the bitmap */
	__u64 bitmap_size;	/* in: bytes available there */
	__u64 round;		/* out: number of the round that ended */
	__u64 dirty_pages;	/* out: bits set */
};

/*
 * Copy pages [first_page, first_page + num_pages) as they were when the
 * current round began, into buf (buf_size >= num_pages * page_size).
 */
struct cowtrack_snapshot {
	__u64 first_page;	/* in */
	__u64 num_pages;	/* in */
	__u64 buf;		/* in: user address */
	__u64 buf_size;		/* in: bytes available there */
	__u64 round;		/* out: the round whose start image this is */
};

struct cowtrack_stats {
	__u64 faults;		/* .fault calls (page mapped in) */
	__u64 mkwrite;		/* .page_mkwrite calls (write after protect) */
	__u64 preimages;	/* pre-images copied into shadow pages */
	__u64 shadow_pages;	/* shadow pages held now */
	__u64 shadow_bytes;	/* bytes those hold */
	__u64 pages_allocated;	/* guest RAM pages allocated so far */
	__u64 rounds;		/* rounds begun since START */
	__u64 dirty_pages;	/* pages written in the current round */
	__u64 wp_ranges;	/* write-protect (PTE zap) calls */
	__u64 reserved[7];	/* 0 */
};

#define COWTRACK_VERSION \
	_IOR(COWTRACK_IOC_MAGIC, 0x00, struct cowtrack_version)
#define COWTRACK_CREATE \
	_IOW(COWTRACK_IOC_MAGIC, 0x01, struct cowtrack_create)
#define COWTRACK_START \
	_IOW(COWTRACK_IOC_MAGIC, 0x02, struct cowtrack_start)
#define COWTRACK_GET_DIRTY_LOG \
	_IOWR(COWTRACK_IOC_MAGIC, 0x03, struct cowtrack_dirty_log)
#define COWTRACK_READ_SNAPSHOT \
	_IOWR(COWTRACK_IOC_MAGIC, 0x04, struct cowtrack_snapshot)
#define COWTRACK_STATS \
	_IOR(COWTRACK_IOC_MAGIC, 0x05, struct cowtrack_stats)
#define COWTRACK_STOP \
	_IO(COWTRACK_IOC_MAGIC, 0x06)

#endif
