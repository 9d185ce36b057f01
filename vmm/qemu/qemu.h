/* SPDX-License-Identifier: MIT */
/*
 * QEMU as the system under test: a source and a destination QEMU on this
 * host, a guest of Debian's kernel with dirtyram-static copies inside, a
 * live migration driven over QMP, both guests' RAM compared before the
 * destination runs. Fills the same struct db_result as the engines.
 */
#ifndef DIRTYBENCH_VMM_QEMU_H
#define DIRTYBENCH_VMM_QEMU_H

#include <stddef.h>

#include "engine/results.h"
#include "engine/settings.h"

/*
 * Cross-checks of the options a QEMU run takes (cfg->vmm set), and its
 * defaults: dirtyram's pages default to a quarter of the guest RAM shared
 * among the copies. 0 or -EINVAL naming the option.
 */
int db_qemu_check_config(struct db_run_config *cfg);
/*
 * Can a QEMU run happen here? 0, or -ENOENT with why (no QEMU binary, no
 * kernel image, no static busybox, no dirtyram-static beside self_exe).
 */
int db_qemu_probe(const struct db_run_config *cfg, const char *self_exe,
		  char *why, size_t len);
/*
 * One migration: 0 with res filled (its outcome says how it ended), or a
 * setup -errno with the message (-EINVAL usage, others missing here).
 * QEMU processes never outlive it.
 */
int db_qemu_run(const struct db_run_config *cfg, const char *self_exe,
		struct db_result *res);

#endif
