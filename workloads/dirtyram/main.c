// SPDX-License-Identifier: MIT
/*
 * dirtyram TOTAL_PAGES DIRTY_PAGES PERIOD_MS: the workload of the KVM/ARM
 * dirty-logging test bed, as a standalone program (links statically with
 * `make dirtyram-static` to run inside a guest).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "dirtybench/dirtyram.h"

#define PAGE 4096ull

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
	got_signal = sig;
}

static void usage(FILE *f)
{
	fprintf(f,
"Usage: dirtyram [OPTIONS] TOTAL_PAGES DIRTY_PAGES PERIOD_MS\n"
"\n"
"Map TOTAL_PAGES pages of 4 KiB and, every PERIOD_MS milliseconds, write an\n"
"incrementing counter into the next DIRTY_PAGES of them, wrapping around,\n"
"until a signal (SIGINT, SIGTERM) or --duration. PERIOD_MS 0 writes as fast\n"
"as the machine allows. Example from the KVM/ARM test bed:\n"
"    dirtyram 102580 812 30      (812 pages every 30 ms over 401 MiB)\n"
"\n"
"Each written page starts with a stamp: a magic, the page number, a\n"
"generation counter and the copy number, so a verifier can tell which\n"
"write a page's content came from.\n"
"\n"
"Options:\n"
"  -p, --pattern P   which pages a period writes (default seq):\n"
"                      seq          the next DIRTY_PAGES, wrapping (original)\n"
"                      random       uniform over all pages\n"
"                      hotset:F     uniform over the first fraction F (0..1]\n"
"                      zipf:S       zipf with exponent S over page ranks\n"
"  -t, --threads N   N copies, each with its own TOTAL_PAGES (like running N\n"
"                    dirtyram processes; default 1)\n"
"  -d, --duration S  stop after S seconds (decimals allowed; default: run\n"
"                    until a signal)\n"
"  -s, --seed N      seed of the random patterns (default 1)\n"
"      --stats       print one line per second: target and achieved pages/s\n"
"                    and the longest period lateness of that second\n"
"      --json        print the final summary as one JSON object\n"
"  -h, --help        this text\n"
"\n"
"The achieved rate is always reported next to the target: when the machine\n"
"cannot keep up, dirtyram says so instead of bursting to catch up.\n"
"\n"
"Exit status: 0 done, 2 bad usage, 3 memory could not be mapped.\n");
}

static int parse_u64(const char *s, const char *what, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	if (!*s || *s == '-')
		goto bad;
	v = strtoull(s, &end, 10);
	if (errno || *end)
		goto bad;
	*out = v;
	return 0;
bad:
	fprintf(stderr, "dirtyram: %s: '%s' is not a whole number\n", what, s);
	return -1;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void print_summary(const struct dr_config *cfg, const struct dr_stats *s,
			  double elapsed, int json)
{
	char pat[32];
	double pct = s->target_pps > 0 ? 100.0 * s->achieved_pps / s->target_pps : 0;

	dr_pattern_str(cfg, pat, sizeof(pat));
	if (json) {
		printf("{\"total_pages\":%llu,\"dirty_pages\":%llu,\"period_ms\":%llu,"
		       "\"pattern\":\"%s\",\"copies\":%u,\"elapsed_s\":%.3f,"
		       "\"target_pps\":%.1f,\"achieved_pps\":%.1f,"
		       "\"pages_written\":%llu,\"periods\":%llu,\"late_periods\":%llu,"
		       "\"max_lateness_ns\":%llu,\"kept_up\":%s}\n",
		       (unsigned long long)cfg->total_pages,
		       (unsigned long long)cfg->dirty_pages,
		       (unsigned long long)cfg->period_ms, pat, cfg->copies,
		       elapsed, s->target_pps, s->achieved_pps,
		       (unsigned long long)s->pages_written,
		       (unsigned long long)s->periods,
		       (unsigned long long)s->late_periods,
		       (unsigned long long)s->max_lateness_ns,
		       s->target_pps == 0 || pct >= 90 ? "true" : "false");
		return;
	}
	printf("dirtyram: %.1f s, %llu pages written in %llu periods\n", elapsed,
	       (unsigned long long)s->pages_written,
	       (unsigned long long)s->periods);
	if (s->target_pps > 0)
		printf("dirtyram: target %.0f pages/s, achieved %.0f pages/s (%.1f%%)%s\n",
		       s->target_pps, s->achieved_pps, pct,
		       pct < 90 ? ": this machine cannot keep up with the target" : "");
	else
		printf("dirtyram: no period: achieved %.0f pages/s\n", s->achieved_pps);
	printf("dirtyram: longest stall %.3f ms, %llu periods started more than a period late\n",
	       (double)s->max_lateness_ns / 1e6, (unsigned long long)s->late_periods);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pattern", required_argument, NULL, 'p' },
		{ "threads", required_argument, NULL, 't' },
		{ "duration", required_argument, NULL, 'd' },
		{ "seed", required_argument, NULL, 's' },
		{ "stats", no_argument, NULL, 'S' },
		{ "json", no_argument, NULL, 'J' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct dr_config cfg = { .copies = 1, .seed = 1, .hot_fraction = 1 };
	struct dr_workload *w;
	struct dr_stats s;
	struct sigaction sa;
	double duration = 0, t0, next, last_t;
	uint64_t v, last_pages = 0;
	int c, stats = 0, json = 0, err;
	size_t bytes;
	char *end;
	void *ram;

	while ((c = getopt_long(argc, argv, "p:t:d:s:h", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (dr_pattern_parse(optarg, &cfg)) {
				fprintf(stderr, "dirtyram: --pattern: '%s' is not seq, random, hotset:F (0<F<=1) or zipf:S (S>0)\n",
					optarg);
				return 2;
			}
			break;
		case 't':
			if (parse_u64(optarg, "--threads", &v))
				return 2;
			if (v < 1 || v > 1024) {
				fprintf(stderr, "dirtyram: --threads: %llu is outside [1, 1024]\n",
					(unsigned long long)v);
				return 2;
			}
			cfg.copies = (unsigned)v;
			break;
		case 'd':
			duration = strtod(optarg, &end);
			if (*end || end == optarg || !(duration > 0)) {
				fprintf(stderr, "dirtyram: --duration: '%s' is not a positive number of seconds\n",
					optarg);
				return 2;
			}
			break;
		case 's':
			if (parse_u64(optarg, "--seed", &cfg.seed))
				return 2;
			break;
		case 'S':
			stats = 1;
			break;
		case 'J':
			json = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (argc - optind != 3) {
		fprintf(stderr, "dirtyram: expected TOTAL_PAGES DIRTY_PAGES PERIOD_MS (see --help)\n");
		return 2;
	}
	if (parse_u64(argv[optind], "TOTAL_PAGES", &cfg.total_pages) ||
	    parse_u64(argv[optind + 1], "DIRTY_PAGES", &cfg.dirty_pages) ||
	    parse_u64(argv[optind + 2], "PERIOD_MS", &cfg.period_ms))
		return 2;
	if (cfg.total_pages == 0 || cfg.total_pages > (1ull << 36) / cfg.copies) {
		fprintf(stderr, "dirtyram: TOTAL_PAGES must be between 1 and %llu\n",
			(1ull << 36) / cfg.copies);
		return 2;
	}
	if (cfg.dirty_pages > cfg.total_pages) {
		fprintf(stderr, "dirtyram: DIRTY_PAGES (%llu) is larger than TOTAL_PAGES (%llu)\n",
			(unsigned long long)cfg.dirty_pages,
			(unsigned long long)cfg.total_pages);
		return 2;
	}
	if (cfg.period_ms > 3600000) {
		fprintf(stderr, "dirtyram: PERIOD_MS must be at most 3600000\n");
		return 2;
	}

	bytes = (size_t)(cfg.total_pages * cfg.copies * PAGE);
	ram = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (ram == MAP_FAILED) {
		fprintf(stderr, "dirtyram: cannot map %zu bytes: %s\n", bytes,
			strerror(errno));
		return 3;
	}
	err = dr_create(&w, &cfg, ram, bytes / PAGE, NULL);
	if (err) {
		fprintf(stderr, "dirtyram: %s\n", strerror(-err));
		return 2;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	t0 = now_s();
	err = dr_start(w);
	if (err) {
		fprintf(stderr, "dirtyram: cannot start threads: %s\n", strerror(-err));
		return 3;
	}
	next = t0 + 1;
	last_t = t0;
	while (!got_signal && (duration == 0 || now_s() - t0 < duration)) {
		double t, wait = next - now_s();

		if (duration > 0 && t0 + duration - now_s() < wait)
			wait = t0 + duration - now_s();
		if (wait > 0)
			usleep((useconds_t)(wait * 1e6 > 100000 ? 100000 : wait * 1e6));
		t = now_s();
		if (t < next)
			continue;
		next += 1;
		if (!stats)
			continue;
		dr_get_stats(w, &s);
		{
			double rate = (double)(s.pages_written - last_pages) / (t - last_t);
			double pct = s.target_pps > 0 ? 100 * rate / s.target_pps : 100;

			printf("%6.1f s  target %8.0f pages/s  achieved %8.0f pages/s (%5.1f%%)  max lateness %7.3f ms%s\n",
			       t - t0, s.target_pps, rate, pct,
			       (double)dr_take_lateness_peak(w) / 1e6,
			       pct < 90 && s.target_pps > 0 ? "  BEHIND" : "");
			fflush(stdout);
		}
		last_pages = s.pages_written;
		last_t = t;
	}
	err = dr_stop(w);
	dr_get_stats(w, &s);
	print_summary(&cfg, &s, now_s() - t0, json);
	dr_destroy(w);
	munmap(ram, bytes);
	if (err) {
		fprintf(stderr, "dirtyram: a vCPU failed: %s\n", strerror(-err));
		return 1;
	}
	return 0;
}
