// SPDX-License-Identifier: MIT
/*
 * The receive state machine as the source runs it: frames from the
 * destination. Input: the source's RAM size (8 bytes) and chunk pages
 * (4) as its HELLO announced them, then for each frame one byte of what
 * the source sent before it (bit 0: a PING, bit 1: END) and the frame in
 * stream form.
 */
#include "fuzz.h"

#include "dirtybench/common.h"

static void check(const struct db_proto_rx *st, const struct db_msg *m)
{
	uint64_t limit;

	switch (m->type) {
	case DB_FR_HASH_REQ:
		limit = m->hash.kind == DB_HASH_CHUNKS ?
			(st->chunk_pages ? (st->npages + st->chunk_pages - 1) / st->chunk_pages : 0) :
			st->npages;
		if (m->hash.kind != DB_HASH_CHUNKS && m->hash.kind != DB_HASH_PAGES)
			fuzz_fail("HASH_REQ of kind %u accepted", m->hash.kind);
		if (m->hash.first + m->hash.n > limit)
			fuzz_fail("HASH_REQ [%llu, +%u) accepted, %llu units",
				  (unsigned long long)m->hash.first, m->hash.n,
				  (unsigned long long)limit);
		break;
	case DB_FR_VERDICT:
		if (m->verdict.nfirst > DB_PROTO_FIRST_MAX)
			fuzz_fail("VERDICT listing %u pages accepted", m->verdict.nfirst);
		break;
	case DB_FR_ERROR:
		fuzz_touch(m->error.text, m->error.len);
		break;
	default:
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_stream s;
	struct db_proto_rx st;
	struct db_frame_hdr h;
	struct db_msg m;
	uint8_t *p, hello[16] = { 0 }, ping[8] = { 0 }, end[40] = { 0 };
	uint8_t ctl;
	int err;

	if (size < FUZZ_SRC_SETUP_BYTES)
		return 0;
	db_proto_rx_init(&st, DB_ROLE_SRC);
	memcpy(hello, data, 8);
	memcpy(hello + 12, data + 8, 4);
	db_proto_tx(&st, DB_FR_HELLO, hello, sizeof(hello));
	s.p = data + FUZZ_SRC_SETUP_BYTES;
	s.left = size - FUZZ_SRC_SETUP_BYTES;
	s.seq = 0;
	while (s.left) {
		ctl = *s.p++;
		s.left--;
		if (ctl & 1)
			db_proto_tx(&st, DB_FR_PING, ping, sizeof(ping));
		if (ctl & 2)
			db_proto_tx(&st, DB_FR_END, end, sizeof(end));
		if (fuzz_next_frame(&s, DB_ROLE_DST, &h, &p))
			break;
		err = db_proto_rx(&st, h.type, p, h.len, &m);
		if (!err)
			check(&st, &m);
		else if (!db_strerror()[0])
			fuzz_fail("frame %s refused without a reason", db_frame_name(h.type));
		free(p);
		if (err || st.phase == DB_PH_CLOSED)
			break;
	}
	return 0;
}
