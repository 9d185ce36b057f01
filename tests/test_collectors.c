// SPDX-License-Identifier: MIT
/*
 * Collectors: the PCRE2 parsers on real kernel and tc text, and the
 * sampler beside real processes: a busy child's CPU, vCPU threads found by
 * name, RSS and page faults of memory it touches, and the tc counters of
 * a veth pair shaped with tbf between two network namespaces; and the
 * samples of a real `dirtybench run`.
 */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "dirtybench/common.h"
#include "fixture.h"
#include "../collectors/procfs.h"
#include "../collectors/sampler.h"
#include "../reports/runset.h"

Test(collectors, stat_parser_takes_names_with_parentheses)
{
	struct db_procfs pf;
	struct db_proc_stat st;
	char buf[1024];

	cr_assert_eq(db_procfs_init(&pf), 0, "%s", db_strerror());
	cr_assert_eq(db_procfs_stat(&pf, "4242 (a) b (c) R 1 2 3 4 5 6 7 8 9 10 "
				    "1234 567 0 0 20 0 1 0 100 0 0\n", &st), 0);
	cr_assert_str_eq(st.comm, "a) b (c");
	cr_assert_eq(st.state, 'R');
	cr_assert_eq(st.utime, 1234);
	cr_assert_eq(st.stime, 567);
	cr_assert_eq(db_procfs_stat(&pf, "garbage", &st), -EINVAL);
	/* the real thing */
	cr_assert_gt(db_read_file("/proc/self/stat", buf, sizeof(buf)), 0);
	cr_assert_eq(db_procfs_stat(&pf, buf, &st), 0, "%s", buf);
	cr_assert_eq(st.state, 'R');
	db_procfs_free(&pf);
}

Test(collectors, status_vmstat_and_tc_parsers)
{
	static const char tc_text[] =
		"qdisc tbf 8001: root refcnt 3 rate 1Gbit burst 131000b lat 50ms \n"
		" Sent 266 bytes 3 pkt (dropped 7, overlimits 11 requeues 0) \n"
		" backlog 0b 0p requeues 0\n"
		"qdisc pfifo 10: parent 8001:1 limit 1000p\n"
		" Sent 99 bytes 1 pkt (dropped 0, overlimits 0 requeues 0) \n";
	struct db_procfs pf;
	struct db_tc_stats tc;
	char buf[16384];
	uint64_t rss;
	int64_t pgf, thp;

	cr_assert_eq(db_procfs_init(&pf), 0);
	cr_assert_gt(db_read_file("/proc/self/status", buf, sizeof(buf)), 0);
	cr_assert_eq(db_procfs_rss(&pf, buf, &rss), 0);
	cr_assert_gt(rss, 1 << 20, "this process has more than 1 MiB resident");
	cr_assert_eq(db_procfs_rss(&pf, "Name:\tkthreadd\n", &rss), -ENOENT);
	cr_assert_gt(db_read_file("/proc/vmstat", buf, sizeof(buf)), 0);
	cr_assert_eq(db_procfs_vmstat(&pf, buf, &pgf, &thp), 0);
	cr_assert_gt(pgf, 0);
	cr_assert_eq(db_procfs_vmstat(&pf, "nr_free_pages 1\npgfault 77\n", &pgf,
				      &thp), 0);
	cr_assert_eq(pgf, 77);
	cr_assert_eq(thp, -1, "a kernel without THP has no thp_split_page");
	cr_assert_eq(db_procfs_tc(&pf, tc_text, &tc), 0);
	cr_assert_eq(tc.sent_bytes, 266, "the root qdisc, not its child");
	cr_assert_eq(tc.sent_packets, 3);
	cr_assert_eq(tc.dropped, 7);
	cr_assert_eq(tc.overlimits, 11);
	cr_assert_eq(db_procfs_tc(&pf, tc_text + 68, &tc), -ENOENT);
	db_procfs_free(&pf);
}

struct series {
	struct db_table t;
	int c[10];
};

static void load_series(struct series *s, const char *path)
{
	static const char *const cols[] = {
		"t_ns", "src_cpu_pct", "dst_cpu_pct", "vcpu_cpu_pct",
		"src_rss_bytes", "dst_rss_bytes", "pgfault", "thp_split_page",
		"tc_sent_bytes", "tc_dropped",
	};
	size_t i;

	cr_assert_eq(db_table_load(&s->t, path), 0, "%s", db_strerror());
	for (i = 0; i < 10; i++) {
		s->c[i] = db_table_col(&s->t, cols[i]);
		cr_assert_geq(s->c[i], 0, "column %s", cols[i]);
	}
}

/* Mean of column c over rows [from, nrows), empty fields left out. */
static double mean_col(struct series *s, int c, size_t from)
{
	double sum = 0, v;
	size_t i, n = 0;

	for (i = from; i < s->t.nrows; i++) {
		v = db_table_at(&s->t, i, s->c[c]);
		if (isfinite(v)) {
			sum += v;
			n++;
		}
	}
	return n ? sum / (double)n : NAN;
}

/*
 * A rate column over rows [from, nrows) weighted by each row's interval
 * (its t_ns less the previous row's): the rate over the whole window,
 * which a plain mean misses when a late sample is followed by an early one.
 */
static double rate_col(struct series *s, int c, size_t from)
{
	double sum = 0, span = 0, v, dt;
	size_t i;

	for (i = from ? from : 1; i < s->t.nrows; i++) {
		v = db_table_at(&s->t, i, s->c[c]);
		dt = db_table_at(&s->t, i, s->c[0]) - db_table_at(&s->t, i - 1, s->c[0]);
		if (isfinite(v) && dt > 0) {
			sum += v * dt;
			span += dt;
		}
	}
	return span > 0 ? sum / span : NAN;
}

/* CPU time of a process, from its stat file (ground truth). */
static double proc_cpu_s(pid_t pid)
{
	struct db_procfs pf;
	struct db_proc_stat st;
	char path[64], buf[1024];

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	cr_assert_gt(db_read_file(path, buf, sizeof(buf)), 0);
	cr_assert_eq(db_procfs_init(&pf), 0);
	cr_assert_eq(db_procfs_stat(&pf, buf, &st), 0);
	db_procfs_free(&pf);
	return (double)(st.utime + st.stime) / (double)sysconf(_SC_CLK_TCK);
}

static double thread_cpu_s(pthread_t t)
{
	struct timespec ts;
	clockid_t id;

	cr_assert_eq(pthread_getcpuclockid(t, &id), 0);
	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static volatile int spin_stop;

static void *vcpu_spin(void *arg)
{
	(void)arg;
	while (!spin_stop)
		__asm__ volatile("" ::: "memory");
	return NULL;
}

/*
 * A busy child (source), a sleeping one with 64 MiB touched (destination)
 * and two spinning threads of this process named vcpu0 and vcpu1.
 */
Test(collectors, sampler_sees_cpu_threads_rss_and_faults)
{
	char *dir = fx_tmpdir("sampler"), csv[600];
	struct db_sampler_config c = { .sample_ms = 100, .vcpu_pid = getpid() };
	double busy0, vcpu0, busy_pct, vcpu_pct;
	uint64_t w0;
	struct db_sampler_cost cost;
	struct db_sampler *s;
	struct series ser;
	pthread_t th[2];
	pid_t busy, fat;
	int p[2];
	char go;

	busy = fork();
	if (!busy)
		for (;;)
			__asm__ volatile("" ::: "memory");
	cr_assert_eq(pipe(p), 0);
	fat = fork();
	if (!fat) {
		char *m = mmap(NULL, 64 << 20, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		close(p[0]);
		memset(m, 1, 64 << 20);
		if (write(p[1], "x", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(p[1]);
	cr_assert_eq(read(p[0], &go, 1), 1, "the child touched its memory");
	close(p[0]);
	pthread_create(&th[0], NULL, vcpu_spin, NULL);
	pthread_create(&th[1], NULL, vcpu_spin, NULL);
	pthread_setname_np(th[0], "vcpu0");
	pthread_setname_np(th[1], "vcpu1");

	snprintf(csv, sizeof(csv), "%s/samples.csv", dir);
	c.src_pid = busy;
	c.dst_pid = fat;
	c.csv_path = csv;
	cr_assert_eq(db_sampler_start(&s, &c), 0, "%s", db_strerror());
	w0 = db_now_ns();
	busy0 = proc_cpu_s(busy);
	vcpu0 = thread_cpu_s(th[0]) + thread_cpu_s(th[1]);
	db_sleep_ns(1500000000ull);
	/* what they really used meanwhile, in percent of a core */
	busy_pct = (proc_cpu_s(busy) - busy0) * 1e11 / (double)(db_now_ns() - w0);
	vcpu_pct = (thread_cpu_s(th[0]) + thread_cpu_s(th[1]) - vcpu0) * 1e11 /
		   (double)(db_now_ns() - w0);
	cr_assert_eq(db_sampler_stop(s, &cost), 0, "%s", db_strerror());
	spin_stop = 1;
	pthread_join(th[0], NULL);
	pthread_join(th[1], NULL);
	kill(busy, SIGKILL);
	kill(fat, SIGKILL);
	waitpid(busy, NULL, 0);
	waitpid(fat, NULL, 0);

	load_series(&ser, csv);
	cr_assert_geq(ser.t.nrows, 14, "every 100 ms for 1.5 s: %zu rows",
		      ser.t.nrows);
	cr_assert_leq(ser.t.nrows, 18);
	cr_assert_eq(cost.samples, ser.t.nrows);
	/* the series agrees with the CPU time the kernel accounted */
	cr_assert_float_eq(rate_col(&ser, 1, 1), busy_pct, 15,
			   "busy source: sampled %.1f%%, used %.1f%%",
			   rate_col(&ser, 1, 1), busy_pct);
	cr_assert_gt(busy_pct, 2, "the source did spin (on a busy machine)");
	cr_assert_lt(mean_col(&ser, 2, 1), 5, "sleeping destination");
	cr_assert_float_eq(rate_col(&ser, 3, 1), vcpu_pct, 20,
			   "vCPU threads: sampled %.1f%%, used %.1f%%",
			   rate_col(&ser, 3, 1), vcpu_pct);
	cr_assert_gt(vcpu_pct, 2, "the vCPU threads did spin");
	cr_assert_geq(mean_col(&ser, 5, 0), 64 << 20, "destination RSS");
	cr_assert_lt(mean_col(&ser, 4, 0), 16 << 20, "source RSS");
	cr_assert(isnan(mean_col(&ser, 8, 0)), "no tc device: empty");
	/* the sampler's own cost is measured */
	cr_assert_gt(cost.cpu_ns, 0);
	cr_assert_gt(cost.wall_ns, 1000000000ull);
	fprintf(stderr, "collectors: sampler cost at 100 ms: %.3f%% of a "
		"core, longest sample %.2f ms\n", cost.pct_of_core, (double)cost.max_sample_ns / 1e6);
	db_table_free(&ser.t);
	fx_cleanup(dir);
}

static bool sh_ok(const char *cmd)
{
	const char *argv[] = { "sh", "-c", cmd, NULL };

	return fx_run_cmd(argv, NULL, 20) == 0;
}

/* UDP from namespace a through the shaped veth to namespace b. */
static void send_from_netns(const char *ns, int packets)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(9) };
	char path[128], payload[1000] = { 0 };
	pid_t pid = fork();
	int fd, i, sock;

	if (pid) {
		int st;

		waitpid(pid, &st, 0);
		cr_assert(WIFEXITED(st) && !WEXITSTATUS(st), "sender failed");
		return;
	}
	snprintf(path, sizeof(path), "/run/netns/%s", ns);
	fd = open(path, O_RDONLY);
	if (fd < 0 || setns(fd, CLONE_NEWNET))
		_exit(1);
	sock = socket(AF_INET, SOCK_DGRAM, 0);
	inet_pton(AF_INET, "10.213.7.2", &to.sin_addr);
	for (i = 0; i < packets; i++)
		if (sendto(sock, payload, sizeof(payload), 0,
			   (struct sockaddr *)&to, sizeof(to)) < 0 &&
		    errno != ECONNREFUSED && errno != ENOBUFS)
			_exit(2);
	_exit(0);
}

Test(collectors, sampler_reads_tc_of_a_shaped_netns_link)
{
	char *dir, csv[600], a[32], b[32], cmd[1024];
	struct db_sampler_config c = { .sample_ms = 50, .tc_ms = 100,
				       .tc_dev = "dbva" };
	struct db_sampler_cost cost;
	struct db_sampler *s;
	struct series ser;
	double sent;

	if (geteuid())
		cr_skip_test("network namespaces need root");
	if (!fx_have("ip") || !fx_have("tc"))
		cr_skip_test("ip and tc are not installed (Debian: iproute2)");
	snprintf(a, sizeof(a), "dbts%d", (int)getpid());
	snprintf(b, sizeof(b), "dbtd%d", (int)getpid());
	snprintf(cmd, sizeof(cmd),
		 "ip netns add %1$s && ip netns add %2$s && "
		 "ip -n %1$s link add name dbva type veth peer name dbvb netns %2$s && "
		 "ip -n %1$s addr add 10.213.7.1/24 dev dbva && "
		 "ip -n %2$s addr add 10.213.7.2/24 dev dbvb && "
		 "ip -n %1$s link set dbva up && ip -n %2$s link set dbvb up && "
		 "tc -n %1$s qdisc add dev dbva root tbf rate 200mbit burst 64k "
		 "latency 50ms", a, b);
	if (!sh_ok(cmd)) {
		snprintf(cmd, sizeof(cmd), "ip netns del %s; ip netns del %s", a, b);
		sh_ok(cmd);
		cr_skip_test("cannot create network namespaces with a veth "
			     "pair and tbf here");
	}
	dir = fx_tmpdir("tc");
	snprintf(csv, sizeof(csv), "%s/samples.csv", dir);
	c.src_pid = getpid();
	c.tc_netns = a;
	c.csv_path = csv;
	cr_assert_eq(db_sampler_start(&s, &c), 0, "%s", db_strerror());
	db_sleep_ns(200000000);
	send_from_netns(a, 2000);
	db_sleep_ns(400000000);
	cr_assert_eq(db_sampler_stop(s, &cost), 0);
	snprintf(cmd, sizeof(cmd), "ip netns del %s; ip netns del %s", a, b);
	sh_ok(cmd);

	load_series(&ser, csv);
	sent = db_table_at(&ser.t, ser.t.nrows - 1, ser.c[8]);
	cr_assert_geq(sent, 2000.0 * 1000, "tc counted %.0f bytes", sent);
	cr_assert_lt(sent, 2000.0 * 1200);
	cr_assert_eq(db_table_at(&ser.t, 0, ser.c[8]), 0, "counted from the start");
	cr_assert_gt(cost.tc_cpu_ns, 0, "the tc processes' CPU is in the cost");
	fprintf(stderr, "collectors: sampler cost with tc every 100 ms: "
		"%.3f%% of a core\n", cost.pct_of_core);
	db_table_free(&ser.t);
	fx_cleanup(dir);
}

static const char *dirtybench_bin(void)
{
	static char path[1024];
	const char *b = getenv("DIRTYBENCH_BIN");

	snprintf(path, sizeof(path), "%s/dirtybench", b && *b ? b : "bin");
	return path;
}

static json_t *load_json(const char *dir, const char *name)
{
	char path[600];
	json_error_t je;
	json_t *j;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	j = json_load_file(path, 0, &je);
	cr_assert_not_null(j, "%s: %s", path, je.text);
	return j;
}

static double jnum(json_t *root, const char *obj, const char *key)
{
	json_t *v = json_object_get(json_object_get(root, obj), key);

	cr_assert(json_is_number(v), "result.json has %s.%s", obj, key);
	return json_number_value(v);
}

/* Mean of column c over the rows whose t_ns lies in [t0, t1). */
static double mean_between(struct series *s, int c, double t0, double t1)
{
	double sum = 0, t, v;
	size_t i, n = 0;

	for (i = 0; i < s->t.nrows; i++) {
		t = db_table_at(&s->t, i, s->c[0]);
		v = db_table_at(&s->t, i, s->c[c]);
		if (t >= t0 && t < t1 && isfinite(v)) {
			sum += v;
			n++;
		}
	}
	return n ? sum / (double)n : NAN;
}

static double max_col(struct series *s, int c)
{
	double m = NAN, v;
	size_t i;

	for (i = 0; i < s->t.nrows; i++) {
		v = db_table_at(&s->t, i, s->c[c]);
		if (isfinite(v) && !(v <= m))
			m = v;
	}
	return m;
}

/*
 * `dirtybench run --out` samples its own migration: a vCPU that writes
 * as fast as it can shows in the vCPU column during the warm-up on the
 * source and again after the switchover on the destination; both RSS
 * reach the guest RAM; the cost is in result.json. --sample-ms 0: none.
 */
Test(collectors, every_migration_with_out_is_sampled, .timeout = 120)
{
	char *dir = fx_tmpdir("run-samples"), log[600], csv[600];
	const char *argv[] = { dirtybench_bin(), "run", "--tracker", "hash",
		"--ram", "32M", "--workload", "dirtyram:dirty=64,period=0",
		"--stop", "rounds:2", "--warmup-ms", "600", "--dest-tail-ms",
		"500", "--sample-ms", "50", "--out", dir, NULL };
	const double ram = 32 << 20;
	double resumed, paused;
	struct series ser;
	json_t *r, *c;
	int st;

	snprintf(log, sizeof(log), "%s/run.log", dir);
	st = fx_run_cmd(argv, log, 100);
	cr_assert_eq(st, 0, "exit %d: %s", st, fx_read(log));
	r = load_json(dir, "result.json");
	paused = jnum(r, "summary", "paused_at_ns");
	resumed = jnum(r, "summary", "resumed_at_ns");
	snprintf(csv, sizeof(csv), "%s/samples.csv", dir);
	load_series(&ser, csv);

	/* from the warm-up to the end, on the migration's clock */
	cr_assert_geq(ser.t.nrows, 20, "600 ms warm-up, 500 ms tail, every 50 ms: "
		      "%zu rows", ser.t.nrows);
	cr_assert_lt(db_table_at(&ser.t, 0, ser.c[0]), -400e6,
		     "the first row is from the warm-up, before round 0");
	cr_assert_geq(db_table_at(&ser.t, ser.t.nrows - 1, ser.c[0]), resumed,
		      "the last row is after the resume");
	cr_assert_geq(max_col(&ser, 4), ram, "source RSS %.0f holds the guest RAM",
		      max_col(&ser, 4));
	cr_assert_geq(max_col(&ser, 5), ram, "destination RSS %.0f holds the guest "
		      "RAM once it arrived", max_col(&ser, 5));
	cr_assert(isfinite(mean_col(&ser, 1, 1)), "source CPU sampled");
	cr_assert(isfinite(mean_col(&ser, 2, 1)), "destination CPU sampled");
	cr_assert_gt(mean_between(&ser, 3, -500e6, -50e6), 25,
		     "a vCPU writing without pause on the source: %.1f%%",
		     mean_between(&ser, 3, -500e6, -50e6));
	cr_assert_gt(mean_between(&ser, 3, resumed + 100e6, INFINITY), 10,
		     "the guest's vCPU on the destination after the resume: %.1f%%",
		     mean_between(&ser, 3, resumed + 100e6, INFINITY));
	cr_assert_lt(paused, resumed);
	cr_assert(isnan(mean_col(&ser, 8, 0)), "loopback: no tc columns");

	c = json_object_get(r, "collectors");
	cr_assert(json_is_object(c), "result.json has collectors");
	cr_assert_eq(jnum(r, "collectors", "samples"), (double)ser.t.nrows);
	cr_assert_eq(jnum(r, "collectors", "sample_ms"), 50);
	cr_assert_gt(jnum(r, "collectors", "cpu_ns"), 0);
	cr_assert_gt(jnum(r, "collectors", "cost_pct_of_core"), 0);
	cr_assert_lt(jnum(r, "collectors", "cost_pct_of_core"), 10,
		     "the sampler costs little");
	cr_assert(json_is_null(json_object_get(c, "error")));
	fprintf(stderr, "collectors: inside a run at 50 ms: %.0f samples, "
		"%.3f%% of a core\n", jnum(r, "collectors", "samples"),
		jnum(r, "collectors", "cost_pct_of_core"));
	json_decref(r);
	db_table_free(&ser.t);

	/* --sample-ms 0: no collectors */
	argv[7] = "none";
	argv[9] = "rounds:1";
	argv[11] = "0";
	argv[15] = "0";
	cr_assert_eq(remove(csv), 0);
	st = fx_run_cmd(argv, log, 100);
	cr_assert_eq(st, 0, "exit %d: %s", st, fx_read(log));
	cr_assert_neq(access(csv, F_OK), 0, "no samples.csv with --sample-ms 0");
	r = load_json(dir, "result.json");
	cr_assert(json_is_null(json_object_get(r, "collectors")));
	json_decref(r);
	fx_cleanup(dir);
}
