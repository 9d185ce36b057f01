// SPDX-License-Identifier: MIT
/*
 * uffd-async: userfaultfd write-protection in asynchronous mode
 * (UFFD_FEATURE_WP_ASYNC, Linux 6.7+). A write to a protected page is
 * resolved by the kernel itself, which only drops the page's uffd-wp bit:
 * no thread, no message. Collect is one PAGEMAP_SCAN walk that returns the
 * pages without the bit and sets it again in the same page-table walk
 * (PM_SCAN_WP_MATCHING), so get and re-arm are atomic per page and a
 * concurrent write lands either before (reported now) or after (reported
 * next time). PM_SCAN_CHECK_WPASYNC makes the walk fail rather than skip
 * RAM that somehow lost its registration.
 *
 * Argument: vec=N, the page_region slots per ioctl (default 4096); the walk
 * resumes at walk_end when more regions than that are dirty.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dirtybench/common.h"
#include "dirtybench/tracker.h"
#include "ram/mmtrack.h"

#define UFFD_ASYNC_VEC 4096

struct uffd_async_priv {
	int uffd, pagemap;
	bool have_fds, user_mode_only;
	uint8_t *base;
	size_t size;
	uint64_t vec_len;
	struct page_region *vec;
	struct db_scan_stats scan;
	uint64_t wp_ioctls;
};

static int uffd_async_probe(char *why, size_t len)
{
	return db_uffd_probe(UFFD_FEATURE_PAGEFAULT_FLAG_WP |
			     UFFD_FEATURE_WP_ASYNC, true, why, len);
}

static int uffd_async_configure(struct db_tracker *t, const char *args)
{
	struct uffd_async_priv *p = t->priv;
	int err;

	p->vec_len = UFFD_ASYNC_VEC;
	if (!args)
		return 0;
	if (strncmp(args, "vec=", 4))
		return db_error(-EINVAL,
				"tracker uffd-async: unknown argument '%s' (vec=N)",
				args);
	err = db_parse_u64(args + 4, 1, 1u << 20, &p->vec_len);
	if (err)
		return db_error(err, "tracker uffd-async: bad vec=N: %s",
				db_strerror());
	return 0;
}

static int uffd_async_attach(struct db_tracker *t, struct db_ram *ram)
{
	struct uffd_async_priv *p = t->priv;

	p->base = ram->base;
	p->size = ram->size;
	if (!p->vec_len)
		p->vec_len = UFFD_ASYNC_VEC;
	p->vec = calloc(p->vec_len, sizeof(*p->vec));
	if (!p->vec)
		return db_error(-ENOMEM, "tracker uffd-async: no memory for %llu scan regions",
				(unsigned long long)p->vec_len);
	p->pagemap = db_pagemap_open(0);
	if (p->pagemap < 0)
		return db_error_errno(p->pagemap,
				      "tracker uffd-async: cannot open /proc/self/pagemap");
	p->uffd = db_uffd_setup_wp("tracker uffd-async", ram,
				   UFFD_FEATURE_PAGEFAULT_FLAG_WP |
				   UFFD_FEATURE_WP_ASYNC, &p->user_mode_only);
	if (p->uffd < 0) {
		close(p->pagemap);
		return p->uffd;
	}
	p->have_fds = true;
	return 0;
}

static int protect_all(struct uffd_async_priv *p, bool protect)
{
	p->wp_ioctls++;
	return db_uffd_wp_all("tracker uffd-async", p->uffd, p->base, p->size, protect);
}

static int uffd_async_start(struct db_tracker *t)
{
	struct uffd_async_priv *p = t->priv;

	return db_uffd_arm("tracker uffd-async", p->uffd, p->base, p->size,
			   &p->wp_ioctls);
}

static int uffd_async_collect(struct db_tracker *t, struct db_bitmap *dirty)
{
	struct uffd_async_priv *p = t->priv;
	char sz[32];
	int err;

	err = db_pagemap_scan_written(p->pagemap, p->base, p->size, true,
				      p->vec, p->vec_len, dirty, &p->scan);
	if (err)
		return db_error_errno(err, "tracker uffd-async: PAGEMAP_SCAN of %s at %p%s",
				      db_fmt_bytes(p->size, sz, sizeof(sz)), p->base,
				      err == -EPERM ? " (RAM no longer registered for async write-protect)" : "");
	return 0;
}

static int uffd_async_stop(struct db_tracker *t)
{
	return protect_all(t->priv, false);
}

static void uffd_async_detach(struct db_tracker *t)
{
	struct uffd_async_priv *p = t->priv;

	if (p->have_fds) {
		db_uffd_unregister(p->uffd, p->base, p->size);
		close(p->uffd);
		close(p->pagemap);
		p->have_fds = false;
	}
	free(p->vec);
	p->vec = NULL;
}

static size_t uffd_async_counters(struct db_tracker *t, struct db_counter *out,
				  size_t max)
{
	struct uffd_async_priv *p = t->priv;
	const struct db_counter c[] = {
		{ "scan_ioctls", p->scan.ioctls },
		{ "scan_regions", p->scan.regions },
		{ "wp_ioctls", p->wp_ioctls },
		{ "user_mode_only", p->user_mode_only },
	};

	return db_counters_copy(out, max, c, DB_ARRAY_SIZE(c));
}

const struct db_tracker_ops db_tracker_uffd_async = {
	.name = "uffd-async",
	.desc = "userfaultfd WP_ASYNC + PAGEMAP_SCAN get-and-rearm (no thread)",
	.flags = DB_TRK_EXACT,
	.granularity = DB_PAGE_SIZE,
	.priv_size = sizeof(struct uffd_async_priv),
	.probe = uffd_async_probe,
	.configure = uffd_async_configure,
	.attach = uffd_async_attach,
	.start = uffd_async_start,
	.collect = uffd_async_collect,
	.stop = uffd_async_stop,
	.detach = uffd_async_detach,
	.counters = uffd_async_counters,
};
