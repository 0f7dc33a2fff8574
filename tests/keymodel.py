"""An independent model of what xdptop counts in a capture, for every key
mode: source or destination address, IPv4 and IPv6 prefixes, with or
without VLAN ids.

Shares no code with xdptop (nothing from src/, no conftest helper): it reads
the pcap file with struct and applies the counting rule of
tests/data/README.md on its own:

    skip up to two VLAN tags (TPID 0x8100 or 0x88A8); then EtherType 0x0800
    with >= 20 bytes left, version 4 and IHL >= 5 is IPv4; 0x86DD with >= 40
    bytes left and version 6 is IPv6; anything else is "other". Bytes are
    the frame's length as captured.

Keys are named as xdptop names them: an address in canonical text
(ipaddress), or "a.b.c.d/len" / "2001:db8::/len" with the host bits zeroed
when the prefix is shorter than the family's whole address; with --vlan a
key is (text, VLAN ids outermost first), the ids being the TCI's low 12 bits.
"""
import ipaddress
import struct

LINKTYPE_ETHERNET = 1
VLAN_TPIDS = (0x8100, 0x88A8)

# magic as read little-endian -> (byte order, nanosecond timestamps)
_MAGICS = {0xA1B2C3D4: ("<", False), 0xD4C3B2A1: (">", False),
           0xA1B23C4D: ("<", True), 0x4D3CB2A1: (">", True)}


def read_pcap(path):
    """The frames of a classic pcap file (Ethernet link type), as captured."""
    data = open(path, "rb").read()
    if len(data) < 24:
        raise ValueError(f"{path}: no pcap global header")
    magic = struct.unpack_from("<I", data, 0)[0]
    if magic not in _MAGICS:
        raise ValueError(f"{path}: not a pcap file (magic {magic:#x})")
    order, _ = _MAGICS[magic]
    _major, _minor, _zone, _sigfigs, _snaplen, linktype = struct.unpack_from(
        order + "HHiIII", data, 4)
    if linktype & 0xFFFF != LINKTYPE_ETHERNET:
        raise ValueError(f"{path}: link type {linktype}, not Ethernet")
    frames = []
    pos = 24
    while pos < len(data):
        if pos + 16 > len(data):
            raise ValueError(f"{path}: truncated record header at {pos}")
        _sec, _frac, caplen, _origlen = struct.unpack_from(order + "IIII", data, pos)
        pos += 16
        if pos + caplen > len(data):
            raise ValueError(f"{path}: truncated record at {pos}")
        frames.append(data[pos:pos + caplen])
        pos += caplen
    return frames


def parse(frame, dst=False):
    """(version, address bytes, VLAN ids) of a frame, or None for "other"."""
    if len(frame) < 14:
        return None
    ethertype = struct.unpack_from("!H", frame, 12)[0]
    pos = 14
    vlans = []
    while ethertype in VLAN_TPIDS and len(vlans) < 2:
        if pos + 4 > len(frame):
            return None
        tci, ethertype = struct.unpack_from("!HH", frame, pos)
        vlans.append(tci & 0x0FFF)
        pos += 4
    left = len(frame) - pos
    if ethertype == 0x0800 and left >= 20:
        first = frame[pos]
        if first >> 4 == 4 and first & 0x0F >= 5:
            off = pos + (16 if dst else 12)
            return 4, bytes(frame[off:off + 4]), tuple(vlans)
    elif ethertype == 0x86DD and left >= 40:
        if frame[pos] >> 4 == 6:
            off = pos + (24 if dst else 8)
            return 6, bytes(frame[off:off + 16]), tuple(vlans)
    return None


def key_text(version, addr, prefix4=32, prefix6=128):
    """xdptop's text for addr cut to the family's prefix length."""
    full = 32 if version == 4 else 128
    length = prefix4 if version == 4 else prefix6
    if not 1 <= length <= full:
        raise ValueError(f"prefix /{length} for IPv{version}")
    if length == full:
        return str(ipaddress.ip_address(addr))
    return str(ipaddress.ip_network((addr, length), strict=False))


def _sort_key(item):
    """Key order: family (IPv4 first), untagged before tagged, VLAN ids
    outermost first, then the address bytes (of the prefix)."""
    (text, vlans), _ = item
    net = ipaddress.ip_network(text, strict=True) if "/" in text else ipaddress.ip_address(text)
    packed = net.network_address.packed if "/" in text else net.packed
    return (4 if len(packed) == 4 else 6, len(vlans), vlans, packed)


def count(frames, key="src", prefix4=32, prefix6=128, vlan=False):
    """What xdptop reports for frames: {"sources": {(text, vlans): {"packets",
    "bytes"}}, "other", "total"}; vlans is () without --vlan."""
    sources = {}
    other = {"packets": 0, "bytes": 0}
    total = {"packets": 0, "bytes": 0}
    for frame in frames:
        n = len(frame)
        total["packets"] += 1
        total["bytes"] += n
        parsed = parse(frame, dst=(key == "dst"))
        if parsed is None:
            other["packets"] += 1
            other["bytes"] += n
            continue
        version, addr, vlans = parsed
        k = (key_text(version, addr, prefix4, prefix6), vlans if vlan else ())
        c = sources.setdefault(k, {"packets": 0, "bytes": 0})
        c["packets"] += 1
        c["bytes"] += n
    return {"sources": sources, "other": other, "total": total}


def count_pcap(path, **mode):
    return count(read_pcap(path), **mode)


def as_expected(model):
    """A source-keyed model (no VLANs) in the shape of NAME.expected.json."""
    assert all(vlans == () for _, vlans in model["sources"])
    return {"sources": {text: dict(c) for (text, _), c in model["sources"].items()},
            "other": dict(model["other"]), "total": dict(model["total"])}


def ranked(model):
    """The keys as a whole-run report ranks them by default (pps: with one
    report, the interval's packets are the cumulative ones): packets, then
    bytes, descending, then key order."""
    def rank(item):
        (text, vlans), c = item
        return (-c["packets"], -c["bytes"], _sort_key(item))
    return sorted(model["sources"].items(), key=rank)


def has_vlan_tags(frames):
    """Whether any frame carries at least one VLAN tag (TPID 0x8100/0x88A8)."""
    return any(len(f) >= 14 and struct.unpack_from("!H", f, 12)[0] in VLAN_TPIDS
               for f in frames)
