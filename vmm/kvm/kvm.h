/* SPDX-License-Identifier: MIT */
/*
 * The KVM plumbing of the arm64 VMM: a VM with one code memslot and one
 * logged data memslot, vCPUs, the dirty log and KVM's binary stats.
 */
#ifndef KVMDIRTY_KVM_H
#define KVMDIRTY_KVM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/kvm.h>

/* Newer than the cross headers (Linux 6.1) may be. */
#ifndef KVM_CAP_ARM_EAGER_SPLIT_CHUNK_SIZE
#define KVM_CAP_ARM_EAGER_SPLIT_CHUNK_SIZE 228
#endif
#ifndef KVM_CAP_ARM_SUPPORTED_BLOCK_SIZES
#define KVM_CAP_ARM_SUPPORTED_BLOCK_SIZES 229
#endif

#define KD_PAGE 4096UL
#define KD_BLOCK (2UL << 20)
/* Guest physical layout: code and parameters, RAM, and an MMIO doorbell. */
#define KD_CODE_IPA 0x10000000UL
#define KD_CODE_SIZE (64UL << 10)
#define KD_MMIO_IPA 0x09000000UL
#define KD_RAM_IPA 0x40000000UL
#define KD_SLOT_CODE 0
#define KD_SLOT_RAM 1

enum kd_backing { KD_ANON, KD_THP, KD_HUGETLB };

struct kd_vm {
	int kvm, fd;
	size_t run_size;
	void *code;			/* KD_CODE_SIZE bytes */
	uint8_t *ram;			/* ram_size bytes, 2 MiB aligned */
	void *ram_map;
	size_t ram_size, ram_map_size, npages;
	enum kd_backing backing;
	bool logging;
};

struct kd_vcpu {
	int fd;
	struct kvm_run *run;
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

/* -errno with a message on stderr. */
int kd_vm_open(struct kd_vm *vm);
int kd_vm_eager(struct kd_vm *vm, uint64_t chunk);
long kd_vm_block_sizes(struct kd_vm *vm);
int kd_vm_manual_protect(struct kd_vm *vm);
/* -ENOMEM for hugetlb without reserved pages: a missing resource. */
int kd_vm_memory(struct kd_vm *vm, size_t ram_size, enum kd_backing b);
int kd_vm_log(struct kd_vm *vm, bool on);
int kd_vm_get_log(struct kd_vm *vm, uint64_t *bitmap);
int kd_vm_clear_log(struct kd_vm *vm, uint64_t *bitmap);
void kd_vm_close(struct kd_vm *vm);

int kd_vcpu_create(struct kd_vm *vm, struct kd_vcpu *v, int id,
		   const uint64_t x[6], uint64_t pc);
/* Run until the guest's next MMIO store; its data in *data. */
int kd_vcpu_period(struct kd_vcpu *v, uint64_t *data);
void kd_vcpu_close(struct kd_vm *vm, struct kd_vcpu *v);

/* All statistics of a VM or vCPU fd (KVM_GET_STATS_FD). */
int kd_stats_read(int fd, struct kd_stats *st);
void kd_stats_free(struct kd_stats *st);

#endif
