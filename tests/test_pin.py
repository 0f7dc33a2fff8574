"""--pin: restarts lose nothing. The program, its link and its counts are
pinned on a BPF filesystem; an agent killed at any instant (SIGKILL, a dozen
times, while it reports every 0.05 s under paced traffic) is followed by one
that adopts them, and the last reports every source exactly what was sent.
Also: a pin made with other options is refused with the fix, two namespaces
share one bpffs without colliding, two agents started at once, --status and
--detach (which leaves no program and no pin).

Each test mounts a bpffs of its own (outside any network namespace: ip netns
exec remounts /sys, and so would hide /sys/fs/bpf) and unmounts it after.
"""
import os
import random
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import as_expected, check_identity, pace, sh
from test_cli import attached_prog
from test_privs import agent_pid
from traffic import MAC_A, MAC_B, Expected, other_frames, udp_frame, write_pcap


@pytest.fixture
def bpffs():
    """A bpffs of the test's own, where any user can reach it."""
    import tempfile
    with tempfile.TemporaryDirectory(prefix="xdptop-bpffs-") as d:
        root = Path(d)
        root.chmod(0o755)
        sh("mount", "-t", "bpf", "bpf", str(root))
        try:
            yield root
        finally:
            sh("umount", "-l", str(root), check=False)


def pins(root):
    """What is under the pin root (a new bpffs also holds maps.debug and the like)."""
    top = root / "xdptop"
    return sorted(str(p.relative_to(root)) for p in [top, *top.rglob("*")] if p.exists())


def paced_capture(tmp_path, n_sources=40, rounds=60, first=0, name="paced"):
    """rounds x (one frame from each source, sizes varying, and one 'other'
    frame): the exact counts, and the pcap. Sources first .. first +
    n_sources - 1 of one numbering."""
    exp, frames = Expected(), []
    others = other_frames()
    for r in range(rounds):
        for i in range(first, first + n_sources):
            src = f"198.18.{1 + i // 200}.{1 + i % 200}" if i % 4 else f"2001:db8:7::{i + 1:x}"
            length = 64 + (r * 7 + i * 13) % 900
            frames.append(udp_frame(src, length))
            exp.add(src, length)
        frame, length = others[r % len(others)]
        frames.append(frame)
        exp.add_other(length)
    return exp, write_pcap(tmp_path / f"{name}.pcap", frames)


def final_report(agent):
    reports = agent.reports()
    assert reports, agent.stderr()
    return reports[-1]


def test_kill9_at_random_instants_loses_and_doubles_nothing(lab, xdptop, bpffs, tmp_path):
    exp, pcap = paced_capture(tmp_path)
    sender, receiver = lab.pair(mtu=1500)
    args = ["--pin=" + str(bpffs / "xdptop"), "-f", "json", "-i", "0.05", "v1"]
    agent = lab.start(receiver, xdptop, *args)
    agent.wait_attached()
    # 2,460 frames at 600 frames/s: about 4 s of traffic for 12 deaths
    # (under emulation, where a restart is slower, at 300 for about 8 s).
    replay = sender.popen("tcpreplay", "-q", *pace(600), "-i", "v0", str(pcap),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    rng = random.Random(7)
    adopted = 0
    for _ in range(12):
        time.sleep(rng.uniform(0.05, 0.35))
        agent.proc.send_signal(signal.SIGKILL)
        agent.wait()
        time.sleep(rng.uniform(0, 0.1))    # counted meanwhile by the pinned program
        agent = lab.start(receiver, xdptop, *args)
        deadline = time.monotonic() + 20
        while "Adopted the XDP program pinned" not in agent.stderr():
            assert agent.proc.poll() is None, agent.stderr()
            assert time.monotonic() < deadline, agent.stderr()
            time.sleep(0.02)
        adopted += 1
    out, err = replay.communicate(timeout=60)
    assert re.search(r"Successful packets:\s+%d\n" % exp.total["packets"], out), out + err
    assert re.search(r"Failed packets:\s+0\n", out), out + err
    time.sleep(0.3)
    assert agent.stop() == 0, agent.stderr()
    last = final_report(agent)
    check_identity(last)
    assert as_expected(last) == exp.as_expected()
    assert last["untracked"]["packets"] == 0
    assert adopted == 12
    assert f"xdptop --pin={bpffs / 'xdptop'} --detach IFACE removes it" in agent.stderr()
    # Still attached and pinned after the last exit; --detach takes all.
    assert receiver.xdp_attached() == ["v1"]
    out = receiver.run(xdptop, "--pin=" + str(bpffs / "xdptop"), "--detach", "v1").stdout
    assert out == 'Detached xdptop from iface "v1" and removed its pinned state\n'
    assert receiver.xdp_attached() == []
    assert pins(bpffs) == ["xdptop"]


def restart_until_adopted(lab, ns, xdptop, args, ifaces):
    agent = lab.start(ns, xdptop, *args)
    deadline = time.monotonic() + 20
    while not all(f'Adopted the XDP program pinned on iface "{i}"' in agent.stderr()
                  for i in ifaces):
        assert agent.proc.poll() is None, agent.stderr()
        assert time.monotonic() < deadline, agent.stderr()
        time.sleep(0.02)
    return agent


def pinned_map_id(path):
    import json
    return json.loads(sh("bpftool", "-j", "map", "show", "pinned", str(path)).stdout)["id"]


def test_a_set_of_interfaces_shares_one_pinned_table(lab, xdptop, bpffs, tmp_path):
    """--pin v1 w1: one table and one ledger for both, pinned with each.
    kill -9 at random instants under paced traffic on both is followed by
    an agent that adopts both, and each interface's last report is exact.
    The set is taken up only as it was made (another set, or another order,
    is refused with the fix and changes nothing); --status names it;
    --detach of one interface removes none while an agent counts them, and
    all once none does."""
    receiver, senders = two_interfaces(lab)
    plans = {"v1": paced_capture(tmp_path, 30, 40, first=0, name="v"),
             "w1": paced_capture(tmp_path, 30, 40, first=100, name="w")}
    root = "--pin=" + str(bpffs / "xdptop")
    args = [root, "-f", "json", "-i", "0.05", "v1", "w1"]
    agent = lab.start(receiver, xdptop, *args)
    agent.wait_attached(2)
    # 1,240 frames each at 400 frames/s: about 3 s of traffic for 6 deaths.
    replays = [sender.popen("tcpreplay", "-q", "--pps", "400", "-i", dev, str(plans[i][1]),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for sender, dev, i in ((senders[0], "v0", "v1"), (senders[1], "w0", "w1"))]
    rng = random.Random(11)
    for death in range(6):
        time.sleep(rng.uniform(0.05, 0.35))
        if death < 2:       # the first deaths at least, under traffic on both
            assert all(replay.poll() is None for replay in replays)
        agent.proc.send_signal(signal.SIGKILL)
        agent.wait()
        time.sleep(rng.uniform(0, 0.1))
        agent = restart_until_adopted(lab, receiver, xdptop, args, ["v1", "w1"])
    for replay, ifname in zip(replays, ("v1", "w1")):
        out, err = replay.communicate(timeout=60)
        sent = plans[ifname][0].total["packets"]
        assert re.search(r"Successful packets:\s+%d\n" % sent, out), out + err
    time.sleep(0.3)
    before = pins(bpffs)
    r = receiver.run(xdptop, root, "--detach", "w1", check=False)
    assert (r.returncode, r.stdout) == (4, ""), r
    assert r.stderr == ('xdptop: iface "v1" is counted by a running xdptop: stop it first, '
                        'then detach\n')
    assert pins(bpffs) == before and receiver.xdp_attached() == ["v1", "w1"]
    assert agent.stop() == 0, agent.stderr()
    last = {r["interface"]: r for r in agent.reports()}
    for ifname, (exp, _) in plans.items():
        check_identity(last[ifname])
        assert as_expected(last[ifname]) == exp.as_expected(), ifname
    netns = bpffs / "xdptop" / f"net{netns_inode(receiver)}"
    dirs = sorted(netns.iterdir())
    assert len(dirs) == 2
    for name in ("slots", "claims", "cpu_stats", "bss", "ledger"):
        assert pinned_map_id(dirs[0] / name) == pinned_map_id(dirs[1] / name), name

    status = receiver.run(xdptop, root, "--status").stdout
    assert status.count("    one table and --max-sources with ifaces v1 w1\n") == 2, status
    assert status.count(f"no xdptop runs: it keeps counting; 'xdptop {root} v1 w1' takes it "
                        f"up, 'xdptop {root} --detach ") == 2, status
    for ifname, (exp, _) in plans.items():
        assert re.search(r"%s\n    --key src --prefix4 32 --prefix6 128 --max-sources 65536: "
                         r"%d frames, %d bytes, %d keys tracked\n" % (
                             re.escape(f"(iface {ifname})"), exp.total["packets"],
                             exp.total["bytes"], len(exp.sources)), status), status

    before = pins(bpffs)
    for ifaces, first in ((["v1"], "v1"), (["w1", "v1"], "w1")):
        r = receiver.run(xdptop, root, "-f", "json", "-c", "1", *ifaces, check=False)
        assert (r.returncode, r.stdout) == (2, ""), r
        assert r.stderr.splitlines()[-1] == (
            f'xdptop: the state pinned for iface "{first}" is the table of ifaces v1 w1, in '
            f"this order, not {' '.join(ifaces)}: rerun with them, or remove it with 'xdptop "
            f"{root} --detach {first}' (the counts of all are lost)")
        assert pins(bpffs) == before
        assert receiver.xdp_attached() == ["v1", "w1"]

    r = receiver.run(xdptop, root, "--detach", "w1")      # all of it, in the set's order
    assert r.stdout == ('Detached xdptop from iface "v1" and removed its pinned state\n'
                        'Detached xdptop from iface "w1" and removed its pinned state\n')
    assert receiver.xdp_attached() == []
    assert pins(bpffs) == ["xdptop"]


def two_interfaces(lab):
    """A receiver namespace with v1 and w1, each fed by a sender namespace
    of its own (v0, w0)."""
    receiver, senders = lab.netns(), [lab.netns(), lab.netns()]
    lab.veth(senders[0], receiver, "v0", "v1")
    lab.veth(senders[1], receiver, "w0", "w1")
    return receiver, senders


def link_id(path):
    import json
    return json.loads(sh("bpftool", "-j", "link", "show", "pinned", str(path)).stdout)["id"]


@pytest.mark.parametrize("how", ["bpftool link detach", "link pin removed"])
def test_a_lost_link_goes_back_on_the_pinned_table(lab, xdptop, bpffs, tmp_path, how):
    """With no agent running, v1's pinned link is detached (bpftool link
    detach), or its pin is gone (what a death between pinning the ledger and
    the link leaves): the next agent puts the program back on the pinned
    table, and the counts from before are still there."""
    import json
    exp, pcap = paced_capture(tmp_path, 10, 3)
    sender, receiver = lab.pair(mtu=1500)
    root = "--pin=" + str(bpffs / "xdptop")
    agent = lab.start(receiver, xdptop, root, "-f", "json", "-i", "0.05", "v1")
    agent.wait_attached()
    sender.run("tcpreplay", "-q", "-t", "-i", "v0", str(pcap))
    time.sleep(0.3)
    assert agent.stop() == 0, agent.stderr()
    link = next(Path(d) / "link" for d in (bpffs / "xdptop").glob("net*/*"))
    if how == "bpftool link detach":
        sh("bpftool", "link", "detach", "id", str(link_id(link)))
    else:
        link.unlink()       # the last reference: the kernel detaches it
    assert receiver.xdp_attached() == []
    r = receiver.run(xdptop, root, "-f", "json", "-c", "1", "-i", "0.05", "v1")
    assert ('xdptop: the program pinned for iface "v1" was no longer attached (what it '
            'received meanwhile was not counted): attaching it again\n') in r.stderr
    report = json.loads(r.stdout.splitlines()[-1])
    assert as_expected(report) == exp.as_expected()
    assert receiver.xdp_attached() == ["v1"]
    receiver.run(xdptop, root, "--detach", "v1")
    assert pins(bpffs) == ["xdptop"]


def test_a_member_detached_while_counting_keeps_its_counts(lab, xdptop, bpffs, tmp_path):
    """The set's first interface loses its program while the agent runs
    (bpftool link detach): the agent says so and counts the other on; the
    next agent of the same set puts v1's program back on the pinned table,
    v1's counts as they were when it was detached, w1's all."""
    import json
    receiver, senders = two_interfaces(lab)
    v, v_pcap = paced_capture(tmp_path, 10, 3, first=0, name="v")
    w, w_pcap = paced_capture(tmp_path, 10, 3, first=100, name="w")
    root = "--pin=" + str(bpffs / "xdptop")
    agent = lab.start(receiver, xdptop, root, "-f", "json", "-i", "0.05", "v1", "w1")
    agent.wait_attached(2)
    senders[0].run("tcpreplay", "-q", "-t", "-i", "v0", str(v_pcap))
    senders[1].run("tcpreplay", "-q", "-t", "-i", "w0", str(w_pcap))
    time.sleep(0.3)
    ifindex = receiver.run("cat", "/sys/class/net/v1/ifindex").stdout.strip()
    link = next((bpffs / "xdptop").glob(f"net*/{ifindex}")) / "link"
    sh("bpftool", "link", "detach", "id", str(link_id(link)))
    lost = ('xdptop: xdptop\'s XDP program was detached from iface "v1" (replaced by another '
            'program?): no longer counting it (its counts stay pinned for the next xdptop '
            '--pin)\n')
    deadline = time.monotonic() + 20
    while lost not in agent.stderr():
        assert time.monotonic() < deadline and agent.proc.poll() is None, agent.stderr()
        time.sleep(0.05)
    senders[0].run("tcpreplay", "-q", "-t", "-i", "v0", str(v_pcap))     # not counted
    senders[1].run("tcpreplay", "-q", "-t", "-i", "w0", str(w_pcap))
    time.sleep(0.3)
    assert agent.stop() == 0, agent.stderr()
    r = receiver.run(xdptop, root, "-f", "json", "-c", "1", "-i", "0.05", "v1", "w1")
    assert 'attaching it again' in r.stderr and 'Adopted the XDP program pinned on iface "w1"' \
        in r.stderr, r.stderr
    last = {rep["interface"]: rep for rep in map(json.loads, r.stdout.splitlines())}
    assert as_expected(last["v1"]) == v.as_expected()
    twice = {"sources": {a: {k: 2 * n for k, n in c.items()}
                         for a, c in w.as_expected()["sources"].items()},
             **{part: {k: 2 * n for k, n in w.as_expected()[part].items()}
                for part in ("other", "total")}}
    assert as_expected(last["w1"]) == twice
    receiver.run(xdptop, root, "--detach", "v1")
    assert pins(bpffs) == ["xdptop"] and receiver.xdp_attached() == []


def test_a_set_with_an_interface_gone(lab, xdptop, bpffs):
    """w1 of a pinned set is deleted while no agent runs, and another
    interface is made with its index: a start with v1 alone, or with the
    newcomer in w1's place, is refused (the set cannot be taken up again,
    and the newcomer is not w1), and --status says so. --detach of the
    newcomer removes only what w1 left, naming w1; --detach v1 the rest."""
    receiver, _ = two_interfaces(lab)
    root = "--pin=" + str(bpffs / "xdptop")
    r = receiver.run(xdptop, root, "-f", "json", "-c", "1", "-i", "0.05", "v1", "w1")
    assert r.returncode == 0, r.stderr
    w1 = receiver.run("cat", "/sys/class/net/w1/ifindex").stdout.strip()
    sh("ip", "-n", receiver.name, "link", "del", "w1")
    sh("ip", "-n", receiver.name, "link", "add", "zz", "index", w1, "type", "veth", "peer",
       "name", "zzp")
    for ifaces in (["v1"], ["v1", "zz"]):
        r = receiver.run(xdptop, root, "-f", "json", "-c", "1", *ifaces, check=False)
        assert (r.returncode, r.stdout) == (2, ""), r
        assert r.stderr.splitlines()[-1] == (
            'xdptop: the state pinned for iface "v1" is the table of ifaces v1 w1 (gone), in '
            f"this order, not {' '.join(ifaces)}: it cannot be taken up again: remove it with "
            f"'xdptop {root} --detach v1' (the counts of all are lost)")
    status = receiver.run(xdptop, root, "--status").stdout
    assert status.count("    one table and --max-sources with ifaces v1 w1 (gone)\n") == 2, status
    assert status.count(f"no xdptop runs: it keeps counting; an interface of its set is gone: "
                        f"'xdptop {root} --detach v1' removes it and the others\n") == 1, status
    assert (f"no xdptop runs, and its program was taken off: not counting; an interface of "
            f"its set is gone: 'xdptop {root} --detach {w1}' removes it and the others\n"
            in status), status
    assert f"/{w1} (iface gone: w1)\n" in status, status
    # zz has w1's index, not its set: detaching zz removes what w1 left, and v1 stays.
    v1 = receiver.run("cat", "/sys/class/net/v1/ifindex").stdout.strip()
    v1_dir = next((bpffs / "xdptop").glob(f"net*/{v1}"))
    table = {name: pinned_map_id(v1_dir / name) for name in ("slots", "ledger")}
    r = receiver.run(xdptop, root, "--detach", "zz")
    assert r.stdout == 'Detached xdptop from iface "w1" and removed its pinned state\n'
    assert receiver.xdp_attached() == ["v1"]
    assert [p for p in pins(bpffs) if p.count("/") == 2] == [
        str(v1_dir.relative_to(bpffs))], pins(bpffs)
    assert {name: pinned_map_id(v1_dir / name) for name in table} == table
    r = receiver.run(xdptop, root, "--detach", "v1")
    assert r.stdout == 'Detached xdptop from iface "v1" and removed its pinned state\n'
    assert pins(bpffs) == ["xdptop"] and receiver.xdp_attached() == []


def test_a_set_that_cannot_start_leaves_nothing_behind(lab, xdptop, bpffs):
    """--pin v1 w1 with a program of another's on w1: v1 was attached and
    pinned first; the refusal on w1 takes all of it away again."""
    receiver, _ = two_interfaces(lab)
    obj = str(Path(xdptop).parent / "xdptop.bpf.o")
    sh("ip", "-n", receiver.name, "link", "set", "dev", "w1", "xdpdrv", "obj", obj, "sec", "xdp")
    r = receiver.run(xdptop, "--pin=" + str(bpffs / "xdptop"), "-c", "1", "v1", "w1",
                     check=False)
    assert (r.returncode, r.stdout) == (4, ""), r
    assert r.stderr.startswith('Attached XDP program to iface "v1"'), r.stderr
    assert r.stderr.splitlines()[-1].startswith(
        'xdptop: iface "w1" already has XDP program '), r.stderr
    assert receiver.xdp_attached() == ["w1"]
    assert pins(bpffs) == ["xdptop"]


def test_pin_made_with_other_options_is_refused_with_the_fix(lab, xdptop, bpffs):
    _, receiver = lab.pair(mtu=1500)
    root = "--pin=" + str(bpffs / "xdptop")
    first = receiver.run(xdptop, root, "-f", "json", "-c", "1", "-i", "0.05", "--prefix4",
                         "24", "v1")
    assert first.returncode == 0, first.stderr
    before = pins(bpffs)
    r = receiver.run(xdptop, root, "-f", "json", "-c", "1", "-i", "0.05", "v1", check=False)
    assert r.returncode == 2
    assert r.stdout == ""
    assert r.stderr.splitlines()[-1] == (
        'xdptop: the state pinned for iface "v1" counts with --key src --prefix4 24 '
        '--prefix6 128 --max-sources 65536, not --key src --prefix4 32 --prefix6 128 '
        '--max-sources 65536: rerun with its options, or remove it with '
        f"'xdptop {root} --detach v1' (its counts are lost)")
    assert pins(bpffs) == before            # never reused, never removed
    assert receiver.xdp_attached() == ["v1"]
    # Without --pin, the pinned program is named as such.
    r = receiver.run(xdptop, "-f", "json", "-c", "1", "v1", check=False)
    assert r.returncode == 4
    assert "(an xdptop left pinned: take it up with --pin, or remove it with 'xdptop " \
        "--detach IFACE')" in r.stderr
    receiver.run(xdptop, root, "--detach", "v1")
    assert pins(bpffs) == ["xdptop"] and receiver.xdp_attached() == []


def test_two_namespaces_share_one_bpffs(lab, xdptop, bpffs):
    (_, r1), (_, r2) = lab.pair(mtu=1500), lab.pair(mtu=1500)
    root = "--pin=" + str(bpffs / "xdptop")
    for ns in (r1, r2):      # both interfaces are v1, most likely with one ifindex
        assert ns.run(xdptop, root, "-f", "json", "-c", "1", "-i", "0.05", "v1").returncode == 0
    dirs = [p for p in pins(bpffs) if re.fullmatch(r"xdptop/net\d+/\d+", p)]
    assert len(dirs) == 2, pins(bpffs)
    for ns in (r1, r2):
        status = ns.run(xdptop, root, "--status").stdout
        assert status.count("pinned in ") == 1, status
        assert (f"no xdptop runs: it keeps counting; 'xdptop {root} v1' takes it up, "
                f"'xdptop {root} --detach v1' removes it") in status, status
        ns.run(xdptop, root, "--detach", "v1")
        assert ns.xdp_attached() == []
    assert pins(bpffs) == ["xdptop"]


def test_two_agents_started_at_once(lab, xdptop, bpffs):
    _, receiver = lab.pair(mtu=1500)
    args = ["--pin=" + str(bpffs / "xdptop"), "-f", "json", "-i", "0.1", "v1"]
    agents = [lab.start(receiver, xdptop, *args) for _ in range(2)]
    deadline = time.monotonic() + 20
    while not any(a.proc.poll() is not None for a in agents):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    loser = next(a for a in agents if a.proc.poll() is not None)
    winner = next(a for a in agents if a is not loser)
    assert loser.wait() == 4
    assert re.fullmatch(r'xdptop: iface "v1" is counted by another xdptop with --pin \(its '
                        r'state: .*/xdptop/net\d+/\d+\): stop that one first\n', loser.stderr())
    assert winner.proc.poll() is None
    status = receiver.run(xdptop, "--pin=" + str(bpffs / "xdptop"), "--status").stdout
    assert "an xdptop is counting it now" in status
    r = receiver.run(xdptop, "--pin=" + str(bpffs / "xdptop"), "--detach", "v1", check=False)
    assert r.returncode == 4
    assert r.stderr == ('xdptop: iface "v1" is counted by a running xdptop: stop it first, '
                        'then detach\n')
    # Without its --pin=DIR, the link is not found pinned: said so, not "nothing".
    r = receiver.run(xdptop, "--detach", "v1", check=False)
    assert (r.returncode, r.stdout) == (4, "")
    assert r.stderr == ('xdptop: iface "v1" has xdptop\'s program through a bpf_link, not pinned '
                        'here: stop the xdptop that runs on it, or name where it pinned it '
                        '(xdptop --pin=DIR --detach)\n')
    assert winner.stop() == 0
    receiver.run(xdptop, "--pin=" + str(bpffs / "xdptop"), "--detach", "v1")
    assert pins(bpffs) == ["xdptop"]


def test_status_lists_programs_and_pins(lab, xdptop, bpffs):
    _, receiver = lab.pair(mtu=1500)
    root = "--pin=" + str(bpffs / "xdptop")
    out = receiver.run(xdptop, root, "--status").stdout
    assert out == ("XDP programs in this network namespace:\n  none\n"
                   f"Pinned by xdptop under {bpffs}/xdptop/net{netns_inode(receiver)}:\n"
                   "  nothing\n")
    receiver.run(xdptop, root, "-f", "json", "-c", "1", "-i", "0.05", "--vlan", "v1")
    out = receiver.run(xdptop, root, "--status").stdout.splitlines()
    assert re.fullmatch(r"v1 \(index \d+\): native, xdptop_frags \(id \d+\)", out[1]), out
    assert out[3].startswith(f"  pinned in {bpffs}/xdptop/net"), out
    assert re.fullmatch(r"    --key src --prefix4 32 --prefix6 128 --vlan --max-sources 65536: "
                        r"\d+ frames, \d+ bytes, \d+ keys tracked", out[4]), out
    receiver.run(xdptop, root, "--detach", "v1")
    r = receiver.run(xdptop, root, "--detach", "v1")
    assert r.stdout == "Nothing of xdptop's on iface \"v1\"\n"


def netns_inode(ns):
    return ns.run("stat", "-L", "-c", "%i", "/proc/self/ns/net").stdout.strip()


def test_pin_outside_a_bpffs_is_refused(lab, xdptop, tmp_path):
    _, receiver = lab.pair(mtu=1500)
    r = receiver.run(xdptop, f"--pin={tmp_path}", "-f", "json", "-c", "1", "v1", check=False)
    assert r.returncode == 2
    assert r.stderr == (f"xdptop: --pin={tmp_path} is not on a BPF filesystem: mount one "
                        "there ('mount -t bpf bpf DIR'), or use --pin alone "
                        "(/sys/fs/bpf/xdptop)\n")
    assert receiver.xdp_attached() == []
    r = receiver.run(xdptop, "--pin=relative", "v1", check=False)
    assert (r.returncode, r.stderr) == (2, "xdptop: --pin=relative must be an absolute path\n")


@pytest.mark.parametrize("who", ["setcap-nobody", "bounding-set"])
def test_pin_with_least_privilege(lab, xdptop, bpffs, tmp_path, who):
    """The README's two least-privilege setups with --pin: uid 65534 with
    the setcap recipe (pinning into a bpffs directory made for it), and root
    under a bounding set of exactly CAP_BPF and CAP_NET_ADMIN. Each pins,
    counts with no capability left, exits, and a second agent adopts the
    counts; frames sent while none ran are counted too."""
    import json
    import shutil
    from conftest import DATA
    binary, wrapper = xdptop, ["setpriv", "--bounding-set=-all,+bpf,+net_admin"]
    root = bpffs / "xdptop"
    if who == "setcap-nobody":
        bindir = tmp_path / "bin"
        bindir.mkdir(mode=0o755)
        tmp_path.chmod(0o755)
        binary = str(bindir / "xdptop")
        shutil.copy(xdptop, binary)
        sh("setcap", "cap_bpf,cap_net_admin+ep", binary)
        root.mkdir()
        os.chown(root, 65534, 65534)
        wrapper = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    sender, receiver = lab.pair(mtu=9000)
    args = [binary, "--pin=" + str(root), "-f", "json", "-i", "0.1", "v1"]
    expected = json.loads((DATA / "dcb_ets.expected.json").read_text())
    for n in (1, 2):
        agent = lab.start(receiver, *wrapper, *args)
        deadline = time.monotonic() + 20
        while len(agent.reports()) < 2:
            assert agent.proc.poll() is None and time.monotonic() < deadline, agent.stderr()
            time.sleep(0.05)
        pid = agent_pid(receiver)
        status = dict(line.split(":\t") for line in
                      open(f"/proc/{pid}/status").read().splitlines() if ":\t" in line)
        assert status["CapEff"] == "0000000000000000", status
        assert status["NoNewPrivs"] == "1", status
        sender.run("tcpreplay", "-q", "-t", "-i", "v0", str(DATA / "dcb_ets.pcap"))
        time.sleep(0.3)
        assert agent.stop() == 0, agent.stderr()
        if n == 1:      # counted by the pinned program alone
            sender.run("tcpreplay", "-q", "-t", "-i", "v0", str(DATA / "dcb_ets.pcap"))
    last = as_expected(agent.reports()[-1])
    want = {"sources": {a: {k: 3 * v for k, v in c.items()}
                        for a, c in expected["sources"].items()},
            "other": {k: 3 * v for k, v in expected["other"].items()},
            "total": {k: 3 * v for k, v in expected["total"].items()}}
    assert last == want
    assert "Adopted the XDP program pinned" in agent.stderr()
    receiver.run(xdptop, "--pin=" + str(root), "--detach", "v1")
    assert receiver.xdp_attached() == []


def test_pin_force_over_a_netlink_program_is_refused(lab, xdptop, bpffs):
    """A pin needs xdptop's own bpf_link: over a program attached by netlink,
    --pin --force says so and leaves that program alone."""
    _, receiver = lab.pair(mtu=1500)
    obj = str(Path(xdptop).parent / "xdptop.bpf.o")
    sh("ip", "-n", receiver.name, "link", "set", "dev", "v1", "xdpdrv", "obj", obj, "sec", "xdp")
    before = sh("ip", "-n", receiver.name, "-o", "link", "show", "v1").stdout
    prog = re.search(r"prog/xdp id (\d+)", before).group(1)
    r = receiver.run(xdptop, "--pin=" + str(bpffs / "xdptop"), "--force", "-c", "1", "v1",
                     check=False)
    assert (r.returncode, r.stdout) == (4, ""), r
    assert r.stderr == (f'xdptop: --pin cannot take over XDP program {prog} ("xdptop") on iface '
                        '"v1": it is attached without a bpf_link, which a pin needs; remove it '
                        "('ip link set dev v1 xdp off'), then retry\n")
    after = sh("ip", "-n", receiver.name, "-o", "link", "show", "v1").stdout
    assert f"prog/xdp id {prog}" in after
    assert [p for p in pins(bpffs) if p.count("/") == 2] == []


def test_a_key_of_fields_through_kill9_and_its_options(lab, xdptop, bpffs, tmp_path):
    """A wide key (64-byte slots) pinned: kill -9, adopted, counts exact
    across; another key is refused naming its fields. The program is the
    wide key's (xdptop_wide, single-buffer), and stays so: the adopting
    agent tells it from the pinned program's name."""
    from scapy.all import IP, TCP, UDP, Ether
    eth = Ether(src=MAC_A, dst=MAC_B)
    syn = eth / IP(src="198.18.2.1", dst="198.18.9.9") / TCP(sport=40000, dport=443, flags="S")
    dns = eth / IP(src="198.18.2.2", dst="198.18.9.9") / UDP(sport=5353, dport=53)
    first = write_pcap(tmp_path / "first.pcap", [syn] * 5 + [dns] * 2)
    second = write_pcap(tmp_path / "second.pcap", [syn] * 3 + [dns] * 4)
    sender, receiver = lab.pair(mtu=1500)
    root = "--pin=" + str(bpffs / "xdptop")
    args = [root, "-f", "json", "-i", "0.05", "--key", "tcpflags,src,dport,proto",
            "--single-buffer", "v1"]
    agent = lab.start(receiver, xdptop, *args)
    agent.wait_attached()
    assert attached_prog(receiver, "v1")[1:] == ("xdptop_wide", 1)
    sender.run("tcpreplay", "-q", "-t", "-i", "v0", str(first))
    time.sleep(0.3)
    agent.proc.send_signal(signal.SIGKILL)
    agent.wait()
    sender.run("tcpreplay", "-q", "-t", "-i", "v0", str(second))   # counted while no agent runs
    agent = restart_until_adopted(lab, receiver, xdptop, args, ["v1"])
    time.sleep(0.3)
    assert attached_prog(receiver, "v1")[1:] == ("xdptop_wide", 1)
    assert agent.stop() == 0, agent.stderr()
    last = final_report(agent)
    check_identity(last)
    keys = {(s["src"], s["proto"], s["dport"], s["tcpflags"]): s["packets"]
            for s in last["sources"]}
    assert keys == {("198.18.2.1", 6, 443, 2): 8, ("198.18.2.2", 17, 53, 0): 6}
    r = receiver.run(xdptop, root, "-f", "json", "-c", "1", "-i", "0.05", "--key", "src", "v1",
                     check=False)
    assert (r.returncode, r.stderr.splitlines()[-1]) == (2, (
        'xdptop: the state pinned for iface "v1" counts with --key src,proto,dport,tcpflags '
        '--prefix4 32 --prefix6 128 --max-sources 65536 --single-buffer, not --key src '
        '--prefix4 32 --prefix6 128 --max-sources 65536: rerun with its options, or remove '
        f"it with 'xdptop {root} --detach v1' (its counts are lost)")), r.stderr
    receiver.run(xdptop, root, "--detach", "v1")
    assert pins(bpffs) == ["xdptop"] and receiver.xdp_attached() == []
