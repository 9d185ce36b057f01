/* SPDX-License-Identifier: MIT */
/*
 * Drawing with gnuplot (the real program): data files and one generated
 * script go into a private temporary directory, gnuplot runs there once
 * and writes one SVG per plot, which is then embedded inline in the HTML.
 * File names in the script are ours ("d3.dat", "s1.svg"); user strings
 * reach the script only through db_plot_str(), as quoted literals.
 */
#ifndef DIRTYBENCH_PLOT_H
#define DIRTYBENCH_PLOT_H

#include <limits.h>
#include <stdio.h>

#include "html.h"

struct db_plot {
	char dir[PATH_MAX];
	struct db_buf script;
	unsigned ndata, nsvg;
};

/* Make the temporary directory. -ENOENT if gnuplot is not installed. */
int db_plot_init(struct db_plot *p);
/* A new data file open for writing, its name in name; NULL (message left). */
FILE *db_plot_data(struct db_plot *p, char name[32]);
/* Begin a new SVG of w x h pixels; returns its number. */
unsigned db_plot_svg(struct db_plot *p, int w, int h);
/* Raw script text: never with user-given strings in it. */
void db_plot_cmd(struct db_plot *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/*
 * A user-given string as a gnuplot string literal: single-quoted, quotes
 * doubled, control characters replaced. Use with 'noenhanced'.
 */
void db_plot_str(struct db_plot *p, const char *s);
/* Run gnuplot on the script. Its messages end up in the error. */
int db_plot_run(struct db_plot *p);
/* Append SVG n to out: no XML prolog, ids prefixed so several coexist. */
int db_plot_embed(struct db_plot *p, unsigned n, struct db_buf *out);
/* Remove the directory (unless DIRTYBENCH_KEEP_PLOTS is set). */
void db_plot_cleanup(struct db_plot *p);

#endif
