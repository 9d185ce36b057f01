// SPDX-License-Identifier: MIT
/*
 * dirtybench perf, section "transfer": how fast the harness migrates, next
 * to what this machine gives a plain program in the same run.
 *
 *   T1  512 MiB of random RAM, no workload, unlimited, loopback: HELLO to
 *       the destination resumed (its RAM set-up and the verification
 *       included) <= 600 ms; round 0 delivers >= 90% of raw loopback TCP
 *       into memory written before.
 *   T2  a zero page costs its 8-byte descriptor and nothing else; a
 *       mostly-zero 4 GiB guest migrates in <= 500 ms, and the
 *       destination does not touch the zero pages.
 *   T6  downtime <= 1.2 x (bytes of the last round / measured bandwidth)
 *       + 5 ms, idle, busy and under a bandwidth limit.
 *
 * The references: one TCP stream over 127.0.0.1 between two processes
 * (the socket buffers the migration uses, 1 MiB reads) into a reused
 * buffer, into memory written before, into fresh memory, and into fresh
 * memory faulted in per MiB first, as the destination does; memcpy.
 */
#include <errno.h>
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
	m->total_ns = (double)(res.resumed_at_ns + res.start_mono_ns - res.hello_mono_ns);
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

/* n migrations of cfg; the medians of each figure go to *med. */
static int migrate_n(struct perf_run *r, const struct db_run_config *cfg,
		     unsigned n, const char *what, struct perf_mig *med,
		     double *bound)
{
	struct perf_mig m[7];
	double v[7][6];
	unsigned i, j;
	int err;

	n = DB_MIN(n, 7u);
	for (i = 0; i < n; i++) {
		err = perf_migrate(cfg, &m[i]);
		if (err)
			return err;
		v[i][0] = m[i].total_ns;
		v[i][1] = m[i].round0_bytes * 1e9 / DB_MAX(m[i].round0_ns, 1);
		v[i][2] = m[i].downtime_ns;
		v[i][3] = downtime_bound(&m[i]);
		v[i][4] = m[i].verify_ns;
		v[i][5] = m[i].dst_rss;
	}
	*med = m[n / 2];
	for (j = 0; j < 6; j++) {
		double c[7];

		for (i = 0; i < n; i++)
			c[i] = v[i][j];
		v[0][j] = perf_median(c, n);
	}
	med->total_ns = v[0][0];
	med->round0_ns = med->round0_bytes * 1e9 / v[0][1];
	med->downtime_ns = v[0][2];
	*bound = v[0][3];
	med->verify_ns = v[0][4];
	med->dst_rss = v[0][5];
	return 0;
}

/* A migration that did not complete: the row says why; exit status 4. */
int perf_failed(struct perf_run *r, const char *subject, uint64_t ram)
{
	fprintf(stderr, "dirtybench perf: %s: %s\n", subject, db_strerror());
	perf_add(r, subject, ram, NULL, -1, NULL, -1, db_strerror());
	return DB_EXIT_ABORTED;
}

static const struct perf_target t1_time = { "T1", PERF_VALUE_MAX, 600e6 };
static const struct perf_target t1_rate = { "T1", PERF_RATIO_MIN, 0.9 };
static const struct perf_target t2_time = { "T2", PERF_VALUE_MAX, 500e6 };
static const struct perf_target t2_wire = { "T2", PERF_VALUE_MAX, 8.5 };
static const struct perf_target t2_rss = { "T2", PERF_RATIO_MAX, 0.05 };
static const struct perf_target t6 = { "T6", PERF_RATIO_MAX, 1.0 };

static void downtime_row(struct perf_run *r, const char *subject,
			 const struct perf_mig *m, double bound, uint64_t ram)
{
	perf_add_target(r, subject, ram, "downtime_ns", m->downtime_ns,
			"1.2 x last/bandwidth + 5 ms", bound, NULL, &t6);
}

int perf_transfer(struct perf_run *r)
{
	size_t ram = r->quick ? 32 * MiB : 512 * MiB;
	unsigned reps = r->quick ? 1 : 5, tcp_reps = r->quick ? 1 : 3, i, k;
	struct db_run_config cfg;
	struct perf_mig m;
	double tcp[NSINKS], v[5], mc, bound, zero_ram, xh;
	char sz[32], ref[64], note[160];
	int err;

	/* references */
	mc = memcpy_bps(ram);
	perf_add(r, "memcpy", ram, mc > 0 ? "bytes_per_s" : NULL, mc, NULL, -1,
		 mc > 0 ? NULL : "skipped: no memory for the memcpy reference");
	xh = xxh3_ns(ram);
	perf_add(r, "xxh3-128", ram, xh > 0 ? "hash_ns" : NULL, xh, NULL, -1,
		 xh > 0 ? NULL : "skipped: no memory for the checksum reference");
	for (k = 0; k < NSINKS; k++) {
		for (i = 0; i < tcp_reps; i++) {
			err = tcp_stream(ram, (enum sink)k, &v[i]);
			if (err) {
				perf_add(r, "loopback", ram, NULL, -1, NULL, -1, db_strerror());
				return DB_EXIT_RESOURCE;
			}
		}
		tcp[k] = perf_median(v, tcp_reps);
		perf_add(r, sink_subject[k], ram, "bytes_per_s", tcp[k], "memcpy", mc,
			 NULL);
	}
	/* T1 and T6, idle */
	err = perf_config(&cfg, mib(ram, sz, sizeof(sz)), "none");
	if (!err)
		err = migrate_n(r, &cfg, reps, "migration", &m, &bound);
	if (err)
		return perf_failed(r, "migration", ram);
	snprintf(ref, sizeof(ref), "%s", sink_name[SINK_FRESH]);
	perf_add_target(r, "migration", ram, "migration_ns", m.total_ns, ref,
			(double)ram * 1e9 / tcp[SINK_FRESH], NULL, &t1_time);
	snprintf(note, sizeof(note),
		 "into fresh RAM: TCP reaches %.2f GB/s there even faulted in first; the send path alone is the 'dst touched' row",
		 tcp[SINK_POPULATED] / 1e9);
	perf_add_target(r, "migration", ram, "round0_bytes_per_s",
			m.round0_bytes * 1e9 / m.round0_ns, sink_name[SINK_TOUCHED],
			tcp[SINK_TOUCHED], note, &t1_rate);
	perf_add(r, "migration", ram, "round0_bytes_per_s",
		 m.round0_bytes * 1e9 / m.round0_ns, sink_name[SINK_POPULATED],
		 tcp[SINK_POPULATED], NULL);
	perf_add(r, "migration", ram, "verify_ns", m.verify_ns, "xxh3-128 of the RAM",
		 xh, "the destination's whole verification against one bare checksum of its RAM");
	downtime_row(r, "idle", &m, bound, ram);
	/* the same with the destination's RAM faulted in before round 0 */
	setenv("DIRTYBENCH_DEST_PREFAULT", "1", 1);
	err = migrate_n(r, &cfg, r->quick ? 1 : 3, "prefaulted", &m, &bound);
	unsetenv("DIRTYBENCH_DEST_PREFAULT");
	if (err)
		return perf_failed(r, "prefaulted", ram);
	perf_add_target(r, "dst touched", ram, "round0_bytes_per_s",
			m.round0_bytes * 1e9 / m.round0_ns, sink_name[SINK_TOUCHED],
			tcp[SINK_TOUCHED], NULL, &t1_rate);

	/* T2: zero pages, a mostly-zero guest */
	zero_ram = r->quick ? 1024.0 * MiB : 4096.0 * MiB;
	err = perf_config(&cfg, mib((uint64_t)zero_ram, sz, sizeof(sz)),
			  "dirtyram:dirty=64,period=10,pattern=random");
	if (!err)
		err = db_option_set(&cfg, "fill", "zero");
	if (!err)
		err = migrate_n(r, &cfg, r->quick ? 1 : 3, "zero guest", &m, &bound);
	if (err)
		return perf_failed(r, "zero guest", (uint64_t)zero_ram);
	perf_add_target(r, "zero guest", (uint64_t)zero_ram, "migration_ns", m.total_ns,
			"its RAM at TCP-touched speed", zero_ram * 1e9 / tcp[SINK_TOUCHED],
			NULL, &t2_time);
	perf_add_target(r, "zero guest", (uint64_t)zero_ram, "bytes_per_zero_page",
			(m.bytes_total - (m.pages - m.zero_pages) * (DB_PAGE_SIZE + 8)) /
			DB_MAX(m.zero_pages, 1), "a page with data", DB_PAGE_SIZE + 8,
			NULL, &t2_wire);
	perf_add_target(r, "zero guest", (uint64_t)zero_ram, "dst_rss_bytes", m.dst_rss,
			"guest RAM", zero_ram, NULL, &t2_rss);

	/* T6 with a workload, unlimited and under the sender's token bucket */
	err = perf_config(&cfg, r->quick ? "32M" : "256M",
			  "dirtyram:dirty=256,period=5,pattern=random");
	if (!err)
		err = migrate_n(r, &cfg, r->quick ? 1 : 3, "busy", &m, &bound);
	if (err)
		return perf_failed(r, "busy", cfg.ram_bytes);
	downtime_row(r, "busy", &m, bound, cfg.ram_bytes);
	err = perf_config(&cfg, r->quick ? "16M" : "64M", "none");
	if (!err)
		err = db_option_set(&cfg, "bandwidth", "320mbit");
	if (!err)
		err = db_model_check_config(&cfg, 0.5);
	if (!err)
		err = migrate_n(r, &cfg, r->quick ? 1 : 3, "limited", &m, &bound);
	if (err)
		return perf_failed(r, "320 Mbit/s", cfg.ram_bytes);
	downtime_row(r, "320 Mbit/s", &m, bound, cfg.ram_bytes);
	return 0;
}
