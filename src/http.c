// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <microhttpd.h>
#include "http.h"

/* Enough for a fleet's scrapers and a few curious operators; more wait
 * in the kernel's backlog, then are refused, never served late. */
#define MAX_CONNECTIONS 64
/* A client that sends nothing (or a byte a second) for this long is
 * dropped: a slow client cannot hold a connection slot for ever. */
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

struct http {
	struct MHD_Daemon *daemon;
	pthread_mutex_t lock;	/* guards page: the round's thread swaps it */
	struct page *page;
};

int http_listen(const struct sockaddr *addr, socklen_t len)
{
	int one = 1, fd = socket(addr->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, addr, len) || listen(fd, 128)) {
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

int http_start(struct http **out, int fd)
{
	struct http *h = calloc(1, sizeof(*h));

	if (!h) {
		close(fd);
		return -ENOMEM;
	}
	pthread_mutex_init(&h->lock, NULL);
	/* poll(), not epoll: under edge-triggered epoll libmicrohttpd takes a
	 * short read for a drained socket, so a client's FIN that came with its
	 * last bytes went unseen and an incomplete request, half-closed, held
	 * its slot for the whole idle timeout (found by tests/fuzz_http.c).
	 * poll() is level-triggered, and for MAX_CONNECTIONS costs nothing. */
	h->daemon = MHD_start_daemon(MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG,
				     0, NULL, NULL, answer, h,
				     MHD_OPTION_LISTEN_SOCKET, fd,
				     MHD_OPTION_CONNECTION_LIMIT, (unsigned int)MAX_CONNECTIONS,
				     MHD_OPTION_CONNECTION_TIMEOUT,
				     (unsigned int)IDLE_TIMEOUT_SECONDS,
				     MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY,
				     MHD_OPTION_EXTERNAL_LOGGER, quiet, NULL,
				     MHD_OPTION_END);
	if (!h->daemon) {
		close(fd);
		pthread_mutex_destroy(&h->lock);
		free(h);
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
	page_put(h->page);
	pthread_mutex_destroy(&h->lock);
	free(h);
}
