/* SPDX-License-Identifier: MIT */
/*
 * Parsers for the text the collectors read, all PCRE2: /proc/PID/stat and
 * /proc/PID/task/TID/stat, /proc/PID/status (VmRSS), /proc/vmstat and the
 * output of `tc -s qdisc show dev DEV`. One struct db_procfs holds the
 * compiled expressions; it is used by one thread at a time.
 */
#ifndef DIRTYBENCH_PROCFS_H
#define DIRTYBENCH_PROCFS_H

#include <stdint.h>

struct db_re;

struct db_procfs {
	struct db_re *stat, *rss, *pgfault, *thp_split, *tc;
};

struct db_proc_stat {
	char comm[64];
	char state;
	uint64_t utime, stime;	/* clock ticks */
};

struct db_tc_stats {
	uint64_t sent_bytes, sent_packets, dropped, overlimits;
};

int db_procfs_init(struct db_procfs *p);
void db_procfs_free(struct db_procfs *p);

/* The text of a stat file; -EINVAL if it is not one. */
int db_procfs_stat(struct db_procfs *p, const char *text,
		   struct db_proc_stat *st);
/* VmRSS of a status file, in bytes; -ENOENT for a kernel thread/zombie. */
int db_procfs_rss(struct db_procfs *p, const char *text, uint64_t *bytes);
/* pgfault and thp_split_page; a counter the kernel lacks is -1. */
int db_procfs_vmstat(struct db_procfs *p, const char *text, int64_t *pgfault,
		     int64_t *thp_split_page);
/* The root qdisc's counters; -ENOENT if the text has no root qdisc. */
int db_procfs_tc(struct db_procfs *p, const char *text, struct db_tc_stats *st);

#endif
