#!/usr/bin/python3
"""Checks one tool's per-source counts against what bench/sender sent.

    compare.py TOOL FILE FAMILY SOURCES SENT

TOOL is xdptop (its last JSON report), pmacctd (print plugin CSV), nfacctd
(print plugin JSON Lines, appended: summed) or pktstat (-1 output). The sender gives frame k source k mod SOURCES, so source i got
SENT // SOURCES frames, plus one if i < SENT % SOURCES (sources numbered as in
bench/frames.h). Prints one line of key=value: sources reported, sources with
exactly the right count, frames the tool counted (for xdptop its total, which
includes untracked frames), and frames lost (sent but not counted)."""
import ipaddress
import json
import sys

V4_BASE = 0xC6120000  # 198.18.0.0
V6_PREFIX = bytes([0x20, 0x01, 0x0D, 0xB8, 0, 0, 0, 0])
V6_SUFFIX = bytes([0, 0, 0, 1])


def source_index(addr, family):
    """Source number of an address string, or None if not one of ours."""
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return None
    if family == "4" and ip.version == 4:
        return int(ip) - V4_BASE
    if family != "4" and ip.version == 6:
        b = ip.packed
        if b[:8] == V6_PREFIX and b[12:] == V6_SUFFIX:
            return int.from_bytes(b[8:12], "big") - 1
    return None


def read_xdptop(path):
    last = None
    with open(path) as f:
        for line in f:
            if line.strip():
                last = line
    report = json.loads(last)
    counts = {s["address"]: s["packets"] for s in report["sources"]}
    return counts, report["total"]["packets"], report["untracked"]["packets"]


def read_pmacctd(path):
    counts = {}
    with open(path) as f:
        header = f.readline().strip().split(",")
        ip_col, pk_col = header.index("SRC_IP"), header.index("PACKETS")
        for line in f:
            cols = line.strip().split(",")
            if len(cols) > pk_col:
                counts[cols[ip_col]] = counts.get(cols[ip_col], 0) + int(cols[pk_col])
    return counts, sum(counts.values()), 0


def read_nfacctd(path):
    counts = {}
    with open(path) as f:
        for line in f:
            if line.strip():
                r = json.loads(line)
                counts[r["ip_src"]] = counts.get(r["ip_src"], 0) + r["packets"]
    return counts, sum(counts.values()), 0


def read_pktstat(path, family):
    """Lines 'octets frames proto a:port <-> b:port' (IPv6: 'a,port'); the
    source is the end that is one of ours (pktstat orders the ends by name)."""
    counts = {}
    with open(path) as f:
        f.readline()  # "flows period"
        for line in f:
            parts = line.split()
            if len(parts) < 4 or not parts[1].isdigit():
                continue
            frames = int(parts[1])
            for end in parts[3:]:
                host = end.rsplit("," if "," in end else ":", 1)[0].strip("[]")
                if source_index(host, family) is not None:
                    counts[host] = counts.get(host, 0) + frames
                    break
            else:
                counts.setdefault("(other)", 0)
                counts["(other)"] += frames
    return counts, sum(counts.values()), 0


def main():
    tool, path, family, n, sent = sys.argv[1:6]
    n, sent = int(n), int(sent)
    try:
        if tool == "xdptop":
            counts, counted, untracked = read_xdptop(path)
        elif tool == "pmacctd":
            counts, counted, untracked = read_pmacctd(path)
        elif tool == "nfacctd":
            counts, counted, untracked = read_nfacctd(path)
        else:
            counts, counted, untracked = read_pktstat(path, family)
    except (OSError, ValueError, TypeError, IndexError) as e:
        print(f"reported=0 exact=0 counted=0 lost={sent} untracked=0 error={type(e).__name__}")
        return
    exact = 0
    for addr, packets in counts.items():
        i = source_index(addr, family)
        if i is not None and 0 <= i < n and packets == sent // n + (i < sent % n):
            exact += 1
    print(f"reported={len(counts)} exact={exact} counted={counted} lost={sent - counted} "
          f"untracked={untracked}")


if __name__ == "__main__":
    main()
