// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdlib.h>
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
	/* At most 2/3 full, so a probe stays short. */
	__u32 slots = next_pow2(max_sources + max_sources / 2 + 1);

	*t = (struct tally){ .mask = slots - 1, .max_sources = max_sources };
	t->entries = calloc(slots, sizeof(*t->entries));
	return t->entries ? 0 : -ENOMEM;
}

void tally_free(struct tally *t)
{
	free(t->entries);
	t->entries = NULL;
}

void counter_merge(struct xdptop_counter *into, const struct xdptop_counter *from)
{
	into->packets += from->packets;
	into->bytes += from->bytes;
}

static struct source_count *find_or_claim(struct tally *t, __u32 family, const __u64 addr[2])
{
	for (__u32 i = xdptop_hash(addr[0], addr[1], family);; i++) {
		struct source_count *e = &t->entries[i & t->mask];

		if (e->family == family && e->addr[0] == addr[0] && e->addr[1] == addr[1])
			return e;
		if (e->family != XDPTOP_FAMILY_NONE)
			continue;
		if (t->n_sources == t->max_sources)
			return NULL;
		t->n_sources++;
		*e = (struct source_count){ .family = family, .addr = { addr[0], addr[1] } };
		return e;
	}
}

void tally_add_source(struct tally *t, __u32 family, const __u64 addr[2],
		      __u64 packets, __u64 bytes)
{
	struct source_count *e = find_or_claim(t, family, addr);
	struct xdptop_counter add = { packets, bytes };

	if (e) {
		e->packets += packets;
		e->bytes += bytes;
		e->last_seen = t->now;
	} else {
		counter_merge(&t->untracked, &add);
		t->refused++;
	}
}

#define AGE_BUCKETS 64

/* Intervals since e last counted, the last bucket holding all older. */
static __u32 idle_bucket(const struct tally *t, const struct source_count *e)
{
	__u32 age = t->now - e->last_seen;

	return age < AGE_BUCKETS ? age : AGE_BUCKETS - 1;
}

/* The smallest idleness (in intervals, >= 1) such that forgetting every
 * source at least that idle brings the tally down to target, or as close as
 * idle sources allow; AGE_BUCKETS when every source counted this interval. */
static __u32 idle_threshold(const struct tally *t, __u32 target)
{
	__u32 by_age[AGE_BUCKETS] = {}, kept = t->n_sources, age;

	for (size_t i = 0; i < tally_slots(t); i++)
		if (t->entries[i].family)
			by_age[idle_bucket(t, &t->entries[i])]++;
	if (by_age[0] == kept)
		return AGE_BUCKETS;
	for (age = AGE_BUCKETS - 1; age > 1 && kept - by_age[age] > target; age--)
		kept -= by_age[age];
	/* kept still counts bucket age: it goes, the younger ones stay. */
	return age;
}

static void forget_idle(struct tally *t, struct source_count *old, size_t old_slots,
			__u32 min_idle)
{
	for (size_t i = 0; i < old_slots; i++) {
		const struct source_count *e = &old[i];
		struct xdptop_counter counts = { e->packets, e->bytes };

		if (!e->family)
			continue;
		if (idle_bucket(t, e) >= min_idle) {
			counter_merge(&t->untracked, &counts);
			continue;
		}
		*find_or_claim(t, e->family, e->addr) = *e;
	}
}

int tally_end_interval(struct tally *t)
{
	struct source_count *old = t->entries;
	size_t slots = tally_slots(t);
	__u32 min_idle;

	min_idle = t->refused ? idle_threshold(t, t->max_sources / 4 * 3) : AGE_BUCKETS;
	t->refused = 0;
	if (min_idle == AGE_BUCKETS) {
		t->now++;
		return 0;
	}
	/* Open addressing cannot simply blank an entry (it would cut probe
	 * chains): the survivors move to a fresh array. */
	t->entries = calloc(slots, sizeof(*t->entries));
	if (!t->entries) {
		t->entries = old;
		return -ENOMEM;
	}
	t->n_sources = 0;
	forget_idle(t, old, slots, min_idle);
	free(old);
	t->now++;
	return 0;
}
