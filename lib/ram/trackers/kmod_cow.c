// SPDX-License-Identifier: MIT
/*
 * kmod-cow: the cowtrack kernel module (kmod/). The module provides the
 * guest RAM, a shared mapping of /dev/cowtrack, write-protects it at start
 * and at every collect, and keeps the pre-image of each page written in a
 * round, so snapshot reads serve the round-start image while vCPUs write:
 * the bhyve prototype's copy-on-write rounds, in Linux.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cowtrack_uapi.h"
#include "dirtybench/common.h"
#include "dirtybench/tracker.h"

struct kmod_priv {
	int fd;			/* the context; the RAM owns it once mapped */
	int own_fd;		/* not yet handed to the RAM */
	uint64_t *log;		/* GET_DIRTY_LOG's bitmap */
	size_t log_bytes;
};

static int kmod_probe(char *why, size_t len)
{
	struct cowtrack_version v;
	int fd, err = 0;

	fd = open(COWTRACK_DEVICE, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		if (err == -EACCES || err == -EPERM) {
			snprintf(why, len, "%s: permission denied (the device is 0600: run as root)",
				 COWTRACK_DEVICE);
			return err;
		}
		if (err != -ENOENT && err != -ENODEV && err != -ENXIO) {
			snprintf(why, len, "cannot open %s: %s", COWTRACK_DEVICE,
				 strerror(-err));
			return err;
		}
		if (!access("/sys/module/cowtrack", F_OK))
			snprintf(why, len, "module cowtrack is loaded but %s is missing (no devtmpfs or udev?)",
				 COWTRACK_DEVICE);
		else if (access("/proc/modules", F_OK))
			snprintf(why, len, "module cowtrack is not loaded and this kernel cannot load modules (no /proc/modules); make check-kernel tests it in a booted kernel under QEMU");
		else
			snprintf(why, len, "module cowtrack is not loaded (make -C kmod && insmod kmod/cowtrack.ko)");
		return -ENODEV;
	}
	if (ioctl(fd, COWTRACK_VERSION, &v)) {
		err = -errno;
		snprintf(why, len, "%s does not answer COWTRACK_VERSION: %s",
			 COWTRACK_DEVICE, strerror(-err));
	} else if (v.abi_version != COWTRACK_ABI_VERSION) {
		err = -EPROTO;
		snprintf(why, len, "ABI version mismatch: the loaded module speaks version %u, dirtybench was built for %u (rebuild and reload kmod/)",
			 v.abi_version, COWTRACK_ABI_VERSION);
	} else if (v.page_size != DB_PAGE_SIZE) {
		err = -ENOTSUP;
		snprintf(why, len, "the module tracks %u-byte pages, dirtybench needs %zu",
			 v.page_size, DB_PAGE_SIZE);
	}
	close(fd);
	return err;
}

static int kmod_attach(struct db_tracker *t, struct db_ram *ram)
{
	struct kmod_priv *p = t->priv;
	struct cowtrack_create c = { .size = ram->size };
	char sz[32];
	void *base;
	int err;

	db_fmt_bytes(ram->size, sz, sizeof(sz));
	if (!ram->size || ram->size % DB_PAGE_SIZE)
		return db_error(-EINVAL, "tracker kmod-cow: RAM size %zu is not a positive multiple of 4 KiB",
				ram->size);
	p->fd = open(COWTRACK_DEVICE, O_RDWR | O_CLOEXEC);
	if (p->fd < 0)
		return db_error_errno(-errno, "tracker kmod-cow: open %s",
				      COWTRACK_DEVICE);
	p->own_fd = 1;
	if (ioctl(p->fd, COWTRACK_CREATE, &c)) {
		err = -errno;
		if (err == -E2BIG)
			return db_error(err, "tracker kmod-cow: %s of guest RAM is above the module's limit (parameter max_size_mb)",
					sz);
		return db_error_errno(err, "tracker kmod-cow: create %s of guest RAM",
				      sz);
	}
	p->log_bytes = DB_BITMAP_WORDS(ram->size / DB_PAGE_SIZE) * sizeof(uint64_t);
	p->log = calloc(1, p->log_bytes);
	if (!p->log)
		return db_error(-ENOMEM, "tracker kmod-cow: no memory for a %zu-byte bitmap",
				p->log_bytes);
	/* Populated (read faults) so that the rounds measure tracking only. */
	base = mmap(NULL, ram->size, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_POPULATE, p->fd, 0);
	if (base == MAP_FAILED)
		return db_error_errno(-errno, "tracker kmod-cow: mmap %s of %s",
				      sz, COWTRACK_DEVICE);
	ram->base = base;
	ram->npages = ram->size / DB_PAGE_SIZE;
	ram->backing = DB_BACKING_TRACKER;
	ram->map_pagesize = DB_PAGE_SIZE;
	ram->fd = p->fd;
	ram->release = db_ram_unmap;
	p->own_fd = 0;
	return 0;
}

static int kmod_start(struct db_tracker *t)
{
	struct kmod_priv *p = t->priv;
	struct cowtrack_start s = { .flags = COWTRACK_START_COW };

	if (ioctl(p->fd, COWTRACK_START, &s))
		return db_error_errno(-errno, "tracker kmod-cow: COWTRACK_START");
	return 0;
}

static int kmod_collect(struct db_tracker *t, struct db_bitmap *dirty)
{
	struct kmod_priv *p = t->priv;
	struct cowtrack_dirty_log d = {
		.bitmap = (uintptr_t)p->log,
		.bitmap_size = p->log_bytes,
	};
	size_t w;

	if (ioctl(p->fd, COWTRACK_GET_DIRTY_LOG, &d))
		return db_error_errno(-errno, "tracker kmod-cow: COWTRACK_GET_DIRTY_LOG");
	/* Same layout as struct db_bitmap: bit i%64 of 64-bit word i/64. */
	for (w = 0; w < DB_BITMAP_WORDS(dirty->nbits); w++)
		dirty->words[w] |= p->log[w];
	return 0;
}

static int kmod_snapshot_read(struct db_tracker *t, size_t first, size_t n,
			      void *dst)
{
	struct kmod_priv *p = t->priv;
	struct cowtrack_snapshot s = {
		.first_page = first,
		.num_pages = n,
		.buf = (uintptr_t)dst,
		.buf_size = (uint64_t)n * DB_PAGE_SIZE,
	};

	if (!n)
		return 0;
	if (ioctl(p->fd, COWTRACK_READ_SNAPSHOT, &s))
		return db_error_errno(-errno, "tracker kmod-cow: snapshot of pages [%zu, +%zu)",
				      first, n);
	return 0;
}

static int kmod_stop(struct db_tracker *t)
{
	struct kmod_priv *p = t->priv;

	if (ioctl(p->fd, COWTRACK_STOP))
		return db_error_errno(-errno, "tracker kmod-cow: COWTRACK_STOP");
	return 0;
}

/* The RAM keeps the context (and its fd) until db_ram_destroy(). */
static void kmod_detach(struct db_tracker *t)
{
	struct kmod_priv *p = t->priv;

	if (p->own_fd && p->fd >= 0)
		close(p->fd);
	p->own_fd = 0;
	free(p->log);
	p->log = NULL;
}

static size_t kmod_counters(struct db_tracker *t, struct db_counter *out,
			    size_t max)
{
	static const char *const names[] = {
		"faults", "page_mkwrite_calls", "preimages_copied",
		"shadow_pages", "shadow_bytes", "pages_allocated",
		"wp_zap_calls",
	};
	struct kmod_priv *p = t->priv;
	struct cowtrack_stats st;
	size_t i, n = DB_MIN(max, DB_ARRAY_SIZE(names));

	if (ioctl(p->fd, COWTRACK_STATS, &st))
		return 0;
	{
		const uint64_t v[] = {
			st.faults, st.mkwrite, st.preimages, st.shadow_pages,
			st.shadow_bytes, st.pages_allocated, st.wp_ranges,
		};

		for (i = 0; i < n; i++)
			out[i] = (struct db_counter){ names[i], v[i] };
	}
	return n;
}

const struct db_tracker_ops db_tracker_kmod_cow = {
	.name = "kmod-cow",
	.desc = "cowtrack kernel module: copy-on-write rounds, snapshot reads",
	.flags = DB_TRK_EXACT | DB_TRK_SNAPSHOT | DB_TRK_PROVIDES_RAM |
		 DB_TRK_ROOT,
	.granularity = DB_PAGE_SIZE,
	.priv_size = sizeof(struct kmod_priv),
	.probe = kmod_probe,
	.attach = kmod_attach,
	.start = kmod_start,
	.collect = kmod_collect,
	.snapshot_read = kmod_snapshot_read,
	.stop = kmod_stop,
	.detach = kmod_detach,
	.counters = kmod_counters,
};
