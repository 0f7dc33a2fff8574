"""The exporter under a crowd of clients that send their requests slowly, or
never: a scrape is still answered in full within a second; a request that
has not arrived in whole 5 s after its connection opened is cut off, however
it trickles in; one client address holds at most 16 connections; and when
every connection the descriptors allow is taken, the one that has waited
longest for its request makes room for the newcomer.

Every client is in the agent's namespace, on its loopback: the crowd binds
each connection to an address of its own in 127.1.0.0/16."""
import json
import os
import subprocess
import time

import pytest

from conftest import sh
from test_cli import make_bridges
from test_prom import lo_up, scrape_when

PORT = 9464
REQUEST_SECONDS = 5        # src/http.c: a request's whole time to arrive

# Clients 0..idle-1 connect and send nothing; the next slow ones send a
# request line, then a header line every 4 s, never the blank line. With
# "reconnect", a client the server cut off connects again, until the end.
# Prints "connected" once every client has connected (or 10 s passed), and at the end
# {"cut": [the clients cut off, in order], "answered": [those that got bytes]}.
CROWD = r"""
import json, resource, selectors, socket, sys, time
idle, slow, seconds, reconnect = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), \
    sys.argv[4] == "reconnect"
hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
sel = selectors.DefaultSelector()
cut, answered, slow_started = [], [], {}
def connect(i):
    s = socket.socket()
    s.bind((f"127.1.{i // 250}.{i % 250 + 1}", 0))
    s.setblocking(False)
    s.connect_ex(("127.0.0.1", PORT))
    sel.register(s, selectors.EVENT_READ, i)
    if i >= idle:
        slow_started[s] = False
for i in range(idle + slow):
    connect(i)
connecting = selectors.DefaultSelector()
for key in sel.get_map().values():
    connecting.register(key.fileobj, selectors.EVENT_WRITE)
deadline = time.monotonic() + 10
while connecting.get_map() and time.monotonic() < deadline:
    for key, _ in connecting.select(timeout=0.1):
        connecting.unregister(key.fileobj)
print("connected", flush=True)
end = time.monotonic() + seconds
next_line = time.monotonic()
while time.monotonic() < end:
    for key, _ in sel.select(timeout=0.2):
        s, i = key.fileobj, key.data
        try:
            got = s.recv(100)
        except BlockingIOError:
            continue
        except OSError:
            got = b""
        if got:
            answered.append(i)
        sel.unregister(s)
        slow_started.pop(s, None)
        s.close()
        cut.append(i)
        if reconnect:
            connect(i)
    if time.monotonic() >= next_line:
        next_line += 4
        for s, started in slow_started.items():
            try:
                s.send(b"X-Slow: still coming\r\n" if started else b"GET /metrics HTTP/1.1\r\n")
                slow_started[s] = True
            except OSError:
                pass        # still connecting: at the next line
print(json.dumps({"cut": cut, "answered": answered}), flush=True)
""".replace("PORT", str(PORT))

# n scrapes of /metrics, one every gap seconds, each a new connection timed
# from its connect() to the last byte of the body. Prints a JSON list of
# [seconds, status, body length, Content-Length, whether it is a page] or
# [seconds, the error].
SCRAPER = r"""
import http.client, json, sys, time
n, gap, out = int(sys.argv[1]), float(sys.argv[2]), []
for _ in range(n):
    t = time.monotonic()
    try:
        c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=3)
        c.request("GET", "/metrics")
        r = c.getresponse()
        body = r.read()
        out.append([time.monotonic() - t, r.status, len(body),
                    int(r.getheader("Content-Length", -1)), b"xdptop_build_info{" in body])
        c.close()
    except OSError as e:
        out.append([time.monotonic() - t, repr(e)])
    time.sleep(max(0.0, gap - (time.monotonic() - t)))
print(json.dumps(out))
""".replace("PORT", str(PORT))


def start_agent(lab, xdptop, nofile, ifaces=1):
    """An agent serving 127.0.0.1:PORT in a namespace of its own, its file
    descriptor limit set by prlimit (soft:hard), with a first page; counting
    on v1, or on that many bridges (each interface holds descriptors)."""
    _, receiver = lab.pair(mtu=1500)
    lo_up(receiver)
    names, mode = ["v1"], []
    if ifaces > 1:      # bridges: no peer needed, and generic XDP only
        names, mode = make_bridges(receiver, ifaces), ["-m", "generic"]
        for name in names:
            sh("ip", "-n", receiver.name, "link", "set", name, "up")
    agent = lab.start(receiver, "prlimit", f"--nofile={nofile}", xdptop, "-f", "none",
                      "-i", "0.2", *mode, "--listen", str(PORT), *names)
    agent.wait_attached(ifaces, timeout=60)
    scrape_when(receiver, f"http://127.0.0.1:{PORT}/metrics", lambda b: "xdptop_" in b)
    return receiver, agent


def established(ns):
    """How many connections to the server are established (accepted or not)."""
    out = ns.run("ss", "-Htn", "state", "established", f"( sport = :{PORT} )").stdout
    return len(out.splitlines())


def crowd(ns, idle, slow, seconds, reconnect):
    """Starts the crowd; returns it once its clients have connected."""
    proc = ns.popen("/usr/bin/python3", "-c", CROWD, str(idle), str(slow), str(seconds),
                    "reconnect" if reconnect else "once", stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline() == "connected\n"
    return proc


def crowd_result(proc, timeout):
    out, _ = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, out
    return json.loads(out.splitlines()[-1])


def scrapes(ns, n, gap):
    return json.loads(ns.run("/usr/bin/python3", "-c", SCRAPER, str(n), str(gap),
                             timeout=n * (gap + 5)).stdout)


def answered_in_full(results, within=1.0):
    """Every scrape a 200 with the whole page, within `within` seconds."""
    return all(len(r) == 5 and r[0] <= within and r[1] == 200 and r[2] == r[3] and r[4]
               for r in results)


def test_scrapes_answered_beside_slow_and_idle_clients(lab, xdptop):
    """64 clients that send a header line every 4 s and 1,000 that send
    nothing, each cut off client connecting again: over 10 s, every scrape
    is answered in full within a second, with all 1,064 connected beside
    it. The agent starts with systemd's soft limit of 1024 descriptors (it
    raises it, within the hard one); the slow clients are cut off at their
    deadline, and no crowd client ever gets an answer."""
    receiver, agent = start_agent(lab, xdptop, "1024:4096")
    proc = crowd(receiver, 1000, 64, 14, reconnect=True)
    try:
        before = established(receiver)
        results = scrapes(receiver, 8, 1.25)
        after = established(receiver)
    finally:
        seen = crowd_result(proc, 30)
    assert answered_in_full(results), results
    assert before >= 1064 and after >= 1064, (before, after)
    assert seen["answered"] == [], seen["answered"][:10]
    assert set(range(1000, 1064)) <= set(seen["cut"]), sorted(set(seen["cut"]))[-70:]
    assert agent.proc.poll() is None, agent.stderr()
    assert agent.stop() == 0, agent.stderr()


# The request "GET /metrics" sent a byte at a time over each of the given
# seconds, by clients side by side; each reads what comes back meanwhile.
# Prints {seconds: [when it was answered or cut off, the answer's first 12 bytes]}.
DRIBBLE = r"""
import json, select, socket, sys, threading, time
REQUEST = b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"
out = {}
def dribble(seconds):
    s = socket.create_connection(("127.0.0.1", PORT), timeout=5)
    start, step, got = time.monotonic(), float(seconds) / len(REQUEST), b""
    for i in range(len(REQUEST) + 50):      # then 50 steps more for the answer
        try:
            s.send(REQUEST[i:i + 1])
            if select.select([s], [], [], step)[0]:
                chunk = s.recv(100)
                if not chunk:
                    break
                got += chunk
                break
        except OSError:
            break
    out[seconds] = [time.monotonic() - start, got[:12].decode()]
threads = [threading.Thread(target=dribble, args=(a,)) for a in sys.argv[1:]]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(json.dumps(out))
""".replace("PORT", str(PORT))


def test_request_dribbled_in_is_cut_at_its_deadline(lab, xdptop):
    """A request whose bytes trickle in over 3 s is answered; one that would
    take 15 s is cut off, unanswered, REQUEST_SECONDS after it began (plus
    the sweep's second): each byte renews libmicrohttpd's idle timeout, not
    the deadline."""
    receiver, agent = start_agent(lab, xdptop, "1024:4096")
    out = json.loads(receiver.run("/usr/bin/python3", "-c", DRIBBLE, "3", "15",
                                  timeout=60).stdout)
    assert out["3"][1] == "HTTP/1.1 200", out
    when, answer = out["15"]
    assert answer == "" and REQUEST_SECONDS - 0.5 <= when <= REQUEST_SECONDS + 3, out
    assert agent.stop() == 0, agent.stderr()


# 20 connections from 127.0.0.2; a second later, how many the server closed.
PER_ADDRESS = r"""
import select, socket, time
socks = []
for _ in range(20):
    s = socket.socket()
    s.bind(("127.0.0.2", 0))
    s.connect(("127.0.0.1", PORT))
    socks.append(s)
time.sleep(1)
def closed(s):
    try:
        return bool(select.select([s], [], [], 0)[0]) and s.recv(1) == b""
    except ConnectionResetError:
        return True
print(sum(closed(s) for s in socks))
""".replace("PORT", str(PORT))


def test_connections_per_client_address(lab, xdptop):
    """One address holds at most 16 connections: of 20, 4 are closed at
    once; a scraper from another address is answered meanwhile."""
    receiver, agent = start_agent(lab, xdptop, "1024:4096")
    holder = receiver.popen("/usr/bin/python3", "-c", PER_ADDRESS, stdout=subprocess.PIPE,
                            text=True)
    try:
        time.sleep(0.5)
        results = scrapes(receiver, 1, 0)
    finally:
        out, _ = holder.communicate(timeout=30)
    assert out == "4\n"
    assert answered_in_full(results), results
    assert agent.stop() == 0, agent.stderr()


@pytest.mark.parametrize("ifaces, clients", [(1, 1100), (64, 700)])
def test_full_server_makes_room_for_a_scraper(lab, xdptop, ifaces, clients):
    """Under a hard limit of 1024 descriptors the agent takes as many
    connections as leave room for its own descriptors and 64 more (64
    interfaces hold over 500: accept() must never fail). Idle clients, some
    hundreds more than that: as each one past the limit comes, the oldest
    gives way; a scraper is
    answered in full within a second, three times, well before any
    deadline."""
    receiver, agent = start_agent(lab, xdptop, "1024:1024", ifaces)
    # What it held when the server started: all but libmicrohttpd's own two.
    limit = 1024 - (len(os.listdir(f"/proc/{agent.proc.pid}/fd")) - 2 + 64)
    start = time.monotonic()
    proc = crowd(receiver, clients, 0, 4, reconnect=False)
    try:
        results = scrapes(receiver, 3, 0.5)
        assert time.monotonic() - start < REQUEST_SECONDS - 0.5   # the deadline cut none
    finally:
        seen = crowd_result(proc, 30)
    assert answered_in_full(results), results
    # The oldest gave way, one for each newcomer past the limit.
    assert sorted(seen["cut"]) == list(range(len(seen["cut"]))), sorted(seen["cut"])[:10]
    assert clients - limit - 3 <= len(seen["cut"]) <= clients - limit + 5, \
        (len(seen["cut"]), limit)
    assert seen["answered"] == []
    assert agent.proc.poll() is None, agent.stderr()
    assert agent.stop() == 0, agent.stderr()
