/* SPDX-License-Identifier: MIT */
/*
 * The migration wire protocol (docs/protocol.md): framed, versioned,
 * little-endian, fixed-size headers. Everything here is pure: encode into
 * caller buffers, decode and validate caller buffers, and a receive state
 * machine that checks the order of phases. No I/O.
 */
#ifndef DIRTYBENCH_PROTO_H
#define DIRTYBENCH_PROTO_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include "dirtybench/common.h"
#include "dirtybench/dirtyram.h"

#define DB_PROTO_MAGIC 0x464d4244u	/* bytes "DBMF" */
#define DB_PROTO_VERSION 3	/* 3: runs of zero pages in one descriptor */
#define DB_PROTO_HDR_BYTES 16
/* Pages per PAGES frame, and so the largest frame. */
#define DB_PROTO_BATCH_PAGES 256
#define DB_PROTO_PAGES_MAX (8 + 8 * DB_PROTO_BATCH_PAGES + 4096 * DB_PROTO_BATCH_PAGES)
#define DB_PROTO_MAX_PAYLOAD DB_PROTO_PAGES_MAX
#define DB_PROTO_CONFIG_MAX 4096	/* HELLO's configuration text */
#define DB_PROTO_STATE_MAX (256 * 1024)	/* workload ("CPU") state */
#define DB_PROTO_MSG_MAX 1024		/* ERROR / CANCEL text */
#define DB_PROTO_HASHES_MAX 65536	/* hashes per HASHES frame */
#define DB_PROTO_FIRST_MAX 16		/* mismatched page numbers listed */
/*
 * A PAGES descriptor: page number in bits 0..51, bit 63: zero pages; with
 * bit 63, bits 52..61 hold the length of the run of zero pages it starts,
 * minus one (1..1024 pages). Bit 62, and bits 52..61 of a page with
 * data, are zero.
 */
#define DB_PAGE_DESC_ZERO (1ull << 63)
#define DB_PAGE_DESC_PAGE_MASK ((1ull << 52) - 1)
#define DB_PAGE_DESC_RUN_SHIFT 52
#define DB_PAGE_DESC_RUN_MASK (0x3ffull << DB_PAGE_DESC_RUN_SHIFT)
#define DB_PROTO_ZERO_RUN_MAX 1024	/* pages per zero descriptor */
/* The descriptor of n (1..DB_PROTO_ZERO_RUN_MAX) zero pages from page. */
#define DB_PAGE_DESC_ZERO_RUN(page, n) \
	((page) | DB_PAGE_DESC_ZERO | ((uint64_t)((n) - 1) << DB_PAGE_DESC_RUN_SHIFT))

enum db_frame_type {
	DB_FR_HELLO = 1,	/* src -> dst: sizes and the run's config */
	DB_FR_HELLO_ACK,	/* dst -> src: accepted */
	DB_FR_PING,		/* src -> dst: clock estimate */
	DB_FR_PONG,		/* dst -> src */
	DB_FR_ROUND_BEGIN,	/* src -> dst */
	DB_FR_PAGES,		/* src -> dst: page numbers and data */
	DB_FR_ROUND_END,	/* src -> dst */
	DB_FR_STATE,		/* src -> dst: the workload ("CPU") state */
	DB_FR_END,		/* src -> dst: whole-RAM checksum */
	DB_FR_HASH_REQ,		/* dst -> src: chunk or page hashes, please */
	DB_FR_HASHES,		/* src -> dst */
	DB_FR_VERDICT,		/* dst -> src: RAM equal, or which pages differ */
	DB_FR_RESUMED,		/* dst -> src: when the workload resumed */
	DB_FR_DONE,		/* dst -> src: the workload's tail on the dst */
	DB_FR_HEARTBEAT,	/* both: "still here" */
	DB_FR_ERROR,		/* both: a sentence, then the sender closes */
	DB_FR_CANCEL,		/* src -> dst: migration given up */
	DB_FR_TYPE_COUNT
};

enum db_role { DB_ROLE_SRC, DB_ROLE_DST };

#define DB_ROUND_FINAL 1u	/* ROUND_BEGIN flags: the stop-and-copy round */
#define DB_HELLO_WORKLOAD 1u	/* HELLO flags: a workload runs */
enum db_hash_kind { DB_HASH_CHUNKS = 1, DB_HASH_PAGES = 2 };

struct db_frame_hdr {
	uint32_t magic;
	uint16_t version;
	uint16_t type;
	uint32_t len;		/* payload bytes after the header */
	uint32_t seq;		/* per direction, from 0 */
};

struct db_hello {
	uint64_t ram_bytes;
	uint32_t page_size;
	uint32_t chunk_pages;	/* pages per chunk hash */
	uint32_t flags;		/* DB_HELLO_* */
	uint32_t dest_tail_ms;
	struct dr_config dr;
	uint64_t src_now_ns;
	uint64_t config_hash;	/* xxh3-64 of the text */
	const char *config;	/* not NUL-terminated when decoded */
	uint32_t config_len;
};

struct db_verdict {
	uint32_t equal;
	uint32_t nfirst;
	uint64_t mismatched_pages;
	uint64_t mismatched_chunks;
	struct db_hash128 dst_sum;
	uint64_t first[DB_PROTO_FIRST_MAX];
};

struct db_tail {
	uint64_t tail_ns;
	uint64_t pages_written;
	uint64_t late_periods;
	uint64_t max_lateness_ns;
	uint64_t periods;
	double achieved_pps;
	/* the stall probe on the destination; all 0 when it is off */
	uint64_t probe_first_ns;	/* its first reading, destination clock */
	uint64_t probe_max_gap_ns;	/* longest gap after the resume */
	uint64_t probe_max_gap_at_ns;	/* its start, destination clock */
	uint64_t probe_resolution_ns;
	uint64_t probe_gaps;		/* gaps above its threshold */
};

/* A decoded frame; pointers point into the payload it came from. */
struct db_msg {
	uint16_t type;
	union {
		struct db_hello hello;
		struct { uint64_t dst_now_ns; } ack;
		struct { uint64_t t1, t2; } time;	/* PING: t1; PONG: both */
		struct {
			uint32_t round, flags;
			uint64_t pages, zero_pages;
		} round;
		struct {
			uint32_t count, nonzero;
			uint64_t pages;	/* zero runs counted out */
			const uint8_t *desc, *data;
		} pages;
		struct {
			uint64_t paused_at_ns;
			uint32_t len;
			const uint8_t *data;
		} state;
		struct {
			struct db_hash128 sum;
			uint64_t pages_sent, rounds;
		} end;
		struct {
			uint32_t kind, n;
			uint64_t first;
			const uint8_t *hashes;	/* HASHES only */
		} hash;
		struct db_verdict verdict;
		struct { uint64_t ready_at, verified_at, resumed_at; } resumed;
		struct db_tail done;
		struct {
			uint32_t code;
			uint32_t len;
			const char *text;	/* not NUL-terminated */
		} error;
	};
};

/* Receive-side phases (what may come next). */
enum db_phase {
	DB_PH_HELLO,		/* dst: waiting for HELLO */
	DB_PH_READY,		/* dst: between rounds */
	DB_PH_ROUND,		/* dst: inside a round */
	DB_PH_FINAL,		/* dst: final round done, STATE next */
	DB_PH_STATE,		/* dst: STATE in, END next */
	DB_PH_VERIFY,		/* dst: END in; only HASHES (asked for) */
	DB_PH_ACK,		/* src: waiting for HELLO_ACK */
	DB_PH_RUN,		/* src: migration running */
	DB_PH_JUDGE,		/* src: END sent; HASH_REQ or VERDICT */
	DB_PH_RESUME,		/* src: VERDICT equal; RESUMED next */
	DB_PH_TAIL,		/* src: RESUMED in; DONE next */
	DB_PH_CLOSED,		/* nothing more */
};

struct db_proto_rx {
	enum db_role role;	/* our side */
	enum db_phase phase;
	uint64_t npages;
	uint32_t chunk_pages;
	uint32_t next_round;
	uint32_t round;
	bool round_final;
	uint64_t round_expect, round_got, round_zero;
	uint32_t pings;		/* src: PINGs not answered yet */
	bool hash_pending;	/* dst: a HASH_REQ awaits its HASHES */
	uint32_t req_kind, req_n;
	uint64_t req_first;
	uint64_t state_max;	/* dst: the state size it expects */
};

const char *db_frame_name(unsigned type);
/* The role allowed to send a frame type. */
bool db_frame_from(unsigned type, enum db_role sender);

void db_hdr_encode(uint8_t out[DB_PROTO_HDR_BYTES], uint16_t type,
		   uint32_t len, uint32_t seq);
/*
 * Decode and validate a header received from 'sender': magic, version,
 * type (and its direction), payload length against the type's bounds,
 * sequence number. 0 or -EPROTO with the reason in db_strerror().
 */
int db_hdr_decode(const uint8_t in[DB_PROTO_HDR_BYTES], struct db_frame_hdr *h,
		  uint32_t expect_seq, enum db_role sender);

/* Encoders: write the payload into buf, return its length. */
size_t db_enc_hello(uint8_t *buf, size_t cap, const struct db_hello *h);
size_t db_enc_u64s(uint8_t *buf, const uint64_t *v, size_t n);
size_t db_enc_round(uint8_t *buf, uint16_t type, uint32_t round,
		    uint32_t flags, uint64_t pages, uint64_t zero_pages);
/* PAGES prefix (count, reserved, descriptors); the data follows it. */
size_t db_enc_pages_prefix(uint8_t *buf, uint32_t count, const uint64_t *desc);
/* STATE prefix; len bytes of state follow. */
size_t db_enc_state_prefix(uint8_t *buf, uint64_t paused_at_ns, uint32_t len);
size_t db_enc_end(uint8_t *buf, struct db_hash128 sum, uint64_t pages_sent,
		  uint64_t rounds);
size_t db_enc_hash_req(uint8_t *buf, uint32_t kind, uint64_t first, uint32_t n);
/* HASHES prefix; n little-endian u64 hashes follow. */
size_t db_enc_hashes_prefix(uint8_t *buf, uint32_t kind, uint64_t first,
			    uint32_t n);
size_t db_enc_verdict(uint8_t *buf, const struct db_verdict *v);
size_t db_enc_tail(uint8_t *buf, const struct db_tail *t);
/* ERROR and CANCEL: code and text (truncated to DB_PROTO_MSG_MAX). */
size_t db_enc_error(uint8_t *buf, uint32_t code, const char *text);

/* Decode a payload of the given type without looking at phases. */
int db_msg_decode(uint16_t type, const uint8_t *p, uint32_t len,
		  struct db_msg *m);

/* Descriptor i of a decoded PAGES frame: npages from page, zero or not. */
void db_pages_entry(const struct db_msg *m, uint32_t i, uint64_t *page,
		    uint64_t *npages, bool *zero);
uint64_t db_hashes_at(const struct db_msg *m, uint32_t i);

void db_proto_rx_init(struct db_proto_rx *st, enum db_role role);
/*
 * Decode a received frame and check that it may come now (order of
 * phases, round numbers, page numbers inside RAM, counts). Advances the
 * phase. 0, or -EPROTO with a sentence in db_strerror(). ERROR frames
 * are always accepted (the caller aborts on them).
 */
int db_proto_rx(struct db_proto_rx *st, uint16_t type, const uint8_t *p,
		uint32_t len, struct db_msg *m);
/* Tell the state machine about a frame we sent (PING, END, HASH_REQ). */
void db_proto_tx(struct db_proto_rx *st, uint16_t type, const uint8_t *p,
		 uint32_t len);

/* Little-endian helpers. */
static inline void db_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static inline void db_put64(uint8_t *p, uint64_t v)
{
	db_put32(p, (uint32_t)v);
	db_put32(p + 4, (uint32_t)(v >> 32));
}

static inline uint32_t db_get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static inline uint64_t db_get64(const uint8_t *p)
{
	return (uint64_t)db_get32(p) | (uint64_t)db_get32(p + 4) << 32;
}

#endif
