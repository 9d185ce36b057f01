// SPDX-License-Identifier: MIT
/*
 * The destination side: accept a HELLO that fits, apply every validated
 * page batch to plain RAM, and at the END compare the whole-RAM checksum
 * with the source's; on a mismatch, chunk hashes and then page hashes
 * locate the differing pages. Only RAM proven equal gets the workload
 * resumed, for a short tail whose figures go back to the source.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dirtybench/bitmap.h"
#include "dirtybench/common.h"
#include "dirtybench/dirtyram.h"
#include "dirtybench/ram.h"
#include "base/compat.h"
#include "base/slices.h"
#include "engine/engine.h"
#include "engine/ramsum.h"
#include "wire/proto.h"
#include "wire/transport.h"

#define ANSWER_TIMEOUT_NS (30000000000ull)
#define BATCH DB_PROTO_BATCH_PAGES

struct db_dest {
	const struct db_run_config *cfg;
	struct db_result *res;
	struct db_conn conn;
	bool conn_open;
	struct db_proto_rx rx;
	struct db_ram ram;
	uint64_t size;			/* the source's RAM size */
	uint64_t npages;
	uint32_t chunk_pages;
	struct db_bitmap present;	/* pages written with data */
	uint64_t npresent;		/* bits set in it */
	struct dr_workload *wl;
	uint32_t tail_ms;
	uint8_t *state;
	uint32_t state_len;
	uint64_t ready_at, verified_at, resumed_at;
	uint64_t progress_at;		/* the last frame that moved the migration on */
	struct db_hash128 src_sum, dst_sum;
	struct db_ram_sums sums;		/* this side's chunk hashes */
	bool have_dst_sum;
	bool populated;			/* all RAM faulted in at the HELLO */
	uint8_t prefix[8 + 8 * BATCH];	/* a PAGES frame's count and descriptors */
	struct iovec iov[BATCH];	/* where its data goes */
};

static int send_msg(struct db_dest *d, uint16_t type, const void *p, size_t len)
{
	return db_conn_send_msg(&d->conn, &d->rx, type, p, len);
}

static int recv_pages(struct db_dest *d, struct db_frame *f, struct db_msg *m);

/*
 * Next validated frame from the source; the connection watches liveness.
 * A PAGES frame is applied on the way (see recv_pages()).
 */
static int next_msg(struct db_dest *d, struct db_frame *f, struct db_msg *m)
{
	int err;

	if (d->cfg->progress_timeout_ms)
		db_conn_set_deadline(&d->conn, d->progress_at +
				     d->cfg->progress_timeout_ms * 1000000ull, NULL);
	do
		err = db_conn_recv(&d->conn, f, 1000000000ull);
	while (err == -EAGAIN);
	if (err)
		return err;
	if (f->h.type == DB_FR_PAGES)
		err = recv_pages(d, f, m);
	else
		err = db_conn_decode_msg(&d->conn, &d->rx, f, m);
	/* PINGs keep a connection alive; only the others move it on */
	if (!err && m->type != DB_FR_PING)
		d->progress_at = db_now_ns();
	return err;
}

/* "key=value" out of the HELLO's configuration text. */
static void config_value(const char *text, size_t len, const char *key,
			 char *out, size_t olen)
{
	size_t kl = strlen(key), i = 0, n;

	while (i < len) {
		n = 0;
		while (i + n < len && text[i + n] != ' ')
			n++;
		if (n > kl && !strncmp(text + i, key, kl) && text[i + kl] == '=') {
			snprintf(out, olen, "%.*s", (int)(n - kl - 1), text + i + kl + 1);
			return;
		}
		i += n + 1;
	}
}

/*
 * --dest-prefault: on, off, or auto, on when the source's RAM is filled
 * with data (every page will come with data anyway). A zero-filled guest
 * keeps its untouched pages out of the destination's memory.
 */
static bool want_prefault(struct db_dest *d, const struct db_hello *h)
{
	char fill[16] = "";

	if (d->cfg->dest_prefault == DB_PREFAULT_ON)
		return true;
	if (d->cfg->dest_prefault == DB_PREFAULT_OFF)
		return false;
	config_value(h->config, h->config_len, "fill", fill, sizeof(fill));
	return !strcmp(fill, "random");
}

/*
 * Fault the whole RAM in before the HELLO_ACK, so that round 0 copies
 * into memory that is there: a fault taken inside recv()'s copy, and
 * even one taken by MADV_POPULATE_WRITE during round 0, competes with
 * the stream for the same two cores (docs/performance.md). The source
 * waits idle meanwhile, so a second thread takes half of the slices
 * where there is a second CPU; slices, so that an interrupt is not kept
 * waiting by a large guest. DIRTYBENCH_POPULATE=touch takes the fallback
 * of a kernel without MADV_POPULATE_WRITE (a test hook),
 * DIRTYBENCH_POPULATE_THREADS=1 keeps it on one thread.
 */
#define PREFAULT_SLICE (16ull << 20)
#define PREFAULT_THREADED_MIN (64ull << 20)

struct prefault_job {
	struct db_ram *ram;
	bool touch;		/* the fallback, once a slice took it; atomic */
};

static int prefault_slice(void *arg, uint64_t off, uint64_t len)
{
	struct prefault_job *j = arg;
	int r = db_ram_populate(j->ram, off, len,
				__atomic_load_n(&j->touch, __ATOMIC_RELAXED));

	if (r < 0)
		return r;
	/* the fallback once, not a failed madvise per slice */
	if (r == DB_POPULATED_TOUCH)
		__atomic_store_n(&j->touch, true, __ATOMIC_RELAXED);
	return 0;
}

static int prefault(struct db_dest *d)
{
	const char *how = getenv("DIRTYBENCH_POPULATE");
	const char *nthr = getenv("DIRTYBENCH_POPULATE_THREADS");
	struct prefault_job j = { .ram = &d->ram, .touch = how && !strcmp(how, "touch") };
	uint64_t t0 = db_now_ns();
	bool two = d->ram.size >= PREFAULT_THREADED_MIN && !(nthr && !strcmp(nthr, "1"));
	char sz[32];
	int r;

	r = db_slices_run(d->ram.size, PREFAULT_SLICE, two, prefault_slice, &j,
			  &db_interrupted, NULL);
	if (r == -ECANCELED)
		return db_error(-ECANCELED, "destination: interrupted while faulting its RAM in");
	if (r < 0)
		return db_error(r, "destination cannot fault in %s of guest RAM: %s",
				db_fmt_bytes(d->ram.size, sz, sizeof(sz)), db_strerror());
	d->populated = true;
	d->res->dst_prefault = j.touch ? DB_POPULATED_TOUCH : DB_POPULATED_MADVISE;
	d->res->dst_prefault_ns = db_now_ns() - t0;
	return 0;
}

static int on_hello(struct db_dest *d, const struct db_msg *m)
{
	const struct db_hello *h = &m->hello;
	struct db_run_config *rc = &d->res->cfg;
	uint8_t ack[16] = { 0 };
	char sz[32];
	int err;

	d->size = h->ram_bytes;
	d->npages = h->ram_bytes / DB_PAGE_SIZE;
	d->chunk_pages = h->chunk_pages;
	d->tail_ms = h->dest_tail_ms;
	err = db_ram_create(&d->ram, h->ram_bytes, d->cfg->backing, 0);
	if (err)
		return db_error(err, "destination cannot map %s of guest RAM: %s",
				db_fmt_bytes(h->ram_bytes, sz, sizeof(sz)),
				db_strerror());
	if (db_bitmap_init(&d->present, d->npages))
		return db_error(-ENOMEM, "destination: no memory for a bitmap of %llu pages",
				(unsigned long long)d->npages);
	if (h->flags & DB_HELLO_WORKLOAD) {
		err = dr_create(&d->wl, &h->dr, d->ram.base, d->npages, NULL);
		if (!err)
			err = dr_probe_enable(d->wl, d->cfg->stall_probe_us * 1000, 0);
		if (err)
			return db_error_errno(err, "destination: cannot create the workload");
		d->rx.state_max = dr_state_size(d->wl);
	}
	if (want_prefault(d, h)) {
		err = prefault(d);
		if (err)
			return err;
	}
	/* the time we spent setting up is not the source's */
	d->progress_at = db_now_ns();
	rc->ram_bytes = h->ram_bytes;
	rc->workload_on = d->wl != NULL;
	rc->dr = h->dr;
	rc->dest_tail_ms = h->dest_tail_ms;
	rc->chunk_pages = h->chunk_pages;
	config_value(h->config, h->config_len, "tracker", rc->tracker, sizeof(rc->tracker));
	config_value(h->config, h->config_len, "workload", rc->workload, sizeof(rc->workload));
	db_put64(ack, db_now_ns());
	return send_msg(d, DB_FR_HELLO_ACK, ack, sizeof(ack));
}

/*
 * A PAGES frame, its payload still in the socket: read and validate the
 * count and the descriptors first (phase, page numbers, sizes), then
 * receive the data straight into guest RAM, one iovec per run of
 * consecutive pages, with no copy in between. Zero pages carry no data;
 * a fresh mapping reads as zero, so only pages that got data before are
 * cleared.
 */
/*
 * Fault in [p, p + len) for writing, in one call: here a fault taken
 * inside the copy of recv() costs far more than the same fault taken by
 * MADV_POPULATE_WRITE (figures in docs/performance.md). Best effort: a
 * kernel without it leaves the faults to the copy.
 */
static void populate(uint8_t *p, size_t len)
{
	if (len)
		madvise(p, len, MADV_POPULATE_WRITE);
}

static int recv_pages(struct db_dest *d, struct db_frame *f, struct db_msg *m)
{
	uint32_t len = f->h.len, n = 8, i, k = 0;
	uint8_t *at, *end = NULL, *fresh = NULL;
	size_t nfresh = 0;
	uint64_t page, np, z;
	bool zero;
	int err;

	err = db_conn_read(&d->conn, d->prefix, n);
	if (!err) {
		/* no more than the frame holds, no more than a batch */
		n = (uint32_t)DB_MIN(8 + 8ull * DB_MIN(db_get32(d->prefix), BATCH), len);
		err = db_conn_read(&d->conn, d->prefix + 8, n - 8);
	}
	if (!err)
		err = db_proto_rx(&d->rx, DB_FR_PAGES, d->prefix, len, m);
	if (err)
		return err;
	for (i = 0; i < m->pages.count; i++) {
		db_pages_entry(m, i, &page, &np, &zero);
		at = d->ram.base + page * DB_PAGE_SIZE;
		if (zero) {
			/* only pages that got data here are cleared */
			for (z = d->npresent ? db_bitmap_next(&d->present, page) : page + np;
			     z < page + np;
			     z = db_bitmap_next(&d->present, z + 1)) {
				memset(d->ram.base + z * DB_PAGE_SIZE, 0, DB_PAGE_SIZE);
				db_bitmap_clear(&d->present, z);
				d->npresent--;
			}
			continue;
		}
		if (!db_bitmap_test(&d->present, page)) {
			db_bitmap_set(&d->present, page);
			/*
			 * never written here: fault it in before the data
			 * comes (done for all RAM at the HELLO if populated)
			 */
			if (!d->populated) {
				if (nfresh && fresh + nfresh != at) {
					populate(fresh, nfresh);
					nfresh = 0;
				}
				if (!nfresh)
					fresh = at;
				nfresh += DB_PAGE_SIZE;
			}
			d->npresent++;
		}
		if (at == end) {
			d->iov[k - 1].iov_len += DB_PAGE_SIZE;
		} else {
			d->iov[k].iov_base = at;
			d->iov[k++].iov_len = DB_PAGE_SIZE;
		}
		end = at + DB_PAGE_SIZE;
	}
	populate(fresh, nfresh);
	err = k ? db_conn_readv(&d->conn, d->iov, (int)k) : 0;
	if (err)
		return err;
	d->res->zero_pages += m->pages.pages - m->pages.nonzero;
	d->res->pages_sent += m->pages.pages;
	return 0;
}

/* Ask the source for n hashes of 'kind' from 'first'; f holds the answer. */
static int ask_hashes(struct db_dest *d, uint32_t kind, uint64_t first,
		      uint32_t n, struct db_frame *f, struct db_msg *m)
{
	uint8_t req[16];
	int err = send_msg(d, DB_FR_HASH_REQ, req,
			   db_enc_hash_req(req, kind, first, n));

	/* the time we spent comparing is not the source's */
	d->progress_at = db_now_ns();
	return err ? err : next_msg(d, f, m);
}

/* Our hash of chunk or page idx, as HASHES of that kind carry it. */
static uint64_t unit_hash(struct db_dest *d, uint32_t kind, uint64_t idx)
{
	if (kind == DB_HASH_CHUNKS)
		return d->sums.chunk[idx];
	return db_page_hash(db_ram_page(&d->ram, idx));
}

/* Which pages differ: chunk hashes first, then page hashes inside them. */
static int locate(struct db_dest *d, struct db_verdict *v)
{
	uint64_t nch = DB_DIV_ROUND_UP(d->npages, d->chunk_pages), c, c1, p, p1;
	struct db_bitmap diff;
	struct db_frame f;
	struct db_msg m;
	uint32_t n, j;
	int err;

	if (db_bitmap_init(&diff, nch))
		return db_error(-ENOMEM, "destination: no memory to locate differences");
	for (c = 0; c < nch; c += n) {
		n = (uint32_t)DB_MIN(nch - c, DB_PROTO_HASHES_MAX);
		err = ask_hashes(d, DB_HASH_CHUNKS, c, n, &f, &m);
		if (err)
			goto out;
		for (j = 0; j < n; j++) {
			if (db_hashes_at(&m, j) != unit_hash(d, DB_HASH_CHUNKS, c + j)) {
				db_bitmap_set(&diff, c + j);
				v->mismatched_chunks++;
			}
		}
		db_frame_free(&f);
	}
	/* runs of differing chunks, as page ranges of at most HASHES_MAX */
	for (c = db_bitmap_next(&diff, 0); c < nch; c = db_bitmap_next(&diff, c1)) {
		for (c1 = c + 1; c1 < nch && db_bitmap_test(&diff, c1); c1++)
			;
		p1 = DB_MIN(c1 * d->chunk_pages, d->npages);
		for (p = c * d->chunk_pages; p < p1; p += n) {
			n = (uint32_t)DB_MIN(p1 - p, DB_PROTO_HASHES_MAX);
			err = ask_hashes(d, DB_HASH_PAGES, p, n, &f, &m);
			if (err)
				goto out;
			for (j = 0; j < n; j++) {
				if (db_hashes_at(&m, j) == unit_hash(d, DB_HASH_PAGES, p + j))
					continue;
				if (v->nfirst < DB_PROTO_FIRST_MAX)
					v->first[v->nfirst++] = p + j;
				v->mismatched_pages++;
			}
			db_frame_free(&f);
		}
	}
	err = 0;
out:
	db_bitmap_free(&diff);
	return err;
}

/* Sleep through the tail, but stop early when the source is gone. */
static void run_tail(struct db_dest *d)
{
	uint64_t end = db_now_ns() + d->tail_ms * 1000000ull, now;

	while ((now = db_now_ns()) < end && !db_interrupted &&
	       !db_conn_check(&d->conn))
		db_sleep_ns(DB_MIN(end - now, 20000000ull));
}

/*
 * The RAM checksum (engine/ramsum.h) without touching pages this process
 * never wrote: private anonymous pages the kernel reports as never
 * touched read as zero and are hashed as such, so a mostly-zero guest is
 * verified without faulting its RAM in. The chunk hashes stay for
 * locate().
 */
static int hash_ram(struct db_dest *d, struct db_hash128 *out)
{
	int err = db_ram_sums_compute(&d->sums, "destination", &d->ram, d->npages,
				      d->chunk_pages, true);

	if (err)
		return err;
	*out = d->sums.sum;
	d->have_dst_sum = true;
	return 0;
}

static int verify_and_resume(struct db_dest *d)
{
	struct db_result *res = d->res;
	struct db_verdict v = { 0 };
	struct db_tail tail = { 0 };
	struct dr_stats st;
	struct dr_probe_stats ps;
	uint8_t buf[168], t[24];
	uint64_t t0;
	int err;

	if (!d->have_dst_sum) {
		err = hash_ram(d, &d->dst_sum);
		if (err)
			return err;
	}
	v.dst_sum = d->dst_sum;
	v.equal = v.dst_sum.hi == d->src_sum.hi && v.dst_sum.lo == d->src_sum.lo;
	if (!v.equal) {
		err = locate(d, &v);
		if (err)
			return err;
	}
	d->verified_at = db_now_ns();
	res->verified = true;
	res->ram_equal = v.equal;
	res->have_dst_sum = true;
	res->sum_dst = v.dst_sum;
	res->mismatched_pages = v.mismatched_pages;
	res->mismatched_chunks = v.mismatched_chunks;
	res->nfirst = v.nfirst;
	memcpy(res->first, v.first, sizeof(res->first));
	err = send_msg(d, DB_FR_VERDICT, buf, db_enc_verdict(buf, &v));
	if (err)
		return err;
	if (!v.equal) {
		res->outcome = DB_OUTCOME_VALIDATION_FAILED;
		snprintf(res->error, sizeof(res->error),
			 "RAM differs: %llu pages in %llu chunks; the guest was not resumed",
			 (unsigned long long)v.mismatched_pages,
			 (unsigned long long)v.mismatched_chunks);
		return 0;
	}
	if (d->wl) {
		err = dr_state_restore(d->wl, d->state, d->state_len);
		if (err)
			return db_error(-EPROTO, "frame STATE: the workload state was rejected (%s)",
					strerror(-err));
	}
	/*
	 * The resume is the moment the vCPUs are released, as the pause is the
	 * moment they are asked to stop: what they take to get going again is
	 * the guest's, and the stall probe sees it.
	 */
	d->resumed_at = db_now_ns();
	if (d->wl) {
		err = dr_start(d->wl);
		if (err)
			return db_error_errno(err, "destination: cannot start the workload");
	}
	res->resumed = true;
	db_put64(t, d->ready_at);
	db_put64(t + 8, d->verified_at);
	db_put64(t + 16, d->resumed_at);
	err = send_msg(d, DB_FR_RESUMED, t, sizeof(t));
	if (err)
		return err;
	t0 = db_now_ns();
	run_tail(d);
	if (d->wl) {
		dr_get_stats(d->wl, &st);
		dr_probe_get(d->wl, &ps);
		dr_stop(d->wl);
		tail.probe_first_ns = ps.first_ns;
		tail.probe_max_gap_ns = ps.ngap ? ps.gap[0].len_ns : 0;
		tail.probe_max_gap_at_ns = ps.ngap ? ps.gap[0].start_ns : 0;
		tail.probe_resolution_ns = ps.resolution_ns;
		tail.probe_gaps = ps.gaps;
		tail.pages_written = st.pages_written;
		tail.late_periods = st.late_periods;
		tail.max_lateness_ns = st.max_lateness_ns;
		tail.periods = st.periods;
		tail.achieved_pps = st.achieved_pps;
		res->wl = st;
	}
	tail.tail_ns = db_now_ns() - t0;
	res->tail = tail;
	res->have_tail = true;
	res->outcome = DB_OUTCOME_COMPLETED;
	res->verify_ns = d->verified_at - d->ready_at;
	return send_msg(d, DB_FR_DONE, buf, db_enc_tail(buf, &tail));
}

static int serve(struct db_dest *d)
{
	struct db_frame f;
	struct db_msg m;
	int err;

	for (;;) {
		err = next_msg(d, &f, &m);
		if (err)
			return err;
		switch (m.type) {
		case DB_FR_HELLO:
			err = on_hello(d, &m);
			break;
		case DB_FR_PING: {
			uint8_t pong[16];

			db_put64(pong, m.time.t1);
			db_put64(pong + 8, db_now_ns());
			err = send_msg(d, DB_FR_PONG, pong, sizeof(pong));
			break;
		}
		case DB_FR_PAGES:	/* applied by next_msg() */
			break;
		case DB_FR_ROUND_END:
			d->res->rounds = m.round.round + 1;
			break;
		case DB_FR_STATE:
			d->ready_at = db_now_ns();
			d->state_len = m.state.len;
			d->state = malloc(m.state.len + 1);
			if (!d->state)
				err = db_error(-ENOMEM, "destination: no memory for the state");
			else
				memcpy(d->state, m.state.data, m.state.len);
			/* every page is in: hash while the source hashes its own */
			if (!err)
				err = hash_ram(d, &d->dst_sum);
			d->progress_at = db_now_ns();
			break;
		case DB_FR_END:
			d->src_sum = m.end.sum;
			d->res->sum_src = m.end.sum;
			d->res->have_src_sum = true;
			db_frame_free(&f);
			return verify_and_resume(d);
		default:
			break;
		}
		db_frame_free(&f);
		if (err)
			return err;
	}
}

int db_dest_serve(const struct db_run_config *cfg, int fd, struct db_result *res)
{
	struct db_dest d = { .cfg = cfg, .res = res };
	uint8_t buf[8 + DB_PROTO_MSG_MAX];
	int err;

	d.ram.fd = -1;
	db_proto_rx_init(&d.rx, DB_ROLE_DST);
	err = db_conn_open_inline(&d.conn, fd, DB_ROLE_DST,
				  cfg->peer_timeout_ms * 1000000ull, DB_FR_PAGES);
	if (err) {
		close(fd);
		return err;
	}
	d.conn_open = true;
	d.progress_at = db_now_ns();
	if (cfg->progress_timeout_ms) {
		char why[160];

		snprintf(why, sizeof(why),
			 "the source made no progress for %.1f s: alive, but no pages, rounds, state or hashes came (--progress-timeout)",
			 cfg->progress_timeout_ms / 1e3);
		db_conn_set_deadline(&d.conn, 0, why);
	}
	db_conn_set_buffers(&d.conn, DB_CONN_BUFFER_BYTES, false, true);
	err = serve(&d);
	if (err) {
		res->outcome = err == -ECANCELED ? DB_OUTCOME_CANCELLED : DB_OUTCOME_ABORTED;
		snprintf(res->error, sizeof(res->error), "%s", db_strerror());
		/* tell the source why (best effort), unless it told us */
		if (err != -ECONNABORTED && err != -ECANCELED)
			db_conn_send(&d.conn, DB_FR_ERROR, buf,
				     db_enc_error(buf, (uint32_t)-err, res->error));
	}
	res->bytes_total = db_conn_bytes_rx(&d.conn);
	db_conn_finish(&d.conn, err ? 500000000ull : 2000000000ull);
	if (d.wl)
		dr_destroy(d.wl);
	db_ram_destroy(&d.ram);
	db_bitmap_free(&d.present);
	db_ram_sums_free(&d.sums);
	free(d.state);
	if (err)
		db_error(err, "%s", res->error);
	return err;
}
