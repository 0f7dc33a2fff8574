"""End-to-end traffic, counted exactly: real pings and UDP from hundreds of
IPv4 and IPv6 sources, more sources than --max-sources, two interfaces at
once, a flood while reporting every 0.1 s, standard and jumbo MTU, --top, and
a valgrind run of the agent.

All traffic flows between the test's own namespaces, over veth pairs whose
both ends are inside them, from and to 198.18.0.0/15 and 2001:db8::/32 only.
Each sender is bounded in frames and time (see traffic.py).
"""
import json
import re
import time

import pytest

import traffic as T
from conftest import BUILD, DATA, VALGRIND_SUPP, as_expected, check_identity, counts, sh, \
    totals_line

ZERO = {"packets": 0, "bytes": 0}

def run_once(lab, ns, binary, args, send, n_ifaces=1, settle=0.2):
    """Starts xdptop, sends, lets the last frames land, stops it (one final
    report per interface); returns the agent."""
    agent = lab.start(ns, binary, *args)
    agent.wait_attached(n_ifaces)
    send()
    time.sleep(settle)
    assert agent.stop() == 0, agent.stderr()
    return agent


def only_report(agent):
    reports = agent.reports()
    assert len(reports) == 1, agent.stdout()
    check_identity(reports[0])
    return reports[0]


def ifindex(ns, ifname):
    out = sh("ip", "-n", ns.name, "-j", "link", "show", ifname).stdout
    return json.loads(out)[0]["ifindex"]


def frames_from(sizes_by_source, expected=None, vlan=None):
    """Frames for {source: [frame length, ...]}, interleaved across sources,
    and the Expected counts for them."""
    expected = expected or T.Expected()
    frames = []
    queues = {src: list(sizes) for src, sizes in sizes_by_source.items()}
    while queues:
        for src in list(queues):
            length = queues[src].pop(0)
            frames.append(T.udp_frame(src, length, vlan=vlan))
            expected.add(src, length)
            if not queues[src]:
                del queues[src]
    return frames, expected


def with_other(frames, expected):
    for frame, length in T.other_frames():
        frames.append(frame)
        expected.add_other(length)
    return frames, expected


# (a) Real ping and UDP from 120 IPv4 and 120 IPv6 source addresses.

N_ADDRS = 120
ADDRESSINGS = {
    # Static-style addresses: 198.18.1.1.., 2001:db8:1::1..
    "sequential": lambda: (T.ipv4_block("198.18.1.1", N_ADDRS) +
                           T.ipv6_sequential("2001:db8:1::/64", N_ADDRS)),
    # Privacy-style IPv6 addresses: random interface identifiers.
    "random-iid": lambda: (T.ipv4_block("198.18.1.1", N_ADDRS) +
                           T.ipv6_random_iids("2001:db8:1::/64", N_ADDRS, seed=1)),
}


@pytest.mark.parametrize("addressing", ["sequential",
                                        "random-iid"])
def test_ping_and_udp_from_many_sources(lab, xdptop, addressing):
    sources = ADDRESSINGS[addressing]()
    pair = T.RoutedPair(lab, sources)
    plan, expected = T.ping_udp_plan(pair, sources)
    results = []

    def send():
        results.extend(T.send_ping_udp(pair.sender, plan))

    agent = run_once(lab, pair.receiver, xdptop, ["--format", "json", "--interval", "60", "v1"],
                     send)
    # Each sender did exactly what the plan says, and the link worked both ways.
    for item, res in zip(plan, results, strict=True):
        assert res["transmitted"] == item["pings"], res
        assert res["received"] == item["pings"], res
        assert res["udp_sent"] == item["udp"], res
    report = only_report(agent)
    assert report["interface"] == "v1"
    assert report["ifindex"] == ifindex(pair.receiver, "v1")
    assert counts(report["untracked"]) == ZERO
    assert report["tracked_sources"] == 2 * N_ADDRS == len(report["sources"])
    assert as_expected(report) == expected.as_expected()   # other == 0, total exact


def test_ipv6_sources_of_one_subnet_are_tracked(lab, xdptop, tmp_path):
    """32 IPv6 sources 2001:db8:7::1..::20 that differ only in their last
    group, one 100-byte frame each, default --max-sources: all 32 tracked.
    Regression: the hash once never mixed that group into the slot index, so
    such sources shared one 8-slot probe window and most were untracked."""
    sources = T.ipv6_sequential("2001:db8:7::/64", 32)
    frames, expected = frames_from({s: [100] for s in sources})
    pcap = T.write_pcap(tmp_path / "subnet.pcap", frames)
    sender, receiver = lab.pair(mtu=1500)
    agent = run_once(lab, receiver, xdptop, ["--format", "json", "--interval", "60", "v1"],
                     lambda: T.replay(sender, "v0", pcap))
    report = only_report(agent)
    assert counts(report["total"]) == expected.total
    assert counts(report["untracked"]) == ZERO, report
    assert as_expected(report) == expected.as_expected()


# (b) More sources than --max-sources.

def test_more_sources_than_max_sources(lab, xdptop, tmp_path):
    sources = T.ipv4_block("198.18.3.1", 100) + T.ipv6_random_iids("2001:db8:3::/64", 100, 3)
    frames, expected = frames_from(
        {s: [64 + i + 7 * k for k in range(1 + i % 3)] for i, s in enumerate(sources)})
    frames, expected = with_other(frames, expected)
    pcap = T.write_pcap(tmp_path / "many.pcap", frames)
    sender, receiver = lab.pair(mtu=1500)
    sent = []
    agent = run_once(lab, receiver, xdptop, ["--format", "json", "--interval", "60",
                                             "--max-sources", "50", "v1"],
                     lambda: sent.append(T.replay(sender, "v0", pcap)))
    report = only_report(agent)       # the identity, exactly
    assert sent == [len(frames)]
    assert counts(report["total"]) == expected.total
    assert report["total"]["packets"] == len(frames)
    assert counts(report["other"]) == expected.as_expected()["other"]
    assert report["tracked_sources"] == 50
    assert len(report["sources"]) == 50
    assert report["untracked"]["packets"] > 0
    # Whatever is listed was sent, never more than was sent.
    want = expected.as_expected()["sources"]
    for s in report["sources"]:
        assert s["address"] in want, s
        assert 0 < s["packets"] <= want[s["address"]]["packets"], s
        assert 0 < s["bytes"] <= want[s["address"]]["bytes"], s


def test_idle_sources_give_way_when_full(lab, xdptop, tmp_path):
    """--max-sources 20: 20 sources A fill the tally, 5 of them with one
    frame, 15 with two. 5 new sources B are turned away (untracked) while it
    is full, and A, idle, gives way at the end of that interval down to 15
    (3/4 of 20): the 5 A of one frame, the fewest. B's next frames are
    tracked. The forgotten A's counts move to untracked, so the identity and
    the total stay exact."""
    old, new = T.ipv4_block("198.18.5.1", 20), T.ipv4_block("198.18.6.1", 5)
    frames_old, _ = frames_from({s: [100] * (1 if i < 5 else 2) for i, s in enumerate(old)})
    frames_new, _ = frames_from({s: [200] for s in new})
    pcap_old = T.write_pcap(tmp_path / "old.pcap", frames_old)
    pcap_new = T.write_pcap(tmp_path / "new.pcap", frames_new)
    sender, receiver = lab.pair(mtu=1500)
    agent = lab.start(receiver, xdptop, "--format", "json", "--interval", "0.2",
                      "--max-sources", "20", "v1")
    agent.wait_attached()
    T.replay(sender, "v0", pcap_old)
    time.sleep(1.0)                     # counted, then idle for several intervals
    T.replay(sender, "v0", pcap_new)    # turned away; 5 of A give way
    time.sleep(1.0)
    T.replay(sender, "v0", pcap_new)    # tracked
    time.sleep(1.0)                     # all idle, but nobody waits: all stay
    assert agent.stop() == 0, agent.stderr()
    reports = agent.reports()
    for report in reports:
        check_identity(report)
    assert any({s["address"] for s in r["sources"]} == set(old) for r in reports)  # A first
    last = reports[-1]
    assert last["tracked_sources"] == 20
    assert {s["address"]: (s["packets"], s["bytes"]) for s in last["sources"]} == \
        {**{s: (2, 200) for s in old[5:]}, **{s: (1, 200) for s in new}}
    assert counts(last["untracked"]) == {"packets": 10, "bytes": 1500}
    assert counts(last["total"]) == {"packets": 45, "bytes": 5500}


# (c) Two interfaces, one agent.

def two_link_traffic(tmp_path):
    """Different traffic for r0 and r1; some sources on both."""
    v6 = T.ipv6_random_iids("2001:db8:4::/64", 12, seed=4)
    first = {s: [80 + i] * (1 + i % 4) for i, s in enumerate(T.ipv4_block("198.18.4.1", 20) +
                                                                 v6[:6])}
    second = {s: [300 + 2 * i] * (2 + i % 3)
              for i, s in enumerate(T.ipv4_block("198.18.4.11", 30) + v6[3:])}
    frames0, exp0 = with_other(*frames_from(first))
    frames1, exp1 = frames_from(second, vlan=7)         # 802.1Q-tagged: 4 bytes more
    frames1 += [T.udp_frame(s, 1514) for s in v6[3:5]]
    for s in v6[3:5]:
        exp1.add(s, 1514)
    return (T.write_pcap(tmp_path / "r0.pcap", frames0), exp0,
            T.write_pcap(tmp_path / "r1.pcap", frames1), exp1)


def test_two_interfaces(lab, xdptop, tmp_path):
    pcap0, exp0, pcap1, exp1 = two_link_traffic(tmp_path)
    sender, receiver = lab.netns(), lab.netns()
    lab.veth(sender, receiver, "a0", "r0", mtu=1500)
    lab.veth(sender, receiver, "a1", "r1", mtu=1500)

    def send():
        T.replay(sender, "a0", pcap0)
        T.replay(sender, "a1", pcap1)

    agent = run_once(lab, receiver, xdptop, ["--format", "json", "--interval", "60",
                                             "r0", "r1"], send, n_ifaces=2)
    reports = agent.reports()
    assert [r["interface"] for r in reports] == ["r0", "r1"], agent.stdout()
    assert [r["ifindex"] for r in reports] == [ifindex(receiver, "r0"), ifindex(receiver, "r1")]
    for report, exp in zip(reports, (exp0, exp1)):
        check_identity(report)
        assert counts(report["untracked"]) == ZERO
        assert report["tracked_sources"] == len(exp.sources)
        assert as_expected(report) == exp.as_expected()

    # The log format names each interface in its header line.
    agent = run_once(lab, receiver, xdptop, ["--format", "log", "--interval", "60",
                                             "r0", "r1"], send, n_ifaces=2)
    lines = agent.stdout().splitlines()
    stamp = r"\d{4}/\d\d/\d\d \d\d:\d\d:\d\d"
    header0 = 0
    header1 = 2 + len(exp0.sources)
    assert re.fullmatch(stamp + r' Map contents of iface "r0":', lines[header0]), lines
    assert re.fullmatch(stamp + r' Map contents of iface "r1":', lines[header1]), lines
    assert lines[header0 + 1:header1 - 1] == exp0.log_lines()
    assert lines[header1 + 1:-1] == exp1.log_lines()
    for line, exp, iface in ((lines[header1 - 1], exp0, "r0"), (lines[-1], exp1, "r1")):
        want = exp.as_expected()
        totals_line(line, want["total"], want["other"], ZERO, len(exp.sources), iface)


# (d) A flood while xdptop reports every 0.1 s.

FLOOD_LOOPS = 200


def counters(report):
    return {k: (report[k]["packets"], report[k]["bytes"]) for k in ("other", "untracked", "total")}


def test_flood_while_reporting(lab, xdptop, tmp_path):
    # 1,000 sources; the IPv6 ones have random interface identifiers, so that
    sources = T.ipv4_block("198.18.16.1", 500) + T.ipv6_random_iids("2001:db8:16::/64", 500, 16)
    one_loop, per_loop = frames_from({s: [64 + i % 200] for i, s in enumerate(sources)})
    one_loop, per_loop = with_other(one_loop, per_loop)
    pcap = T.write_pcap(tmp_path / "flood.pcap", one_loop)
    expected = T.Expected()
    expected.merge(per_loop, times=FLOOD_LOOPS)
    sender, receiver = lab.pair(mtu=1500)
    sent = []
    agent = run_once(lab, receiver, xdptop, ["--format", "json", "--interval", "0.1", "v1"],
                     lambda: sent.append(T.replay(sender, "v0", pcap, loop=FLOOD_LOOPS)),
                     settle=0.3)
    assert sent == [FLOOD_LOOPS * len(one_loop)] == [expected.total["packets"]]
    reports = agent.reports()
    assert len(reports) >= 4, agent.stdout()
    prev = None
    for report in reports:
        check_identity(report)
        if prev is not None:
            for key, (p, b) in counters(prev).items():
                assert counters(report)[key][0] >= p and counters(report)[key][1] >= b, \
                    (key, prev, report)
            assert report["tracked_sources"] >= prev["tracked_sources"]
            now = {s["address"]: (s["packets"], s["bytes"]) for s in report["sources"]}
            for s in prev["sources"]:
                assert s["address"] in now, s
                assert now[s["address"]][0] >= s["packets"], s
                assert now[s["address"]][1] >= s["bytes"], s
        prev = report
    final = reports[-1]
    assert counts(final["untracked"]) == ZERO
    assert final["tracked_sources"] == 1000
    assert as_expected(final) == expected.as_expected()
    # The reports watched the flood as it went, not just before and after it.
    during = [r for r in reports if 0 < r["total"]["packets"] < expected.total["packets"]]
    assert len(during) >= 2, [r["total"] for r in reports]


# (e) Standard and jumbo MTU: every byte of every frame.

FRAME_SIZES = {
    1500: [64, 65, 128, 1000, 1499, 1500, 1514],
    9000: [64, 1514, 1515, 3000, 4096, 4097, 6000, 8192, 9000, 9014],
}
# (MTU, options) -> the program attached: the multi-buffer one by default;
# the single-buffer one when asked for and the MTU allows it; a wide key's
# pair of programs the same way.
WIDE = "--key src,proto"
MTU_CASES = {
    (1500, ""): "xdptop_frags",
    (9000, ""): "xdptop_frags",
    (1500, "--single-buffer"): "xdptop",
    (9000, "--single-buffer"): "xdptop_frags",
    (1500, f"--single-buffer {WIDE}"): "xdptop_wide",
    (9000, f"--single-buffer {WIDE}"): "xdptop_wfrags",
}


XDP_ATTACHED_DRV = 1     # "mode" in ip -j link's "xdp": native


def attached_program(ns, ifname):
    """(name of the XDP program on ifname, attach mode), as ip link tells."""
    link = json.loads(sh("ip", "-n", ns.name, "-d", "-j", "link", "show", ifname).stdout)[0]
    xdp = link.get("xdp", {})
    return xdp.get("prog", {}).get("name"), xdp.get("mode")


def mtu_traffic(tmp_path, mtu, sizes):
    """Per source, 3 frames of its own size and one of the largest."""
    v4 = T.ipv4_block("198.18.5.1", len(sizes))
    v6 = T.ipv6_random_iids("2001:db8:5::/64", len(sizes), seed=5)
    plan = {}
    for i, size in enumerate(sizes):
        plan[v4[i]] = [size] * 3 + [mtu + 14]
        plan[v6[i]] = [size] * 3 + [mtu + 14]
    frames, expected = frames_from(plan)
    return T.write_pcap(tmp_path / f"mtu{mtu}.pcap", frames), expected


@pytest.mark.parametrize("mtu,options", sorted(MTU_CASES), ids=lambda v: str(v) or "default")
def test_mtu(lab, xdptop, tmp_path, mtu, options):
    pcap, expected = mtu_traffic(tmp_path, mtu, FRAME_SIZES[mtu])
    sender, receiver = lab.pair(mtu=mtu)
    programs = []

    def send():
        programs.append(attached_program(receiver, "v1"))
        T.replay(sender, "v0", pcap)

    args = ["--format", "json", "--interval", "60", *options.split(), "v1"]
    agent = run_once(lab, receiver, xdptop, args, send)
    assert programs == [(MTU_CASES[mtu, options], XDP_ATTACHED_DRV)]
    report = only_report(agent)
    if WIDE in options:     # every frame is UDP: one key a source
        assert {s["proto"] for s in report["sources"]} == {17}
        report["sources"] = [dict(s, address=s["src"]) for s in report["sources"]]
    assert counts(report["untracked"]) == ZERO
    assert as_expected(report) == expected.as_expected()


def test_counting_never_caps_the_mtu(lab, xdptop, tmp_path):
    """Counting must not change what the link accepts: attached at MTU 1500,
    the default program lets both ends go to 9000, and jumbo frames are then
    counted to the byte. The single-buffer program (--single-buffer) is the
    trade-off the option's help names: the peer's MTU cannot go past ~3.5 KB."""
    sender, receiver = lab.pair(mtu=1500)
    agent = lab.start(receiver, xdptop, "--single-buffer", "-f", "json", "-i", "60", "v1")
    agent.wait_attached()
    raised = sh("ip", "-n", sender.name, "link", "set", "v0", "mtu", "9000", check=False)
    assert raised.returncode != 0 and "mtu greater than device maximum" in raised.stderr, raised
    assert agent.stop() == 0, agent.stderr()

    pcap, expected = mtu_traffic(tmp_path, 9000, FRAME_SIZES[9000])
    agent = lab.start(receiver, xdptop, "-f", "json", "-i", "60", "v1")
    agent.wait_attached()
    for ns, ifname in ((sender, "v0"), (receiver, "v1")):
        sh("ip", "-n", ns.name, "link", "set", ifname, "mtu", "9000")
    T.replay(sender, "v0", pcap)
    time.sleep(0.2)
    assert agent.stop() == 0, agent.stderr()
    report = only_report(agent)
    assert as_expected(report) == expected.as_expected()


# (f) --top N.

def test_top(lab, xdptop, tmp_path):
    v6 = T.ipv6_random_iids("2001:db8:6::/64", 8, seed=6)
    plan = {
        "198.18.6.1": [100] * 10,            # 1st: most packets
        v6[0]: [200] * 8,                    # 2nd: 8 packets, 1,600 bytes
        "198.18.6.2": [150] * 8,             # 3rd: 8 packets, 1,200 bytes
        "198.18.6.4": [100] * 6,             # 5th: tied with .3, which sorts first
        "198.18.6.3": [100] * 6,             # 4th
        v6[1]: [100] * 6,                    # 6th: tied too, IPv6 after IPv4
    }
    for i, s in enumerate(T.ipv4_block("198.18.6.10", 14) + v6[2:]):
        plan[s] = [90 + i] * (1 + i % 5)
    frames, expected = with_other(*frames_from(plan))
    pcap = T.write_pcap(tmp_path / "top.pcap", frames)
    sender, receiver = lab.pair(mtu=1500)
    send = lambda: T.replay(sender, "v0", pcap)  # noqa: E731
    top = expected.ranked()[:5]
    assert [a for a, _, _ in top] == ["198.18.6.1", T.canonical(v6[0]), "198.18.6.2",
                                      "198.18.6.3", "198.18.6.4"]

    agent = run_once(lab, receiver, xdptop, ["--format", "json", "--interval", "60",
                                             "--top", "5", "v1"], send)
    reports = agent.reports()
    assert len(reports) == 1, agent.stdout()
    report = reports[0]
    assert [(s["address"], s["packets"], s["bytes"]) for s in report["sources"]] == top
    assert report["tracked_sources"] == len(plan) == 26
    assert counts(report["other"]) == expected.as_expected()["other"]
    assert counts(report["untracked"]) == ZERO
    assert counts(report["total"]) == expected.total
    # The hidden sources are still in the total.
    shown = sum(s["packets"] for s in report["sources"])
    assert shown + report["other"]["packets"] < report["total"]["packets"]

    agent = run_once(lab, receiver, xdptop, ["--format", "log", "--interval", "60",
                                             "--top", "5", "v1"], send)
    lines = agent.stdout().splitlines()
    assert re.fullmatch(r"\d{4}/\d\d/\d\d \d\d:\d\d:\d\d Map contents:", lines[0]), lines
    assert lines[1:-1] == expected.log_lines(top=5)
    want = expected.as_expected()
    totals_line(lines[-1], want["total"], want["other"], ZERO, len(plan))


# (g) valgrind memcheck of the plain build.

@pytest.mark.skipif(not (BUILD / "xdptop").exists(), reason="no plain build")
def test_valgrind_memcheck(lab):
    sender, receiver = lab.pair(mtu=9000)
    # valgrind.supp: two false positives of valgrind's bpf() wrapper on a
    # libbpf feature probe, each explained there.
    agent = lab.start(receiver, "valgrind", "--leak-check=full",
                      "--errors-for-leak-kinds=definite", "--error-exitcode=42",
                      f"--suppressions={VALGRIND_SUPP}",
                      str(BUILD / "xdptop"), "--format", "json", "--interval", "0.3",
                      "--count", "3", "v1")
    agent.wait_attached(timeout=60)
    T.replay(sender, "v0", DATA / "dcb_ets.pcap")
    rc = agent.wait(timeout=120)
    err = agent.stderr()
    assert rc == 0, err
    assert "ERROR SUMMARY: 0 errors" in err, err
    reports = agent.reports()
    assert len(reports) == 3, agent.stdout()
    for report in reports:
        check_identity(report)
    assert as_expected(reports[-1]) == json.loads((DATA / "dcb_ets.expected.json").read_text())
