// SPDX-License-Identifier: MIT
/* The wire protocol: every frame's codec and every validation rule. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dirtybench/common.h"
#include "wire/proto.h"
#include "wire/transport.h"

#define NPAGES 16

static uint8_t buf[DB_PROTO_PAGES_MAX], pbuf[DB_PROTO_PAGES_MAX];

static void assert_msg(const char *needle)
{
	cr_assert(strstr(db_strerror(), needle), "message '%s' mentions '%s'",
		  db_strerror(), needle);
}

static size_t hello(uint8_t *p, uint64_t ram, const char *text)
{
	struct db_hello h = {
		.ram_bytes = ram, .page_size = DB_PAGE_SIZE, .chunk_pages = 4,
		.flags = DB_HELLO_WORKLOAD, .dest_tail_ms = 100,
		.dr = { .total_pages = 8, .dirty_pages = 2, .period_ms = 10,
			.pattern = DR_PATTERN_SEQ, .copies = 1, .hot_fraction = 1,
			.zipf_s = 1, .seed = 7 },
		.config = text, .config_len = (uint32_t)strlen(text),
	};

	return db_enc_hello(p, DB_PROTO_PAGES_MAX, &h);
}

/* A destination state machine that has accepted a HELLO for NPAGES. */
static void dst_ready(struct db_proto_rx *st)
{
	struct db_msg m;
	size_t n = hello(buf, NPAGES * DB_PAGE_SIZE, "tracker=hash");

	db_proto_rx_init(st, DB_ROLE_DST);
	cr_assert_eq(db_proto_rx(st, DB_FR_HELLO, buf, (uint32_t)n, &m), 0, "%s",
		     db_strerror());
}

static int feed(struct db_proto_rx *st, uint16_t type, const uint8_t *p, size_t n)
{
	struct db_msg m;

	return db_proto_rx(st, type, p, (uint32_t)n, &m);
}

static int begin(struct db_proto_rx *st, uint32_t round, uint32_t flags,
		 uint64_t pages)
{
	uint8_t p[24];

	return feed(st, DB_FR_ROUND_BEGIN, p,
		    db_enc_round(p, DB_FR_ROUND_BEGIN, round, flags, pages, 0));
}

static int end_round(struct db_proto_rx *st, uint32_t round, uint64_t pages,
		     uint64_t zero)
{
	uint8_t p[24];

	return feed(st, DB_FR_ROUND_END, p,
		    db_enc_round(p, DB_FR_ROUND_END, round, 0, pages, zero));
}

/* One PAGES frame: pages[i] with data (filled with the page number) or zero. */
static size_t pages(uint8_t *p, const uint64_t *pg, const bool *zero, uint32_t n)
{
	uint64_t desc[DB_PROTO_BATCH_PAGES] = { 0 };
	size_t len, i, nd = 0;

	for (i = 0; i < n; i++)
		desc[i] = pg[i] | (zero[i] ? DB_PAGE_DESC_ZERO : 0);
	len = db_enc_pages_prefix(p, n, desc);
	for (i = 0; i < n; i++)
		if (!zero[i])
			memset(p + len + DB_PAGE_SIZE * nd++, (int)pg[i], DB_PAGE_SIZE);
	return len + DB_PAGE_SIZE * nd;
}

Test(proto, header_roundtrip_and_every_check)
{
	struct db_frame_hdr h;
	uint8_t b[DB_PROTO_HDR_BYTES];

	db_hdr_encode(b, DB_FR_PAGES, 4096 + 16, 7);
	cr_assert_eq(db_hdr_decode(b, &h, 7, DB_ROLE_SRC), 0, "%s", db_strerror());
	cr_assert_eq(h.type, DB_FR_PAGES);
	cr_assert_eq(h.len, 4096 + 16);
	cr_assert_eq(h.seq, 7);
	cr_assert_eq(b[0], 'D', "magic spells DBMF in memory");

	cr_assert_eq(db_hdr_decode(b, &h, 8, DB_ROLE_SRC), -EPROTO);
	assert_msg("sequence number 7, expected 8");
	cr_assert_eq(db_hdr_decode(b, &h, 7, DB_ROLE_DST), -EPROTO);
	assert_msg("cannot come from the destination");

	db_hdr_encode(b, DB_FR_PAGES, DB_PROTO_PAGES_MAX + 1, 0);
	cr_assert_eq(db_hdr_decode(b, &h, 0, DB_ROLE_SRC), -EPROTO);
	assert_msg("exceeds its limit");
	db_hdr_encode(b, DB_FR_END, 31, 0);
	cr_assert_eq(db_hdr_decode(b, &h, 0, DB_ROLE_SRC), -EPROTO);
	assert_msg("shorter than its minimum");
	db_hdr_encode(b, 99, 0, 0);
	cr_assert_eq(db_hdr_decode(b, &h, 0, DB_ROLE_SRC), -EPROTO);
	assert_msg("unknown frame type 99");

	db_hdr_encode(b, DB_FR_HELLO, 200, 0);
	b[4] = 7;
	cr_assert_eq(db_hdr_decode(b, &h, 0, DB_ROLE_SRC), -EPROTO);
	assert_msg("protocol version 7 not supported");
	b[0] ^= 0xff;
	cr_assert_eq(db_hdr_decode(b, &h, 0, DB_ROLE_SRC), -EPROTO);
	assert_msg("bad frame magic");
}

Test(proto, hello_roundtrip_and_refusals)
{
	struct db_msg m;
	size_t n = hello(buf, 64 * DB_PAGE_SIZE, "tracker=hash ram_bytes=262144");

	cr_assert_eq(db_msg_decode(DB_FR_HELLO, buf, (uint32_t)n, &m), 0, "%s",
		     db_strerror());
	cr_assert_eq(m.hello.ram_bytes, 64 * DB_PAGE_SIZE);
	cr_assert_eq(m.hello.chunk_pages, 4);
	cr_assert_eq(m.hello.dr.dirty_pages, 2);
	cr_assert_eq(m.hello.dr.seed, 7);
	cr_assert_eq(m.hello.dest_tail_ms, 100);
	cr_assert_eq(m.hello.config_len, strlen("tracker=hash ram_bytes=262144"));
	cr_assert_eq(memcmp(m.hello.config, "tracker=hash", 12), 0);

	db_put32(buf + 8, 8192);	/* page size */
	cr_assert_eq(db_msg_decode(DB_FR_HELLO, buf, (uint32_t)n, &m), -EPROTO);
	assert_msg("page size 8192");

	n = hello(buf, 64 * DB_PAGE_SIZE + 1, "x");
	cr_assert_eq(db_msg_decode(DB_FR_HELLO, buf, (uint32_t)n, &m), -EPROTO);
	assert_msg("RAM size");

	n = hello(buf, 64 * DB_PAGE_SIZE, "tracker=hash");
	buf[n - 1] ^= 1;	/* the text no longer matches its checksum */
	cr_assert_eq(db_msg_decode(DB_FR_HELLO, buf, (uint32_t)n, &m), -EPROTO);
	assert_msg("checksum");
	buf[n - 1] = 0x01;
	cr_assert_eq(db_msg_decode(DB_FR_HELLO, buf, (uint32_t)n, &m), -EPROTO);
	assert_msg("printable");

	/* a workload of 8 pages does not fit in 4 */
	n = hello(buf, 4 * DB_PAGE_SIZE, "x");
	cr_assert_eq(db_msg_decode(DB_FR_HELLO, buf, (uint32_t)n, &m), -EPROTO);
	assert_msg("does not fit");
	/* a config length that lies */
	n = hello(buf, 64 * DB_PAGE_SIZE, "abc");
	db_put32(buf + 96, 2);
	cr_assert_eq(db_msg_decode(DB_FR_HELLO, buf, (uint32_t)n, &m), -EPROTO);
	assert_msg("configuration of 2 bytes");
}

Test(proto, pages_roundtrip_zero_pages_carry_no_data)
{
	uint64_t pg[3] = { 3, 5, 9 }, page, np;
	bool zero[3] = { false, true, false }, z;
	struct db_msg m;
	size_t n = pages(buf, pg, zero, 3);

	cr_assert_eq(n, 8 + 3 * 8 + 2 * DB_PAGE_SIZE, "a zero page costs 8 bytes");
	cr_assert_eq(db_msg_decode(DB_FR_PAGES, buf, (uint32_t)n, &m), 0, "%s",
		     db_strerror());
	cr_assert_eq(m.pages.count, 3);
	cr_assert_eq(m.pages.nonzero, 2);
	db_pages_entry(&m, 1, &page, &np, &z);
	cr_assert(z);
	cr_assert_eq(page, 5);
	cr_assert_eq(np, 1, "a zero page alone is a run of one");
	db_pages_entry(&m, 2, &page, &np, &z);
	cr_assert(!z);
	cr_assert_eq(page, 9);
	cr_assert_eq(np, 1);
	cr_assert_eq(m.pages.data[DB_PAGE_SIZE], 9, "second data block is page 9's");
}

Test(proto, pages_sizes_are_validated)
{
	uint64_t pg[2] = { 1, 2 };
	bool zero[2] = { false, false };
	struct db_msg m;
	size_t n = pages(buf, pg, zero, 2);

	cr_assert_eq(db_msg_decode(DB_FR_PAGES, buf, (uint32_t)n - 1, &m), -EPROTO);
	assert_msg("need");
	cr_assert_eq(db_msg_decode(DB_FR_PAGES, buf, (uint32_t)n + 8, &m), -EPROTO);
	db_put32(buf, 0);
	cr_assert_eq(db_msg_decode(DB_FR_PAGES, buf, (uint32_t)n, &m), -EPROTO);
	assert_msg("0 pages");
	db_put32(buf, DB_PROTO_BATCH_PAGES + 1);
	cr_assert_eq(db_msg_decode(DB_FR_PAGES, buf, (uint32_t)n, &m), -EPROTO);
	assert_msg("outside [1, 256]");
	n = pages(buf, pg, zero, 2);
	db_put64(buf + 8, (1ull << 60) | 1);	/* reserved descriptor bits */
	cr_assert_eq(db_msg_decode(DB_FR_PAGES, buf, (uint32_t)n, &m), -EPROTO);
	assert_msg("reserved bits");
}

Test(proto, pages_come_once_in_ascending_order)
{
	uint64_t pg[3] = { 4, 4, 2 };
	bool zero[3] = { false, true, false };
	struct db_msg m;
	size_t n = pages(buf, pg, zero, 2);

	/* a page twice would make the result depend on the order of writes */
	cr_assert_eq(db_msg_decode(DB_FR_PAGES, buf, (uint32_t)n, &m), -EPROTO);
	assert_msg("descriptor 1 (page 4) does not follow page 4 in ascending order");
	n = pages(buf, pg + 1, zero + 1, 2);
	cr_assert_eq(db_msg_decode(DB_FR_PAGES, buf, (uint32_t)n, &m), -EPROTO);
	assert_msg("(page 2) does not follow page 4");
}

/* A PAGES frame of raw descriptors; data pages are filled with their number. */
static size_t pages_desc(uint8_t *p, const uint64_t *desc, uint32_t n)
{
	size_t len = db_enc_pages_prefix(p, n, desc), i, nd = 0;

	for (i = 0; i < n; i++)
		if (!(desc[i] & DB_PAGE_DESC_ZERO))
			memset(p + len + DB_PAGE_SIZE * nd++, (int)desc[i], DB_PAGE_SIZE);
	return len + DB_PAGE_SIZE * nd;
}

Test(proto, zero_runs_are_one_descriptor_each)
{
	uint64_t desc[3] = {
		DB_PAGE_DESC_ZERO_RUN(0, DB_PROTO_ZERO_RUN_MAX),
		DB_PROTO_ZERO_RUN_MAX,			/* page 1024, data */
		DB_PAGE_DESC_ZERO_RUN(1025, 3),
	}, page, np;
	struct db_msg m;
	bool z;
	size_t n = pages_desc(buf, desc, 3);

	cr_assert_eq(n, 8 + 3 * 8 + DB_PAGE_SIZE, "1028 pages in 32 bytes and one page");
	cr_assert_eq(db_msg_decode(DB_FR_PAGES, buf, (uint32_t)n, &m), 0, "%s",
		     db_strerror());
	cr_assert_eq(m.pages.count, 3);
	cr_assert_eq(m.pages.nonzero, 1);
	cr_assert_eq(m.pages.pages, 1028, "runs are counted out");
	db_pages_entry(&m, 0, &page, &np, &z);
	cr_assert(z && page == 0 && np == DB_PROTO_ZERO_RUN_MAX, "run of 1024 from 0");
	db_pages_entry(&m, 1, &page, &np, &z);
	cr_assert(!z && page == 1024 && np == 1);
	db_pages_entry(&m, 2, &page, &np, &z);
	cr_assert(z && page == 1025 && np == 3, "run of 3 from 1025: %llu x %llu",
		  (unsigned long long)page, (unsigned long long)np);
}

Test(proto, hostile_zero_runs_are_refused)
{
	uint64_t desc[2];
	struct db_proto_rx st;
	struct db_msg m;
	size_t n;

	/* a run over the page after it: that page would come twice */
	desc[0] = DB_PAGE_DESC_ZERO_RUN(2, 4);	/* pages 2..5 */
	desc[1] = 5;
	n = pages_desc(buf, desc, 2);
	cr_assert_eq(db_msg_decode(DB_FR_PAGES, buf, (uint32_t)n, &m), -EPROTO);
	assert_msg("descriptor 1 (page 5) does not follow page 5 in ascending order");
	/* two runs that overlap */
	desc[1] = DB_PAGE_DESC_ZERO_RUN(4, 8);
	n = pages_desc(buf, desc, 2);
	cr_assert_eq(db_msg_decode(DB_FR_PAGES, buf, (uint32_t)n, &m), -EPROTO);
	assert_msg("(page 4) does not follow page 5");
	/* touching runs are fine */
	desc[1] = DB_PAGE_DESC_ZERO_RUN(6, 8);
	n = pages_desc(buf, desc, 2);
	cr_assert_eq(db_msg_decode(DB_FR_PAGES, buf, (uint32_t)n, &m), 0, "%s",
		     db_strerror());
	cr_assert_eq(m.pages.pages, 12);
	/* a run length on a page with data, and bit 62 */
	desc[0] = 2 | (3ull << DB_PAGE_DESC_RUN_SHIFT);
	n = pages_desc(buf, desc, 1);
	cr_assert_eq(db_msg_decode(DB_FR_PAGES, buf, (uint32_t)n, &m), -EPROTO);
	assert_msg("reserved bits");
	desc[0] = DB_PAGE_DESC_ZERO_RUN(2, 4) | (1ull << 62);
	n = pages_desc(buf, desc, 1);
	cr_assert_eq(db_msg_decode(DB_FR_PAGES, buf, (uint32_t)n, &m), -EPROTO);
	assert_msg("reserved bits");
	/* past the last page number there is: no wrap-around */
	desc[0] = DB_PAGE_DESC_ZERO_RUN(DB_PAGE_DESC_PAGE_MASK - 1, 8);
	n = pages_desc(buf, desc, 1);
	cr_assert_eq(db_msg_decode(DB_FR_PAGES, buf, (uint32_t)n, &m), -EPROTO);
	assert_msg("end past the last page number");

	/* inside a round: the run must fit the RAM and the round's count */
	dst_ready(&st);
	cr_assert_eq(begin(&st, 0, 0, NPAGES), 0);
	desc[0] = DB_PAGE_DESC_ZERO_RUN(NPAGES - 2, 3);
	n = pages_desc(pbuf, desc, 1);
	cr_assert_eq(feed(&st, DB_FR_PAGES, pbuf, n), -EPROTO);
	assert_msg("zero pages [14, 17) outside RAM of 16 pages");
	dst_ready(&st);
	cr_assert_eq(begin(&st, 0, 0, 4), 0);
	desc[0] = DB_PAGE_DESC_ZERO_RUN(0, 5);
	n = pages_desc(pbuf, desc, 1);
	cr_assert_eq(feed(&st, DB_FR_PAGES, pbuf, n), -EPROTO);
	assert_msg("announced 4 pages, this batch brings it to 5");
	/* and the round's end counts the pages of runs, all zero */
	dst_ready(&st);
	cr_assert_eq(begin(&st, 0, 0, NPAGES), 0);
	desc[0] = DB_PAGE_DESC_ZERO_RUN(0, NPAGES - 1);
	desc[1] = NPAGES - 1;
	n = pages_desc(pbuf, desc, 2);
	cr_assert_eq(feed(&st, DB_FR_PAGES, pbuf, n), 0, "%s", db_strerror());
	cr_assert_eq(feed(&st, DB_FR_ROUND_END, pbuf,
			  db_enc_round(pbuf, DB_FR_ROUND_END, 0, 0, NPAGES, NPAGES)),
		     -EPROTO, "16 zero pages claimed, 15 came");
	cr_assert_eq(feed(&st, DB_FR_ROUND_END, pbuf,
			  db_enc_round(pbuf, DB_FR_ROUND_END, 0, 0, NPAGES, NPAGES - 1)),
		     0, "%s", db_strerror());
}

Test(proto, page_numbers_stay_inside_ram)
{
	struct db_proto_rx st;
	uint64_t pg[2] = { NPAGES - 1, NPAGES };
	bool zero[2] = { true, true };
	size_t n;

	dst_ready(&st);
	cr_assert_eq(begin(&st, 0, 0, 2), 0);
	n = pages(pbuf, pg, zero, 1);
	cr_assert_eq(feed(&st, DB_FR_PAGES, pbuf, n), 0, "last page is fine: %s",
		     db_strerror());
	n = pages(pbuf, pg + 1, zero, 1);
	cr_assert_eq(feed(&st, DB_FR_PAGES, pbuf, n), -EPROTO);
	assert_msg("page 16 outside RAM of 16 pages");
}

Test(proto, a_full_migration_in_order)
{
	struct db_proto_rx st;
	uint64_t pg[2] = { 0, 1 };
	bool zero[2] = { false, true };
	uint8_t p[64];
	size_t n;

	dst_ready(&st);
	db_put64(p, 1);
	cr_assert_eq(feed(&st, DB_FR_PING, p, 8), 0);
	cr_assert_eq(begin(&st, 0, 0, 2), 0);
	n = pages(pbuf, pg, zero, 2);
	cr_assert_eq(feed(&st, DB_FR_PAGES, pbuf, n), 0);
	cr_assert_eq(end_round(&st, 0, 2, 1), 0, "%s", db_strerror());
	cr_assert_eq(begin(&st, 1, DB_ROUND_FINAL, 1), 0);
	n = pages(pbuf, pg, zero, 1);
	cr_assert_eq(feed(&st, DB_FR_PAGES, pbuf, n), 0);
	cr_assert_eq(end_round(&st, 1, 1, 0), 0, "%s", db_strerror());
	cr_assert_eq(st.phase, DB_PH_FINAL);
	n = db_enc_state_prefix(p, 5, 3);
	cr_assert_eq(feed(&st, DB_FR_STATE, p, n + 3), 0, "%s", db_strerror());
	n = db_enc_end(p, (struct db_hash128){ 1, 2 }, 3, 2);
	cr_assert_eq(feed(&st, DB_FR_END, p, n), 0);
	cr_assert_eq(st.phase, DB_PH_VERIFY);
	/* answers only what was asked */
	n = db_enc_hashes_prefix(p, DB_HASH_CHUNKS, 0, 1);
	db_put64(p + n, 42);
	cr_assert_eq(feed(&st, DB_FR_HASHES, p, n + 8), -EPROTO);
	assert_msg("only asked-for HASHES");
	db_enc_hash_req(p + 32, DB_HASH_CHUNKS, 0, 1);
	db_proto_tx(&st, DB_FR_HASH_REQ, p + 32, 16);
	cr_assert_eq(feed(&st, DB_FR_HASHES, p, n + 8), 0, "%s", db_strerror());
}

Test(proto, phases_out_of_order_are_refused)
{
	struct db_proto_rx st;
	uint64_t pg[1] = { 0 };
	bool zero[1] = { true };
	uint8_t p[64];
	size_t n = pages(pbuf, pg, zero, 1);

	/* nothing before HELLO */
	db_proto_rx_init(&st, DB_ROLE_DST);
	cr_assert_eq(feed(&st, DB_FR_PAGES, pbuf, n), -EPROTO);
	assert_msg("expected HELLO first");

	dst_ready(&st);
	cr_assert_eq(feed(&st, DB_FR_PAGES, pbuf, n), -EPROTO);
	assert_msg("outside a round");

	dst_ready(&st);
	cr_assert_eq(begin(&st, 1, 0, 1), -EPROTO);
	assert_msg("round 1, expected 0");

	dst_ready(&st);
	n = db_enc_state_prefix(p, 0, 0);
	cr_assert_eq(feed(&st, DB_FR_STATE, p, n), -EPROTO);
	assert_msg("before the final round");

	dst_ready(&st);
	n = db_enc_end(p, (struct db_hash128){ 0, 0 }, 0, 0);
	cr_assert_eq(feed(&st, DB_FR_END, p, n), -EPROTO);

	/* a round that brings more or fewer pages than announced */
	dst_ready(&st);
	cr_assert_eq(begin(&st, 0, 0, 0), 0);
	n = pages(pbuf, pg, zero, 1);
	cr_assert_eq(feed(&st, DB_FR_PAGES, pbuf, n), -EPROTO);
	assert_msg("announced 0 pages");
	dst_ready(&st);
	cr_assert_eq(begin(&st, 0, 0, 2), 0);
	cr_assert_eq(feed(&st, DB_FR_PAGES, pbuf, n), 0);
	cr_assert_eq(end_round(&st, 0, 1, 1), -EPROTO);
	assert_msg("announced 2");

	/* END straight after a non-final round */
	dst_ready(&st);
	cr_assert_eq(begin(&st, 0, 0, 0), 0);
	cr_assert_eq(end_round(&st, 0, 0, 0), 0);
	n = db_enc_end(p, (struct db_hash128){ 0, 0 }, 0, 0);
	cr_assert_eq(feed(&st, DB_FR_END, p, n), -EPROTO);
	assert_msg("before the final round");

	/* a state larger than the workload's */
	dst_ready(&st);
	st.state_max = 4;
	cr_assert_eq(begin(&st, 0, DB_ROUND_FINAL, 0), 0);
	cr_assert_eq(end_round(&st, 0, 0, 0), 0);
	n = db_enc_state_prefix(p, 0, 8);
	cr_assert_eq(feed(&st, DB_FR_STATE, p, n + 8), -EPROTO);
	assert_msg("expected 4");

	/* frames the destination sends are not accepted from the source */
	dst_ready(&st);
	cr_assert_eq(feed(&st, DB_FR_VERDICT, buf, 168), -EPROTO);
	assert_msg("cannot come from the source");
}

Test(proto, source_side_order_and_answers)
{
	struct db_proto_rx st;
	struct db_verdict v = { .equal = 1 };
	struct db_tail t = { .pages_written = 5, .achieved_pps = 10 };
	uint8_t p[256];
	size_t n;

	db_proto_rx_init(&st, DB_ROLE_SRC);
	db_proto_tx(&st, DB_FR_HELLO, buf, (uint32_t)hello(buf, NPAGES * DB_PAGE_SIZE, "x"));
	n = db_enc_verdict(p, &v);
	cr_assert_eq(feed(&st, DB_FR_VERDICT, p, n), -EPROTO, "no verdict before HELLO_ACK");
	db_put64(p, 1);
	db_put64(p + 8, 0);
	cr_assert_eq(feed(&st, DB_FR_HELLO_ACK, p, 16), 0);
	cr_assert_eq(feed(&st, DB_FR_PONG, p, 16), -EPROTO, "a PONG nobody asked for");
	n = db_enc_verdict(p, &v);
	cr_assert_eq(feed(&st, DB_FR_VERDICT, p, n), -EPROTO);
	assert_msg("while pages are being sent");

	db_proto_tx(&st, DB_FR_END, p, 32);
	n = db_enc_hash_req(p, DB_HASH_CHUNKS, 3, 2);	/* 4 chunks of 4 pages */
	cr_assert_eq(feed(&st, DB_FR_HASH_REQ, p, n), -EPROTO);
	assert_msg("outside the 4 chunks");
	n = db_enc_hash_req(p, DB_HASH_PAGES, 0, NPAGES);
	cr_assert_eq(feed(&st, DB_FR_HASH_REQ, p, n), 0, "%s", db_strerror());
	v.equal = 1;
	v.mismatched_pages = 1;
	n = db_enc_verdict(p, &v);
	cr_assert_eq(feed(&st, DB_FR_VERDICT, p, n), -EPROTO);
	assert_msg("equal, yet pages differ");
	v.mismatched_pages = 0;
	n = db_enc_verdict(p, &v);
	cr_assert_eq(feed(&st, DB_FR_VERDICT, p, n), 0);
	db_put64(p, 3);
	db_put64(p + 8, 2);
	db_put64(p + 16, 4);
	cr_assert_eq(feed(&st, DB_FR_RESUMED, p, 24), -EPROTO);
	assert_msg("times out of order");
	db_put64(p + 8, 3);
	cr_assert_eq(feed(&st, DB_FR_RESUMED, p, 24), 0);
	n = db_enc_tail(p, &t);
	cr_assert_eq(feed(&st, DB_FR_DONE, p, n), 0);
	cr_assert_eq(st.phase, DB_PH_CLOSED);
}

Test(proto, error_frames_carry_their_text)
{
	struct db_msg m;
	size_t n = db_enc_error(buf, EPROTO, "frame PAGES: page 99 outside RAM");

	cr_assert_eq(db_msg_decode(DB_FR_ERROR, buf, (uint32_t)n, &m), 0);
	cr_assert_eq(m.error.code, EPROTO);
	cr_assert_eq(m.error.len, strlen("frame PAGES: page 99 outside RAM"));
	cr_assert_eq(memcmp(m.error.text, "frame PAGES", 11), 0);
	db_put32(buf + 4, 3);
	cr_assert_eq(db_msg_decode(DB_FR_ERROR, buf, (uint32_t)n, &m), -EPROTO);
}

/* DONE carries the destination's stall probe; figures out of range are refused. */
Test(proto, done_carries_the_stall_probe)
{
	struct db_tail t = {
		.tail_ns = 2000000000ull, .pages_written = 7, .achieved_pps = 3.5,
		.probe_first_ns = 123456789, .probe_max_gap_ns = 800000,
		.probe_max_gap_at_ns = 123999999, .probe_resolution_ns = 56000,
		.probe_gaps = 2,
	};
	struct db_msg m;
	size_t n = db_enc_tail(buf, &t);

	cr_assert_eq(n, 88);
	cr_assert_eq(db_msg_decode(DB_FR_DONE, buf, (uint32_t)n, &m), 0, "%s",
		     db_strerror());
	cr_assert_eq(m.done.probe_first_ns, 123456789);
	cr_assert_eq(m.done.probe_max_gap_ns, 800000);
	cr_assert_eq(m.done.probe_max_gap_at_ns, 123999999);
	cr_assert_eq(m.done.probe_resolution_ns, 56000);
	cr_assert_eq(m.done.probe_gaps, 2);
	cr_assert_eq(m.done.pages_written, 7);
	t.probe_resolution_ns = 2000000000ull;
	n = db_enc_tail(buf, &t);
	cr_assert_eq(db_msg_decode(DB_FR_DONE, buf, (uint32_t)n, &m), -EPROTO);
	assert_msg("stall probe");
	t.probe_resolution_ns = 56000;
	t.probe_max_gap_ns = 10000000000ull;	/* longer than the tail */
	n = db_enc_tail(buf, &t);
	cr_assert_eq(db_msg_decode(DB_FR_DONE, buf, (uint32_t)n, &m), -EPROTO);
}

Test(transport, token_bucket_paces_to_the_rate)
{
	struct db_tbucket tb;
	uint64_t now = 1000000000ull, wait, total = 0;
	int i;

	/* 10 MB/s, 64 KiB burst: 100 chunks of 64 KiB take ~0.65 s */
	db_tb_init(&tb, 10000000, 65536, now);
	tb.tokens = 0;
	for (i = 0; i < 100; i++) {
		wait = db_tb_take(&tb, 65536, now);
		now += wait;
		total += wait;
	}
	cr_assert(total > 650000000ull && total < 660000000ull,
		  "6553600 bytes at 10 MB/s take 655 ms, not %llu ns",
		  (unsigned long long)total);
	/* idle time refills at most the burst */
	now += 10000000000ull;
	cr_assert_eq(db_tb_take(&tb, 65536, now), 0);
	cr_assert_gt(db_tb_take(&tb, 65536, now), 0, "the burst is spent");
	/* unlimited never waits */
	db_tb_init(&tb, 0, 0, now);
	cr_assert_eq(db_tb_take(&tb, 1u << 30, now), 0);
}

Test(transport, addresses_split_with_loopback_default)
{
	char h[64], p[16];

	cr_assert_eq(db_split_hostport("7650", h, sizeof(h), p, sizeof(p)), 0);
	cr_assert_str_eq(h, "127.0.0.1");
	cr_assert_str_eq(p, "7650");
	cr_assert_eq(db_split_hostport(":0", h, sizeof(h), p, sizeof(p)), 0);
	cr_assert_str_eq(h, "127.0.0.1");
	cr_assert_eq(db_split_hostport("169.254.1.2:80", h, sizeof(h), p, sizeof(p)), 0);
	cr_assert_str_eq(h, "169.254.1.2");
	cr_assert_eq(db_split_hostport("[::1]:9", h, sizeof(h), p, sizeof(p)), 0);
	cr_assert_str_eq(h, "::1");
	cr_assert_eq(db_split_hostport("host:99999", h, sizeof(h), p, sizeof(p)), -EINVAL);
	cr_assert_eq(db_split_hostport("::1:9", h, sizeof(h), p, sizeof(p)), -EINVAL);
}
