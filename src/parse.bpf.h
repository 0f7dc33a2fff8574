/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Ethernet -> up to two VLAN tags -> IPv4 or IPv6 -> the frame's key: its
 * source (or destination) address, cut to a prefix, with (or without) its
 * VLAN ids.
 *
 * The rule (the same as tests/data/README.md's): skip up to two tags of type
 * 0x8100 or 0x88A8; then 0x0800 with at least 20 bytes left, version 4 and
 * IHL >= 5 is IPv4; 0x86DD with at least 40 bytes left and version 6 is IPv6;
 * anything else is "other". Only the outermost IP header counts.
 *
 * What the key is, is set by the loader in rodata (src/key.c): the verifier
 * sees constants, so the branches not taken cost nothing; a prefix is two
 * ANDs with masks (all ones by default). */
#ifndef PARSE_BPF_H
#define PARSE_BPF_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_endian.h>
#include "xdptop.h"

#define ETH_HLEN_ 14
#define VLAN_HLEN_ 4
#define IPV4_MIN_HLEN 20
#define IPV6_HLEN 40

struct source_key {
	__u64 addr[2];	/* IPv4 in the first 4 bytes, the rest zero */
};

/* Set by the loader between open and load (struct key_program_config). */
const volatile __u8 key_dst;
const volatile __u8 key_vlan;
const volatile __u64 key_mask4[2] = { ~0ULL, ~0ULL };	/* network order, as the address */
const volatile __u64 key_mask6[2] = { ~0ULL, ~0ULL };

#define IPV4_SRC_OFF 12
#define IPV4_DST_OFF 16
#define IPV6_SRC_OFF 8
#define IPV6_DST_OFF 24

static __always_inline int is_vlan(__u16 proto)
{
	return proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD);
}

/* One word of the key's address, from the source's (at src) or the
 * destination's (at dst). Both are read at constant offsets and the key
 * picks a value: picking an offset instead adds a register to a packet
 * pointer, which the verifier refuses without CAP_PERFMON (its Spectre v1
 * sanitation covers stack and map pointers only). barrier_var() keeps clang
 * from turning the pick back into one load at a picked address. */
static __always_inline __u32 address_word(const __u8 *src, const __u8 *dst)
{
	__u32 s = *(__u32 *)src, d = *(__u32 *)dst;

	barrier_var(s);
	barrier_var(d);
	return key_dst ? d : s;
}

/* The meta bits of the VLAN tag at tci, the i-th of the frame. */
static __always_inline __u32 vlan_meta(const __u8 *tci, int i)
{
	__u32 id = bpf_ntohs(*(__u16 *)tci) & XDPTOP_VLAN_ID_MASK;

	return (1U << XDPTOP_META_NVLANS_SHIFT) |
	       id << (i ? XDPTOP_META_VLAN1_SHIFT : XDPTOP_META_VLAN0_SHIFT);
}

/* Returns the meta of the key written to key (its family, and VLANs with
 * key_vlan), or XDPTOP_FAMILY_NONE when the frame has no IP address. */
static __always_inline __u64 parse_key(void *data, void *data_end, struct source_key *key)
{
	__u8 *pos = data;
	__u32 vlans = 0;
	__u16 proto;

	if (pos + ETH_HLEN_ > (__u8 *)data_end)
		return XDPTOP_FAMILY_NONE;
	proto = *(__u16 *)(pos + 12);
	pos += ETH_HLEN_;

#pragma unroll
	for (int i = 0; i < 2; i++) {
		if (!is_vlan(proto) || pos + VLAN_HLEN_ > (__u8 *)data_end)
			break;
		if (key_vlan)
			vlans += vlan_meta(pos, i);
		proto = *(__u16 *)(pos + 2);
		pos += VLAN_HLEN_;
	}

	if (proto == bpf_htons(ETH_P_IP)) {
		if (pos + IPV4_MIN_HLEN > (__u8 *)data_end)
			return XDPTOP_FAMILY_NONE;
		if ((pos[0] >> 4) != 4 || (pos[0] & 0x0f) < 5)
			return XDPTOP_FAMILY_NONE;
		key->addr[0] = address_word(pos + IPV4_SRC_OFF, pos + IPV4_DST_OFF) & key_mask4[0];
		key->addr[1] = 0;
		return XDPTOP_FAMILY_IPV4 | vlans;
	}
	if (proto == bpf_htons(ETH_P_IPV6)) {
		if (pos + IPV6_HLEN > (__u8 *)data_end)
			return XDPTOP_FAMILY_NONE;
		if ((pos[0] >> 4) != 6)
			return XDPTOP_FAMILY_NONE;
		/* 4-byte words, as for IPv4: memcpy from a packet pointer
		 * that clang cannot assume aligned becomes 16 byte loads. */
#pragma unroll
		for (int i = 0; i < 4; i++)
			((__u32 *)key->addr)[i] = address_word(pos + IPV6_SRC_OFF + 4 * i,
							       pos + IPV6_DST_OFF + 4 * i);
		key->addr[0] &= key_mask6[0];
		key->addr[1] &= key_mask6[1];
		return XDPTOP_FAMILY_IPV6 | vlans;
	}
	return XDPTOP_FAMILY_NONE;
}

#endif /* PARSE_BPF_H */
