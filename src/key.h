/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* What a frame is counted under: its source or destination address, cut to
 * a prefix, with or without its VLAN tags. Set once, at load time: the XDP
 * program builds the key (rodata from key_program_config()), the outputs
 * name it (key_format_*()). One owner of what a key means. */
#ifndef KEY_H
#define KEY_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

enum key_address { KEY_SRC, KEY_DST };

struct key_spec {
	enum key_address address;
	__u8 prefix4;		/* 1-32; 32 is the whole address */
	__u8 prefix6;		/* 1-128 */
	bool vlan;		/* the VLAN tags are part of the key */
};

#define KEY_SPEC_DEFAULT { .address = KEY_SRC, .prefix4 = 32, .prefix6 = 128, .vlan = false }

/* What the XDP program needs to build keys, in its own terms: the masks are
 * in network byte order over the 16 bytes of a key's address. */
struct key_program_config {
	bool dst;
	bool vlan;
	__u64 mask4[2];
	__u64 mask6[2];
};

void key_program_config(const struct key_spec *spec, struct key_program_config *out);

/* Longest text of key_format_address(): an IPv6 address and "/128". */
#define KEY_ADDRESS_LEN 48
/* Longest text of key_format_vlans(): "4095.4095". */
#define KEY_VLANS_LEN 16

/* "198.18.7.1", or "198.18.7.0/24" when the key is a prefix shorter than
 * the family's whole address. */
const char *key_format_address(const struct key_spec *spec, __u32 meta, const __u64 addr[2],
			       char buf[KEY_ADDRESS_LEN]);

/* The VLAN ids of a key, outermost first; returns how many (0 untagged). */
int key_vlans(__u32 meta, __u16 ids[2]);

/* "100", "100.200" (QinQ, as Linux names such sub-interfaces), or "" when
 * the frame had no tag. */
const char *key_format_vlans(__u32 meta, char buf[KEY_VLANS_LEN]);

static inline bool key_equal(__u32 meta_a, const __u64 a[2], __u32 meta_b, const __u64 b[2])
{
	return meta_a == meta_b && a[0] == b[0] && a[1] == b[1];
}

/* Orders keys: family, then VLANs, then address bytes. */
int key_compare(__u32 meta_a, const __u64 a[2], __u32 meta_b, const __u64 b[2]);

#endif /* KEY_H */
