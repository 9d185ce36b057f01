// SPDX-License-Identifier: MIT
/*
 * kvm: real KVM stage-2 dirty logging (arm64). Guest RAM becomes the
 * memslot of a KVM VM and the writers are KVM vCPUs: guest_write() hands
 * the bytes to the vCPU's own guest code, which stores them into the
 * memslot through stage 2, so every write is seen (or missed) by the
 * kernel's dirty logging alone. collect() is KVM_GET_DIRTY_LOG then
 * KVM_CLEAR_DIRTY_LOG (manual protect), start() sets
 * KVM_MEM_LOG_DIRTY_PAGES, and blocks are split the way the run asks:
 *
 *   kvm[:split=lazy|eager]
 *
 * lazy (the kernel's default) dissolves a block on its first write fault;
 * eager (KVM_CAP_ARM_EAGER_SPLIT_CHUNK_SIZE, 2 MiB chunks) splits every
 * block when logging starts. One vCPU exit per guest_write(): a guest
 * write costs a KVM_RUN round trip, on top of the stage-2 fault.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dirtybench/common.h"
#include "dirtybench/tracker.h"
#include "ram/kvm_vm.h"

#define KVT_MAX_VCPUS 64
/* Code slot: the guest code, then per vCPU a command block and a buffer. */
#define KVT_VCPU_OFF 4096UL
#define KVT_VCPU_SIZE 8192UL
#define KVT_BUF_OFF 4096UL

/*
 * The guest code, run at EL1 with the MMU off (position independent).
 * x0: IPA of this vCPU's command block {dst IPA, src IPA, len, bytewise},
 * x3: the doorbell. It copies len bytes from src to dst (8 at a time, or
 * byte by byte when bytewise), in address order, then stores to the
 * doorbell (an MMIO exit) and, run again, reads the next command.
 */
#if defined(__aarch64__)
__asm__(
	"	.pushsection .rodata\n"
	"	.p2align 3\n"
	"	.globl kvt_guest_code\n"
	"	.hidden kvt_guest_code\n"
	"	.globl kvt_guest_code_end\n"
	"	.hidden kvt_guest_code_end\n"
	"kvt_guest_code:\n"
	"1:	ldr	x1, [x0]\n"
	"	ldr	x2, [x0, #8]\n"
	"	ldr	x4, [x0, #16]\n"
	"	ldr	x5, [x0, #24]\n"
	"	cbz	x4, 4f\n"
	"	cbnz	x5, 3f\n"
	"2:	ldr	x6, [x2], #8\n"
	"	str	x6, [x1], #8\n"
	"	subs	x4, x4, #8\n"
	"	b.ne	2b\n"
	"	b	4f\n"
	"3:	ldrb	w6, [x2], #1\n"
	"	strb	w6, [x1], #1\n"
	"	subs	x4, x4, #1\n"
	"	b.ne	3b\n"
	"4:	str	x4, [x3]\n"
	"	b	1b\n"
	"kvt_guest_code_end:\n"
	"	.popsection\n");
extern const uint8_t kvt_guest_code[], kvt_guest_code_end[];
#endif

struct kvt_cmd {
	volatile uint64_t dst, src, len, bytewise;
};

struct kvt_vcpu {
	struct kd_vcpu k;
	pthread_mutex_t lock;
	struct kvt_cmd *cmd;
	uint8_t *buf;
	uint64_t buf_ipa;
	uint64_t writes;
};

struct kvt_priv {
	bool eager;
	struct kd_vm vm;
	bool vm_open;
	struct kvt_vcpu *vcpus;
	unsigned nvcpus, ready;
	uint64_t *scratch;
	size_t words;
	long pt_kb0, pt_kb_enabled;
	struct kd_stats vc0;		/* vCPU statistics at start */
	uint64_t enable_ns, get_ns, clear_ns, collects;
};

static int kvt_probe(char *why, size_t len)
{
	return kd_probe(false, why, len);
}

static int kvt_configure(struct db_tracker *t, const char *args)
{
	struct kvt_priv *p = t->priv;

	if (!args || !*args || !strcmp(args, "split=lazy"))
		p->eager = false;
	else if (!strcmp(args, "split=eager"))
		p->eager = true;
	else
		return db_error(-EINVAL,
				"tracker kvm: bad option '%s' (split=lazy or split=eager)",
				args);
	return 0;
}

#if defined(__aarch64__)
static int kvt_attach(struct db_tracker *t, struct db_ram *ram)
{
	struct kvt_priv *p = t->priv;
	size_t code = kvt_guest_code_end - kvt_guest_code;
	unsigned i;
	int err;

	p->nvcpus = t->params.nvcpus ? t->params.nvcpus : 1;
	p->pt_kb0 = p->pt_kb_enabled = -1;
	if (p->nvcpus > KVT_MAX_VCPUS)
		return db_error(-EINVAL, "tracker kvm: %u vCPUs (at most %d)",
				p->nvcpus, KVT_MAX_VCPUS);
	err = kd_vm_open(&p->vm);
	p->vm_open = true;
	if (err)
		return err;
	if (p->eager) {
		long blocks = kd_vm_block_sizes(&p->vm);

		if (blocks <= 0 || !(blocks & (long)KD_BLOCK))
			return db_error(-ENOTSUP,
					"tracker kvm: split=eager needs a 2 MiB eager split chunk, and KVM offers block sizes %#lx",
					blocks);
		err = kd_vm_eager(&p->vm, KD_BLOCK);
	}
	if (!err)
		err = kd_vm_manual_protect(&p->vm);
	if (!err)
		err = kd_vm_code(&p->vm, KVT_VCPU_OFF + p->nvcpus * KVT_VCPU_SIZE);
	if (!err)
		err = kd_vm_ram(&p->vm, ram->base, ram->size);
	if (err)
		return err;
	memcpy(p->vm.code, kvt_guest_code, code);
	p->vcpus = calloc(p->nvcpus, sizeof(*p->vcpus));
	p->words = DB_BITMAP_WORDS(ram->npages);
	p->scratch = calloc(p->words, sizeof(uint64_t));
	if (!p->vcpus || !p->scratch)
		return db_error(-ENOMEM, "tracker kvm: out of memory");
	for (i = 0; i < p->nvcpus; i++) {
		struct kvt_vcpu *v = &p->vcpus[i];
		uint64_t off = KVT_VCPU_OFF + i * KVT_VCPU_SIZE;
		uint64_t x[6] = { KD_CODE_IPA + off, 0, 0, KD_MMIO_IPA, 0, 0 };

		v->cmd = (struct kvt_cmd *)((uint8_t *)p->vm.code + off);
		v->buf = (uint8_t *)p->vm.code + off + KVT_BUF_OFF;
		v->buf_ipa = KD_CODE_IPA + off + KVT_BUF_OFF;
		pthread_mutex_init(&v->lock, NULL);
		p->ready = i + 1;
		err = kd_vcpu_create(&p->vm, &v->k, (int)i, x, KD_CODE_IPA);
		if (err)
			return err;
	}
	return 0;
}
#else
static int kvt_attach(struct db_tracker *t, struct db_ram *ram)
{
	char why[256];

	(void)ram;
	return db_error(kd_probe(false, why, sizeof(why)), "tracker %s: %s",
			t->name, why);
}
#endif

static int kvt_start(struct db_tracker *t)
{
	struct kvt_priv *p = t->priv;
	uint64_t t0;
	int err;

	kd_stats_free(&p->vc0);
	if (p->ready)
		kd_stats_read(p->vcpus[0].k.fd, &p->vc0);
	/* Tables of the guest so far: what logging adds is counted from here. */
	p->pt_kb0 = kd_meminfo_kb("SecPageTables");
	t0 = db_now_ns();
	err = kd_vm_log(&p->vm, true);
	p->enable_ns = db_now_ns() - t0;
	p->pt_kb_enabled = kd_meminfo_kb("SecPageTables");
	return err;
}

static int kvt_collect(struct db_tracker *t, struct db_bitmap *dirty)
{
	struct kvt_priv *p = t->priv;
	uint64_t t0, t1;
	size_t i;
	int err;

	memset(p->scratch, 0, p->words * sizeof(uint64_t));
	t0 = db_now_ns();
	err = kd_vm_get_log(&p->vm, p->scratch);
	t1 = db_now_ns();
	if (!err)
		err = kd_vm_clear_log(&p->vm, 0, p->vm.npages, p->scratch);
	p->get_ns += t1 - t0;
	p->clear_ns += db_now_ns() - t1;
	p->collects++;
	if (!err)
		for (i = 0; i < p->words; i++)
			dirty->words[i] |= p->scratch[i];
	return err;
}

static int kvt_guest_write(struct db_tracker *t, unsigned vcpu, size_t page,
			   size_t off, const void *src, size_t len)
{
	struct kvt_priv *p = t->priv;
	struct kvt_vcpu *v;
	uint64_t done;
	int err;

	if (vcpu >= p->ready)
		return db_error(-EINVAL, "tracker kvm: write from vCPU %u of %u",
				vcpu, p->ready);
	if (page >= p->vm.npages || off > KD_PAGE || len > KD_PAGE - off)
		return db_error(-EINVAL,
				"tracker kvm: write of %zu bytes at page %zu + %zu outside %zu pages",
				len, page, off, p->vm.npages);
	if (!len)
		return 0;
	v = &p->vcpus[vcpu];
	pthread_mutex_lock(&v->lock);
	memcpy(v->buf, src, len);
	v->cmd->dst = KD_RAM_IPA + ((uint64_t)page << 12) + off;
	v->cmd->src = v->buf_ipa;
	v->cmd->len = len;
	v->cmd->bytewise = (off | len) & 7;
	err = kd_vcpu_run(&v->k, &done);
	if (!err)
		v->writes++;
	v->cmd->len = 0;
	pthread_mutex_unlock(&v->lock);
	return err ? db_error(err, "tracker kvm: vCPU %u: %s", vcpu,
			      db_strerror()) : 0;
}

static int kvt_stop(struct db_tracker *t)
{
	struct kvt_priv *p = t->priv;

	return kd_vm_log(&p->vm, false);
}

static void kvt_detach(struct db_tracker *t)
{
	struct kvt_priv *p = t->priv;
	unsigned i;

	for (i = 0; i < p->ready; i++) {
		kd_vcpu_close(&p->vm, &p->vcpus[i].k);
		pthread_mutex_destroy(&p->vcpus[i].lock);
	}
	p->ready = 0;
	if (p->vm_open)
		kd_vm_close(&p->vm);
	p->vm_open = false;
	free(p->vcpus);
	p->vcpus = NULL;
	free(p->scratch);
	p->scratch = NULL;
	kd_stats_free(&p->vc0);
}

/*
 * KVM's own counts where it has them: vCPU 0's exits from its binary
 * statistics (exits that were not user MMIO are stage-2 faults, mostly;
 * host interrupts also count), stage-2 page tables from SecPageTables.
 */
static size_t kvt_counters(struct db_tracker *t, struct db_counter *out,
			   size_t max)
{
	struct kvt_priv *p = t->priv;
	struct kd_stats now = { 0 };
	uint64_t writes = 0, mmio = 0;
	int64_t exits = -1, mmio0 = -1;
	size_t n = 0;
	unsigned i;

	if (!p->ready)
		return 0;
	for (i = 0; i < p->ready; i++) {
		writes += p->vcpus[i].writes;
		mmio += p->vcpus[i].k.mmio_exits;
	}
	if (!kd_stats_read(p->vcpus[0].k.fd, &now) && p->vc0.n) {
		exits = kd_stat(&now, "exits") - kd_stat(&p->vc0, "exits");
		mmio0 = kd_stat(&now, "mmio_exit_user") -
			kd_stat(&p->vc0, "mmio_exit_user");
	}
	kd_stats_free(&now);
#define C(name, v) do { if (n < max) out[n++] = (struct db_counter){ name, (uint64_t)(v) }; } while (0)
	C("guest_writes", writes);
	C("mmio_exits", mmio);
	if (exits >= 0 && mmio0 >= 0)
		C("vcpu0_fault_exits", exits - mmio0);
	C("log_enable_ns", p->enable_ns);
	C("get_dirty_log_ns", p->get_ns);
	C("clear_dirty_log_ns", p->clear_ns);
	if (p->pt_kb0 >= 0 && p->pt_kb_enabled >= 0)
		C("stage2_tables_kb_at_enable", p->pt_kb_enabled - p->pt_kb0);
	if (p->pt_kb0 >= 0)
		C("stage2_tables_kb_now", kd_meminfo_kb("SecPageTables") - p->pt_kb0);
#undef C
	return n;
}

const struct db_tracker_ops db_tracker_kvm = {
	.name = "kvm",
	.desc = "real KVM stage-2 dirty logging (arm64): KVM vCPUs write, GET/CLEAR_DIRTY_LOG, split=lazy|eager",
	.flags = DB_TRK_EXACT | DB_TRK_ACCESS,
	.granularity = DB_PAGE_SIZE,
	.priv_size = sizeof(struct kvt_priv),
	.probe = kvt_probe,
	.configure = kvt_configure,
	.attach = kvt_attach,
	.start = kvt_start,
	.collect = kvt_collect,
	.guest_write = kvt_guest_write,
	.stop = kvt_stop,
	.detach = kvt_detach,
	.counters = kvt_counters,
};
