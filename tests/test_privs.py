"""Least privilege: xdptop needs exactly CAP_BPF and CAP_NET_ADMIN to start
(and CAP_PERFMON with --single-buffer), and holds none once attached (CapEff
0, no_new_privs), while it counts, reports and, at exit, detaches. Run as
root with a bounding set of exactly those, and as uid 65534 with them as
file capabilities (the README's setcap recipe).

Traffic only between the test's own namespaces (conftest's lab)."""
import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import ASAN_ENV, BUILD, DATA, as_expected, check_identity, counts, pace, sh

NOBODY = "65534"
CAPS = "cap_bpf,cap_net_admin"
ZERO_CAPS = "0000000000000000"


def proc_status(pid):
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return fields


def agent_pid(ns):
    """The agent's pid: ip netns exec and setpriv exec it, so it is the
    namespace's only process."""
    pids = sh("ip", "netns", "pids", ns.name).stdout.split()
    assert len(pids) == 1, pids
    return int(pids[0])


def wait_reports(agent, n, timeout=20):
    deadline = time.monotonic() + timeout
    while len(agent.reports()) < n:
        assert time.monotonic() < deadline, agent.stderr()
        assert agent.proc.poll() is None, agent.stderr()
        time.sleep(0.05)


def count_while_unprivileged(lab, wrapper, binary, expect_bounding_zero, options=(),
                             kept=ZERO_CAPS):
    """Starts xdptop through wrapper, checks it holds no capability (but
    kept) while it reports, replays a capture, and checks the counts and the
    clean exit. Returns the agent."""
    sender, receiver = lab.pair(mtu=9000)
    agent = lab.start(receiver, *wrapper, binary, *options, "-f", "json", "-i", "0.1", "v1")
    agent.wait_attached()
    wait_reports(agent, 2)
    status = proc_status(agent_pid(receiver))
    for cap in ("CapEff", "CapPrm"):
        assert status[cap] == kept, (cap, status)
    for cap in ("CapInh", "CapAmb"):
        assert status[cap] == ZERO_CAPS, (cap, status)
    if expect_bounding_zero:
        assert status["CapBnd"] == ZERO_CAPS, status
    assert status["NoNewPrivs"] == "1", status
    sender.run("tcpreplay", "-q", *pace(), "-i", "v0", str(DATA / "dcb_ets.pcap"))
    time.sleep(0.3)
    assert agent.stop() == 0, agent.stderr()
    last = agent.reports()[-1]
    check_identity(last)
    expected = json.loads((DATA / "dcb_ets.expected.json").read_text())
    if "--key" in options:          # other keys, the same frames: keymodel's, exactly
        import keymodel as M
        opts = list(options)
        mode = {"key": opts[opts.index("--key") + 1], "vlan": "--vlan" in opts}
        for name in ("prefix4", "prefix6"):
            if f"--{name}" in opts:
                mode[name] = int(opts[opts.index(f"--{name}") + 1])
        model = M.count_pcap(DATA / "dcb_ets.pcap", **mode)
        assert model["sources"], model
        assert {(s["address"], tuple(s.get("vlan", ()))): counts(s)
                for s in last["sources"]} == model["sources"]
        assert counts(last["other"]) == model["other"] == expected["other"]
        assert counts(last["total"]) == model["total"] == expected["total"]
    else:
        assert as_expected(last) == expected
    assert receiver.xdp_attached() == []
    return agent


def test_root_drops_every_capability_once_attached(lab, xdptop):
    count_while_unprivileged(lab, [], xdptop, expect_bounding_zero=True)


def bounding_set(caps):
    return "--bounding-set=-all," + ",".join("+" + c[4:] for c in caps.split(","))


@pytest.mark.parametrize("caps,options", [
    (CAPS, ()),
    (CAPS, ("--key", "dst", "--prefix6", "64", "--vlan")),   # no register added to a packet pointer
    (CAPS + ",cap_perfmon", ("--single-buffer",)),
], ids=["default", "dst", "single-buffer"])
def test_bounding_set_of_exactly_those(lab, xdptop, caps, options):
    """What a hardened unit gives root: CapabilityBoundingSet= exactly these.
    Without CAP_SETPCAP the bounding set cannot shrink further; with no
    capability left and no_new_privs, nothing can raise one again."""
    count_while_unprivileged(lab, ["setpriv", bounding_set(caps)], xdptop,
                             expect_bounding_zero=False, options=options)


@pytest.fixture
def setcap_copy(xdptop):
    """A copy of the binary with the README's file capabilities, where uid
    65534 can run it."""
    with tempfile.TemporaryDirectory() as d:
        Path(d).chmod(0o755)
        copy = Path(d) / "xdptop"
        shutil.copy(xdptop, copy)
        sh("setcap", f"{CAPS}+ep", str(copy))
        yield str(copy)


def test_setcap_recipe_as_nobody(lab, setcap_copy):
    wrapper = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
    count_while_unprivileged(lab, wrapper, setcap_copy, expect_bounding_zero=False)


def test_single_buffer_without_perfmon_names_it(lab, xdptop):
    """The single-buffer program subtracts packet pointers, which the
    verifier allows only with CAP_PERFMON: xdptop says so before loading
    anything."""
    _, ns = lab.pair(mtu=1500)
    res = ns.run("setpriv", bounding_set(CAPS), xdptop, "--single-buffer", "-c", "1", "v1",
                 check=False, stdin=subprocess.DEVNULL, timeout=30)
    assert (res.returncode, res.stdout, res.stderr) == (3, "", (
        "xdptop: missing CAP_PERFMON: run it as root, or grant them with "
        "'setcap cap_bpf,cap_net_admin,cap_perfmon+ep xdptop'\n")), res
    assert ns.xdp_attached() == []


def test_old_kernel_keeps_cap_bpf_alone(lab, xdptop):
    """Before Linux 6.5, with unprivileged BPF disabled (Debian's default),
    every bpf() call needs CAP_BPF, the map update each interval waits on
    too: tests/fault.c (old_kernel) makes bpf() answer as such a kernel does.
    xdptop then keeps CAP_BPF alone, says so, and counts on."""
    asan = ASAN_ENV["ASAN_OPTIONS"] + ":verify_asan_link_order=0"
    wrapper = ["env", f"LD_PRELOAD={BUILD / 'fault.so'}", "XDPTOP_FAULT=old_kernel",
               f"ASAN_OPTIONS={asan}"]
    agent = count_while_unprivileged(lab, wrapper, xdptop, expect_bounding_zero=True,
                                     kept=f"{1 << 39:016x}")
    assert ("xdptop: keeping CAP_BPF alone: this kernel (before Linux 6.5, with unprivileged "
            "BPF disabled) asks for it on every bpf() call") in agent.stderr().splitlines()
