// SPDX-License-Identifier: MIT
/* Access sequences: parse, write, generate, replay through the model. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include "aseq.h"
#include "dirtybench/common.h"

void aseq_free(struct aseq *s)
{
	free(s->rounds);
	free(s->acc);
	memset(s, 0, sizeof(*s));
}

static int push_round(struct aseq *s, size_t *cap)
{
	if (s->nrounds == *cap) {
		size_t nc = *cap ? *cap * 2 : 16;
		struct aseq_round *r = realloc(s->rounds, nc * sizeof(*r));

		if (!r)
			return -ENOMEM;
		s->rounds = r;
		*cap = nc;
	}
	s->rounds[s->nrounds].first = s->nacc;
	s->rounds[s->nrounds].n = 0;
	s->nrounds++;
	return 0;
}

static int push_acc(struct aseq *s, size_t *cap, uint32_t page, bool w,
		    unsigned vcpu)
{
	if (s->nacc >= ASEQ_MAX_ACCESSES)
		return -E2BIG;
	if (s->nacc == *cap) {
		size_t nc = *cap ? *cap * 2 : 256;
		struct aseq_access *a = realloc(s->acc, nc * sizeof(*a));

		if (!a)
			return -ENOMEM;
		s->acc = a;
		*cap = nc;
	}
	s->acc[s->nacc].page = page;
	s->acc[s->nacc].write = w;
	s->acc[s->nacc].vcpu = (uint8_t)vcpu;
	s->nacc++;
	s->rounds[s->nrounds - 1].n++;
	return 0;
}

static int perr(char *err, size_t errlen, unsigned line, const char *fmt, ...) DB_PRINTF(4, 5);
static int perr(char *err, size_t errlen, unsigned line, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(err, errlen, "line %u: ", line);

	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < errlen)
		vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int parse_u64(const char *t, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!t || *t < '0' || *t > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(t, &end, 10);
	if (errno || *end || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

int aseq_read(FILE *f, struct aseq *s, char *err, size_t errlen)
{
	char buf[256];
	unsigned line = 0;
	size_t rcap = 0, acap = 0;
	bool header = false;
	int rc;

	memset(s, 0, sizeof(*s));
	while (fgets(buf, sizeof(buf), f)) {
		char *save, *tok[5];
		unsigned nt = 0;
		char *h;

		line++;
		if (!strchr(buf, '\n') && !feof(f)) {
			rc = perr(err, errlen, line, "longer than %zu bytes",
				  sizeof(buf) - 2);
			goto fail;
		}
		h = strchr(buf, '#');
		if (h)
			*h = '\0';
		for (char *t = strtok_r(buf, " \t\r\n", &save); t;
		     t = strtok_r(NULL, " \t\r\n", &save)) {
			if (nt == 5) {
				rc = perr(err, errlen, line, "too many fields");
				goto fail;
			}
			tok[nt++] = t;
		}
		if (!nt)
			continue;
		if (!header) {
			uint64_t v;

			if (nt != 4 || strcmp(tok[0], "aseq") ||
			    strcmp(tok[1], "1") || strcmp(tok[2], "pages") ||
			    parse_u64(tok[3], ASEQ_MAX_PAGES, &v) || !v) {
				rc = perr(err, errlen, line,
					  "header: expected 'aseq 1 pages N' (1 <= N <= %u)",
					  ASEQ_MAX_PAGES);
				goto fail;
			}
			s->pages = (uint32_t)v;
			header = true;
			continue;
		}
		if (!strcmp(tok[0], "round")) {
			if (nt != 1) {
				rc = perr(err, errlen, line, "'round' takes no argument");
				goto fail;
			}
			rc = push_round(s, &rcap);
			if (rc)
				goto oom;
			continue;
		}
		if ((!strcmp(tok[0], "r") || !strcmp(tok[0], "w")) &&
		    (nt == 2 || nt == 3)) {
			uint64_t page, vcpu = 0;

			if (!s->nrounds) {
				rc = perr(err, errlen, line, "access before the first 'round'");
				goto fail;
			}
			if (parse_u64(tok[1], s->pages - 1, &page)) {
				rc = perr(err, errlen, line, "page '%s' not in 0..%u",
					  tok[1], s->pages - 1);
				goto fail;
			}
			if (nt == 3 && parse_u64(tok[2], ASEQ_MAX_VCPUS - 1, &vcpu)) {
				rc = perr(err, errlen, line, "vCPU '%s' not in 0..%u",
					  tok[2], ASEQ_MAX_VCPUS - 1);
				goto fail;
			}
			rc = push_acc(s, &acap, (uint32_t)page, tok[0][0] == 'w',
				      (unsigned)vcpu);
			if (rc == -E2BIG) {
				rc = perr(err, errlen, line, "more than %u accesses",
					  ASEQ_MAX_ACCESSES);
				goto fail;
			}
			if (rc)
				goto oom;
			continue;
		}
		rc = perr(err, errlen, line, "expected 'round', 'r PAGE [VCPU]' or 'w PAGE [VCPU]'");
		goto fail;
	}
	if (ferror(f)) {
		rc = perr(err, errlen, line, "read error");
		goto fail;
	}
	if (!header) {
		rc = perr(err, errlen, line, "empty: no 'aseq 1 pages N' header");
		goto fail;
	}
	return 0;
oom:
	snprintf(err, errlen, "out of memory");
fail:
	aseq_free(s);
	return rc;
}

int aseq_write(FILE *f, const struct aseq *s)
{
	fprintf(f, "aseq 1 pages %" PRIu32 "\n", s->pages);
	for (size_t r = 0; r < s->nrounds; r++) {
		fputs("round\n", f);
		for (size_t i = 0; i < s->rounds[r].n; i++) {
			const struct aseq_access *a = &s->acc[s->rounds[r].first + i];

			if (a->vcpu)
				fprintf(f, "%c %" PRIu32 " %u\n", a->write ? 'w' : 'r',
					a->page, a->vcpu);
			else
				fprintf(f, "%c %" PRIu32 "\n", a->write ? 'w' : 'r',
					a->page);
		}
	}
	return ferror(f) ? -EIO : 0;
}

static uint64_t splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

int aseq_generate(struct aseq *s, const char *pattern, uint32_t pages,
		  size_t nrounds, size_t writes, size_t reads, uint64_t seed)
{
	size_t rcap = 0, acap = 0;
	uint64_t st = seed, cursor = 0;
	bool rnd;
	int rc;

	memset(s, 0, sizeof(*s));
	if (!strcmp(pattern, "seq"))
		rnd = false;
	else if (!strcmp(pattern, "random"))
		rnd = true;
	else
		return -EINVAL;
	if (!pages || pages > ASEQ_MAX_PAGES || !nrounds ||
	    nrounds > ASEQ_MAX_ACCESSES || writes + reads > ASEQ_MAX_ACCESSES ||
	    nrounds * (writes + reads) > ASEQ_MAX_ACCESSES)
		return -EINVAL;
	s->pages = pages;
	for (size_t r = 0; r < nrounds; r++) {
		size_t w = 0, rd = 0;

		rc = push_round(s, &rcap);
		if (rc)
			goto fail;
		while (w < writes || rd < reads) {
			/* interleave: a read after every write while both remain */
			bool wr = w < writes && (rd >= reads || w <= rd);
			uint32_t page;

			if (wr) {
				page = rnd ? (uint32_t)(splitmix(&st) % pages)
					   : (uint32_t)(cursor++ % pages);
				w++;
			} else {
				page = (uint32_t)(splitmix(&st) % pages);
				rd++;
			}
			rc = push_acc(s, &acap, page, wr, 0);
			if (rc)
				goto fail;
		}
	}
	return 0;
fail:
	aseq_free(s);
	return rc;
}

uint64_t aseq_bitmap_hash(const uint64_t *bm, size_t words)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < words; i++)
		for (unsigned b = 0; b < 64; b += 8) {
			h ^= (bm[i] >> b) & 0xff;
			h *= 0x100000001b3ull;
		}
	return h;
}

int aseq_replay_shim(const struct aseq *s, enum s2_strategy strat,
		     struct aseq_round_fig *figs, uint64_t *bitmaps)
{
	size_t words = (s->pages + 63) / 64;
	uint64_t size = (uint64_t)s->pages * S2_PAGE_SIZE;
	uint64_t alloc = (size + S2_BLOCK_2M - 1) & ~(S2_BLOCK_2M - 1);
	unsigned nvcpus = 1, slot;
	struct s2_config cfg = { 0 };
	struct s2_slot_desc d = { 0 };
	struct s2_vm *vm = NULL;
	struct s2_stats a, b;
	uint64_t *bm;
	uint8_t *ram;
	int rc;

	for (size_t i = 0; i < s->nacc; i++)
		if (s->acc[i].vcpu + 1u > nvcpus)
			nvcpus = s->acc[i].vcpu + 1u;
	bm = calloc(words, sizeof(*bm));
	if (!bm)
		return -ENOMEM;
	ram = mmap(NULL, alloc, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ram == MAP_FAILED) {
		free(bm);
		return -ENOMEM;
	}
	cfg.layout = S2_LAYOUT_V8;
	cfg.strategy = strat;
	cfg.nvcpus = nvcpus;
	cfg.tlb_entries = 64;
	rc = s2_vm_create(&vm, &cfg);
	if (rc)
		goto out;
	d.ipa = S2_DEFAULT_IPA_BASE;
	d.size = size;
	d.host = ram;
	d.pa = S2_DEFAULT_PA_BASE;
	d.host_pagesize = S2_BLOCK_2M;
	rc = s2_slot_add(vm, &d, &slot);
	if (!rc)
		rc = s2_populate(vm, slot);
	if (!rc)
		rc = s2_log_enable(vm, slot);
	if (rc)
		goto out;
	for (size_t r = 0; r < s->nrounds; r++) {
		s2_get_stats(vm, &a);
		for (size_t i = 0; i < s->rounds[r].n; i++) {
			const struct aseq_access *x = &s->acc[s->rounds[r].first + i];
			uint64_t ipa = d.ipa + (uint64_t)x->page * S2_PAGE_SIZE;
			uint64_t v = ((uint64_t)r << 32) | x->page;

			rc = x->write ? s2_write(vm, x->vcpu, ipa, &v, sizeof(v))
				      : s2_read(vm, x->vcpu, ipa, &v, sizeof(v));
			if (rc)
				goto out;
		}
		memset(bm, 0, words * sizeof(*bm));
		rc = s2_get_dirty_log(vm, slot, bm, false);
		if (rc)
			goto out;
		s2_get_stats(vm, &b);
		figs[r].dirty = 0;
		for (size_t i = 0; i < words; i++)
			figs[r].dirty += (size_t)__builtin_popcountll(bm[i]);
		figs[r].hash = aseq_bitmap_hash(bm, words);
		figs[r].translation_faults = b.translation_faults - a.translation_faults;
		figs[r].perm_faults = b.perm_faults - a.perm_faults;
		figs[r].blocks_split = b.blocks_split - a.blocks_split;
		figs[r].tables_allocated = b.tables_allocated - a.tables_allocated;
		figs[r].tables_live = b.tables_live;
		if (bitmaps)
			memcpy(bitmaps + r * words, bm, words * sizeof(*bm));
	}
out:
	if (vm)
		s2_vm_destroy(vm);
	munmap(ram, alloc);
	free(bm);
	return rc;
}
