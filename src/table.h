/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The counting table's reader: the userspace half of table.bpf.h. */
#ifndef TABLE_H
#define TABLE_H

#include <stddef.h>
#include "tally.h"
#include "xdptop.h"

struct table {
	struct xdptop_slot *slots;	/* mmapped: epochs x CPUs x region_slots */
	struct xdptop_cpu_stats *stats;	/* mmapped: epochs x CPUs */
	size_t slots_len, stats_len;
	volatile __u32 *active_epoch;	/* in the program's mmapped .bss */
	__u32 nr_cpus;
	__u32 region_slots;
};

/* Slots per CPU region for a table that tracks max_sources. */
__u32 table_region_slots(__u32 max_sources);

int table_map(struct table *t, int slots_fd, int stats_fd, volatile __u32 *active_epoch,
	      __u32 nr_cpus, __u32 region_slots);
void table_unmap(struct table *t);

/* Makes the other epoch the active one; returns the retired epoch. Its
 * regions may still be written until table_grace_period() returns. */
__u32 table_flip(struct table *t);

/* Waits until no XDP program that could have seen a retired epoch is still
 * running: one RCU grace period, for every table at once. */
int table_grace_period(void);

/* Adds the retired epoch's counts to tally and clears them. */
void table_drain(struct table *t, __u32 epoch, struct tally *tally);

#endif /* TABLE_H */
