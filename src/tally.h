/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The agent's cumulative counts for one interface: every source it tracks,
 * plus other, untracked and total. Bounded: when max_sources are tracked, a
 * new source's counts go to untracked, and at the end of that interval the
 * sources idle the longest give way (their counts move to untracked too), so
 * that newcomers are tracked from their next frames on and the totals stay
 * exact. Without newcomers, nothing is forgotten. */
#ifndef TALLY_H
#define TALLY_H

#include <stdbool.h>
#include <stddef.h>
#include "xdptop.h"

struct source_count {
	__u64 addr[2];
	__u32 family;		/* enum xdptop_family */
	__u32 last_seen;	/* the tally's interval when it last counted */
	__u64 packets;
	__u64 bytes;
};

struct tally {
	/* Dense, n_sources long, so that ranking reads only what there is. */
	struct source_count *sources;
	/* Open addressing, linear probing over index + 1 into sources; 0 is
	 * free. 4 bytes an entry: the lookups of a drain stay in cache. */
	__u32 *index;
	__u32 mask;
	__u32 n_sources;
	__u32 max_sources;
	__u32 now;			/* intervals ended so far */
	__u32 refused;			/* sources turned away this interval */
	struct xdptop_counter other;
	struct xdptop_counter untracked;
	struct xdptop_counter total;
};

int tally_init(struct tally *t, __u32 max_sources);
void tally_free(struct tally *t);
void tally_add_source(struct tally *t, __u32 family, const __u64 addr[2],
		      __u64 packets, __u64 bytes);
/* Ends an interval: when sources were turned away in it, forgets the sources
 * idle the longest (at least one interval), down to 3/4 of max_sources. */
void tally_end_interval(struct tally *t);
/* Bytes the tally holds, for the benchmarks' memory table. */
size_t tally_bytes(const struct tally *t);
void counter_merge(struct xdptop_counter *into, const struct xdptop_counter *from);

/* Starts fetching what a lookup of a source touches: the drain calls it a
 * few sources ahead, so that the tally's cache misses overlap. */
static inline void tally_prefetch(const struct tally *t, __u32 family, const __u64 addr[2])
{
	__u32 pos = t->index[xdptop_hash(addr[0], addr[1], family) & t->mask];

	if (pos)
		__builtin_prefetch(&t->sources[pos - 1], 1);
}

#endif /* TALLY_H */
