"""Key fields end to end: --key with any of src, dst, proto, sport, dport,
tcpflags, with --prefix4/--prefix6 and --vlan.

The real captures of tests/data (all 40 in one run per key mode) and the
generated frames of tests/fieldframes.py (every rule: extension chains past
the walk's bound, fragments, headers cut by the frame's end and by a lying
IP length, ...) are replayed onto a veth where xdptop counts with the key
options, and each whole-run report must equal, exactly, what
tests/fieldmodel.py computes: every key object (its members and counts), the
rank order, other, total, nothing untracked. The model is standard library
only and shares no code with xdptop; tests/test_fieldmodel.py checks it by
hand, against tshark and against keymodel (itself checked against the
oracle's files). One small replay is also checked against objects written
out by hand.
"""
import functools
import ipaddress
import json
import subprocess

import pytest

import corpus
import fieldframes as G
import fieldmodel as FM
import keymodel as M
from conftest import check_identity, counts, pace

CAPTURES = corpus.CAPTURES
# The corpus in one run a mode (keys merge across the captures): ten runs
# for the corpus, each build variant.
GROUPS = {"corpus": CAPTURES}

MODES = {
    "src-proto-dport": {"key": "src,proto,dport"},
    "5-tuple": {"key": "src,dst,proto,sport,dport"},
    "proto": {"key": "proto"},
    "proto-dport": {"key": "proto,dport"},
    "dport-tcpflags": {"key": "dport,tcpflags"},
    "sport-dst-given-in-reverse": {"key": "sport,dst"},
    "dst-proto-ports-flags-vlan-prefix": {"key": "dst,proto,sport,dport,tcpflags", "vlan": True,
                                          "prefix4": 24, "prefix6": 64},
    "src": {"key": "src"},
    "dst": {"key": "dst"},
    "dst-vlan-prefix": {"key": "dst", "vlan": True, "prefix4": 16, "prefix6": 48},
}

ZERO = {"packets": 0, "bytes": 0}


# ---------------------------------------------------------------- helpers

def mode_args(key, prefix4=32, prefix6=128, vlan=False):
    """xdptop's options for a key mode (--key always given, even src)."""
    args = ["--key", key]
    if prefix4 != 32:
        args += ["--prefix4", str(prefix4)]
    if prefix6 != 128:
        args += ["--prefix6", str(prefix6)]
    if vlan:
        args.append("--vlan")
    return args


@functools.lru_cache(maxsize=None)
def capture(name):
    return tuple(M.read_pcap(corpus.pcap(name)))


@pytest.fixture(scope="module")
def generated_pcap(tmp_path_factory):
    return G.write_pcap(tmp_path_factory.mktemp("fields") / "generated.pcap", G.frames())


def replay(lab, xdptop, pcaps, args):
    """Replays pcaps (in order, one tcpreplay) onto v1, where xdptop counts
    with args; returns its one report (interval 60 s: the whole run). Every
    frame of the pcaps must have gone out."""
    want = [f for p in pcaps for f in M.read_pcap(p)]
    assert want, pcaps
    sender, receiver = lab.pair(mtu=9000)
    agent = lab.start(receiver, xdptop, "--format", "json", "--interval", "60", *args, "v1")
    agent.wait_attached()
    sent = sender.run("tcpreplay", "-q", *pace(), "-i", "v0", *map(str, pcaps))
    assert corpus.tcpreplay_sent(sent.stdout) == \
        {"packets": len(want), "bytes": sum(map(len, want))}, sent.stdout
    assert agent.stop() == 0, agent.stderr()
    reports = agent.reports()
    assert len(reports) == 1, agent.stdout()
    return reports[0]


def without_rates(obj):
    """A key object less pps and bps, which it must have."""
    for rate in ("pps", "bps"):
        assert isinstance(obj.get(rate), (int, float)), obj
    return {k: v for k, v in obj.items() if k not in ("pps", "bps")}


def check_report(report, model):
    """The report is exactly the model: every key object (members and
    counts), in rank order; other and total; nothing untracked."""
    check_identity(report)
    assert counts(report["untracked"]) == ZERO, report["untracked"]
    assert counts(report["other"]) == model["other"], report["other"]
    assert counts(report["total"]) == model["total"], report["total"]
    assert report["tracked_sources"] == len(model["sources"]), report["tracked_sources"]
    got = [without_rates(o) for o in report["sources"]]
    want = FM.json_sources(model)

    def canonical(objs):
        return sorted(json.dumps(o, sort_keys=True) for o in objs)
    missing = set(canonical(want)) - set(canonical(got))
    extra = set(canonical(got)) - set(canonical(want))
    assert not missing and not extra, {"missing": sorted(missing)[:20],
                                       "extra": sorted(extra)[:20]}
    assert canonical(got) == canonical(want)    # every key once, and its counts
    assert got == want                          # and the rank order


def cut(addr, prefix4, prefix6):
    """An address's key text at a prefix length, from ipaddress alone."""
    ip = ipaddress.ip_address(addr)
    length = prefix4 if ip.version == 4 else prefix6
    if length == ip.max_prefixlen:
        return str(ip)
    return str(ipaddress.ip_network(f"{addr}/{length}", strict=False))


def check_model_by_oracle(names, model):
    """The model of the captures agrees with the oracle's files: its keys
    added up by address (src or dst, cut to the prefix, over all VLANs) are
    the oracle's; without an address, they add up to the IP frames. So a model
    that gives nothing, or gives it wrong, cannot vouch for xdptop."""
    mode = model["mode"]
    other = {"packets": 0, "bytes": 0}
    total = {"packets": 0, "bytes": 0}
    for name in names:
        exp = corpus.expected(name, "src")
        for field in other:
            other[field] += exp["other"][field]
            total[field] += exp["total"][field]
    assert model["other"] == other and model["total"] == total
    keyed = {f: total[f] - other[f] for f in total}
    assert {f: sum(c[f] for c in model["sources"].values()) for f in keyed} == keyed
    for field in ("src", "dst"):
        if field not in mode["key"]:
            continue
        oracle = {}
        for name in names:
            for addr, c in corpus.expected(name, field)["sources"].items():
                s = oracle.setdefault(cut(addr, mode["prefix4"], mode["prefix6"]),
                                      {"packets": 0, "bytes": 0})
                for f in s:
                    s[f] += c[f]
        merged = {}
        for k, c in model["sources"].items():
            addr = k.src if field == "src" else k.dst
            s = merged.setdefault(M.key_text(k.family, addr, mode["prefix4"], mode["prefix6"]),
                                  {"packets": 0, "bytes": 0})
            for f in s:
                s[f] += c[f]
        assert merged == oracle, field


# ---------------------------------------------------------------- the corpus

@pytest.mark.parametrize("group", GROUPS)
@pytest.mark.parametrize("mode", MODES)
def test_corpus_fields(lab, xdptop, mode, group):
    names = GROUPS[group]
    model = FM.count([f for name in names for f in capture(name)], **MODES[mode])
    check_model_by_oracle(names, model)
    report = replay(lab, xdptop, [corpus.pcap(name) for name in names], mode_args(**MODES[mode]))
    check_report(report, model)


# ---------------------------------------------------------------- generated frames

@pytest.mark.parametrize("mode", MODES)
def test_generated_fields(lab, xdptop, generated_pcap, mode):
    model = FM.count([f.data for f in G.frames()], **MODES[mode])
    assert model["other"]["packets"] > 0 and len(model["sources"]) >= 10
    report = replay(lab, xdptop, [generated_pcap], mode_args(**MODES[mode]))
    check_report(report, model)


# Frames whose keys are written out below by hand.
S4, D4, S6, D6 = "198.18.3.1", "198.19.3.1", "2001:db8:3::1", "2001:db8:4::1"


def hand_frames():
    def v4(proto, l4, **kw):
        return G.frame((), G.ETH_IPV4, G.ipv4(S4, D4, proto, l4, **kw))

    def v6(nh, l4, tags=()):
        return G.frame(tags, G.ETH_IPV6, G.ipv6(S6, D6, nh, l4))
    return [
        v4(6, G.tcp(40000, 443, 0x02)),                         # 54 bytes
        v4(6, G.tcp(40000, 443, 0x12)),                         # 54
        v4(6, G.tcp(40001, 443, 0x10, b"\x5a" * 100)),          # 154
        v6(6, G.tcp(40000, 443, 0x02)),                         # 74
        v6(17, G.udp(5353, 53, b"\0" * 12), tags=G.QINQ),       # 82
        v4(1, G.icmp(8, 0, b"\x5a" * 8)),                       # 50
        v4(6, G.tcp(40002, 443, 0x02), flags_frag=0x2000 | 8),  # 54, a later fragment
        v6(*G.chain([60] * 7, 6, G.tcp(40000, 443, 0x02))),     # 130, past the bound
        G.ether(G.ETH_ARP) + bytes(28),                         # 42, other
    ]


# In rank order: packets, bytes (descending), then key order.
HAND_EXPECTED = {
    "proto,dport": [
        {"proto": 6, "dport": 443, "family": 4, "packets": 3, "bytes": 262},
        {"proto": 60, "dport": 0, "family": 6, "packets": 1, "bytes": 130},
        {"proto": 17, "dport": 53, "family": 6, "packets": 1, "bytes": 82},
        {"proto": 6, "dport": 443, "family": 6, "packets": 1, "bytes": 74},
        {"proto": 6, "dport": 0, "family": 4, "packets": 1, "bytes": 54},
        {"proto": 1, "dport": 2048, "family": 4, "packets": 1, "bytes": 50},
    ],
    "src,sport,tcpflags": [
        {"src": S4, "sport": 0, "tcpflags": 0, "packets": 2, "bytes": 104},
        {"src": S4, "sport": 40001, "tcpflags": 0x10, "packets": 1, "bytes": 154},
        {"src": S6, "sport": 0, "tcpflags": 0, "packets": 1, "bytes": 130},
        {"src": S6, "sport": 5353, "tcpflags": 0, "packets": 1, "bytes": 82},
        {"src": S6, "sport": 40000, "tcpflags": 0x02, "packets": 1, "bytes": 74},
        {"src": S4, "sport": 40000, "tcpflags": 0x02, "packets": 1, "bytes": 54},
        {"src": S4, "sport": 40000, "tcpflags": 0x12, "packets": 1, "bytes": 54},
    ],
}


def test_hand_expected_is_the_model():
    frames = hand_frames()
    assert [len(f) for f in frames] == [54, 54, 154, 74, 82, 50, 54, 130, 42]
    for key, want in HAND_EXPECTED.items():
        assert FM.json_sources(FM.count(frames, key=key)) == want, key
        assert sum(o["packets"] for o in want) == 8


@pytest.mark.parametrize("key", HAND_EXPECTED)
def test_hand_fields(lab, xdptop, tmp_path, key):
    pcap = G.write_pcap(tmp_path / "hand.pcap", hand_frames())
    report = replay(lab, xdptop, [pcap], ["--key", key])
    assert [without_rates(o) for o in report["sources"]] == HAND_EXPECTED[key]
    assert counts(report["other"]) == {"packets": 1, "bytes": 42}
    assert counts(report["total"]) == {"packets": 9, "bytes": 694}
    assert counts(report["untracked"]) == ZERO
    check_identity(report)


# ---------------------------------------------------------------- the checker itself

def fake_report(model, interval=60):
    """The report an xdptop that agrees with the model would write."""
    def rated(c):
        return {**c, "pps": round(c["packets"] / interval, 3),
                "bps": round(c["bytes"] * 8 / interval, 3)}
    return {"sources": [rated(o) for o in FM.json_sources(model)],
            "tracked_sources": len(model["sources"]),
            "other": rated(model["other"]), "untracked": rated(dict(ZERO)),
            "total": rated(model["total"])}


@pytest.mark.parametrize("mode", MODES)
def test_checker(mode):
    """check_report passes a report that is the model, and fails one with a
    key's count changed, two keys swapped, a member missing or added."""
    model = FM.count([f.data for f in G.frames()], **MODES[mode])
    check_report(fake_report(model), model)
    broken = []
    r = fake_report(model)
    r["sources"][-1]["packets"] += 1
    r["sources"][-2]["packets"] -= 1
    broken.append(r)
    r = fake_report(model)
    r["sources"][0], r["sources"][1] = r["sources"][1], r["sources"][0]
    broken.append(r)
    r = fake_report(model)
    r["sources"][3].pop(next(k for k in r["sources"][3] if k not in ("packets", "bytes")))
    broken.append(r)
    r = fake_report(model)
    r["sources"][4]["family" if "family" not in r["sources"][4] else "vlan"] = 4
    broken.append(r)
    for r in broken:
        with pytest.raises(AssertionError):
            check_report(r, model)


# ---------------------------------------------------------------- log lines and Prometheus

# The hand frames with --key proto,sport,dport,tcpflags (no address: the
# family first), by hand: one frame a key, ranked by bytes, then key order.
HAND_LOG = [
    "\tipv4 proto tcp sport 40001 dport 443 tcpflags A => 1",
    "\tipv6 proto 60 sport 0 dport 0 tcpflags - => 1",
    "\tipv6 proto udp sport 5353 dport 53 tcpflags - => 1",
    "\tipv6 proto tcp sport 40000 dport 443 tcpflags S => 1",
    "\tipv4 proto tcp sport 0 dport 0 tcpflags - => 1",
    "\tipv4 proto tcp sport 40000 dport 443 tcpflags S => 1",
    "\tipv4 proto tcp sport 40000 dport 443 tcpflags SA => 1",
    "\tipv4 proto icmp sport 0 dport 8/0 tcpflags - => 1",
]


def test_hand_log_lines(lab, xdptop, tmp_path):
    pcap = G.write_pcap(tmp_path / "hand.pcap", hand_frames())
    sender, receiver = lab.pair(mtu=9000)
    agent = lab.start(receiver, xdptop, "--format", "log", "--interval", "60", "--key",
                      "proto,sport,dport,tcpflags", "v1")
    agent.wait_attached()
    sender.run("tcpreplay", "-q", "-t", "-i", "v0", str(pcap))
    assert agent.stop() == 0, agent.stderr()
    lines = agent.stdout().splitlines()
    assert lines[1:-1] == HAND_LOG, lines
    assert lines[-1].endswith("other: 1 packets; untracked: 0 packets; 8 keys tracked"), lines


def test_hand_metrics_have_a_label_per_field(lab, xdptop, tmp_path):
    """The exporter: a label per field, as the log names them, and the
    family where the key has no address; promtool accepts the page."""
    from test_prom import lo_up, samples, scrape_when
    pcap = G.write_pcap(tmp_path / "hand.pcap", hand_frames())
    sender, receiver = lab.pair(mtu=9000)
    lo_up(receiver)
    agent = lab.start(receiver, xdptop, "-f", "none", "-i", "0.2", "--listen", "9464",
                      "--key", "src,dport,tcpflags", "v1")
    agent.wait_attached()
    sender.run("tcpreplay", "-q", "-t", "-i", "v0", str(pcap))
    body = scrape_when(receiver, "http://127.0.0.1:9464/metrics",
                       lambda b: samples(b).get(("xdptop_packets_total",
                                                  frozenset({("interface", "v1")}))) == 9)
    assert agent.stop() == 0, agent.stderr()
    got = {tuple(sorted(dict(labels).items())): v for (n, labels), v in samples(body).items()
           if n == "xdptop_source_packets_total"}

    def key(src, dport, flags):
        return (("dport", dport), ("interface", "v1"), ("src", src), ("tcpflags", flags))
    # Without proto in the key, ICMP's echo request is dport 2048, as a port.
    assert got == {key(S4, "443", "S"): 1, key(S4, "443", "SA"): 1, key(S4, "443", "A"): 1,
                   key(S4, "2048", "-"): 1, key(S4, "0", "-"): 1, key(S6, "443", "S"): 1,
                   key(S6, "53", "-"): 1, key(S6, "0", "-"): 1}
    assert 'xdptop_build_info{version="0.1.0",key="src,dport,tcpflags",prefix4="32",' \
           'prefix6="128",key_vlan="false"} 1' in body
    check = subprocess.run(["promtool", "check", "metrics"], input=body, text=True,
                           capture_output=True)
    assert (check.returncode, check.stdout + check.stderr) == (0, ""), check
