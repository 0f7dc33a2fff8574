"""Generated frames for xdptop's key fields (--key src,dst,proto,sport,dport,
tcpflags): every rule of tests/fieldmodel.py, in IPv4 and IPv6, untagged,
802.1Q, 802.1ad and QinQ.

Deterministic (no randomness, no clock), standard library only: the frames
are put together byte by byte with struct, so that a length field can lie,
a header can be cut anywhere and a chain can go past the walk's bound.
Addresses only from 198.18.0.0/15 and 2001:db8::/32; every frame is 14 to
1514 bytes. TCP, UDP, SCTP and DCCP checksums are left 0 (nothing here
checks them: not xdptop, not tshark as the tests run it); the IPv4 header and
ICMP checksums are right.

frames() gives [Frame(labels, data)]: labels name what a frame exercises
(test_fieldmodel.py counts them, and checks them against what the model
finds in the bytes); write_pcap() writes the frames to a classic pcap file.
"""
import ipaddress
import struct
from collections import namedtuple

Frame = namedtuple("Frame", "labels data")

MAC_DST = bytes.fromhex("02005e00000b")
MAC_SRC = bytes.fromhex("02005e00000a")
Q, AD = 0x8100, 0x88A8

# Tag stacks, outermost first: [(TPID, TCI)].
UNTAGGED = ()
DOT1Q = ((Q, 10),)
DOT1AD = ((AD, 20),)
QINQ = ((AD, 20), (Q, 10))
QQ = ((Q, 0x2000 | 30), (Q, 40))            # two 802.1Q tags, PCP 1 on the outer
TAGS = {"untagged": UNTAGGED, "dot1q": DOT1Q, "dot1ad": DOT1AD, "qinq": QINQ, "qq": QQ}
TAG_CYCLE = ("untagged", "dot1q", "qinq", "dot1ad", "qq")

ETH_IPV4, ETH_IPV6, ETH_ARP = 0x0800, 0x86DD, 0x0806
HOP_BY_HOP, ROUTING, FRAGMENT, DSTOPTS = 0, 43, 44, 60
EXT_NAMES = {HOP_BY_HOP: "hopbyhop", ROUTING: "routing", FRAGMENT: "fragment",
             DSTOPTS: "dstopts"}
ICMP, TCP, UDP, DCCP, ESP, AH, ICMPV6, SCTP, UDPLITE = 1, 6, 17, 33, 50, 51, 58, 132, 136

FILL = 0xEE         # the bytes past a lying IP length: read, they would show
MAX_FRAME = 1514


# ---------------------------------------------------------------- building blocks

def addr(text):
    return ipaddress.ip_address(text).packed


def v4(n):
    """The n-th IPv4 source and destination (198.18.0.0/15)."""
    return f"198.18.{n // 250}.{n % 250 + 1}", f"198.19.{n // 250}.{n % 250 + 1}"


def v6(n):
    """The n-th IPv6 source and destination (2001:db8::/32)."""
    return f"2001:db8:1::{n + 1:x}", f"2001:db8:2::{n + 1:x}"


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ether(ethertype, tags=UNTAGGED):
    out = MAC_DST + MAC_SRC
    for tpid, tci in tags:
        out += struct.pack("!HH", tpid, tci)
    return out + struct.pack("!H", ethertype)


def ipv4(src, dst, proto, payload=b"", *, total_length=None, options=b"", flags_frag=0,
         ident=1, ttl=64):
    """An IPv4 packet; total_length None: the true one."""
    assert len(options) % 4 == 0 and len(options) <= 40
    ihl = 5 + len(options) // 4
    if total_length is None:
        total_length = ihl * 4 + len(payload)
    header = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, total_length, ident, flags_frag, ttl,
                         proto, 0, addr(src), addr(dst)) + options
    header = header[:10] + struct.pack("!H", checksum(header)) + header[12:]
    return header + payload


def ipv6(src, dst, next_header, payload=b"", *, payload_length=None, hop_limit=64):
    """An IPv6 packet; payload_length None: the true one."""
    if payload_length is None:
        payload_length = len(payload)
    return struct.pack("!IHBB16s16s", 0x60000000, payload_length, next_header, hop_limit,
                       addr(src), addr(dst)) + payload


def ip(family, n, proto, payload=b"", **kw):
    """IPv4 or IPv6 from the n-th pair of addresses."""
    if family == 4:
        return ipv4(*v4(n), proto, payload, **kw)
    return ipv6(*v6(n), proto, payload, **kw)


def options_header(next_header, hdr_ext_len=0):
    """A hop-by-hop or destination options header of (hdr_ext_len+1)*8
    bytes, its options one PadN."""
    body = (hdr_ext_len + 1) * 8 - 2
    return bytes([next_header, hdr_ext_len, 1, body - 2]) + bytes(body - 2)


def routing_header(next_header, hdr_ext_len=0):
    """A routing header of (hdr_ext_len+1)*8 bytes: type 0 with segments left
    0, the rest zeros (its addresses, ::, when the length is even)."""
    return bytes([next_header, hdr_ext_len, 0, 0]) + bytes((hdr_ext_len + 1) * 8 - 4)


def fragment_header(next_header, offset=0, more=False, word=None, ident=0x12345678):
    """A fragment header: word (offset << 3 | reserved bits | M) given whole
    when not None."""
    if word is None:
        word = offset << 3 | (1 if more else 0)
    return struct.pack("!BBHI", next_header, 0, word, ident)


def ext_header(kind, next_header, hdr_ext_len=0):
    if kind == FRAGMENT:
        return fragment_header(next_header)
    if kind == ROUTING:
        return routing_header(next_header, hdr_ext_len)
    return options_header(next_header, hdr_ext_len)


def chain(kinds, upper, upper_bytes, lengths=None):
    """IPv6 extension headers of kinds (in order, hdr_ext_len from lengths),
    then upper_bytes of protocol upper: (first next header, bytes)."""
    lengths = lengths or [0] * len(kinds)
    out = upper_bytes
    nh = upper
    for kind, length in reversed(list(zip(kinds, lengths))):
        out = ext_header(kind, nh, length) + out
        nh = kind
    return nh, out


def tcp(sport, dport, flags=0x02, payload=b"", seq=1000, ack=0, ns=False):
    """A 20-byte TCP header (data offset 5; ns: the NS bit of byte 12)."""
    ack = ack if ack or not flags & 0x10 else 2000
    return struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 0x50 | (1 if ns else 0), flags,
                       65535, 0, 0) + payload


def udp(sport, dport, payload=b""):
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def udplite(sport, dport, payload=b""):
    """UDP-Lite: checksum coverage 0 (the whole datagram)."""
    return struct.pack("!HHHH", sport, dport, 0, 0) + payload


def sctp(sport, dport, vtag=0x01020304):
    """The common header and one ABORT chunk."""
    return struct.pack("!HHII", sport, dport, vtag, 0) + struct.pack("!BBH", 6, 0, 4)


def dccp(sport, dport):
    """A DCCP-Request: generic header with 48-bit sequence numbers, and the
    service code (data offset 5 words)."""
    return struct.pack("!HHBBHBBHI", sport, dport, 5, 0, 0, 0x01, 0, 0, 1) + \
        struct.pack("!I", 0)


def icmp(icmp_type, code, payload=b"", rest=0):
    """ICMP or ICMPv6 (the same first bytes). The checksum is summed without
    a pseudo-header: right for ICMP, not for ICMPv6 (nothing here checks
    it)."""
    msg = struct.pack("!BBHI", icmp_type, code, 0, rest) + payload
    return msg[:2] + struct.pack("!H", checksum(msg)) + msg[4:]


def frame(tags, ethertype, l3):
    data = ether(ethertype, tags) + l3
    assert 14 <= len(data) <= MAX_FRAME, len(data)
    return data


def l4_for(proto, family, k):
    """A whole L4 header of proto (the k-th of its kind: ports vary)."""
    if proto == TCP:
        return tcp(40000 + k, 80 + k % 3, 0x18, payload=b"GET / HTTP/1.0\r\n")
    if proto == UDP:
        return udp(41000 + k, 9 + k % 3, b"\x5a" * 12)
    if proto == UDPLITE:
        return udplite(42000 + k, 5000 + k, b"\x5a" * 12)
    if proto == SCTP:
        return sctp(2905 + k, 2944)
    if proto == DCCP:
        return dccp(43000 + k, 5001)
    if proto == ICMP:
        return icmp(8, 0, b"\x5a" * 8, rest=0x00010000 | k)
    if proto == ICMPV6:
        return icmp(128, 0, b"\x5a" * 8, rest=0x00010000 | k)
    raise ValueError(proto)


def quoted(family, n):
    """The start of a packet an ICMP error quotes: an IP header and 8 bytes
    of UDP (the error must not be keyed on it)."""
    inner = udp(33434, 33435, b"")
    if family == 4:
        return ipv4(*reversed(v4(n)), UDP, inner, total_length=60)
    return ipv6(*reversed(v6(n)), UDP, inner, payload_length=40)


# ---------------------------------------------------------------- the frames

class Frames:
    def __init__(self):
        self.out = []
        self.n = 0          # the address pair of the next frame

    def add(self, labels, tags, family, l3):
        ethertype = ETH_IPV4 if family == 4 else ETH_IPV6
        tag_label = next(k for k, v in TAGS.items() if v == tags)
        self.out.append(Frame(frozenset(labels) | {f"v{family}", tag_label},
                              frame(tags, ethertype, l3)))

    def other(self, labels, data):
        assert 14 <= len(data) <= MAX_FRAME
        self.out.append(Frame(frozenset(labels) | {"other"}, data))

    def pair(self):
        self.n += 1
        return self.n

    def cycle_tags(self):
        return TAGS[TAG_CYCLE[len(self.out) % len(TAG_CYCLE)]]


def basics(g):
    """TCP, UDP and ICMP in each family under each tag stack."""
    for tag_name, tags in TAGS.items():
        for family in (4, 6):
            n = g.pair()
            g.add({"tcp", "basic"}, tags, family, ip(family, n, TCP, tcp(40000 + n, 443, 0x02)))
            g.add({"udp", "basic"}, tags, family,
                  ip(family, n, UDP, udp(40000 + n, 53, b"\0" * 12)))
            proto = ICMP if family == 4 else ICMPV6
            g.add({"icmp" if family == 4 else "icmpv6", "basic"}, tags, family,
                  ip(family, n, proto, icmp(8 if family == 4 else 128, 0, b"\x5a" * 8)))


TCP_FLAGS = {"S": 0x02, "SA": 0x12, "A": 0x10, "FA": 0x11, "R": 0x04, "PA": 0x18, "RA": 0x14,
             "all": 0xFF, "none": 0x00, "F": 0x01, "P": 0x08, "U": 0x20, "E": 0x40, "C": 0x80,
             "SEC": 0xC2, "FPU": 0x29}


def tcp_flags(g):
    for name, flags in TCP_FLAGS.items():
        for family in (4, 6):
            g.add({"tcp", f"flags-{name}"}, g.cycle_tags(), family,
                  ip(family, g.pair(), TCP, tcp(45000, 8080, flags)))
    for family in (4, 6):   # NS (byte 12) is not one of the 8 flags of byte 13
        g.add({"tcp", "flags-ns"}, UNTAGGED, family,
              ip(family, g.pair(), TCP, tcp(45001, 8080, 0x12, ns=True)))


ICMP4_TYPES = [(8, 0), (0, 0), *[(3, c) for c in range(16)], (11, 0), (11, 1), (5, 1), (13, 0),
               (255, 255)]
ICMP6_TYPES = [(128, 0), (129, 0), *[(1, c) for c in range(8)], (2, 0), (3, 0), (3, 1), (4, 0),
               (133, 0), (134, 0), (135, 0), (136, 0), (255, 255)]


def icmps(g):
    for family, proto, types, label in ((4, ICMP, ICMP4_TYPES, "icmp"),
                                        (6, ICMPV6, ICMP6_TYPES, "icmpv6")):
        for t, c in types:
            n = g.pair()
            error = t in ((3, 11, 5) if family == 4 else (1, 2, 3, 4))
            body = quoted(family, n) if error else b"\x5a" * 8
            kind = {(8, 0): "echo-request", (0, 0): "echo-reply", (128, 0): "echo-request",
                    (129, 0): "echo-reply"}.get((t, c), "unreachable" if t == (3 if family == 4
                                                                             else 1) else "other")
            g.add({label, f"{label}-{kind}"}, g.cycle_tags(), family,
                  ip(family, n, proto, icmp(t, c, body)))
    # Either ICMP in either IP: proto 1 in IPv6, 58 in IPv4.
    for t, c in ((8, 0), (3, 3)):
        g.add({"icmp", "icmp-in-v6"}, UNTAGGED, 6, ip(6, g.pair(), ICMP, icmp(t, c, b"\x5a" * 8)))
    for t, c in ((128, 0), (1, 4)):
        g.add({"icmpv6", "icmpv6-in-v4"}, UNTAGGED, 4,
              ip(4, g.pair(), ICMPV6, icmp(t, c, b"\x5a" * 8)))


def more_protocols(g):
    """SCTP, UDP-Lite, DCCP (ports); ESP, AH and others (no ports)."""
    for family in (4, 6):
        for k in range(3):
            for proto, label in ((SCTP, "sctp"), (UDPLITE, "udplite"), (DCCP, "dccp")):
                g.add({label}, g.cycle_tags(), family,
                      ip(family, g.pair(), proto, l4_for(proto, family, k)))
        esp = struct.pack("!II", 0x1000, 1) + b"\x5a" * 24
        g.add({"esp"}, UNTAGGED, family, ip(family, g.pair(), ESP, esp))
        # AH (4 words after the first 2: 24 bytes) before a TCP header.
        ah = struct.pack("!BBHII", TCP, 4, 0, 0x2000, 1) + bytes(12)
        g.add({"ah"}, UNTAGGED, family, ip(family, g.pair(), AH, ah + tcp(40100, 22, 0x02)))
        for proto in (47, 89, 99, 253, 254, 255, 0, 43, 44, 60, 59, 41, 4):
            if family == 4 and proto == 0:
                label = "v4-proto-0"
            elif family == 6 and proto in (0, 43, 44, 60):
                continue            # extension headers: their own section
            else:
                label = "unknown-proto"
            # The payload looks like ports: none may be read.
            g.add({label, f"proto-{proto}"}, UNTAGGED, family,
                  ip(family, g.pair(), proto, tcp(40200, 23, 0x02)))


def ipv4_options(g):
    """IHL 6 to 15, with TCP and UDP behind the options."""
    for words in range(1, 11):
        if words % 2:       # router alert, then NOPs
            options = bytes([148, 4, 0, 0]) + b"\x01" * (words * 4 - 4)
        else:               # NOPs, then end of options
            options = b"\x01" * (words * 4 - 1) + b"\x00"
        for proto in (TCP, UDP):
            n = g.pair()
            g.add({"ipv4-options", f"ihl-{5 + words}", "tcp" if proto == TCP else "udp"},
                  g.cycle_tags(), 4, ip(4, n, proto, l4_for(proto, 4, n), options=options))
    # The options run past the frame / past total_length: no L4 fields.
    options = b"\x01" * 39 + b"\x00"
    g.add({"ipv4-options", "ihl-15", "tcp", "cut-in-options"}, UNTAGGED, 4,
          ip(4, g.pair(), TCP, b"", options=options)[:20 + 24])
    g.add({"ipv4-options", "ihl-6", "tcp", "iplen-in-options"}, UNTAGGED, 4,
          ip(4, g.pair(), TCP, tcp(40300, 25, 0x02), options=b"\x01\x01\x01\x00",
             total_length=22))


def extension_chains(g):
    """Chains of 0 to 8 headers of each type, mixed chains, and lengths."""
    for kind in (HOP_BY_HOP, ROUTING, FRAGMENT, DSTOPTS):
        for count in range(9):
            for upper in (TCP, UDP):
                n = g.pair()
                nh, payload = chain([kind] * count, upper, l4_for(upper, 6, n))
                labels = {f"ext-{EXT_NAMES[kind]}-{count}", f"ext-count-{count}",
                          "tcp" if upper == TCP else "udp"}
                if count > 6:
                    labels.add("ext-past-bound")
                g.add(labels, g.cycle_tags(), 6, ip(6, n, nh, payload))
    mixed = [
        ([HOP_BY_HOP, DSTOPTS, ROUTING, FRAGMENT, DSTOPTS], TCP),
        ([HOP_BY_HOP, ROUTING, FRAGMENT, DSTOPTS, DSTOPTS, ROUTING], UDP),
        ([HOP_BY_HOP, ROUTING, ROUTING, FRAGMENT, DSTOPTS, DSTOPTS], ICMPV6),
        ([HOP_BY_HOP, ROUTING, FRAGMENT, DSTOPTS, DSTOPTS, ROUTING, DSTOPTS], TCP),
        ([DSTOPTS, ROUTING, FRAGMENT, DSTOPTS, HOP_BY_HOP, ROUTING, FRAGMENT], UDP),
        ([HOP_BY_HOP, DSTOPTS], SCTP),
        ([ROUTING], DCCP),
        ([FRAGMENT], UDPLITE),
        ([HOP_BY_HOP] * 6, ESP),
        ([DSTOPTS] * 5, AH),
        ([HOP_BY_HOP, DSTOPTS], 59),
    ]
    for kinds, upper in mixed:
        n = g.pair()
        upper_bytes = l4_for(upper, 6, n) if upper in (TCP, UDP, ICMPV6, SCTP, DCCP, UDPLITE) \
            else b"\x5a" * 24
        nh, payload = chain(kinds, upper, upper_bytes)
        labels = {"ext-mixed", f"ext-count-{len(kinds)}"}
        if len(kinds) > 6:
            labels.add("ext-past-bound")
        g.add(labels, g.cycle_tags(), 6, ip(6, n, nh, payload))
    # Lengths: one header of each kind but the fragment, hdr_ext_len 0 to 31.
    for kind in (HOP_BY_HOP, ROUTING, DSTOPTS):
        for length in (0, 1, 2, 3, 7, 31):
            n = g.pair()
            nh, payload = chain([kind], TCP, tcp(40400 + length, 179, 0x12), [length])
            g.add({"ext-length", f"ext-{EXT_NAMES[kind]}-len-{length}", "tcp"}, g.cycle_tags(),
                  6, ip(6, n, nh, payload))
        n = g.pair()
        nh, payload = chain([kind, kind, kind], UDP, udp(40500, 500, b"\x5a" * 4), [1, 4, 2])
        g.add({"ext-length", "udp"}, g.cycle_tags(), 6, ip(6, n, nh, payload))


def fragments(g):
    """First and later fragments of TCP, UDP and ICMP in both families."""
    for family in (4, 6):
        for proto in (TCP, UDP, ICMP if family == 4 else ICMPV6):
            name = {TCP: "tcp", UDP: "udp", ICMP: "icmp", ICMPV6: "icmpv6"}[proto]
            whole = l4_for(proto, family, 7) + b"\x5a" * 32
            if family == 4:
                # MF with offset 0: the first fragment.
                g.add({name, "frag-first"}, g.cycle_tags(), 4,
                      ip(4, g.pair(), proto, whole, flags_frag=0x2000))
                # Later: offset 185 with MF, the last (offset 185, no MF), offset 1.
                for ff in (0x2000 | 185, 185, 1, 0x1FFF, 0x4000 | 3):
                    g.add({name, "frag-later"}, g.cycle_tags(), 4,
                          ip(4, g.pair(), proto, whole, flags_frag=ff))
                # DF, and the reserved bit: not fragments at all.
                for ff in (0x4000, 0x8000, 0xE000):
                    g.add({name, "frag-flags-only"}, g.cycle_tags(), 4,
                          ip(4, g.pair(), proto, whole, flags_frag=ff))
            else:
                g.add({name, "frag-first"}, g.cycle_tags(), 6,
                      ip(6, g.pair(), FRAGMENT, fragment_header(proto, 0, True) + whole))
                for offset, more in ((185, True), (185, False), (1, True), (8191, False)):
                    g.add({name, "frag-later"}, g.cycle_tags(), 6,
                          ip(6, g.pair(), FRAGMENT, fragment_header(proto, offset, more) + whole))
                # Only the reserved bits (and M) set: offset 0, the first fragment.
                g.add({name, "frag-first", "frag-reserved-bits"}, g.cycle_tags(), 6,
                      ip(6, g.pair(), FRAGMENT, fragment_header(proto, word=0x0007) + whole))
                # After a hop-by-hop header, and after routing + destination options.
                for kinds in ([HOP_BY_HOP], [ROUTING, DSTOPTS]):
                    for offset in (0, 100):
                        nh, rest = chain(kinds, FRAGMENT, fragment_header(proto, offset, True)
                                         + whole)
                        g.add({name, "frag-first" if offset == 0 else "frag-later",
                               "frag-after-ext"}, g.cycle_tags(), 6, ip(6, g.pair(), nh, rest))
    # A later IPv6 fragment whose next header is an extension header: its
    # type is the proto, the walk stops there.
    g.add({"frag-later", "frag-later-next-ext"}, UNTAGGED, 6,
          ip(6, g.pair(), FRAGMENT, fragment_header(DSTOPTS, 64, True) +
             options_header(TCP) + tcp(1, 2, 0x02)))
    # The fragment header cut: 2 or 3 bytes of it (frame end or payload
    # length), its offset word (non-zero) unread or half read: not later.
    for keep in (2, 3):
        whole = fragment_header(TCP, 200, True) + tcp(40600, 80, 0x02)
        g.add({"frag-cut", "cut-frame"}, UNTAGGED, 6, ip(6, g.pair(), FRAGMENT, whole)[:40 + keep])
        g.add({"frag-cut", "cut-iplen"}, UNTAGGED, 6,
              ip(6, g.pair(), FRAGMENT, whole, payload_length=keep))


CUT_LENGTHS = {TCP: 21, UDP: 9, ICMP: 5, ICMPV6: 5, SCTP: 5, UDPLITE: 5, DCCP: 5}
PROTO_NAMES = {TCP: "tcp", UDP: "udp", ICMP: "icmp", ICMPV6: "icmpv6", SCTP: "sctp",
               UDPLITE: "udplite", DCCP: "dccp"}


def cut_l4(g):
    """L4 headers cut short after k bytes: by the frame's end (the IP
    length tells the whole packet), and by an IP length that says k while
    the whole header follows, and more (FILL bytes)."""
    for family in (4, 6):
        for proto, upto in CUT_LENGTHS.items():
            if proto == (ICMPV6 if family == 4 else ICMP):
                continue
            for k in range(upto):
                for tags in (UNTAGGED, QINQ):
                    n = g.pair()
                    l4 = l4_for(proto, family, n)
                    assert len(l4) >= k
                    whole = ip(family, n, proto, l4)
                    cut_frame = whole[:(20 if family == 4 else 40) + k]
                    g.add({PROTO_NAMES[proto], "cut-frame", f"cut-frame-{k}"}, tags, family,
                          cut_frame)
                    length = {"total_length": 20 + k} if family == 4 else {"payload_length": k}
                    g.add({PROTO_NAMES[proto], "cut-iplen", f"cut-iplen-{k}"}, tags, family,
                          ip(family, n, proto, l4 + bytes([FILL]) * 20, **length))
    # TCP behind IPv4 options and behind IPv6 extension headers, cut by the IP length.
    for k in range(15):
        n = g.pair()
        g.add({"tcp", "cut-iplen", "ipv4-options"}, UNTAGGED, 4,
              ip(4, n, TCP, tcp(40700, 80, 0xFF) + bytes([FILL]) * 8,
                 options=b"\x01" * 7 + b"\x00", total_length=28 + k))
        nh, payload = chain([HOP_BY_HOP, ROUTING], TCP, tcp(40700, 80, 0xFF) + bytes([FILL]) * 8)
        g.add({"tcp", "cut-iplen", "ext-cut-l4"}, UNTAGGED, 6,
              ip(6, n, nh, payload, payload_length=16 + k))
        g.add({"tcp", "cut-frame", "ext-cut-l4"}, QINQ, 6, ip(6, n, nh, payload)[:40 + 16 + k])
    # The IP lengths smaller than the header: the frame still counts.
    for tl in (0, 1, 9, 10, 19, 20):
        g.add({"tcp", "iplen-small"}, g.cycle_tags(), 4,
              ip(4, g.pair(), TCP, tcp(40800, 80, 0x02), total_length=tl))
    # An IP length longer than the frame: the frame's end is the limit.
    g.add({"tcp", "iplen-long"}, UNTAGGED, 4,
          ip(4, g.pair(), TCP, tcp(40801, 80, 0x02), total_length=1400))
    g.add({"tcp", "iplen-long"}, UNTAGGED, 6,
          ip(6, g.pair(), TCP, tcp(40801, 80, 0x02), payload_length=1400))


def cut_chains(g):
    """The IPv6 walk cut inside its extension headers, by the frame's end and
    by the payload length: at every byte of a hop-by-hop header of 16 bytes
    and a routing header of 8, before a TCP header."""
    for k in range(0, 16 + 8 + 1):
        n = g.pair()
        nh, payload = chain([HOP_BY_HOP, ROUTING], TCP, tcp(40900, 80, 0x02), [1, 0])
        g.add({"ext-cut", "cut-frame"}, g.cycle_tags(), 6, ip(6, n, nh, payload)[:40 + k])
        g.add({"ext-cut", "cut-iplen"}, g.cycle_tags(), 6,
              ip(6, n, nh, payload + bytes([FILL]) * 8, payload_length=k))
    # payload_length 0 with a TCP header behind it.
    g.add({"tcp", "iplen-small"}, UNTAGGED, 6,
          ip(6, g.pair(), TCP, tcp(40901, 80, 0x02), payload_length=0))


def shared_keys(g):
    """Frames that share keys: one flow of several frames; frames that
    differ only in the source port, or only in the flags; the same protocol
    and port in both families."""
    for family in (4, 6):
        n = g.pair()
        for size in (0, 10, 100, 1000, 10):
            g.add({"tcp", "shared-flow"}, UNTAGGED, family,
                  ip(family, n, TCP, tcp(40001, 443, 0x18, b"\x5a" * size)))
        for sport in range(50000, 50006):
            g.add({"udp", "shared-sport"}, DOT1Q, family,
                  ip(family, n, UDP, udp(sport, 53, b"\0" * 20)))
        for flags in (0x02, 0x12, 0x10, 0x10, 0x11):
            g.add({"tcp", "shared-flags"}, QINQ, family,
                  ip(family, n, TCP, tcp(40002, 443, flags)))
        for copy in range(3):
            g.add({"icmp" if family == 4 else "icmpv6", "shared-same"}, UNTAGGED, family,
                  ip(family, n, ICMP if family == 4 else ICMPV6, icmp(
                      8 if family == 4 else 128, 0, b"\x5a" * 40)))
    # One source to many destinations on one port.
    for i in range(4):
        g.add({"tcp", "shared-src"}, UNTAGGED, 4,
              ipv4("198.18.99.1", f"198.19.99.{i + 1}", TCP, tcp(40003 + i, 443, 0x02)))


def not_keyed(g):
    """Frames that are "other": not IP, or too short, or not the version."""
    arp = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, MAC_SRC, addr("198.18.200.1"),
                      bytes(6), addr("198.18.200.2"))
    g.other({"arp"}, ether(ETH_ARP) + arp)
    g.other({"arp"}, ether(ETH_ARP, DOT1Q) + arp)
    g.other({"ihl-4"}, ether(ETH_IPV4) + bytes([0x44]) + ipv4(*v4(1), TCP, tcp(1, 2))[1:])
    g.other({"version-5"}, ether(ETH_IPV4) + bytes([0x55]) + ipv4(*v4(1), TCP, tcp(1, 2))[1:])
    g.other({"v4-short"}, ether(ETH_IPV4) + ipv4(*v4(1), TCP)[:19])
    g.other({"v6-short"}, ether(ETH_IPV6) + ipv6(*v6(1), TCP)[:39])
    g.other({"v6-in-0800"}, ether(ETH_IPV4) + ipv6(*v6(1), TCP, tcp(1, 2)))
    g.other({"three-tags"},
            ether(ETH_IPV4, ((AD, 1), (Q, 2), (Q, 3))) + ipv4(*v4(1), TCP, tcp(1, 2)))
    g.other({"eth-only"}, ether(ETH_IPV4))
    g.other({"llc"}, MAC_DST + MAC_SRC + struct.pack("!H", 46) + b"\x42\x42\x03" + bytes(43))


def frames():
    """Every generated frame, in a fixed order: [Frame(labels, data)]."""
    g = Frames()
    for section in (basics, tcp_flags, icmps, more_protocols, ipv4_options, extension_chains,
                    fragments, cut_l4, cut_chains, shared_keys, not_keyed):
        section(g)
    return g.out


def write_pcap(path, frame_list):
    """A classic pcap file (microsecond timestamps, Ethernet) of the frames
    (bytes, or Frame); returns path."""
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    for i, f in enumerate(frame_list):
        data = f.data if isinstance(f, Frame) else f
        out.append(struct.pack("<IIII", 1700000000 + i // 1000, (i % 1000) * 1000, len(data),
                               len(data)) + data)
    with open(path, "wb") as fh:
        fh.write(b"".join(out))
    return path
