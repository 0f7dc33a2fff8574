"""Traffic for tests/test_traffic.py: quiet links, frames, senders and the
counts a report must show for them.

Imported by the tests. Also run as a script inside a sender namespace
(`python3 traffic.py ping-udp < plan.json`): there it sends real pings
(iputils) and real UDP datagrams from the source addresses of the plan.

Every address is in 198.18.0.0/15 or 2001:db8::/32; every link is a veth whose
two ends are in the test's own namespaces; every sender is bounded in count
(and by a timeout).
"""
import ipaddress
import json
import random
import re
import socket
import subprocess
import sys
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

ETH_HLEN = 14
IP_HLEN = {4: 20, 6: 40}
UDP_HLEN = 8
ICMP_ECHO_HLEN = 8          # ICMP and ICMPv6 echo headers alike
PING_SIZE = 56              # ping's default payload
DISCARD_PORT = 9
MAC_A = "02:00:5e:00:00:0a"  # locally administered, for replayed frames
MAC_B = "02:00:5e:00:00:0b"


def canonical(addr):
    """The text inet_ntop gives for addr: what xdptop prints."""
    ip = ipaddress.ip_address(addr)
    return socket.inet_ntop(socket.AF_INET if ip.version == 4 else socket.AF_INET6, ip.packed)


def ipv4_block(first, n):
    """n consecutive IPv4 addresses from first."""
    start = ipaddress.IPv4Address(first)
    return [str(start + i) for i in range(n)]


def ipv6_sequential(prefix, n, first=1):
    """prefix::1, prefix::2, ...: addresses that differ in the last group only."""
    net = ipaddress.IPv6Network(prefix)
    return [str(net.network_address + first + i) for i in range(n)]


def ipv6_random_iids(prefix, n, seed):
    """n addresses of a /64 with random (privacy-style) interface identifiers."""
    net = ipaddress.IPv6Network(prefix)
    assert net.prefixlen == 64
    rng = random.Random(seed)
    out = set()
    while len(out) < n:
        out.add(str(net.network_address + rng.getrandbits(64)))
    return sorted(out)


class Expected:
    """What a report must show for the traffic the test sent."""

    def __init__(self):
        self.sources = defaultdict(lambda: [0, 0])
        self.other = [0, 0]

    def add(self, src, length, n=1):
        c = self.sources[canonical(src)]
        c[0] += n
        c[1] += n * length

    def add_other(self, length, n=1):
        self.other[0] += n
        self.other[1] += n * length

    def merge(self, other, times=1):
        for addr, (p, b) in other.sources.items():
            c = self.sources[addr]
            c[0] += p * times
            c[1] += b * times
        self.other[0] += other.other[0] * times
        self.other[1] += other.other[1] * times

    @property
    def total(self):
        return {"packets": sum(p for p, _ in self.sources.values()) + self.other[0],
                "bytes": sum(b for _, b in self.sources.values()) + self.other[1]}

    def as_expected(self):
        """The shape of conftest.as_expected(report)."""
        return {
            "sources": {a: {"packets": p, "bytes": b} for a, (p, b) in self.sources.items()},
            "other": {"packets": self.other[0], "bytes": self.other[1]},
            "total": self.total,
        }

    def ranked(self):
        """Sources busiest first, as xdptop orders them: packets, then bytes,
        then IPv4 before IPv6, then address bytes."""
        def key(item):
            addr, (p, b) = item
            ip = ipaddress.ip_address(addr)
            return (-p, -b, ip.version, ip.packed)
        return [(a, p, b) for a, (p, b) in sorted(self.sources.items(), key=key)]

    def log_lines(self, top=None):
        rows = self.ranked()[:top] if top else self.ranked()
        return [f"\t{a} => {p}" for a, p, _ in rows]


# Frames, built with scapy (imported lazily: it takes a second).

def udp_frame(src, length, dst=None, vlan=None):
    """An Ethernet + IPv4/IPv6 + UDP frame of exactly length bytes from src."""
    from scapy.all import IP, UDP, Dot1Q, Ether, IPv6, Raw
    version = ipaddress.ip_address(src).version
    if version == 4:
        ip = IP(src=src, dst=dst or "198.19.255.254")
    else:
        ip = IPv6(src=src, dst=dst or "2001:db8:ffff::fffe")
    frame = Ether(src=MAC_A, dst=MAC_B)
    if vlan is not None:
        frame = frame / Dot1Q(vlan=vlan)
    frame = frame / ip / UDP(sport=40000, dport=DISCARD_PORT)
    pad = length - len(frame)
    assert pad >= 0, (src, length)
    frame = frame / Raw(b"\x5a" * pad)
    assert len(bytes(frame)) == length, (src, length, len(bytes(frame)))
    return frame


def other_frames():
    """Frames with no IP source, each another way of having none."""
    from scapy.all import ARP, Ether, Raw
    frames = [
        Ether(src=MAC_A, dst="ff:ff:ff:ff:ff:ff") /
        ARP(psrc="198.18.200.1", pdst="198.18.200.2", hwsrc=MAC_A),      # ARP
        Ether(src=MAC_A, dst="01:80:c2:00:00:0e", type=0x88cc) / Raw(b"\x02\x07" * 20),  # LLDP
        Ether(src=MAC_A, dst=MAC_B, type=0x0800) / Raw(b"\x45" + b"\0" * 10),  # IPv4 < 20 B
        Ether(src=MAC_A, dst=MAC_B, type=0x0800) / Raw(b"\x65" + b"\0" * 40),  # IP version 6 in 0x0800
        Ether(src=MAC_A, dst=MAC_B, type=0x86dd) / Raw(b"\x60" + b"\0" * 30),  # IPv6 < 40 B
    ]
    return [(f, len(bytes(f))) for f in frames]


def write_pcap(path, frames):
    from scapy.all import wrpcap
    wrpcap(str(path), frames)
    return path


def replay(ns, iface, pcap, loop=1, timeout=60):
    """tcpreplay at top speed; returns the frames it sent (all of them)."""
    cmd = ["tcpreplay", "-q", "-t", "-i", iface]
    if loop > 1:
        cmd += ["-K", f"--loop={loop}"]
    out = ns.run(*cmd, str(pcap), timeout=timeout).stdout
    assert re.search(r"Failed packets:\s+0\n", out), out
    m = re.search(r"Successful packets:\s+(\d+)", out)
    assert m, out
    return int(m.group(1))


# A quiet routed link: real sockets on both sides, and not one frame on the
# watched interface that the test did not send.

def mac_of(ns, ifname):
    out = subprocess.run(["ip", "-n", ns.name, "-j", "link", "show", ifname], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)[0]["address"]


def quiet_veth(a, b, name_a, name_b, mtu=1500):
    """A veth pair (name_a in a, name_b in b) that sends nothing by itself:
    no IPv6 link-local address (so no MLD, no router solicitation, no DAD)."""
    subprocess.run(["ip", "-n", a.name, "link", "add", name_a, "mtu", str(mtu), "type", "veth",
                    "peer", "name", name_b, "mtu", str(mtu), "netns", b.name],
                   check=True, capture_output=True)
    for ns, ifname in ((a, name_a), (b, name_b)):
        ns.run("sysctl", "-qw", f"net.ipv6.conf.{ifname}.addr_gen_mode=1",
               f"net.ipv6.conf.{ifname}.accept_dad=0",
               f"net.ipv6.conf.{ifname}.router_solicitations=0",
               f"net.ipv6.conf.{ifname}.accept_ra=0")
        ns.run("ip", "link", "set", ifname, "up")


class RoutedPair:
    """Sender namespace with its source addresses on lo, routed over v0 to
    the receiver namespace's v1 (which xdptop watches), and back.

    Neither side ever resolves a neighbour across the link: both have a
    permanent neighbour entry for the other's next hop, the receiver routes
    the sources back through a gateway that only exists as such an entry,
    IPv6 addresses are nodad and the veth has no link-local address. So the
    only frames v1 receives are the test's pings and datagrams.
    """
    DST4, GW4 = "198.18.0.1", "198.18.0.2"
    DST6, GW6 = "2001:db8::1", "2001:db8::2"
    NET4, NET6 = "198.18.1.0/24", "2001:db8:1::/64"

    def __init__(self, lab, sources, mtu=1500):
        self.sender, self.receiver = lab.netns(), lab.netns()
        s, r = self.sender, self.receiver
        for ns in (s, r):
            ns.run("ip", "link", "set", "lo", "up")
        quiet_veth(s, r, "v0", "v1", mtu)
        mac0, mac1 = mac_of(s, "v0"), mac_of(r, "v1")
        for a in sources:
            ip = ipaddress.ip_address(a)
            net = self.NET4 if ip.version == 4 else self.NET6
            assert ip in ipaddress.ip_network(net), a
        lines = [f"addr add {a}/32 dev lo" if ":" not in a else f"addr add {a}/128 dev lo nodad"
                 for a in sources]
        lines += [f"route add {self.DST4}/32 dev v0",
                  f"route add {self.DST6}/128 dev v0",
                  f"neigh add {self.DST4} lladdr {mac1} dev v0 nud permanent",
                  f"neigh add {self.DST6} lladdr {mac1} dev v0 nud permanent"]
        s.run("ip", "-batch", "-", input="\n".join(lines) + "\n")
        lines = [f"addr add {self.DST4}/32 dev v1",
                 f"addr add {self.DST6}/128 dev v1 nodad",
                 f"neigh add {self.GW4} lladdr {mac0} dev v1 nud permanent",
                 f"neigh add {self.GW6} lladdr {mac0} dev v1 nud permanent",
                 f"route add {self.NET4} via {self.GW4} dev v1 onlink",
                 f"route add {self.NET6} via {self.GW6} dev v1 onlink"]
        r.run("ip", "-batch", "-", input="\n".join(lines) + "\n")

    def dst(self, src):
        return self.DST4 if ipaddress.ip_address(src).version == 4 else self.DST6


def ping_udp_plan(pair, sources):
    """Per source: a few echo requests (payload sizes vary) and a few UDP
    datagrams (0 to 1,399 bytes: never fragmented at MTU 1500). Returns
    (plan, Expected)."""
    plan, expected = [], Expected()
    for i, src in enumerate(sources):
        v = ipaddress.ip_address(src).version
        pings = 1 + i % 3
        size = PING_SIZE if i % 2 else 16 + 4 * (i % 50)
        udp = [(i * 37 + j * 101) % 1400 for j in range(1 + (i * 5) % 4)]
        plan.append({"src": src, "dst": pair.dst(src), "pings": pings, "size": size,
                     "udp": udp})
        expected.add(src, ETH_HLEN + IP_HLEN[v] + ICMP_ECHO_HLEN + size, pings)
        for payload in udp:
            expected.add(src, ETH_HLEN + IP_HLEN[v] + UDP_HLEN + payload)
    return plan, expected


def send_ping_udp(ns, plan, timeout=120):
    """Runs this file as the sender inside ns; returns its per-source results."""
    out = ns.run("/usr/bin/python3", __file__, "ping-udp", input=json.dumps(plan),
                 timeout=timeout).stdout
    return json.loads(out)


# The sender itself, inside the sender namespace.

def _ping(item):
    v = ipaddress.ip_address(item["src"]).version
    cmd = ["ping", f"-{v}", "-n", "-q", "-c", str(item["pings"]), "-i", "0.01", "-W", "2",
           "-s", str(item["size"]), "-I", item["src"], item["dst"]]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    m = re.search(r"(\d+) packets transmitted, (\d+) received", res.stdout)
    return {"src": item["src"], "rc": res.returncode,
            "transmitted": int(m.group(1)) if m else -1,
            "received": int(m.group(2)) if m else -1,
            "output": res.stdout[-300:] + res.stderr[-300:]}


def _udp(item):
    ip = ipaddress.ip_address(item["src"])
    family = socket.AF_INET if ip.version == 4 else socket.AF_INET6
    sent = []
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        s.bind((item["src"], 0))
        for payload in item["udp"]:
            # Unconnected: the receiver's port unreachable errors are not ours.
            sent.append(s.sendto(b"\xa5" * payload, (item["dst"], DISCARD_PORT)))
    return sent


def _main_ping_udp():
    plan = json.load(sys.stdin)
    with ThreadPoolExecutor(max_workers=16) as pool:
        pings = list(pool.map(_ping, plan))
    udp = [_udp(item) for item in plan]
    json.dump([dict(p, udp_sent=u) for p, u in zip(pings, udp)], sys.stdout)


if __name__ == "__main__":
    if sys.argv[1:] == ["ping-udp"]:
        _main_ping_udp()
    else:
        sys.exit("usage: traffic.py ping-udp < plan.json")
