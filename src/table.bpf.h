/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The counting table, BPF side: table_count() is its whole interface.
 *
 * Design. One BPF_F_MMAPABLE array holds XDPTOP_EPOCHS x nr_cpus regions of
 * region_slots slots each; a frame is counted in the region of (active
 * epoch, current CPU). Each region has exactly one writer, the CPU that owns
 * it, so counting needs no atomics and no locks, and two CPUs never share a
 * cache line. Inside a region the table is open addressing: a multiplicative
 * hash of the 16-byte address picks a slot, and the source takes the first
 * free or matching slot among XDPTOP_PROBE_WINDOW consecutive ones. When the
 * window is full the frame is counted as "untracked" in the per-CPU stats, so
 * totals stay exact whatever the load.
 *
 * While a region is sparse, each slot it claims is also logged in the claims
 * map (once per new source per interval, never per frame), so that userspace
 * drains it by visiting only those slots instead of scanning the region.
 *
 * Userspace owns the epochs: it flips them (adds one to epoch), waits for an RCU grace
 * period (every XDP program that could still see the old epoch has returned),
 * reads the retired regions through mmap, adds them to its cumulative tally
 * and clears them. The retired epoch is quiescent while it is read, so each
 * report is an exact cut, and the table only has to hold the sources seen in
 * one interval: idle sources age out by themselves, with no kernel-side
 * eviction and no lost count.
 *
 * Limits. Memory is 2 x CPUs x slots x 32 bytes. A source seen by several CPUs
 * takes a slot on each. With a bounded probe a region stops accepting new
 * sources a little before it is full (userspace sizes regions at twice the
 * sources it tracks for that); those frames are untracked, never lost. */
#ifndef TABLE_BPF_H
#define TABLE_BPF_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "xdptop.h"
#include "parse.bpf.h"

/* Set by the loader between open and load. */
const volatile __u32 region_slots = XDPTOP_DEFAULT_REGION_SLOTS; /* power of 2 */
const volatile __u32 nr_cpus = XDPTOP_DEFAULT_CPUS;
const volatile __u32 claim_log_len = XDPTOP_DEFAULT_REGION_SLOTS >> XDPTOP_CLAIM_LOG_SHIFT;

/* Written by userspace through the mmapped .bss: how many times it
 * flipped; the active epoch is its low bit. A count, not the bit alone, so
 * that a ledger (--pin) can tell whether a flip came after its commit. */
volatile __u32 epoch;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, XDPTOP_EPOCHS * XDPTOP_DEFAULT_CPUS * XDPTOP_DEFAULT_REGION_SLOTS);
	__type(key, __u32);
	__type(value, struct xdptop_slot);
} slots SEC(".maps");

/* Per region, claim_log_len entries: the first slots claimed in this epoch,
 * in order (cpu_stats.claimed counts all claims). u64: an array element
 * takes 8 bytes anyway. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, XDPTOP_EPOCHS * XDPTOP_DEFAULT_CPUS *
			    (XDPTOP_DEFAULT_REGION_SLOTS >> XDPTOP_CLAIM_LOG_SHIFT));
	__type(key, __u32);
	__type(value, __u64);
} claims SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, XDPTOP_EPOCHS * XDPTOP_DEFAULT_CPUS);
	__type(key, __u32);
	__type(value, struct xdptop_cpu_stats);
} cpu_stats SEC(".maps");

#define barrier() asm volatile("" ::: "memory")

static __always_inline void counter_add(struct xdptop_counter *c, __u64 len)
{
	c->packets++;
	c->bytes += len;
}

/* Counts a claim of slot in region, and logs it while the log has room. */
static __always_inline void log_claim(__u32 region, __u32 slot, struct xdptop_cpu_stats *stats)
{
	__u64 n = stats->claimed++;
	__u32 idx = region * claim_log_len + (__u32)n;
	__u64 *entry;

	if (n >= claim_log_len)
		return;
	entry = bpf_map_lookup_elem(&claims, &idx);
	if (entry)
		*entry = slot;
}

/* Counts one frame of source key in region (of the active epoch, this CPU).
 * Returns 0 when the probe window has neither this source nor a free slot. */
static __always_inline int table_count(__u32 region, const struct source_key *key,
				       __u64 meta, __u64 len,
				       struct xdptop_cpu_stats *stats)
{
	__u32 region_base = region * region_slots;
	__u64 tag = meta << XDPTOP_META_SHIFT;
	__u32 mask = region_slots - 1;
	__u32 hash = xdptop_hash(key->addr[0], key->addr[1], meta);

#pragma unroll
	for (__u32 i = 0; i < XDPTOP_PROBE_WINDOW; i++) {
		__u32 slot_in_region = (hash + i) & mask;
		__u32 idx = region_base + slot_in_region;
		struct xdptop_slot *slot = bpf_map_lookup_elem(&slots, &idx);
		__u64 tag_packets;

		if (!slot)
			return 0;
		tag_packets = slot->tag_packets;
		if (!tag_packets) {
			slot->addr[0] = key->addr[0];
			slot->addr[1] = key->addr[1];
			slot->bytes = len;
			barrier(); /* the key before the tag that publishes it */
			slot->tag_packets = tag | 1;
			log_claim(region, slot_in_region, stats);
			return 1;
		}
		/* A full count (2^32 - 1) takes no more: the key goes on to
		 * another slot of its window. */
		if ((tag_packets & ~XDPTOP_PACKETS_MASK) == tag &&
		    (tag_packets & XDPTOP_PACKETS_MASK) != XDPTOP_PACKETS_MASK &&
		    slot->addr[0] == key->addr[0] && slot->addr[1] == key->addr[1]) {
			slot->tag_packets = tag_packets + 1;
			slot->bytes += len;
			return 1;
		}
	}
	return 0;
}

#endif /* TABLE_BPF_H */
