/* SPDX-License-Identifier: MIT */
/*
 * Regular expressions (PCRE2, 8-bit) for every text source we read: target
 * filters, procfs and vmstat, tc statistics, the kernel test bed's console. One compiled pattern owns its
 * match data, so a struct db_re is used by one thread at a time.
 */
#ifndef DIRTYBENCH_RE_H
#define DIRTYBENCH_RE_H

#include <stddef.h>
#include <stdbool.h>

struct db_re;

/* A capture: byte offsets [so, eo) into the subject; so == eo == -1 if unset. */
struct db_re_cap {
	long so, eo;
};

#define DB_RE_MULTILINE 1u	/* ^ and $ match at every line */
#define DB_RE_CASELESS 2u

/*
 * Compile; 'what' names the pattern's role in the error message
 * ("--filter", "tc statistics"). 0 or -EINVAL with the offset and reason.
 */
int db_re_compile(struct db_re **out, const char *pattern, unsigned flags,
		  const char *what);
void db_re_free(struct db_re *re);

/*
 * Match in s[0, len) starting at byte 'start'. Fills up to ncap captures
 * (capture 0 is the whole match). Returns 1 on a match, 0 on none, -errno
 * on an error (message left).
 */
int db_re_match(struct db_re *re, const char *s, size_t len, size_t start,
		struct db_re_cap *cap, int ncap);
/* Does the pattern match anywhere in the NUL-terminated s? */
bool db_re_test(struct db_re *re, const char *s);

/* Capture i of s as an unsigned integer (0 if unset or not a number). */
unsigned long long db_re_cap_u64(const char *s, const struct db_re_cap *cap,
				 int i);
/*
 * Capture i of s into out (len > 0), cut to fit, "" if it did not take
 * part. Returns out.
 */
char *db_re_cap_str(const char *s, const struct db_re_cap *cap, int i,
		    char *out, size_t len);

#endif
