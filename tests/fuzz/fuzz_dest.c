// SPDX-License-Identifier: MIT
/*
 * The destination itself (db_dest_serve) serving a session whose source
 * bytes are the input, over a socketpair: the real receive path, page
 * application into guest RAM, verification, hashes on request, the
 * workload's resume and tail. A peer thread writes the input, then ends
 * its half of the stream, and reads whatever the destination answers.
 *
 * Two bounds keep one execution short, both on the input's first frame
 * when it is a HELLO: RAM above FUZZ_RAM_MAX becomes FUZZ_RAM_MAX, and
 * the destination tail is capped at FUZZ_TAIL_MS (both fields lie
 * outside the configuration text its checksum covers).
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz.h"

#include "dirtybench/common.h"
#include "engine/engine.h"
#include "engine/results.h"
#include "runner/options.h"

#define FUZZ_RAM_MAX (4ull << 20)
#define FUZZ_TAIL_MS 5

struct peer {
	int fd;
	const uint8_t *p;
	size_t left;
};

/*
 * One peer thread for the whole run, handed each input in turn: a thread
 * created per input costs ASan a few hundred bytes of bookkeeping that it
 * never gives back, enough to reach the fuzzer's RSS limit after about
 * five million inputs.
 */
static pthread_mutex_t peer_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t peer_cond = PTHREAD_COND_INITIALIZER;
static struct peer *peer_job;
static bool peer_done;

/* Write the input and read the answers until the destination closes. */
static void peer_serve(struct peer *pr)
{
	struct pollfd pfd = { .fd = pr->fd };
	uint8_t sink[65536];
	bool wr = true;
	ssize_t n;

	for (;;) {
		if (wr && !pr->left) {
			shutdown(pr->fd, SHUT_WR);
			wr = false;
		}
		pfd.events = POLLIN | (wr ? POLLOUT : 0);
		if (poll(&pfd, 1, 10000) <= 0)
			break;
		if (pfd.revents & POLLOUT) {
			n = send(pr->fd, pr->p, pr->left, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n > 0) {
				pr->p += n;
				pr->left -= (size_t)n;
			} else if (n < 0 && errno != EAGAIN) {
				wr = false;
			}
		}
		if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
			n = recv(pr->fd, sink, sizeof(sink), MSG_DONTWAIT);
			if (n == 0 || (n < 0 && errno != EAGAIN))
				break;
		}
	}
}

static void *peer_main(void *arg)
{
	struct peer *pr;

	(void)arg;
	for (;;) {
		pthread_mutex_lock(&peer_lock);
		while (!peer_job)
			pthread_cond_wait(&peer_cond, &peer_lock);
		pr = peer_job;
		pthread_mutex_unlock(&peer_lock);
		peer_serve(pr);
		pthread_mutex_lock(&peer_lock);
		peer_job = NULL;
		peer_done = true;
		pthread_cond_broadcast(&peer_cond);
		pthread_mutex_unlock(&peer_lock);
	}
	return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct db_run_config cfg;
	static struct db_result res;
	static bool once;
	struct peer pr;
	pthread_t thr;
	uint8_t *in;
	int sv[2];

	if (!once) {
		db_run_config_defaults(&cfg);
		cfg.peer_timeout_ms = 2000;
		if (pthread_create(&thr, NULL, peer_main, NULL))
			abort();
		pthread_detach(thr);
		once = true;
	}
	in = fuzz_dup(data, size);
	if (size >= DB_PROTO_HDR_BYTES + 104 && db_get32(in) == DB_PROTO_MAGIC &&
	    (in[6] | in[7] << 8) == DB_FR_HELLO) {
		uint8_t *h = in + DB_PROTO_HDR_BYTES;

		if (db_get64(h) > FUZZ_RAM_MAX)
			db_put64(h, FUZZ_RAM_MAX);
		if (db_get32(h + 72) > FUZZ_TAIL_MS)
			db_put32(h + 72, FUZZ_TAIL_MS);
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		abort();
	pr.fd = sv[1];
	pr.p = in;
	pr.left = size;
	pthread_mutex_lock(&peer_lock);
	peer_done = false;
	peer_job = &pr;
	pthread_cond_broadcast(&peer_cond);
	pthread_mutex_unlock(&peer_lock);
	db_result_init(&res, &cfg, DB_ROLE_DST);
	db_dest_serve(&cfg, sv[0], &res);	/* closes sv[0] */
	if (getenv("FUZZ_VERBOSE"))
		fprintf(stderr, "fuzz-dest: outcome %d, RAM %s, resumed %d: %s\n",
			(int)res.outcome, res.ram_equal ? "equal" : "not equal",
			(int)res.resumed, res.error);
	pthread_mutex_lock(&peer_lock);
	while (!peer_done)
		pthread_cond_wait(&peer_cond, &peer_lock);
	pthread_mutex_unlock(&peer_lock);
	close(sv[1]);
	db_result_free(&res);
	free(in);
	return 0;
}
