// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * cowtrack: guest RAM with copy-on-write dirty tracking.
 *
 * Each open file of /dev/cowtrack is one context: CREATE sizes it, a shared
 * mmap maps its pages (allocated on first fault, never swapped), START
 * write-protects every mapped page, and the first write to a page in a round
 * goes through ->page_mkwrite, which sets the page's dirty bit and, in
 * copy-on-write mode, first copies the page's pre-image into a shadow page.
 * READ_SNAPSHOT serves the round-start image (the shadow if the page was
 * written, the live page otherwise) while writers keep writing, and
 * GET_DIRTY_LOG hands out the dirty bitmap, write-protects those pages again
 * and begins the next round.
 *
 * Invariant while logging: a page whose bit is clear has no writable PTE,
 * and a page whose bit is set has a shadow (copy-on-write mode).
 *
 * A round begins at one instant for all pages, so that the snapshot is one
 * consistent image: the switch freezes the context (->page_mkwrite waits
 * while ctx->switching is set, so no page becomes writable), waits on the
 * page lock of every page whose ->page_mkwrite decided before the freeze
 * (the core installs the writable PTE before it unlocks the page), removes
 * the PTEs, and only then swaps the round and thaws. Between the last PTE
 * removal and the thaw nothing can be written: that is the round's instant.
 *
 * Locks, outer to inner: ctx->ioctl_lock (control ioctls; may be held while
 * copying to and from user memory, which can fault into this very device),
 * the page lock, ctx->lock (a spinlock over the dirty bits, the shadow
 * pointers and the round state; never held across a user copy or anything
 * that sleeps). ->page_mkwrite waits for a thaw holding neither.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/bitmap.h>
#include <linux/bitops.h>
#include <linux/fs.h>
#include <linux/highmem.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pagemap.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/uaccess.h>
#include <linux/version.h>
#include <linux/wait.h>

#include "cowtrack_uapi.h"

static unsigned long max_size_mb = 4096;
module_param(max_size_mb, ulong, 0644);
MODULE_PARM_DESC(max_size_mb,
		 "largest guest RAM one context may CREATE, in MiB (default 4096)");

#ifdef COWTRACK_TEST_SKIP_WP
/* Test build: never write-protect, so that the test suites must fail. */
static const bool skip_wp = true;
#else
static const bool skip_wp;
#endif

/* Pages one snapshot read copies under ctx->lock before going to user. */
#define SNAP_BATCH 16

/* Pages (guest RAM and shadows) held by all contexts together. */
static atomic_long_t pages_held = ATOMIC_LONG_INIT(0);
static atomic_t contexts = ATOMIC_INIT(0);

struct cowtrack_ctx {
	/* This context's own mappings, so that zapping touches no other. */
	struct address_space mapping;
	struct mutex ioctl_lock;	/* one control ioctl at a time */
	spinlock_t lock;		/* state shared with ->page_mkwrite */
	wait_queue_head_t thaw;	/* ->page_mkwrite waits here during a switch */

	/* 0 until CREATE; published with release after the arrays below. */
	unsigned long npages;
	struct page **pages;	/* guest RAM, filled in by ->fault */
	struct page **shadow;	/* pre-images of the current round */
	unsigned long *dirty;	/* written in the current round */
	u64 *out;		/* GET_DIRTY_LOG's result, in ABI layout */
	u64 *carry;		/* bits a failed copy to user did not deliver */
	void *bounce;		/* SNAP_BATCH pages for READ_SNAPSHOT */

	/* Under ctx->lock. */
	bool switching;
	bool logging;
	bool cow;
	u64 round;
	unsigned long shadow_pages;

	atomic64_t faults;
	atomic64_t mkwrite;
	atomic64_t preimages;
	atomic64_t allocated;
	atomic64_t wp_ranges;
};

static const struct address_space_operations cowtrack_aops = {
	.dirty_folio = noop_dirty_folio,
};

/* vm_flags became read-only in 6.3: the installed headers decide. */
static void cowtrack_vma_flags(struct vm_area_struct *vma, unsigned long set)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
	vm_flags_set(vma, set);
#else
	vma->vm_flags |= set;
#endif
}

static void free_tracked_page(struct page *page)
{
	put_page(page);
	atomic_long_dec(&pages_held);
}

/* Guest RAM page @i, allocated and zeroed on first use; NULL if no memory. */
static struct page *ctx_page(struct cowtrack_ctx *ctx, unsigned long i)
{
	struct page *page = READ_ONCE(ctx->pages[i]);
	struct page *old;

	if (page)
		return page;
	page = alloc_page(GFP_HIGHUSER | __GFP_ZERO);
	if (!page)
		return NULL;
	old = cmpxchg(&ctx->pages[i], NULL, page);
	if (old) {
		__free_page(page);
		return old;
	}
	atomic_long_inc(&pages_held);
	atomic64_inc(&ctx->allocated);
	return page;
}

/* Remove every PTE of pages [first, first + n): the next write faults. */
static void ctx_protect(struct cowtrack_ctx *ctx, unsigned long first,
			unsigned long n)
{
	if (skip_wp)
		return;
	unmap_mapping_range(&ctx->mapping, (loff_t)first << PAGE_SHIFT,
			    (loff_t)n << PAGE_SHIFT, 0);
	atomic64_inc(&ctx->wp_ranges);
}

static vm_fault_t cowtrack_fault(struct vm_fault *vmf)
{
	struct cowtrack_ctx *ctx = vmf->vma->vm_private_data;
	struct page *page;

	if (vmf->pgoff >= ctx->npages)
		return VM_FAULT_SIGBUS;
	page = ctx_page(ctx, vmf->pgoff);
	if (!page)
		return VM_FAULT_OOM;
	atomic64_inc(&ctx->faults);
	get_page(page);
	vmf->page = page;
	return 0;
}

/* First write to a page since it was write-protected. */
static vm_fault_t cowtrack_page_mkwrite(struct vm_fault *vmf)
{
	struct cowtrack_ctx *ctx = vmf->vma->vm_private_data;
	struct page *page = vmf->page;
	unsigned long i = vmf->pgoff;
	struct page *spare = NULL;
	bool need;

	atomic64_inc(&ctx->mkwrite);
	if (i >= ctx->npages || READ_ONCE(ctx->pages[i]) != page)
		return VM_FAULT_SIGBUS;
	for (;;) {
		/* No page becomes writable while a round switch runs. */
		if (wait_event_killable(ctx->thaw, !READ_ONCE(ctx->switching)))
			goto killed;
		/* Allocate a shadow outside the spinlock if one is needed. */
		if (!spare && READ_ONCE(ctx->logging) && READ_ONCE(ctx->cow) &&
		    !test_bit(i, ctx->dirty)) {
			spare = alloc_page(GFP_HIGHUSER);
			if (!spare)
				return VM_FAULT_OOM;
		}
		lock_page(page);
		spin_lock(&ctx->lock);
		if (!ctx->switching) {
			need = ctx->logging && !test_bit(i, ctx->dirty);
			if (!need || !ctx->cow || spare)
				break;
		}
		/* A switch began, or copy-on-write did: look again. */
		spin_unlock(&ctx->lock);
		unlock_page(page);
	}
	if (need) {
		if (ctx->cow) {
			copy_highpage(spare, page);
			ctx->shadow[i] = spare;
			ctx->shadow_pages++;
			atomic_long_inc(&pages_held);
			atomic64_inc(&ctx->preimages);
			spare = NULL;
		}
		__set_bit(i, ctx->dirty);
	}
	spin_unlock(&ctx->lock);
	if (spare)
		__free_page(spare);
	/* The core installs the writable PTE before it unlocks the page. */
	return VM_FAULT_LOCKED;

killed:
	if (spare)
		__free_page(spare);
	return VM_FAULT_SIGBUS;
}

static const struct vm_operations_struct cowtrack_vm_ops = {
	.fault = cowtrack_fault,
	.page_mkwrite = cowtrack_page_mkwrite,
};

static int cowtrack_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct cowtrack_ctx *ctx = file->private_data;
	/* Pairs with the release in ioc_create(): the arrays are set. */
	unsigned long npages = smp_load_acquire(&ctx->npages);

	if (!npages)
		return -EBADFD;
	/* A private mapping would copy written pages away from us. */
	if (!(vma->vm_flags & VM_MAYSHARE))
		return -EINVAL;
	if (vma->vm_pgoff >= npages || vma_pages(vma) > npages - vma->vm_pgoff)
		return -EINVAL;
	cowtrack_vma_flags(vma, VM_DONTEXPAND | VM_DONTDUMP);
	vma->vm_ops = &cowtrack_vm_ops;
	vma->vm_private_data = ctx;
	return 0;
}

static int cowtrack_open(struct inode *inode, struct file *file)
{
	struct cowtrack_ctx *ctx;

	ctx = kzalloc(sizeof(*ctx), GFP_KERNEL_ACCOUNT);
	if (!ctx)
		return -ENOMEM;
	address_space_init_once(&ctx->mapping);
	ctx->mapping.host = inode;
	ctx->mapping.a_ops = &cowtrack_aops;
	mapping_set_gfp_mask(&ctx->mapping, GFP_HIGHUSER);
	mutex_init(&ctx->ioctl_lock);
	spin_lock_init(&ctx->lock);
	init_waitqueue_head(&ctx->thaw);
	file->f_mapping = &ctx->mapping;
	file->private_data = ctx;
	atomic_inc(&contexts);
	return 0;
}

static void ctx_free_arrays(struct cowtrack_ctx *ctx)
{
	kvfree(ctx->pages);
	kvfree(ctx->shadow);
	kvfree(ctx->dirty);
	kvfree(ctx->out);
	kvfree(ctx->carry);
	kfree(ctx->bounce);
}

/* No mapping is left: every VMA holds a reference to the file. */
static int cowtrack_release(struct inode *inode, struct file *file)
{
	struct cowtrack_ctx *ctx = file->private_data;
	unsigned long i;

	for (i = 0; i < ctx->npages; i++) {
		if (ctx->pages[i])
			free_tracked_page(ctx->pages[i]);
		if (ctx->shadow[i])
			free_tracked_page(ctx->shadow[i]);
		if (!(i % 4096))
			cond_resched();
	}
	ctx_free_arrays(ctx);
	kfree(ctx);
	atomic_dec(&contexts);
	return 0;
}

static u64 max_size_bytes(void)
{
	unsigned long mb = READ_ONCE(max_size_mb);

	return mb > (U64_MAX >> 20) ? U64_MAX : (u64)mb << 20;
}

static long ioc_version(void __user *uarg)
{
	struct cowtrack_version v = {
		.abi_version = COWTRACK_ABI_VERSION,
		.page_size = PAGE_SIZE,
		.max_size = max_size_bytes(),
	};

	return copy_to_user(uarg, &v, sizeof(v)) ? -EFAULT : 0;
}

static long ioc_create(struct cowtrack_ctx *ctx, void __user *uarg)
{
	struct cowtrack_create c;
	unsigned long npages, words;

	if (copy_from_user(&c, uarg, sizeof(c)))
		return -EFAULT;
	if (ctx->npages)
		return -EBUSY;
	if (c.flags || !c.size || !PAGE_ALIGNED(c.size))
		return -EINVAL;
	if (c.size > max_size_bytes() || (c.size >> PAGE_SHIFT) > INT_MAX)
		return -E2BIG;
	npages = c.size >> PAGE_SHIFT;
	words = DIV_ROUND_UP(npages, 64);

	ctx->pages = kvcalloc(npages, sizeof(*ctx->pages), GFP_KERNEL_ACCOUNT);
	ctx->shadow = kvcalloc(npages, sizeof(*ctx->shadow),
			       GFP_KERNEL_ACCOUNT);
	ctx->dirty = kvcalloc(BITS_TO_LONGS(npages), sizeof(long),
			      GFP_KERNEL_ACCOUNT);
	ctx->out = kvcalloc(words, sizeof(u64), GFP_KERNEL_ACCOUNT);
	ctx->carry = kvcalloc(words, sizeof(u64), GFP_KERNEL_ACCOUNT);
	ctx->bounce = kmalloc(SNAP_BATCH * PAGE_SIZE, GFP_KERNEL_ACCOUNT);
	if (!ctx->pages || !ctx->shadow || !ctx->dirty || !ctx->out ||
	    !ctx->carry || !ctx->bounce) {
		ctx_free_arrays(ctx);
		ctx->pages = NULL;
		ctx->shadow = NULL;
		ctx->dirty = NULL;
		ctx->out = NULL;
		ctx->carry = NULL;
		ctx->bounce = NULL;
		return -ENOMEM;
	}
	/* mmap reads npages without ioctl_lock: arrays first. */
	smp_store_release(&ctx->npages, npages);
	return 0;
}

/*
 * Clear dirty word @w and move the shadows of its pages to @drop; return
 * the bits it held. The caller has frozen the context or stopped logging,
 * so no ->page_mkwrite changes the word meanwhile.
 */
static unsigned long take_word(struct cowtrack_ctx *ctx, unsigned long w,
			       struct list_head *drop)
{
	unsigned long bits, b, base = w * BITS_PER_LONG;
	struct page *shadow;

	spin_lock(&ctx->lock);
	bits = ctx->dirty[w];
	ctx->dirty[w] = 0;
	for_each_set_bit(b, &bits, BITS_PER_LONG) {
		shadow = ctx->shadow[base + b];
		if (shadow) {
			list_add(&shadow->lru, drop);
			ctx->shadow[base + b] = NULL;
			ctx->shadow_pages--;
		}
	}
	spin_unlock(&ctx->lock);
	return bits;
}

static void free_list(struct list_head *drop)
{
	struct page *page, *tmp;
	unsigned long n = 0;

	list_for_each_entry_safe(page, tmp, drop, lru) {
		list_del(&page->lru);
		free_tracked_page(page);
		if (!(++n % 4096))
			cond_resched();
	}
}

/* From now on ->page_mkwrite waits: no page becomes writable. */
static void ctx_freeze(struct cowtrack_ctx *ctx)
{
	spin_lock(&ctx->lock);
	ctx->switching = true;
	spin_unlock(&ctx->lock);
}

/*
 * Wait for a ->page_mkwrite that decided before the freeze: it holds the
 * page lock until the core has installed the writable PTE.
 */
static void page_settle(struct page *page)
{
	lock_page(page);
	unlock_page(page);
}

static long ioc_start(struct cowtrack_ctx *ctx, void __user *uarg)
{
	struct cowtrack_start s;
	struct page *page;
	unsigned long i;

	if (copy_from_user(&s, uarg, sizeof(s)))
		return -EFAULT;
	if (!ctx->npages)
		return -EBADFD;
	if (s.flags & ~(u64)COWTRACK_START_FLAGS)
		return -EINVAL;
	if (ctx->logging)
		return -EBUSY;

	ctx_freeze(ctx);
	for (i = 0; i < ctx->npages; i++) {
		page = READ_ONCE(ctx->pages[i]);
		if (page)
			page_settle(page);
		if (!(i % 4096))
			cond_resched();
	}
	ctx_protect(ctx, 0, ctx->npages);
	memset(ctx->carry, 0, DIV_ROUND_UP(ctx->npages, 64) * sizeof(u64));

	/* Round 0 begins: the image is the RAM as it is now. */
	spin_lock(&ctx->lock);
	bitmap_zero(ctx->dirty, ctx->npages);
	ctx->round = 0;
	ctx->cow = s.flags & COWTRACK_START_COW;
	ctx->logging = true;
	ctx->switching = false;
	spin_unlock(&ctx->lock);
	wake_up_all(&ctx->thaw);
	return 0;
}

static long ioc_get_dirty_log(struct cowtrack_ctx *ctx, void __user *uarg)
{
	unsigned long i, w, words, bytes, bits, first = ULONG_MAX, last = 0;
	unsigned long n = 0;
	struct cowtrack_dirty_log d;
	void __user *ubitmap;
	LIST_HEAD(drop);
	u64 count = 0;

	if (copy_from_user(&d, uarg, sizeof(d)))
		return -EFAULT;
	if (!ctx->npages || !ctx->logging)
		return -EBADFD;
	words = DIV_ROUND_UP(ctx->npages, 64);
	bytes = words * sizeof(u64);
	if (d.bitmap_size < bytes)
		return -EINVAL;
	ubitmap = u64_to_user_ptr(d.bitmap);
	/* Fail on a bad buffer before any bit is taken. */
	if (clear_user(ubitmap, bytes))
		return -EFAULT;

	/* Only pages written this round can have a writable PTE. */
	ctx_freeze(ctx);
	for_each_set_bit(i, ctx->dirty, ctx->npages) {
		page_settle(ctx->pages[i]);
		first = min(first, i);
		last = i;
		if (!(++n % 4096))
			cond_resched();
	}
	if (first <= last)
		ctx_protect(ctx, first, last - first + 1);

	/* Nothing can be written now: the next round begins here. */
	memcpy(ctx->out, ctx->carry, bytes);
	memset(ctx->carry, 0, bytes);
	for (w = 0; w < BITS_TO_LONGS(ctx->npages); w++) {
		bits = take_word(ctx, w, &drop);
		ctx->out[w * BITS_PER_LONG / 64] |=
			(u64)bits << (w * BITS_PER_LONG % 64);
	}
	spin_lock(&ctx->lock);
	d.round = ctx->round++;
	ctx->switching = false;
	spin_unlock(&ctx->lock);
	wake_up_all(&ctx->thaw);
	free_list(&drop);

	for (w = 0; w < words; w++)
		count += hweight64(ctx->out[w]);
	d.dirty_pages = count;
	if (copy_to_user(ubitmap, ctx->out, bytes) ||
	    copy_to_user(uarg, &d, sizeof(d))) {
		/* Not delivered: the next GET_DIRTY_LOG reports them. */
		memcpy(ctx->carry, ctx->out, bytes);
		return -EFAULT;
	}
	return 0;
}

static long ioc_read_snapshot(struct cowtrack_ctx *ctx, void __user *uarg)
{
	struct cowtrack_snapshot s;
	unsigned long i, k, n;
	u8 __user *dst;

	if (copy_from_user(&s, uarg, sizeof(s)))
		return -EFAULT;
	if (!ctx->npages || !ctx->logging || !ctx->cow)
		return -EBADFD;
	if (!s.num_pages || s.first_page >= ctx->npages ||
	    s.num_pages > ctx->npages - s.first_page)
		return -EINVAL;
	if (s.buf_size / PAGE_SIZE < s.num_pages)
		return -EINVAL;
	dst = u64_to_user_ptr(s.buf);

	for (i = 0; i < s.num_pages; i += n) {
		unsigned long first = s.first_page + i;

		n = min_t(unsigned long, SNAP_BATCH, s.num_pages - i);
		spin_lock(&ctx->lock);
		for (k = 0; k < n; k++) {
			struct page *src = ctx->shadow[first + k];
			void *to = ctx->bounce + k * PAGE_SIZE;

			if (!src)
				src = READ_ONCE(ctx->pages[first + k]);
			if (src)
				memcpy_from_page(to, src, 0, PAGE_SIZE);
			else
				memset(to, 0, PAGE_SIZE);
		}
		s.round = ctx->round;
		spin_unlock(&ctx->lock);
		if (copy_to_user(dst + i * PAGE_SIZE, ctx->bounce,
				 n * PAGE_SIZE))
			return -EFAULT;
		if (fatal_signal_pending(current))
			return -EINTR;
		cond_resched();
	}
	return copy_to_user(uarg, &s, sizeof(s)) ? -EFAULT : 0;
}

static long ioc_stop(struct cowtrack_ctx *ctx)
{
	unsigned long w;
	LIST_HEAD(drop);

	if (!ctx->npages || !ctx->logging)
		return -EBADFD;
	spin_lock(&ctx->lock);
	ctx->logging = false;
	spin_unlock(&ctx->lock);
	/* No bit is set any more: clear them and drop the shadows. */
	for (w = 0; w < BITS_TO_LONGS(ctx->npages); w++)
		take_word(ctx, w, &drop);
	free_list(&drop);
	return 0;
}

static long ioc_stats(struct cowtrack_ctx *ctx, void __user *uarg)
{
	struct cowtrack_stats st = {};

	st.faults = atomic64_read(&ctx->faults);
	st.mkwrite = atomic64_read(&ctx->mkwrite);
	st.preimages = atomic64_read(&ctx->preimages);
	st.pages_allocated = atomic64_read(&ctx->allocated);
	st.wp_ranges = atomic64_read(&ctx->wp_ranges);
	if (ctx->npages) {
		spin_lock(&ctx->lock);
		st.shadow_pages = ctx->shadow_pages;
		st.rounds = ctx->logging ? ctx->round + 1 : 0;
		st.dirty_pages = bitmap_weight(ctx->dirty, ctx->npages);
		spin_unlock(&ctx->lock);
	}
	st.shadow_bytes = st.shadow_pages * PAGE_SIZE;
	return copy_to_user(uarg, &st, sizeof(st)) ? -EFAULT : 0;
}

static long cowtrack_ioctl(struct file *file, unsigned int cmd,
			   unsigned long arg)
{
	struct cowtrack_ctx *ctx = file->private_data;
	void __user *uarg = (void __user *)arg;
	long ret;

	if (cmd == COWTRACK_VERSION)
		return ioc_version(uarg);
	if (mutex_lock_interruptible(&ctx->ioctl_lock))
		return -EINTR;
	switch (cmd) {
	case COWTRACK_CREATE:
		ret = ioc_create(ctx, uarg);
		break;
	case COWTRACK_START:
		ret = ioc_start(ctx, uarg);
		break;
	case COWTRACK_GET_DIRTY_LOG:
		ret = ioc_get_dirty_log(ctx, uarg);
		break;
	case COWTRACK_READ_SNAPSHOT:
		ret = ioc_read_snapshot(ctx, uarg);
		break;
	case COWTRACK_STATS:
		ret = ioc_stats(ctx, uarg);
		break;
	case COWTRACK_STOP:
		ret = ioc_stop(ctx);
		break;
	default:
		ret = -ENOTTY;
		break;
	}
	mutex_unlock(&ctx->ioctl_lock);
	return ret;
}

static const struct file_operations cowtrack_fops = {
	.owner = THIS_MODULE,
	.open = cowtrack_open,
	.release = cowtrack_release,
	.unlocked_ioctl = cowtrack_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.mmap = cowtrack_mmap,
	.llseek = noop_llseek,
};

/* /sys/class/misc/cowtrack/{pages_held,contexts}: leak checks for tests. */
static ssize_t pages_held_show(struct device *dev,
			       struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%ld\n", atomic_long_read(&pages_held));
}
static DEVICE_ATTR_RO(pages_held);

static ssize_t contexts_show(struct device *dev,
			     struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%d\n", atomic_read(&contexts));
}
static DEVICE_ATTR_RO(contexts);

static struct attribute *cowtrack_attrs[] = {
	&dev_attr_pages_held.attr,
	&dev_attr_contexts.attr,
	NULL,
};
ATTRIBUTE_GROUPS(cowtrack);

static struct miscdevice cowtrack_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "cowtrack",
	.fops = &cowtrack_fops,
	.mode = 0600,
	.groups = cowtrack_groups,
};

static int __init cowtrack_init(void)
{
	int err = misc_register(&cowtrack_misc);

	if (err)
		return err;
	if (skip_wp)
		pr_notice("test build: write protection is skipped, tracking is broken\n");
	pr_info("ABI %d, max %lu MiB per context\n", COWTRACK_ABI_VERSION,
		max_size_mb);
	return 0;
}

static void __exit cowtrack_exit(void)
{
	misc_deregister(&cowtrack_misc);
	if (atomic_long_read(&pages_held))
		pr_err("%ld pages leaked\n", atomic_long_read(&pages_held));
}

module_init(cowtrack_init);
module_exit(cowtrack_exit);

MODULE_DESCRIPTION("Guest RAM with copy-on-write dirty page tracking");
MODULE_AUTHOR("dirtybench");
MODULE_LICENSE("Dual MIT/GPL");
