// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Flow collectors: see collector.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "collector.h"
#include "msg.h"

/* A send that waits longer for room in the socket's buffer (a burst of a
 * million keys' messages on a slow link) gives the message up: the loop
 * must go on counting. */
#define SEND_TIMEOUT_MS 100
/* Rounds in a row without a failure before a collector that failed counts
 * as back: a refusal comes back after its message was sent, and may only
 * show as the next round's send failing. */
#define CLEAN_ROUNDS_TO_RESUME 2
/* A name looked up again at most this often while its collector fails. */
#define LOOKUP_EVERY_SECONDS 10.0

static int parse_port(const char *text, char port[6])
{
	unsigned long v;
	char *end;

	if (*text < '0' || *text > '9' || strlen(text) > 5)
		return *text ? -ERANGE : -EINVAL;
	v = strtoul(text, &end, 10);
	if (*end)
		return -EINVAL;
	if (v < 1 || v > 65535)
		return -ERANGE;
	snprintf(port, 6, "%lu", v);
	return 0;
}

int collector_parse(const char *arg, struct collector_spec *spec)
{
	const char *colon = strrchr(arg, ':'), *host = arg;
	size_t host_len = colon ? (size_t)(colon - arg) : 0;
	struct in6_addr a6;
	struct in_addr a4;

	memset(spec, 0, sizeof(*spec));
	if (!colon || !host_len)
		return -EINVAL;
	if (*arg == '[') {	/* [IPV6]:PORT */
		if (arg[host_len - 1] != ']' || host_len < 3)
			return -EINVAL;
		host++;
		host_len -= 2;
	} else if (memchr(arg, ':', host_len)) {	/* an IPv6 address without brackets */
		return -EINVAL;
	}
	if (host_len > COLLECTOR_HOST_MAX)
		return -EINVAL;
	memcpy(spec->host, host, host_len);
	if (*arg == '[' && inet_pton(AF_INET6, spec->host, &a6) != 1)
		return -EINVAL;
	spec->literal = *arg == '[' || inet_pton(AF_INET, spec->host, &a4) == 1;
	snprintf(spec->text, sizeof(spec->text), "%s", arg);
	return parse_port(colon + 1, spec->port);
}

static const struct addrinfo lookup_hints = {
	.ai_socktype = SOCK_DGRAM, .ai_protocol = IPPROTO_UDP, .ai_flags = AI_NUMERICSERV,
};

/* The first address of res into addr. */
static void take_address(const struct addrinfo *res, struct sockaddr_storage *addr,
			 socklen_t *len)
{
	memcpy(addr, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
}

int collector_resolve(struct collector_spec *spec)
{
	struct addrinfo hints = lookup_hints, *res;
	int err;

	if (spec->literal)
		hints.ai_flags |= AI_NUMERICHOST;
	err = getaddrinfo(spec->host, spec->port, &hints, &res);
	if (err)
		return err;
	take_address(res, &spec->addr, &spec->len);
	freeaddrinfo(res);
	return 0;
}

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A socket of the address's family, connected to it: connected, a
 * collector's ICMP refusal comes back as the next send's error. A connect
 * that fails (no route yet) is tried again by the next send. */
static int connect_socket(struct collector *c)
{
	const struct timeval timeout = { .tv_usec = SEND_TIMEOUT_MS * 1000 };

	if (c->fd < 0) {
		c->fd = socket(c->addr.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (c->fd < 0)
			return -errno;
		setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
	}
	return connect(c->fd, (const struct sockaddr *)&c->addr, c->len) ? -errno : 0;
}

int collector_open(struct collector *c, const struct collector_spec *spec)
{
	int err;

	*c = (struct collector){ .spec = spec, .addr = spec->addr, .len = spec->len, .fd = -1 };
	c->connected = !connect_socket(c);
	if (c->fd >= 0)
		return 0;
	err = errno;
	fprintf(stderr, "xdptop: cannot open a socket to send IPFIX to %s (%s): check the open "
			"file limit (ulimit -n)\n", spec->text, strerror(err));
	return -err;
}

/* A lookup of the name started while the collector failed, if it ended:
 * a new address replaces the old one, on a new socket. */
static void take_lookup(struct collector *c)
{
	const struct addrinfo *res;

	if (!c->pending || gai_error(c->pending) == EAI_INPROGRESS)
		return;
	res = c->lookup.ar_result;
	if (!gai_error(c->pending) && res &&
	    (res->ai_addrlen != c->len || memcmp(res->ai_addr, &c->addr, c->len))) {
		take_address(res, &c->addr, &c->len);
		close(c->fd);
		c->fd = -1;
		c->connected = false;
	}
	freeaddrinfo(c->lookup.ar_result);
	c->pending = NULL;
}

static void look_up_again(struct collector *c)
{
	struct gaicb *list[1] = { &c->lookup };
	double now = now_seconds();

	if (c->spec->literal || c->pending || (c->looked_up && now - c->looked_up <
					       LOOKUP_EVERY_SECONDS))
		return;
	c->looked_up = now;
	c->hints = lookup_hints;
	c->hints.ai_family = c->spec->addr.ss_family;
	c->lookup = (struct gaicb){ .ar_name = c->spec->host, .ar_service = c->spec->port,
				    .ar_request = &c->hints };
	if (!getaddrinfo_a(GAI_NOWAIT, list, 1, NULL))
		c->pending = &c->lookup;
}

static void count_loss(struct collector *c, int err)
{
	c->lost_round++;
	if (!c->first_err)
		c->first_err = err;
}

int collector_send(struct collector *c, const void *message, size_t len)
{
	int err = 0;

	take_lookup(c);
	if (!c->connected) {
		err = connect_socket(c);
		c->connected = !err;
	}
	if (!err && send(c->fd, message, len, MSG_NOSIGNAL) < 0)
		err = -errno;
	if (!err) {
		c->sent_round++;
		return 0;
	}
	count_loss(c, err);
	return err;
}

/* A refusal that came back since the last send (an ICMP error the kernel
 * keeps for the next send): a message of the round did not arrive. */
static void take_refusal(struct collector *c)
{
	socklen_t len = sizeof(int);
	int pending = 0;

	if (c->fd < 0 || getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &pending, &len) || !pending)
		return;
	count_loss(c, -pending);
}

void collector_settle(struct collector *c)
{
	take_refusal(c);
	if (c->lost_round)
		look_up_again(c);
	c->clean_rounds = c->lost_round || !c->sent_round ? 0 : c->clean_rounds + 1;
	if (c->lost_round && !c->failing) {
		msg("cannot send IPFIX to %s (%s): counting and the other outputs go on, and "
		    "xdptop sends again as soon as it can (said once)", c->spec->text,
		    strerror(-c->first_err));
		c->failing = true;
		c->lost_since = 0;
	} else if (c->failing && c->clean_rounds >= CLEAN_ROUNDS_TO_RESUME) {
		msg("sending IPFIX to %s again: %llu messages lost while it failed", c->spec->text,
		    (unsigned long long)c->lost_since);
		c->failing = false;
	}
	c->lost_since += c->lost_round;
	c->lost_round = 0;
	c->sent_round = 0;
	c->first_err = 0;
}

void collector_close(struct collector *c)
{
	if (c->failing)	/* the count it would have said when back */
		msg("sending IPFIX to %s still fails: %llu messages lost since it started failing",
		    c->spec->text, (unsigned long long)c->lost_since);
	if (c->pending && gai_cancel(c->pending) != EAI_CANCELED) {
		const struct gaicb *list[1] = { c->pending };

		while (gai_error(c->pending) == EAI_INPROGRESS)
			gai_suspend(list, 1, NULL);
	}
	if (c->pending)
		freeaddrinfo(c->lookup.ar_result);
	c->pending = NULL;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}
