// SPDX-License-Identifier: MIT
/*
 * The source side of a pre-copy migration: round 0 sends every page, each
 * later round collects (get, clear, re-arm) and sends what it collected,
 * until the stop policy says switch over; then the workload pauses, a last
 * collect finds the rest, and the pages, the workload state and the RAM
 * checksum go out. The destination's verdict decides the outcome.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dirtybench/bitmap.h"
#include "dirtybench/common.h"
#include "dirtybench/dirtyram.h"
#include "dirtybench/ram.h"
#include "dirtybench/tracker.h"
#include "base/compat.h"
#include "engine/engine.h"
#include "engine/model.h"
#include "engine/ramsum.h"
#include "ram/mmtrack.h"
#include "wire/proto.h"
#include "wire/transport.h"

#define BATCH DB_PROTO_BATCH_PAGES
#define PAUSE_TIMEOUT_NS (2000000000ull)
#define ANSWER_TIMEOUT_NS (30000000000ull)
#define PINGS 5
/* rounds of at least 1/16 of the pages ask the page tables for zero pages */
#define ZERO_MAP_MIN_SHARE 16

struct db_source {
	struct db_run_config cfg;
	struct db_tracker *trk;
	unsigned tflags;
	struct db_ram ram;
	struct dr_workload *wl;
	bool wl_started, paused;
	struct dr_access acc;
	struct db_bitmap dirty;
	uint8_t *data;			/* BATCH pages (snapshot reads) */
	uint8_t prefix[8 + 8 * BATCH];
	uint64_t desc[BATCH];
	struct iovec iov[1 + BATCH];	/* a PAGES frame: prefix, runs of data */
	int niov;

	struct db_conn conn;
	bool conn_open;
	struct db_proto_rx rx;
	struct db_result *res;

	uint64_t t0;			/* migration start, 0 before */
	uint64_t deadline_ns;		/* pre-copy time cap */
	uint64_t paused_at;
	double bw_est;			/* bytes/s left the socket, last round */
	uint64_t wire_bytes, wire_ns;	/* over all rounds */
	uint32_t epoch;			/* the workload's current epoch */
	uint64_t limit_pps;		/* guest dirty-rate cap now, 0: none */
	unsigned high_rounds;		/* rounds in a row over the trigger */
	bool cancelled, end_sent;
	bool check_stamps;		/* count pages newer than their round */
	uint64_t ready_at, verified_at, resumed_at;	/* destination clock */
	struct dr_probe_stats probe;	/* the source's, at the end */
	struct db_ram_sums sums;		/* the paused RAM's chunk hashes */
};

static int access_write(void *ctx, unsigned vcpu, size_t page, size_t off,
			const void *src, size_t len)
{
	struct db_tracker *t = ctx;

	return t->ops->guest_write(t, vcpu, page, off, src, len);
}

/* Pseudo-random content, as a booted guest's RAM (xorshift64*). */
static void fill_random(uint8_t *p, size_t size, uint64_t seed)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ull + 0x6a09e667f3bcc909ull, v;
	size_t i;

	for (i = 0; i + 8 <= size; i += 8) {
		x ^= x >> 12;
		x ^= x << 25;
		x ^= x >> 27;
		v = x * 0x2545f4914f6cdd1dull;
		memcpy(p + i, &v, 8);
	}
}

/*
 * Untouched guest RAM, as an idle guest's: every page mapped (trackers see
 * present entries) to the kernel's shared zero page, so it costs no
 * memory and reads come from one cached page. A write gets a page of its
 * own, as a guest's first write to memory it never used.
 */
static void map_untouched(struct db_ram *ram)
{
	size_t i;

	if (!madvise(ram->base, ram->size, MADV_POPULATE_READ))
		return;
	for (i = 0; i < ram->size; i += DB_PAGE_SIZE)	/* before Linux 5.14 */
		(void)((volatile uint8_t *)ram->base)[i];
}

int db_source_prepare(struct db_source **out, const struct db_run_config *cfg)
{
	struct db_tracker_params params = {
		.nvcpus = cfg->workload_on ? cfg->dr.copies : 1,
		.seed = cfg->seed,
	};
	struct db_source *s;
	int err;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return db_error(-ENOMEM, "source: out of memory");
	s->cfg = *cfg;
	s->ram.fd = -1;
	err = db_tracker_create(&s->trk, cfg->tracker, &params);
	if (err == -EINVAL)
		err = db_error(err, "option --tracker: %s", db_strerror());
	if (err)
		goto fail;
	s->tflags = db_tracker_flags(s->trk);
	if (s->tflags & DB_TRK_PROVIDES_RAM) {
		s->ram.size = cfg->ram_bytes;
		s->ram.npages = cfg->ram_bytes / DB_PAGE_SIZE;
		s->ram.backing = DB_BACKING_TRACKER;
	} else {
		err = db_ram_create(&s->ram, cfg->ram_bytes, cfg->backing,
				    cfg->fill == DB_FILL_ZERO &&
				    cfg->backing != DB_BACKING_ANON);
		if (err)
			goto fail;
		if (cfg->fill == DB_FILL_RANDOM)
			fill_random(s->ram.base, s->ram.size, cfg->seed);
		else if (cfg->backing == DB_BACKING_ANON)
			map_untouched(&s->ram);
	}
	err = db_tracker_attach(s->trk, &s->ram);
	if (err == -EINVAL)
		err = db_error(err, "options --tracker %s and --backing %s: %s",
			       cfg->tracker, db_backing_name(cfg->backing), db_strerror());
	if (err)
		goto fail;
	if ((s->tflags & DB_TRK_PROVIDES_RAM) && cfg->fill == DB_FILL_RANDOM)
		fill_random(s->ram.base, s->ram.size, cfg->seed);
	if (cfg->workload_on) {
		if (s->tflags & DB_TRK_ACCESS) {
			s->acc.write = access_write;
			s->acc.ctx = s->trk;
		}
		err = dr_create(&s->wl, &cfg->dr, s->ram.base, s->ram.npages,
				(s->tflags & DB_TRK_ACCESS) ? &s->acc : NULL);
		if (!err)
			err = dr_probe_enable(s->wl, cfg->stall_probe_us * 1000, 0);
		if (err) {
			err = db_error_errno(err, "workload %s on %zu pages", cfg->workload,
					     s->ram.npages);
			goto fail;
		}
	}
	err = db_bitmap_init(&s->dirty, s->ram.npages);
	/* only snapshot images are read into a buffer; RAM is sent in place */
	if (s->tflags & DB_TRK_SNAPSHOT)
		s->data = malloc(BATCH * DB_PAGE_SIZE);
	if (err || ((s->tflags & DB_TRK_SNAPSHOT) && !s->data)) {
		err = db_error(-ENOMEM, "source: no memory for the dirty bitmap");
		goto fail;
	}
	*out = s;
	return 0;
fail:
	db_source_destroy(s);
	return err;
}

void db_source_destroy(struct db_source *s)
{
	if (!s)
		return;
	if (s->conn_open)
		db_conn_close(&s->conn);
	if (s->wl)
		dr_destroy(s->wl);
	db_tracker_destroy(s->trk);
	db_ram_destroy(&s->ram);
	db_bitmap_free(&s->dirty);
	db_ram_sums_free(&s->sums);
	free(s->data);
	free(s);
}

static uint64_t since_t0(const struct db_source *s)
{
	return s->t0 ? db_now_ns() - s->t0 : 0;
}

static int send_msg(struct db_source *s, uint16_t type, const void *p, size_t len)
{
	return db_conn_send_msg(&s->conn, &s->rx, type, p, len);
}

/*
 * Next frame from the destination, validated. -EAGAIN if none within
 * timeout_ns; an ERROR frame becomes an error with its text.
 */
static int recv_msg(struct db_source *s, struct db_frame *f, struct db_msg *m,
		    uint64_t timeout_ns)
{
	return db_conn_recv_msg(&s->conn, &s->rx, f, m, timeout_ns);
}

static int wait_msg(struct db_source *s, struct db_frame *f, struct db_msg *m,
		    uint64_t timeout_ns, const char *what)
{
	int err = recv_msg(s, f, m, timeout_ns);

	if (err == -EAGAIN)
		return db_error(-ETIMEDOUT, "no %s from the destination within %.0f s",
				what, timeout_ns / 1e9);
	return err;
}

/* Between batches: is the destination still there, and silent? */
static int check_peer(struct db_source *s)
{
	struct db_frame f;
	struct db_msg m;
	int err = recv_msg(s, &f, &m, 0);

	if (err == -EAGAIN)
		return 0;
	if (!err)
		db_frame_free(&f);	/* a late PONG */
	return err;
}

static int handshake(struct db_source *s, bool same_clock)
{
	uint8_t buf[104 + DB_PROTO_CONFIG_MAX];
	char text[DB_PROTO_CONFIG_MAX];
	struct db_hello h = {
		.ram_bytes = s->ram.size,
		.page_size = DB_PAGE_SIZE,
		.chunk_pages = (uint32_t)s->cfg.chunk_pages,
		.flags = s->wl ? DB_HELLO_WORKLOAD : 0,
		.dest_tail_ms = (uint32_t)s->cfg.dest_tail_ms,
		.dr = s->cfg.dr,
		.config = text,
	};
	uint64_t t1, rtt, best = UINT64_MAX;
	struct db_frame f;
	struct db_msg m;
	size_t len;
	int i, err;

	h.config_len = (uint32_t)db_run_config_text(&s->cfg, text, sizeof(text));
	h.src_now_ns = db_now_ns();
	s->res->hello_mono_ns = h.src_now_ns;
	len = db_enc_hello(buf, sizeof(buf), &h);
	err = send_msg(s, DB_FR_HELLO, buf, len);
	if (err)
		return err;
	/* the destination may fault its RAM in first: allow 100 MB/s for it */
	err = wait_msg(s, &f, &m, ANSWER_TIMEOUT_NS + s->ram.size / 100 * 1000,
		       "HELLO_ACK");
	if (err)
		return err;
	db_frame_free(&f);

	/* clock offset: the exchange with the smallest round trip wins */
	for (i = 0; i < PINGS; i++) {
		t1 = db_now_ns();
		db_put64(buf, t1);
		err = send_msg(s, DB_FR_PING, buf, 8);
		if (!err)
			err = wait_msg(s, &f, &m, ANSWER_TIMEOUT_NS, "PONG");
		if (err)
			return err;
		db_frame_free(&f);
		if (m.time.t1 != t1)
			return db_error(-EPROTO, "the destination answered a PING it was not sent");
		rtt = db_now_ns() - t1;
		if (rtt < best) {
			best = rtt;
			s->res->clock_offset_ns = (int64_t)(m.time.t2 - (t1 + rtt / 2));
		}
	}
	s->res->clock_rtt_ns = best;
	s->res->same_clock = same_clock;
	if (same_clock)
		s->res->clock_offset_ns = 0;
	return 0;
}

/* Run the workload for the warm-up, watching the connection. */
static int start_guest(struct db_source *s)
{
	uint64_t t, end;
	int err;

	if (!s->wl)
		return 0;
	err = dr_start(s->wl);
	if (err)
		return db_error_errno(err, "workload: cannot start its vCPU threads");
	s->wl_started = true;
	t = db_now_ns();
	end = t + s->cfg.warmup_ms * 1000000ull;
	while (db_now_ns() < end) {
		err = check_peer(s);
		if (err)
			return err;
		db_sleep_ns(DB_MIN(end - db_now_ns(), 20000000ull) + 1);
	}
	s->res->warmup_ns = db_now_ns() - t;
	return 0;
}

/* Collect into s->dirty (OR); the round's stamps may carry epoch <= *limit. */
static int collect(struct db_source *s, uint64_t *ns, uint32_t *limit)
{
	uint64_t t = db_now_ns();
	int err = db_tracker_collect(s->trk, &s->dirty);

	*ns += db_now_ns() - t;
	*limit = s->epoch++;
	if (s->wl)
		dr_set_epoch(s->wl, s->epoch);
	if (err)
		return db_error(err, "tracker %s: collect failed: %s", s->trk->name,
				db_strerror());
	return 0;
}

static bool page_is_zero(const uint8_t *p)
{
	typedef uint64_t v4 __attribute__((vector_size(32), aligned(8)));
	const v4 *v = (const void *)p;
	v4 acc = { 0 };
	size_t i;

	if (*(const uint64_t *)p)	/* data: decided by the first word */
		return false;
	for (i = 0; i < DB_PAGE_SIZE / sizeof(v4); i += 4)
		acc |= v[i] | v[i + 1] | v[i + 2] | v[i + 3];
	return !(acc[0] | acc[1] | acc[2] | acc[3]);
}

/*
 * Where pages [first, first+n) can be read: guest RAM itself, or, for a
 * snapshot tracker, their round-start image read into buf.
 */
static int page_source(struct db_source *s, size_t first, size_t n, uint8_t *buf,
		       uint8_t **out)
{
	int err;

	if (!(s->tflags & DB_TRK_SNAPSHOT)) {
		*out = s->ram.base + first * DB_PAGE_SIZE;
		return 0;
	}
	err = db_tracker_snapshot_read(s->trk, first, n, buf);
	if (err)
		return db_error(err, "tracker %s: snapshot read of pages [%zu, +%zu): %s",
				s->trk->name, first, n, db_strerror());
	*out = buf;
	return 0;
}

/* Append a page of data to the frame, merging it with the run before. */
static void add_data(struct db_source *s, uint8_t *p)
{
	struct iovec *last = &s->iov[s->niov - 1];

	if (s->niov > 1 && (uint8_t *)last->iov_base + last->iov_len == p) {
		last->iov_len += DB_PAGE_SIZE;
		return;
	}
	s->iov[s->niov].iov_base = p;
	s->iov[s->niov++].iov_len = DB_PAGE_SIZE;
}

/*
 * One PAGES frame in one write: the descriptors, then the data straight
 * from where it lies (guest RAM, or the snapshot buffer), no copy.
 */
static int flush_batch(struct db_source *s, uint32_t nb)
{
	int err;

	s->iov[0].iov_base = s->prefix;
	s->iov[0].iov_len = db_enc_pages_prefix(s->prefix, nb, s->desc);
	err = db_conn_sendv(&s->conn, DB_FR_PAGES, s->iov, s->niov);
	s->niov = 1;
	return err;
}

/*
 * After a round: a PING answered once the destination has applied every
 * page sent before it. The switchover is decided (and the guest paused)
 * only when nothing is in flight any more, so the last round's backlog
 * never counts as downtime, and the round's bandwidth is what arrived.
 */
static int sync_dest(struct db_source *s)
{
	struct db_frame f;
	struct db_msg m;
	uint8_t ping[8];
	uint64_t t1 = db_now_ns();
	int err;

	db_put64(ping, t1);
	err = send_msg(s, DB_FR_PING, ping, sizeof(ping));
	while (!err) {
		err = wait_msg(s, &f, &m, ANSWER_TIMEOUT_NS, "PONG");
		if (err)
			break;
		db_frame_free(&f);
		if (m.time.t1 == t1)
			break;
	}
	return err;
}

static bool past_deadline(const struct db_source *s)
{
	return s->deadline_ns && since_t0(s) >= s->deadline_ns;
}

static int cancel_now(struct db_source *s, const char *why)
{
	s->cancelled = true;
	snprintf(s->res->stop_reason, sizeof(s->res->stop_reason), "%s-cancel", why);
	return db_error(-ECANCELED,
			"migration cancelled: %s reached before the stop policy was met (--on-timeout cancel)",
			!strcmp(why, "time") ? "the time limit" : "--max-rounds");
}

/* The first page after a descriptor's pages, and how many zero pages it holds. */
static uint64_t desc_run(uint64_t d)
{
	return ((d & DB_PAGE_DESC_RUN_MASK) >> DB_PAGE_DESC_RUN_SHIFT) + 1;
}

/* A full frame goes out; between frames the peer and the time cap are checked. */
static int flush_full(struct db_source *s, uint32_t *nb, uint32_t *nd, bool final)
{
	int err = flush_batch(s, *nb);

	*nb = *nd = 0;
	if (!err)
		err = check_peer(s);
	if (!err && !final && s->cfg.on_timeout == DB_ON_TIMEOUT_CANCEL &&
	    past_deadline(s))
		err = cancel_now(s, "time");
	return err;
}

/*
 * Zero pages [page, page + n) into the frame: the zero run before them
 * grows (up to DB_PROTO_ZERO_RUN_MAX pages), else new descriptors start;
 * a full frame goes out on the way.
 */
static int add_zeros(struct db_source *s, uint32_t *nb, uint32_t *nd,
		     uint64_t page, uint64_t n, bool final)
{
	uint64_t *last, len, take;
	int err;

	while (n) {
		last = *nb ? &s->desc[*nb - 1] : NULL;
		len = last && (*last & DB_PAGE_DESC_ZERO) ? desc_run(*last) : 0;
		if (len && len < DB_PROTO_ZERO_RUN_MAX &&
		    (*last & DB_PAGE_DESC_PAGE_MASK) + len == page) {
			take = DB_MIN(n, DB_PROTO_ZERO_RUN_MAX - len);
			*last += take << DB_PAGE_DESC_RUN_SHIFT;
		} else if (*nb == BATCH) {
			err = flush_full(s, nb, nd, final);
			if (err)
				return err;
			continue;
		} else {
			take = DB_MIN(n, (uint64_t)DB_PROTO_ZERO_RUN_MAX);
			s->desc[(*nb)++] = DB_PAGE_DESC_ZERO_RUN(page, take);
		}
		page += take;
		n -= take;
	}
	return 0;
}

/*
 * Send the pages set in s->dirty as round 'round'. Runs of zero pages go
 * as one descriptor each; pages the kernel says read as zero (private
 * anonymous RAM, read live: see db_zero_map) are not even read. That is
 * as good as reading them now: the tracker was armed before this round,
 * so a write after the look comes again in the next.
 */
static int send_round(struct db_source *s, struct db_round *rs, bool final,
		      uint32_t limit)
{
	uint64_t count = db_bitmap_count(&s->dirty), t = db_now_ns();
	uint64_t b0 = db_conn_bytes_tx(&s->conn), q0 = db_conn_outq(&s->conn);
	uint64_t zero = 0, wire, q1;
	size_t npages = s->ram.npages, i, run, k, z;
	uint32_t nb = 0, nd = 0;
	uint8_t hdr[24], *src = NULL, *dst;
	struct db_zero_map zm;
	struct dr_stamp st;
	int err;

	/*
	 * Images or the tracker's RAM: read them. So too a round of few pages
	 * (below 1/16 of the RAM): a walk of the page tables costs more than
	 * reading them, and the final round's walk would be downtime.
	 */
	if ((s->tflags & (DB_TRK_SNAPSHOT | DB_TRK_PROVIDES_RAM)) ||
	    count < npages / ZERO_MAP_MIN_SHARE)
		zm.fd = -1;
	else
		db_zero_map_open(&zm, &s->ram);
	s->niov = 1;
	err = send_msg(s, DB_FR_ROUND_BEGIN, hdr,
		       db_enc_round(hdr, DB_FR_ROUND_BEGIN, rs->round,
				    final ? DB_ROUND_FINAL : 0, count, 0));
	for (i = db_bitmap_next(&s->dirty, 0); !err && i < npages;) {
		z = db_zero_map_run(&zm, i, npages - i);
		for (k = 0; k < z && db_bitmap_test(&s->dirty, i + k); k++)
			;
		if (k) {
			zero += k;
			err = add_zeros(s, &nb, &nd, i, k, final);
			if (!err && nb == BATCH)
				err = flush_full(s, &nb, &nd, final);
			i = db_bitmap_next(&s->dirty, i + k);
			continue;
		}
		for (run = 1; nb + run < BATCH && i + run < npages &&
			      db_bitmap_test(&s->dirty, i + run) &&
			      !db_zero_map_run(&zm, i + run, 1); run++)
			;
		err = page_source(s, i, run, s->data + (size_t)nd * DB_PAGE_SIZE, &src);
		if (err)
			break;
		for (k = 0; k < run; k++, src += DB_PAGE_SIZE) {
			if (page_is_zero(src)) {
				/* nb + run <= BATCH: no frame goes out here */
				add_zeros(s, &nb, &nd, i + k, 1, final);
				zero++;
				continue;
			}
			if (s->check_stamps && dr_stamp_read(src, &st) &&
			    st.epoch > limit)
				rs->snapshot_violations++;
			dst = src;
			if (s->tflags & DB_TRK_SNAPSHOT) {
				/* keep the snapshot's data pages together */
				dst = s->data + (size_t)nd * DB_PAGE_SIZE;
				if (dst != src)
					memmove(dst, src, DB_PAGE_SIZE);
			}
			add_data(s, dst);
			s->desc[nb++] = i + k;
			nd++;
		}
		i = db_bitmap_next(&s->dirty, i + run);
		if (nb == BATCH)
			err = flush_full(s, &nb, &nd, final);
	}
	db_zero_map_close(&zm);
	if (!err && nb)
		err = flush_batch(s, nb);
	if (!err)
		err = send_msg(s, DB_FR_ROUND_END, hdr,
			       db_enc_round(hdr, DB_FR_ROUND_END, rs->round, 0,
					    count, zero));
	if (!err && !final)
		err = sync_dest(s);
	/* an aborted round counts too: what it sent, how fast */
	rs->send_ns = db_now_ns() - t;
	rs->bytes = db_conn_bytes_tx(&s->conn) - b0;
	/* what left the socket meanwhile: written, minus what is still queued */
	q1 = db_conn_outq(&s->conn);
	wire = rs->bytes + q0 > q1 ? rs->bytes + q0 - q1 : 0;
	if (rs->send_ns)
		rs->bandwidth_bps = (double)wire * 8e9 / (double)rs->send_ns;
	s->wire_bytes += wire;
	s->wire_ns += rs->send_ns;
	if (err) {
		rs->aborted = true;
		return err;
	}
	rs->sent_pages = count;
	rs->zero_pages = zero;
	if (wire >= (1u << 20) || rs->send_ns >= 20000000ull)
		s->bw_est = (double)wire * 1e9 / (double)DB_MAX(rs->send_ns, 1);
	return 0;
}

/*
 * Before round 'round' (>= 1), with n pages collected: switch over now?
 * Sets *final, or returns -ECANCELED to give up.
 */
static int decide(struct db_source *s, uint32_t round, uint64_t n, bool *final)
{
	struct db_result *res = s->res;
	double left = (double)n * db_model_page_bytes(false);
	bool policy;

	switch (s->cfg.stop) {
	case DB_STOP_ROUNDS:
		policy = round + 1 >= s->cfg.stop_arg;
		break;
	case DB_STOP_THRESHOLD:
		policy = n <= s->cfg.stop_arg;
		break;
	default:
		policy = s->bw_est > 0 &&
			 left <= s->bw_est * (double)s->cfg.downtime_limit_ms / 1000.0;
	}
	*final = true;
	res->converged = policy;
	if (policy) {
		snprintf(res->stop_reason, sizeof(res->stop_reason), "%s",
			 s->cfg.stop == DB_STOP_ROUNDS ? "rounds" :
			 s->cfg.stop == DB_STOP_THRESHOLD ? "threshold" : "downtime");
		return 0;
	}
	if (round + 1 >= s->cfg.max_rounds) {
		if (s->cfg.on_timeout == DB_ON_TIMEOUT_CANCEL)
			return cancel_now(s, "max-rounds");
		snprintf(res->stop_reason, sizeof(res->stop_reason), "max-rounds-force");
		return 0;
	}
	if (past_deadline(s)) {
		if (s->cfg.on_timeout == DB_ON_TIMEOUT_CANCEL)
			return cancel_now(s, "time");
		snprintf(res->stop_reason, sizeof(res->stop_reason), "time-force");
		return 0;
	}
	*final = false;
	return 0;
}

/*
 * Dirty-limit (QEMU's trigger): a round that dirtied more than half the
 * bytes it sent counts as high; after two high rounds in a row the guest's
 * dirty rate is capped (auto: at half the measured bandwidth, so the dirty
 * set halves each round), and every further pair halves the cap.
 */
static void dirty_limit_update(struct db_source *s, const struct db_round *prev,
			       uint64_t n)
{
	struct db_result *res = s->res;
	uint64_t cap;

	if (!s->wl || s->cfg.dirty_limit_mode == DB_DIRTY_LIMIT_OFF)
		return;
	if ((double)n * DB_PAGE_SIZE <= 0.5 * (double)prev->bytes) {
		s->high_rounds = 0;
		return;
	}
	if (++s->high_rounds < 2)
		return;
	s->high_rounds = 0;
	if (s->limit_pps)
		cap = s->limit_pps / 2;
	else if (s->cfg.dirty_limit_mode == DB_DIRTY_LIMIT_RATE)
		cap = s->cfg.dirty_limit_pps;
	else
		cap = (uint64_t)(0.5 * s->bw_est / DB_PAGE_SIZE);
	s->limit_pps = DB_MAX(cap, 1);
	dr_set_rate_limit(s->wl, s->limit_pps);
	res->dirty_limit_pps = s->limit_pps;
	if (res->dirty_limit_round < 0)
		res->dirty_limit_round = (int32_t)prev->round + 1;
}

static int pause_guest(struct db_source *s)
{
	int err;

	s->paused_at = db_now_ns();
	if (!s->wl)
		return 0;
	s->paused = true;
	err = dr_pause(s->wl, PAUSE_TIMEOUT_NS);
	if (err)
		return db_error(err, "workload: the vCPUs did not pause within %.0f s",
				PAUSE_TIMEOUT_NS / 1e9);
	return 0;
}

/* Pages the guest wrote so far, for the rate of each round. */
static uint64_t guest_writes(struct db_source *s)
{
	struct dr_stats st;

	if (!s->wl)
		return 0;
	dr_get_stats(s->wl, &st);
	return st.pages_written;
}

static int precopy(struct db_source *s)
{
	struct db_result *res = s->res;
	struct db_round *rs, *prev;
	uint32_t round, limit = 0;
	uint64_t t, n, w0;
	bool final;
	int err;

	s->t0 = db_now_ns();
	res->start_mono_ns = s->t0;
	s->deadline_ns = (s->cfg.stop == DB_STOP_TIME ? s->cfg.stop_arg :
			  s->cfg.max_time_ms) * 1000000ull;
	if (s->cfg.bandwidth && s->cfg.link != DB_LINK_NETNS)
		db_conn_set_rate(&s->conn, s->cfg.bandwidth);
	err = db_tracker_start(s->trk);
	if (err)
		return db_error(err, "tracker %s: cannot start tracking: %s",
				s->trk->name, db_strerror());
	limit = s->epoch++;
	if (s->wl)
		dr_set_epoch(s->wl, s->epoch);

	for (round = 0;; round++) {
		rs = db_result_add_round(res);
		if (!rs)
			return db_error(-ENOMEM, "results: out of memory");
		t = db_now_ns();
		rs->start_at_ns = t - s->t0;
		w0 = guest_writes(s);
		if (round == 0) {
			db_bitmap_fill(&s->dirty);
			final = s->cfg.stop == DB_STOP_ROUNDS && s->cfg.stop_arg == 1;
			if (final) {
				res->converged = true;
				snprintf(res->stop_reason, sizeof(res->stop_reason), "rounds");
			}
		} else {
			db_bitmap_zero(&s->dirty);
			err = collect(s, &rs->collect_ns, &limit);
			if (err)
				return err;
			n = db_bitmap_count(&s->dirty);
			prev = &res->r[round - 1];
			prev->remaining_pages = n;
			if (prev->duration_ns)
				prev->dirty_rate_pps = (double)n * 1e9 / (double)prev->duration_ns;
			err = decide(s, round, n, &final);
			if (err)
				return err;
			if (!final)
				dirty_limit_update(s, prev, n);
		}
		if (final) {
			rs->final = true;
			err = pause_guest(s);
			if (!err)
				err = collect(s, &rs->collect_ns, &limit);
			if (err)
				return err;
		}
		rs->dirty_pages = db_bitmap_count(&s->dirty);
		rs->dirty_limit_pps = s->limit_pps;
		err = send_round(s, rs, final, limit);
		rs->duration_ns = db_now_ns() - t;
		if (rs->duration_ns && !final)
			rs->guest_wps = (double)(guest_writes(s) - w0) * 1e9 /
					(double)rs->duration_ns;
		if (err)
			return err;
		res->rounds = round + 1;
		res->pages_sent += rs->sent_pages;
		res->zero_pages += rs->zero_pages;
		res->snapshot_violations += rs->snapshot_violations;
		if (s->cfg.progress && !s->cfg.quiet)
			db_round_print(rs, stdout);
		if (final)
			return 0;
		if (db_interrupted)
			return db_error(-EINTR, "interrupted by a signal");
	}
}

static int send_state_and_end(struct db_source *s)
{
	size_t n = s->wl ? dr_state_size(s->wl) : 0;
	uint8_t *buf = malloc(16 + n), end[32];
	int err;

	if (!buf)
		return db_error(-ENOMEM, "source: no memory for the workload state");
	db_enc_state_prefix(buf, s->paused_at, (uint32_t)n);
	err = s->wl ? dr_state_save(s->wl, buf + 16, n) : 0;
	if (err)
		err = db_error(err, "workload: cannot save its state");
	if (!err)
		err = send_msg(s, DB_FR_STATE, buf, 16 + n);
	free(buf);
	if (err)
		return err;
	/* the guest is stopped: this is the RAM the destination must hold */
	err = db_ram_sums_compute(&s->sums, "source", &s->ram, s->ram.npages,
				  (uint32_t)s->cfg.chunk_pages, true);
	if (err)
		return err;
	s->res->sum_src = s->sums.sum;
	s->res->have_src_sum = true;
	err = send_msg(s, DB_FR_END, end,
		       db_enc_end(end, s->res->sum_src, s->res->pages_sent,
				  s->res->rounds));
	s->end_sent = !err;
	return err;
}

static int answer_hashes(struct db_source *s, const struct db_msg *m)
{
	uint8_t *buf = malloc(16 + 8 * (size_t)m->hash.n);
	uint64_t h, at;
	uint32_t j;
	int err;

	if (!buf)
		return db_error(-ENOMEM, "source: no memory for %u hashes", m->hash.n);
	db_enc_hashes_prefix(buf, m->hash.kind, m->hash.first, m->hash.n);
	for (j = 0; j < m->hash.n; j++) {
		at = m->hash.first + j;	/* inside the RAM: db_proto_rx() checked */
		h = m->hash.kind == DB_HASH_CHUNKS ? s->sums.chunk[at] :
		    db_page_hash(db_ram_page(&s->ram, at));
		db_put64(buf + 16 + 8 * j, h);
	}
	err = send_msg(s, DB_FR_HASHES, buf, 16 + 8 * (size_t)m->hash.n);
	free(buf);
	return err;
}

/* After END: answer hash requests until the verdict, then the resume. */
static int judge(struct db_source *s)
{
	uint64_t timeout = ANSWER_TIMEOUT_NS * 4 + s->cfg.dest_tail_ms * 2000000ull;
	struct db_result *res = s->res;
	struct db_frame f;
	struct db_msg m;
	int err;

	for (;;) {
		err = wait_msg(s, &f, &m, timeout, "verdict");
		if (err)
			return err;
		switch (m.type) {
		case DB_FR_HASH_REQ:
			err = answer_hashes(s, &m);
			break;
		case DB_FR_VERDICT:
			res->verified = true;
			res->ram_equal = m.verdict.equal;
			res->sum_dst = m.verdict.dst_sum;
			res->have_dst_sum = true;
			res->mismatched_pages = m.verdict.mismatched_pages;
			res->mismatched_chunks = m.verdict.mismatched_chunks;
			res->nfirst = m.verdict.nfirst;
			memcpy(res->first, m.verdict.first, sizeof(res->first));
			res->outcome = m.verdict.equal ? DB_OUTCOME_COMPLETED :
				       DB_OUTCOME_VALIDATION_FAILED;
			if (!m.verdict.equal) {
				snprintf(res->error, sizeof(res->error),
					 "RAM differs after migration: %llu pages in %llu chunks",
					 (unsigned long long)res->mismatched_pages,
					 (unsigned long long)res->mismatched_chunks);
				db_frame_free(&f);
				return 0;
			}
			break;
		case DB_FR_RESUMED:
			s->ready_at = m.resumed.ready_at;
			s->verified_at = m.resumed.verified_at;
			s->resumed_at = m.resumed.resumed_at;
			res->resumed = true;
			break;
		case DB_FR_DONE:
			res->tail = m.done;
			res->have_tail = true;
			db_frame_free(&f);
			return 0;
		}
		db_frame_free(&f);
		if (err)
			return err;
	}
}

static void take_tracker_figures(struct db_source *s)
{
	struct db_result *res = s->res;

	res->tstats = s->trk->stats;
	res->ncounters = db_tracker_counters(s->trk, res->counters,
					     DB_TRACKER_MAX_COUNTERS);
}

static int64_t rel_t0(const struct db_source *s, uint64_t mono)
{
	return (int64_t)(mono - s->t0);
}

/*
 * The stall probe's view: its gaps on the source (before the pause), the
 * gap across the switchover (its last reading on the source to its first
 * on the destination, the verification left out, as for the downtime)
 * and its gaps on the destination after the resume.
 */
static void probe_figures(struct db_source *s)
{
	struct db_result *res = s->res;
	const struct dr_probe_stats *p = &s->probe;
	const struct db_tail *t = &res->tail;
	const char *where = "source";
	uint64_t longest = 0, dst_first, gap;
	int64_t at = 0;

	if (!p->on)
		return;
	res->have_probe = true;
	res->probe_interval_ns = p->interval_ns;
	res->probe_threshold_ns = p->threshold_ns;
	res->probe_resolution_ns = p->resolution_ns;
	res->probe_step_p99_ns = p->step_p99_ns;
	res->probe_gaps = p->gaps;
	if (p->ngap) {
		longest = p->gap[0].len_ns;
		at = rel_t0(s, p->gap[0].start_ns);
	}
	if (res->resumed && res->have_tail && t->probe_first_ns && p->last_ns) {
		dst_first = (uint64_t)((int64_t)t->probe_first_ns - res->clock_offset_ns);
		gap = dst_first > p->last_ns ? dst_first - p->last_ns : 0;
		gap = gap > res->verify_ns ? gap - res->verify_ns : 0;
		res->have_probe_switch = true;
		res->probe_switch_gap_ns = gap;
		res->probe_before_pause_ns = (int64_t)(s->paused_at - p->last_ns);
		res->probe_after_resume_ns = (int64_t)(t->probe_first_ns - s->resumed_at);
		res->probe_resolution_ns = DB_MAX(res->probe_resolution_ns,
						  t->probe_resolution_ns);
		res->probe_gaps += t->probe_gaps + (gap > p->threshold_ns);
		if (gap >= longest) {
			longest = gap;
			at = rel_t0(s, p->last_ns);
			where = "switchover";
		}
		if (t->probe_max_gap_ns > longest) {
			longest = t->probe_max_gap_ns;
			at = rel_t0(s, (uint64_t)((int64_t)t->probe_max_gap_at_ns -
						    res->clock_offset_ns));
			where = "destination";
		}
	}
	res->probe_longest_ns = longest;
	res->probe_longest_at_ns = at;
	snprintf(res->probe_longest_where, sizeof(res->probe_longest_where), "%s",
		 longest ? where : "none");
}

/*
 * The stall against the downtime: they agree within 10% (or two probe
 * resolutions, for a short downtime), or the note says what differs.
 */
static void stall_note(struct db_result *res)
{
	uint64_t d = res->downtime_ns, g = res->probe_longest_ns;
	uint64_t diff = g > d ? g - d : d - g, slack;
	char a[32], b[32], c[32];

	res->stall_note[0] = '\0';
	if (!res->have_probe_switch || !d)
		return;
	slack = DB_MAX(d / 10, 2 * res->probe_resolution_ns);
	if (diff <= slack)
		return;
	if (strcmp(res->probe_longest_where, "switchover")) {
		snprintf(res->stall_note, sizeof(res->stall_note),
			 "the longest gap (%s) was on the %s at %.3f s, not at the "
			 "switchover (%s, downtime %s)",
			 db_fmt_ns(g, a, sizeof(a)), res->probe_longest_where,
			 (double)res->probe_longest_at_ns / 1e9,
			 db_fmt_ns(res->probe_switch_gap_ns, b, sizeof(b)),
			 db_fmt_ns(d, c, sizeof(c)));
		return;
	}
	snprintf(res->stall_note, sizeof(res->stall_note),
		 "the guest's last reading came %.3f ms before the pause and its "
		 "first %.3f ms after the resume",
		 (double)res->probe_before_pause_ns / 1e6,
		 (double)res->probe_after_resume_ns / 1e6);
}

/*
 * The model again, fed what each round had: its wire bandwidth, its
 * bytes over its length and the guest's write rate. It shows whether a
 * gap between the run and the nominal model is the link (or the guest)
 * or the tracker.
 */
static void measured_model(struct db_source *s, const struct db_model_in *nominal)
{
	struct db_result *res = s->res;
	struct db_model_in in = *nominal;
	double *a;
	uint32_t i, n = 0;

	for (i = 0; i < res->nr && res->r[i].send_ns && !res->r[i].aborted; i++)
		n = i + 1;
	if (!n)
		return;
	a = calloc(3 * (size_t)n, sizeof(*a));
	if (!a)
		return;
	for (i = 0; i < n; i++) {
		const struct db_round *r = &res->r[i];

		a[i] = r->bandwidth_bps / 8;
		a[n + i] = r->duration_ns ? (double)r->bytes * 1e9 / (double)r->duration_ns : 0;
		a[2 * n + i] = r->guest_wps;
	}
	in.nmeasured = n;
	in.round_wire_bw = a;
	in.round_bw = a + n;
	in.round_wps = a + 2 * n;
	db_model_predict(&in, &res->model_measured);
	res->have_model_measured = true;
	free(a);
}

static void figures(struct db_source *s)
{
	struct db_result *res = s->res;
	struct db_model_in in;
	uint64_t resumed_src, dst_lateness;

	if (s->wire_ns)
		res->bandwidth_measured_bps = (double)s->wire_bytes * 8e9 / (double)s->wire_ns;
	if (s->paused_at && s->t0)
		res->paused_at_ns = s->paused_at - s->t0;
	if (res->resumed) {
		resumed_src = (uint64_t)((int64_t)s->resumed_at - res->clock_offset_ns);
		res->verify_ns = s->verified_at - s->ready_at;
		res->downtime_incl_verify_ns = resumed_src > s->paused_at ?
					       resumed_src - s->paused_at : 0;
		res->downtime_ns = res->downtime_incl_verify_ns > res->verify_ns ?
				   res->downtime_incl_verify_ns - res->verify_ns : 0;
		res->resumed_at_ns = resumed_src - s->t0;
		res->total_time_ns = res->resumed_at_ns;
	}
	/* the verification is ours, not the migration's: leave it out */
	dst_lateness = res->have_tail ? res->tail.max_lateness_ns : 0;
	dst_lateness = dst_lateness > res->verify_ns ? dst_lateness - res->verify_ns : 0;
	res->guest_lateness_ns = DB_MAX(res->wl.max_lateness_ns, dst_lateness);
	probe_figures(s);
	res->guest_stall_ns = res->have_probe ? res->probe_longest_ns :
			      res->guest_lateness_ns;
	stall_note(res);

	res->model_bandwidth = s->cfg.bandwidth ? (double)s->cfg.bandwidth :
			       (double)s->wire_bytes * 1e9 / (double)DB_MAX(s->wire_ns, 1);
	db_model_from_config(&s->cfg, res->model_bandwidth, &in);
	db_model_predict(&in, &res->model);
	res->have_model = true;
	measured_model(s, &in);
}

/* The guest keeps running on the source, untracked, and we show it. */
/*
 * The migration is over for the tracker: its figures are taken and it is
 * released, so that the guest runs at full speed. Writers that go through
 * the tracker (DB_TRK_ACCESS: a modelled MMU, KVM vCPUs) still need it to
 * write at all: for them logging stops now and the detach waits until the
 * workload has stopped (db_source_migrate).
 */
static void release_tracker(struct db_source *s)
{
	take_tracker_figures(s);
	if (db_tracker_flags(s->trk) & DB_TRK_ACCESS)
		db_tracker_stop(s->trk);
	else
		db_tracker_detach(s->trk);
}

static void keep_guest_running(struct db_source *s)
{
	struct dr_stats a, b;
	uint64_t tail = DB_MAX(s->cfg.dest_tail_ms, 100) * 1000000ull;

	s->res->guest_running_on_source = true;
	if (!s->wl_started)
		return;
	/* the cap was for the migration: the guest runs free again */
	dr_set_rate_limit(s->wl, 0);
	if (s->paused)
		dr_resume(s->wl);
	s->paused = false;
	dr_get_stats(s->wl, &a);
	db_sleep_ns(tail);
	dr_get_stats(s->wl, &b);
	s->res->pages_written_after_abort = b.pages_written - a.pages_written;
}

/* Returns whether the destination was told (the connection still works). */
static bool fail(struct db_source *s, int err)
{
	struct db_result *res = s->res;
	uint8_t buf[8 + DB_PROTO_MSG_MAX];
	bool told = false;

	snprintf(res->error, sizeof(res->error), "%s", db_strerror());
	res->outcome = s->cancelled ? DB_OUTCOME_CANCELLED : DB_OUTCOME_ABORTED;
	res->aborted_at_ns = since_t0(s);
	res->converged = false;
	if (!s->cancelled)
		snprintf(res->stop_reason, sizeof(res->stop_reason), "aborted");
	/* tell a destination that is still listening */
	if (s->conn_open && !db_conn_check(&s->conn))
		told = !db_conn_send(&s->conn,
				     s->cancelled && !s->end_sent ? DB_FR_CANCEL : DB_FR_ERROR,
				     buf, db_enc_error(buf, (uint32_t)-err, res->error));
	release_tracker(s);
	keep_guest_running(s);
	return told;
}

int db_source_migrate(struct db_source *s, int fd, bool same_clock,
		      struct db_result *res)
{
	bool told = false;
	int err;

	s->res = res;
	/*
	 * Snapshot trackers must send round-start images: no stamp newer than
	 * the round. DIRTYBENCH_STAMP_CHECK=all applies the check to every
	 * tracker, to show that it catches pages read live.
	 */
	s->check_stamps = (s->tflags & DB_TRK_SNAPSHOT) ||
			  (getenv("DIRTYBENCH_STAMP_CHECK") &&
			   !strcmp(getenv("DIRTYBENCH_STAMP_CHECK"), "all"));
	res->snapshot = s->check_stamps;
	res->granularity = s->trk->ops->granularity;
	db_tracker_flags_str(s->tflags, res->tracker_flags, sizeof(res->tracker_flags));
	res->cfg.ram_bytes = s->ram.size;
	db_proto_rx_init(&s->rx, DB_ROLE_SRC);
	err = db_conn_open(&s->conn, fd, DB_ROLE_SRC,
			   s->cfg.peer_timeout_ms * 1000000ull);
	if (err) {
		close(fd);
	} else {
		s->conn_open = true;
		if (!s->cfg.bandwidth)	/* nothing to pace: large copies */
			db_conn_set_buffers(&s->conn, DB_CONN_BUFFER_BYTES, true, false);
		err = handshake(s, same_clock);
	}
	if (!err)
		err = start_guest(s);
	if (!err)
		err = precopy(s);
	if (!err)
		err = send_state_and_end(s);
	if (!err)
		err = judge(s);
	if (err) {
		told = fail(s, err);
	} else {
		release_tracker(s);
		/* RAM differs: the destination did not resume, so the source does */
		if (!res->ram_equal)
			keep_guest_running(s);
	}
	if (s->wl_started) {
		dr_get_stats(s->wl, &res->wl);
		dr_probe_get(s->wl, &s->probe);
		dr_stop(s->wl);
	}
	db_tracker_detach(s->trk);
	if (s->conn_open) {
		res->bytes_total = db_conn_bytes_tx(&s->conn);
		if (err && !told)
			db_conn_close(&s->conn);
		else
			db_conn_finish(&s->conn, err ? 1000000000ull : 2000000000ull);
	}
	figures(s);
	s->conn_open = false;
	return 0;
}
