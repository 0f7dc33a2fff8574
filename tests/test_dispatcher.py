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
import shlex
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import BUILD, DATA, as_expected, counts, pace, sh
from test_cli import assert_clean, attached_prog, link
from test_defects import CANNOT_WRITE, shell
from test_pin import bpffs  # noqa: F401 (a fixture)
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


def foreign_counters(ns, ifname):
    """(frames seen, frames dropped) by the foreign filter: its .bss, read
    with bpftool."""
    out = ns.run("xdp-loader", "status", ifname).stdout
    prog_id = next(int(f[3]) for f in (line.split() for line in out.splitlines())
                   if f and f[0] == "=>" and f[2] == "foreign_filter")
    maps = json.loads(sh("bpftool", "-j", "prog", "show", "id", str(prog_id)).stdout)["map_ids"]
    for map_id in maps:
        entry = json.loads(sh("bpftool", "-j", "map", "lookup", "id", str(map_id),
                              "key", "0", "0", "0", "0").stdout)
        value = bytes(int(b, 16) for b in entry["value"])
        return int.from_bytes(value[:8], "little"), int.from_bytes(value[8:16], "little")
    raise AssertionError(f"foreign_filter has no map: {maps}")


def foreign_seen(ns, ifname):
    return foreign_counters(ns, ifname)[0]


def wait_seen(ns, n, timeout=30):
    """Until the foreign filter, which runs after xdptop, saw n frames: then
    xdptop counted them (emulated, a veth's receiver lags its sender)."""
    deadline = time.monotonic() + timeout
    while (seen := foreign_seen(ns, "v1")) < n and time.monotonic() < deadline:
        time.sleep(0.1)
    assert seen == n


def frames_in(pcap):
    from scapy.all import rdpcap
    return len(rdpcap(str(pcap)))


def dropped_by_filter(tmp_path, n=50):
    """UDP frames to port 9 from a few sources, of which the filter drops the
    IPv4 ones (33 of 50), and what xdptop must count of them: all."""
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
    wait_seen(receiver, frames_in(pcap))
    assert foreign_counters(receiver, "v1") == (50, 33), "it dropped the IPv4 ones"
    assert agent.stop() == 0, agent.stderr()
    assert [as_expected(r) for r in agent.reports()] == [exp.as_expected()]
    assert dispatched(receiver, "v1") == [("foreign_filter", 50)]
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
    wait_seen(receiver, frames_in(CAPTURE))
    assert agent.stop() == 0, agent.stderr()
    expected = json.loads((DATA / "dcb_ets.expected.json").read_text())
    assert [as_expected(r) for r in agent.reports()] == [expected]
    assert dispatched(receiver, "v1") == [("foreign_filter", 50)]
    sender.run("tcpreplay", "-q", *pace(), "-i", "v0", str(CAPTURE))
    wait_seen(receiver, 2 * frames_in(CAPTURE))  # it went on running
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


def test_agents_count_keys_side_by_side(lab, xdptop, libxdp):
    """One counts sources (--multiprog, as a service would), another the
    destinations of the same frames, a third (src,dst: a wide key, its
    own program) the pairs; the second is told of the first. The pairs,
    added up by source, are the sources' counts."""
    sender, receiver = lab.pair(mtu=1500)
    by_src = lab.start(receiver, xdptop, "--multiprog", "-f", "json", "-i", "60", "v1")
    by_src.wait_attached()
    src_id = dispatcher_ids(receiver, "v1")["xdptop_frags"]
    by_dst = lab.start(receiver, xdptop, "-k", "dst", "-f", "json", "-i", "60", "v1")
    by_dst.wait_attached()
    by_pair = lab.start(receiver, xdptop, "-k", "src,dst", "-f", "json", "-i", "60", "v1")
    by_pair.wait_attached()
    assert dispatched(receiver, "v1") == [("xdptop_frags", 1), ("xdptop_frags", 1),
                                          ("xdptop_wfrags", 1)]
    assert by_dst.stderr().splitlines()[0] == (
        f'xdptop: the dispatcher on iface "v1" already runs an xdptop program (id {src_id}): '
        "another agent's, or one left by an agent killed with its xdptop-detach ('xdptop "
        "--detach v1' takes xdptop's out while no agent runs there)")
    sender.run("tcpreplay", "-q", *pace(), "-i", "v0", str(CAPTURE))
    time.sleep(2)   # emulated, a veth's receiver lags its sender
    assert by_pair.stop() == 0, by_pair.stderr()
    assert by_dst.stop() == 0, by_dst.stderr()
    assert by_src.stop() == 0, by_src.stderr()
    for agent, name in ((by_src, "dcb_ets"), (by_dst, "dcb_ets.dst")):
        expected = json.loads((DATA / f"{name}.expected.json").read_text())
        assert [as_expected(r) for r in agent.reports()] == [expected]
    (sources,), (pairs,) = by_src.reports(), by_pair.reports()
    added = {}
    for key in pairs["sources"]:
        packets, octets = added.get(key["src"], (0, 0))
        added[key["src"]] = (packets + key["packets"], octets + key["bytes"])
    assert added == {key["address"]: (key["packets"], key["bytes"])
                     for key in sources["sources"]}
    for part in ("other", "total"):
        assert counts(pairs[part]) == counts(sources[part]), part
    assert_clean(receiver)


def test_pinned_in_a_dispatcher_it_counts_through_kill9_and_is_adopted(lab, xdptop, libxdp,
                                                                       bpffs, tmp_path):
    sender, receiver = lab.pair(mtu=1500)
    pin = f"--pin={bpffs}/xdptop"
    receiver.run("xdp-loader", "load", "v1", str(FOREIGN))
    pcap, once = dropped_by_filter(tmp_path)
    first = lab.start(receiver, xdptop, pin, "-f", "json", "-i", "0.5", "v1")
    first.wait_attached()
    ids = dispatcher_ids(receiver, "v1")
    assert dispatched(receiver, "v1") == [("xdptop_frags", 1), ("foreign_filter", 50)]
    assert len(detacher_of(first)) == 1, "for a start that fails: then it goes too"
    sender.run("tcpreplay", "-q", *pace(), "-i", "v0", str(pcap))
    wait_seen(receiver, frames_in(pcap))
    while not first.reports():      # its start succeeded: pinned, it stays
        time.sleep(0.1)
    first.kill()
    time.sleep(1)                   # what its detacher would do, it has done
    assert dispatcher_ids(receiver, "v1") == ids, "it stays, counting"
    sender.run("tcpreplay", "-q", *pace(), "-i", "v0", str(pcap))
    wait_seen(receiver, 2 * frames_in(pcap))
    status = receiver.run(xdptop, pin, "--status").stdout
    assert "    no xdptop runs: it keeps counting; " in status, status
    second = lab.start(receiver, xdptop, pin, "-f", "json", "-i", "60", "v1")
    deadline = time.monotonic() + 60
    while "Adopted" not in second.stderr() and second.proc.poll() is None \
            and time.monotonic() < deadline:
        time.sleep(0.1)
    assert second.stderr().splitlines()[0] == (
        f'Adopted the XDP program pinned in the libxdp dispatcher on iface "v1" (index '
        f'{link(receiver, "v1")["ifindex"]}) and its counts'), second.stderr()
    assert dispatcher_ids(receiver, "v1") == ids, "the same program"
    sender.run("tcpreplay", "-q", *pace(), "-i", "v0", str(pcap))
    wait_seen(receiver, 3 * frames_in(pcap))
    assert second.stop() == 0, second.stderr()
    exp = Expected()
    exp.merge(once, times=3)
    assert [as_expected(r) for r in second.reports()] == [exp.as_expected()]
    assert dispatcher_ids(receiver, "v1") == ids, "pinned, it stays after exit"
    res = receiver.run(xdptop, pin, "--detach", "v1", check=False)
    assert (res.returncode, res.stdout, res.stderr) == (
        0, 'Detached xdptop from iface "v1" and removed its pinned state\n', ""), res
    assert dispatched(receiver, "v1") == [("foreign_filter", 50)]
    assert not list(bpffs.rglob("net*/*")), "no pin left"
    receiver.run("xdp-loader", "unload", "--all", "v1")
    assert_clean(receiver)


def test_another_key_is_counted_beside_a_pinned_service_in_a_dispatcher(lab, xdptop, libxdp,
                                                                         bpffs):
    """The service runs with --pin --multiprog; `xdptop -k dst` on its
    interface (which finds it under the default pin root: here the test's
    bpffs, mounted on /sys/fs/bpf in a mount namespace of its own) neither
    watches it (another key) nor is refused: it joins the dispatcher, and
    both count the same frames exactly."""
    sender, receiver = lab.pair(mtu=1500)
    pin = f"--pin={bpffs}/xdptop"
    service = lab.start(receiver, xdptop, pin, "--multiprog", "-f", "json", "-i", "0.5", "v1")
    service.wait_attached()
    by_dst = lab.start(receiver, "unshare", "-m", "--propagation", "private", "sh", "-c",
                       f"mount --bind {bpffs} /sys/fs/bpf && exec {xdptop} -k dst -f json "
                       "-i 60 v1")
    by_dst.wait_attached()
    assert "Watching" not in by_dst.stderr()
    assert dispatched(receiver, "v1") == [("xdptop_frags", 1), ("xdptop_frags", 1)]
    sender.run("tcpreplay", "-q", *pace(), "-i", "v0", str(CAPTURE))
    time.sleep(2)   # emulated, a veth's receiver lags its sender
    assert by_dst.stop() == 0, by_dst.stderr()
    assert service.stop() == 0, service.stderr()
    for agent, name in ((service, "dcb_ets"), (by_dst, "dcb_ets.dst")):
        expected = json.loads((DATA / f"{name}.expected.json").read_text())
        assert as_expected(agent.reports()[-1]) == expected
    assert dispatched(receiver, "v1") == [("xdptop_frags", 1)], "the pinned one stays"
    receiver.run(xdptop, pin, "--detach", "v1")
    assert_clean(receiver)


def test_a_pinned_start_that_fails_leaves_nothing_in_the_dispatcher(lab, xdptop, libxdp, bpffs):
    """The first report cannot be written (/dev/full), after the agent
    dropped its capabilities: its xdptop-detach, told nothing of a start
    that succeeded, takes the pinned program out; its pins go too."""
    _, receiver = lab.pair(mtu=1500)
    receiver.run("xdp-loader", "load", "v1", str(FOREIGN))
    res = shell(receiver, f"exec {shlex.quote(xdptop)} --pin={bpffs}/xdptop -f json -c 1 "
                          "-i 0.5 v1 >/dev/full", timeout=120)
    assert res.returncode == 1, res.stderr
    assert res.stderr.splitlines()[-1] == CANNOT_WRITE, res.stderr
    assert dispatched(receiver, "v1") == [("foreign_filter", 50)]
    assert not list(bpffs.rglob("net*/*")), "no pin left"
    receiver.run("xdp-loader", "unload", "--all", "v1")
    assert_clean(receiver)
