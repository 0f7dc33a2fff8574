/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Where IPFIX messages go (--ipfix HOST:PORT): one UDP socket per flow
 * collector, connected, so that a collector that refuses (an ICMP port
 * unreachable) is known by the next send. A send that fails loses that
 * message for that collector only: it is counted, said once when sending
 * starts failing and once when it works again, and a collector named by a
 * name is looked up again meanwhile (in the background: counting never
 * waits for a DNS server). */
#ifndef COLLECTOR_H
#define COLLECTOR_H

#include <netdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <linux/types.h>

#define IPFIX_COLLECTORS_MAX 8
#define COLLECTOR_HOST_MAX 253	/* a DNS name's longest */

/* A collector as --ipfix names it, resolved when the command line is read:
 * an unknown name fails then, before anything is attached. */
struct collector_spec {
	char host[COLLECTOR_HOST_MAX + 1];	/* a name, or an address without brackets */
	char port[6];
	bool literal;				/* an address: never looked up again */
	struct sockaddr_storage addr;
	socklen_t len;
	char text[COLLECTOR_HOST_MAX + 10];	/* "host:port", "[2001:db8::1]:4739" */
};

/* Splits "HOST:PORT" or "[IPV6]:PORT" into spec (unresolved). 0, or
 * -EINVAL when it is neither, -ERANGE for a port not in 1-65535. */
int collector_parse(const char *arg, struct collector_spec *spec);

/* Resolves spec's host for UDP: 0, or getaddrinfo()'s error (an EAI_*
 * code: gai_strerror() names it). */
int collector_resolve(struct collector_spec *spec);

struct collector {
	const struct collector_spec *spec;
	struct sockaddr_storage addr;	/* as last resolved */
	socklen_t len;
	int fd;
	bool connected;
	bool failing;			/* since a round lost messages, until two in a row did not */
	/* Messages lost since it started failing: those the kernel could not
	 * send, and one a round that came back refused (the kernel keeps one
	 * refusal): a lower bound. */
	__u64 lost_since;
	__u32 sent_round, lost_round;	/* in the round being sent */
	__u32 clean_rounds;		/* in a row, none lost */
	int first_err;			/* of the round */
	struct gaicb lookup;		/* a new lookup of the name, while failing */
	struct addrinfo hints;		/* its own: the family it had at start */
	struct gaicb *pending;		/* &lookup while it runs */
	double looked_up;		/* when the last lookup started, seconds (CLOCK_MONOTONIC) */
};

/* A socket to spec's address: 0, or a negative errno after one line that
 * names the cause. */
int collector_open(struct collector *c, const struct collector_spec *spec);

/* Sends one message: 0, or the negative errno of a send that failed (the
 * message is lost for this collector, and counted). A name is looked up
 * again in the family it had at start, so that messages keep the size
 * their headers were counted for. */
int collector_send(struct collector *c, const void *msg, size_t len);

/* After a round's messages: says that sending fails when a round lost
 * some (a send failed, or a refusal came back) and the collector was not
 * failing yet, and that it works again after two whole rounds went out. By rounds, not
 * messages: a collector that refuses makes only every other send fail (the
 * kernel reports each ICMP refusal once, on the next send), which must not
 * read as failing and recovering by turns. */
void collector_settle(struct collector *c);

/* Says how many messages were lost when it still fails. */
void collector_close(struct collector *c);

#endif /* COLLECTOR_H */
