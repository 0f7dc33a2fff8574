"""An independent model of xdptop's key fields: what it counts, and how it
reports it, for --key with any of src, dst, proto, sport, dport, tcpflags,
with --prefix4, --prefix6 and --vlan.

Standard library only; shares no code with xdptop (nothing from src/). The
link and network layers are tests/keymodel.py's (read_pcap, parse,
key_text): a frame is IPv4, IPv6 or "other" exactly as there. The rest is
written line by line from the rules:

limit, the end of what may be read:
    IPv4: min(end of frame, ip_start + total_length)
    IPv6: min(end of frame, ip_start + 40 + payload_length)
    no byte at or past limit is read. (The fixed header - 20 bytes of IPv4,
    40 of IPv6 - is always there, keymodel.parse saw to that, and its fields
    are read whatever the lengths say: a small limit only hides what follows
    it.)

proto:
    IPv4: the Protocol field; a later fragment ((flags_fragoffset & 0x1FFF)
    != 0) keeps it, with every L4 field 0. The L4 header is at
    ip_start + IHL*4.
    IPv6: nh = the fixed header's Next Header, off = ip_start + 40; up to 6
    times: stop if nh is not 0, 43, 44 or 60; stop if off+2 > limit; next =
    byte[off]; a fragment header (44) is 8 bytes, and a LATER fragment if
    off+4 <= limit and u16[off+2] & 0xFFF8 != 0: then proto = next, no L4
    fields, stop; the others are (byte[off+1]+1)*8 bytes; nh = next, off +=
    the length. Then proto = nh, and the L4 header is at off.

L4 fields (0 unless said otherwise; none at all for a later fragment):
    6, 17, 136, 132, 33: sport = u16[l4] if l4+2 <= limit; dport = u16[l4+2]
                         if l4+4 <= limit
    1, 58 (either IP):   dport = type*256 + code if l4+2 <= limit
    6:                   tcpflags = byte[l4+13] if l4+14 <= limit

A key holds only the fields --key names, and always the family; src and dst
are cut to --prefix4/--prefix6 (host bits zero), VLAN ids are the key's with
--vlan, as in keymodel.
"""
import ipaddress
import struct
from collections import namedtuple

import keymodel

FIELDS = ("src", "dst", "proto", "sport", "dport", "tcpflags")
NUMBERS = ("proto", "sport", "dport", "tcpflags")

HOP_BY_HOP, ROUTING, FRAGMENT, DSTOPTS = 0, 43, 44, 60
EXTENSION_HEADERS = (HOP_BY_HOP, ROUTING, FRAGMENT, DSTOPTS)
MAX_EXTENSION_HEADERS = 6
PORT_PROTOS = (6, 17, 136, 132, 33)     # TCP, UDP, UDP-Lite, SCTP, DCCP
ICMP_PROTOS = (1, 58)                   # ICMP, ICMPv6
TCP = 6


def u16(frame, off):
    return struct.unpack_from("!H", frame, off)[0]


# What the rules find in one IP frame; fields() gives its public part.
# ext_headers: how many IPv6 extension headers were walked over (0 for IPv4);
# later_fragment: the frame is a fragment other than the first, L4 fields 0.
Dissection = namedtuple("Dissection", "family src dst vlans ip_start limit proto l4 "
                                      "later_fragment ext_headers sport dport tcpflags")


def dissect(frame):
    """The rules applied to frame: a Dissection, or None for "other"."""
    parsed_src = keymodel.parse(frame)
    if parsed_src is None:
        return None
    family, src, vlans = parsed_src
    _, dst, _ = keymodel.parse(frame, dst=True)
    ip_start = 14 + 4 * len(vlans)
    later_fragment = False
    ext_headers = 0

    if family == 4:
        total_length = u16(frame, ip_start + 2)
        limit = min(len(frame), ip_start + total_length)
    else:
        payload_length = u16(frame, ip_start + 4)
        limit = min(len(frame), ip_start + 40 + payload_length)
    # Past the fixed header every byte is read from inside the limit only: a
    # read at or past it fails (IndexError, struct.error), it does not
    # quietly see the bytes that follow.
    inside = frame[:limit]

    if family == 4:
        ihl = frame[ip_start] & 0x0F
        proto = frame[ip_start + 9]
        flags_fragoffset = u16(frame, ip_start + 6)
        if flags_fragoffset & 0x1FFF != 0:
            later_fragment = True
        l4 = ip_start + ihl * 4
    else:
        nh = frame[ip_start + 6]
        off = ip_start + 40
        for _ in range(MAX_EXTENSION_HEADERS):
            if nh not in EXTENSION_HEADERS:
                break
            if off + 2 > limit:
                break
            next_header = inside[off]
            if nh == FRAGMENT:
                if off + 4 <= limit and u16(inside, off + 2) & 0xFFF8 != 0:
                    later_fragment = True
                    nh = next_header
                    ext_headers += 1
                    break
                length = 8
            else:
                length = (inside[off + 1] + 1) * 8
            nh = next_header
            off += length
            ext_headers += 1
        proto = nh
        l4 = off

    sport = dport = tcpflags = 0
    if not later_fragment:
        if proto in PORT_PROTOS:
            if l4 + 2 <= limit:
                sport = u16(inside, l4)
            if l4 + 4 <= limit:
                dport = u16(inside, l4 + 2)
        elif proto in ICMP_PROTOS:
            if l4 + 2 <= limit:
                dport = inside[l4] * 256 + inside[l4 + 1]
        if proto == TCP and l4 + 14 <= limit:
            tcpflags = inside[l4 + 13]
    return Dissection(family, src, dst, vlans, ip_start, limit, proto, l4, later_fragment,
                      ext_headers, sport, dport, tcpflags)


def fields(frame):
    """A frame's key fields: {"family", "src", "dst" (address bytes), "vlans"
    (ids, outermost first), "proto", "sport", "dport", "tcpflags"}, or None
    for a frame that is not keyed ("other")."""
    d = dissect(frame)
    if d is None:
        return None
    return {"family": d.family, "src": d.src, "dst": d.dst, "vlans": d.vlans,
            "proto": d.proto, "sport": d.sport, "dport": d.dport, "tcpflags": d.tcpflags}


# ---------------------------------------------------------------- keys

# One key: the family always; vlans () without --vlan; src and dst the
# address bytes cut to the prefix; a field the key does not name is None.
Key = namedtuple("Key", "family vlans src dst proto sport dport tcpflags")


def key_fields(key):
    """The field names of a --key value ("src,proto" or a sequence), checked,
    in the order of FIELDS."""
    names = key.split(",") if isinstance(key, str) else list(key)
    if not names or len(set(names)) != len(names) or not set(names) <= set(FIELDS):
        raise ValueError(f"bad key {key!r}")
    return tuple(f for f in FIELDS if f in names)


def is_single_address(key):
    return key_fields(key) in (("src",), ("dst",))


def cut(family, addr, prefix4=32, prefix6=128):
    """The address bytes with the host bits past the family's prefix zeroed."""
    length = prefix4 if family == 4 else prefix6
    return ipaddress.ip_network((addr, length), strict=False).network_address.packed


def make_key(f, names, prefix4=32, prefix6=128, vlan=False):
    """The Key of a frame's fields f under the named fields."""
    return Key(family=f["family"],
               vlans=f["vlans"] if vlan else (),
               src=cut(f["family"], f["src"], prefix4, prefix6) if "src" in names else None,
               dst=cut(f["family"], f["dst"], prefix4, prefix6) if "dst" in names else None,
               proto=f["proto"] if "proto" in names else None,
               sport=f["sport"] if "sport" in names else None,
               dport=f["dport"] if "dport" in names else None,
               tcpflags=f["tcpflags"] if "tcpflags" in names else None)


def count(frames, key=("src",), prefix4=32, prefix6=128, vlan=False):
    """What xdptop counts for frames: {"sources": {Key: {"packets", "bytes"}},
    "other", "total", "mode"}. Bytes are the frames' lengths as captured."""
    names = key_fields(key)
    sources = {}
    other = {"packets": 0, "bytes": 0}
    total = {"packets": 0, "bytes": 0}
    for frame in frames:
        n = len(frame)
        total["packets"] += 1
        total["bytes"] += n
        f = fields(frame)
        if f is None:
            other["packets"] += 1
            other["bytes"] += n
            continue
        k = make_key(f, names, prefix4, prefix6, vlan)
        c = sources.setdefault(k, {"packets": 0, "bytes": 0})
        c["packets"] += 1
        c["bytes"] += n
    mode = {"key": names, "prefix4": prefix4, "prefix6": prefix6, "vlan": vlan}
    return {"sources": sources, "other": other, "total": total, "mode": mode}


def count_pcap(path, **mode):
    return count(keymodel.read_pcap(path), **mode)


def key_order(k):
    """Key order: family (4 before 6); untagged before tagged, then the VLAN
    ids outermost first; src bytes, dst bytes, proto, sport, dport, tcpflags,
    ascending. A field the key does not name is None in every key of a
    model, so it never decides: it stands as b"" or 0 here."""
    return (k.family, len(k.vlans), k.vlans,
            b"" if k.src is None else k.src,
            b"" if k.dst is None else k.dst,
            0 if k.proto is None else k.proto,
            0 if k.sport is None else k.sport,
            0 if k.dport is None else k.dport,
            0 if k.tcpflags is None else k.tcpflags)


def ranked(model):
    """[(Key, counts)] as a whole-run report ranks them (one report: its
    pps are its packets over the interval): packets, then bytes, descending,
    then key order."""
    def rank(item):
        k, c = item
        return (-c["packets"], -c["bytes"], key_order(k))
    return sorted(model["sources"].items(), key=rank)


def key_object(k, c, mode):
    """The JSON object xdptop writes for key k with counts c, less its rates
    (pps, bps)."""
    names, prefix4, prefix6 = mode["key"], mode["prefix4"], mode["prefix6"]
    obj = {}
    if names in (("src",), ("dst",)):
        addr = k.src if names == ("src",) else k.dst
        obj["address"] = keymodel.key_text(k.family, addr, prefix4, prefix6)
    else:
        for name in names:
            value = getattr(k, name)
            if name in ("src", "dst"):
                obj[name] = keymodel.key_text(k.family, value, prefix4, prefix6)
            else:
                obj[name] = value
        if "src" not in names and "dst" not in names:
            obj["family"] = k.family
    if mode["vlan"]:
        obj["vlan"] = list(k.vlans)
    obj["packets"] = c["packets"]
    obj["bytes"] = c["bytes"]
    return obj


def json_sources(model):
    """The report's "sources" as xdptop writes them (less pps and bps), in
    rank order."""
    return [key_object(k, c, model["mode"]) for k, c in ranked(model)]
