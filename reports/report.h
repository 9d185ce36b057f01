/* SPDX-License-Identifier: MIT */
/*
 * The HTML report: one self-contained page (inline CSS and SVG, no script,
 * no external file) per run set. Per matrix: downtime, total time, rounds
 * and guest slowdown against the dirty rate, one line per tracker, the
 * analytical model beside them. A table of every run (a RAM mismatch
 * stands out). Per scenario: the timeline, the per-round bars and the
 * collectors' series.
 */
#ifndef DIRTYBENCH_REPORT_H
#define DIRTYBENCH_REPORT_H

#include <stddef.h>

#include "html.h"
#include "runset.h"

struct db_report_opts {
	const char *title;	/* NULL: "dirtybench report: TARGET" */
	/* An HTML section we generated (compare), put after the summary. */
	const char *extra_html;
};

/* Draw a loaded run set and write html_path atomically. */
int db_report_write(const struct db_runset *rs, const char *html_path,
		    const struct db_report_opts *o);
/* Load dirs, draw, write html_path atomically. */
int db_report_render(const char *const *dirs, size_t ndirs,
		     const char *html_path, const struct db_report_opts *o);
/* The page for a loaded run set, into out. */
int db_report_build(const struct db_runset *rs, const struct db_report_opts *o,
		    struct db_buf *out);

/* Shared with compare: the page's head and style, and its end. */
void db_report_head(struct db_buf *b, const char *title);
void db_report_tail(struct db_buf *b);
/* "12.3 ms", "1.42 s", "-" for NaN, into buf. */
const char *db_report_ns(double ns, char *buf, size_t len);

#endif
