// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/queue.h>
#include <sys/resource.h>
#include <microhttpd.h>
#include "http.h"

/* Room for a fleet's scrapers, and for a flood of idle or slow clients to
 * sit out their deadline beside them. Should even that fill, the
 * connection that has waited longest for its request gives way to the
 * newcomer (see opened()): the server always accepts, and a scraper,
 * whose request comes with its connection, is answered. */
#define MAX_CONNECTIONS 2048
#define MIN_CONNECTIONS 16
/* File descriptors left to the agent beyond those it holds when the
 * server starts (its maps, programs and links: 8 an interface), for what
 * it opens later (its timer, a terminal). */
#define FD_MARGIN 64
/* So that one host cannot take them all: a scraper needs one connection,
 * a Prometheus pair behind one NAT address and an operator's curl a few. */
#define CONNECTIONS_PER_ADDRESS 16
/* A request must have arrived in whole this long after its connection
 * opened (or its last answer was sent), however it trickles in: a header
 * line every few seconds renews no timeout. */
#define REQUEST_SECONDS 5
/* A client that stops reading its answer for this long is dropped (one
 * that sends nothing meets its request's deadline first). */
#define IDLE_TIMEOUT_SECONDS 10
/* A request's headers must fit: a huge one gets 431, not memory. */
#define CONNECTION_MEMORY (16 * 1024)

#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

static const char index_page[] =
	"<html><head><title>xdptop</title></head><body><h1>xdptop</h1>"
	"<p>Who sends traffic to this host, counted with XDP: "
	"<a href=\"/metrics\">/metrics</a></p></body></html>\n";

/* One round's /metrics, shared by the responses that send it. */
struct page {
	atomic_int refs;
	size_t len;
	char text[];
};

/* A connection, from libmicrohttpd's notice that it opened to the one that
 * it closed (which comes before its descriptor is closed: until then, the
 * sweeper may shut it down). */
struct conn {
	TAILQ_ENTRY(conn) link;
	int fd;
	double since;	/* when it began to wait for its request */
	bool answering;	/* its request arrived: no deadline until answered */
	bool cut;	/* shut down: libmicrohttpd closes it */
};

struct http {
	struct MHD_Daemon *daemon;
	/* Guards page (the round's thread swaps it) and what follows (the
	 * sweeper reads it). */
	pthread_mutex_t lock;
	struct page *page;
	TAILQ_HEAD(, conn) conns;	/* by since, the oldest first */
	unsigned int n_conns, max_conns;
	pthread_t sweeper;
	pthread_cond_t wake;	/* the sweeper's: a first connection, or stop */
	bool stopping;
};

/* The backlog as long as the kernel allows (net.core.somaxconn): a burst
 * of connections waits there to be accepted, where a full queue would drop
 * a scraper's SYN, and its retry comes a second later. */
int http_listen(const struct sockaddr *addr, socklen_t len)
{
	int one = 1, fd = socket(addr->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, addr, len) || listen(fd, SOMAXCONN)) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

static void page_put(void *cls)
{
	struct page *p = cls;

	if (p && atomic_fetch_sub(&p->refs, 1) == 1)
		free(p);
}

static struct page *page_get(struct http *h)
{
	struct page *p;

	pthread_mutex_lock(&h->lock);
	p = h->page;
	if (p)
		atomic_fetch_add(&p->refs, 1);
	pthread_mutex_unlock(&h->lock);
	return p;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* libmicrohttpd reads the end of the stream, and closes the connection. */
static void cut(struct conn *k)
{
	shutdown(k->fd, SHUT_RDWR);
	k->cut = true;
}

static struct conn *oldest_waiting(struct http *h)
{
	struct conn *k;

	TAILQ_FOREACH(k, &h->conns, link)
		if (!k->answering && !k->cut)
			return k;
	return NULL;
}

/* Cuts the connections whose request is late, once a second while there
 * are any: a request gets REQUEST_SECONDS, and at most one more. */
static void *sweep(void *arg)
{
	struct http *h = arg;
	struct timespec tick;
	struct conn *k;

	pthread_mutex_lock(&h->lock);
	while (!h->stopping) {
		double t = now();

		TAILQ_FOREACH(k, &h->conns, link) {
			if (k->answering || k->cut)
				continue;
			if (t - k->since < REQUEST_SECONDS)
				break;	/* and so are those after it */
			cut(k);
		}
		if (!h->n_conns) {
			pthread_cond_wait(&h->wake, &h->lock);
			continue;
		}
		clock_gettime(CLOCK_MONOTONIC, &tick);
		tick.tv_sec++;
		pthread_cond_timedwait(&h->wake, &h->lock, &tick);
	}
	pthread_mutex_unlock(&h->lock);
	return NULL;
}

/* A new connection waits for its request. At the limit libmicrohttpd stops
 * accepting: the one that has waited longest gives way (this one, if every
 * other is being answered), so that the next is accepted. */
static void opened(struct http *h, struct MHD_Connection *c, void **context)
{
	struct conn *k = calloc(1, sizeof(*k));
	int fd = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD)->connect_fd;

	*context = k;
	if (!k) {
		shutdown(fd, SHUT_RDWR);	/* untracked, it would have no deadline */
		return;
	}
	k->fd = fd;
	k->since = now();
	pthread_mutex_lock(&h->lock);
	TAILQ_INSERT_TAIL(&h->conns, k, link);
	if (++h->n_conns == 1)
		pthread_cond_signal(&h->wake);
	if (h->n_conns >= h->max_conns)
		cut(oldest_waiting(h));
	pthread_mutex_unlock(&h->lock);
}

static void notice(void *cls, struct MHD_Connection *c, void **context,
		   enum MHD_ConnectionNotificationCode code)
{
	struct http *h = cls;
	struct conn *k = *context;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		opened(h, c, context);
		return;
	}
	if (!k)
		return;
	pthread_mutex_lock(&h->lock);
	TAILQ_REMOVE(&h->conns, k, link);
	h->n_conns--;
	pthread_mutex_unlock(&h->lock);
	free(k);
}

/* Its request arrived: no deadline while it is answered. Answered, it
 * waits for the next one from now, the newest of those waiting. */
static void set_answering(struct http *h, struct MHD_Connection *c, bool answering)
{
	struct conn *k = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT)
			 ->socket_context;

	if (!k)
		return;
	pthread_mutex_lock(&h->lock);
	k->answering = answering;
	if (!answering) {
		k->since = now();
		TAILQ_REMOVE(&h->conns, k, link);
		TAILQ_INSERT_TAIL(&h->conns, k, link);
	}
	pthread_mutex_unlock(&h->lock);
}

static void completed(void *cls, struct MHD_Connection *c, void **state,
		      enum MHD_RequestTerminationCode why)
{
	(void)state;
	(void)why;
	set_answering(cls, c, false);
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned int status,
			     struct MHD_Response *r, const char *type)
{
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	if (type)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static struct MHD_Response *text_response(const char *text)
{
	return MHD_create_response_from_buffer(strlen(text), (void *)text,
					       MHD_RESPMEM_PERSISTENT);
}

static enum MHD_Result metrics(struct http *h, struct MHD_Connection *c)
{
	struct page *p = page_get(h);
	struct MHD_Response *r;

	if (!p)	/* before the first round */
		return reply(c, MHD_HTTP_SERVICE_UNAVAILABLE,
			     text_response("no report yet: the first comes after one interval\n"),
			     "text/plain");
	r = MHD_create_response_from_buffer_with_free_callback_cls(p->len, p->text, page_put, p);
	if (!r)
		page_put(p);
	return reply(c, MHD_HTTP_OK, r, CONTENT_TYPE);
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version, const char *upload,
			      size_t *upload_size, void **state)
{
	(void)version;
	(void)upload;
	(void)upload_size;
	(void)state;
	set_answering(cls, c, true);
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED,
			     text_response("only GET and HEAD\n"), "text/plain");
	if (!strcmp(url, "/metrics"))
		return metrics(cls, c);
	if (!strcmp(url, "/"))
		return reply(c, MHD_HTTP_OK, text_response(index_page), "text/html");
	return reply(c, MHD_HTTP_NOT_FOUND, text_response("not found: see /metrics\n"),
		     "text/plain");
}

/* libmicrohttpd's own complaints (a client's bad request) are not the
 * operator's business: the client got its error code. */
static void quiet(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	(void)fmt;
	(void)ap;
}

/* The descriptors open now (those of /proc/self/fd, less the one that
 * reads it); without /proc, as many as 64 interfaces hold. */
static rlim_t open_descriptors(void)
{
	DIR *d = opendir("/proc/self/fd");
	rlim_t n = 0;

	if (!d)
		return 8 * 64 + 16;
	while (readdir(d))
		n++;
	closedir(d);
	return n - 3;	/* ".", "..", and d's own */
}

/* Each connection holds a descriptor. The soft limit (1024 under systemd,
 * which keeps it low for select(): nothing here uses select()) is raised
 * for them, within the hard one; where that is too low, fewer connections.
 * accept() must never fail for want of a descriptor: libmicrohttpd would
 * stop accepting until some connection closed, and no newcomer could make
 * room. */
static unsigned int connection_limit(void)
{
	const rlim_t reserve = open_descriptors() + FD_MARGIN;
	const rlim_t want = MAX_CONNECTIONS + reserve;
	struct rlimit r;

	getrlimit(RLIMIT_NOFILE, &r);
	if (r.rlim_cur < want) {
		r.rlim_cur = r.rlim_max < want ? r.rlim_max : want;
		if (setrlimit(RLIMIT_NOFILE, &r))
			getrlimit(RLIMIT_NOFILE, &r);
	}
	if (r.rlim_cur >= want)
		return MAX_CONNECTIONS;
	/* Too few for even a few scrapers: a few all the same, and accept()
	 * may then fail (the limit is the operator's to raise). */
	return r.rlim_cur > reserve + MIN_CONNECTIONS ? r.rlim_cur - reserve : MIN_CONNECTIONS;
}

static struct http *http_new(void)
{
	struct http *h = calloc(1, sizeof(*h));
	pthread_condattr_t monotonic;

	if (!h)
		return NULL;
	pthread_mutex_init(&h->lock, NULL);
	pthread_condattr_init(&monotonic);
	pthread_condattr_setclock(&monotonic, CLOCK_MONOTONIC);	/* sweep()'s tick */
	pthread_cond_init(&h->wake, &monotonic);
	pthread_condattr_destroy(&monotonic);
	TAILQ_INIT(&h->conns);
	h->max_conns = connection_limit();
	if (!pthread_create(&h->sweeper, NULL, sweep, h))
		return h;
	pthread_cond_destroy(&h->wake);
	pthread_mutex_destroy(&h->lock);
	free(h);
	return NULL;
}

/* Stops the sweeper, then frees h: libmicrohttpd's thread is gone. */
static void http_free(struct http *h)
{
	pthread_mutex_lock(&h->lock);
	h->stopping = true;
	pthread_cond_signal(&h->wake);
	pthread_mutex_unlock(&h->lock);
	pthread_join(h->sweeper, NULL);
	page_put(h->page);
	pthread_cond_destroy(&h->wake);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

int http_start(struct http **out, int fd)
{
	struct http *h = http_new();

	if (!h) {
		close(fd);
		return -ENOMEM;
	}
	/* poll(), not epoll: under edge-triggered epoll libmicrohttpd takes a
	 * short read for a drained socket, so a client's FIN that came with its
	 * last bytes went unseen and an incomplete request, half-closed, held
	 * its slot for the whole idle timeout (found by tests/fuzz_http.c).
	 * poll() is level-triggered; over MAX_CONNECTIONS descriptors it costs
	 * a few microseconds a wakeup, and clients wake it only when they send. */
	h->daemon = MHD_start_daemon(MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG,
				     0, NULL, NULL, answer, h,
				     MHD_OPTION_LISTEN_SOCKET, fd,
				     MHD_OPTION_CONNECTION_LIMIT, h->max_conns,
				     MHD_OPTION_PER_IP_CONNECTION_LIMIT,
				     (unsigned int)CONNECTIONS_PER_ADDRESS,
				     MHD_OPTION_CONNECTION_TIMEOUT,
				     (unsigned int)IDLE_TIMEOUT_SECONDS,
				     MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY,
				     MHD_OPTION_NOTIFY_CONNECTION, notice, h,
				     MHD_OPTION_NOTIFY_COMPLETED, completed, h,
				     MHD_OPTION_EXTERNAL_LOGGER, quiet, NULL,
				     MHD_OPTION_END);
	if (!h->daemon) {
		close(fd);
		http_free(h);
		return -EIO;
	}
	*out = h;
	return 0;
}

int http_publish(struct http *h, const char *text, size_t len)
{
	struct page *p = malloc(sizeof(*p) + len), *old;

	if (!p)
		return -ENOMEM;
	atomic_init(&p->refs, 1);
	p->len = len;
	memcpy(p->text, text, len);
	pthread_mutex_lock(&h->lock);
	old = h->page;
	h->page = p;
	pthread_mutex_unlock(&h->lock);
	page_put(old);
	return 0;
}

void http_stop(struct http *h)
{
	if (!h)
		return;
	MHD_stop_daemon(h->daemon);	/* the listening socket too */
	http_free(h);
}
