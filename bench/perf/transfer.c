/*
 * dirtybench perf, section "transfer": how fast the harness migrates, next
 * to what this machine gives a plain program in the same run. Every
 * target is a ratio against a reference measured in this run; the TCP
 * references of T1 are taken right before each migration, so that both
 * see the same moment of a busy machine.
 *
 *   T1  512 MiB of random RAM, no workload, unlimited, loopback: HELLO to
 *       the destination resumed (its RAM set-up and the verification
 *       included) <= 1.10 x raw TCP of the same bytes into fresh memory;
 *       round 0 delivers >= 0.90 x raw TCP into memory written before.
 *   T2  a zero page costs no more than its 8-byte descriptor (<= 8.5 of a
 *       data page's 4104 bytes; a run of zero pages shares one); a
 *       mostly-zero 4 GiB guest migrates in <= 0.10 x the time its RAM
 *       takes at TCP-touched speed (its warm-up before round 0 left out),
 *       and the destination does not touch the zero pages.
 *   T6  downtime <= 1.2 x (bytes of the last round / measured bandwidth)
 *       + 5 ms, idle, busy and under a bandwidth limit.
 *
 * The references: one TCP stream over 127.0.0.1 between two processes
 * (the socket buffers the migration uses, 1 MiB reads) into a reused
 * buffer, into memory written before, into fresh memory, and into fresh
 * memory faulted in per MiB first, as the destination does; memcpy.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dirtybench/common.h"
#include "dirtybench/tracker.h"
#include "../cmd.h"
#include "base/compat.h"
#include "runner/run.h"
#include "runner/options.h"
#include "perf.h"
#include "engine/results.h"
#include "wire/transport.h"

#define MiB (1u << 20)
#define CHUNK MiB		/* bytes per recv() */

enum sink { SINK_REUSED, SINK_TOUCHED, SINK_FRESH, SINK_POPULATED, NSINKS };

static const char *const sink_name[NSINKS] = {
	"TCP into a reused buffer",
	"TCP into touched memory",
	"TCP into fresh memory",
	"TCP, fresh, faulted in first",
};
static const char *const sink_subject[NSINKS] = {
	"tcp-reused", "tcp-touched", "tcp-fresh", "tcp-populate",
};

/* The child: connect, wait for the go, send 'total' bytes in 1 MiB writes. */
static void sender(const char *addr, size_t total)
{
	int fd, bufsz = DB_CONN_BUFFER_BYTES;
	size_t off, n, sz = 4 * MiB;
	uint8_t *buf = malloc(sz);
	ssize_t w;
	char go;

	if (!buf || db_tcp_connect(addr, 5000000000ull, &fd))
		_exit(1);
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bufsz, sizeof(bufsz));
	memset(buf, 0x5a, sz);
	if (read(fd, &go, 1) != 1)
		_exit(1);
	for (off = 0; off < total; off += (size_t)w) {
		n = DB_MIN(total - off, (size_t)CHUNK);
		w = send(fd, buf + off % sz, n, MSG_NOSIGNAL);
		if (w <= 0)
			_exit(1);
	}
	_exit(0);
}

/*
 * One stream of 'total' bytes into 'kind' of memory: bytes per second.
 * The sender is forked before the sink is touched, so that the sink's
 * pages are not shared copy-on-write with it.
 */
static int tcp_stream(size_t total, enum sink kind, double *bps)
{
	int lfd, rfd = -1, err, st, bufsz = DB_CONN_BUFFER_BYTES;
	uint8_t *mem = MAP_FAILED;
	uint16_t port;
	char addr[32];
	uint64_t t0;
	size_t off, n, len = kind == SINK_REUSED ? CHUNK : total;
	ssize_t got;
	pid_t pid;

	err = db_tcp_listen("127.0.0.1:0", &lfd, &port);
	if (err)
		return err;
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", port);
	pid = fork();
	if (pid < 0) {
		close(lfd);
		return db_error_errno(-errno, "perf: fork for the TCP reference");
	}
	if (pid == 0) {
		close(lfd);
		sender(addr, total);
	}
	err = db_tcp_accept(lfd, 5000000000ull, &rfd);
	close(lfd);
	if (!err) {
		setsockopt(rfd, SOL_SOCKET, SO_RCVBUF, &bufsz, sizeof(bufsz));
		mem = mmap(NULL, len, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (mem == MAP_FAILED)
			err = db_error_errno(-errno, "perf: mmap for the TCP reference");
	}
	if (!err) {
		madvise(mem, len, MADV_NOHUGEPAGE);	/* as the destination's RAM */
		if (kind == SINK_REUSED || kind == SINK_TOUCHED)
			memset(mem, 1, len);
		t0 = db_now_ns();
		if (write(rfd, "g", 1) != 1)
			err = db_error_errno(-errno, "perf: TCP reference");
	}
	for (off = 0; !err && off < total; off += (size_t)got) {
		n = DB_MIN(total - off, (size_t)CHUNK);
		if (kind == SINK_POPULATED)
			madvise(mem + off, n, MADV_POPULATE_WRITE);
		got = recv(rfd, kind == SINK_REUSED ? mem : mem + off, n, MSG_WAITALL);
		if (got <= 0)
			err = db_error(-EIO, "perf: the TCP reference stream broke");
	}
	if (!err)
		*bps = (double)total * 1e9 / (double)(db_now_ns() - t0);
	else
		kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	if (rfd >= 0)
		close(rfd);
	if (mem != MAP_FAILED)
		munmap(mem, len);
	return err;
}

/*
 * What two of the ideas for filling fresh memory faster could give at
 * best, measured on a plain program: 'nstreams' TCP connections, each with
 * its own sender process and receiving thread, into fresh memory (QEMU's
 * multifd does this), and the destination's memory in transparent huge
 * pages (one fault per 2 MiB instead of 512).
 */
struct rx {
	pthread_t thr;
	int fd, err;
	uint8_t *mem;
	size_t len;
};

static void *rx_main(void *arg)
{
	struct rx *x = arg;
	size_t off, n;
	ssize_t got;

	for (off = 0; off < x->len; off += (size_t)got) {
		n = DB_MIN(x->len - off, (size_t)CHUNK);
		got = recv(x->fd, x->mem + off, n, MSG_WAITALL);
		if (got <= 0) {
			x->err = -EIO;
			break;
		}
	}
	return NULL;
}

#define MAX_STREAMS 4

static int tcp_multi(size_t total, unsigned nstreams, bool huge, double *bps)
{
	int lfd, err = 0, st, bufsz = DB_CONN_BUFFER_BYTES;
	struct rx x[MAX_STREAMS] = { 0 };
	pid_t pid[MAX_STREAMS];
	size_t share = total / nstreams;
	uint8_t *mem = MAP_FAILED;
	unsigned k, started = 0, forked = 0;
	uint16_t port;
	char addr[32];
	uint64_t t0;

	err = db_tcp_listen("127.0.0.1:0", &lfd, &port);
	if (err)
		return err;
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", port);
	for (k = 0; k < nstreams; k++)
		x[k].fd = -1;
	for (k = 0; !err && k < nstreams; k++) {
		pid[k] = fork();
		if (pid[k] < 0) {
			err = db_error_errno(-errno, "perf: fork for the TCP reference");
			break;
		}
		if (pid[k] == 0) {
			close(lfd);
			sender(addr, share);
		}
		forked++;
		err = db_tcp_accept(lfd, 5000000000ull, &x[k].fd);
		if (!err)
			setsockopt(x[k].fd, SOL_SOCKET, SO_RCVBUF, &bufsz, sizeof(bufsz));
	}
	close(lfd);
	if (!err) {
		mem = mmap(NULL, share * nstreams, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (mem == MAP_FAILED)
			err = db_error_errno(-errno, "perf: mmap for the TCP reference");
		else
			madvise(mem, share * nstreams, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	}
	t0 = db_now_ns();
	for (k = 0; !err && k < nstreams; k++) {
		x[k].mem = mem + k * share;
		x[k].len = share;
		if (write(x[k].fd, "g", 1) != 1 ||
		    pthread_create(&x[k].thr, NULL, rx_main, &x[k])) {
			err = db_error(-EIO, "perf: TCP reference stream %u", k);
			break;
		}
		started++;
	}
	for (k = 0; k < started; k++) {
		pthread_join(x[k].thr, NULL);
		if (x[k].err && !err)
			err = db_error(-EIO, "perf: the TCP reference stream broke");
	}
	if (!err)
		*bps = (double)(share * nstreams) * 1e9 / (double)(db_now_ns() - t0);
	for (k = 0; k < forked; k++) {
		if (err)
			kill(pid[k], SIGKILL);
		waitpid(pid[k], &st, 0);
	}
	for (k = 0; k < nstreams; k++)
		if (x[k].fd >= 0)
			close(x[k].fd);
	if (mem != MAP_FAILED)
		munmap(mem, share * nstreams);
	return err;
}

static double memcpy_bps(size_t total)
{
	uint8_t *a = malloc(total), *b = malloc(total);
	double v[3];
	uint64_t t0;
	unsigned i;

	if (!a || !b) {
		free(a);
		free(b);
		return -1;
	}
	memset(a, 1, total);
	memset(b, 2, total);
	for (i = 0; i < 3; i++) {
		t0 = db_now_ns();
		memcpy(b, a, total);
		v[i] = (double)total * 1e9 / (double)(db_now_ns() - t0 + 1);
	}
	free(a);
	free(b);
	return perf_median(v, 3);
}

/* Nanoseconds for one xxh3-128 of 'total' bytes of random data (median of 3). */
static double xxh3_ns(size_t total)
{
	uint64_t *a = malloc(total), x = 0x9e3779b97f4a7c15ull, t0;
	volatile uint64_t sink = 0;
	struct db_hash128 h;
	double v[3];
	size_t i;

	if (!a)
		return -1;
	for (i = 0; i < total / 8; i++) {	/* xorshift: incompressible */
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		a[i] = x;
	}
	for (i = 0; i < 3; i++) {
		t0 = db_now_ns();
		h = db_hash128(a, total);
		v[i] = (double)(db_now_ns() - t0);
		sink += h.lo;
	}
	(void)sink;
	free(a);
	return perf_median(v, 3);
}

/* ---- migrations ------------------------------------------------------ */

static uint64_t status_kb(const char *key)
{
	char buf[4096], *p;

	if (db_read_file("/proc/self/status", buf, sizeof(buf)) <= 0 ||
	    !(p = strstr(buf, key)))
		return 0;
	return strtoull(p + strlen(key), NULL, 10);
}

int perf_migrate(const struct db_run_config *cfg, struct perf_mig *m)
{
	struct db_result res;
	char self[1024];
	const struct db_round *last;
	int err, st;

	memset(m, 0, sizeof(*m));
	err = db_cmd_self_exe(self, sizeof(self));
	if (err)
		return err;
	/* the peak RSS from here on (VmHWM reset) */
	db_write_file("/proc/self/clear_refs", "5");
	db_result_init(&res, cfg, DB_ROLE_SRC);
	err = db_run_local(cfg, self, &res);
	if (err) {
		db_result_free(&res);
		return err;
	}
	st = db_result_exit_status(&res);
	if (st || !res.resumed || !res.nr) {
		err = db_error(-ECONNABORTED, "%s: %.300s", db_outcome_name(res.outcome),
			       res.error);
		db_result_free(&res);
		return err;
	}
	last = &res.r[res.nr - 1];
	/* the guest's warm-up before round 0 is not the migration's */
	m->total_ns = (double)(res.resumed_at_ns + res.start_mono_ns - res.hello_mono_ns -
			       res.warmup_ns);
	m->verify_ns = (double)res.verify_ns;
	m->downtime_ns = (double)res.downtime_ns;
	m->round0_ns = (double)res.r[0].send_ns;
	m->round0_bytes = (double)res.r[0].bytes;
	m->last_bytes = (double)last->bytes;
	m->bandwidth_bps = res.bandwidth_measured_bps / 8;	/* bytes/s */
	m->bytes_total = (double)res.bytes_total;
	m->pages = (double)res.pages_sent;
	m->zero_pages = (double)res.zero_pages;
	m->rounds = res.rounds;
	m->src_rss = (double)status_kb("VmHWM:") * 1024;
	m->dst_rss = (double)res.dst_maxrss_bytes;
	db_result_free(&res);
	return 0;
}

/* 1.2 x (last round's bytes / measured bandwidth) + 5 ms */
static double downtime_bound(const struct perf_mig *m)
{
	return 1.2 * (m->bandwidth_bps > 0 ? m->last_bytes / m->bandwidth_bps * 1e9 : 0) +
	       5e6;
}

const char *mib(uint64_t bytes, char *buf, size_t len)
{
	snprintf(buf, len, "%lluM", (unsigned long long)(bytes >> 20));
	return buf;
}

int perf_config(struct db_run_config *cfg, const char *ram, const char *workload)
{
	const struct db_tracker_ops *ops;
	char why[256];

	db_run_config_defaults(cfg);
	cfg->quiet = true;
	if (db_option_set(cfg, "ram", ram) || db_option_set(cfg, "workload", workload))
		return db_error(-EINVAL, "perf: %s", db_strerror());
	ops = db_tracker_find(cfg->tracker);
	if (!ops || ops->probe(why, sizeof(why)))	/* the default cannot run */
		db_option_set(cfg, "tracker", "hash");
	return db_run_config_check(cfg, DB_OPT_RUN);
}

/* A migration that did not complete: the row says why; exit status 4. */
int perf_failed(struct perf_run *r, const char *subject, uint64_t ram)
{
	fprintf(stderr, "dirtybench perf: %s: %s\n", subject, db_strerror());
	perf_add(r, subject, ram, NULL, -1, NULL, -1, db_strerror());
	return DB_EXIT_ABORTED;
}

#define MAX_REPS 15

/*
 * Samples of repeated migrations of one configuration, and of the TCP
 * references taken right before each of them (so that a figure and its
 * reference see the same moment of a busy machine).
 */
struct mig_samples {
	unsigned n;
	double total[MAX_REPS], rate[MAX_REPS], down[MAX_REPS], bound[MAX_REPS];
	double verify[MAX_REPS], dst_rss[MAX_REPS], zero_wire[MAX_REPS];
	double fresh_bps[MAX_REPS], touched_bps[MAX_REPS];	/* 0: not taken */
	struct perf_mig last;
};

/*
 * A virtual machine with free page reporting hands free memory back to
 * its host about two seconds after it is freed, and the next write to it
 * costs a host fault per page: faulting 512 MiB in took 1.0-1.4 s instead
 * of 0.14-0.3 s here whenever a reference or a migration drew such
 * memory (docs/performance.md, "The machine, first"). Writing 'bytes' and
 * freeing them right before leaves memory the host backs at the head of
 * the free lists, so that the references and the migration after them
 * find the same kind.
 */
static void warm_free_memory(size_t bytes)
{
	long psz = sysconf(_SC_PAGESIZE);
	uint8_t *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	size_t off;

	if (p == MAP_FAILED)
		return;		/* only a steadier figure is lost */
	for (off = 0; off < bytes; off += (size_t)psz)
		p[off] = 1;
	munmap(p, bytes);
}

/* n migrations of cfg; with refs, a TCP stream of 'ref_bytes' into fresh
 * and into touched memory before each, after warm_free_memory() of
 * enough for both ends of the migration and a reference. */
static int migrate_n(const struct db_run_config *cfg, unsigned n, bool refs,
		     size_t ref_bytes, struct mig_samples *s)
{
	struct perf_mig *m = &s->last;
	unsigned i;
	int err;

	memset(s, 0, sizeof(*s));
	n = DB_MIN(n, (unsigned)MAX_REPS);
	for (i = 0; i < n; i++) {
		if (refs) {
			warm_free_memory(3 * ref_bytes);
			err = tcp_stream(ref_bytes, SINK_FRESH, &s->fresh_bps[i]);
			if (!err)
				err = tcp_stream(ref_bytes, SINK_TOUCHED, &s->touched_bps[i]);
			if (err)
				return err;
		}
		err = perf_migrate(cfg, m);
		if (err)
			return err;
		s->total[i] = m->total_ns;
		s->rate[i] = m->round0_bytes * 1e9 / DB_MAX(m->round0_ns, 1);
		s->down[i] = m->downtime_ns;
		s->bound[i] = downtime_bound(m);
		s->verify[i] = m->verify_ns;
		s->dst_rss[i] = m->dst_rss;
		s->zero_wire[i] = (m->bytes_total - (m->pages - m->zero_pages) *
				   (DB_PAGE_SIZE + 8)) / DB_MAX(m->zero_pages, 1);
		s->n = i + 1;
	}
	return 0;
}

/* bytes at each of n rates: the times they take */
static void times_at(double bytes, const double *bps, unsigned n, double *ns)
{
	unsigned i;

	for (i = 0; i < n; i++)
		ns[i] = bps[i] > 0 ? bytes * 1e9 / bps[i] : 0;
}

static const struct perf_target t1_time = { "T1", PERF_RATIO_MAX, 1.10 };
static const struct perf_target t1_rate = { "T1", PERF_RATIO_MIN, 0.9 };
static const struct perf_target t2_time = { "T2", PERF_RATIO_MAX, 0.10 };
/* 8.5 of the 4104 bytes a page with data costs */
static const struct perf_target t2_wire = { "T2", PERF_RATIO_MAX, 8.5 / (DB_PAGE_SIZE + 8) };
static const struct perf_target t2_rss = { "T2", PERF_RATIO_MAX, 0.05 };
static const struct perf_target t6 = { "T6", PERF_RATIO_MAX, 1.0 };

static void downtime_row(struct perf_run *r, const char *subject,
			 const struct mig_samples *s, uint64_t ram)
{
	perf_add_samples(r, subject, ram, "downtime_ns", s->down, s->n,
			 "1.2 x last/bandwidth + 5 ms", s->bound, s->n, NULL, &t6);
}

int perf_transfer(struct perf_run *r)
{
	size_t ram = r->quick ? 32 * MiB : 512 * MiB;
	unsigned reps = perf_reps(r, 3, 7), tcp_reps = perf_reps(r, 3, 5), i, k;
	static const enum sink others[] = { SINK_REUSED, SINK_POPULATED };
	static struct mig_samples s, z;
	struct db_run_config cfg, lazy;
	double v[MAX_REPS], ref[MAX_REPS], tcp_pop = 0, mc, zero_ram, xh, page;
	char sz[32], note[200];
	int err;

	/* references without a target of their own */
	mc = memcpy_bps(ram);
	perf_add(r, "memcpy", ram, mc > 0 ? "bytes_per_s" : NULL, mc, NULL, -1,
		 mc > 0 ? NULL : "skipped: no memory for the memcpy reference");
	xh = xxh3_ns(ram);
	perf_add(r, "xxh3-128", ram, xh > 0 ? "hash_ns" : NULL, xh, NULL, -1,
		 xh > 0 ? NULL : "skipped: no memory for the checksum reference");
	for (k = 0; k < DB_ARRAY_SIZE(others); k++) {
		for (i = 0; i < tcp_reps; i++) {
			err = tcp_stream(ram, others[k], &v[i]);
			if (err) {
				perf_add(r, "loopback", ram, NULL, -1, NULL, -1, db_strerror());
				return DB_EXIT_RESOURCE;
			}
		}
		perf_add_samples(r, sink_subject[others[k]], ram, "bytes_per_s", v,
				 tcp_reps, "memcpy", &mc, mc > 0, NULL, NULL);
		if (others[k] == SINK_POPULATED)
			tcp_pop = perf_median(v, tcp_reps);
	}

	/* T1 and T6, idle: each migration right after its two TCP references */
	err = perf_config(&cfg, mib(ram, sz, sizeof(sz)), "none");
	if (!err)
		err = migrate_n(&cfg, reps, true, ram, &s);
	if (err)
		return perf_failed(r, "migration", ram);
	perf_add_samples(r, sink_subject[SINK_FRESH], ram, "bytes_per_s", s.fresh_bps,
			 s.n, "memcpy", &mc, mc > 0, NULL, NULL);
	perf_add_samples(r, sink_subject[SINK_TOUCHED], ram, "bytes_per_s",
			 s.touched_bps, s.n, "memcpy", &mc, mc > 0, NULL, NULL);
	times_at((double)ram, s.fresh_bps, s.n, ref);
	perf_add_samples(r, "migration", ram, "migration_ns", s.total, s.n,
			 sink_name[SINK_FRESH], ref, s.n, NULL, &t1_time);
	snprintf(note, sizeof(note),
		 "the destination faults its RAM in at the HELLO, in migration_ns; TCP into fresh memory faulted in first: %.2f GB/s",
		 tcp_pop / 1e9);
	perf_add_samples(r, "migration", ram, "round0_bytes_per_s", s.rate, s.n,
			 sink_name[SINK_TOUCHED], s.touched_bps, s.n, note, &t1_rate);
	perf_add_samples(r, "migration", ram, "verify_ns", s.verify, s.n,
			 "xxh3-128 of the RAM", &xh, xh > 0,
			 "the destination's whole verification against one bare checksum of its RAM", NULL);
	downtime_row(r, "idle", &s, ram);
	/* the ceiling of two ideas for fresh memory, on a plain program */
	for (k = 0; k < 2; k++) {
		for (i = 0; i < tcp_reps; i++) {
			err = tcp_multi(ram, k ? 1 : 2, k == 1, &v[i]);
			if (err) {
				perf_add(r, "loopback", ram, NULL, -1, NULL, -1, db_strerror());
				return DB_EXIT_RESOURCE;
			}
		}
		perf_add_samples(r, k ? "tcp-fresh-thp" : "tcp-fresh-2", ram, "bytes_per_s", v,
				 tcp_reps, sink_name[SINK_FRESH], s.fresh_bps, s.n,
				 k ? "one stream into fresh memory in transparent huge pages" :
				 "two streams, two sender processes, two receiving threads, into fresh memory",
				 NULL);
	}
	/*
	 * The same with the destination's RAM left fresh until its pages come
	 * (--dest-prefault off): each batch's pages faulted in during round 0.
	 */
	lazy = cfg;
	lazy.dest_prefault = DB_PREFAULT_OFF;
	err = migrate_n(&lazy, perf_reps(r, 3, 5), true, ram, &z);
	if (err)
		return perf_failed(r, "dst lazy", ram);
	times_at((double)ram, z.fresh_bps, z.n, ref);
	perf_add_samples(r, "dst lazy", ram, "migration_ns", z.total, z.n,
			 sink_name[SINK_FRESH], ref, z.n,
			 "--dest-prefault off: fresh pages faulted in as they come", NULL);
	perf_add_samples(r, "dst lazy", ram, "round0_bytes_per_s", z.rate, z.n,
			 sink_name[SINK_TOUCHED], z.touched_bps, z.n, NULL, NULL);

	/*
	 * T2: zero pages, a mostly-zero guest, against the time its RAM takes
	 * at the speed of TCP into touched memory (the idle run's samples,
	 * scaled to its size).
	 */
	zero_ram = r->quick ? 1024.0 * MiB : 4096.0 * MiB;
	err = perf_config(&cfg, mib((uint64_t)zero_ram, sz, sizeof(sz)),
			  "dirtyram:dirty=64,period=10,pattern=random");
	if (!err)
		err = db_option_set(&cfg, "fill", "zero");
	if (!err)
		err = migrate_n(&cfg, perf_reps(r, 3, 5), false, 0, &z);
	if (err)
		return perf_failed(r, "zero guest", (uint64_t)zero_ram);
	times_at(zero_ram, s.touched_bps, s.n, ref);
	perf_add_samples(r, "zero guest", (uint64_t)zero_ram, "migration_ns", z.total,
			 z.n, "its RAM at TCP-touched speed", ref, s.n, NULL, &t2_time);
	page = DB_PAGE_SIZE + 8;
	perf_add_samples(r, "zero guest", (uint64_t)zero_ram, "bytes_per_zero_page",
			 z.zero_wire, z.n, "a page with data", &page, 1, NULL, &t2_wire);
	perf_add_samples(r, "zero guest", (uint64_t)zero_ram, "dst_rss_bytes", z.dst_rss,
			 z.n, "guest RAM", &zero_ram, 1, NULL, &t2_rss);

	/* T6 with a workload, unlimited and under the sender's token bucket */
	err = perf_config(&cfg, r->quick ? "32M" : "256M",
			  "dirtyram:dirty=256,period=5,pattern=random");
	if (!err)
		err = migrate_n(&cfg, perf_reps(r, 3, 5), false, 0, &z);
	if (err)
		return perf_failed(r, "busy", cfg.ram_bytes);
	downtime_row(r, "busy", &z, cfg.ram_bytes);
	err = perf_config(&cfg, r->quick ? "16M" : "64M", "none");
	if (!err)
		err = db_option_set(&cfg, "bandwidth", "320mbit");
	if (!err)
		err = db_model_check_config(&cfg, 0.5);
	if (!err)
		err = migrate_n(&cfg, perf_reps(r, 3, 5), false, 0, &z);
	if (err)
		return perf_failed(r, "320 Mbit/s", cfg.ram_bytes);
	downtime_row(r, "320 Mbit/s", &z, cfg.ram_bytes);
	return 0;
}
