/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Ethernet -> up to two VLAN tags -> IPv4 or IPv6 -> the frame's key
 * (struct xdptop_key): the fields its field set names, addresses cut to a
 * prefix, with (or without) its VLAN ids.
 *
 * The rule (the same as tests/data/README.md's): skip up to two tags of type
 * 0x8100 or 0x88A8; then 0x0800 with at least 20 bytes left, version 4 and
 * IHL >= 5 is IPv4; 0x86DD with at least 40 bytes left and version 6 is IPv6;
 * anything else is "other". Only the outermost IP header counts. The rules
 * of the protocol, ports and TCP flags are below.
 *
 * What the key is, is set by the loader in rodata (src/key.c): the verifier
 * sees constants, so the branches not taken cost nothing; a prefix is two
 * ANDs with masks (all ones by default). */
#ifndef PARSE_BPF_H
#define PARSE_BPF_H

#include <stdbool.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include "xdptop.h"

#define ETH_HLEN_ 14
#define VLAN_HLEN_ 4
#define IPV4_MIN_HLEN 20
#define IPV6_HLEN 40

/* Set by the loader between open and load (struct key_program_config). */
const volatile __u32 key_fields = XDPTOP_FIELD_SRC;
const volatile __u8 key_vlan;
const volatile __u64 key_mask4[2] = { ~0ULL, ~0ULL };	/* network order, as the address */
const volatile __u64 key_mask6[2] = { ~0ULL, ~0ULL };

/* The fields a program's keys have. A program is built for one key width
 * (xdptop.bpf.c): a narrow one's keys are one address, whatever key_fields
 * says beyond, so that clang leaves out the code of the other fields. */
static __always_inline __u32 program_fields(bool wide)
{
	return wide ? key_fields : key_fields & XDPTOP_FIELDS_ADDRESS;
}

#define IPV4_SRC_OFF 12
#define IPV4_DST_OFF 16
#define IPV6_SRC_OFF 8
#define IPV6_DST_OFF 24

static __always_inline int is_vlan(__u16 proto)
{
	return proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD);
}

/* The meta bits of the VLAN tag at tci, the i-th of the frame. */
static __always_inline __u32 vlan_meta(const __u8 *tci, int i)
{
	__u32 id = bpf_ntohs(*(__u16 *)tci) & XDPTOP_VLAN_ID_MASK;

	return (1U << XDPTOP_META_NVLANS_SHIFT) |
	       id << (i ? XDPTOP_META_VLAN1_SHIFT : XDPTOP_META_VLAN0_SHIFT);
}

/* An IPv6 address at a constant offset, in 4-byte words: memcpy from a
 * packet pointer that clang cannot assume aligned becomes 16 byte loads. */
static __always_inline void ipv6_address(__u64 addr[2], const __u8 *at)
{
#pragma unroll
	for (int i = 0; i < 4; i++)
		((__u32 *)addr)[i] = *(__u32 *)(at + 4 * i);
	addr[0] &= key_mask6[0];
	addr[1] &= key_mask6[1];
}

/* ---- protocol, ports and TCP flags ---------------------------------------
 *
 * The rules (README, "What is counted"; tests/fieldmodel.py models them
 * apart):
 * - proto: IPv4's protocol; IPv6's upper layer, past up to
 *   IPV6_EXT_MAX hop-by-hop, routing, fragment and destination options
 *   headers (past the bound, or at another header, the last Next Header
 *   read).
 * - Nothing is read past the frame or past the IP length (IPv4's total
 *   length, IPv6's 40 + payload length): a field whose bytes are not there
 *   is 0, field by field.
 * - TCP, UDP, UDP-Lite, SCTP and DCCP have ports; ICMP and ICMPv6 count
 *   with sport 0 and dport type << 8 | code; other protocols, ports 0.
 * - A later fragment (offset not 0) has no L4 header: ports and flags 0.
 * - tcpflags: byte 13 of a TCP header, 0 for other protocols.
 *
 * Headers at a variable offset (IPv4 options, IPv6 extension headers) are
 * read with bpf_xdp_load_bytes() (adding a register to a packet pointer is
 * refused without CAP_PERFMON), the others in place (l4_in_place()). */
#define IPV6_EXT_MAX 6
#define L4_BYTES 14	/* up to TCP's flags byte */

#define IPPROTO_ICMP_ 1
#define IPPROTO_TCP_ 6
#define IPPROTO_UDP_ 17
#define IPPROTO_DCCP_ 33
#define IPPROTO_ICMPV6_ 58
#define IPPROTO_SCTP_ 132
#define IPPROTO_UDPLITE_ 136

/* Where the L4 header is, and how much of it the IP length allows. */
struct l4_place {
	__u32 off;	/* from the frame's start */
	__u32 end;	/* the IP length's end, or the frame's: nothing at or past it is read */
	__u8 proto;
	__u8 later;	/* a later fragment: no L4 header */
};

static __always_inline __u32 min_u32(__u32 a, __u32 b)
{
	return a < b ? a : b;
}

/* Reads len bytes (1 to max) at off into buf. The length goes to the
 * helper as one more than a number checked against max - 1: a verifier
 * before Linux 6.2 learns nothing from a check against 0, and refuses a
 * length that may be 0. */
static __always_inline int load_bytes(struct xdp_md *ctx, __u32 off, void *buf, __u32 len,
				      __u32 max)
{
	__u32 less = len - 1;

	barrier_var(less);
	if (less > max - 1)
		return -1;
	return bpf_xdp_load_bytes(ctx, off, buf, less + 1);
}

static __always_inline int is_ipv6_ext(__u8 nh)
{
	return nh == 0 || nh == 43 || nh == 44 || nh == 60;
}

/* Walks IPv6 extension headers from p->off, p->proto naming the first. */
static __always_inline void ipv6_walk(struct xdp_md *ctx, struct l4_place *p)
{
#pragma unroll
	for (int i = 0; i < IPV6_EXT_MAX; i++) {
		__u8 ext[4] = {};
		__u32 have;

		if (!is_ipv6_ext(p->proto) || p->off + 2 > p->end)
			return;
		have = min_u32(p->end - p->off, sizeof(ext));
		if (load_bytes(ctx, p->off, ext, have, sizeof(ext)))
			return;
		if (p->proto == 44) {	/* fragment: 8 bytes, its offset in 2-3 */
			if (have == 4 && (bpf_ntohs(*(__u16 *)&ext[2]) & 0xfff8)) {
				p->proto = ext[0];
				p->later = 1;
				return;
			}
			p->off += 8;
		} else {
			p->off += (ext[1] + 1) * 8;
		}
		p->proto = ext[0];
	}
}

static __always_inline int has_ports(__u8 proto)
{
	return proto == IPPROTO_TCP_ || proto == IPPROTO_UDP_ || proto == IPPROTO_UDPLITE_ ||
	       proto == IPPROTO_SCTP_ || proto == IPPROTO_DCCP_;
}

/* What l4_fields() reads of an L4 header: its first 4 bytes (the ports,
 * or ICMP's type and code) and byte 13 (TCP's flags), and how many of its
 * bytes are there. */
struct l4_bytes {
	__u32 first4;	/* as in the frame: network order */
	__u8 flags;
	__u32 have;	/* 0 to L4_BYTES */
};

/* The common case: an L4 header at a constant offset (at: IPv4 without
 * options, IPv6 without extension headers) whose bytes are in the first
 * buffer is read in place (4 bytes, which may pass the IP length: only
 * those within it are used). Returns whether it was, or had nothing. */
static __always_inline int l4_in_place(const struct l4_place *p, const __u8 *at,
				       const void *data_end, struct l4_bytes *b)
{
	if (p->later || p->off >= p->end)
		return 1;
	if (at + 4 > (const __u8 *)data_end)
		return 0;
	/* Written before it knows: l4_load() writes all of b over, and it
	 * cannot fail where the header is within the frame. So written, the
	 * program passes the verifier without CAP_PERFMON; written after, a
	 * narrower store falls into a slot of a spilled register, which it
	 * refuses ("attempt to corrupt spilled pointer on stack"). */
	b->have = min_u32(p->end - p->off, L4_BYTES);
	b->first4 = *(__u32 *)at;
	if (b->have == L4_BYTES) {
		if (at + L4_BYTES > (const __u8 *)data_end)
			return 0;
		b->flags = at[13];
	}
	return 1;
}

/* Any other: as much of it as is there, with bpf_xdp_load_bytes(). */
static __always_inline void l4_load(struct xdp_md *ctx, const struct l4_place *p,
				    struct l4_bytes *b)
{
	__u8 buf[16] = {};
	__u32 have;

	if (p->later || p->off >= p->end)
		return;
	have = min_u32(p->end - p->off, L4_BYTES);
	if (load_bytes(ctx, p->off, buf, have, L4_BYTES))
		return;
	b->first4 = *(__u32 *)buf;
	b->flags = buf[13];
	b->have = have;
}

/* The L4 fields of the key from what was read of the header at p. */
static __always_inline void l4_fields(const struct l4_place *p, const struct l4_bytes *b,
				      __u32 fields, struct xdptop_key *key)
{
	__u16 first = bpf_ntohs((__u16)b->first4), second = bpf_ntohs((__u16)(b->first4 >> 16));

	if (fields & XDPTOP_FIELD_PROTO)
		key->proto = p->proto;
	if (has_ports(p->proto)) {
		if ((fields & XDPTOP_FIELD_SPORT) && b->have >= 2)
			key->sport = first;
		if ((fields & XDPTOP_FIELD_DPORT) && b->have >= 4)
			key->dport = second;
	} else if (p->proto == IPPROTO_ICMP_ || p->proto == IPPROTO_ICMPV6_) {
		if ((fields & XDPTOP_FIELD_DPORT) && b->have >= 2)
			key->dport = first;
	}
	if ((fields & XDPTOP_FIELD_TCPFLAGS) && p->proto == IPPROTO_TCP_ && b->have >= L4_BYTES)
		key->tcpflags = b->flags;
}

/* The IPv4 header at ip, off bytes into a frame of len bytes. */
static __always_inline void ipv4_l4(struct xdp_md *ctx, const __u8 *ip, __u32 off, __u32 len,
				    __u32 fields, struct xdptop_key *key)
{
	struct l4_place p = {
		.off = off + (ip[0] & 0x0f) * 4,
		.end = min_u32(len, off + bpf_ntohs(*(__u16 *)(ip + 2))),
		.proto = ip[9],
		.later = (bpf_ntohs(*(__u16 *)(ip + 6)) & 0x1fff) != 0,
	};
	struct l4_bytes b = {};

	if ((ip[0] & 0x0f) != 5 ||
	    !l4_in_place(&p, ip + IPV4_MIN_HLEN, (void *)(long)ctx->data_end, &b))
		l4_load(ctx, &p, &b);
	l4_fields(&p, &b, fields, key);
}

/* The IPv6 header at ip, off bytes into a frame of len bytes. */
static __always_inline void ipv6_l4(struct xdp_md *ctx, const __u8 *ip, __u32 off, __u32 len,
				    __u32 fields, struct xdptop_key *key)
{
	struct l4_place p = {
		.off = off + IPV6_HLEN,
		.end = min_u32(len, off + IPV6_HLEN + bpf_ntohs(*(__u16 *)(ip + 4))),
		.proto = ip[6],
	};
	struct l4_bytes b = {};

	if (is_ipv6_ext(p.proto) ||
	    !l4_in_place(&p, ip + IPV6_HLEN, (void *)(long)ctx->data_end, &b)) {
		ipv6_walk(ctx, &p);
		l4_load(ctx, &p, &b);
	}
	l4_fields(&p, &b, fields, key);
}

/* ---- the key ------------------------------------------------------------- */

/* Builds the key of a frame of len bytes (all its buffers) into key,
 * zeroed by the caller, for a program of this key width. Returns its meta
 * (its family, and VLANs with key_vlan), or XDPTOP_FAMILY_NONE when the
 * frame has no IP address. */
static __always_inline __u32 parse_key(struct xdp_md *ctx, __u32 len, bool wide,
				       struct xdptop_key *key)
{
	__u32 fields = program_fields(wide);
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u8 *pos = data;
	__u64 off = ETH_HLEN_;	/* pos's, as a number: a packet pointer is not one */
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
		off += VLAN_HLEN_;
	}

	if (proto == bpf_htons(ETH_P_IP)) {
		if (pos + IPV4_MIN_HLEN > (__u8 *)data_end)
			return XDPTOP_FAMILY_NONE;
		if ((pos[0] >> 4) != 4 || (pos[0] & 0x0f) < 5)
			return XDPTOP_FAMILY_NONE;
		if (fields & XDPTOP_FIELD_SRC)
			key->src[0] = *(__u32 *)(pos + IPV4_SRC_OFF) & key_mask4[0];
		if (fields & XDPTOP_FIELD_DST)
			key->dst[0] = *(__u32 *)(pos + IPV4_DST_OFF) & key_mask4[0];
		if (fields & XDPTOP_FIELDS_L4)
			ipv4_l4(ctx, pos, off, len, fields, key);
		return XDPTOP_FAMILY_IPV4 | vlans;
	}
	if (proto == bpf_htons(ETH_P_IPV6)) {
		if (pos + IPV6_HLEN > (__u8 *)data_end)
			return XDPTOP_FAMILY_NONE;
		if ((pos[0] >> 4) != 6)
			return XDPTOP_FAMILY_NONE;
		if (fields & XDPTOP_FIELD_SRC)
			ipv6_address(key->src, pos + IPV6_SRC_OFF);
		if (fields & XDPTOP_FIELD_DST)
			ipv6_address(key->dst, pos + IPV6_DST_OFF);
		if (fields & XDPTOP_FIELDS_L4)
			ipv6_l4(ctx, pos, off, len, fields, key);
		return XDPTOP_FAMILY_IPV6 | vlans;
	}
	return XDPTOP_FAMILY_NONE;
}

#endif /* PARSE_BPF_H */
