// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <arpa/inet.h>
#include <endian.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include "key.h"
#include "xdptop.h"

/* The first len bits of 16 bytes set, in memory (network) order. */
static void prefix_mask(unsigned int len, __u64 mask[2])
{
	__u8 bytes[16] = {};

	for (unsigned int i = 0; i < 16 && len; i++) {
		unsigned int bits = len < 8 ? len : 8;

		bytes[i] = (__u8)(0xff00 >> bits);
		len -= bits;
	}
	memcpy(mask, bytes, sizeof(bytes));
}

void key_program_config(const struct key_spec *spec, struct key_program_config *out)
{
	*out = (struct key_program_config){ .dst = spec->address == KEY_DST, .vlan = spec->vlan };
	prefix_mask(spec->prefix4, out->mask4);
	prefix_mask(spec->prefix6, out->mask6);
}

const char *key_format_address(const struct key_spec *spec, __u32 meta, const __u64 addr[2],
			       char buf[KEY_ADDRESS_LEN])
{
	bool v4 = (meta & XDPTOP_META_FAMILY_MASK) == XDPTOP_FAMILY_IPV4;
	unsigned int len = v4 ? spec->prefix4 : spec->prefix6;
	size_t n;

	inet_ntop(v4 ? AF_INET : AF_INET6, addr, buf, KEY_ADDRESS_LEN);
	n = strlen(buf);
	if (len < (v4 ? 32U : 128U))
		snprintf(buf + n, KEY_ADDRESS_LEN - n, "/%u", len);
	return buf;
}

int key_vlans(__u32 meta, __u16 ids[2])
{
	int n = (meta >> XDPTOP_META_NVLANS_SHIFT) & 3;

	ids[0] = (meta >> XDPTOP_META_VLAN0_SHIFT) & XDPTOP_VLAN_ID_MASK;
	ids[1] = (meta >> XDPTOP_META_VLAN1_SHIFT) & XDPTOP_VLAN_ID_MASK;
	return n;
}

const char *key_format_vlans(__u32 meta, char buf[KEY_VLANS_LEN])
{
	__u16 ids[2];

	switch (key_vlans(meta, ids)) {
	case 0:
		buf[0] = '\0';
		break;
	case 1:
		snprintf(buf, KEY_VLANS_LEN, "%u", ids[0]);
		break;
	default:
		snprintf(buf, KEY_VLANS_LEN, "%u.%u", ids[0], ids[1]);
		break;
	}
	return buf;
}

/* Family, then untagged before tagged, then the VLAN ids outermost first. */
static __u32 meta_order(__u32 meta)
{
	__u16 ids[2];
	int n = key_vlans(meta, ids);

	return (meta & XDPTOP_META_FAMILY_MASK) << 28 | (__u32)n << 24 | (__u32)ids[0] << 12 |
	       ids[1];
}

/* Addresses in memory (network) order compare as big-endian words: two
 * integer compares, where memcmp() was a call per tie when ranking. */
static int word_compare(__u64 a, __u64 b)
{
	a = be64toh(a);
	b = be64toh(b);
	return a == b ? 0 : a < b ? -1 : 1;
}

int key_compare(__u32 meta_a, const __u64 a[2], __u32 meta_b, const __u64 b[2])
{
	__u32 oa = meta_order(meta_a), ob = meta_order(meta_b);

	if (oa != ob)
		return oa < ob ? -1 : 1;
	return word_compare(a[0], b[0]) ?: word_compare(a[1], b[1]);
}
