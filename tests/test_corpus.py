"""Every capture of the corpus, replayed onto a veth with tcpreplay -t: the
report equals NAME.expected.json exactly (every source, packets and bytes,
other and total), in the JSON and in the log format.

The captures are the pinned list of corpus.py, not whatever a glob finds: a
capture or expected file that goes missing fails, and so does one that gives
nothing (an empty expected file, a replay that sends fewer frames than the
capture holds)."""
import re

import pytest

import corpus
import keymodel as M
from conftest import as_expected, check_identity, counts, pace, totals_line

CAPTURES = corpus.CAPTURES


def replay(lab, xdptop, name, fmt, *options):
    expected = corpus.expected(name)
    sender, receiver = lab.pair(mtu=9000)
    agent = lab.start(receiver, xdptop, "--format", fmt, "--interval", "60", *options, "v1")
    agent.wait_attached()
    sent = sender.run("tcpreplay", "-q", *pace(), "-i", "v0", str(corpus.pcap(name)))
    # Every frame of the capture went out (tcpreplay's bytes: as captured).
    assert corpus.tcpreplay_sent(sent.stdout) == expected["total"], sent.stdout
    assert agent.stop() == 0, agent.stderr()
    return agent, expected


def test_data_is_the_pinned_list():
    """tests/data holds exactly the pinned captures, each with both expected
    files: nothing missing, nothing unlisted (an unlisted capture would go
    untested)."""
    assert len(set(CAPTURES)) == len(CAPTURES) == 40
    assert sorted(p.stem for p in corpus.DATA.glob("*.pcap")) == sorted(CAPTURES)
    want = sorted(str(corpus.expected_path(n, k).name) for n in CAPTURES for k in corpus.SUFFIX)
    assert sorted(p.name for p in corpus.DATA.glob("*.json")) == want
    assert set(corpus.NON_IP) < set(CAPTURES)


@pytest.mark.parametrize("name", CAPTURES)
def test_expected_files_fit_the_capture(name):
    """Both expected files describe this very capture: as many frames and
    bytes as it holds, the same non-IP part, and as many IP frames by
    destination as by source."""
    frames = M.read_pcap(corpus.pcap(name))
    src, dst = corpus.expected(name, "src"), corpus.expected(name, "dst")
    whole = {"packets": len(frames), "bytes": sum(map(len, frames))}
    assert src["total"] == dst["total"] == whole
    assert src["other"] == dst["other"]
    assert (src["sources"] == {}) == (dst["sources"] == {})


@pytest.mark.parametrize("name", CAPTURES)
def test_capture_json(lab, xdptop, name):
    agent, expected = replay(lab, xdptop, name, "json")
    reports = agent.reports()
    assert len(reports) == 1, agent.stdout()
    report = reports[0]
    check_identity(report)
    assert counts(report["untracked"]) == {"packets": 0, "bytes": 0}
    assert report["tracked_sources"] == len(expected["sources"]), report
    assert as_expected(report) == expected


@pytest.mark.parametrize("mode", ["native", "generic"])
def test_capture_in_each_mode(lab, xdptop, mode):
    """The frames reach a generic program by another path (the stack's
    socket buffers, not the driver's): counted exactly all the same."""
    agent, expected = replay(lab, xdptop, "dcb_ets", "json", "--mode", mode)
    reports = agent.reports()
    assert len(reports) == 1, agent.stdout()
    assert as_expected(reports[0]) == expected


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
    agent, expected = replay(lab, xdptop, name, "log")
    lines = agent.stdout().splitlines()
    assert re.fullmatch(r"\d{4}/\d\d/\d\d \d\d:\d\d:\d\d Map contents:", lines[0]), lines
    assert lines[1:-1] == expected_log_lines(expected)
    totals_line(lines[-1], expected["total"], expected["other"], {"packets": 0},
                len(expected["sources"]))
