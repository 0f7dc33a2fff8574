"""Real flow collectors for the IPFIX tests, each in a test namespace of its
own making, listening on that namespace's loopback (or an address the test
gave it there), with its files under the test's tmp_path:

  Nfacctd  pmacct's nfacctd, aggregating by the primitives a test names and
           printing every second to a JSON Lines file (appended): the sums
           over its lines are what it collected.
  Nfcapd   nfdump's nfcapd, storing every record; nfdump reads them back.
  Capture  a plain UDP socket that keeps every datagram as it came, for a
           decoder of the test's own choosing (python3-ipfix, tshark).

Each one's sums share no code with xdptop."""
import collections
import csv
import io
import json
import signal
import subprocess
import time

from conftest import sh


def wait_until(predicate, what, timeout=30):
    """Waits until predicate() is true; fails naming what (a text, or a
    function that makes one then, to show the state it timed out in)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, \
            f"{what() if callable(what) else what} within {timeout}s"
        time.sleep(0.1)


def _udp_listening(ns, port):
    out = ns.run("ss", "-Hnlu", f"sport = :{port}").stdout
    return bool(out.strip())


class Nfacctd:
    """nfacctd on ADDR:port in ns, aggregating by `aggregate` (pmacct's
    primitive names, comma-separated). Protocols as numbers; the masks of
    prefixes as the records give them (nfacctd_net: netflow)."""

    def __init__(self, ns, tmp, aggregate, port=4739, addr="127.0.0.1"):
        self.ns, self.port = ns, port
        self.out = tmp / f"nfacctd-{port}.json"
        self.log = tmp / f"nfacctd-{port}.log"
        self.conf = tmp / f"nfacctd-{port}.conf"
        self.conf.write_text(f"""daemonize: false
nfacctd_ip: {addr}
nfacctd_port: {port}
nfacctd_net: netflow
plugins: print
aggregate: {aggregate}
print_output: json
print_output_file: {self.out}
print_output_file_append: true
print_num_protos: true
print_refresh_time: 1
print_history: 1m
""")
        self.proc = None

    def start(self):
        self.proc = ns_popen(self.ns, "nfacctd", "-f", str(self.conf), log=self.log)
        wait_until(lambda: _udp_listening(self.ns, self.port), "nfacctd listening", 20)
        return self

    def stop(self):
        stop_proc(self.proc)

    def lines(self):
        if not self.out.exists():
            return []
        return [json.loads(line) for line in self.out.read_text().splitlines() if line.strip()]

    def sums(self, key_of):
        """{key_of(line): [packets, bytes]} over every line printed so far."""
        out = collections.defaultdict(lambda: [0, 0])
        for line in self.lines():
            k = key_of(line)
            out[k][0] += line["packets"]
            out[k][1] += line["bytes"]
        return dict(out)

    def wait_sums(self, key_of, expected, timeout=20):
        """Waits until the sums equal expected (it prints every second);
        returns the last sums either way, for the test's assert to show."""
        deadline = time.monotonic() + timeout
        while True:
            got = self.sums(key_of)
            if got == expected or time.monotonic() > deadline:
                return got
            time.sleep(0.25)


class Nfcapd:
    """nfcapd on ADDR:port in ns, storing into a directory of its own."""

    def __init__(self, ns, tmp, port=4740, addr="127.0.0.1"):
        self.ns, self.port, self.addr = ns, port, addr
        self.dir = tmp / f"nfcapd-{port}"
        self.dir.mkdir()
        self.log = tmp / f"nfcapd-{port}.log"
        self.proc = None

    def start(self):
        self.proc = ns_popen(self.ns, "nfcapd", "-l", str(self.dir), "-p", str(self.port),
                             "-b", self.addr, log=self.log)
        wait_until(lambda: _udp_listening(self.ns, self.port), "nfcapd listening", 20)
        return self

    def stop(self):
        """Stops it: its file is complete then."""
        stop_proc(self.proc, signal.SIGTERM)

    def records(self):
        """Every record stored, as nfdump's CSV names its columns."""
        out = sh("nfdump", "-R", str(self.dir), "-o", "csv").stdout
        rows = [line for line in out.splitlines() if line.count(",") > 10]
        reader = csv.DictReader(io.StringIO("\n".join(rows)))
        return [r for r in reader if r["ts"] != "ts"]

    def sums(self, key_of):
        out = collections.defaultdict(lambda: [0, 0])
        for r in self.records():
            k = key_of(r)
            out[k][0] += int(r["ipkt"])
            out[k][1] += int(r["ibyt"])
        return dict(out)


CAPTURE = r"""
import socket, struct, sys, time
s = socket.socket(socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
s.bind((sys.argv[1], int(sys.argv[2])))
with open(sys.argv[3], "ab", buffering=0) as f:
    print("ready", flush=True)
    while True:
        d = s.recv(65535)
        f.write(struct.pack("!Id", len(d), time.monotonic()) + d)
"""


class Capture:
    """Every datagram sent to ADDR:port in ns, kept in order."""

    def __init__(self, ns, tmp, port=4741, addr="127.0.0.1"):
        self.ns, self.port, self.addr = ns, port, addr
        self.file = tmp / f"capture-{port}.bin"
        self.proc = None

    def start(self):
        self.proc = self.ns.popen("/usr/bin/python3", "-c", CAPTURE, self.addr, str(self.port),
                                  str(self.file), stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout.readline() == "ready\n"
        return self

    def stop(self):
        stop_proc(self.proc, signal.SIGTERM)

    def datagrams(self):
        return [d for _, d in self.arrivals()]

    def arrivals(self):
        """(when it came, CLOCK_MONOTONIC seconds; the datagram) of each."""
        import struct
        data = self.file.read_bytes() if self.file.exists() else b""
        out, off = [], 0
        while off < len(data):
            n, when = struct.unpack("!Id", data[off:off + 12])
            out.append((when, data[off + 12:off + 12 + n]))
            off += 12 + n
        return out


def ns_popen(ns, *cmd, log):
    f = open(log, "w")
    try:
        return ns.popen(*cmd, stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    finally:
        f.close()


def stop_proc(proc, sig=signal.SIGINT):
    if proc and proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
