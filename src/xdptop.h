/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Types shared by the XDP program and userspace. Fixed-width only: both sides
 * must agree on every byte of the maps they share. */
#ifndef XDPTOP_H
#define XDPTOP_H

#ifdef __BPF__
#include <linux/types.h>
#else
#include <linux/types.h>
#include <assert.h>
#include <stddef.h>
#endif

/* Address families as stored in a slot's tag (not AF_* values: those are
 * userspace constants the BPF side does not have). */
enum xdptop_family {
	XDPTOP_FAMILY_NONE = 0,
	XDPTOP_FAMILY_IPV4 = 4,
	XDPTOP_FAMILY_IPV6 = 6,
};

/* A key's meta word: its family and, with --vlan, the VLAN tags the frame
 * carried (how many, and their ids, outermost first). Without --vlan the
 * tags are not part of the key and meta is the family alone. */
#define XDPTOP_META_FAMILY_MASK 0xfU
#define XDPTOP_META_NVLANS_SHIFT 4	/* 0, 1 or 2 tags */
#define XDPTOP_META_VLAN0_SHIFT 8	/* outermost VLAN id, 12 bits */
#define XDPTOP_META_VLAN1_SHIFT 20	/* inner VLAN id (QinQ), 12 bits */
#define XDPTOP_VLAN_ID_MASK 0xfffU

/* The fields a key may have (--key), as bits of a key's field set. */
enum xdptop_field {
	XDPTOP_FIELD_SRC = 1 << 0,
	XDPTOP_FIELD_DST = 1 << 1,
	XDPTOP_FIELD_PROTO = 1 << 2,
	XDPTOP_FIELD_SPORT = 1 << 3,
	XDPTOP_FIELD_DPORT = 1 << 4,
	XDPTOP_FIELD_TCPFLAGS = 1 << 5,
};
#define XDPTOP_FIELDS_ADDRESS (XDPTOP_FIELD_SRC | XDPTOP_FIELD_DST)
#define XDPTOP_FIELDS_L4 \
	(XDPTOP_FIELD_PROTO | XDPTOP_FIELD_SPORT | XDPTOP_FIELD_DPORT | XDPTOP_FIELD_TCPFLAGS)

/* What a frame is counted under: the fields its key's field set names,
 * the others zero. The XDP program builds it (parse.bpf.h), the table and
 * the agent's tally store the words its fields use (in a slot of its width,
 * below; in an entry of tally_entry_size()), the outputs get it whole.
 * Addresses are in network order (IPv4 in the first 4 bytes, the rest
 * zero), cut to the key's prefix; ports in host order. */
#define XDPTOP_KEY_WORDS 5

struct xdptop_key {
	union {
		struct {
			__u64 src[2];
			__u64 dst[2];
			union {
				struct {
					__u16 sport;
					__u16 dport;	/* ICMP and ICMPv6: type << 8 | code */
					__u8 proto;	/* IPv6: the upper layer's, past
							 * extension headers */
					__u8 tcpflags;	/* TCP's flags byte: FIN (0x01) to
							 * CWR (0x80) */
					__u16 l4_pad;
				};
				__u64 l4;	/* the four as one word, for the table
						 * and the hash */
			};
		};
		/* src, dst, l4 in order: what a wide slot and the agent's
		 * tally keep of a wide key (a narrow one keeps its address's
		 * two words: xdptop_fields_first_word()). */
		__u64 words[XDPTOP_KEY_WORDS];
	};
	__u32 meta;		/* family and VLANs */
	__u32 pad;
};

/* Where a key's words (src, dst, l4: all but meta) go in a slot. A key of
 * one address and nothing more (--key src or dst, with or without prefixes
 * and VLANs) keeps a narrow slot, 32 bytes, two per cache line, which
 * holds that address. Any other key takes a wide slot, 64 bytes: two
 * elements of the table's array, the second (struct xdptop_slot_rest)
 * holding dst and l4. Two elements, not one of 64 bytes: a program never
 * touches past a 32-byte element, not even on the paths its key never
 * takes, which a verifier before Linux 6.17 checks too without
 * CAP_PERFMON (Spectre v1: it simulates the branch not taken). */
static inline int xdptop_fields_wide(__u32 fields)
{
	return (fields & XDPTOP_FIELDS_L4) || (fields & XDPTOP_FIELDS_ADDRESS) == XDPTOP_FIELDS_ADDRESS;
}

/* Whether a slot's first element holds the key's dst, not its src: a
 * narrow key of the destination. */
static inline int xdptop_fields_first_dst(__u32 fields)
{
	return !xdptop_fields_wide(fields) && (fields & XDPTOP_FIELD_DST);
}

/* The words of a key (struct xdptop_key's words) that a slot or a tally
 * keeps: from this one on, xdptop_fields_key_words() of them. */
static inline __u32 xdptop_fields_first_word(__u32 fields)
{
	return xdptop_fields_first_dst(fields) ? 2 : 0;
}

static inline __u32 xdptop_fields_key_words(__u32 fields)
{
	return xdptop_fields_wide(fields) ? XDPTOP_KEY_WORDS : 2;
}

/* One key's counters in one slot of the table (see table.bpf.h).
 *
 * tag_packets packs two things so that a slot is published with one
 * store: the key's meta in the high 32 bits and the packet count in the
 * low 32. tag_packets == 0 means the slot is free; XDPTOP_SLOT_BUSY, that
 * a CPU is claiming it in the shared part. A slot whose count reaches its
 * limit within one interval takes no more frames: the key claims another
 * slot, and the reader adds both up. The key is written before
 * tag_packets publishes it.
 *
 * The agent's interfaces share one table: iface_bytes holds the slot of the
 * interface the key was seen on (its place in the table, not its ifindex)
 * in the high 16 bits, the bytes in the low 48. */
struct xdptop_slot {
	__u64 tag_packets;
	__u64 iface_bytes;
	__u64 key[2];		/* the address of a narrow key; src of a wide one */
};

/* The second element of a wide slot. */
struct xdptop_slot_rest {
	__u64 key[3];		/* dst, l4 */
	__u64 pad;
};

/* The table's array elements a slot of these fields takes: 1 or 2. */
static inline __u32 xdptop_fields_slot_elements(__u32 fields)
{
	return xdptop_fields_wide(fields) ? 2 : 1;
}

#define XDPTOP_META_SHIFT 32
#define XDPTOP_PACKETS_MASK 0xffffffffULL

/* A shared slot being claimed: a meta no key has (its family is none), so
 * no frame matches it. It never outlives the claiming program's run, so a
 * reader never sees it after a grace period. */
#define XDPTOP_SLOT_BUSY (0xfULL << XDPTOP_META_SHIFT)

/* Several CPUs add to a shared slot at once: each checks the count, then
 * adds one, so a count that stops this far below the limit (more than any
 * number of CPUs) never carries into the meta. */
#define XDPTOP_SHARED_PACKETS_MAX (XDPTOP_PACKETS_MASK - 0x10000)

#define XDPTOP_IFACE_SHIFT 48
#define XDPTOP_BYTES_MASK ((1ULL << XDPTOP_IFACE_SHIFT) - 1)
/* A slot takes no more frames once it counted 2^47 bytes in an interval:
 * half the field, so that what CPUs add at once never reaches the
 * interface's bits. */
#define XDPTOP_BYTES_MAX (1ULL << 47)

/* Frames and bytes of one interface on one CPU in one epoch that are not in
 * a slot. total counts every frame the program saw, so that
 * sum(slots) + other + untracked == total holds exactly per epoch,
 * interface and CPU. */
struct xdptop_counter {
	__u64 packets;
	__u64 bytes;
};

/* One interface's counters on one CPU in one epoch, padded to a cache
 * line: CPUs never share one. */
struct xdptop_cpu_stats {
	struct xdptop_counter total;
	struct xdptop_counter other;	 /* not IPv4/IPv6, truncated, malformed */
	struct xdptop_counter untracked; /* IP, but no free slot in either probe window */
	__u64 pad[2];
};

/* Slots a frame's key may occupy, from its hash slot on. A bounded probe
 * keeps the per-packet cost flat when the table is full. */
#define XDPTOP_PROBE_WINDOW 8

/* The slots claimed in each CPU's region (whatever the interface), and in
 * the shared part, are counted and logged while they are few, up to 1/8 of
 * the part: beyond that, reading every slot in order is about as cheap as
 * visiting the logged ones. A log is the count, then the offsets. */
#define XDPTOP_CLAIM_LOG_SHIFT 3

/* The most slots a CPU's own region has: 64 KiB an epoch (of narrow slots),
 * so that 256 CPUs take 32 MiB for their regions, and a region stays in the
 * CPU's cache. */
#define XDPTOP_REGION_MAX_SLOTS 2048

/* A region 3/4 claimed takes no more keys in its epoch, and a frame looks
 * only at its key's first slot there: a flood of new keys then costs one
 * cache line in the region instead of a full window of them. */
#define XDPTOP_REGION_FULL(slots) ((slots) / 4 * 3)

/* The version of everything above that a pinned table (--pin) shares with
 * the next agent, and of the ledger (ledger.c): a change to either bumps
 * it, and an agent refuses a pinned table of another version. */
#define XDPTOP_LAYOUT_VERSION 6

/* Two epochs: the XDP program counts into the active one while userspace
 * reads and clears the other (see table.bpf.h). */
#define XDPTOP_EPOCHS 2

/* Defaults baked into the object, so that `bpftool prog loadall` loads it as
 * it is: 2 epochs x (64 CPUs x 1,024 slots + 65,536 shared) = 8 MiB. The
 * agent sizes the maps to the machine's CPUs and --max-sources before
 * loading. */
#define XDPTOP_DEFAULT_CPUS 64
#define XDPTOP_DEFAULT_REGION_SLOTS 1024
#define XDPTOP_DEFAULT_SHARED_SLOTS 65536
#define XDPTOP_DEFAULT_IFACES 1
#define XDPTOP_DEFAULT_REGION_LOG (XDPTOP_DEFAULT_REGION_SLOTS >> XDPTOP_CLAIM_LOG_SHIFT)
#define XDPTOP_DEFAULT_SHARED_LOG (XDPTOP_DEFAULT_SHARED_SLOTS >> XDPTOP_CLAIM_LOG_SHIFT)
#define XDPTOP_DEFAULT_EPOCH_SLOTS \
	(XDPTOP_DEFAULT_CPUS * XDPTOP_DEFAULT_REGION_SLOTS + XDPTOP_DEFAULT_SHARED_SLOTS)

/* Where things are in the table's maps (table.bpf.h), one definition for
 * the XDP program and its reader (table.c): per epoch, every CPU's region,
 * then the shared part; the claim logs of every epoch's regions (a count,
 * then the log), then each epoch's shared log; the stats per epoch,
 * interface and CPU. */
static inline __u64 xdptop_epoch_slots(__u32 nr_cpus, __u32 region_slots, __u32 shared_slots)
{
	return (__u64)nr_cpus * region_slots + shared_slots;
}

/* A CPU's region in an epoch, or with cpu == nr_cpus the shared part. */
static inline __u64 xdptop_region_offset(__u32 cpu, __u32 region_slots)
{
	return (__u64)cpu * region_slots;
}

static inline __u64 xdptop_region_log(__u32 epoch, __u32 cpu, __u32 nr_cpus, __u32 region_log_len)
{
	return ((__u64)epoch * nr_cpus + cpu) * (1 + region_log_len);
}

static inline __u64 xdptop_shared_log(__u32 epoch, __u32 nr_cpus, __u32 region_log_len,
				      __u32 shared_log_len)
{
	return (__u64)XDPTOP_EPOCHS * nr_cpus * (1 + region_log_len) +
	       (__u64)epoch * (1 + shared_log_len);
}

/* Entries of one epoch's claim logs: its regions', its shared part's. */
static inline __u64 xdptop_epoch_claims(__u32 nr_cpus, __u32 region_log_len, __u32 shared_log_len)
{
	return (__u64)nr_cpus * (1 + region_log_len) + 1 + shared_log_len;
}

static inline __u64 xdptop_stats_index(__u32 epoch, __u32 iface, __u32 cpu, __u32 nr_ifaces,
				       __u32 nr_cpus)
{
	return ((__u64)epoch * nr_ifaces + iface) * nr_cpus + cpu;
}

/* Hash of a key, shared by the XDP program's table and the agent's tally:
 * the words' terms, xor-ed with meta, then mixed (xdptop_hash_mix()). A
 * field the key does not have is zero and adds nothing, so the XDP program
 * leaves out the terms of the fields its key lacks (table.bpf.h) and gets
 * the same hash. */
#define XDPTOP_HASH_SRC0 0x9e3779b97f4a7c15ULL
#define XDPTOP_HASH_SRC1 0xc2b2ae3d27d4eb4fULL
#define XDPTOP_HASH_DST0 0x165667b19e3779f9ULL
#define XDPTOP_HASH_DST1 0x27d4eb2f165667c5ULL
#define XDPTOP_HASH_L4 0x94d049bb133111ebULL

/* A product only carries bits upwards, so the high half is folded onto the
 * low half before the last multiply: without it, the last group of an IPv6
 * address (bits 48-63 of its second word) never reached a small table's
 * index. */
static inline __u32 xdptop_hash_mix(__u64 h)
{
	h ^= h >> 32;
	return (h * 0xff51afd7ed558ccdULL) >> 32;
}

static inline __u32 xdptop_key_hash(const struct xdptop_key *k)
{
	return xdptop_hash_mix((k->src[0] * XDPTOP_HASH_SRC0) ^ (k->src[1] * XDPTOP_HASH_SRC1) ^
			       (k->dst[0] * XDPTOP_HASH_DST0) ^ (k->dst[1] * XDPTOP_HASH_DST1) ^
			       (k->l4 * XDPTOP_HASH_L4) ^ k->meta);
}

#ifndef __BPF__
static_assert(sizeof(struct xdptop_slot) == 32, "a narrow slot is half a cache line");
static_assert(sizeof(struct xdptop_slot_rest) == sizeof(struct xdptop_slot), "an element");
static_assert(sizeof(struct xdptop_key) == 48, "a key is six words");
static_assert(offsetof(struct xdptop_key, l4) == 4 * sizeof(__u64), "words: src, dst, l4");
static_assert(sizeof(struct xdptop_cpu_stats) == 64, "stats are one cache line");
#endif

#endif /* XDPTOP_H */
