// SPDX-License-Identifier: MIT
/*
 * cowtrack-ioctl: the cowtrack module's test suite, run inside a booted
 * kernel with the module loaded (ci/kernel/run.sh does that under QEMU).
 *
 * Every test runs in its own child process, so that a SIGBUS or a hang in
 * one does not take the others down, and prints one line the host parses:
 *
 *   DBK RESULT module <test> PASS|FAIL|SKIP [detail]
 *
 * Usage: cowtrack-ioctl [-s SUITE] [-t SECONDS] [TEST...]
 * Exit status: 0 every test passed or skipped, 1 a test failed, 2 usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cowtrack_uapi.h"

#define PG 4096ul
#define SYSFS_DEV "/sys/class/misc/cowtrack/"
#define PARAM_MAX "/sys/module/cowtrack/parameters/max_size_mb"

#if defined(__GNUC__)
#define PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define PRINTF(f, a)
#endif

/* The child's verdict travels to the parent through this pipe. */
static int msg_fd = -1;

static void say(const char *fmt, ...) PRINTF(1, 2);
static void say(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > 0 && msg_fd >= 0 && write(msg_fd, buf, strlen(buf)) < 0)
		_exit(3);
}

#define FAIL(...) do { say(__VA_ARGS__); return 1; } while (0)
#define SKIP(...) do { say(__VA_ARGS__); return 77; } while (0)
/* Check an expression; on failure say which, where, and errno. */
#define CHECK(cond) do { \
	if (!(cond)) \
		FAIL("line %d: %s (errno %d %s)", __LINE__, #cond, errno, \
		     strerror(errno)); \
} while (0)
/* An ioctl that must fail with errno e. */
#define CHECK_ERR(call, e) do { \
	errno = 0; \
	if ((call) != -1 || errno != (e)) \
		FAIL("line %d: %s: expected %s, got errno %d %s", __LINE__, \
		     #call, #e, errno, strerror(errno)); \
} while (0)

static int dev_open(void)
{
	return open(COWTRACK_DEVICE, O_RDWR | O_CLOEXEC);
}

static int ctx_create(int fd, uint64_t size)
{
	struct cowtrack_create c = { .size = size };

	return ioctl(fd, COWTRACK_CREATE, &c);
}

static int ctx_start(int fd, uint64_t flags)
{
	struct cowtrack_start s = { .flags = flags };

	return ioctl(fd, COWTRACK_START, &s);
}

static int get_log(int fd, uint64_t *bitmap, size_t bytes,
		   struct cowtrack_dirty_log *out)
{
	struct cowtrack_dirty_log d = {
		.bitmap = (uintptr_t)bitmap,
		.bitmap_size = bytes,
	};
	int r = ioctl(fd, COWTRACK_GET_DIRTY_LOG, &d);

	if (out)
		*out = d;
	return r;
}

static int snap(int fd, uint64_t first, uint64_t n, void *buf)
{
	struct cowtrack_snapshot s = {
		.first_page = first,
		.num_pages = n,
		.buf = (uintptr_t)buf,
		.buf_size = n * PG,
	};

	return ioctl(fd, COWTRACK_READ_SNAPSHOT, &s);
}

static uint8_t *map_ram(int fd, size_t size, off_t off)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, off);

	return p == MAP_FAILED ? NULL : p;
}

/* A new context of npages pages, mapped whole; NULL (and why) on failure. */
static uint8_t *new_ram(int *fd, size_t npages)
{
	uint8_t *ram = NULL;

	*fd = dev_open();
	if (*fd < 0)
		say("open %s: %s; ", COWTRACK_DEVICE, strerror(errno));
	else if (ctx_create(*fd, npages * PG))
		say("CREATE %zu pages: %s; ", npages, strerror(errno));
	else if (!(ram = map_ram(*fd, npages * PG, 0)))
		say("mmap %zu pages: %s; ", npages, strerror(errno));
	if (!ram && *fd >= 0)
		close(*fd);
	return ram;
}

static void drop_ram(int fd, uint8_t *ram, size_t npages)
{
	munmap(ram, npages * PG);
	close(fd);
}

static long sysfs_long(const char *path)
{
	char buf[64];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return strtol(buf, NULL, 10);
}

static int sysfs_write(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, s, strlen(s));
	close(fd);
	return n == (ssize_t)strlen(s) ? 0 : -1;
}

static size_t bitmap_bytes(size_t npages)
{
	return (npages + 63) / 64 * 8;
}

static bool bit(const uint64_t *b, size_t i)
{
	return (b[i / 64] >> (i % 64)) & 1;
}

static size_t bits_set(const uint64_t *b, size_t npages)
{
	size_t i, n = 0;

	for (i = 0; i < npages; i++)
		n += bit(b, i);
	return n;
}

/* Fill a page with one 64-bit value; a torn copy has two values. */
static void page_fill(uint8_t *page, uint64_t v)
{
	volatile uint64_t *w = (volatile uint64_t *)(void *)page;
	size_t i;

	for (i = 0; i < PG / 8; i++)
		w[i] = v;
}

static bool page_uniform(const uint8_t *page, uint64_t *v)
{
	const uint64_t *w = (const uint64_t *)(const void *)page;
	size_t i;

	for (i = 1; i < PG / 8; i++)
		if (w[i] != w[0])
			return false;
	*v = w[0];
	return true;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- the tests ---- */

static int t_device_node_is_0600(void)
{
	struct stat st;

	CHECK(stat(COWTRACK_DEVICE, &st) == 0);
	CHECK(S_ISCHR(st.st_mode));
	if ((st.st_mode & 0777) != 0600)
		FAIL("mode %o, want 600", (unsigned)(st.st_mode & 0777));
	return 0;
}

static int t_version_before_create(void)
{
	struct cowtrack_version v;
	int fd = dev_open();

	CHECK(fd >= 0);
	memset(&v, 0xff, sizeof(v));
	CHECK(ioctl(fd, COWTRACK_VERSION, &v) == 0);
	if (v.abi_version != COWTRACK_ABI_VERSION)
		FAIL("ABI %u, this test is for %u", v.abi_version,
		     COWTRACK_ABI_VERSION);
	CHECK(v.page_size == PG);
	CHECK(v.max_size >= (1u << 20) && v.max_size % PG == 0);
	close(fd);
	return 0;
}

static int t_calls_before_create_are_refused(void)
{
	uint64_t bm[1];
	uint8_t buf[PG];
	struct cowtrack_stats st;
	int fd = dev_open();

	CHECK(fd >= 0);
	CHECK_ERR(ctx_start(fd, 0), EBADFD);
	CHECK_ERR(get_log(fd, bm, sizeof(bm), NULL), EBADFD);
	CHECK_ERR(snap(fd, 0, 1, buf), EBADFD);
	CHECK_ERR(ioctl(fd, COWTRACK_STOP), EBADFD);
	errno = 0;
	CHECK(mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) ==
	      MAP_FAILED && errno == EBADFD);
	CHECK(ioctl(fd, COWTRACK_STATS, &st) == 0);
	CHECK(st.pages_allocated == 0 && st.rounds == 0);
	close(fd);
	return 0;
}

static int t_create_rejects_bad_sizes(void)
{
	struct cowtrack_version v;
	struct cowtrack_create c = { .size = PG, .flags = 1 };
	int fd = dev_open();

	CHECK(fd >= 0);
	CHECK(ioctl(fd, COWTRACK_VERSION, &v) == 0);
	CHECK_ERR(ctx_create(fd, 0), EINVAL);
	CHECK_ERR(ctx_create(fd, PG + 1), EINVAL);
	CHECK_ERR(ctx_create(fd, 100), EINVAL);
	CHECK_ERR(ctx_create(fd, UINT64_MAX), EINVAL);
	CHECK_ERR(ctx_create(fd, UINT64_MAX & ~(PG - 1)), E2BIG);
	CHECK_ERR(ctx_create(fd, 1ull << 62), E2BIG);
	CHECK_ERR(ctx_create(fd, v.max_size + PG), E2BIG);
	CHECK_ERR(ioctl(fd, COWTRACK_CREATE, &c), EINVAL);
	/* Nothing above may have created the context. */
	CHECK(ctx_create(fd, 16 * PG) == 0);
	CHECK_ERR(ctx_create(fd, 16 * PG), EBUSY);
	close(fd);
	return 0;
}

static int t_max_size_parameter_is_enforced(void)
{
	long old = sysfs_long(PARAM_MAX);
	char buf[32];
	int fd, err = 0;

	if (old < 0)
		SKIP("no %s", PARAM_MAX);
	CHECK(sysfs_write(PARAM_MAX, "1") == 0);
	fd = dev_open();
	if (fd < 0 || ctx_create(fd, 2u << 20) != -1 || errno != E2BIG)
		err = 1;
	else if (ctx_create(fd, 1u << 20) != 0)
		err = 2;
	if (fd >= 0)
		close(fd);
	snprintf(buf, sizeof(buf), "%ld", old);
	CHECK(sysfs_write(PARAM_MAX, buf) == 0);
	if (err == 1)
		FAIL("2 MiB with max_size_mb=1 was not refused with E2BIG");
	if (err == 2)
		FAIL("1 MiB with max_size_mb=1 refused: %s", strerror(errno));
	return 0;
}

static int t_bad_pointers_give_efault(void)
{
	static const uintptr_t bad[] = {
		0, 1, 0xffff888000000000ull, 0xfffffffffffff000ull,
	};
	size_t npages = 64, i;
	uint64_t bm[1];
	uint8_t *ram;
	struct cowtrack_dirty_log d;
	int fd = dev_open();

	CHECK(fd >= 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		void *p = (void *)bad[i];

		CHECK_ERR(ioctl(fd, COWTRACK_VERSION, p), EFAULT);
		CHECK_ERR(ioctl(fd, COWTRACK_CREATE, p), EFAULT);
		CHECK_ERR(ioctl(fd, COWTRACK_STATS, p), EFAULT);
	}
	CHECK(ctx_create(fd, npages * PG) == 0);
	CHECK((ram = map_ram(fd, npages * PG, 0)) != NULL);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		void *p = (void *)bad[i];

		CHECK_ERR(ioctl(fd, COWTRACK_START, p), EFAULT);
	}
	CHECK(ctx_start(fd, COWTRACK_START_COW) == 0);
	ram[5 * PG] = 1;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_ERR(ioctl(fd, COWTRACK_GET_DIRTY_LOG, (void *)bad[i]),
			  EFAULT);
		CHECK_ERR(get_log(fd, (uint64_t *)bad[i], 8, NULL), EFAULT);
		CHECK_ERR(snap(fd, 0, 1, (void *)bad[i]), EFAULT);
		CHECK_ERR(ioctl(fd, COWTRACK_READ_SNAPSHOT, (void *)bad[i]),
			  EFAULT);
	}
	/* A refused call takes no bit: page 5 is still reported. */
	CHECK(get_log(fd, bm, sizeof(bm), &d) == 0);
	if (bm[0] != 1ull << 5 || d.dirty_pages != 1)
		FAIL("after EFAULTs the log is %#" PRIx64 " (%llu pages), want page 5 only",
		     bm[0], (unsigned long long)d.dirty_pages);
	munmap(ram, npages * PG);
	close(fd);
	return 0;
}

static int t_unknown_ioctl_is_enotty(void)
{
	int fd = dev_open();
	uint64_t arg = 0;

	CHECK(fd >= 0);
	CHECK_ERR(ioctl(fd, _IOW(COWTRACK_IOC_MAGIC, 0x7f, uint64_t), &arg),
		  ENOTTY);
	CHECK_ERR(ioctl(fd, _IO('T', 1)), ENOTTY);
	CHECK_ERR(ioctl(fd, _IOR(COWTRACK_IOC_MAGIC, 0x00, uint32_t), &arg),
		  ENOTTY);
	close(fd);
	return 0;
}

static int t_mmap_is_validated(void)
{
	size_t npages = 16, size = npages * PG;
	uint8_t *a, *b;
	void *p;
	int fd = dev_open();

	CHECK(fd >= 0);
	CHECK(ctx_create(fd, size) == 0);
	errno = 0;
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	CHECK(p == MAP_FAILED && errno == EINVAL);
	errno = 0;
	p = mmap(NULL, size + PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(p == MAP_FAILED && errno == EINVAL);
	errno = 0;
	p = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, size);
	CHECK(p == MAP_FAILED && errno == EINVAL);
	errno = 0;
	p = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		 size - PG);
	CHECK(p == MAP_FAILED && errno == EINVAL);
	/* Two mappings of one context alias the same pages. */
	CHECK((a = map_ram(fd, size, 0)) != NULL);
	CHECK((b = map_ram(fd, 4 * PG, 8 * PG)) != NULL);
	a[9 * PG + 3] = 0x5a;
	CHECK(b[PG + 3] == 0x5a);
	b[3 * PG] = 0xa5;
	CHECK(a[11 * PG] == 0xa5);
	/* The mapping cannot grow. */
	p = mremap(b, 4 * PG, 8 * PG, MREMAP_MAYMOVE);
	CHECK(p == MAP_FAILED);
	munmap(a, size);
	munmap(b, 4 * PG);
	close(fd);
	return 0;
}

static int t_ram_is_zeroed_shared_and_persistent(void)
{
	size_t npages = 64, size = npages * PG, i;
	uint8_t *a;
	int fd = dev_open();

	CHECK(fd >= 0);
	CHECK(ctx_create(fd, size) == 0);
	CHECK((a = map_ram(fd, size, 0)) != NULL);
	for (i = 0; i < size; i++)
		if (a[i])
			FAIL("new RAM byte %zu is %#x, want 0", i, a[i]);
	for (i = 0; i < npages; i++)
		page_fill(a + i * PG, i * 3 + 1);
	CHECK(munmap(a, size) == 0);
	CHECK((a = map_ram(fd, size, 0)) != NULL);
	for (i = 0; i < npages; i++) {
		uint64_t v;

		if (!page_uniform(a + i * PG, &v) || v != i * 3 + 1)
			FAIL("page %zu lost its content across munmap", i);
	}
	/* MADV_DONTNEED drops the PTEs, not the context's pages. */
	CHECK(madvise(a, size, MADV_DONTNEED) == 0);
	CHECK(a[7 * PG] == 22);
	munmap(a, size);
	close(fd);
	return 0;
}

static int t_start_stop_order_is_checked(void)
{
	size_t npages = 16;
	uint64_t bm[1];
	uint8_t buf[PG], *ram;
	struct cowtrack_stats st;
	int fd;

	CHECK((ram = new_ram(&fd, npages)) != NULL);
	CHECK_ERR(get_log(fd, bm, sizeof(bm), NULL), EBADFD);
	CHECK_ERR(snap(fd, 0, 1, buf), EBADFD);
	CHECK_ERR(ioctl(fd, COWTRACK_STOP), EBADFD);
	CHECK_ERR(ctx_start(fd, 2), EINVAL);
	CHECK_ERR(ctx_start(fd, UINT64_MAX), EINVAL);
	CHECK(ctx_start(fd, 0) == 0);
	CHECK_ERR(ctx_start(fd, 0), EBUSY);
	/* Without copy-on-write there is no snapshot to read. */
	CHECK_ERR(snap(fd, 0, 1, buf), EBADFD);
	ram[0] = 1;
	CHECK(ioctl(fd, COWTRACK_STOP) == 0);
	CHECK_ERR(ioctl(fd, COWTRACK_STOP), EBADFD);
	CHECK_ERR(get_log(fd, bm, sizeof(bm), NULL), EBADFD);
	/* Writes after STOP are not tracked; START begins afresh. */
	ram[PG] = 1;
	CHECK(ctx_start(fd, COWTRACK_START_COW) == 0);
	CHECK(ioctl(fd, COWTRACK_STATS, &st) == 0);
	CHECK(st.dirty_pages == 0 && st.shadow_pages == 0 && st.rounds == 1);
	CHECK(get_log(fd, bm, sizeof(bm), NULL) == 0);
	if (bm[0])
		FAIL("log after a fresh START is %#" PRIx64 ", want 0", bm[0]);
	drop_ram(fd, ram, npages);
	return 0;
}

/* Write-protection is re-armed by every log read: the broken build fails. */
static int t_dirty_log_is_exact_and_rearmed(void)
{
	static const size_t written[] = { 3, 7, 64, 100, 199 };
	size_t npages = 200, i, r, words = bitmap_bytes(200) / 8;
	uint64_t bm[4], sum = 0;
	struct cowtrack_dirty_log d;
	uint8_t *ram;
	int fd;

	CHECK((ram = new_ram(&fd, npages)) != NULL);
	CHECK(ctx_start(fd, 0) == 0);
	for (r = 0; r < 4; r++) {
		for (i = 0; i < sizeof(written) / sizeof(written[0]); i++)
			ram[written[i] * PG + r] = (uint8_t)(r + 1);
		/* Reads dirty nothing. */
		for (i = 0; i < npages; i++)
			sum += ram[i * PG + 100];
		CHECK(get_log(fd, bm, sizeof(bm), &d) == 0);
		CHECK(d.round == 2 * r);
		if (d.dirty_pages != 5 || bits_set(bm, npages) != 5)
			FAIL("round %zu: %llu pages reported, want 5", r,
			     (unsigned long long)d.dirty_pages);
		for (i = 0; i < sizeof(written) / sizeof(written[0]); i++)
			if (!bit(bm, written[i]))
				FAIL("round %zu: written page %zu not reported",
				     r, written[i]);
		CHECK(get_log(fd, bm, words * 8, &d) == 0);
		if (d.dirty_pages || bits_set(bm, npages))
			FAIL("round %zu: %llu pages reported with no write", r,
			     (unsigned long long)d.dirty_pages);
	}
	CHECK(sum == 0);
	drop_ram(fd, ram, npages);
	return 0;
}

static int t_dirty_log_bitmap_is_checked(void)
{
	size_t npages = 130;
	uint64_t bm[8];
	struct cowtrack_dirty_log d;
	uint8_t *ram;
	int fd;

	CHECK((ram = new_ram(&fd, npages)) != NULL);
	CHECK(ctx_start(fd, 0) == 0);
	ram[129 * PG] = 1;
	CHECK_ERR(get_log(fd, bm, 0, NULL), EINVAL);
	CHECK_ERR(get_log(fd, bm, 16, NULL), EINVAL);
	CHECK_ERR(get_log(fd, bm, 23, NULL), EINVAL);
	/* A bitmap that ends in an unmapped page. */
	{
		uint8_t *two = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE,
				    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		CHECK(two != MAP_FAILED);
		CHECK(munmap(two + PG, PG) == 0);
		CHECK_ERR(get_log(fd, (uint64_t *)(void *)(two + PG - 8), 24,
				  NULL), EFAULT);
		munmap(two, PG);
	}
	/* A larger buffer is fine; only the needed words are written. */
	memset(bm, 0xee, sizeof(bm));
	CHECK(get_log(fd, bm, sizeof(bm), &d) == 0);
	if (d.dirty_pages != 1 || bm[2] != 2 || bm[0] || bm[1])
		FAIL("page 129 after refused calls: %llu pages, words %#"
		     PRIx64 " %#" PRIx64 " %#" PRIx64,
		     (unsigned long long)d.dirty_pages, bm[0],
		     bm[1], bm[2]);
	CHECK(bm[3] == 0xeeeeeeeeeeeeeeeeull);
	drop_ram(fd, ram, npages);
	return 0;
}

static int t_snapshot_serves_round_start(void)
{
	size_t npages = 32, i;
	uint64_t bm[1], v = 0;
	uint8_t *ram, *img = malloc(npages * PG);
	struct cowtrack_snapshot s;
	int fd;

	CHECK(img);
	CHECK((ram = new_ram(&fd, npages)) != NULL);
	for (i = 0; i < npages; i++)
		page_fill(ram + i * PG, 0xa000 + i);
	CHECK(ctx_start(fd, COWTRACK_START_COW) == 0);
	for (i = 0; i < npages; i += 3)
		page_fill(ram + i * PG, 0xb000 + i);
	CHECK(snap(fd, 0, npages, img) == 0);
	for (i = 0; i < npages; i++)
		if (!page_uniform(img + i * PG, &v) || v != 0xa000 + i)
			FAIL("round 0: page %zu is %#" PRIx64 ", want %#zx", i,
			     v, 0xa000 + i);
	CHECK(get_log(fd, bm, sizeof(bm), NULL) == 0);
	/* Round 1 starts from the written image; new writes stay hidden. */
	for (i = 0; i < npages; i += 2)
		page_fill(ram + i * PG, 0xc000 + i);
	s = (struct cowtrack_snapshot){ .first_page = 1, .num_pages = npages - 1,
		.buf = (uintptr_t)img, .buf_size = (npages - 1) * PG };
	CHECK(ioctl(fd, COWTRACK_READ_SNAPSHOT, &s) == 0);
	CHECK(s.round == 1);
	for (i = 1; i < npages; i++) {
		uint64_t want = i % 3 ? 0xa000 + i : 0xb000 + i;

		if (!page_uniform(img + (i - 1) * PG, &v) || v != want)
			FAIL("round 1: page %zu is %#" PRIx64 ", want %#" PRIx64,
			     i, v, want);
	}
	/* The live RAM has the newest writes. */
	CHECK(page_uniform(ram + 2 * PG, &v) && v == 0xc002);
	CHECK(ioctl(fd, COWTRACK_STOP) == 0);
	drop_ram(fd, ram, npages);
	free(img);
	return 0;
}

static int t_snapshot_range_is_checked(void)
{
	size_t npages = 8;
	uint8_t *ram, *buf = malloc(npages * PG);
	struct cowtrack_snapshot s;
	int fd;

	CHECK(buf);
	CHECK((ram = new_ram(&fd, npages)) != NULL);
	CHECK(ctx_start(fd, COWTRACK_START_COW) == 0);
	CHECK_ERR(snap(fd, 0, 0, buf), EINVAL);
	CHECK_ERR(snap(fd, npages, 1, buf), EINVAL);
	CHECK_ERR(snap(fd, 4, 5, buf), EINVAL);
	CHECK_ERR(snap(fd, 1, UINT64_MAX, buf), EINVAL);
	CHECK_ERR(snap(fd, UINT64_MAX, 2, buf), EINVAL);
	s = (struct cowtrack_snapshot){ .first_page = 0, .num_pages = 2,
		.buf = (uintptr_t)buf, .buf_size = 2 * PG - 1 };
	CHECK_ERR(ioctl(fd, COWTRACK_READ_SNAPSHOT, &s), EINVAL);
	{
		/* The destination runs into an unmapped page. */
		uint8_t *two = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE,
				    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		CHECK(two != MAP_FAILED);
		CHECK(munmap(two + PG, PG) == 0);
		CHECK_ERR(snap(fd, 0, 2, two), EFAULT);
		munmap(two, PG);
	}
	CHECK(snap(fd, 0, npages, buf) == 0);
	drop_ram(fd, ram, npages);
	free(buf);
	return 0;
}

static int t_buffers_inside_guest_ram(void)
{
	size_t npages = 64;
	uint64_t *bm;
	uint8_t *ram;
	struct cowtrack_dirty_log d;
	int fd;

	CHECK((ram = new_ram(&fd, npages)) != NULL);
	CHECK(ctx_start(fd, COWTRACK_START_COW) == 0);
	/* The kernel writes into write-protected guest RAM itself. */
	bm = (uint64_t *)(void *)(ram + 40 * PG);
	ram[3 * PG] = 1;
	CHECK(get_log(fd, bm, 8, &d) == 0);
	CHECK(bm[0] == (1ull << 3 | 1ull << 40));
	CHECK(snap(fd, 0, 16, ram + 48 * PG) == 0);
	CHECK(get_log(fd, bm, 8, &d) == 0);
	/* The bitmap write of the last call and the snapshot's pages. */
	if (bm[0] != (1ull << 40 | 0xffffull << 48))
		FAIL("log after kernel writes %#" PRIx64, bm[0]);
	drop_ram(fd, ram, npages);
	return 0;
}

static int t_kernel_writes_are_tracked(void)
{
	size_t npages = 16;
	uint64_t bm[1];
	uint8_t *ram;
	int p[2], fd;

	CHECK(pipe(p) == 0);
	CHECK((ram = new_ram(&fd, npages)) != NULL);
	memset(ram, 0, npages * PG);
	CHECK(ctx_start(fd, 0) == 0);
	CHECK(write(p[1], "guest", 5) == 5);
	CHECK(read(p[0], ram + 9 * PG + 100, 5) == 5);
	CHECK(get_log(fd, bm, sizeof(bm), NULL) == 0);
	if (bm[0] != 1ull << 9)
		FAIL("read(2) into page 9: log %#" PRIx64, bm[0]);
	CHECK(memcmp(ram + 9 * PG + 100, "guest", 5) == 0);
	close(p[0]);
	close(p[1]);
	munmap(ram, npages * PG);
	close(fd);
	return 0;
}

static int t_fork_child_writes_are_tracked(void)
{
	size_t npages = 16;
	uint64_t bm[1];
	uint8_t *ram;
	pid_t pid;
	int st, fd;

	CHECK((ram = new_ram(&fd, npages)) != NULL);
	memset(ram, 0, npages * PG);
	CHECK(ctx_start(fd, 0) == 0);
	pid = fork();
	CHECK(pid >= 0);
	if (!pid) {
		ram[11 * PG] = 7;
		_exit(0);
	}
	CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st));
	CHECK(ram[11 * PG] == 7);
	CHECK(get_log(fd, bm, sizeof(bm), NULL) == 0);
	if (bm[0] != 1ull << 11)
		FAIL("child's write: log %#" PRIx64, bm[0]);
	drop_ram(fd, ram, npages);
	return 0;
}

static int t_stats_count_preimages(void)
{
	size_t npages = 64, i;
	uint64_t bm[1];
	struct cowtrack_stats st;
	uint8_t *ram;
	int fd;

	CHECK((ram = new_ram(&fd, npages)) != NULL);
	for (i = 0; i < npages; i++)
		ram[i * PG] = 1;
	CHECK(ioctl(fd, COWTRACK_STATS, &st) == 0);
	CHECK(st.pages_allocated == npages && st.faults >= npages);
	CHECK(st.preimages == 0 && st.shadow_pages == 0);
	CHECK(ctx_start(fd, COWTRACK_START_COW) == 0);
	for (i = 0; i < 10; i++) {
		ram[i * 5 * PG] = 2;
		ram[i * 5 * PG + 1] = 3;
	}
	CHECK(ioctl(fd, COWTRACK_STATS, &st) == 0);
	if (st.preimages != 10 || st.shadow_pages != 10 ||
	    st.shadow_bytes != 10 * PG || st.dirty_pages != 10)
		FAIL("after 10 pages: preimages %llu shadow %llu (%llu bytes) dirty %llu",
		     (unsigned long long)st.preimages,
		     (unsigned long long)st.shadow_pages,
		     (unsigned long long)st.shadow_bytes,
		     (unsigned long long)st.dirty_pages);
	CHECK(st.mkwrite >= npages + 10);
	CHECK(st.wp_ranges >= 1 && st.rounds == 1);
	CHECK(get_log(fd, bm, sizeof(bm), NULL) == 0);
	CHECK(ioctl(fd, COWTRACK_STATS, &st) == 0);
	CHECK(st.shadow_pages == 0 && st.shadow_bytes == 0 && st.rounds == 2);
	ram[PG] = 4;
	CHECK(ioctl(fd, COWTRACK_STATS, &st) == 0);
	CHECK(st.shadow_pages == 1 && st.preimages == 11);
	CHECK(ioctl(fd, COWTRACK_STOP) == 0);
	CHECK(ioctl(fd, COWTRACK_STATS, &st) == 0);
	CHECK(st.shadow_pages == 0 && st.rounds == 0);
	drop_ram(fd, ram, npages);
	return 0;
}

/* ---- concurrency: writers, a migrating reader, hostile callers ---- */

struct race {
	int fd;
	uint8_t *ram;
	size_t npages;
	unsigned nwriters;
	atomic_bool stop;
	atomic_ulong writes;
	atomic_ulong errors;
	char why[160];
};

struct writer_arg {
	struct race *r;
	unsigned id;
};

/* Whole-page writes of (page << 32 | generation), pages id mod n. */
static void *writer(void *p)
{
	struct writer_arg *a = p;
	struct race *r = a->r;
	uint64_t gen = 1, x = 0x9e3779b97f4a7c15ull * (a->id + 1);
	size_t per = r->npages / r->nwriters, pg;

	while (!atomic_load_explicit(&r->stop, memory_order_relaxed)) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		pg = (x % per) * r->nwriters + a->id;
		page_fill(r->ram + pg * PG, (uint64_t)pg << 32 | gen++);
		atomic_fetch_add_explicit(&r->writes, 1, memory_order_relaxed);
	}
	return NULL;
}

static int start_writers(struct race *r, pthread_t *th, struct writer_arg *a)
{
	unsigned i;

	for (i = 0; i < r->nwriters; i++) {
		a[i] = (struct writer_arg){ r, i };
		if (pthread_create(&th[i], NULL, writer, &a[i]))
			return -1;
	}
	return 0;
}

static void stop_writers(struct race *r, pthread_t *th)
{
	unsigned i;

	atomic_store(&r->stop, true);
	for (i = 0; i < r->nwriters; i++)
		pthread_join(th[i], NULL);
}

/* Snapshot pages [first, first + n) into the mirror. */
static int mirror_pages(struct race *r, uint8_t *mirror, size_t first,
			size_t n)
{
	return snap(r->fd, first, n, mirror + first * PG);
}

/* Pages whose snapshot differs from the mirror (the image of this round). */
static size_t snapshot_changed(struct race *r, const uint8_t *mirror,
			       uint8_t *tmp)
{
	size_t i, n = 0;

	if (snap(r->fd, 0, r->npages, tmp))
		return r->npages;
	for (i = 0; i < r->npages; i++)
		n += memcmp(tmp + i * PG, mirror + i * PG, PG) != 0;
	return n;
}

/*
 * A migration in miniature: round 0 copies the whole snapshot, every later
 * round the snapshot of the pages logged; once the writers stop, the copy
 * must equal the RAM. Meanwhile, the whole snapshot read again later in a
 * round (writers still writing) must still equal the copy: the round-start
 * image does not move. A lost write or a moving snapshot fails.
 */
static int t_concurrent_writers_migrate_exactly(void)
{
	struct race r = { .npages = 1024, .nwriters = 2 };
	size_t size = r.npages * PG, words = bitmap_bytes(1024) / 8, i, w;
	uint64_t *bm = calloc(words, 8), t_end, rounds = 0, sent = 0, v;
	uint8_t *mirror = malloc(size), *tmp = malloc(size);
	pthread_t th[2];
	struct writer_arg args[2];
	size_t differ = 0, moved = 0, torn = 0;

	CHECK(bm && mirror && tmp);
	CHECK((r.ram = new_ram(&r.fd, r.npages)) != NULL);
	for (i = 0; i < r.npages; i++)
		page_fill(r.ram + i * PG, (uint64_t)i << 32);
	CHECK(ctx_start(r.fd, COWTRACK_START_COW) == 0);
	CHECK(start_writers(&r, th, args) == 0);
	CHECK(mirror_pages(&r, mirror, 0, r.npages) == 0);
	t_end = now_ns() + 1500000000ull;
	while (now_ns() < t_end || rounds < 8) {
		usleep(10000);
		moved += snapshot_changed(&r, mirror, tmp);
		CHECK(get_log(r.fd, bm, words * 8, NULL) == 0);
		rounds++;
		for (w = 0; w < r.npages; w++)
			if (bit(bm, w)) {
				CHECK(mirror_pages(&r, mirror, w, 1) == 0);
				sent++;
			}
	}
	stop_writers(&r, th);
	CHECK(get_log(r.fd, bm, words * 8, NULL) == 0);
	for (w = 0; w < r.npages; w++)
		if (bit(bm, w))
			CHECK(mirror_pages(&r, mirror, w, 1) == 0);
	for (i = 0; i < r.npages; i++) {
		differ += memcmp(mirror + i * PG, r.ram + i * PG, PG) != 0;
		torn += !page_uniform(mirror + i * PG, &v) || v >> 32 != i;
	}
	if (differ || moved || torn)
		FAIL("%zu of %zu pages differ after %" PRIu64 " rounds (%lu writes, %"
		     PRIu64 " pages sent), %zu torn, snapshot moved within a round %zu times",
		     differ, r.npages, rounds, atomic_load(&r.writes), sent,
		     torn, moved);
	if (atomic_load(&r.writes) < 1000)
		FAIL("writers made only %lu writes", atomic_load(&r.writes));
	CHECK(ioctl(r.fd, COWTRACK_STOP) == 0);
	drop_ram(r.fd, r.ram, r.npages);
	free(bm);
	free(mirror);
	free(tmp);
	say("%" PRIu64 " rounds, %lu writes, %" PRIu64 " pages sent", rounds,
	    atomic_load(&r.writes), sent);
	return 0;
}

/* Hostile callers: every ioctl at once on one context, plus mmap churn. */
static void *hammer(void *p)
{
	struct race *r = p;
	size_t words = bitmap_bytes(r->npages) / 8;
	uint64_t *bm = calloc(words, 8);
	uint8_t *buf = malloc(8 * PG);
	struct cowtrack_stats st;
	struct cowtrack_version v;
	unsigned long k = 0;

	if (!bm || !buf) {
		atomic_fetch_add(&r->errors, 1);
		goto out;
	}
	while (!atomic_load_explicit(&r->stop, memory_order_relaxed)) {
		size_t first = (k * 37) % (r->npages - 8);
		int rc = 0;

		switch (k++ % 5) {
		case 0:
			rc = get_log(r->fd, bm, words * 8, NULL);
			break;
		case 1:
			rc = snap(r->fd, first, 8, buf);
			break;
		case 2:
			rc = ioctl(r->fd, COWTRACK_STATS, &st);
			break;
		case 3:
			rc = ioctl(r->fd, COWTRACK_VERSION, &v);
			break;
		case 4: {
			uint8_t *m = map_ram(r->fd, 8 * PG, (off_t)(first * PG));

			if (!m) {
				rc = -1;
				break;
			}
			(void)*(volatile uint8_t *)m;
			rc = munmap(m, 8 * PG);
			break;
		}
		}
		if (rc) {
			atomic_fetch_add(&r->errors, 1);
			snprintf(r->why, sizeof(r->why), "call %lu: %s",
				 k % 5, strerror(errno));
		}
	}
out:
	free(bm);
	free(buf);
	return NULL;
}

static int t_concurrent_callers_are_serialized(void)
{
	struct race r = { .npages = 512, .nwriters = 2 };
	pthread_t th[2], ham[3];
	struct writer_arg args[2];
	struct cowtrack_stats st;
	unsigned i;

	CHECK((r.ram = new_ram(&r.fd, r.npages)) != NULL);
	for (i = 0; i < r.npages; i++)
		page_fill(r.ram + i * PG, (uint64_t)i << 32);
	CHECK(ctx_start(r.fd, COWTRACK_START_COW) == 0);
	CHECK(start_writers(&r, th, args) == 0);
	for (i = 0; i < 3; i++)
		CHECK(pthread_create(&ham[i], NULL, hammer, &r) == 0);
	usleep(1500000);
	stop_writers(&r, th);
	for (i = 0; i < 3; i++)
		pthread_join(ham[i], NULL);
	if (r.errors)
		FAIL("%lu calls failed, last: %s", atomic_load(&r.errors), r.why);
	CHECK(ioctl(r.fd, COWTRACK_STATS, &st) == 0);
	CHECK(st.shadow_pages == st.dirty_pages);
	CHECK(ioctl(r.fd, COWTRACK_STOP) == 0);
	CHECK(ioctl(r.fd, COWTRACK_STATS, &st) == 0);
	CHECK(st.shadow_pages == 0);
	drop_ram(r.fd, r.ram, r.npages);
	return 0;
}

/* Writers keep writing while the file is closed and the RAM unmapped. */
static int t_close_and_munmap_while_writing(void)
{
	struct race r = { .npages = 256, .nwriters = 2 };
	size_t size = r.npages * PG;
	pthread_t th[2];
	struct writer_arg args[2];
	uint8_t *alias;
	uint64_t bm[4];

	CHECK((r.ram = new_ram(&r.fd, r.npages)) != NULL);
	CHECK((alias = map_ram(r.fd, size, 0)) != NULL);
	CHECK(ctx_start(r.fd, COWTRACK_START_COW) == 0);
	CHECK(start_writers(&r, th, args) == 0);
	usleep(200000);
	CHECK(get_log(r.fd, bm, sizeof(bm), NULL) == 0);
	/* The mapping keeps the context alive after close. */
	CHECK(close(r.fd) == 0);
	usleep(200000);
	CHECK(munmap(alias, size) == 0);
	usleep(200000);
	stop_writers(&r, th);
	CHECK(r.ram[5 * PG + 8] == r.ram[5 * PG + 16]);
	CHECK(munmap(r.ram, size) == 0);
	return 0;
}

static int t_release_frees_every_page(void)
{
	int fds[4];
	uint8_t *ram[4];
	size_t npages = 128, i, k;
	long held;

	for (k = 0; k < 4; k++) {
		fds[k] = dev_open();
		CHECK(fds[k] >= 0);
		CHECK(ctx_create(fds[k], npages * PG) == 0);
		CHECK((ram[k] = map_ram(fds[k], npages * PG, 0)) != NULL);
		for (i = 0; i < npages; i++)
			ram[k][i * PG] = 1;
		CHECK(ctx_start(fds[k], k % 2 ? COWTRACK_START_COW : 0) == 0);
		for (i = 0; i < npages; i += 2)
			ram[k][i * PG] = 2;
	}
	held = sysfs_long(SYSFS_DEV "pages_held");
	if (held < 4 * (long)npages + 2 * (long)npages / 2)
		FAIL("pages_held %ld with 4 contexts of %zu pages", held, npages);
	for (k = 0; k < 4; k++) {
		/* Two close with logging on, two after STOP; order mixed. */
		if (k >= 2)
			CHECK(ioctl(fds[k], COWTRACK_STOP) == 0);
		CHECK(close(fds[k]) == 0);
		CHECK(munmap(ram[k], npages * PG) == 0);
	}
	held = sysfs_long(SYSFS_DEV "pages_held");
	if (held != 0 || sysfs_long(SYSFS_DEV "contexts") != 0)
		FAIL("after closing everything: pages_held %ld, contexts %ld",
		     held, sysfs_long(SYSFS_DEV "contexts"));
	return 0;
}

static int t_large_context_costs_nothing_until_touched(void)
{
	struct cowtrack_version v;
	size_t size = 1ull << 30;
	struct cowtrack_stats st;
	uint8_t *ram;
	int fd = dev_open();

	CHECK(fd >= 0);
	CHECK(ioctl(fd, COWTRACK_VERSION, &v) == 0);
	if (v.max_size < size)
		SKIP("max_size_mb below 1024");
	CHECK(ctx_create(fd, size) == 0);
	CHECK((ram = map_ram(fd, size, 0)) != NULL);
	ram[size - 1] = 1;
	CHECK(ctx_start(fd, COWTRACK_START_COW) == 0);
	ram[size - 1] = 2;
	CHECK(ioctl(fd, COWTRACK_STATS, &st) == 0);
	CHECK(st.pages_allocated == 1 && st.shadow_pages == 1);
	munmap(ram, size);
	close(fd);
	return 0;
}

static const struct test {
	const char *name;
	int (*fn)(void);
	unsigned timeout_s;
} tests[] = {
	{ "device_node_is_0600", t_device_node_is_0600, 10 },
	{ "version_before_create", t_version_before_create, 10 },
	{ "calls_before_create_are_refused", t_calls_before_create_are_refused, 10 },
	{ "create_rejects_bad_sizes", t_create_rejects_bad_sizes, 10 },
	{ "max_size_parameter_is_enforced", t_max_size_parameter_is_enforced, 10 },
	{ "bad_pointers_give_efault", t_bad_pointers_give_efault, 10 },
	{ "unknown_ioctl_is_enotty", t_unknown_ioctl_is_enotty, 10 },
	{ "mmap_is_validated", t_mmap_is_validated, 10 },
	{ "ram_is_zeroed_shared_and_persistent", t_ram_is_zeroed_shared_and_persistent, 10 },
	{ "start_stop_order_is_checked", t_start_stop_order_is_checked, 10 },
	{ "dirty_log_is_exact_and_rearmed", t_dirty_log_is_exact_and_rearmed, 10 },
	{ "dirty_log_bitmap_is_checked", t_dirty_log_bitmap_is_checked, 10 },
	{ "snapshot_serves_round_start", t_snapshot_serves_round_start, 10 },
	{ "snapshot_range_is_checked", t_snapshot_range_is_checked, 10 },
	{ "buffers_inside_guest_ram", t_buffers_inside_guest_ram, 10 },
	{ "kernel_writes_are_tracked", t_kernel_writes_are_tracked, 10 },
	{ "fork_child_writes_are_tracked", t_fork_child_writes_are_tracked, 10 },
	{ "stats_count_preimages", t_stats_count_preimages, 10 },
	{ "concurrent_writers_migrate_exactly", t_concurrent_writers_migrate_exactly, 60 },
	{ "concurrent_callers_are_serialized", t_concurrent_callers_are_serialized, 60 },
	{ "close_and_munmap_while_writing", t_close_and_munmap_while_writing, 30 },
	{ "release_frees_every_page", t_release_frees_every_page, 20 },
	{ "large_context_costs_nothing_until_touched", t_large_context_costs_nothing_until_touched, 20 },
};

/* Run one test in a child; print its line; return 0 pass/skip, 1 fail. */
static int run_one(const char *suite, const struct test *t, unsigned scale)
{
	char msg[512] = "";
	uint64_t deadline = now_ns() + (uint64_t)t->timeout_s * scale * 1000000000ull;
	const char *verdict;
	int p[2], st = 0, rc;
	ssize_t n, got = 0;
	pid_t pid;

	if (pipe(p))
		return 1;
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return 1;
	if (!pid) {
		close(p[0]);
		msg_fd = p[1];
		_exit(t->fn());
	}
	close(p[1]);
	for (;;) {
		rc = waitpid(pid, &st, WNOHANG);
		if (rc == pid)
			break;
		if (now_ns() > deadline) {
			kill(pid, SIGKILL);
			snprintf(msg, sizeof(msg), "timed out after %u s",
				 t->timeout_s * scale);
			st = -1;
			/* A task stuck in the kernel may never be reaped. */
			if (waitpid(pid, NULL, WNOHANG) != pid)
				usleep(100000);
			break;
		}
		usleep(10000);
	}
	while (st != -1 && got < (ssize_t)sizeof(msg) - 1 &&
	       (n = read(p[0], msg + got, sizeof(msg) - 1 - (size_t)got)) > 0)
		got += n;
	if (st != -1)
		msg[got] = '\0';
	close(p[0]);

	if (st == -1)
		verdict = "FAIL";
	else if (WIFSIGNALED(st)) {
		verdict = "FAIL";
		snprintf(msg, sizeof(msg), "killed by signal %d (%s)",
			 WTERMSIG(st), strsignal(WTERMSIG(st)));
	} else if (WEXITSTATUS(st) == 0)
		verdict = "PASS";
	else if (WEXITSTATUS(st) == 77)
		verdict = "SKIP";
	else
		verdict = "FAIL";
	printf("DBK RESULT %s %s %s%s%s\n", suite, t->name, verdict,
	       msg[0] ? " " : "", msg);
	fflush(stdout);
	return !strcmp(verdict, "FAIL");
}

int main(int argc, char **argv)
{
	const char *suite = "module";
	unsigned scale = 1;
	size_t i;
	int c, j, failed = 0, ran = 0;

	while ((c = getopt(argc, argv, "s:t:h")) != -1) {
		switch (c) {
		case 's':
			suite = optarg;
			break;
		case 't':
			scale = (unsigned)strtoul(optarg, NULL, 10);
			if (!scale)
				scale = 1;
			break;
		default:
			fprintf(c == 'h' ? stdout : stderr,
				"Usage: %s [-s SUITE] [-t TIMEOUT_SCALE] [TEST...]\n"
				"Tests of the cowtrack module (loaded, %s present).\n",
				argv[0], COWTRACK_DEVICE);
			return c == 'h' ? 0 : 2;
		}
	}
	if (access(COWTRACK_DEVICE, F_OK)) {
		printf("DBK RESULT %s device_present FAIL %s: %s\n", suite,
		       COWTRACK_DEVICE, strerror(errno));
		return 1;
	}
	for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		bool want = optind >= argc;

		for (j = optind; j < argc; j++)
			want |= !strcmp(argv[j], tests[i].name);
		if (!want)
			continue;
		failed += run_one(suite, &tests[i], scale);
		ran++;
	}
	if (!ran) {
		fprintf(stderr, "%s: no test matches\n", argv[0]);
		return 2;
	}
	return failed ? 1 : 0;
}
