/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer targets (make fuzz-build): what they share. Every target is
 * one LLVMFuzzerTestOneInput() over bytes an attacker controls; a check
 * that fails calls fuzz_fail(), which aborts so that libFuzzer keeps the
 * input as a crash. Inputs of the frame targets are a byte stream as it
 * arrives on a socket: 16-byte headers, each followed by its payload.
 */
#ifndef DIRTYBENCH_FUZZ_H
#define DIRTYBENCH_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define fuzz_fail(...)                                                  \
	do {                                                            \
		fprintf(stderr, "fuzz check failed at %s:%d: ", __FILE__, \
			__LINE__);                                      \
		fprintf(stderr, __VA_ARGS__);                           \
		fputc('\n', stderr);                                    \
		abort();                                                \
	} while (0)

/* A copy in a buffer of its own, so that ASan sees any read past it. */
static inline uint8_t *fuzz_dup(const uint8_t *p, size_t n)
{
	uint8_t *c = malloc(n ? n : 1);

	if (!c)
		abort();
	if (n)
		memcpy(c, p, n);
	return c;
}

/*
 * The next frame of a stream: its header checked as the transport checks
 * it (db_hdr_decode), its payload copied. 0, or -1 at the end of the
 * stream or at the first header the transport would refuse.
 */
struct fuzz_stream {
	const uint8_t *p;
	size_t left;
	uint32_t seq;
};

static inline int fuzz_next_frame(struct fuzz_stream *s, enum db_role sender,
				  struct db_frame_hdr *h, uint8_t **payload)
{
	if (s->left < DB_PROTO_HDR_BYTES)
		return -1;
	if (db_hdr_decode(s->p, h, s->seq, sender))
		return -1;
	s->p += DB_PROTO_HDR_BYTES;
	s->left -= DB_PROTO_HDR_BYTES;
	if (h->len > s->left)
		return -1;
	*payload = fuzz_dup(s->p, h->len);
	s->p += h->len;
	s->left -= h->len;
	s->seq++;
	return 0;
}


/* Read every byte of [p, p + n): ASan reports a read past the frame. */
static inline void fuzz_touch(const void *p, size_t n)
{
	const volatile uint8_t *b = p;
	volatile uint8_t sink = 0;
	size_t i;

	for (i = 0; i < n; i += 512)
		sink ^= b[i];
	if (n)
		sink ^= b[n - 1];
	(void)sink;
}

/* What the workload-state target restores into (and the seed writer saves). */
#define FUZZ_STATE_CONFIG { .total_pages = 64, .dirty_pages = 4, .period_ms = 5, \
			    .pattern = DR_PATTERN_RANDOM, .copies = 2, .seed = 7 }
/* The source side's HELLO in fuzz_proto_src inputs: RAM and chunk size. */
#define FUZZ_SRC_SETUP_BYTES 12
#endif
