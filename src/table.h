/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The counting table's reader: the userspace half of table.bpf.h. */
#ifndef TABLE_H
#define TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include "tally.h"
#include "xdptop.h"

/* How a table is sized: what the program's rodata and map sizes say. */
struct table_size {
	__u32 nr_cpus;
	__u32 nr_ifaces;		/* the interfaces that share it */
	__u32 region_slots;		/* per CPU and epoch */
	__u32 shared_slots;		/* per epoch */
	__u32 region_log_len;		/* per CPU and epoch */
	__u32 shared_log_len;		/* per epoch */
	__u32 fields;			/* the key's: where a slot's words go */
	__u32 slot_elements;		/* the key's width: xdptop_fields_slot_elements() */
};

/* The size of a table that tracks max_sources, in all, for nr_ifaces
 * interfaces on nr_cpus CPUs, for keys of these fields. */
struct table_size table_size(__u32 max_sources, __u32 nr_cpus, __u32 nr_ifaces, __u32 fields);

/* Slots in one epoch: every CPU's region, then the shared part. */
static inline __u64 table_epoch_slots(const struct table_size *z)
{
	return xdptop_epoch_slots(z->nr_cpus, z->region_slots, z->shared_slots);
}

/* Entries of one epoch's claim logs: each CPU's region's, the shared part's. */
static inline __u64 table_epoch_claims(const struct table_size *z)
{
	return xdptop_epoch_claims(z->nr_cpus, z->region_log_len, z->shared_log_len);
}

/* Bytes of BPF maps the table takes (slots, claim logs, stats), page-rounded. */
__u64 table_map_bytes(const struct table_size *z);

/* The largest --max-sources whose table a BPF array can hold on nr_cpus
 * CPUs for keys of these fields: its elements, both epochs, must number
 * less than 2^32 (the interfaces add none). */
__u32 table_max_sources(__u32 nr_cpus, __u32 fields);

/* What a loaded program instance shares with its reader. */
struct table_maps {
	int slots_fd, claims_fd, stats_fd;
	volatile __u32 *epoch;		/* in the program's mmapped .bss */
	struct table_size size;
};

struct table {
	struct xdptop_slot *slots;	/* mmapped: epochs x (CPUs x region + shared) x elements */
	__u64 *claims;			/* mmapped: the claim logs (table.bpf.h) */
	struct xdptop_cpu_stats *stats;	/* mmapped: epochs x interfaces x CPUs */
	size_t slots_len, claims_len, stats_len;
	volatile __u32 *epoch;		/* flips so far; the active epoch is its low bit */
	struct table_size size;
	/* A ledger (--pin) commits the drained counts before they are
	 * cleared: table_drain() leaves them, table_clear() clears them. */
	bool keep_retired;
};

int table_map(struct table *t, const struct table_maps *maps);

/* Slot i of the table, counting from the first epoch's first. */
static inline struct xdptop_slot *table_slot(const struct table *t, __u64 i)
{
	return &((struct xdptop_slot *)t->slots)[i * t->size.slot_elements];
}

/* The key a slot holds, whole. */
void table_slot_key(const struct table *t, const struct xdptop_slot *slot,
		    struct xdptop_key *key);
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

/* Adds the retired epoch's counts of each interface to its tally
 * (tallies[slot], nr_ifaces of them) and clears them (unless keep_retired). */
void table_drain(struct table *t, __u32 epoch, struct tally *tallies);

/* Clears a retired epoch. Idempotent: after a crash half-way, clearing
 * again finishes the job. */
void table_clear(struct table *t, __u32 epoch);

/* The epoch the XDP program counts into. */
static inline __u32 table_active_epoch(const struct table *t)
{
	return *t->epoch & 1;
}

/* Flips so far: the epoch the last flip retired is (flips - 1) & 1. */
static inline __u32 table_flips(const struct table *t)
{
	return *t->epoch;
}

#endif /* TABLE_H */
