/* SPDX-License-Identifier: MIT */
/*
 * The settings of a migration run, as the engines read them. Where they
 * come from (the command line, target files) is lib/runner/options.h.
 */
#ifndef DIRTYBENCH_SETTINGS_H
#define DIRTYBENCH_SETTINGS_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include "dirtybench/dirtyram.h"
#include "dirtybench/ram.h"

enum db_stop_kind {
	DB_STOP_DOWNTIME,	/* remaining <= bandwidth x downtime limit */
	DB_STOP_ROUNDS,		/* after N rounds in all, the last one stopped */
	DB_STOP_TIME,		/* downtime rule with a deadline of S seconds */
	DB_STOP_THRESHOLD,	/* remaining dirty pages <= P */
};

enum db_on_timeout { DB_ON_TIMEOUT_FORCE, DB_ON_TIMEOUT_CANCEL };
enum db_link { DB_LINK_LOOPBACK, DB_LINK_NETNS };
enum db_fill { DB_FILL_RANDOM, DB_FILL_ZERO };
enum db_dirty_limit { DB_DIRTY_LIMIT_OFF, DB_DIRTY_LIMIT_AUTO, DB_DIRTY_LIMIT_RATE };
enum db_vmm_accel { DB_VMM_ACCEL_AUTO, DB_VMM_ACCEL_KVM, DB_VMM_ACCEL_TCG };
/* TCG's vCPU threads: QEMU's default, one thread per vCPU, or one for all. */
enum db_vmm_tcg { DB_VMM_TCG_AUTO, DB_VMM_TCG_MULTI, DB_VMM_TCG_SINGLE };
/* The guest QEMU runs: auto follows the binary's name. */
enum db_vmm_arch { DB_VMM_ARCH_AUTO, DB_VMM_ARCH_X86_64, DB_VMM_ARCH_AARCH64 };
/* the destination faults its RAM in at the HELLO: auto (--fill random), on, off */
enum db_dest_prefault { DB_PREFAULT_AUTO, DB_PREFAULT_ON, DB_PREFAULT_OFF };

struct db_run_config {
	char tracker[96];
	uint64_t ram_bytes;
	enum db_backing backing;
	enum db_fill fill;
	char workload[256];		/* as given */
	bool workload_on;		/* false: "none" */
	bool workload_pages_all;	/* pages= not given: all RAM */
	struct dr_config dr;
	uint64_t bandwidth;		/* bytes/s, 0 = unlimited */
	uint64_t downtime_limit_ms;
	enum db_stop_kind stop;
	uint64_t stop_arg;		/* N rounds, S ms, P pages */
	uint64_t max_rounds;
	uint64_t max_time_ms;
	enum db_on_timeout on_timeout;
	char dirty_limit[32];		/* as given: off, auto, RATE */
	enum db_dirty_limit dirty_limit_mode;
	uint64_t dirty_limit_pps;	/* DB_DIRTY_LIMIT_RATE */
	enum db_link link;
	char out[512];
	uint64_t seed;
	uint64_t dest_tail_ms;
	uint64_t warmup_ms;
	uint64_t stall_probe_us;	/* 0: off */
	uint64_t peer_timeout_ms;
	uint64_t progress_timeout_ms;	/* dest: a source alive but not moving on */
	int dest_prefault;		/* enum db_dest_prefault */
	uint64_t chunk_pages;
	uint64_t sample_ms;		/* collectors' interval, 0 = off */
	char listen[128];		/* dest */
	char to[128];			/* migrate */
	char port_file[512];		/* dest */
	uint64_t port_fd;		/* dest, 0 = none */
	uint64_t accept_timeout_ms;	/* dest */
	bool progress;
	bool quiet;
	char scenario[128];
	char vmm[512];			/* "": the engines; "qemu[:PATH]" */
	char vmm_kernel[512];		/* "": the newest /boot/vmlinuz-* */
	int vmm_accel;			/* enum db_vmm_accel */
	int vmm_tcg_threads;		/* enum db_vmm_tcg */
	int vmm_arch;			/* enum db_vmm_arch */
	char vmm_fault[64];		/* test hook, "" */
	uint64_t vmm_boot_timeout_ms;
	double lambda;			/* model-check */
};

/* "downtime", "rounds:5", "time:30", "threshold:100". */
const char *db_stop_str(const struct db_run_config *c, char *buf, size_t len);
const char *db_link_name(enum db_link l);
const char *db_on_timeout_name(enum db_on_timeout t);
/* The canonical one-line form of a run's settings (HELLO, results). */
size_t db_run_config_text(const struct db_run_config *c, char *buf, size_t len);

#endif
