/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The agent's cumulative counts for one interface: every source it tracks,
 * plus other, untracked and total. Bounded: past max_sources, new sources
 * are added to untracked, so the totals stay exact. */
#ifndef TALLY_H
#define TALLY_H

#include <stdbool.h>
#include <stddef.h>
#include "xdptop.h"

struct source_count {
	__u64 addr[2];
	__u32 family;		/* enum xdptop_family; NONE marks a free entry */
	__u32 pad;
	__u64 packets;
	__u64 bytes;
};

struct tally {
	struct source_count *entries;	/* open addressing, linear probing */
	__u32 mask;
	__u32 n_sources;
	__u32 max_sources;
	struct xdptop_counter other;
	struct xdptop_counter untracked;
	struct xdptop_counter total;
};

int tally_init(struct tally *t, __u32 max_sources);
void tally_free(struct tally *t);
void tally_add_source(struct tally *t, __u32 family, const __u64 addr[2],
		      __u64 packets, __u64 bytes);
void counter_merge(struct xdptop_counter *into, const struct xdptop_counter *from);

/* Iterates the tracked sources: for (i = 0; i < tally_slots(t); i++) if
 * (t->entries[i].family) ... */
static inline size_t tally_slots(const struct tally *t)
{
	return (size_t)t->mask + 1;
}

#endif /* TALLY_H */
