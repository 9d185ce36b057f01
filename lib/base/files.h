/* SPDX-License-Identifier: MIT */
/*
 * Files and directories as results need them: create a path, write a file
 * so that readers see the old or the new content and never half of it,
 * remove a tree, walk a tree.
 */
#ifndef DIRTYBENCH_FILES_H
#define DIRTYBENCH_FILES_H

#include <stdbool.h>
#include <stddef.h>

/* snprintf into a path buffer: -ENAMETOOLONG (message left) if it does not fit. */
int db_pathf(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Is prog an executable in PATH (or, with a '/', at that path)? */
bool db_in_path(const char *prog);
/*
 * Its full name into out: 0, or -ENOENT when no directory of PATH (or, with
 * PATH unset or empty, of /usr/local/bin:/usr/bin:/bin) has it. No message.
 */
int db_find_in_path(const char *prog, char *out, size_t len);
/* mkdir -p (mode 0755). 0 or -errno with a message naming the path. */
int db_mkdir_p(const char *path);
/* Write len bytes to path.tmp.PID, fsync, rename over path. */
int db_write_atomic(const char *path, const void *data, size_t len);
/* Read a whole file (any size up to max bytes); *out is NUL-terminated. */
int db_slurp(const char *path, size_t max, char **out, size_t *len);
/* rm -rf; missing is not an error. */
int db_rm_rf(const char *path);
/* A new private directory "TMPDIR/dirtybench-WHAT.XXXXXX" into buf. */
int db_mkdtemp(char *buf, size_t len, const char *what);

/*
 * Call fn for every regular file under root whose name is 'name' (or every
 * file if name is NULL), with its path relative to root, in sorted order.
 * fn returns 0 to go on or an error to stop with.
 */
int db_walk(const char *root, const char *name,
	    int (*fn)(const char *root, const char *rel, void *arg), void *arg);

#endif
