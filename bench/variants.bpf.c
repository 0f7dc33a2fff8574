// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* What-if variants for prog_cost's section 1e: a frozen copy of xdptop's
 * per-frame path as it was at commit c2c258d (parse.bpf.h, table.bpf.h,
 * xdptop.bpf.c), with its own maps so that later changes to src/ cannot
 * break it, and the same copy with one change each:
 *
 *   frozen         the copy as it was: the IPv6 source copied with
 *                  __builtin_memcpy from pos + 8, which clang cannot assume
 *                  aligned, so it emits 16 one-byte loads and the shifts and
 *                  ors that reassemble them (about 45 instructions; see
 *                  `bpftool prog dump xlated`);
 *   v6load         the IPv6 source read with four 4-byte loads, as the IPv4
 *                  source is (4-byte aligned wherever the verifier checks
 *                  alignment: it adds NET_IP_ALIGN, with or without VLANs);
 *   nototal        without the per-CPU `total` counter (one read-modify-write
 *                  per frame; total = sum(slots) + other + untracked by
 *                  construction, so userspace could add it up instead).
 *
 * The hash is xdptop.h's (of a source key); the slot is a narrow one of
 * xdptop.h's, as it was then. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "xdptop.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* A slot as it was: the address, then the tag and the bytes. */
struct v_slot {
	__u64 addr[2];
	__u64 tag_packets;
	__u64 iface_bytes;
};

/* Set by prog_cost before loading, like the agent sets xdptop's. */
const volatile __u32 v_region_slots = 1024;
const volatile __u32 v_nr_cpus = 64;
volatile __u32 v_active_epoch;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 2 * 64 * 1024);
	__type(key, __u32);
	__type(value, struct v_slot);
} v_slots SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 2 * 64);
	__type(key, __u32);
	__type(value, struct xdptop_cpu_stats);
} v_stats SEC(".maps");

struct v_key {
	__u64 addr[2];
};

static __always_inline int v_is_vlan(__u16 proto)
{
	return proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD);
}

static __always_inline __u64 v_parse(void *data, void *data_end, struct v_key *key, int v6load)
{
	__u8 *pos = data;
	__u16 proto;

	if (pos + 14 > (__u8 *)data_end)
		return XDPTOP_FAMILY_NONE;
	proto = *(__u16 *)(pos + 12);
	pos += 14;

#pragma unroll
	for (int i = 0; i < 2; i++) {
		if (!v_is_vlan(proto) || pos + 4 > (__u8 *)data_end)
			break;
		proto = *(__u16 *)(pos + 2);
		pos += 4;
	}

	if (proto == bpf_htons(ETH_P_IP)) {
		if (pos + 20 > (__u8 *)data_end)
			return XDPTOP_FAMILY_NONE;
		if ((pos[0] >> 4) != 4 || (pos[0] & 0x0f) < 5)
			return XDPTOP_FAMILY_NONE;
		key->addr[0] = *(__u32 *)(pos + 12);
		key->addr[1] = 0;
		return XDPTOP_FAMILY_IPV4;
	}
	if (proto == bpf_htons(ETH_P_IPV6)) {
		if (pos + 40 > (__u8 *)data_end)
			return XDPTOP_FAMILY_NONE;
		if ((pos[0] >> 4) != 6)
			return XDPTOP_FAMILY_NONE;
		if (v6load) {
			((__u32 *)key->addr)[0] = *(__u32 *)(pos + 8);
			((__u32 *)key->addr)[1] = *(__u32 *)(pos + 12);
			((__u32 *)key->addr)[2] = *(__u32 *)(pos + 16);
			((__u32 *)key->addr)[3] = *(__u32 *)(pos + 20);
		} else {
			__builtin_memcpy(key->addr, pos + 8, 16);
		}
		return XDPTOP_FAMILY_IPV6;
	}
	return XDPTOP_FAMILY_NONE;
}

static __always_inline void v_add(struct xdptop_counter *c, __u64 len)
{
	c->packets++;
	c->bytes += len;
}

/* The slot's tag as it was then: family in the top 8 bits, 56-bit count. */
#define V_TAG_SHIFT 56
#define V_PACKETS_MASK ((1ULL << V_TAG_SHIFT) - 1)

static __always_inline int v_table_count(__u32 region, const struct v_key *key, __u64 family,
					 __u64 len)
{
	__u64 tag = family << V_TAG_SHIFT;
	__u32 mask = v_region_slots - 1;
	__u32 hash = xdptop_hash_mix((key->addr[0] * XDPTOP_HASH_SRC0) ^
				     (key->addr[1] * XDPTOP_HASH_SRC1) ^ family);

#pragma unroll
	for (__u32 i = 0; i < XDPTOP_PROBE_WINDOW; i++) {
		__u32 idx = region + ((hash + i) & mask);
		struct v_slot *slot = bpf_map_lookup_elem(&v_slots, &idx);
		__u64 tag_packets;

		if (!slot)
			return 0;
		tag_packets = slot->tag_packets;
		if (!tag_packets) {
			slot->addr[0] = key->addr[0];
			slot->addr[1] = key->addr[1];
			slot->iface_bytes = len;
			asm volatile("" ::: "memory");
			slot->tag_packets = tag | 1;
			return 1;
		}
		if ((tag_packets & ~V_PACKETS_MASK) == tag &&
		    slot->addr[0] == key->addr[0] && slot->addr[1] == key->addr[1]) {
			slot->tag_packets = tag_packets + 1;
			slot->iface_bytes += len;
			return 1;
		}
	}
	return 0;
}

static __always_inline int v_count(struct xdp_md *ctx, int v6load, int total)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u64 len = data_end - data;
	__u32 cpu = bpf_get_smp_processor_id();
	__u32 region = (v_active_epoch & 1) * v_nr_cpus + cpu;
	struct xdptop_cpu_stats *stats;
	struct v_key key;
	__u64 family;

	stats = bpf_map_lookup_elem(&v_stats, &region);
	if (!stats)
		return XDP_PASS;
	if (total)
		v_add(&stats->total, len);
	family = v_parse(data, data_end, &key, v6load);
	if (family == XDPTOP_FAMILY_NONE)
		v_add(&stats->other, len);
	else if (!v_table_count(region * v_region_slots, &key, family, len))
		v_add(&stats->untracked, len);
	return XDP_PASS;
}

SEC("xdp")
int frozen(struct xdp_md *ctx)
{
	return v_count(ctx, 0, 1);
}

SEC("xdp")
int v6load(struct xdp_md *ctx)
{
	return v_count(ctx, 1, 1);
}

SEC("xdp")
int nototal(struct xdp_md *ctx)
{
	return v_count(ctx, 0, 0);
}
