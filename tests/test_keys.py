"""Key modes end to end: --key src|dst, --prefix4/--prefix6 and --vlan.

The real captures of tests/data are replayed onto a veth (as in
test_corpus.py) with the key options, and every report must equal, exactly,
what tests/keymodel.py computes for the capture: an independent model (the
standard library only, no code shared with xdptop) that is first shown to
reproduce every NAME.expected.json of the source mode. Synthetic frames
(scapy, 198.18.0.0/15 and 2001:db8::/32 only) prove that one address in
different VLANs makes different keys, and --key dst on a set of
destinations. Also the log lines of the new modes, and the command line's
refusals of bad key options.
"""
import functools
import ipaddress
import re

import pytest

import corpus
import keymodel as M
from conftest import check_identity, counts, sanitizer_env

# The pinned list (corpus.py), not a glob: a missing capture fails its tests.
CAPTURES = corpus.CAPTURES


@functools.lru_cache(maxsize=None)
def frames(name):
    return tuple(M.read_pcap(corpus.pcap(name)))


# The captures with at least one VLAN-tagged frame, as the model finds them
# (test_corpus_complete), pinned so that the coverage cannot shrink unnoticed.
TAGGED_EXPECTED = ["802.1ad_QinQ", "NHRP-responder-address", "OLSRv1_HNA_sgw_1",
                   "bfd_source_port_49152", "bgp-encap", "ipv4_tcp_http_xml",
                   "rpvstp-trunk-native-vid5", "rsvp_cap"]
UNTAGGED_SOME = ["bgp-4byte-asn", "OSPFv3_with_AH", "sflow_multiple_counter_30_pdus"]

USAGE = 2
MAC_A, MAC_B = "02:00:5e:00:00:0a", "02:00:5e:00:00:0b"


# ---------------------------------------------------------------- helpers

def mode_args(key="src", prefix4=32, prefix6=128, vlan=False):
    """xdptop's options for a key mode (the defaults are left out)."""
    args = []
    if key != "src":
        args += ["--key", key]
    if prefix4 != 32:
        args += ["--prefix4", str(prefix4)]
    if prefix6 != 128:
        args += ["--prefix6", str(prefix6)]
    if vlan:
        args.append("--vlan")
    return args


def replay(lab, xdptop, pcaps, args, fmt="json"):
    """Replays pcaps (in order, one tcpreplay) onto v1, where xdptop counts
    with args; returns the stopped agent (one report: interval 60 s). Every
    frame of the pcaps must have gone out."""
    want = [f for p in pcaps for f in M.read_pcap(p)]
    assert want, pcaps
    sender, receiver = lab.pair(mtu=9000)
    agent = lab.start(receiver, xdptop, "--format", fmt, "--interval", "60", *args, "v1")
    agent.wait_attached()
    sent = sender.run("tcpreplay", "-q", "-t", "-i", "v0", *map(str, pcaps))
    assert corpus.tcpreplay_sent(sent.stdout) == \
        {"packets": len(want), "bytes": sum(map(len, want))}, sent.stdout
    assert agent.stop() == 0, agent.stderr()
    return agent


def frames_of(names):
    return [f for name in names for f in frames(name)]


def pcaps_of(names):
    return [corpus.pcap(name) for name in names]


def cut(addr, prefix4=32, prefix6=128):
    """An address's key text at a prefix length, from ipaddress alone."""
    ip = ipaddress.ip_address(addr)
    length = prefix4 if ip.version == 4 else prefix6
    if length == ip.max_prefixlen:
        return str(ip)
    return str(ipaddress.ip_network(f"{addr}/{length}", strict=False))


def oracle_keys(names, key="src", prefix4=32, prefix6=128):
    """What the oracle's files (NAME.expected.json, NAME.dst.expected.json)
    say the captures give in a key mode without --vlan: {text: counts},
    other and total. Each file is checked on reading: a missing one, or
    one that gives nothing, fails."""
    keys = {}
    other = {"packets": 0, "bytes": 0}
    total = {"packets": 0, "bytes": 0}
    for name in names:
        exp = corpus.expected(name, key)
        for addr, c in exp["sources"].items():
            k = keys.setdefault(cut(addr, prefix4, prefix6), {"packets": 0, "bytes": 0})
            for field in k:
                k[field] += c[field]
        for field in other:
            other[field] += exp["other"][field]
            total[field] += exp["total"][field]
    return {"sources": keys, "other": other, "total": total}


def check_model_by_oracle(names, model, key="src", prefix4=32, prefix6=128, vlan=False):
    """The model of names in a key mode agrees with the oracle's files, key
    by key (with --vlan, once its keys of one address in different VLANs
    are added up): so a model that gives nothing, or gives it wrong, cannot
    vouch for an xdptop that does the same."""
    oracle = oracle_keys(names, key, prefix4, prefix6)
    assert oracle["total"]["packets"] > 0, names
    merged = {}
    for (text, vlans), c in model["sources"].items():
        assert vlan or vlans == (), (text, vlans)
        k = merged.setdefault(text, {"packets": 0, "bytes": 0})
        for field in k:
            k[field] += c[field]
    assert merged == oracle["sources"]
    assert model["other"] == oracle["other"] and model["total"] == oracle["total"]


def report_sources(report, vlan):
    """The report's keys in its order: [((address, vlans), counts)]. A key
    has a "vlan" list exactly when --vlan is on."""
    out = []
    for s in report["sources"]:
        if vlan:
            assert isinstance(s.get("vlan"), list), s
            vlans = tuple(s["vlan"])
        else:
            assert "vlan" not in s, s
            vlans = ()
        out.append(((s["address"], vlans), counts(s)))
    return out


def check_report(report, model, vlan):
    """The report is exactly the model: every key (and its VLANs), in rank
    order, packets and bytes; other, total; nothing untracked."""
    check_identity(report)
    assert counts(report["untracked"]) == {"packets": 0, "bytes": 0}, report
    assert counts(report["other"]) == model["other"], report
    assert counts(report["total"]) == model["total"], report
    assert report["tracked_sources"] == len(model["sources"]), report
    got = report_sources(report, vlan)
    want = M.ranked(model)
    assert dict(got) == dict(want)      # the counts, whatever the order
    assert got == want                  # and the rank order


def run_json(lab, xdptop, names, **mode):
    agent = replay(lab, xdptop, pcaps_of(names), mode_args(**mode))
    reports = agent.reports()
    assert len(reports) == 1, agent.stdout()
    model = M.count(frames_of(names), **mode)
    check_model_by_oracle(names, model, **mode)
    check_report(reports[0], model, mode.get("vlan", False))
    return reports[0], model


# ---------------------------------------------------------------- the model

def test_corpus_complete():
    tagged = [name for name in CAPTURES if M.has_vlan_tags(frames(name))]
    assert tagged == TAGGED_EXPECTED
    assert set(TAGGED_EXPECTED) <= set(CAPTURES)
    assert not set(UNTAGGED_SOME) & set(TAGGED_EXPECTED)


@pytest.mark.parametrize("name", CAPTURES)
def test_model_reproduces_expected(name):
    """Whole addresses: the model gives NAME.expected.json by source and
    NAME.dst.expected.json by destination, exactly."""
    assert M.as_expected(M.count(frames(name))) == corpus.expected(name, "src")
    assert M.as_expected(M.count(frames(name), key="dst")) == corpus.expected(name, "dst")
    # Full lengths given explicitly are the same keys.
    assert M.count(frames(name), prefix4=32, prefix6=128) == M.count(frames(name))


def test_model_modes_differ():
    """The modes tested below are not the source mode in disguise: on the
    corpus each one gives other keys."""
    every = frames_of(CAPTURES)
    src = M.count(every)
    for mode in ({"key": "dst"}, {"prefix4": 24, "prefix6": 64},
                 {"key": "dst", "prefix4": 16, "prefix6": 48},
                 {"vlan": True}, {"vlan": True, "key": "dst", "prefix4": 8}):
        m = M.count(every, **mode)
        check_model_by_oracle(CAPTURES, m, **mode)
        assert m["sources"] != src["sources"], mode
        assert m["total"] == src["total"] and m["other"] == src["other"], mode
        assert sum(c["packets"] for c in m["sources"].values()) == \
            src["total"]["packets"] - src["other"]["packets"]
    # Tagged IP frames in the corpus: --vlan makes keys with VLAN ids.
    vlans = {v for _, v in M.count(frames_of(TAGGED_EXPECTED), vlan=True)["sources"]}
    assert vlans == {(79,), (2580,), (11,), (14,), (165,), (57,)}


def test_model_prefix_text():
    assert M.key_text(4, bytes([198, 18, 7, 9]), 24) == "198.18.7.0/24"
    assert M.key_text(4, bytes([198, 18, 7, 9]), 32) == "198.18.7.9"
    assert M.key_text(4, bytes([255, 18, 7, 9]), 1) == "128.0.0.0/1"
    a6 = bytes.fromhex("20010db8000100020003000400050006")
    assert M.key_text(6, a6, prefix6=64) == "2001:db8:1:2::/64"
    assert M.key_text(6, a6, prefix6=48) == "2001:db8:1::/48"
    assert M.key_text(6, a6, prefix6=128) == "2001:db8:1:2:3:4:5:6"
    assert M.key_text(6, a6, prefix6=1) == "::/1"


# ---------------------------------------------------------------- the corpus

@pytest.mark.parametrize("name", CAPTURES)
def test_dst_json(lab, xdptop, name):
    run_json(lab, xdptop, [name], key="dst")


@pytest.mark.parametrize("name", CAPTURES)
def test_prefix_json(lab, xdptop, name):
    run_json(lab, xdptop, [name], prefix4=24, prefix6=64)


DST_PREFIX = ["bgp-4byte-asn", "IGMP_V1", "sflow_multiple_counter_30_pdus", "dcb_ets",
              "icmpv6", "OSPFv3_with_AH", "kday4"]


@pytest.mark.parametrize("name", DST_PREFIX)
def test_dst_prefix_json(lab, xdptop, name):
    run_json(lab, xdptop, [name], key="dst", prefix4=16, prefix6=48)


@pytest.mark.parametrize("name", TAGGED_EXPECTED + UNTAGGED_SOME)
def test_vlan_json(lab, xdptop, name):
    run_json(lab, xdptop, [name], vlan=True)


def test_vlan_dst_prefix_all_captures(lab, xdptop):
    """Every capture in one run: keys merge across captures (the model of
    the whole run is the sum of the captures' models, and some keys are in
    more than one)."""
    mode = {"vlan": True, "key": "dst", "prefix4": 8}
    report, model = run_json(lab, xdptop, CAPTURES, **mode)
    summed, seen_in = {}, {}
    for name in CAPTURES:
        for k, c in M.count(frames(name), **mode)["sources"].items():
            s = summed.setdefault(k, {"packets": 0, "bytes": 0})
            s["packets"] += c["packets"]
            s["bytes"] += c["bytes"]
            seen_in[k] = seen_in.get(k, 0) + 1
    assert summed == model["sources"]
    assert max(seen_in.values()) > 1


def test_full_lengths_are_addresses(lab, xdptop):
    """--prefix4 32 --prefix6 128 --key src is the default: NAME.expected.json."""
    name = "bgp-4byte-asn"
    sender, receiver = lab.pair(mtu=9000)
    agent = lab.start(receiver, xdptop, "--format", "json", "--interval", "60", "--key", "src",
                      "--prefix4", "32", "--prefix6", "128", "v1")
    agent.wait_attached()
    expected = corpus.expected(name)
    sent = sender.run("tcpreplay", "-q", "-t", "-i", "v0", str(corpus.pcap(name)))
    assert corpus.tcpreplay_sent(sent.stdout) == expected["total"], sent.stdout
    assert agent.stop() == 0, agent.stderr()
    (report,) = agent.reports()
    check_identity(report)
    assert {s["address"]: counts(s) for s in report["sources"]} == expected["sources"]
    assert counts(report["other"]) == expected["other"]
    assert counts(report["total"]) == expected["total"]
    assert all("/" not in s["address"] and "vlan" not in s for s in report["sources"])


# ---------------------------------------------------------------- log lines

HEADER = r"\d{4}/\d\d/\d\d \d\d:\d\d:\d\d Map contents:"


def expected_key_lines(model):
    lines = []
    for (text, vlans), c in M.ranked(model):
        tag = f" vlan {'.'.join(map(str, vlans))}" if vlans else ""
        lines.append(f"\t{text}{tag} => {c['packets']}")
    return lines


LOG_NAMES = ["NHRP-responder-address", "bgp-encap", "ipv4_tcp_http_xml", "rsvp_cap",
             "bfd_source_port_49152", "OLSRv1_HNA_sgw_1", "bgp-4byte-asn", "OSPFv3_with_AH",
             "IGMP_V1"]
LOG_MODES = {
    "vlan-prefix4": {"vlan": True, "prefix4": 24},
    "prefix4-prefix6": {"prefix4": 16, "prefix6": 48},
    "vlan-dst": {"vlan": True, "key": "dst"},
}


@pytest.mark.parametrize("mode", LOG_MODES, ids=list(LOG_MODES))
def test_log_lines(lab, xdptop, mode):
    agent = replay(lab, xdptop, pcaps_of(LOG_NAMES), mode_args(**LOG_MODES[mode]), fmt="log")
    lines = agent.stdout().splitlines()
    model = M.count(frames_of(LOG_NAMES), **LOG_MODES[mode])
    check_model_by_oracle(LOG_NAMES, model, **LOG_MODES[mode])
    want = expected_key_lines(model)
    assert re.fullmatch(HEADER, lines[0]), lines
    assert lines[1:1 + len(want)] == want, lines
    assert [line for line in lines if line.startswith("\t")] == want, lines
    if LOG_MODES[mode].get("vlan"):
        assert any(" vlan " in line for line in want)
        assert any(" vlan " not in line for line in want)
    if LOG_MODES[mode].get("prefix4"):
        assert any(re.search(r"\.0/\d+ ", line) for line in want)


# ---------------------------------------------------------------- synthetic frames

def write_frames(path, frames):
    from scapy.all import wrpcap
    wrpcap(str(path), frames)
    return path


def ether():
    from scapy.all import Ether
    return Ether(src=MAC_A, dst=MAC_B)


def tagged(tags):
    """Ether and the VLAN tags: tags is [(tpid, tci)] outermost first."""
    from scapy.all import Dot1AD, Dot1Q
    frame = ether()
    for tpid, tci in tags:
        layer = Dot1AD if tpid == 0x88A8 else Dot1Q
        frame = frame / layer(prio=tci >> 13, id=(tci >> 12) & 1, vlan=tci & 0xFFF)
    return frame


def udp(tags, src, dst, length):
    from scapy.all import IP, UDP, IPv6, Raw
    ip = IP(src=src, dst=dst) if ":" not in src else IPv6(src=src, dst=dst)
    frame = tagged(tags) / ip / UDP(sport=40000, dport=9)
    frame = frame / Raw(b"\x5a" * (length - len(frame)))
    assert len(bytes(frame)) == length
    return frame


def arp(tags):
    from scapy.all import ARP
    return tagged(tags) / ARP(psrc="198.18.200.1", pdst="198.18.200.2", hwsrc=MAC_A)


Q, AD = 0x8100, 0x88A8
SRC4, SRC6 = "198.18.5.1", "2001:db8:5::1"
DST4, DST6 = "198.19.0.1", "2001:db8:ff::1"

# (tags, source, frames, length): one address in many VLANs.
VLAN_PLAN = [
    ([], SRC4, 3, 100),                        # untagged
    ([(Q, 10)], SRC4, 2, 120),                 # VLAN 10, 802.1Q
    ([(AD, 10)], SRC4, 1, 124),                # VLAN 10, 802.1ad: the same key
    ([(Q, 0xE000 | 0x1000 | 10)], SRC4, 2, 128),  # VLAN 10, PCP 7 and DEI: the same
    ([(Q, 20)], SRC4, 4, 130),                 # VLAN 20
    ([(AD, 10), (Q, 20)], SRC4, 5, 140),       # QinQ 10.20
    ([(AD, 20), (Q, 10)], SRC4, 6, 150),       # QinQ 20.10: another key
    ([(Q, 0)], SRC4, 1, 160),                  # VLAN 0 (priority tag) is a tag
    ([(Q, 0x2000 | 4095)], SRC4, 7, 170),      # VLAN 4095, PCP 1
    ([(AD, 4095), (Q, 0)], SRC4, 2, 180),      # QinQ 4095.0
    ([], SRC6, 1, 200),
    ([(Q, 10)], SRC6, 2, 210),
    ([(AD, 10), (Q, 20)], SRC6, 3, 220),
]


def vlan_frames():
    frames = []
    for tags, src, n, length in VLAN_PLAN:
        frames += [udp(tags, src, DST6 if ":" in src else DST4, length)] * n
    frames += [arp([(Q, 10)])] * 2          # not IP: other, with or without --vlan
    return frames


ARP_LEN = 14 + 4 + 28
# With --vlan, by hand: (address, vlans) -> (packets, bytes).
VLAN_EXPECTED = {
    (SRC4, ()): (3, 300),
    (SRC4, (10,)): (2 + 1 + 2, 240 + 124 + 256),
    (SRC4, (20,)): (4, 520),
    (SRC4, (10, 20)): (5, 700),
    (SRC4, (20, 10)): (6, 900),
    (SRC4, (0,)): (1, 160),
    (SRC4, (4095,)): (7, 1190),
    (SRC4, (4095, 0)): (2, 360),
    (SRC6, ()): (1, 200),
    (SRC6, (10,)): (2, 420),
    (SRC6, (10, 20)): (3, 660),
}


def synthetic_json(lab, xdptop, pcap, args):
    agent = replay(lab, xdptop, [pcap], args)
    (report,) = agent.reports()
    check_identity(report)
    assert counts(report["untracked"]) == {"packets": 0, "bytes": 0}
    return report


def test_vlan_tells_one_address_apart(lab, xdptop, tmp_path):
    frames = vlan_frames()
    pcap = write_frames(tmp_path / "vlans.pcap", frames)
    report = synthetic_json(lab, xdptop, pcap, ["--vlan"])
    got = {(s["address"], tuple(s["vlan"])): (s["packets"], s["bytes"])
           for s in report["sources"]}
    assert got == VLAN_EXPECTED
    assert counts(report["other"]) == {"packets": 2, "bytes": 2 * ARP_LEN}
    # The model agrees, and so does the rank order.
    check_report(report, M.count(M.read_pcap(pcap), vlan=True), vlan=True)


def test_without_vlan_one_address_is_one_key(lab, xdptop, tmp_path):
    pcap = write_frames(tmp_path / "vlans.pcap", vlan_frames())
    report = synthetic_json(lab, xdptop, pcap, [])
    got = {s["address"]: (s["packets"], s["bytes"]) for s in report["sources"]}
    sums = {}
    for (addr, _), (p, b) in VLAN_EXPECTED.items():
        sums[addr] = (sums.get(addr, (0, 0))[0] + p, sums.get(addr, (0, 0))[1] + b)
    assert got == sums == {SRC4: (33, 4750), SRC6: (6, 1280)}
    assert all("vlan" not in s for s in report["sources"])


# (tags, source, destination, frames, length): destinations of several sources.
DST_PLAN = [
    ([], "198.18.1.1", "198.19.7.1", 3, 90),
    ([], "198.18.1.2", "198.19.7.1", 2, 95),
    ([(Q, 7)], "198.18.1.3", "198.19.7.1", 1, 99),
    ([], "198.18.1.1", "198.19.7.200", 4, 100),
    ([(AD, 7), (Q, 8)], "198.18.1.4", "198.19.8.1", 5, 110),
    ([], "198.18.1.1", "198.19.8.2", 1, 64),
    ([], "2001:db8:1::1", "2001:db8:7::1", 2, 150),
    ([(Q, 7)], "2001:db8:1::2", "2001:db8:7::1", 3, 160),
    ([(AD, 7), (Q, 8)], "2001:db8:1::3", "2001:db8:7:0:1::2", 4, 170),
    ([], "2001:db8:1::1", "2001:db8:8::9", 1, 180),
]
DST_EXPECTED = {
    "198.19.7.1": (6, 270 + 190 + 99),
    "198.19.7.200": (4, 400),
    "198.19.8.1": (5, 550),
    "198.19.8.2": (1, 64),
    "2001:db8:7::1": (5, 300 + 480),
    "2001:db8:7:0:1::2": (4, 680),
    "2001:db8:8::9": (1, 180),
}
DST_PREFIX_EXPECTED = {   # --prefix4 24 --prefix6 64
    "198.19.7.0/24": (10, 959),
    "198.19.8.0/24": (6, 614),
    "2001:db8:7::/64": (9, 1460),
    "2001:db8:8::/64": (1, 180),
}


def dst_frames():
    frames = []
    for tags, src, dst, n, length in DST_PLAN:
        frames += [udp(tags, src, dst, length)] * n
    return frames


@pytest.mark.parametrize("prefix", [False, True], ids=["address", "prefix"])
def test_dst_synthetic(lab, xdptop, tmp_path, prefix):
    pcap = write_frames(tmp_path / "dst.pcap", dst_frames())
    args = ["--key", "dst"] + (["--prefix4", "24", "--prefix6", "64"] if prefix else [])
    report = synthetic_json(lab, xdptop, pcap, args)
    got = {s["address"]: (s["packets"], s["bytes"]) for s in report["sources"]}
    assert got == (DST_PREFIX_EXPECTED if prefix else DST_EXPECTED)
    assert counts(report["other"]) == {"packets": 0, "bytes": 0}
    mode = {"key": "dst", **({"prefix4": 24, "prefix6": 64} if prefix else {})}
    check_report(report, M.count(M.read_pcap(pcap), **mode), vlan=False)


# ---------------------------------------------------------------- the command line

def unknown_field(field, arg):
    return (f'xdptop: unknown --key field "{field}" in "{arg}": use src, dst, proto, sport, '
            'dport or tcpflags, comma-separated (src,proto,dport)')


BAD_KEY_OPTIONS = [
    (["--prefix4", "0"], 'xdptop: --prefix4 must be a whole number >= 1, not "0"'),
    (["--prefix4", "33"], "xdptop: --prefix4 33 is too large: the most is 32"),
    (["--prefix6", "0"], 'xdptop: --prefix6 must be a whole number >= 1, not "0"'),
    (["--prefix6", "129"], "xdptop: --prefix6 129 is too large: the most is 128"),
    (["--prefix4", "-1"], 'xdptop: --prefix4 must be a whole number >= 1, not "-1"'),
    (["--prefix6", "/64"], 'xdptop: --prefix6 must be a whole number >= 1, not "/64"'),
    (["--key", "foo"], unknown_field("foo", "foo")),
    (["-k", "SRC"], unknown_field("SRC", "SRC")),
    (["--key", "src,port"], unknown_field("port", "src,port")),
    (["--key", "src,"], unknown_field("", "src,")),
    (["--key", ""], unknown_field("", "")),
    (["--key", "src dst"], unknown_field("src dst", "src dst")),
    (["--key", "dport,src,dport"],
     'xdptop: --key "dport,src,dport" names dport twice: name each field once'),
    (["--sort", "foo"], 'xdptop: unknown --sort "foo": use pps, bps, packets or bytes'),
]


@pytest.mark.parametrize("args,line", BAD_KEY_OPTIONS,
                         ids=[" ".join(a) for a, _ in BAD_KEY_OPTIONS])
def test_bad_key_option(lab, xdptop, args, line):
    _, ns = lab.pair(mtu=1500)
    res = ns.run(xdptop, *args, "v1", check=False, env=sanitizer_env(), timeout=30)
    assert res.returncode == USAGE, (res.returncode, res.stderr)
    assert res.stderr.splitlines() == [line]
    assert res.stdout == ""
    assert ns.xdp_attached() == []


# The log lines of VLAN_PLAN with --vlan --prefix4 24 --prefix6 64, by hand:
# packets, then bytes, descending.
VLAN_LOG_LINES = [
    "\t198.18.5.0/24 vlan 4095 => 7",
    "\t198.18.5.0/24 vlan 20.10 => 6",
    "\t198.18.5.0/24 vlan 10.20 => 5",
    "\t198.18.5.0/24 vlan 10 => 5",
    "\t198.18.5.0/24 vlan 20 => 4",
    "\t2001:db8:5::/64 vlan 10.20 => 3",
    "\t198.18.5.0/24 => 3",
    "\t2001:db8:5::/64 vlan 10 => 2",
    "\t198.18.5.0/24 vlan 4095.0 => 2",
    "\t2001:db8:5::/64 => 1",
    "\t198.18.5.0/24 vlan 0 => 1",
]


def test_vlan_prefix_log_synthetic(lab, xdptop, tmp_path):
    pcap = write_frames(tmp_path / "vlans.pcap", vlan_frames())
    args = ["--vlan", "--prefix4", "24", "--prefix6", "64"]
    agent = replay(lab, xdptop, [pcap], args, fmt="log")
    lines = agent.stdout().splitlines()
    assert re.fullmatch(HEADER, lines[0]), lines
    assert lines[1:1 + len(VLAN_LOG_LINES)] == VLAN_LOG_LINES, lines
    assert [line for line in lines if line.startswith("\t")] == VLAN_LOG_LINES
    model = M.count(M.read_pcap(pcap), vlan=True, prefix4=24, prefix6=64)
    assert expected_key_lines(model) == VLAN_LOG_LINES
