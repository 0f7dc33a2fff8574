// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "key.h"
#include "tally.h"

static __u32 next_pow2(__u32 v)
{
	__u32 p = 1;

	while (p < v)
		p <<= 1;
	return p;
}

int tally_init(struct tally *t, __u32 max_sources)
{
	/* The index at most 2/3 full, so a probe stays short. */
	__u32 slots = next_pow2(max_sources + max_sources / 2 + 1);

	*t = (struct tally){ .mask = slots - 1, .max_sources = max_sources };
	t->sources = aligned_alloc(sizeof(*t->sources),
				   (size_t)max_sources * sizeof(*t->sources));
	t->index = calloc(slots, sizeof(*t->index));
	t->averages = calloc(max_sources, sizeof(*t->averages));
	if (!t->sources || !t->index || !t->averages) {
		tally_free(t);
		return -ENOMEM;
	}
	return 0;
}

void tally_free(struct tally *t)
{
	free(t->sources);
	free(t->index);
	free(t->averages);
	t->sources = NULL;
	t->index = NULL;
	t->averages = NULL;
}

size_t tally_bytes(const struct tally *t)
{
	return (size_t)t->max_sources * (sizeof(*t->sources) + sizeof(*t->averages)) +
	       ((size_t)t->mask + 1) * sizeof(*t->index);
}

void counter_merge(struct xdptop_counter *into, const struct xdptop_counter *from)
{
	into->packets += from->packets;
	into->bytes += from->bytes;
}

/* The index entry of a source: its own, or the free one where it would go. */
static __u32 *index_entry(struct tally *t, __u32 meta, const __u64 addr[2])
{
	for (__u32 i = xdptop_hash(addr[0], addr[1], meta);; i++) {
		__u32 *pos = &t->index[i & t->mask];
		const struct source_count *s;

		if (!*pos)
			return pos;
		s = &t->sources[*pos - 1];
		if (key_equal(s->meta, s->addr, meta, addr))
			return pos;
	}
}

void tally_add_counters(struct tally *t, const struct tally_counters *c)
{
	counter_merge(&t->cum.total, &c->total);
	counter_merge(&t->cum.other, &c->other);
	counter_merge(&t->cum.untracked, &c->untracked);
	counter_merge(&t->open.total, &c->total);
	counter_merge(&t->open.other, &c->other);
	counter_merge(&t->open.untracked, &c->untracked);
}

void tally_add_source(struct tally *t, __u32 meta, const __u64 addr[2],
		      __u64 packets, __u64 bytes)
{
	__u32 *pos = index_entry(t, meta, addr);
	struct source_count *e;

	if (*pos) {
		e = &t->sources[*pos - 1];
	} else if (t->n_sources < t->max_sources) {
		e = &t->sources[t->n_sources];
		*e = (struct source_count){ .addr = { addr[0], addr[1] }, .meta = meta,
					    .last_seen = t->now - 1 };
		t->averages[t->n_sources] = (struct source_average){ .time = t->started,
								     .born = t->started };
		*pos = ++t->n_sources;
	} else {
		struct xdptop_counter turned_away = { packets, bytes };

		counter_merge(&t->cum.untracked, &turned_away);
		counter_merge(&t->open.untracked, &turned_away);
		t->refused++;
		return;
	}
	if (e->last_seen != t->now) {	/* its first count in the open interval */
		e->last_seen = t->now;
		e->ival_packets = 0;
		e->ival_bytes = 0;
	}
	e->packets += packets;
	e->bytes += bytes;
	e->ival_packets += packets;
	e->ival_bytes += bytes;
}

#define AGE_BUCKETS 64

/* Intervals since s last counted, the last bucket holding all older. */
static __u32 idle_bucket(const struct tally *t, const struct source_count *s)
{
	__u32 age = t->now - s->last_seen;

	return age < AGE_BUCKETS ? age : AGE_BUCKETS - 1;
}

/* The smallest idleness (in intervals, >= 1) such that forgetting every
 * source at least that idle brings the tally down to target, or as close as
 * idle sources allow; AGE_BUCKETS when every source counted this interval. */
static __u32 idle_threshold(const struct tally *t, __u32 target)
{
	__u32 by_age[AGE_BUCKETS] = {}, kept = t->n_sources, age;

	for (__u32 i = 0; i < t->n_sources; i++)
		by_age[idle_bucket(t, &t->sources[i])]++;
	if (by_age[0] == kept)
		return AGE_BUCKETS;
	for (age = AGE_BUCKETS - 1; age > 1 && kept - by_age[age] > target; age--)
		kept -= by_age[age];
	/* kept still counts bucket age: it goes, the younger ones stay. */
	return age;
}

static void keep_at(struct tally *t, __u32 to, __u32 from)
{
	t->sources[to] = t->sources[from];
	t->averages[to] = t->averages[from];
}

/* Indexes the first n sources anew. */
static void reindex(struct tally *t, __u32 n)
{
	memset(t->index, 0, ((size_t)t->mask + 1) * sizeof(*t->index));
	t->n_sources = 0;
	while (t->n_sources < n) {
		const struct source_count *s = &t->sources[t->n_sources];

		*index_entry(t, s->meta, s->addr) = ++t->n_sources;
	}
}

/* Moves the counts of sources at least min_idle idle to untracked, keeps the
 * others in place, in order, and indexes them anew: open addressing cannot
 * blank an index entry without cutting probe chains. */
static void forget_idle(struct tally *t, __u32 min_idle)
{
	__u32 kept = 0;

	for (__u32 i = 0; i < t->n_sources; i++) {
		const struct source_count *s = &t->sources[i];
		struct xdptop_counter counts = { s->packets, s->bytes };

		if (idle_bucket(t, s) >= min_idle)
			counter_merge(&t->cum.untracked, &counts);
		else
			keep_at(t, kept++, i);
	}
	reindex(t, kept);
}

/* The weight a rate held for `seconds` gets in an average of this window. */
static double weight_of(double seconds)
{
	return -expm1(-seconds / TALLY_AVG_SECONDS);
}

/* avg(end) = avg(time) decayed to end + the interval's rate weighted by
 * its length: the sources not counted in the interval decay lazily, when
 * read or counted again. A source also counted in the interval before (the
 * usual case) decays by the interval's own factor: one exp per interval,
 * not per source. In order over every source, not through a list of those
 * counted: a pass the memory streams beats a miss per source, and ranking
 * makes such a pass anyway. */
static void fold_averages(struct tally *t, double end, double length)
{
	double w = weight_of(length), keep = 1 - w;

	for (__u32 i = 0; i < t->n_sources; i++) {
		const struct source_count *s = &t->sources[i];
		struct source_average *a = &t->averages[i];
		double decay;

		if (s->last_seen != t->now)
			continue;
		decay = a->time == t->started ? keep : 1 - weight_of(end - a->time);
		a->pps = a->pps * decay + w * s->ival_packets / length;
		a->bps = a->bps * decay + w * 8.0 * s->ival_bytes / length;
		a->time = end;
	}
}

void tally_end_interval(struct tally *t, double end)
{
	double length = end - t->started;

	if (length <= 0) /* a clock that did not move: keep the rates finite */
		length = 1e-9;
	fold_averages(t, end, length);
	t->last = t->open;
	t->open = (struct tally_counters){};
	t->started = end;
	t->last_length = length;
	if (t->refused) {
		__u32 min_idle = idle_threshold(t, t->max_sources / 4 * 3);

		if (min_idle < AGE_BUCKETS)
			forget_idle(t, min_idle);
	}
	t->refused = 0;
	t->now++;
}


/* The average, decayed to the last interval's end, over the weight of the
 * time the source has been tracked: without that a source would start near
 * zero and take 30 s to reach its rate; with it, a steady sender shows its
 * rate from its first interval on. */
void tally_average(const struct tally *t, const struct source_count *s, double *pps, double *bps)
{
	const struct source_average *a = &t->averages[s - t->sources];
	double decay = 1 - weight_of(t->started - a->time);
	double tracked = weight_of(t->started - a->born);

	*pps = tracked > 0 ? a->pps * decay / tracked : 0;
	*bps = tracked > 0 ? a->bps * decay / tracked : 0;
}

int tally_restore(struct tally *t, const struct tally_saved *saved, double started)
{
	if (saved->n_sources > t->max_sources)
		return -E2BIG;
	memcpy(t->sources, saved->sources, (size_t)saved->n_sources * sizeof(*t->sources));
	for (__u32 i = 0; i < saved->n_sources; i++)
		t->averages[i] = (struct source_average){ .time = started, .born = started };
	reindex(t, saved->n_sources);
	t->cum = saved->cum;
	t->now = saved->now;
	t->started = started;
	return 0;
}
