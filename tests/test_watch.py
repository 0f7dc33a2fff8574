"""Looking while the service counts: `xdptop IFACE` where an agent pinned
with --pin counts IFACE shows that agent's counts, read-only, from the
ledger it commits: cumulative since the pinned state began, rates over the
real time between commits. The service goes on as if nobody looked: its
counts, its pins. Another key is refused with the service's options (it
holds the interface alone; tests/test_dispatcher.py counts one beside a
service in a dispatcher), and a pinned state no agent runs is named, with
how to take it up.

Traffic only between the test's own namespaces (conftest's lab); pins on a
bpffs of the test's own (test_pin's fixture)."""
import os
import re
import time

from conftest import as_expected, pace
from test_cli import in_private_mounts, link
from test_pin import bpffs, paced_capture, pins  # noqa: F401 (bpffs: a fixture)
from traffic import Expected


def wait_reports(agent, n, timeout=30):
    deadline = time.monotonic() + timeout
    while len(agent.reports()) < n:
        assert time.monotonic() < deadline, agent.stderr()
        assert agent.proc.poll() is None, agent.stderr()
        time.sleep(0.05)


def interval_packets(report):
    """The frames of the report's interval, from its rate and its length."""
    return round(report["total"]["pps"] * report["interval"])


def test_watching_shows_the_services_counts_and_changes_nothing(lab, xdptop, bpffs, tmp_path):
    sender, receiver = lab.pair(mtu=1500)
    pin = f"--pin={bpffs}/xdptop"
    exp_first, first = paced_capture(tmp_path, n_sources=12, rounds=20, name="first")
    exp_second, second = paced_capture(tmp_path, n_sources=12, rounds=20, first=100,
                                       name="second")
    service = lab.start(receiver, xdptop, pin, "-f", "json", "-i", "0.2", "v1")
    service.wait_attached()
    sender.run("tcpreplay", "-q", *pace(2000), "-i", "v0", str(first))
    wait_reports(service, len(service.reports()) + 2)
    pinned = pins(bpffs)
    watcher = lab.start(receiver, xdptop, pin, "-f", "json", "-i", "0.5", "v1")
    deadline = time.monotonic() + 20
    while "Watching" not in watcher.stderr():
        assert watcher.proc.poll() is None and time.monotonic() < deadline, watcher.stderr()
        time.sleep(0.05)
    index = link(receiver, "v1")["ifindex"]
    assert re.fullmatch(rf'Watching iface "v1" \(index {index}\), read-only: an xdptop pinned in '
                        rf'{bpffs}/xdptop/net\d+/{index} counts it\n', watcher.stderr())
    wait_reports(watcher, 1)
    sender.run("tcpreplay", "-q", *pace(2000), "-i", "v0", str(second))
    time.sleep(1.5)         # the service commits every 0.2 s, the watcher looks every 0.5
    assert watcher.stop() == 0, watcher.stderr()
    both = Expected()
    both.merge(exp_first)
    both.merge(exp_second)
    reports = watcher.reports()
    assert as_expected(reports[-1]) == both.as_expected(), "cumulative since the state began"
    assert sum(interval_packets(r) for r in reports) == \
        both.total["packets"] - exp_first.total["packets"], "its rates add up to what came"
    # Each interval runs from one of the service's commits to another: whole
    # numbers of its 0.2 s, as they really lasted.
    assert all(r["interval"] > 0.1 and abs(r["interval"] / 0.2 - round(r["interval"] / 0.2))
               < 0.25 for r in reports), [r["interval"] for r in reports]
    assert pins(bpffs) == pinned, "nothing pinned changed"
    sender.run("tcpreplay", "-q", *pace(2000), "-i", "v0", str(first))
    assert service.stop() == 0, service.stderr()
    both.merge(exp_first)
    assert as_expected(service.reports()[-1]) == both.as_expected(), "the service saw it all"


def test_another_key_is_refused_with_the_services_options(lab, xdptop, bpffs):
    _, receiver = lab.pair(mtu=1500)
    pin = f"--pin={bpffs}/xdptop"
    service = lab.start(receiver, xdptop, pin, "--prefix4", "24", "-f", "json", "-i", "0.2", "v1")
    service.wait_attached()
    res = receiver.run(xdptop, pin, "-k", "dst", "-c", "1", "v1", check=False, timeout=30)
    assert (res.returncode, res.stdout) == (4, ""), res
    assert re.fullmatch(
        r'xdptop: iface "v1" is counted by a running xdptop \(pinned in .*/xdptop/net\d+/\d+\) '
        r"with --key src --prefix4 24 --prefix6 128 --max-sources 65536, which holds it alone: "
        r"rerun with those options to see its counts; to count another key beside it, the "
        r"service must hold it through a libxdp dispatcher \(started with --multiprog\)\n",
        res.stderr), res.stderr
    assert service.proc.poll() is None
    assert service.stop() == 0, service.stderr()


def test_a_pinned_state_no_agent_runs_says_how_to_take_it_up(lab, xdptop, bpffs):
    """Without --pin, xdptop looks at the default pin root (/sys/fs/bpf/xdptop:
    here the test's bpffs, mounted there in a mount namespace of its own)."""
    _, receiver = lab.pair(mtu=1500)
    service = lab.start(receiver, xdptop, f"--pin={bpffs}/xdptop", "-f", "json", "-i", "0.2",
                        "v1")
    service.wait_attached()
    service.kill()
    res = in_private_mounts(receiver, f"mount --bind {bpffs} /sys/fs/bpf", xdptop, "-c", "1",
                            "v1")
    assert (res.returncode, res.stdout) == (4, ""), res
    assert re.fullmatch(r'xdptop: iface "v1" has a state an xdptop pinned in '
                        r'/sys/fs/bpf/xdptop/net\d+/\d+, and no xdptop runs it: \'xdptop --pin '
                        r"v1' takes it up, counts included\n", res.stderr), res.stderr
    assert os.path.exists(bpffs / "xdptop")
    receiver.run(xdptop, f"--pin={bpffs}/xdptop", "--detach", "v1")


def test_the_group_of_the_pin_root_may_watch_and_no_one_else(lab, xdptop, bpffs):
    """chgrp GROUP DIR; chmod 750 DIR: xdptop gives what it pins under DIR that
    group, read-only. Here GROUP is nogroup (65534); the watcher runs as
    uid 65534 without a capability. A user outside the group cannot see the
    pins: to it, xdptop is a counter it lacks the capabilities for."""
    _, receiver = lab.pair(mtu=1500)
    root = bpffs / "xdptop"
    root.mkdir(mode=0o750)
    os.chown(root, 0, 65534)
    root.chmod(0o750)
    service = lab.start(receiver, xdptop, f"--pin={root}", "-f", "none", "--listen", "9109",
                        "-i", "0.2", "v1")
    service.wait_attached()
    as_nobody = ["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups"]
    res = receiver.run(*as_nobody, xdptop, f"--pin={root}", "-f", "json", "-c", "1", "-i", "0.5",
                       "v1", check=False, timeout=30)
    assert res.returncode == 0, res.stderr
    assert res.stderr.startswith('Watching iface "v1"'), res.stderr
    assert len(res.stdout.splitlines()) == 1
    outsider = ["setpriv", "--reuid", "65533", "--regid", "65533", "--clear-groups"]
    res = receiver.run(*outsider, xdptop, f"--pin={root}", "-c", "1", "v1", check=False,
                       timeout=30)
    assert (res.returncode, res.stdout, res.stderr) == (3, "", (
        "xdptop: missing CAP_BPF and CAP_NET_ADMIN: run it as root, or grant them with "
        "'setcap cap_bpf,cap_net_admin+ep xdptop'\n")), res
    # Inside the group, but the interface's own directory closed to it.
    netns_dir = next(root.glob("net*"))
    index_dir = next(netns_dir.glob("*"))
    index_dir.chmod(0o700)
    res = receiver.run(*as_nobody, xdptop, f"--pin={root}", "-c", "1", "v1", check=False,
                       timeout=30)
    assert (res.returncode, res.stdout) == (3, ""), res
    assert res.stderr == (
        f'xdptop: cannot read the state pinned for iface "v1" in {index_dir} (Permission '
        "denied): run as root, or as a member of the group that may read its pins (see the "
        "README)\n"), res.stderr
    index_dir.chmod(0o750)
    assert service.stop() == 0, service.stderr()


def test_the_watcher_ends_when_the_service_stops(lab, xdptop, bpffs):
    _, receiver = lab.pair(mtu=1500)
    pin = f"--pin={bpffs}/xdptop"
    service = lab.start(receiver, xdptop, pin, "-f", "none", "--listen", "9110", "-i", "0.2",
                        "v1")
    service.wait_attached()
    watcher = lab.start(receiver, xdptop, pin, "-f", "json", "-i", "0.3", "v1")
    wait_reports(watcher, 1)
    assert service.stop() == 0, service.stderr()
    assert watcher.wait(timeout=30) == 0, watcher.stderr()
    assert re.fullmatch(
        r'Watching iface "v1" \(index \d+\), read-only: an xdptop pinned in (\S+) counts it\n'
        r'xdptop: the xdptop that counts iface "v1" stopped \(its program keeps counting, pinned '
        r'in \1\): no longer watching\n', watcher.stderr()), watcher.stderr()
    receiver.run(xdptop, pin, "--detach", "v1")
