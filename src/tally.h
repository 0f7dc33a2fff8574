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
	__u32 family;		/* enum xdptop_family; NONE marks a free entry */
	__u32 last_seen;	/* the tally's interval when it last counted */
	__u64 packets;
	__u64 bytes;
};

struct tally {
	struct source_count *entries;	/* open addressing, linear probing */
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
int tally_end_interval(struct tally *t);
void counter_merge(struct xdptop_counter *into, const struct xdptop_counter *from);

/* Iterates the tracked sources: for (i = 0; i < tally_slots(t); i++) if
 * (t->entries[i].family) ... */
static inline size_t tally_slots(const struct tally *t)
{
	return (size_t)t->mask + 1;
}

#endif /* TALLY_H */
