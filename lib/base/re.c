// SPDX-License-Identifier: MIT
/* Thin PCRE2 wrapper: compile with a message naming the pattern, match. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "dirtybench/common.h"
#include "base/re.h"

struct db_re {
	pcre2_code *code;
	pcre2_match_data *md;
};

int db_re_compile(struct db_re **out, const char *pattern, unsigned flags,
		  const char *what)
{
	/* Byte mode: procfs text (thread names) need not be UTF-8. */
	uint32_t opts = 0;
	PCRE2_UCHAR msg[160];
	PCRE2_SIZE off;
	struct db_re *re;
	int code;

	*out = NULL;
	if (flags & DB_RE_MULTILINE)
		opts |= PCRE2_MULTILINE;
	if (flags & DB_RE_CASELESS)
		opts |= PCRE2_CASELESS;
	re = calloc(1, sizeof(*re));
	if (!re)
		return db_error(-ENOMEM, "%s: out of memory", what);
	re->code = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
				 opts, &code, &off, NULL);
	if (!re->code) {
		pcre2_get_error_message(code, msg, sizeof(msg));
		free(re);
		return db_error(-EINVAL, "%s: bad regular expression '%s' at offset %zu: %s",
				what, pattern, (size_t)off, (char *)msg);
	}
	/* JIT is an optimisation only: without it matching still works. */
	(void)pcre2_jit_compile(re->code, PCRE2_JIT_COMPLETE);
	re->md = pcre2_match_data_create_from_pattern(re->code, NULL);
	if (!re->md) {
		pcre2_code_free(re->code);
		free(re);
		return db_error(-ENOMEM, "%s: out of memory", what);
	}
	*out = re;
	return 0;
}

void db_re_free(struct db_re *re)
{
	if (!re)
		return;
	pcre2_match_data_free(re->md);
	pcre2_code_free(re->code);
	free(re);
}

int db_re_match(struct db_re *re, const char *s, size_t len, size_t start,
		struct db_re_cap *cap, int ncap)
{
	PCRE2_SIZE *ov;
	int rc, i;

	rc = pcre2_match(re->code, (PCRE2_SPTR)s, len, start, 0, re->md, NULL);
	if (rc == PCRE2_ERROR_NOMATCH)
		return 0;
	if (rc < 0) {
		PCRE2_UCHAR msg[160];

		pcre2_get_error_message(rc, msg, sizeof(msg));
		return db_error(-EINVAL, "regular expression: %s", (char *)msg);
	}
	ov = pcre2_get_ovector_pointer(re->md);
	for (i = 0; i < ncap; i++) {
		if (i < rc && ov[2 * i] != PCRE2_UNSET) {
			cap[i].so = (long)ov[2 * i];
			cap[i].eo = (long)ov[2 * i + 1];
		} else {
			cap[i].so = cap[i].eo = -1;
		}
	}
	return 1;
}

bool db_re_test(struct db_re *re, const char *s)
{
	return db_re_match(re, s, strlen(s), 0, NULL, 0) == 1;
}

unsigned long long db_re_cap_u64(const char *s, const struct db_re_cap *cap,
				 int i)
{
	unsigned long long v = 0;
	long k;

	if (cap[i].so < 0)
		return 0;
	for (k = cap[i].so; k < cap[i].eo; k++) {
		if (s[k] < '0' || s[k] > '9')
			return 0;
		v = v * 10 + (unsigned long long)(s[k] - '0');
	}
	return v;
}

char *db_re_cap_str(const char *s, const struct db_re_cap *cap, int i,
		    char *out, size_t len)
{
	size_t n;

	out[0] = '\0';
	if (cap[i].so < 0 || cap[i].eo < cap[i].so)
		return out;
	n = DB_MIN((size_t)(cap[i].eo - cap[i].so), len - 1);
	memcpy(out, s + cap[i].so, n);
	out[n] = '\0';
	return out;
}
