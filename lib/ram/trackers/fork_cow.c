// SPDX-License-Identifier: MIT
/*
 * fork-cow: copy-on-write snapshots by fork(2), as the bhyve prototype marks
 * guest RAM COW. At the start of every round a child is forked; it does
 * nothing but hold the address space as it was (the round-start image).
 * The first write of the parent to a page copies it, so the child's page
 * is then mapped by the child alone.
 *
 * Collect forks the next child first (re-arm), then compares the two
 * children's /proc/PID/pagemap entries: a page written in between is
 * exclusively mapped in the old child (bit 56) and has a different frame in
 * the new one (PFNs, shown to CAP_SYS_ADMIN only). Only then does the old
 * child go. A write racing with the fork lands before it (in the new
 * child's image, reported now) or after it (copied again, reported next).
 *
 * Snapshot reads use pread(2) on the current child's /proc/PID/mem: one
 * syscall copies straight from the frozen image into the caller's buffer
 * and needs no cooperation from the child (which, forked from a threaded
 * process, may only run async-signal-safe code). Not process_vm_readv(2):
 * it pins the child's pages read-only, and since Linux 5.19 such a pin
 * unshares (copies) a shared anonymous page, so every page read would look
 * written at the next collect. Needs a private mapping: MAP_SHARED memory
 * is not copied.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dirtybench/common.h"
#include "dirtybench/tracker.h"
#include "ram/mmtrack.h"

#define FORK_COW_CHUNK 4096	/* pagemap entries compared at once */

struct fork_cow_priv {
	uint8_t *base;
	size_t size, npages;
	pid_t child;		/* holds the current round-start image */
	int child_pagemap;
	pid_t mem_pid;		/* whose /proc/PID/mem mem_fd reads, 0: none */
	int mem_fd;
	int pipe_r, pipe_w;	/* children exit when pipe_w closes */
	bool have_pipe, pfns;
	bool small_pages;	/* 4 KiB anon: the old child's entry decides */
	uint64_t *old_pm, *new_pm;
	uint64_t forks, fork_ns, pagemap_bytes, snapshot_bytes;
};

static int fork_cow_probe(char *why, size_t len)
{
	int fd = db_pagemap_open(0);

	if (fd < 0) {
		snprintf(why, len,
			 "cannot read /proc/self/pagemap: %s (CONFIG_PROC_PAGE_MONITOR off?)",
			 strerror(-fd));
		return fd;
	}
	close(fd);
	return 0;
}

/*
 * The child: wait for EOF on the pipe, touching nothing but its stack. It
 * keeps no other descriptor: not the write end of its own pipe, and none
 * that would keep a socket, a pagemap or another instance's pipe alive.
 */
static void child_main(int pipe_r)
{
	char c;
	long n;
	int fd;

	if (pipe_r > 0)
		syscall(SYS_close_range, 0, pipe_r - 1, 0);
	if (syscall(SYS_close_range, pipe_r + 1, ~0u, 0))
		for (fd = 0; fd < 65536; fd++)
			if (fd != pipe_r)
				syscall(SYS_close, fd);
	do {
		n = syscall(SYS_read, pipe_r, &c, 1);
	} while (n > 0 || (n < 0 && errno == EINTR));
	syscall(SYS_exit_group, 0);
}

static void reap(pid_t pid)
{
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

/* Fork a new image holder; its pagemap fd is returned in *pm. */
static int fork_child(struct fork_cow_priv *p, pid_t *out, int *pm)
{
	uint64_t t0 = db_now_ns();
	pid_t pid = fork();
	int err;

	if (pid < 0)
		return db_error_errno(-errno, "tracker fork-cow: fork");
	if (pid == 0)
		child_main(p->pipe_r);
	p->forks++;
	p->fork_ns += db_now_ns() - t0;
	*pm = db_pagemap_open(pid);
	if (*pm < 0) {
		err = *pm;
		reap(pid);
		return db_error_errno(err, "tracker fork-cow: cannot open /proc/%d/pagemap",
				      (int)pid);
	}
	*out = pid;
	return 0;
}

static int ensure_hugetlb_headroom(struct db_ram *ram)
{
	const char *dir = "/sys/kernel/mm/hugepages/hugepages-2048kB";
	char path[128], buf[64];
	long nr, free_now, resv, need = (long)(ram->size / DB_HUGE_SIZE);

	/* Each written huge page is copied from the pool while the child lives. */
	snprintf(path, sizeof(path), "%s/free_hugepages", dir);
	if (db_read_file(path, buf, sizeof(buf)) <= 0)
		return db_error(-ENOTSUP, "tracker fork-cow: cannot read %s", path);
	free_now = atol(buf);
	snprintf(path, sizeof(path), "%s/resv_hugepages", dir);
	resv = db_read_file(path, buf, sizeof(buf)) > 0 ? atol(buf) : 0;
	if (free_now - resv >= need)
		return 0;
	snprintf(path, sizeof(path), "%s/nr_hugepages", dir);
	if (db_read_file(path, buf, sizeof(buf)) <= 0)
		return db_error(-ENOTSUP, "tracker fork-cow: cannot read %s", path);
	nr = atol(buf) + need - (free_now - resv);
	snprintf(buf, sizeof(buf), "%ld", nr);
	if (db_write_file(path, buf))
		return db_error(-EPERM,
				"tracker fork-cow: hugetlb RAM needs %ld spare 2 MiB pages for copies, %ld free, and nr_hugepages cannot be raised (run as root)",
				need, free_now - resv);
	snprintf(path, sizeof(path), "%s/free_hugepages", dir);
	free_now = db_read_file(path, buf, sizeof(buf)) > 0 ? atol(buf) : 0;
	if (free_now - resv < need)
		return db_error(-ENOMEM,
				"tracker fork-cow: hugetlb RAM needs %ld spare 2 MiB pages for copies, the kernel found only %ld",
				need, free_now - resv);
	return 0;
}

static int fork_cow_attach(struct db_tracker *t, struct db_ram *ram)
{
	struct fork_cow_priv *p = t->priv;
	int fds[2], err;

	p->base = ram->base;
	p->size = ram->size;
	p->npages = ram->npages;
	p->child = 0;
	if (ram->backing == DB_BACKING_MEMFD)
		return db_error(-EINVAL,
				"tracker fork-cow: memfd RAM is MAP_SHARED, so a forked child sees every write instead of keeping the round-start image (needs a private backing: anon, thp, hugetlb)");
	if (ram->backing == DB_BACKING_HUGETLB) {
		err = ensure_hugetlb_headroom(ram);
		if (err)
			return err;
	}
	/* No zero-page or missing entries: every page has its own frame. */
	if (madvise(ram->base, ram->size, MADV_POPULATE_WRITE))
		return db_error_errno(-errno, "tracker fork-cow: cannot populate RAM at %p (MADV_POPULATE_WRITE)",
				      ram->base);
	p->pfns = db_pagemap_pfns_visible();
	p->small_pages = ram->backing == DB_BACKING_ANON;
	if (!p->pfns && ram->backing == DB_BACKING_THP)
		return db_error(-EPERM,
				"tracker fork-cow: on THP RAM only page frame numbers tell which 4 KiB page was copied, and pagemap shows them to CAP_SYS_ADMIN only (run as root)");
	p->old_pm = malloc(FORK_COW_CHUNK * sizeof(uint64_t));
	p->new_pm = malloc(FORK_COW_CHUNK * sizeof(uint64_t));
	if (!p->old_pm || !p->new_pm)
		return db_error(-ENOMEM, "tracker fork-cow: no memory for pagemap buffers");
	if (pipe2(fds, O_CLOEXEC))
		return db_error_errno(-errno, "tracker fork-cow: pipe");
	p->pipe_r = fds[0];
	p->pipe_w = fds[1];
	p->have_pipe = true;
	return 0;
}

static int fork_cow_start(struct db_tracker *t)
{
	struct fork_cow_priv *p = t->priv;

	return fork_child(p, &p->child, &p->child_pagemap);
}

/* Was page i written between the two children's forks? */
static bool written(const struct fork_cow_priv *p, uint64_t o, uint64_t n)
{
	const uint64_t key = DB_PM_PRESENT | DB_PM_SWAP | DB_PM_PFN_MASK;

	if ((o & DB_PM_PRESENT) && (o & DB_PM_EXCLUSIVE))
		return true;	/* nobody else maps the old frame any more */
	return (o & key) != (n & key);	/* frame (or presence) changed */
}

/*
 * On 4 KiB anonymous RAM the old child's entry alone decides for a present
 * page: written means the parent copied it, so the old frame is the old
 * child's alone (exclusive); not written means all three still share it,
 * and a changed frame cannot happen without the old one becoming
 * exclusive. Only a chunk with a page absent from the old image (never
 * faulted in, or gone) needs the new child's entries too. Huge pages
 * always compare frames.
 */
static bool old_decides(const struct fork_cow_priv *p, const uint64_t *o,
			size_t n)
{
	size_t k;

	if (!p->small_pages)
		return false;
	for (k = 0; k < n; k++)
		if (!(o[k] & DB_PM_PRESENT))
			return false;
	return true;
}

static int compare(struct fork_cow_priv *p, int old_fd, int new_fd,
		   struct db_bitmap *dirty)
{
	size_t i, k, n;
	int err;

	for (i = 0; i < p->npages; i += n) {
		n = DB_MIN((size_t)FORK_COW_CHUNK, p->npages - i);
		err = db_pagemap_read(old_fd, p->base + (i << DB_PAGE_SHIFT), n,
				      p->old_pm);
		p->pagemap_bytes += n * sizeof(uint64_t);
		if (!err && old_decides(p, p->old_pm, n)) {
			for (k = 0; k < n; k++)
				if (p->old_pm[k] & DB_PM_EXCLUSIVE)
					db_bitmap_set(dirty, i + k);
			continue;
		}
		if (!err)
			err = db_pagemap_read(new_fd, p->base + (i << DB_PAGE_SHIFT),
					      n, p->new_pm);
		if (err)
			return db_error_errno(err, "tracker fork-cow: reading the children's pagemaps");
		p->pagemap_bytes += n * sizeof(uint64_t);
		for (k = 0; k < n; k++)
			if (written(p, p->old_pm[k], p->new_pm[k]))
				db_bitmap_set(dirty, i + k);
	}
	return 0;
}

static void close_mem(struct fork_cow_priv *p)
{
	if (p->mem_pid > 0)
		close(p->mem_fd);
	p->mem_pid = 0;
}

static int fork_cow_collect(struct db_tracker *t, struct db_bitmap *dirty)
{
	struct fork_cow_priv *p = t->priv;
	pid_t next;
	int next_pm, err;

	/* Re-arm first: the old child keeps the old image until compared. */
	err = fork_child(p, &next, &next_pm);
	if (err)
		return err;
	err = compare(p, p->child_pagemap, next_pm, dirty);
	if (err) {
		close(next_pm);
		reap(next);
		return err;
	}
	close_mem(p);
	close(p->child_pagemap);
	reap(p->child);
	p->child = next;
	p->child_pagemap = next_pm;
	return 0;
}

static int fork_cow_snapshot_read(struct db_tracker *t, size_t first, size_t n,
				  void *dst)
{
	struct fork_cow_priv *p = t->priv;
	size_t len = n << DB_PAGE_SHIFT, done = 0;
	char path[64];
	ssize_t got;

	if (p->mem_pid != p->child) {
		close_mem(p);
		snprintf(path, sizeof(path), "/proc/%d/mem", (int)p->child);
		p->mem_fd = open(path, O_RDONLY | O_CLOEXEC);
		if (p->mem_fd < 0)
			return db_error_errno(-errno, "tracker fork-cow: cannot open %s",
					      path);
		p->mem_pid = p->child;
	}
	while (done < len) {
		got = pread(p->mem_fd, (uint8_t *)dst + done, len - done,
			    (off_t)(uintptr_t)(p->base + (first << DB_PAGE_SHIFT) + done));
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return db_error_errno(got < 0 ? -errno : -EIO,
					      "tracker fork-cow: reading pages [%zu, +%zu) from snapshot child %d",
					      first, n, (int)p->child);
		done += (size_t)got;
	}
	p->snapshot_bytes += len;
	return 0;
}

static int fork_cow_stop(struct db_tracker *t)
{
	struct fork_cow_priv *p = t->priv;

	close_mem(p);
	if (p->child > 0) {
		close(p->child_pagemap);
		reap(p->child);
		p->child = 0;
	}
	return 0;
}

static void fork_cow_detach(struct db_tracker *t)
{
	struct fork_cow_priv *p = t->priv;

	fork_cow_stop(t);
	if (p->have_pipe) {
		close(p->pipe_r);
		close(p->pipe_w);
		p->have_pipe = false;
	}
	free(p->old_pm);
	free(p->new_pm);
	p->old_pm = p->new_pm = NULL;
}

static size_t fork_cow_counters(struct db_tracker *t, struct db_counter *out,
				size_t max)
{
	struct fork_cow_priv *p = t->priv;
	const struct db_counter c[] = {
		{ "forks", p->forks },
		{ "fork_ns", p->fork_ns },
		{ "pagemap_bytes_read", p->pagemap_bytes },
		{ "snapshot_bytes_read", p->snapshot_bytes },
		{ "pfns_visible", p->pfns },
	};

	return db_counters_copy(out, max, c, DB_ARRAY_SIZE(c));
}

const struct db_tracker_ops db_tracker_fork_cow = {
	.name = "fork-cow",
	.desc = "fork a child per round: COW snapshot, pagemap finds copied pages",
	.flags = DB_TRK_EXACT | DB_TRK_SNAPSHOT,
	.granularity = DB_PAGE_SIZE,
	.priv_size = sizeof(struct fork_cow_priv),
	.probe = fork_cow_probe,
	.attach = fork_cow_attach,
	.start = fork_cow_start,
	.collect = fork_cow_collect,
	.snapshot_read = fork_cow_snapshot_read,
	.stop = fork_cow_stop,
	.detach = fork_cow_detach,
	.counters = fork_cow_counters,
};
