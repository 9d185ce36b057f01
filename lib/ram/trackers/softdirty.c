// SPDX-License-Identifier: MIT
/*
 * softdirty: the kernel's soft-dirty bits (CONFIG_MEM_SOFT_DIRTY), as CRIU
 * uses them. Writing "4" to /proc/self/clear_refs clears every soft-dirty
 * bit of the process and write-protects its pages; the first write to a
 * page sets the bit again, which /proc/self/pagemap shows as bit 55.
 *
 * Reading the bits and clearing them are two steps, and a write landing
 * between them would be cleared unseen. So collect fences the writers
 * out for that moment: RAM goes read-only (mprotect), writers that fault
 * wait in the SIGSEGV handler, the bits are read and cleared, RAM becomes
 * writable again and the waiting writes go through, setting soft-dirty for
 * the next round. mprotect() keeps soft-dirty PTEs read-only as long as
 * their bit is clear, so tracking survives the fence.
 *
 * clear_refs works on the whole process: one instance per process. Not on
 * hugetlb RAM, for which the kernel keeps no per-page soft-dirty bit.
 * Some kernels accept clear_refs "4" yet never set bit 55 (soft-dirty
 * compiled out); the probe writes a page in a child process to find out.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dirtybench/common.h"
#include "dirtybench/tracker.h"
#include "ram/mmtrack.h"
#include "ram/segv.h"

#define SOFTDIRTY_CHUNK 4096	/* pagemap entries read at once */

struct softdirty_priv {
	uint8_t *base;
	size_t size, npages;
	int pagemap, clear_refs, slot;
	bool have_fds, have_slot, owner;
	atomic_int fence;
	uint64_t *pm;
	atomic_uint_fast64_t fenced_faults;
	uint64_t clears, pagemap_bytes, fence_ns;
};

static atomic_flag instance_taken = ATOMIC_FLAG_INIT;

/* Probe outcome codes of the child below. */
enum {
	SD_OK, SD_NO_CLEAR_REFS, SD_CLEAR_FAILED, SD_NO_PAGEMAP, SD_STAYS_SET,
	SD_NEVER_SET, SD_NO_MEMORY,
};

/*
 * In a forked child (async-signal-safe calls only): write a page, clear
 * soft-dirty, check bit 55 is clear, write again, check it is set. The
 * child's clear_refs leaves the caller's soft-dirty bits alone.
 */
static int probe_child(void)
{
	volatile uint8_t *m = mmap(NULL, DB_PAGE_SIZE, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t e = 0;
	off_t off;
	int cr, pm;

	if (m == MAP_FAILED)
		return SD_NO_MEMORY;
	m[0] = 1;
	cr = open("/proc/self/clear_refs", O_WRONLY);
	if (cr < 0)
		return SD_NO_CLEAR_REFS;
	if (write(cr, "4", 1) != 1)
		return SD_CLEAR_FAILED;
	pm = open("/proc/self/pagemap", O_RDONLY);
	if (pm < 0)
		return SD_NO_PAGEMAP;
	off = (off_t)((uintptr_t)m >> DB_PAGE_SHIFT) * 8;
	if (pread(pm, &e, 8, off) != 8)
		return SD_NO_PAGEMAP;
	if (e & DB_PM_SOFT_DIRTY)
		return SD_STAYS_SET;
	m[0] = 2;
	if (pread(pm, &e, 8, off) != 8)
		return SD_NO_PAGEMAP;
	return e & DB_PM_SOFT_DIRTY ? SD_OK : SD_NEVER_SET;
}

static int probe_verdict;	/* 0 or -errno, once */
static char probe_why[256];
static pthread_once_t probe_once = PTHREAD_ONCE_INIT;

static void probe_run(void)
{
	const char *k = db_kernel_release();
	int status = 0, code;
	pid_t pid = fork();

	if (pid == 0)
		_exit(probe_child());
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) {
		probe_verdict = -ECHILD;
		snprintf(probe_why, sizeof(probe_why),
			 "cannot run the soft-dirty probe in a child process");
		return;
	}
	code = WEXITSTATUS(status);
	probe_verdict = code == SD_OK ? 0 : -ENOTSUP;
	switch (code) {
	case SD_OK:
		break;
	case SD_NO_CLEAR_REFS:
	case SD_NO_PAGEMAP:
		snprintf(probe_why, sizeof(probe_why),
			 "kernel %s has no /proc/PID/clear_refs or pagemap (CONFIG_PROC_PAGE_MONITOR is off)",
			 k);
		break;
	case SD_CLEAR_FAILED:
		snprintf(probe_why, sizeof(probe_why),
			 "kernel %s refuses clear_refs \"4\" (no soft-dirty support)",
			 k);
		break;
	case SD_STAYS_SET:
		snprintf(probe_why, sizeof(probe_why),
			 "kernel %s keeps pagemap bit 55 set after clear_refs \"4\", so soft-dirty cannot tell written pages",
			 k);
		break;
	case SD_NEVER_SET:
		snprintf(probe_why, sizeof(probe_why),
			 "kernel %s accepts clear_refs \"4\" but never sets pagemap bit 55 on a write (built without CONFIG_MEM_SOFT_DIRTY)",
			 k);
		break;
	default:
		probe_verdict = -ENOMEM;
		snprintf(probe_why, sizeof(probe_why),
			 "the soft-dirty probe could not map a scratch page");
	}
}

static int softdirty_probe(char *why, size_t len)
{
	pthread_once(&probe_once, probe_run);
	if (probe_verdict)
		snprintf(why, len, "%s", probe_why);
	return probe_verdict;
}

/* Signal context: a writer hit the fence; wait until RAM is writable. */
static bool softdirty_fault(void *ctx, uintptr_t addr)
{
	struct softdirty_priv *p = ctx;

	atomic_fetch_add(&p->fenced_faults, 1);
	while (atomic_load(&p->fence))
		sched_yield();
	return true;
}

static int softdirty_attach(struct db_tracker *t, struct db_ram *ram)
{
	struct softdirty_priv *p = t->priv;

	p->base = ram->base;
	p->size = ram->size;
	p->npages = ram->npages;
	if (ram->backing == DB_BACKING_HUGETLB)
		return db_error(-ENOTSUP,
				"tracker softdirty: the kernel keeps no soft-dirty bits for hugetlb pages (pagemap shows bit 55 only per mapping there), so writes would be missed");
	if (atomic_flag_test_and_set(&instance_taken))
		return db_error(-EBUSY,
				"tracker softdirty: another instance is attached in this process (clear_refs resets soft-dirty bits process-wide)");
	p->owner = true;
	p->pm = malloc(SOFTDIRTY_CHUNK * sizeof(uint64_t));
	if (!p->pm)
		return db_error(-ENOMEM, "tracker softdirty: no memory for pagemap entries");
	p->pagemap = db_pagemap_open(0);
	if (p->pagemap < 0)
		return db_error_errno(p->pagemap, "tracker softdirty: cannot open /proc/self/pagemap");
	p->clear_refs = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
	if (p->clear_refs < 0) {
		close(p->pagemap);
		return db_error_errno(-errno, "tracker softdirty: cannot open /proc/self/clear_refs");
	}
	p->have_fds = true;
	p->slot = db_segv_register("tracker softdirty", ram->base, ram->size,
				   softdirty_fault, p);
	if (p->slot < 0)
		return p->slot;
	p->have_slot = true;
	return 0;
}

static int clear_soft_dirty(struct softdirty_priv *p)
{
	p->clears++;
	if (pwrite(p->clear_refs, "4", 1, 0) != 1)
		return db_error_errno(-errno, "tracker softdirty: writing 4 to /proc/self/clear_refs");
	return 0;
}

static int softdirty_start(struct db_tracker *t)
{
	return clear_soft_dirty(t->priv);
}

static int read_bits(struct softdirty_priv *p, struct db_bitmap *dirty)
{
	size_t i, k, n;
	int err;

	for (i = 0; i < p->npages; i += n) {
		n = DB_MIN((size_t)SOFTDIRTY_CHUNK, p->npages - i);
		err = db_pagemap_read(p->pagemap, p->base + (i << DB_PAGE_SHIFT),
				      n, p->pm);
		if (err)
			return db_error_errno(err, "tracker softdirty: reading /proc/self/pagemap");
		p->pagemap_bytes += n * sizeof(uint64_t);
		for (k = 0; k < n; k++)
			if (p->pm[k] & DB_PM_SOFT_DIRTY)
				db_bitmap_set(dirty, i + k);
	}
	return 0;
}

static int softdirty_collect(struct db_tracker *t, struct db_bitmap *dirty)
{
	struct softdirty_priv *p = t->priv;
	uint64_t t0 = db_now_ns();
	char sz[32];
	int err, err2 = 0;

	atomic_store(&p->fence, 1);
	if (mprotect(p->base, p->size, PROT_READ)) {
		atomic_store(&p->fence, 0);
		return db_error_errno(-errno, "tracker softdirty: cannot fence %s at %p (mprotect read-only)",
				      db_fmt_bytes(p->size, sz, sizeof(sz)), p->base);
	}
	err = read_bits(p, dirty);
	if (!err)
		err = clear_soft_dirty(p);
	if (mprotect(p->base, p->size, PROT_READ | PROT_WRITE))
		err2 = db_error_errno(-errno, "tracker softdirty: cannot lift the fence on %s at %p",
				      db_fmt_bytes(p->size, sz, sizeof(sz)), p->base);
	atomic_store(&p->fence, 0);
	p->fence_ns += db_now_ns() - t0;
	return err ? err : err2;
}

static int softdirty_stop(struct db_tracker *t)
{
	return 0;
}

static void softdirty_detach(struct db_tracker *t)
{
	struct softdirty_priv *p = t->priv;

	if (p->have_slot)
		db_segv_unregister(p->slot);
	p->have_slot = false;
	if (p->have_fds) {
		close(p->pagemap);
		close(p->clear_refs);
		p->have_fds = false;
	}
	free(p->pm);
	p->pm = NULL;
	if (p->owner)
		atomic_flag_clear(&instance_taken);
	p->owner = false;
}

static size_t softdirty_counters(struct db_tracker *t, struct db_counter *out,
				 size_t max)
{
	struct softdirty_priv *p = t->priv;
	const struct db_counter c[] = {
		{ "clear_refs_writes", p->clears },
		{ "pagemap_bytes_read", p->pagemap_bytes },
		{ "fence_ns", p->fence_ns },
		{ "fenced_faults", atomic_load(&p->fenced_faults) },
	};

	return db_counters_copy(out, max, c, DB_ARRAY_SIZE(c));
}

const struct db_tracker_ops db_tracker_softdirty = {
	.name = "softdirty",
	.desc = "kernel soft-dirty bits: clear_refs 4 + pagemap bit 55",
	.flags = 0,
	.granularity = DB_PAGE_SIZE,
	.priv_size = sizeof(struct softdirty_priv),
	.probe = softdirty_probe,
	.attach = softdirty_attach,
	.start = softdirty_start,
	.collect = softdirty_collect,
	.stop = softdirty_stop,
	.detach = softdirty_detach,
	.counters = softdirty_counters,
};
