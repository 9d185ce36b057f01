// SPDX-License-Identifier: MIT
/*
 * The receive state machine as the destination runs it: frames from the
 * source, in stream form, each header checked as the transport checks
 * it. After END the destination asks for hashes as it does on a
 * mismatch. Every frame accepted must keep its promises: its pages
 * inside RAM, its payload pieces inside the frame.
 */
#include "fuzz.h"

#include "dirtybench/common.h"

static void check(const struct db_proto_rx *st, const struct db_frame_hdr *h,
		  const struct db_msg *m, const uint8_t *p)
{
	uint64_t page, np, zero_desc = 0, npages = 0;
	uint32_t i;
	bool zero;

	switch (m->type) {
	case DB_FR_HELLO:
		fuzz_touch(m->hello.config, m->hello.config_len);
		if (!st->npages || !st->chunk_pages)
			fuzz_fail("HELLO accepted with %llu pages, chunks of %u",
				  (unsigned long long)st->npages, st->chunk_pages);
		break;
	case DB_FR_PAGES:
		if (m->pages.count > DB_PROTO_BATCH_PAGES)
			fuzz_fail("PAGES of %u pages accepted", m->pages.count);
		for (i = 0; i < m->pages.count; i++) {
			db_pages_entry(m, i, &page, &np, &zero);
			if (page >= st->npages || np > st->npages - page)
				fuzz_fail("pages [%llu, +%llu) accepted in RAM of %llu",
					  (unsigned long long)page, (unsigned long long)np,
					  (unsigned long long)st->npages);
			if (!zero && np != 1)
				fuzz_fail("a run of %llu pages with data accepted",
					  (unsigned long long)np);
			zero_desc += zero;
			npages += np;
		}
		if (m->pages.nonzero != m->pages.count - zero_desc)
			fuzz_fail("PAGES: %u pages with data, descriptors say %llu",
				  m->pages.nonzero,
				  (unsigned long long)(m->pages.count - zero_desc));
		if (npages != m->pages.pages)
			fuzz_fail("PAGES: %llu pages counted, descriptors hold %llu",
				  (unsigned long long)m->pages.pages,
				  (unsigned long long)npages);
		fuzz_touch(m->pages.desc, 8ull * m->pages.count);
		fuzz_touch(m->pages.data, (size_t)DB_PAGE_SIZE * m->pages.nonzero);
		if (m->pages.data + (size_t)DB_PAGE_SIZE * m->pages.nonzero != p + h->len)
			fuzz_fail("PAGES: data does not end with the frame");
		break;
	case DB_FR_STATE:
		fuzz_touch(m->state.data, m->state.len);
		break;
	case DB_FR_HASHES:
		if (m->hash.n)
			(void)db_hashes_at(m, m->hash.n - 1);
		break;
	case DB_FR_ERROR:
	case DB_FR_CANCEL:
		fuzz_touch(m->error.text, m->error.len);
		break;
	default:
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_stream s = { .p = data, .left = size };
	struct db_proto_rx st;
	struct db_frame_hdr h;
	struct db_msg m;
	uint8_t *p, req[16];
	uint64_t n;
	uint32_t kind;
	int err;

	db_proto_rx_init(&st, DB_ROLE_DST);
	while (!fuzz_next_frame(&s, DB_ROLE_SRC, &h, &p)) {
		err = db_proto_rx(&st, h.type, p, h.len, &m);
		if (!err)
			check(&st, &h, &m, p);
		else if (!db_strerror()[0])
			fuzz_fail("frame %s refused without a reason", db_frame_name(h.type));
		free(p);
		if (err || st.phase == DB_PH_CLOSED)
			break;
		if (st.phase == DB_PH_VERIFY && !st.hash_pending) {
			/* chunks first, then pages, as locate() does */
			kind = s.seq & 1 ? DB_HASH_PAGES : DB_HASH_CHUNKS;
			n = kind == DB_HASH_PAGES ? st.npages :
			    (st.npages + st.chunk_pages - 1) / st.chunk_pages;
			if (n > 64)
				n = 64;
			db_proto_tx(&st, DB_FR_HASH_REQ, req,
				    (uint32_t)db_enc_hash_req(req, kind, 0, (uint32_t)n));
		}
	}
	return 0;
}
