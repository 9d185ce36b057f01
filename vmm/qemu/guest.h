/* SPDX-License-Identifier: MIT */
/*
 * The guest a QEMU run boots: Debian's kernel and an initramfs (newc cpio
 * written here, no cpio tool needed) of a static busybox, dirtyram-static
 * and an init that starts the copies, says DBK READY and then prints a
 * tick every few milliseconds for the host to timestamp.
 */
#ifndef DIRTYBENCH_VMM_GUEST_H
#define DIRTYBENCH_VMM_GUEST_H

#include <stddef.h>

#include "engine/settings.h"

#define DB_GUEST_TICK_MS 10

struct db_guest_files {
	char kernel[512];
	char busybox[512];
	char dirtyram[512];
};

/* Where the arm64 kernel and busybox are: $ARM64_CACHE or its default. */
const char *db_guest_arm64_cache(void);
/*
 * Find the three for arch (DB_VMM_ARCH_X86_64 or _AARCH64): x86-64 takes
 * the newest /boot/vmlinuz-*, busybox from PATH and dirtyram-static
 * beside self_exe; aarch64 the Image and busybox ci/deps-arm64.sh
 * unpacks and dirtyram-static-arm64. 0 or -ENOENT with what to install.
 */
int db_guest_find(const struct db_run_config *cfg, int arch, const char *self_exe,
		  struct db_guest_files *g);
/* The dirtyram command line of copy i, the original CLI. */
void db_guest_dirtyram_cmd(const struct db_run_config *cfg, unsigned i,
			   char *buf, size_t len);
/* Write the initramfs to path. 0 or -errno with the message. */
int db_guest_initramfs(const struct db_run_config *cfg,
		       const struct db_guest_files *g, const char *path);

#endif
