/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The counting table's reader: the userspace half of table.bpf.h. */
#ifndef TABLE_H
#define TABLE_H

#include <stddef.h>
#include "tally.h"
#include "xdptop.h"

/* What a loaded program instance shares with its reader. */
struct table_maps {
	int slots_fd, claims_fd, stats_fd;
	volatile __u32 *active_epoch;	/* in the program's mmapped .bss */
	__u32 nr_cpus;
	__u32 region_slots;
};

struct table {
	struct xdptop_slot *slots;	/* mmapped: epochs x CPUs x region_slots */
	__u64 *claims;			/* mmapped: epochs x CPUs x claim_log_len */
	struct xdptop_cpu_stats *stats;	/* mmapped: epochs x CPUs */
	size_t slots_len, claims_len, stats_len;
	volatile __u32 *active_epoch;
	__u32 nr_cpus;
	__u32 region_slots;
	__u32 claim_log_len;
};

/* Slots per CPU region for a table that tracks max_sources. */
__u32 table_region_slots(__u32 max_sources);
/* Entries of a region's claim log. */
__u32 table_claim_log_len(__u32 region_slots);

/* The largest --max-sources whose table a BPF array can hold on nr_cpus
 * CPUs: its slots, all epochs and CPUs, must number less than 2^32. */
__u32 table_max_sources(__u32 nr_cpus);

int table_map(struct table *t, const struct table_maps *maps);
void table_unmap(struct table *t);

/* Makes the other epoch the active one; returns the retired epoch. Its
 * regions may still be written until table_grace_period() returns. */
__u32 table_flip(struct table *t);

/* Creates the maps table_grace_period() updates (needs CAP_BPF: call it
 * before dropping privileges; table_grace_period() calls it otherwise). */
int table_grace_open(void);

/* Waits until no XDP program that could have seen a retired epoch is still
 * running: one RCU grace period, for every table at once. */
int table_grace_period(void);

/* Adds the retired epoch's counts to tally and clears them. */
void table_drain(struct table *t, __u32 epoch, struct tally *tally);

#endif /* TABLE_H */
