// SPDX-License-Identifier: MIT
/* The analytical pre-copy model (DESIGN.md), round by round. */
#include <math.h>
#include <string.h>

#include "dirtybench/common.h"
#include "engine/model.h"
#include "wire/proto.h"

double db_model_page_bytes(bool zero)
{
	/* descriptor + data, plus the frame header and count spread over a batch */
	double hdr = (double)(DB_PROTO_HDR_BYTES + 8) / DB_PROTO_BATCH_PAGES;

	return 8.0 + hdr + (zero ? 0.0 : (double)DB_PAGE_SIZE);
}

/* Expected distinct pages among P after w uniform writes. */
static double uniform_distinct(double P, double w)
{
	if (P <= 1)
		return P > 0 && w > 0 ? 1 : 0;
	return P * -expm1(w * log1p(-1.0 / P));
}

static double zipf_distinct(const struct dr_config *dr, double w)
{
	double h = 0, sum = 0, p;
	uint64_t j, n = dr->total_pages;

	for (j = 1; j <= n; j++)
		h += pow((double)j, -dr->zipf_s);
	for (j = 1; j <= n; j++) {
		p = pow((double)j, -dr->zipf_s) / h;
		sum += -expm1(w * log1p(-p));
	}
	return sum;
}

double db_model_dirtied(const struct dr_config *dr, double t_ns)
{
	double P = (double)dr->total_pages, periods, w, d;

	if (!dr->dirty_pages || t_ns <= 0)
		return 0;
	periods = dr->period_ms ? t_ns / (dr->period_ms * 1e6) : 1e12;
	w = periods * (double)dr->dirty_pages;	/* writes per copy */
	switch (dr->pattern) {
	case DR_PATTERN_RANDOM:
		d = uniform_distinct(P, w);
		break;
	case DR_PATTERN_HOTSET:
		d = uniform_distinct(DB_MAX(1.0, floor(P * dr->hot_fraction)), w);
		break;
	case DR_PATTERN_ZIPF:
		d = w > 1e9 ? P : zipf_distinct(dr, w);
		break;
	case DR_PATTERN_SEQ:
	default:
		d = DB_MIN(P, w);
	}
	return d * dr->copies;
}

/* Round i's figure: what the run measured where it has it, else nominal. */
static double at_round(const struct db_model_in *in, const double *a, uint32_t i,
		       double nominal)
{
	double v;

	if (!in->nmeasured || !a)
		return nominal;
	v = a[i < in->nmeasured ? i : in->nmeasured - 1];
	return v > 0 ? v : nominal;
}

/* Time with the nominal write rate that holds the writes of round i. */
static double write_time(const struct db_model_in *in, uint32_t i, double t)
{
	double nominal;

	if (!in->dr.period_ms)
		return t;
	nominal = (double)in->dr.dirty_pages * in->dr.copies * 1000.0 /
		  (double)in->dr.period_ms;
	return nominal > 0 ? t * at_round(in, in->round_wps, i, nominal) / nominal : t;
}

void db_model_predict(const struct db_model_in *in, struct db_model_out *out)
{
	double pb = db_model_page_bytes(false), zb = db_model_page_bytes(true);
	double B = in->bandwidth, t, elapsed, v, bytes, limit_bytes;
	uint64_t deadline_ms = in->stop == DB_STOP_TIME ? in->stop_arg : in->max_time_ms;
	uint64_t final_round = in->stop == DB_STOP_ROUNDS ? in->stop_arg - 1 : UINT64_MAX;
	uint32_t i;
	bool final = false, policy = false;

	memset(out, 0, sizeof(*out));
	if (B <= 0)
		return;
	if (in->workload && in->dr.period_ms)
		out->dirty_bytes_per_s = (double)in->dr.dirty_pages * in->dr.copies *
					 1000.0 / (double)in->dr.period_ms * pb;
	else if (in->workload && in->dr.dirty_pages)
		out->dirty_bytes_per_s = INFINITY;
	out->lambda = out->dirty_bytes_per_s / B;

	/* round 0: every page, data or zero */
	bytes = (double)in->data_pages * pb +
		(double)(in->ram_pages - DB_MIN(in->data_pages, in->ram_pages)) * zb;
	t = bytes / at_round(in, in->round_bw, 0, B);
	out->pages_total = in->ram_pages;
	out->bytes_total = (uint64_t)bytes;
	elapsed = t;
	if (final_round == 0) {
		out->rounds = 1;
		out->converges = true;
		out->downtime_ns = (uint64_t)(t * 1e9);
		out->total_time_ns = out->downtime_ns;
		return;
	}
	for (i = 1;; i++) {
		v = in->workload ? db_model_dirtied(&in->dr, write_time(in, i - 1, t) * 1e9) : 0;
		v = DB_MIN(v, (double)in->ram_pages);
		bytes = v * pb;
		switch (in->stop) {
		case DB_STOP_ROUNDS:
			policy = i >= final_round;
			break;
		case DB_STOP_THRESHOLD:
			policy = v <= (double)in->stop_arg;
			break;
		default:
			limit_bytes = at_round(in, in->round_wire_bw, i - 1, B) *
				      (double)in->downtime_limit_ms / 1000.0;
			policy = bytes <= limit_bytes;
		}
		final = policy;
		if (!final && (i + 1 >= in->max_rounds ||
			       elapsed * 1000.0 >= (double)deadline_ms)) {
			if (in->on_timeout == DB_ON_TIMEOUT_CANCEL) {
				out->cancelled = true;
				out->rounds = i;
				out->total_time_ns = (uint64_t)(elapsed * 1e9);
				return;
			}
			final = true;
		}
		t = bytes / at_round(in, in->round_bw, i, B);
		out->pages_total += (uint64_t)v;
		out->bytes_total += (uint64_t)bytes;
		elapsed += t;
		if (final)
			break;
	}
	out->rounds = i + 1;
	out->converges = policy;
	out->downtime_ns = (uint64_t)(t * 1e9);
	out->total_time_ns = (uint64_t)(elapsed * 1e9);
}

void db_model_from_config(const struct db_run_config *c, double bandwidth,
			  struct db_model_in *in)
{
	memset(in, 0, sizeof(*in));
	in->ram_pages = c->ram_bytes / DB_PAGE_SIZE;
	in->workload = c->workload_on;
	in->dr = c->dr;
	in->data_pages = in->ram_pages;
	if (c->fill == DB_FILL_ZERO)
		in->data_pages = c->workload_on ?
			(uint64_t)db_model_dirtied(&c->dr, c->warmup_ms * 1e6) : 0;
	in->bandwidth = bandwidth;
	in->downtime_limit_ms = c->downtime_limit_ms;
	in->stop = c->stop;
	in->stop_arg = c->stop_arg;
	in->max_rounds = c->max_rounds;
	in->max_time_ms = c->max_time_ms;
	in->on_timeout = c->on_timeout;
}
