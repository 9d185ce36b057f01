// SPDX-License-Identifier: MIT
/*
 * One migration on this host (`dirtybench run`): the destination is a
 * separate `dirtybench dest` process, on loopback or inside a network
 * namespace of its own; and the source half of a two-host migration.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dirtybench/common.h"
#include "dirtybench/tracker.h"
#include "runner/run.h"
#include "engine/model.h"
#include "runner/options.h"
#include "wire/transport.h"
#include "../collectors/sampler.h"
#include "../vmm/qemu/qemu.h"

#define SPAWN_TIMEOUT_MS 15000
#define CONNECT_TIMEOUT_NS (10000000000ull)

static struct db_netns *active_ns;

struct db_netns *db_run_active_netns(void)
{
	return active_ns;
}

int db_setup_exit_status(int err)
{
	return err == -EINVAL || err == -ERANGE ? DB_EXIT_USAGE : DB_EXIT_RESOURCE;
}

/* Read "PORT\n" from the destination, or learn why it died. */
static int read_port(int fd, pid_t pid, uint16_t *port)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	char buf[32];
	size_t off = 0;
	ssize_t n;
	uint64_t v;
	int status, r, waited = 0;

	while (off + 1 < sizeof(buf) && !memchr(buf, '\n', off)) {
		if (db_interrupted)
			return db_error(-EINTR, "interrupted by a signal");
		r = poll(&pfd, 1, 100);
		if (r == 0) {
			waited += 100;
			if (waited >= SPAWN_TIMEOUT_MS)
				return db_error(-ETIMEDOUT,
						"the destination did not start listening within %d s",
						SPAWN_TIMEOUT_MS / 1000);
			continue;
		}
		n = read(fd, buf + off, sizeof(buf) - 1 - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (waitpid(pid, &status, 0) == pid && WIFEXITED(status))
				return db_error(-ECHILD,
						"the destination exited with status %d before listening",
						WEXITSTATUS(status));
			return db_error(-ECHILD, "the destination died before listening");
		}
		off += (size_t)n;
	}
	buf[off] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	if (db_parse_u64(buf, 1, 65535, &v))
		return db_error(-EPROTO, "the destination reported port '%s'", buf);
	*port = (uint16_t)v;
	return 0;
}

static int spawn_dest(const struct db_run_config *cfg, const char *self,
		      const struct db_netns *ns, pid_t *pid, uint16_t *port)
{
	char listen[64], fdarg[16], timeout[32], probe[32], progress[32];
	const char *argv[22];
	int pfd[2], n = 0, err;

	if (pipe2(pfd, O_CLOEXEC))
		return db_error_errno(-errno, "pipe for the destination's port");
	snprintf(listen, sizeof(listen), "%s:0", ns ? ns->addr_ns : "127.0.0.1");
	snprintf(fdarg, sizeof(fdarg), "%d", pfd[1]);
	snprintf(timeout, sizeof(timeout), "%llu",
		 (unsigned long long)cfg->peer_timeout_ms);
	snprintf(probe, sizeof(probe), "%llu", (unsigned long long)cfg->stall_probe_us);
	snprintf(progress, sizeof(progress), "%llu",
		 (unsigned long long)cfg->progress_timeout_ms);
	if (ns) {
		argv[n++] = "ip";
		argv[n++] = "netns";
		argv[n++] = "exec";
		argv[n++] = ns->ns;
	}
	argv[n++] = self;
	argv[n++] = "dest";
	argv[n++] = "--listen";
	argv[n++] = listen;
	argv[n++] = "--port-fd";
	argv[n++] = fdarg;
	argv[n++] = "--peer-timeout";
	argv[n++] = timeout;
	argv[n++] = "--progress-timeout";
	argv[n++] = progress;
	argv[n++] = "--stall-probe";
	argv[n++] = probe;
	argv[n++] = "--dest-prefault";
	argv[n++] = cfg->dest_prefault == DB_PREFAULT_ON ? "on" :
		    cfg->dest_prefault == DB_PREFAULT_OFF ? "off" : "auto";
	argv[n++] = "--quiet";
	argv[n] = NULL;

	*pid = fork();
	if (*pid < 0) {
		err = db_error_errno(-errno, "cannot fork the destination");
		close(pfd[0]);
		close(pfd[1]);
		return err;
	}
	if (*pid == 0) {
		fcntl(pfd[1], F_SETFD, 0);	/* the one fd it inherits */
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		if (ns)
			execvp("ip", (char *const *)argv);
		else
			execv(self, (char *const *)argv);
		dprintf(2, "dirtybench: cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(pfd[1]);
	err = read_port(pfd[0], *pid, port);
	close(pfd[0]);
	return err;
}

/*
 * Wait for the destination to exit; kill it after timeout_ns. Its peak
 * RSS goes into *maxrss (bytes).
 */
static int reap(pid_t pid, uint64_t timeout_ns, uint64_t *maxrss)
{
	uint64_t t0 = db_now_ns();
	struct rusage ru = { 0 };
	int status = 0;
	pid_t r;

	for (;;) {
		r = wait4(pid, &status, WNOHANG, &ru);
		if (r == pid || (r < 0 && errno != EINTR))
			break;
		if (db_now_ns() - t0 > timeout_ns) {
			kill(pid, SIGKILL);
			wait4(pid, &status, 0, &ru);
			break;
		}
		db_sleep_ns(10000000ull);
	}
	*maxrss = (uint64_t)ru.ru_maxrss * 1024;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/*
 * The collectors beside a migration with --out: this process (the source
 * and its vCPU threads), the destination process (dst, 0 if elsewhere)
 * and the shaped link when there is one. *out stays NULL when they are
 * off (--sample-ms 0, no --out).
 */
static int collectors_start(const struct db_run_config *cfg, pid_t dst,
			    const struct db_netns *ns, struct db_sampler **out)
{
	struct db_sampler_config c = {
		.src_pid = getpid(),
		.dst_pid = dst,
		.sample_ms = (unsigned)cfg->sample_ms,
	};
	char path[600];

	*out = NULL;
	if (!cfg->out[0] || !cfg->sample_ms)
		return 0;
	/* the tbf is on the host end of the veth pair, in our namespace */
	if (ns && cfg->bandwidth)
		c.tc_dev = ns->veth_host;
	snprintf(path, sizeof(path), "%s/samples.csv", cfg->out);
	c.csv_path = path;
	return db_sampler_start(out, &c);
}

/*
 * Stop them: t_ns then counts from the migration start, their cost goes
 * into res, and so does a failure to write samples.csv (the migration's
 * own message stays).
 */
static void collectors_stop(struct db_sampler *s, struct db_result *res)
{
	char keep[512];

	if (!s)
		return;
	snprintf(keep, sizeof(keep), "%s", db_strerror());
	if (res->start_mono_ns)
		db_sampler_set_t0(s, res->start_mono_ns);
	if (db_sampler_stop(s, &res->collectors))
		snprintf(res->collectors_error, sizeof(res->collectors_error),
			 "%s", db_strerror());
	res->have_collectors = true;
	db_error(0, "%s", keep);
}

int db_run_local(const struct db_run_config *cfg, const char *self_exe,
		 struct db_result *res)
{
	if (cfg->vmm[0])
		return db_qemu_run(cfg, self_exe, res);
	struct db_source *src = NULL;
	struct db_sampler *smp = NULL;
	struct db_netns ns;
	char addr[64];
	uint16_t port = 0;
	pid_t pid = -1;
	int fd, err;

	memset(&ns, 0, sizeof(ns));
	err = db_source_prepare(&src, cfg);
	if (err)
		return err;
	if (cfg->link == DB_LINK_NETNS) {
		active_ns = &ns;
		err = db_netns_setup(&ns, (unsigned long)getpid(), cfg->bandwidth);
		if (err)
			goto out;
	}
	err = spawn_dest(cfg, self_exe, cfg->link == DB_LINK_NETNS ? &ns : NULL,
			 &pid, &port);
	if (err)
		goto out;
	err = collectors_start(cfg, pid, cfg->link == DB_LINK_NETNS ? &ns : NULL,
			       &smp);
	if (err)
		goto out;
	snprintf(addr, sizeof(addr), "%s:%u",
		 cfg->link == DB_LINK_NETNS ? ns.addr_ns : "127.0.0.1", port);
	err = db_tcp_connect(addr, CONNECT_TIMEOUT_NS, &fd);
	if (err)
		goto out;
	err = db_source_migrate(src, fd, true, res);
out:
	collectors_stop(smp, res);
	if (pid > 0) {
		/* an aborted destination needs up to a peer timeout to notice */
		if (err)
			kill(pid, SIGTERM);
		reap(pid, cfg->peer_timeout_ms * 1000000ull + 5000000000ull,
		     &res->dst_maxrss_bytes);
	}
	db_source_destroy(src);
	if (cfg->link == DB_LINK_NETNS) {
		db_netns_teardown(&ns);
		active_ns = NULL;
	}
	return err;
}

int db_migrate_remote(const struct db_run_config *cfg, struct db_result *res)
{
	struct db_source *src = NULL;
	struct db_sampler *smp = NULL;
	int fd, err;

	err = db_source_prepare(&src, cfg);
	if (err)
		return err;
	err = collectors_start(cfg, 0, NULL, &smp);
	if (!err)
		err = db_tcp_connect(cfg->to, CONNECT_TIMEOUT_NS, &fd);
	if (!err)
		err = db_source_migrate(src, fd, false, res);
	collectors_stop(smp, res);
	db_source_destroy(src);
	return err;
}

int db_model_check_config(struct db_run_config *cfg, double lambda)
{
	const char *pick[] = { "uffd-async", "hash" };
	uint64_t dirty, period = 10;
	char spec[128], why[256];
	double pps;
	size_t i;

	for (i = 0; !cfg->tracker[0] && i < DB_ARRAY_SIZE(pick); i++) {
		const struct db_tracker_ops *ops = db_tracker_find(pick[i]);

		if (ops && !ops->probe(why, sizeof(why)))
			snprintf(cfg->tracker, sizeof(cfg->tracker), "%s", pick[i]);
	}
	if (!cfg->bandwidth)
		return db_error(-EINVAL,
				"option --bandwidth: the model check needs a limit, not unlimited");
	/* dirty pages per period so that dirty bytes/s = lambda x bandwidth */
	pps = lambda * (double)cfg->bandwidth / db_model_page_bytes(false);
	dirty = (uint64_t)(pps * (double)period / 1000.0 + 0.5);
	while (dirty < 8 && period < 1000) {
		period *= 2;
		dirty = (uint64_t)(pps * (double)period / 1000.0 + 0.5);
	}
	snprintf(spec, sizeof(spec), "dirtyram:dirty=%llu,period=%llu,pattern=seq",
		 (unsigned long long)DB_MAX(dirty, 1), (unsigned long long)period);
	db_option_set(cfg, "workload", spec);
	db_option_set(cfg, "stop", "downtime");
	return db_run_config_check(cfg, DB_OPT_RUN);
}
