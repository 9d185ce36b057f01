// SPDX-License-Identifier: MIT
/* TCP transport: sockets with timeouts, framed connection, token bucket. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <linux/sockios.h>

#include "dirtybench/common.h"
#include "wire/transport.h"

volatile sig_atomic_t db_interrupted;

#define SLICE_MS 50		/* longest uninterrupted wait */
#define CHUNK_PACED (64 * 1024)	/* bytes per send when paced */

void db_tb_init(struct db_tbucket *tb, uint64_t rate, uint64_t burst,
		uint64_t now)
{
	tb->rate = (double)rate;
	tb->burst = (double)burst;
	tb->tokens = (double)burst;
	tb->last_ns = now;
	tb->waited_ns = 0;
}

uint64_t db_tb_take(struct db_tbucket *tb, size_t n, uint64_t now)
{
	double wait;

	if (tb->rate <= 0)
		return 0;
	if (now > tb->last_ns) {
		tb->tokens += (double)(now - tb->last_ns) * tb->rate / 1e9;
		if (tb->tokens > tb->burst)
			tb->tokens = tb->burst;
		tb->last_ns = now;
	}
	tb->tokens -= (double)n;
	if (tb->tokens >= 0)
		return 0;
	wait = -tb->tokens / tb->rate * 1e9;
	tb->waited_ns += (uint64_t)wait;
	return (uint64_t)wait;
}

int db_split_hostport(const char *s, char *host, size_t hlen, char *port,
		      size_t plen)
{
	const char *colon, *h = "127.0.0.1", *p = s;
	size_t hl = strlen(h);
	uint64_t v;

	if (!s || !*s)
		return db_error(-EINVAL, "empty address (expected ADDR:PORT)");
	if (s[0] == '[') {
		colon = strstr(s, "]:");
		if (!colon)
			return db_error(-EINVAL,
					"bad address '%s' (expected [V6ADDR]:PORT)", s);
		h = s + 1;
		hl = (size_t)(colon - h);
		p = colon + 2;
	} else if ((colon = strrchr(s, ':'))) {
		if (strchr(s, ':') != colon)
			return db_error(-EINVAL,
					"bad address '%s' (write IPv6 as [ADDR]:PORT)", s);
		if (colon != s) {
			h = s;
			hl = (size_t)(colon - s);
		}
		p = colon + 1;
	}
	if (db_parse_u64(p, 0, 65535, &v))
		return db_error(-EINVAL, "bad port in '%s' (expected 0-65535)", s);
	if (hl == 0 || hl >= hlen || strlen(p) >= plen)
		return db_error(-EINVAL, "bad address '%s'", s);
	memcpy(host, h, hl);
	host[hl] = '\0';
	snprintf(port, plen, "%s", p);
	return 0;
}

static int resolve(const char *addr, int passive, struct addrinfo **res)
{
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
		.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0),
	};
	char host[256], port[16];
	int err = db_split_hostport(addr, host, sizeof(host), port, sizeof(port));

	if (err)
		return err;
	err = getaddrinfo(host, port, &hints, res);
	if (err)
		return db_error(-EINVAL, "address '%s': %s", addr, gai_strerror(err));
	return 0;
}

int db_tcp_listen(const char *addr, int *fd, uint16_t *port)
{
	struct addrinfo *ai;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int s, one = 1, err = resolve(addr, 1, &ai);

	if (err)
		return err;
	s = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0) {
		err = db_error_errno(-errno, "listen %s: socket", addr);
		goto out;
	}
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(s, ai->ai_addr, ai->ai_addrlen) || listen(s, 4)) {
		err = db_error_errno(-errno, "listen %s", addr);
		close(s);
		goto out;
	}
	getsockname(s, (struct sockaddr *)&ss, &sl);
	*port = ntohs(ss.ss_family == AF_INET6 ?
		      ((struct sockaddr_in6 *)&ss)->sin6_port :
		      ((struct sockaddr_in *)&ss)->sin_port);
	*fd = s;
out:
	freeaddrinfo(ai);
	return err;
}

/* Wait for events on fd, in slices, for up to timeout_ns (0: forever). */
static int wait_fd(int fd, short events, uint64_t timeout_ns, const char *what)
{
	uint64_t t0 = db_now_ns();
	struct pollfd pfd = { .fd = fd, .events = events };
	int n;

	for (;;) {
		if (db_interrupted)
			return db_error(-EINTR, "%s: interrupted by a signal", what);
		n = poll(&pfd, 1, SLICE_MS);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return db_error_errno(-errno, "%s: poll", what);
		if (timeout_ns && db_now_ns() - t0 >= timeout_ns)
			return db_error(-ETIMEDOUT, "%s: timed out after %.1f s",
					what, timeout_ns / 1e9);
	}
}

int db_tcp_accept(int lfd, uint64_t timeout_ns, int *fd)
{
	int err = wait_fd(lfd, POLLIN, timeout_ns, "waiting for the source to connect");
	int s;

	if (err)
		return err;
	s = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (s < 0)
		return db_error_errno(-errno, "accept");
	*fd = s;
	return 0;
}

int db_tcp_connect(const char *addr, uint64_t timeout_ns, int *fd)
{
	uint64_t t0 = db_now_ns();
	struct addrinfo *ai;
	socklen_t sl;
	int s = -1, soerr, err = resolve(addr, 0, &ai);

	if (err)
		return err;
	for (;;) {
		s = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (s < 0) {
			err = db_error_errno(-errno, "connect %s: socket", addr);
			break;
		}
		soerr = 0;
		if (connect(s, ai->ai_addr, ai->ai_addrlen) && errno != EINPROGRESS) {
			soerr = errno;
		} else {
			err = wait_fd(s, POLLOUT, timeout_ns, "connecting to the destination");
			if (err)
				break;
			sl = sizeof(soerr);
			getsockopt(s, SOL_SOCKET, SO_ERROR, &soerr, &sl);
		}
		if (!soerr) {
			fcntl(s, F_SETFL, fcntl(s, F_GETFL) & ~O_NONBLOCK);
			*fd = s;
			freeaddrinfo(ai);
			return 0;
		}
		close(s);
		s = -1;
		if ((soerr != ECONNREFUSED && soerr != EAGAIN) ||
		    db_now_ns() - t0 >= timeout_ns) {
			err = db_error_errno(-soerr, "connect %s", addr);
			break;
		}
		db_sleep_ns(100 * 1000000ull);
	}
	if (s >= 0)
		close(s);
	freeaddrinfo(ai);
	return err;
}

static uint64_t ld(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static void st(uint64_t *p, uint64_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELAXED);
}

static void add(uint64_t *p, uint64_t v)
{
	__atomic_fetch_add(p, v, __ATOMIC_RELAXED);
}

/* Wait on c->cond (lock held) until dl_ns, at most one slice. */
static void wait_slice(struct db_conn *c, uint64_t dl_ns)
{
	uint64_t t = DB_MIN(dl_ns, db_now_ns() + SLICE_MS * 1000000ull);
	struct timespec ts = {
		.tv_sec = (time_t)(t / 1000000000ull),
		.tv_nsec = (long)(t % 1000000000ull),
	};

	pthread_cond_timedwait(&c->cond, &c->lock, &ts);
}

void db_conn_fail(struct db_conn *c, int err, const char *msg)
{
	pthread_mutex_lock(&c->lock);
	if (!c->err) {
		c->err = err;
		snprintf(c->errmsg, sizeof(c->errmsg), "%s", msg);
	}
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

static const char *peer_name(const struct db_conn *c)
{
	return c->self == DB_ROLE_SRC ? "destination" : "source";
}

static int fail_here(struct db_conn *c, int err)
{
	db_conn_fail(c, err, db_strerror());
	return err;
}

/* Advance an iovec array past n bytes; returns the first entry left. */
static struct iovec *iov_advance(struct iovec *iov, int *cnt, size_t n)
{
	while (*cnt && n >= iov->iov_len) {
		n -= iov->iov_len;
		iov++;
		(*cnt)--;
	}
	if (*cnt && n) {
		iov->iov_base = (uint8_t *)iov->iov_base + n;
		iov->iov_len -= n;
	}
	return iov;
}

/*
 * Read exactly the bytes iov describes (the array is consumed). Returns
 * 0, 1 on a clean end of stream before the first byte (at_start only),
 * or -errno with a sentence.
 */
static int past_deadline(struct db_conn *c)
{
	if (c->deadline_ns && db_now_ns() > c->deadline_ns)
		return db_error(-ETIMEDOUT, "%s", c->deadline_why);
	return 0;
}

void db_conn_set_deadline(struct db_conn *c, uint64_t deadline_ns,
			  const char *why)
{
	c->deadline_ns = deadline_ns;
	if (why)
		snprintf(c->deadline_why, sizeof(c->deadline_why), "%s", why);
}

static int rx_readv(struct db_conn *c, struct iovec *iov, int cnt, bool at_start,
		    const char *what)
{
	struct msghdr mh = { 0 };
	size_t off = 0, len = 0;
	ssize_t n;
	int i;

	for (i = 0; i < cnt; i++)
		len += iov[i].iov_len;
	while (off < len) {
		if (__atomic_load_n(&c->closing, __ATOMIC_ACQUIRE))
			return db_error(-ECANCELED, "connection closed locally");
		/* blocks for at most a slice (SO_RCVTIMEO), then we look around */
		mh.msg_iov = iov;
		mh.msg_iovlen = (size_t)DB_MIN(cnt, IOV_MAX);
		n = recvmsg(c->fd, &mh, MSG_WAITALL);
		if (n > 0) {
			off += (size_t)n;
			iov = iov_advance(iov, &cnt, (size_t)n);
			add(&c->bytes_rx, (uint64_t)n);
			st(&c->last_rx_ns, db_now_ns());
			if (off < len && past_deadline(c))
				return -ETIMEDOUT;
			continue;
		}
		if (n == 0) {
			if (__atomic_load_n(&c->closing, __ATOMIC_ACQUIRE))
				return db_error(-ECANCELED, "connection closed locally");
			if (at_start && off == 0)
				return 1;
			return db_error(-ECONNRESET,
					"truncated %s: the %s closed the stream after %zu of %zu bytes",
					what, peer_name(c), off, len);
		}
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			return db_error_errno(-errno, "connection to the %s lost",
					      peer_name(c));
		if (db_now_ns() - ld(&c->last_rx_ns) > c->timeout_ns)
			return db_error(-ETIMEDOUT,
					"nothing heard from the %s for %.1f s (peer or link lost)",
					peer_name(c), c->timeout_ns / 1e9);
		if (past_deadline(c))
			return -ETIMEDOUT;
	}
	return 0;
}

static int rx_read(struct db_conn *c, void *buf, size_t len, bool at_start,
		   const char *what)
{
	struct iovec iov = { .iov_base = buf, .iov_len = len };

	return rx_readv(c, &iov, 1, at_start, what);
}

static int queue_frame(struct db_conn *c, struct db_frame *f)
{
	bool waited = false;

	pthread_mutex_lock(&c->lock);
	while (c->qlen == DB_CONN_QLEN && !c->closing) {
		pthread_cond_wait(&c->cond, &c->lock);
		waited = true;
	}
	if (c->closing) {
		pthread_mutex_unlock(&c->lock);
		return -ECANCELED;
	}
	c->q[(c->qhead + c->qlen) % DB_CONN_QLEN] = *f;
	c->qlen++;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	/* the time we did not read is not the peer's silence */
	if (waited)
		st(&c->last_rx_ns, db_now_ns());
	return 0;
}

static void *rx_main(void *arg)
{
	struct db_conn *c = arg;
	enum db_role peer = c->self == DB_ROLE_SRC ? DB_ROLE_DST : DB_ROLE_SRC;
	uint8_t hb[DB_PROTO_HDR_BYTES];
	struct db_frame f;
	char what[64];
	int r;

	for (;;) {
		r = rx_read(c, hb, sizeof(hb), true, "frame header");
		if (r == 1) {
			db_error(-ECONNRESET, "the %s closed the connection",
				 peer_name(c));
			r = -ECONNRESET;
		}
		if (r)
			break;
		r = db_hdr_decode(hb, &f.h, c->rx_seq, peer);
		if (r)
			break;
		c->rx_seq++;
		f.payload = NULL;
		if (f.h.len) {
			f.payload = malloc(f.h.len);
			if (!f.payload) {
				r = db_error(-ENOMEM, "no memory for a frame of %u bytes",
					     f.h.len);
				break;
			}
			snprintf(what, sizeof(what), "frame %s",
				 db_frame_name(f.h.type));
			r = rx_read(c, f.payload, f.h.len, false, what);
			if (r) {
				free(f.payload);
				break;
			}
		}
		if (f.h.type == DB_FR_HEARTBEAT)
			continue;
		r = queue_frame(c, &f);
		if (r) {
			free(f.payload);
			break;
		}
	}
	pthread_mutex_lock(&c->lock);
	if (!c->err && r != -ECANCELED) {
		c->err = r;
		snprintf(c->errmsg, sizeof(c->errmsg), "%s", db_strerror());
	}
	c->rx_done = true;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

/*
 * Write all the bytes iov describes (the array is consumed), in one
 * sendmsg() when the socket takes it; give up after a stall of
 * timeout_ns. Paced connections go in pieces of CHUNK_PACED.
 */
static int tx_writev(struct db_conn *c, struct iovec *iov, int cnt)
{
	uint64_t stall0 = db_now_ns(), wait;
	struct msghdr mh = { 0 };
	size_t left = 0, n, acc, cut;
	ssize_t w;
	int i, k, r;

	for (i = 0; i < cnt; i++)
		left += iov[i].iov_len;
	while (left) {
		if (db_interrupted)
			return db_error(-EINTR, "send: interrupted by a signal");
		n = left;
		k = DB_MIN(cnt, IOV_MAX);
		cut = 0;
		if (c->limited) {
			n = DB_MIN(left, (size_t)CHUNK_PACED);
			for (k = 0, acc = 0; acc < n; k++)
				acc += iov[k].iov_len;
			cut = acc - n;	/* bytes of iov[k - 1] left for later */
			wait = db_tb_take(&c->tb, n, db_now_ns());
			while (wait) {
				uint64_t s = DB_MIN(wait, SLICE_MS * 1000000ull);

				db_sleep_ns(s);
				wait -= s;
				if (db_interrupted)
					return db_error(-EINTR, "send: interrupted by a signal");
				pthread_mutex_lock(&c->lock);
				r = c->err;
				pthread_mutex_unlock(&c->lock);
				if (r)
					return db_conn_check(c);
			}
		}
		/* blocks for at most a slice (SO_SNDTIMEO), then we look around */
		iov[k - 1].iov_len -= cut;
		mh.msg_iov = iov;
		mh.msg_iovlen = (size_t)k;
		w = sendmsg(c->fd, &mh, MSG_NOSIGNAL);
		iov[k - 1].iov_len += cut;
		if (w > 0) {
			left -= (size_t)w;
			iov = iov_advance(iov, &cnt, (size_t)w);
			add(&c->bytes_tx, (uint64_t)w);
			st(&c->last_tx_ns, db_now_ns());
			stall0 = db_now_ns();
			if (c->limited && (size_t)w < n)	/* give back what did not go */
				c->tb.tokens += (double)(n - (size_t)w);
			continue;
		}
		if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			return db_error_errno(-errno, "connection to the %s lost",
					      peer_name(c));
		if (c->limited)	/* the bytes were not sent: give them back */
			c->tb.tokens += (double)n;
		pthread_mutex_lock(&c->lock);
		r = c->err;
		pthread_mutex_unlock(&c->lock);
		if (r)
			return db_conn_check(c);
		if (db_now_ns() - stall0 > c->timeout_ns)
			return db_error(-ETIMEDOUT,
					"could not send to the %s for %.1f s (peer or link lost)",
					peer_name(c), c->timeout_ns / 1e9);
	}
	return 0;
}

static int send_locked(struct db_conn *c, uint16_t type, const struct iovec *iov,
		       int iovcnt)
{
	struct iovec v[DB_CONN_IOV_MAX + 1];
	uint8_t h[DB_PROTO_HDR_BYTES];
	size_t len = 0;
	int i, n = 1;

	if (iovcnt > DB_CONN_IOV_MAX)
		return db_error(-EINVAL, "send: a frame of %d pieces (at most %d)",
				iovcnt, DB_CONN_IOV_MAX);
	for (i = 0; i < iovcnt; i++) {
		len += iov[i].iov_len;
		if (iov[i].iov_len)
			v[n++] = iov[i];
	}
	if (len > UINT32_MAX)
		return db_error(-EINVAL, "send: a frame of %zu bytes", len);
	db_hdr_encode(h, type, (uint32_t)len, c->tx_seq++);
	v[0].iov_base = h;
	v[0].iov_len = sizeof(h);
	return tx_writev(c, v, n);
}

int db_conn_sendv(struct db_conn *c, uint16_t type, const struct iovec *iov,
		  int iovcnt)
{
	int err = 0;

	/* a last word (ERROR, CANCEL) still goes out after a receive failure */
	if (type != DB_FR_ERROR && type != DB_FR_CANCEL)
		err = db_conn_check(c);
	if (err)
		return err;
	pthread_mutex_lock(&c->wlock);
	err = send_locked(c, type, iov, iovcnt);
	pthread_mutex_unlock(&c->wlock);
	if (err)
		fail_here(c, err);
	return err;
}

int db_conn_send(struct db_conn *c, uint16_t type, const void *p, size_t len)
{
	struct iovec iov = { .iov_base = (void *)p, .iov_len = len };

	return db_conn_sendv(c, type, &iov, len ? 1 : 0);
}

static void *hb_main(void *arg)
{
	struct db_conn *c = arg;
	int err;

	pthread_mutex_lock(&c->lock);
	while (!c->hb_stop) {
		wait_slice(c, db_now_ns() + c->hb_interval_ns / 2);
		if (c->hb_stop || c->err)
			break;
		if (db_now_ns() - ld(&c->last_tx_ns) < c->hb_interval_ns)
			continue;
		pthread_mutex_unlock(&c->lock);
		pthread_mutex_lock(&c->wlock);
		err = 0;
		if (db_now_ns() - ld(&c->last_tx_ns) >= c->hb_interval_ns)
			err = send_locked(c, DB_FR_HEARTBEAT, NULL, 0);
		pthread_mutex_unlock(&c->wlock);
		if (err)
			db_conn_fail(c, err, db_strerror());
		pthread_mutex_lock(&c->lock);
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

static int conn_open(struct db_conn *c, int fd, enum db_role self,
		     uint64_t timeout_ns, bool inline_rx, uint16_t direct_type)
{
	struct timeval slice = { .tv_usec = SLICE_MS * 1000 };
	pthread_condattr_t ca;
	int one = 1, idle = 1, cnt = 2;
	unsigned ut;
	int err;

	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->self = self;
	c->inline_rx = inline_rx;
	c->direct_type = direct_type;
	c->timeout_ns = timeout_ns ? timeout_ns : 2000000000ull;
	c->hb_interval_ns = DB_MAX(c->timeout_ns / 8, 10000000ull);
	ut = (unsigned)(c->timeout_ns / 1000000);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &idle, sizeof(idle));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
	setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &ut, sizeof(ut));
	/* blocking calls that wake up every slice to check the time */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &slice, sizeof(slice));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &slice, sizeof(slice));
	pthread_mutex_init(&c->wlock, NULL);
	pthread_mutex_init(&c->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->cond, &ca);
	pthread_condattr_destroy(&ca);
	c->last_rx_ns = c->last_tx_ns = db_now_ns();
	if (!inline_rx) {
		err = -pthread_create(&c->rx_thr, NULL, rx_main, c);
		if (err)
			goto fail;
		c->rx_started = true;
	}
	err = -pthread_create(&c->hb_thr, NULL, hb_main, c);
	if (err)
		goto fail;
	c->hb_started = true;
	return 0;
fail:
	db_conn_close(c);
	return db_error_errno(err, "transport: cannot start a thread");
}

int db_conn_open(struct db_conn *c, int fd, enum db_role self,
		 uint64_t timeout_ns)
{
	return conn_open(c, fd, self, timeout_ns, false, 0);
}

int db_conn_open_inline(struct db_conn *c, int fd, enum db_role self,
			uint64_t timeout_ns, uint16_t direct_type)
{
	return conn_open(c, fd, self, timeout_ns, true, direct_type);
}

void db_conn_set_buffers(struct db_conn *c, int bytes, bool send, bool recv)
{
	/* the kernel doubles the value and caps it at [wr]mem_max */
	if (send)
		setsockopt(c->fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof(bytes));
	if (recv)
		setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes));
}

void db_conn_set_rate(struct db_conn *c, uint64_t rate)
{
	pthread_mutex_lock(&c->wlock);
	c->limited = rate > 0;
	/* a few ms of burst keeps the pacing smooth at any rate */
	db_tb_init(&c->tb, rate, DB_MAX(rate / 200, 64 * 1024), db_now_ns());
	c->tb.tokens = 0;
	pthread_mutex_unlock(&c->wlock);
}

/* The sticky error, or 0; with its message. */
static int sticky(struct db_conn *c)
{
	int err;

	pthread_mutex_lock(&c->lock);
	err = c->err;
	if (err)
		db_error(err, "%s", c->errmsg);
	pthread_mutex_unlock(&c->lock);
	return err;
}

/* Inline: wait up to timeout_ns for the first byte of a frame. */
static int wait_readable(struct db_conn *c, uint64_t dl)
{
	struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
	uint64_t now;
	int n, err;

	for (;;) {
		now = db_now_ns();
		n = poll(&pfd, 1, (int)DB_MIN((dl > now ? dl - now : 0) / 1000000,
					      (uint64_t)SLICE_MS));
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return fail_here(c, db_error_errno(-errno, "receive from the %s",
							   peer_name(c)));
		err = sticky(c);
		if (err)
			return err;
		if (db_interrupted)
			return db_error(-EINTR, "interrupted by a signal");
		now = db_now_ns();
		if (now - ld(&c->last_rx_ns) > c->timeout_ns)
			return fail_here(c, db_error(-ETIMEDOUT,
						     "nothing heard from the %s for %.1f s (peer or link lost)",
						     peer_name(c), c->timeout_ns / 1e9));
		if (past_deadline(c))
			return fail_here(c, -ETIMEDOUT);
		if (now >= dl)
			return -EAGAIN;
	}
}

static int recv_inline(struct db_conn *c, struct db_frame *f, uint64_t timeout_ns)
{
	enum db_role peer = c->self == DB_ROLE_SRC ? DB_ROLE_DST : DB_ROLE_SRC;
	uint64_t dl = db_now_ns() + timeout_ns;
	uint8_t hb[DB_PROTO_HDR_BYTES];
	char what[64];
	int err;

	if (c->rx_pending)
		return db_error(-EINVAL, "transport: %u payload bytes of the last frame were not read",
				c->rx_pending);
	err = sticky(c);
	if (err)
		return err;
	/* the time we did not read is not the peer's silence */
	st(&c->last_rx_ns, db_now_ns());
	for (;;) {
		err = wait_readable(c, dl);
		if (err)
			return err;
		err = rx_read(c, hb, sizeof(hb), true, "frame header");
		if (err == 1)
			err = db_error(-ECONNRESET, "the %s closed the connection",
				       peer_name(c));
		if (!err)
			err = db_hdr_decode(hb, &f->h, c->rx_seq, peer);
		if (err)
			return fail_here(c, err);
		c->rx_seq++;
		f->payload = NULL;
		if (f->h.type == c->direct_type) {
			c->rx_pending = f->h.len;
			return 0;
		}
		if (f->h.len) {
			f->payload = malloc(f->h.len);
			if (!f->payload)
				return fail_here(c, db_error(-ENOMEM, "no memory for a frame of %u bytes",
							     f->h.len));
			snprintf(what, sizeof(what), "frame %s", db_frame_name(f->h.type));
			err = rx_read(c, f->payload, f->h.len, false, what);
			if (err) {
				db_frame_free(f);
				return fail_here(c, err);
			}
		}
		if (f->h.type != DB_FR_HEARTBEAT)
			return 0;
		db_frame_free(f);
	}
}

int db_conn_readv(struct db_conn *c, struct iovec *iov, int iovcnt)
{
	char what[64];
	size_t len = 0;
	int i, err;

	for (i = 0; i < iovcnt; i++)
		len += iov[i].iov_len;
	if (!c->inline_rx || len > c->rx_pending)
		return db_error(-EINVAL, "transport: read of %zu bytes, %u left in the frame",
				len, c->rx_pending);
	err = sticky(c);
	if (err)
		return err;
	snprintf(what, sizeof(what), "frame %s", db_frame_name(c->direct_type));
	err = rx_readv(c, iov, iovcnt, false, what);
	if (err)
		return fail_here(c, err);
	c->rx_pending -= (uint32_t)len;
	return 0;
}

int db_conn_read(struct db_conn *c, void *buf, size_t len)
{
	struct iovec iov = { .iov_base = buf, .iov_len = len };

	return db_conn_readv(c, &iov, 1);
}

int db_conn_recv(struct db_conn *c, struct db_frame *f, uint64_t timeout_ns)
{
	uint64_t dl = db_now_ns() + timeout_ns;
	int err = 0;

	if (c->inline_rx)
		return recv_inline(c, f, timeout_ns);
	pthread_mutex_lock(&c->lock);
	for (;;) {
		if (c->qlen) {
			*f = c->q[c->qhead];
			c->qhead = (c->qhead + 1) % DB_CONN_QLEN;
			c->qlen--;
			pthread_cond_broadcast(&c->cond);
			break;
		}
		if (c->err) {
			err = c->err;
			db_error(err, "%s", c->errmsg);
			break;
		}
		if (db_interrupted) {
			err = db_error(-EINTR, "interrupted by a signal");
			break;
		}
		if (db_now_ns() >= dl) {
			err = -EAGAIN;
			break;
		}
		wait_slice(c, dl);
	}
	pthread_mutex_unlock(&c->lock);
	return err;
}

int db_conn_send_msg(struct db_conn *c, struct db_proto_rx *st, uint16_t type,
		     const void *p, size_t len)
{
	int err = db_conn_send(c, type, p, len);

	if (!err)
		db_proto_tx(st, type, p, (uint32_t)len);
	return err;
}

int db_conn_recv_msg(struct db_conn *c, struct db_proto_rx *st,
		     struct db_frame *f, struct db_msg *m, uint64_t timeout_ns)
{
	int err = db_conn_recv(c, f, timeout_ns);

	return err ? err : db_conn_decode_msg(c, st, f, m);
}

int db_conn_decode_msg(struct db_conn *c, struct db_proto_rx *st,
		       struct db_frame *f, struct db_msg *m)
{
	int err = db_proto_rx(st, f->h.type, f->payload, f->h.len, m);

	if (!err && m->type == DB_FR_ERROR)
		err = db_error(-ECONNABORTED, "the %s reported: %.*s", peer_name(c),
			       (int)m->error.len, m->error.text);
	if (!err && m->type == DB_FR_CANCEL)
		err = db_error(-ECANCELED, "the source cancelled the migration: %.*s",
			       (int)m->error.len, m->error.text);
	if (err)
		db_frame_free(f);
	return err;
}

void db_frame_free(struct db_frame *f)
{
	free(f->payload);
	f->payload = NULL;
}

int db_conn_check(struct db_conn *c)
{
	int err = sticky(c);

	if (!err && db_interrupted)
		err = db_error(-EINTR, "interrupted by a signal");
	return err;
}

uint64_t db_conn_bytes_tx(struct db_conn *c)
{
	return ld(&c->bytes_tx);
}

uint64_t db_conn_bytes_rx(struct db_conn *c)
{
	return ld(&c->bytes_rx);
}

uint64_t db_conn_outq(struct db_conn *c)
{
	int n = 0;

	if (c->fd < 0 || ioctl(c->fd, SIOCOUTQ, &n) || n < 0)
		return 0;
	return (uint64_t)n;
}

static void stop_hb(struct db_conn *c)
{
	pthread_mutex_lock(&c->lock);
	c->hb_stop = true;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	if (c->hb_started) {
		pthread_join(c->hb_thr, NULL);
		c->hb_started = false;
	}
}

/* Inline: read and drop whatever comes until the peer's FIN or dl. */
static void drain_inline(struct db_conn *c, uint64_t dl)
{
	uint8_t buf[4096];
	ssize_t n;

	while (db_now_ns() < dl && !db_interrupted) {
		n = recv(c->fd, buf, sizeof(buf), 0);	/* at most a slice */
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
			       errno != EINTR))
			break;
	}
}

void db_conn_finish(struct db_conn *c, uint64_t linger_ns)
{
	uint64_t dl = db_now_ns() + linger_ns;

	if (c->fd < 0)
		return;
	/* the receive thread keeps draining while we wait for the FIN */
	stop_hb(c);
	pthread_mutex_lock(&c->wlock);
	shutdown(c->fd, SHUT_WR);
	pthread_mutex_unlock(&c->wlock);
	if (c->inline_rx) {
		drain_inline(c, dl);
		db_conn_close(c);
		return;
	}
	pthread_mutex_lock(&c->lock);
	while (c->rx_started && !c->rx_done) {
		/* drop what nobody will read, so the receiver is not blocked */
		while (c->qlen) {
			free(c->q[c->qhead].payload);
			c->qhead = (c->qhead + 1) % DB_CONN_QLEN;
			c->qlen--;
		}
		pthread_cond_broadcast(&c->cond);
		if (db_now_ns() >= dl)
			break;
		wait_slice(c, dl);
	}
	pthread_mutex_unlock(&c->lock);
	db_conn_close(c);
}

void db_conn_close(struct db_conn *c)
{
	if (c->fd < 0)
		return;
	stop_hb(c);
	pthread_mutex_lock(&c->lock);
	c->closing = true;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	shutdown(c->fd, SHUT_RDWR);
	if (c->rx_started) {
		pthread_join(c->rx_thr, NULL);
		c->rx_started = false;
	}
	while (c->qlen) {
		free(c->q[c->qhead].payload);
		c->qhead = (c->qhead + 1) % DB_CONN_QLEN;
		c->qlen--;
	}
	close(c->fd);
	c->fd = -1;
	pthread_mutex_destroy(&c->wlock);
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->cond);
}
