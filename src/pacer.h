/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* A round's IPFIX messages, sent at a pace: queued as they are encoded,
 * then sent a share at a time on a timer, over at most half the interval.
 * A million keys a round is some 20,000 messages; sent at once, they
 * overflow a collector's socket (nfacctd's 8 MiB: bench/analysis.md) and
 * the collector drops records no send ever reports. A round of a few
 * messages goes at once. */
#ifndef PACER_H
#define PACER_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

/* Sends one message; sequence: the IPFIX sequence number after it. */
typedef void (*pacer_send_fn)(void *ctx, const __u8 *msg, size_t len, __u32 sequence);

struct pacer {
	__u8 *buf;		/* queued: a header (struct queued) then the message, each */
	size_t len, cap;
	size_t at;		/* the next to send */
	size_t queued, left;	/* messages in the round, and not sent yet */
	size_t quota;		/* messages a tick */
	int timer_fd;
	bool armed;
	pacer_send_fn send;
	void *ctx;
};

/* 0, or a negative errno (the timer). */
int pacer_init(struct pacer *p, pacer_send_fn send, void *ctx);
void pacer_free(struct pacer *p);

/* Queues a message (copied); when there is no memory for it, sends it now. */
void pacer_push(struct pacer *p, const __u8 *msg, size_t len, __u32 sequence);

/* The round is queued: sends it over at most `spread` seconds, a tick
 * every few milliseconds (at once when it is small). Returns whether it
 * went out whole already. */
bool pacer_start(struct pacer *p, double spread);

/* The timer fired: sends the next share. Returns whether the round went
 * out whole. */
bool pacer_tick(struct pacer *p);

/* Sends what is left of the round at once (the next round starts, or
 * xdptop exits). */
void pacer_drain(struct pacer *p);

/* The timer to watch while a round is being sent, else -1. */
int pacer_fd(const struct pacer *p);

#endif /* PACER_H */
