// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* libFuzzer target for the exporter's request path, as it ships: http.c and
 * libmicrohttpd's thread behind a real listening socket on 127.0.0.1 (an
 * ephemeral port), in this process, so the sanitizers see the answer
 * callbacks on that thread. Each input is the byte stream of one client
 * connection: written, then half-closed, then the whole answer is read and
 * checked; anything wrong aborts.
 *
 * libmicrohttpd itself is a system library, not instrumented: coverage only
 * sees http.c. So what the server did is fed back to libFuzzer through extra
 * counters: the status of the first answers, and how many answers the
 * connection got, each distinct value a feature of its own. (Once it has
 * read the EOF, libmicrohttpd answers one request and closes: pipelined
 * ones get answers only when the first is answered before that.) */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "http.h"
#include "fuzz.h"

#define ANSWER_MAX (1 << 20)
#define WAIT_MS 2000	/* for the whole answer: a loopback server answers in far less */
#define REPUBLISH_EVERY 1000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* libFuzzer counts each distinct value of these bytes as new coverage. */
__attribute__((section("__libfuzzer_extra_counters"))) static uint8_t counters[5][64];

static struct sockaddr_in server;
static struct http *http;
static char page[64];	/* what /metrics serves: changed every REPUBLISH_EVERY inputs */
static size_t page_len;

static void publish(unsigned long generation)
{
	page_len = (size_t)snprintf(page, sizeof(page), "# fuzz_http\nxdptop_page %lu\n",
				    generation);
	require(http_publish(http, page, page_len) == 0);
}

static void setup(void)
{
	socklen_t len = sizeof(server);
	int fd;

	server.sin_family = AF_INET;
	server.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = http_listen((struct sockaddr *)&server, sizeof(server));
	require(fd >= 0);
	require(getsockname(fd, (struct sockaddr *)&server, &len) == 0);
	require(http_start(&http, fd) == 0);
	publish(0);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Whether the server closed within WAIT_MS; the bytes it sent until then in
 * answer, *len of them, with a NUL after them. One non-blocking loop writes
 * and reads at once: the server may answer (and close) before the input's
 * end, and a signal (libFuzzer's timer) only restarts the wait. */
static bool exchange(const uint8_t *data, size_t size, char *answer, size_t *len)
{
	/* Closed with a reset: no TIME_WAIT left per input on either side. */
	struct linger reset = { .l_onoff = 1, .l_linger = 0 };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	long long deadline = now_ms() + WAIT_MS;
	bool shut = false, closed = false;
	size_t off = 0, got = 0;

	require(fd >= 0);
	require(setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset)) == 0);
	require(!connect(fd, (struct sockaddr *)&server, sizeof(server)) || errno == EINPROGRESS);
	while (!closed) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		long long left = deadline - now_ms();
		ssize_t n;

		if (left <= 0)
			break;
		if (!shut && off == size) {
			shutdown(fd, SHUT_WR);	/* the request's end: the server sees EOF */
			shut = true;
		}
		p.events |= shut ? 0 : POLLOUT;
		if (poll(&p, 1, left) <= 0)
			continue;	/* EINTR, or the deadline */
		if (!shut && (p.revents & POLLOUT)) {
			n = send(fd, data + off, size - off, MSG_NOSIGNAL);
			if (n > 0)
				off += n;
			else if (errno != EAGAIN && errno != EINTR)
				off = size;	/* answered and closed already */
		}
		if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
			n = recv(fd, answer + got, ANSWER_MAX - got, 0);
			if (n > 0)
				got += n;
			else	/* EOF, or a reset after the answer */
				closed = n == 0 || (errno != EAGAIN && errno != EINTR);
			require(got < ANSWER_MAX);
		}
	}
	close(fd);
	answer[got] = '\0';
	*len = got;
	return closed;
}

/* An answer's status: "HTTP/1.x NNN ", one of what http.c and libmicrohttpd
 * send; its index in counters, 0 if none. */
static int status_index(const char *a, int *status)
{
	static const int allowed[] = { 200, 400, 404, 405, 413, 414, 431, 501, 505 };

	if (strncmp(a, "HTTP/1.", 7) || (a[7] != '0' && a[7] != '1') || a[8] != ' ' ||
	    strspn(a + 9, "0123456789") != 3 || a[12] != ' ')
		return 0;
	*status = atoi(a + 9);
	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
		if (*status == allowed[i])
			return i + 1;
	return 0;
}

/* The first answer of a (whole) stream: framed by its Content-Length, and
 * what http.c promises. */
static void check_first(const char *a, size_t len, const uint8_t *data, size_t size)
{
	static const char get_metrics[] = "GET /metrics ";
	const char *end = strstr(a, "\r\n\r\n"), *stop = a + len, *cl, *body;
	size_t body_len;
	int status;

	status_index(a, &status);
	/* libmicrohttpd 0.9.75 sends the header block of an error it finds in
	 * Content-Length (400, 413) twice (fixed upstream for 1.0, commit
	 * f1bfbe71): the second copy is the answer. */
	if (end && (status == 400 || status == 413) &&
	    !strncmp(end + 4, a, strcspn(a, "\r\n") + 2))
		end = strstr(a = end + 4, "\r\n\r\n");
	require(end);	/* the headers end */
	cl = memmem(a, end - a, "\r\nContent-Length: ", 18);
	require(cl);	/* every body is a buffer: its size is known, never chunked */
	body = end + 4;
	body_len = strtoul(cl + 18, NULL, 10);
	/* A HEAD's answer has no body: skip anything that may read as one. */
	if (!memmem(data, size, "HEAD", 4)) {
		require(body_len <= (size_t)(stop - body));
		require(body + body_len == stop || !strncmp(body + body_len, "HTTP/1.", 7));
	}
	if (status == 405)
		require(memmem(a, end + 2 - a, "\r\nAllow: GET, HEAD\r\n", 20));
	/* A GET of /metrics answered 200 carries the page exactly as its body. */
	if (status == 200 && size >= strlen(get_metrics) &&
	    !memcmp(data, get_metrics, strlen(get_metrics)))
		require(body_len == page_len && page_len <= (size_t)(stop - body) &&
			!memcmp(body, page, page_len));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char *answer;
	static unsigned long inputs;
	bool closed_in_time;
	const char *s;
	int status, n = 0;
	size_t len;

	if (!answer) {
		answer = malloc(ANSWER_MAX);
		require(answer);
		setup();
	}
	/* The swap races with the server thread, that may still hold the page
	 * it last sent (a response is freed after its connection closes). */
	if (++inputs % REPUBLISH_EVERY == 0)
		publish(inputs);

	/* A request ended by the client's FIN is answered (or refused) at
	 * once: a connection the server keeps is a slot lost. */
	closed_in_time = exchange(data, size, answer, &len);
	require(closed_in_time);
	if (!len)
		return 0;	/* closed unanswered: garbage deserves no more */

	/* Each answer of the stream (keep-alive) starts with an allowed status
	 * line; our bodies and libmicrohttpd's have no line starting "HTTP/1.". */
	for (s = answer; s; n++) {
		int i = status_index(s, &status);

		if (!i)
			fprintf(stderr, "fuzz_http: answer %d, status not allowed:\n%.300s\n", n, s);
		require(i);
		counters[n < 3 ? n : 3][i] = 1;
		if ((s = strstr(s, "\nHTTP/1.")))
			s++;
	}
	counters[4][n < 63 ? n : 63] = 1;
	check_first(answer, len, data, size);
	return 0;
}
