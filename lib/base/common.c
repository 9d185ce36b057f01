// SPDX-License-Identifier: MIT
/* Clocks, per-thread error messages, parsers. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "dirtybench/common.h"

static _Thread_local char err_buf[512];

uint64_t db_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t db_wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void db_sleep_ns(uint64_t ns)
{
	struct timespec ts = {
		.tv_sec = (time_t)(ns / 1000000000ull),
		.tv_nsec = (long)(ns % 1000000000ull),
	};

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

int db_error(int err, const char *fmt, ...)
{
	char tmp[sizeof(err_buf)];
	va_list ap;

	/* format aside: an argument may be db_strerror() itself */
	va_start(ap, fmt);
	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	memcpy(err_buf, tmp, sizeof(err_buf));
	return err;
}

int db_error_errno(int err, const char *fmt, ...)
{
	char tmp[sizeof(err_buf)];
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	memcpy(err_buf, tmp, sizeof(err_buf));
	n = strlen(err_buf);
	snprintf(err_buf + n, sizeof(err_buf) - n, ": %s", strerror(-err));
	return err;
}

const char *db_strerror(void)
{
	return err_buf;
}

void db_clear_error(void)
{
	err_buf[0] = '\0';
}

static int suffix_mult(const char *suf, uint64_t *mult)
{
	static const struct {
		const char *s;
		uint64_t m;
	} tab[] = {
		{ "", 1 }, { "b", 1 },
		{ "k", 1ull << 10 }, { "kb", 1ull << 10 }, { "kib", 1ull << 10 },
		{ "m", 1ull << 20 }, { "mb", 1ull << 20 }, { "mib", 1ull << 20 },
		{ "g", 1ull << 30 }, { "gb", 1ull << 30 }, { "gib", 1ull << 30 },
		{ "t", 1ull << 40 }, { "tb", 1ull << 40 }, { "tib", 1ull << 40 },
	};
	size_t i;

	for (i = 0; i < DB_ARRAY_SIZE(tab); i++) {
		if (!strcasecmp(suf, tab[i].s)) {
			*mult = tab[i].m;
			return 0;
		}
	}
	return -EINVAL;
}

int db_parse_size(const char *s, uint64_t *bytes)
{
	char *end;
	double v;
	uint64_t mult;

	if (!s || !*s)
		return db_error(-EINVAL, "empty size");
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || v < 0 || !isfinite(v) ||
	    suffix_mult(end, &mult))
		return db_error(-EINVAL,
				"bad size '%s' (expected e.g. 4096, 64K, 256M, 1G)",
				s);
	if (v * (double)mult >= 18446744073709551615.0)
		return db_error(-ERANGE, "size '%s' is too large", s);
	*bytes = (uint64_t)(v * (double)mult);
	return 0;
}

int db_parse_rate(const char *s, uint64_t *bytes_per_s)
{
	static const struct {
		const char *s;
		double m;	/* bytes per second per unit */
	} tab[] = {
		{ "", 1 }, { "b/s", 1 }, { "bps", 1 },
		{ "kbit", 1e3 / 8 }, { "mbit", 1e6 / 8 }, { "gbit", 1e9 / 8 },
		{ "kb/s", 1e3 }, { "mb/s", 1e6 }, { "gb/s", 1e9 },
		{ "kib/s", 1024.0 }, { "mib/s", 1048576.0 },
		{ "gib/s", 1073741824.0 },
	};
	char *end;
	double v;
	size_t i;

	if (!s || !*s)
		return db_error(-EINVAL, "empty bandwidth");
	if (!strcasecmp(s, "unlimited") || !strcmp(s, "0")) {
		*bytes_per_s = 0;
		return 0;
	}
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || v <= 0 || !isfinite(v))
		goto bad;
	for (i = 0; i < DB_ARRAY_SIZE(tab); i++) {
		/* "MB/s" is decimal megabytes; lower-case compare covers it */
		if (!strcasecmp(end, tab[i].s)) {
			double r = v * tab[i].m;

			if (r < 1 || r > 1e15)
				goto bad;
			*bytes_per_s = (uint64_t)r;
			return 0;
		}
	}
bad:
	return db_error(-EINVAL,
			"bad bandwidth '%s' (expected e.g. 1gbit, 200mbit, 100MB/s, unlimited)",
			s);
}

int db_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || !*s || *s == '-')
		return db_error(-EINVAL, "'%s' is not a number", s ? s : "");
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end)
		return db_error(-EINVAL, "'%s' is not a number", s);
	if (v < min || v > max)
		return db_error(-ERANGE, "%llu is outside [%llu, %llu]", v,
				(unsigned long long)min,
				(unsigned long long)max);
	*out = v;
	return 0;
}

int db_parse_double(const char *s, double min, double max, double *out)
{
	char *end;
	double v;

	if (!s || !*s)
		return db_error(-EINVAL, "empty number");
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || !isfinite(v))
		return db_error(-EINVAL, "'%s' is not a number", s);
	if (v < min || v > max)
		return db_error(-ERANGE, "%g is outside [%g, %g]", v, min, max);
	*out = v;
	return 0;
}

char *db_fmt_bytes(uint64_t bytes, char *buf, size_t len)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)bytes;
	size_t i = 0;

	while (v >= 1024 && i + 1 < DB_ARRAY_SIZE(unit)) {
		v /= 1024;
		i++;
	}
	if (i == 0)
		snprintf(buf, len, "%llu B", (unsigned long long)bytes);
	else
		snprintf(buf, len, "%.1f %s", v, unit[i]);
	return buf;
}

char *db_fmt_ns(uint64_t ns, char *buf, size_t len)
{
	if (ns < 10000)
		snprintf(buf, len, "%llu ns", (unsigned long long)ns);
	else if (ns < 10000000)
		snprintf(buf, len, "%.1f us", ns / 1e3);
	else if (ns < 10000000000ull)
		snprintf(buf, len, "%.1f ms", ns / 1e6);
	else
		snprintf(buf, len, "%.2f s", ns / 1e9);
	return buf;
}

int db_read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t off = 0;
	ssize_t n;

	if (fd < 0)
		return -errno;
	while (off + 1 < len) {
		n = read(fd, buf + off, len - 1 - off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			n = -errno;
			close(fd);
			return (int)n;
		}
		if (n == 0)
			break;
		off += (size_t)n;
	}
	buf[off] = '\0';
	close(fd);
	return (int)off;
}

int db_write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	size_t n = strlen(s);
	ssize_t w;
	int err = 0;

	if (fd < 0)
		return -errno;
	w = write(fd, s, n);
	if (w < 0)
		err = -errno;
	else if ((size_t)w != n)
		err = -EIO;
	close(fd);
	return err;
}

void db_hash128_str(struct db_hash128 h, char out[33])
{
	snprintf(out, 33, "%016llx%016llx", (unsigned long long)h.hi,
		 (unsigned long long)h.lo);
}
