// SPDX-License-Identifier: MIT
/*
 * dirtybench perf, section "memory" (T5): the peak resident set of the
 * source and the destination of a 512 MiB migration against guest RAM
 * (at most 2.2 x; 2.3 x for a 4 GiB guest), and what 20 migrations of the
 * 4 GiB guest in one process leave behind:
 * the heap in use and the resident set must not grow from one migration
 * to the next, and the heap must not grow with the pages in flight (no
 * allocation per page or per frame while the pages stream).
 */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dirtybench/common.h"
#include "../cmd.h"
#include "engine/engine.h"
#include "runner/options.h"
#include "perf.h"
#include "engine/results.h"
#include "wire/transport.h"

#define MiB (1u << 20)

static const struct perf_target t5_rss = { "T5", PERF_RATIO_MAX, 2.2 };
/* a multi-GiB guest: the binary and bitmaps matter less, the page tables more */
static const struct perf_target t5_rss_big = { "T5", PERF_RATIO_MAX, 2.3 };
static const struct perf_target t5_heap = { "T5", PERF_VALUE_MAX, 64 * 1024 };
static const struct perf_target t5_resident = { "T5", PERF_VALUE_MAX, 1 * MiB };
static const struct perf_target t5_peak = { "T5", PERF_VALUE_MAX, 256 * 1024 };

static double heap_bytes(void)
{
	struct mallinfo2 mi = mallinfo2();

	return (double)(mi.uordblks + mi.hblkhd);
}

static double resident_bytes(void)
{
	char buf[128];
	unsigned long size, res;

	if (db_read_file("/proc/self/statm", buf, sizeof(buf)) <= 0 ||
	    sscanf(buf, "%lu %lu", &size, &res) != 2)
		return 0;
	return (double)res * (double)sysconf(_SC_PAGESIZE);
}

/* ---- source and destination in this process ------------------------- */

struct dst_thread {
	struct db_run_config cfg;
	struct db_result res;
	int fd, err;
};

static void *dst_main(void *arg)
{
	struct dst_thread *d = arg;

	d->err = db_dest_serve(&d->cfg, d->fd, &d->res);
	return NULL;
}

static int inproc_migrate(const struct db_run_config *cfg)
{
	struct db_source *src = NULL;
	struct dst_thread d = { .fd = -1 };
	struct db_result res;
	pthread_t thr;
	char addr[32];
	uint16_t port;
	int lfd, cfd = -1, err;

	err = db_tcp_listen("127.0.0.1:0", &lfd, &port);
	if (err)
		return err;
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", port);
	err = db_source_prepare(&src, cfg);
	if (!err)
		err = db_tcp_connect(addr, 5000000000ull, &cfd);
	if (!err)
		err = db_tcp_accept(lfd, 5000000000ull, &d.fd);
	close(lfd);
	if (err) {
		if (cfd >= 0)
			close(cfd);
		db_source_destroy(src);
		return err;
	}
	db_run_config_defaults(&d.cfg);
	d.cfg.quiet = true;
	db_result_init(&d.res, &d.cfg, DB_ROLE_DST);
	db_result_init(&res, cfg, DB_ROLE_SRC);
	err = -pthread_create(&thr, NULL, dst_main, &d);
	if (err) {
		close(cfd);
		close(d.fd);
	} else {
		db_source_migrate(src, cfd, true, &res);
		pthread_join(thr, NULL);
		if (d.err)
			err = d.err;
		else if (db_result_exit_status(&res) || !res.resumed)
			err = db_error(-ECONNABORTED, "perf: in-process migration %s: %.300s",
				       db_outcome_name(res.outcome), res.error);
	}
	db_result_free(&res);
	db_result_free(&d.res);
	db_source_destroy(src);
	return err;
}

/* The heap's high-water mark while a migration runs. */
struct sampler {
	pthread_t thr;
	atomic_bool stop;
	double peak;
};

static void *sample_main(void *arg)
{
	struct sampler *s = arg;
	double h;

	while (!atomic_load(&s->stop)) {
		h = heap_bytes();
		if (h > s->peak)
			s->peak = h;
		db_sleep_ns(500000);
	}
	return NULL;
}

int perf_memory(struct perf_run *r)
{
	uint64_t ram = r->quick ? 32 * MiB : 512 * MiB, small = r->quick ? 16 * MiB : 64 * MiB;
	uint64_t big = r->quick ? 64 * MiB : 4096ull * MiB;
	unsigned runs = r->quick ? 3 : 20, i;
	bool tty = isatty(STDERR_FILENO);	/* progress through the long loop */
	struct db_run_config cfg;
	struct sampler smp = { 0 };
	struct perf_mig m;
	double heap[2] = { 0 }, rss[2] = { 0 }, before = 0;
	char sz[32], what[64];
	int err;

	/* peak RSS of both processes of one `dirtybench run` */
	err = perf_config(&cfg, mib(ram, sz, sizeof(sz)), "none");
	if (!err)
		err = perf_migrate(&cfg, &m);
	if (err)
		return perf_failed(r, "migration", ram);
	perf_add(r, "source", ram, "rss_bytes", m.src_rss, "guest RAM", (double)ram, NULL);
	perf_add(r, "destination", ram, "rss_bytes", m.dst_rss, "guest RAM", (double)ram,
		 NULL);
	perf_add_target(r, "src+dst", ram, "rss_bytes", m.src_rss + m.dst_rss,
			"guest RAM", (double)ram, NULL, &t5_rss);

	/* the same for a multi-GiB guest */
	err = perf_config(&cfg, mib(big, sz, sizeof(sz)), "none");
	if (!err)
		err = perf_migrate(&cfg, &m);
	if (err)
		return perf_failed(r, "migration", big);
	perf_add_target(r, "src+dst", big, "rss_bytes", m.src_rss + m.dst_rss,
			"guest RAM", (double)big, NULL, &t5_rss_big);

	/*
	 * The heap's peak while the pages stream, sampled through the second
	 * of two small migrations (the first sets up arenas and caches): it
	 * must stay near one PAGES frame, whatever the RAM.
	 */
	err = perf_config(&cfg, mib(small, sz, sizeof(sz)), "none");
	if (!err)
		err = inproc_migrate(&cfg);
	if (!err) {
		before = heap_bytes();
		smp.peak = before;
		if (pthread_create(&smp.thr, NULL, sample_main, &smp))
			smp.thr = 0;
		err = inproc_migrate(&cfg);
		if (smp.thr) {
			atomic_store(&smp.stop, true);
			pthread_join(smp.thr, NULL);
		}
	}
	if (err)
		return perf_failed(r, "in-process", small);
	perf_add_target(r, "in-process", small, "heap_peak_bytes", smp.peak - before,
			"one PAGES frame", (double)DB_PROTO_PAGES_MAX, NULL, &t5_peak);

	/* repeated multi-GiB migrations in this process: nothing may pile up */
	err = perf_config(&cfg, mib(big, sz, sizeof(sz)), "none");
	for (i = 0; !err && i < runs; i++) {
		if (i == 1) {	/* the first one sets up arenas and caches */
			heap[0] = heap_bytes();
			rss[0] = resident_bytes();
		}
		if (tty)
			fprintf(stderr, "\rperf: in-process migration %u of %u (%s)", i + 1,
				runs, sz);
		err = inproc_migrate(&cfg);
	}
	if (tty)
		fputc('\n', stderr);
	if (err)
		return perf_failed(r, "in-process", big);
	heap[1] = heap_bytes();
	rss[1] = resident_bytes();
	snprintf(what, sizeof(what), "heap after migration 2 of %u", runs);
	perf_add_target(r, "in-process", big, "heap_growth_bytes", heap[1] - heap[0],
			what, heap[0], NULL, &t5_heap);
	snprintf(what, sizeof(what), "resident after migration 2 of %u", runs);
	perf_add_target(r, "in-process", big, "rss_growth_bytes", rss[1] - rss[0],
			what, rss[0], NULL, &t5_resident);
	return 0;
}
