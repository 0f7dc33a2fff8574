"""Every capture of the corpus, replayed onto a veth with tcpreplay -t: the
report equals NAME.expected.json exactly (every source, packets and bytes,
other and total), in the JSON and in the log format."""
import json
import re

import pytest

from conftest import DATA, as_expected, check_identity, counts, totals_line

CAPTURES = sorted(p.stem for p in DATA.glob("*.pcap"))


def replay(lab, xdptop, name, fmt):
    sender, receiver = lab.pair(mtu=9000)
    agent = lab.start(receiver, xdptop, "--format", fmt, "--interval", "60", "v1")
    agent.wait_attached()
    sent = sender.run("tcpreplay", "-q", "-t", "-i", "v0", str(DATA / f"{name}.pcap"))
    assert re.search(r"Failed packets:\s+0\n", sent.stdout), sent.stdout
    assert agent.stop() == 0, agent.stderr()
    return agent


def test_corpus_has_all_captures():
    assert len(CAPTURES) == 40


@pytest.mark.parametrize("name", CAPTURES)
def test_capture_json(lab, xdptop, name):
    agent = replay(lab, xdptop, name, "json")
    reports = agent.reports()
    assert len(reports) == 1, agent.stdout()
    report = reports[0]
    check_identity(report)
    assert counts(report["untracked"]) == {"packets": 0, "bytes": 0}
    assert as_expected(report) == json.loads((DATA / f"{name}.expected.json").read_text())


def expected_log_lines(expected):
    """The log lines the Go example's format gives: busiest first, then bytes,
    then address order (IPv4 before IPv6)."""
    import ipaddress
    rows = sorted(expected["sources"].items(),
                  key=lambda kv: (-kv[1]["packets"], -kv[1]["bytes"],
                                  ipaddress.ip_address(kv[0]).version,
                                  ipaddress.ip_address(kv[0]).packed))
    return [f"\t{addr} => {c['packets']}" for addr, c in rows]


@pytest.mark.parametrize("name", ["dcb_ets", "bgp-4byte-asn", "802.1ad_QinQ", "OSPFv3_with_AH"])
def test_capture_log(lab, xdptop, name):
    agent = replay(lab, xdptop, name, "log")
    lines = agent.stdout().splitlines()
    assert re.fullmatch(r"\d{4}/\d\d/\d\d \d\d:\d\d:\d\d Map contents:", lines[0]), lines
    expected = json.loads((DATA / f"{name}.expected.json").read_text())
    assert lines[1:-1] == expected_log_lines(expected)
    totals_line(lines[-1], expected["total"], expected["other"], {"packets": 0},
                len(expected["sources"]))
