/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The agent's cumulative counts for one interface: every source it tracks,
 * plus other, untracked and total. Bounded: the tallies of the interfaces
 * that share a table share a budget of max_sources; when it is spent, a new
 * source's counts go to untracked, and at the end of that interval the
 * sources idle the longest give way in every tally (their counts move to
 * untracked too), so that newcomers are tracked from their next frames on
 * and the totals stay exact. Without newcomers, nothing is forgotten. A
 * tally grows with the sources it tracks, up to the whole budget. */
#ifndef TALLY_H
#define TALLY_H

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include "xdptop.h"

/* Seconds over which the longer average rate weighs a key's traffic: an
 * exponentially weighted moving average, as top's load averages. */
#define TALLY_AVG_SECONDS 10.0

/* What every drain and ranking reads of a key: its counts, then the words
 * of its key that its fields use (xdptop_fields_first_word()): a key of
 * one address its two, in an entry of 64 bytes, one cache line; any other
 * all five (src, dst, l4), in 80. Entries are tally_source()'s to find. */
struct source_count {
	__u32 meta;		/* the key's */
	__u32 last_seen;	/* the tally's interval when it last counted */
	__u64 packets;		/* cumulative */
	__u64 bytes;
	__u64 ival_packets;	/* in interval last_seen */
	__u64 ival_bytes;
	__u64 words[];
};

/* Bytes of an entry for keys of these fields: 16-byte aligned, so that
 * one spans two cache lines at most. */
static inline __u32 tally_entry_size(__u32 fields)
{
	__u32 size = sizeof(struct source_count) + xdptop_fields_key_words(fields) * sizeof(__u64);

	return (size + 15) & ~15U;
}

static_assert(sizeof(struct source_count) + XDPTOP_KEY_WORDS * sizeof(__u64) <= 80,
	      "a wide entry of 80 bytes at 16-byte offsets spans two cache lines at most");

/* A key's weighted averages, apart: only the interval's end and the view
 * read them. */
struct source_average {
	double pps, bps;	/* as of time */
	double time;		/* seconds since the tally started */
	double born;		/* when it was first counted (its interval's start) */
};

struct tally_counters {
	struct xdptop_counter total, other, untracked;
};

/* What the tallies of one table share: max_sources in all. The tallies of
 * a budget end their intervals together (one round of the agent). */
struct tally_budget {
	__u32 max_sources;
	__u32 used;			/* sources tracked, all tallies */
	__u32 refused_in;		/* 1 + the interval a source was turned away in */
};

struct tally {
	/* Dense, n_sources entries long (room for capacity), so that ranking
	 * reads only what there is; averages[i] is entry i's. */
	unsigned char *entries;
	struct source_average *averages;
	__u32 fields;			/* the key's: what an entry keeps */
	__u32 entry_size;		/* tally_entry_size(fields) */
	/* Open addressing, linear probing over index + 1 into entries; 0 is
	 * free. 4 bytes an entry: the lookups of a drain stay in cache. */
	__u32 *index;
	__u32 mask;
	__u32 n_sources;
	__u32 capacity;			/* grows, up to its budget's max_sources */
	__u32 now;			/* the open interval: intervals ended so far */
	/* Its own, or the one it shares (tally_share()): never copy a tally. */
	struct tally_budget *budget, own;
	struct tally_counters cum;	/* since the start */
	struct tally_counters open;	/* in the open interval */
	struct tally_counters last;	/* in the last interval ended */
	double started;			/* when the open interval started, seconds */
	double last_length;		/* seconds the last interval ended lasted */
	/* The open interval's end, from tally_cut() on: what is added then
	 * is folded into the averages as it comes (the drain has its entry
	 * in cache), not in a pass over every key after. */
	double cut;
	double fold_weight;		/* per packet of the interval: its rate's weight */
	double fold_keep;		/* an average's decay over the interval */
};

/* A tally of keys of these fields (enum xdptop_field bits). */
int tally_init(struct tally *t, __u32 max_sources, __u32 fields);

/* Entry i (i < n_sources). */
static inline struct source_count *tally_source(const struct tally *t, __u32 i)
{
	return (struct source_count *)(t->entries + (size_t)i * t->entry_size);
}

/* The key an entry holds, whole. */
static inline void tally_key(const struct tally *t, const struct source_count *s,
			     struct xdptop_key *key)
{
	__u32 first = xdptop_fields_first_word(t->fields);

	*key = (struct xdptop_key){ .meta = s->meta };
	for (__u32 i = 0; i < xdptop_fields_key_words(t->fields); i++)
		key->words[first + i] = s->words[i];
}

/* Whether entry s holds key. */
static inline bool tally_has_key(const struct tally *t, const struct source_count *s,
				 const struct xdptop_key *key)
{
	__u32 first = xdptop_fields_first_word(t->fields);

	if (s->meta != key->meta)
		return false;
	for (__u32 i = 0; i < xdptop_fields_key_words(t->fields); i++)
		if (s->words[i] != key->words[first + i])
			return false;
	return true;
}

/* key_compare() of two entries' keys. */
int tally_compare(const struct tally *t, const struct source_count *a,
		  const struct source_count *b);

/* Makes t count against budget (of the same max_sources), before it tracks
 * any source. */
void tally_share(struct tally *t, struct tally_budget *budget);
void tally_free(struct tally *t);

/* The open interval ends at `end` (seconds on the same clock as every
 * other call, CLOCK_MONOTONIC since start): the sources added from here to
 * tally_end_interval() are its counts (the drain of the table's epoch
 * retired at the cut). */
void tally_cut(struct tally *t, double end);

/* Adds a key's frames (hash: xdptop_key_hash(key)), between tally_cut()
 * and tally_end_interval(). */
void tally_add_source(struct tally *t, const struct xdptop_key *key, __u32 hash, __u64 packets,
		      __u64 bytes);
/* Adds frames counted outside the sources (per CPU and interval). */
void tally_add_counters(struct tally *t, const struct tally_counters *c);
/* Ends the interval cut: when its budget turned sources away in the
 * interval, forgets the sources idle the longest (at least one interval),
 * down to 3/4 of those it tracks, exactly when enough are idle (of those
 * equally idle, the ones with the fewest packets first): each tally of a
 * budget does, so that the budget is 3/4 spent after. */
void tally_end_interval(struct tally *t);

/* Frames of s in the last interval ended (zero when it counted none).
 * Inline: ranking by rate asks it of every key. */
static inline struct xdptop_counter tally_last_interval(const struct tally *t,
							 const struct source_count *s)
{
	if (s->last_seen + 1 != t->now)
		return (struct xdptop_counter){};
	return (struct xdptop_counter){ s->ival_packets, s->ival_bytes };
}
/* s's weighted average rates at the end of the last interval. */
void tally_average(const struct tally *t, const struct source_count *s, double *pps, double *bps);

/* What of a tally outlives the agent (ledger.c keeps it): the sources and
 * the cumulative counters, as of an interval's end, and that interval's own
 * counters and length (an exporter that died before sending it sends it
 * from there: out_ipfix.c). */
struct tally_saved {
	const unsigned char *entries;	/* n_sources of the tally's entry size */
	__u32 n_sources;
	__u32 now;
	struct tally_counters cum;
	struct tally_counters last;
	double last_length;
};

static inline struct tally_saved tally_saved(const struct tally *t)
{
	return (struct tally_saved){ t->entries, t->n_sources, t->now, t->cum, t->last,
				     t->last_length };
}

/* Puts back a saved tally into a fresh one, whose open interval started at
 * `started` (when the saved one ended its last, on this tally's clock: it
 * may be before 0). The averages start again. -E2BIG when it does not fit. */
int tally_restore(struct tally *t, const struct tally_saved *saved, double started);

/* A watcher's tally (watch.c): makes next, fresh, the tally a pinned agent
 * committed (image: its keys and cumulative counts, exactly), whose last
 * interval, from started to end, holds what changed since prev (the one
 * before, made the same way, or fresh): each key's averages go on from
 * prev's. 0 or a negative errno. */
int tally_follow(struct tally *next, const struct tally *prev, const struct tally_saved *image,
		 double started, double end);

/* Bytes the tally takes when it tracks max_sources, for the benchmarks'
 * memory table. */
size_t tally_bytes(const struct tally *t);
void counter_merge(struct xdptop_counter *into, const struct xdptop_counter *from);

/* Starts fetching what a lookup of a key of this hash touches: the drain
 * calls it a few keys ahead, so that the tally's cache misses overlap. */
static inline void tally_prefetch(const struct tally *t, __u32 hash)
{
	__u32 pos = t->index[hash & t->mask];

	if (pos) {	/* its two cache lines, when it spans two */
		const unsigned char *e = t->entries + (size_t)(pos - 1) * t->entry_size;

		__builtin_prefetch(e, 1);
		__builtin_prefetch(e + t->entry_size - 1, 1);
	}
}

#endif /* TALLY_H */
