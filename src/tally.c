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

/* A tally starts with room for this many sources and doubles it as it
 * needs: an interface that sees few sources takes little of the budget's
 * memory. */
#define FIRST_CAPACITY 1024

/* The index at most 2/3 full, so a probe stays short. */
static __u32 index_slots(__u32 capacity)
{
	return next_pow2(capacity + capacity / 2 + 1);
}

static void reindex(struct tally *t, __u32 n);

#define LINE 64

/* Room for capacity sources: the arrays move, the index is made anew.
 * Entries start on a cache line, so that one of 64 bytes is one line. */
static int reserve(struct tally *t, __u32 capacity)
{
	size_t bytes = ((size_t)capacity * t->entry_size + LINE - 1) & ~(size_t)(LINE - 1);
	unsigned char *entries = aligned_alloc(LINE, bytes);
	struct source_average *averages = malloc((size_t)capacity * sizeof(*averages));
	__u32 *index = calloc(index_slots(capacity), sizeof(*index));

	if (!entries || !averages || !index) {
		free(entries);
		free(averages);
		free(index);
		return -ENOMEM;
	}
	if (t->n_sources) {
		memcpy(entries, t->entries, (size_t)t->n_sources * t->entry_size);
		memcpy(averages, t->averages, (size_t)t->n_sources * sizeof(*averages));
	}
	tally_free(t);
	t->entries = entries;
	t->averages = averages;
	t->index = index;
	t->mask = index_slots(capacity) - 1;
	t->capacity = capacity;
	reindex(t, t->n_sources);
	return 0;
}

int tally_init(struct tally *t, __u32 max_sources, __u32 fields)
{
	*t = (struct tally){ .own.max_sources = max_sources, .fields = fields,
			     .entry_size = tally_entry_size(fields), .fold_keep = 1 };
	t->budget = &t->own;
	return reserve(t, max_sources < FIRST_CAPACITY ? max_sources : FIRST_CAPACITY);
}

void tally_share(struct tally *t, struct tally_budget *budget)
{
	t->budget = budget;
}

void tally_free(struct tally *t)
{
	free(t->entries);
	free(t->index);
	free(t->averages);
	t->entries = NULL;
	t->index = NULL;
	t->averages = NULL;
}

size_t tally_bytes(const struct tally *t)
{
	__u32 max = t->budget->max_sources;

	return (size_t)max * (t->entry_size + sizeof(*t->averages)) +
	       (size_t)index_slots(max) * sizeof(*t->index);
}

void counter_merge(struct xdptop_counter *into, const struct xdptop_counter *from)
{
	into->packets += from->packets;
	into->bytes += from->bytes;
}

/* The index entry of a key of this hash: its own, or the free one where it
 * would go. */
static __u32 *index_entry(const struct tally *t, const struct xdptop_key *key, __u32 hash)
{
	for (__u32 i = hash;; i++) {
		__u32 *pos = &t->index[i & t->mask];

		if (!*pos || tally_has_key(t, tally_source(t, *pos - 1), key))
			return pos;
	}
}

/* The weight a rate held for `seconds` gets in an average of this window. */
static double weight_of(double seconds)
{
	return -expm1(-seconds / TALLY_AVG_SECONDS);
}

/* avg(end) = avg(time) decayed to end + the interval's rate weighted by
 * its length, added as the drain brings the interval's counts (a key may
 * have several slots): first the decay, at a key's first count of the
 * interval, then each count. The sources not counted in the interval decay
 * lazily, when read or counted again. A source also counted in the
 * interval before (the usual case) decays by the interval's own factor:
 * one exp per interval, not per source. */
static void fold_decay(const struct tally *t, struct source_average *a)
{
	double decay = a->time == t->started ? t->fold_keep : 1 - weight_of(t->cut - a->time);

	a->pps *= decay;
	a->bps *= decay;
	a->time = t->cut;
}

static void fold_counts(const struct tally *t, struct source_average *a, __u64 packets,
			__u64 bytes)
{
	a->pps += t->fold_weight * packets;
	a->bps += t->fold_weight * 8.0 * bytes;
}

/* The open interval's length at the cut: a clock that did not move keeps
 * the rates finite. */
static double cut_length(const struct tally *t)
{
	double length = t->cut - t->started;

	return length > 0 ? length : 1e-9;
}

void tally_cut(struct tally *t, double end)
{
	double w;

	t->cut = end;
	w = weight_of(cut_length(t));
	t->fold_weight = w / cut_length(t);
	t->fold_keep = 1 - w;
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

/* A new entry at i, for key, counted in no interval yet. */
static void put_entry(struct tally *t, __u32 i, const struct xdptop_key *key)
{
	struct source_count *e = tally_source(t, i);
	__u32 first = xdptop_fields_first_word(t->fields);

	*e = (struct source_count){ .meta = key->meta, .last_seen = t->now - 1 };
	for (__u32 w = 0; w < xdptop_fields_key_words(t->fields); w++)
		e->words[w] = key->words[first + w];
	t->averages[i] = (struct source_average){ .time = t->started, .born = t->started };
}

/* Room for one more source: false when the budget is spent (or the memory
 * to grow is not there). */
static bool make_room(struct tally *t)
{
	if (t->budget->used >= t->budget->max_sources)
		return false;
	if (t->n_sources < t->capacity)
		return true;
	__u32 max = t->budget->max_sources;

	return t->capacity < max && !reserve(t, t->capacity > max / 2 ? max : 2 * t->capacity);
}

void tally_add_source(struct tally *t, const struct xdptop_key *key, __u32 hash, __u64 packets,
		      __u64 bytes)
{
	__u32 *pos = index_entry(t, key, hash);
	struct source_count *e;
	struct source_average *a;

	if (!*pos) {
		__u32 capacity = t->capacity;

		if (!make_room(t)) {
			struct xdptop_counter turned_away = { packets, bytes };

			counter_merge(&t->cum.untracked, &turned_away);
			counter_merge(&t->open.untracked, &turned_away);
			t->budget->refused_in = t->now + 1;
			return;
		}
		if (t->capacity != capacity)	/* the index was made anew */
			pos = index_entry(t, key, hash);
		put_entry(t, t->n_sources, key);
		*pos = ++t->n_sources;
		t->budget->used++;
	}
	e = tally_source(t, *pos - 1);
	a = &t->averages[*pos - 1];
	if (e->last_seen != t->now) {	/* its first count in the open interval */
		e->last_seen = t->now;
		e->ival_packets = 0;
		e->ival_bytes = 0;
		fold_decay(t, a);
	}
	fold_counts(t, a, packets, bytes);
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

/* What the end of an interval forgets: every source idler than bucket age;
 * of bucket age itself, quota in all: those with fewer packets than
 * `packets`, and the first `ties` in array order with exactly as many. */
struct forget_plan {
	__u32 age;
	__u32 quota;
	__u64 most;		/* the most packets of a source of bucket age */
	__u64 packets;
	__u32 ties;
};

/* The bucket where forgetting the idlest first brings the tally down to
 * target, and how many of it go (the idler buckets go whole): down to target
 * exactly, not a whole bucket past it. Never bucket 0, the sources counted
 * this interval: without enough idle ones every idle one goes and the tally
 * stays above target. False when none is to go. */
static bool pick_bucket(const struct tally *t, __u32 target, struct forget_plan *p)
{
	__u32 by_age[AGE_BUCKETS] = {};
	__u64 most[AGE_BUCKETS] = {};
	__u32 excess = t->n_sources > target ? t->n_sources - target : 0;

	for (__u32 i = 0; i < t->n_sources; i++) {
		const struct source_count *s = tally_source(t, i);
		__u32 age = idle_bucket(t, s);

		by_age[age]++;
		if (s->packets > most[age])
			most[age] = s->packets;
	}
	if (!excess || by_age[0] == t->n_sources)
		return false;
	for (p->age = AGE_BUCKETS - 1; p->age > 1 && by_age[p->age] < excess; p->age--)
		excess -= by_age[p->age];
	p->quota = by_age[p->age] < excess ? by_age[p->age] : excess;
	p->most = most[p->age];
	return true;
}

/* The packets of the source of bucket age that ranks rank-th (from 0) by
 * fewest packets, and in *ties how many with exactly as many rank up to it.
 * A radix selection, a byte at a time from the largest count's (most) top
 * byte down: a pass over the sources a byte of it (one under 256 packets, a
 * flood's), with no copy of the counts and no sort. */
static __u64 nth_fewest(const struct tally *t, __u32 age, __u64 most, __u32 rank, __u32 *ties)
{
	__u64 prefix = 0;

	for (int shift = most ? (63 - __builtin_clzll(most)) & ~7 : 0; shift >= 0; shift -= 8) {
		__u64 above = ~0ULL << shift << 8;	/* the bytes chosen so far */
		__u32 in_digit[256] = {}, d = 0;

		for (__u32 i = 0; i < t->n_sources; i++) {
			const struct source_count *s = tally_source(t, i);

			if (idle_bucket(t, s) == age && (s->packets & above) == prefix)
				in_digit[s->packets >> shift & 0xff]++;
		}
		while (rank >= in_digit[d])
			rank -= in_digit[d++];
		prefix |= (__u64)d << shift;
	}
	*ties = rank + 1;
	return prefix;
}

/* Whether the plan forgets s, taking one of its ties when s is one. */
static bool forgets(const struct tally *t, const struct source_count *s,
		    struct forget_plan *p)
{
	__u32 age = idle_bucket(t, s);

	if (age != p->age)
		return age > p->age;
	if (s->packets != p->packets)
		return s->packets < p->packets;
	if (!p->ties)
		return false;
	p->ties--;
	return true;
}

static void keep_at(struct tally *t, __u32 to, __u32 from)
{
	memmove(tally_source(t, to), tally_source(t, from), t->entry_size);
	t->averages[to] = t->averages[from];
}

/* Indexes the first n sources anew. */
static void reindex(struct tally *t, __u32 n)
{
	memset(t->index, 0, ((size_t)t->mask + 1) * sizeof(*t->index));
	t->n_sources = 0;
	while (t->n_sources < n) {
		struct xdptop_key key;

		tally_key(t, tally_source(t, t->n_sources), &key);
		*index_entry(t, &key, xdptop_key_hash(&key)) = ++t->n_sources;
	}
}

/* Moves the counts of the sources the plan forgets to untracked, keeps the
 * others in place, in order, and indexes them anew: open addressing cannot
 * blank an index entry without cutting probe chains. */
static void forget(struct tally *t, struct forget_plan *p)
{
	__u32 kept = 0;

	for (__u32 i = 0; i < t->n_sources; i++) {
		const struct source_count *s = tally_source(t, i);
		struct xdptop_counter counts = { s->packets, s->bytes };

		if (forgets(t, s, p))
			counter_merge(&t->cum.untracked, &counts);
		else
			keep_at(t, kept++, i);
	}
	t->budget->used -= t->n_sources - kept;
	reindex(t, kept);
}

/* Forgets the idlest sources down to target. Of the sources equally idle
 * (one bucket), those with the fewest packets so far go first: the ones kept
 * are the busiest, so the report and the exporter lose the least of what they
 * show per source, and untracked grows the least. Among equal counts, the
 * first in array order (tracked the longest) go: deterministic, in one pass.
 * The last bucket holds all sources idle 63 intervals or more: among those,
 * packets alone decide. */
static void forget_idlest(struct tally *t, __u32 target)
{
	struct forget_plan p = {};

	if (!pick_bucket(t, target, &p))
		return;
	if (p.quota)	/* else bucket 1 is empty: the idle ones are all older */
		p.packets = nth_fewest(t, p.age, p.most, p.quota - 1, &p.ties);
	forget(t, &p);
}

void tally_end_interval(struct tally *t)
{
	t->last = t->open;
	t->open = (struct tally_counters){};
	t->last_length = cut_length(t);
	t->started = t->cut;
	if (t->budget->refused_in == t->now + 1)
		forget_idlest(t, t->n_sources / 4 * 3);
	t->now++;
}

/* The average, decayed to the last interval's end, over the weight of the
 * time the source has been tracked: without that a source would start near
 * zero and take 30 s to reach its rate; with it, a steady sender shows its
 * rate from its first interval on. */
void tally_average(const struct tally *t, const struct source_count *s, double *pps, double *bps)
{
	const struct source_average *a =
		&t->averages[((const unsigned char *)s - t->entries) / t->entry_size];
	double decay = 1 - weight_of(t->started - a->time);
	double tracked = weight_of(t->started - a->born);

	*pps = tracked > 0 ? a->pps * decay / tracked : 0;
	*bps = tracked > 0 ? a->bps * decay / tracked : 0;
}

int tally_restore(struct tally *t, const struct tally_saved *saved, double started)
{
	int err = 0;

	if (saved->n_sources > t->budget->max_sources - t->budget->used)
		return -E2BIG;
	if (saved->n_sources > t->capacity)
		err = reserve(t, saved->n_sources);
	if (err)
		return err;
	memcpy(t->entries, saved->entries, (size_t)saved->n_sources * t->entry_size);
	for (__u32 i = 0; i < saved->n_sources; i++)
		t->averages[i] = (struct source_average){ .time = started, .born = started };
	reindex(t, saved->n_sources);
	t->budget->used += saved->n_sources;
	t->cum = saved->cum;
	t->last = saved->last;
	t->last_length = saved->last_length;
	t->now = saved->now;
	t->started = started;
	return 0;
}

static struct xdptop_counter since(const struct xdptop_counter *now,
				   const struct xdptop_counter *before)
{
	return (struct xdptop_counter){ now->packets - before->packets, now->bytes - before->bytes };
}

int tally_follow(struct tally *next, const struct tally *prev, const struct tally_saved *image,
		 double started, double end)
{
	int err = tally_restore(next, image, started);

	if (err)
		return err;
	next->now = prev->now;
	tally_cut(next, end);
	for (__u32 i = 0; i < next->n_sources; i++) {
		struct source_count *s = tally_source(next, i);
		struct xdptop_key key;
		__u32 pos;
		const struct source_count *p;

		tally_key(next, s, &key);
		pos = prev->n_sources ? *index_entry(prev, &key, xdptop_key_hash(&key)) : 0;
		p = pos ? tally_source(prev, pos - 1) : NULL;
		/* A key tracked anew since (forgotten between: its counts went
		 * to untracked) counted all it has now in between. */
		if (p && p->packets > s->packets)
			p = NULL;
		s->ival_packets = s->packets - (p ? p->packets : 0);
		s->ival_bytes = s->bytes - (p ? p->bytes : 0);
		s->last_seen = s->ival_packets ? next->now : next->now - 1;
		if (p)
			next->averages[i] = prev->averages[pos - 1];
		if (s->ival_packets) {
			fold_decay(next, &next->averages[i]);
			fold_counts(next, &next->averages[i], s->ival_packets, s->ival_bytes);
		}
	}
	next->open = (struct tally_counters){
		.total = since(&image->cum.total, &prev->cum.total),
		.other = since(&image->cum.other, &prev->cum.other),
		.untracked = since(&image->cum.untracked, &prev->cum.untracked),
	};
	tally_end_interval(next);
	return 0;
}

int tally_compare(const struct tally *t, const struct source_count *a,
		  const struct source_count *b)
{
	return key_compare_words(a->meta, a->words, b->meta, b->words,
				 xdptop_fields_key_words(t->fields));
}
