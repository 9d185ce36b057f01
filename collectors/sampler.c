// SPDX-License-Identifier: MIT
/* The sampler thread: procfs, vmstat and tc into samples.csv. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dirtybench/common.h"
#include "base/files.h"
#include "procfs.h"
#include "base/re.h"
#include "sampler.h"

extern char **environ;

/* CPU ticks seen at the previous sample, to turn totals into percent. */
struct cpu_track {
	uint64_t ticks;
	bool valid;
};

/* One vCPU thread's ticks at a sample. */
struct thread_ticks {
	pid_t tid;
	uint64_t ticks;
};

/*
 * The vCPU threads at the previous and at this sample, thread by thread:
 * threads come (the destination's, at resume) and go (the source's, at
 * the end), so a sum of totals would jump.
 */
struct vcpu_track {
	struct thread_ticks *prev, *cur;
	size_t nprev, ncur, cap;
	bool sampled;		/* prev holds a sample */
	bool oom;
};

struct db_sampler {
	struct db_sampler_config cfg;	/* its strings point into str below */
	char str[4][PATH_MAX];
	struct db_procfs pf;
	struct db_re *vcpu_re;
	FILE *csv;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop;
	int err;
	long hz;
	struct cpu_track src, dst;
	struct vcpu_track vcpu;
	uint64_t t0_new;	/* db_sampler_set_t0(), applied at stop */
	int64_t pgfault0, thp0;
	struct db_tc_stats tc0, tc_last;
	bool tc_have0, tc_ok;
	uint64_t tc_next_ns, prev_ns, start_ns;
	struct db_sampler_cost cost;
	char buf[16384];
};

static int read_stat(struct db_sampler *s, const char *path,
		     struct db_proc_stat *st)
{
	if (db_read_file(path, s->buf, sizeof(s->buf)) < 0)
		return -ENOENT;
	return db_procfs_stat(&s->pf, s->buf, st);
}

/* Ticks of a process or thread (utime + stime); false if gone. */
static bool pid_ticks(struct db_sampler *s, pid_t pid, uint64_t *ticks)
{
	struct db_proc_stat st;
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (read_stat(s, path, &st))
		return false;
	*ticks = st.utime + st.stime;
	return true;
}

static void vcpu_add(struct vcpu_track *v, pid_t tid, uint64_t ticks)
{
	struct thread_ticks *a, *b;
	size_t cap;

	if (v->ncur == v->cap) {
		cap = v->cap ? 2 * v->cap : 16;
		a = realloc(v->cur, cap * sizeof(*a));
		if (a)
			v->cur = a;
		b = a ? realloc(v->prev, cap * sizeof(*b)) : NULL;
		if (b)
			v->prev = b;
		if (!a || !b) {
			v->oom = true;
			return;
		}
		v->cap = cap;
	}
	v->cur[v->ncur].tid = tid;
	v->cur[v->ncur++].ticks = ticks;
}

/* Add the threads of pid whose name matches to s->vcpu.cur. */
static void vcpu_scan(struct db_sampler *s, pid_t pid)
{
	char path[PATH_MAX];
	struct dirent *de;
	struct db_proc_stat st;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return;
	while ((de = readdir(d))) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/stat", (int)pid,
			 de->d_name);
		if (read_stat(s, path, &st) || !db_re_test(s->vcpu_re, st.comm))
			continue;
		vcpu_add(&s->vcpu, (pid_t)atoi(de->d_name), st.utime + st.stime);
	}
	closedir(d);
}

/*
 * Ticks the vCPU threads used since the previous sample: a thread seen
 * then counts its growth, a new one all its ticks. False when there is
 * nothing to tell (no previous sample, no vCPU thread then or now).
 */
static bool vcpu_delta(struct db_sampler *s, uint64_t *ticks)
{
	struct vcpu_track *v = &s->vcpu;
	struct thread_ticks *t;
	bool ok;
	size_t i, j;

	v->ncur = 0;
	if (s->cfg.vcpu_pid)
		vcpu_scan(s, s->cfg.vcpu_pid);
	if (s->cfg.dst_pid && s->cfg.dst_pid != s->cfg.vcpu_pid)
		vcpu_scan(s, s->cfg.dst_pid);
	*ticks = 0;
	for (i = 0; i < v->ncur; i++) {
		for (j = 0; j < v->nprev && v->prev[j].tid != v->cur[i].tid; j++)
			;
		if (j == v->nprev)
			*ticks += v->cur[i].ticks;
		else if (v->cur[i].ticks >= v->prev[j].ticks)
			*ticks += v->cur[i].ticks - v->prev[j].ticks;
	}
	ok = v->sampled && !v->oom && (v->ncur || v->nprev);
	t = v->prev;
	v->prev = v->cur;
	v->cur = t;
	v->nprev = v->ncur;
	v->sampled = !v->oom;
	v->oom = false;
	return ok;
}

static void put_pct(struct db_sampler *s, bool ok, uint64_t ticks,
		    uint64_t dt_ns)
{
	if (ok && dt_ns)
		fprintf(s->csv, ",%.1f", (double)ticks * 1e11 /
			(double)s->hz / (double)dt_ns);
	else
		fputc(',', s->csv);
}

static void put_cpu(struct db_sampler *s, struct cpu_track *t, bool ok,
		    uint64_t ticks, uint64_t dt_ns)
{
	put_pct(s, ok && t->valid && ticks >= t->ticks, ticks - t->ticks, dt_ns);
	t->ticks = ticks;
	t->valid = ok;
}

static void put_rss(struct db_sampler *s, pid_t pid)
{
	char path[64];
	uint64_t rss;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (pid && db_read_file(path, s->buf, sizeof(s->buf)) >= 0 &&
	    !db_procfs_rss(&s->pf, s->buf, &rss))
		fprintf(s->csv, ",%llu", (unsigned long long)rss);
	else
		fputc(',', s->csv);
}

/* One `tc -s qdisc show dev DEV` (in the namespace); its CPU is counted. */
static int run_tc(struct db_sampler *s, struct db_tc_stats *st)
{
	const char *argv[10];
	posix_spawn_file_actions_t fa;
	struct rusage ru;
	size_t n = 0, got = 0;
	int pfd[2], status, err;
	ssize_t r;
	pid_t pid;

	argv[n++] = "tc";
	if (s->cfg.tc_netns) {
		argv[n++] = "-n";
		argv[n++] = s->cfg.tc_netns;
	}
	argv[n++] = "-s";
	argv[n++] = "qdisc";
	argv[n++] = "show";
	argv[n++] = "dev";
	argv[n++] = s->cfg.tc_dev;
	argv[n] = NULL;
	if (pipe2(pfd, O_CLOEXEC))
		return -errno;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	err = posix_spawnp(&pid, "tc", &fa, NULL, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(pfd[1]);
	if (err) {
		close(pfd[0]);
		return -err;
	}
	while ((r = read(pfd[0], s->buf + got, sizeof(s->buf) - 1 - got)) > 0 ||
	       (r < 0 && errno == EINTR))
		if (r > 0)
			got += (size_t)r;
	s->buf[got] = '\0';
	close(pfd[0]);
	while (wait4(pid, &status, 0, &ru) < 0 && errno == EINTR)
		;
	s->cost.tc_cpu_ns += (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) *
			     1000000000ull +
			     (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) *
			     1000ull;
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		return -EIO;
	return db_procfs_tc(&s->pf, s->buf, st);
}

static void sample(struct db_sampler *s, uint64_t now)
{
	const struct db_sampler_config *c = &s->cfg;
	uint64_t dt = s->prev_ns ? now - s->prev_ns : 0, t;
	int64_t pgf, thp;
	bool ok;

	/* signed: a t0 set later puts the first rows before it */
	fprintf(s->csv, "%lld", (long long)(int64_t)(now - c->t0_ns));
	ok = c->src_pid && pid_ticks(s, c->src_pid, &t);
	put_cpu(s, &s->src, ok, ok ? t : 0, dt);
	ok = c->dst_pid && pid_ticks(s, c->dst_pid, &t);
	put_cpu(s, &s->dst, ok, ok ? t : 0, dt);
	ok = vcpu_delta(s, &t);
	put_pct(s, ok, t, dt);
	put_rss(s, c->src_pid);
	put_rss(s, c->dst_pid);
	if (db_read_file("/proc/vmstat", s->buf, sizeof(s->buf)) >= 0 &&
	    !db_procfs_vmstat(&s->pf, s->buf, &pgf, &thp)) {
		if (s->pgfault0 < 0) {
			s->pgfault0 = pgf;
			s->thp0 = thp;
		}
		fprintf(s->csv, ",%lld", (long long)(pgf - s->pgfault0));
		if (thp >= 0 && s->thp0 >= 0)
			fprintf(s->csv, ",%lld", (long long)(thp - s->thp0));
		else
			fputc(',', s->csv);
	} else {
		fputs(",,", s->csv);
	}
	if (c->tc_dev && now >= s->tc_next_ns) {
		s->tc_ok = !run_tc(s, &s->tc_last);
		if (s->tc_ok && !s->tc_have0) {
			s->tc0 = s->tc_last;
			s->tc_have0 = true;
		}
		s->tc_next_ns = now + (uint64_t)c->tc_ms * 1000000ull;
	}
	/* between tc samples the last counters stand (they only grow) */
	if (c->tc_dev && s->tc_ok)
		fprintf(s->csv, ",%llu,%llu\n",
			(unsigned long long)(s->tc_last.sent_bytes - s->tc0.sent_bytes),
			(unsigned long long)(s->tc_last.dropped - s->tc0.dropped));
	else
		fputs(",,\n", s->csv);
	s->prev_ns = now;
}

static void *sampler_main(void *arg)
{
	struct db_sampler *s = arg;
	uint64_t period = (uint64_t)s->cfg.sample_ms * 1000000ull;
	uint64_t next = db_now_ns(), t0, took;
	struct timespec ts, cpu;

	pthread_mutex_lock(&s->lock);
	while (!s->stop) {
		pthread_mutex_unlock(&s->lock);
		t0 = db_now_ns();
		sample(s, t0);
		took = db_now_ns() - t0;
		s->cost.samples++;
		if (took > s->cost.max_sample_ns)
			s->cost.max_sample_ns = took;
		next += period;
		if (next < db_now_ns())
			next = db_now_ns() + period;	/* fell behind: skip */
		ts.tv_sec = (time_t)(next / 1000000000ull);
		ts.tv_nsec = (long)(next % 1000000000ull);
		pthread_mutex_lock(&s->lock);
		while (!s->stop && pthread_cond_timedwait(&s->cond, &s->lock,
							  &ts) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&s->lock);
	/* the last row, at the stop */
	sample(s, db_now_ns());
	s->cost.samples++;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu);
	s->cost.cpu_ns = (uint64_t)cpu.tv_sec * 1000000000ull +
			 (uint64_t)cpu.tv_nsec;
	return NULL;
}

/* What start allocated besides the thread, its lock and the file. */
static void sampler_free(struct db_sampler *s)
{
	db_re_free(s->vcpu_re);
	db_procfs_free(&s->pf);
	free(s->vcpu.prev);
	free(s->vcpu.cur);
	free(s);
}

static const char *own(struct db_sampler *s, int i, const char *str)
{
	if (!str)
		return NULL;
	snprintf(s->str[i], sizeof(s->str[i]), "%s", str);
	return s->str[i];
}

int db_sampler_start(struct db_sampler **out, const struct db_sampler_config *c)
{
	struct db_sampler *s;
	pthread_condattr_t ca;
	int err;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return db_error(-ENOMEM, "sampler: out of memory");
	s->cfg = *c;
	/* the caller's strings may not outlive this call */
	s->cfg.csv_path = own(s, 0, c->csv_path);
	s->cfg.tc_dev = own(s, 1, c->tc_dev);
	s->cfg.tc_netns = own(s, 2, c->tc_netns);
	s->cfg.vcpu_comm = own(s, 3, c->vcpu_comm ? c->vcpu_comm : "^vcpu");
	if (!s->cfg.sample_ms)
		s->cfg.sample_ms = 100;
	if (!s->cfg.tc_ms)
		s->cfg.tc_ms = DB_MAX(s->cfg.sample_ms, 1000u);
	if (!s->cfg.vcpu_pid)
		s->cfg.vcpu_pid = s->cfg.src_pid;
	s->hz = sysconf(_SC_CLK_TCK);
	s->pgfault0 = -1;
	err = db_procfs_init(&s->pf);
	if (!err)
		err = db_re_compile(&s->vcpu_re, s->cfg.vcpu_comm, 0,
				    "sampler --vcpu-threads");
	if (err)
		goto fail;
	s->csv = fopen(s->cfg.csv_path, "w");
	if (!s->csv) {
		err = db_error_errno(-errno, "sampler: cannot write %s",
				     s->cfg.csv_path);
		goto fail;
	}
	fprintf(s->csv, "t_ns,src_cpu_pct,dst_cpu_pct,vcpu_cpu_pct,"
		"src_rss_bytes,dst_rss_bytes,pgfault,thp_split_page,"
		"tc_sent_bytes,tc_dropped\n");
	s->start_ns = db_now_ns();
	if (!s->cfg.t0_ns)
		s->cfg.t0_ns = s->start_ns;
	pthread_mutex_init(&s->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cond, &ca);
	pthread_condattr_destroy(&ca);
	err = -pthread_create(&s->thread, NULL, sampler_main, s);
	if (err) {
		db_error_errno(err, "sampler: cannot start its thread");
		fclose(s->csv);
		goto fail;
	}
	pthread_setname_np(s->thread, "db-sampler");
	*out = s;
	return 0;
fail:
	sampler_free(s);
	return err;
}

void db_sampler_set_t0(struct db_sampler *s, uint64_t t0_ns)
{
	pthread_mutex_lock(&s->lock);
	s->t0_new = t0_ns;
	pthread_mutex_unlock(&s->lock);
}

/* Rewrite the file with every t_ns shifted by -delta_ns. */
static int shift_times(const char *path, int64_t delta_ns)
{
	char *text, *out, *p, *end, *nl;
	size_t len, n = 0, cap;
	long long t;
	int err;

	err = db_slurp(path, SIZE_MAX / 2, &text, &len);
	if (err)
		return err;
	/* each row grows by at most the 20 digits of a 64-bit number */
	cap = len + 1;
	for (p = text; (p = memchr(p, '\n', len - (size_t)(p - text))); p++)
		cap += 21;
	out = malloc(cap);
	if (!out) {
		free(text);
		return db_error(-ENOMEM, "sampler: out of memory for %s", path);
	}
	nl = memchr(text, '\n', len);
	p = nl ? nl + 1 : text + len;
	memcpy(out, text, (size_t)(p - text));	/* the header */
	n = (size_t)(p - text);
	while (p < text + len) {
		t = strtoll(p, &end, 10);
		n += (size_t)snprintf(out + n, cap - n, "%lld", t - delta_ns);
		nl = memchr(end, '\n', len - (size_t)(end - text));
		nl = nl ? nl + 1 : text + len;
		memcpy(out + n, end, (size_t)(nl - end));
		n += (size_t)(nl - end);
		p = nl;
	}
	err = db_write_atomic(path, out, n);
	free(out);
	free(text);
	return err;
}

int db_sampler_stop(struct db_sampler *s, struct db_sampler_cost *cost)
{
	int err = 0;

	pthread_mutex_lock(&s->lock);
	s->stop = true;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->thread, NULL);
	s->cost.wall_ns = db_now_ns() - s->start_ns;
	s->cost.pct_of_core = s->cost.wall_ns ?
		(double)(s->cost.cpu_ns + s->cost.tc_cpu_ns) * 100.0 /
		(double)s->cost.wall_ns : 0;
	if (ferror(s->csv) | fclose(s->csv))
		err = db_error(-EIO, "sampler: cannot write %s", s->cfg.csv_path);
	if (!err && s->t0_new && s->t0_new != s->cfg.t0_ns)
		err = shift_times(s->cfg.csv_path,
				  (int64_t)(s->t0_new - s->cfg.t0_ns));
	if (cost)
		*cost = s->cost;
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
	sampler_free(s);
	return err;
}
