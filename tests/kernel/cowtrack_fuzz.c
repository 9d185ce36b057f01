// SPDX-License-Identifier: MIT
/*
 * cowtrack-fuzz: random ioctl sequences against the cowtrack module, run
 * inside a booted kernel with the module loaded (ci/kernel/run.sh).
 *
 * Worker threads each own a few contexts (open files of /dev/cowtrack) and
 * issue random calls on them: every ioctl of the ABI and invalid command
 * numbers, with random sizes, ranges and flags, and user pointers that are
 * good, misaligned, read-only, NULL, below mmap_min_addr, kernel addresses,
 * non-canonical, wrapping, or that run off a good page into a guard page or
 * a PROT_NONE hole; mmap and munmap of the context's RAM, writes into it,
 * close and reopen. Each worker keeps a model of its contexts (created, logging,
 * copy-on-write, round) and predicts, before every call, the errno the
 * module documents (docs/kmod.md) for the first check the arguments fail,
 * or success; any other outcome is a mismatch, printed with the call and
 * the seed. A churn thread meanwhile maps, writes, forks writers into,
 * advises away, unmaps and closes duplicates of the workers' files.
 *
 * Each worker draws from its own generator seeded from the seed and its
 * number, and its model changes only through its own calls, so the same
 * seed replays each worker's sequence of calls exactly.
 *
 * Console lines (the host parses them, collectors/console.c):
 *   DBK RESULT <suite> ioctl_loop PASS|FAIL seed=.. seconds=.. calls=.. ...
 *   DBK RESULT <suite> errno_oracle PASS|FAIL mismatches=N [first one]
 *   DBK RESULT <suite> refused_errnos PASS EFAULT=.. EINVAL=.. ...
 *   DBK RESULT <suite> released PASS|FAIL pages_held=0 contexts=0
 *
 * Usage: cowtrack-fuzz [-s SUITE] [-t SECONDS] [-S SEED] [-w WORKERS]
 * Exit status: 0 all passed, 1 a check failed, 2 usage.
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
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cowtrack_uapi.h"

#define PG 4096ul
#define SYSFS_DEV "/sys/class/misc/cowtrack/"

#define MAX_WORKERS 8
#define SLOTS 4		/* contexts per worker */
#define MAPS 4		/* mappings per context */
#define ORPHANS 8	/* mappings kept after their file was closed */
#define ZONE1_PAGES 64	/* room for a 2 M-page bitmap or 64 snapshot pages */
#define ZONE2_PAGES 4
#define SNAP_MAX 48	/* snapshot pages a good buffer may take */
#define STUCK_S 30	/* a worker without progress this long is hung */
#define MAX_REPORTS 5	/* mismatches printed in full */

/* What a call does; indexes the counters. */
enum op {
	OP_VERSION,
	OP_CREATE,
	OP_START,
	OP_DIRTY_LOG,
	OP_SNAPSHOT,
	OP_STATS,
	OP_STOP,
	OP_BADCMD,
	OP_MMAP,
	OP_MUNMAP,
	OP_WRITE,
	OP_CLOSE,
	OP_SHARE,
	OP_COUNT
};

static const char *const op_name[OP_COUNT] = {
	"VERSION", "CREATE", "START", "GET_DIRTY_LOG", "READ_SNAPSHOT",
	"STATS", "STOP", "invalid-cmd", "mmap", "munmap", "write", "close",
	"dup",
};

/* Refused-call errnos counted by name; anything else lands in "other". */
static const int errnos[] = {
	EFAULT, EINVAL, EBADFD, EBUSY, E2BIG, ENOTTY, ENOMEM, EINTR,
};
static const char *const errno_name[] = {
	"EFAULT", "EINVAL", "EBADFD", "EBUSY", "E2BIG", "ENOTTY", "ENOMEM",
	"EINTR",
};
#define NERRNO (sizeof(errnos) / sizeof(errnos[0]))

/* Where a pointer points; good ones are readable, some writable too. */
enum ptr_class {
	P_NULL,
	P_LOW,		/* below mmap_min_addr */
	P_KERNEL,
	P_NONCANON,
	P_WRAP,		/* the range wraps past the top of the address space */
	P_GOOD,		/* read-write zone, any alignment */
	P_CROSS,	/* good start running into a guard page */
	P_RO,		/* read-only page */
	P_RO_CROSS,	/* read-only page running into a hole */
	P_HOLE,		/* a PROT_NONE page after the read-only one */
	P_GUARD,	/* a PROT_NONE page */
	P_RAM,		/* inside a mapping of one of the worker's contexts */
	P_COUNT
};

static const char *const ptr_name[P_COUNT] = {
	"null", "low", "kernel", "noncanon", "wrap", "good", "cross", "ro",
	"ro-cross", "hole", "guard", "ram",
};

struct ptr {
	uint64_t addr;
	enum ptr_class cls;
	bool readable;	/* every byte of the range can be read */
	bool writable;	/* and written */
};

struct mapping {
	uint8_t *p;
	size_t len;
	bool writable;
};

struct slot {
	int fd;		/* -1: closed */
	bool created, logging, cow;
	uint64_t npages, round;
	struct mapping map[MAPS];
};

/* The last call, kept as numbers: formatted only when it is reported. */
struct call {
	enum op op;
	int slot;
	unsigned int cmd;
	struct ptr arg, buf;
	uint64_t f[4];		/* the op's fields, see describe() */
	int want, got;
	bool created, logging, cow;
	uint64_t npages;
};

struct worker {
	unsigned id;
	pid_t tid;
	uint64_t rng;
	uint8_t *zone1, *guard1, *ro, *ro_rw, *hole, *zone2, *guard2;
	struct slot slot[SLOTS];
	struct mapping orphan[ORPHANS];
	struct call cur;
	atomic_ulong steps;
	atomic_bool done;
	uint64_t calls[OP_COUNT];
	uint64_t refused[NERRNO + 1];
	uint64_t mismatches;
	char first[360];
	pthread_t th;
};

/* Duplicated files handed from the workers to the churn thread. */
#define SHARED 16
static struct {
	pthread_mutex_t lock;
	int fd[SHARED];
	unsigned n;
} handoff = { .lock = PTHREAD_MUTEX_INITIALIZER };

static struct worker workers[MAX_WORKERS];
static unsigned nworkers = 2;
static uint64_t seed;
static uint64_t max_size;
static atomic_bool stop;
static const char *suite = "fuzz";

static struct {
	atomic_ulong mmaps, writes, forks, munmaps, closes, madvises;
	atomic_ulong unexpected;
	char why[200];
	atomic_ulong steps;
} churn;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* splitmix64: small, fast, and one 64-bit state replays a sequence. */
static uint64_t rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t below(uint64_t *s, uint64_t n)
{
	return n ? rnd(s) % n : 0;
}

static bool chance(uint64_t *s, unsigned percent)
{
	return below(s, 100) < percent;
}

static size_t bitmap_bytes(uint64_t npages)
{
	return (size_t)((npages + 63) / 64 * 8);
}

/* ---- pointers ---- */

static uint64_t pick(uint64_t *s, const uint64_t *v, size_t n)
{
	return v[below(s, n)];
}

/* The good mappings of the worker's contexts that hold len bytes. */
static struct mapping *ram_for(struct worker *w, size_t len)
{
	struct mapping *cand[SLOTS * MAPS + ORPHANS];
	size_t n = 0, i, j;

	for (i = 0; i < SLOTS; i++)
		for (j = 0; j < MAPS; j++) {
			struct mapping *m = &w->slot[i].map[j];

			if (m->p && m->writable && m->len >= len)
				cand[n++] = m;
		}
	for (i = 0; i < ORPHANS; i++)
		if (w->orphan[i].p && w->orphan[i].writable &&
		    w->orphan[i].len >= len)
			cand[n++] = &w->orphan[i];
	return n ? cand[below(&w->rng, n)] : NULL;
}

/*
 * A pointer to len bytes (len >= 1) of class chosen at random, mostly good
 * ones so that calls get past their first check. Where the class cannot
 * hold len bytes the range runs off its zone, and is then bad. Every bad
 * range starts in memory of ours and ends in a guard page or hole, so that
 * a kernel copy that goes as far as it can writes nothing but our zones.
 * bounded: the kernel may go past len (a huge length): no RAM mappings,
 * whose neighbours are not guards.
 */
static struct ptr gen_ptr(struct worker *w, size_t len, bool bounded)
{
	static const uint64_t low[] = { 1, 8, 0xfff, 0x1000, 0x8000, 0xfff8 };
	static const uint64_t kern[] = {
		0xffff888000000000ull, 0xffffffff81000000ull,
		0xffffffffff600000ull, 0xffffc90000000000ull,
		0xffffea0000000000ull, 0xfffffe0000000000ull,
	};
	static const uint64_t noncanon[] = {
		1ull << 47, 0x8000000000000000ull, 0x0000dead00000000ull,
		0x7fffffffffff0000ull, 0x00007ffffffff000ull - 4,
	};
	uint64_t *s = &w->rng;
	struct ptr p = { 0 };
	size_t room, r = below(s, 100);
	struct mapping *m;

	if (r < 3)
		p.cls = P_NULL;
	else if (r < 6)
		p.cls = P_LOW;
	else if (r < 10)
		p.cls = P_KERNEL;
	else if (r < 12)
		p.cls = P_NONCANON;
	else if (r < 14)
		p.cls = P_WRAP;
	else if (r < 20)
		p.cls = P_CROSS;
	else if (r < 26)
		p.cls = P_RO;
	else if (r < 28)
		p.cls = P_RO_CROSS;
	else if (r < 30)
		p.cls = P_HOLE;
	else if (r < 32)
		p.cls = P_GUARD;
	else if (r < 44)
		p.cls = P_RAM;
	else
		p.cls = P_GOOD;

	switch (p.cls) {
	case P_NULL:
		break;
	case P_LOW:
		p.addr = pick(s, low, sizeof(low) / 8);
		break;
	case P_KERNEL:
		p.addr = pick(s, kern, sizeof(kern) / 8) + below(s, 4) * 8 +
			 below(s, 2);
		break;
	case P_NONCANON:
		p.addr = pick(s, noncanon, sizeof(noncanon) / 8);
		break;
	case P_WRAP:
		p.addr = UINT64_MAX - below(s, len);
		break;
	case P_CROSS:
		if (len < 2)
			len = 2;
		room = chance(s, 50) ? ZONE1_PAGES : ZONE2_PAGES;
		p.addr = (uintptr_t)(room == ZONE1_PAGES ? w->guard1 : w->guard2) -
			 1 - below(s, len - 1 < room * PG ? len - 1 : room * PG);
		break;
	case P_RO:
		room = len < PG ? PG - len : 0;
		p.addr = (uintptr_t)w->ro + below(s, room + 1);
		p.readable = len <= PG;
		break;
	case P_RO_CROSS:
		if (len < 2)
			len = 2;
		p.addr = (uintptr_t)w->hole - 1 -
			 below(s, len - 1 < PG ? len - 1 : PG);
		break;
	case P_HOLE:
		p.addr = (uintptr_t)w->hole + below(s, PG);
		break;
	case P_GUARD:
		p.addr = (uintptr_t)w->guard1 + below(s, PG);
		break;
	case P_RAM:
		m = bounded ? NULL : ram_for(w, len);
		if (m) {
			p.addr = (uintptr_t)m->p + below(s, m->len - len + 1);
			p.readable = p.writable = true;
			break;
		}
		p.cls = P_GOOD;
		/* fall through */
	case P_GOOD:
	default:
		if (len <= ZONE2_PAGES * PG && chance(s, 20)) {
			room = ZONE2_PAGES * PG - len;
			p.addr = (uintptr_t)w->zone2 + below(s, room + 1);
		} else if (len <= ZONE1_PAGES * PG) {
			room = ZONE1_PAGES * PG - len;
			/* Aligned, at the zone's end, or anywhere. */
			p.addr = below(s, room + 1);
			if (chance(s, 50))
				p.addr &= ~7ull;
			else if (chance(s, 20))
				p.addr = room;
			p.addr += (uintptr_t)w->zone1;
		} else {
			/* Too long for any zone: runs into the guard. */
			p.cls = P_CROSS;
			p.addr = (uintptr_t)w->zone1;
			return p;
		}
		p.readable = p.writable = true;
		break;
	}
	return p;
}

/* Place a structure where the pointer points, through a writable view. */
static void put_arg(struct worker *w, const struct ptr *p, const void *v,
		    size_t len)
{
	if (!p->readable)
		return;
	if (p->cls == P_RO)
		memcpy(w->ro_rw + (p->addr - (uintptr_t)w->ro), v, len);
	else
		memcpy((void *)(uintptr_t)p->addr, v, len);
}

static void get_arg(struct worker *w, const struct ptr *p, void *v,
		    size_t len)
{
	if (p->cls == P_RO)
		memcpy(v, w->ro_rw + (p->addr - (uintptr_t)w->ro), len);
	else
		memcpy(v, (void *)(uintptr_t)p->addr, len);
}

static bool overlap(const struct ptr *a, size_t alen, const struct ptr *b,
		    size_t blen)
{
	return a->addr < b->addr + blen && b->addr < a->addr + alen;
}

/* ---- reporting ---- */

static const char *errno_str(int e)
{
	size_t i;

	if (!e)
		return "success";
	for (i = 0; i < NERRNO; i++)
		if (errnos[i] == e)
			return errno_name[i];
	return strerror(e);
}

/* dst = a ": " b, or just b when a is empty; cut to fit. */
static void copy_str(char *dst, size_t size, const char *a, const char *b)
{
	size_t n = 0;

	while (*a && n + 1 < size)
		dst[n++] = *a++;
	if (n && n + 2 < size) {
		dst[n++] = ':';
		dst[n++] = ' ';
	}
	while (*b && n + 1 < size)
		dst[n++] = *b++;
	dst[n] = '\0';
}

static void describe(struct worker *w, char *buf, size_t size)
{
	const struct call *c = &w->cur;
	int n;

	n = snprintf(buf, size,
		     "seed=%#" PRIx64 " worker=%u step=%lu slot=%d %s cmd=%#x arg=%s:%#" PRIx64,
		     seed, w->id, atomic_load(&w->steps), c->slot,
		     op_name[c->op], c->cmd, ptr_name[c->arg.cls], c->arg.addr);
	if (n < 0 || (size_t)n >= size)
		return;
	switch (c->op) {
	case OP_CREATE:
		n += snprintf(buf + n, size - (size_t)n,
			      " size=%#" PRIx64 " flags=%#" PRIx64, c->f[0],
			      c->f[1]);
		break;
	case OP_START:
		n += snprintf(buf + n, size - (size_t)n,
			      " flags=%#" PRIx64, c->f[0]);
		break;
	case OP_DIRTY_LOG:
		n += snprintf(buf + n, size - (size_t)n,
			      " bitmap=%s:%#" PRIx64 " bitmap_size=%#" PRIx64,
			      ptr_name[c->buf.cls], c->buf.addr, c->f[0]);
		break;
	case OP_SNAPSHOT:
		n += snprintf(buf + n, size - (size_t)n,
			      " first=%#" PRIx64 " num=%#" PRIx64 " buf=%s:%#" PRIx64 " buf_size=%#" PRIx64,
			      c->f[0], c->f[1], ptr_name[c->buf.cls],
			      c->buf.addr, c->f[2]);
		break;
	case OP_MMAP:
		n += snprintf(buf + n, size - (size_t)n,
			      " len=%#" PRIx64 " off=%#" PRIx64 " %s",
			      c->f[0], c->f[1], c->f[2] ? "shared" : "private");
		break;
	default:
		break;
	}
	if (n < 0 || (size_t)n >= size)
		return;
	snprintf(buf + n, size - (size_t)n,
		 " state=%s%s%s npages=%" PRIu64 ": got %s, want %s",
		 c->created ? "created" : "fresh", c->logging ? ",logging" : "",
		 c->cow ? ",cow" : "", c->npages, errno_str(c->got),
		 errno_str(c->want));
}

/* A check that failed: count it and print the first few in full. */
static void mismatch(struct worker *w, const char *what)
{
	char buf[600];

	describe(w, buf, sizeof(buf));
	if (!w->mismatches)
		copy_str(w->first, sizeof(w->first), what, buf);
	if (w->mismatches++ < MAX_REPORTS) {
		printf("# mismatch: %s: %s\n", what, buf);
		fflush(stdout);
	}
}

static void count_refused(struct worker *w, int e)
{
	size_t i;

	for (i = 0; i < NERRNO; i++)
		if (errnos[i] == e)
			break;
	w->refused[i]++;
}

/* ---- the calls ---- */

static void slot_reset(struct slot *sl)
{
	sl->created = sl->logging = sl->cow = false;
	sl->npages = sl->round = 0;
}

static int dev_open(void)
{
	return open(COWTRACK_DEVICE, O_RDWR | O_CLOEXEC);
}

/* Keep a mapping of a closed file as RAM to point into; drop the oldest. */
static void orphan(struct worker *w, struct mapping *m)
{
	size_t i = below(&w->rng, ORPHANS);

	if (w->orphan[i].p)
		munmap(w->orphan[i].p, w->orphan[i].len);
	w->orphan[i] = *m;
	m->p = NULL;
}

/* Close the slot's file (its mappings live on) and open a fresh one. */
static void slot_reopen(struct worker *w, struct slot *sl)
{
	size_t j;

	for (j = 0; j < MAPS; j++) {
		if (!sl->map[j].p)
			continue;
		if (chance(&w->rng, 50)) {
			munmap(sl->map[j].p, sl->map[j].len);
			sl->map[j].p = NULL;
		} else {
			orphan(w, &sl->map[j]);
		}
	}
	if (sl->fd >= 0)
		close(sl->fd);
	slot_reset(sl);
	sl->fd = dev_open();
}

/* Record the outcome of w->cur; return true when it is what was wanted. */
static bool judge(struct worker *w, long ret)
{
	struct call *c = &w->cur;

	c->got = ret == -1 ? errno : 0;
	w->calls[c->op]++;
	if (c->got)
		count_refused(w, c->got);
	if (c->got == c->want)
		return true;
	mismatch(w, "errno");
	return false;
}

static void begin(struct worker *w, enum op op, int si, struct slot *sl)
{
	struct call *c = &w->cur;

	memset(c, 0, sizeof(*c));
	c->op = op;
	c->slot = si;
	if (sl) {
		c->created = sl->created;
		c->logging = sl->logging;
		c->cow = sl->cow;
		c->npages = sl->npages;
	}
}

static uint64_t create_size(uint64_t *s)
{
	uint64_t r = below(s, 100);

	if (r < 55)
		return (1 + below(s, 256)) * PG;
	if (r < 62)
		return (1 + below(s, 16384)) * PG;
	if (r < 64)
		return max_size;
	if (r < 70)
		return 0;
	if (r < 78)
		return (below(s, 256) * PG) + 1 + below(s, PG - 1);
	if (r < 82)
		return UINT64_MAX;
	if (r < 88)
		return max_size + PG * (1 + below(s, 1024));
	if (r < 94)
		return (rnd(s) | (1ull << 62)) & ~(PG - 1);
	return rnd(s);
}

static void do_create(struct worker *w, int si, struct slot *sl)
{
	struct cowtrack_create a = { .size = create_size(&w->rng) };
	struct call *c = &w->cur;

	if (chance(&w->rng, 8))
		a.flags = 1ull << below(&w->rng, 64);
	c->arg = gen_ptr(w, sizeof(a), false);
	c->f[0] = a.size;
	c->f[1] = a.flags;
	put_arg(w, &c->arg, &a, sizeof(a));
	if (!c->arg.readable)
		c->want = EFAULT;
	else if (sl->created)
		c->want = EBUSY;
	else if (a.flags || !a.size || a.size % PG)
		c->want = EINVAL;
	else if (a.size > max_size || a.size / PG > INT32_MAX)
		c->want = E2BIG;
	if (judge(w, ioctl(sl->fd, COWTRACK_CREATE, (void *)(uintptr_t)c->arg.addr)) &&
	    !c->want) {
		sl->created = true;
		sl->npages = a.size / PG;
	}
	(void)si;
}

static void do_start(struct worker *w, struct slot *sl)
{
	struct cowtrack_start a = { 0 };
	struct call *c = &w->cur;
	uint64_t r = below(&w->rng, 10);

	a.flags = r < 5 ? COWTRACK_START_COW : r < 9 ? 0 : rnd(&w->rng);
	c->arg = gen_ptr(w, sizeof(a), false);
	c->f[0] = a.flags;
	put_arg(w, &c->arg, &a, sizeof(a));
	if (!c->arg.readable)
		c->want = EFAULT;
	else if (!sl->created)
		c->want = EBADFD;
	else if (a.flags & ~(uint64_t)COWTRACK_START_FLAGS)
		c->want = EINVAL;
	else if (sl->logging)
		c->want = EBUSY;
	if (judge(w, ioctl(sl->fd, COWTRACK_START, (void *)(uintptr_t)c->arg.addr)) &&
	    !c->want) {
		sl->logging = true;
		sl->cow = a.flags & COWTRACK_START_COW;
		sl->round = 0;
	}
}

static size_t popcount_range(const uint8_t *b, size_t bytes)
{
	size_t i, n = 0;

	for (i = 0; i < bytes; i++)
		n += (size_t)__builtin_popcount(b[i]);
	return n;
}

static void do_dirty_log(struct worker *w, struct slot *sl)
{
	struct cowtrack_dirty_log a = { 0 };
	struct call *c = &w->cur;
	size_t bytes = bitmap_bytes(sl->npages ? sl->npages : 1);
	uint64_t r = below(&w->rng, 10);
	bool switched;

	a.bitmap_size = r < 6 ? bytes : r < 7 ? UINT64_MAX :
			r < 8 ? bytes + below(&w->rng, 4096) :
			below(&w->rng, bytes);
	c->buf = gen_ptr(w, bytes, false);
	c->arg = gen_ptr(w, sizeof(a), false);
	a.bitmap = c->buf.addr;
	a.round = a.dirty_pages = 0xdeadbeefull;
	c->f[0] = a.bitmap_size;
	put_arg(w, &c->arg, &a, sizeof(a));
	switched = false;
	if (!c->arg.readable)
		c->want = EFAULT;
	else if (!sl->created || !sl->logging)
		c->want = EBADFD;
	else if (a.bitmap_size < bytes)
		c->want = EINVAL;
	else if (!c->buf.writable)
		c->want = EFAULT;
	else {
		/* The round ends even if the result cannot be delivered. */
		switched = true;
		if (!c->arg.writable)
			c->want = EFAULT;
	}
	judge(w, ioctl(sl->fd, COWTRACK_GET_DIRTY_LOG, (void *)(uintptr_t)c->arg.addr));
	if (switched && c->got == c->want) {
		uint64_t round = sl->round++;

		if (c->want || overlap(&c->arg, sizeof(a), &c->buf, bytes))
			return;
		get_arg(w, &c->arg, &a, sizeof(a));
		if (a.round != round)
			mismatch(w, "round");
		else if (a.dirty_pages > sl->npages ||
			 a.dirty_pages != popcount_range((void *)(uintptr_t)c->buf.addr, bytes))
			mismatch(w, "dirty_pages");
		else if (sl->npages % 64) {
			uint64_t tail;

			/* No bit past the last page. */
			memcpy(&tail, (const uint8_t *)(uintptr_t)c->buf.addr +
			       bytes - 8, 8);
			if (tail >> (sl->npages % 64))
				mismatch(w, "bitmap tail");
		}
	}
}

static void do_snapshot(struct worker *w, struct slot *sl)
{
	struct cowtrack_snapshot a = { 0 };
	struct call *c = &w->cur;
	uint64_t np = sl->npages, r = below(&w->rng, 20), len;

	if (r < 14 && np) {
		a.first_page = below(&w->rng, np);
		a.num_pages = 1 + below(&w->rng, np - a.first_page < SNAP_MAX ?
					      np - a.first_page : SNAP_MAX);
	} else if (r < 15) {
		a.first_page = np;
		a.num_pages = 1;
	} else if (r < 16) {
		a.num_pages = 0;
	} else if (r < 17) {
		a.first_page = below(&w->rng, np + 1);
		a.num_pages = np - a.first_page + 1;
	} else if (r < 18) {
		a.first_page = UINT64_MAX - below(&w->rng, 4);
		a.num_pages = 2 + below(&w->rng, 8);
	} else if (r < 19) {
		a.num_pages = UINT64_MAX - below(&w->rng, 4);
	} else {
		a.first_page = rnd(&w->rng);
		a.num_pages = rnd(&w->rng);
	}
	r = below(&w->rng, 10);
	a.buf_size = r < 7 ? a.num_pages * PG : r < 8 ? UINT64_MAX :
		     r < 9 ? a.num_pages * PG - 1 - below(&w->rng, PG) :
		     rnd(&w->rng);
	len = a.num_pages && a.num_pages <= SNAP_MAX ? a.num_pages * PG : PG;
	c->buf = gen_ptr(w, len, a.num_pages > SNAP_MAX);
	c->arg = gen_ptr(w, sizeof(a), false);
	a.buf = c->buf.addr;
	c->f[0] = a.first_page;
	c->f[1] = a.num_pages;
	c->f[2] = a.buf_size;
	put_arg(w, &c->arg, &a, sizeof(a));
	if (!c->arg.readable)
		c->want = EFAULT;
	else if (!sl->created || !sl->logging || !sl->cow)
		c->want = EBADFD;
	else if (!a.num_pages || a.first_page >= np ||
		 a.num_pages > np - a.first_page)
		c->want = EINVAL;
	else if (a.buf_size / PG < a.num_pages)
		c->want = EINVAL;
	else if (a.num_pages > SNAP_MAX || !c->buf.writable ||
		 !c->arg.writable)
		c->want = EFAULT;
	if (judge(w, ioctl(sl->fd, COWTRACK_READ_SNAPSHOT, (void *)(uintptr_t)c->arg.addr)) &&
	    !c->want && !overlap(&c->arg, sizeof(a), &c->buf, len)) {
		get_arg(w, &c->arg, &a, sizeof(a));
		if (a.round != sl->round)
			mismatch(w, "snapshot round");
	}
}

static void do_stats(struct worker *w, struct slot *sl)
{
	struct cowtrack_stats a;
	struct call *c = &w->cur;
	size_t i;

	c->arg = gen_ptr(w, sizeof(a), false);
	if (!c->arg.writable)
		c->want = EFAULT;
	if (!judge(w, ioctl(sl->fd, COWTRACK_STATS, (void *)(uintptr_t)c->arg.addr)) ||
	    c->want)
		return;
	get_arg(w, &c->arg, &a, sizeof(a));
	for (i = 0; i < sizeof(a.reserved) / 8; i++)
		if (a.reserved[i])
			mismatch(w, "stats reserved");
	if (a.rounds != (sl->logging ? sl->round + 1 : 0))
		mismatch(w, "stats rounds");
	if (a.shadow_bytes != a.shadow_pages * PG ||
	    a.shadow_pages > sl->npages || a.dirty_pages > sl->npages ||
	    a.pages_allocated > sl->npages || (!sl->cow && a.shadow_pages))
		mismatch(w, "stats counts");
}

static void do_version(struct worker *w, struct slot *sl)
{
	struct cowtrack_version a;
	struct call *c = &w->cur;

	c->arg = gen_ptr(w, sizeof(a), false);
	if (!c->arg.writable)
		c->want = EFAULT;
	if (!judge(w, ioctl(sl->fd, COWTRACK_VERSION, (void *)(uintptr_t)c->arg.addr)) ||
	    c->want)
		return;
	get_arg(w, &c->arg, &a, sizeof(a));
	if (a.abi_version != COWTRACK_ABI_VERSION || a.page_size != PG ||
	    a.max_size != max_size)
		mismatch(w, "version");
}

static void do_stop(struct worker *w, struct slot *sl)
{
	struct call *c = &w->cur;

	c->arg = gen_ptr(w, 8, false);
	if (!sl->created || !sl->logging)
		c->want = EBADFD;
	if (judge(w, ioctl(sl->fd, COWTRACK_STOP, (void *)(uintptr_t)c->arg.addr)) &&
	    !c->want)
		sl->logging = sl->cow = false;
}

/*
 * An ioctl number the module does not have. The types the VFS answers for
 * every file before the driver sees the call ('T': FIOCLEX and friends,
 * 'X' and 'f': freeze and inode flags, 0x94: clone ranges, 0: FIGETBSZ)
 * are left out: those are not the module's to refuse.
 */
static unsigned int bad_cmd(uint64_t *s)
{
	static const unsigned int ours[] = {
		COWTRACK_VERSION, COWTRACK_CREATE, COWTRACK_START,
		COWTRACK_GET_DIRTY_LOG, COWTRACK_READ_SNAPSHOT, COWTRACK_STATS,
		COWTRACK_STOP,
	};
	unsigned int cmd, type;
	size_t i;

	for (;;) {
		uint64_t r = below(s, 4);

		if (r == 0) {
			cmd = (unsigned int)rnd(s);
		} else if (r == 1) {
			/* Our magic, a number past ours, any direction and size. */
			cmd = _IOC((unsigned int)below(s, 4), COWTRACK_IOC_MAGIC,
				   7 + (unsigned int)below(s, 249),
				   (unsigned int)below(s, 1u << 14));
		} else {
			/* One of ours with its direction or size changed. */
			cmd = ours[below(s, sizeof(ours) / sizeof(ours[0]))];
			if (r == 2)
				cmd ^= (1u + (unsigned int)below(s, 3)) << _IOC_DIRSHIFT;
			else
				cmd ^= (1u + (unsigned int)below(s, (1u << 14) - 1))
				       << _IOC_SIZESHIFT;
		}
		type = _IOC_TYPE(cmd);
		if (type == 'T' || type == 'X' || type == 'f' || type == 0x94 ||
		    type == 0)
			continue;
		for (i = 0; i < sizeof(ours) / sizeof(ours[0]); i++)
			if (cmd == ours[i])
				break;
		if (i == sizeof(ours) / sizeof(ours[0]))
			return cmd;
	}
}

static void do_badcmd(struct worker *w, struct slot *sl)
{
	struct call *c = &w->cur;

	c->cmd = bad_cmd(&w->rng);
	c->arg = gen_ptr(w, 64, false);
	c->want = ENOTTY;
	judge(w, ioctl(sl->fd, c->cmd, (void *)(uintptr_t)c->arg.addr));
}

static void do_mmap(struct worker *w, struct slot *sl)
{
	struct call *c = &w->cur;
	uint64_t np = sl->npages ? sl->npages : 4, pages, off;
	bool shared = chance(&w->rng, 90), rw = chance(&w->rng, 85);
	struct mapping *m = &sl->map[below(&w->rng, MAPS)];
	size_t len;
	void *p;

	if (np > 4096)
		np = 4096;	/* map a part of a large context */
	off = chance(&w->rng, 85) ? below(&w->rng, np) : np + below(&w->rng, 3);
	pages = chance(&w->rng, 85) && off < np ?
		1 + below(&w->rng, np - off) : 1 + below(&w->rng, np + 2);
	len = (size_t)(pages * PG - (chance(&w->rng, 20) ? below(&w->rng, PG) : 0));
	c->f[0] = len;
	c->f[1] = off * PG;
	c->f[2] = shared;
	if (!sl->created)
		c->want = EBADFD;
	else if (!shared)
		c->want = EINVAL;
	else if (off >= sl->npages || pages > sl->npages - off)
		c->want = EINVAL;
	if (m->p) {
		munmap(m->p, m->len);
		m->p = NULL;
	}
	p = mmap(NULL, len, PROT_READ | (rw ? PROT_WRITE : 0),
		 shared ? MAP_SHARED : MAP_PRIVATE, sl->fd, (off_t)(off * PG));
	if (judge(w, p == MAP_FAILED ? -1 : 0) && !c->want) {
		m->p = p;
		m->len = (size_t)pages * PG;
		m->writable = rw;
	} else if (p != MAP_FAILED) {
		munmap(p, len);
	}
}

/* Write into a mapping; or unmap its head or all of it. */
static void do_ram(struct worker *w, struct slot *sl, bool unmap)
{
	struct mapping *m = NULL;
	size_t k, n, pages, start = below(&w->rng, MAPS);

	for (k = 0; k < MAPS && !m; k++)
		if (sl->map[(start + k) % MAPS].p)
			m = &sl->map[(start + k) % MAPS];
	if (!m)
		return;
	pages = m->len / PG;
	if (unmap) {
		k = chance(&w->rng, 50) ? pages : 1 + below(&w->rng, pages);
		w->calls[OP_MUNMAP]++;
		if (munmap(m->p, k * PG)) {
			w->cur.got = errno;
			mismatch(w, "munmap");
		}
		if (k == pages) {
			m->p = NULL;
		} else {
			m->p += k * PG;
			m->len -= k * PG;
		}
		return;
	}
	if (!m->writable)
		return;
	n = 1 + below(&w->rng, 8);
	for (k = 0; k < n; k++)
		m->p[below(&w->rng, pages) * PG + below(&w->rng, PG)] =
			(uint8_t)rnd(&w->rng);
	w->calls[OP_WRITE]++;
}

/* Hand a duplicate of the slot's file to the churn thread. */
static void do_share(struct worker *w, struct slot *sl)
{
	int fd = fcntl(sl->fd, F_DUPFD_CLOEXEC, 0);

	if (fd < 0)
		return;
	w->calls[OP_SHARE]++;
	pthread_mutex_lock(&handoff.lock);
	if (handoff.n < SHARED) {
		handoff.fd[handoff.n++] = fd;
		fd = -1;
	}
	pthread_mutex_unlock(&handoff.lock);
	if (fd >= 0)
		close(fd);
}

static void step(struct worker *w)
{
	int si = (int)below(&w->rng, SLOTS);
	struct slot *sl = &w->slot[si];
	uint64_t r = below(&w->rng, 1000);

	if (sl->fd < 0) {
		sl->fd = dev_open();
		if (sl->fd < 0)
			return;
	}
	if (r < 60) {
		begin(w, OP_VERSION, si, sl);
		do_version(w, sl);
	} else if (r < 160) {
		begin(w, OP_CREATE, si, sl);
		do_create(w, si, sl);
	} else if (r < 270) {
		begin(w, OP_START, si, sl);
		do_start(w, sl);
	} else if (r < 450) {
		begin(w, OP_DIRTY_LOG, si, sl);
		do_dirty_log(w, sl);
	} else if (r < 600) {
		begin(w, OP_SNAPSHOT, si, sl);
		do_snapshot(w, sl);
	} else if (r < 650) {
		begin(w, OP_STATS, si, sl);
		do_stats(w, sl);
	} else if (r < 700) {
		begin(w, OP_STOP, si, sl);
		do_stop(w, sl);
	} else if (r < 770) {
		begin(w, OP_BADCMD, si, sl);
		do_badcmd(w, sl);
	} else if (r < 840) {
		begin(w, OP_MMAP, si, sl);
		do_mmap(w, sl);
	} else if (r < 900) {
		begin(w, OP_WRITE, si, sl);
		do_ram(w, sl, false);
	} else if (r < 930) {
		begin(w, OP_MUNMAP, si, sl);
		do_ram(w, sl, true);
	} else if (r < 975) {
		begin(w, OP_SHARE, si, sl);
		do_share(w, sl);
	} else {
		begin(w, OP_CLOSE, si, sl);
		w->calls[OP_CLOSE]++;
		slot_reopen(w, sl);
	}
	/* After a mismatch the model is unsure: start the slot afresh. */
	if (w->cur.want != w->cur.got && w->cur.op < OP_MUNMAP)
		slot_reopen(w, sl);
}

/*
 * The worker's pointer zones: [zone1 rw][guard][ro][hole][zone2 rw][guard].
 * The hole stays PROT_NONE rather than unmapped, which the kernel's copies
 * see alike: a one-page gap would be filled by the next one-page mmap of
 * any thread. Unmapped addresses come from the low and top-of-user classes.
 * 0 or -errno.
 */
static int zones_map(struct worker *w)
{
	size_t total = ZONE1_PAGES + 3 + ZONE2_PAGES + 1;
	uint8_t *base = mmap(NULL, total * PG, PROT_NONE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int mfd;

	if (base == MAP_FAILED)
		return -errno;
	w->zone1 = base;
	w->guard1 = base + ZONE1_PAGES * PG;
	w->ro = w->guard1 + PG;
	w->hole = w->ro + PG;
	w->zone2 = w->hole + PG;
	w->guard2 = w->zone2 + ZONE2_PAGES * PG;
	if (mprotect(w->zone1, ZONE1_PAGES * PG, PROT_READ | PROT_WRITE) ||
	    mprotect(w->zone2, ZONE2_PAGES * PG, PROT_READ | PROT_WRITE))
		return -errno;
	/* The read-only page and a writable view of it, to place arguments. */
	mfd = (int)syscall(SYS_memfd_create, "cowtrack-fuzz-ro", 0u);
	if (mfd < 0 || ftruncate(mfd, PG))
		return -errno;
	w->ro_rw = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	if (w->ro_rw == MAP_FAILED ||
	    mmap(w->ro, PG, PROT_READ, MAP_SHARED | MAP_FIXED, mfd, 0) != w->ro)
		return -errno;
	close(mfd);
	return 0;
}

static void *worker_main(void *p)
{
	struct worker *w = p;
	size_t i, j;

	w->tid = (pid_t)syscall(SYS_gettid);
	for (i = 0; i < SLOTS; i++) {
		w->slot[i].fd = dev_open();
		slot_reset(&w->slot[i]);
	}
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		step(w);
		atomic_fetch_add_explicit(&w->steps, 1, memory_order_relaxed);
	}
	for (i = 0; i < SLOTS; i++) {
		for (j = 0; j < MAPS; j++)
			if (w->slot[i].map[j].p)
				munmap(w->slot[i].map[j].p, w->slot[i].map[j].len);
		if (w->slot[i].fd >= 0)
			close(w->slot[i].fd);
	}
	for (i = 0; i < ORPHANS; i++)
		if (w->orphan[i].p)
			munmap(w->orphan[i].p, w->orphan[i].len);
	atomic_store(&w->done, true);
	return NULL;
}

/* ---- the churn thread: mmap, write, fork, madvise, munmap, close ---- */

struct held {
	int fd;
	uint8_t *p;
	size_t len;
};

static void churn_note(const char *what, int e)
{
	if (!atomic_fetch_add(&churn.unexpected, 1))
		snprintf(churn.why, sizeof(churn.why), "%s: %s", what,
			 strerror(e));
}

static void *churn_main(void *arg)
{
	uint64_t s = seed ^ 0xc0ffee;
	struct held h[6] = { { -1, NULL, 0 } };
	size_t i, k, n;
	pid_t pid;
	int st;

	(void)arg;
	for (i = 0; i < 6; i++)
		h[i].fd = -1;
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		struct held *x = &h[below(&s, 6)];

		atomic_fetch_add(&churn.steps, 1);
		if (x->fd < 0) {
			pthread_mutex_lock(&handoff.lock);
			if (handoff.n)
				x->fd = handoff.fd[--handoff.n];
			pthread_mutex_unlock(&handoff.lock);
			if (x->fd < 0)
				usleep(200);
			continue;
		}
		if (!x->p) {
			/* The context may not be created, or smaller. */
			x->len = (1 + below(&s, 16)) * PG;
			x->p = mmap(NULL, x->len, PROT_READ | PROT_WRITE,
				    MAP_SHARED, x->fd, 0);
			atomic_fetch_add(&churn.mmaps, 1);
			if (x->p == MAP_FAILED) {
				x->p = NULL;
				if (errno != EBADFD && errno != EINVAL)
					churn_note("mmap", errno);
				close(x->fd);
				x->fd = -1;
				atomic_fetch_add(&churn.closes, 1);
			}
			continue;
		}
		switch (below(&s, 8)) {
		case 0: case 1: case 2:
			n = 1 + below(&s, 16);
			for (k = 0; k < n; k++)
				x->p[below(&s, x->len)] = (uint8_t)k;
			atomic_fetch_add(&churn.writes, 1);
			break;
		case 3:
			/* A child writes through the inherited mappings, exits. */
			pid = fork();
			if (pid == 0) {
				for (k = 0; k < 32; k++)
					x->p[(k * 7919 * 64) % x->len] = 1;
				_exit(0);
			}
			atomic_fetch_add(&churn.forks, 1);
			if (pid > 0 && waitpid(pid, &st, 0) == pid &&
			    !(WIFEXITED(st) && WEXITSTATUS(st) == 0))
				churn_note("forked writer died", EIO);
			break;
		case 4:
			if (madvise(x->p, x->len, MADV_DONTNEED))
				churn_note("madvise", errno);
			atomic_fetch_add(&churn.madvises, 1);
			break;
		case 5:
			/* Close first: the mapping keeps the context. */
			close(x->fd);
			x->fd = -1;
			atomic_fetch_add(&churn.closes, 1);
			/* fall through */
		default:
			if (munmap(x->p, x->len))
				churn_note("munmap", errno);
			x->p = NULL;
			atomic_fetch_add(&churn.munmaps, 1);
			break;
		}
		if (x->fd < 0 && x->p) {
			munmap(x->p, x->len);
			x->p = NULL;
		}
	}
	for (i = 0; i < 6; i++) {
		if (h[i].p)
			munmap(h[i].p, h[i].len);
		if (h[i].fd >= 0)
			close(h[i].fd);
	}
	pthread_mutex_lock(&handoff.lock);
	while (handoff.n)
		close(handoff.fd[--handoff.n]);
	pthread_mutex_unlock(&handoff.lock);
	return NULL;
}

/* ---- main ---- */

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

/* The first kernel frames of a stuck thread, on one line. */
static void kernel_stack(pid_t tid, char *out, size_t size)
{
	char path[64], buf[1024];
	ssize_t n;
	int fd, i;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stack", (int)tid);
	out[0] = '\0';
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	for (i = 0; i < n; i++)
		if (buf[i] == '\n')
			buf[i] = ' ';
	copy_str(out, size, "", buf);
}

static int result(const char *test, bool pass, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int result(const char *test, bool pass, const char *fmt, ...)
{
	char buf[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	printf("DBK RESULT %s %s %s %s\n", suite, test, pass ? "PASS" : "FAIL",
	       buf);
	fflush(stdout);
	return !pass;
}

static void usage(FILE *f, const char *argv0)
{
	fprintf(f,
		"Usage: %s [-s SUITE] [-t SECONDS] [-S SEED] [-w WORKERS]\n"
		"Random ioctl sequences against the cowtrack module (%s).\n"
		"  -t SECONDS  how long to run (default 20)\n"
		"  -S SEED     replay a run (default: from the clock, printed)\n"
		"  -w WORKERS  ioctl threads, 1 to %d (default 2)\n",
		argv0, COWTRACK_DEVICE, MAX_WORKERS);
}

int main(int argc, char **argv)
{
	struct cowtrack_version v;
	uint64_t t0, t1, total[OP_COUNT] = { 0 }, refused[NERRNO + 1] = { 0 };
	uint64_t ioctls = 0, calls = 0, mism = 0, last[MAX_WORKERS];
	uint64_t seconds = 20, since[MAX_WORKERS];
	const char *first = "";
	char dist[300], stack[300], why[400];
	pthread_t cth;
	size_t i, j, n;
	long held, ctxs;
	bool hung = false;
	int c, fd, rc = 0, err;

	seed = now_ns() ^ ((uint64_t)getpid() << 32);
	while ((c = getopt(argc, argv, "s:t:S:w:h")) != -1) {
		switch (c) {
		case 's':
			suite = optarg;
			break;
		case 't':
			seconds = strtoull(optarg, NULL, 0);
			break;
		case 'S':
			seed = strtoull(optarg, NULL, 0);
			break;
		case 'w':
			nworkers = (unsigned)strtoul(optarg, NULL, 0);
			if (nworkers < 1 || nworkers > MAX_WORKERS) {
				usage(stderr, argv[0]);
				return 2;
			}
			break;
		case 'h':
			usage(stdout, argv[0]);
			return 0;
		default:
			usage(stderr, argv[0]);
			return 2;
		}
	}
	printf("# cowtrack-fuzz: seed %#" PRIx64 ", %" PRIu64 " s, %u workers (replay: cowtrack-fuzz -S %#" PRIx64 " -t %" PRIu64 " -w %u)\n",
	       seed, seconds, nworkers, seed, seconds, nworkers);
	fflush(stdout);
	fd = open(COWTRACK_DEVICE, O_RDWR | O_CLOEXEC);
	if (fd < 0 || ioctl(fd, COWTRACK_VERSION, &v)) {
		return result("ioctl_loop", false, "seed=%#" PRIx64 " %s: %s",
			      seed, COWTRACK_DEVICE, strerror(errno));
	}
	close(fd);
	max_size = v.max_size;

	for (i = 0; i < nworkers; i++) {
		struct worker *w = &workers[i];

		w->id = (unsigned)i;
		w->rng = seed ^ (0x9e3779b97f4a7c15ull * (i + 1));
		err = zones_map(w);
		if (err)
			return result("ioctl_loop", false,
				      "seed=%#" PRIx64 " pointer zones: %s",
				      seed, strerror(-err));
	}
	t0 = now_ns();
	for (i = 0; i < nworkers; i++)
		if (pthread_create(&workers[i].th, NULL, worker_main, &workers[i]))
			return result("ioctl_loop", false, "pthread_create");
	if (pthread_create(&cth, NULL, churn_main, NULL))
		return result("ioctl_loop", false, "pthread_create");

	/* Watch: a worker whose step count stands still is stuck in a call. */
	for (i = 0; i < nworkers; i++) {
		last[i] = 0;
		since[i] = t0;
	}
	for (;;) {
		uint64_t t = now_ns();
		bool all = true;

		if (t - t0 >= seconds * 1000000000ull)
			atomic_store(&stop, true);
		for (i = 0; i < nworkers; i++)
			all &= atomic_load(&workers[i].done);
		if (all || hung)
			break;
		usleep(100000);
		for (i = 0; i < nworkers; i++) {
			uint64_t s = atomic_load(&workers[i].steps);

			if (s != last[i] || atomic_load(&workers[i].done)) {
				last[i] = s;
				since[i] = t;
			} else if (t - since[i] > STUCK_S * 1000000000ull) {
				hung = true;
				describe(&workers[i], why, sizeof(why));
				kernel_stack(workers[i].tid, stack, sizeof(stack));
				result("ioctl_loop", false,
				       "worker %zu stuck %d s in: %s; kernel stack: %s",
				       i, STUCK_S, why, stack);
				break;
			}
		}
	}
	atomic_store(&stop, true);
	if (hung) {
		/* The stuck thread cannot be joined: report and leave. */
		_exit(1);
	}
	for (i = 0; i < nworkers; i++)
		pthread_join(workers[i].th, NULL);
	pthread_join(cth, NULL);
	t1 = now_ns();

	for (i = 0; i < nworkers; i++) {
		struct worker *w = &workers[i];

		for (j = 0; j < OP_COUNT; j++)
			total[j] += w->calls[j];
		for (j = 0; j <= NERRNO; j++)
			refused[j] += w->refused[j];
		if (w->mismatches && !mism)
			first = w->first;
		mism += w->mismatches;
	}
	for (j = 0; j <= OP_STOP + 1; j++)
		ioctls += total[j];
	for (j = 0; j < OP_COUNT; j++)
		calls += total[j];
	printf("# calls:");
	for (j = 0; j < OP_COUNT; j++)
		printf(" %s=%" PRIu64, op_name[j], total[j]);
	printf("\n# churn: steps=%lu mmaps=%lu writes=%lu forks=%lu madvises=%lu munmaps=%lu closes=%lu\n",
	       atomic_load(&churn.steps), atomic_load(&churn.mmaps),
	       atomic_load(&churn.writes), atomic_load(&churn.forks),
	       atomic_load(&churn.madvises), atomic_load(&churn.munmaps),
	       atomic_load(&churn.closes));
	rc |= result("ioctl_loop", !atomic_load(&churn.unexpected),
		     "seed=%#" PRIx64 " seconds=%.1f calls=%" PRIu64 " ioctls=%" PRIu64 " calls_per_s=%.0f forks=%lu churn=%lu%s%s",
		     seed, (double)(t1 - t0) / 1e9, calls, ioctls,
		     (double)calls * 1e9 / (double)(t1 - t0),
		     atomic_load(&churn.forks), atomic_load(&churn.steps),
		     atomic_load(&churn.unexpected) ? " churn failed: " : "",
		     churn.why);
	rc |= result("errno_oracle", !mism, "mismatches=%" PRIu64 "%s%s", mism,
		     mism ? " first: " : "", first);
	n = 0;
	dist[0] = '\0';
	for (j = 0; j <= NERRNO; j++)
		n += (size_t)snprintf(dist + n, n < sizeof(dist) ? sizeof(dist) - n : 0,
				      "%s%s=%" PRIu64, j ? " " : "",
				      j < NERRNO ? errno_name[j] : "other",
				      refused[j]);
	rc |= result("refused_errnos", !refused[NERRNO], "%s", dist);

	/* Every file and mapping is gone: nothing may be held. */
	held = sysfs_long(SYSFS_DEV "pages_held");
	ctxs = sysfs_long(SYSFS_DEV "contexts");
	rc |= result("released", held == 0 && ctxs == 0,
		     "pages_held=%ld contexts=%ld", held, ctxs);
	return rc ? 1 : 0;
}
