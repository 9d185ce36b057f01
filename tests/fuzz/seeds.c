// SPDX-License-Identifier: MIT
/*
 * Seed corpus writer for the fuzz targets (make fuzz-seeds): whole
 * sessions encoded with the protocol's own encoders, RAM and checksums
 * computed as the engine computes them, the workload state saved by a
 * workload that ran, so that every seed reaches the end of its path (RAM
 * equal and resumed, RAM differing and located, cancelled, refused).
 * Usage: fuzz-seeds DIR   (writes DIR/<target>/<name>)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dirtybench/common.h"
#include "dirtybench/dirtyram.h"
#include "engine/ramsum.h"
#include "wire/proto.h"
#include "fuzz.h"

#define NPAGES 16
#define CHUNK 4

struct out {
	uint8_t *p;
	size_t len, cap;
	uint32_t seq;
};

static const char *root;

static void put(struct out *o, const void *p, size_t n)
{
	if (o->len + n > o->cap) {
		o->cap = (o->len + n) * 2;
		o->p = realloc(o->p, o->cap);
		if (!o->p)
			abort();
	}
	if (n)
		memcpy(o->p + o->len, p, n);
	o->len += n;
}

static void frame(struct out *o, uint16_t type, const void *p, size_t n)
{
	uint8_t h[DB_PROTO_HDR_BYTES];

	db_hdr_encode(h, type, (uint32_t)n, o->seq++);
	put(o, h, sizeof(h));
	put(o, p, n);
}

static void save(const char *target, const char *name, const void *p, size_t n)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, target);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%s/%s", root, target, name);
	f = fopen(path, "wb");
	if (!f || fwrite(p, 1, n, f) != n || fclose(f)) {
		fprintf(stderr, "fuzz-seeds: cannot write %s: %s\n", path, strerror(errno));
		exit(1);
	}
}

static uint8_t ram[NPAGES * DB_PAGE_SIZE];
static uint8_t buf[DB_PROTO_PAGES_MAX];

static void hello(struct out *o, bool workload)
{
	static const char cfg[] = "tracker=hash workload=dirtyram:pages=8,dirty=2,period=5";
	struct db_hello h = {
		.ram_bytes = sizeof(ram), .page_size = DB_PAGE_SIZE,
		.chunk_pages = CHUNK, .dest_tail_ms = 5,
		.flags = workload ? DB_HELLO_WORKLOAD : 0,
		.dr = { .total_pages = 8, .dirty_pages = 2, .period_ms = 5,
			.pattern = DR_PATTERN_RANDOM, .copies = 2, .seed = 3 },
		.src_now_ns = 1000, .config = cfg, .config_len = sizeof(cfg) - 1,
		.config_hash = db_hash64(cfg, sizeof(cfg) - 1),
	};

	frame(o, DB_FR_HELLO, buf, db_enc_hello(buf, sizeof(buf), &h));
}

/*
 * One round of pages [first, first + n); pages of RAM that are zero go as
 * zero pages, consecutive ones as one run.
 */
static void round_of(struct out *o, uint32_t round, bool final, uint64_t first,
		     uint32_t n)
{
	uint64_t desc[NPAGES], zero = 0, p;
	size_t len, k = 0;
	uint32_t i, nd = 0;
	static const uint8_t z[DB_PAGE_SIZE];

	for (i = 0; i < n; i++) {
		p = first + i;
		if (memcmp(ram + p * DB_PAGE_SIZE, z, DB_PAGE_SIZE)) {
			desc[nd++] = p;
			continue;
		}
		zero++;
		if (nd && (desc[nd - 1] & DB_PAGE_DESC_ZERO) &&
		    (desc[nd - 1] & DB_PAGE_DESC_PAGE_MASK) +
		    ((desc[nd - 1] & DB_PAGE_DESC_RUN_MASK) >> DB_PAGE_DESC_RUN_SHIFT) + 1 == p)
			desc[nd - 1] += 1ull << DB_PAGE_DESC_RUN_SHIFT;
		else
			desc[nd++] = DB_PAGE_DESC_ZERO_RUN(p, 1);
	}
	frame(o, DB_FR_ROUND_BEGIN, buf,
	      db_enc_round(buf, DB_FR_ROUND_BEGIN, round, final ? DB_ROUND_FINAL : 0, n, 0));
	len = db_enc_pages_prefix(buf, nd, desc);
	for (i = 0; i < nd; i++) {
		if (desc[i] & DB_PAGE_DESC_ZERO)
			continue;
		memcpy(buf + len + k * DB_PAGE_SIZE, ram + desc[i] * DB_PAGE_SIZE,
		       DB_PAGE_SIZE);
		k++;
	}
	frame(o, DB_FR_PAGES, buf, len + k * DB_PAGE_SIZE);
	frame(o, DB_FR_ROUND_END, buf, db_enc_round(buf, DB_FR_ROUND_END, round, 0, n, zero));
}

/* The workload state a destination restores: a workload that ran. */
static size_t workload_state(uint8_t *st, size_t cap, const struct dr_config *cfg,
			     uint8_t *mem, size_t pages)
{
	struct dr_workload *w;
	size_t n;

	if (dr_create(&w, cfg, mem, pages, NULL) || dr_start(w)) {
		fprintf(stderr, "fuzz-seeds: cannot run the workload: %s\n", db_strerror());
		exit(1);
	}
	usleep(20000);
	if (dr_pause(w, 1000000000ull))
		exit(1);
	n = dr_state_size(w);
	if (n > cap || dr_state_save(w, st, n))
		exit(1);
	dr_stop(w);
	dr_destroy(w);
	return n;
}

/* The RAM checksum and chunk hashes, as both sides compute them. */
static struct db_ram_sums ram_sums(void)
{
	struct db_ram r = { .base = ram, .size = sizeof(ram), .npages = NPAGES,
			    .backing = DB_BACKING_MEMFD, .fd = -1 };
	struct db_ram_sums s;

	if (db_ram_sums_compute(&s, "fuzz-seeds", &r, NPAGES, CHUNK, false))
		exit(1);
	return s;
}

static void end_of(struct out *o, bool equal)
{
	struct db_ram_sums s = ram_sums();
	struct db_hash128 sum = s.sum;

	db_ram_sums_free(&s);
	if (!equal)
		sum.lo ^= 1;
	frame(o, DB_FR_END, buf, db_enc_end(buf, sum, NPAGES + 2, 2));
}

static void hashes(struct out *o, uint32_t kind, uint64_t first, uint32_t n,
		   uint64_t wrong)
{
	struct db_ram_sums s = ram_sums();
	size_t len = db_enc_hashes_prefix(buf, kind, first, n);
	uint32_t i;
	uint64_t v;

	for (i = 0; i < n; i++) {
		v = kind == DB_HASH_CHUNKS ? s.chunk[first + i] :
		    db_page_hash(ram + (first + i) * DB_PAGE_SIZE);
		if (first + i == wrong)
			v ^= 1;
		db_put64(buf + len + 8 * i, v);
	}
	db_ram_sums_free(&s);
	frame(o, DB_FR_HASHES, buf, len + 8ull * n);
}

/* Sessions as a source sends them to a destination. */
static void source_sessions(void)
{
	static uint8_t wram[16 * DB_PAGE_SIZE];
	const struct dr_config dcfg = { .total_pages = 8, .dirty_pages = 2, .period_ms = 5,
					.pattern = DR_PATTERN_RANDOM, .copies = 2, .seed = 3 };
	uint8_t st[4096], ping[8];
	size_t stn;
	struct out o = { 0 };
	unsigned i;

	for (i = 0; i < NPAGES; i++)
		if (i % 3 && i < 10)	/* pages 9..15: a run of zero pages */
			memset(ram + i * DB_PAGE_SIZE, 'a' + (int)i, DB_PAGE_SIZE);
	stn = workload_state(st, sizeof(st), &dcfg, wram, 16);

	/* RAM equal, workload resumed on the destination */
	hello(&o, true);
	db_put64(ping, 42);
	frame(&o, DB_FR_PING, ping, 8);
	round_of(&o, 0, false, 0, NPAGES);
	round_of(&o, 1, true, 2, 3);
	db_enc_state_prefix(buf, 5000, (uint32_t)stn);
	memcpy(buf + 16, st, stn);
	frame(&o, DB_FR_STATE, buf, 16 + stn);
	end_of(&o, true);
	save("dest", "equal-resumed", o.p, o.len);
	save("proto-dst", "equal-resumed", o.p, o.len);

	/* RAM differs in chunk 1, page 5: chunk hashes, then page hashes */
	o.len = 0;
	o.seq = 0;
	hello(&o, false);
	round_of(&o, 0, true, 0, NPAGES);
	frame(&o, DB_FR_STATE, buf, db_enc_state_prefix(buf, 5000, 0));
	end_of(&o, false);
	hashes(&o, DB_HASH_CHUNKS, 0, NPAGES / CHUNK, 1);
	hashes(&o, DB_HASH_PAGES, 4, CHUNK, 5);
	save("dest", "differs-located", o.p, o.len);
	save("proto-dst", "differs-located", o.p, o.len);

	/* cancelled in the middle of a round 1 */
	o.len = 0;
	o.seq = 0;
	hello(&o, false);
	round_of(&o, 0, false, 0, NPAGES);
	frame(&o, DB_FR_ROUND_BEGIN, buf, db_enc_round(buf, DB_FR_ROUND_BEGIN, 1, 0, 4, 0));
	frame(&o, DB_FR_CANCEL, buf, db_enc_error(buf, ECANCELED, "time limit reached"));
	save("dest", "cancelled", o.p, o.len);
	save("proto-dst", "cancelled", o.p, o.len);

	free(o.p);
}

/* Sessions as a destination answers a source (fuzz_proto_src's form). */
static void destination_sessions(void)
{
	struct db_verdict v = { .equal = 1 };
	struct db_tail t = { .tail_ns = 5000000, .pages_written = 10, .periods = 2,
			     .achieved_pps = 100 };
	struct out o = { 0 };
	uint8_t setup[FUZZ_SRC_SETUP_BYTES], p[64];
	uint8_t *frm;
	size_t at;

	db_put64(setup, sizeof(ram));
	db_put32(setup + 8, CHUNK);
	put(&o, setup, sizeof(setup));
#define CTL(c) put(&o, (uint8_t[]){ c }, 1)
	CTL(0);
	db_put64(p, db_now_ns());
	frame(&o, DB_FR_HELLO_ACK, p, 16);
	CTL(1);
	db_put64(p, 1);
	db_put64(p + 8, 2);
	frame(&o, DB_FR_PONG, p, 16);
	CTL(0);
	frame(&o, DB_FR_HEARTBEAT, NULL, 0);
	CTL(2);
	frame(&o, DB_FR_HASH_REQ, p, db_enc_hash_req(p, DB_HASH_CHUNKS, 0, NPAGES / CHUNK));
	CTL(0);
	frame(&o, DB_FR_HASH_REQ, p, db_enc_hash_req(p, DB_HASH_PAGES, 4, CHUNK));
	at = o.len;
	CTL(0);
	frame(&o, DB_FR_VERDICT, buf, db_enc_verdict(buf, &v));
	CTL(0);
	db_put64(p, 1);
	db_put64(p + 8, 2);
	db_put64(p + 16, 3);
	frame(&o, DB_FR_RESUMED, p, 24);
	CTL(0);
	frame(&o, DB_FR_DONE, buf, db_enc_tail(buf, &t));
	save("proto-src", "equal-resumed", o.p, o.len);

	/* differs: a VERDICT listing two pages, and the end */
	o.len = at;
	o.seq -= 3;
	v.equal = 0;
	v.nfirst = 2;
	v.first[0] = 5;
	v.first[1] = 6;
	v.mismatched_pages = 2;
	v.mismatched_chunks = 1;
	CTL(0);
	frame(&o, DB_FR_VERDICT, buf, db_enc_verdict(buf, &v));
	save("proto-src", "differs", o.p, o.len);

	/* a refusal */
	o.len = sizeof(setup);
	o.seq = 0;
	CTL(0);
	frame(&o, DB_FR_ERROR, buf, db_enc_error(buf, EPROTO, "frame HELLO: unknown flags"));
	save("proto-src", "refused", o.p, o.len);
#undef CTL

	/* header seeds: header, expected sequence, sender */
	frm = malloc(DB_PROTO_HDR_BYTES + 5);
	db_hdr_encode(frm, DB_FR_HELLO, 160, 0);
	db_put32(frm + 16, 0);
	frm[20] = 0;
	save("hdr", "hello-from-src", frm, 21);
	db_hdr_encode(frm, DB_FR_PAGES, 8 + 8 * 2 + 2 * DB_PAGE_SIZE, 7);
	db_put32(frm + 16, 7);
	save("hdr", "pages-from-src", frm, 21);
	db_hdr_encode(frm, DB_FR_VERDICT, 168, 3);
	db_put32(frm + 16, 3);
	frm[20] = 1;
	save("hdr", "verdict-from-dst", frm, 21);
	free(frm);
	free(o.p);
}

/* A test bed transcript: results, a TAP report, kernel noise and a complaint. */
static void console_seeds(void)
{
	static const char ok[] =
		"DBK BOOT 1.87 6.1.0-56-amd64\r\n"
		"DBK BEGIN system\r\n"
		"DBK RESULT system insmod PASS cowtrack: ABI 1, max 4096 MiB per context\r\n"
		"DBK END system 0\r\n"
		"DBK BEGIN module\r\n"
		"[    3.100000] random: crng init doneDBK RESULT module mmap_is_validated PASS\r\n"
		"DBK RESULT module large_context SKIP max_size_mb below 1024\r\n"
		"DBK END module 0\r\n"
		"DBK TAP trackers\r\n"
		"TAP version 13\r\n1..2\r\n"
		"ok 1 - trackers::probe_reports_a_reason\r\n"
		"not ok 2 - trackers::collect_is_exact # 3 pages missing\r\n"
		"DBK END trackers 1\r\n"
		"DBK DONE 61.25\r\n";
	static const char bad[] =
		"DBK BOOT 2.00 6.1.0\n"
		"DBK BEGIN module\n"
		"DBK RESULT module a FAIL round 1: 0 pages reported, want 5\n"
		"[   5.0] BUG: kernel NULL pointer dereference, address: 0000000000000008\n"
		"[   5.0] WARNING: CPU: 1 PID: 77 at mm/memory.c:1234 zap_pte_range+0x1/0x2\n";

	save("console", "passed", ok, sizeof(ok) - 1);
	save("console", "complained", bad, sizeof(bad) - 1);
}

static void state_seeds(void)
{
	static uint8_t mem[64 * 2 * DB_PAGE_SIZE];
	const struct dr_config cfg = FUZZ_STATE_CONFIG;
	uint8_t st[4096];
	size_t n = workload_state(st, sizeof(st), &cfg, mem, 128);

	save("state", "ran", st, n);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: fuzz-seeds DIR\n");
		return 2;
	}
	root = argv[1];
	mkdir(root, 0755);
	source_sessions();
	destination_sessions();
	state_seeds();
	console_seeds();
	return 0;
}
