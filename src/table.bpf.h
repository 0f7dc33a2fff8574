/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The counting table, BPF side: table_count() is its whole interface.
 *
 * Design. One BPF_F_MMAPABLE array holds, for each of XDPTOP_EPOCHS epochs,
 * one small region per CPU and one shared part; a frame is counted in the
 * active epoch. A key goes first to its CPU's own region: one writer, no
 * atomics, no cache line shared with another CPU, so a key that several
 * CPUs see at once (RSS, a flood on every queue) costs each no more than
 * one. When the key's probe window there is full (the region holds at
 * most XDPTOP_REGION_MAX_SLOTS, what one CPU sees in an interval in most
 * cases), it goes to the shared part, sized for all of --max-sources:
 * there a CPU claims a free slot with a compare-and-swap and counts with
 * atomic adds. Memory is therefore 2 x (CPUs x region + shared) slots, not
 * 2 x CPUs x --max-sources: the CPUs' regions are the only part that grows
 * with them, 64 KiB per CPU and epoch (128 KiB for a wide key).
 *
 * The agent's interfaces share the table, each through a program instance
 * of its own that knows its slot (iface_slot): a key is its fields and
 * meta on that interface, and each interface has its own per-CPU stats.
 * Memory does not grow with the interfaces either, and --max-sources is
 * the budget of them all.
 *
 * Inside either part the table is open addressing: a multiplicative hash of
 * the key picks a slot, and the key takes the first free or matching slot
 * among XDPTOP_PROBE_WINDOW consecutive ones (a region starts from the
 * hash's halves swapped, the shared part from the hash). When both windows
 * are full the frame is counted as "untracked" in the per-CPU stats, so
 * totals stay exact whatever the load. A region 3/4 claimed takes no more
 * keys in that epoch: a frame then looks only at its key's first slot
 * there (the only slot a frame looks at before it reads the claim count),
 * then in the shared part (a key elsewhere in the region takes a
 * second slot there, which the reader adds up), so that a flood of new keys
 * costs one cache line in the region, not a window of them.
 *
 * Claims are logged (once per new key per interval, never per frame)
 * while they are few: each CPU's in its region in a log of its own, all
 * CPUs' in the shared part in one log whose index they take with an atomic
 * add. Userspace drains a sparse epoch by visiting only the logged slots.
 *
 * Userspace owns the epochs: it flips them (adds one to epoch), waits for an
 * RCU grace period (every XDP program that could still see the old epoch has
 * returned, claims included), reads the retired epoch through mmap, adds it
 * to its cumulative tally and clears it. The retired epoch is quiescent
 * while it is read, so each report is an exact cut, and the table only has
 * to hold the keys seen in one interval: idle keys age out by
 * themselves, with no kernel-side eviction and no lost count.
 *
 * Limits. A key seen by several CPUs takes a slot in each one's region
 * (or several in the shared part, when two claim at once); the reader adds
 * them up. A bounded probe stops accepting new keys a little before a
 * part is full; the shared part has twice the slots of --max-sources for
 * that. A claim publishes the key with its tag, stored after it (publish());
 * a CPU reads a slot's tag, then its key, with plain loads, which x86 keeps
 * in order; on a weakly ordered CPU a frame racing a claim of its own window
 * could read the key before it is written. */
#ifndef TABLE_BPF_H
#define TABLE_BPF_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "xdptop.h"
#include "parse.bpf.h"

/* Set by the loader between open and load. */
const volatile __u32 region_slots = XDPTOP_DEFAULT_REGION_SLOTS; /* per CPU, power of 2 */
const volatile __u32 shared_slots = XDPTOP_DEFAULT_SHARED_SLOTS; /* power of 2 */
const volatile __u32 nr_cpus = XDPTOP_DEFAULT_CPUS;
const volatile __u32 region_log_len = XDPTOP_DEFAULT_REGION_LOG;
const volatile __u32 shared_log_len = XDPTOP_DEFAULT_SHARED_LOG;
const volatile __u32 nr_ifaces = XDPTOP_DEFAULT_IFACES;
const volatile __u32 iface_slot;	/* this program's interface: < nr_ifaces */

/* Written by userspace through the mmapped .bss: how many times it
 * flipped; the active epoch is its low bit. A count, not the bit alone, so
 * that a ledger (--pin) can tell whether a flip came after its commit. */
volatile __u32 epoch;

/* Per epoch: nr_cpus regions of region_slots, then shared_slots; a slot
 * is one element (narrow) or two (wide). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, XDPTOP_EPOCHS * XDPTOP_DEFAULT_EPOCH_SLOTS);
	__type(key, __u32);
	__type(value, struct xdptop_slot);
} slots SEC(".maps");

/* The claim logs: for each epoch and CPU, 1 + region_log_len entries, how
 * many slots the CPU claimed in its region in this epoch, then the first
 * ones, in order, as offsets into the epoch; after all of them, for each
 * epoch, 1 + shared_log_len entries, the same for the shared part. u64: an
 * array element takes 8 bytes anyway. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, XDPTOP_EPOCHS * (XDPTOP_DEFAULT_CPUS * (1 + XDPTOP_DEFAULT_REGION_LOG) +
					     1 + XDPTOP_DEFAULT_SHARED_LOG));
	__type(key, __u32);
	__type(value, __u64);
} claims SEC(".maps");

/* Per epoch, interface and CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, XDPTOP_EPOCHS * XDPTOP_DEFAULT_IFACES * XDPTOP_DEFAULT_CPUS);
	__type(key, __u32);
	__type(value, struct xdptop_cpu_stats);
} cpu_stats SEC(".maps");

#define barrier() asm volatile("" ::: "memory")

/* Element index of an array map. The index goes to the stack as a whole
 * word: clang may give it a place where a pointer was spilled before, and
 * a verifier without CAP_PERFMON refuses a narrower store over a spilled
 * pointer (Linux 6.1 and 6.12). The map reads the word's first 4 bytes. */
static __always_inline void *array_elem(void *map, __u32 index)
{
	__u64 key = index;

#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	key <<= 32;
#endif
	return bpf_map_lookup_elem(map, &key);
}

static __always_inline void counter_add(struct xdptop_counter *c, __u64 len)
{
	c->packets++;
	c->bytes += len;
}

/* Where one frame is counted: its key, and the epoch and CPU it counts in. */
struct table_frame {
	bool wide;		/* the program's key width: a slot of one element or two */
	/* The key's words as a slot holds them: in its first element, src
	 * or dst (xdptop.h); in a wide slot's second, dst and l4. Values, not
	 * pointers into the key: so clang keeps a narrow key in registers. */
	__u64 first[2];
	__u64 rest[3];
	__u64 tag;		/* the key's meta, in place in tag_packets */
	__u64 iface;		/* iface_slot, in place in iface_bytes */
	__u64 len;
	__u32 hash;
	__u32 epoch_base;	/* the active epoch's first slot */
	__u32 epoch;		/* the active epoch: where its claim logs are */
	__u32 cpu;
};

/* Logs offset at entry n of the log at idx, while it has room for it. */
static __always_inline void log_at(__u32 idx, __u64 n, __u32 len, __u32 offset)
{
	__u64 *entry;

	if (n >= len)
		return;
	idx += 1 + (__u32)n;
	entry = array_elem(&claims, idx);
	if (entry)
		*entry = offset;
}

/* The first element of slot number idx (from the table's first). */
static __always_inline __u32 slot_element(const struct table_frame *f, __u32 idx)
{
	return f->wide ? idx << 1 : idx;
}

/* The second element of a wide slot whose first is elem, or NULL. */
static __always_inline struct xdptop_slot_rest *slot_rest(__u32 elem)
{
	__u32 next = elem + 1;

	return array_elem(&slots, next);
}

/* The slot (its first element elem) holds this key on this interface, and
 * has room for more bytes (one compare: another interface's bits make the
 * difference huge). */
static __always_inline int slot_has_key(const struct xdptop_slot *slot, __u32 elem,
					 const struct table_frame *f)
{
	const struct xdptop_slot_rest *rest;

	if (slot->iface_bytes - f->iface >= XDPTOP_BYTES_MAX ||
	    slot->key[0] != f->first[0] || slot->key[1] != f->first[1])
		return 0;
	if (!f->wide)
		return 1;
	rest = slot_rest(elem);
	return rest && rest->key[0] == f->rest[0] && rest->key[1] == f->rest[1] &&
	       rest->key[2] == f->rest[2];
}

/* Writes the key into a slot being claimed. */
static __always_inline void slot_put_key(struct xdptop_slot *slot, __u32 elem,
					 const struct table_frame *f)
{
	struct xdptop_slot_rest *rest;

	slot->key[0] = f->first[0];
	slot->key[1] = f->first[1];
	if (!f->wide)
		return;
	rest = slot_rest(elem);
	if (rest) {
		rest->key[0] = f->rest[0];
		rest->key[1] = f->rest[1];
		rest->key[2] = f->rest[2];
	}
}

/* The CPU's own region: it alone writes there. A key in its first slot
 * costs that slot alone: only a frame whose key is not there reads the
 * CPU's count of claims in the region, and once 3/4 of the region is
 * claimed it takes no more keys in this epoch: the key goes on to the
 * shared part at once, so that a flood of new keys costs one cache line
 * here. */
static __always_inline int region_count(const struct table_frame *f)
{
	__u32 region = xdptop_region_offset(f->cpu, region_slots);
	__u32 mask = region_slots - 1;
	/* The hash's halves swapped: keys whose windows collide here are apart
	 * in the shared part, also when both parts have as many slots. The
	 * shared part keeps the hash as it is: read in order, its keys then
	 * come in the order of the tally's index (the same hash), whose
	 * lookups stream instead of missing. */
	__u32 hash = f->hash >> 16 | f->hash << 16;
	__u32 log = xdptop_region_log(f->epoch, f->cpu, nr_cpus, region_log_len);
	__u64 *claimed = NULL;

#pragma unroll
	for (__u32 i = 0; i < XDPTOP_PROBE_WINDOW; i++) {
		__u32 offset = region + ((hash + i) & mask);
		__u32 elem = slot_element(f, f->epoch_base + offset);
		struct xdptop_slot *slot = array_elem(&slots, elem);
		__u64 tag_packets;

		if (!slot)
			return 0;
		tag_packets = slot->tag_packets;
		/* A free slot's tag matches no key (a key's meta has its
		 * family). A full count (2^32 - 1) takes no more: the key goes
		 * on to another slot of its window. */
		if ((tag_packets & ~XDPTOP_PACKETS_MASK) == f->tag &&
		    (tag_packets & XDPTOP_PACKETS_MASK) != XDPTOP_PACKETS_MASK &&
		    slot_has_key(slot, elem, f)) {
			slot->tag_packets = tag_packets + 1;
			slot->iface_bytes += f->len;
			return 1;
		}
		if (!i) {
			claimed = array_elem(&claims, log);
			if (!claimed || *claimed >= XDPTOP_REGION_FULL(region_slots))
				return 0;
		}
		if (!tag_packets) {
			slot_put_key(slot, elem, f);
			slot->iface_bytes = f->iface | f->len;
			barrier(); /* the key before the tag that publishes it */
			slot->tag_packets = f->tag | 1;
			log_at(log, (*claimed)++, region_log_len, offset);
			return 1;
		}
	}
	return 0;
}

/* The shared part's log: its index taken with an atomic add. */
static __always_inline void log_shared(const struct table_frame *f, __u32 offset)
{
	__u32 log = xdptop_shared_log(f->epoch, nr_cpus, region_log_len, shared_log_len);
	__u64 *claimed = array_elem(&claims, log);

	if (claimed)
		log_at(log, __sync_fetch_and_add(claimed, 1), shared_log_len, offset);
}

/* Publishes a claimed shared slot: its tag, once its key is written. On
 * x86 stores are seen in the order they were made (the compiler barrier
 * keeps that order), so a plain store does; elsewhere, an atomic exchange,
 * a full barrier. */
static __always_inline void publish(struct xdptop_slot *slot, __u64 tag)
{
#ifdef XDPTOP_STORES_IN_ORDER
	barrier();
	*(volatile __u64 *)&slot->tag_packets = tag;
#else
	__sync_lock_test_and_set(&slot->tag_packets, tag);
#endif
}

/* The shared part: every CPU may write there, so a claim takes the slot
 * with a compare-and-swap before it writes the key, and counts are atomic
 * adds. A slot being claimed (XDPTOP_SLOT_BUSY) matches no key: a frame of
 * the same key then takes another slot, which the reader adds up. */
static __always_inline int shared_count(const struct table_frame *f)
{
	__u32 shared = xdptop_region_offset(nr_cpus, region_slots);
	__u32 mask = shared_slots - 1;

#pragma unroll
	for (__u32 i = 0; i < XDPTOP_PROBE_WINDOW; i++) {
		__u32 offset = shared + ((f->hash + i) & mask);
		__u32 elem = slot_element(f, f->epoch_base + offset);
		struct xdptop_slot *slot = array_elem(&slots, elem);
		__u64 tag_packets;

		if (!slot)
			return 0;
		tag_packets = slot->tag_packets;
		if (!tag_packets) {
			if (__sync_val_compare_and_swap(&slot->tag_packets, 0, XDPTOP_SLOT_BUSY))
				continue;	/* another CPU was first */
			slot_put_key(slot, elem, f);
			slot->iface_bytes = f->iface | f->len;
			publish(slot, f->tag | 1);
			log_shared(f, offset);
			return 1;
		}
		if ((tag_packets & ~XDPTOP_PACKETS_MASK) == f->tag &&
		    (tag_packets & XDPTOP_PACKETS_MASK) < XDPTOP_SHARED_PACKETS_MAX &&
		    slot_has_key(slot, elem, f)) {
			__sync_fetch_and_add(&slot->tag_packets, 1);
			__sync_fetch_and_add(&slot->iface_bytes, f->len);
			return 1;
		}
	}
	return 0;
}

/* xdptop_key_hash(key), without the terms of the fields the key lacks
 * (they are zero). */
static __always_inline __u32 table_hash(const struct xdptop_key *key, __u32 fields)
{
	__u64 h = key->meta;

	if (fields & XDPTOP_FIELD_SRC)
		h ^= (key->src[0] * XDPTOP_HASH_SRC0) ^ (key->src[1] * XDPTOP_HASH_SRC1);
	if (fields & XDPTOP_FIELD_DST)
		h ^= (key->dst[0] * XDPTOP_HASH_DST0) ^ (key->dst[1] * XDPTOP_HASH_DST1);
	if (fields & XDPTOP_FIELDS_L4)
		h ^= key->l4 * XDPTOP_HASH_L4;
	return xdptop_hash_mix(h);
}

/* Counts one frame of key (its meta set) in the active epoch e, on this
 * cpu, for a program of this key width. Returns 0 when neither probe
 * window has this key or a free slot. */
static __always_inline int table_count(__u32 e, __u32 cpu, const struct xdptop_key *key,
				       bool wide, __u64 len)
{
	bool first_dst = !wide && xdptop_fields_first_dst(key_fields);
	const struct table_frame f = {
		.wide = wide,
		/* A narrow key's address is its src or its dst. */
		.first = { first_dst ? key->dst[0] : key->src[0],
			   first_dst ? key->dst[1] : key->src[1] },
		.rest = { key->dst[0], key->dst[1], key->l4 },
		.tag = (__u64)key->meta << XDPTOP_META_SHIFT,
		.iface = (__u64)iface_slot << XDPTOP_IFACE_SHIFT,
		.len = len,
		.hash = table_hash(key, program_fields(wide)),
		.epoch_base = e * xdptop_epoch_slots(nr_cpus, region_slots, shared_slots),
		.epoch = e,
		.cpu = cpu,
	};

	return region_count(&f) || shared_count(&f);
}

#endif /* TABLE_BPF_H */
