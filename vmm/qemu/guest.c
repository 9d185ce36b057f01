// SPDX-License-Identifier: MIT
/* The guest's kernel and initramfs. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dirtybench/common.h"
#include "dirtybench/dirtyram.h"
#include "base/files.h"
#include "guest.h"

/* A static executable for machine (EM_X86_64, EM_AARCH64): no interpreter. */
static bool is_static_elf(const char *path, unsigned machine)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	bool ok = false;
	int fd = open(path, O_RDONLY | O_CLOEXEC), i;

	if (fd < 0)
		return false;
	if (pread(fd, &eh, sizeof(eh), 0) != (ssize_t)sizeof(eh) ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG) || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_machine != machine)
		goto out;
	ok = true;
	for (i = 0; i < eh.e_phnum; i++) {
		if (pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + (size_t)i * eh.e_phentsize)) !=
		    (ssize_t)sizeof(ph)) {
			ok = false;
			break;
		}
		if (ph.p_type == PT_INTERP)
			ok = false;
	}
out:
	close(fd);
	return ok;
}

const char *db_guest_arm64_cache(void)
{
	const char *c = getenv("ARM64_CACHE");

	return c && *c ? c : "/var/cache/dirtybench/arm64";
}

static int find_kernel_x86(char *out, size_t len)
{
	glob_t gl;
	size_t i;

	out[0] = '\0';
	if (glob("/boot/vmlinuz-*", 0, NULL, &gl) == 0) {
		for (i = 0; i < gl.gl_pathc; i++)
			if (!access(gl.gl_pathv[i], R_OK) &&
			    (!out[0] || strverscmp(gl.gl_pathv[i], out) > 0))
				snprintf(out, len, "%s", gl.gl_pathv[i]);
		globfree(&gl);
	}
	if (!out[0])
		return db_error(-ENOENT, "no readable /boot/vmlinuz-* for the guest "
				"(apt-get install linux-image-amd64, or --vmm-kernel FILE)");
	return 0;
}

int db_guest_find(const struct db_run_config *cfg, int arch, const char *self_exe,
		  struct db_guest_files *g)
{
	bool arm = arch == DB_VMM_ARCH_AARCH64;
	unsigned machine = arm ? EM_AARCH64 : EM_X86_64;
	const char *cache = db_guest_arm64_cache();
	char tmp[1024];
	int err;

	memset(g, 0, sizeof(*g));
	if (cfg->vmm_kernel[0]) {
		if (access(cfg->vmm_kernel, R_OK))
			return db_error_errno(-errno, "--vmm-kernel: cannot read %s",
					      cfg->vmm_kernel);
		snprintf(g->kernel, sizeof(g->kernel), "%s", cfg->vmm_kernel);
	} else if (arm) {
		snprintf(g->kernel, sizeof(g->kernel), "%s/Image", cache);
		if (access(g->kernel, R_OK))
			return db_error(-ENOENT, "no arm64 kernel %s for the aarch64 guest "
					"(as root: sh ci/deps-arm64.sh; or ARM64_CACHE=DIR, "
					"or --vmm-kernel FILE)", g->kernel);
	} else {
		err = find_kernel_x86(g->kernel, sizeof(g->kernel));
		if (err)
			return err;
	}
	if (arm) {
		snprintf(g->busybox, sizeof(g->busybox), "%s/busybox", cache);
		if (!is_static_elf(g->busybox, machine))
			return db_error(-ENOENT, "no static arm64 busybox at %s for the guest "
					"(as root: sh ci/deps-arm64.sh)", g->busybox);
	} else if (db_find_in_path("busybox", g->busybox, sizeof(g->busybox)) ||
		   !is_static_elf(g->busybox, machine)) {
		return db_error(-ENOENT, "no static x86-64 busybox in PATH for the guest "
				"(apt-get install busybox-static)");
	}
	snprintf(tmp, sizeof(tmp), "%s", self_exe);
	snprintf(g->dirtyram, sizeof(g->dirtyram), "%s/dirtyram-static%s", dirname(tmp),
		 arm ? "-arm64" : "");
	if (!is_static_elf(g->dirtyram, machine))
		return db_error(-ENOENT, "no static %s dirtyram at %s for the guest "
				"(make dirtyram-static%s)", arm ? "arm64" : "x86-64",
				g->dirtyram, arm ? "-arm64" : "");
	return 0;
}

void db_guest_dirtyram_cmd(const struct db_run_config *cfg, unsigned i,
			   char *buf, size_t len)
{
	char pat[64];

	dr_pattern_str(&cfg->dr, pat, sizeof(pat));
	snprintf(buf, len, "dirtyram --stats --pattern %s --seed %llu %llu %llu %llu",
		 pat, (unsigned long long)(cfg->seed + i),
		 (unsigned long long)cfg->dr.total_pages,
		 (unsigned long long)cfg->dr.dirty_pages,
		 (unsigned long long)cfg->dr.period_ms);
}

/* ---- newc cpio ---------------------------------------------------------- */

struct cpio {
	FILE *f;
	unsigned ino;
	int err;
};

static void cpio_pad(struct cpio *c)
{
	long pos = ftell(c->f);

	while (pos > 0 && pos % 4) {
		fputc(0, c->f);
		pos++;
	}
}

static void cpio_entry(struct cpio *c, const char *name, unsigned mode,
		       const void *data, size_t len, unsigned rmaj, unsigned rmin)
{
	fprintf(c->f, "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08zX%08X",
		c->ino++, mode, 0u, 0u, 1u, 0u, (unsigned)len, 0u, 0u, rmaj, rmin,
		strlen(name) + 1, 0u);
	fwrite(name, 1, strlen(name) + 1, c->f);
	cpio_pad(c);
	if (len)
		fwrite(data, 1, len, c->f);
	cpio_pad(c);
}

static int cpio_file(struct cpio *c, const char *name, const char *path)
{
	char *data;
	size_t len;
	int err = db_slurp(path, 256u << 20, &data, &len);

	if (err)
		return err;
	cpio_entry(c, name, 0100755, data, len, 0, 0);
	free(data);
	return 0;
}

/*
 * PID 1: mount, start the copies, report READY, then tick. Every line
 * the host reads starts with DBK (DESIGN.md's console contract) except
 * dirtyram's own --stats lines.
 */
static int init_script(const struct db_run_config *cfg, char *buf, size_t len)
{
	size_t off;
	unsigned i;
	char cmd[256];

	off = (size_t)snprintf(buf, len,
"#!/bin/sh\n"
"export PATH=/bin HOME=/tmp\n"
"/bin/busybox mkdir -p /proc /sys /dev /tmp\n"
"/bin/busybox mount -t proc proc /proc\n"
"/bin/busybox mount -t sysfs sysfs /sys\n"
"/bin/busybox mount -t devtmpfs devtmpfs /dev 2>/dev/null\n"
"/bin/busybox --install -s /bin\n"
"echo \"DBK BOOT $(cut -d' ' -f1 /proc/uptime) $(uname -r)\"\n");
	for (i = 0; i < cfg->dr.copies && off < len; i++) {
		db_guest_dirtyram_cmd(cfg, i, cmd, sizeof(cmd));
		off += (size_t)snprintf(buf + off, len - off,
			"%s &\necho \"DBK COPY %u $!\"\n", cmd, i);
	}
	if (off < len)
		off += (size_t)snprintf(buf + off, len - off,
"sleep 1\n"
"for p in $(jobs -p); do kill -0 $p 2>/dev/null || echo \"DBK ERROR dirtyram $p exited\"; done\n"
"echo \"DBK READY $(cut -d' ' -f1 /proc/uptime)\"\n"
"n=0\n"
"while :; do n=$((n + 1)); echo \"DBK TICK $n\"; usleep %d; done\n",
			DB_GUEST_TICK_MS * 1000);
	if (off >= len)
		return db_error(-E2BIG, "guest init: too many copies for the script");
	return 0;
}

int db_guest_initramfs(const struct db_run_config *cfg,
		       const struct db_guest_files *g, const char *path)
{
	static const char *const dirs[] = { ".", "bin", "dev", "proc", "sys", "tmp" };
	struct cpio c = { .ino = 1 };
	char script[8192];
	size_t i;
	int err;

	err = init_script(cfg, script, sizeof(script));
	if (err)
		return err;
	c.f = fopen(path, "we");
	if (!c.f)
		return db_error_errno(-errno, "guest initramfs: cannot create %s", path);
	for (i = 0; i < DB_ARRAY_SIZE(dirs); i++)
		cpio_entry(&c, dirs[i], 040755, NULL, 0, 0, 0);
	/* The console the kernel opens for init before anything is mounted. */
	cpio_entry(&c, "dev/console", 020600, NULL, 0, 5, 1);
	cpio_entry(&c, "init", 0100755, script, strlen(script), 0, 0);
	cpio_entry(&c, "bin/sh", 0120777, "busybox", 7, 0, 0);
	err = cpio_file(&c, "bin/busybox", g->busybox);
	if (!err)
		err = cpio_file(&c, "bin/dirtyram", g->dirtyram);
	cpio_entry(&c, "TRAILER!!!", 0, NULL, 0, 0, 0);
	if (fclose(c.f) && !err)
		err = db_error_errno(-errno, "guest initramfs: cannot write %s", path);
	return err;
}
