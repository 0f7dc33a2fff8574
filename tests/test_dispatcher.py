"""xdptop beside other XDP programs, through libxdp's dispatcher, in both
orders: it joins a dispatcher another program is in (here xdp-loader's, with
tests/foreign.bpf.c: a filter that drops UDP to port 9 and counts what it
sees), and --multiprog makes one that others join. xdptop runs first and
returns XDP_PASS: it counts exactly what the filter then drops, and the
filter sees every frame. Exit, kill -9 and --detach take out xdptop's program
only.

This machine's kernel refuses freplace, which a dispatcher is made of: these
tests run under Debian's own kernels (make check-kernels, which make check
runs); conftest.py collects them only there. Each test keeps libxdp's pins on
a bpffs of its own (LIBXDP_BPFFS: ip netns exec remounts /sys, which hides
/sys/fs/bpf). Traffic only between the test's own namespaces (conftest's lab).
"""
import json
import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import BUILD, DATA, as_expected, pace, sh
from test_cli import assert_clean, attached_prog, link
from traffic import Expected, udp_frame, write_pcap

FOREIGN = BUILD / "foreign.bpf.o"
CAPTURE = DATA / "dcb_ets.pcap"


@pytest.fixture
def libxdp(monkeypatch):
    """A bpffs of the test's own for libxdp's pins, for xdp-loader and xdptop."""
    with tempfile.TemporaryDirectory(prefix="xdptop-libxdp-") as d:
        sh("mount", "-t", "bpf", "bpf", d)
        monkeypatch.setenv("LIBXDP_BPFFS", d)
        try:
            yield Path(d)
        finally:
            sh("umount", "-l", d, check=False)


def dispatched(ns, ifname):
    """(name, priority) of each program in ifname's dispatcher, in run order,
    as xdp-loader status lists them ([] without a dispatcher)."""
    out = ns.run("xdp-loader", "status", ifname).stdout
    return [(f[2], int(f[1])) for f in (line.split() for line in out.splitlines())
            if f and f[0] == "=>"]


def wait_dispatched(ns, ifname, want, timeout=30):
    deadline = time.monotonic() + timeout
    while (have := dispatched(ns, ifname)) != want and time.monotonic() < deadline:
        time.sleep(0.2)
    assert have == want


def foreign_seen(ns, ifname):
    """The frames the foreign filter saw: its .bss counter, read with bpftool."""
    out = ns.run("xdp-loader", "status", ifname).stdout
    prog_id = next(int(f[3]) for f in (line.split() for line in out.splitlines())
                   if f and f[0] == "=>" and f[2] == "foreign_filter")
    maps = json.loads(sh("bpftool", "-j", "prog", "show", "id", str(prog_id)).stdout)["map_ids"]
    for map_id in maps:
        entry = json.loads(sh("bpftool", "-j", "map", "lookup", "id", str(map_id),
                              "key", "0", "0", "0", "0").stdout)
        return int.from_bytes(bytes(int(b, 16) for b in entry["value"]), "little")
    raise AssertionError(f"foreign_filter has no map: {maps}")


def frames_in(pcap):
    from scapy.all import rdpcap
    return len(rdpcap(str(pcap)))


def dropped_by_filter(tmp_path, n=50):
    """UDP frames to port 9 from a few sources, which the filter drops, and
    what xdptop must count of them."""
    exp, frames = Expected(), []
    for i in range(n):
        src = f"198.18.7.{1 + i % 5}" if i % 3 else f"2001:db8:7::{1 + i % 4:x}"
        length = 80 + i * 11 % 600
        frames.append(udp_frame(src, length))
        exp.add(src, length)
    return write_pcap(tmp_path / "dropped.pcap", frames), exp


def test_joins_a_dispatcher_a_filter_is_in_and_counts_what_it_drops(lab, xdptop, libxdp,
                                                                     tmp_path):
    sender, receiver = lab.pair(mtu=1500)
    receiver.run("xdp-loader", "load", "v1", str(FOREIGN))
    assert dispatched(receiver, "v1") == [("foreign_filter", 50)]
    agent = lab.start(receiver, xdptop, "-f", "json", "-i", "60", "v1")
    agent.wait_attached()
    assert dispatched(receiver, "v1") == [("xdptop_frags", 1), ("foreign_filter", 50)]
    pcap, exp = dropped_by_filter(tmp_path)
    sender.run("tcpreplay", "-q", *pace(), "-i", "v0", str(pcap))
    assert agent.stop() == 0, agent.stderr()
    assert [as_expected(r) for r in agent.reports()] == [exp.as_expected()]
    assert dispatched(receiver, "v1") == [("foreign_filter", 50)]
    assert foreign_seen(receiver, "v1") == frames_in(pcap)
    receiver.run("xdp-loader", "unload", "--all", "v1")
    assert_clean(receiver)


def test_multiprog_makes_a_dispatcher_others_join_and_leaves_them_running(lab, xdptop, libxdp):
    sender, receiver = lab.pair(mtu=1500)
    agent = lab.start(receiver, xdptop, "--multiprog", "-f", "json", "-i", "60", "v1")
    agent.wait_attached()
    assert dispatched(receiver, "v1") == [("xdptop_frags", 1)]
    receiver.run("xdp-loader", "load", "v1", str(FOREIGN))
    assert dispatched(receiver, "v1") == [("xdptop_frags", 1), ("foreign_filter", 50)]
    sender.run("tcpreplay", "-q", *pace(), "-i", "v0", str(CAPTURE))
    assert agent.stop() == 0, agent.stderr()
    expected = json.loads((DATA / "dcb_ets.expected.json").read_text())
    assert [as_expected(r) for r in agent.reports()] == [expected]
    assert dispatched(receiver, "v1") == [("foreign_filter", 50)]
    sender.run("tcpreplay", "-q", *pace(), "-i", "v0", str(CAPTURE))
    assert foreign_seen(receiver, "v1") == 2 * frames_in(CAPTURE), "it went on running"
    receiver.run("xdp-loader", "unload", "--all", "v1")
    assert_clean(receiver)


def test_alone_in_its_dispatcher_it_leaves_the_interface_free(lab, xdptop, libxdp):
    _, receiver = lab.pair(mtu=1500)
    res = receiver.run(xdptop, "--multiprog", "-c", "1", "-i", "0.5", "v1", check=False,
                       stdin=subprocess.DEVNULL, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stderr.splitlines()[0] == (
        f'Attached XDP program to iface "v1" (index {link(receiver, "v1")["ifindex"]}) '
        'through a libxdp dispatcher, at priority 1')
    assert_clean(receiver)
    assert not list((libxdp / "xdp").glob("dispatch-*")), "libxdp's pins went too"


def dispatcher_ids(ns, ifname):
    """{name: id} of the programs in ifname's dispatcher, from xdp-loader status."""
    out = ns.run("xdp-loader", "status", ifname).stdout
    return {f[2]: int(f[3]) for f in (line.split() for line in out.splitlines())
            if f and f[0] == "=>"}


def detacher_of(agent):
    out = sh("pgrep", "-P", str(agent.proc.pid), "-x", "xdptop-detach", check=False).stdout
    return [int(pid) for pid in out.split()]


def test_killed_its_detacher_takes_its_program_out(lab, xdptop, libxdp):
    _, receiver = lab.pair(mtu=1500)
    receiver.run("xdp-loader", "load", "v1", str(FOREIGN))
    agent = lab.start(receiver, xdptop, "-f", "json", "-i", "60", "v1")
    agent.wait_attached()
    assert len(detacher_of(agent)) == 1
    agent.kill()
    wait_dispatched(receiver, "v1", [("foreign_filter", 50)])
    receiver.run("xdp-loader", "unload", "--all", "v1")
    assert_clean(receiver)


def test_status_lists_the_dispatcher_and_detach_takes_out_only_xdptop(lab, xdptop, libxdp):
    _, receiver = lab.pair(mtu=1500)
    receiver.run("xdp-loader", "load", "v1", str(FOREIGN))
    agent = lab.start(receiver, xdptop, "-f", "json", "-i", "60", "v1")
    agent.wait_attached()
    [detacher] = detacher_of(agent)
    os.kill(detacher, signal.SIGKILL)
    agent.kill()
    ids = dispatcher_ids(receiver, "v1")
    index, dispatcher = link(receiver, "v1")["ifindex"], attached_prog(receiver, "v1")[0]
    res = receiver.run(xdptop, "--status", check=False)
    assert (res.returncode, res.stderr) == (0, ""), res
    assert res.stdout.splitlines()[:4] == [
        "XDP programs in this network namespace:",
        f"v1 (index {index}): native, xdp_dispatcher (id {dispatcher}), a libxdp dispatcher "
        "running:",
        f"    priority 1: xdptop_frags (id {ids['xdptop_frags']}), xdptop's",
        f"    priority 50: foreign_filter (id {ids['foreign_filter']})"]
    res = receiver.run(xdptop, "--detach", "v1", check=False)
    assert (res.returncode, res.stdout, res.stderr) == (0, (
        f"Took xdptop's program (id {ids['xdptop_frags']}) out of the libxdp dispatcher on "
        'iface "v1"; the others there keep running\n'), ""), res
    assert dispatched(receiver, "v1") == [("foreign_filter", 50)]
    res = receiver.run(xdptop, "--detach", "v1", check=False)
    assert (res.returncode, res.stdout) == (0, 'Nothing of xdptop\'s on iface "v1"\n'), res
    receiver.run("xdp-loader", "unload", "--all", "v1")
    assert_clean(receiver)


def test_a_mode_other_than_the_dispatchers_is_refused(lab, xdptop, libxdp):
    _, receiver = lab.pair(mtu=1500)
    receiver.run("xdp-loader", "load", "-m", "skb", "v1", str(FOREIGN))
    res = receiver.run(xdptop, "--mode", "native", "-c", "1", "v1", check=False,
                       stdin=subprocess.DEVNULL, timeout=120)
    assert (res.returncode, res.stdout, res.stderr) == (2, "", (
        'xdptop: the dispatcher on iface "v1" runs in generic mode, not native: rerun with '
        "--mode generic (or without --mode)\n")), res
    assert dispatched(receiver, "v1") == [("foreign_filter", 50)]
    receiver.run("xdp-loader", "unload", "--all", "v1")
    assert_clean(receiver)
