/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Which keys of one interface the Prometheus exporter exports, and their
 * counters: bounded by design.
 *
 * At most `top` keys are active, chosen by recent rate (the tally's 10 s
 * average) with hysteresis: an outsider replaces the slowest active key
 * only when it is EXPORTED_HYSTERESIS times faster, so series do not flap.
 * While no more than `top` keys are tracked, every key is active from its
 * first frame. Each interval's frames go to an active key's counter, or to
 * "unlisted" when the key is not active: a key that joins starts from zero
 * (what it counted before stays in unlisted).
 *
 * A key that leaves lingers, frozen, for EXPORTED_LINGER_SECONDS before its
 * series goes stale: every scraper then sees its final count, so the rates
 * of the exported keys plus unlisted (plus other and untracked) add up to
 * all frames over any window, with no spike and no loss from churn. One
 * that comes back while lingering goes on from its count; later, it starts
 * from zero again, a reset Prometheus reads as such. At most `top` keys
 * linger (the oldest go first): at most 2 x top series per metric.
 *
 * An exporter that starts on a tally with counts (a pinned state's, --pin)
 * may take them up (exported_take_up()), so that a restart is no reset. */
#ifndef EXPORTED_H
#define EXPORTED_H

#include <stdbool.h>
#include "report.h"

#define EXPORTED_HYSTERESIS 1.25
#define EXPORTED_LINGER_SECONDS 120.0

struct exported_key {
	struct xdptop_key key;
	bool active;			/* counting; else lingering */
	bool tracked;			/* in the tally, this round */
	double rate;			/* pps, the tally's average */
	double left_at;			/* when it stopped counting */
	struct xdptop_counter count;	/* since it was exported */
};

struct exported_candidate;

struct exported {
	struct exported_key *keys;	/* n of them: active and lingering */
	__u32 n, top;
	__u32 *index;			/* positions + 1 in keys, open addressing */
	__u32 mask;
	struct exported_candidate *heap; /* the busiest outsiders, top long */
	__u32 *slowest;			/* active keys' positions, by rate */
	struct xdptop_counter unlisted;
};

int exported_init(struct exported *e, __u32 top);
void exported_free(struct exported *e);

/* On the first update, with room for every key: each key goes on from its
 * cumulative count, as in the agent before, which exported it from its
 * first frame. Call after exported_update(). */
void exported_take_up(struct exported *e, const struct tally *t);

/* Keys counting now (not lingering). */
__u32 exported_active(const struct exported *e);

/* Chooses this round's keys from r (at `now` seconds), then adds the
 * interval's frames to the active keys' counters and to unlisted. */
void exported_update(struct exported *e, const struct report *r, double now);

#endif /* EXPORTED_H */
