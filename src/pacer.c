// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Messages sent at a pace: see pacer.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/timerfd.h>
#include "pacer.h"

#define TICK_NS 5000000L	/* 5 ms */
/* Messages a tick at least, and so a round of at most that many goes at
 * once: 16 of 1,372 bytes every 5 ms is 4.4 MB/s, which no collector
 * minds, and a small round is not held back. */
#define QUOTA_MIN 16

struct queued {
	__u32 len;
	__u32 sequence;
};

int pacer_init(struct pacer *p, pacer_send_fn send, void *ctx)
{
	*p = (struct pacer){ .send = send, .ctx = ctx };
	p->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	return p->timer_fd < 0 ? -errno : 0;
}

void pacer_free(struct pacer *p)
{
	free(p->buf);
	if (p->timer_fd >= 0)
		close(p->timer_fd);
	*p = (struct pacer){ .timer_fd = -1 };
}

static bool reserve(struct pacer *p, size_t more)
{
	size_t cap = p->cap ? p->cap : 65536;
	__u8 *buf;

	if (p->len + more <= p->cap)
		return true;
	while (cap < p->len + more)
		cap *= 2;
	buf = realloc(p->buf, cap);
	if (!buf)
		return false;
	p->buf = buf;
	p->cap = cap;
	return true;
}

void pacer_push(struct pacer *p, const __u8 *msg, size_t len, __u32 sequence)
{
	struct queued q = { .len = len, .sequence = sequence };

	if (p->left || !reserve(p, sizeof(q) + len)) {
		/* A round still being sent when this one is made (never: the
		 * caller drains it first), or no memory: at once. */
		p->send(p->ctx, msg, len, sequence);
		return;
	}
	memcpy(p->buf + p->len, &q, sizeof(q));
	memcpy(p->buf + p->len + sizeof(q), msg, len);
	p->len += sizeof(q) + len;
	p->queued++;
}

static void send_next(struct pacer *p, size_t n)
{
	for (; n && p->left; n--, p->left--) {
		struct queued q;

		memcpy(&q, p->buf + p->at, sizeof(q));
		p->send(p->ctx, p->buf + p->at + sizeof(q), q.len, q.sequence);
		p->at += sizeof(q) + q.len;
	}
}

static void arm(struct pacer *p, bool on)
{
	const struct itimerspec every = { .it_interval = { .tv_nsec = TICK_NS },
					  .it_value = { .tv_nsec = TICK_NS } };
	const struct itimerspec off = {};

	timerfd_settime(p->timer_fd, 0, on ? &every : &off, NULL);
	p->armed = on;
}

/* The round went out whole: the queue starts again empty. */
static bool finished(struct pacer *p)
{
	if (p->left)
		return false;
	if (p->armed)
		arm(p, false);
	p->len = p->at = p->queued = 0;
	return true;
}

bool pacer_start(struct pacer *p, double spread)
{
	double ticks = spread * 1e9 / TICK_NS;
	size_t quota = ticks >= 1 ? (size_t)(p->queued / ticks) + 1 : p->queued;

	p->left = p->queued;
	p->quota = quota > QUOTA_MIN ? quota : QUOTA_MIN;
	send_next(p, p->quota);
	if (p->left && p->timer_fd >= 0)
		arm(p, true);
	else if (p->left)	/* no timer: at once */
		send_next(p, p->left);
	return finished(p);
}

bool pacer_tick(struct pacer *p)
{
	__u64 ticks;

	if (read(p->timer_fd, &ticks, sizeof(ticks)) != sizeof(ticks))
		ticks = 1;
	send_next(p, p->quota * ticks);	/* a late wake-up catches up */
	return finished(p);
}

void pacer_drain(struct pacer *p)
{
	send_next(p, p->left);
	finished(p);
}

int pacer_fd(const struct pacer *p)
{
	return p->left ? p->timer_fd : -1;
}
