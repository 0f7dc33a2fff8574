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
	} else {
		counter_merge(&t->untracked, &add);
	}
}
