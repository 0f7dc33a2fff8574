"""End-to-end forgetting: --max-sources 1000 under a flood of 40,000
distinct sources, in chunks a few intervals apart. When new sources are
turned away, the idle ones give way exactly down to 750: the tracked sources
never drop below that once there (they once fell from 1,000 to almost none
when all were idle by the same one interval), and every report's identity
holds, the totals exact.

All traffic flows between the test's own namespaces, over a veth pair whose
both ends are inside them, from 198.18.0.0/15 only; tcpreplay sends each
chunk once.
"""
import ipaddress
import struct
import time

import pytest

import traffic as T
from conftest import check_identity, counts

MAX_SOURCES = 1000
TARGET = MAX_SOURCES // 4 * 3
FLOOD_SOURCES = 40_000
CHUNKS = 8
FRAME_LEN = 64
IP_OFFSET = T.ETH_HLEN


def ipv4_checksum(header):
    total = sum(struct.unpack(f"!{len(header) // 2}H", header))
    while total >> 16:
        total = (total & 0xffff) + (total >> 16)
    return ~total & 0xffff


def from_source(template, src):
    """template (an Ethernet + IPv4 + UDP frame) sent from src instead: the
    IPv4 checksum made anew, the UDP one left out (0: none, which IPv4
    allows). Scapy builds a frame in a millisecond: 40,000 would take most
    of a minute."""
    frame = bytearray(template)
    ip = frame[IP_OFFSET:IP_OFFSET + T.IP_HLEN[4]]
    ip[12:16] = ipaddress.IPv4Address(src).packed
    ip[10:12] = b"\0\0"
    ip[10:12] = struct.pack("!H", ipv4_checksum(bytes(ip)))
    frame[IP_OFFSET:IP_OFFSET + T.IP_HLEN[4]] = ip
    udp_checksum = IP_OFFSET + T.IP_HLEN[4] + 6
    frame[udp_checksum:udp_checksum + 2] = b"\0\0"
    return bytes(frame)


@pytest.fixture(scope="module")
def flood_pcaps(tmp_path_factory):
    """CHUNKS pcaps of FLOOD_SOURCES / CHUNKS distinct sources each, one
    FRAME_LEN-byte frame a source: 198.18.64.1 on."""
    from scapy.all import wrpcap
    sources = T.ipv4_block("198.18.64.1", FLOOD_SOURCES)
    template = bytes(T.udp_frame(sources[0], FRAME_LEN))
    per_chunk = FLOOD_SOURCES // CHUNKS
    paths = []
    for c in range(CHUNKS):
        path = tmp_path_factory.mktemp("flood") / f"chunk{c}.pcap"
        frames = [from_source(template, s) for s in sources[c * per_chunk:(c + 1) * per_chunk]]
        wrpcap(str(path), frames, linktype=1)       # DLT_EN10MB: Ethernet
        paths.append(path)
    return paths


def test_flood_forgets_down_to_three_quarters(lab, xdptop, flood_pcaps):
    sender, receiver = lab.pair(mtu=1500)
    agent = lab.start(receiver, xdptop, "--format", "json", "--interval", "0.1",
                      "--max-sources", str(MAX_SOURCES), "v1")
    agent.wait_attached()
    sent = 0
    for pcap in flood_pcaps:
        sent += T.replay(sender, "v0", pcap)
        time.sleep(0.3)                 # the chunk's sources idle a few intervals
    assert agent.stop() == 0, agent.stderr()
    reports = agent.reports()
    for report in reports:
        check_identity(report)
    tracked = [r["tracked_sources"] for r in reports]
    assert max(tracked) <= MAX_SOURCES, tracked
    first = next((i for i, n in enumerate(tracked) if n >= TARGET), None)
    assert first is not None, tracked
    # Forgotten, and never below 3/4 of --max-sources once there.
    assert min(tracked[first:]) == TARGET, tracked
    final = reports[-1]
    assert sent == FLOOD_SOURCES
    assert counts(final["total"]) == {"packets": sent, "bytes": sent * FRAME_LEN}
    assert counts(final["other"]) == {"packets": 0, "bytes": 0}
