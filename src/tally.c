// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdlib.h>
#include <string.h>
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
	t->sources = calloc(max_sources, sizeof(*t->sources));
	t->index = calloc(slots, sizeof(*t->index));
	if (!t->sources || !t->index) {
		tally_free(t);
		return -ENOMEM;
	}
	return 0;
}

void tally_free(struct tally *t)
{
	free(t->sources);
	free(t->index);
	t->sources = NULL;
	t->index = NULL;
}

size_t tally_bytes(const struct tally *t)
{
	return (size_t)t->max_sources * sizeof(*t->sources) +
	       ((size_t)t->mask + 1) * sizeof(*t->index);
}

void counter_merge(struct xdptop_counter *into, const struct xdptop_counter *from)
{
	into->packets += from->packets;
	into->bytes += from->bytes;
}

/* The index entry of a source: its own, or the free one where it would go. */
static __u32 *index_entry(struct tally *t, __u32 family, const __u64 addr[2])
{
	for (__u32 i = xdptop_hash(addr[0], addr[1], family);; i++) {
		__u32 *pos = &t->index[i & t->mask];
		const struct source_count *s;

		if (!*pos)
			return pos;
		s = &t->sources[*pos - 1];
		if (s->family == family && s->addr[0] == addr[0] && s->addr[1] == addr[1])
			return pos;
	}
}

void tally_add_source(struct tally *t, __u32 family, const __u64 addr[2],
		      __u64 packets, __u64 bytes)
{
	__u32 *pos = index_entry(t, family, addr);
	struct source_count *e;

	if (*pos) {
		e = &t->sources[*pos - 1];
	} else if (t->n_sources < t->max_sources) {
		e = &t->sources[t->n_sources];
		*e = (struct source_count){ .addr = { addr[0], addr[1] }, .family = family };
		*pos = ++t->n_sources;
	} else {
		struct xdptop_counter turned_away = { packets, bytes };

		counter_merge(&t->untracked, &turned_away);
		t->refused++;
		return;
	}
	e->packets += packets;
	e->bytes += bytes;
	e->last_seen = t->now;
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
			counter_merge(&t->untracked, &counts);
		else
			t->sources[kept++] = *s;
	}
	memset(t->index, 0, ((size_t)t->mask + 1) * sizeof(*t->index));
	t->n_sources = 0;
	while (t->n_sources < kept) {
		const struct source_count *s = &t->sources[t->n_sources];

		*index_entry(t, s->family, s->addr) = ++t->n_sources;
	}
}

void tally_end_interval(struct tally *t)
{
	if (t->refused) {
		__u32 min_idle = idle_threshold(t, t->max_sources / 4 * 3);

		if (min_idle < AGE_BUCKETS)
			forget_idle(t, min_idle);
	}
	t->refused = 0;
	t->now++;
}
