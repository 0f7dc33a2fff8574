"""Shared fixtures: the binaries under test and private network namespaces.

Every namespace is named xdpt-<pid>-<n> and deleted on teardown, also when a
test fails; both ends of every veth live inside the test's own namespaces.
"""
import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
VALGRIND_SUPP = ROOT / "tests" / "valgrind.supp"
BUILD = Path(os.environ.get("XDPTOP_BUILD", ROOT / "build"))

# Each build variant the suite runs against: the normal one, and the one with
# AddressSanitizer + UBSan (make check builds both).
VARIANTS = [v for v in ("", "san") if (BUILD / v / "xdptop").exists()]
ASAN_ENV = {"ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0:exitcode=99",
            "UBSAN_OPTIONS": "halt_on_error=1:print_stacktrace=1:exitcode=99"}

# Under an emulated kernel (make check-kernels sets XDPTOP_EMULATED=1) code
# runs 10-40x slower and fast traffic trips RCU stall warnings: the tests that
# send traffic ask pace() for tcpreplay's rate, which caps it there and leaves
# it as it is here.
EMULATED = os.environ.get("XDPTOP_EMULATED") == "1"
EMULATED_PPS = 300

# This machine's kernel refuses freplace, which libxdp's dispatcher is made of:
# the dispatcher's tests run only under Debian's kernels (make check-kernels).
collect_ignore = [] if EMULATED else ["test_dispatcher.py"]


def pace(pps=None):
    """tcpreplay's rate options for pps frames a second (None: as fast as it
    can), at most EMULATED_PPS under an emulated kernel."""
    if EMULATED:
        pps = min(pps or EMULATED_PPS, EMULATED_PPS)
    return ["--pps", str(pps)] if pps else ["-t"]


_counter = [0]


def sh(*cmd, check=True, **kw):
    """Runs a command, returns CompletedProcess with text output."""
    return subprocess.run(list(cmd), check=check, capture_output=True, text=True, **kw)


@pytest.fixture(params=VARIANTS, ids=lambda v: v or "plain")
def xdptop(request):
    """Path of the xdptop binary under test (each build variant)."""
    return str(BUILD / request.param / "xdptop")


def sanitizer_env():
    """The environment for a binary under test: the sanitizer build's options
    (exit 99 on a finding) are harmless to the plain one."""
    env = dict(os.environ)
    env.update(ASAN_ENV)
    return env


class Netns:
    """A namespace of the test's own; deleted by the fixture."""

    def __init__(self, name):
        self.name = name
        sh("ip", "netns", "add", name)

    def run(self, *cmd, check=True, **kw):
        return sh("ip", "netns", "exec", self.name, *cmd, check=check, **kw)

    def popen(self, *cmd, **kw):
        return subprocess.Popen(["ip", "netns", "exec", self.name, *cmd], **kw)

    def xdp_attached(self):
        """Names of this namespace's interfaces that have an XDP program."""
        out = sh("ip", "-n", self.name, "-o", "link", "show").stdout
        return [line.split(": ")[1].split("@")[0] for line in out.splitlines() if " xdp" in line
                and ("prog/xdp" in line or "xdpgeneric" in line or "xdp " in line)]

    def delete(self):
        sh("ip", "netns", "del", self.name, check=False)


class Lab:
    """Namespaces and veth pairs for one test; everything goes on teardown."""

    def __init__(self):
        self.namespaces = []
        self.procs = []

    def netns(self):
        _counter[0] += 1
        ns = Netns(f"xdpt-{os.getpid()}-{_counter[0]}")
        self.namespaces.append(ns)
        return ns

    def veth(self, a, b, name_a="v0", name_b="v1", mtu=1500, ipv6=False):
        """A veth pair with name_a in namespace a and name_b in b, up."""
        sh("ip", "-n", a.name, "link", "add", name_a, "type", "veth", "peer", "name", name_b,
           "netns", b.name)
        for ns, ifname in ((a, name_a), (b, name_b)):
            if not ipv6:
                ns.run("sysctl", "-qw", f"net.ipv6.conf.{ifname}.disable_ipv6=1")
            sh("ip", "-n", ns.name, "link", "set", ifname, "mtu", str(mtu), "up")

    def pair(self, mtu=9000, ipv6=False):
        """Sender namespace a (v0) -> receiver namespace b (v1)."""
        a, b = self.netns(), self.netns()
        self.veth(a, b, mtu=mtu, ipv6=ipv6)
        return a, b

    def start(self, ns, binary, *args):
        """Starts xdptop in ns; returns an Agent."""
        agent = Agent(ns, binary, args)
        self.procs.append(agent)
        return agent

    def teardown(self):
        for agent in self.procs:
            agent.kill()
        for ns in self.namespaces:
            ns.delete()


class Agent:
    """A running xdptop, its stdout and stderr captured to files."""

    def __init__(self, ns, binary, args):
        import tempfile
        self.out = tempfile.TemporaryFile(mode="w+")
        self.err = tempfile.TemporaryFile(mode="w+")
        self.proc = ns.popen(binary, *args, stdout=self.out, stderr=self.err,
                             stdin=subprocess.DEVNULL, env=sanitizer_env())
        self.rc = None

    def wait_attached(self, n=1, timeout=20):
        """Waits until the agent said it attached to n interfaces."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.stderr().count("Attached XDP program") >= n:
                return
            if self.proc.poll() is not None:
                raise AssertionError(f"xdptop exited {self.proc.returncode}: {self.stderr()}")
            time.sleep(0.05)
        raise AssertionError(f"xdptop did not attach in {timeout}s: {self.stderr()}")

    def stop(self, sig=signal.SIGINT, timeout=30):
        """Signals the agent and returns its exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        self.rc = self.proc.wait(timeout=timeout)
        return self.rc

    def wait(self, timeout=60):
        self.rc = self.proc.wait(timeout=timeout)
        return self.rc

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    @staticmethod
    def _read(f):
        """What the agent wrote so far. pread, not seek and read: the agent
        shares the file's offset, and a seek(0) here would make its next
        line overwrite its first ones."""
        fd = f.fileno()
        return os.pread(fd, os.fstat(fd).st_size, 0).decode(errors="replace")

    def stdout(self):
        return self._read(self.out)

    def stderr(self):
        return self._read(self.err)

    def reports(self):
        """The JSON Lines reports written so far."""
        return [json.loads(line) for line in self.stdout().splitlines() if line.strip()]


@pytest.fixture
def lab():
    lab = Lab()
    try:
        yield lab
    finally:
        lab.teardown()


def counts(c):
    """The cumulative counts of a JSON counter or key object, without its rates."""
    return {"packets": c["packets"], "bytes": c["bytes"]}


def as_expected(report):
    """A JSON report in the shape of NAME.expected.json."""
    return {
        "sources": {s["address"]: counts(s) for s in report["sources"]},
        "other": counts(report["other"]),
        "total": counts(report["total"]),
    }


def check_identity(report):
    """sum(sources) + other + untracked == total, packets and bytes; and when
    every tracked key is listed, the same for the interval's rates (within
    the 3 decimals they are written with)."""
    parts = [*report["sources"], report["other"], report["untracked"]]
    for field in ("packets", "bytes"):
        assert sum(p[field] for p in parts) == report["total"][field], (field, report)
    if len(report["sources"]) == report["tracked_sources"]:
        for field in ("pps", "bps"):
            assert abs(sum(p[field] for p in parts) - report["total"][field]) <= \
                0.0005 * (len(parts) + 1), (field, report)


STAMP = r"\d{4}/\d\d/\d\d \d\d:\d\d:\d\d"


def totals_line(line, total, other, untracked, keys, iface=None):
    """Checks a log report's summary line: exact counts, any rate."""
    of = f' of iface "{iface}"' if iface else ""
    m = re.fullmatch(STAMP + re.escape(f" Totals{of}:") +
                     r" (\d+) packets, (\d+) bytes, (\d+\.\d) pps; other: (\d+) packets; "
                     r"untracked: (\d+) packets; (\d+) keys tracked", line)
    assert m, line
    got = [int(m.group(i)) for i in (1, 2, 4, 5, 6)]
    assert got == [total["packets"], total["bytes"], other["packets"], untracked["packets"],
                   keys], line
    return float(m.group(3))


_outcomes = {"passed": 0, "failed": 0}


def pytest_runtest_logreport(report):
    """Counts each test once: a failure in setup, call or teardown fails it; a
    skip (an expected failure too) proved nothing, so it counts as a failure."""
    if report.failed or report.skipped:
        _outcomes["failed"] += 1
    elif report.when == "call" and report.passed:
        _outcomes["passed"] += 1


def pytest_sessionfinish(session, exitstatus):
    if _outcomes["failed"] and session.exitstatus == 0:
        session.exitstatus = 1


def pytest_unconfigure(config):
    """The plain closing line CI reads, after pytest's own: 'N passed, N failed'."""
    if _outcomes["passed"] or _outcomes["failed"]:
        print(f"{_outcomes['passed']} passed, {_outcomes['failed']} failed")
