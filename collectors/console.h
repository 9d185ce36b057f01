/* SPDX-License-Identifier: MIT */
/*
 * Guest console transcripts of the kernel test bed (ci/kernel/run.sh): the
 * serial console of a booted guest, where the guest's init prints one line
 * per outcome (ci/kernel/init) between the kernel's own messages:
 *
 *   DBK BOOT <uptime s> <kernel release>
 *   DBK BEGIN <suite>                 RESULT lines follow
 *   DBK TAP <suite>                   a Criterion TAP report follows
 *   DBK RESULT <suite> <test> PASS|FAIL|SKIP [detail]
 *   DBK END <suite> <exit status>
 *   DBK DONE <uptime s>
 *
 * The parser (PCRE2) also collects the kernel's complaints printed on the
 * console (BUG, WARNING, Oops, panic, lockups), which fail a run by
 * themselves.
 */
#ifndef DIRTYBENCH_CONSOLE_H
#define DIRTYBENCH_CONSOLE_H

#include <stddef.h>
#include <stdbool.h>

enum db_console_verdict {
	DB_CON_PASS,
	DB_CON_FAIL,
	DB_CON_SKIP,
};

struct db_console_result {
	char suite[48];
	char name[160];		/* "test", or "suite::test" from TAP */
	enum db_console_verdict verdict;
	char detail[400];	/* reason of a failure or skip, or a figure */
};

struct db_console_suite {
	char name[48];
	bool tap;		/* reported as Criterion TAP */
	bool ended;		/* its DBK END line was seen */
	int exit_status;	/* from DBK END (of its last section) */
	size_t pass, fail, skip;
};

#define DB_CONSOLE_MAX_COMPLAINTS 8

struct db_console {
	bool booted, done;
	double boot_s;		/* guest uptime when init began */
	double done_s;		/* guest uptime when every result was in */
	char kernel[96];	/* release the guest booted */
	struct db_console_result *results;
	size_t nresults;
	struct db_console_suite *suites;
	size_t nsuites;
	/* Kernel complaints, first ones kept; ncomplaints counts them all. */
	char complaints[DB_CONSOLE_MAX_COMPLAINTS][240];
	size_t ncomplaints;
	char last_line[240];	/* last non-empty line: where a guest stopped */
	size_t lines;
};

/* Parse a transcript (any bytes; \r\n or \n). 0 or -ENOMEM/-EINVAL. */
int db_console_parse(struct db_console *c, const char *text, size_t len);
/* The same from a file: -errno with the path if it cannot be read. */
int db_console_parse_file(struct db_console *c, const char *path);
void db_console_free(struct db_console *c);

const struct db_console_suite *db_console_suite(const struct db_console *c,
						const char *name);
const struct db_console_result *db_console_result(const struct db_console *c,
						  const char *suite,
						  const char *name);

/*
 * The verdict on a run: 0 when the guest booted and finished, the kernel
 * did not complain, every suite in 'required' reported at least one pass
 * and ended with status 0, and no result failed. Otherwise -EIO with a
 * message that lists what went wrong (see db_strerror()).
 */
int db_console_check(const struct db_console *c, const char *const *required,
		     size_t nrequired);

const char *db_console_verdict_str(enum db_console_verdict v);

#endif
