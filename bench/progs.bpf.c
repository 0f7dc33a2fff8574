// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The programs xdptop is compared with in prog_cost, and the source rotator
 * that turns BPF_PROG_TEST_RUN's one repeated frame into a stream of distinct
 * sources. All count len = data_end - data (the frags twin of the floor the
 * whole length, as xdptop_frags does) and return XDP_PASS, like xdptop; all
 * parse with xdptop's own parse_key() (so VLAN and QinQ frames are counted
 * too) and differ only in how they count. Map sizes are set by prog_cost
 * before loading. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "xdptop.h"
#include "parse.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* The floor: what any XDP program costs. */
SEC("xdp")
int empty(struct xdp_md *ctx)
{
	(void)ctx;
	return XDP_PASS;
}

SEC("xdp.frags")
int empty_frags(struct xdp_md *ctx)
{
	(void)ctx;
	return XDP_PASS;
}

/* The way cilium/ebpf's examples/xdp does it: IPv4 only, an LRU hash keyed
 * by the address, a u32 packet count bumped with an atomic add (shared by
 * every CPU), no bytes. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u32);
} go_stats SEC(".maps");

SEC("xdp")
int go_lru(struct xdp_md *ctx)
{
	struct xdptop_key key = {};
	__u32 ip, *count;

	if (parse_key(ctx, ctx->data_end - ctx->data, false, &key) != XDPTOP_FAMILY_IPV4)
		return XDP_PASS;
	ip = (__u32)key.src[0];
	count = bpf_map_lookup_elem(&go_stats, &ip);
	if (!count) {
		__u32 one = 1;

		bpf_map_update_elem(&go_stats, &ip, &one, BPF_ANY);
	} else {
		__sync_fetch_and_add(count, 1);
	}
	return XDP_PASS;
}

/* The textbook per-CPU way: {packets, bytes} per CPU, keyed by the 16-byte
 * address and the family; no atomics. */
struct hash_key {
	__u64 addr[2];
	__u32 family;
};

struct hash_value {
	__u64 packets;
	__u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct hash_key);
	__type(value, struct hash_value);
} percpu_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct hash_key);
	__type(value, struct hash_value);
} lru_percpu_stats SEC(".maps");

static __always_inline int count_in(void *map, struct xdp_md *ctx)
{
	struct hash_key key = {};
	struct xdptop_key src = {};
	struct hash_value *v;
	__u32 len = ctx->data_end - ctx->data;

	key.family = parse_key(ctx, len, false, &src);
	if (key.family == XDPTOP_FAMILY_NONE)
		return XDP_PASS;
	key.addr[0] = src.src[0];
	key.addr[1] = src.src[1];
	v = bpf_map_lookup_elem(map, &key);
	if (v) {
		v->packets++;
		v->bytes += len;
	} else {
		struct hash_value first = { 1, len };

		bpf_map_update_elem(map, &key, &first, BPF_NOEXIST);
	}
	return XDP_PASS;
}

SEC("xdp")
int percpu_hash(struct xdp_md *ctx)
{
	return count_in(&percpu_stats, ctx);
}

SEC("xdp")
int lru_percpu_hash(struct xdp_md *ctx)
{
	return count_in(&lru_percpu_stats, ctx);
}

/* The floor of any table that counts a stream of distinct sources: xdptop's
 * parsing and hash (of the default key), then plain adds into the one
 * 32-byte slot at that hash, in an array of as many slots as xdptop's
 * table has in one epoch. No probe,
 * no claim, no key compared (it adds unrelated sources up): one cache miss
 * per frame once the array outgrows the caches, which no table avoids. */
const volatile __u32 floor_n_slots = 1;	/* set by prog_cost: floor_slots' max_entries */

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xdptop_slot);
} floor_slots SEC(".maps");

static __always_inline int count_floor(struct xdp_md *ctx, __u64 len)
{
	struct xdptop_key key = {};
	struct xdptop_slot *slot;
	__u32 idx;

	key.meta = parse_key(ctx, len, false, &key);
	if (key.meta == XDPTOP_FAMILY_NONE)
		return XDP_PASS;
	/* The hash scaled onto 0 .. floor_n_slots - 1 by a multiply and a
	 * shift: an epoch's slot count is no power of two, and a division
	 * would cost more than xdptop's mask. */
	idx = ((__u64)xdptop_hash_mix((key.src[0] * XDPTOP_HASH_SRC0) ^
				      (key.src[1] * XDPTOP_HASH_SRC1) ^ key.meta) * floor_n_slots) >> 32;
	slot = bpf_map_lookup_elem(&floor_slots, &idx);
	if (slot) {
		slot->tag_packets++;
		slot->iface_bytes += len;
	}
	return XDP_PASS;
}

SEC("xdp")
int floor_table(struct xdp_md *ctx)
{
	return count_floor(ctx, ctx->data_end - ctx->data);
}

/* xdptop_frags' floor: the whole length from the helper, as it does. */
SEC("xdp.frags")
int floor_table_frags(struct xdp_md *ctx)
{
	return count_floor(ctx, bpf_xdp_get_buff_len(ctx));
}

/* The source rotator. BPF_PROG_TEST_RUN runs one frame `repeat` times on the
 * same buffer, and what a program writes into it stays for the next run. So
 * the rotator writes source number `next` (base + next, big-endian, over the
 * 4 bytes at src_off: an IPv4 source, or the low 32 bits of an IPv6 one),
 * steps next through 0 .. n_sources - 1 and tail-calls the program under
 * test: one test_run is a stream of `repeat` frames cycling over n_sources
 * distinct sources. Its own cost is measured by tail-calling `empty` and
 * subtracted. Set by prog_cost through the mmapped .bss. */
__u32 n_sources;	/* 0 or 1: always source base */
__u32 src_off;
__u32 base;
__u32 next;
/* Or, when seq_len is set, the sources in the order `sequence` gives
 * (source numbers), from its first: a traffic mix of prog_cost's making
 * (1g: Zipf). */
__u32 seq_len;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1);		/* set by prog_cost */
	__type(key, __u32);
	__type(value, __u64);
} sequence SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} jmp SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} jmp_frags SEC(".maps");

static __always_inline int rotate_source(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	__u8 *p = (__u8 *)data + (src_off & 0xff);
	__u32 i = next, source = i;

	if (p + 4 > (__u8 *)data_end)
		return -1;
	if (seq_len) {
		__u64 *in_order = bpf_map_lookup_elem(&sequence, &i);

		if (!in_order)
			return -1;
		source = *in_order;
	}
	*(__u32 *)p = bpf_htonl(base + source);
	next = i + 1 >= (seq_len ?: n_sources) ? 0 : i + 1;
	return 0;
}

SEC("xdp")
int rotate(struct xdp_md *ctx)
{
	if (rotate_source(ctx))
		return XDP_ABORTED;
	bpf_tail_call(ctx, &jmp, 0);
	return XDP_ABORTED; /* prog_cost checks retval == XDP_PASS */
}

SEC("xdp.frags")
int rotate_frags(struct xdp_md *ctx)
{
	if (rotate_source(ctx))
		return XDP_ABORTED;
	bpf_tail_call(ctx, &jmp_frags, 0);
	return XDP_ABORTED;
}
