/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* What a frame is counted under: the fields --key names (source and
 * destination addresses, cut to a prefix; protocol, ports, TCP flags), with
 * or without its VLAN tags. Set once, at load time: the XDP program builds
 * the key (rodata from key_program_config()), the outputs name it
 * (key_format_*()). One owner of what a key means. */
#ifndef KEY_H
#define KEY_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include "xdptop.h"

struct key_spec {
	__u32 fields;		/* enum xdptop_field bits, at least one */
	__u8 prefix4;		/* 1-32; 32 is the whole address */
	__u8 prefix6;		/* 1-128 */
	bool vlan;		/* the VLAN tags are part of the key */
};

#define KEY_SPEC_DEFAULT \
	{ .fields = XDPTOP_FIELD_SRC, .prefix4 = 32, .prefix6 = 128, .vlan = false }

/* The fields a key may have. */
#define KEY_FIELDS 6

/* "src", "dst", "proto", "sport", "dport", "tcpflags": --key's names. */
const char *key_field_name(enum xdptop_field field);

/* Parses --key's list ("src,proto,dport"), each field once. 0, or
 * -EINVAL with the first name it does not know in bad, or -EEXIST with the
 * first it repeats. */
int key_parse_fields(const char *list, __u32 *fields, char *bad, size_t bad_len);

/* Longest text of key_format_fields(): every field. */
#define KEY_FIELDS_TEXT_LEN 40

/* "src,proto,dport": the fields in order. */
const char *key_format_fields(__u32 fields, char buf[KEY_FIELDS_TEXT_LEN]);

/* What every output shows of a key, in order: an address key its address
 * (its one field), any other its family when it has no address
 * (KEY_SHOWN_FAMILY), then each of its fields. Returns how many. */
#define KEY_SHOWN_FAMILY 0
#define KEY_SHOWN_MAX (1 + KEY_FIELDS)
int key_shown(const struct key_spec *spec, int shown[KEY_SHOWN_MAX]);

/* A key of one address (src or dst) and nothing more: its outputs name it
 * "address", as before fields came. */
static inline bool key_is_address(const struct key_spec *spec)
{
	return spec->fields == XDPTOP_FIELD_SRC || spec->fields == XDPTOP_FIELD_DST;
}

/* 4 or 6. */
static inline int key_family(const struct xdptop_key *k)
{
	return (k->meta & XDPTOP_META_FAMILY_MASK) == XDPTOP_FAMILY_IPV4 ? 4 : 6;
}

/* What the XDP program needs to build keys, in its own terms: the masks are
 * in network byte order over the 16 bytes of a key's address. */
struct key_program_config {
	__u32 fields;
	bool vlan;
	__u64 mask4[2];
	__u64 mask6[2];
};

void key_program_config(const struct key_spec *spec, struct key_program_config *out);

/* Longest text of key_format_address(): an IPv6 address and "/128". */
#define KEY_ADDRESS_LEN 48
/* Longest text of key_format_vlans(): "4095.4095". */
#define KEY_VLANS_LEN 16
/* Longest text of key_format_field(): an address. */
#define KEY_FIELD_LEN KEY_ADDRESS_LEN

/* "198.18.7.1", or "198.18.7.0/24" when the key is a prefix shorter than
 * the family's whole address. */
const char *key_format_address(const struct key_spec *spec, int family, const __u64 addr[2],
			       char buf[KEY_ADDRESS_LEN]);

/* A field as people read it (log lines, the view, Prometheus labels): an
 * address as key_format_address(); a protocol by its name ("tcp", "udp",
 * "icmp", "icmp6"; a number for one without); a port as a number, and for
 * ICMP and ICMPv6 the destination "port" as "type/code" (a key without
 * proto cannot tell them: a number); TCP flags as the
 * letters of the bits set, in order FIN SYN RST PSH ACK URG ECE CWR
 * ("FSRPAUEC": "SA" is SYN-ACK), or "-" for none. */
const char *key_format_field(const struct key_spec *spec, const struct xdptop_key *k,
			     enum xdptop_field field, char buf[KEY_FIELD_LEN]);

/* Longest text of key_format_text(): every field named, an address each. */
#define KEY_TEXT_LEN 256

/* The key as a log line names it: an address key as its address
 * ("198.18.7.0/24"), any other as its fields, each named
 * ("src 198.18.7.1 proto tcp dport 443"), after its family when it has no
 * address ("ipv6 proto udp sport 53"); then " vlan 100" when it was
 * tagged and --vlan is on. */
const char *key_format_text(const struct key_spec *spec, const struct xdptop_key *k,
			    char buf[KEY_TEXT_LEN]);

/* The number of a field that is one (JSON): proto, sport, dport, tcpflags. */
unsigned int key_field_number(const struct xdptop_key *k, enum xdptop_field field);

/* The VLAN ids of a key, outermost first; returns how many (0 untagged). */
int key_vlans(__u32 meta, __u16 ids[2]);

/* "100", "100.200" (QinQ, as Linux names such sub-interfaces), or "" when
 * the frame had no tag. */
const char *key_format_vlans(__u32 meta, char buf[KEY_VLANS_LEN]);

static inline bool key_equal(const struct xdptop_key *a, const struct xdptop_key *b)
{
	return a->src[0] == b->src[0] && a->src[1] == b->src[1] && a->dst[0] == b->dst[0] &&
	       a->dst[1] == b->dst[1] && a->l4 == b->l4 && a->meta == b->meta;
}

/* Orders keys: family, then VLANs, then source and destination address
 * bytes, protocol, ports, TCP flags. */
int key_compare(const struct xdptop_key *a, const struct xdptop_key *b);

/* key_compare() of keys given as their meta and their first n words (a
 * tally keeps a narrow key's address alone: its two words). */
int key_compare_words(__u32 meta_a, const __u64 *a, __u32 meta_b, const __u64 *b, __u32 n);

#endif /* KEY_H */
