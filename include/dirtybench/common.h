/* SPDX-License-Identifier: MIT */
/*
 * Common helpers: page size, clocks, error messages, size and rate parsing.
 *
 * Library code returns 0 or -errno and never exits. When it fails it also
 * leaves a message naming the thing and the reason in a per-thread buffer
 * that db_strerror() returns; main() prints it and picks the exit status.
 */
#ifndef DIRTYBENCH_COMMON_H
#define DIRTYBENCH_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define DB_PAGE_SHIFT 12
#define DB_PAGE_SIZE ((size_t)1 << DB_PAGE_SHIFT)
#define DB_HUGE_SIZE ((size_t)2 << 20)

#define DB_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define DB_DIV_ROUND_UP(n, d) (((n) + (d) - 1) / (d))
#define DB_MIN(a, b) ((a) < (b) ? (a) : (b))
#define DB_MAX(a, b) ((a) > (b) ? (a) : (b))

#if defined(__GNUC__)
#define DB_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define DB_UNUSED __attribute__((unused))
#else
#define DB_PRINTF(f, a)
#define DB_UNUSED
#endif

/* Exit statuses of every command (DESIGN.md, command-line contract). */
enum db_exit {
	DB_EXIT_OK = 0,		/* done and RAM equal */
	DB_EXIT_VALIDATION = 1,	/* RAM differs, or a regression */
	DB_EXIT_USAGE = 2,	/* bad usage or bad input */
	DB_EXIT_RESOURCE = 3,	/* a resource is missing here */
	DB_EXIT_ABORTED = 4,	/* migration aborted, guest still on source */
};

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t db_now_ns(void);
/* CLOCK_REALTIME in nanoseconds (timestamps shared between hosts). */
uint64_t db_wall_ns(void);
void db_sleep_ns(uint64_t ns);

/*
 * Record an error message for this thread and return err (a -errno), so a
 * failing path reads: return db_error(-EINVAL, "ram: size %zu ...", n);
 */
int db_error(int err, const char *fmt, ...) DB_PRINTF(2, 3);
/* Append ": strerror(-err)" for you. */
int db_error_errno(int err, const char *fmt, ...) DB_PRINTF(2, 3);
/* The last message recorded by this thread ("" if none). */
const char *db_strerror(void);
void db_clear_error(void);

/*
 * "4096", "64K", "256M", "1792M", "1G", "1GiB", "1.5G": binary multiples.
 * Returns 0 or -EINVAL (with a message naming what).
 */
int db_parse_size(const char *s, uint64_t *bytes);
/*
 * Bandwidth: "1gbit", "200mbit", "100MB/s", "10MiB/s", "12345" (bytes/s),
 * "unlimited" (0). Bits are decimal (1gbit = 1e9 bit/s), bytes as written.
 */
int db_parse_rate(const char *s, uint64_t *bytes_per_s);
/* Plain unsigned integer in [min, max]. */
int db_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
/* Decimal number in [min, max]. */
int db_parse_double(const char *s, double min, double max, double *out);

/* Human-readable forms, into buf; return buf. */
char *db_fmt_bytes(uint64_t bytes, char *buf, size_t len);
char *db_fmt_ns(uint64_t ns, char *buf, size_t len);

/* Read a small text file (procfs, sysfs) into buf, NUL-terminated. */
int db_read_file(const char *path, char *buf, size_t len);
/* Write a string to a procfs/sysfs file. */
int db_write_file(const char *path, const char *s);

/* xxh3 helpers (xxhash): 64-bit page hash and 128-bit whole-RAM checksum. */
uint64_t db_hash64(const void *p, size_t len);
struct db_hash128 {
	uint64_t hi, lo;
};
struct db_hash128 db_hash128(const void *p, size_t len);
/*
 * The same checksum piece by piece: db_hash128_end() returns the value
 * db_hash128() gives for the concatenation of everything added (and frees
 * the state); db_hash128_zeros() adds len zero bytes without reading any
 * memory for them. begin returns NULL when out of memory.
 */
struct db_hash128_state;
struct db_hash128_state *db_hash128_begin(void);
void db_hash128_add(struct db_hash128_state *st, const void *p, size_t len);
void db_hash128_zeros(struct db_hash128_state *st, size_t len);
struct db_hash128 db_hash128_end(struct db_hash128_state *st);
/* "0123...": 32 hex digits + NUL. */
void db_hash128_str(struct db_hash128 h, char out[33]);

#endif
