// SPDX-License-Identifier: MIT
/* Small file-system helpers for results, reports and baselines. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dirtybench/common.h"
#include "base/files.h"

int db_mkdir_p(const char *path)
{
	char buf[PATH_MAX];
	size_t i, n = strlen(path);

	if (n == 0 || n >= sizeof(buf))
		return db_error(-ENAMETOOLONG, "directory '%s': bad length", path);
	memcpy(buf, path, n + 1);
	for (i = 1; i <= n; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		buf[i] = '\0';
		if (mkdir(buf, 0755) && errno != EEXIST)
			return db_error_errno(-errno, "cannot create directory %s",
					      buf);
		buf[i] = i < n ? '/' : '\0';
	}
	return 0;
}

int db_write_atomic(const char *path, const void *data, size_t len)
{
	char tmp[PATH_MAX];
	const char *p = data;
	int fd, err = 0;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >=
	    sizeof(tmp))
		return db_error(-ENAMETOOLONG, "%s: path too long", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return db_error_errno(-errno, "cannot write %s", tmp);
	while (len) {
		ssize_t w = write(fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			err = db_error_errno(w < 0 ? -errno : -EIO,
					     "cannot write %s", tmp);
			break;
		}
		p += w;
		len -= (size_t)w;
	}
	if (!err && fsync(fd))
		err = db_error_errno(-errno, "cannot write %s", tmp);
	if (close(fd) && !err)
		err = db_error_errno(-errno, "cannot write %s", tmp);
	if (!err && rename(tmp, path))
		err = db_error_errno(-errno, "cannot rename %s to %s", tmp, path);
	if (err)
		unlink(tmp);
	return err;
}

int db_slurp(const char *path, size_t max, char **out, size_t *len)
{
	FILE *f = fopen(path, "rb");
	size_t cap = 0, n = 0, r;
	char *buf = NULL, *nb;

	*out = NULL;
	if (!f)
		return db_error_errno(-errno, "cannot read %s", path);
	do {
		if (cap - n < 65536) {
			cap = cap ? cap * 2 : 65536;
			nb = realloc(buf, cap + 1);
			if (!nb) {
				free(buf);
				fclose(f);
				return db_error(-ENOMEM, "%s: out of memory", path);
			}
			buf = nb;
		}
		r = fread(buf + n, 1, cap - n, f);
		n += r;
		if (n > max) {
			free(buf);
			fclose(f);
			return db_error(-EFBIG, "%s: larger than %zu bytes", path,
					max);
		}
	} while (r > 0);
	if (ferror(f)) {
		free(buf);
		fclose(f);
		return db_error(-EIO, "cannot read %s", path);
	}
	fclose(f);
	buf[n] = '\0';
	*out = buf;
	if (len)
		*len = n;
	return 0;
}

int db_rm_rf(const char *path)
{
	struct stat st;
	DIR *d;
	struct dirent *de;
	char sub[PATH_MAX];
	int err = 0;

	if (lstat(path, &st))
		return errno == ENOENT ? 0 :
		       db_error_errno(-errno, "cannot remove %s", path);
	if (!S_ISDIR(st.st_mode))
		return unlink(path) && errno != ENOENT ?
		       db_error_errno(-errno, "cannot remove %s", path) : 0;
	d = opendir(path);
	if (!d)
		return db_error_errno(-errno, "cannot remove %s", path);
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", path,
				     de->d_name) >= sizeof(sub))
			err = db_error(-ENAMETOOLONG, "%s: path too long", path);
		if (!err)
			err = db_rm_rf(sub);
	}
	closedir(d);
	if (!err && rmdir(path))
		err = db_error_errno(-errno, "cannot remove %s", path);
	return err;
}

int db_mkdtemp(char *buf, size_t len, const char *what)
{
	const char *tmp = getenv("TMPDIR");

	if (!tmp || !*tmp)
		tmp = "/tmp";
	if ((size_t)snprintf(buf, len, "%s/dirtybench-%s.XXXXXX", tmp, what) >= len)
		return db_error(-ENAMETOOLONG, "temporary directory: path too long");
	if (!mkdtemp(buf))
		return db_error_errno(-errno, "cannot create %s", buf);
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int walk(const char *root, const char *rel, const char *name,
		int (*fn)(const char *, const char *, void *), void *arg,
		int depth)
{
	char path[PATH_MAX], sub[PATH_MAX];
	char **names = NULL;
	size_t n = 0, cap = 0, i;
	struct dirent *de;
	struct stat st;
	int err = 0;
	DIR *d;

	if (depth > 16)
		return 0;
	snprintf(path, sizeof(path), "%s%s%s", root, *rel ? "/" : "", rel);
	d = opendir(path);
	if (!d)
		return db_error_errno(-errno, "cannot read directory %s", path);
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (n == cap) {
			char **nn = realloc(names, (cap = cap ? 2 * cap : 32) *
						   sizeof(*names));
			if (!nn) {
				err = -ENOMEM;
				break;
			}
			names = nn;
		}
		if (!(names[n] = strdup(de->d_name))) {
			err = -ENOMEM;
			break;
		}
		n++;
	}
	closedir(d);
	if (!err && n)
		qsort(names, n, sizeof(*names), cmp_str);
	for (i = 0; i < n && !err; i++) {
		if ((size_t)snprintf(sub, sizeof(sub), "%s%s%s", rel,
				     *rel ? "/" : "", names[i]) >= sizeof(sub) ||
		    (size_t)snprintf(path, sizeof(path), "%s/%s", root, sub) >=
		    sizeof(path) || lstat(path, &st))
			continue;
		if (S_ISDIR(st.st_mode))
			err = walk(root, sub, name, fn, arg, depth + 1);
		else if (S_ISREG(st.st_mode) &&
			 (!name || !strcmp(names[i], name)))
			err = fn(root, sub, arg);
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	if (err == -ENOMEM)
		db_error(err, "%s: out of memory", root);
	return err;
}

int db_walk(const char *root, const char *name,
	    int (*fn)(const char *root, const char *rel, void *arg), void *arg)
{
	return walk(root, "", name, fn, arg, 0);
}

int db_pathf(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len)
		return db_error(-ENAMETOOLONG, "path too long: %s...", buf);
	return 0;
}

int db_find_in_path(const char *prog, char *out, size_t len)
{
	const char *path = getenv("PATH"), *p, *c;

	if (strchr(prog, '/')) {
		if (access(prog, X_OK))
			return -ENOENT;
		return (size_t)snprintf(out, len, "%s", prog) < len ? 0 : -ENOENT;
	}
	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (p = path; *p; p = *c ? c + 1 : c) {
		c = strchrnul(p, ':');
		if (c > p && (size_t)snprintf(out, len, "%.*s/%s", (int)(c - p), p,
					      prog) < len && !access(out, X_OK))
			return 0;
	}
	return -ENOENT;
}

bool db_in_path(const char *prog)
{
	char buf[PATH_MAX];

	return !db_find_in_path(prog, buf, sizeof(buf));
}
