// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "exported.h"

struct exported_candidate {
	const struct source_count *s;
	double rate;
};

/* Room for the active keys, those lingering, and a round's newcomers. */
static __u32 capacity(__u32 top)
{
	return 3 * top;
}

int exported_init(struct exported *e, __u32 top)
{
	__u32 slots = 1;

	while (slots < 2 * capacity(top))
		slots <<= 1;
	*e = (struct exported){ .top = top, .mask = slots - 1 };
	e->keys = calloc(capacity(top), sizeof(*e->keys));
	e->index = calloc(slots, sizeof(*e->index));
	e->heap = calloc(top, sizeof(*e->heap));
	e->slowest = calloc(top, sizeof(*e->slowest));
	if (e->keys && e->index && e->heap && e->slowest)
		return 0;
	exported_free(e);
	return -ENOMEM;
}

void exported_free(struct exported *e)
{
	free(e->keys);
	free(e->index);
	free(e->heap);
	free(e->slowest);
	*e = (struct exported){};
}

static __u32 home(const struct exported *e, const struct xdptop_key *key)
{
	return xdptop_key_hash(key) & e->mask;
}

static struct exported_key *find(const struct exported *e, const struct xdptop_key *key)
{
	for (__u32 i = home(e, key);; i = (i + 1) & e->mask) {
		struct exported_key *k;

		if (!e->index[i])
			return NULL;
		k = &e->keys[e->index[i] - 1];
		if (key_equal(&k->key, key))
			return k;
	}
}

static void index_at(struct exported *e, __u32 pos)
{
	__u32 i = home(e, &e->keys[pos].key);

	while (e->index[i])
		i = (i + 1) & e->mask;
	e->index[i] = pos + 1;
}

/* Open addressing cannot blank an entry without cutting probe chains:
 * after keys go, the index is made anew. */
static void reindex(struct exported *e)
{
	memset(e->index, 0, ((size_t)e->mask + 1) * sizeof(*e->index));
	for (__u32 pos = 0; pos < e->n; pos++)
		index_at(e, pos);
}

static double rate_of(const struct report *r, const struct source_count *s)
{
	double pps, bps;

	report_key_average(r, s, &pps, &bps);
	return pps;
}

static void stop(struct exported_key *k, double now)
{
	k->active = false;
	k->left_at = now;
}

/* The exported key of a tally's entry, or NULL. */
static struct exported_key *find_entry(const struct exported *e, const struct tally *t,
				       const struct source_count *s)
{
	struct xdptop_key key;

	tally_key(t, s, &key);
	return find(e, &key);
}

/* A key becomes active: a lingering one goes on from its count. */
static void admit(struct exported *e, const struct tally *t, const struct source_count *s,
		  double rate)
{
	struct xdptop_key key;
	struct exported_key *k;

	tally_key(t, s, &key);
	k = find(e, &key);
	if (!k) {
		k = &e->keys[e->n];
		*k = (struct exported_key){ .key = key };
		index_at(e, e->n++);
	}
	k->active = true;
	k->tracked = true;
	k->rate = rate;
}

static void sift_down(struct exported_candidate *h, __u32 n, __u32 i)
{
	for (;;) {
		__u32 l = 2 * i + 1, r = l + 1, m = i;
		struct exported_candidate c;

		if (l < n && h[l].rate < h[m].rate)
			m = l;
		if (r < n && h[r].rate < h[m].rate)
			m = r;
		if (m == i)
			return;
		c = h[i];
		h[i] = h[m];
		h[m] = c;
		i = m;
	}
}

/* Keeps the cap busiest candidates in a min-heap of *n. */
static void heap_push(struct exported_candidate *h, __u32 *n, __u32 cap,
		      struct exported_candidate c)
{
	__u32 i;

	if (*n == cap) {
		if (c.rate > h[0].rate) {
			h[0] = c;
			sift_down(h, *n, 0);
		}
		return;
	}
	for (i = (*n)++; i && h[(i - 1) / 2].rate > c.rate; i = (i - 1) / 2)
		h[i] = h[(i - 1) / 2];
	h[i] = c;
}

static int busiest_first(const void *a, const void *b)
{
	double x = ((const struct exported_candidate *)a)->rate;
	double y = ((const struct exported_candidate *)b)->rate;

	return (x < y) - (x > y);
}

/* slowest holds positions: the rates they sort by are in the keys of e. */
static int slowest_first(const void *a, const void *b, void *e)
{
	const struct exported_key *keys = ((const struct exported *)e)->keys;
	double x = keys[*(const __u32 *)a].rate, y = keys[*(const __u32 *)b].rate;

	return (x > y) - (x < y);
}

/* One pass over the tracked keys: each exported one gets its rate, the
 * busiest of the others go into the heap (with room for every tracked
 * key, all of them, unranked); active keys the tally no longer tracks
 * stop. Returns how many outsiders, busiest first. */
static __u32 survey(struct exported *e, const struct report *r, double now)
{
	const struct tally *t = r->tally;
	bool room_for_all = t->n_sources <= e->top;
	__u32 n = 0;

	for (__u32 i = 0; i < e->n; i++)
		e->keys[i].tracked = false;
	for (__u32 i = 0; i < t->n_sources; i++) {
		const struct source_count *s = tally_source(t, i);
		struct exported_key *k = find_entry(e, t, s);
		double rate = room_for_all && !k ? 0 : rate_of(r, s);

		if (k) {
			k->tracked = true;
			k->rate = rate;
		}
		if (!k || !k->active)
			heap_push(e->heap, &n, e->top, (struct exported_candidate){ s, rate });
	}
	for (__u32 i = 0; i < e->n; i++)
		if (e->keys[i].active && !e->keys[i].tracked)
			stop(&e->keys[i], now);
	qsort(e->heap, n, sizeof(*e->heap), busiest_first);
	return n;
}

/* Free places go to the busiest outsiders; then an outsider replaces the
 * slowest active key while EXPORTED_HYSTERESIS times faster. */
static void choose(struct exported *e, const struct report *r, double now)
{
	__u32 n = survey(e, r, now), best = 0, was_active = 0, active;

	for (__u32 i = 0; i < e->n; i++)
		if (e->keys[i].active)
			e->slowest[was_active++] = i;
	for (active = was_active; best < n && active < e->top; best++, active++)
		admit(e, r->tally, e->heap[best].s, e->heap[best].rate);
	qsort_r(e->slowest, was_active, sizeof(*e->slowest), slowest_first, e);
	for (__u32 slow = 0; best < n && slow < was_active; best++, slow++) {
		struct exported_key *k = &e->keys[e->slowest[slow]];

		if (e->heap[best].rate <= EXPORTED_HYSTERESIS * k->rate)
			break;
		stop(k, now);
		admit(e, r->tally, e->heap[best].s, e->heap[best].rate);
	}
}

static int oldest_first(const void *a, const void *b)
{
	const struct exported_key *x = a, *y = b;

	/* Active ones first, then the lingering ones, latest to leave first. */
	if (x->active != y->active)
		return x->active ? -1 : 1;
	return (x->left_at < y->left_at) - (x->left_at > y->left_at);
}

/* Lingering keys expire after EXPORTED_LINGER_SECONDS; at most top linger. */
static void expire(struct exported *e, double now)
{
	__u32 kept = 0, lingering = 0;

	for (__u32 i = 0; i < e->n; i++)
		if (e->keys[i].active || now - e->keys[i].left_at < EXPORTED_LINGER_SECONDS)
			e->keys[kept++] = e->keys[i];
	qsort(e->keys, kept, sizeof(*e->keys), oldest_first);
	e->n = 0;
	for (__u32 i = 0; i < kept; i++) {
		if (!e->keys[i].active && ++lingering > e->top)
			break;
		e->n++;
	}
	reindex(e);
}

void exported_take_up(struct exported *e, const struct tally *t)
{
	for (__u32 i = 0; i < t->n_sources; i++) {
		const struct source_count *s = tally_source(t, i);
		struct xdptop_counter last = tally_last_interval(t, s);
		struct xdptop_counter was = { s->packets - last.packets, s->bytes - last.bytes };
		struct exported_key *k = find_entry(e, t, s);

		if (k)
			counter_merge(&k->count, &was);
	}
}

__u32 exported_active(const struct exported *e)
{
	__u32 n = 0;

	for (__u32 i = 0; i < e->n; i++)
		n += e->keys[i].active;
	return n;
}

void exported_update(struct exported *e, const struct report *r, double now)
{
	const struct tally *t = r->tally;

	choose(e, r, now);
	expire(e, now);
	for (__u32 i = 0; i < t->n_sources; i++) {
		const struct source_count *s = tally_source(t, i);
		struct xdptop_counter last = tally_last_interval(t, s);
		struct exported_key *k;

		if (!last.packets)
			continue;
		k = find_entry(e, t, s);
		counter_merge(k && k->active ? &k->count : &e->unlisted, &last);
	}
}
