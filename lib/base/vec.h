/* SPDX-License-Identifier: MIT */
/* Growing arrays: room for one more element, doubling the capacity. */
#ifndef DIRTYBENCH_VEC_H
#define DIRTYBENCH_VEC_H

#include <errno.h>
#include <stdlib.h>

/*
 * Make *arr hold at least n + 1 elements of size elem (capacity in *cap).
 * Returns 0, or -ENOMEM leaving *arr as it was.
 */
static inline int db_vec_reserve(void *arr, size_t *cap, size_t n, size_t elem)
{
	void **p = arr;
	size_t ncap;
	void *np;

	if (n < *cap)
		return 0;
	ncap = *cap ? 2 * *cap : 16;
	np = realloc(*p, ncap * elem);
	if (!np)
		return -ENOMEM;
	*p = np;
	*cap = ncap;
	return 0;
}

#endif
