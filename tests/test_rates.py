"""Rates: paced senders at known rates give pps and bps within 10% in every
JSON report; a stopped agent (SIGSTOP, 3 s, SIGCONT) fires no burst of
missed reports, and its next report divides by the time that really passed.

Traffic flows between the test's own namespaces only (see conftest), from
198.18.0.0/15 and 2001:db8::/32, paced by tcpreplay --pps and bounded in
frames and time.
"""
import signal
import subprocess
import time

import traffic as T
from conftest import check_identity

PPS = 1000                  # tcpreplay's pace, frames per second
A, B = "198.18.9.1", "2001:db8:9::1"
A_LEN, B_LEN = 200, 300
PATTERN = [A, A, A, B]      # A sends 3/4 of the frames, B 1/4
INTERVAL = 0.5
TOLERANCE = 0.10


def paced_pcap(tmp_path):
    frames = [T.udp_frame(src, A_LEN if src == A else B_LEN) for src in PATTERN * (PPS // 4)]
    return T.write_pcap(tmp_path / "paced.pcap", frames)   # one second at PPS


def start_paced(sender, pcap, seconds):
    return sender.popen("tcpreplay", "-q", "--pps", str(PPS), "--loop", str(seconds),
                        "-i", "v0", str(pcap), stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL)


def expected_rates():
    share = {A: 0.75, B: 0.25}
    size = {A: A_LEN, B: B_LEN}
    return {T.canonical(s): (PPS * share[s], PPS * share[s] * size[s] * 8) for s in share}


def within(got, want):
    return abs(got - want) <= TOLERANCE * want


def check_rates(report, context):
    want = expected_rates()
    by_addr = {s["address"]: s for s in report["sources"]}
    assert set(by_addr) == set(want), (context, report)
    for addr, (pps, bps) in want.items():
        assert within(by_addr[addr]["pps"], pps), (context, addr, report)
        assert within(by_addr[addr]["bps"], bps), (context, addr, report)
    assert within(report["total"]["pps"], PPS), (context, report)
    assert report["other"]["pps"] == 0 and report["untracked"]["pps"] == 0, report


def steady(reports):
    """The reports whose whole interval had traffic: not the first nor the
    last one that saw any."""
    busy = [i for i, r in enumerate(reports) if r["total"]["pps"] > 0]
    return reports[busy[0] + 1:busy[-1]]


def test_rates_of_paced_senders(lab, xdptop, tmp_path):
    sender, receiver = lab.pair(mtu=1500)
    agent = lab.start(receiver, xdptop, "--format", "json", "--interval", str(INTERVAL), "v1")
    agent.wait_attached()
    sent = start_paced(sender, paced_pcap(tmp_path), seconds=4)
    assert sent.wait(timeout=30) == 0
    time.sleep(2 * INTERVAL)
    assert agent.stop() == 0, agent.stderr()
    reports = agent.reports()
    for r in reports:
        check_identity(r)
    for r in reports[:-1]:      # the last one ends early, on SIGINT
        assert within(r["interval"], INTERVAL), r["interval"]
    middle = steady(reports)
    assert len(middle) >= 5, reports
    for r in middle:
        check_rates(r, "steady")
    assert reports[-1]["total"]["packets"] == 4 * PPS
    assert reports[-1]["total"]["pps"] == 0         # the last interval had no traffic


def test_no_burst_after_sigstop(lab, xdptop, tmp_path):
    sender, receiver = lab.pair(mtu=1500)
    agent = lab.start(receiver, xdptop, "--format", "json", "--interval", str(INTERVAL), "v1")
    agent.wait_attached()
    sent = start_paced(sender, paced_pcap(tmp_path), seconds=8)
    time.sleep(2)
    agent.proc.send_signal(signal.SIGSTOP)
    time.sleep(3)
    agent.proc.send_signal(signal.SIGCONT)
    assert sent.wait(timeout=30) == 0
    assert agent.stop() == 0, agent.stderr()
    reports = agent.reports()
    for r in reports:
        check_identity(r)
    long = [r for r in reports if r["interval"] > 2 * INTERVAL]
    assert len(long) == 1, [r["interval"] for r in reports]
    assert long[0]["interval"] >= 3, long[0]
    # After it, the next deadline: the first report may come sooner than an
    # interval (the schedule keeps its phase), the others one interval
    # apart (the final one, on SIGINT, may be shorter). No missed report is
    # fired back to back.
    intervals = [r["interval"] for r in reports]
    stopped_at = reports.index(long[0])
    assert 0 < intervals[stopped_at + 1] <= INTERVAL * (1 + TOLERANCE), intervals
    for r in reports[stopped_at + 2:-1]:
        assert within(r["interval"], INTERVAL), intervals
    # The long report's rates divide by the time that really passed.
    check_rates(long[0], "after SIGCONT")
    # Every report whose whole interval had traffic, bar the two the stop
    # made (the long one, checked above, and the short one after it), has
    # the senders' rates: the full intervals before the SIGSTOP (traffic
    # starts about 2 s before it: at least one) and after the short one
    # (about 2.5 s of traffic left after SIGCONT: at least two).
    busy = [i for i, r in enumerate(reports) if r["total"]["pps"] > 0]
    assert busy[0] < stopped_at < stopped_at + 1 < busy[-1], intervals
    before = reports[busy[0] + 1:stopped_at]
    after = reports[stopped_at + 2:busy[-1]]
    assert len(before) >= 1 and len(after) >= 2, (intervals, busy, stopped_at)
    for r in before:
        check_rates(r, "steady, before SIGSTOP")
    for r in after:
        check_rates(r, "steady, after SIGCONT")
