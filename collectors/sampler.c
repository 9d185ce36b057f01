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
#include "procfs.h"
#include "re.h"
#include "sampler.h"

extern char **environ;

/* CPU ticks seen at the previous sample, to turn totals into percent. */
struct cpu_track {
	uint64_t ticks;
	bool valid;
};

struct db_sampler {
	struct db_sampler_config cfg;
	struct db_procfs pf;
	struct db_re *vcpu_re;
	FILE *csv;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop;
	int err;
	long hz;
	struct cpu_track src, dst, vcpu;
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

/* Ticks of the vCPU threads: those whose name matches. */
static bool vcpu_ticks(struct db_sampler *s, pid_t pid, uint64_t *ticks)
{
	char path[PATH_MAX];
	struct dirent *de;
	struct db_proc_stat st;
	bool any = false;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return false;
	*ticks = 0;
	while ((de = readdir(d))) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/stat", (int)pid,
			 de->d_name);
		if (read_stat(s, path, &st) || !db_re_test(s->vcpu_re, st.comm))
			continue;
		*ticks += st.utime + st.stime;
		any = true;
	}
	closedir(d);
	return any;
}

static void put_cpu(struct db_sampler *s, struct cpu_track *t, bool ok,
		    uint64_t ticks, uint64_t dt_ns)
{
	if (ok && t->valid && dt_ns && ticks >= t->ticks)
		fprintf(s->csv, ",%.1f", (double)(ticks - t->ticks) * 1e11 /
			(double)s->hz / (double)dt_ns);
	else
		fputc(',', s->csv);
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

	fprintf(s->csv, "%llu", (unsigned long long)(now - c->t0_ns));
	ok = c->src_pid && pid_ticks(s, c->src_pid, &t);
	put_cpu(s, &s->src, ok, ok ? t : 0, dt);
	ok = c->dst_pid && pid_ticks(s, c->dst_pid, &t);
	put_cpu(s, &s->dst, ok, ok ? t : 0, dt);
	ok = c->vcpu_pid && vcpu_ticks(s, c->vcpu_pid, &t);
	put_cpu(s, &s->vcpu, ok, ok ? t : 0, dt);
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
		err = db_re_compile(&s->vcpu_re, c->vcpu_comm ? c->vcpu_comm :
				    "^vcpu", 0, "sampler --vcpu-threads");
	if (err)
		goto fail;
	s->csv = fopen(c->csv_path, "w");
	if (!s->csv) {
		err = db_error_errno(-errno, "sampler: cannot write %s",
				     c->csv_path);
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
	db_re_free(s->vcpu_re);
	db_procfs_free(&s->pf);
	free(s);
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
	if (cost)
		*cost = s->cost;
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
	db_re_free(s->vcpu_re);
	db_procfs_free(&s->pf);
	free(s);
	return err;
}
