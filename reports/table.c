// SPDX-License-Identifier: MIT
/* The bench table: one aligned text row per scenario. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dirtybench/common.h"
#include "report.h"
#include "table.h"

enum { C_SCEN, C_TRACKER, C_RATE, C_ROUNDS, C_CONV, C_STOP, C_DOWN, C_TOTAL,
	C_STALL, C_EQUAL, C_VERDICT, NCOL };

static const struct {
	const char *head;
	bool right;
} cols[NCOL] = {
	[C_SCEN] = { "scenario", false },
	[C_TRACKER] = { "tracker", false },
	[C_RATE] = { "dirty rate", false },
	[C_ROUNDS] = { "rounds", true },
	[C_CONV] = { "converged", false },
	[C_STOP] = { "stop reason", false },
	[C_DOWN] = { "downtime", true },
	[C_TOTAL] = { "total time", true },
	[C_STALL] = { "guest stall", true },
	[C_EQUAL] = { "ram_equal", false },
	[C_VERDICT] = { "result", false },
};

enum row_kind { ROW_OK, ROW_SKIPPED, ROW_BAD };

struct row {
	char cell[NCOL][256];
	enum row_kind kind;
};

/* "51200/s", "1.2M/s" */
static void fmt_pps(double pps, char *buf, size_t len)
{
	if (!(pps > 0))
		snprintf(buf, len, "0/s");
	else if (pps >= 1e6)
		snprintf(buf, len, "%.3gM/s", pps / 1e6);
	else if (pps >= 1e4)
		snprintf(buf, len, "%.3gk/s", pps / 1e3);
	else
		snprintf(buf, len, "%.0f/s", pps);
}

/* The verdict of a scenario from all its runs; the row's kind. */
static enum row_kind verdict(const struct db_runset *rs,
			     const struct db_scen *s, char *buf, size_t len)
{
	const struct db_run *bad = NULL;
	size_t k, nbad = 0;
	char up[16];

	if (!s->nruns || !strcmp(s->status, "skipped")) {
		snprintf(buf, len, "skipped: %.200s", s->reason[0] ? s->reason :
			 "cannot run here");
		return ROW_SKIPPED;
	}
	for (k = 0; k < s->nruns; k++) {
		const struct db_run *r = &rs->runs[s->runs[k]];
		const char *v = db_run_verdict(r);

		if (!strcmp(v, "ok") || !strcmp(v, "skipped"))
			continue;
		nbad++;
		/* a mismatch is what the table must show first */
		if (!bad || (!strcmp(v, "mismatch") &&
			     strcmp(db_run_verdict(bad), "mismatch")))
			bad = r;
	}
	if (!bad) {
		if (s->nruns > 1)
			snprintf(buf, len, "ok (%zu runs)", s->nruns);
		else
			snprintf(buf, len, "ok");
		return ROW_OK;
	}
	if (!strcmp(db_run_verdict(bad), "mismatch")) {
		snprintf(buf, len, "RAM MISMATCH: %.0f page%s differ%s",
			 bad->mismatched_pages, bad->mismatched_pages == 1 ?
			 "" : "s", bad->mismatched_pages == 1 ? "s" : "");
	} else {
		snprintf(up, sizeof(up), "%s", db_run_verdict(bad));
		for (k = 0; up[k]; k++)
			up[k] = (char)toupper((unsigned char)up[k]);
		snprintf(buf, len, "%s: %.160s", up, bad->message[0] ?
			 bad->message : "no result.json");
	}
	if (s->nruns > 1) {
		size_t n = strlen(buf);

		snprintf(buf + n, len - n, " [%zu of %zu runs]", nbad, s->nruns);
	}
	return ROW_BAD;
}

static void fill_row(const struct db_runset *rs, const struct db_scen *s,
		     struct row *row)
{
	size_t rep = db_scen_representative(rs, s), k, n = 0, eq = 0;
	const struct db_run *r = rep == DB_NO_RUN ? NULL : &rs->runs[rep];
	char pps[32];
	int i;

	for (i = 0; i < NCOL; i++)
		snprintf(row->cell[i], sizeof(row->cell[i]), "-");
	snprintf(row->cell[C_SCEN], sizeof(row->cell[0]), "%s", s->name);
	snprintf(row->cell[C_TRACKER], sizeof(row->cell[0]), "%s", s->tracker);
	fmt_pps(s->rate_pps, pps, sizeof(pps));
	if (s->rate_label[0] && s->rate_pps > 0)
		snprintf(row->cell[C_RATE], sizeof(row->cell[0]), "%s (%s)",
			 s->rate_label, pps);
	else if (s->rate_label[0])
		snprintf(row->cell[C_RATE], sizeof(row->cell[0]), "%s",
			 s->rate_label);
	row->kind = verdict(rs, s, row->cell[C_VERDICT], sizeof(row->cell[0]));
	for (k = 0; k < s->nruns; k++) {
		const struct db_run *o = &rs->runs[s->runs[k]];

		if (o->has_result && o->verified) {
			n++;
			eq += o->ram_equal;
		}
	}
	if (n)
		snprintf(row->cell[C_EQUAL], sizeof(row->cell[0]), "%s",
			 eq == n ? "yes" : "NO");
	if (!r)
		return;
	if (isfinite(r->rounds))
		snprintf(row->cell[C_ROUNDS], sizeof(row->cell[0]), "%.0f",
			 r->rounds);
	snprintf(row->cell[C_CONV], sizeof(row->cell[0]), "%s",
		 r->converged ? "yes" : "no");
	if (r->stop_reason[0])
		snprintf(row->cell[C_STOP], sizeof(row->cell[0]), "%s",
			 r->stop_reason);
	db_report_ns(r->downtime_ns, row->cell[C_DOWN], sizeof(row->cell[0]));
	db_report_ns(r->total_time_ns, row->cell[C_TOTAL], sizeof(row->cell[0]));
	db_report_ns(r->guest_stall_ns, row->cell[C_STALL], sizeof(row->cell[0]));
}

static void print_row(FILE *f, const struct row *row, const size_t *w,
		      const char *colour)
{
	int i;

	fprintf(f, "%s%s", colour ? colour : "",
		row->kind == ROW_BAD ? "!! " : "   ");
	for (i = 0; i < NCOL; i++) {
		if (i == NCOL - 1)	/* the last column is not padded */
			fprintf(f, "%s", row->cell[i]);
		else
			fprintf(f, cols[i].right ? "%*s  " : "%-*s  ",
				(int)w[i], row->cell[i]);
	}
	fprintf(f, "%s\n", colour ? "\033[0m" : "");
}

size_t db_runset_print_table(const struct db_runset *rs, FILE *f, bool colour)
{
	struct row *rows = calloc(rs->nsc + 1, sizeof(*rows));
	size_t w[NCOL], i, bad = 0;
	int c;

	if (!rows) {
		fprintf(f, "(no memory for the table)\n");
		return 0;
	}
	for (c = 0; c < NCOL; c++) {
		snprintf(rows[0].cell[c], sizeof(rows[0].cell[c]), "%s",
			 cols[c].head);
		w[c] = strlen(cols[c].head);
	}
	for (i = 0; i < rs->nsc; i++) {
		fill_row(rs, &rs->sc[i], &rows[i + 1]);
		bad += rows[i + 1].kind == ROW_BAD;
		for (c = 0; c < NCOL; c++)
			w[c] = DB_MAX(w[c], strlen(rows[i + 1].cell[c]));
	}
	print_row(f, &rows[0], w, colour ? "\033[1m" : NULL);
	for (i = 1; i <= rs->nsc; i++)
		print_row(f, &rows[i], w, !colour ? NULL :
			  rows[i].kind == ROW_BAD ? "\033[1;31m" :
			  rows[i].kind == ROW_SKIPPED ? "\033[2m" : NULL);
	free(rows);
	return bad;
}
