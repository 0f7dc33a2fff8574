"""Packaging: the systemd unit (contrib/systemd/xdptop.service), make install,
make deb, and the package on a clean Debian 12.

The unit: systemd-analyze verify passes on it as installed, its binary at the
installed path; xdptop run with the unit's command line, under exactly its
capability bounding set and no_new_privs, attaches, serves /metrics with
exact counts, holds no capability, and a restart adopts the pinned counts;
every system call it makes is in the unit's SystemCallFilter= and every socket
family in its RestrictAddressFamilies= (traced with strace). And the unit run
by systemd itself, the whole sandbox: the package installed with systemd in a
clean root, booted with systemd-nspawn (no systemd runs as PID 1 here).

The package: make deb builds it; lintian finds no error, and no warning but
those listed below; apt-get installs it on a minimal Debian 12 root (made
once per machine with debootstrap, about a minute or three, kept in
DEBIAN12_CACHE and copied for each test), xdptop --version runs there, and
remove and purge leave what dpkg should. Its prerm takes pinned programs off.

Traffic only between the test's own namespaces (conftest's lab) or inside the
booted container's; apt-get and debootstrap fetch from the mirror of the
machine's own apt sources."""
import fcntl
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import BUILD, DATA, ROOT, sh
from test_pin import bpffs  # noqa: F401 (a fixture: a bpffs of the test's own)
from test_privs import ZERO_CAPS, agent_pid, proc_status
from test_prom import lo_up, per_key, samples, scrape_when

UNIT = ROOT / "contrib" / "systemd" / "xdptop.service"
DEFAULT = ROOT / "contrib" / "systemd" / "xdptop.default"
VERSION = re.search(r"^VERSION := (\S+)$", (ROOT / "Makefile").read_text(), re.M).group(1)
DEB_VERSION = f"{VERSION}-1"
DEBIAN12_CACHE = Path(os.environ.get("XDPTOP_DEBIAN12_CACHE", "/var/tmp/xdptop-debian12"))

# lintian's warnings that stay, and why (pedantic and info tags are not read):
LINTIAN_WARNINGS_KEPT = {
    # Debian's own uploads close an ITP bug; this package is built from the
    # tree and has none to close.
    "initial-upload-closes-no-bugs",
}

# The documentation shipped: the README, and as examples (where Debian puts
# them) the Prometheus scrape config, the alerting rules and the dashboard.
DOC_EXAMPLES = {"prometheus.yml": ROOT / "contrib/prometheus/prometheus.yml",
                "alerts.yml": ROOT / "contrib/prometheus/alerts.yml",
                "xdptop.json": ROOT / "contrib/grafana/xdptop.json"}
INSTALLED_FILES = {          # make install PREFIX=/usr
    "usr/sbin/xdptop": 0o755,
    "usr/share/man/man8/xdptop.8": 0o644,
    "lib/systemd/system/xdptop.service": 0o644,
    "etc/default/xdptop": 0o644,
    "usr/share/doc/xdptop/README.md": 0o644,
    **{f"usr/share/doc/xdptop/examples/{name}": 0o644 for name in DOC_EXAMPLES},
}
# What the .deb holds: INSTALLED_FILES, compressed as dh_compress does (the
# man page; documents over 4 KiB but examples, since debhelper compat 12),
# and Debian's copyright and changelog.
PACKAGED_FILES = {
    "usr/sbin/xdptop", "usr/share/man/man8/xdptop.8.gz", "lib/systemd/system/xdptop.service",
    "etc/default/xdptop", "usr/share/doc/xdptop/copyright",
    "usr/share/doc/xdptop/changelog.Debian.gz", "usr/share/doc/xdptop/README.md.gz",
    *(f"usr/share/doc/xdptop/examples/{name}" for name in DOC_EXAMPLES),
}


def make(*args, **kw):
    return sh("make", "-C", str(ROOT), "--no-print-directory", f"BUILD={BUILD}", *args, **kw)


def files_under(root):
    """{relative path: mode} of the regular files under root."""
    return {str(p.relative_to(root)): p.stat().st_mode & 0o7777
            for p in Path(root).rglob("*") if p.is_file()}


def unit_setting(name, unit=UNIT):
    """The value of the unit's one NAME= line."""
    values = re.findall(rf"^{name}=(.*)$", unit.read_text(), re.M)
    assert len(values) == 1, (name, values)
    return values[0]


# make install ---------------------------------------------------------------

def test_install_puts_exactly_the_expected_files(tmp_path):
    dest = tmp_path / "dest"
    make("install", f"DESTDIR={dest}", "PREFIX=/usr")
    assert files_under(dest) == INSTALLED_FILES
    # For PREFIX=/usr the unit and the default file are the repository's.
    assert (dest / "lib/systemd/system/xdptop.service").read_text() == UNIT.read_text()
    assert (dest / "etc/default/xdptop").read_text() == DEFAULT.read_text()
    assert (dest / "usr/share/doc/xdptop/README.md").read_bytes() == (ROOT / "README.md").read_bytes()
    for name, source in DOC_EXAMPLES.items():
        assert (dest / "usr/share/doc/xdptop/examples" / name).read_bytes() == source.read_bytes()
    assert sh(str(dest / "usr/sbin/xdptop"), "--version").stdout == f"xdptop {VERSION}\n"

    # An administrator's default file is kept; uninstall leaves it alone.
    (dest / "etc/default/xdptop").write_text('XDPTOP_IFACES="eth7"\n')
    make("install", f"DESTDIR={dest}", "PREFIX=/usr")
    assert (dest / "etc/default/xdptop").read_text() == 'XDPTOP_IFACES="eth7"\n'
    make("uninstall", f"DESTDIR={dest}", "PREFIX=/usr")
    assert files_under(dest) == {"etc/default/xdptop": 0o644}
    assert not (dest / "usr/share/doc/xdptop").exists()


def test_install_under_another_prefix_names_its_paths(tmp_path):
    """PREFIX=/usr/local: the unit goes under the prefix, names the binary
    there, and the default file stays in SYSCONFDIR (/etc)."""
    dest = tmp_path / "dest"
    make("install", f"DESTDIR={dest}", "PREFIX=/usr/local")
    assert set(files_under(dest)) == {
        "usr/local/sbin/xdptop", "usr/local/share/man/man8/xdptop.8",
        "usr/local/lib/systemd/system/xdptop.service", "etc/default/xdptop",
        "usr/local/share/doc/xdptop/README.md",
        *(f"usr/local/share/doc/xdptop/examples/{name}" for name in DOC_EXAMPLES)}
    unit = dest / "usr/local/lib/systemd/system/xdptop.service"
    assert unit_setting("ExecStart", unit).startswith("/usr/local/sbin/xdptop --pin ")
    assert unit_setting("EnvironmentFile", unit) == "-/etc/default/xdptop"


# The unit --------------------------------------------------------------------

def test_unit_passes_systemd_analyze_verify_as_installed(tmp_path):
    """verify checks that ExecStart's binary exists, so it runs on a unit
    installed where its binary is: PREFIX and SYSCONFDIR under tmp_path (the
    same file as for /usr, its paths substituted by make install). --root=
    is no way round it: systemd 252 then wants the root's own sysinit.target.
    Documentation= is checked here (--man=no spares verify a man-db)."""
    prefix = tmp_path / "usr"
    make("install", f"PREFIX={prefix}", f"SYSCONFDIR={tmp_path}/etc", "DESTDIR=")
    unit = prefix / "lib/systemd/system/xdptop.service"
    assert unit_setting("ExecStart", unit).startswith(f"{prefix}/sbin/xdptop --pin ")
    assert unit_setting("Documentation", unit) == "man:xdptop(8)"
    assert (prefix / "share/man/man8/xdptop.8").is_file()
    res = sh("systemd-analyze", "verify", "--man=no", str(unit), check=False)
    assert (res.returncode, res.stdout, res.stderr) == (0, "", ""), res

    # A control: without its binary, the same unit fails verify.
    (prefix / "sbin/xdptop").unlink()
    res = sh("systemd-analyze", "verify", "--man=no", str(unit), check=False)
    assert res.returncode != 0 and "is not executable" in res.stderr, res


def unit_command(pin_root, listen, ifaces, opts=()):
    """The unit's ExecStart as systemd expands it, with the environment of
    /etc/default/xdptop (${X}: one word; $X: split at spaces), the binary
    under test, and --pin pointed at the test's bpffs (ip netns exec hides
    /sys/fs/bpf)."""
    env = {"XDPTOP_LISTEN": [listen], "XDPTOP_OPTS": list(opts), "XDPTOP_IFACES": list(ifaces)}
    words = unit_setting("ExecStart").split()
    assert words[0] == "/usr/sbin/xdptop", words
    cmd = [str(BUILD / "xdptop")]
    for w in words[1:]:
        m = re.fullmatch(r"\$\{?(\w+)\}?", w)
        if m:
            cmd += env[m.group(1)]
        else:
            cmd.append(f"--pin={pin_root}" if w == "--pin" else w)
    return cmd


def wait_counting(agent, timeout=20):
    """Waits until the agent attached its program, or adopted a pinned one."""
    deadline = time.monotonic() + timeout
    while not re.search(r"^(Attached|Adopted) ", agent.stderr(), re.M):
        assert agent.proc.poll() is None, f"exit {agent.proc.returncode}: {agent.stderr()}"
        assert time.monotonic() < deadline, f"not counting after {timeout} s: {agent.stderr()}"
        time.sleep(0.05)


def bounding_set_option():
    """setpriv's form of the unit's CapabilityBoundingSet=, and its mask."""
    caps = unit_setting("CapabilityBoundingSet").split()
    assert caps == ["CAP_BPF", "CAP_NET_ADMIN", "CAP_PERFMON"], caps
    numbers = {"CAP_BPF": 39, "CAP_NET_ADMIN": 12, "CAP_PERFMON": 38}
    mask = sum(1 << numbers[c] for c in caps)
    return "--bounding-set=-all," + ",".join("+" + c[4:].lower() for c in caps), f"{mask:016x}"


def test_unit_command_under_its_bounding_set(lab, bpffs):  # noqa: F811
    """What the service runs, as it runs it: root with the unit's bounding
    set and no_new_privs, its command line. It attaches, serves exact counts
    with no capability left, and exits 0 on SIGTERM (systemctl stop) leaving
    the program counting; the next start adopts it, and its counters go on
    from the last ones, the frames counted meanwhile included (no reset)."""
    assert unit_setting("NoNewPrivileges") == "yes"
    assert "User" not in re.findall(r"^(\w+)=", UNIT.read_text(), re.M)
    bounding, mask = bounding_set_option()
    sender, receiver = lab.pair(mtu=9000)
    lo_up(receiver)
    cmd = unit_command(bpffs / "xdptop", "127.0.0.1:9464", ["v1"])
    expected = json.loads((DATA / "dcb_ets.expected.json").read_text())
    total = expected["total"]["packets"]
    v1 = frozenset({("interface", "v1")})

    def replay():
        sender.run("tcpreplay", "-q", "-t", "-i", "v0", str(DATA / "dcb_ets.pcap"))

    def scrape(packets):
        return scrape_when(receiver, "http://127.0.0.1:9464/metrics",
                           lambda b: samples(b).get(("xdptop_packets_total", v1)) == packets)

    def check_unprivileged():
        status = proc_status(agent_pid(receiver))
        for cap in ("CapEff", "CapPrm", "CapInh", "CapAmb"):
            assert status[cap] == ZERO_CAPS, (cap, status)
        assert status["CapBnd"] == mask, status
        assert status["NoNewPrivs"] == "1", status

    agent = lab.start(receiver, "setpriv", bounding, "--no-new-privs", *cmd)
    wait_counting(agent)
    assert "Attached XDP program" in agent.stderr()
    replay()
    body = scrape(total)
    assert per_key(body) == {a: c["packets"] for a, c in expected["sources"].items()}
    check_unprivileged()
    assert agent.stop(signal.SIGTERM) == 0, agent.stderr()
    assert agent.stdout() == ""
    assert receiver.xdp_attached() == ["v1"]         # pinned: it counts on, unattended
    replay()

    agent = lab.start(receiver, "setpriv", bounding, "--no-new-privs", *cmd)
    wait_counting(agent)
    assert "Adopted the XDP program pinned" in agent.stderr()
    # The counters go on: before the stop, and while stopped (no reset).
    scrape(2 * total)
    replay()
    body = scrape(3 * total)
    assert per_key(body) == {a: 3 * c["packets"] for a, c in expected["sources"].items()}
    check_unprivileged()
    assert agent.stop(signal.SIGTERM) == 0, agent.stderr()
    receiver.run(str(BUILD / "xdptop"), f"--pin={bpffs / 'xdptop'}", "--detach", "v1")
    assert receiver.xdp_attached() == []


def syscall_group(name, seen):
    """The system calls of a systemd-analyze syscall-filter group, nested
    groups expanded."""
    out = sh("systemd-analyze", "syscall-filter", name).stdout
    calls = set()
    for line in out.splitlines()[1:]:
        word = line.strip()
        if not word or word.startswith("#"):
            continue
        if word.startswith("@"):
            if word not in seen:
                seen.add(word)
                calls |= syscall_group(word, seen)
        else:
            calls.add(word)
    return calls


def unit_syscalls():
    allowed = set()
    for word in unit_setting("SystemCallFilter").split():
        allowed |= syscall_group(word, {word}) if word.startswith("@") else {word}
    return allowed


def test_syscalls_and_socket_families_within_the_unit(lab, bpffs, tmp_path):  # noqa: F811
    """strace -f of the unit's command line under its bounding set: a first
    start (pins), a scrape, SIGTERM, a second start (adopts), SIGTERM. Every
    call is in SystemCallFilter= (a call outside it would get EPERM under
    systemd: SystemCallErrorNumber=EPERM), every socket() family in
    RestrictAddressFamilies=."""
    allowed = unit_syscalls()
    assert "bpf" in allowed and len(allowed) > 300, sorted(allowed)
    families = set(unit_setting("RestrictAddressFamilies").split())
    bounding, _ = bounding_set_option()
    sender, receiver = lab.pair(mtu=1500)
    lo_up(receiver)
    cmd = unit_command(bpffs / "xdptop", "127.0.0.1:9464", ["v1"])
    used, socket_families = set(), set()
    for start in (1, 2):
        trace = tmp_path / f"strace.{start}"
        agent = lab.start(receiver, "setpriv", bounding, "--no-new-privs", "strace", "-f",
                          "-qq", "-o", str(trace), *cmd)
        wait_counting(agent)
        scrape_when(receiver, "http://127.0.0.1:9464/metrics",
                    lambda b: "xdptop_packets_total{" in b)
        # SIGTERM to xdptop, strace's child (strace itself would detach and
        # leave it running); strace exits with its status.
        traced = [pid for pid in sh("ip", "netns", "pids", receiver.name).stdout.split()
                  if Path(f"/proc/{pid}/comm").read_text().strip() == "xdptop"]
        assert len(traced) == 1, traced
        os.kill(int(traced[0]), signal.SIGTERM)
        assert agent.wait(timeout=30) == 0, agent.stderr()
        text = trace.read_text()
        used |= set(re.findall(r"^\d+ +(?:<\.\.\. )?(\w+)\(", text, re.M))
        used |= set(re.findall(r"^\d+ +<\.\.\. (\w+) resumed>", text, re.M))
        socket_families |= set(re.findall(r"^\d+ +socket\((AF_\w+)", text, re.M))
    receiver.run(str(BUILD / "xdptop"), f"--pin={bpffs / 'xdptop'}", "--detach", "v1")
    assert {"bpf", "capset", "prctl", "mmap", "bind", "listen"} <= used, sorted(used)
    used.discard("execve")      # strace's own exec of xdptop, before any filter
    assert used <= allowed, f"outside SystemCallFilter=: {sorted(used - allowed)}"
    assert socket_families and socket_families <= families, \
        f"outside RestrictAddressFamilies=: {sorted(socket_families - families)}"


# The package -----------------------------------------------------------------

@pytest.fixture(scope="module")
def deb():
    """make deb, once: the path of the package."""
    res = make("deb", check=False)
    assert res.returncode == 0, res.stdout + res.stderr
    arch = sh("dpkg", "--print-architecture").stdout.strip()
    path = BUILD / "deb" / f"xdptop_{DEB_VERSION}_{arch}.deb"
    assert path.is_file(), (res.stdout, sorted(os.listdir(BUILD / "deb")))
    return path


def test_deb_holds_the_install_and_its_metadata(deb):
    listing = sh("dpkg-deb", "--contents", str(deb)).stdout.splitlines()
    files = {line.split()[-1][2:]: line.split()[0] for line in listing if line[0] == "-"}
    assert set(files) == PACKAGED_FILES
    assert files["usr/sbin/xdptop"] == "-rwxr-xr-x"
    assert all(owner == "root/root" for owner in (line.split()[1] for line in listing))
    field = lambda name: sh("dpkg-deb", "--field", str(deb), name).stdout.strip()  # noqa: E731
    assert (field("Package"), field("Version")) == ("xdptop", DEB_VERSION)
    depends = {d.split()[0] for d in field("Depends").split(", ")}
    assert {"libbpf1", "libxdp1", "libc6", "libcap-ng0", "libjson-c5", "libmicrohttpd12",
            "libncursesw6"} <= depends, depends
    with tempfile.TemporaryDirectory() as d:
        sh("dpkg-deb", "--control", str(deb), d)
        assert Path(d, "conffiles").read_text() == "/etc/default/xdptop\n"
        assert {"control", "conffiles", "md5sums", "postinst", "prerm", "postrm"} == \
            set(os.listdir(d))


def test_deb_ships_the_readme_and_examples(deb, tmp_path):
    """The README (compressed: over 4 KiB) and the examples (not: Debian
    leaves examples as they are, ready to use) are the repository's, byte
    for byte, readable by all."""
    listing = sh("dpkg-deb", "--contents", str(deb)).stdout.splitlines()
    modes = {line.split()[-1][2:]: line.split()[0] for line in listing}
    doc = "usr/share/doc/xdptop"
    assert modes[f"{doc}/README.md.gz"] == "-rw-r--r--"
    assert modes[f"{doc}/examples/"] == "drwxr-xr-x"
    for name in DOC_EXAMPLES:
        assert modes[f"{doc}/examples/{name}"] == "-rw-r--r--", name
    assert (ROOT / "README.md").stat().st_size > 4096     # why it is compressed
    sh("dpkg-deb", "--extract", str(deb), str(tmp_path))
    readme = sh("gzip", "-dc", str(tmp_path / doc / "README.md.gz")).stdout
    assert readme == (ROOT / "README.md").read_text()
    for name, source in DOC_EXAMPLES.items():
        assert (tmp_path / doc / "examples" / name).read_bytes() == source.read_bytes(), name
    # The package's md5sums cover them, as dpkg --verify reads them.
    with tempfile.TemporaryDirectory() as d:
        sh("dpkg-deb", "--control", str(deb), d)
        summed = {line.split()[1] for line in Path(d, "md5sums").read_text().splitlines()}
    assert {f"{doc}/README.md.gz", *(f"{doc}/examples/{n}" for n in DOC_EXAMPLES)} <= summed


def man_sections(page=ROOT / "xdptop.8"):
    """{SECTION: its text} of a man page's source, roughly as read: the
    macros' names, font escapes and quotes dropped, \\- as -, and a line
    ended by \\e (a shown backslash) joined to the next."""
    sections, name = {}, None
    for line in page.read_text().splitlines():
        m = re.match(r'^\.SH\s+"?([^"]*)"?$', line)
        if m:
            name = m.group(1)
            sections[name] = ""
            continue
        if name is None:
            continue
        line = re.sub(r"^\.[A-Za-z]+\s*", "", line)
        line = re.sub(r"\\f[BIRP]", "", line).replace("\\-", "-").replace('"', "")
        line = line.replace("\\e", "\\")
        sections[name] += line + ("" if line.endswith("\\") else "\n")
    return {k: re.sub(r"\\ *", " ", v) for k, v in sections.items()}


def test_man_page_documents_the_service(deb):
    """xdptop.8 has a SERVICE section (the unit's command line as it is,
    /etc/default/xdptop and each of its variables) and a FILES section whose
    every packaged path is in the .deb; SEE ALSO names systemd's pages."""
    sections = man_sections()
    service = " ".join(sections["SERVICE"].split())
    assert "xdptop.service" in service and "/etc/default/xdptop" in service, service
    command = unit_setting("ExecStart").removeprefix("/usr/sbin/")
    assert command.startswith("xdptop --pin ") and command in service, (command, service)
    variables = re.findall(r"^(XDPTOP_\w+)=", DEFAULT.read_text(), re.M)
    assert variables == ["XDPTOP_IFACES", "XDPTOP_LISTEN", "XDPTOP_OPTS"], variables
    for var in variables:
        assert re.search(rf"^{var}$", sections["SERVICE"], re.M), var     # a .TP entry each
    default_listen = re.search(r'^XDPTOP_LISTEN="(.*)"$', DEFAULT.read_text(), re.M).group(1)
    assert f"default {default_listen}" in service

    files = sections["FILES"]
    paths = re.findall(r"^(/\S+)$", files, re.M)
    assert {"/etc/default/xdptop", "/lib/systemd/system/xdptop.service",
            "/usr/share/doc/xdptop/README.md.gz", "/usr/share/doc/xdptop/examples/"} <= set(paths)
    listing = {line.split()[-1][1:] for line in
               sh("dpkg-deb", "--contents", str(deb)).stdout.splitlines()}
    for path in paths:
        if not path.startswith("/sys/"):
            assert path in listing, path
    for name in DOC_EXAMPLES:
        assert name in files, name
    see_also = sections["SEE ALSO"]
    for page in ("systemctl (1)", "systemd.exec (5)", "systemd.service (5)"):
        assert page in see_also, see_also
    # It renders without a groff warning (lintian's groff-message).
    res = subprocess.run(["man", "--warnings", "-l", str(ROOT / "xdptop.8")],
                         capture_output=True, text=True, env={**os.environ, "MANWIDTH": "80",
                                                              "LC_ALL": "C.UTF-8"})
    assert (res.returncode, res.stderr) == (0, ""), res.stderr
    assert "XDPTOP_IFACES" in res.stdout


def test_lintian_finds_no_error(deb):
    res = sh("lintian", "--tag-display-limit", "0", str(deb), check=False)
    lines = (res.stdout + res.stderr).splitlines()
    errors = [line for line in lines if line.startswith("E:")]
    assert not errors, "\n".join(lines)
    warnings = {line.split()[2] for line in lines if line.startswith("W:")}
    assert warnings <= LINTIAN_WARNINGS_KEPT, \
        f"new lintian warnings {sorted(warnings - LINTIAN_WARNINGS_KEPT)}:\n" + "\n".join(lines)


def apt_sources():
    """The machine's Debian apt sources (deb822 or one-line), and its mirror."""
    deb822 = Path("/etc/apt/sources.list.d/debian.sources")
    if deb822.is_file():
        m = re.search(r"^URIs:\s*(\S+)", deb822.read_text(), re.M)
        if m:
            return deb822, m.group(1)
    oneline = Path("/etc/apt/sources.list")
    if oneline.is_file():
        m = re.search(r"^deb\s+(?:\[[^]]*\]\s+)?(\S+)\s+bookworm\s", oneline.read_text(), re.M)
        if m:
            return oneline, m.group(1)
    pytest.fail("no Debian 12 mirror in /etc/apt/sources.list.d/debian.sources nor in "
                "/etc/apt/sources.list: the clean root needs one")


def debian12_root():
    """A minimal Debian 12 root (debootstrap --variant=minbase), made once per
    machine: made aside and renamed when complete, under a lock."""
    if not shutil.which("debootstrap"):
        pytest.fail("debootstrap is missing: run ./scripts/install-deps --test")
    DEBIAN12_CACHE.parent.mkdir(parents=True, exist_ok=True)
    with open(f"{DEBIAN12_CACHE}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (DEBIAN12_CACHE / "usr/bin/apt-get").exists():
            return DEBIAN12_CACHE
        sources, mirror = apt_sources()
        new = Path(f"{DEBIAN12_CACHE}.new-{os.getpid()}")
        shutil.rmtree(new, ignore_errors=True)
        include = ["--include=ca-certificates"] if mirror.startswith("https:") else []
        res = subprocess.run(["debootstrap", "--variant=minbase", *include, "bookworm",
                              str(new), mirror], capture_output=True, text=True, timeout=1800)
        if res.returncode:
            shutil.rmtree(new, ignore_errors=True)
            pytest.fail(f"debootstrap of Debian 12 from {mirror} failed: "
                        f"{(res.stdout + res.stderr)[-2000:]}")
        (new / "etc/apt/sources.list").unlink(missing_ok=True)
        shutil.copy(sources, new / "etc/apt" / sources.relative_to("/etc/apt"))
        new.rename(DEBIAN12_CACHE)
        return DEBIAN12_CACHE


@pytest.fixture
def clean_root():
    """A copy of the minimal Debian 12 root, /proc mounted, name resolution
    as here; unmounted and removed after."""
    pristine = debian12_root()
    root = Path(tempfile.mkdtemp(prefix="xdptop-debian12-", dir="/var/tmp"))
    try:
        sh("cp", "-a", f"{pristine}/.", str(root))
        shutil.copy("/etc/resolv.conf", root / "etc/resolv.conf")
        sh("mount", "-t", "proc", "proc", str(root / "proc"))
        yield root
    finally:
        if subprocess.run(["mountpoint", "-q", str(root / "proc")]).returncode == 0:
            if sh("umount", str(root / "proc"), check=False).returncode:
                sh("umount", "-l", str(root / "proc"), check=False)
        if subprocess.run(["mountpoint", "-q", str(root / "proc")]).returncode != 0:
            shutil.rmtree(root)


def in_root(root, *cmd, timeout=600):
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "DEBIAN_FRONTEND": "noninteractive",
           "LC_ALL": "C"}
    res = subprocess.run(["chroot", str(root), *cmd], capture_output=True, text=True,
                         env=env, timeout=timeout)
    return res


def test_package_installs_on_a_clean_debian12(deb, clean_root):
    root = clean_root
    assert not (root / "usr/sbin/xdptop").exists()
    shutil.copy(deb, root / "tmp")
    res = in_root(root, "apt-get", "update", "-q")
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr
    res = in_root(root, "apt-get", "install", "-y", "-q", "--no-install-recommends",
                  f"/tmp/{deb.name}")
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr
    res = in_root(root, "xdptop", "--version")
    assert (res.returncode, res.stdout, res.stderr) == (0, f"xdptop {VERSION}\n", ""), res
    res = in_root(root, "dpkg-query", "-W", "-f", "${Status} ${Version}\n", "xdptop")
    assert res.stdout == f"install ok installed {DEB_VERSION}\n", res
    res = in_root(root, "dpkg", "--verify", "xdptop")
    assert (res.returncode, res.stdout) == (0, ""), res
    assert (root / "lib/systemd/system/xdptop.service").read_text() == UNIT.read_text()

    # remove keeps the conffile, purge takes it; neither leaves a file else.
    res = in_root(root, "apt-get", "remove", "-y", "-q", "xdptop")
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr
    assert not (root / "usr/sbin/xdptop").exists()
    assert (root / "etc/default/xdptop").read_text() == DEFAULT.read_text()
    res = in_root(root, "apt-get", "purge", "-y", "-q", "xdptop")
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr
    assert not (root / "etc/default/xdptop").exists()
    assert not (root / "lib/systemd/system/xdptop.service").exists()


def test_prerm_remove_takes_pinned_programs_off(lab):
    """A pinned program counts on without its agent: removing the package
    (prerm remove) detaches it and removes its pins, in the namespace prerm
    runs in, with the xdptop on its PATH; an upgrade (prerm upgrade) leaves
    them. Run inside the test's namespace, with a bpffs mounted on its
    /sys/fs/bpf (ip netns exec's private /sys)."""
    _, receiver = lab.pair(mtu=1500)
    prerm = ROOT / "contrib" / "debian" / "prerm"
    state = ("echo \"xdp: $(ip -o link show v1 | grep -c prog/xdp)"
             " pins: $(find /sys/fs/bpf/xdptop -mindepth 2 -maxdepth 2 | wc -l)\"")
    script = ("set -e; mount -t bpf bpf /sys/fs/bpf; "
              "xdptop --pin -f json -i 0.1 -c 2 v1 >/dev/null; " + state + "; "
              f"sh {prerm} upgrade; " + state + "; "
              f"sh {prerm} remove; " + state)
    out = receiver.run("env", f"PATH={BUILD}:/usr/sbin:/usr/bin:/sbin:/bin", "sh", "-c",
                       script, check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.splitlines() == [
        "xdp: 1 pins: 1", "xdp: 1 pins: 1",
        'Detached xdptop from iface "v1" and removed its pinned state',
        "xdp: 0 pins: 0"], out.stdout + out.stderr
    assert receiver.xdp_attached() == []


# The unit under systemd ---------------------------------------------------------

PROBE = r"""#!/bin/bash
# Runs in the booted container once xdptop.service had its first start:
# records what the service did, one fact a line, then powers off.
exec > /root/probe.txt 2>&1
show() { systemctl show -p "$1" --value xdptop; }
sleep 2
# failed, not activating: exit 2 is not retried
echo "unconfigured: $(systemctl is-active xdptop) $(show Result)" \
	"$(show ExecMainStatus) $(show NRestarts)"
journalctl -u xdptop -o cat --no-pager | grep '^xdptop:'
sed -i 's/^XDPTOP_IFACES=""/XDPTOP_IFACES="v1"/' /etc/default/xdptop
systemctl restart xdptop
for i in $(seq 50); do
	journalctl -u xdptop -o cat --no-pager | grep -q '^Attached' && break
	sleep 0.2
done
echo "configured: $(systemctl is-active xdptop)"
systemctl -q is-active xdptop || journalctl -u xdptop -o cat --no-pager | tail -n 4
pid=$(show MainPID)
grep -E '^(CapEff|CapPrm|CapBnd|NoNewPrivs|Seccomp):' /proc/$pid/status | tr -d '\t'
awk '$5 == "/sys" || $5 == "/sys/fs/bpf" || $5 == "/proc/sys" {
	print "mount:", $5, substr($6, 1, 2) }' /proc/$pid/mountinfo
echo "pins: $(find /sys/fs/bpf/xdptop -mindepth 3 | wc -l)"
scrape() {      # 503 until the first round is made
	exec 3<>/dev/tcp/127.0.0.1/9464
	printf 'GET /metrics HTTP/1.0\r\n\r\n' >&3
	timeout 5 cat <&3 | tr -d '\r' > /root/metrics
	exec 3<&-
	grep -q '^HTTP/1.1 200 ' /root/metrics
}
for i in $(seq 50); do scrape && break; sleep 0.2; done
grep -E '^HTTP/|^xdptop_interface_info' /root/metrics
systemctl restart xdptop
sleep 1
journalctl -u xdptop -o cat --no-pager | grep -E '^(Attached|Adopted) ' | cut -d' ' -f1
systemctl stop xdptop
echo "stopped: $(systemctl is-active xdptop), program $(ip -o link show v1 | grep -o prog/xdp)"
echo end
systemctl poweroff 2>/dev/null
"""

VETH_UNIT = """[Unit]
Description=A veth pair in the container's own network namespace
Before=xdptop.service
[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/sbin/ip link add v0 type veth peer name v1
ExecStart=/usr/sbin/ip link set v0 up
ExecStart=/usr/sbin/ip link set v1 up
ExecStart=/usr/sbin/ip link set lo up
[Install]
WantedBy=multi-user.target
"""

PROBE_UNIT = """[Unit]
After=xdptop.service
[Service]
Type=oneshot
ExecStart=/usr/local/bin/probe
[Install]
WantedBy=multi-user.target
"""


def cgroup_of_own(name):
    """A cgroup of each hierarchy this process is in that systemd uses
    (name=systemd and cgroup2), made for name: systemd-nspawn --keep-unit
    makes its payload/ and supervisor/ there, not beside whatever else runs
    here. Returns the directories, deepest last."""
    mounts = {}
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split()
        fstype, options = fields[fields.index("-") + 1], fields[-1]
        if fstype == "cgroup2":
            mounts["0::"] = fields[4]
        elif fstype == "cgroup" and "name=systemd" in options.split(","):
            mounts["name=systemd"] = fields[4]
    dirs = []
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        key = "0::" if line.startswith("0::") else controllers
        if key in mounts:
            d = Path(mounts[key] + path.rstrip("/")) / name
            d.mkdir()
            dirs.append(d)
    assert dirs, "no cgroup2 nor name=systemd hierarchy mounted"
    return dirs


def remove_cgroups(dirs):
    for top in dirs:
        if top.exists():
            for d in sorted((p for p in top.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
                d.rmdir()
            top.rmdir()


def test_unit_runs_under_systemd(deb, clean_root, bpffs):  # noqa: F811
    """The package's unit, run by systemd 252 itself: the clean root with
    systemd and the package installed, booted by systemd-nspawn in a private
    network namespace of its own (a veth pair inside), the test's bpffs on
    its /sys/fs/bpf. Unconfigured, the service fails with xdptop's reason,
    exit 2, and is not restarted. Configured, it attaches within the whole
    sandbox: no capability left, the bounding set, no_new_privs, a seccomp
    filter, /sys and /proc/sys read-only but /sys/fs/bpf; it pins, serves
    /metrics, a restart adopts, and a stop leaves the program counting."""
    if not shutil.which("systemd-nspawn"):
        pytest.fail("systemd-nspawn is missing: run ./scripts/install-deps --test")
    root = clean_root
    shutil.copy(deb, root / "tmp")
    res = in_root(root, "apt-get", "update", "-q")
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr
    res = in_root(root, "apt-get", "install", "-y", "-q", "--no-install-recommends", "systemd",
                  "iproute2", f"/tmp/{deb.name}")
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr
    (root / "etc/systemd/system/testveth.service").write_text(VETH_UNIT)
    (root / "etc/systemd/system/probe.service").write_text(PROBE_UNIT)
    (root / "usr/local/bin/probe").write_text(PROBE)
    (root / "usr/local/bin/probe").chmod(0o755)
    res = in_root(root, "systemctl", "enable", "xdptop", "testveth", "probe")
    assert res.returncode == 0, res.stdout + res.stderr
    sh("umount", str(root / "proc"))        # nspawn mounts its own
    cgroups = cgroup_of_own(f"xdptop-test-{os.getpid()}")
    try:
        join = "; ".join(f"echo $$ > {d}/cgroup.procs" for d in cgroups)
        boot = subprocess.run(
            ["sh", "-c", join + '; exec "$@"', "sh", "systemd-nspawn", "-q", "-D", str(root),
             "--boot", "--private-network", "--register=no", "--keep-unit",
             "--capability=CAP_BPF,CAP_PERFMON", "--system-call-filter=bpf",
             f"--bind={bpffs}:/sys/fs/bpf", "--console=read-only"],
            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=180)
    finally:
        remove_cgroups(cgroups)
        shutil.rmtree(f"/run/systemd/nspawn/propagate/{root.name}", ignore_errors=True)
    probe = root / "root/probe.txt"
    assert probe.exists(), boot.stdout[-3000:] + boot.stderr
    lines = probe.read_text().splitlines()
    assert lines == [
        "unconfigured: failed exit-code 2 0",
        "xdptop: no interface given: name one or more, e.g. 'xdptop eth0' (see 'ip link'); "
        "for the service, set XDPTOP_IFACES in /etc/default/xdptop",
        "configured: active",
        "CapPrm:0000000000000000", "CapEff:0000000000000000",
        "CapBnd:" + bounding_set_option()[1], "NoNewPrivs:1", "Seccomp:2",
        "mount: /sys ro", "mount: /sys/fs/bpf rw", "mount: /proc/sys ro",
        "pins: 7",
        "HTTP/1.1 200 OK",
        'xdptop_interface_info{interface="v1",mode="native",program="xdptop_frags"} 1',
        "Attached", "Adopted",
        "stopped: inactive, program prog/xdp",
        "end"], "\n".join(lines)
