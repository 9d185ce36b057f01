// SPDX-License-Identifier: MIT
/* A run's settings as text: the stop policy, the link, results' one-liner. */
#include <stdio.h>

#include "dirtybench/common.h"
#include "engine/settings.h"

const char *db_stop_str(const struct db_run_config *c, char *buf, size_t len)
{
	switch (c->stop) {
	case DB_STOP_ROUNDS:
		snprintf(buf, len, "rounds:%llu", (unsigned long long)c->stop_arg);
		break;
	case DB_STOP_TIME:
		snprintf(buf, len, "time:%g", c->stop_arg / 1000.0);
		break;
	case DB_STOP_THRESHOLD:
		snprintf(buf, len, "threshold:%llu", (unsigned long long)c->stop_arg);
		break;
	default:
		snprintf(buf, len, "downtime");
	}
	return buf;
}

const char *db_link_name(enum db_link l)
{
	return l == DB_LINK_NETNS ? "netns" : "loopback";
}

const char *db_on_timeout_name(enum db_on_timeout t)
{
	return t == DB_ON_TIMEOUT_CANCEL ? "cancel" : "force";
}

size_t db_run_config_text(const struct db_run_config *c, char *buf, size_t len)
{
	char stop[64];
	int n;

	n = snprintf(buf, len,
		     "tracker=%s ram_bytes=%llu backing=%s fill=%s workload=%s "
		     "bandwidth_bytes_per_s=%llu downtime_limit_ms=%llu stop=%s "
		     "max_rounds=%llu max_time_ms=%llu on_timeout=%s link=%s "
		     "seed=%llu dest_tail_ms=%llu chunk_pages=%llu",
		     c->tracker, (unsigned long long)c->ram_bytes,
		     db_backing_name(c->backing),
		     c->fill == DB_FILL_ZERO ? "zero" : "random", c->workload,
		     (unsigned long long)c->bandwidth,
		     (unsigned long long)c->downtime_limit_ms,
		     db_stop_str(c, stop, sizeof(stop)),
		     (unsigned long long)c->max_rounds,
		     (unsigned long long)c->max_time_ms,
		     db_on_timeout_name(c->on_timeout), db_link_name(c->link),
		     (unsigned long long)c->seed,
		     (unsigned long long)c->dest_tail_ms,
		     (unsigned long long)c->chunk_pages);
	return n < 0 ? 0 : DB_MIN((size_t)n, len ? len - 1 : 0);
}

