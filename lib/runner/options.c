// SPDX-License-Identifier: MIT
/* One option table for run, migrate, dest, model-check and target files. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dirtybench/common.h"
#include "dirtybench/tracker.h"
#include "base/files.h"
#include "runner/options.h"
#include "wire/transport.h"
#include "../vmm/qemu/qemu.h"

#define OFF(f) offsetof(struct db_run_config, f)
#define STR(f) OFF(f), sizeof(((struct db_run_config *)0)->f)
#define ALL_SRC DB_OPT_SOURCE

static const struct db_option options[] = {
	{ "tracker", "NAME", DB_T_STR, STR(tracker), "uffd-async", 0, 0, NULL,
	  ALL_SRC | DB_OPT_MODEL,
	  "Dirty-page tracker under test (`dirtybench trackers` lists them and "
	  "says why one cannot run here). NAME:ARGS passes arguments, e.g. "
	  "faulty:uffd-async:drop=1/1000 drops one dirty bit in 1000 on purpose." },
	{ "ram", "SIZE", DB_T_SIZE, OFF(ram_bytes), 0, "256M", 0, 0, NULL,
	  ALL_SRC | DB_OPT_MODEL,
	  "Guest RAM size in bytes, binary multiples: 64M, 256M, 1792M, 1G." },
	{ "backing", "TYPE", DB_T_BACKING, OFF(backing), 0, "anon", 0, 0, NULL,
	  ALL_SRC | DB_OPT_DEST,
	  "Guest RAM backing: anon (private anonymous, 4 KiB pages), thp "
	  "(transparent huge pages), hugetlb (2 MiB hugetlbfs pages), memfd "
	  "(shared memfd). Trackers that provide their own RAM ignore it." },
	{ "fill", "KIND", DB_T_CHOICE, OFF(fill), 0, "random", 0, 0, "random|zero",
	  ALL_SRC,
	  "Guest RAM content before the migration: random (every page holds "
	  "data, as in a booted guest, so round 0 moves the whole RAM) or zero "
	  "(untouched pages travel as 8-byte zero-page records)." },
	{ "workload", "SPEC", DB_T_WORKLOAD, OFF(workload), 0,
	  "dirtyram:dirty=512,period=10", 0, 0, NULL, ALL_SRC,
	  "The guest's writer: dirtyram:pages=N,dirty=K,period=MS[,pattern=P]"
	  "[,threads=T], or none. Each of T vCPU threads owns N pages (default: "
	  "all RAM shared among the threads) and writes a stamp into K of them "
	  "every MS milliseconds (0: as fast as possible). P: seq (the next K "
	  "pages, wrapping; the original dirtyram), random, hotset:F (the first "
	  "fraction F), zipf:S. Example: dirtyram:pages=65536,dirty=512,period=10." },
	{ "bandwidth", "RATE", DB_T_RATE, OFF(bandwidth), 0, "unlimited", 0, 0,
	  NULL, ALL_SRC | DB_OPT_MODEL,
	  "Migration bandwidth limit: 1gbit, 200mbit (decimal bits/s), 100MB/s, "
	  "10MiB/s (bytes/s), or unlimited. Enforced by a token bucket in the "
	  "sender, and with --link netns also by tc tbf on the link." },
	{ "downtime-limit", "MS", DB_T_MS, OFF(downtime_limit_ms), 0, "300", 1,
	  3600000, NULL, ALL_SRC,
	  "Largest acceptable downtime in milliseconds, for the downtime stop "
	  "policy: switch over once the dirty bytes left fit in bandwidth x "
	  "limit (the bandwidth measured in the last round, as QEMU does)." },
	{ "stop", "POLICY", DB_T_STOP, OFF(stop), 0, "downtime", 0, 0, NULL,
	  ALL_SRC,
	  "When to stop the guest and copy the rest: downtime (see "
	  "--downtime-limit); rounds:N (N rounds in all, the last one with the "
	  "guest stopped; rounds:1 is a plain stop-and-copy); time:S (the "
	  "downtime rule with a deadline of S seconds, which replaces "
	  "--max-time, then --on-timeout); "
	  "threshold:P (once at most P pages are dirty, as CRIU's p.haul)." },
	{ "max-rounds", "N", DB_T_U64, OFF(max_rounds), 0, "30", 1, 1000000, NULL,
	  ALL_SRC,
	  "Cap on the number of rounds under any policy; reaching it applies "
	  "--on-timeout." },
	{ "max-time", "S", DB_T_SECONDS, OFF(max_time_ms), 0, "60", 1, 86400000,
	  NULL, ALL_SRC,
	  "Cap on the pre-copy time in seconds (decimals allowed) under any "
	  "policy; reaching it applies --on-timeout." },
	{ "on-timeout", "ACTION", DB_T_CHOICE, OFF(on_timeout), 0, "force", 0, 0,
	  "force|cancel", ALL_SRC,
	  "At a cap or deadline: force (stop the guest and copy the rest "
	  "anyway; converged is false) or cancel (give up, the guest keeps "
	  "running on the source; exit status 4)." },
	{ "dirty-limit", "LIMIT", DB_T_STR, STR(dirty_limit), "auto", 0, 0, NULL,
	  ALL_SRC,
	  "Cap the guest's dirty rate when pre-copy does not converge, as "
	  "QEMU's dirty-limit does: once two rounds in a row dirtied more than "
	  "half the bytes they sent, the vCPUs wait before writing beyond the "
	  "cap; each further pair of such rounds halves it. auto (the default): "
	  "the cap starts at half the measured bandwidth; RATE (e.g. 50MB/s, "
	  "100mbit): that cap; off: never throttle, so a dirty rate above the "
	  "bandwidth never converges (benchmark targets use off). The cap is "
	  "lifted when the guest resumes, on either side; result.json records "
	  "it per round." },
	{ "link", "KIND", DB_T_CHOICE, OFF(link), 0, "loopback", 0, 0,
	  "loopback|netns", DB_OPT_RUN | DB_OPT_TARGET,
	  "Path between source and destination: loopback (127.0.0.1) or netns "
	  "(the destination in its own network namespace behind a veth pair "
	  "with link-local addresses, shaped by tc tbf to --bandwidth; needs "
	  "root and iproute2; removed afterwards, also on failure). With --vmm "
	  "the destination QEMU runs in that namespace and the tbf alone limits "
	  "the migration stream (QEMU's max-bandwidth is then unlimited)." },
	{ "to", "ADDR:PORT", DB_T_STR, STR(to), "", 0, 0, NULL, DB_OPT_MIGRATE,
	  "The destination's address (required): ADDR:PORT or [V6ADDR]:PORT." },
	{ "listen", "ADDR:PORT", DB_T_STR, STR(listen), "127.0.0.1:7650", 0, 0,
	  NULL, DB_OPT_DEST,
	  "Address to accept the source's connection on; PORT alone listens "
	  "on 127.0.0.1, port 0 picks a free port (see --port-file)." },
	{ "port-file", "FILE", DB_T_STR, STR(port_file), "", 0, 0, NULL,
	  DB_OPT_DEST, "Write the port listened on into FILE, for scripts." },
	{ "port-fd", "FD", DB_T_U64, OFF(port_fd), 0, "0", 0, 65535, NULL,
	  DB_OPT_DEST,
	  "Write the port listened on into this inherited file descriptor "
	  "(0: none), as `dirtybench run` does for its destination." },
	{ "accept-timeout", "S", DB_T_SECONDS, OFF(accept_timeout_ms), 0, "60",
	  1, 86400000, NULL, DB_OPT_DEST,
	  "Give up when no source connected within S seconds." },
	{ "peer-timeout", "MS", DB_T_MS, OFF(peer_timeout_ms), 0, "2000", 100,
	  600000, NULL, ALL_SRC | DB_OPT_DEST,
	  "A peer silent for this many milliseconds is lost (heartbeats flow "
	  "every eighth of it): the migration aborts with exit status 4." },
	{ "progress-timeout", "MS", DB_T_MS, OFF(progress_timeout_ms), 0, "60000",
	  100, 3600000, NULL, ALL_SRC | DB_OPT_DEST,
	  "The destination gives up on a source that stays alive but moves "
	  "nothing on for this many milliseconds: no page batch, round, state "
	  "or hashes completed (a peer trickling its frames, or sending only "
	  "PINGs); exit status 4. It must exceed what one page batch (1 MiB) "
	  "takes on the link." },
	{ "dest-prefault", "WHEN", DB_T_CHOICE, OFF(dest_prefault), 0, "auto", 0,
	  0, "auto|on|off", DB_OPT_RUN | DB_OPT_DEST,
	  "Whether the destination faults its whole RAM in when the HELLO "
	  "comes, before round 0 starts (MADV_POPULATE_WRITE, one write per "
	  "page on a kernel before 5.14), so that round 0 copies into memory "
	  "that is there: on; off (each batch's fresh pages are faulted in "
	  "as it arrives, during round 0); auto (on when the source's RAM is "
	  "filled with data, --fill random; off for --fill zero, whose "
	  "untouched pages the destination never touches). The time it takes "
	  "is part of the migration's total time, not of round 0's." },
	{ "dest-tail-ms", "MS", DB_T_MS, OFF(dest_tail_ms), 0, "200", 0, 600000,
	  NULL, ALL_SRC,
	  "How long the destination runs the resumed workload before reporting "
	  "(its pages written and its stall are in the results)." },
	{ "warmup-ms", "MS", DB_T_MS, OFF(warmup_ms), 0, "100", 0, 600000, NULL,
	  ALL_SRC,
	  "How long the workload runs before the migration starts." },
	{ "stall-probe", "US", DB_T_U64, OFF(stall_probe_us), 0, "50", 0, 100000,
	  NULL, ALL_SRC | DB_OPT_DEST | DB_OPT_MODEL,
	  "The guest's stall probe: a thread beside the vCPUs, paused with them, "
	  "reads the clock every US microseconds and records each gap longer "
	  "than ten intervals (at least 200 us); the longest gap is the guest "
	  "stall in the results, next to the downtime. 0 turns it off (the stall "
	  "is then the period lateness)." },
	{ "chunk-pages", "N", DB_T_U64, OFF(chunk_pages), 0, "64", 1, 65536,
	  NULL, ALL_SRC,
	  "Pages per chunk hash when the checksums differ and the destination "
	  "locates the differing pages." },
	{ "seed", "N", DB_T_U64, OFF(seed), 0, "1", 0, UINT64_MAX, NULL,
	  ALL_SRC | DB_OPT_MODEL,
	  "Seed of the RAM fill, the workload's random patterns and trackers "
	  "that draw random numbers." },
	{ "out", "DIR", DB_T_STR, STR(out), "", 0, 0, NULL,
	  ALL_SRC | DB_OPT_DEST | DB_OPT_MODEL,
	  "Write result.json, rounds.csv and samples.csv (docs/results.md) "
	  "into DIR, created if missing." },
	{ "sample-ms", "MS", DB_T_MS, OFF(sample_ms), 0, "100", 0, 60000, NULL,
	  ALL_SRC,
	  "With --out: every MS milliseconds the collectors write a row of "
	  "DIR/samples.csv: CPU of the source, the destination and the vCPU "
	  "threads, their RSS, /proc/vmstat faults and THP splits, and with "
	  "--link netns and a --bandwidth limit the shaped link's tc "
	  "statistics (every second at most). Their own cost goes into "
	  "result.json (collectors). 0 turns them off." },
	{ "scenario", "NAME", DB_T_STR, STR(scenario), "", 0, 0, NULL, ALL_SRC,
	  "Scenario name recorded in result.json (targets set it)." },
	{ "vmm", "qemu[:PATH]", DB_T_STR, STR(vmm), "", 0, 0, NULL,
	  DB_OPT_RUN | DB_OPT_TARGET,
	  "Migrate a real VMM's guest instead of the engines' RAM: qemu runs "
	  "qemu-system-x86_64 from PATH (qemu:PATH that binary; see "
	  "--vmm-arch) twice, a source booting Debian's kernel with an "
	  "initramfs of busybox and dirtyram-static copies (--workload: pages, "
	  "dirty, period, pattern, threads = copies) and a destination waiting "
	  "with -incoming, both driven over QMP: --bandwidth is QEMU's "
	  "max-bandwidth (with --link netns the tbf's rate instead), "
	  "--downtime-limit its downtime-limit, --dirty-limit its dirty-limit "
	  "where it has one. Both "
	  "guests' RAM is compared page by page before the destination runs "
	  "(docs/qemu.md). --tracker, --backing and --fill do not apply; "
	  "--stop must be downtime." },
	{ "vmm-kernel", "FILE", DB_T_STR, STR(vmm_kernel), "", 0, 0, NULL,
	  DB_OPT_RUN,
	  "With --vmm: the guest's kernel image (default: the newest "
	  "/boot/vmlinuz-*, or $ARM64_CACHE/Image for an aarch64 guest)." },
	{ "vmm-accel", "KIND", DB_T_CHOICE, OFF(vmm_accel), 0, "auto", 0, 0,
	  "auto|kvm|tcg", DB_OPT_RUN | DB_OPT_TARGET,
	  "With --vmm: kvm, tcg (emulation), or auto: kvm where /dev/kvm "
	  "opens and creates a VM, and tcg if that KVM does not boot the "
	  "guest within 30 s (result.json says why: vmm.accel_note)." },
	{ "vmm-tcg-threads", "KIND", DB_T_CHOICE, OFF(vmm_tcg_threads), 0, "auto", 0, 0,
	  "auto|multi|single", DB_OPT_RUN | DB_OPT_TARGET,
	  "With --vmm under TCG: QEMU's vCPU threads. multi runs a host "
	  "thread per vCPU (-accel tcg,thread=multi), single one thread for "
	  "all of them, auto leaves QEMU's default (multi for these guests). "
	  "vmm.accel records the -accel argument." },
	{ "vmm-arch", "ARCH", DB_T_CHOICE, OFF(vmm_arch), 0, "auto", 0, 0,
	  "auto|x86_64|aarch64", DB_OPT_RUN,
	  "With --vmm: the guest's architecture. x86_64 boots the pc machine; "
	  "aarch64 the virt machine (-cpu max, TCG on any other host) with "
	  "Debian's arm64 kernel and busybox from $ARM64_CACHE "
	  "(ci/deps-arm64.sh) and dirtyram-static-arm64 (make "
	  "dirtyram-static-arm64). auto follows the binary's name "
	  "(qemu-system-aarch64, else x86_64); --vmm qemu with aarch64 runs "
	  "qemu-system-aarch64 from PATH." },
	{ "vmm-boot-timeout", "S", DB_T_SECONDS, OFF(vmm_boot_timeout_ms), 0,
	  "180", 1, 3600000, NULL, DB_OPT_RUN,
	  "With --vmm: how long the guest may take to boot and start its "
	  "dirtyram copies." },
	{ "vmm-fault", "HOOK", DB_T_STR, STR(vmm_fault), "", 0, 0, NULL,
	  DB_OPT_RUN,
	  "Test hook with --vmm: corrupt-dest[:N] changes one byte in each of "
	  "N pages (default 3) of the destination's guest RAM after the "
	  "migration and before the comparison, through its memory backend "
	  "file, so the validation must fail (exit 1) and list those pages." },
	{ "lambda", "X", DB_T_DOUBLE, OFF(lambda), 0, "0.5", 0, 0, NULL,
	  DB_OPT_MODEL,
	  "Dirty rate / bandwidth of the model check's sequential workload." },
	{ "progress", NULL, DB_T_FLAG, OFF(progress), 0, NULL, 0, 0, NULL,
	  DB_OPT_RUN | DB_OPT_MIGRATE,
	  "One line per round even when stdout is not a terminal." },
	{ "quiet", NULL, DB_T_FLAG, OFF(quiet), 0, NULL, 0, 0, NULL,
	  DB_OPT_RUN | DB_OPT_MIGRATE | DB_OPT_DEST | DB_OPT_MODEL,
	  "No progress lines and no summary: errors only." },
};

size_t db_option_count(void)
{
	return DB_ARRAY_SIZE(options);
}

const struct db_option *db_option_at(size_t i)
{
	return i < DB_ARRAY_SIZE(options) ? &options[i] : NULL;
}

const struct db_option *db_option_find(const char *name)
{
	size_t i;

	for (i = 0; i < DB_ARRAY_SIZE(options); i++)
		if (!strcmp(options[i].name, name))
			return &options[i];
	return NULL;
}

static int opt_err(const struct db_option *o, const char *value)
{
	char why[512];

	snprintf(why, sizeof(why), "%s", db_strerror());
	return db_error(-EINVAL, "option --%s: %s", o->name,
			why[0] ? why : value);
}

static int parse_choice(const struct db_option *o, const char *v, int *out)
{
	const char *p = o->choices;
	size_t n = strlen(v);
	int i = 0;

	while (p && *p) {
		size_t l = strcspn(p, "|");

		if (l == n && !strncmp(p, v, n)) {
			*out = i;
			return 0;
		}
		p += l + (p[l] == '|');
		i++;
	}
	return db_error(-EINVAL, "'%s' is not one of %s", v, o->choices);
}

static int parse_stop(struct db_run_config *c, const char *v)
{
	const char *arg = strchr(v, ':');
	double s;
	int err;

	if (!strcmp(v, "downtime")) {
		c->stop = DB_STOP_DOWNTIME;
		c->stop_arg = 0;
		return 0;
	}
	if (!arg)
		goto bad;
	if (!strncmp(v, "rounds:", 7)) {
		c->stop = DB_STOP_ROUNDS;
		return db_parse_u64(arg + 1, 1, 1000000, &c->stop_arg);
	}
	if (!strncmp(v, "threshold:", 10)) {
		c->stop = DB_STOP_THRESHOLD;
		return db_parse_u64(arg + 1, 0, UINT64_MAX >> 13, &c->stop_arg);
	}
	if (!strncmp(v, "time:", 5)) {
		err = db_parse_double(arg + 1, 0.001, 86400, &s);
		if (err)
			return err;
		c->stop = DB_STOP_TIME;
		c->stop_arg = (uint64_t)(s * 1000 + 0.5);
		return 0;
	}
bad:
	return db_error(-EINVAL,
			"bad policy '%s' (downtime, rounds:N, time:S, threshold:PAGES)",
			v);
}

static int parse_workload(struct db_run_config *c, const char *v)
{
	char buf[256], *tok, *save = NULL, *eq;
	struct dr_config dr = { .dirty_pages = 512, .period_ms = 10,
				.pattern = DR_PATTERN_SEQ, .copies = 1,
				.hot_fraction = 1, .zipf_s = 1 };
	bool pages_all = true;
	uint64_t x;
	int err = 0;

	if (strlen(v) >= sizeof(c->workload))
		return db_error(-EINVAL, "workload spec is too long");
	if (!strcmp(v, "none")) {
		c->workload_on = false;
		snprintf(c->workload, sizeof(c->workload), "none");
		return 0;
	}
	if (strncmp(v, "dirtyram", 8) || (v[8] && v[8] != ':'))
		return db_error(-EINVAL,
				"unknown workload '%s' (dirtyram:pages=N,dirty=K,period=MS[,pattern=P,threads=T] or none)",
				v);
	snprintf(buf, sizeof(buf), "%s", v[8] ? v + 9 : "");
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		eq = strchr(tok, '=');
		if (!eq)
			return db_error(-EINVAL, "workload: '%s' is not KEY=VALUE", tok);
		*eq++ = '\0';
		if (!strcmp(tok, "pages")) {
			err = db_parse_u64(eq, 1, DB_PAGE_DESC_PAGE_MASK, &dr.total_pages);
			pages_all = false;
		} else if (!strcmp(tok, "dirty")) {
			err = db_parse_u64(eq, 0, DB_PAGE_DESC_PAGE_MASK, &dr.dirty_pages);
		} else if (!strcmp(tok, "period")) {
			err = db_parse_u64(eq, 0, 3600000, &dr.period_ms);
		} else if (!strcmp(tok, "threads")) {
			err = db_parse_u64(eq, 1, 1024, &x);
			dr.copies = (unsigned)x;
		} else if (!strcmp(tok, "pattern")) {
			err = dr_pattern_parse(eq, &dr);
			if (err)
				db_error(err, "bad pattern '%s' (seq, random, hotset:F, zipf:S)",
					 eq);
		} else {
			return db_error(-EINVAL,
					"workload: unknown key '%s' (pages, dirty, period, pattern, threads)",
					tok);
		}
		if (err)
			return db_error(-EINVAL, "workload %s=%s: %s", tok, eq,
					db_strerror());
	}
	c->workload_on = true;
	c->workload_pages_all = pages_all;
	c->dr = dr;
	snprintf(c->workload, sizeof(c->workload), "%s", v);
	return 0;
}

static int set(struct db_run_config *c, const struct db_option *o,
	       const char *v)
{
	char *base = (char *)c + o->off;
	uint64_t *u = (uint64_t *)(void *)base;
	double d;
	int err = 0, i = 0;

	db_clear_error();
	switch (o->type) {
	case DB_T_STR:
		if (strlen(v) >= o->size)
			return db_error(-EINVAL, "option --%s: value longer than %zu characters",
					o->name, o->size - 1);
		snprintf(base, o->size, "%s", v);
		return 0;
	case DB_T_SIZE:
		err = db_parse_size(v, u);
		break;
	case DB_T_RATE:
		err = db_parse_rate(v, u);
		break;
	case DB_T_U64:
	case DB_T_MS:
		err = db_parse_u64(v, o->min, o->max, u);
		break;
	case DB_T_SECONDS:
		err = db_parse_double(v, o->min / 1000.0, o->max / 1000.0, &d);
		if (!err)
			*u = (uint64_t)(d * 1000 + 0.5);
		break;
	case DB_T_DOUBLE:
		err = db_parse_double(v, 0.001, 100, &d);
		if (!err)
			*(double *)(void *)base = d;
		break;
	case DB_T_BACKING:
		err = db_backing_parse(v, (enum db_backing *)(void *)base);
		break;
	case DB_T_CHOICE:
		err = parse_choice(o, v, &i);
		if (!err)
			*(int *)(void *)base = i;
		break;
	case DB_T_STOP:
		err = parse_stop(c, v);
		break;
	case DB_T_WORKLOAD:
		err = parse_workload(c, v);
		break;
	case DB_T_FLAG:
		if (!v || !strcmp(v, "1") || !strcmp(v, "true") || !strcmp(v, "yes"))
			*(bool *)(void *)base = true;
		else if (!strcmp(v, "0") || !strcmp(v, "false") || !strcmp(v, "no"))
			*(bool *)(void *)base = false;
		else
			err = db_error(-EINVAL, "'%s' is not a boolean", v);
		break;
	}
	return err ? opt_err(o, v) : 0;
}

void db_run_config_defaults(struct db_run_config *c)
{
	size_t i;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < DB_ARRAY_SIZE(options); i++)
		if (options[i].def)
			set(c, &options[i], options[i].def);
}

int db_option_set(struct db_run_config *c, const char *name, const char *value)
{
	const struct db_option *o = db_option_find(name);

	if (!o)
		return db_error(-ENOENT, "unknown option '%s'", name);
	return set(c, o, value);
}

int db_options_parse(struct db_run_config *c, unsigned cmd, int argc,
		     const char *const argv[])
{
	const struct db_option *o;
	char name[64];
	const char *a, *v;
	size_t n;
	int i;

	for (i = 1; i < argc; i++) {
		a = argv[i];
		if (!strcmp(a, "--help") || !strcmp(a, "-h"))
			return 1;
		if (strncmp(a, "--", 2) || !a[2])
			return db_error(-EINVAL, "unexpected argument '%s' (options start with --)",
					a);
		a += 2;
		n = strcspn(a, "=");
		if (n >= sizeof(name))
			return db_error(-EINVAL, "unknown option '--%s'", a);
		memcpy(name, a, n);
		name[n] = '\0';
		o = db_option_find(name);
		if (!o || !(o->cmds & cmd))
			return db_error(-EINVAL, "unknown option '--%s'", name);
		if (o->type == DB_T_FLAG) {
			v = a[n] == '=' ? a + n + 1 : NULL;
		} else if (a[n] == '=') {
			v = a + n + 1;
		} else {
			if (i + 1 >= argc)
				return db_error(-EINVAL, "option --%s needs a value (%s)",
						name, o->arg);
			v = argv[++i];
		}
		if (set(c, o, v))
			return -EINVAL;
	}
	return 0;
}

static int check_out_dir(const char *dir)
{
	if (!dir[0])
		return 0;
	if (db_mkdir_p(dir))
		return db_error(-EINVAL, "option --out: %s", db_strerror());
	if (access(dir, W_OK))
		return db_error_errno(-errno, "option --out: cannot write into '%s'",
				      dir);
	return 0;
}

int db_run_config_check(struct db_run_config *c, unsigned cmd)
{
	char host[256], port[16];
	uint64_t npages;
	int err;

	if (cmd & DB_OPT_DEST) {
		if (db_split_hostport(c->listen, host, sizeof(host), port, sizeof(port)))
			return db_error(-EINVAL, "option --listen: %s", db_strerror());
		return check_out_dir(c->out);
	}
	if ((cmd & DB_OPT_MIGRATE) && !c->to[0])
		return db_error(-EINVAL, "option --to is required (the destination's ADDR:PORT)");
	if (c->to[0] && db_split_hostport(c->to, host, sizeof(host), port, sizeof(port)))
		return db_error(-EINVAL, "option --to: %s", db_strerror());
	if (!strcmp(c->dirty_limit, "off")) {
		c->dirty_limit_mode = DB_DIRTY_LIMIT_OFF;
	} else if (!strcmp(c->dirty_limit, "auto")) {
		c->dirty_limit_mode = DB_DIRTY_LIMIT_AUTO;
	} else {
		uint64_t rate;

		if (db_parse_rate(c->dirty_limit, &rate) || rate < DB_PAGE_SIZE)
			return db_error(-EINVAL,
					"option --dirty-limit: '%s' is not off, auto or a rate of at least one page per second (e.g. 50MB/s, 100mbit)",
					c->dirty_limit);
		c->dirty_limit_mode = DB_DIRTY_LIMIT_RATE;
		c->dirty_limit_pps = rate / DB_PAGE_SIZE;
	}
	if (!db_tracker_find(c->tracker)) {
		struct db_tracker *t;

		db_tracker_create(&t, c->tracker, NULL);
		return db_error(-EINVAL, "option --tracker: %s", db_strerror());
	}
	if (c->ram_bytes < DB_PAGE_SIZE || c->ram_bytes % DB_PAGE_SIZE)
		return db_error(-EINVAL,
				"option --ram: %llu bytes is not a positive multiple of 4 KiB",
				(unsigned long long)c->ram_bytes);
	if (c->ram_bytes > (1ull << 40))
		return db_error(-EINVAL, "option --ram: more than 1 TiB");
	if (c->vmm[0]) {
		err = db_qemu_check_config(c);
		if (err)
			return err;
	}
	npages = c->ram_bytes / DB_PAGE_SIZE;
	if (c->workload_on) {
		if (c->dr.copies > npages)
			return db_error(-EINVAL,
					"option --workload: %u threads need at least %u pages, --ram has %llu",
					c->dr.copies, c->dr.copies,
					(unsigned long long)npages);
		if (c->workload_pages_all)
			c->dr.total_pages = npages / c->dr.copies;
		c->dr.seed = c->seed;
		if (c->dr.total_pages * c->dr.copies > npages)
			return db_error(-EINVAL,
					"option --workload: %u threads x %llu pages do not fit in --ram of %llu pages",
					c->dr.copies,
					(unsigned long long)c->dr.total_pages,
					(unsigned long long)npages);
		if (c->dr.dirty_pages > c->dr.total_pages)
			return db_error(-EINVAL,
					"option --workload: dirty=%llu is more than pages=%llu",
					(unsigned long long)c->dr.dirty_pages,
					(unsigned long long)c->dr.total_pages);
		err = dr_config_check(&c->dr, npages);
		if (err)
			return db_error(-EINVAL, "option --workload: '%s' rejected by dirtyram",
					c->workload);
	}
	if (c->stop == DB_STOP_ROUNDS && c->stop_arg > c->max_rounds)
		return db_error(-EINVAL, "option --stop: rounds:%llu is more than --max-rounds %llu",
				(unsigned long long)c->stop_arg,
				(unsigned long long)c->max_rounds);
	if (c->link == DB_LINK_NETNS && c->to[0])
		return db_error(-EINVAL, "option --link: netns is for `dirtybench run` only");
	return check_out_dir(c->out);
}

/* Print text wrapped at 78 columns with an indent. */
static void wrap(FILE *f, const char *text, int indent)
{
	const char *p = text;
	int col = indent;

	fprintf(f, "%*s", indent, "");
	while (*p) {
		size_t w = strcspn(p, " ");

		if (col > indent && col + 1 + (int)w > 78) {
			fprintf(f, "\n%*s", indent, "");
			col = indent;
		} else if (col > indent) {
			fputc(' ', f);
			col++;
		}
		fwrite(p, 1, w, f);
		col += (int)w;
		p += w;
		while (*p == ' ')
			p++;
	}
	fputc('\n', f);
}

void db_options_help(FILE *f, unsigned cmd)
{
	size_t i;

	for (i = 0; i < DB_ARRAY_SIZE(options); i++) {
		const struct db_option *o = &options[i];

		if (!(o->cmds & cmd))
			continue;
		fprintf(f, "  --%s%s%s\n", o->name, o->arg ? " " : "",
			o->arg ? o->arg : "");
		wrap(f, o->help, 8);
		if (o->def && o->def[0])
			fprintf(f, "        Default: %s.\n", o->def);
	}
	fprintf(f, "  --help\n        This text.\n");
}
