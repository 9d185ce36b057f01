// SPDX-License-Identifier: MIT
/* KVM VMs for arm64 guests: memslots, dirty log, vCPUs, statistics. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "dirtybench/common.h"
#include "ram/kvm_vm.h"

/* Newer than the build's kernel headers may be. */
#ifndef KVM_CAP_ARM_EAGER_SPLIT_CHUNK_SIZE
#define KVM_CAP_ARM_EAGER_SPLIT_CHUNK_SIZE 228
#endif
#ifndef KVM_CAP_ARM_SUPPORTED_BLOCK_SIZES
#define KVM_CAP_ARM_SUPPORTED_BLOCK_SIZES 229
#endif

static int fail(const char *what)
{
	return db_error_errno(-(errno ? errno : EIO), "KVM: %s", what);
}

int kd_probe(bool eager, char *why, size_t len)
{
#if defined(__aarch64__)
	struct kd_vm vm;
	long blocks;
	int err;

	err = kd_vm_open(&vm);
	if (!err)
		err = kd_vm_manual_protect(&vm);
	if (!err && eager) {
		blocks = kd_vm_block_sizes(&vm);
		if (blocks <= 0 || !(blocks & (long)KD_BLOCK))
			err = db_error(-ENOTSUP,
				       "KVM offers no 2 MiB eager split chunk (KVM_CAP_ARM_SUPPORTED_BLOCK_SIZES %#lx; Linux 6.6 or later)",
				       blocks);
		else
			err = kd_vm_eager(&vm, KD_BLOCK);
	}
	if (err)
		snprintf(why, len, "%s", db_strerror());
	kd_vm_close(&vm);
	return err;
#else
	struct utsname u;

	uname(&u);
	snprintf(why, len,
		 "KVM guests here run arm64 code, and this host is %s (the arm64 test bed runs them: make check-kvm)",
		 u.machine);
	return -ENOTSUP;
#endif
}

int kd_vm_open(struct kd_vm *vm)
{
	memset(vm, 0, sizeof(*vm));
	vm->fd = -1;
	vm->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm < 0)
		return fail("open /dev/kvm");
	if (ioctl(vm->kvm, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
		errno = EINVAL;
		return fail("KVM_GET_API_VERSION");
	}
	vm->fd = ioctl(vm->kvm, KVM_CREATE_VM, 0);
	if (vm->fd < 0)
		return fail("KVM_CREATE_VM");
	vm->run_size = (size_t)ioctl(vm->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	return 0;
}

long kd_vm_block_sizes(struct kd_vm *vm)
{
	return ioctl(vm->fd, KVM_CHECK_EXTENSION,
		     KVM_CAP_ARM_SUPPORTED_BLOCK_SIZES);
}

int kd_vm_eager(struct kd_vm *vm, uint64_t chunk)
{
	struct kvm_enable_cap cap = {
		.cap = KVM_CAP_ARM_EAGER_SPLIT_CHUNK_SIZE,
		.args = { chunk },
	};

	if (ioctl(vm->fd, KVM_ENABLE_CAP, &cap))
		return fail("KVM_ENABLE_CAP(ARM_EAGER_SPLIT_CHUNK_SIZE)");
	return 0;
}

/*
 * Without "initially set": enabling logging write-protects (and, eager,
 * splits) everything at once, and KVM_CLEAR_DIRTY_LOG re-arms.
 */
int kd_vm_manual_protect(struct kd_vm *vm)
{
	struct kvm_enable_cap cap = {
		.cap = KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2,
		.args = { KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE },
	};
	int have = ioctl(vm->fd, KVM_CHECK_EXTENSION,
			 KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2);

	if (have < 0 || !(have & KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE)) {
		errno = ENOTSUP;
		return fail("KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2");
	}
	if (ioctl(vm->fd, KVM_ENABLE_CAP, &cap))
		return fail("KVM_ENABLE_CAP(MANUAL_DIRTY_LOG_PROTECT2)");
	return 0;
}

static int set_slot(struct kd_vm *vm, uint32_t slot, uint32_t flags,
		    uint64_t ipa, uint64_t size, void *host)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot,
		.flags = flags,
		.guest_phys_addr = ipa,
		.memory_size = size,
		.userspace_addr = (uintptr_t)host,
	};

	return ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &r);
}

int kd_vm_code(struct kd_vm *vm, size_t size)
{
	size = (size + KD_PAGE - 1) & ~(KD_PAGE - 1);
	vm->code = mmap(NULL, size, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (vm->code == MAP_FAILED) {
		vm->code = NULL;
		return fail("mmap code");
	}
	vm->code_size = size;
	if (set_slot(vm, KD_SLOT_CODE, 0, KD_CODE_IPA, size, vm->code))
		return fail("KVM_SET_USER_MEMORY_REGION code");
	return 0;
}

int kd_vm_ram(struct kd_vm *vm, void *host, size_t size)
{
	if (((uintptr_t)host | size) & (KD_PAGE - 1) || !size)
		return db_error(-EINVAL, "KVM: guest RAM %p + %zu is not page aligned",
				host, size);
	vm->ram = host;
	vm->ram_size = size;
	vm->npages = size / KD_PAGE;
	if (set_slot(vm, KD_SLOT_RAM, 0, KD_RAM_IPA, size, host))
		return fail("KVM_SET_USER_MEMORY_REGION RAM");
	return 0;
}

int kd_vm_log(struct kd_vm *vm, bool on)
{
	if (set_slot(vm, KD_SLOT_RAM, on ? KVM_MEM_LOG_DIRTY_PAGES : 0,
		     KD_RAM_IPA, vm->ram_size, vm->ram))
		return fail(on ? "KVM_SET_USER_MEMORY_REGION(LOG_DIRTY_PAGES)" :
			    "KVM_SET_USER_MEMORY_REGION(no logging)");
	vm->logging = on;
	return 0;
}

int kd_vm_get_log(struct kd_vm *vm, uint64_t *bitmap)
{
	struct kvm_dirty_log log = {
		.slot = KD_SLOT_RAM,
		.dirty_bitmap = bitmap,
	};

	if (ioctl(vm->fd, KVM_GET_DIRTY_LOG, &log))
		return fail("KVM_GET_DIRTY_LOG");
	return 0;
}

int kd_vm_clear_log(struct kd_vm *vm, uint64_t first, uint64_t n,
		    uint64_t *bitmap)
{
	struct kvm_clear_dirty_log c = {
		.slot = KD_SLOT_RAM,
		.first_page = first,
		.num_pages = (uint32_t)n,
		.dirty_bitmap = bitmap,
	};

	if (ioctl(vm->fd, KVM_CLEAR_DIRTY_LOG, &c))
		return fail("KVM_CLEAR_DIRTY_LOG");
	return 0;
}

void kd_vm_close(struct kd_vm *vm)
{
	if (vm->fd >= 0)
		close(vm->fd);
	if (vm->kvm >= 0)
		close(vm->kvm);
	if (vm->code)
		munmap(vm->code, vm->code_size);
	vm->fd = vm->kvm = -1;
	vm->code = NULL;
}

#if defined(__aarch64__)
#define CORE_REG(field) (KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE | \
			 (offsetof(struct kvm_regs, field) / sizeof(uint32_t)))

static int set_reg(int fd, uint64_t id, uint64_t val)
{
	struct kvm_one_reg r = { .id = id, .addr = (uintptr_t)&val };

	return ioctl(fd, KVM_SET_ONE_REG, &r);
}

int kd_vcpu_create(struct kd_vm *vm, struct kd_vcpu *v, int id,
		   const uint64_t x[6], uint64_t pc)
{
	struct kvm_vcpu_init init;
	int i;

	memset(v, 0, sizeof(*v));
	v->fd = ioctl(vm->fd, KVM_CREATE_VCPU, id);
	if (v->fd < 0)
		return fail("KVM_CREATE_VCPU");
	memset(&init, 0, sizeof(init));
	if (ioctl(vm->fd, KVM_ARM_PREFERRED_TARGET, &init))
		return fail("KVM_ARM_PREFERRED_TARGET");
	if (ioctl(v->fd, KVM_ARM_VCPU_INIT, &init))
		return fail("KVM_ARM_VCPU_INIT");
	v->run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		      v->fd, 0);
	if (v->run == MAP_FAILED) {
		v->run = NULL;
		return fail("mmap kvm_run");
	}
	for (i = 0; i < 6; i++)
		if (set_reg(v->fd, CORE_REG(regs.regs[i]), x[i]))
			return fail("KVM_SET_ONE_REG x0..x5");
	if (set_reg(v->fd, CORE_REG(regs.pc), pc))
		return fail("KVM_SET_ONE_REG pc");
	return 0;
}
#else
int kd_vcpu_create(struct kd_vm *vm, struct kd_vcpu *v, int id,
		   const uint64_t x[6], uint64_t pc)
{
	(void)vm, (void)x, (void)pc, (void)id;
	memset(v, 0, sizeof(*v));
	v->fd = -1;
	return db_error(-ENOTSUP, "KVM: the guest code is arm64 only");
}
#endif

int kd_vcpu_run(struct kd_vcpu *v, uint64_t *data)
{
	struct kvm_run *r = v->run;

	for (;;) {
		if (ioctl(v->fd, KVM_RUN, 0)) {
			if (errno == EINTR)
				continue;
			return fail("KVM_RUN");
		}
		v->exits++;
		if (r->exit_reason == KVM_EXIT_MMIO && r->mmio.is_write &&
		    r->mmio.phys_addr == KD_MMIO_IPA) {
			v->mmio_exits++;
			memcpy(data, r->mmio.data, sizeof(*data));
			return 0;
		}
		return db_error(-EIO, "KVM: unexpected vCPU exit %u (mmio %#llx)",
				r->exit_reason,
				(unsigned long long)r->mmio.phys_addr);
	}
}

void kd_vcpu_close(struct kd_vm *vm, struct kd_vcpu *v)
{
	if (v->run)
		munmap(v->run, vm->run_size);
	if (v->fd >= 0)
		close(v->fd);
	v->run = NULL;
	v->fd = -1;
}

int kd_stats_read(int fd, struct kd_stats *st)
{
	struct kvm_stats_header h;
	struct kvm_stats_desc *d;
	size_t dsize, i;
	uint8_t *descs;
	int sfd;

	st->s = NULL;
	st->n = 0;
	sfd = ioctl(fd, KVM_GET_STATS_FD, NULL);
	if (sfd < 0)
		return fail("KVM_GET_STATS_FD");
	if (pread(sfd, &h, sizeof(h), 0) != (ssize_t)sizeof(h) ||
	    h.name_size > 4096 || h.num_desc > 65536)
		goto bad;
	dsize = sizeof(*d) + h.name_size;
	descs = calloc(h.num_desc ? h.num_desc : 1, dsize);
	st->s = calloc(h.num_desc ? h.num_desc : 1, sizeof(*st->s));
	if (!descs || !st->s) {
		free(descs);
		free(st->s);
		st->s = NULL;
		close(sfd);
		return db_error(-ENOMEM, "KVM: no memory for statistics");
	}
	if (pread(sfd, descs, h.num_desc * dsize, h.desc_offset) !=
	    (ssize_t)(h.num_desc * dsize)) {
		free(descs);
		goto bad;
	}
	for (i = 0; i < h.num_desc; i++) {
		uint64_t val = 0;

		d = (struct kvm_stats_desc *)(descs + i * dsize);
		/* Counters and gauges; histograms are left out. */
		if (d->size != 1)
			continue;
		if (pread(sfd, &val, sizeof(val), h.data_offset + d->offset) !=
		    (ssize_t)sizeof(val))
			continue;
		snprintf(st->s[st->n].name, sizeof(st->s[0].name), "%.*s",
			 (int)h.name_size, d->name);
		st->s[st->n++].value = val;
	}
	free(descs);
	close(sfd);
	return 0;
bad:
	close(sfd);
	free(st->s);
	st->s = NULL;
	errno = EIO;
	return fail("reading the stats fd");
}

int64_t kd_stat(const struct kd_stats *st, const char *name)
{
	size_t i;

	for (i = 0; i < st->n; i++)
		if (!strcmp(st->s[i].name, name))
			return (int64_t)st->s[i].value;
	return -1;
}

void kd_stats_free(struct kd_stats *st)
{
	free(st->s);
	st->s = NULL;
	st->n = 0;
}

/*
 * The per-CPU counters are folded first (vm.stat_refresh, root): otherwise
 * they lag by up to a threshold per CPU, more than a small VM's page tables.
 */
long kd_meminfo_kb(const char *field)
{
	char line[256];
	size_t n = strlen(field);
	long v = -1;
	FILE *f = fopen("/proc/sys/vm/stat_refresh", "w");

	if (f) {
		fputs("1\n", f);
		fclose(f);
	}
	f = fopen("/proc/meminfo", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, n) && line[n] == ':') {
			v = strtol(line + n + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}
