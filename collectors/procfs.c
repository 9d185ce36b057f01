// SPDX-License-Identifier: MIT
/* procfs, vmstat and tc text parsed with PCRE2. */
#include <errno.h>
#include <string.h>

#include "dirtybench/common.h"
#include "procfs.h"
#include "base/re.h"

/*
 * "pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt
 * cmajflt utime stime ...": comm may hold spaces and ')', so it runs to
 * the last ") " before the state letter.
 */
static const char re_stat[] =
	"^\\d+ \\((.*)\\) ([A-Za-z]) (?:-?\\d+ ){10}(\\d+) (\\d+) ";
static const char re_rss[] = "^VmRSS:\\s+(\\d+) kB$";
static const char re_pgfault[] = "^pgfault (\\d+)$";
static const char re_thp_split[] = "^thp_split_page (\\d+)$";
/* the root qdisc's line, then its " Sent N bytes P pkt (dropped D, overlimits O" */
static const char re_tc[] =
	"^qdisc \\S+ [0-9a-f]*: (?:dev \\S+ )?root\\b[^\\n]*\\n\\s*Sent (\\d+) bytes (\\d+) pkt "
	"\\(dropped (\\d+), overlimits (\\d+)";

int db_procfs_init(struct db_procfs *p)
{
	int err;

	memset(p, 0, sizeof(*p));
	err = db_re_compile(&p->stat, re_stat, 0, "proc stat");
	if (!err)
		err = db_re_compile(&p->rss, re_rss, DB_RE_MULTILINE, "proc status");
	if (!err)
		err = db_re_compile(&p->pgfault, re_pgfault, DB_RE_MULTILINE,
				    "vmstat");
	if (!err)
		err = db_re_compile(&p->thp_split, re_thp_split, DB_RE_MULTILINE,
				    "vmstat");
	if (!err)
		err = db_re_compile(&p->tc, re_tc, DB_RE_MULTILINE, "tc statistics");
	if (err)
		db_procfs_free(p);
	return err;
}

void db_procfs_free(struct db_procfs *p)
{
	db_re_free(p->stat);
	db_re_free(p->rss);
	db_re_free(p->pgfault);
	db_re_free(p->thp_split);
	db_re_free(p->tc);
	memset(p, 0, sizeof(*p));
}

int db_procfs_stat(struct db_procfs *p, const char *text,
		   struct db_proc_stat *st)
{
	struct db_re_cap cap[5];

	if (db_re_match(p->stat, text, strlen(text), 0, cap, 5) != 1)
		return db_error(-EINVAL, "not a /proc stat line: %.60s", text);
	db_re_cap_str(text, cap, 1, st->comm, sizeof(st->comm));
	st->state = text[cap[2].so];
	st->utime = db_re_cap_u64(text, cap, 3);
	st->stime = db_re_cap_u64(text, cap, 4);
	return 0;
}

int db_procfs_rss(struct db_procfs *p, const char *text, uint64_t *bytes)
{
	struct db_re_cap cap[2];

	if (db_re_match(p->rss, text, strlen(text), 0, cap, 2) != 1)
		return -ENOENT;
	*bytes = db_re_cap_u64(text, cap, 1) * 1024;
	return 0;
}

int db_procfs_vmstat(struct db_procfs *p, const char *text, int64_t *pgfault,
		     int64_t *thp_split_page)
{
	struct db_re_cap cap[2];
	size_t len = strlen(text);

	*pgfault = *thp_split_page = -1;
	if (db_re_match(p->pgfault, text, len, 0, cap, 2) == 1)
		*pgfault = (int64_t)db_re_cap_u64(text, cap, 1);
	if (db_re_match(p->thp_split, text, len, 0, cap, 2) == 1)
		*thp_split_page = (int64_t)db_re_cap_u64(text, cap, 1);
	return *pgfault < 0 ? db_error(-EINVAL, "vmstat: no pgfault line") : 0;
}

int db_procfs_tc(struct db_procfs *p, const char *text, struct db_tc_stats *st)
{
	struct db_re_cap cap[5];

	if (db_re_match(p->tc, text, strlen(text), 0, cap, 5) != 1)
		return -ENOENT;
	st->sent_bytes = db_re_cap_u64(text, cap, 1);
	st->sent_packets = db_re_cap_u64(text, cap, 2);
	st->dropped = db_re_cap_u64(text, cap, 3);
	st->overlimits = db_re_cap_u64(text, cap, 4);
	return 0;
}
