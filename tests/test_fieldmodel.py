"""The key-field model (tests/fieldmodel.py) and its generated frames
(tests/fieldframes.py) checked on their own, before they judge xdptop
(tests/test_fields.py). Pure Python: no xdptop, no root, no network.

(a) Hand-written expectations, rule by rule, on small frames: each expected
    value is written out here, not computed by the model.
(b) The model against tshark (Wireshark's dissectors, an implementation
    that shares nothing with either) on the 40 corpus captures and the
    generated pcap: addresses, VLAN ids, the protocol (IPv6: the upper layer
    after the extension headers tshark walked), the fragment offset, ports,
    ICMP type and code, TCP flags; wherever both clearly apply. The places
    where they must differ, because the rules say so, are checked to differ
    exactly there (see TSHARK_DIFFERENCES).
(c) The generated frames cover every case: counted by their labels, and
    found again in the bytes by the model itself.
"""
import collections
import functools
import ipaddress
import json
import shutil
import struct
import subprocess
import xml.etree.ElementTree as ET

import pytest

import corpus
import fieldframes as G
import fieldmodel as FM
import keymodel as M

CAPTURES = corpus.CAPTURES

S4, D4 = "198.18.0.1", "198.19.0.1"
S6, D6 = "2001:db8:1::1", "2001:db8:2::1"
FILL = bytes([G.FILL]) * 24


def f4(proto, payload=b"", tags=(), src=S4, dst=D4, **kw):
    return G.frame(tags, G.ETH_IPV4, G.ipv4(src, dst, proto, payload, **kw))


def f6(nh, payload=b"", tags=(), src=S6, dst=D6, **kw):
    return G.frame(tags, G.ETH_IPV6, G.ipv6(src, dst, nh, payload, **kw))


def l4_of(frame):
    """(proto, sport, dport, tcpflags) of a frame, per the model."""
    f = FM.fields(frame)
    return None if f is None else (f["proto"], f["sport"], f["dport"], f["tcpflags"])


SA = G.tcp(40000, 443, 0x12)            # 20 bytes: 9c40 01bb ... flags 0x12 at 13
UDP_1000 = G.udp(1000, 2000, b"\x5a" * 4)


def dst_chain(n, upper, upper_bytes):
    """n destination options headers (8 bytes each) before upper."""
    return G.chain([G.DSTOPTS] * n, upper, upper_bytes)


# ---------------------------------------------------------------- (a) rule by rule

# name -> (frame, (proto, sport, dport, tcpflags)); None: not keyed ("other").
HAND = {
    # Written in hex, byte by byte: IPv4 TCP SYN 40000 -> 443.
    "hex-v4-tcp-syn": (bytes.fromhex(
        "02005e00000b02005e00000a0800"
        "450000280001000040060000c6120001c6130001"
        "9c4001bb000003e8000000005002ffff00000000"), (6, 40000, 443, 0x02)),
    # IPv6, a hop-by-hop header (next 17, length 0, PadN 4), UDP 1000 -> 2000.
    "hex-v6-hbh-udp": (bytes.fromhex(
        "02005e00000b02005e00000a86dd"
        "6000000000100040" "20010db8000100000000000000000001" "20010db8000200000000000000000001"
        "1100010400000000" "03e807d000080000"), (17, 1000, 2000, 0)),

    # The fields, in each family.
    "v4-tcp-SA": (f4(6, SA), (6, 40000, 443, 0x12)),
    "v6-tcp-SA": (f6(6, SA), (6, 40000, 443, 0x12)),
    "v4-udp": (f4(17, UDP_1000), (17, 1000, 2000, 0)),
    "v6-udp": (f6(17, UDP_1000), (17, 1000, 2000, 0)),
    "tcp-all-flags": (f4(6, G.tcp(1, 2, 0xFF)), (6, 1, 2, 0xFF)),
    "tcp-no-flags": (f6(6, G.tcp(1, 2, 0x00)), (6, 1, 2, 0)),
    "tcp-ns-not-a-flag": (f4(6, G.tcp(1, 2, 0x12, ns=True)), (6, 1, 2, 0x12)),
    "tcp-FA": (f4(6, G.tcp(1, 2, 0x11)), (6, 1, 2, 0x11)),
    "tcp-R": (f6(6, G.tcp(1, 2, 0x04)), (6, 1, 2, 0x04)),
    "tcp-PA": (f4(6, G.tcp(1, 2, 0x18)), (6, 1, 2, 0x18)),
    "udp-byte-13-is-no-flag": (f4(17, G.udp(1, 2, b"\xff" * 12)), (17, 1, 2, 0)),
    "udplite": (f4(136, G.udplite(42000, 5000, b"\x5a" * 12)), (136, 42000, 5000, 0)),
    "sctp": (f6(132, G.sctp(2905, 2944)), (132, 2905, 2944, 0)),
    "dccp": (f4(33, G.dccp(43000, 5001)), (33, 43000, 5001, 0)),
    "sctp-cut-after-2": (f4(132, G.sctp(2905, 2944))[:34 + 2], (132, 2905, 0, 0)),

    # ICMP: dport = type*256 + code, sport 0; in either IP.
    "icmp-echo-request": (f4(1, G.icmp(8, 0, b"\x5a" * 8)), (1, 0, 2048, 0)),
    "icmp-echo-reply": (f4(1, G.icmp(0, 0, b"\x5a" * 8)), (1, 0, 0, 0)),
    "icmp-port-unreachable": (f4(1, G.icmp(3, 3, b"\x5a" * 8)), (1, 0, 771, 0)),
    "icmp-unreachable-13": (f4(1, G.icmp(3, 13, b"\x5a" * 8)), (1, 0, 781, 0)),
    "icmp-time-exceeded-1": (f4(1, G.icmp(11, 1, b"\x5a" * 8)), (1, 0, 2817, 0)),
    "icmpv6-echo-request": (f6(58, G.icmp(128, 0, b"\x5a" * 8)), (58, 0, 32768, 0)),
    "icmpv6-echo-reply": (f6(58, G.icmp(129, 0, b"\x5a" * 8)), (58, 0, 33024, 0)),
    "icmpv6-unreachable-4": (f6(58, G.icmp(1, 4, b"\x5a" * 8)), (58, 0, 260, 0)),
    "icmpv6-too-big": (f6(58, G.icmp(2, 0, b"\x5a" * 8)), (58, 0, 512, 0)),
    "icmp-in-v6": (f6(1, G.icmp(8, 0, b"\x5a" * 8)), (1, 0, 2048, 0)),
    "icmpv6-in-v4": (f4(58, G.icmp(128, 0, b"\x5a" * 8)), (58, 0, 32768, 0)),
    "icmp-cut-after-type": (f4(1, G.icmp(8, 0))[:34 + 1], (1, 0, 0, 0)),
    "icmp-cut-after-code": (f4(1, G.icmp(8, 0))[:34 + 2], (1, 0, 2048, 0)),
    "icmpv6-iplen-1": (f6(58, G.icmp(128, 0) + FILL, payload_length=1), (58, 0, 0, 0)),
    "icmpv6-iplen-2": (f6(58, G.icmp(128, 0) + FILL, payload_length=2), (58, 0, 32768, 0)),

    # No ports: ESP, AH (not walked), GRE, unknown; IPv4 does not walk 0/43/44/60.
    "esp": (f4(50, struct.pack("!II", 0x1000, 1) + FILL), (50, 0, 0, 0)),
    "ah-before-tcp": (f6(51, struct.pack("!BBHII", 6, 4, 0, 0x2000, 1) + bytes(12) + SA),
                      (51, 0, 0, 0)),
    "gre": (f4(47, SA), (47, 0, 0, 0)),
    "unknown-253": (f6(253, SA), (253, 0, 0, 0)),
    "no-next-header-59": (f6(59, SA), (59, 0, 0, 0)),
    "v4-proto-44-not-walked": (f4(44, G.fragment_header(6) + SA), (44, 0, 0, 0)),
    "v4-proto-0-not-walked": (f4(0, G.options_header(6) + SA), (0, 0, 0, 0)),

    # limit: the frame's end.
    "tcp-cut-0": (f4(6, SA)[:34], (6, 0, 0, 0)),
    "tcp-cut-1": (f4(6, SA)[:35], (6, 0, 0, 0)),
    "tcp-cut-2": (f4(6, SA)[:36], (6, 40000, 0, 0)),
    "tcp-cut-3": (f4(6, SA)[:37], (6, 40000, 0, 0)),
    "tcp-cut-4": (f4(6, SA)[:38], (6, 40000, 443, 0)),
    "tcp-cut-13": (f6(6, SA)[:54 + 13], (6, 40000, 443, 0)),
    "tcp-cut-14": (f6(6, SA)[:54 + 14], (6, 40000, 443, 0x12)),
    "udp-cut-3-qinq": (f4(17, UDP_1000, tags=G.QINQ)[:42 + 3], (17, 1000, 0, 0)),
    # limit: an IP length that says less than the frame holds.
    "v4-iplen-23": (f4(6, SA + FILL, total_length=23), (6, 40000, 0, 0)),
    "v4-iplen-24": (f4(6, SA + FILL, total_length=24), (6, 40000, 443, 0)),
    "v4-iplen-33": (f4(6, SA + FILL, total_length=33), (6, 40000, 443, 0)),
    "v4-iplen-34": (f4(6, SA + FILL, total_length=34), (6, 40000, 443, 0x12)),
    "v4-iplen-10": (f4(6, SA, total_length=10), (6, 0, 0, 0)),
    "v4-iplen-0": (f4(6, SA, total_length=0), (6, 0, 0, 0)),
    "v4-iplen-long": (f4(6, SA, total_length=1400), (6, 40000, 443, 0x12)),
    "v6-plen-0": (f6(6, SA, payload_length=0), (6, 0, 0, 0)),
    "v6-plen-3": (f6(6, SA + FILL, payload_length=3), (6, 40000, 0, 0)),
    "v6-plen-4": (f6(17, UDP_1000 + FILL, payload_length=4), (17, 1000, 2000, 0)),
    "v6-plen-14": (f6(6, SA + FILL, payload_length=14), (6, 40000, 443, 0x12)),

    # IPv4 options: the L4 header at IHL*4.
    "ihl-6-router-alert": (f4(17, UDP_1000, options=bytes([148, 4, 0, 0])), (17, 1000, 2000, 0)),
    "ihl-15": (f4(6, G.tcp(7, 8, 0x02), options=b"\x01" * 39 + b"\x00"), (6, 7, 8, 0x02)),
    "ihl-15-cut-in-options": (f4(6, b"", options=b"\x01" * 40)[:14 + 44], (6, 0, 0, 0)),
    "ihl-6-iplen-22": (f4(6, SA, options=b"\x01" * 4, total_length=22), (6, 0, 0, 0)),

    # IPv4 fragments: offset != 0 is a later one.
    "v4-first-fragment-tcp": (f4(6, SA, flags_frag=0x2000), (6, 40000, 443, 0x12)),
    "v4-later-fragment-tcp": (f4(6, SA, flags_frag=0x2000 | 185), (6, 0, 0, 0)),
    "v4-last-fragment-udp": (f4(17, UDP_1000, flags_frag=185), (17, 0, 0, 0)),
    "v4-later-fragment-offset-1-icmp": (f4(1, G.icmp(8, 0), flags_frag=1), (1, 0, 0, 0)),
    "v4-df-is-no-fragment": (f4(6, SA, flags_frag=0x4000), (6, 40000, 443, 0x12)),
    "v4-reserved-bit-is-no-fragment": (f4(17, UDP_1000, flags_frag=0x8000), (17, 1000, 2000, 0)),

    # IPv6 extension headers: lengths, the bound of 6, fragments.
    "hbh-len-0": (f6(0, G.options_header(6, 0) + SA), (6, 40000, 443, 0x12)),
    "hbh-len-1": (f6(0, G.options_header(17, 1) + UDP_1000), (17, 1000, 2000, 0)),
    "routing-len-2": (f6(43, G.routing_header(6, 2) + SA), (6, 40000, 443, 0x12)),
    "dstopts-len-3": (f6(60, G.options_header(17, 3) + UDP_1000), (17, 1000, 2000, 0)),
    "dstopts-6": (f6(*dst_chain(6, 17, UDP_1000)), (17, 1000, 2000, 0)),
    "dstopts-7-past-bound": (f6(*dst_chain(7, 17, UDP_1000)), (60, 0, 0, 0)),
    "hbh-7-past-bound": (f6(*G.chain([0] * 7, 6, SA)), (0, 0, 0, 0)),
    "routing-7-past-bound": (f6(*G.chain([43] * 7, 6, SA)), (43, 0, 0, 0)),
    "fragment-7-past-bound": (f6(*G.chain([44] * 7, 6, SA)), (44, 0, 0, 0)),
    "mixed-6": (f6(*G.chain([0, 60, 43, 44, 60, 43], 6, SA, [1, 0, 2, 0, 3, 0])),
                (6, 40000, 443, 0x12)),
    "esp-after-6-hbh": (f6(*G.chain([0] * 6, 50, FILL)), (50, 0, 0, 0)),
    "v6-first-fragment": (f6(44, G.fragment_header(6, 0, True) + SA), (6, 40000, 443, 0x12)),
    "v6-later-fragment": (f6(44, G.fragment_header(17, 185, True) + UDP_1000), (17, 0, 0, 0)),
    "v6-last-fragment": (f6(44, G.fragment_header(58, 1, False) + G.icmp(128, 0)), (58, 0, 0, 0)),
    "v6-fragment-reserved-bits": (f6(44, G.fragment_header(6, word=0x0006) + SA),
                                  (6, 40000, 443, 0x12)),
    "v6-later-fragment-next-dstopts": (f6(44, G.fragment_header(60, 64) + G.options_header(6) + SA),
                                       (60, 0, 0, 0)),
    "v6-later-fragment-6th": (f6(*G.chain([60] * 5, 44, G.fragment_header(6, 9) + SA)),
                              (6, 0, 0, 0)),
    "v6-later-fragment-7th": (f6(*G.chain([60] * 6, 44, G.fragment_header(6, 9) + SA)),
                              (44, 0, 0, 0)),
    # The walk cut short: off+2 > limit stops it on the unread header's type.
    "hbh-plen-1": (f6(0, G.options_header(43) + G.routing_header(6) + SA, payload_length=1),
                   (0, 0, 0, 0)),
    "hbh-plen-2": (f6(0, G.options_header(43) + G.routing_header(6) + SA, payload_length=2),
                   (43, 0, 0, 0)),
    "hbh-routing-plen-10": (f6(0, G.options_header(43) + G.routing_header(6) + SA,
                               payload_length=10), (6, 0, 0, 0)),
    "hbh-routing-plen-18": (f6(0, G.options_header(43) + G.routing_header(6) + SA,
                               payload_length=18), (6, 40000, 0, 0)),
    "hbh-frame-cut-at-9": (f6(0, G.options_header(43) + G.routing_header(6) + SA)[:54 + 9],
                           (43, 0, 0, 0)),

    # VLAN tags: the IP header after them.
    "qinq-v6-udp": (f6(17, UDP_1000, tags=G.QINQ), (17, 1000, 2000, 0)),
    "qq-v4-tcp": (f4(6, SA, tags=G.QQ), (6, 40000, 443, 0x12)),
    "dot1ad-v4-icmp": (f4(1, G.icmp(3, 1), tags=G.DOT1AD), (1, 0, 769, 0)),

    # Not keyed.
    "ihl-4": (G.ether(0x0800) + bytes([0x44]) + G.ipv4(S4, D4, 6, SA)[1:], None),
    "three-tags": (G.ether(0x0800, ((0x88A8, 1), (0x8100, 2), (0x8100, 3)))
                   + G.ipv4(S4, D4, 6, SA), None),
    "v6-39-bytes": (G.ether(0x86DD) + G.ipv6(S6, D6, 6)[:39], None),
}


@pytest.mark.parametrize("name", HAND)
def test_hand_rule(name):
    frame, want = HAND[name]
    assert l4_of(frame) == want


def test_hand_addresses_and_vlans():
    f = FM.fields(f4(6, SA, tags=G.QQ))
    assert f["family"] == 4 and f["vlans"] == (30, 40)
    assert f["src"] == bytes([198, 18, 0, 1]) and f["dst"] == bytes([198, 19, 0, 1])
    f = FM.fields(f6(17, UDP_1000, tags=G.QINQ))
    assert f["family"] == 6 and f["vlans"] == (20, 10)
    assert f["src"] == bytes.fromhex("20010db8000100000000000000000001")
    assert f["dst"] == bytes.fromhex("20010db8000200000000000000000001")


def test_hand_fragment_header_cut():
    """A fragment header of which 2 or 3 bytes are inside the limit: its
    next header is read, its offset is not, so it is no later fragment; 4
    bytes: the offset is read, a later fragment."""
    later = G.fragment_header(6, 200, True) + SA
    for plen, is_later in ((2, False), (3, False), (4, True), (8, True)):
        d = FM.dissect(f6(44, later + FILL, payload_length=plen))
        assert (d.later_fragment, d.proto, d.sport, d.dport) == (is_later, 6, 0, 0), plen
    d = FM.dissect(f6(44, later)[:54 + 3])
    assert (d.later_fragment, d.proto) == (False, 6)


def test_hand_limits():
    """limit and the L4 start, in bytes from the frame's start."""
    d = FM.dissect(f4(6, SA + FILL, total_length=23, tags=G.DOT1Q))
    assert (d.ip_start, d.limit, d.l4) == (18, 18 + 23, 38)
    d = FM.dissect(f6(0, G.options_header(6, 1) + SA, tags=G.QINQ))
    assert (d.ip_start, d.limit, d.l4, d.ext_headers) == (22, 22 + 40 + 16 + 20, 22 + 56, 1)
    d = FM.dissect(f4(6, SA, options=b"\x01" * 8))
    assert (d.ip_start, d.limit, d.l4) == (14, 14 + 28 + 20, 14 + 28)


# ---------------------------------------------------------------- (a) keys and JSON

A = f4(6, G.tcp(40000, 443, 0x12))                                  # 54 bytes
B = f4(6, G.tcp(40001, 443, 0x10))                                  # 54 bytes
C = f6(6, G.tcp(40000, 443, 0x12))                                  # 74 bytes
D = f4(17, G.udp(1000, 53, b"\x5a" * 4), src="198.18.0.2")          # 46 bytes
E = G.ether(0x0806) + bytes(28)                                     # ARP: other, 42 bytes
V = f4(6, G.tcp(40000, 443, 0x12), tags=G.QINQ, src="198.18.1.9", dst="198.19.1.9")  # 62
HAND_FRAMES = [A, B, C, D, E, V, A]


def test_hand_frame_lengths():
    assert [len(f) for f in HAND_FRAMES] == [54, 54, 74, 46, 42, 62, 54]


def counts_of(model):
    return {k: (c["packets"], c["bytes"]) for k, c in model["sources"].items()}


def test_hand_keys_proto_dport():
    m = FM.count(HAND_FRAMES, key="proto,dport")
    K = FM.Key
    assert counts_of(m) == {
        K(4, (), None, None, 6, None, 443, None): (4, 224),
        K(6, (), None, None, 6, None, 443, None): (1, 74),
        K(4, (), None, None, 17, None, 53, None): (1, 46),
    }
    assert m["other"] == {"packets": 1, "bytes": 42}
    assert m["total"] == {"packets": 7, "bytes": 386}
    assert FM.json_sources(m) == [
        {"proto": 6, "dport": 443, "family": 4, "packets": 4, "bytes": 224},
        {"proto": 6, "dport": 443, "family": 6, "packets": 1, "bytes": 74},
        {"proto": 17, "dport": 53, "family": 4, "packets": 1, "bytes": 46},
    ]


def test_hand_keys_five_tuple():
    m = FM.count(HAND_FRAMES, key=["dport", "src", "proto", "dst", "sport"])
    assert FM.json_sources(m) == [
        {"src": "198.18.0.1", "dst": "198.19.0.1", "proto": 6, "sport": 40000, "dport": 443,
         "packets": 2, "bytes": 108},
        {"src": "2001:db8:1::1", "dst": "2001:db8:2::1", "proto": 6, "sport": 40000,
         "dport": 443, "packets": 1, "bytes": 74},
        {"src": "198.18.1.9", "dst": "198.19.1.9", "proto": 6, "sport": 40000, "dport": 443,
         "packets": 1, "bytes": 62},
        {"src": "198.18.0.1", "dst": "198.19.0.1", "proto": 6, "sport": 40001, "dport": 443,
         "packets": 1, "bytes": 54},
        {"src": "198.18.0.2", "dst": "198.19.0.1", "proto": 17, "sport": 1000, "dport": 53,
         "packets": 1, "bytes": 46},
    ]


def test_hand_keys_dst_flags_vlan_prefix():
    m = FM.count(HAND_FRAMES, key="dst,proto,sport,dport,tcpflags", vlan=True, prefix4=16,
                 prefix6=32)
    assert FM.json_sources(m) == [
        {"dst": "198.19.0.0/16", "proto": 6, "sport": 40000, "dport": 443, "tcpflags": 0x12,
         "vlan": [], "packets": 2, "bytes": 108},
        {"dst": "2001:db8::/32", "proto": 6, "sport": 40000, "dport": 443, "tcpflags": 0x12,
         "vlan": [], "packets": 1, "bytes": 74},
        {"dst": "198.19.0.0/16", "proto": 6, "sport": 40000, "dport": 443, "tcpflags": 0x12,
         "vlan": [20, 10], "packets": 1, "bytes": 62},
        {"dst": "198.19.0.0/16", "proto": 6, "sport": 40001, "dport": 443, "tcpflags": 0x10,
         "vlan": [], "packets": 1, "bytes": 54},
        {"dst": "198.19.0.0/16", "proto": 17, "sport": 1000, "dport": 53, "tcpflags": 0,
         "vlan": [], "packets": 1, "bytes": 46},
    ]


def test_hand_keys_single_address():
    """--key src / --key dst: today's objects, "address" and no field members."""
    m = FM.count(HAND_FRAMES, key="src")
    assert FM.json_sources(m) == [
        {"address": "198.18.0.1", "packets": 3, "bytes": 162},
        {"address": "2001:db8:1::1", "packets": 1, "bytes": 74},
        {"address": "198.18.1.9", "packets": 1, "bytes": 62},
        {"address": "198.18.0.2", "packets": 1, "bytes": 46},
    ]
    m = FM.count(HAND_FRAMES, key=("dst",), prefix4=24, vlan=True)
    assert FM.json_sources(m) == [
        {"address": "198.19.0.0/24", "vlan": [], "packets": 4, "bytes": 208},
        {"address": "2001:db8:2::1", "vlan": [], "packets": 1, "bytes": 74},
        {"address": "198.19.1.0/24", "vlan": [20, 10], "packets": 1, "bytes": 62},
    ]


def test_hand_key_order():
    """Ties of packets and bytes go by key order: family, untagged before
    tagged, VLAN ids, src bytes, dst bytes, proto, sport, dport, tcpflags."""
    same = [
        f6(6, G.tcp(1, 80, 0x02)),                                     # 74 bytes each
        f4(6, G.tcp(1, 443, 0x02) + bytes(20)),
        f4(6, G.tcp(1, 80, 0x02) + bytes(20)),
        f4(6, G.tcp(1, 80, 0x02) + bytes(16), tags=((0x8100, 7),)),
        f4(6, G.tcp(1, 80, 0x02) + bytes(16), tags=((0x8100, 5),)),
        f4(6, G.tcp(1, 80, 0x02) + bytes(12), tags=((0x8100, 1), (0x8100, 1))),
        f4(17, G.udp(1, 80, bytes(32))),
        f4(6, G.tcp(2, 80, 0x02) + bytes(20)),
        f4(6, G.tcp(1, 80, 0x01) + bytes(20)),
        f4(6, G.tcp(1, 80, 0x02) + bytes(20), src="198.18.0.0"),
        f4(6, G.tcp(1, 80, 0x02) + bytes(20), dst="198.19.0.0"),
    ]
    assert {len(f) for f in same} == {74}
    m = FM.count(same, key="src,dst,proto,sport,dport,tcpflags", vlan=True)
    got = [(o["vlan"], o["src"], o["dst"], o["proto"], o["sport"], o["dport"], o["tcpflags"])
           for o in FM.json_sources(m)]
    assert got == [
        ([], "198.18.0.0", "198.19.0.1", 6, 1, 80, 2),
        ([], "198.18.0.1", "198.19.0.0", 6, 1, 80, 2),
        ([], "198.18.0.1", "198.19.0.1", 6, 1, 80, 1),
        ([], "198.18.0.1", "198.19.0.1", 6, 1, 80, 2),
        ([], "198.18.0.1", "198.19.0.1", 6, 1, 443, 2),
        ([], "198.18.0.1", "198.19.0.1", 6, 2, 80, 2),
        ([], "198.18.0.1", "198.19.0.1", 17, 1, 80, 0),
        ([5], "198.18.0.1", "198.19.0.1", 6, 1, 80, 2),
        ([7], "198.18.0.1", "198.19.0.1", 6, 1, 80, 2),
        ([1, 1], "198.18.0.1", "198.19.0.1", 6, 1, 80, 2),
        ([], "2001:db8:1::1", "2001:db8:2::1", 6, 1, 80, 2),
    ]
    # Without addresses the family still splits and orders: 4 before 6.
    m = FM.count(same, key="dport")
    assert FM.json_sources(m) == [
        {"dport": 80, "family": 4, "packets": 9, "bytes": 666},
        {"dport": 443, "family": 4, "packets": 1, "bytes": 74},
        {"dport": 80, "family": 6, "packets": 1, "bytes": 74},
    ]


def test_key_names():
    assert FM.key_fields("dport,src") == ("src", "dport")
    assert FM.key_fields(["tcpflags", "proto"]) == ("proto", "tcpflags")
    assert FM.is_single_address("src") and FM.is_single_address(["dst"])
    assert not FM.is_single_address("src,dst")
    for bad in ("", "src,src", "port", "src,", "SRC"):
        with pytest.raises(ValueError):
            FM.key_fields(bad)


# ---------------------------------------------------------------- the model and keymodel

@functools.lru_cache(maxsize=None)
def frames(name):
    return tuple(M.read_pcap(corpus.pcap(name)))


@functools.lru_cache(maxsize=None)
def generated():
    return tuple(f.data for f in G.frames())


@pytest.fixture(scope="module")
def generated_pcap(tmp_path_factory):
    return G.write_pcap(tmp_path_factory.mktemp("fields") / "generated.pcap", G.frames())


def all_corpus_frames():
    return [f for name in CAPTURES for f in frames(name)]


@pytest.mark.parametrize("which", ["corpus", "generated"])
@pytest.mark.parametrize("mode", [{"key": "src"}, {"key": "dst"},
                                  {"key": "src", "prefix4": 24, "prefix6": 64, "vlan": True},
                                  {"key": "dst", "prefix4": 8, "vlan": True}],
                         ids=["src", "dst", "src-prefix-vlan", "dst-prefix-vlan"])
def test_single_address_is_keymodel(which, mode):
    """--key src and --key dst: the field model gives keymodel's keys,
    counts and rank order, and today's JSON objects."""
    fr = all_corpus_frames() if which == "corpus" else list(generated())
    fm = FM.count(fr, **mode)
    km = M.count(fr, **mode)
    assert fm["other"] == km["other"] and fm["total"] == km["total"]
    want = []
    for (text, vlans), c in M.ranked(km):
        obj = {"address": text}
        if mode.get("vlan"):
            obj["vlan"] = list(vlans)
        want.append({**obj, **c})
    assert FM.json_sources(fm) == want


FIELD_MODES = {
    "src-proto-dport": {"key": "src,proto,dport"},
    "5-tuple": {"key": "src,dst,proto,sport,dport"},
    "proto": {"key": "proto"},
    "proto-dport": {"key": "proto,dport"},
    "dport-tcpflags": {"key": "dport,tcpflags"},
    "dst-flags-vlan-prefix": {"key": "dst,proto,sport,dport,tcpflags", "vlan": True,
                              "prefix4": 24, "prefix6": 64},
}


def merged_by(model, field):
    """A field model's keys added up to keymodel's keys of one address
    (field "src" or "dst"): {(text, vlans): counts}."""
    mode = model["mode"]
    out = {}
    for k, c in model["sources"].items():
        addr = k.src if field == "src" else k.dst
        text = M.key_text(k.family, addr, mode["prefix4"], mode["prefix6"])
        s = out.setdefault((text, k.vlans), {"packets": 0, "bytes": 0})
        s["packets"] += c["packets"]
        s["bytes"] += c["bytes"]
    return out


@pytest.mark.parametrize("which", ["corpus", "generated"])
@pytest.mark.parametrize("mode", FIELD_MODES, ids=list(FIELD_MODES))
def test_fields_add_up(which, mode):
    """Every key mode counts the same frames: its keys added up over the
    fields other than the address are keymodel's (itself checked against
    the oracle's files by test_keys.py); without an address, over the
    family. And the JSON objects have exactly the members of the mode."""
    fr = all_corpus_frames() if which == "corpus" else list(generated())
    m = FM.count(fr, **FIELD_MODES[mode])
    names = m["mode"]["key"]
    vlan = m["mode"]["vlan"]
    for field in ("src", "dst"):
        if field in names:
            km = M.count(fr, key=field, prefix4=m["mode"]["prefix4"],
                         prefix6=m["mode"]["prefix6"], vlan=vlan)
            assert merged_by(m, field) == km["sources"]
    km = M.count(fr)
    assert m["other"] == km["other"] and m["total"] == km["total"]
    by_family = collections.Counter()
    for k, c in m["sources"].items():
        by_family[k.family] += c["packets"]
    assert sum(by_family.values()) == m["total"]["packets"] - m["other"]["packets"]
    members = set(names) | ({"vlan"} if vlan else set()) | {"packets", "bytes"}
    if "src" not in names and "dst" not in names:
        members.add("family")
    objs = FM.json_sources(m)
    assert objs and all(set(o) == members for o in objs)
    assert len({json.dumps(o, sort_keys=True) for o in objs}) == len(objs)


def test_fields_on_corpus_vs_oracle():
    """The source mode of the field model against the oracle's own files."""
    for name in CAPTURES:
        m = FM.count(frames(name), key="src")
        exp = corpus.expected(name, "src")
        got = {o["address"]: {"packets": o["packets"], "bytes": o["bytes"]}
               for o in FM.json_sources(m)}
        assert got == exp["sources"], name
        assert m["other"] == exp["other"] and m["total"] == exp["total"], name


# ---------------------------------------------------------------- (b) tshark

TSHARK_OPTIONS = [
    "-n",
    # No reassembly: each frame on its own, as xdptop sees it.
    "-o", "ip.defragment:FALSE", "-o", "ipv6.defragment:FALSE",
    "-o", "tcp.desegment_tcp_streams:FALSE", "-o", "tcp.analyze_sequence_numbers:FALSE",
]
L2_PROTOS = ("eth", "vlan", "ieee8021ad")
# tshark's IPv6 extension headers (children of its ipv6 element, in order) and
# their next-header fields; AH is one of them for tshark, not for the rules.
TSHARK_EXT = {"ipv6.hopopts": (0, "ipv6.hopopts.nxt"), "ipv6.routing": (43, "ipv6.routing.nxt"),
              "ipv6.fraghdr": (44, "ipv6.fraghdr.nxt"), "ipv6.dstopts": (60, "ipv6.dstopts.nxt"),
              "ah": (51, "ah.next_header")}
# The L4 dissector tshark must have used for a protocol, its fields, and how
# many bytes make a header it dissects whole.
TSHARK_L4 = {6: ("tcp", "tcp.srcport", "tcp.dstport"), 17: ("udp", "udp.srcport", "udp.dstport"),
             136: ("udplite", "udp.srcport", "udp.dstport"),
             132: ("sctp", "sctp.srcport", "sctp.dstport"),
             33: ("dccp", "dccp.srcport", "dccp.dstport"),
             1: ("icmp", "icmp.type", "icmp.code"), 58: ("icmpv6", "icmpv6.type", "icmpv6.code")}
TSHARK_L4_FIELDS = {name: (a, b) + (("tcp.flags",) if name == "tcp" else ())
                    for name, a, b in TSHARK_L4.values()}
WHOLE_HEADER = {6: 20, 17: 8, 136: 8, 132: 12, 33: 16, 1: 8, 58: 8}

# Where the rules and tshark part, on purpose (each checked below to happen
# exactly where said):
TSHARK_DIFFERENCES = {
    "ah": "IPv6 AH (51) ends the walk: proto 51, no ports; tshark walks AH to "
          "the protocol after it (OSPFv3_with_AH, the generated AH frames)",
    "past-bound": "a 7th IPv6 extension header is not walked: proto is its "
                  "type; tshark walks the whole chain",
    "cut-chain": "an extension header cut by the limit: the rules read its "
                 "next header from 2 bytes, or stop on its type; tshark "
                 "reads a whole header or calls the frame malformed (not "
                 "compared)",
    "iplen-0": "IPv4 total_length 0: limit = the IP header's start, no L4 "
               "fields; tshark takes 0 as TSO and reads the frame's L4",
    "iplen-short": "IPv4 total_length < IHL*4 (but not 0): tshark calls the "
                   "header bogus and gives no protocol; the rules read the "
                   "Protocol field of the fixed header",
    "icmp-1-byte": "ICMP with one byte inside the limit: the rules need type "
                   "and code (dport 0); tshark shows the type",
    "not-ip": "frames the rules call other that tshark dissects as IP "
              "anyway: IHL < 5, a version that is not the EtherType's, "
              "fewer bytes than the fixed header, a third VLAN tag",
}


def _field(elem, name):
    """The first field called name under elem (its "show" text), or None."""
    for f in elem.iter("field"):
        if f.get("name") == name:
            return f.get("show")
    return None


def _num(text):
    return None if text is None else int(text, 0)


def tshark_view(packet):
    """What tshark found in one frame (a PDML <packet>): the outermost IP
    header right after Ethernet and its VLAN tags, its extension headers,
    the protocol after them, and the L4 header that follows."""
    protos = [p for p in packet if p.tag == "proto"]
    names = [p.get("name") for p in protos]
    assert names[:2] == ["geninfo", "frame"], names
    i = 2
    while i < len(names) and names[i] in L2_PROTOS:
        i += 1
    v = {"names": names, "family": None}
    if i >= len(names) or names[i] not in ("ip", "ipv6"):
        return v
    l2 = protos[2:i]
    v["vlans"] = tuple(_num(_field(p, p.get("name") + ".id")) for p in l2 if p.get("name") != "eth")
    l3 = protos[i]
    if names[i] == "ip":
        v.update(family=4, src=_field(l3, "ip.src"), dst=_field(l3, "ip.dst"),
                 proto=_num(_field(l3, "ip.proto")), frag_offset=_num(_field(l3, "ip.frag_offset")),
                 chain=[], total_length=_num(_field(l3, "ip.len")))
    else:
        chain = []
        nh = _num(_field(l3, "ipv6.nxt"))
        proto = nh
        frag_offset = None
        for child in l3:
            if child.tag == "proto" and child.get("name") in TSHARK_EXT:
                number, nxt_field = TSHARK_EXT[child.get("name")]
                nxt = _num(_field(child, nxt_field))
                chain.append((number, nxt))
                if number == 44 and frag_offset is None:
                    frag_offset = _num(_field(child, "ipv6.fraghdr.offset"))
        # The rules' proto as tshark would give it: the last next header before AH.
        for number, nxt in chain:
            if number == 51:
                break
            proto = nxt
        v.update(family=6, src=_field(l3, "ipv6.src"), dst=_field(l3, "ipv6.dst"),
                 proto=proto, chain=chain, frag_offset=frag_offset)
    v["l4"] = None
    v["l4_fields"] = {}
    if i + 1 < len(protos):
        l4 = protos[i + 1]
        v["l4"] = l4.get("name")
        for name in TSHARK_L4_FIELDS.get(v["l4"], ()):
            v["l4_fields"][name] = _num(_field(l4, name))
    return v


@functools.lru_cache(maxsize=None)
def tshark_views(path):
    """tshark's view of every frame of a pcap. PDML (-T pdml), not -T fields:
    each IPv6 extension header type has its own next-header field
    (ipv6.hopopts.nxt, ipv6.routing.nxt, ...), and only PDML keeps them in
    the chain's order, under the outermost IPv6 header they belong to."""
    assert shutil.which("tshark"), "tshark is not installed (scripts/install-deps --test)"
    out = subprocess.run(["tshark", "-r", str(path), *TSHARK_OPTIONS, "-T", "pdml"],
                         capture_output=True, check=True, timeout=300).stdout
    return [tshark_view(p) for p in ET.fromstring(out).iter("packet")]


NOT_IP_LABELS = {"ihl-4", "version-5", "v4-short", "v6-short", "v6-in-0800", "three-tags"}


def compare_with_tshark(frame_list, views, labels=None):
    """Compares the model with tshark frame by frame; returns a Counter of
    what was compared and of each difference found where it is expected.
    Any other disagreement fails."""
    assert len(views) == len(frame_list)
    seen = collections.Counter()
    for i, (frame, v) in enumerate(zip(frame_list, views)):
        where = (i + 1, v["names"], sorted(labels[i]) if labels else None)
        d = FM.dissect(frame)
        if d is None:
            if v["family"] is not None:
                # Only the generated frames that are made so.
                assert labels and labels[i] & NOT_IP_LABELS, where
                seen["not-ip"] += 1
            else:
                seen["other"] += 1
            continue
        # The link and network layers: the same header, tags and addresses.
        assert v["family"] == d.family, where
        assert v["vlans"] == d.vlans, where
        # (tshark leaves out what follows a header it finds cut: IHL*4 past the frame.)
        for theirs, mine in ((v["src"], d.src), (v["dst"], d.dst)):
            if theirs is not None:
                assert theirs == str(ipaddress.ip_address(mine)), where
                seen["address"] += 1
        seen[f"v{d.family}"] += 1
        # proto
        clean = True
        if d.family == 4:
            if v["proto"] is None:
                tl = struct.unpack_from("!H", frame, d.ip_start + 2)[0]
                assert 0 < tl < (frame[d.ip_start] & 0xF) * 4, where
                seen["iplen-short"] += 1
                continue
            assert v["proto"] == d.proto, where
            assert (v["frag_offset"] != 0) == d.later_fragment, where
            seen["proto"] += 1
        else:
            ext = (0, 43, 44, 60)
            tchain = [number for number, _ in v["chain"]]
            if d.proto == 51:
                assert 51 in tchain and v["proto"] == 51, where
                seen["ah"] += 1
                clean = False
            elif d.proto in ext and not d.later_fragment and d.ext_headers == 6 and \
                    d.l4 + 8 <= d.limit:
                # Past the bound: tshark went on over the 7th header.
                assert len(tchain) > 6 and tchain[6] == d.proto and tchain[:6] == \
                    [n for n in tchain[:6] if n in ext], where
                assert v["proto"] not in ext, where
                seen["past-bound"] += 1
                clean = False
            elif (d.proto in ext and not d.later_fragment) or d.l4 > d.limit:
                seen["cut-chain"] += 1
                clean = False
            else:
                assert v["proto"] == d.proto, where
                assert len(tchain) == d.ext_headers, where
                assert ((v["frag_offset"] or 0) != 0) == d.later_fragment, where
                seen["proto"] += 1
        if not clean or d.proto not in TSHARK_L4:
            continue
        name, first, second = TSHARK_L4[d.proto]
        if d.later_fragment:
            # Nothing of L4 in a later fragment, for tshark either.
            assert v["l4"] not in [n for n, _, _ in TSHARK_L4.values()], where
            seen["later-fragment"] += 1
            continue
        f = v["l4_fields"] if v["l4"] == name else {}
        if d.l4 + WHOLE_HEADER[d.proto] <= d.limit:
            # A whole header: tshark dissected it, and agrees field by field.
            assert v["l4"] == name, where
            if d.proto in (1, 58):
                assert (0, f[first] * 256 + f[second]) == (d.sport, d.dport), where
            else:
                assert (f[first], f[second]) == (d.sport, d.dport), where
            if d.proto == 6:
                assert f["tcp.flags"] & 0xFF == d.tcpflags, where
                seen["tcpflags"] += 1
            seen[f"whole-{name}"] += 1
            continue
        # Part of a header: what tshark did read agrees with what the rules
        # read; what it read past them is one of the known differences.
        reach = d.limit - d.l4
        if d.proto in (1, 58):
            pairs = [(first, 2, d.dport >> 8), (second, 2, d.dport & 0xFF)]
        else:
            pairs = [(first, 2, d.sport), (second, 4, d.dport)]
            if d.proto == 6:
                pairs.append(("tcp.flags", 14, d.tcpflags))
        for field, need, mine in pairs:
            theirs = f.get(field)
            if theirs is None:
                continue
            if field == "tcp.flags":
                theirs &= 0xFF
            if need <= reach:
                assert theirs == mine, (where, field)
                seen["part-agrees"] += 1
            elif d.family == 4 and struct.unpack_from("!H", frame, d.ip_start + 2)[0] == 0:
                seen["iplen-0"] += 1
            else:
                assert d.proto in (1, 58) and reach == 1 and field == first, (where, field)
                seen["icmp-1-byte"] += 1
    return seen


@functools.lru_cache(maxsize=None)
def corpus_comparison(name):
    return compare_with_tshark(frames(name), tshark_views(corpus.pcap(name)))


@pytest.mark.parametrize("name", CAPTURES)
def test_tshark_corpus(name):
    seen = corpus_comparison(name)
    # Every IP frame was looked at: compared, or set aside for a documented reason.
    ip_frames = sum(1 for f in frames(name) if FM.fields(f) is not None)
    assert seen["v4"] + seen["v6"] == ip_frames
    assert seen["address"] == 2 * ip_frames
    assert ip_frames == 0 or seen["proto"] + seen["ah"] > 0
    # Nothing made up in the corpus: only AH differs there.
    allowed = {"v4", "v6", "address", "proto", "other", "ah", "later-fragment", "tcpflags",
               "part-agrees"} | {f"whole-{n}" for n, _, _ in TSHARK_L4.values()}
    assert set(seen) <= allowed, seen
    assert (seen["ah"] > 0) == (name == "OSPFv3_with_AH")


def test_tshark_corpus_totals():
    """What the corpus let tshark confirm, all captures together."""
    total = collections.Counter()
    for name in CAPTURES:
        total += corpus_comparison(name)
    assert total["proto"] >= 800
    for proto in ("tcp", "udp", "icmpv6", "dccp"):     # the corpus has no ICMPv4
        assert total[f"whole-{proto}"] > 0, (proto, total)
    assert total["tcpflags"] >= 100


def test_tshark_generated(generated_pcap):
    gen = G.frames()
    seen = compare_with_tshark([f.data for f in gen], tshark_views(generated_pcap),
                               [f.labels for f in gen])
    # Every protocol of the rules confirmed whole; each documented
    # difference met where the generator put it.
    for name, _, _ in TSHARK_L4.values():
        assert seen[f"whole-{name}"] >= 4, (name, seen)
    assert seen["tcpflags"] >= 100
    assert seen["later-fragment"] >= 20
    assert seen["part-agrees"] >= 100
    past = sum(1 for f in gen if "ext-past-bound" in f.labels)
    assert seen["past-bound"] == past
    assert seen["ah"] >= 2
    assert seen["not-ip"] == sum(1 for f in gen if f.labels & NOT_IP_LABELS)
    assert seen["iplen-0"] >= 1 and seen["iplen-short"] >= 1 and seen["icmp-1-byte"] >= 1
    assert seen["cut-chain"] >= 20
    assert set(TSHARK_DIFFERENCES) <= set(seen) | {"iplen-0", "iplen-short"}


# ---------------------------------------------------------------- (c) coverage

def test_generated_frames_are_sound():
    gen = G.frames()
    for f in gen:
        assert 14 <= len(f.data) <= 1514, f
        parsed = FM.fields(f.data)
        assert (parsed is None) == ("other" in f.labels), f.labels
        if parsed:
            for a in (parsed["src"], parsed["dst"]):
                ip = ipaddress.ip_address(a)
                net = "198.18.0.0/15" if ip.version == 4 else "2001:db8::/32"
                assert ip in ipaddress.ip_network(net), (ip, f.labels)
            assert f"v{parsed['family']}" in f.labels
            tag = next(name for name, tags in G.TAGS.items() if name in f.labels)
            assert parsed["vlans"] == tuple(tci & 0xFFF for _, tci in G.TAGS[tag])
    # Deterministic: the same bytes every time.
    assert [f.data for f in G.frames()] == [f.data for f in gen]


def test_generated_pcap_reads_back(generated_pcap):
    assert M.read_pcap(generated_pcap) == [f.data for f in G.frames()]


# The least each label must have (the generator's own account).
LABEL_MINIMUM = {
    "v4": 200, "v6": 300, "untagged": 100, "dot1q": 30, "dot1ad": 30, "qinq": 100, "qq": 30,
    "tcp": 100, "udp": 50, "icmp": 20, "icmpv6": 20, "sctp": 6, "udplite": 6, "dccp": 6,
    "esp": 2, "ah": 2, "unknown-proto": 10, "ipv4-options": 20, "ext-past-bound": 8,
    "ext-mixed": 5, "ext-length": 18, "frag-first": 6, "frag-later": 12, "frag-cut": 4,
    "frag-after-ext": 6, "cut-frame": 100, "cut-iplen": 100, "iplen-small": 6, "iplen-long": 2,
    "ext-cut": 40, "shared-flow": 10, "shared-sport": 12, "shared-flags": 10, "shared-same": 6,
    "other": 8, "icmp-in-v6": 2, "icmpv6-in-v4": 2,
    **{f"flags-{n}": 2 for n in G.TCP_FLAGS},
    **{f"ext-{kind}-{n}": 2 for kind in G.EXT_NAMES.values() for n in range(8)},
    **{f"ihl-{n}": 2 for n in range(6, 16)},
    **{f"cut-frame-{k}": 4 for k in range(15)},
    **{f"cut-iplen-{k}": 4 for k in range(15)},
}


def test_generated_labels():
    have = collections.Counter(label for f in G.frames() for label in f.labels)
    short = {label: (have[label], n) for label, n in LABEL_MINIMUM.items() if have[label] < n}
    assert not short


def dissections():
    return [(f.labels, f.data, FM.dissect(f.data)) for f in G.frames()]


def test_coverage_found_in_the_bytes():
    """The cases, found again by the model in the bytes, whatever the labels
    say."""
    facts = collections.Counter()
    for _, frame, d in dissections():
        if d is None:
            facts["other"] += 1
            continue
        by_frame_end = d.limit == len(frame)
        reach = d.limit - d.l4
        tags = (len(d.vlans), struct.unpack_from("!H", frame, 12)[0] if d.vlans else None)
        facts["tags", d.family, tags] += 1
        facts["proto", d.family, d.proto] += 1
        if d.later_fragment:
            facts["later", d.family, d.proto] += 1
        elif d.proto in FM.PORT_PROTOS + FM.ICMP_PROTOS and reach >= WHOLE_HEADER[d.proto]:
            facts["whole", d.family, d.proto] += 1
            if d.proto in FM.PORT_PROTOS and d.sport and d.dport:
                facts["ports", d.family, d.proto] += 1
        if d.proto == 6 and not d.later_fragment and 0 <= reach <= 14:
            facts["tcp-cut", d.family, "frame" if by_frame_end else "iplen", reach] += 1
        if d.proto == 6 and reach >= 14 and not d.later_fragment:
            facts["flags", d.tcpflags] += 1
        if d.proto in FM.ICMP_PROTOS and not d.later_fragment and reach >= 2:
            facts["icmp", d.family, d.proto, d.dport] += 1
        if d.family == 4 and d.l4 - d.ip_start > 20:
            facts["ihl", (d.l4 - d.ip_start) // 4, d.proto in (6, 17) and d.dport != 0] += 1
        if d.family == 6:
            facts["ext", d.ext_headers, d.proto] += 1
        if d.family == 4 and struct.unpack_from("!H", frame, d.ip_start + 2)[0] < 20:
            facts["v4-iplen<20"] += 1
    # Tags: none, one of each TPID, two (802.1ad then 802.1Q, and 802.1Q twice).
    for family in (4, 6):
        for tags in ((0, None), (1, 0x8100), (1, 0x88A8), (2, 0x88A8), (2, 0x8100)):
            assert facts["tags", family, tags] > 0, (family, tags)
    # Every protocol with a whole header in both families; ports from all five.
    for family in (4, 6):
        for proto in (6, 17, 136, 132, 33, 1, 58):
            assert facts["whole", family, proto] > 0, (family, proto)
        for proto in FM.PORT_PROTOS:
            assert facts["ports", family, proto] > 0, (family, proto)
        for proto in (50, 51, 47, 253):
            assert facts["proto", family, proto] > 0, (family, proto)
        # First-fragment fields came from frag-first frames (whole above);
        # later fragments of TCP, UDP and ICMP.
        for proto in (6, 17, 1 if family == 4 else 58):
            assert facts["later", family, proto] > 0, (family, proto)
        # TCP cut at every byte 0..14, by the frame's end and by the IP length.
        for how in ("frame", "iplen"):
            for k in range(15):
                assert facts["tcp-cut", family, how, k] > 0, (family, how, k)
    for flags in (0x02, 0x12, 0x10, 0x11, 0x04, 0x18, 0xFF, 0x00):
        assert facts["flags", flags] > 0, hex(flags)
    for family, proto, dport in ((4, 1, 0x0800), (4, 1, 0x0000), (6, 58, 0x8000), (6, 58, 0x8100),
                                 (6, 1, 0x0800), (4, 58, 0x8000)):
        assert facts["icmp", family, proto, dport] > 0, (family, proto, dport)
    assert all(facts["icmp", 4, 1, 0x0300 + c] > 0 for c in range(16))
    assert all(facts["icmp", 6, 58, 0x0100 + c] > 0 for c in range(8))
    for words in range(6, 16):
        assert facts["ihl", words, True] > 0, words
    # Chains: 0..6 headers walked to TCP/UDP; past the bound, each type.
    for n in range(7):
        assert facts["ext", n, 6] > 0 and facts["ext", n, 17] > 0, n
    for kind in (0, 43, 44, 60):
        assert facts["ext", 6, kind] > 0, kind
    assert facts["v4-iplen<20"] >= 4
    assert facts["other"] >= 8


@pytest.mark.parametrize("mode", FIELD_MODES, ids=list(FIELD_MODES))
def test_generated_shares_keys(mode):
    """In every mode some key holds several frames, and some key holds frames
    that differ in a field it does not name."""
    gen = list(generated())
    m = FM.count(gen, **FIELD_MODES[mode])
    assert max(c["packets"] for c in m["sources"].values()) > 1
    full = FM.count(gen, key="src,dst,proto,sport,dport,tcpflags", vlan=True)
    assert len(m["sources"]) < len(full["sources"])


def test_generated_family_splits_keys():
    """The same proto and dport in IPv4 and IPv6 makes two keys."""
    m = FM.count(list(generated()), key="proto,dport")
    pairs = collections.Counter((k.proto, k.dport) for k in m["sources"])
    assert pairs[(6, 443)] == 2 and pairs[(17, 53)] == 2
