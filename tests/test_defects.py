"""What a hostile tester and a new operator found (issue 18), each case a
test that failed before its fix: lost writes, a program lost after --force,
wrong first intervals, names and hints a shell cannot take, pins that lie.

Everything runs inside the test's own namespaces, on veth pairs whose both
ends live there; a pin root is a bpffs of the test's own (tests/test_pin.py's
fixture) unless the case is about the default one.
"""
import json
import os
import re
import shlex
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

import traffic
from conftest import ROOT, sanitizer_env, sh
from test_pin import bpffs  # noqa: F401 (a fixture)
from test_cli import idle  # noqa: F401 (a fixture)
from test_cli import (BPF, INTERFACE, OK, RUNTIME, USAGE, assert_clean, attached_line,
                      attached_prog, capsh, in_private_mounts, lines, no_native_iface,
                      run)


def shell(ns, script, timeout=60):
    """A bash script inside ns (for redirections), to completion."""
    return ns.run("bash", "-c", script, check=False, env=sanitizer_env(), timeout=timeout,
                  stdin=subprocess.DEVNULL)


# ---------------------------------------------------------------- 1. writes that fail

CANNOT_WRITE = "xdptop: cannot write the report (No space left on device): check stdout"


def many_sources(tmp_path, n=200):
    """A capture of one UDP frame from each of n sources: a report of them
    is larger than a stream's buffer, so that fprintf itself writes (and
    fails), not only the flush at the end of the report."""
    frames = [traffic.udp_frame(f"198.18.{i // 250}.{i % 250 + 1}", 100) for i in range(n)]
    return traffic.write_pcap(tmp_path / "sources.pcap", frames)


def agent_writing_to(ns, xdptop, path, *args):
    """xdptop in ns with stdout on path; returns (process, stderr file)."""
    err = tempfile.TemporaryFile(mode="w+")
    with open(path, "w") as out:
        proc = ns.popen(xdptop, *args, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                        env=sanitizer_env())
    return proc, err


def wait_attached(proc, err):
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and proc.poll() is None:
        err.seek(0)
        if "Attached XDP program" in err.read():
            return
        time.sleep(0.05)
    raise AssertionError("xdptop did not attach")


def stderr_of(err):
    err.seek(0)
    return err.read()


@pytest.mark.parametrize("fmt", ["json", "log"])
@pytest.mark.parametrize("count", [["-c", "1000"], []], ids=["count", "endless"])
def test_reports_to_a_full_device(lab, xdptop, tmp_path, fmt, count):
    """> /dev/full, with reports larger than the stream's buffer: JSON went
    on with exit 0 (fprintf's failed write was never checked, and the flush
    had nothing left to fail). Now every output ends at the first write
    that fails: exit 1, said once."""
    sender, ns = lab.pair(mtu=1500)
    proc, err = agent_writing_to(ns, xdptop, "/dev/full", "-f", fmt, "-i", "0.05", *count,
                                 "v1")
    lab.procs.append(proc)     # killed on teardown, should it go on
    wait_attached(proc, err)
    traffic.replay(sender, "v0", many_sources(tmp_path))
    assert proc.wait(timeout=30) == RUNTIME, stderr_of(err)
    assert lines(stderr_of(err))[-1] == CANNOT_WRITE
    assert stderr_of(err).count("cannot write") == 1
    assert_clean(ns, wait=5)


def test_json_to_a_file_system_that_fills(lab, xdptop, tmp_path):
    """A 64 KiB tmpfs fills after a few reports: xdptop notices the write
    that failed in the middle of a report and ends as the log output does;
    every whole line before it is a report."""
    sender, ns = lab.pair(mtu=1500)
    mnt = tmp_path / "small"
    mnt.mkdir()
    sh("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt))
    proc = None
    try:
        proc, err = agent_writing_to(ns, xdptop, mnt / "out.json", "-f", "json", "-i", "0.05",
                                     "-c", "1000", "v1")
        wait_attached(proc, err)
        traffic.replay(sender, "v0", many_sources(tmp_path))
        rc = proc.wait(timeout=30)
        text = (mnt / "out.json").read_text()
    finally:
        if proc and proc.poll() is None:    # it went on writing: the file stays open
            proc.kill()
            proc.wait()
        sh("umount", str(mnt))
    assert (rc, lines(stderr_of(err))[-1]) == (RUNTIME, CANNOT_WRITE), stderr_of(err)
    whole = text.split("\n")[:-1]
    assert whole and all(json.loads(line)["interface"] == "v1" for line in whole)
    assert len(text) > 60 * 1024
    assert_clean(ns, wait=5)


@pytest.mark.parametrize("args", [["-f", "json"], ["-f", "log"], [], ["--status"]])
def test_closed_stdout_is_refused_before_attaching(lab, xdptop, args):
    """stdout closed (>&-): the next descriptor xdptop opened took its number
    and a report failed with "Invalid argument". Now said as it is, before
    anything is attached."""
    _, ns = lab.pair(mtu=1500)
    res = shell(ns, f"exec {shlex.quote(xdptop)} {' '.join(args)} -c 1 v1 >&-")
    assert (res.returncode, lines(res.stderr)) == (USAGE, [
        "xdptop: stdout is closed, so nothing can be written: redirect it (> FILE), or use "
        "--format none with --listen"]), res
    assert_clean(ns)


def test_closed_stdin_and_stderr_are_held(lab, xdptop):
    """With stdin and stderr closed, a report still goes to stdout whole."""
    _, ns = lab.pair(mtu=1500)
    res = shell(ns, f"exec {shlex.quote(xdptop)} -f json -i 0.1 -c 2 v1 <&- 2>&-")
    assert res.returncode == OK, res
    assert [json.loads(line)["interface"] for line in lines(res.stdout)] == ["v1", "v1"]
    assert_clean(ns, wait=5)


# ---------------------------------------------------------------- 4. a new pin's first interval

def test_first_interval_of_a_new_pin(lab, xdptop, bpffs):
    """A new pinned state has no commit yet: its first interval was measured
    from the ledger's cut 0, that is from boot ("interval":1204.4, rates
    near 0). It starts when counting starts, as without --pin: never longer
    than the agent lived."""
    _, ns = lab.pair(mtu=1500)
    root = "--pin=" + str(bpffs / "xdptop")
    started = time.monotonic()
    res = run(ns, xdptop, root, "-f", "json", "-i", "0.5", "-c", "2", "v1")
    lived = time.monotonic() - started
    assert res.returncode == OK, res.stderr
    intervals = [json.loads(line)["interval"] for line in lines(res.stdout)]
    assert len(intervals) == 2 and 0.4 < intervals[0] <= lived, (intervals, lived)
    assert run(ns, xdptop, root, "--detach", "v1").returncode == OK


# ---------------------------------------------------------------- 5. the log's measure

@pytest.mark.parametrize("sort, shown", [("bytes", ["198.18.0.2 => 2800 bytes",
                                                    "198.18.0.1 => 640 bytes"]),
                                         ("packets", ["198.18.0.1 => 10", "198.18.0.2 => 2"])])
def test_log_shows_the_measure_it_is_sorted_by(lab, xdptop, tmp_path, sort, shown):
    """-s bytes ranked by bytes but printed packets (10 above 2 looked
    upside down): a key line shows the measure the ranking goes by."""
    sender, ns = lab.pair(mtu=1500)
    frames = [traffic.udp_frame("198.18.0.1", 64)] * 10 + [traffic.udp_frame("198.18.0.2", 1400)] * 2
    agent = lab.start(ns, xdptop, "-f", "log", "-s", sort, "-i", "0.1", "v1")
    agent.wait_attached()
    traffic.replay(sender, "v0", traffic.write_pcap(tmp_path / "two.pcap", frames))
    deadline = time.monotonic() + 20
    while "Totals: 12 packets" not in agent.stdout() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert agent.stop() == OK, agent.stderr()
    last = agent.stdout().split("Map contents:\n")[-1]
    assert lines(last)[:2] == ["\t" + line for line in shown], last


# ---------------------------------------------------------------- 7. --mode against a pin

def test_mode_that_does_not_match_the_pin_is_refused(lab, xdptop, bpffs):
    """The pinned program was attached natively: --mode generic was ignored
    silently. Refused like any option that does not match, with the fix; the
    pinned state stays, counting natively."""
    _, ns = lab.pair(mtu=1500)
    root = "--pin=" + str(bpffs / "xdptop")
    assert run(ns, xdptop, root, "-f", "json", "-i", "0.1", "-c", "1", "v1").returncode == OK
    prog = attached_prog(ns, "v1")
    res = run(ns, xdptop, root, "--mode", "generic", "-f", "json", "-i", "0.1", "-c", "1", "v1")
    assert (res.returncode, lines(res.stderr), res.stdout) == (USAGE, [
        'xdptop: the program pinned for iface "v1" is attached in native mode, not generic: '
        f"rerun with --mode native (or without --mode), or remove it with 'xdptop {root} "
        "--detach v1' (its counts are lost)"], ""), res
    assert attached_prog(ns, "v1") == prog and prog[2] == 1, prog
    res = run(ns, xdptop, root, "--mode", "native", "-f", "json", "-i", "0.1", "-c", "1", "v1")
    assert res.returncode == OK, res.stderr
    assert run(ns, xdptop, root, "--detach", "v1").returncode == OK
    assert_clean(ns)


# ---------------------------------------------------------------- 2. --force, then a failure

def foreign_program(lab, ns, xdptop, holder):
    """A program of another's on v1: attached by netlink, or held by a
    bpf_link (another xdptop, which must go on counting). Returns (the
    program as `ip` shows it, the other agent or None)."""
    if holder == "netlink":
        obj = str(Path(xdptop).parent / "xdptop.bpf.o")
        sh("ip", "-n", ns.name, "link", "set", "dev", "v1", "xdpdrv", "obj", obj, "sec", "xdp")
        return attached_prog(ns, "v1"), None
    other = lab.start(ns, xdptop, "-f", "json", "-i", "0.1", "v1")
    other.wait_attached()
    return attached_prog(ns, "v1"), other


def with_fault(xdptop, fault):
    """A command prefix that runs xdptop with tests/fault.c making `fault` fail."""
    asan = "detect_leaks=1:abort_on_error=0:exitcode=99:verify_asan_link_order=0"
    return ["env", f"LD_PRELOAD={Path(xdptop).parent / 'fault.so'}", f"XDPTOP_FAULT={fault}",
            f"ASAN_OPTIONS={asan}", xdptop]


def still_counting(other):
    """The other xdptop noticed nothing: it goes on reporting, and exits 0."""
    n = len(other.reports())
    deadline = time.monotonic() + 20
    while len(other.reports()) < n + 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(other.reports()) >= n + 3, other.stderr()
    assert other.stop() == OK, other.stderr()
    assert "detached" not in other.stderr(), other.stderr()


PATHS = {
    # a second interface that cannot be attached (a dummy has no native XDP)
    "second_iface": ([], ["--mode", "native", "v1", "d0"], INTERFACE),
    # the capabilities cannot be dropped
    "privileges": (["no_new_privs"], ["v1"], RUNTIME),
    # the exporter's server cannot start
    "exporter": (["http"], ["--listen", "127.0.0.1:9464", "v1"], RUNTIME),
}


@pytest.mark.parametrize("holder", ["netlink", "bpf_link"])
@pytest.mark.parametrize("path", PATHS)
def test_force_puts_the_program_back_when_the_start_fails(lab, xdptop, holder, path):
    """--force replaced a program, then the start failed: the interface was
    left bare (the other program, maybe a firewall, gone). The program
    replaced goes back in its place, whatever fails after the replace."""
    _, ns = lab.pair(mtu=1500)
    no_native_iface(ns, "d0")
    prog, other = foreign_program(lab, ns, xdptop, holder)
    fault, args, code = PATHS[path]
    cmd = with_fault(xdptop, fault[0]) if fault else [xdptop]
    res = run(ns, *cmd, "--force", "-f", "json", "-i", "0.1", "-c", "1", *args)
    who = f'{prog[0]} ("{prog[1]}")'
    err = lines(res.stderr)
    assert (res.returncode, res.stdout) == (code, ""), res
    assert err[0] == f'xdptop: replaced XDP program {who} on iface "v1"', err
    assert err[-1] == f'xdptop: put XDP program {who} back on iface "v1"', err
    assert attached_prog(ns, "v1") == prog
    if other:
        still_counting(other)
    else:
        sh("ip", "-n", ns.name, "link", "set", "dev", "v1", "xdpdrv", "off")
    assert_clean(ns)


def test_force_with_pin_puts_the_program_back_when_pinning_fails(lab, xdptop, bpffs):
    """--pin --force over another xdptop's link: the pin fails (no memory in
    the cgroup, here made by tests/fault.c): said as it is, not as a matter
    of permissions, and the other's program goes back in its link."""
    _, ns = lab.pair(mtu=1500)
    prog, other = foreign_program(lab, ns, xdptop, "bpf_link")
    root = bpffs / "xdptop"
    res = run(ns, *with_fault(xdptop, "pin"), f"--pin={root}", "--force", "-f", "json", "-c",
              "1", "v1")
    who = f'{prog[0]} ("{prog[1]}")'
    netns = os.readlink(f"/proc/{other.proc.pid}/ns/net")  # ip netns exec's child is xdptop
    assert (res.returncode, res.stdout) == (BPF, ""), res
    err = lines(res.stderr)
    assert err[-2:] == [
        f'xdptop: cannot pin iface "v1"\'s program and counts in {root}/net'
        f'{netns[5:-1]}/{attached_index(ns, "v1")} (Cannot allocate memory): not enough memory '
        "(a memory cgroup's limit?): raise it, or lower --max-sources",
        f'xdptop: put XDP program {who} back on iface "v1"'], err
    assert attached_prog(ns, "v1") == prog
    still_counting(other)
    assert not list(root.rglob("*")), list(root.rglob("*"))
    assert_clean(ns)


def attached_index(ns, ifname):
    out = sh("ip", "-n", ns.name, "-j", "link", "show", "dev", ifname).stdout
    return json.loads(out, strict=False)[0]["ifindex"]  # ip writes control characters raw


# ---------------------------------------------------------------- 9. pin errors, each its cause

def test_pin_path_with_a_name_too_long(lab, xdptop, tmp_path):
    """A 300-character name on the way: ENAMETOOLONG was blamed on access
    (exit 3, "let this user reach it")."""
    _, ns = lab.pair(mtu=1500)
    root = f"{tmp_path}/{'a' * 300}/xdptop"
    res = run(ns, xdptop, f"--pin={root}", "-c", "1", "v1")
    assert (res.returncode, lines(res.stderr)) == (USAGE, [
        f"xdptop: cannot reach {root} (File name too long): a name on the way is too long: "
        "choose a shorter --pin=DIR"]), res
    assert_clean(ns)


def test_pin_path_longer_than_the_system_takes(lab, xdptop):
    """A path over PATH_MAX failed with ENOENT after "Attached": refused
    before anything is attached."""
    _, ns = lab.pair(mtu=1500)
    root = "/sys/fs/bpf/" + "/".join(["d" * 200] * 25)
    res = run(ns, xdptop, f"--pin={root}", "-c", "1", "v1")
    assert (res.returncode, lines(res.stderr)) == (USAGE, [
        f"xdptop: --pin=DIR is {len(root)} characters long: the most is 4038"]), res
    assert_clean(ns)


def test_pin_without_memory(lab, xdptop, bpffs):
    """ENOMEM while pinning (a memory cgroup full; tests/fault.c makes the
    pin fail so) was blamed on the directory's owner and permissions."""
    _, ns = lab.pair(mtu=1500)
    root = bpffs / "xdptop"
    res = run(ns, *with_fault(xdptop, "pin"), f"--pin={root}", "-c", "1", "v1")
    err = lines(res.stderr)
    assert (res.returncode, res.stdout) == (BPF, ""), res
    assert re.fullmatch(rf'xdptop: cannot pin iface "v1"\'s program and counts in {root}/net\d+/'
                        r"\d+ \(Cannot allocate memory\): not enough memory \(a memory cgroup's "
                        r"limit\?\): raise it, or lower --max-sources", err[-1]), err
    assert not list(root.rglob("*")), list(root.rglob("*"))
    assert_clean(ns)


def test_pin_with_sys_unmounted(lab, xdptop):
    """Without /sys, xdptop suggested mounting a bpffs on /sys/fs/bpf, which
    cannot work: there is no /sys/fs to mount it on."""
    _, ns = lab.pair(mtu=1500)
    res = in_private_mounts(ns, "umount -l /sys", xdptop, "--pin", "-c", "1", "v1")
    assert (res.returncode, res.stdout, lines(res.stderr)) == (RUNTIME, "", [
        "xdptop: /sys is not mounted, so there is no /sys/fs/bpf to pin to: mount sysfs "
        "('mount -t sysfs sysfs /sys'), or use --pin=DIR on a BPF filesystem mounted "
        "elsewhere"]), res
    assert_clean(ns)


# ---------------------------------------------------------------- 8, 11, 19. what --status and --detach see

NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


def test_status_of_pins_this_user_cannot_read(lab, xdptop, bpffs):
    """The pin directory is root's (0700): --status as another user said
    "nothing". It says it cannot read it, and why."""
    _, ns = lab.pair(mtu=1500)
    root = bpffs / "xdptop"
    assert run(ns, xdptop, f"--pin={root}", "-c", "1", "v1").returncode == OK
    netns = next(root.iterdir())
    res = run(ns, *NOBODY, xdptop, f"--pin={root}", "--status")
    assert (res.returncode, lines(res.stderr)) == (3, [
        f"xdptop: cannot read {netns} (Permission denied): run as root, or as a member of the "
        "group that owns it"]), res
    assert lines(res.stdout)[-1] == f"Pinned by xdptop under {netns}:", res.stdout
    assert run(ns, xdptop, f"--pin={root}", "--detach", "v1").returncode == OK


def test_status_with_sys_unmounted(lab, xdptop):
    _, ns = lab.pair(mtu=1500)
    res = in_private_mounts(ns, "umount -l /sys", xdptop, "--status")
    assert res.returncode == OK, res
    assert lines(res.stdout)[-1] == ("  nothing can be seen: /sys is not mounted, so there is "
                                     "no /sys/fs/bpf"), res.stdout


def test_default_pins_under_ip_netns_exec(lab, xdptop):
    """ip netns exec gives each command a mount namespace and a /sys of its
    own, without a bpffs: xdptop mounts one there, which goes when xdptop
    exits, and the program with it. It said "the program stays attached,
    counting"; now it says the truth, which the interface then shows. And
    --status there, which cannot see another command's pins, says so."""
    _, ns = lab.pair(mtu=1500)
    res = run(ns, xdptop, "--pin", "-f", "json", "-c", "1", "v1")
    assert res.returncode == OK, res
    assert lines(res.stderr) == [
        attached_line(ns, "v1"),
        "xdptop: the pins are in a mount namespace of this command's own (ip netns exec makes "
        "one), so the program goes when xdptop exits: for pins that outlive it, use --pin=DIR "
        "on a BPF filesystem mounted outside"], res
    assert_clean(ns, wait=5)
    res = run(ns, xdptop, "--status")
    assert res.returncode == OK, res
    assert lines(res.stdout)[-1] == (
        "  nothing can be seen: no BPF filesystem there in this mount namespace (ip netns exec "
        "gives each command a /sys of its own, without one: an agent started that way keeps its "
        "pins in its own namespace, out of sight)"), res.stdout


def test_detach_leaves_no_empty_default_root(lab, xdptop):
    """--detach left an empty /sys/fs/bpf/xdptop. Both in one mount
    namespace (one ip netns exec), so that the second sees the first's pins."""
    _, ns = lab.pair(mtu=1500)
    x = shlex.quote(xdptop)
    res = shell(ns, f"{x} --pin -f json -c 1 v1 >/dev/null 2>&1 && ls -d /sys/fs/bpf/xdptop && "
                f"{x} --detach v1 && ls -d /sys/fs/bpf/xdptop; echo end")
    assert lines(res.stdout) == ["/sys/fs/bpf/xdptop", 'Detached xdptop from iface "v1" and '
                                 "removed its pinned state", "end"], res
    assert "No such file or directory" in res.stderr, res
    assert_clean(ns)


def test_detach_keeps_a_root_of_the_users(lab, xdptop, bpffs):
    _, ns = lab.pair(mtu=1500)
    root = bpffs / "mine"
    root.mkdir()
    assert run(ns, xdptop, f"--pin={root}", "-c", "1", "v1").returncode == OK
    assert run(ns, xdptop, f"--pin={root}", "--detach", "v1").returncode == OK
    assert root.is_dir() and not list(root.iterdir())
    assert_clean(ns)


# ---------------------------------------------------------------- 13. messages

def test_option_errors_name_xdptop(idle, xdptop):
    """argp named the program after argv[0] ("build/xdptop: ..."), every
    other message "xdptop:"."""
    res = run(idle, xdptop, "--bogus", "v1")
    assert (res.returncode, lines(res.stderr)) == (USAGE, [
        "xdptop: unrecognized option '--bogus'",
        "Try `xdptop --help' or `xdptop --usage' for more information."]), res


def test_no_ctrl_c_hint_when_it_ends_by_itself(lab, xdptop):
    """-c 1 ends by itself: no "Press Ctrl-C to exit"."""
    _, ns = lab.pair(mtu=1500)
    res = run(ns, xdptop, "-f", "json", "-i", "0.1", "-c", "1", "v1")
    assert (res.returncode, lines(res.stderr)) == (OK, [attached_line(ns, "v1")]), res
    assert_clean(ns)


# ---------------------------------------------------------------- 6. an interface renamed

def wait_until(cond, agent, timeout=20):
    deadline = time.monotonic() + timeout
    while not cond() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert cond(), agent.stderr()


def rename(ns, old, new):
    for args in (["down"], ["name", new], ["up"]):
        sh("ip", "-n", ns.name, "link", "set", old if args[0] != "up" else new, *args)


def test_renamed_interface_keeps_its_pinned_counts(lab, xdptop, bpffs, tmp_path):
    """Renamed (same ifindex, its link still holding it), an interface lost
    its pinned counts: the next --pin refused it as gone, and --status said
    both "iface gone" and "keeps counting". The same device is the same
    member: taken up under its new name, with every frame; and a running
    agent reports the new name from the next interval."""
    sender, ns = lab.pair(mtu=1500)
    root = "--pin=" + str(bpffs / "xdptop")
    assert run(ns, xdptop, root, "-f", "json", "-c", "1", "-i", "0.1", "v1").returncode == OK
    frames = [traffic.udp_frame("198.18.0.1", 100)] * 20
    assert traffic.replay(sender, "v0", traffic.write_pcap(tmp_path / "20.pcap", frames)) == 20
    rename(ns, "v1", "r1")

    status = run(ns, xdptop, root, "--status").stdout
    assert "(iface r1)" in status and "gone" not in status, status
    assert "no xdptop runs: it keeps counting; " in status, status
    res = run(ns, xdptop, root, "-f", "json", "-c", "1", "-i", "0.1", "r1")
    assert res.returncode == OK, res.stderr
    report = json.loads(lines(res.stdout)[-1])
    assert report["interface"] == "r1"
    assert {s["address"]: s["packets"] for s in report["sources"]} == {"198.18.0.1": 20}

    agent = lab.start(ns, xdptop, root, "-f", "json", "-i", "0.1", "r1")
    wait_until(lambda: agent.reports(), agent)
    rename(ns, "r1", "s1")
    wait_until(lambda: any(r["interface"] == "s1" for r in agent.reports()), agent)
    assert agent.stop() == OK, agent.stderr()
    names = [r["interface"] for r in agent.reports()]
    assert names[0] == "r1" and names[-1] == "s1", names
    status = run(ns, xdptop, root, "--status").stdout
    assert "(iface s1)" in status and "gone" not in status, status
    assert run(ns, xdptop, root, "--detach", "s1").returncode == OK
    assert_clean(ns)


# ---------------------------------------------------------------- 10. names and hints a shell takes

def test_hint_with_a_space_in_the_pin_directory_can_be_pasted(lab, xdptop, bpffs):
    _, ns = lab.pair(mtu=1500)
    (bpffs / "a b").mkdir()
    root = bpffs / "a b" / "xdptop"
    res = run(ns, xdptop, f"--pin={root}", "-f", "json", "-c", "1", "v1")
    assert res.returncode == OK, res
    hint = f"xdptop --pin='{root}' --detach IFACE"
    assert lines(res.stderr)[-1] == f"When xdptop exits, the program stays attached, counting " \
                                    f"({hint} removes it)", res.stderr
    pasted = hint.replace("xdptop ", shlex.quote(xdptop) + " ", 1).replace("IFACE", "v1")
    res = shell(ns, pasted)
    assert (res.returncode, lines(res.stdout)) == (OK, [
        'Detached xdptop from iface "v1" and removed its pinned state']), res
    assert_clean(ns)


def test_control_characters_in_an_interface_name(lab, xdptop, bpffs):
    """An interface may be named with an escape character: messages, log
    lines and reports show it escaped, never raw (a terminal would act on
    it); a hint quotes it so that a shell takes it back."""
    a, ns = lab.netns(), lab.netns()
    name = "e\x1bx"
    lab.veth(a, ns, name_a="v0", name_b=name)
    lab.veth(a, ns, name_a="w0", name_b="w1")
    root = bpffs / "xdptop"
    res = run(ns, xdptop, f"--pin={root}", "-f", "log", "-c", "1", "-i", "0.1", name, "w1")
    assert res.returncode == OK, res
    assert "\x1b" not in res.stdout + res.stderr
    index = attached_index(ns, name)
    assert lines(res.stderr) == [
        f'Attached XDP program to iface "e\\x1bx" (index {index})',
        attached_line(ns, "w1"),
        f"When xdptop exits, the program stays attached, counting (xdptop --pin={root} --detach "
        "IFACE removes it)"], res.stderr
    assert re.search(r' Map contents of iface "e\\x1bx":', res.stdout), res.stdout
    res = run(ns, xdptop, f"--pin={root}", "-f", "log", "-c", "1", "-i", "0.1", name)
    detach = f"xdptop --pin={root} --detach $'e\\x1bx'"
    assert res.returncode == USAGE and detach in res.stderr and "\x1b" not in res.stderr, res
    pasted = detach.replace("xdptop ", shlex.quote(xdptop) + " ", 1)
    res = shell(ns, pasted)
    assert (res.returncode, lines(res.stdout)) == (OK, [
        'Detached xdptop from iface "e\\x1bx" and removed its pinned state',
        'Detached xdptop from iface "w1" and removed its pinned state']), res
    assert_clean(ns)


def test_a_pin_never_committed_starts_its_interval_when_made(lab, xdptop, bpffs):
    """An agent killed before its first report leaves a ledger never
    committed, while its program counts on: the agent that takes it up
    measures its first interval from when the ledger was made, not from its
    own start (every frame since would land in one short interval)."""
    _, ns = lab.pair(mtu=1500)
    root = "--pin=" + str(bpffs / "xdptop")
    first = lab.start(ns, xdptop, root, "-f", "json", "-i", "60", "v1")
    first.wait_attached()
    made = time.monotonic()
    first.kill()
    time.sleep(1.5)
    res = run(ns, xdptop, root, "-f", "json", "-i", "0.2", "-c", "1", "v1")
    assert res.returncode == OK, res.stderr
    interval = json.loads(lines(res.stdout)[0])["interval"]
    assert 1.5 <= interval <= time.monotonic() - made + 0.5, interval
    assert run(ns, xdptop, root, "--detach", "v1").returncode == OK


def test_force_puts_the_program_back_when_the_first_report_fails(lab, xdptop):
    """> /dev/full: the first report cannot be written. The start is over
    only once a report is out: until then the program replaced goes back."""
    _, ns = lab.pair(mtu=1500)
    prog, _ = foreign_program(lab, ns, xdptop, "netlink")
    res = shell(ns, f"exec {shlex.quote(xdptop)} --force -f json -i 0.1 -c 1 v1 >/dev/full")
    who = f'{prog[0]} ("{prog[1]}")'
    assert (res.returncode, lines(res.stderr)[-2:]) == (RUNTIME, [
        CANNOT_WRITE, f'xdptop: put XDP program {who} back on iface "v1"']), res
    assert attached_prog(ns, "v1") == prog
    sh("ip", "-n", ns.name, "link", "set", "dev", "v1", "xdpdrv", "off")
    assert_clean(ns)


def test_force_without_cap_sys_admin_says_it_cannot_put_back(lab, xdptop):
    """Without CAP_SYS_ADMIN the program replaced cannot be opened, so it
    cannot go back: said, with why, when the start fails after the replace."""
    _, ns = lab.pair(mtu=1500)
    no_native_iface(ns, "d0")
    prog, _ = foreign_program(lab, ns, xdptop, "netlink")
    res = capsh(ns, xdptop, "cap_sys_admin", "--force", "--mode", "native", "-f", "json",
                "-c", "1", "v1", "d0")
    assert res.returncode == INTERFACE, res
    assert lines(res.stderr)[-1] == (
        f'xdptop: cannot put XDP program {prog[0]} back on iface "v1" (it could not be opened: '
        "Operation not permitted; that needs CAP_SYS_ADMIN): attach it again by hand"), res
    assert_clean(ns)


def test_force_says_when_the_program_cannot_go_back(lab, xdptop):
    """The kernel refuses to put the replaced program back in its link
    (tests/fault.c refuses every link update but the replace): said, with
    why and what to do, and nothing of xdptop's is left on the interface."""
    _, ns = lab.pair(mtu=1500)
    no_native_iface(ns, "d0")
    prog, other = foreign_program(lab, ns, xdptop, "bpf_link")
    res = run(ns, *with_fault(xdptop, "put_back"), "--force", "--mode", "native", "-f", "json",
              "-c", "1", "v1", "d0")
    who = f'{prog[0]} ("{prog[1]}")'
    assert res.returncode == INTERFACE, res
    assert lines(res.stderr)[-1] == (
        f'xdptop: could not put XDP program {who} back on iface "v1" (Operation not permitted): '
        "attach it again by hand"), res
    other.kill()
    assert_clean(ns, wait=5)
