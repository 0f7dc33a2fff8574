"""The Prometheus exporter (--listen): what /metrics says, checked by
promtool and against the JSON output's exact counts on corpus captures; its
routes and its refusals; a real Prometheus (Debian's) scraping it from a
namespace of its own; a fleet of two hosts; churn under --metrics-top; and
hostile clients that must not delay a report.

Every server listens on loopback or on 198.18.0.0/15 inside the test's own
namespaces."""
import json
import re
import socket
import subprocess
import threading
import time
import urllib.parse

import pytest

from conftest import DATA, as_expected, check_identity, sh
from test_privs import agent_pid

METRIC = re.compile(r'^(\w+)\{([^}]*)\} (\d+)$')


def lo_up(ns):
    ns.run("ip", "link", "set", "lo", "up")


def http(ns, url, method="GET", data=None):
    """(status, headers, body) of one request made inside ns."""
    script = ("import sys, urllib.request, json\n"
              "req = urllib.request.Request(sys.argv[1], method=sys.argv[2], data=None)\n"
              "try:\n"
              "    r = urllib.request.urlopen(req, timeout=10)\n"
              "except urllib.error.HTTPError as e:\n"
              "    r = e\n"
              "print(json.dumps([r.status, dict(r.headers), r.read().decode()]))\n")
    out = ns.run("/usr/bin/python3", "-c", script, url, method).stdout
    return json.loads(out)


def samples(text):
    """{(name, frozenset(labels)): value} of an exposition."""
    out = {}
    for line in text.splitlines():
        m = METRIC.match(line)
        if m:
            labels = frozenset(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2)))
            out[(m.group(1), labels)] = int(m.group(3))
    return out


def per_key(text, name="xdptop_source_packets_total"):
    return {dict(labels)["address"]: v for (n, labels), v in samples(text).items() if n == name}


def scrape_when(ns, url, ready, timeout=20):
    deadline = time.monotonic() + timeout
    while True:
        status, _, body = http(ns, url)
        if status == 200 and ready(body):
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.2)


@pytest.mark.parametrize("name", sorted(p.stem for p in DATA.glob("*.pcap")))
def test_metrics_equal_json_and_pass_promtool(lab, xdptop, name):
    sender, receiver = lab.pair(mtu=9000)
    lo_up(receiver)
    agent = lab.start(receiver, xdptop, "-f", "json", "-i", "0.2", "--listen", "9464", "v1")
    agent.wait_attached()
    sent = sender.run("tcpreplay", "-q", "-t", "-i", "v0", str(DATA / f"{name}.pcap"))
    assert re.search(r"Failed packets:\s+0\n", sent.stdout), sent.stdout
    expected = json.loads((DATA / f"{name}.expected.json").read_text())
    body = scrape_when(receiver, "http://127.0.0.1:9464/metrics",
                       lambda b: samples(b).get(("xdptop_packets_total",
                                                  frozenset({("interface", "v1")})))
                       == expected["total"]["packets"])
    assert agent.stop() == 0, agent.stderr()
    last = agent.reports()[-1]
    check_identity(last)
    assert as_expected(last) == expected
    want = {a: c["packets"] for a, c in expected["sources"].items()}
    assert per_key(body) == want
    assert per_key(body, "xdptop_source_bytes_total") == \
        {a: c["bytes"] for a, c in expected["sources"].items()}
    s = samples(body)
    v1 = frozenset({("interface", "v1")})
    assert s[("xdptop_other_packets_total", v1)] == expected["other"]["packets"]
    assert s[("xdptop_bytes_total", v1)] == expected["total"]["bytes"]
    assert s[("xdptop_unlisted_packets_total", v1)] == 0
    assert s[("xdptop_untracked_packets_total", v1)] == 0
    assert s[("xdptop_tracked_keys", v1)] == len(want)
    assert s[("xdptop_capacity_keys", v1)] == 65536
    check = subprocess.run(["promtool", "check", "metrics"], input=body, text=True,
                           capture_output=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout + check.stderr == ""


def test_routes(lab, xdptop):
    _, receiver = lab.pair(mtu=1500)
    lo_up(receiver)
    agent = lab.start(receiver, xdptop, "-f", "none", "-i", "0.1", "--listen",
                      "127.0.0.1:9464", "v1")
    agent.wait_attached()
    base = "http://127.0.0.1:9464"
    scrape_when(receiver, base + "/metrics", lambda b: "xdptop_build_info{" in b)
    status, headers, body = http(receiver, base + "/metrics")
    assert status == 200
    assert headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert 'xdptop_build_info{version="0.1.0",key="src",prefix4="32",prefix6="128",' \
           'key_vlan="false"} 1' in body
    stamp = float(re.search(r"^xdptop_last_report_timestamp_seconds (\S+)$", body, re.M)[1])
    assert abs(stamp - time.time()) < 5, stamp
    assert re.search(r'^xdptop_interface_info\{interface="v1",mode="native",'
                     r'program="xdptop_frags"\} 1$', body, re.M), body
    status, headers, body = http(receiver, base + "/")
    assert (status, headers["Content-Type"]) == (200, "text/html")
    assert '<a href="/metrics">/metrics</a>' in body
    assert http(receiver, base + "/metrics", "HEAD")[2] == ""
    status, _, body = http(receiver, base + "/nope")
    assert (status, body) == (404, "not found: see /metrics\n")
    for method in ("POST", "PUT", "DELETE"):
        status, headers, _ = http(receiver, base + "/metrics", method)
        assert (status, headers["Allow"]) == (405, "GET, HEAD"), method
    # Stdout stays empty with --format none.
    assert agent.stop() == 0, agent.stderr()
    assert agent.stdout() == ""


def test_port_in_use_fails_before_attaching(lab, xdptop):
    _, receiver = lab.pair(mtu=1500)
    lo_up(receiver)
    holder = receiver.popen("/usr/bin/python3", "-c",
                            "import socket, time\n"
                            "s = socket.socket(); s.bind(('127.0.0.1', 9464)); s.listen()\n"
                            "print('ok', flush=True); time.sleep(30)\n",
                            stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "ok\n"
        r = receiver.run(xdptop, "-f", "json", "--listen", "9464", "v1", check=False)
    finally:
        holder.kill()
        holder.wait()
    assert (r.returncode, r.stdout) == (7, "")
    assert r.stderr == ("xdptop: cannot listen on 127.0.0.1:9464 (Address already in use): "
                        "stop what listens there, or choose another port\n")
    assert receiver.xdp_attached() == []
    r = receiver.run(xdptop, "--listen", "198.18.77.1:9464", "v1", check=False)
    assert (r.returncode, r.stderr) == (7, "xdptop: cannot listen on 198.18.77.1:9464 (Cannot "
                                           "assign requested address): use an address of this "
                                           "host (ip addr), or 0.0.0.0\n")
    assert receiver.xdp_attached() == []


@pytest.mark.parametrize("arg", ["", "0", "65536", "x", "localhost:9100", ":9100",
                                 "198.18.0.1:", "[2001:db8::1:9100", "1.2.3:9100"])
def test_bad_listen(xdptop, arg):
    r = sh(xdptop, "--listen", arg, "lo", check=False)
    assert (r.returncode, r.stdout) == (2, "")
    assert r.stderr == (f'xdptop: --listen "{arg}" is not [ADDR:]PORT: use a port (9100: '
                        "loopback only), 0.0.0.0:9100 or [::]:9100 (every address), or one "
                        "address\n")


def test_format_none_needs_listen(xdptop):
    r = sh(xdptop, "-f", "none", "lo", check=False)
    assert (r.returncode, r.stderr) == (2, "xdptop: --format none shows nothing without "
                                           "--listen or --ipfix: add --listen PORT or --ipfix "
                                           "HOST:PORT, or choose another format\n")


# ---------------------------------------------------------------- a real Prometheus

class Prometheus:
    """Debian's prometheus, in namespace ns (listening on its loopback),
    scraping targets every 0.5 s, with a config and data directory of its own;
    evaluating rule_files (absolute paths) every 0.5 s too."""

    def __init__(self, ns, tmp_path, targets, rule_files=()):
        self.ns = ns
        lo_up(ns)
        cfg = tmp_path / "prometheus.yml"
        cfg.write_text("global:\n  scrape_interval: 500ms\n  evaluation_interval: 500ms\n"
                       f"rule_files: {json.dumps([str(f) for f in rule_files])}\n"
                       "scrape_configs:\n  - job_name: xdptop\n    static_configs:\n"
                       f"      - targets: {json.dumps(targets)}\n")
        self.log = open(tmp_path / "prometheus.log", "w")
        self.proc = ns.popen("prometheus", f"--config.file={cfg}",
                             f"--storage.tsdb.path={tmp_path / 'data'}",
                             "--web.listen-address=127.0.0.1:9090", "--log.level=warn",
                             stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            try:
                if http(ns, "http://127.0.0.1:9090/-/ready")[0] == 200:
                    break
            except subprocess.CalledProcessError:
                pass
            assert self.proc.poll() is None and time.monotonic() < deadline, \
                (tmp_path / "prometheus.log").read_text()
            time.sleep(0.3)

    def query(self, promql):
        url = "http://127.0.0.1:9090/api/v1/query?" + urllib.parse.urlencode({"query": promql})
        status, _, body = http(self.ns, url)
        reply = json.loads(body)
        assert status == 200 and reply["status"] == "success", body
        return reply["data"]["result"]

    def wait_for(self, promql, want, timeout=30):
        """Polls until promql's result, as {labels: value}, equals want."""
        deadline = time.monotonic() + timeout
        while True:
            got = {tuple(sorted(r["metric"].items())): float(r["value"][1])
                   for r in self.query(promql)}
            if got == want:
                return got
            assert time.monotonic() < deadline, (promql, got, want)
            time.sleep(0.5)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)
        self.log.close()


@pytest.fixture
def prometheus(lab, tmp_path):
    made = []

    def start(ns, targets, **kw):
        p = Prometheus(ns, tmp_path, targets, **kw)
        made.append(p)
        return p
    yield start
    for p in made:
        p.stop()


def link_hosts(lab, monitor, host, n):
    """A veth between the monitor namespace and a host namespace:
    198.18.100.(4n+1) on the host, (4n+2) on the monitor."""
    host_ip, mon_ip = f"198.18.100.{4 * n + 1}", f"198.18.100.{4 * n + 2}"
    lab.veth(host, monitor, name_a=f"m{n}", name_b=f"h{n}")
    host.run("ip", "addr", "add", f"{host_ip}/30", "dev", f"m{n}")
    monitor.run("ip", "addr", "add", f"{mon_ip}/30", "dev", f"h{n}")
    return host_ip


def udp_capture(tmp_path, name, plan):
    """A pcap of plan {src: (frames, length)}, each source's frames spread
    evenly over the capture; returns its path."""
    from traffic import udp_frame, write_pcap
    order = sorted(((k + 0.5) / n, src) for src, (n, _) in plan.items() for k in range(n))
    frames = [udp_frame(src, plan[src][1]) for _, src in order]
    return write_pcap(tmp_path / f"{name}.pcap", frames)


def test_fleet_of_two_hosts(lab, xdptop, prometheus, tmp_path):
    """Two hosts, each its own agent and traffic, one Prometheus: the fleet's
    per-address sums equal what was sent, and topk ranks them."""
    monitor = lab.netns()
    plans = [{"198.18.1.1": (300, 100), "198.18.1.2": (50, 200), "2001:db8:1::7": (120, 90)},
             {"198.18.1.1": (100, 100), "198.18.1.3": (250, 64), "2001:db8:1::7": (10, 90)}]
    targets, agents = [], []
    for n, plan in enumerate(plans):
        sender, host = lab.pair(mtu=1500)
        ip = link_hosts(lab, monitor, host, n)
        agent = lab.start(host, xdptop, "-f", "none", "-i", "0.2", "--listen", f"{ip}:9464",
                          "v1")
        agent.wait_attached()
        agents.append(agent)
        targets.append(f"{ip}:9464")
        sent = sender.run("tcpreplay", "-q", "-t", "-i", "v0",
                          str(udp_capture(tmp_path, f"host{n}", plan)))
        assert re.search(r"Failed packets:\s+0\n", sent.stdout), sent.stdout
    prom = prometheus(monitor, targets)
    want = {}
    for plan in plans:
        for src, (frames, _) in plan.items():
            want[src] = want.get(src, 0) + frames
    prom.wait_for("sum by (address) (xdptop_source_packets_total)",
                  {(("address", a),): float(v) for a, v in want.items()})
    top = prom.query("topk(2, sum by (address) (xdptop_source_packets_total))")
    assert sorted((r["metric"]["address"], float(r["value"][1])) for r in top) == \
        [("198.18.1.1", 400.0), ("198.18.1.3", 250.0)]
    bytes_ = prom.query('sum(xdptop_source_bytes_total{address="198.18.1.2"})')
    assert float(bytes_[0]["value"][1]) == 50 * 200
    info = prom.query("count(xdptop_build_info)")
    assert float(info[0]["value"][1]) == 2
    for agent in agents:
        assert agent.stop() == 0, agent.stderr()


# ---------------------------------------------------------------- hostile clients

HOSTILE = r'''
import socket, sys, time
addr = ("127.0.0.1", 9464)
def send(data):
    """The status line of the answer to data, or what went wrong."""
    try:
        s = socket.create_connection(addr, timeout=5)
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        return s.recv(100).split(b"\r\n")[0].decode(errors="replace")
    except OSError as e:
        return repr(e)
    finally:
        s.close()
for bad in (b"GARBAGE\r\n\r\n", b"GET\r\n\r\n", b"\x00\xff\xfe\r\n\r\n",
            b"GET /metrics HTTP/9.9\r\n\r\n",
            b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 200000 + b"\r\n\r\n"):
    print(send(bad), flush=True)
idle = []
for _ in range(200):                      # connections that send nothing
    s = socket.socket(); s.setblocking(False)
    try:
        s.connect(addr)
    except BlockingIOError:
        pass
    idle.append(s)
slow = idle[0]                             # and one that sends a byte a second
for byte in b"GET /metrics HTTP/1.1\r\n"[:8]:
    time.sleep(1)
    try:
        slow.send(bytes([byte]))
    except OSError:
        break
for s in idle:
    s.close()
print("done", flush=True)
'''


def threads_caps(pid):
    """CapEff of every thread of pid."""
    import glob
    caps = {}
    for status in glob.glob(f"/proc/{pid}/task/*/status"):
        for line in open(status):
            if line.startswith("CapEff:"):
                caps[status.split("/")[4]] = line.split()[1]
    return caps


def test_hostile_clients_do_not_delay_reports(lab, xdptop):
    """200 idle connections, malformed request lines, a huge header and a
    client sending a byte a second: the exporter survives, the reports keep
    their pace meanwhile, and no thread holds a capability."""
    _, receiver = lab.pair(mtu=1500)
    lo_up(receiver)
    agent = lab.start(receiver, xdptop, "-f", "json", "-i", "0.2", "--listen", "9464", "v1")
    agent.wait_attached()
    scrape_when(receiver, "http://127.0.0.1:9464/metrics", lambda b: "xdptop_packets" in b)
    pid = agent_pid(receiver)
    caps = threads_caps(pid)
    assert len(caps) >= 2, caps            # the server's own thread, too
    assert set(caps.values()) == {"0000000000000000"}, caps
    before = len(agent.reports())
    attack = receiver.run("/usr/bin/python3", "-c", HOSTILE, timeout=60).stdout.splitlines()
    # Garbage: closed unanswered; a bad version: 505; a 200 KB header: 431,
    # or closed while it is still being sent.
    assert attack[:4] == ["", "", "", "HTTP/1.1 505 HTTP Version Not Supported"], attack
    assert attack[4] == "HTTP/1.1 431 Request Header Fields Too Large" or \
        attack[4].startswith("OSError("), attack
    assert attack[5:] == ["done"], attack
    during = agent.reports()[before:]
    assert len(during) >= 30, len(during)
    for r in during:
        assert 0.18 <= r["interval"] <= 0.22, r["interval"]
    assert agent.proc.poll() is None, agent.stderr()
    # Served again once the idle connections are gone.
    body = scrape_when(receiver, "http://127.0.0.1:9464/metrics", lambda b: "xdptop_" in b)
    assert "xdptop_build_info{" in body
    assert agent.stop() == 0, agent.stderr()


# ---------------------------------------------------------------- churn

def churn_capture(tmp_path, phase):
    """One phase, about a second at 1,000 frames/s: 5 heavy senders of its
    own, 3 lighter ones of its own, 12 light ones shared by every phase."""
    plan = {f"198.18.{10 + phase}.{i + 1}": (150, 80 + i) for i in range(5)}
    plan.update({f"198.18.{10 + phase}.{i + 6}": (30 - 5 * i, 90) for i in range(3)})
    plan.update({f"198.18.9.{i + 1}": (8, 64) for i in range(12)})
    # The last phase's heavy senders go on, slower: they leave the top 5
    # while still sending.
    plan.update({f"198.18.{9 + phase}.{i + 1}": (12, 70) for i in range(5) if phase})
    return udp_capture(tmp_path, f"churn{phase}", plan)


def increase(before, after):
    """Each series' increase from one scrape to the next, as Prometheus
    reads counters: a new series from zero, a lower value a reset."""
    return {k: v - before.get(k, 0) if v >= before.get(k, 0) else v for k, v in after.items()}


def identity(before, after):
    """Between two scrapes: all frames == exported keys + unlisted + other +
    untracked, packets and bytes, exactly."""
    inc = increase(samples(before), samples(after))
    for unit in ("packets", "bytes"):
        parts = sum(v for (n, _), v in inc.items()
                    if n in (f"xdptop_source_{unit}_total", f"xdptop_unlisted_{unit}_total",
                             f"xdptop_other_{unit}_total", f"xdptop_untracked_{unit}_total"))
        assert parts == sum(v for (n, _), v in inc.items() if n == f"xdptop_{unit}_total"), unit


def test_churn_under_metrics_top(lab, xdptop, prometheus, tmp_path):
    """--metrics-top 5 while the heavy senders change, phase after phase:
    at most 5 keys count (and 5 linger), no series ever decreases between
    two scrapes that carry it, the increases between two scrapes add up
    exactly, the busiest of each phase get exported, and in PromQL the
    rates add up over the run."""
    sender, host = lab.pair(mtu=1500)
    monitor = lab.netns()
    ip = link_hosts(lab, monitor, host, 0)
    agent = lab.start(host, xdptop, "-f", "none", "-i", "0.1", "--metrics-top", "5",
                      "--listen", f"{ip}:9464", "v1")
    agent.wait_attached()
    prom = prometheus(monitor, [f"{ip}:9464"])
    url = f"http://{ip}:9464/metrics"
    scrapes, stop = [], threading.Event()

    def scraper():
        while not stop.is_set():
            scrapes.append(http(monitor, url)[2])

    thread = threading.Thread(target=scraper)
    thread.start()
    try:
        for phase in range(4):
            # Four seconds of the phase: by then the last phase's senders,
            # silent, have decayed in the 10 s average below 1/1.25 of
            # this phase's (after 2.3 s).
            sent = sender.run("tcpreplay", "-q", "--pps", "1000", "--loop", "4", "-i", "v0",
                              str(churn_capture(tmp_path, phase)), timeout=60)
            assert re.search(r"Failed packets:\s+0\n", sent.stdout), sent.stdout
            # This phase's five busiest count now; at most five of those
            # that counted before linger, frozen.
            exported, top5 = set(per_key(scrapes[-1])), \
                {f"198.18.{10 + phase}.{i + 1}" for i in range(5)}
            assert top5 <= exported and len(exported) <= 10, (phase, exported)
            assert all(int(a.split(".")[2]) in range(9, 11 + phase)
                       for a in exported - top5), (phase, sorted(exported - top5))
            assert samples(scrapes[-1])[("xdptop_exported_keys",
                                         frozenset({("interface", "v1")}))] == 5
    finally:
        stop.set()
        thread.join()
    assert len(scrapes) >= 40, len(scrapes)
    prev, prev_text = {}, ""
    for text in scrapes:
        identity(prev_text, text)
        prev_text = text
        now = {(n, labels): v for (n, labels), v in samples(text).items()
               if n.startswith("xdptop_source_")}
        assert len(now) <= 2 * 10     # packets and bytes, of 5 keys and 5 lingering
        for series, v in now.items():
            assert v >= prev.get(series, 0), series
        prev = now
    # PromQL, exactly: every series' last value (those that stopped
    # included) + unlisted + other + untracked == all frames, once
    # Prometheus has scraped the last round.
    time.sleep(1.5)
    last = {m: float(prom.query(f"sum(xdptop_{m}_packets_total)")[0]["value"][1])
            for m in ("unlisted", "other", "untracked")}
    keys = float(prom.query("sum(max_over_time(xdptop_source_packets_total[5m]))")[0]
                 ["value"][1])
    total = float(prom.query("sum(xdptop_packets_total)")[0]["value"][1])
    assert keys + sum(last.values()) == total, (keys, last, total)
    # And as rates over the run, within what rate()'s extrapolation of series
    # that start inside the window costs (each one's first increase).
    parts = prom.query("sum(increase(xdptop_source_packets_total[1m])) + "
                       "sum(increase(xdptop_unlisted_packets_total[1m])) + "
                       "sum(increase(xdptop_other_packets_total[1m])) + "
                       "sum(increase(xdptop_untracked_packets_total[1m]))")
    ratio = float(parts[0]["value"][1]) / float(
        prom.query("sum(increase(xdptop_packets_total[1m]))")[0]["value"][1])
    assert 0.9 <= ratio <= 1.1, ratio
    assert agent.stop() == 0, agent.stderr()


def test_label_values_escaped(lab, xdptop):
    """An interface name may hold a double quote and a backslash: the label
    escapes them, and promtool reads the page."""
    sender, receiver = lab.netns(), lab.netns()
    name = 'q"b\\1'
    lab.veth(sender, receiver, name_a="v0", name_b=name)
    lo_up(receiver)
    agent = lab.start(receiver, xdptop, "-f", "none", "-i", "0.1", "--listen", "9464", name)
    agent.wait_attached()
    body = scrape_when(receiver, "http://127.0.0.1:9464/metrics",
                       lambda b: "xdptop_packets_total{" in b)
    assert 'xdptop_packets_total{interface="q\\"b\\\\1"} ' in body, body
    check = subprocess.run(["promtool", "check", "metrics"], input=body, text=True,
                           capture_output=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert agent.stop() == 0, agent.stderr()


def test_restart_with_pin_is_no_reset(lab, xdptop, tmp_path):
    """With --pin the counters go on across a restart, frames sent while no
    agent ran included: Prometheus sees no reset, and loses nothing."""
    import tempfile
    from pathlib import Path
    sender, receiver = lab.pair(mtu=1500)
    lo_up(receiver)
    first = {"198.18.1.1": (40, 100), "2001:db8:1::9": (25, 120)}
    later = {"198.18.1.1": (10, 100), "198.18.1.2": (30, 80)}
    with tempfile.TemporaryDirectory() as d:
        sh("mount", "-t", "bpf", "bpf", d)
        try:
            args = [xdptop, "--pin=" + str(Path(d) / "xdptop"), "-f", "none", "-i", "0.1",
                    "--listen", "9464", "v1"]
            agent = lab.start(receiver, *args)
            agent.wait_attached()
            sender.run("tcpreplay", "-q", "-t", "-i", "v0",
                       str(udp_capture(tmp_path, "first", first)))
            url = "http://127.0.0.1:9464/metrics"
            before = scrape_when(receiver, url, lambda b: per_key(b).get("198.18.1.1") == 40)
            assert agent.stop() == 0, agent.stderr()
            sender.run("tcpreplay", "-q", "-t", "-i", "v0",
                       str(udp_capture(tmp_path, "later", later)))
            agent = lab.start(receiver, *args)
            after = scrape_when(receiver, url, lambda b: "xdptop_packets_total{" in b)
            assert "Adopted the XDP program pinned" in agent.stderr()
            assert per_key(after) == {"198.18.1.1": 50, "2001:db8:1::9": 25, "198.18.1.2": 30}
            for series, v in samples(before).items():
                if series[0].endswith("_total"):
                    assert samples(after)[series] >= v, series
            identity("", after)
            assert agent.stop() == 0, agent.stderr()
            receiver.run(xdptop, "--pin=" + str(Path(d) / "xdptop"), "--detach", "v1")
        finally:
            sh("umount", "-l", d, check=False)


def test_restart_after_keys_were_forgotten_is_a_reset(lab, xdptop, tmp_path):
    """When the tally has forgotten keys (their counts moved to its
    untracked, which the exporter had counted under the keys), a restart
    starts the exporter from zero: a reset, never an increase that was not
    traffic."""
    import tempfile
    from pathlib import Path
    sender, receiver = lab.pair(mtu=1500)
    lo_up(receiver)
    with tempfile.TemporaryDirectory() as d:
        sh("mount", "-t", "bpf", "bpf", d)
        try:
            args = [xdptop, "--pin=" + str(Path(d) / "xdptop"), "-f", "none", "-i", "0.1",
                    "-n", "4", "--listen", "9464", "v1"]
            agent = lab.start(receiver, *args)
            agent.wait_attached()
            for wave in range(3):    # 4 new sources a wave: the idle ones give way
                sender.run("tcpreplay", "-q", "-t", "-i", "v0", str(udp_capture(
                    tmp_path, f"wave{wave}", {f"198.18.{wave + 1}.{i}": (5, 100)
                                              for i in range(1, 5)})))
                time.sleep(0.5)
            url = "http://127.0.0.1:9464/metrics"
            before = samples(scrape_when(receiver, url, lambda b: "xdptop_packets_total{" in b))
            v1 = ("interface", "v1")
            assert before[("xdptop_untracked_packets_total", frozenset({v1}))] > 0, before
            assert agent.stop() == 0, agent.stderr()
            agent = lab.start(receiver, *args)
            text = scrape_when(receiver, url, lambda b: "xdptop_packets_total{" in b)
            after = samples(text)
            assert "Adopted the XDP program pinned" in agent.stderr()
            for series, v in before.items():
                if series[0].endswith("_total") and series in after:
                    assert after[series] <= v, (series, v, after[series])
            identity("", text)
            assert agent.stop() == 0, agent.stderr()
            receiver.run(xdptop, "--pin=" + str(Path(d) / "xdptop"), "--detach", "v1")
        finally:
            sh("umount", "-l", d, check=False)
