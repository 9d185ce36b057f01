// SPDX-License-Identifier: MIT
/* dirtybench collect: the sampler on its own, beside any process. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "dirtybench/common.h"
#include "cmd.h"
#include "cmdopt.h"
#include "../collectors/sampler.h"

enum { OPT_DST = 256, OPT_VCPU, OPT_TC_DEV, OPT_NETNS, OPT_SAMPLE, OPT_TC_MS };

static const struct cmd_opt opts[] = {
	{ "pid", 'p', "PID", NULL, "the source process (or thread) (required)" },
	{ "dst-pid", OPT_DST, "PID", NULL, "the destination process" },
	{ "vcpu-threads", OPT_VCPU, "REGEX", "^vcpu",
	  "PCRE2 on the source's thread names that are vCPUs" },
	{ "tc-dev", OPT_TC_DEV, "DEV", NULL,
	  "the shaped device whose tc statistics to sample" },
	{ "netns", OPT_NETNS, "NAME", NULL, "the network namespace of --tc-dev" },
	{ "sample-ms", OPT_SAMPLE, "MS", "100", "sampling interval" },
	{ "tc-ms", OPT_TC_MS, "MS", "max(sample-ms, 1000)",
	  "interval of the tc samples (each starts one tc process)" },
	{ "duration", 'd', "SECONDS", "until PID exits or SIGINT",
	  "how long to sample" },
	{ "out", 'o', "FILE", "samples.csv", "where the series goes" },
};

static const struct cmd_doc doc = {
	.synopsis = "dirtybench collect --pid PID [OPTIONS]",
	.desc =
	"Sample a running process the way `dirtybench run` samples its own\n"
	"migrations, into samples.csv (docs/results.md): CPU %% of the source,\n"
	"destination and vCPU threads, RSS, /proc/vmstat page faults and THP\n"
	"splits, and the tc statistics of a shaped link. At the end prints\n"
	"the sampler's own cost: its CPU time and that of the tc processes,\n"
	"as a percentage of one core.\n",
	.opts = opts,
	.nopts = DB_ARRAY_SIZE(opts),
	.tail =
	"Examples:\n"
	"  dirtybench collect --pid $(pidof qemu-system-x86_64) -d 60\n"
	"  dirtybench collect -p 1234 --tc-dev veth0 --netns db0 -o s.csv\n"
	"\n"
	"Exit status: 0 done; 2 bad usage; 3 the output cannot be written.\n",
};

struct collect_args {
	struct db_sampler_config c;
	uint64_t duration_s;
};

static int on_opt(int key, const char *arg, void *ctx)
{
	struct collect_args *a = ctx;
	uint64_t v = 0;

	switch (key) {
	case OPT_VCPU: a->c.vcpu_comm = arg; return 0;
	case OPT_TC_DEV: a->c.tc_dev = arg; return 0;
	case OPT_NETNS: a->c.tc_netns = arg; return 0;
	case 'o': a->c.csv_path = arg; return 0;
	}
	if (db_parse_u64(arg, 1, key == 'd' ? 86400 * 7 : INT32_MAX, &v)) {
		fprintf(stderr, "dirtybench collect: %s\n", db_strerror());
		return DB_EXIT_USAGE;
	}
	switch (key) {
	case 'p': a->c.src_pid = (pid_t)v; break;
	case OPT_DST: a->c.dst_pid = (pid_t)v; break;
	case OPT_SAMPLE: a->c.sample_ms = (unsigned)v; break;
	case OPT_TC_MS: a->c.tc_ms = (unsigned)v; break;
	case 'd': a->duration_s = v; break;
	}
	return 0;
}

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int cmd_collect(int argc, char **argv)
{
	struct collect_args a = { .c.csv_path = "samples.csv" };
	struct sigaction sa = { .sa_handler = on_signal };
	struct db_sampler_cost cost;
	struct db_sampler *s;
	char path[64];
	struct stat st;
	uint64_t t0;
	int rc;

	rc = cmd_parse(argc, argv, &doc, on_opt, &a);
	if (rc < 0)
		return rc == CMD_HELP_SHOWN ? 0 : -rc;
	if (!a.c.src_pid || rc != argc) {
		fprintf(stderr, "Usage: %s\n", doc.synopsis);
		return DB_EXIT_USAGE;
	}
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (db_sampler_start(&s, &a.c)) {
		fprintf(stderr, "dirtybench collect: %s\n", db_strerror());
		return DB_EXIT_RESOURCE;
	}
	snprintf(path, sizeof(path), "/proc/%d", (int)a.c.src_pid);
	t0 = db_now_ns();
	while (!stop && !stat(path, &st) &&
	       (!a.duration_s || db_now_ns() - t0 < a.duration_s * 1000000000ull))
		db_sleep_ns(50000000);
	rc = db_sampler_stop(s, &cost);
	if (rc) {
		fprintf(stderr, "dirtybench collect: %s\n", db_strerror());
		return DB_EXIT_RESOURCE;
	}
	printf("%llu samples in %.1f s into %s\n"
	       "sampler cost: %.1f ms CPU (thread) + %.1f ms (tc) = %.3f%% of "
	       "a core; longest sample %.2f ms\n",
	       (unsigned long long)cost.samples, (double)cost.wall_ns / 1e9,
	       a.c.csv_path, (double)cost.cpu_ns / 1e6,
	       (double)cost.tc_cpu_ns / 1e6, cost.pct_of_core,
	       (double)cost.max_sample_ns / 1e6);
	return 0;
}
