/* SPDX-License-Identifier: MIT */
/*
 * A growing text buffer and the escaping every user-given string goes
 * through on its way into HTML or XML (scenario and tracker names, error
 * messages, checksums, file names).
 */
#ifndef DIRTYBENCH_HTML_H
#define DIRTYBENCH_HTML_H

#include <stdbool.h>
#include <stddef.h>

struct db_buf {
	char *p;
	size_t len, cap;
	bool oom;		/* an append failed: the content is incomplete */
};

void db_buf_put(struct db_buf *b, const char *s);
void db_buf_putn(struct db_buf *b, const char *s, size_t n);
void db_buf_printf(struct db_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/*
 * Text escaped for HTML/XML element content and quoted attributes:
 * & < > " ' become entities; control characters other than tab and
 * newline (invalid in XML 1.0) become U+FFFD.
 */
void db_buf_esc(struct db_buf *b, const char *s);
void db_buf_free(struct db_buf *b);

#endif
