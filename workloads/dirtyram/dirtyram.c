// SPDX-License-Identifier: MIT
/*
 * dirtyram workload library. Self-contained (libc and pthreads only) so the
 * standalone program links statically and runs inside real guests.
 *
 * Each copy is one vCPU thread. A period writes a stamp into DIRTY pages of
 * the copy's TOTAL pages, then sleeps until the next period's deadline on an
 * absolute CLOCK_MONOTONIC schedule. A period that starts late records its
 * lateness (the guest's view of a stall); a copy more than one period behind
 * skips the missed periods instead of bursting to catch up, so the achieved
 * rate is reported honestly next to the target.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <sys/prctl.h>

#include "dirtybench/dirtyram.h"

#define NSEC 1000000000ull
#define PAGE_SHIFT 12
#define STATE_MAGIC 0x54535244u	/* "DRST" */
#define STATE_VERSION 1u
#define STATE_HDR_BYTES 48
#define STATE_COPY_BYTES 40
/* How many page writes between two looks at the pause flag. */
#define PAUSE_CHECK_EVERY 16

enum { RUN, PAUSE, STOP };

struct dr_vcpu {
	struct dr_workload *w;
	unsigned idx;
	pthread_t thread;
	int started;
	/* state: saved and restored */
	uint64_t gen;
	uint64_t pos;
	uint64_t rng;
	uint64_t periods;
	uint64_t deadline_ns;	/* next period, CLOCK_MONOTONIC */
	/* statistics, read by other threads with relaxed atomics */
	uint64_t pages_written;
	uint64_t late_periods;
	uint64_t max_late_ns;
	uint64_t max_late_at_ns;
	uint64_t run_ns;
	uint64_t run_since_ns;	/* 0 while not running */
	double tokens;		/* rate limit: pages this vCPU may write now */
	uint64_t tokens_at_ns;
	uint64_t throttled_ns;
	int err;
};

/* The stall probe's steps, in PROBE_BUCKET_NS buckets, the last open. */
#define PROBE_BUCKET_NS 10000ull
#define PROBE_BUCKETS 200

struct dr_probe {
	pthread_t thread;
	int started;
	uint64_t interval_ns;
	uint64_t threshold_ns;
	/* written by the probe, read with relaxed atomics */
	uint64_t readings;
	uint64_t first_ns;
	uint64_t last_ns;
	uint64_t hist[PROBE_BUCKETS];
	/* under the workload's lock */
	uint64_t gaps;
	unsigned ngap;
	struct dr_gap gap[DR_PROBE_GAPS];
};

struct dr_workload {
	struct dr_config cfg;
	uint8_t *ram;
	size_t ram_pages;
	struct dr_access acc;
	struct dr_vcpu *v;
	double *zipf_cdf;
	uint64_t hot_pages;

	pthread_mutex_t lock;
	pthread_cond_t cond;	/* vCPUs sleep and park on it */
	pthread_cond_t acked;	/* dr_pause() waits on it */
	int state;		/* RUN, PAUSE, STOP: written under lock */
	unsigned parked;
	unsigned running;
	uint32_t epoch;
	int started;
	uint64_t pauses;
	uint64_t max_pause_wait_ns;
	uint64_t lateness_peak;
	uint64_t limit_pps;	/* 0: no dirty-rate limit */
	struct dr_probe probe;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC + (uint64_t)ts.tv_nsec;
}

static uint64_t wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * NSEC + (uint64_t)ts.tv_nsec;
}

static struct timespec to_ts(uint64_t ns)
{
	struct timespec ts = {
		.tv_sec = (time_t)(ns / NSEC),
		.tv_nsec = (long)(ns % NSEC),
	};

	return ts;
}

static uint64_t ld(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static void st(uint64_t *p, uint64_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELAXED);
}

static void atomic_max(uint64_t *p, uint64_t v)
{
	uint64_t old = ld(p);

	while (v > old &&
	       !__atomic_compare_exchange_n(p, &old, v, 1, __ATOMIC_RELAXED,
					    __ATOMIC_RELAXED))
		;
}

/* splitmix64: one word of state, trivially saved and restored. */
static uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t rng_below(uint64_t *s, uint64_t n)
{
	return (uint64_t)(((unsigned __int128)rng_next(s) * n) >> 64);
}

int dr_pattern_parse(const char *s, struct dr_config *cfg)
{
	char *end;
	double v;

	if (!strcmp(s, "seq")) {
		cfg->pattern = DR_PATTERN_SEQ;
		return 0;
	}
	if (!strcmp(s, "random")) {
		cfg->pattern = DR_PATTERN_RANDOM;
		return 0;
	}
	if (!strncmp(s, "hotset:", 7)) {
		v = strtod(s + 7, &end);
		if (end == s + 7 || *end || !(v > 0 && v <= 1))
			return -EINVAL;
		cfg->pattern = DR_PATTERN_HOTSET;
		cfg->hot_fraction = v;
		return 0;
	}
	if (!strncmp(s, "zipf:", 5)) {
		v = strtod(s + 5, &end);
		if (end == s + 5 || *end || !(v > 0 && v <= 10))
			return -EINVAL;
		cfg->pattern = DR_PATTERN_ZIPF;
		cfg->zipf_s = v;
		return 0;
	}
	return -EINVAL;
}

const char *dr_pattern_str(const struct dr_config *cfg, char *buf, size_t len)
{
	switch (cfg->pattern) {
	case DR_PATTERN_SEQ:
		snprintf(buf, len, "seq");
		break;
	case DR_PATTERN_RANDOM:
		snprintf(buf, len, "random");
		break;
	case DR_PATTERN_HOTSET:
		snprintf(buf, len, "hotset:%g", cfg->hot_fraction);
		break;
	case DR_PATTERN_ZIPF:
		snprintf(buf, len, "zipf:%g", cfg->zipf_s);
		break;
	default:
		snprintf(buf, len, "?");
	}
	return buf;
}

int dr_config_check(const struct dr_config *cfg, size_t ram_pages)
{
	if (cfg->total_pages == 0 || cfg->copies == 0 || cfg->copies > 1024)
		return -EINVAL;
	if (cfg->dirty_pages > cfg->total_pages)
		return -EINVAL;
	if (cfg->period_ms > 3600 * 1000)
		return -EINVAL;
	if (cfg->total_pages > ram_pages / cfg->copies)
		return -ENOSPC;
	if (cfg->pattern == DR_PATTERN_HOTSET &&
	    !(cfg->hot_fraction > 0 && cfg->hot_fraction <= 1))
		return -EINVAL;
	if (cfg->pattern == DR_PATTERN_ZIPF && !(cfg->zipf_s > 0))
		return -EINVAL;
	return 0;
}

static int zipf_init(struct dr_workload *w)
{
	uint64_t n = w->cfg.total_pages, k;
	double sum = 0;

	w->zipf_cdf = malloc(n * sizeof(double));
	if (!w->zipf_cdf)
		return -ENOMEM;
	for (k = 0; k < n; k++) {
		sum += 1.0 / pow((double)(k + 1), w->cfg.zipf_s);
		w->zipf_cdf[k] = sum;
	}
	for (k = 0; k < n; k++)
		w->zipf_cdf[k] /= sum;
	return 0;
}

static uint64_t zipf_pick(struct dr_workload *w, uint64_t *rng)
{
	double u = (double)(rng_next(rng) >> 11) * 0x1.0p-53;
	uint64_t lo = 0, hi = w->cfg.total_pages - 1;

	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;

		if (w->zipf_cdf[mid] < u)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Page (relative to the copy) the next write goes to. */
static uint64_t next_page(struct dr_vcpu *v)
{
	struct dr_workload *w = v->w;
	uint64_t p;

	switch (w->cfg.pattern) {
	case DR_PATTERN_RANDOM:
		return rng_below(&v->rng, w->cfg.total_pages);
	case DR_PATTERN_HOTSET:
		return rng_below(&v->rng, w->hot_pages);
	case DR_PATTERN_ZIPF:
		return zipf_pick(w, &v->rng);
	case DR_PATTERN_SEQ:
	default:
		p = v->pos;
		v->pos = p + 1 == w->cfg.total_pages ? 0 : p + 1;
		return p;
	}
}

static int write_page(struct dr_vcpu *v, uint64_t page)
{
	struct dr_workload *w = v->w;
	struct dr_stamp s = {
		.magic = DR_STAMP_MAGIC,
		.page = page,
		.gen = ++v->gen,
		.epoch = __atomic_load_n(&w->epoch, __ATOMIC_ACQUIRE),
		.copy = v->idx,
	};

	if (w->acc.write)
		return w->acc.write(w->acc.ctx, v->idx, page, 0, &s, sizeof(s));
	memcpy(w->ram + (page << PAGE_SHIFT), &s, sizeof(s));
	return 0;
}

static void run_begin(struct dr_vcpu *v, uint64_t now)
{
	st(&v->run_since_ns, now);
}

static void run_end(struct dr_vcpu *v, uint64_t now)
{
	uint64_t since = ld(&v->run_since_ns);

	if (since) {
		st(&v->run_ns, ld(&v->run_ns) + (now - since));
		st(&v->run_since_ns, 0);
	}
}

/*
 * Park while paused. Called with the lock held; returns with it held and
 * the state RUN or STOP.
 */
static void park(struct dr_vcpu *v)
{
	struct dr_workload *w = v->w;

	run_end(v, mono_ns());
	w->parked++;
	pthread_cond_broadcast(&w->acked);
	while (w->state == PAUSE)
		pthread_cond_wait(&w->cond, &w->lock);
	w->parked--;
	run_begin(v, mono_ns());
}

/*
 * Between two writes: park if a pause was asked for. Returns true when the
 * workload is stopping. Called without the lock.
 */
static bool hold_if_paused(struct dr_vcpu *v)
{
	struct dr_workload *w = v->w;

	if (__atomic_load_n(&w->state, __ATOMIC_ACQUIRE) == RUN)
		return false;
	pthread_mutex_lock(&w->lock);
	if (w->state == PAUSE)
		park(v);
	pthread_mutex_unlock(&w->lock);
	return __atomic_load_n(&w->state, __ATOMIC_ACQUIRE) == STOP;
}

/* A period starts: measure how late it is against its deadline. */
static void period_start(struct dr_vcpu *v, uint64_t period_ns)
{
	struct dr_workload *w = v->w;
	uint64_t now = mono_ns(), late;

	if (!period_ns)
		return;
	if (!v->deadline_ns)
		v->deadline_ns = now;
	if (now <= v->deadline_ns)
		return;
	late = now - v->deadline_ns;
	if (late > ld(&v->max_late_ns)) {
		st(&v->max_late_at_ns, wall_ns() - late);
		st(&v->max_late_ns, late);
	}
	atomic_max(&w->lateness_peak, late);
	if (late > period_ns) {
		/* more than a period behind: skip, do not burst */
		st(&v->late_periods, ld(&v->late_periods) + 1);
		v->deadline_ns = now;
	}
}

/*
 * Dirty-rate limit: a token bucket per vCPU holding at most 10 ms worth of
 * writes. Returns with a token taken, or early when the workload leaves
 * RUN (the caller re-checks the state). Called without the lock.
 */
static void take_token(struct dr_vcpu *v, uint64_t limit_pps)
{
	struct dr_workload *w = v->w;
	double rate = (double)limit_pps / w->cfg.copies;
	double burst = rate / 100 > 1 ? rate / 100 : 1;
	uint64_t now = mono_ns(), t0 = now;

	if (!v->tokens_at_ns)
		v->tokens_at_ns = now;
	v->tokens += (double)(now - v->tokens_at_ns) * rate / 1e9;
	v->tokens_at_ns = now;
	if (v->tokens > burst)
		v->tokens = burst;
	if (v->tokens >= 1) {
		v->tokens -= 1;
		return;
	}
	pthread_mutex_lock(&w->lock);
	while (w->state == RUN) {
		struct timespec ts;

		now = mono_ns();
		v->tokens += (double)(now - v->tokens_at_ns) * rate / 1e9;
		v->tokens_at_ns = now;
		if (v->tokens >= 1)
			break;
		ts = to_ts(now + (uint64_t)((1 - v->tokens) * 1e9 / rate) + 1);
		pthread_cond_timedwait(&w->cond, &w->lock, &ts);
	}
	pthread_mutex_unlock(&w->lock);
	if (v->tokens >= 1)
		v->tokens -= 1;
	st(&v->throttled_ns, ld(&v->throttled_ns) + (mono_ns() - t0));
}

static void *vcpu_main(void *arg)
{
	struct dr_vcpu *v = arg;
	struct dr_workload *w = v->w;
	uint64_t period_ns = w->cfg.period_ms * 1000000ull;
	uint64_t base = (uint64_t)v->idx * w->cfg.total_pages, k;
	uint64_t limit;
	int err = 0;
	char name[16];

	/* collectors find the vCPU threads by name */
	snprintf(name, sizeof(name), "vcpu%u", v->idx);
	pthread_setname_np(pthread_self(), name);
	pthread_mutex_lock(&w->lock);
	run_begin(v, mono_ns());
	for (;;) {
		if (w->state == PAUSE)
			park(v);
		if (w->state == STOP)
			break;
		pthread_mutex_unlock(&w->lock);

		period_start(v, period_ns);
		for (k = 0; k < w->cfg.dirty_pages; k++) {
			if (k % PAUSE_CHECK_EVERY == 0 && hold_if_paused(v))
				break;
			limit = __atomic_load_n(&w->limit_pps, __ATOMIC_RELAXED);
			if (limit) {
				take_token(v, limit);
				if (__atomic_load_n(&w->state, __ATOMIC_ACQUIRE) != RUN) {
					if (hold_if_paused(v))
						break;
					k--;	/* this page is not written yet */
					continue;
				}
			}
			err = write_page(v, base + next_page(v));
			if (err)
				break;
			st(&v->pages_written, ld(&v->pages_written) + 1);
		}
		pthread_mutex_lock(&w->lock);
		if (err)
			break;
		st(&v->periods, ld(&v->periods) + 1);
		if (!period_ns)
			continue;
		v->deadline_ns += period_ns;
		while (w->state == RUN && mono_ns() < v->deadline_ns) {
			struct timespec ts = to_ts(v->deadline_ns);

			pthread_cond_timedwait(&w->cond, &w->lock, &ts);
		}
	}
	run_end(v, mono_ns());
	v->err = err;
	w->running--;
	pthread_cond_broadcast(&w->acked);
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

/* Keep a gap if it is among the longest. Called with the lock held. */
static void probe_keep(struct dr_probe *p, uint64_t start, uint64_t len)
{
	unsigned i, j;

	p->gaps++;
	for (i = 0; i < p->ngap && p->gap[i].len_ns >= len; i++)
		;
	if (i >= DR_PROBE_GAPS)
		return;
	if (p->ngap < DR_PROBE_GAPS)
		p->ngap++;
	for (j = p->ngap - 1; j > i; j--)
		p->gap[j] = p->gap[j - 1];
	p->gap[i].start_ns = start;
	p->gap[i].len_ns = len;
}

/* Park the probe like a vCPU while paused; returns the state after. */
static int probe_hold(struct dr_workload *w)
{
	int state;

	pthread_mutex_lock(&w->lock);
	if (w->state == PAUSE) {
		w->parked++;
		pthread_cond_broadcast(&w->acked);
		while (w->state == PAUSE)
			pthread_cond_wait(&w->cond, &w->lock);
		w->parked--;
	}
	state = w->state;
	pthread_mutex_unlock(&w->lock);
	return state;
}

static void *probe_main(void *arg)
{
	struct dr_workload *w = arg;
	struct dr_probe *p = &w->probe;
	struct timespec ts = to_ts(p->interval_ns);
	uint64_t now, last = 0, step, b;

	pthread_setname_np(pthread_self(), "stallprobe");
	/* the default timer slack (50 us) would be most of an interval */
	prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
	for (;;) {
		if (__atomic_load_n(&w->state, __ATOMIC_ACQUIRE) != RUN &&
		    probe_hold(w) == STOP)
			break;
		now = mono_ns();
		if (last) {
			step = now - last;
			b = step / PROBE_BUCKET_NS;
			if (b >= PROBE_BUCKETS)
				b = PROBE_BUCKETS - 1;
			st(&p->hist[b], ld(&p->hist[b]) + 1);
			if (step > p->threshold_ns) {
				pthread_mutex_lock(&w->lock);
				probe_keep(p, last, step);
				pthread_mutex_unlock(&w->lock);
			}
		} else {
			st(&p->first_ns, now);
		}
		last = now;
		st(&p->last_ns, now);
		st(&p->readings, ld(&p->readings) + 1);
		clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL);
	}
	pthread_mutex_lock(&w->lock);
	w->running--;
	pthread_cond_broadcast(&w->acked);
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

int dr_probe_enable(struct dr_workload *w, uint64_t interval_ns, uint64_t threshold_ns)
{
	if (w->started)
		return -EBUSY;
	if (interval_ns && (interval_ns < 1000 || interval_ns > NSEC))
		return -EINVAL;
	w->probe.interval_ns = interval_ns;
	if (!threshold_ns)
		threshold_ns = interval_ns * 10 > 200000 ? interval_ns * 10 : 200000;
	w->probe.threshold_ns = threshold_ns;
	return 0;
}

void dr_probe_get(struct dr_workload *w, struct dr_probe_stats *s)
{
	struct dr_probe *p = &w->probe;
	uint64_t total = 0, cum = 0;
	unsigned i;

	memset(s, 0, sizeof(*s));
	if (!p->interval_ns)
		return;
	s->on = true;
	s->interval_ns = p->interval_ns;
	s->threshold_ns = p->threshold_ns;
	s->readings = ld(&p->readings);
	s->first_ns = ld(&p->first_ns);
	s->last_ns = ld(&p->last_ns);
	for (i = 0; i < PROBE_BUCKETS; i++)
		total += ld(&p->hist[i]);
	for (i = 0; i < PROBE_BUCKETS && total; i++) {
		cum += ld(&p->hist[i]);
		if (!s->resolution_ns && cum * 2 >= total)
			s->resolution_ns = (i + 1) * PROBE_BUCKET_NS;
		if (cum * 100 >= total * 99) {
			s->step_p99_ns = (i + 1) * PROBE_BUCKET_NS;
			break;
		}
	}
	pthread_mutex_lock(&w->lock);
	s->gaps = p->gaps;
	s->ngap = p->ngap;
	memcpy(s->gap, p->gap, sizeof(s->gap));
	pthread_mutex_unlock(&w->lock);
}

int dr_create(struct dr_workload **out, const struct dr_config *cfg,
	      uint8_t *ram, size_t ram_pages, const struct dr_access *acc)
{
	struct dr_workload *w;
	pthread_condattr_t ca;
	unsigned i;
	int err;

	*out = NULL;
	err = dr_config_check(cfg, ram_pages);
	if (err)
		return err;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->cfg = *cfg;
	w->ram = ram;
	w->ram_pages = ram_pages;
	if (acc)
		w->acc = *acc;
	/*
	 * Only a hot set has a fraction (checked to lie in (0, 1]); any other
	 * pattern may carry whatever a peer sent in the field.
	 */
	w->hot_pages = cfg->pattern == DR_PATTERN_HOTSET ?
		       (uint64_t)((double)cfg->total_pages * cfg->hot_fraction) :
		       cfg->total_pages;
	if (w->hot_pages == 0)
		w->hot_pages = 1;
	w->v = calloc(cfg->copies, sizeof(*w->v));
	if (!w->v) {
		free(w);
		return -ENOMEM;
	}
	if (cfg->pattern == DR_PATTERN_ZIPF && zipf_init(w)) {
		free(w->v);
		free(w);
		return -ENOMEM;
	}
	for (i = 0; i < cfg->copies; i++) {
		w->v[i].w = w;
		w->v[i].idx = i;
		w->v[i].rng = cfg->seed ^ (0x9e3779b97f4a7c15ull * (i + 1));
	}
	pthread_mutex_init(&w->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cond, &ca);
	pthread_cond_init(&w->acked, &ca);
	pthread_condattr_destroy(&ca);
	w->state = RUN;
	*out = w;
	return 0;
}

int dr_start(struct dr_workload *w)
{
	unsigned i;
	int err;

	if (w->started)
		return -EBUSY;
	w->started = 1;
	pthread_mutex_lock(&w->lock);
	for (i = 0; i < w->cfg.copies; i++) {
		err = pthread_create(&w->v[i].thread, NULL, vcpu_main, &w->v[i]);
		if (err) {
			pthread_mutex_unlock(&w->lock);
			dr_stop(w);
			return -err;
		}
		w->v[i].started = 1;
		w->running++;
	}
	if (w->probe.interval_ns) {
		err = pthread_create(&w->probe.thread, NULL, probe_main, w);
		if (err) {
			pthread_mutex_unlock(&w->lock);
			dr_stop(w);
			return -err;
		}
		w->probe.started = 1;
		w->running++;
	}
	pthread_mutex_unlock(&w->lock);
	return 0;
}

int dr_pause(struct dr_workload *w, uint64_t timeout_ns)
{
	uint64_t t0 = mono_ns(), waited;
	struct timespec ts = to_ts(t0 + timeout_ns);
	int err = 0;

	pthread_mutex_lock(&w->lock);
	if (w->state == STOP) {
		pthread_mutex_unlock(&w->lock);
		return -ESRCH;
	}
	__atomic_store_n(&w->state, PAUSE, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&w->cond);
	while (w->parked < w->running && !err)
		err = pthread_cond_timedwait(&w->acked, &w->lock, &ts);
	if (w->parked >= w->running)
		err = 0;
	waited = mono_ns() - t0;
	w->pauses++;
	if (waited > w->max_pause_wait_ns)
		w->max_pause_wait_ns = waited;
	pthread_mutex_unlock(&w->lock);
	return err ? -ETIMEDOUT : 0;
}

int dr_resume(struct dr_workload *w)
{
	pthread_mutex_lock(&w->lock);
	if (w->state == PAUSE) {
		__atomic_store_n(&w->state, RUN, __ATOMIC_RELEASE);
		pthread_cond_broadcast(&w->cond);
	}
	pthread_mutex_unlock(&w->lock);
	return 0;
}

int dr_stop(struct dr_workload *w)
{
	unsigned i;
	int err = 0;

	pthread_mutex_lock(&w->lock);
	__atomic_store_n(&w->state, STOP, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	for (i = 0; i < w->cfg.copies; i++) {
		if (!w->v[i].started)
			continue;
		pthread_join(w->v[i].thread, NULL);
		w->v[i].started = 0;
		if (!err)
			err = w->v[i].err;
	}
	if (w->probe.started) {
		pthread_join(w->probe.thread, NULL);
		w->probe.started = 0;
	}
	return err;
}

void dr_destroy(struct dr_workload *w)
{
	if (!w)
		return;
	dr_stop(w);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->cond);
	pthread_cond_destroy(&w->acked);
	free(w->zipf_cdf);
	free(w->v);
	free(w);
}

void dr_set_epoch(struct dr_workload *w, uint32_t epoch)
{
	__atomic_store_n(&w->epoch, epoch, __ATOMIC_SEQ_CST);
}

/* Fixed little-endian layout, independent of the host's byte order. */
static void put32(uint8_t *p, uint32_t v)
{
	unsigned i;

	for (i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	unsigned i;

	for (i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v = 0;
	unsigned i;

	for (i = 0; i < 4; i++)
		v |= (uint32_t)p[i] << (8 * i);
	return v;
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;
	unsigned i;

	for (i = 0; i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

size_t dr_state_size(const struct dr_workload *w)
{
	return STATE_HDR_BYTES + (size_t)w->cfg.copies * STATE_COPY_BYTES;
}

/*
 * Header: magic, version, copies, pattern, epoch, pad, total, dirty,
 * period_ms, then per copy: gen, pos, rng, periods, and the next deadline
 * as CLOCK_REALTIME so that a restore on another host (or process) sees the
 * time the guest stood still as lateness.
 */
int dr_state_save(struct dr_workload *w, void *buf, size_t len)
{
	uint8_t *p = buf;
	uint64_t mono = mono_ns(), wall = wall_ns();
	unsigned i;

	if (len < dr_state_size(w))
		return -ENOSPC;
	memset(p, 0, dr_state_size(w));
	put32(p, STATE_MAGIC);
	put32(p + 4, STATE_VERSION);
	put32(p + 8, w->cfg.copies);
	put32(p + 12, (uint32_t)w->cfg.pattern);
	put32(p + 16, __atomic_load_n(&w->epoch, __ATOMIC_ACQUIRE));
	put64(p + 24, w->cfg.total_pages);
	put64(p + 32, w->cfg.dirty_pages);
	put64(p + 40, w->cfg.period_ms);
	pthread_mutex_lock(&w->lock);
	for (i = 0; i < w->cfg.copies; i++) {
		struct dr_vcpu *v = &w->v[i];
		uint8_t *c = p + STATE_HDR_BYTES + (size_t)i * STATE_COPY_BYTES;
		uint64_t dl = 0;

		if (v->deadline_ns)
			dl = v->deadline_ns + wall - mono;
		put64(c, v->gen);
		put64(c + 8, v->pos);
		put64(c + 16, v->rng);
		put64(c + 24, ld(&v->periods));
		put64(c + 32, dl);
	}
	pthread_mutex_unlock(&w->lock);
	return 0;
}

int dr_state_restore(struct dr_workload *w, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint64_t mono = mono_ns(), wall = wall_ns();
	unsigned i;

	if (w->started)
		return -EBUSY;
	if (len < STATE_HDR_BYTES || get32(p) != STATE_MAGIC ||
	    get32(p + 4) != STATE_VERSION)
		return -EPROTO;
	if (get32(p + 8) != w->cfg.copies || len != dr_state_size(w) ||
	    get32(p + 12) != (uint32_t)w->cfg.pattern ||
	    get64(p + 24) != w->cfg.total_pages ||
	    get64(p + 32) != w->cfg.dirty_pages ||
	    get64(p + 40) != w->cfg.period_ms)
		return -EINVAL;
	w->epoch = get32(p + 16);
	for (i = 0; i < w->cfg.copies; i++) {
		struct dr_vcpu *v = &w->v[i];
		const uint8_t *c = p + STATE_HDR_BYTES + (size_t)i * STATE_COPY_BYTES;
		uint64_t dl = get64(c + 32);

		if (get64(c + 8) >= w->cfg.total_pages)
			return -EINVAL;
		v->gen = get64(c);
		v->pos = get64(c + 8);
		v->rng = get64(c + 16);
		v->periods = get64(c + 24);
		/* a deadline in the future of this clock is simply kept */
		v->deadline_ns = dl ? dl - wall + mono : 0;
	}
	return 0;
}

void dr_get_stats(struct dr_workload *w, struct dr_stats *s)
{
	uint64_t now = mono_ns();
	unsigned i;

	memset(s, 0, sizeof(*s));
	if (w->cfg.period_ms)
		s->target_pps = (double)w->cfg.dirty_pages * w->cfg.copies *
				1000.0 / (double)w->cfg.period_ms;
	for (i = 0; i < w->cfg.copies; i++) {
		struct dr_vcpu *v = &w->v[i];
		uint64_t run = ld(&v->run_ns), since = ld(&v->run_since_ns);
		uint64_t late = ld(&v->max_late_ns);

		if (since && now > since)
			run += now - since;
		s->pages_written += ld(&v->pages_written);
		s->periods += ld(&v->periods);
		s->late_periods += ld(&v->late_periods);
		s->throttled_ns += ld(&v->throttled_ns);
		if (late > s->max_lateness_ns) {
			s->max_lateness_ns = late;
			s->max_lateness_at_ns = ld(&v->max_late_at_ns);
		}
		if (run > s->run_ns)
			s->run_ns = run;
	}
	if (s->run_ns)
		s->achieved_pps = (double)s->pages_written * 1e9 / (double)s->run_ns;
	pthread_mutex_lock(&w->lock);
	s->pauses = w->pauses;
	s->max_pause_wait_ns = w->max_pause_wait_ns;
	pthread_mutex_unlock(&w->lock);
}

uint64_t dr_take_lateness_peak(struct dr_workload *w)
{
	return __atomic_exchange_n(&w->lateness_peak, 0, __ATOMIC_RELAXED);
}

bool dr_stamp_read(const void *page, struct dr_stamp *s)
{
	memcpy(s, page, sizeof(*s));
	return s->magic == DR_STAMP_MAGIC;
}

void dr_set_rate_limit(struct dr_workload *w, uint64_t pages_per_s)
{
	pthread_mutex_lock(&w->lock);
	__atomic_store_n(&w->limit_pps, pages_per_s, __ATOMIC_RELAXED);
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
}
