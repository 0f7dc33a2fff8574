/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Ethernet -> up to two VLAN tags -> IPv4 or IPv6 source address.
 *
 * The rule (the same as tests/data/README.md's): skip up to two tags of type
 * 0x8100 or 0x88A8; then 0x0800 with at least 20 bytes left, version 4 and
 * IHL >= 5 is IPv4; 0x86DD with at least 40 bytes left and version 6 is IPv6;
 * anything else is "other". Only the outermost IP header counts. */
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

static __always_inline int is_vlan(__u16 proto)
{
	return proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD);
}

/* Returns the family of the source written to key, or XDPTOP_FAMILY_NONE. */
static __always_inline __u64 parse_source(void *data, void *data_end,
					  struct source_key *key)
{
	__u8 *pos = data;
	__u16 proto;

	if (pos + ETH_HLEN_ > (__u8 *)data_end)
		return XDPTOP_FAMILY_NONE;
	proto = *(__u16 *)(pos + 12);
	pos += ETH_HLEN_;

#pragma unroll
	for (int i = 0; i < 2; i++) {
		if (!is_vlan(proto) || pos + VLAN_HLEN_ > (__u8 *)data_end)
			break;
		proto = *(__u16 *)(pos + 2);
		pos += VLAN_HLEN_;
	}

	if (proto == bpf_htons(ETH_P_IP)) {
		if (pos + IPV4_MIN_HLEN > (__u8 *)data_end)
			return XDPTOP_FAMILY_NONE;
		if ((pos[0] >> 4) != 4 || (pos[0] & 0x0f) < 5)
			return XDPTOP_FAMILY_NONE;
		key->addr[0] = *(__u32 *)(pos + 12);
		key->addr[1] = 0;
		return XDPTOP_FAMILY_IPV4;
	}
	if (proto == bpf_htons(ETH_P_IPV6)) {
		if (pos + IPV6_HLEN > (__u8 *)data_end)
			return XDPTOP_FAMILY_NONE;
		if ((pos[0] >> 4) != 6)
			return XDPTOP_FAMILY_NONE;
		/* Four 4-byte loads, as for IPv4: memcpy from a packet pointer
		 * that clang cannot assume aligned becomes 16 byte loads. */
		((__u32 *)key->addr)[0] = *(__u32 *)(pos + 8);
		((__u32 *)key->addr)[1] = *(__u32 *)(pos + 12);
		((__u32 *)key->addr)[2] = *(__u32 *)(pos + 16);
		((__u32 *)key->addr)[3] = *(__u32 *)(pos + 20);
		return XDPTOP_FAMILY_IPV6;
	}
	return XDPTOP_FAMILY_NONE;
}

#endif /* PARSE_BPF_H */
