"""The table at its limits, end to end: --max-sources distinct sources in
one interval from ONE CPU (a veth's receive path runs on the sender's CPU),
the same from both CPUs at once (a veth with two queues, one sender pinned
to each CPU), and an agent sized for 256 CPUs (a sysfs file that says so,
in a mount namespace of its own).

All traffic flows between the test's own namespaces, over veth pairs whose
both ends are inside them, from 198.18.0.0/15 only. Each sender is bounded
in frames and time.
"""
import json
import re
import shlex
import subprocess
import time

import pytest

import traffic as T
from conftest import check_identity, counts, sh

MAX = 4096          # more than a CPU's region (2,048 slots): the shared part takes the rest
SOURCES = T.ipv4_block("198.18.40.0", MAX)


def frame_len(i):
    return 64 + i % 50


def flood_pcap(tmp_path):
    frames = [T.udp_frame(s, frame_len(i)) for i, s in enumerate(SOURCES)]
    return T.write_pcap(tmp_path / "flood.pcap", frames)


def replay_on(ns, cpu, iface, pcap):
    """tcpreplay pinned to one CPU: the veth's receive path, XDP included,
    runs there too. Returns the running process."""
    return ns.popen("taskset", "-c", str(cpu), "tcpreplay", "-q", "-t", "-i", iface, str(pcap),
                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def sent_by(proc):
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out
    assert re.search(r"Failed packets:\s+0\n", out), out
    return int(re.search(r"Successful packets:\s+(\d+)", out).group(1))


def check_flood_report(report, per_source):
    """At least 99% of the sources tracked; a source's frames are counted
    under it or untracked (one CPU may find room for it, the other not),
    never more than were sent; the untracked ones exactly; the identity and
    the total exact."""
    check_identity(report)
    listed = {s["address"]: (s["packets"], s["bytes"]) for s in report["sources"]}
    assert report["tracked_sources"] == len(listed)
    assert len(listed) >= MAX * 99 // 100, len(listed)
    lost = [0, 0]
    for i, s in enumerate(SOURCES):
        packets = listed.get(s, (0, 0))[0]
        assert 0 <= packets <= per_source, (s, listed[s])
        assert listed.get(s, (0, 0)) == (packets, packets * frame_len(i)), (s, listed[s])
        lost[0] += per_source - packets
        lost[1] += (per_source - packets) * frame_len(i)
    assert set(listed) <= set(SOURCES)
    assert counts(report["untracked"]) == {"packets": lost[0], "bytes": lost[1]}
    assert counts(report["other"]) == {"packets": 0, "bytes": 0}
    assert counts(report["total"]) == {
        "packets": per_source * MAX, "bytes": per_source * sum(map(frame_len, range(MAX)))}


def two_queue_pair(lab):
    """A veth with two queues each way: frames sent on two CPUs are received
    on those two CPUs."""
    a, b = lab.netns(), lab.netns()
    sh("ip", "-n", a.name, "link", "add", "v0", "numtxqueues", "2", "numrxqueues", "2",
       "type", "veth", "peer", "name", "v1", "numtxqueues", "2", "numrxqueues", "2",
       "netns", b.name)
    for ns, ifname in ((a, "v0"), (b, "v1")):
        ns.run("sysctl", "-qw", f"net.ipv6.conf.{ifname}.disable_ipv6=1")
        sh("ip", "-n", ns.name, "link", "set", ifname, "up")
    return a, b


@pytest.mark.parametrize("cpus", [(0,), (0, 1)], ids=["one-cpu", "both-cpus"])
def test_flood_at_full_capacity(lab, xdptop, tmp_path, cpus):
    """--max-sources 4096 distinct sources in one interval, from one CPU,
    then the same sources from both CPUs at once (each source twice)."""
    pcap = flood_pcap(tmp_path)
    sender, receiver = two_queue_pair(lab)
    agent = lab.start(receiver, xdptop, "--format", "json", "--interval", "60",
                      "--max-sources", str(MAX), "v1")
    agent.wait_attached()
    senders = [replay_on(sender, cpu, "v0", pcap) for cpu in cpus]
    assert [sent_by(p) for p in senders] == [MAX] * len(cpus)
    time.sleep(0.3)
    assert cpus_counting(receiver, "v1") == set(cpus)
    assert agent.stop() == 0, agent.stderr()
    reports = agent.reports()
    assert len(reports) == 1, agent.stdout()
    check_flood_report(reports[0], len(cpus))


def xdp_map_info(ns, ifname):
    """{map name: bpftool's info} of the XDP program attached to ifname."""
    link = json.loads(sh("ip", "-n", ns.name, "-d", "-j", "link", "show", ifname).stdout)[0]
    prog = json.loads(sh("bpftool", "-j", "prog", "show", "id",
                         str(link["xdp"]["prog"]["id"])).stdout)
    maps = {}
    for map_id in prog["map_ids"]:
        m = json.loads(sh("bpftool", "-j", "map", "show", "id", str(map_id)).stdout)
        maps[m["name"]] = m
    return maps


def xdp_maps(ns, ifname):
    """{map name: max_entries} of the XDP program attached to ifname."""
    return {name: m["max_entries"] for name, m in xdp_map_info(ns, ifname).items()}


def xdp_maps_ids(ns, ifname):
    """{map name: id} of the XDP program attached to ifname."""
    return {name: m["id"] for name, m in xdp_map_info(ns, ifname).items()}


def cpus_counting(ns, ifname):
    """The CPUs whose stats count frames in the first epoch (the agent's
    first interval): cpu_stats is (epoch, interface, CPU), 64 bytes each,
    its total packets first."""
    stats = xdp_map_info(ns, ifname)["cpu_stats"]
    dump = json.loads(sh("bpftool", "-j", "map", "dump", "id", str(stats["id"])).stdout)
    n_cpus = int(open("/sys/devices/system/cpu/possible").read().strip().split("-")[-1]) + 1
    counting = set()
    for entry in dump:
        index = int.from_bytes(bytes(int(b, 16) for b in entry["key"]), "little")
        total = int.from_bytes(bytes(int(b, 16) for b in entry["value"][:8]), "little")
        if index < n_cpus and total:
            counting.add(index)
    return counting


def test_sized_for_256_cpus(lab, xdptop, tmp_path):
    """An agent on a machine that says it has 256 CPUs sizes its table as
    README's Limits say: a region of 2,048 slots per CPU and epoch, the
    shared part twice --max-sources (65,536 by default): 40 MiB of slots,
    not the 2 GiB a region per CPU for every source would take. It loads,
    and counts exactly."""
    possible = tmp_path / "possible"
    possible.write_text("0-255\n")
    sender, receiver = lab.pair(mtu=1500)
    frames = [T.udp_frame(s, frame_len(i)) for i, s in enumerate(SOURCES[:1000])]
    pcap = T.write_pcap(tmp_path / "some.pcap", frames)
    setup = (f"mount --bind {shlex.quote(str(possible))} /sys/devices/system/cpu/possible && "
             f"exec {shlex.quote(xdptop)} --format json --interval 60 v1")
    agent = lab.start(receiver, "unshare", "-m", "--propagation", "private", "sh", "-c", setup)
    agent.wait_attached()
    maps = xdp_maps(receiver, "v1")
    regions, shared = 256 * 2048, 2 * 65536
    assert maps["slots"] == 2 * (regions + shared), maps
    assert maps["cpu_stats"] == 2 * 256, maps
    assert maps["claims"] == 2 * (256 * (1 + 2048 // 8) + 1 + shared // 8), maps
    assert T.replay(sender, "v0", pcap) == 1000
    time.sleep(0.3)
    assert agent.stop() == 0, agent.stderr()
    report, = agent.reports()
    check_identity(report)
    assert {s["address"]: (s["packets"], s["bytes"]) for s in report["sources"]} == \
        {s: (1, frame_len(i)) for i, s in enumerate(SOURCES[:1000])}


def test_interfaces_share_the_budget(lab, xdptop, tmp_path):
    """--max-sources 100 for two interfaces: 80 sources on one, 40 on the
    other, 120 in all: 100 are tracked, by both interfaces together (each
    source exactly), the others' frames are untracked on their interface,
    and both programs count into one table (the same maps)."""
    receiver = lab.netns()
    senders = [lab.netns(), lab.netns()]
    lab.veth(senders[0], receiver, "v0", "v1")
    lab.veth(senders[1], receiver, "w0", "w1")
    plan = {"v": SOURCES[:80], "w": SOURCES[1000:1040]}
    lengths = {s: frame_len(i) for i, s in enumerate(SOURCES)}
    pcaps = {side: T.write_pcap(tmp_path / f"{side}.pcap",
                                [T.udp_frame(s, lengths[s]) for s in sources])
             for side, sources in plan.items()}
    agent = lab.start(receiver, xdptop, "--format", "json", "--interval", "60",
                      "--max-sources", "100", "v1", "w1")
    agent.wait_attached(2)
    maps = [xdp_maps_ids(receiver, ifname) for ifname in ("v1", "w1")]
    assert maps[0]["slots"] == maps[1]["slots"] and maps[0]["claims"] == maps[1]["claims"], maps
    assert T.replay(senders[0], "v0", pcaps["v"]) == 80
    assert T.replay(senders[1], "w0", pcaps["w"]) == 40
    time.sleep(0.3)
    assert agent.stop() == 0, agent.stderr()
    reports = {r["interface"]: r for r in agent.reports()}
    tracked = 0
    for side, ifname in (("v", "v1"), ("w", "w1")):
        report = reports[ifname]
        check_identity(report)
        listed = {s["address"]: (s["packets"], s["bytes"]) for s in report["sources"]}
        assert set(listed) <= set(plan[side]), listed
        assert all(listed[s] == (1, lengths[s]) for s in listed), listed
        unlisted = [s for s in plan[side] if s not in listed]
        assert counts(report["untracked"]) == {
            "packets": len(unlisted), "bytes": sum(lengths[s] for s in unlisted)}
        assert counts(report["total"]) == {
            "packets": len(plan[side]), "bytes": sum(lengths[s] for s in plan[side])}
        tracked += len(listed)
    assert tracked == 100
