/* SPDX-License-Identifier: MIT */
/*
 * Published run sets (baselines) through libcurl: http, https and file.
 *
 * A published run set is a collection URL holding the run set's files and
 * manifest.json, written last: {"schema":1, "kind":"dirtybench-runset",
 * "complete":true, "files":[{"path","bytes","xxh3"}...]}. Publishing
 * uploads into a staging collection beside the URL, writes the manifest
 * there, then moves it over the URL (WebDAV MOVE, Overwrite: T), so a
 * reader sees the old run set, the new one, or none; never a mix.
 * Fetching refuses a run set without a complete manifest or with a file
 * whose size or hash differs from it.
 */
#ifndef DIRTYBENCH_HTTP_H
#define DIRTYBENCH_HTTP_H

#include <stdbool.h>

struct db_http_opts {
	long connect_timeout_ms;	/* 0: 10 s */
	long timeout_ms;		/* whole transfer, 0: 120 s */
};

/* Is s a URL we fetch (http://, https://, file://)? */
bool db_is_url(const char *s);
/* Download the run set at url into dest (an existing, empty directory). */
int db_http_fetch_runset(const char *url, const char *dest,
			 const struct db_http_opts *o);
/* Upload the run set in dir to url (see above). */
int db_http_publish(const char *dir, const char *url,
		    const struct db_http_opts *o);

#endif
