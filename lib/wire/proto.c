// SPDX-License-Identifier: MIT
/* The migration wire protocol: frame codec and receive-side validation. */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "dirtybench/common.h"
#include "wire/proto.h"

#define HELLO_FIXED 104

static const struct {
	const char *name;
	uint32_t min, max;	/* payload bytes */
	unsigned from;		/* 1 << role allowed to send it */
} frames[DB_FR_TYPE_COUNT] = {
#define SRC (1u << DB_ROLE_SRC)
#define DST (1u << DB_ROLE_DST)
	[DB_FR_HELLO] = { "HELLO", HELLO_FIXED, HELLO_FIXED + DB_PROTO_CONFIG_MAX, SRC },
	[DB_FR_HELLO_ACK] = { "HELLO_ACK", 16, 16, DST },
	[DB_FR_PING] = { "PING", 8, 8, SRC },
	[DB_FR_PONG] = { "PONG", 16, 16, DST },
	[DB_FR_ROUND_BEGIN] = { "ROUND_BEGIN", 16, 16, SRC },
	[DB_FR_PAGES] = { "PAGES", 16, DB_PROTO_PAGES_MAX, SRC },
	[DB_FR_ROUND_END] = { "ROUND_END", 24, 24, SRC },
	[DB_FR_STATE] = { "STATE", 16, 16 + DB_PROTO_STATE_MAX, SRC },
	[DB_FR_END] = { "END", 32, 32, SRC },
	[DB_FR_HASH_REQ] = { "HASH_REQ", 16, 16, DST },
	[DB_FR_HASHES] = { "HASHES", 24, 16 + 8 * DB_PROTO_HASHES_MAX, SRC },
	[DB_FR_VERDICT] = { "VERDICT", 168, 168, DST },
	[DB_FR_RESUMED] = { "RESUMED", 24, 24, DST },
	[DB_FR_DONE] = { "DONE", 88, 88, DST },
	[DB_FR_HEARTBEAT] = { "HEARTBEAT", 0, 0, SRC | DST },
	[DB_FR_ERROR] = { "ERROR", 8, 8 + DB_PROTO_MSG_MAX, SRC | DST },
	[DB_FR_CANCEL] = { "CANCEL", 8, 8 + DB_PROTO_MSG_MAX, SRC },
#undef SRC
#undef DST
};

const char *db_frame_name(unsigned type)
{
	if (type == 0 || type >= DB_FR_TYPE_COUNT)
		return "UNKNOWN";
	return frames[type].name;
}

bool db_frame_from(unsigned type, enum db_role sender)
{
	return type > 0 && type < DB_FR_TYPE_COUNT &&
	       (frames[type].from & (1u << sender));
}

static const char *role_name(enum db_role r)
{
	return r == DB_ROLE_SRC ? "source" : "destination";
}

void db_hdr_encode(uint8_t out[DB_PROTO_HDR_BYTES], uint16_t type,
		   uint32_t len, uint32_t seq)
{
	db_put32(out, DB_PROTO_MAGIC);
	out[4] = DB_PROTO_VERSION & 0xff;
	out[5] = DB_PROTO_VERSION >> 8;
	out[6] = (uint8_t)type;
	out[7] = (uint8_t)(type >> 8);
	db_put32(out + 8, len);
	db_put32(out + 12, seq);
}

int db_hdr_decode(const uint8_t in[DB_PROTO_HDR_BYTES], struct db_frame_hdr *h,
		  uint32_t expect_seq, enum db_role sender)
{
	h->magic = db_get32(in);
	h->version = (uint16_t)(in[4] | in[5] << 8);
	h->type = (uint16_t)(in[6] | in[7] << 8);
	h->len = db_get32(in + 8);
	h->seq = db_get32(in + 12);

	if (h->magic != DB_PROTO_MAGIC)
		return db_error(-EPROTO,
				"bad frame magic 0x%08x (expected 0x%08x): not a dirtybench stream, or out of sync",
				h->magic, DB_PROTO_MAGIC);
	if (h->version != DB_PROTO_VERSION)
		return db_error(-EPROTO,
				"protocol version %u not supported (this side speaks %u)",
				h->version, DB_PROTO_VERSION);
	if (h->type == 0 || h->type >= DB_FR_TYPE_COUNT)
		return db_error(-EPROTO, "unknown frame type %u", h->type);
	if (!db_frame_from(h->type, sender))
		return db_error(-EPROTO, "frame %s cannot come from the %s",
				db_frame_name(h->type), role_name(sender));
	if (h->len > frames[h->type].max)
		return db_error(-EPROTO,
				"frame %s of %u bytes exceeds its limit of %u bytes",
				db_frame_name(h->type), h->len,
				frames[h->type].max);
	if (h->len < frames[h->type].min)
		return db_error(-EPROTO,
				"frame %s of %u bytes is shorter than its minimum of %u bytes",
				db_frame_name(h->type), h->len,
				frames[h->type].min);
	if (h->seq != expect_seq)
		return db_error(-EPROTO,
				"frame %s has sequence number %u, expected %u (lost or replayed frame)",
				db_frame_name(h->type), h->seq, expect_seq);
	return 0;
}

static uint64_t dbl_bits(double d)
{
	uint64_t v;

	memcpy(&v, &d, sizeof(v));
	return v;
}

static double bits_dbl(uint64_t v)
{
	double d;

	memcpy(&d, &v, sizeof(d));
	return d;
}

size_t db_enc_hello(uint8_t *buf, size_t cap, const struct db_hello *h)
{
	uint32_t n = h->config_len;

	if (n > DB_PROTO_CONFIG_MAX)
		n = DB_PROTO_CONFIG_MAX;
	if (cap < HELLO_FIXED + n)
		return 0;
	memset(buf, 0, HELLO_FIXED);
	db_put64(buf, h->ram_bytes);
	db_put32(buf + 8, h->page_size);
	db_put32(buf + 12, h->chunk_pages);
	db_put64(buf + 16, h->dr.total_pages);
	db_put64(buf + 24, h->dr.dirty_pages);
	db_put64(buf + 32, h->dr.period_ms);
	db_put32(buf + 40, (uint32_t)h->dr.pattern);
	db_put32(buf + 44, h->dr.copies);
	db_put64(buf + 48, dbl_bits(h->dr.hot_fraction));
	db_put64(buf + 56, dbl_bits(h->dr.zipf_s));
	db_put64(buf + 64, h->dr.seed);
	db_put32(buf + 72, h->dest_tail_ms);
	db_put32(buf + 76, h->flags);
	db_put64(buf + 80, h->src_now_ns);
	db_put64(buf + 88, db_hash64(h->config, n));
	db_put32(buf + 96, n);
	memcpy(buf + HELLO_FIXED, h->config, n);
	return HELLO_FIXED + n;
}

size_t db_enc_u64s(uint8_t *buf, const uint64_t *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		db_put64(buf + 8 * i, v[i]);
	return 8 * n;
}

size_t db_enc_round(uint8_t *buf, uint16_t type, uint32_t round,
		    uint32_t flags, uint64_t pages, uint64_t zero_pages)
{
	db_put32(buf, round);
	db_put32(buf + 4, flags);
	db_put64(buf + 8, pages);
	if (type == DB_FR_ROUND_BEGIN)
		return 16;
	db_put64(buf + 16, zero_pages);
	return 24;
}

size_t db_enc_pages_prefix(uint8_t *buf, uint32_t count, const uint64_t *desc)
{
	db_put32(buf, count);
	db_put32(buf + 4, 0);
	return 8 + db_enc_u64s(buf + 8, desc, count);
}

size_t db_enc_state_prefix(uint8_t *buf, uint64_t paused_at_ns, uint32_t len)
{
	db_put64(buf, paused_at_ns);
	db_put32(buf + 8, len);
	db_put32(buf + 12, 0);
	return 16;
}

size_t db_enc_end(uint8_t *buf, struct db_hash128 sum, uint64_t pages_sent,
		  uint64_t rounds)
{
	db_put64(buf, sum.hi);
	db_put64(buf + 8, sum.lo);
	db_put64(buf + 16, pages_sent);
	db_put64(buf + 24, rounds);
	return 32;
}

size_t db_enc_hash_req(uint8_t *buf, uint32_t kind, uint64_t first, uint32_t n)
{
	db_put32(buf, kind);
	db_put32(buf + 4, n);
	db_put64(buf + 8, first);
	return 16;
}

size_t db_enc_hashes_prefix(uint8_t *buf, uint32_t kind, uint64_t first,
			    uint32_t n)
{
	return db_enc_hash_req(buf, kind, first, n);
}

size_t db_enc_verdict(uint8_t *buf, const struct db_verdict *v)
{
	unsigned i;

	memset(buf, 0, 168);
	db_put32(buf, v->equal);
	db_put32(buf + 4, v->nfirst);
	db_put64(buf + 8, v->mismatched_pages);
	db_put64(buf + 16, v->mismatched_chunks);
	db_put64(buf + 24, v->dst_sum.hi);
	db_put64(buf + 32, v->dst_sum.lo);
	for (i = 0; i < v->nfirst && i < DB_PROTO_FIRST_MAX; i++)
		db_put64(buf + 40 + 8 * i, v->first[i]);
	return 168;
}

size_t db_enc_tail(uint8_t *buf, const struct db_tail *t)
{
	db_put64(buf, t->tail_ns);
	db_put64(buf + 8, t->pages_written);
	db_put64(buf + 16, t->late_periods);
	db_put64(buf + 24, t->max_lateness_ns);
	db_put64(buf + 32, t->periods);
	db_put64(buf + 40, dbl_bits(t->achieved_pps));
	db_put64(buf + 48, t->probe_first_ns);
	db_put64(buf + 56, t->probe_max_gap_ns);
	db_put64(buf + 64, t->probe_max_gap_at_ns);
	db_put64(buf + 72, t->probe_resolution_ns);
	db_put64(buf + 80, t->probe_gaps);
	return 88;
}

size_t db_enc_error(uint8_t *buf, uint32_t code, const char *text)
{
	size_t n = strlen(text);

	if (n > DB_PROTO_MSG_MAX)
		n = DB_PROTO_MSG_MAX;
	db_put32(buf, code);
	db_put32(buf + 4, (uint32_t)n);
	memcpy(buf + 8, text, n);
	return 8 + n;
}

static bool printable(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c < 0x20 && c != '\n' && c != '\t') || c > 0x7e)
			return false;
	}
	return true;
}

static int bad(uint16_t type, const char *why)
{
	return db_error(-EPROTO, "frame %s: %s", db_frame_name(type), why);
}

static int decode_hello(const uint8_t *p, uint32_t len, struct db_hello *h)
{
	uint32_t pattern;
	int err;

	memset(h, 0, sizeof(*h));
	h->ram_bytes = db_get64(p);
	h->page_size = db_get32(p + 8);
	h->chunk_pages = db_get32(p + 12);
	h->dr.total_pages = db_get64(p + 16);
	h->dr.dirty_pages = db_get64(p + 24);
	h->dr.period_ms = db_get64(p + 32);
	pattern = db_get32(p + 40);
	h->dr.copies = db_get32(p + 44);
	h->dr.hot_fraction = bits_dbl(db_get64(p + 48));
	h->dr.zipf_s = bits_dbl(db_get64(p + 56));
	h->dr.seed = db_get64(p + 64);
	h->dest_tail_ms = db_get32(p + 72);
	h->flags = db_get32(p + 76);
	h->src_now_ns = db_get64(p + 80);
	h->config_hash = db_get64(p + 88);
	h->config_len = db_get32(p + 96);
	h->config = (const char *)p + HELLO_FIXED;

	if (h->page_size != DB_PAGE_SIZE)
		return db_error(-EPROTO,
				"frame HELLO: page size %u differs from this side's %zu",
				h->page_size, DB_PAGE_SIZE);
	if (h->ram_bytes == 0 || h->ram_bytes % DB_PAGE_SIZE ||
	    h->ram_bytes / DB_PAGE_SIZE > DB_PAGE_DESC_PAGE_MASK)
		return db_error(-EPROTO,
				"frame HELLO: RAM size %llu is not a positive multiple of the page size",
				(unsigned long long)h->ram_bytes);
	if (h->chunk_pages == 0 || h->chunk_pages > DB_PROTO_HASHES_MAX)
		return db_error(-EPROTO, "frame HELLO: chunk of %u pages outside [1, %u]",
				h->chunk_pages, DB_PROTO_HASHES_MAX);
	if (h->flags & ~DB_HELLO_WORKLOAD)
		return bad(DB_FR_HELLO, "unknown flags");
	if (db_get32(p + 100))
		return bad(DB_FR_HELLO, "reserved field is not zero");
	if (h->dest_tail_ms > 600000)
		return bad(DB_FR_HELLO, "destination tail longer than 10 minutes");
	if (h->config_len != len - HELLO_FIXED)
		return db_error(-EPROTO,
				"frame HELLO: configuration of %u bytes in a frame that holds %u",
				h->config_len, len - HELLO_FIXED);
	if (!printable(h->config, h->config_len))
		return bad(DB_FR_HELLO, "configuration text is not printable ASCII");
	if (db_hash64(h->config, h->config_len) != h->config_hash)
		return bad(DB_FR_HELLO, "configuration checksum does not match its text");
	if (pattern > DR_PATTERN_ZIPF)
		return db_error(-EPROTO, "frame HELLO: unknown workload pattern %u",
				pattern);
	h->dr.pattern = (enum dr_pattern)pattern;
	if (h->flags & DB_HELLO_WORKLOAD) {
		if (!isfinite(h->dr.hot_fraction) || !isfinite(h->dr.zipf_s))
			return bad(DB_FR_HELLO, "workload parameters are not finite");
		err = dr_config_check(&h->dr, h->ram_bytes / DB_PAGE_SIZE);
		if (err)
			return db_error(-EPROTO,
					"frame HELLO: workload of %u x %llu pages (%llu per %llu ms) does not fit a RAM of %llu pages",
					h->dr.copies,
					(unsigned long long)h->dr.total_pages,
					(unsigned long long)h->dr.dirty_pages,
					(unsigned long long)h->dr.period_ms,
					(unsigned long long)(h->ram_bytes / DB_PAGE_SIZE));
	}
	return 0;
}

static int decode_pages(const uint8_t *p, uint32_t len, struct db_msg *m)
{
	uint32_t count = db_get32(p), i, nonzero = 0;
	uint64_t d, page, n, next = 0, pages = 0;

	if (db_get32(p + 4))
		return bad(DB_FR_PAGES, "reserved field is not zero");
	if (count == 0 || count > DB_PROTO_BATCH_PAGES)
		return db_error(-EPROTO, "frame PAGES: %u pages, outside [1, %u]",
				count, DB_PROTO_BATCH_PAGES);
	if (len < 8 + 8ull * count)
		return db_error(-EPROTO,
				"frame PAGES: %u descriptors do not fit in %u bytes",
				count, len);
	for (i = 0; i < count; i++) {
		d = db_get64(p + 8 + 8 * i);
		if ((d & ~(DB_PAGE_DESC_ZERO | DB_PAGE_DESC_RUN_MASK |
			   DB_PAGE_DESC_PAGE_MASK)) ||
		    (!(d & DB_PAGE_DESC_ZERO) && (d & DB_PAGE_DESC_RUN_MASK)))
			return db_error(-EPROTO,
					"frame PAGES: descriptor %u has reserved bits set (0x%016llx)",
					i, (unsigned long long)d);
		page = d & DB_PAGE_DESC_PAGE_MASK;
		n = ((d & DB_PAGE_DESC_RUN_MASK) >> DB_PAGE_DESC_RUN_SHIFT) + 1;
		/* no wrap: page < 2^52, n <= 1024, so page + n < 2^53 */
		if (page + n > DB_PAGE_DESC_PAGE_MASK + 1)
			return db_error(-EPROTO,
					"frame PAGES: descriptor %u: %llu zero pages from page %llu end past the last page number",
					i, (unsigned long long)n, (unsigned long long)page);
		/* ascending, runs apart: a page at most once, data straight into place */
		if (i && page < next)
			return db_error(-EPROTO,
					"frame PAGES: descriptor %u (page %llu) does not follow page %llu in ascending order",
					i, (unsigned long long)page,
					(unsigned long long)(next - 1));
		next = page + n;
		pages += n;
		if (!(d & DB_PAGE_DESC_ZERO))
			nonzero++;
	}
	if (len != 8 + 8ull * count + (uint64_t)DB_PAGE_SIZE * nonzero)
		return db_error(-EPROTO,
				"frame PAGES: %u bytes, but %u descriptors (%u with data) need %llu",
				len, count, nonzero,
				(unsigned long long)(8 + 8ull * count +
						     (uint64_t)DB_PAGE_SIZE * nonzero));
	m->pages.count = count;
	m->pages.nonzero = nonzero;
	m->pages.pages = pages;
	m->pages.desc = p + 8;
	m->pages.data = p + 8 + 8 * count;
	return 0;
}

int db_msg_decode(uint16_t type, const uint8_t *p, uint32_t len,
		  struct db_msg *m)
{
	unsigned i;

	memset(m, 0, sizeof(*m));
	m->type = type;
	if (type == 0 || type >= DB_FR_TYPE_COUNT)
		return db_error(-EPROTO, "unknown frame type %u", type);
	if (len < frames[type].min || len > frames[type].max)
		return db_error(-EPROTO, "frame %s: %u bytes, outside [%u, %u]",
				db_frame_name(type), len, frames[type].min,
				frames[type].max);
	switch (type) {
	case DB_FR_HELLO:
		return decode_hello(p, len, &m->hello);
	case DB_FR_HELLO_ACK:
		m->ack.dst_now_ns = db_get64(p);
		return 0;
	case DB_FR_PING:
		m->time.t1 = db_get64(p);
		return 0;
	case DB_FR_PONG:
		m->time.t1 = db_get64(p);
		m->time.t2 = db_get64(p + 8);
		return 0;
	case DB_FR_ROUND_BEGIN:
	case DB_FR_ROUND_END:
		m->round.round = db_get32(p);
		m->round.flags = db_get32(p + 4);
		m->round.pages = db_get64(p + 8);
		if (type == DB_FR_ROUND_END)
			m->round.zero_pages = db_get64(p + 16);
		if (type == DB_FR_ROUND_BEGIN && (m->round.flags & ~DB_ROUND_FINAL))
			return bad(type, "unknown flags");
		if (type == DB_FR_ROUND_END && m->round.flags)
			return bad(type, "reserved field is not zero");
		if (m->round.zero_pages > m->round.pages)
			return bad(type, "more zero pages than pages");
		return 0;
	case DB_FR_PAGES:
		return decode_pages(p, len, m);
	case DB_FR_STATE:
		m->state.paused_at_ns = db_get64(p);
		m->state.len = db_get32(p + 8);
		m->state.data = p + 16;
		if (db_get32(p + 12))
			return bad(type, "reserved field is not zero");
		if (m->state.len != len - 16)
			return db_error(-EPROTO,
					"frame STATE: state of %u bytes in a frame that holds %u",
					m->state.len, len - 16);
		return 0;
	case DB_FR_END:
		m->end.sum.hi = db_get64(p);
		m->end.sum.lo = db_get64(p + 8);
		m->end.pages_sent = db_get64(p + 16);
		m->end.rounds = db_get64(p + 24);
		return 0;
	case DB_FR_HASH_REQ:
	case DB_FR_HASHES:
		m->hash.kind = db_get32(p);
		m->hash.n = db_get32(p + 4);
		m->hash.first = db_get64(p + 8);
		if (m->hash.kind != DB_HASH_CHUNKS && m->hash.kind != DB_HASH_PAGES)
			return db_error(-EPROTO, "frame %s: unknown hash kind %u",
					db_frame_name(type), m->hash.kind);
		if (m->hash.n == 0 || m->hash.n > DB_PROTO_HASHES_MAX)
			return db_error(-EPROTO, "frame %s: %u hashes, outside [1, %u]",
					db_frame_name(type), m->hash.n,
					DB_PROTO_HASHES_MAX);
		if (type == DB_FR_HASHES) {
			if (len != 16 + 8ull * m->hash.n)
				return db_error(-EPROTO,
						"frame HASHES: %u bytes for %u hashes",
						len, m->hash.n);
			m->hash.hashes = p + 16;
		}
		return 0;
	case DB_FR_VERDICT:
		m->verdict.equal = db_get32(p);
		m->verdict.nfirst = db_get32(p + 4);
		m->verdict.mismatched_pages = db_get64(p + 8);
		m->verdict.mismatched_chunks = db_get64(p + 16);
		m->verdict.dst_sum.hi = db_get64(p + 24);
		m->verdict.dst_sum.lo = db_get64(p + 32);
		if (m->verdict.equal > 1)
			return bad(type, "'equal' is neither 0 nor 1");
		if (m->verdict.nfirst > DB_PROTO_FIRST_MAX ||
		    m->verdict.nfirst > m->verdict.mismatched_pages)
			return bad(type, "more listed pages than mismatched pages");
		if (m->verdict.equal && m->verdict.mismatched_pages)
			return bad(type, "equal, yet pages differ");
		for (i = 0; i < m->verdict.nfirst; i++)
			m->verdict.first[i] = db_get64(p + 40 + 8 * i);
		return 0;
	case DB_FR_RESUMED:
		m->resumed.ready_at = db_get64(p);
		m->resumed.verified_at = db_get64(p + 8);
		m->resumed.resumed_at = db_get64(p + 16);
		if (m->resumed.ready_at > m->resumed.verified_at ||
		    m->resumed.verified_at > m->resumed.resumed_at)
			return bad(type, "times out of order");
		return 0;
	case DB_FR_DONE:
		m->done.tail_ns = db_get64(p);
		m->done.pages_written = db_get64(p + 8);
		m->done.late_periods = db_get64(p + 16);
		m->done.max_lateness_ns = db_get64(p + 24);
		m->done.periods = db_get64(p + 32);
		m->done.achieved_pps = bits_dbl(db_get64(p + 40));
		m->done.probe_first_ns = db_get64(p + 48);
		m->done.probe_max_gap_ns = db_get64(p + 56);
		m->done.probe_max_gap_at_ns = db_get64(p + 64);
		m->done.probe_resolution_ns = db_get64(p + 72);
		m->done.probe_gaps = db_get64(p + 80);
		if (!isfinite(m->done.achieved_pps) || m->done.achieved_pps < 0)
			return bad(type, "achieved rate is not a number");
		if (m->done.probe_resolution_ns > 1000000000ull ||
		    m->done.probe_max_gap_ns > m->done.tail_ns + 1000000000ull)
			return bad(type, "stall probe figures out of range");
		return 0;
	case DB_FR_HEARTBEAT:
		return 0;
	case DB_FR_ERROR:
	case DB_FR_CANCEL:
		m->error.code = db_get32(p);
		m->error.len = db_get32(p + 4);
		m->error.text = (const char *)p + 8;
		if (m->error.len != len - 8)
			return bad(type, "text length does not match the frame");
		return 0;
	}
	return db_error(-EPROTO, "unknown frame type %u", type);
}

void db_pages_entry(const struct db_msg *m, uint32_t i, uint64_t *page,
		    uint64_t *npages, bool *zero)
{
	uint64_t d = db_get64(m->pages.desc + 8 * i);

	*page = d & DB_PAGE_DESC_PAGE_MASK;
	*npages = ((d & DB_PAGE_DESC_RUN_MASK) >> DB_PAGE_DESC_RUN_SHIFT) + 1;
	*zero = (d & DB_PAGE_DESC_ZERO) != 0;
}

uint64_t db_hashes_at(const struct db_msg *m, uint32_t i)
{
	return db_get64(m->hash.hashes + 8 * i);
}

void db_proto_rx_init(struct db_proto_rx *st, enum db_role role)
{
	memset(st, 0, sizeof(*st));
	st->role = role;
	st->phase = role == DB_ROLE_DST ? DB_PH_HELLO : DB_PH_ACK;
}

static int order(const struct db_proto_rx *st, uint16_t type, const char *what)
{
	return db_error(-EPROTO, "frame %s out of order: %s", db_frame_name(type),
			what);
}

static uint64_t nchunks(const struct db_proto_rx *st)
{
	return st->chunk_pages ? DB_DIV_ROUND_UP(st->npages, st->chunk_pages) : 0;
}

/* What the destination may receive. */
static int rx_dst(struct db_proto_rx *st, struct db_msg *m)
{
	uint64_t page, n;
	uint32_t i;
	bool zero;

	switch (st->phase) {
	case DB_PH_HELLO:
		if (m->type != DB_FR_HELLO)
			return order(st, m->type, "expected HELLO first");
		st->npages = m->hello.ram_bytes / DB_PAGE_SIZE;
		st->chunk_pages = m->hello.chunk_pages;
		st->phase = DB_PH_READY;
		return 0;
	case DB_PH_READY:
		if (m->type == DB_FR_PING)
			return 0;
		if (m->type != DB_FR_ROUND_BEGIN) {
			if (m->type == DB_FR_PAGES || m->type == DB_FR_ROUND_END)
				return order(st, m->type, "outside a round (no ROUND_BEGIN)");
			if (m->type == DB_FR_STATE || m->type == DB_FR_END)
				return order(st, m->type, "before the final round");
			return order(st, m->type, "expected ROUND_BEGIN");
		}
		if (m->round.round != st->next_round)
			return db_error(-EPROTO,
					"frame ROUND_BEGIN out of order: round %u, expected %u",
					m->round.round, st->next_round);
		if (m->round.pages > st->npages)
			return db_error(-EPROTO,
					"frame ROUND_BEGIN: %llu pages announced, RAM has %llu",
					(unsigned long long)m->round.pages,
					(unsigned long long)st->npages);
		st->round = m->round.round;
		st->round_final = m->round.flags & DB_ROUND_FINAL;
		st->round_expect = m->round.pages;
		st->round_got = st->round_zero = 0;
		st->phase = DB_PH_ROUND;
		return 0;
	case DB_PH_ROUND:
		if (m->type == DB_FR_PAGES) {
			if (st->round_got + m->pages.pages > st->round_expect)
				return db_error(-EPROTO,
						"frame PAGES: round %u announced %llu pages, this batch brings it to %llu",
						st->round,
						(unsigned long long)st->round_expect,
						(unsigned long long)(st->round_got + m->pages.pages));
			for (i = 0; i < m->pages.count; i++) {
				db_pages_entry(m, i, &page, &n, &zero);
				if (page >= st->npages)
					return db_error(-EPROTO,
							"frame PAGES: page %llu outside RAM of %llu pages",
							(unsigned long long)page,
							(unsigned long long)st->npages);
				if (n > st->npages - page)
					return db_error(-EPROTO,
							"frame PAGES: zero pages [%llu, %llu) outside RAM of %llu pages",
							(unsigned long long)page,
							(unsigned long long)(page + n),
							(unsigned long long)st->npages);
				if (zero)
					st->round_zero += n;
			}
			st->round_got += m->pages.pages;
			return 0;
		}
		if (m->type != DB_FR_ROUND_END)
			return order(st, m->type, "inside a round");
		if (m->round.round != st->round ||
		    m->round.pages != st->round_got ||
		    m->round.zero_pages != st->round_zero ||
		    st->round_got != st->round_expect)
			return db_error(-EPROTO,
					"frame ROUND_END: round %u with %llu pages (%llu zero), but round %u announced %llu and brought %llu (%llu zero)",
					m->round.round,
					(unsigned long long)m->round.pages,
					(unsigned long long)m->round.zero_pages,
					st->round,
					(unsigned long long)st->round_expect,
					(unsigned long long)st->round_got,
					(unsigned long long)st->round_zero);
		st->next_round = st->round + 1;
		st->phase = st->round_final ? DB_PH_FINAL : DB_PH_READY;
		return 0;
	case DB_PH_FINAL:
		if (m->type != DB_FR_STATE)
			return order(st, m->type, "expected STATE after the final round");
		if (st->state_max && m->state.len > st->state_max)
			return db_error(-EPROTO,
					"frame STATE: %u bytes of workload state, expected %llu",
					m->state.len,
					(unsigned long long)st->state_max);
		st->phase = DB_PH_STATE;
		return 0;
	case DB_PH_STATE:
		if (m->type != DB_FR_END)
			return order(st, m->type, "expected END after STATE");
		st->phase = DB_PH_VERIFY;
		return 0;
	case DB_PH_VERIFY:
		if (m->type != DB_FR_HASHES || !st->hash_pending)
			return order(st, m->type, "after END only asked-for HASHES may come");
		if (m->hash.kind != st->req_kind || m->hash.first != st->req_first ||
		    m->hash.n != st->req_n)
			return db_error(-EPROTO,
					"frame HASHES: kind %u [%llu, +%u) does not answer the request kind %u [%llu, +%u)",
					m->hash.kind,
					(unsigned long long)m->hash.first,
					m->hash.n, st->req_kind,
					(unsigned long long)st->req_first,
					st->req_n);
		st->hash_pending = false;
		return 0;
	default:
		return order(st, m->type, "the migration is over");
	}
}

/* What the source may receive. */
static int rx_src(struct db_proto_rx *st, struct db_msg *m)
{
	uint64_t limit;

	switch (st->phase) {
	case DB_PH_ACK:
		if (m->type != DB_FR_HELLO_ACK)
			return order(st, m->type, "expected HELLO_ACK");
		st->phase = DB_PH_RUN;
		return 0;
	case DB_PH_RUN:
		if (m->type == DB_FR_PONG && st->pings) {
			st->pings--;
			return 0;
		}
		return order(st, m->type, "while pages are being sent");
	case DB_PH_JUDGE:
		if (m->type == DB_FR_HASH_REQ) {
			limit = m->hash.kind == DB_HASH_CHUNKS ? nchunks(st) : st->npages;
			if (m->hash.first > limit || m->hash.n > limit - m->hash.first)
				return db_error(-EPROTO,
						"frame HASH_REQ: [%llu, +%u) outside the %llu %s",
						(unsigned long long)m->hash.first,
						m->hash.n, (unsigned long long)limit,
						m->hash.kind == DB_HASH_CHUNKS ? "chunks" : "pages");
			return 0;
		}
		if (m->type != DB_FR_VERDICT)
			return order(st, m->type, "expected VERDICT or HASH_REQ");
		st->phase = m->verdict.equal ? DB_PH_RESUME : DB_PH_CLOSED;
		return 0;
	case DB_PH_RESUME:
		if (m->type != DB_FR_RESUMED)
			return order(st, m->type, "expected RESUMED");
		st->phase = DB_PH_TAIL;
		return 0;
	case DB_PH_TAIL:
		if (m->type != DB_FR_DONE)
			return order(st, m->type, "expected DONE");
		st->phase = DB_PH_CLOSED;
		return 0;
	default:
		return order(st, m->type, "the migration is over");
	}
}

int db_proto_rx(struct db_proto_rx *st, uint16_t type, const uint8_t *p,
		uint32_t len, struct db_msg *m)
{
	enum db_role peer = st->role == DB_ROLE_SRC ? DB_ROLE_DST : DB_ROLE_SRC;
	int err;

	if (!db_frame_from(type, peer))
		return db_error(-EPROTO, "frame %s cannot come from the %s",
				db_frame_name(type), role_name(peer));
	err = db_msg_decode(type, p, len, m);
	if (err)
		return err;
	if (type == DB_FR_HEARTBEAT)
		return 0;
	if (type == DB_FR_ERROR) {
		st->phase = DB_PH_CLOSED;
		return 0;
	}
	if (type == DB_FR_CANCEL) {
		if (st->phase == DB_PH_VERIFY || st->phase == DB_PH_CLOSED)
			return order(st, type, "after END");
		st->phase = DB_PH_CLOSED;
		return 0;
	}
	return st->role == DB_ROLE_DST ? rx_dst(st, m) : rx_src(st, m);
}

void db_proto_tx(struct db_proto_rx *st, uint16_t type, const uint8_t *p,
		 uint32_t len)
{
	switch (type) {
	case DB_FR_HELLO:
		if (len >= 16) {
			st->npages = db_get64(p) / DB_PAGE_SIZE;
			st->chunk_pages = db_get32(p + 12);
		}
		break;
	case DB_FR_PING:
		st->pings++;
		break;
	case DB_FR_END:
		st->phase = DB_PH_JUDGE;
		break;
	case DB_FR_HASH_REQ:
		if (len >= 16) {
			st->hash_pending = true;
			st->req_kind = db_get32(p);
			st->req_n = db_get32(p + 4);
			st->req_first = db_get64(p + 8);
		}
		break;
	case DB_FR_CANCEL:
	case DB_FR_ERROR:
		st->phase = DB_PH_CLOSED;
		break;
	default:
		break;
	}
}
