// SPDX-License-Identifier: MIT
/*
 * kvmdirty: real KVM dirty logging checked round by round. The guest code
 * (guest.S) stamps pages with the round number; after each round, with the
 * vCPUs stopped, the dirty log must hold every page whose stamp is the
 * round's. Figures: time to enable logging, get and clear per round, dirty
 * pages per round, time per faulting write, stage-2 page-table pages
 * (SecPageTables) and KVM's binary statistics.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "dirtybench/common.h"
#include "ram/kvm_vm.h"

#define MAX_VCPUS 8
#define STAMP_TAG (0x4b44ULL << 48)
#define PARAM_OFF 0x8000UL	/* parameter blocks in the code slot */
#define CODE_SIZE (64UL << 10)

enum kd_backing { KD_ANON, KD_THP, KD_HUGETLB };

extern const uint8_t kvmdirty_guest_code[], kvmdirty_guest_code_end[];

struct opts {
	const char *suite, *name;
	bool eager, manual, random;
	enum kd_backing backing;
	size_t ram_mib;
	int vcpus, rounds, periods;
	unsigned long pages, drop;
	double period_ms;
	unsigned timeout;
};

struct ram {
	void *map;
	uint8_t *base;
	size_t size;
};

struct params {
	volatile uint64_t stamp, pages, pattern, pad[5];
};

struct vcpu {
	struct kd_vcpu k;
	struct params *p;
	int periods;
	double period_ms;
	uint64_t writes;
	int err;
	pthread_t t;
};

static const char *const backing_names[] = { "anon", "thp", "hugetlb" };
static char alarm_msg[256];

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void on_alarm(int sig)
{
	ssize_t n = write(1, alarm_msg, strlen(alarm_msg));

	(void)sig;
	(void)n;
	_exit(1);
}

static void usage(FILE *f)
{
	fputs("Usage: kvmdirty [options]\n"
	      "  --split eager|lazy      stage-2 block splitting (default lazy)\n"
	      "  --backing anon|thp|hugetlb   guest RAM backing (default anon)\n"
	      "  --ram MIB               guest RAM, MiB, even (default 64)\n"
	      "  --vcpus N               vCPU threads, 1..8 (default 2)\n"
	      "  --rounds N              logged rounds (default 4)\n"
	      "  --periods N             periods per round (default 4)\n"
	      "  --pages N               pages written per period per vCPU (default 256)\n"
	      "  --period-ms MS          period length, 0 for no pacing (default 0)\n"
	      "  --pattern seq|random    page order (default random)\n"
	      "  --protect manual|auto   KVM_CLEAR_DIRTY_LOG (manual protect) or\n"
	      "                          GET_DIRTY_LOG clearing itself (default manual)\n"
	      "  --drop N                faulty: drop N dirty bits a round (must FAIL)\n"
	      "  --suite S --name T      the result line's suite and test\n"
	      "  --timeout S             give up after S seconds (default 100)\n"
	      "Prints DBK RESULT <suite> <test> PASS|FAIL|SKIP <figures>; exit 0\n"
	      "pass, 1 fail, 2 usage, 3 missing here.\n", f);
}

static int parse(struct opts *o, int argc, char **argv)
{
	int i;

	*o = (struct opts){ .suite = "kvm", .manual = true, .random = true,
		.ram_mib = 64, .vcpus = 2, .rounds = 4, .periods = 4,
		.pages = 256, .timeout = 100 };
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			exit(0);
		}
		if (!v)
			goto bad;
		i++;
		if (!strcmp(a, "--split") && (!strcmp(v, "eager") || !strcmp(v, "lazy")))
			o->eager = !strcmp(v, "eager");
		else if (!strcmp(a, "--backing") && !strcmp(v, "anon"))
			o->backing = KD_ANON;
		else if (!strcmp(a, "--backing") && !strcmp(v, "thp"))
			o->backing = KD_THP;
		else if (!strcmp(a, "--backing") && !strcmp(v, "hugetlb"))
			o->backing = KD_HUGETLB;
		else if (!strcmp(a, "--ram"))
			o->ram_mib = strtoul(v, NULL, 0);
		else if (!strcmp(a, "--vcpus"))
			o->vcpus = atoi(v);
		else if (!strcmp(a, "--rounds"))
			o->rounds = atoi(v);
		else if (!strcmp(a, "--periods"))
			o->periods = atoi(v);
		else if (!strcmp(a, "--pages"))
			o->pages = strtoul(v, NULL, 0);
		else if (!strcmp(a, "--period-ms"))
			o->period_ms = strtod(v, NULL);
		else if (!strcmp(a, "--pattern") && (!strcmp(v, "seq") || !strcmp(v, "random")))
			o->random = !strcmp(v, "random");
		else if (!strcmp(a, "--protect") && (!strcmp(v, "manual") || !strcmp(v, "auto")))
			o->manual = !strcmp(v, "manual");
		else if (!strcmp(a, "--drop"))
			o->drop = strtoul(v, NULL, 0);
		else if (!strcmp(a, "--suite"))
			o->suite = v;
		else if (!strcmp(a, "--name"))
			o->name = v;
		else if (!strcmp(a, "--timeout"))
			o->timeout = (unsigned)strtoul(v, NULL, 0);
		else
			goto bad;
	}
	if (!o->ram_mib || o->ram_mib % 2 || o->ram_mib > 4096 ||
	    o->vcpus < 1 || o->vcpus > MAX_VCPUS || o->rounds < 1 ||
	    o->periods < 1 || !o->pages || o->period_ms < 0)
		goto bad;
	return 0;
bad:
	fprintf(stderr, "kvmdirty: bad arguments (see --help)\n");
	return -EINVAL;
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	struct timespec next;
	int i;

	clock_gettime(CLOCK_MONOTONIC, &next);
	for (i = 0; i < v->periods; i++) {
		v->err = kd_vcpu_run(&v->k, &v->writes);
		if (v->err)
			break;
		if (v->period_ms > 0) {
			long ns = (long)(v->period_ms * 1e6);

			next.tv_nsec += ns % 1000000000L;
			next.tv_sec += ns / 1000000000L + next.tv_nsec / 1000000000L;
			next.tv_nsec %= 1000000000L;
			clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
		}
	}
	return NULL;
}

/* Every vCPU runs 'periods' periods of 'pages' pages stamped 'stamp'. */
static int run_round(struct vcpu *v, int n, uint64_t stamp, uint64_t pages,
		     bool random, int periods, double period_ms)
{
	int i, err = 0;

	for (i = 0; i < n; i++) {
		v[i].p->stamp = stamp;
		v[i].p->pages = pages;
		v[i].p->pattern = random;
		v[i].periods = periods;
		v[i].period_ms = period_ms;
		v[i].err = 0;
		if (pthread_create(&v[i].t, NULL, vcpu_thread, &v[i])) {
			n = i;
			err = -EAGAIN;
			break;
		}
	}
	for (i = 0; i < n; i++) {
		pthread_join(v[i].t, NULL);
		if (v[i].err && !err)
			err = v[i].err;
	}
	return err;
}

static void print_stats(const struct opts *o, const char *name, const char *what,
			const struct kd_stats *a, const struct kd_stats *b)
{
	size_t i;

	printf("# kvm %s stats %s:", name, what);
	for (i = 0; i < b->n; i++) {
		uint64_t before = i < a->n ? a->s[i].value : 0;

		printf(" %s=%" PRIu64, b->s[i].name, b->s[i].value);
		if (b->s[i].value != before)
			printf("(%+" PRId64 ")", (int64_t)(b->s[i].value - before));
	}
	printf("\n");
	(void)o;
}

/* The change of one statistic, 0 where absent. */
static int64_t stat_delta(const struct kd_stats *a, const struct kd_stats *b,
			  const char *name)
{
	size_t i;

	for (i = 0; i < b->n && i < a->n; i++)
		if (!strcmp(b->s[i].name, name))
			return (int64_t)(b->s[i].value - a->s[i].value);
	return 0;
}

/*
 * Guest RAM, 2 MiB aligned as its IPA is, so that stage 2 can map blocks,
 * and populated first: THP then has its huge pages. -ENOMEM for hugetlb
 * without reserved pages: a missing resource, not a failure.
 */
static int map_ram(struct ram *r, size_t size, enum kd_backing b)
{
	int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
	size_t i;

	r->size = b == KD_HUGETLB ? size : size + KD_BLOCK;
	r->map = mmap(NULL, r->size, PROT_READ | PROT_WRITE,
		      b == KD_HUGETLB ? flags | MAP_HUGETLB : flags, -1, 0);
	if (r->map == MAP_FAILED) {
		r->map = NULL;
		return b == KD_HUGETLB ? -ENOMEM :
			db_error_errno(-errno, "mmap %zu bytes of guest RAM", size);
	}
	r->base = (uint8_t *)(((uintptr_t)r->map + KD_BLOCK - 1) & ~(KD_BLOCK - 1));
	if (b != KD_HUGETLB &&
	    madvise(r->base, size, b == KD_THP ? MADV_HUGEPAGE : MADV_NOHUGEPAGE))
		return db_error_errno(-errno, "madvise guest RAM");
	for (i = 0; i < size; i += KD_PAGE)
		r->base[i] = 0;
	return 0;
}

static int result(const struct opts *o, const char *name, const char *verdict,
		  const char *detail, int rc)
{
	printf("DBK RESULT %s %s %s %s\n", o->suite, name, verdict, detail);
	fflush(stdout);
	return rc;
}

int main(int argc, char **argv)
{
	struct kd_stats vm_a = { 0 }, vm_b = { 0 }, vc_a = { 0 }, vc_b = { 0 };
	struct vcpu v[MAX_VCPUS];
	struct opts o;
	struct kd_vm vm;
	struct ram ram = { 0 };
	char name[96], detail[512], why[256];
	uint64_t *bitmap, *check;
	size_t per, words, i;
	long blocks = 0, pt0, pt1, pt2, thp;
	double t, enable_ms, disable_ms, get_us = 0, clear_us = 0, run_ms;
	double w1_us = 0, wall_ms = 0;
	unsigned long long missed = 0, extra = 0, written_all = 0, dirty_all = 0;
	int r, err, rc = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (parse(&o, argc, argv))
		return 2;
	if (o.name)
		snprintf(name, sizeof(name), "%s", o.name);
	else
		snprintf(name, sizeof(name), "%s_%s%s", o.eager ? "eager" : "lazy",
			 backing_names[o.backing], o.drop ? "_drop" : "");
	snprintf(alarm_msg, sizeof(alarm_msg),
		 "DBK RESULT %s %s FAIL no result after %u s (guest stuck?)\n",
		 o.suite, name, o.timeout);
	signal(SIGALRM, on_alarm);
	alarm(o.timeout);

	err = kd_vm_open(&vm);
	if (err) {
		snprintf(why, sizeof(why), "no KVM here: %s", db_strerror());
		return result(&o, name, err == -ENOENT || err == -ENODEV ?
			      "SKIP" : "FAIL", why, err == -ENOENT || err == -ENODEV ? 3 : 1);
	}
	blocks = kd_vm_block_sizes(&vm);
	if (o.eager) {
		if (blocks <= 0 || !(blocks & (long)KD_BLOCK))
			return result(&o, name, "SKIP",
				      "eager splitting: no 2 MiB block size in KVM_CAP_ARM_SUPPORTED_BLOCK_SIZES", 3);
		if (kd_vm_eager(&vm, KD_BLOCK))
			return result(&o, name, "FAIL", db_strerror(), 1);
	}
	if (o.manual && kd_vm_manual_protect(&vm))
		return result(&o, name, "FAIL", db_strerror(), 1);
	thp = kd_meminfo_kb("AnonHugePages");
	err = map_ram(&ram, o.ram_mib << 20, o.backing);
	if (!err)
		err = kd_vm_code(&vm, CODE_SIZE);
	if (!err)
		err = kd_vm_ram(&vm, ram.base, o.ram_mib << 20);
	if (err == -ENOMEM && o.backing == KD_HUGETLB)
		return result(&o, name, "SKIP", "no 2 MiB hugetlb pages reserved (vm.nr_hugepages)", 3);
	if (err)
		return result(&o, name, "FAIL", db_strerror(), 1);
	thp = thp >= 0 ? kd_meminfo_kb("AnonHugePages") - thp : -1;

	memcpy(vm.code, kvmdirty_guest_code,
	       (size_t)(kvmdirty_guest_code_end - kvmdirty_guest_code));
	per = vm.npages / (size_t)o.vcpus;
	for (r = 0; r < o.vcpus; r++) {
		uint64_t x[6] = {
			KD_RAM_IPA + (uint64_t)r * per * KD_PAGE, per,
			KD_CODE_IPA + PARAM_OFF + (uint64_t)r * sizeof(struct params),
			KD_MMIO_IPA, 0, 0x9e3779b97f4a7c15ULL * (uint64_t)(r + 1),
		};

		v[r].p = (struct params *)((uint8_t *)vm.code + PARAM_OFF) + r;
		if (kd_vcpu_create(&vm, &v[r].k, r, x, KD_CODE_IPA))
			return result(&o, name, "FAIL", db_strerror(), 1);
	}

	/* Every page once, logging off: stage 2 maps blocks where it can. */
	t = now_ms();
	if (run_round(v, o.vcpus, 0, per, false, 1, 0))
		return result(&o, name, "FAIL", "the guest did not run", 1);
	run_ms = now_ms() - t;
	printf("# kvm %s populate: %zu pages by %d vCPUs in %.1f ms, THP %+ld kB, stage-2 page tables %ld kB\n",
	       name, per * o.vcpus, o.vcpus, run_ms, thp, kd_meminfo_kb("SecPageTables"));

	words = (vm.npages + 63) / 64;
	bitmap = calloc(words, sizeof(*bitmap));
	check = calloc(words, sizeof(*check));
	if (!bitmap || !check)
		return result(&o, name, "FAIL", "out of memory", 1);
	kd_stats_read(vm.fd, &vm_a);
	kd_stats_read(v[0].k.fd, &vc_a);
	pt0 = kd_meminfo_kb("SecPageTables");
	t = now_ms();
	if (kd_vm_log(&vm, true))
		return result(&o, name, "FAIL", db_strerror(), 1);
	enable_ms = now_ms() - t;
	pt1 = kd_meminfo_kb("SecPageTables");

	for (r = 1; r <= o.rounds; r++) {
		unsigned long long w = 0, d = 0, m = 0, e = 0, dropped = 0;
		uint64_t stamp = STAMP_TAG | (uint64_t)r;
		double g, c = 0;

		t = now_ms();
		if (run_round(v, o.vcpus, stamp, o.pages, o.random, o.periods,
			      o.period_ms))
			return result(&o, name, "FAIL", "the guest stopped", 1);
		run_ms = now_ms() - t;
		wall_ms += run_ms;
		t = now_ms();
		if (kd_vm_get_log(&vm, bitmap))
			return result(&o, name, "FAIL", db_strerror(), 1);
		g = (now_ms() - t) * 1e3;
		memcpy(check, bitmap, words * sizeof(*check));
		if (o.manual) {
			t = now_ms();
			if (kd_vm_clear_log(&vm, 0, vm.npages, bitmap))
				return result(&o, name, "FAIL", db_strerror(), 1);
			c = (now_ms() - t) * 1e3;
		}
		for (i = 0; i < vm.npages; i++) {
			bool wr = *(uint64_t *)(vm.ram + i * KD_PAGE) == stamp;
			bool dt = check[i / 64] >> (i % 64) & 1;

			/* The faulty mode: a tracker that loses bits. */
			if (wr && dt && dropped < o.drop) {
				check[i / 64] &= ~(1ULL << (i % 64));
				dropped++;
				dt = false;
			}
			w += wr;
			d += dt;
			m += wr && !dt;
			e += dt && !wr;
		}
		if (r == 1)
			w1_us = w ? run_ms * 1e3 / (double)w : 0;
		printf("# kvm %s round %d: written %llu dirty %llu missed %llu extra %llu%s run %.1f ms (%.1f us/page) get %.0f us clear %.0f us\n",
		       name, r, w, d, m, e, dropped ? " (bits dropped on purpose)" : "",
		       run_ms, w ? run_ms * 1e3 / (double)w : 0, g, c);
		written_all += w;
		dirty_all += d;
		missed += m;
		extra += e;
		get_us += g;
		clear_us += c;
	}
	pt2 = kd_meminfo_kb("SecPageTables");
	kd_stats_read(vm.fd, &vm_b);
	kd_stats_read(v[0].k.fd, &vc_b);
	print_stats(&o, name, "vm", &vm_a, &vm_b);
	print_stats(&o, name, "vcpu0", &vc_a, &vc_b);
	t = now_ms();
	err = kd_vm_log(&vm, false);
	disable_ms = now_ms() - t;

	/*
	 * pt_kb: stage-2 page tables (SecPageTables) before logging, then the
	 * change at enabling it and at the end: eager splits show at enable.
	 * vcpu0_exits counts stage-2 faults and the mmio pacing exits.
	 */
	snprintf(detail, sizeof(detail),
		 "missed=%llu extra=%llu rounds=%d pages=%zu vcpus=%d written=%llu dirty_per_round=%.0f enable_ms=%.2f disable_ms=%.2f get_us=%.0f clear_us=%.0f first_round_us_per_page=%.1f run_ms=%.0f pt_kb=%ld/%+ld/%+ld thp_kb=%ld blocks=%#lx vcpu0_exits=%lld mmio=%lld",
		 missed, extra, o.rounds, vm.npages, o.vcpus, written_all,
		 (double)dirty_all / o.rounds, enable_ms, disable_ms,
		 get_us / o.rounds, clear_us / o.rounds, w1_us, wall_ms,
		 pt0, pt1 - pt0, pt2 - pt0, thp, blocks,
		 (long long)stat_delta(&vc_a, &vc_b, "exits"),
		 (long long)stat_delta(&vc_a, &vc_b, "mmio_exit_user"));
	if (missed || err || !written_all)
		rc = 1;
	alarm(0);
	result(&o, name, rc ? "FAIL" : "PASS", detail, rc);
	for (r = 0; r < o.vcpus; r++)
		kd_vcpu_close(&vm, &v[r].k);
	kd_vm_close(&vm);
	if (ram.map)
		munmap(ram.map, ram.size);
	kd_stats_free(&vm_a);
	kd_stats_free(&vm_b);
	kd_stats_free(&vc_a);
	kd_stats_free(&vc_b);
	free(bitmap);
	free(check);
	return rc;
}
