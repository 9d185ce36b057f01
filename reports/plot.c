// SPDX-License-Identifier: MIT
/* gnuplot driven by generated scripts in a private directory. */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dirtybench/common.h"
#include "base/files.h"
#include "plot.h"
#include "base/re.h"

extern char **environ;

static const char *gnuplot_bin(void)
{
	const char *g = getenv("DIRTYBENCH_GNUPLOT");

	return g && *g ? g : "gnuplot";
}

int db_plot_init(struct db_plot *p)
{
	memset(p, 0, sizeof(*p));
	if (!db_in_path(gnuplot_bin()))
		return db_error(-ENOENT, "%s not found: install gnuplot "
				"(Debian: gnuplot-nox)", gnuplot_bin());
	return db_mkdtemp(p->dir, sizeof(p->dir), "plot");
}

FILE *db_plot_data(struct db_plot *p, char name[32])
{
	char path[PATH_MAX];

	snprintf(name, 32, "d%u.dat", p->ndata++);
	FILE *f;

	if (db_pathf(path, sizeof(path), "%s/%s", p->dir, name))
		return NULL;
	f = fopen(path, "w");
	if (!f)
		db_error_errno(-errno, "plot data: cannot write %s", path);
	return f;
}

unsigned db_plot_svg(struct db_plot *p, int w, int h)
{
	unsigned n = p->nsvg++;

	db_plot_cmd(p, "reset\nset terminal svg size %d,%d dynamic "
		    "background '#ffffff' font 'sans,11'\n"
		    "set output 's%u.svg'\nset grid lc rgb '#dddddd'\n"
		    "set key noenhanced\n", w, h, n);
	return n;
}

void db_plot_cmd(struct db_plot *p, const char *fmt, ...)
{
	char stack[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(stack, sizeof(stack), fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < sizeof(stack)) {
		db_buf_put(&p->script, stack);
		return;
	}
	{
		char *big = malloc((size_t)n + 1);

		if (!big) {
			p->script.oom = true;
			return;
		}
		va_start(ap, fmt);
		vsnprintf(big, (size_t)n + 1, fmt, ap);
		va_end(ap);
		db_buf_put(&p->script, big);
		free(big);
	}
}

void db_plot_str(struct db_plot *p, const char *s)
{
	db_buf_put(&p->script, "'");
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '\'')
			db_buf_put(&p->script, "''");
		else if (c < 0x20 || c == 0x7f)
			db_buf_put(&p->script, " ");
		else
			db_buf_putn(&p->script, s, 1);
	}
	db_buf_put(&p->script, "'");
}

int db_plot_run(struct db_plot *p)
{
	char path[PATH_MAX], log[PATH_MAX];
	char *const argv[] = { (char *)gnuplot_bin(), (char *)"plots.gp", NULL };
	posix_spawn_file_actions_t fa;
	int err, st = 0;
	pid_t pid;

	if (p->script.oom)
		return db_error(-ENOMEM, "plots: out of memory");
	if (db_pathf(path, sizeof(path), "%s/plots.gp", p->dir) ||
	    db_pathf(log, sizeof(log), "%s/gnuplot.log", p->dir))
		return -ENAMETOOLONG;
	err = db_write_atomic(path, p->script.p ? p->script.p : "",
			      p->script.len);
	if (err)
		return err;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addchdir_np(&fa, p->dir);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "gnuplot.log",
					 O_WRONLY | O_CREAT | O_TRUNC, 0644);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	err = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (err)
		return db_error_errno(-err, "cannot run %s", argv[0]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		char *text = NULL;
		size_t n = 0;

		db_slurp(log, 1u << 20, &text, &n);
		if (text && n > 300)
			memmove(text, text + n - 300, 301);
		err = db_error(-EIO, "gnuplot failed (script %s/plots.gp): %s",
			       p->dir, text ? text : "no message");
		free(text);
		return err;
	}
	return 0;
}

int db_plot_embed(struct db_plot *p, unsigned n, struct db_buf *out)
{
	static const char *const pat =
		"(id=['\"]|#)(gnuplot_|gpPt|gpDot|greybox|textbox)";
	char path[PATH_MAX], prefix[16];
	struct db_re_cap cap[3];
	struct db_re *re;
	char *svg, *start;
	size_t len, pos;
	int err;

	if (db_pathf(path, sizeof(path), "%s/s%u.svg", p->dir, n))
		return -ENAMETOOLONG;
	err = db_slurp(path, 64u << 20, &svg, &len);
	if (err)
		return err;
	start = strstr(svg, "<svg");
	if (!start) {
		free(svg);
		return db_error(-EINVAL, "%s: gnuplot wrote no <svg>", path);
	}
	err = db_re_compile(&re, pat, 0, "svg ids");
	if (err) {
		free(svg);
		return err;
	}
	snprintf(prefix, sizeof(prefix), "p%u_", n);
	pos = (size_t)(start - svg);
	while (db_re_match(re, svg, len, pos, cap, 3) == 1) {
		db_buf_putn(out, svg + pos, (size_t)cap[2].so - pos);
		db_buf_put(out, prefix);
		pos = (size_t)cap[2].so;
	}
	db_buf_putn(out, svg + pos, len - pos);
	db_re_free(re);
	free(svg);
	return out->oom ? -ENOMEM : 0;
}

void db_plot_cleanup(struct db_plot *p)
{
	const char *keep = getenv("DIRTYBENCH_KEEP_PLOTS");

	if (p->dir[0] && !(keep && *keep))
		db_rm_rf(p->dir);
	db_buf_free(&p->script);
	p->dir[0] = '\0';
}
