// SPDX-License-Identifier: MIT
/*
 * QEMU as the system under test: start, migrate over QMP, compare RAM.
 *
 * Both QEMUs take their guest RAM from a memory-backend-file (share=on) in
 * a private directory of /dev/shm: the file is the guest's RAM block, byte
 * for byte at its guest-physical address (the guest is kept below the PCI
 * hole), so the harness reads both guests' pages straight from it once
 * both are stopped, and the test hook can change the destination's RAM
 * exactly as a VMM losing a page would leave it.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <sched.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <unistd.h>

#include <linux/kvm.h>

#include "dirtybench/common.h"
#include "base/files.h"
#include "base/re.h"
#include "base/vec.h"
#include "engine/model.h"
#include "guest.h"
#include "qemu.h"
#include "qmp.h"
#include "wire/netns.h"
#include "wire/transport.h"

#define QMP_MS 10000		/* one ordinary command */
#define FORCE_DOWNTIME_MS 2000000	/* QEMU's largest downtime-limit */
#define MAX_RAM (3ull << 30)	/* pc: below the PCI hole; virt: the same bound */

/*
 * The guests a run can boot. RAM is one range from ram_base: the backend
 * file's offset plus ram_base is the guest-physical address.
 */
struct arch {
	int id;			/* enum db_vmm_arch */
	const char *name;	/* QEMU's: the binary's suffix */
	const char *package;	/* Debian's package with the binary */
	const char *machine;
	const char *kvm_machine_opts;	/* added to -machine under KVM */
	const char *tcg_cpu;
	const char *console;	/* the kernel's serial console */
	uint64_t ram_base;
};

static const struct arch arches[] = {
	{ DB_VMM_ARCH_X86_64, "x86_64", "qemu-system-x86", "pc", "", "max", "ttyS0", 0 },
	/* virt's RAM starts at 1 GiB; pauth-impdef keeps TCG's pointer auth cheap */
	{ DB_VMM_ARCH_AARCH64, "aarch64", "qemu-system-arm", "virt", ",gic-version=host",
	  "max,pauth-impdef=on", "ttyAMA0", 0x40000000ull },
};

static const struct arch *arch_by_id(int id)
{
	size_t i;

	for (i = 0; i < DB_ARRAY_SIZE(arches); i++)
		if (arches[i].id == id)
			return &arches[i];
	return &arches[0];
}

/* The architecture a binary's name says: qemu-system-NAME, or none. */
static const struct arch *arch_of_binary(const char *path)
{
	const char *base = strrchr(path, '/');
	size_t i;

	base = base ? base + 1 : path;
	for (i = 0; i < DB_ARRAY_SIZE(arches); i++)
		if (strstr(base, arches[i].name))
			return &arches[i];
	return NULL;
}

/* The binary to run and the guest's architecture (--vmm, --vmm-arch). */
static int vmm_binary(const struct db_run_config *cfg, char *out, size_t len,
		      const struct arch **a)
{
	const char *spec = cfg->vmm;
	const struct arch *named;

	*a = arch_by_id(cfg->vmm_arch == DB_VMM_ARCH_AUTO ? DB_VMM_ARCH_X86_64 : cfg->vmm_arch);
	if (!strcmp(spec, "qemu"))
		return snprintf(out, len, "qemu-system-%s", (*a)->name) >= (int)len ?
		       -ENAMETOOLONG : 0;
	if (strncmp(spec, "qemu:", 5) || !spec[5])
		return db_error(-EINVAL, "option --vmm: '%s' is not qemu or qemu:PATH", spec);
	named = arch_of_binary(spec + 5);
	if (cfg->vmm_arch == DB_VMM_ARCH_AUTO && named)
		*a = named;
	else if (named && named != *a)
		return db_error(-EINVAL, "option --vmm-arch: %s is a qemu-system-%s, not "
				"a qemu-system-%s", spec + 5, named->name, (*a)->name);
	return snprintf(out, len, "%s", spec + 5) >= (int)len ? -ENAMETOOLONG : 0;
}

int db_qemu_check_config(struct db_run_config *c)
{
	const struct arch *a;
	char bin[512];
	uint64_t npages = c->ram_bytes / DB_PAGE_SIZE;
	int err = vmm_binary(c, bin, sizeof(bin), &a);

	if (err)
		return err;
	if (c->ram_bytes < (128ull << 20) || c->ram_bytes > MAX_RAM)
		return db_error(-EINVAL, "option --ram: a QEMU guest takes 128M to 3G "
				"(one RAM range, below the PCI hole of pc), not %llu bytes",
				(unsigned long long)c->ram_bytes);
	if (c->stop != DB_STOP_DOWNTIME)
		return db_error(-EINVAL, "option --stop: QEMU switches over by its "
				"downtime limit alone: use --stop downtime with --vmm");
	if (c->vmm_fault[0] && strcmp(c->vmm_fault, "corrupt-dest") &&
	    strncmp(c->vmm_fault, "corrupt-dest:", 13))
		return db_error(-EINVAL, "option --vmm-fault: '%s' is not corrupt-dest[:N]",
				c->vmm_fault);
	if (!strncmp(c->vmm_fault, "corrupt-dest:", 13)) {
		uint64_t n;

		if (db_parse_u64(c->vmm_fault + 13, 1, 16, &n))
			return db_error(-EINVAL, "option --vmm-fault: N of corrupt-dest:N "
					"must be 1 to 16");
	}
	if (c->workload_on && c->workload_pages_all) {
		c->dr.total_pages = npages / 4 / DB_MAX(c->dr.copies, 1u);
		c->workload_pages_all = false;
	}
	/* The kernel and init need room beside the copies. */
	if (c->workload_on && (c->dr.total_pages * c->dr.copies + (96u << 20) / DB_PAGE_SIZE) > npages)
		return db_error(-EINVAL, "option --workload: %u copies x %llu pages leave "
				"the guest kernel less than 96 MiB of --ram %llu MiB",
				c->dr.copies, (unsigned long long)c->dr.total_pages,
				(unsigned long long)(c->ram_bytes >> 20));
	return 0;
}

static bool kvm_works(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC), vm;
	bool ok = false;

	if (fd < 0)
		return false;
	if (ioctl(fd, KVM_GET_API_VERSION, 0) == KVM_API_VERSION) {
		vm = ioctl(fd, KVM_CREATE_VM, 0);
		if (vm >= 0) {
			ok = true;
			close(vm);
		}
	}
	close(fd);
	return ok;
}

/* KVM runs a guest of this host's own architecture only. */
static bool kvm_can_run(const struct arch *a, char *why, size_t len)
{
	struct utsname u;

	if (uname(&u))
		snprintf(u.machine, sizeof(u.machine), "unknown");
	if (strcmp(u.machine, a->name)) {
		snprintf(why, len, "an %s guest on this %s host runs under tcg only",
			 a->name, u.machine);
		return false;
	}
	if (!kvm_works()) {
		snprintf(why, len, "/dev/kvm does not open or create a VM here");
		return false;
	}
	return true;
}

static int find_exe(const char *prog, const struct arch *a, char *out, size_t len)
{
	if (strchr(prog, '/')) {
		if (access(prog, X_OK))
			return db_error_errno(-errno, "option --vmm: %s is not an executable", prog);
		snprintf(out, len, "%s", prog);
		return 0;
	}
	if (db_find_in_path(prog, out, len))
		return db_error(-ENOENT, "no %s in PATH (apt-get install %s, "
				"or --vmm qemu:PATH)", prog, a->package);
	return 0;
}

int db_qemu_probe(const struct db_run_config *cfg, const char *self_exe,
		  char *why, size_t len)
{
	struct db_guest_files g;
	const struct arch *a;
	char bin[512], exe[512];
	int err = vmm_binary(cfg, bin, sizeof(bin), &a);

	if (!err)
		err = find_exe(bin, a, exe, sizeof(exe));
	if (!err)
		err = db_guest_find(cfg, a->id, self_exe, &g);
	if (err)
		snprintf(why, len, "%s", db_strerror());
	return err;
}

/* ---- processes -------------------------------------------------------- */

struct vm {
	const char *name;	/* "source", "destination" */
	pid_t pid;
	struct db_qmp qmp;
	bool qmp_up;
	char qmp_path[256], con_path[256], ram_path[256], log_path[600];
	char netns[64];		/* /run/netns/NAME to run in, "": here */
};

static int spawn(struct vm *v, char *const argv[])
{
	pid_t pid;
	int fd;

	fd = open(v->log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return db_error_errno(-errno, "QEMU %s: cannot create its log %s",
				      v->name, v->log_path);
	pid = fork();
	if (pid < 0) {
		close(fd);
		return db_error_errno(-errno, "QEMU %s: fork", v->name);
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		/* Never outlive the harness, even if it is killed outright. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		signal(SIGINT, SIG_IGN);	/* the harness stops it */
		if (v->netns[0]) {	/* the destination, behind the shaped link */
			int ns = open(v->netns, O_RDONLY | O_CLOEXEC);

			if (ns < 0 || setns(ns, CLONE_NEWNET)) {
				dprintf(fd, "cannot enter %s: %s\n", v->netns, strerror(errno));
				_exit(127);
			}
		}
		dup2(null, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		execvp(argv[0], argv);
		dprintf(2, "cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(fd);
	v->pid = pid;
	return 0;
}

/* The last line of a QEMU's log, for error messages. */
static void log_tail(const struct vm *v, char *out, size_t len)
{
	char *data, *p;
	size_t n;

	out[0] = '\0';
	if (db_slurp(v->log_path, 1 << 20, &data, &n))
		return;
	while (n && (data[n - 1] == '\n' || data[n - 1] == '\r'))
		data[--n] = '\0';
	p = strrchr(data, '\n');
	snprintf(out, len, "%s", p ? p + 1 : data);
	free(data);
}

/* Quit over QMP, else SIGTERM, else SIGKILL; always reaped. */
static void stop_vm(struct vm *v)
{
	uint64_t until;
	int i;

	if (v->pid <= 0)
		goto out;
	if (v->qmp_up)
		db_qmp_exec(&v->qmp, "quit", NULL, NULL, 2000);
	for (i = 0; i < 2 && v->pid > 0; i++) {
		until = db_now_ns() + 3000000000ull;
		while (db_now_ns() < until) {
			if (waitpid(v->pid, NULL, WNOHANG) == v->pid) {
				v->pid = 0;
				break;
			}
			db_sleep_ns(20000000);
		}
		if (v->pid > 0)
			kill(v->pid, i == 0 ? SIGTERM : SIGKILL);
	}
	if (v->pid > 0) {
		while (waitpid(v->pid, NULL, 0) < 0 && errno == EINTR)
			;
		v->pid = 0;
	}
out:
	if (v->qmp_up)
		db_qmp_close(&v->qmp);
	v->qmp_up = false;
}

/* ---- consoles: lines timestamped on the host clock -------------------- */

struct console {
	const char *name;
	int fd;
	FILE *log;
	char line[1024];
	size_t len;
	bool ready, error;
	char error_line[256], last[256];
	uint64_t ready_ns;
	uint64_t *tick_ns;	/* host time each DBK TICK arrived */
	size_t nticks, cap;
	uint64_t lateness_max_ns;	/* dirtyram --stats, guest clock */
	uint64_t stats_lines;
	bool count_lateness;	/* only during the migration and after */
};

struct consoles {
	struct console c[2];
	pthread_t thread;
	bool started;
	volatile int stop;
	pthread_mutex_t lock;
	uint64_t t0;
	struct db_re *re_tick, *re_ready, *re_stats, *re_error;
};

static void console_line(struct consoles *cs, struct console *c, uint64_t now)
{
	struct db_re_cap cap[3];
	const char *s = c->line;
	size_t n = c->len;

	while (n && c->line[n - 1] == '\r')
		n--;
	c->line[n] = '\0';
	if (c->log)
		fprintf(c->log, "%.6f %s\n", (double)(now - cs->t0) / 1e9, s);
	pthread_mutex_lock(&cs->lock);
	memcpy(c->last, s, DB_MIN(n, sizeof(c->last) - 1));
	c->last[DB_MIN(n, sizeof(c->last) - 1)] = '\0';
	if (db_re_match(cs->re_tick, s, n, 0, cap, 1) == 1) {
		if (!db_vec_reserve(&c->tick_ns, &c->cap, c->nticks, sizeof(uint64_t)))
			c->tick_ns[c->nticks++] = now;
	} else if (db_re_match(cs->re_stats, s, n, 0, cap, 2) == 1) {
		double ms = strtod(s + cap[1].so, NULL);

		c->stats_lines++;
		if (c->count_lateness && ms * 1e6 > (double)c->lateness_max_ns)
			c->lateness_max_ns = (uint64_t)(ms * 1e6);
	} else if (!c->ready && db_re_match(cs->re_ready, s, n, 0, cap, 1) == 1) {
		c->ready = true;
		c->ready_ns = now;
	} else if (db_re_match(cs->re_error, s, n, 0, cap, 3) == 1 && !c->error) {
		c->error = true;
		db_re_cap_str(s, cap, cap[1].so >= 0 ? 1 : 2, c->error_line, sizeof(c->error_line));
	}
	pthread_mutex_unlock(&cs->lock);
}

static void *console_thread(void *arg)
{
	struct consoles *cs = arg;

	while (!cs->stop) {
		struct pollfd p[2];
		int i, n = 0, map[2];

		for (i = 0; i < 2; i++)
			if (cs->c[i].fd >= 0) {
				p[n].fd = cs->c[i].fd;
				p[n].events = POLLIN;
				map[n++] = i;
			}
		if (!n)
			break;
		if (poll(p, (nfds_t)n, 50) <= 0)
			continue;
		for (i = 0; i < n; i++) {
			struct console *c = &cs->c[map[i]];
			char buf[4096];
			ssize_t r, k;
			uint64_t now;

			if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			r = read(c->fd, buf, sizeof(buf));
			now = db_now_ns();
			if (r <= 0) {
				close(c->fd);
				c->fd = -1;
				continue;
			}
			for (k = 0; k < r; k++) {
				if (buf[k] == '\n') {
					console_line(cs, c, now);
					c->len = 0;
				} else if (c->len + 1 < sizeof(c->line)) {
					c->line[c->len++] = buf[k];
				}
			}
		}
	}
	return NULL;
}

static int console_connect(struct console *c, const char *path, pid_t pid)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	uint64_t deadline = db_now_ns() + 10000000000ull;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	for (;;) {
		c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (c->fd < 0)
			return db_error_errno(-errno, "console %s: socket", c->name);
		if (!connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)))
			return 0;
		close(c->fd);
		c->fd = -1;
		if (waitpid(pid, NULL, WNOHANG) == pid || db_now_ns() > deadline)
			return db_error(-ECHILD, "console %s: cannot connect to %s",
					c->name, path);
		db_sleep_ns(20000000);
	}
}

static int consoles_init(struct consoles *cs, const char *dir)
{
	static const char *const names[2] = { "source", "destination" };
	char path[600];
	int i, err;

	memset(cs, 0, sizeof(*cs));
	pthread_mutex_init(&cs->lock, NULL);
	cs->t0 = db_now_ns();
	for (i = 0; i < 2; i++) {
		cs->c[i].name = names[i];
		cs->c[i].fd = -1;
		db_pathf(path, sizeof(path), "%s/console-%s.log", dir, i ? "dst" : "src");
		cs->c[i].log = fopen(path, "we");
		if (!cs->c[i].log)
			return db_error_errno(-errno, "console: cannot create %s", path);
		setvbuf(cs->c[i].log, NULL, _IOLBF, 0);
	}
	/* The guest's console contract: DBK lines and dirtyram's --stats. */
	err = db_re_compile(&cs->re_tick, "^DBK TICK [0-9]+$", 0, "guest console");
	if (!err)
		err = db_re_compile(&cs->re_ready, "^DBK READY", 0, "guest console");
	if (!err)
		err = db_re_compile(&cs->re_stats,
				    "achieved .* max lateness +([0-9]+(?:\\.[0-9]+)?) ms",
				    0, "guest console");
	if (!err)
		err = db_re_compile(&cs->re_error,
				    "^(?:DBK ERROR (.*)|(Kernel panic.*))$", 0, "guest console");
	return err;
}

static void consoles_free(struct consoles *cs)
{
	int i;

	cs->stop = 1;
	if (cs->started)
		pthread_join(cs->thread, NULL);
	for (i = 0; i < 2; i++) {
		if (cs->c[i].fd >= 0)
			close(cs->c[i].fd);
		if (cs->c[i].log)
			fclose(cs->c[i].log);
		free(cs->c[i].tick_ns);
	}
	db_re_free(cs->re_tick);
	db_re_free(cs->re_ready);
	db_re_free(cs->re_stats);
	db_re_free(cs->re_error);
	pthread_mutex_destroy(&cs->lock);
}

/* ---- the run ------------------------------------------------------------ */

struct run {
	const struct db_run_config *cfg;
	struct db_result *res;
	struct db_guest_files g;
	const char *self;	/* dirtybench: dirtyram-static lies beside it */
	char exe[512];
	char dir[600];		/* results and logs: --out, or a temporary one */
	bool dir_tmp;
	char shm[256];		/* sockets and RAM files */
	char initrd[700];
	bool kvm;
	const struct arch *arch;
	struct db_netns ns;	/* --link netns: the destination behind it */
	bool netns;
	struct vm src, dst;
	struct consoles cs;
	FILE *csv;		/* migrate.csv: every query-migrate sample */
	uint64_t t_start, wall_start;	/* the migrate command */
	bool forced;		/* a cap forced the switchover */
};

static int add(char **argv, size_t *n, size_t max, const char *s)
{
	if (*n + 1 >= max || !(argv[*n] = strdup(s)))
		return -ENOMEM;
	(*n)++;
	argv[*n] = NULL;
	return 0;
}

static void free_argv(char **argv)
{
	size_t i;

	for (i = 0; argv[i]; i++)
		free(argv[i]);
}

/* QEMU's -accel argument, which result.json keeps as vmm.accel. */
static void set_accel(struct run *r)
{
	static const char *const tcg[] = {
		[DB_VMM_TCG_AUTO] = "tcg",
		[DB_VMM_TCG_MULTI] = "tcg,thread=multi",
		[DB_VMM_TCG_SINGLE] = "tcg,thread=single",
	};
	int t = r->cfg->vmm_tcg_threads;

	snprintf(r->res->vmm.accel, sizeof(r->res->vmm.accel), "%s",
		 r->kvm ? "kvm" : tcg[t >= 0 && t <= DB_VMM_TCG_SINGLE ? t : 0]);
}

static int start_vm(struct run *r, struct vm *v, bool incoming)
{
	const struct db_run_config *cfg = r->cfg;
	char *argv[64] = { NULL }, buf[1200], why[300];
	size_t n = 0;
	int err = 0;
	unsigned long long mib = (unsigned long long)(cfg->ram_bytes >> 20);
	static const char *const fixed[] = {
		"-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
		"-S",		/* the source runs at cont, once the consoles listen */
	};
	size_t i;

#define A(s) do { if (!err) err = add(argv, &n, DB_ARRAY_SIZE(argv), (s)); } while (0)
	A(r->exe);
	for (i = 0; i < DB_ARRAY_SIZE(fixed); i++)
		A(fixed[i]);
	A("-accel");
	A(r->res->vmm.accel);
	A("-cpu");
	A(r->kvm ? "host" : r->arch->tcg_cpu);
	A("-smp");
	A("2");
	snprintf(buf, sizeof(buf), "%lluM", mib);
	A("-m");
	A(buf);
	snprintf(buf, sizeof(buf), "memory-backend-file,id=ram0,size=%lluM,mem-path=%s,share=on",
		 mib, v->ram_path);
	A("-object");
	A(buf);
	A("-machine");
	snprintf(buf, sizeof(buf), "%s,memory-backend=ram0%s", r->arch->machine,
		 r->kvm ? r->arch->kvm_machine_opts : "");
	A(buf);
	A("-kernel");
	A(r->g.kernel);
	A("-initrd");
	A(r->initrd);
	A("-append");
	snprintf(buf, sizeof(buf), "console=%s panic=-1 quiet loglevel=1 rdinit=/init",
		 r->arch->console);
	A(buf);
	snprintf(buf, sizeof(buf), "socket,id=con0,path=%s,server=on,wait=off", v->con_path);
	A("-chardev");
	A(buf);
	A("-serial");
	A("chardev:con0");
	snprintf(buf, sizeof(buf), "unix:%s,server=on,wait=off", v->qmp_path);
	A("-qmp");
	A(buf);
	if (incoming) {
		A("-incoming");
		A("defer");
	}
#undef A
	if (err) {
		free_argv(argv);
		return db_error(-ENOMEM, "QEMU %s: command line", v->name);
	}
	{	/* the command line, for a person to rerun it */
		FILE *f;

		snprintf(buf, sizeof(buf), "%s/qemu-%s.cmd", r->dir, incoming ? "dst" : "src");
		f = fopen(buf, "we");
		if (f) {
			if (v->netns[0])
				fprintf(f, "ip netns exec '%s' ", r->ns.ns);
			for (i = 0; argv[i]; i++)
				fprintf(f, "%s'%s'", i ? " " : "", argv[i]);
			fputc('\n', f);
			fclose(f);
		}
	}
	err = spawn(v, argv);
	free_argv(argv);
	if (err)
		return err;
	err = db_qmp_connect(&v->qmp, v->name, v->qmp_path, v->pid, 30000);
	if (err) {
		char msg[512];

		snprintf(msg, sizeof(msg), "%s", db_strerror());
		log_tail(v, why, sizeof(why));
		return db_error(-ENOENT, "%s%s%s (QEMU log %s)", msg, why[0] ? ": " : "",
				why, v->log_path);
	}
	v->qmp_up = true;
	return 0;
}

/* A number member of a JSON object, 0 when absent. */
static uint64_t ju(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	if (json_is_integer(v))
		return (uint64_t)DB_MAX(json_integer_value(v), 0);
	if (json_is_real(v))
		return (uint64_t)DB_MAX(json_real_value(v), 0);
	return 0;
}

static double jd(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_number(v) ? json_number_value(v) : 0;
}

static bool has_capability(struct vm *v, const char *cap)
{
	json_t *caps = NULL, *e;
	size_t i;
	bool found = false;

	if (db_qmp_exec(&v->qmp, "query-migrate-capabilities", NULL, &caps, QMP_MS))
		return false;
	json_array_foreach(caps, i, e)
		if (!strcmp(json_string_value(json_object_get(e, "capability")) ?: "", cap))
			found = true;
	json_decref(caps);
	return found;
}

static int set_params(struct vm *v, json_t *p)
{
	return db_qmp_exec(&v->qmp, "migrate-set-parameters", p, NULL, QMP_MS);
}

/* Capabilities and parameters on the source (and events on both). */
static int setup_migration(struct run *r)
{
	const struct db_run_config *cfg = r->cfg;
	struct db_vmm_result *vr = &r->res->vmm;
	json_t *caps;
	uint64_t bw = cfg->bandwidth ? cfg->bandwidth : 100000000000ull;
	int err, i;

	for (i = 0; i < 2; i++) {
		struct vm *v = i ? &r->dst : &r->src;

		caps = json_pack("{s:[{s:s,s:b}]}", "capabilities", "capability",
				 "events", "state", 1);
		err = db_qmp_exec(&v->qmp, "migrate-set-capabilities", caps, NULL, QMP_MS);
		if (err)
			return err;
	}
	/* With --link netns the tbf on the link is the limit, not QEMU. */
	err = set_params(&r->src, json_pack("{s:I,s:I}", "downtime-limit",
					    (json_int_t)cfg->downtime_limit_ms, "max-bandwidth",
					    (json_int_t)(r->netns ? 100000000000ull : bw)));
	if (err)
		return err;
	if (cfg->dirty_limit_mode == DB_DIRTY_LIMIT_OFF) {
		snprintf(vr->dirty_limit, sizeof(vr->dirty_limit), "off");
		return 0;
	}
	if (!has_capability(&r->src, "dirty-limit")) {
		snprintf(vr->dirty_limit, sizeof(vr->dirty_limit),
			 "not in QEMU %s (no dirty-limit migration capability): unthrottled",
			 vr->version);
		if (cfg->dirty_limit_mode == DB_DIRTY_LIMIT_RATE)
			return db_error(-ENOTSUP, "option --dirty-limit %s: %s",
					cfg->dirty_limit, vr->dirty_limit);
		return 0;
	}
	{
		uint64_t cap = cfg->dirty_limit_mode == DB_DIRTY_LIMIT_RATE ?
			       cfg->dirty_limit_pps * DB_PAGE_SIZE : bw / 2;
		uint64_t mbps = DB_MAX(cap / 1000000, 1);	/* QEMU: MB/s per vCPU */

		err = set_params(&r->src, json_pack("{s:I}", "vcpu-dirty-limit",
						    (json_int_t)mbps));
		if (!err) {
			caps = json_pack("{s:[{s:s,s:b}]}", "capabilities", "capability",
					 "dirty-limit", "state", 1);
			err = db_qmp_exec(&r->src.qmp, "migrate-set-capabilities", caps,
					  NULL, QMP_MS);
		}
		if (err) {
			snprintf(vr->dirty_limit, sizeof(vr->dirty_limit),
				 "not available here (%s): unthrottled", db_strerror());
			if (cfg->dirty_limit_mode == DB_DIRTY_LIMIT_RATE)
				return db_error(-ENOTSUP, "option --dirty-limit %s: %s",
						cfg->dirty_limit, vr->dirty_limit);
			db_clear_error();
			return 0;
		}
		snprintf(vr->dirty_limit, sizeof(vr->dirty_limit),
			 "on: %llu MB/s per vCPU once pre-copy does not converge",
			 (unsigned long long)mbps);
	}
	return 0;
}

static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t l = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port = -1;

	if (fd < 0)
		return -errno;
	if (!bind(fd, (struct sockaddr *)&a, sizeof(a)) &&
	    !getsockname(fd, (struct sockaddr *)&a, &l))
		port = ntohs(a.sin_port);
	close(fd);
	return port > 0 ? port : -EADDRNOTAVAIL;
}

/*
 * The destination listens on 127.0.0.1, or on its end of the netns link;
 * a port taken meanwhile is retried.
 */
static int listen_incoming(struct run *r, char *uri, size_t len)
{
	int i, port, err = -EADDRINUSE;

	for (i = 0; i < 5 && err; i++) {
		port = free_port();
		if (port < 0)
			return db_error_errno(port, "no free TCP port on 127.0.0.1");
		snprintf(uri, len, "tcp:%s:%d", r->netns ? r->ns.addr_ns : "127.0.0.1", port);
		err = db_qmp_exec(&r->dst.qmp, "migrate-incoming",
				  json_pack("{s:s}", "uri", uri), NULL, QMP_MS);
	}
	return err;
}

static const char *status_of(json_t *m)
{
	return json_string_value(json_object_get(m, "status")) ?: "";
}

struct sample {
	uint64_t t_ns, sync, transferred, remaining, normal, duplicate;
	double rate_pps;
};

static void round_from(struct db_result *res, const struct sample *a,
		       const struct sample *b, uint32_t idx, bool final)
{
	struct db_round *rd = db_result_add_round(res);

	if (!rd)
		return;
	rd->round = idx;
	rd->final = final;
	rd->start_at_ns = a->t_ns;
	rd->dirty_pages = idx == 0 ? res->cfg.ram_bytes / DB_PAGE_SIZE :
				     a->remaining / DB_PAGE_SIZE;
	rd->sent_pages = (b->normal - a->normal) + (b->duplicate - a->duplicate);
	rd->zero_pages = b->duplicate - a->duplicate;
	rd->bytes = b->transferred - a->transferred;
	rd->duration_ns = b->t_ns - a->t_ns;
	rd->send_ns = rd->duration_ns;
	rd->remaining_pages = b->remaining / DB_PAGE_SIZE;
	rd->dirty_rate_pps = a->rate_pps;
	rd->bandwidth_bps = rd->duration_ns ? rd->bytes * 8e9 / (double)rd->duration_ns : 0;
}

/*
 * migrate, then query-migrate every sample_ms until completed, failed or
 * cancelled; caps force the switchover (downtime-limit at QEMU's maximum)
 * or cancel. Fills the rounds: a round is one value of dirty-sync-count,
 * its figures the differences between the first samples of two values
 * (a pass shorter than a sample is merged into the next one).
 */
static int migrate(struct run *r, const char *uri)
{
	const struct db_run_config *cfg = r->cfg;
	struct db_result *res = r->res;
	uint64_t every = (cfg->sample_ms ? cfg->sample_ms : 100) * 1000000ull;
	uint64_t forced_at = 0;
	struct sample start = { 0 }, cur = { 0 };
	uint32_t idx = 0;
	bool have_start = false;
	json_t *m = NULL, *ram;
	const char *st;
	int err;

	r->t_start = db_now_ns();
	r->wall_start = db_wall_ns();
	res->start_mono_ns = r->t_start;
	r->cs.c[0].count_lateness = r->cs.c[1].count_lateness = true;
	err = db_qmp_exec(&r->src.qmp, "migrate", json_pack("{s:s}", "uri", uri),
			  NULL, QMP_MS);
	if (err)
		return err;
	for (;;) {
		uint64_t now, el;

		db_qmp_poll_events(&r->src.qmp, every / 1000000);
		err = db_qmp_exec(&r->src.qmp, "query-migrate", NULL, &m, QMP_MS);
		if (err)
			return err;
		now = db_now_ns();
		el = now - r->t_start;
		st = status_of(m);
		ram = json_object_get(m, "ram");
		cur.t_ns = el;
		if (ram) {
			cur.sync = ju(ram, "dirty-sync-count");
			cur.transferred = ju(ram, "transferred");
			cur.remaining = ju(ram, "remaining");
			cur.normal = ju(ram, "normal");
			cur.duplicate = ju(ram, "duplicate");
			cur.rate_pps = jd(ram, "dirty-pages-rate");
		}
		if (r->csv)
			fprintf(r->csv, "%llu,%s,%llu,%llu,%llu,%.0f,%llu,%llu,%llu\n",
				(unsigned long long)el, st,
				(unsigned long long)cur.sync,
				(unsigned long long)cur.transferred,
				(unsigned long long)cur.remaining, cur.rate_pps,
				(unsigned long long)ju(ram, "normal"),
				(unsigned long long)ju(ram, "duplicate"),
				(unsigned long long)ju(m, "expected-downtime"));
		if (ram && !have_start && cur.sync) {
			start = cur;
			start.transferred = start.normal = start.duplicate = 0;
			start.t_ns = 0;
			have_start = true;
		} else if (ram && have_start && cur.sync > start.sync &&
			   strcmp(st, "completed")) {
			round_from(res, &start, &cur, idx++, false);
			start = cur;
		}
		if (ram) {	/* so far: a cancelled run keeps what it did */
			res->vmm.passes = cur.sync;
			res->rounds = (uint32_t)cur.sync;
			res->bytes_total = cur.transferred;
			res->pages_sent = cur.normal + cur.duplicate;
			res->zero_pages = cur.duplicate;
			res->bandwidth_measured_bps = jd(ram, "mbps") * 1e6;
			res->vmm.qemu_total_time_ns = ju(m, "total-time") * 1000000;
			res->vmm.qemu_setup_time_ns = ju(m, "setup-time") * 1000000;
		}
		if (!strcmp(st, "completed")) {
			res->vmm.qemu_downtime_ns = ju(m, "downtime") * 1000000;
			if (have_start)
				round_from(res, &start, &cur, idx++, true);
			/* QEMU's passes; rounds.csv has the sampled rows. */
			res->rounds = (uint32_t)cur.sync;
			json_decref(m);
			return 0;
		}
		if (!strcmp(st, "failed") || !strcmp(st, "cancelled")) {
			const char *why = json_string_value(json_object_get(m, "error-desc"));

			res->outcome = strcmp(st, "failed") ? DB_OUTCOME_CANCELLED :
							      DB_OUTCOME_ABORTED;
			snprintf(res->error, sizeof(res->error), "QEMU migration %s%s%s",
				 st, why ? ": " : "", why ? why : "");
			res->aborted_at_ns = el;
			if (have_start) {
				round_from(res, &start, &cur, idx, false);
				if (res->nr)
					res->r[res->nr - 1].aborted = true;
			}
			json_decref(m);
			return 0;
		}
		res->vmm.qemu_expected_downtime_ns = ju(m, "expected-downtime") * 1000000;
		json_decref(m);
		m = NULL;
		if (db_interrupted) {
			db_qmp_exec(&r->src.qmp, "migrate_cancel", NULL, NULL, QMP_MS);
			snprintf(res->stop_reason, sizeof(res->stop_reason), "signal-cancel");
			continue;	/* until QEMU says cancelled */
		}
		if (!forced_at && (el >= cfg->max_time_ms * 1000000ull ||
				   cur.sync > cfg->max_rounds)) {
			const char *why = el >= cfg->max_time_ms * 1000000ull ? "time" :
									       "max-rounds";

			forced_at = el;
			r->forced = true;
			if (cfg->on_timeout == DB_ON_TIMEOUT_CANCEL) {
				snprintf(res->stop_reason, sizeof(res->stop_reason), "%s-cancel", why);
				err = db_qmp_exec(&r->src.qmp, "migrate_cancel", NULL, NULL, QMP_MS);
			} else {
				snprintf(res->stop_reason, sizeof(res->stop_reason), "%s-force", why);
				err = set_params(&r->src, json_pack("{s:I}", "downtime-limit",
								    (json_int_t)FORCE_DOWNTIME_MS));
			}
			if (err)
				return err;
		} else if (forced_at && el - forced_at > 120000000000ull) {
			/* Even the largest limit never met: give up. */
			db_qmp_exec(&r->src.qmp, "migrate_cancel", NULL, NULL, QMP_MS);
			snprintf(res->stop_reason, sizeof(res->stop_reason), "force-cancel");
			forced_at = el;
		}
	}
}

/* Wait for a QEMU to report status 'want' of query-migrate or query-status. */
static int wait_status(struct vm *v, const char *cmd, const char *want,
		       uint64_t timeout_ms, uint64_t *at_ns)
{
	uint64_t deadline = db_now_ns() + timeout_ms * 1000000;
	json_t *m;
	char last[64] = "";
	int err;

	for (;;) {
		err = db_qmp_exec(&v->qmp, cmd, NULL, &m, QMP_MS);
		if (err)
			return err;
		snprintf(last, sizeof(last), "%s", status_of(m));
		json_decref(m);
		if (!strcmp(last, want)) {
			if (at_ns)
				*at_ns = db_now_ns();
			return 0;
		}
		if (!strcmp(last, "failed"))
			return db_error(-EIO, "QEMU %s: incoming migration failed (log %s)",
					v->name, v->log_path);
		if (db_now_ns() > deadline)
			return db_error(-ETIMEDOUT, "QEMU %s: %s is '%s', not '%s', after %llu ms",
					v->name, cmd, last, want,
					(unsigned long long)timeout_ms);
		db_sleep_ns(10000000);
	}
}

/* The test hook: one byte changed in each of n pages of the destination. */
static int corrupt_dest(struct run *r, unsigned n)
{
	uint64_t pages = r->cfg->ram_bytes / DB_PAGE_SIZE;
	int fd = open(r->dst.ram_path, O_RDWR | O_CLOEXEC);
	unsigned i;

	if (fd < 0)
		return db_error_errno(-errno, "--vmm-fault: cannot open %s", r->dst.ram_path);
	for (i = 0; i < n; i++) {
		off_t off = (off_t)((i + 1) * (pages / (n + 1)) * DB_PAGE_SIZE + 100);
		unsigned char b;

		if (pread(fd, &b, 1, off) != 1)
			break;
		b = (unsigned char)~b;
		if (pwrite(fd, &b, 1, off) != 1)
			break;
	}
	close(fd);
	if (i < n)
		return db_error(-EIO, "--vmm-fault: cannot write %s", r->dst.ram_path);
	snprintf(r->res->vmm.fault, sizeof(r->res->vmm.fault), "corrupt-dest:%u", n);
	return 0;
}

/*
 * The evidence of a failed comparison, for a person to read: ram-diff.txt
 * names each of the first differing pages by guest-physical address with
 * the byte ranges that differ, and ram-diff-src.bin / ram-diff-dst.bin hold
 * those pages as each side has them, in the same order.
 */
#define DIFF_PAGES_KEPT 64

static void keep_diff(struct run *r, const uint8_t *a, const uint8_t *b, size_t np)
{
	char path[700];
	FILE *t, *fs, *fd;
	size_t p, kept = 0;

	db_pathf(path, sizeof(path), "%s/ram-diff.txt", r->dir);
	t = fopen(path, "we");
	db_pathf(path, sizeof(path), "%s/ram-diff-src.bin", r->dir);
	fs = fopen(path, "we");
	db_pathf(path, sizeof(path), "%s/ram-diff-dst.bin", r->dir);
	fd = fopen(path, "we");
	if (!t || !fs || !fd)
		goto out;
	fprintf(t, "# guest-physical address, differing bytes, ranges (offset:length)\n");
	for (p = 0; p < np && kept < DIFF_PAGES_KEPT; p++) {
		const uint8_t *pa = a + p * DB_PAGE_SIZE, *pb = b + p * DB_PAGE_SIZE;
		size_t i, ndiff = 0, ranges = 0;

		if (!memcmp(pa, pb, DB_PAGE_SIZE))
			continue;
		for (i = 0; i < DB_PAGE_SIZE; i++)
			ndiff += pa[i] != pb[i];
		fprintf(t, "0x%llx %zu", (unsigned long long)(r->arch->ram_base + (uint64_t)p * DB_PAGE_SIZE), ndiff);
		for (i = 0; i < DB_PAGE_SIZE && ranges < 8; i++) {
			size_t j = i;

			if (pa[i] == pb[i])
				continue;
			while (j < DB_PAGE_SIZE && pa[j] != pb[j])
				j++;
			fprintf(t, " %zu:%zu", i, j - i);
			ranges++;
			i = j;
		}
		fputc('\n', t);
		fwrite(pa, 1, DB_PAGE_SIZE, fs);
		fwrite(pb, 1, DB_PAGE_SIZE, fd);
		kept++;
	}
out:
	if (t)
		fclose(t);
	if (fs)
		fclose(fs);
	if (fd)
		fclose(fd);
}
/* Both RAM files, whole-RAM xxh3-128 and the differing pages. */
static int compare_ram(struct run *r, uint64_t *data_pages)
{
	struct db_result *res = r->res;
	size_t len = r->cfg->ram_bytes, p, np = len / DB_PAGE_SIZE;
	static const uint8_t zero[DB_PAGE_SIZE];
	uint8_t *a = MAP_FAILED, *b = MAP_FAILED;
	int fa, fb, err = 0;

	fa = open(r->src.ram_path, O_RDONLY | O_CLOEXEC);
	fb = open(r->dst.ram_path, O_RDONLY | O_CLOEXEC);
	if (fa < 0 || fb < 0) {
		err = db_error_errno(-errno, "RAM comparison: cannot open the RAM files");
		goto out;
	}
	a = mmap(NULL, len, PROT_READ, MAP_SHARED, fa, 0);
	b = mmap(NULL, len, PROT_READ, MAP_SHARED, fb, 0);
	if (a == MAP_FAILED || b == MAP_FAILED) {
		err = db_error_errno(-errno, "RAM comparison: cannot map %zu bytes", len);
		goto out;
	}
	res->sum_src = db_hash128(a, len);
	res->sum_dst = db_hash128(b, len);
	res->have_src_sum = res->have_dst_sum = true;
	*data_pages = 0;
	for (p = 0; p < np; p++) {
		const uint8_t *pa = a + p * DB_PAGE_SIZE;

		if (memcmp(pa, zero, DB_PAGE_SIZE))
			(*data_pages)++;
		if (memcmp(pa, b + p * DB_PAGE_SIZE, DB_PAGE_SIZE)) {
			if (res->nfirst < DB_PROTO_FIRST_MAX)
				res->first[res->nfirst++] = p;
			res->mismatched_pages++;
		}
	}
	res->verified = true;
	res->ram_equal = !res->mismatched_pages &&
			 !memcmp(&res->sum_src, &res->sum_dst, sizeof(res->sum_src));
	if (!res->ram_equal)
		keep_diff(r, a, b, np);
out:
	if (a != MAP_FAILED)
		munmap(a, len);
	if (b != MAP_FAILED)
		munmap(b, len);
	if (fa >= 0)
		close(fa);
	if (fb >= 0)
		close(fb);
	return err;
}

/* Ticks: the host-clock stall across the switchover, the source's gaps. */
static void guest_view(struct run *r, uint64_t t_stop)
{
	struct db_vmm_result *vr = &r->res->vmm;
	struct console *s = &r->cs.c[0], *d = &r->cs.c[1];
	uint64_t last_src = 0;
	size_t i;

	pthread_mutex_lock(&r->cs.lock);
	vr->tick_interval_ns = DB_GUEST_TICK_MS * 1000000ull;
	vr->ticks_src = s->nticks;
	vr->ticks_dst = d->nticks;
	for (i = 0; i < s->nticks; i++) {
		if (s->tick_ns[i] < r->t_start)
			continue;
		if (i && s->tick_ns[i - 1] >= r->t_start &&
		    s->tick_ns[i] - s->tick_ns[i - 1] > vr->src_max_gap_ns)
			vr->src_max_gap_ns = s->tick_ns[i] - s->tick_ns[i - 1];
		last_src = s->tick_ns[i];
	}
	if (last_src && d->nticks && d->tick_ns[0] > last_src) {
		vr->switch_gap_ns = d->tick_ns[0] - last_src;
		r->res->guest_stall_ns = vr->switch_gap_ns > vr->hold_ns ?
					 vr->switch_gap_ns - vr->hold_ns : 0;
	}
	vr->lateness_guest_ns = DB_MAX(s->lateness_max_ns, d->lateness_max_ns);
	vr->stats_lines = s->stats_lines + d->stats_lines;
	r->res->guest_lateness_ns = vr->lateness_guest_ns;
	pthread_mutex_unlock(&r->cs.lock);
	(void)t_stop;
}

static void model(struct run *r, uint64_t data_pages)
{
	struct db_result *res = r->res;
	struct db_model_in in;
	double bw = r->cfg->bandwidth ? (double)r->cfg->bandwidth :
					res->bandwidth_measured_bps / 8;

	if (bw <= 0)
		return;
	db_model_from_config(r->cfg, bw, &in);
	in.data_pages = data_pages;
	db_model_predict(&in, &res->model);
	res->model_bandwidth = bw;
	res->have_model = true;
}

static int wait_ready(struct run *r, uint64_t timeout_ms)
{
	uint64_t t0 = db_now_ns(), deadline = t0 + timeout_ms * 1000000;
	struct console *c = &r->cs.c[0];

	for (;;) {
		bool ready, error;
		char line[256], last[256];

		pthread_mutex_lock(&r->cs.lock);
		ready = c->ready;
		error = c->error;
		snprintf(line, sizeof(line), "%s", c->error_line);
		snprintf(last, sizeof(last), "%s", c->last);
		pthread_mutex_unlock(&r->cs.lock);
		if (error)
			return db_error(-EIO, "guest on the source: %s (console %s/console-src.log)",
					line, r->dir);
		if (ready) {
			r->res->vmm.boot_ns = c->ready_ns - t0;
			return 0;
		}
		if (waitpid(r->src.pid, NULL, WNOHANG) == r->src.pid) {
			r->src.pid = 0;
			return db_error(-EIO, "QEMU source exited while the guest booted "
					"(log %s)", r->src.log_path);
		}
		if (db_interrupted)
			return db_error(-EINTR, "interrupted while the guest booted");
		if (db_now_ns() > deadline)
			return db_error(-ETIMEDOUT, "the guest did not start its dirtyram "
					"copies within %llu s (last console line '%s', %s/console-src.log)",
					(unsigned long long)(timeout_ms / 1000),
					last, r->dir);
		db_sleep_ns(50000000);
	}
}

static int prepare(struct run *r)
{
	const struct db_run_config *cfg = r->cfg;
	struct db_vmm_result *vr = &r->res->vmm;
	char bin[512], why[256];
	const char *shm = access("/dev/shm", W_OK) ? NULL : "/dev/shm";
	bool kvm_ok;
	int err;

	err = vmm_binary(cfg, bin, sizeof(bin), &r->arch);
	if (!err)
		err = find_exe(bin, r->arch, r->exe, sizeof(r->exe));
	if (!err)
		err = db_guest_find(cfg, r->arch->id, r->self, &r->g);
	if (err)
		return err;
	if (cfg->out[0]) {
		snprintf(r->dir, sizeof(r->dir), "%s", cfg->out);
		err = db_mkdir_p(r->dir);
	} else {
		err = db_mkdtemp(r->dir, sizeof(r->dir), "qemu");
		r->dir_tmp = !err;
	}
	if (err)
		return err;
	snprintf(r->shm, sizeof(r->shm), "%s/dirtybench-qemu.XXXXXX", shm ? shm : "/tmp");
	if (!mkdtemp(r->shm)) {
		r->shm[0] = '\0';
		return db_error_errno(-errno, "cannot create a directory for the guest RAM files");
	}
	r->src.name = "source";
	r->dst.name = "destination";
	db_pathf(r->src.qmp_path, sizeof(r->src.qmp_path), "%s/src.qmp", r->shm);
	db_pathf(r->dst.qmp_path, sizeof(r->dst.qmp_path), "%s/dst.qmp", r->shm);
	db_pathf(r->src.con_path, sizeof(r->src.con_path), "%s/src.con", r->shm);
	db_pathf(r->dst.con_path, sizeof(r->dst.con_path), "%s/dst.con", r->shm);
	db_pathf(r->src.ram_path, sizeof(r->src.ram_path), "%s/src.ram", r->shm);
	db_pathf(r->dst.ram_path, sizeof(r->dst.ram_path), "%s/dst.ram", r->shm);
	db_pathf(r->src.log_path, sizeof(r->src.log_path), "%s/qemu-src.log", r->dir);
	db_pathf(r->dst.log_path, sizeof(r->dst.log_path), "%s/qemu-dst.log", r->dir);
	db_pathf(r->initrd, sizeof(r->initrd), "%s/initramfs.cpio", r->dir);
	kvm_ok = cfg->vmm_accel != DB_VMM_ACCEL_TCG && kvm_can_run(r->arch, why, sizeof(why));
	if (cfg->vmm_accel == DB_VMM_ACCEL_KVM && !kvm_ok)
		return db_error(-ENOENT, "--vmm-accel kvm: %s (use auto or tcg)", why);
	r->kvm = kvm_ok;
	if (cfg->vmm_accel == DB_VMM_ACCEL_AUTO && !kvm_ok)
		snprintf(vr->accel_note, sizeof(vr->accel_note), "%s", why);
	vr->on = true;
	snprintf(vr->kind, sizeof(vr->kind), "qemu");
	snprintf(vr->binary, sizeof(vr->binary), "%s", r->exe);
	snprintf(vr->arch, sizeof(vr->arch), "%s", r->arch->name);
	snprintf(vr->machine, sizeof(vr->machine), "%s", r->arch->machine);
	vr->ram_base_gpa = r->arch->ram_base;
	set_accel(r);
	snprintf(vr->kernel, sizeof(vr->kernel), "%.200s", r->g.kernel);
	snprintf(vr->ram_read, sizeof(vr->ram_read), "memory-backend-file");
	err = db_guest_initramfs(cfg, &r->g, r->initrd);
	if (err || cfg->link != DB_LINK_NETNS)
		return err;
	/* The destination QEMU in a namespace of its own, behind the tbf. */
	err = db_netns_setup(&r->ns, (unsigned long)getpid(), cfg->bandwidth);
	if (err)
		return err;
	r->netns = true;
	snprintf(r->dst.netns, sizeof(r->dst.netns), "/run/netns/%s", r->ns.ns);
	snprintf(vr->link_dev, sizeof(vr->link_dev), "%s", r->ns.veth_host);
	return 0;
}

/* What the host end of the link sent: the migration stream and acks. */
static void link_bytes(struct run *r)
{
	char path[128], *s;
	size_t n;

	if (!r->netns)
		return;
	snprintf(path, sizeof(path), "/sys/class/net/%s/statistics/tx_bytes", r->ns.veth_host);
	if (db_slurp(path, 64, &s, &n))
		return;
	r->res->vmm.link_tx_bytes = strtoull(s, NULL, 10);
	free(s);
}

/* After completion: both stopped, RAM compared, then the destination runs. */
static int finish(struct run *r)
{
	const struct db_run_config *cfg = r->cfg;
	struct db_result *res = r->res;
	const struct db_qmp_event *stop, *resume, *loaded;
	uint64_t t_loaded = 0, t_cont, wall_cont, data_pages = 0, deadline;
	int err;

	err = wait_status(&r->src, "query-status", "postmigrate", 30000, NULL);
	if (!err)
		err = wait_status(&r->dst, "query-migrate", "completed", 60000, &t_loaded);
	if (!err)
		err = wait_status(&r->dst, "query-status", "paused", 10000, NULL);
	if (err)
		return err;
	if (cfg->vmm_fault[0]) {
		unsigned n = cfg->vmm_fault[12] == ':' ? (unsigned)atoi(cfg->vmm_fault + 13) : 3;

		err = corrupt_dest(r, n);
		if (err)
			return err;
	}
	err = compare_ram(r, &data_pages);
	if (err)
		return err;
	model(r, data_pages);
	res->paused_at_ns = 0;
	stop = db_qmp_event_since(&r->src.qmp, "STOP", r->t_start);
	if (stop)
		res->paused_at_ns = stop->qemu_wall_ns - r->wall_start;
	if (!res->ram_equal) {
		res->outcome = DB_OUTCOME_VALIDATION_FAILED;
		if (r->dir_tmp)
			snprintf(res->error, sizeof(res->error),
				 "RAM differs after migration: %llu pages (the destination was "
				 "not resumed; rerun with --out to keep the differing pages)",
				 (unsigned long long)res->mismatched_pages);
		else
			snprintf(res->error, sizeof(res->error),
				 "RAM differs after migration: %llu pages (the destination was "
				 "not resumed; the pages are in %.300s/ram-diff.txt)",
				 (unsigned long long)res->mismatched_pages, r->dir);
		guest_view(r, 0);
		return 0;
	}
	db_qmp_poll_events(&r->dst.qmp, 0);
	loaded = db_qmp_event_since(&r->dst.qmp, "MIGRATION:completed", r->t_start);
	t_cont = db_now_ns();
	wall_cont = db_wall_ns();
	err = db_qmp_exec(&r->dst.qmp, "cont", NULL, NULL, QMP_MS);
	if (err)
		return err;
	/*
	 * The hold: from the destination's own "completed" (its event's
	 * timestamp) to cont; without the event, from when it was seen.
	 */
	res->vmm.hold_ns = loaded && wall_cont > loaded->qemu_wall_ns ?
			   wall_cont - loaded->qemu_wall_ns : t_cont - t_loaded;
	res->verify_ns = res->vmm.hold_ns;
	res->resumed = true;
	/* The guest's first tick on the destination, then its tail. */
	deadline = db_now_ns() + DB_MAX(cfg->dest_tail_ms, 5000) * 1000000ull;
	while (db_now_ns() < deadline) {
		size_t n;

		pthread_mutex_lock(&r->cs.lock);
		n = r->cs.c[1].nticks;
		pthread_mutex_unlock(&r->cs.lock);
		if (n)
			break;
		db_sleep_ns(10000000);
	}
	db_sleep_ns(cfg->dest_tail_ms * 1000000ull);
	db_qmp_poll_events(&r->dst.qmp, 0);
	resume = db_qmp_event_since(&r->dst.qmp, "RESUME", t_cont);
	if (stop && resume && resume->qemu_wall_ns > stop->qemu_wall_ns) {
		res->resumed_at_ns = resume->qemu_wall_ns - r->wall_start;
		res->downtime_incl_verify_ns = resume->qemu_wall_ns - stop->qemu_wall_ns;
		res->downtime_ns = res->downtime_incl_verify_ns > res->vmm.hold_ns ?
				   res->downtime_incl_verify_ns - res->vmm.hold_ns : 0;
	}
	res->total_time_ns = res->resumed_at_ns;
	guest_view(r, 0);
	if (!r->cs.c[1].nticks)
		snprintf(res->stall_note, sizeof(res->stall_note),
			 "the guest printed nothing on the destination within %llu ms of cont",
			 (unsigned long long)DB_MAX(cfg->dest_tail_ms, 5000));
	return 0;
}

/*
 * One boot and migration with the given accelerator. *boot_failed says a
 * failure came before the guest was ready (a KVM that cannot run this
 * guest: auto then tries TCG).
 */
static int attempt(struct run *r, uint64_t boot_timeout_ms, bool *boot_failed)
{
	const struct db_run_config *cfg = r->cfg;
	struct db_result *res = r->res;
	char uri[64], path[700];
	int err;

	*boot_failed = true;
	r->forced = false;
	r->src.pid = r->dst.pid = 0;
	r->src.qmp_up = r->dst.qmp_up = false;
	unlink(r->src.ram_path);
	unlink(r->dst.ram_path);
	set_accel(r);
	err = consoles_init(&r->cs, r->dir);
	if (err)
		return err;
	db_pathf(path, sizeof(path), "%s/migrate.csv", r->dir);
	r->csv = fopen(path, "we");
	if (r->csv)
		fprintf(r->csv, "t_ns,status,dirty_sync_count,transferred_bytes,remaining_bytes,"
			"dirty_pages_rate_pps,normal_pages,zero_pages,expected_downtime_ms\n");
	err = start_vm(r, &r->dst, true);
	if (!err)
		err = start_vm(r, &r->src, false);
	if (!err)
		err = console_connect(&r->cs.c[1], r->dst.con_path, r->dst.pid);
	if (!err)
		err = console_connect(&r->cs.c[0], r->src.con_path, r->src.pid);
	if (err)
		return err;
	snprintf(res->vmm.version, sizeof(res->vmm.version), "%d.%d.%d",
		 r->src.qmp.version[0], r->src.qmp.version[1], r->src.qmp.version[2]);
	/* The tracker column of reports: which QEMU it was. */
	snprintf(res->cfg.tracker, sizeof(res->cfg.tracker), "qemu-%s", res->vmm.version);
	if (pthread_create(&r->cs.thread, NULL, console_thread, &r->cs))
		return db_error(-EAGAIN, "cannot start the console reader");
	r->cs.started = true;
	err = db_qmp_exec(&r->src.qmp, "cont", NULL, NULL, QMP_MS);
	if (!err)
		err = wait_ready(r, boot_timeout_ms);
	if (err)
		return err;
	*boot_failed = false;
	err = setup_migration(r);
	if (!err)
		err = listen_incoming(r, uri, sizeof(uri));
	if (err)
		return err;
	if (!cfg->quiet)
		fprintf(stderr, "qemu %s (%s): guest ready after %.1f s, migrating to %s\n",
			res->vmm.version, res->vmm.accel, (double)res->vmm.boot_ns / 1e9, uri);
	res->outcome = DB_OUTCOME_COMPLETED;
	res->stop_reason[0] = '\0';
	err = migrate(r, uri);
	if (err) {
		/* A QMP failure mid-migration: the guest stays on the source. */
		snprintf(res->error, sizeof(res->error), "%s", db_strerror());
		if (r->src.qmp_up)
			db_qmp_exec(&r->src.qmp, "migrate_cancel", NULL, NULL, 2000);
		res->outcome = DB_OUTCOME_ABORTED;
		snprintf(res->stop_reason, sizeof(res->stop_reason), "aborted");
		res->guest_running_on_source = true;
		return 0;
	}
	if (res->outcome != DB_OUTCOME_COMPLETED) {
		if (!res->stop_reason[0])
			snprintf(res->stop_reason, sizeof(res->stop_reason), "aborted");
		res->guest_running_on_source = true;
		return 0;
	}
	res->converged = !r->forced;
	if (res->converged)
		snprintf(res->stop_reason, sizeof(res->stop_reason), "downtime");
	err = finish(r);
	if (err) {
		snprintf(res->error, sizeof(res->error), "%s", db_strerror());
		res->outcome = DB_OUTCOME_ABORTED;
		snprintf(res->stop_reason, sizeof(res->stop_reason), "aborted");
		err = 0;
	}
	return err;
}

/* Everything one attempt leaves: processes, consoles, the samples file. */
static void end_attempt(struct run *r)
{
	stop_vm(&r->src);
	stop_vm(&r->dst);
	consoles_free(&r->cs);
	memset(&r->cs, 0, sizeof(r->cs));
	r->cs.c[0].fd = r->cs.c[1].fd = -1;
	if (r->csv)
		fclose(r->csv);
	r->csv = NULL;
}

int db_qemu_run(const struct db_run_config *cfg, const char *self_exe,
		struct db_result *res)
{
	struct run r;
	char why[512];
	bool boot_failed = false;
	int err;

	memset(&r, 0, sizeof(r));
	r.cfg = cfg;
	r.res = res;
	r.self = self_exe;
	r.cs.c[0].fd = r.cs.c[1].fd = -1;
	err = prepare(&r);
	if (err)
		goto out;
	/* auto: KVM where it opens, TCG where it cannot boot this guest. */
	err = attempt(&r, r.kvm && cfg->vmm_accel == DB_VMM_ACCEL_AUTO ?
			  DB_MIN(cfg->vmm_boot_timeout_ms, 30000) :
			  cfg->vmm_boot_timeout_ms, &boot_failed);
	if (err && boot_failed && r.kvm && cfg->vmm_accel == DB_VMM_ACCEL_AUTO &&
	    !db_interrupted) {
		snprintf(res->vmm.accel_note, sizeof(res->vmm.accel_note),
			 "kvm could not boot the guest here (%s): tcg", db_strerror());
		end_attempt(&r);
		if (!cfg->quiet)
			fprintf(stderr, "qemu: %s\n", res->vmm.accel_note);
		r.kvm = false;
		err = attempt(&r, cfg->vmm_boot_timeout_ms, &boot_failed);
	}
out:
	snprintf(why, sizeof(why), "%s", db_strerror());
	end_attempt(&r);
	link_bytes(&r);
	if (r.netns)
		db_netns_teardown(&r.ns);
	if (r.shm[0])
		db_rm_rf(r.shm);
	if (r.initrd[0] && !r.dir_tmp)
		unlink(r.initrd);	/* rebuilt from the same files by any run */
	if (r.dir_tmp)
		db_rm_rf(r.dir);
	if (err)
		db_error(err, "%s", why);
	return err;
}
