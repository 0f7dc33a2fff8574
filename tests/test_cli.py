"""The command line and every failure path, against each build variant: each
case asserts the exit code, the exact stderr line(s), what stdout holds, and
that no XDP program is left on any interface of the test's namespaces (for
runs that fail before attaching: that nothing was attached at all).

xdptop only ever runs inside the test's own namespaces, on interfaces that
live there (veth pairs with both ends inside them, bridges, altnames).
tests/deny_bpf.c fakes a kernel without BPF (or without BTF) with seccomp.
"""
import errno
import os
import json
import platform
import re
import shlex
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import BUILD, DATA, ROOT, Lab, sanitizer_env, sh

EXIT = {m.group(1): int(m.group(2)) for m in re.finditer(
    r"^\s*EXIT_(\w+)\s*=\s*(\d+),", (ROOT / "src" / "cli.h").read_text(), re.M)}
OK, RUNTIME, USAGE, PRIVILEGE, INTERFACE, BPF, ALL_GONE = (
    EXIT[k] for k in ("OK", "RUNTIME", "USAGE", "PRIVILEGE", "INTERFACE", "BPF", "ALL_GONE"))

PRESS = "Press Ctrl-C to exit and remove the program"
NO_IFACE = ("xdptop: no interface given: name one or more, e.g. 'xdptop eth0' (see 'ip link'); "
            "for the service, set XDPTOP_IFACES in /etc/default/xdptop")
INTERVAL = 'xdptop: --interval must be a number of seconds from 0.01 to 86400, not "{}"'
WHOLE = 'xdptop: {} must be a whole number >= 1, not "{}"'
TOO_LARGE = "xdptop: {} {} is too large: the most is {}"
TRY_HELP = "Try `xdptop --help' or `xdptop --usage' for more information."
NO_BPF = ("xdptop: this kernel has no BPF (bpf() is not implemented): use a kernel built with "
          "CONFIG_BPF_SYSCALL=y")
SETCAP = "run it as root, or grant them with 'setcap cap_bpf,cap_net_admin+ep xdptop'"


# ---------------------------------------------------------------- helpers

def run(ns, binary, *args, timeout=30):
    """xdptop (or a wrapper around it) to completion inside ns."""
    return ns.run(binary, *args, check=False, env=sanitizer_env(), timeout=timeout,
                  stdin=subprocess.DEVNULL)


def lines(text):
    return text.splitlines()


def link(ns, ifname):
    """`ip -j link show` of one interface."""
    return json.loads(sh("ip", "-n", ns.name, "-j", "link", "show", "dev", ifname).stdout)[0]


def attached_prog(ns, ifname):
    """(prog id, prog name, mode) of the XDP program on ifname, or None.
    mode: 1 native (driver), 2 generic (skb), as in `ip -j`."""
    xdp = link(ns, ifname).get("xdp")
    if not xdp or "prog" not in xdp:
        return None
    return xdp["prog"]["id"], xdp["prog"]["name"], xdp["mode"]


def attached_line(ns, ifname):
    return f'Attached XDP program to iface "{ifname}" (index {link(ns, ifname)["ifindex"]})'


def assert_clean(*namespaces, wait=0.0):
    """No XDP program on any interface of these namespaces (polls for `wait`
    seconds: the kernel may release a link just after a process died)."""
    deadline = time.monotonic() + wait
    while True:
        left = {ns.name: ns.xdp_attached() for ns in namespaces}
        if not any(left.values()) or time.monotonic() >= deadline:
            break
        time.sleep(0.05)
    assert not any(left.values()), f"XDP programs left attached: {left}"


def assert_usage_error(res, *expected):
    """Exit 2, exactly these stderr lines, nothing on stdout."""
    assert (res.returncode, lines(res.stderr), res.stdout) == (USAGE, list(expected), ""), res


def reports(stdout):
    return [json.loads(line) for line in stdout.splitlines()]


def wait_for(cond, timeout=10, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def deny_bpf(binary):
    """The seccomp helper built with the same variant as binary."""
    return str(Path(binary).parent / "deny_bpf")


def no_native_iface(ns, name="d0"):
    """An interface whose driver has no native XDP, up: a dummy, or where
    the kernel has no dummy driver (CONFIG_DUMMY unset), a bridge."""
    if sh("ip", "-n", ns.name, "link", "add", name, "type", "dummy", check=False).returncode:
        sh("ip", "-n", ns.name, "link", "add", name, "type", "bridge")
    sh("ip", "-n", ns.name, "link", "set", name, "up")
    return name


@pytest.fixture(scope="module")
def idle():
    """One namespace with an idle veth end v1 (the peer v0 in another), shared
    by the cases that must fail before attaching anything."""
    lab = Lab()
    try:
        _, receiver = lab.pair(mtu=1500)
        yield receiver
    finally:
        lab.teardown()


# ---------------------------------------------------------------- interfaces

def test_no_interface(idle, xdptop):
    assert_usage_error(run(idle, xdptop), NO_IFACE)
    assert_usage_error(run(idle, xdptop, "-c", "1", "-f", "json"), NO_IFACE)
    assert_clean(idle)


def test_interface_does_not_exist(idle, xdptop):
    res = run(idle, xdptop, "-c", "1", "nosuch0")
    assert (res.returncode, lines(res.stderr), res.stdout) == (
        INTERFACE, ['xdptop: no interface named "nosuch0": list them with \'ip link\''], "")
    # One missing among existing ones: nothing attached to those either.
    res = run(idle, xdptop, "-c", "1", "v1", "nosuch0")
    assert (res.returncode, lines(res.stderr), res.stdout) == (
        INTERFACE, ['xdptop: no interface named "nosuch0": list them with \'ip link\''], "")
    assert_clean(idle)


def test_same_interface_twice(idle, xdptop):
    assert_usage_error(run(idle, xdptop, "-c", "1", "v1", "v1"),
                       'xdptop: interface "v1" is named twice: name it once')
    assert_usage_error(run(idle, xdptop, "-c", "1", "v1", "lo", "v1"),
                       'xdptop: interface "v1" is named twice: name it once')
    assert_clean(idle)


def test_same_interface_twice_by_altname(lab, xdptop):
    _, ns = lab.pair(mtu=1500)
    sh("ip", "-n", ns.name, "link", "property", "add", "dev", "v1", "altname", "rx0")
    res = run(ns, xdptop, "-c", "1", "-i", "0.1", "v1", "rx0")
    assert_clean(ns)
    assert res.returncode == USAGE, res
    assert len(lines(res.stderr)) == 1, res.stderr
    assert re.fullmatch(r'xdptop: interface "rx0" .*"v1".*named twice.*', res.stderr.strip()), \
        res.stderr


@pytest.mark.parametrize("how", ["long altname", "index"])
def test_interface_as_ip_link_names_it(lab, xdptop, how):
    """An altname of 16+ characters (beyond the ioctl's 15) and an ifindex
    given as a number: `ip link` takes both, and so does xdptop. The reports
    name the interface as given, and an index by the interface's name."""
    _, ns = lab.pair(mtu=1500)
    index = link(ns, "v1")["ifindex"]
    if how == "index":
        arg, shown = str(index), "v1"
    else:
        arg = shown = "uplink-to-the-upstream-router"
        sh("ip", "-n", ns.name, "link", "property", "add", "dev", "v1", "altname", arg)
        assert sh("ip", "-n", ns.name, "-j", "link", "show", "dev", arg).returncode == 0
    res = run(ns, xdptop, "-c", "1", "-i", "0.1", "-f", "json", arg)
    assert res.returncode == OK, res.stderr
    assert lines(res.stderr) == [f'Attached XDP program to iface "{shown}" (index {index})']
    assert [(r["interface"], r["ifindex"]) for r in reports(res.stdout)] == [(shown, index)]
    # The same interface by its name too: named twice.
    res = run(ns, xdptop, "-c", "1", "v1", arg)
    assert res.returncode == USAGE and f'"{shown}"' in res.stderr, res
    assert_clean(ns)


def test_no_interface_with_that_index(idle, xdptop):
    res = run(idle, xdptop, "-c", "1", "4000000")
    assert (res.returncode, lines(res.stderr)) == (INTERFACE, [
        "xdptop: no interface named \"4000000\": list them with 'ip link'"]), res
    assert_clean(idle)


def make_bridges(ns, n):
    """n interfaces b0..b<n-1> (bridges: no traffic, no peer needed)."""
    batch = "".join(f"link add b{i} type bridge\n" for i in range(n))
    subprocess.run(["ip", "-n", ns.name, "-batch", "-"], input=batch, text=True, check=True)
    return [f"b{i}" for i in range(n)]


def test_more_than_64_interfaces(lab, xdptop):
    ns = lab.netns()
    names = make_bridges(ns, 65)
    assert_usage_error(run(ns, xdptop, "-c", "1", *names),
                       'xdptop: too many interfaces: at most 64, "b64" is one too many')
    # The 65th need not even exist: the count is the error.
    assert_usage_error(run(ns, xdptop, "-c", "1", *names[:64], "nosuch0"),
                       'xdptop: too many interfaces: at most 64, "nosuch0" is one too many')
    assert_clean(ns)


def test_64_interfaces_work(lab, xdptop):
    ns = lab.netns()
    names = make_bridges(ns, 64)
    for name in names:
        sh("ip", "-n", ns.name, "link", "set", name, "up")
    res = run(ns, xdptop, "-n", "1", "-m", "generic", "-c", "1", "-i", "0.1", "-f", "json",
              *names, timeout=60)
    assert res.returncode == OK, res.stderr
    assert lines(res.stderr) == [attached_line(ns, n) for n in names]
    assert [r["interface"] for r in reports(res.stdout)] == names
    assert_clean(ns)


# ---------------------------------------------------------------- option values

BAD_VALUES = [
    # (args, the one stderr line)
    (["--interval", "0"], INTERVAL.format("0")),
    (["--interval", "-1"], INTERVAL.format("-1")),
    (["--interval=-1"], INTERVAL.format("-1")),
    (["-i", "abc"], INTERVAL.format("abc")),
    (["--interval", "1e999"], INTERVAL.format("1e999")),
    (["--interval", "nan"], INTERVAL.format("nan")),
    (["--interval", "inf"], INTERVAL.format("inf")),
    (["--interval", "0.001"], INTERVAL.format("0.001")),
    (["--interval", "90000"], INTERVAL.format("90000")),
    (["--interval", "1s"], INTERVAL.format("1s")),
    (["--interval", "0x10"], INTERVAL.format("0x10")),
    (["--interval", " 1"], INTERVAL.format(" 1")),
    (["--interval="], INTERVAL.format("")),
    (["--count", "0"], WHOLE.format("--count", "0")),
    (["--count", "-3"], WHOLE.format("--count", "-3")),
    (["-c", "x"], WHOLE.format("--count", "x")),
    (["--count", "1.5"], WHOLE.format("--count", "1.5")),
    (["--count", " 1"], WHOLE.format("--count", " 1")),
    (["--count", "+1"], WHOLE.format("--count", "+1")),
    (["--count="], WHOLE.format("--count", "")),
    (["--count", "99999999999999999999999"],
     TOO_LARGE.format("--count", "99999999999999999999999", 2**64 - 1)),
    (["--max-sources", "0"], WHOLE.format("--max-sources", "0")),
    (["--max-sources", "-1"], WHOLE.format("--max-sources", "-1")),
    (["-n", "abc"], WHOLE.format("--max-sources", "abc")),
    (["--max-sources", "16777217"], TOO_LARGE.format("--max-sources", "16777217", 1 << 24)),
    (["--max-sources", "99999999999999999999999"],
     TOO_LARGE.format("--max-sources", "99999999999999999999999", 1 << 24)),
    (["--top", "0"], WHOLE.format("--top", "0")),
    (["-t", "-1"], WHOLE.format("--top", "-1")),
    (["--top", "4294967296"], TOO_LARGE.format("--top", "4294967296", 2**32 - 1)),
    (["--format", "xml"], 'xdptop: unknown --format "xml": use top, log, json or none'),
    (["-f", "JSON"], 'xdptop: unknown --format "JSON": use top, log, json or none'),
    (["--mode", "fast"], 'xdptop: unknown --mode "fast": use auto, native or generic'),
    (["-m", ""], 'xdptop: unknown --mode "": use auto, native or generic'),
]


@pytest.mark.parametrize("args,line", BAD_VALUES, ids=[" ".join(a) for a, _ in BAD_VALUES])
def test_bad_value(idle, xdptop, args, line):
    assert_usage_error(run(idle, xdptop, *args, "v1"), line)
    assert_clean(idle)


ARGP_ERRORS = [
    # (args, first line after "<argv[0]>: "); argp adds the "Try" line
    (["--bogus", "v1"], "unrecognized option '--bogus'"),
    (["-Z", "v1"], "invalid option -- 'Z'"),
    (["v1", "--interval"], "option '--interval' requires an argument"),
    (["v1", "-c"], "option requires an argument -- 'c'"),
    (["v1", "--format"], "option '--format' requires an argument"),
    (["--force=yes", "v1"], "option '--force' doesn't allow an argument"),
]


@pytest.mark.parametrize("args,first", ARGP_ERRORS, ids=[" ".join(a) for a, _ in ARGP_ERRORS])
def test_argp_error(idle, xdptop, args, first):
    # "xdptop:" as every other message, not argv[0] as invoked.
    assert_usage_error(run(idle, xdptop, *args), f"xdptop: {first}", TRY_HELP)
    assert_clean(idle)


VALID = [
    ["--interval", "0.25"],
    ["--interval", "1e-1"],
    ["--count", "1"],
    ["--max-sources", "1"],
    ["--top", "1"],
    ["--format", "json"],
]


@pytest.mark.parametrize("args", VALID, ids=" ".join)
def test_valid_value(lab, xdptop, args):
    _, ns = lab.pair(mtu=1500)
    defaults = {"--interval": "0.1", "--count": "2", "--format": "json"}
    defaults.update(dict(zip(args[::2], args[1::2])))
    argv = [x for kv in defaults.items() for x in kv]
    start = time.monotonic()
    res = run(ns, xdptop, *argv, "v1")
    elapsed = time.monotonic() - start
    assert res.returncode == OK, res.stderr
    assert lines(res.stderr) == [attached_line(ns, "v1")]
    got = reports(res.stdout)
    assert len(got) == int(defaults["--count"]), res.stdout
    assert all(r["interface"] == "v1" for r in got)
    assert elapsed >= int(defaults["--count"]) * float(defaults["--interval"]), elapsed
    assert_clean(ns)


def test_count_exactly_n_reports(lab, xdptop):
    _, ns = lab.pair(mtu=1500)
    res = run(ns, xdptop, "--count", "3", "--interval", "0.1", "--format", "json", "v1")
    assert res.returncode == OK, res.stderr
    assert lines(res.stderr) == [attached_line(ns, "v1")]
    got = reports(res.stdout)
    assert len(got) == 3 and all(r["interface"] == "v1" for r in got), res.stdout
    # Log format: one "Map contents:" header per report.
    res = run(ns, xdptop, "-c", "3", "-i", "0.1", "v1")
    assert res.returncode == OK, res.stderr
    assert len(re.findall(r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d Map contents:$", res.stdout,
                          re.M)) == 3, res.stdout
    assert_clean(ns)


def test_count_with_two_interfaces(lab, xdptop):
    a, b = lab.pair(mtu=1500)
    lab.veth(a, b, "v2", "v3")
    res = run(b, xdptop, "-c", "2", "-i", "0.1", "-f", "json", "v1", "v3")
    assert res.returncode == OK, res.stderr
    assert lines(res.stderr) == [attached_line(b, "v1"), attached_line(b, "v3")]
    # N reports of each interface, in rounds.
    assert [r["interface"] for r in reports(res.stdout)] == ["v1", "v3", "v1", "v3"]
    assert_clean(a, b)


# ---------------------------------------------------------------- help and version

def test_help(idle, xdptop):
    res = run(idle, xdptop, "--help")
    assert (res.returncode, res.stderr) == (OK, ""), res
    out = res.stdout
    assert out.startswith("Usage: xdptop [OPTION...] IFACE...\n"), out
    for short, long in [("-c", "--count=N"), ("-f", "--format=FORMAT"),
                        ("-i", "--interval=SECONDS"), ("-m", "--mode=MODE"),
                        ("-n", "--max-sources=N"), ("-t", "--top=N"), ("-v", "--verbose"),
                        ("-s", "--sort=BY"), ("-k", "--key=FIELDS"),
                        ("-?", "--help"), ("-V", "--version")]:
        assert re.search(rf"^\s+{re.escape(short)}, {re.escape(long)}\s", out, re.M), long
    for long in ("--force", "--usage", "--prefix4=LEN", "--prefix6=LEN", "--vlan",
                 "--single-buffer", re.escape("--pin[=DIR]"), "--status", "--detach",
                 re.escape("--listen=[ADDR:]PORT"), "--metrics-top=N"):
        assert re.search(rf"^\s+{long}\s", out, re.M), long
    # The EXIT STATUS section lists every code of enum xdptop_exit, in order.
    section = out.split("EXIT STATUS:\n", 1)[1]
    codes = [int(m.group(1)) for m in re.finditer(r"^\s+(\d)\s+\S", section, re.M)]
    assert codes == sorted(EXIT.values()) == list(range(8)), section
    assert "CAP_BPF" in section and "CAP_NET_ADMIN" in section
    assert run(idle, xdptop, "-?").stdout == out
    assert_clean(idle)


def test_version(idle, xdptop):
    for flag in ("--version", "-V"):
        res = run(idle, xdptop, flag)
        assert (res.returncode, res.stdout, res.stderr) == (OK, "xdptop 0.1.0\n", ""), res
    # --help and --version win over a bad command line, and attach nothing.
    assert run(idle, xdptop, "--version", "nosuch0").returncode == OK
    assert_clean(idle)


# ---------------------------------------------------------------- privileges

def capsh(ns, binary, drop, *args):
    """xdptop as root, but with the capabilities in drop (comma-separated)
    removed from the bounding set: the exec'd xdptop lacks them."""
    cmd = "exec " + " ".join(shlex.quote(a) for a in (binary, *args))
    return ns.run("capsh", f"--drop={drop}", "--", "-c", cmd, check=False,
                  env=sanitizer_env(), timeout=30, stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("drop,missing", [
    ("cap_bpf,cap_sys_admin", "CAP_BPF"),
    ("cap_net_admin", "CAP_NET_ADMIN"),
    ("cap_bpf,cap_sys_admin,cap_net_admin", "CAP_BPF and CAP_NET_ADMIN"),
    ("cap_perfmon,cap_sys_admin", None),                # needed by --single-buffer only
])
def test_missing_capability(lab, xdptop, drop, missing):
    _, ns = lab.pair(mtu=1500)
    res = capsh(ns, xdptop, drop, "-c", "1", "-i", "0.2", "v1")
    if missing is None:
        assert res.returncode == OK, res.stderr
    else:
        assert (res.returncode, lines(res.stderr), res.stdout) == (
            PRIVILEGE, [f"xdptop: missing {missing}: {SETCAP}"], ""), res
    assert_clean(ns)


@pytest.mark.parametrize("key", ["src", "dst", "proto", "src,proto,dport", "dst,tcpflags",
                                 "src,dst,proto,sport,dport,tcpflags"])
def test_every_key_loads_without_perfmon(lab, xdptop, key):
    """The verifier takes the program of every kind of key (narrow, wide,
    with L4 fields) without CAP_PERFMON: it never adds a register to a
    packet pointer, nor touches what it does not own on a path its key
    never takes (simulated against Spectre v1 before Linux 6.17). Linux
    6.1's refuses it (a narrower store into a stack slot of a spilled
    register), and xdptop says so, naming CAP_PERFMON."""
    _, ns = lab.pair(mtu=1500)
    res = capsh(ns, xdptop, "cap_perfmon,cap_sys_admin", "-c", "1", "-i", "0.2", "-f", "json",
                "--key", key, "--vlan", "--prefix6", "64", "v1")
    if os.uname().release.startswith("6.1."):
        assert (res.returncode, lines(res.stderr), res.stdout) == (PRIVILEGE, [
            "xdptop: this kernel's verifier refused xdptop's XDP program without CAP_PERFMON "
            "(Permission denied), as Linux 6.1's does: grant CAP_PERFMON too (see the README's "
            "Privileges), or rerun with -v for its log"], ""), res
    else:
        assert res.returncode == OK, res.stderr
        assert len(reports(res.stdout)) == 1
    assert_clean(ns)


def test_missing_capabilities_of_single_buffer(lab, xdptop):
    _, ns = lab.pair(mtu=1500)
    res = capsh(ns, xdptop, "cap_bpf,cap_perfmon,cap_sys_admin,cap_net_admin",
                "--single-buffer", "-c", "1", "v1")
    assert (res.returncode, lines(res.stderr), res.stdout) == (PRIVILEGE, [
        "xdptop: missing CAP_BPF, CAP_NET_ADMIN and CAP_PERFMON: run it as root, or grant "
        "them with 'setcap cap_bpf,cap_net_admin,cap_perfmon+ep xdptop'"], ""), res
    assert_clean(ns)


@pytest.mark.parametrize("drop", ["cap_bpf", "cap_sys_admin"])
def test_enough_capability(lab, xdptop, drop):
    """CAP_SYS_ADMIN also grants BPF; CAP_BPF + CAP_NET_ADMIN (what setcap
    grants) are enough without CAP_SYS_ADMIN."""
    _, ns = lab.pair(mtu=1500)
    res = capsh(ns, xdptop, drop, "-c", "1", "-i", "0.2", "-f", "json", "v1")
    assert res.returncode == OK, res.stderr
    assert lines(res.stderr) == [attached_line(ns, "v1")]
    assert len(reports(res.stdout)) == 1
    assert_clean(ns)


# ---------------------------------------------------------------- a program already there

@pytest.mark.parametrize("how", ["xdpgeneric", "xdpdrv"])
def test_existing_program(lab, xdptop, how):
    _, ns = lab.pair(mtu=1500)
    obj = str(Path(xdptop).parent / "xdptop.bpf.o")
    sh("ip", "-n", ns.name, "link", "set", "dev", "v1", how, "obj", obj, "sec", "xdp")
    prog = attached_prog(ns, "v1")
    assert prog and prog[1] == "xdptop", prog
    pid = prog[0]

    res = run(ns, xdptop, "-c", "1", "-i", "0.2", "v1")
    assert (res.returncode, lines(res.stderr), res.stdout) == (INTERFACE, [
        f'xdptop: iface "v1" already has XDP program {pid} ("xdptop") attached: remove it '
        f"('ip link set dev v1 xdp off', or stop its owner) or replace it with --force"], ""), res
    assert attached_prog(ns, "v1") == prog, "the original program must stay attached"

    res = run(ns, xdptop, "--force", "-c", "1", "-i", "0.2", "-f", "json", "v1")
    assert res.returncode == OK, res.stderr
    assert lines(res.stderr) == [f'xdptop: replaced XDP program {pid} ("xdptop") on iface "v1"',
                                 attached_line(ns, "v1"), KEEP_NET_ADMIN]
    assert len(reports(res.stdout)) == 1
    assert_clean(ns)


KEEP_NET_ADMIN = ("xdptop: keeping CAP_NET_ADMIN: --force put its program in place of one "
                  "attached by netlink, and only that capability takes it off at exit")


def in_memory_cgroup(limit):
    """A command prefix that runs the rest in a new memory cgroup of `limit`
    bytes (cgroup v1 or v2, whichever this machine has), and its path, to
    remove after."""
    v1 = "/sys/fs/cgroup/memory"
    base, limit_file = (v1, "memory.limit_in_bytes") if os.path.isdir(v1) else \
        ("/sys/fs/cgroup", "memory.max")
    path = os.path.join(base, f"xdpt-{os.getpid()}-{time.monotonic_ns()}")
    os.mkdir(path)
    with open(os.path.join(path, limit_file), "w") as f:
        f.write(str(limit))
    return ["sh", "-c", f'echo $$ > {path}/cgroup.procs && exec "$@"', "sh"], path


@pytest.mark.parametrize("holder", ["netlink", "bpf_link"])
def test_force_keeps_the_old_program_when_the_new_cannot_load(lab, xdptop, holder):
    """--force loads first: a table too large for the memory cgroup fails
    before anything is touched, and the program that was there stays."""
    _, ns = lab.pair(mtu=1500)
    first = None
    if holder == "netlink":
        obj = str(Path(xdptop).parent / "xdptop.bpf.o")
        sh("ip", "-n", ns.name, "link", "set", "dev", "v1", "xdpdrv", "obj", obj, "sec", "xdp")
    else:
        first = lab.start(ns, xdptop, "-f", "json", "-i", "0.1", "v1")
        first.wait_attached()
    prog = attached_prog(ns, "v1")
    assert prog and prog[1] == ("xdptop" if holder == "netlink" else "xdptop_frags"), prog
    prefix, cgroup = in_memory_cgroup(48 << 20)
    try:
        res = sh(*prefix, "ip", "netns", "exec", ns.name, xdptop, "--force", "-n", "4000000",
                 "-c", "1", "-f", "json", "v1", check=False, env=sanitizer_env(),
                 stdin=subprocess.DEVNULL, timeout=60)
    finally:
        os.rmdir(cgroup)
    assert (res.returncode, res.stdout, lines(res.stderr)) == (BPF, "", [
        "xdptop: not enough memory for the counting table (Cannot allocate memory): lower "
        "--max-sources"]), res
    assert attached_prog(ns, "v1") == prog
    if first:
        n = len(first.reports())
        wait_for(lambda: len(first.reports()) >= n + 2, what="the first xdptop still reporting")
        assert first.stop() == OK, first.stderr()
    else:
        sh("ip", "-n", ns.name, "link", "set", "dev", "v1", "xdpdrv", "off")
    assert_clean(ns)


def test_interface_held_by_another_xdptop(lab, xdptop):
    _, ns = lab.pair(mtu=1500)
    first = lab.start(ns, xdptop, "-f", "json", "-i", "0.1", "v1")
    first.wait_attached()
    prog = attached_prog(ns, "v1")
    assert prog and prog[1] == "xdptop_frags", prog

    res = run(ns, xdptop, "-c", "1", "-i", "0.2", "v1")
    # A bpf_link holds it: 'ip link set dev v1 xdp off' would be refused, so
    # the message does not suggest it.
    assert (res.returncode, lines(res.stderr), res.stdout) == (INTERFACE, [
        f'xdptop: iface "v1" already has XDP program {prog[0]} ("xdptop_frags") attached through a '
        f"bpf_link: stop its owner (an xdptop left pinned: take it up with --pin, or remove it "
        f"with 'xdptop --detach IFACE'), or replace it with --force"], ""), res
    off = sh("ip", "-n", ns.name, "link", "set", "dev", "v1", "xdp", "off", check=False)
    assert off.returncode != 0 and attached_prog(ns, "v1") == prog, off

    # The first one goes on: still attached, still reporting.
    assert first.proc.poll() is None, first.stderr()
    assert attached_prog(ns, "v1") == prog
    n = len(first.reports())
    wait_for(lambda: len(first.reports()) >= n + 2, what="more reports of the first xdptop")
    assert first.stop() == OK, first.stderr()
    assert lines(first.stderr()) == [attached_line(ns, "v1"), PRESS]
    assert_clean(ns)


def test_interface_held_without_cap_sys_admin(lab, xdptop):
    """Without CAP_SYS_ADMIN (the setcap recipe) links cannot be listed, nor
    programs opened by id to read their name: the message cannot tell a
    bpf_link from a netlink attachment, and says what to do in either case."""
    _, ns = lab.pair(mtu=1500)
    first = lab.start(ns, xdptop, "-f", "json", "-i", "0.1", "v1")
    first.wait_attached()
    prog = attached_prog(ns, "v1")
    res = capsh(ns, xdptop, "cap_sys_admin", "-c", "1", "v1")
    assert (res.returncode, lines(res.stderr), res.stdout) == (INTERFACE, [
        f'xdptop: iface "v1" already has XDP program {prog[0]} attached: '
        "remove it ('ip link set dev v1 xdp off'; if a bpf_link holds it, stop its owner) or "
        "replace it with --force"], ""), res
    assert attached_prog(ns, "v1") == prog
    assert first.stop() == OK, first.stderr()
    assert_clean(ns)


def test_force_over_another_xdptop(lab, xdptop):
    """--force detaches the other's bpf_link; the other then stops counting
    and exits on its own; nothing is left attached."""
    _, ns = lab.pair(mtu=1500)
    first = lab.start(ns, xdptop, "-f", "json", "-i", "0.1", "v1")
    first.wait_attached()
    pid = attached_prog(ns, "v1")[0]
    res = run(ns, xdptop, "--force", "-c", "1", "-i", "0.2", "-f", "json", "v1")
    assert res.returncode == OK, res.stderr
    assert lines(res.stderr) == [f'xdptop: replaced XDP program {pid} ("xdptop_frags") on '
                                 'iface "v1"',
                                 attached_line(ns, "v1")]
    assert len(reports(res.stdout)) == 1
    first.wait(timeout=10)
    assert first.rc != OK, first.stderr()
    assert_clean(ns)


def test_force_leaves_other_namespaces_alone(lab, xdptop):
    """Every namespace's v1 has the same ifindex: --force in one namespace
    detaches the link there, never the older one on the other namespace's v1."""
    _, ns_a = lab.pair(mtu=1500)
    _, ns_b = lab.pair(mtu=1500)
    assert ifindex_of(ns_a, "v1") == ifindex_of(ns_b, "v1")
    other = lab.start(ns_a, xdptop, "-f", "json", "-i", "0.1", "v1")
    other.wait_attached()
    victim = lab.start(ns_b, xdptop, "-f", "json", "-i", "0.1", "v1")
    victim.wait_attached()
    res = run(ns_b, xdptop, "--force", "-c", "1", "-i", "0.2", "-f", "json", "v1")
    assert res.returncode == OK, res.stderr
    victim.wait(timeout=10)
    assert victim.rc == INTERFACE, victim.stderr()
    assert other.proc.poll() is None, other.stderr()
    assert ns_a.xdp_attached() == ["v1"]
    assert other.stop() == OK
    assert_clean(ns_a)
    assert_clean(ns_b)


def ifindex_of(ns, ifname):
    return int(ns.run("cat", f"/sys/class/net/{ifname}/ifindex").stdout)


def test_force_over_another_xdptop_tells_it(lab, xdptop):
    _, ns = lab.pair(mtu=1500)
    first = lab.start(ns, xdptop, "-f", "json", "-i", "0.1", "v1")
    first.wait_attached()
    assert run(ns, xdptop, "--force", "-c", "1", "-i", "0.1", "v1").returncode == OK
    first.wait(timeout=10)
    assert_clean(ns)
    last = lines(first.stderr())[2:]
    assert len(last) == 1, first.stderr()
    assert re.fullmatch(r'xdptop: .*iface "v1".*(detached|replaced|removed).*', last[0]), last
    assert "disappeared" not in last[0], last
    assert first.rc == INTERFACE, (first.rc, first.stderr())


def test_force_over_link_without_cap_sys_admin(lab, xdptop):
    _, ns = lab.pair(mtu=1500)
    first = lab.start(ns, xdptop, "-f", "json", "-i", "0.1", "v1")
    first.wait_attached()
    res = capsh(ns, xdptop, "cap_sys_admin", "--force", "-c", "1", "-i", "0.2", "v1")
    assert first.proc.poll() is None, first.stderr()
    assert first.stop() == OK
    assert_clean(ns)
    assert res.stdout == ""
    assert len(lines(res.stderr)) == 1, res.stderr
    assert re.fullmatch(r'xdptop: .*iface "v1".*CAP_SYS_ADMIN.*', res.stderr.strip()), res.stderr
    assert res.returncode == PRIVILEGE, res


# ---------------------------------------------------------------- modes

def test_native_mode_unsupported(lab, xdptop):
    ns = lab.netns()
    dev = no_native_iface(ns)
    res = run(ns, xdptop, "--mode", "native", "-c", "1", "-i", "0.2", dev)
    assert (res.returncode, lines(res.stderr), res.stdout) == (
        INTERFACE, [f'xdptop: native mode not supported on iface "{dev}": try --mode generic'],
        ""), res
    assert_clean(ns)


@pytest.mark.parametrize("mode_args", [["--mode", "auto"], []], ids=["auto", "default"])
def test_auto_mode_falls_back_to_generic(lab, xdptop, mode_args):
    ns = lab.netns()
    dev = no_native_iface(ns)
    agent = lab.start(ns, xdptop, *mode_args, "-f", "json", "-i", "0.2", dev)
    agent.wait_attached()
    assert attached_prog(ns, dev)[2] == 2, "generic mode"
    assert agent.stop() == OK, agent.stderr()
    assert lines(agent.stderr()) == [
        f'xdptop: native XDP not available on iface "{dev}" (Operation not supported); '
        "using generic mode", attached_line(ns, dev), PRESS]
    assert len(agent.reports()) >= 1
    # And with --count 1 it ends on its own.
    res = run(ns, xdptop, *mode_args, "-c", "1", "-i", "0.2", "-f", "json", dev)
    assert res.returncode == OK, res.stderr
    assert len(lines(res.stderr)) == 2 and "using generic mode" in res.stderr
    assert len(reports(res.stdout)) == 1
    assert_clean(ns)


@pytest.mark.parametrize("mode,code", [("generic", 2), ("native", 1), ("auto", 1)])
def test_mode_on_veth(lab, xdptop, mode, code):
    a, b = lab.pair(mtu=1500)
    agent = lab.start(b, xdptop, "--mode", mode, "-f", "json", "-i", "0.2", "v1")
    agent.wait_attached()
    prog = attached_prog(b, "v1")
    assert prog[1] == "xdptop_frags" and prog[2] == code, prog
    assert agent.stop() == OK, agent.stderr()
    assert lines(agent.stderr()) == [attached_line(b, "v1"), PRESS]
    assert agent.reports()
    assert_clean(a, b)


# ---------------------------------------------------------------- no BPF, no BTF

def test_deny_bpf_helper(xdptop):
    """deny_bpf itself: which bpf() commands fail, with which errno. An attr
    pointer of 1 makes every real bpf() command fail with EFAULT."""
    nr_bpf = {"x86_64": 321, "aarch64": 280}[platform.machine()]
    probe = ("import ctypes\n"
             "libc = ctypes.CDLL(None, use_errno=True)\n"
             "def bpf(cmd):\n"
             f"    r = libc.syscall(ctypes.c_long({nr_bpf}), ctypes.c_long(cmd), ctypes.c_long(1),"
             " ctypes.c_long(64))\n"
             "    return ctypes.get_errno() if r < 0 else 0\n"
             # BPF_BTF_LOAD = 18 (also with junk in the upper half of the int
             # argument), BPF_PROG_GET_NEXT_ID = 11, BPF_MAP_CREATE = 0
             "print(bpf(18), bpf(18 | 1 << 32), bpf(11), bpf(0))\n")
    helper = deny_bpf(xdptop)

    def errnos(*wrap):
        res = sh(*wrap, "/usr/bin/python3", "-c", probe)
        return [int(x) for x in res.stdout.split()]

    assert errnos() == [errno.EFAULT] * 4
    assert errnos(helper, "all", "--") == [errno.ENOSYS] * 4
    assert errnos(helper, "btf", "--") == [errno.EINVAL, errno.EINVAL, errno.EFAULT,
                                           errno.EFAULT]
    for bad in (["x", "--", "true"], ["all", "true"], ["all", "--"]):
        res = sh(helper, *bad, check=False)
        assert res.returncode == 125 and res.stderr.startswith("usage: deny_bpf"), res
    res = sh(helper, "all", "--", "/nonexistent/cmd", check=False)
    assert res.returncode == 127, res


def test_kernel_without_bpf(lab, xdptop):
    _, ns = lab.pair(mtu=1500)
    res = run(ns, deny_bpf(xdptop), "all", "--", xdptop, "-c", "1", "-i", "0.2", "v1")
    assert (res.returncode, lines(res.stderr), res.stdout) == (BPF, [NO_BPF], ""), res
    assert_clean(ns)


def test_kernel_without_btf(lab, xdptop):
    """The program needs no kernel BTF: libbpf drops it and xdptop works."""
    _, ns = lab.pair(mtu=1500)
    res = run(ns, deny_bpf(xdptop), "btf", "--", xdptop, "-c", "1", "-i", "0.2", "-f", "json",
              "v1")
    assert res.returncode == OK, res.stderr
    assert lines(res.stderr) == [attached_line(ns, "v1")]
    assert len(reports(res.stdout)) == 1
    # The filter did bite: libbpf (shown with -v) saw no BTF support.
    res = run(ns, deny_bpf(xdptop), "btf", "--", xdptop, "-v", "-c", "1", "-i", "0.2", "v1")
    assert res.returncode == OK, res.stderr
    assert "libbpf: Kernel doesn't support BTF, skipping uploading it." in res.stderr
    assert_clean(ns)


# ---------------------------------------------------------------- interfaces that go away

GONE = 'xdptop: iface "{}" disappeared: no longer counting it'


def test_only_interface_disappears(lab, xdptop):
    a, b = lab.pair(mtu=1500)
    agent = lab.start(b, xdptop, "-f", "json", "-i", "0.1", "v1")
    agent.wait_attached()
    attached = attached_line(b, "v1")
    wait_for(lambda: agent.reports(), what="a first report")
    sh("ip", "-n", b.name, "link", "del", "v1")
    assert agent.wait(timeout=10) == ALL_GONE, agent.stderr()
    assert lines(agent.stderr()) == [attached, PRESS, GONE.format("v1")]
    assert all(r["interface"] == "v1" for r in agent.reports())
    assert_clean(a, b)


def test_one_of_two_interfaces_disappears(lab, xdptop):
    a, b = lab.pair(mtu=1500)
    lab.veth(a, b, "v2", "v3")
    sh("ip", "-n", a.name, "addr", "add", "198.18.77.1/24", "dev", "v2")
    sh("ip", "-n", b.name, "addr", "add", "198.18.77.2/24", "dev", "v3")
    agent = lab.start(b, xdptop, "-f", "json", "-i", "0.1", "v1", "v3")
    agent.wait_attached(2)
    expected_err = [attached_line(b, "v1"), attached_line(b, "v3"), PRESS, GONE.format("v1")]
    sh("ip", "-n", b.name, "link", "del", "v1")
    wait_for(lambda: GONE.format("v1") in agent.stderr(), what="the 'disappeared' line")

    def of(name):
        return [r for r in agent.reports() if r["interface"] == name]

    v1_reports = len(of("v1"))
    # v3 still counts: pings from v2 show up in its reports.
    a.run("ping", "-q", "-c", "3", "-i", "0.05", "-W", "2", "198.18.77.2")

    def pings_counted():
        last = of("v3")[-1]["sources"] if of("v3") else []
        return any(s["address"] == "198.18.77.1" and s["packets"] >= 3 for s in last)
    wait_for(pings_counted, what="the pings in v3's report")
    assert agent.proc.poll() is None, agent.stderr()
    assert len(of("v1")) == v1_reports, "no report of v1 after it disappeared"
    assert agent.stop(signal.SIGINT) == OK, agent.stderr()
    assert lines(agent.stderr()) == expected_err
    assert_clean(a, b)


MOVED = ('xdptop: iface "{}" moved to another network namespace: no longer counting it '
         "(xdptop's program taken off it)")


def test_interface_moved_to_another_namespace(lab, xdptop):
    """The device leaves with xdptop's program on it: xdptop says so, takes
    its program off (it is not its to count there) and, with nothing left to
    count, exits 6. The device lives on in the other namespace."""
    a, b = lab.pair(mtu=1500)
    elsewhere = lab.netns()
    lab.veth(a, b, "v2", "v3")
    agent = lab.start(b, xdptop, "-f", "json", "-i", "0.1", "v1", "v3")
    agent.wait_attached(2)
    attached = [attached_line(b, "v1"), attached_line(b, "v3")]
    sh("ip", "-n", b.name, "link", "set", "v1", "netns", elsewhere.name)
    wait_for(lambda: MOVED.format("v1") in agent.stderr(), what="the 'moved' line")
    assert agent.proc.poll() is None, agent.stderr()
    assert_clean(elsewhere, wait=2)                 # its program is off v1, over there
    assert b.xdp_attached() == ["v3"]               # v3 still counted
    n = len([r for r in agent.reports() if r["interface"] == "v1"])
    sh("ip", "-n", b.name, "link", "set", "v3", "netns", elsewhere.name)
    assert agent.wait(timeout=10) == ALL_GONE, agent.stderr()
    assert lines(agent.stderr()) == attached + [PRESS, MOVED.format("v1"), MOVED.format("v3")]
    assert len([r for r in agent.reports() if r["interface"] == "v1"]) == n
    assert_clean(a, b, elsewhere, wait=2)


# ---------------------------------------------------------------- signals

@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP],
                         ids=["SIGINT", "SIGTERM", "SIGHUP"])
def test_signal_final_report(lab, xdptop, sig):
    _, ns = lab.pair(mtu=1500)
    agent = lab.start(ns, xdptop, "-f", "json", "-i", "60", "v1")
    agent.wait_attached()
    assert ns.xdp_attached() == ["v1"]
    start = time.monotonic()
    assert agent.stop(sig, timeout=10) == OK, agent.stderr()
    assert time.monotonic() - start < 5, "the sleep must end at once"
    assert lines(agent.stderr()) == [attached_line(ns, "v1"), PRESS]
    got = agent.reports()
    assert len(got) == 1 and got[0]["interface"] == "v1", agent.stdout()
    assert_clean(ns)


def test_closed_pipe_is_a_quiet_stop(lab, xdptop):
    """xdptop v1 | head -2: the reader closing the pipe is a normal way to
    stop: exit 0, no error line, nothing left attached."""
    _, ns = lab.pair(mtu=1500)
    res = ns.run("bash", "-c", f'{shlex.quote(xdptop)} -f log -i 0.05 v1 | head -2; '
                 'echo "rc=${PIPESTATUS[0]}"', check=False, env=sanitizer_env(), timeout=30,
                 stdin=subprocess.DEVNULL)
    out = lines(res.stdout)
    assert re.fullmatch(r"\d{4}/\d\d/\d\d \d\d:\d\d:\d\d Map contents:", out[0]), out
    assert out[1].startswith(tuple("0123456789")) and "Totals:" in out[1], out
    assert out[2:] == [f"rc={OK}"], out
    assert lines(res.stderr) == [attached_line(ns, "v1"), PRESS]
    assert_clean(ns, wait=5)


def test_sigkill_leaves_nothing_attached(lab, xdptop):
    _, ns = lab.pair(mtu=1500)
    agent = lab.start(ns, xdptop, "-f", "json", "-i", "60", "v1")
    agent.wait_attached()
    assert ns.xdp_attached() == ["v1"]
    assert agent.stop(signal.SIGKILL, timeout=10) == -signal.SIGKILL
    assert agent.stdout() == ""
    assert_clean(ns, wait=5)


# ---------------------------------------------------------------- the machine's side

def in_private_mounts(ns, setup, binary, *args):
    """xdptop inside ns, in a mount namespace of its own where `setup` (a
    shell command) changed what it sees: the host's mounts stay as they are."""
    cmd = f"{setup} && exec " + " ".join(shlex.quote(a) for a in (binary, *args))
    return ns.run("unshare", "-m", "--propagation", "private", "sh", "-c", cmd, check=False,
                  env=sanitizer_env(), timeout=30, stdin=subprocess.DEVNULL)


def test_table_too_large_for_the_cpus(lab, xdptop, tmp_path):
    """Only the CPUs' own regions grow with the CPUs (2048 slots each), so
    every --max-sources up to the limit fits any CPU count Linux has; a
    sysfs file that says 1,040,000 CPUs makes --max-sources 16777216 need
    more slots than a BPF array holds. Refused with the most that fits, not
    blamed on the kernel; nothing loaded."""
    _, ns = lab.pair(mtu=1500)
    possible = tmp_path / "possible"
    possible.write_text("0-1039999\n")
    setup = f"mount --bind {shlex.quote(str(possible))} /sys/devices/system/cpu/possible"
    res = in_private_mounts(ns, setup, xdptop, "--max-sources", "16777216", "-c", "1", "v1")
    assert (res.returncode, res.stdout, lines(res.stderr)) == (USAGE, "", [
        "xdptop: --max-sources 16777216 is too large for 1040000 CPUs (a BPF array holds "
        "under 2^32 slots): the most is 8388608"]), res
    assert_clean(ns)


def test_sysfs_not_mounted(lab, xdptop):
    """Without /sys libbpf cannot count the CPUs: say that, not that the
    kernel is too old."""
    _, ns = lab.pair(mtu=1500)
    res = in_private_mounts(ns, "umount -l /sys", xdptop, "-c", "1", "v1")
    assert (res.returncode, res.stdout, lines(res.stderr)) == (RUNTIME, "", [
        "xdptop: cannot tell how many CPUs this machine has (No such file or directory, "
        "reading /sys/devices/system/cpu/possible): mount sysfs on /sys"]), res
    assert_clean(ns)


# ---------------------------------------------------------------- the README

README = ROOT / "README.md"
# --help as scripts/readme-usage (make readme) writes it into the README:
# argp's default width, whatever the terminal's, in the C locale.
HELP_ENV = {"LC_ALL": "C", "ARGP_HELP_FMT": "rmargin=79"}


def readme_block(text, heading, fence="```"):
    """The lines of the first code block after a README heading."""
    after = text.split(f"\n{heading}\n", 1)[1]
    start = after.index(f"\n{fence}\n") + len(fence) + 2
    return after[start:after.index("\n```\n", start) + 1]


def help_text(binary):
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    res = subprocess.run([binary, "--help"], capture_output=True, text=True, check=True,
                         env={**env, **HELP_ENV})
    return res.stdout


def test_readme_usage_is_help(xdptop):
    """The README's Usage block is --help's output, exactly: the options
    have one source, src/cli.c (make readme rewrites the block)."""
    usage = readme_block(README.read_text(), "## Usage")
    assert usage == help_text(xdptop)
    for option in ("--listen=[ADDR:]PORT", "--metrics-top=N", "--pin[=DIR]", "--status",
                   "--detach", "none (with --listen)"):
        assert option in usage, option


def test_readme_usage_script_rewrites_drift(tmp_path):
    """scripts/readme-usage (make readme) puts --help into a README whose
    block drifted, touches nothing else, and says when there was nothing to
    do; the terminal's width does not change what it writes."""
    xdptop = str(BUILD / "xdptop")
    text = README.read_text()
    usage = readme_block(text, "## Usage")
    drifted = text.replace(usage, "".join(line + "\n" for line in usage.splitlines()
                                          if "--listen" not in line and "--pin" not in line))
    assert drifted != text
    copy = tmp_path / "README.md"
    copy.write_text(drifted)
    env = {**os.environ, "COLUMNS": "40", "ARGP_HELP_FMT": "rmargin=40", "LANG": "de_DE.UTF-8"}
    script = str(ROOT / "scripts" / "readme-usage")
    res = subprocess.run([script, xdptop, str(copy)], capture_output=True, text=True, env=env)
    assert (res.returncode, res.stderr) == (0, ""), res
    assert res.stdout == f"{copy}: Usage block rewritten from {xdptop} --help\n"
    new = copy.read_text()
    assert readme_block(new, "## Usage") == help_text(xdptop)
    assert new.replace(readme_block(new, "## Usage"), "") == text.replace(usage, "")
    res = subprocess.run([script, xdptop, str(copy)], capture_output=True, text=True, env=env)
    assert res.stdout == f"{copy}: Usage block up to date\n" and copy.read_text() == new
    # make readme runs it on the README, from the build's binary.
    res = sh("make", "-C", str(ROOT), "--no-print-directory", "-n", f"BUILD={BUILD}", "readme")
    assert f"scripts/readme-usage {BUILD}/xdptop README.md" in res.stdout, res.stdout


def number_formats(raw):
    """{key: {decimals}} of every number in a JSON text, as written: 0 for
    an integer, 3 for 19.920."""
    formats = {}
    for key, number in re.findall(r'"(\w+)":(-?\d+(?:\.\d+)?)(?=[,}\]])', raw):
        formats.setdefault(key, set()).add(len(number.split(".")[1]) if "." in number else 0)
    return formats


def json_shape(report):
    """The keys, in order, of a report, of its first source and of its
    counters."""
    return (list(report), list(report["sources"][0]),
            [list(report[c]) for c in ("other", "untracked", "total")])


def test_readme_json_example_is_real_output(lab, xdptop):
    """The README's JSON example, unwrapped and its elided rows dropped,
    parses, and has the keys, the order and the number formats of a real
    report (two captures replayed, as it says): a zero rate is written as
    0.000, as every rate is, with three decimals."""
    block = readme_block(README.read_text(), "### JSON Lines", fence="```json")
    raw = "".join(line.strip() for line in block.splitlines())
    raw = raw.replace(",...]", "]")
    example = json.loads(raw)

    sender, receiver = lab.pair(mtu=9000)
    agent = lab.start(receiver, xdptop, "--format", "json", "--interval", "60", "v1")
    agent.wait_attached()
    for name in ("bfd-sbfd", "dcb_ets"):
        sent = sender.run("tcpreplay", "-q", "-t", "-i", "v0", str(DATA / f"{name}.pcap"))
        assert re.search(r"Failed packets:\s+0\n", sent.stdout), sent.stdout
    assert agent.stop() == 0, agent.stderr()
    real = agent.stdout().splitlines()
    assert len(real) == 1, real
    report = json.loads(real[0])
    assert report["sources"] and report["untracked"]["packets"] == 0, report

    assert json_shape(example) == json_shape(report)
    assert number_formats(raw) == number_formats(real[0])
    zero = '"untracked":{"packets":0,"bytes":0,"pps":0.000,"bps":0.000}'
    assert zero in raw and zero in real[0], real[0]
    stamp = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"
    assert re.fullmatch(stamp, example["time"]) and re.fullmatch(stamp, report["time"])


def test_docs_state_the_interface_limit():
    """The README's Limits and the man page give MAX_INTERFACES (src/cli.h),
    the limit test_more_than_64_interfaces checks."""
    limit = int(re.search(r"^#define MAX_INTERFACES (\d+)$",
                          (ROOT / "src" / "cli.h").read_text(), re.M).group(1))
    limits = README.read_text().split("\n## Limits\n", 1)[1].split("\n## ", 1)[0]
    assert f"**Interfaces**: at most {limit} per agent" in limits, limits
    assert f"too many interfaces: at most {limit}" in limits
    man = (ROOT / "xdptop.8").read_text()
    assert f"At most {limit} interfaces per xdptop" in man
