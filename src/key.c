// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <arpa/inet.h>
#include <assert.h>
#include <endian.h>
#include <errno.h>
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
	*out = (struct key_program_config){ .fields = spec->fields, .vlan = spec->vlan };
	prefix_mask(spec->prefix4, out->mask4);
	prefix_mask(spec->prefix6, out->mask6);
}

/* The fields in the order every output shows them. */
static const enum xdptop_field key_fields_in_order[KEY_FIELDS] = {
	XDPTOP_FIELD_SRC,   XDPTOP_FIELD_DST,	XDPTOP_FIELD_PROTO,
	XDPTOP_FIELD_SPORT, XDPTOP_FIELD_DPORT, XDPTOP_FIELD_TCPFLAGS,
};

const char *key_field_name(enum xdptop_field field)
{
	switch (field) {
	case XDPTOP_FIELD_SRC:
		return "src";
	case XDPTOP_FIELD_DST:
		return "dst";
	case XDPTOP_FIELD_PROTO:
		return "proto";
	case XDPTOP_FIELD_SPORT:
		return "sport";
	case XDPTOP_FIELD_DPORT:
		return "dport";
	default:
		return "tcpflags";
	}
}

static __u32 field_named(const char *name, size_t len)
{
	for (int i = 0; i < KEY_FIELDS; i++) {
		const char *n = key_field_name(key_fields_in_order[i]);

		if (strlen(n) == len && !strncmp(n, name, len))
			return key_fields_in_order[i];
	}
	return 0;
}

int key_parse_fields(const char *list, __u32 *fields, char *bad, size_t bad_len)
{
	__u32 all = 0;

	for (const char *p = list;; p++) {
		size_t len = strcspn(p, ",");
		__u32 f = field_named(p, len);

		if (!f || (all & f)) {
			snprintf(bad, bad_len, "%.*s", (int)len, p);
			return f ? -EEXIST : -EINVAL;
		}
		all |= f;
		p += len;
		if (!*p)
			break;
	}
	*fields = all;
	return 0;
}

const char *key_format_fields(__u32 fields, char buf[KEY_FIELDS_TEXT_LEN])
{
	size_t n = 0;

	buf[0] = '\0';
	for (int i = 0; i < KEY_FIELDS; i++) {
		if (fields & key_fields_in_order[i])
			n += snprintf(buf + n, KEY_FIELDS_TEXT_LEN - n, "%s%s", n ? "," : "",
				      key_field_name(key_fields_in_order[i]));
	}
	return buf;
}

int key_shown(const struct key_spec *spec, int shown[KEY_SHOWN_MAX])
{
	int n = 0;

	if (key_is_address(spec)) {
		shown[n++] = spec->fields;
		return n;
	}
	if (!(spec->fields & XDPTOP_FIELDS_ADDRESS))
		shown[n++] = KEY_SHOWN_FAMILY;
	for (int i = 0; i < KEY_FIELDS; i++)
		if (spec->fields & key_fields_in_order[i])
			shown[n++] = key_fields_in_order[i];
	return n;
}

const char *key_format_address(const struct key_spec *spec, int family, const __u64 addr[2],
			       char buf[KEY_ADDRESS_LEN])
{
	bool v4 = family == 4;
	unsigned int len = v4 ? spec->prefix4 : spec->prefix6;
	size_t n;

	inet_ntop(v4 ? AF_INET : AF_INET6, addr, buf, KEY_ADDRESS_LEN);
	n = strlen(buf);
	if (len < (v4 ? 32U : 128U))
		snprintf(buf + n, KEY_ADDRESS_LEN - n, "/%u", len);
	return buf;
}

/* The protocols a person knows by name (IANA's keywords, as
 * /etc/protocols has them, ICMPv6 as tcpdump names it); NULL for others. */
static const char *protocol_name(__u8 proto)
{
	static const char *const names[256] = {
		[1] = "icmp", [2] = "igmp",  [4] = "ipip",  [6] = "tcp",    [17] = "udp",
		[33] = "dccp", [41] = "ipv6", [47] = "gre", [50] = "esp",   [51] = "ah",
		[58] = "icmp6", [89] = "ospf", [103] = "pim", [112] = "vrrp", [132] = "sctp",
		[136] = "udplite",
	};

	return names[proto];
}

static bool is_icmp(__u8 proto)
{
	return proto == 1 || proto == 58;
}

static const char *tcpflags_text(__u8 flags, char buf[KEY_FIELD_LEN])
{
	static const char letters[] = "FSRPAUEC";
	int n = 0;

	for (int bit = 0; bit < 8; bit++)
		if (flags & (1U << bit))
			buf[n++] = letters[bit];
	if (!n)
		buf[n++] = '-';
	buf[n] = '\0';
	return buf;
}

const char *key_format_field(const struct key_spec *spec, const struct xdptop_key *k,
			     enum xdptop_field field, char buf[KEY_FIELD_LEN])
{
	const char *name;

	switch (field) {
	case XDPTOP_FIELD_SRC:
		return key_format_address(spec, key_family(k), k->src, buf);
	case XDPTOP_FIELD_DST:
		return key_format_address(spec, key_family(k), k->dst, buf);
	case XDPTOP_FIELD_PROTO:
		name = protocol_name(k->proto);
		if (name)
			return name;
		break;
	case XDPTOP_FIELD_DPORT:
		if (is_icmp(k->proto)) {
			snprintf(buf, KEY_FIELD_LEN, "%u/%u", k->dport >> 8, k->dport & 0xff);
			return buf;
		}
		break;
	case XDPTOP_FIELD_TCPFLAGS:
		return tcpflags_text(k->tcpflags, buf);
	default:
		break;
	}
	snprintf(buf, KEY_FIELD_LEN, "%u", key_field_number(k, field));
	return buf;
}

/* Two named addresses, four named numbers or words, a VLAN pair: the text
 * never reaches the end of its buffer, so the lengths added up stay in it. */
static_assert(KEY_TEXT_LEN > 2 * (sizeof(" src ") + KEY_ADDRESS_LEN) +
			       4 * sizeof(" tcpflags 65535/255") + sizeof(" vlan ") + KEY_VLANS_LEN,
	      "key_format_text() fits");
static_assert(KEY_FIELDS_TEXT_LEN >= sizeof("src,dst,proto,sport,dport,tcpflags"),
	      "key_format_fields() fits");

const char *key_format_text(const struct key_spec *spec, const struct xdptop_key *k,
			    char buf[KEY_TEXT_LEN])
{
	char field[KEY_FIELD_LEN], vlans[KEY_VLANS_LEN];
	int shown[KEY_SHOWN_MAX], n = key_shown(spec, shown);
	size_t len = 0;

	for (int i = 0; i < n; i++) {
		const char *sep = i ? " " : "";

		if (key_is_address(spec))
			len += snprintf(buf + len, KEY_TEXT_LEN - len, "%s",
					key_format_field(spec, k, shown[i], field));
		else if (shown[i] == KEY_SHOWN_FAMILY)
			len += snprintf(buf + len, KEY_TEXT_LEN - len, "ipv%d", key_family(k));
		else
			len += snprintf(buf + len, KEY_TEXT_LEN - len, "%s%s %s", sep,
					key_field_name(shown[i]),
					key_format_field(spec, k, shown[i], field));
	}
	if (spec->vlan && *key_format_vlans(k->meta, vlans))
		snprintf(buf + len, KEY_TEXT_LEN - len, " vlan %s", vlans);
	return buf;
}

unsigned int key_field_number(const struct xdptop_key *k, enum xdptop_field field)
{
	switch (field) {
	case XDPTOP_FIELD_PROTO:
		return k->proto;
	case XDPTOP_FIELD_SPORT:
		return k->sport;
	case XDPTOP_FIELD_DPORT:
		return k->dport;
	case XDPTOP_FIELD_TCPFLAGS:
		return k->tcpflags;
	default:
		return 0;
	}
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

static int number_compare(unsigned int a, unsigned int b)
{
	return a == b ? 0 : a < b ? -1 : 1;
}

/* The L4 word's fields, in key_compare()'s order. */
static int l4_compare(__u64 a, __u64 b)
{
	const struct xdptop_key ka = { .l4 = a }, kb = { .l4 = b };

	return number_compare(ka.proto, kb.proto) ?: number_compare(ka.sport, kb.sport) ?:
	       number_compare(ka.dport, kb.dport) ?: number_compare(ka.tcpflags, kb.tcpflags);
}

int key_compare_words(__u32 meta_a, const __u64 *a, __u32 meta_b, const __u64 *b, __u32 n)
{
	__u32 oa = meta_order(meta_a), ob = meta_order(meta_b);
	int order = 0;

	if (oa != ob)
		return oa < ob ? -1 : 1;
	for (__u32 i = 0; !order && i < n && i < XDPTOP_KEY_WORDS - 1; i++)
		order = word_compare(a[i], b[i]);
	return order || n < XDPTOP_KEY_WORDS ? order : l4_compare(a[4], b[4]);
}

int key_compare(const struct xdptop_key *a, const struct xdptop_key *b)
{
	return key_compare_words(a->meta, a->words, b->meta, b->words, XDPTOP_KEY_WORDS);
}
