// SPDX-License-Identifier: MIT
/*
 * perf section "trackers": for each RAM size and tracker, the arm time, the
 * cost of a first write and the collect time at 0.1, 1, 10 and 100% of the
 * pages dirty. Each figure stands next to memcpy of the same bytes or a bare
 * syscall, and each collect also next to the bare kernel mechanism the
 * tracker is built on (the PAGEMAP_SCAN ioctl alone, one mprotect(), one
 * fork and a pagemap read, ...) on RAM of the same size with the same pages
 * written: a tracker adds little over its mechanism when that ratio is
 * near 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dirtybench/common.h"
#include "dirtybench/tracker.h"
#include "../../vmm-shims/stage2/stage2.h"
#include "ram/mmtrack.h"
#include "perf.h"

#define NPCT 4
#define MAX_REPS 15
#define SCAN_VEC 4096

static const double pcts[NPCT] = { 0.1, 1, 10, 100 };
/* the fewest measurements per fraction: the cheap ones take more */
static const unsigned min_reps[NPCT] = { 7, 7, 1, 1 };
/*
 * Rounds run first and not counted, tracker and bare mechanism alike: the
 * first collects after arming are slower (up to 1.5x at 0.1% of 1 GiB).
 * Only where a round is cheap; 100% of 1 GiB under uffd-wp is 262144 faults.
 */
static const unsigned warmup[NPCT] = { 2, 1, 0, 0 };

/* What every tracker of one RAM size is measured against. */
struct size_ctx {
	uint64_t size;
	size_t npages;
	size_t *perm;		/* pages in a random order */
	size_t *seq;		/* pages in order (100%: written front to back) */
	size_t k[NPCT];		/* pages written at each percentage */
	double memcpy_ram_ns, memcpy_ns[NPCT];
};

static double syscall_ns;
static uint64_t stamp;		/* every store writes a new value */

static unsigned nreps(const struct perf_run *r, int i)
{
	return perf_reps(r, min_reps[i], MAX_REPS);
}

/*
 * Whether to take measurement k + 1 of a fraction, after 'spent' ns of
 * wall-clock time on it, writes included: the --reps count (at least
 * min_reps), then more up to MAX_REPS while the row stays cheap, as the
 * short collects are the ones a neighbour's cache traffic moves most.
 */
#define REP_BUDGET_NS 50e6
static bool another_rep(const struct perf_run *r, int p, unsigned k,
			double spent)
{
	if (k < nreps(r, p))
		return true;
	return !r->quick && k < MAX_REPS && spent < REP_BUDGET_NS;
}

static unsigned nwarm(const struct perf_run *r, int i)
{
	return r->quick ? 0 : warmup[i];
}

static const size_t *pages_at(const struct size_ctx *s, int i)
{
	return pcts[i] >= 100 ? s->seq : s->perm;
}

static void measure_syscall(void)
{
	const unsigned n = 200000;
	uint64_t t0 = db_now_ns();
	unsigned i;

	for (i = 0; i < n; i++)
		syscall(SYS_getppid);
	syscall_ns = (double)(db_now_ns() - t0) / n;
}

static int size_setup(const struct perf_run *r, struct size_ctx *s, uint64_t size)
{
	uint8_t *src, *dst;
	uint64_t rng = 12345, t0;
	double v[MAX_REPS];
	size_t i, j, tmp;
	unsigned k;
	int p;

	memset(s, 0, sizeof(*s));
	s->size = size;
	s->npages = size / DB_PAGE_SIZE;
	s->perm = malloc(s->npages * sizeof(size_t));
	s->seq = malloc(s->npages * sizeof(size_t));
	src = malloc(size);
	dst = malloc(size);
	if (!s->perm || !s->seq || !src || !dst) {
		free(src);
		free(dst);
		return db_error(-ENOMEM, "perf: no memory for two copies of %llu bytes",
				(unsigned long long)size);
	}
	for (i = 0; i < s->npages; i++)
		s->perm[i] = s->seq[i] = i;
	for (i = s->npages - 1; i > 0; i--) {
		rng = rng * 6364136223846793005ull + 1442695040888963407ull;
		j = (size_t)(rng >> 33) % (i + 1);
		tmp = s->perm[i];
		s->perm[i] = s->perm[j];
		s->perm[j] = tmp;
	}
	memset(src, 1, size);
	memset(dst, 2, size);
	for (k = 0; k < 3; k++) {
		t0 = db_now_ns();
		memcpy(dst, src, size);
		v[k] = (double)(db_now_ns() - t0);
	}
	s->memcpy_ram_ns = perf_median(v, 3);
	for (p = 0; p < NPCT; p++) {
		s->k[p] = DB_MAX((size_t)1, (size_t)((double)s->npages * pcts[p] / 100));
		for (k = 0; k < MAX_REPS; k++) {
			t0 = db_now_ns();
			memcpy(dst, src, s->k[p] * DB_PAGE_SIZE);
			v[k] = (double)(db_now_ns() - t0);
		}
		s->memcpy_ns[p] = perf_median(v, MAX_REPS);
	}
	(void)r;
	free(src);
	free(dst);
	return 0;
}

static void size_free(struct size_ctx *s)
{
	free(s->perm);
	free(s->seq);
}

/* ---- the bare mechanisms ------------------------------------------- */

struct bare {
	struct db_ram ram;
	int fd, pm;
	pid_t child;
	struct page_region *vec;
	struct db_bitmap bm;
	uint64_t *buf;
	/* the minimal fault handling: a uffd reader thread, a SIGSEGV handler */
	pthread_t thr;
	int stopfd;
	struct sigaction old_segv;
	bool handler;
	struct s2_vm *vm;	/* the stage-2 model, driven directly */
	unsigned slot;
};

struct bare_ops {
	const char *tracker;
	const char *what;
	int (*setup)(struct bare *b);
	/* Write the pages, then time the mechanism alone. */
	int (*measure)(struct bare *b, const size_t *pages, size_t k, double *ns);
	void (*teardown)(struct bare *b);
	/* Arm, then time the first write to each page: ns per page. */
	int (*fault)(struct bare *b, const size_t *pages, size_t k, double *ns);
	const char *fault_what;
};

/* Time one store to each of k pages: ns per page. */
static double time_stores(uint8_t *base, const size_t *pages, size_t k);
static pid_t idle_child(void);
static void kill_child(pid_t pid);

static void store(uint8_t *base, size_t page)
{
	*(volatile uint64_t *)(base + (page << DB_PAGE_SHIFT)) = ++stamp;
}

static double time_stores(uint8_t *base, const size_t *pages, size_t k)
{
	uint64_t t0 = db_now_ns();
	size_t i;

	for (i = 0; i < k; i++)
		store(base, pages[i]);
	return (double)(db_now_ns() - t0) / (double)k;
}

/* uffd-async: the kernel resolves the fault itself. */
static int async_fault(struct bare *b, const size_t *pages, size_t k, double *ns)
{
	int err = db_uffd_wp(b->fd, b->ram.base, b->ram.size, true, false);

	if (!err)
		*ns = time_stores(b->ram.base, pages, k);
	return err;
}

/* uffd-wp: the handler thread releases the page (and wakes the writer). */
static int wp_fault(struct bare *b, const size_t *pages, size_t k, double *ns)
{
	int err = db_uffd_wp(b->fd, b->ram.base, b->ram.size, true, false);

	if (!err)
		*ns = time_stores(b->ram.base, pages, k);
	return err;
}

/* mprotect: the SIGSEGV handler makes the page writable. */
static int mprotect_fault(struct bare *b, const size_t *pages, size_t k,
			  double *ns)
{
	if (mprotect(b->ram.base, b->ram.size, PROT_READ))
		return -errno;
	*ns = time_stores(b->ram.base, pages, k);
	return 0;
}

/* fork-cow: the first write after a fork copies the page. */
static int fork_fault(struct bare *b, const size_t *pages, size_t k, double *ns)
{
	pid_t child = idle_child();

	if (child < 0)
		return -errno;
	*ns = time_stores(b->ram.base, pages, k);
	kill_child(child);
	return 0;
}

static int hash_measure(struct bare *b, const size_t *pages, size_t k, double *ns);

/*
 * hash: nothing traps, a write is a store; after a pass over all pages,
 * as the tracker's writes come after its collect.
 */
static int plain_fault(struct bare *b, const size_t *pages, size_t k, double *ns)
{
	double pass;

	hash_measure(b, pages, 0, &pass);
	*ns = time_stores(b->ram.base, pages, k);
	return 0;
}

static int async_setup(struct bare *b)
{
	b->fd = db_uffd_setup_wp("perf: bare uffd-async", &b->ram,
				 UFFD_FEATURE_PAGEFAULT_FLAG_WP | UFFD_FEATURE_WP_ASYNC,
				 NULL);
	if (b->fd < 0)
		return b->fd;
	b->pm = db_pagemap_open(0);
	b->vec = calloc(SCAN_VEC, sizeof(*b->vec));
	if (b->pm < 0 || !b->vec || db_bitmap_init(&b->bm, b->ram.npages))
		return db_error(-ENOMEM, "perf: bare uffd-async setup");
	return db_uffd_wp(b->fd, b->ram.base, b->ram.size, true, false);
}

static int async_measure(struct bare *b, const size_t *pages, size_t k, double *ns)
{
	uint64_t t0;
	size_t i;
	int err;

	for (i = 0; i < k; i++)
		store(b->ram.base, pages[i]);
	db_bitmap_zero(&b->bm);
	t0 = db_now_ns();
	err = db_pagemap_scan_written(b->pm, b->ram.base, b->ram.size, true,
				      b->vec, SCAN_VEC, &b->bm, NULL);
	*ns = (double)(db_now_ns() - t0);
	return err;
}

/* The least a uffd-wp fault needs: read it, release the page, wake. */
static void *wp_handler_main(void *arg)
{
	struct bare *b = arg;
	struct pollfd pfd[2] = { { .fd = b->fd, .events = POLLIN },
				 { .fd = b->stopfd, .events = POLLIN } };
	struct uffd_msg msg[16];
	ssize_t n, i;

	for (;;) {
		if (poll(pfd, 2, -1) < 0 && errno != EINTR)
			break;
		if (pfd[1].revents)
			break;
		n = read(b->fd, msg, sizeof(msg));
		for (i = 0; i < n / (ssize_t)sizeof(msg[0]); i++)
			db_uffd_wp(b->fd,
				   (void *)(uintptr_t)(msg[i].arg.pagefault.address &
						       ~(uint64_t)(DB_PAGE_SIZE - 1)),
				   DB_PAGE_SIZE, false, false);
	}
	return NULL;
}

static int wp_setup(struct bare *b)
{
	int err;

	b->fd = db_uffd_setup_wp("perf: bare uffd-wp", &b->ram,
				 UFFD_FEATURE_PAGEFAULT_FLAG_WP, NULL);
	if (b->fd < 0)
		return b->fd;
	b->stopfd = eventfd(0, EFD_CLOEXEC);
	if (b->stopfd < 0)
		return -errno;
	err = -pthread_create(&b->thr, NULL, wp_handler_main, b);
	if (err)
		return err;
	b->handler = true;
	return db_uffd_wp(b->fd, b->ram.base, b->ram.size, true, false);
}

/* Pages written through the handler thread, then write-protect RAM again. */
static int wp_measure(struct bare *b, const size_t *pages, size_t k, double *ns)
{
	uint64_t t0;
	size_t i;
	int err;

	for (i = 0; i < k; i++)
		store(b->ram.base, pages[i]);
	t0 = db_now_ns();
	err = db_uffd_wp(b->fd, b->ram.base, b->ram.size, true, false);
	*ns = (double)(db_now_ns() - t0);
	return err;
}

static void uffd_teardown(struct bare *b)
{
	uint64_t one = 1;

	if (b->handler) {
		if (write(b->stopfd, &one, sizeof(one)) == sizeof(one))
			pthread_join(b->thr, NULL);
		b->handler = false;
	}
	if (b->stopfd >= 0)
		close(b->stopfd);
	if (b->fd >= 0) {
		db_uffd_unregister(b->fd, b->ram.base, b->ram.size);
		close(b->fd);
	}
}

/* The least an mprotect fault needs: make the page writable. */
static uint8_t *segv_base;
static size_t segv_size;

static void bare_segv(int sig, siginfo_t *si, void *uc)
{
	uintptr_t a = (uintptr_t)si->si_addr & ~(uintptr_t)(DB_PAGE_SIZE - 1);

	/* vm.max_map_count reached: all of RAM, as the tracker coalesces */
	if (mprotect((void *)a, DB_PAGE_SIZE, PROT_READ | PROT_WRITE) &&
	    mprotect(segv_base, segv_size, PROT_READ | PROT_WRITE))
		abort();
}

static int mprotect_setup(struct bare *b)
{
	struct sigaction sa = { .sa_sigaction = bare_segv,
				.sa_flags = SA_SIGINFO | SA_NODEFER };

	segv_base = b->ram.base;
	segv_size = b->ram.size;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSEGV, &sa, &b->old_segv))
		return -errno;
	b->handler = true;
	return mprotect(b->ram.base, b->ram.size, PROT_READ) ? -errno : 0;
}

/* Pages written through the SIGSEGV handler, then make RAM read-only again. */
static int mprotect_measure(struct bare *b, const size_t *pages, size_t k,
			    double *ns)
{
	uint64_t t0;
	size_t i;

	for (i = 0; i < k; i++)
		store(b->ram.base, pages[i]);
	t0 = db_now_ns();
	if (mprotect(b->ram.base, b->ram.size, PROT_READ))
		return -errno;
	*ns = (double)(db_now_ns() - t0);
	return 0;
}

static void mprotect_teardown(struct bare *b)
{
	mprotect(b->ram.base, b->ram.size, PROT_READ | PROT_WRITE);
	if (b->handler)
		sigaction(SIGSEGV, &b->old_segv, NULL);
	b->handler = false;
}

static pid_t idle_child(void)
{
	pid_t pid = fork();

	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (;;)
			pause();
	}
	return pid;
}

static void kill_child(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static int fork_setup(struct bare *b)
{
	b->buf = malloc(4096 * sizeof(uint64_t));
	b->child = idle_child();
	return b->child < 0 || !b->buf ? -ENOMEM : 0;
}

static int fork_measure(struct bare *b, const size_t *pages, size_t k, double *ns)
{
	uint64_t t0;
	size_t i, n;
	pid_t next;
	int fd, err = 0;

	for (i = 0; i < k; i++)
		store(b->ram.base, pages[i]);
	t0 = db_now_ns();
	next = idle_child();
	if (next < 0)
		return -errno;
	fd = db_pagemap_open(b->child);
	for (i = 0; i < b->ram.npages && fd >= 0 && !err; i += n) {
		n = DB_MIN((size_t)4096, b->ram.npages - i);
		err = db_pagemap_read(fd, b->ram.base + (i << DB_PAGE_SHIFT), n,
				      b->buf);
	}
	if (fd >= 0)
		close(fd);
	kill_child(b->child);
	*ns = (double)(db_now_ns() - t0);
	b->child = next;
	return fd < 0 ? fd : err;
}

static void fork_teardown(struct bare *b)
{
	kill_child(b->child);
	b->child = 0;
}

static int softdirty_setup(struct bare *b)
{
	b->buf = malloc(4096 * sizeof(uint64_t));
	b->pm = db_pagemap_open(0);
	b->fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
	if (!b->buf || b->pm < 0 || b->fd < 0)
		return -ENOTSUP;
	return pwrite(b->fd, "4", 1, 0) == 1 ? 0 : -errno;
}

static int softdirty_measure(struct bare *b, const size_t *pages, size_t k,
			     double *ns)
{
	uint64_t t0;
	size_t i, n;
	int err = 0;

	for (i = 0; i < k; i++)
		store(b->ram.base, pages[i]);
	t0 = db_now_ns();
	for (i = 0; i < b->ram.npages && !err; i += n) {
		n = DB_MIN((size_t)4096, b->ram.npages - i);
		err = db_pagemap_read(b->pm, b->ram.base + (i << DB_PAGE_SHIFT),
				      n, b->buf);
	}
	if (!err && pwrite(b->fd, "4", 1, 0) != 1)
		err = -errno;
	*ns = (double)(db_now_ns() - t0);
	return err;
}

static void softdirty_teardown(struct bare *b)
{
	if (b->fd >= 0)
		close(b->fd);
}

static int hash_setup(struct bare *b)
{
	b->buf = malloc(b->ram.npages * sizeof(uint64_t));
	return b->buf ? 0 : -ENOMEM;
}

static int hash_measure(struct bare *b, const size_t *pages, size_t k, double *ns)
{
	uint64_t t0;
	size_t i;

	for (i = 0; i < k; i++)
		store(b->ram.base, pages[i]);
	t0 = db_now_ns();
	for (i = 0; i < b->ram.npages; i++)
		b->buf[i] = db_hash64(db_ram_page(&b->ram, i), DB_PAGE_SIZE);
	*ns = (double)(db_now_ns() - t0);
	return 0;
}

static void no_teardown(struct bare *b)
{
}

/*
 * The stage-2 model without the tracker around it: its KVM-like
 * interface, GET_DIRTY_LOG and the vCPU write path, on the same RAM and
 * with the tracker's defaults (v7 layout, 1024 TLB entries, populated).
 */
static int s2_setup(struct bare *b, enum s2_strategy strategy)
{
	struct s2_config cfg = { .layout = S2_LAYOUT_V7, .strategy = strategy,
				 .nvcpus = 1, .tlb_entries = 1024 };
	struct s2_slot_desc d = { .ipa = S2_DEFAULT_IPA_BASE, .size = b->ram.size,
				  .host = b->ram.base, .pa = S2_DEFAULT_PA_BASE,
				  .host_pagesize = b->ram.map_pagesize };
	int err = s2_vm_create(&b->vm, &cfg);

	if (!err)
		err = s2_slot_add(b->vm, &d, &b->slot);
	if (!err)
		err = s2_populate(b->vm, b->slot);
	if (!err)
		err = s2_log_enable(b->vm, b->slot);
	b->buf = calloc(DB_BITMAP_WORDS(b->ram.npages), sizeof(uint64_t));
	return err ? err : b->buf ? 0 : -ENOMEM;
}

static int s2_eager_setup(struct bare *b)
{
	return s2_setup(b, S2_EAGER);
}

static int s2_lazy_setup(struct bare *b)
{
	return s2_setup(b, S2_LAZY);
}

static int s2_store(struct bare *b, size_t page)
{
	uint64_t v = ++stamp;

	return s2_write(b->vm, 0, S2_DEFAULT_IPA_BASE + ((uint64_t)page << DB_PAGE_SHIFT),
			&v, sizeof(v));
}

static int s2_measure(struct bare *b, const size_t *pages, size_t k, double *ns)
{
	uint64_t t0;
	size_t i;
	int err = 0;

	for (i = 0; i < k && !err; i++)
		err = s2_store(b, pages[i]);
	t0 = db_now_ns();
	if (!err)
		err = s2_get_dirty_log(b->vm, b->slot, b->buf, false);
	*ns = (double)(db_now_ns() - t0);
	return err;
}

static int s2_fault(struct bare *b, const size_t *pages, size_t k, double *ns)
{
	uint64_t t0;
	size_t i;
	int err = s2_get_dirty_log(b->vm, b->slot, b->buf, false);

	t0 = db_now_ns();
	for (i = 0; i < k && !err; i++)
		err = s2_store(b, pages[i]);
	*ns = (double)(db_now_ns() - t0) / (double)k;
	return err;
}

static void s2_teardown(struct bare *b)
{
	if (b->vm)
		s2_vm_destroy(b->vm);
	b->vm = NULL;
}

static const struct bare_ops bares[] = {
	{ "uffd-async", "bare PAGEMAP_SCAN get+WP", async_setup, async_measure,
	  uffd_teardown, async_fault, "bare WP_ASYNC fault" },
	{ "uffd-wp", "bare UFFDIO_WRITEPROTECT", wp_setup, wp_measure,
	  uffd_teardown, wp_fault, "bare uffd fault+release" },
	{ "mprotect", "bare mprotect(RAM, RO)", mprotect_setup,
	  mprotect_measure, mprotect_teardown, mprotect_fault,
	  "bare SIGSEGV+mprotect" },
	{ "fork-cow", "bare fork+pagemap read", fork_setup, fork_measure,
	  fork_teardown, fork_fault, "bare COW fault after fork" },
	{ "softdirty", "bare pagemap read+clear_refs", softdirty_setup,
	  softdirty_measure, softdirty_teardown, NULL, NULL },
	{ "hash", "bare xxh3 of every page", hash_setup, hash_measure,
	  no_teardown, plain_fault, "bare store" },
	{ "stage2-eager", "bare model GET_DIRTY_LOG", s2_eager_setup, s2_measure,
	  s2_teardown, s2_fault, "bare model write fault" },
	{ "stage2-lazy", "bare model GET_DIRTY_LOG", s2_lazy_setup, s2_measure,
	  s2_teardown, s2_fault, "bare model write fault" },
};

static const struct perf_target t3 = { "T3", PERF_RATIO_MAX, 1.1 };
static const struct perf_target t4 = { "T4", PERF_RATIO_MAX, 1.1 };

static const struct bare_ops *bare_find(const char *tracker)
{
	size_t i;

	for (i = 0; i < DB_ARRAY_SIZE(bares); i++)
		if (!strcmp(bares[i].tracker, tracker))
			return &bares[i];
	return NULL;
}

/*
 * Set up a bare mechanism on ram (not taken over): the tracker's own RAM,
 * so that both run on the same physical pages. Here two mappings of the
 * same size can differ by 15% in a memory-bound pass depending on which
 * was allocated first; on the same pages that difference is gone.
 */
static int bare_open(const struct bare_ops *ops, const struct db_ram *ram,
		     struct bare *b)
{
	int err;

	memset(b, 0, sizeof(*b));
	b->fd = b->pm = b->stopfd = -1;
	b->ram = *ram;
	b->ram.release = NULL;
	err = ops->setup(b);
	if (err)
		fprintf(stderr, "perf: %s for %s: %s\n", ops->what, ops->tracker,
			strerror(-err));
	return err;
}

static void bare_close(const struct bare_ops *ops, struct bare *b)
{
	ops->teardown(b);
	if (b->pm >= 0)
		close(b->pm);
	free(b->vec);
	free(b->buf);
	db_bitmap_free(&b->bm);
}

/* The bare mechanism's figures, from a pass before and one after the tracker. */
struct bare_figs {
	double collect[NPCT][2 * MAX_REPS];
	unsigned n[NPCT];
	double fault[2 * MAX_REPS];
	unsigned nfault;
	bool ok;
};

static void bare_pass(const struct perf_run *r, const struct bare_ops *ops,
		      const struct size_ctx *s, const struct db_ram *ram,
		      struct bare_figs *bf)
{
	struct bare b;
	double drop, spent;
	unsigned k;
	int p;

	if (!bf->ok || bare_open(ops, ram, &b)) {
		bf->ok = false;
		return;
	}
	for (p = 0; p < NPCT && bf->ok; p++) {
		for (k = 0; k < nwarm(r, p) && bf->ok; k++)
			bf->ok = !ops->measure(&b, pages_at(s, p), s->k[p], &drop);
		for (k = 0, spent = 0; another_rep(r, p, k, spent) && bf->ok; k++) {
			uint64_t t0 = db_now_ns();

			bf->ok = !ops->measure(&b, pages_at(s, p), s->k[p],
					       &bf->collect[p][bf->n[p]++]);
			spent += (double)(db_now_ns() - t0);
		}
	}
	for (k = 0; ops->fault && k < nreps(r, 2) && bf->ok; k++)
		bf->ok = !ops->fault(&b, pages_at(s, 2), s->k[2],
				     &bf->fault[bf->nfault++]);
	bare_close(ops, &b);
}

/* ---- one tracker ---------------------------------------------------- */

static int touch(struct db_tracker *t, size_t page)
{
	uint64_t v = ++stamp;

	return t->ops->guest_write(t, 0, page, 0, &v, sizeof(v));
}

static int tracker_round(struct db_tracker *t, struct db_ram *ram,
			 const size_t *pages, size_t k, struct db_bitmap *got,
			 double *write_ns, double *collect_ns)
{
	uint64_t t0;
	size_t i;
	int err = 0;

	/* plain stores go through the bare mechanisms' own loop */
	if (!(db_tracker_flags(t) & DB_TRK_ACCESS)) {
		*write_ns = time_stores(ram->base, pages, k);
	} else {
		t0 = db_now_ns();
		for (i = 0; i < k && !err; i++)
			err = touch(t, pages[i]);
		*write_ns = (double)(db_now_ns() - t0) / (double)k;
	}
	if (err)
		return err;
	db_bitmap_zero(got);
	t0 = db_now_ns();
	err = db_tracker_collect(t, got);
	*collect_ns = (double)(db_now_ns() - t0);
	if (!err && db_bitmap_count(got) < k)
		fprintf(stderr, "perf: tracker %s reported %zu of %zu pages written\n",
			t->name, db_bitmap_count(got), k);
	return err;
}

static int measure_tracker(struct perf_run *r, const char *spec,
			   const struct size_ctx *s)
{
	struct db_tracker_params tp = { .nvcpus = 1, .seed = 1 };
	struct db_tracker *t = NULL;
	struct db_ram ram = { .fd = -1 };
	struct db_bitmap got = { 0 };
	const struct bare_ops *bare = bare_find(spec);
	static struct bare_figs bf;
	double v[NPCT][MAX_REPS], w[MAX_REPS], fw[MAX_REPS], arm, first_write = -1;
	double spent;
	unsigned nfw = 0, nv[NPCT];
	char fig[32], ref[64], sz[32];
	unsigned k, n;
	int p, err;

	err = db_tracker_create(&t, spec, &tp);
	if (err) {
		perf_add(r, spec, s->size, NULL, -1, NULL, -1, db_strerror());
		return DB_EXIT_RESOURCE;
	}
	if (db_tracker_flags(t) & DB_TRK_PROVIDES_RAM) {
		ram.size = s->size;
		ram.npages = s->npages;
		ram.backing = DB_BACKING_TRACKER;
		bare = NULL;
	} else {
		err = db_ram_create(&ram, s->size, DB_BACKING_ANON, 1);
	}
	/* bare mechanism, tracker, bare mechanism: the same RAM, and drift shows */
	memset(&bf, 0, sizeof(bf));
	bf.ok = bare != NULL;
	if (!err && bare)
		bare_pass(r, bare, s, &ram, &bf);
	if (!err)
		err = db_tracker_attach(t, &ram);
	if (!err)
		err = db_bitmap_init(&got, s->npages);
	if (!err)
		err = db_tracker_start(t);
	if (err)
		goto fail;
	arm = (double)t->stats.start_ns;
	for (p = 0; p < NPCT; p++) {
		for (k = 0; k < nwarm(r, p) && !err; k++)
			err = tracker_round(t, &ram, pages_at(s, p), s->k[p], &got,
					    &w[0], &v[p][0]);
		for (k = 0, spent = 0; !err && another_rep(r, p, k, spent); k++) {
			uint64_t t0 = db_now_ns();

			err = tracker_round(t, &ram, pages_at(s, p), s->k[p], &got,
					    &w[k], &v[p][k]);
			spent += (double)(db_now_ns() - t0);
		}
		n = nv[p] = k;
		if (err)
			goto fail;
		if (pcts[p] == 10) {
			memcpy(fw, w, n * sizeof(*w));
			nfw = n;
			first_write = perf_median(w, n);
		}
	}
	db_tracker_destroy(t);
	t = NULL;
	if (bare)
		bare_pass(r, bare, s, &ram, &bf);

	perf_add(r, spec, s->size, "arm_ns", arm, "memcpy of the RAM",
		 s->memcpy_ram_ns, NULL);
	for (p = 0; p < NPCT; p++) {
		snprintf(fig, sizeof(fig), "collect_ns@%g%%", pcts[p]);
		snprintf(ref, sizeof(ref), "memcpy of %s",
			 db_fmt_bytes(s->k[p] * DB_PAGE_SIZE, sz, sizeof(sz)));
		perf_add_samples(r, spec, s->size, fig, v[p], nv[p], ref,
				 &s->memcpy_ns[p], 1, NULL, NULL);
		if (bf.ok)
			perf_add_samples(r, spec, s->size, fig, v[p], nv[p],
					 bare->what, bf.collect[p], bf.n[p], NULL, &t3);
	}
	perf_add(r, spec, s->size, first_write >= 0 ? "first_write_ns" : NULL,
		 first_write, "bare syscall", syscall_ns,
		 first_write >= 0 ? NULL : "skipped: no 10% pass to time the first write");
	/* The first write again, against the mechanism's fault alone. */
	if (bf.ok && bare->fault)
		perf_add_samples(r, spec, s->size, "first_write_ns", fw, nfw,
				 bare->fault_what, bf.fault, bf.nfault, NULL, &t4);
	db_bitmap_free(&got);
	db_ram_destroy(&ram);
	return 0;
fail:
	fprintf(stderr, "dirtybench perf: %s\n", db_strerror());
	perf_add(r, spec, s->size, NULL, -1, NULL, -1, db_strerror());
	db_bitmap_free(&got);
	db_tracker_destroy(t);
	db_ram_destroy(&ram);
	return DB_EXIT_RESOURCE;
}

int perf_trackers(struct perf_run *r)
{
	struct size_ctx s;
	char list[512], *tok, *save = NULL, why[512];
	size_t i, n;
	int rc = 0, c;

	/* Which trackers: the list given (all must exist), or every one. */
	if (r->trackers) {
		snprintf(list, sizeof(list), "%s", r->trackers);
		for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			const struct db_tracker_ops *ops = db_tracker_find(tok);
			struct db_tracker *t = NULL;

			if (!ops) {
				fprintf(stderr, "dirtybench perf: unknown tracker '%s' (see dirtybench trackers)\n",
					tok);
				return DB_EXIT_USAGE;
			}
			/* Bad arguments are usage errors; "cannot run here" is not. */
			if (!ops->probe(why, sizeof(why)) &&
			    db_tracker_create(&t, tok, NULL)) {
				fprintf(stderr, "dirtybench perf: %s\n", db_strerror());
				return DB_EXIT_USAGE;
			}
			db_tracker_destroy(t);
		}
		snprintf(list, sizeof(list), "%s", r->trackers);
	} else {
		list[0] = '\0';
		for (i = 0, n = 0; i < db_tracker_count(); i++) {
			const struct db_tracker_ops *ops = db_tracker_ops_at(i);

			if (ops->flags & DB_TRK_FAULTY)
				continue;
			if (ops->probe(why, sizeof(why))) {
				perf_add(r, ops->name, 0, NULL, -1, NULL, -1, why);
				continue;
			}
			n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s",
					      n ? "," : "", ops->name);
		}
	}
	measure_syscall();
	for (i = 0; i < r->nsizes; i++) {
		if (size_setup(r, &s, r->sizes[i])) {
			fprintf(stderr, "dirtybench perf: %s\n", db_strerror());
			return DB_EXIT_RESOURCE;
		}
		save = NULL;
		snprintf(why, sizeof(why), "%s", list);
		for (tok = strtok_r(why, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			c = measure_tracker(r, tok, &s);
			if (c && !rc)
				rc = c;
		}
		size_free(&s);
	}
	return rc;
}
