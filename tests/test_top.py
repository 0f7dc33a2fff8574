"""The live view (the default in a terminal, --format top) in a real terminal:
tmux, on a socket of the test's own, runs a shell script in one pane that
starts xdptop in the receiver namespace, then prints its exit code and
`stty -a` in the same pane, so that a terminal left raw shows.

Covered: the header (interfaces, table fill, exact cumulative totals, other
and untracked with their shares), the rows and their order under every sort,
each key (s < > r p, j k Esc, q) redrawing at once from the last round,
pause, a selection following its key, the rates of two paced senders, a
resize, the layout at 80x24, 60x24, 40x24 and a wide terminal (no value
cut, columns dropped by priority), and the terminal given back on q, SIGTERM,
SIGHUP, the interfaces lost (exit 6, the message in the status line, then on
stderr), with the last screen left on it as text; a terminal that cannot be
used (refused before attaching); `make demo SECONDS=N`.

Traffic flows between the test's own namespaces only (see conftest), from
198.18.0.0/15 and 2001:db8::/32, replayed by tcpreplay: bounded in frames
and time.
"""
import ipaddress
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

import traffic as T
from conftest import ASAN_ENV, BUILD, sh

VALGRIND_SUPP = Path(__file__).resolve().parent / "valgrind.supp"
HELP = "s < > sort  r reverse  p pause  up/down select  Esc unselect  K key  q quit"
KEY_HINT = "another key: xdptop -k FIELDS IFACE, beside this one with --multiprog"
HELP_SHORT = "s sort  r reverse  p pause  q quit"     # narrower than HELP
TITLE = re.compile(r"xdptop  elapsed (\d+:\d\d:\d\d)  key: (.*)  sort: (\w+), (busiest|quietest) "
                   r"first( +PAUSED)?")
SORT_TITLES = {"pps": "PPS", "bps": "BIT/S", "packets": "PACKETS", "bytes": "BYTES"}
COLUMNS = ["PPS", "BIT/S", "AVG PPS", "AVG BIT/S", "PACKETS", "BYTES", "SHARE"]
UNITS = " kMGTPE"
# A value in human units ("320k"), a share ("12.5%"): whole, never cut.
NUMBER = r"\d+(?:\.\d+)?[kMGTPE]?"
PERCENT = r"\d+\.\d%"
# An interface's header, its lines joined: its state, the last interval,
# the totals since the start. Its fields may wrap onto the next line
# (indented): any run of blanks between them.
IFACE_HEADER = re.compile(
    r"(?P<name>\S+)\s+(?P<mode>\w+) (?P<program>\w+)\s+table (?P<keys>\d+)/(?P<capacity>\d+) "
    rf"\((?P<fill>{PERCENT})\)"
    rf"\s+last interval:\s+(?P<pps>{NUMBER}) pps\s+(?P<bps>{NUMBER}) bit/s"
    rf"\s+other\s+(?P<other_now>{PERCENT})\s+untracked\s+(?P<untracked_now>{PERCENT})"
    r"\s+total since start: (?P<packets>\d+) packets\s+(?P<bytes>\d+) bytes"
    rf"\s+other (?P<other>\d+) \((?P<other_share>{PERCENT})\)"
    rf"\s+untracked (?P<untracked>\d+) \((?P<untracked_share>{PERCENT})\)")

_servers = [0]


class Term:
    """A tmux server of the test's own, with one pane running one script."""

    def __init__(self):
        _servers[0] += 1
        self.socket = f"xdpt-{os.getpid()}-{_servers[0]}"

    def tmux(self, *args, check=True):
        return sh("tmux", "-L", self.socket, "-f", "/dev/null", *args, check=check)

    def start(self, script, cols, rows):
        self.tmux("new-session", "-d", "-x", str(cols), "-y", str(rows), "-s", "t",
                  f"/bin/sh {script}")

    def screen(self, escapes=False):
        """The visible screen, one string per line."""
        out = self.tmux("capture-pane", "-p", "-t", "t", *(["-e"] if escapes else [])).stdout
        return out.rstrip("\n").split("\n")

    def history(self):
        """Everything the pane's normal screen holds, wrapped lines joined."""
        return self.tmux("capture-pane", "-p", "-J", "-S", "-", "-t", "t").stdout

    def keys(self, *keys):
        self.tmux("send-keys", "-t", "t", *keys)

    def display(self, fmt):
        return self.tmux("display-message", "-p", "-t", "t", fmt).stdout.strip()

    def wait(self, ready, what, timeout=10):
        """Polls the screen until ready(lines) is true; returns those lines."""
        deadline = time.monotonic() + timeout
        while True:
            lines = self.screen()
            if ready(lines):
                return lines
            if time.monotonic() > deadline:
                raise AssertionError(f"no {what} in {timeout}s; screen:\n" + "\n".join(lines))
            time.sleep(0.05)

    def kill(self):
        self.tmux("kill-server", check=False)


@pytest.fixture
def term(lab):
    """Makes Terms; on teardown kills their servers, then whatever still runs
    in the test's namespaces (before lab deletes them)."""
    terms = []

    def make():
        terms.append(Term())
        return terms[-1]

    try:
        yield make
    finally:
        for t in terms:
            t.kill()
        for ns in lab.namespaces:
            for pid in sh("ip", "netns", "pids", ns.name, check=False).stdout.split():
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except ProcessLookupError:
                    pass


def run_view(term, tmp_path, ns, binary, args, cols=120, rows=30, env=None):
    """Starts xdptop in a pane; after it exits the pane shows EXIT=<code> and
    `stty -a`. Returns the Term once the view is up."""
    env = " ".join(f"{k}={v}" for k, v in {**ASAN_ENV, **(env or {})}.items())
    script = tmp_path / "view.sh"
    script.write_text(f"ip netns exec {ns.name} env {env} {binary} {' '.join(args)}\n"
                      "echo EXIT=$?\nstty -a\nexec sleep 120\n")
    t = term()
    t.start(script, cols, rows)
    return t


def wait_view(t, help=HELP):
    return t.wait(lambda s: TITLE.match(s[0]) and s[-1] == help, "view", timeout=20)


def wait_exit(t, timeout=15):
    """Waits for the script's EXIT= and stty lines; returns (code, stty tokens)."""
    deadline = time.monotonic() + timeout
    while True:
        text = t.history()
        m = re.search(r"^EXIT=(\d+)\n(.*extproc)", text, re.M | re.S)
        if m:
            return int(m.group(1)), m.group(2).split(), text
        if time.monotonic() > deadline:
            raise AssertionError(f"xdptop did not exit in {timeout}s:\n{text}")
        time.sleep(0.05)


def assert_restored(t, code, want_code):
    """The exit code, and the terminal as xdptop found it: line editing and
    echo on, normal screen, cursor shown."""
    code, stty, text = code
    assert code == want_code, text
    assert {"icanon", "echo", "isig", "icrnl", "opost"} <= set(stty), stty
    assert not {"-icanon", "-echo", "-isig"} & set(stty), stty
    assert t.display("#{alternate_on} #{cursor_flag}") == "0 1"


def title(lines):
    """The title's fields (elapsed, key, sort, busiest|quietest, PAUSED), or
    a match of nothing when the screen shows none (yet)."""
    return TITLE.match(lines[0]) or re.match(r"()()()()()", "")


def column_titles_at(lines):
    """The index of the columns' titles, or None when the screen shows none."""
    titles = ("SOURCE", "DESTINATION", "IFACE", "SRC", "DST", "IP", "PROTO", "SPORT", "DPORT",
              "FLAGS")
    return next((i for i, l in enumerate(lines) if l.startswith(titles)), None)


def column_titles(lines):
    """The columns' titles, as they read: two blanks or more apart."""
    return re.split(r" {2,}", lines[column_titles_at(lines)].strip())


def headers(lines):
    """Each interface's header (IFACE_HEADER's fields), or None for one that
    does not read whole. The header's lines are its title's, then each
    interface's: a line that starts with a blank continues the one above."""
    end = column_titles_at(lines)
    groups = []
    for line in lines[:end or 0]:
        if line.startswith(" ") and groups:
            groups[-1].append(line.strip())
        else:
            groups.append([line.strip()])
    found = [IFACE_HEADER.fullmatch("  ".join(g)) for g in groups[1:]]
    return [m.groupdict() if m else None for m in found]


def header(lines, i=0):
    """Interface i's header, or {} when the screen shows none (yet)."""
    found = headers(lines)
    return found[i] or {} if i < len(found) else {}


def rows(lines):
    """The key rows: tokens of each line between the column titles and the
    status line."""
    i = column_titles_at(lines)
    return [] if i is None else [l.split() for l in lines[i + 1:-1] if l.strip()]


def addresses(lines):
    return [r[0] for r in rows(lines)]


def si(text):
    """The value of a human unit: "320k" is 320,000."""
    m = re.fullmatch(r"([\d.]+)([kMGTPE]?)", text)
    assert m, text
    return float(m.group(1)) * 1000 ** UNITS.index(m.group(2) or " ")


def selected(t):
    """The address on the row in reverse video, or None."""
    found = []
    for line in t.screen(escapes=True)[column_titles_at(t.screen()) + 1:-1]:
        reverse = False
        for params in re.findall(r"\x1b\[([0-9;]*)m", re.match(r"(?:\x1b\[[0-9;]*m)*", line)[0]):
            for p in params.split(";"):
                reverse = p == "7" or (reverse and p not in ("", "0", "27"))
        if reverse:
            found.append(re.sub(r"\x1b\[[0-9;]*m", "", line).split()[0])
    assert len(found) <= 1, found
    return found[0] if found else None


def sorted_column(t):
    """The column title in reverse video: the sort's."""
    line = t.screen(escapes=True)[column_titles_at(t.screen())]
    m = re.findall(r"\x1b\[[0-9;]*7m\s*([A-Z/]+(?: [A-Z/]+)?)", line)
    assert len(m) == 1, repr(line)
    return m[0]


# The traffic of the static tests: three sources that tell the sorts apart,
# 17 one-frame fillers (ties broken by bytes, then by address), 5 others.
STATIC = {"198.18.1.1": [100] * 30, "198.18.1.2": [1000] * 20, "2001:db8::3": [200] * 10,
          **{f"198.18.2.{i}": [64 + 10 * (i % 4)] for i in range(1, 18)}}


@pytest.fixture(scope="module")
def static_traffic(tmp_path_factory):
    frames, expected = [], T.Expected()
    for src, sizes in STATIC.items():
        for length in sizes:
            frames.append(T.udp_frame(src, length))
            expected.add(src, length)
    for frame, length in T.other_frames():
        frames.append(frame)
        expected.add_other(length)
    return T.write_pcap(tmp_path_factory.mktemp("top") / "static.pcap", frames), expected


def ranked(expected, by, reverse):
    """The order xdptop ranks keys in once their traffic is over (every
    interval count 0): the measure, then packets, then bytes (all reversed
    by r), then IPv4 before IPv6 and address bytes (never reversed)."""
    sign = 1 if reverse else -1

    def key(item):
        addr, (p, b) = item
        measure = {"pps": 0, "bps": 0, "packets": p, "bytes": b}[by]
        ip = ipaddress.ip_address(addr)
        return (sign * measure, sign * p, sign * b, ip.version, ip.packed)
    return [a for a, _ in sorted(expected.sources.items(), key=key)]


def test_header_rows_keys_and_resize(lab, term, xdptop, tmp_path, static_traffic):
    pcap, expected = static_traffic
    sender, receiver = lab.pair(mtu=1500)
    # No --format: stdout is a terminal, so the view is the default.
    t = run_view(term, tmp_path, receiver, xdptop, ["-i", "2", "--sort", "packets", "v1"])
    wait_view(t)
    n_frames = sum(len(s) for s in STATIC.values()) + 5
    assert T.replay(sender, "v0", pcap) == n_frames
    total = expected.total

    # The header, once the traffic is over: exact totals, no rate left.
    lines = t.wait(lambda s: header(s).get("packets") == str(total["packets"]) and
                   header(s).get("pps") == "0", "header with every frame counted")
    assert title(lines).groups()[1:] == ("source address", "packets", "busiest", None)
    other = expected.other[0]
    assert headers(lines) == [{
        "name": "v1", "mode": "native", "program": "xdptop_frags", "keys": "20",
        "capacity": "65536", "fill": "0.0%", "pps": "0", "bps": "0", "other_now": "0.0%",
        "untracked_now": "0.0%", "packets": str(total["packets"]), "bytes": str(total["bytes"]),
        "other": str(other), "other_share": f"{100 * other / total['packets']:.1f}%",
        "untracked": "0", "untracked_share": "0.0%"}]
    assert column_titles(lines) == ["SOURCE", *COLUMNS]
    assert lines[-1] == HELP

    # The rows: every key, by cumulative packets; counts in human units,
    # the share of the total packets and a bar as long as that share.
    assert addresses(lines) == ranked(expected, "packets", False)
    row = rows(lines)[0]
    share = 100 * 30 / total["packets"]
    assert row[:3] == ["198.18.1.1", "0", "0"] and row[5:8] == ["30", "3.00k", f"{share:.1f}%"]
    line = next(l for l in lines if l.startswith("198.18.1.1 "))
    bar = line.index("#")
    assert line[bar:] == "#" * int(share / 100 * (120 - bar) + 0.5)
    assert rows(lines)[1][5:7] == ["20", "20.0k"]
    assert sorted_column(t) == "PACKETS"

    # Each key redraws at once from the last round: right after a round, the
    # new order shows before the next one (2 s later) could bring it.
    for key, by, reverse in [(">", "bytes", False), ("r", "bytes", True),
                             ("<", "packets", True), ("s", "bytes", True), ("s", "pps", True),
                             ("<", "pps", True), ("r", "pps", False)]:
        before = title(t.screen())[1]
        after_round = t.wait(lambda s: TITLE.match(s[0]) and title(s)[1] != before, "round")
        t.keys(key)
        want = ranked(expected, by, reverse)
        lines = t.wait(lambda s: addresses(s) == want and title(s)[3] == by and
                       (title(s)[4] == "quietest") == reverse, f"order after {key!r}", timeout=1)
        assert title(lines)[1] == title(after_round)[1], (key, "redrawn by a round")
        assert sorted_column(t) == SORT_TITLES[by]

    # A smaller terminal: redrawn to its size, as many rows as fit.
    t.tmux("resize-window", "-t", "t", "-x", "90", "-y", "16")
    # 6 lines: the title, the interface's three, the columns' titles, the status.
    lines = t.wait(lambda s: len(s) == 16 and s[-1] == HELP and len(rows(s)) == 16 - 6,
                   "view redrawn at 90x16")
    assert addresses(lines) == ranked(expected, "pps", False)[:10]
    assert max(len(l) for l in lines) <= 90
    t.tmux("resize-window", "-t", "t", "-x", "120", "-y", "30")
    t.wait(lambda s: len(s) == 30 and s[-1] == HELP and len(rows(s)) == 20,
           "view redrawn at 120x30")

    t.keys("q")
    assert_restored(t, wait_exit(t), 0)


# Two paced senders: A 400 frames/s of 100 bytes (320 kbit/s), B 100 frames/s
# of 500 bytes (400 kbit/s): A leads by pps, B by bit/s.
PPS = 500
A, B = "198.18.1.1", "198.18.1.2"
PATTERN = [(A, 100), (A, 100), (B, 500), (A, 100), (A, 100)]
RATES = {A: (400, 320e3), B: (100, 400e3)}
TOLERANCE = 0.15
# The 10 s averages count the first interval, which the senders started in
# the middle of: a few seconds in, they are still up to ~10% low.
AVG_TOLERANCE = 0.25
SECONDS = 16


@pytest.fixture(scope="module")
def paced_pcap(tmp_path_factory):
    frames = [T.udp_frame(src, length) for src, length in PATTERN * (PPS // len(PATTERN))]
    return T.write_pcap(tmp_path_factory.mktemp("top") / "paced.pcap", frames)  # 1 s at PPS


def next_round(t):
    before = title(t.screen())[1]
    return t.wait(lambda s: TITLE.match(s[0]) and title(s)[1] != before, "round", timeout=3)


def test_rates_selection_and_pause(lab, term, xdptop, tmp_path, paced_pcap):
    sender, receiver = lab.pair(mtu=1500)
    t = run_view(term, tmp_path, receiver, xdptop, ["--format", "top", "-i", "1", "v1"])
    wait_view(t)
    replay = sender.popen("tcpreplay", "-q", "--pps", str(PPS), "--loop", str(SECONDS), "-K",
                          "-i", "v0", str(paced_pcap), stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)
    try:
        # The rates of three whole intervals, past the first one: within 15%
        # of the pace (the median of the three, against a late tick).
        t.wait(lambda s: addresses(s) == [A, B], "both senders", timeout=5)
        next_round(t)
        samples, totals = [], []
        for _ in range(3):
            lines = next_round(t)
            samples.append({r[0]: r for r in rows(lines)})
            totals.append(si(header(lines)["pps"]))
        assert abs(sorted(totals)[1] - PPS) <= TOLERANCE * PPS, totals
        for addr, (pps, bps) in RATES.items():
            for col, want, tolerance in ((1, pps, TOLERANCE), (2, bps, TOLERANCE),
                                         (3, pps, AVG_TOLERANCE), (4, bps, AVG_TOLERANCE)):
                got = sorted(si(s[addr][col]) for s in samples)[1]
                assert abs(got - want) <= tolerance * want, (addr, col, samples)

        # The selection follows its key: A, first by pps, stays selected
        # when bit/s puts it second.
        t.keys("j")
        t.wait(lambda s: selected(t) == A, "A selected", timeout=1)
        t.keys("s")
        t.wait(lambda s: addresses(s) == [B, A] and title(s)[3] == "bps", "order by bit/s",
               timeout=1)
        assert selected(t) == A
        t.keys("k")
        t.wait(lambda s: selected(t) == B, "B selected", timeout=1)
        t.keys("r")
        t.wait(lambda s: addresses(s) == [A, B], "order reversed", timeout=1)
        assert selected(t) == B
        t.keys("Escape")
        t.wait(lambda s: selected(t) is None, "no selection", timeout=1)

        # Paused: the screen stays as it was for two rounds while the
        # counts go on; resumed, it shows them.
        t.keys("p")
        frozen = t.wait(lambda s: title(s)[5], "PAUSED", timeout=1)
        time.sleep(2.2)
        assert t.screen() == frozen
        assert replay.poll() is None, "the traffic ended too early"
        t.keys("p")
        lines = t.wait(lambda s: TITLE.match(s[0]) and not title(s)[5], "resumed", timeout=1)
        assert int(header(lines)["packets"]) >= int(header(frozen)["packets"]) + 2 * PPS * 0.8
    finally:
        replay.kill()
        replay.wait()
    t.keys("q")
    assert_restored(t, wait_exit(t), 0)


def test_arp_storm_shows_in_the_header(lab, term, xdptop, tmp_path):
    """ARP is 40% of the frames of the last interval: the interface's line of
    the last interval says so at a glance, while the rows hold only the IP
    sender."""
    arp = T.other_frames()[0][0]
    frames = ([T.udp_frame(A, 100)] * 3 + [arp] * 2) * (PPS // 5)      # 1 s at PPS
    pcap = T.write_pcap(tmp_path / "storm.pcap", frames)
    sender, receiver = lab.pair(mtu=1500)
    t = run_view(term, tmp_path, receiver, xdptop, ["--format", "top", "-i", "1", "v1"])
    wait_view(t)
    replay = sender.popen("tcpreplay", "-q", "--pps", str(PPS), "--loop", "8", "-K",
                          "-i", "v0", str(pcap), stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)
    try:
        t.wait(lambda s: addresses(s) == [A], "the IP sender", timeout=5)
        next_round(t)
        now = header(next_round(t))
        assert replay.poll() is None, "the traffic ended too early"
    finally:
        replay.kill()
        replay.wait()
    assert abs(float(now["other_now"].rstrip("%")) - 40) <= 2, now
    assert now["untracked_now"] == "0.0%", now
    t.keys("q")
    assert_restored(t, wait_exit(t), 0)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_signal_restores_the_terminal(lab, term, xdptop, tmp_path, sig):
    """Also the title and columns of another key: destination /24, VLAN."""
    sender, receiver = lab.pair(mtu=1500)
    pcap = T.write_pcap(tmp_path / "vlan.pcap",
                        [T.udp_frame("198.18.1.1", 100, dst="198.18.7.9", vlan=7)] * 3)
    t = run_view(term, tmp_path, receiver, xdptop,
                 ["--format", "top", "-i", "0.5", "--key", "dst", "--prefix4", "24", "--vlan",
                  "v1"])
    wait_view(t)
    T.replay(sender, "v0", pcap)
    lines = t.wait(lambda s: rows(s) and rows(s)[0][2] == "0", "the VLAN's row, its rate over")
    assert title(lines)[2] == "destination prefix /24 (IPv4) /128 (IPv6) and VLAN"
    assert column_titles(lines)[:3] == ["DESTINATION", "VLAN", "PPS"]
    assert [r[:4] + r[6:] for r in rows(lines)] == [["198.18.7.0/24", "7", "0", "0", "3", "300",
                                                     "0.0%"]]
    pids = sh("ip", "netns", "pids", receiver.name).stdout.split()
    assert len(pids) == 1, pids          # xdptop, exec'd by ip netns exec
    os.kill(int(pids[0]), sig)
    assert_restored(t, wait_exit(t), 0)
    assert receiver.xdp_attached() == []


def test_key_of_fields_has_a_column_each(lab, term, xdptop, tmp_path):
    """A key of fields: the title names them, a column each (SRC, PROTO,
    DPORT, FLAGS), the protocol by name, ICMPv6's type/code, flags as
    letters. K shows how to count by another key."""
    from scapy.all import ICMPv6EchoRequest, IP, IPv6, TCP, UDP, Ether
    eth = Ether(src=T.MAC_A, dst=T.MAC_B)
    frames = ([eth / IP(src="198.18.1.1", dst="198.18.7.9") / TCP(dport=443, flags="S")] * 3 +
              [eth / IP(src="198.18.1.2", dst="198.18.7.9") / UDP(sport=5353, dport=53)] * 2 +
              [eth / IPv6(src="2001:db8::5", dst="2001:db8::9") / ICMPv6EchoRequest()])
    sender, receiver = lab.pair(mtu=1500)
    pcap = T.write_pcap(tmp_path / "fields.pcap", frames)
    t = run_view(term, tmp_path, receiver, xdptop,
                 ["--format", "top", "-i", "0.5", "--sort", "packets", "--key",
                  "tcpflags,dport,src,proto", "v1"])
    wait_view(t)
    T.replay(sender, "v0", pcap)
    lines = t.wait(lambda s: len(rows(s)) == 3, "three keys")
    assert title(lines)[2] == "src,proto,dport,tcpflags"
    assert column_titles(lines)[:5] == ["SRC", "PROTO", "DPORT", "FLAGS", "PPS"]
    assert [r[:4] + r[8:9] for r in rows(lines)] == [["198.18.1.1", "tcp", "443", "S", "3"],
                                                     ["198.18.1.2", "udp", "53", "-", "2"],
                                                     ["2001:db8::5", "icmp6", "128/0", "-", "1"]]
    # K says how to count by another key, until the next key.
    t.keys("K")
    t.wait(lambda s: s[-1] == KEY_HINT, "the hint in the status line")
    t.keys("r")
    t.wait(lambda s: s[-1] == HELP and title(s)[4] == "quietest", "the help line back")
    t.keys("q")
    assert_restored(t, wait_exit(t), 0)
    assert receiver.xdp_attached() == []


def test_two_interfaces_then_both_lost(lab, term, xdptop, tmp_path):
    """Rows of two interfaces ranked together, with their interface, cut by
    --top. One interface deleted: the message in the status line, the view
    goes on with the other. Both deleted: exit 6, the terminal restored, and
    each message on stderr once, after the view (on the normal screen)."""
    a, b = lab.pair(mtu=1500)
    lab.veth(a, b, "w0", "w1")
    A, B, C = "198.18.1.1", "198.18.1.2", "2001:db8::3"
    first = T.write_pcap(tmp_path / "v.pcap", [T.udp_frame(A, 100)] * 30 +
                         [T.udp_frame(B, 100)] * 10)
    second = T.write_pcap(tmp_path / "w.pcap", [T.udp_frame(A, 100)] * 20 +
                          [T.udp_frame(C, 100)] * 25)
    t = run_view(term, tmp_path, b, xdptop, ["--format", "top", "-i", "0.5", "--sort", "packets",
                                             "--top", "3", "v1", "w1"])
    t.wait(lambda s: TITLE.match(s[0]) and [h and h["name"] for h in headers(s)] == ["v1", "w1"]
           and column_titles(s)[:2] == ["IFACE", "SOURCE"], "view of v1 and w1", timeout=20)
    T.replay(a, "v0", first)
    T.replay(a, "w0", second)
    lines = t.wait(lambda s: header(s, 0).get("packets") == "40" and
                   header(s, 1).get("packets") == "45", "both interfaces' traffic")
    assert [r[:2] + r[6:7] + r[8:9] for r in rows(lines)] == [
        ["v1", A, "30", "35.3%"], ["w1", C, "25", "29.4%"], ["w1", A, "20", "23.5%"]]

    lost = 'iface "{}" disappeared: no longer counting it'
    sh("ip", "-n", b.name, "link", "del", "v1")
    lines = t.wait(lambda s: s[-1] == lost.format("v1") and
                   [h and h["name"] for h in headers(s)] == ["w1"], "v1 lost in the status line")
    assert column_titles(lines)[:2] == ["IFACE", "SOURCE"]
    assert [r[:2] for r in rows(lines)] == [["w1", C], ["w1", A]]
    sh("ip", "-n", b.name, "link", "del", "w1")
    result = wait_exit(t)
    assert_restored(t, result, 6)
    text = result[2]
    after = text[text.rindex("Attached XDP program"):]
    assert re.search(r"\nxdptop: " + re.escape(lost.format("v1")) + r"\nxdptop: " +
                     re.escape(lost.format("w1")) + r"\nEXIT=6\n", after), text
    assert text.count("disappeared") == 2, text


@pytest.mark.parametrize("term_name, why", [
    ("dumb", "TERM=dumb cannot move the cursor"),
    ("xyzzy", "TERM=xyzzy names no terminal this system describes"),
    ("", "TERM is not set")], ids=["dumb", "unknown", "unset"])
def test_unusable_terminal(lab, term, xdptop, tmp_path, term_name, why):
    """A terminal the view cannot draw on: refused as a bad command line,
    before anything is attached, in one line that says why and what to do;
    the terminal untouched."""
    _, receiver = lab.pair(mtu=1500)
    t = run_view(term, tmp_path, receiver, xdptop, ["v1"], env={"TERM": term_name})
    result = wait_exit(t)
    assert_restored(t, result, 2)
    assert (f"\nxdptop: cannot start the live view: {why}: set TERM to your terminal's type "
            "(e.g. TERM=xterm-256color), or use --format log or --format json\nEXIT=2\n"
            ) in "\n" + result[2]
    assert "Attached XDP program" not in result[2]
    assert receiver.xdp_attached() == []


def test_force_with_an_unusable_terminal_replaces_nothing(lab, term, xdptop, tmp_path):
    """TERM=xyzzy xdptop --force in a terminal replaced another's program,
    then failed to start the view and left the interface bare. The terminal
    is checked before anything is replaced."""
    _, receiver = lab.pair(mtu=1500)
    obj = str(Path(xdptop).parent / "xdptop.bpf.o")
    sh("ip", "-n", receiver.name, "link", "set", "dev", "v1", "xdpdrv", "obj", obj, "sec", "xdp")
    before = receiver.xdp_attached(), sh("ip", "-n", receiver.name, "link", "show", "v1").stdout
    t = run_view(term, tmp_path, receiver, xdptop, ["--force", "v1"], env={"TERM": "xyzzy"})
    result = wait_exit(t)
    assert_restored(t, result, 2)
    assert "replaced" not in result[2] and "Attached XDP program" not in result[2], result[2]
    after = receiver.xdp_attached(), sh("ip", "-n", receiver.name, "link", "show", "v1").stdout
    assert after == before and "prog/xdp id" in after[1], after
    sh("ip", "-n", receiver.name, "link", "set", "dev", "v1", "xdpdrv", "off")


def test_top_without_a_terminal(lab, xdptop):
    """Refused as a bad command line, before anything is attached."""
    _, receiver = lab.pair(mtu=1500)
    agent = lab.start(receiver, xdptop, "--format", "top", "v1")
    assert agent.wait(timeout=30) == 2
    assert agent.stderr() == ("xdptop: --format top needs a terminal on stdin and stdout: use "
                              "--format log or --format json\n")
    assert agent.stdout() == ""
    assert receiver.xdp_attached() == []


def test_view_under_valgrind(lab, term, tmp_path, static_traffic):
    """Every key, a resize and q under memcheck (the plain build): no error,
    no leak."""
    pcap, expected = static_traffic
    sender, receiver = lab.pair(mtu=1500)
    log = tmp_path / "valgrind.log"
    t = run_view(term, tmp_path, receiver, "valgrind",
                 ["--leak-check=full", "--errors-for-leak-kinds=definite", "--error-exitcode=42",
                  f"--suppressions={VALGRIND_SUPP}", f"--log-file={log}", str(BUILD / "xdptop"),
                  "-i", "0.5", "v1"])
    wait_view(t)
    T.replay(sender, "v0", pcap)
    t.wait(lambda s: header(s).get("packets") == str(expected.total["packets"]),
           "every frame counted")
    for key in ["j", "j", "s", "r", "<", ">", "p", "k", "p", "Escape"]:
        t.keys(key)
        time.sleep(0.1)
    t.tmux("resize-window", "-t", "t", "-x", "80", "-y", "12")
    t.wait(lambda s: len(s) == 12 and s[-1] == HELP, "view redrawn at 80x12")
    t.keys("q")
    assert_restored(t, wait_exit(t, timeout=30), 0)
    assert "ERROR SUMMARY: 0 errors" in log.read_text(), log.read_text()


def static_header(expected):
    """The header of the static traffic, every frame counted, its rates over."""
    total, other = expected.total, expected.other[0]
    return {"name": "v1", "mode": "native", "program": "xdptop_frags", "keys": "20",
            "capacity": "65536", "fill": "0.0%", "pps": "0", "bps": "0", "other_now": "0.0%",
            "untracked_now": "0.0%", "packets": str(total["packets"]),
            "bytes": str(total["bytes"]), "other": str(other),
            "other_share": f"{100 * other / total['packets']:.1f}%", "untracked": "0",
            "untracked_share": "0.0%"}


# Each width in turn (24 lines), the key pressed there, the sort then, the
# status line and the columns shown: the averages go first, then bytes,
# packets and the share, never the sort's column.
WIDTHS = [(80, None, "packets", HELP, COLUMNS),
          (60, None, "packets", HELP_SHORT,
           ["PPS", "BIT/S", "AVG PPS", "PACKETS", "BYTES", "SHARE"]),
          (40, None, "packets", HELP_SHORT, ["PPS", "BIT/S", "PACKETS"]),
          (40, ">", "bytes", HELP_SHORT, ["PPS", "BIT/S", "BYTES", "SHARE"]),
          (160, None, "bytes", HELP, COLUMNS)]


def test_layout_by_width(lab, term, xdptop, tmp_path, static_traffic):
    """80x24 first, then narrower and wider: no value is ever cut (each of
    the header's values and each row's reads whole, the exact totals
    included), the header's fields wrap whole onto the next line, the last
    interval's figures on one line wherever they fit, the totals labelled,
    the columns' titles two blanks apart, the columns dropped by priority."""
    pcap, expected = static_traffic
    sender, receiver = lab.pair(mtu=1500)
    t = run_view(term, tmp_path, receiver, xdptop, ["-i", "0.5", "--sort", "packets", "v1"],
                 cols=80, rows=24)
    wait_view(t)
    T.replay(sender, "v0", pcap)
    want_header = static_header(expected)
    for cols, key, sort, help, columns in WIDTHS:
        t.tmux("resize-window", "-t", "t", "-x", str(cols), "-y", "24")
        if key:
            t.keys(key)
        lines = t.wait(lambda s: len(s[0]) <= cols and s[-1] == help and
                       column_titles_at(s) and column_titles(s) == ["SOURCE", *columns] and
                       header(s) == want_header, f"the view at {cols}x24")
        assert headers(lines) == [want_header], lines
        interval = [l for l in lines if "last interval:" in l]
        assert len(interval) == 1 and ("untracked" in interval[0]) == (cols >= 80), lines
        assert sum("total since start:" in l for l in lines) == 1, lines
        order = ranked(expected, sort, False)
        assert addresses(lines) == order[:len(rows(lines))] and len(rows(lines)) >= 10, lines
        for row in rows(lines):
            values = [v for v in row[1:] if set(v) != {"#"}]      # less the bar
            assert len(values) == len(columns), (cols, row)
            assert all(re.fullmatch(NUMBER, v) or re.fullmatch(PERCENT, v) for v in values), row
            if "PACKETS" in columns:
                packets = expected.sources[row[0]][0]
                assert values[columns.index("PACKETS")] == str(packets), row
    t.keys("q")
    assert_restored(t, wait_exit(t), 0)


def test_last_screen_stays_after_q(lab, term, xdptop, tmp_path, static_traffic):
    """After q the terminal's own screen holds the view's last one as text
    (less its status line), below what was there before: the ranking one
    quit on stays in sight."""
    pcap, expected = static_traffic
    sender, receiver = lab.pair(mtu=1500)
    t = run_view(term, tmp_path, receiver, xdptop, ["-i", "0.5", "v1"], cols=80, rows=24)
    wait_view(t)
    T.replay(sender, "v0", pcap)
    t.wait(lambda s: header(s) == static_header(expected), "every frame counted")
    t.keys("p")                     # the last screen, as it will stay
    last = t.wait(lambda s: title(s)[5], "PAUSED", timeout=1)
    t.keys("q")
    result = wait_exit(t)
    assert_restored(t, result, 0)
    text = result[2]
    shown = [l.rstrip() for l in last[:-1]]
    while not shown[-1]:
        shown.pop()
    start = text.index("\n", text.rindex("Attached XDP program")) + 1
    assert text[start:text.index("EXIT=0\n")].split("\n")[:-1] == shown, text
    # 18 rows: 24 lines less the title, the interface's 3, the columns' titles, the status.
    assert addresses(shown + [""]) == ranked(expected, "pps", False)[:18]


def demo_namespaces_gone(names):
    """Removes what is left of the demo's namespaces (a test that failed
    half-way); returns those it found."""
    left = [n for n in names if n in sh("ip", "netns", "list").stdout.split()]
    for name in left:
        for pid in sh("ip", "netns", "pids", name, check=False).stdout.split():
            try:
                os.kill(int(pid), signal.SIGKILL)
            except ProcessLookupError:
                pass
        sh("ip", "netns", "del", name, check=False)
    return left


def test_make_demo_honours_seconds(term, tmp_path):
    """make demo SECONDS=3 (the plain build): the live view for three
    reports, ended by itself; its last ranking stays on the terminal; the
    demo's namespaces are gone."""
    root = Path(__file__).resolve().parent.parent
    script = tmp_path / "demo.sh"
    script.write_text(f"make -C {root} --no-print-directory BUILD={BUILD} demo SECONDS=3\n"
                      "echo EXIT=$?\nstty -a\nexec sleep 120\n")
    t = term()
    t.start(script, 80, 24)
    try:
        code, _, text = wait_exit(t, timeout=45)
    finally:
        named = re.search(r"from namespace (xdptop-demo-\d+)-tx", t.history())
        t.kill()
        left = demo_namespaces_gone([named[1] + "-tx", named[1] + "-rx"] if named else [])
    assert code == 0 and left == [], text
    assert re.search(r"^demo: replaying \d+ real captures for 3s ", text, re.M), text
    last = text[text.rindex("Attached XDP program"):text.index("demo: done")].split("\n")[1:]
    elapsed = TITLE.match(last[0])
    assert elapsed, text
    seconds = sum(int(f) * 60 ** i for i, f in enumerate(reversed(elapsed[1].split(":"))))
    assert 3 <= seconds < 10, text      # three reports, a second apart; not the default 60
    assert column_titles(last)[0] == "SOURCE" and rows(last + [""]), text
