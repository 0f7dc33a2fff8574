/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Test frames for prog_cost: Ethernet, optional VLAN tags, IPv4 or IPv6,
 * UDP. Sources are numbered: source i is 198.18.0.0 + i (IPv4, at most
 * FRAME_MAX_V4_SOURCES: all of 198.18.0.0/15); in IPv6, 1 + i is written
 * big-endian over address bytes 8..11, the upper half of the interface ID
 * (2001:db8::X:Y:0:1, a stand-in for varied interface IDs), or, for
 * K_IPV6_LOW, over bytes 12..15 (2001:db8::1, ::2, ...: addresses that
 * differ only in their last bytes). frame_source_index() maps an address
 * back to i. */
#ifndef BENCH_FRAMES_H
#define BENCH_FRAMES_H

#include <arpa/inet.h>
#include <stdint.h>
#include <string.h>
#include <linux/types.h>

#define FRAME_MAX_LEN 9000
#define FRAME_V4_BASE 0xc6120000u	/* 198.18.0.0 */
#define FRAME_V6_BASE 1u		/* 2001:db8::1 */
#define FRAME_MAX_V4_SOURCES 131072u	/* 198.18.0.0/15 */

/* N_KINDS: the kinds of the main table; K_IPV6_LOW only shows how the
 * table hashes addresses that differ in their last bytes. */
enum frame_kind { K_IPV4, K_IPV6, K_VLAN4, K_QINQ6, K_JUMBO4, N_KINDS, K_IPV6_LOW = N_KINDS,
		  N_ALL_KINDS };

struct frame {
	enum frame_kind kind;
	const char *name;
	int family;		/* 4 or 6 */
	__u32 len;
	__u32 src_off;		/* the 4 bytes the rotator rewrites */
	__u32 addr_off;		/* the same, from the start of the address */
	__u32 base;		/* source 0's value there (host order) */
	uint8_t buf[FRAME_MAX_LEN];
};

static inline uint16_t frame_csum(const void *p, size_t n, uint32_t sum)
{
	const uint8_t *b = p;

	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)b[i] << 8 | b[i + 1];
	if (n & 1)
		sum += (uint32_t)b[n - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

/* Builds one frame of kind k whose source is source 0. */
static inline void frame_build(struct frame *f, enum frame_kind k)
{
	static const char *names[N_ALL_KINDS] = {
		"IPv4 64 B", "IPv6 64 B", "802.1Q + IPv4 68 B", "QinQ + IPv6 72 B",
		"IPv4 jumbo 9000 B", "IPv6 64 B, last bytes vary",
	};
	static const uint8_t dst_mac[6] = { 0x02, 0, 0, 0, 0, 0x01 };
	static const uint8_t src_mac[6] = { 0x02, 0, 0, 0, 0, 0x02 };
	uint8_t *p = f->buf;
	size_t l3;

	memset(f, 0, sizeof(*f));
	f->kind = k;
	f->name = names[k];
	f->family = k == K_IPV6 || k == K_QINQ6 || k == K_IPV6_LOW ? 6 : 4;
	memcpy(p, dst_mac, 6);
	memcpy(p + 6, src_mac, 6);
	l3 = 12;
	if (k == K_VLAN4) {
		put16(p + l3, 0x8100);
		put16(p + l3 + 2, 100);
		l3 += 4;
	} else if (k == K_QINQ6) {
		put16(p + l3, 0x88a8);
		put16(p + l3 + 2, 10);
		put16(p + l3 + 4, 0x8100);
		put16(p + l3 + 6, 20);
		l3 += 8;
	}
	put16(p + l3, f->family == 4 ? 0x0800 : 0x86dd);
	l3 += 2;
	switch (k) {
	case K_IPV4: f->len = 64; break;
	case K_IPV6: case K_IPV6_LOW: f->len = 64; break;
	case K_VLAN4: f->len = 68; break;
	case K_QINQ6: f->len = 72; break;
	default: f->len = FRAME_MAX_LEN; break;
	}
	if (f->family == 4) {
		uint8_t *ip = p + l3, *udp = ip + 20;
		uint32_t src = htonl(FRAME_V4_BASE), dst = htonl(0xc613fffeu); /* 198.19.255.254 */

		ip[0] = 0x45;
		put16(ip + 2, f->len - l3);
		ip[8] = 64;
		ip[9] = 17;
		memcpy(ip + 12, &src, 4);
		memcpy(ip + 16, &dst, 4);
		put16(ip + 10, frame_csum(ip, 20, 0));
		put16(udp, 4000);
		put16(udp + 2, 9);
		put16(udp + 4, f->len - l3 - 20);
		f->src_off = l3 + 12;
		f->addr_off = 0;
		f->base = FRAME_V4_BASE;
	} else {
		uint8_t *ip = p + l3, *udp = ip + 40;
		static const uint8_t src[16] = { 0x20, 0x01, 0x0d, 0xb8, [11] = 1, [15] = 1 };
		static const uint8_t dst[16] = { 0x20, 0x01, 0x0d, 0xb8, 0xff, 0xff, [15] = 1 };

		ip[0] = 0x60;
		put16(ip + 4, f->len - l3 - 40);
		ip[6] = 17;
		ip[7] = 64;
		memcpy(ip + 8, src, 16);
		memcpy(ip + 24, dst, 16);
		put16(udp, 4000);
		put16(udp + 2, 9);
		put16(udp + 4, f->len - l3 - 40);
		f->addr_off = k == K_IPV6_LOW ? 12 : 8;
		f->src_off = l3 + 8 + f->addr_off;
		f->base = FRAME_V6_BASE;
	}
}

/* Source number of an address counted by xdptop (slot or tally layout:
 * addr[2] holds the 16 address bytes), or -1 if it is none of ours. */
static inline long frame_source_index(const struct frame *f, __u32 family, const __u64 addr[2])
{
	uint8_t b[16];
	uint32_t v;

	memcpy(b, addr, 16);
	if ((int)family != f->family)
		return -1;
	memcpy(&v, b + f->addr_off, 4);
	return (long)ntohl(v) - (long)f->base;
}

#endif /* BENCH_FRAMES_H */
