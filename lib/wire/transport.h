/* SPDX-License-Identifier: MIT */
/*
 * TCP transport for the migration protocol: listen/accept/connect with
 * timeouts, and a framed connection (struct db_conn) with
 *   - a receive thread that validates every header, swallows heartbeats
 *     and queues the other frames (bounded, so a slow reader pushes back);
 *   - a heartbeat thread that sends HEARTBEAT when nothing else was sent
 *     for a quarter of the peer timeout, so silence means a dead peer;
 *   - full writes through poll() with a stall timeout, paced by an
 *     optional token bucket (the in-sender bandwidth limit).
 * Errors are sticky: the first failure (peer closed, reset, silent for the
 * peer timeout, bad header, signal) is kept with its sentence.
 */
#ifndef DIRTYBENCH_TRANSPORT_H
#define DIRTYBENCH_TRANSPORT_H

#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <sys/uio.h>

#include "wire/proto.h"

/* Set by the commands' SIGINT/SIGTERM handlers; every wait checks it. */
extern volatile sig_atomic_t db_interrupted;

/*
 * Token bucket: rate bytes/s, at most 'burst' bytes ahead. take() debits
 * n bytes and returns how long to wait (ns) before sending them.
 */
struct db_tbucket {
	double rate;
	double burst;
	double tokens;
	uint64_t last_ns;
	uint64_t waited_ns;	/* total time it made the sender wait */
};

void db_tb_init(struct db_tbucket *tb, uint64_t rate_bytes_per_s,
		uint64_t burst_bytes, uint64_t now_ns);
uint64_t db_tb_take(struct db_tbucket *tb, size_t n, uint64_t now_ns);

/*
 * "ADDR:PORT", "[V6ADDR]:PORT", "PORT" or ":PORT" (address defaults to
 * 127.0.0.1). Splits into host and port strings; -EINVAL with a message.
 */
int db_split_hostport(const char *s, char *host, size_t hlen, char *port,
		      size_t plen);
/* Listen on ADDR:PORT (PORT 0: any free port, returned in *port). */
int db_tcp_listen(const char *addr, int *fd, uint16_t *port);
/* Accept one connection within timeout_ns (0: wait forever). */
int db_tcp_accept(int lfd, uint64_t timeout_ns, int *fd);
/* Connect within timeout_ns, retrying while the peer refuses. */
int db_tcp_connect(const char *addr, uint64_t timeout_ns, int *fd);

#define DB_CONN_QLEN 8
/* Pieces of one frame's payload in db_conn_sendv(). */
#define DB_CONN_IOV_MAX 512

struct db_frame {
	struct db_frame_hdr h;
	uint8_t *payload;	/* malloc'ed, h.len bytes (NULL if 0) */
};

struct db_conn {
	int fd;
	enum db_role self;
	uint64_t timeout_ns;		/* peer silence / stall limit */
	uint64_t hb_interval_ns;

	pthread_mutex_t wlock;		/* one frame at a time on the wire */
	uint32_t tx_seq;
	bool limited;
	struct db_tbucket tb;
	uint64_t bytes_tx;		/* atomic */
	uint64_t last_tx_ns;		/* atomic */

	pthread_mutex_t lock;		/* queue, errors, flags */
	pthread_cond_t cond;
	struct db_frame q[DB_CONN_QLEN];
	unsigned qhead, qlen;
	int err;			/* sticky: first failure */
	char errmsg[512];
	bool rx_done;			/* receive thread has ended */
	bool closing;			/* stop receiving */
	bool hb_stop;			/* stop heartbeats */
	uint32_t rx_seq;
	uint64_t bytes_rx;		/* atomic */
	uint64_t last_rx_ns;		/* atomic */

	pthread_t rx_thr, hb_thr;
	bool rx_started, hb_started;

	/* inline receive (db_conn_open_inline): no receive thread */
	bool inline_rx;
	uint16_t direct_type;		/* its payload is left to the caller */
	uint32_t rx_pending;		/* payload bytes the caller still owes */
	/* inline receive: give up past this time (0: never), saying why */
	uint64_t deadline_ns;
	char deadline_why[160];
};

/*
 * Take over a connected socket: set TCP options (no delay, keepalive,
 * user timeout) and start the receive and heartbeat threads.
 */
int db_conn_open(struct db_conn *c, int fd, enum db_role self,
		 uint64_t timeout_ns);
/*
 * The same without a receive thread, for a side that does nothing but
 * receive: db_conn_recv() reads the next frame in the calling thread
 * (heartbeats swallowed, the peer's silence and the timeout watched as
 * the thread would). Frames of type direct_type come with f->payload
 * NULL: the caller reads their f->h.len payload bytes itself, with
 * db_conn_read()/db_conn_readv(), straight where they belong, before it
 * asks for the next frame.
 */
int db_conn_open_inline(struct db_conn *c, int fd, enum db_role self,
			uint64_t timeout_ns, uint16_t direct_type);
/*
 * Inline connections: read the next len payload bytes of the current
 * direct_type frame into buf, or into what iov describes (the array is
 * consumed). Errors are sticky, as the receive thread's.
 */
int db_conn_read(struct db_conn *c, void *buf, size_t len);
int db_conn_readv(struct db_conn *c, struct iovec *iov, int iovcnt);
/*
 * Fixed socket buffers of 'bytes' (instead of the kernel's autotuning),
 * for the send and/or the receive side. The migration asks for
 * DB_CONN_BUFFER_BYTES on an unlimited link: fewer, larger copies and
 * wakeups (docs/performance.md).
 */
#define DB_CONN_BUFFER_BYTES (4 << 20)
void db_conn_set_buffers(struct db_conn *c, int bytes, bool send, bool recv);
/*
 * Inline connections: every receive (a frame header, a payload, or the
 * wait for one) fails with -ETIMEDOUT and the sentence 'why' once the
 * clock passes deadline_ns (CLOCK_MONOTONIC; 0: no deadline; why NULL:
 * the sentence set before). A peer that
 * stays alive but trickles its frames is caught this way, which the
 * silence timeout alone cannot do.
 */
void db_conn_set_deadline(struct db_conn *c, uint64_t deadline_ns,
			  const char *why);
/* Pace every following byte at rate bytes/s (0: unlimited). */
void db_conn_set_rate(struct db_conn *c, uint64_t rate_bytes_per_s);
/* Send one frame whose payload is the concatenation of iov. */
int db_conn_sendv(struct db_conn *c, uint16_t type, const struct iovec *iov,
		  int iovcnt);
int db_conn_send(struct db_conn *c, uint16_t type, const void *p, size_t len);
/*
 * Next frame other than a heartbeat, waiting up to timeout_ns: 0 with *f
 * filled (free it with db_frame_free), -EAGAIN if none came in time, or
 * the connection's sticky error (queued frames are delivered first).
 * Inline connections: see db_conn_open_inline().
 */
int db_conn_recv(struct db_conn *c, struct db_frame *f, uint64_t timeout_ns);
void db_frame_free(struct db_frame *f);
/*
 * db_proto_rx() on a frame from db_conn_recv(): the peer's ERROR
 * (-ECONNABORTED) and CANCEL (-ECANCELED) become errors carrying their
 * text; f is freed on error.
 */
int db_conn_decode_msg(struct db_conn *c, struct db_proto_rx *st,
		       struct db_frame *f, struct db_msg *m);
/* Send a frame and tell the protocol state machine st about it. */
int db_conn_send_msg(struct db_conn *c, struct db_proto_rx *st, uint16_t type,
		     const void *p, size_t len);
/*
 * db_conn_recv() and then db_conn_decode_msg(): a decoded frame that may
 * come now, or an error.
 */
int db_conn_recv_msg(struct db_conn *c, struct db_proto_rx *st,
		     struct db_frame *f, struct db_msg *m, uint64_t timeout_ns);
/* 0 while the connection is healthy, else its error (and message). */
int db_conn_check(struct db_conn *c);
/* Record a failure found by the caller (first one wins). */
void db_conn_fail(struct db_conn *c, int err, const char *msg);
uint64_t db_conn_bytes_tx(struct db_conn *c);
uint64_t db_conn_bytes_rx(struct db_conn *c);
/* Bytes written but not yet acknowledged by the peer (SIOCOUTQ). */
uint64_t db_conn_outq(struct db_conn *c);
/*
 * Orderly end: stop heartbeats, send FIN, wait up to linger_ns for the
 * peer's FIN (so nothing is reset under its feet), then close.
 */
void db_conn_finish(struct db_conn *c, uint64_t linger_ns);
/* Immediate close (also after finish: idempotent). */
void db_conn_close(struct db_conn *c);

#endif
