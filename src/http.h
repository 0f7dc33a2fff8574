/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The exporter's HTTP side. The socket is bound before anything is attached
 * (a port in use fails first, and costs nothing); libmicrohttpd serves it
 * from a thread of its own, started only after the capabilities are dropped
 * (they are per thread). Scrapes never touch the read path: each round
 * publishes one immutable page, and requests are answered from the last
 * one. Clients that send their requests slowly, or never, cannot keep a
 * scraper out: a request has a deadline to arrive in whole, one address
 * holds a few connections, and when all are taken the one that has waited
 * longest for its request gives way (http.c). */
#ifndef HTTP_H
#define HTTP_H

#include <stddef.h>
#include <sys/socket.h>

/* A listening socket on addr, or a negative errno. */
int http_listen(const struct sockaddr *addr, socklen_t len);

struct http;

/* Serves fd (taken): / and /metrics. 0 or a negative errno. */
int http_start(struct http **out, int fd);

/* Makes text (copied) what /metrics answers from now on. 0 or -ENOMEM. */
int http_publish(struct http *h, const char *text, size_t len);

/* Stops serving, closing every connection, and frees h. */
void http_stop(struct http *h);

#endif /* HTTP_H */
