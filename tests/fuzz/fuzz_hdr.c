// SPDX-License-Identifier: MIT
/*
 * The frame header decoder, both directions. Input: 16 header bytes, the
 * sequence number expected (4 bytes) and the sender's role (1 byte). An
 * accepted header must be exactly what the encoder writes for its
 * fields, within its type's bounds, from a role allowed to send it.
 */
#include "fuzz.h"

#include "dirtybench/common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t hdr[DB_PROTO_HDR_BYTES], re[DB_PROTO_HDR_BYTES];
	struct db_frame_hdr h;
	enum db_role sender;
	uint32_t seq;

	if (size < DB_PROTO_HDR_BYTES + 5)
		return 0;
	memcpy(hdr, data, sizeof(hdr));
	seq = db_get32(data + DB_PROTO_HDR_BYTES);
	sender = data[DB_PROTO_HDR_BYTES + 4] & 1 ? DB_ROLE_DST : DB_ROLE_SRC;
	if (db_hdr_decode(hdr, &h, seq, sender)) {
		if (!db_strerror()[0])
			fuzz_fail("a refused header without a reason");
		return 0;
	}
	db_hdr_encode(re, h.type, h.len, h.seq);
	if (memcmp(re, hdr, sizeof(re)))
		fuzz_fail("accepted header %s does not re-encode to its bytes",
			  db_frame_name(h.type));
	if (h.seq != seq)
		fuzz_fail("sequence %u accepted, %u expected", h.seq, seq);
	if (h.type == 0 || h.type >= DB_FR_TYPE_COUNT || !db_frame_from(h.type, sender))
		fuzz_fail("frame type %u accepted from the wrong side", h.type);
	if (h.len > DB_PROTO_MAX_PAYLOAD)
		fuzz_fail("payload of %u bytes accepted", h.len);
	return 0;
}
