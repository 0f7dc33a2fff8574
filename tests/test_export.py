"""IPFIX export (--ipfix), end to end: real traffic onto a veth, xdptop
sending to real collectors in the receiver's namespace, and what they
collected against xdptop's own JSON reports, exactly.

  nfacctd (pmacct)   per-key sums over the run
  nfcapd (nfdump)    per-key sums over its stored records
  python3-ipfix      every message decoded and walked: sizes, sequence
                     numbers, the templates each message carries, every
                     record; per interval keys + other + untracked == total

The collectors listen on the receiver namespace's loopback; nothing leaves
the test's namespaces."""
import collections
import re
import shutil
import time
from pathlib import Path

import pytest

import corpus
import fieldframes
from collectors import Capture, Nfacctd, Nfcapd, wait_until
from conftest import BUILD, VALGRIND_SUPP, as_expected, pace, sh
from test_defects import with_fault
from test_pin import bpffs  # noqa: F401 (a fixture)

IPFIX_ONLY = ["--format", "json", "--interval", "1"]


@pytest.fixture
def services():
    """Collectors started by a test, stopped at its end whatever happens."""
    started = []
    yield started
    for s in started:
        s.stop()


def start(services, collector):
    services.append(collector)
    return collector.start()


def receiver_with_loopback(lab, mtu=9000):
    sender, receiver = lab.pair(mtu=mtu)
    receiver.run("ip", "link", "set", "lo", "up")
    return sender, receiver


def replay(sender, *pcaps):
    for pcap in pcaps:
        sender.run("tcpreplay", "-q", *pace(), "-i", "v0", str(pcap))


# ---------------------------------------------------------------- decoding


def messages_of(capture):
    """Every datagram, checked as an IPFIX message of ours, decoded with
    python3-ipfix: [(header, [record dicts])]. Each message carries the
    template of every record in it, before its records."""
    import ipfix.ie
    import ipfix.message
    ipfix.ie.use_iana_default()
    out = []
    for d in capture.datagrams():
        assert int.from_bytes(d[0:2], "big") == 10 and int.from_bytes(d[2:4], "big") == len(d)
        defined, off = set(), 16
        while off < len(d):
            set_id, length = int.from_bytes(d[off:off + 2], "big"), \
                int.from_bytes(d[off + 2:off + 4], "big")
            assert length > 4 and off + length <= len(d), (off, length)
            if set_id in (2, 3):
                defined.add(int.from_bytes(d[off + 4:off + 6], "big"))
            else:
                assert set_id in defined, f"records of template {set_id} before it"
            off += length
        buf = ipfix.message.MessageBuffer()     # a new one: no template carried over
        buf.from_bytes(d)
        out.append(((buf.odid, buf.sequence, len(d)), list(buf.namedict_iterator())))
    return out


def check_sequence(msgs):
    """Each message's sequence number counts the data records (options
    records too, RFC 7011 3.1) of the messages before it in its domain."""
    sent = collections.Counter()
    for (domain, sequence, _), records in msgs:
        assert sequence == sent[domain], (domain, sequence, sent[domain])
        sent[domain] += len(records)


def address(rec, side):
    for ie in (f"{side}IPv4Address", f"{side}IPv6Address"):
        if ie in rec:
            return str(rec[ie])
    return None


def split(msgs):
    """(key records, totals records, sampling records) of the messages."""
    keys, totals, sampling = [], [], []
    for _, records in msgs:
        for r in records:
            if "samplingPacketInterval" in r:
                sampling.append(r)
            elif "ignoredPacketTotalCount" in r:
                totals.append(r)
            else:
                keys.append(r)
    return keys, totals, sampling


def check_intervals(keys, totals):
    """Per interface and interval: the keys' records + other + untracked ==
    all frames, packets and bytes; every key record inside an interval that
    has a totals record."""
    by_interval = collections.defaultdict(lambda: [0, 0])
    for r in keys:
        k = (r["ingressInterface"], r["flowStartMilliseconds"], r["flowEndMilliseconds"])
        by_interval[k][0] += r["packetDeltaCount"]
        by_interval[k][1] += r["octetDeltaCount"]
        assert r["packetDeltaCount"] > 0, r
    seen = set()
    for t in totals:
        k = (t["ingressInterface"], t["flowStartMilliseconds"], t["flowEndMilliseconds"])
        assert k not in seen, k
        seen.add(k)
        kp, kb = by_interval.get(k, [0, 0])
        assert kp + t["ignoredPacketTotalCount"] + t["notSentPacketTotalCount"] == \
            t["packetDeltaCount"], t
        assert kb + t["ignoredOctetTotalCount"] + t["notSentOctetTotalCount"] == \
            t["octetDeltaCount"], t
    assert set(by_interval) <= seen


def sum_by(items, key_of, counts_of):
    """{key_of(item): [packets, bytes]} added up over items."""
    out = collections.defaultdict(lambda: [0, 0])
    for item in items:
        packets, octets = counts_of(item)
        out[key_of(item)][0] += packets
        out[key_of(item)][1] += octets
    return dict(out)


def record_sums(keys, key_of):
    return sum_by(keys, key_of, lambda r: (r["packetDeltaCount"], r["octetDeltaCount"]))


def json_sums(report, key_of):
    return sum_by(report["sources"], key_of, lambda s: (s["packets"], s["bytes"]))


def merged(sums, key_of):
    """sums ({key: [packets, bytes]}) by key_of(key)."""
    return sum_by(sums.items(), lambda kv: key_of(kv[0]), lambda kv: kv[1])


def totals_sum(totals, packets, octets):
    return {"packets": sum(t[packets] for t in totals), "bytes": sum(t[octets] for t in totals)}


def check_totals(totals, report):
    """The options records, added up, are the run's other, untracked and
    total as the JSON report has them."""
    plain = {name: {"packets": report[name]["packets"], "bytes": report[name]["bytes"]}
             for name in ("total", "other", "untracked")}
    assert {"total": totals_sum(totals, "packetDeltaCount", "octetDeltaCount"),
            "other": totals_sum(totals, "ignoredPacketTotalCount", "ignoredOctetTotalCount"),
            "untracked": totals_sum(totals, "notSentPacketTotalCount",
                                    "notSentOctetTotalCount")} == plain


# ---------------------------------------------------------------- corpus


def test_corpus_to_every_collector(lab, xdptop, services, tmp_path):
    """All 40 captures, one after another, to nfacctd, nfcapd and a plain
    socket at once (one message encoded, sent to each): per source, what
    each collected over the run is xdptop's count, packets and bytes."""
    sender, receiver = receiver_with_loopback(lab)
    nfacctd = start(services, Nfacctd(receiver, tmp_path, "src_host"))
    nfcapd = start(services, Nfcapd(receiver, tmp_path))
    capture = start(services, Capture(receiver, tmp_path))
    agent = lab.start(receiver, xdptop, *IPFIX_ONLY, "--ipfix", "127.0.0.1:4739",
                      "--ipfix", "127.0.0.1:4740", "--ipfix", "127.0.0.1:4741", "v1")
    agent.wait_attached()
    replay(sender, *(corpus.pcap(n) for n in corpus.CAPTURES))
    assert agent.stop() == 0, agent.stderr()
    report = agent.reports()[-1]
    expected = json_sums(report, lambda s: s["address"])
    assert len(expected) > 50 and report["untracked"]["packets"] == 0

    assert nfacctd.wait_sums(lambda r: r["ip_src"], expected) == expected
    nfcapd.stop()
    assert nfcapd.sums(lambda r: r["sa"]) == expected
    msgs = messages_of(capture)
    assert all(size <= 1400 - 28 for (_, _, size), _ in msgs)
    check_sequence(msgs)
    keys, totals, sampling = split(msgs)
    assert record_sums(keys, lambda r: address(r, "source")) == expected
    check_intervals(keys, totals)
    check_totals(totals, report)
    assert sampling and all(s["samplingPacketInterval"] == 1 and
                            s["samplingPacketSpace"] == 0 for s in sampling)
    assert "cannot send" not in agent.stderr()


# ---------------------------------------------------------------- every field


FIELDS = "src,dst,proto,sport,dport,tcpflags"


def json_key(s):
    vlans = s["vlan"] + [None, None]
    return (s["src"], s["dst"], s["proto"], s["sport"], s["dport"], s["tcpflags"],
            vlans[0], vlans[1])


def record_key(r):
    return (address(r, "source"), address(r, "destination"), r["protocolIdentifier"],
            r["sourceTransportPort"], r["destinationTransportPort"], r["tcpControlBits"],
            r.get("vlanId"), r.get("dot1qCustomerVlanId"))


def test_every_field_to_every_collector(lab, xdptop, services, tmp_path):
    """Generated frames of every rule of the key fields, IPv4 and IPv6,
    untagged, 802.1Q, 802.1ad and QinQ, under the widest key with --vlan:
    python3-ipfix reads back every field of every key (the QinQ frames'
    outer VLAN as vlanId and dot1qVlanId, the inner as dot1qCustomerVlanId);
    nfacctd and nfcapd sum exactly by what they keep of a key (nfacctd ORs
    the TCP flags of the records it adds up; each keeps one VLAN)."""
    pcap = tmp_path / "fields.pcap"
    fieldframes.write_pcap(pcap, fieldframes.frames())
    sender, receiver = receiver_with_loopback(lab)
    nfacctd = start(services, Nfacctd(receiver, tmp_path,
                                      "src_host,dst_host,proto,src_port,dst_port,vlan"))
    nfcapd = start(services, Nfcapd(receiver, tmp_path))
    capture = start(services, Capture(receiver, tmp_path))
    agent = lab.start(receiver, xdptop, *IPFIX_ONLY, "--key", FIELDS, "--vlan",
                      "--ipfix", "127.0.0.1:4739", "--ipfix", "127.0.0.1:4740",
                      "--ipfix", "127.0.0.1:4741", "v1")
    agent.wait_attached()
    replay(sender, pcap)
    assert agent.stop() == 0, agent.stderr()
    report = agent.reports()[-1]
    expected = json_sums(report, json_key)
    assert any(k[7] is not None for k in expected) and any(k[6] is None for k in expected)

    msgs = messages_of(capture)
    check_sequence(msgs)
    keys, totals, _ = split(msgs)
    assert record_sums(keys, record_key) == expected
    for r in keys:      # a QinQ key's outer VLAN in both its elements
        assert r.get("dot1qVlanId", r.get("vlanId")) == r.get("vlanId"), r
    check_intervals(keys, totals)
    check_totals(totals, report)

    by_outer = merged(expected, lambda k: (k[0], k[1], k[2], k[3], k[4], k[6] or 0))
    assert nfacctd.wait_sums(lambda r: (r["ip_src"], r["ip_dst"], int(r["ip_proto"]),
                                        r["port_src"], r["port_dst"], r["vlan"]),
                             by_outer) == by_outer
    nfcapd.stop()
    by_ports = merged(by_outer, lambda k: (k[0], k[1], k[3], k[4], k[5]))
    assert nfcapd.sums(lambda r: (r["sa"], r["da"], int(r["sp"]), int(r["dp"]),
                                  int(r["svln"]))) == by_ports


# ---------------------------------------------------------------- prefixes


def test_prefixes_to_nfacctd(lab, xdptop, services, tmp_path):
    """--prefix4 24 --prefix6 64: records carry the prefix and its length
    (sourceIPv4PrefixLength, sourceIPv6PrefixLength), and nfacctd,
    aggregating by network and mask as the records give them, sums
    exactly per prefix."""
    sender, receiver = receiver_with_loopback(lab)
    nfacctd = start(services, Nfacctd(receiver, tmp_path, "src_net,src_mask"))
    capture = start(services, Capture(receiver, tmp_path, port=4741))
    agent = lab.start(receiver, xdptop, *IPFIX_ONLY, "--prefix4", "24", "--prefix6", "64",
                      "--ipfix", "127.0.0.1:4739", "--ipfix", "127.0.0.1:4741", "v1")
    agent.wait_attached()
    replay(sender, *(corpus.pcap(n) for n in ("kday2", "icmpv6", "dhcpv6-ia-na", "bgp-bgpsec")))
    assert agent.stop() == 0, agent.stderr()
    report = agent.reports()[-1]
    expected = json_sums(report, lambda s: s["address"])
    assert any("/64" in k for k in expected) and any("/24" in k for k in expected)
    keys, totals, _ = split(messages_of(capture))
    lengths = {r.get("sourceIPv4PrefixLength", r.get("sourceIPv6PrefixLength")) for r in keys}
    assert lengths == {24, 64}
    assert record_sums(keys, lambda r: "%s/%d" % (
        address(r, "source"),
        r.get("sourceIPv4PrefixLength", r.get("sourceIPv6PrefixLength")))) == expected
    got = nfacctd.wait_sums(lambda r: "%s/%d" % (r["net_src"], r["mask_src"]), expected)
    assert got == expected


# ---------------------------------------------------------------- failures


def test_collector_down_then_up(lab, xdptop, services, tmp_path):
    """No collector at first: its port refuses (ICMP), xdptop says so once,
    and counts on exactly. Started later: xdptop says it sends again, and
    nfacctd has every frame sent after that, exactly."""
    sender, receiver = receiver_with_loopback(lab)
    agent = lab.start(receiver, xdptop, *IPFIX_ONLY, "--ipfix", "127.0.0.1:4739", "v1")
    agent.wait_attached()
    replay(sender, corpus.pcap("kday2"))
    wait_until(lambda: "cannot send IPFIX" in agent.stderr(), "the failure said")
    wait_until(lambda: len(agent.reports()) >= 4, "three more rounds")
    err = agent.stderr()
    assert err.count("xdptop: cannot send IPFIX to 127.0.0.1:4739 (Connection refused): "
                     "counting and the other outputs go on, and xdptop sends again as soon "
                     "as it can (said once)\n") == 1, err
    nfacctd = start(services, Nfacctd(receiver, tmp_path, "src_host"))
    wait_until(lambda: "sending IPFIX to 127.0.0.1:4739 again" in agent.stderr(), "the return said")
    before = json_sums(agent.reports()[-1], lambda s: s["address"])
    replay(sender, corpus.pcap("bgp-bgpsec"))
    assert agent.stop() == 0, agent.stderr()
    assert re.search(r"xdptop: sending IPFIX to 127\.0\.0\.1:4739 again: [1-9]\d* messages "
                     r"lost while it failed\n", agent.stderr()), agent.stderr()
    after = json_sums(agent.reports()[-1], lambda s: s["address"])
    sent_since = {k: [v[0] - before.get(k, [0, 0])[0], v[1] - before.get(k, [0, 0])[1]]
                  for k, v in after.items() if v != before.get(k)}
    assert sent_since and before
    assert nfacctd.wait_sums(lambda r: r["ip_src"], sent_since) == sent_since
    assert agent.stderr().count("cannot send IPFIX") == 1


def test_collector_never_up(lab, xdptop):
    """A collector that never answers: the JSON counts are exact all the
    same, the failure is said once, and at exit how many messages were
    lost."""
    sender, receiver = receiver_with_loopback(lab)
    agent = lab.start(receiver, xdptop, *IPFIX_ONLY, "--ipfix", "127.0.0.1:4739", "v1")
    agent.wait_attached()
    replay(sender, corpus.pcap("kday2"))
    wait_until(lambda: "cannot send IPFIX" in agent.stderr() and len(agent.reports()) >= 3,
          "the failure said, three rounds")
    assert agent.stop() == 0, agent.stderr()
    assert as_expected(agent.reports()[-1]) == corpus.expected("kday2")
    err = agent.stderr()
    assert err.count("cannot send IPFIX") == 1 and "IPFIX to 127.0.0.1:4739 again" not in err, err
    assert re.search(r"\nxdptop: sending IPFIX to 127\.0\.0\.1:4739 still fails: [1-9]\d* "
                     r"messages lost since it started failing\n", err), err


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize("arg,message", [
    ("198.18.0.2", 'xdptop: --ipfix "198.18.0.2" is not HOST:PORT: use a name or an address '
                   "and a port (collector.example:4739, 198.18.0.2:4739, [2001:db8::2]:4739)"),
    ("2001:db8::2:4739", 'xdptop: --ipfix "2001:db8::2:4739" is not HOST:PORT: use a name or '
                         "an address and a port (collector.example:4739, 198.18.0.2:4739, "
                         "[2001:db8::2]:4739)"),
    ("[198.18.0.2]:4739", 'xdptop: --ipfix "[198.18.0.2]:4739" is not HOST:PORT: use a name '
                          "or an address and a port (collector.example:4739, "
                          "198.18.0.2:4739, [2001:db8::2]:4739)"),
    (":4739", 'xdptop: --ipfix ":4739" is not HOST:PORT: use a name or an address and a port '
              "(collector.example:4739, 198.18.0.2:4739, [2001:db8::2]:4739)"),
    ("198.18.0.2:0", 'xdptop: --ipfix "198.18.0.2:0": the port must be 1-65535'),
    ("198.18.0.2:65536", 'xdptop: --ipfix "198.18.0.2:65536": the port must be 1-65535'),
    ("198.18.0.2:", 'xdptop: --ipfix "198.18.0.2:" is not HOST:PORT: use a name or an address '
                    "and a port (collector.example:4739, 198.18.0.2:4739, [2001:db8::2]:4739)"),
    ("no-such-collector.invalid:4739", 'xdptop: cannot resolve --ipfix host '
                                       '"no-such-collector.invalid" (RESOLVER): check the '
                                       "name, or give the collector's address"),
])
def test_bad_collector(lab, xdptop, arg, message):
    """Refused before anything is attached, in one line, exit 2. The name
    is looked up in a namespace of the test's, which has no route: the
    lookup fails there, it never leaves the machine."""
    sender, receiver = lab.pair()
    r = receiver.run(xdptop, "--ipfix", arg, "v1", check=False)
    # glibc's words for a lookup that cannot reach a server, or one that
    # says no: which one depends on the host's resolver configuration.
    causes = ("Temporary failure in name resolution", "Name or service not known")
    assert (r.returncode, r.stdout) == (2, "")
    assert r.stderr in [message.replace("RESOLVER", c) + "\n" for c in causes], r.stderr
    assert receiver.xdp_attached() == []


def test_collector_named_twice(lab, xdptop):
    sender, receiver = lab.pair()
    r = receiver.run(xdptop, "--ipfix", "198.18.0.2:4739", "--ipfix", "198.18.0.2:4739", "v1",
                     check=False)
    assert (r.returncode, r.stderr) == (2, 'xdptop: --ipfix "198.18.0.2:4739" is '
                                           '"198.18.0.2:4739" again: name each collector once\n')


def test_ipfix_options_need_ipfix(xdptop):
    r = sh(xdptop, "--ipfix-mtu", "1500", "lo", check=False)
    assert (r.returncode, r.stderr) == (2, "xdptop: --ipfix-mtu and --ipfix-domain need "
                                           "--ipfix: add --ipfix HOST:PORT\n")
    r = sh(xdptop, "--ipfix", "127.0.0.1:4739", "--ipfix-mtu", "575", "lo", check=False)
    assert (r.returncode, r.stderr) == (2, 'xdptop: --ipfix-mtu must be a whole number >= 576, '
                                           'not "575"\n')


def test_pure_exporter(lab, xdptop, services, tmp_path):
    """--format none --ipfix: nothing on stdout, every frame to the
    collector; the start says where, in which domain, in what size."""
    sender, receiver = receiver_with_loopback(lab, mtu=1500)
    capture = start(services, Capture(receiver, tmp_path, port=4741))
    agent = lab.start(receiver, xdptop, "-f", "none", "-i", "1", "--ipfix", "127.0.0.1:4741",
                      "--ipfix-mtu", "576", "--ipfix-domain", "7", "v1")
    agent.wait_attached()
    replay(sender, corpus.pcap("kday2"))
    wait_until(lambda: len(capture.datagrams()) >= 3, "three rounds")
    assert agent.stop() == 0, agent.stderr()
    assert agent.stdout() == ""
    assert "xdptop: sending IPFIX to 127.0.0.1:4741 every interval (observation domain 7, " \
        "messages of up to 548 bytes)\n" in agent.stderr()
    msgs = messages_of(capture)
    assert {h[0] for h, _ in msgs} == {7} and max(h[2] for h, _ in msgs) <= 548
    check_sequence(msgs)
    keys, totals, _ = split(msgs)
    check_intervals(keys, totals)
    assert totals_sum(totals, "packetDeltaCount", "octetDeltaCount") == \
        corpus.expected("kday2")["total"]


# ---------------------------------------------------------------- names


@pytest.fixture
def hosts_file(lab):
    """writes(ns, text): the /etc/hosts that `ip netns exec` gives ns's
    commands (/etc/netns/NS/hosts, bind-mounted over /etc/hosts), written in
    place so that a running command sees the change; removed at the end."""
    made = []

    def write(ns, text):
        d = Path("/etc/netns") / ns.name
        if d not in made:
            d.mkdir(parents=True, exist_ok=True)
            (d / "hosts").touch()
            made.append(d)
        with open(d / "hosts", "r+") as f:
            f.truncate(0)
            f.write(text)
    yield write
    for d in made:
        shutil.rmtree(d)


def test_name_looked_up_again(lab, xdptop, services, tmp_path, hosts_file):
    """--ipfix collector.test:4739, a name of the namespace's hosts file:
    resolved at start to an address where nothing listens (refused), then
    moved to the one where nfacctd listens. xdptop looks the name up again
    while sending fails, sends there, says so, and nfacctd has every frame
    sent after, exactly."""
    looked_up_again(lab, services, tmp_path, hosts_file, [xdptop])


def test_valgrind_memcheck_export(lab, services, tmp_path, hosts_file):
    """The same under valgrind (the plain build): the lookup in the
    background (getaddrinfo_a's thread), the sockets made again, the
    messages; no error, no leak."""
    err = looked_up_again(lab, services, tmp_path, hosts_file, [
        "valgrind", "--leak-check=full", "--errors-for-leak-kinds=definite",
        "--error-exitcode=42", f"--suppressions={VALGRIND_SUPP}", str(BUILD / "xdptop")])
    assert "ERROR SUMMARY: 0 errors" in err, err


def looked_up_again(lab, services, tmp_path, hosts_file, command):
    sender, receiver = receiver_with_loopback(lab)
    hosts_file(receiver, "127.0.0.2 collector.test\n")
    nfacctd = start(services, Nfacctd(receiver, tmp_path, "src_host"))
    agent = lab.start(receiver, *command, *IPFIX_ONLY, "--ipfix", "collector.test:4739", "v1")
    agent.wait_attached(timeout=60)
    wait_until(lambda: "cannot send IPFIX to collector.test:4739" in agent.stderr(), "the failure",
          timeout=60)
    hosts_file(receiver, "127.0.0.1 collector.test\n")
    wait_until(lambda: "sending IPFIX to collector.test:4739 again" in agent.stderr(),
          lambda: f"the return ({agent.stderr()})", timeout=60)
    before = json_sums(agent.reports()[-1], lambda s: s["address"])
    replay(sender, corpus.pcap("bgp-bgpsec"))
    assert agent.stop(timeout=120) == 0, agent.stderr()
    after = json_sums(agent.reports()[-1], lambda s: s["address"])
    assert not before and after
    assert nfacctd.wait_sums(lambda r: r["ip_src"], after) == after
    return agent.stderr()


# ---------------------------------------------------------------- a fleet


def test_two_hosts_one_collector(lab, xdptop, services, tmp_path):
    """Two hosts export to one nfacctd, each over a link of its own into
    the collector's namespace. A scanner is small on each host: below
    --metrics-top, so Prometheus never shows it; nfacctd's sum of it over
    the fleet is the two hosts' JSON counts added, exactly, and so is every
    other key's."""
    import traffic as T
    collector = lab.netns()
    collector.run("ip", "link", "set", "lo", "up")
    nfacctd = None
    agents, plans = [], {}
    for h in (1, 2):
        sender, host = receiver_with_loopback(lab, mtu=1500)
        lab.veth(host, collector, "up0", f"c{h}")
        host.run("ip", "addr", "add", f"198.18.{h}.1/30", "dev", "up0")
        collector.run("ip", "addr", "add", f"198.18.{h}.2/30", "dev", f"c{h}")
        busy = [T.udp_frame(f"198.18.10.{h}", 100)] * 40
        scan = [T.udp_frame("198.18.10.99", 60 + h)] * (2 + h)
        pcap = T.write_pcap(tmp_path / f"host{h}.pcap", busy + scan)
        plans[h] = (sender, pcap)
        if nfacctd is None:
            nfacctd = start(services, Nfacctd(collector, tmp_path, "src_host", addr="0.0.0.0"))
        agent = lab.start(host, xdptop, *IPFIX_ONLY, "--listen", "127.0.0.1:9464",
                          "--metrics-top", "1", "--ipfix", f"198.18.{h}.2:4739", "v1")
        agent.wait_attached()
        agents.append((host, agent))
    for h, (sender, pcap) in plans.items():
        T.replay(sender, "v0", pcap)
    wait_until(lambda: all(a.reports() and a.reports()[-1]["total"]["packets"] >= 43
                      for _, a in agents), "both hosts counted")
    time.sleep(1.5)   # a round past the last frame, so /metrics has them
    for host, agent in agents:
        page = host.run("/usr/bin/python3", "-c", "import urllib.request as u; print(u.urlopen("
                        "'http://127.0.0.1:9464/metrics').read().decode())").stdout
        assert 'address="198.18.10.' in page and "198.18.10.99" not in page, page
    for _, agent in agents:
        assert agent.stop() == 0, agent.stderr()
    fleet = sum_by([s for _, a in agents for s in a.reports()[-1]["sources"]],
                   lambda s: s["address"], lambda s: (s["packets"], s["bytes"]))
    assert fleet["198.18.10.99"] == [3 + 4, 3 * 61 + 4 * 62], fleet
    assert nfacctd.wait_sums(lambda r: r["ip_src"], fleet) == fleet


# ---------------------------------------------------------------- --pin


# The datagram an agent dies sending: the first (no record of the round
# sent yet), the second and the fourth (inside the first round: it takes
# several messages of 548 bytes).
@pytest.mark.parametrize("die_at", [1, 2, 4])
def test_pin_restart_sends_each_record_once(lab, xdptop, bpffs, services, tmp_path, die_at):
    """With --pin, an agent killed (SIGKILL) as it is about to send a
    message, after its round was committed: the next agent adopts the
    counts, sends what the first had not sent of that round (from the
    record it stopped at) and goes on. Every record is sent once: the
    sequence numbers run on without a gap or a repeat across both agents,
    and the records add up to the last agent's JSON, key by key, and so do
    the totals options records."""
    sender, receiver = receiver_with_loopback(lab)
    capture = start(services, Capture(receiver, tmp_path, port=4741))
    args = ["--pin=" + str(bpffs / "xdptop"), *IPFIX_ONLY, "--ipfix", "127.0.0.1:4741",
            "--ipfix-mtu", "576", "v1"]
    first = lab.start(receiver, *with_fault(xdptop, f"die_at_send={die_at}"), *args)
    first.wait_attached()
    # 818 frames at once: the first round holds their keys, 7 messages.
    sender.run("tcpreplay", "-q", *pace(), "-i", "v0",
               *(str(corpus.pcap(n)) for n in corpus.CAPTURES[:20]))
    assert first.wait(timeout=60) == -9, first.stderr()
    sent_before = len(capture.datagrams())
    assert sent_before == die_at - 1
    replay(sender, corpus.pcap("kday2"))        # counted by the program alone
    restarted_ms = time.time() * 1000
    second = lab.start(receiver, xdptop, *args)
    wait_until(lambda: "Adopted the XDP program pinned" in second.stderr(), "adoption")
    replay(sender, *(corpus.pcap(n) for n in corpus.CAPTURES[20:]))
    wait_until(lambda: len(second.reports()) >= 2, "two rounds")
    assert second.stop() == 0, second.stderr()
    report = second.reports()[-1]

    msgs = messages_of(capture)
    check_sequence(msgs)
    # The second agent's first message is of the round the first died in:
    # keys of an interval that ended before it started.
    caught_up, _, _ = split(msgs[die_at - 1:die_at])
    assert caught_up and all(r["flowEndMilliseconds"].timestamp() * 1000 < restarted_ms
                             for r in caught_up), caught_up
    keys, totals, _ = split(msgs)
    assert record_sums(keys, lambda r: address(r, "source")) == \
        json_sums(report, lambda s: s["address"])
    check_intervals(keys, totals)
    check_totals(totals, report)
    receiver.run(xdptop, "--pin=" + str(bpffs / "xdptop"), "--detach", "v1")


def test_a_watcher_refuses_ipfix(lab, xdptop, bpffs):
    """Beside an xdptop --pin that counts v1, another xdptop would watch it
    read-only: with --ipfix it refuses (the one that counts exports; a
    second exporter would double every frame at the collector), exit 2,
    and the pinned one goes on."""
    sender, receiver = lab.pair()
    pin = "--pin=" + str(bpffs / "xdptop")
    agent = lab.start(receiver, xdptop, pin, "-f", "json", "v1")
    agent.wait_attached()
    r = receiver.run(xdptop, pin, "--ipfix", "127.0.0.1:4739", "-f", "json", "v1", check=False)
    assert (r.returncode, r.stdout) == (2, "")
    assert re.fullmatch(f'xdptop: iface "v1" is counted by an xdptop pinned in {bpffs}/xdptop/'
                        r'net\d+/\d+, which alone can export what it counts: give --ipfix to '
                        r"that xdptop \(XDPTOP_OPTS in /etc/default/xdptop for the service\), "
                        r"not to a watcher\n", r.stderr), r.stderr
    assert agent.proc.poll() is None
    assert agent.stop() == 0, agent.stderr()
    receiver.run(xdptop, pin, "--detach", "v1")


def test_a_large_round_goes_at_a_pace(lab, xdptop, services, tmp_path):
    """3,000 sources in one round, in messages of 548 bytes: some 250
    messages, sent over about half the interval (src/pacer.c: 16 every
    5 ms at least), not at once; every record arrives, in order."""
    import traffic as T
    frames = [T.udp_frame(f"198.18.{10 + i // 250}.{1 + i % 250}", 64) for i in range(3000)]
    pcap = T.write_pcap(tmp_path / "many.pcap", frames)
    sender, receiver = receiver_with_loopback(lab)
    capture = start(services, Capture(receiver, tmp_path, port=4741))
    agent = lab.start(receiver, xdptop, "-f", "json", "-i", "2", "--ipfix", "127.0.0.1:4741",
                      "--ipfix-mtu", "576", "v1")
    agent.wait_attached()
    replay(sender, pcap)
    wait_until(lambda: len(agent.reports()) >= 2, "two rounds")
    assert agent.stop() == 0, agent.stderr()
    arrivals = capture.arrivals()
    msgs = messages_of(capture)
    check_sequence(msgs)
    keys, totals, _ = split(msgs)
    assert record_sums(keys, lambda r: address(r, "source")) == \
        json_sums(agent.reports()[-1], lambda s: s["address"])
    check_intervals(keys, totals)
    # The round of the 3,000 keys: its messages, from the first to the last.
    big = [when for (when, _), (_, records) in zip(arrivals, msgs) if len(records) >= 10]
    assert len(big) >= 200
    # 16 a tick of 5 ms: at least (n / 16 - 1) ticks, whatever the load (a
    # late tick sends the ticks it missed, no more); before the next round
    # (2 s), which would send the rest at once.
    assert (len(big) / 16 - 1) * 0.005 <= big[-1] - big[0] <= 2.5, big[-1] - big[0]
