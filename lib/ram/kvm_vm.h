/* SPDX-License-Identifier: MIT */
/*
 * KVM plumbing for arm64 guests: a VM with one code memslot and one guest
 * RAM memslot that can be dirty-logged (KVM_MEM_LOG_DIRTY_PAGES, manual
 * protect, eager or lazy block splitting), vCPUs that run until the guest
 * stores to an MMIO doorbell, and KVM's binary statistics. Used by the
 * kvm tracker and by vmm/kvm's kvmdirty (which compiles this file and
 * lib/base/common.c on their own). Functions return 0 or -errno and leave
 * a message (db_strerror()). On other architectures kd_probe() says why
 * nothing here can run and the rest returns -ENOTSUP.
 */
#ifndef DIRTYBENCH_KVM_VM_H
#define DIRTYBENCH_KVM_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KD_PAGE 4096UL
#define KD_BLOCK (2UL << 20)
/* Guest physical layout: code and parameters, RAM, and an MMIO doorbell. */
#define KD_CODE_IPA 0x10000000UL
#define KD_MMIO_IPA 0x09000000UL
#define KD_RAM_IPA 0x40000000UL
#define KD_SLOT_CODE 0
#define KD_SLOT_RAM 1

struct kd_vm {
	int kvm, fd;
	size_t run_size;
	void *code;			/* code_size bytes, mapped here */
	size_t code_size;
	uint8_t *ram;			/* the caller's mapping */
	size_t ram_size, npages;
	bool logging;
};

struct kd_vcpu {
	int fd;
	void *run;			/* struct kvm_run */
	uint64_t exits, mmio_exits;	/* KVM_RUN returns, and MMIO ones */
};

/* One KVM statistic of a stats fd. */
struct kd_stat {
	char name[64];
	uint64_t value;
};

struct kd_stats {
	struct kd_stat *s;
	size_t n;
};

/*
 * Can a VM with a dirty-logged memslot run here (arm64, /dev/kvm, manual
 * protect)? 0, or -errno with the reason in why. With eager, also the 2 MiB
 * eager split chunk.
 */
int kd_probe(bool eager, char *why, size_t len);

int kd_vm_open(struct kd_vm *vm);
/* KVM_CAP_ARM_SUPPORTED_BLOCK_SIZES: a mask of block sizes, or <= 0. */
long kd_vm_block_sizes(struct kd_vm *vm);
/* Eager splitting in 'chunk' bytes: before any memslot exists. */
int kd_vm_eager(struct kd_vm *vm, uint64_t chunk);
/* Manual protect: GET_DIRTY_LOG only reads, CLEAR_DIRTY_LOG re-arms. */
int kd_vm_manual_protect(struct kd_vm *vm);
/* Map 'size' bytes of zeroed code memory and make it slot KD_SLOT_CODE. */
int kd_vm_code(struct kd_vm *vm, size_t size);
/* Make host[0, size) guest RAM at KD_RAM_IPA (slot KD_SLOT_RAM), unlogged. */
int kd_vm_ram(struct kd_vm *vm, void *host, size_t size);
int kd_vm_log(struct kd_vm *vm, bool on);
/* Copy the slot's dirty bitmap (npages bits) into bitmap. */
int kd_vm_get_log(struct kd_vm *vm, uint64_t *bitmap);
/*
 * Clear (and write-protect again) the pages set in bitmap, n pages from
 * 'first' (a multiple of 64); bitmap bit 0 is page 'first'.
 */
int kd_vm_clear_log(struct kd_vm *vm, uint64_t first, uint64_t n,
		    uint64_t *bitmap);
/* Closes the VM and unmaps the code; the RAM is the caller's. */
void kd_vm_close(struct kd_vm *vm);

/* A vCPU starting at pc with x0..x5 set. */
int kd_vcpu_create(struct kd_vm *vm, struct kd_vcpu *v, int id,
		   const uint64_t x[6], uint64_t pc);
/*
 * Run until the guest stores to KD_MMIO_IPA; the stored value in *data.
 * Any other exit is an error (-EIO with the exit reason).
 */
int kd_vcpu_run(struct kd_vcpu *v, uint64_t *data);
void kd_vcpu_close(struct kd_vm *vm, struct kd_vcpu *v);

/* All statistics of a VM or vCPU fd (KVM_GET_STATS_FD). */
int kd_stats_read(int fd, struct kd_stats *st);
/* The value of 'name', or -1 if absent. */
int64_t kd_stat(const struct kd_stats *st, const char *name);
void kd_stats_free(struct kd_stats *st);

/* A /proc/meminfo field in kB (SecPageTables: stage-2 tables), or -1. */
long kd_meminfo_kb(const char *field);

#endif
