// SPDX-License-Identifier: MIT
/* What `run` and `migrate` share: options, signals, results, exit status. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "dirtybench/common.h"
#include "cmd.h"
#include "runner/run.h"
#include "runner/options.h"
#include "engine/results.h"
#include "wire/transport.h"

static void on_signal(int sig)
{
	db_interrupted = 1;
}

void db_cmd_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

int db_cmd_self_exe(char *buf, size_t len)
{
	ssize_t n = readlink("/proc/self/exe", buf, len - 1);

	if (n <= 0)
		return db_error_errno(-errno, "cannot find my own executable (/proc/self/exe)");
	buf[n] = '\0';
	return 0;
}

static void help(const char *name, unsigned cmd)
{
	if (cmd == DB_OPT_RUN)
		printf("Usage: dirtybench run [OPTIONS]\n\n"
"Migrate a guest's RAM once on this host with pre-copy, and prove it arrived.\n"
"The destination is a separate `dirtybench dest` process reached over TCP\n"
"(127.0.0.1, or its own network namespace with --link netns). The source\n"
"runs the dirtyram workload on its guest RAM under the chosen dirty-page\n"
"tracker, sends round 0 (every page), then in each round collects the dirty\n"
"pages and sends them, until the stop policy switches over: the workload\n"
"pauses, the last dirty pages and the workload state go out, and the\n"
"destination compares the whole-RAM xxh3-128 checksum with the source's,\n"
"locates any differing pages, and only then resumes the workload.\n\n"
"With --vmm qemu[:PATH] the system under test is a real QEMU instead: a\n"
"source QEMU boots Debian's kernel with dirtyram-static copies inside, a\n"
"destination QEMU waits with -incoming and -S, the migration runs over\n"
"QMP (QEMU's max-bandwidth, downtime-limit and, where it has one,\n"
"dirty-limit), and once it completes both guests' RAM is compared page by\n"
"page before the destination may run (docs/qemu.md).\n\n");
	else
		printf("Usage: dirtybench migrate --to ADDR:PORT [OPTIONS]\n\n"
"The source half of `dirtybench run`, for two hosts: start\n"
"`dirtybench dest --listen ADDR:PORT` on the other host first. Downtime\n"
"then spans two clocks: the destination's resume time is mapped onto the\n"
"source's clock with an offset estimated from PING/PONG round trips (error\n"
"at most half the round trip, in result.json's clock section).\n\n");
	printf("Options:\n");
	db_options_help(stdout, cmd);
	printf("\nOutput: one line per round on a terminal (or with --progress) and a\n"
	       "summary; with --out DIR, DIR/result.json, DIR/rounds.csv and\n"
	       "DIR/samples.csv (schema in docs/results.md). Downtime runs from the\n"
	       "source's pause to the destination's resume, minus the time the\n"
	       "harness spends verifying the RAM (reported apart as verify_ns).\n\n");
	if (cmd == DB_OPT_RUN)
		printf("Examples:\n"
"  dirtybench run --tracker uffd-async --ram 256M --bandwidth 1gbit \\\n"
"      --workload dirtyram:pages=65536,dirty=512,period=10 --out /tmp/r\n"
"  dirtybench run --tracker hash --ram 64M --stop rounds:3 --fill zero\n"
"  dirtybench run --tracker faulty:uffd-async:drop=1/1000     # exits 1\n"
"  dirtybench run --link netns --bandwidth 200mbit           # as root\n"
"  dirtybench run --vmm qemu --ram 256M --bandwidth 500mbit \\\n"
"      --workload dirtyram:pages=16384,dirty=128,period=10 --out /tmp/q\n"
"  dirtybench run --vmm qemu --vmm-fault corrupt-dest         # exits 1\n\n");
	else
		printf("Example:\n"
"  host B: dirtybench dest --listen 192.0.2.2:7650\n"
"  host A: dirtybench migrate --to 192.0.2.2:7650 --tracker uffd-async --ram 1792M\n\n");
	printf("Exit status:\n"
	       "  0  migrated, RAM equal\n"
	       "  1  RAM differs after migration (validation failed)\n"
	       "  2  bad option or input (the message names it)\n"
	       "  3  missing here: a tracker (the probe says why), hugetlb pages,\n"
	       "     root or iproute2 for --link netns; with --vmm: QEMU, the kernel,\n"
	       "     a static busybox, dirtyram-static, or a guest that did not boot\n"
	       "  4  aborted (destination or link lost, cancelled, signal); the guest\n"
	       "     kept running on the source\n");
}

int db_cmd_source(const char *name, unsigned cmd, int argc, char **argv)
{
	struct db_run_config cfg;
	struct db_result res;
	char self[1024], why[256];
	int err, status;

	db_run_config_defaults(&cfg);
	err = db_options_parse(&cfg, cmd, argc, (const char *const *)argv);
	if (err == 1) {
		help(name, cmd);
		return DB_EXIT_OK;
	}
	if (!err)
		err = db_run_config_check(&cfg, cmd);
	if (err) {
		fprintf(stderr, "dirtybench %s: %s\n", name, db_strerror());
		return DB_EXIT_USAGE;
	}
	if (cfg.link == DB_LINK_NETNS && db_netns_probe(why, sizeof(why))) {
		fprintf(stderr, "dirtybench %s: %s\n", name, why);
		return DB_EXIT_RESOURCE;
	}
	if (!cfg.quiet && isatty(STDOUT_FILENO))
		cfg.progress = true;
	if (db_cmd_self_exe(self, sizeof(self))) {
		fprintf(stderr, "dirtybench %s: %s\n", name, db_strerror());
		return DB_EXIT_RESOURCE;
	}
	db_cmd_signals();
	db_result_init(&res, &cfg, DB_ROLE_SRC);
	err = cmd == DB_OPT_RUN ? db_run_local(&cfg, self, &res) :
				  db_migrate_remote(&cfg, &res);
	if (err) {
		fprintf(stderr, "dirtybench %s: %s\n", name, db_strerror());
		db_result_free(&res);
		return db_setup_exit_status(err);
	}
	status = db_result_exit_status(&res);
	if (cfg.out[0] && db_result_write(&res, cfg.out)) {
		fprintf(stderr, "dirtybench %s: %s\n", name, db_strerror());
		status = status ? status : DB_EXIT_RESOURCE;
	}
	if (res.collectors_error[0]) {
		fprintf(stderr, "dirtybench %s: %s\n", name, res.collectors_error);
		status = status ? status : DB_EXIT_RESOURCE;
	}
	if (!cfg.quiet)
		db_result_print_summary(&res, stdout);
	if (status)
		fprintf(stderr, "dirtybench %s: %s: %s\n", name,
			db_outcome_name(res.outcome), res.error);
	db_result_free(&res);
	return status;
}
