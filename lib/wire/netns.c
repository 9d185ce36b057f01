// SPDX-License-Identifier: MIT
/* Namespace, veth pair and tbf for --link netns, via iproute2. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dirtybench/common.h"
#include "base/files.h"
#include "wire/netns.h"

/* In PATH, or in sbin: iproute2 lives there, often missing from PATH. */
static int find_in_path(const char *prog)
{
	char full[64];

	if (db_in_path(prog))
		return 0;
	snprintf(full, sizeof(full), "/usr/sbin/%s", prog);
	if (!access(full, X_OK))
		return 0;
	snprintf(full, sizeof(full), "/sbin/%s", prog);
	return access(full, X_OK) ? -ENOENT : 0;
}

int db_netns_probe(char *why, size_t len)
{
	if (geteuid() != 0) {
		snprintf(why, len, "--link netns needs root (network namespaces, veth, tc)");
		return -EPERM;
	}
	if (find_in_path("ip") || find_in_path("tc")) {
		snprintf(why, len, "--link netns needs iproute2 (ip and tc): apt-get install iproute2");
		return -ENOENT;
	}
	if (access("/proc/self/ns/net", R_OK)) {
		snprintf(why, len, "this kernel has no network namespaces");
		return -ENOTSUP;
	}
	return 0;
}

int db_run_cmd(const char *const argv[])
{
	char out[512] = "", cmd[256] = "";
	int pfd[2], status;
	size_t off = 0, i;
	ssize_t n;
	pid_t pid;

	for (i = 0; argv[i] && off + 1 < sizeof(cmd); i++)
		off += (size_t)snprintf(cmd + off, sizeof(cmd) - off, "%s%s",
					i ? " " : "", argv[i]);
	if (pipe2(pfd, O_CLOEXEC))
		return db_error_errno(-errno, "%s: pipe", cmd);
	pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return db_error_errno(-errno, "%s: fork", cmd);
	}
	if (pid == 0) {
		const char *p = getenv("PATH");
		char path[1024];

		snprintf(path, sizeof(path), "%s:/usr/sbin:/sbin", p ? p : "/usr/bin:/bin");
		setenv("PATH", path, 1);
		dup2(pfd[1], 2);
		dup2(pfd[1], 1);
		execvp(argv[0], (char *const *)argv);
		dprintf(2, "cannot run %s: %s", argv[0], strerror(errno));
		_exit(127);
	}
	close(pfd[1]);
	off = 0;
	while (off + 1 < sizeof(out) &&
	       (n = read(pfd[0], out + off, sizeof(out) - 1 - off)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		off += (size_t)n;
	}
	out[off] = '\0';
	out[strcspn(out, "\n")] = '\0';
	close(pfd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	return db_error(-EIO, "'%s' failed: %s", cmd, out[0] ? out : "no message");
}

void db_netns_names(struct db_netns *n, unsigned long id)
{
	/* one /30 of 169.254.0.0/16 per run, clear of 169.254.0.x and .255.x */
	unsigned base = (unsigned)(64 + id % 16000) * 4;

	memset(n, 0, sizeof(*n));
	snprintf(n->ns, sizeof(n->ns), "dirtybench-%lu", id);
	snprintf(n->veth_host, sizeof(n->veth_host), "dbh%lu", id % 10000000);
	snprintf(n->veth_ns, sizeof(n->veth_ns), "dbd%lu", id % 10000000);
	snprintf(n->addr_host, sizeof(n->addr_host), "169.254.%u.%u",
		 base >> 8, (base & 255) + 1);
	snprintf(n->addr_ns, sizeof(n->addr_ns), "169.254.%u.%u", base >> 8,
		 (base & 255) + 2);
}

#define RUN(...) do { \
	const char *const av_[] = { __VA_ARGS__, NULL }; \
	err = db_run_cmd(av_); \
	if (err) \
		goto fail; \
} while (0)

int db_netns_setup(struct db_netns *n, unsigned long id, uint64_t bandwidth)
{
	char why[256], ah[32], an[32], rate[32], burst[32];
	int err;

	err = db_netns_probe(why, sizeof(why));
	if (err)
		return db_error(err, "%s", why);
	db_netns_names(n, id);
	snprintf(ah, sizeof(ah), "%s/30", n->addr_host);
	snprintf(an, sizeof(an), "%s/30", n->addr_ns);

	RUN("ip", "netns", "add", n->ns);
	n->ns_created = true;
	RUN("ip", "link", "add", n->veth_host, "type", "veth", "peer", "name",
	    n->veth_ns, "netns", n->ns);
	n->veth_created = true;
	RUN("ip", "addr", "add", ah, "dev", n->veth_host);
	RUN("ip", "link", "set", n->veth_host, "up");
	RUN("ip", "-n", n->ns, "addr", "add", an, "dev", n->veth_ns);
	RUN("ip", "-n", n->ns, "link", "set", n->veth_ns, "up");
	RUN("ip", "-n", n->ns, "link", "set", "lo", "up");
	if (bandwidth) {
		/* burst: 4 ms at the rate, at least 64 KiB (a GSO packet) */
		snprintf(rate, sizeof(rate), "%llubit",
			 (unsigned long long)(bandwidth * 8));
		snprintf(burst, sizeof(burst), "%llu",
			 (unsigned long long)DB_MAX(bandwidth / 250, 65536));
		RUN("tc", "qdisc", "add", "dev", n->veth_host, "root", "tbf",
		    "rate", rate, "burst", burst, "latency", "50ms");
	}
	return 0;
fail:
	snprintf(why, sizeof(why), "%s", db_strerror());
	db_netns_teardown(n);
	return db_error(err, "--link netns: %s", why);
}

void db_netns_teardown(struct db_netns *n)
{
	char msg[512];

	snprintf(msg, sizeof(msg), "%s", db_strerror());
	if (n->ns_created) {
		const char *const del[] = { "ip", "netns", "del", n->ns, NULL };

		db_run_cmd(del);
		n->ns_created = false;
	}
	if (n->veth_created) {
		/* normally gone with its peer's namespace */
		const char *const show[] = { "ip", "link", "show", n->veth_host, NULL };
		const char *const del[] = { "ip", "link", "del", n->veth_host, NULL };

		if (!db_run_cmd(show))
			db_run_cmd(del);
		n->veth_created = false;
	}
	db_error(0, "%s", msg);
}
